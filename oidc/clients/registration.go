package clients

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
)

// Dynamic client registration (RFC 7591) and management (RFC 7592).
//
// A registration is refused or accepted in this order, so that nobody
// without a usable initial access token makes Sesame fetch or resolve
// anything: mode (off: not found) → initial access token (protected:
// required; looked up by its HMAC, not spent yet) → software statement
// (refused: unsupported) → the policy's limits (grant types, redirect URI
// schemes and count, Sesame's own scopes, and no jwks_uri,
// sector_identifier_uri or logout URI whose host resolves to an internal
// address unless outbound_allow_cidrs allows it) → the very validation of
// the console's form (Service.check, including the sector identifier
// fetch) → one transaction: spend a use of the token (conditional
// update), insert the client, write the audit entry.
//
// Sesame's own settings (skip_consent, allowed groups, lifetimes, …) are
// not metadata: a registration gets the defaults (and the policy's default
// login methods), an update keeps what an admin set.
//
// The registration access token (256 bits) is stored as an HMAC and
// compared in constant time; every update rotates it (RFC 7592 §2.2
// allows it): the answer carries the new one and the old one stops
// working, so a leaked token is good for one update at most before its
// owner notices.

// RegistrationStore is the part of models/store a Registrar uses.
type RegistrationStore interface {
	Store
	CreateInitialAccessToken(ctx context.Context, t *models.InitialAccessToken) error
	GetInitialAccessToken(ctx context.Context, id string) (*models.InitialAccessToken, error)
	InitialAccessTokenByHash(ctx context.Context, hash string) (*models.InitialAccessToken, error)
	ListInitialAccessTokens(ctx context.Context) ([]models.InitialAccessToken, error)
	ConsumeInitialAccessToken(ctx context.Context, id string, now time.Time) error
	RevokeInitialAccessToken(ctx context.Context, id string, now time.Time) error
	ReplaceRegistrationToken(ctx context.Context, id, old, hash string) error
	CreateAuditEntry(ctx context.Context, e *models.AuditEntry) error
}

// PolicySource is the live global policy (*policy.Live).
type PolicySource interface {
	Current(ctx context.Context) (policy.Policy, error)
}

// Registrar registers and manages clients on their own behalf.
type Registrar struct {
	svc     *Service
	st      RegistrationStore
	secrets *Secrets
	policy  PolicySource
	// allow are the internal networks outbound fetches may reach
	// (outbound_allow_cidrs): the same for what a registration may name.
	allow []netip.Prefix
	// issuer prefixes registration_client_uri.
	issuer string
	log    *slog.Logger
	now    func() time.Time
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// RegistrarConfig configures a Registrar.
type RegistrarConfig struct {
	// Issuer is the issuer URL; RegistrationPath the endpoint's path.
	Issuer, RegistrationPath string
	// OutboundAllow are the internal networks a registration's URLs may
	// point to (config.OutboundAllowPrefixes).
	OutboundAllow []netip.Prefix
	Logger        *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// NewRegistrar returns a Registrar that creates clients with svc.
func NewRegistrar(cfg RegistrarConfig, svc *Service, st RegistrationStore, secrets *Secrets, pol PolicySource) *Registrar {
	r := &Registrar{svc: svc, st: st, secrets: secrets, policy: pol, allow: cfg.OutboundAllow,
		issuer: cfg.Issuer + cfg.RegistrationPath, log: cfg.Logger, now: cfg.Now,
		lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r
}

// Mode is the registration mode and policy in force: ErrRegistrationOff
// when off.
func (r *Registrar) Mode(ctx context.Context) (policy.Policy, error) {
	p, err := r.policy.Current(ctx)
	if err != nil {
		return policy.Policy{}, fmt.Errorf("registration policy: %w", err)
	}
	if p.Registration != config.RegistrationProtected && p.Registration != config.RegistrationOpen {
		return p, ErrRegistrationOff
	}
	return p, nil
}

// RegistrationURI is the registration_client_uri of client id.
func (r *Registrar) RegistrationURI(id string) string { return r.issuer + "/" + url.PathEscape(id) }

// Register registers a client (RFC 7591 §3). initialToken is the bearer
// token of the request ("" for none), ip where it came from.
func (r *Registrar) Register(ctx context.Context, initialToken string, m Metadata, ip string) (*ClientInformation, error) {
	pol, err := r.Mode(ctx)
	if err != nil {
		return nil, err
	}
	var iat *models.InitialAccessToken
	if initialToken != "" || pol.Registration == config.RegistrationProtected {
		if iat, err = r.initialToken(ctx, initialToken); err != nil {
			return nil, err
		}
	}
	spec, err := r.specFor(ctx, pol, m, nil)
	if err != nil {
		return nil, err
	}
	regToken, regHash, err := r.newRegistrationToken()
	if err != nil {
		return nil, err
	}
	c, secret, err := r.svc.create(ctx, spec, func(ctx context.Context, c *models.Client) error {
		c.Dynamic, c.RegisteredIP, c.RegistrationTokenHash = true, trunc(ip, 64), regHash
		label := "dynamic registration (open) from " + ip
		if iat != nil {
			if err := r.st.ConsumeInitialAccessToken(ctx, iat.ID, r.now()); err != nil {
				if errors.Is(err, models.ErrConsumed) {
					return badToken("initial access token")
				}
				return err
			}
			c.InitialAccessTokenID = iat.ID
			label = fmt.Sprintf("dynamic registration with initial access token %q (%s) from %s", iat.Label, iat.ID, ip)
		}
		return r.audit(ctx, c, label, ip, "client.register", nil, metadataOf(spec))
	})
	if err != nil {
		return nil, registrationError(err)
	}
	r.log.InfoContext(ctx, "client registered", "client_id", c.ID, "initial_access_token", c.InitialAccessTokenID)
	info := r.information(c, secret)
	info.RegistrationToken = regToken
	return info, nil
}

// initialToken returns the usable initial access token tok, or
// invalid_token.
func (r *Registrar) initialToken(ctx context.Context, tok string) (*models.InitialAccessToken, error) {
	if tok == "" || len(tok) > 200 {
		return nil, badToken("initial access token")
	}
	t, err := r.st.InitialAccessTokenByHash(ctx, r.secrets.Hash(tok))
	if errors.Is(err, models.ErrNotFound) {
		return nil, badToken("initial access token")
	}
	if err != nil {
		return nil, err
	}
	if !t.Usable(r.now()) {
		r.log.InfoContext(ctx, "registration with an unusable initial access token", "id", t.ID, "state", t.State(r.now()))
		return nil, badToken("initial access token")
	}
	return t, nil
}

// specFor turns metadata into a checked spec: the limits of the policy
// first, then everything the console's form is checked for. cur is the
// client an update replaces (its Sesame settings are kept); nil for a
// new one, which gets the defaults.
func (r *Registrar) specFor(ctx context.Context, pol policy.Policy, m Metadata, cur *models.Client) (Spec, error) {
	if m.SoftwareStatement != "" {
		// RFC 7591 §3.2.2: Sesame trusts no software statement issuer.
		return Spec{}, &RegistrationError{Status: 400, Code: ErrCodeInvalidSoftwareStatement, Description: "Software statements are not supported here; register without one."}
	}
	spec, err := m.toSpec()
	if err != nil {
		return Spec{}, registrationError(err)
	}
	if cur != nil {
		keepAdminSettings(&spec, ToSpec(cur))
	} else {
		spec.AllowedLoginMethods = slices.Clone(pol.DefaultLoginMethods)
	}
	spec.Normalize()
	if err := r.limits(ctx, pol, spec); err != nil {
		return Spec{}, err
	}
	return spec, nil
}

// keepAdminSettings copies onto spec the settings only an admin sets.
func keepAdminSettings(spec *Spec, cur Spec) {
	spec.SkipConsent, spec.AllowedLoginMethods, spec.Disabled = cur.SkipConsent, cur.AllowedLoginMethods, cur.Disabled
	spec.AccessTokenTTL, spec.RefreshTokenTTL, spec.IDTokenTTL = cur.AccessTokenTTL, cur.RefreshTokenTTL, cur.IDTokenTTL
	spec.MinACR, spec.UserVerification, spec.SyncedPasskeys = cur.MinACR, cur.UserVerification, cur.SyncedPasskeys
	spec.AllowedGroups, spec.AllowedWebOrigins, spec.RequireVerifiedEmail = cur.AllowedGroups, cur.AllowedWebOrigins, cur.RequireVerifiedEmail
	spec.AccessTokenFormat = cur.AccessTokenFormat
	spec.AAGUIDAllow, spec.AAGUIDAllowMode = cur.AAGUIDAllow, cur.AAGUIDAllowMode
}

// limits applies the policy's registration limits to a normalized spec.
func (r *Registrar) limits(ctx context.Context, pol policy.Policy, s Spec) error {
	for _, g := range s.GrantTypes {
		if !slices.Contains(pol.RegistrationGrantTypes, g) {
			return badMetadata("grant_types: %q is not available to registered clients here (allowed: %s)", g, strings.Join(pol.RegistrationGrantTypes, ", "))
		}
	}
	if len(s.RedirectURIs) > pol.RegistrationMaxRedirectURIs {
		return &RegistrationError{Status: 400, Code: ErrCodeInvalidRedirectURI, Description: fmt.Sprintf("redirect_uris: at most %d", pol.RegistrationMaxRedirectURIs)}
	}
	for _, u := range slices.Concat(s.RedirectURIs, s.PostLogoutRedirectURIs) {
		if scheme := redirectScheme(u); scheme != "" && !slices.Contains(pol.RegistrationRedirectSchemes, scheme) {
			code, field := ErrCodeInvalidRedirectURI, "redirect_uris"
			if !slices.Contains(s.RedirectURIs, u) {
				code, field = ErrCodeInvalidClientMetadata, "post_logout_redirect_uris"
			}
			return &RegistrationError{Status: 400, Code: code, Description: fmt.Sprintf("%s: %q: the %s scheme is not available to registered clients here (allowed: %s)", field, u, scheme, strings.Join(pol.RegistrationRedirectSchemes, ", "))}
		}
	}
	for _, sc := range s.Scopes {
		if sesameScope(sc) {
			return badMetadata("scope: %q is only given by an administrator", sc)
		}
	}
	for _, u := range []struct{ field, v string }{
		{"jwks_uri", s.JWKSURI}, {"sector_identifier_uri", s.SectorIdentifierURI},
		{"backchannel_logout_uri", s.BackchannelLogoutURI}, {"frontchannel_logout_uri", s.FrontchannelLogoutURI},
	} {
		if u.v == "" {
			continue
		}
		if msg := r.internalTarget(ctx, u.v); msg != "" {
			return badMetadata("%s: %q %s", u.field, u.v, msg)
		}
	}
	return nil
}

// redirectScheme is the policy's name for the scheme of a redirect URI:
// https, http, or private-use; "" when it cannot be parsed (validation
// says why).
func redirectScheme(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	switch s := strings.ToLower(u.Scheme); s {
	case "https", "http":
		return s
	case "":
		return ""
	default:
		return "private-use"
	}
}

// internalTarget says why raw names a host Sesame must not be pointed
// at, or "": its addresses (an IP literal, or what the name resolves to
// now) must all be public or inside outbound_allow_cidrs — the outbound
// client's own rule (httpx.OutboundAddressAllowed), applied at
// registration so a bad URL is refused at once rather than failing every
// delivery. A name that does not resolve passes: every later fetch is
// guarded at connect time anyway (DNS rebinding included).
func (r *Registrar) internalTarget(ctx context.Context, raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return "" // validation explains
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		addrs, _ = r.lookup(lctx, host)
	}
	for _, a := range addrs {
		if !httpx.OutboundAddressAllowed(a, r.allow) {
			return fmt.Sprintf("points to an internal address (%s); registered clients may only name public hosts", a.Unmap())
		}
	}
	return ""
}

// Client returns the dynamically registered client id if token is its
// registration access token (RFC 7592 §2), else invalid_token: an
// unknown client, an admin-registered one and a wrong token get the same
// answer (§2.1: 401 for a client that does not exist).
func (r *Registrar) Client(ctx context.Context, id, token string) (*models.Client, error) {
	if _, err := r.Mode(ctx); err != nil {
		return nil, err
	}
	if token == "" || len(token) > 200 || id == "" || len(id) > 200 {
		return nil, badToken("registration access token")
	}
	c, err := r.st.GetClient(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, badToken("registration access token")
	}
	if err != nil {
		return nil, err
	}
	if !c.Dynamic || c.RegistrationTokenHash == "" {
		return nil, badToken("registration access token")
	}
	ok, _, err := r.secrets.Verify(ctx, c.RegistrationTokenHash, token)
	if err != nil || !ok {
		return nil, badToken("registration access token")
	}
	return c, nil
}

// Read is the client's registration (RFC 7592 §2.1).
func (r *Registrar) Read(ctx context.Context, id, token string) (*ClientInformation, error) {
	c, err := r.Client(ctx, id, token)
	if err != nil {
		return nil, err
	}
	return r.information(c, ""), nil
}

// Update replaces the client's metadata (RFC 7592 §2.2), checked as a
// registration is, and rotates its registration access token. The client
// keeps its secret; one that now authenticates with a secret and had
// none gets one (in the answer, once).
func (r *Registrar) Update(ctx context.Context, id, token string, m Metadata, ip string) (*ClientInformation, error) {
	pol, err := r.Mode(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := r.Client(ctx, id, token)
	if err != nil {
		return nil, err
	}
	if m.ClientID != cur.ID {
		return nil, badMetadata("client_id: must be the client's id (RFC 7592 §2.2)")
	}
	if m.ClientSecret != "" {
		if ok, _, err := r.secrets.Verify(ctx, cur.SecretHash, m.ClientSecret); err != nil || !ok {
			return nil, badMetadata("client_secret: does not match the client's secret, which a client cannot choose")
		}
	}
	spec, err := r.specFor(ctx, pol, m, cur)
	if err != nil {
		return nil, err
	}
	regToken, regHash, err := r.newRegistrationToken()
	if err != nil {
		return nil, err
	}
	before := metadataOf(ToSpec(cur))
	rotate := UsesSecret(spec.TokenEndpointAuthMethod) && cur.SecretHash == ""
	c, secret, err := r.svc.update(ctx, id, spec, rotate, func(ctx context.Context, c *models.Client) error {
		if err := r.st.ReplaceRegistrationToken(ctx, c.ID, cur.RegistrationTokenHash, regHash); err != nil {
			if errors.Is(err, models.ErrConsumed) {
				return badToken("registration access token")
			}
			return err
		}
		c.RegistrationTokenHash = regHash
		return r.audit(ctx, c, "registration access token of "+cur.Name, ip, "client.register_update", before, metadataOf(spec))
	})
	if err != nil {
		return nil, registrationError(err)
	}
	info := r.information(c, secret)
	info.RegistrationToken = regToken
	return info, nil
}

// Delete removes the client and everything issued to it (RFC 7592 §2.3).
func (r *Registrar) Delete(ctx context.Context, id, token, ip string) error {
	cur, err := r.Client(ctx, id, token)
	if err != nil {
		return err
	}
	return r.st.WithTx(ctx, func(ctx context.Context) error {
		if err := r.st.DeleteClient(ctx, cur.ID); err != nil {
			return err
		}
		return r.audit(ctx, cur, "registration access token of "+cur.Name, ip, "client.register_delete", metadataOf(ToSpec(cur)), nil)
	})
}

// information is the answer about c; secret is a just-issued secret.
func (r *Registrar) information(c *models.Client, secret string) *ClientInformation {
	info := &ClientInformation{Metadata: metadataOf(ToSpec(c)), ClientID: c.ID, ClientSecret: secret,
		ClientIDIssuedAt: c.CreatedAt.Unix(), RegistrationClientURI: r.RegistrationURI(c.ID)}
	if c.SecretHash != "" {
		never := int64(0) // RFC 7591 §3.2.1: 0, the secret does not expire
		info.ClientSecretExpiresAt = &never
	}
	return info
}

func (r *Registrar) newRegistrationToken() (plain, hash string, err error) {
	if r.secrets == nil {
		return "", "", ErrNoSecretKey
	}
	if plain, err = randomString(secretBytes); err != nil {
		return "", "", fmt.Errorf("registration access token: %w", err)
	}
	return plain, r.secrets.Hash(plain), nil
}

// audit records a registration's change, the client acting for itself.
func (r *Registrar) audit(ctx context.Context, c *models.Client, label, ip, action string, before, after any) error {
	e := &models.AuditEntry{ID: uuid.NewString(), At: r.now().UTC().Truncate(time.Microsecond), ActorID: c.ID, ActorKind: models.ActorClient,
		ActorLabel: trunc(label, 320), Action: action, TargetType: "client", TargetID: c.ID,
		BeforeJSON: jsonText(before), AfterJSON: jsonText(after), IP: trunc(ip, 64)}
	if err := r.st.CreateAuditEntry(ctx, e); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

func jsonText(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

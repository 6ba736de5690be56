package passkey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/internal/secret"
	"github.com/sesame-idp/sesame/models"
)

// MaxResponseBytes bounds the browser's JSON: a real attestation with a
// certificate chain is a few KiB. Handlers should read at most
// MaxResponseBytes+1 bytes (http.MaxBytesReader) and pass them on, so an
// oversized body is answered with ErrTooLarge.
const MaxResponseBytes = 64 << 10

// DefaultCeremonyTTL is how long a begun ceremony may be finished.
const DefaultCeremonyTTL = 5 * time.Minute

// Method is the auth event method of this package.
const Method = "passkey"

// Config is the relying party and its policy.
type Config struct {
	// RPID is the WebAuthn relying party id (a host name, e.g. "localhost").
	RPID string
	// RPName is shown by authenticators when a credential is created.
	RPName string
	// Origins are the origins responses may come from (e.g.
	// "https://id.example.com").
	Origins []string
	// UserVerification is the policy for passkeys: "required",
	// "preferred" (default) or "discouraged". Security keys (a second
	// factor after a password) always use "discouraged".
	//
	// UserVerification, Attestation, AAGUIDAllow and AAGUIDDeny are the
	// start-up values: Policy, when set, replaces them at each ceremony,
	// and a client's Options.UserVerification overrides the user
	// verification of its own ceremonies.
	UserVerification string
	// Attestation is the conveyance asked at registration: "none"
	// (default) or "direct".
	Attestation string
	// AAGUIDAllow, when non-empty, lists the only authenticator models
	// that may register (needs Attestation "direct").
	AAGUIDAllow []string
	// AAGUIDDeny lists authenticator models that may not register.
	AAGUIDDeny []string
	// MDSFile is an optional FIDO MDS3 BLOB (the JWT downloaded from
	// https://mds3.fidoalliance.org/); needs Attestation "direct". It is
	// loaded by New; a Policy naming another file switches to it live
	// (policy.Passkey.MDSFile).
	MDSFile string
	// MDSRoot overrides the certificate (base64 DER) the MDS BLOB must
	// chain to; empty means FIDO's production root. For tests.
	MDSRoot string
	// CeremonyTTL is how long a ceremony may be finished (default 5m).
	CeremonyTTL time.Duration
	// FakeCredentialKey keys the HMAC that derives the fake credential ids
	// BeginLoginUnknown answers for an unknown email. It must be the same
	// on every replica (derive it from the system secret); when empty a
	// random key is used, so the fake ids change at each restart.
	FakeCredentialKey []byte
	// CeremonyKey (32 bytes) seals login ceremonies: the browser holds
	// them between the options and the assertion, and the store keeps
	// only the spent ones (ceremony.go). It must be the same on every
	// replica (derive it from the system secret); when empty a random key
	// is used, so a sign-in begun before a restart, or on another replica,
	// cannot finish.
	CeremonyKey []byte
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Policy, when set, is the live policy (internal/policy), asked at
	// each ceremony; nil keeps the settings above.
	Policy PolicySource
}

// Store is the part of the data layer the service uses; *store.Store
// satisfies it.
type Store interface {
	WithTx(ctx context.Context, fn func(ctx context.Context) error) error
	CreateUser(ctx context.Context, u *models.User) error
	GetUser(ctx context.Context, id string) (*models.User, error)
	CreateCredential(ctx context.Context, c *models.WebAuthnCredential) error
	GetCredential(ctx context.Context, id string) (*models.WebAuthnCredential, error)
	ListUserCredentials(ctx context.Context, userID string) ([]models.WebAuthnCredential, error)
	ListCredentialsWith(ctx context.Context, id string) (*models.User, []models.WebAuthnCredential, error)
	RecordCredentialUse(ctx context.Context, id string, prev, signCount int64, uv, be, bs bool, at time.Time) error
	FlagCredentialClone(ctx context.Context, id string) error
	CreateCeremony(ctx context.Context, c *models.WebAuthnCeremony) error
	ConsumeCeremony(ctx context.Context, id string) (*models.WebAuthnCeremony, error)
	// SpendCeremony spends a login ceremony the browser held: ErrConsumed
	// when it was spent already, ErrExpired past its expiry.
	SpendCeremony(ctx context.Context, c *models.WebAuthnCeremony) error
	// CeremonyWithCredentials reads, for a login ceremony not yet spent
	// (SpendCeremony's errors otherwise), ListCredentialsWith(credentialID)
	// and the ceremony's interaction, in one statement; it spends nothing.
	CeremonyWithCredentials(ctx context.Context, c *models.WebAuthnCeremony, credentialID string) (*models.CeremonyRead, error)
	RecordAuthEvent(ctx context.Context, e *models.AuthEvent) error
}

// Service runs WebAuthn ceremonies against the store.
type Service struct {
	cfg      Config
	st       Store
	log      *slog.Logger
	wa       *webauthn.WebAuthn
	rpIDHash [sha256.Size]byte
	uv       protocol.UserVerificationRequirement
	direct   bool
	allow    map[string]bool
	deny     map[string]bool
	mds      *mdsCopy
	fakeKey  []byte
	sealer   *secret.Box
	live     liveMDS
	// fetched is the BLOB fetched from the metadata service and kept in
	// the database (mdsfetch.go); when set it wins over the file.
	fetched atomic.Pointer[mdsCopy]
	// sync is the metadata sync, when there is one; fetchState the row it
	// last read (without the BLOB), for MetadataStatus.
	sync       atomic.Pointer[Sync]
	fetchState atomic.Pointer[models.FIDOMetadata]
	// checked is the last live policy checkPolicy judged, by version: its
	// AAGUID lists (up to hundreds of models) are parsed once per saved
	// policy, not at every ceremony (rules runs several times in each).
	checked atomic.Pointer[checkedPolicy]
}

// checkedPolicy is checkPolicy's answer for one policy version.
type checkedPolicy struct {
	version int
	r       rules
	err     error
}

// PolicySource gives the part of the global policy an admin may change
// while Sesame runs. It is asked at each ceremony, so it should cache
// (policy.Live keeps a copy for a few seconds). Values are checked as in
// New; a policy that does not pass is ignored (logged) and Config applies.
// A different policy must come with a different Version: the service
// keeps its reading of one version (the parsed AAGUID lists).
type PolicySource interface {
	PasskeyPolicy(ctx context.Context) (policy.Passkey, error)
}

// rules are the policy one ceremony runs under.
type rules struct {
	uv          protocol.UserVerificationRequirement
	direct      bool
	allow, deny map[string]bool
	// allowGrace: a passkey off the allow list is accepted, warned and
	// recorded (policy.ModelGrace) rather than refused.
	allowGrace bool
	mds        metadata.Provider
	// copy is the metadata BLOB mds comes from (nil without one).
	copy *mdsCopy
	// suspend: credentials of a model the metadata reports compromised
	// are suspended (policy.Passkey.SuspendCompromised).
	suspend bool
	// synced is the global synced-passkey policy (policy.Synced*; ""
	// allows).
	synced string
}

// rules returns the live policy, or Config's when there is no source or
// it fails or gives something New would refuse.
func (s *Service) rules(ctx context.Context) rules {
	static := rules{uv: s.uv, direct: s.direct, allow: s.allow, deny: s.deny}
	static.copy = s.inForce(s.mds)
	static.mds = static.copy.mds()
	if s.cfg.Policy == nil {
		return static
	}
	p, err := s.cfg.Policy.PasskeyPolicy(ctx)
	if err == nil {
		var r rules
		r, err = s.checkedPolicy(p)
		if err == nil {
			r.copy = s.inForce(s.live.get(ctx, s, p.MDSFile))
			r.mds = r.copy.mds()
			return r
		}
	}
	s.log.WarnContext(ctx, "passkey: live policy not used; using the configuration", "err", err)
	return static
}

// inForce is the metadata the checks use: the BLOB fetched from the
// metadata service when there is one, else the hand-supplied file (for
// offline sites, and until the first good fetch).
func (s *Service) inForce(file *mdsCopy) *mdsCopy {
	if f := s.fetched.Load(); f != nil {
		return f
	}
	return file
}

// checkedPolicy is checkPolicy(p), kept for p's version. The rules'
// maps are shared by every ceremony of that version: read only.
func (s *Service) checkedPolicy(p policy.Passkey) (rules, error) {
	if c := s.checked.Load(); c != nil && c.version == p.Version {
		return c.r, c.err
	}
	r, err := s.checkPolicy(p)
	s.checked.Store(&checkedPolicy{version: p.Version, r: r, err: err})
	return r, err
}

func (s *Service) checkPolicy(p policy.Passkey) (rules, error) {
	r := rules{uv: protocol.UserVerificationRequirement(p.UserVerification), direct: p.Attestation == "direct", synced: p.SyncedPasskeys,
		suspend: p.SuspendCompromised, allowGrace: p.AAGUIDAllowMode == policy.ModelGrace}
	if p.AAGUIDAllowMode != "" && !slices.Contains(policy.ModelModes, p.AAGUIDAllowMode) {
		return rules{}, fmt.Errorf("aaguid allow mode %q", p.AAGUIDAllowMode)
	}
	if p.SyncedPasskeys != "" && !slices.Contains(policy.SyncedPolicies, p.SyncedPasskeys) {
		return rules{}, fmt.Errorf("synced passkeys %q", p.SyncedPasskeys)
	}
	switch p.UserVerification {
	case "required", "preferred", "discouraged":
	case "":
		r.uv = s.uv
	default:
		return rules{}, fmt.Errorf("user verification %q", p.UserVerification)
	}
	switch p.Attestation {
	case "none", "direct":
	case "":
		r.direct = s.direct
	default:
		return rules{}, fmt.Errorf("attestation %q", p.Attestation)
	}
	var err error
	if r.allow, err = parseAAGUIDSet("aaguid allow", p.AAGUIDAllow); err != nil {
		return rules{}, err
	}
	if r.deny, err = parseAAGUIDSet("aaguid deny", p.AAGUIDDeny); err != nil {
		return rules{}, err
	}
	if len(r.allow) > 0 && !r.direct {
		return rules{}, errors.New("an AAGUID allow list needs attestation direct")
	}
	if p.MDSFile != "" && !r.direct {
		return rules{}, errors.New("an MDS file needs attestation direct")
	}
	return r, nil
}

// New checks cfg and returns the service.
func New(cfg Config, st Store, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.Default()
	}
	if st == nil {
		return nil, errors.New("passkey: no store")
	}
	if cfg.RPName == "" {
		cfg.RPName = cfg.RPID
	}
	if cfg.UserVerification == "" {
		cfg.UserVerification = string(protocol.VerificationPreferred)
	}
	if cfg.Attestation == "" {
		cfg.Attestation = string(protocol.PreferNoAttestation)
	}
	if cfg.CeremonyTTL == 0 {
		cfg.CeremonyTTL = DefaultCeremonyTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := protocol.ValidateRPID(cfg.RPID); err != nil {
		return nil, fmt.Errorf("passkey: rp id %q: %w", cfg.RPID, err)
	}
	if len(cfg.Origins) == 0 {
		return nil, errors.New("passkey: no origins")
	}
	switch cfg.UserVerification {
	case "required", "preferred", "discouraged":
	default:
		return nil, fmt.Errorf("passkey: user verification must be required, preferred or discouraged (got %q)", cfg.UserVerification)
	}
	switch cfg.Attestation {
	case "none", "direct":
	default:
		return nil, fmt.Errorf("passkey: attestation must be none or direct (got %q)", cfg.Attestation)
	}
	if cfg.CeremonyTTL < 0 {
		return nil, fmt.Errorf("passkey: ceremony ttl must be positive (got %v)", cfg.CeremonyTTL)
	}
	s := &Service{
		cfg:      cfg,
		st:       st,
		log:      log,
		rpIDHash: sha256.Sum256([]byte(cfg.RPID)),
		uv:       protocol.UserVerificationRequirement(cfg.UserVerification),
		direct:   cfg.Attestation == "direct",
		fakeKey:  cfg.FakeCredentialKey,
	}
	var err error
	if s.allow, err = parseAAGUIDSet("aaguid allow", cfg.AAGUIDAllow); err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	if s.deny, err = parseAAGUIDSet("aaguid deny", cfg.AAGUIDDeny); err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	if len(s.allow) > 0 && !s.direct {
		return nil, errors.New("passkey: an AAGUID allow list needs attestation direct (the model is only known from the attestation)")
	}
	if cfg.MDSFile != "" {
		if !s.direct {
			return nil, errors.New("passkey: an MDS file needs attestation direct")
		}
		if s.mds, err = loadMDS(cfg.MDSFile, cfg.MDSRoot, s.now(), log); err != nil {
			return nil, fmt.Errorf("passkey: %w", err)
		}
	}
	s.live = liveMDS{path: cfg.MDSFile, mds: s.mds}
	if len(s.fakeKey) == 0 {
		s.fakeKey = make([]byte, 32)
		_, _ = rand.Read(s.fakeKey) // crypto/rand.Read never fails (Go 1.24+)
		log.Warn("passkey: no fake credential key configured; answers for unknown emails change at each restart and differ between replicas")
	}
	if s.sealer, err = newSealer(cfg.CeremonyKey); err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	if len(cfg.CeremonyKey) == 0 {
		log.Warn("passkey: no ceremony key configured; a sign-in begun before a restart, or on another replica, cannot finish")
	}
	timeouts := webauthn.TimeoutConfig{Timeout: cfg.CeremonyTTL, TimeoutUVD: cfg.CeremonyTTL}
	s.wa, err = webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.RPName,
		RPOrigins:             cfg.Origins,
		AttestationPreference: protocol.ConveyancePreference(cfg.Attestation),
		// The ceremony's expiry is enforced by the store (CeremonyTTL);
		// these only set the timeout the browser is told.
		Timeouts: webauthn.TimeoutsConfig{Login: timeouts, Registration: timeouts},
		// Client extension outputs are unsigned and we act on none of them;
		// some password managers add outputs nobody asked for, which would
		// otherwise fail an honest ceremony.
		ExtensionsUnsolicitedOutputPolicy: protocol.UnsolicitedOutputPolicyIgnore,
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return s, nil
}

// Options adjust one passkey ceremony.
type Options struct {
	// UserVerification overrides the policy for this ceremony:
	// "required", "preferred" or "discouraged"; "" keeps the policy. It is
	// the requesting client's setting (models.Client.UserVerification).
	UserVerification string
	// MinACR is the assurance level the ceremony is for (models/acr.go),
	// "" for none. A username-first sign-in then lists only the
	// credentials that can reach it (CanReach) in allowCredentials. Levels
	// from phr up need user verification: the caller asks for it in
	// UserVerification.
	MinACR string
	// SyncedPasskeys is the requesting client's synced-passkey policy
	// (policy.SyncedAllow, SyncedBlock, SyncedGrace); "" follows the
	// global policy. It is kept with the ceremony and applied at its
	// finish (syncedRule).
	SyncedPasskeys string
	// AAGUIDAllow, when not empty, is the requesting client's allow list:
	// only attested passkeys of these models sign in or sign up (besides
	// the global list). AAGUIDAllowMode policy.ModelGrace accepts others,
	// reported (Result.GraceModel). Kept with the ceremony.
	AAGUIDAllow     []string
	AAGUIDAllowMode string
}

// uvFor is the user verification requirement of a ceremony begun with o.
func (s *Service) uvFor(ctx context.Context, o Options) (protocol.UserVerificationRequirement, error) {
	switch o.UserVerification {
	case "":
		return s.rules(ctx).uv, nil
	case "required", "preferred", "discouraged":
		return protocol.UserVerificationRequirement(o.UserVerification), nil
	}
	return "", fail(ErrBadInput, fmt.Sprintf("unknown user verification %q", o.UserVerification))
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// waUser adapts a user to go-webauthn. The user handle is the user id
// (random, at most 64 bytes, no personal data: WebAuthn §14.6.1).
type waUser struct {
	id      []byte
	name    string
	display string
	creds   []webauthn.Credential
}

var _ webauthn.User = (*waUser)(nil)

func (u *waUser) WebAuthnID() []byte                         { return u.id }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.display }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func newWAUser(id, email, displayName string) *waUser {
	if displayName == "" {
		displayName = email
	}
	return &waUser{id: []byte(id), name: email, display: displayName}
}

// toWebAuthn converts a stored credential to go-webauthn's record.
func toWebAuthn(c *models.WebAuthnCredential) (webauthn.Credential, error) {
	id, err := base64.RawURLEncoding.DecodeString(c.ID)
	if err != nil {
		return webauthn.Credential{}, fmt.Errorf("decode credential id: %w", err)
	}
	pk, err := base64.RawURLEncoding.DecodeString(c.PublicKey)
	if err != nil {
		return webauthn.Credential{}, fmt.Errorf("decode public key of credential %s: %w", c.ID, err)
	}
	var aaguid []byte
	if u, err := uuid.Parse(c.AAGUID); err == nil {
		aaguid = u[:]
	}
	transports := make([]protocol.AuthenticatorTransport, 0, len(c.Transports))
	for _, t := range c.Transports {
		transports = append(transports, protocol.AuthenticatorTransport(t))
	}
	var flags protocol.AuthenticatorFlags = protocol.FlagUserPresent
	if c.UserVerified {
		flags |= protocol.FlagUserVerified
	}
	if c.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if c.BackupState {
		flags |= protocol.FlagBackupState
	}
	return webauthn.Credential{
		ID:                id,
		PublicKey:         pk,
		AttestationType:   c.AttestationType,
		AttestationFormat: c.AttestationFormat,
		Transport:         transports,
		Flags:             webauthn.NewCredentialFlags(flags),
		Authenticator: webauthn.Authenticator{
			AAGUID:       aaguid,
			SignCount:    uint32(c.SignCount),
			CloneWarning: c.CloneWarning,
		},
	}, nil
}

// ceremonyData is what a ceremony keeps between begin and finish.
type ceremonyData struct {
	// Session is go-webauthn's session data (challenge, RP ID, UV, allowed
	// credentials, requested extensions), kept verbatim.
	Session webauthn.SessionData `json:"session"`
	// Kind is the credential kind registered or accepted
	// (models.CredentialPasskey or models.CredentialSecurityKey).
	Kind string `json:"kind"`
	// Mode is how a login names its user: loginUser (username-first),
	// loginDiscoverable (userHandle) or loginUnknown (fake options for an
	// address without credentials; nothing can finish it).
	Mode string `json:"mode,omitempty"`
	// NewUser is the account a sign-up creates with its first credential.
	NewUser *pendingUser `json:"new_user,omitempty"`
	// Synced is the client's synced-passkey policy (Options.SyncedPasskeys).
	Synced string `json:"synced,omitempty"`
	// ModelAllow and ModelGrace are the client's allow list and its mode
	// (Options.AAGUIDAllow, AAGUIDAllowMode).
	ModelAllow []string `json:"model_allow,omitempty"`
	ModelGrace bool     `json:"model_grace,omitempty"`
}

// clientRules keeps o's client policies with a ceremony.
func (d *ceremonyData) clientRules(o Options) *ceremonyData {
	d.Synced = o.SyncedPasskeys
	if len(o.AAGUIDAllow) > 0 {
		d.ModelAllow, d.ModelGrace = o.AAGUIDAllow, o.AAGUIDAllowMode == policy.ModelGrace
	}
	return d
}

type pendingUser struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
}

const (
	loginUser         = "user"
	loginDiscoverable = "discoverable"
	loginUnknown      = "unknown"
)

func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// saveCeremony stores a ceremony and returns its id.
func (s *Service) saveCeremony(ctx context.Context, kind, userID, browserHash, interactionID string, data *ceremonyData) (string, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return "", fmt.Errorf("passkey: encode ceremony: %w", err)
	}
	now := s.now()
	c := &models.WebAuthnCeremony{
		ID:            randomID(),
		BrowserHash:   browserHash,
		Kind:          kind,
		UserID:        userID,
		InteractionID: interactionID,
		Data:          string(raw),
		CreatedAt:     now,
		ExpiresAt:     now.Add(s.cfg.CeremonyTTL),
	}
	if err := s.st.CreateCeremony(ctx, c); err != nil {
		return "", fmt.Errorf("passkey: %w", err)
	}
	return c.ID, nil
}

// takeCeremony consumes a ceremony of the given kind begun by this
// browser. The ceremony is spent even when the browser or kind does not
// match: a ceremony id is a secret of the browser that began it, so one
// presented elsewhere has leaked and must not be usable again.
func (s *Service) takeCeremony(ctx context.Context, id, browserHash, kind string) (*models.WebAuthnCeremony, *ceremonyData, error) {
	if id == "" {
		return nil, nil, fail(ErrCeremonyNotFound, "no ceremony id")
	}
	c, err := s.st.ConsumeCeremony(ctx, id)
	return s.checkCeremony(c, err, browserHash, kind)
}

// checkCeremony checks a ceremony the store spent (c, or err when it could
// not): bound to this browser, of this kind, not expired by the service's
// clock; and decodes its data.
func (s *Service) checkCeremony(c *models.WebAuthnCeremony, err error, browserHash, kind string) (*models.WebAuthnCeremony, *ceremonyData, error) {
	switch {
	case errors.Is(err, models.ErrNotFound):
		return nil, nil, failWith(ErrCeremonyNotFound, "", err)
	case errors.Is(err, models.ErrConsumed):
		return nil, nil, failWith(ErrCeremonyUsed, "", err)
	case errors.Is(err, models.ErrExpired):
		return nil, nil, failWith(ErrCeremonyExpired, "", err)
	case err != nil:
		return nil, nil, fmt.Errorf("passkey: %w", err)
	}
	if browserHash == "" || subtle.ConstantTimeCompare([]byte(c.BrowserHash), []byte(browserHash)) != 1 {
		return nil, nil, fail(ErrCeremonyWrongBrowser, "browser binding does not match")
	}
	if c.Kind != kind {
		return nil, nil, fail(ErrCeremonyNotFound, "ceremony is a "+c.Kind+", not a "+kind)
	}
	// The store checks expiry against the wall clock; this checks it
	// against the service's clock too.
	if !c.ExpiresAt.After(s.now()) {
		return nil, nil, fail(ErrCeremonyExpired, "")
	}
	var data ceremonyData
	if err := json.Unmarshal([]byte(c.Data), &data); err != nil {
		return nil, nil, fmt.Errorf("passkey: decode ceremony %s: %w", c.ID, err)
	}
	return c, &data, nil
}

// checkClientData runs the client data steps of WebAuthn §7.1/§7.2 (type,
// challenge, origin) ahead of go-webauthn, which repeats them, so each
// failure gets a precise error.
func (s *Service) checkClientData(cd *protocol.CollectedClientData, ceremony protocol.CeremonyType, challenge string) *Error {
	if cd.Type != ceremony {
		return fail(ErrVerification, fmt.Sprintf("clientDataJSON type is %q, want %q", truncate(string(cd.Type), 40), ceremony))
	}
	if subtle.ConstantTimeCompare([]byte(cd.Challenge), []byte(challenge)) != 1 {
		return fail(ErrVerification, "challenge does not match the ceremony")
	}
	if !protocol.IsOriginInHaystack(cd.Origin, s.cfg.Origins) {
		return fail(ErrVerification, fmt.Sprintf("origin %q is not allowed", truncate(cd.Origin, 100)))
	}
	if cd.CrossOrigin {
		return fail(ErrVerification, "cross-origin ceremony")
	}
	return nil
}

// checkAuthData checks the RP ID hash and the UP/UV/BE/BS flags (§7.1
// steps 13-16, §7.2 steps 15-17).
func (s *Service) checkAuthData(ad *protocol.AuthenticatorData, uvRequired bool) *Error {
	if subtle.ConstantTimeCompare(ad.RPIDHash, s.rpIDHash[:]) != 1 {
		return fail(ErrVerification, "RP ID hash does not match "+s.cfg.RPID)
	}
	if !ad.Flags.HasUserPresent() {
		return fail(ErrVerification, "user presence flag (UP) not set")
	}
	if uvRequired && !ad.Flags.HasUserVerified() {
		return fail(ErrUserVerificationRequired, "user verified flag (UV) not set")
	}
	if ad.Flags.HasBackupState() && !ad.Flags.HasBackupEligible() {
		return fail(ErrVerification, "backup state set on a credential that is not backup eligible")
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Record writes an auth event. Method defaults to "passkey", ID and At are
// filled in, free text is bounded.
func (s *Service) Record(ctx context.Context, e *models.AuthEvent) error {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	if e.Method == "" {
		e.Method = Method
	}
	if e.Result == "" {
		e.Result = models.ResultSuccess
	}
	e.Reason = truncate(e.Reason, 200)
	e.UserAgent = truncate(e.UserAgent, 500)
	if err := s.st.RecordAuthEvent(ctx, e); err != nil {
		return fmt.Errorf("passkey: %w", err)
	}
	return nil
}

// RecordFailure writes a failure event for err: the reason is err's
// stable code, and the user and AAGUID come from err when e lacks them.
func (s *Service) RecordFailure(ctx context.Context, e *models.AuthEvent, err error) error {
	e.Result = models.ResultFailure
	_, code, _ := HTTPStatusAndCode(err)
	if e.Reason == "" {
		e.Reason = code
	}
	var pe *Error
	if errors.As(err, &pe) {
		if e.UserID == "" {
			e.UserID = pe.UserID
		}
		if e.AAGUID == "" {
			e.AAGUID = pe.AAGUID
		}
	}
	return s.Record(ctx, e)
}

// kindName is the default name of a credential of an unknown model.
func kindName(kind string) string {
	if kind == models.CredentialSecurityKey {
		return "Security key"
	}
	return "Passkey"
}

func validKind(kind string) bool {
	return slices.Contains([]string{models.CredentialPasskey, models.CredentialSecurityKey}, kind)
}

func trimmed(s string, n int) string { return truncate(strings.TrimSpace(s), n) }

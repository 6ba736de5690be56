package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// clientFlags are the settable fields of a client as flags.
type clientFlags struct {
	name           string
	redirectURIs   []string
	postLogoutURIs []string
	grantTypes     []string
	responseTypes  []string
	scopes         []string
	public         bool
	authMethod     string
	idTokenAlg     string
	jwks           string
	jwksURI        string
	skipConsent    bool
	loginMethods   []string
	disabled       bool
	logoURI        string
	primaryColor   string
	accentColor    string
	accessTTL      time.Duration
	refreshTTL     time.Duration
	idTTL          time.Duration
	minACR         string
	uv             string
	synced         string
	aaguidAllow    []string
	aaguidMode     string
	webOrigins     []string
	allowedGroups  []string
	bcLogoutURI    string
	bcLogoutSID    bool
	fcLogoutURI    string
	fcLogoutSID    bool
	requirePAR     bool
	subjectType    string
	sectorURI      string
	tokenFormat    string
	dpopBound      bool
	exchangeTo     []string
	exchangeFrom   []string
}

func (f *clientFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.name, "name", "", "client name shown to users")
	// StringArray, not StringSlice: a URI may contain a comma.
	fs.StringArrayVar(&f.redirectURIs, "redirect-uri", nil, "redirect URI (repeatable): https, http on localhost/127.0.0.1/[::1], or a private-use scheme like com.example.app:/cb")
	fs.StringArrayVar(&f.postLogoutURIs, "post-logout-redirect-uri", nil, "post-logout redirect URI (repeatable)")
	fs.StringSliceVar(&f.grantTypes, "grant-type", nil, "grant type (repeatable): authorization_code, refresh_token, client_credentials, device_code (RFC 8628), token_exchange (RFC 8693; default authorization_code,refresh_token)")
	fs.StringSliceVar(&f.responseTypes, "response-type", nil, "response type (repeatable): code (default with authorization_code)")
	fs.StringSliceVar(&f.scopes, "scope", nil, "allowed scope (repeatable): openid, profile, email, offline_access (default all)")
	fs.BoolVar(&f.public, "public", false, "public client (SPA or native app): no secret, PKCE required")
	fs.StringVar(&f.authMethod, "token-endpoint-auth-method", "", "client_secret_basic (default), client_secret_post, private_key_jwt, or none for public clients")
	fs.StringVar(&f.idTokenAlg, "id-token-alg", "", "ID token signing algorithm: RS256 (default), ES256 or EdDSA")
	fs.StringVar(&f.idTokenAlg, "id-token-signed-response-alg", "", "same as --id-token-alg")
	_ = fs.MarkHidden("id-token-signed-response-alg")
	fs.StringVar(&f.jwks, "jwks", "", "the client's public keys for private_key_jwt: a JWK Set as JSON, or @FILE")
	fs.StringVar(&f.jwksURI, "jwks-uri", "", "https URL of the client's JWK Set, for private_key_jwt")
	fs.BoolVar(&f.skipConsent, "skip-consent", false, "do not ask users for consent (first-party apps)")
	fs.StringSliceVar(&f.loginMethods, "login-method", nil, "allowed login method (repeatable): passkey, passlink, password_security_key (default: the policy's default methods)")
	fs.BoolVar(&f.disabled, "disabled", false, "disable the client (refused at authorize and token, its tokens stop working); --disabled=false enables it")
	fs.StringVar(&f.logoURI, "logo-uri", "", "logo shown on the sign-in pages: an https URL or a data:image/svg+xml URI")
	fs.StringVar(&f.primaryColor, "primary-color", "", "this app's buttons and links on the sign-in pages, #rrggbb (4.5:1 contrast with white; empty: the global branding's)")
	fs.StringVar(&f.accentColor, "accent-color", "", "the tile behind this app's initial on the sign-in pages, #rrggbb (3:1 contrast with white)")
	fs.DurationVar(&f.accessTTL, "access-token-ttl", 0, "access token lifetime for this client, 1m to 24h (0: the global setting)")
	fs.DurationVar(&f.refreshTTL, "refresh-token-ttl", 0, "refresh token lifetime for this client, 1h to 8760h (0: the global setting)")
	fs.DurationVar(&f.idTTL, "id-token-ttl", 0, "ID token lifetime for this client, 1m to 24h (0: the global setting)")
	fs.StringVar(&f.minACR, "min-acr", "", "minimum acr every sign-in for this client must reach, one of "+strings.Join(models.ACRLevels, ", ")+" (weakest first; empty: none)")
	fs.StringVar(&f.synced, "synced-passkeys", "", "passkeys that may sync between devices, for this client: allow, block or grace (accepted, warned and recorded); empty: the global policy")
	fs.StringArrayVar(&f.aaguidAllow, "aaguid-allow", nil, "the only authenticator models (AAGUIDs) this client accepts, within the global allow list (repeatable; needs the global attestation \"direct\"); --aaguid-allow= lifts the client's own list")
	fs.StringVar(&f.aaguidMode, "aaguid-allow-mode", "", "what this client's allow list does to another model: enforce (refused; empty too) or grace (accepted, each use warned and recorded)")
	fs.StringVar(&f.uv, "user-verification", "", "passkey user verification for this client: required, preferred or discouraged (empty: the global policy)")
	fs.StringSliceVar(&f.allowedGroups, "allowed-group", nil, "only members of this group may sign in (repeatable; an existing group, see sesame group list); --allowed-group= lets everyone in")
	fs.StringVar(&f.bcLogoutURI, "backchannel-logout-uri", "", "URL that receives a signed logout token when a session that signed in to this client ends (OIDC Back-Channel Logout): https, or http on localhost; --backchannel-logout-uri= removes it")
	fs.BoolVar(&f.bcLogoutSID, "backchannel-logout-session-required", false, "the client needs the sid claim in its logout tokens")
	fs.StringVar(&f.fcLogoutURI, "frontchannel-logout-uri", "", "page of the client that Sesame's logout page loads in a hidden iframe (OIDC Front-Channel Logout): the scheme, host and port of a redirect URI; --frontchannel-logout-uri= removes it")
	fs.BoolVar(&f.fcLogoutSID, "frontchannel-logout-session-required", false, "add iss and sid to the front-channel logout URL")
	fs.BoolVar(&f.requirePAR, "require-par", false, "the client must push its authorization requests first (RFC 9126, require_pushed_authorization_requests)")
	fs.StringVar(&f.subjectType, "subject-type", "", "public (default: sub is the user's id) or pairwise (OIDC Core 8.1: an identifier of the client's sector alone)")
	fs.StringVar(&f.sectorURI, "sector-identifier-uri", "", "pairwise only: https URL of a JSON array listing every redirect URI; its host is the sector (fetched and checked when saved)")
	fs.StringVar(&f.tokenFormat, "access-token-format", "", "access tokens for this client: opaque (default) or jwt (RFC 9068, verifiable against the JWKS)")
	fs.BoolVar(&f.dpopBound, "dpop-bound-access-tokens", false, "require DPoP (RFC 9449) on every token request, so all the client's tokens are bound to its key; --dpop-bound-access-tokens=false lifts it")
	fs.StringArrayVar(&f.exchangeTo, "token-exchange-resource", nil, "token exchange (RFC 8693): a registered resource (its audience) this client may exchange tokens for (repeatable; needs --grant-type token_exchange); --token-exchange-resource= clears them")
	fs.StringArrayVar(&f.exchangeFrom, "token-exchange-subject-audience", nil, "token exchange: an audience (an API this client serves) a subject token may carry for this client to exchange it, besides the client's id (repeatable)")
	fs.StringSliceVar(&f.webOrigins, "allowed-web-origin", nil, "browser origin (scheme://host[:port], no path) whose pages may call the token, userinfo and revocation endpoints (repeatable; default: a public client's redirect URI origins)")
}

// specFlags are the flag names register defines.
var specFlags = []string{
	"name", "redirect-uri", "post-logout-redirect-uri", "grant-type", "response-type", "scope",
	"public", "token-endpoint-auth-method", "id-token-alg", "id-token-signed-response-alg",
	"jwks", "jwks-uri", "skip-consent", "login-method",
	"disabled", "logo-uri", "primary-color", "accent-color", "access-token-ttl", "refresh-token-ttl", "id-token-ttl", "min-acr", "user-verification", "synced-passkeys", "aaguid-allow", "aaguid-allow-mode",
	"allowed-web-origin", "allowed-group", "access-token-format", "backchannel-logout-uri", "backchannel-logout-session-required",
	"frontchannel-logout-uri", "frontchannel-logout-session-required", "dpop-bound-access-tokens",
	"require-par", "token-exchange-resource", "token-exchange-subject-audience",
	"subject-type", "sector-identifier-uri",
}

// anyChanged reports whether the user gave any client setting.
func (f *clientFlags) anyChanged(fs *pflag.FlagSet) bool {
	for _, n := range specFlags {
		if fs.Changed(n) {
			return true
		}
	}
	return false
}

// apply copies the flags the user set onto spec. Settings that depend on a
// changed one and were not given themselves are reset to their defaults, so
// that e.g. "--public" on a confidential client does not keep
// client_secret_basic.
func (f *clientFlags) apply(fs *pflag.FlagSet, s *clients.Spec) error {
	changed := fs.Changed
	setChanged(fs, "name", &s.Name, f.name)
	setChanged(fs, "redirect-uri", &s.RedirectURIs, f.redirectURIs)
	setChanged(fs, "post-logout-redirect-uri", &s.PostLogoutRedirectURIs, f.postLogoutURIs)
	if changed("grant-type") {
		s.GrantTypes = make([]string, 0, len(f.grantTypes))
		for _, g := range f.grantTypes {
			// The device grant's name is a URN; "device_code" says the same.
			switch g {
			case "device_code":
				g = clients.GrantDeviceCode
			case "token_exchange":
				g = clients.GrantTokenExchange
			}
			s.GrantTypes = append(s.GrantTypes, g)
		}
		if !changed("response-type") {
			s.ResponseTypes = nil
		}
	}
	setChanged(fs, "response-type", &s.ResponseTypes, f.responseTypes)
	setChanged(fs, "scope", &s.Scopes, f.scopes)
	if changed("public") {
		s.Public = f.public
		if !changed("token-endpoint-auth-method") {
			s.TokenEndpointAuthMethod = ""
		}
	}
	setChanged(fs, "token-endpoint-auth-method", &s.TokenEndpointAuthMethod, f.authMethod)
	if changed("id-token-alg") || changed("id-token-signed-response-alg") {
		s.IDTokenSignedAlg = f.idTokenAlg
	}
	if changed("jwks") {
		v := f.jwks
		if name, ok := strings.CutPrefix(v, "@"); ok {
			b, err := os.ReadFile(name)
			if err != nil {
				return usageError(fmt.Errorf("--jwks: %w", err))
			}
			v = string(b)
		}
		s.JWKS = v
	}
	setChanged(fs, "jwks-uri", &s.JWKSURI, f.jwksURI)
	if s.TokenEndpointAuthMethod != clients.AuthPrivateKeyJWT && !changed("jwks") && !changed("jwks-uri") {
		// Keys only mean something for private_key_jwt.
		s.JWKS, s.JWKSURI = "", ""
	}
	setChanged(fs, "skip-consent", &s.SkipConsent, f.skipConsent)
	setChanged(fs, "login-method", &s.AllowedLoginMethods, f.loginMethods)
	setChanged(fs, "disabled", &s.Disabled, f.disabled)
	setChanged(fs, "logo-uri", &s.LogoURI, f.logoURI)
	setChanged(fs, "primary-color", &s.PrimaryColor, f.primaryColor)
	setChanged(fs, "accent-color", &s.AccentColor, f.accentColor)
	ttls := []struct {
		flag string
		v    time.Duration
		dst  *int
	}{{"access-token-ttl", f.accessTTL, &s.AccessTokenTTL}, {"refresh-token-ttl", f.refreshTTL, &s.RefreshTokenTTL}, {"id-token-ttl", f.idTTL, &s.IDTokenTTL}}
	for _, t := range ttls {
		if !changed(t.flag) {
			continue
		}
		if t.v%time.Second != 0 {
			return usageError(fmt.Errorf("--%s: whole seconds only (got %v)", t.flag, t.v))
		}
		*t.dst = int(t.v / time.Second)
	}
	setChanged(fs, "min-acr", &s.MinACR, f.minACR)
	setChanged(fs, "user-verification", &s.UserVerification, f.uv)
	setChanged(fs, "synced-passkeys", &s.SyncedPasskeys, f.synced)
	setChanged(fs, "aaguid-allow", &s.AAGUIDAllow, nonEmpty(f.aaguidAllow))
	setChanged(fs, "aaguid-allow-mode", &s.AAGUIDAllowMode, f.aaguidMode)
	setChanged(fs, "allowed-web-origin", &s.AllowedWebOrigins, f.webOrigins)
	setChanged(fs, "allowed-group", &s.AllowedGroups, f.allowedGroups)
	setChanged(fs, "backchannel-logout-uri", &s.BackchannelLogoutURI, f.bcLogoutURI)
	setChanged(fs, "backchannel-logout-session-required", &s.BackchannelLogoutSessionRequired, f.bcLogoutSID)
	setChanged(fs, "require-par", &s.RequirePushedAuthorizationRequests, f.requirePAR)
	if s.BackchannelLogoutURI == "" && !changed("backchannel-logout-session-required") {
		s.BackchannelLogoutSessionRequired = false
	}
	setChanged(fs, "subject-type", &s.SubjectType, f.subjectType)
	setChanged(fs, "sector-identifier-uri", &s.SectorIdentifierURI, f.sectorURI)
	if s.SubjectType != clients.SubjectPairwise && !changed("sector-identifier-uri") {
		s.SectorIdentifierURI = ""
	}
	setChanged(fs, "frontchannel-logout-uri", &s.FrontchannelLogoutURI, f.fcLogoutURI)
	setChanged(fs, "frontchannel-logout-session-required", &s.FrontchannelLogoutSessionRequired, f.fcLogoutSID)
	if s.FrontchannelLogoutURI == "" && !changed("frontchannel-logout-session-required") {
		s.FrontchannelLogoutSessionRequired = false
	}
	setChanged(fs, "access-token-format", &s.AccessTokenFormat, f.tokenFormat)
	setChanged(fs, "dpop-bound-access-tokens", &s.DPoPBoundAccessTokens, f.dpopBound)
	setChanged(fs, "token-exchange-resource", &s.TokenExchangeResources, f.exchangeTo)
	setChanged(fs, "token-exchange-subject-audience", &s.TokenExchangeSubjectAudiences, f.exchangeFrom)
	if !slices.Contains(s.GrantTypes, clients.GrantTokenExchange) && changed("grant-type") {
		// Dropping the grant drops its settings unless they were given.
		if !changed("token-exchange-resource") {
			s.TokenExchangeResources = nil
		}
		if !changed("token-exchange-subject-audience") {
			s.TokenExchangeSubjectAudiences = nil
		}
	}
	return nil
}

// setChanged sets *dst to v when the flag name was given.
func setChanged[T any](fs *pflag.FlagSet, name string, dst *T, v T) {
	if fs.Changed(name) {
		*dst = v
	}
}

// clientView is a client as the CLI shows it in JSON: never the secret
// hash; the plain secret only right after it was made.
type clientView struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
	clients.Spec
	// Dynamic: the app registered itself (RFC 7591); absent for clients
	// an admin created.
	Dynamic   bool      `json:"dynamic,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewOf(c *console.ClientView, plainSecret string) clientView {
	return clientView{ClientID: c.ID, ClientSecret: plainSecret, Spec: c.Spec, Dynamic: c.Dynamic, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// clientErr turns a store miss into a message naming the client.
func clientErr(id string, err error) error {
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("client %s not found", id)
	}
	return err
}

func (c *cli) clientCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "client",
		Short: "Register and manage OIDC clients (relying parties)",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(c.clientCreateCmd(), c.clientListCmd(), c.clientShowCmd(), c.clientUpdateCmd(), c.clientDeleteCmd())
	return cmd
}

func (c *cli) clientCreateCmd() *cobra.Command {
	var f clientFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "create --name NAME --redirect-uri URI [flags]",
		Short: "Register a client",
		Example: `  sesame client create --name "My app" --redirect-uri http://localhost:3000/callback
  sesame client create --name "My SPA" --public --redirect-uri https://spa.example.com/cb
  sesame client create --name "Batch job" --grant-type client_credentials`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var spec clients.Spec
			if err := f.apply(cmd.Flags(), &spec); err != nil {
				return err
			}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				cl, plain, err := svc.Clients.Create(ctx, spec)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return writeJSON(out, viewOf(cl, plain))
				}
				fmt.Fprintf(out, "Created client %q.\n\n", cl.Name)
				fmt.Fprintf(out, "  client_id:     %s\n", cl.ID)
				if plain != "" {
					fmt.Fprintf(out, "  client_secret: %s\n", plain)
				}
				fmt.Fprintln(out)
				if plain != "" {
					fmt.Fprintln(out, "Store the client secret now; it cannot be shown again.")
				}
				return nil
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the client as JSON (with client_id and client_secret)")
	return cmd
}

func (c *cli) clientListCmd() *cobra.Command {
	var asJSON bool
	var registered string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List clients",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if registered != "" && !slices.Contains(console.RegisteredBy, registered) {
				return usageError(fmt.Errorf("--registered: %q is not one of %v", registered, console.RegisteredBy))
			}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				list, err := allPages(func(off, limit int) ([]console.ClientView, bool, error) {
					return svc.Clients.List(ctx, console.ClientQuery{Registered: registered}, off, limit)
				})
				if err != nil {
					return err
				}
				views := make([]clientView, 0, len(list))
				for i := range list {
					views = append(views, viewOf(&list[i], ""))
				}
				empty := `No clients yet. Register one with: sesame client create --name "My app" --redirect-uri http://localhost:3000/callback`
				if registered != "" {
					empty = map[string]string{console.RegisteredDynamic: "No client registered itself.",
						console.RegisteredAdmin: "No client was created by an admin."}[registered]
				}
				return printList(cmd.OutOrStdout(), asJSON, views, table[clientView]{empty: empty, header: "ID\tNAME\tTYPE\tREDIRECT URIS",
					row: func(w io.Writer, cl clientView) {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", cl.ClientID, oneLine(cl.Name), publicOr(cl.Public), orDash(strings.Join(cl.RedirectURIs, " ")))
					}})
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	cmd.Flags().StringVar(&registered, "registered", "", "only the clients that registered themselves (RFC 7591; --registered, or =dynamic) or that an admin created (--registered=admin)")
	cmd.Flags().Lookup("registered").NoOptDefVal = console.RegisteredDynamic
	return cmd
}

func clientType(cl *console.ClientView) string { return publicOr(cl.Public) }

// publicOr names a client's type.
func publicOr(public bool) string {
	if public {
		return "public"
	}
	return "confidential"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a value from breaking a table row.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func (c *cli) clientShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show CLIENT_ID",
		Short: "Show a client's settings",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				cl, err := svc.Clients.Get(ctx, args[0])
				if err != nil {
					return clientErr(args[0], err)
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), viewOf(cl, ""))
				}
				return printClient(cmd.OutOrStdout(), cl)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the client as JSON")
	return cmd
}

// printClient prints the details with the field names used in JSON and in
// validation errors.
func printClient(w io.Writer, cl *console.ClientView) error {
	s := cl.Spec
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k string, vs ...string) {
		if len(vs) == 0 {
			vs = []string{"-"}
		}
		for i, v := range vs {
			if i > 0 {
				k = ""
			}
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("client_id:", cl.ID)
	row("client_name:", oneLine(s.Name))
	row("type:", clientType(cl))
	row("token_endpoint_auth_method:", s.TokenEndpointAuthMethod)
	if cl.HasSecret {
		row("client_secret:", "set, stored hashed (rotate with: sesame client update "+cl.ID+" --rotate-secret)")
	}
	row("redirect_uris:", s.RedirectURIs...)
	row("post_logout_redirect_uris:", s.PostLogoutRedirectURIs...)
	webOrigins := clients.WebOrigins(&models.Client{Public: s.Public, RedirectURIs: s.RedirectURIs, AllowedWebOrigins: s.AllowedWebOrigins})
	if len(s.AllowedWebOrigins) == 0 && len(webOrigins) > 0 {
		webOrigins[0] += " (from the redirect URIs)"
	}
	row("allowed_web_origins:", webOrigins...)
	if len(s.AllowedGroups) == 0 {
		row("allowed_groups:", "- (every user)")
	} else {
		row("allowed_groups:", s.AllowedGroups...)
	}
	row("grant_types:", s.GrantTypes...)
	row("response_types:", s.ResponseTypes...)
	row("scopes:", strings.Join(s.Scopes, " "))
	row("id_token_signed_response_alg:", s.IDTokenSignedAlg)
	if s.JWKSURI != "" {
		row("jwks_uri:", s.JWKSURI)
	}
	if s.JWKS != "" {
		row("jwks:", oneLine(s.JWKS))
	}
	row("skip_consent:", yesNo(s.SkipConsent))
	row("allowed_login_methods:", strings.Join(s.AllowedLoginMethods, " "))
	row("disabled:", yesNo(s.Disabled))
	if s.LogoURI != "" {
		row("logo_uri:", oneLine(s.LogoURI))
	}
	if s.PrimaryColor != "" || s.AccentColor != "" {
		row("colours:", strings.TrimSpace(s.PrimaryColor+" "+s.AccentColor))
	}
	for _, t := range []struct {
		name string
		secs int
	}{{"access_token_ttl:", s.AccessTokenTTL}, {"refresh_token_ttl:", s.RefreshTokenTTL}, {"id_token_ttl:", s.IDTokenTTL}} {
		if t.secs > 0 {
			row(t.name, (time.Duration(t.secs) * time.Second).String())
		}
	}
	if s.MinACR != "" {
		row("min_acr:", s.MinACR)
	}
	if s.SyncedPasskeys != "" {
		row("synced_passkeys:", s.SyncedPasskeys)
	}
	if len(s.AAGUIDAllow) > 0 {
		mode := s.AAGUIDAllowMode
		if mode == "" {
			mode = policy.ModelEnforce
		}
		row("aaguid_allow:", strings.Join(s.AAGUIDAllow, " ")+" ("+mode+")")
	}
	if s.UserVerification != "" {
		row("user_verification:", s.UserVerification)
	}
	if s.BackchannelLogoutURI != "" {
		row("backchannel_logout_uri:", s.BackchannelLogoutURI)
		row("backchannel_logout_session_required:", yesNo(s.BackchannelLogoutSessionRequired))
	}
	row("subject_type:", s.SubjectType)
	if s.SectorIdentifierURI != "" {
		row("sector_identifier_uri:", s.SectorIdentifierURI)
	}
	if s.FrontchannelLogoutURI != "" {
		row("frontchannel_logout_uri:", s.FrontchannelLogoutURI)
		row("frontchannel_logout_session_required:", yesNo(s.FrontchannelLogoutSessionRequired))
	}
	row("access_token_format:", s.AccessTokenFormat)
	row("dpop_bound_access_tokens:", yesNo(s.DPoPBoundAccessTokens))
	if s.RequirePushedAuthorizationRequests {
		row("require_pushed_authorization_requests:", "yes")
	}
	if len(s.TokenExchangeResources) > 0 {
		row("token_exchange_resources:", s.TokenExchangeResources...)
		row("token_exchange_subject_audiences:", s.TokenExchangeSubjectAudiences...)
	}
	row("created_at:", cl.CreatedAt.UTC().Format(time.RFC3339))
	row("updated_at:", cl.UpdatedAt.UTC().Format(time.RFC3339))
	return tw.Flush()
}

func (c *cli) clientUpdateCmd() *cobra.Command {
	var f clientFlags
	var asJSON, rotate, yes bool
	cmd := &cobra.Command{
		Use:   "update CLIENT_ID [flags]",
		Short: "Change a client's settings; only the flags given change",
		Long: `Change a client's settings. Only the flags given change; a repeatable flag
replaces the whole list (--scope openid --scope email leaves exactly those
two). --rotate-secret issues a new secret, shown once; the old one stops
working at once. A stricter passkey rule (--synced-passkeys block, an
enforced --aaguid-allow list) that leaves anyone without a passkey that signs
in to this client is refused, naming them, unless --yes is given.`,
		Example: `  sesame client update ID --redirect-uri https://app.example.com/cb --redirect-uri http://localhost:3000/cb
  sesame client update ID --skip-consent
  sesame client update ID --rotate-secret`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			fs := cmd.Flags()
			changedSpec := f.anyChanged(fs)
			if !changedSpec && !rotate {
				return usageError(errors.New("nothing to update: give the flags to change (see sesame client update --help)"))
			}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				var (
					cl    *console.ClientView
					plain string
					err   error
				)
				if !changedSpec {
					if plain, err = svc.Clients.RotateSecret(ctx, id); err != nil {
						return clientErr(id, err)
					}
					cl, err = svc.Clients.Get(ctx, id)
				} else {
					cl, err = svc.Clients.Get(ctx, id)
					if err != nil {
						return clientErr(id, err)
					}
					spec := cl.Spec
					if err := f.apply(fs, &spec); err != nil {
						return err
					}
					spec.Normalize()
					if !rotate && clients.UsesSecret(spec.TokenEndpointAuthMethod) && !cl.HasSecret && spec.Validate() == nil {
						return usageError(fmt.Errorf("token_endpoint_auth_method: client %s has no secret yet; add --rotate-secret to issue one", id))
					}
					// A stricter passkey rule is previewed as the console
					// and the admin API preview it, and refused without
					// --yes when it locks anyone out of this client.
					if spec.Validate() == nil && !yes {
						l, err := svc.Clients.Preview(ctx, id, spec)
						if err != nil {
							return clientErr(id, err)
						}
						if l.Count > 0 {
							printLockout(cmd.ErrOrStderr(), l)
							return fmt.Errorf("not saved: this locks %d %s out of client %s; check the list, then add --yes to save anyway (or use grace to warn first)",
								l.Count, plural(l.Count, "person", "people"), id)
						}
					}
					cl, plain, err = svc.Clients.Update(ctx, id, spec, rotate)
				}
				if err != nil {
					return clientErr(id, err)
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return writeJSON(out, viewOf(cl, plain))
				}
				fmt.Fprintf(out, "Updated client %s (%s).\n", cl.ID, oneLine(cl.Name))
				if plain != "" {
					fmt.Fprintf(out, "\n  client_secret: %s\n\nStore the new client secret now; it cannot be shown again. The old one no longer works.\n", plain)
				}
				return nil
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&rotate, "rotate-secret", false, "issue a new client secret (shown once)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "save even when a stricter passkey rule locks people out of this client")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the client as JSON")
	return cmd
}

func (c *cli) clientDeleteCmd() *cobra.Command {
	var asJSON, yes bool
	cmd := &cobra.Command{
		Use:   "delete CLIENT_ID",
		Short: "Delete a client and revoke everything issued to it",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				cl, err := svc.Clients.Get(ctx, id)
				if err != nil {
					return clientErr(id, err)
				}
				if !yes {
					ok, err := confirm(cmd, fmt.Sprintf("Delete client %s (%s) and revoke its tokens?", id, oneLine(cl.Name)))
					if err != nil {
						return err
					}
					if !ok {
						return errors.New("not deleted")
					}
				}
				if err := svc.Clients.Delete(ctx, id); err != nil {
					return clientErr(id, err)
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), map[string]any{"client_id": id, "deleted": true})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Deleted client %s.\n", id)
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// confirm asks a yes/no question on a terminal. Without one (a script, a
// pipe) it refuses rather than guessing.
func confirm(cmd *cobra.Command, question string) (bool, error) {
	in := cmd.InOrStdin()
	f, ok := in.(*os.File)
	if !ok || !isTerminal(f) {
		return false, usageError(errors.New("refusing to delete without confirmation in a non-interactive session; pass --yes"))
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s [y/N] ", question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes", nil
}

// isTerminal asks the OS (a character device such as /dev/null is not a
// terminal).
func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// allPages collects every page of a console list, as far as the console
// lets a list be paged (console.MaxOffset).
func allPages[T any](page func(offset, limit int) ([]T, bool, error)) ([]T, error) {
	all := []T{}
	for off := 0; off <= console.MaxOffset; off += console.MaxLimit {
		part, more, err := page(off, console.MaxLimit)
		if err != nil {
			return nil, err
		}
		all = append(all, part...)
		if !more {
			break
		}
	}
	return all, nil
}

package config

import (
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Config is the effective Sesame configuration.
//
// Struct tags drive loading: yaml is the key in the config file ("-" means
// the setting cannot come from the file), env lists environment variables in
// order of preference (comma-separated), flag is the command-line flag name,
// usage is the flag help text, doc (optional) a longer text for the README's
// settings table, and secret marks values that Masked must hide ("true"
// hides the whole value, "url" hides only a URL's password). Every secret
// setting X has a companion XFile (yaml x_file, env SESAME_X_FILE, flag
// --x-file) naming a file to read it from (a test enforces it).
type Config struct {
	// Issuer is the public base URL of the provider. It becomes the "iss"
	// claim and the prefix of every discovery URL, so it must be exactly what
	// clients see, hence no trailing slash, query or fragment.
	Issuer string `yaml:"issuer" env:"SESAME_ISSUER" flag:"issuer" usage:"public issuer URL; https required except for localhost"`
	// Listen is the TCP address the HTTP server binds to.
	Listen string `yaml:"listen" env:"SESAME_LISTEN" flag:"listen" usage:"address to listen on (host:port)"`
	// DataDir holds the embedded SQLite database and the generated system
	// secret file.
	DataDir string `yaml:"data_dir" env:"SESAME_DATA_DIR" flag:"data-dir" usage:"directory for the embedded database and generated secrets"`
	// DatabaseURL selects the database. Empty means embedded SQLite at
	// DataDir/sesame.db. Otherwise it must be one of:
	//   postgres://user:pass@host:port/db?sslmode=...   (also postgresql://)
	//   sqlite://PATH   (e.g. sqlite:///var/lib/sesame/db.sqlite for an absolute path)
	//   file:PATH       (SQLite URI filename, e.g. file:sesame.db?_pragma=busy_timeout(5000))
	// DATABASE_URL is honoured as a fallback because most PaaS platforms
	// inject it.
	DatabaseURL string `yaml:"database_url" env:"SESAME_DATABASE_URL,DATABASE_URL" flag:"database-url" secret:"url" usage:"database URL (postgres://, postgresql://, sqlite://PATH or file:PATH); empty means SQLite in data-dir"`
	// DatabaseURLFile names a file holding the database URL, so its
	// password can come from a mounted secret rather than the environment.
	DatabaseURLFile string `yaml:"database_url_file" env:"SESAME_DATABASE_URL_FILE" flag:"database-url-file" usage:"path to a file holding the database URL (e.g. a mounted secret)"`
	// SystemSecret is the master secret used to derive encryption and
	// signing keys for data at rest.
	SystemSecret string `yaml:"system_secret" env:"SESAME_SYSTEM_SECRET" flag:"system-secret" secret:"true" usage:"master secret, at least 32 characters (prefer system-secret-file or the environment; flags show up in ps)"`
	// SystemSecretFile names a file holding the system secret, which keeps
	// the secret out of the environment and the process list.
	SystemSecretFile string `yaml:"system_secret_file" env:"SESAME_SYSTEM_SECRET_FILE" flag:"system-secret-file" usage:"path to a file holding the system secret"`
	// Dev relaxes production requirements (e.g. a generated system secret)
	// for local development.
	Dev bool `yaml:"dev" env:"SESAME_DEV" flag:"dev" usage:"development mode: generate a system secret if none is configured"`
	// Migrate runs database migrations when the server starts. Operators who
	// migrate in a separate deploy step turn it off.
	Migrate bool `yaml:"migrate" env:"SESAME_MIGRATE" flag:"migrate" usage:"run database migrations at startup"`
	// LogLevel is one of debug, info, warn, error.
	LogLevel string `yaml:"log_level" env:"SESAME_LOG_LEVEL" flag:"log-level" usage:"log level: debug, info, warn or error"`
	// LogFormat is json (for log shippers) or text (for humans).
	LogFormat string `yaml:"log_format" env:"SESAME_LOG_FORMAT" flag:"log-format" usage:"log format: json or text"`
	// DBMaxOpenConns caps the database connection pool (SQLite: at most 4).
	// 20 per replica: with fewer, commits that wait for the log flush
	// leave PostgreSQL idle at 64 concurrent requests (README, "Connections:
	// kept, and served in arrival order"); size PostgreSQL's max_connections
	// for replicas × this.
	DBMaxOpenConns int `yaml:"db_max_open_conns" env:"SESAME_DB_MAX_OPEN_CONNS" flag:"db-max-open-conns" usage:"maximum open database connections per replica"`
	// DBMaxIdleConns is how many pooled connections are kept idle; 0 keeps
	// as many as may be open. Fewer made a busy server close connections
	// it needed again a moment later: at 8 concurrent token requests on
	// 10 connections with 5 kept idle, 2,100–2,200 req/s and p99 18–24 ms
	// against 3,330–3,510 and 6.8–7.1 ms with all 10 kept (connections
	// idle for 5 minutes are closed either way).
	DBMaxIdleConns int `yaml:"db_max_idle_conns" env:"SESAME_DB_MAX_IDLE_CONNS" flag:"db-max-idle-conns" usage:"maximum idle database connections, at most db-max-open-conns (0: as many as db-max-open-conns)"`
	// DBRetryMaxDelay caps the back-off between attempts to reach the
	// database at start: serve stays alive (not ready) and keeps trying
	// instead of exiting and being restarted in a loop.
	DBRetryMaxDelay time.Duration `yaml:"db_retry_max_delay" env:"SESAME_DB_RETRY_MAX_DELAY" flag:"db-retry-max-delay" usage:"at start, the longest wait between attempts to reach the database (1s to 10m)"`
	// RequestTimeout is the deadline of each request (not of event
	// streams): a database that hangs or a pool held by slow queries ends
	// in a 503 instead of requests piling up.
	RequestTimeout time.Duration `yaml:"request_timeout" env:"SESAME_REQUEST_TIMEOUT" flag:"request-timeout" usage:"deadline of each request; past it the database work is abandoned and the answer is 503 (1s to 5m)"`
	// AccessTokenTTL is the lifetime of issued access tokens.
	AccessTokenTTL time.Duration `yaml:"access_token_ttl" env:"SESAME_ACCESS_TOKEN_TTL" flag:"access-token-ttl" usage:"access token lifetime (1m to 24h)"`
	// RefreshTokenTTL is the lifetime of issued refresh tokens.
	RefreshTokenTTL time.Duration `yaml:"refresh_token_ttl" env:"SESAME_REFRESH_TOKEN_TTL" flag:"refresh-token-ttl" usage:"refresh token lifetime (1h to 8760h)"`
	// RefreshTokenReuseInterval is how long after its rotation a refresh
	// token presented again by the same client gets a fresh pair instead of
	// revoking its family: concurrent refreshes (two tabs, a retry after a
	// timeout, two replicas) are not theft. 0 turns it off.
	RefreshTokenReuseInterval time.Duration `yaml:"refresh_token_reuse_interval" env:"SESAME_REFRESH_TOKEN_REUSE_INTERVAL" flag:"refresh-token-reuse-interval" usage:"how long a rotated refresh token may be presented again by its client without revoking the grant (0 to 60s; 0 disables)"`
	// ClockSkewLeeway is how far apart the clocks of replicas (and of
	// clients signing assertions) may be: a code, token or client
	// assertion is accepted up to this long past its expiry, and an
	// assertion issued up to this long in the future. Keep replicas on NTP;
	// this only absorbs the drift NTP leaves.
	ClockSkewLeeway time.Duration `yaml:"clock_skew_leeway" env:"SESAME_CLOCK_SKEW_LEEWAY" flag:"clock-skew-leeway" usage:"how far apart replicas' and clients' clocks may be: codes, tokens and client assertions are accepted this long past expiry, assertions this long before their iat/nbf (0 to 5m)"`
	// DPoP accepts DPoP proofs (RFC 9449) at the token, PAR and userinfo
	// endpoints: tokens bound to the client's key. Off: the DPoP header is
	// ignored, discovery does not advertise it, and clients registered
	// with dpop_bound_access_tokens get no tokens. The default of the live
	// policy's switch (console policies page, admin API, `sesame policy
	// dpop`).
	DPoP bool `yaml:"dpop" env:"SESAME_DPOP" flag:"dpop" usage:"accept DPoP proofs (RFC 9449): access and refresh tokens bound to the client's key (the default of the live policy's switch)"`
	// DPoPNonce requires every DPoP proof to carry a nonce the server
	// provided (RFC 9449 §8): a proof made in advance cannot be used.
	DPoPNonce bool `yaml:"dpop_nonce" env:"SESAME_DPOP_NONCE" flag:"dpop-nonce" usage:"require a server-provided nonce (DPoP-Nonce) in every DPoP proof"`
	// IDTokenTTL is the lifetime of issued ID tokens.
	IDTokenTTL time.Duration `yaml:"id_token_ttl" env:"SESAME_ID_TOKEN_TTL" flag:"id-token-ttl" usage:"ID token lifetime (1m to 24h)"`
	// AuthCodeTTL is the lifetime of authorization codes. RFC 6749 §4.1.2
	// recommends at most 10 minutes.
	AuthCodeTTL time.Duration `yaml:"auth_code_ttl" env:"SESAME_AUTH_CODE_TTL" flag:"auth-code-ttl" usage:"authorization code lifetime (10s to 10m)"`
	// LoginSessionTTL is how long a browser login session lasts.
	LoginSessionTTL time.Duration `yaml:"login_session_ttl" env:"SESAME_LOGIN_SESSION_TTL" flag:"login-session-ttl" usage:"browser login session lifetime (5m to 8760h)"`
	// InteractionTTL is how long a user has to finish a login or consent
	// screen.
	InteractionTTL time.Duration `yaml:"interaction_ttl" env:"SESAME_INTERACTION_TTL" flag:"interaction-ttl" usage:"time allowed to complete a login or consent interaction (1m to 1h)"`
	// DeviceGrant serves the device authorization grant (RFC 8628:
	// /oauth2/device/authorize, the /device page) to the clients
	// registered for it; off, those endpoints are 404 and discovery does
	// not name them. The default of the live policy's switch (console
	// policies page, admin API, `sesame policy device-grant`).
	DeviceGrant bool `yaml:"device_grant" env:"SESAME_DEVICE_GRANT" flag:"device-grant" usage:"serve the device authorization grant (RFC 8628) to clients registered for it (the default of the live policy's switch)"`
	// DeviceCodeTTL is how long a device code and its user code live: the
	// person has this long to type the code and approve.
	DeviceCodeTTL time.Duration `yaml:"device_code_ttl" env:"SESAME_DEVICE_CODE_TTL" flag:"device-code-ttl" usage:"device and user code lifetime (1m to 30m)"`
	// DevicePollInterval is the least time between a device's polls of the
	// token endpoint; faster polls get slow_down (RFC 8628 §3.5).
	DevicePollInterval time.Duration `yaml:"device_poll_interval" env:"SESAME_DEVICE_POLL_INTERVAL" flag:"device-poll-interval" usage:"minimum time between a device's token polls, whole seconds (1s to 60s)"`
	// TokenExchange serves the token exchange grant (RFC 8693) to the
	// clients registered for it (grant type, target resources); off, the
	// grant is unsupported_grant_type and discovery does not name it. It
	// is the default of the live policy's switch, which the console's
	// policies page, the admin API and `sesame policy token-exchange`
	// change without a restart.
	TokenExchange bool `yaml:"token_exchange" env:"SESAME_TOKEN_EXCHANGE" flag:"token-exchange" usage:"serve the token exchange grant (RFC 8693) to clients registered for it (the default of the live policy's switch)"`
	// BackchannelLogout delivers back-channel logout tokens (OIDC
	// Back-Channel Logout 1.0) to the clients that registered a
	// backchannel_logout_uri; off, sign-outs reach no app that way and
	// discovery says backchannel_logout_supported false. It is the default
	// of the live policy's switch (console policies page, admin API,
	// `sesame policy backchannel-logout`).
	BackchannelLogout bool `yaml:"backchannel_logout" env:"SESAME_BACKCHANNEL_LOGOUT" flag:"backchannel-logout" usage:"POST logout tokens to the clients' back-channel logout URIs when a session ends (the default of the live policy's switch)"`
	// FrontchannelLogout makes the logout page load the clients'
	// frontchannel_logout_uri in hidden iframes (OIDC Front-Channel Logout
	// 1.0); off, it loads none and discovery says
	// frontchannel_logout_supported false. The default of the live
	// policy's switch (`sesame policy frontchannel-logout`).
	FrontchannelLogout bool `yaml:"frontchannel_logout" env:"SESAME_FRONTCHANNEL_LOGOUT" flag:"frontchannel-logout" usage:"load the clients' front-channel logout pages in the logout page (the default of the live policy's switch)"`
	// PairwiseSubjects lets clients be registered with subject_type
	// pairwise (OIDC Core §8.1); off, discovery lists only public and a
	// client cannot be made pairwise, while clients already pairwise keep
	// their subjects (an app's users never change identity). The default
	// of the live policy's switch (`sesame policy pairwise-subjects`).
	PairwiseSubjects bool `yaml:"pairwise_subjects" env:"SESAME_PAIRWISE_SUBJECTS" flag:"pairwise-subjects" usage:"let clients be registered with pairwise subject identifiers (the default of the live policy's switch)"`
	// PushedAuthorizationRequests serves the PAR endpoint (RFC 9126,
	// /oauth2/par) and request_uri values it issued; off, the endpoint is
	// 404, a request_uri is request_uri_not_supported, discovery does not
	// name the endpoint, and clients registered to require PAR cannot
	// start a sign-in. The default of the live policy's switch (console
	// policies page, admin API, `sesame policy par`).
	PushedAuthorizationRequests bool `yaml:"pushed_authorization_requests" env:"SESAME_PUSHED_AUTHORIZATION_REQUESTS" flag:"pushed-authorization-requests" usage:"serve the pushed authorization request endpoint (RFC 9126) (the default of the live policy's switch)"`
	// RequirePushedAuthorizationRequests makes every client push its
	// authorization requests first (RFC 9126); off, only the clients
	// registered with require_pushed_authorization_requests must. The
	// default of the live policy's switch (console policies page, admin
	// API, `sesame policy require-par`).
	RequirePushedAuthorizationRequests bool `yaml:"require_pushed_authorization_requests" env:"SESAME_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS" flag:"require-pushed-authorization-requests" usage:"every client must push its authorization requests to the PAR endpoint first (RFC 9126) (the default of the live policy's switch)"`
	// PushedAuthorizationRequestTTL is how long a pushed request's
	// request_uri may be used (once).
	PushedAuthorizationRequestTTL time.Duration `yaml:"pushed_authorization_request_ttl" env:"SESAME_PUSHED_AUTHORIZATION_REQUEST_TTL" flag:"pushed-authorization-request-ttl" usage:"lifetime of a pushed authorization request's request_uri (10s to 10m)"`
	// Registration is dynamic client registration (RFC 7591, /oauth2/register)
	// and management (RFC 7592): off (the default; the endpoint is 404 and
	// discovery does not name it), protected (each registration presents an
	// initial access token an admin minted) or open (anyone may register a
	// client, within the registration limits below). The console's
	// policy page changes it live.
	Registration string `yaml:"registration" env:"SESAME_REGISTRATION" flag:"registration" usage:"dynamic client registration (RFC 7591): off, protected (initial access tokens) or open"`
	// RegistrationGrantTypes are the grant types a dynamically registered
	// client may ask for.
	RegistrationGrantTypes []string `yaml:"registration_grant_types" env:"SESAME_REGISTRATION_GRANT_TYPES" flag:"registration-grant-type" usage:"grant type a dynamically registered client may use (repeatable): authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code"`
	// RegistrationRedirectSchemes are the redirect URI schemes a
	// dynamically registered client may use: https, http (loopback hosts
	// only, RFC 8252 §7.3, as for every client) and private-use (reverse-
	// domain schemes of native apps, RFC 8252 §7.1).
	RegistrationRedirectSchemes []string `yaml:"registration_redirect_schemes" env:"SESAME_REGISTRATION_REDIRECT_SCHEMES" flag:"registration-redirect-scheme" usage:"redirect URI scheme a dynamically registered client may use (repeatable): https, http (loopback only), private-use"`
	// RegistrationMaxRedirectURIs bounds a dynamically registered client's
	// redirect URIs.
	RegistrationMaxRedirectURIs int `yaml:"registration_max_redirect_uris" env:"SESAME_REGISTRATION_MAX_REDIRECT_URIS" flag:"registration-max-redirect-uris" usage:"most redirect URIs a dynamically registered client may have (1 to 50)"`
	// RegistrationRateIP is how many requests to the registration endpoint
	// (registrations and their management) one client IP may make per hour.
	RegistrationRateIP int `yaml:"registration_rate_ip" env:"SESAME_REGISTRATION_RATE_IP" flag:"registration-rate-ip" usage:"registration endpoint requests allowed per client IP and hour"`
	// KeyRotationPeriod is how often signing keys are rotated; 0 disables
	// automatic rotation.
	KeyRotationPeriod time.Duration `yaml:"key_rotation_period" env:"SESAME_KEY_ROTATION_PERIOD" flag:"key-rotation-period" usage:"signing key rotation period; 0 disables automatic rotation, otherwise at least 1h"`
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" env:"SESAME_SHUTDOWN_TIMEOUT" flag:"shutdown-timeout" usage:"graceful shutdown timeout"`
	// ShutdownDrainDelay is how long /readyz fails before the listener
	// closes, when something has been probing /readyz.
	ShutdownDrainDelay time.Duration `yaml:"shutdown_drain_delay" env:"SESAME_SHUTDOWN_DRAIN_DELAY" flag:"shutdown-drain-delay" usage:"on shutdown, how long /readyz fails before the listener closes (when probed)"`
	// TrustedProxies lists IPs or CIDRs of reverse proxies whose
	// X-Forwarded-* headers are believed; headers from anyone else are
	// ignored so clients cannot spoof their address.
	TrustedProxies []string `yaml:"trusted_proxies" env:"SESAME_TRUSTED_PROXIES" flag:"trusted-proxy" usage:"IP or CIDR of a trusted reverse proxy (repeatable; comma-separated in the environment)"`
	// RPID is the WebAuthn relying party id: the issuer's host by default.
	// Passkeys are bound to it; changing it orphans every passkey.
	RPID string `yaml:"rp_id" env:"SESAME_RP_ID" flag:"rp-id" usage:"WebAuthn relying party id (default: the issuer's host)"`
	// RPName is shown by authenticators when a passkey is created.
	RPName string `yaml:"rp_name" env:"SESAME_RP_NAME" flag:"rp-name" usage:"WebAuthn relying party display name"`
	// RPOrigins are the origins WebAuthn responses may come from (default:
	// the issuer's origin).
	RPOrigins []string `yaml:"rp_origins" env:"SESAME_RP_ORIGINS" flag:"rp-origin" usage:"allowed WebAuthn origin (repeatable; default: the issuer's origin)"`
	// UserVerification is the WebAuthn user verification requirement for
	// passkeys: required, preferred or discouraged.
	UserVerification string `yaml:"user_verification" env:"SESAME_USER_VERIFICATION" flag:"user-verification" usage:"passkey user verification: required, preferred or discouraged"`
	// Attestation is the attestation conveyance for passkey registration:
	// none (privacy-friendly default) or direct (to enforce AAGUID lists).
	Attestation string `yaml:"attestation" env:"SESAME_ATTESTATION" flag:"attestation" usage:"passkey attestation conveyance: none or direct"`
	// AAGUIDAllow, when non-empty, is the only authenticator models
	// (AAGUIDs) that may register; needs attestation direct.
	AAGUIDAllow []string `yaml:"aaguid_allow" env:"SESAME_AAGUID_ALLOW" flag:"aaguid-allow" usage:"AAGUID allowed to register (repeatable; needs --attestation direct)"`
	// AAGUIDDeny lists authenticator models that may not register.
	AAGUIDDeny []string `yaml:"aaguid_deny" env:"SESAME_AAGUID_DENY" flag:"aaguid-deny" usage:"AAGUID refused at registration (repeatable)"`
	// MDSFile is a FIDO Metadata Service (MDS3) BLOB to check attested
	// authenticators against.
	MDSFile string `yaml:"mds_file" env:"SESAME_MDS_FILE" flag:"mds-file" usage:"FIDO MDS3 metadata BLOB file for attestation checks"`
	// MDSRoot is the certificate (base64 DER) the MDS BLOB's signature
	// must chain to; empty means the FIDO Alliance's production root. For
	// a private metadata service (enterprise-issued keys) or tests.
	MDSRoot string `yaml:"mds_root" env:"SESAME_MDS_ROOT" flag:"mds-root" usage:"root certificate (base64 DER) the MDS BLOB must chain to (default: the FIDO Alliance root)"`
	// MDSURL is the FIDO Metadata Service to fetch the MDS3 BLOB from on a
	// schedule (one replica at a time; the last good copy is kept in the
	// database for all). Empty fetches nothing: mds_file alone, for
	// offline sites.
	MDSURL string `yaml:"mds_url" env:"SESAME_MDS_URL" flag:"mds-url" usage:"FIDO Metadata Service URL to fetch the MDS3 BLOB from, e.g. https://mds3.fidoalliance.org/ (empty: mds-file only)"`
	// MDSRefresh is how often the BLOB is fetched again.
	MDSRefresh time.Duration `yaml:"mds_refresh" env:"SESAME_MDS_REFRESH" flag:"mds-refresh" usage:"how often the FIDO metadata BLOB is fetched again (1s to 720h)"`
	// MDSStaleGrace is how long past its nextUpdate the metadata in force
	// may be before the console and the metrics report it stale.
	MDSStaleGrace time.Duration `yaml:"mds_stale_grace" env:"SESAME_MDS_STALE_GRACE" flag:"mds-stale-grace" usage:"how long past its nextUpdate the FIDO metadata may be before it is reported stale"`
	// SignupOpen lets anyone create an account.
	SignupOpen bool `yaml:"signup_open" env:"SESAME_SIGNUP_OPEN" flag:"signup-open" usage:"allow anyone to create an account"`
	// RequireVerifiedEmail holds a passkey sign-up (and the sign-in of an
	// account whose address is unproven) until a code mailed to the
	// address is typed (authn/verify_email.go). It needs mail (smtp-host,
	// or dev mode's log); without mail it cannot be enforced and is off.
	RequireVerifiedEmail bool `yaml:"require_verified_email" env:"SESAME_REQUIRE_VERIFIED_EMAIL" flag:"require-verified-email" usage:"passkey sign-ups prove their email address with a mailed code before signing in"`
	// SMTPHost is the mail server Sesame sends through (passlinks). Empty
	// means no SMTP: in dev mode mails are written to the log instead, so
	// a developer can click the link; outside dev, mail cannot be sent.
	SMTPHost string `yaml:"smtp_host" env:"SESAME_SMTP_HOST" flag:"smtp-host" usage:"SMTP server host name; empty means no SMTP (dev mode writes mails to the log)"`
	// SMTPPort is the SMTP server's port: 587 (submission, STARTTLS) by
	// default, 465 for implicit TLS.
	SMTPPort int `yaml:"smtp_port" env:"SESAME_SMTP_PORT" flag:"smtp-port" usage:"SMTP server port (587 for starttls, 465 for tls)"`
	// SMTPUsername, when set, makes Sesame authenticate to the server.
	SMTPUsername string `yaml:"smtp_username" env:"SESAME_SMTP_USERNAME" flag:"smtp-username" usage:"SMTP user name; empty means no SMTP authentication"`
	// SMTPPassword is the SMTP user's password.
	SMTPPassword string `yaml:"smtp_password" env:"SESAME_SMTP_PASSWORD" flag:"smtp-password" secret:"true" usage:"SMTP password (prefer the environment; flags show up in ps)"`
	// SMTPPasswordFile names a file holding the SMTP password.
	SMTPPasswordFile string `yaml:"smtp_password_file" env:"SESAME_SMTP_PASSWORD_FILE" flag:"smtp-password-file" usage:"path to a file holding the SMTP password (e.g. a mounted secret)"`
	// SMTPTLS is the transport security: starttls (upgrade required, never
	// falls back to plain text), tls (implicit TLS, usually port 465), or
	// none, allowed only for a relay on the loopback interface.
	SMTPTLS string `yaml:"smtp_tls" env:"SESAME_SMTP_TLS" flag:"smtp-tls" usage:"SMTP transport security: starttls, tls (implicit) or none (loopback hosts only)"`
	// MailFrom is the From address of every mail Sesame sends.
	MailFrom string `yaml:"mail_from" env:"SESAME_MAIL_FROM" flag:"mail-from" usage:"From address of mails, e.g. \"Example Login <login@example.com>\""`
	// AccountDeletionGrace is how long a user's own request to delete
	// their account waits before the account is removed; signing in
	// within it can cancel the request.
	AccountDeletionGrace time.Duration `yaml:"account_deletion_grace" env:"SESAME_ACCOUNT_DELETION_GRACE" flag:"account-deletion-grace" usage:"grace period before a user's own account deletion takes effect (1h to 90 days)"`
	// PasslinkTTL is how long an emailed sign-in link works.
	PasslinkTTL time.Duration `yaml:"passlink_ttl" env:"SESAME_PASSLINK_TTL" flag:"passlink-ttl" usage:"lifetime of an emailed sign-in link (1m to 1h)"`
	// PasslinkRateEmail is how many sign-in links one address may be sent
	// per hour; further requests get the same answer and no mail.
	PasslinkRateEmail int `yaml:"passlink_rate_email" env:"SESAME_PASSLINK_RATE_EMAIL" flag:"passlink-rate-email" usage:"sign-in link requests allowed per address and hour"`
	// PasslinkRateIP is how many sign-in links one client IP may request
	// per hour (a NAT or office shares one, hence higher).
	PasslinkRateIP int `yaml:"passlink_rate_ip" env:"SESAME_PASSLINK_RATE_IP" flag:"passlink-rate-ip" usage:"sign-in link requests allowed per client IP and hour"`
	// SignupUnknownMail is what a sign-in link request for an address
	// without an account sends: offer (a link that creates the account;
	// with signup_open, otherwise it acts as notice), notice (a "no account
	// here" mail) or none. The web page is the same in every case.
	SignupUnknownMail string `yaml:"signup_unknown_mail" env:"SESAME_SIGNUP_UNKNOWN_MAIL" flag:"signup-unknown-mail" usage:"mail for an unknown address: offer (create the account; needs signup-open), notice or none"`
	// PasswordMemory, PasswordIterations and PasswordParallelism are the
	// argon2id parameters of new password hashes (RFC 9106: m in KiB, t
	// passes, p lanes); the defaults are OWASP's minimum (19 MiB, 2, 1).
	// Hashes made with other values still verify and are upgraded at the
	// user's next sign-in.
	PasswordMemory      int `yaml:"password_argon2_memory" env:"SESAME_PASSWORD_ARGON2_MEMORY" flag:"password-argon2-memory" usage:"argon2id memory per password hash, in KiB"`
	PasswordIterations  int `yaml:"password_argon2_iterations" env:"SESAME_PASSWORD_ARGON2_ITERATIONS" flag:"password-argon2-iterations" usage:"argon2id passes per password hash"`
	PasswordParallelism int `yaml:"password_argon2_parallelism" env:"SESAME_PASSWORD_ARGON2_PARALLELISM" flag:"password-argon2-parallelism" usage:"argon2id lanes per password hash"`
	// PasswordMinLength is the shortest new password, in characters (NIST
	// SP 800-63B: at least 8; a verifier must allow 64).
	PasswordMinLength int `yaml:"password_min_length" env:"SESAME_PASSWORD_MIN_LENGTH" flag:"password-min-length" usage:"minimum length of a new password in characters (8 to 64)"`
	// RequireSecurityKey makes a security key mandatory after a password:
	// a user without one enrols it right after the password, before any
	// session. Off, a user without a key signs in with the password alone
	// (acr basic).
	RequireSecurityKey bool `yaml:"require_security_key" env:"SESAME_REQUIRE_SECURITY_KEY" flag:"require-security-key" usage:"password sign-in always needs a security key (enrolled at the first sign-in)"`
	// SMTPCAFile is a PEM file of certificates to trust for the SMTP
	// server's TLS (a private CA, or a self-signed relay such as the
	// Mailpit of compose.yaml), in addition to the system roots.
	SMTPCAFile string `yaml:"smtp_ca_file" env:"SESAME_SMTP_CA_FILE" flag:"smtp-ca-file" usage:"PEM file with extra CA certificates to trust for SMTP TLS"`
	// ConsoleIdleTimeout signs an admin out of the console after this long
	// without a request.
	ConsoleIdleTimeout time.Duration `yaml:"console_idle_timeout" env:"SESAME_CONSOLE_IDLE_TIMEOUT" flag:"console-idle-timeout" usage:"admin console idle timeout (1m to 12h)"`
	// AuthEventRetention is how long raw auth events (each sign-in
	// attempt, also refused and rate-limited ones) are kept; the console's
	// statistics read rollups with their own retention, so older events are
	// only the per-user activity list's. 0 keeps them for good.
	AuthEventRetention time.Duration `yaml:"auth_event_retention" env:"SESAME_AUTH_EVENT_RETENTION" flag:"auth-event-retention" usage:"how long raw auth events are kept (statistics live on in rollups); 0 keeps them, otherwise at least 24h"`
	// AuditRetention is how long audit log entries are kept; 0 (the
	// default) keeps the log forever.
	AuditRetention time.Duration `yaml:"audit_retention" env:"SESAME_AUDIT_RETENTION" flag:"audit-retention" usage:"how long audit log entries are kept; 0 keeps them forever, otherwise at least 24h"`
	// OutboundAllowCIDRs are the loopback, private, link-local or other
	// internal networks Sesame may still fetch from (a client's jwks_uri);
	// every such address is refused by default, so a client registration
	// cannot make Sesame reach internal services (SSRF).
	OutboundAllowCIDRs []string `yaml:"outbound_allow_cidrs" env:"SESAME_OUTBOUND_ALLOW_CIDRS" flag:"outbound-allow-cidr" usage:"internal network (CIDR) that outbound fetches such as a client's jwks_uri may reach (repeatable; comma-separated in the environment)"`
	// MetricsListen is a second address that serves only /metrics, for a
	// Prometheus that scrapes inside the cluster while the main listener
	// faces the internet. Empty: none.
	MetricsListen string `yaml:"metrics_listen" env:"SESAME_METRICS_LISTEN" flag:"metrics-listen" usage:"separate address serving only /metrics (host:port, e.g. :9090); empty: none" doc:"Separate address serving only /metrics (host:port, e.g. :9090), without authentication unless metrics_token is set: bind it where only the scraper reaches it. Empty: none."`
	// MetricsToken is the bearer token /metrics requires. On the main
	// listener /metrics exists only when it is set: metrics name clients
	// and show sign-in rates, which the internet need not see.
	MetricsToken string `yaml:"metrics_token" env:"SESAME_METRICS_TOKEN" flag:"metrics-token" secret:"true" usage:"bearer token that /metrics requires; on the main listener /metrics is served only when it is set" doc:"Bearer token /metrics requires (Authorization: Bearer …). On the main listener /metrics is served only when it is set (404 otherwise); on metrics_listen it is required when set."`
	// MetricsTokenFile names a file holding the metrics token.
	MetricsTokenFile string `yaml:"metrics_token_file" env:"SESAME_METRICS_TOKEN_FILE" flag:"metrics-token-file" usage:"path to a file holding the metrics bearer token (e.g. a mounted secret)"`
	// Tracing exports OpenTelemetry traces (OTLP over HTTP): a span per
	// request, per SQL statement and per outbound call.
	Tracing bool `yaml:"tracing" env:"SESAME_TRACING" flag:"tracing" usage:"export OpenTelemetry traces over OTLP/HTTP (see tracing-endpoint and the OTEL_ variables)" doc:"Export OpenTelemetry traces over OTLP/HTTP: a span per request (named by its route), per SQL statement and per outbound call (jwks_uri, SMTP). The standard OTEL_EXPORTER_OTLP_*, OTEL_TRACES_SAMPLER, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES variables apply."`
	// TracingEndpoint is the OTLP/HTTP traces URL; empty leaves it to
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT.
	TracingEndpoint string `yaml:"tracing_endpoint" env:"SESAME_TRACING_ENDPOINT" flag:"tracing-endpoint" usage:"OTLP/HTTP traces URL, e.g. http://otel-collector:4318/v1/traces; empty: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318)"`
	// ConfigFile is the YAML file the configuration was read from, if any.
	// It cannot be set from the file itself.
	ConfigFile string `yaml:"-" env:"SESAME_CONFIG" flag:"config" usage:"path to a YAML config file"`
}

// Default returns the built-in defaults. They are suitable for local
// development (with Dev set) but not for production, which needs at least an
// https issuer and a system secret.
func Default() Config {
	return Config{
		Issuer:                        "http://localhost:8080",
		Listen:                        ":8080",
		DataDir:                       "data",
		Migrate:                       true,
		LogLevel:                      "info",
		LogFormat:                     "json",
		DBMaxOpenConns:                20,
		DBMaxIdleConns:                0,
		DBRetryMaxDelay:               30 * time.Second,
		RequestTimeout:                10 * time.Second,
		AccessTokenTTL:                time.Hour,
		RefreshTokenTTL:               720 * time.Hour,
		RefreshTokenReuseInterval:     10 * time.Second,
		ClockSkewLeeway:               2 * time.Minute,
		DPoP:                          true,
		IDTokenTTL:                    time.Hour,
		AuthCodeTTL:                   2 * time.Minute,
		LoginSessionTTL:               336 * time.Hour,
		InteractionTTL:                10 * time.Minute,
		DeviceGrant:                   true,
		PushedAuthorizationRequests:   true,
		BackchannelLogout:             true,
		FrontchannelLogout:            true,
		PairwiseSubjects:              true,
		DeviceCodeTTL:                 10 * time.Minute,
		DevicePollInterval:            5 * time.Second,
		Registration:                  "off",
		RegistrationGrantTypes:        []string{"authorization_code", "refresh_token"},
		RegistrationRedirectSchemes:   []string{"https", "http"},
		RegistrationMaxRedirectURIs:   10,
		RegistrationRateIP:            20,
		KeyRotationPeriod:             720 * time.Hour,
		ShutdownTimeout:               15 * time.Second,
		ShutdownDrainDelay:            5 * time.Second,
		RPName:                        "Sesame",
		UserVerification:              "preferred",
		Attestation:                   "none",
		SignupOpen:                    true,
		RequireVerifiedEmail:          true,
		SMTPPort:                      587,
		SMTPTLS:                       "starttls",
		MailFrom:                      "Sesame <no-reply@localhost>",
		PasslinkTTL:                   10 * time.Minute,
		MDSRefresh:                    24 * time.Hour,
		MDSStaleGrace:                 72 * time.Hour,
		AccountDeletionGrace:          7 * 24 * time.Hour,
		PasslinkRateEmail:             5,
		PasslinkRateIP:                30,
		SignupUnknownMail:             "offer",
		PushedAuthorizationRequestTTL: time.Minute,
		// Passwords: argon2id at OWASP's minimum (authn/password.DefaultParams).
		PasswordMemory:      19 * 1024,
		PasswordIterations:  2,
		PasswordParallelism: 1,
		PasswordMinLength:   10,
		RequireSecurityKey:  true,
		// An admin session is worth more than a user's: idle ones end soon.
		ConsoleIdleTimeout: 15 * time.Minute,
		// Raw auth events for a quarter; the rollups keep the statistics.
		AuthEventRetention: 90 * 24 * time.Hour,
	}
}

// SQLitePath is where the embedded SQLite database lives when DatabaseURL is
// empty.
func (c Config) SQLitePath() string { return filepath.Join(c.DataDir, "sesame.db") }

// SecretFilePath is where a generated system secret is persisted (dev mode),
// so that restarts keep decrypting existing data.
func (c Config) SecretFilePath() string { return filepath.Join(c.DataDir, "system.secret") }

// UsesPostgres reports whether DatabaseURL selects PostgreSQL.
func (c Config) UsesPostgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// IssuerIsLocalhost reports whether the issuer's host is a loopback name,
// the only case where plain http is acceptable.
func (c Config) IssuerIsLocalhost() bool {
	u, err := url.Parse(c.Issuer)
	if err != nil {
		return false
	}
	return isLoopbackHost(u.Hostname())
}

// IssuerPortMismatch reports, for a loopback issuer, when its port is not
// the one Sesame listens on: every link and redirect built from the issuer
// would then point at nothing ("--listen :9000" alone leaves the issuer on
// 8080). A public issuer is normally behind a proxy on another port, so it
// is never reported.
func (c Config) IssuerPortMismatch() (issuerPort, listenPort string, mismatch bool) {
	u, err := url.Parse(c.Issuer)
	if err != nil || !isLoopbackHost(u.Hostname()) {
		return "", "", false
	}
	issuerPort = u.Port()
	if issuerPort == "" {
		issuerPort = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	_, listenPort, err = net.SplitHostPort(c.Listen)
	if err != nil || listenPort == "0" {
		return "", "", false
	}
	return issuerPort, listenPort, issuerPort != listenPort
}

// isLoopbackHost deliberately accepts only the three spellings clients
// actually use; other 127.0.0.0/8 addresses are rare enough that allowing
// them would only widen the http exception.
func isLoopbackHost(host string) bool {
	return strings.EqualFold(host, "localhost") || host == "127.0.0.1" || host == "::1"
}

const mask = "********"

// Masked returns a copy that is safe to print: secret values become
// "********" and database URLs keep everything but the password, so operators
// can still see which host and database are in use. Empty values stay empty
// so that "not set" remains visible.
func (c Config) Masked() Config {
	out := c
	v := reflect.ValueOf(&out).Elem()
	for _, s := range settings() {
		f := v.Field(s.index)
		if f.Kind() == reflect.Slice {
			// Don't let callers of the copy mutate the original's slices.
			f.Set(reflect.ValueOf(slices.Clone(f.Interface().([]string))))
		}
		if f.Kind() != reflect.String || f.String() == "" {
			continue
		}
		switch s.secret {
		case "true":
			f.SetString(mask)
		case "url":
			f.SetString(maskURLPassword(f.String()))
		}
	}
	return out
}

// maskURLPassword hides the userinfo password and any "password" query
// parameter (libpq accepts both). Anything it cannot parse is hidden
// entirely, because then it cannot tell where the password is.
func maskURLPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return mask
	}
	changed, hidePassword := false, false
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			// url.UserPassword would percent-encode the asterisks, so drop
			// the password here and splice the mask in after encoding.
			u.User = url.User(u.User.Username())
			changed, hidePassword = true, true
		}
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			k, _, _ := strings.Cut(p, "=")
			if key, err := url.QueryUnescape(k); err == nil && strings.EqualFold(key, "password") {
				parts[i] = k + "=" + mask
				changed = true
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	if !changed {
		// Print the original rather than a re-encoded form.
		return raw
	}
	out := u.String()
	if hidePassword {
		// The encoded username cannot contain '@', so the first '@' after
		// the scheme ends the userinfo.
		scheme, rest, _ := strings.Cut(out, "://")
		user, host, _ := strings.Cut(rest, "@")
		out = scheme + "://" + user + ":" + mask + "@" + host
	}
	return out
}

// MailConfigured reports whether an SMTP server is configured. Without one,
// dev mode logs mails; outside dev nothing can be delivered, which start-up
// should say loudly.
func (c Config) MailConfigured() bool { return c.SMTPHost != "" }

// OutboundAllowPrefixes parses OutboundAllowCIDRs (Validate reports the
// ones that do not parse; they are left out here).
func (c Config) OutboundAllowPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range c.OutboundAllowCIDRs {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

// WebAuthnRPID is the relying party id: RPID, or the issuer's host.
func (c Config) WebAuthnRPID() string {
	if c.RPID != "" {
		return c.RPID
	}
	if u, err := url.Parse(c.Issuer); err == nil {
		return u.Hostname()
	}
	return ""
}

// WebAuthnOrigins are the allowed origins: RPOrigins, or the issuer's.
func (c Config) WebAuthnOrigins() []string {
	if len(c.RPOrigins) > 0 {
		return c.RPOrigins
	}
	if u, err := url.Parse(c.Issuer); err == nil {
		return []string{u.Scheme + "://" + u.Host}
	}
	return nil
}

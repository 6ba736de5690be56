package loadgen

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"

	"github.com/descope/virtualwebauthn"
)

// Passkey is a software authenticator holding one discoverable P-256
// credential, as a platform passkey does. Not safe for concurrent use:
// one per simulated person.
type Passkey struct {
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

// NewPasskey makes an authenticator with a fresh credential (user
// verification and backup flags set, like a synced platform passkey).
func NewPasskey() (*Passkey, error) {
	der, err := p256Key()
	if err != nil {
		return nil, err
	}
	a := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true})
	c := virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, der)
	a.AddCredential(c)
	return &Passkey{auth: a, cred: c}, nil
}

// p256Key returns a PKCS#8 P-256 key whose coordinates are both 32 bytes:
// virtualwebauthn encodes them with big.Int.Bytes, and a short coordinate
// makes a COSE key that go-webauthn rightly refuses (RFC 9053 §7.1.1).
func p256Key() ([]byte, error) {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("passkey: %w", err)
		}
		//nolint:staticcheck // X and Y are what virtualwebauthn reads.
		if len(k.X.Bytes()) != 32 || len(k.Y.Bytes()) != 32 {
			continue
		}
		return x509.MarshalPKCS8PrivateKey(k)
	}
}

// create answers creation options (navigator.credentials.create).
func (p *Passkey) create(publicKey json.RawMessage, origin string) (json.RawMessage, error) {
	ao, err := virtualwebauthn.ParseAttestationOptions(string(publicKey))
	if err != nil {
		return nil, fmt.Errorf("parse creation options: %w", err)
	}
	p.auth.Options.UserHandle = []byte(ao.UserID)
	rp := virtualwebauthn.RelyingParty{ID: ao.RelyingPartyID, Name: ao.RelyingPartyName, Origin: origin}
	return json.RawMessage(virtualwebauthn.CreateAttestationResponse(rp, p.auth, p.cred, *ao)), nil
}

// get answers request options (navigator.credentials.get), advancing the
// sign counter as an authenticator does.
func (p *Passkey) get(publicKey json.RawMessage, origin string) (json.RawMessage, error) {
	ao, err := virtualwebauthn.ParseAssertionOptions(string(publicKey))
	if err != nil {
		return nil, fmt.Errorf("parse request options: %w", err)
	}
	p.cred.Counter++
	rp := virtualwebauthn.RelyingParty{ID: ao.RelyingPartyID, Origin: origin}
	return json.RawMessage(virtualwebauthn.CreateAssertionResponse(rp, p.auth, p.cred, *ao)), nil
}

// Browser is one person's browser: a cookie jar, the CSRF token of the
// last hosted page and a passkey. Not safe for concurrent use.
type Browser struct {
	issuer string
	origin string
	c      *http.Client
	csrf   string
	// pageCeremony is the discoverable sign-in the last page carried for
	// its autofill, until a sign-in takes it (as static/webauthn.js does).
	pageCeremony *ceremony
	Key          *Passkey
}

// NewBrowser returns a browser for issuer over transport rt (shared by
// many browsers: connections are pooled, cookies are not). Redirects are
// followed while they stay at the issuer.
func NewBrowser(issuer string, rt http.RoundTripper, key *Passkey) (*Browser, error) {
	iss, err := url.Parse(issuer)
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: rt, Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != iss.Host || len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return &Browser{issuer: strings.TrimRight(issuer, "/"), origin: iss.Scheme + "://" + iss.Host, c: c, Key: key}, nil
}

var (
	csrfAttr            = regexp.MustCompile(`data-csrf="([^"]*)"`)
	ceremonyAttr        = regexp.MustCompile(`data-ceremony="([^"]*)"`)
	ceremonyOptionsAttr = regexp.MustCompile(`data-ceremony-options="([^"]*)"`)
)

// page loads a hosted page (following redirects at the issuer), keeps its
// CSRF token and returns the final URL.
func (b *Browser) page(ctx context.Context, u string) (*url.URL, error) {
	if strings.HasPrefix(u, "/") {
		u = b.issuer + u
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := b.c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", resp.Request.URL.Path, resp.StatusCode)
	}
	m := csrfAttr.FindSubmatch(body)
	if m == nil {
		return nil, fmt.Errorf("GET %s: no CSRF token on the page", resp.Request.URL.Path)
	}
	b.csrf = html.UnescapeString(string(m[1]))
	b.pageCeremony = nil
	if cer, opts := ceremonyAttr.FindSubmatch(body), ceremonyOptionsAttr.FindSubmatch(body); cer != nil && opts != nil {
		b.pageCeremony = &ceremony{Ceremony: html.UnescapeString(string(cer[1])), PublicKey: json.RawMessage(html.UnescapeString(string(opts[1]))),
			interaction: resp.Request.URL.Query().Get("interaction")}
	}
	return resp.Request.URL, nil
}

// post sends v as JSON as static/webauthn.js does (same-origin fetch with
// the page's CSRF token) and decodes the answer into out.
func (b *Browser) post(ctx context.Context, path string, v, out any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.issuer+path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", b.csrf)
	req.Header.Set("Origin", b.origin)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.send(req, out)
}

type ceremony struct {
	Ceremony  string          `json:"ceremony"`
	PublicKey json.RawMessage `json:"publicKey"`
	// interaction is the page's, for a ceremony a page carried.
	interaction string
}

type verified struct {
	Redirect string `json:"redirect"`
}

// SignUp creates an account with the browser's passkey (options + verify;
// the server must not hold sign-ups for an address proof, see
// require_verified_email) and returns where the browser goes next.
func (b *Browser) SignUp(ctx context.Context, interaction, email, name string) (string, error) {
	var o ceremony
	if err := b.post(ctx, "/webauthn/register/options", map[string]string{"interaction": interaction, "email": email, "name": name}, &o); err != nil {
		return "", err
	}
	cred, err := b.Key.create(o.PublicKey, b.origin)
	if err != nil {
		return "", err
	}
	var v verified
	if err := b.post(ctx, "/webauthn/register/verify", map[string]any{"ceremony": o.Ceremony, "credential": cred}, &v); err != nil {
		return "", err
	}
	if strings.HasPrefix(v.Redirect, "/verify-email") {
		return "", errors.New("sign-up held for an address proof: start the server with require_verified_email off")
	}
	return v.Redirect, nil
}

// SignIn signs in with the browser's passkey, usernameless, and returns
// where the browser goes next. Like the page's autofill, the first
// sign-in after a page load uses the ceremony the page carries; later
// ones, and those for another interaction, ask for options first.
func (b *Browser) SignIn(ctx context.Context, interaction string) (string, error) {
	var o ceremony
	if b.pageCeremony != nil && b.pageCeremony.interaction == interaction {
		o, b.pageCeremony = *b.pageCeremony, nil
	} else if err := b.post(ctx, "/webauthn/login/options", map[string]string{"interaction": interaction}, &o); err != nil {
		return "", err
	}
	cred, err := b.Key.get(o.PublicKey, b.origin)
	if err != nil {
		return "", err
	}
	var v verified
	if err := b.post(ctx, "/webauthn/login/verify", map[string]any{"ceremony": o.Ceremony, "credential": cred}, &v); err != nil {
		return "", err
	}
	return v.Redirect, nil
}

// OpenLogin loads the sign-in page (no app): the CSRF token a sign-in
// needs.
func (b *Browser) OpenLogin(ctx context.Context) error {
	_, err := b.page(ctx, "/login")
	return err
}

// OpenSignup loads the sign-up page (no app).
func (b *Browser) OpenSignup(ctx context.Context) error {
	_, err := b.page(ctx, "/signup")
	return err
}

// Client is a confidential client (client_secret_basic) with a loopback
// redirect URI that is never contacted: the browser stops at it.
type Client struct {
	ID, Secret, RedirectURI string
	// Scope defaults to "openid profile email offline_access".
	Scope string
}

// Tokens is a token response.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	TokenType    string `json:"token_type"`
}

// CodeFlow runs the whole authorization-code flow with PKCE (RFC 7636)
// and a passkey sign-in: authorize → login page → passkey options and
// verify → resume → redirect with the code → token exchange. prompt=login
// makes every flow a real sign-in, never a silent SSO one.
func (b *Browser) CodeFlow(ctx context.Context, cl Client) (Tokens, error) {
	interaction, verifier, state, err := b.authorize(ctx, cl)
	if err != nil {
		return Tokens{}, err
	}
	next, err := b.SignIn(ctx, interaction)
	if err != nil {
		return Tokens{}, err
	}
	cb, err := b.redirectTo(ctx, next)
	if err != nil {
		return Tokens{}, err
	}
	if cb.Query().Get("state") != state || cb.Query().Get("code") == "" {
		return Tokens{}, fmt.Errorf("callback %s: no code for this state", cb.Redacted())
	}
	return b.token(ctx, cl, url.Values{
		"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"redirect_uri": {cl.RedirectURI}, "code_verifier": {verifier},
	})
}

// Authorize sends cl's authorization request as CodeFlow does and returns
// the interaction of the sign-in page it lands on, with the request's PKCE
// code verifier: a test's first step.
func (b *Browser) Authorize(ctx context.Context, cl Client) (interaction, verifier string, err error) {
	interaction, verifier, _, err = b.authorize(ctx, cl)
	return interaction, verifier, err
}

func (b *Browser) authorize(ctx context.Context, cl Client) (interaction, verifier, state string, err error) {
	q, verifier, state := authRequest(cl, "openid profile email offline_access")
	q.Set("prompt", "login")
	at, err := b.page(ctx, "/oauth2/authorize?"+q.Encode())
	if err != nil {
		return "", "", "", fmt.Errorf("authorize: %w", err)
	}
	interaction = at.Query().Get("interaction")
	if at.Path != "/login" || interaction == "" {
		return "", "", "", fmt.Errorf("authorize landed on %s, want /login with an interaction", at)
	}
	return interaction, verifier, state, nil
}

// Follow requests path at the issuer, following redirects while they stay
// there, and says where it ended: the last status, and the URL a redirect
// away from the issuer names (the client's callback) or else the last one
// requested. For tests that look at where a step leads.
func (b *Browser) Follow(ctx context.Context, path string) (int, *url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.issuer+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := b.c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "" {
		u, err := url.Parse(loc)
		return resp.StatusCode, u, err
	}
	return resp.StatusCode, resp.Request.URL, nil
}

// authRequest is an authorization request of cl with PKCE (S256), a state
// and a nonce, for the client's scope or scope; it returns the code
// verifier and the state with it.
func authRequest(cl Client, scope string) (q url.Values, verifier, state string) {
	verifier, state = randomString(32), randomString(12)
	sum := sha256.Sum256([]byte(verifier))
	if cl.Scope != "" {
		scope = cl.Scope
	}
	return url.Values{
		"response_type": {"code"}, "client_id": {cl.ID}, "redirect_uri": {cl.RedirectURI}, "scope": {scope},
		"state": {state}, "nonce": {randomString(12)},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}, verifier, state
}

// redirectTo follows path at the issuer to the redirect that leaves it.
func (b *Browser) redirectTo(ctx context.Context, path string) (*url.URL, error) {
	status, at, err := b.Follow(ctx, path)
	if err != nil {
		return nil, err
	}
	if status != http.StatusSeeOther && status != http.StatusFound {
		return nil, fmt.Errorf("GET %s: ended at %s with %d, want a redirect to the client", path, at.Path, status)
	}
	return at, nil
}

// Refresh exchanges a refresh token (RFC 6749 §6).
func (b *Browser) Refresh(ctx context.Context, cl Client, refresh string) (Tokens, error) {
	return b.token(ctx, cl, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
}

func (b *Browser) token(ctx context.Context, cl Client, form url.Values) (Tokens, error) {
	var t Tokens
	if err := b.form(ctx, "/oauth2/token", cl, form, &t); err != nil {
		return t, err
	}
	if t.AccessToken == "" {
		return t, errors.New("token response without an access token")
	}
	return t, nil
}

// Introspect asks about token (RFC 7662) and fails unless it is active.
func (b *Browser) Introspect(ctx context.Context, cl Client, token string) error {
	var r struct {
		Active bool `json:"active"`
	}
	if err := b.form(ctx, "/oauth2/introspect", cl, url.Values{"token": {token}}, &r); err != nil {
		return err
	}
	if !r.Active {
		return errors.New("introspection: token not active")
	}
	return nil
}

// form posts a form with the client's credentials (client_secret_basic,
// RFC 6749 §2.3.1) and decodes the JSON answer.
func (b *Browser) form(ctx context.Context, path string, cl Client, form url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.issuer+path, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(cl.ID), url.QueryEscape(cl.Secret))
	return b.send(req, out)
}

// send does req and decodes its 200 answer's JSON into out.
func (b *Browser) send(req *http.Request, out any) error {
	resp, err := b.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d: %.200s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	return json.Unmarshal(body, out)
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

package clustertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/mail/mailtest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// Hop is one HTTP exchange as the client saw it.
type Hop struct {
	Method, Path string
	Status       int
	// Replica is the proxy's ReplicaHeader ("" without a proxy).
	Replica string
}

// Recorder is an http.RoundTripper that remembers every exchange.
type Recorder struct {
	Base http.RoundTripper
	mu   sync.Mutex
	hops []Hop
}

// RoundTrip implements http.RoundTripper.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	base := r.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err == nil {
		r.mu.Lock()
		r.hops = append(r.hops, Hop{Method: req.Method, Path: req.URL.Path, Status: resp.StatusCode, Replica: resp.Header.Get(ReplicaHeader)})
		r.mu.Unlock()
	}
	return resp, err
}

// Hops returns the exchanges so far.
func (r *Recorder) Hops() []Hop {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Hop(nil), r.hops...)
}

// Browser is a person's browser without JavaScript: a cookie jar, the
// pages' CSRF token, redirects followed within the issuer only (the app's
// callback is read, not fetched).
type Browser struct {
	T      testing.TB
	Issuer string
	HTTP   *http.Client
	csrf   string
	pin    string
}

// NewBrowser returns a browser for issuer whose requests go through rt.
func NewBrowser(t testing.TB, issuer string, rt http.RoundTripper) *Browser {
	jar, _ := cookiejar.New(nil)
	iss, _ := url.Parse(issuer)
	return &Browser{T: t, Issuer: issuer, HTTP: &http.Client{
		Jar: jar, Transport: rt, Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != iss.Host || len(via) > 20 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}}
}

var csrfRE = regexp.MustCompile(`(?:name="csrf" value|data-csrf)="([^"]*)"`)

func (b *Browser) abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return b.Issuer + u
	}
	return u
}

func (b *Browser) do(req *http.Request) (*http.Response, string, error) {
	if b.pin != "" {
		req.Header.Set(PinHeader, b.pin)
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36")
	resp, err := b.HTTP.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindStringSubmatch(string(body)); m != nil {
		b.csrf = html.UnescapeString(m[1])
	}
	return resp, string(body), nil
}

// Get fetches u (a path is relative to the issuer).
func (b *Browser) Get(u string) (*http.Response, string, error) {
	req, err := http.NewRequest(http.MethodGet, b.abs(u), nil)
	if err != nil {
		return nil, "", err
	}
	return b.do(req)
}

// Post sends a form as Sesame's own pages do: same origin, with the last
// page's CSRF token.
func (b *Browser) Post(u string, form url.Values) (*http.Response, string, error) {
	if !form.Has("csrf") {
		form.Set("csrf", b.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, b.abs(u), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.Issuer)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// RP is a stock relying party (go-oidc + x/oauth2) whose HTTP calls go
// through HTTP.
type RP struct {
	Provider *gooidc.Provider
	OAuth    oauth2.Config
	HTTP     *http.Client
}

// NewRP discovers issuer and configures a confidential client.
func NewRP(ctx context.Context, issuer, clientID, secret, callback string, hc *http.Client) (*RP, error) {
	p, err := gooidc.NewProvider(gooidc.ClientContext(ctx, hc), issuer)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	// client_secret_basic, as registered: x/oauth2's auto-detection would
	// retry a refused request in the body and report that refusal instead.
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	return &RP{Provider: p, HTTP: hc, OAuth: oauth2.Config{
		ClientID: clientID, ClientSecret: secret, Endpoint: ep, RedirectURL: callback,
		Scopes: []string{"openid", "profile", "email", "offline_access"},
	}}, nil
}

func (rp *RP) ctx(ctx context.Context) context.Context {
	return context.WithValue(gooidc.ClientContext(ctx, rp.HTTP), oauth2.HTTPClient, rp.HTTP)
}

// SignedIn is the result of a completed sign-in.
type SignedIn struct {
	Token   *oauth2.Token
	Subject string
}

var linkRE = regexp.MustCompile(`/passlink/[A-Za-z0-9_-]{43}`)

// Flow is a sign-in under way: the app sent the browser to authorize and
// the person asked for a link.
type Flow struct {
	b                      *Browser
	rp                     *RP
	state, nonce, verifier string
	Interaction            string
}

// PasslinkSignIn runs one whole authorization code flow with PKCE in b,
// signing email in with an emailed link read from smtp, and exchanges and
// verifies the result as rp.
func PasslinkSignIn(ctx context.Context, b *Browser, rp *RP, smtp *mailtest.Server, email string) (*SignedIn, error) {
	f, err := StartPasslinkSignIn(ctx, b, rp, email, "")
	if err != nil {
		return nil, err
	}
	return f.Finish(ctx, smtp, email)
}

// StartPasslinkSignIn sends b to authorize for rp and asks for a link for
// email on the login page; pin, if not "", sends the link request to that
// replica.
func StartPasslinkSignIn(ctx context.Context, b *Browser, rp *RP, email, pin string) (*Flow, error) {
	f := &Flow{b: b, rp: rp, state: "st-" + Random(), nonce: "n-" + Random(), verifier: oauth2.GenerateVerifier()}
	authURL := rp.OAuth.AuthCodeURL(f.state, oauth2.S256ChallengeOption(f.verifier), oauth2.SetAuthURLParam("nonce", f.nonce))
	resp, body, err := b.Get(authURL)
	if err != nil {
		return nil, err
	}
	f.Interaction = resp.Request.URL.Query().Get("interaction")
	if resp.StatusCode != http.StatusOK || f.Interaction == "" {
		return nil, fmt.Errorf("authorize did not reach the login page: %d %s\n%.500s", resp.StatusCode, resp.Request.URL, body)
	}
	if _, _, err := b.Get("/passlink?interaction=" + url.QueryEscape(f.Interaction)); err != nil {
		return nil, err
	}
	b.pin = pin
	resp, body, err = b.Post("/passlink", url.Values{"email": {email}, "interaction": {f.Interaction}})
	b.pin = ""
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("link request: %d\n%.500s", resp.StatusCode, body)
	}
	return f, nil
}

// Finish waits for the link mailed to email, opens it, signs in, and
// exchanges and verifies the code as the app.
func (f *Flow) Finish(ctx context.Context, smtp *mailtest.Server, email string) (*SignedIn, error) {
	b, rp := f.b, f.rp
	m, err := WaitForMail(ctx, smtp, email, 30*time.Second)
	if err != nil {
		return nil, err
	}
	link := linkRE.FindString(m.Text)
	if link == "" {
		return nil, fmt.Errorf("no link in the mail:\n%s", m.Text)
	}
	if resp, body, err := b.Get(link); err != nil {
		return nil, err
	} else if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET link: %d\n%.500s", resp.StatusCode, body)
	}
	resp, body, err := b.Post(link, url.Values{"action": {"signin"}})
	if err != nil {
		return nil, err
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode/100 != 3 || !strings.HasPrefix(loc.String(), rp.OAuth.RedirectURL) {
		return nil, fmt.Errorf("sign-in did not end at the app: %d %q\n%.500s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	q := loc.Query()
	if q.Get("state") != f.state || q.Get("code") == "" {
		return nil, fmt.Errorf("callback %s: want state %s and a code", loc, f.state)
	}
	tok, err := rp.OAuth.Exchange(rp.ctx(ctx), q.Get("code"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		return nil, fmt.Errorf("exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.Provider.Verifier(&gooidc.Config{ClientID: rp.OAuth.ClientID}).Verify(rp.ctx(ctx), raw)
	if err != nil {
		return nil, fmt.Errorf("verify ID token: %w", err)
	}
	if idt.Nonce != f.nonce {
		return nil, fmt.Errorf("nonce %q, want %q", idt.Nonce, f.nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		return nil, fmt.Errorf("at_hash: %w", err)
	}
	return &SignedIn{Token: tok, Subject: idt.Subject}, nil
}

// Refresh uses t's refresh token once and returns the new pair.
func (rp *RP) Refresh(ctx context.Context, refreshToken string) (*oauth2.Token, error) {
	return rp.OAuth.TokenSource(rp.ctx(ctx), &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Unix(1, 0)}).Token()
}

// UserInfo asks the userinfo endpoint with tok.
func (rp *RP) UserInfo(ctx context.Context, tok *oauth2.Token) (*gooidc.UserInfo, error) {
	return rp.Provider.UserInfo(rp.ctx(ctx), oauth2.StaticTokenSource(tok))
}

// WaitForMail waits for a mail to email and returns the newest one.
func WaitForMail(ctx context.Context, smtp *mailtest.Server, email string, timeout time.Duration) (mailtest.Message, error) {
	deadline := time.Now().Add(timeout)
	for {
		msgs := smtp.Messages()
		for i := len(msgs) - 1; i >= 0; i-- {
			if len(msgs[i].To) == 1 && msgs[i].To[0] == email {
				return msgs[i], nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return mailtest.Message{}, fmt.Errorf("no mail to %s within %s", email, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// CreateUser adds a user with a verified address and a (placeholder)
// passkey, so a sign-in by link goes straight back to the app instead of
// offering to add a passkey first.
func CreateUser(ctx context.Context, st *store.Store, email string) (*models.User, error) {
	u := &models.User{ID: "u-" + Random(), Email: email, DisplayName: "Pat Example", EmailVerified: true}
	if err := st.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	now := store.Now()
	cred := &models.WebAuthnCredential{ID: "cred-" + Random(), UserID: u.ID, Kind: "passkey", Name: "Phone", PublicKey: "x", CreatedAt: now, UpdatedAt: now}
	if err := st.CreateCredential(ctx, cred); err != nil {
		return nil, err
	}
	return u, nil
}

// Random is 16 random hex digits.
func Random() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Pinner is an http.RoundTripper that sends every request to one replica
// (through the proxy's PinHeader) while Pin names one, round-robin
// otherwise.
type Pinner struct {
	Base http.RoundTripper
	mu   sync.Mutex
	pin  string
}

// Pin sends the following requests to replica name ("" for any).
func (p *Pinner) Pin(name string) {
	p.mu.Lock()
	p.pin = name
	p.mu.Unlock()
}

// RoundTrip implements http.RoundTripper.
func (p *Pinner) RoundTrip(req *http.Request) (*http.Response, error) {
	p.mu.Lock()
	pin := p.pin
	p.mu.Unlock()
	if pin != "" {
		req = req.Clone(req.Context())
		req.Header.Set(PinHeader, pin)
	}
	base := p.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

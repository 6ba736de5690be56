package websession_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

const ttl = 12 * time.Hour

var testKey = []byte("0123456789abcdef0123456789abcdef")

type fixture struct {
	st  *store.Store
	m   *websession.Manager
	ctx context.Context
}

func newFixture(t *testing.T, secure bool) *fixture {
	t.Helper()
	st := storetest.OpenSQLite(t)
	return &fixture{st: st, m: websession.New(st, websession.Config{Secure: secure, SessionTTL: ttl, CSRFKey: testKey}), ctx: context.Background()}
}

func (f *fixture) user(t *testing.T) string {
	t.Helper()
	u := &models.User{ID: uuid.NewString(), Email: uuid.NewString() + "@example.com", DisplayName: "Test"}
	if err := f.st.CreateUser(f.ctx, u); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// request builds a request carrying the given cookies.
func request(cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://localhost/account", nil)
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

// setCookies returns the cookies a response set, by name.
func setCookies(rec *httptest.ResponseRecorder) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range rec.Result().Cookies() {
		out[c.Name] = c
	}
	return out
}

// start signs a user in on a fresh request and returns the session and
// its cookie.
func (f *fixture) start(t *testing.T, r *http.Request, userID string) (*models.LoginSession, *http.Cookie) {
	t.Helper()
	rec := httptest.NewRecorder()
	st, err := f.m.Start(f.ctx, rec, r, websession.Login{UserID: userID, AMR: []string{"pop"}, ACR: "phr", AuthTime: time.Now()})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("Start set %d cookies, want 1", len(cookies))
	}
	return st.Session, cookies[0]
}

// TestCookieAttributes: every cookie is HttpOnly (no script can read a
// session, RFC 6265 §4.1.2.6) and SameSite=Lax (not sent on cross-site
// posts, RFC 6265bis §5.4.7); with Config.Secure it is Secure and carries
// the __Host- prefix (Path=/, no Domain, so a sibling subdomain can
// neither set nor read it, RFC 6265bis §4.1.3.2); plain names only for an
// http://localhost issuer.
func TestCookieAttributes(t *testing.T) {
	for _, secure := range []bool{true, false} {
		f := newFixture(t, secure)
		prefix := ""
		if secure {
			prefix = "__Host-"
		}
		uid := f.user(t)

		rec := httptest.NewRecorder()
		r := request()
		f.m.Browser(rec, r)
		st, err := f.m.Start(f.ctx, rec, r, websession.Login{UserID: uid})
		if err != nil {
			t.Fatal(err)
		}
		got := setCookies(rec)
		endRec := httptest.NewRecorder()
		if err := f.m.End(f.ctx, endRec, request(got[prefix+"sesame_session"])); err != nil {
			t.Fatal(err)
		}
		cleared := setCookies(endRec)[prefix+"sesame_session"]
		for name, c := range map[string]*http.Cookie{
			prefix + "sesame_browser":           got[prefix+"sesame_browser"],
			prefix + "sesame_session":           got[prefix+"sesame_session"],
			prefix + "sesame_session (cleared)": cleared,
		} {
			if c == nil {
				t.Fatalf("secure=%v: no cookie %s among %v", secure, name, got)
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure || c.Path != "/" || c.Domain != "" {
				t.Errorf("secure=%v: cookie %s = %+v, want HttpOnly, SameSite=Lax, Secure=%v, Path=/, no Domain", secure, name, c, secure)
			}
		}
		if len(got) != 2 {
			t.Errorf("secure=%v: cookies %v, want exactly the browser and session cookies", secure, got)
		}
		if c := got[prefix+"sesame_session"]; c.MaxAge != int(ttl/time.Second) || len(c.Value) < 43 {
			t.Errorf("session cookie MaxAge %d (want %d) value of %d characters", c.MaxAge, int(ttl/time.Second), len(c.Value))
		}
		if c := got[prefix+"sesame_browser"]; c.MaxAge != 0 || len(c.Value) < 43 {
			t.Errorf("browser cookie MaxAge %d (want a browser-session cookie) value of %d characters", c.MaxAge, len(c.Value))
		}
		if cleared.Value != "" || cleared.MaxAge >= 0 {
			t.Errorf("End did not clear the cookie: %+v", cleared)
		}
		if _, err := f.st.GetLoginSession(f.ctx, st.Session.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("End left the session live: %v", err)
		}
		// A Secure manager ignores a cookie without the prefix, and the
		// reverse: the names do not mix.
		plain := &http.Cookie{Name: "sesame_session", Value: got[prefix+"sesame_session"].Value}
		if secure {
			if _, err := f.m.Current(request(plain)); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("a Secure manager read an unprefixed cookie: %v", err)
			}
		}
		if sc := f.m.SessionCookie("s"); sc.Name != prefix+"sesame_session" || sc.Path != "/" {
			t.Errorf("SessionCookie = %+v", sc)
		}
	}
}

// TestCurrentNeedsAValidCookie: without a cookie, with garbage, with a
// value longer than any we issue (never hashed), or with a revoked or
// expired session, there is no current session.
func TestCurrentNeedsAValidCookie(t *testing.T) {
	f := newFixture(t, true)
	uid := f.user(t)
	ls, c := f.start(t, request(), uid)
	got, err := f.m.Current(request(c))
	if err != nil || got.ID != ls.ID || got.UserID != uid {
		t.Fatalf("Current = %+v, %v; want session %s", got, err, ls.ID)
	}

	expired, expiredSecret, err := websession.NewLoginSession(websession.Login{UserID: uid}, -time.Minute, "ua", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreateLoginSession(f.ctx, expired); err != nil {
		t.Fatal(err)
	}
	revoked, revokedCookie := f.start(t, request(), uid)
	if err := f.st.RevokeLoginSession(f.ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}

	name := c.Name
	for _, tc := range []struct {
		name string
		r    *http.Request
	}{
		{"no cookie", request()},
		{"empty cookie", request(&http.Cookie{Name: name, Value: ""})},
		{"garbage", request(&http.Cookie{Name: name, Value: "not-a-session"})},
		{"the hash instead of the secret", request(&http.Cookie{Name: name, Value: ls.TokenHash})},
		{"the session id", request(&http.Cookie{Name: name, Value: ls.ID})},
		{"over-long", request(&http.Cookie{Name: name, Value: c.Value + strings.Repeat("A", 200)})},
		{"huge", request(&http.Cookie{Name: name, Value: strings.Repeat("A", 3000)})},
		{"another cookie's name", request(&http.Cookie{Name: "__Host-sesame_browser", Value: c.Value})},
		{"expired session", request(&http.Cookie{Name: name, Value: expiredSecret})},
		{"revoked session", request(revokedCookie)},
	} {
		if got, err := f.m.Current(tc.r); !errors.Is(err, models.ErrNotFound) || got != nil {
			t.Errorf("%s: Current = %+v, %v; want ErrNotFound", tc.name, got, err)
		}
	}
}

// TestStartReplacesThePreviousSession: a browser holds one session; a new
// sign-in revokes the one it had (no session fixation, OWASP ASVS 4.0
// V3.2.1: a new token on authentication).
func TestStartReplacesThePreviousSession(t *testing.T) {
	f := newFixture(t, true)
	ada, bob := f.user(t), f.user(t)
	old, oldCookie := f.start(t, request(), ada)
	next, nextCookie := f.start(t, request(oldCookie), bob)
	if next.ID == old.ID || nextCookie.Value == oldCookie.Value || next.TokenHash == old.TokenHash {
		t.Fatal("the new session reuses the old one's id or secret")
	}
	if _, err := f.m.Current(request(oldCookie)); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("the replaced session is still live: %v", err)
	}
	if got, err := f.m.Current(request(nextCookie)); err != nil || got.ID != next.ID || got.UserID != bob {
		t.Fatalf("Current = %+v, %v", got, err)
	}
	if _, err := f.m.Start(f.ctx, httptest.NewRecorder(), request(), websession.Login{}); err == nil {
		t.Fatal("Start without a user succeeded")
	}
}

// TestEndRevokesAndClears: End revokes the session server-side (a copied
// cookie stops working) and clears the cookie; with no session it only
// clears.
func TestEndRevokesAndClears(t *testing.T) {
	f := newFixture(t, true)
	ls, c := f.start(t, request(), f.user(t))
	rec := httptest.NewRecorder()
	if err := f.m.End(f.ctx, rec, request(c)); err != nil {
		t.Fatal(err)
	}
	if cl := setCookies(rec)[c.Name]; cl == nil || cl.Value != "" || cl.MaxAge >= 0 {
		t.Fatalf("End did not clear the cookie: %v", rec.Result().Cookies())
	}
	if _, err := f.m.Current(request(c)); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("the ended session's cookie still works: %v", err)
	}
	if _, err := f.st.GetLoginSession(f.ctx, ls.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("the ended session is live: %v", err)
	}
	for _, r := range []*http.Request{request(), request(c), request(&http.Cookie{Name: c.Name, Value: "garbage"})} {
		rec := httptest.NewRecorder()
		if err := f.m.End(f.ctx, rec, r); err != nil {
			t.Fatalf("End without a live session: %v", err)
		}
		if cl := setCookies(rec)[c.Name]; cl == nil || cl.MaxAge >= 0 {
			t.Fatal("End without a live session did not clear the cookie")
		}
	}
}

// TestStoredTokenHashIsSHA256OfTheCookie: the database holds SHA-256 of
// the session secret, never the secret: a leaked table does not sign
// anyone in.
func TestStoredTokenHashIsSHA256OfTheCookie(t *testing.T) {
	f := newFixture(t, true)
	ls, c := f.start(t, request(), f.user(t))
	sum := sha256.Sum256([]byte(c.Value))
	if ls.TokenHash != hex.EncodeToString(sum[:]) || websession.Hash(c.Value) != ls.TokenHash {
		t.Fatalf("token hash %q is not SHA-256 of the cookie", ls.TokenHash)
	}
	db, err := f.st.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := db.QueryRowContext(f.ctx, "SELECT token_hash FROM login_sessions WHERE id = ?", ls.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != hex.EncodeToString(sum[:]) {
		t.Fatalf("stored token hash %q, want SHA-256 of the cookie", stored)
	}
	var n int
	if err := db.QueryRowContext(f.ctx, "SELECT count(*) FROM login_sessions WHERE id = ? OR token_hash = ? OR user_agent = ? OR ip = ?",
		c.Value, c.Value, c.Value, c.Value).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 || ls.ID == c.Value {
		t.Fatal("the session secret is stored in the clear")
	}

	// The helper tests use builds the same row.
	row, secret, err := websession.NewLoginSession(websession.Login{UserID: "u"}, time.Hour, strings.Repeat("u", 2000), "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if row.TokenHash != websession.Hash(secret) || row.TokenHash == secret || len(row.UserAgent) > 512 {
		t.Fatalf("NewLoginSession: hash %q, user agent of %d bytes", row.TokenHash, len(row.UserAgent))
	}
	if !row.ExpiresAt.After(time.Now()) || row.ExpiresAt.After(time.Now().Add(time.Hour+time.Second)) {
		t.Fatalf("NewLoginSession expiry %v, want in an hour", row.ExpiresAt)
	}
}

// TestBrowserBinding: the first request gets a binding cookie; later ones
// keep it and get the same hash, which is SHA-256 of the cookie (the
// cookie itself is never stored). SameBrowser tells this browser from
// another, in constant time.
func TestBrowserBinding(t *testing.T) {
	f := newFixture(t, true)
	rec := httptest.NewRecorder()
	r := request()
	h := f.m.Browser(rec, r)
	if again := f.m.Browser(rec, r); again != h {
		t.Fatal("two calls in one request gave two bindings")
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "__Host-sesame_browser" {
		t.Fatalf("Browser set %v, want one __Host-sesame_browser cookie", cookies)
	}
	c := cookies[0]
	if h != websession.Hash(c.Value) || h == c.Value {
		t.Fatalf("binding hash %q is not the hash of the cookie", h)
	}
	rec2 := httptest.NewRecorder()
	if got := f.m.Browser(rec2, request(c)); got != h {
		t.Fatal("the binding changed between requests")
	}
	if len(rec2.Result().Cookies()) != 0 {
		t.Fatal("Browser set a new cookie although the browser had one")
	}

	other := httptest.NewRecorder()
	otherHash := f.m.Browser(other, request())
	if otherHash == h {
		t.Fatal("two browsers share a binding")
	}
	if !f.m.SameBrowser(request(c), h) {
		t.Fatal("SameBrowser is false for the same browser")
	}
	for name, tc := range map[string]struct {
		r    *http.Request
		want string
	}{
		"another browser":     {request(other.Result().Cookies()[0]), h},
		"no cookie":           {request(), h},
		"empty want":          {request(c), ""},
		"cookie for the hash": {request(&http.Cookie{Name: c.Name, Value: h}), h},
		"over-long cookie":    {request(&http.Cookie{Name: c.Name, Value: strings.Repeat("b", 129)}), websession.Hash(strings.Repeat("b", 129))},
	} {
		if f.m.SameBrowser(tc.r, tc.want) {
			t.Errorf("%s: SameBrowser is true", name)
		}
	}
}

// TestBrowserReplacesAnUnusableCookie: a binding cookie we could not have
// issued (over-long) is replaced, and within that same request every
// reader sees the new value: the CSRF token on the page is the one the
// next request will carry.
func TestBrowserReplacesAnUnusableCookie(t *testing.T) {
	f := newFixture(t, true)
	bad := &http.Cookie{Name: "__Host-sesame_browser", Value: strings.Repeat("x", 200)}
	rec := httptest.NewRecorder()
	r := request(bad)
	token := f.m.CSRFToken(rec, r)
	h := f.m.Browser(rec, r)
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("set %d cookies, want one new binding", len(cookies))
	}
	next := request(cookies[0])
	if !f.m.CheckCSRF(next, token) {
		t.Fatal("the token on a page that replaced a bad binding cookie does not verify on the next request")
	}
	if !f.m.SameBrowser(next, h) {
		t.Fatal("the binding returned while replacing a bad cookie is not the new cookie's")
	}
}

// TestCSRFToken: the form token is bound to this browser (an HMAC of its
// binding secret under a server key): a wrong token, an empty one, one of
// another browser, one under another key, or one without the binding
// cookie fails (OWASP CSRF cheat sheet, synchronizer token).
func TestCSRFToken(t *testing.T) {
	f := newFixture(t, false)
	rec := httptest.NewRecorder()
	token := f.m.CSRFToken(rec, request())
	c := rec.Result().Cookies()[0]
	if c.Name != "sesame_browser" {
		t.Fatalf("CSRFToken set %s, want the binding cookie", c.Name)
	}
	if !f.m.CheckCSRF(request(c), token) {
		t.Fatal("the browser's own token does not verify")
	}
	if again := f.m.CSRFToken(httptest.NewRecorder(), request(c)); again != token {
		t.Fatal("the token changed between pages of one browser")
	}
	if token == c.Value || token == websession.Hash(c.Value) || strings.Contains(token, c.Value) {
		t.Fatal("the token reveals the binding secret")
	}

	otherRec := httptest.NewRecorder()
	otherToken := f.m.CSRFToken(otherRec, request())
	otherKey := websession.New(f.st, websession.Config{CSRFKey: []byte("another key, another deployment")})
	keyToken := otherKey.CSRFToken(httptest.NewRecorder(), request(c))
	for name, tc := range map[string]struct {
		r     *http.Request
		token string
	}{
		"empty":                   {request(c), ""},
		"wrong":                   {request(c), "A" + token[1:] + "x"},
		"truncated":               {request(c), token[:len(token)-1]},
		"another browser's":       {request(c), otherToken},
		"under another key":       {request(c), keyToken},
		"the binding cookie":      {request(c), c.Value},
		"no binding cookie":       {request(), token},
		"another binding cookie":  {request(otherRec.Result().Cookies()[0]), token},
		"token for empty binding": {request(&http.Cookie{Name: c.Name, Value: ""}), f.m.CSRFToken(httptest.NewRecorder(), request(&http.Cookie{Name: c.Name, Value: strings.Repeat("z", 500)}))},
	} {
		if f.m.CheckCSRF(tc.r, tc.token) {
			t.Errorf("%s token verified", name)
		}
	}
}

// TestRandomToken: session secrets carry 256 bits and never repeat.
func TestRandomToken(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok := websession.RandomToken(32)
		if len(tok) != 43 || seen[tok] {
			t.Fatalf("RandomToken(32) = %q (len %d, repeat %v)", tok, len(tok), seen[tok])
		}
		seen[tok] = true
	}
}

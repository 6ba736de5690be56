package webapp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestSealedCookies: a session cookie opens only under its own name and
// key, unaltered and before its expiry.
func TestSealedCookies(t *testing.T) {
	s, err := newSealer([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := newSealer([]byte(strings.Repeat("x", 32)))
	in := Session{Subject: "u1", AccessToken: "at"}
	v, err := s.seal("sess", in, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var out Session
	if err := s.open("sess", v, &out); err != nil || out.Subject != "u1" || out.AccessToken != "at" {
		t.Fatalf("open = %+v, %v", out, err)
	}
	flipped := []byte(v)
	flipped[len(flipped)/2] ^= 1
	expired, _ := s.seal("sess", in, time.Now().Add(-time.Second))
	for name, tc := range map[string]struct {
		s           *sealer
		name, value string
	}{
		"another cookie's name": {s, "sess_login", v},
		"another key":           {other, "sess", v},
		"one bit flipped":       {s, "sess", string(flipped)},
		"expired":               {s, "sess", expired},
		"truncated":             {s, "sess", v[:10]},
		"not base64":            {s, "sess", "%%%"},
	} {
		if err := tc.s.open(tc.name, tc.value, &out); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	if _, err := newSealer([]byte("short")); err == nil {
		t.Fatal("a 5-byte secret was accepted")
	}
}

// TestChunkedCookies: a long value is split under the browser's cookie
// size limit and read back; a shorter value expires the chunks left over.
func TestChunkedCookies(t *testing.T) {
	base := http.Cookie{Name: "s", Path: "/", HttpOnly: true}
	long := strings.Repeat("a", chunkSize*2+10)
	rec := httptest.NewRecorder()
	if err := writeChunked(rec, httptest.NewRequest("GET", "/", nil), base, long); err != nil {
		t.Fatal(err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 3 {
		t.Fatalf("%d cookies, want 3", len(cookies))
	}
	req := httptest.NewRequest("GET", "/", nil)
	for _, c := range cookies {
		if len(c.String()) > 4000 {
			t.Fatalf("cookie %s is %d bytes", c.Name, len(c.String()))
		}
		req.AddCookie(c)
	}
	if got := readChunked(req, "s"); got != long {
		t.Fatalf("read back %d bytes, want %d", len(got), len(long))
	}
	rec = httptest.NewRecorder()
	if err := writeChunked(rec, req, base, "short"); err != nil {
		t.Fatal(err)
	}
	set := map[string]int{}
	for _, c := range rec.Result().Cookies() {
		set[c.Name] = c.MaxAge
	}
	if set["s"] != 0 || set["s.1"] != -1 || set["s.2"] != -1 {
		t.Fatalf("after a shorter value: %v", set)
	}
	if err := writeChunked(httptest.NewRecorder(), req, base, strings.Repeat("a", chunkSize*maxChunks+1)); err == nil {
		t.Fatal("an oversized session was written")
	}
}

// TestLocalPath: the return path after sign-in stays on this site.
func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/orders?id=1": "/orders?id=1", "": "/", "//evil.example/x": "/", "https://evil.example": "/",
		"/\\evil.example": "/", "orders": "/", "/a\r\nSet-Cookie: x": "/", "/%2F%2Fevil": "/%2F%2Fevil",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSameOrigin: logout accepts same-origin browser requests only.
func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		site, origin string
		want         bool
	}{
		{"same-origin", "", true}, {"cross-site", "", false}, {"same-site", "", false},
		{"", "http://localhost:3000", true}, {"", "http://evil.example", false}, {"", "", true},
	} {
		r := httptest.NewRequest("POST", "/logout", nil)
		if tc.site != "" {
			r.Header.Set("Sec-Fetch-Site", tc.site)
		}
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if got := sameOrigin(r, "http://localhost:3000/callback"); got != tc.want {
			t.Errorf("site %q origin %q: %v", tc.site, tc.origin, got)
		}
	}
}

package upstream_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/authn/upstream"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// routeTo sends requests for host to a stand-in (a fakeOP on loopback)
// through the guarded client's transport.
type routeTo struct {
	host string
	to   *url.URL
	next http.RoundTripper
}

func (r routeTo) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == r.host {
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host, req.Host = r.to.Scheme, r.to.Host, r.to.Host
	}
	return r.next.RoundTrip(req)
}

// TestAppleNameFromTheFormPost: Apple names the person only in the
// form_post's user field of the first authorization, never in the ID
// token. NoteUser keeps the name on the flow the state names, and Finish
// gives it as the identity's name: cleaned to one line of at most 100
// characters, first note wins, never after the callback, never for
// another provider's flow, and the field's address is never used (the
// address is the verified ID token's). Apple's discovery, JWKS and token
// endpoint are a stand-in on loopback reached as https://appleid.apple.com.
// On both dialects.
func TestAppleNameFromTheFormPost(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		apple := newFakeOPAs(t, "https://appleid.apple.com")
		to, _ := url.Parse(apple.URL)
		client := loopbackClient()
		client.Transport = routeTo{host: "appleid.apple.com", to: to, next: client.Transport}
		svc, err := upstream.New(st, upstream.Config{RedirectURL: "http://localhost/login/upstream/callback", Key: make([]byte, 32), HTTPClient: client})
		if err != nil {
			t.Fatal(err)
		}
		other := newFakeOP(t)
		for _, sp := range []upstream.Spec{{Preset: "apple", ClientID: "sesame", ClientSecret: "op-secret"},
			{ID: "other", Name: "Other", Issuer: other.URL, ClientID: "sesame", ClientSecret: "op-secret"}} {
			if err := sp.ApplyPreset(); err != nil {
				t.Fatal(err)
			}
			sp.Normalize()
			if errs := sp.Validate(true); len(errs) > 0 {
				t.Fatalf("spec: %+v", errs)
			}
			if err := st.CreateUpstreamProvider(ctx, sp.Provider(svc.Box(), "")); err != nil {
				t.Fatal(err)
			}
		}
		jane := `{"name":{"firstName":"Jane","lastName":"Appleseed"},"email":"someone-else@example.com"}`
		note := func(users ...string) func(string) {
			return func(state string) {
				for _, u := range users {
					if err := svc.NoteUser(ctx, state, u); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		long := strings.Repeat("Ü", 150)
		for _, tc := range []struct {
			name     string
			op       *fakeOP
			provider string
			between  func(string)
			after    string // a user field posted after the callback
			want     string
		}{
			{name: "first authorization", op: apple, provider: "apple", between: note(jane), want: "Jane Appleseed"},
			{name: "later authorizations", op: apple, provider: "apple"},
			{name: "first note wins", op: apple, provider: "apple", between: note(jane, `{"name":{"firstName":"Mallory"}}`), want: "Jane Appleseed"},
			{name: "one line, at most 100 characters", op: apple, provider: "apple",
				between: note(`{"name":{"firstName":"Jane\n\u0000Q.","lastName":"` + long + `"}}`), want: "Jane Q. " + long[:len("Ü")*92]},
			{name: "not JSON", op: apple, provider: "apple", between: note(`name=Jane`)},
			{name: "no name in it", op: apple, provider: "apple", between: note(`{"email":"jane@example.com"}`)},
			{name: "over 4 KiB", op: apple, provider: "apple", between: note(`{"name":{"firstName":"` + strings.Repeat("a", 5000) + `"}}`)},
			{name: "after the callback", op: apple, provider: "apple", after: jane},
			{name: "another provider's flow", op: other, provider: "other", between: note(jane)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cb := tc.op.approve(t, svc, tc.provider, map[string]any{"name": nil, "email": "jane@privaterelay.appleid.com"}, false, tc.between)
				res, err := svc.Finish(ctx, cb, "browser")
				if err != nil {
					t.Fatal(err)
				}
				if tc.after != "" {
					if err := svc.NoteUser(ctx, cb.State, tc.after); err != nil {
						t.Fatal(err)
					}
					f, err := st.GetUpstreamFlow(ctx, res.Flow.ID)
					if err != nil || f.Name != "" {
						t.Fatalf("a used flow took a name: %+v %v", f, err)
					}
				}
				id := res.Identity
				if id.Name != tc.want || id.NameFromForm != (tc.want != "") || id.Email != "jane@privaterelay.appleid.com" || !id.EmailVerified {
					t.Fatalf("identity %+v, want name %q from the form and the token's verified address", id, tc.want)
				}
			})
		}
		// A flow of a provider without the user field is not written.
		db, err := st.SQLDB()
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM upstream_flows WHERE provider_id = 'other' AND name <> ''").Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d flows of another provider took a name (%v)", n, err)
		}
	})
}

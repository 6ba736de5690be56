package authn_test

import (
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"slices"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

var (
	pageCeremonyAttr = regexp.MustCompile(`data-ceremony="([^"]*)"`)
	pageOptionsAttr  = regexp.MustCompile(`data-ceremony-options="([^"]*)"`)
)

// pageCeremony is the autofill ceremony a login page carries, if any.
func pageCeremony(body string) (ceremonyOptions, bool) {
	c, o := pageCeremonyAttr.FindStringSubmatch(body), pageOptionsAttr.FindStringSubmatch(body)
	if c == nil || o == nil {
		return ceremonyOptions{}, false
	}
	return ceremonyOptions{Ceremony: html.UnescapeString(c[1]), PublicKey: json.RawMessage(html.UnescapeString(o[1]))}, true
}

// TestLoginPageCarriesItsAutofillCeremony: the login page carries the
// discoverable ceremony its autofill starts with (static/webauthn.js), so
// a passkey chosen from the suggestions signs in without an options
// request. Loading the page writes nothing; each load has its own
// challenge; the ceremony is bound to the browser and the interaction,
// and single use like one the options request answers. A page that offers
// no passkey carries none.
func TestLoginPageCarriesItsAutofillCeremony(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		f := newFixture(t, opts...)
		a := f.rp.start(oauth2.SetAuthURLParam("prompt", "login"))
		owner := newBrowser(t, f.env)
		ia := owner.openAuthorization(a)

		before := snapshot(t, f.env)
		ceremonies := countRows(t, f.env, "webauthn_ceremonies")
		_, body := owner.page("/login?interaction=" + ia)
		o, ok := pageCeremony(body)
		if !ok {
			t.Fatal("the login page carries no autofill ceremony")
		}
		if after := snapshot(t, f.env); after != before || countRows(t, f.env, "webauthn_ceremonies") != ceremonies {
			t.Fatalf("loading the login page wrote:\n%s\n%s", before, after)
		}
		var pk struct {
			Challenge        string            `json:"challenge"`
			RPID             string            `json:"rpId"`
			AllowCredentials []json.RawMessage `json:"allowCredentials"`
		}
		if err := json.Unmarshal(o.PublicKey, &pk); err != nil || pk.Challenge == "" || pk.RPID == "" || len(pk.AllowCredentials) != 0 {
			t.Fatalf("page's options %s (%v): want a discoverable request with a challenge", o.PublicKey, err)
		}
		_, again := owner.page("/login?interaction=" + ia)
		if o2, ok := pageCeremony(again); !ok || o2.Ceremony == o.Ceremony {
			t.Fatal("a second load of the page carries the same ceremony (or none)")
		}

		// Another browser cannot finish it.
		thief, _ := f.loginPage(t)
		cred := f.ada.get(t, o.PublicKey, f.env.Issuer)
		wantAPIError(t, thief.post("/webauthn/login/verify", verifyBody(o.Ceremony, cred)), http.StatusForbidden, "wrong_browser")

		// The page's next ceremony signs its browser in, into the
		// authorization, once.
		_, body = owner.page("/login?interaction=" + ia)
		o, _ = pageCeremony(body)
		cred = f.ada.get(t, o.PublicKey, f.env.Issuer)
		claims := a.finish(t, owner.follow(redirectOf(t, owner.post("/webauthn/login/verify", verifyBody(o.Ceremony, cred)))))
		if claims.Sub != f.adaID || !slices.Contains(claims.AMR, "hwk") && !slices.Contains(claims.AMR, "swk") {
			t.Fatalf("claims %+v, want Ada signed in with a passkey", claims)
		}
		wantAPIError(t, owner.post("/webauthn/login/verify", verifyBody(o.Ceremony, f.ada.get(t, o.PublicKey, f.env.Issuer))),
			http.StatusConflict, "ceremony_used")

		// Without an app (the account pages), the same.
		b := newBrowser(t, f.env)
		_, body = b.page("/login")
		o, ok = pageCeremony(body)
		if !ok {
			t.Fatal("the login page without an app carries no autofill ceremony")
		}
		if r := redirectOf(t, b.post("/webauthn/login/verify", verifyBody(o.Ceremony, f.ada.get(t, o.PublicKey, f.env.Issuer)))); r != "/account" {
			t.Fatalf("sign-in without an app went to %q, want /account", r)
		}

		// An app that takes no passkey gets a page without one.
		links := newRelyingParty(t, f.env, clients.Spec{Name: "Links Only", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none",
			AllowedLoginMethods: []string{models.MethodPasslink}})
		b = newBrowser(t, f.env)
		_, body = b.page(links.start().url)
		if _, ok := pageCeremony(body); ok {
			t.Fatal("the login page of an app without passkeys carries a passkey ceremony")
		}

		// An app whose passkey rules the service refuses still gets its
		// page, without a ceremony; the options request answers why.
		broken := newRelyingParty(t, f.env, clients.Spec{Name: "Broken", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
		sqlDB, err := f.env.Store.SQLDB()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sqlDB.Exec(`UPDATE clients SET user_verification = 'bogus' WHERE id = $1`, broken.clientID); err != nil {
			t.Fatal(err)
		}
		b = newBrowser(t, f.env)
		ia = b.openAuthorization(broken.start())
		_, body = b.page("/login?interaction=" + ia)
		if _, ok := pageCeremony(body); ok {
			t.Fatal("the login page carries a ceremony the service could not begin")
		}
		if res := b.post("/webauthn/login/options", map[string]string{"interaction": ia}); res.status < 400 || res.status >= 500 {
			t.Fatalf("options for the broken app: %s, want a 4xx", res)
		}
	})
}

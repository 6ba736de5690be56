package authn_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/internal/branding"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestBrandedLocalizedMailOverSMTP: with the operator's branding saved
// (product name, primary colour, logo), a sign-in link asked for on a
// German page arrives through a real SMTP server in German, headed by the
// logo carried inline (a part with the Content-ID its cid: URL names, so
// clients that block remote images show it; the product name as its alt
// text), with the button and link in
// the brand colour, readable text on it, the asking device in German and
// the product name signing it off; on SQLite and PostgreSQL.
func TestBrandedLocalizedMailOverSMTP(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := newPLEnv(t, opts...)
		logo := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
		doc := branding.Document{Settings: branding.Settings{ProductName: "Acme ID", PrimaryColor: "#0f766e"},
			Logo: &branding.Logo{Type: "image/png", Data: logo}}
		if err := branding.NewLive(env.Store, nil).Save(context.Background(), doc, "test"); err != nil {
			t.Fatal(err)
		}
		u := env.CreateUser("lena@example.test")
		b := env.client(t)
		b.acceptLanguage = "de-DE,de;q=0.9"
		if resp, page := b.requestLink("", u.Email); resp.StatusCode != http.StatusOK {
			t.Fatalf("request: %d\n%s", resp.StatusCode, page)
		}
		m, _ := env.mailTo(t, 1, u.Email)
		iss, _ := url.Parse(env.Issuer)
		cid := branding.NewBrand(doc).LogoContentID(iss.Hostname())
		for _, want := range []string{
			`<html lang="de">`,
			`<img src="cid:` + cid + `" alt="Acme ID"`,
			"background:#0f766e;color:#ffffff",
			"color:#0f766e;word-break:break-all",
			"Chrome unter macOS",
			">Acme ID</p>",
		} {
			if !strings.Contains(m.HTML, want) {
				t.Errorf("HTML lacks %q\n%s", want, m.HTML)
			}
		}
		if strings.Contains(m.HTML, "#2754c5") {
			t.Errorf("Sesame's blue left in a branded mail")
		}
		if !strings.HasPrefix(m.Subject, "Bei ") || !strings.Contains(m.Text, "Chrome unter macOS") || !strings.HasSuffix(strings.TrimSpace(m.Text), "Acme ID") {
			t.Errorf("text mail: %q\n%s", m.Subject, m.Text)
		}
		if strings.Contains(m.HTML, "/branding/logo") {
			t.Errorf("the mail still fetches the logo from the server")
		}
		// The logo travels in the mail, under the Content-ID the HTML names.
		if len(m.Inline) != 1 {
			t.Fatalf("inline parts: %d, want the logo", len(m.Inline))
		}
		if in := m.Inline[0]; in.ContentID != "<"+cid+">" || in.Type != "image/png" || in.Disposition != "inline" || !bytes.Equal(in.Data, logo) {
			t.Errorf("inline logo: %q %q %q, %d bytes", in.ContentID, in.Type, in.Disposition, len(in.Data))
		}
		if !slices.Contains(m.Types, "multipart/related") || !slices.Contains(m.Types, "text/plain") {
			t.Errorf("parts %v: want the HTML and its logo related, with the text alternative", m.Types)
		}
	})
}

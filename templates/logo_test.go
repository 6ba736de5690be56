package templates

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAppLogoInHeader: the hosted pages' header shows the client's logo
// when it is an https URL or inline SVG, and the name's initial otherwise
// (also for anything else that reached the page, e.g. javascript:).
func TestAppLogoInHeader(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		logo, want string
	}{
		{"https://acme.example/logo.png", `<img class="logo" src="https://acme.example/logo.png"`},
		{"data:image/svg+xml;base64,PHN2Zy8+", `<img class="logo" src="data:image/svg&#43;xml;base64,PHN2Zy8&#43;"`},
		{"", `<div class="logo" aria-hidden="true">A</div>`},
		{"javascript:alert(1)", `<div class="logo" aria-hidden="true">A</div>`},
		{"data:text/html,x", `<div class="logo" aria-hidden="true">A</div>`},
	} {
		w := httptest.NewRecorder()
		if err := r.Render(w, 200, "error", Page{Title: "t", AppName: "Acme", AppLogo: tc.logo, Data: map[string]string{}}); err != nil {
			t.Fatalf("%q: %v", tc.logo, err)
		}
		if body := w.Body.String(); !strings.Contains(body, tc.want) {
			t.Errorf("logo %q: header lacks %s in %s", tc.logo, tc.want, body)
		}
	}
}

package branding

import (
	"strings"
	"testing"
)

// TestContrast: WCAG 2.x ratios for known pairs.
func TestContrast(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"#000000", "#ffffff", 21},
		{"#ffffff", "#ffffff", 1},
		{"#2754c5", "#ffffff", 6.64},
		{"#777777", "#ffffff", 4.48},
	} {
		a, _ := ParseColor(tc.a)
		b, _ := ParseColor(tc.b)
		if got := Contrast(a, b); got < tc.want-0.01 || got > tc.want+0.01 {
			t.Errorf("Contrast(%s, %s) = %.3f, want %.2f", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestTextOnAlwaysReadable: the text colour chosen for any background
// reaches 4.5:1 (WCAG 1.4.3), so a brand colour never makes its button
// label unreadable.
func TestTextOnAlwaysReadable(t *testing.T) {
	for r := 0; r < 256; r += 15 {
		for g := 0; g < 256; g += 15 {
			for b := 0; b < 256; b += 15 {
				c := RGB{uint8(r), uint8(g), uint8(b)}
				if got := Contrast(c, TextOn(c)); got < 4.5 {
					t.Fatalf("text on %s: %.2f:1", c.Hex(), got)
				}
			}
		}
	}
}

// TestValidate: every field's refusal, all reported at once.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     Settings
		fields []string
	}{
		{"empty is Sesame's", Settings{}, nil},
		{"good", Settings{ProductName: "Acme", PrimaryColor: "#0f766e", AccentColor: "#9333EA", SupportURL: "mailto:help@acme.example", PrivacyURL: "https://acme.example/p"}, nil},
		{"short hex", Settings{PrimaryColor: "#036"}, nil},
		{"not a colour", Settings{PrimaryColor: "blue", AccentColor: "#12345g"}, []string{"primary_color", "accent_color"}},
		{"low contrast", Settings{PrimaryColor: "#8ab4f8", AccentColor: "#ffeb3b"}, []string{"primary_color", "accent_color"}},
		{"urls", Settings{SupportURL: "http://help.example", PrivacyURL: "javascript:alert(1)"}, []string{"support_url", "privacy_url"}},
		{"userinfo", Settings{SupportURL: "https://a:b@help.example"}, []string{"support_url"}},
		{"name", Settings{ProductName: "a\x00b"}, []string{"product_name"}},
		{"css size", Settings{CustomCSS: strings.Repeat("x", MaxCSSBytes+1)}, []string{"custom_css"}},
		{"css import", Settings{CustomCSS: "@IMPORT 'x.css';"}, []string{"custom_css"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, i := range tc.in.Normalize().Validate() {
				got = append(got, i.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("fields %v, want %v", got, tc.fields)
			}
		})
	}
}

// TestCheckLogo: the type is sniffed; SVGs that could run script, load
// anything or expand entities are refused.
func TestCheckLogo(t *testing.T) {
	const ns = `xmlns="http://www.w3.org/2000/svg"`
	for _, tc := range []struct {
		name, data, typ string
	}{
		{"png", "\x89PNG\r\n\x1a\n....", "image/png"},
		{"jpeg", "\xff\xd8\xff\xe0....", "image/jpeg"},
		{"gif", "GIF89a....", "image/gif"},
		{"webp", "RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"},
		{"svg", `<?xml version="1.0"?><svg ` + ns + `><rect width="1" height="1" fill="#000"/><use href="#a"/></svg>`, "image/svg+xml"},
		{"svg raster data", `<svg ` + ns + `><image href="data:image/png;base64,iVBOR"/></svg>`, "image/svg+xml"},
		{"script", `<svg ` + ns + `><script>alert(1)</script></svg>`, ""},
		{"Script case", `<svg ` + ns + `><SCRIPT>alert(1)</SCRIPT></svg>`, ""},
		{"onload", `<svg ` + ns + ` onload="alert(1)"/>`, ""},
		{"foreignObject", `<svg ` + ns + `><foreignObject><p>x</p></foreignObject></svg>`, ""},
		{"javascript href", `<svg ` + ns + `><a href="javascript:alert(1)"><rect/></a></svg>`, ""},
		{"svg data href", `<svg ` + ns + `><image href="data:image/svg+xml,&lt;svg/&gt;"/></svg>`, ""},
		{"set", `<svg ` + ns + `><a><set attributeName="href" to="javascript:alert(1)"/></a></svg>`, ""},
		{"style url", `<svg ` + ns + `><style>rect{fill:url(https://x.example/a)}</style></svg>`, ""},
		{"entity", `<!DOCTYPE svg [<!ENTITY a "b">]><svg ` + ns + `>&a;</svg>`, ""},
		{"html", `<html><body>hi</body></html>`, ""},
		{"not xml", `hello`, ""},
		{"empty", ``, ""},
		{"too large", "\x89PNG\r\n\x1a\n" + strings.Repeat("x", MaxLogoBytes), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ, err := CheckLogo([]byte(tc.data))
			if typ != tc.typ || (tc.typ == "") != (err != nil) {
				t.Errorf("CheckLogo = %q, %v; want %q", typ, err, tc.typ)
			}
		})
	}
}

// TestThemeDarkVariant: a dark primary colour stays as it is on light
// pages and is lightened for dark ones until it reads (4.5:1).
func TestThemeDarkVariant(t *testing.T) {
	css, ok := Theme("1e3a8a", "")
	if !ok || !strings.Contains(css, "--accent: #1e3a8a") || !strings.Contains(css, "--accent-text: #ffffff") {
		t.Fatalf("theme:\n%s", css)
	}
	_, dark, _ := strings.Cut(css, "prefers-color-scheme: dark")
	i := strings.Index(dark, "--accent: #")
	d, err := ParseColor(dark[i+len("--accent: ") : i+len("--accent: ")+7])
	if err != nil || Contrast(d, darkCard) < 4.5 || Contrast(d, darkBg) < 4.5 {
		t.Errorf("dark accent %s: %.2f:1 on the dark card", d.Hex(), Contrast(d, darkCard))
	}
	if _, ok := Theme("ffeb3b", ""); ok {
		t.Error("Theme served an unreadable primary colour")
	}
	if _, ok := Theme("", "zz"); ok {
		t.Error("Theme served a malformed accent")
	}
}

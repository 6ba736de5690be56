package templates

import "net/http"

// --- Branding ---

// BrandingForm is the branding settings form.
type BrandingForm struct {
	ProductName, PrimaryColor, AccentColor string
	SupportURL, PrivacyURL, CustomCSS      string
	CSRF                                   string
	Errors                                 map[string]string // field → message
	Problem                                string
}

// ConsoleBrandingView is the data of the branding page: the settings
// form, the current logo and what the dark scheme changes.
type ConsoleBrandingView struct {
	Form BrandingForm
	// LogoURL is the current logo ("" for none), LogoInfo its type and size.
	LogoURL, LogoInfo string
	LogoError         string
	Warnings          []string
	// MaxLogoKiB and MaxCSSKiB are the upload limits.
	MaxLogoKiB, MaxCSSKiB int
}

// ConsoleBranding renders the branding page.
func (r *Renderer) ConsoleBranding(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleBrandingView) error {
	v.Form.CSRF = s.CSRF
	return r.console(w, status, "console_branding", p, s, v)
}

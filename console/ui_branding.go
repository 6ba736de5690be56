package console

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/branding"
	"github.com/sesame-idp/sesame/templates"
)

// The branding page: settings, logo upload and removal.

func (u *UI) mountBranding(r gin.IRouter) {
	r.GET("/console/branding", u.handle(u.brandingShow))
	r.POST("/console/branding", u.handle(u.brandingSave))
	r.POST("/console/branding/logo", u.handle(u.brandingLogo))
	r.POST("/console/branding/logo/remove", u.handle(u.brandingLogoRemove))
}

func brandingPage(v BrandingView) templates.ConsoleBrandingView {
	out := templates.ConsoleBrandingView{
		Form: templates.BrandingForm{ProductName: v.ProductName, PrimaryColor: v.PrimaryColor, AccentColor: v.AccentColor,
			SupportURL: v.SupportURL, PrivacyURL: v.PrivacyURL, CustomCSS: v.CustomCSS},
		Warnings: v.Warnings, MaxLogoKiB: branding.MaxLogoBytes >> 10, MaxCSSKiB: branding.MaxCSSBytes >> 10,
	}
	if v.Logo != nil {
		out.LogoURL = v.Logo.URL
		out.LogoInfo = fmt.Sprintf("%s, %.1f KiB", v.Logo.Type, float64(v.Logo.Size)/1024)
	}
	return out
}

func (u *UI) brandingShow(c *gin.Context) error {
	v, err := u.c.Branding.Get(c.Request.Context())
	if err != nil {
		return err
	}
	return u.pages.ConsoleBranding(c.Writer, http.StatusOK, u.page(c, "console.nav.branding"), u.shell(c, "branding"), brandingPage(v))
}

func (u *UI) brandingSave(c *gin.Context) error {
	in := branding.Settings{
		ProductName: c.PostForm("product_name"), PrimaryColor: c.PostForm("primary_color"), AccentColor: c.PostForm("accent_color"),
		SupportURL: c.PostForm("support_url"), PrivacyURL: c.PostForm("privacy_url"), CustomCSS: c.PostForm("custom_css"),
	}
	_, err := u.c.Branding.Update(c.Request.Context(), in)
	if err == nil {
		redirectDone(c, "/console/branding", "branding_saved")
		return nil
	}
	p := toProblem(err)
	if p.Status != http.StatusUnprocessableEntity {
		return err
	}
	cur, gerr := u.c.Branding.Get(c.Request.Context())
	if gerr != nil {
		return gerr
	}
	v := brandingPage(cur)
	v.Form = templates.BrandingForm{ProductName: in.ProductName, PrimaryColor: in.PrimaryColor, AccentColor: in.AccentColor,
		SupportURL: in.SupportURL, PrivacyURL: in.PrivacyURL, CustomCSS: in.CustomCSS, Errors: map[string]string{},
		Problem: u.T(c, "console.branding.not_saved")}
	for _, fe := range p.Errors {
		v.Form.Errors[fe.Field] = u.fieldMessage(c, fe)
	}
	return u.pages.ConsoleBranding(c.Writer, http.StatusUnprocessableEntity, u.page(c, "console.nav.branding"), u.shell(c, "branding"), v)
}

func (u *UI) brandingLogo(c *gin.Context) error {
	data, msg := u.readUpload(c, "logo")
	if msg == "" {
		_, err := u.c.Branding.SetLogo(c.Request.Context(), data)
		if err == nil {
			redirectDone(c, "/console/branding", "branding_logo")
			return nil
		}
		p := toProblem(err)
		if p.Status != http.StatusUnprocessableEntity || len(p.Errors) == 0 {
			return err
		}
		msg = u.fieldMessage(c, p.Errors[0])
	}
	cur, err := u.c.Branding.Get(c.Request.Context())
	if err != nil {
		return err
	}
	v := brandingPage(cur)
	v.LogoError = msg
	return u.pages.ConsoleBranding(c.Writer, http.StatusUnprocessableEntity, u.page(c, "console.nav.branding"), u.shell(c, "branding"), v)
}

// readUpload reads the form's file field, or says what is wrong with it.
func (u *UI) readUpload(c *gin.Context, field string) ([]byte, string) {
	fh, err := c.FormFile(field)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, u.T(c, "console.branding.too_large", "kib", branding.MaxLogoBytes>>10)
		}
		return nil, u.T(c, "console.branding.choose_file")
	}
	f, err := fh.Open()
	if err != nil {
		return nil, u.T(c, "console.branding.unreadable")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, branding.MaxLogoBytes+1))
	if err != nil {
		return nil, u.T(c, "console.branding.unreadable")
	}
	return data, ""
}

func (u *UI) brandingLogoRemove(c *gin.Context) error {
	if _, err := u.c.Branding.RemoveLogo(c.Request.Context()); err != nil {
		return err
	}
	redirectDone(c, "/console/branding", "branding_logo_removed")
	return nil
}

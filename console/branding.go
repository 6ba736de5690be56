package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/branding"
)

// Branding lets admins set the product name, colours, logo, links and
// custom stylesheet every page and mail shows: Update and SetLogo
// validate, save through the live branding (which the renderer reads) and
// audit.
type Branding struct {
	st    branding.Store
	live  *branding.Live
	audit *Audit
}

// BrandingView is the branding as the API and the CLI show it.
type BrandingView struct {
	branding.Settings
	// Product is the name pages show (ProductName or "Sesame").
	Product string    `json:"product"`
	Logo    *LogoInfo `json:"logo"`
	// CustomCSSURL is the stylesheet's URL ("" without one).
	CustomCSSURL string `json:"custom_css_url,omitempty"`
	// Warnings say what the dark scheme shows differently.
	Warnings []string `json:"warnings"`
}

// LogoInfo describes the uploaded logo.
type LogoInfo struct {
	Type   string `json:"type"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
	URL    string `json:"url"`
}

func newBrandingView(d branding.Document) BrandingView {
	b := branding.NewBrand(d)
	v := BrandingView{Settings: d.Settings, Product: b.Product, CustomCSSURL: b.CSSPath(), Warnings: []string{}}
	if d.Logo != nil {
		sum := sha256.Sum256(d.Logo.Data)
		v.Logo = &LogoInfo{Type: d.Logo.Type, Size: len(d.Logo.Data), SHA256: hex.EncodeToString(sum[:]), URL: b.LogoPath()}
	}
	for _, f := range b.DarkAdjusted {
		v.Warnings = append(v.Warnings, fmt.Sprintf("%s is too dark for the dark scheme; dark pages show a lighter variant so text keeps 4.5:1 (3:1 for the accent)", f))
	}
	return v
}

// brandingAudit is what the audit log keeps of the branding: the logo and
// stylesheet by size and hash, not their bytes.
type brandingAudit struct {
	branding.Settings
	Logo *LogoInfo `json:"logo"`
}

func brandingAuditView(d branding.Document) brandingAudit {
	v := newBrandingView(d)
	a := brandingAudit{Settings: d.Settings, Logo: v.Logo}
	if d.CustomCSS != "" {
		sum := sha256.Sum256([]byte(d.CustomCSS))
		a.CustomCSS = fmt.Sprintf("(%d bytes, sha256 %s)", len(d.CustomCSS), hex.EncodeToString(sum[:]))
	}
	return a
}

// Get returns the stored branding (read from the store, not the cache).
func (s *Branding) Get(ctx context.Context) (BrandingView, error) {
	d, err := branding.Load(ctx, s.st)
	if err != nil {
		return BrandingView{}, err
	}
	return newBrandingView(d), nil
}

// Update validates and saves the settings (the logo stays), reporting
// every refused field at once.
func (s *Branding) Update(ctx context.Context, in branding.Settings) (BrandingView, error) {
	in = in.Normalize()
	if issues := in.Validate(); len(issues) > 0 {
		p := problem(http.StatusUnprocessableEntity, "invalid", "Invalid request", "")
		for _, i := range issues {
			p.Errors = append(p.Errors, FieldError{Field: i.Field, Message: i.Message, Format: i.Format, Args: i.Args})
		}
		return BrandingView{}, p
	}
	return s.change(ctx, "branding.update", func(d *branding.Document) { d.Settings = in })
}

// SetLogo checks data (type sniffed, size, SVG without script) and
// makes it the logo.
func (s *Branding) SetLogo(ctx context.Context, data []byte) (BrandingView, error) {
	typ, err := branding.CheckLogo(data)
	if err != nil {
		return BrandingView{}, invalid("logo", "%s", err.Error())
	}
	return s.change(ctx, "branding.logo.set", func(d *branding.Document) { d.Logo = &branding.Logo{Type: typ, Data: data} })
}

// RemoveLogo removes the logo.
func (s *Branding) RemoveLogo(ctx context.Context) (BrandingView, error) {
	return s.change(ctx, "branding.logo.remove", func(d *branding.Document) { d.Logo = nil })
}

// change applies fn to the stored document, saves and audits it.
func (s *Branding) change(ctx context.Context, action string, fn func(*branding.Document)) (BrandingView, error) {
	before, err := branding.Load(ctx, s.st)
	if err != nil {
		return BrandingView{}, err
	}
	after := before
	fn(&after)
	act := ActorFrom(ctx)
	if err := s.live.Save(ctx, after, act.Kind+":"+act.ID); err != nil {
		return BrandingView{}, err
	}
	if err := s.audit.Record(ctx, action, "branding", branding.Name, brandingAuditView(before), brandingAuditView(after)); err != nil {
		return BrandingView{}, err
	}
	return newBrandingView(after), nil
}

// --- admin API ---

func (c *Console) mountBrandingAPI(r gin.IRouter) {
	r.GET("/branding", c.api(func(g *gin.Context) error {
		v, err := c.Branding.Get(g.Request.Context())
		if err != nil {
			return err
		}
		g.JSON(http.StatusOK, v)
		return nil
	}))
	r.PUT("/branding", c.api(func(g *gin.Context) error {
		var in branding.Settings
		if err := decode(g, &in); err != nil {
			return err
		}
		v, err := c.Branding.Update(g.Request.Context(), in)
		if err != nil {
			return err
		}
		g.JSON(http.StatusOK, v)
		return nil
	}))
	r.PUT("/branding/logo", c.api(func(g *gin.Context) error {
		// The body is the image itself; its declared type is not trusted.
		data, err := io.ReadAll(io.LimitReader(g.Request.Body, branding.MaxLogoBytes+1))
		if err != nil {
			return problem(http.StatusRequestEntityTooLarge, "too-large", "The request is too large", "")
		}
		v, err := c.Branding.SetLogo(g.Request.Context(), data)
		if err != nil {
			return err
		}
		g.JSON(http.StatusOK, v)
		return nil
	}))
	r.DELETE("/branding/logo", c.api(func(g *gin.Context) error {
		v, err := c.Branding.RemoveLogo(g.Request.Context())
		if err != nil {
			return err
		}
		g.JSON(http.StatusOK, v)
		return nil
	}))
}

package branding

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// The branding's URLs.
const (
	PathLogo  = "/branding/logo"
	PathCSS   = "/branding/custom.css"
	PathTheme = "/branding/theme.css"
)

// logoCSP keeps a logo opened on its own (not through <img>) inert: an
// SVG gets no script, no plugins, no loads, and a unique origin.
const logoCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"

// Source is where the handlers read the branding (*Live).
type Source interface {
	Current(ctx context.Context) (Brand, error)
}

// Mount serves the logo, the custom stylesheet and the theme on r.
// notFound answers a missing logo or stylesheet (the server's styled 404).
func Mount(r gin.IRouter, src Source, notFound gin.HandlerFunc) {
	r.GET(PathLogo, func(c *gin.Context) {
		b, err := src.Current(c.Request.Context())
		if err != nil || b.LogoHash == "" {
			notFound(c)
			return
		}
		c.Header("Content-Security-Policy", logoCSP)
		serveVersioned(c, b.LogoHash, b.Logo.Type, b.Logo.Data)
	})
	r.GET(PathCSS, func(c *gin.Context) {
		b, err := src.Current(c.Request.Context())
		if err != nil || b.CSSHash == "" {
			notFound(c)
			return
		}
		serveVersioned(c, b.CSSHash, "text/css; charset=utf-8", []byte(b.CustomCSS))
	})
	r.GET(PathTheme, func(c *gin.Context) {
		css, ok := Theme(c.Query("p"), c.Query("a"))
		if !ok {
			notFound(c)
			return
		}
		// The query is the whole input: the same URL is always the same
		// stylesheet.
		c.Header("Cache-Control", "public, max-age=31536000, immutable")
		c.Header("X-Content-Type-Options", "nosniff")
		c.Data(http.StatusOK, "text/css; charset=utf-8", []byte(css))
	})
}

// serveVersioned answers body with an ETag of its hash: cached for a year
// when the URL names the current version (?v=hash; a change makes a new
// URL), briefly otherwise.
func serveVersioned(c *gin.Context, hash, ctype string, body []byte) {
	etag := `"` + hash + `"`
	if c.Query("v") == hash {
		c.Header("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		c.Header("Cache-Control", "public, max-age=60")
	}
	c.Header("ETag", etag)
	c.Header("X-Content-Type-Options", "nosniff")
	if inm := c.GetHeader("If-None-Match"); inm != "" && strings.Contains(inm, etag) {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, ctype, body)
}

// Theme is the stylesheet giving the pages primary p and accent a (hex
// without "#"; either may be empty): the light scheme uses them as they
// are, the dark one a lighter variant where they are too dark for a dark
// page, and text on them is white or black, whichever reads. ok is false
// when a colour is malformed or fails its contrast minimum.
func Theme(p, a string) (css string, ok bool) {
	if p == "" && a == "" {
		return "", false
	}
	var b strings.Builder
	var light, dark []string
	if p != "" {
		if ColorProblem("#"+p, minText) != "" {
			return "", false
		}
		c, _ := ParseColor("#" + p)
		d, _ := forDark(c, minText)
		light = append(light, "--accent: "+c.Hex(), "--accent-text: "+TextOn(c).Hex(), "--focus: "+c.Hex(),
			"--accent-soft: "+soft(c, white, 0.1).Hex())
		dark = append(dark, "--accent: "+d.Hex(), "--accent-text: "+TextOn(d).Hex(), "--focus: "+d.Hex(),
			"--accent-soft: "+soft(d, darkCard, 0.2).Hex())
	}
	if a != "" {
		if ColorProblem("#"+a, minNonTxt) != "" {
			return "", false
		}
		c, _ := ParseColor("#" + a)
		d, _ := forDark(c, minNonTxt)
		light = append(light, "--brand: "+c.Hex(), "--brand-text: "+TextOn(c).Hex())
		dark = append(dark, "--brand: "+d.Hex(), "--brand-text: "+TextOn(d).Hex())
	}
	b.WriteString("/* Sesame branding: generated from the configured colours. */\n")
	fmt.Fprintf(&b, ":root {\n  %s;\n}\n", strings.Join(light, ";\n  "))
	fmt.Fprintf(&b, "@media (prefers-color-scheme: dark) {\n  :root {\n    %s;\n  }\n}\n", strings.Join(dark, ";\n    "))
	return b.String(), true
}

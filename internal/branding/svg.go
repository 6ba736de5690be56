package branding

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// errNotImage refuses what is neither a raster image nor an SVG.
var errNotImage = errors.New("the logo must be a PNG, JPEG, GIF, WebP or SVG image")

// svgRefused are elements that run script, embed other documents or
// animate attributes (an <animate>/<set> can turn an href into
// javascript:).
var svgRefused = map[string]bool{
	"script": true, "foreignobject": true, "iframe": true, "embed": true, "object": true,
	"animate": true, "set": true, "animatemotion": true, "animatetransform": true, "handler": true, "listener": true,
}

// checkSVG accepts an SVG document without script, event handlers,
// entities or references outside itself. It is a second fence: the logo
// is also served with a sandboxing CSP and shown through <img>, where an
// SVG runs no script at all.
func checkSVG(data []byte) error {
	if !utf8.Valid(data) {
		return errNotImage
	}
	if bytes.Contains(bytes.ToLower(data), []byte("<!doctype")) || bytes.Contains(bytes.ToLower(data), []byte("<!entity")) {
		return errors.New("the SVG logo must not declare a DOCTYPE or entities")
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	root := true
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if root {
				return errNotImage
			}
			return fmt.Errorf("the SVG logo is not well-formed XML: %v", err)
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			if _, pi := tok.(xml.ProcInst); pi && !root {
				return errors.New("the SVG logo must not contain processing instructions")
			}
			continue
		}
		name := strings.ToLower(el.Name.Local)
		if root {
			if name != "svg" {
				return errNotImage
			}
			root = false
		}
		if svgRefused[name] {
			return fmt.Errorf("the SVG logo must not contain <%s>", el.Name.Local)
		}
		for _, a := range el.Attr {
			an := strings.ToLower(a.Name.Local)
			v := strings.ToLower(strings.TrimSpace(a.Value))
			switch {
			case strings.HasPrefix(an, "on"):
				return fmt.Errorf("the SVG logo must not have event handlers (%s)", a.Name.Local)
			case an == "href" && !strings.HasPrefix(v, "#") && !strings.HasPrefix(v, "data:image/png") &&
				!strings.HasPrefix(v, "data:image/jpeg") && !strings.HasPrefix(v, "data:image/gif") && !strings.HasPrefix(v, "data:image/webp"):
				return errors.New("the SVG logo must not link outside itself (only #fragment and raster data: links)")
			case an == "style" && (strings.Contains(v, "url(") || strings.Contains(v, "@import")):
				return errors.New("the SVG logo's styles must not load anything")
			}
		}
		if name == "style" {
			// A <style> element's text may @import or url() too.
			var text string
			if err := d.DecodeElement(&text, &el); err != nil {
				return fmt.Errorf("the SVG logo is not well-formed XML: %v", err)
			}
			if t := strings.ToLower(text); strings.Contains(t, "url(") || strings.Contains(t, "@import") {
				return errors.New("the SVG logo's styles must not load anything")
			}
		}
	}
	if root {
		return errNotImage
	}
	return nil
}

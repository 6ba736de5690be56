package branding

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// RGB is an sRGB colour.
type RGB struct{ R, G, B uint8 }

// The pages' own surfaces (static/style.css, static/console.css) that
// brand colours are checked against.
var (
	white     = RGB{0xff, 0xff, 0xff}
	lightBg   = RGB{0xf4, 0xf5, 0xf7}
	darkCard  = RGB{0x1f, 0x22, 0x26}
	darkBg    = RGB{0x15, 0x17, 0x1a}
	darkText  = RGB{0, 0, 0}
	minText   = MinTextContrast
	minNonTxt = MinAccentContrast
)

// The contrast minimums brand colours are held to against the light
// pages: the primary colour is text (links) and carries text (buttons),
// WCAG 2.x 1.4.3; the accent is a UI colour, 1.4.11.
const (
	MinTextContrast   = 4.5
	MinAccentContrast = 3.0
)

// ParseColor reads "#rrggbb" or "#rgb" (case-insensitive).
func ParseColor(s string) (RGB, error) {
	h, ok := strings.CutPrefix(strings.TrimSpace(s), "#")
	if !ok {
		return RGB{}, fmt.Errorf("%q is not a colour: use #rrggbb", s)
	}
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 {
		return RGB{}, fmt.Errorf("%q is not a colour: use #rrggbb", s)
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return RGB{}, fmt.Errorf("%q is not a colour: use #rrggbb", s)
	}
	return RGB{uint8(v >> 16), uint8(v >> 8), uint8(v)}, nil
}

// Hex is the colour as "#rrggbb".
func (c RGB) Hex() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// luminance is WCAG's relative luminance.
func (c RGB) luminance() float64 {
	ch := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(c.R) + 0.7152*ch(c.G) + 0.0722*ch(c.B)
}

// Contrast is WCAG's contrast ratio of a and b (1 to 21).
func Contrast(a, b RGB) float64 {
	la, lb := a.luminance(), b.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// TextOn is the text colour for a background c: white or near-black,
// whichever contrasts more (one of them always reaches 4.5:1).
func TextOn(c RGB) RGB {
	if Contrast(c, white) >= Contrast(c, darkText) {
		return white
	}
	return darkText
}

// mix is a + (b-a)·t.
func mix(a, b RGB, t float64) RGB {
	f := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + (float64(y)-float64(x))*t)) }
	return RGB{f(a.R, b.R), f(a.G, b.G), f(a.B, b.B)}
}

// forDark is c lightened (mixed with white) until it reaches min against
// the dark scheme's card and background; adjusted reports a change.
func forDark(c RGB, min float64) (out RGB, adjusted bool) {
	for i := 0; i <= 20; i++ {
		out = mix(c, white, float64(i)/20)
		if Contrast(out, darkCard) >= min && Contrast(out, darkBg) >= min {
			return out, i > 0
		}
	}
	return white, true
}

// lightRatio is the lower of c's contrast with the light card and page.
func lightRatio(c RGB) float64 { return min(Contrast(c, white), Contrast(c, lightBg)) }

// soft is a pale tint of c for selected navigation; c stays readable on
// it (4.5:1), else the page background is used.
func soft(c, bg RGB, t float64) RGB {
	s := mix(bg, c, t)
	if Contrast(c, s) >= minText {
		return s
	}
	return bg
}

// Package axe runs the vendored axe-core accessibility engine in a
// chromedp tab, for tests of the hosted pages. See README.md for the
// version and licence of axe.min.js (MPL-2.0).
package axe

// Package branding is the look an operator gives Sesame: a product name,
// primary and accent colours, a logo, support and privacy links and an
// optional stylesheet. It is one live document (Settings plus the logo,
// stored as JSON under the policy name Name, so every replica reads the
// same row and hears of a change through the store's change feed), read
// through a cache (Live) by the page renderer and the mails.
//
// Nothing here loosens the pages' Content-Security-Policy: colours reach
// the pages as a generated stylesheet (/branding/theme.css, its colours in
// the query, so it is the same for every replica and cacheable forever),
// the custom CSS as a static stylesheet (/branding/custom.css), the logo
// as an image (/branding/logo) with a sniffed content type, nosniff and a
// sandboxing CSP of its own, so an SVG opened directly runs no script.
//
// Colours are refused when text on them, or they as text, would fall
// below WCAG's contrast minimum (4.5:1 for text, 3:1 for the accent, a
// non-text colour); the dark scheme gets a lightened variant when the
// colour is too dark for a dark page, which the settings report.
package branding

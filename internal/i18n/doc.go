// Package i18n holds Sesame's message catalogues (locales/*.json, one
// file per language, embedded) and picks the language a person sees.
//
// A catalogue maps a key ("login.title") to a message, either a string or,
// for counts, an object of CLDR plural forms ({"one": …, "other": …}).
// Messages name their placeholders in braces ("Sign in to {app}"); T fills
// them from name/value pairs and picks the plural form by "count" with
// golang.org/x/text's CLDR rules. Keys ending in "_html" are trusted markup
// whose placeholders are HTML-escaped.
//
// Negotiate chooses among the catalogues: the person's explicit pick on a
// page (the language switcher), then the OIDC request's ui_locales, then
// the browser's Accept-Language, then the user's saved locale, and English
// last. Languages() is exactly the set of catalogues, so discovery's
// ui_locales_supported never names one that does not exist.
package i18n

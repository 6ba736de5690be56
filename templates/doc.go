// Package templates embeds the server-rendered pages and renders them with
// html/template (contextual escaping).
//
// The pages live in sub-folders, each with its layout: hosted/ (sign-in,
// sign-up, account, passlink, password, consent, sign-out and error pages,
// in hosted/layout.html) and console/ (the admin console, in
// console/layout.html with its left navigation). Each page is a file that
// fills the layout's "content" block and is parsed with its layout alone.
// mail/ holds the emails (see RenderMail).
//
// Every page has a typed render method taking its view, a struct defined
// here (Login with LoginView, Consent with ConsentView, ConsoleClients with
// ConsoleClientsView …), so a caller cannot hand a page data it does not
// read. New checks at start-up that every page those methods render is
// there and parses. Render, by page name, is the low-level method under
// them.
package templates

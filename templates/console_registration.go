package templates

import "net/http"

// --- Dynamic client registration (console/registration.html) ---

// InitialTokenRow is a line of the initial access tokens table.
type InitialTokenRow struct {
	ID, Label, CreatedBy, Created, Expires, LastUsed string
	Uses, MaxUses, UsesLeft                          int
	// State is shown as a badge: StateClass "ok" for active, "muted"
	// otherwise; Revocable while it is active.
	State, StateClass string
	Revocable         bool
}

// ConsoleRegistrationView is the registration page: the mode in force, the
// mint form, the tokens, and a minted token's value once.
type ConsoleRegistrationView struct {
	// Mode is off, protected or open; ModeName names it and ModeText
	// says what it means, in the page's language.
	Mode, ModeName, ModeText string
	Rows                     []InitialTokenRow
	// The mint form: its values and errors (field → message).
	Label, ExpiresDays, MaxUses string
	Errors                      map[string]string
	Problem                     string
	// Minted is set once, on the answer that minted a token.
	Minted *MintedToken
	CSRF   string
}

// MintedToken is a token just minted, with its value (shown once).
type MintedToken struct {
	ID, Label, Token, Expires string
	MaxUses                   int
}

// ConsoleRegistration renders the registration page.
func (r *Renderer) ConsoleRegistration(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleRegistrationView) error {
	v.CSRF = s.CSRF
	return r.console(w, status, "console_registration", p, s, v)
}

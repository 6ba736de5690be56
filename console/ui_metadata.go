package console

import (
	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/templates"
)

// FIDO metadata in the console: every page warns when the metadata in
// force is stale or missing, or when enrolled credentials are of a model
// the metadata reports compromised (authn/passkey/mdsfetch.go); the
// policies page shows the metadata's state.

// metadataAlerts are the shell's warnings about the FIDO metadata. A
// failed read of the counts is logged and shows nothing: the warning is
// an aid, never a reason for a page to fail.
func (u *UI) metadataAlerts(c *gin.Context) []templates.Alert {
	ctx := c.Request.Context()
	var out []templates.Alert
	st := u.c.passkeys.MetadataStatus(ctx)
	switch st.State {
	case passkey.MetadataStale:
		out = append(out, templates.Alert{Text: u.T(c, "console.metadata.stale", "date", u.date(c, st.NextUpdate)) + u.lastError(c, st),
			Link: "/console/policies#metadata", LinkText: u.T(c, "console.metadata.status")})
	case passkey.MetadataMissing:
		out = append(out, templates.Alert{Text: u.T(c, "console.metadata.missing") + u.lastError(c, st),
			Link: "/console/policies#metadata", LinkText: u.T(c, "console.metadata.status")})
	}
	flagged, suspended, err := u.c.st.CompromisedCredentialCounts(ctx)
	if err != nil {
		u.c.log.WarnContext(ctx, "console: count compromised credentials", "err", err)
		return out
	}
	if flagged > 0 {
		text := u.T(c, "console.metadata.compromised", "count", flagged)
		if suspended > 0 {
			text = u.T(c, "console.metadata.compromised_suspended", "count", flagged, "suspended", suspended)
		}
		out = append(out, templates.Alert{Text: text, Link: "/console/audit?action=credential.model_compromised", LinkText: u.T(c, "console.metadata.who")})
	}
	return out
}

func (u *UI) lastError(c *gin.Context, st passkey.MetadataStatus) string {
	if st.LastError == "" {
		return ""
	}
	return " " + u.T(c, "console.metadata.last_failed", "error", st.LastError)
}

// metadataView is the policies page's description of the metadata.
func (u *UI) metadataView(c *gin.Context) templates.MetadataView {
	st := u.c.passkeys.MetadataStatus(c.Request.Context())
	v := templates.MetadataView{State: u.word(c, "console.metadata.state_", st.State, st.State), Source: st.Source, Serial: st.Serial, LastError: st.LastError}
	v.StateClass = map[string]string{passkey.MetadataCurrent: "ok", passkey.MetadataStale: "bad", passkey.MetadataMissing: "bad"}[st.State]
	if st.Source == "" {
		v.Source = st.URL
	}
	if !st.NextUpdate.IsZero() {
		v.NextUpdate = u.date(c, st.NextUpdate)
	}
	if !st.CheckedAt.IsZero() {
		v.Checked = u.when(c, st.CheckedAt)
	}
	return v
}

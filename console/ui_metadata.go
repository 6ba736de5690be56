package console

import (
	"context"
	"fmt"
	"time"

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
func (u *UI) metadataAlerts(ctx context.Context) []templates.Alert {
	var out []templates.Alert
	st := u.c.passkeys.MetadataStatus(ctx)
	switch st.State {
	case passkey.MetadataStale:
		out = append(out, templates.Alert{Text: fmt.Sprintf("The FIDO metadata is stale: it was due to be replaced on %s, so new revocations of authenticator models may be missed.%s",
			st.NextUpdate.Format(time.DateOnly), lastError(st)), Link: "/console/policies#metadata", LinkText: "Metadata status"})
	case passkey.MetadataMissing:
		out = append(out, templates.Alert{Text: "No FIDO metadata could be loaded yet: authenticator models are not checked." + lastError(st),
			Link: "/console/policies#metadata", LinkText: "Metadata status"})
	}
	flagged, suspended, err := u.c.st.CompromisedCredentialCounts(ctx)
	if err != nil {
		u.c.log.WarnContext(ctx, "console: count compromised credentials", "err", err)
		return out
	}
	if flagged > 0 {
		text := fmt.Sprintf("%d passkeys or security keys are of a model the FIDO metadata reports compromised or revoked", flagged)
		if flagged == 1 {
			text = "1 passkey or security key is of a model the FIDO metadata reports compromised or revoked"
		}
		if suspended > 0 {
			text += fmt.Sprintf(" (%d suspended)", suspended)
		}
		out = append(out, templates.Alert{Text: text + ".", Link: "/console/audit?action=credential.model_compromised", LinkText: "Who is affected"})
	}
	return out
}

func lastError(st passkey.MetadataStatus) string {
	if st.LastError == "" {
		return ""
	}
	return " Last fetch failed: " + st.LastError
}

// metadataView is the policies page's description of the metadata.
func (u *UI) metadataView(ctx context.Context) templates.MetadataView {
	st := u.c.passkeys.MetadataStatus(ctx)
	v := templates.MetadataView{State: map[string]string{passkey.MetadataOff: "Off", passkey.MetadataMissing: "Not loaded",
		passkey.MetadataCurrent: "Current", passkey.MetadataStale: "Stale"}[st.State], Source: st.Source, Serial: st.Serial, LastError: st.LastError}
	v.StateClass = map[string]string{passkey.MetadataCurrent: "ok", passkey.MetadataStale: "bad", passkey.MetadataMissing: "bad"}[st.State]
	if st.Source == "" {
		v.Source = st.URL
	}
	if !st.NextUpdate.IsZero() {
		v.NextUpdate = st.NextUpdate.Format(time.DateOnly)
	}
	if !st.CheckedAt.IsZero() {
		v.Checked = uiWhen(st.CheckedAt)
	}
	return v
}

package console

import (
	"net/url"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/templates"
)

// The credential health page (/console/credentials): every finding with
// its counts, and the credentials of the chosen one, each linked to its
// user's page.

// healthPageSize is how many credentials the page lists at a time.
const healthPageSize = 50

// healthLink is the page of a finding.
func healthLink(finding string) string {
	return "/console/credentials?" + url.Values{"finding": {finding}}.Encode()
}

// healthItems are the findings in words, with links.
func healthItems(sum *HealthSummary, current string) []templates.HealthItem {
	out := make([]templates.HealthItem, 0, len(sum.Items))
	for _, it := range sum.Items {
		out = append(out, templates.HealthItem{Finding: it.Finding, Title: it.Title, Description: it.Description,
			Credentials: uiNumber(it.Credentials), Users: uiNumber(it.Users), Link: healthLink(it.Finding),
			Problem: it.Problem, Zero: it.Credentials == 0, Unchecked: !it.Checked, Current: it.Finding == current})
	}
	return out
}

// findingBadges are a credential's problem findings as badges (storage is
// a column of its own).
func findingBadges(fs []string) []templates.Badge {
	var out []templates.Badge
	for _, f := range fs {
		switch f {
		case store.FindingCloneWarning, store.FindingCompromisedModel, store.FindingDeniedModel:
			out = append(out, templates.Badge{Text: FindingTitle(f), Class: "bad"})
		case store.FindingNeverUsed, store.FindingStale:
			out = append(out, templates.Badge{Text: FindingTitle(f), Class: "warn"})
		}
	}
	return out
}

func (u *UI) credentialHealth(c *gin.Context) error {
	ctx := c.Request.Context()
	sum, err := u.c.Health.Summary(ctx)
	if err != nil {
		return err
	}
	finding := c.Query("finding")
	if !slices.Contains(store.Findings, finding) {
		// The first finding that asks for action, else the first.
		finding = store.Findings[0]
		for _, it := range sum.Items {
			if it.Problem && it.Credentials > 0 {
				finding = it.Finding
				break
			}
		}
	}
	cursor := c.Query("after")
	if len(cursor) > MaxQueryLen {
		cursor = ""
	}
	l, err := u.c.Health.List(ctx, HealthListQuery{Finding: finding, Cursor: cursor, Limit: healthPageSize})
	if err != nil {
		return err
	}
	v := templates.ConsoleCredentialsView{Credentials: uiNumber(sum.Credentials), Users: uiNumber(sum.Users), Items: healthItems(sum, finding)}
	if sum.Credentials > 0 {
		v.SyncedShare = uiPercent(sum.SyncedShare)
		v.OnlySynced = onlySyncedSentence(sum.OnlySyncedUsers)
	}
	for _, it := range v.Items {
		if it.Current {
			v.Current = it
		}
	}
	for _, cr := range l.Items {
		r := templates.HealthCredRow{ID: cr.ID, UserID: cr.UserID, Email: cr.Email, Name: cr.Name, Model: cr.Model, Kind: "Passkey", Storage: "Device-bound",
			Created: uiWhen(cr.CreatedAt), LastUsed: uiWhenPtr(cr.LastUsedAt), Badges: findingBadges(cr.Findings)}
		if cr.Kind == models.CredentialSecurityKey {
			r.Kind = "Security key"
		}
		if cr.Synced {
			r.Storage = "Synced"
		}
		if r.Model == "" {
			r.Model = "Unknown model"
		}
		if r.Name == "" {
			r.Name = r.Model
		}
		v.Rows = append(v.Rows, r)
	}
	if l.HasMore {
		v.Next = healthLink(finding) + "&" + url.Values{"after": {l.NextCursor}}.Encode()
	}
	return u.pages.ConsoleCredentials(c.Writer, 200, templates.Page{Title: "Credential health"}, u.shell(c, "credentials"), v)
}

// onlySyncedSentence says how many people have only synced passkeys and
// what that means for a block of synced passkeys.
func onlySyncedSentence(n int64) string {
	switch n {
	case 0:
		return "Everyone with a passkey has one that stays on its device: blocking synced passkeys would lock nobody out."
	case 1:
		return "1 person has only synced passkeys: blocking synced passkeys would leave them without one that signs in (the Policies page names them before it saves)."
	}
	return uiNumber(n) + " people have only synced passkeys: blocking synced passkeys would leave them without one that signs in (the Policies page names them before it saves)."
}

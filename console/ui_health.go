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
func (u *UI) healthItems(c *gin.Context, sum *HealthSummary, current string) []templates.HealthItem {
	out := make([]templates.HealthItem, 0, len(sum.Items))
	for _, it := range sum.Items {
		out = append(out, templates.HealthItem{Finding: it.Finding, Title: u.findingTitle(c, it.Finding),
			Description: u.word(c, "console.finding_desc.", it.Finding, it.Description),
			Credentials: u.number(c, it.Credentials), Users: u.number(c, it.Users), Link: healthLink(it.Finding),
			Problem: it.Problem, Zero: it.Credentials == 0, Unchecked: !it.Checked, Current: it.Finding == current})
	}
	return out
}

// findingTitle is a finding's name in words.
func (u *UI) findingTitle(c *gin.Context, f string) string {
	return u.word(c, "console.finding.", f, FindingTitle(f))
}

// findingBadges are a credential's problem findings as badges (storage is
// a column of its own).
func (u *UI) findingBadges(c *gin.Context, fs []string) []templates.Badge {
	var out []templates.Badge
	for _, f := range fs {
		switch f {
		case store.FindingCloneWarning, store.FindingCompromisedModel, store.FindingDeniedModel:
			out = append(out, templates.Badge{Text: u.findingTitle(c, f), Class: "bad"})
		case store.FindingNeverUsed, store.FindingStale:
			out = append(out, templates.Badge{Text: u.findingTitle(c, f), Class: "warn"})
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
	v := templates.ConsoleCredentialsView{Credentials: u.number(c, sum.Credentials), Users: u.number(c, sum.Users), Items: u.healthItems(c, sum, finding)}
	if sum.Credentials > 0 {
		v.SyncedShare = u.pages.Catalog().Percent(u.lang(c), sum.SyncedShare)
		v.OnlySynced = u.T(c, "console.health.only_synced", "count", int(sum.OnlySyncedUsers))
		if sum.OnlySyncedUsers == 0 {
			v.OnlySynced = u.T(c, "console.health.only_synced_none")
		}
	}
	for _, it := range v.Items {
		if it.Current {
			v.Current = it
		}
	}
	for _, cr := range l.Items {
		r := templates.HealthCredRow{ID: cr.ID, UserID: cr.UserID, Email: cr.Email, Name: cr.Name, Model: cr.Model,
			Kind: u.T(c, "console.cred.kind_passkey"), Storage: u.T(c, "console.cred.device_bound"),
			Created: u.when(c, cr.CreatedAt), LastUsed: u.whenPtr(c, cr.LastUsedAt), Badges: u.findingBadges(c, cr.Findings)}
		if cr.Kind == models.CredentialSecurityKey {
			r.Kind = u.T(c, "console.cred.kind_key")
		}
		if cr.Synced {
			r.Storage = u.T(c, "console.cred.synced")
		}
		if r.Model == "" {
			r.Model = u.T(c, "console.dashboard.unknown_model")
		}
		if r.Name == "" {
			r.Name = r.Model
		}
		v.Rows = append(v.Rows, r)
	}
	if l.HasMore {
		v.Next = healthLink(finding) + "&" + url.Values{"after": {l.NextCursor}}.Encode()
	}
	return u.pages.ConsoleCredentials(c.Writer, 200, u.page(c, "console.health.title"), u.shell(c, "credentials"), v)
}

package console_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestAPICredentialHealthAndFunnel reads credential health, the affected
// credentials and the adoption funnel through the admin API: the answers
// match the OpenAPI document, the policy's deny list is applied, bad
// filters are 422 problems.
func TestAPICredentialHealthAndFunnel(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		s := loadSpec(t, env)
		api := &caller{t: t, env: env, bearer: adminToken(t, env)}
		p := console.APIPrefix
		ctx := t.Context()

		denied := uuid.NewString()
		u := env.CreateUser("health@example.test")
		old := time.Now().Add(-120 * 24 * time.Hour)
		for _, c := range []models.WebAuthnCredential{
			{ID: "cred-cloned", CloneWarning: true, BackupEligible: true, LastUsedAt: &old},
			{ID: "cred-denied", AAGUID: denied},
		} {
			c.UserID, c.Kind, c.PublicKey = u.ID, models.CredentialPasskey, "k"
			if err := env.Store.CreateCredential(ctx, &c); err != nil {
				t.Fatal(err)
			}
		}
		// Someone whose one passkey syncs: a block of synced passkeys
		// would lock them out (u keeps a device-bound one).
		syncedOnly := env.CreateUser("synced-only@example.test")
		if err := env.Store.CreateCredential(ctx, &models.WebAuthnCredential{ID: "cred-synced", UserID: syncedOnly.ID, Kind: models.CredentialPasskey,
			PublicKey: "k", BackupEligible: true, LastUsedAt: ptrTime(time.Now())}); err != nil {
			t.Fatal(err)
		}
		var pol map[string]any
		_ = json.Unmarshal(api.call(s, "GET", p+"/policies", nil, 200), &pol)
		delete(pol, "restart_required")
		pol["aaguid_deny"] = []string{denied}
		api.call(s, "PUT", p+"/policies", pol, 200)

		var sum console.HealthSummary
		if err := json.Unmarshal(api.call(s, "GET", p+"/credentials/health", nil, 200), &sum); err != nil {
			t.Fatal(err)
		}
		got := map[string]console.HealthItem{}
		for _, it := range sum.Items {
			got[it.Finding] = it
		}
		if sum.Credentials != 3 || sum.OnlySyncedUsers != 1 || sum.SyncedShare < 0.66 || sum.SyncedShare > 0.67 {
			t.Errorf("credentials %d, only-synced people %d, synced share %v; want 3, 1, 2/3", sum.Credentials, sum.OnlySyncedUsers, sum.SyncedShare)
		}
		for f, want := range map[string]int64{"clone_warning": 1, "stale": 1, "denied_model": 1, "never_used": 1, "synced": 2, "device_bound": 1, "compromised_model": 0} {
			if got[f].Credentials != want {
				t.Errorf("%s: %d credentials, want %d", f, got[f].Credentials, want)
			}
		}
		if got["compromised_model"].Checked {
			t.Error("compromised models reported checked without a status source")
		}

		var list struct {
			Items []console.CredentialHealthView `json:"items"`
		}
		_ = json.Unmarshal(api.call(s, "GET", p+"/credentials?finding=denied_model", nil, 200), &list)
		if len(list.Items) != 1 || list.Items[0].ID != "cred-denied" || list.Items[0].Email != u.Email {
			t.Errorf("denied models: %+v", list.Items)
		}
		b := api.call(s, "GET", p+"/credentials?user_id="+u.ID+"&limit=1", nil, 200)
		var page struct {
			HasMore    bool   `json:"has_more"`
			NextCursor string `json:"next_cursor"`
		}
		_ = json.Unmarshal(b, &page)
		if !page.HasMore || page.NextCursor != "cred-cloned" {
			t.Errorf("first page of the user's credentials: %s", b)
		}
		_ = json.Unmarshal(api.call(s, "GET", p+"/credentials?user_id="+u.ID+"&cursor="+page.NextCursor, nil, 200), &list)
		if len(list.Items) != 1 || list.Items[0].ID != "cred-denied" {
			t.Errorf("second page: %+v", list.Items)
		}
		api.call(s, "GET", p+"/credentials?finding=lost", nil, 422)
		api.call(s, "GET", p+"/credentials?limit=0", nil, 422)

		var f console.Funnel
		_ = json.Unmarshal(api.call(s, "GET", p+"/stats/funnel", nil, 200), &f)
		if len(f.Stages) != 4 || f.Stages[0].Users < 1 || f.Stages[1].Users < 1 || f.Stages[2].Users < 1 {
			t.Errorf("funnel: %+v", f)
		}
	})
}

package console

import (
	"testing"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/internal/i18n"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// TestConsoleWordsCoverCodes: every stored code the console says in
// words (ui_words.go and the pages that build keys from codes) has a
// message in every catalogue, so no page shows a raw code or key in a
// language — the catalogue test sees only the prefix of a built key.
func TestConsoleWordsCoverCodes(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	add := func(prefix string, codes ...string) {
		for _, c := range codes {
			keys = append(keys, prefix+c)
		}
	}
	add("console.method.", append(append([]string{}, policy.LoginMethods...), historyMethods...)...)
	add("console.method.", models.MethodRecoveryCode)
	for code := range reasonTexts {
		add("console.reason.", code)
	}
	add("console.reason.", "unspecified")
	for event := range eventTexts {
		add("console.event.", event+".ok", event+".failed")
	}
	for _, r := range StatsRanges {
		add("console.range.", r.Name, "short_"+r.Name)
		add("console.range_in.", r.Name)
	}
	add("console.finding.", store.Findings...)
	add("console.finding_desc.", store.Findings...)
	for _, e := range models.WebhookCatalogue {
		add("console.webhook_event.", e.Type)
	}
	add("console.webhook.status_", models.MailPending, models.MailSent, models.MailFailed)
	add("console.registration.state_", TokenActive, TokenExpired, TokenUsedUp, TokenRevoked)
	add("console.registration.mode_name_", "off", "protected", "open")
	add("console.registration.mode_text_", "off", "protected", "open")
	add("console.metadata.state_", passkey.MetadataOff, passkey.MetadataMissing, passkey.MetadataCurrent, passkey.MetadataStale)
	add("console.import.action_", ImportCreated, ImportUpdated, ImportUnchanged, ImportInvalid)
	add("console.keys.state_", models.KeyCurrent, models.KeyNext, models.KeyRetired, "active")
	for code := range flashCodes {
		add("console.flash.", code)
	}
	for _, lang := range cat.Languages() {
		for _, k := range keys {
			if !cat.Has(lang, k) {
				t.Errorf("%s: no %q", lang, k)
			}
		}
	}
}

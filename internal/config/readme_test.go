package config

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the README's settings table from the config definitions")

const readmePath = "../../README.md"

// TestREADMESettingsTable fails when the README's settings table is not
// the one generated from Config's tags: a new or changed setting needs its
// row. Regenerate with -update-readme.
func TestREADMESettingsTable(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	before, rest, ok := strings.Cut(readme, ReadmeTableBegin+"\n")
	_, after, ok2 := strings.Cut(rest, ReadmeTableEnd)
	if !ok || !ok2 {
		t.Fatalf("README.md lacks the settings table markers %q … %q", ReadmeTableBegin, ReadmeTableEnd)
	}
	want := before + ReadmeTableBegin + "\n" + MarkdownTable() + ReadmeTableEnd + after
	if want == readme {
		return
	}
	if *updateReadme {
		if err := os.WriteFile(readmePath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("README.md settings table regenerated")
		return
	}
	t.Errorf("README.md's settings table is out of date with internal/config (a setting was added or changed).\n" +
		"Regenerate it with:\n  go test ./internal/config -run TestREADMESettingsTable -update-readme")
}

// TestREADMETableCoversEverySetting: the generated table names each
// setting's flag (SMTP and mail-from included).
func TestREADMETableCoversEverySetting(t *testing.T) {
	table := MarkdownTable()
	for _, n := range append(FlagNames(), "smtp-host", "smtp-password-file", "mail-from", "database-url-file") {
		if !strings.Contains(table, "`--"+n+"`") {
			t.Errorf("table lacks --%s", n)
		}
	}
}

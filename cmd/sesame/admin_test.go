package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models/store"
)

func TestAdminInvite(t *testing.T) {
	dir := t.TempDir()
	r := mustOK(t, inDir(t, dir, "admin", "invite", "--email", "boss@example.com"))
	link := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(link, "http://localhost:8080/console/setup/") || len(link) < 60 {
		t.Fatalf("invite printed %q", r.stdout)
	}
	// Only the token's hash is stored, and the invitation is audited.
	st := openTestStore(t, dir)
	token := link[strings.LastIndex(link, "/")+1:]
	in, err := st.GetAdminInviteByTokenHash(context.Background(), websession.Hash(token))
	if err != nil || in.Email != "boss@example.com" || in.TokenHash == token {
		t.Fatalf("stored invite %+v, %v", in, err)
	}
	if rows, _ := st.ListAuditEntries(context.Background(), store.AuditFilter{Action: "admin.invite"}, 5); len(rows) != 1 || rows[0].ActorKind != "cli" {
		t.Errorf("audit: %+v", rows)
	}
	if r := inDir(t, dir, "admin", "invite"); r.code != exitUsage {
		t.Errorf("missing --email: %+v", r)
	}
	if r := inDir(t, dir, "admin", "invite", "--email", "not-an-address"); r.code != exitUsage || !strings.Contains(r.stderr, "email") {
		t.Errorf("bad --email: %+v", r)
	}
}

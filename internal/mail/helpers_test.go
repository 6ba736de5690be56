package mail_test

import (
	"testing"

	"github.com/sesame-idp/sesame/internal/mail"
	"github.com/sesame-idp/sesame/models/store"
)

// Compile-time checks of the contracts the wiring relies on.
var (
	_ mail.OutboxStore = (*store.Store)(nil)
	_ mail.Sender      = (*mail.LogSender)(nil)
)

const from = "Sesame <no-reply@localhost>"

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

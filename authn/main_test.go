package authn_test

import (
	"os"
	"testing"

	"github.com/sesame-idp/sesame/internal/browsertest"
)

// One Chromium serves all of this package's browser tests, each in a fresh
// profile of its own (browsertest.Main).
func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

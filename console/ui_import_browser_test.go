package console_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
)

// TestConsoleImportInChromium: an admin uploads a CSV, sees the dry run
// row by row (a bad address named on its row, nothing saved), applies it
// and finds the valid rows imported; each view passes checkConsolePage
// (axe-core and the console's checks) at 1280×800 and 390×844, light and
// dark. SESAME_SCREENSHOTS=DIR saves a PNG of each view.
func TestConsoleImportInChromium(t *testing.T) {
	env, httpBrowser, _ := uiAdmin(t)
	ctx := browsertest.New(t)
	adminInChromium(t, ctx, env, httpBrowser)
	file := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(file, []byte("email,name,verified\nada@example.test,Ada Lovelace,true\nnot-an-address,Bob,false\ngrace@example.test,Grace Hopper,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	browsertest.Do(t, ctx, "open users", chromedp.Navigate(env.Issuer+"/console/users"), chromedp.WaitVisible("#import-users"))
	browsertest.Do(t, ctx, "open import", chromedp.Click("#import-users"), chromedp.WaitVisible("#import_file"))
	checkConsolePage(t, ctx, "console-import")
	browsertest.Do(t, ctx, "preview without a file", chromedp.Click("#preview-import"))
	browsertest.Do(t, ctx, "choose the file", chromedp.SetUploadFiles("#import_file", []string{file}), chromedp.Click("#preview-import"),
		chromedp.WaitVisible("#apply-import"))
	browsertest.WaitText(t, ctx, "main", "Preview: nothing is saved yet")
	browsertest.WaitText(t, ctx, "table", "not-an-address")
	browsertest.WaitText(t, ctx, "main", "2 to create")
	if _, err := env.Store.GetUserByEmail(context.Background(), "ada@example.test"); err == nil {
		t.Fatal("the preview saved a user")
	}
	checkConsolePage(t, ctx, "console-import-preview")
	browsertest.Do(t, ctx, "apply", chromedp.Click("#apply-import"))
	browsertest.WaitText(t, ctx, "main", "Imported")
	browsertest.WaitText(t, ctx, "main", "2 created")
	checkConsolePage(t, ctx, "console-import-done")
	for _, e := range []string{"ada@example.test", "grace@example.test"} {
		if _, err := env.Store.GetUserByEmail(context.Background(), e); err != nil {
			t.Errorf("%s not imported: %v", e, err)
		}
	}
}

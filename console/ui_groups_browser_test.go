package console_test

import (
	"context"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// TestConsoleGroupsInChromium: an admin creates a group, adds and removes
// a member, edits a user's profile and limits a client to the group, all
// in Chromium, and each page passes checkConsolePage at 1280×800 and
// 390×844 (axe-core, CSP, one h1, labelled fields, no sideways scrolling,
// visible focus). Refusals (an unknown member, an attribute shadowing a
// registered claim) are shown by their fields; deleting the group goes
// through the admin API from the danger zone. SESAME_SCREENSHOTS=DIR
// saves a PNG of each view.
func TestConsoleGroupsInChromium(t *testing.T) {
	env, httpBrowser, _ := uiAdmin(t)
	ctx := browsertest.New(t)
	bg := context.Background()
	adminInChromium(t, ctx, env, httpBrowser)
	ada := env.CreateUser("ada@example.test")
	env.CreateUser("bob@example.test")
	id, _ := env.CreateClient(clients.Spec{Name: "Payroll", RedirectURIs: []string{"https://payroll.example/cb"}})
	open := func(path, waitFor string) {
		t.Helper()
		browsertest.Do(t, ctx, "open "+path, chromedp.Navigate(env.Issuer+path), chromedp.WaitVisible(waitFor))
	}

	open("/console/groups", "#create-group")
	browsertest.WaitText(t, ctx, "main", "No groups yet")
	checkConsolePage(t, ctx, "console-groups-empty")

	browsertest.Do(t, ctx, "start a group", chromedp.Click("#create-group"), chromedp.WaitVisible("#group_name"))
	browsertest.Do(t, ctx, "name it badly", chromedp.SendKeys("#group_name", "pay roll"), chromedp.Click(`form.group-form button[type=submit]`),
		chromedp.WaitVisible("#group_name-error"))
	browsertest.WaitText(t, ctx, "#group_name-error", "only letters")
	checkConsolePage(t, ctx, "console-group-new")
	browsertest.Do(t, ctx, "create it",
		chromedp.SetValue("#group_name", "payroll"),
		chromedp.SendKeys("#group_description", "Everyone paid through Payroll"),
		chromedp.Click(`form.group-form button[type=submit]`))
	browsertest.WaitText(t, ctx, "main", "Group created")

	browsertest.Do(t, ctx, "add an unknown member", chromedp.SendKeys("#member", "nobody@example.test"), chromedp.Click(`form.add-member button[type=submit]`))
	browsertest.WaitText(t, ctx, "#member-error", "There is no user nobody@example.test")
	browsertest.Do(t, ctx, "add ada", chromedp.SetValue("#member", "ada@example.test"), chromedp.Click(`form.add-member button[type=submit]`))
	browsertest.WaitText(t, ctx, "main", "Member added")
	browsertest.Do(t, ctx, "add bob", chromedp.SendKeys("#member", "bob@example.test"), chromedp.Click(`form.add-member button[type=submit]`))
	browsertest.WaitText(t, ctx, "table", "bob@example.test")
	browsertest.Do(t, ctx, "open the danger zone", chromedp.Click("details.danger-zone summary"))
	checkConsolePage(t, ctx, "console-group")

	browsertest.Do(t, ctx, "remove bob", chromedp.Click(`button[aria-label="Remove bob@example.test"]`))
	acceptConfirmation(t, ctx)
	browsertest.WaitText(t, ctx, "main", "Member removed")
	if names, _ := env.Store.UserGroups(bg, ada.ID); !slices.Equal(names, []string{"payroll"}) {
		t.Errorf("ada's groups = %v", names)
	}

	open("/console/groups", "table")
	browsertest.WaitText(t, ctx, "table", "Everyone paid through Payroll")
	checkConsolePage(t, ctx, "console-groups")

	// The user page: groups and the profile, a refused attribute by its field.
	open("/console/users/"+ada.ID, "#profile-h")
	browsertest.WaitText(t, ctx, "section[aria-labelledby=groups-h]", "payroll")
	browsertest.Do(t, ctx, "fill the profile",
		chromedp.SendKeys("#username", "ada"), chromedp.SendKeys("#given_name", "Ada"), chromedp.SendKeys("#family_name", "Lovelace"),
		chromedp.SendKeys("#locale", "en-GB"),
		chromedp.SetValue("#attributes", `{"sub": "someone-else", "department": "R&D"}`),
		chromedp.Click(`form.profile-form button[type=submit]`))
	browsertest.WaitText(t, ctx, "#attributes-error", "registered claim")
	checkConsolePage(t, ctx, "console-user-profile-error")
	browsertest.Do(t, ctx, "fix the attributes", chromedp.SetValue("#attributes", `{"department": "R&D", "roles": ["payroll-admin"]}`),
		chromedp.Click(`form.profile-form button[type=submit]`))
	browsertest.WaitText(t, ctx, "main", "Profile saved")
	checkConsolePage(t, ctx, "console-user-groups")
	if u, _ := env.Store.GetUser(bg, ada.ID); u.Username == nil || *u.Username != "ada" || u.Attributes["department"] != "R&D" {
		t.Errorf("stored profile %+v", u)
	}

	// The client form: limit Payroll to the group.
	open("/console/clients/"+id, "#client_name")
	browsertest.Do(t, ctx, "allow the group", chromedp.Click(`input[name=allowed_groups][value=payroll]`), chromedp.Click(`form.client-form button[type=submit]`))
	browsertest.WaitText(t, ctx, "main", "Client saved")
	if c, _ := env.Store.GetClient(bg, id); !slices.Equal(c.AllowedGroups, []string{"payroll"}) {
		t.Errorf("allowed groups = %v", c.AllowedGroups)
	}
	browsertest.Do(t, ctx, "scroll to the groups", chromedp.ScrollIntoView(`input[name=allowed_groups]`))
	checkConsolePage(t, ctx, "console-client-groups")

	// Delete the group from its danger zone, which names the app.
	open("/console/groups/payroll", "#members-h")
	browsertest.WaitText(t, ctx, "dl.facts", "Payroll")
	browsertest.Do(t, ctx, "delete it", chromedp.Click("details.danger-zone summary"), chromedp.Click(`details.danger-zone button[type=submit]`))
	acceptConfirmation(t, ctx)
	browsertest.WaitLocation(t, ctx, env.Issuer+"/console/groups?done=group_deleted")
	browsertest.WaitText(t, ctx, "main", "Group deleted.")
	if _, err := env.Store.GetGroup(bg, "payroll"); err == nil {
		t.Error("the group is still there")
	}
}

package authn_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestOAuth2ProxyGuideMatchesCI: the oauth2-proxy guide documents the
// settings CI's oauth2-proxy browser test runs with — every one of them,
// with the same value, and no setting the test does not use besides those
// that name the deployment (issuer, client, URLs, cookie secret) and the
// --allowed-group the groups test adds.
func TestOAuth2ProxyGuideMatchesCI(t *testing.T) {
	raw, err := os.ReadFile("../docs/integrations/oauth2-proxy.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```sh\n(oauth2-proxy .*?)```").FindStringSubmatch(string(raw))
	if block == nil {
		t.Fatal("the guide has no oauth2-proxy command block")
	}
	guide := map[string]string{}
	for _, f := range regexp.MustCompile(`--[a-z0-9-]+=("[^"]*"|\S+)`).FindAllString(block[1], -1) {
		k, v, _ := strings.Cut(f, "=")
		guide[k] = strings.Trim(v, `"`)
	}
	for _, f := range oauth2ProxyGuideFlags {
		k, v, _ := strings.Cut(f, "=")
		if got, ok := guide[k]; !ok || got != v {
			t.Errorf("the guide has %s=%q, CI uses %q", k, got, v)
		}
		delete(guide, k)
	}
	if guide["--allowed-group"] != "staff" {
		t.Errorf("the guide's --allowed-group is %q; CI's groups test uses staff", guide["--allowed-group"])
	}
	for _, k := range []string{"--oidc-issuer-url", "--client-id", "--client-secret", "--redirect-url", "--upstream", "--cookie-secret", "--allowed-group"} {
		if _, ok := guide[k]; !ok {
			t.Errorf("the guide lacks %s", k)
		}
		delete(guide, k)
	}
	for k, v := range guide {
		t.Errorf("the guide sets %s=%s, which CI's test does not use", k, v)
	}
}

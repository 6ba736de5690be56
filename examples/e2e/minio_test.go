package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/internal/testbin"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// minioModule is the MinIO server the guide's test runs (.ci/run installs
// the same into ~/.cache/sesame-ci/bin).
const minioModule = "github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"

// TestMinIOGuideInChromium runs a MinIO server with exactly the settings
// of docs/integrations/minio.md against a real Sesame: a person signs in
// with a passkey through the guide's client (authorization code + PKCE,
// the guide's scopes), and the app exchanges the ID token at MinIO's STS
// (AssumeRoleWithWebIdentity). In no group named like a policy they are
// refused; once in readwrite, the temporary credentials create a bucket
// and write and read an object.
func TestMinIOGuideInChromium(t *testing.T) {
	guide := minioGuide(t)
	bin := testbin.Tool(t, "minio", minioModule)
	env := servertest.New(t, servertest.UnverifiedEmails())
	for _, g := range guide.groups {
		group(t, env, g, nil)
	}
	callbacks, appBase := listenForCallbacks(t, "/oauth_callback")
	redirects := make([]string, len(guide.redirectURIs))
	for i, u := range guide.redirectURIs {
		redirects[i] = strings.Replace(u, "https://minio.example.com", appBase, 1)
	}
	id, secret := env.CreateClient(clients.Spec{Name: "MinIO", SkipConsent: guide.skipConsent, RedirectURIs: redirects, Scopes: guide.scopes})

	apiAddr, consoleAddr := freeAddr(t), freeAddr(t)
	deployment := strings.NewReplacer("https://login.example.com", env.Issuer, "CLIENT_ID", id, "CLIENT_SECRET", secret,
		"https://minio.example.com", appBase)
	minioEnv := []string{"MINIO_ROOT_USER=sesame-test-root", "MINIO_ROOT_PASSWORD=" + rand.Text(), "HOME=" + t.TempDir()}
	for _, kv := range guide.env {
		k, v, _ := strings.Cut(kv, "=")
		minioEnv = append(minioEnv, k+"="+deployment.Replace(v))
	}
	startMinIO(t, bin, minioEnv, apiAddr, consoleAddr)

	oc := oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: redirects[0], Scopes: guide.scopes,
		Endpoint: oauth2.Endpoint{AuthURL: env.Issuer + "/oauth2/authorize", TokenURL: env.Issuer + "/oauth2/token"}}
	browser := browsertest.New(t)
	browsertest.AddAuthenticator(t, browser, browsertest.Passkey())
	email := newEmail("minio")
	signIn := func(first bool) string {
		t.Helper()
		verifier, state := oauth2.GenerateVerifier(), rand.Text()
		browsertest.Do(t, browser, "open the app's sign-in", chromedp.Navigate(oc.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))))
		if first {
			signUpWithPasskey(t, browser, env, email, "Ada MinIO")
		}
		var q url.Values
		select {
		case q = <-callbacks:
		case <-time.After(60 * time.Second):
			t.Fatal("the app never received the callback")
		}
		if q.Get("state") != state {
			t.Fatalf("callback state %q, want %q", q.Get("state"), state)
		}
		tok, err := oc.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("code exchange: %v", err)
		}
		idToken, _ := tok.Extra("id_token").(string)
		if idToken == "" {
			t.Fatal("no ID token")
		}
		return idToken
	}

	// In no group named like a policy: MinIO refuses the exchange.
	if _, err := assumeRoleWithWebIdentity(t, apiAddr, signIn(true)); err == nil {
		t.Fatal("MinIO issued credentials to a person in no policy group")
	} else {
		t.Logf("refused as expected: %v", err)
	}

	group(t, env, "readwrite", userByEmail(t, env, email))
	creds, err := assumeRoleWithWebIdentity(t, apiAddr, signIn(false)) // Sesame's session: no second prompt
	if err != nil {
		t.Fatalf("STS with a readwrite member's ID token: %v", err)
	}
	s3, err := minio.New(apiAddr, &minio.Options{Creds: credentials.NewStaticV4(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s3.MakeBucket(ctx, "reports", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make a bucket with the STS credentials: %v", err)
	}
	body := []byte("quarterly figures")
	if _, err := s3.PutObject(ctx, "reports", "q3.txt", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put an object: %v", err)
	}
	obj, err := s3.GetObject(ctx, "reports", "q3.txt", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if got, err := io.ReadAll(obj); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read back %q, %v", got, err)
	}
}

// stsCredentials are the temporary credentials of an STS answer.
type stsCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

// assumeRoleWithWebIdentity is the guide's curl: POST the ID token to
// MinIO's STS and return the credentials, or MinIO's error.
func assumeRoleWithWebIdentity(t *testing.T, apiAddr, idToken string) (stsCredentials, error) {
	t.Helper()
	form := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "DurationSeconds": {"3600"},
		"WebIdentityToken": {idToken}}
	resp, err := http.PostForm("http://"+apiAddr+"/", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Code    string `xml:"Error>Code"`
			Message string `xml:"Error>Message"`
		}
		_ = xml.Unmarshal(raw, &e)
		return stsCredentials{}, errors.New(resp.Status + ": " + e.Code + ": " + e.Message)
	}
	var ok struct {
		Credentials stsCredentials `xml:"AssumeRoleWithWebIdentityResult>Credentials"`
	}
	if err := xml.Unmarshal(raw, &ok); err != nil || ok.Credentials.AccessKeyID == "" || ok.Credentials.SessionToken == "" {
		t.Fatalf("STS answer without credentials (%v): %s", err, raw)
	}
	return ok.Credentials, nil
}

// startMinIO runs a single-drive MinIO server until the test ends and
// waits until it is ready.
func startMinIO(t *testing.T, bin string, env []string, apiAddr, consoleAddr string) {
	t.Helper()
	cmd := exec.Command(bin, "server", filepath.Join(t.TempDir(), "data"), "--address", apiAddr, "--console-address", consoleAddr, "--quiet")
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("MinIO said:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + apiAddr + "/minio/health/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("MinIO not ready on %s within 60 s", apiAddr)
}

// listenForCallbacks listens on a loopback port as an app's redirect URI
// does and hands each callback's query to the test; it returns the app's
// base URL.
func listenForCallbacks(t *testing.T, path string) (<-chan url.Values, string) {
	t.Helper()
	return listenForCallbacksOn(t, "127.0.0.1:0", path, "Signed in")
}

// listenForCallbacksOn is listenForCallbacks on addr, answering with text.
func listenForCallbacksOn(t *testing.T, addr, path, text string) (<-chan url.Values, string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan url.Values, 1)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		got <- r.URL.Query()
		_, _ = w.Write([]byte("<!doctype html><title>App</title><p>" + text + "</p>"))
	})}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("callback listener: %v", err)
		}
	}()
	t.Cleanup(func() { _ = srv.Close() })
	return got, "http://" + ln.Addr().String()
}

// minioGuideText is what docs/integrations/minio.md tells people to run.
type minioGuideText struct {
	groups, redirectURIs, scopes []string
	skipConsent                  bool
	env                          []string // MINIO_…=… lines
}

var envBlock = regexp.MustCompile("(?s)```\n(MINIO_.*?)```")

func minioGuide(t *testing.T) minioGuideText {
	t.Helper()
	raw, err := os.ReadFile("../../docs/integrations/minio.md")
	if err != nil {
		t.Fatal(err)
	}
	var g minioGuideText
	for _, block := range shellBlock.FindAllStringSubmatch(string(raw), -1) {
		for _, cmd := range strings.Split(strings.ReplaceAll(block[1], "\\\n", " "), "\n") {
			words := shellWord.FindAllString(cmd, -1)
			for i := range words {
				words[i] = strings.Trim(words[i], `"`)
			}
			switch {
			case len(words) > 3 && words[0] == "sesame" && words[1] == "group" && words[2] == "create":
				g.groups = append(g.groups, words[3])
			case len(words) > 3 && words[0] == "sesame" && words[1] == "client" && words[2] == "create":
				for i := 3; i < len(words); i++ {
					switch words[i] {
					case "--redirect-uri":
						i++
						g.redirectURIs = append(g.redirectURIs, words[i])
					case "--scope":
						i++
						g.scopes = append(g.scopes, strings.Split(words[i], ",")...)
					case "--skip-consent":
						g.skipConsent = true
					}
				}
			}
		}
	}
	m := envBlock.FindStringSubmatch(string(raw))
	if m == nil {
		t.Fatal("the guide has no MINIO_… environment block")
	}
	for _, line := range strings.Split(strings.TrimSpace(m[1]), "\n") {
		if k, _, ok := strings.Cut(line, "="); !ok || !strings.HasPrefix(k, "MINIO_") {
			t.Fatalf("environment line %q is not MINIO_…=…", line)
		}
		g.env = append(g.env, line)
	}
	if len(g.groups) == 0 || len(g.redirectURIs) == 0 || len(g.scopes) == 0 {
		t.Fatalf("the guide's commands did not parse: %+v", g)
	}
	return g
}

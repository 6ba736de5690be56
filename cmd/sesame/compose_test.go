package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/server"
)

// No Docker engine runs here, so compose.yaml is checked by loading it
// with the compose-spec reference loader (which validates it against the
// compose schema and interpolates variables) and inspecting the result:
// the services exist, start in order of health, have healthchecks, and
// every SESAME_* variable is a setting Sesame really reads.
func TestComposeFile(t *testing.T) {
	path, err := filepath.Abs("../../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	load := func(env map[string]string) (*types.Project, error) {
		return loader.LoadWithContext(context.Background(), types.ConfigDetails{
			WorkingDir:  filepath.Dir(path),
			ConfigFiles: []types.ConfigFile{{Filename: path, Content: b}},
			Environment: env,
		}, func(o *loader.Options) { o.SetProjectName("sesame", true) })
	}
	// The secret is required: without it compose must refuse to start.
	if _, err := load(map[string]string{}); err == nil || !strings.Contains(err.Error(), "SESAME_SYSTEM_SECRET") {
		t.Errorf("compose.yaml loads without SESAME_SYSTEM_SECRET (err %v); it must be required", err)
	}
	p, err := load(map[string]string{"SESAME_SYSTEM_SECRET": strings.Repeat("s", 48)})
	if err != nil {
		t.Fatalf("load compose.yaml: %v", err)
	}

	for _, name := range []string{"postgres", "mailpit", "sesame"} {
		if _, ok := p.Services[name]; !ok {
			t.Fatalf("service %s missing", name)
		}
	}
	sesame := p.Services["sesame"]
	if sesame.Build == nil || sesame.Build.Context != filepath.Dir(path) {
		t.Errorf("sesame is not built from the repository's Dockerfile: %+v", sesame.Build)
	}
	for _, dep := range []string{"postgres", "mailpit"} {
		d, ok := sesame.DependsOn[dep]
		if !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("sesame must depend on %s being healthy (got %+v)", dep, d)
		}
	}
	for _, name := range []string{"postgres", "mailpit", "sesame"} {
		hc := p.Services[name].HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 2 || hc.Interval == nil || hc.Retries == nil {
			t.Errorf("service %s needs a healthcheck with test, interval and retries (got %+v)", name, hc)
		}
	}
	if hc := sesame.HealthCheck; hc != nil && !slices.Contains(hc.Test, "healthcheck") {
		t.Errorf("sesame's healthcheck should run `sesame healthcheck` (the image has no shell): %v", hc.Test)
	}

	// Every SESAME_* variable is one of config's env names.
	known := map[string]bool{}
	ct := reflect.TypeFor[config.Config]()
	for i := range ct.NumField() {
		for _, e := range strings.Split(ct.Field(i).Tag.Get("env"), ",") {
			if e != "" {
				known[e] = true
			}
		}
	}
	env := map[string]string{}
	for name, svc := range p.Services {
		for k, v := range svc.Environment {
			if !strings.HasPrefix(k, "SESAME_") {
				continue
			}
			if name != "sesame" {
				t.Errorf("service %s sets %s", name, k)
			}
			if !known[k] {
				t.Errorf("%s in compose.yaml is not a Sesame setting (see config.Config's env tags)", k)
			}
			if v != nil {
				env[k] = *v
			}
		}
	}
	// The settings are valid together: load them like the server does.
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("compose environment: %v", err)
	}
	if err := server.ValidateConfig(cfg); err != nil {
		t.Errorf("compose environment does not validate: %v", err)
	}
	if cfg.SMTPHost != "mailpit" || cfg.SMTPTLS == "none" || cfg.SMTPCAFile == "" {
		t.Errorf("mail to mailpit must use TLS with the generated certificate: host %q tls %q ca %q", cfg.SMTPHost, cfg.SMTPTLS, cfg.SMTPCAFile)
	}
	if !cfg.UsesPostgres() || !strings.Contains(cfg.DatabaseURL, "@postgres:5432/") {
		t.Errorf("sesame must use the postgres service: %q", cfg.DatabaseURL)
	}
	// The CA file is on a volume Mailpit's certificate is written to.
	if !mounts(sesame, "/certs") || !mounts(p.Services["mailpit"], "/certs") {
		t.Error("sesame and mailpit must share the certificate volume at /certs")
	}
}

func mounts(s types.ServiceConfig, target string) bool {
	for _, v := range s.Volumes {
		if v.Target == target {
			return true
		}
	}
	return false
}

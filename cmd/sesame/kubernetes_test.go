package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sesame-idp/sesame/internal/config"
)

// TestKubernetesManifest reads deploy/kubernetes/sesame.yaml and checks
// what an operator relies on: probes on /readyz and /healthz, a grace
// period longer than the drain delay plus the shutdown timeout, non-root
// with a read-only root filesystem, secrets as files in the mounted form
// Sesame accepts, and only real SESAME_* settings.
func TestKubernetesManifest(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/kubernetes/sesame.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type container struct {
		Env []struct {
			Name  string `yaml:"name"`
			Value string `yaml:"value"`
		} `yaml:"env"`
		ReadinessProbe struct {
			HTTPGet struct{ Path string } `yaml:"httpGet"`
		} `yaml:"readinessProbe"`
		LivenessProbe struct {
			HTTPGet struct{ Path string } `yaml:"httpGet"`
		} `yaml:"livenessProbe"`
		SecurityContext struct {
			ReadOnlyRootFilesystem   bool `yaml:"readOnlyRootFilesystem"`
			AllowPrivilegeEscalation bool `yaml:"allowPrivilegeEscalation"`
		} `yaml:"securityContext"`
	}
	type doc struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Replicas int `yaml:"replicas"`
			Template struct {
				Spec struct {
					Grace           int `yaml:"terminationGracePeriodSeconds"`
					SecurityContext struct {
						RunAsNonRoot bool `yaml:"runAsNonRoot"`
						FSGroup      int  `yaml:"fsGroup"`
					} `yaml:"securityContext"`
					Containers []container `yaml:"containers"`
					Volumes    []struct {
						Secret *struct {
							DefaultMode int `yaml:"defaultMode"`
						} `yaml:"secret"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var kinds []string
	var dep *doc
	for {
		var d doc
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, d.Kind)
		if d.Kind == "Deployment" {
			dep = &d
		}
	}
	for _, k := range []string{"Service", "Deployment", "PodDisruptionBudget"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("no %s in the manifest (kinds %v)", k, kinds)
		}
	}
	if dep == nil {
		t.Fatal("no Deployment")
	}
	ps := dep.Spec.Template.Spec
	if dep.Spec.Replicas < 2 || len(ps.Containers) != 1 {
		t.Fatalf("replicas %d, containers %d", dep.Spec.Replicas, len(ps.Containers))
	}
	c := ps.Containers[0]
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probes: %q %q", c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path)
	}
	if !ps.SecurityContext.RunAsNonRoot || !c.SecurityContext.ReadOnlyRootFilesystem || c.SecurityContext.AllowPrivilegeEscalation {
		t.Error("pod must run non-root, read-only root filesystem, no privilege escalation")
	}
	// fsGroup makes the Secret files root:fsGroup, the group-readable
	// form Sesame accepts.
	if ps.SecurityContext.FSGroup == 0 {
		t.Error("no fsGroup: mounted secret files would not be readable by the non-root user")
	}
	env := map[string]string{}
	known := map[string]bool{}
	for _, n := range config.FlagNames() {
		known["SESAME_"+strings.ToUpper(strings.ReplaceAll(n, "-", "_"))] = true
	}
	known["SESAME_TRUSTED_PROXIES"], known["SESAME_RP_ORIGINS"], known["SESAME_OUTBOUND_ALLOW_CIDRS"] = true, true, true
	for _, e := range c.Env {
		if !known[e.Name] {
			t.Errorf("%s is not a Sesame setting", e.Name)
		}
		env[e.Name] = e.Value
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("the manifest's environment does not load: %v", err)
	}
	if cfg.SystemSecretFile == "" || cfg.DatabaseURLFile == "" || cfg.SystemSecret != "" || cfg.DatabaseURL != "" {
		t.Error("secrets must come from mounted files, not the environment")
	}
	if grace := ps.Grace; float64(grace) <= (cfg.ShutdownDrainDelay + cfg.ShutdownTimeout).Seconds() {
		t.Errorf("terminationGracePeriodSeconds %d must exceed drain delay %s + shutdown timeout %s", grace, cfg.ShutdownDrainDelay, cfg.ShutdownTimeout)
	}
	var mode int
	for _, v := range ps.Volumes {
		if v.Secret != nil {
			mode = v.Secret.DefaultMode
		}
	}
	if mode != 0o440 && mode != 0o400 {
		t.Errorf("secret volume defaultMode %o: Sesame refuses files readable by others", mode)
	}
}

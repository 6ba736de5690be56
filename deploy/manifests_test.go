// Package deploy_test checks the Kubernetes deployment files: the Helm
// chart in helm/sesame, rendered by Helm's own engine for several sets of
// values, and the plain manifests in kubernetes/. Every object is decoded
// strictly into its Kubernetes API type (an unknown, misspelled or
// duplicated field fails, as the API server's strict field validation
// would), then checked for what an operator relies on. There is no cluster
// in CI.
package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/sesame-idp/sesame/internal/config"
)

// apiTypes maps apiVersion/kind to the API type a document must decode
// into; any other apiVersion or kind is an error.
var apiTypes = map[string]reflect.Type{
	"v1/Service":                              reflect.TypeFor[corev1.Service](),
	"v1/ServiceAccount":                       reflect.TypeFor[corev1.ServiceAccount](),
	"apps/v1/Deployment":                      reflect.TypeFor[appsv1.Deployment](),
	"policy/v1/PodDisruptionBudget":           reflect.TypeFor[policyv1.PodDisruptionBudget](),
	"autoscaling/v2/HorizontalPodAutoscaler":  reflect.TypeFor[autoscalingv2.HorizontalPodAutoscaler](),
	"networking.k8s.io/v1/Ingress":            reflect.TypeFor[networkingv1.Ingress](),
	"monitoring.coreos.com/v1/ServiceMonitor": reflect.TypeFor[monitoringv1.ServiceMonitor](),
}

// objects is one rendering's decoded objects by kind (the chart and the
// manifests make at most one of each).
type objects map[string]any

func get[T any](o objects, kind string) *T {
	v, _ := o[kind].(*T)
	return v
}

func (o objects) kinds() []string {
	var out []string
	for k := range o {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// decodeAll splits a multi-document YAML stream and decodes each
// non-empty document strictly (decodeStrict) into o.
func decodeAll(src string, raw []byte, o objects) error {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		if !hasContent(doc) {
			continue
		}
		kind, obj, err := decodeStrict(doc)
		if err != nil {
			return fmt.Errorf("%s, document %d: %w", src, i, err)
		}
		if _, dup := o[kind]; dup {
			return fmt.Errorf("%s: a second %s", src, kind)
		}
		o[kind] = obj
	}
}

// hasContent reports whether a YAML document holds more than comments,
// blank lines and its separator.
func hasContent(doc []byte) bool {
	for line := range bytes.Lines(doc) {
		l := bytes.TrimSpace(line)
		if len(l) > 0 && l[0] != '#' && !bytes.Equal(l, []byte("---")) {
			return true
		}
	}
	return false
}

// decodeStrict decodes one document into the API type its apiVersion and
// kind name. Duplicate keys and unknown fields are errors, and field names
// match case-sensitively (sigs.k8s.io/json, the decoder the API server
// uses), which encoding/json's DisallowUnknownFields alone would not do.
func decodeStrict(doc []byte) (string, any, error) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return "", nil, err
	}
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &meta); err != nil {
		return "", nil, err
	}
	t, ok := apiTypes[meta.APIVersion+"/"+meta.Kind]
	if !ok {
		return "", nil, fmt.Errorf("apiVersion %q kind %q: not a type this test knows", meta.APIVersion, meta.Kind)
	}
	obj := reflect.New(t).Interface()
	strict, err := kjson.UnmarshalStrict(js, obj)
	if err == nil && len(strict) > 0 {
		err = errors.Join(strict...)
	}
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", meta.Kind, err)
	}
	return meta.Kind, obj, nil
}

// TestDecodeStrictRefuses: the decoder the other tests rely on refuses
// what the API server's strict validation refuses.
func TestDecodeStrictRefuses(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown field", "apiVersion: v1\nkind: Service\nspec:\n  selectr: {a: b}\n", `unknown field "spec.selectr"`},
		{"wrong case", "apiVersion: v1\nkind: Service\nspec:\n  Selector: {a: b}\n", `unknown field "spec.Selector"`},
		{"duplicate key", "apiVersion: v1\nkind: Service\nspec:\n  type: ClusterIP\n  type: NodePort\n", `key "type" already set`},
		{"wrong type", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: two\n", "replicas"},
		{"unknown kind", "apiVersion: v1\nkind: Servce\n", "not a type"},
		{"old apiVersion", "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\n", "not a type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decodeStrict([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("decodeStrict: %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

// settingEnv is every environment variable Sesame reads as a setting.
func settingEnv() map[string]bool {
	known := map[string]bool{}
	for _, n := range config.EnvNames() {
		known[n] = true
	}
	return known
}

// workload is what checkWorkload found, for the callers' own checks.
type workload struct {
	dep *appsv1.Deployment
	pod corev1.PodSpec
	c   corev1.Container
	env map[string]string
	cfg config.Config
	// preStop is the preStop sleep in seconds (0: none).
	preStop int64
}

// checkWorkload checks what the chart and the plain manifests share: a
// Deployment of one Sesame container with probes on /readyz and /healthz,
// non-root with a read-only root filesystem, only real SESAME_* settings
// that Sesame's own loader accepts, every secret from a file on a mounted
// Secret in the form Sesame accepts, a grace period longer than the whole
// shutdown, and a Service and PodDisruptionBudget that select its pods.
func checkWorkload(t *testing.T, o objects) workload {
	t.Helper()
	var w workload
	w.dep = get[appsv1.Deployment](o, "Deployment")
	if w.dep == nil {
		t.Fatalf("no Deployment (kinds %v)", o.kinds())
	}
	w.pod = w.dep.Spec.Template.Spec
	podLabels := w.dep.Spec.Template.Labels
	if w.dep.Spec.Selector == nil || !selects(w.dep.Spec.Selector.MatchLabels, podLabels) {
		t.Errorf("Deployment selector %v does not select its pods %v", w.dep.Spec.Selector, podLabels)
	}
	if len(w.pod.Containers) != 1 {
		t.Fatalf("%d containers; want 1", len(w.pod.Containers))
	}
	w.c = w.pod.Containers[0]
	ports := map[string]int32{}
	for _, p := range w.c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["http"] == 0 {
		t.Errorf("container has no port named http: %v", w.c.Ports)
	}
	for _, p := range []struct {
		what  string
		probe *corev1.Probe
		path  string
	}{{"readiness", w.c.ReadinessProbe, "/readyz"}, {"liveness", w.c.LivenessProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.StrVal != "http" {
			t.Errorf("%s probe %+v; want GET %s on port http", p.what, p.probe, p.path)
		}
	}

	psc, csc := w.pod.SecurityContext, w.c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Error("pod must run as a non-root user")
	}
	if csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem ||
		csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation ||
		csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") {
		t.Error("container must have a read-only root filesystem, no privilege escalation and drop ALL capabilities")
	}
	// fsGroup makes the Secret files root:fsGroup, the group-readable form
	// Sesame accepts from a file it does not own.
	if psc == nil || psc.FSGroup == nil || *psc.FSGroup == 0 {
		t.Error("no fsGroup: mounted secret files would not be readable by the non-root user")
	}

	known := settingEnv()
	w.env = map[string]string{}
	for _, e := range w.c.Env {
		if e.ValueFrom != nil {
			t.Errorf("%s from valueFrom: secrets come as files, settings as values", e.Name)
		}
		if strings.HasPrefix(e.Name, "SESAME_") && !known[e.Name] {
			t.Errorf("%s is not a Sesame setting", e.Name)
		}
		w.env[e.Name] = e.Value
	}
	cfg, err := config.Load(nil, func(k string) string { return w.env[k] })
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		t.Fatalf("Sesame refuses the container's settings: %v", err)
	}
	w.cfg = cfg
	if cfg.SystemSecretFile == "" || cfg.DatabaseURLFile == "" || cfg.SystemSecret != "" || cfg.DatabaseURL != "" ||
		cfg.SMTPPassword != "" {
		t.Error("the system secret and the database URL must come from mounted files, and no secret from the environment")
	}
	for name, file := range w.env {
		if strings.HasPrefix(name, "SESAME_") && strings.HasSuffix(name, "_FILE") {
			checkSecretFile(t, w.pod, w.c, name, file)
		}
	}

	if w.c.Lifecycle != nil && w.c.Lifecycle.PreStop != nil {
		if w.c.Lifecycle.PreStop.Sleep == nil {
			t.Errorf("preStop %+v: only a sleep works in Sesame's distroless image (no shell)", w.c.Lifecycle.PreStop)
		} else {
			w.preStop = w.c.Lifecycle.PreStop.Sleep.Seconds
		}
	}
	shutdown := float64(w.preStop) + (cfg.ShutdownDrainDelay + cfg.ShutdownTimeout).Seconds()
	if g := w.pod.TerminationGracePeriodSeconds; g == nil || float64(*g) <= shutdown {
		t.Errorf("terminationGracePeriodSeconds %v must exceed preStop %ds + drain delay %s + shutdown timeout %s",
			g, w.preStop, cfg.ShutdownDrainDelay, cfg.ShutdownTimeout)
	}

	svc := get[corev1.Service](o, "Service")
	if svc == nil {
		t.Fatal("no Service")
	}
	if !selects(svc.Spec.Selector, podLabels) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, podLabels)
	}
	for _, p := range svc.Spec.Ports {
		if ports[p.TargetPort.StrVal] == 0 {
			t.Errorf("Service port %s targets %q, not a named container port", p.Name, p.TargetPort.String())
		}
	}
	if pdb := get[policyv1.PodDisruptionBudget](o, "PodDisruptionBudget"); pdb != nil {
		if pdb.Spec.Selector == nil || !selects(pdb.Spec.Selector.MatchLabels, podLabels) {
			t.Errorf("PodDisruptionBudget selector %v does not select the pods", pdb.Spec.Selector)
		}
		if pdb.Spec.MinAvailable == nil && pdb.Spec.MaxUnavailable == nil {
			t.Error("PodDisruptionBudget with neither minAvailable nor maxUnavailable")
		}
	}
	return w
}

// checkSecretFile: the file a SESAME_*_FILE setting names lies on a
// read-only mount of a Secret volume (plain or projected) that provides
// it, with a mode Sesame accepts (0440 root:fsGroup or 0400).
func checkSecretFile(t *testing.T, pod corev1.PodSpec, c corev1.Container, setting, file string) {
	t.Helper()
	dir, base := path.Split(file)
	var mount *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if strings.TrimSuffix(m.MountPath, "/")+"/" == dir {
			mount = &c.VolumeMounts[i]
		}
	}
	if mount == nil || !mount.ReadOnly {
		t.Errorf("%s=%s: no read-only volume mounted at %s", setting, file, dir)
		return
	}
	var vol *corev1.Volume
	for i, v := range pod.Volumes {
		if v.Name == mount.Name {
			vol = &pod.Volumes[i]
		}
	}
	var mode *int32
	provided := false
	switch {
	case vol == nil:
	case vol.Secret != nil:
		mode = vol.Secret.DefaultMode
		// Without items every key of the Secret is a file.
		provided = len(vol.Secret.Items) == 0 || slices.ContainsFunc(vol.Secret.Items, func(k corev1.KeyToPath) bool { return k.Path == base })
	case vol.Projected != nil:
		mode = vol.Projected.DefaultMode
		for _, s := range vol.Projected.Sources {
			if s.Secret != nil && slices.ContainsFunc(s.Secret.Items, func(k corev1.KeyToPath) bool { return k.Path == base }) {
				provided = true
			}
		}
	}
	if !provided {
		t.Errorf("%s=%s: volume %q does not provide %s from a Secret", setting, file, mount.Name, base)
	}
	if mode == nil || (*mode != 0o440 && *mode != 0o400) {
		t.Errorf("%s: secret volume mode %v; Sesame refuses files readable by others", setting, mode)
	}
}

// selects reports whether a non-empty selector picks objects labelled set.
func selects(selector, set map[string]string) bool {
	return len(selector) > 0 && labels.SelectorFromSet(selector).Matches(labels.Set(set))
}

// TestKubernetesManifest: deploy/kubernetes/sesame.yaml, the manifests for
// people without Helm, decode strictly and pass the checks the chart
// passes: 2 replicas, Service and PodDisruptionBudget.
func TestKubernetesManifest(t *testing.T) {
	raw, err := os.ReadFile("kubernetes/sesame.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o := objects{}
	if err := decodeAll("kubernetes/sesame.yaml", raw, o); err != nil {
		t.Fatal(err)
	}
	if got, want := o.kinds(), []string{"Deployment", "PodDisruptionBudget", "Service"}; !slices.Equal(got, want) {
		t.Errorf("kinds %v; want %v", got, want)
	}
	w := checkWorkload(t, o)
	if r := w.dep.Spec.Replicas; r == nil || *r < 2 {
		t.Errorf("replicas %v; want at least 2", r)
	}
	if get[policyv1.PodDisruptionBudget](o, "PodDisruptionBudget") == nil {
		t.Error("no PodDisruptionBudget")
	}
}

package deploy_test

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
)

const chartDir = "helm/sesame"

// render renders the chart as `helm template sesame helm/sesame -f
// values` would, with Helm's loader and engine (strict: a template that
// reads a value the chart does not define fails), and decodes every
// manifest strictly.
func render(t *testing.T, values string) (objects, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	vals, err := common.ReadValues([]byte(values))
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	top, err := util.ToRenderValuesWithSchemaValidation(ch, vals, common.ReleaseOptions{
		Name: "sesame", Namespace: "idp", Revision: 1, IsInstall: true,
	}, common.DefaultCapabilities, false)
	if err != nil {
		return nil, err
	}
	files, err := engine.Engine{Strict: true}.Render(ch, top)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	o := objects{}
	for _, name := range names {
		if !strings.HasSuffix(name, ".yaml") {
			continue // NOTES.txt
		}
		if err := decodeAll(name, []byte(files[name]), o); err != nil {
			t.Fatal(err)
		}
	}
	return o, nil
}

// base is the least an install needs: the issuer (the Secrets default to
// one named sesame).
const base = "issuer: https://login.example.com\n"

// TestHelmChart renders the chart for several sets of values; each
// rendering decodes strictly into the Kubernetes API types and passes the
// checks the plain manifests pass (checkWorkload), and then its own.
func TestHelmChart(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values string
		kinds  []string
		check  func(t *testing.T, o objects, w workload)
	}{
		{
			name:   "defaults",
			values: base,
			kinds:  []string{"Deployment", "PodDisruptionBudget", "Service", "ServiceAccount"},
			check: func(t *testing.T, o objects, w workload) {
				if r := w.dep.Spec.Replicas; r == nil || *r != 2 {
					t.Errorf("replicas %v; want 2", r)
				}
				// One drain: the preStop sleep holds the pod for the drain,
				// so Sesame's own drain is off.
				if w.preStop != 5 || w.cfg.ShutdownDrainDelay != 0 || w.cfg.ShutdownTimeout != 15*time.Second {
					t.Errorf("preStop sleep %ds, shutdown_drain_delay %s, shutdown_timeout %s; want 5s, 0s, 15s",
						w.preStop, w.cfg.ShutdownDrainDelay, w.cfg.ShutdownTimeout)
				}
				if w.cfg.Issuer != "https://login.example.com" || w.cfg.Listen != ":8080" || w.env["SESAME_METRICS_LISTEN"] != ":9090" {
					t.Errorf("issuer %q listen %q metrics listen %q", w.cfg.Issuer, w.cfg.Listen, w.env["SESAME_METRICS_LISTEN"])
				}
				if w.c.Image != "ghcr.io/sesame-idp/sesame:0.1.0" {
					t.Errorf("image %q; want the chart's appVersion", w.c.Image)
				}
				if w.c.Resources.Requests.Cpu().IsZero() || w.c.Resources.Limits.Memory().IsZero() {
					t.Errorf("resources %+v: want a CPU request and a memory limit", w.c.Resources)
				}
				if a := w.pod.AutomountServiceAccountToken; a == nil || *a {
					t.Error("the service account token is mounted; Sesame never calls the Kubernetes API")
				}
				if _, ok := w.env["SESAME_SMTP_PASSWORD_FILE"]; ok {
					t.Error("SMTP password file without secrets.smtpPassword")
				}
				svc := get[corev1.Service](o, "Service")
				if len(svc.Spec.Ports) != 2 || svc.Spec.Ports[0].Port != 80 || svc.Spec.Ports[1].Name != "metrics" {
					t.Errorf("Service ports %+v; want http on 80 and metrics", svc.Spec.Ports)
				}
				pdb := get[policyv1.PodDisruptionBudget](o, "PodDisruptionBudget")
				if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
					t.Errorf("PodDisruptionBudget maxUnavailable %v; want 1", pdb.Spec.MaxUnavailable)
				}
				if len(w.pod.TopologySpreadConstraints) != 1 || !selects(w.pod.TopologySpreadConstraints[0].LabelSelector.MatchLabels, w.dep.Spec.Template.Labels) {
					t.Errorf("topology spread %+v; want one over the release's pods", w.pod.TopologySpreadConstraints)
				}
			},
		},
		{
			name: "ingress, autoscaling and a ServiceMonitor",
			values: base + `
ingress: {enabled: true, className: nginx, tlsSecretName: login-tls}
autoscaling: {enabled: true, minReplicas: 3, maxReplicas: 9}
metrics:
  serviceMonitor: {enabled: true, labels: {release: prometheus}}
`,
			kinds: []string{"Deployment", "HorizontalPodAutoscaler", "Ingress", "PodDisruptionBudget", "Service", "ServiceAccount", "ServiceMonitor"},
			check: func(t *testing.T, o objects, w workload) {
				if w.dep.Spec.Replicas != nil {
					t.Errorf("replicas %d with an HPA: each upgrade would reset the HPA's count", *w.dep.Spec.Replicas)
				}
				hpa := get[autoscalingv2.HorizontalPodAutoscaler](o, "HorizontalPodAutoscaler")
				ref := hpa.Spec.ScaleTargetRef
				if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || ref.Name != w.dep.Name ||
					hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas != 9 {
					t.Errorf("HPA %+v; want apps/v1 Deployment %s, 3 to 9", hpa.Spec, w.dep.Name)
				}
				ing := get[networkingv1.Ingress](o, "Ingress")
				svc := get[corev1.Service](o, "Service")
				if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != "login.example.com" ||
					len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "login-tls" ||
					ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
					t.Fatalf("Ingress %+v; want the issuer's host with TLS from login-tls, class nginx", ing.Spec)
				}
				paths := ing.Spec.Rules[0].HTTP.Paths
				if len(paths) != 1 || paths[0].Path != "/" || paths[0].Backend.Service == nil ||
					paths[0].Backend.Service.Name != svc.Name || paths[0].Backend.Service.Port.Name != "http" {
					t.Errorf("Ingress paths %+v; want / to the Service's http port", paths)
				}
				sm := get[monitoringv1.ServiceMonitor](o, "ServiceMonitor")
				if !selects(sm.Spec.Selector.MatchLabels, svc.Labels) || sm.Labels["release"] != "prometheus" {
					t.Errorf("ServiceMonitor selector %v, labels %v; want the Service (labels %v) and release=prometheus",
						sm.Spec.Selector.MatchLabels, sm.Labels, svc.Labels)
				}
				if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" ||
					sm.Spec.Endpoints[0].Path != "/metrics" || sm.Spec.Endpoints[0].Authorization != nil {
					t.Errorf("ServiceMonitor endpoints %+v; want /metrics on the metrics port", sm.Spec.Endpoints)
				}
				if get[policyv1.PodDisruptionBudget](o, "PodDisruptionBudget") == nil {
					t.Error("no PodDisruptionBudget with 3 replicas at least")
				}
			},
		},
		{
			name: "metrics on the main port behind a token, Sesame drains itself",
			values: base + `
secrets:
  metricsToken: {name: sesame-metrics, key: token}
metrics:
  port: 0
  serviceMonitor: {enabled: true}
shutdown: {preStopSleep: false, drainDelaySeconds: 8, timeoutSeconds: 20}
`,
			kinds: []string{"Deployment", "PodDisruptionBudget", "Service", "ServiceAccount", "ServiceMonitor"},
			check: func(t *testing.T, o objects, w workload) {
				if w.preStop != 0 || w.cfg.ShutdownDrainDelay != 8*time.Second || w.cfg.ShutdownTimeout != 20*time.Second {
					t.Errorf("preStop %ds, shutdown_drain_delay %s, shutdown_timeout %s; want none, 8s, 20s",
						w.preStop, w.cfg.ShutdownDrainDelay, w.cfg.ShutdownTimeout)
				}
				if g := *w.pod.TerminationGracePeriodSeconds; g != 33 {
					t.Errorf("grace period %d; want 8+20+5", g)
				}
				if _, ok := w.env["SESAME_METRICS_LISTEN"]; ok || w.env["SESAME_METRICS_TOKEN_FILE"] != "/run/secrets/sesame/metrics-token" {
					t.Errorf("env %v: want no metrics listener and the token from its file", w.env)
				}
				if svc := get[corev1.Service](o, "Service"); len(svc.Spec.Ports) != 1 {
					t.Errorf("Service ports %+v; want http only", svc.Spec.Ports)
				}
				sm := get[monitoringv1.ServiceMonitor](o, "ServiceMonitor")
				ep := sm.Spec.Endpoints[0]
				if ep.Port != "http" || ep.Authorization == nil || ep.Authorization.Credentials == nil ||
					ep.Authorization.Credentials.Name != "sesame-metrics" || ep.Authorization.Credentials.Key != "token" {
					t.Errorf("ServiceMonitor endpoint %+v; want the http port with the token's Secret as bearer", ep)
				}
			},
		},
		{
			name: "one replica, SMTP, settings, CloudNativePG's Secret",
			values: `
issuer: https://id.example.org/
replicaCount: 1
fullnameOverride: x
image: {digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
secrets:
  databaseURL: {name: pg-app, key: uri}
  smtpPassword: {name: smtp, key: password}
settings:
  smtp_host: smtp.example.org
  smtp_port: 587
  smtp_username: sesame
  mail_from: "Sesame <login@example.org>"
  trusted_proxies: [10.0.0.0/8, 192.168.0.0/16]
  log_level: debug
extraEnv:
  - {name: OTEL_SERVICE_NAME, value: sesame}
`,
			kinds: []string{"Deployment", "Service", "ServiceAccount"},
			check: func(t *testing.T, o objects, w workload) {
				if w.cfg.SMTPHost != "smtp.example.org" || w.cfg.SMTPPort != 587 || w.cfg.SMTPPasswordFile != "/run/secrets/sesame/smtp-password" ||
					!slices.Equal(w.cfg.TrustedProxies, []string{"10.0.0.0/8", "192.168.0.0/16"}) || w.cfg.LogLevel != "debug" {
					t.Errorf("settings did not reach Sesame: %+v", w.env)
				}
				if w.env["OTEL_SERVICE_NAME"] != "sesame" {
					t.Error("extraEnv missing")
				}
				if !strings.HasSuffix(w.c.Image, "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") {
					t.Errorf("image %q; want the digest", w.c.Image)
				}
				var sources []string
				for _, v := range w.pod.Volumes {
					if v.Projected != nil {
						for _, s := range v.Projected.Sources {
							sources = append(sources, s.Secret.Name+"/"+s.Secret.Items[0].Key+"→"+s.Secret.Items[0].Path)
						}
					}
				}
				want := []string{"sesame/system-secret→system-secret", "pg-app/uri→database-url", "smtp/password→smtp-password"}
				if !slices.Equal(sources, want) {
					t.Errorf("secret files %v; want %v", sources, want)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := render(t, tc.values)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if got := o.kinds(); !slices.Equal(got, tc.kinds) {
				t.Errorf("kinds %v; want %v", got, tc.kinds)
			}
			w := checkWorkload(t, o)
			for kind, obj := range o {
				if l := labelsOf(obj); l["app.kubernetes.io/instance"] != "sesame" || l["app.kubernetes.io/managed-by"] != "Helm" {
					t.Errorf("%s labels %v: want the release's", kind, l)
				}
			}
			tc.check(t, o, w)
		})
	}
}

// TestHelmChartRefuses: values that would deploy a broken Sesame fail at
// render time with a message naming the value.
func TestHelmChartRefuses(t *testing.T) {
	for _, tc := range []struct{ name, values, want string }{
		{"no issuer", "", "issuer is required"},
		{"relative issuer", "issuer: login.example.com\n", "absolute http(s) URL"},
		{"no database", base + "secrets: {databaseURL: {name: ''}}\n", "secrets.databaseURL.name is required"},
		{"secret in settings", base + "settings: {smtp_password: hunter2}\n", "settings.smtp_password: set by the chart"},
		{"chart's own setting", base + "settings: {listen: ':9000'}\n", "settings.listen: set by the chart"},
		{"not a setting name", base + "settings: {SMTP-HOST: x}\n", "not a setting name"},
		{"ServiceMonitor with nothing to scrape", base + "metrics: {port: 0, serviceMonitor: {enabled: true}}\n", "set metrics.port"},
		{"HPA without a CPU request", base + "autoscaling: {enabled: true}\nresources: {requests: {cpu: null}}\n", "needs resources.requests.cpu"},
		{"HPA floor above ceiling", base + "autoscaling: {enabled: true, minReplicas: 5, maxReplicas: 2}\n", "must not exceed"},
		{"misspelled value", base + "replicacount: 3\n", "replicacount"},
		{"misspelled nested value", base + "ingress: {enable: true}\n", "enable"},
		{"metrics on the main port's number", base + "metrics: {port: 8080}\n", "metrics.port"},
		{"drain beyond Sesame's bound", base + "shutdown: {drainDelaySeconds: 90}\n", "between 0 and 60"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, tc.values)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("render: %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

// labelsOf is an object's metadata labels.
func labelsOf(obj any) map[string]string {
	if m, ok := obj.(interface{ GetLabels() map[string]string }); ok {
		return m.GetLabels()
	}
	return nil
}

{{/* The release's full name: fullnameOverride, or the release name with
the chart's name appended unless it already contains it; at most 63
characters. */}}
{{- define "sesame.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the release's pods (never change them: a
Deployment's selector is immutable). */}}
{{- define "sesame.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sesame.labels" -}}
{{ include "sesame.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "sesame.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "sesame.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "sesame.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* The replicas there are when nothing scales: the HPA's floor, or
replicaCount. */}}
{{- define "sesame.minReplicas" -}}
{{- if .Values.autoscaling.enabled -}}
{{- .Values.autoscaling.minReplicas -}}
{{- else -}}
{{- .Values.replicaCount -}}
{{- end -}}
{{- end -}}

{{/* The issuer, checked: required, an absolute URL with a host. */}}
{{- define "sesame.issuer" -}}
{{- $issuer := required "issuer is required: Sesame's public URL, e.g. https://login.example.com" .Values.issuer -}}
{{- $u := urlParse $issuer -}}
{{- if or (not $u.host) (not (has $u.scheme (list "https" "http"))) -}}
{{- fail (printf "issuer %q: must be an absolute http(s) URL such as https://login.example.com" $issuer) -}}
{{- end -}}
{{- $issuer -}}
{{- end -}}

{{/* Settings the chart sets itself; values.settings may not. */}}
{{- define "sesame.ownSettings" -}}
{{- list "issuer" "listen" "metrics_listen" "shutdown_drain_delay" "shutdown_timeout" "database_url" "database_url_file" "system_secret" "system_secret_file" "smtp_password" "smtp_password_file" "metrics_token" "metrics_token_file" "config" | toJson -}}
{{- end -}}

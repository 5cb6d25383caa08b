{{- define "siem.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "siem.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "siem.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ include "siem.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "siem.selector" -}}
app.kubernetes.io/name: {{ include "siem.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "siem.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* SIEM_* variables from Secrets, and where the configuration file is. */}}
{{- define "siem.env" -}}
- name: SIEM_CONFIG
  value: /etc/siem/siem.yaml
- name: SIEM_DATA_DIR
  value: /var/lib/siem
{{- range $name, $ref := .Values.secrets }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.secret }}
      key: {{ $ref.key }}
{{- end }}
{{- end -}}

{{/* Liveness, readiness and start-up probes on the API port (the chart's only health contract). */}}
{{- define "siem.probes" -}}
startupProbe:
  httpGet: { path: /health/live, port: api }
  periodSeconds: 2
  failureThreshold: 60
livenessProbe:
  httpGet: { path: /health/live, port: api }
  periodSeconds: 10
  failureThreshold: 3
readinessProbe:
  httpGet: { path: /health/ready, port: api }
  periodSeconds: 5
  failureThreshold: 2
{{- end -}}

{{/* The container/Service port name of an adapter id (IANA service names: <= 15 chars, no `_`). */}}
{{- define "siem.adapterPortName" -}}
{{- $name := replace "_" "-" . -}}
{{- if gt (len $name) 15 -}}
{{- fail (printf "gateway.adapters.%s: the id names a port, so it may have at most 15 characters" .) -}}
{{- end -}}
{{- $name -}}
{{- end -}}

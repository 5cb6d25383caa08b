{{- define "siem.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "siem.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
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

{{/* The one image of every pod (gateway, normalizer, migrations, test). Never `latest`: images are
imported into the nodes by name and tag, and `latest` makes the kubelet pull whatever the policy says. */}}
{{- define "siem.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- if eq $tag "latest" -}}
{{- fail "image.tag must name a version, not latest" -}}
{{- end -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}

{{/* image and imagePullPolicy lines of a container. */}}
{{- define "siem.imageLines" -}}
image: {{ include "siem.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
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
{{/* Both roles serve /health/live and /health/ready on the API port (config.api.port). The start-up
probe covers a gateway replaying its spilled buffer and a normalizer opening storage and Kafka before
it listens; liveness only takes over after it. */}}
{{- define "siem.probes" -}}
{{- $p := .Values.probes -}}
startupProbe:
  httpGet: { path: /health/live, port: api }
  periodSeconds: {{ $p.startup.periodSeconds }}
  timeoutSeconds: {{ $p.startup.timeoutSeconds }}
  failureThreshold: {{ $p.startup.failureThreshold }}
livenessProbe:
  httpGet: { path: /health/live, port: api }
  periodSeconds: {{ $p.liveness.periodSeconds }}
  timeoutSeconds: {{ $p.liveness.timeoutSeconds }}
  failureThreshold: {{ $p.liveness.failureThreshold }}
readinessProbe:
  httpGet: { path: /health/ready, port: api }
  periodSeconds: {{ $p.readiness.periodSeconds }}
  timeoutSeconds: {{ $p.readiness.timeoutSeconds }}
  failureThreshold: {{ $p.readiness.failureThreshold }}
{{- end -}}

{{/* Makes a volume writable by the pod's user where fsGroup cannot (hostPath-backed volumes): an init
container running as root that hands the folder to runAsUser:fsGroup. */}}
{{- define "siem.volumePermissions" -}}
- name: volume-permissions
  {{- include "siem.imageLines" .root | nindent 2 }}
  command: [chown, -R, "{{ .root.Values.podSecurityContext.runAsUser }}:{{ .root.Values.podSecurityContext.fsGroup }}", {{ .path }}]
  securityContext:
    runAsNonRoot: false
    runAsUser: 0
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities: { drop: [ALL], add: [CHOWN, FOWNER] }
  resources:
    requests: { cpu: 10m, memory: 16Mi }
  volumeMounts:
    - { name: {{ .volume }}, mountPath: {{ .path }} }
{{- end -}}

{{/* The container/Service port name of an adapter id (IANA service names: <= 15 chars, no `_`). */}}
{{- define "siem.adapterPortName" -}}
{{- $name := replace "_" "-" . -}}
{{- if gt (len $name) 15 -}}
{{- fail (printf "gateway.adapters.%s: the id names a port, so it may have at most 15 characters" .) -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{/* The siem.yaml of a role: config, then the role's config over it, then gateway.adapters by id. */}}
{{- define "siem.roleConfig" -}}
{{- $ := .root -}}
{{- $roleValues := index $.Values .role -}}
{{- $config := mergeOverwrite (deepCopy $.Values.config) (deepCopy $roleValues.config) -}}
{{- if and (eq .role "gateway") $roleValues.adapters -}}
{{- $adapters := deepCopy (default (dict) $config.adapters) -}}
{{- range $id, $a := $roleValues.adapters -}}
{{- $_ := set $adapters $id (omit $a "servicePort") -}}
{{- end -}}
{{- $_ := set $config "adapters" $adapters -}}
{{- end -}}
{{- $config | toYaml -}}
{{- end -}}

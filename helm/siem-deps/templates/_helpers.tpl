{{- define "deps.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release name: Services are <release>-kafka and <release>-timescaledb. */}}
{{- define "deps.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{- define "deps.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ include "deps.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "deps.selector" -}}
app.kubernetes.io/name: {{ include "deps.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* image: repository:tag, never latest (images are imported into the nodes by name and tag). */}}
{{- define "deps.image" -}}
{{- if eq (toString .tag) "latest" -}}
{{- fail (printf "%s: the image tag must name a version, not latest" .repository) -}}
{{- end -}}
image: {{ .repository }}:{{ .tag }}
imagePullPolicy: {{ .pullPolicy }}
{{- end -}}

{{/* A root init container that hands a volume to the pod's user (hostPath volumes ignore fsGroup). */}}
{{- define "deps.volumePermissions" -}}
- name: volume-permissions
  {{- include "deps.image" .image | nindent 2 }}
  command: [chown, -R, "{{ .security.runAsUser }}:{{ .security.fsGroup }}", {{ .path }}]
  securityContext:
    runAsNonRoot: false
    runAsUser: 0
    allowPrivilegeEscalation: false
    capabilities: { drop: [ALL], add: [CHOWN, FOWNER] }
  resources:
    requests: { cpu: 10m, memory: 16Mi }
  volumeMounts:
    - { name: data, mountPath: {{ .path }} }
{{- end -}}

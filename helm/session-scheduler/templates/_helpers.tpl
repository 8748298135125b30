{{/* Names, labels and the values the templates share. */}}

{{- define "session-scheduler.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: RELEASE-CHART, or RELEASE when it already holds the chart's name. */}}
{{- define "session-scheduler.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "session-scheduler.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "session-scheduler.selectorLabels" -}}
app.kubernetes.io/name: {{ include "session-scheduler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: scheduler
{{- end }}

{{/* Labels of everything the chart makes, but for app.kubernetes.io/component. */}}
{{- define "session-scheduler.commonLabels" -}}
helm.sh/chart: {{ include "session-scheduler.chart" . }}
app.kubernetes.io/name: {{ include "session-scheduler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels of sessiond's own objects. */}}
{{- define "session-scheduler.labels" -}}
{{ include "session-scheduler.commonLabels" . }}
app.kubernetes.io/component: scheduler
{{- end }}

{{/* Labels of what belongs to the executors' side. */}}
{{- define "session-scheduler.executorLabels" -}}
{{ include "session-scheduler.commonLabels" . }}
app.kubernetes.io/component: executor
{{- end }}

{{- define "session-scheduler.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "session-scheduler.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "session-scheduler.tokenSecretName" -}}
{{- default (printf "%s-tokens" (include "session-scheduler.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{- define "session-scheduler.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Where the pod finds its files. */}}
{{- define "session-scheduler.paths" -}}
config: /etc/sessiond/sessiond.yaml
tokens: /etc/sessiond/tokens
tls: /etc/sessiond/tls
podTemplate: /etc/sessiond/pod-template/pod-template.yaml
kubeconfig: /etc/sessiond/kubeconfig/kubeconfig
data: /var/lib/sessiond
{{- end }}

{{/*
The pool mode's needs and the nodes mode's: which rules sessiond's
backend needs follow from backend.capacity and backend.countOtherPods.
*/}}
{{- define "session-scheduler.watchesAllPods" -}}
{{- if and (eq .Values.backend.capacity "nodes") .Values.backend.countOtherPods }}true{{ end }}
{{- end }}

{{/* sessiond.yaml, rendered from the values. */}}
{{- define "session-scheduler.config" -}}
{{- $paths := include "session-scheduler.paths" . | fromYaml }}
{{- $b := .Values.backend }}
{{- if and (eq $b.capacity "pool") (empty $b.pool) (empty $b.quota) }}
{{- fail "backend.capacity pool needs backend.pool or backend.quota (the pool's size)" }}
{{- end }}
{{- if and (not (empty $b.pool)) (not (empty $b.quota)) }}
{{- fail "backend: give backend.pool or backend.quota, not both" }}
{{- end }}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- $tokens := list }}
{{- range .Values.auth.tokens }}
{{- $t := dict "token_file" (printf "%s/%s" $paths.tokens .key) "principal" .principal }}
{{- if .admin }}{{ $_ := set $t "admin" true }}{{ end }}
{{- if .consumers }}{{ $_ := set $t "consumers" .consumers }}{{ end }}
{{- $tokens = append $tokens $t }}
{{- end }}
{{- if $tokens }}
{{- $_ := set $cfg "auth" (dict "tokens" $tokens) }}
{{- end }}
{{- if .Values.tls.existingSecret }}
{{- $api := get $cfg "api" | default dict }}
{{- $tlsCfg := dict "cert" (printf "%s/tls.crt" $paths.tls) "key" (printf "%s/tls.key" $paths.tls) }}
{{- if .Values.tls.clientCA }}{{ $_ := set $tlsCfg "client_ca" (printf "%s/ca.crt" $paths.tls) }}{{ end }}
{{- $_ := set $api "tls" $tlsCfg }}
{{- $_ := set $cfg "api" $api }}
{{- end }}
{{- $k8s := dict
  "kubeconfig" (ternary $paths.kubeconfig "" (ne $b.kubeconfigSecret ""))
  "namespace" $b.namespace
  "capacity" $b.capacity
  "node_selector" ($b.nodeSelector | default dict)
  "count_other_pods" $b.countOtherPods
  "pool" ($b.pool | default dict)
  "quota" $b.quota
  "image" $b.image
  "image_pull_policy" $b.imagePullPolicy
  "service_account" $b.serviceAccount
  "pod_template" (ternary $paths.podTemplate "" (not (empty $b.podTemplate)))
  "consumers" ($b.consumers | default dict)
  "pending_timeout" $b.pendingTimeout
  "qps" $b.qps
  "burst" $b.burst
}}
{{- $_ := set $cfg "backend" (dict "type" "k8s" "k8s" $k8s) }}
{{- $_ := set $cfg "consumers" .Values.consumers }}
{{- toYaml $cfg }}
{{- end }}

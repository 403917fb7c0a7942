{{/* Chart name, truncated to the 63 characters a label allows. */}}
{{- define "tributary.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: release-chart, or the release name if it already holds the chart name. */}}
{{- define "tributary.fullname" -}}
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

{{- define "tributary.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "tributary.labels" -}}
helm.sh/chart: {{ include "tributary.chart" . }}
{{ include "tributary.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: node
{{- end }}

{{/* Labels the Deployment, Service and PodDisruptionBudget select on. */}}
{{- define "tributary.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tributary.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The node config file: .Values.config without streams (nodes carry none: docs/adr/0012), with
the admin listener forced to the pod's port, the pod IP advertised, and the admin token read
from the mounted secret when admin.tokenSecret is set.
*/}}
{{- define "tributary.config" -}}
{{- $admin := dict "host" "0.0.0.0" "port" (int .Values.admin.port) "advertise" (printf "http://${POD_IP}:%d" (int .Values.admin.port)) }}
{{- if .Values.admin.tokenSecret.name }}
{{- $_ := set $admin "token" "${file:/etc/tributary-admin/token}" }}
{{- end }}
{{- if .Values.admin.allowedHosts }}
{{- $_ := set $admin "allowedHosts" .Values.admin.allowedHosts }}
{{- end }}
{{- $cfg := mergeOverwrite (deepCopy (omit .Values.config "streams")) (dict "admin" (mergeOverwrite (deepCopy (default (dict) .Values.config.admin)) $admin)) }}
{{- toYaml $cfg }}
{{- end }}

{{/* The file the apply Job applies: the cluster and its NATS connection, and this release's streams. */}}
{{- define "tributary.applyConfig" -}}
{{- $cfg := dict "cluster" (default "tributary" .Values.config.cluster) "nats" (default (dict) .Values.config.nats) "streams" .Values.streams }}
{{- toYaml $cfg }}
{{- end }}

{{/* The owner this release declares its streams as (their managedBy). */}}
{{- define "tributary.streamsOwner" -}}
{{- default (printf "helm/%s" .Release.Name) .Values.streamsOwner }}
{{- end }}

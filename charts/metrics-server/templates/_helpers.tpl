{{- define "metrics-server.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "metrics-server.fullname" -}}
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

{{- define "metrics-server.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "metrics-server.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "metrics-server.selectorLabels" -}}
app.kubernetes.io/name: {{ include "metrics-server.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "metrics-server.labels" -}}
helm.sh/chart: {{ include "metrics-server.chart" . }}
{{ include "metrics-server.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "metrics-server.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "metrics-server.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "metrics-server.image" -}}
{{- printf "%s:%s" .Values.image.repository (default (printf "v%s" .Chart.AppVersion) .Values.image.tag) }}
{{- end }}

{{/* The Secret holding the serving certificate, when the chart mounts one:
named as upstream's chart names it. */}}
{{- define "metrics-server.tlsSecretName" -}}
{{- if and (eq .Values.tls.type "existingSecret") .Values.tls.existingSecret.name }}
{{- .Values.tls.existingSecret.name }}
{{- else }}
{{- include "metrics-server.fullname" . }}
{{- end }}
{{- end }}

{{/* The TLS mode in effect. self-managed, the default, needs the chart's
RBAC (get and update on the APIServices) and issues the serving
certificate itself; values written for upstream's chart that manage RBAC
themselves (rbac.create=false) or pass their own certificate in args
(--tls-cert-file) get upstream's mode, metrics-server, instead. */}}
{{- define "metrics-server.tlsType" -}}
{{- $type := .Values.tls.type }}
{{- if eq $type "self-managed" }}
{{- $ownCert := false }}
{{- range .Values.args }}{{ if hasPrefix "--tls-cert-file" (toString .) }}{{ $ownCert = true }}{{ end }}{{ end }}
{{- if or (not .Values.rbac.create) $ownCert }}{{ $type = "metrics-server" }}{{ end }}
{{- end }}
{{- $type }}
{{- end }}

{{- define "metrics-server.addonResizer.image" -}}
{{- printf "%s:%s" .Values.addonResizer.image.repository .Values.addonResizer.image.tag }}
{{- end }}

{{- define "metrics-server.addonResizer.configMap" -}}
{{- printf "%s-nanny-config" (include "metrics-server.fullname" .) }}
{{- end }}

{{- define "metrics-server.addonResizer.role" -}}
{{- printf "system:%s-nanny" (include "metrics-server.fullname" .) }}
{{- end }}

{{- define "metrics-server.args" -}}
{{- $tlsType := include "metrics-server.tlsType" . }}
{{- $args := list (printf "--secure-port=%d" (int .Values.containerPort)) }}
{{- range .Values.defaultArgs }}{{ $args = append $args . }}{{ end }}
{{- /* As upstream: the health paths stay open to anonymous probes through
the system:public-info-viewer ClusterRole. */}}
{{- if .Values.metrics.enabled }}{{ $args = append $args "--authorization-always-allow-paths=/metrics" }}{{ end }}
{{- if eq $tlsType "self-managed" }}
{{- $args = append $args "--serving-ca-apiservices=v1beta1.metrics.k8s.io,v1.metrics.k8s.io" }}
{{- else if ne $tlsType "metrics-server" }}
{{- $args = append $args "--tls-cert-file=/tmp/tls-certs/tls.crt" }}
{{- $args = append $args "--tls-private-key-file=/tmp/tls-certs/tls.key" }}
{{- end }}
{{- range .Values.args }}{{ $args = append $args . }}{{ end }}
{{- toYaml $args }}
{{- end }}

{{/* The generated CA and serving certificate of tls.type=helm, reused
from the existing Secret on upgrade when lookup is on. Generated once per
render (kept in .Values) so the Secret and the APIServices agree. */}}
{{- define "metrics-server.helmCert" -}}
{{- if not (hasKey .Values "generatedTLS") }}
{{- $fullname := include "metrics-server.fullname" . }}
{{- $ns := include "metrics-server.namespace" . }}
{{- $secret := dict }}
{{- if .Values.tls.helm.lookup }}
{{- $secret = lookup "v1" "Secret" $ns $fullname | default dict }}
{{- end }}
{{- if and $secret $secret.data }}
{{- /* A Secret written by upstream's chart holds a self-signed certificate and no ca.crt: the certificate is its own CA. */}}
{{- $_ := set .Values "generatedTLS" (dict "crt" (index $secret.data "tls.crt") "key" (index $secret.data "tls.key") "ca" (index $secret.data "ca.crt" | default (index $secret.data "tls.crt"))) }}
{{- else }}
{{- $svc := printf "%s.%s.svc" $fullname $ns }}
{{- $ca := genCA (printf "%s-ca" $fullname) (int .Values.tls.helm.certDurationDays) }}
{{- $cert := genSignedCert $svc nil (list $fullname (printf "%s.%s" $fullname $ns) $svc (printf "%s.%s" $svc .Values.tls.clusterDomain)) (int .Values.tls.helm.certDurationDays) $ca }}
{{- $_ := set .Values "generatedTLS" (dict "crt" ($cert.Cert | b64enc) "key" ($cert.Key | b64enc) "ca" ($ca.Cert | b64enc)) }}
{{- end }}
{{- end }}
{{- .Values.generatedTLS | toJson }}
{{- end }}

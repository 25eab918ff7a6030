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

{{/* The Secret holding the serving certificate, when the chart mounts one. */}}
{{- define "metrics-server.tlsSecretName" -}}
{{- if eq .Values.tls.type "existingSecret" }}
{{- .Values.tls.existingSecret.name }}
{{- else }}
{{- printf "%s-tls" (include "metrics-server.fullname" .) }}
{{- end }}
{{- end }}

{{- define "metrics-server.args" -}}
{{- $args := list (printf "--secure-port=%d" (int .Values.containerPort)) }}
{{- range .Values.defaultArgs }}{{ $args = append $args . }}{{ end }}
{{- if .Values.metrics.enabled }}{{ $args = append $args "--authorization-always-allow-paths=/livez,/readyz,/metrics" }}{{ end }}
{{- if eq .Values.tls.type "self-managed" }}
{{- $args = append $args "--serving-ca-apiservices=v1beta1.metrics.k8s.io,v1.metrics.k8s.io" }}
{{- else if ne .Values.tls.type "metrics-server" }}
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
{{- $secret = lookup "v1" "Secret" $ns (printf "%s-tls" $fullname) | default dict }}
{{- end }}
{{- if and $secret $secret.data }}
{{- $_ := set .Values "generatedTLS" (dict "crt" (index $secret.data "tls.crt") "key" (index $secret.data "tls.key") "ca" (index $secret.data "ca.crt")) }}
{{- else }}
{{- $svc := printf "%s.%s.svc" $fullname $ns }}
{{- $ca := genCA (printf "%s-ca" $fullname) (int .Values.tls.helm.certDurationDays) }}
{{- $cert := genSignedCert $svc nil (list $fullname (printf "%s.%s" $fullname $ns) $svc (printf "%s.%s" $svc .Values.tls.clusterDomain)) (int .Values.tls.helm.certDurationDays) $ca }}
{{- $_ := set .Values "generatedTLS" (dict "crt" ($cert.Cert | b64enc) "key" ($cert.Key | b64enc) "ca" ($ca.Cert | b64enc)) }}
{{- end }}
{{- end }}
{{- .Values.generatedTLS | toJson }}
{{- end }}

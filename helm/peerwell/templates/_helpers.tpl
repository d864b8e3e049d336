{{/* Names: <release> when it already says peerwell, else <release>-peerwell; 63 characters. */}}
{{- define "peerwell.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "peerwell.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "peerwell.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "peerwell.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: peerwell
{{- end -}}

{{/* Every pod of the release (the default-deny policy selects these; so does the gateway peer). */}}
{{- define "peerwell.releaseSelector" -}}
app.kubernetes.io/name: {{ include "peerwell.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* One component's pods: (dict "root" $ "component" "directory"). */}}
{{- define "peerwell.selectorLabels" -}}
{{ include "peerwell.releaseSelector" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Merges `over` into `base` key by key, recursing into maps. Sprig's mergeOverwrite cannot do this:
it skips false and 0, so `autoscaling: {enabled: false}` would not turn autoscaling off.
*/}}
{{- define "peerwell.deepMerge" -}}
{{- $out := deepCopy .base -}}
{{- range $key, $value := .over -}}
{{- if and (kindIs "map" $value) (kindIs "map" (index $out $key)) -}}
{{- $_ := set $out $key (include "peerwell.deepMerge" (dict "base" (index $out $key) "over" $value) | fromYaml) -}}
{{- else -}}
{{- $_ := set $out $key $value -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
The enabled services, each merged over serviceDefaults, as YAML (name -> settings). Cross-entry
rules that a JSON schema cannot state fail here with a message naming the setting.
*/}}
{{- define "peerwell.services" -}}
{{- $root := . -}}
{{- $aclUsers := include "peerwell.redisAclUsers" . | fromYaml -}}
{{- $all := dict -}}
{{- range $name, $svc := .Values.services -}}
{{- $merged := include "peerwell.deepMerge" (dict "base" $root.Values.serviceDefaults "over" $svc) | fromYaml -}}
{{- if $merged.enabled -}}
{{- $_ := set $all $name $merged -}}
{{- end -}}
{{- end -}}
{{- range $name, $svc := $all -}}
{{- range $svc.calls -}}
{{- $callee := index $all . -}}
{{- if not $callee -}}
{{- fail (printf "services.%s.calls: %q is not an enabled service" $name .) -}}
{{- end -}}
{{- if ne $callee.protocol "grpc" -}}
{{- fail (printf "services.%s.calls: %q does not serve gRPC" $name .) -}}
{{- end -}}
{{- end -}}
{{- if gt (int $svc.autoscaling.minReplicas) (int $svc.autoscaling.maxReplicas) -}}
{{- fail (printf "services.%s.autoscaling: minReplicas is above maxReplicas" $name) -}}
{{- end -}}
{{- if eq (int $svc.port) (int $svc.metricsPort) -}}
{{- fail (printf "services.%s: port and metricsPort must differ" $name) -}}
{{- end -}}
{{- if and $svc.redis (not (index $aclUsers $name)) -}}
{{- fail (printf "services.%s uses Redis, but files/redis-acl-rules.conf has no user %s with a password: each service logs in to Redis as its own user (add its line to deploy/base/redis-acl-rules.conf)" $name $name) -}}
{{- end -}}
{{- end -}}
{{- toYaml $all -}}
{{- end -}}

{{- define "peerwell.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
The Redis users of files/redis-acl-rules.conf (a link to deploy/base/redis-acl-rules.conf: Helm
reads no file outside the chart, but follows links) as YAML, name -> true for a user that logs in with a password,
false for a nopass one (the readiness probe's).
*/}}
{{- define "peerwell.redisAclUsers" -}}
{{- $users := dict -}}
{{- range $line := .Files.Lines "files/redis-acl-rules.conf" -}}
{{- $fields := regexSplit "\\s+" (trim $line) -1 -}}
{{- if and (eq (first $fields) "user") (gt (len $fields) 1) -}}
{{- $_ := set $users (index $fields 1) (not (has "nopass" $fields)) -}}
{{- end -}}
{{- end -}}
{{- if not $users -}}
{{- fail "files/redis-acl-rules.conf defines no Redis user" -}}
{{- end -}}
{{- toYaml $users -}}
{{- end -}}

{{/* The Secret key of a Redis user's password: (dict "root" $ "user" "directory"). */}}
{{- define "peerwell.redisPasswordKey" -}}
{{- printf "%s%s" .root.Values.secrets.redisPasswordKeyPrefix .user -}}
{{- end -}}

{{- define "peerwell.secretName" -}}
{{- default (printf "%s-secrets" (include "peerwell.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "peerwell.redisExternal" -}}
{{- if .Values.redis.external.address -}}true{{- end -}}
{{- end -}}

{{- define "peerwell.redisAddress" -}}
{{- if .Values.redis.external.address -}}
{{- /* Included for its checks: the schema's pattern cannot bound the ports' values. */ -}}
{{- $_ := include "peerwell.redisPorts" . -}}
{{- .Values.redis.external.address -}}
{{- else -}}
{{- printf "%s-redis.%s.svc.%s:6379" (include "peerwell.fullname" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}
{{- end -}}

{{- /* "cluster" for an external Redis Cluster, else "single". */ -}}
{{- define "peerwell.redisMode" -}}
{{- $mode := .Values.redis.external.mode | default "single" -}}
{{- if and (eq $mode "cluster") (not .Values.redis.external.address) -}}
{{- fail "redis.external.mode is cluster but redis.external.address is empty: the chart bundles one Redis, not a cluster; set the address to some of your Redis Cluster's nodes (host:port,host:port,...)" -}}
{{- end -}}
{{- if and (gt (int .Values.redis.external.minReplicas) 0) (not .Values.redis.external.address) -}}
{{- fail "redis.external.minReplicas is above 0 but the bundled Redis has no replica: every write would be refused; set it with redis.external.address to a Redis that has replicas" -}}
{{- end -}}
{{- if and (eq $mode "single") (contains "," .Values.redis.external.address) -}}
{{- fail "redis.external.address lists several nodes: set redis.external.mode to cluster for a Redis Cluster" -}}
{{- end -}}
{{- $mode -}}
{{- end -}}

{{- /* The TCP ports of Redis (every port the external address names), as a JSON list. */ -}}
{{- define "peerwell.redisPorts" -}}
{{- if .Values.redis.external.address -}}
{{- $ports := list -}}
{{- range $node := splitList "," .Values.redis.external.address -}}
{{- $port := regexFind "[0-9]+$" $node | int -}}
{{- if or (lt $port 1) (gt $port 65535) -}}
{{- fail (printf "redis.external.address: port %d is not a TCP port (1 to 65535)" $port) -}}
{{- end -}}
{{- $ports = append $ports $port -}}
{{- end -}}
{{- $ports | uniq | toJson -}}
{{- else -}}
[6379]
{{- end -}}
{{- end -}}

{{/*
config.eventClaimIdle, refused below 100ms: the services would exit at start with
"--event_claim_idle: expected a duration of at least 100ms" and every pod crash-loop. The schema
has checked the form (e.g. 1m30s), so each part is a number and one of Go's units.
*/}}
{{- define "peerwell.eventClaimIdle" -}}
{{- $value := .Values.config.eventClaimIdle -}}
{{- /* Summed in whole nanoseconds, each part rounded down: a float64 holds those exactly, and a
       value that only rounding would lift to 100ms is refused, as the services refuse it. */ -}}
{{- $unitNs := dict "ns" 1.0 "us" 1000.0 "ms" 1000000.0 "s" 1000000000.0 "m" 60000000000.0 "h" 3600000000000.0 -}}
{{- $ns := 0.0 -}}
{{- range $part := regexFindAll "[0-9.]+[a-z]+" $value -1 -}}
{{- $number := regexFind "^[0-9.]+" $part -}}
{{- $ns = addf $ns (floor (mulf (float64 $number) (index $unitNs (trimPrefix $number $part)))) -}}
{{- end -}}
{{- if lt $ns 100000000.0 -}}
{{- fail (printf "config.eventClaimIdle: %s is below 100ms, the least the services accept (they would exit at start)" $value) -}}
{{- end -}}
{{- $value -}}
{{- end -}}

{{/* Where a service's replicas are, one address per ready pod: (dict "root" $ "name" n "port" p). */}}
{{- define "peerwell.serviceTarget" -}}
{{- printf "dns:///%s-%s-headless.%s.svc.%s:%v" (include "peerwell.fullname" .root) .name .root.Release.Namespace .root.Values.clusterDomain .port -}}
{{- end -}}

{{- define "peerwell.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The jobs Prometheus gives the services' metrics (the ServiceMonitor keeps Service names). */}}
{{- define "peerwell.jobRegex" -}}
{{- $fullname := include "peerwell.fullname" . -}}
{{- $jobs := list -}}
{{- range $name, $_ := include "peerwell.services" . | fromYaml -}}
{{- $jobs = append $jobs (printf "%s-%s" $fullname $name) -}}
{{- end -}}
{{- join "|" $jobs -}}
{{- end -}}

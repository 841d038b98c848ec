{{/* Names and labels. */}}
{{- define "contractgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "contractgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "contractgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "contractgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "contractgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "contractgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/*
contractgate.redis: the Redis keys of the gateway's config, as a YAML map merged into it.
The one place that maps the chart's `redis` values onto config keys: the process's one Redis
client, the top-level block redis (mode, addrs, masterName, username, db, tls.enabled; the
password from CONTRACTGATE_REDIS_PASSWORD, see contractgate.redisEnv), both stores switched
to it (rateLimit.store, idempotency.store: redis), and idempotency.redis.waitReplicas.
*/}}
{{- define "contractgate.redis" -}}
{{- $r := .Values.redis -}}
{{- $block := dict "mode" $r.mode "addrs" $r.addrs -}}
{{- if eq $r.mode "sentinel" }}{{ $_ := set $block "masterName" $r.masterName }}{{ end -}}
{{- if $r.username }}{{ $_ := set $block "username" $r.username }}{{ end -}}
{{- if and $r.db (ne $r.mode "cluster") }}{{ $_ := set $block "db" $r.db }}{{ end -}}
{{- if $r.tls.enabled }}{{ $_ := set $block "tls" (dict "enabled" true) }}{{ end -}}
{{- $idem := dict "store" "redis" -}}
{{- if $r.waitReplicas }}{{ $_ := set $idem "redis" (dict "waitReplicas" $r.waitReplicas) }}{{ end -}}
{{- toYaml (dict "redis" $block "rateLimit" (dict "store" "redis") "idempotency" $idem) -}}
{{- end -}}

{{/* contractgate.redisEnv: the environment variable carrying the Redis password (YAML list, or nothing). */}}
{{- define "contractgate.redisEnv" -}}
{{- $r := .Values.redis -}}
{{- if and $r.mode $r.existingSecret -}}
{{- toYaml (list (dict "name" "CONTRACTGATE_REDIS_PASSWORD" "valueFrom" (dict "secretKeyRef" (dict "name" $r.existingSecret "key" $r.passwordKey)))) -}}
{{- end -}}
{{- end -}}

{{/*
contractgate.config: the gateway's config file: .Values.config plus the keys the chart owns
(listeners, drain, Redis, the JWT secret's secretEnv).
*/}}
{{- define "contractgate.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) -}}
{{- $server := get $cfg "server" | default dict -}}
{{- range $k := list "addr" "drainDelay" "shutdownGrace" -}}
{{- if hasKey $server $k -}}
{{- fail (printf "config.server.%s is set by the chart (ports.http, lifecycle.*): remove it from config" $k) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $server "addr" (printf "0.0.0.0:%d" (int .Values.ports.http)) -}}
{{- $_ = set $server "drainDelay" (printf "%ds" (int .Values.lifecycle.drainSeconds)) -}}
{{- $_ = set $server "shutdownGrace" (printf "%ds" (int .Values.lifecycle.shutdownGraceSeconds)) -}}
{{- $_ = set $cfg "server" $server -}}
{{- $admin := get $cfg "admin" | default dict -}}
{{- if hasKey $admin "addr" -}}
{{- fail "config.admin.addr is set by the chart (ports.admin): remove it from config" -}}
{{- end -}}
{{- $_ = set $admin "addr" (printf "0.0.0.0:%d" (int .Values.ports.admin)) -}}
{{- if not (hasKey $admin "metricsOnAdminOnly") }}{{ $_ = set $admin "metricsOnAdminOnly" true }}{{ end -}}
{{- $_ = set $cfg "admin" $admin -}}
{{- if .Values.redis.mode -}}
{{- if not (has .Values.redis.mode (list "standalone" "sentinel" "cluster")) -}}
{{- fail (printf "redis.mode must be standalone, sentinel or cluster, got %q" .Values.redis.mode) -}}
{{- end -}}
{{- if not .Values.redis.addrs }}{{ fail "redis.addrs: at least one address is required with redis.mode" }}{{ end -}}
{{- if and (eq .Values.redis.mode "sentinel") (not .Values.redis.masterName) }}{{ fail "redis.masterName is required with redis.mode sentinel" }}{{ end -}}
{{- if or (hasKey (get $cfg "rateLimit" | default dict) "store") (hasKey (get $cfg "idempotency" | default dict) "store") (hasKey $cfg "redis") (hasKey (get (get $cfg "idempotency" | default dict) "redis" | default dict) "waitReplicas") -}}
{{- fail "config.redis, rateLimit.store, idempotency.store and idempotency.redis.waitReplicas are set by the chart from redis.*: remove them from config" -}}
{{- end -}}
{{- $cfg = mustMergeOverwrite $cfg (include "contractgate.redis" . | fromYaml) -}}
{{- end -}}
{{- if .Values.auth.jwtHmac.existingSecret -}}
{{- $auth := get $cfg "auth" | default dict -}}
{{- $jwt := get $auth "jwt" | default dict -}}
{{- $key := dict "secretEnv" "JWT_HMAC_SECRET" -}}
{{- if .Values.auth.jwtHmac.kid }}{{ $_ = set $key "kid" .Values.auth.jwtHmac.kid }}{{ end -}}
{{- $_ = set $jwt "hmacKeys" (append (get $jwt "hmacKeys" | default list) $key) -}}
{{- $_ = set $auth "jwt" $jwt -}}
{{- $_ = set $cfg "auth" $auth -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

#!/usr/bin/env bash
# Validates PeerWell's deployment artefacts offline, against the binaries of a build:
#
#   tests/deploy/validate.sh [--only SECTION[,SECTION...]] BINARY...
#
# BINARY: the built peerwell-directory, peerwell-checkin, peerwell-alerts, peerwell-supervision,
# peerwell-network, peerwell-gateway, peerwell-webhooks and peerwellctl.
# Sections (all by default):
#   helm       helm lint --strict and helm template of helm/peerwell with its default values and
#              each helm/peerwell/ci/*.yaml; wrong values must fail; every object checked, and
#              broken copies of the default render must be rejected; the chart's links to the
#              Redis ACL rules and script lead to deploy/base's
#   kustomize  kubectl kustomize of deploy/overlays/dev, prod and external-redis-cluster; every
#              object checked, and broken copies of the dev and prod renders must be rejected
#   rules      the chart's PrometheusRule through promtool check rules and promtool test rules
#   image      static checks of deploy/Dockerfile, and deploy/collect-runtime.sh run on the
#              binaries: each must start with nothing but what it collected
# "Checked" means: valid against the Kubernetes (and prometheus-operator) API schemas with no
# unknown fields, and true to SPEC §8 and the binaries' --help (validate-manifests.mjs).
# Tools come from tools/deploy-tools.sh (the network only on its first run). Exits non-zero on
# any failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
chart=$root/helm/peerwell

usage() {
  echo "usage: $0 [--only helm,kustomize,rules,image] BINARY..." >&2
  exit 2
}

sections=helm,kustomize,rules,image
if [[ ${1:-} == --only ]]; then
  [[ $# -ge 2 ]] || usage
  sections=$2
  shift 2
fi
(($# >= 1)) || usage
binaries=()
for binary in "$@"; do
  [[ -x $binary ]] || { echo "$0: not an executable: $binary" >&2; exit 2; }
  binaries+=("$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")")
done

start=$SECONDS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# An assignment, so that a failed install stops the script here (set -e).
tools_env=$("$root/tools/deploy-tools.sh")
eval "$tools_env"
export DEPLOY_NODE_MODULES

passed=0
failed=0

# step NAME COMMAND...: runs one check, shows its output indented, counts it.
step() {
  local name=$1
  shift
  if "$@" >"$tmp/step.log" 2>&1; then
    passed=$((passed + 1))
    sed 's/^/    /' "$tmp/step.log"
    echo "PASS $name"
  else
    failed=$((failed + 1))
    sed 's/^/    /' "$tmp/step.log"
    echo "FAIL $name"
  fi
}

# must_fail NAME PATTERN COMMAND...: passes when the command fails with output matching PATTERN
# (a wrong value must be refused, and for that reason, not another), showing the refusal.
must_fail() {
  local name=$1 pattern=$2 reason
  shift 2
  if "$@" >"$tmp/step.log" 2>&1; then
    failed=$((failed + 1))
    echo "FAIL $name: accepted"
  elif reason=$(grep -m1 -E -- "$pattern" "$tmp/step.log"); then
    passed=$((passed + 1))
    echo "PASS $name: refused (${reason:0:160})"
  else
    failed=$((failed + 1))
    sed 's/^/    /' "$tmp/step.log"
    echo "FAIL $name: refused, but not with /$pattern/"
  fi
}

validator() { "$DEPLOY_NODE" "$here/validate-manifests.mjs" "$@"; }
helm_() { "$DEPLOY_HELM" "$@"; }
# render OUT ARGS...: helm template ARGS into OUT.
render() {
  local out=$1
  shift
  "$DEPLOY_HELM" template "$@" >"$out"
}
kustomize_() { "$DEPLOY_KUBECTL" kustomize "$2" >"$1"; }
# Every alert the rules file defines has a unit test in the test file.
every_alert_tested() {
  local alert missing=0
  while read -r alert; do
    grep -q "alertname: $alert\$" "$2" || { echo "no test for $alert"; missing=1; }
  done < <(grep -o "alert: PeerWell[A-Za-z]*" "$1" | sort -u | cut -d" " -f2)
  ((missing == 0)) && echo "every alert of $(basename "$1") has a test"
  return $missing
}
enabled() { [[ ,$sections, == *,$1,* ]]; }

echo "== binaries"
step "binaries --help" validator binaries "$tmp/binaries.json" "${binaries[@]}"

if enabled helm; then
  echo "== helm (helm/peerwell)"
  renders=()
  step "Redis ACL rules and script: the chart links to deploy/base's" \
    validator acl-files "$root"
  step "helm lint --strict (default values)" helm_ lint --strict "$chart"
  step "helm template (default values)" \
    render "$tmp/helm-default.yaml" peerwell "$chart" --namespace peerwell
  renders+=("helm default values=$tmp/helm-default.yaml")
  for values in "$chart"/ci/*.yaml; do
    name=$(basename "$values" .yaml)
    step "helm lint --strict (ci/$name)" helm_ lint --strict "$chart" -f "$values"
    step "helm template (ci/$name)" \
      render "$tmp/helm-$name.yaml" peerwell "$chart" --namespace peerwell -f "$values"
    renders+=("helm ci/$name=$tmp/helm-$name.yaml")
  done
  # A release named differently, in another namespace: names and addresses follow it.
  step "helm template (release pw-test in namespace care)" \
    render "$tmp/helm-renamed.yaml" pw-test "$chart" --namespace care
  renders+=("helm release pw-test=$tmp/helm-renamed.yaml")
  step "every rendered object (schemas, unknown fields, contract)" \
    validator manifests "$tmp/binaries.json" "${renders[@]}"
  step "broken renders are rejected" \
    validator selftest "$tmp/binaries.json" "helm default values=$tmp/helm-default.yaml"
  t=(template peerwell "$chart" --namespace peerwell)
  must_fail "replicas \"two\"" "/services/directory/replicas.*want integer" \
    helm_ "${t[@]}" --set services.directory.replicas=two
  must_fail "an unknown key" "'replics' not allowed" \
    helm_ "${t[@]}" --set services.directory.replics=2
  must_fail "a port above 65535" "/services/checkin/port.*maximum" \
    helm_ "${t[@]}" --set services.checkin.port=70000
  must_fail "an unknown log level" "/config/logLevel" \
    helm_ "${t[@]}" --set config.logLevel=verbose
  must_fail "a malformed external Redis address" "/redis/external/address" \
    helm_ "${t[@]}" --set redis.external.address=redis.example
  must_fail "a JWT secret key name with a slash" "/secrets/jwtSecretKey" \
    helm_ "${t[@]}" --set secrets.jwtSecretKey=a/b
  must_fail "a Redis password key prefix with a slash" "/secrets/redisPasswordKeyPrefix" \
    helm_ "${t[@]}" --set secrets.redisPasswordKeyPrefix=redis/
  # A new service that uses Redis needs its own user in files/redis-acl-rules.conf.
  must_fail "a service using Redis without a Redis user" \
    "services.reports uses Redis, but files/redis-acl-rules.conf has no user reports" \
    helm_ "${t[@]}" --set services.reports.binary=peerwell-reports \
    --set services.reports.port=50060 --set services.reports.metricsPort=9560
  must_fail "internet egress on a port above 65535" "/services/webhooks/internetEgress/ports/0.*maximum" \
    helm_ "${t[@]}" --set 'services.webhooks.internetEgress.ports={70000}'
  # A NetworkPolicy rule without ports allows every port.
  must_fail "internet egress with an empty port list" "/services/webhooks/internetEgress/ports.*minItems" \
    helm_ "${t[@]}" --set-json 'services.webhooks.internetEgress.ports=[]'
  must_fail "a call to a service that does not exist" '"nosuch" is not an enabled service' \
    helm_ "${t[@]}" --set 'services.alerts.calls={directory,nosuch}'
  must_fail "minReplicas above maxReplicas" "minReplicas is above maxReplicas" \
    helm_ "${t[@]}" --set serviceDefaults.autoscaling.minReplicas=9
  must_fail "an external Redis port above 65535" "redis.external.address: port 70000" \
    helm_ "${t[@]}" --set redis.external.address=redis.example:70000
  must_fail "a cluster node's port above 65535" "redis.external.address: port 70000" \
    helm_ "${t[@]}" --set redis.external.mode=cluster \
    --set 'redis.external.address=a.example:6379\,b.example:70000'
  must_fail "a list of Redis nodes without cluster mode" "set redis.external.mode to cluster" \
    helm_ "${t[@]}" --set 'redis.external.address=a.example:6379\,b.example:6379'
  must_fail "cluster mode with the bundled Redis" "redis.external.mode is cluster but redis.external.address is empty" \
    helm_ "${t[@]}" --set redis.external.mode=cluster
  must_fail "a replica wait with the bundled Redis" "the bundled Redis has no replica" \
    helm_ "${t[@]}" --set redis.external.minReplicas=1
  must_fail "an unknown Redis mode" "/redis/external/mode" \
    helm_ "${t[@]}" --set redis.external.mode=sentinel
  must_fail "an event claim idle time under 100ms" "config.eventClaimIdle: 99ms is below 100ms" \
    helm_ "${t[@]}" --set config.eventClaimIdle=99ms
  must_fail "Redis maxmemory as a Kubernetes quantity" "/redis/maxmemory" \
    helm_ "${t[@]}" --set redis.maxmemory=600Mi
  must_fail "bundled Redis without network policies" "networkPolicy.enabled is false with the bundled Redis" \
    helm_ "${t[@]}" --set networkPolicy.enabled=false
  step "bundled Redis without network policies, explicitly allowed" \
    render "$tmp/helm-open-redis.yaml" peerwell "$chart" --namespace peerwell \
    --set networkPolicy.enabled=false --set redis.allowWithoutNetworkPolicy=true
  must_fail "alert rules without the ServiceMonitor" "prometheusRule.enabled needs monitoring.serviceMonitor.enabled" \
    helm_ "${t[@]}" --set monitoring.serviceMonitor.enabled=false
  must_fail "an Ingress with TLS but no certificate Secret" "ingress.tls.enabled needs ingress.tls.secretName" \
    helm_ "${t[@]}" --set ingress.enabled=true --set 'ingress.hosts={peerwell.example.org}' \
    --set ingress.tls.enabled=true
  must_fail "an Ingress with TLS but no host names" "ingress.tls.enabled needs ingress.hosts" \
    helm_ "${t[@]}" --set ingress.enabled=true --set ingress.tls.enabled=true \
    --set ingress.tls.secretName=peerwell-tls
  must_fail "an Ingress with nothing exposed to route to" "ingress.enabled needs exactly one enabled service with exposed: true" \
    helm_ "${t[@]}" --set ingress.enabled=true --set services.gateway.exposed=false
  must_fail "an Ingress host that is not a host name" "/ingress/hosts/0" \
    helm_ "${t[@]}" --set ingress.enabled=true --set 'ingress.hosts={https://peerwell.example.org}'
fi

if enabled kustomize; then
  echo "== kustomize (deploy/)"
  renders=()
  for overlay in dev prod external-redis-cluster; do
    step "kubectl kustomize deploy/overlays/$overlay" \
      kustomize_ "$tmp/kustomize-$overlay.yaml" "$root/deploy/overlays/$overlay"
    renders+=("kustomize $overlay=$tmp/kustomize-$overlay.yaml")
  done
  step "every rendered object (schemas, unknown fields, contract)" \
    validator manifests "$tmp/binaries.json" "${renders[@]}"
  # Broken copies of the renders with the bundled Redis (the mutations of its StatefulSet need
  # one).
  step "broken renders are rejected" validator selftest "$tmp/binaries.json" "${renders[@]:0:2}"
fi

if enabled rules; then
  echo "== alerting rules"
  mkdir -p "$tmp/rules"
  render "$tmp/rules-render.yaml" peerwell "$chart" --namespace peerwell
  step "PrometheusRule extracted" validator rules "$tmp/rules-render.yaml" "$tmp/rules/rules.yaml"
  step "promtool check rules" "$DEPLOY_PROMTOOL" check rules "$tmp/rules/rules.yaml"
  # The test file names rules.yaml, which promtool resolves beside the test file.
  cp "$here/alert-rules-test.yaml" "$tmp/rules/"
  step "promtool test rules (tests/deploy/alert-rules-test.yaml)" \
    "$DEPLOY_PROMTOOL" test rules "$tmp/rules/alert-rules-test.yaml"
  step "every alert has a unit test" \
    every_alert_tested "$tmp/rules/rules.yaml" "$here/alert-rules-test.yaml"
fi

if enabled image; then
  echo "== image (deploy/Dockerfile)"
  step "Dockerfile static checks" validator dockerfile "$tmp/binaries.json" "$root"
  runtime=$tmp/runtime
  step "deploy/collect-runtime.sh" "$root/deploy/collect-runtime.sh" --strip "$runtime" "${binaries[@]}"
  # Each binary runs through the collected loader with only the collected libraries. The loader
  # falls back to the system's folders for a library it cannot find there, so the proof is
  # LD_DEBUG's list of every object it initialised: all of them must come from $runtime.
  run_collected() {
    local runtime=$1 binary=$2 loader libdirs
    loader=$(find "$runtime" -name 'ld-linux*.so*' -type f | head -1)
    libdirs=$(find "$runtime" -name '*.so*' -type f -printf '%h\n' | sort -u | paste -sd:)
    [[ -n $loader ]] || { echo "no dynamic loader collected"; return 1; }
    LD_DEBUG=files "$loader" --inhibit-cache --library-path "$libdirs" \
      "$runtime/usr/local/bin/$binary" --help >"$tmp/help.out" 2>"$tmp/ld.log"
    local foreign
    foreign=$(grep -o 'calling init: .*' "$tmp/ld.log" | cut -d' ' -f3 |
              grep -v "^$runtime/" || true)
    if [[ -n $foreign ]]; then
      echo "$binary loaded libraries that were not collected:"
      echo "$foreign"
      return 1
    fi
    grep -q . "$tmp/help.out" || { echo "$binary --help printed nothing"; return 1; }
    echo "$binary --help runs on $(grep -c 'calling init' "$tmp/ld.log") collected objects only"
  }
  for binary in "${binaries[@]}"; do
    step "$(basename "$binary") runs on the collected libraries alone" \
      run_collected "$runtime" "$(basename "$binary")"
  done
  # The check above must notice a library that was not collected, and name it: the Redis
  # client's (every service), and libical, which supervision alone links (its RFC 5545
  # recurrence rules and calendar feeds). Each is put back after its check.
  notice_missing() {
    local pattern=$1 binary=$2 victim
    victim=$(find "$runtime" -name "$pattern" -type f | head -1)
    if [[ -z $victim ]]; then
      failed=$((failed + 1))
      echo "FAIL no $pattern was collected for $binary"
      return
    fi
    mv "$victim" "$tmp/victim"
    must_fail "a missing library is noticed ($(basename "$victim") removed, $binary)" \
      "^/.*/$(basename "$victim")\$" run_collected "$runtime" "$binary"
    mv "$tmp/victim" "$victim"
  }
  notice_missing 'libhiredis*' "$(basename "${binaries[0]}")"
  for binary in "${binaries[@]}"; do
    if [[ $(basename "$binary") == peerwell-supervision ]]; then
      notice_missing 'libical.so*' peerwell-supervision
    fi
  done
  runtime_size=$(du -sh "$runtime" | cut -f1)
  echo "    runtime stage: $runtime_size (binaries stripped of debug info)"
fi

echo "== deploy validation: $passed passed, $failed failed ($((SECONDS - start)) s)"
((failed == 0))

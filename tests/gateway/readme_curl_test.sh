#!/usr/bin/env bash
# Runs the curl examples of the README's HTTP API section against the whole suite, as a reader
# would paste them: run under peerwell-suite-runner (PEERWELL_GATEWAY_URL, PEERWELL_DEMO_JSON).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
token() { grep -o "\"$1\":\"[^\"]*\"" "$PEERWELL_DEMO_JSON" | head -1 | cut -d'"' -f4; }
exec "$here/run-doc-examples.sh" "$here/../../README.md" \
  "gateway=$PEERWELL_GATEWAY_URL" "supervisor=$(token supervisor)" "volunteer=$(token volunteer)" \
  -- '"alerts":[' '"code":"not_found"' ' HTTP 404' '"incidentId"' '"ruleId":"critical_incident"'

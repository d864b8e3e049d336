#!/usr/bin/env bash
# Runs the curl examples of docs/PARTNERS.md against the whole suite with the demo data, with a
# key a coordinator made for the partner: run under peerwell-suite-runner.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
coordinator=$(grep -o '"coordinator":"[^"]*"' "$PEERWELL_DEMO_JSON" | head -1 | cut -d'"' -f4)
key=$(curl -sS "$PEERWELL_GATEWAY_URL/peerwell.directory.v1.DirectoryService/CreateApiKey" \
        -H "Authorization: Bearer $coordinator" -H 'Content-Type: application/json' \
        -d '{"displayName":"Docs partner","scopes":["aggregates:read","exports:read","webhooks:manage"]}' |
      grep -o '"secret":"[^"]*"' | cut -d'"' -f4)
[[ -n $key ]] || { echo "could not create a partner key" >&2; exit 1; }
exec "$here/run-doc-examples.sh" "$here/../../docs/PARTNERS.md" \
  "gateway=$PEERWELL_GATEWAY_URL" "key=$key" \
  -- '"volunteerCount":5' '"suppressed":true' '"resourceType":"CapabilityStatement"' \
     '"resourceType":"Bundle"' '"resourceType":"QuestionnaireResponse"' \
     '"resourceType":"Questionnaire"' '"secret":"whsec_' '"webhooks":[{"webhookId"'

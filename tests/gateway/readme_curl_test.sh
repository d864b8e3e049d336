#!/usr/bin/env bash
# Runs the curl examples of the README's HTTP API section against the whole suite, as a reader
# would paste them: run under peerwell-suite-runner (PEERWELL_GATEWAY_URL, PEERWELL_DEMO_JSON).
# Only the lines that set the gateway's address and the tokens are replaced.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

block=$(awk '/tests\/gateway\/readme_curl_test.sh/ {found=1; next}
             found && /^```sh$/ {inside=1; next}
             inside && /^```$/ {exit}
             inside {print}' "$root/README.md")
[[ -n $block ]] || { echo "no tested curl block in README.md" >&2; exit 1; }

token() { grep -o "\"$1\":\"[^\"]*\"" "$PEERWELL_DEMO_JSON" | head -1 | cut -d'"' -f4; }
script=$(printf 'gateway=%q\nsupervisor=%q\nvolunteer=%q\n' "$PEERWELL_GATEWAY_URL" \
           "$(token supervisor)" "$(token volunteer)"
         grep -vE '^(gateway|supervisor|volunteer)=' <<<"$block")

output=$(bash -c "$script" 2>&1) || status=$?
echo "$output"
failed=0
expect() {
  if ! grep -aqF -- "$1" <<<"$output"; then
    echo "FAILED: the examples' output lacks $1" >&2
    failed=1
  fi
}
expect '"alerts":['
expect '"code":"not_found"'
expect ' HTTP 404'
expect '"incidentId"'
expect '"ruleId":"critical_incident"'
# curl's own exit status 28 (--max-time) is how the stream example stops.
[[ ${status:-0} -eq 0 || ${status:-0} -eq 28 ]] || { echo "FAILED: exit status $status" >&2; failed=1; }
exit $failed

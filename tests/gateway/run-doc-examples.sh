#!/usr/bin/env bash
# Runs the examples of a document as a reader would paste them: the shell block that follows the
# line "The block below is run by …" in DOC, with only the lines that set the given variables
# replaced, and checks that its output holds every EXPECTED text:
#   run-doc-examples.sh DOC [NAME=VALUE]... -- [EXPECTED]...
set -euo pipefail
doc=$1
shift
block=$(awk '/The block below is run by/ {found=1; next}
             found && /^```sh$/ {inside=1; next}
             inside && /^```$/ {exit}
             inside {print}' "$doc")
[[ -n $block ]] || { echo "no tested shell block in $doc" >&2; exit 1; }

settings=""
names=()
while [[ $# -gt 0 && $1 != "--" ]]; do
  settings+=$(printf '%s=%q' "${1%%=*}" "${1#*=}")$'\n'
  names+=("${1%%=*}")
  shift
done
[[ $# -gt 0 ]] && shift
pattern="^($(IFS='|'; echo "${names[*]}"))="
script="$settings$(grep -vE "$pattern" <<<"$block")"

output=$(bash -c "$script" 2>&1) || status=$?
echo "$output"
failed=0
for expected in "$@"; do
  if ! grep -aqF -- "$expected" <<<"$output"; then
    echo "FAILED: the examples' output lacks $expected" >&2
    failed=1
  fi
done
# curl's own exit status 28 (--max-time) is how a stream example stops.
[[ ${status:-0} -eq 0 || ${status:-0} -eq 28 ]] || { echo "FAILED: exit status $status" >&2; failed=1; }
exit $failed

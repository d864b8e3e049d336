#!/usr/bin/env bash
# Fuzzes every RPC of every gRPC service with peerwell-fuzz (tests/fuzz), built by Clang with
# AddressSanitizer and UndefinedBehaviorSanitizer in build-sanitize/.
#
#   tools/fuzz.sh [--runs N] [--rpc <package.Service>/<Rpc>]...   each RPC on its own, N inputs
#   tools/fuzz.sh --all-at-once --runs N                           one run over every RPC's seeds
#
# Seeds come from the authorization matrix's requests (peerwell-fuzz-seeds) and the inputs kept in
# tests/fuzz/corpus; what a run learns stays in build-sanitize/fuzz/<rpc>/, and a crash's input
# in build-sanitize/fuzz/crashes/. Prints one line per RPC (inputs, seconds, inputs a second,
# coverage) and fails if any run found a crash or a sanitizer report.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=100000
all_at_once=false
fuzzer=""
rpcs=()
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --rpc) rpcs+=("$2"); shift 2 ;;
    --all-at-once) all_at_once=true; shift ;;
    --fuzzer) fuzzer=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--rpc <package.Service>/<Rpc>]... [--all-at-once]" >&2; exit 2 ;;
  esac
done
if [[ -z $fuzzer ]]; then
  "$root/tools/build.sh" --sanitize --target peerwell-fuzz peerwell-fuzz-seeds
  fuzzer="$root/build-sanitize/tests/fuzz/peerwell-fuzz"
fi
out="$(dirname "$(dirname "$(dirname "$fuzzer")")")/fuzz"
seeds="$out/seeds"
rm -rf "$seeds"
mkdir -p "$out/crashes" "$seeds"
"$(dirname "$fuzzer")/peerwell-fuzz-seeds" "$seeds"
kept=()
[[ -d $root/tests/fuzz/corpus ]] && kept=("$root/tests/fuzz/corpus")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# One libFuzzer run; prints "<name> <inputs> <seconds> <inputs/s> <coverage>".
run() {
  local name=$1 work=$2 log
  log="$out/${name//\//_}.log"
  mkdir -p "$work"
  local started=$SECONDS
  # -detect_leaks=0: libFuzzer's leak check after every input whose mallocs and frees differ
  # fires on nearly every call into servers that allocate on their own threads, and scanning the
  # heap each time took half the run; LeakSanitizer still checks the whole process at exit.
  # -entropic=0: the entropic schedule's bookkeeping over the services' hundreds of thousands of
  # features (background threads add to them on every input) took over half of the rest.
  if ! "$fuzzer" -runs="$runs" -max_len=8192 -timeout=30 -rss_limit_mb=4096 -detect_leaks=0 \
      -entropic=0 \
      -print_final_stats=1 -artifact_prefix="$out/crashes/" "$work" "$seeds" "${kept[@]}" \
      >"$log" 2>&1; then
    echo "$name: FAILED (log: $log)" >&2
    tail -40 "$log" >&2
    return 1
  fi
  local seconds=$((SECONDS - started)) inputs coverage
  inputs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  inputs=${inputs:-0}
  coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  printf '%-70s %10s %6ss %8s/s cov %s\n' "$name" "$inputs" "$seconds" \
    "$((inputs / (seconds > 0 ? seconds : 1)))" "${coverage:-?}"
}

if $all_at_once; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  unset PEERWELL_FUZZ_RPC
  run "every RPC" "$work"
  exit
fi

if ((${#rpcs[@]} == 0)); then
  mapfile -t rpcs < <(sed -n 's/^# rpc: *//p' "$seeds"/* | sort -u)
fi
failed=0
for rpc in "${rpcs[@]}"; do
  PEERWELL_FUZZ_RPC=$rpc run "$rpc" "$out/${rpc//\//_}" || failed=1
done
exit $failed

#!/usr/bin/env bash
# Builds everything and runs every test: unit tests, and integration tests that start their own
# redis-server and servers on loopback. Then the whole suite a second time, built by Clang with
# AddressSanitizer (leaks too) and UndefinedBehaviorSanitizer in build-sanitize/, with the
# fuzzers: it fails on any sanitizer report from any test, service or tool. Arguments go to
# ctest in both passes; PEERWELL_SANITIZE_PASS=0 runs the first pass alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/build.sh"
cd "$root/build"
ctest --output-on-failure --timeout 300 -j "$(nproc)" "$@"

[[ ${PEERWELL_SANITIZE_PASS:-1} == 0 ]] && exit 0
"$root/tools/build.sh" --sanitize
reports="$root/build-sanitize/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
# Every process writes its reports to a file of its own there (log_path adds the pid): a report
# from a service that a test started, or one that scrolled by in a passing test, still fails
# the run.
# handle_abort: an abort (std::terminate, a failed CHECK) is a report too.
export ASAN_OPTIONS="detect_leaks=1:handle_abort=1:log_path=$reports/asan"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$reports/ubsan"
# Reports name functions and lines only with LLVM's symbolizer.
symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
[[ -x $symbolizer ]] && export ASAN_SYMBOLIZER_PATH=$symbolizer
cd "$root/build-sanitize"
status=0
# Not here: the offline deployment checks (no C++ in them) and Lighthouse's performance score,
# which counts CPU time the instrumentation triples.
ctest --output-on-failure --timeout 600 -j "$(nproc)" -LE 'deploy|performance' "$@" || status=$?
# Empty files too are left by processes that reported nothing (libFuzzer's output goes there).
mapfile -t found < <(find "$reports" -type f -size +0)
if ((${#found[@]})); then
  echo "Sanitizer reports (in $reports):" >&2
  head -n 60 "${found[@]}" >&2
  status=1
fi
exit $status

#!/usr/bin/env bash
# Configures (once) and builds PeerWell in build/, the build tree the scripts share (with
# --sanitize: in build-sanitize/, by Clang, with AddressSanitizer and UndefinedBehaviorSanitizer,
# and the libFuzzer targets).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/install-deps.sh"
# Paths inside the project hash as relative ones, so that a second clone (CI's) finds what the
# first compiled in the cache.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
build_dir="$root/build"
flags=()
if [[ "${1:-}" == "--sanitize" ]]; then
  shift
  build_dir="$root/build-sanitize"
  flags=(-DPEERWELL_SANITIZE=ON -DCMAKE_CXX_COMPILER=clang++-14)
fi
# A sanitizer tree configured by another compiler (GCC, before Clang built it) has no fuzzers:
# start it again.
if [[ ${flags[*]} == *clang* && -f $build_dir/CMakeCache.txt ]] &&
   ! grep -q '^CMAKE_CXX_COMPILER:.*clang++-14' "$build_dir/CMakeCache.txt"; then
  rm -rf "$build_dir"
fi
if [[ ! -f "$build_dir/build.ninja" ]]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${flags[@]}"
fi
cmake --build "$build_dir" "$@"

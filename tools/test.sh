#!/usr/bin/env bash
# Builds everything and runs every test: unit tests, and integration tests that start their own
# redis-server and servers on loopback.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/build.sh"
cd "$root/build"
ctest --output-on-failure --timeout 300 -j "$(nproc)" "$@"

#!/usr/bin/env bash
# Runs a Node test of the gateway with the pinned packages of the tool cache
# (tools/deploy-tools.sh fills it; DEPLOY_NODE_MODULES names it):
#   run-node-test.sh SCRIPT.mjs [ARGUMENT]...
# Meant to run under peerwell-suite-runner, which provides the suite (PEERWELL_GATEWAY_URL...).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
eval "$("$root/tools/deploy-tools.sh")"
export DEPLOY_NODE_MODULES DEPLOY_CHROMIUM
exec "$DEPLOY_NODE" "$@"

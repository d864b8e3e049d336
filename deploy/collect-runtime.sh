#!/usr/bin/env bash
# Copies binaries and exactly the shared libraries they load (as ldd resolves them, the dynamic
# loader included) into OUT_DIR, laid out as a root file system: the image's runtime stage is
# `FROM scratch` plus this folder, so anything missing here is missing in production.
#
#   deploy/collect-runtime.sh [--strip] OUT_DIR BINARY...
#
# Binaries land in OUT_DIR/usr/local/bin. Libraries keep the directory the loader finds them in
# (with /lib and /lib64 as the symlinks a merged-/usr Debian has), so the loader's built-in search
# path works without an ld.so.cache. --strip drops debug information from the copies (the
# RelWithDebInfo build carries about 25 MB of it per binary).
set -euo pipefail

usage() {
  echo "usage: $0 [--strip] OUT_DIR BINARY..." >&2
  exit 2
}

strip_debug=0
if [[ ${1:-} == --strip ]]; then
  strip_debug=1
  shift
fi
(($# >= 2)) || usage
out=$1
shift

command -v ldd >/dev/null || { echo "$0: ldd not found" >&2; exit 1; }
mkdir -p "$out/usr/local/bin"
out=$(cd "$out" && pwd)

declare -A libraries=()  # path as the loader names it -> 1
for binary in "$@"; do
  [[ -f $binary && -x $binary ]] || { echo "$0: not an executable: $binary" >&2; exit 1; }
  # ldd prints "name => /path (addr)", "/path (addr)" for the loader, and "name (addr)" for the
  # kernel's vDSO, which has no file. "not found" must stop the build, not ship a broken image.
  if ! listing=$(ldd "$binary"); then
    echo "$0: ldd failed on $binary (not a dynamic executable?)" >&2
    exit 1
  fi
  if grep -q "not found" <<<"$listing"; then
    echo "$0: $binary needs libraries that are not installed:" >&2
    grep "not found" <<<"$listing" >&2
    exit 1
  fi
  while read -r path; do
    libraries[$path]=1
  done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$listing")
  cp "$binary" "$out/usr/local/bin/"
  if ((strip_debug)); then
    strip --strip-debug "$out/usr/local/bin/$(basename "$binary")"
  fi
done

for path in "${!libraries[@]}"; do
  dir=$(dirname "$path")
  real_dir=$(cd "$dir" && pwd -P)
  # A top-level symlink such as /lib -> usr/lib is recreated (relative, so that it never points
  # back into the machine that built the image), so both names resolve inside OUT_DIR.
  first=${path#/}
  first=/${first%%/*}
  if [[ -L $first && ! -e $out$first ]]; then
    ln -s "$(realpath -m --relative-to="$out" "$out$(readlink -f "$first")")" "$out$first"
  fi
  mkdir -p "$out$real_dir"
  # Dereferenced: one regular file under the name the loader asks for.
  cp -L "$path" "$out$real_dir/$(basename "$path")"
done
for path in "${!libraries[@]}"; do
  [[ -f $out$path ]] || { echo "$0: $path does not resolve inside $out" >&2; exit 1; }
done

echo "collected ${#libraries[@]} libraries for $# binaries into $out"

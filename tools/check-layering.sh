#!/usr/bin/env bash
# Checks the layering that keeps domain logic testable: the domain files of each service
# (<service>.h, <service>_service.*, <service>_store.h) and the core of services/common include
# only the standard library, Abseil and other core files; no gRPC, protobuf, hiredis,
# prometheus or OpenSSL, directly or through a project header.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

core=(services/common/{api_key_secret,blocking,caller,deadline,ids,quiet_hours,validation}.{h,cc}
      services/common/{clock,audit_record,create_request,pseudonymizer,text_cipher}.h)
is_core() {
  local candidate=$1 known
  for known in "${core[@]}"; do [[ $known == "$candidate" ]] && return 0; done
  return 1
}

for dir in services/*/; do
  name=$(basename "$dir")
  [[ $name == common ]] && continue
  for file in "$dir$name.h" "$dir${name}_service.h" "$dir${name}_service.cc" "$dir${name}_store.h"; do
    [[ -f $file ]] && core+=("$file")
  done
  # Whatever else the service's <name>_core library compiles, and the headers beside it.
  for source in $(sed -n "/add_library(${name}_core/,/)/p" "$dir/CMakeLists.txt" 2>/dev/null |
                  grep -o '[a-z_]*\.cc'); do
    for file in "$dir$source" "$dir${source%.cc}.h"; do
      [[ -f $file ]] && ! is_core "$file" && core+=("$file")
    done
  done
done


status=0
for file in "${core[@]}"; do
  [[ -f $file ]] || continue
  while IFS= read -r include; do
    header=${include#*[\"<]}
    header=${header%[\">]*}
    case $include in
      *'"absl/'*) ;;
      *'"'*) is_core "$header" || { echo "$file: includes $header, which is not domain code"; status=1; } ;;
      *'<grpc'*|*'<google/'*|*'<hiredis'*|*'<prometheus'*|*'<openssl'*|*'<jwt'*)
        echo "$file: includes <$header>"; status=1 ;;
    esac
  done < <(grep -E '^#include' "$file")
done
((status == 0)) && echo "layering: ${#core[@]} domain files include only the standard library, Abseil and domain code"
exit $status

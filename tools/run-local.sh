#!/usr/bin/env bash
# Builds PeerWell and runs the whole suite on this machine: a local redis-server with
# append-only persistence (appendfsync always), every service, and a demo organisation.
# Ctrl-C stops everything this script started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/build.sh"

bin="$root/build"
state="$root/.local"            # data and secrets of the local suite (git-ignored)
mkdir -p "$state/redis" "$state/logs"
chmod 700 "$state"

# Secrets persist across runs so that tokens printed earlier keep working.
[[ -s "$state/jwt-secret" ]] || head -c 48 /dev/urandom | base64 -w0 > "$state/jwt-secret"
[[ -s "$state/master-key" ]] || head -c 32 /dev/urandom | base64 -w0 > "$state/master-key"
[[ -s "$state/pseudonym-key" ]] || head -c 32 /dev/urandom | base64 -w0 > "$state/pseudonym-key"
export PEERWELL_JWT_SECRET_FILE="$state/jwt-secret"
export PEERWELL_MASTER_KEY_FILE="$state/master-key"
export PEERWELL_PSEUDONYM_KEY_FILE="$state/pseudonym-key"
export PEERWELL_REDIS_ADDR="unix:$state/redis/redis.sock"
directory_port=${PEERWELL_DIRECTORY_PORT:-50051}
checkin_port=${PEERWELL_CHECKIN_PORT:-50052}
alerts_port=${PEERWELL_ALERTS_PORT:-50053}
supervision_port=${PEERWELL_SUPERVISION_PORT:-50054}
network_port=${PEERWELL_NETWORK_PORT:-50055}
webhooks_port=${PEERWELL_WEBHOOKS_PORT:-50056}
gateway_port=${PEERWELL_GATEWAY_PORT:-8080}
export PEERWELL_DIRECTORY_ADDR="127.0.0.1:$directory_port"
export PEERWELL_CHECKIN_ADDR="127.0.0.1:$checkin_port"
export PEERWELL_ALERTS_ADDR="127.0.0.1:$alerts_port"
export PEERWELL_SUPERVISION_ADDR="127.0.0.1:$supervision_port"
export PEERWELL_NETWORK_ADDR="127.0.0.1:$network_port"
export PEERWELL_WEBHOOKS_ADDR="127.0.0.1:$webhooks_port"
# On this machine a partner's test receiver is likely on localhost over plain http.
export PEERWELL_WEBHOOK_ALLOW_PRIVATE=${PEERWELL_WEBHOOK_ALLOW_PRIVATE:-true}
export PEERWELL_GATEWAY_URL="http://127.0.0.1:$gateway_port"

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping PeerWell..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "Stopped. Data stays in .local/ for the next run (delete it to start afresh)."
}
trap stop INT TERM EXIT

# Waits until a log file has a line with "message":"serving" (or the given message).
wait_for_log() {
  local file=$1 pattern=${2:-'"message":"serving"'}
  for _ in $(seq 1 200); do
    grep -q "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "did not start; see $file:" >&2
  tail -20 "$file" >&2
  return 1
}

# Each service reaches Redis as its own ACL user, limited to its own keys
# (deploy/base/redis-acl-rules.conf); the default user is off.
acl="$root/deploy/base"
mkdir -p "$state/redis-passwords"
for user in $(awk '$1 == "user" && !/ nopass/ {print $2}' "$acl/redis-acl-rules.conf"); do
  [[ -s "$state/redis-passwords/$user" ]] ||
    (umask 077 && head -c 24 /dev/urandom | base64 -w0 > "$state/redis-passwords/$user")
done
(umask 077 && sh "$acl/redis-acl-file.sh" "$acl/redis-acl-rules.conf" "$state/redis-passwords" \
  > "$state/redis/users.acl")

redis-server --port 0 --unixsocket "$state/redis/redis.sock" --unixsocketperm 700 \
  --dir "$state/redis" --appendonly yes --appendfsync always --save "" \
  --aclfile "$state/redis/users.acl" --logfile "$state/logs/redis.log" &
pids+=($!)
wait_for_log "$state/logs/redis.log" "eady to accept connections"

start_service() {
  local name=$1 port=$2 metrics_port=$3 password=()
  [[ -s "$state/redis-passwords/$name" ]] &&
    password=(--redis_password_file="$state/redis-passwords/$name")
  "$bin/services/$name/peerwell-$name" --listen_addr="127.0.0.1:$port" \
    --metrics_addr="127.0.0.1:$metrics_port" "${password[@]}" > "$state/logs/$name.log" 2>&1 &
  pids+=($!)
  wait_for_log "$state/logs/$name.log"
}
start_service directory "$directory_port" 9551
start_service checkin "$checkin_port" 9552
start_service alerts "$alerts_port" 9553
start_service supervision "$supervision_port" 9554
start_service network "$network_port" 9555
start_service webhooks "$webhooks_port" 9557
start_service gateway "$gateway_port" 9556

ctl="$bin/tools/peerwellctl/peerwellctl"
"$ctl" demo seed

cat <<INFO

PeerWell is running (logs in .local/logs/):
  directory   gRPC $PEERWELL_DIRECTORY_ADDR   metrics http://127.0.0.1:9551/metrics
  check-ins   gRPC $PEERWELL_CHECKIN_ADDR   metrics http://127.0.0.1:9552/metrics
  alerts      gRPC $PEERWELL_ALERTS_ADDR   metrics http://127.0.0.1:9553/metrics
  supervision gRPC $PEERWELL_SUPERVISION_ADDR   metrics http://127.0.0.1:9554/metrics
  network     gRPC $PEERWELL_NETWORK_ADDR   metrics http://127.0.0.1:9555/metrics
  webhooks    gRPC $PEERWELL_WEBHOOKS_ADDR   metrics http://127.0.0.1:9557/metrics
  gateway     HTTP http://127.0.0.1:$gateway_port/   metrics http://127.0.0.1:9556/metrics
  dashboard   open the sign-in links printed above in a browser (supervisor, coordinator, volunteer)
  redis       $PEERWELL_REDIS_ADDR (append-only, appendfsync always; a user per service,
              passwords in .local/redis-passwords/)

Try, in another terminal from $root:
  export PEERWELL_JWT_SECRET_FILE=.local/jwt-secret
  build/tools/peerwellctl/peerwellctl --token <coordinator token above> person list
  build/tools/peerwellctl/peerwellctl --token <volunteer token above> checkin list
  build/tools/peerwellctl/peerwellctl --token <supervisor token above> alerts watch
  build/tools/peerwellctl/peerwellctl --token <supervisor token above> supervision session list
  build/tools/peerwellctl/peerwellctl --token <volunteer token above> network channels
  build/tools/peerwellctl/peerwellctl help

Press Ctrl-C to stop everything.
INFO
wait "${pids[@]}"

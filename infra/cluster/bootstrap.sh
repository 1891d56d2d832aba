#!/usr/bin/env bash
# Starts a LOCAL Redis Cluster of 3 masters (no replicas) from the redis-server and redis-cli of
# this machine (Redis 7), for developing and testing Tessera against Redis Cluster: every key of
# Tessera carries a hash tag, so each Lua script touches one slot.
#
#   infra/cluster/bootstrap.sh [--base-port 7000] [--data-dir DIR]
#   -> REDIS_CLUSTER_NODES=127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002   (the only line on stdout)
#   infra/cluster/stop.sh      [--base-port 7000] [--data-dir DIR]         (same arguments)
#
# Nodes bind 127.0.0.1 only, run with AOF (everysec) and maxmemory-policy noeviction like
# production, and keep AOF, nodes.conf, log and pid file in DIR/<port>/.
#
# Idempotent: nodes of this data dir that already run are reused, stopped ones are restarted (they
# rejoin the cluster from their nodes.conf), and `redis-cli --cluster create` runs only when no node
# knows a cluster yet. Safe: it refuses ports used by anything else, refuses a non-empty data dir it
# did not create, and on failure stops the nodes it started itself.
set -euo pipefail

SCRIPT_NAME="$(basename "$0")"
SCRIPT_DIR="$(cd "$(dirname "$0")" && pwd -P)"
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"

parse_args "$@"

for tool in redis-server redis-cli timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (Debian: apt-get install -y redis-server redis-tools)"
done

# 1. Ports: each must be free, or be a node of this very data dir (then it is reused).
RUNNING=()
TO_START=()
for p in "${PORTS[@]}"; do
  if port_open "$p"; then
    if answers_ping "$p" && ours "$p"; then
      RUNNING+=("$p")
      continue
    fi
    die "port $p on $HOST is in use by another process (not a node of $DATA_DIR); choose another --base-port"
  fi
  if port_open $((p + 10000)); then
    die "cluster bus port $((p + 10000)) of node $p is in use; choose another --base-port"
  fi
  TO_START+=("$p")
done

# 2. Data dir: ours (marker) or new/empty.
if [ -d "$DATA_DIR" ] && [ ! -f "$MARKER" ] && [ -n "$(ls -A "$DATA_DIR")" ]; then
  die "$DATA_DIR exists, is not empty and was not created by this script; choose another --data-dir"
fi
mkdir -p "$DATA_DIR"
DATA_DIR="$(cd "$DATA_DIR" && pwd -P)"
MARKER="$DATA_DIR/.tessera-redis-cluster"
printf 'local Redis Cluster of infra/cluster/bootstrap.sh\nports=%s\n' "${PORTS[*]}" >"$MARKER"

# On failure, stop the nodes this run started (nodes that were already running are left alone).
STARTED=()
cleanup_on_error() {
  local status=$?
  if [ "$status" -ne 0 ] && [ "${#STARTED[@]}" -gt 0 ]; then
    log "failed; stopping the nodes started by this run: ${STARTED[*]} (logs stay in $DATA_DIR/<port>/redis.log)"
    for p in "${STARTED[@]}"; do rcli "$p" shutdown nosave >/dev/null 2>&1 || true; done
  fi
  exit "$status"
}
trap cleanup_on_error EXIT

# 3. Start the missing nodes.
for p in "${TO_START[@]}"; do
  dir="$DATA_DIR/$p"
  mkdir -p "$dir"
  redis-server \
    --port "$p" \
    --bind "$HOST" \
    --protected-mode yes \
    --dir "$dir" \
    --cluster-enabled yes \
    --cluster-config-file "$dir/nodes.conf" \
    --cluster-node-timeout 5000 \
    --appendonly yes \
    --appendfsync everysec \
    --save "" \
    --maxmemory-policy noeviction \
    --daemonize yes \
    --pidfile "$dir/redis.pid" \
    --logfile "$dir/redis.log"
  STARTED+=("$p")
done
[ "${#STARTED[@]}" -eq 0 ] || log "started node(s) ${STARTED[*]} in $DATA_DIR"

# redis-server --daemonize returns before the node listens (or fails to): wait for every PONG.
deadline=$((SECONDS + TIMEOUT))
for p in "${PORTS[@]}"; do
  until answers_ping "$p"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 20 "$DATA_DIR/$p/redis.log" >&2 2>/dev/null || true
      die "node $p did not answer within ${TIMEOUT}s"
    fi
    sleep 0.1
  done
  ours "$p" || die "port $p answers but is not the node of $DATA_DIR/$p (lost a race for the port?)"
done

# 4. Form the cluster unless its nodes already know one (reused or restarted from nodes.conf).
fresh=0
formed=0
for p in "${PORTS[@]}"; do
  known="$(info_field "$p" cluster_known_nodes)"
  slots="$(info_field "$p" cluster_slots_assigned)"
  if [ "$known" = 1 ] && [ "$slots" = 0 ]; then
    fresh=$((fresh + 1))
  elif [ "$known" = "$CLUSTER_SIZE" ]; then
    formed=$((formed + 1))
  fi
done
if [ "$fresh" -eq "$CLUSTER_SIZE" ]; then
  addrs=()
  for p in "${PORTS[@]}"; do addrs+=("$HOST:$p"); done
  log "creating the cluster: ${addrs[*]}"
  if ! out="$(timeout "$TIMEOUT" redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes 2>&1)"; then
    printf '%s\n' "$out" >&2
    die "redis-cli --cluster create failed"
  fi
elif [ "$formed" -ne "$CLUSTER_SIZE" ]; then
  die "the nodes of $DATA_DIR are in a mixed state (some in a cluster, some not); run stop.sh with the same arguments, then retry"
fi

# 5. Wait until every node sees the whole cluster: state ok, all 16384 slots, 3 nodes.
deadline=$((SECONDS + TIMEOUT))
for p in "${PORTS[@]}"; do
  until [ "$(info_field "$p" cluster_state)" = ok ] &&
    [ "$(info_field "$p" cluster_slots_assigned)" = 16384 ] &&
    [ "$(info_field "$p" cluster_known_nodes)" = "$CLUSTER_SIZE" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      rcli "$p" cluster info >&2 || true
      die "node $p did not reach cluster_state:ok within ${TIMEOUT}s"
    fi
    sleep 0.2
  done
done

log "cluster ok: ${#PORTS[@]} masters, 16384 slots; stop with: $SCRIPT_DIR/stop.sh --base-port $BASE_PORT --data-dir $DATA_DIR"
nodes_line

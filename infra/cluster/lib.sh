# shellcheck shell=bash
# Shared by bootstrap.sh and stop.sh (sourced, not run): arguments, paths and small helpers for the
# local 3-master Redis Cluster. Loopback only: every node binds 127.0.0.1 and every check connects
# to 127.0.0.1.

CLUSTER_SIZE=3
HOST=127.0.0.1

log() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

usage() {
  cat >&2 <<EOF
usage: $SCRIPT_NAME [--base-port N] [--data-dir DIR]${EXTRA_USAGE:-}

  --base-port N   first of the 3 node ports N, N+1, N+2 (cluster bus: N+10000..N+10002).
                  Env: REDIS_CLUSTER_BASE_PORT. Default: 7000.
  --data-dir DIR  folder holding one sub-folder per node (AOF, nodes.conf, log, pid).
                  Env: REDIS_CLUSTER_DATA_DIR. Default: <repo>/.tessera/redis-cluster-<base port>.
  Env REDIS_CLUSTER_TIMEOUT: seconds to wait for nodes and cluster state (default 30).
EOF
}

# parse_args "$@": sets BASE_PORT, DATA_DIR, TIMEOUT, PORTS, KEEP_DATA.
parse_args() {
  BASE_PORT="${REDIS_CLUSTER_BASE_PORT:-7000}"
  DATA_DIR="${REDIS_CLUSTER_DATA_DIR:-}"
  TIMEOUT="${REDIS_CLUSTER_TIMEOUT:-30}"
  KEEP_DATA=0
  while [ "$#" -gt 0 ]; do
    case "$1" in
    --base-port)
      [ "$#" -ge 2 ] || die "--base-port needs a value"
      BASE_PORT="$2"
      shift 2
      ;;
    --base-port=*)
      BASE_PORT="${1#*=}"
      shift
      ;;
    --data-dir)
      [ "$#" -ge 2 ] || die "--data-dir needs a value"
      DATA_DIR="$2"
      shift 2
      ;;
    --data-dir=*)
      DATA_DIR="${1#*=}"
      shift
      ;;
    --keep-data)
      [ "${ALLOW_KEEP_DATA:-0}" = 1 ] || die "unknown argument: $1"
      KEEP_DATA=1
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage
      die "unknown argument: $1"
      ;;
    esac
  done

  [[ "$BASE_PORT" =~ ^[0-9]+$ ]] || die "base port must be a number, got '$BASE_PORT'"
  # The cluster bus of each node listens on its port + 10000, so the last bus port must fit.
  if [ "$BASE_PORT" -lt 1024 ] || [ "$BASE_PORT" -gt $((65535 - 10000 - CLUSTER_SIZE + 1)) ]; then
    die "base port must be from 1024 to $((65535 - 10000 - CLUSTER_SIZE + 1)), got $BASE_PORT"
  fi
  [[ "$TIMEOUT" =~ ^[0-9]+$ ]] && [ "$TIMEOUT" -gt 0 ] || die "REDIS_CLUSTER_TIMEOUT must be a positive number of seconds"

  if [ -z "$DATA_DIR" ]; then
    local repo
    repo="$(cd "$SCRIPT_DIR/../.." && pwd -P)"
    DATA_DIR="$repo/.tessera/redis-cluster-$BASE_PORT"
  fi
  case "$DATA_DIR" in
  "" | / | /. | /.. ) die "refusing data dir '$DATA_DIR'" ;;
  esac
  # Absolute, without symlinks, so it compares equal to what Redis reports for `CONFIG GET dir`.
  if [ -d "$DATA_DIR" ]; then
    DATA_DIR="$(cd "$DATA_DIR" && pwd -P)"
  elif [ "${DATA_DIR#/}" = "$DATA_DIR" ]; then
    DATA_DIR="$(pwd -P)/$DATA_DIR"
  fi
  [ "$DATA_DIR" != "/" ] && [ "$DATA_DIR" != "$HOME" ] || die "refusing data dir '$DATA_DIR'"

  PORTS=()
  local i
  for ((i = 0; i < CLUSTER_SIZE; i++)); do PORTS+=($((BASE_PORT + i))); done
  MARKER="$DATA_DIR/.tessera-redis-cluster"
}

# rcli PORT ARGS...: redis-cli against one local node, bounded in time.
rcli() {
  local port="$1"
  shift
  timeout 5 redis-cli -h "$HOST" -p "$port" "$@"
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# answers_ping PORT: a Redis answers PONG there.
answers_ping() {
  [ "$(rcli "$1" ping 2>/dev/null)" = "PONG" ]
}

# ours PORT: the Redis on PORT is the node this script runs from DATA_DIR/PORT.
ours() {
  local dir
  dir="$(rcli "$1" config get dir 2>/dev/null | sed -n 2p)" || return 1
  [ "$dir" = "$DATA_DIR/$1" ]
}

# info_field PORT FIELD: one field of CLUSTER INFO (empty when the node does not answer).
info_field() {
  rcli "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"
}

nodes_line() {
  local out="" p
  for p in "${PORTS[@]}"; do out="${out:+$out,}$HOST:$p"; done
  printf 'REDIS_CLUSTER_NODES=%s\n' "$out"
}

#!/usr/bin/env bash
# Stops the local Redis Cluster of bootstrap.sh and removes its data.
#
#   infra/cluster/stop.sh [--base-port 7000] [--data-dir DIR] [--keep-data]
#
# Takes the same arguments (or env) as bootstrap.sh. Each node that is a node of DIR is sent
# SHUTDOWN NOSAVE (no RDB dump; the AOF is already on disk) and waited for until its port closes.
# A port served by anything else is left alone and reported. Then DIR/<port>/ folders and the marker
# are removed (not with --keep-data), and DIR itself if nothing else is in it. A data dir without
# bootstrap.sh's marker is never touched. Idempotent: with nothing running and no data it does
# nothing and succeeds.
set -euo pipefail

SCRIPT_NAME="$(basename "$0")"
SCRIPT_DIR="$(cd "$(dirname "$0")" && pwd -P)"
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"

ALLOW_KEEP_DATA=1
EXTRA_USAGE=" [--keep-data]"
parse_args "$@"
command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found (Debian: apt-get install -y redis-tools)"

status=0
for p in "${PORTS[@]}"; do
  port_open "$p" || continue
  if ! answers_ping "$p" || ! ours "$p"; then
    log "port $p is served by something other than the node of $DATA_DIR/$p; left alone"
    status=1
    continue
  fi
  # The node closes the connection as it exits; redis-cli may report that, which is fine.
  rcli "$p" shutdown nosave >/dev/null 2>&1 || true
  deadline=$((SECONDS + TIMEOUT))
  while port_open "$p"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "node $p still listens after ${TIMEOUT}s"
      status=1
      break
    fi
    sleep 0.1
  done
  port_open "$p" || log "stopped node $p"
done

if [ "$status" -ne 0 ]; then
  log "not removing $DATA_DIR: some port is still open"
  exit "$status"
fi
[ "$KEEP_DATA" = 1 ] && exit 0
[ -d "$DATA_DIR" ] || exit 0
if [ ! -f "$MARKER" ]; then
  log "not removing $DATA_DIR: it has no marker of bootstrap.sh"
  exit 1
fi
for p in "${PORTS[@]}"; do rm -rf -- "${DATA_DIR:?}/$p"; done
rm -f -- "$MARKER"
if rmdir -- "$DATA_DIR" 2>/dev/null; then
  log "removed $DATA_DIR"
else
  log "removed the node folders; $DATA_DIR holds other files and was kept"
fi

#!/usr/bin/env bash
# Stops the Synapse homeserver started by tests/synapse/start.sh (by its pid file only).
#
# Run with `tests/synapse/stop.sh`. The venv, config and log stay in target/synapse.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PID_FILE="$ROOT/target/synapse/synapse.pid"

if [ ! -f "$PID_FILE" ]; then
  echo "[synapse] not running (no $PID_FILE)" >&2
  exit 0
fi
pid=$(cat "$PID_FILE")
# Only the process start.sh started: a stale pid file must not stop whatever reuses the pid.
cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
if [[ "$cmdline" == *synapse.app.homeserver* ]]; then
  kill -TERM "$pid"
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "[synapse] still running after 10 s: killing $pid" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  echo "[synapse] stopped ($pid)" >&2
elif kill -0 "$pid" 2>/dev/null; then
  echo "[synapse] pid $pid is not Synapse: leaving it alone, removing the stale pid file" >&2
fi
rm -f "$PID_FILE"

#!/usr/bin/env bash
# Runs stripe-chat-matrix's end-to-end tests against a throwaway Synapse homeserver.
#
# Run with `tests/synapse/run.sh` from anywhere; extra arguments go to the test binary
# (e.g. `tests/synapse/run.sh a_burst`). Synapse is stopped when the script ends, whatever happens.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
trap '"$ROOT/tests/synapse/stop.sh"' EXIT

started=$(date +%s)
tests/synapse/start.sh
set -a
# shellcheck disable=SC1091
. target/synapse/env
set +a
cargo test -p stripe-chat-matrix --test synapse_e2e -- --ignored --test-threads=1 "$@"
echo "[synapse] end-to-end run took $(( $(date +%s) - started )) s" >&2

#!/usr/bin/env bash
# Validates every Teams Adaptive Card snapshot with Microsoft's `adaptivecards` npm package and
# Teams' webhook rules. Run with `tests/validators/adaptivecards/run.sh` from anywhere (Node 20).
# First proves the validator still catches broken cards (--self-test), then checks the snapshots.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
cd "$here/../../.."
node "$here/validate.js" --self-test
node "$here/validate.js" "$@"

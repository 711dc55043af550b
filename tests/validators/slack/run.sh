#!/usr/bin/env bash
# Validates every Slack snapshot with Slack's Python SDK (slack_sdk, pinned in requirements.txt).
#
# Run with `tests/validators/slack/run.sh` (from anywhere; extra arguments name snapshots to check
# instead of all of them). Needs python3 (3.11) with pip. The virtual environment lives in
# <cargo target dir>/validators/slack-venv and is reused between runs. On Debian, `python3 -m venv`
# needs the python3-venv package: it is installed with apt-get when creating the environment fails.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cd "$root"

target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/validators/slack-venv"
python="${PYTHON:-python3}"

make_venv() {
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv" >/dev/null 2>&1 && "$venv/bin/python" -m pip --version >/dev/null 2>&1
}

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
  if ! make_venv; then
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "error: '$python -m venv' fails and apt-get is not available to install python3-venv" >&2
      exit 1
    fi
    echo "'$python -m venv' fails: installing python3-venv with apt-get" >&2
    if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    if ! "${sudo[@]}" apt-get install -y -q python3-venv >/dev/null; then
      "${sudo[@]}" apt-get update -q >/dev/null
      "${sudo[@]}" apt-get install -y -q python3-venv >/dev/null
    fi
    make_venv || { echo "error: '$python -m venv' still fails" >&2; exit 1; }
  fi
fi

"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
exec "$venv/bin/python" "$here/validate.py" "$@"

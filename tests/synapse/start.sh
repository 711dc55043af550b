#!/usr/bin/env bash
# Starts a throwaway Synapse homeserver for stripe-chat-matrix's end-to-end tests.
#
# Run with `tests/synapse/start.sh` (then `tests/synapse/stop.sh`), or let `tests/synapse/run.sh`
# do both around the tests.
#
# - installs the pinned matrix-synapse from PyPI into a venv under target/synapse/venv (once);
# - generates a config for server name `localhost` (sqlite, a client listener on 127.0.0.1:8008
#   only, no federation listener, Synapse's default rate limits kept so that the tests meet them);
# - starts Synapse in the background with an empty database (pid in target/synapse/synapse.pid,
#   log in target/synapse/homeserver.log), waits for /_matrix/client/versions;
# - registers the users `bot` and `reader` (not admins) with the generated registration shared
#   secret, logs both in, has `bot` create a private room and invite `reader`, who joins;
# - writes target/synapse/env (mode 600) with MATRIX_HOMESERVER, MATRIX_ROOM_ID,
#   MATRIX_BOT_TOKEN and MATRIX_READER_TOKEN.
#
# Environment: SYNAPSE_VERSION (default below), SYNAPSE_PORT (default 8008),
# SYNAPSE_START_TIMEOUT in seconds from launch to answering (default 90).
set -euo pipefail

SYNAPSE_VERSION="${SYNAPSE_VERSION:-1.163.2}"
PORT="${SYNAPSE_PORT:-8008}"
START_TIMEOUT="${SYNAPSE_START_TIMEOUT:-90}"

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIR="$ROOT/target/synapse"
VENV="$DIR/venv"
CONFIG="$DIR/hs.yaml"
PID_FILE="$DIR/synapse.pid"
LOG="$DIR/homeserver.log"
HS="http://127.0.0.1:$PORT"

say() { printf '[synapse] %s\n' "$*" >&2; }
fail() { say "error: $*"; exit 1; }

started_at=$(date +%s)
mkdir -p "$DIR"

# A server left running by an earlier start is stopped first: every start is a fresh homeserver.
"$ROOT/tests/synapse/stop.sh" >/dev/null 2>&1 || true
if curl -s -o /dev/null --max-time 2 "$HS/_matrix/client/versions"; then
  fail "something else already answers on $HS; stop it or set SYNAPSE_PORT"
fi

# 1. The venv with the pinned Synapse.
if [ ! -x "$VENV/bin/python" ]; then
  say "creating the venv in $VENV"
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    say "python3 -m venv failed: installing python3-venv with apt"
    rm -rf "$VENV"
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  fi
fi
PY="$VENV/bin/python"
installed=$("$PY" -c 'import importlib.metadata as m; print(m.version("matrix-synapse"))' 2>/dev/null || true)
if [ "$installed" != "$SYNAPSE_VERSION" ]; then
  say "installing matrix-synapse==$SYNAPSE_VERSION (once; takes a minute)"
  "$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$PY" -m pip install --quiet --disable-pip-version-check "matrix-synapse==$SYNAPSE_VERSION"
fi

# 2. The config (generated once; its signing key and registration shared secret are kept).
if [ ! -f "$CONFIG" ]; then
  say "generating $CONFIG"
  (cd "$DIR" && "$PY" -m synapse.app.homeserver --server-name localhost \
    --config-path "$CONFIG" --data-directory "$DIR" \
    --generate-config --report-stats=no >/dev/null)
fi
# The settings the tests rely on, applied over the generated ones on every start (idempotent).
"$PY" - "$CONFIG" "$PORT" "$LOG" "$DIR" <<'PYEOF'
import sys, yaml
path, port, log, data = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(path) as f:
    config = yaml.safe_load(f)
if not config.get("registration_shared_secret"):
    sys.exit("the generated config has no registration_shared_secret")
config["listeners"] = [{
    "port": port, "type": "http", "tls": False, "x_forwarded": False,
    "bind_addresses": ["127.0.0.1"],
    "resources": [{"names": ["client"], "compress": False}],
}]
config["database"] = {"name": "sqlite3", "args": {"database": f"{data}/homeserver.db"}}
config["report_stats"] = False
config["trusted_key_servers"] = []          # no network: never ask matrix.org for keys
config["suppress_key_server_warning"] = True
config["enable_registration"] = False       # users come from the shared secret only
config["presence"] = {"enabled": False}
with open(path, "w") as f:
    yaml.safe_dump(config, f, sort_keys=False)

# The generated log config writes homeserver.log beside the config; keep it there, and quieter.
log_config = config["log_config"]
with open(log_config) as f:
    logging = yaml.safe_load(f)
logging["handlers"]["file"]["filename"] = log
logging["root"]["level"] = "INFO"
logging.get("loggers", {}).setdefault("synapse.storage.SQL", {})["level"] = "WARNING"
with open(log_config, "w") as f:
    yaml.safe_dump(logging, f, sort_keys=False)
PYEOF

# 3. Start with an empty database: users, room and transaction ids from earlier runs are gone.
rm -rf "$DIR/homeserver.db" "$DIR/homeserver.db-shm" "$DIR/homeserver.db-wal" "$DIR/media_store" "$DIR/env"
: >"$LOG"
say "starting Synapse $SYNAPSE_VERSION on $HS"
launched_at=$(date +%s)
cd "$DIR"
nohup "$PY" -m synapse.app.homeserver --config-path "$CONFIG" >>"$DIR/stdout.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$PID_FILE"
cd "$ROOT"

deadline=$((launched_at + START_TIMEOUT))
until curl -fs -o /dev/null --max-time 2 "$HS/_matrix/client/versions"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -n 30 "$DIR/stdout.log" "$LOG" >&2 || true
    fail "Synapse exited during start-up (see $LOG and $DIR/stdout.log)"
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    tail -n 30 "$LOG" >&2 || true
    "$ROOT/tests/synapse/stop.sh" || true
    fail "Synapse did not answer /_matrix/client/versions within ${START_TIMEOUT}s"
  fi
  sleep 0.5
done
up_at=$(date +%s)
say "up $((up_at - launched_at)) s after launch"

# 4. Users, tokens and the room. In Python, so that no password or token shows in a command line.
umask 077
"$PY" - "$CONFIG" "$HS" "$DIR" <<'PYEOF'
import json, os, secrets, subprocess, sys, tempfile, urllib.parse, urllib.request

config, hs, data = sys.argv[1:4]
venv_bin = os.path.dirname(sys.executable)

def call(method, path, token=None, body=None):
    request = urllib.request.Request(hs + path, method=method,
        data=json.dumps(body or {}).encode(), headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)

def user(name):
    password = secrets.token_urlsafe(24)
    with tempfile.NamedTemporaryFile("w", dir=data, delete=True) as password_file:
        password_file.write(password)
        password_file.flush()
        # `-a` would be --admin: the server URL is positional; --no-admin keeps the default rate limits.
        subprocess.run([os.path.join(venv_bin, "register_new_matrix_user"), "-c", config,
            "-u", name, "--password-file", password_file.name, "--no-admin", hs],
            check=True, stdout=subprocess.DEVNULL)
    login = call("POST", "/_matrix/client/v3/login", body={"type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": name}, "password": password,
        "initial_device_display_name": "stripe-chat e2e"})
    return login["access_token"]

bot, reader = user("bot"), user("reader")
room_id = call("POST", "/_matrix/client/v3/createRoom", bot, {"preset": "private_chat",
    "name": "stripe-chat e2e", "invite": ["@reader:localhost"]})["room_id"]
call("POST", "/_matrix/client/v3/rooms/%s/join" % urllib.parse.quote(room_id, safe=""), reader)
with open(os.path.join(data, "env"), "w") as env:
    env.write(f"MATRIX_HOMESERVER={hs}\nMATRIX_ROOM_ID={room_id}\n"
              f"MATRIX_BOT_TOKEN={bot}\nMATRIX_READER_TOKEN={reader}\n")
print(f"[synapse] room {room_id} created, bot and reader in it", file=sys.stderr)
PYEOF
say "room ready; $DIR/env written ($(( $(date +%s) - started_at )) s in all)"

#!/usr/bin/env bash
# The load benchmark of the stripe-chat webhook listener, beside two baselines.
#
# Receivers (each started fresh, with an empty store, for every run):
#   axum-verify  `stripe-chat-bench baseline-axum` without a database: verify only, store nothing; the
#                floor of HTTP + signature check + load generator on this machine
#   express      tests/bench/express: Express + the official `stripe` package, verify only, stores nothing
#   axum-sqlite  `stripe-chat-bench baseline-axum`: verify + group commit of the raw event to SQLite
#                (WAL, synchronous=FULL), 200 after the commit
#   stripe-chat  `stripe-chat serve` with a minimal config (SQLite store, one `file` destination)
#   stripe-chat-ingest  (only when named in --targets) the same, but its one route takes live events
#                only, so the test events of the load match no route: ingest alone, no delivery
# Loads (`stripe-chat-bench load`, unique freshly signed ~5 KB events, 64 keep-alive connections):
#   closed loop as fast as answers come, then open loop at 1,000 events/s; 2 s warm-up, 20 s measured.
# Then a Markdown table with ratios against the baselines and the service's targets checked.
#
# Usage: tests/bench/run.sh [--duration 20s] [--warmup 2s] [--connections 64] [--rate 1000]
#                           [--targets axum-verify,express,axum-sqlite,stripe-chat] [--pin]
#                           [--modes closed,open] [--binary PATH]
#                           [--out DIR] [--keep] [--idle-timeout 30m] [--attempts 3] [--max-other 0.25]
#   --pin   run the receiver on CPU 0 and the generator on CPU 1 (taskset); default: both float
#           over all cores, as the operating system schedules them.
#   --modes the loads to run (default both: closed,open)
#   --binary  the stripe-chat binary to measure (default: built here), e.g. one built from another
#           commit, to compare two builds in the same conditions
#   --out   results directory (default target/bench/<UTC time>): one .jsonl per run, logs, table.md
#   --keep  keep the receivers' databases (they are deleted after each run; a closed-loop run
#           writes ~1 GB)
#   --idle-timeout  before each run, wait up to this long for the machine to be idle (other work
#           on the 2 cores skews the figures; each run reports the CPU other processes used).
#           0 = do not wait.
#   --attempts, --max-other  a run during which other processes used more than --max-other cores
#           (the kernel's own I/O work for fsync counts too, ~0.1) is run again, up to --attempts
#           times in all; the least disturbed attempt is kept.
# Environment: BENCH_TMPDIR: where the databases go (default $TMPDIR or /tmp); it must be a real
# disk, not tmpfs, or fsync costs nothing and the durable figures mean nothing.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

duration=20s
warmup=2s
connections=64
rate=1000
targets=axum-verify,express,axum-sqlite,stripe-chat
attempts=3
max_other=0.25
pin=0
out=""
keep=0
idle_timeout=30m
modes=closed,open
binary=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    --pin) pin=1; shift ;;
    --modes) modes=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --idle-timeout) idle_timeout=$2; shift 2 ;;
    --attempts) attempts=$2; shift 2 ;;
    --max-other) max_other=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/p}' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\n== %s\n' "$*" >&2; }

out=${out:-target/bench/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp_root=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
work=$(mktemp -d "$tmp_root/stripe-chat-bench.XXXXXX")
if [[ $(stat -f -c %T "$work") == tmpfs ]]; then
  echo "run.sh: $work is on tmpfs, where fsync is free; set BENCH_TMPDIR to a directory on disk" >&2
  exit 2
fi

receiver_pid=""
cleanup() {
  if [[ -n "$receiver_pid" ]] && kill -0 "$receiver_pid" 2>/dev/null; then
    kill -KILL "$receiver_pid" 2>/dev/null || true
  fi
  if [[ $keep == 0 ]]; then rm -rf "$work"; fi
}
trap cleanup EXIT

recv_pin=()
gen_pin=()
if [[ $pin == 1 ]]; then
  recv_pin=(taskset -c 0)
  gen_pin=(taskset -c 1)
fi

secret="whsec_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export STRIPE_CHAT_BENCH_SECRET=$secret

# ---- build ------------------------------------------------------------------------------------
say "building release binaries"
cargo build --release -q -p stripe-chat-bench
bench=$root/target/release/stripe-chat-bench

service_ok=0
service_why=""
if [[ ,$targets, == *,stripe-chat,* || ,$targets, == *,stripe-chat-ingest,* ]]; then
  if [[ -z $binary ]]; then
    binary=$root/target/release/stripe-chat
    if ! cargo build --release -q -p stripe-chat --bin stripe-chat 2>"$out/stripe-chat-build.log"; then
      service_why="the stripe-chat binary does not build (see $out/stripe-chat-build.log)"
    fi
  fi
  if [[ -z $service_why ]]; then
    if "$binary" serve --help >/dev/null 2>&1; then
      service_ok=1
    else
      service_why="this build of stripe-chat has no 'serve' command yet"
    fi
  fi
fi

express_ok=0
express_why=""
if [[ ,$targets, == *,express,* ]]; then
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    express_why="node and npm are not installed"
  elif ! (cd tests/bench/express && npm ci --no-audit --no-fund --loglevel=error) >"$out/npm-ci.log" 2>&1; then
    express_why="npm ci failed (see $out/npm-ci.log)"
  else
    express_ok=1
  fi
fi

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "cpu: $(nproc) × $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "store filesystem: $(df -T "$work" | awk 'NR==2 {print $2}') ($work)"
  echo "node: $(node --version 2>/dev/null || echo none)"
  echo "stripe-chat binary: ${binary:-none}"
  echo "pinning: $([[ $pin == 1 ]] && echo 'receiver on CPU 0, generator on CPU 1' || echo none)"
  echo "load: ${duration} measured after ${warmup} warm-up, ${connections} connections, open loop at ${rate}/s"
} | tee "$out/environment.txt" >&2

# ---- one run ----------------------------------------------------------------------------------
wait_listening() { # url-of-healthz
  for _ in $(seq 1 300); do
    if ! kill -0 "$receiver_pid" 2>/dev/null; then return 1; fi
    code=$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)
    if [[ $code != 000 ]]; then return 0; fi
    sleep 0.1
  done
  return 1
}

stop_receiver() {
  kill -TERM "$receiver_pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$receiver_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$receiver_pid" 2>/dev/null; then
    echo "   (still running 30 s after SIGTERM; SIGKILL)" >&2
    kill -KILL "$receiver_pid" 2>/dev/null || true
  fi
  wait "$receiver_pid" 2>/dev/null || true
  receiver_pid=""
}

start_receiver() { # label dir port
  local label=$1 dir=$2 port=$3
  case "$label" in
    express)
      (cd tests/bench/express && STRIPE_WEBHOOK_SECRET=$secret PORT=$port \
        exec "${recv_pin[@]}" node server.js) >"$dir/receiver.log" 2>&1 &
      ;;
    axum-verify)
      "${recv_pin[@]}" "$bench" baseline-axum --listen "127.0.0.1:$port" >"$dir/receiver.log" 2>&1 &
      ;;
    axum-sqlite)
      "${recv_pin[@]}" "$bench" baseline-axum --listen "127.0.0.1:$port" --db "$dir/baseline.db" \
        >"$dir/receiver.log" 2>&1 &
      ;;
    stripe-chat | stripe-chat-ingest)
      local livemode=""
      if [[ $label == stripe-chat-ingest ]]; then livemode="livemode = true"; fi
      cat >"$dir/stripe-chat.toml" <<EOF
[server]
listen = "127.0.0.1:$port"
[stripe]
webhook_secrets = ["$secret"]
[store]
sqlite = "$dir/stripe-chat.db"
[[destinations]]
name = "log"
provider = "file"
path = "$dir/messages.jsonl"
[[routes]]
events = ["*"]
$livemode
to = ["log"]
EOF
      "${recv_pin[@]}" "$binary" serve --config "$dir/stripe-chat.toml" \
        >"$dir/receiver.log" 2>&1 &
      ;;
  esac
  receiver_pid=$!
}

port_of() {
  case "$1" in
    axum-sqlite) echo 18081 ;; express) echo 18082 ;; stripe-chat) echo 18083 ;; axum-verify) echo 18084 ;;
    stripe-chat-ingest) echo 18085 ;;
  esac
}

db_of() {
  case "$1" in
    axum-sqlite) echo baseline.db ;; stripe-chat | stripe-chat-ingest) echo stripe-chat.db ;; *) echo "" ;;
  esac
}

run_one() { # label mode attempt
  local label=$1 mode=$2 attempt=$3 port dir result load_args=()
  port=$(port_of "$label")
  dir="$work/$label-$mode"
  rm -rf "$dir"
  mkdir -p "$dir"
  result="$out/$label-$mode.attempt$attempt.jsonl"
  sync
  sleep 1
  if [[ $idle_timeout != 0 ]] && ! "$bench" wait-idle --timeout "$idle_timeout"; then
    echo "   the machine is still busy; running anyway (see 'other processes' in the report)" >&2
  fi
  say "$label, $mode loop, attempt $attempt (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
  start_receiver "$label" "$dir" "$port"
  if ! wait_listening "http://127.0.0.1:$port/healthz"; then
    echo "   $label did not start; its log:" >&2
    sed 's/^/   | /' "$dir/receiver.log" >&2 || true
    stop_receiver
    return 1
  fi
  if [[ $mode == open ]]; then load_args=(--rate "$rate"); fi
  "${gen_pin[@]}" "$bench" load --url "http://127.0.0.1:$port/webhooks/stripe" \
    --connections "$connections" --duration "$duration" --warmup "$warmup" "${load_args[@]}" \
    --pid "$receiver_pid" --label "$label" --json >"$result" \
    2> >(tee "$out/$label-$mode.attempt$attempt.txt" >&2)
  stop_receiver
  cp "$dir/receiver.log" "$out/$label-$mode.attempt$attempt.receiver.log" 2>/dev/null || true

  # Every acknowledged event must be in the store once the receiver has stopped.
  local db acked stored
  db=$(db_of "$label")
  if [[ -n $db && -f $dir/$db ]]; then
    acked=$(jq -r .ok_2xx_total "$result")
    stored=$(sqlite3 "$dir/$db" 'SELECT count(*) FROM events')
    if (( stored >= acked )); then
      echo "   durability check: $acked events acknowledged, $stored stored: OK" \
        | tee -a "$out/$label-$mode.attempt$attempt.txt" >&2
    else
      echo "   durability check: $acked events acknowledged, only $stored stored: FAILED" \
        | tee -a "$out/$label-$mode.attempt$attempt.txt" >&2
    fi
  fi
  if [[ $keep == 0 ]]; then rm -rf "$dir"; fi
}

# Runs label/mode up to $attempts times while other processes disturb it; keeps the least
# disturbed attempt as $out/$label-$mode.jsonl.
run_kept() { # label mode
  local label=$1 mode=$2 attempt best="" best_other="" other
  for attempt in $(seq 1 "$attempts"); do
    if ! run_one "$label" "$mode" "$attempt"; then continue; fi
    other=$(jq -r '.cpu.other_cores // 99' "$out/$label-$mode.attempt$attempt.jsonl" 2>/dev/null || echo 99)
    if [[ -z $best ]] || awk -v a="$other" -v b="$best_other" 'BEGIN {exit !(a < b)}'; then
      best=$attempt
      best_other=$other
    fi
    if awk -v a="$other" -v m="$max_other" 'BEGIN {exit !(a <= m)}'; then break; fi
    echo "   other processes used $other cores during the run (more than $max_other)" >&2
  done
  if [[ -z $best ]]; then return 1; fi
  cp "$out/$label-$mode.attempt$best.jsonl" "$out/$label-$mode.jsonl"
  cp "$out/$label-$mode.attempt$best.txt" "$out/$label-$mode.txt"
  kept+=("$out/$label-$mode.jsonl")
}

# ---- all runs ---------------------------------------------------------------------------------
kept=()
for label in axum-verify express axum-sqlite stripe-chat stripe-chat-ingest; do
  [[ ,$targets, == *,$label,* ]] || continue
  if [[ $label == express && $express_ok == 0 ]]; then
    say "SKIPPED express baseline: $express_why"; continue
  fi
  if [[ $label == stripe-chat* && $service_ok == 0 ]]; then
    say "SKIPPED stripe-chat: $service_why; its figures are to be measured"; continue
  fi
  for mode in closed open; do
    [[ ,$modes, == *,$mode,* ]] || continue
    run_kept "$label" "$mode" || echo "   $label $mode run failed" >&2
  done
done

say "results ($out)"
check=()
if [[ $service_ok == 1 ]]; then check=(--check stripe-chat); fi
if [[ ${#kept[@]} -eq 0 ]]; then
  echo "no results" >&2
  exit 1
fi
status=0
"$bench" table "${kept[@]}" --baseline express --baseline axum-sqlite "${check[@]}" \
  | tee "$out/table.md" || status=$?
if [[ $service_ok == 0 && ,$targets, == *,stripe-chat,* ]]; then
  echo
  echo "stripe-chat: SKIPPED ($service_why): to be measured." | tee -a "$out/table.md"
fi
exit $status

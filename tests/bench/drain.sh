#!/usr/bin/env bash
# Burst, then drain: how fast `stripe-chat serve` delivers the backlog of a closed-loop burst.
#
# Each run starts `stripe-chat serve` fresh, with an empty store and the minimal configuration of
# run.sh (SQLite store, one `file` destination, one route `events = ["*"]`), sends a closed-loop
# burst of unique, freshly signed ~5 KB events (`stripe-chat-bench drain`, 64 connections), then,
# with ingest idle, watches the service's /metrics until the destination's backlog is delivered.
# Reported per run: the burst's acks/s, the drain rate (messages/s) and its ratio to the ack rate,
# and the service's CPU time per message drained (utime + stime from /proc/PID/stat over the
# drain; robust to other load on the machine, unlike the rates). Then the median of the runs.
#
# Usage: tests/bench/drain.sh [--burst 6s] [--runs 3] [--connections 64] [--binary PATH]
#                             [--out DIR] [--keep] [--idle-timeout 30m]
#   --binary  the stripe-chat binary to measure (default: built here, target/release/stripe-chat),
#             e.g. one built from another commit, to compare before and after
#   --out     results directory (default target/bench/drain-<UTC time>): one .jsonl per run, the
#             service's logs, table.md
#   --keep    keep the stores and message files (deleted after each run)
#   --idle-timeout  before each run, wait up to this long for the machine to be idle; 0 = do not
#             wait. Each run reports the load average and the CPU other processes used.
# Environment: BENCH_TMPDIR: where the stores go (default $TMPDIR or /tmp); it must be a real
# disk, not tmpfs, or fsync costs nothing.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

burst=6s
runs=3
connections=64
binary=""
out=""
keep=0
idle_timeout=30m
while [[ $# -gt 0 ]]; do
  case "$1" in
    --burst) burst=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --idle-timeout) idle_timeout=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/p}' "$0"; exit 0 ;;
    *) echo "drain.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\n== %s\n' "$*" >&2; }

out=${out:-target/bench/drain-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp_root=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
work=$(mktemp -d "$tmp_root/stripe-chat-drain.XXXXXX")
if [[ $(stat -f -c %T "$work") == tmpfs ]]; then
  echo "drain.sh: $work is on tmpfs, where fsync is free; set BENCH_TMPDIR to a directory on disk" >&2
  exit 2
fi

service_pid=""
cleanup() {
  if [[ -n "$service_pid" ]] && kill -0 "$service_pid" 2>/dev/null; then
    kill -KILL "$service_pid" 2>/dev/null || true
  fi
  if [[ $keep == 0 ]]; then rm -rf "$work"; fi
}
trap cleanup EXIT

secret="whsec_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export STRIPE_CHAT_BENCH_SECRET=$secret

say "building release binaries"
cargo build --release -q -p stripe-chat-bench
bench=$root/target/release/stripe-chat-bench
if [[ -z $binary ]]; then
  cargo build --release -q -p stripe-chat --bin stripe-chat
  binary=$root/target/release/stripe-chat
fi

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "binary: $binary"
  echo "cpu: $(nproc) × $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "kernel: $(uname -r)"
  echo "store filesystem: $(df -T "$work" | awk 'NR==2 {print $2}') ($work)"
  echo "load: closed-loop burst of ${burst}, ${connections} connections, then the drain"
} | tee "$out/environment.txt" >&2

port=18086
for run in $(seq 1 "$runs"); do
  dir="$work/run$run"
  mkdir -p "$dir"
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
to = ["log"]
EOF
  sync
  sleep 1
  if [[ $idle_timeout != 0 ]] && ! "$bench" wait-idle --timeout "$idle_timeout"; then
    echo "   the machine is still busy; running anyway (see the load average in the report)" >&2
  fi
  say "run $run of $runs (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
  "$binary" serve --config "$dir/stripe-chat.toml" >"$dir/service.log" 2>&1 &
  service_pid=$!
  for _ in $(seq 1 300); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)
    [[ $code != 000 ]] && break
    sleep 0.1
  done
  "$bench" drain --url "http://127.0.0.1:$port/webhooks/stripe" --burst "$burst" \
    --connections "$connections" --pid "$service_pid" --label stripe-chat --json \
    >"$out/run$run.jsonl" 2> >(tee "$out/run$run.txt" >&2)
  kill -TERM "$service_pid" 2>/dev/null || true
  wait "$service_pid" 2>/dev/null || true
  service_pid=""
  cp "$dir/service.log" "$out/run$run.service.log"

  # Every acknowledged event is stored, and every one was delivered to the file exactly once.
  acked=$(jq -r .acked "$out/run$run.jsonl")
  stored=$(sqlite3 "$dir/stripe-chat.db" 'SELECT count(*) FROM events')
  lines=$(wc -l <"$dir/messages.jsonl")
  ids=$(jq -r .id "$dir/messages.jsonl" | sort -u | wc -l)
  echo "   check: $acked acknowledged, $stored stored, $lines lines written, $ids distinct" \
    | tee -a "$out/run$run.txt" >&2
  if (( stored < acked || ids < acked || lines != ids )); then
    echo "   check FAILED" | tee -a "$out/run$run.txt" >&2
  fi
  if [[ $keep == 0 ]]; then rm -rf "$dir"; fi
done

say "results ($out)"
{
  echo "| run | acks/s (burst) | other cores (burst) | acked | left after the burst | drain/s | drain ÷ acks | CPU ms/message drained | cores | other cores | load avg before → after |"
  echo "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--|"
  for run in $(seq 1 "$runs"); do
    jq -r --arg run "$run" 'def r(d): if . == null then "–" else (. * d | round) / d end;
      "| \($run) | \(.acks_per_s|round) | \(.burst_other_cores|r(100)) | \(.acked) | \(.drained) | \(.drain_per_s|round) | \(.drain_ratio|r(100)) | \(.cpu_ms_per_message|r(1000)) | \(.drain_cores|r(100)) | \(.other_cores|r(100)) | \(.load_before[0]) → \(.load_after[0]) |"' \
      "$out/run$run.jsonl"
  done
  # Runs that left nothing to drain (delivery kept up) have no drain figures.
  jq -s -r 'def median: sort | if length == 0 then null elif length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end;
    def r(d): if . == null then "–" else (. * d | round) / d end;
    (map(select(.drained > 0))) as $drained
    | "| median | \(map(.acks_per_s)|median|round) | | | | \($drained|map(.drain_per_s)|median|r(1)) | \($drained|map(.drain_ratio)|median|r(100)) | \($drained|map(.cpu_ms_per_message)|median|r(1000)) | | | |"' \
    "$out"/run*.jsonl
} | tee "$out/table.md"

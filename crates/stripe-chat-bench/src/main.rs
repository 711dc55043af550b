//! `stripe-chat-bench`: the load benchmark of the stripe-chat webhook listener.
//!
//! - `stripe-chat-bench load --url URL --secret whsec_...` sends unique, freshly signed ~5 KB
//!   events over N keep-alive HTTP/1.1 connections, in closed loop (as fast as answers come) or in
//!   open loop (`--rate R`, latency measured from the scheduled time), and reports 2xx, non-2xx by
//!   status, errors, acknowledged events per second, latency percentiles (HdrHistogram) and, with
//!   `--pid`, the receiver's peak RSS and CPU.
//! - `stripe-chat-bench baseline-axum --listen ADDR --secret whsec_... --db FILE` runs the baseline
//!   receiver the service is compared with: verify, then group-commit the raw event to SQLite.
//!
//! ```text
//! stripe-chat-bench baseline-axum --listen 127.0.0.1:18081 --secret whsec_bench --db /var/tmp/b.db &
//! stripe-chat-bench load --url http://127.0.0.1:18081/webhooks/stripe --secret whsec_bench \
//!     --connections 64 --duration 20s
//! stripe-chat-bench load --url http://127.0.0.1:18081/webhooks/stripe --secret whsec_bench \
//!     --connections 64 --duration 20s --rate 1000 --json
//! ```
//!
//! - `stripe-chat-bench drain --url URL --secret whsec_... --burst 6s --pid PID` sends a
//!   closed-loop burst, then watches the receiver's `/metrics` while it delivers the backlog with
//!   ingest idle, and reports the drain rate beside the burst's ack rate, and the receiver's CPU
//!   time per message drained.
//!
//! `stripe-chat-bench table FILE... --baseline express --baseline axum-sqlite --check stripe-chat`
//! puts the `--json` lines of several runs in one Markdown table with ratios, and checks the
//! service's targets. `tests/bench/run.sh` runs the whole comparison; `tests/bench/drain.sh` runs
//! the burst-and-drain benchmark of the service.
//!
//! `stripe-chat-bench retention --rate 1000 --duration 5m --retention 30s` runs the service in
//! this process over a SQLite store under a steady open-loop load, with the store's pruner on a
//! retention of seconds, and reports the store file's size over time and the load's latency
//! (`--no-prune` for the same run without pruning, `--backlog N` for a large first prune,
//! `--interleave 5s` for a service that prunes and one that does not, loaded in turns).
#![forbid(unsafe_code)]

mod baseline;
mod drain;
mod event;
mod load;
mod procfs;
mod retention;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use stripe_chat_server::retention::Pruner;

/// Load benchmark of the stripe-chat webhook listener.
#[derive(Debug, Parser)]
#[command(name = "stripe-chat-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send unique, freshly signed events to a webhook receiver and report throughput and latency.
    Load(LoadArgs),
    /// Run the baseline receiver: verify the signature, group-commit the raw event to SQLite.
    BaselineAxum(BaselineArgs),
    /// Send a closed-loop burst, then measure how fast the receiver delivers the backlog it left.
    Drain(DrainArgs),
    /// Print a Markdown table of `load --json` results, with ratios against baselines.
    Table(TableArgs),
    /// Wait until the machine is idle (other work would skew a run); exit 1 at the timeout.
    WaitIdle(WaitIdleArgs),
    /// Run the service in this process under a steady load with the store's pruner on a short
    /// retention; report the store file's size over time and the webhook's latency.
    Retention(RetentionArgs),
}

#[derive(Debug, clap::Args)]
struct RetentionArgs {
    /// Where the SQLite store goes (not tmpfs, where fsync is free).
    #[arg(long, default_value = "/var/tmp/stripe-chat-retention")]
    dir: PathBuf,
    /// Open loop: requests per second.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Keep-alive HTTP/1.1 connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Load sent before measuring, not counted.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// How long to measure.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// What the pruner keeps (the service's configuration refuses less than 3 days; the pruner
    /// itself takes any retention).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    retention: Duration,
    /// Time between pruning rounds; the first runs as the measured window starts.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    prune_every: Duration,
    /// Rows per pruning transaction (the service's).
    #[arg(long, default_value_t = Pruner::BATCH)]
    prune_batch: usize,
    /// Pause after each pruning transaction (the service's: 20 ms).
    #[arg(long, default_value = "20ms", value_parser = humantime::parse_duration)]
    prune_pause: Duration,
    /// The most of the time pruning spends in its transactions (the service's).
    #[arg(long, default_value_t = Pruner::SHARE)]
    prune_share: f64,
    /// The most of the time a round that runs behind spends in its transactions (the
    /// service's).
    #[arg(long, default_value_t = Pruner::CATCH_UP_SHARE)]
    prune_catch_up_share: f64,
    /// Bytes given back to the file system per transaction (the service's).
    #[arg(long, default_value_t = Pruner::RECLAIM_STEP)]
    reclaim_step: u64,
    /// The same run without the pruner.
    #[arg(long)]
    no_prune: bool,
    /// Prune with the rounds only, not also as the store goes (the service does both).
    #[arg(long)]
    rounds_only: bool,
    /// Events received a day ago, delivered, stored before the load: the first round prunes them.
    #[arg(long, default_value_t = 0)]
    backlog: usize,
    /// How often the store's file sizes are sampled.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    sample_every: Duration,
    /// Size of each event body in bytes.
    #[arg(long, default_value_t = 5000)]
    event_size: usize,
    /// The store's write-ahead log limit in MiB (`SqliteOptions::wal_limit_bytes`; the
    /// service's: 128).
    #[arg(long, default_value_t = 128)]
    wal_limit_mib: u64,
    /// Run a service that prunes and one that does not side by side, each over its own store,
    /// and load them in turns of this length (pruning, none, none, pruning, …), comparing the
    /// p99 of each pair of turns after `--warmup`: both see the same disk.
    #[arg(long, value_parser = humantime::parse_duration)]
    interleave: Option<Duration>,
    /// Print one JSON line on stdout (the human summary goes to stderr).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct WaitIdleArgs {
    /// Idle means at most this many cores busy, averaged over the window.
    #[arg(long, default_value_t = 0.1)]
    max_busy: f64,
    /// The window to average over.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    window: Duration,
    /// Give up after this long.
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

#[derive(Debug, clap::Args)]
struct TableArgs {
    /// Files holding `load --json` lines (other lines are ignored).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// A receiver label to compare every other receiver with (repeatable).
    #[arg(long = "baseline")]
    baselines: Vec<String>,
    /// A receiver label to check against the service's targets (≥ 10,000 acks/s and p99 ≤ 15 ms
    /// in closed loop, p99 ≤ 3 ms in open loop, peak RSS ≤ 100 MB); exits 1 when one is missed.
    #[arg(long)]
    check: Option<String>,
}

#[derive(Debug, clap::Args)]
struct LoadArgs {
    /// The receiver's webhook URL (http:// only), e.g. http://127.0.0.1:8787/webhooks/stripe.
    #[arg(long)]
    url: String,
    /// The endpoint secret to sign with (whsec_...).
    #[arg(long, env = "STRIPE_CHAT_BENCH_SECRET", hide_env_values = true)]
    secret: String,
    /// Keep-alive HTTP/1.1 connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// How long to measure.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Load sent before measuring, not counted.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Open loop: requests per second, at fixed intervals. Without it: closed loop.
    #[arg(long)]
    rate: Option<f64>,
    /// Stop after this many requests (warm-up included), even before the duration ends.
    #[arg(long)]
    requests: Option<u64>,
    /// Size of each event body in bytes (the sample is padded up to it).
    #[arg(long, default_value_t = 5000)]
    event_size: usize,
    /// Another sample event (JSON) instead of the built-in invoice.payment_failed.
    #[arg(long)]
    event_file: Option<PathBuf>,
    /// A request without an answer after this long counts as an error.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// The receiver's process id: sample its RSS (VmRSS, VmHWM) and CPU from /proc.
    #[arg(long)]
    pid: Option<u32>,
    /// A name for the receiver in the report.
    #[arg(long, default_value = "receiver")]
    label: String,
    /// Runtime worker threads of the generator.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Print one JSON line on stdout (the human summary goes to stderr).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct DrainArgs {
    /// The receiver's webhook URL (http:// only), e.g. http://127.0.0.1:8787/webhooks/stripe.
    #[arg(long)]
    url: String,
    /// The receiver's Prometheus endpoint (default: `/metrics` on the webhook URL's host).
    #[arg(long)]
    metrics_url: Option<String>,
    /// The destination whose backlog is watched.
    #[arg(long, default_value = "log")]
    destination: String,
    /// The endpoint secret to sign with (whsec_...).
    #[arg(long, env = "STRIPE_CHAT_BENCH_SECRET", hide_env_values = true)]
    secret: String,
    /// Keep-alive HTTP/1.1 connections of the burst.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// How long the closed-loop burst lasts.
    #[arg(long, default_value = "6s", value_parser = humantime::parse_duration)]
    burst: Duration,
    /// Size of each event body in bytes (the sample is padded up to it).
    #[arg(long, default_value_t = 5000)]
    event_size: usize,
    /// Another sample event (JSON) instead of the built-in invoice.payment_failed.
    #[arg(long)]
    event_file: Option<PathBuf>,
    /// A request without an answer after this long counts as an error.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// How often the metrics are read during the drain.
    #[arg(long, default_value = "100ms", value_parser = humantime::parse_duration)]
    poll: Duration,
    /// The drain is over once the backlog reads 0 and no job finished for this long.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    quiet: Duration,
    /// The longest drain waited for.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    drain_timeout: Duration,
    /// The receiver's process id: its CPU from /proc.
    #[arg(long)]
    pid: Option<u32>,
    /// A name for the receiver in the report.
    #[arg(long, default_value = "receiver")]
    label: String,
    /// Runtime worker threads of the generator.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Print one JSON line on stdout (the human summary goes to stderr).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct BaselineArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:18081")]
    listen: String,
    /// Endpoint secret(s) accepted (repeat while rolling a secret).
    #[arg(
        long = "secret",
        required = true,
        env = "STRIPE_CHAT_BENCH_SECRET",
        hide_env_values = true
    )]
    secrets: Vec<String>,
    /// The SQLite file (created when missing). Without it: verify only, store nothing.
    #[arg(long)]
    db: Option<PathBuf>,
    /// Most events committed in one transaction.
    #[arg(long, default_value_t = 1024)]
    max_batch: usize,
    /// `PRAGMA wal_autocheckpoint` in pages (0: never checkpoint, to see what checkpoints cost).
    #[arg(long, default_value_t = 1000)]
    wal_autocheckpoint: u32,
    /// Runtime worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

fn runtime(threads: Option<usize>) -> Result<tokio::runtime::Runtime, String> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(threads) = threads {
        builder.worker_threads(threads.max(1));
    }
    builder
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

fn load(args: LoadArgs) -> Result<(), String> {
    let sample = match &args.event_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("--event-file {}: {e}", path.display()))?,
        None => event::DEFAULT_SAMPLE.to_owned(),
    };
    let events = event::EventFactory::new(&sample, args.event_size, &args.secret)?;
    let plan = load::Plan {
        url: args.url,
        connections: args.connections,
        duration: args.duration,
        warmup: args.warmup,
        rate: args.rate,
        max_requests: args.requests,
        timeout: args.timeout,
        pid: args.pid,
        label: args.label,
    };
    let report =
        runtime(Some(args.threads))?.block_on(load::run(&plan, std::sync::Arc::new(events)))?;
    if args.json {
        eprint!("{}", report.human());
        let line = serde_json::to_string(&report).map_err(|e| e.to_string())?;
        println!("{line}");
    } else {
        print!("{}", report.human());
    }
    Ok(())
}

fn drain(args: DrainArgs) -> Result<(), String> {
    let sample = match &args.event_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("--event-file {}: {e}", path.display()))?,
        None => event::DEFAULT_SAMPLE.to_owned(),
    };
    let events = event::EventFactory::new(&sample, args.event_size, &args.secret)?;
    let metrics_url = match args.metrics_url {
        Some(url) => url,
        None => metrics_url_of(&args.url)?,
    };
    let plan = drain::DrainPlan {
        burst: load::Plan {
            url: args.url,
            connections: args.connections,
            duration: args.burst,
            warmup: Duration::ZERO,
            rate: None,
            max_requests: None,
            timeout: args.timeout,
            pid: args.pid,
            label: args.label,
        },
        metrics_url,
        destination: args.destination,
        poll: args.poll,
        quiet: args.quiet,
        timeout: args.drain_timeout,
    };
    let report = runtime(Some(args.threads))?.block_on(drain::run(&plan, events))?;
    if args.json {
        eprint!("{}", report.human());
        let line = serde_json::to_string(&report).map_err(|e| e.to_string())?;
        println!("{line}");
    } else {
        print!("{}", report.human());
    }
    Ok(())
}

fn retention(args: RetentionArgs) -> Result<(), String> {
    let options = retention::Options {
        dir: args.dir,
        rate: args.rate,
        connections: args.connections,
        warmup: args.warmup,
        duration: args.duration,
        retention: args.retention,
        prune_every: args.prune_every,
        prune_batch: args.prune_batch,
        prune_pause: args.prune_pause,
        prune_share: args.prune_share,
        prune_catch_up_share: args.prune_catch_up_share,
        reclaim_step: args.reclaim_step,
        prune: !args.no_prune,
        as_it_goes: !args.no_prune && !args.rounds_only,
        backlog: args.backlog,
        sample_every: args.sample_every,
        event_size: args.event_size,
        wal_limit_bytes: args.wal_limit_mib.saturating_mul(1 << 20),
    };
    if let Some(slice) = args.interleave {
        let report = runtime(None)?.block_on(retention::run_interleaved(
            &options,
            slice,
            event::DEFAULT_SAMPLE,
        ))?;
        return emit(args.json, &report.human(), &report);
    }
    let report = runtime(None)?.block_on(retention::run(&options, event::DEFAULT_SAMPLE))?;
    emit(args.json, &report.human(), &report)
}

/// Prints `human` on stdout, or with `json` on stderr and `report` as one JSON line on stdout.
fn emit(json: bool, human: &str, report: &impl serde::Serialize) -> Result<(), String> {
    if json {
        eprint!("{human}");
        let line = serde_json::to_string(report).map_err(|e| e.to_string())?;
        println!("{line}");
    } else {
        print!("{human}");
    }
    Ok(())
}

/// `/metrics` on the host of `url`.
fn metrics_url_of(url: &str) -> Result<String, String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("--url {url:?}: {e}"))?;
    let authority = uri
        .authority()
        .ok_or_else(|| format!("--url {url:?}: no host"))?;
    Ok(format!("http://{authority}/metrics"))
}

fn baseline(args: BaselineArgs) -> Result<(), String> {
    let options = baseline::Options {
        listen: args.listen,
        secrets: args.secrets,
        db: args.db,
        max_batch: args.max_batch,
        autocheckpoint: args.wal_autocheckpoint,
    };
    runtime(args.threads)?.block_on(baseline::serve(options))
}

/// Waits for an idle window; `Ok(false)` at the timeout.
fn wait_idle(args: &WaitIdleArgs) -> Result<bool, String> {
    let started = std::time::Instant::now();
    let mut said = false;
    loop {
        let before = procfs::system_busy_seconds().ok_or("cannot read /proc/stat")?;
        let t0 = std::time::Instant::now();
        std::thread::sleep(args.window);
        let after = procfs::system_busy_seconds().ok_or("cannot read /proc/stat")?;
        let busy = (after - before) / t0.elapsed().as_secs_f64();
        if busy <= args.max_busy {
            if said {
                eprintln!("idle now ({busy:.2} cores busy)");
            }
            return Ok(true);
        }
        if started.elapsed() >= args.timeout {
            eprintln!("still busy ({busy:.2} cores) after {:?}", args.timeout);
            return Ok(false);
        }
        if !said {
            eprintln!("waiting for an idle machine ({busy:.2} cores busy with other work)...");
            said = true;
        }
    }
}

/// Prints the table (and the checks); `Ok(false)` when a checked target is missed.
fn table(args: TableArgs) -> Result<bool, String> {
    let mut reports = Vec::new();
    for file in &args.files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        reports.extend(table::parse_reports(&text));
    }
    print!("{}", table::markdown(&reports, &args.baselines));
    let Some(label) = args.check else {
        return Ok(true);
    };
    let (text, ok) = table::check(&reports, &label, table::Targets::SERVICE);
    println!();
    print!("{text}");
    Ok(ok)
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Load(args) => load(args),
        Command::BaselineAxum(args) => baseline(args),
        Command::Drain(args) => drain(args),
        Command::Retention(args) => retention(args),
        Command::WaitIdle(args) => match wait_idle(&args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
        Command::Table(args) => match table(args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stripe-chat-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

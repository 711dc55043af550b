//! `stripe-chat-bench retention`: the service in this process under a steady open-loop load,
//! with the store pruning on a retention of seconds, measuring the store file's size over time
//! and the webhook's latency while pruning runs.
//!
//! The service is the real one (`stripe_chat_server::service::Service` over a `SqliteStore`,
//! one `file` destination, one route for every event), so every event is stored with a job,
//! delivered and then finished. The store is opened as the service opens it, pruning as it goes
//! (`SqliteOptions::prune_as_it_goes`), but with `--retention` instead of `[store] retention`
//! (which is at least three days); `--rounds-only` leaves that out. The service's own pruner
//! keeps the configured retention (so it prunes nothing here); the harness runs a second
//! [`Pruner`] with `--retention`, which the pruner's API accepts whatever its length, on a timer
//! that starts with the measured window. `--backlog N` first stores N events received a day ago
//! and marks their jobs delivered, so that there is a large prune to do while the load runs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use stripe_chat_events::StripeEvent;
use stripe_chat_server::config::ServiceConfig;
use stripe_chat_server::retention::Pruner;
use stripe_chat_server::service::Service;
use stripe_chat_store::{Delivered, NewEvent, SqliteOptions, SqliteStore, Store, StoreError};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::event::EventFactory;
use crate::load::{self, Report};
use crate::procfs;

const SECRET: &str = "whsec_retention_bench";

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) dir: PathBuf,
    pub(crate) rate: f64,
    pub(crate) connections: usize,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    pub(crate) retention: Duration,
    pub(crate) prune_every: Duration,
    pub(crate) prune_batch: usize,
    pub(crate) prune_pause: Duration,
    pub(crate) prune_share: f64,
    pub(crate) prune_catch_up_share: f64,
    pub(crate) reclaim_step: u64,
    pub(crate) prune: bool,
    pub(crate) as_it_goes: bool,
    pub(crate) backlog: usize,
    pub(crate) sample_every: Duration,
    pub(crate) event_size: usize,
    pub(crate) wal_limit_bytes: u64,
}

/// The store's files at one moment.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Sample {
    /// Seconds since the load started (warm-up included).
    pub(crate) t_s: f64,
    pub(crate) db_bytes: u64,
    pub(crate) wal_bytes: u64,
    pub(crate) jobs_pending: u64,
    pub(crate) jobs_delivered: u64,
    /// Bytes this process has written to storage so far (`write_bytes` of `/proc/self/io`).
    pub(crate) written_bytes: Option<u64>,
}

/// One pruning round.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RoundReport {
    pub(crate) started_s: f64,
    pub(crate) elapsed_s: f64,
    /// False for a round still running when the load ended (its counts are then 0; the samples
    /// of delivered jobs kept show its progress).
    pub(crate) finished: bool,
    pub(crate) jobs: usize,
    pub(crate) events: usize,
    pub(crate) refs: usize,
    pub(crate) batches: usize,
    pub(crate) bytes_given_back: u64,
}

/// The result of a run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RetentionReport {
    pub(crate) retention_s: f64,
    pub(crate) prune_every_s: f64,
    pub(crate) prune_batch: usize,
    pub(crate) prune_pause_ms: f64,
    pub(crate) prune_share: f64,
    pub(crate) prune_catch_up_share: f64,
    pub(crate) reclaim_step: u64,
    /// The store's write-ahead log limit.
    pub(crate) wal_limit_bytes: u64,
    pub(crate) pruning: bool,
    /// Whether the store also pruned as it went (`SqliteOptions::prune_as_it_goes`).
    pub(crate) as_it_goes: bool,
    /// Rows the store deleted as it went.
    pub(crate) swept_rows: u64,
    /// Times the store's writer checkpointed the log itself (a pause each), during the load.
    pub(crate) writer_checkpoints: u64,
    pub(crate) backlog: usize,
    pub(crate) backlog_db_bytes: u64,
    /// Seconds of the measured window during which a pruning round was running.
    pub(crate) pruning_in_window_s: f64,
    /// CPU used by this process (service and generator) during the load, in cores.
    pub(crate) process_cores: Option<f64>,
    /// CPU used by every other process of the machine during the load, in cores: well above
    /// zero means something else competed for the cores.
    pub(crate) other_cores: Option<f64>,
    /// What this process wrote to storage per second in the second half of the measured window
    /// (the store's log and checkpoints, and the `file` destination's messages), in MB/s.
    pub(crate) written_mb_per_s_second_half: Option<f64>,
    pub(crate) rounds: Vec<RoundReport>,
    pub(crate) samples: Vec<Sample>,
    pub(crate) load: Report,
}

/// Bytes written per second between the first sample at or after `from_s` and the last one.
fn written_rate(samples: &[Sample], from_s: f64) -> Option<f64> {
    let first = samples.iter().find(|s| s.t_s >= from_s)?;
    let last = samples.last()?;
    let seconds = last.t_s - first.t_s;
    let bytes = last.written_bytes?.checked_sub(first.written_bytes?)?;
    (seconds > 0.0).then(|| bytes as f64 / seconds)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn wal_of(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// Stores `count` events received a day ago, routed as the webhook would, and marks every job
/// delivered (directly in the store: the backlog is history, not load). Requests go in 512 at a
/// time, so the store's writer commits them in shared batches.
async fn store_backlog(
    store: &Arc<SqliteStore>,
    config: &ServiceConfig,
    events: &EventFactory,
    count: usize,
) -> Result<(), String> {
    let received_at = SystemTime::now() - Duration::from_secs(86_400);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let mut done = 0;
    while done < count {
        let chunk = (count - done).min(512);
        let mut set = JoinSet::new();
        for _ in 0..chunk {
            let signed = events.next(now);
            let event = StripeEvent::from_slice(&signed.body).map_err(|e| e.to_string())?;
            let jobs = stripe_chat_server::ingest::jobs_for(&config.routes, &event, received_at);
            let new = NewEvent {
                id: event.id().to_owned(),
                event_type: event.event_type().to_owned(),
                created: event.created(),
                livemode: event.livemode(),
                account: event.account().map(str::to_owned),
                raw: event.raw().to_owned(),
                received_at,
            };
            let store = Arc::clone(store);
            set.spawn(async move { store.ingest(new, jobs).await.map(drop) });
        }
        settle(set).await?;
        done += chunk;
    }
    loop {
        let jobs = store
            .lease("backlog", 512, Duration::from_secs(600), SystemTime::now())
            .await
            .map_err(|e| format!("backlog: {e}"))?;
        if jobs.is_empty() {
            return Ok(());
        }
        let mut set = JoinSet::new();
        for job in jobs {
            let store = Arc::clone(store);
            set.spawn(async move { store.complete(&job, Delivered::nothing()).await.map(drop) });
        }
        settle(set).await?;
    }
}

async fn settle(mut set: JoinSet<Result<(), StoreError>>) -> Result<(), String> {
    while let Some(done) = set.join_next().await {
        done.map_err(|e| e.to_string())?
            .map_err(|e| format!("backlog: {e}"))?;
    }
    Ok(())
}

/// Runs one measurement.
/// Creates `dir` and returns the store's path in it, without the files of an earlier run.
fn fresh_db(dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("--dir {}: {e}", dir.display()))?;
    let db = dir.join("retention-bench.db");
    for stale in [db.clone(), wal_of(&db)] {
        let _ = std::fs::remove_file(stale);
    }
    Ok(db)
}

/// The service under test: the store at `db`, one `file` destination (`/dev/null`) for every
/// event.
fn service_config(db: &Path) -> Result<ServiceConfig, String> {
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"{SECRET}\"]\n[store]\nsqlite = {:?}\n[[destinations]]\nname = \"log\"\nprovider = \"file\"\npath = \"/dev/null\"\n[[routes]]\nevents = [\"*\"]\nto = [\"log\"]\n",
        db.display().to_string()
    );
    ServiceConfig::from_toml(&text).map_err(|e| e.to_string())
}

/// Opens the store as the service does, pruning as it goes on `--retention` if `as_it_goes`.
async fn open_store(
    options: &Options,
    db: &Path,
    as_it_goes: bool,
) -> Result<Arc<SqliteStore>, String> {
    let mut store_options = SqliteOptions::default().wal_limit_bytes(options.wal_limit_bytes);
    if as_it_goes {
        store_options = store_options.prune_as_it_goes(options.retention);
    }
    Ok(Arc::new(
        SqliteStore::open(db, store_options)
            .await
            .map_err(|e| format!("cannot open the store: {e}"))?,
    ))
}

/// Starts the service over `store` on a free local port; returns it and its webhook's URL.
async fn start_service(
    config: &ServiceConfig,
    store: &Arc<SqliteStore>,
) -> Result<(Service, String), String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen: {e}"))?;
    let service = Service::start(config, Arc::clone(store) as Arc<dyn Store>, listener)
        .map_err(|e| format!("cannot start the service: {e}"))?;
    let url = format!("http://{}/webhooks/stripe", service.local_addr());
    Ok((service, url))
}

/// The harness's [`Pruner`] on `store`: a round every `--prune-every` from `start` +
/// `--warmup` until `stopped`; returns what each round did.
fn spawn_rounds(
    store: Arc<SqliteStore>,
    options: &Options,
    start: Instant,
    mut stopped: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Vec<RoundReport>> {
    let pruner = Pruner::new(store as Arc<dyn Store>, options.retention)
        .batch(options.prune_batch)
        .pause(options.prune_pause)
        .share(options.prune_share)
        .catch_up_share(options.prune_catch_up_share)
        .reclaim_step(options.reclaim_step);
    let (every, warmup) = (options.prune_every, options.warmup);
    tokio::spawn(async move {
        let mut rounds = Vec::new();
        let first = tokio::time::Instant::from_std(start + warmup);
        let mut ticks = tokio::time::interval_at(first, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => break,
                _ = ticks.tick() => {}
            }
            let started_s = start.elapsed().as_secs_f64();
            let round = tokio::select! {
                _ = stopped.wait_for(|s| *s) => {
                    rounds.push(RoundReport {
                        started_s,
                        elapsed_s: start.elapsed().as_secs_f64() - started_s,
                        finished: false,
                        jobs: 0,
                        events: 0,
                        refs: 0,
                        batches: 0,
                        bytes_given_back: 0,
                    });
                    break;
                }
                round = pruner.round(SystemTime::now()) => round,
            };
            match round {
                Ok(round) => rounds.push(RoundReport {
                    started_s,
                    elapsed_s: round.elapsed.as_secs_f64(),
                    finished: true,
                    jobs: round.jobs,
                    events: round.events,
                    refs: round.refs,
                    batches: round.batches,
                    bytes_given_back: round.bytes_given_back,
                }),
                Err(e) => eprintln!("pruning round failed: {e}"),
            }
        }
        rounds
    })
}

pub(crate) async fn run(options: &Options, sample: &str) -> Result<RetentionReport, String> {
    let db = fresh_db(&options.dir)?;
    let config = service_config(&db)?;
    let store = open_store(options, &db, options.as_it_goes).await?;

    if options.backlog > 0 {
        let factory = EventFactory::new(sample, options.event_size, SECRET)?;
        let started = Instant::now();
        store_backlog(&store, &config, &factory, options.backlog).await?;
        eprintln!(
            "backlog     {} delivered events received a day ago, stored in {:.1} s",
            options.backlog,
            started.elapsed().as_secs_f64()
        );
    }
    let backlog_db_bytes = file_len(&db) + file_len(&wal_of(&db));

    let (service, url) = start_service(&config, &store).await?;

    let start = Instant::now();
    let checkpoints_before = store.commit_stats().writer_checkpoints;
    let (stop, stopped) = watch::channel(false);

    // The store's files every `sample_every`.
    let sampler = {
        let (store, db, every, mut stopped) = (
            Arc::clone(&store),
            db.clone(),
            options.sample_every,
            stopped.clone(),
        );
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut ticks = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = stopped.wait_for(|s| *s) => break,
                    _ = ticks.tick() => {}
                }
                let stats = store.stats().await.unwrap_or_default();
                samples.push(Sample {
                    t_s: start.elapsed().as_secs_f64(),
                    db_bytes: file_len(&db),
                    wal_bytes: file_len(&wal_of(&db)),
                    jobs_pending: stats.pending + stats.leased,
                    jobs_delivered: stats.delivered,
                    written_bytes: procfs::written_bytes(std::process::id()),
                });
            }
            samples
        })
    };

    // The pruner under test: rounds every `prune_every` from the start of the measured window.
    let pruner_task = options
        .prune
        .then(|| spawn_rounds(Arc::clone(&store), options, start, stopped.clone()));

    let plan = load::Plan {
        url,
        connections: options.connections,
        duration: options.duration,
        warmup: options.warmup,
        rate: Some(options.rate),
        max_requests: None,
        timeout: Duration::from_secs(10),
        pid: None,
        label: if options.prune {
            "stripe-chat-pruning".to_owned()
        } else {
            "stripe-chat-no-pruning".to_owned()
        },
    };
    let events = EventFactory::new(sample, options.event_size, SECRET)?;
    let own = std::process::id();
    let cpu_before = (
        Instant::now(),
        procfs::cpu_seconds(own),
        procfs::system_busy_seconds(),
    );
    let report = load::run(&plan, Arc::new(events)).await?;
    let elapsed = cpu_before.0.elapsed().as_secs_f64();
    let process_cores = match (cpu_before.1, procfs::cpu_seconds(own)) {
        (Some(a), Some(b)) if elapsed > 0.0 => Some((b - a) / elapsed),
        _ => None,
    };
    let other_cores = match (cpu_before.2, procfs::system_busy_seconds(), process_cores) {
        (Some(a), Some(b), Some(own)) if elapsed > 0.0 => Some(((b - a) / elapsed - own).max(0.0)),
        _ => None,
    };
    let _ = stop.send(true);
    let samples = sampler.await.map_err(|e| e.to_string())?;
    let rounds = match pruner_task {
        Some(task) => task.await.map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    service.shutdown(Duration::from_secs(10)).await;

    let window = (
        options.warmup.as_secs_f64(),
        (options.warmup + options.duration).as_secs_f64(),
    );
    let pruning_in_window_s = rounds
        .iter()
        .map(|r| {
            let (from, to) = (r.started_s, r.started_s + r.elapsed_s);
            (to.min(window.1) - from.max(window.0)).max(0.0)
        })
        .sum();
    Ok(RetentionReport {
        retention_s: options.retention.as_secs_f64(),
        prune_every_s: options.prune_every.as_secs_f64(),
        prune_batch: options.prune_batch,
        prune_pause_ms: options.prune_pause.as_secs_f64() * 1000.0,
        prune_share: options.prune_share,
        prune_catch_up_share: options.prune_catch_up_share,
        reclaim_step: options.reclaim_step,
        wal_limit_bytes: options.wal_limit_bytes,
        pruning: options.prune,
        as_it_goes: options.as_it_goes,
        swept_rows: store.commit_stats().swept_rows,
        writer_checkpoints: store.commit_stats().writer_checkpoints - checkpoints_before,
        backlog: options.backlog,
        backlog_db_bytes,
        pruning_in_window_s,
        process_cores,
        other_cores,
        written_mb_per_s_second_half: written_rate(&samples, (window.0 + window.1) / 2.0)
            .map(|r| r / 1_000_000.0),
        rounds,
        samples,
        load: report,
    })
}

impl RetentionReport {
    /// A few lines for people.
    pub(crate) fn human(&self) -> String {
        use std::fmt::Write as _;
        let mut out = self.load.human();
        let _ = writeln!(
            out,
            "pruning     {} (retention {:.0} s, a round every {:.0} s, {} rows per transaction, pauses of at least {:.0} ms and {:.0}% of the time at most in transactions ({:.0}% when a round runs behind), {} KiB given back per transaction); backlog {} events ({:.1} MB of store before the load)",
            if self.pruning { "on" } else { "off" },
            self.retention_s,
            self.prune_every_s,
            self.prune_batch,
            self.prune_pause_ms,
            self.prune_share * 100.0,
            self.prune_catch_up_share * 100.0,
            self.reclaim_step / 1024,
            self.backlog,
            mb(self.backlog_db_bytes)
        );
        if self.pruning {
            let (jobs, events, refs, bytes): (usize, usize, usize, u64) =
                self.rounds.iter().fold((0, 0, 0, 0), |(j, e, m, b), r| {
                    (j + r.jobs, e + r.events, m + r.refs, b + r.bytes_given_back)
                });
            let longest = self.rounds.iter().map(|r| r.elapsed_s).fold(0.0, f64::max);
            let unfinished = self.rounds.iter().filter(|r| !r.finished).count();
            let _ = writeln!(
                out,
                "as it goes  {}",
                if self.as_it_goes {
                    format!(
                        "{} rows deleted by the store's commits; {} writer checkpoints",
                        self.swept_rows, self.writer_checkpoints
                    )
                } else {
                    "off (rounds only)".to_owned()
                }
            );
            let _ = writeln!(
                out,
                "rounds      {} rounds ({unfinished} still running when the load ended): {jobs} jobs, {events} events and {refs} message refs pruned in finished rounds, {:.1} MB given back; longest round {:.1} s; pruning ran {:.1} s of the {:.1} s measured",
                self.rounds.len(),
                mb(bytes),
                longest,
                self.pruning_in_window_s,
                self.load.duration_s
            );
        }
        let cores = |c: Option<f64>| c.map_or_else(|| "unknown".to_owned(), |c| format!("{c:.2}"));
        let _ = writeln!(
            out,
            "cpu (run)   this process (service and generator) {} cores, other processes {} cores",
            cores(self.process_cores),
            cores(self.other_cores)
        );
        let p99: Vec<String> = self
            .load
            .p99_by_interval
            .iter()
            .map(|p| format!("{p:.2}"))
            .collect();
        let _ = writeln!(
            out,
            "p99 (ms)    of each {} s of the window: {}",
            crate::load::INTERVAL.as_secs(),
            p99.join(" ")
        );
        if let Some(half) = &self.load.second_half_ms {
            let _ = writeln!(
                out,
                "2nd half    p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms",
                half.p50, half.p99, half.p999
            );
        }
        if let Some(rate) = self.written_mb_per_s_second_half {
            let _ = writeln!(
                out,
                "disk        {rate:.1} MB/s written by this process in the second half (the store's log and checkpoints, the file destination)"
            );
        }
        let _ = writeln!(
            out,
            "store       t (s)   db (MB)   wal (MB)   unfinished jobs   delivered jobs kept"
        );
        for s in &self.samples {
            let _ = writeln!(
                out,
                "            {:>5.0}   {:>7.1}   {:>8.1}   {:>15}   {:>19}",
                s.t_s,
                mb(s.db_bytes),
                mb(s.wal_bytes),
                s.jobs_pending,
                s.jobs_delivered
            );
        }
        out
    }
}

/// One turn of an interleaved run: the load on one of the two services for `--interleave`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Slice {
    /// Whether the service under load pruned.
    pub(crate) pruning: bool,
    /// Seconds since the first turn started.
    pub(crate) started_s: f64,
    /// Whether the turn's pair began after the warm-up.
    pub(crate) measured: bool,
    pub(crate) requests: u64,
    pub(crate) ok_2xx: u64,
    /// Latency from the scheduled time, in milliseconds; `None` without any 2xx answer.
    pub(crate) p50_ms: Option<f64>,
    pub(crate) p99_ms: Option<f64>,
}

/// The p99s of the measured pairs of turns, each pair a turn with pruning and one without.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PairSummary {
    pub(crate) pairs: usize,
    pub(crate) p99_pruning_median_ms: f64,
    pub(crate) p99_none_median_ms: f64,
    /// The median, lowest and highest of each pair's p99 with pruning over its p99 without.
    pub(crate) ratio_median: f64,
    pub(crate) ratio_min: f64,
    pub(crate) ratio_max: f64,
}

/// The result of `retention --interleave`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct InterleavedReport {
    pub(crate) rate: f64,
    pub(crate) retention_s: f64,
    pub(crate) slice_s: f64,
    pub(crate) warmup_s: f64,
    /// Whether the pruning service also pruned as it went (not only in the rounds).
    pub(crate) as_it_goes: bool,
    pub(crate) swept_rows: u64,
    pub(crate) rounds: Vec<RoundReport>,
    pub(crate) slices: Vec<Slice>,
    /// `None` when no pair was measured.
    pub(crate) summary: Option<PairSummary>,
}

/// Whether pair `k` loads the pruning service first: in turns (pruning, none, none, pruning,
/// …), so that a steady drift of the disk weighs on both alike.
fn pruning_first(k: usize) -> bool {
    k.is_multiple_of(2)
}

fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if !n.is_multiple_of(2) => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// Pairs the measured turns in their order (each pair one with pruning and one without) and
/// compares their p99s; pairs with a turn without any answer are left out.
fn summarize(slices: &[Slice]) -> Option<PairSummary> {
    let measured: Vec<&Slice> = slices.iter().filter(|s| s.measured).collect();
    let (mut with, mut without, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for pair in measured.chunks_exact(2) {
        let (a, b) = (pair[0], pair[1]);
        let (pruning, none) = match (a.pruning, b.pruning) {
            (true, false) => (a, b),
            (false, true) => (b, a),
            _ => continue,
        };
        if let (Some(p), Some(n)) = (pruning.p99_ms, none.p99_ms)
            && n > 0.0
        {
            with.push(p);
            without.push(n);
            ratios.push(p / n);
        }
    }
    let pairs = ratios.len();
    let ratio_min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let ratio_max = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some(PairSummary {
        pairs,
        p99_pruning_median_ms: median(&mut with)?,
        p99_none_median_ms: median(&mut without)?,
        ratio_median: median(&mut ratios)?,
        ratio_min,
        ratio_max,
    })
}

/// Two services, each over its own store in `--dir`, one pruning and one not, loaded in turns
/// of `slice` at `--rate` for `--warmup` + `--duration`: both see the same disk, minute by
/// minute, which back-to-back runs do not. Each keeps its own event ids (ordered in time, as
/// in a single run). The turns of the warm-up are reported but not compared.
pub(crate) async fn run_interleaved(
    options: &Options,
    slice: Duration,
    sample: &str,
) -> Result<InterleavedReport, String> {
    if options.backlog > 0 {
        return Err("--interleave runs without --backlog".into());
    }
    if !options.prune {
        return Err("--interleave runs with and without pruning; drop --no-prune".into());
    }
    if slice.is_zero() {
        return Err("--interleave needs a turn longer than zero".into());
    }
    struct Rig {
        pruning: bool,
        store: Arc<SqliteStore>,
        service: Service,
        url: String,
        events: Arc<EventFactory>,
    }
    let mut rigs = Vec::with_capacity(2);
    for pruning in [true, false] {
        let db = fresh_db(&options.dir.join(if pruning { "pruning" } else { "none" }))?;
        let store = open_store(options, &db, pruning && options.as_it_goes).await?;
        let (service, url) = start_service(&service_config(&db)?, &store).await?;
        let events = Arc::new(EventFactory::new(sample, options.event_size, SECRET)?);
        rigs.push(Rig {
            pruning,
            store,
            service,
            url,
            events,
        });
    }

    let start = Instant::now();
    let (stop, stopped) = watch::channel(false);
    let rounds = spawn_rounds(Arc::clone(&rigs[0].store), options, start, stopped);
    let mut slices = Vec::new();
    let end = options.warmup + options.duration;
    let mut k = 0;
    while start.elapsed() < end {
        let measured = start.elapsed() >= options.warmup;
        let order = if pruning_first(k) { [0, 1] } else { [1, 0] };
        for i in order {
            let rig = &rigs[i];
            let plan = load::Plan {
                url: rig.url.clone(),
                connections: options.connections,
                duration: slice,
                warmup: Duration::ZERO,
                rate: Some(options.rate),
                max_requests: None,
                timeout: Duration::from_secs(10),
                pid: None,
                label: if rig.pruning { "pruning" } else { "none" }.to_owned(),
            };
            let started_s = start.elapsed().as_secs_f64();
            let report = load::run(&plan, Arc::clone(&rig.events)).await?;
            slices.push(Slice {
                pruning: rig.pruning,
                started_s,
                measured,
                requests: report.requests,
                ok_2xx: report.ok_2xx,
                p50_ms: report.latency_ms.as_ref().map(|l| l.p50),
                p99_ms: report.latency_ms.as_ref().map(|l| l.p99),
            });
        }
        k += 1;
    }
    let _ = stop.send(true);
    let rounds = rounds.await.map_err(|e| e.to_string())?;
    let swept_rows = rigs[0].store.commit_stats().swept_rows;
    for rig in rigs {
        rig.service.shutdown(Duration::from_secs(10)).await;
    }
    Ok(InterleavedReport {
        rate: options.rate,
        retention_s: options.retention.as_secs_f64(),
        slice_s: slice.as_secs_f64(),
        warmup_s: options.warmup.as_secs_f64(),
        as_it_goes: options.as_it_goes,
        swept_rows,
        rounds,
        summary: summarize(&slices),
        slices,
    })
}

impl InterleavedReport {
    /// A few lines for people.
    pub(crate) fn human(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "interleaved turns of {:.1} s at {:.0} events/s, retention {:.0} s, pruning {}; pairs after {:.0} s compared",
            self.slice_s,
            self.rate,
            self.retention_s,
            if self.as_it_goes {
                "as the store goes and in rounds"
            } else {
                "in rounds only"
            },
            self.warmup_s
        );
        let _ = writeln!(
            out,
            "turn   t (s)   service    requests   p50 (ms)   p99 (ms)"
        );
        let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
        for (i, s) in self.slices.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:>4}{} {:>7.1}   {:<8}   {:>8}   {:>8}   {:>8}",
                i + 1,
                if s.measured { " " } else { "w" },
                s.started_s,
                if s.pruning { "pruning" } else { "none" },
                s.requests,
                ms(s.p50_ms),
                ms(s.p99_ms)
            );
        }
        match &self.summary {
            Some(sum) => {
                let pct = |r: f64| format!("{:+.0}%", (r - 1.0) * 100.0);
                let _ = writeln!(
                    out,
                    "p99         median of {} pairs: {:.2} ms pruning, {:.2} ms none; pruning over none {} (pairs from {} to {})",
                    sum.pairs,
                    sum.p99_pruning_median_ms,
                    sum.p99_none_median_ms,
                    pct(sum.ratio_median),
                    pct(sum.ratio_min),
                    pct(sum.ratio_max)
                );
            }
            None => {
                let _ = writeln!(out, "p99         no pair measured: lengthen --duration");
            }
        }
        let _ = writeln!(
            out,
            "pruning     {} rows deleted by the store's commits, {} rounds",
            self.swept_rows,
            self.rounds.len()
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t_s: f64, written_bytes: Option<u64>) -> Sample {
        Sample {
            t_s,
            db_bytes: 0,
            wal_bytes: 0,
            jobs_pending: 0,
            jobs_delivered: 0,
            written_bytes,
        }
    }

    fn turn(pruning: bool, measured: bool, p99_ms: Option<f64>) -> Slice {
        Slice {
            pruning,
            started_s: 0.0,
            measured,
            requests: 100,
            ok_2xx: 100,
            p50_ms: p99_ms.map(|p| p / 2.0),
            p99_ms,
        }
    }

    #[test]
    fn pairs_alternate_which_service_is_loaded_first() {
        let firsts: Vec<bool> = (0..4).map(pruning_first).collect();
        assert_eq!(firsts, [true, false, true, false]);
    }

    #[test]
    fn pairs_are_compared_in_either_order_and_the_warm_up_is_left_out() {
        let slices = [
            turn(true, false, Some(100.0)),
            turn(false, false, Some(1.0)),
            turn(true, true, Some(2.2)),
            turn(false, true, Some(2.0)),
            turn(false, true, Some(2.0)),
            turn(true, true, Some(3.0)),
            turn(true, true, Some(2.0)),
            turn(false, true, Some(2.0)),
        ];
        let summary = summarize(&slices).expect("three pairs measured");
        assert_eq!(summary.pairs, 3);
        assert_eq!(summary.p99_pruning_median_ms, 2.2);
        assert_eq!(summary.p99_none_median_ms, 2.0);
        assert!((summary.ratio_median - 1.1).abs() < 1e-9);
        assert!((summary.ratio_min - 1.0).abs() < 1e-9);
        assert!((summary.ratio_max - 1.5).abs() < 1e-9);
    }

    #[test]
    fn a_pair_with_a_turn_without_answers_is_left_out_and_none_measured_gives_no_summary() {
        let slices = [
            turn(true, true, None),
            turn(false, true, Some(2.0)),
            turn(false, true, Some(2.0)),
            turn(true, true, Some(3.0)),
        ];
        let summary = summarize(&slices).expect("one pair measured");
        assert_eq!(summary.pairs, 1);
        assert!((summary.ratio_median - 1.5).abs() < 1e-9);
        assert_eq!(summarize(&[turn(true, false, Some(1.0))]), None);
        assert_eq!(summarize(&slices[..1]), None);
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn the_write_rate_is_taken_from_the_first_sample_of_the_second_half_to_the_last() {
        let samples = [
            sample(10.0, Some(0)),
            sample(20.0, Some(5_000_000)),
            sample(30.0, Some(6_000_000)),
            sample(40.0, Some(8_000_000)),
        ];
        assert_eq!(written_rate(&samples, 15.0), Some(150_000.0));
        assert_eq!(
            written_rate(&samples, 40.0),
            None,
            "no time to measure over"
        );
        assert_eq!(
            written_rate(&[sample(20.0, None), sample(30.0, Some(1))], 15.0),
            None
        );
    }
}

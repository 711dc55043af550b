//! The load generator: unique signed events over N keep-alive HTTP/1.1 connections.
//!
//! - Closed loop: each connection sends its next event as soon as the previous one is answered.
//!   Latency runs from just before the request is written to the end of the response.
//! - Open loop (`rate`): a pacer thread schedules event `i` at `start + i / rate` and queues it;
//!   whichever connection is free takes it. Latency runs from the *scheduled* time, so time spent
//!   waiting for a free connection (because the receiver is slow) counts, instead of being hidden by
//!   a generator that politely waits (coordinated omission). The time from the actual send is
//!   reported apart as the service time.
//!
//! Every run is bounded: no request starts after the warm-up + the duration (or after the request
//! limit), each request has a timeout, and a queued event older than the timeout is counted as timed
//! out without being sent.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Uri, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{Mutex, mpsc};

use crate::event::EventFactory;
use crate::procfs::{self, RssReport, RssSampler};

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) url: String,
    pub(crate) connections: usize,
    pub(crate) duration: Duration,
    pub(crate) warmup: Duration,
    pub(crate) rate: Option<f64>,
    pub(crate) max_requests: Option<u64>,
    pub(crate) timeout: Duration,
    pub(crate) pid: Option<u32>,
    pub(crate) label: String,
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Percentiles {
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) p999: f64,
    pub(crate) max: f64,
    pub(crate) mean: f64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Option<Self> {
        if h.is_empty() {
            return None;
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Some(Percentiles {
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        })
    }
}

/// CPU time used during the measured window, in cores (CPU seconds per second).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct CpuReport {
    pub(crate) target_cores: Option<f64>,
    pub(crate) generator_cores: Option<f64>,
    /// Every other process of the machine (busy CPU minus receiver and generator): well above
    /// zero means something else competed for the cores and the run is not representative.
    #[serde(default)]
    pub(crate) other_cores: Option<f64>,
}

/// The result of a run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Report {
    pub(crate) label: String,
    pub(crate) url: String,
    /// `closed` or `open`.
    pub(crate) mode: String,
    pub(crate) connections: usize,
    pub(crate) rate: Option<f64>,
    pub(crate) warmup_s: f64,
    pub(crate) duration_s: f64,
    /// The measured window actually used for throughput (until the last measured answer).
    pub(crate) window_s: f64,
    pub(crate) event_bytes: usize,
    /// Requests of the measured window (sent or timed out while queued).
    pub(crate) requests: u64,
    pub(crate) ok_2xx: u64,
    /// Requests of the whole run, warm-up included.
    pub(crate) requests_total: u64,
    /// 2xx answers of the whole run, warm-up included: every one is an event the receiver said it
    /// stored.
    pub(crate) ok_2xx_total: u64,
    pub(crate) non_2xx: BTreeMap<u16, u64>,
    pub(crate) errors: BTreeMap<String, u64>,
    /// 2xx answers per second of the measured window.
    pub(crate) acks_per_s: f64,
    /// 2xx answer latency; in open loop from the scheduled time.
    pub(crate) latency_ms: Option<Percentiles>,
    /// Open loop only: 2xx latency from the actual send.
    pub(crate) service_ms: Option<Percentiles>,
    /// Open loop only: from the scheduled time to the send (waiting for a free connection, and the
    /// generator's own delay). Large while the receiver keeps up means the generator is late.
    #[serde(default)]
    pub(crate) send_lag_ms: Option<Percentiles>,
    pub(crate) rss: Option<RssReport>,
    pub(crate) cpu: CpuReport,
    /// Open loop only: the p99 of the 2xx latency (from the scheduled time) in each 10 s of the
    /// measured window, in milliseconds.
    #[serde(default)]
    pub(crate) p99_by_interval: Vec<f64>,
    /// Open loop only: the latency percentiles (from the scheduled time) of the measured
    /// window's second half, when a run's first half has a transient (a backlog to clear).
    #[serde(default)]
    pub(crate) second_half_ms: Option<Percentiles>,
}

/// Where requests go: the address to connect to, and the `Host` and path of each request.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    pub(crate) host: String,
    pub(crate) path: String,
}

impl Target {
    /// Resolves an `http://` URL.
    pub(crate) async fn resolve(url: &str) -> Result<Self, String> {
        let uri: Uri = url.parse().map_err(|e| format!("--url {url:?}: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("--url {url:?}: only http:// is supported"));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("--url {url:?}: no host"))?;
        let port = authority.port_u16().unwrap_or(80);
        let addr = tokio::net::lookup_host((authority.host(), port))
            .await
            .map_err(|e| format!("--url {url:?}: {e}"))?
            .next()
            .ok_or_else(|| format!("--url {url:?}: the host has no address"))?;
        let path = uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        Ok(Target {
            addr,
            host: authority.as_str().to_owned(),
            path,
        })
    }
}

pub(crate) type Sender = SendRequest<Full<Bytes>>;

#[derive(Debug)]
struct Ctx {
    target: Target,
    events: Arc<EventFactory>,
    timeout: Duration,
    measure_start: Instant,
    end: Instant,
    max_requests: Option<u64>,
    issued: AtomicU64,
}

enum Outcome {
    Status(u16),
    Error(&'static str),
}

struct WorkerStats {
    latency: Histogram<u64>,
    service: Histogram<u64>,
    lag: Histogram<u64>,
    requests: u64,
    ok: u64,
    warm_requests: u64,
    warm_ok: u64,
    non_2xx: BTreeMap<u16, u64>,
    errors: BTreeMap<String, u64>,
    last_done: Option<Instant>,
    /// Open loop only: 2xx latency from the scheduled time, per [`INTERVAL`] of the measured
    /// window (by scheduled time).
    by_interval: Vec<Histogram<u64>>,
}

/// The length of the measured window's slices in [`Report::p99_by_interval`].
pub(crate) const INTERVAL: Duration = Duration::from_secs(10);

fn histogram() -> Histogram<u64> {
    // 1 µs .. 60 s at 3 significant digits; larger values saturate.
    Histogram::new_with_bounds(1, 60_000_000, 3)
        .unwrap_or_else(|_| unreachable!("the bounds are valid"))
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

impl WorkerStats {
    fn new() -> Self {
        WorkerStats {
            latency: histogram(),
            service: histogram(),
            lag: histogram(),
            requests: 0,
            ok: 0,
            warm_requests: 0,
            warm_ok: 0,
            non_2xx: BTreeMap::new(),
            errors: BTreeMap::new(),
            last_done: None,
            by_interval: Vec::new(),
        }
    }

    /// Records a 2xx answer's latency in the slice of the window it was scheduled in.
    fn record_interval(&mut self, offset: Duration, latency: Duration) {
        let index = usize::try_from(offset.as_secs() / INTERVAL.as_secs()).unwrap_or(usize::MAX);
        if index > 100_000 {
            return;
        }
        if self.by_interval.len() <= index {
            self.by_interval.resize_with(index + 1, histogram);
        }
        self.by_interval[index].saturating_record(micros(latency));
    }

    fn record(&mut self, outcome: Outcome, latency: Duration, service: Option<Duration>) {
        self.requests += 1;
        self.last_done = Some(Instant::now());
        match outcome {
            Outcome::Status(s) if (200..300).contains(&s) => {
                self.ok += 1;
                self.latency.saturating_record(micros(latency));
                if let Some(service) = service {
                    self.service.saturating_record(micros(service));
                }
            }
            Outcome::Status(s) => *self.non_2xx.entry(s).or_default() += 1,
            Outcome::Error(e) => *self.errors.entry(e.to_owned()).or_default() += 1,
        }
    }

    /// Counts an answer of the warm-up, which is not measured.
    fn record_warm(&mut self, outcome: &Outcome) {
        self.warm_requests += 1;
        if matches!(outcome, Outcome::Status(s) if (200..300).contains(s)) {
            self.warm_ok += 1;
        }
    }

    fn merge(&mut self, other: WorkerStats) {
        // Both histograms have the same bounds; adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        let _ = self.lag.add(&other.lag);
        self.requests += other.requests;
        self.ok += other.ok;
        self.warm_requests += other.warm_requests;
        self.warm_ok += other.warm_ok;
        for (k, v) in other.non_2xx {
            *self.non_2xx.entry(k).or_default() += v;
        }
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        self.last_done = self.last_done.max(other.last_done);
        if self.by_interval.len() < other.by_interval.len() {
            self.by_interval
                .resize_with(other.by_interval.len(), histogram);
        }
        for (mine, theirs) in self.by_interval.iter_mut().zip(&other.by_interval) {
            let _ = mine.add(theirs);
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Opens one keep-alive HTTP/1.1 connection to `target`.
pub(crate) async fn connect(target: &Target) -> Result<Sender, &'static str> {
    let stream = TcpStream::connect(target.addr)
        .await
        .map_err(|_| "connect")?;
    stream.set_nodelay(true).map_err(|_| "connect")?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| "connect")?;
    tokio::spawn(async move {
        // The connection ends when the sender is dropped or the peer closes; either is fine here.
        let _ = conn.await;
    });
    Ok(sender)
}

impl Ctx {
    /// Whether another request may be issued (the request limit is not reached).
    fn take_ticket(&self) -> bool {
        match self.max_requests {
            Some(max) => self.issued.fetch_add(1, Ordering::Relaxed) < max,
            None => true,
        }
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let event = self.events.next(unix_now());
        Request::post(self.target.path.as_str())
            .header(header::HOST, self.target.host.as_str())
            .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
            .header(
                header::USER_AGENT,
                "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            )
            .header("stripe-signature", event.signature)
            .body(Full::new(event.body))
            .unwrap_or_else(|_| unreachable!("the request parts are valid"))
    }

    /// Sends `request` on `conn` (connecting first when needed) and reads the whole answer.
    async fn send(&self, conn: &mut Option<Sender>, request: Request<Full<Bytes>>) -> Outcome {
        if conn.as_ref().is_none_or(|c| c.is_closed()) {
            *conn = None;
            match tokio::time::timeout(self.timeout, connect(&self.target)).await {
                Ok(Ok(sender)) => *conn = Some(sender),
                Ok(Err(e)) => return Outcome::Error(e),
                Err(_) => return Outcome::Error("connect timeout"),
            }
        }
        let Some(sender) = conn.as_mut() else {
            return Outcome::Error("connect");
        };
        let exchange = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status().as_u16();
            response.into_body().collect().await?;
            Ok::<u16, hyper::Error>(status)
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(status)) => Outcome::Status(status),
            Ok(Err(e)) => {
                *conn = None;
                Outcome::Error(if e.is_incomplete_message() || e.is_closed() {
                    "connection closed"
                } else {
                    "http"
                })
            }
            Err(_) => {
                *conn = None;
                Outcome::Error("timeout")
            }
        }
    }
}

async fn closed_worker(ctx: Arc<Ctx>, mut conn: Option<Sender>) -> WorkerStats {
    let mut stats = WorkerStats::new();
    loop {
        if Instant::now() >= ctx.end || !ctx.take_ticket() {
            break;
        }
        let request = ctx.request();
        let started = Instant::now();
        let outcome = ctx.send(&mut conn, request).await;
        if started >= ctx.measure_start {
            stats.record(outcome, started.elapsed(), None);
        } else {
            stats.record_warm(&outcome);
        }
    }
    stats
}

async fn open_worker(
    ctx: Arc<Ctx>,
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Instant>>>,
    mut conn: Option<Sender>,
) -> WorkerStats {
    let mut stats = WorkerStats::new();
    loop {
        let next = queue.lock().await.recv().await;
        let Some(scheduled) = next else { break };
        let measured = scheduled >= ctx.measure_start;
        if scheduled.elapsed() > ctx.timeout {
            let outcome = Outcome::Error("timeout (queued)");
            if measured {
                stats.record(outcome, Duration::ZERO, None);
            } else {
                stats.record_warm(&outcome);
            }
            continue;
        }
        let request = ctx.request();
        let sent = Instant::now();
        let outcome = ctx.send(&mut conn, request).await;
        if measured {
            stats
                .lag
                .saturating_record(micros(sent.saturating_duration_since(scheduled)));
            if matches!(outcome, Outcome::Status(s) if (200..300).contains(&s)) {
                stats.record_interval(
                    scheduled.saturating_duration_since(ctx.measure_start),
                    scheduled.elapsed(),
                );
            }
            stats.record(outcome, scheduled.elapsed(), Some(sent.elapsed()));
        } else {
            stats.record_warm(&outcome);
        }
    }
    stats
}

/// Runs the plan and reports.
pub(crate) async fn run(plan: &Plan, events: Arc<EventFactory>) -> Result<Report, String> {
    if plan.connections == 0 {
        return Err("--connections must be at least 1".into());
    }
    if let Some(rate) = plan.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        return Err("--rate must be a positive number of requests per second".into());
    }
    let target = Target::resolve(&plan.url).await?;

    // Every connection is open before the clock starts.
    let mut conns = Vec::with_capacity(plan.connections);
    for _ in 0..plan.connections {
        let conn = connect(&target).await.map_err(|_| {
            format!(
                "cannot connect to {} ({}); is the receiver running?",
                plan.url, target.addr
            )
        })?;
        conns.push(Some(conn));
    }

    let start = Instant::now();
    let measure_start = start + plan.warmup;
    let end = measure_start + plan.duration;
    let event_bytes = events.size();
    let ctx = Arc::new(Ctx {
        target,
        events,
        timeout: plan.timeout,
        measure_start,
        end,
        max_requests: plan.max_requests,
        issued: AtomicU64::new(0),
    });

    let sampler = plan
        .pid
        .map(|pid| RssSampler::start(pid, Duration::from_millis(20)));
    let self_pid = std::process::id();
    let cpu_start = tokio::spawn({
        let pid = plan.pid;
        async move {
            tokio::time::sleep_until(measure_start.into()).await;
            (
                Instant::now(),
                pid.and_then(procfs::cpu_seconds),
                procfs::cpu_seconds(self_pid),
                procfs::system_busy_seconds(),
            )
        }
    });

    let mut workers = Vec::with_capacity(plan.connections);
    let mut pacer = None;
    match plan.rate {
        None => {
            for conn in conns {
                workers.push(tokio::spawn(closed_worker(Arc::clone(&ctx), conn)));
            }
        }
        Some(rate) => {
            let (tx, rx) = mpsc::unbounded_channel();
            let rx = Arc::new(Mutex::new(rx));
            for conn in conns {
                workers.push(tokio::spawn(open_worker(
                    Arc::clone(&ctx),
                    Arc::clone(&rx),
                    conn,
                )));
            }
            let max = plan.max_requests;
            pacer = Some(std::thread::spawn(move || {
                // A plain thread sleeps with far finer resolution than the runtime's 1 ms timer.
                for i in 0u64.. {
                    if max.is_some_and(|max| i >= max) {
                        break;
                    }
                    let at = start + Duration::from_secs_f64(i as f64 / rate);
                    if at >= end {
                        break;
                    }
                    let now = Instant::now();
                    if at > now {
                        std::thread::sleep(at - now);
                    }
                    if tx.send(at).is_err() {
                        break;
                    }
                }
            }));
        }
    }

    let mut total = WorkerStats::new();
    for worker in workers {
        let stats = worker.await.map_err(|e| format!("a worker failed: {e}"))?;
        total.merge(stats);
    }
    if let Some(pacer) = pacer {
        pacer.join().map_err(|_| "the pacer thread failed")?;
    }
    let finished = Instant::now();
    let (cpu_t0, target_cpu0, self_cpu0, system0) = cpu_start
        .await
        .map_err(|e| format!("the CPU sampler failed: {e}"))?;
    let cpu_window = finished.saturating_duration_since(cpu_t0).as_secs_f64();
    let per_core = |before: Option<f64>, after: Option<f64>| match (before, after) {
        (Some(b), Some(a)) if cpu_window > 0.0 => Some((a - b) / cpu_window),
        _ => None,
    };
    let target_cores = per_core(target_cpu0, plan.pid.and_then(procfs::cpu_seconds));
    let generator_cores = per_core(self_cpu0, procfs::cpu_seconds(self_pid));
    let system_cores = per_core(system0, procfs::system_busy_seconds());
    let other_cores = match (system_cores, target_cores, generator_cores) {
        (Some(all), Some(t), Some(g)) => Some((all - t - g).max(0.0)),
        _ => None,
    };
    let cpu = CpuReport {
        target_cores,
        generator_cores,
        other_cores,
    };
    let rss = sampler.map(RssSampler::finish);

    let window_end = total.last_done.map_or(end, |t| t.max(end));
    let window = match plan.max_requests {
        // A run that stopped at its request limit is measured until its last answer.
        Some(_) => total
            .last_done
            .unwrap_or(end)
            .saturating_duration_since(measure_start),
        None => window_end.saturating_duration_since(measure_start),
    };
    let window_s = window.as_secs_f64();
    Ok(Report {
        label: plan.label.clone(),
        url: plan.url.clone(),
        mode: if plan.rate.is_some() {
            "open"
        } else {
            "closed"
        }
        .to_owned(),
        connections: plan.connections,
        rate: plan.rate,
        warmup_s: plan.warmup.as_secs_f64(),
        duration_s: plan.duration.as_secs_f64(),
        window_s,
        event_bytes,
        requests: total.requests,
        ok_2xx: total.ok,
        requests_total: total.requests + total.warm_requests,
        ok_2xx_total: total.ok + total.warm_ok,
        non_2xx: total.non_2xx,
        errors: total.errors,
        acks_per_s: if window_s > 0.0 {
            total.ok as f64 / window_s
        } else {
            0.0
        },
        latency_ms: Percentiles::of(&total.latency),
        service_ms: plan.rate.and_then(|_| Percentiles::of(&total.service)),
        send_lag_ms: plan.rate.and_then(|_| Percentiles::of(&total.lag)),
        rss,
        cpu,
        second_half_ms: {
            let mut half = histogram();
            let from = total.by_interval.len() / 2;
            for h in total.by_interval.iter().skip(from) {
                let _ = half.add(h);
            }
            Percentiles::of(&half)
        },
        p99_by_interval: total
            .by_interval
            .iter()
            .map(|h| h.value_at_quantile(0.99) as f64 / 1000.0)
            .collect(),
    })
}

impl Report {
    /// A few lines for people.
    pub(crate) fn human(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let mode = match self.rate {
            Some(rate) => format!("open loop at {rate}/s"),
            None => "closed loop".to_owned(),
        };
        let _ = writeln!(out, "target      {} ({})", self.label, self.url);
        let _ = writeln!(
            out,
            "mode        {mode}, {} connections, {:.1} s measured after {:.1} s warm-up, {}-byte events",
            self.connections, self.duration_s, self.warmup_s, self.event_bytes
        );
        let list = |m: Vec<String>| {
            if m.is_empty() {
                "none".to_owned()
            } else {
                m.join(", ")
            }
        };
        let _ = writeln!(
            out,
            "requests    {} measured, {} 2xx; non-2xx: {}; errors: {}",
            self.requests,
            self.ok_2xx,
            list(
                self.non_2xx
                    .iter()
                    .map(|(k, v)| format!("{k}×{v}"))
                    .collect()
            ),
            list(
                self.errors
                    .iter()
                    .map(|(k, v)| format!("{k}×{v}"))
                    .collect()
            ),
        );
        let _ = writeln!(
            out,
            "throughput  {:.0} acks/s over {:.2} s",
            self.acks_per_s, self.window_s
        );
        let _ = writeln!(
            out,
            "whole run   {} requests, {} 2xx (warm-up included)",
            self.requests_total, self.ok_2xx_total
        );
        let line = |name: &str, p: &Option<Percentiles>| match p {
            Some(p) => format!(
                "{name}p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms  mean {:.2} ms\n",
                p.p50, p.p90, p.p99, p.p999, p.max, p.mean
            ),
            None => format!("{name}no 2xx answers\n"),
        };
        let latency_name = if self.rate.is_some() {
            "latency     (from the scheduled time) "
        } else {
            "latency     "
        };
        out.push_str(&line(latency_name, &self.latency_ms));
        if self.rate.is_some() {
            out.push_str(&line("service     (from the send) ", &self.service_ms));
            out.push_str(&line("send lag    (scheduled → sent) ", &self.send_lag_ms));
        }
        if let Some(rss) = &self.rss {
            let mib = |kib: u64| kib as f64 / 1024.0;
            let _ = writeln!(
                out,
                "rss         peak sampled {:.1} MiB; VmHWM {}",
                mib(rss.peak_vmrss_kib),
                rss.vmhwm_kib
                    .map_or_else(|| "unknown".to_owned(), |k| format!("{:.1} MiB", mib(k)))
            );
        }
        let cores = |c: Option<f64>| c.map_or_else(|| "unknown".to_owned(), |c| format!("{c:.2}"));
        let _ = writeln!(
            out,
            "cpu         target {} cores, generator {} cores, other processes {} cores",
            cores(self.cpu.target_cores),
            cores(self.cpu.generator_cores),
            cores(self.cpu.other_cores)
        );
        out
    }
}

//! Burst, then drain: how fast the service delivers the backlog that a closed-loop burst leaves,
//! beside how fast it acknowledged that burst.
//!
//! A closed-loop burst (as `load`, no warm-up) fills the store faster than delivery empties it.
//! When the burst ends, ingest is idle and only delivery runs: the report gives the rate at which
//! the backlog drains, its ratio to the burst's acknowledgement rate, and the receiver's CPU time
//! per message delivered meanwhile (utime + stime of the whole process over the drain, divided by
//! the jobs finished; robust to other load on the machine, unlike the rates).
//!
//! Progress is read from the receiver's `/metrics`: the jobs of the destination that reached a
//! final outcome (`stripe_chat_deliveries_total` by outcome: delivered, updated, nothing, …; not
//! retried or deferred), polled every `poll`. The drain is over once the destination's backlog
//! (`stripe_chat_destination_backlog`) reads 0 and no job finished for `quiet`; its time runs from
//! the end of the burst to the last poll that saw a job finish.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, header};

use crate::event::EventFactory;
use crate::load::{self, Plan, Sender, Target};
use crate::procfs;

/// Outcomes after which a job is finished (the others put it back or leave it to its lease).
const FINAL_OUTCOMES: &[&str] = &[
    "delivered",
    "updated",
    "replied",
    "nothing",
    "stale",
    "inhibited",
    "collapsed",
    "digested",
    "dead_lettered",
];

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct DrainPlan {
    /// The burst: a closed-loop load (its `rate` is ignored).
    pub(crate) burst: Plan,
    /// The receiver's Prometheus endpoint.
    pub(crate) metrics_url: String,
    /// The destination whose backlog is watched.
    pub(crate) destination: String,
    /// How often `/metrics` is read.
    pub(crate) poll: Duration,
    /// How long no job may finish, with the backlog at 0, before the drain counts as over.
    pub(crate) quiet: Duration,
    /// The longest drain waited for.
    pub(crate) timeout: Duration,
}

/// The result of a burst and its drain.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct DrainReport {
    pub(crate) label: String,
    /// Always `drain`.
    pub(crate) mode: String,
    pub(crate) connections: usize,
    pub(crate) event_bytes: usize,
    /// The burst's length.
    pub(crate) burst_s: f64,
    /// 2xx answers per second of the burst.
    pub(crate) acks_per_s: f64,
    /// 2xx answers of the burst.
    pub(crate) acked: u64,
    /// Requests of the burst not answered 2xx.
    pub(crate) failed: u64,
    /// The receiver's CPU during the burst, in cores.
    pub(crate) burst_cores: Option<f64>,
    /// Every other process of the machine during the burst, in cores.
    pub(crate) burst_other_cores: Option<f64>,
    /// Jobs of the destination finished by the end of the burst.
    pub(crate) finished_during_burst: u64,
    /// Jobs of the destination finished after the burst.
    pub(crate) drained: u64,
    /// From the end of the burst to the last job finished.
    pub(crate) drain_s: f64,
    /// `drained / drain_s`.
    pub(crate) drain_per_s: f64,
    /// `drain_per_s / acks_per_s`.
    pub(crate) drain_ratio: f64,
    /// The receiver's CPU time per job drained, in milliseconds.
    pub(crate) cpu_ms_per_message: Option<f64>,
    /// The receiver's CPU during the drain, in cores.
    pub(crate) drain_cores: Option<f64>,
    /// Every other process of the machine during the drain, in cores.
    pub(crate) other_cores: Option<f64>,
    /// `/proc/loadavg` (1, 5, 15 minutes) when the burst started and when the drain ended.
    pub(crate) load_before: Option<[f64; 3]>,
    pub(crate) load_after: Option<[f64; 3]>,
    /// Whether the backlog reached 0 before the timeout.
    pub(crate) complete: bool,
}

/// What one read of `/metrics` says about the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Progress {
    finished: u64,
    backlog: Option<u64>,
}

/// Reads the destination's finished jobs and backlog from Prometheus text.
fn progress(text: &str, destination: &str) -> Progress {
    let mut finished = 0;
    let mut backlog = None;
    let deliveries =
        format!("stripe_chat_deliveries_total{{destination=\"{destination}\",outcome=\"");
    let queued = format!("stripe_chat_destination_backlog{{destination=\"{destination}\"}} ");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(&deliveries) {
            let Some((outcome, value)) = rest.split_once("\"} ") else {
                continue;
            };
            if FINAL_OUTCOMES.contains(&outcome) {
                finished += value.trim().parse::<u64>().unwrap_or(0);
            }
        } else if let Some(value) = line.strip_prefix(&queued) {
            backlog = value.trim().parse().ok();
        }
    }
    Progress { finished, backlog }
}

/// `/proc/loadavg`'s three averages.
fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

/// A keep-alive client of the metrics endpoint.
struct Scraper {
    target: Target,
    conn: Option<Sender>,
}

impl Scraper {
    async fn get(&mut self) -> Result<String, String> {
        if self.conn.as_ref().is_none_or(|c| c.is_closed()) {
            self.conn = Some(
                load::connect(&self.target)
                    .await
                    .map_err(|e| format!("metrics: {e}"))?,
            );
        }
        let Some(sender) = self.conn.as_mut() else {
            return Err("metrics: not connected".into());
        };
        let request = Request::get(self.target.path.as_str())
            .header(header::HOST, self.target.host.as_str())
            .body(Full::new(Bytes::new()))
            .map_err(|e| format!("metrics: {e}"))?;
        let exchange = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<Bytes, hyper::Error>(body)
        };
        match tokio::time::timeout(Duration::from_secs(10), exchange).await {
            Ok(Ok(body)) => Ok(String::from_utf8_lossy(&body).into_owned()),
            Ok(Err(e)) => {
                self.conn = None;
                Err(format!("metrics: {e}"))
            }
            Err(_) => {
                self.conn = None;
                Err("metrics: timeout".into())
            }
        }
    }

    async fn progress(&mut self, destination: &str) -> Result<Progress, String> {
        Ok(progress(&self.get().await?, destination))
    }
}

/// A point of the drain: when, how many jobs were finished, and the CPU counters then.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    finished: u64,
    target_cpu: Option<f64>,
    system_busy: Option<f64>,
    self_cpu: Option<f64>,
}

impl Sample {
    fn now(finished: u64, pid: Option<u32>) -> Self {
        Sample {
            at: Instant::now(),
            finished,
            target_cpu: pid.and_then(procfs::cpu_seconds),
            system_busy: procfs::system_busy_seconds(),
            self_cpu: procfs::cpu_seconds(std::process::id()),
        }
    }
}

/// Runs the burst, then waits for the drain, and reports.
pub(crate) async fn run(plan: &DrainPlan, events: EventFactory) -> Result<DrainReport, String> {
    let destination = plan.destination.as_str();
    let mut scraper = Scraper {
        target: Target::resolve(&plan.metrics_url).await?,
        conn: None,
    };
    let before = scraper.progress(destination).await?;
    let load_before = load_average();
    let burst = Plan {
        rate: None,
        warmup: Duration::ZERO,
        ..plan.burst.clone()
    };
    let report = load::run(&burst, std::sync::Arc::new(events)).await?;
    let ended = Sample::now(0, burst.pid);
    let at_end = scraper.progress(destination).await?;
    let ended = Sample {
        finished: at_end.finished,
        ..ended
    };

    let mut last = ended;
    let mut complete = false;
    let deadline = ended.at + plan.timeout;
    while Instant::now() < deadline {
        tokio::time::sleep(plan.poll).await;
        let now = scraper.progress(destination).await?;
        if now.finished != last.finished {
            last = Sample::now(now.finished, burst.pid);
        } else if now.backlog == Some(0) && last.at.elapsed() >= plan.quiet {
            complete = true;
            break;
        }
    }

    let drained = last.finished.saturating_sub(ended.finished);
    let drain_s = last.at.saturating_duration_since(ended.at).as_secs_f64();
    let drain_per_s = if drain_s > 0.0 {
        drained as f64 / drain_s
    } else {
        0.0
    };
    let between = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| b - a);
    let target_cpu = between(ended.target_cpu, last.target_cpu);
    let per_core = |cpu: Option<f64>| cpu.filter(|_| drain_s > 0.0).map(|c| c / drain_s);
    let other_cpu = match (
        between(ended.system_busy, last.system_busy),
        target_cpu,
        between(ended.self_cpu, last.self_cpu),
    ) {
        (Some(all), Some(target), Some(own)) => Some((all - target - own).max(0.0)),
        _ => None,
    };
    Ok(DrainReport {
        label: report.label,
        mode: "drain".to_owned(),
        connections: report.connections,
        event_bytes: report.event_bytes,
        burst_s: report.window_s,
        acks_per_s: report.acks_per_s,
        acked: report.ok_2xx_total,
        failed: report.requests_total - report.ok_2xx_total,
        burst_cores: report.cpu.target_cores,
        burst_other_cores: report.cpu.other_cores,
        finished_during_burst: ended.finished.saturating_sub(before.finished),
        drained,
        drain_s,
        drain_per_s,
        drain_ratio: if report.acks_per_s > 0.0 {
            drain_per_s / report.acks_per_s
        } else {
            0.0
        },
        cpu_ms_per_message: target_cpu
            .filter(|_| drained > 0)
            .map(|cpu| cpu * 1000.0 / drained as f64),
        drain_cores: per_core(target_cpu),
        other_cores: per_core(other_cpu),
        load_before,
        load_after: load_average(),
        complete,
    })
}

impl DrainReport {
    /// A few lines for people.
    pub(crate) fn human(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let opt = |v: Option<f64>, digits: usize| {
            v.map_or_else(|| "unknown".to_owned(), |v| format!("{v:.digits$}"))
        };
        let load = |l: Option<[f64; 3]>| {
            l.map_or_else(
                || "unknown".to_owned(),
                |[a, b, c]| format!("{a:.2} {b:.2} {c:.2}"),
            )
        };
        let _ = writeln!(
            out,
            "target      {} ({} connections, {}-byte events)",
            self.label, self.connections, self.event_bytes
        );
        let _ = writeln!(
            out,
            "burst       {:.1} s closed loop: {} 2xx ({} not), {:.0} acks/s, receiver {} cores, other processes {} cores; {} jobs finished meanwhile",
            self.burst_s,
            self.acked,
            self.failed,
            self.acks_per_s,
            opt(self.burst_cores, 2),
            opt(self.burst_other_cores, 2),
            self.finished_during_burst
        );
        if self.drained == 0 {
            let _ = writeln!(
                out,
                "drain       nothing left: delivery kept up with the burst"
            );
            let _ = writeln!(
                out,
                "load avg    {} before, {} after",
                load(self.load_before),
                load(self.load_after)
            );
            return out;
        }
        let _ = writeln!(
            out,
            "drain       {} jobs in {:.2} s: {:.0}/s = {:.2}× the ack rate{}",
            self.drained,
            self.drain_s,
            self.drain_per_s,
            self.drain_ratio,
            if self.complete {
                ""
            } else {
                " (NOT COMPLETE: timed out)"
            }
        );
        let _ = writeln!(
            out,
            "cpu         receiver {} ms per job drained ({} cores), other processes {} cores",
            opt(self.cpu_ms_per_message, 3),
            opt(self.drain_cores, 2),
            opt(self.other_cores, 2)
        );
        let _ = writeln!(
            out,
            "load avg    {} before, {} after",
            load(self.load_before),
            load(self.load_after)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_final_outcomes_of_the_destination_only() {
        let text = "\
# TYPE stripe_chat_deliveries_total counter
stripe_chat_deliveries_total{destination=\"log\",outcome=\"delivered\"} 10
stripe_chat_deliveries_total{destination=\"log\",outcome=\"nothing\"} 2
stripe_chat_deliveries_total{destination=\"log\",outcome=\"retried\"} 7
stripe_chat_deliveries_total{destination=\"slack\",outcome=\"delivered\"} 100
stripe_chat_destination_backlog{destination=\"log\"} 3
stripe_chat_destination_backlog{destination=\"slack\"} 0
";
        assert_eq!(
            progress(text, "log"),
            Progress {
                finished: 12,
                backlog: Some(3)
            }
        );
        assert_eq!(progress("", "log").backlog, None);
    }

    #[test]
    fn load_average_reads_three_numbers() {
        let load = load_average().unwrap();
        assert!(load.iter().all(|l| *l >= 0.0));
    }
}

//! Ack latency and throughput of durable ingest into the SQLite store, as the webhook endpoint
//! would see them: each ingest returns only after its commit's fsync.
//!
//! Run with `cargo run --release -p stripe-chat-store --example ingest_load -- [mode] [seconds]`,
//! where `mode` is `closed:<tasks>` (that many tasks ingesting back to back, default
//! `closed:64`) or `rate:<events per second>` (an open loop at that rate: requests keep coming during a
//! stall, as webhooks would). Events are ~5 KB with unique ids, one job
//! each. The file is created in the system's temporary directory (set `TMPDIR` to change it).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use stripe_chat_store::{NewEvent, NewJob, SqliteOptions, SqliteStore, Store};
use tokio::sync::Mutex;

fn event(n: u64) -> NewEvent {
    let id = format!("evt_load_{n:012}");
    let head = format!(
        r#"{{"id":"{id}","object":"event","type":"invoice.paid","data":{{"object":{{"id":"in_{n}","object":"invoice","description":""#
    );
    let tail = r#""}},"livemode":false}"#;
    let fill = (5 * 1024_usize).saturating_sub(head.len() + tail.len());
    NewEvent {
        id,
        event_type: "invoice.paid".into(),
        created: 1_700_000_000,
        livemode: false,
        account: None,
        raw: format!("{head}{}{tail}", "x".repeat(fill)),
        received_at: SystemTime::now(),
    }
}

fn jobs(n: u64) -> Vec<NewJob> {
    vec![NewJob::new("slack").thread_key(format!("invoice/in_{n}"))]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map_or("closed:64", String::as_str).to_owned();
    let seconds: u64 = args.get(1).map_or(Ok(10), |s| s.parse())?;
    let run_for = Duration::from_secs(seconds);

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("load.db");
    let store = Arc::new(SqliteStore::open(&path, SqliteOptions::default()).await?);
    let next = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let start = Instant::now();

    if let Some(tasks) = mode.strip_prefix("closed:") {
        let tasks: u64 = tasks.parse()?;
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let (store, next, latencies) = (store.clone(), next.clone(), latencies.clone());
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    while start.elapsed() < run_for {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        let sent = Instant::now();
                        store
                            .ingest(event(n), jobs(n))
                            .await
                            .expect("ingest commits");
                        mine.push(sent.elapsed());
                    }
                    latencies.lock().await.extend(mine);
                })
            })
            .collect();
        for handle in handles {
            handle.await?;
        }
    } else if let Some(rate) = mode.strip_prefix("rate:") {
        let rate: u64 = rate.parse()?;
        let interval = Duration::from_secs_f64(1.0 / rate as f64);
        let total = rate * seconds;
        let mut handles = Vec::with_capacity(total as usize);
        for i in 0..total {
            let scheduled = start + interval.mul_f64(i as f64);
            tokio::time::sleep_until(scheduled.into()).await;
            let (store, latencies) = (store.clone(), latencies.clone());
            handles.push(tokio::spawn(async move {
                store
                    .ingest(event(i), jobs(i))
                    .await
                    .expect("ingest commits");
                latencies.lock().await.push(scheduled.elapsed());
            }));
        }
        for handle in handles {
            handle.await?;
        }
    } else {
        return Err(format!("unknown mode {mode}: use closed:<tasks> or rate:<per second>").into());
    }

    let elapsed = start.elapsed();
    let mut all = latencies.lock().await.clone();
    all.sort_unstable();
    let commits = store.commit_stats();
    let size = |suffix: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        std::fs::metadata(p).map_or(0, |m| m.len())
    };
    eprintln!(
        "file {:.1} MB, write-ahead log {:.1} MB, {} checkpoints by the writer",
        size("") as f64 / 1e6,
        size("-wal") as f64 / 1e6,
        commits.writer_checkpoints
    );
    println!(
        "{mode}: {} events in {:.2} s = {:.0} events/s; ack latency p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms; {:.1} requests per commit",
        all.len(),
        elapsed.as_secs_f64(),
        all.len() as f64 / elapsed.as_secs_f64(),
        percentile(&all, 0.50).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
        percentile(&all, 0.999).as_secs_f64() * 1e3,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        commits.requests_per_commit(),
    );
    Ok(())
}

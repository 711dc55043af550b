//! Durable ingest throughput of the SQLite store: events of about 5 KB with unique ids, one job
//! each, acknowledged only after their commit's fsync, from 1 and from 64 concurrent tasks (the
//! 64 share fsyncs through group commit).
//!
//! Run with `cargo bench -p stripe-chat-store --bench ingest`. The file lives in the system's
//! temporary directory (set `TMPDIR` to measure another disk).

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use stripe_chat_store::{NewEvent, NewJob, SqliteOptions, SqliteStore, Store};

const BODY_BYTES: usize = 5 * 1024;

fn event(n: u64) -> NewEvent {
    let id = format!("evt_bench_{n:012}");
    let head = format!(
        r#"{{"id":"{id}","object":"event","type":"invoice.paid","data":{{"object":{{"id":"in_{n}","object":"invoice","description":""#
    );
    let tail = r#""}},"livemode":false}"#;
    let fill = BODY_BYTES.saturating_sub(head.len() + tail.len());
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

fn ingest(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let next = Arc::new(AtomicU64::new(0));

    let mut group = c.benchmark_group("sqlite_ingest_5kb_durable");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for tasks in [1_u64, 64] {
        let path = dir.path().join(format!("ingest-{tasks}.db"));
        let store: Arc<dyn Store> = Arc::new(
            rt.block_on(SqliteStore::open(&path, SqliteOptions::default()))
                .expect("the store opens"),
        );
        group.bench_with_input(BenchmarkId::new("tasks", tasks), &tasks, |b, &tasks| {
            b.to_async(&rt).iter_custom(|iters| {
                let store = Arc::clone(&store);
                let next = Arc::clone(&next);
                async move {
                    let start = Instant::now();
                    let handles: Vec<_> = (0..tasks)
                        .map(|t| {
                            // Spread `iters` over the tasks.
                            let share = iters / tasks + u64::from(t < iters % tasks);
                            let store = Arc::clone(&store);
                            let next = Arc::clone(&next);
                            tokio::spawn(async move {
                                for _ in 0..share {
                                    let n = next.fetch_add(1, Ordering::Relaxed);
                                    let jobs = vec![
                                        NewJob::new("slack").thread_key(format!("invoice/in_{n}")),
                                    ];
                                    store.ingest(event(n), jobs).await.expect("ingest commits");
                                }
                            })
                        })
                        .collect();
                    for handle in handles {
                        handle.await.expect("an ingest task");
                    }
                    start.elapsed()
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);

//! Random interleavings of ingest, lease, complete, retry, dead-letter, DLQ retry, replay and
//! supersede, applied to a `MemoryStore` and a `SqliteStore` side by side. Both must answer
//! every step the same way, and the answers must keep the invariants: one job per
//! (event, destination), no job held by two live leases, at most one live lease per
//! (destination, thread key) and per (destination, digest key), a digest's outcome applied to
//! all of its batch or none, stale outcomes refused, refs never moving to an older event.

#![allow(clippy::unwrap_used)] // test code: an unexpected error is the test failing

#[allow(dead_code)]
mod support;

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use stripe_chat_message::MessageRef;
use stripe_chat_store::{
    Delivered, DlqTarget, JobId, JobInfo, LeaseFilter, LeasedJob, MemoryStore, NewJob, RefUpdate,
    SqliteStore, Store, StoreError,
};
use support::{event, t0};

const DESTINATIONS: [&str; 3] = ["slack", "teams", "discord"];
const THREADS: [&str; 2] = ["invoice/in_1", "invoice/in_2"];
const DIGEST: &str = "sales/0/60";

#[derive(Debug, Clone)]
enum Op {
    Ingest {
        event: u8,
        created: u8,
        destinations: Vec<(u8, Option<u8>)>,
    },
    Lease {
        max: u8,
        lease_secs: u8,
        /// A destination left out (paused), or none.
        skip: Option<u8>,
    },
    Defer {
        pick: u8,
        delay_secs: u8,
    },
    Complete {
        pick: u8,
        with_ref: bool,
    },
    Retry {
        pick: u8,
        delay_secs: u8,
    },
    DeadLetter {
        pick: u8,
    },
    Advance {
        secs: u8,
    },
    DlqRetryAll,
    Replay {
        event: u8,
    },
    SupersedeQueued {
        destination: u8,
        thread: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        // A destination's job: about thread 0 or 1, in the digest (2), or neither.
        3 => (0..8u8, 0..5u8, prop::collection::vec((0..3u8, prop::option::of(0..3u8)), 0..4))
            .prop_map(|(event, created, destinations)| Op::Ingest { event, created, destinations }),
        3 => (1..5u8, 1..30u8, prop::option::of(0..3u8))
            .prop_map(|(max, lease_secs, skip)| Op::Lease { max, lease_secs, skip }),
        1 => (any::<u8>(), 0..20u8).prop_map(|(pick, delay_secs)| Op::Defer { pick, delay_secs }),
        3 => (any::<u8>(), any::<bool>()).prop_map(|(pick, with_ref)| Op::Complete { pick, with_ref }),
        1 => (any::<u8>(), 0..20u8).prop_map(|(pick, delay_secs)| Op::Retry { pick, delay_secs }),
        1 => any::<u8>().prop_map(|pick| Op::DeadLetter { pick }),
        2 => (1..40u8).prop_map(|secs| Op::Advance { secs }),
        1 => Just(Op::DlqRetryAll),
        1 => (0..8u8).prop_map(|event| Op::Replay { event }),
        1 => (0..3u8, 0..2u8).prop_map(|(destination, thread)| Op::SupersedeQueued { destination, thread }),
    ]
}

/// Wall-clock bookkeeping (`updated_at`) differs between two stores; everything else must match.
fn comparable(mut jobs: Vec<JobInfo>) -> Vec<JobInfo> {
    for job in &mut jobs {
        job.updated_at = SystemTime::UNIX_EPOCH;
    }
    jobs
}

struct Run {
    memory: MemoryStore,
    sqlite: SqliteStore,
    now: SystemTime,
    /// Leases handed out, including spent and expired ones (to present stale tokens).
    leases: Vec<LeasedJob>,
    /// Live leases by job (each job of a digest batch maps to its batch's lease) and their end.
    live: HashMap<JobId, (LeasedJob, SystemTime)>,
    /// Every (event, destination) that should have exactly one job.
    pairs: BTreeSet<(String, String)>,
    /// The `created` of the event each (destination, thread key) ref shows.
    ref_created: HashMap<(String, String), i64>,
}

impl Run {
    async fn both<T: PartialEq + std::fmt::Debug>(
        &self,
        label: &str,
        f: impl AsyncFn(&dyn Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let a = f(&self.memory).await;
        let b = f(&self.sqlite).await;
        assert_eq!(a, b, "the stores disagree on {label}");
        a
    }

    fn lease_at(&self, pick: u8) -> Option<LeasedJob> {
        if self.leases.is_empty() {
            return None;
        }
        Some(self.leases[pick as usize % self.leases.len()].clone())
    }

    /// Whether `lease` is still the current lease of every job it holds (so its outcome must be
    /// accepted).
    fn holds(&self, lease: &LeasedJob) -> bool {
        held_jobs(lease).iter().all(|id| {
            self.live
                .get(id)
                .is_some_and(|(held, _)| held.job_id == lease.job_id && held.token == lease.token)
        })
    }

    async fn step(&mut self, op: Op) {
        match op {
            Op::Ingest {
                event: n,
                created,
                destinations,
            } => {
                let id = format!("evt_{n}");
                let jobs: Vec<NewJob> = destinations
                    .iter()
                    .map(|(d, t)| {
                        let job = NewJob::new(DESTINATIONS[*d as usize]);
                        match t {
                            Some(2) => job
                                .digest(DIGEST)
                                .not_before(self.now + Duration::from_secs(10)),
                            Some(t) => job.thread_key(THREADS[*t as usize]),
                            None => job,
                        }
                    })
                    .collect();
                let mut e = event(&id, i64::from(created));
                e.received_at = self.now;
                let first = self
                    .both("ingest", async |s| s.ingest(e.clone(), jobs.clone()).await)
                    .await;
                let done = first.expect("ingest succeeds");
                if !done.duplicate {
                    for job in &jobs {
                        self.pairs.insert((id.clone(), job.destination.clone()));
                    }
                }
            }
            Op::Lease {
                max,
                lease_secs,
                skip,
            } => {
                let now = self.now;
                let lease_for = Duration::from_secs(u64::from(lease_secs));
                let filter = match skip {
                    Some(d) => LeaseFilter::all().skip([DESTINATIONS[usize::from(d)]]),
                    None => LeaseFilter::all(),
                };
                let got = self
                    .both("lease", async |s| {
                        s.lease_where("w", usize::from(max), lease_for, now, &filter)
                            .await
                    })
                    .await
                    .expect("lease succeeds");
                assert!(got.len() <= usize::from(max));
                assert!(got.iter().all(|j| filter.admits(&j.destination)));
                self.live.retain(|_, (_, until)| *until > now);
                for job in &got {
                    for id in held_jobs(job) {
                        assert!(
                            !self.live.contains_key(&id),
                            "job {id} leased while another lease on it is live",
                        );
                    }
                    if let Some(batch) = &job.digest {
                        let busy = self.live.values().any(|(held, _)| {
                            held.destination == job.destination
                                && held.digest.as_ref().is_some_and(|b| b.key == batch.key)
                        });
                        assert!(!busy, "two live leases on a digest of {}", job.destination);
                        assert!(batch.jobs.iter().any(|m| m.job_id == job.job_id));
                    }
                    if let Some(key) = &job.thread_key {
                        let busy = self.live.values().any(|(held, _)| {
                            held.destination == job.destination
                                && held.thread_key.as_deref() == Some(key)
                        });
                        assert!(
                            !busy,
                            "two live leases on thread {key} of {}",
                            job.destination
                        );
                    }
                    for id in held_jobs(job) {
                        self.live.insert(id, (job.clone(), job.lease_until));
                    }
                    self.leases.push(job.clone());
                }
            }
            Op::Complete { pick, with_ref } => {
                let Some(lease) = self.lease_at(pick) else {
                    return;
                };
                let delivered = if with_ref {
                    Delivered::message(&lease, MessageRef::new("slack", lease.event.id.clone()))
                } else {
                    Delivered::nothing()
                };
                let result = self
                    .both("complete", async |s| {
                        s.complete(&lease, delivered.clone()).await
                    })
                    .await;
                self.check_outcome(&lease, result.clone().map(|_| ()));
                if let (Ok(outcome), Some(key)) = (&result, &lease.thread_key) {
                    let slot = (lease.destination.clone(), key.clone());
                    let shown = self.ref_created.get(&slot).copied();
                    match outcome {
                        RefUpdate::Stored => {
                            assert!(shown.is_none_or(|c| c <= lease.event.created));
                            self.ref_created.insert(slot, lease.event.created);
                        }
                        RefUpdate::KeptNewer(current) => {
                            assert!(current.event_created > lease.event.created);
                            assert_eq!(shown, Some(current.event_created));
                        }
                        RefUpdate::NotStored => assert!(!with_ref),
                    }
                }
            }
            Op::Retry { pick, delay_secs } => {
                let Some(lease) = self.lease_at(pick) else {
                    return;
                };
                let at = self.now + Duration::from_secs(u64::from(delay_secs));
                let result = self
                    .both("retry", async |s| s.retry(&lease, at, "503").await)
                    .await;
                self.check_outcome(&lease, result);
            }
            Op::Defer { pick, delay_secs } => {
                let Some(lease) = self.lease_at(pick) else {
                    return;
                };
                let at = self.now + Duration::from_secs(u64::from(delay_secs));
                let result = self
                    .both("defer", async |s| s.defer(&lease, at).await)
                    .await;
                self.check_outcome(&lease, result);
            }
            Op::DeadLetter { pick } => {
                let Some(lease) = self.lease_at(pick) else {
                    return;
                };
                let result = self
                    .both("dead_letter", async |s| {
                        s.dead_letter(&lease, "gave up").await
                    })
                    .await;
                self.check_outcome(&lease, result);
            }
            Op::Advance { secs } => self.now += Duration::from_secs(u64::from(secs)),
            Op::DlqRetryAll => {
                let now = self.now;
                self.both("dlq_retry", async |s| {
                    s.dlq_retry(DlqTarget::All, now).await
                })
                .await
                .expect("dlq retry succeeds");
            }
            Op::Replay { event: n } => {
                let id = format!("evt_{n}");
                let now = self.now;
                let result = self
                    .both("replay", async |s| s.replay(&id, vec![], now).await)
                    .await;
                let known = self.pairs.iter().any(|(e, _)| *e == id)
                    || self.memory.event(&id).await.expect("event").is_some();
                match result {
                    Ok(_) => assert!(known),
                    Err(e) => assert!(matches!(e, StoreError::NotFound { .. }) && !known),
                }
            }
            Op::SupersedeQueued {
                destination,
                thread,
            } => {
                let (d, t) = (DESTINATIONS[destination as usize], THREADS[thread as usize]);
                let queued = self
                    .both("queued_jobs", async |s| {
                        s.queued_jobs(d, t).await.map(comparable)
                    })
                    .await;
                if let Some(job) = queued.expect("queued jobs").last() {
                    let id = job.id;
                    let done = self
                        .both("supersede", async |s| s.supersede(id, "newer state").await)
                        .await;
                    assert_eq!(
                        done.expect("supersede"),
                        job.state == stripe_chat_store::JobState::Pending
                    );
                }
            }
        }
        self.check_counts().await;
    }

    /// An outcome is accepted exactly when the lease is the job's current one.
    fn check_outcome(&mut self, lease: &LeasedJob, result: Result<(), StoreError>) {
        let expected_ok = self.holds(lease);
        match result {
            Ok(()) => {
                assert!(expected_ok, "a stale lease's outcome was accepted");
                for id in held_jobs(lease) {
                    self.live.remove(&id);
                }
            }
            Err(e) => {
                assert!(!expected_ok, "a current lease's outcome was refused: {e}");
                assert!(e.is_lease_lost(), "{e:?}");
            }
        }
    }

    async fn check_counts(&self) {
        let stats = self
            .both("stats", async |s| s.stats().await)
            .await
            .expect("stats");
        let total = stats.pending + stats.leased + stats.dead + stats.delivered + stats.superseded;
        assert_eq!(
            total as usize,
            self.pairs.len(),
            "one job per (event, destination)"
        );
        let dead = self
            .both("dlq_list", async |s| s.dlq_list(1000).await.map(comparable))
            .await;
        assert_eq!(dead.expect("dlq").len() as u64, stats.dead);
        for d in DESTINATIONS {
            for t in THREADS {
                self.both("message_ref", async |s| s.message_ref(d, t).await)
                    .await
                    .expect("ref");
            }
        }
    }
}

/// The jobs a lease holds: its own, and the rest of its digest batch.
fn held_jobs(lease: &LeasedJob) -> Vec<JobId> {
    let mut ids = vec![lease.job_id];
    if let Some(batch) = &lease.digest {
        ids.extend(
            batch
                .jobs
                .iter()
                .map(|m| m.job_id)
                .filter(|id| *id != lease.job_id),
        );
    }
    ids
}

fn shm_or_tmp() -> tempfile::TempDir {
    // fsyncs on tmpfs are free; the semantics under test do not depend on the disk.
    tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .expect("a temporary directory")
}

proptest! {
    // Failures are kept in `proptest-regressions/` (tests run from the crate root) and replayed.
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/interleavings.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_interleavings_keep_the_invariants_and_both_stores_agree(ops in prop::collection::vec(op(), 1..60)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let dir = shm_or_tmp();
            let sqlite = support::open(&dir.path().join("store.db")).await;
            let mut run = Run {
                memory: MemoryStore::new(),
                sqlite,
                now: t0(),
                leases: Vec::new(),
                live: HashMap::new(),
                pairs: BTreeSet::new(),
                ref_created: HashMap::new(),
            };
            for op in ops {
                run.step(op).await;
            }
            run.sqlite.close().await;
        });
    }
}

//! The durable inbox and outbox of stripe-chat: verified Stripe events, one delivery job per
//! (event, destination), leases for workers, the message shown for each Stripe object, and the
//! dead-letter queue.
//!
//! The webhook endpoint answers Stripe 2xx only once [`Store::ingest`] returned: the event and
//! its jobs are then committed durably, deduplicated on the event id. When the store cannot
//! commit, ingest fails with a transient [`StoreError`] and the endpoint answers 503, so Stripe
//! retries. Workers [`lease`](Store::lease) due jobs, deliver them, and record the outcome:
//! [`complete`](Store::complete) (with the [`MessageRef`](stripe_chat_message::MessageRef) of the
//! message), [`retry`](Store::retry) at a time, or [`dead_letter`](Store::dead_letter).
//!
//! Main types:
//! - [`Store`]: the trait (object safe; hold an `Arc<dyn Store>`).
//! - [`SqliteStore`]: the embedded default, one SQLite file in WAL mode, fsync before every
//!   acknowledgement, group commit so concurrent requests share fsyncs.
//! - [`MemoryStore`]: the same contract in memory, for tests and examples; it can be made to fail.
//! - [`NewEvent`], [`NewJob`] in; [`LeasedJob`], [`StoredRef`], [`JobInfo`], [`Stats`] out.
//! - [`StoreError`], which says whether it is transient ([`StoreError::is_transient`]).
//!
//! ```
//! # let rt = tokio::runtime::Builder::new_current_thread().build()?;
//! # rt.block_on(async {
//! use std::time::{Duration, SystemTime};
//! use stripe_chat_message::MessageRef;
//! use stripe_chat_store::{Delivered, NewEvent, NewJob, RefUpdate, SqliteOptions, SqliteStore, Store};
//!
//! let dir = tempfile::tempdir()?;
//! let store = SqliteStore::open(dir.path().join("stripe-chat.db"), SqliteOptions::default()).await?;
//!
//! // The webhook endpoint, after verifying the signature:
//! let event = NewEvent {
//!     id: "evt_1".into(),
//!     event_type: "invoice.payment_failed".into(),
//!     created: 1_700_000_000,
//!     livemode: false,
//!     account: None,
//!     raw: r#"{"id":"evt_1","object":"event","type":"invoice.payment_failed"}"#.into(),
//!     received_at: SystemTime::now(),
//! };
//! let jobs = vec![NewJob::new("slack-billing").thread_key("invoice/in_1")];
//! let ingested = store.ingest(event, jobs).await?; // Err → answer 503
//! assert_eq!(ingested.jobs_created, 1);
//!
//! // A worker:
//! let now = SystemTime::now();
//! for job in store.lease("worker-1", 32, Duration::from_secs(60), now).await? {
//!     // transform → redact → adapter; here the adapter answered with this message:
//!     let sent = MessageRef::new("slack", "1700000000.000100").in_channel("C0123");
//!     let stored = store.complete(&job, Delivered::message(&job, sent)).await?;
//!     assert_eq!(stored, RefUpdate::Stored);
//! }
//! let shown = store.message_ref("slack-billing", "invoice/in_1").await?.ok_or("no ref")?;
//! assert_eq!(shown.event_id, "evt_1");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # One message per object, without races
//!
//! A job's thread key names the Stripe object its message is about (`invoice/in_123`). Two
//! rules keep that object's message right:
//! 1. **One job per `(destination, thread_key)` at a time.** A lease skips a job while another
//!    job of the same destination and thread key is leased, and among the due jobs of a thread
//!    it takes the oldest event (by `created`, then job id). So a worker can read
//!    [`LeasedJob::current_ref`], send or update, and [`complete`](Store::complete) without
//!    another worker doing the same for that object in between. A job that is backing off does
//!    not hold its thread: a newer event may be delivered first.
//! 2. **Refs only move forward.** `complete` stores the message ref under the thread key with a
//!    conditional upsert (`… ON CONFLICT DO UPDATE … WHERE excluded.event_created >=
//!    message_refs.event_created`), taking `created` from the job's own event. An older event
//!    never replaces a newer one's ref, even if a lease expired while its worker was still
//!    running; the caller learns it from [`RefUpdate::KeptNewer`]. Equal `created` (Stripe
//!    counts seconds): the later completion wins.
//!
//! A worker whose lease expired and whose job was leased again gets [`StoreError::LeaseLost`]
//! for its outcome: each lease bumps the job's [`LeaseToken`].
//!
//! # What a server calls
//!
//! - Webhook endpoint: [`Store::ingest`] after the signature check; `Ok` (duplicate or not) →
//!   2xx; `Err` → 503 (the error is transient when the database is busy, locked, full or gone).
//! - Workers: [`Store::lease`] in a loop (sleep briefly when it returns nothing), then per job
//!   [`Store::complete`], [`Store::retry`] (with backoff, or the platform's `Retry-After`) or
//!   [`Store::dead_letter`] (permanent errors, or `attempt` over the limit), or the outcomes of
//!   several jobs in one request with [`Store::settle`]. Keep `lease_for` well above the
//!   slowest delivery; a [`StoreError::LeaseLost`] outcome is dropped.
//! - Inhibition: [`Store::queued_jobs`] and [`Store::supersede`] while holding the thread's
//!   lease.
//! - Digests: jobs created with [`NewJob::digest`] and [`NewJob::not_before`] at the end of the
//!   digest's window; [`Store::lease`] hands out each due digest as one [`LeasedJob`] with a
//!   [`DigestBatch`] of all its jobs, and the outcome reported for that lease applies to them
//!   all.
//! - Operators: [`Store::dlq_list`], [`Store::dlq_retry`], [`Store::replay`] (with
//!   [`Store::event`] to re-route the stored body).
//! - Retention: [`Store::prune`] on a timer, in small batches until it deletes nothing, then
//!   [`Store::reclaim_space`] in small steps until it gives nothing back; [`Store::prunable`]
//!   for a dry run. Finished jobs, their events and the message refs of objects silent since
//!   go; pending and leased jobs, dead letters, and the refs of their objects stay.
//! - Acting from chat (the actions engine): [`Store::interaction_first_seen`] for every click,
//!   [`Store::pending_create`], [`Store::pending`] and [`Store::pending_advance`] (compare and set,
//!   with expiry) for confirmations and approvals, [`Store::ledger_claim`] and
//!   [`Store::ledger_record`] around every action performed (one claim per idempotency key wins),
//!   [`Store::contact_record`] / [`Store::last_contact`] and [`Store::assignment_set`] /
//!   [`Store::assignment`]. Retention prunes interaction ids, expired requests and finished
//!   ledger rows; a claim still in flight, contacts and assignments stay.
//! - Health and metrics: [`Store::ping`] for readiness (after a write failed for want of space,
//!   the SQLite store's ping is a real write, so readiness fails exactly while ingest would),
//!   [`Store::stats`] and [`SqliteStore::commit_stats`] for gauges.
//!
//! # Scaling out on a server database
//!
//! The trait maps onto Postgres for several replicas: `ingest` is `INSERT … ON CONFLICT (id) DO
//! NOTHING` on events plus the jobs in one transaction; `lease` selects due jobs
//! `FOR UPDATE SKIP LOCKED`, treating `state = 'leased' AND lease_until <= now` as due, and keeps
//! threads exclusive with `NOT EXISTS` (a leased job of the same destination and thread key)
//! under a transaction-scoped advisory lock on the thread key
//! (`pg_try_advisory_xact_lock(hashtext(destination || thread_key))`); outcomes are `UPDATE …
//! WHERE id = $1 AND lease_token = $2`. Nothing in the trait needs a single process.
//!
//! # Feature flags
//!
//! - `bundled` (default): SQLite is compiled in (rusqlite's `bundled`), so no system library is
//!   needed. With `default-features = false`, the system's libsqlite3 is linked instead (found
//!   through pkg-config; rusqlite 0.43 needs SQLite 3.45.3 or newer), for programs that bring
//!   their own SQLite.
#![forbid(unsafe_code)]

mod actions;
mod error;
mod lease;
mod memory;
mod sqlite;
mod store;
mod time;
mod types;

pub use actions::{
    Assignment, Claim, Contact, INTERACTION_WINDOW, LedgerOutcome, LedgerStatus, NewPending,
    PendingChange, PendingRow,
};
pub use error::StoreError;
pub use memory::MemoryStore;
pub use sqlite::{CommitStats, SqliteOptions, SqliteStore};
pub use store::Store;
pub use types::{
    AuditCheckpointRow, AuditRow, Backlog, Delivered, DigestBatch, DigestMember, DlqTarget,
    Ingested, JobId, JobInfo, JobState, LeaseFilter, LeaseToken, LeasedJob, NewEvent, NewJob,
    Outcome, Pruned, RefUpdate, Stats, StoredEvent, StoredRef, UnknownJobState,
};

/// The error recorded on a job whose lease ran out before its worker reported an outcome.
pub(crate) const LEASE_EXPIRED: &str = "the lease expired before the worker reported an outcome";

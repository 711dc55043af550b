//! The [`Store`] trait: what the webhook endpoint, the workers and the operator commands need.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::{
    Assignment, AuditCheckpointRow, AuditRow, Backlog, Claim, Contact, Delivered, DlqTarget,
    Ingested, JobId, JobInfo, LeaseFilter, LeasedJob, LedgerOutcome, NewEvent, NewJob, NewPending,
    Outcome, PendingChange, PendingRow, Pruned, RefUpdate, Stats, StoreError, StoredEvent,
    StoredRef,
};

/// The durable inbox and outbox.
///
/// Every method is one atomic step; when it returns `Ok`, its effect is durable (for
/// [`SqliteStore`](crate::SqliteStore): committed and fsynced). The trait is object safe: the
/// server holds an `Arc<dyn Store>`.
///
/// Contract (checked for every implementation by the crate's conformance tests):
/// - **Ingest** stores the event and one job per destination in one transaction, deduplicated on
///   the event id; a duplicate writes nothing.
/// - **Leases**: a leased job is invisible to other workers until its lease ends; an expired lease
///   makes the job leasable again (its worker died). Jobs of the same `(destination, thread_key)`
///   are leased one at a time, the oldest event (by `created`) first among those due, so the
///   read-ref → send/update → [`complete`](Store::complete) sequence of one object's message never
///   races with another job of that object.
/// - **Digests**: a job with a digest key ([`NewJob::digest`](crate::NewJob::digest)) is leased
///   together with every other due pending job of the same `(destination, digest key)`, as one
///   [`LeasedJob`] carrying a [`DigestBatch`](crate::DigestBatch); at most one batch per digest
///   is leased at a time, and the outcome of its lease applies to every job of the batch,
///   atomically (all or none, [`StoreError::LeaseLost`] when the lease no longer holds them all).
///   [`dlq_retry`](Store::dlq_retry) of one dead job of a digest revives the digest's dead jobs.
/// - **Outcomes** ([`complete`](Store::complete), [`retry`](Store::retry),
///   [`defer`](Store::defer), [`dead_letter`](Store::dead_letter), several at once with
///   [`settle`](Store::settle)) need the lease's token and fail with
///   [`StoreError::LeaseLost`] once an outcome was recorded for that lease or a `lease` call
///   took the expired job back.
/// - **Message refs** only move forward: a ref is replaced only by a delivery of an event whose
///   `created` is not older than the stored one's (ties: the later completion wins).
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// use std::sync::Arc;
/// use std::time::{Duration, SystemTime};
/// use stripe_chat_message::MessageRef;
/// use stripe_chat_store::{Delivered, MemoryStore, NewJob, Store};
///
/// let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
/// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
/// // Webhook endpoint: answer 2xx only once this returned Ok (503 when it failed).
/// let ingested = store.ingest(event, vec![NewJob::new("slack").thread_key("invoice/in_1")]).await?;
/// assert_eq!(ingested.jobs_created, 1);
///
/// // Worker: lease, deliver, record the outcome.
/// for job in store.lease("worker-1", 16, Duration::from_secs(60), SystemTime::now()).await? {
///     let sent = MessageRef::new("slack", "1700000000.000100").in_channel("C1");
///     store.complete(&job, Delivered::message(&job, sent)).await?;
/// }
/// let shown = store.message_ref("slack", "invoice/in_1").await?.ok_or("no ref")?;
/// assert_eq!(shown.event_id, "evt_1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores `event` and one pending job per entry of `jobs` (entries naming the same destination
    /// twice make one job), atomically. If the event id is already stored, nothing is written and
    /// `duplicate` is true.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{MemoryStore, NewJob, Store};
    /// let store = MemoryStore::new();
    /// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
    /// let jobs = vec![NewJob::new("slack"), NewJob::new("teams")];
    /// let first = store.ingest(event.clone(), jobs.clone()).await?;
    /// let again = store.ingest(event, jobs).await?;
    /// assert_eq!((first.duplicate, first.jobs_created), (false, 2));
    /// assert_eq!((again.duplicate, again.jobs_created), (true, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn ingest(&self, event: NewEvent, jobs: Vec<NewJob>) -> Result<Ingested, StoreError>;

    /// Leases up to `max` due jobs (`not_before <= now`) to `worker` until `now + lease_for`,
    /// taking back expired leases first. Oldest due first; at most one job per
    /// `(destination, thread_key)` is leased at any time. Each job's `attempt` goes up by one.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use stripe_chat_store::{MemoryStore, NewJob, Store};
    /// let store = MemoryStore::new();
    /// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
    /// store.ingest(event, vec![NewJob::new("slack")]).await?;
    /// let now = SystemTime::now();
    /// assert_eq!(store.lease("a", 8, Duration::from_secs(30), now).await?.len(), 1);
    /// // Held by "a": invisible to "b" until the lease ends.
    /// assert!(store.lease("b", 8, Duration::from_secs(30), now).await?.is_empty());
    /// let later = now + Duration::from_secs(31);
    /// assert_eq!(store.lease("b", 8, Duration::from_secs(30), later).await?[0].attempt, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn lease(
        &self,
        worker: &str,
        max: usize,
        lease_for: Duration,
        now: SystemTime,
    ) -> Result<Vec<LeasedJob>, StoreError> {
        self.lease_where(worker, max, lease_for, now, &LeaseFilter::all())
            .await
    }

    /// Like [`lease`](Store::lease), taking only the jobs of the destinations `filter` admits:
    /// a paused destination's jobs stay pending, neither leased nor spending attempts, while
    /// every other destination's jobs are leased as usual (the scan for due jobs skips them, so
    /// a large backlog of a paused destination never hides another's due jobs).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use stripe_chat_store::{LeaseFilter, MemoryStore, NewJob, Store};
    /// let store = MemoryStore::new();
    /// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
    /// store.ingest(event, vec![NewJob::new("slack"), NewJob::new("teams")]).await?;
    /// let now = SystemTime::now();
    /// let jobs = store.lease_where("w", 8, Duration::from_secs(30), now, &LeaseFilter::all().skip(["slack"])).await?;
    /// assert_eq!(jobs.len(), 1);
    /// assert_eq!(jobs[0].destination, "teams");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn lease_where(
        &self,
        worker: &str,
        max: usize,
        lease_for: Duration,
        now: SystemTime,
        filter: &LeaseFilter,
    ) -> Result<Vec<LeasedJob>, StoreError>;

    /// Marks the leased job delivered and, when `delivered` names a message and a thread key,
    /// stores it as that object's message unless a newer event's message is already stored.
    /// The event's `created` and id come from the job, not from the caller.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use stripe_chat_store::{Delivered, MemoryStore, NewJob, RefUpdate, Store};
    /// let store = MemoryStore::new();
    /// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
    /// store.ingest(event, vec![NewJob::new("slack")]).await?;
    /// let job = store.lease("w", 1, Duration::from_secs(30), SystemTime::now()).await?.remove(0);
    /// assert_eq!(store.complete(&job, Delivered::nothing()).await?, RefUpdate::NotStored);
    /// // A second outcome for the same lease is refused.
    /// assert!(store.complete(&job, Delivered::nothing()).await.unwrap_err().is_lease_lost());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn complete(
        &self,
        lease: &LeasedJob,
        delivered: Delivered,
    ) -> Result<RefUpdate, StoreError>;

    /// Puts the leased job back, due at `at`, recording `error` (say what failed; never put an
    /// event body or a secret in it).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use stripe_chat_store::{MemoryStore, NewJob, Store};
    /// let store = MemoryStore::new();
    /// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
    /// store.ingest(event, vec![NewJob::new("slack")]).await?;
    /// let now = SystemTime::now();
    /// let job = store.lease("w", 1, Duration::from_secs(30), now).await?.remove(0);
    /// store.retry(&job, now + Duration::from_secs(10), "slack answered 503").await?;
    /// assert!(store.lease("w", 1, Duration::from_secs(30), now).await?.is_empty());
    /// assert_eq!(store.lease("w", 1, Duration::from_secs(30), now + Duration::from_secs(10)).await?.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn retry(&self, lease: &LeasedJob, at: SystemTime, error: &str)
    -> Result<(), StoreError>;

    /// Puts the leased job back, due at `at`, without spending its attempt (the lease is not
    /// counted) and keeping its last error: the job was not tried, or was not at fault (its
    /// destination is paused, asked to wait with `Retry-After`, or the worker stopped).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use stripe_chat_store::{MemoryStore, NewJob, Store};
    /// let store = MemoryStore::new();
    /// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
    /// store.ingest(event, vec![NewJob::new("slack")]).await?;
    /// let now = SystemTime::now();
    /// let job = store.lease("w", 1, Duration::from_secs(30), now).await?.remove(0);
    /// store.defer(&job, now + Duration::from_secs(10)).await?;
    /// let again = store.lease("w", 1, Duration::from_secs(30), now + Duration::from_secs(10)).await?;
    /// assert_eq!(again[0].attempt, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn defer(&self, lease: &LeasedJob, at: SystemTime) -> Result<(), StoreError>;

    /// Moves the leased job to the dead-letter queue, recording `error`.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use stripe_chat_store::{MemoryStore, NewJob, Store};
    /// let store = MemoryStore::new();
    /// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
    /// store.ingest(event, vec![NewJob::new("slack")]).await?;
    /// let job = store.lease("w", 1, Duration::from_secs(30), SystemTime::now()).await?.remove(0);
    /// store.dead_letter(&job, "permanent: channel_not_found").await?;
    /// assert_eq!(store.dlq_list(10).await?[0].last_error.as_deref(), Some("permanent: channel_not_found"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn dead_letter(&self, lease: &LeasedJob, error: &str) -> Result<(), StoreError>;

    /// Records the outcomes of several leases at once, in order, each as its own method does
    /// ([`complete`](Store::complete), [`retry`](Store::retry), [`defer`](Store::defer),
    /// [`dead_letter`](Store::dead_letter)); for a worker that finishes several jobs before it
    /// reports them, one request instead of one per job. Returns one result per outcome, in
    /// the same order: each outcome is recorded or refused on its own (a lease no longer held
    /// fails with [`StoreError::LeaseLost`] and leaves the others alone). A completion's result
    /// says what became of its message ref; every other outcome's is [`RefUpdate::NotStored`].
    ///
    /// The provided implementation calls those methods one after the other; [`SqliteStore`]
    /// commits all the outcomes as one request.
    ///
    /// [`SqliteStore`]: crate::SqliteStore
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use stripe_chat_message::MessageRef;
    /// use stripe_chat_store::{Delivered, MemoryStore, NewJob, Outcome, RefUpdate, Store};
    /// let store = MemoryStore::new();
    /// for id in ["evt_1", "evt_2"] {
    ///     # let event = stripe_chat_store::NewEvent { id: id.into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
    ///     store.ingest(event, vec![NewJob::new("slack").thread_key(format!("invoice/{id}"))]).await?;
    /// }
    /// let now = SystemTime::now();
    /// let jobs = store.lease("w", 8, Duration::from_secs(60), now).await?;
    /// let sent = MessageRef::new("slack", "1.2").in_channel("C1");
    /// let results = store
    ///     .settle(vec![
    ///         (&jobs[0], Outcome::Complete(Delivered::message(&jobs[0], sent))),
    ///         (&jobs[1], Outcome::Retry { at: now + Duration::from_secs(30), error: "503".into() }),
    ///         // A second outcome for the same lease is refused, alone.
    ///         (&jobs[0], Outcome::Complete(Delivered::nothing())),
    ///     ])
    ///     .await;
    /// assert_eq!(results[0], Ok(RefUpdate::Stored));
    /// assert_eq!(results[1], Ok(RefUpdate::NotStored));
    /// assert!(results[2].as_ref().unwrap_err().is_lease_lost());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn settle(
        &self,
        outcomes: Vec<(&LeasedJob, Outcome)>,
    ) -> Vec<Result<RefUpdate, StoreError>> {
        let mut results = Vec::with_capacity(outcomes.len());
        for (lease, outcome) in outcomes {
            let result = match outcome {
                Outcome::Complete(delivered) => self.complete(lease, delivered).await,
                Outcome::Retry { at, error } => self
                    .retry(lease, at, &error)
                    .await
                    .map(|()| RefUpdate::NotStored),
                Outcome::Defer { at } => self.defer(lease, at).await.map(|()| RefUpdate::NotStored),
                Outcome::DeadLetter { error } => self
                    .dead_letter(lease, &error)
                    .await
                    .map(|()| RefUpdate::NotStored),
            };
            results.push(result);
        }
        results
    }

    /// The message shown for `thread_key` in `destination`, and the event it shows.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{MemoryStore, Store};
    /// let store = MemoryStore::new();
    /// assert!(store.message_ref("slack", "invoice/in_1").await?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn message_ref(
        &self,
        destination: &str,
        thread_key: &str,
    ) -> Result<Option<StoredRef>, StoreError>;

    /// The unfinished (pending or leased) jobs of `(destination, thread_key)`, oldest event first:
    /// what a digest collects and what inhibition looks through before it
    /// [`supersede`](Store::supersede)s a job.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{MemoryStore, NewJob, Store};
    /// let store = MemoryStore::new();
    /// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
    /// store.ingest(event, vec![NewJob::new("slack").thread_key("invoice/in_1")]).await?;
    /// assert_eq!(store.queued_jobs("slack", "invoice/in_1").await?.len(), 1);
    /// assert!(store.queued_jobs("slack", "invoice/in_2").await?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn queued_jobs(
        &self,
        destination: &str,
        thread_key: &str,
    ) -> Result<Vec<JobInfo>, StoreError>;

    /// Cancels a pending job, recording `reason`. Returns false when the job is not pending (it
    /// is leased, finished or unknown) and was left alone.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{JobState, MemoryStore, NewJob, Store};
    /// let store = MemoryStore::new();
    /// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
    /// store.ingest(event, vec![NewJob::new("slack").thread_key("invoice/in_1")]).await?;
    /// let failure_notice = store.queued_jobs("slack", "invoice/in_1").await?.remove(0);
    /// assert!(store.supersede(failure_notice.id, "invoice paid since").await?);
    /// assert!(!store.supersede(failure_notice.id, "again").await?);
    /// assert_eq!(store.stats().await?.superseded, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn supersede(&self, job: JobId, reason: &str) -> Result<bool, StoreError>;

    /// Up to `limit` dead-lettered jobs, in job id order.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{MemoryStore, Store};
    /// assert!(MemoryStore::new().dlq_list(50).await?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn dlq_list(&self, limit: usize) -> Result<Vec<JobInfo>, StoreError>;

    /// Makes dead-lettered jobs pending again, due at `now`, with their attempts reset. Returns
    /// how many (0 when the job named is not dead).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use stripe_chat_store::{DlqTarget, MemoryStore, NewJob, Store};
    /// let store = MemoryStore::new();
    /// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
    /// store.ingest(event, vec![NewJob::new("slack")]).await?;
    /// let now = SystemTime::now();
    /// let job = store.lease("w", 1, Duration::from_secs(30), now).await?.remove(0);
    /// store.dead_letter(&job, "permanent: invalid_blocks").await?;
    /// assert_eq!(store.dlq_retry(DlqTarget::Job(job.job_id), now).await?, 1);
    /// assert_eq!(store.lease("w", 1, Duration::from_secs(30), now).await?[0].attempt, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn dlq_retry(&self, target: DlqTarget, now: SystemTime) -> Result<usize, StoreError>;

    /// Delivers a stored event again: each destination of `jobs` gets its job created, or moved
    /// back to pending (due at `now`, attempts reset) when it was delivered, dead or superseded.
    /// An empty `jobs` replays every job the event already has. Jobs pending or leased are left
    /// as they are. Returns how many jobs were created or moved back.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use stripe_chat_store::{Delivered, MemoryStore, NewJob, Store};
    /// let store = MemoryStore::new();
    /// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
    /// store.ingest(event, vec![NewJob::new("slack")]).await?;
    /// let now = SystemTime::now();
    /// let job = store.lease("w", 1, Duration::from_secs(30), now).await?.remove(0);
    /// store.complete(&job, Delivered::nothing()).await?;
    /// assert_eq!(store.replay("evt_1", vec![], now).await?, 1);
    /// assert_eq!(store.replay("evt_1", vec![NewJob::new("teams")], now).await?, 1);
    /// assert_eq!(store.stats().await?.pending, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn replay(
        &self,
        event_id: &str,
        jobs: Vec<NewJob>,
        now: SystemTime,
    ) -> Result<usize, StoreError>;

    /// The stored event `event_id`, with its exact body.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{MemoryStore, Store};
    /// assert!(MemoryStore::new().event("evt_unknown").await?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn event(&self, event_id: &str) -> Result<Option<StoredEvent>, StoreError>;

    /// Job counts by state.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{MemoryStore, NewJob, Store};
    /// let store = MemoryStore::new();
    /// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
    /// store.ingest(event, vec![NewJob::new("slack"), NewJob::new("teams")]).await?;
    /// assert_eq!(store.stats().await?.pending, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn stats(&self) -> Result<Stats, StoreError>;

    /// Deletes up to `limit` finished (delivered or superseded) jobs last changed before `before`,
    /// then up to `limit` events received before `before` that have no job left, then up to
    /// `limit` message refs last stored before `before` whose `(destination, thread key)` has
    /// no job left. Pending and leased jobs, dead jobs (and so their events and their thread's
    /// ref), the newest job (so job ids are never reused) and the refs of objects with a newer
    /// message or a job left are kept: an object that gets an event after a longer silence than
    /// that gets a new message rather than an edit of a message older than `before`. Call it in
    /// a loop until it has nothing left to do ([`Pruned::is_empty`](crate::Pruned::is_empty):
    /// a call may stop early, [`unfinished`](crate::Pruned::unfinished), after looking at many
    /// rows it keeps);
    /// [`prunable`](Store::prunable) counts what that loop would delete. Keep `before` well over
    /// three days back: a pruned event id is no longer deduplicated, and Stripe retries for up
    /// to three days.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use stripe_chat_store::{MemoryStore, Store};
    /// let store = MemoryStore::new();
    /// let month_ago = SystemTime::now() - Duration::from_secs(30 * 24 * 3600);
    /// assert_eq!(store.prune(month_ago, 1000).await?.jobs, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn prune(&self, before: SystemTime, limit: usize) -> Result<Pruned, StoreError>;

    /// The pending and leased jobs per destination (destinations with none are left out), in
    /// destination order.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{MemoryStore, NewJob, Store};
    /// let store = MemoryStore::new();
    /// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
    /// store.ingest(event, vec![NewJob::new("slack")]).await?;
    /// let backlog = store.backlog().await?;
    /// assert_eq!((backlog[0].destination.as_str(), backlog[0].queued), ("slack", 1));
    /// assert!(backlog[0].oldest_queued_at.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn backlog(&self) -> Result<Vec<Backlog>, StoreError>;

    /// Appends `row` to the audit log, durably, if it is the next record (`seq` is one more than
    /// the last record's); else [`StoreError::Conflict`] and nothing is written. Records are never
    /// changed or deleted by the store (pruning leaves them alone).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{AuditRow, MemoryStore, Store};
    /// let store = MemoryStore::new();
    /// let row = |seq| AuditRow { seq, prev_hash: "p".into(), hash: format!("h{seq}"), body: "{}".into() };
    /// store.audit_append(row(1)).await?;
    /// assert!(store.audit_append(row(1)).await.unwrap_err().is_conflict());
    /// assert!(store.audit_append(row(3)).await.unwrap_err().is_conflict());
    /// assert_eq!(store.audit_last().await?.map(|r| r.seq), Some(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn audit_append(&self, row: AuditRow) -> Result<(), StoreError>;

    /// The audit log's last record.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{MemoryStore, Store};
    /// assert!(MemoryStore::new().audit_last().await?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn audit_last(&self) -> Result<Option<AuditRow>, StoreError>;

    /// Up to `limit` audit records from number `from` on, in order.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{AuditRow, MemoryStore, Store};
    /// let store = MemoryStore::new();
    /// for seq in 1..=3 {
    ///     store.audit_append(AuditRow { seq, prev_hash: String::new(), hash: String::new(), body: "{}".into() }).await?;
    /// }
    /// let rows = store.audit_read(2, 10).await?;
    /// assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn audit_read(&self, from: u64, limit: usize) -> Result<Vec<AuditRow>, StoreError>;

    /// Keeps a signed checkpoint of the audit log (a second one for the same size replaces
    /// nothing and is ignored).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{AuditCheckpointRow, MemoryStore, Store};
    /// let store = MemoryStore::new();
    /// store.audit_checkpoint(AuditCheckpointRow { size: 0, note: "note".into() }).await?;
    /// assert_eq!(store.audit_checkpoints().await?.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn audit_checkpoint(&self, row: AuditCheckpointRow) -> Result<(), StoreError>;

    /// Every kept checkpoint, by size.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{MemoryStore, Store};
    /// assert!(MemoryStore::new().audit_checkpoints().await?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn audit_checkpoints(&self) -> Result<Vec<AuditCheckpointRow>, StoreError>;

    /// Checks that the store can take writes (for a readiness probe).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{MemoryStore, Store};
    /// MemoryStore::new().ping().await?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn ping(&self) -> Result<(), StoreError>;

    /// What [`prune`](Store::prune) with the same `before`, called until it deletes nothing,
    /// would delete now: for a dry run. Writes nothing.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use stripe_chat_store::{Delivered, MemoryStore, NewJob, Store};
    /// let store = MemoryStore::new();
    /// # let event = |id: &str| stripe_chat_store::NewEvent { id: id.into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
    /// store.ingest(event("evt_1"), vec![NewJob::new("slack")]).await?;
    /// store.ingest(event("evt_2"), vec![NewJob::new("slack")]).await?;
    /// let job = store.lease("w", 1, Duration::from_secs(30), SystemTime::now()).await?.remove(0);
    /// store.complete(&job, Delivered::nothing()).await?;
    ///
    /// let later = SystemTime::now() + Duration::from_secs(1);
    /// let would = store.prunable(later).await?;
    /// assert_eq!((would.jobs, would.events), (1, 1)); // evt_2's job is still pending
    /// assert_eq!(store.prune(later, 500).await?, would);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn prunable(&self, before: SystemTime) -> Result<Pruned, StoreError>;

    // Acting from chat. A store written before these existed refuses them with
    // `StoreError::Unsupported`; both stores of this crate keep them.

    /// Remembers the interaction id `id` (a click's, as the platform numbers it), seen at `now`:
    /// `true` the first time, `false` for an id already seen (a repeated delivery: do nothing).
    /// Ids are kept at least [`INTERACTION_WINDOW`](crate::INTERACTION_WINDOW), and pruned with the
    /// retention.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{MemoryStore, Store};
    /// let store = MemoryStore::new();
    /// let now = std::time::SystemTime::now();
    /// assert!(store.interaction_first_seen("slack:T1:1337.42", now).await?);
    /// assert!(!store.interaction_first_seen("slack:T1:1337.42", now).await?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn interaction_first_seen(&self, id: &str, now: SystemTime) -> Result<bool, StoreError> {
        let _ = (id, now);
        Err(StoreError::Unsupported {
            what: "interaction ids",
        })
    }

    /// Stores a pending request under a new random, unguessable id (`p_` and 128 bits in hex) and
    /// returns it as stored.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// # use std::time::{Duration, SystemTime};
    /// # use stripe_chat_message::MessageRef;
    /// # let now = SystemTime::now();
    /// # let new = stripe_chat_store::NewPending { person: "ana".into(), identity: "slack T1/U1".into(), action: "retry_payment".into(), object: "invoice/in_1".into(), account: None, message: MessageRef::new("slack", "1"), amount: Some((84_200, "usd".into())), livemode: false, description: "invoice INV-1".into(), stage: "awaiting_confirmation".into(), needs_approval: false, created_at: now, expires_at: now + Duration::from_secs(900) };
    /// use stripe_chat_store::{MemoryStore, Store};
    /// let store = MemoryStore::new();
    /// let row = store.pending_create(new).await?;
    /// assert!(row.id.starts_with("p_") && row.id.len() == 34);
    /// assert_eq!(store.pending(&row.id).await?, Some(row));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn pending_create(&self, pending: NewPending) -> Result<PendingRow, StoreError> {
        let _ = pending;
        Err(StoreError::Unsupported {
            what: "pending requests",
        })
    }

    /// The pending request `id`, as it stands (expired ones too, until pruned).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{MemoryStore, Store};
    /// assert!(MemoryStore::new().pending("p_00").await?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn pending(&self, id: &str) -> Result<Option<PendingRow>, StoreError> {
        let _ = id;
        Err(StoreError::Unsupported {
            what: "pending requests",
        })
    }

    /// Moves the pending request `id` from stage `from` as `change` says, if it is still at `from`
    /// and has not expired at `now` (compare and set): the request as moved, or `None` when it is
    /// at another stage, expired or unknown (read it again to say which). Of several callers
    /// moving the same request from the same stage, one succeeds.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// # use std::time::{Duration, SystemTime};
    /// # use stripe_chat_message::MessageRef;
    /// # let now = SystemTime::now();
    /// # let new = stripe_chat_store::NewPending { person: "ana".into(), identity: "slack T1/U1".into(), action: "retry_payment".into(), object: "invoice/in_1".into(), account: None, message: MessageRef::new("slack", "1"), amount: Some((84_200, "usd".into())), livemode: false, description: "invoice INV-1".into(), stage: "awaiting_confirmation".into(), needs_approval: false, created_at: now, expires_at: now + Duration::from_secs(900) };
    /// use stripe_chat_store::{MemoryStore, PendingChange, Store};
    /// let store = MemoryStore::new();
    /// let id = store.pending_create(new).await?.id;
    /// let moved = store.pending_advance(&id, "awaiting_confirmation", PendingChange::to("ready"), now).await?;
    /// assert_eq!(moved.map(|r| r.pending.stage).as_deref(), Some("ready"));
    /// assert!(store.pending_advance(&id, "awaiting_confirmation", PendingChange::to("ready"), now).await?.is_none());
    /// let late = now + Duration::from_secs(3600);
    /// assert!(store.pending_advance(&id, "ready", PendingChange::to("cancelled"), late).await?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn pending_advance(
        &self,
        id: &str,
        from: &str,
        change: PendingChange,
        now: SystemTime,
    ) -> Result<Option<PendingRow>, StoreError> {
        let _ = (id, from, change, now);
        Err(StoreError::Unsupported {
            what: "pending requests",
        })
    }

    /// Claims the action ledger's idempotency key `key` at `now`, if it is free:
    /// [`Claim::Claimed`] for a key never claimed, or whose last outcome may be claimed again
    /// ([`LedgerStatus::may_claim_again`](crate::LedgerStatus::may_claim_again): a timeout, an
    /// outage), or whose claim is older than `stale_after` without an outcome (its performer
    /// died); [`Claim::AlreadyDone`] with the outcome recorded; [`Claim::InFlight`] while another
    /// claim holds it. Of concurrent claims of one key, exactly one gets `Claimed`.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use stripe_chat_store::{Claim, MemoryStore, Store};
    /// let store = MemoryStore::new();
    /// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000); // kept to the millisecond
    /// let minute = Duration::from_secs(60);
    /// assert_eq!(store.ledger_claim("sc-retry_payment-1", now, minute).await?, Claim::Claimed { attempt: 1 });
    /// assert_eq!(store.ledger_claim("sc-retry_payment-1", now, minute).await?, Claim::InFlight { since: now });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn ledger_claim(
        &self,
        key: &str,
        now: SystemTime,
        stale_after: Duration,
    ) -> Result<Claim, StoreError> {
        let _ = (key, now, stale_after);
        Err(StoreError::Unsupported {
            what: "the action ledger",
        })
    }

    /// Records the outcome of the claim `attempt` of `key`, atomically: `false` (and nothing
    /// written) when that claim no longer holds the key (it went stale and was claimed again).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use stripe_chat_store::{Claim, LedgerOutcome, LedgerStatus, MemoryStore, Store};
    /// let store = MemoryStore::new();
    /// let now = SystemTime::now();
    /// let minute = Duration::from_secs(60);
    /// let Claim::Claimed { attempt } = store.ledger_claim("k", now, minute).await? else { panic!("a new key is free") };
    /// let outcome = LedgerOutcome::new(LedgerStatus::Performed, "succeeded");
    /// assert!(store.ledger_record("k", attempt, outcome.clone(), now).await?);
    /// assert_eq!(store.ledger_claim("k", now, minute).await?, Claim::AlreadyDone(outcome));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn ledger_record(
        &self,
        key: &str,
        attempt: u32,
        outcome: LedgerOutcome,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let _ = (key, attempt, outcome, now);
        Err(StoreError::Unsupported {
            what: "the action ledger",
        })
    }

    /// Records that `person` contacted the customer `customer` at `at` (a contact older than the
    /// one kept changes nothing). Kept until replaced, never pruned.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use std::time::SystemTime;
    /// use stripe_chat_store::{MemoryStore, Store};
    /// let store = MemoryStore::new();
    /// store.contact_record("cus_1", "ana", SystemTime::now()).await?;
    /// assert_eq!(store.last_contact("cus_1").await?.map(|c| c.person).as_deref(), Some("ana"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn contact_record(
        &self,
        customer: &str,
        person: &str,
        at: SystemTime,
    ) -> Result<(), StoreError> {
        let _ = (customer, person, at);
        Err(StoreError::Unsupported { what: "contacts" })
    }

    /// Who contacted the customer `customer` last, and when.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{MemoryStore, Store};
    /// assert!(MemoryStore::new().last_contact("cus_1").await?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn last_contact(&self, customer: &str) -> Result<Option<Contact>, StoreError> {
        let _ = customer;
        Err(StoreError::Unsupported { what: "contacts" })
    }

    /// Assigns the object `object` (`invoice/in_1`) to `assignee`, by `by` at `at`, replacing any
    /// earlier assignment. Kept until replaced, never pruned.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use std::time::SystemTime;
    /// use stripe_chat_store::{MemoryStore, Store};
    /// let store = MemoryStore::new();
    /// store.assignment_set("dispute/dp_1", "bo", "ana", SystemTime::now()).await?;
    /// assert_eq!(store.assignment("dispute/dp_1").await?.map(|a| a.assignee).as_deref(), Some("bo"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn assignment_set(
        &self,
        object: &str,
        assignee: &str,
        by: &str,
        at: SystemTime,
    ) -> Result<(), StoreError> {
        let _ = (object, assignee, by, at);
        Err(StoreError::Unsupported {
            what: "assignments",
        })
    }

    /// Who the object `object` is assigned to.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{MemoryStore, Store};
    /// assert!(MemoryStore::new().assignment("dispute/dp_1").await?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn assignment(&self, object: &str) -> Result<Option<Assignment>, StoreError> {
        let _ = object;
        Err(StoreError::Unsupported {
            what: "assignments",
        })
    }

    /// Gives space that [`prune`](Store::prune) freed back to the file system, at most about
    /// `max_bytes` per call (one short transaction), and returns how many bytes it gave back:
    /// call it until it returns 0. A store may keep some free space for the events to come
    /// ([`SqliteStore`](crate::SqliteStore) keeps up to a quarter of its file). A store without
    /// a file of its own gives nothing back (the default).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{MemoryStore, Store};
    /// assert_eq!(MemoryStore::new().reclaim_space(1 << 20).await?, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    async fn reclaim_space(&self, max_bytes: u64) -> Result<u64, StoreError> {
        let _ = max_bytes;
        Ok(0)
    }
}

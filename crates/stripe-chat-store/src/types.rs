//! The values the [`Store`](crate::Store) takes and returns.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use stripe_chat_message::MessageRef;

/// A verified Stripe event to record, with its exact body.
///
/// ```
/// use std::time::SystemTime;
/// use stripe_chat_store::NewEvent;
/// let event = NewEvent {
///     id: "evt_1".into(),
///     event_type: "invoice.paid".into(),
///     created: 1_700_000_000,
///     livemode: false,
///     account: None,
///     raw: r#"{"id":"evt_1","object":"event"}"#.into(),
///     received_at: SystemTime::now(),
/// };
/// assert_eq!(event.id, "evt_1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The event id (`evt_...`), the deduplication key.
    pub id: String,
    /// The event type (`invoice.paid`).
    pub event_type: String,
    /// The event's `created`, in Unix seconds: orders events on the same object.
    pub created: i64,
    /// The event's `livemode`.
    pub livemode: bool,
    /// The connected account (`acct_...`) for Connect events.
    pub account: Option<String>,
    /// The request body exactly as received (the bytes the signature covers).
    pub raw: String,
    /// When the endpoint received it; new jobs are due from then.
    pub received_at: SystemTime,
}

/// One delivery to create with an event: a destination and the thread key of the Stripe object
/// the message will be about.
///
/// ```
/// use stripe_chat_store::NewJob;
/// let job = NewJob::new("slack-billing").thread_key("invoice/in_123");
/// assert_eq!(job.thread_key.as_deref(), Some("invoice/in_123"));
/// assert!(job.not_before.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// The configured destination's name.
    pub destination: String,
    /// The object the message is about (`invoice/in_123`); jobs with the same destination and
    /// thread key run one at a time and share one stored [`MessageRef`].
    pub thread_key: Option<String>,
    /// Not due before this time (a digest window's end); `None` = due when received.
    pub not_before: Option<SystemTime>,
    /// The digest window this job is collected into, by its key (`route/start/length`, as
    /// `stripe_chat_route::DigestWindow` writes it): pending jobs of the same
    /// destination and digest key are leased together as one [`DigestBatch`] and delivered as
    /// one summary. `None` = delivered on its own.
    pub digest: Option<String>,
}

impl NewJob {
    /// A job for `destination`, without a thread key, due at once.
    ///
    /// ```
    /// assert_eq!(stripe_chat_store::NewJob::new("teams").destination, "teams");
    /// ```
    pub fn new(destination: impl Into<String>) -> Self {
        NewJob {
            destination: destination.into(),
            thread_key: None,
            not_before: None,
            digest: None,
        }
    }

    /// The same job, about the object `key`.
    ///
    /// ```
    /// let job = stripe_chat_store::NewJob::new("slack").thread_key("dispute/dp_1");
    /// assert_eq!(job.thread_key.as_deref(), Some("dispute/dp_1"));
    /// ```
    pub fn thread_key(mut self, key: impl Into<String>) -> Self {
        self.thread_key = Some(key.into());
        self
    }

    /// The same job, not due before `at`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let at = SystemTime::UNIX_EPOCH + Duration::from_secs(60);
    /// assert_eq!(stripe_chat_store::NewJob::new("digest").not_before(at).not_before, Some(at));
    /// ```
    pub fn not_before(mut self, at: SystemTime) -> Self {
        self.not_before = Some(at);
        self
    }

    /// The same job, collected into the digest `key` (usually with [`NewJob::not_before`] at the
    /// end of the digest's window).
    ///
    /// ```
    /// let job = stripe_chat_store::NewJob::new("slack").digest("billing/1700000000/900");
    /// assert_eq!(job.digest.as_deref(), Some("billing/1700000000/900"));
    /// ```
    pub fn digest(mut self, key: impl Into<String>) -> Self {
        self.digest = Some(key.into());
        self
    }
}

/// What [`Store::ingest`](crate::Store::ingest) did.
///
/// ```
/// let done = stripe_chat_store::Ingested { duplicate: false, jobs_created: 2 };
/// assert!(!done.duplicate);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ingested {
    /// The event id was already stored: nothing was written (answer 2xx all the same).
    pub duplicate: bool,
    /// How many jobs were created (0 for a duplicate).
    pub jobs_created: usize,
}

/// A job's id: stable, never reused, shown by `dlq list` and accepted by `dlq retry`.
///
/// ```
/// use stripe_chat_store::JobId;
/// let id: JobId = "42".parse()?;
/// assert_eq!(id, JobId(42));
/// assert_eq!(id.to_string(), "42");
/// # Ok::<(), std::num::ParseIntError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for JobId {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(JobId)
    }
}

/// Proof of one lease of one job: it changes every time the job is leased, so the result of a
/// worker whose lease expired (and whose job was leased again) is refused.
///
/// ```
/// use stripe_chat_store::LeaseToken;
/// assert_ne!(LeaseToken(1), LeaseToken(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseToken(pub i64);

/// The state of a job.
///
/// ```
/// use stripe_chat_store::JobState;
/// assert_eq!(JobState::Dead.as_str(), "dead");
/// assert_eq!("pending".parse::<JobState>(), Ok(JobState::Pending));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobState {
    /// Waiting until it is due and a worker leases it.
    Pending,
    /// A worker holds it until its lease ends.
    Leased,
    /// Delivered (or nothing had to be said).
    Delivered,
    /// Given up on: in the dead-letter queue until retried.
    Dead,
    /// Cancelled before it ran, with a reason (folded into a digest, or made moot by a newer event).
    Superseded,
}

impl JobState {
    /// The lowercase name, as stored and serialized.
    ///
    /// ```
    /// assert_eq!(stripe_chat_store::JobState::Superseded.as_str(), "superseded");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Leased => "leased",
            JobState::Delivered => "delivered",
            JobState::Dead => "dead",
            JobState::Superseded => "superseded",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = UnknownJobState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(JobState::Pending),
            "leased" => Ok(JobState::Leased),
            "delivered" => Ok(JobState::Delivered),
            "dead" => Ok(JobState::Dead),
            "superseded" => Ok(JobState::Superseded),
            _ => Err(UnknownJobState),
        }
    }
}

/// A string that names no [`JobState`].
///
/// ```
/// assert!("lost".parse::<stripe_chat_store::JobState>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown job state")]
pub struct UnknownJobState;

/// A stored event, as ingested.
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// use stripe_chat_store::{MemoryStore, NewEvent, Store};
/// let store = MemoryStore::new();
/// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
/// store.ingest(event, vec![]).await?;
/// let stored = store.event("evt_1").await?.ok_or("missing")?;
/// assert_eq!(stored.event_type, "invoice.paid");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The event id (`evt_...`).
    pub id: String,
    /// The event type.
    pub event_type: String,
    /// The event's `created`, in Unix seconds.
    pub created: i64,
    /// The event's `livemode`.
    pub livemode: bool,
    /// The connected account, for Connect events.
    pub account: Option<String>,
    /// The body exactly as received.
    pub raw: String,
    /// When it was received (millisecond precision).
    pub received_at: SystemTime,
}

/// The message shown for one Stripe object in one destination, and which event it shows.
///
/// ```
/// use stripe_chat_message::MessageRef;
/// use stripe_chat_store::StoredRef;
/// let r = StoredRef { message_ref: MessageRef::new("slack", "1.2"), event_created: 10, event_id: "evt_1".into() };
/// assert_eq!(r.event_created, 10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRef {
    /// Where the message is.
    pub message_ref: MessageRef,
    /// The `created` of the event the message shows.
    pub event_created: i64,
    /// The id of the event the message shows.
    pub event_id: String,
}

/// A job leased to a worker, with everything needed to deliver it.
///
/// `attempt` counts leases, this one included: a worker that died used up an attempt, so a job
/// that crashes its worker cannot loop forever. A worker should dead-letter a job whose `attempt`
/// exceeds its limit without running it.
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// use std::time::{Duration, SystemTime};
/// use stripe_chat_store::{MemoryStore, NewJob, Store};
/// let store = MemoryStore::new();
/// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
/// store.ingest(event, vec![NewJob::new("slack").thread_key("invoice/in_1")]).await?;
/// let jobs = store.lease("worker-1", 10, Duration::from_secs(60), SystemTime::now()).await?;
/// assert_eq!(jobs[0].attempt, 1);
/// assert_eq!(jobs[0].event.id, "evt_1");
/// assert!(jobs[0].current_ref.is_none());
/// assert_eq!(jobs[0].others_queued, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeasedJob {
    /// The job.
    pub job_id: JobId,
    /// Presented back with the outcome; refused once the lease is lost.
    pub token: LeaseToken,
    /// The destination to deliver to.
    pub destination: String,
    /// The object the message is about.
    pub thread_key: Option<String>,
    /// Which lease of this job this is, starting at 1 (leases given back with
    /// [`Store::defer`](crate::Store::defer) do not count).
    pub attempt: u32,
    /// The lease ends then; after it another worker may lease the job.
    pub lease_until: SystemTime,
    /// When the job was queued: its event's `received_at`, or the `now` of the dead-letter
    /// retry or replay that moved it back to pending. A delivery horizon counts from here.
    pub queued_at: SystemTime,
    /// The event to deliver.
    pub event: StoredEvent,
    /// The message already shown for `(destination, thread_key)`, if any: update it when
    /// `event.created` is not older than its `event_created`.
    pub current_ref: Option<StoredRef>,
    /// How many other unfinished (pending or leased) jobs of its destination and thread key
    /// there were when it was leased; 0 for a job without a thread key or of a digest. While it
    /// is 0 and the lease is fresh, no later event about its object was queued: what
    /// [`Store::queued_jobs`](crate::Store::queued_jobs) would say, without asking.
    pub others_queued: usize,
    /// For a digest job: every job of its digest leased with it (this one included). The
    /// outcome reported for this lease applies to all of them.
    pub digest: Option<DigestBatch>,
}

/// The jobs of one digest (same destination and digest key) leased together: their summary is
/// delivered once, and [`Store::complete`](crate::Store::complete),
/// [`Store::retry`](crate::Store::retry) and [`Store::dead_letter`](crate::Store::dead_letter)
/// on the lease that carries the batch apply to every job in it, atomically.
///
/// A lease takes every due pending job of the digest, up to [`DigestBatch::MAX_JOBS`]; a job of
/// the digest that arrives while the batch is leased waits until the batch's outcome is
/// recorded, then forms a batch of its own.
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// use std::time::{Duration, SystemTime};
/// use stripe_chat_store::{Delivered, MemoryStore, NewJob, Store};
/// let store = MemoryStore::new();
/// let now = SystemTime::now();
/// for id in ["evt_1", "evt_2", "evt_3"] {
///     # let event = stripe_chat_store::NewEvent { id: id.into(), event_type: "charge.succeeded".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: now };
///     store.ingest(event, vec![NewJob::new("slack").digest("sales/1700000000/60").not_before(now)]).await?;
/// }
/// let leased = store.lease("w", 8, Duration::from_secs(60), now).await?;
/// assert_eq!(leased.len(), 1, "one lease for the whole digest");
/// let batch = leased[0].digest.as_ref().ok_or("a digest")?;
/// assert_eq!(batch.jobs.len(), 3);
/// store.complete(&leased[0], Delivered::nothing()).await?;
/// assert_eq!(store.stats().await?.delivered, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestBatch {
    /// The digest key the jobs share.
    pub key: String,
    /// The jobs, in job id order, the lease's own job included.
    pub jobs: Vec<DigestMember>,
}

impl DigestBatch {
    /// The most jobs one lease of a digest takes; a larger digest is delivered in several
    /// batches.
    ///
    /// ```
    /// assert!(stripe_chat_store::DigestBatch::MAX_JOBS >= 1000);
    /// ```
    pub const MAX_JOBS: usize = 2000;

    /// The events of the batch, in job id order.
    ///
    /// ```
    /// let batch = stripe_chat_store::DigestBatch { key: "k".into(), jobs: Vec::new() };
    /// assert_eq!(batch.events().count(), 0);
    /// ```
    pub fn events(&self) -> impl Iterator<Item = &StoredEvent> {
        self.jobs.iter().map(|j| &j.event)
    }
}

/// One job of a [`DigestBatch`], with its own lease token.
///
/// ```
/// use std::time::SystemTime;
/// use stripe_chat_store::{DigestMember, JobId, LeaseToken, StoredEvent};
/// let event = StoredEvent { id: "evt_1".into(), event_type: "charge.succeeded".into(), created: 1, livemode: false, account: None, raw: "{}".into(), received_at: SystemTime::UNIX_EPOCH };
/// let member = DigestMember { job_id: JobId(1), token: LeaseToken(1), event };
/// assert_eq!(member.event.id, "evt_1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestMember {
    /// The job.
    pub job_id: JobId,
    /// Its lease token.
    pub token: LeaseToken,
    /// Its event.
    pub event: StoredEvent,
}

/// A successful delivery, reported with [`Store::complete`](crate::Store::complete).
///
/// ```
/// use stripe_chat_store::Delivered;
/// assert!(Delivered::nothing().message_ref.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The message that now shows the event (`None`: nothing was posted, or it cannot be
    /// addressed later).
    pub message_ref: Option<MessageRef>,
    /// The object the message is about; the ref is stored under it.
    pub thread_key: Option<String>,
}

impl Delivered {
    /// The job's event is shown by `message_ref`, under the job's thread key.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use stripe_chat_message::MessageRef;
    /// use stripe_chat_store::{Delivered, MemoryStore, NewJob, RefUpdate, Store};
    /// let store = MemoryStore::new();
    /// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
    /// store.ingest(event, vec![NewJob::new("slack").thread_key("invoice/in_1")]).await?;
    /// let job = store.lease("w", 1, Duration::from_secs(60), SystemTime::now()).await?.remove(0);
    /// let sent = MessageRef::new("slack", "1.2").in_channel("C1");
    /// let outcome = store.complete(&job, Delivered::message(&job, sent)).await?;
    /// assert_eq!(outcome, RefUpdate::Stored);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn message(job: &LeasedJob, message_ref: MessageRef) -> Self {
        Delivered {
            message_ref: Some(message_ref),
            thread_key: job.thread_key.clone(),
        }
    }

    /// Nothing to remember: the transformer had nothing to say, or the message has no thread.
    ///
    /// ```
    /// assert!(stripe_chat_store::Delivered::nothing().thread_key.is_none());
    /// ```
    pub fn nothing() -> Self {
        Delivered {
            message_ref: None,
            thread_key: None,
        }
    }
}

/// What became of a leased job, as [`Store::settle`](crate::Store::settle) records it for several
/// jobs at once: each variant does what its own method does.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use stripe_chat_store::{Delivered, Outcome};
/// let outcomes = [
///     Outcome::Complete(Delivered::nothing()),
///     Outcome::Retry { at: SystemTime::now() + Duration::from_secs(30), error: "slack answered 503".into() },
///     Outcome::Defer { at: SystemTime::now() },
///     Outcome::DeadLetter { error: "permanent: channel_not_found".into() },
/// ];
/// assert!(matches!(outcomes[0], Outcome::Complete(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Delivered, as [`Store::complete`](crate::Store::complete).
    Complete(Delivered),
    /// Put back, due at `at`, recording `error`, as [`Store::retry`](crate::Store::retry).
    Retry {
        /// When the job is due again.
        at: SystemTime,
        /// What failed (never an event body or a secret).
        error: String,
    },
    /// Put back, due at `at`, without spending the attempt, as
    /// [`Store::defer`](crate::Store::defer).
    Defer {
        /// When the job is due again.
        at: SystemTime,
    },
    /// Given up on, as [`Store::dead_letter`](crate::Store::dead_letter).
    DeadLetter {
        /// Why (never an event body or a secret).
        error: String,
    },
}

/// What [`Store::complete`](crate::Store::complete) did with the message ref.
///
/// ```
/// use stripe_chat_store::RefUpdate;
/// assert!(RefUpdate::Stored.is_stored());
/// assert!(!RefUpdate::NotStored.is_stored());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefUpdate {
    /// The ref now points at this delivery's message and event.
    Stored,
    /// A ref for a newer event (by `created`) was already stored and was kept: this delivery
    /// showed an older state. The caller may want to restore the newer message.
    KeptNewer(StoredRef),
    /// No ref was given, or no thread key.
    NotStored,
}

impl RefUpdate {
    /// Whether the ref was stored.
    ///
    /// ```
    /// use stripe_chat_message::MessageRef;
    /// use stripe_chat_store::{RefUpdate, StoredRef};
    /// let newer = StoredRef { message_ref: MessageRef::new("slack", "1"), event_created: 9, event_id: "evt_9".into() };
    /// assert!(!RefUpdate::KeptNewer(newer).is_stored());
    /// ```
    pub fn is_stored(&self) -> bool {
        matches!(self, RefUpdate::Stored)
    }
}

/// A job as listed by [`Store::dlq_list`](crate::Store::dlq_list) and
/// [`Store::queued_jobs`](crate::Store::queued_jobs).
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// use stripe_chat_store::{JobState, MemoryStore, NewJob, Store};
/// let store = MemoryStore::new();
/// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
/// store.ingest(event, vec![NewJob::new("slack").thread_key("invoice/in_1")]).await?;
/// let queued = store.queued_jobs("slack", "invoice/in_1").await?;
/// assert_eq!(queued[0].state, JobState::Pending);
/// assert_eq!(queued[0].event_type, "invoice.paid");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobInfo {
    /// The job.
    pub id: JobId,
    /// Its event.
    pub event_id: String,
    /// Its event's type.
    pub event_type: String,
    /// Its event's `created`.
    pub event_created: i64,
    /// Its destination.
    pub destination: String,
    /// Its thread key.
    pub thread_key: Option<String>,
    /// Its digest key.
    pub digest: Option<String>,
    /// Its state.
    pub state: JobState,
    /// How many times it was leased since it was created or last retried from the DLQ.
    pub attempts: u32,
    /// Not due before this time.
    pub not_before: SystemTime,
    /// The last failure, or why it was superseded.
    pub last_error: Option<String>,
    /// When its state last changed.
    pub updated_at: SystemTime,
}

/// Which dead-lettered jobs [`Store::dlq_retry`](crate::Store::dlq_retry) makes pending again.
///
/// ```
/// use stripe_chat_store::{DlqTarget, JobId};
/// let one = DlqTarget::Job(JobId(3));
/// assert_ne!(one, DlqTarget::All);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DlqTarget {
    /// This job.
    Job(JobId),
    /// Every dead job.
    All,
}

/// Job counts by state, for metrics.
///
/// ```
/// let stats = stripe_chat_store::Stats::default();
/// assert_eq!(stats.pending + stats.leased, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Waiting (due or not yet due).
    pub pending: u64,
    /// Held by a worker (including leases that expired and were not yet taken back).
    pub leased: u64,
    /// In the dead-letter queue.
    pub dead: u64,
    /// Delivered and not yet pruned.
    pub delivered: u64,
    /// Superseded and not yet pruned.
    pub superseded: u64,
}

/// The unfinished (pending or leased) jobs of one destination, for metrics:
/// [`Store::backlog`](crate::Store::backlog).
///
/// ```
/// let b = stripe_chat_store::Backlog { destination: "slack".into(), queued: 0, oldest_queued_at: None };
/// assert_eq!(b.queued, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backlog {
    /// The destination.
    pub destination: String,
    /// Its pending and leased jobs.
    pub queued: u64,
    /// When the oldest of them was queued.
    pub oldest_queued_at: Option<SystemTime>,
}

/// Which due jobs a [`Store::lease_where`](crate::Store::lease_where) may take: every
/// destination (the default), every destination but some (those paused by a circuit breaker),
/// or one destination only (a probe of a paused one).
///
/// ```
/// use stripe_chat_store::LeaseFilter;
/// assert!(LeaseFilter::all().admits("slack"));
/// let paused = LeaseFilter::all().skip(["slack"]);
/// assert!(!paused.admits("slack") && paused.admits("teams"));
/// assert!(!LeaseFilter::only("slack").admits("teams"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseFilter {
    skip: Vec<String>,
    only: Option<String>,
}

impl LeaseFilter {
    /// Every destination.
    ///
    /// ```
    /// assert!(stripe_chat_store::LeaseFilter::all().is_all());
    /// ```
    pub fn all() -> Self {
        LeaseFilter::default()
    }

    /// Only `destination`'s jobs.
    ///
    /// ```
    /// assert!(stripe_chat_store::LeaseFilter::only("slack").admits("slack"));
    /// ```
    pub fn only(destination: impl Into<String>) -> Self {
        LeaseFilter {
            skip: Vec::new(),
            only: Some(destination.into()),
        }
    }

    /// Not these destinations' jobs as well.
    ///
    /// ```
    /// let f = stripe_chat_store::LeaseFilter::all().skip(["a", "b"]);
    /// assert!(!f.admits("b"));
    /// ```
    #[must_use]
    pub fn skip<I, S>(mut self, destinations: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.skip.extend(destinations.into_iter().map(Into::into));
        self
    }

    /// Whether it takes every destination's jobs.
    ///
    /// ```
    /// assert!(!stripe_chat_store::LeaseFilter::only("x").is_all());
    /// ```
    pub fn is_all(&self) -> bool {
        self.skip.is_empty() && self.only.is_none()
    }

    /// Whether `destination`'s jobs may be taken.
    ///
    /// ```
    /// assert!(stripe_chat_store::LeaseFilter::all().admits("anything"));
    /// ```
    pub fn admits(&self, destination: &str) -> bool {
        self.only.as_deref().is_none_or(|only| only == destination)
            && !self.skip.iter().any(|s| s == destination)
    }

    /// The destination it is limited to, if any.
    ///
    /// ```
    /// assert_eq!(stripe_chat_store::LeaseFilter::only("x").only_destination(), Some("x"));
    /// ```
    pub fn only_destination(&self) -> Option<&str> {
        self.only.as_deref()
    }

    /// The destinations it leaves out.
    ///
    /// ```
    /// assert_eq!(stripe_chat_store::LeaseFilter::all().skip(["x"]).skipped(), ["x".to_string()]);
    /// ```
    pub fn skipped(&self) -> &[String] {
        &self.skip
    }
}

/// One record of the audit log as stored: its number (from 1), the previous record's hash and
/// its own (hex), and its body (canonical JSON), byte for byte. The store keeps rows; the hashing
/// and signing are `stripe-chat-audit`'s.
///
/// ```
/// let row = stripe_chat_store::AuditRow { seq: 1, prev_hash: "00".repeat(32), hash: "ab".repeat(32), body: "{}".into() };
/// assert_eq!(row.seq, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Its number, from 1, without gaps.
    pub seq: u64,
    /// The previous record's hash.
    pub prev_hash: String,
    /// Its hash.
    pub hash: String,
    /// The entry, as canonical JSON.
    pub body: String,
}

/// A signed checkpoint of the audit log as stored: the log's size when it was signed and the
/// signed note's text.
///
/// ```
/// let row = stripe_chat_store::AuditCheckpointRow { size: 10, note: "…".into() };
/// assert_eq!(row.size, 10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCheckpointRow {
    /// How many records the log had.
    pub size: u64,
    /// The signed note.
    pub note: String,
}

/// What [`Store::prune`](crate::Store::prune) deleted.
///
/// ```
/// let p = stripe_chat_store::Pruned::default();
/// assert_eq!(p.jobs + p.events + p.refs, 0);
/// assert!(p.is_empty());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Finished (delivered or superseded) jobs deleted.
    pub jobs: usize,
    /// Events deleted (they had no job left).
    pub events: usize,
    /// Message refs deleted (their object had no message stored since, and no job left).
    pub refs: usize,
    /// Rows of acting from chat deleted: interaction ids seen before the cutoff, pending
    /// requests expired before it, and ledger rows whose outcome was recorded before it (a
    /// claim still in flight stays). Contacts and assignments are never pruned.
    pub actions: usize,
    /// The call stopped after looking at as many kept rows as it may in one transaction (the
    /// events and refs of many dead letters): there may be more to delete beyond them, and the
    /// next call goes on from there.
    pub unfinished: bool,
}

impl Pruned {
    /// Whether the call found nothing left to do: it deleted nothing and was not
    /// [`unfinished`](Pruned::unfinished). Callers prune until it is.
    ///
    /// ```
    /// let p = stripe_chat_store::Pruned { refs: 1, ..Default::default() };
    /// assert!(!p.is_empty());
    /// let looked_only = stripe_chat_store::Pruned { unfinished: true, ..Default::default() };
    /// assert!(!looked_only.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.jobs == 0
            && self.events == 0
            && self.refs == 0
            && self.actions == 0
            && !self.unfinished
    }
}

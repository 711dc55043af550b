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
    /// Which lease of this job this is, starting at 1.
    pub attempt: u32,
    /// The lease ends then; after it another worker may lease the job.
    pub lease_until: SystemTime,
    /// The event to deliver.
    pub event: StoredEvent,
    /// The message already shown for `(destination, thread_key)`, if any: update it when
    /// `event.created` is not older than its `event_created`.
    pub current_ref: Option<StoredRef>,
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

/// What [`Store::prune`](crate::Store::prune) deleted.
///
/// ```
/// let p = stripe_chat_store::Pruned::default();
/// assert_eq!(p.jobs + p.events, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Finished (delivered or superseded) jobs deleted.
    pub jobs: usize,
    /// Events deleted (they had no job left).
    pub events: usize,
}

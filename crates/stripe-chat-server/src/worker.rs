//! Delivery workers: lease due jobs, run transform → redact → adapter, record the outcome.
//!
//! For each leased job a worker:
//! 1. dead-letters it when its attempts are used up (a worker that died used one too);
//! 2. parses the stored event (a stored body that is not an event completes with nothing);
//! 3. **inhibits** a notice that the event catalog says a later event cancels
//!    ([`catalog::cancelled_by`]: a payment failure once the payment has succeeded) when such an
//!    event about the same object, not older, is queued or already shown: the notice is
//!    completed with nothing and counted (`outcome="inhibited"`). The object's queue is looked up
//!    in the store, unless the job starts within 10 ms of its lease and the lease saw no other
//!    job of the object ([`LeasedJob::others_queued`]);
//! 4. **enriches** it when `[enrich]` is on (or an [`Enricher`] was given): what the event
//!    leaves out (decline reason, card, customer, plan, last contact) is read from Stripe
//!    within `[enrich] timeout_ms`, cached and paced; when Stripe is slow, failing or refuses
//!    the key the message goes out as it would without enrichment, marked "details
//!    unavailable", never later than the timeout;
//! 5. transforms it with the engine's transformer registry (the built-ins unless the caller gave
//!    its own; `None`: nothing to say, completed with nothing) and redacts the message with the
//!    destination's policy (the one its `redaction` key configures unless the caller gave another,
//!    see [`DeliveryBuilder`]);
//! 6. waits for the destination's **gate**: a pacing limiter (`max_per_second`; Slack defaults to
//!    1/s, so it never answers 429 at steady state) that a rate-limited answer also closes until
//!    the platform's `Retry-After` has passed, for every job of that destination;
//! 7. **updates** the object's message in place when one is stored, the adapter can edit, and the
//!    event is not older than the one shown — then, with `thread_replies` on a threading adapter,
//!    adds a short reply (title and summary) in its thread — or else **sends** a new message; an
//!    event older than the message shown is not posted over it (a thread reply when
//!    `thread_replies` is on, nothing otherwise: `outcome="stale"`);
//! 8. records the outcome: `complete` with the message ref; rate-limited → due again exactly
//!    `Retry-After` later, without spending an attempt; transient → exponential backoff with
//!    jitter (`initial_backoff_ms · 2^(attempt-1)`, at most `max_backoff_ms`, the upper half
//!    randomised); permanent, unauthorized or unsupported → dead-letter; a transient failure
//!    once the job's **retry horizon** (`[delivery] retry_horizon`, 72 h by default, counted
//!    from when the job was queued) has passed → dead-letter; attempts used up while the
//!    destination works for other jobs → dead-letter.
//!
//! **Recording outcomes**: a worker records the outcomes it has decided together, in one store
//! request ([`Store::settle`]), once it has gone through its lease, before it waits for a
//! destination's pace, and before it starts a job once the first unrecorded one started 10 ms
//! ago. So quick deliveries (a file) cost one request per lease instead of one per job, and a
//! chat platform's answers, which take longer, are recorded one by one as they come: a worker
//! that dies loses at most the outcomes of its last few milliseconds (those jobs are delivered
//! again when their leases end, as a job whose worker died always is). Until its outcome is
//! recorded a job keeps its lease, so its object's next event waits for it.
//!
//! **Outages**: each destination has a circuit [`Breaker`]. After `pause_after_failures`
//! transient failures in a row the destination is **paused**: its jobs are left out of every
//! lease ([`LeaseFilter`]), so they neither make requests nor spend attempts, and a job already
//! leased is put back as it is ([`Store::defer`]). One worker at a time **probes** it with its
//! oldest due job, on a backoff that starts at `initial_backoff_ms`, doubles per failed probe
//! and never exceeds a minute (nor `max_backoff_ms`). The first delivery that succeeds resumes
//! it; its backlog then drains at its own pace (the gate), oldest first per object. One log line
//! says when a destination is paused and one when it is resumed; `/metrics` shows its state,
//! backlog and the age of its oldest queued job. While the backlog drains, a late job about an
//! object whose newer event is queued too is **collapsed** into it when the destination edits
//! messages (the newest state is shown once; `outcome="collapsed"`), and a message sent more
//! than `late_note_after` (2 minutes by default) after its job was queued says so in its footer
//! ("Delayed 2 h 14 min by a Slack outage").
//!
//! **Digests**: a route with `digest = { window = "15m", top = 3 }` does not post its events one
//! by one. At ingest each of its jobs gets the digest key of the route's current window
//! (`route/window start/window length`, windows aligned to the clock) and is due a second after
//! the window ends ([`crate::ingest::DIGEST_SETTLE`]). The store then leases all due jobs of one
//! (destination, digest key) together as one batch; the worker builds one summary from their
//! events ([`stripe_chat_transform::digest::summarize`]: count, total per currency, event types,
//! the largest few with their Dashboard links, a link to the Dashboard's event list), redacts it
//! with the destination's policy, waits for the gate, sends it once, and records one outcome for
//! the whole batch: delivered, retried or dead-lettered together (`outcome="digested"` counts
//! summaries). A summary never updates an object's message and never inhibits.
//!
//! Idle workers wait for a wake-up from the webhook endpoint or 100 ms, whichever comes first; a
//! woken worker waits 10 ms more before leasing, so that one lease takes the events that arrived
//! meanwhile. A worker leases 8 jobs at a time, twice as many after a full lease it went through
//! within 50 ms (up to 64: a backlog of quick deliveries costs fewer leases), and 8 again after
//! any other lease, so that slow deliveries stay spread over the workers, and while webhooks are
//! being acknowledged: the store's one writer commits both, and acknowledgements come first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use stripe_chat_enrich::{ApiReader, ContactHistory, Enricher};
use stripe_chat_events::{StripeEvent, catalog};
use stripe_chat_message::{ChatMessage, DeliveryError, ErrorKind, IdempotencyKey};
use stripe_chat_pipeline::Pipeline;
use stripe_chat_redact::{DefaultPolicy, RedactionPolicy};
use stripe_chat_route::{Digest, DigestWindow, Routes};
use stripe_chat_store::{
    Delivered, DigestBatch, JobInfo, LeaseFilter, LeasedJob, Outcome, RefUpdate, Store, StoreError,
};
use stripe_chat_stripe::{Client, RateLimiter, Retry};
use stripe_chat_transform::Registry;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::breaker::{Admission, Breaker, BreakerSettings, Change};
use crate::config::{DeliverySection, Destination, ServiceConfig};
use crate::contacts::StoreContacts;
use crate::metrics::Metrics;

/// How many jobs a worker leases at once, at first and whenever its deliveries are slow.
const LEASE_MIN: usize = 8;
/// The most jobs a worker leases at once, after full leases of quick deliveries.
const LEASE_MAX: usize = 64;
/// A full lease gone through within this long is followed by a larger one.
const QUICK_LEASE: Duration = Duration::from_millis(50);
/// How long a worker's decided outcomes may wait before it records them, counted from the start
/// of the first: quick jobs are recorded a lease at a time, slow ones one by one (see [`Ledger`]).
const RECORD_AFTER: Duration = Duration::from_millis(10);
/// How long what a lease saw of a job's object (no other job of it queued) stands in for asking
/// the store again: the object's queue is looked at for inhibition and collapsing, and a job
/// started this soon after its lease is looked at as of the lease.
const FRESH_LEASE: Duration = Duration::from_millis(10);
/// How long an idle worker sleeps when nothing wakes it.
const IDLE: Duration = Duration::from_millis(100);
/// How long a worker woken by a new event waits before leasing, so that the events arriving
/// meanwhile are leased with it: at a steady rate one lease then takes several jobs instead of
/// one, and fewer idle workers are woken. Short beside any chat platform's own latency.
const GATHER: Duration = Duration::from_millis(10);
/// A job is not started when its lease would end within this margin (or a quarter of the lease,
/// when that is shorter).
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// The longest wait between two probes of a paused destination: recovery is noticed within it.
const MAX_PROBE_WAIT: Duration = Duration::from_secs(60);

/// Paces one destination: at most one message per `interval`, and none before `next`.
#[derive(Debug)]
struct Gate {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Gate {
    fn new(max_per_second: Option<f64>) -> Self {
        let interval = max_per_second
            .filter(|r| r.is_finite() && *r > 0.0)
            .map_or(Duration::ZERO, |r| Duration::from_secs_f64(1.0 / r));
        Gate {
            interval,
            next: Mutex::new(Instant::now()),
        }
    }

    /// When the next message may go, without reserving it.
    fn next_free(&self) -> Instant {
        let next = self.next.lock().map_or_else(|_| Instant::now(), |n| *n);
        next.max(Instant::now())
    }

    /// Reserves the next slot and returns when it starts.
    fn reserve(&self) -> Instant {
        let now = Instant::now();
        match self.next.lock() {
            Ok(mut next) => {
                let at = (*next).max(now);
                *next = at + self.interval;
                at
            }
            Err(_) => now,
        }
    }

    /// No message before `until` (the platform asked to wait).
    fn pause_until(&self, until: Instant) {
        if let Ok(mut next) = self.next.lock()
            && until > *next
        {
            *next = until;
        }
    }
}

struct Target {
    destination: Destination,
    /// The transformers, then the destination's redaction policy.
    pipeline: Pipeline,
    gate: Gate,
    breaker: Mutex<Breaker>,
    horizon: Duration,
}

impl Target {
    fn breaker<T>(&self, f: impl FnOnce(&mut Breaker) -> T) -> T {
        let mut breaker = self
            .breaker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut breaker)
    }

    /// Whether `job` was queued longer ago than the destination's retry horizon.
    fn beyond_horizon(&self, job: &LeasedJob) -> bool {
        job.queued_at
            .elapsed()
            .is_ok_and(|queued_for| queued_for >= self.horizon)
    }
}

/// Waits until `at`. A time that has come takes no timer (a timer would wait for the runtime's
/// next millisecond tick): an unpaced destination's slot is always due.
async fn until(at: Instant) {
    if at > Instant::now() {
        tokio::time::sleep_until(at).await;
    }
}

/// `until` on the wall clock.
fn wall(until: Instant) -> SystemTime {
    SystemTime::now() + until.saturating_duration_since(Instant::now())
}

/// The delivery side of the service: the workers and what they share.
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// # rt.block_on(async {
/// use std::sync::Arc;
/// use stripe_chat_server::config::ServiceConfig;
/// use stripe_chat_server::metrics::Metrics;
/// use stripe_chat_server::worker::Delivery;
/// use stripe_chat_store::{MemoryStore, Store};
///
/// let config = ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
/// let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
/// let delivery = Delivery::new(&config, store, Arc::new(Metrics::default()), Arc::new(tokio::sync::Notify::new()));
/// let (stop, stopped) = tokio::sync::watch::channel(false);
/// let mut workers = delivery.spawn(stopped);
/// stop.send(true)?;
/// while workers.join_next().await.is_some() {}
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Delivery(Arc<Shared>);

struct Shared {
    store: Arc<dyn Store>,
    routes: Routes,
    targets: HashMap<String, Target>,
    settings: DeliverySection,
    metrics: Arc<Metrics>,
    wake: Arc<Notify>,
    enricher: Option<Arc<Enricher>>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("destinations", &self.0.targets.len())
            .field("settings", &self.0.settings)
            .field("enricher", &self.0.enricher)
            .finish_non_exhaustive()
    }
}

impl Delivery {
    /// Workers for `config`'s destinations over `store`, counting into `metrics`, woken by `wake`,
    /// with the built-in transformers and each destination's configured redaction policy
    /// (see [`Delivery::builder`] for your own).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let delivery = stripe_chat_server::worker::Delivery::new(&config,
    ///     Arc::new(stripe_chat_store::MemoryStore::new()), Arc::default(), Arc::default());
    /// # let _ = delivery;
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn new(
        config: &ServiceConfig,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        wake: Arc<Notify>,
    ) -> Self {
        Delivery::builder(config).build(store, metrics, wake)
    }

    /// A builder of workers for `config`'s destinations, to give them your own transformers and
    /// redaction policies.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use stripe_chat_events::StripeEvent;
    /// use stripe_chat_message::ChatMessage;
    /// use stripe_chat_transform::{Registry, TransformError};
    ///
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let mut transformers = Registry::with_builtins();
    /// transformers.register("payout.*", |event: &StripeEvent| -> Result<Option<ChatMessage>, TransformError> {
    ///     Ok(Some(ChatMessage::new(format!("Payout update: {}", event.event_type()))))
    /// });
    /// let delivery = stripe_chat_server::worker::Delivery::builder(&config)
    ///     .transformers(transformers)
    ///     .build(Arc::new(stripe_chat_store::MemoryStore::new()), Arc::default(), Arc::default());
    /// # let _ = delivery;
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn builder(config: &ServiceConfig) -> DeliveryBuilder<'_> {
        DeliveryBuilder {
            config,
            transformers: None,
            redaction: None,
            enricher: None,
            rate_limiter: None,
            contacts: None,
        }
    }

    /// The enricher the workers use, when enrichment is on: its
    /// [`rate_limiter`](Enricher::rate_limiter) is the one to give the clients of chat actions
    /// so that both stay within `[enrich] max_calls_per_second`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let delivery = stripe_chat_server::worker::Delivery::new(&config,
    ///     Arc::new(stripe_chat_store::MemoryStore::new()), Arc::default(), Arc::default());
    /// assert!(delivery.enricher().is_none()); // [enrich] is off by default
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn enricher(&self) -> Option<&Arc<Enricher>> {
        self.0.enricher.as_ref()
    }

    /// Starts `delivery.workers` workers. They stop after their current job once `stop` turns
    /// true (or its sender is dropped).
    ///
    /// ```no_run
    /// # async fn f(delivery: stripe_chat_server::worker::Delivery) {
    /// let (stop, stopped) = tokio::sync::watch::channel(false);
    /// let mut workers = delivery.spawn(stopped);
    /// let _ = stop.send(true);
    /// while workers.join_next().await.is_some() {}
    /// # }
    /// ```
    pub fn spawn(&self, stop: watch::Receiver<bool>) -> JoinSet<()> {
        let mut set = JoinSet::new();
        for i in 0..self.0.settings.workers {
            let shared = Arc::clone(&self.0);
            let stop = stop.clone();
            let name = format!("worker-{}-{i}", std::process::id());
            set.spawn(async move { shared.run(name, stop).await });
        }
        set
    }
}

/// The policy a destination's messages are redacted with.
type PolicyFor<'a> = dyn Fn(&Destination) -> Arc<dyn RedactionPolicy> + 'a;

/// Builds a [`Delivery`] that runs your code: your transformers instead of the built-in registry,
/// your redaction policy for some or every destination. What is not given stays as configured.
///
/// ```
/// # use std::sync::Arc;
/// use stripe_chat_message::ChatMessage;
/// use stripe_chat_redact::{DefaultPolicy, RedactionPolicy};
/// use stripe_chat_server::config::Destination;
/// use stripe_chat_transform::Registry;
///
/// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
/// // The configured policy of each destination, then one rule of ours for the "partners" room.
/// let strip_tags = |mut message: ChatMessage| { message.tags.clear(); message };
/// let delivery = stripe_chat_server::worker::Delivery::builder(&config)
///     .transformers(Registry::with_builtins())
///     .redaction(move |destination: &Destination| -> Arc<dyn RedactionPolicy> {
///         let configured = DefaultPolicy::from_config(&destination.redaction);
///         if destination.name == "partners" {
///             Arc::new(configured.then(strip_tags))
///         } else {
///             Arc::new(configured)
///         }
///     })
///     .build(Arc::new(stripe_chat_store::MemoryStore::new()), Arc::default(), Arc::default());
/// # let _ = delivery;
/// # Ok::<(), stripe_chat_server::config::ConfigError>(())
/// ```
pub struct DeliveryBuilder<'a> {
    config: &'a ServiceConfig,
    transformers: Option<Registry>,
    redaction: Option<Box<PolicyFor<'a>>>,
    enricher: Option<Arc<Enricher>>,
    rate_limiter: Option<RateLimiter>,
    contacts: Option<Arc<dyn ContactHistory>>,
}

impl std::fmt::Debug for DeliveryBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryBuilder")
            .field("destinations", &self.config.destinations.len())
            .field("transformers", &self.transformers)
            .field("own_redaction", &self.redaction.is_some())
            .field("enricher", &self.enricher)
            .field("rate_limiter", &self.rate_limiter)
            .field("contacts", &self.contacts.is_some())
            .finish()
    }
}

impl<'a> DeliveryBuilder<'a> {
    /// Transforms events with `registry` (default: [`Registry::with_builtins`]). Register your
    /// transformers beside the built-ins to keep them for the other event types.
    ///
    /// ```
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let builder = stripe_chat_server::worker::Delivery::builder(&config)
    ///     .transformers(stripe_chat_transform::Registry::empty());
    /// # let _ = builder;
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn transformers(mut self, registry: Registry) -> Self {
        self.transformers = Some(registry);
        self
    }

    /// Redacts each destination's messages with the policy `policy_for` returns for it (called
    /// once per destination when the workers are built; default: the policy its `redaction` key
    /// configures, [`DefaultPolicy::from_config`]). Chain onto the configured policy with
    /// [`RedactionPolicy::then`] to keep what it masks.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use stripe_chat_redact::{DefaultPolicy, RedactionPolicy, Visibility};
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// // Every destination as a public channel, whatever its configuration says.
    /// let builder = stripe_chat_server::worker::Delivery::builder(&config)
    ///     .redaction(|_: &stripe_chat_server::config::Destination| -> Arc<dyn RedactionPolicy> {
    ///         Arc::new(DefaultPolicy::new(Visibility::Public))
    ///     });
    /// # let _ = builder;
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn redaction(
        mut self,
        policy_for: impl Fn(&Destination) -> Arc<dyn RedactionPolicy> + 'a,
    ) -> Self {
        self.redaction = Some(Box::new(policy_for));
        self
    }

    /// Enriches events with `enricher` instead of the one `[enrich]` configures (which is then
    /// not built), whether `[enrich]` is on or not.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use stripe_chat_message::Secret;
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let client = stripe_chat_stripe::Client::builder(Secret::new("rk_test_1")).build()?;
    /// let enricher = stripe_chat_enrich::Enricher::builder(stripe_chat_enrich::ApiReader::new(Arc::new(client))).build();
    /// let delivery = stripe_chat_server::worker::Delivery::builder(&config)
    ///     .enricher(Arc::new(enricher))
    ///     .build(Arc::new(stripe_chat_store::MemoryStore::new()), Arc::default(), Arc::default());
    /// assert!(delivery.enricher().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn enricher(mut self, enricher: Arc<Enricher>) -> Self {
        self.enricher = Some(enricher);
        self
    }

    /// Paces the configured enrichment with `limiter` instead of a limiter of its own at
    /// `[enrich] max_calls_per_second`: give the clients of chat actions a clone of the same
    /// limiter so that enrichment and actions share one budget.
    ///
    /// ```
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let shared = stripe_chat_stripe::RateLimiter::per_second(20.0);
    /// let builder = stripe_chat_server::worker::Delivery::builder(&config).stripe_rate_limiter(shared.clone());
    /// # let _ = builder;
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn stripe_rate_limiter(mut self, limiter: RateLimiter) -> Self {
        self.rate_limiter = Some(limiter);
        self
    }

    /// Reads the customer's last contact for the configured enrichment from `contacts` (default:
    /// the store's, [`StoreContacts`], as the `mark_contacted` action records them).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use stripe_chat_enrich::{ContactError, ContactHistory};
    /// use stripe_chat_events::LastContact;
    /// struct Nobody;
    /// #[async_trait::async_trait]
    /// impl ContactHistory for Nobody {
    ///     async fn last_contact(&self, _: Option<&str>, _: &str) -> Result<Option<LastContact>, ContactError> {
    ///         Ok(None)
    ///     }
    /// }
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let builder = stripe_chat_server::worker::Delivery::builder(&config).contacts(Arc::new(Nobody));
    /// # let _ = builder;
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn contacts(mut self, contacts: Arc<dyn ContactHistory>) -> Self {
        self.contacts = Some(contacts);
        self
    }

    /// The workers, over `store`, counting into `metrics`, woken by `wake`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let delivery = stripe_chat_server::worker::Delivery::builder(&config)
    ///     .build(Arc::new(stripe_chat_store::MemoryStore::new()), Arc::default(), Arc::default());
    /// # let _ = delivery;
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn build(
        self,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        wake: Arc<Notify>,
    ) -> Delivery {
        let config = self.config;
        let settings = &config.delivery;
        let breaker = BreakerSettings {
            pause_after: settings.pause_after_failures,
            first_probe: Duration::from_millis(settings.initial_backoff_ms),
            max_probe: Duration::from_millis(settings.max_backoff_ms).min(MAX_PROBE_WAIT),
        };
        let policy_for = |destination: &Destination| -> Arc<dyn RedactionPolicy> {
            match &self.redaction {
                Some(policy_for) => policy_for(destination),
                None => Arc::new(DefaultPolicy::from_config(&destination.redaction)),
            }
        };
        let registry = Arc::new(self.transformers.unwrap_or_else(Registry::with_builtins));
        let targets = config
            .destinations
            .iter()
            .map(|d| {
                metrics.destination_up(&d.name);
                (
                    d.name.clone(),
                    Target {
                        destination: d.clone(),
                        pipeline: Pipeline::shared(Arc::clone(&registry), policy_for(d)),
                        gate: Gate::new(d.max_per_second),
                        breaker: Mutex::new(Breaker::new(breaker)),
                        horizon: d.retry_horizon.unwrap_or(settings.retry_horizon),
                    },
                )
            })
            .collect();
        let contacts = self
            .contacts
            .unwrap_or_else(|| Arc::new(StoreContacts::new(Arc::clone(&store))));
        let enricher = self.enricher.or_else(|| {
            configured_enricher(config, self.rate_limiter, Some(contacts)).map(Arc::new)
        });
        Delivery(Arc::new(Shared {
            store,
            routes: config.routes.clone(),
            targets,
            settings: config.delivery.clone(),
            metrics,
            wake,
            enricher,
        }))
    }
}

/// The enricher `[enrich]` configures, when it is on: a client of its own (one attempt per
/// read, the enrichment timeout per attempt), paced by `limiter` (else its own, at
/// `max_calls_per_second`).
fn configured_enricher(
    config: &ServiceConfig,
    limiter: Option<RateLimiter>,
    contacts: Option<Arc<dyn ContactHistory>>,
) -> Option<Enricher> {
    let settings = &config.enrich;
    let key = settings.api_key.clone().filter(|_| settings.enabled)?;
    let timeout = Duration::from_millis(settings.timeout_ms);
    let mut client = Client::builder(key).timeout(timeout).retry(Retry::NONE);
    if let Some(base) = &config.stripe_api.api_base {
        client = client.api_base(base.clone());
    }
    let client = match client.build() {
        Ok(client) => client,
        Err(e) => {
            // The configuration check builds the same client: this does not happen.
            tracing::error!(error = %e, "enrichment is off: the Stripe client cannot be built");
            return None;
        }
    };
    let limiter = limiter.unwrap_or_else(|| RateLimiter::per_second(settings.max_calls_per_second));
    let mut builder = Enricher::builder(ApiReader::new(Arc::new(client)))
        .timeout(timeout)
        .cache_ttl(settings.cache_ttl)
        .rate_limiter(limiter);
    if let Some(contacts) = contacts {
        builder = builder.contacts(contacts);
    }
    Some(builder.build())
}

fn stopped(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

/// A job's outcome, decided and waiting in a [`Ledger`] to be recorded.
#[derive(Debug)]
struct Finished {
    outcome: Outcome,
    /// Its `outcome` label in `stripe_chat_deliveries_total`.
    label: &'static str,
    /// From the event's receipt to the platform's answer, when a message went out.
    latency: Option<Duration>,
}

impl Finished {
    /// Completed: after a message went out (`sent`: its delivery latency counts) or with nothing
    /// to send.
    fn complete(job: &LeasedJob, delivered: Delivered, label: &'static str, sent: bool) -> Self {
        Finished {
            outcome: Outcome::Complete(delivered),
            label,
            latency: sent.then(|| job.event.received_at.elapsed().unwrap_or_default()),
        }
    }

    /// Put back, due at `at`, without spending the attempt.
    fn defer(at: SystemTime, label: &'static str) -> Self {
        Finished {
            outcome: Outcome::Defer { at },
            label,
            latency: None,
        }
    }

    /// Tried and failed: due again at `at`.
    fn retry(at: SystemTime, error: String) -> Self {
        Finished {
            outcome: Outcome::Retry { at, error },
            label: "retried",
            latency: None,
        }
    }

    /// Given up on, for `why`.
    fn dead_letter(why: String) -> Self {
        Finished {
            outcome: Outcome::DeadLetter { error: why },
            label: "dead_lettered",
            latency: None,
        }
    }
}

/// The outcomes a worker has decided and not yet recorded. They are recorded together, in one
/// store request ([`Store::settle`]), when the worker has gone through its lease, before it
/// waits for a destination's pace, and before it starts a job once the first of them started
/// [`RECORD_AFTER`] ago: jobs that take a moment each (a chat platform's answer) are recorded
/// one by one as before, quick ones (a file) a lease at a time.
#[derive(Debug, Default)]
struct Ledger<'a> {
    entries: Vec<(&'a LeasedJob, Finished)>,
    /// When the first job of `entries` started.
    since: Option<Instant>,
}

impl<'a> Ledger<'a> {
    /// Adds `job`'s outcome; it started at `started`.
    fn push(&mut self, job: &'a LeasedJob, finished: Finished, started: Instant) {
        self.since.get_or_insert(started);
        self.entries.push((job, finished));
    }

    /// Whether the outcomes waited long enough: record them before the next job.
    fn is_due(&self) -> bool {
        self.since
            .is_some_and(|since| since.elapsed() >= RECORD_AFTER)
    }
}

/// How many jobs a worker leases at once: [`LEASE_MIN`], doubled up to [`LEASE_MAX`] while
/// leases come back full and are gone through within [`QUICK_LEASE`] (a backlog of quick
/// deliveries, such as a file's: fewer, larger leases), and back to the minimum otherwise, so that
/// slow deliveries stay spread over the workers. Acknowledgements come first: while webhooks are
/// being acknowledged, leases stay at the minimum, so that the store's one writer, which commits
/// both, spends its time on the events Stripe waits for; the backlog is drained with larger
/// leases once they stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LeaseSize(usize);

impl Default for LeaseSize {
    fn default() -> Self {
        LeaseSize(LEASE_MIN)
    }
}

impl LeaseSize {
    fn jobs(self) -> usize {
        self.0
    }

    /// After a lease that brought `leased` jobs and took `took` to go through, `ingesting` when
    /// webhooks were acknowledged meanwhile.
    fn after(&mut self, leased: usize, took: Duration, ingesting: bool) {
        self.0 = if leased >= self.0 && took <= QUICK_LEASE && !ingesting {
            (self.0 * 2).min(LEASE_MAX)
        } else {
            LEASE_MIN
        };
    }
}

impl Shared {
    async fn run(self: Arc<Self>, name: String, mut stop: watch::Receiver<bool>) {
        let lease_for = Duration::from_secs(self.settings.lease_secs.max(1));
        let mut size = LeaseSize::default();
        let mut acknowledged = self.metrics.acknowledgements();
        while !stopped(&stop) {
            self.probe(&name, lease_for, &stop).await;
            let paused = self
                .targets
                .iter()
                .filter(|(_, t)| t.breaker(|b| b.is_paused()))
                .map(|(name, _)| name.as_str());
            let filter = LeaseFilter::all().skip(paused);
            let jobs = match self
                .store
                .lease_where(&name, size.jobs(), lease_for, SystemTime::now(), &filter)
                .await
            {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(worker = %name, error = %e, "cannot lease jobs");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => {}
                    }
                    continue;
                }
            };
            if jobs.is_empty() {
                tokio::select! {
                    _ = self.wake.notified() => {
                        tokio::select! {
                            _ = tokio::time::sleep(GATHER) => {}
                            _ = stop.changed() => {}
                        }
                    }
                    _ = tokio::time::sleep(IDLE) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            if jobs.len() == size.jobs() {
                // More may be due: let another idle worker help.
                self.wake.notify_one();
            }
            let leased_at = Instant::now();
            let mut ledger = Ledger::default();
            for job in &jobs {
                let started = Instant::now();
                if stopped(&stop) {
                    // Give the job back at once rather than letting its lease run out.
                    ledger.push(job, Finished::defer(SystemTime::now(), "released"), started);
                    continue;
                }
                if ledger.is_due() {
                    self.record(&mut ledger).await;
                }
                let finished = self
                    .process(job, leased_at, &stop, false, &mut ledger)
                    .await;
                ledger.push(job, finished, started);
            }
            self.record(&mut ledger).await;
            let ingesting = self.metrics.acknowledgements() != acknowledged;
            acknowledged = self.metrics.acknowledgements();
            size.after(jobs.len(), leased_at.elapsed(), ingesting);
        }
    }

    /// Sends one job to each paused destination whose probe is due (one worker claims each
    /// probe). A probe that finds no due job leaves the probe due.
    async fn probe(&self, worker: &str, lease_for: Duration, stop: &watch::Receiver<bool>) {
        for (name, target) in &self.targets {
            if stopped(stop) {
                return;
            }
            if !target.breaker(|b| b.start_probe(Instant::now())) {
                continue;
            }
            let leased = self
                .store
                .lease_where(
                    worker,
                    1,
                    lease_for,
                    SystemTime::now(),
                    &LeaseFilter::only(name.clone()),
                )
                .await;
            match leased {
                Ok(jobs) => {
                    let leased_at = Instant::now();
                    let mut ledger = Ledger::default();
                    for job in &jobs {
                        tracing::debug!(destination = %name, job_id = %job.job_id, "probing a paused destination");
                        let started = Instant::now();
                        let finished = self.process(job, leased_at, stop, true, &mut ledger).await;
                        ledger.push(job, finished, started);
                    }
                    self.record(&mut ledger).await;
                }
                Err(e) => {
                    tracing::warn!(worker = %worker, error = %e, "cannot lease a probe job");
                }
            }
            // Whatever happened short of a delivery's answer (nothing due, nothing to send, the
            // worker stopped), the probe stays due.
            target.breaker(|b| b.release_probe(Instant::now()));
            self.publish_state(name, target);
        }
    }

    /// Records the outcomes in `ledger` (one store request) and counts them.
    async fn record(&self, ledger: &mut Ledger<'_>) {
        ledger.since = None;
        if ledger.entries.is_empty() {
            return;
        }
        let mut outcomes = Vec::with_capacity(ledger.entries.len());
        let mut counted = Vec::with_capacity(ledger.entries.len());
        for (job, finished) in ledger.entries.drain(..) {
            outcomes.push((job, finished.outcome));
            counted.push((job, finished.label, finished.latency));
        }
        let results = self.store.settle(outcomes).await;
        for ((job, label, latency), result) in counted.into_iter().zip(results) {
            if let Ok(RefUpdate::KeptNewer(newer)) = &result {
                tracing::debug!(job_id = %job.job_id, newer_event = %newer.event_id, "a newer event's message stays the object's message");
            }
            match (latency, result) {
                (Some(latency), Ok(_)) => {
                    // One line per message that went out: ids and outcome, never the body.
                    tracing::info!(
                        event_id = %job.event.id,
                        event_type = %job.event.event_type,
                        destination = %job.destination,
                        job_id = %job.job_id,
                        outcome = label,
                        latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
                        "delivered"
                    );
                    self.metrics
                        .delivery(&job.destination, label, Some(latency))
                }
                (_, result) => {
                    if label == "stale" && result.is_ok() {
                        tracing::info!(
                            event_id = %job.event.id,
                            event_type = %job.event.event_type,
                            destination = %job.destination,
                            job_id = %job.job_id,
                            outcome = label,
                            "not sent: stale (the object's message already shows a newer event)"
                        );
                    }
                    self.outcome(job, result, label)
                }
            }
        }
    }

    /// Shows the destination's breaker in the metrics.
    fn publish_state(&self, name: &str, target: &Target) {
        let (paused, probe_at) = target.breaker(|b| (b.is_paused(), b.probe_at()));
        if paused {
            self.metrics
                .destination_paused(name, probe_at.map(wall).unwrap_or_else(SystemTime::now));
        } else {
            self.metrics.destination_up(name);
        }
    }

    /// Reports a delivery's answer to the destination's breaker: one log line when it pauses
    /// the destination and one when it resumes it.
    fn answered(&self, job: &LeasedJob, target: &Target, failure: Option<&DeliveryError>) {
        let now = Instant::now();
        let change = match failure {
            None => target.breaker(|b| b.success(now)),
            Some(_) => target.breaker(|b| b.failure(now)),
        };
        match (change, failure) {
            (
                Some(Change::Paused {
                    failures,
                    next_probe,
                }),
                Some(e),
            ) => {
                tracing::warn!(
                    destination = %job.destination,
                    failures,
                    next_probe_ms = u64::try_from(next_probe.as_millis()).unwrap_or(u64::MAX),
                    error = %e,
                    "destination paused: it failed {failures} times in a row; its messages wait, and one probe at a time tests it"
                );
            }
            (Some(Change::Resumed { down_for }), _) => {
                tracing::info!(
                    destination = %job.destination,
                    down_for = %format_delay(down_for),
                    "destination resumed: a delivery succeeded; its waiting messages follow at its pace"
                );
            }
            (None, None) => return,
            _ => {}
        }
        self.publish_state(&job.destination, target);
    }

    /// Records the result of reporting an outcome.
    fn outcome<T>(&self, job: &LeasedJob, result: Result<T, StoreError>, outcome: &'static str) {
        match result {
            Ok(_) => self.metrics.delivery(&job.destination, outcome, None),
            Err(e) if e.is_lease_lost() => {
                self.metrics.delivery(&job.destination, "lease_lost", None);
                tracing::warn!(job_id = %job.job_id, destination = %job.destination, "the lease ran out before the outcome was recorded");
            }
            Err(e) => {
                self.metrics.delivery(&job.destination, "store_error", None);
                tracing::error!(job_id = %job.job_id, destination = %job.destination, error = %e, "cannot record the outcome; the job runs again when its lease ends");
            }
        }
    }

    /// Delivers `job`, leased at `leased_at`, and says what became of it; `ledger` holds the
    /// worker's outcomes not recorded yet (recorded before the job waits for its destination's
    /// pace).
    async fn process(
        &self,
        job: &LeasedJob,
        leased_at: Instant,
        stop: &watch::Receiver<bool>,
        probe: bool,
        ledger: &mut Ledger<'_>,
    ) -> Finished {
        let settings = &self.settings;
        let dead_letter = |why: &str| {
            tracing::warn!(event_id = %job.event.id, event_type = %job.event.event_type, destination = %job.destination, job_id = %job.job_id, outcome = "dead_lettered", "delivery dead-lettered: {why}");
            Finished::dead_letter(why.to_owned())
        };
        let Some(target) = self.targets.get(&job.destination) else {
            return dead_letter("the destination is no longer configured");
        };
        if job.attempt > settings.max_attempts {
            return dead_letter("no attempts left (a worker stopped while delivering it)");
        }
        if !probe && let Admission::Wait { until } = target.breaker(|b| b.admit(Instant::now())) {
            // The destination is paused: no request, no attempt spent.
            return Finished::defer(wall(until), "paused");
        }
        if let Some(batch) = &job.digest {
            return self.process_digest(job, batch, target, stop, ledger).await;
        }
        let Ok(event) = StripeEvent::from_json(job.event.raw.clone()) else {
            return Finished::complete(job, Delivered::nothing(), "nothing", false);
        };
        if self.inhibited(job, leased_at).await {
            tracing::info!(event_id = %job.event.id, destination = %job.destination, "payment failure not sent: the payment has succeeded since");
            return Finished::complete(job, Delivered::nothing(), "inhibited", false);
        }
        let late = job.queued_at.elapsed().unwrap_or_default();
        let provider = &target.destination.provider;
        let capabilities = provider.capabilities();
        let late_note_after = settings.late_note_after;
        if late >= late_note_after
            && capabilities.update
            && self.superseded_in_queue(job, leased_at).await
        {
            return Finished::complete(job, Delivered::nothing(), "collapsed", false);
        }
        let event = match &self.enricher {
            Some(enricher) => {
                let event = enricher.enrich(event).await;
                if let Some(enrichment) = event.enrichment() {
                    self.metrics
                        .enriched(enrichment.is_details_unavailable(), enricher.calls());
                }
                event
            }
            None => event,
        };
        let Some(mut message) = target.pipeline.message(&event) else {
            return Finished::complete(job, Delivered::nothing(), "nothing", false);
        };
        if late >= late_note_after {
            let paused = target.breaker(|b| b.was_paused_since(job.queued_at));
            note_delay(&mut message, late, paused.then(|| provider.display_name()));
        }
        let shown = job
            .current_ref
            .as_ref()
            .filter(|r| r.message_ref.can_be_addressed());
        let stale = shown.is_some_and(|r| r.event_created > job.event.created);
        let reply_wanted = target.destination.thread_replies && capabilities.thread;
        if stale && !reply_wanted {
            return Finished::complete(job, Delivered::nothing(), "stale", false);
        }

        if let Some(held_back) = self.pass_gate(job, target, stop, ledger).await {
            return held_back;
        }

        let key = IdempotencyKey::new(&job.event.id, &job.destination);
        let result = match (shown, stale) {
            (Some(shown), true) => provider
                .send(&short_reply(&message), Some(&shown.message_ref), &key)
                .await
                .map(|_| (None, "replied")),
            (Some(shown), false) if capabilities.update => {
                match provider.update(&shown.message_ref, &message, &key).await {
                    Ok(()) => {
                        if reply_wanted
                            && let Err(e) = provider
                                .send(&short_reply(&message), Some(&shown.message_ref), &key)
                                .await
                        {
                            tracing::warn!(job_id = %job.job_id, destination = %job.destination, kind = %e.kind(), error = %e, "the message was updated; its thread reply failed");
                        }
                        Ok((Some(shown.message_ref.clone()), "updated"))
                    }
                    Err(e) => Err(e),
                }
            }
            _ => provider
                .send(&message, None, &key)
                .await
                .map(|sent| (Some(sent), "delivered")),
        };
        match result {
            Ok((Some(message_ref), outcome)) => {
                self.answered(job, target, None);
                Finished::complete(job, Delivered::message(job, message_ref), outcome, true)
            }
            Ok((None, outcome)) => {
                self.answered(job, target, None);
                Finished::complete(job, Delivered::nothing(), outcome, true)
            }
            Err(e) => self.failed(job, target, &e),
        }
    }

    /// The unfinished jobs of `job`'s object (`key`) in its destination, oldest event first, as
    /// [`Store::queued_jobs`] lists them. Without asking the store when the lease, taken at
    /// `leased_at` and no older than [`FRESH_LEASE`], saw no other job of the object.
    async fn queued_with(
        &self,
        job: &LeasedJob,
        key: &str,
        leased_at: Instant,
    ) -> Result<Vec<JobInfo>, StoreError> {
        if job.others_queued == 0 && leased_at.elapsed() <= FRESH_LEASE {
            return Ok(Vec::new());
        }
        self.store.queued_jobs(&job.destination, key).await
    }

    /// Whether a newer event about `job`'s object is queued for the same destination: its
    /// message will show the object's latest state.
    async fn superseded_in_queue(&self, job: &LeasedJob, leased_at: Instant) -> bool {
        let Some(key) = job.thread_key.as_deref() else {
            return false;
        };
        self.queued_with(job, key, leased_at)
            .await
            .is_ok_and(|queued| {
                queued.iter().any(|j| {
                    j.event_id != job.event.id
                        && (j.event_created, j.id.0) > (job.event.created, job.job_id.0)
                })
            })
    }

    /// Waits for the destination's gate, unless the lease would run out first (the job is then
    /// put back, due when the gate opens) or the worker stops (the job is put back at once).
    /// `None` when the job may be sent now. The outcomes in `ledger` are recorded before any
    /// wait.
    async fn pass_gate(
        &self,
        job: &LeasedJob,
        target: &Target,
        stop: &watch::Receiver<bool>,
        ledger: &mut Ledger<'_>,
    ) -> Option<Finished> {
        let at = target.gate.next_free();
        let lease_left = job
            .lease_until
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        let margin = LEASE_MARGIN.min(Duration::from_secs(self.settings.lease_secs.max(1)) / 4);
        if at.saturating_duration_since(Instant::now()) + margin > lease_left {
            return Some(Finished::defer(wall(at), "deferred"));
        }
        let at = target.gate.reserve();
        if at > Instant::now() {
            self.record(ledger).await;
        }
        let mut stop = stop.clone();
        tokio::select! {
            _ = until(at) => None,
            _ = stop.changed() => Some(Finished::defer(SystemTime::now(), "released")),
        }
    }

    /// Records a failed delivery: rate-limited with `Retry-After` → due again exactly then,
    /// without spending an attempt; transient → counted by the destination's breaker, then put
    /// back until the probe when the destination is paused (no attempt spent), else retried
    /// after a backoff; past the retry horizon, with no attempts left while the destination
    /// works, or not retryable at all → dead letter.
    fn failed(&self, job: &LeasedJob, target: &Target, e: &DeliveryError) -> Finished {
        let settings = &self.settings;
        let kind = e.kind();
        let error = e.to_string();
        let gave_up = |why: String| {
            tracing::warn!(event_id = %job.event.id, event_type = %job.event.event_type, destination = %job.destination, job_id = %job.job_id, outcome = "dead_lettered", attempt = job.attempt, kind = %kind, error = %e, "delivery dead-lettered: {why}");
            Finished::dead_letter(why)
        };
        match (kind, e.retry_after()) {
            (ErrorKind::RateLimited, Some(wait)) => {
                tracing::debug!(job_id = %job.job_id, destination = %job.destination, wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "rate limited: waiting as asked");
                target.gate.pause_until(Instant::now() + wait);
                if target.beyond_horizon(job) {
                    return gave_up(horizon_error(target.horizon, &error));
                }
                Finished::defer(SystemTime::now() + wait, "rate_limited")
            }
            (ErrorKind::RateLimited | ErrorKind::Transient, _) => {
                tracing::debug!(job_id = %job.job_id, event_id = %job.event.id, destination = %job.destination, attempt = job.attempt, error = %e, "delivery failed; it will be tried again");
                self.answered(job, target, Some(e));
                if target.beyond_horizon(job) {
                    return gave_up(horizon_error(target.horizon, &error));
                }
                let probe_at = target.breaker(|b| b.is_paused().then(|| b.admit(Instant::now())));
                match probe_at {
                    Some(Admission::Wait { until }) => Finished::defer(wall(until), "paused"),
                    _ if job.attempt >= settings.max_attempts => gave_up(error),
                    _ => {
                        let wait = backoff(settings, job.attempt);
                        Finished::retry(SystemTime::now() + wait, error)
                    }
                }
            }
            _ => gave_up(error),
        }
    }

    /// Delivers a digest batch: one summary of all its events, one outcome for all its jobs.
    async fn process_digest(
        &self,
        job: &LeasedJob,
        batch: &DigestBatch,
        target: &Target,
        stop: &watch::Receiver<bool>,
        ledger: &mut Ledger<'_>,
    ) -> Finished {
        let events: Vec<StripeEvent> = batch
            .events()
            .filter_map(|e| StripeEvent::from_json(e.raw.clone()).ok())
            .collect();
        if events.is_empty() {
            return Finished::complete(job, Delivered::nothing(), "nothing", false);
        }
        let (window, top) = self.digest_window(&batch.key, &events);
        let message = target.pipeline.summary(&window, top, &events);
        if let Some(held_back) = self.pass_gate(job, target, stop, ledger).await {
            return held_back;
        }
        // A batch of a digest is keyed by its digest and first job: a larger digest is several.
        let first = batch
            .jobs
            .first()
            .map_or(job.job_id, |member| member.job_id);
        let key = IdempotencyKey::new(&format!("{}#{first}", batch.key), &job.destination);
        match target.destination.provider.send(&message, None, &key).await {
            Ok(_) => {
                self.answered(job, target, None);
                tracing::info!(job_id = %job.job_id, destination = %job.destination, digest = %batch.key, events = batch.jobs.len(), "digest posted");
                Finished::complete(job, Delivered::nothing(), "digested", true)
            }
            Err(e) => self.failed(job, target, &e),
        }
    }

    /// The window a digest key names, with the `top` its route has now (the default when the
    /// route is gone). A key of another shape is shown as it is, spanning its events.
    fn digest_window(&self, key: &str, events: &[StripeEvent]) -> (DigestWindow, usize) {
        match DigestWindow::parse(key) {
            Some(window) => {
                let top = self
                    .routes
                    .by_label(&window.route)
                    .and_then(|(_, route)| route.digest)
                    .map_or(Digest::DEFAULT_TOP, |d| d.top());
                (window, top)
            }
            None => {
                let first = events.iter().map(StripeEvent::created).min().unwrap_or(0);
                let last = events
                    .iter()
                    .map(StripeEvent::created)
                    .max()
                    .unwrap_or(first);
                let span = u64::try_from(last.saturating_sub(first)).unwrap_or(0);
                (DigestWindow::new(key, first, span), Digest::DEFAULT_TOP)
            }
        }
    }

    /// Whether `job`'s notice is moot: an event that cancels it ([`catalog::cancelled_by`]) about
    /// the same object, not older, is queued or already shown.
    async fn inhibited(&self, job: &LeasedJob, leased_at: Instant) -> bool {
        let Some(key) = job.thread_key.as_deref() else {
            return false;
        };
        let cancelled_by = catalog::cancelled_by(&job.event.event_type);
        if cancelled_by.is_empty() {
            return false;
        }
        if let Ok(queued) = self.queued_with(job, key, leased_at).await
            && queued.iter().any(|j| {
                j.event_id != job.event.id
                    && j.event_created >= job.event.created
                    && cancelled_by.contains(&j.event_type.as_str())
            })
        {
            return true;
        }
        if let Some(shown) = &job.current_ref
            && shown.event_created >= job.event.created
            && shown.event_id != job.event.id
            && let Ok(Some(event)) = self.store.event(&shown.event_id).await
        {
            return cancelled_by.contains(&event.event_type.as_str());
        }
        false
    }
}

/// The dead-letter reason of a job whose retry horizon has passed.
fn horizon_error(horizon: Duration, error: &str) -> String {
    format!(
        "gave up after {} of retries; last error: {error}",
        format_delay(horizon)
    )
}

/// Puts "Delayed 2 h 14 min by a Slack outage" (or "Delayed 5 min" when no outage of the
/// destination explains it) at the head of the message's footer.
fn note_delay(message: &mut ChatMessage, late: Duration, outage_of: Option<&str>) {
    let mut note = format!("Delayed {}", format_delay(late));
    if let Some(platform) = outage_of {
        note.push_str(&format!(" by a {platform} outage"));
    }
    message.footer = Some(match message.footer.take() {
        Some(footer) if !footer.is_empty() => format!("{note} · {footer}"),
        _ => note,
    });
}

/// A delay as people write it: `45 s`, `5 min`, `2 h 14 min`, `3 d 2 h`.
///
/// ```
/// use std::time::Duration;
/// use stripe_chat_server::worker::format_delay;
/// assert_eq!(format_delay(Duration::from_secs(45)), "45 s");
/// assert_eq!(format_delay(Duration::from_secs(2 * 3600 + 14 * 60 + 5)), "2 h 14 min");
/// assert_eq!(format_delay(Duration::from_secs(3 * 86_400 + 7200)), "3 d 2 h");
/// assert_eq!(format_delay(Duration::from_secs(3600)), "1 h");
/// ```
pub fn format_delay(delay: Duration) -> String {
    let secs = delay.as_secs();
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// The thread reply for an update: the new title and summary only.
fn short_reply(message: &ChatMessage) -> ChatMessage {
    let mut reply = message.clone();
    reply.fields.clear();
    reply.actions.clear();
    reply.links.clear();
    reply.tags.clear();
    reply.footer = None;
    reply
}

/// The delay before try `attempt + 1` after a transient error: `initial · 2^(attempt-1)`, at most
/// `max`, with the upper half randomised so that many jobs failing together do not retry together.
///
/// ```
/// use std::time::Duration;
/// use stripe_chat_server::config::DeliverySection;
/// let settings = DeliverySection { initial_backoff_ms: 100, max_backoff_ms: 1_000, ..Default::default() };
/// let first = stripe_chat_server::worker::backoff(&settings, 1);
/// assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
/// assert!(stripe_chat_server::worker::backoff(&settings, 30) <= Duration::from_millis(1_000));
/// ```
pub fn backoff(settings: &DeliverySection, attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(32);
    let full = settings
        .initial_backoff_ms
        .saturating_mul(1u64 << exponent)
        .min(settings.max_backoff_ms);
    let half = full / 2;
    Duration::from_millis(half + fastrand::u64(0..=full - half))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_stays_under_the_maximum() {
        let settings = DeliverySection {
            initial_backoff_ms: 100,
            max_backoff_ms: 800,
            ..DeliverySection::default()
        };
        for _ in 0..100 {
            let third = backoff(&settings, 3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(backoff(&settings, 10) <= Duration::from_millis(800));
        }
    }

    #[test]
    fn leases_grow_while_they_come_back_full_and_quick_and_fall_back_otherwise() {
        let quick = Duration::from_millis(2);
        let mut size = LeaseSize::default();
        let mut seen = vec![size.jobs()];
        for _ in 0..4 {
            size.after(size.jobs(), quick, false);
            seen.push(size.jobs());
        }
        assert_eq!(seen, [8, 16, 32, 64, 64]);
        size.after(40, quick, false);
        assert_eq!(size.jobs(), LEASE_MIN, "a lease that was not full");
        size.after(8, quick, false);
        size.after(16, QUICK_LEASE * 2, false);
        assert_eq!(size.jobs(), LEASE_MIN, "a full lease of slow deliveries");
    }

    #[test]
    fn leases_stay_small_while_webhooks_are_acknowledged() {
        let mut size = LeaseSize::default();
        size.after(8, Duration::from_millis(2), false);
        assert_eq!(size.jobs(), 16);
        size.after(16, Duration::from_millis(2), true);
        assert_eq!(size.jobs(), LEASE_MIN);
        size.after(8, Duration::from_millis(2), true);
        assert_eq!(size.jobs(), LEASE_MIN);
    }

    #[tokio::test]
    async fn a_paced_gate_spaces_reservations_by_its_interval() {
        let gate = Gate::new(Some(10.0));
        let a = gate.reserve();
        let b = gate.reserve();
        assert!(b - a >= Duration::from_millis(99), "{:?}", b - a);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unpaced_gate_lets_every_message_go_without_waiting_for_a_timer_tick() {
        let gate = Gate::new(None);
        // Half-way between two ticks of the runtime's timer.
        tokio::time::advance(Duration::from_micros(500)).await;
        let start = Instant::now();
        for _ in 0..100 {
            until(gate.reserve()).await;
        }
        // A timer would have let the paused clock move on to its tick.
        assert_eq!(Instant::now(), start);
    }

    #[tokio::test]
    async fn a_pause_holds_every_later_reservation() {
        let gate = Gate::new(None);
        let until = Instant::now() + Duration::from_secs(2);
        gate.pause_until(until);
        assert!(gate.reserve() >= until);
        assert!(gate.next_free() >= until);
    }
}

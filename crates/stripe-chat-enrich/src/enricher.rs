//! The enrichment step: plan, read (cached, paced, behind the breaker), fill in, within a
//! deadline.

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use stripe_chat_events::{Enrichment, LastContact, StripeEvent};
use stripe_chat_message::ErrorKind;
use stripe_chat_stripe::RateLimiter;
use tokio::time::Instant;

use crate::breaker::{Breaker, BreakerSettings};
use crate::cache::Cache;
use crate::contacts::ContactHistory;
use crate::plan::{Fetch, apply, plan};
use crate::read::{Read, StripeReader};

/// The reads enrichment makes for `event`, in order (none when the event carries what its
/// message shows); see the [crate documentation](crate) for each flow.
///
/// ```
/// use stripe_chat_events::StripeEvent;
/// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"charge.dispute.created",
///   "created":1,"data":{"object":{"id":"dp_1","object":"dispute","charge":"ch_1"}}}"#)?;
/// let reads = stripe_chat_enrich::reads_for(&event);
/// assert_eq!(reads[0].to_string(), "GET /v1/charges/ch_1?expand[]=customer");
/// # Ok::<(), stripe_chat_events::EventError>(())
/// ```
pub fn reads_for(event: &StripeEvent) -> Vec<Read> {
    plan(event).into_iter().map(|f| f.read).collect()
}

/// Fills in what an event leaves out from Stripe's API, within a deadline, never failing: see
/// the [crate documentation](crate).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use serde_json::{json, Value};
/// use stripe_chat_enrich::{Enricher, Read, StripeReader};
/// use stripe_chat_events::StripeEvent;
/// use stripe_chat_stripe::ApiError;
///
/// struct Charges;
/// #[async_trait::async_trait]
/// impl StripeReader for Charges {
///     async fn read(&self, read: &Read) -> Result<Value, ApiError> {
///         assert_eq!(read.path(), "/charges/ch_1");
///         Ok(json!({"id": "ch_1", "object": "charge", "billing_details": {"name": "Jenny Rosen"},
///                   "payment_method_details": {"card": {"brand": "visa", "last4": "4242"}}}))
///     }
/// }
///
/// let enricher = Enricher::builder(Charges).build();
/// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"charge.dispute.created",
///   "created":1,"data":{"object":{"id":"dp_1","object":"dispute","charge":"ch_1"}}}"#)?;
/// let event = enricher.enrich(event).await;
/// assert_eq!(event.object()["charge"]["payment_method_details"]["card"]["last4"], "4242");
/// assert!(!event.enrichment().is_some_and(|e| e.is_details_unavailable()));
/// assert_eq!(enricher.calls(), 1);
/// # Ok(())
/// # }
/// ```
pub struct Enricher {
    reader: Arc<dyn StripeReader>,
    contacts: Option<Arc<dyn ContactHistory>>,
    limiter: Option<RateLimiter>,
    timeout: Duration,
    cache: Cache,
    breaker: Breaker,
    calls: AtomicU64,
    /// The resources the key may not read, each logged once.
    refused: Mutex<HashSet<String>>,
}

impl fmt::Debug for Enricher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Enricher")
            .field("timeout", &self.timeout)
            .field("limiter", &self.limiter)
            .field("contacts", &self.contacts.is_some())
            .field("breaker_open", &self.breaker.is_open())
            .field("calls", &self.calls())
            .finish_non_exhaustive()
    }
}

/// Builds an [`Enricher`].
///
/// ```
/// use std::time::Duration;
/// # use std::sync::Arc;
/// # use stripe_chat_message::Secret;
/// use stripe_chat_enrich::{ApiReader, Enricher};
/// use stripe_chat_stripe::{Client, RateLimiter, Retry};
///
/// let client = Client::builder(Secret::new("rk_test_1"))
///     .timeout(Duration::from_secs(2))
///     .retry(Retry::NONE)
///     .build()?;
/// let enricher = Enricher::builder(ApiReader::new(Arc::new(client)))
///     .timeout(Duration::from_secs(2))
///     .cache_ttl(Duration::from_secs(60))
///     .rate_limiter(RateLimiter::per_second(20.0))
///     .build();
/// assert_eq!(enricher.timeout(), Duration::from_secs(2));
/// # Ok::<(), stripe_chat_stripe::ApiError>(())
/// ```
pub struct EnricherBuilder {
    reader: Arc<dyn StripeReader>,
    contacts: Option<Arc<dyn ContactHistory>>,
    limiter: Option<RateLimiter>,
    timeout: Duration,
    cache_ttl: Duration,
    cache_capacity: usize,
    breaker: BreakerSettings,
}

impl fmt::Debug for EnricherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnricherBuilder")
            .field("timeout", &self.timeout)
            .field("cache_ttl", &self.cache_ttl)
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

/// The default deadline per event.
///
/// ```
/// assert_eq!(stripe_chat_enrich::DEFAULT_TIMEOUT.as_secs(), 2);
/// ```
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long an answer is kept by default.
///
/// ```
/// assert_eq!(stripe_chat_enrich::DEFAULT_CACHE_TTL.as_secs(), 60);
/// ```
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);

impl EnricherBuilder {
    /// The most an event waits for its details, contact lookup included (default
    /// [`DEFAULT_TIMEOUT`]; at least 1 ms). Past it the event goes on without what is missing.
    ///
    /// ```
    /// # use stripe_chat_enrich::{Enricher, Read, StripeReader};
    /// # struct Down;
    /// # #[async_trait::async_trait]
    /// # impl StripeReader for Down {
    /// #     async fn read(&self, _: &Read) -> Result<serde_json::Value, stripe_chat_stripe::ApiError> {
    /// #         Err(stripe_chat_stripe::ApiError::new(stripe_chat_message::ErrorKind::Transient, Some(503), None, "down"))
    /// #     }
    /// # }
    /// let enricher = Enricher::builder(Down).timeout(std::time::Duration::from_millis(500)).build();
    /// assert_eq!(enricher.timeout().as_millis(), 500);
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long an answer is kept for later events about the same object (default
    /// [`DEFAULT_CACHE_TTL`]; zero keeps nothing but still shares one read between
    /// concurrent events).
    ///
    /// ```
    /// # use stripe_chat_enrich::{Enricher, Read, StripeReader};
    /// # struct Down;
    /// # #[async_trait::async_trait]
    /// # impl StripeReader for Down {
    /// #     async fn read(&self, _: &Read) -> Result<serde_json::Value, stripe_chat_stripe::ApiError> {
    /// #         Err(stripe_chat_stripe::ApiError::new(stripe_chat_message::ErrorKind::Transient, Some(503), None, "down"))
    /// #     }
    /// # }
    /// let enricher = Enricher::builder(Down).cache_ttl(std::time::Duration::from_secs(10)).build();
    /// # let _ = enricher;
    /// ```
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// The most answers kept at once (default 10,000).
    ///
    /// ```
    /// # use stripe_chat_enrich::{Enricher, Read, StripeReader};
    /// # struct Down;
    /// # #[async_trait::async_trait]
    /// # impl StripeReader for Down {
    /// #     async fn read(&self, _: &Read) -> Result<serde_json::Value, stripe_chat_stripe::ApiError> {
    /// #         Err(stripe_chat_stripe::ApiError::new(stripe_chat_message::ErrorKind::Transient, Some(503), None, "down"))
    /// #     }
    /// # }
    /// let enricher = Enricher::builder(Down).cache_capacity(1_000).build();
    /// # let _ = enricher;
    /// ```
    pub fn cache_capacity(mut self, entries: usize) -> Self {
        self.cache_capacity = entries.max(1);
        self
    }

    /// Paces reads with `limiter`: a read whose turn would come after the event's deadline is
    /// not made (the event goes on without it). Give the same limiter (or a clone) to the
    /// clients of chat actions ([`stripe_chat_stripe::ClientBuilder::rate_limiter`]) so that
    /// both stay within one budget.
    ///
    /// ```
    /// # use stripe_chat_enrich::{Enricher, Read, StripeReader};
    /// # struct Down;
    /// # #[async_trait::async_trait]
    /// # impl StripeReader for Down {
    /// #     async fn read(&self, _: &Read) -> Result<serde_json::Value, stripe_chat_stripe::ApiError> {
    /// #         Err(stripe_chat_stripe::ApiError::new(stripe_chat_message::ErrorKind::Transient, Some(503), None, "down"))
    /// #     }
    /// # }
    /// let shared = stripe_chat_stripe::RateLimiter::per_second(20.0);
    /// let enricher = Enricher::builder(Down).rate_limiter(shared.clone()).build();
    /// assert_eq!(enricher.rate_limiter().map(|l| l.rate()), Some(20.0));
    /// ```
    pub fn rate_limiter(mut self, limiter: RateLimiter) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Looks up the customer's last contact in `contacts` and adds it to the event.
    ///
    /// ```
    /// # use stripe_chat_enrich::{ContactError, ContactHistory, Enricher, Read, StripeReader};
    /// # use stripe_chat_events::LastContact;
    /// # struct Down;
    /// # #[async_trait::async_trait]
    /// # impl StripeReader for Down {
    /// #     async fn read(&self, _: &Read) -> Result<serde_json::Value, stripe_chat_stripe::ApiError> {
    /// #         Err(stripe_chat_stripe::ApiError::new(stripe_chat_message::ErrorKind::Transient, Some(503), None, "down"))
    /// #     }
    /// # }
    /// struct Nobody;
    /// #[async_trait::async_trait]
    /// impl ContactHistory for Nobody {
    ///     async fn last_contact(&self, _: Option<&str>, _: &str) -> Result<Option<LastContact>, ContactError> {
    ///         Ok(None)
    ///     }
    /// }
    /// let enricher = Enricher::builder(Down).contacts(std::sync::Arc::new(Nobody)).build();
    /// # let _ = enricher;
    /// ```
    pub fn contacts(mut self, contacts: Arc<dyn ContactHistory>) -> Self {
        self.contacts = Some(contacts);
        self
    }

    /// The circuit breaker: `failures` reads in a row failing (timeouts, 429, 5xx, Stripe
    /// unreachable) stop reads for `first_pause`, then one read probes; each failed probe
    /// doubles the pause up to `max_pause`. A refused key stops reads for `max_pause` at once.
    /// Default: 5 failures, 5 s, 5 min.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use stripe_chat_enrich::{Enricher, Read, StripeReader};
    /// # struct Down;
    /// # #[async_trait::async_trait]
    /// # impl StripeReader for Down {
    /// #     async fn read(&self, _: &Read) -> Result<serde_json::Value, stripe_chat_stripe::ApiError> {
    /// #         Err(stripe_chat_stripe::ApiError::new(stripe_chat_message::ErrorKind::Transient, Some(503), None, "down"))
    /// #     }
    /// # }
    /// let enricher = Enricher::builder(Down)
    ///     .breaker(3, Duration::from_secs(1), Duration::from_secs(60))
    ///     .build();
    /// # let _ = enricher;
    /// ```
    pub fn breaker(mut self, failures: u32, first_pause: Duration, max_pause: Duration) -> Self {
        self.breaker = BreakerSettings {
            open_after: failures.max(1),
            first_pause,
            max_pause: max_pause.max(first_pause),
        };
        self
    }

    /// The enricher.
    ///
    /// ```
    /// # use stripe_chat_enrich::{Enricher, Read, StripeReader};
    /// # struct Down;
    /// # #[async_trait::async_trait]
    /// # impl StripeReader for Down {
    /// #     async fn read(&self, _: &Read) -> Result<serde_json::Value, stripe_chat_stripe::ApiError> {
    /// #         Err(stripe_chat_stripe::ApiError::new(stripe_chat_message::ErrorKind::Transient, Some(503), None, "down"))
    /// #     }
    /// # }
    /// let enricher = Enricher::builder(Down).build();
    /// assert_eq!(enricher.calls(), 0);
    /// ```
    pub fn build(self) -> Enricher {
        Enricher {
            reader: self.reader,
            contacts: self.contacts,
            limiter: self.limiter,
            timeout: self.timeout,
            cache: Cache::new(self.cache_ttl, self.cache_capacity),
            breaker: Breaker::new(self.breaker),
            calls: AtomicU64::new(0),
            refused: Mutex::new(HashSet::new()),
        }
    }
}

/// Why a read was not made or did not succeed (logged at debug level, never per event above).
#[derive(Debug)]
enum Missed {
    Open,
    Budget,
    Failed,
}

impl Enricher {
    /// A builder reading through `reader`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use stripe_chat_message::Secret;
    /// let client = stripe_chat_stripe::Client::builder(Secret::new("rk_test_1")).build()?;
    /// let enricher = stripe_chat_enrich::Enricher::builder(stripe_chat_enrich::ApiReader::new(Arc::new(client))).build();
    /// assert_eq!(enricher.timeout(), stripe_chat_enrich::DEFAULT_TIMEOUT);
    /// # Ok::<(), stripe_chat_stripe::ApiError>(())
    /// ```
    pub fn builder(reader: impl StripeReader + 'static) -> EnricherBuilder {
        EnricherBuilder {
            reader: Arc::new(reader),
            contacts: None,
            limiter: None,
            timeout: DEFAULT_TIMEOUT,
            cache_ttl: DEFAULT_CACHE_TTL,
            cache_capacity: 10_000,
            breaker: BreakerSettings {
                open_after: 5,
                first_pause: Duration::from_secs(5),
                max_pause: Duration::from_secs(300),
            },
        }
    }

    /// The deadline per event.
    ///
    /// ```
    /// # use stripe_chat_enrich::{Enricher, Read, StripeReader};
    /// # struct Down;
    /// # #[async_trait::async_trait]
    /// # impl StripeReader for Down {
    /// #     async fn read(&self, _: &Read) -> Result<serde_json::Value, stripe_chat_stripe::ApiError> {
    /// #         Err(stripe_chat_stripe::ApiError::new(stripe_chat_message::ErrorKind::Transient, Some(503), None, "down"))
    /// #     }
    /// # }
    /// assert_eq!(Enricher::builder(Down).build().timeout().as_secs(), 2);
    /// ```
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The limiter pacing its reads, when it has one.
    ///
    /// ```
    /// # use stripe_chat_enrich::{Enricher, Read, StripeReader};
    /// # struct Down;
    /// # #[async_trait::async_trait]
    /// # impl StripeReader for Down {
    /// #     async fn read(&self, _: &Read) -> Result<serde_json::Value, stripe_chat_stripe::ApiError> {
    /// #         Err(stripe_chat_stripe::ApiError::new(stripe_chat_message::ErrorKind::Transient, Some(503), None, "down"))
    /// #     }
    /// # }
    /// assert!(Enricher::builder(Down).build().rate_limiter().is_none());
    /// ```
    pub fn rate_limiter(&self) -> Option<&RateLimiter> {
        self.limiter.as_ref()
    }

    /// How many reads it has sent to Stripe (answers from the cache and reads it skipped are
    /// not counted).
    ///
    /// ```
    /// # use stripe_chat_enrich::{Enricher, Read, StripeReader};
    /// # struct Down;
    /// # #[async_trait::async_trait]
    /// # impl StripeReader for Down {
    /// #     async fn read(&self, _: &Read) -> Result<serde_json::Value, stripe_chat_stripe::ApiError> {
    /// #         Err(stripe_chat_stripe::ApiError::new(stripe_chat_message::ErrorKind::Transient, Some(503), None, "down"))
    /// #     }
    /// # }
    /// assert_eq!(Enricher::builder(Down).build().calls(), 0);
    /// ```
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// `event` with what its flow needs filled in from Stripe (and the customer's last
    /// contact), returned within the deadline whatever Stripe does. What could not be read is
    /// left out and the event is marked ([`Enrichment::is_details_unavailable`]); an event
    /// that needs nothing comes back as it was.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use stripe_chat_enrich::{Enricher, Read, StripeReader};
    /// use stripe_chat_message::ErrorKind;
    /// use stripe_chat_stripe::ApiError;
    ///
    /// struct Down;
    /// #[async_trait::async_trait]
    /// impl StripeReader for Down {
    ///     async fn read(&self, _: &Read) -> Result<serde_json::Value, ApiError> {
    ///         Err(ApiError::new(ErrorKind::Transient, Some(503), None, "Stripe answered 503"))
    ///     }
    /// }
    ///
    /// let event = stripe_chat_events::StripeEvent::from_slice(br#"{"id":"evt_1","object":"event",
    ///   "type":"charge.dispute.created","created":1,"data":{"object":{"id":"dp_1","object":"dispute","charge":"ch_1"}}}"#)?;
    /// let event = Enricher::builder(Down).build().enrich(event).await;
    /// assert_eq!(event.object()["charge"], "ch_1");
    /// assert!(event.enrichment().is_some_and(|e| e.is_details_unavailable()));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn enrich(&self, event: StripeEvent) -> StripeEvent {
        let deadline = Instant::now() + self.timeout;
        let fetches = plan(&event);
        if fetches.is_empty() && self.contacts.is_none() {
            return event;
        }
        let account = event.account().map(str::to_owned);
        let mut object = event.object().clone();
        let mut enrichment = Enrichment::new();

        let mut answers: Vec<Option<Arc<Value>>> = Vec::with_capacity(fetches.len());
        let reading = AtomicBool::new(false);
        let work = async {
            for fetch in &fetches {
                answers.push(self.fetch(fetch, deadline, &reading).await);
            }
        };
        // The contact comes from our own records: looked up beside Stripe's reads, so that a
        // slow Stripe does not take its time.
        let known_customer = customer_of(&object).map(str::to_owned);
        let contact = self.last_contact(
            &event,
            account.as_deref(),
            known_customer.as_deref(),
            deadline,
        );
        let (read_in_time, mut contact) =
            tokio::join!(tokio::time::timeout_at(deadline, work), contact);
        if read_in_time.is_err() {
            tracing::debug!(event_id = %event.id(), "Stripe's details did not come within the deadline");
            if reading.load(Ordering::Relaxed) {
                self.breaker.failed(
                    ErrorKind::Transient,
                    None,
                    &format!(
                        "no answer from Stripe within {} ms",
                        self.timeout.as_millis()
                    ),
                    Instant::now(),
                );
            }
        }
        let mut missing = answers.len() < fetches.len();
        for (fetch, answer) in fetches.iter().zip(&answers) {
            let fitted = answer
                .as_ref()
                .is_some_and(|answer| apply(&mut object, fetch.place, answer));
            if !fitted {
                missing = true;
            }
        }
        if missing {
            enrichment = enrichment.details_unavailable();
        }
        if known_customer.is_none() {
            // Known only from what was read (a dispute's charge).
            let customer = customer_of(&object).map(str::to_owned);
            contact = self
                .last_contact(&event, account.as_deref(), customer.as_deref(), deadline)
                .await;
        }
        if let Some(contact) = contact {
            enrichment = enrichment.last_contact(contact);
        }
        event.enriched(object, enrichment)
    }

    /// The last contact with `customer`, when there is a contact history, a customer, and an
    /// answer by `deadline`.
    async fn last_contact(
        &self,
        event: &StripeEvent,
        account: Option<&str>,
        customer: Option<&str>,
        deadline: Instant,
    ) -> Option<LastContact> {
        let (contacts, customer) = (self.contacts.as_ref()?, customer?);
        match tokio::time::timeout_at(deadline, contacts.last_contact(account, customer)).await {
            Ok(Ok(contact)) => contact,
            Ok(Err(e)) => {
                tracing::debug!(event_id = %event.id(), error = %e, "no last contact");
                None
            }
            Err(_) => {
                tracing::debug!(event_id = %event.id(), "the last contact did not come within the deadline");
                None
            }
        }
    }

    /// Says once per kind of object that the key may not read it (a restricted key without
    /// that permission); later refusals of the same kind are not logged again.
    fn refused(&self, read: &Read) {
        let resource = read
            .path()
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let first = self
            .refused
            .lock()
            .map(|mut seen| seen.insert(resource.clone()))
            .unwrap_or(false);
        if first {
            tracing::warn!(
                resource = %resource,
                "the Stripe API key may not read {resource}: messages go out without those details until the restricted key is given read access to them"
            );
        }
    }

    /// One read: from the cache, else from Stripe when the breaker and the pace allow.
    async fn fetch(
        &self,
        fetch: &Fetch,
        deadline: Instant,
        reading: &AtomicBool,
    ) -> Option<Arc<Value>> {
        let key = fetch.read.cache_key();
        let answer = self
            .cache
            .get_or_read(&key, || async {
                if !self.breaker.admit(Instant::now()) {
                    return Err(Missed::Open);
                }
                if let Some(limiter) = &self.limiter {
                    let Some(turn) = limiter.reserve_by(deadline) else {
                        self.breaker.release_probe();
                        return Err(Missed::Budget);
                    };
                    tokio::time::sleep_until(turn).await;
                }
                self.calls.fetch_add(1, Ordering::Relaxed);
                reading.store(true, Ordering::Relaxed);
                let result = self.reader.read(&fetch.read).await;
                reading.store(false, Ordering::Relaxed);
                match result {
                    Ok(value) => {
                        self.breaker.answered();
                        Ok(value)
                    }
                    Err(e) => {
                        tracing::debug!(read = %fetch.read, kind = %e.kind(), error = %e, "a read for enrichment failed");
                        if e.status() == Some(403) {
                            self.refused(&fetch.read);
                        }
                        self.breaker.failed(e.kind(), e.status(), e.message(), Instant::now());
                        Err(Missed::Failed)
                    }
                }
            })
            .await;
        match answer {
            Ok(value) => Some(value),
            Err(missed) => {
                tracing::trace!(read = %fetch.read, ?missed, "read not made or failed");
                None
            }
        }
    }
}

/// The customer the object is about: the customer itself, its `customer` (id or expanded), or
/// an expanded charge's customer (a dispute).
fn customer_of(object: &Value) -> Option<&str> {
    fn id_or_object(v: &Value) -> Option<&str> {
        match v {
            Value::String(s) if !s.is_empty() => Some(s.as_str()),
            Value::Object(map) => map.get("id").and_then(Value::as_str),
            _ => None,
        }
    }
    if object.get("object").and_then(Value::as_str) == Some("customer") {
        return object.get("id").and_then(Value::as_str);
    }
    object
        .get("customer")
        .and_then(id_or_object)
        .or_else(|| object.pointer("/charge/customer").and_then(id_or_object))
}

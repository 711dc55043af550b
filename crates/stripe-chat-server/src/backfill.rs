//! Backfill: fetch the events Stripe could not deliver and store them as the webhook endpoint
//! would have.
//!
//! `stripe-chat backfill --since 24h` runs [`backfill`]. It lists the events created since then
//! whose webhook delivery has not succeeded (still being retried by Stripe, or given up on), with
//! `GET /v1/events?delivery_success=false&created[gte]=<since>&limit=100`, page after page
//! (`starting_after` the last event of the page while `has_more`), and ingests each one into the
//! [`Store`] with one job per destination its routes name, about the object given by
//! [`thread_key`](crate::ingest::thread_key): exactly what `POST /webhooks/stripe` does with a
//! delivered event. Events already stored (received by the endpoint after all, or by an earlier
//! backfill) are deduplicated on their id and counted as duplicates, so running it again is safe.
//!
//! # How Stripe is called
//!
//! Through async-stripe: its `ListEvent` request builder (crate `async-stripe-core`, feature
//! `event`) makes the query, and its [`stripe::Client`] sends it (the `Authorization: Bearer`
//! header, the `Stripe-Version` it is pinned to, a timeout on every attempt, and optionally
//! retries with exponential backoff, see [`BackfillClient::with_attempts`]).
//!
//! The answer is **not** decoded into async-stripe's typed `List<Event>`: the store needs each
//! event's JSON text as Stripe sent it, and the typed model keeps `data.object` as a
//! re-serializable value (keys reordered, unknown envelope fields dropped) and expects the
//! envelope of recent API versions (an event of an API version before 2017-05-25 has a string
//! `request`). So the client's undecoded answer is taken through async-stripe's client interface
//! (`StripeClient::execute`, which returns the response body), and the page is read leniently:
//! each event keeps its JSON text byte for byte as it appears in the page, and is parsed with
//! [`StripeEvent::from_json`], which takes any API version and any event type.
//!
//! # Errors
//!
//! [`BackfillError::kind`] classifies every failure like a delivery error: `unauthorized` (401,
//! 403: the key is wrong, revoked, or may not read events), `rate_limited` (429), `transient`
//! (5xx, timeouts, connection failures, a transient store failure: run it again later) and
//! `permanent` (any other refusal, an answer that is not an event list). Error messages and the
//! `Debug` output of [`BackfillClient`] never contain the API key.

#![forbid(unsafe_code)]

use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use stripe::{Client, ClientBuilder, RequestStrategy, StripeError, StripeRequest};
use stripe_chat_events::StripeEvent;
use stripe_chat_message::{ErrorKind, Secret};
use stripe_chat_route::Routes;
use stripe_chat_store::{NewEvent, Store, StoreError};
use stripe_client_core::{CustomizedStripeRequest, StripeClient};
use stripe_core::event::ListEvent;
use stripe_types::RangeQueryTs;

/// Where Stripe's API is, unless [`BackfillClient::new`] is given another base URL.
///
/// ```
/// assert_eq!(stripe_chat_server::backfill::STRIPE_API_BASE, "https://api.stripe.com/");
/// ```
pub const STRIPE_API_BASE: &str = "https://api.stripe.com/";

/// Events per page asked for: the most Stripe returns at once.
///
/// ```
/// assert_eq!(stripe_chat_server::backfill::PAGE_SIZE, 100);
/// ```
pub const PAGE_SIZE: i64 = 100;

/// Longest Stripe error message kept in a [`BackfillError`], in characters.
const MAX_DETAIL_CHARS: usize = 300;

/// A Stripe API client for [`backfill`]: async-stripe's client with the API key, a timeout on
/// every request, and how many attempts each page gets.
///
/// Its `Debug` output shows the base URL and the timeout, never the key.
///
/// ```
/// use std::time::Duration;
/// use stripe_chat_message::Secret;
/// use stripe_chat_server::backfill::BackfillClient;
///
/// let client = BackfillClient::new(Secret::new("sk_test_4eC39HqLyjWDarjtT1zdp7dc"), None, Duration::from_secs(30))?
///     .with_attempts(3);
/// let shown = format!("{client:?}");
/// assert!(shown.contains("https://api.stripe.com/"));
/// assert!(!shown.contains("4eC39HqLyjWDarjtT1zdp7dc"));
/// # Ok::<(), stripe_chat_server::backfill::BackfillError>(())
/// ```
pub struct BackfillClient {
    client: Client,
    api_key: Secret,
    base_url: String,
    timeout: Duration,
    attempts: u32,
}

impl BackfillClient {
    /// A client for Stripe's API at `base_url` (default [`STRIPE_API_BASE`]; tests point it at a
    /// mock server) authenticating with `api_key` (a secret `sk_…` or restricted `rk_…` key that
    /// may read events). Every HTTP attempt is abandoned after `timeout` (async-stripe sets none
    /// by default). Each page gets one attempt; see [`BackfillClient::with_attempts`].
    ///
    /// Fails ([`ErrorKind::Permanent`]) when the key is empty or not printable ASCII, the URL is
    /// invalid, or the timeout is zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// use stripe_chat_message::{ErrorKind, Secret};
    /// use stripe_chat_server::backfill::BackfillClient;
    ///
    /// let local = BackfillClient::new(Secret::new("sk_test_1"), Some("http://127.0.0.1:12111".into()), Duration::from_secs(5));
    /// assert!(local.is_ok());
    /// let empty = BackfillClient::new(Secret::new(""), None, Duration::from_secs(5)).unwrap_err();
    /// assert_eq!(empty.kind(), ErrorKind::Permanent);
    /// ```
    pub fn new(
        api_key: Secret,
        base_url: Option<String>,
        timeout: Duration,
    ) -> Result<Self, BackfillError> {
        if api_key.expose().trim().is_empty() {
            return Err(BackfillError::permanent(
                None,
                "the Stripe API key is empty",
            ));
        }
        if timeout.is_zero() {
            return Err(BackfillError::permanent(
                None,
                "the Stripe request timeout must be more than zero",
            ));
        }
        let mut base_url = base_url.unwrap_or_else(|| STRIPE_API_BASE.to_owned());
        if !base_url.starts_with("https://") && !base_url.starts_with("http://") {
            return Err(BackfillError::permanent(
                None,
                format!("the Stripe API base URL `{base_url}` is not an http(s) URL"),
            ));
        }
        // async-stripe appends `v1/events` to the base as it is.
        if !base_url.ends_with('/') {
            base_url.push('/');
        }
        let client = ClientBuilder::new(api_key.expose())
            .url(base_url.clone())
            .timeout(timeout)
            .app_info(
                "stripe-chat",
                Some(env!("CARGO_PKG_VERSION").to_owned()),
                None,
            )
            .build()
            .map_err(|e| {
                // Only configuration is checked here (the key as a header value, the URL).
                let message = match e {
                    StripeError::ClientError(reason) | StripeError::ConfigError(reason) => reason,
                    other => other.to_string(),
                };
                BackfillError::permanent(
                    None,
                    format!(
                        "invalid Stripe client configuration: {}",
                        scrub(&message, &api_key)
                    ),
                )
            })?;
        Ok(BackfillClient {
            client,
            api_key,
            base_url,
            timeout,
            attempts: 1,
        })
    }

    /// The same client, giving each page up to `attempts` tries (at least one): a timeout, a
    /// connection failure, 409, 429 or 5xx is tried again with exponential backoff, unless Stripe
    /// answers `Stripe-Should-Retry: false`. Listing is a read, so retrying is always safe.
    ///
    /// ```
    /// use std::time::Duration;
    /// use stripe_chat_message::Secret;
    /// let client = stripe_chat_server::backfill::BackfillClient::new(Secret::new("sk_test_1"), None, Duration::from_secs(5))?
    ///     .with_attempts(4);
    /// assert_eq!(client.attempts(), 4);
    /// # Ok::<(), stripe_chat_server::backfill::BackfillError>(())
    /// ```
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// How many tries each page gets.
    ///
    /// ```
    /// use std::time::Duration;
    /// use stripe_chat_message::Secret;
    /// let client = stripe_chat_server::backfill::BackfillClient::new(Secret::new("sk_test_1"), None, Duration::from_secs(5))?;
    /// assert_eq!(client.attempts(), 1);
    /// # Ok::<(), stripe_chat_server::backfill::BackfillError>(())
    /// ```
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The base URL requests go to (with a trailing `/`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use stripe_chat_message::Secret;
    /// let client = stripe_chat_server::backfill::BackfillClient::new(
    ///     Secret::new("sk_test_1"), Some("http://127.0.0.1:12111".into()), Duration::from_secs(5))?;
    /// assert_eq!(client.base_url(), "http://127.0.0.1:12111/");
    /// # Ok::<(), stripe_chat_server::backfill::BackfillError>(())
    /// ```
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// One page of undelivered events created at or after `since` (Unix seconds), after the
    /// event `after`: the response body, undecoded.
    async fn list_page(&self, since: i64, after: Option<&str>) -> Result<Bytes, BackfillError> {
        let mut list = ListEvent::new()
            .delivery_success(false)
            .created(RangeQueryTs::gte(since))
            .limit(PAGE_SIZE);
        if let Some(after) = after {
            list = list.starting_after(after);
        }
        let strategy = if self.attempts > 1 {
            RequestStrategy::ExponentialBackoff(self.attempts)
        } else {
            RequestStrategy::Once
        };
        let raw = RawAnswer {
            client: &self.client,
            body: OnceLock::new(),
        };
        // Decoded as `()` from the `null` that `RawAnswer` hands back; the body itself is kept.
        list.build()
            .customize::<()>()
            .request_strategy(strategy)
            .send(&raw)
            .await
            .map_err(|e| classify(e, &self.api_key, self.timeout))?;
        raw.body.into_inner().ok_or_else(|| {
            BackfillError::permanent(None, "the Stripe client returned no response body")
        })
    }
}

impl fmt::Debug for BackfillClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackfillClient")
            .field("api_key", &self.api_key)
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("attempts", &self.attempts)
            .finish()
    }
}

/// async-stripe's client, keeping the response body instead of letting the request decode it.
///
/// A request built by async-stripe can only be sent through [`StripeClient::execute`] by way of
/// its `send`, which decodes the body with the request's output type. This client sends the
/// request with async-stripe's client, keeps the body, and hands `send` a `null` to decode as
/// `()`.
struct RawAnswer<'a> {
    client: &'a Client,
    body: OnceLock<Bytes>,
}

impl StripeClient for RawAnswer<'_> {
    type Err = StripeError;

    async fn execute(&self, request: CustomizedStripeRequest) -> Result<Bytes, StripeError> {
        let body = self.client.execute(request).await?;
        // `send` executes once per request (retries happen inside `Client::execute`).
        let _ = self.body.set(body);
        Ok(Bytes::from_static(b"null"))
    }
}

/// What one [`backfill`] run did.
///
/// `listed = ingested + duplicates + skipped`.
///
/// ```
/// let report = stripe_chat_server::backfill::BackfillReport::default();
/// assert_eq!((report.listed, report.pages), (0, 0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackfillReport {
    /// Events Stripe listed as not delivered.
    pub listed: usize,
    /// Events stored now, with their jobs.
    pub ingested: usize,
    /// Events that were already stored: nothing was written for them.
    pub duplicates: usize,
    /// Listed items that are not Stripe events (no `id`, `type`, `created` or `data.object`):
    /// not stored. Stripe's event list never has any.
    pub skipped: usize,
    /// Jobs created for the ingested events.
    pub jobs: usize,
    /// Pages fetched.
    pub pages: usize,
}

/// A failed [`backfill`], classified by [`BackfillError::kind`].
///
/// Messages say what failed in words, with Stripe's error type and code; they never contain the
/// API key (a key-like token in Stripe's message is masked) nor an event body.
///
/// ```
/// use std::time::Duration;
/// use stripe_chat_message::ErrorKind;
/// use stripe_chat_server::backfill::BackfillError;
///
/// let e = BackfillError::RateLimited { retry_after: Some(Duration::from_secs(2)), message: "Stripe answered 429".into() };
/// assert_eq!(e.kind(), ErrorKind::RateLimited);
/// assert!(e.kind().is_retryable());
/// assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
/// assert_eq!(e.to_string(), "rate_limited: Stripe answered 429");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackfillError {
    /// Stripe refused the API key (401), or the key may not read events (403): fix the key.
    #[error("unauthorized: {message}")]
    Unauthorized {
        /// The HTTP status.
        status: u16,
        /// What Stripe said, without its message (which quotes part of the key).
        message: String,
    },
    /// Stripe is rate limiting (429): wait, then run the backfill again.
    #[error("rate_limited: {message}")]
    RateLimited {
        /// How long Stripe asked to wait. async-stripe's client does not pass response headers
        /// on, and Stripe documents no `Retry-After` for its API, so a 429 from Stripe leaves this
        /// `None`: back off exponentially.
        retry_after: Option<Duration>,
        /// What Stripe said.
        message: String,
    },
    /// Trying again later may succeed: 5xx, 409, a timeout, a connection failure, an error answer
    /// without a readable Stripe error.
    #[error("transient: {message}")]
    Transient {
        /// The HTTP status, when Stripe answered with a readable error.
        status: Option<u16>,
        /// What failed.
        message: String,
    },
    /// Trying again will fail the same way: another 4xx, an invalid configuration, an answer
    /// that is not an event list.
    #[error("permanent: {message}")]
    Permanent {
        /// The HTTP status, when Stripe answered with a readable error.
        status: Option<u16>,
        /// What failed.
        message: String,
    },
    /// The store could not ingest an event; events ingested before it stay stored.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl BackfillError {
    fn permanent(status: Option<u16>, message: impl Into<String>) -> Self {
        BackfillError::Permanent {
            status,
            message: message.into(),
        }
    }

    fn transient(status: Option<u16>, message: impl Into<String>) -> Self {
        BackfillError::Transient {
            status,
            message: message.into(),
        }
    }

    /// What kind of failure: what to do next.
    ///
    /// ```
    /// use stripe_chat_message::ErrorKind;
    /// use stripe_chat_server::backfill::BackfillError;
    /// use stripe_chat_store::StoreError;
    ///
    /// let busy = BackfillError::Store(StoreError::Unavailable { reason: "database is locked".into() });
    /// assert_eq!(busy.kind(), ErrorKind::Transient);
    /// let refused = BackfillError::Unauthorized { status: 401, message: "Stripe refused the API key".into() };
    /// assert_eq!(refused.kind(), ErrorKind::Unauthorized);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            BackfillError::Unauthorized { .. } => ErrorKind::Unauthorized,
            BackfillError::RateLimited { .. } => ErrorKind::RateLimited,
            BackfillError::Transient { .. } => ErrorKind::Transient,
            BackfillError::Permanent { .. } => ErrorKind::Permanent,
            BackfillError::Store(e) if e.is_transient() => ErrorKind::Transient,
            BackfillError::Store(_) => ErrorKind::Permanent,
        }
    }

    /// How long Stripe asked to wait, for rate-limited failures that said so.
    ///
    /// ```
    /// use stripe_chat_server::backfill::BackfillError;
    /// let e = BackfillError::Transient { status: Some(503), message: "Stripe answered 503".into() };
    /// assert_eq!(e.retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            BackfillError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status Stripe answered, when known.
    ///
    /// ```
    /// use stripe_chat_server::backfill::BackfillError;
    /// let e = BackfillError::Unauthorized { status: 401, message: "Stripe refused the API key".into() };
    /// assert_eq!(e.status(), Some(401));
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            BackfillError::Unauthorized { status, .. } => Some(*status),
            BackfillError::RateLimited { .. } => Some(429),
            BackfillError::Transient { status, .. } | BackfillError::Permanent { status, .. } => {
                *status
            }
            BackfillError::Store(_) => None,
        }
    }
}

/// Classifies an async-stripe error, keeping the key out of the message.
fn classify(error: StripeError, api_key: &Secret, timeout: Duration) -> BackfillError {
    match error {
        StripeError::Stripe(api, status) => {
            let mut what = api.type_.as_str().to_owned();
            if let Some(code) = &api.code {
                what.push('/');
                what.push_str(code.as_str());
            }
            if matches!(status, 401 | 403) {
                // Stripe's message quotes part of the key: leave it out.
                let hint = if status == 403 {
                    "the key may not list events"
                } else {
                    "check the key"
                };
                return BackfillError::Unauthorized {
                    status,
                    message: format!("Stripe refused the API key (HTTP {status}, {what}): {hint}"),
                };
            }
            let said = api
                .message
                .as_deref()
                .map(|m| format!(": {}", scrub(m, api_key)))
                .unwrap_or_default();
            let message = format!("Stripe answered {status} ({what}){said}");
            match status {
                429 => BackfillError::RateLimited {
                    retry_after: None,
                    message,
                },
                409 | 500..=599 => BackfillError::transient(Some(status), message),
                _ => BackfillError::permanent(Some(status), message),
            }
        }
        StripeError::Timeout => BackfillError::transient(
            None,
            format!("no answer from Stripe within {} s", timeout.as_secs_f64()),
        ),
        StripeError::ClientError(reason) => BackfillError::transient(
            None,
            format!("cannot reach Stripe: {}", scrub(&reason, api_key)),
        ),
        // The body of a successful answer is never decoded by async-stripe here (see
        // `RawAnswer`), so this is an error status whose body is not a Stripe error (a proxy or a
        // gateway answered): the status is not passed on.
        StripeError::JSONDeserialize(reason) => BackfillError::transient(
            None,
            format!(
                "Stripe answered an error without a readable Stripe error ({})",
                scrub(&reason, api_key)
            ),
        ),
        StripeError::ConfigError(reason) => BackfillError::permanent(
            None,
            format!(
                "invalid Stripe client configuration: {}",
                scrub(&reason, api_key)
            ),
        ),
    }
}

/// `text` without the API key, with any key-like token masked, at most [`MAX_DETAIL_CHARS`].
fn scrub(text: &str, api_key: &Secret) -> String {
    const KEY_PREFIXES: [&str; 4] = ["sk_live_", "sk_test_", "rk_live_", "rk_test_"];
    let key = api_key.expose();
    let text = if key.is_empty() {
        text.to_owned()
    } else {
        text.replace(key, "**redacted**")
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = KEY_PREFIXES.iter().filter_map(|p| rest.find(p)).min() {
        out.push_str(&rest[..at]);
        let token = &rest[at..];
        let end = token
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '*'))
            .unwrap_or(token.len());
        out.push_str("**redacted**");
        rest = &token[end..];
    }
    out.push_str(rest);
    if out.chars().count() > MAX_DETAIL_CHARS {
        out = out.chars().take(MAX_DETAIL_CHARS).collect::<String>() + "…";
    }
    out
}

/// A page of Stripe's event list, each event kept as the JSON text Stripe sent.
#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
    has_more: bool,
}

/// Only the `id` of a listed item.
#[derive(Deserialize)]
struct ItemId {
    id: Option<String>,
}

fn read_page(body: &[u8]) -> Result<Page<'_>, BackfillError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| BackfillError::permanent(None, "Stripe's event list is not UTF-8"))?;
    // serde_json's message may quote the body: say where it broke, not what was there.
    serde_json::from_str(text).map_err(|e| {
        BackfillError::permanent(
            None,
            format!(
                "Stripe's answer is not an event list ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ),
        )
    })
}

fn item_id(item: &RawValue) -> Option<String> {
    serde_json::from_str::<ItemId>(item.get())
        .ok()
        .and_then(|i| i.id)
        .filter(|id| !id.is_empty())
}

/// Fetches the events created since `since` whose webhook delivery has not succeeded, and
/// ingests each into `store` with one job per destination `routes` send it to (see the
/// [module documentation](self)). Jobs are due from `now`, the time recorded as the events'
/// receipt.
///
/// Events already stored count as duplicates and get no new jobs: running it twice is safe.
/// Stripe keeps events for 30 days; `since` may be older. On an error, the events of the pages
/// before it stay ingested; running it again picks up the rest.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::{Duration, SystemTime};
/// use stripe_chat_message::Secret;
/// use stripe_chat_route::Routes;
/// use stripe_chat_server::backfill::{backfill, BackfillClient};
/// use stripe_chat_store::{MemoryStore, Store};
/// use wiremock::matchers::{method, path, query_param};
/// use wiremock::{Mock, MockServer, ResponseTemplate};
///
/// // Stripe's API, played by a mock server.
/// let stripe = MockServer::start().await;
/// let event = r#"{"id":"evt_1","object":"event","type":"invoice.payment_failed","created":1700000000,
///   "livemode":false,"data":{"object":{"id":"in_1","object":"invoice","amount_due":5000,"currency":"usd"}}}"#;
/// Mock::given(method("GET"))
///     .and(path("/v1/events"))
///     .and(query_param("delivery_success", "false"))
///     .respond_with(ResponseTemplate::new(200).set_body_string(format!(
///         r#"{{"object":"list","url":"/v1/events","has_more":false,"data":[{event}]}}"#)))
///     .mount(&stripe)
///     .await;
///
/// let client = BackfillClient::new(Secret::new("sk_test_123"), Some(stripe.uri()), Duration::from_secs(10))?;
/// let store = MemoryStore::new();
/// let routes: Routes = serde_json::from_str(r#"[{ "events": ["invoice.*"], "to": ["billing"] }]"#)?;
/// let now = SystemTime::now();
/// let since = now - Duration::from_secs(24 * 3600);
///
/// let report = backfill(&client, &store, &routes, since, now).await?;
/// assert_eq!((report.listed, report.ingested, report.jobs, report.pages), (1, 1, 1, 1));
/// assert_eq!(store.event("evt_1").await?.map(|e| e.raw), Some(event.to_owned()));
///
/// let again = backfill(&client, &store, &routes, since, now).await?;
/// assert_eq!((again.ingested, again.duplicates), (0, 1));
/// # Ok(())
/// # }
/// ```
pub async fn backfill(
    client: &BackfillClient,
    store: &dyn Store,
    routes: &Routes,
    since: SystemTime,
    now: SystemTime,
) -> Result<BackfillReport, BackfillError> {
    if since > now {
        return Err(BackfillError::permanent(
            None,
            "the backfill start is in the future",
        ));
    }
    let since_secs = since
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .ok_or_else(|| BackfillError::permanent(None, "the backfill start is before 1970"))?;

    let mut report = BackfillReport::default();
    let mut cursor: Option<String> = None;
    loop {
        let body = client.list_page(since_secs, cursor.as_deref()).await?;
        report.pages += 1;
        let page = read_page(&body)?;
        tracing::debug!(
            page = report.pages,
            events = page.data.len(),
            has_more = page.has_more,
            "listed undelivered Stripe events"
        );
        for item in &page.data {
            report.listed += 1;
            let event = match StripeEvent::from_json(item.get().to_owned()) {
                Ok(event) => event,
                Err(_) => {
                    // The parse error may quote the item: log its id only.
                    tracing::warn!(
                        item_id = item_id(item).as_deref().unwrap_or("(none)"),
                        "skipping an item of Stripe's event list that is not an event"
                    );
                    report.skipped += 1;
                    continue;
                }
            };
            let jobs = crate::ingest::jobs_for(routes, &event, now);
            let new_event = NewEvent {
                id: event.id().to_owned(),
                event_type: event.event_type().to_owned(),
                created: event.created(),
                livemode: event.livemode(),
                account: event.account().map(str::to_owned),
                raw: event.raw().to_owned(),
                received_at: now,
            };
            let done = store.ingest(new_event, jobs).await?;
            if done.duplicate {
                report.duplicates += 1;
            } else {
                report.ingested += 1;
                report.jobs += done.jobs_created;
            }
        }
        if !page.has_more {
            break;
        }
        let next = page.data.last().and_then(|item| item_id(item)).ok_or_else(|| {
            BackfillError::permanent(
                None,
                "Stripe's event list says it has more, but its last page ends without an event id",
            )
        })?;
        if cursor.as_deref() == Some(next.as_str()) {
            return Err(BackfillError::permanent(
                None,
                format!("Stripe's event list repeats the page after {next}"),
            ));
        }
        cursor = Some(next);
    }
    tracing::info!(
        listed = report.listed,
        ingested = report.ingested,
        duplicates = report.duplicates,
        skipped = report.skipped,
        jobs = report.jobs,
        pages = report.pages,
        "backfill done"
    );
    Ok(report)
}

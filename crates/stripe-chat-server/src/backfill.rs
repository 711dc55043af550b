//! Backfill: fetch the events Stripe could not deliver and store them as the webhook endpoint
//! would have.
//!
//! `stripe-chat backfill --since 24h` runs [`backfill_with`] (with [`BackfillOptions`]: an end
//! to the window, a dry run; [`parse_time`] reads `--since` and `--until`). It lists the events
//! created since then
//! whose webhook delivery has not succeeded (still being retried by Stripe, or given up on), with
//! `GET /v1/events?delivery_success=false&created[gte]=<since>&limit=100`, page after page
//! (`starting_after` the last event of the page while `has_more`), and ingests each one into the
//! [`Store`] with one job per destination its routes name, about the object given by
//! [`StripeEvent::subject`](stripe_chat_events::StripeEvent::subject): exactly what `POST /webhooks/stripe` does with a
//! delivered event. Events already stored (received by the endpoint after all, or by an earlier
//! backfill) are deduplicated on their id and counted as duplicates, so running it again is safe.
//!
//! # How Stripe is called
//!
//! Through [`stripe_chat_stripe::Client`]: async-stripe's `ListEvent` request builder (crate
//! `async-stripe-core`, feature `event`) makes the query; the client sends it with the API key,
//! a timeout on every attempt and its retry policy (a listing is a read, so retrying is always
//! safe).
//!
//! The answer is **not** decoded into async-stripe's typed `List<Event>`: the store needs each
//! event's JSON text as Stripe sent it, and the typed model keeps `data.object` as a
//! re-serializable value (keys reordered, unknown envelope fields dropped) and expects the
//! envelope of recent API versions (an event of an API version before 2017-05-25 has a string
//! `request`). So the page is taken undecoded ([`Client::send_raw`]) and read leniently: each
//! event keeps its JSON text byte for byte as it appears in the page, and is parsed with
//! [`StripeEvent::from_json`], which takes any API version and any event type.
//!
//! # Errors
//!
//! [`BackfillError::kind`] classifies every failure like a delivery error: `unauthorized` (401,
//! 403: the key is wrong, revoked, or may not read events), `rate_limited` (429), `transient`
//! (5xx, timeouts, connection failures, a transient store failure: run it again later) and
//! `permanent` (any other refusal, an answer that is not an event list, an unusable window).
//! Error messages never contain the API key.

#![forbid(unsafe_code)]

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::value::RawValue;
use stripe_chat_events::StripeEvent;
use stripe_chat_message::ErrorKind;
use stripe_chat_route::Routes;
use stripe_chat_store::{Store, StoreError};
use stripe_chat_stripe::{ApiError, Client};
use stripe_core::event::ListEvent;
use stripe_types::{RangeBoundsTs, RangeQueryTs};

/// Events per page asked for: the most Stripe returns at once.
///
/// ```
/// assert_eq!(stripe_chat_server::backfill::PAGE_SIZE, 100);
/// ```
pub const PAGE_SIZE: i64 = 100;

/// One page of undelivered events created at or after `since` and, when given, at or before
/// `until` (Unix seconds), after the event `after`: the response body, undecoded.
async fn list_page(
    client: &Client,
    since: i64,
    until: Option<i64>,
    after: Option<&str>,
) -> Result<bytes::Bytes, BackfillError> {
    let created = RangeQueryTs::Bounds(RangeBoundsTs {
        gte: Some(since),
        lte: until,
        ..RangeBoundsTs::default()
    });
    let mut list = ListEvent::new()
        .delivery_success(false)
        .created(created)
        .limit(PAGE_SIZE);
    if let Some(after) = after {
        list = list.starting_after(after);
    }
    Ok(client.send_raw(&list, None).await?)
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
    /// Nothing was written: `ingested` and `jobs` count what a real run would have stored.
    pub dry_run: bool,
}

impl fmt::Display for BackfillReport {
    /// One line saying what was fetched, stored, deduplicated and queued.
    ///
    /// ```
    /// let report = stripe_chat_server::backfill::BackfillReport::default();
    /// assert_eq!(
    ///     report.to_string(),
    ///     "fetched 0 undelivered event(s) in 0 page(s): 0 stored, 0 duplicate(s), 0 skipped, 0 delivery job(s) created"
    /// );
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (stored, created) = if self.dry_run {
            ("would be stored", "would be created")
        } else {
            ("stored", "created")
        };
        write!(
            f,
            "fetched {} undelivered event(s) in {} page(s): {} {stored}, {} duplicate(s), {} skipped, {} delivery job(s) {created}",
            self.listed, self.pages, self.ingested, self.duplicates, self.skipped, self.jobs
        )?;
        if self.dry_run {
            f.write_str(" (dry run: nothing written)")?;
        }
        Ok(())
    }
}

/// Which undelivered events [`backfill_with`] fetches, and whether it stores them.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use stripe_chat_server::backfill::BackfillOptions;
///
/// let now = SystemTime::now();
/// let options = BackfillOptions::since(now - Duration::from_secs(24 * 3600))
///     .until(now - Duration::from_secs(3600))
///     .dry_run(true);
/// assert!(options.dry_run);
/// assert_eq!(options.until, Some(now - Duration::from_secs(3600)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackfillOptions {
    /// Events created at or after this time.
    pub since: SystemTime,
    /// Events created at or before this time (`None`: up to now).
    pub until: Option<SystemTime>,
    /// List and count, but store nothing.
    pub dry_run: bool,
}

impl BackfillOptions {
    /// The events created since `since`, up to now, stored.
    ///
    /// ```
    /// let options = stripe_chat_server::backfill::BackfillOptions::since(std::time::SystemTime::UNIX_EPOCH);
    /// assert_eq!((options.until, options.dry_run), (None, false));
    /// ```
    pub fn since(since: SystemTime) -> Self {
        BackfillOptions {
            since,
            until: None,
            dry_run: false,
        }
    }

    /// Only the events created at or before `until`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let until = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    /// let options = stripe_chat_server::backfill::BackfillOptions::since(SystemTime::UNIX_EPOCH).until(until);
    /// assert_eq!(options.until, Some(until));
    /// ```
    pub fn until(mut self, until: SystemTime) -> Self {
        self.until = Some(until);
        self
    }

    /// `true`: list and count what would be stored, without writing anything.
    ///
    /// ```
    /// let options = stripe_chat_server::backfill::BackfillOptions::since(std::time::SystemTime::UNIX_EPOCH).dry_run(true);
    /// assert!(options.dry_run);
    /// ```
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// A `--since` or `--until` value that is neither a duration nor a time.
///
/// ```
/// let e = stripe_chat_server::backfill::parse_time("yesterday", std::time::SystemTime::now()).unwrap_err();
/// assert!(e.to_string().starts_with("\"yesterday\" is not a duration"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a duration (30m, 24h, 7d, 1h30m) nor a time (2026-12-01, 2026-12-01T08:00:00Z, or Unix seconds)"
)]
pub struct TimeError {
    /// The value given.
    pub input: String,
}

/// Reads a `--since` / `--until` value: a duration before `now`, in the grammar of every
/// duration the project reads ([`stripe_chat_route::parse_duration`]: `90s`, `30m`, `24h`,
/// `7d`, `1w`, or a sum such as `1h30m`), a UTC date or time (`2026-12-01`,
/// `2026-12-01T08:00:00Z`), or Unix seconds (`1796083200`).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use stripe_chat_server::backfill::parse_time;
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_083_200);
/// assert_eq!(parse_time("24h", now)?, now - Duration::from_secs(86_400));
/// assert_eq!(parse_time("1h30m", now)?, now - Duration::from_secs(5_400));
/// assert_eq!(parse_time("2026-12-01T00:00:00Z", now)?, now);
/// assert_eq!(parse_time("2026-12-01", now)?, now);
/// assert_eq!(parse_time("1796083200", now)?, now);
/// assert!(parse_time("24", now).is_ok(), "bare digits are Unix seconds");
/// assert!(parse_time("-1h", now).is_err());
/// # Ok::<(), stripe_chat_server::backfill::TimeError>(())
/// ```
pub fn parse_time(text: &str, now: SystemTime) -> Result<SystemTime, TimeError> {
    let input = text.trim();
    let error = || TimeError {
        input: text.to_owned(),
    };
    if input.is_empty() {
        return Err(error());
    }
    if input.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = input.parse().map_err(|_| error())?;
        return SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_secs(secs))
            .ok_or_else(error);
    }
    if let Some(ago) = stripe_chat_route::parse_duration(input) {
        return now
            .checked_sub(ago)
            .filter(|t| *t >= SystemTime::UNIX_EPOCH)
            .ok_or_else(error);
    }
    parse_utc(input)
        .and_then(|secs| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs)))
        .ok_or_else(error)
}

/// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]Z` (UTC, also with a space or `+00:00`) as Unix seconds.
fn parse_utc(text: &str) -> Option<u64> {
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut ymd = date.split('-');
    let year: i64 = ymd.next().filter(|y| y.len() == 4)?.parse().ok()?;
    let month: u32 = ymd.next().filter(|m| m.len() == 2)?.parse().ok()?;
    let day: u32 = ymd.next().filter(|d| d.len() == 2)?.parse().ok()?;
    if ymd.next().is_some() || !(1..=12).contains(&month) || day == 0 || day > days_in(year, month)
    {
        return None;
    }
    let seconds_of_day = match time {
        None => 0,
        Some(time) => {
            let time = time
                .strip_suffix('Z')
                .or_else(|| time.strip_suffix("+00:00"))?;
            let mut hms = time.split(':');
            let h: u64 = hms.next().filter(|v| v.len() == 2)?.parse().ok()?;
            let m: u64 = hms.next().filter(|v| v.len() == 2)?.parse().ok()?;
            let s: u64 = match hms.next() {
                None => 0,
                Some(v) if v.len() == 2 => v.parse().ok()?,
                Some(_) => return None,
            };
            if hms.next().is_some() || h > 23 || m > 59 || s > 59 {
                return None;
            }
            h * 3_600 + m * 60 + s
        }
    };
    let days = u64::try_from(days_from_civil(year, month, day)).ok()?;
    Some(days * 86_400 + seconds_of_day)
}

fn days_in(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given date (proleptic Gregorian calendar).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A failed [`backfill`], classified by [`BackfillError::kind`].
///
/// Messages say what failed in words, with Stripe's error type and code; they never contain the
/// API key nor an event body.
///
/// ```
/// use stripe_chat_message::ErrorKind;
/// use stripe_chat_server::backfill::BackfillError;
/// use stripe_chat_stripe::ApiError;
///
/// let e = BackfillError::from(ApiError::new(ErrorKind::RateLimited, Some(429), None, "Stripe answered 429"));
/// assert_eq!(e.kind(), ErrorKind::RateLimited);
/// assert!(e.kind().is_retryable());
/// assert_eq!(e.to_string(), "rate_limited: Stripe answered 429");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackfillError {
    /// Stripe refused, failed or could not be reached (see [`ApiError`]).
    #[error(transparent)]
    Stripe(#[from] ApiError),
    /// The window asked for cannot be listed (a start in the future, an end before the start).
    #[error("permanent: {0}")]
    Window(String),
    /// Stripe's answer is not a usable event list (it is never quoted).
    #[error("permanent: {0}")]
    Answer(String),
    /// The store could not ingest an event; events ingested before it stay stored.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl BackfillError {
    /// What kind of failure: what to do next.
    ///
    /// ```
    /// use stripe_chat_message::ErrorKind;
    /// use stripe_chat_server::backfill::BackfillError;
    /// use stripe_chat_store::StoreError;
    ///
    /// let busy = BackfillError::Store(StoreError::Unavailable { reason: "database is locked".into() });
    /// assert_eq!(busy.kind(), ErrorKind::Transient);
    /// assert_eq!(BackfillError::Window("the backfill start is in the future".into()).kind(), ErrorKind::Permanent);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            BackfillError::Stripe(e) => e.kind(),
            BackfillError::Window(_) | BackfillError::Answer(_) => ErrorKind::Permanent,
            BackfillError::Store(e) if e.is_transient() => ErrorKind::Transient,
            BackfillError::Store(_) => ErrorKind::Permanent,
        }
    }

    /// The HTTP status Stripe answered, when known.
    ///
    /// ```
    /// use stripe_chat_message::ErrorKind;
    /// use stripe_chat_server::backfill::BackfillError;
    /// let e = BackfillError::from(stripe_chat_stripe::ApiError::new(ErrorKind::Unauthorized, Some(401), None, "refused"));
    /// assert_eq!(e.status(), Some(401));
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            BackfillError::Stripe(e) => e.status(),
            _ => None,
        }
    }
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
        .map_err(|_| BackfillError::Answer("Stripe's event list is not UTF-8".to_owned()))?;
    // serde_json's message may quote the body: say where it broke, not what was there.
    serde_json::from_str(text).map_err(|e| {
        BackfillError::Answer(format!(
            "Stripe's answer is not an event list ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
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
/// use stripe_chat_server::backfill::backfill;
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
/// let client = stripe_chat_stripe::Client::builder(Secret::new("sk_test_123")).api_base(stripe.uri()).build()?;
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
    client: &Client,
    store: &dyn Store,
    routes: &Routes,
    since: SystemTime,
    now: SystemTime,
) -> Result<BackfillReport, BackfillError> {
    backfill_with(client, store, routes, BackfillOptions::since(since), now).await
}

/// [`backfill`] with options: an end to the window (`until`, inclusive, sent as
/// `created[lte]`), and a dry run that lists and counts without writing (an event already
/// stored counts as a duplicate; the others count as `ingested`, with the jobs they would get).
///
/// Fails ([`ErrorKind::Permanent`]) before calling Stripe when `since` is in the future or
/// before 1970, or `until` is before `since`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::{Duration, SystemTime};
/// use stripe_chat_message::Secret;
/// use stripe_chat_route::Routes;
/// use stripe_chat_server::backfill::{backfill_with, BackfillOptions};
/// use stripe_chat_store::{MemoryStore, Store};
/// use wiremock::matchers::{method, path, query_param};
/// use wiremock::{Mock, MockServer, ResponseTemplate};
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_083_200);
/// let stripe = MockServer::start().await;
/// let event = r#"{"id":"evt_1","object":"event","type":"invoice.paid","created":1796000000,
///   "livemode":false,"data":{"object":{"id":"in_1","object":"invoice","amount_paid":5000,"currency":"usd"}}}"#;
/// Mock::given(method("GET"))
///     .and(path("/v1/events"))
///     .and(query_param("created[gte]", "1795996800"))
///     .and(query_param("created[lte]", "1796079600"))
///     .respond_with(ResponseTemplate::new(200).set_body_string(format!(
///         r#"{{"object":"list","url":"/v1/events","has_more":false,"data":[{event}]}}"#)))
///     .mount(&stripe)
///     .await;
///
/// let client = stripe_chat_stripe::Client::builder(Secret::new("sk_test_123")).api_base(stripe.uri()).build()?;
/// let store = MemoryStore::new();
/// let routes: Routes = serde_json::from_str(r#"[{ "events": ["invoice.*"], "to": ["billing"] }]"#)?;
/// let options = BackfillOptions::since(now - Duration::from_secs(24 * 3600))
///     .until(now - Duration::from_secs(3600))
///     .dry_run(true);
///
/// let report = backfill_with(&client, &store, &routes, options, now).await?;
/// assert_eq!((report.listed, report.ingested, report.jobs), (1, 1, 1));
/// assert!(store.event("evt_1").await?.is_none(), "a dry run writes nothing");
/// # Ok(())
/// # }
/// ```
pub async fn backfill_with(
    client: &Client,
    store: &dyn Store,
    routes: &Routes,
    options: BackfillOptions,
    now: SystemTime,
) -> Result<BackfillReport, BackfillError> {
    backfill_with_progress(client, store, routes, options, now, |_| {}).await
}

/// [`backfill_with`], telling `progress` the counts so far after each page of Stripe's list
/// (what `stripe-chat backfill` shows on a terminal: pages fetched, events stored).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::{Duration, SystemTime};
/// use stripe_chat_message::Secret;
/// use stripe_chat_route::Routes;
/// use stripe_chat_server::backfill::{backfill_with_progress, BackfillOptions};
/// use stripe_chat_store::MemoryStore;
/// use wiremock::matchers::{method, path};
/// use wiremock::{Mock, MockServer, ResponseTemplate};
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_083_200);
/// let stripe = MockServer::start().await;
/// Mock::given(method("GET")).and(path("/v1/events"))
///     .respond_with(ResponseTemplate::new(200).set_body_string(
///         r#"{"object":"list","url":"/v1/events","has_more":false,"data":[]}"#))
///     .mount(&stripe).await;
/// let client = stripe_chat_stripe::Client::builder(Secret::new("sk_test_1"))
///     .api_base(stripe.uri()).build()?;
/// let mut pages = Vec::new();
/// let options = BackfillOptions::since(now - Duration::from_secs(3600));
/// backfill_with_progress(&client, &MemoryStore::new(), &Routes::default(), options, now, |so_far| {
///     pages.push(so_far.pages)
/// }).await?;
/// assert_eq!(pages, [1]);
/// # Ok(())
/// # }
/// ```
pub async fn backfill_with_progress(
    client: &Client,
    store: &dyn Store,
    routes: &Routes,
    options: BackfillOptions,
    now: SystemTime,
    mut progress: impl FnMut(&BackfillReport),
) -> Result<BackfillReport, BackfillError> {
    let BackfillOptions {
        since,
        until,
        dry_run,
    } = options;
    if since > now {
        return Err(BackfillError::Window(
            "the backfill start is in the future".to_owned(),
        ));
    }
    if until.is_some_and(|until| until < since) {
        return Err(BackfillError::Window(
            "the backfill end is before its start".to_owned(),
        ));
    }
    let unix = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_secs()).ok())
    };
    let since_secs = unix(since)
        .ok_or_else(|| BackfillError::Window("the backfill start is before 1970".to_owned()))?;
    let until_secs =
        match until {
            None => None,
            Some(until) => Some(unix(until).ok_or_else(|| {
                BackfillError::Window("the backfill end is out of range".to_owned())
            })?),
        };

    let mut report = BackfillReport {
        dry_run,
        ..BackfillReport::default()
    };
    let mut cursor: Option<String> = None;
    loop {
        let body = list_page(client, since_secs, until_secs, cursor.as_deref()).await?;
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
            let new_event = crate::ingest::new_event(&event, now);
            if dry_run {
                if store.event(&new_event.id).await?.is_some() {
                    report.duplicates += 1;
                } else {
                    report.ingested += 1;
                    report.jobs += jobs.len();
                }
                continue;
            }
            let done = store.ingest(new_event, jobs).await?;
            if done.duplicate {
                report.duplicates += 1;
            } else {
                report.ingested += 1;
                report.jobs += done.jobs_created;
            }
        }
        progress(&report);
        if !page.has_more {
            break;
        }
        let next = page
            .data
            .last()
            .and_then(|item| item_id(item))
            .ok_or_else(|| {
                BackfillError::Answer(
                "Stripe's event list says it has more, but its last page ends without an event id"
                    .to_owned(),
            )
            })?;
        if cursor.as_deref() == Some(next.as_str()) {
            return Err(BackfillError::Answer(format!(
                "Stripe's event list repeats the page after {next}"
            )));
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
        dry_run,
        "backfill done"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn durations_count_back_from_now() {
        let now = at(1_000_000);
        for (text, ago) in [
            ("90s", 90),
            ("30m", 1_800),
            ("24h", 86_400),
            (" 7d ", 604_800),
            ("1w", 604_800),
            ("1h30m", 5_400),
            ("1.5h", 5_400),
            ("2h 30min", 9_000),
            ("0s", 0),
        ] {
            assert_eq!(parse_time(text, now), Ok(at(1_000_000 - ago)), "{text}");
        }
    }

    #[test]
    fn utc_dates_and_times_and_unix_seconds_are_absolute() {
        let now = at(0);
        assert_eq!(parse_time("1970-01-01", now), Ok(at(0)));
        assert_eq!(parse_time("2000-03-01T00:00:00Z", now), Ok(at(951_868_800)));
        assert_eq!(parse_time("2024-02-29T12:30Z", now), Ok(at(1_709_209_800)));
        assert_eq!(
            parse_time("2026-12-01 08:00:00+00:00", now),
            Ok(at(1_796_112_000))
        );
        assert_eq!(parse_time("1796083200", now), Ok(at(1_796_083_200)));
    }

    #[test]
    fn anything_else_is_refused_with_the_value_quoted() {
        let now = at(1_000_000);
        for text in [
            "",
            "h",
            "-1h",
            "24x",
            "1h30",
            "2023-02-29",
            "2026-13-01",
            "2026-12-01T25:00:00Z",
            "2026-12-01T08:00:00",
            "2026-12-01T08:00:00+02:00",
            "yesterday",
            "99999999999999999999d",
        ] {
            let error = parse_time(text, now).expect_err(text);
            assert_eq!(error.input, text);
        }
        assert!(parse_time("2000d", at(0)).is_err(), "before 1970");
    }
}

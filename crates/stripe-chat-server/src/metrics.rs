//! Prometheus metrics of the service: what `/metrics` shows.
//!
//! Counters and histograms are lock-free on the webhook's hot path (atomics); per-destination
//! delivery counters sit behind a mutex, touched once per delivery.
//!
//! Refusals are also logged, but never one line per request: each reason gets at most one
//! `WARN` line per [`REFUSAL_LOG_INTERVAL`], with the count since its previous line (see
//! [`Metrics::rejected`]). A flood of hostile or broken clients costs a few log lines, not one
//! per client.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use stripe_chat_store::{Backlog, Stats};

/// Why a webhook request was refused; one Prometheus label value each.
///
/// ```
/// use stripe_chat_server::metrics::Rejection;
/// assert_eq!(Rejection::BodyTooLarge.as_str(), "body_too_large");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// No `Stripe-Signature` header.
    MissingHeader,
    /// The header is not `t=...,v1=...`.
    MalformedHeader,
    /// No `v1` signature matches a configured secret.
    NoValidSignature,
    /// The signature's timestamp is too far from now.
    TimestampOutOfTolerance,
    /// The body is over the configured limit (413).
    BodyTooLarge,
    /// The body could not be read (the client went away).
    BodyUnreadable,
    /// A signature-valid body that is not JSON, or JSON without an event id (400).
    NotAnEvent,
    /// The store could not commit (503: Stripe retries).
    StoreUnavailable,
    /// The body did not arrive within `server.body_timeout_secs` (408, disconnected).
    BodyTimeout,
    /// A connection did not send a whole request head within `server.header_timeout_secs`
    /// (disconnected without an answer). An idle keep-alive connection that already served a
    /// request is closed the same way, but not counted.
    HeaderTimeout,
}

impl Rejection {
    const ALL: [Rejection; 10] = [
        Rejection::MissingHeader,
        Rejection::MalformedHeader,
        Rejection::NoValidSignature,
        Rejection::TimestampOutOfTolerance,
        Rejection::BodyTooLarge,
        Rejection::BodyUnreadable,
        Rejection::NotAnEvent,
        Rejection::StoreUnavailable,
        Rejection::BodyTimeout,
        Rejection::HeaderTimeout,
    ];

    /// The label value.
    ///
    /// ```
    /// assert_eq!(stripe_chat_server::metrics::Rejection::NoValidSignature.as_str(), "no_valid_signature");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::MissingHeader => "missing_header",
            Rejection::MalformedHeader => "malformed_header",
            Rejection::NoValidSignature => "no_valid_signature",
            Rejection::TimestampOutOfTolerance => "timestamp_out_of_tolerance",
            Rejection::BodyTooLarge => "body_too_large",
            Rejection::BodyUnreadable => "body_unreadable",
            Rejection::NotAnEvent => "not_an_event",
            Rejection::StoreUnavailable => "store_unavailable",
            Rejection::BodyTimeout => "body_timeout",
            Rejection::HeaderTimeout => "header_timeout",
        }
    }

    /// From a signature error's [`reason`](stripe_chat_events::SignatureError::reason).
    ///
    /// ```
    /// use stripe_chat_server::metrics::Rejection;
    /// assert_eq!(Rejection::from_signature_reason("missing_header"), Rejection::MissingHeader);
    /// ```
    pub fn from_signature_reason(reason: &str) -> Self {
        match reason {
            "missing_header" => Rejection::MissingHeader,
            "malformed_header" => Rejection::MalformedHeader,
            "timestamp_out_of_tolerance" => Rejection::TimestampOutOfTolerance,
            _ => Rejection::NoValidSignature,
        }
    }

    fn index(self) -> usize {
        Rejection::ALL
            .iter()
            .position(|r| *r == self)
            .unwrap_or_default()
    }
}

/// A fixed-bucket histogram of seconds.
#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    fn observe(&self, value: Duration) {
        let seconds = value.as_secs_f64();
        if let Some(i) = self.bounds.iter().position(|b| seconds <= *b) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micros.fetch_add(
            u64::try_from(value.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

const ACK_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];
const DELIVERY_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
];

/// Each refusal reason gets at most one log line per interval this long, with its count.
///
/// ```
/// assert_eq!(stripe_chat_server::metrics::REFUSAL_LOG_INTERVAL.as_secs(), 10);
/// ```
pub const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// What the refusal log counts: every [`Rejection`], then connections that waited at the limit.
const LOGGED: usize = Rejection::ALL.len() + 1;

/// The delivery outcomes every configured destination shows from the start, at 0, so that
/// `rate()` and `increase()` over them work before the first one happens.
///
/// ```
/// assert!(stripe_chat_server::metrics::MAIN_OUTCOMES.contains(&"dead_lettered"));
/// ```
pub const MAIN_OUTCOMES: [&str; 6] = [
    "delivered",
    "updated",
    "retried",
    "rate_limited",
    "paused",
    "dead_lettered",
];

/// Outcomes that mean a message reached its destination.
const SUCCESSES: [&str; 3] = ["delivered", "updated", "digested"];

/// Delivery counts per (destination, outcome), and each destination's last success.
#[derive(Debug, Default)]
struct Deliveries {
    counts: BTreeMap<(String, &'static str), u64>,
    /// Unix seconds of the last success (0: none yet).
    last_success: BTreeMap<String, u64>,
}

/// The refusal log's memory: when it last wrote, and the counts it has reported.
#[derive(Debug, Default)]
struct RefusalLog {
    last: Option<Instant>,
    reported: [u64; LOGGED],
}

/// The service's counters, histograms and the cached job counts.
///
/// ```
/// use std::time::Duration;
/// use stripe_chat_server::metrics::{Metrics, Rejection};
/// let metrics = Metrics::default();
/// metrics.received();
/// metrics.rejected(Rejection::NoValidSignature);
/// metrics.acknowledged(false, Duration::from_millis(2));
/// metrics.delivery("log", "delivered", Some(Duration::from_millis(40)));
/// let text = metrics.render(None);
/// assert!(text.contains("stripe_chat_webhooks_received_total 1"));
/// assert!(text.contains(r#"stripe_chat_webhooks_rejected_total{reason="no_valid_signature"} 1"#));
/// assert!(text.contains(r#"stripe_chat_deliveries_total{destination="log",outcome="delivered"} 1"#));
/// ```
#[derive(Debug)]
pub struct Metrics {
    received: AtomicU64,
    accepted_new: AtomicU64,
    accepted_duplicate: AtomicU64,
    rejected: [AtomicU64; Rejection::ALL.len()],
    connections_open: AtomicUsize,
    connections_limit: AtomicUsize,
    connections_queued: AtomicU64,
    refusal_log: Mutex<RefusalLog>,
    ack: Histogram,
    delivery_latency: Histogram,
    deliveries: Mutex<Deliveries>,
    stats: Mutex<Option<(Instant, Stats)>>,
    /// Per destination: `None` when up, else until when it is paused (its next probe).
    destinations: Mutex<BTreeMap<String, Option<SystemTime>>>,
    backlog: Mutex<Option<(Instant, Vec<Backlog>)>>,
    /// Enriched events: with every detail wanted, and marked "details unavailable".
    enriched: [AtomicU64; 2],
    /// Reads sent to Stripe by enrichment (the enricher's own count).
    enrich_calls: AtomicU64,
    /// Interaction requests by platform: taken, and refused by reason (with the refusal log).
    interactions: Mutex<Interactions>,
}

#[derive(Debug, Default)]
struct Interactions {
    taken: BTreeMap<&'static str, u64>,
    refused: BTreeMap<(&'static str, &'static str), Refusals>,
}

#[derive(Debug, Default)]
struct Refusals {
    total: u64,
    unlogged: u64,
    logged_at: Option<Instant>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            received: AtomicU64::new(0),
            accepted_new: AtomicU64::new(0),
            accepted_duplicate: AtomicU64::new(0),
            rejected: Default::default(),
            connections_open: AtomicUsize::new(0),
            connections_limit: AtomicUsize::new(0),
            connections_queued: AtomicU64::new(0),
            refusal_log: Mutex::new(RefusalLog::default()),
            ack: Histogram::new(ACK_BUCKETS),
            delivery_latency: Histogram::new(DELIVERY_BUCKETS),
            deliveries: Mutex::new(Deliveries::default()),
            stats: Mutex::new(None),
            destinations: Mutex::new(BTreeMap::new()),
            backlog: Mutex::new(None),
            enriched: Default::default(),
            enrich_calls: AtomicU64::new(0),
            interactions: Mutex::new(Interactions::default()),
        }
    }
}

impl Metrics {
    /// Metrics with every series of each destination in `names` present from the start: up,
    /// no backlog, no success yet, and [`MAIN_OUTCOMES`] at 0.
    ///
    /// ```
    /// let metrics = stripe_chat_server::metrics::Metrics::with_destinations(["slack"]);
    /// let text = metrics.render(None);
    /// assert!(text.contains(r#"stripe_chat_deliveries_total{destination="slack",outcome="delivered"} 0"#));
    /// assert!(text.contains(r#"stripe_chat_destination_last_success_seconds{destination="slack"} 0"#));
    /// assert!(text.contains(r#"stripe_chat_destination_up{destination="slack"} 1"#));
    /// ```
    pub fn with_destinations<I>(names: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let metrics = Metrics::default();
        for name in names {
            metrics.register_destination(name.as_ref());
        }
        metrics
    }

    /// Makes `destination`'s series present (see [`Metrics::with_destinations`]); what it
    /// already shows is kept.
    ///
    /// ```
    /// let metrics = stripe_chat_server::metrics::Metrics::default();
    /// metrics.register_destination("teams");
    /// assert!(metrics.render(None).contains(r#"stripe_chat_deliveries_total{destination="teams",outcome="retried"} 0"#));
    /// ```
    pub fn register_destination(&self, destination: &str) {
        if let Ok(mut deliveries) = self.deliveries.lock() {
            for outcome in MAIN_OUTCOMES {
                deliveries
                    .counts
                    .entry((destination.to_owned(), outcome))
                    .or_default();
            }
            deliveries
                .last_success
                .entry(destination.to_owned())
                .or_default();
        }
        if let Ok(mut map) = self.destinations.lock() {
            map.entry(destination.to_owned()).or_default();
        }
    }

    /// An event went through enrichment: `unavailable` when details it wanted could not be read
    /// (its message says "details unavailable"); `calls` is how many reads enrichment has sent
    /// to Stripe so far.
    ///
    /// ```
    /// let metrics = stripe_chat_server::metrics::Metrics::default();
    /// metrics.enriched(false, 1);
    /// metrics.enriched(true, 1);
    /// let text = metrics.render(None);
    /// assert!(text.contains(r#"stripe_chat_enriched_total{result="unavailable"} 1"#));
    /// assert!(text.contains("stripe_chat_enrich_stripe_calls_total 1"));
    /// ```
    pub fn enriched(&self, unavailable: bool, calls: u64) {
        self.enriched[usize::from(unavailable)].fetch_add(1, Ordering::Relaxed);
        self.enrich_calls.fetch_max(calls, Ordering::Relaxed);
    }

    /// A webhook request arrived.
    ///
    /// ```
    /// stripe_chat_server::metrics::Metrics::default().received();
    /// ```
    pub fn received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    /// A webhook request (or a connection, for [`Rejection::HeaderTimeout`]) was refused for
    /// `reason`. Counted, and logged at most once per [`REFUSAL_LOG_INTERVAL`] per reason: the
    /// first refusal after a quiet interval is logged at once, later ones are added up into the
    /// next line (written by the next refusal once the interval has passed, or by
    /// [`Metrics::flush_refusal_log`]).
    ///
    /// ```
    /// use stripe_chat_server::metrics::{Metrics, Rejection};
    /// let metrics = Metrics::default();
    /// for _ in 0..1000 {
    ///     metrics.rejected(Rejection::BodyTimeout); // one log line, not a thousand
    /// }
    /// assert!(metrics.render(None).contains(r#"stripe_chat_webhooks_rejected_total{reason="body_timeout"} 1000"#));
    /// ```
    pub fn rejected(&self, reason: Rejection) {
        self.rejected[reason.index()].fetch_add(1, Ordering::Relaxed);
        self.log_refusals(false);
    }

    /// Logs the refusals counted since the last line of each reason, if
    /// [`REFUSAL_LOG_INTERVAL`] has passed since the log last wrote. The service calls it every
    /// second, so that the end of a burst is logged too.
    ///
    /// ```
    /// stripe_chat_server::metrics::Metrics::default().flush_refusal_log();
    /// ```
    pub fn flush_refusal_log(&self) {
        self.log_refusals(false);
    }

    /// Logs the refusals not logged yet, whatever the interval (at shutdown).
    pub(crate) fn flush_refusal_log_now(&self) {
        self.log_refusals(true);
    }

    fn log_refusals(&self, now: bool) {
        // A refusal never waits for another one's logging: its count is in the next line.
        let Ok(mut log) = self.refusal_log.try_lock() else {
            return;
        };
        let since = log.last.map(|at| at.elapsed());
        if !now && since.is_some_and(|since| since < REFUSAL_LOG_INTERVAL) {
            return;
        }
        let over_secs = since.map(|d| d.as_secs());
        let mut wrote = false;
        for i in 0..LOGGED {
            let total = match Rejection::ALL.get(i) {
                Some(reason) => self.rejected[reason.index()].load(Ordering::Relaxed),
                None => self.connections_queued.load(Ordering::Relaxed),
            };
            let count = total.saturating_sub(log.reported[i]);
            if count == 0 {
                continue;
            }
            log.reported[i] = total;
            wrote = true;
            match Rejection::ALL.get(i) {
                Some(reason) => tracing::warn!(
                    reason = reason.as_str(),
                    count,
                    over_secs,
                    "webhook requests refused"
                ),
                None => tracing::warn!(
                    reason = "connection_limit",
                    count,
                    over_secs,
                    limit = self.connections_limit.load(Ordering::Relaxed),
                    "connection limit reached: new connections waited for a free one"
                ),
            }
        }
        if wrote {
            log.last = Some(Instant::now());
        }
    }

    /// A client connection was accepted.
    pub(crate) fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
    }

    /// A client connection ended.
    pub(crate) fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    /// The listener takes at most `limit` connections at once.
    pub(crate) fn set_connection_limit(&self, limit: usize) {
        self.connections_limit.store(limit, Ordering::Relaxed);
    }

    /// A new connection had to wait because the limit was reached (counted and logged like a
    /// refusal, reason `connection_limit`).
    pub(crate) fn connection_waited(&self) {
        self.connections_queued.fetch_add(1, Ordering::Relaxed);
        self.log_refusals(false);
    }

    /// An event was durably stored (or was a duplicate) and answered 2xx after `took`.
    ///
    /// ```
    /// stripe_chat_server::metrics::Metrics::default().acknowledged(true, std::time::Duration::ZERO);
    /// ```
    pub fn acknowledged(&self, duplicate: bool, took: Duration) {
        if duplicate {
            self.accepted_duplicate.fetch_add(1, Ordering::Relaxed);
        } else {
            self.accepted_new.fetch_add(1, Ordering::Relaxed);
        }
        self.ack.observe(took);
    }

    /// How many webhook events were acknowledged so far (new and duplicate): the workers look
    /// at it to leave the store to acknowledgements while they come.
    pub(crate) fn acknowledgements(&self) -> u64 {
        self.accepted_new.load(Ordering::Relaxed) + self.accepted_duplicate.load(Ordering::Relaxed)
    }

    /// A job for `destination` ended with `outcome` (`delivered`, `updated`, `nothing`, `stale`,
    /// `inhibited`, `retried`, `rate_limited`, `dead_lettered`, `lease_lost`, `store_error`);
    /// `latency` (from receipt to delivery) when a message went out.
    ///
    /// ```
    /// stripe_chat_server::metrics::Metrics::default().delivery("log", "retried", None);
    /// ```
    pub fn delivery(&self, destination: &str, outcome: &'static str, latency: Option<Duration>) {
        if let Ok(mut deliveries) = self.deliveries.lock() {
            *deliveries
                .counts
                .entry((destination.to_owned(), outcome))
                .or_default() += 1;
            if SUCCESSES.contains(&outcome) {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                deliveries.last_success.insert(destination.to_owned(), now);
            }
        }
        if let Some(latency) = latency {
            self.delivery_latency.observe(latency);
        }
    }

    /// How many jobs of `destination` ended with `outcome` so far.
    ///
    /// ```
    /// let m = stripe_chat_server::metrics::Metrics::default();
    /// m.delivery("log", "inhibited", None);
    /// assert_eq!(m.deliveries("log", "inhibited"), 1);
    /// ```
    pub fn deliveries(&self, destination: &str, outcome: &str) -> u64 {
        self.deliveries
            .lock()
            .map(|deliveries| {
                deliveries
                    .counts
                    .iter()
                    .filter(|((d, o), _)| d == destination && *o == outcome)
                    .map(|(_, n)| *n)
                    .sum()
            })
            .unwrap_or_default()
    }

    /// `destination` delivers (its circuit breaker is closed).
    ///
    /// ```
    /// let m = stripe_chat_server::metrics::Metrics::default();
    /// m.destination_up("slack");
    /// assert!(m.render(None).contains(r#"stripe_chat_destination_up{destination="slack"} 1"#));
    /// ```
    pub fn destination_up(&self, destination: &str) {
        if let Ok(mut map) = self.destinations.lock() {
            match map.get_mut(destination) {
                Some(state) => *state = None,
                None => {
                    map.insert(destination.to_owned(), None);
                }
            }
        }
    }

    /// `destination` is paused after failing; its next probe is at `until`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let m = stripe_chat_server::metrics::Metrics::default();
    /// m.destination_paused("slack", SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    /// let text = m.render(None);
    /// assert!(text.contains(r#"stripe_chat_destination_up{destination="slack"} 0"#));
    /// assert!(text.contains(r#"stripe_chat_destination_paused_until_seconds{destination="slack"} 1700000000"#));
    /// ```
    pub fn destination_paused(&self, destination: &str, until: SystemTime) {
        if let Ok(mut map) = self.destinations.lock() {
            map.insert(destination.to_owned(), Some(until));
        }
    }

    /// The cached backlog per destination, if fetched less than `max_age` ago.
    pub(crate) fn cached_backlog(&self, max_age: Duration) -> Option<Vec<Backlog>> {
        let cached = self.backlog.lock().ok()?;
        cached
            .as_ref()
            .filter(|(at, _)| at.elapsed() < max_age)
            .map(|(_, b)| b.clone())
    }

    /// Keeps `backlog` (from [`Store::backlog`](stripe_chat_store::Store::backlog)) for the
    /// next renderings.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use stripe_chat_store::Backlog;
    /// let m = stripe_chat_server::metrics::Metrics::default();
    /// m.cache_backlog(vec![Backlog { destination: "slack".into(), queued: 12, oldest_queued_at: Some(SystemTime::now() - Duration::from_secs(90)) }]);
    /// let text = m.render(None);
    /// assert!(text.contains(r#"stripe_chat_destination_backlog{destination="slack"} 12"#));
    /// assert!(text.contains(r#"stripe_chat_destination_oldest_queued_seconds{destination="slack"} 9"#));
    /// ```
    pub fn cache_backlog(&self, backlog: Vec<Backlog>) {
        if let Ok(mut cached) = self.backlog.lock() {
            *cached = Some((Instant::now(), backlog));
        }
    }

    /// The cached job counts, if fetched less than `max_age` ago.
    pub(crate) fn cached_stats(&self, max_age: Duration) -> Option<Stats> {
        let cached = self.stats.lock().ok()?;
        cached
            .as_ref()
            .filter(|(at, _)| at.elapsed() < max_age)
            .map(|(_, s)| *s)
    }

    pub(crate) fn cache_stats(&self, stats: Stats) {
        if let Ok(mut cached) = self.stats.lock() {
            *cached = Some((Instant::now(), stats));
        }
    }

    /// A verified interaction request from `platform` (`slack`, `discord`) was taken.
    ///
    /// ```
    /// let metrics = stripe_chat_server::metrics::Metrics::default();
    /// metrics.interaction_taken("slack");
    /// assert!(metrics.render(None).contains(r#"stripe_chat_interactions_total{platform="slack"} 1"#));
    /// ```
    pub fn interaction_taken(&self, platform: &'static str) {
        if let Ok(mut i) = self.interactions.lock() {
            *i.taken.entry(platform).or_default() += 1;
        }
    }

    /// An interaction request from `platform` was refused for `reason` (a forged, stale or
    /// replayed signature, a body too large…): counted, and logged without its payload at most
    /// once per [`REFUSAL_LOG_INTERVAL`] per platform and reason, with the count since.
    ///
    /// ```
    /// let metrics = stripe_chat_server::metrics::Metrics::default();
    /// metrics.interaction_refused("slack", "bad_signature");
    /// metrics.interaction_refused("slack", "bad_signature");
    /// assert!(metrics.render(None).contains(r#"stripe_chat_interactions_refused_total{platform="slack",reason="bad_signature"} 2"#));
    /// ```
    pub fn interaction_refused(&self, platform: &'static str, reason: &'static str) {
        let Ok(mut i) = self.interactions.lock() else {
            return;
        };
        let entry = i.refused.entry((platform, reason)).or_default();
        entry.total += 1;
        entry.unlogged += 1;
        let now = Instant::now();
        if entry
            .logged_at
            .is_none_or(|at| now.duration_since(at) >= REFUSAL_LOG_INTERVAL)
        {
            tracing::warn!(
                platform,
                reason,
                count = entry.unlogged,
                "interaction requests refused"
            );
            entry.unlogged = 0;
            entry.logged_at = Some(now);
        }
    }

    /// The Prometheus text exposition, with job counts when given.
    ///
    /// ```
    /// let text = stripe_chat_server::metrics::Metrics::default().render(Some(stripe_chat_store::Stats::default()));
    /// assert!(text.contains(r#"stripe_chat_jobs{state="pending"} 0"#));
    /// assert!(text.contains("stripe_chat_ack_seconds_bucket"));
    /// ```
    pub fn render(&self, stats: Option<Stats>) -> String {
        let mut out = String::with_capacity(4096);
        let _ = writeln!(
            out,
            "# HELP stripe_chat_build_info The running build (always 1).\n# TYPE stripe_chat_build_info gauge\nstripe_chat_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(
            out,
            "# HELP stripe_chat_webhooks_received_total Webhook requests received.\n# TYPE stripe_chat_webhooks_received_total counter\nstripe_chat_webhooks_received_total {}",
            self.received.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP stripe_chat_webhooks_accepted_total Events acknowledged with 2xx, new or duplicate.\n# TYPE stripe_chat_webhooks_accepted_total counter\nstripe_chat_webhooks_accepted_total{{result=\"new\"}} {}\nstripe_chat_webhooks_accepted_total{{result=\"duplicate\"}} {}",
            self.accepted_new.load(Ordering::Relaxed),
            self.accepted_duplicate.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP stripe_chat_webhooks_rejected_total Webhook requests refused (and connections closed for a late request head), by reason.\n# TYPE stripe_chat_webhooks_rejected_total counter"
        );
        for reason in Rejection::ALL {
            let _ = writeln!(
                out,
                "stripe_chat_webhooks_rejected_total{{reason=\"{}\"}} {}",
                reason.as_str(),
                self.rejected[reason.index()].load(Ordering::Relaxed)
            );
        }
        if let Ok(i) = self.interactions.lock() {
            let _ = writeln!(
                out,
                "# HELP stripe_chat_interactions_total Verified interaction requests (clicks, form submissions) taken, by platform.\n# TYPE stripe_chat_interactions_total counter"
            );
            for (platform, count) in &i.taken {
                let _ = writeln!(
                    out,
                    "stripe_chat_interactions_total{{platform=\"{platform}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "# HELP stripe_chat_interactions_refused_total Interaction requests refused (forged, stale or replayed signatures, bodies too large), by platform and reason.\n# TYPE stripe_chat_interactions_refused_total counter"
            );
            for ((platform, reason), r) in &i.refused {
                let _ = writeln!(
                    out,
                    "stripe_chat_interactions_refused_total{{platform=\"{platform}\",reason=\"{reason}\"}} {}",
                    r.total
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP stripe_chat_http_connections Client connections open.\n# TYPE stripe_chat_http_connections gauge\nstripe_chat_http_connections {}",
            self.connections_open.load(Ordering::Relaxed)
        );
        let limit = self.connections_limit.load(Ordering::Relaxed);
        if limit > 0 {
            let _ = writeln!(
                out,
                "# HELP stripe_chat_http_connections_limit Most client connections open at once (server.max_connections).\n# TYPE stripe_chat_http_connections_limit gauge\nstripe_chat_http_connections_limit {limit}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP stripe_chat_http_connections_queued_total Connections that waited for a free one because the limit was reached.\n# TYPE stripe_chat_http_connections_queued_total counter\nstripe_chat_http_connections_queued_total {}",
            self.connections_queued.load(Ordering::Relaxed)
        );
        if let Some(stats) = stats {
            let _ = writeln!(
                out,
                "# HELP stripe_chat_jobs Delivery jobs by state.\n# TYPE stripe_chat_jobs gauge"
            );
            for (state, n) in [
                ("pending", stats.pending),
                ("leased", stats.leased),
                ("dead", stats.dead),
                ("delivered", stats.delivered),
                ("superseded", stats.superseded),
            ] {
                let _ = writeln!(out, "stripe_chat_jobs{{state=\"{state}\"}} {n}");
            }
        }
        self.render_destinations(&mut out);
        let _ = writeln!(
            out,
            "# HELP stripe_chat_enriched_total Deliveries whose event went through enrichment: with every detail wanted, or without some (\"details unavailable\").\n# TYPE stripe_chat_enriched_total counter\nstripe_chat_enriched_total{{result=\"complete\"}} {}\nstripe_chat_enriched_total{{result=\"unavailable\"}} {}",
            self.enriched[0].load(Ordering::Relaxed),
            self.enriched[1].load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP stripe_chat_enrich_stripe_calls_total Reads sent to Stripe's API by enrichment (cached answers not counted).\n# TYPE stripe_chat_enrich_stripe_calls_total counter\nstripe_chat_enrich_stripe_calls_total {}",
            self.enrich_calls.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP stripe_chat_deliveries_total Delivery job outcomes, by destination and outcome.\n# TYPE stripe_chat_deliveries_total counter"
        );
        if let Ok(deliveries) = self.deliveries.lock() {
            for ((destination, outcome), n) in &deliveries.counts {
                let destination = destination.replace(['\\', '"', '\n'], "_");
                let _ = writeln!(
                    out,
                    "stripe_chat_deliveries_total{{destination=\"{destination}\",outcome=\"{outcome}\"}} {n}"
                );
            }
        }
        self.ack.write(
            &mut out,
            "stripe_chat_ack_seconds",
            "Time from request to 2xx, for acknowledged events.",
        );
        self.delivery_latency.write(
            &mut out,
            "stripe_chat_delivery_seconds",
            "Time from receipt to the message reaching its destination.",
        );
        out
    }

    /// Per destination: up or paused (and until when), backlog and its oldest job's age. Every
    /// configured destination has each series (0 when it has no backlog).
    fn render_destinations(&self, out: &mut String) {
        let states = self
            .destinations
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default();
        let backlog: BTreeMap<String, Backlog> = self
            .backlog
            .lock()
            .ok()
            .and_then(|b| b.as_ref().map(|(_, b)| b.clone()))
            .unwrap_or_default()
            .into_iter()
            .map(|b| (b.destination.clone(), b))
            .collect();
        let last_success = self
            .deliveries
            .lock()
            .map(|d| d.last_success.clone())
            .unwrap_or_default();
        let mut names: Vec<&String> = states.keys().collect();
        names.extend(backlog.keys().filter(|d| !states.contains_key(*d)));
        names.extend(
            last_success
                .keys()
                .filter(|d| !states.contains_key(*d) && !backlog.contains_key(*d)),
        );
        names.sort();
        let label = |d: &str| d.replace(['\\', '"', '\n'], "_");
        let _ = writeln!(
            out,
            "# HELP stripe_chat_destination_up 1 while the destination delivers, 0 while it is paused after failing.\n# TYPE stripe_chat_destination_up gauge"
        );
        for name in &names {
            let up = states.get(*name).is_none_or(Option::is_none);
            let _ = writeln!(
                out,
                "stripe_chat_destination_up{{destination=\"{}\"}} {}",
                label(name),
                u8::from(up)
            );
        }
        let _ = writeln!(
            out,
            "# HELP stripe_chat_destination_paused_until_seconds Unix time of a paused destination's next probe (0 while it delivers).\n# TYPE stripe_chat_destination_paused_until_seconds gauge"
        );
        for name in &names {
            let until = states
                .get(*name)
                .copied()
                .flatten()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            let _ = writeln!(
                out,
                "stripe_chat_destination_paused_until_seconds{{destination=\"{}\"}} {until}",
                label(name)
            );
        }
        let _ = writeln!(
            out,
            "# HELP stripe_chat_destination_backlog Jobs waiting or in flight, by destination.\n# TYPE stripe_chat_destination_backlog gauge"
        );
        for name in &names {
            let queued = backlog.get(*name).map_or(0, |b| b.queued);
            let _ = writeln!(
                out,
                "stripe_chat_destination_backlog{{destination=\"{}\"}} {queued}",
                label(name)
            );
        }
        let _ = writeln!(
            out,
            "# HELP stripe_chat_destination_oldest_queued_seconds Age of the destination's oldest waiting job (0 when none).\n# TYPE stripe_chat_destination_oldest_queued_seconds gauge"
        );
        for name in &names {
            let age = backlog
                .get(*name)
                .and_then(|b| b.oldest_queued_at)
                .and_then(|t| t.elapsed().ok())
                .map_or(0, |d| d.as_secs());
            let _ = writeln!(
                out,
                "stripe_chat_destination_oldest_queued_seconds{{destination=\"{}\"}} {age}",
                label(name)
            );
        }
        let _ = writeln!(
            out,
            "# HELP stripe_chat_destination_last_success_seconds Unix time of the destination's last message delivered, updated or digested (0 before the first).\n# TYPE stripe_chat_destination_last_success_seconds gauge"
        );
        for name in &names {
            let at = last_success.get(*name).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "stripe_chat_destination_last_success_seconds{{destination=\"{}\"}} {at}",
                label(name)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> Option<String> {
        text.lines()
            .find_map(|l| l.strip_prefix(series))
            .map(|v| v.trim().to_owned())
    }

    #[test]
    fn every_configured_destination_shows_its_main_outcomes_at_zero_before_any_delivery() {
        let metrics = Metrics::with_destinations(["slack", "audit"]);
        let text = metrics.render(None);
        for destination in ["slack", "audit"] {
            for outcome in MAIN_OUTCOMES {
                let series = format!(
                    "stripe_chat_deliveries_total{{destination=\"{destination}\",outcome=\"{outcome}\"}} "
                );
                assert_eq!(value(&text, &series).as_deref(), Some("0"), "{series}");
            }
            for gauge in [
                "stripe_chat_destination_up",
                "stripe_chat_destination_backlog",
                "stripe_chat_destination_oldest_queued_seconds",
                "stripe_chat_destination_last_success_seconds",
            ] {
                let series = format!("{gauge}{{destination=\"{destination}\"}} ");
                assert!(value(&text, &series).is_some(), "{series}");
            }
        }
    }

    #[test]
    fn registering_again_keeps_what_a_destination_already_counted() {
        let metrics = Metrics::with_destinations(["slack"]);
        metrics.delivery("slack", "delivered", None);
        metrics.register_destination("slack");
        assert_eq!(metrics.deliveries("slack", "delivered"), 1);
    }

    #[test]
    fn the_last_success_is_the_time_of_the_last_message_that_reached_the_destination() {
        let metrics = Metrics::with_destinations(["slack"]);
        let series = r#"stripe_chat_destination_last_success_seconds{destination="slack"} "#;
        for outcome in ["retried", "dead_lettered", "paused", "inhibited"] {
            metrics.delivery("slack", outcome, None);
        }
        assert_eq!(value(&metrics.render(None), series).as_deref(), Some("0"));
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        for outcome in SUCCESSES {
            metrics.register_destination(outcome);
            metrics.delivery(outcome, outcome, None);
            let series = format!(
                "stripe_chat_destination_last_success_seconds{{destination=\"{outcome}\"}} "
            );
            let at: u64 = value(&metrics.render(None), &series)
                .and_then(|v| v.parse().ok())
                .unwrap_or_default();
            assert!(at >= before && at <= before + 5, "{outcome}: {at}");
        }
    }

    #[test]
    fn build_info_names_the_version() {
        let text = Metrics::default().render(None);
        let series = format!(
            "stripe_chat_build_info{{version=\"{}\"}} ",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(value(&text, &series).as_deref(), Some("1"));
    }

    #[test]
    fn a_burst_of_refusals_is_counted_whole_and_logged_whole() {
        let metrics = Metrics::default();
        for _ in 0..500 {
            metrics.rejected(Rejection::HeaderTimeout);
        }
        metrics.flush_refusal_log_now();
        let text = metrics.render(None);
        assert_eq!(
            value(
                &text,
                r#"stripe_chat_webhooks_rejected_total{reason="header_timeout"} "#
            )
            .as_deref(),
            Some("500")
        );
        let log = metrics
            .refusal_log
            .lock()
            .map(|l| l.reported)
            .unwrap_or_default();
        assert_eq!(log[Rejection::HeaderTimeout.index()], 500, "all reported");
    }
}

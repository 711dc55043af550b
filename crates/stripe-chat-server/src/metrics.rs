//! Prometheus metrics of the service: what `/metrics` shows.
//!
//! Counters and histograms are lock-free on the webhook's hot path (atomics); per-destination
//! delivery counters sit behind a mutex, touched once per delivery.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
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
}

impl Rejection {
    const ALL: [Rejection; 8] = [
        Rejection::MissingHeader,
        Rejection::MalformedHeader,
        Rejection::NoValidSignature,
        Rejection::TimestampOutOfTolerance,
        Rejection::BodyTooLarge,
        Rejection::BodyUnreadable,
        Rejection::NotAnEvent,
        Rejection::StoreUnavailable,
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
    rejected: [AtomicU64; 8],
    ack: Histogram,
    delivery_latency: Histogram,
    deliveries: Mutex<BTreeMap<(String, &'static str), u64>>,
    stats: Mutex<Option<(Instant, Stats)>>,
    /// Per destination: `None` when up, else until when it is paused (its next probe).
    destinations: Mutex<BTreeMap<String, Option<SystemTime>>>,
    backlog: Mutex<Option<(Instant, Vec<Backlog>)>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            received: AtomicU64::new(0),
            accepted_new: AtomicU64::new(0),
            accepted_duplicate: AtomicU64::new(0),
            rejected: Default::default(),
            ack: Histogram::new(ACK_BUCKETS),
            delivery_latency: Histogram::new(DELIVERY_BUCKETS),
            deliveries: Mutex::new(BTreeMap::new()),
            stats: Mutex::new(None),
            destinations: Mutex::new(BTreeMap::new()),
            backlog: Mutex::new(None),
        }
    }
}

impl Metrics {
    /// A webhook request arrived.
    ///
    /// ```
    /// stripe_chat_server::metrics::Metrics::default().received();
    /// ```
    pub fn received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    /// A webhook request was refused for `reason`.
    ///
    /// ```
    /// use stripe_chat_server::metrics::{Metrics, Rejection};
    /// Metrics::default().rejected(Rejection::BodyTooLarge);
    /// ```
    pub fn rejected(&self, reason: Rejection) {
        self.rejected[reason.index()].fetch_add(1, Ordering::Relaxed);
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

    /// A job for `destination` ended with `outcome` (`delivered`, `updated`, `nothing`, `stale`,
    /// `inhibited`, `retried`, `rate_limited`, `dead_lettered`, `lease_lost`, `store_error`);
    /// `latency` (from receipt to delivery) when a message went out.
    ///
    /// ```
    /// stripe_chat_server::metrics::Metrics::default().delivery("log", "retried", None);
    /// ```
    pub fn delivery(&self, destination: &str, outcome: &'static str, latency: Option<Duration>) {
        if let Ok(mut map) = self.deliveries.lock() {
            *map.entry((destination.to_owned(), outcome)).or_default() += 1;
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
            .map(|map| {
                map.iter()
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
            "# HELP stripe_chat_webhooks_rejected_total Webhook requests refused, by reason.\n# TYPE stripe_chat_webhooks_rejected_total counter"
        );
        for reason in Rejection::ALL {
            let _ = writeln!(
                out,
                "stripe_chat_webhooks_rejected_total{{reason=\"{}\"}} {}",
                reason.as_str(),
                self.rejected[reason.index()].load(Ordering::Relaxed)
            );
        }
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
            "# HELP stripe_chat_deliveries_total Delivery job outcomes, by destination and outcome.\n# TYPE stripe_chat_deliveries_total counter"
        );
        if let Ok(map) = self.deliveries.lock() {
            for ((destination, outcome), n) in map.iter() {
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
        let mut names: Vec<&String> = states.keys().collect();
        names.extend(backlog.keys().filter(|d| !states.contains_key(*d)));
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
    }
}

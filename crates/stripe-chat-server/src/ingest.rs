//! The webhook endpoint's work: verify the signature on the raw bytes, parse leniently, route,
//! and commit the event with one job per destination before answering.
//!
//! Answers:
//! - `200 {"received":true,"duplicate":bool}` once the event and its jobs are durably committed
//!   (or the event id was already stored). Events of unknown types or API versions are stored and
//!   answered 200 like any other; so is a signed JSON body with an `id` that is not an event
//!   Stripe's endpoint format knows (a thin event): it is kept, with no job.
//! - `400 {"error":reason}` for a missing or malformed `Stripe-Signature`, no valid signature, a
//!   timestamp out of tolerance, and a signature-valid body that is not JSON or has no `id`
//!   (nothing to deduplicate on; Stripe never sends such a body). Nothing is stored.
//! - `413` for a body over `server.body_limit_bytes`: refused on its `Content-Length` before
//!   reading, or as soon as the streamed body passes the limit.
//! - `408` for a body that has not arrived within `server.body_timeout_secs` of the request's
//!   head; the connection is closed.
//! - `503` when the store cannot commit, so Stripe retries.
//!
//! # Thread keys
//!
//! Each job carries the thread key of the Stripe object its message is about,
//! [`StripeEvent::subject`] (`invoice/in_…`, `dispute/dp_…`), read from the event alone with no
//! transform on the hot path; the built-in transformers thread their messages on the same
//! subject. The store uses it to run one job per object at a time, oldest first, and to keep one
//! message per object.

use std::time::{Duration, Instant, SystemTime};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use stripe_chat_events::{EventError, StripeEvent, WebhookVerifier};
use stripe_chat_route::Routes;
use stripe_chat_store::{NewEvent, NewJob, Store};
use tokio::sync::Notify;

use crate::body::BodyError;
use crate::metrics::{Metrics, Rejection};

/// The header Stripe signs with.
const SIGNATURE_HEADER: &str = "stripe-signature";

/// How long after a digest window's end its summary is due: events received just before the end,
/// whose commit is still queued, join the window's summary instead of making one of their own.
///
/// ```
/// assert_eq!(stripe_chat_server::ingest::DIGEST_SETTLE.as_secs(), 1);
/// ```
pub const DIGEST_SETTLE: Duration = Duration::from_secs(1);

/// The jobs for `event` received at `received_at`: one per destination `routes` send it to, about
/// the object [`StripeEvent::subject`] names. When the route that sends it to a destination has a
/// `digest`, the job is collected into that route's window containing `received_at` (keyed
/// `route/window start/window length`) and due [`DIGEST_SETTLE`] after the window ends; it has no
/// thread key, since a summary is about many objects.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use stripe_chat_events::StripeEvent;
/// let routes: stripe_chat_route::Routes = serde_json::from_value(serde_json::json!([
///   { "name": "sales", "events": ["charge.*"], "to": ["chat"], "digest": { "window": "1m" }, "continue": true },
///   { "to": ["log"] }
/// ]))?;
/// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"charge.succeeded",
///   "created":1,"data":{"object":{"id":"ch_1","object":"charge"}}}"#)?;
/// let received = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_050);
/// let jobs = stripe_chat_server::ingest::jobs_for(&routes, &event, received);
/// assert_eq!(jobs[0].digest.as_deref(), Some("sales/1700000040/60"));
/// assert_eq!(jobs[0].not_before, Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_101)));
/// assert!(jobs[0].thread_key.is_none());
/// assert_eq!((jobs[1].destination.as_str(), jobs[1].digest.as_deref()), ("log", None));
/// assert_eq!(jobs[1].thread_key.as_deref(), Some("charge/ch_1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn jobs_for(routes: &Routes, event: &StripeEvent, received_at: SystemTime) -> Vec<NewJob> {
    let key = event.subject().map(|subject| subject.to_string());
    routes
        .targets(event)
        .into_iter()
        .map(|target| {
            let job = NewJob::new(target.destination);
            match (&target.route.digest, &key) {
                (Some(digest), _) => {
                    let label = target.route.label(target.index);
                    job.digest(digest.window_at(label, received_at).to_string())
                        .not_before(digest.window_end(received_at) + DIGEST_SETTLE)
                }
                (None, Some(key)) => job.thread_key(key.clone()),
                (None, None) => job,
            }
        })
        .collect()
}

/// What the store keeps of `event`, received at `received_at`: its envelope and its raw JSON.
pub(crate) fn new_event(event: &StripeEvent, received_at: SystemTime) -> NewEvent {
    NewEvent {
        id: event.id().to_owned(),
        event_type: event.event_type().to_owned(),
        created: event.created(),
        livemode: event.livemode(),
        account: event.account().map(str::to_owned),
        raw: event.raw().to_owned(),
        received_at,
    }
}

fn reply(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// What the webhook endpoint works with, lent by the router's state for one request.
pub(crate) struct Webhook<'a> {
    /// Where events and jobs are committed.
    pub(crate) store: &'a dyn Store,
    /// The configured secrets.
    pub(crate) verifier: &'a WebhookVerifier,
    /// Which destinations an event goes to.
    pub(crate) routes: &'a Routes,
    /// The largest accepted body, in bytes.
    pub(crate) body_limit: usize,
    /// How long the body may take to arrive.
    pub(crate) body_timeout: Duration,
    /// Where answers are counted.
    pub(crate) metrics: &'a Metrics,
    /// Wakes the delivery workers when jobs were committed.
    pub(crate) wake: &'a Notify,
}

fn refuse(metrics: &Metrics, status: StatusCode, reason: Rejection) -> Response {
    // Counted, and logged once per interval with the count: never one line per request.
    metrics.rejected(reason);
    tracing::debug!(
        reason = reason.as_str(),
        status = status.as_u16(),
        "webhook refused"
    );
    reply(status, format!("{{\"error\":\"{}\"}}", reason.as_str()))
}

/// Handles one `POST` of a Stripe webhook (see the module documentation for the answers).
pub(crate) async fn handle(webhook: Webhook<'_>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let metrics = webhook.metrics;
    metrics.received();
    let limit = webhook.body_limit;

    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return refuse(
            metrics,
            StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::BodyTooLarge,
        );
    }
    let bytes: Bytes = match crate::body::read(body, limit, webhook.body_timeout).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => {
            return refuse(
                metrics,
                StatusCode::PAYLOAD_TOO_LARGE,
                Rejection::BodyTooLarge,
            );
        }
        Err(BodyError::TimedOut) => {
            return refuse(metrics, StatusCode::REQUEST_TIMEOUT, Rejection::BodyTimeout);
        }
        Err(BodyError::Unreadable) => {
            return refuse(metrics, StatusCode::BAD_REQUEST, Rejection::BodyUnreadable);
        }
    };

    let signature = match headers.get(SIGNATURE_HEADER) {
        None => None,
        Some(value) => match value.to_str() {
            Ok(value) => Some(value),
            Err(_) => {
                return refuse(metrics, StatusCode::BAD_REQUEST, Rejection::MalformedHeader);
            }
        },
    };
    if let Err(e) = webhook.verifier.verify(&bytes, signature) {
        return refuse(
            metrics,
            StatusCode::BAD_REQUEST,
            Rejection::from_signature_reason(e.reason()),
        );
    }

    let received_at = SystemTime::now();
    let (new_event, jobs) = match StripeEvent::from_slice(&bytes) {
        Ok(event) => {
            let jobs = jobs_for(webhook.routes, &event, received_at);
            (new_event(&event, received_at), jobs)
        }
        Err(EventError::NotJson(_)) => {
            return refuse(metrics, StatusCode::BAD_REQUEST, Rejection::NotAnEvent);
        }
        Err(_) => match lenient(&bytes, received_at) {
            Some(event) => (event, Vec::new()),
            None => return refuse(metrics, StatusCode::BAD_REQUEST, Rejection::NotAnEvent),
        },
    };

    let event_id = new_event.id.clone();
    match webhook.store.ingest(new_event, jobs).await {
        Ok(done) => {
            if done.jobs_created > 0 {
                webhook.wake.notify_one();
            }
            metrics.acknowledged(done.duplicate, started.elapsed());
            tracing::debug!(
                event_id,
                duplicate = done.duplicate,
                jobs = done.jobs_created,
                "webhook stored"
            );
            reply(
                StatusCode::OK,
                format!("{{\"received\":true,\"duplicate\":{}}}", done.duplicate),
            )
        }
        Err(e) => {
            metrics.rejected(Rejection::StoreUnavailable);
            tracing::error!(event_id, error = %e, "cannot store the webhook; answering 503 so Stripe retries");
            reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "{\"error\":\"store_unavailable\"}".to_owned(),
            )
        }
    }
}

/// A signed JSON body that is not a classic event but has a string `id`: kept as-is, without jobs.
fn lenient(bytes: &[u8], received_at: SystemTime) -> Option<NewEvent> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let id = value.get("id")?.as_str().filter(|id| !id.is_empty())?;
    let now = received_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Some(NewEvent {
        id: id.to_owned(),
        event_type: value
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("unknown")
            .to_owned(),
        created: value
            .get("created")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(now),
        livemode: value
            .get("livemode")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        account: None,
        raw: String::from_utf8_lossy(bytes).into_owned(),
        received_at,
    })
}

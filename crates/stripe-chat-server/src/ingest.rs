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
//! Each job carries the thread key of the Stripe object its message is about, computed here by
//! [`thread_key`] from the event alone (no transform on the hot path). It follows the rule of the
//! built-in transformers: payment intents and charges thread on their invoice, else their payment
//! intent; everything else on the event's own object (`invoice/in_…`, `dispute/dp_…`). A test
//! checks it against the built-in transformers over the whole event corpus. The store uses it to
//! run one job per object at a time, oldest first, and to keep one message per object.

use std::time::{Duration, Instant, SystemTime};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use stripe_chat_events::{EventError, StripeEvent};
use stripe_chat_message::{ObjectKind, ObjectRef};
use stripe_chat_route::Routes;
use stripe_chat_store::{NewEvent, NewJob};

use crate::body::BodyError;
use crate::digest::DigestKey;

use crate::http::WebhookState;
use crate::metrics::Rejection;

/// The header Stripe signs with.
const SIGNATURE_HEADER: &str = "stripe-signature";

/// The thread key of the Stripe object `event` is about, as the built-in transformers thread it:
/// a payment intent or charge on its invoice, else its payment intent; anything else on its own
/// object. `None` when the object has no id.
///
/// ```
/// use stripe_chat_events::StripeEvent;
/// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"payment_intent.payment_failed",
///   "created":1,"data":{"object":{"id":"pi_1","object":"payment_intent","invoice":"in_9"}}}"#)?;
/// assert_eq!(stripe_chat_server::ingest::thread_key(&event).as_deref(), Some("invoice/in_9"));
/// # Ok::<(), stripe_chat_events::EventError>(())
/// ```
pub fn thread_key(event: &StripeEvent) -> Option<String> {
    let invoice = |id: Option<&str>| id.map(|id| ObjectRef::new(ObjectKind::Invoice, id));
    let intent = |id: Option<&str>| id.map(|id| ObjectRef::new(ObjectKind::PaymentIntent, id));
    let object = if let Some(pi) = event.payment_intent() {
        invoice(pi.invoice_id()).or_else(|| intent(pi.id()))
    } else if let Some(charge) = event.charge() {
        invoice(charge.invoice_id())
            .or_else(|| intent(charge.payment_intent_id()))
            .or_else(|| charge.id().map(|id| ObjectRef::new(ObjectKind::Charge, id)))
    } else {
        None
    };
    object.or_else(|| event.object_ref()).map(|o| o.to_string())
}

/// How long after a digest window's end its summary is due: events received just before the end,
/// whose commit is still queued, join the window's summary instead of making one of their own.
///
/// ```
/// assert_eq!(stripe_chat_server::ingest::DIGEST_SETTLE.as_secs(), 1);
/// ```
pub const DIGEST_SETTLE: Duration = Duration::from_secs(1);

/// The jobs for `event` received at `received_at`: one per destination `routes` send it to, about
/// the object [`thread_key`] names. When the route that sends it to a destination has a
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
    let key = thread_key(event);
    routes
        .targets(event)
        .into_iter()
        .map(|target| {
            let job = NewJob::new(target.destination);
            match (&target.route.digest, &key) {
                (Some(digest), _) => {
                    let label = target.route.label(target.index);
                    job.digest(DigestKey::at(label, digest, received_at).to_string())
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

fn refuse(state: &WebhookState, status: StatusCode, reason: Rejection) -> Response {
    // Counted, and logged once per interval with the count: never one line per request.
    state.metrics().rejected(reason);
    tracing::debug!(
        reason = reason.as_str(),
        status = status.as_u16(),
        "webhook refused"
    );
    reply(status, format!("{{\"error\":\"{}\"}}", reason.as_str()))
}

/// Handles one `POST` of a Stripe webhook (see the module documentation for the answers).
pub(crate) async fn handle(state: WebhookState, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    state.metrics().received();
    let limit = state.body_limit();

    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return refuse(
            &state,
            StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::BodyTooLarge,
        );
    }
    let bytes: Bytes = match crate::body::read(body, limit, state.body_timeout()).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => {
            return refuse(
                &state,
                StatusCode::PAYLOAD_TOO_LARGE,
                Rejection::BodyTooLarge,
            );
        }
        Err(BodyError::TimedOut) => {
            return refuse(&state, StatusCode::REQUEST_TIMEOUT, Rejection::BodyTimeout);
        }
        Err(BodyError::Unreadable) => {
            return refuse(&state, StatusCode::BAD_REQUEST, Rejection::BodyUnreadable);
        }
    };

    let signature = match headers.get(SIGNATURE_HEADER) {
        None => None,
        Some(value) => match value.to_str() {
            Ok(value) => Some(value),
            Err(_) => {
                return refuse(&state, StatusCode::BAD_REQUEST, Rejection::MalformedHeader);
            }
        },
    };
    if let Err(e) = state.verifier().verify(&bytes, signature) {
        return refuse(
            &state,
            StatusCode::BAD_REQUEST,
            Rejection::from_signature_reason(e.reason()),
        );
    }

    let received_at = SystemTime::now();
    let (new_event, jobs) = match StripeEvent::from_slice(&bytes) {
        Ok(event) => {
            let jobs = jobs_for(state.routes(), &event, received_at);
            (new_event(&event, received_at), jobs)
        }
        Err(EventError::NotJson(_)) => {
            return refuse(&state, StatusCode::BAD_REQUEST, Rejection::NotAnEvent);
        }
        Err(_) => match lenient(&bytes, received_at) {
            Some(event) => (event, Vec::new()),
            None => return refuse(&state, StatusCode::BAD_REQUEST, Rejection::NotAnEvent),
        },
    };

    let event_id = new_event.id.clone();
    match state.store().ingest(new_event, jobs).await {
        Ok(done) => {
            if done.jobs_created > 0 {
                state.wake_workers();
            }
            state
                .metrics()
                .acknowledged(done.duplicate, started.elapsed());
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
            state.metrics().rejected(Rejection::StoreUnavailable);
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

//! Sample Stripe events bundled in the binary, one per event type, for `send-test-event` and the
//! service demonstration; each can be given a fresh id and `created` so it is new to the store.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The bundled samples: (event type, raw JSON as Stripe sends it).
pub(crate) const SAMPLE_EVENTS: &[(&str, &str)] = &[
    (
        "charge.dispute.closed",
        include_str!(
            "../../tests/fixtures/events/charge.dispute.closed@2026-09-30.endive+won.json"
        ),
    ),
    (
        "charge.dispute.created",
        include_str!("../../tests/fixtures/events/charge.dispute.created@2026-09-30.endive.json"),
    ),
    (
        "charge.dispute.funds_withdrawn",
        include_str!(
            "../../tests/fixtures/events/charge.dispute.funds_withdrawn@2026-09-30.endive.json"
        ),
    ),
    (
        "charge.dispute.updated",
        include_str!("../../tests/fixtures/events/charge.dispute.updated@2026-09-30.endive.json"),
    ),
    (
        "charge.failed",
        include_str!("../../tests/fixtures/events/charge.failed@2026-09-30.endive.json"),
    ),
    (
        "charge.refunded",
        include_str!("../../tests/fixtures/events/charge.refunded@2026-09-30.endive+partial.json"),
    ),
    (
        "customer.subscription.deleted",
        include_str!(
            "../../tests/fixtures/events/customer.subscription.deleted@2026-09-30.endive.json"
        ),
    ),
    (
        "customer.subscription.trial_will_end",
        include_str!(
            "../../tests/fixtures/events/customer.subscription.trial_will_end@2026-09-30.endive.json"
        ),
    ),
    (
        "customer.subscription.updated",
        include_str!(
            "../../tests/fixtures/events/customer.subscription.updated@2026-09-30.endive+plan-change.json"
        ),
    ),
    (
        "customer.updated",
        include_str!("../../tests/fixtures/events/customer.updated@2026-09-30.endive.json"),
    ),
    (
        "invoice.paid",
        include_str!("../../tests/fixtures/events/invoice.paid@2026-09-30.endive.json"),
    ),
    (
        "invoice.payment_action_required",
        include_str!(
            "../../tests/fixtures/events/invoice.payment_action_required@2026-09-30.endive.json"
        ),
    ),
    (
        "invoice.payment_failed",
        include_str!("../../tests/fixtures/events/invoice.payment_failed@2026-09-30.endive.json"),
    ),
    (
        "invoice.payment_succeeded",
        include_str!(
            "../../tests/fixtures/events/invoice.payment_succeeded@2026-09-30.endive.json"
        ),
    ),
    (
        "payment_intent.payment_failed",
        include_str!(
            "../../tests/fixtures/events/payment_intent.payment_failed@2026-09-30.endive.json"
        ),
    ),
    (
        "payment_intent.succeeded",
        include_str!("../../tests/fixtures/events/payment_intent.succeeded@2026-09-30.endive.json"),
    ),
    (
        "payout.paid",
        include_str!("../../tests/fixtures/events/payout.paid@2026-09-30.endive.json"),
    ),
    (
        "some_future.thing.happened",
        include_str!(
            "../../tests/fixtures/events/some_future.thing.happened@2027-01-15.future.json"
        ),
    ),
];

/// The bundled sample of `event_type`.
pub(crate) fn sample(event_type: &str) -> Option<&'static str> {
    SAMPLE_EVENTS
        .iter()
        .find(|(t, _)| *t == event_type)
        .map(|(_, raw)| *raw)
}

/// `raw` with a fresh, unique `evt_test_…` id and `created` set to now, so the store takes it as a
/// new event. Fails when `raw` is not a JSON object.
pub(crate) fn fresh(raw: &str) -> Result<String, serde_json::Error> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut value: serde_json::Value = serde_json::from_str(raw)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let id = format!(
        "evt_test_{:x}{:05x}{n:x}",
        now.as_micros(),
        std::process::id() & 0xfffff
    );
    match value.as_object_mut() {
        Some(object) => {
            object.insert("id".into(), id.into());
            object.insert("created".into(), now.as_secs().into());
        }
        None => {
            return Err(serde::de::Error::custom("the event is not a JSON object"));
        }
    }
    serde_json::to_string(&value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stripe_chat::events::StripeEvent;

    #[test]
    fn every_bundled_sample_is_a_stripe_event_of_its_type() {
        for (event_type, raw) in SAMPLE_EVENTS {
            let event = StripeEvent::from_slice(raw.as_bytes()).expect(event_type);
            assert_eq!(event.event_type(), *event_type);
        }
        assert!(sample("charge.failed").is_some());
        assert!(sample("no.such.type").is_none());
    }

    #[test]
    fn a_fresh_copy_gets_a_new_test_id_each_time() {
        let raw = sample("invoice.paid").expect("bundled");
        let a = fresh(raw).expect("a JSON object");
        let b = fresh(raw).expect("a JSON object");
        assert_ne!(a, b);
        let event = StripeEvent::from_slice(a.as_bytes()).expect("an event");
        assert!(event.id().starts_with("evt_test_"), "{}", event.id());
        assert!(fresh("[1, 2]").is_err(), "not an object");
    }
}

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

/// The keys whose values are times (Unix seconds) in Stripe's objects.
fn is_time_key(key: &str) -> bool {
    key.ends_with("_at")
        || key.ends_with("_date")
        || key.starts_with("period_")
        || key.starts_with("current_period_")
        || matches!(
            key,
            "created"
                | "due_by"
                | "next_payment_attempt"
                | "trial_end"
                | "trial_start"
                | "start_date"
                | "billing_cycle_anchor"
                | "start"
                | "end"
                | "date"
                | "due_date"
        )
}

/// Moves every time in `value` (a time key holding Unix seconds) by `delta` seconds.
fn shift_times(value: &mut serde_json::Value, delta: i64) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match value.as_i64() {
                    // Unix seconds between 2001 and 2100: a time, not a count or an amount.
                    Some(t) if is_time_key(key) && (1_000_000_000..4_102_444_800).contains(&t) => {
                        *value = t.saturating_add(delta).into();
                    }
                    _ => shift_times(value, delta),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                shift_times(item, delta);
            }
        }
        _ => {}
    }
}

/// `raw` with a fresh, unique `evt_test_…` id, `created` set to now and every other time moved by
/// as much (the next payment attempt, a dispute's evidence deadline, a trial's end, billing
/// periods), so the store takes it as a new event and its message reads as if it happened now:
/// "retries in 3 days", not "44 days ago". Fails when `raw` is not a JSON object.
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
    let created = value.get("created").and_then(serde_json::Value::as_i64);
    if let Some(created) = created {
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        shift_times(&mut value, now.saturating_sub(created));
    }
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
    fn a_fresh_sample_keeps_its_times_relative_to_now() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let days = |t: &serde_json::Value| (t.as_i64().expect("a time") - now) as f64 / 86_400.0;
        let failed: serde_json::Value = serde_json::from_str(
            &fresh(sample("invoice.payment_failed").expect("bundled")).expect("fresh"),
        )
        .expect("JSON");
        assert!((days(&failed["created"])).abs() < 0.01);
        let retry = days(&failed["data"]["object"]["next_payment_attempt"]);
        assert!(
            (3.0..4.0).contains(&retry),
            "the next attempt is in 3 days: {retry}"
        );
        let dispute: serde_json::Value = serde_json::from_str(
            &fresh(sample("charge.dispute.created").expect("bundled")).expect("fresh"),
        )
        .expect("JSON");
        let due = days(&dispute["data"]["object"]["evidence_details"]["due_by"]);
        assert!(
            (15.0..16.0).contains(&due),
            "evidence is due in 15 days: {due}"
        );
        let trial: serde_json::Value = serde_json::from_str(
            &fresh(sample("customer.subscription.trial_will_end").expect("bundled"))
                .expect("fresh"),
        )
        .expect("JSON");
        let ends = days(&trial["data"]["object"]["trial_end"]);
        assert!(
            (2.9..3.1).contains(&ends),
            "the trial ends in 3 days: {ends}"
        );
        assert_eq!(
            trial["data"]["object"]["items"]["data"][0]["quantity"],
            serde_json::from_str::<serde_json::Value>(
                sample("customer.subscription.trial_will_end").expect("bundled")
            )
            .expect("JSON")["data"]["object"]["items"]["data"][0]["quantity"],
            "counts are not times"
        );
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

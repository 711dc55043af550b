//! What enrichment adds, as the built-in transformers show it: expanded objects read through
//! the same views, the "details unavailable" mark, the last contact.

use std::path::Path;

use serde_json::json;
use stripe_chat_events::{Enrichment, LastContact, StripeEvent};
use stripe_chat_message::ChatMessage;
use stripe_chat_transform::Registry;

fn event(name: &str) -> StripeEvent {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/events")
        .join(format!("{name}.json"));
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    StripeEvent::from_slice(&raw).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn message(event: &StripeEvent) -> ChatMessage {
    Registry::with_builtins()
        .try_transform(event)
        .expect("no error")
        .expect("a message")
}

fn field<'a>(m: &'a ChatMessage, label: &str) -> Option<&'a str> {
    m.fields
        .iter()
        .find(|f| f.label == label)
        .map(|f| f.value.as_str())
}

fn failed_charge() -> serde_json::Value {
    json!({"id": "ch_9", "object": "charge", "failure_code": "card_declined",
           "outcome": {"reason": "expired_card", "type": "issuer_declined"},
           "payment_method_details": {"type": "card", "card": {"brand": "mastercard", "last4": "4444"}}})
}

#[test]
fn a_failure_reads_the_same_whether_its_charge_sits_on_the_invoice_or_in_its_payments() {
    let basil = event("invoice.payment_failed@2025-03-31.basil");
    let mut in_payments = basil.object().clone();
    in_payments["payments"] = json!({"object": "list", "data": [{"id": "inpay_1", "object": "invoice_payment",
        "status": "open", "payment": {"type": "payment_intent",
        "payment_intent": {"id": "pi_9", "object": "payment_intent", "latest_charge": failed_charge()}}}]});
    let mut on_invoice = basil.object().clone();
    on_invoice["charge"] = failed_charge();
    let a = message(&basil.clone().enriched(in_payments, Enrichment::new()));
    let b = message(&basil.enriched(on_invoice, Enrichment::new()));
    assert_eq!(field(&a, "Failure reason"), field(&b, "Failure reason"));
    assert_eq!(field(&a, "Card"), Some("Mastercard •••• 4444"));
    assert_eq!(field(&b, "Card"), Some("Mastercard •••• 4444"));
    assert_eq!(field(&a, "Failure reason"), Some("The card has expired."));
}

#[test]
fn details_unavailable_is_a_tag_and_the_rest_of_the_message_is_unchanged() {
    let plain = event("charge.dispute.created@2026-09-30.endive");
    let object = plain.object().clone();
    let marked = message(
        &plain
            .clone()
            .enriched(object, Enrichment::new().details_unavailable()),
    );
    let mut expected = message(&plain);
    assert!(marked.tags.iter().any(|t| t == "details unavailable"));
    expected.tags.clear();
    let mut without_tags = marked.clone();
    without_tags.tags.clear();
    assert_eq!(without_tags, expected);
}

#[test]
fn the_last_contact_is_counted_from_the_events_time() {
    let paid = event("invoice.paid@2026-09-30.endive");
    let at = paid.created();
    for (contact_at, shown) in [
        (at - 2 * 86_400, "2 days ago by ana"),
        (at - 30, "just before this event by ana"),
        (at + 3_600, "by ana"),
    ] {
        let object = paid.object().clone();
        let m = message(&paid.clone().enriched(
            object,
            Enrichment::new().last_contact(LastContact::new(contact_at, "ana")),
        ));
        let value = field(&m, "Last contacted").expect("the field");
        assert!(value.ends_with(shown), "{value}");
    }
}

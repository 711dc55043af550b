//! Every event of the shared corpus through the built-in transformers: snapshots of each message,
//! and the facts support and finance rely on.

use std::path::{Path, PathBuf};

use stripe_chat_events::StripeEvent;
use stripe_chat_message::{ChatMessage, FieldKind, Severity};
use stripe_chat_transform::Registry;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/events")
}

fn corpus() -> Vec<(String, StripeEvent)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the corpus exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 60, "the corpus has {} events", files.len());
    files
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("utf-8 name")
                .to_owned();
            let raw = std::fs::read(&path).expect("readable fixture");
            let event = StripeEvent::from_slice(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, event)
        })
        .collect()
}

fn event(name: &str) -> StripeEvent {
    let raw = std::fs::read(corpus_dir().join(format!("{name}.json")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    StripeEvent::from_slice(&raw).expect("a valid event")
}

fn message(name: &str) -> ChatMessage {
    Registry::with_builtins()
        .try_transform(&event(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .unwrap_or_else(|| panic!("{name}: declined"))
}

fn field<'a>(message: &'a ChatMessage, label: &str) -> &'a str {
    message
        .fields
        .iter()
        .find(|f| f.label == label)
        .map(|f| f.value.as_str())
        .unwrap_or_else(|| panic!("no field {label:?} in {:#?}", message.fields))
}

#[test]
fn every_corpus_event_gets_a_message_without_error_and_matches_its_snapshot() {
    let registry = Registry::with_builtins();
    for (name, event) in corpus() {
        let message = registry
            .try_transform(&event)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if name.contains("+non-billing") {
            assert!(message.is_none(), "{name} is noise and must be declined");
            continue;
        }
        let message = message.unwrap_or_else(|| panic!("{name} was declined"));
        assert!(!message.title.is_empty(), "{name}: empty title");
        assert!(!message.links.is_empty(), "{name}: no Dashboard link");
        assert!(message.thread_key.is_some(), "{name}: no thread key");
        insta::assert_json_snapshot!(name.replace('@', "__"), message);
    }
}

#[test]
fn invoice_paid_names_customer_number_amount_and_kind_in_every_api_version() {
    for name in [
        "invoice.paid@2019-12-03",
        "invoice.paid@2024-06-20",
        "invoice.paid@2025-03-31.basil",
        "invoice.paid@2026-09-30.endive",
    ] {
        let m = message(name);
        let invoice = event(name);
        let view = invoice.invoice().expect("an invoice");
        assert!(
            m.title.contains(view.number().expect("numbered")),
            "{name}: {}",
            m.title
        );
        assert!(
            m.tags.iter().any(|t| t == "subscription"),
            "{name}: {:?}",
            m.tags
        );
        assert!(
            view.subscription_id().is_some(),
            "{name}: subscription found in any version"
        );
        let ids: Vec<&str> = m.actions.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(
            ids,
            ["open_in_stripe", "create_ticket", "mark_contacted"],
            "{name}"
        );
        assert!(
            m.links[0].url.contains("/invoices/in_"),
            "{name}: {}",
            m.links[0].url
        );
    }
}

#[test]
fn one_time_invoices_are_tagged_one_time() {
    for name in [
        "invoice.paid@2024-06-20+manual",
        "invoice.paid@2026-09-30.endive+manual",
    ] {
        assert!(message(name).tags.iter().any(|t| t == "one-time"), "{name}");
    }
}

#[test]
fn zero_and_three_decimal_amounts_are_formatted_by_exponent() {
    assert!(
        message("invoice.paid@2026-09-30.endive+jpy")
            .title
            .contains("5,000 JPY")
    );
    assert!(
        message("invoice.payment_failed@2026-09-30.endive+kwd")
            .title
            .contains("1.500 KWD")
    );
    assert!(
        message("payment_intent.succeeded@2026-09-30.endive+bhd")
            .title
            .contains(" BHD")
    );
    let krw = message("charge.dispute.created@2026-09-30.endive+krw");
    assert!(
        !field(&krw, "Amount").contains('.'),
        "KRW has no minor unit: {}",
        field(&krw, "Amount")
    );
}

#[test]
fn a_failed_invoice_payment_states_the_retry_schedule_or_that_retries_are_over() {
    let retrying = message("invoice.payment_failed@2026-09-30.endive");
    assert!(
        field(&retrying, "Next retry").contains(" UTC (in "),
        "{}",
        field(&retrying, "Next retry")
    );
    assert_eq!(retrying.severity, Severity::Warning);

    let last = message("invoice.payment_failed@2026-09-30.endive+final-attempt");
    assert_eq!(field(&last, "Next retry"), "No more automatic retries");
    assert!(field(&last, "Subscription impact").contains("retries are exhausted"));
    assert_eq!(last.severity, Severity::Critical);
    let retry = last
        .actions
        .iter()
        .find(|a| a.id == "retry_payment")
        .expect("retry action");
    assert!(retry.moves_money);
    assert!(last.actions.iter().any(|a| a.id == "send_dunning_email"));
    assert!(last.actions.iter().any(|a| a.id == "assign"));
}

#[test]
fn a_failed_payment_explains_the_decline_and_shows_only_brand_and_last_four() {
    for name in [
        "payment_intent.payment_failed@2019-12-03",
        "payment_intent.payment_failed@2026-09-30.endive",
        "charge.failed@2022-11-15",
        "charge.failed@2026-09-30.endive",
    ] {
        let m = message(name);
        let card = m
            .fields
            .iter()
            .find(|f| f.kind == FieldKind::Card)
            .unwrap_or_else(|| panic!("{name}: no card"));
        assert!(card.value.contains("•••• "), "{name}: {}", card.value);
        let reason = field(&m, "Failure reason");
        assert!(
            !reason.contains('_'),
            "{name}: reason should be words, got {reason}"
        );
    }
}

#[test]
fn a_dispute_shows_reason_deadline_and_time_left_and_offers_evidence_and_escalation() {
    let m = message("charge.dispute.created@2026-09-30.endive");
    assert_eq!(m.severity, Severity::Critical);
    assert!(
        field(&m, "Respond by").contains(" UTC (in "),
        "{}",
        field(&m, "Respond by")
    );
    assert!(!field(&m, "Reason").contains('_'));
    let ids: Vec<&str> = m.actions.iter().map(|a| a.id.as_str()).collect();
    assert!(
        ids.contains(&"add_evidence") && ids.contains(&"notify"),
        "{ids:?}"
    );
    assert!(
        m.links.iter().any(|l| l.url.contains("/payments/ch_")),
        "a link to the disputed charge"
    );

    let won = message("charge.dispute.closed@2026-09-30.endive+won");
    assert_eq!(won.severity, Severity::Success);
    assert!(won.title.starts_with("Dispute won"));
    assert!(!won.actions.iter().any(|a| a.id == "add_evidence"));
}

#[test]
fn dispute_messages_thread_on_the_dispute_so_later_events_update_it() {
    let created = message("charge.dispute.created@2026-09-30.endive");
    let updated = message("charge.dispute.updated@2026-09-30.endive");
    assert_eq!(
        created.thread_key.as_ref().map(|k| k.kind.as_str()),
        Some("dispute")
    );
    assert_eq!(
        updated.thread_key.as_ref().map(|k| k.kind.as_str()),
        Some("dispute")
    );
}

#[test]
fn a_billing_change_lists_old_and_new_values_and_a_metadata_change_is_noise() {
    let m = message("customer.updated@2026-09-30.endive");
    let changes: Vec<&str> = m
        .fields
        .iter()
        .filter(|f| f.value.contains(" → "))
        .map(|f| f.value.as_str())
        .collect();
    assert!(!changes.is_empty(), "{:#?}", m.fields);
    let registry = Registry::with_builtins();
    for name in [
        "customer.updated@2019-12-03+non-billing",
        "customer.updated@2026-09-30.endive+non-billing",
    ] {
        assert!(
            registry
                .try_transform(&event(name))
                .expect("no error")
                .is_none(),
            "{name}"
        );
    }
}

#[test]
fn test_mode_and_connect_events_say_so_and_link_accordingly() {
    for (name, event) in corpus() {
        let Some(m) = Registry::with_builtins().transform(&event) else {
            continue;
        };
        let primary = &m.links[0].url;
        if !event.livemode() {
            assert!(m.tags.iter().any(|t| t == "test mode"), "{name}");
            assert!(primary.contains("/test/"), "{name}: {primary}");
        } else {
            assert!(!primary.contains("/test/"), "{name}: {primary}");
        }
        if let Some(account) = event.account() {
            assert!(primary.contains(account), "{name}: {primary}");
        }
    }
}

#[test]
fn unknown_event_types_get_the_generic_message_with_amount_and_links() {
    let m = message("some_future.thing.happened@2027-01-15.future");
    assert!(m.title.contains("12.34 USD"), "{}", m.title);
    assert!(m.links.iter().any(|l| l.url.contains("/events/evt_")));
}

#[test]
fn subscription_changes_say_what_changed() {
    let past_due = message("customer.subscription.updated@2026-09-30.endive+past-due");
    assert!(
        past_due.title.contains("past due") && past_due.title.contains("was active"),
        "{}",
        past_due.title
    );
    let plan = message("customer.subscription.updated@2026-09-30.endive+plan-change");
    assert!(plan.summary.contains(" → "), "{}", plan.summary);
    let deleted = message("customer.subscription.deleted@2026-09-30.endive");
    assert!(deleted.title.starts_with("Subscription canceled"));
    let trial = message("customer.subscription.trial_will_end@2026-09-30.endive");
    assert!(trial.summary.contains("trial ends"), "{}", trial.summary);
}

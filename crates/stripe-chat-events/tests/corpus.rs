//! The shared corpus of realistic events (several API versions, hostile ones) through the parser
//! and the lenient views.

use std::path::{Path, PathBuf};

use stripe_chat_events::StripeEvent;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the corpus exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("utf-8")
                .to_owned();
            (name, std::fs::read(&p).expect("readable"))
        })
        .collect()
}

#[test]
fn every_corpus_event_parses_and_keeps_its_raw_bytes() {
    for (name, raw) in corpus() {
        let event = StripeEvent::from_slice(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(event.raw().as_bytes(), raw.as_slice(), "{name}");
        let expected_type = name.split('@').next().unwrap_or_default();
        if !expected_type.starts_with("hostile") {
            assert_eq!(event.event_type(), expected_type, "{name}");
        }
        assert!(event.object_ref().is_some(), "{name}: object has an id");
    }
}

#[test]
fn the_corpus_covers_at_least_three_api_versions_per_main_flow() {
    let names: Vec<String> = corpus().into_iter().map(|(n, _)| n).collect();
    for flow in [
        "invoice.paid",
        "invoice.payment_failed",
        "payment_intent.payment_failed",
        "charge.failed",
    ] {
        let mut versions: Vec<&str> = names
            .iter()
            .filter(|n| n.split('@').next() == Some(flow))
            .filter_map(|n| n.split('@').nth(1))
            .map(|v| v.split('+').next().unwrap_or(v))
            .collect();
        versions.sort_unstable();
        versions.dedup();
        assert!(versions.len() >= 3, "{flow}: {versions:?}");
    }
}

#[test]
fn invoice_subscription_is_found_before_and_after_basil() {
    for (name, raw) in corpus() {
        let event = StripeEvent::from_slice(&raw).expect("valid");
        let Some(invoice) = event.invoice() else {
            continue;
        };
        if invoice
            .billing_reason()
            .is_some_and(|r| r.starts_with("subscription"))
        {
            assert!(
                invoice
                    .subscription_id()
                    .is_some_and(|s| s.starts_with("sub_")),
                "{name}"
            );
        }
        if invoice.billing_reason() == Some("manual") {
            assert!(!invoice.is_subscription(), "{name}");
        }
    }
}

#[test]
#[cfg(feature = "typed")]
fn typed_parsing_works_for_the_pinned_version_and_never_blocks_older_ones() {
    let mut typed = 0;
    for (name, raw) in corpus() {
        let event = StripeEvent::from_slice(&raw).expect("valid");
        if let Ok(parsed) = event.typed() {
            assert_eq!(parsed.id.as_str(), event.id(), "{name}");
            typed += 1;
        }
    }
    assert!(
        typed > 0,
        "at least the events of async-stripe's pinned version parse strictly"
    );
}

#[test]
fn bad_input_is_named_and_never_panics() {
    for raw in [
        &b""[..],
        b"nul\0l",
        b"[]",
        b"{\"object\":\"event\"}",
        b"\xff\xfe",
        b"{\"id\":1}",
    ] {
        assert!(StripeEvent::from_slice(raw).is_err());
    }
    let thin =
        br#"{"id":"evt_1","object":"v2.core.event","type":"x","created":1,"data":{"object":{}}}"#;
    let err = StripeEvent::from_slice(thin).expect_err("thin events are a different product");
    assert!(err.to_string().contains("v2.core.event"), "{err}");
}

#[test]
fn every_corpus_event_is_about_its_invoice_else_its_payment_intent_else_its_own_object() {
    let (mut on_invoice, mut on_intent, mut on_itself) = (0, 0, 0);
    for (name, raw) in corpus() {
        let event = StripeEvent::from_slice(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
        let subject = event
            .subject()
            .unwrap_or_else(|| panic!("{name}: every corpus object has an id"));
        let (invoice, intent) = match (event.payment_intent(), event.charge()) {
            (Some(pi), _) => (pi.invoice_id(), None),
            (None, Some(charge)) => (charge.invoice_id(), charge.payment_intent_id()),
            (None, None) => (None, None),
        };
        let expected = match (invoice, intent) {
            (Some(invoice), _) => {
                on_invoice += 1;
                format!("invoice/{invoice}")
            }
            (None, Some(intent)) => {
                on_intent += 1;
                format!("payment_intent/{intent}")
            }
            (None, None) => {
                on_itself += 1;
                event.object_ref().expect("an id").to_string()
            }
        };
        assert_eq!(subject.to_string(), expected, "{name}");
    }
    assert!(
        on_invoice >= 6 && on_intent >= 4 && on_itself >= 30,
        "each case is covered: {on_invoice} on their invoice, {on_intent} on their payment intent, {on_itself} on themselves"
    );
}

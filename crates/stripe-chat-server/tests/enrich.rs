//! The service with `[enrich]` on, Stripe's API played by wiremock: a payment failure reaches
//! the chat with what the event left out, and Stripe failing never holds a message back.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use stripe_chat_events::sign;
use stripe_chat_message::ChatMessage;
use stripe_chat_server::config::ServiceConfig;
use stripe_chat_server::service::Service;
use stripe_chat_store::{SqliteOptions, SqliteStore, Store};
use wiremock::matchers::{header, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "whsec_test_secret";
const KEY: &str = "rk_test_51ServerEnrichmentKey";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The basil `invoice.payment_failed` of the corpus, as Stripe would send it now.
fn basil_failure(id: &str) -> String {
    let raw = std::fs::read_to_string(
        repo().join("tests/fixtures/events/invoice.payment_failed@2025-03-31.basil.json"),
    )
    .expect("fixture");
    let mut value: serde_json::Value = serde_json::from_str(&raw).expect("json");
    value["id"] = id.into();
    value["created"] = now().into();
    value.to_string()
}

fn config_text(file: &Path, db: &Path, stripe: &str, timeout_ms: u64) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"{SECRET}\"]\napi_key_env = \"ENRICH_KEY\"\napi_base = \"{stripe}\"\n\
         [store]\nsqlite = {:?}\n[delivery]\nworkers = 2\n[enrich]\nenabled = true\ntimeout_ms = {timeout_ms}\n\
         [[destinations]]\nname = \"log\"\nprovider = \"file\"\npath = {:?}\n[[routes]]\nevents = [\"*\"]\nto = [\"log\"]\n",
        db.display().to_string(),
        file.display().to_string()
    )
}

fn env(name: &str) -> Option<String> {
    (name == "ENRICH_KEY").then(|| KEY.to_owned())
}

/// Starts the service, posts `body` signed, and returns the message written, how long it took
/// from the post, and the service's metrics then.
async fn deliver(
    stripe: &MockServer,
    timeout_ms: u64,
    body: &str,
) -> (ChatMessage, Duration, String) {
    deliver_with_contact(stripe, timeout_ms, body, None).await
}

/// [`deliver`], with `contact` (customer, person, when) recorded in the store first, as the
/// `mark_contacted` action records it.
async fn deliver_with_contact(
    stripe: &MockServer,
    timeout_ms: u64,
    body: &str,
    contact: Option<(&str, &str, SystemTime)>,
) -> (ChatMessage, Duration, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("messages.jsonl");
    let db = dir.path().join("stripe-chat.db");
    let config =
        ServiceConfig::from_toml_with_env(&config_text(&file, &db, &stripe.uri(), timeout_ms), env)
            .expect("config");
    assert!(!format!("{config:?}").contains(KEY));
    let store = Arc::new(
        SqliteStore::open(&db, SqliteOptions::default())
            .await
            .expect("store"),
    );
    if let Some((customer, person, at)) = contact {
        store
            .contact_record(customer, person, at)
            .await
            .expect("a contact recorded");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let service = Service::builder(&config)
        .start(store as Arc<dyn Store>, listener)
        .expect("start");
    let started = Instant::now();
    let status = reqwest::Client::new()
        .post(format!("http://{}/webhooks/stripe", service.local_addr()))
        .header("Stripe-Signature", sign(body.as_bytes(), SECRET, now()))
        .body(body.to_owned())
        .send()
        .await
        .expect("request")
        .status();
    assert!(status.is_success(), "{status}");
    for _ in 0..400 {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if let Some(Ok(record)) = stripe_chat_file::records(&text).next() {
            let took = started.elapsed();
            let metrics = service.metrics().render(None);
            let _ = service.shutdown(Duration::from_secs(5)).await;
            return (record.message, took, metrics);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no message was written");
}

fn field<'a>(message: &'a ChatMessage, label: &str) -> Option<&'a str> {
    message
        .fields
        .iter()
        .find(|f| f.label == label)
        .map(|f| f.value.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enriched_payment_failure_reaches_the_chat_with_the_decline_reason_card_and_last_contact()
 {
    let stripe = MockServer::start().await;
    let answer = std::fs::read_to_string(
        repo().join("crates/stripe-chat-enrich/tests/fixtures/invoice_payments@basil.json"),
    )
    .expect("answer");
    Mock::given(path("/v1/invoice_payments"))
        .and(query_param("invoice", "in_1C9QB52LmT4hZ8pRghk2yYBU"))
        .and(query_param(
            "expand[]",
            "data.payment.payment_intent.latest_charge",
        ))
        .and(header("stripe-account", "acct_1OqXkT2LmT4hZ8pR"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(answer, "application/json"))
        .expect(1)
        .mount(&stripe)
        .await;
    let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 86_400 + 600);
    let (message, _, metrics) = deliver_with_contact(
        &stripe,
        2000,
        &basil_failure("evt_enriched_1"),
        Some(("cus_zTi1VywYw8rFx5", "ana", two_days_ago)),
    )
    .await;
    assert_eq!(field(&message, "Last contacted"), Some("2 days ago by ana"));
    assert!(metrics.contains(r#"stripe_chat_enriched_total{result="complete"} 1"#));
    assert!(metrics.contains("stripe_chat_enrich_stripe_calls_total 1"));
    assert_eq!(
        field(&message, "Failure reason"),
        Some("The card has insufficient funds.")
    );
    assert_eq!(field(&message, "Card"), Some("Mastercard •••• 4444"));
    assert!(!message.tags.iter().any(|t| t == "details unavailable"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_stripe_too_slow_the_message_goes_out_in_time_marked_details_unavailable() {
    let stripe = MockServer::start().await;
    Mock::given(path("/v1/invoice_payments"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&stripe)
        .await;
    let (message, took, metrics) = deliver(&stripe, 300, &basil_failure("evt_slow_1")).await;
    assert!(metrics.contains(r#"stripe_chat_enriched_total{result="unavailable"} 1"#));
    assert!(message.tags.iter().any(|t| t == "details unavailable"));
    assert_eq!(field(&message, "Card"), None);
    assert!(
        message
            .title
            .starts_with("Payment failed: 89.00 USD from Zoë Müller")
    );
    // The event waited at most the enrichment timeout, not Stripe's 30 s.
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn enrichment_without_a_key_or_with_an_unusable_pace_is_refused_naming_the_key() {
    let base = "[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_a\"]\n[store]\nsqlite = \"x.db\"\n[enrich]\n";
    let error = ServiceConfig::from_toml_with_env(&format!("{base}enabled = true\n"), |_| None)
        .expect_err("no key");
    assert_eq!(
        error.to_string(),
        "enrich.enabled: needs a Stripe API key: the environment variable STRIPE_API_KEY is not set (stripe.api_key_env names it)"
    );
    for (line, key) in [
        ("max_calls_per_second = 0", "enrich.max_calls_per_second"),
        ("max_calls_per_second = 500", "enrich.max_calls_per_second"),
        ("timeout_ms = 0", "enrich.timeout_ms"),
    ] {
        let error = ServiceConfig::from_toml_with_env(&format!("{base}{line}\n"), |_| None)
            .expect_err(line);
        assert!(error.to_string().starts_with(key), "{error}");
    }
    // Off by default: no key needed.
    let config = ServiceConfig::from_toml_with_env(base, |_| None).expect("valid");
    assert!(!config.enrich.enabled);
}

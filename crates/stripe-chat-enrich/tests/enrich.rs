//! Enrichment against Stripe's API played by wiremock: the exact reads of each flow, the
//! messages they make, and what happens when Stripe is slow, limits, fails or refuses the key.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use stripe_chat_enrich::{ApiReader, ContactError, ContactHistory, Enricher, Read, StripeReader};
use stripe_chat_events::{LastContact, StripeEvent};
use stripe_chat_message::{ChatMessage, ErrorKind, Secret};
use stripe_chat_pipeline::Pipeline;
use stripe_chat_redact::RedactionConfig;
use stripe_chat_stripe::{ApiError, Client, RateLimiter, Retry};
use stripe_chat_transform::Registry;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "rk_test_51EnrichmentKeyNeverShown";
const BASIL_FAILED: &str = "invoice.payment_failed@2025-03-31.basil";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn event(name: &str) -> StripeEvent {
    let raw = std::fs::read(repo().join(format!("tests/fixtures/events/{name}.json")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    StripeEvent::from_slice(&raw).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn answer(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn client(stripe: &MockServer) -> Arc<Client> {
    Arc::new(
        Client::builder(Secret::new(KEY))
            .api_base(stripe.uri())
            .timeout(Duration::from_secs(2))
            .retry(Retry::NONE)
            .build()
            .expect("a valid client"),
    )
}

fn enricher(stripe: &MockServer, timeout: Duration) -> Enricher {
    Enricher::builder(ApiReader::new(client(stripe)))
        .timeout(timeout)
        .rate_limiter(RateLimiter::per_second(50.0))
        .build()
}

fn message(event: &StripeEvent) -> ChatMessage {
    Registry::with_builtins()
        .try_transform(event)
        .expect("no transform error")
        .expect("a message")
}

fn field<'a>(message: &'a ChatMessage, label: &str) -> Option<&'a str> {
    message
        .fields
        .iter()
        .find(|f| f.label == label)
        .map(|f| f.value.as_str())
}

fn unavailable(message: &ChatMessage) -> bool {
    message.tags.iter().any(|t| t == "details unavailable")
}

/// The requests Stripe received, as `GET /v1/path?query`.
async fn received(stripe: &MockServer) -> Vec<String> {
    stripe
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let query = r.url.query().map(|q| format!("?{q}")).unwrap_or_default();
            format!("{} {}{query}", r.method, r.url.path())
        })
        .collect()
}

/// Serves recorded answers without any network: what the same reads return from memory.
struct Recorded(Vec<(String, Value)>);

#[async_trait::async_trait]
impl StripeReader for Recorded {
    async fn read(&self, read: &Read) -> Result<Value, ApiError> {
        self.0
            .iter()
            .find(|(path, _)| path == read.path())
            .map(|(_, v)| v.clone())
            .ok_or_else(|| ApiError::new(ErrorKind::Permanent, Some(404), None, "no such object"))
    }
}

#[tokio::test]
async fn a_basil_invoice_payment_failure_shows_the_decline_reason_and_card_from_one_read() {
    let stripe = MockServer::start().await;
    let original = event(BASIL_FAILED);
    Mock::given(method("GET"))
        .and(path("/v1/invoice_payments"))
        .and(query_param("invoice", "in_1C9QB52LmT4hZ8pRghk2yYBU"))
        .and(query_param(
            "expand[]",
            "data.payment.payment_intent.latest_charge",
        ))
        .and(header("stripe-account", "acct_1OqXkT2LmT4hZ8pR"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer("invoice_payments@basil")))
        .expect(1)
        .mount(&stripe)
        .await;
    let enricher = enricher(&stripe, Duration::from_secs(2));

    // Without enrichment the basil event has no reason and no card.
    let bare = message(&original);
    assert_eq!(
        field(&bare, "Failure reason"),
        Some("Not included in the invoice event; see the payment in Stripe.")
    );
    assert_eq!(field(&bare, "Card"), None);

    let enriched = message(&enricher.enrich(original.clone()).await);
    assert_eq!(
        field(&enriched, "Failure reason"),
        Some("The card has insufficient funds.")
    );
    assert_eq!(field(&enriched, "Card"), Some("Mastercard •••• 4444"));
    assert!(
        enriched
            .summary
            .starts_with("The card has insufficient funds.")
    );
    assert!(!unavailable(&enriched));
    insta::assert_json_snapshot!("basil_invoice_payment_failed_enriched", enriched);
    assert_eq!(
        received(&stripe).await,
        [
            "GET /v1/invoice_payments?invoice=in_1C9QB52LmT4hZ8pRghk2yYBU&expand%5B%5D=data.payment.payment_intent.latest_charge"
        ]
    );

    // The same event again: from the cache, no second read, the same message.
    let again = message(&enricher.enrich(original.clone()).await);
    assert_eq!(again, enriched);
    assert_eq!(enricher.calls(), 1);

    // The same answer without any network renders the same message.
    let offline = Enricher::builder(Recorded(vec![(
        "/invoice_payments".into(),
        answer("invoice_payments@basil"),
    )]))
    .build();
    assert_eq!(message(&offline.enrich(original).await), enriched);
}

#[tokio::test]
async fn when_stripe_fails_the_basil_failure_goes_out_marked_details_unavailable() {
    let stripe = MockServer::start().await;
    Mock::given(path("/v1/invoice_payments"))
        .respond_with(ResponseTemplate::new(503).set_body_json(serde_json::json!({
            "error": {"type": "api_error", "message": "An unknown error occurred"}
        })))
        .mount(&stripe)
        .await;
    let enriched = enricher(&stripe, Duration::from_secs(2))
        .enrich(event(BASIL_FAILED))
        .await;
    let m = message(&enriched);
    assert!(unavailable(&m));
    assert_eq!(field(&m, "Card"), None);
    insta::assert_json_snapshot!("basil_invoice_payment_failed_details_unavailable", m);
}

#[tokio::test]
async fn each_flow_makes_exactly_the_reads_it_needs() {
    let cases: [(&str, &str, &str, &str); 3] = [
        (
            "invoice.payment_failed@2024-06-20",
            "/v1/charges/ch_3MRyetQ9RKHgCVdKtME7Ib4w",
            "",
            "charge@invoice-2024-06-20",
        ),
        (
            "charge.dispute.created@2026-09-30.endive",
            "/v1/charges/ch_3DlcJaQ9RKHgCVdKwwwhNe8t",
            "?expand%5B%5D=customer",
            "charge@dispute-endive",
        ),
        (
            "customer.subscription.deleted@2026-09-30.endive",
            "/v1/subscriptions/sub_1puJwnQ9RKHgCVdKIayKtcp8",
            "?expand%5B%5D=customer&expand%5B%5D=items.data.price.product",
            "subscription@deleted-endive",
        ),
    ];
    for (name, read_path, query, answer_name) in cases {
        let stripe = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(read_path))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer(answer_name)))
            .expect(1)
            .mount(&stripe)
            .await;
        let enriched = enricher(&stripe, Duration::from_secs(2))
            .enrich(event(name))
            .await;
        assert_eq!(
            received(&stripe).await,
            [format!("GET {read_path}{query}")],
            "{name}"
        );
        let m = message(&enriched);
        assert!(!unavailable(&m), "{name}");
        match name {
            n if n.starts_with("invoice") => {
                assert_eq!(
                    field(&m, "Failure reason"),
                    Some("The card has insufficient funds.")
                );
                assert_eq!(field(&m, "Card"), Some("Visa •••• 0341"));
            }
            n if n.starts_with("charge.dispute") => {
                assert_eq!(field(&m, "Customer"), Some("Priya Raman"));
                assert_eq!(field(&m, "Card"), Some("Visa •••• 8431"));
            }
            _ => assert_eq!(m.title, "Subscription canceled: Harbor Yoga Studio"),
        }
    }
}

#[test]
fn events_that_carry_what_their_message_shows_need_no_read() {
    for name in [
        "charge.failed@2026-09-30.endive",
        "payment_intent.payment_failed@2026-09-30.endive",
        "invoice.paid@2025-03-31.basil",
        "customer.updated@2026-09-30.endive",
        "payout.paid@2026-09-30.endive",
    ] {
        assert_eq!(stripe_chat_enrich::reads_for(&event(name)), [], "{name}");
    }
}

/// Stripe answering each way that is not an answer: the message goes out, unenriched, well
/// within the deadline plus the time to transform it.
#[tokio::test]
async fn slow_limited_failing_or_refusing_stripe_never_holds_the_message_back() {
    let slow = ResponseTemplate::new(200)
        .set_body_json(answer("invoice_payments@basil"))
        .set_delay(Duration::from_secs(30));
    let error = |status: u16, kind: &str| {
        ResponseTemplate::new(status)
            .set_body_json(serde_json::json!({"error": {"type": kind, "message": "no"}}))
    };
    let cases = [
        ("slow", slow),
        (
            "429",
            error(429, "invalid_request_error").insert_header("Retry-After", "30"),
        ),
        ("500", error(500, "api_error")),
        ("401", error(401, "invalid_request_error")),
    ];
    for (what, response) in cases {
        let stripe = MockServer::start().await;
        Mock::given(path("/v1/invoice_payments"))
            .respond_with(response)
            .mount(&stripe)
            .await;
        let timeout = Duration::from_millis(300);
        let enricher = enricher(&stripe, timeout);
        let started = std::time::Instant::now();
        let m = message(&enricher.enrich(event(BASIL_FAILED)).await);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(3), "{what}: took {took:?}");
        assert!(unavailable(&m), "{what}");
        assert!(
            m.title
                .starts_with("Payment failed: 89.00 USD from Zoë Müller")
        );
    }
}

/// A log sink for one test.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        self.0
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_refused_key_is_logged_once_and_stops_the_reads() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let stripe = MockServer::start().await;
    Mock::given(path("/v1/invoice_payments"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": {"type": "invalid_request_error", "message": format!("Invalid API Key provided: {KEY}")}
        })))
        .mount(&stripe)
        .await;
    let enricher = enricher(&stripe, Duration::from_secs(2));
    let template = event(BASIL_FAILED);
    for i in 0..50 {
        let raw = template.raw().replace(
            "in_1C9QB52LmT4hZ8pRghk2yYBU",
            &format!("in_1C9QB52LmT4hZ8pR{i:08}"),
        );
        let e = StripeEvent::from_json(raw).expect("an event");
        assert!(unavailable(&message(&enricher.enrich(e).await)));
    }
    let text = logs.text();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("refused the API key"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].contains("ERROR"));
    assert!(!text.contains(KEY) && !text.contains("51EnrichmentKey"));
    assert_eq!(
        received(&stripe).await.len(),
        1,
        "one refusal, then no more reads"
    );
}

#[tokio::test]
async fn stripe_failing_in_a_row_opens_the_breaker_and_reads_stop() {
    let stripe = MockServer::start().await;
    Mock::given(path("/v1/invoice_payments"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&stripe)
        .await;
    let enricher = Enricher::builder(ApiReader::new(client(&stripe)))
        .breaker(5, Duration::from_secs(60), Duration::from_secs(300))
        .build();
    let template = event(BASIL_FAILED);
    for i in 0..100 {
        let raw = template.raw().replace(
            "in_1C9QB52LmT4hZ8pRghk2yYBU",
            &format!("in_1C9QB52LmT4hZ8pR{i:08}"),
        );
        let e = StripeEvent::from_json(raw).expect("an event");
        assert!(unavailable(&message(&enricher.enrich(e).await)));
    }
    assert_eq!(received(&stripe).await.len(), 5);
    assert_eq!(enricher.calls(), 5);
}

/// Answers any invoice's payments, naming the invoice asked for.
struct PaymentsOf(Value);

impl Respond for PaymentsOf {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let invoice = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "invoice")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let mut body = self.0.clone();
        if let Some(entries) = body["data"].as_array_mut() {
            for entry in entries {
                entry["invoice"] = Value::String(invoice.clone());
            }
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_1000_events_about_100_invoices_reads_each_invoice_once_within_the_pace() {
    let stripe = MockServer::start().await;
    Mock::given(path("/v1/invoice_payments"))
        .respond_with(PaymentsOf(answer("invoice_payments@basil")))
        .mount(&stripe)
        .await;
    let per_second = 50.0;
    let enricher = Arc::new(
        Enricher::builder(ApiReader::new(client(&stripe)))
            .rate_limiter(RateLimiter::per_second(per_second))
            .build(),
    );
    let template = event(BASIL_FAILED);
    let events: Vec<StripeEvent> = (0..1000)
        .map(|i| {
            let raw = template
                .raw()
                .replace(
                    "in_1C9QB52LmT4hZ8pRghk2yYBU",
                    &format!("in_1C9QB52LmT4hZ8pR{:08}", i % 100),
                )
                .replace("evt_1QQ9AP2LmT4hZ8pRDvyqKWqP", &format!("evt_burst{i:06}"));
            StripeEvent::from_json(raw).expect("an event")
        })
        .collect();
    let queue = Arc::new(Mutex::new(events));
    let started = std::time::Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (queue, enricher) = (Arc::clone(&queue), Arc::clone(&enricher));
        workers.spawn(async move {
            let mut carded = 0;
            loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop());
                let Some(event) = next else { break };
                let m = message(&enricher.enrich(event).await);
                if field(&m, "Card") == Some("Mastercard •••• 4444") {
                    carded += 1;
                }
            }
            carded
        });
    }
    let mut carded = 0;
    while let Some(done) = workers.join_next().await {
        carded += done.expect("a worker");
    }
    let took = started.elapsed().as_secs_f64();
    let calls = received(&stripe).await.len();
    println!(
        "1000 events, 100 invoices: {calls} Stripe calls in {took:.2} s, {carded} events with the card"
    );
    assert!(calls <= 100, "{calls} calls: one per invoice at most");
    let pace_bound = (per_second * took).ceil() as usize + per_second as usize;
    assert!(calls <= pace_bound, "{calls} calls in {took:.2} s");
    assert_eq!(u64::try_from(calls).ok(), Some(enricher.calls()));
    assert_eq!(carded, 1000, "every event enriched within its deadline");
}

/// Contacts recorded by the team, kept in memory.
struct Contacts(Vec<(String, LastContact)>);

#[async_trait::async_trait]
impl ContactHistory for Contacts {
    async fn last_contact(
        &self,
        _account: Option<&str>,
        customer: &str,
    ) -> Result<Option<LastContact>, ContactError> {
        Ok(self
            .0
            .iter()
            .find(|(c, _)| c == customer)
            .map(|(_, contact)| contact.clone()))
    }
}

#[tokio::test]
async fn a_customer_contacted_before_shows_when_and_by_whom_without_a_stripe_call() {
    let stripe = MockServer::start().await;
    let paid = event("invoice.paid@2025-03-31.basil");
    let customer = paid
        .invoice()
        .and_then(|i| i.customer_id())
        .map(str::to_owned);
    let customer = customer.expect("a customer");
    let contacts = Contacts(vec![(
        customer.clone(),
        LastContact::new(paid.created() - 2 * 86_400 - 600, "ana"),
    )]);
    let enricher = Enricher::builder(ApiReader::new(client(&stripe)))
        .contacts(Arc::new(contacts))
        .build();
    let m = message(&enricher.enrich(paid).await);
    assert_eq!(field(&m, "Last contacted"), Some("2 days ago by ana"));
    assert!(!unavailable(&m));
    assert!(received(&stripe).await.is_empty());

    // Stripe too slow for the details of a failure: the contact is shown all the same.
    Mock::given(path("/v1/invoice_payments"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&stripe)
        .await;
    let failed = event(BASIL_FAILED);
    let slow = Enricher::builder(ApiReader::new(client(&stripe)))
        .timeout(Duration::from_millis(300))
        .contacts(Arc::new(Contacts(vec![(
            customer.clone(),
            LastContact::new(failed.created() - 3 * 3_600, "li"),
        )])))
        .build();
    let m = message(&slow.enrich(failed).await);
    assert!(unavailable(&m));
    assert_eq!(field(&m, "Last contacted"), Some("3 h ago by li"));

    // Somebody never contacted: no field.
    let other = event("invoice.paid@2024-06-20");
    assert_ne!(
        other.invoice().and_then(|i| i.customer_id()),
        Some(customer.as_str())
    );
    let m = message(&enricher.enrich(other).await);
    assert_eq!(field(&m, "Last contacted"), None);
}

#[tokio::test]
async fn card_data_from_stripe_passes_the_same_redaction() {
    let stripe = MockServer::start().await;
    let mut charge = answer("charge@dispute-endive");
    // A card number where Stripe echoes what a customer typed.
    charge["billing_details"]["name"] = Value::String("Priya 4242 4242 4242 4242".into());
    Mock::given(path("/v1/charges/ch_3DlcJaQ9RKHgCVdKwwwhNe8t"))
        .respond_with(ResponseTemplate::new(200).set_body_json(charge))
        .mount(&stripe)
        .await;
    let enriched = enricher(&stripe, Duration::from_secs(2))
        .enrich(event("charge.dispute.created@2026-09-30.endive"))
        .await;
    let m = Pipeline::from_config(&RedactionConfig::default())
        .message(&enriched)
        .expect("a message");
    let json = serde_json::to_string(&m).expect("serialisable");
    assert!(!json.contains("4242 4242 4242 4242") && !json.contains("4242424242424242"));
    assert!(!json.contains("fingerprint") && !json.contains("exp_year"));
    assert_eq!(field(&m, "Card"), Some("Visa •••• 8431"));
}

#[tokio::test(flavor = "current_thread")]
async fn a_key_without_a_permission_is_named_once_and_other_reads_go_on() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let stripe = MockServer::start().await;
    Mock::given(path("/v1/subscriptions/sub_1puJwnQ9RKHgCVdKIayKtcp8"))
        .respond_with(ResponseTemplate::new(403).set_body_json(serde_json::json!({
            "error": {"type": "invalid_request_error", "message": "The provided key does not have the required permissions"}
        })))
        .mount(&stripe)
        .await;
    Mock::given(path("/v1/charges/ch_3DlcJaQ9RKHgCVdKwwwhNe8t"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer("charge@dispute-endive")))
        .mount(&stripe)
        .await;
    let enricher = enricher(&stripe, Duration::from_secs(2));
    for _ in 0..3 {
        let m = message(
            &enricher
                .enrich(event("customer.subscription.deleted@2026-09-30.endive"))
                .await,
        );
        assert!(unavailable(&m));
    }
    let dispute = message(
        &enricher
            .enrich(event("charge.dispute.created@2026-09-30.endive"))
            .await,
    );
    assert_eq!(field(&dispute, "Card"), Some("Visa •••• 8431"));
    let text = logs.text();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("may not read subscriptions"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
}

#[tokio::test]
async fn an_account_with_its_own_key_is_read_with_it_and_others_through_connect() {
    let stripe = MockServer::start().await;
    // The basil event is about acct_1OqXkT2LmT4hZ8pR, which has a key of its own here.
    Mock::given(path("/v1/invoice_payments"))
        .and(header("authorization", "Bearer rk_test_account_own_key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer("invoice_payments@basil")))
        .expect(1)
        .mount(&stripe)
        .await;
    let own = Client::builder(Secret::new("rk_test_account_own_key"))
        .api_base(stripe.uri())
        .retry(Retry::NONE)
        .build()
        .expect("a client");
    let accounts = stripe_chat_stripe::Accounts::new(
        Arc::try_unwrap(client(&stripe)).expect("the only reference"),
    )
    .with_account("acct_1OqXkT2LmT4hZ8pR", own)
    .expect("an account id");
    let enricher = Enricher::builder(ApiReader::by_account(Arc::new(accounts))).build();
    let m = message(&enricher.enrich(event(BASIL_FAILED)).await);
    assert_eq!(field(&m, "Card"), Some("Mastercard •••• 4444"));
    let requests = stripe.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 1);
    assert!(
        !requests[0].headers.contains_key("stripe-account"),
        "its own key, not Connect"
    );
}

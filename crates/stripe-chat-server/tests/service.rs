//! The service in process: the webhook endpoint's answers and the workers' delivery rules, over
//! the in-memory store and the file destination.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stripe_chat_events::{StripeEvent, sign};
use stripe_chat_message::ChatMessage;
use stripe_chat_redact::{DefaultPolicy, RedactionPolicy};
use stripe_chat_server::config::Destination;
use stripe_chat_server::config::ServiceConfig;
use stripe_chat_server::service::{Service, ServiceBuilder};
use stripe_chat_store::{MemoryStore, Store};
use stripe_chat_transform::{Registry, TransformError};

const SECRET: &str = "whsec_test_secret";

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/events")
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(corpus().join(name)).expect("fixture")
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `raw` with a new id and `created`.
fn with_id(raw: &str, id: &str, created: i64) -> String {
    let mut value: serde_json::Value = serde_json::from_str(raw).expect("json");
    value["id"] = id.into();
    value["created"] = created.into();
    value.to_string()
}

struct Running {
    service: Service,
    store: Arc<MemoryStore>,
    file: PathBuf,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn start(extra: &str) -> Running {
        Running::start_with(extra, |builder| builder).await
    }

    /// The service of `start`, built with the caller's transformers or redaction.
    async fn start_with(
        extra: &str,
        customize: impl for<'a> FnOnce(ServiceBuilder<'a>) -> ServiceBuilder<'a>,
    ) -> Running {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("messages.jsonl");
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nbody_limit_bytes = 65536\n[stripe]\nwebhook_secrets = [\"{SECRET}\"]\n[store]\nsqlite = \"unused.db\"\n[delivery]\nworkers = 2\ninitial_backoff_ms = 50\n{extra}\n[[destinations]]\nname = \"log\"\nprovider = \"file\"\npath = {:?}\nthread_replies = true\n[[routes]]\nevents = [\"*\"]\nto = [\"log\"]\n",
            file.display().to_string()
        );
        let config = ServiceConfig::from_toml(&text).expect("config");
        let store = Arc::new(MemoryStore::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let service = customize(Service::builder(&config))
            .start(Arc::clone(&store) as Arc<dyn Store>, listener)
            .expect("start");
        Running {
            service,
            store,
            file,
            client: reqwest::Client::new(),
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.service.local_addr())
    }

    async fn post(&self, body: &str, signature: Option<String>) -> (u16, String) {
        let mut request = self
            .client
            .post(self.url("/webhooks/stripe"))
            .body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header("Stripe-Signature", signature);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    async fn post_signed(&self, body: &str) -> (u16, String) {
        self.post(body, Some(sign(body.as_bytes(), SECRET, now())))
            .await
    }

    async fn lines(&self, count: usize) -> Vec<stripe_chat_file::Record> {
        for _ in 0..200 {
            let text = std::fs::read_to_string(&self.file).unwrap_or_default();
            let records: Vec<_> = stripe_chat_file::records(&text)
                .filter_map(Result::ok)
                .collect();
            if records.len() >= count && self.store.stats().await.expect("stats").pending == 0 {
                return records;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("fewer than {count} lines were written");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_or_missing_signatures_are_refused_with_their_reason_and_nothing_is_stored() {
    let running = Running::start("").await;
    let body = fixture("invoice.paid@2024-06-20.json");
    let (status, text) = running.post(&body, None).await;
    assert_eq!(
        (status, text.contains("missing_header")),
        (400, true),
        "{text}"
    );
    let (status, text) = running.post(&body, Some("garbage".into())).await;
    assert_eq!(
        (status, text.contains("malformed_header")),
        (400, true),
        "{text}"
    );
    let wrong = sign(body.as_bytes(), "whsec_other_secret", now());
    let (status, text) = running.post(&body, Some(wrong)).await;
    assert_eq!(
        (status, text.contains("no_valid_signature")),
        (400, true),
        "{text}"
    );
    let old = sign(body.as_bytes(), SECRET, now() - 3600);
    let (status, text) = running.post(&body, Some(old)).await;
    assert_eq!(
        (status, text.contains("timestamp_out_of_tolerance")),
        (400, true),
        "{text}"
    );
    let stats = running.store.stats().await.expect("stats");
    assert_eq!(stats.pending + stats.delivered, 0);
    let metrics = running
        .client
        .get(running.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(r#"stripe_chat_webhooks_rejected_total{reason="no_valid_signature"} 1"#),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_gets_413_without_being_stored() {
    let running = Running::start("").await;
    let big = format!("{{\"id\":\"evt_big\",\"pad\":\"{}\"}}", "x".repeat(70_000));
    let (status, _) = running.post_signed(&big).await;
    assert_eq!(status, 413);
    assert!(
        running
            .store
            .event("evt_big")
            .await
            .expect("read")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_event_of_an_unknown_type_is_stored_and_acknowledged_and_duplicates_are_not_stored_twice()
 {
    let running = Running::start("").await;
    let body = fixture("some_future.thing.happened@2027-01-15.future.json");
    let (status, text) = running.post_signed(&body).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"duplicate\":false"));
    let (status, text) = running.post_signed(&body).await;
    assert_eq!(status, 200);
    assert!(text.contains("\"duplicate\":true"));
    let id = serde_json::from_str::<serde_json::Value>(&body).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(running.store.event(&id).await.expect("read").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_body_that_is_not_json_is_refused_and_a_signed_thin_event_is_kept() {
    let running = Running::start("").await;
    let (status, _) = running.post_signed("not json at all").await;
    assert_eq!(status, 400);
    let thin = r#"{"id":"evt_thin_1","object":"v2.core.event","type":"v1.billing.meter.error_report_triggered","created":"2026-10-01T00:00:00Z"}"#;
    let (status, _) = running.post_signed(thin).await;
    assert_eq!(status, 200);
    assert!(
        running
            .store
            .event("evt_thin_1")
            .await
            .expect("read")
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_cannot_commit_gets_503_so_stripe_retries_and_readiness_follows() {
    let running = Running::start("").await;
    running.store.set_available(false);
    let (status, _) = running
        .post_signed(&fixture("invoice.paid@2024-06-20.json"))
        .await;
    assert_eq!(status, 503);
    let ready = running
        .client
        .get(running.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status().as_u16(), 503);
    running.store.set_available(true);
    let ready = running
        .client
        .get(running.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status().as_u16(), 200);
    let health = running
        .client
        .get(running.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workers_run_the_callers_transformers_and_redaction_policy() {
    let running = Running::start_with("", |builder| {
        let mut transformers = Registry::with_builtins();
        transformers.register(
            "payout.*",
            |event: &StripeEvent| -> Result<Option<ChatMessage>, TransformError> {
                Ok(Some(
                    ChatMessage::new(format!("Treasury: {}", event.event_type()))
                        .summary("Sent to account 4242 4242 4242 4242 by treasury@example.com"),
                ))
            },
        );
        builder.transformers(transformers).redaction(
            |destination: &Destination| -> Arc<dyn RedactionPolicy> {
                let name = destination.name.clone();
                let configured = DefaultPolicy::from_config(&destination.redaction);
                Arc::new(configured.then(move |mut message: ChatMessage| {
                    message.footer = Some(format!("for {name}"));
                    message
                }))
            },
        )
    })
    .await;
    let payout = with_id(
        &fixture("payout.paid@2026-09-30.endive.json"),
        "evt_p1",
        now(),
    );
    assert_eq!(running.post_signed(&payout).await.0, 200);
    let lines = running.lines(1).await;
    let message = &lines[0].message;
    assert_eq!(message.title, "Treasury: payout.paid");
    assert_eq!(message.footer.as_deref(), Some("for log"));
    assert!(
        !message.summary.contains("4242 4242 4242 4242") && !message.summary.contains("treasury@"),
        "the configured policy still applies: {}",
        message.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispute_message_is_updated_in_place_with_a_thread_reply() {
    let running = Running::start("").await;
    let t = now();
    let created = with_id(
        &fixture("charge.dispute.created@2026-09-30.endive.json"),
        "evt_d1",
        t - 20,
    );
    let closed = with_id(
        &fixture("charge.dispute.closed@2026-09-30.endive+won.json"),
        "evt_d2",
        t - 10,
    );
    assert_eq!(running.post_signed(&created).await.0, 200);
    running.lines(1).await;
    assert_eq!(running.post_signed(&closed).await.0, 200);
    let lines = running.lines(3).await;
    assert_eq!(lines.len(), 3, "message, update, reply");
    assert!(lines[1].update_of.as_deref() == Some(lines[0].id.as_str()));
    assert!(lines[2].thread_root.as_deref() == Some(lines[0].id.as_str()));
    assert!(
        lines[1].message.title.to_lowercase().contains("won"),
        "{}",
        lines[1].message.title
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_failure_queued_behind_its_invoices_payment_is_not_sent() {
    let running = Running::start("").await;
    running.store.set_available(true);
    let t = now();
    let failed = with_id(
        &fixture("invoice.payment_failed@2026-09-30.endive.json"),
        "evt_f1",
        t - 20,
    );
    let mut paid: serde_json::Value =
        serde_json::from_str(&fixture("invoice.paid@2026-09-30.endive.json")).expect("json");
    let failed_value: serde_json::Value = serde_json::from_str(&failed).expect("json");
    paid["data"]["object"]["id"] = failed_value["data"]["object"]["id"].clone();
    paid["id"] = "evt_p1".into();
    paid["created"] = (t - 10).into();
    let paid = paid.to_string();
    // Both arrive while the workers are busy: ingest them in one go, the failure first.
    let (a, b) = tokio::join!(running.post_signed(&failed), running.post_signed(&paid));
    assert_eq!((a.0, b.0), (200, 200));
    let lines = running.lines(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lines_after = running.lines(lines.len()).await;
    let titles: Vec<_> = lines_after
        .iter()
        .map(|l| l.message.title.clone())
        .collect();
    let inhibited = running.service.metrics().deliveries("log", "inhibited");
    // Either the failure was inhibited, or (when the workers took it before the payment arrived)
    // it was sent first and the payment updated it in place.
    if inhibited == 1 {
        assert_eq!(lines_after.len(), 1, "{titles:?}");
    } else {
        assert!(
            lines_after.len() >= 2 && lines_after[1].update_of.is_some(),
            "{titles:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_whose_platform_fails_is_retried_whole_and_posted_once() {
    use stripe_chat_server::ingest::jobs_for;
    use stripe_chat_server::metrics::Metrics;
    use stripe_chat_server::worker::Delivery;
    use stripe_chat_store::NewEvent;
    use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

    let platform = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&platform)
        .await;
    Mock::given(matchers::method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&platform)
        .await;
    let config = ServiceConfig::from_toml(&format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"{SECRET}\"]\n[store]\nsqlite = \"unused.db\"\n[delivery]\nworkers = 2\ninitial_backoff_ms = 50\n\
         [[destinations]]\nname = \"hook\"\nprovider = \"webhook\"\nurl = \"{}/hook\"\nsecret = \"digest-test-signing-secret\"\n\
         [[routes]]\nname = \"sales\"\nto = [\"hook\"]\ndigest = {{ window = \"2s\" }}\n",
        platform.uri()
    ))
    .expect("config");
    let store = Arc::new(MemoryStore::new());
    // Events received in a window that has ended.
    let received = SystemTime::now() - Duration::from_secs(10);
    let amounts = [1_500_i64, 2_500, 4_000];
    for (i, amount) in amounts.iter().enumerate() {
        let mut value: serde_json::Value =
            serde_json::from_str(&fixture("payment_intent.succeeded@2026-09-30.endive.json"))
                .expect("json");
        value["id"] = format!("evt_digest_{i}").into();
        value["data"]["object"]["id"] = format!("pi_digest_{i}").into();
        value["data"]["object"]["amount"] = (*amount).into();
        value["data"]["object"]["currency"] = "eur".into();
        let event = StripeEvent::from_json(value.to_string()).expect("event");
        let jobs = jobs_for(&config.routes, &event, received);
        let new = NewEvent {
            id: event.id().to_owned(),
            event_type: event.event_type().to_owned(),
            created: event.created(),
            livemode: event.livemode(),
            account: None,
            raw: event.raw().to_owned(),
            received_at: received,
        };
        store.ingest(new, jobs).await.expect("ingest");
    }
    let metrics = Arc::new(Metrics::default());
    let delivery = Delivery::new(
        &config,
        Arc::clone(&store) as Arc<dyn Store>,
        Arc::clone(&metrics),
        Arc::default(),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut workers = delivery.spawn(stopped);
    for _ in 0..200 {
        if store.stats().await.expect("stats").delivered == amounts.len() as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop.send(true).expect("stop");
    while workers.join_next().await.is_some() {}

    let stats = store.stats().await.expect("stats");
    assert_eq!(stats.delivered, amounts.len() as u64, "{stats:?}");
    let requests = platform.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 2, "one refused, one accepted");
    let total = stripe_chat_events::Money::new(amounts.iter().sum(), "eur").to_string();
    for request in &requests {
        let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json");
        assert_eq!(
            body.pointer("/message/title").and_then(|t| t.as_str()),
            Some("Digest: 3 events in 2 s")
        );
        assert!(body.to_string().contains(&total), "{body}");
    }
    assert_eq!(metrics.deliveries("hook", "retried"), 1);
    assert_eq!(metrics.deliveries("hook", "digested"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_while_the_disk_is_full_and_returns_by_itself_once_space_is_freed() {
    use stripe_chat_store::{SqliteOptions, SqliteStore};

    let dir = tempfile::tempdir().expect("tempdir");
    // Test-mode events match no route: stored without jobs, as a burst nobody delivers yet.
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"{SECRET}\"]\n[store]\nsqlite = \"unused.db\"\n[[destinations]]\nname = \"log\"\nprovider = \"file\"\npath = {:?}\n[[routes]]\nevents = [\"*\"]\nlivemode = true\nto = [\"log\"]\n",
        dir.path().join("messages.jsonl").display().to_string()
    );
    let config = ServiceConfig::from_toml(&text).expect("config");
    // A volume of 384 KiB.
    let options = SqliteOptions::default().max_size_bytes(384 * 1024);
    let store = Arc::new(
        SqliteStore::open(dir.path().join("store.db"), options)
            .await
            .expect("store"),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let service =
        Service::start(&config, Arc::clone(&store) as Arc<dyn Store>, listener).expect("start");
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://{}{path}", service.local_addr());
    let ready = || async {
        client
            .get(url("/readyz"))
            .send()
            .await
            .expect("readyz")
            .status()
            .as_u16()
    };
    assert_eq!(ready().await, 200);

    let raw = fixture("invoice.paid@2024-06-20.json");
    let mut stored = 0;
    loop {
        let body = with_id(&raw, &format!("evt_full_{stored}"), now());
        let status = client
            .post(url("/webhooks/stripe"))
            .header("Stripe-Signature", sign(body.as_bytes(), SECRET, now()))
            .body(body)
            .send()
            .await
            .expect("post")
            .status()
            .as_u16();
        if status == 503 {
            break;
        }
        assert_eq!(status, 200);
        stored += 1;
        assert!(stored < 1000, "the volume never filled");
    }
    assert!(stored > 10, "{stored}");
    assert_eq!(ready().await, 503, "no commit can succeed: not ready");
    assert_eq!(ready().await, 503);

    // Space is freed (here by pruning the stored events); no webhook arrives.
    let later = SystemTime::now() + Duration::from_secs(3600);
    while !store.prune(later, 500).await.expect("prune").is_empty() {}
    assert_eq!(ready().await, 200, "ready again by itself");
    assert!(service.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_prunes_events_older_than_the_retention_in_the_background() {
    use stripe_chat_store::NewEvent;

    let store = Arc::new(MemoryStore::new());
    let old = SystemTime::now() - Duration::from_secs(31 * 86_400);
    let recent = SystemTime::now() - Duration::from_secs(29 * 86_400);
    for (id, received_at) in [("evt_old", old), ("evt_recent", recent)] {
        let event = NewEvent {
            id: id.into(),
            event_type: "customer.updated".into(),
            created: 1_700_000_000,
            livemode: false,
            account: None,
            raw: "{}".into(),
            received_at,
        };
        store.ingest(event, vec![]).await.expect("ingest");
    }
    let config = ServiceConfig::from_toml(&format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"{SECRET}\"]\n[store]\nsqlite = \"unused.db\"\n"
    ))
    .expect("config");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let service =
        Service::start(&config, Arc::clone(&store) as Arc<dyn Store>, listener).expect("start");
    // The default retention is 30 days; the first round runs as the service starts.
    let mut pruned = false;
    for _ in 0..200 {
        if store.event("evt_old").await.expect("read").is_none() {
            pruned = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(pruned, "the old event was not pruned");
    assert!(store.event("evt_recent").await.expect("read").is_some());
    let asked = std::time::Instant::now();
    assert!(service.shutdown(Duration::from_secs(5)).await);
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
}

//! `backfill` against Stripe's events API played by wiremock: paging, the query, the key, the
//! store, duplicates, error classes, and events of an older API version.

use std::time::{Duration, SystemTime};

use stripe_chat_message::{ErrorKind, Secret};
use stripe_chat_route::Routes;
use stripe_chat_server::backfill::{BackfillError, BackfillOptions, backfill, backfill_with};
use stripe_chat_store::{MemoryStore, Store};
use stripe_chat_stripe::{Client, Retry};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "sk_test_51NtBackfillKeyDoNotLeak7c2V9aQxR";

// Pretty-printed, as Stripe sends them: the store must keep these texts byte for byte (the files
// end with a newline, which is not part of the JSON value).
const PAYMENT_FAILED: &str =
    include_str!("../../../tests/fixtures/events/invoice.payment_failed@2026-09-30.endive.json");
const DISPUTE_CREATED: &str =
    include_str!("../../../tests/fixtures/events/charge.dispute.created@2026-09-30.endive.json");
/// An invoice rendered in API version 2019-12-03 (async-stripe is pinned to 2026-09-30.endive).
const PAID_2019: &str = include_str!("../../../tests/fixtures/events/invoice.paid@2019-12-03.json");

const PAYMENT_FAILED_ID: &str = "evt_1DNkpWQ9RKHgCVdK8SRH8t2b";
const DISPUTE_CREATED_ID: &str = "evt_1wwfAOQ9RKHgCVdKUrWTEtoq";
const PAID_2019_ID: &str = "evt_1WG0QSQ9RKHgCVdKQWOfF3v0";

fn page(events: &[&str], has_more: bool) -> String {
    format!(
        "{{\n  \"object\": \"list\",\n  \"data\": [\n{}\n  ],\n  \"has_more\": {has_more},\n  \"url\": \"/v1/events\"\n}}",
        events.join(",\n")
    )
}

fn stripe_error(status: u16, type_: &str, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(serde_json::json!({
        "error": { "type": type_, "code": code, "message": message }
    }))
}

fn client(server: &MockServer) -> Client {
    client_with(server, Duration::from_secs(5), Retry::NONE)
}

fn client_with(server: &MockServer, timeout: Duration, retry: Retry) -> Client {
    Client::builder(Secret::new(API_KEY))
        .api_base(server.uri())
        .timeout(timeout)
        .retry(retry)
        .build()
        .expect("valid client")
}

fn routes() -> Routes {
    serde_json::from_value(serde_json::json!([
        { "events": ["invoice.*"], "to": ["billing", "log"] },
        { "events": ["charge.dispute.*"], "to": ["legal"] }
    ]))
    .expect("valid routes")
}

fn times() -> (SystemTime, SystemTime) {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_792_500_000);
    (now - Duration::from_secs(24 * 3600), now)
}

const SINCE: &str = "1792413600";

/// Page 1 (newest first, `has_more`), then page 2 after its last event.
async fn two_pages(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .and(query_param("delivery_success", "false"))
        .and(query_param("created[gte]", SINCE))
        .and(query_param("limit", "100"))
        .and(query_param_is_missing("starting_after"))
        .and(header(
            "authorization",
            format!("Bearer {API_KEY}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(page(&[PAYMENT_FAILED, DISPUTE_CREATED], true)),
        )
        .named("first page")
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .and(query_param("delivery_success", "false"))
        .and(query_param("created[gte]", SINCE))
        .and(query_param("limit", "100"))
        .and(query_param("starting_after", DISPUTE_CREATED_ID))
        .and(header(
            "authorization",
            format!("Bearer {API_KEY}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string(page(&[PAID_2019], false)))
        .named("second page")
        .mount(server)
        .await;
}

#[tokio::test]
async fn pages_are_followed_and_every_event_is_stored_with_its_jobs() {
    let server = MockServer::start().await;
    two_pages(&server).await;
    let store = MemoryStore::new();
    let (since, now) = times();

    let report = backfill(&client(&server), &store, &routes(), since, now)
        .await
        .expect("backfill");

    assert_eq!(report.pages, 2);
    assert_eq!(report.listed, 3);
    assert_eq!(report.ingested, 3);
    assert_eq!(report.duplicates, 0);
    assert_eq!(report.skipped, 0);
    assert_eq!(
        report.jobs, 5,
        "2 invoices × (billing, log) + 1 dispute × legal"
    );
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(2));

    for (id, raw) in [
        (PAYMENT_FAILED_ID, PAYMENT_FAILED),
        (DISPUTE_CREATED_ID, DISPUTE_CREATED),
        (PAID_2019_ID, PAID_2019),
    ] {
        let stored = store.event(id).await.unwrap().expect("stored");
        assert_eq!(
            stored.raw,
            raw.trim_end(),
            "{id}: the event's JSON text is kept as Stripe sent it"
        );
        assert_eq!(stored.received_at, now);
    }

    let failed = store
        .queued_jobs("billing", "invoice/in_1IFceUQ9RKHgCVdKDSF5NQW1")
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].event_id, PAYMENT_FAILED_ID);
    assert_eq!(
        store
            .queued_jobs("log", "invoice/in_1IFceUQ9RKHgCVdKDSF5NQW1")
            .await
            .unwrap()
            .len(),
        1
    );
    let dispute = store
        .queued_jobs("legal", "dispute/dp_1DlcJaQ9RKHgCVdKM9jIkV7M")
        .await
        .unwrap();
    assert_eq!(dispute.len(), 1);
    assert_eq!(dispute[0].event_id, DISPUTE_CREATED_ID);
    assert_eq!(dispute[0].not_before, now, "due from the backfill's `now`");
    assert!(
        store
            .queued_jobs("billing", "dispute/dp_1DlcJaQ9RKHgCVdKM9jIkV7M")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.stats().await.unwrap().pending, 5);
}

#[tokio::test]
async fn an_event_of_an_older_api_version_is_ingested_and_routed() {
    let event = stripe_chat_events::StripeEvent::from_json(PAID_2019.to_owned()).unwrap();
    assert_eq!(event.api_version(), Some("2019-12-03"));
    assert!(
        event.object().get("subscription").is_some(),
        "the pre-basil invoice shape"
    );

    // Before 2017-05-25, an event's `request` was a string.
    let paid_2017 = r#"{"id":"evt_2017","object":"event","api_version":"2017-02-14","created":1792400000,
      "data":{"object":{"id":"in_2017","object":"invoice","amount_due":1200,"currency":"eur","paid":true}},
      "livemode":false,"pending_webhooks":1,"request":"req_2017","type":"invoice.payment_succeeded"}"#;

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(page(&[PAID_2019, paid_2017], false)),
        )
        .mount(&server)
        .await;
    let store = MemoryStore::new();
    let (since, now) = times();

    let report = backfill(&client(&server), &store, &routes(), since, now)
        .await
        .unwrap();

    assert_eq!((report.listed, report.ingested, report.jobs), (2, 2, 4));
    let stored = store.event(PAID_2019_ID).await.unwrap().expect("stored");
    assert_eq!(stored.raw, PAID_2019.trim_end());
    assert_eq!(stored.event_type, "invoice.paid");
    let jobs = store
        .queued_jobs("billing", "invoice/in_1ONTAkQ9RKHgCVdKDwKIAzcZ")
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        store
            .event("evt_2017")
            .await
            .unwrap()
            .map(|e| e.raw)
            .as_deref(),
        Some(paid_2017)
    );
    assert_eq!(
        store
            .queued_jobs("log", "invoice/in_2017")
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_second_run_reports_duplicates_and_creates_no_jobs() {
    let server = MockServer::start().await;
    two_pages(&server).await;
    let store = MemoryStore::new();
    let (since, now) = times();
    let client = client(&server);

    backfill(&client, &store, &routes(), since, now)
        .await
        .unwrap();
    let again = backfill(
        &client,
        &store,
        &routes(),
        since,
        now + Duration::from_secs(60),
    )
    .await
    .unwrap();

    assert_eq!(again.pages, 2);
    assert_eq!(again.listed, 3);
    assert_eq!(again.ingested, 0);
    assert_eq!(again.duplicates, 3);
    assert_eq!(again.jobs, 0);
    assert_eq!(store.stats().await.unwrap().pending, 5);
}

#[tokio::test]
async fn an_event_the_webhook_already_stored_counts_as_a_duplicate() {
    let server = MockServer::start().await;
    two_pages(&server).await;
    let store = MemoryStore::new();
    let (since, now) = times();
    // Delivered by the webhook in the meantime.
    let event = stripe_chat_events::StripeEvent::from_json(DISPUTE_CREATED.to_owned())
        .unwrap()
        .subject()
        .map(|subject| subject.to_string());
    assert_eq!(
        event.as_deref(),
        Some("dispute/dp_1DlcJaQ9RKHgCVdKM9jIkV7M")
    );
    store
        .ingest(
            stripe_chat_store::NewEvent {
                id: DISPUTE_CREATED_ID.into(),
                event_type: "charge.dispute.created".into(),
                created: 1_791_566_552,
                livemode: false,
                account: None,
                raw: DISPUTE_CREATED.into(),
                received_at: now,
            },
            vec![
                stripe_chat_store::NewJob::new("legal")
                    .thread_key("dispute/dp_1DlcJaQ9RKHgCVdKM9jIkV7M"),
            ],
        )
        .await
        .unwrap();

    let report = backfill(&client(&server), &store, &routes(), since, now)
        .await
        .unwrap();

    assert_eq!(
        (report.listed, report.ingested, report.duplicates),
        (3, 2, 1)
    );
    assert_eq!(store.stats().await.unwrap().pending, 5);
}

#[tokio::test]
async fn a_refused_key_is_unauthorized_and_never_shown() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .respond_with(stripe_error(
            401,
            "invalid_request_error",
            "api_key_expired",
            &format!("Expired API Key provided: {API_KEY}"),
        ))
        .mount(&server)
        .await;
    let client = client(&server);

    let err = backfill(
        &client,
        &MemoryStore::new(),
        &routes(),
        times().0,
        times().1,
    )
    .await
    .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(!err.kind().is_retryable());
    assert_eq!(err.status(), Some(401));
    assert!(matches!(err, BackfillError::Stripe(_)), "{err:?}");
    let shown = format!("{err} {err:?} {client:?}");
    assert!(shown.contains("api_key_expired"), "{shown}");
    assert!(!shown.contains(API_KEY), "{shown}");
    assert!(!shown.contains("DoNotLeak"), "{shown}");
}

#[tokio::test]
async fn a_key_that_may_not_read_events_is_unauthorized() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(stripe_error(
            403,
            "invalid_request_error",
            "secret_key_required",
            "The provided key 'rk_test_***x9' does not have the required permissions",
        ))
        .mount(&server)
        .await;

    let err = backfill(
        &client(&server),
        &MemoryStore::new(),
        &routes(),
        times().0,
        times().1,
    )
    .await
    .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(err.status(), Some(403));
}

#[tokio::test]
async fn errors_are_classified_and_keep_the_key_out() {
    for (status, type_, code, kind) in [
        (
            429,
            "invalid_request_error",
            "rate_limit",
            ErrorKind::RateLimited,
        ),
        (500, "api_error", "", ErrorKind::Transient),
        (503, "api_error", "", ErrorKind::Transient),
        (
            400,
            "invalid_request_error",
            "parameter_invalid_integer",
            ErrorKind::Permanent,
        ),
        (
            404,
            "invalid_request_error",
            "resource_missing",
            ErrorKind::Permanent,
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(stripe_error(
                status,
                type_,
                code,
                &format!("Something about {API_KEY} and rk_live_abc123"),
            ))
            .mount(&server)
            .await;

        let err = backfill(
            &client(&server),
            &MemoryStore::new(),
            &routes(),
            times().0,
            times().1,
        )
        .await
        .unwrap_err();

        assert_eq!(err.kind(), kind, "{status}: {err}");
        assert_eq!(err.status(), Some(status));
        let shown = format!("{err} {err:?}");
        assert!(
            shown.contains(&format!("Stripe answered {status}")),
            "{shown}"
        );
        assert!(
            !shown.contains(API_KEY) && !shown.contains("abc123"),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn an_error_page_that_is_not_a_stripe_error_is_transient() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .mount(&server)
        .await;

    let err = backfill(
        &client(&server),
        &MemoryStore::new(),
        &routes(),
        times().0,
        times().1,
    )
    .await
    .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
}

#[tokio::test]
async fn a_slow_answer_times_out_as_transient() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(page(&[], false))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let client = client_with(&server, Duration::from_millis(200), Retry::NONE);

    let started = std::time::Instant::now();
    let err = backfill(
        &client,
        &MemoryStore::new(),
        &routes(),
        times().0,
        times().1,
    )
    .await
    .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn retries_get_past_a_transient_failure() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(stripe_error(503, "api_error", "", "try again"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(page(&[PAYMENT_FAILED], false)))
        .mount(&server)
        .await;

    let client = client_with(
        &server,
        Duration::from_secs(5),
        Retry::attempts(2).backoff(Duration::from_millis(10), Duration::from_millis(10)),
    );
    let report = backfill(
        &client,
        &MemoryStore::new(),
        &routes(),
        times().0,
        times().1,
    )
    .await
    .unwrap();

    assert_eq!((report.pages, report.ingested), (1, 1));
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(2));
}

#[tokio::test]
async fn an_answer_that_is_not_an_event_list_is_permanent_and_not_quoted() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(r#"{"data": "customer jane@example.com"}"#),
        )
        .mount(&server)
        .await;

    let err = backfill(
        &client(&server),
        &MemoryStore::new(),
        &routes(),
        times().0,
        times().1,
    )
    .await
    .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert!(!err.to_string().contains("jane@example.com"), "{err}");
}

#[tokio::test]
async fn a_list_that_has_more_but_no_events_does_not_loop() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(page(&[], true)))
        .mount(&server)
        .await;

    let err = backfill(
        &client(&server),
        &MemoryStore::new(),
        &routes(),
        times().0,
        times().1,
    )
    .await
    .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(1));
}

#[tokio::test]
async fn an_item_that_is_not_an_event_is_skipped_and_counted() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(page(
            &[
                r#"{"id":"evt_odd","object":"v2.core.event"}"#,
                PAYMENT_FAILED,
            ],
            false,
        )))
        .mount(&server)
        .await;
    let store = MemoryStore::new();

    let report = backfill(&client(&server), &store, &routes(), times().0, times().1)
        .await
        .unwrap();

    assert_eq!((report.listed, report.ingested, report.skipped), (2, 1, 1));
    assert!(store.event("evt_odd").await.unwrap().is_none());
}

#[tokio::test]
async fn a_store_that_cannot_commit_fails_the_run_as_transient() {
    let server = MockServer::start().await;
    two_pages(&server).await;
    let store = MemoryStore::new();
    store.set_available(false);

    let err = backfill(&client(&server), &store, &routes(), times().0, times().1)
        .await
        .unwrap_err();

    assert!(matches!(err, BackfillError::Store(_)), "{err}");
    assert_eq!(err.kind(), ErrorKind::Transient);
}

#[tokio::test]
async fn a_start_in_the_future_is_refused_before_calling_stripe() {
    let server = MockServer::start().await;
    let (_, now) = times();

    let err = backfill(
        &client(&server),
        &MemoryStore::new(),
        &routes(),
        now + Duration::from_secs(1),
        now,
    )
    .await
    .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(0));
}

#[tokio::test]
async fn an_end_to_the_window_is_sent_as_created_lte() {
    let server = MockServer::start().await;
    let (since, now) = times();
    let until = now - Duration::from_secs(3600);
    let until_secs = (1_792_500_000 - 3600).to_string();
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .and(query_param("delivery_success", "false"))
        .and(query_param("created[gte]", SINCE))
        .and(query_param("created[lte]", until_secs.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_string(page(&[PAYMENT_FAILED], false)))
        .expect(1)
        .mount(&server)
        .await;
    let store = MemoryStore::new();

    let report = backfill_with(
        &client(&server),
        &store,
        &routes(),
        BackfillOptions::since(since).until(until),
        now,
    )
    .await
    .expect("backfill");

    assert_eq!((report.listed, report.ingested, report.jobs), (1, 1, 2));
    assert!(store.event(PAYMENT_FAILED_ID).await.unwrap().is_some());
}

#[tokio::test]
async fn a_dry_run_counts_what_it_would_store_and_writes_nothing() {
    let server = MockServer::start().await;
    two_pages(&server).await;
    let store = MemoryStore::new();
    let (since, now) = times();
    let client = client(&server);
    let dry = BackfillOptions::since(since).dry_run(true);

    let first = backfill_with(&client, &store, &routes(), dry, now)
        .await
        .expect("dry run");
    assert!(first.dry_run);
    assert_eq!(
        (first.listed, first.ingested, first.duplicates, first.jobs),
        (3, 3, 0, 5)
    );
    assert_eq!(store.stats().await.unwrap().pending, 0);
    assert!(store.event(PAYMENT_FAILED_ID).await.unwrap().is_none());
    assert!(first.to_string().contains("dry run"), "{first}");

    backfill(&client, &store, &routes(), since, now)
        .await
        .expect("real run");
    let after = backfill_with(&client, &store, &routes(), dry, now)
        .await
        .expect("dry run");
    assert_eq!((after.ingested, after.duplicates, after.jobs), (0, 3, 0));
    assert_eq!(store.stats().await.unwrap().pending, 5);
}

#[tokio::test]
async fn an_end_before_the_start_is_refused_before_calling_stripe() {
    let server = MockServer::start().await;
    let (since, now) = times();

    let err = backfill_with(
        &client(&server),
        &MemoryStore::new(),
        &routes(),
        BackfillOptions::since(since).until(since - Duration::from_secs(1)),
        now,
    )
    .await
    .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert!(err.to_string().contains("end is before its start"), "{err}");
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(0));
}

//! The client against Stripe's API played by wiremock: retries, idempotency keys, timeouts, the
//! error classes, and the key kept out of every error.

use std::time::{Duration, Instant};

use stripe_chat_message::{ErrorKind, Secret};
use stripe_chat_stripe::{ApiError, Client, IdempotencyKey, Retry};
use stripe_client_core::{RequestBuilder, StripeMethod, StripeRequest};
use stripe_core::event::ListEvent;
use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "sk_test_51NtClientKeyDoNotLeak7c2V9aQxR";
const EMPTY_LIST: &str = r#"{"object":"list","data":[],"has_more":false,"url":"/v1/events"}"#;

/// A write: `POST /v1/customers/cus_1` with a metadata change.
struct MarkContacted;

impl StripeRequest for MarkContacted {
    type Output = ();

    fn build(&self) -> RequestBuilder {
        let mut metadata = std::collections::BTreeMap::new();
        metadata.insert("contacted", "true");
        let mut form = std::collections::BTreeMap::new();
        form.insert("metadata", metadata);
        RequestBuilder::new(StripeMethod::Post, "/customers/cus_1").form(&form)
    }
}

fn client(server: &MockServer, attempts: u32) -> Client {
    Client::builder(Secret::new(API_KEY))
        .api_base(server.uri())
        .timeout(Duration::from_secs(5))
        .retry(
            Retry::attempts(attempts).backoff(Duration::from_millis(10), Duration::from_millis(20)),
        )
        .build()
        .expect("valid client")
}

fn stripe_error(status: u16, type_: &str, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(serde_json::json!({
        "error": { "type": type_, "code": code, "message": message }
    }))
}

async fn requests(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap_or_default()
}

fn assert_key_not_shown(error: &ApiError, client: &Client) {
    let shown = format!("{error} {error:?} {client:?}");
    assert!(!shown.contains(API_KEY), "{shown}");
    assert!(!shown.contains("DoNotLeak"), "{shown}");
}

#[tokio::test]
async fn a_read_is_tried_again_past_a_transient_failure() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(stripe_error(503, "api_error", "", "try again"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .respond_with(ResponseTemplate::new(200).set_body_string(EMPTY_LIST))
        .mount(&server)
        .await;

    let body = client(&server, 3)
        .send_raw(&ListEvent::new(), None)
        .await
        .expect("the second try succeeds");
    assert_eq!(&body[..], EMPTY_LIST.as_bytes());
    let requests = requests(&server).await;
    assert_eq!(requests.len(), 2);
    assert!(
        requests
            .iter()
            .all(|r| !r.headers.contains_key("idempotency-key"))
    );
}

#[tokio::test]
async fn a_write_with_a_key_sends_the_same_key_on_every_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header_exists("idempotency-key"))
        .respond_with(stripe_error(500, "api_error", "", "boom"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"id\":\"cus_1\"}"))
        .mount(&server)
        .await;
    let key = IdempotencyKey::derive("mark-contacted", &["cus_1", "evt_1"]);

    let body = client(&server, 3)
        .send_raw(&MarkContacted, Some(&key))
        .await
        .expect("the third try succeeds");
    assert_eq!(&body[..], b"{\"id\":\"cus_1\"}");
    let requests = requests(&server).await;
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(
            request
                .headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok()),
            Some(key.as_str())
        );
        assert_eq!(
            String::from_utf8_lossy(&request.body),
            "metadata[contacted]=true"
        );
    }
}

#[tokio::test]
async fn a_write_without_a_key_is_sent_once_even_when_it_fails_transiently() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(stripe_error(503, "api_error", "", "unavailable"))
        .mount(&server)
        .await;

    let err = client(&server, 5)
        .send_raw(&MarkContacted, None)
        .await
        .expect_err("503");
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(
        requests(&server).await.len(),
        1,
        "never repeated without a key"
    );
}

#[tokio::test]
async fn a_refused_key_is_unauthorized_not_retried_and_never_shown() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(stripe_error(
            401,
            "invalid_request_error",
            "api_key_expired",
            &format!("Expired API Key provided: {API_KEY}"),
        ))
        .mount(&server)
        .await;
    let client = client(&server, 3);

    let err = client
        .send_raw(&ListEvent::new(), None)
        .await
        .expect_err("401");
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.code(), Some("api_key_expired"));
    assert!(
        err.to_string()
            .starts_with("unauthorized: Stripe refused the API key")
    );
    assert_key_not_shown(&err, &client);
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn errors_are_classified_with_their_status_and_code_and_keep_the_key_out() {
    for (status, code, kind, tries) in [
        (429, "rate_limit", ErrorKind::RateLimited, 2),
        (409, "lock_timeout", ErrorKind::Transient, 2),
        (500, "", ErrorKind::Transient, 2),
        (400, "parameter_invalid_integer", ErrorKind::Permanent, 1),
        (402, "card_declined", ErrorKind::Permanent, 1),
        (404, "resource_missing", ErrorKind::Permanent, 1),
        (403, "secret_key_required", ErrorKind::Unauthorized, 1),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(stripe_error(
                status,
                "invalid_request_error",
                code,
                &format!("Something about {API_KEY} and rk_live_abc123"),
            ))
            .mount(&server)
            .await;
        let client = client(&server, 2);

        let err = client
            .send_raw(&ListEvent::new(), None)
            .await
            .expect_err("an error status");
        assert_eq!(err.kind(), kind, "{status}: {err}");
        assert_eq!(err.status(), Some(status));
        assert_eq!(err.code(), (!code.is_empty()).then_some(code), "{status}");
        assert!(!err.to_string().contains("abc123"), "{err}");
        assert_key_not_shown(&err, &client);
        assert_eq!(requests(&server).await.len(), tries, "{status}");
    }
}

#[tokio::test]
async fn an_error_page_that_is_not_a_stripe_error_is_transient() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .mount(&server)
        .await;

    let err = client(&server, 1)
        .send_raw(&ListEvent::new(), None)
        .await
        .expect_err("502");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert!(!err.to_string().contains("Bad Gateway"), "{err}");
}

#[tokio::test]
async fn a_slow_answer_times_out_as_transient_within_the_timeout_of_each_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(EMPTY_LIST)
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let client = Client::builder(Secret::new(API_KEY))
        .api_base(server.uri())
        .timeout(Duration::from_millis(200))
        .retry(Retry::attempts(2).backoff(Duration::from_millis(10), Duration::from_millis(10)))
        .build()
        .expect("valid client");

    let started = Instant::now();
    let err = client
        .send_raw(&ListEvent::new(), None)
        .await
        .expect_err("timeout");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert!(err.to_string().contains("within 0.2 s"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn a_typed_answer_that_does_not_fit_is_permanent_and_not_quoted() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"secret_thing\": 1}"))
        .mount(&server)
        .await;

    let err = client(&server, 3)
        .send(&ListEvent::new(), None)
        .await
        .expect_err("not a list");
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert!(!err.to_string().contains("secret_thing"), "{err}");
    assert_eq!(
        requests(&server).await.len(),
        1,
        "a bad answer is not retried"
    );
}

#[test]
fn a_client_needs_a_usable_key_url_and_timeout() {
    for builder in [
        Client::builder(Secret::new("")),
        Client::builder(Secret::new("sk_test_1")).api_base("ftp://example.com"),
        Client::builder(Secret::new("sk_test_1")).timeout(Duration::ZERO),
        Client::builder(Secret::new("sk_test_with\nnewline")),
    ] {
        let err = builder.build().expect_err("unusable");
        assert_eq!(err.kind(), ErrorKind::Permanent);
        assert!(!err.to_string().contains("newline"), "{err}");
    }
}

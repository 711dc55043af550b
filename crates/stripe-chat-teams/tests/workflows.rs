//! The Teams Workflows webhook adapter against a mock webhook: how each answer is classified, and
//! that the webhook URL (which carries its key) never shows.

use std::time::Duration;

use serde_json::{Value, json};
use stripe_chat_message::IdempotencyKey;
use stripe_chat_message::{
    ChatMessage, ChatProvider, DeliveryError, ErrorKind, MessageRef, Secret,
};
use stripe_chat_teams::{CardVersion, TeamsProvider, limits};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The idempotency key of the deliveries these tests make.
fn key() -> IdempotencyKey {
    IdempotencyKey::new("evt_1NG8Du2eZvKYlo2CUI79vXWy", "test")
}

const PATH: &str = "/workflows/abc123/triggers/manual/paths/invoke";
const SIG: &str = "SECRETSIG";

fn url(server: &MockServer) -> String {
    format!(
        "{}{PATH}?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}",
        server.uri()
    )
}

fn teams(server: &MockServer) -> TeamsProvider {
    TeamsProvider::workflows(Secret::new(url(server)))
        .with_timeout(Duration::from_secs(2))
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn answering(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .and(query_param("sig", SIG))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

async fn send_to(response: ResponseTemplate) -> (Result<MessageRef, DeliveryError>, usize) {
    let server = answering(response).await;
    let result = teams(&server)
        .send(&stripe_chat_conformance::sample_message(), None, &key())
        .await;
    let requests = server.received_requests().await.unwrap_or_default().len();
    (result, requests)
}

fn assert_no_url(error: &DeliveryError) {
    let mut shown = vec![error.to_string(), format!("{error:?}")];
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        shown.push(inner.to_string());
        source = inner.source();
    }
    for text in shown {
        assert!(!text.contains(SIG), "the key shows: {text}");
        assert!(!text.contains(PATH), "the URL shows: {text}");
    }
}

fn power_automate_error(code: &str, message: &str) -> Value {
    json!({ "error": { "code": code, "message": message } })
}

#[tokio::test]
async fn every_2xx_is_delivered_without_a_message_id() {
    for status in [200, 201, 202, 204] {
        let (result, requests) = send_to(ResponseTemplate::new(status)).await;
        let sent = result.unwrap_or_else(|e| panic!("{status}: {e}"));
        assert_eq!(sent, MessageRef::new("teams", ""), "{status}");
        assert!(!sent.can_be_addressed());
        assert_eq!(requests, 1);
    }
}

#[tokio::test]
async fn a_413_is_permanent_and_says_the_card_is_too_large() {
    let (result, _) = send_to(
        ResponseTemplate::new(413).set_body_json(power_automate_error(
            "MessageSizeExceeded",
            "The message is too large.",
        )),
    )
    .await;
    let error = result.expect_err("413");
    assert_eq!(error.kind(), ErrorKind::Permanent);
    assert_eq!(error.status(), Some(413));
    assert_eq!(
        error.message(),
        "teams answered HTTP 413: the card is too large for Teams: MessageSizeExceeded: The message is too large."
    );
    assert_no_url(&error);
}

#[tokio::test]
async fn a_404_is_permanent_as_the_flow_is_gone() {
    let (result, _) = send_to(ResponseTemplate::new(404)).await;
    let error = result.expect_err("404");
    assert_eq!(error.kind(), ErrorKind::Permanent);
    assert_eq!(error.status(), Some(404));
    assert!(error.message().contains("no such flow"), "{error}");
}

#[tokio::test]
async fn a_400_carries_power_automates_error_code_and_message() {
    let (result, _) = send_to(
        ResponseTemplate::new(400).set_body_json(power_automate_error(
            "InvalidRequestContent",
            "The request content is not valid and could not be deserialized.",
        )),
    )
    .await;
    let error = result.expect_err("400");
    assert_eq!(error.kind(), ErrorKind::Permanent);
    assert_eq!(
        error.to_string(),
        "permanent: teams answered HTTP 400: the flow refused the request: InvalidRequestContent: \
         The request content is not valid and could not be deserialized."
    );
}

#[tokio::test]
async fn a_refused_signature_is_unauthorized() {
    let (result, _) = send_to(
        ResponseTemplate::new(401).set_body_json(power_automate_error(
            "DirectApiAuthorizationRequired",
            "The request must be authenticated only by Shared Access scheme.",
        )),
    )
    .await;
    let error = result.expect_err("401");
    assert_eq!(error.kind(), ErrorKind::Unauthorized);
    assert!(
        error.message().contains("DirectApiAuthorizationRequired"),
        "{error}"
    );
}

#[tokio::test]
async fn a_429_without_retry_after_waits_one_second() {
    let (result, _) = send_to(ResponseTemplate::new(429)).await;
    let error = result.expect_err("429");
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
}

#[tokio::test]
async fn a_5xx_is_transient() {
    for status in [500, 502, 504] {
        let (result, _) = send_to(ResponseTemplate::new(status)).await;
        assert_eq!(
            result.expect_err("5xx").kind(),
            ErrorKind::Transient,
            "{status}"
        );
    }
}

#[tokio::test]
async fn an_error_answer_quoting_the_url_or_its_key_never_shows_them() {
    let server = MockServer::start().await;
    let quoted = format!("The signature '{SIG}' of {} is not valid.", url(&server));
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(power_automate_error(
                "DirectApiInvalidAuthorizationSignature",
                &quoted,
            )),
        )
        .mount(&server)
        .await;
    let error = teams(&server)
        .send(&ChatMessage::new("Invoice paid"), None, &key())
        .await
        .expect_err("401");
    assert_eq!(error.kind(), ErrorKind::Unauthorized);
    assert!(
        error
            .message()
            .contains("DirectApiInvalidAuthorizationSignature"),
        "{error}"
    );
    assert_no_url(&error);
}

#[tokio::test]
async fn transport_errors_never_show_the_url() {
    // A server of its own (not from wiremock's pool, whose servers keep listening when dropped).
    let server = MockServer::builder().start().await;
    let provider = teams(&server);
    drop(server);
    let error = provider
        .send(&ChatMessage::new("Invoice paid"), None, &key())
        .await
        .expect_err("nobody listens");
    assert_eq!(error.kind(), ErrorKind::Transient);
    assert_no_url(&error);
}

#[tokio::test]
async fn debug_shows_the_host_only() {
    let provider = TeamsProvider::workflows(Secret::new(format!(
        "https://prod-00.westus.logic.azure.com:443{PATH}?api-version=2016-06-01&sv=1.0&sig={SIG}"
    )))
    .build()
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        format!("{provider:?}"),
        r#"TeamsProvider { endpoint: "prod-00.westus.logic.azure.com", card_version: "1.4", timeout: 10s, .. }"#
    );
}

#[tokio::test]
async fn update_and_thread_replies_are_unsupported_without_a_request() {
    let server = answering(ResponseTemplate::new(202)).await;
    let provider = teams(&server);
    let message = ChatMessage::new("Invoice paid");
    let root = MessageRef::new("teams", "");

    let error = provider
        .update(&root, &message, &key())
        .await
        .expect_err("update");
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert_eq!(
        error.to_string(),
        "unsupported: a Teams Workflows webhook cannot update messages"
    );
    let error = provider
        .send(&message, Some(&root), &key())
        .await
        .expect_err("thread");
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn the_card_posted_declares_the_configured_version_and_fits_teams() {
    let server = answering(ResponseTemplate::new(202)).await;
    let provider = TeamsProvider::workflows(Secret::new(url(&server)))
        .with_card_version(CardVersion::V1_5)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    // A message far over Teams' 28 KB: the renderer trims it, and it is sent.
    let mut message = ChatMessage::new("Payout paid").summary("s".repeat(50_000));
    for n in 0..200 {
        message = message.field(format!("Field {n}"), "v".repeat(2_000));
    }
    provider
        .send(&message, None, &key())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].body.len() <= limits::MAX_CARD_BYTES,
        "{} bytes",
        requests[0].body.len()
    );
    let body: Value = serde_json::from_slice(&requests[0].body).expect("JSON");
    assert_eq!(body["attachments"][0]["content"]["version"], "1.5");
}

//! Bot mode beyond the shared suite: how Slack's `{"ok": false}` codes and unusual answers are
//! classified, threads across channels, updates, and the token staying out of every error.

use std::time::Duration;

use serde_json::{Value, json};
use stripe_chat_message::IdempotencyKey;
use stripe_chat_message::{
    ChatMessage, ChatProvider, DeliveryError, ErrorKind, MessageRef, Secret,
};
use stripe_chat_slack::{SlackProvider, api_error_kind};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The idempotency key of the deliveries these tests make.
fn key() -> IdempotencyKey {
    IdempotencyKey::new("evt_1NG8Du2eZvKYlo2CUI79vXWy", "test")
}

const TOKEN: &str = "xoxb-1234567890-0987654321-Zk3nKp9QwXr2Vt7Ym4Lb8Hs1";
const CHANNEL: &str = "C0123";
const TS: &str = "1700000000.000100";

fn slack(server: &MockServer) -> SlackProvider {
    SlackProvider::bot(Secret::new(TOKEN), CHANNEL)
        .with_api_base(server.uri())
        .with_timeout(Duration::from_secs(5))
}

fn message() -> ChatMessage {
    ChatMessage::new("Invoice paid: 20.00 USD from Jenny Rosen").summary("Paid in full.")
}

fn posted() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": CHANNEL, "ts": TS}))
}

async fn answering(server: &MockServer, route: &str, answer: ResponseTemplate) {
    server.reset().await;
    Mock::given(method("POST"))
        .and(path(route))
        .respond_with(answer)
        .mount(server)
        .await;
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("JSON body")
}

fn assert_no_token(error: &DeliveryError) {
    let mut texts = vec![error.to_string(), format!("{error:?}")];
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        texts.push(inner.to_string());
        source = inner.source();
    }
    for text in texts {
        assert!(!text.contains(TOKEN), "the token shows in {text}");
        assert!(
            !text.contains("Zk3nKp9Q"),
            "part of the token shows in {text}"
        );
    }
}

/// Each `ok: false` code, as Slack sends it with HTTP 200, and the kind it must give.
const CODES: &[(&str, ErrorKind)] = &[
    ("invalid_auth", ErrorKind::Unauthorized),
    ("not_authed", ErrorKind::Unauthorized),
    ("account_inactive", ErrorKind::Unauthorized),
    ("token_revoked", ErrorKind::Unauthorized),
    ("token_expired", ErrorKind::Unauthorized),
    ("missing_scope", ErrorKind::Unauthorized),
    ("not_allowed_token_type", ErrorKind::Unauthorized),
    ("no_permission", ErrorKind::Unauthorized),
    ("ekm_access_denied", ErrorKind::Unauthorized),
    ("access_denied", ErrorKind::Unauthorized),
    ("team_access_not_granted", ErrorKind::Unauthorized),
    ("ratelimited", ErrorKind::RateLimited),
    ("rate_limited", ErrorKind::RateLimited),
    ("internal_error", ErrorKind::Transient),
    ("fatal_error", ErrorKind::Transient),
    ("service_unavailable", ErrorKind::Transient),
    ("request_timeout", ErrorKind::Transient),
    ("team_added_to_org", ErrorKind::Transient),
    ("channel_not_found", ErrorKind::Permanent),
    ("not_in_channel", ErrorKind::Permanent),
    ("is_archived", ErrorKind::Permanent),
    ("invalid_blocks", ErrorKind::Permanent),
    ("msg_too_long", ErrorKind::Permanent),
    ("no_text", ErrorKind::Permanent),
    ("restricted_action", ErrorKind::Permanent),
    ("cant_update_message", ErrorKind::Permanent),
    ("message_not_found", ErrorKind::Permanent),
    ("a_code_slack_adds_later", ErrorKind::Permanent),
];

#[tokio::test]
async fn every_ok_false_code_is_classified_and_named_in_the_error() {
    let server = MockServer::start().await;
    let slack = slack(&server);
    for &(code, kind) in CODES {
        assert_eq!(api_error_kind(code), kind, "{code}");
        answering(
            &server,
            "/chat.postMessage",
            ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": code})),
        )
        .await;
        let error = slack
            .send(&message(), None, &key())
            .await
            .expect_err("ok: false is a failure");
        assert_eq!(error.kind(), kind, "{code}: {error}");
        assert_eq!(error.status(), Some(200), "{code}");
        assert!(
            error.to_string().contains(code),
            "{code} is not named in: {error}"
        );
        if kind == ErrorKind::RateLimited {
            assert_eq!(error.retry_after(), Some(Duration::from_secs(1)), "{code}");
        }
        assert_no_token(&error);
    }
}

#[tokio::test]
async fn every_ok_false_code_on_update_is_classified_like_on_send() {
    let server = MockServer::start().await;
    let slack = slack(&server);
    let at = MessageRef::new("slack", TS).in_channel(CHANNEL);
    for &(code, kind) in CODES {
        answering(
            &server,
            "/chat.update",
            ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": code})),
        )
        .await;
        let error = slack
            .update(&at, &message(), &key())
            .await
            .expect_err("ok: false is a failure");
        assert_eq!(error.kind(), kind, "{code}: {error}");
        assert!(error.to_string().contains("chat.update"), "{error}");
    }
}

#[tokio::test]
async fn rate_limited_with_retry_after_waits_as_asked_even_on_http_200() {
    let server = MockServer::start().await;
    answering(
        &server,
        "/chat.postMessage",
        ResponseTemplate::new(200)
            .insert_header("retry-after", "7")
            .set_body_json(json!({"ok": false, "error": "ratelimited"})),
    )
    .await;
    let error = slack(&server)
        .send(&message(), None, &key())
        .await
        .expect_err("rate limited");
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn http_429_without_retry_after_waits_one_second() {
    let server = MockServer::start().await;
    answering(&server, "/chat.postMessage", ResponseTemplate::new(429)).await;
    let error = slack(&server)
        .send(&message(), None, &key())
        .await
        .expect_err("rate limited");
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(error.status(), Some(429));
}

#[tokio::test]
async fn msg_too_long_is_permanent_and_carries_slacks_diagnostics() {
    let server = MockServer::start().await;
    answering(
        &server,
        "/chat.postMessage",
        ResponseTemplate::new(200).set_body_json(json!({
            "ok": false,
            "error": "msg_too_long",
            "response_metadata": {"messages": ["[ERROR] text too long [json-pointer:/text]"]},
        })),
    )
    .await;
    let error = slack(&server)
        .send(&message(), None, &key())
        .await
        .expect_err("too long");
    assert_eq!(error.kind(), ErrorKind::Permanent);
    assert_eq!(
        error.message(),
        "slack chat.postMessage: msg_too_long ([ERROR] text too long [json-pointer:/text])"
    );
}

#[tokio::test]
async fn missing_scope_is_unauthorized_and_names_the_scope_needed() {
    let server = MockServer::start().await;
    answering(
        &server,
        "/chat.postMessage",
        ResponseTemplate::new(200).set_body_json(json!({
            "ok": false, "error": "missing_scope", "needed": "chat:write", "provided": "users:read",
        })),
    )
    .await;
    let error = slack(&server)
        .send(&message(), None, &key())
        .await
        .expect_err("missing scope");
    assert_eq!(error.kind(), ErrorKind::Unauthorized);
    assert!(
        error.message().contains("(needed scope: chat:write)"),
        "{error}"
    );
}

#[tokio::test]
async fn a_200_that_is_not_slacks_json_is_transient() {
    let server = MockServer::start().await;
    let slack = slack(&server);
    for answer in [
        ResponseTemplate::new(200).set_body_string("<html><body>Maintenance</body></html>"),
        ResponseTemplate::new(200).set_body_string(""),
        ResponseTemplate::new(200).set_body_json(json!({"status": "accepted"})),
        ResponseTemplate::new(200).set_body_json(json!(["ok"])),
    ] {
        answering(&server, "/chat.postMessage", answer).await;
        let error = slack
            .send(&message(), None, &key())
            .await
            .expect_err("not an answer from Slack");
        assert_eq!(error.kind(), ErrorKind::Transient, "{error}");
        assert_eq!(error.status(), Some(200));
        assert!(!error.message().contains("Maintenance"), "{error}");
    }
}

#[tokio::test]
async fn ok_false_without_an_error_code_is_permanent() {
    let server = MockServer::start().await;
    answering(
        &server,
        "/chat.postMessage",
        ResponseTemplate::new(200).set_body_json(json!({"ok": false})),
    )
    .await;
    let error = slack(&server)
        .send(&message(), None, &key())
        .await
        .expect_err("ok: false");
    assert_eq!(error.kind(), ErrorKind::Permanent);
}

#[tokio::test]
async fn ok_true_without_ts_is_delivered_but_cannot_be_addressed() {
    let server = MockServer::start().await;
    answering(
        &server,
        "/chat.postMessage",
        ResponseTemplate::new(200).set_body_json(json!({"ok": true})),
    )
    .await;
    let sent = slack(&server)
        .send(&message(), None, &key())
        .await
        .expect("Slack said ok");
    assert!(!sent.can_be_addressed());
    assert_eq!(sent.channel.as_deref(), Some(CHANNEL));
}

#[tokio::test]
async fn the_token_never_shows_even_when_an_answer_echoes_it() {
    let server = MockServer::start().await;
    let slack = slack(&server);
    for answer in [
        ResponseTemplate::new(500).set_body_string(format!("upstream failed for Bearer {TOKEN}")),
        ResponseTemplate::new(400).set_body_json(json!({"ok": false, "error": TOKEN})),
        ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": TOKEN})),
        ResponseTemplate::new(200).set_body_json(json!({
            "ok": false, "error": "invalid_auth", "token": TOKEN, "warning": TOKEN,
        })),
        ResponseTemplate::new(200).set_body_string(format!("<pre>{TOKEN}</pre>")),
    ] {
        answering(&server, "/chat.postMessage", answer).await;
        let error = slack
            .send(&message(), None, &key())
            .await
            .expect_err("a failure");
        assert_no_token(&error);
    }
    assert!(!format!("{slack:?}").contains(TOKEN));
}

#[tokio::test]
async fn a_4xx_whose_code_means_bad_credentials_is_unauthorized() {
    let server = MockServer::start().await;
    let slack = slack(&server);
    for (status, code, kind) in [
        (400, "invalid_auth", ErrorKind::Unauthorized),
        (401, "not_authed", ErrorKind::Unauthorized),
        (400, "invalid_arguments", ErrorKind::Permanent),
        (404, "unknown_method", ErrorKind::Permanent),
        (503, "service_unavailable", ErrorKind::Transient),
    ] {
        answering(
            &server,
            "/chat.postMessage",
            ResponseTemplate::new(status).set_body_json(json!({"ok": false, "error": code})),
        )
        .await;
        let error = slack
            .send(&message(), None, &key())
            .await
            .expect_err("a failure");
        assert_eq!(error.kind(), kind, "{status} {code}: {error}");
        assert_eq!(error.status(), Some(status));
        assert!(error.to_string().contains(code), "{error}");
    }
}

#[tokio::test]
async fn a_reply_goes_to_its_threads_channel_with_the_threads_root_ts() {
    let server = MockServer::start().await;
    answering(
        &server,
        "/chat.postMessage",
        ResponseTemplate::new(200)
            .set_body_json(json!({"ok": true, "channel": "C0999", "ts": "1700000000.000300"})),
    )
    .await;
    // A reply to a reply threads on the thread's first message.
    let earlier_reply = MessageRef::new("slack", "1700000000.000200")
        .in_channel("C0999")
        .in_thread("1700000000.000100");
    let sent = slack(&server)
        .send(&message(), Some(&earlier_reply), &key())
        .await
        .expect("posted");
    assert_eq!(
        sent,
        MessageRef::new("slack", "1700000000.000300")
            .in_channel("C0999")
            .in_thread("1700000000.000100")
    );
    let requests = requests(&server).await;
    assert_eq!(requests.len(), 1);
    let body = body(&requests[0]);
    assert_eq!(body["channel"], "C0999");
    assert_eq!(body["thread_ts"], "1700000000.000100");
}

#[tokio::test]
async fn a_reply_to_a_message_slack_cannot_address_is_refused_without_a_request() {
    let server = MockServer::start().await;
    answering(&server, "/chat.postMessage", posted()).await;
    let slack = slack(&server);
    for root in [
        MessageRef::new("slack", ""),
        MessageRef::new("slack", "  ").in_channel(CHANNEL),
        MessageRef::new("discord", "1234567890").in_channel(CHANNEL),
    ] {
        let error = slack
            .send(&message(), Some(&root), &key())
            .await
            .expect_err("cannot reply");
        assert_eq!(error.kind(), ErrorKind::Permanent, "{root:?}: {error}");
    }
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn update_sends_channel_ts_text_and_blocks_to_chat_update() {
    let server = MockServer::start().await;
    answering(&server, "/chat.update", posted()).await;
    let at = MessageRef::new("slack", TS).in_channel("C0777");
    slack(&server)
        .update(&at, &message(), &key())
        .await
        .expect("updated");
    let requests = requests(&server).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].headers["authorization"],
        format!("Bearer {TOKEN}").as_str()
    );
    let body = body(&requests[0]);
    let mut keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["blocks", "channel", "text", "ts"]);
    assert_eq!(body["channel"], "C0777");
    assert_eq!(body["ts"], TS);
}

#[tokio::test]
async fn update_without_a_channel_uses_the_configured_one() {
    let server = MockServer::start().await;
    answering(&server, "/chat.update", posted()).await;
    slack(&server)
        .update(&MessageRef::new("slack", TS), &message(), &key())
        .await
        .expect("updated");
    assert_eq!(body(&requests(&server).await[0])["channel"], CHANNEL);
}

#[tokio::test]
async fn update_of_a_message_without_ts_is_refused_without_a_request() {
    let server = MockServer::start().await;
    answering(&server, "/chat.update", posted()).await;
    let slack = slack(&server);
    for at in [
        MessageRef::new("slack", "").in_channel(CHANNEL),
        MessageRef::new("teams", "abc"),
    ] {
        let error = slack
            .update(&at, &message(), &key())
            .await
            .expect_err("cannot update");
        assert_eq!(error.kind(), ErrorKind::Permanent, "{error}");
    }
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn an_empty_channel_is_refused_without_a_request() {
    let server = MockServer::start().await;
    answering(&server, "/chat.postMessage", posted()).await;
    let slack = SlackProvider::bot(Secret::new(TOKEN), " ").with_api_base(server.uri());
    let error = slack
        .send(&message(), None, &key())
        .await
        .expect_err("no channel");
    assert_eq!(error.kind(), ErrorKind::Permanent);
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn an_api_base_with_a_path_and_a_trailing_slash_is_honoured() {
    let server = MockServer::start().await;
    answering(&server, "/proxy/api/chat.postMessage", posted()).await;
    let slack = SlackProvider::bot(Secret::new(TOKEN), CHANNEL)
        .with_api_base(format!("{}/proxy/api/", server.uri()));
    let sent = slack.send(&message(), None, &key()).await.expect("posted");
    assert_eq!(sent.id, TS);
}

#[tokio::test]
async fn the_body_asks_slack_not_to_unfurl_links() {
    let server = MockServer::start().await;
    answering(&server, "/chat.postMessage", posted()).await;
    slack(&server)
        .send(&message(), None, &key())
        .await
        .expect("posted");
    let body = body(&requests(&server).await[0]);
    assert_eq!(body["unfurl_links"], false);
    assert_eq!(body["unfurl_media"], false);
}

//! Incoming-webhook mode beyond the shared suite: Slack's text error answers, what "delivered"
//! means, and the refusal of threads and updates.

use std::time::Duration;

use stripe_chat_message::IdempotencyKey;
use stripe_chat_message::{ChatMessage, ChatProvider, ErrorKind, MessageRef, Secret};
use stripe_chat_slack::SlackProvider;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The idempotency key of the deliveries these tests make.
fn key() -> IdempotencyKey {
    IdempotencyKey::new("evt_1NG8Du2eZvKYlo2CUI79vXWy", "test")
}

const HOOK_PATH: &str = "/services/T00000000/B00000000/Qm7Rt2Xv9Lp4Wn8Kd3Hs6Zb1";
const KEY: &str = "Qm7Rt2Xv9Lp4Wn8Kd3Hs6Zb1";

fn hook(server: &MockServer) -> SlackProvider {
    SlackProvider::incoming_webhook(Secret::new(format!("{}{HOOK_PATH}", server.uri())))
        .with_timeout(Duration::from_secs(5))
}

fn message() -> ChatMessage {
    ChatMessage::new("Payout paid: 1,000.00 USD")
}

async fn answering(server: &MockServer, answer: ResponseTemplate) {
    server.reset().await;
    Mock::given(method("POST"))
        .and(path(HOOK_PATH))
        .respond_with(answer)
        .mount(server)
        .await;
}

#[tokio::test]
async fn slacks_webhook_error_answers_are_classified() {
    let server = MockServer::start().await;
    let hook = hook(&server);
    for (status, text, kind) in [
        (400, "invalid_payload", ErrorKind::Permanent),
        (400, "no_text", ErrorKind::Permanent),
        (400, "user_not_found", ErrorKind::Permanent),
        (404, "channel_not_found", ErrorKind::Permanent),
        (410, "channel_is_archived", ErrorKind::Permanent),
        (403, "action_prohibited", ErrorKind::Unauthorized),
        (403, "invalid_token", ErrorKind::Unauthorized),
        (
            403,
            "posting_to_general_channel_denied",
            ErrorKind::Unauthorized,
        ),
        (404, "no_service", ErrorKind::Unauthorized),
        (404, "no_team", ErrorKind::Unauthorized),
        (410, "team_disabled", ErrorKind::Unauthorized),
        (401, "", ErrorKind::Unauthorized),
        (429, "rate_limited", ErrorKind::RateLimited),
        (500, "rollup_error", ErrorKind::Transient),
        (502, "<html>Bad gateway</html>", ErrorKind::Transient),
    ] {
        answering(&server, ResponseTemplate::new(status).set_body_string(text)).await;
        let error = hook
            .send(&message(), None, &key())
            .await
            .expect_err("a failure");
        assert_eq!(error.kind(), kind, "{status} {text}: {error}");
        assert_eq!(error.status(), Some(status));
        if !text.contains('<') {
            assert!(error.to_string().contains(text), "{error}");
        } else {
            assert!(!error.to_string().contains("html"), "{error}");
        }
        assert!(!error.to_string().contains(KEY), "{error}");
    }
}

#[tokio::test]
async fn delivered_means_slack_answered_ok_and_the_ref_has_no_id() {
    let server = MockServer::start().await;
    answering(&server, ResponseTemplate::new(200).set_body_string("ok")).await;
    let sent = hook(&server)
        .send(&message(), None, &key())
        .await
        .expect("posted");
    assert_eq!(sent, MessageRef::new("slack", ""));
    assert!(!sent.can_be_addressed());
}

#[tokio::test]
async fn a_2xx_other_than_ok_is_transient() {
    let server = MockServer::start().await;
    let hook = hook(&server);
    for answer in [
        ResponseTemplate::new(200).set_body_string("<html>Sign in to the proxy</html>"),
        ResponseTemplate::new(204),
    ] {
        answering(&server, answer).await;
        let error = hook
            .send(&message(), None, &key())
            .await
            .expect_err("not Slack's answer");
        assert_eq!(error.kind(), ErrorKind::Transient, "{error}");
        assert!(!error.to_string().contains("proxy</html>"), "{error}");
    }
}

#[tokio::test]
async fn threads_and_updates_are_unsupported_and_send_nothing() {
    let server = MockServer::start().await;
    answering(&server, ResponseTemplate::new(200).set_body_string("ok")).await;
    let hook = hook(&server);
    let root = MessageRef::new("slack", "1700000000.000100").in_channel("C0123");
    let error = hook
        .send(&message(), Some(&root), &key())
        .await
        .expect_err("no threads");
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    let error = hook
        .update(&root, &message(), &key())
        .await
        .expect_err("no updates");
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
async fn the_webhook_url_never_shows_in_debug_or_transport_errors() {
    // Not a pooled server: dropping it closes the port, so the request is refused.
    let server = MockServer::builder().start().await;
    let uri = server.uri();
    let hook = hook(&server);
    assert!(!format!("{hook:?}").contains(KEY));
    assert!(!format!("{hook:?}").contains(&uri));
    drop(server);
    let error = hook
        .send(&message(), None, &key())
        .await
        .expect_err("nobody listening");
    assert_eq!(error.kind(), ErrorKind::Transient);
    let mut texts = vec![error.to_string(), format!("{error:?}")];
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        texts.push(inner.to_string());
        source = inner.source();
    }
    for text in texts {
        assert!(!text.contains(KEY), "{text}");
    }
}

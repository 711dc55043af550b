//! The shared adapter conformance suite, for both Slack modes: bot token (Web API) and incoming
//! webhook.

use std::time::Duration;

use serde_json::{Value, json};
use stripe_chat_conformance::{Platform, Route};
use stripe_chat_message::{MessageRef, Secret};
use stripe_chat_slack::{SlackProvider, validate_limits};
use wiremock::{Request, ResponseTemplate};

const TOKEN: &str = "xoxb-1234567890-0987654321-Zk3nKp9QwXr2Vt7Ym4Lb8Hs1";
const CHANNEL: &str = "C0123";
const TS: &str = "1700000000.000100";
const WEBHOOK_KEY: &str = "Qm7Rt2Xv9Lp4Wn8Kd3Hs6Zb1";

fn json_body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("the body is JSON")
}

fn header<'r>(request: &'r Request, name: &str) -> &'r str {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

/// The message parts every Slack body carries: fallback `text`, `blocks`, within the limits.
fn check_message_body(body: &Value) {
    assert!(
        body["text"].as_str().is_some_and(|t| !t.trim().is_empty()),
        "text (the notification fallback) is always sent: {body:#}"
    );
    assert!(
        body["blocks"].as_array().is_some_and(|b| !b.is_empty()),
        "blocks: {body:#}"
    );
    assert_eq!(validate_limits(body), Ok(()), "{body:#}");
}

struct Bot;

impl Platform for Bot {
    type Provider = SlackProvider;

    fn provider(&self, base_url: &str) -> SlackProvider {
        SlackProvider::bot(Secret::new(TOKEN), CHANNEL)
            .with_api_base(base_url)
            .with_timeout(self.request_timeout())
    }

    fn send_route(&self, _thread: Option<&MessageRef>) -> Route {
        Route::new("POST", "^/chat.postMessage$")
    }

    fn delivered(&self) -> (ResponseTemplate, String) {
        let answer =
            json!({"ok": true, "channel": CHANNEL, "ts": TS, "message": {"type": "message"}});
        (
            ResponseTemplate::new(200).set_body_json(answer),
            TS.to_owned(),
        )
    }

    fn rate_limited(&self, delay: Duration) -> ResponseTemplate {
        ResponseTemplate::new(429)
            .insert_header("retry-after", delay.as_secs().to_string())
            .set_body_json(json!({"ok": false, "error": "ratelimited"}))
    }

    fn rejected(&self) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": "channel_not_found"}))
    }

    fn unauthorized(&self) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": "invalid_auth"}))
    }

    fn secrets(&self) -> Vec<String> {
        vec![TOKEN.to_owned()]
    }

    fn check_send(&self, request: &Request, thread: Option<&MessageRef>) {
        assert_eq!(request.method.as_str(), "POST");
        assert_eq!(request.url.path(), "/chat.postMessage");
        assert_eq!(header(request, "authorization"), format!("Bearer {TOKEN}"));
        assert_eq!(
            header(request, "content-type"),
            "application/json; charset=utf-8"
        );
        let body = json_body(request);
        assert_eq!(body["channel"], CHANNEL);
        match thread {
            Some(root) => assert_eq!(body["thread_ts"], root.thread_id()),
            None => assert!(body.get("thread_ts").is_none(), "{body:#}"),
        }
        check_message_body(&body);
    }

    fn update_route(&self, _at: &MessageRef) -> Option<Route> {
        Some(Route::new("POST", "^/chat.update$"))
    }

    fn check_update(&self, request: &Request, at: &MessageRef) {
        assert_eq!(request.method.as_str(), "POST");
        assert_eq!(request.url.path(), "/chat.update");
        assert_eq!(header(request, "authorization"), format!("Bearer {TOKEN}"));
        assert_eq!(
            header(request, "content-type"),
            "application/json; charset=utf-8"
        );
        let body = json_body(request);
        assert_eq!(body["channel"], at.channel.as_deref().unwrap_or(CHANNEL));
        assert_eq!(body["ts"], at.id);
        check_message_body(&body);
    }
}

struct Webhook;

impl Webhook {
    fn path(&self) -> String {
        format!("/services/T00000000/B00000000/{WEBHOOK_KEY}")
    }
}

impl Platform for Webhook {
    type Provider = SlackProvider;

    fn provider(&self, base_url: &str) -> SlackProvider {
        SlackProvider::incoming_webhook(Secret::new(format!("{base_url}{}", self.path())))
            .with_timeout(self.request_timeout())
    }

    fn send_route(&self, _thread: Option<&MessageRef>) -> Route {
        Route::new("POST", format!("^{}$", self.path()))
    }

    fn delivered(&self) -> (ResponseTemplate, String) {
        (
            ResponseTemplate::new(200).set_body_string("ok"),
            String::new(),
        )
    }

    fn rate_limited(&self, delay: Duration) -> ResponseTemplate {
        ResponseTemplate::new(429)
            .insert_header("retry-after", delay.as_secs().to_string())
            .set_body_string("rate_limited")
    }

    fn rejected(&self) -> ResponseTemplate {
        ResponseTemplate::new(400).set_body_string("invalid_payload")
    }

    /// A removed or disabled webhook: Slack answers 404 `no_service`.
    fn unauthorized(&self) -> ResponseTemplate {
        ResponseTemplate::new(404).set_body_string("no_service")
    }

    fn unavailable(&self) -> ResponseTemplate {
        ResponseTemplate::new(500).set_body_string("rollup_error")
    }

    fn secrets(&self) -> Vec<String> {
        vec![WEBHOOK_KEY.to_owned()]
    }

    fn check_send(&self, request: &Request, thread: Option<&MessageRef>) {
        assert!(thread.is_none(), "an incoming webhook never posts a reply");
        assert_eq!(request.method.as_str(), "POST");
        assert_eq!(request.url.path(), self.path());
        assert!(request.headers.get("authorization").is_none());
        assert_eq!(
            header(request, "content-type"),
            "application/json; charset=utf-8"
        );
        let body = json_body(request);
        assert!(
            body.get("channel").is_none(),
            "the webhook's channel is fixed: {body:#}"
        );
        assert!(body.get("thread_ts").is_none(), "{body:#}");
        check_message_body(&body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_mode_conforms() {
    stripe_chat_conformance::run(&Bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incoming_webhook_mode_conforms() {
    stripe_chat_conformance::run(&Webhook).await;
}

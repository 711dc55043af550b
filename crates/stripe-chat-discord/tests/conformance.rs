//! The shared adapter conformance suite, run against the Discord adapter in its three shapes: a
//! plain channel webhook (link buttons, no threads), a webhook posting into a thread, and an
//! application-owned webhook (callback buttons).

use std::time::Duration;

use serde_json::{Value, json};
use stripe_chat_conformance::{Platform, Route};
use stripe_chat_discord::{DiscordProvider, validate_limits};
use stripe_chat_message::{MessageRef, Secret};
use wiremock::{Request, ResponseTemplate};

const WEBHOOK_ID: &str = "123456789012345678";
const TOKEN: &str = "SECRETTOKEN";
const MESSAGE_ID: &str = "1100000000000000001";
const THREAD_ID: &str = "1000000000000000001";

/// The message object Discord answers `?wait=true` with.
fn message_object() -> Value {
    serde_json::from_str(include_str!("data/execute_webhook_message.json"))
        .expect("valid test data")
}

/// A Discord webhook as the suite sees it.
struct Discord {
    /// The configured thread, if any.
    thread: Option<&'static str>,
    /// Whether the webhook belongs to an application.
    interactive: bool,
}

impl Discord {
    fn query(request: &Request) -> Vec<(String, String)> {
        request.url.query_pairs().into_owned().collect()
    }

    fn query_value(request: &Request, key: &str) -> Option<String> {
        Self::query(request)
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    fn body(request: &Request) -> Value {
        serde_json::from_slice(&request.body).expect("a JSON body")
    }

    /// Checks what every body (send or update) has in common.
    fn check_body(&self, request: &Request, body: &Value) {
        assert_eq!(request.headers["content-type"], "application/json");
        assert_eq!(body["allowed_mentions"], json!({ "parse": [] }));
        let embeds = body["embeds"].as_array().expect("embeds");
        assert_eq!(embeds.len(), 1);
        assert!(
            embeds[0]["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("Payment failed")),
            "{body:#}"
        );
        assert_eq!(validate_limits(body), Ok(()), "{body:#}");
        let buttons: Vec<&Value> = body["components"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row["components"].as_array().into_iter().flatten())
            .collect();
        assert!(
            buttons.iter().any(|b| b["style"] == 5),
            "a link button: {body:#}"
        );
        assert_eq!(
            buttons.iter().any(|b| b.get("custom_id").is_some()),
            self.interactive,
            "callback buttons only on an application-owned webhook: {body:#}"
        );
        assert_eq!(
            Self::query_value(request, "with_components").as_deref(),
            (!self.interactive).then_some("true"),
            "with_components=true only when the webhook is not the application's"
        );
    }
}

impl Platform for Discord {
    type Provider = DiscordProvider;

    fn provider(&self, base_url: &str) -> DiscordProvider {
        let mut config = DiscordProvider::webhook(Secret::new(format!(
            "https://discord.com/api/webhooks/{WEBHOOK_ID}/{TOKEN}"
        )))
        .with_api_base(format!("{base_url}/api"))
        .interactive(self.interactive)
        .with_username("Stripe")
        .with_timeout(self.request_timeout());
        if let Some(thread) = self.thread {
            config = config.with_thread(thread);
        }
        config.build().expect("a valid configuration")
    }

    fn send_route(&self, _thread: Option<&MessageRef>) -> Route {
        Route::new("POST", format!("^/api/webhooks/{WEBHOOK_ID}/{TOKEN}$"))
    }

    fn delivered(&self) -> (ResponseTemplate, String) {
        (
            ResponseTemplate::new(200).set_body_json(message_object()),
            MESSAGE_ID.to_owned(),
        )
    }

    fn rate_limited(&self, delay: Duration) -> ResponseTemplate {
        ResponseTemplate::new(429)
            .insert_header("retry-after", delay.as_secs_f64().ceil().to_string())
            .insert_header("x-ratelimit-scope", "user")
            .set_body_json(json!({
                "message": "You are being rate limited.",
                "retry_after": delay.as_secs_f64(),
                "global": false,
            }))
    }

    /// A fractional delay: the header's whole seconds (2) must lose to the body's 1.5.
    fn rate_limit_delay(&self) -> Duration {
        Duration::from_millis(1_500)
    }

    fn rejected(&self) -> ResponseTemplate {
        ResponseTemplate::new(400).set_body_json(json!({
            "message": "Invalid Form Body",
            "code": 50035,
            "errors": {"embeds": {"0": {"description": {"_errors": [
                {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 4096 or fewer in length."}
            ]}}}}
        }))
    }

    fn unauthorized(&self) -> ResponseTemplate {
        ResponseTemplate::new(401)
            .set_body_json(json!({"message": "Invalid Webhook Token", "code": 50027}))
    }

    fn unavailable(&self) -> ResponseTemplate {
        ResponseTemplate::new(503).set_body_string("upstream connect error")
    }

    fn request_timeout(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn secrets(&self) -> Vec<String> {
        vec![TOKEN.to_owned()]
    }

    fn check_send(&self, request: &Request, thread: Option<&MessageRef>) {
        assert_eq!(request.method.as_str(), "POST");
        assert_eq!(
            request.url.path(),
            format!("/api/webhooks/{WEBHOOK_ID}/{TOKEN}")
        );
        assert_eq!(
            Self::query_value(request, "wait").as_deref(),
            Some("true"),
            "?wait=true, so Discord answers with the message"
        );
        let expected_thread = match thread {
            Some(root) => root.thread_root.clone(),
            None => self.thread.map(str::to_owned),
        };
        assert_eq!(
            Self::query_value(request, "thread_id"),
            expected_thread,
            "thread_id exactly when posting into a thread"
        );
        let body = Self::body(request);
        self.check_body(request, &body);
        assert_eq!(body["username"], "Stripe");
        assert!(body.get("thread_name").is_none());
    }

    fn update_route(&self, at: &MessageRef) -> Option<Route> {
        Some(Route::new(
            "PATCH",
            format!("^/api/webhooks/{WEBHOOK_ID}/{TOKEN}/messages/{}$", at.id),
        ))
    }

    fn check_update(&self, request: &Request, at: &MessageRef) {
        assert_eq!(request.method.as_str(), "PATCH");
        assert_eq!(at.id, MESSAGE_ID);
        assert_eq!(
            Self::query_value(request, "thread_id"),
            at.thread_root,
            "an edit names the thread the message is in"
        );
        assert_eq!(Self::query_value(request, "wait"), None);
        let body = Self::body(request);
        self.check_body(request, &body);
        assert!(
            body.get("username").is_none() && body.get("avatar_url").is_none(),
            "Edit Webhook Message takes neither username nor avatar_url: {body:#}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_webhook_conforms_and_refuses_thread_replies() {
    stripe_chat_conformance::run(&Discord {
        thread: None,
        interactive: false,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_posting_into_a_thread_conforms_and_replies_in_it() {
    stripe_chat_conformance::run(&Discord {
        thread: Some(THREAD_ID),
        interactive: false,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_owned_webhook_conforms_with_callback_buttons() {
    stripe_chat_conformance::run(&Discord {
        thread: None,
        interactive: true,
    })
    .await;
}

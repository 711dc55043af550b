//! The shared adapter conformance suite, against a wiremock receiver.

use std::time::Duration;

use stripe_chat_conformance::{Platform, Route, sample_key, sample_message};
use stripe_chat_message::{IdempotencyKey, MessageRef, Secret};
use stripe_chat_webhook::{
    DELIVERY_HEADER, Payload, PayloadType, SIGNATURE_HEADER, WebhookBuilder, WebhookProvider,
    verify,
};
use wiremock::{Request, ResponseTemplate};

const SIGNING_SECRET: &str = "whsc_9f8e7d6c5b4a39281706f5e4d3c2b1a0";
const URL_KEY: &str = "urlkey-5d41402abc4b2a76";

struct Receiver;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Checks the headers and signature, and returns the parsed body.
fn check_request(request: &Request, key: &IdempotencyKey) -> Payload {
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), "/hooks/stripe-chat");
    assert_eq!(
        request.url.query(),
        Some(format!("key={URL_KEY}").as_str()),
        "the URL is used as configured, query included"
    );
    assert_eq!(request.headers["content-type"], "application/json");
    let agent = request.headers["user-agent"]
        .to_str()
        .expect("an ASCII user agent");
    assert!(agent.starts_with("stripe-chat/"), "{agent}");

    let signature = request.headers[SIGNATURE_HEADER]
        .to_str()
        .expect("an ASCII signature");
    let t = verify(&request.body, signature, SIGNING_SECRET, now())
        .unwrap_or_else(|e| panic!("the signature verifies: {e}"));
    assert!((now() - t).abs() <= 5, "signed just now");
    assert!(
        verify(
            &request.body,
            signature,
            "whsc_not_the_signing_secret_00000",
            now()
        )
        .is_err(),
        "only the shared secret verifies"
    );

    let payload: Payload = serde_json::from_slice(&request.body).expect("the body is a Payload");
    assert_eq!(
        request.headers[DELIVERY_HEADER]
            .to_str()
            .expect("an ASCII delivery id"),
        payload.delivery_id,
        "header and body carry the same delivery id"
    );
    assert_eq!(
        payload.delivery_id,
        key.as_str(),
        "the delivery id is the key of this kind of send"
    );
    assert_eq!(
        payload.message,
        sample_message(),
        "the neutral message, unchanged"
    );
    payload
}

impl Platform for Receiver {
    type Provider = WebhookProvider;

    fn provider(&self, base_url: &str) -> WebhookProvider {
        WebhookBuilder::new(
            Secret::new(format!("{base_url}/hooks/stripe-chat?key={URL_KEY}")),
            Secret::new(SIGNING_SECRET),
        )
        .name("billing-service")
        .timeout(Duration::from_secs(1))
        .build()
        .expect("a valid configuration")
    }

    fn send_route(&self, _thread: Option<&MessageRef>) -> Route {
        Route::new("POST", "^/hooks/stripe-chat$")
    }

    fn delivered(&self) -> (ResponseTemplate, String) {
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "msg_1"})),
            "msg_1".to_owned(),
        )
    }

    fn rate_limited(&self, delay: Duration) -> ResponseTemplate {
        ResponseTemplate::new(429).insert_header("retry-after", delay.as_secs().to_string())
    }

    fn request_timeout(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn secrets(&self) -> Vec<String> {
        vec![SIGNING_SECRET.to_owned(), URL_KEY.to_owned()]
    }

    fn check_send(&self, request: &Request, thread: Option<&MessageRef>) {
        let key = match thread {
            None => sample_key(),
            Some(root) => sample_key().reply_in(root),
        };
        let payload = check_request(request, &key);
        assert_eq!(payload.kind, PayloadType::MessageCreated);
        assert_eq!(payload.message_id, None);
        assert_eq!(
            payload.thread.map(|t| t.message_id),
            thread.map(|t| t.thread_id().to_owned()),
            "a reply names its thread's first message"
        );
    }

    fn update_route(&self, _at: &MessageRef) -> Option<Route> {
        Some(Route::new("POST", "^/hooks/stripe-chat$"))
    }

    fn updated(&self) -> ResponseTemplate {
        ResponseTemplate::new(204)
    }

    fn check_update(&self, request: &Request, at: &MessageRef) {
        let payload = check_request(request, &sample_key().update_of(at));
        assert_eq!(payload.kind, PayloadType::MessageUpdated);
        assert_eq!(payload.message_id.as_deref(), Some(at.id.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_adapter_conforms() {
    stripe_chat_conformance::run(&Receiver).await;
}

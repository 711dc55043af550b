//! The shared adapter conformance suite, against a mock homeserver (wiremock).
//!
//! Run with `cargo test -p stripe-chat-matrix --test conformance`.

use std::time::Duration;

use serde_json::{Value, json};
use stripe_chat_conformance::{Platform, Route, sample_key, sample_message};
use stripe_chat_matrix::MatrixProvider;
use stripe_chat_message::{MessageRef, Renderer, Secret};
use wiremock::{Request, ResponseTemplate};

const TOKEN: &str = "syt_Ym90_conformanceSECRET_0a1b2c";
const ROOM: &str = "!ops:example.org";
const ROOM_IN_PATH: &str = "%21ops%3Aexample.org";
const SEND_PATH: &str = r"^/_matrix/client/v3/rooms/[^/]+/send/m\.room\.message/[^/]+$";

struct Matrix;

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("the request body is JSON")
}

/// The transaction id, decoded, checking the rest of the path.
fn txn_of(request: &Request) -> String {
    let path = request.url.path();
    let prefix = format!("/_matrix/client/v3/rooms/{ROOM_IN_PATH}/send/m.room.message/");
    let raw = path
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("the room id is percent-encoded in the path: {path}"));
    let mut decoded = Vec::new();
    let mut rest = raw.as_bytes();
    while let [first, tail @ ..] = rest {
        match (first, tail) {
            (b'%', [high, low, after @ ..]) => {
                let hex = std::str::from_utf8(&[*high, *low])
                    .unwrap_or_default()
                    .to_owned();
                decoded.push(u8::from_str_radix(&hex, 16).expect("a percent-encoded byte"));
                rest = after;
            }
            _ => {
                decoded.push(*first);
                rest = tail;
            }
        }
    }
    String::from_utf8(decoded).expect("UTF-8")
}

fn check_headers(request: &Request) {
    assert_eq!(request.method.as_str(), "PUT");
    assert_eq!(
        request.headers["authorization"],
        format!("Bearer {TOKEN}").as_str()
    );
    assert_eq!(request.headers["content-type"], "application/json");
    assert!(request.url.query().is_none(), "no token in the query");
}

impl Platform for Matrix {
    type Provider = MatrixProvider;

    fn provider(&self, base_url: &str) -> MatrixProvider {
        MatrixProvider::new(base_url, ROOM, Secret::new(TOKEN))
            .expect("a valid configuration")
            .with_timeout(self.request_timeout())
    }

    fn send_route(&self, _thread: Option<&MessageRef>) -> Route {
        Route::new("PUT", SEND_PATH)
    }

    fn delivered(&self) -> (ResponseTemplate, String) {
        (
            ResponseTemplate::new(200).set_body_json(json!({"event_id": "$abc"})),
            "$abc".to_owned(),
        )
    }

    fn rate_limited(&self, delay: Duration) -> ResponseTemplate {
        ResponseTemplate::new(429)
            .insert_header("retry-after", delay.as_secs().to_string())
            .set_body_json(json!({
                "errcode": "M_LIMIT_EXCEEDED",
                "error": "Too Many Requests",
                "retry_after_ms": delay.as_millis(),
            }))
    }

    fn rejected(&self) -> ResponseTemplate {
        ResponseTemplate::new(400)
            .set_body_json(json!({"errcode": "M_BAD_JSON", "error": "Content not JSON."}))
    }

    fn unauthorized(&self) -> ResponseTemplate {
        ResponseTemplate::new(401).set_body_json(json!({
            "errcode": "M_UNKNOWN_TOKEN",
            "error": "Invalid access token passed.",
            "soft_logout": false,
        }))
    }

    fn unavailable(&self) -> ResponseTemplate {
        ResponseTemplate::new(502).set_body_string("<html><body>Bad Gateway</body></html>")
    }

    fn secrets(&self) -> Vec<String> {
        vec![TOKEN.to_owned()]
    }

    fn check_send(&self, request: &Request, thread: Option<&MessageRef>) {
        check_headers(request);
        let message = sample_message();
        let expected_txn = match thread {
            None => sample_key(),
            Some(root) => sample_key().reply_in(root),
        };
        assert_eq!(
            txn_of(request),
            expected_txn.as_str(),
            "the transaction id is the key of this kind of send"
        );

        let content = body(request);
        let rendered = MatrixProvider::new("https://matrix.example.org", ROOM, Secret::new("t"))
            .expect("valid")
            .render(&message)
            .expect("renders");
        assert_eq!(content["msgtype"], "m.notice");
        assert_eq!(content["body"], rendered["body"]);
        assert_eq!(content["format"], "org.matrix.custom.html");
        assert_eq!(content["formatted_body"], rendered["formatted_body"]);
        let html = content["formatted_body"].as_str().expect("a string");
        assert!(html.contains("Jenny &lt;Rosen&gt; &amp; *Co*"), "{html}");
        assert_eq!(content["m.mentions"], json!({}));
        match thread {
            None => assert!(content.get("m.relates_to").is_none(), "{content}"),
            Some(root) => assert_eq!(
                content["m.relates_to"],
                json!({
                    "rel_type": "m.thread",
                    "event_id": root.thread_id(),
                    "is_falling_back": true,
                    "m.in_reply_to": {"event_id": root.thread_id()},
                })
            ),
        }
    }

    fn update_route(&self, _at: &MessageRef) -> Option<Route> {
        Some(Route::new("PUT", SEND_PATH))
    }

    fn check_update(&self, request: &Request, at: &MessageRef) {
        check_headers(request);
        let content = body(request);
        assert_eq!(
            content["m.relates_to"],
            json!({"rel_type": "m.replace", "event_id": at.id})
        );
        let new_content = &content["m.new_content"];
        assert_eq!(new_content["msgtype"], "m.notice");
        assert_eq!(new_content["format"], "org.matrix.custom.html");
        assert!(
            new_content["body"]
                .as_str()
                .is_some_and(|b| b.contains("Payment failed")),
            "{new_content}"
        );
        assert!(new_content.get("m.relates_to").is_none());
        assert_eq!(
            content["body"],
            format!("* {}", new_content["body"].as_str().unwrap_or_default())
        );
        assert_eq!(txn_of(request), sample_key().update_of(at).as_str());
    }
}

#[tokio::test]
async fn the_matrix_adapter_passes_the_conformance_suite() {
    stripe_chat_conformance::run(&Matrix).await;
}

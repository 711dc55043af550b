//! The webhook adapter's behaviour beyond the shared conformance suite.

use stripe_chat_message::IdempotencyKey;
use stripe_chat_message::{
    ChatMessage, ChatProvider, ErrorKind, MessageRef, Renderer, Secret, Source,
};
use stripe_chat_webhook::{DELIVERY_HEADER, Payload, WebhookBuilder, WebhookProvider};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The idempotency key of delivering `message` here, as the service derives it: its Stripe
/// event, and the destination.
fn key_of(message: &ChatMessage) -> IdempotencyKey {
    let event = message.source.as_ref().map_or("", |s| s.event_id.as_str());
    IdempotencyKey::new(event, "test")
}

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn message(event_id: &str) -> ChatMessage {
    ChatMessage::new("Dispute opened: 20.00 USD").source(Source {
        event_id: event_id.to_owned(),
        event_type: "charge.dispute.created".to_owned(),
        livemode: true,
    })
}

fn webhook(server: &MockServer, name: &str) -> WebhookProvider {
    WebhookBuilder::new(
        Secret::new(format!("{}/in", server.uri())),
        Secret::new(SECRET),
    )
    .name(name)
    .build()
    .expect("a valid configuration")
}

async fn receiver(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("requests are recorded")
}

fn delivery(request: &Request) -> String {
    request.headers[DELIVERY_HEADER]
        .to_str()
        .expect("an ASCII delivery id")
        .to_owned()
}

#[tokio::test]
async fn a_receiver_that_names_no_id_gets_the_delivery_id_as_message_id() {
    let server = receiver(ResponseTemplate::new(204)).await;
    let sent = webhook(&server, "ops")
        .send(&message("evt_1"), None, &key_of(&message("evt_1")))
        .await
        .unwrap();
    assert_eq!(sent.id, delivery(&requests(&server).await[0]));
    assert_eq!(sent.provider, "webhook");
    assert_eq!(sent.channel.as_deref(), Some("ops"));
}

#[tokio::test]
async fn retries_of_one_delivery_carry_the_same_delivery_id() {
    let server = receiver(ResponseTemplate::new(503)).await;
    let hook = webhook(&server, "ops");
    for _ in 0..2 {
        let error = hook
            .send(&message("evt_1"), None, &key_of(&message("evt_1")))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Transient);
    }
    let seen = requests(&server).await;
    assert_eq!(delivery(&seen[0]), delivery(&seen[1]));
}

#[tokio::test]
async fn each_event_destination_and_kind_has_its_own_delivery_id() {
    let server = receiver(ResponseTemplate::new(200)).await;
    let ops = webhook(&server, "ops");
    let (evt_1, evt_2) = (message("evt_1"), message("evt_2"));
    let to_ops = IdempotencyKey::new("evt_1", "ops");
    let root = ops.send(&evt_1, None, &to_ops).await.unwrap();
    ops.send(&evt_2, None, &IdempotencyKey::new("evt_2", "ops"))
        .await
        .unwrap();
    webhook(&server, "finance")
        .send(&evt_1, None, &IdempotencyKey::new("evt_1", "finance"))
        .await
        .unwrap();
    let reply = ops.send(&evt_1, Some(&root), &to_ops).await.unwrap();
    ops.update(&root, &evt_1, &to_ops).await.unwrap();

    assert_eq!(reply.thread_root.as_deref(), Some(root.id.as_str()));
    let ids: std::collections::HashSet<String> =
        requests(&server).await.iter().map(delivery).collect();
    assert_eq!(ids.len(), 5);
}

#[tokio::test]
async fn an_update_names_the_message_and_keeps_its_thread() {
    let server = receiver(ResponseTemplate::new(200)).await;
    let at = MessageRef::new("webhook", "msg_9")
        .in_channel("ops")
        .in_thread("msg_1");
    webhook(&server, "ops")
        .update(&at, &message("evt_3"), &key_of(&message("evt_3")))
        .await
        .unwrap();
    let body: Payload = serde_json::from_slice(&requests(&server).await[0].body).unwrap();
    assert_eq!(body.message_id.as_deref(), Some("msg_9"));
    assert_eq!(body.thread.map(|t| t.message_id).as_deref(), Some("msg_1"));
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_is_permanent() {
    let server = receiver(
        ResponseTemplate::new(301).insert_header("location", "https://elsewhere.example.com/"),
    )
    .await;
    let error = webhook(&server, "ops")
        .send(&message("evt_1"), None, &key_of(&message("evt_1")))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Permanent, "{error}");
    assert_eq!(error.status(), Some(301));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn the_receivers_own_error_is_quoted() {
    let server = receiver(
        ResponseTemplate::new(422).set_body_json(serde_json::json!({"error": "unknown_team"})),
    )
    .await;
    let error = webhook(&server, "ops")
        .send(&message("evt_1"), None, &key_of(&message("evt_1")))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Permanent);
    assert_eq!(
        error.to_string(),
        "permanent: webhook \"ops\" answered HTTP 422: unknown_team"
    );
}

#[tokio::test]
async fn refs_of_other_platforms_or_without_id_are_refused_without_a_request() {
    let server = receiver(ResponseTemplate::new(200)).await;
    let hook = webhook(&server, "ops");
    for at in [
        MessageRef::new("slack", "1700000000.000100"),
        MessageRef::new("webhook", ""),
    ] {
        let error = hook
            .update(&at, &message("evt_1"), &key_of(&message("evt_1")))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Permanent, "{error}");
        let error = hook
            .send(&message("evt_1"), Some(&at), &key_of(&message("evt_1")))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Permanent, "{error}");
    }
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn the_body_sent_for_a_new_message_is_the_rendered_one_with_its_delivery_id() {
    let server = receiver(ResponseTemplate::new(200)).await;
    let hook = webhook(&server, "ops");
    let key = key_of(&message("evt_1"));
    hook.send(&message("evt_1"), None, &key).await.unwrap();
    let mut sent: serde_json::Value =
        serde_json::from_slice(&requests(&server).await[0].body).unwrap();
    let delivery_id = sent
        .as_object_mut()
        .and_then(|fields| fields.remove("delivery_id"));
    assert_eq!(delivery_id, Some(serde_json::json!(key.as_str())));
    assert_eq!(hook.render(&message("evt_1")).unwrap(), sent);
}

#[test]
fn debug_shows_the_name_and_origin_only() {
    let hook = WebhookBuilder::new(
        Secret::new("https://user:p4ss@hooks.example.com:8443/t0k3n/in?key=k3y#frag"),
        Secret::new(SECRET),
    )
    .name("ops")
    .build()
    .unwrap();
    let debug = format!("{hook:?}");
    assert!(
        debug.contains("\"ops\"") && debug.contains("https://hooks.example.com:8443"),
        "{debug}"
    );
    for hidden in ["user", "p4ss", "t0k3n", "k3y", "frag", SECRET] {
        assert!(!debug.contains(hidden), "{hidden} in {debug}");
    }
}

#[test]
fn the_webhook_can_update_and_thread_but_not_take_clicks() {
    let hook = WebhookBuilder::new(
        Secret::new("https://hooks.example.com/in"),
        Secret::new(SECRET),
    )
    .build()
    .unwrap();
    let caps = hook.capabilities();
    assert!(caps.update && caps.thread && caps.link_buttons);
    assert!(!caps.interactive);
    assert_eq!(caps.rate, None);
}

//! The Matrix client against a mock homeserver: transaction ids, relations and error answers
//! beyond what the conformance suite covers.
//!
//! Run with `cargo test -p stripe-chat-matrix --test client`.

use std::time::Duration;

use serde_json::{Value, json};
use stripe_chat_matrix::{MatrixProvider, MsgType};
use stripe_chat_message::IdempotencyKey;
use stripe_chat_message::{ChatMessage, ChatProvider, ErrorKind, MessageRef, Secret, Source};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The idempotency key of the deliveries these tests make.
fn key() -> IdempotencyKey {
    IdempotencyKey::new("evt_1NG8Du2eZvKYlo2CUI79vXWy", "test")
}

const TOKEN: &str = "syt_Ym90_clientSECRET";
const ROOM: &str = "!ops:example.org";

async fn homeserver(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path_regex(
            r"^(/[^/]+)*/_matrix/client/v3/rooms/[^/]+/send/m\.room\.message/[^/]+$",
        ))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

fn ok(event_id: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "event_id": event_id }))
}

fn provider(server: &MockServer) -> MatrixProvider {
    MatrixProvider::new(&server.uri(), ROOM, Secret::new(TOKEN))
        .expect("valid")
        .with_timeout(Duration::from_secs(2))
}

fn about(event_id: &str, title: &str) -> ChatMessage {
    ChatMessage::new(title).source(Source {
        event_id: event_id.into(),
        event_type: "invoice.paid".into(),
        livemode: false,
    })
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

/// The transaction id of a send, decoded from its path.
fn txn(request: &Request) -> String {
    let raw = request.url.path().rsplit('/').next().unwrap_or_default();
    let mut bytes = Vec::new();
    let mut rest = raw.as_bytes();
    while let [first, tail @ ..] = rest {
        match (first, tail) {
            (b'%', [high, low, after @ ..]) => {
                let hex = std::str::from_utf8(&[*high, *low])
                    .unwrap_or_default()
                    .to_owned();
                bytes.push(u8::from_str_radix(&hex, 16).expect("a percent-encoded byte"));
                rest = after;
            }
            _ => {
                bytes.push(*first);
                rest = tail;
            }
        }
    }
    String::from_utf8(bytes).expect("UTF-8")
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("JSON")
}

fn root() -> MessageRef {
    MessageRef::new("matrix", "$root").in_channel(ROOM)
}

#[tokio::test]
async fn a_retried_send_reuses_its_transaction_id_the_callers_key() {
    let server = homeserver(ok("$1")).await;
    let provider = provider(&server);
    let message = about("evt_1", "Invoice paid");
    provider.send(&message, None, &key()).await.expect("sent");
    provider
        .send(&message, None, &key())
        .await
        .expect("sent again");
    let again = MatrixProvider::new(&server.uri(), ROOM, Secret::new(TOKEN)).expect("valid");
    again
        .send(&message, None, &key())
        .await
        .expect("sent by a new provider");
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 3);
    assert_eq!(txn(&sent[0]), key().as_str());
    assert_eq!(txn(&sent[0]), txn(&sent[1]));
    assert_eq!(txn(&sent[0]), txn(&sent[2]));
}

#[tokio::test]
async fn the_same_event_to_another_destination_gets_another_transaction_id() {
    let server = homeserver(ok("$1")).await;
    let message = about("evt_1", "Invoice paid");
    for destination in ["ops", "finance"] {
        provider(&server)
            .send(&message, None, &IdempotencyKey::new("evt_1", destination))
            .await
            .expect("sent");
    }
    let sent = requests(&server).await;
    assert_ne!(txn(&sent[0]), txn(&sent[1]));
}

#[tokio::test]
async fn a_thread_reply_about_the_same_event_is_not_taken_for_its_root() {
    let server = homeserver(ok("$1")).await;
    let provider = provider(&server);
    let message = about("evt_1", "Invoice paid");
    let root_ref = provider.send(&message, None, &key()).await.expect("root");
    let reply = provider
        .send(&message, Some(&root_ref), &key())
        .await
        .expect("reply");
    let other_thread = MessageRef::new("matrix", "$other").in_channel(ROOM);
    provider
        .send(&message, Some(&other_thread), &key())
        .await
        .expect("reply elsewhere");
    let sent = requests(&server).await;
    assert_eq!(txn(&sent[1]), key().reply_in(&root_ref).as_str());
    assert_ne!(txn(&sent[0]), txn(&sent[1]));
    assert_ne!(txn(&sent[1]), txn(&sent[2]));
    assert_eq!(reply.thread_root.as_deref(), Some("$1"));
    assert_eq!(reply.channel.as_deref(), Some(ROOM));
}

#[tokio::test]
async fn a_reply_to_a_reply_goes_to_the_thread_root() {
    let server = homeserver(ok("$2")).await;
    let in_thread = MessageRef::new("matrix", "$reply")
        .in_channel(ROOM)
        .in_thread("$root");
    let sent = provider(&server)
        .send(&about("evt_2", "Refunded"), Some(&in_thread), &key())
        .await
        .expect("sent");
    assert_eq!(sent.thread_root.as_deref(), Some("$root"));
    let relation = &body(&requests(&server).await[0])["m.relates_to"];
    assert_eq!(relation["event_id"], "$root");
    assert_eq!(relation["m.in_reply_to"]["event_id"], "$root");
}

#[tokio::test]
async fn the_transaction_id_is_the_callers_key_whatever_the_message_holds() {
    let server = homeserver(ok("$1")).await;
    let provider = provider(&server);
    let deploy = IdempotencyKey::new("deploy-42", "ops");
    provider
        .send(&ChatMessage::new("Deploy finished"), None, &deploy)
        .await
        .expect("sent");
    provider
        .send(
            &ChatMessage::new("Deploy finished, 2 min late"),
            None,
            &deploy,
        )
        .await
        .expect("a retry whose text changed");
    provider
        .send(
            &ChatMessage::new("Deploy finished"),
            None,
            &IdempotencyKey::new("deploy-43", "ops"),
        )
        .await
        .expect("another delivery");
    let sent = requests(&server).await;
    assert_eq!(txn(&sent[0]), "deploy-42.ops");
    assert_eq!(
        txn(&sent[0]),
        txn(&sent[1]),
        "one delivery, one transaction"
    );
    assert_ne!(txn(&sent[0]), txn(&sent[2]));
}

#[tokio::test]
async fn a_retried_edit_is_idempotent_and_an_edit_for_another_event_is_not_swallowed() {
    let server = homeserver(ok("$edit")).await;
    let provider = provider(&server);
    let original = root();
    let refunded = about("evt_3", "Refunded");
    let evt_3 = IdempotencyKey::new("evt_3", "ops");
    provider
        .update(&original, &refunded, &evt_3)
        .await
        .expect("edit");
    provider
        .update(&original, &refunded, &evt_3)
        .await
        .expect("retry");
    provider
        .update(
            &original,
            &about("evt_4", "Refunded"),
            &IdempotencyKey::new("evt_4", "ops"),
        )
        .await
        .expect("an edit for another event");
    let sent = requests(&server).await;
    assert_eq!(txn(&sent[0]), evt_3.update_of(&original).as_str());
    assert_eq!(txn(&sent[0]), txn(&sent[1]));
    assert_ne!(txn(&sent[0]), txn(&sent[2]));
    let edit = body(&sent[0]);
    assert_eq!(edit["m.relates_to"]["rel_type"], "m.replace");
    assert_eq!(edit["m.relates_to"]["event_id"], "$root");
    assert_eq!(edit["m.new_content"]["body"], "ℹ️ Refunded");
}

#[tokio::test]
async fn an_edit_of_a_thread_reply_replaces_it_without_a_thread_relation_in_the_new_content() {
    let server = homeserver(ok("$edit")).await;
    let reply = MessageRef::new("matrix", "$reply")
        .in_channel(ROOM)
        .in_thread("$root");
    provider(&server)
        .update(&reply, &about("evt_5", "Refunded"), &key())
        .await
        .expect("edit");
    let edit = body(&requests(&server).await[0]);
    assert_eq!(edit["m.relates_to"]["event_id"], "$reply");
    assert!(edit["m.new_content"].get("m.relates_to").is_none());
}

#[tokio::test]
async fn messages_elsewhere_are_refused_without_a_request() {
    let server = homeserver(ok("$1")).await;
    let provider = provider(&server);
    let message = about("evt_6", "Paid");
    let cases = [
        MessageRef::new("matrix", "$x").in_channel("!elsewhere:example.org"),
        MessageRef::new("slack", "1700000000.000100").in_channel("C0123"),
        MessageRef::new("matrix", "").in_channel(ROOM),
    ];
    for at in &cases {
        let error = provider
            .send(&message, Some(at), &key())
            .await
            .expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::Permanent, "{error}");
        let error = provider
            .update(at, &message, &key())
            .await
            .expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::Permanent, "{error}");
    }
    assert!(requests(&server).await.is_empty());
    let no_room = MessageRef::new("matrix", "$x");
    provider
        .send(&message, Some(&no_room), &key())
        .await
        .expect("a ref without a room is taken to be in this room");
}

#[tokio::test]
async fn rate_limits_wait_for_the_header_and_else_for_retry_after_ms() {
    let limited = |header: Option<&str>, ms: u64| {
        let answer = ResponseTemplate::new(429).set_body_json(json!({
            "errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests", "retry_after_ms": ms,
        }));
        match header {
            Some(seconds) => answer.insert_header("retry-after", seconds),
            None => answer,
        }
    };
    for (answer, expected) in [
        (limited(Some("5"), 4_423), Duration::from_secs(5)),
        (limited(None, 4_423), Duration::from_millis(4_423)),
    ] {
        let server = homeserver(answer).await;
        let error = provider(&server)
            .send(&about("evt_7", "Paid"), None, &key())
            .await
            .expect_err("limited");
        assert_eq!(error.kind(), ErrorKind::RateLimited);
        assert_eq!(error.retry_after(), Some(expected));
    }
}

#[tokio::test]
async fn homeserver_refusals_are_classified_by_errcode() {
    let cases = [
        (403, "M_FORBIDDEN", ErrorKind::Unauthorized),
        (401, "M_MISSING_TOKEN", ErrorKind::Unauthorized),
        (404, "M_NOT_FOUND", ErrorKind::Permanent),
        (413, "M_TOO_LARGE", ErrorKind::Permanent),
        (500, "M_UNKNOWN", ErrorKind::Transient),
    ];
    for (status, errcode, kind) in cases {
        let server = homeserver(
            ResponseTemplate::new(status)
                .set_body_json(json!({"errcode": errcode, "error": "refused"})),
        )
        .await;
        let error = provider(&server)
            .send(&about("evt_8", "Paid"), None, &key())
            .await
            .expect_err("refused");
        assert_eq!(error.kind(), kind, "{status} {errcode}: {error}");
        assert_eq!(error.status(), Some(status));
        assert!(error.message().contains(errcode), "{error}");
        assert!(!format!("{error:?}").contains(TOKEN));
    }
}

#[tokio::test]
async fn a_success_without_an_event_id_is_transient_so_the_retry_finds_it() {
    let server = homeserver(ResponseTemplate::new(200).set_body_json(json!({}))).await;
    let error = provider(&server)
        .send(&about("evt_9", "Paid"), None, &key())
        .await
        .expect_err("no event id");
    assert_eq!(error.kind(), ErrorKind::Transient);
}

#[tokio::test]
async fn msgtype_text_is_sent_when_configured() {
    let server = homeserver(ok("$1")).await;
    provider(&server)
        .with_msgtype(MsgType::Text)
        .send(&about("evt_10", "Paid"), None, &key())
        .await
        .expect("sent");
    assert_eq!(body(&requests(&server).await[0])["msgtype"], "m.text");
}

#[tokio::test]
async fn a_homeserver_under_a_path_keeps_it_and_new_room_ids_are_encoded() {
    let server = homeserver(ok("$1")).await;
    let room = "!-XUwKa5VHWWg9iUQYtWsYERZFgrDrIVCK_I1b86GGVg";
    let provider = MatrixProvider::new(
        &format!("{}/matrix/", server.uri()),
        room,
        Secret::new(TOKEN),
    )
    .expect("valid");
    let sent = provider
        .send(&about("evt_11", "Paid"), None, &key())
        .await
        .expect("sent");
    assert_eq!(sent.channel.as_deref(), Some(room));
    let path = requests(&server).await[0].url.path().to_owned();
    assert!(
        path.starts_with(
            "/matrix/_matrix/client/v3/rooms/%21-XUwKa5VHWWg9iUQYtWsYERZFgrDrIVCK_I1b86GGVg/send/m.room.message/evt_"
        ),
        "{path}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_transient_and_names_no_token() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = listener.local_addr().expect("an address");
    drop(listener);
    let provider =
        MatrixProvider::new(&format!("http://{address}"), ROOM, Secret::new(TOKEN)).expect("valid");
    let error = provider
        .send(&about("evt_12", "Paid"), None, &key())
        .await
        .expect_err("nobody listens");
    assert_eq!(error.kind(), ErrorKind::Transient, "{error}");
    let mut text = format!("{error} {error:?}");
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    assert!(!text.contains(TOKEN), "{text}");
}

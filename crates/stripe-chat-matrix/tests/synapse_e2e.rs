//! End-to-end tests against a real Synapse homeserver: what the bot sends is read back from the
//! room by another user.
//!
//! Run with `tests/synapse/run.sh` from the workspace root (it starts Synapse, runs these tests and
//! stops it), or after `tests/synapse/start.sh` and `set -a; . target/synapse/env; set +a`:
//! `cargo test -p stripe-chat-matrix --test synapse_e2e -- --ignored --test-threads=1`.
//!
//! Synapse keeps its default rate limits (10 messages at once, then one every 5 s), so the
//! tests meet them: every send goes through [`with_retry`], which waits as long as the
//! homeserver asks. Each run uses its own Stripe event ids, so runs never share transaction ids.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::Url;
use serde_json::{Value, json};
use stripe_chat_matrix::MatrixProvider;
use stripe_chat_message::IdempotencyKey;
use stripe_chat_message::{
    ChatMessage, ChatProvider, DeliveryError, ErrorKind, MessageRef, Renderer, Secret, Severity,
    Source,
};

/// The idempotency key of delivering `message` here: its Stripe event, to this room.
fn key_of(message: &ChatMessage) -> IdempotencyKey {
    let event = message.source.as_ref().map_or("", |s| s.event_id.as_str());
    IdempotencyKey::new(event, "synapse-e2e")
}

/// How long one send may keep being retried (Synapse asks for at most a few seconds at a time).
const RETRY_DEADLINE: Duration = Duration::from_secs(180);

/// What `tests/synapse/start.sh` writes to `target/synapse/env`.
struct Env {
    homeserver: String,
    room_id: String,
    bot_token: String,
    reader_token: String,
}

fn var(name: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!(
            "{name} is not set. These tests need a running Synapse: run tests/synapse/run.sh, or \
             tests/synapse/start.sh then `set -a; . target/synapse/env; set +a` before cargo test"
        ),
    }
}

fn env() -> Env {
    Env {
        homeserver: var("MATRIX_HOMESERVER"),
        room_id: var("MATRIX_ROOM_ID"),
        bot_token: var("MATRIX_BOT_TOKEN"),
        reader_token: var("MATRIX_READER_TOKEN"),
    }
}

fn bot(env: &Env) -> MatrixProvider {
    MatrixProvider::new(&env.homeserver, &env.room_id, Secret::new(&env.bot_token))
        .expect("the env describes a valid configuration")
}

/// A name unique to this test run, so its Stripe event ids (and transaction ids) are new.
fn run_id(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{test}_{nanos:x}")
}

fn about(event_id: &str, title: &str) -> ChatMessage {
    ChatMessage::new(title).source(Source {
        event_id: event_id.to_owned(),
        event_type: "invoice.payment_failed".to_owned(),
        livemode: false,
    })
}

/// Runs `attempt` until it succeeds, sleeping as long as each rate-limited answer asks (and
/// briefly after a transient failure). Returns the result and how many times the homeserver
/// rate-limited it. Panics on any other failure or after [`RETRY_DEADLINE`].
async fn with_retry<T, F, Fut>(what: &str, mut attempt: F) -> (T, u32)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DeliveryError>>,
{
    let started = Instant::now();
    let mut rate_limited = 0;
    let mut transient = 0;
    loop {
        let error = match attempt().await {
            Ok(value) => return (value, rate_limited),
            Err(error) => error,
        };
        assert!(
            started.elapsed() < RETRY_DEADLINE,
            "{what}: still failing after {RETRY_DEADLINE:?}: {error}"
        );
        match error.kind() {
            ErrorKind::RateLimited => {
                rate_limited += 1;
                let delay = error.retry_after().expect("a rate limit says how long");
                tokio::time::sleep(delay).await;
            }
            ErrorKind::Transient if transient < 3 => {
                transient += 1;
                tokio::time::sleep(Duration::from_millis(500 * transient)).await;
            }
            _ => panic!("{what}: {error}"),
        }
    }
}

async fn send(
    provider: &MatrixProvider,
    message: &ChatMessage,
    thread: Option<&MessageRef>,
) -> MessageRef {
    let key = key_of(message);
    with_retry("send", || provider.send(message, thread, &key))
        .await
        .0
}

/// Reads the room as the `reader` user, through the client-server API.
struct Reader {
    http: reqwest::Client,
    homeserver: String,
    room_id: String,
    token: String,
}

impl Reader {
    fn new(env: &Env) -> Self {
        Reader {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("a client"),
            homeserver: env.homeserver.clone(),
            room_id: env.room_id.clone(),
            token: env.reader_token.clone(),
        }
    }

    /// `{homeserver}/_matrix/client/{version}/rooms/{room}/` followed by `segments`, encoded.
    fn url(&self, version: &str, segments: &[&str]) -> Url {
        let mut url = Url::parse(&self.homeserver).expect("a URL");
        url.path_segments_mut()
            .expect("a base URL")
            .pop_if_empty()
            .extend(["_matrix", "client", version, "rooms", &self.room_id])
            .extend(segments);
        url
    }

    async fn get(&self, url: Url) -> Value {
        let response = self
            .http
            .get(url.clone())
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {}: {e}", url.path()));
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "GET {}: {status} {body}", url.path());
        body
    }

    /// One event, as the reader's client would get it (with bundled relations in `unsigned`).
    async fn event(&self, event_id: &str) -> Value {
        self.get(self.url("v3", &["event", event_id])).await
    }

    /// The events relating to `event_id` with `rel_type`, newest first.
    async fn relations(&self, event_id: &str, rel_type: &str) -> Vec<Value> {
        let body = self
            .get(self.url("v1", &["relations", event_id, rel_type]))
            .await;
        body["chunk"].as_array().cloned().unwrap_or_default()
    }

    /// Every `m.room.message` in the room, newest first.
    async fn messages(&self) -> Vec<Value> {
        let mut all = Vec::new();
        let mut from: Option<String> = None;
        loop {
            let mut url = self.url("v3", &["messages"]);
            url.query_pairs_mut()
                .append_pair("dir", "b")
                .append_pair("limit", "100")
                .append_pair("filter", r#"{"types":["m.room.message"]}"#);
            if let Some(from) = &from {
                url.query_pairs_mut().append_pair("from", from);
            }
            let page = self.get(url).await;
            let chunk = page["chunk"].as_array().cloned().unwrap_or_default();
            if chunk.is_empty() {
                return all;
            }
            all.extend(chunk);
            match page["end"].as_str() {
                Some(end) => from = Some(end.to_owned()),
                None => return all,
            }
        }
    }

    /// The messages whose plain body contains `marker`.
    async fn messages_with(&self, marker: &str) -> Vec<Value> {
        self.messages()
            .await
            .into_iter()
            .filter(|event| {
                event["content"]["body"]
                    .as_str()
                    .is_some_and(|body| body.contains(marker))
            })
            .collect()
    }
}

#[tokio::test]
#[ignore = "needs a Synapse homeserver: tests/synapse/start.sh"]
async fn a_sent_message_arrives_as_a_notice_with_escaped_html() {
    let env = env();
    let (provider, reader) = (bot(&env), Reader::new(&env));
    let run = run_id("send");
    let mut message = stripe_chat_conformance::sample_message();
    message.title = format!("Payment failed: 20.00 USD from Jenny <Rosen> & *Co* [{run}]");
    message.source = Some(Source {
        event_id: format!("evt_{run}"),
        event_type: "invoice.payment_failed".into(),
        livemode: false,
    });
    let rendered = provider.render(&message).expect("renders");

    let sent = send(&provider, &message, None).await;
    assert!(sent.id.starts_with('$'), "{sent:?}");
    assert_eq!(sent.channel.as_deref(), Some(env.room_id.as_str()));
    assert_eq!(sent.thread_root, None);

    let event = reader.event(&sent.id).await;
    assert_eq!(event["type"], "m.room.message");
    assert_eq!(event["sender"], "@bot:localhost");
    let content = &event["content"];
    assert_eq!(content["msgtype"], "m.notice");
    assert_eq!(content["body"], rendered["body"]);
    assert_eq!(content["format"], "org.matrix.custom.html");
    assert_eq!(content["formatted_body"], rendered["formatted_body"]);
    let html = content["formatted_body"].as_str().unwrap_or_default();
    assert!(html.contains("Jenny &lt;Rosen&gt; &amp; *Co*"), "{html}");
    assert!(
        html.contains("<a href=\"https://dashboard.stripe.com/"),
        "{html}"
    );
    assert_eq!(content["m.mentions"], json!({}));
    assert!(content.get("m.relates_to").is_none());
}

#[tokio::test]
#[ignore = "needs a Synapse homeserver: tests/synapse/start.sh"]
async fn a_thread_reply_about_the_same_event_is_a_new_message_in_the_roots_thread() {
    let env = env();
    let (provider, reader) = (bot(&env), Reader::new(&env));
    let run = run_id("thread");
    let event = format!("evt_{run}");
    let root = send(
        &provider,
        &about(&event, &format!("Payment failed [{run}]")),
        None,
    )
    .await;
    // The same Stripe event again, as a reply: another transaction id, so another message.
    let reply_message = about(&event, &format!("Payment failed, reminder sent [{run}]"))
        .severity(Severity::Warning);
    let reply = send(&provider, &reply_message, Some(&root)).await;
    assert_ne!(reply.id, root.id);
    assert_eq!(reply.thread_root.as_deref(), Some(root.id.as_str()));

    let content = reader.event(&reply.id).await["content"].clone();
    assert_eq!(content["m.relates_to"]["rel_type"], "m.thread");
    assert_eq!(content["m.relates_to"]["event_id"], root.id.as_str());
    assert_eq!(content["m.relates_to"]["is_falling_back"], true);
    assert_eq!(
        content["m.relates_to"]["m.in_reply_to"]["event_id"],
        root.id.as_str()
    );

    let in_thread = reader.relations(&root.id, "m.thread").await;
    let ids: Vec<&str> = in_thread
        .iter()
        .filter_map(|e| e["event_id"].as_str())
        .collect();
    assert_eq!(ids, [reply.id.as_str()]);
    let summary = &reader.event(&root.id).await["unsigned"]["m.relations"]["m.thread"];
    assert_eq!(summary["count"], 1, "the root shows a thread of one reply");

    // A reply to the reply lands in the same thread.
    let again = send(
        &provider,
        &about(&format!("{event}_2"), &format!("Paid [{run}]")),
        Some(&reply),
    )
    .await;
    assert_eq!(again.thread_root.as_deref(), Some(root.id.as_str()));
    assert_eq!(reader.relations(&root.id, "m.thread").await.len(), 2);
}

#[tokio::test]
#[ignore = "needs a Synapse homeserver: tests/synapse/start.sh"]
async fn an_edit_replaces_what_the_room_shows_once_per_distinct_edit() {
    let env = env();
    let (provider, reader) = (bot(&env), Reader::new(&env));
    let run = run_id("edit");
    let original = send(
        &provider,
        &about(&format!("evt_{run}"), &format!("Payment failed [{run}]")),
        None,
    )
    .await;

    let paid = about(&format!("evt_{run}_paid"), &format!("Invoice paid [{run}]"))
        .severity(Severity::Success);
    let new_body = provider.render(&paid).expect("renders")["body"].clone();
    let paid_key = key_of(&paid);
    with_retry("edit", || provider.update(&original, &paid, &paid_key)).await;
    with_retry("edit retried", || {
        provider.update(&original, &paid, &paid_key)
    })
    .await;

    let edits = reader.relations(&original.id, "m.replace").await;
    assert_eq!(edits.len(), 1, "a retried edit is the same edit: {edits:?}");
    let edit = &edits[0];
    assert_eq!(edit["sender"], "@bot:localhost");
    assert_eq!(edit["content"]["m.relates_to"]["rel_type"], "m.replace");
    assert_eq!(
        edit["content"]["m.relates_to"]["event_id"],
        original.id.as_str()
    );
    assert_eq!(edit["content"]["m.new_content"]["body"], new_body);
    assert_eq!(edit["content"]["m.new_content"]["msgtype"], "m.notice");
    assert_eq!(
        edit["content"]["body"],
        format!("* {}", new_body.as_str().unwrap_or_default())
    );
    // The homeserver hands the latest edit out with the original: that is what clients show.
    let shown = &reader.event(&original.id).await["unsigned"]["m.relations"]["m.replace"];
    assert_eq!(shown["event_id"], edit["event_id"], "{shown}");

    // A later, different edit is not taken for the first one.
    let refunded = about(
        &format!("evt_{run}_refunded"),
        &format!("Invoice refunded [{run}]"),
    );
    let refunded_key = key_of(&refunded);
    with_retry("second edit", || {
        provider.update(&original, &refunded, &refunded_key)
    })
    .await;
    let edits = reader.relations(&original.id, "m.replace").await;
    assert_eq!(edits.len(), 2, "{edits:?}");
    let shown = &reader.event(&original.id).await["unsigned"]["m.relations"]["m.replace"];
    let latest = edits
        .iter()
        .find(|e| e["event_id"] == shown["event_id"])
        .expect("the edit shown is one of the edits");
    assert!(
        latest["content"]["m.new_content"]["body"]
            .as_str()
            .is_some_and(|b| b.contains("Invoice refunded")),
        "{latest}"
    );
}

#[tokio::test]
#[ignore = "needs a Synapse homeserver: tests/synapse/start.sh"]
async fn a_retried_send_returns_the_same_event_and_posts_once() {
    let env = env();
    let reader = Reader::new(&env);
    let run = run_id("retry");
    let message = about(&format!("evt_{run}"), &format!("Dispute opened [{run}]"));
    let first = send(&bot(&env), &message, None).await;
    let second = send(&bot(&env), &message, None).await;
    // A new provider (a restarted process) with the same token: still the same send.
    let third = send(&bot(&env), &message, None).await;
    assert_eq!(first.id, second.id);
    assert_eq!(first.id, third.id);
    let posted = reader.messages_with(&run).await;
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(posted[0]["event_id"], first.id.as_str());

    // Messages without a Stripe event are idempotent through their content.
    let plain = ChatMessage::new(format!("Webhook endpoint re-enabled [{run}-plain]"));
    let first = send(&bot(&env), &plain, None).await;
    let second = send(&bot(&env), &plain, None).await;
    assert_eq!(first.id, second.id);
    assert_eq!(reader.messages_with(&format!("{run}-plain")).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Synapse homeserver: tests/synapse/start.sh"]
async fn a_burst_recovers_from_synapse_rate_limiting_and_posts_each_message_once() {
    const BURST: usize = 20;
    let env = env();
    let provider = Arc::new(bot(&env));
    let reader = Reader::new(&env);
    let run = run_id("burst");
    let messages: Vec<ChatMessage> = (0..BURST)
        .map(|n| {
            about(
                &format!("evt_{run}_{n:02}"),
                &format!("Charge {n:02} succeeded [{run}]"),
            )
        })
        .collect();

    // All at once, each retried after the delay Synapse asks for.
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, message) in messages.iter().cloned().enumerate() {
        let provider = Arc::clone(&provider);
        tasks.spawn(async move {
            let key = key_of(&message);
            let (sent, limited) = with_retry(&format!("burst message {n}"), || {
                provider.send(&message, None, &key)
            })
            .await;
            (n, sent.id, limited)
        });
    }
    let mut ids = vec![String::new(); BURST];
    let mut rate_limited = 0;
    while let Some(joined) = tasks.join_next().await {
        let (n, id, limited) = joined.expect("the task finished");
        ids[n] = id;
        rate_limited += limited;
    }
    let burst_time = started.elapsed();
    assert!(
        rate_limited >= 1,
        "Synapse's default rate limit should have been met by {BURST} messages at once"
    );

    // Resending everything (as after lost answers) gives the same events, and posts nothing.
    for (n, message) in messages.iter().enumerate() {
        let key = key_of(message);
        let (again, _) = with_retry("resend", || provider.send(message, None, &key)).await;
        assert_eq!(again.id, ids[n], "message {n} resent");
    }

    let posted = reader.messages_with(&run).await;
    assert_eq!(posted.len(), BURST, "each message exactly once");
    for (n, id) in ids.iter().enumerate() {
        let copies: Vec<&Value> = posted
            .iter()
            .filter(|e| {
                e["content"]["body"]
                    .as_str()
                    .is_some_and(|b| b.contains(&format!("Charge {n:02} succeeded")))
            })
            .collect();
        assert_eq!(copies.len(), 1, "message {n}");
        assert_eq!(copies[0]["event_id"], id.as_str(), "message {n}");
    }
    eprintln!(
        "burst of {BURST}: {rate_limited} rate-limited answers, all delivered in {:.1} s",
        burst_time.as_secs_f64()
    );
}

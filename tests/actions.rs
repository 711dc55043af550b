//! Acting from chat through the binary: a signed Stripe event becomes a Slack message with a
//! Retry payment button; a signed click by a person allowed in `[[people]]` gets a private
//! confirmation, a signed confirmation makes exactly one Stripe call with an idempotency key,
//! the message is updated for everyone, and the audit log verifies. Forged and stale requests are
//! refused and counted; an unknown person is told privately.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use stripe_chat::slack::interaction::SlackVerifier;
use support::{SECRET, Server, metric, now, post_signed};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SIGNING_SECRET: &str = "e2e-slack-signing-secret";
const CHANNEL: &str = "C0SLACK01";
const TS: &str = "1765000000.000100";

fn config(dir: &Path, slack: &str, stripe: &str) -> std::path::PathBuf {
    let key = dir.join("stripe.key");
    std::fs::write(&key, "rk_test_e2e_actions\n").expect("key");
    let path = dir.join("stripe-chat.toml");
    std::fs::write(
        &path,
        format!(
            r#"[server]
listen = "127.0.0.1:0"
shutdown_grace_secs = 2
[stripe]
webhook_secrets = ["{SECRET}"]
api_key_file = {key:?}
api_base = "{stripe}"
[store]
sqlite = {db:?}
[interactions.slack]
signing_secret = "{SIGNING_SECRET}"
[[roles]]
name = "billing"
actions = ["retry_payment", "mark_contacted"]
[[people]]
name = "ana"
roles = ["billing"]
slack = ["T0123ABCD/U0123ABCD"]
[[destinations]]
name = "billing"
provider = "slack"
token = "xoxb-e2e-token"
channel = "{CHANNEL}"
api_base = "{slack}"
[[routes]]
events = ["*"]
to = ["billing"]
"#,
            key = key.display().to_string(),
            db = dir.join("data/stripe-chat.db").display().to_string(),
        ),
    )
    .expect("config");
    path
}

fn invoice_failed() -> (String, String) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events/invoice.payment_failed@2026-09-30.endive.json");
    let text = std::fs::read_to_string(fixture).expect("fixture");
    let event: Value = serde_json::from_str(&text).expect("json");
    let id = event["data"]["object"]["id"]
        .as_str()
        .expect("invoice id")
        .to_owned();
    (text, id)
}

/// Mocks Slack's Web API and the interactions' response URLs.
async fn slack_mock() -> MockServer {
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "ok": true, "channel": CHANNEL, "ts": TS })),
        )
        .mount(&slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/chat.update"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "ok": true, "channel": CHANNEL, "ts": TS })),
        )
        .mount(&slack)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/respond/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "ok": true })))
        .mount(&slack)
        .await;
    slack
}

async fn stripe_mock(invoice: &str) -> MockServer {
    let stripe = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/invoices/{invoice}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": invoice, "object": "invoice", "number": "INV-0042", "customer": "cus_1",
            "customer_name": "Acme Corp", "status": "open", "collection_method": "charge_automatically",
            "amount_due": 39800, "amount_remaining": 39800, "currency": "usd", "livemode": false
        })))
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/invoices/{invoice}/pay")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": invoice, "object": "invoice", "status": "paid" })),
        )
        .expect(1)
        .mount(&stripe)
        .await;
    stripe
}

/// The requests `server` received on `path`.
async fn received(server: &MockServer, path: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == path)
        .collect()
}

/// Waits up to 10 s for a request on `path` whose body satisfies `want`.
async fn wait_for(server: &MockServer, path: &str, want: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        for request in received(server, path).await {
            if let Ok(body) = serde_json::from_slice::<Value>(&request.body)
                && want(&body)
            {
                return body;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "nothing on {path}: {:?}",
        received(server, path)
            .await
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect::<Vec<_>>()
    );
}

/// Posts a Slack interaction `payload`, signed at `timestamp` with `secret`.
async fn click(server: &Server, payload: &Value, secret: &str, timestamp: i64) -> u16 {
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).expect("form");
    let signature = SlackVerifier::new(secret).sign(timestamp, body.as_bytes());
    reqwest::Client::new()
        .post(server.url("/interactions/slack"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Slack-Request-Timestamp", timestamp.to_string())
        .header("X-Slack-Signature", signature)
        .body(body)
        .send()
        .await
        .expect("post")
        .status()
        .as_u16()
}

fn press(slack: &MockServer, user: &str, trigger: &str, message: &Value, token: &str) -> Value {
    json!({
        "type": "block_actions",
        "trigger_id": trigger,
        "user": { "id": user, "team_id": "T0123ABCD", "username": "ana" },
        "team": { "id": "T0123ABCD" },
        "channel": { "id": CHANNEL },
        "container": { "type": "message", "message_ts": TS, "channel_id": CHANNEL, "is_ephemeral": false },
        "message": { "ts": TS, "text": message["text"], "blocks": message["blocks"] },
        "response_url": format!("{}/respond/{trigger}", slack.uri()),
        "actions": [{ "action_id": token, "value": token, "type": "button", "action_ts": "1765000001.000200" }]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_click_by_an_allowed_person_retries_the_payment_once_and_the_audit_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (event, invoice) = invoice_failed();
    let slack = slack_mock().await;
    let stripe = stripe_mock(&invoice).await;
    let config = config(dir.path(), &slack.uri(), &stripe.uri());
    let server = Server::start(&config);
    let http = reqwest::Client::new();

    assert_eq!(
        post_signed(&http, &server.url("/webhooks/stripe"), &event).await,
        Ok(200)
    );
    let posted = wait_for(&slack, "/chat.postMessage", |_| true).await;
    let token = format!("sc:retry_payment:invoice:{invoice}");
    let buttons: Vec<&Value> = posted["blocks"]
        .as_array()
        .expect("blocks")
        .iter()
        .filter_map(|b| b["elements"].as_array())
        .flatten()
        .collect();
    assert!(
        buttons.iter().any(|b| b["action_id"] == token.as_str()),
        "a Retry payment button carrying {token}: {buttons:?}"
    );
    // What conversations.history gives for the message: as it was posted.
    Mock::given(method("GET"))
        .and(path("/conversations.history"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true,
            "messages": [{ "ts": TS, "text": posted["text"], "blocks": posted["blocks"] }]
        })))
        .mount(&slack)
        .await;

    // Ana clicks Retry payment: a private question with a confirm button.
    let status = click(
        &server,
        &press(&slack, "U0123ABCD", "t-press", &posted, &token),
        SIGNING_SECRET,
        now(),
    )
    .await;
    assert_eq!(status, 200);
    let prompt = wait_for(&slack, "/respond/t-press", |_| true).await;
    assert_eq!(prompt["response_type"], "ephemeral");
    assert!(
        prompt["text"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Retry the payment of 398.00 USD"),
        "{prompt}"
    );
    let confirm = &prompt["blocks"][1]["elements"][0];
    let confirm_token = confirm["action_id"].as_str().expect("confirm token");
    assert!(confirm_token.starts_with("sc:confirm:"), "{confirm}");
    assert_eq!(confirm["value"], format!("{CHANNEL} {TS}"));
    assert!(
        received(&stripe, &format!("/v1/invoices/{invoice}/pay"))
            .await
            .is_empty(),
        "nothing moves before the confirmation"
    );

    // She confirms from the private prompt (ephemeral: Slack sends no message).
    let confirm_click = json!({
        "type": "block_actions",
        "trigger_id": "t-confirm",
        "user": { "id": "U0123ABCD", "team_id": "T0123ABCD", "username": "ana" },
        "channel": { "id": CHANNEL },
        "container": { "type": "message", "message_ts": "1765000002.000300", "channel_id": CHANNEL, "is_ephemeral": true },
        "response_url": format!("{}/respond/t-confirm", slack.uri()),
        "actions": [{ "action_id": confirm_token, "value": confirm["value"], "type": "button" }]
    });
    let at = now();
    assert_eq!(
        click(&server, &confirm_click, SIGNING_SECRET, at).await,
        200
    );
    // The same request again (a replay inside the window) is acknowledged and counted; the same
    // interaction signed anew is taken once, by its id kept in the store.
    assert_eq!(
        click(&server, &confirm_click, SIGNING_SECRET, at).await,
        200
    );
    assert_eq!(
        click(&server, &confirm_click, SIGNING_SECRET, at + 1).await,
        200
    );
    let updated = wait_for(&slack, "/chat.update", |b| {
        b.to_string().contains("Payment retried by ana")
    })
    .await;
    assert_eq!(
        (updated["channel"].as_str(), updated["ts"].as_str()),
        (Some(CHANNEL), Some(TS))
    );
    let blocks = updated["blocks"].as_array().expect("blocks");
    assert_eq!(
        blocks.len(),
        posted["blocks"].as_array().expect("blocks").len() + 1,
        "the message keeps its blocks and gains one status line"
    );
    assert_eq!(blocks.last().expect("status")["block_id"], "sc_status");
    assert!(
        blocks.iter().any(|b| b.to_string().contains(&token)),
        "the buttons stay"
    );

    let pays = received(&stripe, &format!("/v1/invoices/{invoice}/pay")).await;
    assert_eq!(pays.len(), 1, "exactly one Stripe call");
    let key = pays[0]
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .expect("an Idempotency-Key");
    assert!(key.starts_with("sc-retry_payment-"), "{key}");
    let text = server.metrics().await;
    assert_eq!(
        metric(&text, "stripe_chat_interactions_total{platform=\"slack\"}"),
        Some(3.0)
    );
    assert_eq!(
        metric(
            &text,
            "stripe_chat_interactions_refused_total{platform=\"slack\",reason=\"replayed\"}"
        ),
        Some(1.0)
    );
    drop(server);

    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_stripe-chat"))
        .args(["audit", "verify", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    stripe.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_stale_clicks_are_refused_and_counted_and_an_unknown_person_is_told_privately() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, invoice) = invoice_failed();
    let slack = slack_mock().await;
    let stripe = MockServer::start().await;
    let config = config(dir.path(), &slack.uri(), &stripe.uri());
    let server = Server::start(&config);
    let token = format!("sc:retry_payment:invoice:{invoice}");
    let message = json!({ "text": "Payment failed", "blocks": [] });

    let forged = click(
        &server,
        &press(&slack, "U0123ABCD", "t-forged", &message, &token),
        "not-the-signing-secret",
        now(),
    )
    .await;
    assert_eq!(forged, 401);
    let stale = click(
        &server,
        &press(&slack, "U0123ABCD", "t-stale", &message, &token),
        SIGNING_SECRET,
        now() - 301,
    )
    .await;
    assert_eq!(stale, 401);
    let unsigned = reqwest::Client::new()
        .post(server.url("/interactions/slack"))
        .body("payload=%7B%7D")
        .send()
        .await
        .expect("post")
        .status()
        .as_u16();
    assert_eq!(unsigned, 401);

    let text = server.metrics().await;
    for (reason, count) in [
        ("bad_signature", 1.0),
        ("stale_timestamp", 1.0),
        ("missing_header", 1.0),
    ] {
        assert_eq!(
            metric(
                &text,
                &format!(
                    "stripe_chat_interactions_refused_total{{platform=\"slack\",reason=\"{reason}\"}}"
                )
            ),
            Some(count),
            "{reason}"
        );
    }
    let log = std::fs::read_to_string(&server.log).unwrap_or_default();
    assert!(
        !log.contains("t-forged") && !log.contains(&token),
        "refusals are logged without their payload"
    );

    // Someone not in [[people]]: told privately, nothing read from Stripe.
    let stranger = click(
        &server,
        &press(&slack, "U0STRANGER", "t-stranger", &message, &token),
        SIGNING_SECRET,
        now(),
    )
    .await;
    assert_eq!(stranger, 200);
    let told = wait_for(&slack, "/respond/t-stranger", |_| true).await;
    assert_eq!(told["response_type"], "ephemeral");
    assert!(
        told["text"]
            .as_str()
            .unwrap_or_default()
            .contains("not set up to act"),
        "{told}"
    );
    assert!(
        stripe
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[test]
fn the_minimal_configuration_of_the_issue_passes_check_as_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("stripe-chat.toml");
    std::fs::write(
        &path,
        r#"[stripe]
webhook_secrets = ["whsec_demo"]
api_key_env = "STRIPE_API_KEY"
[store]
sqlite = "demo-data/stripe-chat.db"
[interactions.slack]
signing_secret_env = "SLACK_SIGNING_SECRET"
[interactions.discord]
public_key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
[[roles]]
name = "billing"
actions = ["retry_payment", "send_dunning_email", "mark_contacted", "assign", "create_ticket"]
max_amount = { usd = 1000.0 }
[[roles]]
name = "finance"
actions = ["*"]
[[people]]
name = "ana"
roles = ["billing"]
slack = ["T0123ABCD/U0123ABCD"]
discord = ["80351110224678912"]
"#,
    )
    .expect("config");
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_stripe-chat"))
        .args(["check", "--config"])
        .arg(&path)
        .env("SLACK_SIGNING_SECRET", "8f742231b10e8888abcd99yyyzzz85a5")
        .env("STRIPE_API_KEY", "rk_test_1")
        .output()
        .expect("runs");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("interactions: slack, discord"),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    for (unset, key) in [
        (
            "SLACK_SIGNING_SECRET",
            "interactions.slack.signing_secret_env",
        ),
        ("STRIPE_API_KEY", "stripe.api_key_env"),
    ] {
        let failed = std::process::Command::new(env!("CARGO_BIN_EXE_stripe-chat"))
            .args(["check", "--config"])
            .arg(&path)
            .env("SLACK_SIGNING_SECRET", "8f742231b10e8888abcd99yyyzzz85a5")
            .env("STRIPE_API_KEY", "rk_test_1")
            .env_remove(unset)
            .output()
            .expect("runs");
        assert_eq!(failed.status.code(), Some(2), "{unset}");
        assert!(
            String::from_utf8_lossy(&failed.stderr).contains(key),
            "{}",
            String::from_utf8_lossy(&failed.stderr)
        );
    }
}

mod discord {
    //! The same flow on Discord: an application-owned webhook posts the message with its
    //! buttons, clicks are signed with the application's Ed25519 key.

    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    const APP: &str = "1180000000000000001";
    const HOOK: &str = "123456789012345678";
    const MESSAGE: &str = "1100000000000000001";
    const DISCORD_CHANNEL: &str = "1000000000000000001";

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn config(dir: &Path, discord: &str, stripe: &str) -> std::path::PathBuf {
        let key_file = dir.join("stripe.key");
        std::fs::write(&key_file, "rk_test_e2e_actions\n").expect("key");
        let path = dir.join("stripe-chat.toml");
        std::fs::write(
            &path,
            format!(
                r#"[server]
listen = "127.0.0.1:0"
shutdown_grace_secs = 2
[stripe]
webhook_secrets = ["{SECRET}"]
api_key_file = {key_file:?}
api_base = "{stripe}"
[store]
sqlite = {db:?}
[interactions.discord]
public_key = "{public}"
api_base = "{discord}/api"
[[roles]]
name = "billing"
actions = ["retry_payment"]
[[people]]
name = "ana"
roles = ["billing"]
discord = ["80351110224678912"]
[[destinations]]
name = "billing"
provider = "discord"
webhook_url = "https://discord.com/api/webhooks/{HOOK}/whtoken"
api_base = "{discord}/api"
interactive = true
[[routes]]
events = ["*"]
to = ["billing"]
"#,
                key_file = key_file.display().to_string(),
                db = dir.join("data/stripe-chat.db").display().to_string(),
                public = hex(key().verifying_key().as_bytes()),
            ),
        )
        .expect("config");
        path
    }

    async fn discord_mock() -> MockServer {
        let discord = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/api/webhooks/{HOOK}/whtoken")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({ "id": MESSAGE, "channel_id": DISCORD_CHANNEL })),
            )
            .mount(&discord)
            .await;
        Mock::given(method("PATCH"))
            .and(path_regex("^/api/webhooks/"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": MESSAGE })))
            .mount(&discord)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(format!("^/api/webhooks/{APP}/")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "1" })))
            .mount(&discord)
            .await;
        discord
    }

    /// Posts a Discord interaction, signed at `timestamp` with `key`; the status and body.
    async fn interact(
        server: &Server,
        payload: &Value,
        key: &SigningKey,
        timestamp: i64,
    ) -> (u16, Value) {
        let body = payload.to_string();
        let mut signed = timestamp.to_string().into_bytes();
        signed.extend_from_slice(body.as_bytes());
        let signature = hex(&key.sign(&signed).to_bytes());
        let response = reqwest::Client::new()
            .post(server.url("/interactions/discord"))
            .header("Content-Type", "application/json")
            .header("X-Signature-Timestamp", timestamp.to_string())
            .header("X-Signature-Ed25519", signature)
            .body(body)
            .send()
            .await
            .expect("post");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_signed_discord_click_and_confirmation_retry_the_payment_once_and_edit_the_message() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (event, invoice) = invoice_failed();
        let discord = discord_mock().await;
        let stripe = stripe_mock(&invoice).await;
        let config = config(dir.path(), &discord.uri(), &stripe.uri());
        let server = Server::start(&config);
        let http = reqwest::Client::new();

        let (status, pong) = interact(
            &server,
            &json!({ "type": 1, "id": "1", "application_id": APP, "token": "t" }),
            &key(),
            now(),
        )
        .await;
        assert_eq!((status, pong), (200, json!({ "type": 1 })));
        let forged = SigningKey::from_bytes(&[8u8; 32]);
        let (status, _) = interact(&server, &json!({ "type": 1 }), &forged, now()).await;
        assert_eq!(status, 401);
        let (status, _) = interact(&server, &json!({ "type": 1 }), &key(), now() - 301).await;
        assert_eq!(status, 401, "a replay outside the 300 s window");

        assert_eq!(
            post_signed(&http, &server.url("/webhooks/stripe"), &event).await,
            Ok(200)
        );
        let hook = format!("/api/webhooks/{HOOK}/whtoken");
        let posted = wait_for(&discord, &hook, |_| true).await;
        let token = format!("sc:retry_payment:invoice:{invoice}");
        assert!(
            posted["components"].to_string().contains(&token),
            "{posted}"
        );
        Mock::given(method("GET"))
            .and(path(format!("{hook}/messages/{MESSAGE}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": MESSAGE, "embeds": posted["embeds"], "components": posted["components"]
            })))
            .mount(&discord)
            .await;

        let slack = http
            .post(server.url("/interactions/slack"))
            .body("payload=%7B%7D")
            .send()
            .await
            .expect("post");
        assert_eq!(
            slack.status().as_u16(),
            404,
            "no [interactions.slack]: no endpoint"
        );
        let stranger = json!({
            "type": 3, "id": "1190000000000000099", "application_id": APP, "token": "itoken9",
            "channel_id": DISCORD_CHANNEL, "member": { "user": { "id": "99999999999999999" } },
            "message": { "id": MESSAGE, "flags": 0 },
            "data": { "custom_id": token, "component_type": 2 }
        });
        let (status, denied) = interact(&server, &stranger, &key(), now()).await;
        assert_eq!(
            (
                status,
                denied["type"].as_u64(),
                denied["data"]["flags"].as_u64()
            ),
            (200, Some(4), Some(64))
        );
        assert!(
            denied["data"]["content"]
                .as_str()
                .unwrap_or_default()
                .contains("not set up to act"),
            "{denied}"
        );

        let press = json!({
            "type": 3, "id": "1190000000000000001", "application_id": APP, "token": "itoken1",
            "channel_id": DISCORD_CHANNEL, "guild_id": "1170000000000000001",
            "member": { "user": { "id": "80351110224678912", "username": "ana" } },
            "message": { "id": MESSAGE, "flags": 0, "embeds": posted["embeds"], "components": posted["components"] },
            "data": { "custom_id": token, "component_type": 2 }
        });
        let (status, answer) = interact(&server, &press, &key(), now()).await;
        assert_eq!((status, answer), (200, json!({ "type": 6 })));
        let prompt = wait_for(&discord, &format!("/api/webhooks/{APP}/itoken1"), |_| true).await;
        assert_eq!(prompt["flags"], 64);
        assert!(
            prompt["content"]
                .as_str()
                .unwrap_or_default()
                .starts_with("Retry the payment of 398.00 USD"),
            "{prompt}"
        );
        let confirm = prompt["components"][0]["components"][0]["custom_id"]
            .as_str()
            .expect("confirm")
            .to_owned();
        assert!(confirm.starts_with("sc:confirm:"), "{prompt}");

        let confirm_click = json!({
            "type": 3, "id": "1190000000000000002", "application_id": APP, "token": "itoken2",
            "channel_id": DISCORD_CHANNEL, "guild_id": "1170000000000000001",
            "member": { "user": { "id": "80351110224678912" } },
            "message": { "id": "1200000000000000009", "flags": 64,
                "interaction_metadata": { "id": "1190000000000000001", "type": 3, "interacted_message_id": MESSAGE } },
            "data": { "custom_id": confirm, "component_type": 2 }
        });
        let at = now();
        let (status, answer) = interact(&server, &confirm_click, &key(), at).await;
        assert_eq!((status, answer), (200, json!({ "type": 6 })));
        let (status, answer) = interact(&server, &confirm_click, &key(), at).await;
        assert_eq!(
            (status, answer),
            (200, json!({ "type": 6 })),
            "a replay is acknowledged"
        );
        let (status, _) = interact(&server, &confirm_click, &key(), at + 1).await;
        assert_eq!(
            status, 200,
            "a repeated interaction id is acknowledged and not acted on"
        );

        let edited = wait_for(&discord, &format!("{hook}/messages/{MESSAGE}"), |b| {
            b["content"]
                .as_str()
                .is_some_and(|c| c.starts_with("Payment retried by ana"))
        })
        .await;
        assert_eq!(edited["embeds"], posted["embeds"], "the embeds stay");
        assert!(
            edited["components"].to_string().contains(&token),
            "the buttons stay"
        );
        let pays = received(&stripe, &format!("/v1/invoices/{invoice}/pay")).await;
        assert_eq!(pays.len(), 1, "exactly one Stripe call");
        assert!(pays[0].headers.get("idempotency-key").is_some());
        let text = server.metrics().await;
        assert_eq!(
            metric(
                &text,
                "stripe_chat_interactions_refused_total{platform=\"discord\",reason=\"bad_signature\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            metric(
                &text,
                "stripe_chat_interactions_refused_total{platform=\"discord\",reason=\"replayed\"}"
            ),
            Some(1.0)
        );
        drop(server);
        stripe.verify().await;
    }
}

#[test]
fn slack_manifest_prints_the_app_with_its_bot_scopes_and_interactivity_url() {
    let run = |url: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_stripe-chat"))
            .args(["slack-manifest", "--url", url])
            .output()
            .expect("runs")
    };
    let out = run("https://chat.example.com/");
    assert!(out.status.success());
    let manifest: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        manifest["settings"]["interactivity"]["request_url"],
        "https://chat.example.com/interactions/slack"
    );
    assert_eq!(manifest["settings"]["interactivity"]["is_enabled"], true);
    assert_eq!(
        manifest["oauth_config"]["scopes"]["bot"],
        json!(["chat:write", "channels:history", "groups:history"])
    );
    assert!(manifest["features"]["bot_user"]["display_name"].is_string());
    assert_eq!(run("http://chat.example.com").status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_admin_listener_metrics_leave_the_public_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = support::config(dir.path(), "admin_listen = \"127.0.0.1:0\"");
    let server = Server::start(&config);
    let mut admin = None;
    for _ in 0..100 {
        admin = server
            .log_lines()
            .iter()
            .find_map(|l| l["fields"]["admin"].as_str().map(str::to_owned));
        if admin.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let admin = admin.expect("the admin listener's address is logged");
    let public = reqwest::get(server.url("/metrics")).await.expect("get");
    assert_eq!(public.status().as_u16(), 404);
    let health = reqwest::get(server.url("/healthz")).await.expect("get");
    assert_eq!(health.status().as_u16(), 200);
    let metrics = reqwest::get(format!("http://{admin}/metrics"))
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("stripe_chat_webhooks_received_total"));
}

//! `demo --serve`'s action: a signed Slack click on the sample payment failure goes through the
//! real service — the signature check, the person's role, a private confirmation, one call to a
//! local stand-in for Stripe with its idempotency key, the message's status line and the audit
//! log — and each step is printed. Slack and Stripe are played by a small server on loopback;
//! nothing leaves the machine.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use stripe_chat::server::config::ServiceConfig;
use stripe_chat::slack::interaction::SlackVerifier;

use super::demo::{DEMO_SECRET, DemoError};
use super::{ops, samples};

/// The Slack app's signing secret in the demonstration.
const SLACK_SIGNING_SECRET: &str = "demo-slack-signing-secret";
/// The channel the demonstration's Slack destination posts to.
const CHANNEL: &str = "C0DEMO";
/// The person who clicks: in `[[people]]` as ana, with the billing role.
const TEAM: &str = "T0DEMO";
const USER: &str = "U0DEMOANA";

/// What the stand-ins for Slack and Stripe were sent.
#[derive(Default)]
struct Seen {
    ts: String,
    posted: Vec<Value>,
    updated: Vec<Value>,
    answered: Vec<(String, Value)>,
    paid: Vec<(String, Option<String>)>,
}

type Shared = Arc<Mutex<Seen>>;

fn seen<T>(shared: &Shared, read: impl FnOnce(&mut Seen) -> T) -> T {
    let mut guard = shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    read(&mut guard)
}

/// A JSON answer.
fn answer(body: Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A JSON request body (Slack's client sends JSON), or `null`.
fn parsed(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

/// Slack's Web API and response URLs under `/slack`, Stripe's API under `/v1`.
fn stand_ins(shared: Shared) -> Router {
    Router::new()
        .route(
            "/slack/chat.postMessage",
            post(|State(s): State<Shared>, body: Bytes| async move {
                let ts = seen(&s, |seen| {
                    seen.posted.push(parsed(&body));
                    seen.ts.clone()
                });
                answer(json!({ "ok": true, "channel": CHANNEL, "ts": ts }))
            }),
        )
        .route(
            "/slack/chat.update",
            post(|State(s): State<Shared>, body: Bytes| async move {
                let ts = seen(&s, |seen| {
                    seen.updated.push(parsed(&body));
                    seen.ts.clone()
                });
                answer(json!({ "ok": true, "channel": CHANNEL, "ts": ts }))
            }),
        )
        .route(
            "/slack/conversations.history",
            get(|State(s): State<Shared>| async move {
                let messages: Vec<Value> = seen(&s, |seen| {
                    seen.posted
                        .last()
                        .map(|m| json!({ "ts": seen.ts, "text": m["text"], "blocks": m["blocks"] }))
                        .into_iter()
                        .collect()
                });
                answer(json!({ "ok": true, "messages": messages }))
            }),
        )
        .route(
            "/slack/respond/{id}",
            post(
                |State(s): State<Shared>, UrlPath(id): UrlPath<String>, body: Bytes| async move {
                    seen(&s, |seen| seen.answered.push((id, parsed(&body))));
                    answer(json!({ "ok": true }))
                },
            ),
        )
        .route(
            "/v1/invoices/{id}",
            get(|UrlPath(id): UrlPath<String>| async move {
                answer(json!({
                    "id": id, "object": "invoice", "number": "DEMO-0042", "customer": "cus_demo",
                    "customer_name": "Acme Corp", "status": "open",
                    "collection_method": "charge_automatically", "amount_due": 39800,
                    "amount_remaining": 39800, "currency": "usd", "livemode": false
                }))
            }),
        )
        .route(
            "/v1/invoices/{id}/pay",
            post(
                |State(s): State<Shared>, UrlPath(id): UrlPath<String>, headers: HeaderMap| async move {
                    let key = headers
                        .get("idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    seen(&s, |seen| seen.paid.push((id.clone(), key)));
                    answer(json!({ "id": id, "object": "invoice", "status": "paid" }))
                },
            ),
        )
        .with_state(shared)
}

fn config(data_dir: &Path, stand_in: SocketAddr) -> Result<ServiceConfig, DemoError> {
    let text = format!(
        r#"[server]
listen = "127.0.0.1:0"
[stripe]
webhook_secrets = ["{DEMO_SECRET}"]
api_key_env = "STRIPE_CHAT_DEMO_API_KEY"
api_base = "http://{stand_in}/"
[store]
sqlite = {db:?}
[interactions.slack]
signing_secret = "{SLACK_SIGNING_SECRET}"
[[roles]]
name = "billing"
actions = ["retry_payment", "send_dunning_email", "mark_contacted", "assign"]
max_amount = {{ usd = 1000.0 }}
[[people]]
name = "ana"
roles = ["billing"]
slack = ["{TEAM}/{USER}"]
[[destinations]]
name = "billing"
provider = "slack"
token = "xoxb-demo"
channel = "{CHANNEL}"
api_base = "http://{stand_in}/slack"
[[routes]]
events = ["invoice.payment_failed"]
to = ["billing"]
"#,
        db = data_dir.join("actions.db").display().to_string(),
    );
    ServiceConfig::from_toml_with_env(&text, demo_env)
        .map_err(|e| DemoError::Service(e.to_string()))
}

/// The environment the demonstration's service sees: a test-mode key for the stand-in Stripe.
fn demo_env(name: &str) -> Option<String> {
    (name == "STRIPE_CHAT_DEMO_API_KEY").then(|| "rk_test_demo".to_owned())
}

/// Waits up to 10 s for `found` to give something.
async fn wait<T>(what: &str, mut found: impl FnMut() -> Option<T>) -> Result<T, DemoError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = found() {
            return Ok(value);
        }
        if Instant::now() > deadline {
            return Err(DemoError::Service(format!("no {what} within 10 s")));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The buttons of a Block Kit message, in order.
fn buttons(blocks: &Value) -> Vec<&Value> {
    blocks
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["elements"].as_array())
        .flatten()
        .filter(|e| e["type"] == "button")
        .collect()
}

/// Posts a Slack interaction, signed as Slack signs it.
async fn click(base: &str, payload: &Value) -> Result<u16, DemoError> {
    let body = serde_urlencoded::to_string([("payload", payload.to_string())])
        .map_err(|e| DemoError::Service(format!("the click: {e}")))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let signature = SlackVerifier::new(SLACK_SIGNING_SECRET).sign(now, body.as_bytes());
    let answer = reqwest::Client::new()
        .post(format!("{base}/interactions/slack"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Slack-Request-Timestamp", now.to_string())
        .header("X-Slack-Signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| DemoError::Service(format!("the click: {e}")))?;
    Ok(answer.status().as_u16())
}

fn interaction(
    stand_in: SocketAddr,
    id: &str,
    ts: &str,
    message: Option<&Value>,
    button: &Value,
) -> Value {
    let mut payload = json!({
        "type": "block_actions",
        "trigger_id": format!("demo-{id}"),
        "user": { "id": USER, "team_id": TEAM, "username": "ana" },
        "team": { "id": TEAM },
        "channel": { "id": CHANNEL },
        "container": { "type": "message", "message_ts": ts, "channel_id": CHANNEL, "is_ephemeral": message.is_none() },
        "response_url": format!("http://{stand_in}/slack/respond/{id}"),
        "actions": [{ "action_id": button["action_id"], "value": button["value"], "type": "button" }]
    });
    if let Some(message) = message {
        payload["message"] =
            json!({ "ts": ts, "text": message["text"], "blocks": message["blocks"] });
    }
    payload
}

/// Runs the action demonstration, printing each step to `out`.
pub(crate) async fn act(data_dir: &Path, out: &mut impl Write) -> Result<(), DemoError> {
    let service_error = |e: &dyn std::fmt::Display| DemoError::Service(e.to_string());
    let shared: Shared = Arc::default();
    let ts = format!(
        "{}.000100",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    );
    seen(&shared, |seen| seen.ts.clone_from(&ts));
    let stand_in_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| service_error(&e))?;
    let stand_in = stand_in_listener
        .local_addr()
        .map_err(|e| service_error(&e))?;
    let stand_ins =
        tokio::spawn(axum::serve(stand_in_listener, stand_ins(Arc::clone(&shared))).into_future());

    let config = config(data_dir, stand_in)?;
    let (service, store) = ops::start_service(&config, &demo_env)
        .await
        .map_err(|e| service_error(&e))?;
    let base = format!("http://{}", service.local_addr());
    writeln!(
        out,
        "\nActing from chat: a Slack click on the payment failure, through the same service (Slack and Stripe played on http://{stand_in}):"
    )?;

    let result = async {
        let raw = samples::sample("invoice.payment_failed")
            .ok_or_else(|| DemoError::Service("no invoice.payment_failed sample".into()))?;
        let event = samples::fresh(raw).map_err(|e| service_error(&e))?;
        ops::send_signed(&format!("{base}/webhooks/stripe"), DEMO_SECRET, &event)
            .await
            .map_err(|e| service_error(&e))?;
        let message = wait("Slack message", || {
            seen(&shared, |s| s.posted.last().cloned())
        })
        .await?;
        let retry = buttons(&message["blocks"])
            .into_iter()
            .find(|b| {
                b["action_id"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("sc:retry_payment:"))
            })
            .cloned()
            .ok_or_else(|| DemoError::Service("the message has no Retry payment button".into()))?;
        let labels: Vec<&str> = buttons(&message["blocks"])
            .iter()
            .filter_map(|b| b["text"]["text"].as_str())
            .collect();
        writeln!(
            out,
            "  posted to Slack   {}  [{}]",
            message["text"].as_str().unwrap_or_default(),
            labels.join("] [")
        )?;

        // ana presses Retry payment: it moves money, so she is asked privately to confirm.
        let status = click(
            &base,
            &interaction(stand_in, "press", &ts, Some(&message), &retry),
        )
        .await?;
        writeln!(
            out,
            "  ana clicks        Retry payment ({})  → {status}, answered at once",
            retry["action_id"].as_str().unwrap_or_default()
        )?;
        let prompt = wait("confirmation", || {
            seen(&shared, |s| {
                s.answered
                    .iter()
                    .find(|(id, _)| id == "press")
                    .map(|(_, b)| b.clone())
            })
        })
        .await?;
        writeln!(
            out,
            "  only ana sees     {}",
            prompt["text"].as_str().unwrap_or_default()
        )?;
        let confirm = buttons(&prompt["blocks"])
            .into_iter()
            .find(|b| {
                b["action_id"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("sc:confirm:"))
            })
            .cloned()
            .ok_or_else(|| {
                DemoError::Service(format!(
                    "the private answer has no confirm button: {}",
                    prompt["text"]
                ))
            })?;

        // She confirms: one call to Stripe, whatever happens next.
        let status = click(
            &base,
            &interaction(stand_in, "confirm", &ts, None, &confirm),
        )
        .await?;
        writeln!(out, "  ana confirms      → {status}")?;
        let update = wait("status line", || {
            seen(&shared, |s| {
                s.updated
                    .iter()
                    .find(|u| u["blocks"].to_string().contains("sc_status"))
                    .cloned()
            })
        })
        .await?;
        let (invoice, key) = seen(&shared, |s| s.paid.first().cloned())
            .ok_or_else(|| DemoError::Service("Stripe was not called".into()))?;
        writeln!(
            out,
            "  Stripe            POST /v1/invoices/{invoice}/pay  Idempotency-Key: {}",
            key.as_deref().unwrap_or("none")
        )?;
        let status_line = update["blocks"]
            .as_array()
            .and_then(|b| b.last())
            .map(|b| {
                b["elements"][0]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .unwrap_or_default();
        writeln!(out, "  everyone sees     {status_line}")?;
        Ok::<(), DemoError>(())
    }
    .await;
    let _ = service.shutdown(Duration::from_secs(5)).await;
    stand_ins.abort();
    result?;

    let log = stripe_chat::audit::AuditLog::new(store, config.audit.name.clone());
    let records = log.records(1).await.map_err(|e| service_error(&e))?;
    let report = log.verify(None).await.map_err(|e| service_error(&e))?;
    writeln!(
        out,
        "  audit log         {} records, hash chain {}:",
        records.len(),
        match report.problem {
            None => "intact".to_owned(),
            Some(problem) => format!("broken: {problem}"),
        }
    )?;
    for record in records.iter().rev().take(4).rev() {
        if let Ok(entry) = record.entry() {
            let who = entry
                .actor
                .person
                .as_deref()
                .unwrap_or(&entry.actor.identity);
            writeln!(
                out,
                "    #{} {who} {} {} {}",
                record.seq,
                entry.action,
                entry.object.as_deref().unwrap_or(""),
                entry.decision.as_str()
            )?;
        }
    }
    writeln!(
        out,
        "  (stripe-chat audit verify --config FILE checks a service's log; docs/security.md says who may do what)"
    )?;
    Ok(())
}

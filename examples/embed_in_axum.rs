//! Run with `cargo run --example embed_in_axum`, then POST signed events to
//! `http://127.0.0.1:3000/stripe/webhooks/stripe` (try `stripe-chat send-test-event --url
//! http://127.0.0.1:3000/stripe/webhooks/stripe --secret whsec_demo payment_intent.succeeded`).
//!
//! The whole stripe-chat service inside an app that has routes of its own: the webhook router
//! mounted under `/stripe`, and the delivery workers beside it, running the team's own code — a
//! transformer for large payments registered beside the built-ins, and a chat provider for the
//! team's in-house pager. Messages still go through the store, the retries and the destination's
//! redaction policy, as in `stripe-chat serve`. With `--check` it starts on a free port, posts one
//! signed event, waits until the pager has its message and exits (what `cargo test --example
//! embed_in_axum` runs). Ctrl-C stops it cleanly: the app stops accepting, the workers finish
//! the delivery in flight, and it says so.
#![forbid(unsafe_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use serde_json::json;
use stripe_chat::events::StripeEvent;
use stripe_chat::message::{
    Capabilities, ChatMessage, ChatProvider, ConfigError, DeliveryError, IdempotencyKey,
    MessageRef, ProviderFactory, RenderError, Renderer, Settings, Severity, async_trait,
};
use stripe_chat::server::config::ServiceConfig;
use stripe_chat::server::http::WebhookState;
use stripe_chat::server::metrics::Metrics;
use stripe_chat::server::worker::Delivery;
use stripe_chat::store::{MemoryStore, Store};
use stripe_chat::transform::{Registry, TransformError, Transformer};

/// The endpoint secret of this example's webhook.
const SECRET: &str = "whsec_demo";

/// The team's rule: payments from 100.00 up are worth paging sales; smaller ones are noise.
struct LargePayments {
    /// Minimum amount in the minor unit.
    threshold: i64,
}

impl Transformer for LargePayments {
    fn transform(&self, event: &StripeEvent) -> Result<Option<ChatMessage>, TransformError> {
        let Some(payment) = event.payment_intent() else {
            return Err(TransformError::unexpected(
                event.event_type(),
                "not a payment intent",
            ));
        };
        if payment.amount().unwrap_or(0) < self.threshold {
            return Ok(None);
        }
        let amount = payment
            .money("amount")
            .map(|m| m.to_string())
            .unwrap_or_default();
        let mut message = ChatMessage::new(format!("Large payment: {amount}"))
            .summary("A payment above the sales threshold just succeeded.")
            .severity(Severity::Success)
            .timestamp(event.created())
            .source(event.source());
        if let Some(subject) = event.object_ref() {
            message = message
                .link("Payment in Stripe", event.dashboard().object(&subject))
                .thread(subject);
        }
        Ok(Some(message))
    }
}

/// The team's in-house pager, as a chat provider: it shows a title and a summary. Here it keeps
/// the bodies it is sent in memory; a real one would POST them to the pager's API.
#[derive(Debug, Default, Clone)]
struct Pager {
    sent: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Pager {
    /// What the pager has been sent so far.
    fn sent(&self) -> Vec<serde_json::Value> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Renderer for Pager {
    fn platform(&self) -> &str {
        "pager"
    }

    fn render(&self, message: &ChatMessage) -> Result<serde_json::Value, RenderError> {
        let event = message.source.as_ref().map(|s| s.event_type.as_str());
        Ok(json!({ "title": message.title, "text": message.summary, "event": event }))
    }
}

#[async_trait]
impl ChatProvider for Pager {
    fn capabilities(&self) -> Capabilities {
        Capabilities::SEND_ONLY
    }

    async fn send_raw(
        &self,
        body: serde_json::Value,
        _thread: Option<&MessageRef>,
        _key: &IdempotencyKey,
    ) -> Result<MessageRef, DeliveryError> {
        println!("paged: {body}");
        let mut sent = self
            .sent
            .lock()
            .map_err(|_| DeliveryError::transient("pager: the inbox is poisoned"))?;
        sent.push(body);
        Ok(MessageRef::new(self.platform(), sent.len().to_string()))
    }
}

/// The pager's entry in the list of providers a configuration may name: `provider = "pager"`.
struct PagerFactory(Pager);

impl ProviderFactory for PagerFactory {
    fn name(&self) -> &str {
        "pager"
    }

    fn build(&self, _settings: &Settings<'_>) -> Result<Arc<dyn ChatProvider>, ConfigError> {
        Ok(Arc::new(self.0.clone()))
    }

    fn renderer(&self, _options: &Settings<'_>) -> Result<Box<dyn Renderer>, ConfigError> {
        Ok(Box::new(self.0.clone()))
    }
}

/// The service's settings: the built-in platforms and the pager, one registration line.
fn config(pager: &Pager) -> Result<ServiceConfig, Box<dyn std::error::Error>> {
    let providers = stripe_chat::providers().with(PagerFactory(pager.clone()));
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:3000"
[stripe]
webhook_secrets = ["{SECRET}"]
[store]
sqlite = "unused-here.db"

[[destinations]]
name = "sales-pager"
provider = "pager"

[[routes]]
events = ["payment_intent.succeeded"]
to = ["sales-pager"]
"#
    );
    Ok(ServiceConfig::from_toml_with_providers(
        &text,
        |name| std::env::var(name).ok(),
        &providers,
    )?)
}

/// The built-in transformers, and ours for successful payments.
fn transformers() -> Registry {
    let mut registry = Registry::with_builtins();
    registry.register(
        "payment_intent.succeeded",
        LargePayments { threshold: 10_000 },
    );
    registry
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let check = std::env::args().any(|a| a == "--check");
    if let Some(paged) = run(Pager::default(), check).await? {
        println!("the pager got: {}", paged["title"]);
    }
    Ok(())
}

/// Serves the app; with `check`, on a free port, until one event has reached `pager`, and
/// returns what it got.
async fn run(
    pager: Pager,
    check: bool,
) -> Result<Option<serde_json::Value>, Box<dyn std::error::Error>> {
    let config = config(&pager)?;

    // Your store: SQLite in production (stripe_chat::server::service::open_store), memory here.
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let metrics = Arc::new(Metrics::default());
    let wake = Arc::new(tokio::sync::Notify::new());
    let state = WebhookState::with_parts(
        &config,
        Arc::clone(&store),
        Arc::clone(&metrics),
        Arc::clone(&wake),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut workers = Delivery::builder(&config)
        .transformers(transformers())
        .build(store, metrics, wake)
        .spawn(stopped);

    // Someone else's app, with stripe-chat mounted under /stripe.
    let app = Router::new()
        .route("/", get(|| async { "my app\n" }))
        .nest("/stripe", stripe_chat::server::router(state));

    let addr = if check {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:3000"
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let url = format!("http://{}/stripe/webhooks/stripe", listener.local_addr()?);
    println!("POST Stripe webhooks to {url}; large payments page the sales team");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    if check {
        let paged = post_and_wait(&url, &pager).await;
        let _ = stop.send(true);
        while workers.join_next().await.is_some() {}
        server.abort();
        return paged.map(Some);
    }
    // Ctrl-C: stop accepting, let the workers finish what they are delivering, then exit.
    tokio::select! {
        served = server => served??,
        interrupted = tokio::signal::ctrl_c() => {
            interrupted?;
            println!("Ctrl-C: stopping");
        }
    }
    let _ = stop.send(true);
    while workers.join_next().await.is_some() {}
    println!("stopped: every delivery in flight finished");
    Ok(None)
}

/// Posts a signed `payment_intent.succeeded` of 398.00 USD to `url` and waits for its page.
async fn post_and_wait(
    url: &str,
    pager: &Pager,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    const EVENT: &[u8] =
        include_bytes!("../tests/fixtures/events/payment_intent.succeeded@2026-09-30.endive.json");
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let signature = stripe_chat::events::sign(EVENT, SECRET, i64::try_from(now)?);
    let response = reqwest::Client::new()
        .post(url)
        .header("Stripe-Signature", signature)
        .body(EVENT)
        .send()
        .await?;
    if !response.status().is_success() {
        return Err(format!("the webhook answered {}", response.status()).into());
    }
    for _ in 0..200 {
        if let Some(message) = pager.sent().into_iter().next() {
            return Ok(message);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err("nothing reached the pager within 5 s".into())
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_signed_event_reaches_the_custom_provider_through_the_custom_transformer() {
        let pager = super::Pager::default();
        let paged = super::run(pager.clone(), true)
            .await
            .expect("the embedded service delivers")
            .expect("a message");
        assert_eq!(paged["title"], "Large payment: 398.00 USD");
        assert_eq!(paged["event"], "payment_intent.succeeded");
        assert_eq!(pager.sent().len(), 1, "paged once");
    }
}

//! Run with `cargo run --example embed_in_axum`, then POST signed events to
//! `http://127.0.0.1:3000/stripe/webhooks/stripe` (try `stripe-chat send-test-event --url
//! http://127.0.0.1:3000/stripe/webhooks/stripe --secret whsec_demo invoice.paid`).
//!
//! Mounts stripe-chat's webhook router under `/stripe` inside an app that has routes of its own,
//! and runs the delivery workers beside it. Events go to a JSON-lines file in a temporary
//! directory. With `--check` it starts on a free port, sends one signed event, waits for its
//! message and exits (what `cargo test --example embed_in_axum` runs).
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use stripe_chat::server::config::ServiceConfig;
use stripe_chat::server::http::WebhookState;
use stripe_chat::server::metrics::Metrics;
use stripe_chat::server::worker::Delivery;
use stripe_chat::store::{MemoryStore, Store};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    run(std::env::args().any(|a| a == "--check")).await
}

/// Serves the app; with `check`, on a free port, until one event has been delivered.
async fn run(check: bool) -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("stripe-chat-embed-{}", std::process::id()));
    let messages = dir.join("messages.jsonl");
    let config = ServiceConfig::from_toml(&format!(
        r#"
[server]
listen = "127.0.0.1:3000"
[stripe]
webhook_secrets = ["whsec_demo"]
[store]
sqlite = "unused-here.db"
[[destinations]]
name = "log"
provider = "file"
path = {:?}
[[routes]]
events = ["*"]
to = ["log"]
"#,
        messages.display().to_string()
    ))?;

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
    let mut workers = Delivery::new(&config, store, metrics, wake).spawn(stopped);

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
    println!(
        "POST Stripe webhooks to {url}; messages go to {}",
        messages.display()
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    if check {
        let body = include_str!("../tests/fixtures/events/invoice.paid@2024-06-20.json");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
        let signature =
            stripe_chat::events::sign(body.as_bytes(), "whsec_demo", now.as_secs().try_into()?);
        let status = reqwest::Client::new()
            .post(&url)
            .header("Stripe-Signature", signature)
            .body(body)
            .send()
            .await?
            .status();
        assert_eq!(status, 200);
        let mut delivered = false;
        for _ in 0..200 {
            if std::fs::read_to_string(&messages).is_ok_and(|t| !t.is_empty()) {
                delivered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(delivered, "the message reached the file");
        println!("delivered: {}", std::fs::read_to_string(&messages)?.trim());
        let _ = stop.send(true);
        while workers.join_next().await.is_some() {}
        server.abort();
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }
    server.await??;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_signed_event_posted_under_the_mount_point_reaches_the_destination() {
        super::run(true)
            .await
            .expect("the embedded service delivers");
    }
}

//! `stripe-chat demo`: bundled sample events, signed and verified like real webhooks, then
//! transformed, redacted and rendered for each platform; or, with `--serve`, fed to the real
//! service. Needs no account and no network beyond loopback.

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use stripe_chat::events::{StripeEvent, WebhookVerifier, sign};
use stripe_chat::{Pipeline, RenderConfig};

use super::{ops, samples};

/// The signing secret the demo uses for its sample webhooks.
pub(crate) const DEMO_SECRET: &str = "whsec_demo";

/// The bundled sample events: (file name, raw JSON).
pub(crate) const SAMPLES: &[(&str, &str)] = &[
    (
        "invoice.payment_failed",
        include_str!("../../tests/fixtures/events/invoice.payment_failed@2026-09-30.endive.json"),
    ),
    (
        "charge.dispute.created",
        include_str!("../../tests/fixtures/events/charge.dispute.created@2026-09-30.endive.json"),
    ),
    (
        "invoice.paid",
        include_str!("../../tests/fixtures/events/invoice.paid@2024-06-20.json"),
    ),
];

/// Why the demonstration stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum DemoError {
    /// A bundled sample did not go through the pipeline.
    #[error("bundled sample {name}: {problem}")]
    Sample {
        /// The sample.
        name: String,
        /// What went wrong.
        problem: String,
    },
    /// Writing the output failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The in-process service could not start or did not deliver in time.
    #[error("the demo service: {0}")]
    Service(String),
}

/// Runs every sample through verify → parse → transform → redact → render for `providers` (their
/// names), writing each body to `out` under a heading.
pub(crate) fn run(providers: &[impl AsRef<str>], out: &mut impl Write) -> Result<(), DemoError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let verifier = WebhookVerifier::new([DEMO_SECRET]);
    let config = RenderConfig::default();
    let pipeline = Pipeline::from_config(&config.redaction);
    for (name, raw) in SAMPLES {
        let fail = |problem: String| DemoError::Sample {
            name: (*name).to_owned(),
            problem,
        };
        // Times relative to now: "retries in 3 days", not "44 days ago".
        let raw = &samples::fresh(raw).map_err(|e| fail(e.to_string()))?;
        let header = sign(raw.as_bytes(), DEMO_SECRET, now);
        verifier
            .verify_at(raw.as_bytes(), Some(&header), now)
            .map_err(|e| fail(e.to_string()))?;
        let event = StripeEvent::from_slice(raw.as_bytes()).map_err(|e| fail(e.to_string()))?;
        writeln!(
            out,
            "# {name} ({}) — signature verified, redaction level: public",
            event.id()
        )?;
        for provider in providers.iter().map(AsRef::as_ref) {
            let body = stripe_chat::render(&pipeline, &config, provider, &event)
                .map_err(|e| fail(e.to_string()))?;
            writeln!(out, "## {provider}")?;
            match body {
                Some(body) => {
                    serde_json::to_writer_pretty(&mut *out, &body).map_err(io::Error::from)?;
                    writeln!(out)?;
                }
                None => writeln!(out, "(no message: the transformer declined this event)")?,
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

/// The service demonstration: starts the real service in process on `127.0.0.1` (a free port)
/// with the embedded default (SQLite at `data_dir/stripe-chat.db`, the `file` destination at
/// `data_dir/messages.jsonl`), POSTs the bundled samples to it over HTTP, signed with
/// [`DEMO_SECRET`] and each one twice as Stripe's retries would, then a dispute's closure that
/// updates the dispute's message in place; waits for delivery and prints each line written.
/// Every run uses fresh event ids, so reruns append new lines.
///
/// With `keep`, it listens on `listen` (default `127.0.0.1:8787`) and keeps serving after the
/// samples until SIGINT or SIGTERM, saying how to send more; without it, on a free port, and it
/// stops once they are delivered.
pub(crate) async fn serve(
    data_dir: &std::path::Path,
    keep: bool,
    listen: Option<std::net::SocketAddr>,
    out: &mut impl Write,
) -> Result<(), DemoError> {
    use std::sync::Arc;
    use std::time::Duration;

    let service_error = |e: &dyn std::fmt::Display| DemoError::Service(e.to_string());
    let db = data_dir.join("stripe-chat.db");
    let file = data_dir.join("messages.jsonl");
    let listen = listen.unwrap_or_else(|| {
        let port = if keep { DEMO_PORT } else { 0 };
        std::net::SocketAddr::from(([127, 0, 0, 1], port))
    });
    let text = format!(
        "[server]\nlisten = \"{listen}\"\n[stripe]\nwebhook_secrets = [\"{DEMO_SECRET}\"]\n[store]\nsqlite = {db:?}\n[[destinations]]\nname = \"log\"\nprovider = \"file\"\npath = {file:?}\nthread_replies = true\n[[routes]]\nevents = [\"*\"]\nto = [\"log\"]\n",
        db = db.display().to_string(),
        file = file.display().to_string(),
    );
    let config = stripe_chat::server::config::ServiceConfig::from_toml(&text)
        .map_err(|e| service_error(&e))?;
    // The port first: one in use fails alone, before the store is opened.
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .map_err(|e| DemoError::Service(format!("cannot listen on {listen}: {e}")))?;
    let store = stripe_chat::server::service::open_store(&config.store)
        .await
        .map_err(|e| service_error(&e))?;
    let service = stripe_chat::server::service::Service::start(&config, Arc::new(store), listener)
        .map_err(|e| service_error(&e))?;
    let url = format!("http://{}/webhooks/stripe", service.local_addr());
    writeln!(
        out,
        "stripe-chat service listening on http://{} (store: {}, destination \"log\": file {})\n",
        service.local_addr(),
        db.display(),
        file.display()
    )?;

    let mut posts: Vec<(&str, String)> = Vec::new();
    for (name, raw) in SAMPLES {
        let fresh = samples::fresh(raw).map_err(|e| service_error(&e))?;
        posts.push((name, fresh.clone()));
        posts.push((name, fresh));
    }
    if let Some(closed) = samples::sample("charge.dispute.closed") {
        posts.push((
            "charge.dispute.closed",
            samples::fresh(closed).map_err(|e| service_error(&e))?,
        ));
    }
    let mut ids = Vec::new();
    for (name, body) in &posts {
        let id = StripeEvent::from_slice(body.as_bytes())
            .map(|e| e.id().to_owned())
            .map_err(|e| service_error(&e))?;
        let (status, answer) = ops::send_signed(&url, DEMO_SECRET, body)
            .await
            .map_err(|e| service_error(&e))?;
        let what = if answer.contains("\"duplicate\":true") {
            "duplicate, stored once"
        } else {
            "stored"
        };
        writeln!(
            out,
            "POST /webhooks/stripe  {name:<24} {id}  → {status} ({what})"
        )?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    // Wait until every event has been delivered (or found to have nothing to say).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let lines = loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let ours: Vec<stripe_chat::file::Record> = stripe_chat::file::records(&text)
            .filter_map(Result::ok)
            .filter(|r| {
                r.message
                    .source
                    .as_ref()
                    .is_some_and(|s| ids.contains(&s.event_id))
            })
            .collect();
        let seen = ids
            .iter()
            .filter(|id| {
                ours.iter()
                    .any(|r| r.message.source.as_ref().map(|s| &s.event_id) == Some(*id))
            })
            .count();
        if seen == ids.len() {
            // Thread replies follow their update: give them a moment.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            break stripe_chat::file::records(&text)
                .filter_map(Result::ok)
                .filter(|r| {
                    r.message
                        .source
                        .as_ref()
                        .is_some_and(|s| ids.contains(&s.event_id))
                })
                .collect::<Vec<_>>();
        }
        if std::time::Instant::now() > deadline {
            let _ = service.shutdown(Duration::from_secs(2)).await;
            return Err(DemoError::Service(format!(
                "only {seen} of {} events were delivered in 20 s",
                ids.len()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let service = if keep {
        Some(service)
    } else {
        let _ = service.shutdown(Duration::from_secs(5)).await;
        None
    };

    writeln!(
        out,
        "\n{} events acknowledged, {} lines written to {}:",
        ids.len(),
        lines.len(),
        file.display()
    )?;
    for line in &lines {
        let kind = if line.update_of.is_some() {
            "update "
        } else if line.thread_root.is_some() {
            "  reply"
        } else {
            "message"
        };
        writeln!(out, "  {kind}  {}  {}", line.id, line.message.title)?;
    }
    writeln!(
        out,
        "\nEach line is one JSON object (the redacted message and its envelope): jq . {}",
        file.display()
    )?;
    super::demo_action::act(data_dir, out).await?;
    if let Some(service) = service {
        let types: Vec<&str> = samples::SAMPLE_EVENTS.iter().map(|(t, _)| *t).collect();
        writeln!(
            out,
            "\nThe service keeps running on http://{addr} (Ctrl-C stops it). Send your own events:\n  \
             STRIPE_WEBHOOK_SECRET={DEMO_SECRET} stripe-chat send-test-event --url {url} invoice.payment_failed\n  \
             tail -f {file}\n\
             Bundled event types: {types}",
            addr = service.local_addr(),
            file = file.display(),
            types = types.join(", "),
        )?;
        out.flush()?;
        let mut signals = ops::ShutdownSignals::new().map_err(|e| service_error(&e))?;
        signals.recv().await;
        writeln!(out, "stopping: finishing deliveries in flight")?;
        let _ = service.shutdown(Duration::from_secs(5)).await;
    }
    Ok(())
}

/// The port `demo --serve --keep` listens on unless `--listen` says otherwise.
pub(crate) const DEMO_PORT: u16 = 8787;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_samples_render_for_every_platform_with_their_signature_verified() {
        let mut out = Vec::new();
        let providers = stripe_chat::providers();
        let every: Vec<&str> = providers.names().collect();
        run(&every, &mut out).expect("the demo runs");
        let text = String::from_utf8(out).expect("UTF-8");
        assert_eq!(text.matches("signature verified").count(), SAMPLES.len());
        assert!(text.contains("\"blocks\""), "Slack");
        assert!(text.contains("formatted_body"), "Matrix");
    }

    #[test]
    fn every_sample_is_a_stripe_event() {
        for (name, raw) in SAMPLES {
            assert!(StripeEvent::from_slice(raw.as_bytes()).is_ok(), "{name}");
        }
    }
}

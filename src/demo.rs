//! The built-in demonstration: bundled sample events, signed and verified like real webhooks, then
//! transformed, redacted and rendered for each platform. Needs no account and no network.
//!
//! ```
//! let mut out = Vec::new();
//! stripe_chat::demo::run(&[stripe_chat::Provider::Matrix], &mut out)?;
//! let text = String::from_utf8(out).unwrap();
//! assert!(text.contains("formatted_body"));
//! # Ok::<(), stripe_chat::demo::DemoError>(())
//! ```

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::events::{StripeEvent, WebhookVerifier, sign};
use crate::{Pipeline, Provider, RenderConfig};

/// The signing secret the demo uses for its sample webhooks.
///
/// ```
/// assert!(stripe_chat::demo::DEMO_SECRET.starts_with("whsec_"));
/// ```
pub const DEMO_SECRET: &str = "whsec_demo";

/// The bundled sample events: (file name, raw JSON).
///
/// ```
/// for (_, raw) in stripe_chat::demo::SAMPLES {
///     assert!(stripe_chat::events::StripeEvent::from_slice(raw.as_bytes()).is_ok());
/// }
/// ```
pub const SAMPLES: &[(&str, &str)] = &[
    (
        "invoice.payment_failed",
        include_str!("../tests/fixtures/events/invoice.payment_failed@2026-09-30.endive.json"),
    ),
    (
        "charge.dispute.created",
        include_str!("../tests/fixtures/events/charge.dispute.created@2026-09-30.endive.json"),
    ),
    (
        "invoice.paid",
        include_str!("../tests/fixtures/events/invoice.paid@2024-06-20.json"),
    ),
];

/// Why the demonstration stopped.
///
/// ```
/// let e = stripe_chat::demo::DemoError::Sample { name: "x".into(), problem: "y".into() };
/// assert_eq!(e.to_string(), "bundled sample x: y");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
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
}

/// Runs every sample through verify → parse → transform → redact → render for `providers`,
/// writing each body to `out` under a heading.
///
/// ```
/// let mut out = Vec::new();
/// stripe_chat::demo::run(&stripe_chat::Provider::ALL, &mut out)?;
/// assert!(String::from_utf8_lossy(&out).contains("\"blocks\""));
/// # Ok::<(), stripe_chat::demo::DemoError>(())
/// ```
pub fn run(providers: &[Provider], out: &mut impl Write) -> Result<(), DemoError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let verifier = WebhookVerifier::new([DEMO_SECRET]);
    let config = RenderConfig::default();
    let pipeline = Pipeline::from_config(&config);
    for (name, raw) in SAMPLES {
        let fail = |problem: String| DemoError::Sample {
            name: (*name).to_owned(),
            problem,
        };
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
        for provider in providers {
            let body = crate::render(&pipeline, &config, *provider, &event)
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

//! stripe-chat brings Stripe payment events into the chat rooms where support, sales and finance
//! work: verified, turned into clear messages, redacted by policy, rendered natively for Slack,
//! Microsoft Teams, Discord and Matrix.
//!
//! This crate is a facade over the workspace's crates, which you can also depend on one by one:
//!
//! | module | crate | for |
//! |---|---|---|
//! | [`events`] | `stripe-chat-events` | signature verification, version-tolerant events, money, Dashboard links |
//! | [`message`] | `stripe-chat-message` | the provider-neutral [`ChatMessage`](message::ChatMessage), the [`Renderer`] and [`ChatProvider`](message::ChatProvider) traits, the [`ProviderRegistry`] |
//! | [`transform`] | `stripe-chat-transform` | the [`Transformer`](transform::Transformer) trait, the registry, built-in transformers |
//! | [`redact`] | `stripe-chat-redact` | redaction policies (card numbers, emails, phones, addresses) |
//! | [`slack`], [`teams`], [`discord`], [`matrix`] | `stripe-chat-<platform>` | each platform's adapter: rendering and delivery |
//! | [`webhook`] | `stripe-chat-webhook` | the neutral message as signed JSON to any URL |
//! | [`file`](mod@file) | `stripe-chat-file` | one JSON line per message in a file (the embedded default destination) |
//! | [`route`] | `stripe-chat-route` | routing rules: which events go to which destinations |
//! | `server` | `stripe-chat-server` | the service: configuration, the webhook router and listener, delivery workers, metrics (feature `server`) |
//! | `store` | `stripe-chat-store` | the durable inbox and outbox (SQLite, memory) (feature `server`) |
//! | `stripe` | `stripe-chat-stripe` | the client for Stripe's API: timeouts, retries, idempotency keys, classified errors (feature `server`) |
//! | `enrich` | `stripe-chat-enrich` | what events leave out, read from Stripe within a deadline: cached, paced, behind a circuit breaker (feature `server`) |
//! | `audit` | `stripe-chat-audit` | the tamper-evident audit log: hash-chained records, signed checkpoints, verification (feature `server`) |
//! | `actions` | `stripe-chat-actions` | acting from chat: the action catalog, people and roles, confirmations and approvals, idempotency keys (feature `server`) |
//!
//! [`Pipeline`] (`stripe-chat-pipeline`) puts transform and redaction together, the one path
//! every message takes, here and in the service's workers; [`render`] adds a platform, chosen by
//! name among the [`providers`]:
//!
//! ```
//! use stripe_chat::{Pipeline, RenderConfig};
//! use stripe_chat::events::StripeEvent;
//!
//! let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"invoice.payment_failed",
//!   "created":1764000000,"livemode":false,"data":{"object":{"id":"in_1","object":"invoice",
//!   "customer_name":"Jenny 4242 4242 4242 4242 Rosen","amount_due":2000,"currency":"usd","attempt_count":1,
//!   "next_payment_attempt":1764259200}}}"#)?;
//! let config = RenderConfig::default();
//! let pipeline = Pipeline::from_config(&config.redaction);
//! let body = stripe_chat::render(&pipeline, &config, "slack", &event)?.expect("a message");
//! let text = body.to_string();
//! assert!(!text.contains("4242 4242 4242 4242"), "card numbers never reach a platform");
//! assert!(text.contains("4242"), "the last four stay visible");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Feature flags
//!
//! - `server`: the service crates, as `stripe_chat::server`, `stripe_chat::store` and
//!   `stripe_chat::stripe` (tokio, axum, SQLite, async-stripe).
//! - `cli` (default; needs `server`): the `stripe-chat` binary. A library that only verifies,
//!   transforms and renders takes `default-features = false` and builds none of the service.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use serde::Deserialize;

pub use stripe_chat_discord as discord;
pub use stripe_chat_events as events;
pub use stripe_chat_file as file;
pub use stripe_chat_matrix as matrix;
pub use stripe_chat_message as message;
pub use stripe_chat_redact as redact;
pub use stripe_chat_route as route;
pub use stripe_chat_slack as slack;
pub use stripe_chat_teams as teams;
pub use stripe_chat_transform as transform;
pub use stripe_chat_webhook as webhook;

/// Transform then redact, the one path every message takes (`stripe-chat-pipeline`).
pub use stripe_chat_pipeline::Pipeline;

use events::StripeEvent;
use message::{ProviderRegistry, RenderError, Renderer, Settings};
use redact::RedactionConfig;

#[cfg(feature = "server")]
pub use stripe_chat_actions as actions;
#[cfg(feature = "server")]
pub use stripe_chat_audit as audit;
#[cfg(feature = "server")]
pub use stripe_chat_enrich as enrich;
#[cfg(feature = "server")]
pub use stripe_chat_server as server;
#[cfg(feature = "server")]
pub use stripe_chat_store as store;
#[cfg(feature = "server")]
pub use stripe_chat_stripe as stripe;

/// The adapters stripe-chat knows, by name: what `render --provider` and a destination's
/// `provider` may name (`stripe_chat_providers::builtin`, the list the service reads too).
///
/// ```
/// let providers = stripe_chat::providers();
/// let names: Vec<&str> = providers.names().collect();
/// assert!(names.contains(&"slack") && names.contains(&"file"));
/// ```
pub fn providers() -> ProviderRegistry {
    stripe_chat_providers::builtin()
}

/// Options of `stripe-chat render` (a TOML file): redaction, and each platform's rendering
/// options in a table named after it (`[slack]`, `[teams]`, ...), which its adapter reads.
///
/// ```
/// let config: stripe_chat::RenderConfig = toml::from_str(r#"
/// [redaction]
/// level = "internal"
///
/// [slack]
/// channel = "C0123456789"
///
/// [discord]
/// interactive = true
/// "#)?;
/// assert_eq!(config.platforms["slack"]["channel"], "C0123456789");
/// config.check()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RenderConfig {
    /// The redaction policy applied before any platform sees a message.
    #[serde(default)]
    pub redaction: RedactionConfig,
    /// Each platform's rendering options, by provider name.
    #[serde(flatten)]
    pub platforms: BTreeMap<String, serde_json::Value>,
}

impl RenderConfig {
    /// Checks every platform's options: each table names a known provider, and its options are
    /// ones that provider's renderer takes.
    ///
    /// ```
    /// let config: stripe_chat::RenderConfig = toml::from_str("[slak]\nchannel = \"C1\"")?;
    /// let error = config.check().unwrap_err();
    /// assert_eq!(error.key, "slak");
    /// # Ok::<(), toml::de::Error>(())
    /// ```
    pub fn check(&self) -> Result<(), ConfigError> {
        let providers = providers();
        for name in self.platforms.keys() {
            if providers.get(name).is_none() {
                let known: Vec<&str> = providers.names().collect();
                return Err(ConfigError {
                    key: name.clone(),
                    problem: format!(
                        "not a provider's options (expected redaction, {})",
                        known.join(", ")
                    ),
                });
            }
            renderer(name, self)?;
        }
        Ok(())
    }
}

/// An option value that is not one the renderer knows.
///
/// ```
/// let e = stripe_chat::ConfigError { key: "teams.card_version".into(), problem: "must be 1.4 or 1.5".into() };
/// assert_eq!(e.to_string(), "teams.card_version: must be 1.4 or 1.5");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct ConfigError {
    /// The key in error.
    pub key: String,
    /// What is wrong with it.
    pub problem: String,
}

/// The renderer of the provider named `provider`, with `config`'s options for it.
///
/// ```
/// use stripe_chat::{renderer, RenderConfig};
/// let r = renderer("matrix", &RenderConfig::default())?;
/// assert_eq!(r.platform(), "matrix");
/// assert_eq!(renderer("irc", &RenderConfig::default()).map(drop).unwrap_err().key, "provider");
/// # Ok::<(), stripe_chat::ConfigError>(())
/// ```
pub fn renderer(provider: &str, config: &RenderConfig) -> Result<Box<dyn Renderer>, ConfigError> {
    let none = serde_json::Value::Object(serde_json::Map::new());
    // Provider names are case-insensitive everywhere: `[Slack]` holds the options of `slack`.
    let options = config
        .platforms
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(provider))
        .map_or(&none, |(_, options)| options);
    providers()
        .renderer(provider, &Settings::from_process_env(options))
        .map_err(|e| {
            let e = if e.key() == "provider" {
                e
            } else {
                e.within(provider)
            };
            ConfigError {
                key: e.key().to_owned(),
                problem: e.problem().to_owned(),
            }
        })
}

/// Why an event could not be rendered.
///
/// ```
/// let e: stripe_chat::RenderEventError = stripe_chat::ConfigError { key: "k".into(), problem: "p".into() }.into();
/// assert_eq!(e.to_string(), "k: p");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderEventError {
    /// The options are not valid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The renderer refused the message.
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// The JSON body `provider`'s adapter would send for `event`, after transform and redaction;
/// `None` when the event's transformer declined it.
///
/// ```
/// use stripe_chat::{render, Pipeline, RenderConfig};
/// let event = stripe_chat::events::StripeEvent::from_slice(br#"{"id":"evt_1","object":"event",
///   "type":"payout.paid","created":1,"data":{"object":{"id":"po_1","object":"payout"}}}"#)?;
/// let config = RenderConfig::default();
/// let body = render(&Pipeline::from_config(&config.redaction), &config, "discord", &event)?.unwrap();
/// assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render(
    pipeline: &Pipeline,
    config: &RenderConfig,
    provider: &str,
    event: &StripeEvent,
) -> Result<Option<serde_json::Value>, RenderEventError> {
    let renderer = renderer(provider, config)?;
    match pipeline.message(event) {
        Some(message) => Ok(Some(renderer.render(&message)?)),
        None => Ok(None),
    }
}

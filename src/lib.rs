//! stripe-chat brings Stripe payment events into the chat rooms where support, sales and finance
//! work: verified, turned into clear messages, redacted by policy, rendered natively for Slack,
//! Microsoft Teams, Discord and Matrix.
//!
//! This crate is a facade over the workspace's crates, which you can also depend on one by one:
//!
//! | module | crate | for |
//! |---|---|---|
//! | [`events`] | `stripe-chat-events` | signature verification, version-tolerant events, money, Dashboard links |
//! | [`message`] | `stripe-chat-message` | the provider-neutral [`ChatMessage`](message::ChatMessage) and the [`Renderer`](message::Renderer) trait |
//! | [`transform`] | `stripe-chat-transform` | the [`Transformer`](transform::Transformer) trait, the registry, built-in transformers |
//! | [`redact`] | `stripe-chat-redact` | redaction policies (card numbers, emails, phones, addresses) |
//! | [`slack`], [`teams`], [`discord`], [`matrix`] | `stripe-chat-<platform>` | each platform's adapter: rendering and delivery |
//! | [`webhook`] | `stripe-chat-webhook` | the neutral message as signed JSON to any URL |
//! | [`file`] | `stripe-chat-file` | one JSON line per message in a file (the embedded default destination) |
//! | [`route`] | `stripe-chat-route` | routing rules: which events go to which destinations |
//!
//! [`Pipeline`] (`stripe-chat-pipeline`) puts transform and redaction together, the one path
//! every message takes, here and in the service's workers; [`render`] adds a platform:
//!
//! ```
//! use stripe_chat::{Pipeline, Provider, RenderConfig};
//! use stripe_chat::events::StripeEvent;
//!
//! let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"invoice.payment_failed",
//!   "created":1764000000,"livemode":false,"data":{"object":{"id":"in_1","object":"invoice",
//!   "customer_name":"Jenny 4242 4242 4242 4242 Rosen","amount_due":2000,"currency":"usd","attempt_count":1,
//!   "next_payment_attempt":1764259200}}}"#)?;
//! let config = RenderConfig::default();
//! let pipeline = Pipeline::from_config(&config.redaction);
//! let body = stripe_chat::render(&pipeline, &config, Provider::Slack, &event)?.expect("a message");
//! let text = body.to_string();
//! assert!(!text.contains("4242 4242 4242 4242"), "card numbers never reach a platform");
//! assert!(text.contains("4242"), "the last four stay visible");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

use std::fmt;
use std::str::FromStr;

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
use message::{RenderError, Renderer};
use redact::RedactionConfig;

pub mod demo;
pub mod ops;
pub mod samples;

pub use stripe_chat_server as server;
pub use stripe_chat_store as store;

/// The chat platforms stripe-chat renders for.
///
/// ```
/// use stripe_chat::Provider;
/// assert_eq!("teams".parse::<Provider>(), Ok(Provider::Teams));
/// assert!("irc".parse::<Provider>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// Slack `chat.postMessage` with Block Kit.
    Slack,
    /// Microsoft Teams Workflows webhook with an Adaptive Card.
    Teams,
    /// Discord execute-webhook with embeds and components.
    Discord,
    /// Matrix `m.room.message` content.
    Matrix,
}

impl Provider {
    /// Every provider, in a stable order.
    ///
    /// ```
    /// assert_eq!(stripe_chat::Provider::ALL.len(), 4);
    /// ```
    pub const ALL: [Provider; 4] = [
        Provider::Slack,
        Provider::Teams,
        Provider::Discord,
        Provider::Matrix,
    ];

    /// The lowercase name.
    ///
    /// ```
    /// assert_eq!(stripe_chat::Provider::Discord.as_str(), "discord");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Slack => "slack",
            Provider::Teams => "teams",
            Provider::Discord => "discord",
            Provider::Matrix => "matrix",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A provider name that is not one of `slack`, `teams`, `discord`, `matrix`.
///
/// ```
/// let e = "irc".parse::<stripe_chat::Provider>().unwrap_err();
/// assert_eq!(e.to_string(), "unknown provider \"irc\" (expected slack, teams, discord or matrix)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider {0:?} (expected slack, teams, discord or matrix)")]
pub struct UnknownProvider(pub String);

impl FromStr for Provider {
    type Err = UnknownProvider;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "slack" => Ok(Provider::Slack),
            "teams" | "msteams" => Ok(Provider::Teams),
            "discord" => Ok(Provider::Discord),
            "matrix" => Ok(Provider::Matrix),
            _ => Err(UnknownProvider(s.to_owned())),
        }
    }
}

/// Options of `stripe-chat render` (a TOML file): redaction and each platform's rendering.
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
/// assert_eq!(config.slack.channel.as_deref(), Some("C0123456789"));
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderConfig {
    /// The redaction policy applied before any platform sees a message.
    #[serde(default)]
    pub redaction: RedactionConfig,
    /// Slack options.
    #[serde(default)]
    pub slack: SlackOptions,
    /// Microsoft Teams options.
    #[serde(default)]
    pub teams: TeamsOptions,
    /// Discord options.
    #[serde(default)]
    pub discord: DiscordOptions,
    /// Matrix options.
    #[serde(default)]
    pub matrix: MatrixOptions,
}

/// Slack rendering options.
///
/// ```
/// let o = stripe_chat::SlackOptions { channel: Some("C1".into()) };
/// assert!(o.channel.is_some());
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackOptions {
    /// The channel id for `chat.postMessage` (omitted from the body when unset).
    #[serde(default)]
    pub channel: Option<String>,
}

/// Microsoft Teams rendering options.
///
/// ```
/// let o: stripe_chat::TeamsOptions = toml::from_str(r#"card_version = "1.5""#)?;
/// assert_eq!(o.card_version, "1.5");
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsOptions {
    /// Adaptive Card version: `1.4` (default) or `1.5`.
    #[serde(default = "default_card_version")]
    pub card_version: String,
}

impl Default for TeamsOptions {
    fn default() -> Self {
        TeamsOptions {
            card_version: default_card_version(),
        }
    }
}

fn default_card_version() -> String {
    "1.4".to_owned()
}

/// Discord rendering options.
///
/// ```
/// let o = stripe_chat::DiscordOptions::default();
/// assert!(!o.interactive);
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordOptions {
    /// Whether the webhook belongs to an application, so callback buttons can be sent.
    #[serde(default)]
    pub interactive: bool,
    /// The name the message is posted under.
    #[serde(default)]
    pub username: Option<String>,
}

/// Matrix rendering options.
///
/// ```
/// assert_eq!(stripe_chat::MatrixOptions::default().msgtype, "m.notice");
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixOptions {
    /// `m.notice` (default, for bots) or `m.text`.
    #[serde(default = "default_msgtype")]
    pub msgtype: String,
}

impl Default for MatrixOptions {
    fn default() -> Self {
        MatrixOptions {
            msgtype: default_msgtype(),
        }
    }
}

fn default_msgtype() -> String {
    "m.notice".to_owned()
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

/// The renderer for `provider` with `config`'s options.
///
/// ```
/// use stripe_chat::{renderer, Provider, RenderConfig};
/// let r = renderer(Provider::Matrix, &RenderConfig::default())?;
/// assert_eq!(r.platform(), "matrix");
/// # Ok::<(), stripe_chat::ConfigError>(())
/// ```
pub fn renderer(
    provider: Provider,
    config: &RenderConfig,
) -> Result<Box<dyn Renderer>, ConfigError> {
    Ok(match provider {
        Provider::Slack => {
            let mut r = slack::SlackRenderer::new();
            if let Some(channel) = &config.slack.channel {
                r = r.channel(channel.clone());
            }
            Box::new(r)
        }
        Provider::Teams => {
            let version = match config.teams.card_version.as_str() {
                "1.4" => teams::CardVersion::V1_4,
                "1.5" => teams::CardVersion::V1_5,
                _ => {
                    return Err(ConfigError {
                        key: "teams.card_version".into(),
                        problem: format!(
                            "{:?} is not supported (Teams accepts Adaptive Cards 1.4 and 1.5)",
                            config.teams.card_version
                        ),
                    });
                }
            };
            Box::new(teams::TeamsRenderer::new().with_version(version))
        }
        Provider::Discord => {
            let mut r = discord::DiscordRenderer::new().interactive(config.discord.interactive);
            if let Some(username) = &config.discord.username {
                r = r.username(username.clone());
            }
            Box::new(r)
        }
        Provider::Matrix => {
            let msgtype = match config.matrix.msgtype.as_str() {
                "m.notice" => matrix::MsgType::Notice,
                "m.text" => matrix::MsgType::Text,
                other => {
                    return Err(ConfigError {
                        key: "matrix.msgtype".into(),
                        problem: format!("{other:?} is not m.notice or m.text"),
                    });
                }
            };
            Box::new(matrix::MatrixRenderer::new().with_msgtype(msgtype))
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
/// use stripe_chat::{render, Pipeline, Provider, RenderConfig};
/// let event = stripe_chat::events::StripeEvent::from_slice(br#"{"id":"evt_1","object":"event",
///   "type":"payout.paid","created":1,"data":{"object":{"id":"po_1","object":"payout"}}}"#)?;
/// let config = RenderConfig::default();
/// let body = render(&Pipeline::from_config(&config.redaction), &config, Provider::Discord, &event)?.unwrap();
/// assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render(
    pipeline: &Pipeline,
    config: &RenderConfig,
    provider: Provider,
    event: &StripeEvent,
) -> Result<Option<serde_json::Value>, RenderEventError> {
    let renderer = renderer(provider, config)?;
    match pipeline.message(event) {
        Some(message) => Ok(Some(renderer.render(&message)?)),
        None => Ok(None),
    }
}

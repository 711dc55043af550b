//! The Slack adapter of stripe-chat: turns a provider-neutral
//! [`ChatMessage`](stripe_chat_message::ChatMessage) into a Block Kit body and delivers it, with a
//! bot token or through an incoming webhook.
//!
//! Main items:
//! - [`SlackProvider`]: the adapter ([`ChatProvider`](stripe_chat_message::ChatProvider) and
//!   [`Renderer`](stripe_chat_message::Renderer), platform `"slack"`), built in code with
//!   [`SlackProvider::bot`] / [`SlackProvider::incoming_webhook`], or from configuration.
//! - [`SlackConfig`]: the `[slack]` configuration section; [`SlackConfig::build`] checks it and
//!   gives the provider, or a [`ConfigError`] naming the key at fault.
//! - [`api_error_kind`]: what each Slack error code means (retry, slow down, fix the token, give
//!   up).
//! - [`SlackRenderer`]: the pure rendering (no I/O), with [`SlackRenderer::render_reply`] for a
//!   reply in a thread; [`validate_limits`] checks a body against Slack's Block Kit limits;
//!   [`limits`] lists them and the budgets the renderer keeps (about 12,000 characters of text).
//! - [`escape`]: how event text is made inert: `&<>` escaped, mrkdwn formatting characters
//!   replaced by look-alikes, block quotes broken, links and URLs made safe.
//!
//! # Modes
//!
//! | | bot (`mode = "bot"`, default) | incoming webhook (`mode = "webhook"`) |
//! |---|---|---|
//! | credentials | bot token `xoxb-...` with scope `chat:write`, bot invited to the channel | the webhook URL (it is the secret) |
//! | send | `chat.postMessage` to `channel`; returns the message's `ts` and channel | to the webhook's fixed channel; returns a reference with an empty id |
//! | update | `chat.update` (own messages) | no ([`ErrorKind::Unsupported`](stripe_chat_message::ErrorKind::Unsupported), nothing sent) |
//! | reply in a thread | `thread_ts` = the thread's first message | no (Unsupported, nothing sent; never posted unthreaded) |
//! | link buttons | yes | yes |
//! | callback buttons | shown; clicks reach stripe-chat once the Slack app's interactivity request URL points at its interactions endpoint | shown, but clicks never reach stripe-chat |
//!
//! # Configuration
//!
//! ```toml
//! [slack]
//! mode = "bot"                  # or "webhook"
//! token_env = "SLACK_BOT_TOKEN" # the environment variable holding the bot token
//!                               # (or `token_file = "/run/secrets/slack_bot_token"`, or `token = "xoxb-..."`)
//! channel = "C0123456789"       # a channel id; the bot must be a member
//! timeout_secs = 10             # per request (default 10)
//! # api_base = "https://slack.com/api"
//!
//! # Incoming webhook instead:
//! # mode = "webhook"
//! # webhook_url_env = "SLACK_WEBHOOK_URL"  # or `webhook_url_file`, or `webhook_url = "https://hooks.slack.com/services/..."`
//! ```
//!
//! The bot token is usually taken from the environment variable `SLACK_BOT_TOKEN`, named by
//! `token_env`, or from a file named by `token_file` (a Docker or Kubernetes secret; its trailing
//! newline is trimmed). Unknown keys, and keys the chosen mode does not use, are refused; a
//! missing secret is a start-up error naming the key (`token: missing (the bot token: set token,
//! token_env or token_file)`), an unset variable or unreadable file one naming the key and the
//! variable or file. No `Debug`, log line or error shows the token or the webhook URL.
//!
//! ```
//! use stripe_chat_message::{ChatMessage, ChatProvider, Renderer};
//! use stripe_chat_slack::{SlackConfig, SlackMode};
//!
//! let config: SlackConfig = toml::from_str(r#"
//!     token_env = "SLACK_BOT_TOKEN"
//!     channel = "C0123456789"
//! "#)?;
//! let env = |name: &str| (name == "SLACK_BOT_TOKEN").then(|| "xoxb-1-abc".to_owned());
//! let slack = config.build_with_env(env)?; // `config.build()` reads the process environment
//! assert_eq!(slack.mode(), SlackMode::Bot);
//! assert!(slack.capabilities().update && slack.capabilities().thread);
//! assert_eq!(slack.render(&ChatMessage::new("Invoice paid"))?["channel"], "C0123456789");
//!
//! let hook: SlackConfig = toml::from_str(r#"
//!     mode = "webhook"
//!     webhook_url = "https://hooks.slack.com/services/T000/B000/XXXX"
//! "#)?;
//! assert!(!hook.build()?.capabilities().update);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Rendering
//!
//! ```
//! use stripe_chat_message::{Action, ActionStyle, ChatMessage, ObjectKind, ObjectRef, Renderer, Severity};
//! use stripe_chat_slack::{SlackRenderer, validate_limits};
//!
//! let charge = ObjectRef::new(ObjectKind::Charge, "ch_3MmlLrLkdIwHu7ix0snN0B15");
//! let message = ChatMessage::new("Dispute opened: <!channel> *Jenny*")
//!     .summary("A customer disputed 20.00 USD. Respond before the deadline.")
//!     .severity(Severity::Critical)
//!     .field("Amount", "20.00 USD")
//!     .link("Dispute in Stripe", "https://dashboard.stripe.com/disputes/dp_1")
//!     .action(Action::callback("refund", "Refund", charge).style(ActionStyle::Danger).moves_money(true));
//!
//! let body = SlackRenderer::new().channel("C0123456789").render(&message)?;
//! assert_eq!(body["text"], "Dispute opened: &lt;!channel&gt; ∗Jenny∗ — A customer disputed 20.00 USD. Respond before the deadline.");
//! assert_eq!(body["blocks"][2]["fields"][0]["text"], "*Amount*\n20.00 USD");
//! assert!(body["blocks"][4]["elements"][0]["confirm"].is_object());
//! assert_eq!(validate_limits(&body), Ok(()));
//! # Ok::<(), stripe_chat_message::RenderError>(())
//! ```
//!
//! # Feature flags
//!
//! - `client` (default): delivery, that is `SlackProvider`, `SlackConfig` and `SlackFactory`,
//!   with what they need: an HTTP client (`reqwest`) and `stripe-chat-http`. Without it
//!   (`stripe-chat-slack = { version = "0.1", default-features = false }`), the crate is
//!   the renderer and the verification of interaction requests: [`SlackRenderer`],
//!   [`validate_limits`], [`escape`], [`limits`] and [`interaction`], and pulls in no HTTP client.
//! - `actions` (implies `client`): `actions`, acting from Slack: a verified interaction handed
//!   to the actions engine (`stripe-chat-actions`) as a click, Slack's answer within its 3
//!   seconds, modals opened with `views.open`, and a responder that tells the person privately
//!   through the `response_url` and updates the message for everyone with `chat.update`.
#![forbid(unsafe_code)]
// The crate documentation speaks of delivery, which exists with the `client` feature.
#![cfg_attr(not(feature = "client"), allow(rustdoc::broken_intra_doc_links))]

#[cfg(feature = "actions")]
pub mod actions;
#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod config;
pub mod escape;
#[cfg(feature = "client")]
mod factory;
pub mod interaction;
pub mod limits;
#[cfg(feature = "client")]
pub mod manifest;
mod render;
mod validate;

#[cfg(feature = "client")]
pub use client::{
    DEFAULT_API_BASE, DEFAULT_TIMEOUT, RATE, SlackMode, SlackProvider, api_error_kind,
};
#[cfg(feature = "client")]
pub use config::SlackConfig;
#[cfg(feature = "client")]
pub use factory::SlackFactory;
pub use render::SlackRenderer;
#[cfg(feature = "client")]
pub use stripe_chat_message::ConfigError;
pub use validate::validate_limits;

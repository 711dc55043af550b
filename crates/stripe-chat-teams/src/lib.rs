//! The Microsoft Teams adapter of stripe-chat: turns a provider-neutral
//! [`ChatMessage`](stripe_chat_message::ChatMessage) into one Adaptive Card and posts it to a Teams
//! **Workflows webhook** (Power Automate, trigger "When a Teams webhook request is received"), the
//! replacement of the retired Office 365 connectors.
//!
//! # What this mode can do
//!
//! Send only ([`Capabilities::SEND_ONLY`](stripe_chat_message::Capabilities::SEND_ONLY)):
//! - **send** a card to the channel or chat the flow posts in. The webhook answers `202 Accepted`
//!   and gives no message id, so the returned [`MessageRef`](stripe_chat_message::MessageRef) has an
//!   empty id (it cannot be addressed);
//! - **link buttons only**: links and link actions become `Action.OpenUrl` buttons; callback actions
//!   are left out, as clicks on `Action.Submit`/`Action.Execute` go to a bot and a webhook has none;
//! - no **update** and no **thread**: both are refused as `Unsupported` without a request.
//!
//! Updating messages, replying in threads and interactive buttons need the **Bot Framework** mode
//! (a bot registered with Teams), a later addition to this crate.
//!
//! The flow must be one that *anyone* may trigger (the URL's `sig` is the key); a flow limited to
//! users of the tenant wants a Microsoft Entra token, which this mode does not send (Teams answers
//! 401: `Unauthorized`). What the flow does after accepting the card (posting it, or failing to)
//! shows only in the flow's run history, not in the answer.
//!
//! # Configuration
//!
//! A [`TeamsConfig`], e.g. a `[teams]` table of stripe-chat's configuration file:
//!
//! ```toml
//! [teams]
//! # The flow's HTTP URL, read from the environment (it carries its key, `sig=`).
//! webhook_url_env = "STRIPE_CHAT_TEAMS_WEBHOOK_URL"
//! # Or from a file: webhook_url_file = "/run/secrets/teams_webhook_url"
//! # Or inline (keep the file private): webhook_url = "https://...logic.azure.com:443/workflows/...&sig=..."
//! card_version = "1.4"   # or "1.5"
//! timeout_secs = 10
//! ```
//!
//! Set one of `webhook_url`, `webhook_url_env` and `webhook_url_file`. The URL must be `https://` (`http://` only for a
//! loopback host, for tests). Errors name the key and never show the URL, and neither does any
//! `Debug` or delivery error.
//!
//! # How answers are classified
//!
//! | answer                    | [`ErrorKind`](stripe_chat_message::ErrorKind)          |
//! |---------------------------|--------------------------------------------------------|
//! | 2xx (202 from the trigger)| delivered, `MessageRef { provider: "teams", id: "" }`  |
//! | 400                       | `Permanent`, with Power Automate's error code/message  |
//! | 401, 403                  | `Unauthorized` (bad `sig`, or a flow that wants sign-in)|
//! | 404                       | `Permanent` (flow deleted, or a wrong URL)             |
//! | 413                       | `Permanent` (card too large)                           |
//! | other 4xx                 | `Permanent` (408 and 425: `Transient`)                 |
//! | 429                       | `RateLimited`, after `Retry-After` (1 s when absent)   |
//! | 5xx                       | `Transient` (`RateLimited` when it sends `Retry-After`)|
//! | timeout, no connection    | `Transient`                                            |
//! | card over Teams' limits   | `Permanent`, nothing sent                              |
//!
//! # Main items
//!
//! - [`TeamsProvider`]: the [`ChatProvider`](stripe_chat_message::ChatProvider), built with
//!   [`TeamsProvider::workflows`] ([`TeamsBuilder`]) or [`TeamsConfig::build`] ([`ConfigError`]).
//! - [`TeamsRenderer`]: the pure [`Renderer`](stripe_chat_message::Renderer) for `teams`, with its
//!   [`CardVersion`] option (1.4 by default, 1.5 at most: Teams renders nothing newer).
//! - [`escape_markdown`]: how event text is made literal in a card's Markdown.
//! - [`validate_limits`]: checks a body against Teams' size, version and action rules.
//! - [`limits`]: the documented limits the renderer keeps to.
//!
//! ```
//! use stripe_chat_message::{Action, ChatMessage, ObjectKind, ObjectRef, Renderer, Severity};
//! use stripe_chat_teams::{TeamsRenderer, validate_limits};
//!
//! let invoice = ObjectRef::new(ObjectKind::Invoice, "in_1MtHbELkdIwHu7ixl4OzzPMv");
//! let message = ChatMessage::new("Payment failed: *Jenny* Rosen")
//!     .severity(Severity::Warning)
//!     .field("Amount", "20.00 USD")
//!     .link("Invoice in Stripe", "https://dashboard.stripe.com/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv")
//!     .action(Action::callback("retry_payment", "Retry payment", invoice));
//!
//! let body = TeamsRenderer::new().render(&message)?;
//! let card = &body["attachments"][0]["content"];
//! assert_eq!(card["body"][0]["style"], "warning");
//! assert_eq!(card["body"][0]["items"][0]["text"], r"Payment failed: \*Jenny\* Rosen");
//! assert_eq!(card["actions"].as_array().map(Vec::len), Some(1)); // the callback is left out
//! assert_eq!(validate_limits(&body), Ok(()));
//! # Ok::<(), stripe_chat_message::RenderError>(())
//! ```
//!
//! Sending (against a Workflows webhook; here one that is not listening):
//!
//! ```
//! use stripe_chat_message::{ChatMessage, ChatProvider, ErrorKind, IdempotencyKey, Secret};
//! use stripe_chat_teams::TeamsConfig;
//!
//! let config: TeamsConfig = toml::from_str(r#"
//! webhook_url = "http://127.0.0.1:9/workflows/abc/triggers/manual/paths/invoke?sig=SECRETSIG"
//! timeout_secs = 2
//! "#)?;
//! let teams = config.build()?;
//! # tokio_test::block_on(async {
//! let key = IdempotencyKey::new("evt_1NG8Du2eZvKYlo2CUI79vXWy", "finance");
//! let error = teams.send(&ChatMessage::new("Invoice paid"), None, &key).await.unwrap_err();
//! assert_eq!(error.kind(), ErrorKind::Transient);
//! assert!(!error.to_string().contains("SECRETSIG"));
//! # });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Feature flags
//!
//! - `client` (default): delivery, that is `TeamsProvider`, `TeamsConfig` and `TeamsFactory`,
//!   with what they need: an HTTP client (`reqwest`) and `stripe-chat-http`. Without it
//!   (`stripe-chat-teams = { version = "0.1", default-features = false }`), the crate is
//!   the renderer alone: [`TeamsRenderer`] and its [`CardVersion`],
//!   [`escape_markdown`], [`validate_limits`] and [`limits`], and pulls in no HTTP client.
#![forbid(unsafe_code)]
// The crate documentation speaks of delivery, which exists with the `client` feature.
#![cfg_attr(not(feature = "client"), allow(rustdoc::broken_intra_doc_links))]

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod config;
#[cfg(feature = "client")]
mod factory;
pub mod limits;
mod render;
mod validate;

#[cfg(feature = "client")]
pub use client::{DEFAULT_TIMEOUT_SECS, MAX_TIMEOUT_SECS, TeamsBuilder, TeamsProvider};
#[cfg(feature = "client")]
pub use config::TeamsConfig;
#[cfg(feature = "client")]
pub use factory::TeamsFactory;
pub use render::{CardVersion, TeamsRenderer, escape_markdown};
#[cfg(feature = "client")]
pub use stripe_chat_message::ConfigError;
pub use validate::validate_limits;

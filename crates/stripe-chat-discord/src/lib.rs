//! The Discord adapter of stripe-chat: turns a provider-neutral
//! [`ChatMessage`](stripe_chat_message::ChatMessage) into an execute-webhook body (one embed and
//! buttons), and posts and edits it through a Discord webhook.
//!
//! # Mode: a channel webhook
//!
//! The adapter speaks to one Discord webhook (Server Settings → Integrations → Webhooks, or
//! Channel → Edit → Integrations). No bot, no gateway connection.
//!
//! | operation | how | supported |
//! |---|---|---|
//! | send | `POST {api_base}/webhooks/{id}/{token}?wait=true` → the message object | always |
//! | update | `PATCH {api_base}/webhooks/{id}/{token}/messages/{message_id}` | always (messages this webhook sent) |
//! | thread | `?thread_id=<thread>` | replies go into the thread the root message is in; a webhook cannot start a thread on a channel message, so `capabilities().thread` is true only with `thread_id` configured |
//! | link buttons | style 5; `?with_components=true` unless the webhook belongs to an application | always |
//! | callback buttons | `custom_id` `sc:<action>:<kind>:<id>[@acct_…]` (the message's `callback_token`) | only with `interactive = true` (an application-owned webhook) |
//!
//! # Mode: a bot
//!
//! With `bot_token` (or `bot_token_env`, `bot_token_file`) and `channel_id` instead of a webhook,
//! the application's bot posts the messages: `POST {api_base}/channels/{channel_id}/messages`
//! (`Authorization: Bot …`), edits them with `PATCH …/channels/{channel}/messages/{id}`, and
//! replies in a thread it starts on the message (`POST …/messages/{id}/threads`; the thread has
//! the message's id). Its messages always carry callback buttons, which an incoming webhook
//! drops: clicks reach the application's interactions endpoint.
//!
//! Every body sends `"allowed_mentions": {"parse": []}` and is checked with [`validate_limits`]
//! before any request: a body over a limit is a `Permanent` error, not a 400 from Discord.
//!
//! # Configuration
//!
//! ```toml
//! [discord]
//! webhook_url_env = "STRIPE_CHAT_DISCORD_WEBHOOK_URL"  # or webhook_url_file = "/run/secrets/discord_webhook_url",
//!                                                     # or webhook_url = "https://discord.com/api/webhooks/{id}/{token}"
//! thread_id = "1000000000000000001"   # optional: post into this thread or forum post
//! username = "Stripe"                 # optional: must not contain "discord" or "clyde"
//! avatar_url = "https://example.com/stripe.png"
//! interactive = false                 # true: the webhook belongs to an application (callback buttons)
//! # api_base = "https://discord.com/api/v10"   # default; a proxy or a test server goes here
//! # timeout_secs = 10
//! ```
//!
//! The webhook URL is a secret: keep it in the environment (`webhook_url_env` names the
//! variable, e.g. `STRIPE_CHAT_DISCORD_WEBHOOK_URL`) or in a file (`webhook_url_file`). Only its `/webhooks/{id}/{token}` part is
//! used; requests go to `api_base`. See [`DiscordConfig`] for every key.
//!
//! # Errors
//!
//! | Discord answers | [`ErrorKind`](stripe_chat_message::ErrorKind) | message |
//! |---|---|---|
//! | 200 | — (delivered) | — |
//! | 429 | `RateLimited`, after the body's `retry_after` (float seconds, to the ms), else `Retry-After`, else 1 s | Discord's message; "global rate limit" when `"global": true` |
//! | 5xx, timeout, connection failure | `Transient` (`RateLimited` when a 5xx carries `Retry-After`) | status |
//! | 401, 403 (`50027` Invalid Webhook Token, ...) | `Unauthorized` | Discord's message and code; fix the URL |
//! | 404 `10015` Unknown Webhook | `Permanent` | the webhook was deleted: stop using it |
//! | 404 `10008` Unknown Message (update) | `Permanent` | the message was deleted or is not this webhook's |
//! | 404 `10003` Unknown Channel | `Permanent` | the thread does not exist |
//! | 400 (`50035` Invalid Form Body, ...) and other 4xx | `Permanent` | Discord's message, code and first field error |
//! | body over a limit, render error, foreign or id-less ref | `Permanent`, no request | which limit |
//! | reply to a message not in a thread | `Unsupported`, no request | — |
//!
//! No error message, source or `Debug` shows the webhook token. Discord bans an IP after 10,000
//! invalid requests (401, 403, 429) in 10 minutes: `Unauthorized` and `Permanent` are not to be
//! retried, and after an Unknown Webhook the webhook should not be used again.
//!
//! # Main items
//!
//! - [`DiscordConfig`] → [`DiscordProvider`]: the configuration (serde, `deny_unknown_fields`)
//!   checked by [`DiscordConfig::build`], or built in code from [`DiscordProvider::webhook`];
//!   [`ConfigError`] names the key at fault.
//! - [`DiscordProvider`]: implements [`ChatProvider`](stripe_chat_message::ChatProvider).
//! - [`DiscordRenderer`]: implements [`Renderer`](stripe_chat_message::Renderer) (platform
//!   `"discord"`); optional `username` and `avatar_url`, and `interactive` to send callback buttons
//!   (only for application-owned webhooks; link buttons are always sent).
//! - [`validate_limits`]: checks a rendered body against Discord's limits.
//! - [`limits`]: those limits (embed total 6,000 characters, 25 fields, 5×5 buttons, ...).
//! - [`escape`]: how event text is made inert: markdown characters backslash-escaped, mentions
//!   neutralized, links made safe. Every body also sends `"allowed_mentions": {"parse": []}`.
//!
//! ```
//! use stripe_chat_message::{Action, ChatMessage, ObjectKind, ObjectRef, Renderer, Severity};
//! use stripe_chat_discord::{DiscordRenderer, validate_limits};
//!
//! let invoice = ObjectRef::new(ObjectKind::Invoice, "in_1MtHbELkdIwHu7ixl4OzzPMv");
//! let message = ChatMessage::new("Payment failed: @everyone *Jenny*")
//!     .summary("The card was declined. Stripe retries in 3 days.")
//!     .severity(Severity::Warning)
//!     .field("Amount", "20.00 USD")
//!     .link("Invoice in Stripe", "https://dashboard.stripe.com/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv")
//!     .action(Action::callback("retry_payment", "Retry payment", invoice));
//!
//! let body = DiscordRenderer::new().interactive(true).render(&message)?;
//! let embed = &body["embeds"][0];
//! assert_eq!(embed["title"], "Payment failed: @\u{200B}everyone \\*Jenny\\*");
//! assert_eq!(embed["url"], "https://dashboard.stripe.com/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv");
//! assert_eq!(embed["fields"][0]["inline"], true);
//! assert_eq!(body["components"][0]["components"][0]["custom_id"], "sc:retry_payment:invoice:in_1MtHbELkdIwHu7ixl4OzzPMv");
//! assert_eq!(validate_limits(&body), Ok(()));
//! # Ok::<(), stripe_chat_message::RenderError>(())
//! ```
//!
//! # Feature flags
//!
//! - `client` (default): delivery, that is `DiscordProvider`, `DiscordConfig` and `DiscordFactory`,
//!   with what they need: an HTTP client (`reqwest`) and `stripe-chat-http`. Without it
//!   (`stripe-chat-discord = { version = "0.1", default-features = false }`), the crate is
//!   the renderer and the verification of interaction requests: [`DiscordRenderer`],
//!   [`validate_limits`], [`escape`], [`limits`] and [`interaction`], and pulls in no HTTP client.
//! - `actions` (implies `client`): `actions`, acting from Discord: a verified interaction handed
//!   to the actions engine (`stripe-chat-actions`) as a click, the interaction response (deferred
//!   update, ephemeral message, modal), and a responder that follows up privately and edits the
//!   message for everyone.
#![forbid(unsafe_code)]
// The crate documentation speaks of delivery, which exists with the `client` feature.
#![cfg_attr(not(feature = "client"), allow(rustdoc::broken_intra_doc_links))]

#[cfg(feature = "actions")]
pub mod actions;
#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod config;
#[cfg(feature = "client")]
mod error;
pub mod escape;
#[cfg(feature = "client")]
mod factory;
pub mod interaction;
pub mod limits;
mod render;
mod validate;
#[cfg(feature = "client")]
mod webhook;

#[cfg(feature = "client")]
pub use client::DiscordProvider;
#[cfg(feature = "client")]
pub use config::{DEFAULT_API_BASE, DEFAULT_TIMEOUT_SECS, DiscordConfig};
#[cfg(feature = "client")]
pub use factory::DiscordFactory;
pub use render::DiscordRenderer;
#[cfg(feature = "client")]
pub use stripe_chat_message::ConfigError;
pub use validate::validate_limits;

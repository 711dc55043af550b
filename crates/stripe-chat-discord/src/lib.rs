//! The Discord adapter of stripe-chat: turns a provider-neutral
//! [`ChatMessage`](stripe_chat_message::ChatMessage) into an execute-webhook body (one embed and
//! buttons).
//!
//! This crate is the pure rendering half of the adapter (no I/O); posting, editing and the
//! interactions endpoint come in later modules.
//!
//! Main items:
//! - [`DiscordRenderer`]: implements [`Renderer`](stripe_chat_message::Renderer) (platform
//!   `"discord"`); optional `username` and `avatar_url`, and `interactive` to send callback buttons
//!   (only for application-owned webhooks; link buttons are always sent).
//! - [`validate_limits`]: checks a rendered body against Discord's limits.
//! - [`limits`]: those limits (embed total 6,000 characters, 25 fields, 5×5 buttons, ...).
//! - [`escape`]: how event text is made inert: markdown characters backslash-escaped, mentions
//!   neutralized, links made safe. Every body also sends `"allowed_mentions": {"parse": []}`.
//!
//! ```
//! use stripe_chat_message::{Action, ChatMessage, ObjectRef, Renderer, Severity};
//! use stripe_chat_discord::{DiscordRenderer, validate_limits};
//!
//! let invoice = ObjectRef::from_id("in_1MtHbELkdIwHu7ixl4OzzPMv");
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
//! assert_eq!(body["components"][0]["components"][0]["custom_id"], "sc:retry_payment:in_1MtHbELkdIwHu7ixl4OzzPMv");
//! assert_eq!(validate_limits(&body), Ok(()));
//! # Ok::<(), stripe_chat_message::RenderError>(())
//! ```
//!
//! No feature flags yet.
#![forbid(unsafe_code)]

pub mod escape;
pub mod limits;
mod render;
mod validate;

pub use render::DiscordRenderer;
pub use validate::validate_limits;

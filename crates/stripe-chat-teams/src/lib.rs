//! The Microsoft Teams adapter of stripe-chat: turns a provider-neutral
//! [`ChatMessage`](stripe_chat_message::ChatMessage) into the body a Teams **Workflows** webhook
//! ("When a Teams webhook request is received") expects, `{"type": "message", "attachments": [...]}`
//! holding one Adaptive Card.
//!
//! This is the pure rendering seed of the adapter; the HTTP client comes later.
//!
//! Main items:
//! - [`TeamsRenderer`]: the [`Renderer`](stripe_chat_message::Renderer) for `teams`, with its
//!   [`CardVersion`] option (1.4 by default, 1.5 at most: Teams renders nothing newer).
//! - [`escape_markdown`]: how event text is made literal in a card's Markdown.
//! - [`validate_limits`]: checks a body against Teams' size, version and action rules.
//! - [`limits`]: the documented limits the renderer keeps to.
//!
//! Cards posted by a webhook can only *open URLs*: links and link actions become `Action.OpenUrl`
//! buttons, and callback actions are left out (clicks on `Action.Submit`/`Action.Execute` go to a
//! bot; they need the Bot Framework mode).
//!
//! ```
//! use stripe_chat_message::{Action, ChatMessage, ObjectRef, Renderer, Severity};
//! use stripe_chat_teams::{TeamsRenderer, validate_limits};
//!
//! let invoice = ObjectRef::from_id("in_1MtHbELkdIwHu7ixl4OzzPMv");
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
//! This crate has no feature flags.
#![forbid(unsafe_code)]

pub mod limits;
mod render;
mod validate;

pub use render::{CardVersion, TeamsRenderer, escape_markdown};
pub use validate::validate_limits;

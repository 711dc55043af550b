//! The Slack adapter of stripe-chat: turns a provider-neutral
//! [`ChatMessage`](stripe_chat_message::ChatMessage) into a Block Kit body for `chat.postMessage`.
//!
//! This crate is the pure rendering half of the adapter (no I/O); posting, threading and
//! interactivity come in later modules.
//!
//! Main items:
//! - [`SlackRenderer`]: implements [`Renderer`](stripe_chat_message::Renderer) (platform `"slack"`);
//!   optional `channel`, and [`SlackRenderer::render_reply`] for a reply in a thread.
//! - [`validate_limits`]: checks a rendered body against Slack's Block Kit limits.
//! - [`limits`]: those limits, and the budgets the renderer keeps (about 12,000 characters of text).
//! - [`escape`]: how event text is made inert: `&<>` escaped, mrkdwn formatting characters
//!   replaced by look-alikes, block quotes broken, links and URLs made safe.
//!
//! ```
//! use stripe_chat_message::{Action, ActionStyle, ChatMessage, ObjectRef, Renderer, Severity};
//! use stripe_chat_slack::{SlackRenderer, validate_limits};
//!
//! let charge = ObjectRef::from_id("ch_3MmlLrLkdIwHu7ix0snN0B15");
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
//! No feature flags yet.
#![forbid(unsafe_code)]

pub mod escape;
pub mod limits;
mod render;
mod validate;

pub use render::SlackRenderer;
pub use validate::validate_limits;

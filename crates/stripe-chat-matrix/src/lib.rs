//! The Matrix adapter of stripe-chat: turns a provider-neutral
//! [`ChatMessage`](stripe_chat_message::ChatMessage) into the content of an `m.room.message` event,
//! with a plain-text `body` and an `org.matrix.custom.html` `formatted_body`.
//!
//! This is the pure rendering seed of the adapter; the HTTP client comes later
//! (`PUT /_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}`).
//!
//! Main items:
//! - [`MatrixRenderer`]: the [`Renderer`](stripe_chat_message::Renderer) for `matrix`, with its
//!   [`MsgType`] option (`m.notice` by default, or `m.text`).
//! - [`escape_html`]: how event text is made inert in `formatted_body`.
//! - [`thread_reply`] and [`edit`]: the content rewritten as a reply in a thread, or as an edit of
//!   an earlier message, per the Matrix spec.
//! - [`txn_id`]: a deterministic transaction id per (Stripe event, destination), so retried sends
//!   never post twice.
//! - [`validate_limits`]: checks content against the size limit and the spec's HTML subset.
//! - [`limits`]: the documented limits the renderer keeps to.
//!
//! Matrix has no buttons: callback actions are listed as text, link actions as links.
//!
//! ```
//! use stripe_chat_message::{Action, ChatMessage, ObjectRef, Renderer, Severity};
//! use stripe_chat_matrix::{MatrixRenderer, thread_reply, txn_id, validate_limits};
//!
//! let invoice = ObjectRef::from_id("in_1MtHbELkdIwHu7ixl4OzzPMv");
//! let message = ChatMessage::new("Payment failed: <b>Jenny</b> Rosen")
//!     .severity(Severity::Warning)
//!     .field("Amount", "20.00 USD")
//!     .link("Invoice in Stripe", "https://dashboard.stripe.com/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv")
//!     .action(Action::callback("retry_payment", "Retry payment", invoice));
//!
//! let content = MatrixRenderer::new().render(&message)?;
//! assert_eq!(content["msgtype"], "m.notice");
//! assert_eq!(
//!     content["formatted_body"],
//!     "<h4>⚠️ Payment failed: &lt;b&gt;Jenny&lt;/b&gt; Rosen</h4>\
//!      <ul><li><strong>Amount</strong>: 20.00 USD</li></ul>\
//!      <p><a href=\"https://dashboard.stripe.com/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv\">Invoice in Stripe</a></p>\
//!      <p>Actions: Retry payment</p>"
//! );
//! assert_eq!(validate_limits(&content), Ok(()));
//!
//! let reply = thread_reply(content, "$root_event");
//! assert_eq!(reply["m.relates_to"]["rel_type"], "m.thread");
//! assert!(txn_id("evt_1MtHbFLkdIwHu7ixTcLjNhSM", "!ops:example.org").starts_with("sc-"));
//! # Ok::<(), stripe_chat_message::RenderError>(())
//! ```
//!
//! This crate has no feature flags.
#![forbid(unsafe_code)]

pub mod limits;
mod relations;
mod render;
mod txn;
mod validate;

pub use relations::{edit, thread_reply};
pub use render::{MatrixRenderer, MsgType, escape_html};
pub use txn::txn_id;
pub use validate::validate_limits;

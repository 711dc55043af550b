//! The Matrix adapter of stripe-chat: turns a provider-neutral
//! [`ChatMessage`](stripe_chat_message::ChatMessage) into the content of an `m.room.message` event,
//! with a plain-text `body` and an `org.matrix.custom.html` `formatted_body`, and posts it to a
//! room through the client-server API
//! (`PUT /_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}`).
//!
//! What the adapter does ([`MatrixProvider`], a
//! [`ChatProvider`](stripe_chat_message::ChatProvider)):
//!
//! | | |
//! |---|---|
//! | send | yes: an `m.notice` (or `m.text`) in the configured room; returns the event id |
//! | thread | yes: a reply in the thread of an earlier message (`m.thread` relation) |
//! | update | yes: an edit of a sent message (`m.replace`); clients show the new content in place |
//! | buttons | none: Matrix has none. Link actions are inline links, callback actions a line of text |
//! | idempotent | yes: the transaction id is the caller's [`IdempotencyKey`](stripe_chat_message::IdempotencyKey) (the Stripe event and the destination, a reply and an edit each their own), so a retry returns the same event id and never posts twice |
//!
//! Failures are [`DeliveryError`](stripe_chat_message::DeliveryError)s that classify themselves
//! from the homeserver's `{"errcode": "M_...", "error": "..."}` answer:
//!
//! | answer | kind |
//! |---|---|
//! | `M_LIMIT_EXCEEDED`, or HTTP 429 | rate-limited, after the `Retry-After` header, else the body's `retry_after_ms`, else 1 s |
//! | `M_UNKNOWN_TOKEN`, `M_MISSING_TOKEN` (401), `M_FORBIDDEN` (403: not in the room, or not allowed to post), `M_USER_DEACTIVATED`, `M_USER_LOCKED`, `M_USER_SUSPENDED`, any 401/403 | unauthorized: fix the token or the bot's membership |
//! | 5xx, 408, 425, timeouts, refused connections | transient (rate-limited when a `Retry-After` header says when) |
//! | other 4xx (`M_NOT_FOUND`, `M_BAD_JSON`, `M_NOT_JSON`, `M_TOO_LARGE`, ...); content over the limits, refused before sending | permanent |
//!
//! The message names the status, the `errcode` and the homeserver's `error` text, never the token.
//! Retrying is the caller's: a retry of the same message is always safe.
//!
//! Main items:
//! - [`MatrixConfig`]: the `[matrix]` section of a configuration file, checked by
//!   [`MatrixConfig::build`] into a [`MatrixProvider`] (or [`ConfigError`], naming the key).
//! - [`MatrixProvider`]: sends, replies in threads and edits; [`MatrixProvider::new`] and its
//!   `with_*` methods build one in code.
//! - [`MatrixRenderer`]: the pure [`Renderer`](stripe_chat_message::Renderer) for `matrix`, with
//!   its [`MsgType`] option (`m.notice` by default, or `m.text`).
//! - [`escape_html`]: how event text is made inert in `formatted_body`.
//! - [`thread_reply`] and [`edit`]: the content rewritten as a reply in a thread, or as an edit of
//!   an earlier message, per the Matrix spec.
//! - [`validate_limits`]: checks content against the size limit and the spec's HTML subset.
//! - [`limits`]: the documented limits the renderer keeps to.
//!
//! # Configuration
//!
//! ```toml
//! [matrix]
//! homeserver = "https://matrix.example.org"
//! room_id = "!ops:example.org"                    # the room's id, not an alias
//! access_token_env = "STRIPE_CHAT_MATRIX_TOKEN"   # or access_token_file = "/run/secrets/matrix_token",
//!                                                 # or access_token = "syt_..." (a secret)
//! msgtype = "m.notice"                            # m.notice (default) or m.text
//! # timeout_secs = 10
//! ```
//!
//! The token is the access token of the bot's user (a member of the room, allowed to post);
//! `STRIPE_CHAT_MATRIX_TOKEN` is the name we suggest for its environment variable. Keep the same
//! token: transaction ids are remembered per device, so a retry with another login could post
//! twice.
//!
//! ```
//! use stripe_chat_matrix::MatrixConfig;
//! use stripe_chat_message::{Capabilities, ChatProvider};
//!
//! let config: MatrixConfig = toml::from_str(r#"
//!     homeserver = "https://matrix.example.org"
//!     room_id = "!ops:example.org"
//!     access_token = "syt_Ym90_SECRET"
//! "#)?;
//! let provider = config.build()?;
//! assert_eq!(
//!     provider.capabilities(),
//!     Capabilities::FULL.with_link_buttons(false).with_interactive(false),
//! );
//! assert!(!format!("{provider:?}").contains("SECRET"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Rendering
//!
//! Matrix has no buttons: callback actions are listed as text, link actions as links.
//!
//! ```
//! use stripe_chat_message::{Action, ChatMessage, ObjectKind, ObjectRef, Renderer, Severity};
//! use stripe_chat_matrix::{MatrixRenderer, thread_reply, validate_limits};
//!
//! let invoice = ObjectRef::new(ObjectKind::Invoice, "in_1MtHbELkdIwHu7ixl4OzzPMv");
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
//! # Ok::<(), stripe_chat_message::RenderError>(())
//! ```
//!
//! # Tests against a real homeserver
//!
//! `tests/conformance.rs` runs the shared adapter conformance suite against a mock server.
//! `tests/synapse_e2e.rs` checks sending, threads, edits, idempotent retries and recovery from
//! rate limiting against a real Synapse; its tests are ignored unless asked for. From the
//! workspace root:
//!
//! ```sh
//! tests/synapse/run.sh      # starts Synapse (127.0.0.1:8008), runs the tests, stops it
//! ```
//!
//! or, step by step:
//!
//! ```sh
//! tests/synapse/start.sh    # venv + matrix-synapse under target/synapse, users bot and reader, a room
//! set -a; . target/synapse/env; set +a
//! cargo test -p stripe-chat-matrix --test synapse_e2e -- --ignored --test-threads=1
//! tests/synapse/stop.sh
//! ```
//!
//! # Feature flags
//!
//! - `client` (default): delivery, that is `MatrixProvider`, `MatrixConfig` and `MatrixFactory`,
//!   with what they need: an HTTP client (`reqwest`) and `stripe-chat-http`. Without it
//!   (`stripe-chat-matrix = { version = "0.1", default-features = false }`), the crate is
//!   the renderer alone: [`MatrixRenderer`], [`escape_html`], [`thread_reply`],
//!   [`edit`], [`validate_limits`] and [`limits`], and pulls in no HTTP client.
#![forbid(unsafe_code)]
// The crate documentation speaks of delivery, which exists with the `client` feature.
#![cfg_attr(not(feature = "client"), allow(rustdoc::broken_intra_doc_links))]

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod config;
#[cfg(feature = "client")]
mod error;
#[cfg(feature = "client")]
mod factory;
pub mod limits;
mod relations;
mod render;
mod validate;

#[cfg(feature = "client")]
pub use client::MatrixProvider;
#[cfg(feature = "client")]
pub use config::{DEFAULT_TIMEOUT_SECS, MatrixConfig};
#[cfg(feature = "client")]
pub use factory::MatrixFactory;
pub use relations::{edit, thread_reply};
pub use render::{MatrixRenderer, MsgType, escape_html};
#[cfg(feature = "client")]
pub use stripe_chat_message::ConfigError;
pub use validate::validate_limits;

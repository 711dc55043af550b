//! Stripe webhook events for stripe-chat.
//!
//! - [`WebhookVerifier`] checks the `Stripe-Signature` header on the raw request body as Stripe's own
//!   libraries do: any matching `v1` signature, several endpoint secrets at once (while a secret is
//!   rolled), a tolerance on the timestamp (300 s by default), constant-time comparison. Each way a
//!   request can fail has its own [`SignatureError`].
//! - [`StripeEvent`] keeps the raw JSON, reads the envelope (id, type, created, livemode,
//!   api_version, account, previous_attributes) and offers lenient [`views`] of invoices, payment
//!   intents, charges, disputes, customers and subscriptions that work across API versions from 2019
//!   to today. Any well-formed event of any type or version is accepted; the strictly typed
//!   async-stripe model is there through [`StripeEvent::typed`] when it parses.
//! - [`Enrichment`]: what was added to an event after it arrived (details read from Stripe, or
//!   the note that they could not be; the customer's [`LastContact`]), carried by
//!   [`StripeEvent::enriched`] to the transformers.
//! - [`Money`] formats amounts by the currency's exponent (`5,000 JPY`, `1.500 KWD`, `20.00 USD`).
//! - [`links::Dashboard`] makes links into the Stripe Dashboard (test mode, Connect accounts).
//! - [`ids`] reads which kind of object a Stripe id names (`in_…` is an invoice).
//! - [`catalog`] puts Stripe's codes (decline codes, dispute reasons, ...) into words, and says
//!   which events make an earlier notice moot.
//! - [`EventPattern`] matches event types (`invoice.paid`, `charge.dispute.*`, `*`), for routes
//!   and transformer registries alike.
//!
//! ```
//! use stripe_chat_events::{sign, StripeEvent, WebhookVerifier};
//!
//! let body = br#"{"id":"evt_1","object":"event","type":"charge.dispute.created","created":1764000000,
//!   "livemode":true,"data":{"object":{"id":"dp_1","object":"dispute","amount":5000,"currency":"jpy",
//!   "reason":"fraudulent","status":"needs_response","evidence_details":{"due_by":1764800000}}}}"#;
//! let header = sign(body, "whsec_test", 1_764_000_000);
//!
//! let verifier = WebhookVerifier::new(["whsec_test"]);
//! verifier.verify_at(body, Some(&header), 1_764_000_010)?;
//! let event = StripeEvent::from_slice(body)?;
//! let dispute = event.dispute().expect("a dispute");
//! assert_eq!(dispute.money("amount").map(|m| m.to_string()).as_deref(), Some("5,000 JPY"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Features: `typed` (default) adds async-stripe's strictly typed event model
//! ([`StripeEvent::typed`], the [`typed`] module), from async-stripe's webhook crate without any
//! resource features (the shared types cover invoices, charges, disputes, payment intents,
//! customers and subscriptions). With `default-features = false`, the lenient views, signature
//! verification, money and links work the same and async-stripe is not compiled.
#![forbid(unsafe_code)]

pub mod catalog;
mod enrichment;
mod event;
pub mod ids;
pub mod links;
pub mod money;
mod pattern;
mod signature;
pub mod views;

pub use enrichment::{Enrichment, LastContact};
#[cfg(feature = "typed")]
pub use event::TypedParseError;
pub use event::{EventError, StripeEvent};
pub use money::Money;
pub use pattern::EventPattern;
pub use signature::{DEFAULT_TOLERANCE, SignatureError, WebhookSecret, WebhookVerifier, sign};

/// async-stripe's strictly typed event model, re-exported for [`StripeEvent::typed`] (feature
/// `typed`).
///
/// ```
/// fn kind(event: &stripe_chat_events::typed::Event) -> &str { event.type_.as_str() }
/// # let _ = kind;
/// ```
#[cfg(feature = "typed")]
pub mod typed {
    pub use stripe_webhook::{Event, EventObject, EventType};
}

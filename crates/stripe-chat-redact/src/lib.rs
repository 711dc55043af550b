//! Redaction for stripe-chat: what a chat channel may see of a Stripe event.
//!
//! A transformer turns a Stripe event into a [`ChatMessage`](stripe_chat_message::ChatMessage);
//! before an adapter renders it, a [`RedactionPolicy`] rewrites its text. Card numbers are masked
//! in every piece of text at every level; emails, phone numbers and addresses are masked by the
//! [`Visibility`] of the channel; custom [`FieldRule`]s keep, mask, replace or drop fields by label.
//!
//! Main items:
//! - [`RedactionPolicy`]: the trait, implemented for closures, boxed and shared policies, and
//!   combined with [`RedactionPolicy::then`] or a [`Chain`].
//! - [`DefaultPolicy`]: the configurable policy, built with [`DefaultPolicy::new`] and
//!   [`DefaultPolicy::with_rule`] or read from a [`RedactionConfig`] (serde, e.g. TOML).
//! - [`mask_card_numbers`] / [`find_card_numbers`]: card number (PAN) detection on its own, one pass
//!   over the bytes, no allocation when nothing matches. Also [`mask_emails`] and
//!   [`mask_phone_numbers`].
//!
//! ```
//! use stripe_chat_message::{ChatMessage, FieldKind};
//! use stripe_chat_redact::{DefaultPolicy, FieldAction, FieldRule, RedactionPolicy, Visibility};
//!
//! let policy = DefaultPolicy::new(Visibility::Public)
//!     .with_rule(FieldRule::new("Metadata tax_id", FieldAction::Mask));
//! let message = ChatMessage::new("Payment failed: Jenny Rosen")
//!     .summary("Customer wrote: my card 4242 4242 4242 4242 was declined, call +49 151 23456787")
//!     .field_of_kind("Email", "jenny@example.com", FieldKind::Email)
//!     .field_of_kind("Card", "Visa 4242424242424242", FieldKind::Card)
//!     .field("Metadata tax_id", "DE123456789")
//!     .link("Payment", "https://dashboard.stripe.com/payments/pi_3MtwBwLkdIwHu7ix28a3tqPa");
//!
//! let redacted = policy.redact(message);
//! assert_eq!(redacted.title, "Payment failed: Jenny Rosen");
//! assert_eq!(
//!     redacted.summary,
//!     "Customer wrote: my card •••• 4242 was declined, call •••• •• 87"
//! );
//! let values: Vec<&str> = redacted.fields.iter().map(|f| f.value.as_str()).collect();
//! assert_eq!(values, ["j•••@example.com", "Visa •••• 4242", "••••"]);
//! assert_eq!(redacted.links[0].url, "https://dashboard.stripe.com/payments/pi_3MtwBwLkdIwHu7ix28a3tqPa");
//! // Idempotent: redacting again changes nothing.
//! assert_eq!(policy.redact(redacted.clone()), redacted);
//! ```
#![forbid(unsafe_code)]

mod default;
mod email;
mod kinds;
mod pan;
mod phone;
mod policy;
mod rules;
mod visibility;

pub use default::{DefaultPolicy, RedactionConfig};
pub use email::mask_emails;
pub use pan::{CardNumbers, find_card_numbers, mask_card_numbers};
pub use phone::mask_phone_numbers;
pub use policy::{Chain, RedactionPolicy, Then};
pub use rules::{FieldAction, FieldRule};
pub use visibility::Visibility;

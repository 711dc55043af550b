//! Turns Stripe events into provider-neutral chat messages.
//!
//! - [`Transformer`]: one event in, `Ok(Some(message))`, or `Ok(None)` when there is nothing worth
//!   saying (noise control), or an error. Pure and synchronous. Any closure
//!   `Fn(&StripeEvent) -> Result<Option<ChatMessage>, TransformError>` is a transformer.
//! - [`Registry`]: picks the transformer for an event by event-type pattern (`invoice.paid`,
//!   `charge.dispute.*`, `*`), with a [`builtin::Generic`] fallback that renders any event usefully.
//!   [`Registry::with_builtins`] registers the built-in transformers for the payment flows.
//! - [`builtin`]: invoices paid and failed, payment failures, disputes, customer billing changes,
//!   subscriptions, refunds, and the generic fallback.
//! - [`digest`]: one summary message for the many events of a route's digest window.
//!
//! ```
//! use stripe_chat_events::StripeEvent;
//! use stripe_chat_message::ChatMessage;
//! use stripe_chat_transform::{Registry, TransformError};
//!
//! let mut registry = Registry::with_builtins();
//! // A team's own rule for payouts, beside the built-ins.
//! registry.register("payout.*", |event: &StripeEvent| -> Result<Option<ChatMessage>, TransformError> {
//!     Ok(Some(ChatMessage::new(format!("Payout event {}", event.id()))))
//! });
//!
//! let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"payout.paid",
//!     "created":1764000000,"data":{"object":{"id":"po_1","object":"payout"}}}"#)?;
//! let message = registry.transform(&event).expect("payouts are reported");
//! assert_eq!(message.title, "Payout event evt_1");
//! # Ok::<(), stripe_chat_events::EventError>(())
//! ```
//!
//! This crate has no feature flags.
#![forbid(unsafe_code)]

use std::sync::Arc;

use stripe_chat_events::StripeEvent;
use stripe_chat_message::ChatMessage;

pub mod builtin;
pub mod digest;

/// Event-type patterns, as the registry matches them (defined with the events they match).
pub use stripe_chat_events::EventPattern;

/// Why a transformer could not make a message.
///
/// ```
/// let e = stripe_chat_transform::TransformError::unexpected("invoice.paid", "data.object is not an invoice");
/// assert_eq!(e.to_string(), "cannot describe invoice.paid: data.object is not an invoice");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransformError {
    /// The event lacks what this transformer needs.
    #[error("cannot describe {event_type}: {reason}")]
    Unexpected {
        /// The event type.
        event_type: String,
        /// What was wrong.
        reason: String,
    },
    /// A custom transformer's own error.
    #[error(transparent)]
    Custom(#[from] Box<dyn std::error::Error + Send + Sync>),
}

impl TransformError {
    /// An event that does not have the shape the transformer expects.
    ///
    /// ```
    /// let e = stripe_chat_transform::TransformError::unexpected("x", "y");
    /// assert!(matches!(e, stripe_chat_transform::TransformError::Unexpected { .. }));
    /// ```
    pub fn unexpected(event_type: impl Into<String>, reason: impl Into<String>) -> Self {
        TransformError::Unexpected {
            event_type: event_type.into(),
            reason: reason.into(),
        }
    }
}

/// Turns one Stripe event into a chat message, or declines it.
///
/// Return `Ok(None)` for an event not worth a message (for example a `customer.updated` that
/// changed nothing billing-related). Keep it pure: no I/O, no clock (use the event's `created`).
///
/// ```
/// use stripe_chat_events::StripeEvent;
/// use stripe_chat_message::{ChatMessage, Severity};
/// use stripe_chat_transform::{TransformError, Transformer};
///
/// struct LargePayments { threshold: i64 }
///
/// impl Transformer for LargePayments {
///     fn transform(&self, event: &StripeEvent) -> Result<Option<ChatMessage>, TransformError> {
///         let Some(pi) = event.payment_intent() else { return Ok(None) };
///         if pi.amount().unwrap_or(0) < self.threshold {
///             return Ok(None);
///         }
///         let amount = pi.money("amount").map(|m| m.to_string()).unwrap_or_default();
///         Ok(Some(ChatMessage::new(format!("Large payment: {amount}")).severity(Severity::Success)))
///     }
/// }
///
/// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded",
///   "created":1,"data":{"object":{"object":"payment_intent","amount":900000,"currency":"usd"}}}"#)?;
/// let message = LargePayments { threshold: 100_000 }.transform(&event).unwrap().unwrap();
/// assert_eq!(message.title, "Large payment: 9,000.00 USD");
/// # Ok::<(), stripe_chat_events::EventError>(())
/// ```
pub trait Transformer: Send + Sync {
    /// The message for `event`, or `None` to say nothing.
    fn transform(&self, event: &StripeEvent) -> Result<Option<ChatMessage>, TransformError>;
}

impl<F> Transformer for F
where
    F: Fn(&StripeEvent) -> Result<Option<ChatMessage>, TransformError> + Send + Sync,
{
    fn transform(&self, event: &StripeEvent) -> Result<Option<ChatMessage>, TransformError> {
        self(event)
    }
}

impl<T: Transformer + ?Sized> Transformer for Arc<T> {
    fn transform(&self, event: &StripeEvent) -> Result<Option<ChatMessage>, TransformError> {
        (**self).transform(event)
    }
}

struct Entry {
    pattern: EventPattern,
    transformer: Arc<dyn Transformer>,
    order: usize,
}

/// Picks the transformer for each event by event-type pattern.
///
/// For an event, every registered pattern that matches its type is a candidate; the most specific
/// one wins (an exact type beats a glob, a longer glob beats a shorter one), and among equally
/// specific patterns the one registered last wins, so your own transformers override the built-ins.
/// When no pattern matches, or the chosen transformer fails, the [`builtin::Generic`] fallback
/// describes the event, so no event is ever dropped by mistake. A transformer that returns
/// `Ok(None)` declines the event on purpose.
///
/// ```
/// use stripe_chat_events::StripeEvent;
/// use stripe_chat_transform::Registry;
///
/// let registry = Registry::with_builtins();
/// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"brand_new.event",
///     "created":1,"data":{"object":{"id":"bn_1","object":"brand_new"}}}"#)?;
/// let message = registry.transform(&event).expect("the generic fallback speaks for unknown types");
/// assert!(message.title.contains("Brand new event"));
/// # Ok::<(), stripe_chat_events::EventError>(())
/// ```
pub struct Registry {
    entries: Vec<Entry>,
    fallback: Arc<dyn Transformer>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field(
                "patterns",
                &self
                    .entries
                    .iter()
                    .map(|e| e.pattern.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::with_builtins()
    }
}

impl Registry {
    /// A registry with no transformers but the generic fallback.
    ///
    /// ```
    /// let r = stripe_chat_transform::Registry::empty();
    /// assert_eq!(r.patterns().count(), 0);
    /// ```
    pub fn empty() -> Self {
        Registry {
            entries: Vec::new(),
            fallback: Arc::new(builtin::Generic),
        }
    }

    /// A registry with every built-in transformer (see [`builtin::register_all`]).
    ///
    /// ```
    /// let r = stripe_chat_transform::Registry::with_builtins();
    /// assert!(r.patterns().any(|p| p == "charge.dispute.*"));
    /// ```
    pub fn with_builtins() -> Self {
        let mut registry = Registry::empty();
        builtin::register_all(&mut registry);
        registry
    }

    /// Registers `transformer` for event types matching `pattern` (`*` matches any run of
    /// characters, including dots).
    ///
    /// ```
    /// use stripe_chat_events::StripeEvent;
    /// use stripe_chat_message::ChatMessage;
    /// use stripe_chat_transform::{Registry, TransformError};
    /// let mut r = Registry::empty();
    /// r.register("invoice.*", |_: &StripeEvent| -> Result<Option<ChatMessage>, TransformError> { Ok(None) });
    /// assert_eq!(r.patterns().collect::<Vec<_>>(), vec!["invoice.*"]);
    /// ```
    pub fn register(
        &mut self,
        pattern: impl Into<EventPattern>,
        transformer: impl Transformer + 'static,
    ) -> &mut Self {
        let order = self.entries.len();
        self.entries.push(Entry {
            pattern: pattern.into(),
            transformer: Arc::new(transformer),
            order,
        });
        self
    }

    /// Replaces the fallback used when no pattern matches (the default is [`builtin::Generic`]).
    ///
    /// ```
    /// use stripe_chat_events::StripeEvent;
    /// use stripe_chat_message::ChatMessage;
    /// use stripe_chat_transform::{Registry, TransformError};
    /// let mut r = Registry::empty();
    /// // Say nothing about events no transformer knows.
    /// r.set_fallback(|_: &StripeEvent| -> Result<Option<ChatMessage>, TransformError> { Ok(None) });
    /// ```
    pub fn set_fallback(&mut self, transformer: impl Transformer + 'static) -> &mut Self {
        self.fallback = Arc::new(transformer);
        self
    }

    /// The registered patterns, in registration order.
    ///
    /// ```
    /// assert!(stripe_chat_transform::Registry::with_builtins().patterns().any(|p| p == "invoice.paid"));
    /// ```
    pub fn patterns(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().map(|e| e.pattern.as_str())
    }

    /// The transformer chosen for `event_type`, if a pattern matches.
    fn select(&self, event_type: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.pattern.matches(event_type))
            .max_by_key(|e| (e.pattern.specificity(), e.order))
    }

    /// The message for `event`, or `None` when its transformer declined it.
    ///
    /// A transformer's error is logged and the generic fallback speaks instead, so a bug in one
    /// transformer never loses an event. Use [`Registry::try_transform`] to see errors.
    ///
    /// ```
    /// use stripe_chat_events::StripeEvent;
    /// let registry = stripe_chat_transform::Registry::with_builtins();
    /// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"customer.updated",
    ///   "created":1,"data":{"object":{"id":"cus_1","object":"customer"},"previous_attributes":{"metadata":{}}}}"#)?;
    /// assert!(registry.transform(&event).is_none(), "a metadata-only change is noise");
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn transform(&self, event: &StripeEvent) -> Option<ChatMessage> {
        match self.try_transform(event) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(
                    event_id = event.id(),
                    event_type = event.event_type(),
                    %error,
                    "transformer failed; using the generic message"
                );
                builtin::Generic.describe(event)
            }
        }
    }

    /// The message for `event`, with the chosen transformer's error if it fails.
    ///
    /// ```
    /// use stripe_chat_events::StripeEvent;
    /// let registry = stripe_chat_transform::Registry::with_builtins();
    /// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"invoice.paid",
    ///   "created":1,"data":{"object":{"id":"in_1","object":"invoice","amount_paid":100,"currency":"usd"}}}"#)?;
    /// assert!(registry.try_transform(&event).unwrap().is_some());
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn try_transform(
        &self,
        event: &StripeEvent,
    ) -> Result<Option<ChatMessage>, TransformError> {
        match self.select(event.event_type()) {
            Some(entry) => entry.transformer.transform(event),
            None => self.fallback.transform(event),
        }
    }
}

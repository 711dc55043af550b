//! The one path from a Stripe event to a message a chat platform may see: transform, then redact.
//!
//! [`Pipeline`] joins a transformer [`Registry`] and a [`RedactionPolicy`], so that every message
//! leaves through the policy: no transformer, custom or built-in, can skip it. `stripe-chat render`
//! and the service's delivery workers both make their messages here, one event at a time
//! ([`Pipeline::message`]) or many at once in a digest's summary ([`Pipeline::summary`]).
//!
//! It is a crate of its own so that each stage keeps to what comes before it: transformers know
//! events and messages, policies know messages, and this crate puts the two in order.
//!
//! ```
//! use stripe_chat_events::StripeEvent;
//! use stripe_chat_pipeline::Pipeline;
//! use stripe_chat_redact::{DefaultPolicy, Visibility};
//! use stripe_chat_transform::Registry;
//!
//! let pipeline = Pipeline::new(Registry::with_builtins(), DefaultPolicy::new(Visibility::Public));
//! let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"invoice.payment_failed",
//!   "created":1764000000,"livemode":false,"data":{"object":{"id":"in_1","object":"invoice",
//!   "customer_name":"Jenny 4242 4242 4242 4242 Rosen","amount_due":2000,"currency":"usd","attempt_count":1}}}"#)?;
//! let message = pipeline.message(&event).expect("a failed payment is worth a message");
//! assert!(message.title.contains("Jenny •••• 4242 Rosen"), "{}", message.title);
//! # Ok::<(), stripe_chat_events::EventError>(())
//! ```
//!
//! This crate has no feature flags.
#![forbid(unsafe_code)]

use std::fmt;
use std::sync::Arc;

use stripe_chat_events::StripeEvent;
use stripe_chat_message::ChatMessage;
use stripe_chat_redact::{DefaultPolicy, RedactionConfig, RedactionPolicy};
use stripe_chat_route::DigestWindow;
use stripe_chat_transform::Registry;
use stripe_chat_transform::digest::summarize;

/// Transform then redact: every message leaves through the redaction policy.
///
/// Cheap to clone: the registry and the policy are shared. [`Pipeline::shared`] makes pipelines
/// with one registry and a policy each, one per destination.
///
/// ```
/// use stripe_chat_pipeline::Pipeline;
/// use stripe_chat_redact::{DefaultPolicy, Visibility};
/// use stripe_chat_transform::Registry;
///
/// let pipeline = Pipeline::new(Registry::with_builtins(), DefaultPolicy::new(Visibility::Restricted));
/// let event = stripe_chat_events::StripeEvent::from_slice(br#"{"id":"evt_1","object":"event",
///   "type":"payout.paid","created":1,"data":{"object":{"id":"po_1","object":"payout"}}}"#)?;
/// assert!(pipeline.message(&event).is_some());
/// # Ok::<(), stripe_chat_events::EventError>(())
/// ```
#[derive(Clone)]
pub struct Pipeline {
    registry: Arc<Registry>,
    policy: Arc<dyn RedactionPolicy>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// A pipeline with these transformers and this redaction policy.
    ///
    /// ```
    /// use stripe_chat_pipeline::Pipeline;
    /// use stripe_chat_redact::{DefaultPolicy, Visibility};
    /// let _ = Pipeline::new(stripe_chat_transform::Registry::empty(), DefaultPolicy::new(Visibility::Public));
    /// ```
    pub fn new(registry: Registry, policy: impl RedactionPolicy + 'static) -> Self {
        Pipeline {
            registry: Arc::new(registry),
            policy: Arc::new(policy),
        }
    }

    /// The built-in transformers and the redaction policy `config` describes.
    ///
    /// ```
    /// let _ = stripe_chat_pipeline::Pipeline::from_config(&Default::default());
    /// ```
    pub fn from_config(config: &RedactionConfig) -> Self {
        Pipeline::new(
            Registry::with_builtins(),
            DefaultPolicy::from_config(config),
        )
    }

    /// A pipeline over transformers and a policy that other pipelines may share: one registry
    /// for every destination, each with its own policy.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use stripe_chat_pipeline::Pipeline;
    /// use stripe_chat_redact::{DefaultPolicy, Visibility};
    /// let transformers = Arc::new(stripe_chat_transform::Registry::with_builtins());
    /// let public = Pipeline::shared(Arc::clone(&transformers), Arc::new(DefaultPolicy::new(Visibility::Public)));
    /// let internal = Pipeline::shared(transformers, Arc::new(DefaultPolicy::new(Visibility::Internal)));
    /// # let _ = (public, internal);
    /// ```
    pub fn shared(registry: Arc<Registry>, policy: Arc<dyn RedactionPolicy>) -> Self {
        Pipeline { registry, policy }
    }

    /// The transformers.
    ///
    /// ```
    /// let pipeline = stripe_chat_pipeline::Pipeline::from_config(&Default::default());
    /// assert!(pipeline.registry().patterns().any(|p| p == "invoice.paid"));
    /// ```
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The redacted message for `event`, or `None` when its transformer declined it.
    ///
    /// ```
    /// let pipeline = stripe_chat_pipeline::Pipeline::from_config(&Default::default());
    /// let event = stripe_chat_events::StripeEvent::from_slice(br#"{"id":"evt_1","object":"event",
    ///   "type":"x.y","created":1,"data":{"object":{"note":"card 4111 1111 1111 1111"}}}"#)?;
    /// assert!(pipeline.message(&event).is_some());
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn message(&self, event: &StripeEvent) -> Option<ChatMessage> {
        self.registry
            .transform(event)
            .map(|message| self.policy.redact(message))
    }

    /// The redacted summary of the `events` of a digest `window`, listing the `top` largest (see
    /// [`summarize`](stripe_chat_transform::digest::summarize)).
    ///
    /// ```
    /// use stripe_chat_route::DigestWindow;
    /// let pipeline = stripe_chat_pipeline::Pipeline::from_config(&Default::default());
    /// let event = stripe_chat_events::StripeEvent::from_slice(br#"{"id":"evt_1","object":"event",
    ///   "type":"charge.succeeded","created":1700000000,"data":{"object":{"id":"ch_1","object":"charge",
    ///   "amount":500,"currency":"usd","description":"card 4111 1111 1111 1111"}}}"#)?;
    /// let summary = pipeline.summary(&DigestWindow::new("sales", 1_700_000_000, 60), 3, &[event]);
    /// assert_eq!(summary.title, "Digest: 1 event in 1 min");
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn summary(
        &self,
        window: &DigestWindow,
        top: usize,
        events: &[StripeEvent],
    ) -> ChatMessage {
        self.policy.redact(summarize(window, top, events))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stripe_chat_redact::Visibility;

    fn event(raw: &str) -> StripeEvent {
        StripeEvent::from_json(raw.to_owned()).expect("an event")
    }

    #[test]
    fn a_custom_transformers_message_leaves_through_the_policy() {
        let mut registry = Registry::empty();
        registry.register(
            "payout.paid",
            |_: &StripeEvent| -> Result<Option<ChatMessage>, stripe_chat_transform::TransformError> {
                Ok(Some(ChatMessage::new("Paid to 4000 0566 5566 5556 for jenny@example.com")))
            },
        );
        let pipeline = Pipeline::new(registry, DefaultPolicy::new(Visibility::Public));
        let message = pipeline
            .message(&event(r#"{"id":"evt_1","object":"event","type":"payout.paid","created":1,"data":{"object":{}}}"#))
            .expect("a message");
        assert!(!message.title.contains("4000 0566"), "{}", message.title);
        assert!(message.title.contains("5556"), "{}", message.title);
    }

    #[test]
    fn pipelines_with_another_policy_share_the_transformers_and_keep_their_own_policy() {
        let registry = Arc::new(Registry::with_builtins());
        let public = Pipeline::shared(
            Arc::clone(&registry),
            Arc::new(DefaultPolicy::from_config(&RedactionConfig::default())),
        );
        let restricted = Pipeline::shared(
            registry,
            Arc::new(DefaultPolicy::new(Visibility::Restricted)),
        );
        assert!(Arc::ptr_eq(&public.registry, &restricted.registry));
        let declined = event(
            r#"{"id":"evt_1","object":"event","type":"customer.updated","created":1,"data":{"object":{"id":"cus_1","object":"customer"},"previous_attributes":{"metadata":{}}}}"#,
        );
        assert!(
            public.message(&declined).is_none(),
            "a declined event stays declined"
        );
        let digest = event(
            r#"{"id":"evt_2","object":"event","type":"charge.succeeded","created":1700000000,"data":{"object":{"id":"ch_1","object":"charge","amount":500,"currency":"usd"}}}"#,
        );
        let window = DigestWindow::new("sales", 1_700_000_000, 60);
        assert_eq!(
            restricted
                .summary(&window, 3, std::slice::from_ref(&digest))
                .title,
            "Digest: 1 event in 1 min"
        );
    }
}

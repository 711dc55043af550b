//! The fallback for every event without a transformer of its own.

use serde_json::Value;
use stripe_chat_events::{Money, StripeEvent};
use stripe_chat_message::{ChatMessage, ObjectKind, ObjectRef, Severity};

use super::{base, finish, type_in_words};
use crate::{TransformError, Transformer};

/// Describes any event: its type in words, the object and its id, the amount if any, its status,
/// and links to the object and the event in the Dashboard.
///
/// ```
/// use stripe_chat_events::StripeEvent;
/// use stripe_chat_transform::{builtin::Generic, Transformer};
/// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"payout.paid","created":1,
///   "data":{"object":{"id":"po_1","object":"payout","amount":120000,"currency":"eur","status":"paid"}}}"#)?;
/// let m = Generic.transform(&event).unwrap().unwrap();
/// assert_eq!(m.title, "Payout paid: 1,200.00 EUR");
/// assert!(m.links.iter().any(|l| l.url.ends_with("/events/evt_1")));
/// # Ok::<(), stripe_chat_events::EventError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Generic;

impl Generic {
    /// The generic message for `event` (never declines).
    ///
    /// ```
    /// use stripe_chat_events::StripeEvent;
    /// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"x.y","created":1,"data":{"object":{}}}"#)?;
    /// assert!(stripe_chat_transform::builtin::Generic.describe(&event).is_some());
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn describe(&self, event: &StripeEvent) -> Option<ChatMessage> {
        let object = event.object();
        let amount = ["amount", "amount_due", "amount_paid", "amount_total"]
            .iter()
            .find_map(|key| object.get(*key).and_then(Value::as_i64))
            .zip(object.get("currency").and_then(Value::as_str))
            .map(|(amount, currency)| Money::new(amount, currency));
        let mut title = type_in_words(event.event_type());
        if let Some(amount) = &amount {
            title.push_str(&format!(": {amount}"));
        }
        let subject = event.object_ref();
        let summary = match (&subject, event.object_name()) {
            (Some(subject), Some(name)) => format!(
                "Stripe sent {} about {} {}.",
                event.event_type(),
                name.replace('_', " "),
                subject.id
            ),
            _ => format!("Stripe sent {}.", event.event_type()),
        };
        let mut m = base(event, title, Severity::Info, None).summary(summary);
        m = m.field("Event", event.event_type());
        if let Some(name) = event.object_name() {
            m = m.field("Object", name);
        }
        if let Some(subject) = &subject {
            m = m.field("Id", subject.id.as_str());
        }
        if let Some(amount) = &amount {
            m = m.field("Amount", amount.to_string());
        }
        if let Some(status) = object.get("status").and_then(Value::as_str) {
            m = m.field("Status", status.replace('_', " "));
        }
        let event_ref = ObjectRef::new(ObjectKind::Event, event.id());
        m = m.link("Event in Stripe", event.dashboard().object(&event_ref));
        if subject.is_none() {
            m = m.thread(event_ref);
        }
        Some(finish(event, m))
    }
}

impl Transformer for Generic {
    fn transform(&self, event: &StripeEvent) -> Result<Option<ChatMessage>, TransformError> {
        Ok(self.describe(event))
    }
}

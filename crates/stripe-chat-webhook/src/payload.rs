//! The JSON body of a webhook.

use serde::{Deserialize, Serialize};
use stripe_chat_message::ChatMessage;

/// What a webhook announces.
///
/// ```
/// use stripe_chat_webhook::PayloadType;
/// assert_eq!(serde_json::to_string(&PayloadType::MessageUpdated)?, "\"message.updated\"");
/// assert_eq!(PayloadType::MessageCreated.as_str(), "message.created");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum PayloadType {
    /// A new message, possibly a reply in a thread (`thread` is then set).
    #[serde(rename = "message.created")]
    MessageCreated,
    /// A new version of the message `message_id` (the receiver replaces what it shows).
    #[serde(rename = "message.updated")]
    MessageUpdated,
}

impl PayloadType {
    /// The name as sent in `type`.
    ///
    /// ```
    /// assert_eq!(stripe_chat_webhook::PayloadType::MessageUpdated.as_str(), "message.updated");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadType::MessageCreated => "message.created",
            PayloadType::MessageUpdated => "message.updated",
        }
    }
}

/// The thread a message belongs to: the id of its first message, as the receiver named it (its
/// answer's `id`) or, when it named none, that message's delivery id.
///
/// ```
/// let t = stripe_chat_webhook::ThreadRef { message_id: "msg_1".into() };
/// assert_eq!(serde_json::to_value(&t)?, serde_json::json!({"message_id": "msg_1"}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ThreadRef {
    /// The id of the thread's first message.
    pub message_id: String,
}

/// The body of every webhook request, for receivers to parse after [`verify`](crate::verify).
///
/// ```json
/// {
///   "type": "message.created",
///   "delivery_id": "evt_1NG8Du2eZvKYlo2CUI79vXWy.billing-service",
///   "thread": null,
///   "message": { "title": "Payment failed: 20.00 USD", "severity": "warning", … }
/// }
/// ```
///
/// - `type`: `message.created` or `message.updated` ([`PayloadType`]).
/// - `delivery_id`: the same as the `Stripe-Chat-Delivery` header; identical on every retry of one
///   delivery, so receivers deduplicate on it.
/// - `message_id`: for `message.updated` only, the id of the message to replace.
/// - `thread`: for a reply, the thread's first message ([`ThreadRef`]); else `null`.
/// - `message`: the provider-neutral [`ChatMessage`], already redacted; plain text, no markup.
///
/// ```
/// use stripe_chat_webhook::{Payload, PayloadType};
/// let body = br#"{"type":"message.updated","delivery_id":"dlv_2","message_id":"msg_1","thread":null,
///   "message":{"title":"Dispute won"}}"#;
/// let payload: Payload = serde_json::from_slice(body)?;
/// assert_eq!(payload.kind, PayloadType::MessageUpdated);
/// assert_eq!(payload.message_id.as_deref(), Some("msg_1"));
/// assert_eq!(payload.message.title, "Dispute won");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// `message.created` or `message.updated`.
    #[serde(rename = "type")]
    pub kind: PayloadType,
    /// The delivery id (also in the `Stripe-Chat-Delivery` header).
    pub delivery_id: String,
    /// For an update, the message it replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// For a reply, its thread.
    #[serde(default)]
    pub thread: Option<ThreadRef>,
    /// The message.
    pub message: ChatMessage,
}

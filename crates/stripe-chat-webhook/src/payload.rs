//! The JSON body of a webhook, and its delivery id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
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
///   "delivery_id": "dlv_0f3c…",
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

/// The body as sent, borrowing the message. Serializes exactly as [`Payload`].
#[derive(Serialize)]
pub(crate) struct PayloadOut<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: PayloadType,
    pub(crate) delivery_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message_id: Option<&'a str>,
    pub(crate) thread: Option<ThreadOut<'a>>,
    pub(crate) message: &'a ChatMessage,
}

#[derive(Serialize)]
pub(crate) struct ThreadOut<'a> {
    pub(crate) message_id: &'a str,
}

/// What a delivery is, which goes into its id.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DeliveryKind<'a> {
    Created,
    Reply { root: &'a str },
    Update { of: &'a str },
}

/// `dlv_` and the first 128 bits of SHA-256 over a versioned, length-prefixed encoding of the
/// destination (name and URL), what is delivered, and the Stripe event behind the message. The
/// same on every retry; a message without a source event gets a fresh id per call.
pub(crate) fn delivery_id(
    name: &str,
    url: &str,
    kind: DeliveryKind<'_>,
    event_id: Option<&str>,
) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);

    let (tag, other) = match kind {
        DeliveryKind::Created => ("created", ""),
        DeliveryKind::Reply { root } => ("reply", root),
        DeliveryKind::Update { of } => ("update", of),
    };
    let mut hasher = Sha256::new();
    hasher.update(b"stripe-chat/webhook/delivery/v1\0");
    for part in [name, url, tag, other] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    match event_id.filter(|id| !id.is_empty()) {
        Some(event_id) => {
            hasher.update(b"E");
            hasher.update((event_id.len() as u64).to_be_bytes());
            hasher.update(event_id.as_bytes());
        }
        None => {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            hasher.update(b"U");
            hasher.update(nanos.to_be_bytes());
            hasher.update(std::process::id().to_be_bytes());
            hasher.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        }
    }
    format!("dlv_{}", hex::encode(&hasher.finalize()[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://hooks.example.com/stripe-chat";

    #[test]
    fn delivery_ids_are_pinned_so_they_never_change_between_releases() {
        // Receivers deduplicate on them: a changed scheme would make a retry look new.
        // Python: lp = lambda b: len(b).to_bytes(8, "big") + b
        // hashlib.sha256(b"stripe-chat/webhook/delivery/v1\0" + lp(b"ops") + lp(URL) +
        //   lp(b"created") + lp(b"") + b"E" + lp(b"evt_1")).hexdigest()[:32]
        assert_eq!(
            delivery_id("ops", URL, DeliveryKind::Created, Some("evt_1")),
            "dlv_d440251c513834497f68a30609153c78"
        );
    }

    #[test]
    fn each_destination_and_kind_has_its_own_delivery_id() {
        let event = Some("evt_1");
        let created = delivery_id("ops", URL, DeliveryKind::Created, event);
        assert_eq!(
            created,
            delivery_id("ops", URL, DeliveryKind::Created, event)
        );
        for other in [
            delivery_id("finance", URL, DeliveryKind::Created, event),
            delivery_id(
                "ops",
                "https://other.example.com/",
                DeliveryKind::Created,
                event,
            ),
            delivery_id("ops", URL, DeliveryKind::Reply { root: "msg_1" }, event),
            delivery_id("ops", URL, DeliveryKind::Update { of: "msg_1" }, event),
            delivery_id("ops", URL, DeliveryKind::Created, Some("evt_2")),
        ] {
            assert_ne!(created, other);
        }
    }

    #[test]
    fn messages_without_an_event_get_fresh_delivery_ids() {
        assert_ne!(
            delivery_id("ops", URL, DeliveryKind::Created, None),
            delivery_id("ops", URL, DeliveryKind::Created, None)
        );
    }

    #[test]
    fn the_sent_body_parses_as_a_payload() {
        let message = ChatMessage::new("Payment failed").summary("Retry in 3 days");
        let out = PayloadOut {
            kind: PayloadType::MessageCreated,
            delivery_id: "dlv_1",
            message_id: None,
            thread: Some(ThreadOut {
                message_id: "msg_0",
            }),
            message: &message,
        };
        let text = serde_json::to_string(&out).unwrap();
        assert!(
            text.starts_with(r#"{"type":"message.created","delivery_id":"dlv_1","thread":{"message_id":"msg_0"},"message":{"#),
            "{text}"
        );
        let parsed: Payload = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed.message, message);
        assert_eq!(serde_json::to_string(&parsed).unwrap(), text);
    }
}

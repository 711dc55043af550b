//! The generic JSON webhook adapter of stripe-chat: POSTs each provider-neutral message, signed with
//! HMAC-SHA256, to a URL of your choice, so any service can receive stripe-chat's messages.
//!
//! Main items:
//! - [`WebhookConfig`] (from a configuration file; the URL and secret inline, from environment
//!   variables or from files) and [`WebhookBuilder`] (in code), checked into a [`WebhookProvider`].
//! - [`WebhookProvider`]: a [`ChatProvider`](stripe_chat_message::ChatProvider) with updates and
//!   threads; no callback buttons.
//! - [`Payload`]: the JSON body, for receivers to parse.
//! - [`verify`] and [`sign`]: the `Stripe-Chat-Signature` scheme, for receivers written in Rust and
//!   for tests.
//!
//! # The request
//!
//! ```text
//! POST <url>
//! Content-Type: application/json
//! User-Agent: stripe-chat/0.1.0
//! Stripe-Chat-Signature: t=1764000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//! Stripe-Chat-Delivery: evt_1NG8Du2eZvKYlo2CUI79vXWy.billing-service
//!
//! {"type":"message.created","delivery_id":"evt_1NG8Du2eZvKYlo2CUI79vXWy.billing-service","thread":null,"message":{"title":"Payment failed: 20.00 USD",…}}
//! ```
//!
//! - **Body** ([`Payload`]): `type` is `message.created` (a new message, or a reply when `thread` is
//!   `{"message_id": …}`) or `message.updated` (with `message_id`, the message to replace);
//!   `message` is the [`ChatMessage`](stripe_chat_message::ChatMessage), already redacted, in plain
//!   text: escape it for wherever you show it.
//! - **Signature**: `t` is the sending time (Unix seconds); `v1` is the lowercase hex
//!   HMAC-SHA256 of `"{t}.{raw body}"` keyed with the shared secret. Check it on the exact bytes
//!   received, with a tolerance on `t` against replays ([`verify`]: 300 s). Accept any `v1` that
//!   matches, and ignore other schemes, so secrets can be rolled and schemes added.
//! - **Delivery id**: the delivery's
//!   [`IdempotencyKey`](stripe_chat_message::IdempotencyKey), from the Stripe event and the
//!   destination, with what is delivered (`.reply.…` for a reply in a given thread, `.update.…`
//!   for an update of a given message): ASCII letters, digits, `_`, `-`, `.` and `%`. A retry
//!   sends the same id (with a new signature): deduplicate on it.
//! - **Answer**: any 2xx is delivered. Answer `{"id": "<your id>"}` to name the message yourself;
//!   stripe-chat stores it and sends it back as `message_id` in updates and `thread.message_id` in
//!   replies. Without one, the delivery id is the message id.
//! - **Failures** are classified as the other adapters' are: 429 rate-limited (honouring
//!   `Retry-After`), 5xx, 408 and timeouts transient, 401 and 403 unauthorized, other 4xx and 3xx
//!   (redirects are not followed) permanent. An answer's JSON `error` or `message` is quoted in
//!   the error.
//!
//! # Receiving, in Rust
//!
//! ```
//! use std::time::{SystemTime, UNIX_EPOCH};
//! use stripe_chat_webhook::{verify, Payload, PayloadType, SignatureError};
//!
//! /// Your handler gets the raw body and the `Stripe-Chat-Signature` header.
//! fn receive(body: &[u8], signature: &str, secret: &str) -> Result<Payload, Box<dyn std::error::Error>> {
//!     let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
//!     verify(body, signature, secret, now)?; // before parsing: answer 400 on error
//!     Ok(serde_json::from_slice(body)?)
//! }
//!
//! let secret = "0123456789abcdef0123456789abcdef";
//! let body = br#"{"type":"message.created","delivery_id":"dlv_1","thread":null,"message":{"title":"Invoice paid"}}"#;
//! let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
//! let payload = receive(body, &stripe_chat_webhook::sign(body, secret, now), secret)?;
//! assert_eq!(payload.kind, PayloadType::MessageCreated);
//! assert_eq!(payload.message.title, "Invoice paid");
//!
//! let old = stripe_chat_webhook::sign(body, secret, now - 3600);
//! assert!(receive(body, &old, secret).is_err(), "a replayed request is refused");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Sending
//!
//! ```
//! use stripe_chat_message::{ChatMessage, ChatProvider, IdempotencyKey, Secret};
//! use stripe_chat_webhook::{verify, Payload, WebhookBuilder, SIGNATURE_HEADER};
//! use wiremock::{matchers::method, Mock, MockServer, ResponseTemplate};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let receiver = MockServer::start().await; // stands for your service
//! Mock::given(method("POST"))
//!     .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "note_7"})))
//!     .mount(&receiver)
//!     .await;
//!
//! let secret = "0123456789abcdef0123456789abcdef";
//! let webhook = WebhookBuilder::new(Secret::new(format!("{}/hooks/stripe-chat", receiver.uri())), Secret::new(secret))
//!     .name("billing-service")
//!     .build()?;
//! let key = IdempotencyKey::new("evt_1NG8Du2eZvKYlo2CUI79vXWy", "billing-service");
//! let sent = webhook.send(&ChatMessage::new("Payment failed: 20.00 USD"), None, &key).await?;
//! assert_eq!(sent.id, "note_7");
//! assert_eq!(sent.channel.as_deref(), Some("billing-service"));
//!
//! let request = &receiver.received_requests().await.unwrap()[0];
//! let header = request.headers[SIGNATURE_HEADER].to_str()?;
//! let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
//! verify(&request.body, header, secret, now)?;
//! let payload: Payload = serde_json::from_slice(&request.body)?;
//! assert_eq!(payload.message.title, "Payment failed: 20.00 USD");
//!
//! webhook.update(&sent, &ChatMessage::new("Payment recovered"), &key).await?;
//! let update: Payload = serde_json::from_slice(&receiver.received_requests().await.unwrap()[1].body)?;
//! assert_eq!(update.message_id.as_deref(), Some("note_7"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Feature flags
//!
//! - `client` (default): delivery, that is `WebhookProvider`, `WebhookConfig` /
//!   `WebhookBuilder` and `WebhookFactory`, with what they need: an HTTP client (`reqwest`) and
//!   `stripe-chat-http`. Without it
//!   (`stripe-chat-webhook = { version = "0.1", default-features = false }`), the crate is what
//!   a receiver needs: [`Payload`], [`verify`] and [`sign`], and pulls in no HTTP client.
#![forbid(unsafe_code)]
// The crate documentation speaks of delivery, which exists with the `client` feature.
#![cfg_attr(not(feature = "client"), allow(rustdoc::broken_intra_doc_links))]

#[cfg(feature = "client")]
mod config;
#[cfg(feature = "client")]
mod factory;
mod payload;
#[cfg(feature = "client")]
mod provider;
mod signature;

#[cfg(feature = "client")]
pub use config::{DEFAULT_NAME, MAX_TIMEOUT, MIN_SECRET_BYTES, WebhookBuilder, WebhookConfig};
#[cfg(feature = "client")]
pub use factory::WebhookFactory;
pub use payload::{Payload, PayloadType, ThreadRef};
#[cfg(feature = "client")]
pub use provider::{PLATFORM, USER_AGENT, WebhookProvider};
pub use signature::{
    DEFAULT_TOLERANCE, DELIVERY_HEADER, SIGNATURE_HEADER, SignatureError, sign, verify,
    verify_with_tolerance,
};
#[cfg(feature = "client")]
pub use stripe_chat_message::ConfigError;

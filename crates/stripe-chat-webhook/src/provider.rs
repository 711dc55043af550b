//! [`WebhookProvider`]: POSTs signed payloads and reads the receiver's answer.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use stripe_chat_http::Answer;
use stripe_chat_message::{
    Capabilities, ChatMessage, ChatProvider, DeliveryError, IdempotencyKey, MessageRef,
    RenderError, Renderer, Secret, async_trait,
};

use crate::payload::PayloadType;
use crate::signature::{DELIVERY_HEADER, SIGNATURE_HEADER, sign};

/// The platform name of webhook destinations, as in their [`MessageRef`]s.
///
/// ```
/// assert_eq!(stripe_chat_webhook::PLATFORM, "webhook");
/// ```
pub const PLATFORM: &str = "webhook";

/// The `User-Agent` of webhook requests.
///
/// ```
/// assert!(stripe_chat_webhook::USER_AGENT.starts_with("stripe-chat/"));
/// ```
pub const USER_AGENT: &str = concat!("stripe-chat/", env!("CARGO_PKG_VERSION"));

/// The most of a receiver's answer that is read (to find its `id`).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Delivers messages as signed JSON webhooks to one URL.
///
/// Built by [`WebhookConfig::build`](crate::WebhookConfig::build) or
/// [`WebhookBuilder`](crate::WebhookBuilder). Every request is a `POST` of a
/// [`Payload`](crate::Payload) with `Content-Type: application/json`, `User-Agent: stripe-chat/…`,
/// [`Stripe-Chat-Signature`](crate::SIGNATURE_HEADER) and
/// [`Stripe-Chat-Delivery`](crate::DELIVERY_HEADER). Redirects are not followed (a signed request
/// goes where it was configured to, or fails as permanent).
///
/// Any 2xx is delivered. When the answer is JSON with an `id` (a string or a number), that is the
/// message id in the returned [`MessageRef`]; otherwise the delivery id is. Either way, the receiver
/// gets it back as `message_id` in updates and as `thread.message_id` in replies.
///
/// `Debug` shows the name, the URL's origin (scheme, host, port: never its path, query or user
/// info, which may carry keys) and the timeout, never the secret.
pub struct WebhookProvider {
    name: String,
    url: reqwest::Url,
    secret: Secret,
    timeout: Duration,
    client: reqwest::Client,
    /// The platform named in errors: `webhook "<name>"`.
    label: String,
}

impl fmt::Debug for WebhookProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookProvider")
            .field("name", &self.name)
            .field("origin", &self.url.origin().ascii_serialization())
            .field("timeout", &self.timeout)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

impl WebhookProvider {
    pub(crate) fn from_checked(
        name: String,
        url: reqwest::Url,
        secret: Secret,
        timeout: Duration,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(stripe_chat_http::CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {}", e.without_url()))?;
        Ok(WebhookProvider {
            label: format!("webhook {name:?}"),
            name,
            url,
            secret,
            timeout,
            client,
        })
    }

    /// The destination's name.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// let w = stripe_chat_webhook::WebhookBuilder::new(Secret::new("https://x.example.com"), Secret::new("0123456789abcdef")).build()?;
    /// assert_eq!(w.name(), "webhook");
    /// # Ok::<(), stripe_chat_webhook::ConfigError>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// POSTs `payload` and returns the receiver's `id`, if its answer names one.
    async fn post(
        &self,
        payload: &PayloadOut<'_, serde_json::Value>,
    ) -> Result<Option<String>, DeliveryError> {
        let body = serde_json::to_vec(payload).map_err(|e| {
            DeliveryError::permanent(format!("{}: cannot encode the message", self.label))
                .with_source(e)
        })?;
        let signature = sign(&body, self.secret.expose(), unix_now());
        let delivery =
            HeaderValue::from_str(payload.delivery_id.unwrap_or_default()).map_err(|e| {
                DeliveryError::permanent(format!("{}: invalid delivery id", self.label))
                    .with_source(e)
            })?;
        let response = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(DELIVERY_HEADER, delivery)
            .body(body)
            .send()
            .await
            .map_err(|e| stripe_chat_http::from_reqwest(&self.label, e))?;

        // A delivered message stays delivered even when its answer cannot be read: retrying it
        // would only make the receiver see the delivery id again.
        let answer = Answer::read(response, MAX_ANSWER_BYTES).await;
        if answer.is_success() {
            return Ok(answer_id(answer.body()));
        }
        Err(stripe_chat_http::classify_status(
            &self.label,
            answer.status(),
            answer.retry_after(),
            &answer_detail(answer.body()),
        ))
    }
}

/// The `id` of a JSON answer (a non-empty string, or a number).
fn answer_id(answer: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(answer).ok()?;
    match value.get("id")? {
        serde_json::Value::String(id) if !id.trim().is_empty() => Some(id.trim().to_owned()),
        serde_json::Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// The receiver's own words about a failure: its JSON `error`, `error.message` or `message`.
fn answer_detail(answer: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(answer) else {
        return String::new();
    };
    [
        value.get("error"),
        value.pointer("/error/message"),
        value.get("message"),
    ]
    .into_iter()
    .flatten()
    .find_map(|v| v.as_str())
    .unwrap_or_default()
    .to_owned()
}

fn addressed<'r>(
    at: &'r MessageRef,
    label: &str,
    operation: &str,
) -> Result<&'r MessageRef, DeliveryError> {
    if at.provider != PLATFORM {
        return Err(DeliveryError::permanent(format!(
            "{label}: cannot {operation} a {} message",
            at.provider
        )));
    }
    if !at.can_be_addressed() {
        return Err(DeliveryError::permanent(format!(
            "{label}: cannot {operation} a message without id"
        )));
    }
    Ok(at)
}

/// The body as sent, borrowing the message (a [`ChatMessage`], or its JSON). Serializes exactly
/// as [`Payload`](crate::Payload), without `delivery_id` when rendered outside a delivery.
#[derive(Serialize)]
pub(crate) struct PayloadOut<'a, M> {
    #[serde(rename = "type")]
    pub(crate) kind: PayloadType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) delivery_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message_id: Option<&'a str>,
    pub(crate) thread: Option<ThreadOut<'a>>,
    pub(crate) message: &'a M,
}

#[derive(Serialize)]
pub(crate) struct ThreadOut<'a> {
    pub(crate) message_id: &'a str,
}

/// The current Unix time in seconds.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Renderer for WebhookProvider {
    fn platform(&self) -> &str {
        PLATFORM
    }

    /// The `message.created` payload for `message`, not in a thread, as JSON, without its
    /// `delivery_id` (a delivery gives it).
    fn render(&self, message: &ChatMessage) -> Result<serde_json::Value, RenderError> {
        render_created(message)
    }
}

/// The `message.created` payload for `message`, without `delivery_id`.
pub(crate) fn render_created(message: &ChatMessage) -> Result<serde_json::Value, RenderError> {
    serde_json::to_value(PayloadOut {
        kind: PayloadType::MessageCreated,
        delivery_id: None,
        message_id: None,
        thread: None,
        message,
    })
    .map_err(|e| RenderError::Invalid(e.to_string()))
}

/// The `message` of a rendered payload.
fn message_of<'b>(
    body: &'b serde_json::Value,
    label: &str,
) -> Result<&'b serde_json::Value, DeliveryError> {
    body.get("message")
        .filter(|message| message.is_object())
        .ok_or_else(|| {
            DeliveryError::permanent(format!(
                "{label}: the body holds no message (render it with this adapter)"
            ))
        })
}

#[async_trait]
impl ChatProvider for WebhookProvider {
    /// Updates, threads (the receiver gets the thread's first message id) and link buttons (links
    /// stay in the message); callback buttons need stripe-chat's interaction endpoints, which a
    /// generic receiver does not call.
    fn capabilities(&self) -> Capabilities {
        Capabilities::FULL.with_interactive(false)
    }

    /// Posts the payload with `key` as its delivery id (`Stripe-Chat-Delivery`), on which
    /// receivers deduplicate; without an `id` in the answer, the delivery id names the message.
    async fn send_raw(
        &self,
        body: serde_json::Value,
        thread: Option<&MessageRef>,
        key: &IdempotencyKey,
    ) -> Result<MessageRef, DeliveryError> {
        let root = match thread {
            Some(thread) => {
                Some(addressed(thread, &self.label, "reply in the thread of")?.thread_id())
            }
            None => None,
        };
        let id = self
            .post(&PayloadOut {
                kind: PayloadType::MessageCreated,
                delivery_id: Some(key.as_str()),
                message_id: None,
                thread: root.map(|message_id| ThreadOut { message_id }),
                message: message_of(&body, &self.label)?,
            })
            .await?
            .unwrap_or_else(|| key.to_string());
        let sent = MessageRef::new(PLATFORM, id).in_channel(self.name.clone());
        Ok(match root {
            Some(root) => sent.in_thread(root),
            None => sent,
        })
    }

    /// Posts the `message.updated` payload for `at`, with `key` as its delivery id.
    async fn update_raw(
        &self,
        at: &MessageRef,
        body: serde_json::Value,
        key: &IdempotencyKey,
    ) -> Result<(), DeliveryError> {
        let at = addressed(at, &self.label, "update")?;
        self.post(&PayloadOut {
            kind: PayloadType::MessageUpdated,
            delivery_id: Some(key.as_str()),
            message_id: Some(&at.id),
            thread: at
                .thread_root
                .as_deref()
                .map(|message_id| ThreadOut { message_id }),
            message: message_of(&body, &self.label)?,
        })
        .await
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Payload;

    #[test]
    fn the_sent_body_parses_as_a_payload() {
        let message = ChatMessage::new("Payment failed").summary("Retry in 3 days");
        let out = PayloadOut {
            kind: PayloadType::MessageCreated,
            delivery_id: Some("evt_1.ops"),
            message_id: None,
            thread: Some(ThreadOut {
                message_id: "msg_0",
            }),
            message: &message,
        };
        let text = serde_json::to_string(&out).unwrap();
        assert!(
            text.starts_with(r#"{"type":"message.created","delivery_id":"evt_1.ops","thread":{"message_id":"msg_0"},"message":{"#),
            "{text}"
        );
        let parsed: Payload = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed.message, message);
        assert_eq!(serde_json::to_string(&parsed).unwrap(), text);
    }

    #[test]
    fn answer_ids_are_strings_or_numbers() {
        assert_eq!(answer_id(br#"{"id":"msg_1"}"#).as_deref(), Some("msg_1"));
        assert_eq!(answer_id(br#"{"id":42}"#).as_deref(), Some("42"));
        for answer in [
            &b""[..],
            b"ok",
            br#"{"id":""}"#,
            br#"{"id":null}"#,
            br#"[1]"#,
        ] {
            assert_eq!(answer_id(answer), None);
        }
    }

    #[test]
    fn failure_details_are_the_receivers_own_words() {
        assert_eq!(
            answer_detail(br#"{"error":"unknown_channel"}"#),
            "unknown_channel"
        );
        assert_eq!(answer_detail(br#"{"error":{"message":"bad"}}"#), "bad");
        assert_eq!(
            answer_detail(br#"{"message":"bad request"}"#),
            "bad request"
        );
        assert_eq!(answer_detail(b"<html>proxy error</html>"), "");
    }
}

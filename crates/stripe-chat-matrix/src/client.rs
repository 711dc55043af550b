//! The HTTP side of the adapter: [`MatrixProvider`] sends rendered content to a room through the
//! client-server API, idempotently.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use stripe_chat_http::{Answer, MAX_ANSWER_BYTES, from_reqwest};
use stripe_chat_message::{
    Capabilities, ChatMessage, ChatProvider, DeliveryError, IdempotencyKey, MessageRef,
    RenderError, Renderer, Secret, async_trait,
};

use crate::error::classify;
use crate::relations::{edit, thread_reply};
use crate::render::{MatrixRenderer, MsgType};
use crate::validate::validate_limits;

/// The platform name in [`MessageRef`]s and errors.
const PLATFORM: &str = "matrix";

/// Posts messages to one Matrix room as one user, through
/// `PUT {homeserver}/_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}`.
///
/// - [`send`](ChatProvider::send) posts the rendered content (an `m.notice` with a plain `body` and
///   an HTML `formatted_body`); given a thread, it posts a reply in that thread (`m.thread`
///   relation to the thread's root). It returns a [`MessageRef`] with the event id, in the room.
/// - [`update`](ChatProvider::update) posts an edit (`m.replace`) of a message it sent: clients
///   show the new content in place.
/// - Every send is idempotent: its transaction id is the caller's
///   [`IdempotencyKey`] (the Stripe event and the destination, with the kind of send: a reply or
///   an edit has its own), so a retry returns the same event id and never posts twice, as long as
///   the same access token (device) sends it.
/// - Content is checked with [`validate_limits`](crate::validate_limits) before anything is sent.
/// - Errors are classified from the homeserver's `errcode` and status (the table is in the crate
///   docs): `M_LIMIT_EXCEEDED` carries the delay asked for, bad tokens and missing permissions
///   (`M_UNKNOWN_TOKEN`, `M_FORBIDDEN`) are unauthorized, 5xx and network failures transient,
///   other refusals permanent. No error shows the token.
///
/// Matrix has no buttons: callback actions are listed as text and link actions as links
/// ([`Capabilities`]: update and thread, no link buttons, not interactive). `Debug` shows no token.
///
/// ```
/// use stripe_chat_matrix::MatrixProvider;
/// use stripe_chat_message::{ChatMessage, ChatProvider, IdempotencyKey, Secret, Source};
/// use wiremock::matchers::{header, method, path_regex};
/// use wiremock::{Mock, MockServer, ResponseTemplate};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// // A stand-in for https://matrix.example.org.
/// let homeserver = MockServer::start().await;
/// Mock::given(method("PUT"))
///     .and(path_regex("^/_matrix/client/v3/rooms/%21ops%3Aexample.org/send/m.room.message/evt_"))
///     .and(header("authorization", "Bearer syt_secret"))
///     .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"event_id": "$ev1"})))
///     .mount(&homeserver)
///     .await;
///
/// let provider = MatrixProvider::new(&homeserver.uri(), "!ops:example.org", Secret::new("syt_secret"))?;
/// assert!(!format!("{provider:?}").contains("syt_secret"));
///
/// let message = ChatMessage::new("Invoice paid").source(Source {
///     event_id: "evt_1MtHbFLkdIwHu7ixTcLjNhSM".into(),
///     event_type: "invoice.paid".into(),
///     livemode: false,
/// });
/// // The same for every retry of this delivery: the event and the destination.
/// let key = IdempotencyKey::new("evt_1MtHbFLkdIwHu7ixTcLjNhSM", "ops");
/// let sent = provider.send(&message, None, &key).await?;
/// assert_eq!((sent.id.as_str(), sent.channel.as_deref()), ("$ev1", Some("!ops:example.org")));
///
/// let reply = provider.send(&ChatMessage::new("Receipt sent"), Some(&sent), &key).await?;
/// assert_eq!(reply.thread_root.as_deref(), Some("$ev1"));
/// provider.update(&sent, &ChatMessage::new("Invoice paid and refunded"), &key).await?;
///
/// let requests = homeserver.received_requests().await.unwrap_or_default();
/// let body: serde_json::Value = serde_json::from_slice(&requests[1].body)?;
/// assert_eq!(body["m.relates_to"]["rel_type"], "m.thread");
/// let body: serde_json::Value = serde_json::from_slice(&requests[2].body)?;
/// assert_eq!(body["m.relates_to"]["rel_type"], "m.replace");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })
/// # }
/// ```
pub struct MatrixProvider {
    http: reqwest::Client,
    homeserver: String,
    room_id: String,
    token: Secret,
    timeout: Duration,
    renderer: MatrixRenderer,
}

/// What the homeserver answers to a send.
#[derive(Deserialize)]
struct SendAnswer {
    event_id: String,
}

impl MatrixProvider {
    pub(crate) fn from_parts(
        http: reqwest::Client,
        homeserver: String,
        room_id: String,
        token: Secret,
        timeout: Duration,
        renderer: MatrixRenderer,
    ) -> Self {
        MatrixProvider {
            http,
            homeserver,
            room_id,
            token,
            timeout,
            renderer,
        }
    }

    /// The same provider, allowing each request `timeout` (connecting included).
    ///
    /// ```
    /// use std::time::Duration;
    /// use stripe_chat_matrix::MatrixProvider;
    /// use stripe_chat_message::Secret;
    /// let provider = MatrixProvider::new("https://matrix.example.org", "!ops:example.org", Secret::new("t"))?
    ///     .with_timeout(Duration::from_secs(3));
    /// assert_eq!(provider.timeout(), Duration::from_secs(3));
    /// # Ok::<(), stripe_chat_matrix::ConfigError>(())
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same provider, sending `msgtype` messages.
    ///
    /// ```
    /// use stripe_chat_matrix::{MatrixProvider, MsgType};
    /// use stripe_chat_message::Secret;
    /// let provider = MatrixProvider::new("https://matrix.example.org", "!ops:example.org", Secret::new("t"))?
    ///     .with_msgtype(MsgType::Text);
    /// assert_eq!(provider.msgtype(), MsgType::Text);
    /// # Ok::<(), stripe_chat_matrix::ConfigError>(())
    /// ```
    pub fn with_msgtype(mut self, msgtype: MsgType) -> Self {
        self.renderer = self.renderer.with_msgtype(msgtype);
        self
    }

    /// The homeserver's base URL, without a trailing `/`.
    ///
    /// ```
    /// use stripe_chat_matrix::MatrixProvider;
    /// use stripe_chat_message::Secret;
    /// let provider = MatrixProvider::new("http://127.0.0.1:8008/", "!r:localhost", Secret::new("t"))?;
    /// assert_eq!(provider.homeserver(), "http://127.0.0.1:8008");
    /// # Ok::<(), stripe_chat_matrix::ConfigError>(())
    /// ```
    pub fn homeserver(&self) -> &str {
        &self.homeserver
    }

    /// The room messages go to.
    ///
    /// ```
    /// use stripe_chat_matrix::MatrixProvider;
    /// use stripe_chat_message::Secret;
    /// let provider = MatrixProvider::new("https://matrix.example.org", "!ops:example.org", Secret::new("t"))?;
    /// assert_eq!(provider.room_id(), "!ops:example.org");
    /// # Ok::<(), stripe_chat_matrix::ConfigError>(())
    /// ```
    pub fn room_id(&self) -> &str {
        &self.room_id
    }

    /// The time each request may take.
    ///
    /// ```
    /// use std::time::Duration;
    /// use stripe_chat_matrix::MatrixProvider;
    /// use stripe_chat_message::Secret;
    /// let provider = MatrixProvider::new("https://matrix.example.org", "!ops:example.org", Secret::new("t"))?;
    /// assert_eq!(provider.timeout(), Duration::from_secs(10));
    /// # Ok::<(), stripe_chat_matrix::ConfigError>(())
    /// ```
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The `msgtype` of the messages sent.
    ///
    /// ```
    /// use stripe_chat_matrix::{MatrixProvider, MsgType};
    /// use stripe_chat_message::Secret;
    /// let provider = MatrixProvider::new("https://matrix.example.org", "!ops:example.org", Secret::new("t"))?;
    /// assert_eq!(provider.msgtype(), MsgType::Notice);
    /// # Ok::<(), stripe_chat_matrix::ConfigError>(())
    /// ```
    pub fn msgtype(&self) -> MsgType {
        self.renderer.msgtype()
    }

    #[cfg(test)]
    pub(crate) fn token(&self) -> &Secret {
        &self.token
    }

    /// Where `content` is sent under `txn_id`.
    fn send_url(&self, txn_id: &str) -> String {
        format!(
            "{}/_matrix/client/v3/rooms/{}/send/m.room.message/{}",
            self.homeserver,
            encode_path_segment(&self.room_id),
            encode_path_segment(txn_id)
        )
    }

    /// `PUT`s `content` under `txn_id`; the event id the homeserver gave it.
    async fn put(&self, txn_id: &str, content: &Value) -> Result<String, DeliveryError> {
        let response = self
            .http
            .put(self.send_url(txn_id))
            .bearer_auth(self.token.expose())
            .timeout(self.timeout)
            .json(content)
            .send()
            .await
            .map_err(|e| from_reqwest(PLATFORM, e))?;
        let answer = Answer::read(response, MAX_ANSWER_BYTES).await;
        let status = answer.status();
        if !answer.is_success() {
            return Err(classify(status, answer.headers(), answer.body()));
        }
        match answer.json::<SendAnswer>() {
            Some(answer) if !answer.event_id.is_empty() => Ok(answer.event_id),
            // The message may well be posted: a retry reuses the transaction id, so it gets the
            // event id without posting twice.
            _ => Err(DeliveryError::transient(format!(
                "matrix answered HTTP {status} without an event_id"
            ))
            .with_status(status)),
        }
    }

    /// Checks that `message` (the thread root, or the message to edit) is a message this
    /// provider can relate to: a Matrix event, with an id, in this room.
    fn check_ref(&self, message: &MessageRef, role: &str) -> Result<(), DeliveryError> {
        if message.provider != PLATFORM {
            return Err(DeliveryError::permanent(format!(
                "the {role} is a {} message, not a Matrix one",
                message.provider
            )));
        }
        if !message.can_be_addressed() {
            return Err(DeliveryError::permanent(format!(
                "the {role} has no event id"
            )));
        }
        if message
            .channel
            .as_deref()
            .is_some_and(|room| room != self.room_id)
        {
            return Err(DeliveryError::permanent(format!(
                "the {role} is in another room than {}",
                self.room_id
            )));
        }
        Ok(())
    }
}

/// Refuses `content` that breaks Matrix limits before it is sent.
fn check_limits(content: &Value) -> Result<(), DeliveryError> {
    validate_limits(content).map_err(|problems| {
        DeliveryError::permanent(format!(
            "the content breaks Matrix limits: {}",
            problems.join("; ")
        ))
    })
}

/// `segment` percent-encoded for a URL path: everything but unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`) is encoded, so `!room:example.org` becomes `%21room%3Aexample.org`.
fn encode_path_segment(segment: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut encoded = String::with_capacity(segment.len() * 3);
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push('%');
            encoded.push(char::from(HEX[usize::from(byte >> 4)]));
            encoded.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    encoded
}

impl fmt::Debug for MatrixProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MatrixProvider")
            .field("homeserver", &self.homeserver)
            .field("room_id", &self.room_id)
            .field("msgtype", &self.renderer.msgtype())
            .field("timeout", &self.timeout)
            .field("access_token", &self.token)
            .finish()
    }
}

impl Renderer for MatrixProvider {
    fn platform(&self) -> &str {
        PLATFORM
    }

    fn display_name(&self) -> &str {
        "Matrix"
    }

    fn render(&self, message: &ChatMessage) -> Result<Value, RenderError> {
        self.renderer.render(message)
    }

    fn validate_limits(&self, content: &Value) -> Result<(), Vec<String>> {
        validate_limits(content)
    }
}

#[async_trait]
impl ChatProvider for MatrixProvider {
    fn capabilities(&self) -> Capabilities {
        Capabilities::FULL
            .with_link_buttons(false)
            .with_interactive(false)
    }

    /// `PUT`s `content` under the transaction id `key`: the homeserver answers a repeated one
    /// from the same device with the first event's id, without posting again.
    async fn send_raw(
        &self,
        content: Value,
        thread: Option<&MessageRef>,
        key: &IdempotencyKey,
    ) -> Result<MessageRef, DeliveryError> {
        if let Some(root) = thread {
            self.check_ref(root, "thread root")?;
        }
        let root_id = thread.map(MessageRef::thread_id);
        let content = match root_id {
            Some(root_id) => thread_reply(content, root_id),
            None => content,
        };
        check_limits(&content)?;
        let event_id = self.put(key.as_str(), &content).await?;
        let sent = MessageRef::new(PLATFORM, event_id).in_channel(self.room_id.as_str());
        Ok(match root_id {
            Some(root_id) => sent.in_thread(root_id),
            None => sent,
        })
    }

    /// Posts an edit (`m.replace`) of `at` under the transaction id `key`.
    async fn update_raw(
        &self,
        at: &MessageRef,
        content: Value,
        key: &IdempotencyKey,
    ) -> Result<(), DeliveryError> {
        self.check_ref(at, "message to update")?;
        let content = edit(content, &at.id);
        check_limits(&content)?;
        self.put(key.as_str(), &content).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(
            encode_path_segment("!ops:example.org"),
            "%21ops%3Aexample.org"
        );
        assert_eq!(encode_path_segment("a/b?c#d é"), "a%2Fb%3Fc%23d%20%C3%A9");
        assert_eq!(encode_path_segment("sc-0123abc_~."), "sc-0123abc_~.");
    }

    #[test]
    fn debug_names_the_room_but_never_the_token() {
        let provider = MatrixProvider::new(
            "https://matrix.example.org",
            "!ops:example.org",
            Secret::new("syt_SECRET"),
        )
        .expect("builds");
        let debug = format!("{provider:?}");
        assert!(debug.contains("!ops:example.org"), "{debug}");
        assert!(!debug.contains("syt_SECRET"), "{debug}");
    }
}

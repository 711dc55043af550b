//! What a chat adapter implements to deliver messages: [`ChatProvider`], with [`MessageRef`],
//! [`Capabilities`] and a self-classifying [`DeliveryError`].

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{ChatMessage, Renderer};

/// A delivered message, as the platform identifies it: store it to update the message or reply in
/// its thread later.
///
/// ```
/// use stripe_chat_message::MessageRef;
/// let r = MessageRef::new("slack", "1700000000.000100").in_channel("C0123");
/// let stored = serde_json::to_string(&r)?;
/// assert_eq!(serde_json::from_str::<MessageRef>(&stored)?, r);
/// assert!(r.can_be_addressed());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageRef {
    /// The platform (`slack`, `teams`, `discord`, `matrix`, `webhook`, `file`, ...).
    pub provider: String,
    /// Where the message is: Slack channel id, Matrix room id, Discord thread id, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The message's id on the platform (Slack `ts`, Discord message id, Matrix event id). Empty
    /// when the platform returns none (Slack incoming webhooks, Teams Workflows): such a message
    /// cannot be updated or replied to.
    #[serde(default)]
    pub id: String,
    /// The thread the message was posted in, when it is a reply (the root message's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_root: Option<String>,
}

impl MessageRef {
    /// A reference to message `id` on `provider`.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::MessageRef::new("matrix", "$ev").id, "$ev");
    /// ```
    pub fn new(provider: impl Into<String>, id: impl Into<String>) -> Self {
        MessageRef {
            provider: provider.into(),
            channel: None,
            id: id.into(),
            thread_root: None,
        }
    }

    /// The same reference, in `channel`.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::MessageRef::new("slack", "1.2").in_channel("C1").channel.as_deref(), Some("C1"));
    /// ```
    pub fn in_channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }

    /// The same reference, as a reply in the thread of `root`.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::MessageRef::new("slack", "1.3").in_thread("1.2").thread_root.as_deref(), Some("1.2"));
    /// ```
    pub fn in_thread(mut self, root: impl Into<String>) -> Self {
        self.thread_root = Some(root.into());
        self
    }

    /// Whether the platform gave the message an id (so it can be updated or replied to).
    ///
    /// ```
    /// assert!(!stripe_chat_message::MessageRef::new("teams", "").can_be_addressed());
    /// ```
    pub fn can_be_addressed(&self) -> bool {
        !self.id.is_empty()
    }

    /// The id replies should thread on: the thread's root when this is a reply, else this message.
    ///
    /// ```
    /// use stripe_chat_message::MessageRef;
    /// assert_eq!(MessageRef::new("slack", "1.3").in_thread("1.2").thread_id(), "1.2");
    /// assert_eq!(MessageRef::new("slack", "1.2").thread_id(), "1.2");
    /// ```
    pub fn thread_id(&self) -> &str {
        self.thread_root.as_deref().unwrap_or(&self.id)
    }
}

/// What an adapter in its configured mode can do, and the pace its platform asks for. A caller
/// checks these instead of finding out from a failure.
///
/// Built from [`Capabilities::SEND_ONLY`] or [`Capabilities::FULL`] and the `with_*` methods, so
/// that adding a capability later breaks no adapter.
///
/// ```
/// use stripe_chat_message::{Capabilities, Rate};
/// let webhook = Capabilities::SEND_ONLY;
/// assert!(!webhook.update && !webhook.thread);
/// assert!(Capabilities::FULL.update);
///
/// let bot = Capabilities::FULL.with_rate(Rate::per_second(1));
/// assert_eq!(bot.rate.map(Rate::per_second_f64), Some(1.0));
/// let matrix = Capabilities::FULL.with_link_buttons(false).with_interactive(false);
/// assert!(matrix.update && !matrix.link_buttons);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// `update` edits a delivered message in place.
    pub update: bool,
    /// `send` with a thread posts a reply in that thread.
    pub thread: bool,
    /// Link buttons are shown.
    pub link_buttons: bool,
    /// Callback buttons reach stripe-chat when clicked.
    pub interactive: bool,
    /// The pace the platform asks of one destination (Slack: one message a second per channel),
    /// which callers keep to unless told otherwise; `None` when it documents none.
    #[serde(default)]
    pub rate: Option<Rate>,
}

impl Capabilities {
    /// Send only: no update, no thread, link buttons, no callbacks (incoming webhooks), no pace.
    pub const SEND_ONLY: Capabilities = Capabilities {
        update: false,
        thread: false,
        link_buttons: true,
        interactive: false,
        rate: None,
    };

    /// Everything, at no particular pace.
    pub const FULL: Capabilities = Capabilities {
        update: true,
        thread: true,
        link_buttons: true,
        interactive: true,
        rate: None,
    };

    /// The same, with `update` set.
    ///
    /// ```
    /// assert!(stripe_chat_message::Capabilities::SEND_ONLY.with_update(true).update);
    /// ```
    pub const fn with_update(mut self, update: bool) -> Self {
        self.update = update;
        self
    }

    /// The same, with `thread` set.
    ///
    /// ```
    /// assert!(!stripe_chat_message::Capabilities::FULL.with_thread(false).thread);
    /// ```
    pub const fn with_thread(mut self, thread: bool) -> Self {
        self.thread = thread;
        self
    }

    /// The same, with `link_buttons` set.
    ///
    /// ```
    /// assert!(!stripe_chat_message::Capabilities::FULL.with_link_buttons(false).link_buttons);
    /// ```
    pub const fn with_link_buttons(mut self, link_buttons: bool) -> Self {
        self.link_buttons = link_buttons;
        self
    }

    /// The same, with `interactive` set.
    ///
    /// ```
    /// assert!(!stripe_chat_message::Capabilities::FULL.with_interactive(false).interactive);
    /// ```
    pub const fn with_interactive(mut self, interactive: bool) -> Self {
        self.interactive = interactive;
        self
    }

    /// The same, asking callers to keep to `rate`.
    ///
    /// ```
    /// use stripe_chat_message::{Capabilities, Rate};
    /// assert_eq!(Capabilities::FULL.with_rate(Rate::per_second(1)).rate, Some(Rate::per_second(1)));
    /// ```
    pub const fn with_rate(mut self, rate: Rate) -> Self {
        self.rate = Some(rate);
        self
    }
}

/// A pace: at most a number of messages per period.
///
/// ```
/// use std::time::Duration;
/// use stripe_chat_message::Rate;
/// let discord = Rate::new(5, Duration::from_secs(2));
/// assert_eq!(discord.per_second_f64(), 2.5);
/// assert_eq!(discord.interval(), Duration::from_millis(400));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rate {
    messages: u32,
    per: Duration,
}

impl Rate {
    /// At most `messages` (at least 1) per `per` (at least a nanosecond).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rate = stripe_chat_message::Rate::new(0, Duration::ZERO);
    /// assert_eq!((rate.messages(), rate.per()), (1, Duration::from_nanos(1)));
    /// ```
    pub const fn new(messages: u32, per: Duration) -> Self {
        Rate {
            messages: if messages == 0 { 1 } else { messages },
            per: if per.is_zero() {
                Duration::from_nanos(1)
            } else {
                per
            },
        }
    }

    /// At most `messages` a second.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::Rate::per_second(1).per_second_f64(), 1.0);
    /// ```
    pub const fn per_second(messages: u32) -> Self {
        Rate::new(messages, Duration::from_secs(1))
    }

    /// How many messages per period.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::Rate::per_second(3).messages(), 3);
    /// ```
    pub const fn messages(self) -> u32 {
        self.messages
    }

    /// The period.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::Rate::per_second(3).per().as_secs(), 1);
    /// ```
    pub const fn per(self) -> Duration {
        self.per
    }

    /// Messages per second.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::Rate::per_second(2).per_second_f64(), 2.0);
    /// ```
    pub fn per_second_f64(self) -> f64 {
        f64::from(self.messages) / self.per.as_secs_f64()
    }

    /// The time between two messages kept evenly apart.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(stripe_chat_message::Rate::per_second(4).interval(), Duration::from_millis(250));
    /// ```
    pub fn interval(self) -> Duration {
        self.per / self.messages
    }
}

/// How a delivery failed, which decides what the caller does next.
///
/// ```
/// use stripe_chat_message::ErrorKind;
/// assert!(ErrorKind::Transient.is_retryable());
/// assert!(ErrorKind::RateLimited.is_retryable());
/// assert!(!ErrorKind::Permanent.is_retryable());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// Try again later with backoff: 5xx, timeouts, connection errors.
    Transient,
    /// Try again after [`DeliveryError::retry_after`]: the platform asked to slow down.
    RateLimited,
    /// Will fail again the same way: the request or destination is wrong (4xx, `channel_not_found`,
    /// `invalid_blocks`, a message over a limit).
    Permanent,
    /// The credentials are wrong or revoked (401/403, `invalid_auth`): fix the configuration.
    Unauthorized,
    /// The adapter in this mode cannot do this (update or thread on an incoming webhook).
    Unsupported,
}

impl ErrorKind {
    /// Whether retrying the same request may succeed.
    ///
    /// ```
    /// assert!(!stripe_chat_message::ErrorKind::Unauthorized.is_retryable());
    /// ```
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Transient | ErrorKind::RateLimited)
    }

    /// The snake_case name (for metrics and logs).
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::ErrorKind::RateLimited.as_str(), "rate_limited");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Transient => "transient",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Permanent => "permanent",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Unsupported => "unsupported",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed delivery that says what kind of failure it is, so retry logic never parses strings.
///
/// Its message never contains a secret (tokens, webhook URLs with their keys): adapters describe
/// the failure in words and with the platform's own error code.
///
/// ```
/// use std::time::Duration;
/// use stripe_chat_message::{DeliveryError, ErrorKind};
/// let e = DeliveryError::rate_limited(Duration::from_millis(1500), "slack answered 429").with_status(429);
/// assert_eq!(e.kind(), ErrorKind::RateLimited);
/// assert_eq!(e.retry_after(), Some(Duration::from_millis(1500)));
/// assert_eq!(e.status(), Some(429));
/// assert_eq!(e.to_string(), "rate_limited: slack answered 429 (retry after 1.5 s)");
/// ```
#[derive(Debug)]
pub struct DeliveryError {
    kind: ErrorKind,
    message: String,
    retry_after: Option<Duration>,
    status: Option<u16>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl DeliveryError {
    /// A failure of `kind`.
    ///
    /// ```
    /// use stripe_chat_message::{DeliveryError, ErrorKind};
    /// assert_eq!(DeliveryError::new(ErrorKind::Permanent, "x").kind(), ErrorKind::Permanent);
    /// ```
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        DeliveryError {
            kind,
            message: message.into(),
            retry_after: None,
            status: None,
            source: None,
        }
    }

    /// A transient failure (retry with backoff).
    ///
    /// ```
    /// assert!(stripe_chat_message::DeliveryError::transient("timeout").kind().is_retryable());
    /// ```
    pub fn transient(message: impl Into<String>) -> Self {
        DeliveryError::new(ErrorKind::Transient, message)
    }

    /// The platform asked to wait `retry_after`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = stripe_chat_message::DeliveryError::rate_limited(Duration::from_secs(2), "429");
    /// assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
    /// ```
    pub fn rate_limited(retry_after: Duration, message: impl Into<String>) -> Self {
        DeliveryError {
            retry_after: Some(retry_after),
            ..DeliveryError::new(ErrorKind::RateLimited, message)
        }
    }

    /// A permanent failure (do not retry).
    ///
    /// ```
    /// assert!(!stripe_chat_message::DeliveryError::permanent("channel_not_found").kind().is_retryable());
    /// ```
    pub fn permanent(message: impl Into<String>) -> Self {
        DeliveryError::new(ErrorKind::Permanent, message)
    }

    /// Bad or revoked credentials.
    ///
    /// ```
    /// use stripe_chat_message::{DeliveryError, ErrorKind};
    /// assert_eq!(DeliveryError::unauthorized("invalid_auth").kind(), ErrorKind::Unauthorized);
    /// ```
    pub fn unauthorized(message: impl Into<String>) -> Self {
        DeliveryError::new(ErrorKind::Unauthorized, message)
    }

    /// The adapter cannot do `operation` in its mode.
    ///
    /// ```
    /// let e = stripe_chat_message::DeliveryError::unsupported("slack incoming webhook", "update");
    /// assert_eq!(e.to_string(), "unsupported: slack incoming webhook cannot update");
    /// ```
    pub fn unsupported(mode: &str, operation: &str) -> Self {
        DeliveryError::new(ErrorKind::Unsupported, format!("{mode} cannot {operation}"))
    }

    /// Records the HTTP status the platform answered.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::DeliveryError::permanent("x").with_status(404).status(), Some(404));
    /// ```
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Records the underlying error (it must not display a secret).
    ///
    /// ```
    /// let io = std::io::Error::other("reset");
    /// let e = stripe_chat_message::DeliveryError::transient("connection").with_source(io);
    /// assert!(std::error::Error::source(&e).is_some());
    /// ```
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What kind of failure.
    ///
    /// ```
    /// use stripe_chat_message::{DeliveryError, ErrorKind};
    /// assert_eq!(DeliveryError::transient("x").kind(), ErrorKind::Transient);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// How long the platform asked to wait, for rate-limited failures.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::DeliveryError::transient("x").retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The HTTP status, when there was one.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::DeliveryError::transient("x").status(), None);
    /// ```
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The description, without the kind.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::DeliveryError::permanent("invalid_blocks").message(), "invalid_blocks");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if let Some(after) = self.retry_after {
            write!(f, " (retry after {} s)", after.as_secs_f64())?;
        }
        Ok(())
    }
}

impl std::error::Error for DeliveryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// What makes one delivery that delivery: the same for every retry of it, different for any
/// other. The caller derives it from what prompts the message (the Stripe event) and the
/// destination; adapters hand it to platforms that deduplicate (a Matrix transaction id, the
/// webhook adapter's `Stripe-Chat-Delivery`, the file's line id), so a retried send never posts
/// twice there.
///
/// A reply in a thread and an update are deliveries of their own, keyed from the same base
/// ([`IdempotencyKey::reply_in`], [`IdempotencyKey::update_of`]); [`ChatProvider::send`] and
/// [`ChatProvider::update`] do that before calling the adapter. The text is readable and safe in
/// URLs and headers: each part keeps ASCII letters, digits, `_` and `-`, the rest is
/// percent-encoded, and parts are joined with `.`, so that different parts never give one key.
///
/// ```
/// use stripe_chat_message::{IdempotencyKey, MessageRef};
///
/// let key = IdempotencyKey::new("evt_1NG8Du2eZvKYlo2CUI79vXWy", "billing");
/// assert_eq!(key.as_str(), "evt_1NG8Du2eZvKYlo2CUI79vXWy.billing");
/// assert_eq!(key, IdempotencyKey::new("evt_1NG8Du2eZvKYlo2CUI79vXWy", "billing"), "a retry");
///
/// let root = MessageRef::new("slack", "1700000000.000100");
/// assert_eq!(key.reply_in(&root).as_str(), "evt_1NG8Du2eZvKYlo2CUI79vXWy.billing.reply.1700000000%2E000100");
/// assert_ne!(key.update_of(&root), key.reply_in(&root));
/// assert_ne!(IdempotencyKey::new("evt_1.a", "b"), IdempotencyKey::new("evt_1", "a.b"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key of delivering what `subject` names (a Stripe event id, or the id of whatever else
    /// prompts the message, such as a digest's window) to `destination`.
    ///
    /// ```
    /// let key = stripe_chat_message::IdempotencyKey::new("evt_1", "ops alerts");
    /// assert_eq!(key.as_str(), "evt_1.ops%20alerts");
    /// ```
    pub fn new(subject: &str, destination: &str) -> Self {
        let mut key = String::with_capacity(subject.len() + destination.len() + 1);
        push_part(&mut key, subject);
        key.push('.');
        push_part(&mut key, destination);
        IdempotencyKey(key)
    }

    /// The key of the reply, for the same delivery, in the thread of `root` (its thread's root
    /// when it is itself a reply).
    ///
    /// ```
    /// use stripe_chat_message::{IdempotencyKey, MessageRef};
    /// let key = IdempotencyKey::new("evt_1", "ops");
    /// let reply = MessageRef::new("matrix", "$reply").in_thread("$root");
    /// assert_eq!(key.reply_in(&reply).as_str(), "evt_1.ops.reply.%24root");
    /// ```
    pub fn reply_in(&self, root: &MessageRef) -> Self {
        self.scoped("reply", root.thread_id())
    }

    /// The key of replacing, for the same delivery, the message at `at`.
    ///
    /// ```
    /// use stripe_chat_message::{IdempotencyKey, MessageRef};
    /// let key = IdempotencyKey::new("evt_1", "ops");
    /// assert_eq!(key.update_of(&MessageRef::new("file", "n_1")).as_str(), "evt_1.ops.update.n_1");
    /// ```
    pub fn update_of(&self, at: &MessageRef) -> Self {
        self.scoped("update", &at.id)
    }

    /// The key as text.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::IdempotencyKey::new("evt_1", "log").as_str(), "evt_1.log");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn scoped(&self, what: &str, id: &str) -> Self {
        let mut key = self.0.clone();
        key.push('.');
        key.push_str(what);
        key.push('.');
        push_part(&mut key, id);
        IdempotencyKey(key)
    }
}

/// Appends `part` with every byte but ASCII letters, digits, `_` and `-` percent-encoded.
fn push_part(key: &mut String, part: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in part.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-') {
            key.push(char::from(byte));
        } else {
            key.push('%');
            key.push(char::from(HEX[usize::from(byte >> 4)]));
            key.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdempotencyKey").field(&self.0).finish()
    }
}

/// A chat platform adapter: renders messages (as a [`Renderer`]) and delivers them.
///
/// An adapter implements [`ChatProvider::capabilities`] and [`ChatProvider::send_raw`] (posting a
/// body already rendered and checked), and [`ChatProvider::update_raw`] when its platform can
/// edit. Callers use the provided [`ChatProvider::send`] and [`ChatProvider::update`], which
/// render the message, check it against the platform's limits
/// ([`Renderer::validate_limits`]) and key the request, so that part is the same for every
/// adapter. Errors classify themselves through [`DeliveryError::kind`]. Keep secrets out of
/// `Debug` and error messages.
///
/// ```
/// use async_trait::async_trait;
/// use stripe_chat_message::*;
///
/// /// Keeps messages in memory, once per key (a test double).
/// #[derive(Default)]
/// struct Memory(std::sync::Mutex<Vec<(String, serde_json::Value)>>);
///
/// impl Renderer for Memory {
///     fn platform(&self) -> &str { "memory" }
///     fn render(&self, m: &ChatMessage) -> Result<serde_json::Value, RenderError> {
///         Ok(serde_json::json!({ "text": m.title }))
///     }
///     fn validate_limits(&self, body: &serde_json::Value) -> Result<(), Vec<String>> {
///         match body["text"].as_str() {
///             Some(text) if text.len() > 100 => Err(vec!["text over 100 bytes".into()]),
///             _ => Ok(()),
///         }
///     }
/// }
///
/// #[async_trait]
/// impl ChatProvider for Memory {
///     fn capabilities(&self) -> Capabilities { Capabilities::SEND_ONLY }
///     async fn send_raw(
///         &self,
///         body: serde_json::Value,
///         _thread: Option<&MessageRef>,
///         key: &IdempotencyKey,
///     ) -> Result<MessageRef, DeliveryError> {
///         let mut stored = self.0.lock().map_err(|_| DeliveryError::transient("poisoned"))?;
///         if !stored.iter().any(|(seen, _)| seen == key.as_str()) {
///             stored.push((key.to_string(), body));
///         }
///         Ok(MessageRef::new("memory", key.as_str()))
///     }
/// }
///
/// # tokio_test::block_on(async {
/// let memory = Memory::default();
/// let key = IdempotencyKey::new("evt_1", "memory");
/// let sent = memory.send(&ChatMessage::new("Invoice paid"), None, &key).await?;
/// memory.send(&ChatMessage::new("Invoice paid"), None, &key).await?; // a retry
/// assert_eq!(memory.0.lock().unwrap().len(), 1);
/// let err = memory.update(&sent, &ChatMessage::new("x"), &key).await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Unsupported);
/// let too_long = memory.send(&ChatMessage::new("x".repeat(101)), None, &key).await.unwrap_err();
/// assert_eq!(too_long.kind(), ErrorKind::Permanent);
/// # Ok::<(), DeliveryError>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait ChatProvider: Renderer {
    /// What this adapter can do in its configured mode.
    fn capabilities(&self) -> Capabilities;

    /// Posts `body` (from [`Renderer::render`], within the platform's limits), as a reply in the
    /// thread of `thread` when given (and supported). `key` is this very request's idempotency
    /// key, already distinct for a reply: give it to the platform when it deduplicates.
    async fn send_raw(
        &self,
        body: serde_json::Value,
        thread: Option<&MessageRef>,
        key: &IdempotencyKey,
    ) -> Result<MessageRef, DeliveryError>;

    /// Replaces the message at `at` with `body` (from [`Renderer::render`], within the limits).
    /// `key` is this update's own idempotency key. Provided: refused as
    /// [`ErrorKind::Unsupported`], which is right for platforms that cannot edit.
    async fn update_raw(
        &self,
        at: &MessageRef,
        body: serde_json::Value,
        key: &IdempotencyKey,
    ) -> Result<(), DeliveryError> {
        let _ = (at, body, key);
        Err(DeliveryError::unsupported(
            self.mode_name(),
            "update messages",
        ))
    }

    /// Posts `message`, as a reply in the thread of `thread` when given: renders it, refuses it
    /// as [`ErrorKind::Permanent`] without a request when it is over the platform's limits, and
    /// hands it to [`ChatProvider::send_raw`] with the key of this send (`key` for a new
    /// message, [`key.reply_in(thread)`](IdempotencyKey::reply_in) for a reply).
    async fn send(
        &self,
        message: &ChatMessage,
        thread: Option<&MessageRef>,
        key: &IdempotencyKey,
    ) -> Result<MessageRef, DeliveryError> {
        let body = checked_body(self, message)?;
        match thread {
            Some(root) => self.send_raw(body, thread, &key.reply_in(root)).await,
            None => self.send_raw(body, None, key).await,
        }
    }

    /// Replaces the message at `at` with `message`: refused as [`ErrorKind::Unsupported`]
    /// without a request when [`Capabilities::update`] is false; otherwise rendered, checked
    /// against the limits and handed to [`ChatProvider::update_raw`] with
    /// [`key.update_of(at)`](IdempotencyKey::update_of).
    async fn update(
        &self,
        at: &MessageRef,
        message: &ChatMessage,
        key: &IdempotencyKey,
    ) -> Result<(), DeliveryError> {
        if !self.capabilities().update {
            return Err(DeliveryError::unsupported(
                self.mode_name(),
                "update messages",
            ));
        }
        let body = checked_body(self, message)?;
        self.update_raw(at, body, &key.update_of(at)).await
    }

    /// How the adapter in its configured mode is named in "cannot" errors ("a Teams Workflows
    /// webhook cannot update messages"). Defaults to [`Renderer::platform`].
    ///
    /// ```
    /// # use stripe_chat_message::*;
    /// # struct Chat;
    /// # impl Renderer for Chat { fn platform(&self) -> &str { "chat" } fn render(&self, _: &ChatMessage) -> Result<serde_json::Value, RenderError> { Ok(serde_json::json!({})) } }
    /// # #[async_trait] impl ChatProvider for Chat { fn capabilities(&self) -> Capabilities { Capabilities::SEND_ONLY } async fn send_raw(&self, _: serde_json::Value, _: Option<&MessageRef>, _: &IdempotencyKey) -> Result<MessageRef, DeliveryError> { Ok(MessageRef::new("chat", "1")) } }
    /// assert_eq!(Chat.mode_name(), "chat");
    /// ```
    fn mode_name(&self) -> &str {
        self.platform()
    }

    /// The local file this adapter writes messages to, when it writes to one (the service says
    /// where at start-up). `None` by default.
    ///
    /// ```
    /// # use stripe_chat_message::*;
    /// # struct Chat;
    /// # impl Renderer for Chat { fn platform(&self) -> &str { "chat" } fn render(&self, _: &ChatMessage) -> Result<serde_json::Value, RenderError> { Ok(serde_json::json!({})) } }
    /// # #[async_trait] impl ChatProvider for Chat { fn capabilities(&self) -> Capabilities { Capabilities::SEND_ONLY } async fn send_raw(&self, _: serde_json::Value, _: Option<&MessageRef>, _: &IdempotencyKey) -> Result<MessageRef, DeliveryError> { Ok(MessageRef::new("chat", "1")) } }
    /// assert_eq!(Chat.local_path(), None);
    /// ```
    fn local_path(&self) -> Option<&std::path::Path> {
        None
    }
}

/// `message` rendered by `renderer` and within its limits, or why it cannot be sent (permanent:
/// it would fail the same way every time). At most three of the limits broken are named.
fn checked_body<R: Renderer + ?Sized>(
    renderer: &R,
    message: &ChatMessage,
) -> Result<serde_json::Value, DeliveryError> {
    let platform = renderer.platform();
    let body = renderer
        .render(message)
        .map_err(|e| DeliveryError::permanent(format!("{platform}: {e}")))?;
    renderer.validate_limits(&body).map_err(|problems| {
        const SHOWN: usize = 3;
        let mut text = problems
            .iter()
            .take(SHOWN)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("; ");
        if problems.len() > SHOWN {
            text.push_str(&format!(" (and {} more)", problems.len() - SHOWN));
        }
        DeliveryError::permanent(format!(
            "{platform}: the message is over the limits of {} and was not sent: {text}",
            renderer.display_name()
        ))
    })?;
    Ok(body)
}

/// A secret (token, signing key, webhook URL with its key). `Debug` and `Display` never show it.
///
/// ```
/// use stripe_chat_message::Secret;
/// let token = Secret::new("xoxb-123-abc");
/// assert_eq!(format!("{token:?}"), "Secret(**redacted**)");
/// assert_eq!(token.expose(), "xoxb-123-abc");
/// let parsed: Secret = serde_json::from_str("\"https://hooks.slack.com/services/T/B/x\"")?;
/// assert!(!format!("{parsed:?}").contains("hooks"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    ///
    /// ```
    /// let _ = stripe_chat_message::Secret::new("s");
    /// ```
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    /// Reads a secret from the environment variable `name`; `None` when unset or empty.
    ///
    /// ```
    /// assert!(stripe_chat_message::Secret::from_env("STRIPE_CHAT_SURELY_UNSET_VARIABLE").is_none());
    /// ```
    pub fn from_env(name: &str) -> Option<Self> {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .map(Secret)
    }

    /// The secret itself, to put on the wire. Never log it.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::Secret::new("s").expose(), "s");
    /// ```
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**redacted**")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_different_deliveries_never_collide() {
        let root = MessageRef::new("matrix", "$root");
        let base = IdempotencyKey::new("evt_1", "ops");
        let keys = [
            base.clone(),
            IdempotencyKey::new("evt_1.ops", ""),
            IdempotencyKey::new("evt_1", "ops.reply.%24root"),
            IdempotencyKey::new("evt_1%2Eops", ""),
            IdempotencyKey::new("evt_2", "ops"),
            IdempotencyKey::new("evt_1", "finance"),
            base.reply_in(&root),
            base.update_of(&root),
            base.reply_in(&MessageRef::new("matrix", "$other")),
        ];
        for (n, key) in keys.iter().enumerate() {
            for other in &keys[n + 1..] {
                assert_ne!(key, other);
            }
        }
    }

    #[test]
    fn keys_are_safe_in_a_url_path_and_a_header() {
        let key = IdempotencyKey::new("evt_ü/?# \n", "ops\u{0}")
            .reply_in(&MessageRef::new("slack", "1.2"));
        assert!(
            key.as_str()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.%".contains(&b)),
            "{key}"
        );
    }
}

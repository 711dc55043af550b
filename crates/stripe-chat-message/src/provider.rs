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

/// A chat platform adapter: renders messages (as a [`Renderer`]) and delivers them.
///
/// Implement [`ChatProvider::capabilities`] and [`ChatProvider::send`]; [`ChatProvider::update`]
/// is provided as "unsupported" for platforms that cannot edit. Errors classify themselves through
/// [`DeliveryError::kind`]. Keep secrets out of `Debug` and error messages.
///
/// ```
/// use async_trait::async_trait;
/// use stripe_chat_message::*;
///
/// /// Keeps messages in memory (a test double).
/// #[derive(Default)]
/// struct Memory(std::sync::Mutex<Vec<serde_json::Value>>);
///
/// impl Renderer for Memory {
///     fn platform(&self) -> &str { "memory" }
///     fn render(&self, m: &ChatMessage) -> Result<serde_json::Value, RenderError> {
///         Ok(serde_json::json!({ "text": m.title }))
///     }
/// }
///
/// #[async_trait]
/// impl ChatProvider for Memory {
///     fn capabilities(&self) -> Capabilities { Capabilities::SEND_ONLY }
///     async fn send(&self, m: &ChatMessage, _thread: Option<&MessageRef>) -> Result<MessageRef, DeliveryError> {
///         let body = self.render(m).map_err(|e| DeliveryError::permanent(e.to_string()))?;
///         let mut stored = self.0.lock().map_err(|_| DeliveryError::transient("poisoned"))?;
///         stored.push(body);
///         Ok(MessageRef::new("memory", stored.len().to_string()))
///     }
/// }
///
/// # tokio_test::block_on(async {
/// let memory = Memory::default();
/// let sent = memory.send(&ChatMessage::new("Invoice paid"), None).await?;
/// assert_eq!(sent.id, "1");
/// let err = memory.update(&sent, &ChatMessage::new("x")).await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Unsupported);
/// # Ok::<(), DeliveryError>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait ChatProvider: Renderer {
    /// What this adapter can do in its configured mode.
    fn capabilities(&self) -> Capabilities;

    /// Posts `message`, as a reply in the thread of `thread` when given (and supported).
    async fn send(
        &self,
        message: &ChatMessage,
        thread: Option<&MessageRef>,
    ) -> Result<MessageRef, DeliveryError>;

    /// Replaces the message at `at` with `message`.
    async fn update(&self, at: &MessageRef, message: &ChatMessage) -> Result<(), DeliveryError> {
        let _ = (at, message);
        Err(DeliveryError::unsupported(
            self.platform(),
            "update messages",
        ))
    }

    /// The local file this adapter writes messages to, when it writes to one (the service says
    /// where at start-up). `None` by default.
    ///
    /// ```
    /// # use stripe_chat_message::*;
    /// # struct Chat;
    /// # impl Renderer for Chat { fn platform(&self) -> &str { "chat" } fn render(&self, _: &ChatMessage) -> Result<serde_json::Value, RenderError> { Ok(serde_json::json!({})) } }
    /// # #[async_trait] impl ChatProvider for Chat { fn capabilities(&self) -> Capabilities { Capabilities::SEND_ONLY } async fn send(&self, _: &ChatMessage, _: Option<&MessageRef>) -> Result<MessageRef, DeliveryError> { Ok(MessageRef::new("chat", "1")) } }
    /// assert_eq!(Chat.local_path(), None);
    /// ```
    fn local_path(&self) -> Option<&std::path::Path> {
        None
    }
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

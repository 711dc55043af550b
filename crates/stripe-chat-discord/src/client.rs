//! Posting and editing messages through a Discord webhook: [`DiscordProvider`].

use std::fmt;
use std::time::Duration;

use reqwest::Url;
use serde_json::Value;
use stripe_chat_http::{Answer, MAX_ANSWER_BYTES};
use stripe_chat_message::{
    Capabilities, ChatMessage, ChatProvider, DeliveryError, IdempotencyKey, MessageRef,
    RenderError, Renderer, Secret, async_trait,
};

use crate::error::{Operation, classify};
use crate::render::DiscordRenderer;
use crate::validate::validate_limits;
use crate::webhook::{Webhook, is_snowflake};

/// The platform name in [`MessageRef::provider`].
const PLATFORM: &str = "discord";

/// The adapter's mode, in [`DeliveryError::unsupported`] messages.
const MODE: &str = "a Discord webhook";

/// Delivers [`ChatMessage`]s through one Discord webhook: execute (`POST ?wait=true`) to send,
/// edit (`PATCH .../messages/{id}`) to update. Built by [`DiscordConfig::build`](crate::DiscordConfig::build) (or
/// [`DiscordProvider::webhook`] and the same builder).
///
/// - **send** posts into the webhook's channel, or into the configured thread
///   ([`DiscordConfig::thread_id`](crate::DiscordConfig::thread_id)), and returns `MessageRef { provider: "discord", id: <message
///   id>, channel: <channel_id>, thread_root: <thread id when posted in a thread> }`.
/// - **send in a thread**: a webhook cannot start a thread on a channel message, only post into
///   an existing thread. A reply goes into the thread the root message is in: its `thread_root`,
///   or its `channel` when that is the configured thread. A root posted straight into a channel
///   has no thread, so the reply is refused as `Unsupported` without a request, never posted
///   un-threaded. Hence `capabilities().thread` is true exactly when a thread is configured (the
///   messages this provider sends are then in a thread).
/// - **update** edits a message this webhook sent (in its thread when it is in one), replacing
///   embed and buttons (an empty button list removes old buttons).
/// - **buttons**: link buttons always (with `with_components=true` on webhooks not owned by an
///   application); callback buttons only when [`interactive`](crate::DiscordConfig::interactive).
///
/// Every body is rendered by [`DiscordRenderer`] and checked with [`validate_limits`] first; a
/// body over a limit is `Permanent` without a request. `Debug` shows the webhook id, never its
/// token.
///
/// ```
/// use stripe_chat_discord::DiscordProvider;
/// use stripe_chat_message::{ChatMessage, ChatProvider, IdempotencyKey, Secret};
/// use wiremock::matchers::{method, path, query_param};
/// use wiremock::{Mock, MockServer, ResponseTemplate};
///
/// # tokio_test::block_on(async {
/// let discord = MockServer::start().await;
/// Mock::given(method("POST"))
///     .and(path("/api/webhooks/123456789012345678/SECRETTOKEN"))
///     .and(query_param("wait", "true"))
///     .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
///         "id": "1100000000000000001", "channel_id": "1000000000000000001", "type": 0
///     })))
///     .mount(&discord)
///     .await;
///
/// let provider = DiscordProvider::webhook(Secret::new(
///     "https://discord.com/api/webhooks/123456789012345678/SECRETTOKEN",
/// ))
/// .with_api_base(format!("{}/api", discord.uri()))
/// .build()?;
/// assert!(!format!("{provider:?}").contains("SECRETTOKEN"));
///
/// let key = IdempotencyKey::new("evt_1NG8Du2eZvKYlo2CUI79vXWy", "payments");
/// let sent = provider.send(&ChatMessage::new("Invoice paid: 20.00 USD"), None, &key).await?;
/// assert_eq!(sent.id, "1100000000000000001");
/// assert_eq!(sent.channel.as_deref(), Some("1000000000000000001"));
///
/// // The message is in a channel, not a thread: a webhook cannot start a thread on it.
/// let reply = provider.send(&ChatMessage::new("Refunded"), Some(&sent), &key).await;
/// assert_eq!(reply.unwrap_err().kind(), stripe_chat_message::ErrorKind::Unsupported);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct DiscordProvider {
    renderer: DiscordRenderer,
    http: reqwest::Client,
    api_base: Url,
    webhook_id: String,
    token: Secret,
    thread_id: Option<String>,
    interactive: bool,
    timeout: Duration,
    /// Bot mode: the channel the bot posts in (`token` is then the bot token).
    bot_channel: Option<String>,
}

impl fmt::Debug for DiscordProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("DiscordProvider");
        if let Some(channel) = &self.bot_channel {
            d.field("bot_channel", channel);
        }
        d.field("webhook_id", &self.webhook_id)
            .field("api_base", &self.api_base.as_str())
            .field("thread_id", &self.thread_id)
            .field("interactive", &self.interactive)
            .field("timeout", &self.timeout)
            .field("renderer", &self.renderer)
            .finish()
    }
}

impl DiscordProvider {
    pub(crate) fn from_parts(
        renderer: DiscordRenderer,
        http: reqwest::Client,
        api_base: Url,
        webhook: Webhook,
        thread_id: Option<String>,
        interactive: bool,
        timeout: Duration,
    ) -> Self {
        DiscordProvider {
            renderer,
            http,
            api_base,
            webhook_id: webhook.id,
            token: webhook.token,
            thread_id,
            interactive,
            timeout,
            bot_channel: None,
        }
    }

    pub(crate) fn bot_from_parts(
        http: reqwest::Client,
        api_base: Url,
        token: Secret,
        channel_id: String,
        timeout: Duration,
    ) -> Self {
        DiscordProvider {
            renderer: DiscordRenderer::new().interactive(true),
            http,
            api_base,
            webhook_id: String::new(),
            token,
            thread_id: None,
            interactive: true,
            timeout,
            bot_channel: Some(channel_id),
        }
    }

    /// Bot mode: the channel the bot posts in; `None` for a webhook.
    ///
    /// ```
    /// use stripe_chat_discord::DiscordConfig;
    /// let bot: DiscordConfig = toml::from_str("bot_token = \"secret\"\nchannel_id = \"1000000000000000001\"")?;
    /// let bot = bot.build()?;
    /// assert_eq!(bot.bot_channel(), Some("1000000000000000001"));
    /// assert!(!format!("{bot:?}").contains("secret"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bot_channel(&self) -> Option<&str> {
        self.bot_channel.as_deref()
    }

    /// Bot mode: `{api_base}/channels/{channel}/messages[/{id}][/threads]`.
    fn channel_url(&self, channel: &str, tail: &[&str]) -> Result<Url, DeliveryError> {
        let mut url = self.api_base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| DeliveryError::permanent("discord: api_base cannot take a path"))?;
            path.pop_if_empty().extend(["channels", channel]);
            path.extend(tail);
        }
        Ok(url)
    }

    fn bot_auth(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.header(
            reqwest::header::AUTHORIZATION,
            format!("Bot {}", self.token.expose()),
        )
    }

    /// Bot mode: the channel (or thread) the message at `at` is in.
    fn bot_channel_of<'a>(&'a self, at: &'a MessageRef) -> Result<&'a str, DeliveryError> {
        let channel = at
            .thread_root
            .as_deref()
            .or(at.channel.as_deref())
            .or(self.bot_channel.as_deref())
            .unwrap_or_default();
        if is_snowflake(channel) {
            Ok(channel)
        } else {
            Err(DeliveryError::permanent(
                "the message's channel is not a Discord id",
            ))
        }
    }

    /// Bot mode: posts `body` in `channel`.
    async fn bot_post(
        &self,
        channel: &str,
        mut body: Value,
    ) -> Result<Option<Value>, DeliveryError> {
        if let Some(fields) = body.as_object_mut() {
            fields.remove("username");
            fields.remove("avatar_url");
        }
        let url = self.channel_url(channel, &["messages"])?;
        self.exchange(
            self.bot_auth(self.http.post(url)).json(&body),
            Operation::Send,
        )
        .await
    }

    /// Bot mode: the thread replies to `root` go into: its own, else one started on it.
    async fn bot_thread(&self, root: &MessageRef) -> Result<String, DeliveryError> {
        check_platform(root)?;
        if let Some(thread) = root.thread_root.as_deref() {
            return if is_snowflake(thread) {
                Ok(thread.to_owned())
            } else {
                Err(DeliveryError::permanent(
                    "the root message's thread is not a Discord id",
                ))
            };
        }
        if !is_snowflake(&root.id) {
            return Err(DeliveryError::permanent(
                "the root message has no Discord id, so no thread can start on it",
            ));
        }
        let channel = self.bot_channel_of(root)?.to_owned();
        let url = self.channel_url(&channel, &["messages", &root.id, "threads"])?;
        let body = serde_json::json!({ "name": "Stripe updates", "auto_archive_duration": 10080 });
        let answer = match self
            .exchange(
                self.bot_auth(self.http.post(url)).json(&body),
                Operation::Send,
            )
            .await
        {
            Ok(answer) => answer,
            // A thread started on a message has the message's id; Discord refuses (400) to
            // start a second one: post into the one there is.
            Err(e) if e.kind() == stripe_chat_message::ErrorKind::Permanent => {
                return Ok(root.id.clone());
            }
            Err(e) => return Err(e),
        };
        answer
            .as_ref()
            .and_then(|a| a.get("id"))
            .and_then(Value::as_str)
            .filter(|id| is_snowflake(id))
            .map(str::to_owned)
            .ok_or_else(|| DeliveryError::transient("discord: the new thread has no id"))
    }

    /// The webhook's id (not a secret; the token is).
    ///
    /// ```
    /// use stripe_chat_discord::DiscordProvider;
    /// let url = stripe_chat_message::Secret::new("https://discord.com/api/webhooks/42/token");
    /// assert_eq!(DiscordProvider::webhook(url).build()?.webhook_id(), "42");
    /// # Ok::<(), stripe_chat_discord::ConfigError>(())
    /// ```
    pub fn webhook_id(&self) -> &str {
        &self.webhook_id
    }

    /// The thread messages are posted into, when one is configured.
    ///
    /// ```
    /// use stripe_chat_discord::DiscordProvider;
    /// let url = stripe_chat_message::Secret::new("https://discord.com/api/webhooks/42/token");
    /// assert_eq!(DiscordProvider::webhook(url).build()?.thread_id(), None);
    /// # Ok::<(), stripe_chat_discord::ConfigError>(())
    /// ```
    pub fn thread_id(&self) -> Option<&str> {
        self.thread_id.as_deref()
    }

    /// The time each request may take.
    ///
    /// ```
    /// use stripe_chat_discord::DiscordProvider;
    /// let url = stripe_chat_message::Secret::new("https://discord.com/api/webhooks/42/token");
    /// assert_eq!(DiscordProvider::webhook(url).build()?.timeout(), std::time::Duration::from_secs(10));
    /// # Ok::<(), stripe_chat_discord::ConfigError>(())
    /// ```
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The thread a reply to `root` goes into, or why there is none.
    fn reply_thread(&self, root: &MessageRef) -> Result<String, DeliveryError> {
        check_platform(root)?;
        if let Some(thread) = root.thread_root.as_deref() {
            return if is_snowflake(thread) {
                Ok(thread.to_owned())
            } else {
                Err(DeliveryError::permanent(
                    "the root message's thread is not a Discord id",
                ))
            };
        }
        match (&self.thread_id, root.channel.as_deref()) {
            (Some(configured), Some(channel)) if configured == channel => Ok(configured.clone()),
            _ => Err(DeliveryError::unsupported(
                MODE,
                "start a thread on a channel message (it can only post into an existing \
                 thread: set thread_id)",
            )),
        }
    }

    /// The thread the message at `at` is in, if any.
    fn thread_of(&self, at: &MessageRef) -> Result<Option<String>, DeliveryError> {
        match (
            at.thread_root.as_deref(),
            &self.thread_id,
            at.channel.as_deref(),
        ) {
            (Some(thread), _, _) if is_snowflake(thread) => Ok(Some(thread.to_owned())),
            (Some(_), _, _) => Err(DeliveryError::permanent(
                "the message's thread is not a Discord id",
            )),
            (None, Some(configured), Some(channel)) if configured == channel => {
                Ok(Some(configured.clone()))
            }
            _ => Ok(None),
        }
    }

    /// `{api_base}/webhooks/{id}/{token}[/messages/{message_id}]?{query}`. Holds the token:
    /// never show it.
    fn url(&self, message_id: Option<&str>, query: &[(&str, &str)]) -> Result<Url, DeliveryError> {
        let mut url = self.api_base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| DeliveryError::permanent("discord: api_base cannot take a path"))?;
            path.pop_if_empty()
                .extend(["webhooks", &self.webhook_id, self.token.expose()]);
            if let Some(id) = message_id {
                path.extend(["messages", id]);
            }
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Sends `request`: on a 2xx the answer's JSON (`None` when unreadable), else a classified
    /// error.
    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
        operation: Operation,
    ) -> Result<Option<Value>, DeliveryError> {
        let response = request
            .send()
            .await
            .map_err(|e| stripe_chat_http::from_reqwest(PLATFORM, e))?;
        let answer = Answer::read(response, MAX_ANSWER_BYTES).await;
        // A delivered message whose answer cannot be read is still delivered: no error (which
        // would be retried and post it twice), just no id.
        if answer.is_success() {
            return Ok(answer.json());
        }
        Err(classify(
            answer.status(),
            answer.headers(),
            answer.body(),
            operation,
            self.token.expose(),
        ))
    }
}

impl DiscordProvider {
    /// The message `id` this webhook sent, as Discord keeps it now (`GET …/messages/{id}`):
    /// its `embeds` and `components`, to edit it without losing them.
    ///
    /// # Errors
    /// What Discord or the transport answered, classified; never the token.
    ///
    /// ```
    /// use stripe_chat_discord::DiscordProvider;
    /// use wiremock::{Mock, MockServer, ResponseTemplate, matchers::path};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let discord = MockServer::start().await;
    /// Mock::given(path("/api/webhooks/42/token/messages/1100000000000000001"))
    ///     .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({ "id": "1100000000000000001", "embeds": [] })))
    ///     .mount(&discord).await;
    /// let provider = DiscordProvider::webhook(stripe_chat_message::Secret::new("https://discord.com/api/webhooks/42/token"))
    ///     .with_api_base(format!("{}/api", discord.uri())).build()?;
    /// assert_eq!(provider.message("1100000000000000001").await?["id"], "1100000000000000001");
    /// # Ok::<(), Box<dyn std::error::Error>>(()) })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn message(&self, id: &str) -> Result<Value, DeliveryError> {
        if !is_snowflake(id) {
            return Err(DeliveryError::permanent("not a Discord message id"));
        }
        if let Some(channel) = &self.bot_channel {
            let url = self.channel_url(channel, &["messages", id])?;
            return self
                .exchange(self.bot_auth(self.http.get(url)), Operation::Update)
                .await?
                .ok_or_else(|| DeliveryError::transient("discord: the message could not be read"));
        }
        let mut query = Vec::new();
        if let Some(thread_id) = &self.thread_id {
            query.push(("thread_id", thread_id.as_str()));
        }
        let url = self.url(Some(id), &query)?;
        self.exchange(self.http.get(url), Operation::Update)
            .await?
            .ok_or_else(|| DeliveryError::transient("discord: the message could not be read"))
    }
}

/// Refuses a ref from another platform.
fn check_platform(at: &MessageRef) -> Result<(), DeliveryError> {
    if at.provider == PLATFORM {
        Ok(())
    } else {
        Err(DeliveryError::permanent(format!(
            "a {:?} message cannot be addressed through Discord",
            at.provider.chars().take(40).collect::<String>()
        )))
    }
}

/// Whether the body carries action rows.
fn has_components(body: &Value) -> bool {
    body.get("components")
        .and_then(Value::as_array)
        .is_some_and(|rows| !rows.is_empty())
}

impl Renderer for DiscordProvider {
    fn platform(&self) -> &str {
        PLATFORM
    }

    fn display_name(&self) -> &str {
        "Discord"
    }

    fn render(&self, message: &ChatMessage) -> Result<Value, RenderError> {
        self.renderer.render(message)
    }

    fn validate_limits(&self, body: &Value) -> Result<(), Vec<String>> {
        validate_limits(body)
    }
}

#[async_trait]
impl ChatProvider for DiscordProvider {
    fn capabilities(&self) -> Capabilities {
        Capabilities::FULL
            .with_thread(self.thread_id.is_some() || self.bot_channel.is_some())
            .with_interactive(self.interactive)
    }

    /// Discord's webhooks keep no idempotency key: a retry after a post whose answer was lost
    /// posts again.
    async fn send_raw(
        &self,
        body: Value,
        thread: Option<&MessageRef>,
        _key: &IdempotencyKey,
    ) -> Result<MessageRef, DeliveryError> {
        if let Some(channel) = &self.bot_channel {
            let (post_in, thread_id) = match thread {
                Some(root) => {
                    let thread = self.bot_thread(root).await?;
                    (thread.clone(), Some(thread))
                }
                None => (channel.clone(), None),
            };
            let answer = self.bot_post(&post_in, body).await?;
            let id = answer
                .as_ref()
                .and_then(|a| a.get("id"))
                .and_then(Value::as_str)
                .filter(|id| is_snowflake(id))
                .unwrap_or_default();
            let sent = MessageRef::new(PLATFORM, id).in_channel(channel.clone());
            return Ok(match thread_id {
                Some(thread) => sent.in_thread(thread),
                None => sent,
            });
        }
        let thread_id = match thread {
            Some(root) => Some(self.reply_thread(root)?),
            None => self.thread_id.clone(),
        };
        let mut query = vec![("wait", "true")];
        if let Some(thread_id) = &thread_id {
            query.push(("thread_id", thread_id.as_str()));
        }
        if !self.interactive && has_components(&body) {
            query.push(("with_components", "true"));
        }
        let url = self.url(None, &query)?;
        let answer = self
            .exchange(self.http.post(url).json(&body), Operation::Send)
            .await?;

        let text = |key: &str| {
            answer
                .as_ref()
                .and_then(|a| a.get(key))
                .and_then(Value::as_str)
                .filter(|id| is_snowflake(id))
        };
        let mut sent = MessageRef::new(PLATFORM, text("id").unwrap_or_default());
        if let Some(channel) = text("channel_id") {
            sent = sent.in_channel(channel);
        }
        if let Some(thread_id) = thread_id {
            sent = sent.in_thread(thread_id);
        }
        Ok(sent)
    }

    async fn update_raw(
        &self,
        at: &MessageRef,
        mut body: Value,
        _key: &IdempotencyKey,
    ) -> Result<(), DeliveryError> {
        check_platform(at)?;
        if !is_snowflake(&at.id) {
            return Err(DeliveryError::permanent(
                "the message has no Discord id, so it cannot be edited",
            ));
        }
        if self.bot_channel.is_some() {
            if let Some(fields) = body.as_object_mut() {
                fields.remove("username");
                fields.remove("avatar_url");
                fields
                    .entry("components")
                    .or_insert_with(|| Value::Array(Vec::new()));
            }
            let channel = self.bot_channel_of(at)?.to_owned();
            let url = self.channel_url(&channel, &["messages", &at.id])?;
            self.exchange(
                self.bot_auth(self.http.patch(url)).json(&body),
                Operation::Update,
            )
            .await?;
            return Ok(());
        }
        let thread_id = self.thread_of(at)?;
        if let Some(fields) = body.as_object_mut() {
            // Edit Webhook Message takes neither; the message keeps the name it was sent with.
            fields.remove("username");
            fields.remove("avatar_url");
            // An edit keeps what it does not name: an empty list removes old buttons.
            fields
                .entry("components")
                .or_insert_with(|| Value::Array(Vec::new()));
        }
        let mut query = Vec::new();
        if let Some(thread_id) = &thread_id {
            query.push(("thread_id", thread_id.as_str()));
        }
        if !self.interactive {
            query.push(("with_components", "true"));
        }
        let url = self.url(Some(&at.id), &query)?;
        self.exchange(self.http.patch(url).json(&body), Operation::Update)
            .await?;
        Ok(())
    }

    fn mode_name(&self) -> &str {
        MODE
    }
}

//! Delivering messages to Slack: [`SlackProvider`] in bot mode (Web API `chat.postMessage` and
//! `chat.update`) or incoming-webhook mode, and how Slack's answers are classified
//! ([`api_error_kind`]).

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use stripe_chat_http::{
    Answer, DEFAULT_RATE_LIMIT_DELAY, MAX_ANSWER_BYTES, classify_status, from_reqwest,
};
use stripe_chat_message::{
    Capabilities, ChatMessage, ChatProvider, DeliveryError, ErrorKind, IdempotencyKey, MessageRef,
    Rate, RenderError, Renderer, Secret, async_trait,
};

use crate::render::SlackRenderer;
use crate::validate::validate_limits;

/// The Slack Web API base URL bot mode posts to unless told otherwise.
///
/// ```
/// assert_eq!(stripe_chat_slack::DEFAULT_API_BASE, "https://slack.com/api");
/// ```
pub const DEFAULT_API_BASE: &str = "https://slack.com/api";

/// Time allowed for each request unless told otherwise.
///
/// ```
/// assert_eq!(stripe_chat_slack::DEFAULT_TIMEOUT.as_secs(), 10);
/// ```
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Slack's pace for posting: about one message a second per channel, for the Web API and for
/// incoming webhooks alike (short bursts are tolerated; sustained ones answer 429).
///
/// ```
/// assert_eq!(stripe_chat_slack::RATE, stripe_chat_message::Rate::per_second(1));
/// ```
pub const RATE: Rate = Rate::per_second(1);

const PLATFORM: &str = "slack";
const WEBHOOK: &str = "slack incoming webhook";
const JSON_UTF8: &str = "application/json; charset=utf-8";
/// Why a 2xx that is not Slack's answer is worth retrying.
const NOT_SLACK: &str = "something between stripe-chat and Slack answered";

/// Slack error codes meaning the token (or webhook) is wrong, revoked or lacks permission: fix the
/// configuration. The last five are incoming-webhook answers.
const UNAUTHORIZED_CODES: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "missing_scope",
    "not_allowed_token_type",
    "no_permission",
    "ekm_access_denied",
    "access_denied",
    "accesslimited",
    "team_access_not_granted",
    "invalid_token",
    "no_service",
    "no_team",
    "team_disabled",
    "action_prohibited",
];

/// Slack error codes asking to slow down.
const RATE_LIMITED_CODES: &[&str] = &["ratelimited", "rate_limited"];

/// Slack error codes for a failure on Slack's side that may pass (workspace migrations included).
const TRANSIENT_CODES: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_added_to_org",
    "org_login_required",
];

/// What a Slack error code (the `error` of an `{"ok": false}` answer, or an incoming webhook's
/// text answer) means for the caller:
///
/// | kind | codes |
/// |---|---|
/// | [`ErrorKind::Unauthorized`] | `invalid_auth`, `not_authed`, `account_inactive`, `token_revoked`, `token_expired`, `missing_scope`, `not_allowed_token_type`, `no_permission`, `ekm_access_denied`, `access_denied`, `accesslimited`, `team_access_not_granted`; webhooks: `invalid_token`, `no_service`, `no_team`, `team_disabled`, `action_prohibited` |
/// | [`ErrorKind::RateLimited`] | `ratelimited`, `rate_limited` |
/// | [`ErrorKind::Transient`] | `internal_error`, `fatal_error`, `service_unavailable`, `request_timeout`, `team_added_to_org`, `org_login_required` |
/// | [`ErrorKind::Permanent`] | everything else: `channel_not_found`, `not_in_channel`, `is_archived`, `invalid_blocks`, `msg_too_long`, `no_text`, `cant_update_message`, `message_not_found`, `invalid_payload`, ... |
///
/// `fatal_error` and `internal_error` may come after Slack posted part of the message; retrying
/// can then post it twice, which is preferred over losing it.
///
/// ```
/// use stripe_chat_message::ErrorKind;
/// use stripe_chat_slack::api_error_kind;
/// assert_eq!(api_error_kind("invalid_auth"), ErrorKind::Unauthorized);
/// assert_eq!(api_error_kind("ratelimited"), ErrorKind::RateLimited);
/// assert_eq!(api_error_kind("internal_error"), ErrorKind::Transient);
/// assert_eq!(api_error_kind("channel_not_found"), ErrorKind::Permanent);
/// ```
pub fn api_error_kind(code: &str) -> ErrorKind {
    let code = code.trim();
    if UNAUTHORIZED_CODES.contains(&code) {
        ErrorKind::Unauthorized
    } else if RATE_LIMITED_CODES.contains(&code) {
        ErrorKind::RateLimited
    } else if TRANSIENT_CODES.contains(&code) {
        ErrorKind::Transient
    } else {
        ErrorKind::Permanent
    }
}

/// How stripe-chat posts to Slack.
///
/// ```
/// use stripe_chat_slack::SlackMode;
/// assert_eq!(SlackMode::default(), SlackMode::Bot);
/// let mode: SlackMode = serde_json::from_str("\"webhook\"")?;
/// assert_eq!(mode, SlackMode::Webhook);
/// assert_eq!(mode.as_str(), "webhook");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SlackMode {
    /// A bot token (`xoxb-...`, scope `chat:write`) and the Web API: send, update, threads,
    /// buttons.
    #[default]
    Bot,
    /// An incoming webhook URL: send only, to the channel the webhook was created for.
    Webhook,
}

impl SlackMode {
    /// The name used in configuration files (`bot`, `webhook`).
    ///
    /// ```
    /// assert_eq!(stripe_chat_slack::SlackMode::Bot.as_str(), "bot");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            SlackMode::Bot => "bot",
            SlackMode::Webhook => "webhook",
        }
    }
}

/// Where messages go: a bot token and a channel, or an incoming webhook.
#[derive(Clone)]
enum Target {
    Bot {
        token: Secret,
        channel: String,
        api_base: String,
    },
    Webhook {
        url: Secret,
    },
}

/// The Slack adapter: renders a [`ChatMessage`] as Block Kit ([`Renderer`], platform `"slack"`)
/// and delivers it ([`ChatProvider`]).
///
/// Two modes ([`SlackMode`]):
///
/// - **Bot** ([`SlackProvider::bot`]): a bot token with the `chat:write` scope, and a channel the
///   bot is a member of. `send` posts with `chat.postMessage` (`thread_ts` set for a reply) and
///   returns the message's `ts` and channel; `update` edits with `chat.update`. Slack answers
///   HTTP 200 with `{"ok": false, "error": code}` for most failures; the code decides the
///   [`ErrorKind`] ([`api_error_kind`]). A reply or an update goes to the channel its
///   [`MessageRef`] names (else the configured one). Capabilities: [`Capabilities::FULL`]. Clicks
///   on callback buttons reach stripe-chat only once the Slack app's interactivity request URL
///   points at stripe-chat's interactions endpoint.
/// - **Incoming webhook** ([`SlackProvider::incoming_webhook`]): posts to the webhook's fixed
///   channel, which answers `ok` and no `ts`: the returned [`MessageRef`] has an empty id.
///   Capabilities: [`Capabilities::SEND_ONLY`]; `update`, and `send` in a thread, fail with
///   [`ErrorKind::Unsupported`] without a request (a reply is never posted unthreaded).
///
/// Every request has a timeout ([`DEFAULT_TIMEOUT`], or [`SlackProvider::with_timeout`]). A body
/// over Slack's limits ([`crate::validate_limits`]) is not sent ([`ErrorKind::Permanent`]); the
/// renderer keeps within them, so this does not happen in practice. HTTP 429 is
/// [`ErrorKind::RateLimited`] with the `Retry-After` delay (1 s without one), 5xx and timeouts are
/// [`ErrorKind::Transient`], 401/403 [`ErrorKind::Unauthorized`]. A 2xx whose body is not Slack's
/// answer (not JSON with `ok` in bot mode, not `ok` for a webhook) came from something between
/// stripe-chat and Slack (a proxy, a maintenance page) and is [`ErrorKind::Transient`].
///
/// `Debug` and errors never show the token or the webhook URL.
///
/// ```
/// use std::time::Duration;
/// use stripe_chat_message::{ChatMessage, ChatProvider, Renderer, Secret};
/// use stripe_chat_slack::SlackProvider;
///
/// let slack = SlackProvider::bot(Secret::new("xoxb-1-abc"), "C0123456789")
///     .with_timeout(Duration::from_secs(5));
/// assert!(slack.capabilities().update && slack.capabilities().thread);
/// assert_eq!(slack.render(&ChatMessage::new("Invoice paid"))?["channel"], "C0123456789");
/// assert!(!format!("{slack:?}").contains("xoxb-1-abc"));
///
/// let hook = SlackProvider::incoming_webhook(Secret::new("https://hooks.slack.com/services/T0/B0/x"));
/// assert!(!hook.capabilities().update);
/// assert!(hook.render(&ChatMessage::new("Invoice paid"))?.get("channel").is_none());
/// # Ok::<(), stripe_chat_message::RenderError>(())
/// ```
///
/// Sending (here to a local stand-in for Slack):
///
/// ```
/// use stripe_chat_message::{ChatMessage, ChatProvider, IdempotencyKey, Secret};
/// use stripe_chat_slack::SlackProvider;
/// use wiremock::{Mock, MockServer, ResponseTemplate, matchers::path};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let slack_api = MockServer::start().await;
/// Mock::given(path("/chat.postMessage"))
///     .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!(
///         { "ok": true, "channel": "C0123456789", "ts": "1700000000.000100" }
///     )))
///     .mount(&slack_api)
///     .await;
///
/// let slack = SlackProvider::bot(Secret::new("xoxb-1-abc"), "C0123456789")
///     .with_api_base(slack_api.uri());
/// let key = IdempotencyKey::new("evt_1NG8Du2eZvKYlo2CUI79vXWy", "billing");
/// let sent = slack.send(&ChatMessage::new("Invoice paid"), None, &key).await?;
/// assert_eq!(sent.id, "1700000000.000100");
/// assert_eq!(sent.channel.as_deref(), Some("C0123456789"));
///
/// let reply = slack.send(&ChatMessage::new("Refunded"), Some(&sent), &key).await?;
/// assert_eq!(reply.thread_root.as_deref(), Some("1700000000.000100"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SlackProvider {
    target: Target,
    renderer: SlackRenderer,
    timeout: Duration,
    http: OnceLock<reqwest::Client>,
}

impl SlackProvider {
    /// Bot mode: posts with the bot `token` (`xoxb-...`, scope `chat:write`) to `channel` (a
    /// channel id such as `C0123456789`; the bot must be a member).
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// use stripe_chat_slack::{SlackMode, SlackProvider};
    /// let slack = SlackProvider::bot(Secret::new("xoxb-1-abc"), "C0123456789");
    /// assert_eq!(slack.mode(), SlackMode::Bot);
    /// assert_eq!(slack.channel(), Some("C0123456789"));
    /// ```
    pub fn bot(token: Secret, channel: impl Into<String>) -> Self {
        let channel = channel.into();
        SlackProvider {
            renderer: SlackRenderer::new().channel(channel.clone()),
            target: Target::Bot {
                token,
                channel,
                api_base: DEFAULT_API_BASE.to_owned(),
            },
            timeout: DEFAULT_TIMEOUT,
            http: OnceLock::new(),
        }
    }

    /// Incoming-webhook mode: posts to `url` (`https://hooks.slack.com/services/...`, which is
    /// itself the secret). Send only: no `ts`, so no update and no threads.
    ///
    /// ```
    /// use stripe_chat_message::{ChatProvider, Secret};
    /// use stripe_chat_slack::{SlackMode, SlackProvider};
    /// let hook = SlackProvider::incoming_webhook(Secret::new("https://hooks.slack.com/services/T0/B0/x"));
    /// assert_eq!(hook.mode(), SlackMode::Webhook);
    /// assert_eq!(hook.channel(), None);
    /// assert!(!hook.capabilities().thread);
    /// ```
    pub fn incoming_webhook(url: Secret) -> Self {
        SlackProvider {
            target: Target::Webhook { url },
            renderer: SlackRenderer::new(),
            timeout: DEFAULT_TIMEOUT,
            http: OnceLock::new(),
        }
    }

    /// The same provider, calling the Web API at `api_base` instead of [`DEFAULT_API_BASE`] (a
    /// proxy, or a test server). No effect in webhook mode.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// let slack = stripe_chat_slack::SlackProvider::bot(Secret::new("xoxb-1"), "C1")
    ///     .with_api_base("http://127.0.0.1:8080/api/");
    /// assert!(format!("{slack:?}").contains("http://127.0.0.1:8080/api"));
    /// ```
    pub fn with_api_base(mut self, api_base: impl Into<String>) -> Self {
        if let Target::Bot { api_base: base, .. } = &mut self.target {
            *base = api_base.into().trim().trim_end_matches('/').to_owned();
        }
        self
    }

    /// The same provider, allowing `timeout` for each request (a zero timeout means
    /// [`DEFAULT_TIMEOUT`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use stripe_chat_message::Secret;
    /// let slack = stripe_chat_slack::SlackProvider::bot(Secret::new("xoxb-1"), "C1")
    ///     .with_timeout(Duration::from_secs(3));
    /// assert_eq!(slack.timeout(), Duration::from_secs(3));
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = if timeout.is_zero() {
            DEFAULT_TIMEOUT
        } else {
            timeout
        };
        self.http = OnceLock::new();
        self
    }

    /// The mode: bot or incoming webhook.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// use stripe_chat_slack::{SlackMode, SlackProvider};
    /// assert_eq!(SlackProvider::bot(Secret::new("xoxb-1"), "C1").mode(), SlackMode::Bot);
    /// ```
    pub fn mode(&self) -> SlackMode {
        match self.target {
            Target::Bot { .. } => SlackMode::Bot,
            Target::Webhook { .. } => SlackMode::Webhook,
        }
    }

    /// The configured channel (bot mode); `None` for an incoming webhook, whose channel is fixed
    /// by Slack.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// let slack = stripe_chat_slack::SlackProvider::bot(Secret::new("xoxb-1"), "C1");
    /// assert_eq!(slack.channel(), Some("C1"));
    /// ```
    pub fn channel(&self) -> Option<&str> {
        match &self.target {
            Target::Bot { channel, .. } => Some(channel),
            Target::Webhook { .. } => None,
        }
    }

    /// The time allowed for each request.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// let slack = stripe_chat_slack::SlackProvider::bot(Secret::new("xoxb-1"), "C1");
    /// assert_eq!(slack.timeout(), stripe_chat_slack::DEFAULT_TIMEOUT);
    /// ```
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn http(&self) -> Result<&reqwest::Client, DeliveryError> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let client = stripe_chat_http::client(self.timeout)?;
        Ok(self.http.get_or_init(|| client))
    }

    /// POSTs `body` as JSON (with the bearer `token` when given) and reads the answer.
    async fn post(
        &self,
        url: &str,
        token: Option<&Secret>,
        body: &Value,
    ) -> Result<Answer, DeliveryError> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            DeliveryError::permanent(format!("{PLATFORM}: cannot encode the body: {e}"))
        })?;
        let mut request = self
            .http()?
            .post(url)
            .timeout(self.timeout)
            .header(CONTENT_TYPE, JSON_UTF8)
            .body(bytes);
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        let response = request
            .send()
            .await
            .map_err(|e| from_reqwest(PLATFORM, e))?;
        Ok(Answer::read(response, MAX_ANSWER_BYTES).await)
    }

    /// Bot mode: calls Web API `method` with `body`; the answer's fields when `ok` is true.
    async fn call(
        &self,
        token: &Secret,
        api_base: &str,
        method: &str,
        body: &Value,
    ) -> Result<Map<String, Value>, DeliveryError> {
        let answer = self
            .post(&format!("{api_base}/{method}"), Some(token), body)
            .await?;
        let what = format!("{PLATFORM} {method}");
        let parsed: Option<Value> = answer.json();
        if !answer.is_success() {
            let code = parsed
                .as_ref()
                .and_then(|v| v.get("error"))
                .and_then(Value::as_str)
                .and_then(error_code);
            return Err(classify_http(&what, &answer, code.as_deref()));
        }
        let Some(Value::Object(fields)) = parsed else {
            return Err(DeliveryError::transient(format!(
                "{what}: the answer is not Slack's JSON ({NOT_SLACK})"
            ))
            .with_status(answer.status()));
        };
        match fields.get("ok").and_then(Value::as_bool) {
            Some(true) => Ok(fields),
            Some(false) => {
                Err(api_error(&what, &fields, answer.retry_after()).with_status(answer.status()))
            }
            None => Err(DeliveryError::transient(format!(
                "{what}: the answer has no \"ok\" ({NOT_SLACK})"
            ))
            .with_status(answer.status())),
        }
    }
}

impl SlackProvider {
    /// Bot mode: calls Web API `method` (`views.open`, `chat.postEphemeral`, …) with `body` as
    /// JSON and the bot token; the answer's fields when Slack says `ok`. Errors are classified
    /// as for delivery ([`api_error_kind`]) and never show the token.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] in webhook mode (no token), else what Slack or the transport
    /// answered.
    ///
    /// ```
    /// use stripe_chat_message::{ErrorKind, Secret};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let hook = stripe_chat_slack::SlackProvider::incoming_webhook(Secret::new("https://hooks.slack.com/services/T0/B0/x"));
    /// let err = hook.web_api("views.open", &serde_json::json!({})).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Unsupported);
    /// # Ok::<(), Box<dyn std::error::Error>>(()) })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn web_api(
        &self,
        method: &str,
        body: &Value,
    ) -> Result<Map<String, Value>, DeliveryError> {
        let Target::Bot {
            token, api_base, ..
        } = &self.target
        else {
            return Err(DeliveryError::unsupported(WEBHOOK, "call the Web API"));
        };
        self.call(token, api_base, method, body).await
    }

    /// Bot mode: the message at `ts` in `channel` as Slack keeps it (its `text` and `blocks`),
    /// read with `conversations.history` (scopes `channels:history`, `groups:history`); `None`
    /// when Slack has no such message.
    ///
    /// # Errors
    /// As [`SlackProvider::web_api`].
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// use wiremock::{Mock, MockServer, ResponseTemplate, matchers::{path, query_param}};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let api = MockServer::start().await;
    /// Mock::given(path("/conversations.history")).and(query_param("latest", "1700000000.000100"))
    ///     .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!(
    ///         { "ok": true, "messages": [{ "ts": "1700000000.000100", "text": "Payment failed", "blocks": [] }] })))
    ///     .mount(&api).await;
    /// let slack = stripe_chat_slack::SlackProvider::bot(Secret::new("xoxb-1"), "C1").with_api_base(api.uri());
    /// let message = slack.message("C1", "1700000000.000100").await?.expect("found");
    /// assert_eq!(message["text"], "Payment failed");
    /// # Ok::<(), Box<dyn std::error::Error>>(()) })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn message(&self, channel: &str, ts: &str) -> Result<Option<Value>, DeliveryError> {
        let Target::Bot {
            token, api_base, ..
        } = &self.target
        else {
            return Err(DeliveryError::unsupported(WEBHOOK, "read messages"));
        };
        let method = "conversations.history";
        let response = self
            .http()?
            .get(format!("{api_base}/{method}"))
            .timeout(self.timeout)
            .bearer_auth(token.expose())
            .query(&[
                ("channel", channel),
                ("latest", ts),
                ("oldest", ts),
                ("inclusive", "true"),
                ("limit", "1"),
            ])
            .send()
            .await
            .map_err(|e| from_reqwest(PLATFORM, e))?;
        let answer = Answer::read(response, MAX_ANSWER_BYTES).await;
        let what = format!("{PLATFORM} {method}");
        let Some(Value::Object(fields)) = answer.json::<Value>() else {
            return Err(classify_http(&what, &answer, None));
        };
        if fields.get("ok").and_then(Value::as_bool) != Some(true) {
            return Err(
                api_error(&what, &fields, answer.retry_after()).with_status(answer.status())
            );
        }
        Ok(fields
            .get("messages")
            .and_then(Value::as_array)
            .and_then(|messages| {
                messages
                    .iter()
                    .find(|m| m.get("ts").and_then(Value::as_str) == Some(ts))
            })
            .cloned())
    }

    /// POSTs `body` to an interaction's `response_url` (Slack allows 5 uses within 30 minutes).
    /// The URL comes from a verified request; it must still be `https` (plain `http` only to a
    /// loopback address, for tests) and is never shown in errors.
    ///
    /// # Errors
    /// [`ErrorKind::Permanent`] for a URL that is not one; else what Slack or the transport
    /// answered.
    ///
    /// ```
    /// use stripe_chat_message::{ErrorKind, Secret};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let slack = stripe_chat_slack::SlackProvider::bot(Secret::new("xoxb-1"), "C1");
    /// let err = slack.respond("ftp://example.com/x", &serde_json::json!({"text": "hi"})).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Permanent);
    /// # Ok::<(), Box<dyn std::error::Error>>(()) })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn respond(&self, response_url: &str, body: &Value) -> Result<(), DeliveryError> {
        const WHAT: &str = "slack response_url";
        if stripe_chat_http::endpoint(response_url.trim()).is_err() {
            return Err(DeliveryError::permanent(format!(
                "{WHAT}: not an https URL"
            )));
        }
        let answer = self.post(response_url, None, body).await?;
        if answer.is_success() {
            Ok(())
        } else {
            let text = String::from_utf8_lossy(answer.body());
            let code = error_code(&text);
            Err(classify_http(WHAT, &answer, code.as_deref()))
        }
    }
}

/// `text` if it looks like a Slack error code (`channel_not_found`): never echo anything else an
/// answer holds.
fn error_code(text: &str) -> Option<String> {
    let text = text.trim();
    let looks_like_code = (1..=100).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    looks_like_code.then(|| text.to_owned())
}

/// A short, single-line, printable excerpt of a diagnostic Slack sent.
fn excerpt(text: &str, max: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    stripe_chat_message::text::truncate(clean.trim(), max).into_owned()
}

/// A non-2xx answer: by status, except that a Slack code saying the credentials are bad makes a
/// 4xx unauthorized (an incoming webhook that was removed answers 404 `no_service`).
fn classify_http(what: &str, answer: &Answer, code: Option<&str>) -> DeliveryError {
    let error = classify_status(
        what,
        answer.status(),
        answer.retry_after(),
        code.unwrap_or_default(),
    );
    match code {
        Some(code)
            if error.kind() == ErrorKind::Permanent
                && api_error_kind(code) == ErrorKind::Unauthorized =>
        {
            DeliveryError::unauthorized(error.message()).with_status(answer.status())
        }
        _ => error,
    }
}

/// An `{"ok": false, "error": code}` answer as a classified error naming the code (and, when
/// Slack says, the missing scope and its diagnostics).
fn api_error(
    what: &str,
    fields: &Map<String, Value>,
    retry_after: Option<Duration>,
) -> DeliveryError {
    let Some(code) = fields
        .get("error")
        .and_then(Value::as_str)
        .and_then(error_code)
    else {
        return DeliveryError::permanent(format!(
            "{what}: Slack answered ok: false without an error code"
        ));
    };
    let mut message = format!("{what}: {code}");
    if let Some(needed) = fields
        .get("needed")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
    {
        message.push_str(&format!(" (needed scope: {})", excerpt(needed, 100)));
    }
    let diagnostics: Vec<String> = fields
        .get("response_metadata")
        .and_then(|m| m.get("messages"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .take(3)
        .map(|m| excerpt(m, 200))
        .collect();
    if !diagnostics.is_empty() {
        message.push_str(&format!(" ({})", diagnostics.join("; ")));
    }
    match api_error_kind(&code) {
        ErrorKind::RateLimited => {
            DeliveryError::rate_limited(retry_after.unwrap_or(DEFAULT_RATE_LIMIT_DELAY), message)
        }
        kind => DeliveryError::new(kind, message),
    }
}

/// Refuses a reference that is not a Slack message with a `ts`.
fn addressable<'r>(at: &'r MessageRef, what: &str) -> Result<&'r str, DeliveryError> {
    if at.provider != PLATFORM {
        return Err(DeliveryError::permanent(format!(
            "{PLATFORM} cannot {what} a {} message",
            at.provider
        )));
    }
    Ok(at.id.trim())
}

impl fmt::Debug for SlackProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SlackProvider");
        match &self.target {
            Target::Bot {
                token,
                channel,
                api_base,
            } => d
                .field("mode", &"bot")
                .field("channel", channel)
                .field("api_base", api_base)
                .field("token", token),
            Target::Webhook { url } => d.field("mode", &"webhook").field("webhook_url", url),
        };
        d.field("timeout", &self.timeout).finish()
    }
}

impl Renderer for SlackProvider {
    fn platform(&self) -> &str {
        PLATFORM
    }

    fn display_name(&self) -> &str {
        "Slack"
    }

    fn render(&self, message: &ChatMessage) -> Result<Value, RenderError> {
        self.renderer.render(message)
    }

    fn validate_limits(&self, body: &Value) -> Result<(), Vec<String>> {
        validate_limits(body)
    }
}

#[async_trait]
impl ChatProvider for SlackProvider {
    /// Bot mode: [`Capabilities::FULL`] (callback buttons need the Slack app's interactivity
    /// request URL set to stripe-chat's interactions endpoint). Webhook mode:
    /// [`Capabilities::SEND_ONLY`]. Both at Slack's pace, [`RATE`]: one message a second per
    /// channel.
    fn capabilities(&self) -> Capabilities {
        match self.target {
            Target::Bot { .. } => Capabilities::FULL.with_rate(RATE),
            Target::Webhook { .. } => Capabilities::SEND_ONLY.with_rate(RATE),
        }
    }

    /// Slack keeps no idempotency key: a retry after a post whose answer was lost posts again.
    async fn send_raw(
        &self,
        mut body: Value,
        thread: Option<&MessageRef>,
        _key: &IdempotencyKey,
    ) -> Result<MessageRef, DeliveryError> {
        match &self.target {
            Target::Bot {
                token,
                channel,
                api_base,
            } => {
                let (channel, thread_ts) = match thread {
                    None => (channel.as_str(), None),
                    Some(root) => {
                        addressable(root, "reply in the thread of")?;
                        let ts = root.thread_id().trim();
                        if ts.is_empty() {
                            return Err(DeliveryError::permanent(format!(
                                "{PLATFORM}: the thread's first message has no ts (cannot reply)"
                            )));
                        }
                        (root.channel.as_deref().unwrap_or(channel), Some(ts))
                    }
                };
                body["channel"] = channel.into();
                if let Some(ts) = thread_ts {
                    body["thread_ts"] = ts.into();
                }
                let answer = self
                    .call(token, api_base, "chat.postMessage", &body)
                    .await?;
                let ts = answer.get("ts").and_then(Value::as_str).unwrap_or_default();
                let posted_in = answer
                    .get("channel")
                    .and_then(Value::as_str)
                    .unwrap_or(channel);
                let sent = MessageRef::new(PLATFORM, ts).in_channel(posted_in);
                Ok(match thread_ts {
                    Some(root) => sent.in_thread(root),
                    None => sent,
                })
            }
            Target::Webhook { url } => {
                if thread.is_some() {
                    return Err(DeliveryError::unsupported(WEBHOOK, "reply in a thread"));
                }
                let answer = self.post(url.expose(), None, &body).await?;
                let text = String::from_utf8_lossy(answer.body());
                if !answer.is_success() {
                    let code = error_code(&text);
                    return Err(classify_http(WEBHOOK, &answer, code.as_deref()));
                }
                if text.trim() != "ok" {
                    return Err(DeliveryError::transient(format!(
                        "{WEBHOOK}: the answer is not Slack's `ok` ({NOT_SLACK})"
                    ))
                    .with_status(answer.status()));
                }
                Ok(MessageRef::new(PLATFORM, ""))
            }
        }
    }

    /// `chat.update` of the message at `at`, in its channel (else the configured one).
    async fn update_raw(
        &self,
        at: &MessageRef,
        body: Value,
        _key: &IdempotencyKey,
    ) -> Result<(), DeliveryError> {
        let Target::Bot {
            token,
            channel,
            api_base,
        } = &self.target
        else {
            return Err(DeliveryError::unsupported(WEBHOOK, "update messages"));
        };
        let ts = addressable(at, "update")?;
        if ts.is_empty() {
            return Err(DeliveryError::permanent(format!(
                "{PLATFORM}: the message has no ts, so it cannot be updated"
            )));
        }
        let update = json!({
            "channel": at.channel.as_deref().unwrap_or(channel),
            "ts": ts,
            "text": body["text"],
            "blocks": body["blocks"],
        });
        self.call(token, api_base, "chat.update", &update).await?;
        Ok(())
    }

    fn mode_name(&self) -> &str {
        match self.target {
            Target::Bot { .. } => PLATFORM,
            Target::Webhook { .. } => WEBHOOK,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_checks_bodies_against_slacks_limits() {
        let blocks: Vec<Value> = (0..51)
            .map(|_| json!({"type": "section", "text": {"type": "mrkdwn", "text": "x"}}))
            .collect();
        let slack = SlackProvider::bot(Secret::new("xoxb-1"), "C1");
        let problems = slack
            .validate_limits(&json!({"text": "x", "blocks": blocks}))
            .expect_err("51 blocks are over the limit");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("51 items, more than 50")),
            "{problems:?}"
        );
    }

    #[test]
    fn only_code_like_text_is_taken_from_an_answer() {
        assert_eq!(error_code(" no_service\n").as_deref(), Some("no_service"));
        assert_eq!(error_code("xoxb-1-secret"), None);
        assert_eq!(error_code("<html>Bad gateway</html>"), None);
        assert_eq!(error_code(""), None);
        assert_eq!(error_code(&"a".repeat(101)), None);
    }

    #[test]
    fn diagnostics_are_cut_and_kept_on_one_line() {
        assert_eq!(excerpt("a\nb\u{7}c ", 10), "a b c");
        assert_eq!(excerpt("abcdef", 4).chars().count(), 4);
    }
}

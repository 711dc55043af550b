//! Inbound requests from Slack (button clicks, modal submissions): verified on the raw body before
//! anything reads it.
//!
//! Slack signs each request with the app's signing secret: `X-Slack-Signature: v0=<hex>`, the
//! HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{raw body}`. A request is accepted only when
//! the timestamp is within five minutes of now (either way: a future timestamp is refused too)
//! and the signature matches, compared in constant time.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use stripe_chat_slack::interaction::SlackVerifier;
//!
//! let verifier = SlackVerifier::new("8f742231b10e8888abcd99yyyzzz85a5");
//! let body = b"payload=%7B%22type%22%3A%22block_actions%22%7D";
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let signature = verifier.sign(1_700_000_000, body);
//! verifier.verify(Some("1700000000"), Some(&signature), body, now)?;
//! let stale = now + Duration::from_secs(301);
//! assert!(verifier.verify(Some("1700000000"), Some(&signature), body, stale).is_err());
//! # Ok::<(), stripe_chat_slack::interaction::VerifyError>(())
//! ```

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far a request's timestamp may be from now, either way.
pub const TOLERANCE: Duration = Duration::from_secs(300);

/// Why an inbound Slack request is refused. Its text never contains the secret or the body.
///
/// ```
/// use stripe_chat_slack::interaction::VerifyError;
/// assert_eq!(VerifyError::Stale.reason(), "stale_timestamp");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No `X-Slack-Request-Timestamp` or `X-Slack-Signature` header.
    #[error("the request has no Slack signature headers")]
    Missing,
    /// A header is not of the form Slack sends.
    #[error("the Slack signature headers are malformed")]
    Malformed,
    /// The timestamp is more than five minutes from now (a replay, or a clock far off).
    #[error("the request's timestamp is too far from now")]
    Stale,
    /// The signature does not match the body with the signing secret.
    #[error("the Slack signature does not match")]
    Mismatch,
}

impl VerifyError {
    /// A short label, for metrics and logs.
    ///
    /// ```
    /// assert_eq!(stripe_chat_slack::interaction::VerifyError::Mismatch.reason(), "bad_signature");
    /// ```
    pub fn reason(self) -> &'static str {
        match self {
            VerifyError::Missing => "missing_header",
            VerifyError::Malformed => "malformed_header",
            VerifyError::Stale => "stale_timestamp",
            VerifyError::Mismatch => "bad_signature",
        }
    }
}

/// Checks inbound requests with the app's signing secret. Its `Debug` never shows the secret.
///
/// ```
/// let v = stripe_chat_slack::interaction::SlackVerifier::new("s3cr3t-signing-secret");
/// assert!(!format!("{v:?}").contains("s3cr3t"));
/// ```
#[derive(Clone)]
pub struct SlackVerifier {
    secret: Vec<u8>,
}

impl fmt::Debug for SlackVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackVerifier")
            .field("secret", &"**REDACTED**")
            .finish()
    }
}

impl SlackVerifier {
    /// A verifier for the app whose signing secret is `secret`.
    ///
    /// ```
    /// let v = stripe_chat_slack::interaction::SlackVerifier::new("secret");
    /// # let _ = v;
    /// ```
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        SlackVerifier {
            secret: secret.as_ref().to_vec(),
        }
    }

    fn mac(&self, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(b"v0:");
        mac.update(timestamp.as_bytes());
        mac.update(b":");
        mac.update(body);
        mac
    }

    /// The `X-Slack-Signature` Slack would send for `body` at `timestamp` (for tests and tools).
    ///
    /// ```
    /// let sig = stripe_chat_slack::interaction::SlackVerifier::new("s").sign(1, b"x");
    /// assert!(sig.starts_with("v0=") && sig.len() == 67);
    /// ```
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let tag = self
            .mac(&timestamp.to_string(), body)
            .finalize()
            .into_bytes();
        format!("v0={}", hex::encode(tag))
    }

    /// Accepts the request when `timestamp` (`X-Slack-Request-Timestamp`) is within
    /// [`TOLERANCE`] of `now` and `signature` (`X-Slack-Signature`) is the body's.
    ///
    /// ```
    /// use stripe_chat_slack::interaction::{SlackVerifier, VerifyError};
    /// let v = SlackVerifier::new("s");
    /// assert_eq!(v.verify(None, None, b"", std::time::SystemTime::now()), Err(VerifyError::Missing));
    /// ```
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), VerifyError> {
        let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
            return Err(VerifyError::Missing);
        };
        let timestamp = timestamp.trim();
        let seconds: i64 = timestamp.parse().map_err(|_| VerifyError::Malformed)?;
        let hex_tag = signature
            .trim()
            .strip_prefix("v0=")
            .ok_or(VerifyError::Malformed)?;
        let mut tag = [0u8; 32];
        hex::decode_to_slice(hex_tag, &mut tag).map_err(|_| VerifyError::Malformed)?;
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let tolerance = i64::try_from(TOLERANCE.as_secs()).unwrap_or(300);
        if now.abs_diff(seconds) > tolerance.unsigned_abs() {
            return Err(VerifyError::Stale);
        }
        self.mac(timestamp, body)
            .verify_slice(&tag)
            .map_err(|_| VerifyError::Mismatch)
    }
}

/// The Slack user who acted: workspace and user id, as Slack vouches for them.
///
/// ```
/// let u = stripe_chat_slack::interaction::SlackUser { team_id: "T1".into(), user_id: "U1".into(), name: None };
/// assert_eq!(u.team_id, "T1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackUser {
    /// The workspace (`T…`).
    pub team_id: String,
    /// The user (`U…`).
    pub user_id: String,
    /// Their user name, for display only (never for authorization).
    pub name: Option<String>,
}

/// A verified inbound request, read.
///
/// ```
/// use stripe_chat_slack::interaction::SlackInteraction;
/// let body = "payload=%7B%22type%22%3A%22block_actions%22%2C%22user%22%3A%7B%22id%22%3A%22U1%22%2C%22team_id%22%3A%22T1%22%7D%2C%22trigger_id%22%3A%22t%22%2C%22actions%22%3A%5B%7B%22action_id%22%3A%22retry_payment%22%2C%22value%22%3A%22invoice%2Fin_1%22%7D%5D%7D";
/// let SlackInteraction::BlockAction(click) = SlackInteraction::parse(body.as_bytes())? else { panic!() };
/// assert_eq!((click.action_id.as_str(), click.value.as_deref()), ("retry_payment", Some("invoice/in_1")));
/// assert_eq!(click.user.user_id, "U1");
/// # Ok::<(), stripe_chat_slack::interaction::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlackInteraction {
    /// A button clicked on a message.
    BlockAction(BlockAction),
    /// A modal submitted.
    ViewSubmission(ViewSubmission),
    /// Anything else Slack sends (`view_closed`, shortcuts…): acknowledged, not acted on.
    Other {
        /// Its `type`.
        kind: String,
    },
}

/// A button clicked on a message (`block_actions`).
///
/// ```
/// # use stripe_chat_slack::interaction::{BlockAction, SlackUser};
/// let click = BlockAction { user: SlackUser { team_id: "T".into(), user_id: "U".into(), name: None }, action_id: "assign".into(), value: None, channel: None, message_ts: None, response_url: None, trigger_id: "t".into(), action_ts: None, ephemeral: false, message: None };
/// assert_eq!(click.action_id, "assign");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockAction {
    /// Who clicked.
    pub user: SlackUser,
    /// The button's `action_id`.
    pub action_id: String,
    /// The button's `value`.
    pub value: Option<String>,
    /// The channel of the message clicked on.
    pub channel: Option<String>,
    /// The `ts` of the message clicked on.
    pub message_ts: Option<String>,
    /// Where to answer the person (up to 5 times within 30 minutes).
    pub response_url: Option<String>,
    /// For opening a modal, within 3 seconds.
    pub trigger_id: String,
    /// When the button was clicked (`actions[0].action_ts`).
    pub action_ts: Option<String>,
    /// Whether the message clicked on is ephemeral (a private prompt): Slack then sends no
    /// `message`, and the message cannot be updated with `chat.update`.
    pub ephemeral: bool,
    /// The message clicked on as Slack sent it (`text`, `blocks`), when it is not ephemeral.
    pub message: Option<serde_json::Value>,
}

/// A modal submitted (`view_submission`).
///
/// ```
/// # use stripe_chat_slack::interaction::{SlackUser, ViewSubmission};
/// let v = ViewSubmission { user: SlackUser { team_id: "T".into(), user_id: "U".into(), name: None }, callback_id: "add_evidence".into(), private_metadata: String::new(), values: Default::default(), view_id: "V1".into(), trigger_id: None };
/// assert!(v.values.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewSubmission {
    /// Who submitted it.
    pub user: SlackUser,
    /// The modal's `callback_id`.
    pub callback_id: String,
    /// The modal's `private_metadata` (set when it was opened).
    pub private_metadata: String,
    /// The inputs' values by `block_id.action_id`.
    pub values: std::collections::BTreeMap<String, String>,
    /// The modal's id (`view.id`).
    pub view_id: String,
    /// The submission's `trigger_id`, when Slack sends one.
    pub trigger_id: Option<String>,
}

/// A verified request that cannot be read as Slack sends it.
///
/// ```
/// let e = stripe_chat_slack::interaction::SlackInteraction::parse(b"x=1").unwrap_err();
/// assert_eq!(e.to_string(), "not a Slack interaction: no payload field");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Slack interaction: {reason}")]
pub struct ParseError {
    /// What is missing or wrong.
    pub reason: String,
}

fn parse_error(reason: impl Into<String>) -> ParseError {
    ParseError {
        reason: reason.into(),
    }
}

fn text(value: &serde_json::Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

impl SlackInteraction {
    /// Reads the form body (`payload=<JSON>`) of a request already verified with
    /// [`SlackVerifier::verify`].
    ///
    /// ```
    /// use stripe_chat_slack::interaction::SlackInteraction;
    /// let body = "payload=%7B%22type%22%3A%22view_closed%22%7D";
    /// assert_eq!(SlackInteraction::parse(body.as_bytes())?, SlackInteraction::Other { kind: "view_closed".into() });
    /// # Ok::<(), stripe_chat_slack::interaction::ParseError>(())
    /// ```
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| parse_error("the body is not a form"))?;
        let payload = fields
            .into_iter()
            .find(|(k, _)| k == "payload")
            .map(|(_, v)| v)
            .ok_or_else(|| parse_error("no payload field"))?;
        let payload: serde_json::Value =
            serde_json::from_str(&payload).map_err(|_| parse_error("the payload is not JSON"))?;
        let kind = text(&payload, "/type").ok_or_else(|| parse_error("no type"))?;
        let user = || -> Result<SlackUser, ParseError> {
            let user_id = text(&payload, "/user/id").ok_or_else(|| parse_error("no user id"))?;
            let team_id = text(&payload, "/user/team_id")
                .or_else(|| text(&payload, "/team/id"))
                .ok_or_else(|| parse_error("no team id"))?;
            Ok(SlackUser {
                team_id,
                user_id,
                name: text(&payload, "/user/username").or_else(|| text(&payload, "/user/name")),
            })
        };
        match kind.as_str() {
            "block_actions" => {
                let action = payload
                    .pointer("/actions/0")
                    .ok_or_else(|| parse_error("no action"))?;
                Ok(SlackInteraction::BlockAction(BlockAction {
                    user: user()?,
                    action_id: text(action, "/action_id")
                        .ok_or_else(|| parse_error("no action_id"))?,
                    value: text(action, "/value"),
                    channel: text(&payload, "/channel/id")
                        .or_else(|| text(&payload, "/container/channel_id")),
                    message_ts: text(&payload, "/message/ts")
                        .or_else(|| text(&payload, "/container/message_ts")),
                    response_url: text(&payload, "/response_url"),
                    trigger_id: text(&payload, "/trigger_id").unwrap_or_default(),
                    action_ts: text(action, "/action_ts"),
                    ephemeral: payload
                        .pointer("/container/is_ephemeral")
                        .and_then(serde_json::Value::as_bool)
                        .unwrap_or(false),
                    message: payload.get("message").filter(|m| m.is_object()).cloned(),
                }))
            }
            "view_submission" => {
                let mut values = std::collections::BTreeMap::new();
                if let Some(blocks) = payload
                    .pointer("/view/state/values")
                    .and_then(serde_json::Value::as_object)
                {
                    for (block_id, actions) in blocks {
                        let Some(actions) = actions.as_object() else {
                            continue;
                        };
                        for (action_id, state) in actions {
                            let value = text(state, "/value")
                                .or_else(|| text(state, "/selected_option/value"))
                                .unwrap_or_default();
                            values.insert(format!("{block_id}.{action_id}"), value);
                        }
                    }
                }
                Ok(SlackInteraction::ViewSubmission(ViewSubmission {
                    user: user()?,
                    callback_id: text(&payload, "/view/callback_id").unwrap_or_default(),
                    private_metadata: text(&payload, "/view/private_metadata").unwrap_or_default(),
                    values,
                    view_id: text(&payload, "/view/id").unwrap_or_default(),
                    trigger_id: text(&payload, "/trigger_id"),
                }))
            }
            _ => Ok(SlackInteraction::Other { kind }),
        }
    }
}

//! Inbound interactions from Discord (button clicks, modal submissions, the endpoint's PING):
//! verified on the raw body before anything reads it.
//!
//! Discord signs each request with the application's Ed25519 key: `X-Signature-Ed25519` is the
//! hex signature of `X-Signature-Timestamp` followed by the raw body; it is checked with the
//! application's public key (strict verification), and a failure must be answered 401 (Discord
//! sends invalid signatures on purpose and removes endpoints that accept them). Discord documents
//! no replay window; a request whose timestamp is more than five minutes from now is refused
//! here as well.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use stripe_chat_discord::interaction::{DiscordVerifier, VerifyError};
//!
//! // The application's public key, as the Developer Portal shows it.
//! let verifier = DiscordVerifier::from_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")?;
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let err = verifier.verify(Some("1700000000"), Some(&"00".repeat(64)), br#"{"type":1}"#, now);
//! assert_eq!(err, Err(VerifyError::Mismatch));
//! # Ok::<(), stripe_chat_discord::interaction::PublicKeyError>(())
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::{Signature, VerifyingKey};

/// How far a request's timestamp may be from now, either way.
pub const TOLERANCE: Duration = Duration::from_secs(300);

/// Why an inbound Discord request is refused (answer 401). Its text never contains the body.
///
/// ```
/// use stripe_chat_discord::interaction::VerifyError;
/// assert_eq!(VerifyError::Stale.reason(), "stale_timestamp");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No `X-Signature-Ed25519` or `X-Signature-Timestamp` header.
    #[error("the request has no Discord signature headers")]
    Missing,
    /// A header is not of the form Discord sends.
    #[error("the Discord signature headers are malformed")]
    Malformed,
    /// The timestamp is more than five minutes from now (a replay, or a clock far off).
    #[error("the request's timestamp is too far from now")]
    Stale,
    /// The signature does not verify with the application's public key.
    #[error("the Discord signature does not verify")]
    Mismatch,
}

impl VerifyError {
    /// A short label, for metrics and logs.
    ///
    /// ```
    /// assert_eq!(stripe_chat_discord::interaction::VerifyError::Missing.reason(), "missing_header");
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

/// A public key that is not an application's Ed25519 key.
///
/// ```
/// assert!(stripe_chat_discord::interaction::DiscordVerifier::from_hex("abc").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("public_key: {reason}")]
pub struct PublicKeyError {
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Checks inbound interactions with the application's public key (from the Developer Portal's
/// "General Information" page).
///
/// ```
/// use stripe_chat_discord::interaction::DiscordVerifier;
/// let key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
/// assert!(DiscordVerifier::from_hex(key).is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct DiscordVerifier {
    key: VerifyingKey,
}

impl DiscordVerifier {
    /// From the key as the Developer Portal shows it: 64 hex characters.
    ///
    /// ```
    /// assert!(stripe_chat_discord::interaction::DiscordVerifier::from_hex(&"zz".repeat(32)).is_err());
    /// ```
    pub fn from_hex(public_key: &str) -> Result<Self, PublicKeyError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(public_key.trim(), &mut bytes).map_err(|_| PublicKeyError {
            reason: "must be 64 hex characters (the application's public key)",
        })?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| PublicKeyError {
            reason: "is not an Ed25519 public key",
        })?;
        Ok(DiscordVerifier { key })
    }

    /// Accepts the request when `timestamp` (`X-Signature-Timestamp`) is within [`TOLERANCE`]
    /// of `now` and `signature` (`X-Signature-Ed25519`) verifies over timestamp + `body`.
    ///
    /// ```
    /// use stripe_chat_discord::interaction::{DiscordVerifier, VerifyError};
    /// let v = DiscordVerifier::from_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")?;
    /// assert_eq!(v.verify(Some("1"), None, b"{}", std::time::SystemTime::now()), Err(VerifyError::Missing));
    /// # Ok::<(), stripe_chat_discord::interaction::PublicKeyError>(())
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
        let seconds: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| VerifyError::Malformed)?;
        let mut raw = [0u8; 64];
        hex::decode_to_slice(signature.trim(), &mut raw).map_err(|_| VerifyError::Malformed)?;
        let signature = Signature::from_bytes(&raw);
        let mut message = Vec::with_capacity(timestamp.len() + body.len());
        message.extend_from_slice(timestamp.as_bytes());
        message.extend_from_slice(body);
        self.key
            .verify_strict(&message, &signature)
            .map_err(|_| VerifyError::Mismatch)?;
        // Checked after the signature, so a forged request cannot learn the clock's tolerance.
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        if now.abs_diff(seconds) > TOLERANCE.as_secs() {
            return Err(VerifyError::Stale);
        }
        Ok(())
    }
}

/// A verified interaction, read.
///
/// ```
/// use stripe_chat_discord::interaction::DiscordInteraction;
/// assert_eq!(DiscordInteraction::parse(br#"{"type":1,"id":"1","application_id":"2","token":"t"}"#)?, DiscordInteraction::Ping);
/// # Ok::<(), stripe_chat_discord::interaction::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiscordInteraction {
    /// The endpoint check: answer `{"type":1}`.
    Ping,
    /// A button clicked on a message.
    Component(Component),
    /// A modal submitted.
    ModalSubmit(ModalSubmit),
    /// Anything else (slash commands, autocomplete): not acted on.
    Other {
        /// Its `type`.
        kind: u64,
    },
}

/// What every acted-on interaction carries: who, where, and how to answer.
///
/// ```
/// # use stripe_chat_discord::interaction::Context;
/// let c = Context { id: "1".into(), application_id: "2".into(), token: "t".into(), user_id: "3".into(), guild_id: None, channel_id: None, message_id: None, message: None };
/// assert_eq!(c.user_id, "3");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Context {
    /// The interaction's id (deduplicate on it).
    pub id: String,
    /// The application's id.
    pub application_id: String,
    /// The token to answer with (valid 15 minutes); never logged.
    pub token: String,
    /// Who acted: `member.user.id` in a guild, `user.id` in a DM.
    pub user_id: String,
    /// The guild, if any.
    pub guild_id: Option<String>,
    /// The channel.
    pub channel_id: Option<String>,
    /// The message clicked on, for components.
    pub message_id: Option<String>,
    /// That message as Discord sent it (its `flags`, `embeds`, `components`,
    /// `interaction_metadata`), for components and modals opened from them.
    pub message: Option<serde_json::Value>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.id)
            .field("application_id", &self.application_id)
            .field("token", &"**REDACTED**")
            .field("user_id", &self.user_id)
            .field("guild_id", &self.guild_id)
            .field("channel_id", &self.channel_id)
            .field("message_id", &self.message_id)
            .finish_non_exhaustive()
    }
}

/// A button clicked (`type` 3, component type 2).
///
/// ```
/// # use stripe_chat_discord::interaction::{Component, Context};
/// let c = Component { context: Context { id: "1".into(), application_id: "2".into(), token: "t".into(), user_id: "3".into(), guild_id: None, channel_id: None, message_id: None, message: None }, custom_id: "sc:assign".into() };
/// assert_eq!(c.custom_id, "sc:assign");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// Who, where, how to answer.
    pub context: Context,
    /// The button's `custom_id`.
    pub custom_id: String,
}

/// A modal submitted (`type` 5).
///
/// ```
/// # use stripe_chat_discord::interaction::{Context, ModalSubmit};
/// let m = ModalSubmit { context: Context { id: "1".into(), application_id: "2".into(), token: "t".into(), user_id: "3".into(), guild_id: None, channel_id: None, message_id: None, message: None }, custom_id: "evidence".into(), values: Default::default() };
/// assert!(m.values.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModalSubmit {
    /// Who, where, how to answer.
    pub context: Context,
    /// The modal's `custom_id`.
    pub custom_id: String,
    /// The text inputs' values by `custom_id`.
    pub values: std::collections::BTreeMap<String, String>,
}

/// A verified request that cannot be read as Discord sends it.
///
/// ```
/// let e = stripe_chat_discord::interaction::DiscordInteraction::parse(b"[]").unwrap_err();
/// assert_eq!(e.to_string(), "not a Discord interaction: no type");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Discord interaction: {reason}")]
pub struct ParseError {
    /// What is missing or wrong.
    pub reason: &'static str,
}

fn text(value: &serde_json::Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// Collects text inputs wherever they sit in a modal's components (action rows or labels).
fn inputs(value: &serde_json::Value, out: &mut std::collections::BTreeMap<String, String>) {
    match value {
        serde_json::Value::Array(items) => items.iter().for_each(|v| inputs(v, out)),
        serde_json::Value::Object(map) => {
            if let (Some(id), Some(text)) = (
                map.get("custom_id").and_then(serde_json::Value::as_str),
                map.get("value").and_then(serde_json::Value::as_str),
            ) {
                out.insert(id.to_owned(), text.to_owned());
            }
            for key in ["components", "component"] {
                if let Some(inner) = map.get(key) {
                    inputs(inner, out);
                }
            }
        }
        _ => {}
    }
}

impl DiscordInteraction {
    /// Reads the JSON body of a request already verified with [`DiscordVerifier::verify`].
    ///
    /// ```
    /// use stripe_chat_discord::interaction::DiscordInteraction;
    /// let body = br#"{"type":3,"id":"9","application_id":"2","token":"t","channel_id":"5",
    ///   "member":{"user":{"id":"80351110224678912"}},"message":{"id":"77"},
    ///   "data":{"custom_id":"sc:retry_payment:invoice/in_1","component_type":2}}"#;
    /// let DiscordInteraction::Component(click) = DiscordInteraction::parse(body)? else { panic!() };
    /// assert_eq!(click.context.user_id, "80351110224678912");
    /// assert_eq!(click.context.message_id.as_deref(), Some("77"));
    /// # Ok::<(), stripe_chat_discord::interaction::ParseError>(())
    /// ```
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| ParseError { reason: "not JSON" })?;
        let kind = value
            .get("type")
            .and_then(serde_json::Value::as_u64)
            .ok_or(ParseError { reason: "no type" })?;
        if kind == 1 {
            return Ok(DiscordInteraction::Ping);
        }
        if kind != 3 && kind != 5 {
            return Ok(DiscordInteraction::Other { kind });
        }
        let missing = |reason| ParseError { reason };
        let context = Context {
            id: text(&value, "/id").ok_or(missing("no id"))?,
            application_id: text(&value, "/application_id").ok_or(missing("no application_id"))?,
            token: text(&value, "/token").ok_or(missing("no token"))?,
            user_id: text(&value, "/member/user/id")
                .or_else(|| text(&value, "/user/id"))
                .ok_or(missing("no user"))?,
            guild_id: text(&value, "/guild_id"),
            channel_id: text(&value, "/channel_id").or_else(|| text(&value, "/channel/id")),
            message_id: text(&value, "/message/id"),
            message: value.get("message").filter(|m| m.is_object()).cloned(),
        };
        let custom_id = text(&value, "/data/custom_id").ok_or(missing("no custom_id"))?;
        if kind == 3 {
            return Ok(DiscordInteraction::Component(Component {
                context,
                custom_id,
            }));
        }
        let mut values = std::collections::BTreeMap::new();
        if let Some(components) = value.pointer("/data/components") {
            inputs(components, &mut values);
        }
        Ok(DiscordInteraction::ModalSubmit(ModalSubmit {
            context,
            custom_id,
            values,
        }))
    }
}

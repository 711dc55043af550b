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

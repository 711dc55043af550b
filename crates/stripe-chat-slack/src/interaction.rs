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

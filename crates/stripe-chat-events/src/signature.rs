//! `Stripe-Signature` verification, as Stripe's own libraries do it.
//!
//! The signed string is `"{t}.{raw body}"`, HMAC-SHA256 keyed with the endpoint secret (`whsec_...`,
//! used as-is), hex encoded. A request is accepted when ANY `v1` signature in the header matches ANY
//! configured secret (several are configured while a secret is being rolled) and its timestamp is
//! within the tolerance of now. Every other scheme (`v0`, ...) is ignored. The scheme itself (one
//! signer, one constant-time verifier) is `stripe-chat-signature`'s, shared with what stripe-chat
//! signs.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stripe_chat_signature::{HmacVerifier, SignatureError as HmacError};

/// Stripe's default tolerance between the signature's timestamp and now: 300 seconds.
///
/// ```
/// assert_eq!(stripe_chat_events::DEFAULT_TOLERANCE.as_secs(), 300);
/// ```
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// An endpoint signing secret (`whsec_...`). Its `Debug` and `Display` never show it.
///
/// ```
/// use stripe_chat_events::WebhookSecret;
/// let secret = WebhookSecret::new("whsec_abc123");
/// assert_eq!(format!("{secret:?}"), "WebhookSecret(**redacted**)");
/// assert_eq!(secret.expose(), "whsec_abc123");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// Wraps a secret.
    ///
    /// ```
    /// let _ = stripe_chat_events::WebhookSecret::new("whsec_x");
    /// ```
    pub fn new(secret: impl Into<String>) -> Self {
        WebhookSecret(secret.into())
    }

    /// The secret itself, for signing. Never log it.
    ///
    /// ```
    /// assert_eq!(stripe_chat_events::WebhookSecret::new("whsec_x").expose(), "whsec_x");
    /// ```
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(**redacted**)")
    }
}

impl fmt::Display for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**redacted**")
    }
}

impl From<&str> for WebhookSecret {
    fn from(secret: &str) -> Self {
        WebhookSecret::new(secret)
    }
}

impl From<String> for WebhookSecret {
    fn from(secret: String) -> Self {
        WebhookSecret(secret)
    }
}

/// Why a webhook request's signature was refused.
///
/// ```
/// use stripe_chat_events::SignatureError;
/// assert_eq!(SignatureError::MissingHeader.reason(), "missing_header");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// No `Stripe-Signature` header, or an empty one.
    #[error("the Stripe-Signature header is missing")]
    MissingHeader,
    /// The header is not `t=<unix seconds>,v1=<hex>,...`.
    #[error("the Stripe-Signature header is malformed: {0}")]
    MalformedHeader(&'static str),
    /// No `v1` signature matches any configured secret.
    #[error(
        "no v1 signature in the Stripe-Signature header matches the payload and a configured secret"
    )]
    NoValidSignature,
    /// The signature is valid but its timestamp is too far from now.
    #[error(
        "the Stripe-Signature timestamp {timestamp} is {age_seconds} s from now, more than the {tolerance_seconds} s tolerance"
    )]
    TimestampOutOfTolerance {
        /// The header's `t`.
        timestamp: i64,
        /// `now - t` (negative when `t` is in the future).
        age_seconds: i64,
        /// The configured tolerance.
        tolerance_seconds: u64,
    },
}

impl SignatureError {
    /// A short, stable reason code (for metrics labels and logs).
    ///
    /// ```
    /// assert_eq!(stripe_chat_events::SignatureError::NoValidSignature.reason(), "no_valid_signature");
    /// ```
    pub fn reason(&self) -> &'static str {
        match self {
            SignatureError::MissingHeader => "missing_header",
            SignatureError::MalformedHeader(_) => "malformed_header",
            SignatureError::NoValidSignature => "no_valid_signature",
            SignatureError::TimestampOutOfTolerance { .. } => "timestamp_out_of_tolerance",
        }
    }
}

/// Verifies `Stripe-Signature` headers against one or more endpoint secrets.
///
/// ```
/// use stripe_chat_events::{sign, WebhookVerifier};
///
/// let payload = br#"{"id":"evt_1","object":"event"}"#;
/// let header = sign(payload, "whsec_new", 1_700_000_000);
/// // Both the old and the new secret are accepted while the secret is being rolled.
/// let verifier = WebhookVerifier::new(["whsec_old", "whsec_new"]);
/// assert_eq!(verifier.verify_at(payload, Some(&header), 1_700_000_100), Ok(1_700_000_000));
/// assert!(verifier.verify_at(payload, Some(&header), 1_700_000_400).is_err());
/// ```
#[derive(Clone)]
pub struct WebhookVerifier {
    keys: HmacVerifier,
    tolerance: Duration,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.keys.key_count()),
            )
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl WebhookVerifier {
    /// A verifier accepting any of `secrets`, with the default 300 s tolerance.
    ///
    /// ```
    /// let v = stripe_chat_events::WebhookVerifier::new(["whsec_a"]);
    /// assert_eq!(v.secret_count(), 1);
    /// ```
    pub fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<WebhookSecret>,
    {
        let keys = HmacVerifier::new(secrets.into_iter().map(|secret| {
            let secret: WebhookSecret = secret.into();
            secret.0
        }));
        WebhookVerifier {
            keys,
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// The same verifier with another tolerance.
    ///
    /// ```
    /// use std::time::Duration;
    /// let v = stripe_chat_events::WebhookVerifier::new(["whsec_a"]).with_tolerance(Duration::from_secs(60));
    /// assert_eq!(v.tolerance(), Duration::from_secs(60));
    /// ```
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The tolerance in force.
    ///
    /// ```
    /// assert_eq!(stripe_chat_events::WebhookVerifier::new(["whsec_a"]).tolerance().as_secs(), 300);
    /// ```
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// How many secrets are configured.
    ///
    /// ```
    /// assert_eq!(stripe_chat_events::WebhookVerifier::new(["a", "b"]).secret_count(), 2);
    /// ```
    pub fn secret_count(&self) -> usize {
        self.keys.key_count()
    }

    /// Verifies `header` for the raw request body `payload` against the system clock.
    /// Returns the signature's timestamp.
    ///
    /// ```
    /// use stripe_chat_events::{sign, WebhookVerifier};
    /// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    /// let header = sign(b"{}", "whsec_a", now);
    /// assert!(WebhookVerifier::new(["whsec_a"]).verify(b"{}", Some(&header)).is_ok());
    /// ```
    pub fn verify(&self, payload: &[u8], header: Option<&str>) -> Result<i64, SignatureError> {
        self.verify_at(payload, header, unix_now())
    }

    /// Verifies `header` for the raw request body `payload` as if the time were `now` (Unix seconds).
    /// Returns the signature's timestamp.
    ///
    /// ```
    /// use stripe_chat_events::{sign, SignatureError, WebhookVerifier};
    /// let v = WebhookVerifier::new(["whsec_a"]);
    /// assert_eq!(v.verify_at(b"{}", None, 0), Err(SignatureError::MissingHeader));
    /// assert_eq!(v.verify_at(b"{}", Some("t=1,v0=abc"), 1), Err(SignatureError::NoValidSignature));
    /// ```
    pub fn verify_at(
        &self,
        payload: &[u8],
        header: Option<&str>,
        now: i64,
    ) -> Result<i64, SignatureError> {
        let header = header.map(str::trim).filter(|h| !h.is_empty());
        let header = header.ok_or(SignatureError::MissingHeader)?;
        self.keys
            .verify(payload, header, now, self.tolerance)
            .map_err(|e| match e {
                HmacError::Malformed(why) => SignatureError::MalformedHeader(why),
                HmacError::OutOfTolerance {
                    timestamp,
                    age_seconds,
                    tolerance_seconds,
                } => SignatureError::TimestampOutOfTolerance {
                    timestamp,
                    age_seconds,
                    tolerance_seconds,
                },
                _ => SignatureError::NoValidSignature,
            })
    }
}

/// Makes a `Stripe-Signature` header for `payload`, as Stripe does (`t=<timestamp>,v1=<hex>`).
/// For tests, sample events and `send-test-event`.
///
/// ```
/// let header = stripe_chat_events::sign(b"{}", "whsec_a", 1_700_000_000);
/// assert!(header.starts_with("t=1700000000,v1="));
/// assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
/// ```
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    stripe_chat_signature::sign(secret.as_bytes(), timestamp, payload)
}

/// The current Unix time in seconds.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000;

    #[test]
    fn any_matching_v1_is_accepted_during_secret_rotation() {
        let payload = b"{\"id\":\"evt_1\"}";
        let old = sign(payload, "whsec_old", NOW);
        let new = sign(payload, "whsec_new", NOW);
        let both = format!(
            "{old},{}",
            new.split_once(',').map(|(_, v)| v).unwrap_or_default()
        );
        for secrets in [
            vec!["whsec_old"],
            vec!["whsec_new"],
            vec!["whsec_other", "whsec_new"],
        ] {
            assert_eq!(
                WebhookVerifier::new(secrets).verify_at(payload, Some(&both), NOW),
                Ok(NOW)
            );
        }
        assert_eq!(
            WebhookVerifier::new(["whsec_other"]).verify_at(payload, Some(&both), NOW),
            Err(SignatureError::NoValidSignature)
        );
    }

    #[test]
    fn timestamps_beyond_tolerance_either_way_are_refused() {
        let payload = b"{}";
        let v = WebhookVerifier::new(["whsec_a"]);
        assert!(
            v.verify_at(payload, Some(&sign(payload, "whsec_a", NOW - 300)), NOW)
                .is_ok()
        );
        assert!(matches!(
            v.verify_at(payload, Some(&sign(payload, "whsec_a", NOW - 301)), NOW),
            Err(SignatureError::TimestampOutOfTolerance {
                age_seconds: 301,
                ..
            })
        ));
        assert!(matches!(
            v.verify_at(payload, Some(&sign(payload, "whsec_a", NOW + 400)), NOW),
            Err(SignatureError::TimestampOutOfTolerance {
                age_seconds: -400,
                ..
            })
        ));
    }

    #[test]
    fn malformed_headers_are_named_as_such() {
        let v = WebhookVerifier::new(["whsec_a"]);
        for header in [
            "garbage",
            "t=abc,v1=00",
            "v1=abcd",
            "t=-5,v1=00",
            "t=1,t=2,v1=00",
        ] {
            assert!(
                matches!(
                    v.verify_at(b"{}", Some(header), NOW),
                    Err(SignatureError::MalformedHeader(_))
                ),
                "{header}"
            );
        }
        assert_eq!(
            v.verify_at(b"{}", Some("   "), NOW),
            Err(SignatureError::MissingHeader)
        );
    }

    #[test]
    fn the_exact_raw_bytes_are_signed() {
        let v = WebhookVerifier::new(["whsec_a"]);
        let header = sign(b"{}\n", "whsec_a", NOW);
        assert_eq!(
            v.verify_at(b"{}", Some(&header), NOW),
            Err(SignatureError::NoValidSignature)
        );
    }

    #[test]
    fn uppercase_hex_signatures_do_not_match_as_in_stripes_libraries() {
        let v = WebhookVerifier::new(["whsec_a"]);
        let header = sign(b"{}", "whsec_a", NOW)
            .to_uppercase()
            .replace("T=", "t=")
            .replace("V1=", "v1=");
        assert_eq!(
            v.verify_at(b"{}", Some(&header), NOW),
            Err(SignatureError::NoValidSignature)
        );
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let v = WebhookVerifier::new(["whsec_supersecret"]);
        assert!(!format!("{v:?}").contains("supersecret"));
    }
}

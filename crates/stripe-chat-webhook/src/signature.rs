//! The `Stripe-Chat-Signature` header: how stripe-chat signs a webhook, and how a receiver checks it.
//!
//! The signed string is `"{t}.{raw body}"`, where `t` is the Unix time of the request in seconds;
//! the signature is its HMAC-SHA256 keyed with the shared secret (its UTF-8 bytes, used as-is), in
//! lowercase hex. The header is `t=<t>,v1=<hex>`. A receiver accepts a request when any `v1` in
//! the header matches and `t` is within the tolerance of its clock (300 s by default, both ways),
//! which stops replays of an old request. Other schemes (`v0`, ...) are ignored, so new ones can be
//! added beside `v1`.

use std::time::Duration;

use stripe_chat_signature::{HmacVerifier, SignatureError as HmacError};

/// The header carrying the signature.
///
/// ```
/// assert_eq!(stripe_chat_webhook::SIGNATURE_HEADER, "Stripe-Chat-Signature");
/// ```
pub const SIGNATURE_HEADER: &str = "Stripe-Chat-Signature";

/// The header carrying the delivery id, the same on every retry of one delivery.
///
/// ```
/// assert_eq!(stripe_chat_webhook::DELIVERY_HEADER, "Stripe-Chat-Delivery");
/// ```
pub const DELIVERY_HEADER: &str = "Stripe-Chat-Delivery";

/// The default tolerance between the signature's timestamp and the receiver's clock: 300 seconds.
///
/// ```
/// assert_eq!(stripe_chat_webhook::DEFAULT_TOLERANCE.as_secs(), 300);
/// ```
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Why a `Stripe-Chat-Signature` was refused.
///
/// ```
/// use stripe_chat_webhook::{verify, SignatureError};
/// assert_eq!(verify(b"{}", "t=1", "a-shared-secret-of-32-bytes-long", 1), Err(SignatureError::NoValidSignature));
/// assert_eq!(SignatureError::NoValidSignature.reason(), "no_valid_signature");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The header is not `t=<unix seconds>,v1=<hex>,...`.
    #[error("the Stripe-Chat-Signature header is malformed: {0}")]
    MalformedHeader(&'static str),
    /// No `v1` signature matches the body and the secret.
    #[error("no v1 signature in the Stripe-Chat-Signature header matches the body and the secret")]
    NoValidSignature,
    /// The signature matches but its timestamp is too far from now (a replay, or a wrong clock).
    #[error(
        "the Stripe-Chat-Signature timestamp {timestamp} is {age_seconds} s from now, more than the {tolerance_seconds} s tolerance"
    )]
    TimestampOutOfTolerance {
        /// The header's `t`.
        timestamp: i64,
        /// `now - t` (negative when `t` is in the future).
        age_seconds: i64,
        /// The tolerance.
        tolerance_seconds: u64,
    },
}

impl SignatureError {
    /// A short, stable reason code (for metrics labels and logs).
    ///
    /// ```
    /// assert_eq!(stripe_chat_webhook::SignatureError::MalformedHeader("x").reason(), "malformed_header");
    /// ```
    pub fn reason(&self) -> &'static str {
        match self {
            SignatureError::MalformedHeader(_) => "malformed_header",
            SignatureError::NoValidSignature => "no_valid_signature",
            SignatureError::TimestampOutOfTolerance { .. } => "timestamp_out_of_tolerance",
        }
    }
}

/// The `Stripe-Chat-Signature` header value for `body` sent at `timestamp` (Unix seconds).
///
/// ```
/// let header = stripe_chat_webhook::sign(b"{}", "a-shared-secret-of-32-bytes-long", 1_700_000_000);
/// assert!(header.starts_with("t=1700000000,v1="));
/// assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
/// ```
pub fn sign(body: &[u8], secret: &str, timestamp: i64) -> String {
    stripe_chat_signature::sign(secret.as_bytes(), timestamp, body)
}

/// Checks a `Stripe-Chat-Signature` header against the raw request body, the shared secret and the
/// receiver's clock `now` (Unix seconds), with the [`DEFAULT_TOLERANCE`]. Returns the signature's
/// timestamp.
///
/// Verify the exact bytes received, before parsing them: a body parsed and serialized again is not
/// the body that was signed.
///
/// ```
/// use std::time::{SystemTime, UNIX_EPOCH};
/// use stripe_chat_webhook::{sign, verify, SignatureError};
///
/// let secret = "a-shared-secret-of-32-bytes-long";
/// let body = br#"{"type":"message.created","delivery_id":"dlv_1","thread":null,"message":{"title":"Invoice paid"}}"#;
/// let header = sign(body, secret, 1_764_000_000);
///
/// assert_eq!(verify(body, &header, secret, 1_764_000_030), Ok(1_764_000_000));
/// assert_eq!(verify(b"{\"forged\":true}", &header, secret, 1_764_000_030), Err(SignatureError::NoValidSignature));
/// assert_eq!(verify(body, &header, "another-secret-of-32-bytes-long!", 1_764_000_030), Err(SignatureError::NoValidSignature));
/// assert!(matches!(verify(body, &header, secret, 1_764_000_301), Err(SignatureError::TimestampOutOfTolerance { .. })));
///
/// // In a receiver, `now` is the system clock:
/// let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
/// assert!(verify(body, &sign(body, secret, now), secret, now).is_ok());
/// ```
pub fn verify(body: &[u8], header: &str, secret: &str, now: i64) -> Result<i64, SignatureError> {
    verify_with_tolerance(body, header, secret, now, DEFAULT_TOLERANCE)
}

/// [`verify`] with another tolerance.
///
/// ```
/// use std::time::Duration;
/// use stripe_chat_webhook::{sign, verify_with_tolerance};
/// let secret = "a-shared-secret-of-32-bytes-long";
/// let header = sign(b"{}", secret, 1_000);
/// assert!(verify_with_tolerance(b"{}", &header, secret, 1_050, Duration::from_secs(60)).is_ok());
/// assert!(verify_with_tolerance(b"{}", &header, secret, 1_061, Duration::from_secs(60)).is_err());
/// ```
pub fn verify_with_tolerance(
    body: &[u8],
    header: &str,
    secret: &str,
    now: i64,
    tolerance: Duration,
) -> Result<i64, SignatureError> {
    HmacVerifier::new([secret])
        .verify(body, header, now, tolerance)
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

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsc_3f1b2a9c8d7e6f5a4b3c2d1e0f9a8b7c";
    const NOW: i64 = 1_764_000_000;
    const BODY: &[u8] = br#"{"type":"message.created","delivery_id":"dlv_1","thread":null,"message":{"title":"Payment failed"}}"#;

    #[test]
    fn signatures_are_pinned_to_an_independent_computation() {
        // Python: hmac.new(SECRET.encode(), b"1764000000." + BODY, hashlib.sha256).hexdigest()
        assert_eq!(
            sign(BODY, SECRET, NOW),
            "t=1764000000,v1=08ccb2da6e7c7d45c78697d1f94b3525cd1831b28c6e475b654a92cdaeb0733c"
        );
    }

    #[test]
    fn a_signed_body_verifies() {
        assert_eq!(verify(BODY, &sign(BODY, SECRET, NOW), SECRET, NOW), Ok(NOW));
    }

    #[test]
    fn a_tampered_body_is_refused() {
        let header = sign(BODY, SECRET, NOW);
        let mut tampered = BODY.to_vec();
        tampered[10] ^= 0x01;
        assert_eq!(
            verify(&tampered, &header, SECRET, NOW),
            Err(SignatureError::NoValidSignature)
        );
        assert_eq!(
            verify(&[BODY, b"\n"].concat(), &header, SECRET, NOW),
            Err(SignatureError::NoValidSignature),
            "the exact raw bytes are signed"
        );
    }

    #[test]
    fn a_wrong_secret_is_refused() {
        let header = sign(BODY, SECRET, NOW);
        assert_eq!(
            verify(BODY, &header, "whsc_another_secret_entirely_0000", NOW),
            Err(SignatureError::NoValidSignature)
        );
    }

    #[test]
    fn a_tampered_timestamp_is_refused() {
        let header = sign(BODY, SECRET, NOW).replace("t=1764000000", "t=1764000100");
        assert_eq!(
            verify(BODY, &header, SECRET, NOW + 100),
            Err(SignatureError::NoValidSignature)
        );
    }

    #[test]
    fn an_old_or_future_timestamp_is_refused() {
        assert!(verify(BODY, &sign(BODY, SECRET, NOW - 300), SECRET, NOW).is_ok());
        assert_eq!(
            verify(BODY, &sign(BODY, SECRET, NOW - 301), SECRET, NOW),
            Err(SignatureError::TimestampOutOfTolerance {
                timestamp: NOW - 301,
                age_seconds: 301,
                tolerance_seconds: 300
            })
        );
        assert!(matches!(
            verify(BODY, &sign(BODY, SECRET, NOW + 400), SECRET, NOW),
            Err(SignatureError::TimestampOutOfTolerance {
                age_seconds: -400,
                ..
            })
        ));
    }

    #[test]
    fn any_matching_v1_is_accepted_so_secrets_can_be_rolled() {
        let old = sign(BODY, "whsc_old_secret_0000000000000000", NOW);
        let new = sign(BODY, SECRET, NOW);
        let both = format!(
            "{old},{},v0=ignored",
            new.split_once(',').map(|(_, v1)| v1).unwrap_or_default()
        );
        assert_eq!(verify(BODY, &both, SECRET, NOW), Ok(NOW));
        assert_eq!(
            verify(BODY, &both, "whsc_old_secret_0000000000000000", NOW),
            Ok(NOW)
        );
    }

    #[test]
    fn malformed_headers_are_named_as_such() {
        for header in [
            "",
            "  ",
            "garbage",
            "t=abc,v1=00",
            "v1=abcd",
            "t=-5,v1=00",
            "t=1,t=2,v1=00",
        ] {
            assert!(
                matches!(
                    verify(BODY, header, SECRET, NOW),
                    Err(SignatureError::MalformedHeader(_))
                ),
                "{header:?}"
            );
        }
    }

    #[test]
    fn uppercase_or_short_signatures_match_nothing() {
        let header = sign(BODY, SECRET, NOW);
        let (t, v1) = header.split_once(',').unwrap();
        for bad in [
            format!("{t},{}", v1.to_uppercase().replace("V1=", "v1=")),
            format!("{t},{}", &v1[..v1.len() - 2]),
        ] {
            assert_eq!(
                verify(BODY, &bad, SECRET, NOW),
                Err(SignatureError::NoValidSignature)
            );
        }
    }
}

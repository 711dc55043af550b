//! The `t=<unix seconds>,v1=<hex>` signature scheme: Stripe's `Stripe-Signature` on its webhooks,
//! and the same scheme on what stripe-chat sends (`Stripe-Chat-Signature`: the webhook
//! destination, the ticket and mailer hooks).
//!
//! The signed string is `"{t}.{raw body}"`, `t` the Unix time of the request in seconds written
//! as the number it is; the signature is its HMAC-SHA256 keyed with the secret's bytes, in
//! lowercase hex. A header may carry several `v1` values (Stripe does while a secret rolls) and
//! other schemes (`v0`, ...), which are ignored. A request is accepted when any `v1` matches any
//! key and `t` is within the tolerance of the receiver's clock, both ways.
//!
//! Signatures are compared with [`Mac::verify_slice`](hmac::Mac::verify_slice): constant time by
//! construction, and every candidate against every key is checked.
//!
//! ```
//! use std::time::Duration;
//! use stripe_chat_signature::{HmacVerifier, SignatureError, sign};
//!
//! let header = sign(b"whsec_new", 1_700_000_000, br#"{"id":"evt_1"}"#);
//! let verifier = HmacVerifier::new([b"whsec_old".as_slice(), b"whsec_new"]);
//! let tolerance = Duration::from_secs(300);
//! assert_eq!(verifier.verify(br#"{"id":"evt_1"}"#, &header, 1_700_000_100, tolerance), Ok(1_700_000_000));
//! assert_eq!(verifier.verify(br#"{"id":"evt_2"}"#, &header, 1_700_000_100, tolerance), Err(SignatureError::NoValidSignature));
//! assert!(matches!(verifier.verify(br#"{"id":"evt_1"}"#, &header, 1_700_000_301, tolerance), Err(SignatureError::OutOfTolerance { .. })));
//! ```
#![forbid(unsafe_code)]

use std::fmt;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a signature header was refused.
///
/// ```
/// use stripe_chat_signature::SignatureError;
/// assert_eq!(SignatureError::Malformed("no t= timestamp").to_string(), "the signature header is malformed: no t= timestamp");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The header is not `t=<unix seconds>,v1=<hex>,...`.
    #[error("the signature header is malformed: {0}")]
    Malformed(&'static str),
    /// No `v1` signature matches the body under any key.
    #[error("no v1 signature in the header matches the body and a key")]
    NoValidSignature,
    /// A signature matches, but its timestamp is too far from now (a replay, or a wrong clock).
    #[error(
        "the signature's timestamp {timestamp} is {age_seconds} s from now, more than the {tolerance_seconds} s tolerance"
    )]
    OutOfTolerance {
        /// The header's `t`.
        timestamp: i64,
        /// `now - t` (negative when `t` is in the future).
        age_seconds: i64,
        /// The tolerance.
        tolerance_seconds: u64,
    },
}

/// The header value signing `body` sent at `timestamp` (Unix seconds) with `secret`:
/// `t=<timestamp>,v1=<64 lowercase hex digits>`.
///
/// ```
/// let header = stripe_chat_signature::sign(b"whsec_a", 1_700_000_000, b"{}");
/// assert!(header.starts_with("t=1700000000,v1="));
/// assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
/// ```
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = keyed(secret);
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

fn keyed(secret: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    <HmacSha256 as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
}

/// Checks signature headers against one or more keys (several while a secret rolls). Its `Debug`
/// shows how many keys it holds, never a key.
///
/// ```
/// let v = stripe_chat_signature::HmacVerifier::new([b"whsec_a".as_slice()]);
/// assert_eq!(format!("{v:?}"), "HmacVerifier { keys: 1 }");
/// ```
#[derive(Clone)]
pub struct HmacVerifier {
    keys: Vec<HmacSha256>,
}

impl fmt::Debug for HmacVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacVerifier")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl HmacVerifier {
    /// A verifier accepting a signature by any of `secrets`.
    ///
    /// ```
    /// let v = stripe_chat_signature::HmacVerifier::new(["old", "new"]);
    /// assert_eq!(v.key_count(), 2);
    /// ```
    pub fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        HmacVerifier {
            keys: secrets.into_iter().map(|s| keyed(s.as_ref())).collect(),
        }
    }

    /// How many keys it accepts.
    ///
    /// ```
    /// assert_eq!(stripe_chat_signature::HmacVerifier::new(Vec::<String>::new()).key_count(), 0);
    /// ```
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Checks `header` for the raw request `body` at the receiver's time `now` (Unix seconds),
    /// accepting a timestamp at most `tolerance` away, both ways. Returns the signature's
    /// timestamp.
    ///
    /// Verify the exact bytes received, before parsing them: a body parsed and serialized again
    /// is not the body that was signed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use stripe_chat_signature::{HmacVerifier, SignatureError, sign};
    /// let v = HmacVerifier::new(["whsec_a"]);
    /// let minute = Duration::from_secs(60);
    /// assert_eq!(v.verify(b"{}", &sign(b"whsec_a", 1_000, b"{}"), 1_050, minute), Ok(1_000));
    /// assert_eq!(v.verify(b"{}", "t=1000,v0=abc", 1_000, minute), Err(SignatureError::NoValidSignature));
    /// assert_eq!(v.verify(b"{}", "v1=abc", 1_000, minute), Err(SignatureError::Malformed("no t= timestamp")));
    /// ```
    pub fn verify(
        &self,
        body: &[u8],
        header: &str,
        now: i64,
        tolerance: Duration,
    ) -> Result<i64, SignatureError> {
        let header = header.trim();
        if header.is_empty() {
            return Err(SignatureError::Malformed("the header is empty"));
        }
        let timestamp = timestamp(header)?;
        let signed_time = timestamp.to_string();
        let mut matched = false;
        for key in &self.keys {
            let mut mac = key.clone();
            mac.update(signed_time.as_bytes());
            mac.update(b".");
            mac.update(body);
            for candidate in v1_signatures(header) {
                // Every candidate against every key: no early exit to time.
                matched |= mac.clone().verify_slice(&candidate).is_ok();
            }
        }
        if !matched {
            return Err(SignatureError::NoValidSignature);
        }
        let age = now.saturating_sub(timestamp);
        let tolerance_seconds = tolerance.as_secs();
        if age.unsigned_abs() > tolerance_seconds {
            return Err(SignatureError::OutOfTolerance {
                timestamp,
                age_seconds: age,
                tolerance_seconds,
            });
        }
        Ok(timestamp)
    }
}

fn timestamp(header: &str) -> Result<i64, SignatureError> {
    let mut timestamp = None;
    for item in header.split(',') {
        let (key, value) = item
            .split_once('=')
            .ok_or(SignatureError::Malformed("an element is not key=value"))?;
        if key.trim() == "t" {
            let value = value.trim();
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(SignatureError::Malformed("t is not a Unix timestamp"));
            }
            let t = value
                .parse::<i64>()
                .map_err(|_| SignatureError::Malformed("t is not a Unix timestamp"))?;
            if timestamp.replace(t).is_some() {
                return Err(SignatureError::Malformed("t appears more than once"));
            }
        }
    }
    timestamp.ok_or(SignatureError::Malformed("no t= timestamp"))
}

/// The decoded `v1` signatures; values that are not 64 lowercase hex digits match nothing (as in
/// Stripe's own libraries, which compare the hex strings).
fn v1_signatures(header: &str) -> impl Iterator<Item = [u8; 32]> + '_ {
    header.split(',').filter_map(|item| {
        let (key, value) = item.split_once('=')?;
        if key.trim() != "v1" {
            return None;
        }
        let value = value.trim();
        if value.len() != 64
            || !value
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(value, &mut out).ok()?;
        Some(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTES_5: Duration = Duration::from_secs(300);

    #[test]
    fn any_v1_under_any_key_is_accepted_while_a_secret_rolls() {
        let body = b"{\"id\":\"evt_1\"}";
        let old = sign(b"old", 100, body);
        let new = sign(b"new", 100, body);
        let both = format!("{},{}", new, old.split_once(',').map_or("", |(_, v1)| v1));
        let v = HmacVerifier::new(["old", "new"]);
        for header in [&old, &new, &both] {
            assert_eq!(v.verify(body, header, 100, MINUTES_5), Ok(100), "{header}");
        }
        assert_eq!(
            HmacVerifier::new(["other"]).verify(body, &both, 100, MINUTES_5),
            Err(SignatureError::NoValidSignature)
        );
    }

    #[test]
    fn timestamps_beyond_the_tolerance_either_way_are_refused() {
        let v = HmacVerifier::new(["k"]);
        let header = sign(b"k", 1_000, b"x");
        assert!(v.verify(b"x", &header, 1_300, MINUTES_5).is_ok());
        assert!(v.verify(b"x", &header, 700, MINUTES_5).is_ok());
        assert!(matches!(
            v.verify(b"x", &header, 1_301, MINUTES_5),
            Err(SignatureError::OutOfTolerance {
                age_seconds: 301,
                ..
            })
        ));
        assert!(matches!(
            v.verify(b"x", &header, 699, MINUTES_5),
            Err(SignatureError::OutOfTolerance {
                age_seconds: -301,
                ..
            })
        ));
    }

    #[test]
    fn malformed_headers_are_named_as_such() {
        let v = HmacVerifier::new(["k"]);
        for (header, why) in [
            ("", "the header is empty"),
            ("garbage", "an element is not key=value"),
            ("t=,v1=00", "t is not a Unix timestamp"),
            ("t=-5,v1=00", "t is not a Unix timestamp"),
            ("t=1,t=2,v1=00", "t appears more than once"),
            ("v1=00", "no t= timestamp"),
        ] {
            assert_eq!(
                v.verify(b"x", header, 1, MINUTES_5),
                Err(SignatureError::Malformed(why)),
                "{header:?}"
            );
        }
    }

    #[test]
    fn the_timestamp_is_signed_as_the_number_it_is() {
        // Stripe's libraries sign `t=0123` as "123.": a header written with leading zeros
        // verifies against the number.
        let header = sign(b"k", 123, b"x").replacen("t=123", "t=0123", 1);
        assert_eq!(
            HmacVerifier::new(["k"]).verify(b"x", &header, 123, MINUTES_5),
            Ok(123)
        );
    }

    #[test]
    fn uppercase_or_short_hex_matches_nothing() {
        let header = sign(b"k", 1, b"x");
        let upper = format!("t=1,v1={}", header[7..].to_ascii_uppercase());
        let short = format!("t=1,v1={}", &header[7..70]);
        let v = HmacVerifier::new(["k"]);
        assert_eq!(
            v.verify(b"x", &upper, 1, MINUTES_5),
            Err(SignatureError::NoValidSignature)
        );
        assert_eq!(
            v.verify(b"x", &short, 1, MINUTES_5),
            Err(SignatureError::NoValidSignature)
        );
    }

    #[test]
    fn one_changed_byte_of_the_body_is_refused() {
        let header = sign(b"k", 1, b"{\"amount\":100}");
        assert_eq!(
            HmacVerifier::new(["k"]).verify(b"{\"amount\":900}", &header, 1, MINUTES_5),
            Err(SignatureError::NoValidSignature)
        );
    }
}

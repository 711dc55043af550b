//! Idempotency keys: what makes retrying a request that changes something in Stripe safe.

use std::fmt;

use sha2::{Digest, Sha256};

/// The `Idempotency-Key` of a request: Stripe runs a request once per key and answers every
/// retry with the first result (for 24 hours at least). 1 to 255 printable ASCII characters.
///
/// Derive it from what the request is about ([`IdempotencyKey::derive`]), so that every
/// attempt, and every replay after a restart, sends the same key; a random key per call would
/// let a retried action run twice.
///
/// ```
/// use stripe_chat_stripe::IdempotencyKey;
/// let key = IdempotencyKey::derive("retry-payment", &["in_1NG8Du2eZvKYlo2C", "evt_1"]);
/// assert_eq!(key, IdempotencyKey::derive("retry-payment", &["in_1NG8Du2eZvKYlo2C", "evt_1"]));
/// assert_ne!(key, IdempotencyKey::derive("retry-payment", &["in_1NG8Du2eZvKYlo2C", "evt_2"]));
/// assert!(key.as_str().starts_with("stripe-chat/retry-payment/"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// A string that cannot be an idempotency key: empty, longer than 255 characters, or not
/// printable ASCII.
///
/// ```
/// let e = stripe_chat_stripe::IdempotencyKey::new("").unwrap_err();
/// assert_eq!(e.to_string(), "an idempotency key has 1 to 255 printable ASCII characters");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an idempotency key has 1 to 255 printable ASCII characters")]
pub struct InvalidIdempotencyKey;

impl IdempotencyKey {
    /// The longest key Stripe accepts.
    const MAX_LEN: usize = 255;

    /// `key` as it is, when Stripe accepts it.
    ///
    /// ```
    /// use stripe_chat_stripe::IdempotencyKey;
    /// assert_eq!(IdempotencyKey::new("order-42")?.as_str(), "order-42");
    /// assert!(IdempotencyKey::new("a".repeat(256)).is_err());
    /// assert!(IdempotencyKey::new("with\nnewline").is_err());
    /// # Ok::<(), stripe_chat_stripe::InvalidIdempotencyKey>(())
    /// ```
    pub fn new(key: impl Into<String>) -> Result<Self, InvalidIdempotencyKey> {
        let key = key.into();
        if key.is_empty()
            || key.len() > Self::MAX_LEN
            || !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        {
            return Err(InvalidIdempotencyKey);
        }
        Ok(IdempotencyKey(key))
    }

    /// A key for the request `scope` names (an action: `retry-payment`, `send-dunning-email`),
    /// about `parts` (the Stripe object, the event or chat interaction that asked for it, …):
    /// `stripe-chat/{scope}/{SHA-256 of the parts, in hex}`. The same scope and parts always
    /// give the same key; the parts are hashed, so ids and names never reach Stripe's logs
    /// through the key. Characters of `scope` outside `[A-Za-z0-9._-]` become `_`, and it is
    /// cut at 64 characters.
    ///
    /// ```
    /// let key = stripe_chat_stripe::IdempotencyKey::derive("mark contacted", &["cus_1"]);
    /// assert!(key.as_str().starts_with("stripe-chat/mark_contacted/"));
    /// assert_eq!(key.as_str().len(), "stripe-chat/mark_contacted/".len() + 64);
    /// ```
    pub fn derive(scope: &str, parts: &[&str]) -> Self {
        let scope: String = scope
            .chars()
            .take(64)
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut digest = Sha256::new();
        for part in parts {
            // Length-prefixed, so that ["ab", "c"] and ["a", "bc"] differ.
            digest.update((part.len() as u64).to_be_bytes());
            digest.update(part.as_bytes());
        }
        IdempotencyKey(format!(
            "stripe-chat/{scope}/{}",
            hex::encode(digest.finalize())
        ))
    }

    /// The key as sent in the `Idempotency-Key` header.
    ///
    /// ```
    /// assert_eq!(stripe_chat_stripe::IdempotencyKey::new("k")?.as_str(), "k");
    /// # Ok::<(), stripe_chat_stripe::InvalidIdempotencyKey>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdempotencyKey").field(&self.0).finish()
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_kept_apart_so_that_different_splits_give_different_keys() {
        assert_ne!(
            IdempotencyKey::derive("s", &["ab", "c"]),
            IdempotencyKey::derive("s", &["a", "bc"])
        );
        assert_ne!(
            IdempotencyKey::derive("s", &["a"]),
            IdempotencyKey::derive("t", &["a"])
        );
    }

    #[test]
    fn every_derived_key_is_a_valid_key() {
        for scope in ["", "x", &"long".repeat(100), "späce and ünïcode\n"] {
            let key = IdempotencyKey::derive(scope, &["in_1", ""]);
            assert_eq!(IdempotencyKey::new(key.as_str()), Ok(key));
        }
    }
}

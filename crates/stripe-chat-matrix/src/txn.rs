//! Deterministic transaction ids, so a retried send never posts twice.

use sha2::{Digest, Sha256};

/// The transaction id (`txnId` of `PUT /rooms/{roomId}/send/m.room.message/{txnId}`) for sending
/// the message about Stripe event `stripe_event_id` to `destination` (e.g. the room id).
///
/// The homeserver answers a repeated `txnId` from the same device with the first `event_id`, so
/// deriving it from (event, destination) makes retries of a send idempotent. It is `sc-` followed by
/// 32 lowercase hex digits: the first 128 bits of SHA-256 over a versioned, length-prefixed encoding
/// of both inputs. It is stable across Rust versions and platforms, and URL-safe.
///
/// Use a different `destination` for different sends about the same event to the same room (an
/// edit, say `"!room:example.org#edit"`), or the homeserver will take them for the same send.
///
/// ```
/// use stripe_chat_matrix::txn_id;
/// let id = txn_id("evt_1MtHbFLkdIwHu7ixTcLjNhSM", "!ops:example.org");
/// assert_eq!(id, txn_id("evt_1MtHbFLkdIwHu7ixTcLjNhSM", "!ops:example.org"));
/// assert_ne!(id, txn_id("evt_1MtHbFLkdIwHu7ixTcLjNhSM", "!finance:example.org"));
/// assert!(id.starts_with("sc-") && id.len() == 35);
/// ```
pub fn txn_id(stripe_event_id: &str, destination: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hasher = Sha256::new();
    hasher.update(b"stripe-chat/matrix/txn/v1\0");
    hasher.update((stripe_event_id.len() as u64).to_be_bytes());
    hasher.update(stripe_event_id.as_bytes());
    hasher.update(destination.as_bytes());
    let digest = hasher.finalize();
    let mut id = String::with_capacity(35);
    id.push_str("sc-");
    for byte in digest.iter().take(16) {
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txn_id_is_pinned_so_it_never_changes_between_releases() {
        // Changing this value would make retries in flight during an upgrade post duplicates.
        // Computed independently: Python's hashlib.sha256(b"stripe-chat/matrix/txn/v1\0" +
        // (5).to_bytes(8, "big") + b"evt_1" + b"!room:example.org").hexdigest()[:32].
        assert_eq!(
            txn_id("evt_1", "!room:example.org"),
            "sc-0453e7b2808ab4edeb675a8af6aea516"
        );
    }

    #[test]
    fn inputs_cannot_be_shifted_between_event_and_destination() {
        assert_ne!(txn_id("evt_1", "2!room"), txn_id("evt_12", "!room"));
        assert_ne!(txn_id("", "evt_1"), txn_id("evt_1", ""));
    }

    #[test]
    fn txn_id_is_url_safe() {
        let id = txn_id("evt_ü/?#", "!room:example.org/../x");
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{id}"
        );
    }
}

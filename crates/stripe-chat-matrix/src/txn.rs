//! Deterministic transaction ids, so a retried send never posts twice.
//!
//! The homeserver answers a `txnId` it has seen from the same device (access token) in the same
//! room with the `event_id` of the first send, without posting again (Synapse remembers them for a
//! day). Each kind of send derives its id from what makes it that send:
//!
//! | send | function | derived from |
//! |---|---|---|
//! | a message about a Stripe event | [`txn_id`] | event id, destination |
//! | a reply about it in a thread | [`thread_txn_id`] | event id, destination, thread root |
//! | an edit of a message | [`edit_txn_id`] | event id (if any), destination, edited event, new content |
//! | a message without a Stripe event | [`content_txn_id`] | destination, the exact content sent |
//!
//! Every id is a prefix (`sc-`, `sc-t-`, `sc-e-`, `sc-c-`) and 32 lowercase hex digits (the first
//! 128 bits of SHA-256 over a versioned, length-prefixed encoding of the inputs): URL-safe, and
//! stable across Rust versions, platforms and releases.
//!
//! ```
//! use serde_json::json;
//! use stripe_chat_matrix::{content_txn_id, edit_txn_id, thread_txn_id, txn_id};
//!
//! let (event, room) = ("evt_1MtHbFLkdIwHu7ixTcLjNhSM", "!ops:example.org");
//! let root = txn_id(event, room);
//! let reply = thread_txn_id(event, room, "$root");
//! let edit = edit_txn_id(Some(event), room, "$root", &json!({"body": "Refunded"}));
//! let plain = content_txn_id(room, &json!({"body": "Deploy finished"}));
//! let all = [&root, &reply, &edit, &plain];
//! for (n, id) in all.iter().enumerate() {
//!     assert!(all[n + 1..].iter().all(|other| other != id));
//! }
//! ```

use serde_json::Value;
use sha2::{Digest, Sha256};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `prefix` and the first 128 bits of `digest` in lowercase hex.
fn hex_id(prefix: &str, digest: &[u8]) -> String {
    let mut id = String::with_capacity(prefix.len() + 32);
    id.push_str(prefix);
    for byte in digest.iter().take(16) {
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    id
}

/// SHA-256 over `domain`, a NUL, then each part prefixed with its length (u64, big-endian).
fn derive(prefix: &str, domain: &str, parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(domain.as_bytes());
    hasher.update([0]);
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hex_id(prefix, &hasher.finalize())
}

/// `value` as JSON with object keys sorted and no whitespace, so the same content always hashes
/// the same, whatever order its keys were built in.
fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (n, (key, value)) in entries.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical_json(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn canonical(value: &Value) -> String {
    let mut out = String::new();
    canonical_json(value, &mut out);
    out
}

/// The transaction id (`txnId` of `PUT /rooms/{roomId}/send/m.room.message/{txnId}`) for sending
/// the message about Stripe event `stripe_event_id` to `destination` (e.g. the room id).
///
/// The homeserver answers a repeated `txnId` from the same device with the first `event_id`, so
/// deriving it from (event, destination) makes retries of a send idempotent. It is `sc-` followed by
/// 32 lowercase hex digits: the first 128 bits of SHA-256 over a versioned, length-prefixed encoding
/// of both inputs. It is stable across Rust versions and platforms, and URL-safe.
///
/// A reply about the same event in a thread takes [`thread_txn_id`] and an edit [`edit_txn_id`]:
/// with this id, the homeserver would take them for this send.
///
/// ```
/// use stripe_chat_matrix::txn_id;
/// let id = txn_id("evt_1MtHbFLkdIwHu7ixTcLjNhSM", "!ops:example.org");
/// assert_eq!(id, txn_id("evt_1MtHbFLkdIwHu7ixTcLjNhSM", "!ops:example.org"));
/// assert_ne!(id, txn_id("evt_1MtHbFLkdIwHu7ixTcLjNhSM", "!finance:example.org"));
/// assert!(id.starts_with("sc-") && id.len() == 35);
/// ```
pub fn txn_id(stripe_event_id: &str, destination: &str) -> String {
    // The first derivation, kept byte for byte: the destination is last and not length-prefixed.
    let mut hasher = Sha256::new();
    hasher.update(b"stripe-chat/matrix/txn/v1\0");
    hasher.update((stripe_event_id.len() as u64).to_be_bytes());
    hasher.update(stripe_event_id.as_bytes());
    hasher.update(destination.as_bytes());
    hex_id("sc-", &hasher.finalize())
}

/// The transaction id for replying, about Stripe event `stripe_event_id`, in the thread whose
/// root is the event `root_event_id`, in `destination`: `sc-t-` and 32 hex digits.
///
/// It differs from the [`txn_id`] of the same event (so posting an event as a thread root, then
/// about it in another thread, are two messages) and from one thread to another, and is the same
/// for every retry of the reply.
///
/// ```
/// use stripe_chat_matrix::{thread_txn_id, txn_id};
/// let reply = thread_txn_id("evt_1", "!ops:example.org", "$root");
/// assert_eq!(reply, thread_txn_id("evt_1", "!ops:example.org", "$root"));
/// assert_ne!(reply, thread_txn_id("evt_1", "!ops:example.org", "$other_root"));
/// assert_ne!(reply, txn_id("evt_1", "!ops:example.org"));
/// assert!(reply.starts_with("sc-t-") && reply.len() == 37);
/// ```
pub fn thread_txn_id(stripe_event_id: &str, destination: &str, root_event_id: &str) -> String {
    derive(
        "sc-t-",
        "stripe-chat/matrix/txn/thread/v1",
        &[
            stripe_event_id.as_bytes(),
            destination.as_bytes(),
            root_event_id.as_bytes(),
        ],
    )
}

/// The transaction id for editing the event `target_event_id` so that it shows `new_content`
/// (the content as rendered, before [`edit`](crate::edit) wraps it), on behalf of Stripe event
/// `stripe_event_id` when there is one, in `destination`: `sc-e-` and 32 hex digits.
///
/// Retrying the same edit gives the same id (one edit event); a later edit with other content,
/// or prompted by another Stripe event, gets another id and is not taken for the first. The
/// content is hashed as canonical JSON (keys sorted), so key order does not matter.
///
/// ```
/// use serde_json::json;
/// use stripe_chat_matrix::edit_txn_id;
/// let refunded = json!({"msgtype": "m.notice", "body": "Refunded"});
/// let id = edit_txn_id(Some("evt_2"), "!ops:example.org", "$original", &refunded);
/// assert_eq!(id, edit_txn_id(Some("evt_2"), "!ops:example.org", "$original", &refunded));
/// let disputed = json!({"msgtype": "m.notice", "body": "Disputed"});
/// assert_ne!(id, edit_txn_id(Some("evt_2"), "!ops:example.org", "$original", &disputed));
/// assert_ne!(id, edit_txn_id(Some("evt_3"), "!ops:example.org", "$original", &refunded));
/// assert_ne!(id, edit_txn_id(None, "!ops:example.org", "$original", &refunded));
/// assert!(id.starts_with("sc-e-"));
/// ```
pub fn edit_txn_id(
    stripe_event_id: Option<&str>,
    destination: &str,
    target_event_id: &str,
    new_content: &Value,
) -> String {
    let (has_event, event) = match stripe_event_id {
        Some(event) => (&b"1"[..], event),
        None => (&b"0"[..], ""),
    };
    derive(
        "sc-e-",
        "stripe-chat/matrix/txn/edit/v1",
        &[
            has_event,
            event.as_bytes(),
            destination.as_bytes(),
            target_event_id.as_bytes(),
            canonical(new_content).as_bytes(),
        ],
    )
}

/// The transaction id for a message that is not about a Stripe event (it has no
/// [`source`](stripe_chat_message::ChatMessage::source)): derived from `destination` and the
/// exact `content` sent (thread relation included), as canonical JSON: `sc-c-` and 32 hex digits.
///
/// A retry of the same send is then idempotent too, with one consequence to know: two such
/// messages with identical content to the same destination, sent by the same device within the
/// time the homeserver remembers transaction ids (a day for Synapse), are one message. Give a
/// message a source, or content that differs (a timestamp), to post it twice.
///
/// ```
/// use serde_json::json;
/// use stripe_chat_matrix::content_txn_id;
/// let id = content_txn_id("!ops:example.org", &json!({"msgtype": "m.notice", "body": "Deploy finished"}));
/// assert_eq!(id, content_txn_id("!ops:example.org", &json!({"body": "Deploy finished", "msgtype": "m.notice"})));
/// assert_ne!(id, content_txn_id("!ops:example.org", &json!({"msgtype": "m.notice", "body": "Deploy failed"})));
/// assert!(id.starts_with("sc-c-"));
/// ```
pub fn content_txn_id(destination: &str, content: &Value) -> String {
    derive(
        "sc-c-",
        "stripe-chat/matrix/txn/content/v1",
        &[destination.as_bytes(), canonical(content).as_bytes()],
    )
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
    fn derived_txn_ids_are_pinned_so_they_never_change_between_releases() {
        // Computed independently in Python: hashlib.sha256(domain + b"\0" + for each part:
        // len(part).to_bytes(8, "big") + part).hexdigest()[:32], the content as
        // json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).
        let content = serde_json::json!({"msgtype": "m.notice", "body": "Refunded é \"q\"\n",
            "m.mentions": {}, "n": [1, 2]});
        assert_eq!(
            thread_txn_id("evt_1", "!room:example.org", "$root"),
            "sc-t-0e338d36880a2a73797b61131145379e"
        );
        assert_eq!(
            edit_txn_id(Some("evt_1"), "!room:example.org", "$original", &content),
            "sc-e-17490fd90930e67d86d4afa0494c0032"
        );
        assert_eq!(
            content_txn_id("!room:example.org", &content),
            "sc-c-b98cd1b4045c65957f347bebc4828eac"
        );
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let a = serde_json::json!({"b": {"y": 1, "x": [true, null]}, "a": "\u{1}"});
        assert_eq!(
            canonical(&a),
            r#"{"a":"\u0001","b":{"x":[true,null],"y":1}}"#
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

//! Unique, freshly signed events of a fixed size, made from a sample event.
//!
//! The sample is turned once into a template: its event id, its object's id (everywhere it appears)
//! and its `created` become holes, and `data.object.metadata.bench_padding` is padded so that every
//! rendered event has exactly the target size. Rendering fills the holes with a 24-character suffix
//! unique to this run and event (`evt_<suffix>`, `in_<suffix>`) and the current time, and signing
//! uses the current time too, so every request exercises the first-delivery path of a receiver.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use serde_json::Value;

/// The sample event used when no other is given: a 2026-09-30 `invoice.payment_failed`.
pub(crate) const DEFAULT_SAMPLE: &str =
    include_str!("../../../tests/fixtures/events/invoice.payment_failed@2026-09-30.endive.json");

const SUFFIX_MARK: &str = "@@BENCH_SUFFIX@@";
const CREATED_MARK: &str = "\"@@BENCH_CREATED@@\"";
const SUFFIX_LEN: usize = 24;
const NONCE_LEN: usize = 8;

#[derive(Debug, Clone)]
enum Piece {
    Text(Vec<u8>),
    Suffix,
    Created,
}

/// Makes the events of one run.
#[derive(Debug)]
pub(crate) struct EventFactory {
    pieces: Vec<Piece>,
    nonce: String,
    seq: AtomicU64,
    secret: String,
    size: usize,
}

/// One rendered event: its body and its `Stripe-Signature` header.
#[derive(Debug, Clone)]
pub(crate) struct SignedEvent {
    pub(crate) body: Bytes,
    pub(crate) signature: String,
}

impl EventFactory {
    /// A factory rendering `sample` (a Stripe event as JSON) padded to `target_size` bytes.
    /// A sample already larger than the target is used unpadded.
    pub(crate) fn new(sample: &str, target_size: usize, secret: &str) -> Result<Self, String> {
        let mut event: Value = serde_json::from_str(sample)
            .map_err(|e| format!("the sample event is not JSON: {e}"))?;
        let old_object_id = prepare(&mut event)?;
        let mut factory = EventFactory {
            pieces: template(&event, old_object_id.as_deref())?,
            nonce: nonce(),
            seq: AtomicU64::new(0),
            secret: secret.to_owned(),
            size: 0,
        };
        let natural = factory.render(0, 1_800_000_000).len();
        if target_size > natural {
            set_padding(&mut event, "x".repeat(target_size - natural));
            factory.pieces = template(&event, old_object_id.as_deref())?;
        }
        factory.size = factory.render(0, 1_800_000_000).len();
        Ok(factory)
    }

    /// The size of every rendered event, in bytes.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The next event: a new id, `created` = `now`, signed at `now` (Unix seconds).
    pub(crate) fn next(&self, now: i64) -> SignedEvent {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let body = self.render(seq, now);
        let signature = stripe_chat_events::sign(&body, &self.secret, now);
        SignedEvent {
            body: Bytes::from(body),
            signature,
        }
    }

    fn render(&self, seq: u64, created: i64) -> Vec<u8> {
        let suffix = format!(
            "{}{:0width$}",
            self.nonce,
            seq,
            width = SUFFIX_LEN - NONCE_LEN
        );
        let created = created.to_string();
        let mut out = Vec::with_capacity(self.size.max(1024));
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.extend_from_slice(text),
                Piece::Suffix => out.extend_from_slice(suffix.as_bytes()),
                Piece::Created => out.extend_from_slice(created.as_bytes()),
            }
        }
        out
    }
}

/// Puts the holes into `event` and an empty padding field; returns the object's former id.
fn prepare(event: &mut Value) -> Result<Option<String>, String> {
    let root = event
        .as_object_mut()
        .ok_or("the sample event is not a JSON object")?;
    root.insert("id".into(), Value::String(format!("evt_{SUFFIX_MARK}")));
    root.insert(
        "created".into(),
        Value::String(CREATED_MARK.trim_matches('"').into()),
    );
    let object = event
        .pointer_mut("/data/object")
        .and_then(Value::as_object_mut)
        .ok_or("the sample event has no data.object")?;
    let old_id = object.get("id").and_then(Value::as_str).map(str::to_owned);
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()));
    let metadata = metadata
        .as_object_mut()
        .ok_or("the sample event's data.object.metadata is not an object")?;
    metadata.insert("bench_padding".into(), Value::String(String::new()));
    Ok(old_id)
}

fn set_padding(event: &mut Value, padding: String) {
    if let Some(slot) = event.pointer_mut("/data/object/metadata/bench_padding") {
        *slot = Value::String(padding);
    }
}

/// Serializes `event` compactly and splits it at the holes. The object's id, wherever it appears
/// (an invoice's line items and their URL name their invoice), becomes `<prefix>_<suffix>`.
fn template(event: &Value, old_object_id: Option<&str>) -> Result<Vec<Piece>, String> {
    let mut text = serde_json::to_string(event).map_err(|e| e.to_string())?;
    if let Some(old) = old_object_id
        && let Some((prefix, _)) = old.split_once('_')
    {
        text = text.replace(old, &format!("{prefix}_{SUFFIX_MARK}"));
    }
    let mut pieces = Vec::new();
    let mut rest = text.as_str();
    loop {
        let next_suffix = rest.find(SUFFIX_MARK);
        let next_created = rest.find(CREATED_MARK);
        let (at, mark, piece) = match (next_suffix, next_created) {
            (Some(s), Some(c)) if c < s => (c, CREATED_MARK, Piece::Created),
            (Some(s), _) => (s, SUFFIX_MARK, Piece::Suffix),
            (None, Some(c)) => (c, CREATED_MARK, Piece::Created),
            (None, None) => break,
        };
        pieces.push(Piece::Text(rest.as_bytes()[..at].to_vec()));
        pieces.push(piece);
        rest = &rest[at + mark.len()..];
    }
    pieces.push(Piece::Text(rest.as_bytes().to_vec()));
    if !pieces.iter().any(|p| matches!(p, Piece::Created)) {
        return Err("the sample event has no top-level created".into());
    }
    Ok(pieces)
}

/// 8 base-36 characters that differ from run to run, so that events of several runs never collide.
fn nonce() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut n = (nanos as u64) ^ (u64::from(std::process::id()) << 40);
    // A multiplicative mix spreads nearby clocks over the whole range.
    n = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..NONCE_LEN)
        .map(|_| {
            let d = DIGITS[(n % 36) as usize];
            n /= 36;
            char::from(d)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stripe_chat_events::{StripeEvent, WebhookVerifier};

    #[test]
    fn events_have_the_target_size_unique_ids_and_valid_signatures() {
        let factory = EventFactory::new(DEFAULT_SAMPLE, 5000, "whsec_bench").unwrap();
        assert_eq!(factory.size(), 5000);
        let now = 1_800_000_123;
        let a = factory.next(now);
        let b = factory.next(now);
        assert_eq!(a.body.len(), 5000);
        assert_eq!(b.body.len(), 5000);
        let verifier = WebhookVerifier::new(["whsec_bench"]);
        assert_eq!(
            verifier.verify_at(&a.body, Some(&a.signature), now),
            Ok(now)
        );

        let ea = StripeEvent::from_slice(&a.body).unwrap();
        let eb = StripeEvent::from_slice(&b.body).unwrap();
        assert_ne!(ea.id(), eb.id());
        assert!(ea.id().starts_with("evt_") && ea.id().len() == 4 + SUFFIX_LEN);
        assert_eq!(ea.created(), now);
        assert_eq!(ea.event_type(), "invoice.payment_failed");
        let invoice = ea.object().get("id").and_then(Value::as_str).unwrap();
        assert_eq!(invoice, ea.id().replace("evt_", "in_"));
        let text = std::str::from_utf8(&a.body).unwrap();
        assert!(!text.contains("in_1IFceUQ9RKHgCVdKDSF5NQW1"));
        assert!(!text.contains("@@"));
    }

    #[test]
    fn a_target_below_the_natural_size_leaves_the_event_unpadded() {
        let factory = EventFactory::new(DEFAULT_SAMPLE, 100, "whsec_bench").unwrap();
        assert!(factory.size() > 3000 && factory.size() < 5000);
        assert_eq!(factory.next(1_800_000_000).body.len(), factory.size());
    }
}

//! Keeping a rendered body within a platform's size limit: its size as JSON, and the search for the
//! least trimmed body that fits.
//!
//! ```
//! use serde_json::json;
//! use stripe_chat_message::budget::{fit, serialized_len};
//! assert_eq!(serialized_len(&json!({ "text": "hi" })), 13);
//! let body = fit(&[100, 10], 3, 40, |&chars, fields| json!({ "text": "x".repeat(chars), "fields": fields }));
//! assert_eq!(body, Some(json!({ "text": "xxxxxxxxxx", "fields": 3 })));
//! ```

use serde_json::Value;

/// Bytes of `value` serialized compactly (as `serde_json::to_vec` writes it), counted without
/// building the string.
///
/// ```
/// use stripe_chat_message::budget::serialized_len;
/// let body = serde_json::json!({ "text": "Zürich", "n": [1, 2] });
/// assert_eq!(serialized_len(&body), serde_json::to_vec(&body).unwrap().len());
/// ```
pub fn serialized_len(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
    }
}

/// The body `build(level, shown)` at the first of `levels` (trimming levels, from the least to the
/// most cut) where it fits in `max_bytes` ([`serialized_len`]), showing as many of the first
/// `fields` fields as fit there; `None` when no level fits even without fields.
///
/// At each level the body with all `fields` fields is tried first; when it is too big but the
/// body without fields fits, the most fields that fit are found by bisection (so a body must not
/// shrink as fields are added); when even that is too big, the next level is tried.
///
/// ```
/// use serde_json::json;
/// use stripe_chat_message::budget::{fit, serialized_len};
/// let build = |&title: &usize, shown: usize| json!({ "title": "t".repeat(title), "fields": vec!["field"; shown] });
/// let body = fit(&[60, 20], 5, 60, build).expect("fits");
/// assert_eq!(body["title"].as_str().map(str::len), Some(20));
/// assert_eq!(body["fields"].as_array().map(Vec::len), Some(2));
/// assert!(serialized_len(&body) <= 60);
/// assert_eq!(fit(&[60, 20], 5, 10, build), None);
/// ```
pub fn fit<L>(
    levels: &[L],
    fields: usize,
    max_bytes: usize,
    mut build: impl FnMut(&L, usize) -> Value,
) -> Option<Value> {
    let fits = |body: &Value| serialized_len(body) <= max_bytes;
    for level in levels {
        let full = build(level, fields);
        if fits(&full) {
            return Some(full);
        }
        if !fits(&build(level, 0)) {
            continue; // even without fields the texts are too long: cut them further
        }
        // The most fields that fit: `low` always fits, `high` never does.
        let (mut low, mut high) = (0, fields);
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            if fits(&build(level, mid)) {
                low = mid;
            } else {
                high = mid;
            }
        }
        return Some(build(level, low));
    }
    None
}

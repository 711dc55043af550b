//! Relations between messages: replies in a thread and edits, per the Matrix spec. Pure JSON
//! rewriting, for the client to send.

use serde_json::{Map, Value, json};
use stripe_chat_message::budget::serialized_len;
use stripe_chat_message::text::truncate;

use crate::limits::{HTML_FORMAT, MAX_CONTENT_BYTES};

/// `content` as a reply in the thread rooted at `root_event_id`: adds
/// `m.relates_to: {rel_type: "m.thread", event_id, is_falling_back: true, "m.in_reply_to": {event_id}}`
/// (the reply fallback, for clients without threads, points at the root). Anything in `content`
/// that is not a JSON object is returned unchanged.
///
/// ```
/// use serde_json::json;
/// let reply = stripe_chat_matrix::thread_reply(json!({"msgtype": "m.notice", "body": "Paid"}), "$root");
/// assert_eq!(reply["m.relates_to"], json!({
///     "rel_type": "m.thread",
///     "event_id": "$root",
///     "is_falling_back": true,
///     "m.in_reply_to": {"event_id": "$root"},
/// }));
/// assert_eq!(reply["body"], "Paid");
/// ```
pub fn thread_reply(content: Value, root_event_id: &str) -> Value {
    let Value::Object(mut content) = content else {
        return content;
    };
    content.insert(
        "m.relates_to".to_owned(),
        json!({
            "rel_type": "m.thread",
            "event_id": root_event_id,
            "is_falling_back": true,
            "m.in_reply_to": { "event_id": root_event_id },
        }),
    );
    Value::Object(content)
}

/// An edit replacing the message `original_event_id` with `new_content` (as rendered, e.g. by
/// [`MatrixRenderer`](crate::MatrixRenderer)), per the spec's event replacements:
///
/// ```json
/// {"msgtype": ..., "body": "* " + body, "format": ..., "formatted_body": "* " + formatted_body,
///  "m.mentions": {}, "m.new_content": new_content,
///  "m.relates_to": {"rel_type": "m.replace", "event_id": original_event_id}}
/// ```
///
/// The `* ` fallback is for clients without edits. `m.relates_to` inside `new_content` is removed
/// (the spec ignores it there, and an edit keeps the original's relation, thread included). The
/// top-level `m.mentions` is empty: an edit notifies nobody again.
///
/// The result stays within [`MAX_CONTENT_BYTES`] by shrinking the fallback (dropping its HTML,
/// then cutting its text) as long as `new_content` was rendered within
/// [`RENDER_BUDGET_BYTES`](crate::limits::RENDER_BUDGET_BYTES). Anything in `new_content` that is
/// not a JSON object is returned unchanged.
///
/// ```
/// use serde_json::json;
/// let new = json!({"msgtype": "m.notice", "body": "Refunded", "format": "org.matrix.custom.html",
///     "formatted_body": "<h4>Refunded</h4>", "m.mentions": {}});
/// let edit = stripe_chat_matrix::edit(new.clone(), "$original");
/// assert_eq!(edit["body"], "* Refunded");
/// assert_eq!(edit["formatted_body"], "* <h4>Refunded</h4>");
/// assert_eq!(edit["m.new_content"], new);
/// assert_eq!(edit["m.relates_to"], json!({"rel_type": "m.replace", "event_id": "$original"}));
/// ```
pub fn edit(new_content: Value, original_event_id: &str) -> Value {
    let Value::Object(mut new_content) = new_content else {
        return new_content;
    };
    new_content.remove("m.relates_to");
    let body = new_content
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let html = match (new_content.get("format"), new_content.get("formatted_body")) {
        (Some(format), Some(Value::String(html))) if format == HTML_FORMAT => Some(html.clone()),
        _ => None,
    };

    let mut edit = Map::new();
    let msgtype = new_content
        .get("msgtype")
        .cloned()
        .unwrap_or_else(|| "m.text".into());
    edit.insert("msgtype".to_owned(), msgtype);
    edit.insert("body".to_owned(), format!("* {body}").into());
    if let Some(html) = &html {
        edit.insert("format".to_owned(), HTML_FORMAT.into());
        edit.insert("formatted_body".to_owned(), format!("* {html}").into());
    }
    edit.insert("m.mentions".to_owned(), json!({}));
    edit.insert("m.new_content".to_owned(), Value::Object(new_content));
    edit.insert(
        "m.relates_to".to_owned(),
        json!({ "rel_type": "m.replace", "event_id": original_event_id }),
    );
    let mut edit = Value::Object(edit);
    if serialized_len(&edit) <= MAX_CONTENT_BYTES {
        return edit;
    }

    // Too big: the fallback loses its HTML, then as much of its text as needed.
    if let Some(fields) = edit.as_object_mut() {
        fields.remove("format");
        fields.remove("formatted_body");
    }
    let fallback = |chars: usize| Value::String(format!("* {}", truncate(&body, chars)));
    let (mut low, mut high) = (0, body.chars().count());
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        edit["body"] = fallback(mid);
        if serialized_len(&edit) <= MAX_CONTENT_BYTES {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    edit["body"] = fallback(low);
    edit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MatrixRenderer;
    use crate::limits::RENDER_BUDGET_BYTES;
    use stripe_chat_message::{ChatMessage, Renderer};

    #[test]
    fn thread_reply_keeps_the_content_and_adds_the_thread_relation() {
        let content = json!({"msgtype": "m.notice", "body": "b", "m.mentions": {}});
        let reply = thread_reply(content, "$root:example.org");
        assert_eq!(reply["m.relates_to"]["rel_type"], "m.thread");
        assert_eq!(
            reply["m.relates_to"]["m.in_reply_to"]["event_id"],
            "$root:example.org"
        );
        assert_eq!(reply["m.mentions"], json!({}));
    }

    #[test]
    fn relations_leave_non_objects_alone() {
        assert_eq!(thread_reply(json!("x"), "$r"), json!("x"));
        assert_eq!(edit(json!(null), "$r"), json!(null));
    }

    #[test]
    fn edit_drops_relations_inside_the_new_content() {
        let threaded = thread_reply(json!({"msgtype": "m.notice", "body": "b"}), "$root");
        let edit = edit(threaded, "$original");
        assert!(edit["m.new_content"].get("m.relates_to").is_none());
        assert_eq!(edit["m.relates_to"]["rel_type"], "m.replace");
        assert!(
            edit.get("format").is_none(),
            "no HTML fallback for a plain message"
        );
    }

    #[test]
    fn edit_of_the_biggest_rendered_message_stays_within_the_content_limit() {
        let mut message = ChatMessage::new("x".repeat(400)).summary("&".repeat(10_000));
        for n in 0..60 {
            message = message.field(format!("F{n}"), "'".repeat(1_000));
        }
        let content = MatrixRenderer::new().render(&message).expect("renders");
        assert!(serialized_len(&content) <= RENDER_BUDGET_BYTES);
        assert!(
            serialized_len(&content) > RENDER_BUDGET_BYTES - 10_000,
            "a big one"
        );
        let edit = edit(content.clone(), "$original:example.org");
        assert!(
            serialized_len(&edit) <= MAX_CONTENT_BYTES,
            "{}",
            serialized_len(&edit)
        );
        assert!(edit.get("formatted_body").is_none());
        assert!(
            edit["body"]
                .as_str()
                .is_some_and(|b| b.starts_with("* ℹ️ xxx"))
        );
        assert_eq!(edit["m.new_content"], content);
    }
}

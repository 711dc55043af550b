//! Checking a rendered body against Slack's Block Kit limits.

use std::collections::HashSet;

use serde_json::Value;

use crate::limits::shown_text_chars;
use crate::limits::{
    MAX_ACTION_ID, MAX_ACTIONS_ELEMENTS, MAX_BLOCKS, MAX_BUTTON_TEXT, MAX_BUTTON_VALUE,
    MAX_CONFIRM_BUTTON, MAX_CONFIRM_TEXT, MAX_CONFIRM_TITLE, MAX_CONTEXT_ELEMENTS,
    MAX_CONTEXT_TEXT, MAX_FALLBACK_TEXT, MAX_FIELD_TEXT, MAX_HEADER_TEXT, MAX_SECTION_FIELDS,
    MAX_SECTION_TEXT, MAX_URL, TOTAL_TEXT_BUDGET,
};

/// Checks a `chat.postMessage` body against the Block Kit limits in [`crate::limits`]: the fallback
/// `text` (1 to [`MAX_FALLBACK_TEXT`] characters), at most 50 blocks, header and section texts,
/// section fields (≤10, each ≤2,000), actions blocks (≤25 buttons; button text, `action_id`
/// unique in the message, `value`, `http(s)` `url`, `style`, confirmation dialog texts), context
/// blocks (≤10 elements), non-empty texts everywhere, and the [`TOTAL_TEXT_BUDGET`] of shown text.
///
/// Returns every problem found, each naming where it is (`blocks[3].fields[2]: ...`).
///
/// ```
/// use stripe_chat_message::{ChatMessage, Renderer};
/// use stripe_chat_slack::{SlackRenderer, validate_limits};
///
/// let body = SlackRenderer::new().render(&ChatMessage::new("x".repeat(1_000)))?;
/// assert_eq!(validate_limits(&body), Ok(()));
///
/// let too_long = serde_json::json!({
///     "text": "x",
///     "blocks": [{ "type": "header", "text": { "type": "plain_text", "text": "x".repeat(151) } }],
/// });
/// assert_eq!(
///     validate_limits(&too_long),
///     Err(vec!["blocks[0].text: 151 characters, more than 150".to_string()])
/// );
/// # Ok::<(), stripe_chat_message::RenderError>(())
/// ```
pub fn validate_limits(body: &Value) -> Result<(), Vec<String>> {
    let mut check = Checker::default();
    check.body(body);
    if check.errors.is_empty() {
        Ok(())
    } else {
        Err(check.errors)
    }
}

#[derive(Default)]
struct Checker {
    errors: Vec<String>,
    action_ids: HashSet<String>,
}

impl Checker {
    fn fail(&mut self, path: &str, problem: impl std::fmt::Display) {
        self.errors.push(format!("{path}: {problem}"));
    }

    fn string_within(&mut self, path: &str, value: Option<&Value>, max: usize) -> Option<String> {
        let Some(text) = value.and_then(Value::as_str) else {
            self.fail(path, "missing or not a string");
            return None;
        };
        let len = text.chars().count();
        if len == 0 {
            self.fail(path, "empty");
        } else if len > max {
            self.fail(path, format!("{len} characters, more than {max}"));
        }
        Some(text.to_owned())
    }

    /// A text object (`{"type": "plain_text"|"mrkdwn", "text": ...}`) of at most `max` characters.
    fn text_object(&mut self, path: &str, value: Option<&Value>, max: usize, plain_only: bool) {
        let Some(object) = value.filter(|v| v.is_object()) else {
            self.fail(path, "missing text object");
            return;
        };
        match object.get("type").and_then(Value::as_str) {
            Some("plain_text") => {}
            Some("mrkdwn") if !plain_only => {}
            other => self.fail(path, format!("text object of type {other:?}")),
        }
        self.string_within(path, object.get("text"), max);
    }

    fn array<'v>(&mut self, path: &str, value: Option<&'v Value>, max: usize) -> &'v [Value] {
        let Some(items) = value.and_then(Value::as_array) else {
            self.fail(path, "missing or not an array");
            return &[];
        };
        if items.is_empty() {
            self.fail(path, "empty");
        } else if items.len() > max {
            self.fail(path, format!("{} items, more than {max}", items.len()));
        }
        items
    }

    fn body(&mut self, body: &Value) {
        if !body.is_object() {
            self.fail("body", "not a JSON object");
            return;
        }
        self.string_within("text", body.get("text"), MAX_FALLBACK_TEXT);
        let blocks = self.array("blocks", body.get("blocks"), MAX_BLOCKS);
        for (i, block) in blocks.iter().enumerate() {
            self.block(&format!("blocks[{i}]"), block);
        }
        let shown: usize = blocks.iter().map(shown_text_chars).sum();
        if shown > TOTAL_TEXT_BUDGET {
            self.fail(
                "blocks",
                format!("{shown} characters of text, more than {TOTAL_TEXT_BUDGET}"),
            );
        }
    }

    fn block(&mut self, path: &str, block: &Value) {
        match block.get("type").and_then(Value::as_str) {
            Some("header") => {
                self.text_object(
                    &format!("{path}.text"),
                    block.get("text"),
                    MAX_HEADER_TEXT,
                    true,
                );
            }
            Some("section") => {
                let (text, fields) = (block.get("text"), block.get("fields"));
                if text.is_none() && fields.is_none() {
                    self.fail(path, "section without text or fields");
                }
                if text.is_some() {
                    self.text_object(&format!("{path}.text"), text, MAX_SECTION_TEXT, false);
                }
                if fields.is_some() {
                    let fields = self.array(&format!("{path}.fields"), fields, MAX_SECTION_FIELDS);
                    for (i, field) in fields.iter().enumerate() {
                        self.text_object(
                            &format!("{path}.fields[{i}]"),
                            Some(field),
                            MAX_FIELD_TEXT,
                            false,
                        );
                    }
                }
            }
            Some("actions") => {
                let elements = self.array(
                    &format!("{path}.elements"),
                    block.get("elements"),
                    MAX_ACTIONS_ELEMENTS,
                );
                for (i, element) in elements.iter().enumerate() {
                    self.button(&format!("{path}.elements[{i}]"), element);
                }
            }
            Some("context") => {
                let elements = self.array(
                    &format!("{path}.elements"),
                    block.get("elements"),
                    MAX_CONTEXT_ELEMENTS,
                );
                for (i, element) in elements.iter().enumerate() {
                    self.text_object(
                        &format!("{path}.elements[{i}]"),
                        Some(element),
                        MAX_CONTEXT_TEXT,
                        false,
                    );
                }
            }
            other => self.fail(path, format!("unexpected block type {other:?}")),
        }
    }

    fn button(&mut self, path: &str, button: &Value) {
        if button.get("type").and_then(Value::as_str) != Some("button") {
            self.fail(path, "not a button");
        }
        self.text_object(
            &format!("{path}.text"),
            button.get("text"),
            MAX_BUTTON_TEXT,
            true,
        );
        let action_id = format!("{path}.action_id");
        if let Some(id) = self.string_within(&action_id, button.get("action_id"), MAX_ACTION_ID)
            && !self.action_ids.insert(id.clone())
        {
            self.fail(&action_id, format!("{id:?} is not unique in the message"));
        }
        if button.get("value").is_some() {
            self.string_within(
                &format!("{path}.value"),
                button.get("value"),
                MAX_BUTTON_VALUE,
            );
        }
        if button.get("url").is_some() {
            let url_path = format!("{path}.url");
            if let Some(url) = self.string_within(&url_path, button.get("url"), MAX_URL) {
                let lower = url.to_ascii_lowercase();
                if !(lower.starts_with("https://") || lower.starts_with("http://")) {
                    self.fail(&url_path, "not an http(s) URL");
                }
            }
        }
        match button.get("style") {
            None => {}
            Some(style) if style == "primary" || style == "danger" => {}
            Some(style) => self.fail(&format!("{path}.style"), format!("unknown style {style}")),
        }
        if let Some(confirm) = button.get("confirm") {
            for (key, max) in [
                ("title", MAX_CONFIRM_TITLE),
                ("text", MAX_CONFIRM_TEXT),
                ("confirm", MAX_CONFIRM_BUTTON),
                ("deny", MAX_CONFIRM_BUTTON),
            ] {
                self.text_object(
                    &format!("{path}.confirm.{key}"),
                    confirm.get(key),
                    max,
                    true,
                );
            }
        }
    }
}

//! Checking a rendered body against Discord's limits.

use std::collections::HashSet;

use serde_json::Value;

use crate::limits::{
    MAX_ACTION_ROWS, MAX_AUTHOR_NAME, MAX_BUTTON_LABEL, MAX_BUTTONS_PER_ROW, MAX_CONTENT,
    MAX_CUSTOM_ID, MAX_DESCRIPTION, MAX_EMBED_TOTAL, MAX_EMBEDS, MAX_FIELD_NAME, MAX_FIELD_VALUE,
    MAX_FIELDS, MAX_FOOTER_TEXT, MAX_TITLE, MAX_URL, MAX_USERNAME,
};

/// Checks an execute-webhook body against Discord's limits in [`crate::limits`]: `content`
/// (≤2,000), `username` (1–80), at most 10 embeds with title (≤256), description (≤4,096), `url`
/// (`http(s)`), colour (24-bit), at most 25 fields with non-blank name (≤256) and value (≤1,024),
/// footer (≤2,048), author (≤256) and all of them together ≤6,000; at most 5 action rows of 1–5
/// buttons, each with a label (≤80) and either style 5 and an `http(s)` `url` (≤512) or style 1–4
/// and a `custom_id` (1–100, unique in the message); and `allowed_mentions.parse` empty.
///
/// Returns every problem found, each naming where it is (`embeds[0].fields[3].value: ...`).
///
/// ```
/// use stripe_chat_message::{ChatMessage, Renderer};
/// use stripe_chat_discord::{DiscordRenderer, validate_limits};
///
/// let body = DiscordRenderer::new().render(&ChatMessage::new("x".repeat(1_000)))?;
/// assert_eq!(validate_limits(&body), Ok(()));
///
/// let bad = serde_json::json!({
///     "content": "",
///     "embeds": [{ "title": "t", "fields": [{ "name": "n", "value": "" }] }],
///     "allowed_mentions": { "parse": [] },
/// });
/// assert_eq!(validate_limits(&bad), Err(vec!["embeds[0].fields[0].value: empty".to_string()]));
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
    custom_ids: HashSet<String>,
}

impl Checker {
    fn fail(&mut self, path: &str, problem: impl std::fmt::Display) {
        self.errors.push(format!("{path}: {problem}"));
    }

    /// The length of the string at `value` (0 when absent, unless `required`), checked against
    /// `min..=max` characters; blank counts as empty when `min` is 1.
    fn string(&mut self, path: &str, value: Option<&Value>, min: usize, max: usize) -> usize {
        let Some(value) = value else {
            if min > 0 {
                self.fail(path, "missing");
            }
            return 0;
        };
        let Some(text) = value.as_str() else {
            self.fail(path, "not a string");
            return 0;
        };
        let len = text.chars().count();
        if min > 0 && text.trim().is_empty() {
            self.fail(path, "empty");
        } else if len > max {
            self.fail(path, format!("{len} characters, more than {max}"));
        }
        len
    }

    fn url(&mut self, path: &str, value: Option<&Value>, required: bool) {
        if value.is_none() && !required {
            return;
        }
        self.string(path, value, 1, MAX_URL);
        let url = value
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            self.fail(path, "not an http(s) URL");
        }
    }

    fn array<'v>(
        &mut self,
        path: &str,
        value: Option<&'v Value>,
        min: usize,
        max: usize,
    ) -> &'v [Value] {
        let Some(value) = value else {
            if min > 0 {
                self.fail(path, "missing");
            }
            return &[];
        };
        let Some(items) = value.as_array() else {
            self.fail(path, "not an array");
            return &[];
        };
        if items.len() < min {
            self.fail(path, format!("{} items, fewer than {min}", items.len()));
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
        self.string("content", body.get("content"), 0, MAX_CONTENT);
        if body.get("username").is_some() {
            self.string("username", body.get("username"), 1, MAX_USERNAME);
        }
        let embeds = self.array("embeds", body.get("embeds"), 0, MAX_EMBEDS);
        let total: usize = embeds
            .iter()
            .enumerate()
            .map(|(i, e)| self.embed(&format!("embeds[{i}]"), e))
            .sum();
        if total > MAX_EMBED_TOTAL {
            self.fail(
                "embeds",
                format!("{total} characters in all, more than {MAX_EMBED_TOTAL}"),
            );
        }
        let rows = self.array("components", body.get("components"), 0, MAX_ACTION_ROWS);
        for (i, row) in rows.iter().enumerate() {
            let path = format!("components[{i}]");
            if row.get("type").and_then(Value::as_u64) != Some(1) {
                self.fail(&path, "not an action row (type 1)");
            }
            let buttons = self.array(
                &format!("{path}.components"),
                row.get("components"),
                1,
                MAX_BUTTONS_PER_ROW,
            );
            for (j, button) in buttons.iter().enumerate() {
                self.button(&format!("{path}.components[{j}]"), button);
            }
        }
        let parse = body.get("allowed_mentions").and_then(|m| m.get("parse"));
        if parse
            .and_then(Value::as_array)
            .is_none_or(|p| !p.is_empty())
        {
            self.fail("allowed_mentions.parse", "missing or not empty");
        }
    }

    /// Checks one embed and returns the characters it counts toward [`MAX_EMBED_TOTAL`].
    fn embed(&mut self, path: &str, embed: &Value) -> usize {
        let mut total = 0;
        if embed.get("title").is_some() {
            total += self.string(&format!("{path}.title"), embed.get("title"), 1, MAX_TITLE);
        }
        total += self.string(
            &format!("{path}.description"),
            embed.get("description"),
            0,
            MAX_DESCRIPTION,
        );
        self.url(&format!("{path}.url"), embed.get("url"), false);
        if let Some(color) = embed.get("color")
            && color.as_u64().is_none_or(|c| c > 0xFF_FF_FF)
        {
            self.fail(
                &format!("{path}.color"),
                format!("{color} is not a 24-bit colour"),
            );
        }
        let fields = self.array(
            &format!("{path}.fields"),
            embed.get("fields"),
            0,
            MAX_FIELDS,
        );
        for (i, field) in fields.iter().enumerate() {
            let field_path = format!("{path}.fields[{i}]");
            total += self.string(
                &format!("{field_path}.name"),
                field.get("name"),
                1,
                MAX_FIELD_NAME,
            );
            total += self.string(
                &format!("{field_path}.value"),
                field.get("value"),
                1,
                MAX_FIELD_VALUE,
            );
        }
        if let Some(footer) = embed.get("footer") {
            total += self.string(
                &format!("{path}.footer.text"),
                footer.get("text"),
                1,
                MAX_FOOTER_TEXT,
            );
        }
        if let Some(author) = embed.get("author") {
            total += self.string(
                &format!("{path}.author.name"),
                author.get("name"),
                1,
                MAX_AUTHOR_NAME,
            );
        }
        total
    }

    fn button(&mut self, path: &str, button: &Value) {
        if button.get("type").and_then(Value::as_u64) != Some(2) {
            self.fail(path, "not a button (type 2)");
        }
        self.string(
            &format!("{path}.label"),
            button.get("label"),
            1,
            MAX_BUTTON_LABEL,
        );
        match button.get("style").and_then(Value::as_u64) {
            Some(5) => {
                self.url(&format!("{path}.url"), button.get("url"), true);
                if button.get("custom_id").is_some() {
                    self.fail(path, "link button with a custom_id");
                }
            }
            Some(1..=4) => {
                let custom_id = format!("{path}.custom_id");
                self.string(&custom_id, button.get("custom_id"), 1, MAX_CUSTOM_ID);
                if let Some(id) = button.get("custom_id").and_then(Value::as_str)
                    && !self.custom_ids.insert(id.to_owned())
                {
                    self.fail(&custom_id, format!("{id:?} is not unique in the message"));
                }
                if button.get("url").is_some() {
                    self.fail(path, "callback button with a url");
                }
            }
            other => self.fail(&format!("{path}.style"), format!("unknown style {other:?}")),
        }
    }
}

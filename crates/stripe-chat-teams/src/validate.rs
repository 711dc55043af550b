//! Checks a Workflows webhook body against what Teams accepts, before it is sent.

use serde_json::Value;
use stripe_chat_message::budget::serialized_len;

use crate::limits::is_web_url;
use crate::limits::{ALLOWED_ACTION_TYPES, MAX_CARD_BYTES, MAX_CARD_VERSION};

/// Checks a Workflows webhook body against Teams' limits: serialized size within
/// [`MAX_CARD_BYTES`], a `message` with at least one Adaptive Card attachment, each card's
/// `version` at most [`MAX_CARD_VERSION`], only [`ALLOWED_ACTION_TYPES`] anywhere in a card, and
/// every `Action.OpenUrl` opening an `https://`/`http://` URL. Returns every problem found.
///
/// ```
/// use serde_json::json;
/// use stripe_chat_message::{ChatMessage, Renderer};
/// use stripe_chat_teams::{TeamsRenderer, validate_limits};
///
/// let body = TeamsRenderer::new().render(&ChatMessage::new("Invoice paid"))?;
/// assert_eq!(validate_limits(&body), Ok(()));
///
/// let mut bad = body.clone();
/// bad["attachments"][0]["content"]["version"] = json!("1.6");
/// bad["attachments"][0]["content"]["actions"] = json!([{ "type": "Action.Submit", "title": "Go" }]);
/// assert_eq!(validate_limits(&bad).map_err(|problems| problems.len()), Err(2));
/// # Ok::<(), stripe_chat_message::RenderError>(())
/// ```
pub fn validate_limits(body: &Value) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let size = serialized_len(body);
    if size > MAX_CARD_BYTES {
        problems.push(format!(
            "body is {size} bytes, over Teams' {MAX_CARD_BYTES}"
        ));
    }
    if body["type"] != "message" {
        problems.push("body `type` is not \"message\"".to_owned());
    }
    let attachments = body["attachments"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if attachments.is_empty() {
        problems.push("body has no attachments".to_owned());
    }
    for (n, attachment) in attachments.iter().enumerate() {
        if attachment["contentType"] != "application/vnd.microsoft.card.adaptive" {
            problems.push(format!("attachment {n} is not an Adaptive Card"));
        }
        let card = &attachment["content"];
        if card["type"] != "AdaptiveCard" {
            problems.push(format!(
                "attachment {n}: content `type` is not \"AdaptiveCard\""
            ));
        }
        match card["version"].as_str().and_then(parse_version) {
            Some(version) if version <= MAX_CARD_VERSION => {}
            _ => problems.push(format!(
                "attachment {n}: card version {} is not one Teams renders (at most {}.{})",
                card["version"], MAX_CARD_VERSION.0, MAX_CARD_VERSION.1
            )),
        }
        check_actions(card, n, &mut problems);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// `"1.4"` → `(1, 4)`.
fn parse_version(version: &str) -> Option<(u32, u32)> {
    let (major, minor) = version.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Every object anywhere in the card whose `type` names an action.
fn check_actions(value: &Value, attachment: usize, problems: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            if let Some(kind) = object.get("type").and_then(Value::as_str)
                && kind.starts_with("Action.")
            {
                if !ALLOWED_ACTION_TYPES.contains(&kind) {
                    problems.push(format!(
                        "attachment {attachment}: {kind} cannot be used in a webhook card"
                    ));
                }
                if kind == "Action.OpenUrl"
                    && !object
                        .get("url")
                        .and_then(Value::as_str)
                        .is_some_and(is_web_url)
                {
                    problems.push(format!(
                        "attachment {attachment}: Action.OpenUrl without an http(s) URL"
                    ));
                }
            }
            object
                .values()
                .for_each(|v| check_actions(v, attachment, problems));
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| check_actions(v, attachment, problems)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body_with(card: Value) -> Value {
        json!({ "type": "message", "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": card,
        }]})
    }

    #[test]
    fn a_small_valid_card_passes() {
        let card = json!({ "type": "AdaptiveCard", "version": "1.5", "body": [],
            "actions": [{ "type": "Action.OpenUrl", "title": "x", "url": "https://e.test" }] });
        assert_eq!(validate_limits(&body_with(card)), Ok(()));
    }

    #[test]
    fn versions_above_one_five_are_refused() {
        for version in ["1.6", "2.0", "1.10", "x", ""] {
            let card = json!({ "type": "AdaptiveCard", "version": version, "body": [] });
            assert!(validate_limits(&body_with(card)).is_err(), "{version}");
        }
    }

    #[test]
    fn bot_only_actions_are_refused_even_when_nested() {
        let card = json!({ "type": "AdaptiveCard", "version": "1.4", "body": [
            { "type": "ActionSet", "actions": [{ "type": "Action.Execute", "title": "Go" }] }
        ]});
        let problems = validate_limits(&body_with(card)).expect_err("refused");
        assert!(problems[0].contains("Action.Execute"), "{problems:?}");
    }

    #[test]
    fn open_url_needs_a_web_url() {
        let card = json!({ "type": "AdaptiveCard", "version": "1.4", "body": [],
            "actions": [{ "type": "Action.OpenUrl", "title": "x", "url": "javascript:alert(1)" }] });
        assert!(validate_limits(&body_with(card)).is_err());
    }

    #[test]
    fn oversized_bodies_are_refused() {
        let card = json!({ "type": "AdaptiveCard", "version": "1.4",
            "body": [{ "type": "TextBlock", "text": "x".repeat(MAX_CARD_BYTES) }] });
        let problems = validate_limits(&body_with(card)).expect_err("refused");
        assert!(problems[0].contains("bytes"), "{problems:?}");
    }

    #[test]
    fn a_body_that_is_not_a_message_is_refused() {
        assert_eq!(validate_limits(&json!({})).map_err(|p| p.len()), Err(2));
    }
}

//! Discord's error answers as classified [`DeliveryError`]s.
//!
//! Discord answers a failed request with a JSON body `{"message": ..., "code": ...}`, plus
//! `"errors"` (which field was wrong) on a 400 and `"retry_after"` (float seconds) and `"global"`
//! on a 429. The kind follows the status (see the crate docs for the table); the message carries
//! Discord's own words and code, and the first field error, never the token.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;
use stripe_chat_message::DeliveryError;

/// What the failed request was doing, for clearer messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// Execute webhook (a new message).
    Send,
    /// Edit webhook message.
    Update,
}

/// Discord's JSON error code: Unknown Channel (a deleted thread, or one outside the webhook's
/// channel).
const UNKNOWN_CHANNEL: u64 = 10_003;
/// Discord's JSON error code: Unknown Message.
const UNKNOWN_MESSAGE: u64 = 10_008;
/// Discord's JSON error code: Unknown Webhook (deleted).
const UNKNOWN_WEBHOOK: u64 = 10_015;
/// Discord's JSON error code: Invalid Webhook Token.
const INVALID_WEBHOOK_TOKEN: u64 = 50_027;

/// How deep to look for the first field error in `errors`.
const MAX_ERROR_DEPTH: usize = 32;

/// The longest `retry_after` believed (one day).
const MAX_RETRY_AFTER_SECS: f64 = 86_400.0;

/// A non-success answer as a classified error. `token` is scrubbed from anything Discord said.
pub(crate) fn classify(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    operation: Operation,
    token: &str,
) -> DeliveryError {
    let answer: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let message = answer
        .get("message")
        .and_then(Value::as_str)
        .map(one_line)
        .filter(|m| !m.is_empty());
    let code = answer.get("code").and_then(Value::as_u64);

    let mut detail = match (&message, code) {
        (Some(m), Some(c)) => format!("{m} (code {c})"),
        (Some(m), None) => m.clone(),
        (None, Some(c)) => format!("code {c}"),
        (None, None) => String::new(),
    };
    let mut add = |part: &str| {
        if !detail.is_empty() {
            detail.push_str(": ");
        }
        detail.push_str(part);
    };
    match (status, code) {
        (404, Some(UNKNOWN_WEBHOOK)) => {
            add("the webhook was deleted; stop using it and configure a new webhook URL")
        }
        (404, Some(UNKNOWN_MESSAGE)) if operation == Operation::Update => {
            add("the message was deleted, or was not sent by this webhook")
        }
        (404, Some(UNKNOWN_CHANNEL)) => {
            add("the thread does not exist (deleted, or not in the webhook's channel)")
        }
        (401, _) | (_, Some(INVALID_WEBHOOK_TOKEN)) => {
            add("the webhook token is wrong or was reset; configure the webhook URL again")
        }
        (429, _) if answer.get("global").and_then(Value::as_bool) == Some(true) => {
            add("global rate limit")
        }
        _ => {}
    }
    if let Some(field) = answer.get("errors").and_then(first_field_error) {
        add(&field);
    }
    let detail = scrub(&detail, token);

    let header_delay = stripe_chat_http::retry_after(headers);
    let retry = if status == 429 {
        body_retry_after(&answer).or(header_delay)
    } else {
        header_delay
    };
    stripe_chat_http::classify_status("discord", status, retry, &detail)
}

/// The `retry_after` of a 429 body: float seconds, kept to the millisecond (`1.234` → 1234 ms).
pub(crate) fn body_retry_after(answer: &Value) -> Option<Duration> {
    let seconds = answer.get("retry_after")?.as_f64()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    let millis = (seconds.min(MAX_RETRY_AFTER_SECS) * 1_000.0).round();
    // In range: at most one day of milliseconds.
    Some(Duration::from_millis(millis as u64))
}

/// The first field error of a 400's `errors` object, as `embeds[0].title: message (CODE)`.
fn first_field_error(errors: &Value) -> Option<String> {
    let mut path = String::new();
    find_field_error(errors, &mut path, 0)
}

fn find_field_error(value: &Value, path: &mut String, depth: usize) -> Option<String> {
    if depth > MAX_ERROR_DEPTH {
        return None;
    }
    let object = value.as_object()?;
    if let Some(first) = object
        .get("_errors")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        let message = first
            .get("message")
            .and_then(Value::as_str)
            .map(one_line)
            .unwrap_or_default();
        let code = first.get("code").and_then(Value::as_str).map(one_line);
        let at = if path.is_empty() { "body" } else { path };
        return Some(match code {
            Some(code) => format!("{at}: {message} ({code})"),
            None => format!("{at}: {message}"),
        });
    }
    for (key, inner) in object {
        let len = path.len();
        if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
            path.push('[');
            path.push_str(key);
            path.push(']');
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&one_line(key));
        }
        if let Some(found) = find_field_error(inner, path, depth + 1) {
            return Some(found);
        }
        path.truncate(len);
    }
    None
}

/// `text` on one line, without control characters, at most 200 characters.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// `text` with every occurrence of `token` replaced.
pub(crate) fn scrub(text: &str, token: &str) -> String {
    if token.is_empty() {
        text.to_owned()
    } else {
        text.replace(token, "**redacted**")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use stripe_chat_message::ErrorKind;

    use super::*;

    fn answer(status: u16, body: Value, operation: Operation) -> DeliveryError {
        classify(
            status,
            &HeaderMap::new(),
            body.to_string().as_bytes(),
            operation,
            "SECRETTOKEN",
        )
    }

    #[test]
    fn float_retry_after_is_kept_to_the_millisecond() {
        let e = answer(
            429,
            json!({"message": "You are being rate limited.", "retry_after": 1.234, "global": false}),
            Operation::Send,
        );
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), Some(Duration::from_millis(1234)));
        assert!(!e.message().contains("global"), "{e}");
    }

    #[test]
    fn body_retry_after_wins_over_the_header() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "2".parse().unwrap());
        let body =
            json!({"message": "You are being rate limited.", "retry_after": 0.5, "global": true});
        let e = classify(
            429,
            &headers,
            body.to_string().as_bytes(),
            Operation::Send,
            "SECRETTOKEN",
        );
        assert_eq!(e.retry_after(), Some(Duration::from_millis(500)));
        assert!(e.message().contains("global rate limit"), "{e}");
    }

    #[test]
    fn a_429_without_a_body_waits_as_the_header_says_or_one_second() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "3".parse().unwrap());
        let e = classify(
            429,
            &headers,
            b"<html>banned</html>",
            Operation::Send,
            "SECRETTOKEN",
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        let e = classify(429, &HeaderMap::new(), b"", Operation::Send, "SECRETTOKEN");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn nonsense_retry_after_falls_back_to_the_default() {
        for value in [json!(-1.0), json!("soon"), json!(null)] {
            let e = answer(429, json!({"retry_after": value}), Operation::Send);
            assert_eq!(e.retry_after(), Some(Duration::from_secs(1)), "{value}");
        }
        let e = answer(429, json!({"retry_after": 1e300}), Operation::Send);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(86_400)));
    }

    #[test]
    fn invalid_form_body_names_the_first_field_error() {
        let e = answer(
            400,
            json!({
                "message": "Invalid Form Body",
                "code": 50035,
                "errors": {"embeds": {"0": {"title": {"_errors": [
                    {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}
                ]}}}}
            }),
            Operation::Send,
        );
        assert_eq!(e.kind(), ErrorKind::Permanent);
        assert_eq!(e.status(), Some(400));
        assert_eq!(
            e.message(),
            "discord answered HTTP 400: Invalid Form Body (code 50035): \
             embeds[0].title: Must be 256 or fewer in length. (BASE_TYPE_MAX_LENGTH)"
        );
    }

    #[test]
    fn unknown_message_on_update_says_the_message_is_gone() {
        let e = answer(
            404,
            json!({"message": "Unknown Message", "code": 10008}),
            Operation::Update,
        );
        assert_eq!(e.kind(), ErrorKind::Permanent);
        assert!(e.message().contains("the message was deleted"), "{e}");
    }

    #[test]
    fn invalid_webhook_token_is_unauthorized_and_says_what_to_fix() {
        let e = answer(
            401,
            json!({"message": "Invalid Webhook Token", "code": 50027}),
            Operation::Send,
        );
        assert_eq!(e.kind(), ErrorKind::Unauthorized);
        assert!(
            e.message().contains("Invalid Webhook Token (code 50027)"),
            "{e}"
        );
    }

    #[test]
    fn the_token_is_scrubbed_from_anything_discord_says() {
        let e = answer(
            400,
            json!({"message": "bad SECRETTOKEN", "errors": {"SECRETTOKEN": {"_errors": [{"message": "SECRETTOKEN"}]}}}),
            Operation::Send,
        );
        assert!(!e.to_string().contains("SECRETTOKEN"), "{e}");
    }

    #[test]
    fn server_errors_are_transient() {
        let e = answer(502, json!({"message": "Bad Gateway"}), Operation::Update);
        assert_eq!(e.kind(), ErrorKind::Transient);
    }
}

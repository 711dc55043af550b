//! How the homeserver's error answers become classified [`DeliveryError`]s.
//!
//! The classification of answers is tabled in the crate docs. The error's message names the HTTP
//! status, the `errcode` and the server's own `error` text; it never holds the access token or a
//! URL.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::Deserialize;
use stripe_chat_http::{DEFAULT_RATE_LIMIT_DELAY, classify_status};
use stripe_chat_message::DeliveryError;

/// The Matrix standard error response.
#[derive(Debug, Default, Deserialize)]
struct MatrixErrorBody {
    #[serde(default)]
    errcode: Option<String>,
    #[serde(default)]
    error: Option<String>,
    /// Deprecated by the spec in favour of the `Retry-After` header, still sent by Synapse.
    #[serde(default)]
    retry_after_ms: Option<u64>,
}

/// `errcode`s that mean the access token or its user cannot post here: fix the configuration.
const UNAUTHORIZED_ERRCODES: &[&str] = &[
    "M_UNKNOWN_TOKEN",
    "M_MISSING_TOKEN",
    "M_FORBIDDEN",
    "M_USER_DEACTIVATED",
    "M_USER_LOCKED",
    "M_USER_SUSPENDED",
];

/// A non-success answer of the homeserver as a classified error (see the module docs).
pub(crate) fn classify(status: u16, headers: &HeaderMap, body: &[u8]) -> DeliveryError {
    let parsed: MatrixErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let errcode = parsed.errcode.as_deref().filter(|code| is_errcode(code));
    let detail = match (errcode, parsed.error.as_deref().map(str::trim)) {
        (Some(code), Some(text)) if !text.is_empty() => format!("{code}: {text}"),
        (Some(code), _) => code.to_owned(),
        (None, _) => String::new(),
    };
    let header_delay = stripe_chat_http::retry_after(headers);

    if status == 429 || errcode == Some("M_LIMIT_EXCEEDED") {
        // The spec (v1.10) made the header the way to say it; the body's field is older. Take
        // the header when present.
        let delay = header_delay
            .or(parsed.retry_after_ms.map(Duration::from_millis))
            .unwrap_or(DEFAULT_RATE_LIMIT_DELAY);
        let message = classify_status("matrix", status, None, &detail)
            .message()
            .to_owned();
        return DeliveryError::rate_limited(delay, message).with_status(status);
    }
    if errcode.is_some_and(|code| UNAUTHORIZED_ERRCODES.contains(&code)) {
        let message = classify_status("matrix", status, None, &detail)
            .message()
            .to_owned();
        return DeliveryError::unauthorized(message).with_status(status);
    }
    classify_status("matrix", status, header_delay, &detail)
}

/// Whether `code` looks like a Matrix `errcode` (`M_FORBIDDEN`, `ORG.EXAMPLE.CUSTOM`), so that
/// nothing else from a body (an HTML page from a proxy) makes its way into a message.
fn is_errcode(code: &str) -> bool {
    (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use stripe_chat_message::ErrorKind;

    fn answer(status: u16, retry_after: Option<&str>, body: &str) -> DeliveryError {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert(
                "retry-after",
                value.parse().expect("a valid header in the test"),
            );
        }
        classify(status, &headers, body.as_bytes())
    }

    #[test]
    fn limit_exceeded_waits_for_the_header_before_the_body() {
        let body =
            r#"{"errcode":"M_LIMIT_EXCEEDED","error":"Too Many Requests","retry_after_ms":4423}"#;
        let error = answer(429, Some("5"), body);
        assert_eq!(error.kind(), ErrorKind::RateLimited);
        assert_eq!(error.retry_after(), Some(Duration::from_secs(5)));
        assert_eq!(error.status(), Some(429));
        assert_eq!(
            error.message(),
            "matrix answered HTTP 429: M_LIMIT_EXCEEDED: Too Many Requests"
        );
    }

    #[test]
    fn limit_exceeded_without_the_header_waits_as_the_body_says() {
        let body = r#"{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":1500}"#;
        assert_eq!(
            answer(429, None, body).retry_after(),
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn limit_exceeded_saying_nothing_waits_one_second() {
        let error = answer(429, None, "");
        assert_eq!(error.kind(), ErrorKind::RateLimited);
        assert_eq!(error.retry_after(), Some(DEFAULT_RATE_LIMIT_DELAY));
    }

    #[test]
    fn limit_exceeded_is_rate_limiting_whatever_the_status() {
        let error = answer(
            400,
            None,
            r#"{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":200}"#,
        );
        assert_eq!(error.kind(), ErrorKind::RateLimited);
        assert_eq!(error.retry_after(), Some(Duration::from_millis(200)));
    }

    #[test]
    fn token_and_permission_errors_are_unauthorized() {
        for (status, code) in [
            (401, "M_UNKNOWN_TOKEN"),
            (401, "M_MISSING_TOKEN"),
            (403, "M_FORBIDDEN"),
            (403, "M_USER_DEACTIVATED"),
            (400, "M_FORBIDDEN"),
        ] {
            let body = format!(r#"{{"errcode":"{code}","error":"no"}}"#);
            let error = answer(status, None, &body);
            assert_eq!(error.kind(), ErrorKind::Unauthorized, "{status} {code}");
            assert!(error.message().contains(code), "{error}");
        }
        assert_eq!(answer(403, None, "").kind(), ErrorKind::Unauthorized);
    }

    #[test]
    fn other_client_errors_are_permanent_and_name_the_errcode() {
        for (status, code) in [
            (404, "M_NOT_FOUND"),
            (400, "M_BAD_JSON"),
            (400, "M_NOT_JSON"),
            (413, "M_TOO_LARGE"),
        ] {
            let error = answer(status, None, &format!(r#"{{"errcode":"{code}"}}"#));
            assert_eq!(error.kind(), ErrorKind::Permanent, "{status} {code}");
            assert_eq!(
                error.message(),
                format!("matrix answered HTTP {status}: {code}")
            );
        }
    }

    #[test]
    fn server_errors_are_transient() {
        assert_eq!(
            answer(502, None, "<html>Bad gateway</html>").kind(),
            ErrorKind::Transient
        );
        assert_eq!(
            answer(
                500,
                None,
                r#"{"errcode":"M_UNKNOWN","error":"Internal server error"}"#
            )
            .kind(),
            ErrorKind::Transient
        );
    }

    #[test]
    fn bodies_that_are_not_matrix_errors_stay_out_of_the_message() {
        let error = answer(
            400,
            None,
            r#"{"errcode":"<script>alert(1)</script>","error":"x"}"#,
        );
        assert_eq!(error.message(), "matrix answered HTTP 400");
        let error = answer(404, None, "<html>not found</html>");
        assert_eq!(error.message(), "matrix answered HTTP 404");
    }
}

//! One error for every failed call to Stripe, classified, never showing the API key.

use std::time::Duration;

use stripe::StripeError;
use stripe_chat_message::{ErrorKind, Secret};
use stripe_shared::ApiErrorsType;

/// Longest part of Stripe's message kept in an [`ApiError`], in characters.
const MAX_DETAIL_CHARS: usize = 300;

/// A failed call to Stripe's API, classified by [`ApiError::kind`]:
///
/// | kind | when | what to do |
/// |---|---|---|
/// | `unauthorized` | 401, 403: the key is wrong, revoked, or may not do this | fix the key |
/// | `rate_limited` | 429 | wait, then try again |
/// | `transient` | 409, 424, 5xx, a timeout, a connection failure, an error page that is not Stripe's | try again later |
/// | `permanent` | any other refusal (400 invalid request, 402 card declined, 404), an answer that cannot be read, an invalid client | trying again fails the same way |
///
/// The message says what failed in words, with Stripe's error type and code; it never contains
/// the API key (Stripe's message of a refused key quotes part of it, so it is left out; any
/// key-like token elsewhere is masked).
///
/// ```
/// use stripe_chat_message::ErrorKind;
/// let e = stripe_chat_stripe::ApiError::new(ErrorKind::Transient, Some(503), None, "Stripe answered 503 (api_error)");
/// assert!(e.kind().is_retryable());
/// assert_eq!(e.status(), Some(503));
/// assert_eq!(e.to_string(), "transient: Stripe answered 503 (api_error)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ApiError {
    kind: ErrorKind,
    status: Option<u16>,
    code: Option<String>,
    message: String,
    /// What Stripe said beyond the status, when it answered with an error.
    said: Option<Box<Said>>,
    timed_out: bool,
}

/// The parts of Stripe's error beyond its status and code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Said {
    error_type: Option<String>,
    decline_code: Option<String>,
    request_id: Option<String>,
    stripe_message: Option<String>,
}

impl ApiError {
    /// An error of `kind`, with the HTTP status and Stripe's error code when there are some.
    /// `message` must not contain a secret.
    ///
    /// ```
    /// use stripe_chat_message::ErrorKind;
    /// let e = stripe_chat_stripe::ApiError::new(ErrorKind::Permanent, Some(402), Some("card_declined".into()), "declined");
    /// assert_eq!(e.code(), Some("card_declined"));
    /// ```
    pub fn new(
        kind: ErrorKind,
        status: Option<u16>,
        code: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            kind,
            status,
            code,
            message: message.into(),
            said: None,
            timed_out: false,
        }
    }

    pub(crate) fn permanent(message: impl Into<String>) -> Self {
        ApiError::new(ErrorKind::Permanent, None, None, message)
    }

    /// What kind of failure: what to do next.
    ///
    /// ```
    /// use stripe_chat_message::ErrorKind;
    /// let e = stripe_chat_stripe::ApiError::new(ErrorKind::Unauthorized, Some(401), None, "refused");
    /// assert_eq!(e.kind(), ErrorKind::Unauthorized);
    /// assert!(!e.kind().is_retryable());
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status Stripe answered, when it answered.
    ///
    /// ```
    /// use stripe_chat_message::ErrorKind;
    /// assert_eq!(stripe_chat_stripe::ApiError::new(ErrorKind::Transient, None, None, "timeout").status(), None);
    /// ```
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// Stripe's error code (`api_key_expired`, `card_declined`, `resource_missing`, …), when it
    /// gave one.
    ///
    /// ```
    /// use stripe_chat_message::ErrorKind;
    /// assert_eq!(stripe_chat_stripe::ApiError::new(ErrorKind::Permanent, Some(404), None, "gone").code(), None);
    /// ```
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Stripe's error type (`card_error`, `invalid_request_error`, `idempotency_error`,
    /// `api_error`), when Stripe answered with an error.
    ///
    /// ```
    /// use stripe_chat_message::ErrorKind;
    /// assert_eq!(stripe_chat_stripe::ApiError::new(ErrorKind::Permanent, Some(400), None, "bad").error_type(), None);
    /// ```
    pub fn error_type(&self) -> Option<&str> {
        self.said.as_ref()?.error_type.as_deref()
    }

    /// The card issuer's reason for a decline (`insufficient_funds`, `lost_card`, …), when
    /// Stripe gave one; [`decline_reason`](crate::decline_reason) says it in words.
    ///
    /// ```
    /// use stripe_chat_message::ErrorKind;
    /// assert_eq!(stripe_chat_stripe::ApiError::new(ErrorKind::Permanent, Some(402), None, "declined").decline_code(), None);
    /// ```
    pub fn decline_code(&self) -> Option<&str> {
        self.said.as_ref()?.decline_code.as_deref()
    }

    /// The id of Stripe's log of the failed request (`req_…`, from the error's
    /// `request_log_url`), for the audit and for Stripe's support.
    ///
    /// ```
    /// use stripe_chat_message::ErrorKind;
    /// assert_eq!(stripe_chat_stripe::ApiError::new(ErrorKind::Transient, Some(503), None, "down").request_id(), None);
    /// ```
    pub fn request_id(&self) -> Option<&str> {
        self.said.as_ref()?.request_id.as_deref()
    }

    /// Stripe's own sentence about the error (`"Invoice is already paid"`), with any key-like
    /// token masked and cut at 300 characters; never kept for a refused key (401, 403).
    ///
    /// ```
    /// use stripe_chat_message::ErrorKind;
    /// assert_eq!(stripe_chat_stripe::ApiError::new(ErrorKind::Permanent, Some(400), None, "bad").stripe_message(), None);
    /// ```
    pub fn stripe_message(&self) -> Option<&str> {
        self.said.as_ref()?.stripe_message.as_deref()
    }

    /// Whether the last attempt got no answer within the client's timeout: a write may then
    /// have happened or not.
    ///
    /// ```
    /// use stripe_chat_message::ErrorKind;
    /// assert!(!stripe_chat_stripe::ApiError::new(ErrorKind::Transient, None, None, "no route").timed_out());
    /// ```
    pub fn timed_out(&self) -> bool {
        self.timed_out
    }

    /// What failed, in words (no secret in it).
    ///
    /// ```
    /// use stripe_chat_message::ErrorKind;
    /// assert_eq!(stripe_chat_stripe::ApiError::new(ErrorKind::Permanent, None, None, "bad").message(), "bad");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Classifies an async-stripe error, keeping `api_key` out of the message.
    pub(crate) fn from_stripe(error: StripeError, api_key: &Secret, timeout: Duration) -> Self {
        match error {
            StripeError::Stripe(api, status) => {
                let error_type = Some(api.type_.as_str().to_owned()).filter(|t| !t.is_empty());
                let decline_code = api.decline_code.clone().filter(|c| !c.is_empty());
                let request_id = api.request_log_url.as_deref().and_then(request_id_in);
                let code = api
                    .code
                    .as_ref()
                    .map(|c| c.as_str().to_owned())
                    .filter(|c| !c.is_empty());
                let mut what = api.type_.as_str().to_owned();
                if let Some(code) = &code {
                    what.push('/');
                    what.push_str(code);
                }
                if matches!(status, 401 | 403) {
                    // Stripe's message quotes part of the key: leave it out.
                    let hint = if status == 403 {
                        "the key may not do this"
                    } else {
                        "check the key"
                    };
                    return ApiError {
                        said: Some(Box::new(Said {
                            error_type,
                            request_id,
                            ..Said::default()
                        })),
                        ..ApiError::new(
                            ErrorKind::Unauthorized,
                            Some(status),
                            code,
                            format!("Stripe refused the API key (HTTP {status}, {what}): {hint}"),
                        )
                    };
                }
                let stripe_message = api
                    .message
                    .as_deref()
                    .map(|m| scrub(m, api_key))
                    .filter(|m| !m.trim().is_empty());
                let said = stripe_message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                let message = format!("Stripe answered {status} ({what}){said}");
                let kind = match status {
                    // The same key with other parameters: trying again fails the same way.
                    _ if matches!(api.type_, ApiErrorsType::IdempotencyError) => {
                        ErrorKind::Permanent
                    }
                    429 => ErrorKind::RateLimited,
                    409 | 424 | 500..=599 => ErrorKind::Transient,
                    _ => ErrorKind::Permanent,
                };
                ApiError {
                    said: Some(Box::new(Said {
                        error_type,
                        decline_code,
                        request_id,
                        stripe_message,
                    })),
                    ..ApiError::new(kind, Some(status), code, message)
                }
            }
            StripeError::Timeout => ApiError {
                timed_out: true,
                ..ApiError::new(
                    ErrorKind::Transient,
                    None,
                    None,
                    format!("no answer from Stripe within {} s", timeout.as_secs_f64()),
                )
            },
            StripeError::ClientError(reason) => ApiError::new(
                ErrorKind::Transient,
                None,
                None,
                format!("cannot reach Stripe: {}", scrub(&reason, api_key)),
            ),
            // The client decodes a body only for an error status (the answers of successful
            // requests are returned undecoded, see `RawAnswer`): an error page that is not a
            // Stripe error, from a proxy or a gateway.
            StripeError::JSONDeserialize(reason) => ApiError::new(
                ErrorKind::Transient,
                None,
                None,
                format!(
                    "Stripe answered an error without a readable Stripe error ({})",
                    scrub(&reason, api_key)
                ),
            ),
            StripeError::ConfigError(reason) => ApiError::permanent(format!(
                "invalid Stripe client configuration: {}",
                scrub(&reason, api_key)
            )),
        }
    }
}

/// The `req_…` id in a `request_log_url` (`https://dashboard.stripe.com/test/logs/req_…?t=…`).
fn request_id_in(url: &str) -> Option<String> {
    let at = url.find("req_")?;
    let id: String = url[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    (id.len() > "req_".len()).then_some(id)
}

/// `text` without the API key, with any key-like token masked, at most [`MAX_DETAIL_CHARS`].
pub(crate) fn scrub(text: &str, api_key: &Secret) -> String {
    const KEY_PREFIXES: [&str; 4] = ["sk_live_", "sk_test_", "rk_live_", "rk_test_"];
    let key = api_key.expose();
    let text = if key.is_empty() {
        text.to_owned()
    } else {
        text.replace(key, "**redacted**")
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = KEY_PREFIXES.iter().filter_map(|p| rest.find(p)).min() {
        out.push_str(&rest[..at]);
        let token = &rest[at..];
        let end = token
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '*'))
            .unwrap_or(token.len());
        out.push_str("**redacted**");
        rest = &token[end..];
    }
    out.push_str(rest);
    if out.chars().count() > MAX_DETAIL_CHARS {
        out = out.chars().take(MAX_DETAIL_CHARS).collect::<String>() + "…";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_id_is_read_from_the_request_log_url() {
        assert_eq!(
            request_id_in("https://dashboard.stripe.com/test/logs/req_8aRm3uXyz1?t=1700000000")
                .as_deref(),
            Some("req_8aRm3uXyz1")
        );
        assert_eq!(
            request_id_in("https://dashboard.stripe.com/logs/req_"),
            None
        );
        assert_eq!(request_id_in("https://example.com/"), None);
    }

    #[test]
    fn the_key_and_key_like_tokens_are_masked_and_long_messages_cut() {
        let key = Secret::new("sk_test_51Secret");
        let text = scrub(
            "key sk_test_51Secret, another rk_live_abc123 and sk_live_***xyz end",
            &key,
        );
        assert_eq!(
            text,
            "key **redacted**, another **redacted** and **redacted** end"
        );
        let long = scrub(&"x".repeat(1000), &key);
        assert_eq!(long.chars().count(), MAX_DETAIL_CHARS + 1);
    }
}

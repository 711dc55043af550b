//! HTTP plumbing shared by stripe-chat's chat adapters.
//!
//! - [`client`]: a `reqwest` client (rustls, no system OpenSSL) with connect and request timeouts.
//! - [`retry_after`]: the delay a `Retry-After` header asks for (seconds, fractional seconds, or an
//!   HTTP date).
//! - [`classify_status`]: a non-success HTTP status as a [`DeliveryError`] of the right kind
//!   (401/403 unauthorized, 408/425/429/5xx retryable, other 4xx permanent).
//! - [`from_reqwest`]: a transport error (timeout, connection refused, ...) as a transient
//!   [`DeliveryError`], with the request URL removed, since webhook URLs carry their keys.
//!
//! ```
//! use std::time::Duration;
//! use stripe_chat_http::{classify_status, retry_after};
//! use stripe_chat_message::ErrorKind;
//!
//! let mut headers = reqwest::header::HeaderMap::new();
//! headers.insert("retry-after", "2".parse().unwrap());
//! let error = classify_status("discord", 429, retry_after(&headers), "rate limited");
//! assert_eq!(error.kind(), ErrorKind::RateLimited);
//! assert_eq!(error.retry_after(), Some(Duration::from_secs(2)));
//! ```
#![forbid(unsafe_code)]

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use stripe_chat_message::{DeliveryError, ErrorKind};

/// Default time allowed to connect.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Default time allowed for a whole request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Delay assumed when a platform answers 429 without saying how long to wait.
pub const DEFAULT_RATE_LIMIT_DELAY: Duration = Duration::from_secs(1);

/// A client with rustls, the given request timeout and [`CONNECT_TIMEOUT`].
///
/// ```
/// let client = stripe_chat_http::client(std::time::Duration::from_secs(10))?;
/// # let _ = client;
/// # Ok::<(), stripe_chat_message::DeliveryError>(())
/// ```
pub fn client(timeout: Duration) -> Result<reqwest::Client, DeliveryError> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .user_agent(concat!("stripe-chat/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            DeliveryError::permanent(format!("cannot build the HTTP client: {}", e.without_url()))
        })
}

/// The delay asked for by a `Retry-After` header: whole or fractional seconds, or an HTTP date.
///
/// ```
/// use std::time::Duration;
/// let mut h = reqwest::header::HeaderMap::new();
/// h.insert("retry-after", "1.25".parse().unwrap());
/// assert_eq!(stripe_chat_http::retry_after(&h), Some(Duration::from_millis(1250)));
/// h.insert("retry-after", "soon".parse().unwrap());
/// assert_eq!(stripe_chat_http::retry_after(&h), None);
/// ```
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(86_400.0)));
    }
    let at = httpdate_to_system_time(value)?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// A non-success HTTP answer as a classified error. `detail` is the platform's own error text or
/// code (never a URL or a token).
///
/// ```
/// use stripe_chat_message::ErrorKind;
/// use stripe_chat_http::classify_status;
/// assert_eq!(classify_status("matrix", 503, None, "").kind(), ErrorKind::Transient);
/// assert_eq!(classify_status("matrix", 403, None, "M_FORBIDDEN").kind(), ErrorKind::Unauthorized);
/// assert_eq!(classify_status("matrix", 400, None, "M_BAD_JSON").kind(), ErrorKind::Permanent);
/// assert_eq!(classify_status("matrix", 429, None, "").retry_after(), Some(stripe_chat_http::DEFAULT_RATE_LIMIT_DELAY));
/// ```
pub fn classify_status(
    platform: &str,
    status: u16,
    retry_after: Option<Duration>,
    detail: &str,
) -> DeliveryError {
    let detail = detail.trim();
    let message = if detail.is_empty() {
        format!("{platform} answered HTTP {status}")
    } else {
        format!(
            "{platform} answered HTTP {status}: {}",
            truncate(detail, 300)
        )
    };
    let error = match status {
        429 => {
            DeliveryError::rate_limited(retry_after.unwrap_or(DEFAULT_RATE_LIMIT_DELAY), message)
        }
        401 | 403 => DeliveryError::unauthorized(message),
        408 | 425 | 500..=599 => match retry_after {
            Some(after) => DeliveryError::rate_limited(after, message),
            None => DeliveryError::new(ErrorKind::Transient, message),
        },
        _ => DeliveryError::permanent(message),
    };
    error.with_status(status)
}

/// A transport error as a transient [`DeliveryError`] (timeouts, refused or reset connections,
/// TLS failures), or permanent when the request itself could not be built. The URL is removed.
///
/// ```
/// # tokio_test::block_on(async {
/// let client = stripe_chat_http::client(std::time::Duration::from_millis(200)).unwrap();
/// let err = client.get("http://127.0.0.1:9/hooks/secret-token").send().await.unwrap_err();
/// let error = stripe_chat_http::from_reqwest("webhook", err);
/// assert!(error.kind().is_retryable());
/// assert!(!error.to_string().contains("secret-token"));
/// # });
/// ```
pub fn from_reqwest(platform: &str, error: reqwest::Error) -> DeliveryError {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "could not read the answer"
    } else if error.is_builder() {
        return DeliveryError::permanent(format!("{platform}: invalid request"))
            .with_source(error.without_url());
    } else {
        "request failed"
    };
    DeliveryError::transient(format!("{platform}: {what}")).with_source(error.without_url())
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn httpdate_to_system_time(value: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as u64
        + 1;
    let year: i64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    // days_from_civil (Howard Hinnant), for years after 1970.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400) as u64;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe as i64 - 719_468;
    let secs = u64::try_from(days).ok()? * 86_400 + h * 3_600 + m * 60 + s;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_date_in_the_past_means_retry_now() {
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }

    #[test]
    fn http_dates_parse_to_the_right_instant() {
        let t = httpdate_to_system_time("Thu, 26 Nov 2026 21:25:00 GMT").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            1_795_728_300
        );
    }

    #[test]
    fn a_503_with_retry_after_waits_as_asked() {
        let e = classify_status("slack", 503, Some(Duration::from_secs(3)), "");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    }
}

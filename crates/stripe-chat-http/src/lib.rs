//! HTTP plumbing shared by stripe-chat's chat adapters.
//!
//! - [`client`]: a `reqwest` client (rustls, no system OpenSSL) with connect and request timeouts.
//! - [`Answer`]: a platform's answer read with a cap on its body ([`MAX_ANSWER_BYTES`] unless an
//!   adapter asks for less), so that a misbehaving or hostile endpoint cannot make the service
//!   allocate without bound.
//! - [`retry_after`]: the delay a `Retry-After` header asks for, in every form RFC 9110 allows:
//!   delay-seconds (fractional seconds too) or an HTTP date (IMF-fixdate, RFC 850, asctime).
//! - [`classify_status`]: a non-success HTTP status as a [`DeliveryError`] of the right kind
//!   (401/403 unauthorized, 408/425/429/5xx retryable, other 4xx permanent).
//! - [`from_reqwest`]: a transport error (timeout, connection refused, ...) as a transient
//!   [`DeliveryError`], with the request URL removed, since webhook URLs carry their keys.
//! - [`endpoint`]: a configured URL checked for where tokens may travel (`https`, or plain `http`
//!   only to a loopback host, no user information), as an [`Endpoint`] whose `Debug` shows its host
//!   alone.
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

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use reqwest::Url;
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

/// The most of a platform's answer [`Answer::read`] keeps unless told less: 1 MiB (Slack echoes
/// the message it posted, so answers can be tens of KB).
///
/// ```
/// assert_eq!(stripe_chat_http::MAX_ANSWER_BYTES, 1024 * 1024);
/// ```
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The longest delay a `Retry-After` is believed for: a day.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// A platform's answer: its status, its headers and the start of its body, read through a cap.
///
/// Every adapter reads answers through [`Answer::read`]: once the cap is reached, nothing more is
/// read (the connection is dropped), so an endpoint that answers with a body of any size costs
/// at most the cap. A body that could not be read whole (cut at the cap, or the connection
/// failed midway) is kept as far as it was read, and [`Answer::is_complete`] says so.
///
/// ```
/// use stripe_chat_http::Answer;
/// use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};
///
/// # tokio_test::block_on(async {
/// let platform = MockServer::start().await;
/// Mock::given(any())
///     .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3").set_body_string("x".repeat(100)))
///     .mount(&platform)
///     .await;
/// let response = reqwest::get(platform.uri()).await.unwrap();
/// let answer = Answer::read(response, 10).await;
/// assert_eq!(answer.status(), 429);
/// assert_eq!(answer.retry_after(), Some(std::time::Duration::from_secs(3)));
/// assert_eq!(answer.body(), b"xxxxxxxxxx");
/// assert!(!answer.is_complete());
/// # });
/// ```
#[derive(Debug)]
pub struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
    complete: bool,
}

impl Answer {
    /// Reads `response`: its status and headers, and at most `cap` bytes of its body. Never
    /// fails: a body that cannot be read is kept as far as it was read.
    ///
    /// ```
    /// # use stripe_chat_http::Answer;
    /// # use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};
    /// # tokio_test::block_on(async {
    /// # let platform = MockServer::start().await;
    /// # Mock::given(any()).respond_with(ResponseTemplate::new(200).set_body_string(r#"{"ok":true}"#)).mount(&platform).await;
    /// let answer = Answer::read(reqwest::get(platform.uri()).await.unwrap(), stripe_chat_http::MAX_ANSWER_BYTES).await;
    /// assert!(answer.is_success() && answer.is_complete());
    /// # });
    /// ```
    pub async fn read(mut response: reqwest::Response, cap: usize) -> Answer {
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let mut body = Vec::new();
        let complete = loop {
            if body.len() >= cap {
                // Whatever follows is never read: the connection goes with the response.
                break matches!(response.chunk().await, Ok(None));
            }
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = cap - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if chunk.len() > room {
                        break false;
                    }
                }
                Ok(None) => break true,
                Err(_) => break false,
            }
        };
        Answer {
            status,
            headers,
            body,
            complete,
        }
    }

    /// The HTTP status.
    ///
    /// ```
    /// # let answer = stripe_chat_http::Answer::from_parts(404, Default::default(), Vec::new());
    /// assert_eq!(answer.status(), 404);
    /// ```
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the status is 2xx.
    ///
    /// ```
    /// # let answer = stripe_chat_http::Answer::from_parts(202, Default::default(), Vec::new());
    /// assert!(answer.is_success());
    /// ```
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The answer's headers.
    ///
    /// ```
    /// # let answer = stripe_chat_http::Answer::from_parts(200, Default::default(), Vec::new());
    /// assert!(answer.headers().is_empty());
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The delay its `Retry-After` header asks for ([`retry_after`]).
    ///
    /// ```
    /// let mut headers = reqwest::header::HeaderMap::new();
    /// headers.insert("retry-after", "2".parse().unwrap());
    /// let answer = stripe_chat_http::Answer::from_parts(429, headers, Vec::new());
    /// assert_eq!(answer.retry_after(), Some(std::time::Duration::from_secs(2)));
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers)
    }

    /// The body, as far as it was read.
    ///
    /// ```
    /// # let answer = stripe_chat_http::Answer::from_parts(200, Default::default(), b"ok".to_vec());
    /// assert_eq!(answer.body(), b"ok");
    /// ```
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Whether the whole body was read (it was within the cap, and the connection held).
    ///
    /// ```
    /// # let answer = stripe_chat_http::Answer::from_parts(200, Default::default(), b"ok".to_vec());
    /// assert!(answer.is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// The body as JSON of type `T`, when it is whole and parses.
    ///
    /// ```
    /// let answer = stripe_chat_http::Answer::from_parts(200, Default::default(), br#"{"id":"n_42"}"#.to_vec());
    /// let json: serde_json::Value = answer.json().unwrap();
    /// assert_eq!(json["id"], "n_42");
    /// ```
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_slice(&self.body).ok()
    }

    /// An answer made of its parts (a whole body), for tests and for answers read otherwise.
    ///
    /// ```
    /// let answer = stripe_chat_http::Answer::from_parts(503, Default::default(), Vec::new());
    /// assert!(!answer.is_success());
    /// ```
    pub fn from_parts(status: u16, headers: HeaderMap, body: Vec<u8>) -> Self {
        Answer {
            status,
            headers,
            body,
            complete: true,
        }
    }
}

/// The delay a `Retry-After` header asks for, in any form RFC 9110 (§10.2.3) allows: a number of
/// seconds (fractions accepted), or an HTTP date in any of its three forms (IMF-fixdate
/// `Sun, 06 Nov 1994 08:49:37 GMT`, the obsolete RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT` and
/// asctime `Sun Nov  6 08:49:37 1994`). A date in the past means now; a delay is believed up to a
/// day. `None` when there is no header or it says nothing usable.
///
/// ```
/// use std::time::Duration;
/// let mut h = reqwest::header::HeaderMap::new();
/// h.insert("retry-after", "1.25".parse().unwrap());
/// assert_eq!(stripe_chat_http::retry_after(&h), Some(Duration::from_millis(1250)));
/// h.insert("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
/// assert_eq!(stripe_chat_http::retry_after(&h), Some(Duration::ZERO));
/// h.insert("retry-after", "soon".parse().unwrap());
/// assert_eq!(stripe_chat_http::retry_after(&h), None);
/// ```
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    retry_after_at(value, SystemTime::now())
}

/// The delay `value` asks for, seen at `now`.
fn retry_after_at(value: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(MAX_RETRY_AFTER.as_secs_f64())));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
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

/// A URL that [`endpoint`] accepted. Its `Debug` shows the host only: the path and query of an
/// endpoint often carry a key.
///
/// ```
/// let endpoint = stripe_chat_http::endpoint("https://hooks.example.com/w?sig=SECRET")?;
/// assert_eq!(endpoint.host(), "hooks.example.com");
/// assert_eq!(format!("{endpoint:?}"), r#"Endpoint { host: "hooks.example.com", .. }"#);
/// # Ok::<(), stripe_chat_http::EndpointError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: Url,
}

impl Endpoint {
    /// The host the URL names (a domain, an IP address, or an IPv6 address in brackets).
    ///
    /// ```
    /// let endpoint = stripe_chat_http::endpoint("http://[::1]:8080/")?;
    /// assert_eq!(endpoint.host(), "[::1]");
    /// # Ok::<(), stripe_chat_http::EndpointError>(())
    /// ```
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// The whole URL, as parsed (a trailing `/` is added to an empty path).
    ///
    /// ```
    /// let url = stripe_chat_http::endpoint("https://discord.com/api/v10")?.into_url();
    /// assert_eq!(url.path(), "/api/v10");
    /// let url = stripe_chat_http::endpoint("https://matrix.example.org")?.into_url();
    /// assert_eq!(url.as_str(), "https://matrix.example.org/");
    /// # Ok::<(), stripe_chat_http::EndpointError>(())
    /// ```
    pub fn into_url(self) -> Url {
        self.url
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("host", &self.host())
            .finish_non_exhaustive()
    }
}

/// Why [`endpoint`] refused a URL. The `Display` text says it without quoting the URL, for an
/// adapter to put after the name of the configuration key. Adapters that word it their own way
/// match every variant, so the enum is exhaustive on purpose.
///
/// ```
/// use stripe_chat_http::{EndpointError, endpoint};
/// assert_eq!(endpoint("http://hooks.example.com/w"), Err(EndpointError::PlainHttp));
/// assert_eq!(EndpointError::UserInfo.to_string(), "must not carry user information");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointError {
    /// Not an absolute URL.
    NotAUrl,
    /// The URL names no host. An `http(s)` URL that parses always names one, so this also means
    /// the URL is not `https`.
    NoHost,
    /// A scheme other than `https` (or `http`).
    NotHttps,
    /// Plain `http` to a host that is not a loopback address.
    PlainHttp,
    /// A user name or a password in the URL.
    UserInfo,
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndpointError::NotAUrl => "is not a URL",
            EndpointError::NoHost => "has no host",
            EndpointError::NotHttps => "must be an https URL",
            EndpointError::PlainHttp => "must be https (plain http only on a loopback address)",
            EndpointError::UserInfo => "must not carry user information",
        })
    }
}

impl std::error::Error for EndpointError {}

/// Checks a configured endpoint URL (an API base, a homeserver, a webhook) before any token is
/// sent to it: an absolute URL naming a host, `https` (plain `http` only to a loopback host:
/// `localhost`, `127.0.0.0/8`, `::1`, for tests and local relays), without user name or password.
/// Problems are reported in that order. The query and fragment are left to the caller, and `url`
/// is parsed as given (trim it first).
///
/// ```
/// use stripe_chat_http::{EndpointError, endpoint};
/// assert_eq!(endpoint("https://matrix.example.org")?.host(), "matrix.example.org");
/// assert_eq!(endpoint("http://localhost:8008")?.host(), "localhost");
/// assert_eq!(endpoint("http://127.0.0.1:8008")?.host(), "127.0.0.1");
/// assert_eq!(endpoint("matrix.example.org"), Err(EndpointError::NotAUrl));
/// assert_eq!(endpoint("mailto:ops@example.com"), Err(EndpointError::NoHost));
/// assert_eq!(endpoint("ftp://files.example.com"), Err(EndpointError::NotHttps));
/// assert_eq!(endpoint("http://matrix.example.org"), Err(EndpointError::PlainHttp));
/// assert_eq!(endpoint("https://bot:pw@matrix.example.org"), Err(EndpointError::UserInfo));
/// # Ok::<(), EndpointError>(())
/// ```
pub fn endpoint(url: &str) -> Result<Endpoint, EndpointError> {
    let url = Url::parse(url).map_err(|_| EndpointError::NotAUrl)?;
    let host = match url.host_str() {
        Some(host) if !host.is_empty() && !url.cannot_be_a_base() => host,
        _ => return Err(EndpointError::NoHost),
    };
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => return Err(EndpointError::PlainHttp),
        _ => return Err(EndpointError::NotHttps),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(EndpointError::UserInfo);
    }
    Ok(Endpoint { url })
}

/// Whether `host` (as a URL names it) is `localhost` or a loopback IP address.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn retry_after_accepts_every_form_rfc_9110_allows() {
        let now = at(NOW - 120);
        for value in [
            "120",
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                retry_after_at(value, now),
                Some(Duration::from_secs(120)),
                "{value}"
            );
        }
    }

    #[test]
    fn an_http_date_in_the_past_means_retry_now() {
        assert_eq!(
            retry_after_at("Sun, 06 Nov 1994 08:49:37 GMT", at(NOW + 1)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn fractional_seconds_are_kept_and_long_delays_capped_at_a_day() {
        assert_eq!(
            retry_after_at("0.5", at(NOW)),
            Some(Duration::from_millis(500))
        );
        assert_eq!(retry_after_at("999999999", at(NOW)), Some(MAX_RETRY_AFTER));
        assert_eq!(
            retry_after_at("Fri, 31 Dec 9999 23:59:59 GMT", at(NOW)),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn what_is_neither_seconds_nor_an_http_date_is_ignored() {
        for value in [
            "",
            "soon",
            "-1",
            "NaN",
            "inf",
            "Sun, 06 Nov 1994 08:49:37 UTC",
        ] {
            assert_eq!(retry_after_at(value, at(NOW)), None, "{value:?}");
        }
    }

    #[test]
    fn a_503_with_retry_after_waits_as_asked() {
        let e = classify_status("slack", 503, Some(Duration::from_secs(3)), "");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    }
}

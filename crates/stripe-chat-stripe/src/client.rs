//! The client: construction, attempts with timeouts, retries with backoff.

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use stripe::{ClientBuilder as StripeClientBuilder, StripeError};
use stripe_chat_message::{ErrorKind, Secret};
use stripe_client_core::{
    CustomizedStripeRequest, RequestStrategy, StripeClient, StripeMethod, StripeRequest,
};
use stripe_shared::AccountId;

use crate::error::{ApiError, scrub};
use crate::idempotency::IdempotencyKey;
use crate::limit::RateLimiter;

/// Where Stripe's API is, unless [`ClientBuilder::api_base`] says otherwise.
///
/// ```
/// assert_eq!(stripe_chat_stripe::STRIPE_API_BASE, "https://api.stripe.com/");
/// ```
pub const STRIPE_API_BASE: &str = "https://api.stripe.com/";

/// How a failed request is tried again: up to `attempts` tries in all, waiting
/// `initial_backoff`, then twice as long each time up to `max_backoff`, the upper half of each
/// wait randomised (so that many clients do not retry in step).
///
/// Only failures that may pass are retried (timeouts, connection failures, 409, 424, 429,
/// 5xx), and only requests that are safe to repeat: reads, and writes sent with an
/// [`IdempotencyKey`].
///
/// ```
/// use std::time::Duration;
/// use stripe_chat_stripe::Retry;
/// let retry = Retry::attempts(4);
/// assert_eq!(retry.attempts, 4);
/// assert_eq!(Retry::default().initial_backoff, Duration::from_millis(500));
/// assert_eq!(Retry::NONE.attempts, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retry {
    /// Tries in all, at least 1.
    pub attempts: u32,
    /// The wait before the second try.
    pub initial_backoff: Duration,
    /// The longest wait between tries.
    pub max_backoff: Duration,
}

impl Retry {
    /// One try, no retry.
    pub const NONE: Retry = Retry {
        attempts: 1,
        initial_backoff: Duration::from_millis(500),
        max_backoff: Duration::from_secs(5),
    };

    /// Up to `attempts` tries (at least one), with the default waits (0.5 s doubling up to 5 s,
    /// as Stripe's own libraries wait).
    ///
    /// ```
    /// assert_eq!(stripe_chat_stripe::Retry::attempts(0).attempts, 1);
    /// ```
    pub fn attempts(attempts: u32) -> Self {
        Retry {
            attempts: attempts.max(1),
            ..Retry::NONE
        }
    }

    /// The same policy with other waits.
    ///
    /// ```
    /// use std::time::Duration;
    /// let retry = stripe_chat_stripe::Retry::attempts(3).backoff(Duration::from_millis(10), Duration::from_millis(40));
    /// assert_eq!(retry.max_backoff, Duration::from_millis(40));
    /// ```
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The wait after failed try number `tried` (1 for the first).
    fn wait(&self, tried: u32) -> Duration {
        let doubled = self
            .initial_backoff
            .saturating_mul(1 << tried.saturating_sub(1).min(16));
        let ceiling = doubled.min(self.max_backoff);
        let half = ceiling / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

impl Default for Retry {
    /// Three tries.
    fn default() -> Self {
        Retry::attempts(3)
    }
}

/// Builds a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use stripe_chat_message::Secret;
/// let client = stripe_chat_stripe::Client::builder(Secret::new("sk_test_1"))
///     .api_base("http://127.0.0.1:12111")
///     .timeout(Duration::from_secs(5))
///     .build()?;
/// assert_eq!(client.base_url(), "http://127.0.0.1:12111/");
/// # Ok::<(), stripe_chat_stripe::ApiError>(())
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    api_key: Secret,
    api_base: Option<String>,
    timeout: Duration,
    retry: Retry,
    rate_limiter: Option<RateLimiter>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key)
            .field("api_base", &self.api_base)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("rate_limiter", &self.rate_limiter)
            .finish()
    }
}

impl ClientBuilder {
    /// Where Stripe's API is (a proxy, or a mock server in tests); default
    /// [`STRIPE_API_BASE`].
    ///
    /// ```
    /// # use stripe_chat_message::Secret;
    /// let builder = stripe_chat_stripe::Client::builder(Secret::new("sk_test_1")).api_base("http://127.0.0.1:12111");
    /// # let _ = builder;
    /// ```
    pub fn api_base(mut self, url: impl Into<String>) -> Self {
        self.api_base = Some(url.into());
        self
    }

    /// How long each HTTP attempt may take, answer included (default 30 s).
    ///
    /// ```
    /// # use stripe_chat_message::Secret;
    /// let client = stripe_chat_stripe::Client::builder(Secret::new("sk_test_1"))
    ///     .timeout(std::time::Duration::from_secs(10))
    ///     .build()?;
    /// assert_eq!(client.timeout().as_secs(), 10);
    /// # Ok::<(), stripe_chat_stripe::ApiError>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How failed requests are tried again (default [`Retry::default`]: three tries).
    ///
    /// ```
    /// # use stripe_chat_message::Secret;
    /// use stripe_chat_stripe::Retry;
    /// let client = stripe_chat_stripe::Client::builder(Secret::new("sk_test_1")).retry(Retry::NONE).build()?;
    /// assert_eq!(client.retry(), Retry::NONE);
    /// # Ok::<(), stripe_chat_stripe::ApiError>(())
    /// ```
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Paces every HTTP attempt with `limiter` (default: none). Clones of one [`RateLimiter`]
    /// share its pace, so clients given the same limiter stay within one budget together.
    ///
    /// ```
    /// # use stripe_chat_message::Secret;
    /// use stripe_chat_stripe::{Client, RateLimiter};
    /// let shared = RateLimiter::per_second(20.0);
    /// let reads = Client::builder(Secret::new("rk_test_1")).rate_limiter(shared.clone()).build()?;
    /// let actions = Client::builder(Secret::new("rk_test_1")).rate_limiter(shared).build()?;
    /// assert_eq!(reads.rate_limiter().map(|l| l.rate()), Some(20.0));
    /// # let _ = actions;
    /// # Ok::<(), stripe_chat_stripe::ApiError>(())
    /// ```
    pub fn rate_limiter(mut self, limiter: RateLimiter) -> Self {
        self.rate_limiter = Some(limiter);
        self
    }

    /// The client. Fails ([`ErrorKind::Permanent`]) when the key is empty or not printable
    /// ASCII, the API base is not an `http(s)` URL, or the timeout is zero.
    ///
    /// ```
    /// use stripe_chat_message::{ErrorKind, Secret};
    /// let err = stripe_chat_stripe::Client::builder(Secret::new("")).build().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Permanent);
    /// ```
    pub fn build(self) -> Result<Client, ApiError> {
        let ClientBuilder {
            api_key,
            api_base,
            timeout,
            retry,
            rate_limiter,
        } = self;
        if api_key.expose().trim().is_empty() {
            return Err(ApiError::permanent("the Stripe API key is empty"));
        }
        if timeout.is_zero() {
            return Err(ApiError::permanent(
                "the Stripe request timeout must be more than zero",
            ));
        }
        let mut base_url = api_base.unwrap_or_else(|| STRIPE_API_BASE.to_owned());
        if !base_url.starts_with("https://") && !base_url.starts_with("http://") {
            return Err(ApiError::permanent(format!(
                "the Stripe API base URL `{base_url}` is not an http(s) URL"
            )));
        }
        // async-stripe appends `v1/…` to the base as it is.
        if !base_url.ends_with('/') {
            base_url.push('/');
        }
        let inner = StripeClientBuilder::new(api_key.expose())
            .url(base_url.clone())
            .timeout(timeout)
            .app_info(
                "stripe-chat",
                Some(env!("CARGO_PKG_VERSION").to_owned()),
                None,
            )
            .build()
            .map_err(|e| {
                // Only the configuration is checked here (the key as a header value, the URL).
                let reason = match e {
                    StripeError::ClientError(reason) | StripeError::ConfigError(reason) => reason,
                    other => other.to_string(),
                };
                ApiError::permanent(format!(
                    "invalid Stripe client configuration: {}",
                    scrub(&reason, &api_key)
                ))
            })?;
        Ok(Client {
            inner,
            api_key,
            base_url,
            timeout,
            retry,
            rate_limiter,
        })
    }
}

/// A client for Stripe's API (see the [crate documentation](crate)). Cheap to share behind an
/// `Arc`; its `Debug` shows the API base, the timeout and the retry policy, never the key.
///
/// ```
/// use stripe_chat_message::Secret;
/// let client = stripe_chat_stripe::Client::builder(Secret::new("sk_test_4eC39HqLyjWDarjtT1zdp7dc")).build()?;
/// let shown = format!("{client:?}");
/// assert!(shown.contains("https://api.stripe.com/"));
/// assert!(!shown.contains("4eC39HqLyjWDarjtT1zdp7dc"));
/// # Ok::<(), stripe_chat_stripe::ApiError>(())
/// ```
pub struct Client {
    inner: stripe::Client,
    api_key: Secret,
    base_url: String,
    timeout: Duration,
    retry: Retry,
    rate_limiter: Option<RateLimiter>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api_key", &self.api_key)
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("rate_limiter", &self.rate_limiter)
            .finish()
    }
}

impl Client {
    /// A builder for a client authenticating with `api_key` (a secret `sk_…` key, or a
    /// restricted `rk_…` key allowed what the client will ask), with a 30 s timeout per
    /// attempt and three tries.
    ///
    /// ```
    /// # use stripe_chat_message::Secret;
    /// let client = stripe_chat_stripe::Client::builder(Secret::new("rk_test_1")).build()?;
    /// assert_eq!(client.timeout().as_secs(), 30);
    /// # Ok::<(), stripe_chat_stripe::ApiError>(())
    /// ```
    pub fn builder(api_key: Secret) -> ClientBuilder {
        ClientBuilder {
            api_key,
            api_base: None,
            timeout: Duration::from_secs(30),
            retry: Retry::default(),
            rate_limiter: None,
        }
    }

    /// The base URL requests go to (with a trailing `/`).
    ///
    /// ```
    /// # use stripe_chat_message::Secret;
    /// let client = stripe_chat_stripe::Client::builder(Secret::new("sk_test_1")).build()?;
    /// assert_eq!(client.base_url(), "https://api.stripe.com/");
    /// # Ok::<(), stripe_chat_stripe::ApiError>(())
    /// ```
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// How long each attempt may take.
    ///
    /// ```
    /// # use stripe_chat_message::Secret;
    /// let client = stripe_chat_stripe::Client::builder(Secret::new("sk_test_1")).build()?;
    /// assert_eq!(client.timeout(), std::time::Duration::from_secs(30));
    /// # Ok::<(), stripe_chat_stripe::ApiError>(())
    /// ```
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How failed requests are tried again.
    ///
    /// ```
    /// # use stripe_chat_message::Secret;
    /// let client = stripe_chat_stripe::Client::builder(Secret::new("sk_test_1")).build()?;
    /// assert_eq!(client.retry().attempts, 3);
    /// # Ok::<(), stripe_chat_stripe::ApiError>(())
    /// ```
    pub fn retry(&self) -> Retry {
        self.retry
    }

    /// The limiter pacing this client's attempts, when it has one.
    ///
    /// ```
    /// # use stripe_chat_message::Secret;
    /// let client = stripe_chat_stripe::Client::builder(Secret::new("sk_test_1")).build()?;
    /// assert!(client.rate_limiter().is_none());
    /// # Ok::<(), stripe_chat_stripe::ApiError>(())
    /// ```
    pub fn rate_limiter(&self) -> Option<&RateLimiter> {
        self.rate_limiter.as_ref()
    }

    /// Sends `request` and decodes Stripe's answer into its output type.
    ///
    /// A read (`GET`) is tried again as [`Retry`] allows. A write (`POST`, `DELETE`) is tried
    /// again only with `key`, which every attempt sends as its `Idempotency-Key`; without a key
    /// it is sent once, since a retry could do it twice.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use stripe_chat_message::Secret;
    /// # use wiremock::{Mock, MockServer, ResponseTemplate, matchers};
    /// # let stripe = MockServer::start().await;
    /// # Mock::given(matchers::path("/v1/events")).respond_with(ResponseTemplate::new(200)
    /// #     .set_body_string(r#"{"object":"list","data":[],"has_more":false,"url":"/v1/events"}"#)).mount(&stripe).await;
    /// let client = stripe_chat_stripe::Client::builder(Secret::new("rk_test_1")).api_base(stripe.uri()).build()?;
    /// let events = client.send(&stripe_core::event::ListEvent::new(), None).await?;
    /// assert!(events.data.is_empty() && !events.has_more);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send<R>(
        &self,
        request: &R,
        key: Option<&IdempotencyKey>,
    ) -> Result<R::Output, ApiError>
    where
        R: StripeRequest,
        R::Output: miniserde::Deserialize,
    {
        let body = self.send_raw(request, key).await?;
        let text = std::str::from_utf8(&body)
            .map_err(|_| ApiError::permanent("Stripe's answer is not UTF-8"))?;
        // The decoder's message could quote the answer: say what was expected, not what came.
        miniserde::json::from_str(text).map_err(|_| {
            ApiError::permanent(format!(
                "Stripe's answer to {} is not a {}",
                request.build().path,
                std::any::type_name::<R::Output>()
            ))
        })
    }

    /// Like [`Client::send`], returning Stripe's answer as it was sent, undecoded (to keep an
    /// object's JSON byte for byte, or to read it leniently).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use stripe_chat_message::Secret;
    /// # use wiremock::{Mock, MockServer, ResponseTemplate, matchers};
    /// # let stripe = MockServer::start().await;
    /// # Mock::given(matchers::path("/v1/events")).respond_with(ResponseTemplate::new(200)
    /// #     .set_body_string(r#"{"object":"list","data":[],"has_more":false,"url":"/v1/events"}"#)).mount(&stripe).await;
    /// let client = stripe_chat_stripe::Client::builder(Secret::new("rk_test_1")).api_base(stripe.uri()).build()?;
    /// let body = client.send_raw(&stripe_core::event::ListEvent::new(), None).await?;
    /// assert!(body.ends_with(b"\"url\":\"/v1/events\"}"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_raw<R: StripeRequest>(
        &self,
        request: &R,
        key: Option<&IdempotencyKey>,
    ) -> Result<Bytes, ApiError> {
        self.send_raw_on(request, key, None).await
    }

    /// Like [`Client::send_raw`], on behalf of the connected account `account` (`acct_…`):
    /// every attempt carries it as `Stripe-Account` (Connect: the platform's key acting on an
    /// object of a connected account). `None` acts on the key's own account. Fails
    /// ([`ErrorKind::Permanent`], nothing sent) when `account` is not an `acct_…` id.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use stripe_chat_message::Secret;
    /// # use wiremock::{Mock, MockServer, ResponseTemplate, matchers};
    /// # let stripe = MockServer::start().await;
    /// Mock::given(matchers::header("stripe-account", "acct_1Connected"))
    ///     .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"object":"list","data":[],"has_more":false,"url":"/v1/events"}"#))
    ///     .mount(&stripe).await;
    /// let client = stripe_chat_stripe::Client::builder(Secret::new("sk_test_platform")).api_base(stripe.uri()).build()?;
    /// let body = client.send_raw_on(&stripe_core::event::ListEvent::new(), None, Some("acct_1Connected")).await?;
    /// assert!(body.starts_with(b"{\"object\":\"list\""));
    /// assert!(client.send_raw_on(&stripe_core::event::ListEvent::new(), None, Some("../v2")).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_raw_on<R: StripeRequest>(
        &self,
        request: &R,
        key: Option<&IdempotencyKey>,
        account: Option<&str>,
    ) -> Result<Bytes, ApiError> {
        let account = match account {
            Some(account) if is_account_id(account) => Some(AccountId::from(account)),
            Some(_) => {
                return Err(ApiError::permanent(
                    "the connected account is not a Stripe account id (acct_…)",
                ));
            }
            None => None,
        };
        let read = matches!(request.build().method, StripeMethod::Get);
        let attempts = if read || key.is_some() {
            self.retry.attempts
        } else {
            1
        };
        let strategy = match key {
            Some(key) => RequestStrategy::Idempotent(
                stripe_client_core::IdempotencyKey::new(key.as_str())
                    .map_err(|e| ApiError::permanent(e.to_string()))?,
            ),
            None => RequestStrategy::Once,
        };
        let mut tried = 0;
        loop {
            tried += 1;
            match self
                .attempt(request, strategy.clone(), account.clone())
                .await
            {
                Ok(body) => return Ok(body),
                Err(e) if tried < attempts && e.kind().is_retryable() => {
                    let wait = self.retry.wait(tried);
                    tracing::debug!(
                        tried,
                        attempts,
                        kind = %e.kind(),
                        status = e.status(),
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "a Stripe request failed; trying it again"
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One HTTP attempt: the answer's body, or the classified failure.
    async fn attempt<R: StripeRequest>(
        &self,
        request: &R,
        strategy: RequestStrategy,
        account: Option<AccountId>,
    ) -> Result<Bytes, ApiError> {
        if let Some(limiter) = &self.rate_limiter {
            limiter.acquire().await;
        }
        let raw = RawAnswer {
            client: &self.inner,
            body: OnceLock::new(),
        };
        // Decoded as `()` from the `null` that `RawAnswer` hands back; the body itself is kept.
        let mut customized = request.build().customize::<()>().request_strategy(strategy);
        if let Some(account) = account {
            customized = customized.account_id(account);
        }
        customized
            .send(&raw)
            .await
            .map_err(|e| ApiError::from_stripe(e, &self.api_key, self.timeout))?;
        raw.body.into_inner().ok_or_else(|| {
            ApiError::new(
                ErrorKind::Permanent,
                None,
                None,
                "the Stripe client returned no answer",
            )
        })
    }
}

/// Whether `id` is a Stripe account id: `acct_` and letters or digits.
pub(crate) fn is_account_id(id: &str) -> bool {
    id.strip_prefix("acct_").is_some_and(|rest| {
        !rest.is_empty() && rest.len() <= 255 && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// async-stripe's client, keeping the answer's body instead of letting the request decode it.
///
/// A request built by async-stripe can only be sent through [`StripeClient::execute`] by way of
/// its `send`, which decodes the body into the request's output type. This client sends the
/// request with async-stripe's client, keeps the body, and hands `send` a `null` to decode as
/// `()`.
struct RawAnswer<'a> {
    client: &'a stripe::Client,
    body: OnceLock<Bytes>,
}

impl StripeClient for RawAnswer<'_> {
    type Err = StripeError;

    async fn execute(&self, request: CustomizedStripeRequest) -> Result<Bytes, StripeError> {
        let body = self.client.execute(request).await?;
        let _ = self.body.set(body);
        Ok(Bytes::from_static(b"null"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_ceiling_with_the_upper_half_randomised() {
        let retry =
            Retry::attempts(10).backoff(Duration::from_millis(100), Duration::from_millis(800));
        for _ in 0..100 {
            for (tried, ceiling) in [(1, 100), (2, 200), (3, 400), (4, 800), (9, 800)] {
                let wait = retry.wait(tried);
                let ceiling = Duration::from_millis(ceiling);
                assert!(wait >= ceiling / 2 && wait <= ceiling, "{tried}: {wait:?}");
            }
        }
    }
}

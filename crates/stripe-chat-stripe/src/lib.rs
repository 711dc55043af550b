//! stripe-chat's client for Stripe's API, over async-stripe: what backfill uses, and the Stripe
//! side of acting from chat.
//!
//! - [`Client`] (made by [`ClientBuilder`]): the API key, the API base (Stripe's, or a mock
//!   server in tests), a timeout on every HTTP attempt (async-stripe sets none by default) and a
//!   [`Retry`] policy: timeouts, connection failures, 409, 424, 429 and 5xx are tried again
//!   with exponential backoff and jitter.
//! - [`IdempotencyKey`]: a request that changes something in Stripe is retried only with a key,
//!   and keeps the same key on every attempt. async-stripe's own retry strategies send no key
//!   unless its `uuid` feature is on, and then a random one per call; a key derived from what
//!   the request is about ([`IdempotencyKey::derive`]) also holds across restarts of the
//!   process. Reads (`GET`) need none.
//! - [`RateLimiter`]: at most so many requests a second, shared by every client given the same
//!   limiter ([`ClientBuilder::rate_limiter`]): enrichment and chat actions stay within one
//!   budget below Stripe's read limits.
//! - [`ApiError`]: every failure, classified by [`ErrorKind`](stripe_chat_message::ErrorKind)
//!   (`unauthorized`, `rate_limited`, `transient`, `permanent`), with Stripe's status and error
//!   code. Neither it nor the client's `Debug` ever shows the API key; a key-like token in
//!   Stripe's message is masked.
//! - [`StripeOperations`]: the chat actions Stripe performs (`retry_payment`,
//!   `send_dunning_email`, `add_evidence`, `submit_evidence`, `mark_contacted`), as the
//!   [`Operations`](stripe_chat_actions::Operations) the actions engine calls: the object read
//!   fresh (amount, mode, customer, and whether the action is moot), then one request under the
//!   task's idempotency key; Stripe's errors become sentences ("declined: insufficient funds",
//!   [`decline_reason`]).
//! - [`Accounts`]: one API key per Stripe account (`[stripe.accounts.<acct_id>]`,
//!   [`AccountConfig`]); the event's account picks the key, and an account without one of its
//!   own is reached with the default key through Connect (`Stripe-Account`).
//!
//! Requests are async-stripe's request builders (`ListEvent`, `PayInvoice`, …): [`Client::send`]
//! decodes the answer into the request's typed output, [`Client::send_raw`] returns the
//! answer's bytes as Stripe sent them.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use stripe_chat_message::Secret;
//! use stripe_chat_stripe::{Client, Retry};
//! use wiremock::{Mock, MockServer, ResponseTemplate, matchers};
//!
//! let stripe = MockServer::start().await; // Stripe's API, played by a mock server
//! Mock::given(matchers::path("/v1/events"))
//!     .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"object":"list","data":[],"has_more":false,"url":"/v1/events"}"#))
//!     .mount(&stripe)
//!     .await;
//!
//! let client = Client::builder(Secret::new("rk_test_123"))
//!     .api_base(stripe.uri())
//!     .timeout(Duration::from_secs(10))
//!     .retry(Retry::attempts(3))
//!     .build()?;
//! let page = client.send_raw(&stripe_core::event::ListEvent::new().limit(100), None).await?;
//! assert!(page.starts_with(b"{\"object\":\"list\""));
//! assert!(!format!("{client:?}").contains("rk_test_123"));
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! None. async-stripe is built with its hyper client over rustls (ring, webpki roots) only,
//! with the request builders the actions use: `async-stripe-billing` with `invoice`,
//! `async-stripe-core` with `charge`, `customer` and `dispute`. Answers are read leniently as
//! JSON, so an object of another API version is read as well. A caller needing other requests
//! adds async-stripe's request crates with only the features it uses (`async-stripe-core` with
//! `event` for events, …).
#![forbid(unsafe_code)]

mod accounts;
mod client;
mod error;
mod failure;
mod idempotency;
mod limit;
mod operations;

pub use accounts::{AccountConfig, AccountConfigError, Accounts, Route};
pub use client::{Client, ClientBuilder, Retry, STRIPE_API_BASE};
pub use error::ApiError;
pub use failure::decline_reason;
pub use idempotency::{IdempotencyKey, InvalidIdempotencyKey};
pub use limit::RateLimiter;
pub use operations::{
    CONTACTED_AT_KEY, CONTACTED_BY_KEY, EVIDENCE_TEXT_FIELD, MAX_EVIDENCE_TEXT_CHARS,
    StripeOperations,
};

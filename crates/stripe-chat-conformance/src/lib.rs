//! The conformance suite every stripe-chat chat adapter passes.
//!
//! An adapter's tests describe how its platform answers ([`Platform`]); [`run`] then drives the
//! adapter against a real HTTP server (wiremock) and checks that:
//!
//! - a 2xx is delivered, with the [`MessageRef`] the platform's answer names, and the request's body
//!   and headers are exactly as the platform documents (the adapter's own [`Platform::check_send`]);
//! - a rate-limit answer is [`ErrorKind::RateLimited`] with the delay the platform asked for;
//! - 5xx, timeouts and refused connections are [`ErrorKind::Transient`];
//! - a rejected request is [`ErrorKind::Permanent`];
//! - 401 and 403 (or the platform's own "bad token") are [`ErrorKind::Unauthorized`];
//! - threads and updates work when [`Capabilities`] say so, and are refused as
//!   [`ErrorKind::Unsupported`] without a request when they do not;
//! - no secret appears in the adapter's `Debug`, nor in any error's `Display` or `Debug`;
//! - a 2xx whose body is 100 MB costs at most the cap of the shared reader
//!   (`stripe_chat_http::Answer`): the adapter stops reading, measured by a [`CountingProxy`]
//!   between it and the platform.
//!
//! ```no_run
//! use std::time::Duration;
//! use stripe_chat_conformance::{Platform, Route};
//! use stripe_chat_message::{ChatProvider, MessageRef};
//! use wiremock::{Request, ResponseTemplate};
//!
//! struct MyPlatform;
//! # #[derive(Debug)] struct MyAdapter;
//! # impl stripe_chat_message::Renderer for MyAdapter { fn platform(&self) -> &str { "mine" } fn render(&self, _: &stripe_chat_message::ChatMessage) -> Result<serde_json::Value, stripe_chat_message::RenderError> { Ok(serde_json::json!({})) } }
//! # #[stripe_chat_message::async_trait] impl ChatProvider for MyAdapter { fn capabilities(&self) -> stripe_chat_message::Capabilities { stripe_chat_message::Capabilities::SEND_ONLY } async fn send_raw(&self, _: serde_json::Value, _: Option<&MessageRef>, _: &stripe_chat_message::IdempotencyKey) -> Result<MessageRef, stripe_chat_message::DeliveryError> { unimplemented!() } }
//!
//! impl Platform for MyPlatform {
//!     type Provider = MyAdapter;
//!     fn provider(&self, base_url: &str) -> MyAdapter { MyAdapter }
//!     fn send_route(&self, _thread: Option<&MessageRef>) -> Route { Route::new("POST", "^/hooks/abc$") }
//!     fn delivered(&self) -> (ResponseTemplate, String) { (ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "m1"})), "m1".into()) }
//!     fn rate_limited(&self, delay: Duration) -> ResponseTemplate {
//!         ResponseTemplate::new(429).insert_header("retry-after", delay.as_secs().to_string())
//!     }
//!     fn secrets(&self) -> Vec<String> { vec!["abc".into()] }
//!     fn check_send(&self, request: &Request, _thread: Option<&MessageRef>) {
//!         assert_eq!(request.headers["content-type"], "application/json");
//!     }
//! }
//!
//! #[tokio::test]
//! async fn my_adapter_conforms() {
//!     stripe_chat_conformance::run(&MyPlatform).await;
//! }
//! ```
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use stripe_chat_message::{
    Action, ActionStyle, Capabilities, ChatMessage, ChatProvider, DeliveryError, ErrorKind,
    FieldKind, IdempotencyKey, MessageRef, ObjectKind, ObjectRef, Renderer, Severity, Source,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The body of the oversized answer: 100 MB.
pub const HUGE_ANSWER_BYTES: usize = 100 * 1024 * 1024;

/// The most an adapter may read of the oversized answer: the shared reader's cap (1 MiB), plus
/// what the operating system buffers on the way (the client's receive buffer grows to tens of MB
/// on Linux), far below the 100 MB an unbounded read costs.
pub const MAX_READ_OF_HUGE_ANSWER: u64 = 48 * 1024 * 1024;

/// A TCP proxy in front of a server, counting the bytes it passes from the server to the client:
/// what the client read (and what its operating system buffered for it). Stopped when dropped.
///
/// ```
/// use stripe_chat_conformance::CountingProxy;
/// use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let server = MockServer::start().await;
/// Mock::given(any()).respond_with(ResponseTemplate::new(200).set_body_string("hello")).mount(&server).await;
/// let proxy = CountingProxy::start(*server.address()).await.unwrap();
/// let body = reqwest::get(proxy.uri()).await.unwrap().text().await.unwrap();
/// assert_eq!(body, "hello");
/// assert!(proxy.bytes_to_client() > 5, "the status line and headers count too");
/// # });
/// ```
#[derive(Debug)]
pub struct CountingProxy {
    address: SocketAddr,
    to_client: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl CountingProxy {
    /// A proxy on a free loopback port, passing every connection on to `upstream`.
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let to_client = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&to_client);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream, Arc::clone(&counter)));
            }
        });
        Ok(CountingProxy {
            address,
            to_client,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The bytes passed from the server to the client so far.
    pub fn bytes_to_client(&self) -> u64 {
        self.to_client.load(Ordering::Relaxed)
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Passes one connection on, counting what goes to the client; ends when either side closes.
async fn relay(client: TcpStream, upstream: SocketAddr, to_client: Arc<AtomicU64>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = async {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    };
    let answers = async {
        let mut buffer = vec![0; 64 * 1024];
        loop {
            match server_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if client_write.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                    to_client.fetch_add(n as u64, Ordering::Relaxed);
                }
            }
        }
    };
    tokio::select! {
        () = requests => {}
        () = answers => {}
    }
}

/// An HTTP method and a path regex (matched against the request path, without the query).
///
/// ```
/// let r = stripe_chat_conformance::Route::new("PUT", "^/_matrix/client/v3/rooms/[^/]+/send/m.room.message/[^/]+$");
/// assert_eq!(r.method, "PUT");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `POST`, `PUT`, `PATCH`, ...
    pub method: String,
    /// A regex for the path.
    pub path_regex: String,
}

impl Route {
    /// A route.
    ///
    /// ```
    /// let r = stripe_chat_conformance::Route::new("POST", "^/api/chat.postMessage$");
    /// assert!(r.path_regex.starts_with('^'));
    /// ```
    pub fn new(method: impl Into<String>, path_regex: impl Into<String>) -> Self {
        Route {
            method: method.into(),
            path_regex: path_regex.into(),
        }
    }
}

/// How a platform answers, as an adapter's tests describe it to the suite.
///
/// Required: how to build the adapter against the mock server, where it sends, what a delivered
/// answer and a rate-limit answer look like, which secrets it holds, and what a correct request is.
/// The other answers have defaults (HTTP 400, 401, 503) that platforms with other conventions
/// (Slack's `{"ok": false}`) override.
pub trait Platform: Sync {
    /// The adapter under test.
    type Provider: ChatProvider + std::fmt::Debug;

    /// The adapter, configured so that the platform lives at `base_url` (`http://127.0.0.1:port`),
    /// with a request timeout of at most [`Platform::request_timeout`].
    fn provider(&self, base_url: &str) -> Self::Provider;

    /// Where a new message (or a reply in `thread`) is sent.
    fn send_route(&self, thread: Option<&MessageRef>) -> Route;

    /// The platform's answer to a delivered message, and the message id the adapter must return.
    fn delivered(&self) -> (ResponseTemplate, String);

    /// The platform's answer asking to wait `delay` before trying again.
    fn rate_limited(&self, delay: Duration) -> ResponseTemplate;

    /// The delay [`Platform::rate_limited`] is asked for (platforms that only speak whole seconds
    /// keep the default of 2 s).
    fn rate_limit_delay(&self) -> Duration {
        Duration::from_secs(2)
    }

    /// A rejected request (permanent).
    fn rejected(&self) -> ResponseTemplate {
        ResponseTemplate::new(400).set_body_json(serde_json::json!({"message": "bad request"}))
    }

    /// Bad credentials.
    fn unauthorized(&self) -> ResponseTemplate {
        ResponseTemplate::new(401).set_body_json(serde_json::json!({"message": "unauthorized"}))
    }

    /// A temporary failure.
    fn unavailable(&self) -> ResponseTemplate {
        ResponseTemplate::new(503)
    }

    /// The longest request timeout [`Platform::provider`] configures.
    fn request_timeout(&self) -> Duration {
        Duration::from_secs(2)
    }

    /// Every secret the adapter holds (tokens, webhook keys): none may show in `Debug` or errors.
    fn secrets(&self) -> Vec<String>;

    /// Checks one captured send request: method, path, headers and body as the platform documents.
    /// Panic (assert) on anything wrong.
    fn check_send(&self, request: &Request, thread: Option<&MessageRef>);

    /// Where an update of `at` is sent (only used when the adapter can update).
    fn update_route(&self, at: &MessageRef) -> Option<Route> {
        let _ = at;
        None
    }

    /// The platform's answer to a successful update.
    fn updated(&self) -> ResponseTemplate {
        self.delivered().0
    }

    /// Checks one captured update request.
    fn check_update(&self, request: &Request, at: &MessageRef) {
        let _ = (request, at);
    }
}

/// The message every case sends: every part of a [`ChatMessage`] is filled, with text that needs
/// escaping on every platform.
///
/// ```
/// let m = stripe_chat_conformance::sample_message();
/// assert!(!m.actions.is_empty() && !m.fields.is_empty());
/// ```
pub fn sample_message() -> ChatMessage {
    let invoice = ObjectRef::new(ObjectKind::Invoice, "in_1MtHbELkdIwHu7ixl4OzzPMv");
    ChatMessage::new("Payment failed: 20.00 USD from Jenny <Rosen> & *Co*")
        .summary("The card has insufficient funds. Stripe retries automatically in 3 days.")
        .severity(Severity::Warning)
        .field("Customer", "Jenny Rosen")
        .field_of_kind("Email", "j•••@example.com", FieldKind::Email)
        .field_of_kind("Card", "Visa •••• 4242", FieldKind::Card)
        .field("Next retry", "2026-12-01 10:00 UTC (in 3 days)")
        .link(
            "Invoice in Stripe",
            "https://dashboard.stripe.com/test/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv",
        )
        .action(
            Action::callback("retry_payment", "Retry payment", invoice.clone())
                .style(ActionStyle::Primary)
                .moves_money(true),
        )
        .action(Action::link(
            "open_in_stripe",
            "Open invoice",
            invoice.clone(),
            "https://dashboard.stripe.com/test/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv",
        ))
        .tag("subscription")
        .tag("test mode")
        .thread(invoice)
        .footer("invoice.payment_failed · evt_1NG8Du2eZvKYlo2CUI79vXWy")
        .timestamp(1_764_000_000)
        .source(Source {
            event_id: "evt_1NG8Du2eZvKYlo2CUI79vXWy".into(),
            event_type: "invoice.payment_failed".into(),
            livemode: false,
        })
}

/// The idempotency key every case sends [`sample_message`] with: its event, to the destination
/// `conformance`. A reply in a thread is keyed [`IdempotencyKey::reply_in`] the root and an update
/// [`IdempotencyKey::update_of`] the message, so [`Platform::check_send`] and
/// [`Platform::check_update`] can check the key a platform that deduplicates receives.
///
/// ```
/// assert_eq!(stripe_chat_conformance::sample_key().as_str(), "evt_1NG8Du2eZvKYlo2CUI79vXWy.conformance");
/// ```
pub fn sample_key() -> IdempotencyKey {
    IdempotencyKey::new("evt_1NG8Du2eZvKYlo2CUI79vXWy", "conformance")
}

async fn mount(server: &MockServer, route: &Route, response: ResponseTemplate) {
    Mock::given(method(route.method.as_str()))
        .and(path_regex(route.path_regex.as_str()))
        .respond_with(response)
        .mount(server)
        .await;
}

fn assert_no_secret<P: Platform>(platform: &P, what: &str, text: &str) {
    for secret in platform.secrets() {
        assert!(!secret.is_empty(), "an empty secret cannot be checked");
        assert!(!text.contains(&secret), "{what} shows a secret: {text}");
    }
}

fn assert_error<P: Platform>(
    platform: &P,
    case: &str,
    result: Result<MessageRef, DeliveryError>,
    kind: ErrorKind,
) -> DeliveryError {
    let error = match result {
        Ok(sent) => {
            panic!("{case}: expected a {kind} error, the adapter reported delivery as {sent:?}")
        }
        Err(error) => error,
    };
    assert_eq!(error.kind(), kind, "{case}: {error}");
    assert_no_secret(
        platform,
        &format!("{case}: the error's Display"),
        &error.to_string(),
    );
    assert_no_secret(
        platform,
        &format!("{case}: the error's Debug"),
        &format!("{error:?}"),
    );
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        assert_no_secret(
            platform,
            &format!("{case}: the error's source"),
            &inner.to_string(),
        );
        source = inner.source();
    }
    error
}

/// Runs every conformance case for `platform`'s adapter. Panics with the failing case's name.
pub async fn run<P: Platform>(platform: &P) {
    let message = sample_message();
    let key = sample_key();

    // The adapter's Debug hides its secrets.
    {
        let server = MockServer::start().await;
        let provider = platform.provider(&server.uri());
        assert_no_secret(platform, "the adapter's Debug", &format!("{provider:?}"));
    }

    // 2xx → delivered, with the ref the answer names, and exactly one well-formed request.
    let delivered_ref = {
        let server = MockServer::start().await;
        let (answer, expected_id) = platform.delivered();
        mount(&server, &platform.send_route(None), answer).await;
        let provider = platform.provider(&server.uri());
        let sent = provider
            .send(&message, None, &key)
            .await
            .unwrap_or_else(|e| panic!("delivered: {e}"));
        assert_eq!(
            sent.id, expected_id,
            "delivered: the ref carries the platform's id"
        );
        assert_eq!(
            sent.provider,
            provider.platform(),
            "delivered: the ref names the platform"
        );
        let requests = server.received_requests().await.unwrap_or_default();
        assert_eq!(requests.len(), 1, "delivered: exactly one request");
        platform.check_send(&requests[0], None);
        sent
    };

    // 429 → rate-limited with the delay asked for.
    {
        let server = MockServer::start().await;
        let delay = platform.rate_limit_delay();
        mount(
            &server,
            &platform.send_route(None),
            platform.rate_limited(delay),
        )
        .await;
        let provider = platform.provider(&server.uri());
        let error = assert_error(
            platform,
            "rate-limited",
            provider.send(&message, None, &key).await,
            ErrorKind::RateLimited,
        );
        assert_eq!(
            error.retry_after(),
            Some(delay),
            "rate-limited: the delay the platform asked for"
        );
    }

    // 5xx → transient.
    {
        let server = MockServer::start().await;
        mount(&server, &platform.send_route(None), platform.unavailable()).await;
        let provider = platform.provider(&server.uri());
        assert_error(
            platform,
            "5xx",
            provider.send(&message, None, &key).await,
            ErrorKind::Transient,
        );
    }

    // Rejected → permanent.
    {
        let server = MockServer::start().await;
        mount(&server, &platform.send_route(None), platform.rejected()).await;
        let provider = platform.provider(&server.uri());
        assert_error(
            platform,
            "rejected",
            provider.send(&message, None, &key).await,
            ErrorKind::Permanent,
        );
    }

    // Bad credentials, and a plain 403 → unauthorized.
    for (case, answer) in [
        ("unauthorized", platform.unauthorized()),
        ("403", ResponseTemplate::new(403)),
    ] {
        let server = MockServer::start().await;
        mount(&server, &platform.send_route(None), answer).await;
        let provider = platform.provider(&server.uri());
        assert_error(
            platform,
            case,
            provider.send(&message, None, &key).await,
            ErrorKind::Unauthorized,
        );
    }

    // No answer within the timeout → transient.
    {
        let server = MockServer::start().await;
        let slow = platform
            .delivered()
            .0
            .set_delay(platform.request_timeout() + Duration::from_secs(1));
        mount(&server, &platform.send_route(None), slow).await;
        let provider = platform.provider(&server.uri());
        assert_error(
            platform,
            "timeout",
            provider.send(&message, None, &key).await,
            ErrorKind::Transient,
        );
    }

    // Nobody listening → transient.
    {
        // A port that was just free: wiremock pools its servers, so a dropped MockServer may
        // still be listening and cannot stand for "nobody listening".
        let uri = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            format!("http://{}", listener.local_addr().expect("a local address"))
        };
        let provider = platform.provider(&uri);
        assert_error(
            platform,
            "connection refused",
            provider.send(&message, None, &key).await,
            ErrorKind::Transient,
        );
    }

    // A 2xx with a 100 MB body → the adapter reads at most the cap, whatever it makes of it.
    {
        let server = MockServer::start().await;
        let huge = ResponseTemplate::new(200)
            .set_body_raw(vec![b' '; HUGE_ANSWER_BYTES], "application/json");
        mount(&server, &platform.send_route(None), huge).await;
        let proxy = CountingProxy::start(*server.address())
            .await
            .expect("a loopback port for the proxy");
        let provider = platform.provider(&proxy.uri());
        let _either_way = provider.send(&message, None, &key).await;
        let read = proxy.bytes_to_client();
        assert!(
            read <= MAX_READ_OF_HUGE_ANSWER,
            "huge answer: the adapter read {read} bytes of a {HUGE_ANSWER_BYTES}-byte body"
        );
    }

    let provider_caps = {
        let server = MockServer::start().await;
        platform.provider(&server.uri()).capabilities()
    };
    check_thread(platform, &message, &delivered_ref, provider_caps).await;
    check_update(platform, &message, &delivered_ref, provider_caps).await;
}

async fn check_thread<P: Platform>(
    platform: &P,
    message: &ChatMessage,
    root: &MessageRef,
    caps: Capabilities,
) {
    let key = sample_key();
    let server = MockServer::start().await;
    let (answer, expected_id) = platform.delivered();
    mount(&server, &platform.send_route(Some(root)), answer).await;
    let provider = platform.provider(&server.uri());
    let result = provider.send(message, Some(root), &key).await;
    let requests = server.received_requests().await.unwrap_or_default();
    if caps.thread {
        let sent = result.unwrap_or_else(|e| panic!("thread reply: {e}"));
        assert_eq!(
            sent.id, expected_id,
            "thread reply: the ref carries the platform's id"
        );
        assert_eq!(requests.len(), 1, "thread reply: exactly one request");
        platform.check_send(&requests[0], Some(root));
    } else {
        // A platform without threads must not pretend: either an Unsupported error, or a plain
        // message with a ref that says it is not in a thread.
        match result {
            Err(e) => {
                assert_eq!(
                    e.kind(),
                    ErrorKind::Unsupported,
                    "thread on a send-only adapter: {e}"
                );
                assert!(
                    requests.is_empty(),
                    "an unsupported thread reply sends nothing"
                );
            }
            Ok(sent) => assert!(
                sent.thread_root.is_none(),
                "a send-only adapter reported a thread"
            ),
        }
    }
}

async fn check_update<P: Platform>(
    platform: &P,
    message: &ChatMessage,
    at: &MessageRef,
    caps: Capabilities,
) {
    let key = sample_key();
    let server = MockServer::start().await;
    let provider = platform.provider(&server.uri());
    if !caps.update {
        let error = provider
            .update(at, message, &key)
            .await
            .expect_err("update on an adapter that cannot update");
        assert_eq!(error.kind(), ErrorKind::Unsupported, "update: {error}");
        assert!(
            server
                .received_requests()
                .await
                .unwrap_or_default()
                .is_empty(),
            "an unsupported update sends nothing"
        );
        return;
    }
    let route = platform
        .update_route(at)
        .expect("an adapter that can update names its update route");
    mount(&server, &route, platform.updated()).await;
    provider
        .update(at, message, &key)
        .await
        .unwrap_or_else(|e| panic!("update: {e}"));
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 1, "update: exactly one request");
    platform.check_update(&requests[0], at);

    let server = MockServer::start().await;
    mount(&server, &route, platform.unavailable()).await;
    let provider = platform.provider(&server.uri());
    let error = provider
        .update(at, message, &key)
        .await
        .expect_err("update against a 5xx");
    assert_eq!(error.kind(), ErrorKind::Transient, "update 5xx: {error}");
}

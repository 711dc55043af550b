//! The HTTP side of the service: the webhook endpoint, health, readiness and metrics, as one axum
//! [`Router`] you can serve alone or mount inside your own app.
//!
//! | route | answers |
//! |---|---|
//! | `POST /webhooks/stripe` | see [`ingest`](crate::ingest) |
//! | `GET /healthz` | `200 ok` while the process runs |
//! | `GET /readyz` | `200 ready` when the store can commit (after a write failed for want of space, each check is a real write of an event's size, so readiness follows the disk by itself); `503` when it cannot, and from the moment the service starts draining (SIGTERM) |
//! | `GET /metrics` | Prometheus text (job counts cached for about a second) |
//! | `POST /interactions/slack`, `POST /interactions/discord` | see [`interact`](crate::interact) |

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use stripe_chat_events::WebhookVerifier;
use stripe_chat_route::Routes;
use stripe_chat_store::Store;
use tokio::sync::Notify;

use crate::config::{Interactions, ServiceConfig};
use crate::metrics::Metrics;
use stripe_chat_actions::Actions;

struct Inner {
    store: Arc<dyn Store>,
    verifier: WebhookVerifier,
    routes: Routes,
    body_limit: usize,
    body_timeout: Duration,
    metrics: Arc<Metrics>,
    wake: Arc<Notify>,
    draining: AtomicBool,
    interactions: Interactions,
    actions: OnceLock<Arc<dyn Actions>>,
    replays: crate::interact::Replays,
}

/// What the webhook router needs: the store, the verifier, the routes, the body limit, the
/// metrics, and a [`Notify`] to wake the delivery workers. Cheap to clone.
///
/// ```
/// use std::sync::Arc;
/// use stripe_chat_server::config::ServiceConfig;
/// use stripe_chat_server::http::WebhookState;
/// use stripe_chat_store::MemoryStore;
///
/// let config = ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
/// let state = WebhookState::new(&config, Arc::new(MemoryStore::new()));
/// let app: axum::Router = stripe_chat_server::router(state);
/// # let _ = app;
/// # Ok::<(), stripe_chat_server::config::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct WebhookState(Arc<Inner>);

impl std::fmt::Debug for WebhookState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookState")
            .field("verifier", &self.0.verifier)
            .field("routes", &self.0.routes.len())
            .field("body_limit", &self.0.body_limit)
            .field("body_timeout", &self.0.body_timeout)
            .finish_non_exhaustive()
    }
}

impl WebhookState {
    /// State for `config`'s secrets, routes and body limit over `store`, with fresh metrics.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let state = stripe_chat_server::http::WebhookState::new(&config, Arc::new(stripe_chat_store::MemoryStore::new()));
    /// assert_eq!(state.body_limit(), 1024 * 1024);
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn new(config: &ServiceConfig, store: Arc<dyn Store>) -> Self {
        Self::with_parts(
            config,
            store,
            Arc::new(Metrics::default()),
            Arc::new(Notify::new()),
        )
    }

    /// Like [`WebhookState::new`], sharing `metrics` and `wake` with the delivery workers.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let metrics = Arc::new(stripe_chat_server::metrics::Metrics::default());
    /// let wake = Arc::new(tokio::sync::Notify::new());
    /// let state = stripe_chat_server::http::WebhookState::with_parts(&config, Arc::new(stripe_chat_store::MemoryStore::new()), metrics, wake);
    /// # let _ = state;
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn with_parts(
        config: &ServiceConfig,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        wake: Arc<Notify>,
    ) -> Self {
        WebhookState(Arc::new(Inner {
            store,
            verifier: config.verifier.clone(),
            routes: config.routes.clone(),
            body_limit: config.server.body_limit_bytes,
            body_timeout: config.server.body_timeout(),
            metrics,
            wake,
            draining: AtomicBool::new(false),
            interactions: config.interactions.clone(),
            actions: OnceLock::new(),
            replays: crate::interact::Replays::default(),
        }))
    }

    /// Hands the clicks of `[interactions]` to `actions` (once; later calls are ignored).
    /// Without it, the interaction endpoints answer `404`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// struct Closed;
    /// #[async_trait::async_trait]
    /// impl stripe_chat_actions::Actions for Closed {
    ///     async fn handle(&self, _: stripe_chat_actions::Click, _: Arc<dyn stripe_chat_actions::Responder>) -> stripe_chat_actions::Immediate {
    ///         stripe_chat_actions::Immediate::Ack
    ///     }
    /// }
    /// let state = stripe_chat_server::http::WebhookState::new(&config, Arc::new(stripe_chat_store::MemoryStore::new()));
    /// state.set_actions(Arc::new(Closed));
    /// assert!(state.actions().is_some());
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn set_actions(&self, actions: Arc<dyn Actions>) {
        let _ = self.0.actions.set(actions);
    }

    /// The actions engine clicks are handed to, if any.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let state = stripe_chat_server::http::WebhookState::new(&config, Arc::new(stripe_chat_store::MemoryStore::new()));
    /// assert!(state.actions().is_none());
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn actions(&self) -> Option<&Arc<dyn Actions>> {
        self.0.actions.get()
    }

    /// The checked `[interactions]`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let state = stripe_chat_server::http::WebhookState::new(&config, Arc::new(stripe_chat_store::MemoryStore::new()));
    /// assert!(!state.interactions().any());
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn interactions(&self) -> &Interactions {
        &self.0.interactions
    }

    /// The verified interaction requests seen lately (replays are counted, not acted on).
    pub(crate) fn replays(&self) -> &crate::interact::Replays {
        &self.0.replays
    }

    /// The store events are committed to.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let state = stripe_chat_server::http::WebhookState::new(&config, Arc::new(stripe_chat_store::MemoryStore::new()));
    /// let _store = state.store();
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.0.store
    }

    /// The metrics this state counts into.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let state = stripe_chat_server::http::WebhookState::new(&config, Arc::new(stripe_chat_store::MemoryStore::new()));
    /// assert!(state.metrics().render(None).contains("stripe_chat_webhooks_received_total 0"));
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.0.metrics
    }

    /// The largest accepted body, in bytes.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\nbody_limit_bytes = 4096\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let state = stripe_chat_server::http::WebhookState::new(&config, Arc::new(stripe_chat_store::MemoryStore::new()));
    /// assert_eq!(state.body_limit(), 4096);
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn body_limit(&self) -> usize {
        self.0.body_limit
    }

    /// How long a webhook's body may take to arrive once its head has (`408` after that).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\nbody_timeout_secs = 5\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let state = stripe_chat_server::http::WebhookState::new(&config, Arc::new(stripe_chat_store::MemoryStore::new()));
    /// assert_eq!(state.body_timeout().as_secs(), 5);
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn body_timeout(&self) -> Duration {
        self.0.body_timeout
    }

    /// Marks the service as draining: from now on `GET /readyz` answers `503 draining`, so
    /// that load balancers stop sending it new requests, while the routes keep working.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let state = stripe_chat_server::http::WebhookState::new(&config, Arc::new(stripe_chat_store::MemoryStore::new()));
    /// assert!(!state.is_draining());
    /// state.drain();
    /// assert!(state.is_draining());
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn drain(&self) {
        self.0.draining.store(true, Ordering::SeqCst);
    }

    /// Whether [`WebhookState::drain`] was called.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let state = stripe_chat_server::http::WebhookState::new(&config, Arc::new(stripe_chat_store::MemoryStore::new()));
    /// assert!(!state.is_draining());
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn is_draining(&self) -> bool {
        self.0.draining.load(Ordering::SeqCst)
    }
}

/// The service's routes (`POST /webhooks/stripe`, `/healthz`, `/readyz`, `/metrics`) over `state`.
/// Serve it as is, or [`nest`](Router::nest) it in your app (see `examples/embed_in_axum.rs`).
///
/// ```
/// # use std::sync::Arc;
/// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
/// let state = stripe_chat_server::http::WebhookState::new(&config, Arc::new(stripe_chat_store::MemoryStore::new()));
/// let app = axum::Router::new().nest("/stripe", stripe_chat_server::router(state));
/// # let _ = app;
/// # Ok::<(), stripe_chat_server::config::ConfigError>(())
/// ```
pub fn router(state: WebhookState) -> Router {
    Router::new()
        .route("/webhooks/stripe", post(webhook))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/interactions/slack", post(slack_interaction))
        .route("/interactions/discord", post(discord_interaction))
        // The webhook reads its body itself, with the configured limit.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// The routes of the public listener when `/metrics` is served elsewhere (`[server]
/// admin_listen`): the webhook, the interactions, `/healthz` and `/readyz`.
///
/// ```
/// # use std::sync::Arc;
/// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
/// let state = stripe_chat_server::http::WebhookState::new(&config, Arc::new(stripe_chat_store::MemoryStore::new()));
/// let public = stripe_chat_server::http::public_router(state.clone());
/// let admin = stripe_chat_server::http::admin_router(state);
/// # let _ = (public, admin);
/// # Ok::<(), stripe_chat_server::config::ConfigError>(())
/// ```
pub fn public_router(state: WebhookState) -> Router {
    Router::new()
        .route("/webhooks/stripe", post(webhook))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/interactions/slack", post(slack_interaction))
        .route("/interactions/discord", post(discord_interaction))
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// The routes of the admin listener (`[server] admin_listen`): `/metrics`, `/healthz` and
/// `/readyz`.
///
/// ```
/// # use std::sync::Arc;
/// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
/// let state = stripe_chat_server::http::WebhookState::new(&config, Arc::new(stripe_chat_store::MemoryStore::new()));
/// let _admin: axum::Router = stripe_chat_server::http::admin_router(state);
/// # Ok::<(), stripe_chat_server::config::ConfigError>(())
/// ```
pub fn admin_router(state: WebhookState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn webhook(State(state): State<WebhookState>, headers: HeaderMap, body: Body) -> Response {
    let inner = &*state.0;
    let webhook = crate::ingest::Webhook {
        store: inner.store.as_ref(),
        verifier: &inner.verifier,
        routes: &inner.routes,
        body_limit: inner.body_limit,
        body_timeout: inner.body_timeout,
        metrics: &inner.metrics,
        wake: &inner.wake,
    };
    crate::ingest::handle(webhook, headers, body).await
}

async fn slack_interaction(
    State(state): State<WebhookState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    crate::interact::slack(state, headers, body).await
}

async fn discord_interaction(
    State(state): State<WebhookState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    crate::interact::discord(state, headers, body).await
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<WebhookState>) -> Response {
    if state.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response();
    }
    match state.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the store is not available");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
        }
    }
}

async fn metrics(State(state): State<WebhookState>) -> Response {
    let max_age = Duration::from_secs(1);
    let stats = match state.metrics().cached_stats(max_age) {
        Some(stats) => Some(stats),
        None => match state.store().stats().await {
            Ok(stats) => {
                state.metrics().cache_stats(stats);
                Some(stats)
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics: cannot read job counts");
                None
            }
        },
    };
    if state.metrics().cached_backlog(max_age).is_none() {
        match state.store().backlog().await {
            Ok(backlog) => state.metrics().cache_backlog(backlog),
            Err(e) => tracing::warn!(error = %e, "metrics: cannot read the backlog"),
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics().render(stats),
    )
        .into_response()
}

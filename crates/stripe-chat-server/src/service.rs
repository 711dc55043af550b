//! The whole service in one value: the HTTP listener, the delivery workers and the store's
//! pruner over one store, started together and stopped together.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use stripe_chat_store::{SqliteOptions, SqliteStore, Store, StoreError};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::config::Destination;
use crate::config::{ServiceConfig, StoreSection};
use crate::http::{WebhookState, router};
use crate::listener::Limits;
use crate::metrics::Metrics;
use crate::retention::Pruner;
use crate::worker::{Delivery, DeliveryBuilder};
use stripe_chat_redact::RedactionPolicy;
use stripe_chat_transform::Registry;

/// How often the audit checkpoint task looks for a checkpoint due (at most).
const CHECKPOINT_TICK: Duration = Duration::from_secs(30);

/// Opens the configured SQLite store, creating its directory when missing. A directory it
/// creates is private to its owner (0700), and so is the store's file (0600), whatever the
/// umask: they hold payment data.
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// # rt.block_on(async {
/// let dir = tempfile::tempdir()?;
/// let section: stripe_chat_server::config::StoreSection =
///     toml::from_str(&format!("sqlite = {:?}", dir.path().join("nested/stripe-chat.db")))?;
/// let store = stripe_chat_server::service::open_store(&section).await?;
/// assert!(store.path().exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn open_store(section: &StoreSection) -> Result<SqliteStore, StoreError> {
    if let Some(parent) = section
        .sqlite
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        create_private_dir(parent).map_err(|e| StoreError::Unavailable {
            reason: format!("cannot create the directory {}: {e}", parent.display()),
        })?;
    }
    SqliteStore::open(&section.sqlite, store_options(section)).await
}

/// The options the service opens its store with: the defaults, pruning what `[store]
/// retention` no longer keeps as the store goes (see [`SqliteOptions::prune_as_it_goes`]).
///
/// ```
/// let section: stripe_chat_server::config::StoreSection = toml::from_str("sqlite = \"s.db\"")?;
/// let options = stripe_chat_server::service::store_options(&section);
/// assert_eq!(options.prunes_as_it_goes(), Some(section.retention));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn store_options(section: &StoreSection) -> SqliteOptions {
    SqliteOptions::default().prune_as_it_goes(section.retention)
}

/// Creates `dir` and its missing parents, each readable by its owner only (0700 on Unix).
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// A running service: the webhook listener, the delivery workers, and the pruner that deletes
/// what is older than `[store] retention` (see [`Pruner`]).
///
/// ```
/// # let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
/// # rt.block_on(async {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use stripe_chat_server::{config::ServiceConfig, service::Service};
///
/// let config = ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
/// let listener = tokio::net::TcpListener::bind(config.server.listen).await?;
/// let service = Service::start(&config, Arc::new(stripe_chat_store::MemoryStore::new()), listener)?;
/// let health = format!("http://{}/healthz", service.local_addr());
/// # let _ = health;
/// assert!(service.shutdown(Duration::from_secs(5)).await);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Service {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    workers: JoinSet<()>,
    metrics: Arc<Metrics>,
    state: WebhookState,
}

impl Service {
    /// Serves `config`'s routes on `listener` and starts its workers and its pruner over `store`, with the
    /// built-in transformers and each destination's configured redaction policy.
    /// Fails only when the listener's address cannot be read.
    ///
    /// ```no_run
    /// # async fn f(config: stripe_chat_server::config::ServiceConfig, store: std::sync::Arc<dyn stripe_chat_store::Store>) -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind(config.server.listen).await?;
    /// let service = stripe_chat_server::service::Service::start(&config, store, listener)?;
    /// println!("listening on {}", service.local_addr());
    /// # Ok(()) }
    /// ```
    pub fn start(
        config: &ServiceConfig,
        store: Arc<dyn Store>,
        listener: TcpListener,
    ) -> std::io::Result<Service> {
        Service::builder(config).start(store, listener)
    }

    /// A builder of the service for `config`, to run your own transformers and redaction
    /// policies in its workers (see [`DeliveryBuilder`]).
    ///
    /// ```no_run
    /// # async fn f(config: stripe_chat_server::config::ServiceConfig, store: std::sync::Arc<dyn stripe_chat_store::Store>) -> std::io::Result<()> {
    /// let mut transformers = stripe_chat_transform::Registry::with_builtins();
    /// transformers.register("payout.paid", stripe_chat_transform::builtin::Generic);
    /// let listener = tokio::net::TcpListener::bind(config.server.listen).await?;
    /// let service = stripe_chat_server::service::Service::builder(&config)
    ///     .transformers(transformers)
    ///     .start(store, listener)?;
    /// # let _ = service;
    /// # Ok(()) }
    /// ```
    pub fn builder(config: &ServiceConfig) -> ServiceBuilder<'_> {
        ServiceBuilder {
            config,
            delivery: Delivery::builder(config),
            audit: None,
            actions: None,
        }
    }

    /// Where the listener is.
    ///
    /// ```no_run
    /// # fn f(service: &stripe_chat_server::service::Service) {
    /// println!("POST Stripe webhooks to http://{}/webhooks/stripe", service.local_addr());
    /// # }
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The service's metrics.
    ///
    /// ```no_run
    /// # fn f(service: &stripe_chat_server::service::Service) {
    /// print!("{}", service.metrics().render(None));
    /// # }
    /// ```
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Starts draining: `GET /readyz` answers `503 draining` from now on, while every route
    /// keeps serving. Call it when a shutdown is decided, wait for load balancers to notice
    /// (`server.drain_delay_secs`), then [`shutdown`](Service::shutdown).
    ///
    /// ```no_run
    /// # async fn f(service: stripe_chat_server::service::Service) {
    /// service.drain();
    /// tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    /// service.shutdown(std::time::Duration::from_secs(10)).await;
    /// # }
    /// ```
    pub fn drain(&self) {
        self.state.drain();
    }

    /// Stops accepting connections, lets requests and deliveries in flight finish, and returns
    /// whether everything stopped within `grace` (what is left is abandoned; its jobs run again
    /// when their leases end).
    ///
    /// ```no_run
    /// # async fn f(service: stripe_chat_server::service::Service) {
    /// let clean = service.shutdown(std::time::Duration::from_secs(10)).await;
    /// # let _ = clean;
    /// # }
    /// ```
    pub async fn shutdown(self, grace: Duration) -> bool {
        let Service {
            stop,
            server,
            mut workers,
            metrics,
            state,
            ..
        } = self;
        state.drain();
        let _ = stop.send(true);
        let finished = tokio::time::timeout(grace, async {
            if let Err(e) = server.await {
                tracing::warn!(error = %e, "the listener stopped with an error");
            }
            while workers.join_next().await.is_some() {}
        })
        .await
        .is_ok();
        if !finished {
            workers.abort_all();
        }
        metrics.flush_refusal_log_now();
        finished
    }
}

/// Builds a [`Service`] whose workers run your code: your transformers, your redaction policy
/// per destination (see [`DeliveryBuilder`]). What is not given stays as configured.
///
/// ```
/// # let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
/// # rt.block_on(async {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use stripe_chat_redact::{DefaultPolicy, RedactionPolicy, Visibility};
/// use stripe_chat_server::config::{Destination, ServiceConfig};
/// use stripe_chat_server::service::Service;
///
/// let config = ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
/// let listener = tokio::net::TcpListener::bind(config.server.listen).await?;
/// let service = Service::builder(&config)
///     .transformers(stripe_chat_transform::Registry::with_builtins())
///     .redaction(|_: &Destination| -> Arc<dyn RedactionPolicy> {
///         Arc::new(DefaultPolicy::new(Visibility::Public))
///     })
///     .start(Arc::new(stripe_chat_store::MemoryStore::new()), listener)?;
/// assert!(service.shutdown(Duration::from_secs(5)).await);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ServiceBuilder<'a> {
    config: &'a ServiceConfig,
    delivery: DeliveryBuilder<'a>,
    audit: Option<Arc<stripe_chat_audit::AuditLog>>,
    actions: Option<Arc<dyn stripe_chat_actions::Actions>>,
}

impl std::fmt::Debug for ServiceBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceBuilder")
            .field("delivery", &self.delivery)
            .field("audit", &self.audit)
            .field("actions", &self.actions.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> ServiceBuilder<'a> {
    /// Transforms events with `registry` (see [`DeliveryBuilder::transformers`]).
    ///
    /// ```
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let builder = stripe_chat_server::service::Service::builder(&config)
    ///     .transformers(stripe_chat_transform::Registry::with_builtins());
    /// # let _ = builder;
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn transformers(mut self, registry: Registry) -> Self {
        self.delivery = self.delivery.transformers(registry);
        self
    }

    /// Redacts each destination's messages with the policy `policy_for` returns for it (see
    /// [`DeliveryBuilder::redaction`]).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use stripe_chat_redact::{DefaultPolicy, RedactionPolicy};
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let builder = stripe_chat_server::service::Service::builder(&config)
    ///     .redaction(|d: &stripe_chat_server::config::Destination| -> Arc<dyn RedactionPolicy> {
    ///         Arc::new(DefaultPolicy::from_config(&d.redaction))
    ///     });
    /// # let _ = builder;
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn redaction(
        mut self,
        policy_for: impl Fn(&Destination) -> Arc<dyn RedactionPolicy> + 'a,
    ) -> Self {
        self.delivery = self.delivery.redaction(policy_for);
        self
    }

    /// Keeps `log`'s checkpoints: signs one when `[audit] checkpoint_interval` has passed since
    /// new records, and posts each new one to `[audit] post_checkpoints_to` when set (see
    /// [`crate::acting::checkpoints`]).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let store: Arc<dyn stripe_chat_store::Store> = Arc::new(stripe_chat_store::MemoryStore::new());
    /// let log = Arc::new(stripe_chat_server::acting::audit_log(&config, store)?);
    /// let builder = stripe_chat_server::service::Service::builder(&config).audit(log);
    /// # let _ = builder;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn audit(mut self, log: Arc<stripe_chat_audit::AuditLog>) -> Self {
        self.audit = Some(log);
        self
    }

    /// Hands the clicks of `[interactions]` to `actions` (usually the engine of
    /// [`crate::acting::engine`]); without it, `/interactions/*` answer `404`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let store: Arc<dyn stripe_chat_store::Store> = Arc::new(stripe_chat_store::MemoryStore::new());
    /// let audit = Arc::new(stripe_chat_server::acting::audit_log(&config, store.clone())?);
    /// let engine = stripe_chat_server::acting::engine(&config, store, audit, None, |_| Some("rk_test_1".into()))?;
    /// let builder = stripe_chat_server::service::Service::builder(&config).actions(Arc::new(engine));
    /// # let _ = builder;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn actions(mut self, actions: Arc<dyn stripe_chat_actions::Actions>) -> Self {
        self.actions = Some(actions);
        self
    }

    /// Adds the customer's last contact from `contacts` to enriched messages (see
    /// [`DeliveryBuilder::contacts`]).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use stripe_chat_enrich::{ContactError, ContactHistory};
    /// use stripe_chat_events::LastContact;
    /// struct Nobody;
    /// #[async_trait::async_trait]
    /// impl ContactHistory for Nobody {
    ///     async fn last_contact(&self, _: Option<&str>, _: &str) -> Result<Option<LastContact>, ContactError> {
    ///         Ok(None)
    ///     }
    /// }
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let builder = stripe_chat_server::service::Service::builder(&config).contacts(Arc::new(Nobody));
    /// # let _ = builder;
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn contacts(mut self, contacts: Arc<dyn stripe_chat_enrich::ContactHistory>) -> Self {
        self.delivery = self.delivery.contacts(contacts);
        self
    }

    /// Paces enrichment with `limiter`, shared with whatever else reads Stripe (see
    /// [`DeliveryBuilder::stripe_rate_limiter`]).
    ///
    /// ```
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// let builder = stripe_chat_server::service::Service::builder(&config)
    ///     .stripe_rate_limiter(stripe_chat_stripe::RateLimiter::per_second(20.0));
    /// # let _ = builder;
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn stripe_rate_limiter(mut self, limiter: stripe_chat_stripe::RateLimiter) -> Self {
        self.delivery = self.delivery.stripe_rate_limiter(limiter);
        self
    }

    /// Serves the configured routes on `listener` and starts the workers over `store`.
    /// Fails only when the listener's address cannot be read.
    ///
    /// ```no_run
    /// # async fn f(config: stripe_chat_server::config::ServiceConfig, store: std::sync::Arc<dyn stripe_chat_store::Store>) -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind(config.server.listen).await?;
    /// let service = stripe_chat_server::service::Service::builder(&config).start(store, listener)?;
    /// # let _ = service;
    /// # Ok(()) }
    /// ```
    pub fn start(self, store: Arc<dyn Store>, listener: TcpListener) -> std::io::Result<Service> {
        let ServiceBuilder {
            config,
            delivery,
            audit,
            actions,
        } = self;
        let addr = listener.local_addr()?;
        let metrics = Arc::new(Metrics::with_destinations(
            config.destinations.iter().map(|d| &d.name),
        ));
        let wake = Arc::new(Notify::new());
        let state = WebhookState::with_parts(
            config,
            Arc::clone(&store),
            Arc::clone(&metrics),
            Arc::clone(&wake),
        );
        if let Some(actions) = actions {
            state.set_actions(actions);
        }
        let (stop, stopped) = watch::channel(false);
        let pruner = Pruner::new(Arc::clone(&store), config.store.retention);
        let checkpoints = audit.map(|log| {
            let post_to = config.audit.post_checkpoints_to.as_ref().and_then(|name| {
                config
                    .destination(name)
                    .map(|d| (d.name.clone(), Arc::clone(&d.provider)))
            });
            crate::acting::checkpoints(
                log,
                Arc::clone(&store),
                post_to,
                CHECKPOINT_TICK.min(config.audit.checkpoint_interval),
                stopped.clone(),
            )
        });
        let mut workers = delivery
            .build(store, Arc::clone(&metrics), wake)
            .spawn(stopped.clone());
        workers.spawn(pruner.run(stopped.clone()));
        if let Some(checkpoints) = checkpoints {
            workers.spawn(checkpoints);
        }
        let app = match config.server.admin_listen {
            None => router(state.clone()),
            Some(admin_addr) => {
                // Operators' routes on their own listener; the public one no longer has them.
                let admin = std::net::TcpListener::bind(admin_addr)?;
                admin.set_nonblocking(true)?;
                let admin = TcpListener::from_std(admin)?;
                let bound = admin.local_addr()?;
                tracing::info!(admin = %bound, "metrics are served on the admin listener");
                workers.spawn(crate::listener::serve(
                    admin,
                    crate::http::admin_router(state.clone()),
                    Limits::from(&config.server),
                    Arc::clone(&metrics),
                    stopped.clone(),
                ));
                crate::http::public_router(state.clone())
            }
        };
        let server = tokio::spawn(crate::listener::serve(
            listener,
            app,
            Limits::from(&config.server),
            Arc::clone(&metrics),
            stopped.clone(),
        ));
        tokio::spawn(flush_refusal_log(Arc::clone(&metrics), stopped));
        Ok(Service {
            addr,
            stop,
            server,
            workers,
            metrics,
            state,
        })
    }
}

/// Writes the refusals counted since the last log line once their interval has passed, so that
/// the end of a burst is logged even when no refusal follows it.
async fn flush_refusal_log(metrics: Arc<Metrics>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => metrics.flush_refusal_log(),
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}

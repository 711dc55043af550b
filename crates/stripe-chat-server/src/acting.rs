//! Acting from chat in the service: the actions engine built from the configuration (`[[roles]]`,
//! `[[people]]`, `[actions]`, `[stripe]` and `[stripe.accounts]`), the audit log it writes to, its
//! checkpoints posted to a destination, and the [`DestinationPoster`] through which `assign` and
//! `notify` reach the configured destinations.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use stripe_chat_act::{Engine, PostError, Poster, Router};
use stripe_chat_audit::{AuditLog, CheckpointPolicy, SignerKey};
use stripe_chat_message::{ChatMessage, ChatProvider, IdempotencyKey, Severity};
use stripe_chat_store::Store;
use stripe_chat_stripe::{Accounts, Client, RateLimiter, Retry, StripeOperations};
use tokio::sync::watch;

use crate::config::{ConfigError, ServiceConfig};

/// How long one Stripe request of an action may take, per attempt.
const STRIPE_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts per Stripe request of an action (the same idempotency key on each).
const STRIPE_ATTEMPTS: u32 = 3;

/// The audit log in `store`, as `[audit]` says: its name, its checkpoint policy, and the signing
/// key read from `signing_key_file` (checkpoints are not signed without one).
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// # rt.block_on(async {
/// use std::sync::Arc;
/// let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_a\"]\n[store]\nsqlite = \"x.db\"\n[audit]\nname = \"acme\"\n")?;
/// let store: Arc<dyn stripe_chat_store::Store> = Arc::new(stripe_chat_store::MemoryStore::new());
/// let log = stripe_chat_server::acting::audit_log(&config, store)?;
/// assert!(log.records(0).await?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(()) })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn audit_log(config: &ServiceConfig, store: Arc<dyn Store>) -> Result<AuditLog, ConfigError> {
    let mut log =
        AuditLog::new(store, config.audit.name.clone()).checkpoint_policy(CheckpointPolicy {
            records: config.audit.checkpoint_every,
            interval: config.audit.checkpoint_interval,
        });
    if let Some(path) = &config.audit.signing_key_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(
                "audit.signing_key_file",
                format!("cannot read {}: {}", path.display(), e.kind()),
            )
        })?;
        let key = SignerKey::parse(&text)
            .map_err(|e| ConfigError::new("audit.signing_key_file", e.to_string()))?;
        log = log.signed_by(key);
    }
    Ok(log)
}

/// The Stripe client of the actions: `[stripe] api_key_env`/`api_key_file` and `api_base`, with a
/// timeout and a few attempts per request, and a client per `[stripe.accounts.<acct_id>]`; paced
/// by `limiter` when given (the one enrichment uses, so that both stay within
/// `[enrich] max_calls_per_second`).
///
/// ```
/// let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_a\"]\n[store]\nsqlite = \"x.db\"\n")?;
/// let error = stripe_chat_server::acting::stripe_accounts(&config, None, |_| None).unwrap_err();
/// assert_eq!(error.to_string(), "stripe.api_key_env: the environment variable STRIPE_API_KEY is not set (stripe.api_key_env names it)");
/// assert!(stripe_chat_server::acting::stripe_accounts(&config, None, |_| Some("rk_test_1".into())).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn stripe_accounts(
    config: &ServiceConfig,
    limiter: Option<RateLimiter>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Accounts, ConfigError> {
    let key_name = if config.stripe_api.api_key_file.is_some() {
        "stripe.api_key_file"
    } else {
        "stripe.api_key_env"
    };
    let api_key = config
        .stripe_api
        .api_key(&env)
        .map_err(|problem| ConfigError::new(key_name, problem))?;
    let mut client = Client::builder(api_key)
        .timeout(STRIPE_TIMEOUT)
        .retry(Retry::attempts(STRIPE_ATTEMPTS));
    if let Some(base) = &config.stripe_api.api_base {
        client = client.api_base(base.clone());
    }
    if let Some(limiter) = limiter {
        client = client.rate_limiter(limiter);
    }
    let client = client
        .build()
        .map_err(|e| ConfigError::new("stripe.api_base", e.to_string()))?;
    Accounts::from_config(client, &config.stripe_accounts, env)
        .map_err(|e| ConfigError::new(e.key, e.problem))
}

/// The actions engine of the configuration: its people and roles, Stripe's operations over
/// [`stripe_accounts`] (paced by `limiter`), the `[actions]` hooks and destinations, `store` for
/// what it keeps, and `audit` for its records.
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// # rt.block_on(async {
/// use std::sync::Arc;
/// let config = stripe_chat_server::config::ServiceConfig::from_toml(r#"
/// [server]
/// listen = "127.0.0.1:0"
/// [stripe]
/// webhook_secrets = ["whsec_a"]
/// [store]
/// sqlite = "x.db"
/// [[roles]]
/// name = "billing"
/// actions = ["retry_payment"]
/// [[people]]
/// name = "ana"
/// roles = ["billing"]
/// slack = ["T0123ABCD/U0123ABCD"]
/// "#)?;
/// let store: Arc<dyn stripe_chat_store::Store> = Arc::new(stripe_chat_store::MemoryStore::new());
/// let audit = Arc::new(stripe_chat_server::acting::audit_log(&config, store.clone())?);
/// let engine = stripe_chat_server::acting::engine(&config, store, audit, None, |_| Some("rk_test_1".into()))?;
/// let _: Arc<dyn stripe_chat_actions::Actions> = Arc::new(engine);
/// # Ok::<(), Box<dyn std::error::Error>>(()) })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn engine(
    config: &ServiceConfig,
    store: Arc<dyn Store>,
    audit: Arc<AuditLog>,
    limiter: Option<RateLimiter>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Engine, ConfigError> {
    let stripe = Arc::new(StripeOperations::new(stripe_accounts(
        config, limiter, env,
    )?));
    let poster = Arc::new(DestinationPoster::new(config));
    let router = Router::from_config(&config.actions, stripe, poster, Arc::clone(&store))
        .map_err(|e| ConfigError::new("actions", e.to_string()))?;
    Ok(
        Engine::builder(config.permissions.clone(), Arc::new(router), store, audit)
            .confirmation_expiry(config.actions.confirmation_expiry)
            .build(),
    )
}

/// Posts `assign` and `notify` messages through the configured destinations' adapters, at once:
/// a destination that is down makes the action fail, and the person who clicked is told so
/// (clicking again is safe).
///
/// ```
/// let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_a\"]\n[store]\nsqlite = \"x.db\"\n[[destinations]]\nname = \"queue\"\nprovider = \"file\"\npath = \"queue.jsonl\"\n")?;
/// let poster = stripe_chat_server::acting::DestinationPoster::new(&config);
/// assert_eq!(poster.destinations().collect::<Vec<_>>(), ["queue"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct DestinationPoster {
    providers: HashMap<String, Arc<dyn ChatProvider>>,
}

impl std::fmt::Debug for DestinationPoster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DestinationPoster")
            .field("destinations", &self.providers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl DestinationPoster {
    /// A poster to every destination of `config`.
    ///
    /// ```
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_a\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// assert_eq!(stripe_chat_server::acting::DestinationPoster::new(&config).destinations().count(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(config: &ServiceConfig) -> Self {
        DestinationPoster {
            providers: config
                .destinations
                .iter()
                .map(|d| (d.name.clone(), Arc::clone(&d.provider)))
                .collect(),
        }
    }

    /// The destinations it can post to, by name.
    ///
    /// ```
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_a\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// assert!(stripe_chat_server::acting::DestinationPoster::new(&config).destinations().next().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn destinations(&self) -> impl Iterator<Item = &str> {
        self.providers.keys().map(String::as_str)
    }
}

#[async_trait]
impl Poster for DestinationPoster {
    async fn post(&self, destination: &str, message: ChatMessage) -> Result<(), PostError> {
        let provider = self
            .providers
            .get(destination)
            .ok_or_else(|| PostError::new(format!("no destination is named {destination:?}")))?;
        // The same message to the same destination is the same post: a retry of it keeps its key.
        let body = serde_json::to_vec(&message)
            .map_err(|e| PostError::new(format!("{destination}: {e}")))?;
        let digest = Sha256::digest(&body);
        let key = IdempotencyKey::new(&format!("post-{}", hex::encode(&digest[..12])), destination);
        provider
            .send(&message, None, &key)
            .await
            .map(|_| ())
            .map_err(|e| PostError::new(format!("{destination}: {e}")))
    }
}

/// Signs checkpoints when they are due (every `[audit] checkpoint_interval` after new records,
/// besides those signed every `checkpoint_every` records as they are appended) and posts each new
/// one to `post_to`, until `stop`. A checkpoint that could not be posted is posted at the next
/// tick; one signed before the service started is not posted again.
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// # rt.block_on(async {
/// use std::sync::Arc;
/// use std::time::Duration;
/// let store: Arc<dyn stripe_chat_store::Store> = Arc::new(stripe_chat_store::MemoryStore::new());
/// let log = Arc::new(stripe_chat_audit::AuditLog::new(store.clone(), "acme"));
/// let (stop, stopped) = tokio::sync::watch::channel(false);
/// let task = tokio::spawn(stripe_chat_server::acting::checkpoints(log, store, None, Duration::from_millis(10), stopped));
/// stop.send(true)?;
/// task.await?;
/// # Ok::<(), Box<dyn std::error::Error>>(()) })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn checkpoints(
    log: Arc<AuditLog>,
    store: Arc<dyn Store>,
    post_to: Option<(String, Arc<dyn ChatProvider>)>,
    tick: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut posted = match store.audit_checkpoints().await {
        Ok(rows) => rows.iter().map(|r| r.size).max().unwrap_or(0),
        Err(_) => 0,
    };
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        if let Err(e) = log.checkpoint_if_overdue().await {
            tracing::warn!(error = %e, "the audit checkpoint could not be signed");
        }
        let Some((name, provider)) = &post_to else {
            continue;
        };
        let Ok(rows) = store.audit_checkpoints().await else {
            continue;
        };
        let since = posted;
        for row in rows.into_iter().filter(|r| r.size > since) {
            let message = ChatMessage::new(format!("Audit checkpoint: {} records", row.size))
                .severity(Severity::Info)
                .summary(row.note.clone())
                .footer("stripe-chat audit verify checks the log against this note");
            let key = IdempotencyKey::new(&format!("audit-checkpoint-{}", row.size), name);
            match provider.send(&message, None, &key).await {
                Ok(_) => posted = posted.max(row.size),
                Err(e) => {
                    tracing::warn!(destination = %name, error = %e, "the audit checkpoint could not be posted; trying again");
                    break;
                }
            }
        }
    }
}

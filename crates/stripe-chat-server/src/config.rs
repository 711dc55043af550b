//! The service's configuration file (TOML), checked into a ready-to-run form before anything starts.
//!
//! Every problem names its key (`destinations[1] "billing".channel: missing`) and never prints a
//! secret. Secrets may come from the environment (`webhook_secrets_env`, and each adapter's
//! `*_env` keys).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use stripe_chat_act::{ActionsConfig, CheckedActions};
use stripe_chat_actions::{Permissions, PersonConfig, RoleConfig};
use stripe_chat_events::{WebhookSecret, WebhookVerifier};
use stripe_chat_message::{ChatProvider, Rate, Secret, Settings};
use stripe_chat_redact::RedactionConfig;
use stripe_chat_route::{Digest, Route, Routes};
use stripe_chat_stripe::AccountConfig;

pub use stripe_chat_message::ProviderRegistry;

/// A configuration problem, naming the key.
///
/// ```
/// let e = stripe_chat_server::config::ConfigError::new("server.listen", "not an address");
/// assert_eq!(e.to_string(), "server.listen: not an address");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct ConfigError {
    /// The key in error, as a path (`destinations[0] "log".path`).
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

impl ConfigError {
    /// A problem with `key`.
    ///
    /// ```
    /// let e = stripe_chat_server::config::ConfigError::new("k", "p");
    /// assert_eq!(e.key, "k");
    /// ```
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// `[server]`: where and how the HTTP listener runs.
///
/// ```
/// let s: stripe_chat_server::config::ServerSection = toml::from_str(r#"listen = "127.0.0.1:8787""#)?;
/// assert_eq!(s.body_limit_bytes, 1024 * 1024);
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Address to listen on (default `127.0.0.1:8787`): `IP:PORT` (`127.0.0.1:8787`, `[::1]:8787`)
    /// or `HOST:PORT` (`localhost:8787`), a host name being resolved once, when the file is read
    /// (its first address).
    #[serde(default = "default_listen", deserialize_with = "listen_address")]
    pub listen: SocketAddr,
    /// Largest accepted webhook body; larger ones get 413 without being read whole.
    #[serde(default = "default_body_limit")]
    pub body_limit_bytes: usize,
    /// On SIGTERM: how long in-flight work may take before the process exits.
    #[serde(default = "default_grace")]
    pub shutdown_grace_secs: u64,
    /// On SIGTERM: how long the service keeps serving after `/readyz` starts answering `503`,
    /// so that load balancers stop routing to it before it stops accepting connections.
    #[serde(default)]
    pub drain_delay_secs: u64,
    /// How long a client may take to send a request's head (request line and headers), counted
    /// from the connection's start or the end of its previous request; also how long an idle
    /// keep-alive connection stays open. A client that is slower is disconnected.
    #[serde(default = "default_read_timeout")]
    pub header_timeout_secs: u64,
    /// How long a client may take to send a webhook's body once its head has arrived; a slower
    /// one gets `408` and is disconnected. Stripe sends its body at once.
    #[serde(default = "default_read_timeout")]
    pub body_timeout_secs: u64,
    /// Most connections open at once; further clients wait in the system's listen queue until
    /// one closes. Bounds the memory clients can hold: at most about `max_connections ×
    /// body_limit_bytes` of request bodies.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// A second listener for what only operators need (`/metrics`, with `/healthz` and
    /// `/readyz`); when set, the public listener no longer serves `/metrics`. Keep it off the
    /// internet (`127.0.0.1:9090`, or a private network).
    #[serde(default)]
    pub admin_listen: Option<SocketAddr>,
}

impl ServerSection {
    /// [`header_timeout_secs`](Self::header_timeout_secs) as a duration.
    ///
    /// ```
    /// let s: stripe_chat_server::config::ServerSection = toml::from_str(r#"listen = "127.0.0.1:0""#)?;
    /// assert_eq!(s.header_timeout().as_secs(), 5);
    /// # Ok::<(), toml::de::Error>(())
    /// ```
    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs)
    }

    /// [`drain_delay_secs`](Self::drain_delay_secs) as a duration.
    ///
    /// ```
    /// let s: stripe_chat_server::config::ServerSection = toml::from_str(r#"listen = "127.0.0.1:0""#)?;
    /// assert!(s.drain_delay().is_zero());
    /// # Ok::<(), toml::de::Error>(())
    /// ```
    pub fn drain_delay(&self) -> Duration {
        Duration::from_secs(self.drain_delay_secs)
    }

    /// [`body_timeout_secs`](Self::body_timeout_secs) as a duration.
    ///
    /// ```
    /// let s: stripe_chat_server::config::ServerSection = toml::from_str("listen = \"127.0.0.1:0\"\nbody_timeout_secs = 3")?;
    /// assert_eq!(s.body_timeout().as_secs(), 3);
    /// # Ok::<(), toml::de::Error>(())
    /// ```
    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_secs)
    }
}

/// `server.listen`: an address, or a host name and port resolved to its first address; an error
/// names the key and says what is expected.
fn listen_address<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<SocketAddr, D::Error> {
    use serde::de::Error;
    let text = String::deserialize(deserializer)?;
    resolve_listen(&text).map_err(D::Error::custom)
}

/// `text` as a listening address: `IP:PORT`, or `HOST:PORT` resolved (its first address).
///
/// ```
/// use stripe_chat_server::config::resolve_listen;
/// assert_eq!(resolve_listen("127.0.0.1:8787")?.port(), 8787);
/// assert!(resolve_listen("localhost:8787")?.ip().is_loopback());
/// assert!(resolve_listen("8787").unwrap_err().starts_with("server.listen: \"8787\" is not HOST:PORT"));
/// # Ok::<(), String>(())
/// ```
pub fn resolve_listen(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let expected = "(an address and port such as 127.0.0.1:8787, [::1]:8787 or localhost:8787)";
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!(
            "server.listen: {text:?} is not HOST:PORT {expected}"
        ));
    };
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!(
            "server.listen: {text:?} is not HOST:PORT {expected}"
        ));
    }
    match text.to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| format!("server.listen: the host name {host:?} resolves to no address")),
        Err(e) => Err(format!(
            "server.listen: cannot resolve the host name {host:?} ({e}) {expected}"
        )),
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8787))
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: default_listen(),
            body_limit_bytes: default_body_limit(),
            shutdown_grace_secs: default_grace(),
            drain_delay_secs: 0,
            header_timeout_secs: default_read_timeout(),
            body_timeout_secs: default_read_timeout(),
            max_connections: default_max_connections(),
            admin_listen: None,
        }
    }
}

fn default_body_limit() -> usize {
    1024 * 1024
}

fn default_grace() -> u64 {
    10
}

fn default_read_timeout() -> u64 {
    5
}

fn default_max_connections() -> usize {
    1024
}

/// `[stripe]`: webhook signing secrets and tolerance.
///
/// ```
/// let s: stripe_chat_server::config::StripeSection = toml::from_str(r#"webhook_secrets = ["whsec_a", "whsec_b"]"#)?;
/// assert_eq!(s.tolerance_secs, 300);
/// assert!(!format!("{s:?}").contains("whsec_a"));
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StripeSection {
    /// Endpoint secrets (`whsec_...`); several while a secret is rolled.
    #[serde(default)]
    pub webhook_secrets: Vec<Secret>,
    /// An environment variable holding more secrets, comma-separated.
    #[serde(default)]
    pub webhook_secrets_env: Option<String>,
    /// A file holding more secrets, one per line (a Docker or Kubernetes secret, a systemd
    /// credential).
    #[serde(default)]
    pub webhook_secrets_file: Option<PathBuf>,
    /// Largest accepted distance between the signature's timestamp and now, in seconds.
    #[serde(default = "default_tolerance")]
    pub tolerance_secs: u64,
    /// `stripe-chat backfill` and `[enrich]`: the environment variable holding the Stripe API
    /// key (default [`DEFAULT_API_KEY_ENV`]). The key itself is never written in the file.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// `stripe-chat backfill` and `[enrich]`: a file holding the Stripe API key, instead of
    /// [`api_key_env`](Self::api_key_env).
    #[serde(default)]
    pub api_key_file: Option<PathBuf>,
    /// `stripe-chat backfill` and `[enrich]`: where Stripe's API is (default
    /// `https://api.stripe.com/`; a proxy, or a mock server in tests).
    #[serde(default)]
    pub api_base: Option<String>,
    /// `[stripe.accounts.<acct_id>]`: one API key per Stripe account, for a team with several
    /// (one per legal entity); an action on an object of that account uses its key. Objects of
    /// other connected accounts use the key above with `Stripe-Account`.
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountConfig>,
}

fn default_tolerance() -> u64 {
    300
}

/// The environment variable `stripe-chat backfill` reads the Stripe API key from, unless
/// `stripe.api_key_env` names another.
///
/// ```
/// assert_eq!(stripe_chat_server::config::DEFAULT_API_KEY_ENV, "STRIPE_API_KEY");
/// ```
pub const DEFAULT_API_KEY_ENV: &str = "STRIPE_API_KEY";

/// How `stripe-chat backfill` reaches Stripe's API: from `[stripe]`, checked.
///
/// ```
/// let api = stripe_chat_server::config::StripeApi::default();
/// assert_eq!(api.api_key_env, "STRIPE_API_KEY");
/// assert_eq!(api.api_base, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeApi {
    /// The environment variable holding the API key (`sk_…` or a restricted `rk_…` key that may
    /// read events), unless [`api_key_file`](Self::api_key_file) is set.
    pub api_key_env: String,
    /// The file holding the API key, when the key comes from a file.
    pub api_key_file: Option<PathBuf>,
    /// Where Stripe's API is, when not `https://api.stripe.com/`.
    pub api_base: Option<String>,
}

impl Default for StripeApi {
    fn default() -> Self {
        StripeApi {
            api_key_env: DEFAULT_API_KEY_ENV.to_owned(),
            api_key_file: None,
            api_base: None,
        }
    }
}

impl StripeApi {
    /// The API key: read from [`api_key_file`](Self::api_key_file) when set, else from the
    /// environment variable [`api_key_env`](Self::api_key_env) through `env`; surrounding
    /// whitespace trimmed. The error says where the key was looked for, never what was there.
    ///
    /// ```
    /// let api = stripe_chat_server::config::StripeApi::default();
    /// let key = api.api_key(|name| (name == "STRIPE_API_KEY").then(|| " rk_test_1\n".to_string()))?;
    /// assert_eq!(key.expose(), "rk_test_1");
    /// let err = api.api_key(|_| None).unwrap_err();
    /// assert_eq!(err, "the environment variable STRIPE_API_KEY is not set (stripe.api_key_env names it)");
    /// # Ok::<(), String>(())
    /// ```
    pub fn api_key(&self, env: impl Fn(&str) -> Option<String>) -> Result<Secret, String> {
        let key = match &self.api_key_file {
            Some(path) => {
                let text = read_secret_file(path)?;
                let key = text.trim();
                if key.is_empty() {
                    return Err(format!(
                        "the file {} is empty (stripe.api_key_file names it)",
                        path.display()
                    ));
                }
                key.to_owned()
            }
            None => {
                let var = &self.api_key_env;
                env(var)
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| {
                        format!(
                            "the environment variable {var} is not set (stripe.api_key_env names it)"
                        )
                    })?
            }
        };
        Ok(Secret::new(key))
    }
}

/// The text of a file holding secrets; the error names the file and why it cannot be read.
fn read_secret_file(path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// `Ok` for an absolute `http(s)` URL with a host, without user information, query or fragment.
fn check_api_base(url: &str) -> Result<(), &'static str> {
    let (scheme, rest) = url.split_once("://").ok_or("is not an http(s) URL")?;
    if !matches!(scheme, "http" | "https") {
        return Err("is not an http(s) URL");
    }
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err("has no host");
    }
    if host.contains('@') || rest.contains(['?', '#']) {
        return Err("must not have user information, a query or a fragment");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("has spaces or control characters");
    }
    Ok(())
}

/// `[store]`: where events and delivery jobs are kept, and for how long.
///
/// ```
/// use std::time::Duration;
/// let s: stripe_chat_server::config::StoreSection = toml::from_str(r#"sqlite = "data/stripe-chat.db""#)?;
/// assert!(s.sqlite.ends_with("stripe-chat.db"));
/// assert_eq!(s.retention, Duration::from_secs(30 * 24 * 3600));
///
/// let s: stripe_chat_server::config::StoreSection = toml::from_str("sqlite = \"s.db\"\nretention = \"7d\"")?;
/// assert_eq!(s.retention, Duration::from_secs(7 * 24 * 3600));
/// assert!(toml::from_str::<stripe_chat_server::config::StoreSection>("sqlite = \"s.db\"\nretention = \"1d\"").is_err());
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawStoreSection")]
pub struct StoreSection {
    /// The SQLite file (created with its directory when missing).
    pub sqlite: PathBuf,
    /// How long delivered events and finished jobs are kept before the service prunes them
    /// (`retention = "30d"`; default [`DEFAULT_RETENTION`], at least [`MIN_RETENTION`]).
    /// Pending and leased jobs and dead letters (with their events, and the message refs of
    /// their objects) are kept whatever their age.
    pub retention: Duration,
}

/// The retention when `[store] retention` is not given: 30 days, the time Stripe keeps events
/// (so `stripe-chat backfill` never finds one that was already pruned).
///
/// ```
/// assert_eq!(stripe_chat_server::config::DEFAULT_RETENTION.as_secs(), 30 * 86_400);
/// ```
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 86_400);

/// The shortest `[store] retention` accepted: 3 days. Stripe retries a webhook for up to three
/// days, and a pruned event id is no longer deduplicated, so a shorter retention could deliver a
/// retried event twice.
///
/// ```
/// assert_eq!(stripe_chat_server::config::MIN_RETENTION.as_secs(), 3 * 86_400);
/// ```
pub const MIN_RETENTION: Duration = Duration::from_secs(3 * 86_400);

/// `[store]` as written, checked into a [`StoreSection`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStoreSection {
    sqlite: PathBuf,
    #[serde(default)]
    retention: Option<toml::Value>,
}

impl TryFrom<RawStoreSection> for StoreSection {
    type Error = ConfigError;

    fn try_from(raw: RawStoreSection) -> Result<Self, ConfigError> {
        let retention = match raw.retention {
            None => DEFAULT_RETENTION,
            Some(toml::Value::String(text)) => parse_retention(&text)?,
            Some(_) => {
                return Err(ConfigError::new(
                    "store.retention",
                    "must be a duration such as \"30d\"",
                ));
            }
        };
        Ok(StoreSection {
            sqlite: raw.sqlite,
            retention,
        })
    }
}

/// A retention as written (`"30d"`, `"72h"`), at least [`MIN_RETENTION`].
///
/// ```
/// use stripe_chat_server::config::parse_retention;
/// assert_eq!(parse_retention("4d12h")?.as_secs(), 4 * 86_400 + 12 * 3600);
/// let err = parse_retention("2d").unwrap_err();
/// assert_eq!(err.key, "store.retention");
/// assert!(err.problem.contains("at least 3 days"), "{err}");
/// assert!(parse_retention("a month").is_err());
/// # Ok::<(), stripe_chat_server::config::ConfigError>(())
/// ```
pub fn parse_retention(text: &str) -> Result<Duration, ConfigError> {
    let retention = stripe_chat_route::parse_duration(text).ok_or_else(|| {
        ConfigError::new(
            "store.retention",
            format!("{text:?} is not a duration such as \"30d\", \"72h\" or \"4d12h\""),
        )
    })?;
    if retention < MIN_RETENTION {
        return Err(ConfigError::new(
            "store.retention",
            format!(
                "{text:?} is too short: keep events at least 3 days (\"3d\"), since Stripe retries \
                 a webhook for up to 3 days and a pruned event is no longer recognised as a \
                 duplicate"
            ),
        ));
    }
    Ok(retention)
}

/// `[delivery]`: retries and worker settings shared by every destination.
///
/// Transient failures (timeouts, refused connections, 5xx) and rate limits are retried until
/// the **retry horizon** has passed since the job was queued; only then, or on a permanent error
/// (a bad channel or token, a message the platform refuses), does a job go to the dead-letter
/// list. A destination that fails `pause_after_failures` times in a row is **paused** as a
/// whole: one probe at a time tests it, on a backoff from `initial_backoff_ms` doubling up to
/// `max_backoff_ms` and never over a minute, while its other jobs wait without making requests
/// or spending attempts. `max_attempts` bounds the tries of a job that keeps failing while its
/// destination works for other jobs (a fault of that one message), and the leases of a job
/// whose worker died holding it.
///
/// ```
/// let d = stripe_chat_server::config::DeliverySection::default();
/// assert_eq!(d.max_attempts, 8);
/// assert_eq!(d.retry_horizon.as_secs(), 72 * 3600);
/// let d: stripe_chat_server::config::DeliverySection = toml::from_str(r#"retry_horizon = "6h""#)?;
/// assert_eq!(d.retry_horizon.as_secs(), 6 * 3600);
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySection {
    /// Tries of a job that fails while its destination otherwise works, before it goes to the
    /// dead-letter list (failures while the destination is paused do not count).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// How long transient failures and rate limits are retried, counted from when the job was
    /// queued (`"72h"`; a destination may set its own `retry_horizon`).
    #[serde(default = "default_horizon", deserialize_with = "duration")]
    pub retry_horizon: Duration,
    /// Transient failures in a row, across the destination's jobs, that pause the destination.
    #[serde(default = "default_pause_after")]
    pub pause_after_failures: u32,
    /// A message sent this long after its job was queued says so in its footer ("Delayed 2 h
    /// 14 min by a Slack outage"); while such a backlog drains, a job about an object whose
    /// newer event is queued too is left to that newer one where the platform edits messages.
    #[serde(default = "default_late", deserialize_with = "duration")]
    pub late_note_after: Duration,
    /// First retry delay for transient errors, doubled each try (with jitter).
    #[serde(default = "default_backoff")]
    pub initial_backoff_ms: u64,
    /// Longest retry delay.
    #[serde(default = "default_max_backoff")]
    pub max_backoff_ms: u64,
    /// Concurrent deliveries.
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// How long a worker holds a job before another may take it (a worker that died).
    #[serde(default = "default_lease")]
    pub lease_secs: u64,
}

fn default_attempts() -> u32 {
    8
}
fn default_horizon() -> Duration {
    Duration::from_secs(72 * 3600)
}
fn default_pause_after() -> u32 {
    3
}
fn default_late() -> Duration {
    Duration::from_secs(120)
}

/// A duration written as `"90s"`, `"15m"`, `"1h30m"`, `"3d"` or `"1w"`.
fn duration<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    stripe_chat_route::parse_duration(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "{text:?} is not a duration such as \"90s\", \"15m\", \"1h30m\", \"3d\" or \"1w\""
        ))
    })
}
fn default_backoff() -> u64 {
    500
}
fn default_max_backoff() -> u64 {
    300_000
}
fn default_workers() -> usize {
    4
}
fn default_lease() -> u64 {
    60
}

impl Default for DeliverySection {
    fn default() -> Self {
        DeliverySection {
            max_attempts: default_attempts(),
            retry_horizon: default_horizon(),
            pause_after_failures: default_pause_after(),
            late_note_after: default_late(),
            initial_backoff_ms: default_backoff(),
            max_backoff_ms: default_max_backoff(),
            workers: default_workers(),
            lease_secs: default_lease(),
        }
    }
}

/// `[audit]`: the tamper-evident audit log of actions and operator commands.
///
/// Records live in the store; every `checkpoint_every` records (or `checkpoint_interval` after
/// the last new one) the log's size and head hash are signed with the key in `signing_key_file`,
/// which must be kept outside the store (readable only by the service). `stripe-chat audit
/// verify` checks the log with `verifier_key` (the public half, `name+id+key`), or with the
/// public half of the signing key when it can read it.
///
/// ```
/// let a: stripe_chat_server::config::AuditSection = toml::from_str("signing_key_file = \"/etc/stripe-chat/audit.key\"")?;
/// assert_eq!(a.name, "stripe-chat");
/// assert_eq!((a.checkpoint_every, a.checkpoint_interval.as_secs()), (100, 600));
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// The log's name in its checkpoints: one per deployment (`acme-prod`).
    #[serde(default = "default_audit_name")]
    pub name: String,
    /// The file holding the checkpoint signing key (`stripe-chat audit keygen` writes one).
    #[serde(default)]
    pub signing_key_file: Option<PathBuf>,
    /// The verifier key checkpoints are checked with (`name+id+key`).
    #[serde(default)]
    pub verifier_key: Option<String>,
    /// The verifier keys of signing keys this one replaced: checkpoints they signed stay
    /// verifiable after a rotation.
    #[serde(default)]
    pub retired_verifier_keys: Vec<String>,
    /// New records that call for a checkpoint.
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: u64,
    /// Time after which new records call for a checkpoint.
    #[serde(default = "default_checkpoint_interval", deserialize_with = "duration")]
    pub checkpoint_interval: Duration,
    /// A destination (a `[[destinations]]` name) every signed checkpoint is also posted to: a
    /// copy outside the database, which makes cutting the log's tail or rewriting it detectable.
    #[serde(default)]
    pub post_checkpoints_to: Option<String>,
}

fn default_audit_name() -> String {
    "stripe-chat".to_owned()
}
fn default_checkpoint_every() -> u64 {
    100
}
fn default_checkpoint_interval() -> Duration {
    Duration::from_secs(600)
}

impl Default for AuditSection {
    fn default() -> Self {
        AuditSection {
            name: default_audit_name(),
            signing_key_file: None,
            verifier_key: None,
            retired_verifier_keys: Vec::new(),
            checkpoint_every: default_checkpoint_every(),
            checkpoint_interval: default_checkpoint_interval(),
            post_checkpoints_to: None,
        }
    }
}

/// `[enrich]`: fill in what events leave out (decline reason, card, customer, plan) from
/// Stripe's API before transforming them, with the key and API base of `[stripe]`
/// (`api_key_env` or `api_key_file`, `api_base`).
///
/// ```
/// use std::time::Duration;
/// let e: stripe_chat_server::config::EnrichSection = toml::from_str("enabled = true")?;
/// assert_eq!((e.timeout_ms, e.cache_ttl, e.max_calls_per_second), (2000, Duration::from_secs(60), 20.0));
/// let e: stripe_chat_server::config::EnrichSection = toml::from_str("enabled = true\ntimeout_ms = 500\ncache_ttl = \"5m\"")?;
/// assert_eq!(e.cache_ttl.as_secs(), 300);
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrichSection {
    /// Read the details from Stripe (default off).
    #[serde(default)]
    pub enabled: bool,
    /// The most an event waits for its details, in milliseconds (1 to 30,000; default 2,000).
    /// Past it the message goes out without them, marked "details unavailable".
    #[serde(default = "default_enrich_timeout")]
    pub timeout_ms: u64,
    /// How long an answer is kept for later events about the same object (`"60s"`; `"0s"`
    /// keeps none).
    #[serde(default = "default_enrich_ttl", deserialize_with = "duration")]
    pub cache_ttl: Duration,
    /// The most calls to Stripe's API a second, shared with chat actions (above 0, at most
    /// 100, Stripe's live-mode read limit; default 20, below the test-mode limit of 25).
    #[serde(default = "default_enrich_rate")]
    pub max_calls_per_second: f64,
    /// The API key, read from `[stripe]` when enrichment is enabled.
    #[serde(skip)]
    pub api_key: Option<Secret>,
}

fn default_enrich_timeout() -> u64 {
    2000
}
fn default_enrich_ttl() -> Duration {
    Duration::from_secs(60)
}
fn default_enrich_rate() -> f64 {
    20.0
}

impl Default for EnrichSection {
    fn default() -> Self {
        EnrichSection {
            enabled: false,
            timeout_ms: default_enrich_timeout(),
            cache_ttl: default_enrich_ttl(),
            max_calls_per_second: default_enrich_rate(),
            api_key: None,
        }
    }
}

/// `[interactions]`: the platforms whose clicks reach stripe-chat, each with what verifies its
/// requests. A platform without its table has no endpoint (`404`).
///
/// ```
/// let i: stripe_chat_server::config::InteractionsSection = toml::from_str(r#"
/// [slack]
/// signing_secret_env = "SLACK_SIGNING_SECRET"
/// [discord]
/// public_key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
/// "#)?;
/// assert!(i.slack.is_some() && i.discord.is_some());
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InteractionsSection {
    /// `[interactions.slack]`.
    #[serde(default)]
    pub slack: Option<SlackInteractionsSection>,
    /// `[interactions.discord]`.
    #[serde(default)]
    pub discord: Option<DiscordInteractionsSection>,
}

/// `[interactions.slack]`: the Slack app's signing secret (Basic Information → App
/// Credentials), inline, from an environment variable or from a file; exactly one.
///
/// ```
/// let s: stripe_chat_server::config::SlackInteractionsSection = toml::from_str("signing_secret = \"8f742231b10e8888abcd99yyyzzz85a5\"")?;
/// assert!(!format!("{s:?}").contains("8f742231"));
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackInteractionsSection {
    /// The signing secret itself (prefer `signing_secret_env` or `signing_secret_file`).
    #[serde(default)]
    pub signing_secret: Option<Secret>,
    /// The environment variable holding it (usually `SLACK_SIGNING_SECRET`).
    #[serde(default)]
    pub signing_secret_env: Option<String>,
    /// A file holding it (its trailing newline is trimmed).
    #[serde(default)]
    pub signing_secret_file: Option<PathBuf>,
}

/// `[interactions.discord]`: the Discord application's public key (General Information), 64
/// hex characters.
///
/// ```
/// let d: stripe_chat_server::config::DiscordInteractionsSection = toml::from_str("public_key = \"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\"")?;
/// assert_eq!(d.public_key.len(), 64);
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordInteractionsSection {
    /// The application's Ed25519 public key, hex.
    pub public_key: String,
    /// Where interaction responses and follow-ups go (default `https://discord.com/api/v10`).
    #[serde(default)]
    pub api_base: Option<String>,
}

/// `[interactions]`, checked: the verifiers of the platforms whose clicks are taken.
///
/// ```
/// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[stripe]\nwebhook_secrets = [\"whsec_a\"]\n[store]\nsqlite = \"x.db\"\n[interactions.slack]\nsigning_secret = \"s3cr3t\"\n")?;
/// assert!(config.interactions.slack.is_some() && config.interactions.discord.is_none());
/// assert!(config.interactions.any());
/// # Ok::<(), stripe_chat_server::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Interactions {
    /// Slack's request verifier, when `[interactions.slack]` is set.
    pub slack: Option<stripe_chat_slack::interaction::SlackVerifier>,
    /// Discord's request verifier, when `[interactions.discord]` is set.
    pub discord: Option<stripe_chat_discord::interaction::DiscordVerifier>,
    /// The bot-mode Slack destinations (name, channel, adapter), through which answers to Slack
    /// clicks go out (the one whose channel the click is in, else the first).
    pub slack_bots: Vec<(String, String, Arc<stripe_chat_slack::SlackProvider>)>,
    /// Where Discord interaction responses and follow-ups go (`[interactions.discord]
    /// api_base`).
    pub discord_api_base: String,
    /// The first Discord destination in bot mode or with `interactive = true` (an
    /// application-owned webhook), through which a message is edited after a click on a private
    /// prompt about it.
    pub discord_messages: Option<Arc<stripe_chat_discord::DiscordProvider>>,
    /// What answers Discord interactions (its HTTP client made once), when
    /// `[interactions.discord]` is set.
    pub discord_answerer: Option<stripe_chat_discord::actions::DiscordAnswerer>,
    /// The Slack bot used when no bot-mode Slack destination is configured: it answers through
    /// the `response_url` only (it has no token to update messages with).
    pub slack_fallback: Option<Arc<stripe_chat_slack::SlackProvider>>,
}

impl Interactions {
    /// Whether any platform's clicks are taken.
    ///
    /// ```
    /// assert!(!stripe_chat_server::config::Interactions::default().any());
    /// ```
    pub fn any(&self) -> bool {
        self.slack.is_some() || self.discord.is_some()
    }

    /// The Slack bot that answers a click in `channel`.
    ///
    /// ```
    /// assert!(stripe_chat_server::config::Interactions::default().slack_bot(Some("C1")).is_none());
    /// ```
    pub fn slack_bot(
        &self,
        channel: Option<&str>,
    ) -> Option<&Arc<stripe_chat_slack::SlackProvider>> {
        self.slack_bots
            .iter()
            .find(|(_, c, _)| Some(c.as_str()) == channel)
            .or_else(|| self.slack_bots.first())
            .map(|(_, _, bot)| bot)
            .or(self.slack_fallback.as_ref())
    }
}

fn interactions(
    raw: &InteractionsSection,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Interactions, ConfigError> {
    let mut checked = Interactions::default();
    if let Some(slack) = &raw.slack {
        let key = "interactions.slack.signing_secret";
        let secret = match (
            &slack.signing_secret,
            &slack.signing_secret_env,
            &slack.signing_secret_file,
        ) {
            (Some(secret), None, None) => secret.expose().to_owned(),
            (None, Some(var), None) => {
                env(var).filter(|v| !v.trim().is_empty()).ok_or_else(|| {
                    ConfigError::new(
                        "interactions.slack.signing_secret_env",
                        format!("the environment variable {var} is not set"),
                    )
                })?
            }
            (None, None, Some(path)) => read_secret_file(path)
                .map_err(|p| ConfigError::new("interactions.slack.signing_secret_file", p))?,
            (None, None, None) => {
                return Err(ConfigError::new(
                    key,
                    "missing (set signing_secret, signing_secret_env or signing_secret_file)",
                ));
            }
            _ => {
                return Err(ConfigError::new(
                    key,
                    "set only one of signing_secret, signing_secret_env and signing_secret_file",
                ));
            }
        };
        let secret = secret.trim();
        if secret.is_empty() {
            return Err(ConfigError::new(key, "is empty"));
        }
        checked.slack = Some(stripe_chat_slack::interaction::SlackVerifier::new(secret));
        checked.slack_fallback = Some(Arc::new(stripe_chat_slack::SlackProvider::bot(
            Secret::new(""),
            "",
        )));
    }
    if let Some(discord) = &raw.discord {
        checked.discord_api_base = discord
            .api_base
            .clone()
            .unwrap_or_else(|| "https://discord.com/api/v10".to_owned());
        stripe_chat_http::endpoint(checked.discord_api_base.trim())
            .map_err(|e| ConfigError::new("interactions.discord.api_base", e.to_string()))?;
        checked.discord = Some(
            stripe_chat_discord::interaction::DiscordVerifier::from_hex(&discord.public_key)
                .map_err(|e| ConfigError::new("interactions.discord.public_key", e.reason))?,
        );
    }
    Ok(checked)
}

/// The configuration file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: ServerSection,
    stripe: StripeSection,
    store: RawStoreSection,
    #[serde(default)]
    delivery: DeliverySection,
    #[serde(default)]
    audit: AuditSection,
    #[serde(default)]
    actions: ActionsConfig,
    #[serde(default)]
    roles: Vec<RoleConfig>,
    #[serde(default)]
    people: Vec<PersonConfig>,
    #[serde(default)]
    enrich: EnrichSection,
    #[serde(default)]
    interactions: InteractionsSection,
    #[serde(default)]
    destinations: Vec<toml::Table>,
    #[serde(default)]
    routes: Vec<toml::Table>,
}

/// A destination, ready to deliver.
#[derive(Clone)]
pub struct Destination {
    /// Its name, as routes refer to it.
    pub name: String,
    /// The adapter.
    pub provider: Arc<dyn ChatProvider>,
    /// Its redaction policy.
    pub redaction: RedactionConfig,
    /// Post a short reply in the message's thread when a later event updates it.
    pub thread_replies: bool,
    /// Most messages per second sent to it (`None`: the platform's documented pace, if any).
    pub max_per_second: Option<f64>,
    /// Its own retry horizon (`None`: `[delivery] retry_horizon`).
    pub retry_horizon: Option<Duration>,
    /// For a `file` destination: the file it appends to (shown at start-up).
    pub file_path: Option<PathBuf>,
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Destination")
            .field("name", &self.name)
            .field("provider", &self.provider.platform())
            .field("redaction", &self.redaction.level)
            .field("thread_replies", &self.thread_replies)
            .field("max_per_second", &self.max_per_second)
            .field("retry_horizon", &self.retry_horizon)
            .finish()
    }
}

/// The checked configuration: every destination built, every route pointing at one, secrets read.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// `[server]`.
    pub server: ServerSection,
    /// `[store]`.
    pub store: StoreSection,
    /// `[delivery]`.
    pub delivery: DeliverySection,
    /// The webhook verifier with every configured secret.
    pub verifier: WebhookVerifier,
    /// Destinations by name, in file order.
    pub destinations: Vec<Destination>,
    /// The routes.
    pub routes: Routes,
    /// How `stripe-chat backfill` reaches Stripe's API.
    pub stripe_api: StripeApi,
    /// `[stripe.accounts]`: one API key per Stripe account (keys are read when the actions'
    /// Stripe client is built).
    pub stripe_accounts: BTreeMap<String, AccountConfig>,
    /// `[audit]`.
    pub audit: AuditSection,
    /// `[[roles]]` and `[[people]]`: who may do what from chat (nobody, when empty).
    pub permissions: Permissions,
    /// `[actions]`, checked.
    pub actions: CheckedActions,
    /// `[enrich]`, with the API key read when it is enabled.
    pub enrich: EnrichSection,
    /// `[interactions]`, checked.
    pub interactions: Interactions,
}

impl ServiceConfig {
    /// Parses and checks a configuration file's text, reading secrets from the process environment.
    ///
    /// ```
    /// let config = stripe_chat_server::config::ServiceConfig::from_toml(r#"
    /// [server]
    /// listen = "127.0.0.1:8787"
    /// [stripe]
    /// webhook_secrets = ["whsec_demo"]
    /// [store]
    /// sqlite = "demo-data/stripe-chat.db"
    /// [[destinations]]
    /// name = "log"
    /// provider = "file"
    /// path = "demo-data/messages.jsonl"
    /// [[routes]]
    /// events = ["*"]
    /// to = ["log"]
    /// "#)?;
    /// assert_eq!(config.destinations[0].name, "log");
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Self::from_toml_with_env(text, |name| std::env::var(name).ok())
    }

    /// Like [`ServiceConfig::from_toml`], with the environment given as a lookup: every `*_env`
    /// key (`stripe.webhook_secrets_env`, and each adapter's) is read through `env`, never from
    /// the process environment.
    ///
    /// ```
    /// let text = "[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets_env = \"SECRETS\"\n[store]\nsqlite = \"x.db\"\n";
    /// let config = stripe_chat_server::config::ServiceConfig::from_toml_with_env(text, |name| {
    ///     (name == "SECRETS").then(|| "whsec_a,whsec_b".to_string())
    /// })?;
    /// assert_eq!(config.verifier.secret_count(), 2);
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn from_toml_with_env(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Self::from_toml_with_providers(text, env, &crate::providers::builtin())
    }

    /// Like [`ServiceConfig::from_toml_with_env`], with the adapters a destination's `provider`
    /// may name given as a registry: the built-in ones ([`crate::providers::builtin`]) and a
    /// program's own.
    ///
    /// ```
    /// let text = "[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_a\"]\n\
    ///     [store]\nsqlite = \"x.db\"\n[[destinations]]\nname = \"log\"\nprovider = \"file\"\npath = \"m.jsonl\"\n";
    /// let only_slack = stripe_chat_server::config::ProviderRegistry::new().with(stripe_chat_slack::SlackFactory);
    /// let error = stripe_chat_server::config::ServiceConfig::from_toml_with_providers(text, |_| None, &only_slack)
    ///     .unwrap_err();
    /// assert_eq!(error.to_string(), "destinations[0] \"log\".provider: unknown provider \"file\" (expected slack)");
    /// ```
    pub fn from_toml_with_providers(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
        providers: &ProviderRegistry,
    ) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        let store = StoreSection::try_from(raw.store)?;

        let mut secrets: Vec<WebhookSecret> = raw
            .stripe
            .webhook_secrets
            .iter()
            .map(|s| WebhookSecret::new(s.expose()))
            .collect();
        if let Some(var) = &raw.stripe.webhook_secrets_env {
            let value = env(var).filter(|v| !v.trim().is_empty()).ok_or_else(|| {
                ConfigError::new(
                    "stripe.webhook_secrets_env",
                    format!("the environment variable {var} is not set"),
                )
            })?;
            secrets.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(WebhookSecret::new),
            );
        }
        if let Some(path) = &raw.stripe.webhook_secrets_file {
            let text = read_secret_file(path)
                .map_err(|problem| ConfigError::new("stripe.webhook_secrets_file", problem))?;
            let before = secrets.len();
            secrets.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(WebhookSecret::new),
            );
            if secrets.len() == before {
                return Err(ConfigError::new(
                    "stripe.webhook_secrets_file",
                    format!("{} holds no secret", path.display()),
                ));
            }
        }
        if secrets.is_empty() {
            return Err(ConfigError::new(
                "stripe.webhook_secrets",
                "no webhook signing secret (set webhook_secrets, webhook_secrets_env or webhook_secrets_file)",
            ));
        }
        if let Some(i) = secrets
            .iter()
            .position(|s| !s.expose().starts_with("whsec_"))
        {
            return Err(ConfigError::new(
                format!("stripe.webhook_secrets[{i}]"),
                "a Stripe endpoint secret starts with whsec_",
            ));
        }
        if raw.stripe.tolerance_secs == 0 {
            return Err(ConfigError::new(
                "stripe.tolerance_secs",
                "must be at least 1",
            ));
        }
        let mut stripe_api = StripeApi::default();
        if let Some(var) = &raw.stripe.api_key_env {
            let var = var.trim();
            if var.is_empty() || var.contains(['=', '\0']) {
                return Err(ConfigError::new(
                    "stripe.api_key_env",
                    "must name an environment variable",
                ));
            }
            var.clone_into(&mut stripe_api.api_key_env);
        }
        if let Some(path) = &raw.stripe.api_key_file {
            if raw.stripe.api_key_env.is_some() {
                return Err(ConfigError::new(
                    "stripe.api_key_file",
                    "set api_key_file or api_key_env, not both",
                ));
            }
            if path.as_os_str().is_empty() {
                return Err(ConfigError::new("stripe.api_key_file", "is empty"));
            }
            stripe_api.api_key_file = Some(path.clone());
        }
        if let Some(base) = &raw.stripe.api_base {
            let base = base.trim();
            check_api_base(base).map_err(|problem| {
                ConfigError::new("stripe.api_base", format!("{base:?} {problem}"))
            })?;
            stripe_api.api_base = Some(base.to_owned());
        }
        let verifier = WebhookVerifier::new(secrets)
            .with_tolerance(Duration::from_secs(raw.stripe.tolerance_secs));

        if raw.server.body_limit_bytes < 1024 {
            return Err(ConfigError::new(
                "server.body_limit_bytes",
                "must be at least 1024",
            ));
        }
        for (key, secs) in [
            ("server.header_timeout_secs", raw.server.header_timeout_secs),
            ("server.body_timeout_secs", raw.server.body_timeout_secs),
        ] {
            if !(1..=3600).contains(&secs) {
                return Err(ConfigError::new(key, "must be between 1 and 3600 seconds"));
            }
        }
        if raw.server.drain_delay_secs > 3600 {
            return Err(ConfigError::new(
                "server.drain_delay_secs",
                "must be at most 3600 seconds",
            ));
        }
        if raw.server.max_connections == 0 {
            return Err(ConfigError::new(
                "server.max_connections",
                "must be at least 1",
            ));
        }
        if raw.delivery.max_attempts == 0 {
            return Err(ConfigError::new(
                "delivery.max_attempts",
                "must be at least 1",
            ));
        }
        if raw.delivery.retry_horizon.is_zero() {
            return Err(ConfigError::new(
                "delivery.retry_horizon",
                "must be longer than 0s",
            ));
        }
        if raw.delivery.pause_after_failures == 0 {
            return Err(ConfigError::new(
                "delivery.pause_after_failures",
                "must be at least 1",
            ));
        }
        let audit_name = raw.audit.name.as_str();
        if audit_name.is_empty()
            || audit_name
                .chars()
                .any(|c| c == '+' || c.is_whitespace() || c.is_control())
        {
            return Err(ConfigError::new(
                "audit.name",
                "use letters, digits and punctuation other than '+', without spaces",
            ));
        }
        if raw.audit.checkpoint_every == 0 {
            return Err(ConfigError::new(
                "audit.checkpoint_every",
                "must be at least 1",
            ));
        }
        if raw.delivery.workers == 0 {
            return Err(ConfigError::new("delivery.workers", "must be at least 1"));
        }
        let mut enrich = raw.enrich;
        if !(1..=30_000).contains(&enrich.timeout_ms) {
            return Err(ConfigError::new(
                "enrich.timeout_ms",
                "must be between 1 and 30000",
            ));
        }
        let rate = enrich.max_calls_per_second;
        if !(rate.is_finite() && rate > 0.0 && rate <= 100.0) {
            return Err(ConfigError::new(
                "enrich.max_calls_per_second",
                "must be above 0 and at most 100",
            ));
        }
        if enrich.enabled {
            let key = stripe_api.api_key(&env).map_err(|problem| {
                ConfigError::new(
                    "enrich.enabled",
                    format!("needs a Stripe API key: {problem}"),
                )
            })?;
            let mut client = stripe_chat_stripe::Client::builder(key.clone());
            if let Some(base) = &stripe_api.api_base {
                client = client.api_base(base.clone());
            }
            client
                .build()
                .map_err(|e| ConfigError::new("enrich.enabled", e.message().to_owned()))?;
            enrich.api_key = Some(key);
        }

        let mut interactions = interactions(&raw.interactions, &env)?;
        let mut destinations = Vec::with_capacity(raw.destinations.len());
        let mut names = BTreeSet::new();
        for (index, table) in raw.destinations.into_iter().enumerate() {
            if interactions.slack.is_some()
                && let Some(bot) = slack_bot(&table, &env)
            {
                interactions.slack_bots.push(bot);
            }
            if interactions.discord.is_some() && interactions.discord_messages.is_none() {
                interactions.discord_messages = discord_app_webhook(&table, &env);
            }
            let destination = destination(index, table, &env, providers)?;
            if !names.insert(destination.name.clone()) {
                return Err(ConfigError::new(
                    format!("destinations[{index}].name"),
                    format!("{:?} is used by another destination", destination.name),
                ));
            }
            destinations.push(destination);
        }
        if interactions.discord.is_some() {
            interactions.discord_answerer = Some(
                stripe_chat_discord::actions::DiscordAnswerer::new(
                    &interactions.discord_api_base,
                    interactions.discord_messages.clone(),
                )
                .map_err(|e| ConfigError::new("interactions.discord.api_base", e.message()))?,
            );
        }
        let mut routes = Vec::with_capacity(raw.routes.len());
        let mut route_names = BTreeSet::new();
        for (index, table) in raw.routes.into_iter().enumerate() {
            let route = route(index, table)?;
            if let Some(name) = &route.name
                && !route_names.insert(name.clone())
            {
                return Err(ConfigError::new(
                    format!("routes[{index}].name"),
                    format!("{name:?} is used by another route"),
                ));
            }
            routes.push(route);
        }
        let routes = Routes::new(routes);
        for (index, route) in routes.iter().enumerate() {
            if route.to.is_empty() {
                return Err(ConfigError::new(
                    format!("routes[{index}].to"),
                    "names no destination",
                ));
            }
            for name in &route.to {
                if !names.contains(name) {
                    return Err(ConfigError::new(
                        format!("routes[{index}].to"),
                        format!("no destination is named {name:?}"),
                    ));
                }
            }
        }
        let permissions = Permissions::from_config(&raw.roles, &raw.people)
            .map_err(|e| ConfigError::new(e.key, e.problem))?;
        let actions = raw
            .actions
            .check_with_env(&|name| env(name))
            .map_err(|e| ConfigError::new(e.key(), e.problem()))?;
        let named = |key: &str, name: &str| {
            if names.contains(name) {
                Ok(())
            } else {
                Err(ConfigError::new(
                    key,
                    format!("no destination is named {name:?}"),
                ))
            }
        };
        if let Some(name) = &actions.assign {
            named("actions.assign.destination", name)?;
        }
        for name in &actions.notify {
            named("actions.notify.destinations", name)?;
        }
        if let Some(name) = &raw.audit.post_checkpoints_to {
            named("audit.post_checkpoints_to", name)?;
        }
        for account in raw.stripe.accounts.keys() {
            if !account.starts_with("acct_")
                || !account[5..].bytes().all(|b| b.is_ascii_alphanumeric())
                || account.len() == 5
            {
                return Err(ConfigError::new(
                    format!("stripe.accounts.{account}"),
                    "is not a Stripe account id (acct_…)",
                ));
            }
        }
        Ok(ServiceConfig {
            server: raw.server,
            store,
            delivery: raw.delivery,
            verifier,
            destinations,
            routes,
            stripe_api,
            stripe_accounts: raw.stripe.accounts,
            audit: raw.audit,
            permissions,
            actions,
            enrich,
            interactions,
        })
    }

    /// The destination called `name`.
    ///
    /// ```
    /// # let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_a\"]\n[store]\nsqlite = \"x.db\"\n")?;
    /// assert!(config.destination("nope").is_none());
    /// # Ok::<(), stripe_chat_server::config::ConfigError>(())
    /// ```
    pub fn destination(&self, name: &str) -> Option<&Destination> {
        self.destinations.iter().find(|d| d.name == name)
    }
}

/// The destination in `table` when it is a Slack bot (checked in full as a destination).
fn slack_bot(
    table: &toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<(String, String, Arc<stripe_chat_slack::SlackProvider>)> {
    if table.get("provider").and_then(toml::Value::as_str) != Some("slack") {
        return None;
    }
    let name = table.get("name")?.as_str()?.to_owned();
    let mut settings = table.clone();
    for key in [
        "name",
        "provider",
        "redaction",
        "thread_replies",
        "max_per_second",
        "retry_horizon",
    ] {
        settings.remove(key);
    }
    let config: stripe_chat_slack::SlackConfig = toml::Value::Table(settings).try_into().ok()?;
    let provider = config.build_with_env(|name| env(name)).ok()?;
    let channel = provider.channel()?.to_owned();
    Some((name, channel, Arc::new(provider)))
}

/// The destination in `table` when it is a Discord bot or an interactive (application-owned)
/// Discord webhook.
fn discord_app_webhook(
    table: &toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<Arc<stripe_chat_discord::DiscordProvider>> {
    let bot = ["bot_token", "bot_token_env", "bot_token_file"]
        .iter()
        .any(|key| table.contains_key(*key));
    if table.get("provider").and_then(toml::Value::as_str) != Some("discord")
        || !(bot || table.get("interactive").and_then(toml::Value::as_bool) == Some(true))
    {
        return None;
    }
    let mut settings = table.clone();
    for key in [
        "name",
        "provider",
        "redaction",
        "thread_replies",
        "max_per_second",
        "retry_horizon",
    ] {
        settings.remove(key);
    }
    let config: stripe_chat_discord::DiscordConfig =
        toml::Value::Table(settings).try_into().ok()?;
    config.build_with_env(|name| env(name)).ok().map(Arc::new)
}

/// Builds route `index` from its table, checking its `name` and `digest` key by key.
fn route(index: usize, mut table: toml::Table) -> Result<Route, ConfigError> {
    let at = |key: &str| format!("routes[{index}].{key}");
    let digest = match table.remove("digest") {
        None => None,
        Some(toml::Value::Table(mut digest)) => {
            let window = match digest.remove("window") {
                Some(toml::Value::String(window)) => window,
                Some(_) => {
                    return Err(ConfigError::new(
                        at("digest.window"),
                        "must be a duration such as \"15m\"",
                    ));
                }
                None => return Err(ConfigError::new(at("digest.window"), "missing")),
            };
            let top = match digest.remove("top") {
                None => None,
                Some(toml::Value::Integer(top)) => Some(top),
                Some(_) => {
                    return Err(ConfigError::new(at("digest.top"), "must be a whole number"));
                }
            };
            if let Some(key) = digest.keys().next() {
                return Err(ConfigError::new(
                    at(&format!("digest.{key}")),
                    "unknown key (digest takes window and top)",
                ));
            }
            let digest = Digest::parse(&window, top).map_err(|e| {
                let problem = e.to_string();
                let problem = problem
                    .strip_prefix(&format!("{}: ", e.key()))
                    .unwrap_or(&problem)
                    .to_owned();
                ConfigError::new(at(&format!("digest.{}", e.key())), problem)
            })?;
            Some(digest)
        }
        Some(_) => {
            return Err(ConfigError::new(
                at("digest"),
                "must be a table such as { window = \"15m\", top = 3 }",
            ));
        }
    };
    let mut route: Route = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::new(format!("routes[{index}]"), e.message()))?;
    if let Some(name) = &route.name
        && (name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
    {
        return Err(ConfigError::new(
            at("name"),
            "use letters, digits, '-', '_' or '.'",
        ));
    }
    route.digest = digest;
    Ok(route)
}

/// Builds destination `index` from its table: the common keys, then the adapter's own, through
/// the factory its `provider` names.
fn destination(
    index: usize,
    mut table: toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
    providers: &ProviderRegistry,
) -> Result<Destination, ConfigError> {
    let at = |key: &str| format!("destinations[{index}].{key}");
    let take_str = |table: &mut toml::Table, key: &str| -> Result<Option<String>, ConfigError> {
        match table.remove(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ConfigError::new(at(key), "must be a string")),
        }
    };
    let name =
        take_str(&mut table, "name")?.ok_or_else(|| ConfigError::new(at("name"), "missing"))?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(ConfigError::new(
            at("name"),
            "use letters, digits, '-', '_' or '.'",
        ));
    }
    let here = |key: &str| format!("destinations[{index}] {name:?}.{key}");
    let provider_name = take_str(&mut table, "provider")?
        .ok_or_else(|| ConfigError::new(here("provider"), "missing"))?;
    let redaction: RedactionConfig = match table.remove("redaction") {
        None => RedactionConfig::default(),
        Some(toml::Value::String(level)) => toml::Value::Table(toml::Table::from_iter([(
            "level".to_owned(),
            toml::Value::String(level),
        )]))
        .try_into()
        .map_err(|e: toml::de::Error| {
            ConfigError::new(here("redaction"), e.message().to_owned())
        })?,
        Some(value) => value.try_into().map_err(|e: toml::de::Error| {
            ConfigError::new(here("redaction"), e.message().to_owned())
        })?,
    };
    let thread_replies = match table.remove("thread_replies") {
        None => false,
        Some(toml::Value::Boolean(b)) => b,
        Some(_) => {
            return Err(ConfigError::new(
                here("thread_replies"),
                "must be true or false",
            ));
        }
    };
    let max_per_second = match table.remove("max_per_second") {
        None => None,
        Some(toml::Value::Float(f)) if f > 0.0 => Some(f),
        Some(toml::Value::Integer(i)) if i > 0 => Some(i as f64),
        Some(_) => {
            return Err(ConfigError::new(
                here("max_per_second"),
                "must be a number above 0",
            ));
        }
    };
    let retry_horizon = match table.remove("retry_horizon") {
        None => None,
        Some(toml::Value::String(text)) => Some(
            stripe_chat_route::parse_duration(&text)
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    ConfigError::new(
                        here("retry_horizon"),
                        format!("{text:?} is not a duration such as \"6h\" or \"3d\""),
                    )
                })?,
        ),
        Some(_) => {
            return Err(ConfigError::new(
                here("retry_horizon"),
                "must be a duration such as \"6h\" or \"3d\"",
            ));
        }
    };
    let values = serde_json::to_value(table)
        .map_err(|e| ConfigError::new(format!("destinations[{index}] {name:?}"), e.to_string()))?;
    let provider = providers
        .build(
            &provider_name,
            &Settings::new(&values, env).for_destination(&name),
        )
        .map_err(|e| {
            let e = e.within(&format!("destinations[{index}] {name:?}"));
            ConfigError::new(e.key(), e.problem())
        })?;
    let file_path = provider.local_path().map(Path::to_path_buf);
    // The platform's own pace (Slack: a message a second per channel), unless told otherwise.
    let max_per_second = max_per_second.or(provider.capabilities().rate.map(Rate::per_second_f64));
    Ok(Destination {
        name,
        provider,
        redaction,
        thread_replies,
        max_per_second,
        retry_horizon,
        file_path,
    })
}

/// A TOML parse error as one line with the line number.
fn toml_error(text: &str, error: &toml::de::Error) -> ConfigError {
    ConfigError::from_toml(text, error)
}

/// The line (from 1) of `text` that byte `offset` is on; an offset past the end is on the last
/// line. What every configuration file's error reports (`serve`, `check`, `render --config`).
///
/// ```
/// use stripe_chat_server::config::line_at;
/// let text = "[redaction]\nlevel = \"internal\"\nbogus = 1";
/// assert_eq!(line_at(text, text.find("bogus").unwrap()), 3);
/// assert_eq!(line_at(text, 0), 1);
/// assert_eq!(line_at("a\n", 2), 2);
/// ```
pub fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl ConfigError {
    /// A TOML error in `text` as a problem at `line N` (the line its span starts on), in one
    /// line.
    ///
    /// ```
    /// let text = "[server]\nlisten = \"127.0.0.1:8787\"\nlisten = \"again\"\n";
    /// let error = toml::from_str::<toml::Table>(text).unwrap_err();
    /// let e = stripe_chat_server::config::ConfigError::from_toml(text, &error);
    /// assert_eq!(e.key, "line 3");
    /// ```
    pub fn from_toml(text: &str, error: &toml::de::Error) -> Self {
        let key = match error.span() {
            Some(span) => format!("line {}", line_at(text, span.start)),
            None => "config".to_owned(),
        };
        ConfigError::new(key, error.message().replace('\n', " "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[server]
listen = "127.0.0.1:8787"
[stripe]
webhook_secrets = ["whsec_demo"]
[store]
sqlite = "demo-data/stripe-chat.db"
[[destinations]]
name = "log"
provider = "file"
path = "demo-data/messages.jsonl"
[[routes]]
events = ["*"]
to = ["log"]
"#;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_minimal_config_from_the_documentation_works_as_written() {
        let config = ServiceConfig::from_toml_with_env(MINIMAL, no_env).expect("valid");
        assert_eq!(config.server.listen.port(), 8787);
        assert_eq!(config.destinations.len(), 1);
        assert_eq!(config.destinations[0].provider.platform(), "file");
        assert_eq!(config.verifier.secret_count(), 1);
    }

    #[test]
    fn retention_defaults_to_30_days_and_anything_under_3_days_is_refused_by_key() {
        let config = ServiceConfig::from_toml_with_env(MINIMAL, no_env).expect("valid");
        assert_eq!(config.store.retention, DEFAULT_RETENTION);
        let with = |retention: &str| {
            let text = MINIMAL.replace(
                "sqlite = \"demo-data/stripe-chat.db\"",
                &format!("sqlite = \"demo-data/stripe-chat.db\"\nretention = {retention}"),
            );
            ServiceConfig::from_toml_with_env(&text, no_env)
        };
        let week = with("\"7d\"").expect("a week");
        assert_eq!(week.store.retention, Duration::from_secs(7 * 86_400));
        assert_eq!(
            with("\"72h\"").expect("3 days").store.retention,
            MIN_RETENTION
        );
        for short in ["\"71h59m59s\"", "\"1d\"", "\"0s\""] {
            let err = with(short).expect_err(short);
            assert_eq!(err.key, "store.retention", "{short}");
            assert!(err.problem.contains("at least 3 days"), "{err}");
        }
        assert_eq!(
            with("\"2w\"").expect("two weeks").store.retention,
            Duration::from_secs(14 * 86_400)
        );
        for wrong in ["\"soon\"", "\"30\"", "30", "\"\""] {
            let err = with(wrong).expect_err(wrong);
            assert_eq!(err.key, "store.retention", "{wrong}");
            assert!(err.problem.contains("30d"), "{err}");
        }
    }

    #[test]
    fn a_route_to_an_unknown_destination_is_named() {
        let text = MINIMAL.replace("to = [\"log\"]", "to = [\"logg\"]");
        let err =
            ServiceConfig::from_toml_with_env(&text, no_env).expect_err("unknown destination");
        assert_eq!(err.key, "routes[0].to");
        assert!(err.problem.contains("\"logg\""), "{err}");
    }

    #[test]
    fn an_adapter_key_typo_names_the_destination_and_the_key() {
        let text = MINIMAL.replace("path = ", "pth = ");
        let err = ServiceConfig::from_toml_with_env(&text, no_env).expect_err("typo");
        assert!(err.to_string().contains("destinations[0] \"log\""), "{err}");
        assert!(err.to_string().contains("pth"), "{err}");
    }

    #[test]
    fn a_missing_secret_environment_variable_is_named_and_no_secret_is_printed() {
        let text = MINIMAL.replace(
            "webhook_secrets = [\"whsec_demo\"]",
            "webhook_secrets_env = \"STRIPE_WEBHOOK_SECRET\"",
        );
        let err = ServiceConfig::from_toml_with_env(&text, no_env).expect_err("missing env");
        assert_eq!(err.key, "stripe.webhook_secrets_env");
        let config = ServiceConfig::from_toml_with_env(&text, |_| Some("whsec_from_env".into()))
            .expect("valid");
        assert!(!format!("{config:?}").contains("whsec_from_env"));
    }

    #[test]
    fn webhook_secrets_come_from_a_file_one_per_line_and_add_to_the_others() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("webhook-secrets");
        std::fs::write(&file, "whsec_from_file_1\n\n  whsec_from_file_2  \n").expect("write");
        let text = MINIMAL.replace(
            "webhook_secrets = [\"whsec_demo\"]",
            &format!(
                "webhook_secrets = [\"whsec_demo\"]\nwebhook_secrets_file = {:?}",
                file.display().to_string()
            ),
        );
        let config = ServiceConfig::from_toml_with_env(&text, no_env).expect("valid");
        assert_eq!(config.verifier.secret_count(), 3);
        assert!(!format!("{config:?}").contains("whsec_from_file"));
    }

    #[test]
    fn a_webhook_secrets_file_that_is_missing_or_empty_is_named_without_its_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n  \n").expect("write");
        let invalid = dir.path().join("invalid");
        std::fs::write(&invalid, "s3cr3t-not-a-whsec\n").expect("write");
        for (path, needle) in [
            (dir.path().join("missing"), "cannot read"),
            (empty, "holds no secret"),
            (invalid, "starts with whsec_"),
        ] {
            let text = MINIMAL.replace(
                "webhook_secrets = [\"whsec_demo\"]",
                &format!("webhook_secrets_file = {:?}", path.display().to_string()),
            );
            let err = ServiceConfig::from_toml_with_env(&text, no_env).expect_err(needle);
            assert!(err.key.starts_with("stripe.webhook_secrets"), "{err}");
            assert!(err.to_string().contains(needle), "{err}");
            assert!(!err.to_string().contains("s3cr3t"), "{err}");
        }
    }

    #[test]
    fn the_api_key_comes_from_a_file_when_api_key_file_is_set() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("stripe-api-key");
        std::fs::write(&file, "rk_test_from_file\n").expect("write");
        let text = MINIMAL.replace(
            "webhook_secrets = [\"whsec_demo\"]",
            &format!(
                "webhook_secrets = [\"whsec_demo\"]\napi_key_file = {:?}",
                file.display().to_string()
            ),
        );
        let config = ServiceConfig::from_toml_with_env(&text, no_env).expect("valid");
        let key = config
            .stripe_api
            .api_key(|_| Some("rk_test_from_env".into()))
            .expect("read");
        assert_eq!(key.expose(), "rk_test_from_file");
        std::fs::write(&file, "").expect("write");
        let err = config.stripe_api.api_key(no_env).expect_err("empty");
        assert!(err.contains("is empty (stripe.api_key_file"), "{err}");
        let both = text.replace("api_key_file", "api_key_env = \"K\"\napi_key_file");
        let err = ServiceConfig::from_toml_with_env(&both, no_env).expect_err("both");
        assert_eq!(err.key, "stripe.api_key_file");
    }

    #[test]
    fn the_stripe_api_defaults_to_stripe_api_key_and_can_be_pointed_elsewhere() {
        let config = ServiceConfig::from_toml_with_env(MINIMAL, no_env).expect("valid");
        assert_eq!(config.stripe_api, StripeApi::default());
        let text = MINIMAL.replace(
            "webhook_secrets = [\"whsec_demo\"]",
            "webhook_secrets = [\"whsec_demo\"]\napi_key_env = \"STRIPE_BACKFILL_KEY\"\napi_base = \"http://127.0.0.1:12111\"",
        );
        let config = ServiceConfig::from_toml_with_env(&text, no_env).expect("valid");
        assert_eq!(config.stripe_api.api_key_env, "STRIPE_BACKFILL_KEY");
        assert_eq!(
            config.stripe_api.api_base.as_deref(),
            Some("http://127.0.0.1:12111")
        );
    }

    #[test]
    fn an_unusable_stripe_api_base_or_key_variable_is_named() {
        for (line, key) in [
            ("api_base = \"api.stripe.com\"", "stripe.api_base"),
            ("api_base = \"ftp://api.stripe.com\"", "stripe.api_base"),
            ("api_base = \"https://\"", "stripe.api_base"),
            (
                "api_base = \"https://api.stripe.com/?x=1\"",
                "stripe.api_base",
            ),
            ("api_key_env = \" \"", "stripe.api_key_env"),
        ] {
            let text = MINIMAL.replace(
                "webhook_secrets = [\"whsec_demo\"]",
                &format!("webhook_secrets = [\"whsec_demo\"]\n{line}"),
            );
            let err = ServiceConfig::from_toml_with_env(&text, no_env).expect_err(line);
            assert_eq!(err.key, key, "{line}: {err}");
        }
    }

    #[test]
    fn listen_accepts_a_host_name_and_resolves_it_to_a_loopback_address() {
        let text = MINIMAL.replace("127.0.0.1:8787", "localhost:8787");
        let config = ServiceConfig::from_toml_with_env(&text, no_env).expect("localhost resolves");
        assert!(config.server.listen.ip().is_loopback());
        assert_eq!(config.server.listen.port(), 8787);
    }

    #[test]
    fn a_listen_value_without_a_port_names_the_key_and_what_is_expected() {
        let text = MINIMAL.replace("127.0.0.1:8787", "localhost");
        let err = ServiceConfig::from_toml_with_env(&text, no_env).expect_err("no port");
        assert_eq!(err.key, "line 3");
        assert!(
            err.problem
                .starts_with("server.listen: \"localhost\" is not HOST:PORT (an address and port such as 127.0.0.1:8787"),
            "{err}"
        );
    }

    #[test]
    fn provider_names_are_case_insensitive_in_a_destination() {
        let text = format!(
            "{MINIMAL}\n[[destinations]]\nname = \"archive\"\nprovider = \"File\"\npath = \"b.jsonl\"\n"
        );
        let config = ServiceConfig::from_toml_with_env(&text, no_env).expect("File is file");
        assert_eq!(config.destinations[1].provider.platform(), "file");
    }

    #[tokio::test]
    async fn a_webhook_destination_s_errors_name_the_destination_the_operator_named() {
        let text = format!(
            "{MINIMAL}\n[[destinations]]\nname = \"hook\"\nprovider = \"webhook\"\nurl = \"http://127.0.0.1:9/x\"\nsecret = \"0123456789abcdef0123\"\n"
        );
        let config = ServiceConfig::from_toml_with_env(&text, no_env).expect("valid");
        let message = stripe_chat_message::ChatMessage::new("t");
        let key = stripe_chat_message::IdempotencyKey::new("evt_1", "hook");
        let err = config.destinations[1]
            .provider
            .send(&message, None, &key)
            .await
            .expect_err("nothing listens on port 9");
        assert_eq!(
            err.to_string(),
            "transient: webhook \"hook\": connection failed"
        );
    }

    #[test]
    fn a_syntax_error_names_the_line() {
        let err =
            ServiceConfig::from_toml_with_env("[server\nlisten = 1", no_env).expect_err("bad toml");
        assert_eq!(err.key, "line 1");
    }

    #[test]
    fn unknown_top_level_sections_are_refused() {
        let err =
            ServiceConfig::from_toml_with_env(&format!("{MINIMAL}\n[sever]\nx = 1\n"), no_env)
                .expect_err("typo");
        assert!(err.problem.contains("sever"), "{err}");
    }

    #[test]
    fn duplicate_destination_names_are_refused() {
        let text = format!(
            "{MINIMAL}\n[[destinations]]\nname = \"log\"\nprovider = \"file\"\npath = \"b.jsonl\"\n"
        );
        let err = ServiceConfig::from_toml_with_env(&text, no_env).expect_err("duplicate");
        assert_eq!(err.key, "destinations[1].name");
    }

    /// One destination of each adapter that takes secrets, every secret from the environment.
    const FROM_ENV: &str = r#"
[[destinations]]
name = "slack"
provider = "slack"
token_env = "T_SLACK"
channel = "C1"
[[destinations]]
name = "teams"
provider = "teams"
webhook_url_env = "T_TEAMS"
[[destinations]]
name = "discord"
provider = "discord"
webhook_url_env = "T_DISCORD"
[[destinations]]
name = "matrix"
provider = "matrix"
homeserver = "https://matrix.example.org"
room_id = "!ops:example.org"
access_token_env = "T_MATRIX"
[[destinations]]
name = "hook"
provider = "webhook"
url_env = "T_HOOK_URL"
secret_env = "T_HOOK_SECRET"
"#;

    fn injected(name: &str) -> Option<String> {
        let value = match name {
            "T_SLACK" => "xoxb-s3cr3t-slack",
            "T_TEAMS" => {
                "https://prod-00.westus.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sig=s3cr3t-teams"
            }
            "T_DISCORD" => "https://discord.com/api/webhooks/123456789012345678/s3cr3t-discord",
            "T_MATRIX" => "syt_s3cr3t-matrix",
            "T_HOOK_URL" => "https://erp.example.com/hook?key=s3cr3t-hook",
            "T_HOOK_SECRET" => "s3cr3t-hook-0123456789abcdef",
            _ => return None,
        };
        Some(value.to_owned())
    }

    #[test]
    fn every_adapter_reads_its_secrets_from_the_injected_environment() {
        let text = format!("{MINIMAL}{FROM_ENV}");
        let config = ServiceConfig::from_toml_with_env(&text, injected).expect("valid");
        let platforms: Vec<&str> = config
            .destinations
            .iter()
            .map(|d| d.provider.platform())
            .collect();
        assert_eq!(
            platforms,
            ["file", "slack", "teams", "discord", "matrix", "webhook"]
        );
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    #[test]
    fn a_variable_missing_from_the_injected_environment_names_the_destination_and_the_key() {
        let text = format!("{MINIMAL}{FROM_ENV}");
        for (variable, destination, key) in [
            ("T_SLACK", "slack", "token_env"),
            ("T_TEAMS", "teams", "webhook_url_env"),
            ("T_DISCORD", "discord", "webhook_url_env"),
            ("T_MATRIX", "matrix", "access_token_env"),
            ("T_HOOK_URL", "hook", "url_env"),
            ("T_HOOK_SECRET", "hook", "secret_env"),
        ] {
            let err = ServiceConfig::from_toml_with_env(&text, |name| {
                (name != variable).then(|| injected(name)).flatten()
            })
            .expect_err("missing variable");
            let message = err.to_string();
            assert!(
                message.contains(&format!("{destination:?}")),
                "{variable}: {message}"
            );
            assert!(message.contains(key), "{variable}: {message}");
            assert!(message.contains(variable), "{variable}: {message}");
            assert!(!message.contains("s3cr3t"), "{variable}: {message}");
        }
    }

    #[test]
    fn no_adapter_configuration_shows_a_secret_in_its_debug() {
        fn hidden<T: serde::de::DeserializeOwned + fmt::Debug>(text: &str) {
            let config: T = toml::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let shown = format!("{config:?}");
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
        hidden::<stripe_chat_slack::SlackConfig>("token = \"xoxb-s3cr3t\"\nchannel = \"C1\"");
        hidden::<stripe_chat_slack::SlackConfig>(
            "mode = \"webhook\"\nwebhook_url = \"https://hooks.slack.com/services/T/B/s3cr3t\"",
        );
        hidden::<stripe_chat_teams::TeamsConfig>(
            "webhook_url = \"https://prod-00.westus.logic.azure.com/workflows/1?sig=s3cr3t\"",
        );
        hidden::<stripe_chat_discord::DiscordConfig>(
            "webhook_url = \"https://discord.com/api/webhooks/1/s3cr3t\"",
        );
        hidden::<stripe_chat_matrix::MatrixConfig>(
            "homeserver = \"https://matrix.example.org\"\nroom_id = \"!r:example.org\"\naccess_token = \"syt_s3cr3t\"",
        );
        hidden::<stripe_chat_webhook::WebhookConfig>(
            "url = \"https://erp.example.com/hook?key=s3cr3t\"\nsecret = \"s3cr3t-0123456789abcdef\"",
        );
    }

    #[test]
    fn an_unreadable_secret_file_names_the_destination_the_key_and_the_file() {
        let text = format!(
            "{MINIMAL}\n[[destinations]]\nname = \"ops\"\nprovider = \"matrix\"\nhomeserver = \"https://matrix.example.org\"\nroom_id = \"!ops:example.org\"\naccess_token_file = \"/run/secrets/no-such-matrix-token\"\n"
        );
        let err = ServiceConfig::from_toml_with_env(&text, no_env).expect_err("unreadable");
        assert_eq!(err.key, "destinations[1] \"ops\".access_token_file");
        assert!(
            err.problem
                .starts_with("cannot read /run/secrets/no-such-matrix-token:"),
            "{err}"
        );
    }

    #[test]
    fn every_adapter_reads_its_secrets_from_files() {
        let dir = std::env::temp_dir().join(format!("stripe-chat-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory");
        let mut text = MINIMAL.to_owned();
        for (name, table) in FROM_ENV.split("[[destinations]]").skip(1).enumerate() {
            let mut table = table.to_owned();
            for variable in [
                "T_SLACK",
                "T_TEAMS",
                "T_DISCORD",
                "T_MATRIX",
                "T_HOOK_URL",
                "T_HOOK_SECRET",
            ] {
                let path = dir.join(variable);
                std::fs::write(
                    &path,
                    format!("{}\n", injected(variable).unwrap_or_default()),
                )
                .expect("written");
                table = table.replace(
                    &format!("_env = \"{variable}\""),
                    &format!("_file = {:?}", path.display().to_string()),
                );
            }
            assert!(table.contains("_file"), "destination {name}: {table}");
            text.push_str("[[destinations]]");
            text.push_str(&table);
        }
        let config = ServiceConfig::from_toml_with_env(&text, no_env);
        std::fs::remove_dir_all(&dir).expect("removed");
        let config = config.expect("valid");
        assert_eq!(config.destinations.len(), 6);
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    fn with_route(route: &str) -> String {
        MINIMAL.replace(
            "events = [\"*\"]\n",
            &format!("events = [\"*\"]\n{route}\n"),
        )
    }

    #[test]
    fn a_digest_route_reads_its_window_and_top() {
        let text = with_route("name = \"sales\"\ndigest = { window = \"15m\", top = 5 }");
        let config = ServiceConfig::from_toml_with_env(&text, no_env).expect("valid");
        let route = config.routes.iter().next().expect("one route");
        let digest = route.digest.expect("a digest");
        assert_eq!(digest.window(), Duration::from_secs(900));
        assert_eq!(digest.top(), 5);
        assert_eq!(route.name.as_deref(), Some("sales"));
        let plain = ServiceConfig::from_toml_with_env(MINIMAL, no_env).expect("valid");
        assert!(plain.routes.iter().all(|r| r.digest.is_none()));
    }

    #[test]
    fn digest_problems_name_the_key() {
        let cases = [
            ("digest = { window = \"0s\" }", "routes[0].digest.window"),
            ("digest = { window = \"2d\" }", "routes[0].digest.window"),
            ("digest = { window = \"soon\" }", "routes[0].digest.window"),
            ("digest = { window = 15 }", "routes[0].digest.window"),
            ("digest = { top = 3 }", "routes[0].digest.window"),
            (
                "digest = { window = \"1m\", top = 0 }",
                "routes[0].digest.top",
            ),
            (
                "digest = { window = \"1m\", top = 21 }",
                "routes[0].digest.top",
            ),
            (
                "digest = { window = \"1m\", size = 3 }",
                "routes[0].digest.size",
            ),
            ("digest = \"15m\"", "routes[0].digest"),
            ("name = \"a/b\"", "routes[0].name"),
        ];
        for (route, key) in cases {
            let err =
                ServiceConfig::from_toml_with_env(&with_route(route), no_env).expect_err(route);
            assert_eq!(err.key, key, "{route}: {err}");
            assert!(!err.problem.is_empty());
        }
    }

    #[test]
    fn route_conditions_read_as_before_with_integer_amounts_and_metadata() {
        let text = with_route(
            "amount_gte = 5000\ncurrency = [\"jpy\"]\nmetadata = { plan = \"pro\" }\ncontinue = true",
        );
        let config = ServiceConfig::from_toml_with_env(&text, no_env).expect("valid");
        let route = config.routes.iter().next().expect("one route");
        assert_eq!(route.amount_gte, Some(5000.0));
        assert_eq!(route.metadata.get("plan").map(String::as_str), Some("pro"));
        assert!(route.continue_matching);
    }

    #[test]
    fn two_routes_with_one_name_are_refused() {
        let text = format!(
            "{}\n[[routes]]\nname = \"sales\"\nto = [\"log\"]\n",
            with_route("name = \"sales\"")
        );
        let err = ServiceConfig::from_toml_with_env(&text, no_env).expect_err("duplicate");
        assert_eq!(err.key, "routes[1].name");
    }

    #[test]
    fn an_unknown_route_key_names_the_route() {
        let err = ServiceConfig::from_toml_with_env(&with_route("evnts = [\"x\"]"), no_env)
            .expect_err("typo");
        assert_eq!(err.key, "routes[0]");
        assert!(err.problem.contains("evnts"), "{err}");
    }

    #[test]
    fn slack_destinations_default_to_one_message_per_second() {
        let text = format!(
            "{MINIMAL}\n[[destinations]]\nname = \"billing\"\nprovider = \"slack\"\ntoken = \"xoxb-1\"\nchannel = \"C1\"\nredaction = \"restricted\"\n"
        );
        let config = ServiceConfig::from_toml_with_env(&text, no_env).expect("valid");
        let slack = config.destination("billing").expect("configured");
        assert_eq!(slack.max_per_second, Some(1.0));
        assert!(!format!("{config:?}").contains("xoxb-1"));
    }

    #[test]
    fn a_destination_keeps_to_its_platforms_pace_unless_it_sets_its_own() {
        let text = format!(
            "{MINIMAL}\n[[destinations]]\nname = \"billing\"\nprovider = \"slack\"\ntoken = \"xoxb-1\"\nchannel = \"C1\"\nmax_per_second = 0.5\n"
        );
        let config = ServiceConfig::from_toml_with_env(&text, no_env).expect("valid");
        let paced = |name| config.destination(name).expect("configured").max_per_second;
        assert_eq!(paced("billing"), Some(0.5), "its own setting wins");
        assert_eq!(paced("log"), None, "the file asks for no pace");
    }
}

//! What the `stripe-chat` binary's service commands do: `serve`, `dlq`, `replay`, `backfill`,
//! `prune`, `send-test-event`. The binary only parses arguments and calls these.
//!
//! ```no_run
//! # async fn f() -> Result<(), stripe_chat::ops::OpsError> {
//! let config = stripe_chat::ops::load_config(std::path::Path::new("stripe-chat.toml"))?;
//! let store = stripe_chat::ops::open_store(&config).await?;
//! for job in stripe_chat::ops::dlq_list(&store).await? {
//!     println!("{job}");
//! }
//! # Ok(()) }
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use stripe_chat_message::Secret;
use stripe_chat_server::backfill::{
    BackfillClient, BackfillError, BackfillOptions, BackfillReport, backfill_with, parse_time,
};
use stripe_chat_server::config::{ServiceConfig, parse_retention};
use stripe_chat_server::retention::Pruner;
use stripe_chat_server::service::Service;
use stripe_chat_store::{DlqTarget, JobId, SqliteStore, Store, StoreError};

use crate::events::{StripeEvent, sign};

/// Why a service command failed.
///
/// ```
/// let e = stripe_chat::ops::OpsError::Config("server.listen: missing".into());
/// assert_eq!(e.to_string(), "configuration: server.listen: missing");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpsError {
    /// The configuration file is missing or wrong (the message names the key).
    #[error("configuration: {0}")]
    Config(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The network or the listener failed.
    #[error("{0}")]
    Io(String),
    /// The request is wrong (an unknown event, job or sample, a bad `--since`, no API key).
    #[error("{0}")]
    Usage(String),
    /// Listing or storing undelivered events failed (never shows the API key).
    #[error("backfill: {0}")]
    Backfill(#[from] BackfillError),
}

/// Each page of Stripe's event list may take this long.
const BACKFILL_TIMEOUT: Duration = Duration::from_secs(30);

/// Tries per page (timeouts, 429, 5xx are tried again with backoff).
const BACKFILL_ATTEMPTS: u32 = 3;

/// What `stripe-chat backfill` is asked to do.
///
/// ```
/// let args = stripe_chat::ops::BackfillArgs { since: "24h".into(), ..Default::default() };
/// assert!(!args.dry_run);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillArgs {
    /// The start of the window: a duration before now (`24h`, `30m`, `7d`), a UTC date or time
    /// (`2026-12-01`, `2026-12-01T08:00:00Z`) or Unix seconds.
    pub since: String,
    /// The end of the window, in the same forms (default: now).
    pub until: Option<String>,
    /// List and count, store nothing.
    pub dry_run: bool,
    /// Where Stripe's API is, overriding `stripe.api_base`.
    pub api_base: Option<String>,
}

/// Reads and checks the configuration file at `path`.
///
/// ```
/// let err = stripe_chat::ops::load_config(std::path::Path::new("/no/such/file.toml")).unwrap_err();
/// assert!(err.to_string().contains("/no/such/file.toml"));
/// ```
pub fn load_config(path: &Path) -> Result<ServiceConfig, OpsError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| OpsError::Config(format!("cannot read {}: {e}", path.display())))?;
    ServiceConfig::from_toml(&text)
        .map_err(|e| OpsError::Config(format!("{}: {e}", path.display())))
}

/// Opens the configured SQLite store (creating its directory).
///
/// ```no_run
/// # async fn f(config: stripe_chat_server::config::ServiceConfig) -> Result<(), stripe_chat::ops::OpsError> {
/// let store = stripe_chat::ops::open_store(&config).await?;
/// # let _ = store; Ok(()) }
/// ```
pub async fn open_store(config: &ServiceConfig) -> Result<SqliteStore, OpsError> {
    Ok(stripe_chat_server::service::open_store(&config.store).await?)
}

/// Where each `file` destination writes, as `(name, path)`.
///
/// ```
/// let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n[[destinations]]\nname = \"log\"\nprovider = \"file\"\npath = \"out/messages.jsonl\"\n")?;
/// assert_eq!(stripe_chat::ops::file_destinations(&config), vec![("log".to_string(), "out/messages.jsonl".to_string())]);
/// # Ok::<(), stripe_chat_server::config::ConfigError>(())
/// ```
pub fn file_destinations(config: &ServiceConfig) -> Vec<(String, String)> {
    config
        .destinations
        .iter()
        .filter_map(|d| {
            d.file_path
                .as_ref()
                .map(|p| (d.name.clone(), p.display().to_string()))
        })
        .collect()
}

/// Runs the service until SIGTERM or SIGINT, then stops accepting, finishes what is in flight and
/// returns within `server.shutdown_grace_secs`. `announce` gets the listening address first.
///
/// ```no_run
/// # async fn f(config: stripe_chat_server::config::ServiceConfig) -> Result<(), stripe_chat::ops::OpsError> {
/// stripe_chat::ops::serve(config, |addr| println!("listening on {addr}")).await?;
/// # Ok(()) }
/// ```
pub async fn serve(
    config: ServiceConfig,
    announce: impl FnOnce(std::net::SocketAddr),
) -> Result<(), OpsError> {
    let store = open_store(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .map_err(|e| OpsError::Io(format!("cannot listen on {}: {e}", config.server.listen)))?;
    let service = Service::start(&config, Arc::new(store), listener)
        .map_err(|e| OpsError::Io(e.to_string()))?;
    announce(service.local_addr());
    tracing::info!(listen = %service.local_addr(), "stripe-chat is serving");
    shutdown_signal().await;
    let grace = Duration::from_secs(config.server.shutdown_grace_secs);
    tracing::info!(
        grace_secs = grace.as_secs(),
        "shutting down: finishing work in flight"
    );
    if service.shutdown(grace).await {
        tracing::info!("stopped cleanly");
    } else {
        tracing::warn!("grace period over: unfinished jobs run again after a restart");
    }
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The dead-lettered jobs, one tab-separated line each: `id  destination  event_type  event_id
/// attempts=N  gave_up=TIME  why`, where `TIME` is when it was dead-lettered (RFC 3339, UTC) and
/// `why` the last error or the horizon that ran out, and `digest=KEY` for a job of a digest
/// (`dlq retry` of one of them retries its whole digest).
///
/// ```no_run
/// # async fn f(store: stripe_chat_store::SqliteStore) -> Result<(), stripe_chat::ops::OpsError> {
/// let lines = stripe_chat::ops::dlq_list(&store).await?;
/// # let _ = lines; Ok(()) }
/// ```
pub async fn dlq_list(store: &dyn Store) -> Result<Vec<String>, OpsError> {
    Ok(store
        .dlq_list(10_000)
        .await?
        .into_iter()
        .map(|job| {
            let line = format!(
                "{}\t{}\t{}\t{}\tattempts={}\tgave_up={}\t{}",
                job.id,
                job.destination,
                job.event_type,
                job.event_id,
                job.attempts,
                humantime::format_rfc3339_seconds(job.updated_at),
                job.last_error.unwrap_or_default()
            );
            match job.digest {
                Some(key) => format!("{line}\tdigest={key}"),
                None => line,
            }
        })
        .collect())
}

/// Makes dead-lettered jobs pending again: one job by id, or all. Returns how many.
///
/// ```no_run
/// # async fn f(store: stripe_chat_store::SqliteStore) -> Result<(), stripe_chat::ops::OpsError> {
/// let n = stripe_chat::ops::dlq_retry(&store, None).await?;
/// # let _ = n; Ok(()) }
/// ```
pub async fn dlq_retry(store: &dyn Store, job: Option<&str>) -> Result<usize, OpsError> {
    let target = match job {
        None => DlqTarget::All,
        Some(id) => DlqTarget::Job(
            id.parse::<JobId>()
                .map_err(|_| OpsError::Usage(format!("{id:?} is not a job id (see dlq list)")))?,
        ),
    };
    Ok(store.dlq_retry(target, SystemTime::now()).await?)
}

/// Delivers a stored event again to the destinations its routes name now. Returns how many jobs
/// were created or made pending again.
///
/// ```no_run
/// # async fn f(config: stripe_chat_server::config::ServiceConfig, store: stripe_chat_store::SqliteStore) -> Result<(), stripe_chat::ops::OpsError> {
/// let n = stripe_chat::ops::replay(&config, &store, "evt_1NG8Du2eZvKYlo2CUI79vXWy").await?;
/// # let _ = n; Ok(()) }
/// ```
pub async fn replay(
    config: &ServiceConfig,
    store: &dyn Store,
    event_id: &str,
) -> Result<usize, OpsError> {
    let stored = store
        .event(event_id)
        .await?
        .ok_or_else(|| OpsError::Usage(format!("no stored event {event_id}")))?;
    let jobs = match StripeEvent::from_json(stored.raw) {
        Ok(event) => {
            stripe_chat_server::ingest::jobs_for(&config.routes, &event, SystemTime::now())
        }
        Err(_) => Vec::new(),
    };
    Ok(store.replay(event_id, jobs, SystemTime::now()).await?)
}

/// Fetches the events Stripe has not delivered (`GET /v1/events?delivery_success=false`,
/// created in the window `args` gives) and stores each as the webhook endpoint would: one job
/// per destination its routes name, deduplicated on the event id, so an event already stored is
/// neither stored nor delivered twice. `env` gives the environment variable named by
/// `stripe.api_key_env` (default `STRIPE_API_KEY`), which holds the API key.
///
/// A window that cannot be read, an unset key or an unusable `--api-base` is
/// [`OpsError::Usage`]; Stripe's and the store's failures are [`OpsError::Backfill`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = stripe_chat_server::config::ServiceConfig::from_toml("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n")?;
/// let args = stripe_chat::ops::BackfillArgs { since: "yesterday".into(), ..Default::default() };
/// let err = stripe_chat::ops::backfill(&config, &args, |_| Some("sk_test_1".into())).await.unwrap_err();
/// assert!(err.to_string().starts_with("--since: \"yesterday\" is not a duration"));
///
/// let args = stripe_chat::ops::BackfillArgs { since: "24h".into(), ..Default::default() };
/// let err = stripe_chat::ops::backfill(&config, &args, |_| None).await.unwrap_err();
/// assert_eq!(err.to_string(), "no Stripe API key: the environment variable STRIPE_API_KEY is not set (stripe.api_key_env names it)");
/// # Ok(()) }
/// ```
pub async fn backfill(
    config: &ServiceConfig,
    args: &BackfillArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<BackfillReport, OpsError> {
    let now = SystemTime::now();
    let since =
        parse_time(&args.since, now).map_err(|e| OpsError::Usage(format!("--since: {e}")))?;
    if since > now {
        return Err(OpsError::Usage(format!(
            "--since: {:?} is in the future",
            args.since
        )));
    }
    let mut options = BackfillOptions::since(since).dry_run(args.dry_run);
    if let Some(text) = &args.until {
        let until = parse_time(text, now).map_err(|e| OpsError::Usage(format!("--until: {e}")))?;
        if until < since {
            return Err(OpsError::Usage(format!(
                "--until: {text:?} is before --since {:?}",
                args.since
            )));
        }
        options = options.until(until);
    }
    let var = &config.stripe_api.api_key_env;
    let api_key = env(var)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .map(Secret::new)
        .ok_or_else(|| {
            OpsError::Usage(format!(
                "no Stripe API key: the environment variable {var} is not set (stripe.api_key_env names it)"
            ))
        })?;
    let api_base = args
        .api_base
        .clone()
        .or_else(|| config.stripe_api.api_base.clone());
    let client = BackfillClient::new(api_key, api_base, BACKFILL_TIMEOUT)
        .map_err(|e| OpsError::Usage(format!("cannot call Stripe: {e}")))?
        .with_attempts(BACKFILL_ATTEMPTS);
    let store = open_store(config).await?;
    Ok(backfill_with(&client, &store, &config.routes, options, now).await?)
}

/// What `stripe-chat prune` is asked to do.
///
/// ```
/// let args = stripe_chat::ops::PruneArgs { dry_run: true, ..Default::default() };
/// assert!(args.older_than.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneArgs {
    /// Prune what is older than this (`30d`, `72h`; at least 3 days); default: the configured
    /// `[store] retention`.
    pub older_than: Option<String>,
    /// Count what would be pruned; write nothing.
    pub dry_run: bool,
    /// Then rewrite the store file with `VACUUM`, giving every free page back (and converting
    /// a file created before incremental vacuum).
    pub vacuum: bool,
}

/// What `stripe-chat prune` did (or, with `--dry-run`, would do). Its `Display` is the
/// command's output.
///
/// ```
/// let report = stripe_chat::ops::PruneReport {
///     older_than: "30d".into(), dry_run: true, jobs: 3, events: 2, refs: 1, ..Default::default()
/// };
/// assert_eq!(report.to_string(), "would prune 3 finished job(s), 2 event(s) and 1 message ref(s) older than 30d (dry run: nothing was written)");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// The age limit, as given or configured.
    pub older_than: String,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Delivered or superseded jobs pruned (or that would be).
    pub jobs: usize,
    /// Events pruned (or that would be).
    pub events: usize,
    /// Message refs pruned (or that would be).
    pub refs: usize,
    /// Bytes given back to the file system by incremental vacuum.
    pub bytes_given_back: u64,
    /// With `--vacuum`: how many bytes the rewrite took off the file.
    pub vacuumed: Option<u64>,
    /// The store file's size afterwards (not counted in a dry run).
    pub file_bytes: Option<u64>,
}

impl std::fmt::Display for PruneReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.dry_run {
            return write!(
                f,
                "would prune {} finished job(s), {} event(s) and {} message ref(s) older than {} (dry run: nothing was written)",
                self.jobs, self.events, self.refs, self.older_than
            );
        }
        write!(
            f,
            "pruned {} finished job(s), {} event(s) and {} message ref(s) older than {}; gave back {}",
            self.jobs,
            self.events,
            self.refs,
            self.older_than,
            megabytes(self.bytes_given_back)
        )?;
        if let Some(vacuumed) = self.vacuumed {
            write!(f, "; vacuum took {} more off", megabytes(vacuumed))?;
        }
        if let Some(bytes) = self.file_bytes {
            write!(f, "; the store file is {}", megabytes(bytes))?;
        }
        Ok(())
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// `d` as the configuration would write it: `30d`, `72h`, `90m` or `45s`.
fn show_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Prunes the configured store by hand as the service does in the background: delivered and
/// superseded jobs and events older than `args.older_than` (default `[store] retention`, never
/// under 3 days), in batches, giving the space back; then, with `vacuum`, rewrites the file
/// ([`SqliteStore::vacuum`]). With `dry_run` it only counts. Safe while the service runs
/// (their writes take turns), but `--vacuum` holds the file for its whole rewrite: stop the
/// service for it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let text = format!("[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = {:?}\n", dir.path().join("s.db"));
/// let config = stripe_chat_server::config::ServiceConfig::from_toml(&text)?;
/// let args = stripe_chat::ops::PruneArgs { dry_run: true, ..Default::default() };
/// let report = stripe_chat::ops::prune(&config, &args).await?;
/// assert_eq!((report.jobs, report.events), (0, 0));
/// assert_eq!(report.older_than, "30d");
///
/// let args = stripe_chat::ops::PruneArgs { older_than: Some("1d".into()), ..Default::default() };
/// let err = stripe_chat::ops::prune(&config, &args).await.unwrap_err();
/// assert!(err.to_string().starts_with("--older-than: \"1d\" is too short"), "{err}");
/// # Ok(()) }
/// ```
pub async fn prune(config: &ServiceConfig, args: &PruneArgs) -> Result<PruneReport, OpsError> {
    let (retention, older_than) = match &args.older_than {
        Some(text) => (
            parse_retention(text)
                .map_err(|e| OpsError::Usage(format!("--older-than: {}", e.problem)))?,
            text.trim().to_owned(),
        ),
        None => (
            config.store.retention,
            show_duration(config.store.retention),
        ),
    };
    let now = SystemTime::now();
    let store = Arc::new(open_store(config).await?);
    let mut report = PruneReport {
        older_than,
        dry_run: args.dry_run,
        ..Default::default()
    };
    if args.dry_run {
        let before = now.checked_sub(retention).unwrap_or(SystemTime::UNIX_EPOCH);
        let would = store.prunable(before).await?;
        (report.jobs, report.events, report.refs) = (would.jobs, would.events, would.refs);
        return Ok(report);
    }
    let round = Pruner::new(Arc::clone(&store) as Arc<dyn Store>, retention)
        .round(now)
        .await?;
    (report.jobs, report.events, report.refs) = (round.jobs, round.events, round.refs);
    report.bytes_given_back = round.bytes_given_back;
    if args.vacuum {
        report.vacuumed = Some(store.vacuum().await?);
    }
    if let Ok(store) = Arc::try_unwrap(store) {
        // Closing checkpoints the log into the file, so its size is final.
        store.close().await;
    }
    report.file_bytes = std::fs::metadata(&config.store.sqlite)
        .ok()
        .map(|m| m.len());
    Ok(report)
}

/// Signs `body` with `secret` as Stripe does and POSTs it to `url`. Returns the HTTP status and
/// the answer's body.
///
/// ```no_run
/// # async fn f() -> Result<(), stripe_chat::ops::OpsError> {
/// let raw = stripe_chat::samples::fresh(stripe_chat::samples::sample("invoice.paid").unwrap_or("{}"))
///     .map_err(|e| stripe_chat::ops::OpsError::Usage(e.to_string()))?;
/// let (status, _) = stripe_chat::ops::send_signed("http://127.0.0.1:8787/webhooks/stripe", "whsec_demo", &raw).await?;
/// assert_eq!(status, 200);
/// # Ok(()) }
/// ```
pub async fn send_signed(url: &str, secret: &str, body: &str) -> Result<(u16, String), OpsError> {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let response = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .header("Stripe-Signature", sign(body.as_bytes(), secret, now))
        .body(body.to_owned())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| OpsError::Io(format!("cannot POST to {url}: {e}")))?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    Ok((status, text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};
    use stripe_chat_store::{MemoryStore, NewEvent, NewJob};

    fn event(id: &str) -> NewEvent {
        NewEvent {
            id: id.to_owned(),
            event_type: "charge.succeeded".to_owned(),
            created: 1_700_000_000,
            livemode: false,
            account: None,
            raw: "{}".to_owned(),
            received_at: SystemTime::UNIX_EPOCH,
        }
    }

    #[tokio::test]
    async fn dlq_list_names_the_digest_of_a_dead_digest_job_only() {
        let store = MemoryStore::new();
        let due = SystemTime::UNIX_EPOCH + Duration::from_secs(60);
        let digest = NewJob::new("sales-room")
            .digest("sales/0/60")
            .not_before(due);
        store.ingest(event("evt_1"), vec![digest]).await.unwrap();
        store
            .ingest(event("evt_2"), vec![NewJob::new("log")])
            .await
            .unwrap();
        for job in store
            .lease("w", 8, Duration::from_secs(60), due)
            .await
            .unwrap()
        {
            store.dead_letter(&job, "permanent: gone").await.unwrap();
        }
        let lines = dlq_list(&store).await.unwrap();
        assert_eq!(lines.len(), 2);
        for line in &lines {
            let fields: Vec<&str> = line.split('\t').collect();
            assert!(fields[5].starts_with("gave_up=20"), "{line}");
            assert!(fields[5].ends_with('Z'), "{line}");
            assert_eq!(fields[6], "permanent: gone", "{line}");
        }
        let digest_line = lines.iter().find(|l| l.contains("evt_1")).unwrap();
        assert!(
            digest_line.ends_with("\tdigest=sales/0/60"),
            "{digest_line}"
        );
        let plain_line = lines.iter().find(|l| l.contains("evt_2")).unwrap();
        assert!(!plain_line.contains("digest="), "{plain_line}");
    }
}

//! The service commands of `stripe-chat`: `serve`, `dlq`, `replay`, `backfill`, `prune`,
//! `send-test-event`; `main` parses the arguments and calls these.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use stripe_chat::server::backfill::{
    BackfillError, BackfillOptions, BackfillReport, backfill_with_progress, parse_time,
};
use stripe_chat::server::config::{ConfigError, ServiceConfig, line_at, parse_retention};
use stripe_chat::server::retention::Pruner;
use stripe_chat::server::service::Service;
use stripe_chat::store::{DlqTarget, JobId, SqliteStore, Store, StoreError};

use stripe_chat::events::{StripeEvent, sign};

/// Why a service command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum OpsError {
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
    /// What the command names does not exist (a job not on the dead-letter list).
    #[error("{0}")]
    NotFound(String),
    /// Listing or storing undelivered events failed (never shows the API key).
    #[error("backfill: {0}")]
    Backfill(#[from] BackfillError),
}

/// Each page of Stripe's event list may take this long.
const BACKFILL_TIMEOUT: Duration = Duration::from_secs(30);

/// Tries per page (timeouts, 429, 5xx are tried again with backoff).
const BACKFILL_ATTEMPTS: u32 = 3;

/// What `stripe-chat backfill` is asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BackfillArgs {
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

/// Reads and checks the service's configuration file at `path` (`serve`, `check` and every
/// operator command).
pub(crate) fn load_config(path: &Path) -> Result<ServiceConfig, OpsError> {
    load_file(path, ServiceConfig::from_toml)
}

/// The one loader of every configuration file (the service's, `render --config`'s): reads `path`
/// (`-` is standard input) and parses its text with `parse`; every problem is one line,
/// `FILE: KEY: problem`, where a TOML error's key is `line N` (counted by
/// [`line_at`](stripe_chat::server::config::line_at)).
pub(crate) fn load_file<T>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, ConfigError>,
) -> Result<T, OpsError> {
    let read = if path == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map(|_| text)
    } else {
        std::fs::read_to_string(path)
    };
    let text =
        read.map_err(|e| OpsError::Config(format!("cannot read {}: {e}", path.display())))?;
    parse(&text).map_err(|e| OpsError::Config(format!("{}: {e}", path.display())))
}

/// `render --config`'s file: `[redaction]` and each platform's options, checked by its adapter;
/// a problem in a platform's table is reported at the table's line.
pub(crate) fn render_config(text: &str) -> Result<stripe_chat::RenderConfig, ConfigError> {
    let config: stripe_chat::RenderConfig =
        toml::from_str(text).map_err(|e| ConfigError::from_toml(text, &e))?;
    config.check().map_err(|e| {
        let section = e.key.split('.').next().unwrap_or_default();
        let line =
            toml::from_str::<std::collections::BTreeMap<String, toml::Spanned<toml::Value>>>(text)
                .ok()
                .and_then(|tables| tables.get(section).map(|t| line_at(text, t.span().start)));
        match line {
            Some(line) => ConfigError::new(format!("line {line}"), e.to_string()),
            None => ConfigError::new(e.key, e.problem),
        }
    })?;
    Ok(config)
}

/// Opens the configured SQLite store (creating its directory).
pub(crate) async fn open_store(config: &ServiceConfig) -> Result<SqliteStore, OpsError> {
    Ok(stripe_chat::server::service::open_store(&config.store).await?)
}

/// Where each `file` destination writes, as `(name, path)`.
pub(crate) fn file_destinations(config: &ServiceConfig) -> Vec<(String, String)> {
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

/// What a checked configuration sets up, in one line: the listener, the store, each destination
/// with its platform, and how many routes.
pub(crate) fn summary(config: &ServiceConfig) -> String {
    let destinations: Vec<String> = config
        .destinations
        .iter()
        .map(|d| format!("{} ({})", d.name, d.provider.platform()))
        .collect();
    let mut platforms = Vec::new();
    if config.interactions.slack.is_some() {
        platforms.push("slack");
    }
    if config.interactions.discord.is_some() {
        platforms.push("discord");
    }
    let interactions = if platforms.is_empty() {
        String::new()
    } else {
        format!(", interactions: {}", platforms.join(", "))
    };
    format!(
        "valid: listen {}, store {}, {} destination(s){}{}, {} route(s){interactions}",
        config.server.listen,
        config.store.sqlite.display(),
        destinations.len(),
        if destinations.is_empty() { "" } else { ": " },
        destinations.join(", "),
        config.routes.len()
    )
}

/// Starts the service of `config` on a listener of its own (`server.listen`), with everything
/// `serve` has: the store, the audit log and, when `[interactions]` is set, the actions engine
/// (secrets from `env`). Returns the running service and its store.
pub(crate) async fn start_service(
    config: &ServiceConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Service, Arc<dyn Store>), OpsError> {
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .map_err(|e| OpsError::Io(format!("cannot listen on {}: {e}", config.server.listen)))?;
    start_service_on(config, listener, env).await
}

/// As [`start_service`], on `listener`.
async fn start_service_on(
    config: &ServiceConfig,
    listener: tokio::net::TcpListener,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Service, Arc<dyn Store>), OpsError> {
    let store = open_store(config).await?;
    let store: Arc<dyn Store> = Arc::new(store);
    let audit = Arc::new(audit_log(config, Arc::clone(&store))?);
    let mut builder = Service::builder(config).audit(Arc::clone(&audit));
    if config.interactions.any() {
        // Actions and enrichment share one pace with Stripe.
        let limiter =
            stripe_chat::stripe::RateLimiter::per_second(config.enrich.max_calls_per_second);
        let engine = stripe_chat::server::acting::engine(
            config,
            Arc::clone(&store),
            audit,
            Some(limiter.clone()),
            env,
        )
        .map_err(|e| OpsError::Config(e.to_string()))?;
        builder = builder
            .stripe_rate_limiter(limiter)
            .actions(Arc::new(engine));
    }
    let service = builder
        .start(Arc::clone(&store), listener)
        .map_err(|e| OpsError::Io(e.to_string()))?;
    Ok((service, store))
}

/// With `[interactions]`, builds the actions engine as `serve` would (over a store in memory),
/// so that `check` finds what only starting would: the Stripe API key it needs, the audit
/// signing key.
pub(crate) fn check_actions(config: &ServiceConfig) -> Result<(), OpsError> {
    if !config.interactions.any() {
        return Ok(());
    }
    let store: Arc<dyn Store> = Arc::new(stripe_chat::store::MemoryStore::new());
    let audit = Arc::new(audit_log(config, Arc::clone(&store))?);
    stripe_chat::server::acting::engine(config, store, audit, None, |name| std::env::var(name).ok())
        .map(|_| ())
        .map_err(|e| OpsError::Config(e.to_string()))
}

/// Runs the service until SIGTERM or SIGINT; then `/readyz` answers 503 at once, the service
/// keeps serving for `server.drain_delay_secs`, stops accepting, finishes what is in flight and
/// returns within `server.shutdown_grace_secs`. `announce` gets the listening address first.
pub(crate) async fn serve(
    config: ServiceConfig,
    announce: impl FnOnce(std::net::SocketAddr),
) -> Result<(), OpsError> {
    let mut signals = ShutdownSignals::new()?;
    // The port first: a port in use fails alone, before the store is opened (or created).
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .map_err(|e| OpsError::Io(format!("cannot listen on {}: {e}", config.server.listen)))?;
    let (service, _store) =
        start_service_on(&config, listener, &|name| std::env::var(name).ok()).await?;
    announce(service.local_addr());
    tracing::info!(listen = %service.local_addr(), "stripe-chat is serving");
    signals.recv().await;
    service.drain();
    let delay = config.server.drain_delay();
    if !delay.is_zero() {
        tracing::info!(
            drain_delay_secs = delay.as_secs(),
            "draining: /readyz answers 503; still serving until the delay is over (a second signal cuts it short)"
        );
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = signals.recv() => {}
        }
    }
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

/// SIGTERM and SIGINT, listened for from the moment this is made: a signal that arrives while
/// the service starts is seen, not left to its default action (ending the process).
pub(crate) struct ShutdownSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    pub(crate) fn new() -> Result<Self, OpsError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind| {
                signal(kind).map_err(|e| OpsError::Io(format!("cannot listen for signals: {e}")))
            };
            Ok(ShutdownSignals {
                term: listen(SignalKind::terminate())?,
                int: listen(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(ShutdownSignals {})
    }

    /// The next SIGTERM or SIGINT.
    pub(crate) async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The dead-lettered jobs, one tab-separated line each: `id  destination  event_type  event_id
/// attempts=N  gave_up=TIME  why`, where `TIME` is when it was dead-lettered (RFC 3339, UTC) and
/// `why` the last error or the horizon that ran out, and `digest=KEY` for a job of a digest
/// (`dlq retry` of one of them retries its whole digest).
pub(crate) async fn dlq_list(store: &dyn Store) -> Result<Vec<String>, OpsError> {
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

/// Makes dead-lettered jobs pending again: one job by id, or all. Returns how many. A job id
/// that is not on the dead-letter list is an error saying so (nothing was retried).
pub(crate) async fn dlq_retry(store: &dyn Store, job: Option<&str>) -> Result<usize, OpsError> {
    let target = match job {
        None => DlqTarget::All,
        Some(id) => DlqTarget::Job(id.trim().parse::<JobId>().map_err(|_| {
            OpsError::Usage(format!(
                "{id:?} is not a job id (the first column of `stripe-chat dlq list`)"
            ))
        })?),
    };
    let progress = super::progress::Progress::start(match job {
        None => "dlq retry: making every dead letter pending again".to_owned(),
        Some(id) => format!("dlq retry: job {id}"),
    });
    let n = store.dlq_retry(target, SystemTime::now()).await?;
    drop(progress);
    match job {
        Some(id) if n == 0 => Err(OpsError::NotFound(format!(
            "no dead letter has the id {id}: nothing was retried (`stripe-chat dlq list` shows them)"
        ))),
        _ => Ok(n),
    }
}

/// Delivers a stored event again to the destinations its routes name now. Returns how many jobs
/// were created or made pending again.
pub(crate) async fn replay(
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
            stripe_chat::server::ingest::jobs_for(&config.routes, &event, SystemTime::now())
        }
        Err(_) => Vec::new(),
    };
    Ok(store.replay(event_id, jobs, SystemTime::now()).await?)
}

/// Fetches the events Stripe has not delivered (`GET /v1/events?delivery_success=false`,
/// created in the window `args` gives) and stores each as the webhook endpoint would: one job
/// per destination its routes name, deduplicated on the event id, so an event already stored is
/// neither stored nor delivered twice. The API key is read from `stripe.api_key_file`, or from
/// the environment variable `stripe.api_key_env` names (default `STRIPE_API_KEY`) through `env`.
///
/// A window that cannot be read, an unset key or an unusable `--api-base` is
/// [`OpsError::Usage`]; Stripe's and the store's failures are [`OpsError::Backfill`].
pub(crate) async fn backfill(
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
    let api_key = config
        .stripe_api
        .api_key(env)
        .map_err(|e| OpsError::Usage(format!("no Stripe API key: {e}")))?;
    let api_base = args
        .api_base
        .clone()
        .or_else(|| config.stripe_api.api_base.clone());
    let mut client = stripe_chat::stripe::Client::builder(api_key)
        .timeout(BACKFILL_TIMEOUT)
        .retry(stripe_chat::stripe::Retry::attempts(BACKFILL_ATTEMPTS));
    if let Some(api_base) = api_base {
        client = client.api_base(api_base);
    }
    let client = client
        .build()
        .map_err(|e| OpsError::Usage(format!("cannot call Stripe: {e}")))?;
    let store = open_store(config).await?;
    let progress = super::progress::Progress::start("backfill: listing undelivered events");
    let verb = if args.dry_run {
        "would store"
    } else {
        "stored"
    };
    Ok(
        backfill_with_progress(&client, &store, &config.routes, options, now, |so_far| {
            progress.update(format!(
                "backfill: {} page(s) fetched, {} event(s) listed, {} {verb}, {} already stored",
                so_far.pages, so_far.listed, so_far.ingested, so_far.duplicates
            ));
        })
        .await?,
    )
}

/// What `stripe-chat prune` is asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PruneArgs {
    /// Prune what is older than this (`30d`, `72h`; at least 3 days); default: the configured
    /// `[store] retention`.
    pub(crate) older_than: Option<String>,
    /// Count what would be pruned; write nothing.
    pub(crate) dry_run: bool,
    /// Then rewrite the store file with `VACUUM`, giving every free page back (and converting
    /// a file created before incremental vacuum).
    pub(crate) vacuum: bool,
}

/// What `stripe-chat prune` did (or, with `--dry-run`, would do). Its `Display` is the
/// command's output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PruneReport {
    /// The age limit, as given or configured.
    pub(crate) older_than: String,
    /// Whether nothing was written.
    pub(crate) dry_run: bool,
    /// Delivered or superseded jobs pruned (or that would be).
    pub(crate) jobs: usize,
    /// Events pruned (or that would be).
    pub(crate) events: usize,
    /// Message refs pruned (or that would be).
    pub(crate) refs: usize,
    /// Bytes given back to the file system by incremental vacuum.
    pub(crate) bytes_given_back: u64,
    /// With `--vacuum`: how many bytes the rewrite took off the file.
    pub(crate) vacuumed: Option<u64>,
    /// The store file's size afterwards (not counted in a dry run).
    pub(crate) file_bytes: Option<u64>,
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
/// (`SqliteStore::vacuum`). With `dry_run` it only counts. Safe while the service runs
/// (their writes take turns), but `--vacuum` holds the file for its whole rewrite: stop the
/// service for it.
pub(crate) async fn prune(
    config: &ServiceConfig,
    args: &PruneArgs,
) -> Result<PruneReport, OpsError> {
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
    let _progress = super::progress::Progress::start(if args.dry_run {
        format!("prune: counting what is older than {older_than}")
    } else if args.vacuum {
        format!("prune: deleting what is older than {older_than}, then rewriting the file")
    } else {
        format!("prune: deleting what is older than {older_than} and giving the space back")
    });
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

/// `url` as a webhook URL to POST to: `http://` or `https://` with a host. A URL written without
/// its scheme (`127.0.0.1:8787/webhooks/stripe`) is refused with the URL it should have been.
pub(crate) fn webhook_url(url: &str) -> Result<reqwest::Url, OpsError> {
    let url = url.trim();
    let parsed = reqwest::Url::parse(url);
    match parsed {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => {
            Ok(parsed)
        }
        _ if !url.contains("://") => Err(OpsError::Usage(format!(
            "--url {url:?} has no scheme: write http://{url} (or https://)"
        ))),
        Ok(parsed) => Err(OpsError::Usage(format!(
            "--url {url:?}: the scheme must be http or https, not {}",
            parsed.scheme()
        ))),
        Err(e) => Err(OpsError::Usage(format!("--url {url:?} is not a URL: {e}"))),
    }
}

/// Why a request never got an answer, in words an operator can act on.
fn request_failure(url: &reqwest::Url, error: &reqwest::Error) -> String {
    let at = match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        _ => url.to_string(),
    };
    let refused = {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
        let mut refused = false;
        while let Some(e) = source {
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
            {
                refused = true;
            }
            source = e.source();
        }
        refused
    };
    if refused {
        format!(
            "cannot POST to {url}: connection refused: nothing listens on {at}; is the service running (stripe-chat serve, or demo --serve --keep), and is this its [server] listen address?"
        )
    } else if error.is_timeout() {
        format!("cannot POST to {url}: no answer within 30 s from {at}")
    } else if error.is_connect() {
        format!(
            "cannot POST to {url}: cannot connect to {at} (check the host name and that the service is reachable from here)"
        )
    } else {
        format!("cannot POST to {url}: the request failed before an answer came")
    }
}

/// Signs `body` with `secret` as Stripe does and POSTs it to `url`. Returns the HTTP status and
/// the answer's body. A URL without a scheme and a refused connection are said as such.
pub(crate) async fn send_signed(
    url: &str,
    secret: &str,
    body: &str,
) -> Result<(u16, String), OpsError> {
    let url = webhook_url(url)?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let response = reqwest::Client::new()
        .post(url.clone())
        .header("Content-Type", "application/json")
        .header("Stripe-Signature", sign(body.as_bytes(), secret, now))
        .body(body.to_owned())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| OpsError::Io(request_failure(&url, &e)))?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    Ok((status, text))
}

/// Who runs an operator command, as the audit log records it: the operating-system user.
pub(crate) fn operator() -> stripe_chat::audit::Actor {
    let user = ["USER", "LOGNAME"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    stripe_chat::audit::Actor::operator(user)
}

/// The signing key `[audit] signing_key_file` names, if any.
fn signing_key(config: &ServiceConfig) -> Result<Option<stripe_chat::audit::SignerKey>, OpsError> {
    let Some(path) = &config.audit.signing_key_file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        OpsError::Config(format!(
            "audit.signing_key_file: cannot read {}: {}",
            path.display(),
            e.kind()
        ))
    })?;
    stripe_chat::audit::SignerKey::parse(&text)
        .map(Some)
        .map_err(|e| OpsError::Config(format!("audit.signing_key_file: {e}")))
}

/// The audit log in `store`, signing checkpoints as `[audit]` says.
pub(crate) fn audit_log(
    config: &ServiceConfig,
    store: Arc<dyn Store>,
) -> Result<stripe_chat::audit::AuditLog, OpsError> {
    stripe_chat::server::acting::audit_log(config, store)
        .map_err(|e| OpsError::Config(e.to_string()))
}

/// Records an operator command that changed state. A command that did its work but could not
/// be audited says so and fails, so the gap is never silent.
pub(crate) async fn audit_command(
    config: &ServiceConfig,
    store: Arc<dyn Store>,
    entry: stripe_chat::audit::Entry,
) -> Result<(), OpsError> {
    let log = audit_log(config, store)?;
    log.append(entry).await.map_err(|e| {
        OpsError::Io(format!(
            "the command ran, but its audit record could not be written: {e}"
        ))
    })?;
    Ok(())
}

/// Checks the audit log with `[audit] verifier_key`, or the public half of the signing key.
/// Without either, only the chain is checked (an edit or removal is found; a cut tail or a
/// rewrite of the whole log is not), and the report says so.
pub(crate) async fn audit_verify(
    config: &ServiceConfig,
    store: Arc<dyn Store>,
) -> Result<(stripe_chat::audit::Verification, bool), OpsError> {
    let verifier = match &config.audit.verifier_key {
        Some(text) => Some(
            text.parse::<stripe_chat::audit::VerifierKey>()
                .map_err(|e| OpsError::Config(format!("audit.verifier_key: {e}")))?,
        ),
        None => signing_key(config)?.map(|key| key.verifier()),
    };
    let mut keys: Vec<_> = verifier.into_iter().collect();
    for (i, text) in config.audit.retired_verifier_keys.iter().enumerate() {
        keys.push(
            text.parse::<stripe_chat::audit::VerifierKey>()
                .map_err(|e| OpsError::Config(format!("audit.retired_verifier_keys[{i}]: {e}")))?,
        );
    }
    let log = stripe_chat::audit::AuditLog::new(store, config.audit.name.clone());
    let report = log
        .verify_with(&keys)
        .await
        .map_err(|e| OpsError::Io(e.to_string()))?;
    Ok((report, !keys.is_empty()))
}

/// The audit records made at or after `since` (Unix milliseconds), as JSON lines.
pub(crate) async fn audit_export(
    store: Arc<dyn Store>,
    since_ms: Option<i64>,
) -> Result<Vec<String>, OpsError> {
    let log = stripe_chat::audit::AuditLog::new(store, "export");
    let mut lines = Vec::new();
    for record in log
        .records(1)
        .await
        .map_err(|e| OpsError::Io(e.to_string()))?
    {
        let at_ms = record.entry().map_or(i64::MAX, |e| e.at_ms);
        if since_ms.is_some_and(|since| at_ms < since) {
            continue;
        }
        lines.push(
            record
                .to_json_line()
                .map_err(|e| OpsError::Io(e.to_string()))?,
        );
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};
    use stripe_chat::store::{MemoryStore, NewEvent, NewJob};

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

    const CONFIG: &str = "[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = \"x.db\"\n[[destinations]]\nname = \"log\"\nprovider = \"file\"\npath = \"out/messages.jsonl\"\n";

    #[test]
    fn a_configuration_file_that_cannot_be_read_is_a_configuration_error_naming_it() {
        let err = load_config(Path::new("/no/such/file.toml")).expect_err("missing");
        assert!(matches!(err, OpsError::Config(_)), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("configuration: cannot read /no/such/file.toml")
        );
    }

    #[test]
    fn the_summary_names_the_listener_the_store_each_destination_and_the_routes() {
        let config = ServiceConfig::from_toml(CONFIG).expect("valid");
        assert_eq!(
            summary(&config),
            "valid: listen 127.0.0.1:0, store x.db, 1 destination(s): log (file), 0 route(s)"
        );
    }

    #[test]
    fn file_destinations_are_listed_with_their_paths() {
        let config = ServiceConfig::from_toml(CONFIG).expect("valid");
        assert_eq!(
            file_destinations(&config),
            vec![("log".to_owned(), "out/messages.jsonl".to_owned())]
        );
    }

    #[tokio::test]
    async fn backfill_refuses_an_unreadable_window_or_a_missing_key_before_calling_stripe() {
        let config = ServiceConfig::from_toml(CONFIG).expect("valid");
        let args = BackfillArgs {
            since: "yesterday".into(),
            ..Default::default()
        };
        let err = backfill(&config, &args, |_| Some("sk_test_1".into()))
            .await
            .expect_err("unreadable");
        assert!(
            err.to_string()
                .starts_with("--since: \"yesterday\" is not a duration"),
            "{err}"
        );
        let args = BackfillArgs {
            since: "24h".into(),
            ..Default::default()
        };
        let err = backfill(&config, &args, |_| None)
            .await
            .expect_err("no key");
        assert_eq!(
            err.to_string(),
            "no Stripe API key: the environment variable STRIPE_API_KEY is not set (stripe.api_key_env names it)"
        );
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

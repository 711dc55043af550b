//! The `stripe-chat` command: run the service, operate it, render Stripe events for chat platforms.
//!
//! ```text
//! stripe-chat check --config FILE
//! stripe-chat serve --config FILE
//! stripe-chat dlq list --config FILE
//! stripe-chat dlq retry (JOB_ID | --all) --config FILE
//! stripe-chat replay EVENT_ID --config FILE
//! stripe-chat backfill --since 24h [--until TIME] [--dry-run] [--api-base URL] --config FILE
//! stripe-chat audit verify --config FILE
//! stripe-chat audit export [--since TIME] --config FILE
//! stripe-chat audit keygen --name NAME --out FILE
//! stripe-chat prune [--older-than 30d] [--dry-run | --vacuum] --config FILE
//! stripe-chat send-test-event --url URL [--secret SECRET] (EVENT.json | EVENT_TYPE)
//! stripe-chat render --provider NAME [--config FILE] EVENT.json
//! stripe-chat demo [--serve [--keep] [--listen ADDR] [--data-dir DIR]] [--provider NAME]
//! stripe-chat preview [--config FILE] [--listen 127.0.0.1:8790]
//! stripe-chat init [--platform slack,teams,discord,matrix,webhook] [--out FILE] [--force]
//! ```
//!
//! Every command takes `--log-format text|json` (or `STRIPE_CHAT_LOG_FORMAT`); the service
//! commands read `--config` from `STRIPE_CHAT_CONFIG` when it is not given, and
//! `send-test-event` its secret from `STRIPE_WEBHOOK_SECRET`.
#![forbid(unsafe_code)]

/// mimalloc: the service allocates many short-lived strings and JSON values per event, and
/// spends a quarter less CPU on them than with the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

mod cli;

use clap::{Parser, Subcommand};
use stripe_chat::audit::{Decision, Entry};
use stripe_chat::events::StripeEvent;
use stripe_chat::store::Store;
use stripe_chat::{Pipeline, RenderConfig};

/// Stripe payment events in Slack, Microsoft Teams, Discord and Matrix.
#[derive(Debug, Parser)]
#[command(name = "stripe-chat", version, about)]
struct Cli {
    /// Log format on standard error, for every command (filter with RUST_LOG, default info).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "STRIPE_CHAT_LOG_FORMAT",
        default_value_t = LogFormat::Text
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the JSON body a platform's adapter would send for EVENT.json (after transform and
    /// redaction).
    Render {
        #[arg(long, value_name = "NAME", value_parser = parse_provider, help = provider_help())]
        provider: String,
        /// A TOML file with `[redaction]` and each platform's options (`[slack]`, ...).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The Stripe event (JSON as Stripe sends it); `-` reads standard input.
        #[arg(value_name = "EVENT.json")]
        event: PathBuf,
    },
    /// Sign, verify, transform, redact and render bundled sample events for every platform; with
    /// `--serve`, run the real service on SQLite and the file destination and feed it signed
    /// samples over HTTP.
    Demo {
        /// Only this platform (rendering demonstration).
        #[arg(long, value_name = "NAME", value_parser = parse_provider, conflicts_with = "serve")]
        provider: Option<String>,
        /// Run the service in process and POST the samples to it.
        #[arg(long)]
        serve: bool,
        /// Where the service demonstration keeps its SQLite file and messages.
        #[arg(
            long,
            value_name = "DIR",
            default_value = "demo-data",
            requires = "serve"
        )]
        data_dir: PathBuf,
        /// Keep the service running after the samples (until Ctrl-C), on a fixed port, to send
        /// it your own events; without it, `demo --serve` exits once the samples are delivered.
        #[arg(long, requires = "serve")]
        keep: bool,
        /// Where the service listens (default: 127.0.0.1:8787 with --keep, a free port
        /// otherwise).
        #[arg(long, value_name = "ADDR", requires = "serve", value_parser = parse_listen)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Check a configuration file as `serve` would (secrets included) and exit: 0 when it is
    /// valid, 2 with a one-line error otherwise. Opens no store and reaches no network.
    Check {
        /// The configuration file (see docs/configuration.md).
        #[arg(long, value_name = "FILE", env = CONFIG_ENV)]
        config: PathBuf,
    },
    /// Print the Slack app manifest (bot user, scopes, interactivity request URL) of a
    /// deployment reachable at URL, to paste into Slack's "Create an app → From an app
    /// manifest".
    SlackManifest {
        /// Where the service's public listener is reached (`https://host`).
        #[arg(long)]
        url: String,
        /// The app's name (and its bot's).
        #[arg(long, default_value = "stripe-chat")]
        name: String,
    },
    /// Run the service: the webhook listener and the delivery workers.
    Serve {
        /// The configuration file (see docs/configuration.md).
        #[arg(long, value_name = "FILE", env = CONFIG_ENV)]
        config: PathBuf,
    },
    /// List or retry dead-lettered delivery jobs.
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
    },
    /// Deliver a stored event again to the destinations its routes name.
    Replay {
        /// The event id (evt_...).
        event_id: String,
        /// The configuration file.
        #[arg(long, value_name = "FILE", env = CONFIG_ENV)]
        config: PathBuf,
    },
    /// Fetch the events Stripe could not deliver (GET /v1/events?delivery_success=false) and
    /// store them as the webhook would have: routed, deduplicated on their id, delivered by the
    /// service. The API key comes from the environment (STRIPE_API_KEY, or the variable
    /// stripe.api_key_env names).
    Backfill {
        /// The start: a duration before now (30m, 24h, 7d), a UTC time (2026-12-01,
        /// 2026-12-01T08:00:00Z) or Unix seconds.
        #[arg(long, value_name = "TIME")]
        since: String,
        /// The end, in the same forms (default: now).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// List and count what would be stored; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Stripe's API base URL (default stripe.api_base, else https://api.stripe.com/).
        #[arg(long, value_name = "URL")]
        api_base: Option<String>,
        /// The configuration file.
        #[arg(long, value_name = "FILE", env = CONFIG_ENV)]
        config: PathBuf,
    },
    /// The tamper-evident audit log: verify it, export it, make a checkpoint signing key.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Delete delivered events and finished jobs older than the retention, as the service does
    /// in the background, and give the space back. Pending jobs, dead letters and the messages
    /// they may still update are kept.
    Prune {
        /// Prune what is older than this (30d, 72h; at least 3d). Default: `[store] retention`.
        #[arg(long, value_name = "AGE")]
        older_than: Option<String>,
        /// Count what would be pruned; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Then rewrite the store file (SQLite VACUUM): every free page back to the disk, and a
        /// file from before incremental vacuum converted. Needs free space of the file's live
        /// size; stop the service while it runs.
        #[arg(long, conflicts_with = "dry_run")]
        vacuum: bool,
        /// The configuration file.
        #[arg(long, value_name = "FILE", env = CONFIG_ENV)]
        config: PathBuf,
    },
    /// Serve a local page showing any Stripe event as Slack, Teams, Discord and Matrix show it,
    /// side by side (the same pipeline and adapters as `render`); with --config, also what the
    /// service has done, read-only. Loopback only by default; the page loads nothing else.
    Preview {
        /// The service's configuration: show its destinations, recent deliveries and dead
        /// letters (read-only).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Let the page retry a dead letter, as `dlq retry` does (audited as the operator who
        /// runs the preview). Needs --config.
        #[arg(long, requires = "config")]
        allow_retry: bool,
        /// Where the page is served.
        #[arg(long, value_name = "ADDR", default_value = cli::preview::DEFAULT_LISTEN, value_parser = parse_listen)]
        listen: std::net::SocketAddr,
    },
    /// Write a commented starter configuration (the file destination, plus a destination for
    /// each `--platform`, its secret read from an environment variable) that `check` accepts.
    Init {
        /// Add a destination for these platforms (comma-separated or repeated).
        #[arg(long, value_enum, value_delimiter = ',')]
        platform: Vec<cli::init::Platform>,
        /// Where to write it; `-` prints it.
        #[arg(long, value_name = "FILE", default_value = "stripe-chat.toml")]
        out: PathBuf,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Sign a sample event as Stripe does and POST it to a running service.
    #[command(after_help = sample_types_help())]
    SendTestEvent {
        /// The webhook URL (http://HOST:PORT/webhooks/stripe).
        #[arg(long)]
        url: String,
        /// The endpoint's signing secret (whsec_...). Prefer the environment variable: a
        /// command line is visible to every user of the machine.
        #[arg(long, env = "STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
        /// A Stripe event file, or an event type with a bundled sample (invoice.paid, ...); it gets
        /// a fresh id and the current time.
        #[arg(value_name = "EVENT.json|EVENT_TYPE")]
        event: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditAction {
    /// Check every record and signed checkpoint; print the first bad record (exit 1) or "ok".
    Verify {
        /// The configuration file.
        #[arg(long, value_name = "FILE", env = CONFIG_ENV)]
        config: PathBuf,
    },
    /// Print the records as JSON lines (seq, prev_hash, hash, entry).
    Export {
        /// Only records made since: a duration before now (24h, 7d), a UTC time or Unix seconds.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// The configuration file.
        #[arg(long, value_name = "FILE", env = CONFIG_ENV)]
        config: PathBuf,
    },
    /// Make a checkpoint signing key: written to FILE (readable by its owner only), its
    /// verifier key printed (publish it; `[audit] verifier_key`).
    Keygen {
        /// The key's name (letters, digits, punctuation but '+').
        #[arg(long)]
        name: String,
        /// Where to write the signing key; refused if the file exists.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum DlqAction {
    /// Print the dead-lettered jobs, one per line.
    List {
        /// The configuration file.
        #[arg(long, value_name = "FILE", env = CONFIG_ENV)]
        config: PathBuf,
    },
    /// Make dead-lettered jobs pending again.
    Retry {
        /// The job id (the first column of `dlq list`); or `--all`.
        #[arg(conflicts_with = "all")]
        job: Option<String>,
        /// Every dead-lettered job.
        #[arg(long)]
        all: bool,
        /// The configuration file.
        #[arg(long, value_name = "FILE", env = CONFIG_ENV)]
        config: PathBuf,
    },
}

/// The environment variable `--config` falls back to (service commands).
const CONFIG_ENV: &str = "STRIPE_CHAT_CONFIG";

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// A provider the registry knows.
fn parse_provider(value: &str) -> Result<String, String> {
    let name = value.to_ascii_lowercase();
    match stripe_chat::providers().find(&name) {
        Ok(_) => Ok(name),
        Err(e) => Err(e.problem().to_owned()),
    }
}

/// A listening address: `IP:PORT` or `HOST:PORT` (resolved), as `[server] listen`.
fn parse_listen(value: &str) -> Result<std::net::SocketAddr, String> {
    stripe_chat::server::config::resolve_listen(value)
        .map_err(|e| e.trim_start_matches("server.listen: ").to_owned())
}

/// `send-test-event --help`'s list of the bundled event types.
fn sample_types_help() -> String {
    let types: Vec<&str> = cli::samples::SAMPLE_EVENTS
        .iter()
        .map(|(t, _)| *t)
        .collect();
    format!(
        "Bundled event types (each sent with a fresh id and its times moved to now):\n  {}",
        types.join("\n  ")
    )
}

/// `--provider`'s help: the registered names.
fn provider_help() -> String {
    let providers = stripe_chat::providers();
    let names: Vec<&str> = providers.names().collect();
    format!("The platform: {}", names.join(", "))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The service reports what it does; a one-shot command prints its result, and logs only
    // warnings unless RUST_LOG asks for more.
    let level = match cli.command {
        Command::Serve { .. } | Command::Demo { serve: true, .. } => "info",
        _ => "warn",
    };
    init_logs(cli.log_format, level);
    let result = match cli.command {
        Command::Render {
            provider,
            config,
            event,
        } => render(&provider, config.as_deref(), &event),
        Command::Demo {
            provider,
            serve: false,
            ..
        } => demo(provider),
        Command::Demo {
            data_dir,
            keep,
            listen,
            ..
        } => runtime().and_then(|rt| {
            rt.block_on(async {
                let mut out = io::stdout().lock();
                cli::demo::serve(&data_dir, keep, listen, &mut out)
                    .await
                    .map_err(|e| match e {
                        cli::demo::DemoError::Io(e) => Failure::Io(e),
                        other => Failure::Service(other.to_string()),
                    })
            })
        }),
        Command::Check { config } => check(&config),
        Command::SlackManifest { url, name } => slack_manifest(&url, &name),
        Command::Serve { config } => serve(&config),
        Command::Dlq { action } => dlq(action),
        Command::Replay { event_id, config } => replay(&config, &event_id),
        Command::Backfill {
            since,
            until,
            dry_run,
            api_base,
            config,
        } => backfill(
            &config,
            cli::ops::BackfillArgs {
                since,
                until,
                dry_run,
                api_base,
            },
        ),
        Command::Audit { action } => audit(action),
        Command::Prune {
            older_than,
            dry_run,
            vacuum,
            config,
        } => prune(
            &config,
            cli::ops::PruneArgs {
                older_than,
                dry_run,
                vacuum,
            },
        ),
        Command::SendTestEvent { url, secret, event } => send_test_event(&url, &secret, &event),
        Command::Init {
            platform,
            out,
            force,
        } => init(&platform, &out, force),
        Command::Preview {
            config,
            listen,
            allow_retry,
        } => preview(config.as_deref(), listen, allow_retry),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("stripe-chat: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Service(message)) => {
            eprintln!("stripe-chat: {message}");
            ExitCode::FAILURE
        }
        Err(Failure::Io(error)) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Failure::Io(error)) => {
            eprintln!("stripe-chat: cannot write output: {error}");
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    /// Bad input: a one-line message, exit code 2.
    Usage(String),
    /// Writing the output failed.
    Io(io::Error),
    /// The service or an operator command failed: exit code 1.
    Service(String),
}

impl From<cli::ops::OpsError> for Failure {
    fn from(error: cli::ops::OpsError) -> Self {
        match error {
            cli::ops::OpsError::Config(_) | cli::ops::OpsError::Usage(_) => {
                Failure::Usage(error.to_string())
            }
            other => Failure::Service(other.to_string()),
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Service(format!("cannot start the runtime: {e}")))
}

/// Logs of every command go to standard error in `format`, filtered by `RUST_LOG` (default:
/// `level`). async-stripe's own retry warnings are left out by default: the command reports the
/// failure once, classified.
fn init_logs(format: LogFormat, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{level},stripe::hyper=error"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
        .with_writer(io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

fn serve(config: &Path) -> Result<(), Failure> {
    let config = cli::ops::load_config(config)?;
    raise_open_files_limit(config.server.max_connections);
    let files = cli::ops::file_destinations(&config);
    runtime()?.block_on(cli::ops::serve(config, |addr| {
        println!("stripe-chat listening on http://{addr} (POST Stripe webhooks to http://{addr}/webhooks/stripe)");
        for (name, path) in &files {
            println!("destination {name:?} writes to {path}");
        }
    }))?;
    Ok(())
}

fn slack_manifest(url: &str, name: &str) -> Result<(), Failure> {
    let manifest = stripe_chat::slack::manifest::manifest(url, name)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| Failure::Service(e.to_string()))?;
    writeln!(io::stdout().lock(), "{text}").map_err(Failure::Io)
}

fn check(path: &Path) -> Result<(), Failure> {
    let config = cli::ops::load_config(path)?;
    cli::ops::check_actions(&config)?;
    println!("{}: {}", path.display(), cli::ops::summary(&config));
    Ok(())
}

/// Raises the soft limit on open files to the hard limit (the soft one is often 1,024, for
/// programs that use `select`, which this one does not), and warns when it is still too low for
/// `max_connections` client connections beside the store's own files.
fn raise_open_files_limit(max_connections: usize) {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current.is_some() && limit.current != limit.maximum {
            let raised = rustix::process::Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if let Err(e) = setrlimit(Resource::Nofile, raised) {
                tracing::debug!(error = %e, "cannot raise the open-files limit");
            }
        }
        let open_files = getrlimit(Resource::Nofile).current;
        let needed = u64::try_from(max_connections)
            .unwrap_or(u64::MAX)
            .saturating_add(64);
        if let Some(open_files) = open_files.filter(|n| *n < needed) {
            tracing::warn!(
                open_files,
                max_connections,
                "the open-files limit is too low for server.max_connections: raise it (LimitNOFILE= in a systemd unit, ulimit -n) or lower max_connections"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = max_connections;
}

fn dlq(action: DlqAction) -> Result<(), Failure> {
    let rt = runtime()?;
    match action {
        DlqAction::List { config } => {
            let config = cli::ops::load_config(&config)?;
            let lines = rt.block_on(async {
                let store = cli::ops::open_store(&config).await?;
                cli::ops::dlq_list(&store).await
            })?;
            let mut out = io::stdout().lock();
            for line in &lines {
                writeln!(out, "{line}")?;
            }
            if lines.is_empty() {
                eprintln!("stripe-chat: the dead-letter list is empty");
            }
        }
        DlqAction::Retry { job, all, config } => {
            if job.is_none() && !all {
                return Err(Failure::Usage(
                    "dlq retry: name a job id (the first column of `stripe-chat dlq list`), or --all to retry every dead letter".to_owned(),
                ));
            }
            let config = cli::ops::load_config(&config)?;
            let job = if all { None } else { job };
            let n = rt.block_on(async {
                let store: Arc<dyn Store> = Arc::new(cli::ops::open_store(&config).await?);
                let n = cli::ops::dlq_retry(&*store, job.as_deref()).await?;
                let entry = Entry::new(cli::ops::operator(), "dlq_retry", Decision::Performed)
                    .detail(format!(
                        "{} ({n} job(s) pending again)",
                        job.as_deref()
                            .map_or_else(|| "all".to_owned(), |j| format!("job {j}"))
                    ));
                cli::ops::audit_command(&config, store, entry).await?;
                Ok::<_, cli::ops::OpsError>(n)
            })?;
            println!("{n} job(s) pending again");
        }
    }
    Ok(())
}

fn replay(config: &Path, event_id: &str) -> Result<(), Failure> {
    let config = cli::ops::load_config(config)?;
    let n = runtime()?.block_on(async {
        let store: Arc<dyn Store> = Arc::new(cli::ops::open_store(&config).await?);
        let n = cli::ops::replay(&config, &*store, event_id).await?;
        let entry = Entry::new(cli::ops::operator(), "replay", Decision::Performed)
            .message(event_id)
            .detail(format!("{n} delivery job(s) queued"));
        cli::ops::audit_command(&config, store, entry).await?;
        Ok::<_, cli::ops::OpsError>(n)
    })?;
    println!("{n} delivery job(s) queued for {event_id}");
    Ok(())
}

fn backfill(config: &Path, args: cli::ops::BackfillArgs) -> Result<(), Failure> {
    let config = cli::ops::load_config(config)?;
    let dry_run = args.dry_run;
    let window = format!(
        "since {}{}",
        args.since,
        args.until
            .as_deref()
            .map(|u| format!(" until {u}"))
            .unwrap_or_default()
    );
    let report = runtime()?.block_on(async {
        let report = cli::ops::backfill(&config, &args, |name| std::env::var(name).ok()).await?;
        if !dry_run {
            let store: Arc<dyn Store> = Arc::new(cli::ops::open_store(&config).await?);
            let entry = Entry::new(cli::ops::operator(), "backfill", Decision::Performed)
                .detail(format!("{window}: {report}"));
            cli::ops::audit_command(&config, store, entry).await?;
        }
        Ok::<_, cli::ops::OpsError>(report)
    })?;
    println!("{report}");
    Ok(())
}

fn audit(action: AuditAction) -> Result<(), Failure> {
    match action {
        AuditAction::Keygen { name, out } => {
            let key = stripe_chat::audit::SignerKey::generate(&name)
                .map_err(|e| Failure::Usage(e.to_string()))?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options
                .open(&out)
                .map_err(|e| Failure::Usage(format!("{}: {e}", out.display())))?;
            writeln!(file, "{}", key.to_text())?;
            file.sync_all()?;
            println!("{}", key.verifier());
            eprintln!(
                "stripe-chat: signing key written to {}; put the line above in [audit] verifier_key and keep a copy where the service cannot write",
                out.display()
            );
        }
        AuditAction::Verify { config } => {
            let config = cli::ops::load_config(&config)?;
            let (report, keyed) = runtime()?.block_on(async {
                let store: Arc<dyn Store> = Arc::new(cli::ops::open_store(&config).await?);
                cli::ops::audit_verify(&config, store).await
            })?;
            if let Some(problem) = report.problem {
                return Err(Failure::Service(format!("audit log: {problem}")));
            }
            let anchor = match (keyed, report.anchored_at) {
                (false, _) => "; no verifier key: checkpoints not checked (a cut tail or a rewrite of the whole log would not show)".to_owned(),
                (true, Some(size)) => format!("; signed up to record {size}"),
                (true, None) => "; no checkpoint yet".to_owned(),
            };
            println!(
                "ok: {} record(s), {} checkpoint(s){anchor}",
                report.records, report.checkpoints
            );
        }
        AuditAction::Export { since, config } => {
            let config = cli::ops::load_config(&config)?;
            let since_ms = match since {
                Some(text) => {
                    let at = stripe_chat::server::backfill::parse_time(&text, SystemTime::now())
                        .map_err(|e| Failure::Usage(format!("--since: {e}")))?;
                    Some(
                        at.duration_since(UNIX_EPOCH)
                            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
                    )
                }
                None => None,
            };
            let lines = runtime()?.block_on(async {
                let store: Arc<dyn Store> = Arc::new(cli::ops::open_store(&config).await?);
                cli::ops::audit_export(store, since_ms).await
            })?;
            let mut out = io::stdout().lock();
            for line in lines {
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(())
}

fn prune(config: &Path, args: cli::ops::PruneArgs) -> Result<(), Failure> {
    let config = cli::ops::load_config(config)?;
    let report = runtime()?.block_on(cli::ops::prune(&config, &args))?;
    println!("{report}");
    Ok(())
}

fn preview(
    config: Option<&Path>,
    listen: std::net::SocketAddr,
    allow_retry: bool,
) -> Result<(), Failure> {
    let access = if allow_retry {
        cli::preview::Access::Retry
    } else {
        cli::preview::Access::ReadOnly
    };
    let config = config.map(cli::ops::load_config).transpose()?;
    runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Failure::Service(format!("cannot listen on {listen}: {e}")))?;
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            eprintln!(
                "stripe-chat: the preview listens on {addr}, beyond this machine: anyone who reaches it sees the events pasted into it{}",
                if config.is_some() { " and the service's recent deliveries" } else { "" }
            );
        }
        println!("stripe-chat preview on http://{addr}/ (Ctrl-C stops it)");
        let mut signals = cli::ops::ShutdownSignals::new()?;
        cli::preview::serve(listener, config, access, async move { signals.recv().await })
            .await
            .map_err(|e| Failure::Service(format!("the preview stopped: {e}")))
    })
}

fn init(platforms: &[cli::init::Platform], out: &Path, force: bool) -> Result<(), Failure> {
    let text = cli::init::starter_config(platforms);
    if out == Path::new("-") {
        io::stdout().lock().write_all(text.as_bytes())?;
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(out).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            Failure::Usage(format!(
                "{} exists: edit it, or add --force to replace it",
                out.display()
            ))
        } else {
            Failure::Usage(format!("cannot write {}: {e}", out.display()))
        }
    })?;
    file.write_all(text.as_bytes())?;
    println!(
        "wrote {}; check it with: stripe-chat check --config {}",
        out.display(),
        out.display()
    );
    let variables: Vec<&str> = platforms
        .iter()
        .flat_map(|p| p.variables())
        .copied()
        .collect();
    if !variables.is_empty() {
        println!(
            "set first (or switch to *_file keys): {}",
            variables.join(", ")
        );
    }
    Ok(())
}

fn send_test_event(url: &str, secret: &str, event: &str) -> Result<(), Failure> {
    let raw = match cli::samples::sample(event) {
        Some(raw) => raw.to_owned(),
        None if Path::new(event).exists() => String::from_utf8(read_input(Path::new(event))?)
            .map_err(|_| Failure::Usage(format!("{event}: not UTF-8")))?,
        None => {
            let known: Vec<&str> = cli::samples::SAMPLE_EVENTS
                .iter()
                .map(|(t, _)| *t)
                .collect();
            return Err(Failure::Usage(format!(
                "{event:?} is neither a file nor a bundled event type ({})",
                known.join(", ")
            )));
        }
    };
    let body = cli::samples::fresh(&raw).map_err(|e| Failure::Usage(format!("{event}: {e}")))?;
    let id = StripeEvent::from_slice(body.as_bytes())
        .map(|e| e.id().to_owned())
        .map_err(|e| Failure::Usage(format!("{event}: {e}")))?;
    let (status, answer) = runtime()?.block_on(cli::ops::send_signed(url, secret, &body))?;
    println!("{id} → HTTP {status} {}", answer.trim());
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(Failure::Service(format!("the endpoint answered {status}")))
    }
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        Failure::Io(error)
    }
}

fn render(provider: &str, config: Option<&Path>, event: &Path) -> Result<(), Failure> {
    let config = match config {
        Some(path) => cli::ops::load_file(path, cli::ops::render_config)?,
        None => RenderConfig::default(),
    };
    let raw = read_input(event)?;
    let name = event.display();
    let event =
        StripeEvent::from_slice(&raw).map_err(|e| Failure::Usage(format!("{name}: {e}")))?;
    let pipeline = Pipeline::from_config(&config.redaction);
    let body = stripe_chat::render(&pipeline, &config, provider, &event)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    match body {
        Some(body) => {
            let mut out = io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &body).map_err(io::Error::from)?;
            writeln!(out)?;
        }
        None => eprintln!(
            "stripe-chat: no message: the {} transformer has nothing to say about {} (noise control)",
            event.event_type(),
            event.id()
        ),
    }
    Ok(())
}

fn read_input(path: &Path) -> Result<Vec<u8>, Failure> {
    let mut raw = Vec::new();
    let result = if path == Path::new("-") {
        io::stdin().read_to_end(&mut raw).map(|_| ())
    } else {
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut raw))
            .map(|_| ())
    };
    result.map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    Ok(raw)
}

fn demo(provider: Option<String>) -> Result<(), Failure> {
    let providers: Vec<String> = match provider {
        Some(p) => vec![p],
        None => stripe_chat::providers()
            .names()
            .map(str::to_owned)
            .collect(),
    };
    let mut out = io::stdout().lock();
    cli::demo::run(&providers, &mut out).map_err(|e| match e {
        cli::demo::DemoError::Io(e) => Failure::Io(e),
        other => Failure::Usage(other.to_string()),
    })
}

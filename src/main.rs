//! The `stripe-chat` command: run the service, operate it, render Stripe events for chat platforms.
//!
//! ```text
//! stripe-chat serve --config FILE [--log-format text|json]
//! stripe-chat dlq list --config FILE
//! stripe-chat dlq retry (JOB_ID | --all) --config FILE
//! stripe-chat replay EVENT_ID --config FILE
//! stripe-chat backfill --since 24h [--until TIME] [--dry-run] [--api-base URL] --config FILE
//! stripe-chat prune [--older-than 30d] [--dry-run | --vacuum] --config FILE
//! stripe-chat send-test-event --url URL --secret SECRET (EVENT.json | EVENT_TYPE)
//! stripe-chat render --provider <slack|teams|discord|matrix> [--config FILE] EVENT.json
//! stripe-chat demo [--serve [--data-dir DIR]] [--provider NAME]
//! ```
#![forbid(unsafe_code)]

/// mimalloc: the service allocates many short-lived strings and JSON values per event, and
/// spends a quarter less CPU on them than with the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stripe_chat::events::StripeEvent;
use stripe_chat::{Pipeline, Provider, RenderConfig};

/// Stripe payment events in Slack, Microsoft Teams, Discord and Matrix.
#[derive(Debug, Parser)]
#[command(name = "stripe-chat", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the JSON body a platform's adapter would send for EVENT.json (after transform and
    /// redaction).
    Render {
        /// slack, teams, discord or matrix.
        #[arg(long, value_parser = parse_provider)]
        provider: Provider,
        /// A TOML file with `[redaction]`, `[slack]`, `[teams]`, `[discord]`, `[matrix]` options.
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
        #[arg(long, value_parser = parse_provider, conflicts_with = "serve")]
        provider: Option<Provider>,
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
    },
    /// Run the service: the webhook listener and the delivery workers.
    Serve {
        /// The configuration file (see docs/configuration.md).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Log format on standard error (filter with RUST_LOG, default info).
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
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
        #[arg(long, value_name = "FILE")]
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
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
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
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Sign a sample event as Stripe does and POST it to a running service.
    SendTestEvent {
        /// The webhook URL (http://HOST:PORT/webhooks/stripe).
        #[arg(long)]
        url: String,
        /// The endpoint's signing secret (whsec_...).
        #[arg(long)]
        secret: String,
        /// A Stripe event file, or an event type with a bundled sample (invoice.paid, ...); it gets
        /// a fresh id and the current time.
        #[arg(value_name = "EVENT.json|EVENT_TYPE")]
        event: String,
    },
}

#[derive(Debug, Subcommand)]
enum DlqAction {
    /// Print the dead-lettered jobs, one per line.
    List {
        /// The configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Make dead-lettered jobs pending again.
    Retry {
        /// The job id (from `dlq list`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        job: Option<String>,
        /// Every dead-lettered job.
        #[arg(long)]
        all: bool,
        /// The configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn parse_provider(value: &str) -> Result<Provider, String> {
    value
        .parse()
        .map_err(|e: stripe_chat::UnknownProvider| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Render {
            provider,
            config,
            event,
        } => render(provider, config.as_deref(), &event),
        Command::Demo {
            provider,
            serve: false,
            ..
        } => demo(provider),
        Command::Demo { data_dir, .. } => runtime().and_then(|rt| {
            rt.block_on(async {
                let mut out = io::stdout().lock();
                stripe_chat::demo::serve(&data_dir, &mut out)
                    .await
                    .map_err(|e| match e {
                        stripe_chat::demo::DemoError::Io(e) => Failure::Io(e),
                        other => Failure::Service(other.to_string()),
                    })
            })
        }),
        Command::Serve { config, log_format } => serve(&config, log_format),
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
            stripe_chat::ops::BackfillArgs {
                since,
                until,
                dry_run,
                api_base,
            },
        ),
        Command::Prune {
            older_than,
            dry_run,
            vacuum,
            config,
        } => prune(
            &config,
            stripe_chat::ops::PruneArgs {
                older_than,
                dry_run,
                vacuum,
            },
        ),
        Command::SendTestEvent { url, secret, event } => send_test_event(&url, &secret, &event),
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

impl From<stripe_chat::ops::OpsError> for Failure {
    fn from(error: stripe_chat::ops::OpsError) -> Self {
        match error {
            stripe_chat::ops::OpsError::Config(_) | stripe_chat::ops::OpsError::Usage(_) => {
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

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
        .with_writer(io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

fn serve(config: &Path, log_format: LogFormat) -> Result<(), Failure> {
    let config = stripe_chat::ops::load_config(config)?;
    init_logs(log_format);
    let files = stripe_chat::ops::file_destinations(&config);
    runtime()?.block_on(stripe_chat::ops::serve(config, |addr| {
        println!("stripe-chat listening on http://{addr} (POST Stripe webhooks to http://{addr}/webhooks/stripe)");
        for (name, path) in &files {
            println!("destination {name:?} writes to {path}");
        }
    }))?;
    Ok(())
}

fn dlq(action: DlqAction) -> Result<(), Failure> {
    let rt = runtime()?;
    match action {
        DlqAction::List { config } => {
            let config = stripe_chat::ops::load_config(&config)?;
            let lines = rt.block_on(async {
                let store = stripe_chat::ops::open_store(&config).await?;
                stripe_chat::ops::dlq_list(&store).await
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
            let config = stripe_chat::ops::load_config(&config)?;
            let job = if all { None } else { job };
            let n = rt.block_on(async {
                let store = stripe_chat::ops::open_store(&config).await?;
                stripe_chat::ops::dlq_retry(&store, job.as_deref()).await
            })?;
            println!("{n} job(s) pending again");
        }
    }
    Ok(())
}

fn replay(config: &Path, event_id: &str) -> Result<(), Failure> {
    let config = stripe_chat::ops::load_config(config)?;
    let n = runtime()?.block_on(async {
        let store = stripe_chat::ops::open_store(&config).await?;
        stripe_chat::ops::replay(&config, &store, event_id).await
    })?;
    println!("{n} delivery job(s) queued for {event_id}");
    Ok(())
}

fn backfill(config: &Path, args: stripe_chat::ops::BackfillArgs) -> Result<(), Failure> {
    let config = stripe_chat::ops::load_config(config)?;
    let report = runtime()?.block_on(stripe_chat::ops::backfill(&config, &args, |name| {
        std::env::var(name).ok()
    }))?;
    println!("{report}");
    Ok(())
}

fn prune(config: &Path, args: stripe_chat::ops::PruneArgs) -> Result<(), Failure> {
    let config = stripe_chat::ops::load_config(config)?;
    let report = runtime()?.block_on(stripe_chat::ops::prune(&config, &args))?;
    println!("{report}");
    Ok(())
}

fn send_test_event(url: &str, secret: &str, event: &str) -> Result<(), Failure> {
    let raw = match stripe_chat::samples::sample(event) {
        Some(raw) => raw.to_owned(),
        None if Path::new(event).exists() => String::from_utf8(read_input(Path::new(event))?)
            .map_err(|_| Failure::Usage(format!("{event}: not UTF-8")))?,
        None => {
            let known: Vec<&str> = stripe_chat::samples::SAMPLE_EVENTS
                .iter()
                .map(|(t, _)| *t)
                .collect();
            return Err(Failure::Usage(format!(
                "{event:?} is neither a file nor a bundled event type ({})",
                known.join(", ")
            )));
        }
    };
    let body =
        stripe_chat::samples::fresh(&raw).map_err(|e| Failure::Usage(format!("{event}: {e}")))?;
    let id = StripeEvent::from_slice(body.as_bytes())
        .map(|e| e.id().to_owned())
        .map_err(|e| Failure::Usage(format!("{event}: {e}")))?;
    let (status, answer) =
        runtime()?.block_on(stripe_chat::ops::send_signed(url, secret, &body))?;
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

fn render(provider: Provider, config: Option<&Path>, event: &Path) -> Result<(), Failure> {
    let config = match config {
        Some(path) => load_config(path)?,
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

fn load_config(path: &Path) -> Result<RenderConfig, Failure> {
    let raw = read_input(path)?;
    let text = String::from_utf8(raw)
        .map_err(|_| Failure::Usage(format!("{}: not UTF-8 text", path.display())))?;
    toml::from_str(&text).map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
        let message = e.message().replace('\n', " ");
        match line {
            Some(line) => Failure::Usage(format!("{}:{line}: {message}", path.display())),
            None => Failure::Usage(format!("{}: {message}", path.display())),
        }
    })
}

fn demo(provider: Option<Provider>) -> Result<(), Failure> {
    let providers: Vec<Provider> = match provider {
        Some(p) => vec![p],
        None => Provider::ALL.to_vec(),
    };
    let mut out = io::stdout().lock();
    stripe_chat::demo::run(&providers, &mut out).map_err(|e| match e {
        stripe_chat::demo::DemoError::Io(e) => Failure::Io(e),
        other => Failure::Usage(other.to_string()),
    })
}

//! The `stripe-chat` command: render Stripe events for chat platforms.
//!
//! ```text
//! stripe-chat render --provider <slack|teams|discord|matrix> [--config FILE] EVENT.json
//! stripe-chat demo [--provider NAME]
//! ```
#![forbid(unsafe_code)]

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
    /// Sign, verify, transform, redact and render bundled sample events for every platform.
    Demo {
        /// Only this platform.
        #[arg(long, value_parser = parse_provider)]
        provider: Option<Provider>,
    },
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
        Command::Demo { provider } => demo(provider),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("stripe-chat: {message}");
            ExitCode::from(2)
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
    let pipeline = Pipeline::from_config(&config);
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

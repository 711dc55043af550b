//! The stripe-chat service: what `stripe-chat serve` runs.
//!
//! - [`config`]: the configuration file, checked into a ready-to-run [`config::ServiceConfig`]
//!   (destinations built from each adapter's own configuration, routes checked against them,
//!   secrets read from the file or the environment) before anything starts.
//! - [`providers`]: the adapters a destination's `provider` may name, one registration line
//!   each.
//! - [`http`] and [`ingest`]: the axum [`router`] — `POST /webhooks/stripe` (verify the signature
//!   on the raw body, commit the event and one job per routed destination, then answer 2xx),
//!   `/healthz`, `/readyz`, `/metrics` ([`metrics`]).
//! - [`interact`]: `POST /interactions/slack` and `/interactions/discord`: clicks verified on the raw body, then handed
//!   to the actions engine.
//! - [`worker`]: the delivery workers (transform → redact → adapter, update in place, retries,
//!   rate limits, inhibition, digests, dead letters).
//! - [`listener`]: the public listener's guards against slow and hostile clients (header and
//!   body timeouts, a connection limit).
//! - [`retention`]: the background [`Pruner`](retention::Pruner) that deletes what is older than
//!   `[store] retention` and gives the space back, so the store does not fill its disk.
//! - [`acting`]: acting from chat: the actions engine built from `[[roles]]`, `[[people]]`,
//!   `[actions]` and `[stripe]`, its audit log with checkpoints posted to a destination, and the
//!   poster through which `assign` and `notify` reach destinations.
//! - [`service`]: all of them together over one store, with graceful shutdown.
//!
//! ```
//! let config = stripe_chat_server::config::ServiceConfig::from_toml(r#"
//! [server]
//! listen = "127.0.0.1:8787"
//! [stripe]
//! webhook_secrets = ["whsec_demo"]
//! [store]
//! sqlite = "demo-data/stripe-chat.db"
//! [[destinations]]
//! name = "log"
//! provider = "file"
//! path = "demo-data/messages.jsonl"
//! [[routes]]
//! events = ["*"]
//! to = ["log"]
//! "#)?;
//! assert_eq!(config.routes.len(), 1);
//! # Ok::<(), stripe_chat_server::config::ConfigError>(())
//! ```
//!
//! # Feature flags
//!
//! None.
#![forbid(unsafe_code)]

pub mod acting;
pub mod backfill;
mod body;
pub mod breaker;
pub mod config;
pub mod contacts;
pub mod http;
pub mod ingest;
pub mod interact;
pub mod listener;
pub mod metrics;
pub mod retention;
pub mod service;
pub mod worker;

pub use http::router;
/// The adapters the service knows, one registration line per platform (`stripe-chat-providers`).
pub use stripe_chat_providers as providers;

//! The adapters stripe-chat knows: one registration line per platform.
//!
//! A destination's `provider` and `stripe-chat render --provider` name one of them; error
//! messages list their names. The service's configuration, the `render` command and the
//! documentation all read this one list. A program that embeds stripe-chat adds its own
//! adapters to [`builtin`] (or replaces one) and hands the registry to the service's
//! configuration.
//!
//! This crate depends on every adapter and on nothing else, so the list is available without
//! the service (the facade renders with it) and the service reads the same list.
//!
//! # Feature flags
//!
//! None: every adapter is built with its default `client` feature.
#![forbid(unsafe_code)]

use stripe_chat_message::ProviderRegistry;

/// Slack, Microsoft Teams, Discord, Matrix, the signed JSON webhook and the JSON-lines file.
///
/// ```
/// let providers = stripe_chat_providers::builtin();
/// let names: Vec<&str> = providers.names().collect();
/// assert_eq!(names, ["slack", "teams", "discord", "matrix", "webhook", "file"]);
/// ```
pub fn builtin() -> ProviderRegistry {
    ProviderRegistry::new()
        .with(stripe_chat_slack::SlackFactory)
        .with(stripe_chat_teams::TeamsFactory)
        .with(stripe_chat_discord::DiscordFactory)
        .with(stripe_chat_matrix::MatrixFactory)
        .with(stripe_chat_webhook::WebhookFactory)
        .with(stripe_chat_file::FileFactory)
}

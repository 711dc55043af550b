//! The adapters the service knows: one registration line per platform.
//!
//! A destination's `provider` names one of them; error messages list their names. A program that
//! embeds the service adds its own adapters to [`builtin`] (or replaces one) and hands the
//! registry to [`ServiceConfig::from_toml_with_providers`](crate::config::ServiceConfig::from_toml_with_providers).

use stripe_chat_message::ProviderRegistry;

/// Slack, Microsoft Teams, Discord, Matrix, the signed JSON webhook and the JSON-lines file.
///
/// ```
/// let providers = stripe_chat_server::providers::builtin();
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

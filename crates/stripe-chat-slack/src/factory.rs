//! `provider = "slack"`: the [`SlackFactory`] that configuration names.

use std::sync::Arc;

use serde::Deserialize;
use stripe_chat_message::{ChatProvider, ConfigError, ProviderFactory, Renderer, Settings};

use crate::config::SlackConfig;
use crate::render::SlackRenderer;

/// Builds Slack adapters from configuration: a destination's keys are a [`SlackConfig`], and the
/// rendering options of `stripe-chat render` (`[slack]`) are `channel`, put in every body.
///
/// ```
/// use stripe_chat_message::{ChatMessage, ProviderFactory, Settings};
/// use stripe_chat_slack::SlackFactory;
///
/// let values = serde_json::json!({ "token_env": "SLACK_BOT_TOKEN", "channel": "C0123456789" });
/// let env = |name: &str| (name == "SLACK_BOT_TOKEN").then(|| "xoxb-1-abc".to_owned());
/// let slack = SlackFactory.build(&Settings::new(&values, &env))?;
/// assert_eq!(slack.platform(), "slack");
///
/// let options = serde_json::json!({ "channel": "C0123456789" });
/// let renderer = SlackFactory.renderer(&Settings::from_process_env(&options))?;
/// assert_eq!(renderer.render(&ChatMessage::new("Invoice paid"))?["channel"], "C0123456789");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SlackFactory;

/// `[slack]` in a `stripe-chat render` configuration.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenderOptions {
    #[serde(default)]
    channel: Option<String>,
}

impl ProviderFactory for SlackFactory {
    fn name(&self) -> &str {
        "slack"
    }

    fn build(&self, settings: &Settings<'_>) -> Result<Arc<dyn ChatProvider>, ConfigError> {
        let config: SlackConfig = settings.parse()?;
        Ok(Arc::new(config.build_with_env(settings.env_lookup())?))
    }

    fn renderer(&self, options: &Settings<'_>) -> Result<Box<dyn Renderer>, ConfigError> {
        let options: RenderOptions = options.parse()?;
        let renderer = match options.channel {
            Some(channel) => SlackRenderer::new().channel(channel),
            None => SlackRenderer::new(),
        };
        Ok(Box::new(renderer))
    }
}

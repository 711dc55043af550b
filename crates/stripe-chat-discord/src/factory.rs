//! `provider = "discord"`: the [`DiscordFactory`] that configuration names.

use std::sync::Arc;

use serde::Deserialize;
use stripe_chat_message::{ChatProvider, ConfigError, ProviderFactory, Renderer, Settings};

use crate::config::DiscordConfig;
use crate::render::DiscordRenderer;

/// Builds Discord adapters from configuration: a destination's keys are a [`DiscordConfig`], and
/// the rendering options of `stripe-chat render` (`[discord]`) are `interactive` (callback
/// buttons, for a webhook owned by an application) and `username`.
///
/// ```
/// use stripe_chat_message::{ChatMessage, ProviderFactory, Settings};
/// use stripe_chat_discord::DiscordFactory;
///
/// let options = serde_json::json!({ "username": "Stripe" });
/// let renderer = DiscordFactory.renderer(&Settings::from_process_env(&options))?;
/// assert_eq!(renderer.render(&ChatMessage::new("Invoice paid"))?["username"], "Stripe");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DiscordFactory;

/// `[discord]` in a `stripe-chat render` configuration.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenderOptions {
    #[serde(default)]
    interactive: bool,
    #[serde(default)]
    username: Option<String>,
}

impl ProviderFactory for DiscordFactory {
    fn name(&self) -> &str {
        "discord"
    }

    fn build(&self, settings: &Settings<'_>) -> Result<Arc<dyn ChatProvider>, ConfigError> {
        let config: DiscordConfig = settings.parse()?;
        Ok(Arc::new(config.build_with_env(settings.env_lookup())?))
    }

    fn renderer(&self, options: &Settings<'_>) -> Result<Box<dyn Renderer>, ConfigError> {
        let options: RenderOptions = options.parse()?;
        let mut renderer = DiscordRenderer::new().interactive(options.interactive);
        if let Some(username) = options.username {
            renderer = renderer.username(username);
        }
        Ok(Box::new(renderer))
    }
}

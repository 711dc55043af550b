//! `provider = "teams"`: the [`TeamsFactory`] that configuration names.

use std::sync::Arc;

use serde::Deserialize;
use stripe_chat_message::{ChatProvider, ConfigError, ProviderFactory, Renderer, Settings};

use crate::config::TeamsConfig;
use crate::render::{CardVersion, TeamsRenderer};

/// Builds Teams adapters from configuration: a destination's keys are a [`TeamsConfig`], and the
/// rendering options of `stripe-chat render` (`[teams]`) are `card_version` (`"1.4"` or `"1.5"`).
///
/// ```
/// use stripe_chat_message::{ChatMessage, ProviderFactory, Settings};
/// use stripe_chat_teams::TeamsFactory;
///
/// let options = serde_json::json!({ "card_version": "1.5" });
/// let renderer = TeamsFactory.renderer(&Settings::from_process_env(&options))?;
/// let body = renderer.render(&ChatMessage::new("Invoice paid"))?;
/// assert_eq!(body["attachments"][0]["content"]["version"], "1.5");
///
/// let options = serde_json::json!({ "card_version": "1.6" });
/// let error = TeamsFactory.renderer(&Settings::from_process_env(&options)).map(drop).unwrap_err();
/// assert_eq!(error.key(), "card_version");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct TeamsFactory;

/// `[teams]` in a `stripe-chat render` configuration.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenderOptions {
    #[serde(default)]
    card_version: Option<String>,
}

impl ProviderFactory for TeamsFactory {
    fn name(&self) -> &str {
        "teams"
    }

    fn build(&self, settings: &Settings<'_>) -> Result<Arc<dyn ChatProvider>, ConfigError> {
        let config: TeamsConfig = settings.parse()?;
        Ok(Arc::new(config.build_with_env(settings.env_lookup())?))
    }

    fn renderer(&self, options: &Settings<'_>) -> Result<Box<dyn Renderer>, ConfigError> {
        let options: RenderOptions = options.parse()?;
        let version = match options.card_version.as_deref() {
            None => CardVersion::default(),
            Some(text) => text.parse()?,
        };
        Ok(Box::new(TeamsRenderer::new().with_version(version)))
    }
}

//! `provider = "webhook"`: the [`WebhookFactory`] that configuration names.

use std::sync::Arc;

use serde::Deserialize;
use stripe_chat_message::{
    ChatMessage, ChatProvider, ConfigError, ProviderFactory, RenderError, Renderer, Settings,
};

use crate::config::WebhookConfig;
use crate::provider::{PLATFORM, render_created};

/// Builds webhook destinations from configuration: a destination's keys are a
/// [`WebhookConfig`]. For `stripe-chat render` (`[webhook]`, no options) it renders the body of a
/// new message's request without its `delivery_id`, which only a delivery has.
///
/// ```
/// use stripe_chat_message::{ChatMessage, ProviderFactory, Settings};
/// use stripe_chat_webhook::WebhookFactory;
///
/// let values = serde_json::json!({
///     "url": "https://hooks.example.com/stripe-chat",
///     "secret": "0123456789abcdef0123456789abcdef",
/// });
/// let webhook = WebhookFactory.build(&Settings::from_process_env(&values))?;
/// assert_eq!(webhook.platform(), "webhook");
///
/// let renderer = WebhookFactory.renderer(&Settings::from_process_env(&serde_json::json!({})))?;
/// let body = renderer.render(&ChatMessage::new("Invoice paid"))?;
/// assert_eq!(body["type"], "message.created");
/// assert_eq!(body["message"]["title"], "Invoice paid");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookFactory;

/// `[webhook]` in a `stripe-chat render` configuration: no options.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenderOptions {}

/// A new message's request body, without the delivery id.
struct PayloadRenderer;

impl Renderer for PayloadRenderer {
    fn platform(&self) -> &str {
        PLATFORM
    }

    fn render(&self, message: &ChatMessage) -> Result<serde_json::Value, RenderError> {
        render_created(message)
    }
}

impl ProviderFactory for WebhookFactory {
    fn name(&self) -> &str {
        PLATFORM
    }

    fn build(&self, settings: &Settings<'_>) -> Result<Arc<dyn ChatProvider>, ConfigError> {
        let mut config: WebhookConfig = settings.parse()?;
        if config.name.is_none() {
            // Errors and refs name the destination the operator named, not the platform.
            config.name = settings.destination().map(str::to_owned);
        }
        Ok(Arc::new(config.build_with_env(settings.env_lookup())?))
    }

    fn renderer(&self, options: &Settings<'_>) -> Result<Box<dyn Renderer>, ConfigError> {
        let RenderOptions {} = options.parse()?;
        Ok(Box::new(PayloadRenderer))
    }
}

//! `provider = "file"`: the [`FileFactory`] that configuration names.

use std::sync::Arc;

use serde::Deserialize;
use stripe_chat_message::{
    ChatMessage, ChatProvider, ConfigError, ProviderFactory, RenderError, Renderer, Settings,
};

use crate::config::FileConfig;
use crate::provider::PLATFORM;

/// Builds file destinations from configuration: a destination's keys are a [`FileConfig`]. For
/// `stripe-chat render` (`[file]`, no options) it renders what each line's `message` holds: the
/// neutral message as JSON.
///
/// ```
/// use stripe_chat_message::{ChatMessage, ProviderFactory, Settings};
/// use stripe_chat_file::FileFactory;
///
/// let values = serde_json::json!({ "path": "demo-data/messages.jsonl" });
/// let file = FileFactory.build(&Settings::from_process_env(&values))?;
/// assert_eq!(file.platform(), "file");
///
/// let renderer = FileFactory.renderer(&Settings::from_process_env(&serde_json::json!({})))?;
/// assert_eq!(renderer.render(&ChatMessage::new("Invoice paid"))?["title"], "Invoice paid");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct FileFactory;

/// `[file]` in a `stripe-chat render` configuration: no options.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenderOptions {}

/// The `message` member of a line.
struct MessageRenderer;

impl Renderer for MessageRenderer {
    fn platform(&self) -> &str {
        PLATFORM
    }

    fn render(&self, message: &ChatMessage) -> Result<serde_json::Value, RenderError> {
        serde_json::to_value(message).map_err(|e| RenderError::Invalid(e.to_string()))
    }
}

impl ProviderFactory for FileFactory {
    fn name(&self) -> &str {
        PLATFORM
    }

    fn build(&self, settings: &Settings<'_>) -> Result<Arc<dyn ChatProvider>, ConfigError> {
        let config: FileConfig = settings.parse()?;
        Ok(Arc::new(config.build()?))
    }

    fn renderer(&self, options: &Settings<'_>) -> Result<Box<dyn Renderer>, ConfigError> {
        let RenderOptions {} = options.parse()?;
        Ok(Box::new(MessageRenderer))
    }
}

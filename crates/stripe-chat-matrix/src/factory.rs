//! `provider = "matrix"`: the [`MatrixFactory`] that configuration names.

use std::sync::Arc;

use serde::Deserialize;
use stripe_chat_message::{ChatProvider, ConfigError, ProviderFactory, Renderer, Settings};

use crate::config::MatrixConfig;
use crate::render::{MatrixRenderer, MsgType};

/// Builds Matrix adapters from configuration: a destination's keys are a [`MatrixConfig`], and
/// the rendering options of `stripe-chat render` (`[matrix]`) are `msgtype` (`m.notice` or
/// `m.text`).
///
/// ```
/// use stripe_chat_message::{ChatMessage, ProviderFactory, Settings};
/// use stripe_chat_matrix::MatrixFactory;
///
/// let options = serde_json::json!({ "msgtype": "m.text" });
/// let renderer = MatrixFactory.renderer(&Settings::from_process_env(&options))?;
/// assert_eq!(renderer.render(&ChatMessage::new("Invoice paid"))?["msgtype"], "m.text");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MatrixFactory;

/// `[matrix]` in a `stripe-chat render` configuration.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenderOptions {
    #[serde(default)]
    msgtype: Option<String>,
}

impl ProviderFactory for MatrixFactory {
    fn name(&self) -> &str {
        "matrix"
    }

    fn build(&self, settings: &Settings<'_>) -> Result<Arc<dyn ChatProvider>, ConfigError> {
        let config: MatrixConfig = settings.parse()?;
        Ok(Arc::new(config.build_with_env(settings.env_lookup())?))
    }

    fn renderer(&self, options: &Settings<'_>) -> Result<Box<dyn Renderer>, ConfigError> {
        let options: RenderOptions = options.parse()?;
        let msgtype = match options.msgtype.as_deref() {
            None | Some("m.notice") => MsgType::Notice,
            Some("m.text") => MsgType::Text,
            Some(other) => {
                return Err(ConfigError::invalid(
                    "msgtype",
                    format!("{other:?} is not m.notice or m.text"),
                ));
            }
        };
        Ok(Box::new(MatrixRenderer::new().with_msgtype(msgtype)))
    }
}

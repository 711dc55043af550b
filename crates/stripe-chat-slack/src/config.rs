//! The `[slack]` configuration: what it holds ([`SlackConfig`]), and its validation into a
//! ready [`SlackProvider`] ([`SlackConfig::build`]) with a [`ConfigError`] naming the key at fault.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use stripe_chat_message::{ConfigError, Secret, SecretSource};

use crate::client::{DEFAULT_API_BASE, DEFAULT_TIMEOUT, SlackMode, SlackProvider};

/// Longest request timeout the configuration accepts, in seconds.
const MAX_TIMEOUT_SECS: u64 = 300;

/// The Slack section of a configuration file, as written. [`SlackConfig::build`] checks it and
/// gives the ready [`SlackProvider`].
///
/// Bot mode (the default) needs `channel` and one of `token`, `token_env` (the name of an
/// environment variable holding the token, usually `SLACK_BOT_TOKEN`) and `token_file` (a file
/// holding it). Webhook mode needs one of `webhook_url`, `webhook_url_env` and
/// `webhook_url_file`. Keys that the chosen mode does not use are refused, and so are unknown
/// keys. `Debug` never shows the token or the webhook URL.
///
/// ```
/// use stripe_chat_slack::{SlackConfig, SlackMode};
///
/// let config: SlackConfig = serde_json::from_value(serde_json::json!({
///     "token_env": "SLACK_BOT_TOKEN",
///     "channel": "C0123456789",
/// }))?;
/// assert_eq!(config.mode, SlackMode::Bot);
/// assert_eq!(config.timeout_secs, 10);
///
/// let env = |name: &str| (name == "SLACK_BOT_TOKEN").then(|| "xoxb-1-abc".to_owned());
/// let slack = config.build_with_env(env)?;
/// assert!(!format!("{slack:?}").contains("xoxb-1-abc"));
///
/// let typo = serde_json::from_value::<SlackConfig>(serde_json::json!({ "chanel": "C1" }));
/// assert!(typo.is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// `bot` (default) or `webhook`.
    #[serde(default)]
    pub mode: SlackMode,
    /// Bot mode: the bot token (`xoxb-...`). Prefer `token_env` over writing it in a file.
    #[serde(default)]
    pub token: Option<Secret>,
    /// Bot mode: the name of the environment variable holding the bot token (e.g.
    /// `SLACK_BOT_TOKEN`).
    #[serde(default)]
    pub token_env: Option<String>,
    /// Bot mode: a file holding the bot token (a Docker or Kubernetes secret, e.g.
    /// `/run/secrets/slack_bot_token`).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Bot mode: the channel id to post in (`C0123456789`). Required in bot mode.
    #[serde(default)]
    pub channel: Option<String>,
    /// Bot mode: the Web API base URL, default [`DEFAULT_API_BASE`] (`https://slack.com/api`).
    #[serde(default)]
    pub api_base: Option<String>,
    /// Seconds allowed for each request, 1 to 300 (default 10).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Webhook mode: the incoming webhook URL (`https://hooks.slack.com/services/...`). The URL
    /// is itself the secret; prefer `webhook_url_env`.
    #[serde(default)]
    pub webhook_url: Option<Secret>,
    /// Webhook mode: the name of the environment variable holding the webhook URL (e.g.
    /// `SLACK_WEBHOOK_URL`).
    #[serde(default)]
    pub webhook_url_env: Option<String>,
    /// Webhook mode: a file holding the webhook URL.
    #[serde(default)]
    pub webhook_url_file: Option<PathBuf>,
}

fn default_timeout_secs() -> u64 {
    DEFAULT_TIMEOUT.as_secs()
}

impl Default for SlackConfig {
    /// Bot mode with nothing set yet (building it fails until `token` and `channel` are set).
    ///
    /// ```
    /// let config = stripe_chat_slack::SlackConfig::default();
    /// assert_eq!(config.timeout_secs, 10);
    /// assert!(config.build().is_err());
    /// ```
    fn default() -> Self {
        SlackConfig {
            mode: SlackMode::Bot,
            token: None,
            token_env: None,
            token_file: None,
            channel: None,
            api_base: None,
            timeout_secs: default_timeout_secs(),
            webhook_url: None,
            webhook_url_env: None,
            webhook_url_file: None,
        }
    }
}

impl SlackConfig {
    /// Checks the configuration and builds the provider, reading `token_env` / `webhook_url_env`
    /// from the process environment (and `token_file` / `webhook_url_file` from disk).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first key at fault: a missing token, channel or webhook URL;
    /// an environment variable that is unset or empty, a file that cannot be read; more than one
    /// of a secret's keys set; a key the mode does not use; an `api_base` or webhook URL that is
    /// not `http(s)`; a token that cannot be sent in a header; a timeout outside 1 to 300 s.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// use stripe_chat_slack::{SlackConfig, SlackMode};
    ///
    /// let config = SlackConfig {
    ///     mode: SlackMode::Webhook,
    ///     webhook_url: Some(Secret::new("https://hooks.slack.com/services/T000/B000/XXXX")),
    ///     ..SlackConfig::default()
    /// };
    /// let slack = config.build()?;
    /// assert_eq!(slack.mode(), SlackMode::Webhook);
    ///
    /// let error = SlackConfig { channel: Some("C0123456789".into()), ..SlackConfig::default() }
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(error.to_string(), "token: missing (the bot token: set token, token_env or token_file)");
    /// # Ok::<(), stripe_chat_slack::ConfigError>(())
    /// ```
    pub fn build(&self) -> Result<SlackProvider, ConfigError> {
        self.build_with_env(|name| std::env::var(name).ok())
    }

    /// [`SlackConfig::build`], reading environment variables through `env` (for tests, or to
    /// take secrets from somewhere else than the process environment).
    ///
    /// # Errors
    /// As [`SlackConfig::build`].
    ///
    /// ```
    /// use stripe_chat_slack::SlackConfig;
    ///
    /// let config = SlackConfig {
    ///     token_env: Some("SLACK_BOT_TOKEN".into()),
    ///     channel: Some("C0123456789".into()),
    ///     ..SlackConfig::default()
    /// };
    /// let error = config.build_with_env(|_| None).unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "token_env: the environment variable SLACK_BOT_TOKEN is not set or is empty"
    /// );
    /// ```
    pub fn build_with_env(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<SlackProvider, ConfigError> {
        if self.timeout_secs == 0 || self.timeout_secs > MAX_TIMEOUT_SECS {
            return Err(ConfigError::invalid(
                "timeout_secs",
                format!(
                    "{} is out of range (1 to {MAX_TIMEOUT_SECS} seconds)",
                    self.timeout_secs
                ),
            ));
        }
        let timeout = Duration::from_secs(self.timeout_secs);
        match self.mode {
            SlackMode::Bot => {
                self.refuse_unused(&[
                    ("webhook_url", self.webhook_url.is_some()),
                    ("webhook_url_env", self.webhook_url_env.is_some()),
                    ("webhook_url_file", self.webhook_url_file.is_some()),
                ])?;
                let source = SecretSource::from_keys(
                    "token",
                    self.token.as_ref(),
                    self.token_env.as_deref(),
                    self.token_file.as_deref(),
                )?
                .ok_or_else(|| {
                    ConfigError::missing(
                        "token",
                        "the bot token: set token, token_env or token_file",
                    )
                })?;
                let token = source.read("token", &env)?;
                check_token(&token)
                    .map_err(|problem| ConfigError::invalid(source.key_for("token"), problem))?;
                let channel = self.channel.as_deref().map(str::trim).unwrap_or_default();
                if channel.is_empty() {
                    return Err(ConfigError::missing(
                        "channel",
                        "the channel id to post in, e.g. C0123456789",
                    ));
                }
                let api_base = self.api_base.as_deref().unwrap_or(DEFAULT_API_BASE).trim();
                check_http_url(api_base).map_err(|problem| {
                    ConfigError::invalid("api_base", format!("{api_base:?} {problem}"))
                })?;
                Ok(SlackProvider::bot(token, channel)
                    .with_api_base(api_base)
                    .with_timeout(timeout))
            }
            SlackMode::Webhook => {
                self.refuse_unused(&[
                    ("token", self.token.is_some()),
                    ("token_env", self.token_env.is_some()),
                    ("token_file", self.token_file.is_some()),
                    ("channel", self.channel.is_some()),
                    ("api_base", self.api_base.is_some()),
                ])?;
                let source = SecretSource::from_keys(
                    "webhook_url",
                    self.webhook_url.as_ref(),
                    self.webhook_url_env.as_deref(),
                    self.webhook_url_file.as_deref(),
                )?
                .ok_or_else(|| {
                    ConfigError::missing(
                        "webhook_url",
                        "the incoming webhook URL: set webhook_url, webhook_url_env or webhook_url_file",
                    )
                })?;
                let url = source.read("webhook_url", &env)?;
                check_http_url(url.expose()).map_err(|problem| {
                    ConfigError::invalid(
                        source.key_for("webhook_url"),
                        format!("the URL {problem}"),
                    )
                })?;
                Ok(SlackProvider::incoming_webhook(url).with_timeout(timeout))
            }
        }
    }

    fn refuse_unused(&self, keys: &[(&str, bool)]) -> Result<(), ConfigError> {
        match keys.iter().find(|(_, set)| *set) {
            Some((key, _)) => Err(ConfigError::invalid(
                *key,
                format!("not used in {} mode (remove it)", self.mode.as_str()),
            )),
            None => Ok(()),
        }
    }
}

/// A token must fit in an `Authorization` header: visible ASCII, no spaces.
fn check_token(token: &Secret) -> Result<(), &'static str> {
    if token.expose().chars().all(|c| c.is_ascii_graphic()) {
        Ok(())
    } else {
        Err("contains spaces or characters a token cannot have")
    }
}

/// `Ok` for an absolute `http(s)` URL with a host; otherwise what is wrong (without the URL).
fn check_http_url(url: &str) -> Result<(), &'static str> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "is not a valid URL")?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err("is not an http(s) URL");
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("has no host");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_without_http_scheme_or_host_are_refused() {
        assert_eq!(check_http_url("https://slack.com/api"), Ok(()));
        assert_eq!(check_http_url("http://127.0.0.1:8080"), Ok(()));
        assert!(check_http_url("ftp://slack.com").is_err());
        assert!(check_http_url("slack.com/api").is_err());
        assert!(check_http_url("file:///etc/passwd").is_err());
    }
}

//! The `[slack]` configuration: what it holds ([`SlackConfig`]), and its validation into a
//! ready [`SlackProvider`] ([`SlackConfig::build`]) with a [`ConfigError`] naming the key at fault.

use std::time::Duration;

use serde::Deserialize;
use stripe_chat_message::Secret;

use crate::client::{DEFAULT_API_BASE, DEFAULT_TIMEOUT, SlackProvider};

/// Longest request timeout the configuration accepts, in seconds.
const MAX_TIMEOUT_SECS: u64 = 300;

/// How stripe-chat posts to Slack.
///
/// ```
/// use stripe_chat_slack::SlackMode;
/// assert_eq!(SlackMode::default(), SlackMode::Bot);
/// let mode: SlackMode = serde_json::from_str("\"webhook\"")?;
/// assert_eq!(mode, SlackMode::Webhook);
/// assert_eq!(mode.as_str(), "webhook");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SlackMode {
    /// A bot token (`xoxb-...`, scope `chat:write`) and the Web API: send, update, threads,
    /// buttons.
    #[default]
    Bot,
    /// An incoming webhook URL: send only, to the channel the webhook was created for.
    Webhook,
}

impl SlackMode {
    /// The name used in configuration files (`bot`, `webhook`).
    ///
    /// ```
    /// assert_eq!(stripe_chat_slack::SlackMode::Bot.as_str(), "bot");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            SlackMode::Bot => "bot",
            SlackMode::Webhook => "webhook",
        }
    }
}

/// The Slack section of a configuration file, as written. [`SlackConfig::build`] checks it and
/// gives the ready [`SlackProvider`].
///
/// Bot mode (the default) needs `channel` and either `token` or `token_env` (the name of an
/// environment variable holding the token, usually `SLACK_BOT_TOKEN`). Webhook mode needs
/// `webhook_url` or `webhook_url_env`. Keys that the chosen mode does not use are refused, and so
/// are unknown keys. `Debug` never shows the token or the webhook URL.
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
            channel: None,
            api_base: None,
            timeout_secs: default_timeout_secs(),
            webhook_url: None,
            webhook_url_env: None,
        }
    }
}

/// A configuration problem: which `slack.*` key, and what is wrong with it. Never shows a secret.
///
/// ```
/// use stripe_chat_slack::{SlackConfig, SlackMode};
///
/// let config = SlackConfig { channel: Some("C0123456789".into()), ..SlackConfig::default() };
/// let error = config.build().unwrap_err();
/// assert_eq!(error.key(), "slack.token");
/// assert_eq!(error.to_string(), "slack.token: missing (set it or token_env)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct ConfigError {
    key: &'static str,
    problem: String,
}

impl ConfigError {
    fn new(key: &'static str, problem: impl Into<String>) -> Self {
        ConfigError {
            key,
            problem: problem.into(),
        }
    }

    /// The key at fault, with its section (`slack.token`, `slack.channel`, ...).
    ///
    /// ```
    /// let error = stripe_chat_slack::SlackConfig::default().build().unwrap_err();
    /// assert!(error.key().starts_with("slack."));
    /// ```
    pub fn key(&self) -> &str {
        self.key
    }

    /// What is wrong with it.
    ///
    /// ```
    /// let error = stripe_chat_slack::SlackConfig::default().build().unwrap_err();
    /// assert!(!error.problem().is_empty());
    /// ```
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

impl SlackConfig {
    /// Checks the configuration and builds the provider, reading `token_env` / `webhook_url_env`
    /// from the process environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first key at fault: a missing token, channel or webhook URL;
    /// an environment variable that is unset or empty; both a value and its `_env` set; a key the
    /// mode does not use; an `api_base` or webhook URL that is not `http(s)`; a token that cannot
    /// be sent in a header; a timeout outside 1 to 300 s.
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
    ///     "slack.token_env: the environment variable SLACK_BOT_TOKEN is not set or empty"
    /// );
    /// ```
    pub fn build_with_env(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<SlackProvider, ConfigError> {
        if self.timeout_secs == 0 || self.timeout_secs > MAX_TIMEOUT_SECS {
            return Err(ConfigError::new(
                "slack.timeout_secs",
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
                    ("slack.webhook_url", self.webhook_url.is_some()),
                    ("slack.webhook_url_env", self.webhook_url_env.is_some()),
                ])?;
                let token = secret(
                    ("slack.token", self.token.as_ref()),
                    ("slack.token_env", self.token_env.as_deref()),
                    &env,
                )?;
                check_token(&token)?;
                let channel = self.channel.as_deref().map(str::trim).unwrap_or_default();
                if channel.is_empty() {
                    return Err(ConfigError::new(
                        "slack.channel",
                        "missing (the channel id to post in, e.g. C0123456789)",
                    ));
                }
                let api_base = self.api_base.as_deref().unwrap_or(DEFAULT_API_BASE).trim();
                check_http_url(api_base).map_err(|problem| {
                    ConfigError::new("slack.api_base", format!("{api_base:?} {problem}"))
                })?;
                Ok(SlackProvider::bot(token, channel)
                    .with_api_base(api_base)
                    .with_timeout(timeout))
            }
            SlackMode::Webhook => {
                self.refuse_unused(&[
                    ("slack.token", self.token.is_some()),
                    ("slack.token_env", self.token_env.is_some()),
                    ("slack.channel", self.channel.is_some()),
                    ("slack.api_base", self.api_base.is_some()),
                ])?;
                let url = secret(
                    ("slack.webhook_url", self.webhook_url.as_ref()),
                    ("slack.webhook_url_env", self.webhook_url_env.as_deref()),
                    &env,
                )?;
                let key = if self.webhook_url.is_some() {
                    "slack.webhook_url"
                } else {
                    "slack.webhook_url_env"
                };
                check_http_url(url.expose().trim())
                    .map_err(|problem| ConfigError::new(key, format!("the URL {problem}")))?;
                Ok(
                    SlackProvider::incoming_webhook(Secret::new(url.expose().trim()))
                        .with_timeout(timeout),
                )
            }
        }
    }

    fn refuse_unused(&self, keys: &[(&'static str, bool)]) -> Result<(), ConfigError> {
        match keys.iter().find(|(_, set)| *set) {
            Some((key, _)) => Err(ConfigError::new(
                key,
                format!("not used in {} mode (remove it)", self.mode.as_str()),
            )),
            None => Ok(()),
        }
    }
}

/// The secret given directly or through an environment variable (exactly one of the two).
fn secret(
    (key, value): (&'static str, Option<&Secret>),
    (env_key, env_name): (&'static str, Option<&str>),
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Secret, ConfigError> {
    let bare = key.trim_start_matches("slack.");
    let bare_env = env_key.trim_start_matches("slack.");
    match (value, env_name) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            key,
            format!("set either {bare} or {bare_env}, not both"),
        )),
        (Some(secret), None) if secret.expose().trim().is_empty() => {
            Err(ConfigError::new(key, "empty"))
        }
        (Some(secret), None) => Ok(Secret::new(secret.expose().trim())),
        (None, Some(name)) => {
            let name = name.trim();
            if name.is_empty() {
                return Err(ConfigError::new(
                    env_key,
                    "empty (the name of an environment variable)",
                ));
            }
            env(name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| Secret::new(v.trim()))
                .ok_or_else(|| {
                    ConfigError::new(
                        env_key,
                        format!("the environment variable {name} is not set or empty"),
                    )
                })
        }
        (None, None) => Err(ConfigError::new(
            key,
            format!("missing (set it or {bare_env})"),
        )),
    }
}

/// A token must fit in an `Authorization` header: visible ASCII, no spaces.
fn check_token(token: &Secret) -> Result<(), ConfigError> {
    if token.expose().chars().all(|c| c.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(ConfigError::new(
            "slack.token",
            "contains spaces or characters a token cannot have",
        ))
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

//! Configuration of the Discord adapter: [`DiscordConfig`] (serde, for config files), checked once
//! by [`DiscordConfig::build`] into a [`DiscordProvider`]; the same type is the builder for code.
//!
//! The webhook URL is a secret (its last segment is the webhook's token). It is read from the
//! config ([`webhook_url`](DiscordConfig::webhook_url)), from the environment variable named by
//! [`webhook_url_env`](DiscordConfig::webhook_url_env) or from the file named by
//! [`webhook_url_file`](DiscordConfig::webhook_url_file), and only its `/webhooks/{id}/{token}`
//! part is kept: requests go to [`api_base`](DiscordConfig::api_base)`/webhooks/{id}/{token}`, so a test
//! or a proxy changes `api_base`, never the URL. No error and no `Debug` shows the token.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;
use stripe_chat_http::EndpointError;
use stripe_chat_message::{ConfigError, Secret, SecretSource};

use crate::client::DiscordProvider;
use crate::render::DiscordRenderer;
use crate::webhook::{is_snowflake, parse_webhook_url};

/// Where Discord's API lives, unless [`DiscordConfig::api_base`] says otherwise.
///
/// ```
/// assert_eq!(stripe_chat_discord::DEFAULT_API_BASE, "https://discord.com/api/v10");
/// ```
pub const DEFAULT_API_BASE: &str = "https://discord.com/api/v10";

/// Seconds a request may take, unless [`DiscordConfig::timeout_secs`] says otherwise.
///
/// ```
/// assert_eq!(stripe_chat_discord::DEFAULT_TIMEOUT_SECS, 10);
/// ```
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// The longest request timeout accepted, in seconds.
const MAX_TIMEOUT_SECS: u64 = 300;

/// The `[discord]` section of a configuration file, and the builder of a [`DiscordProvider`].
///
/// Keys (unknown keys are refused):
///
/// | key | default | meaning |
/// |---|---|---|
/// | `webhook_url` | — | the webhook URL, `https://discord.com/api/webhooks/{id}/{token}` (a secret) |
/// | `webhook_url_env` | — | or: the name of the environment variable holding it |
/// | `webhook_url_file` | — | or: a file holding it (a Docker or Kubernetes secret); exactly one of the three is required |
/// | `thread_id` | none | post into this thread (a thread or forum post in the webhook's channel) |
/// | `username` | the webhook's name | the name shown on messages (1–80 characters, not containing `discord` or `clyde`) |
/// | `avatar_url` | the webhook's avatar | an `http(s)` image URL |
/// | `interactive` | `false` | the webhook belongs to an application whose interactions endpoint handles callback buttons |
/// | `api_base` | [`DEFAULT_API_BASE`] | where Discord's API is (`https`, or `http` on a loopback address for tests) |
/// | `timeout_secs` | [`DEFAULT_TIMEOUT_SECS`] | seconds a request may take (1–300) |
///
/// ```
/// use stripe_chat_discord::DiscordConfig;
///
/// let config: DiscordConfig = toml::from_str(r#"
///     webhook_url = "https://discord.com/api/webhooks/123456789012345678/SECRETTOKEN"
///     thread_id = "1000000000000000001"
///     username = "Stripe"
///     interactive = true
/// "#)?;
/// assert!(!format!("{config:?}").contains("SECRETTOKEN"));
/// let provider = config.build()?;
/// assert_eq!(provider.webhook_id(), "123456789012345678");
/// assert_eq!(provider.thread_id(), Some("1000000000000000001"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// In code, [`DiscordProvider::webhook`] starts the same builder:
///
/// ```
/// use std::time::Duration;
/// use stripe_chat_discord::DiscordProvider;
/// use stripe_chat_message::Secret;
///
/// let provider = DiscordProvider::webhook(Secret::new(
///     "https://discord.com/api/webhooks/123456789012345678/SECRETTOKEN",
/// ))
/// .with_thread("1000000000000000001")
/// .interactive(false)
/// .with_timeout(Duration::from_secs(5))
/// .build()?;
/// assert_eq!(provider.timeout(), Duration::from_secs(5));
/// # Ok::<(), stripe_chat_discord::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// The webhook URL (`https://discord.com/api/webhooks/{id}/{token}`).
    #[serde(default)]
    pub webhook_url: Option<Secret>,
    /// The name of an environment variable holding the webhook URL.
    #[serde(default)]
    pub webhook_url_env: Option<String>,
    /// A file holding the webhook URL (a Docker or Kubernetes secret).
    #[serde(default)]
    pub webhook_url_file: Option<PathBuf>,
    /// A thread (or forum post) in the webhook's channel to post into.
    #[serde(default)]
    pub thread_id: Option<String>,
    /// The name shown on messages instead of the webhook's.
    #[serde(default)]
    pub username: Option<String>,
    /// The avatar shown on messages instead of the webhook's.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// The webhook belongs to an application: callback buttons are sent and reach its
    /// interactions endpoint.
    #[serde(default)]
    pub interactive: bool,
    /// Where Discord's API is.
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// Seconds a request may take.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Bot mode: the bot token (prefer `bot_token_env` or `bot_token_file`). Messages are then
    /// posted by the application's bot to `channel_id` (`POST /channels/{id}/messages`), can
    /// carry buttons, be edited and start threads.
    #[serde(default)]
    pub bot_token: Option<Secret>,
    /// Bot mode: the environment variable holding the bot token (e.g. `DISCORD_BOT_TOKEN`).
    #[serde(default)]
    pub bot_token_env: Option<String>,
    /// Bot mode: a file holding the bot token.
    #[serde(default)]
    pub bot_token_file: Option<PathBuf>,
    /// Bot mode: the channel to post in (its id; the bot needs View Channel, Send Messages,
    /// Create Public Threads and Send Messages in Threads there).
    #[serde(default)]
    pub channel_id: Option<String>,
}

fn default_api_base() -> String {
    DEFAULT_API_BASE.to_owned()
}

fn default_timeout_secs() -> u64 {
    DEFAULT_TIMEOUT_SECS
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            webhook_url: None,
            webhook_url_env: None,
            webhook_url_file: None,
            thread_id: None,
            username: None,
            avatar_url: None,
            interactive: false,
            api_base: default_api_base(),
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            bot_token: None,
            bot_token_env: None,
            bot_token_file: None,
            channel_id: None,
        }
    }
}

/// Checks `api_base`: `https`, or `http` on a loopback address, without user, query or fragment.
fn parse_api_base(api_base: &str) -> Result<Url, ConfigError> {
    let invalid = |why: &str| ConfigError::invalid("api_base", format!("{why} ({api_base:?})"));
    let url = stripe_chat_http::endpoint(api_base.trim().trim_end_matches('/'))
        .map_err(|e| match e {
            // Only a URL that is not http(s) can lack a host.
            EndpointError::NoHost => invalid(&EndpointError::NotHttps.to_string()),
            EndpointError::PlainHttp => invalid(
                "must be https (plain http only on a loopback address): the webhook token travels in the path",
            ),
            other => invalid(&other.to_string()),
        })?
        .into_url();
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not have a query or fragment"));
    }
    Ok(url)
}

/// Checks the `username` override against Discord's rules for webhook names.
fn check_username(username: &str) -> Result<(), ConfigError> {
    let trimmed = username.trim();
    let lower = trimmed.to_lowercase();
    if trimmed.is_empty() {
        return Err(ConfigError::invalid("username", "is empty"));
    }
    if trimmed.chars().count() > crate::limits::MAX_USERNAME {
        return Err(ConfigError::invalid(
            "username",
            format!("is longer than {} characters", crate::limits::MAX_USERNAME),
        ));
    }
    // Discord refuses webhook names containing these words (Create Webhook docs) with a 400.
    for word in ["discord", "clyde"] {
        if lower.contains(word) {
            return Err(ConfigError::invalid(
                "username",
                format!("must not contain {word:?} (Discord refuses it)"),
            ));
        }
    }
    Ok(())
}

impl DiscordProvider {
    /// Starts configuring a provider for the webhook at `url`
    /// (`https://discord.com/api/webhooks/{id}/{token}`); finish with [`DiscordConfig::build`].
    ///
    /// ```
    /// use stripe_chat_discord::DiscordProvider;
    /// use stripe_chat_message::Secret;
    /// let provider = DiscordProvider::webhook(Secret::new(
    ///     "https://discord.com/api/webhooks/123456789012345678/SECRETTOKEN",
    /// ))
    /// .build()?;
    /// assert_eq!(
    ///     format!("{provider:?}"),
    ///     "DiscordProvider { webhook_id: \"123456789012345678\", api_base: \"https://discord.com/api/v10\", thread_id: None, interactive: false, \
    ///      timeout: 10s, renderer: DiscordRenderer { username: None, avatar_url: None, interactive: false } }"
    /// );
    /// # Ok::<(), stripe_chat_discord::ConfigError>(())
    /// ```
    pub fn webhook(url: Secret) -> DiscordConfig {
        DiscordConfig::default().webhook_url(url)
    }
}

impl DiscordConfig {
    /// The same configuration, posting through the webhook at `url` (builder style).
    ///
    /// ```
    /// use stripe_chat_discord::DiscordConfig;
    /// use stripe_chat_message::Secret;
    /// let config = DiscordConfig::default()
    ///     .webhook_url(Secret::new("https://discord.com/api/webhooks/1/t"));
    /// assert!(config.build().is_ok());
    /// ```
    pub fn webhook_url(mut self, url: Secret) -> Self {
        self.webhook_url = Some(url);
        self
    }

    /// The same configuration, reading the webhook URL from the environment variable `variable`
    /// when built.
    ///
    /// ```
    /// use stripe_chat_discord::DiscordConfig;
    /// use stripe_chat_message::ConfigErrorKind;
    /// let config = DiscordConfig::default().webhook_url_env("SURELY_UNSET_STRIPE_CHAT_DISCORD_URL");
    /// assert_eq!(config.build().map(drop).unwrap_err().kind(), ConfigErrorKind::Unset);
    /// ```
    pub fn webhook_url_env(mut self, variable: impl Into<String>) -> Self {
        self.webhook_url_env = Some(variable.into());
        self
    }

    /// The same configuration, reading the webhook URL from the file at `path` when built (a
    /// Docker or Kubernetes secret; its trailing newline is trimmed).
    ///
    /// ```
    /// use stripe_chat_discord::DiscordConfig;
    /// use stripe_chat_message::ConfigErrorKind;
    /// let config = DiscordConfig::default().webhook_url_file("/run/secrets/surely-no-discord-url");
    /// let error = config.build().map(drop).unwrap_err();
    /// assert_eq!((error.kind(), error.key()), (ConfigErrorKind::Unreadable, "webhook_url_file"));
    /// ```
    pub fn webhook_url_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.webhook_url_file = Some(path.into());
        self
    }

    /// The same configuration, posting into the thread `thread_id` (a thread or forum post in the
    /// webhook's channel). Replies to the messages it sends then stay in that thread.
    ///
    /// ```
    /// use stripe_chat_discord::DiscordProvider;
    /// use stripe_chat_message::{ChatProvider, Secret};
    /// let url = Secret::new("https://discord.com/api/webhooks/1/t");
    /// assert!(DiscordProvider::webhook(url).with_thread("1000000000000000001").build()?.capabilities().thread);
    /// # Ok::<(), stripe_chat_discord::ConfigError>(())
    /// ```
    pub fn with_thread(mut self, thread_id: impl Into<String>) -> Self {
        self.thread_id = Some(thread_id.into());
        self
    }

    /// The same configuration, for a webhook owned by an application (`true`: callback buttons
    /// are sent) or not (`false`, the default: link buttons only).
    ///
    /// ```
    /// use stripe_chat_discord::DiscordProvider;
    /// use stripe_chat_message::{ChatProvider, Secret};
    /// let url = Secret::new("https://discord.com/api/webhooks/1/t");
    /// assert!(DiscordProvider::webhook(url).interactive(true).build()?.capabilities().interactive);
    /// # Ok::<(), stripe_chat_discord::ConfigError>(())
    /// ```
    pub fn interactive(mut self, interactive: bool) -> Self {
        self.interactive = interactive;
        self
    }

    /// The same configuration, allowing each request `timeout` (rounded up to whole seconds).
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = stripe_chat_discord::DiscordConfig::default().with_timeout(Duration::from_millis(1500));
    /// assert_eq!(config.timeout_secs, 2);
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout_secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
        self
    }

    /// The same configuration, showing `username` on messages instead of the webhook's name.
    ///
    /// ```
    /// let config = stripe_chat_discord::DiscordConfig::default().with_username("Stripe");
    /// assert_eq!(config.username.as_deref(), Some("Stripe"));
    /// ```
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// The same configuration, showing the image at `avatar_url` instead of the webhook's avatar.
    ///
    /// ```
    /// let config = stripe_chat_discord::DiscordConfig::default().with_avatar_url("https://example.com/a.png");
    /// assert_eq!(config.avatar_url.as_deref(), Some("https://example.com/a.png"));
    /// ```
    pub fn with_avatar_url(mut self, avatar_url: impl Into<String>) -> Self {
        self.avatar_url = Some(avatar_url.into());
        self
    }

    /// The same configuration, sending requests to `api_base` instead of [`DEFAULT_API_BASE`]
    /// (a proxy, or a mock server in tests).
    ///
    /// ```
    /// let config = stripe_chat_discord::DiscordConfig::default().with_api_base("http://127.0.0.1:8080/api");
    /// assert_eq!(config.api_base, "http://127.0.0.1:8080/api");
    /// ```
    pub fn with_api_base(mut self, api_base: impl Into<String>) -> Self {
        self.api_base = api_base.into();
        self
    }

    /// Checks every key and builds the provider. The error names the key at fault and never
    /// shows the token.
    ///
    /// ```
    /// use stripe_chat_discord::DiscordConfig;
    /// use stripe_chat_message::Secret;
    /// let config = DiscordConfig::default()
    ///     .webhook_url(Secret::new("https://example.com/api/webhooks/1/SECRETTOKEN"));
    /// let error = config.build().unwrap_err();
    /// assert_eq!(error.key(), "webhook_url");
    /// assert!(!error.to_string().contains("SECRETTOKEN"));
    /// ```
    pub fn build(&self) -> Result<DiscordProvider, ConfigError> {
        self.build_with_env(|name| std::env::var(name).ok())
    }

    /// [`DiscordConfig::build`], reading `webhook_url_env` through `env` instead of the process
    /// environment (for tests, or to take secrets from somewhere else). A variable that `env`
    /// does not know, or whose value is blank, is an [`Unset`](stripe_chat_message::ConfigErrorKind::Unset) error
    /// naming it; no error shows the token.
    ///
    /// ```
    /// use stripe_chat_discord::DiscordConfig;
    /// use stripe_chat_message::ConfigErrorKind;
    ///
    /// let config = DiscordConfig::default().webhook_url_env("DISCORD_WEBHOOK_URL");
    /// let env = |name: &str| {
    ///     (name == "DISCORD_WEBHOOK_URL")
    ///         .then(|| "https://discord.com/api/webhooks/123456789012345678/SECRETTOKEN".to_owned())
    /// };
    /// let provider = config.build_with_env(env)?;
    /// assert_eq!(provider.webhook_id(), "123456789012345678");
    /// assert!(!format!("{provider:?}").contains("SECRETTOKEN"));
    ///
    /// let error = config.build_with_env(|_| None).unwrap_err();
    /// assert_eq!(error.kind(), ConfigErrorKind::Unset);
    /// assert_eq!(
    ///     error.to_string(),
    ///     "webhook_url_env: the environment variable DISCORD_WEBHOOK_URL is not set or is empty"
    /// );
    /// # Ok::<(), stripe_chat_discord::ConfigError>(())
    /// ```
    pub fn build_with_env(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<DiscordProvider, ConfigError> {
        let bot = SecretSource::from_keys(
            "bot_token",
            self.bot_token.as_ref(),
            self.bot_token_env.as_deref(),
            self.bot_token_file.as_deref(),
        )?;
        if let Some(bot) = bot {
            return self.build_bot(&bot, &env);
        }
        if self.channel_id.is_some() {
            return Err(ConfigError::invalid(
                "channel_id",
                "is for bot mode (set bot_token, bot_token_env or bot_token_file)",
            ));
        }
        let source = SecretSource::from_keys(
            "webhook_url",
            self.webhook_url.as_ref(),
            self.webhook_url_env.as_deref(),
            self.webhook_url_file.as_deref(),
        )?
        .ok_or_else(|| {
            ConfigError::missing(
                "webhook_url",
                "the webhook URL: set webhook_url, webhook_url_env or webhook_url_file",
            )
        })?;
        let url = source.read("webhook_url", &env)?;
        let webhook = parse_webhook_url(&url, &source.key_for("webhook_url"))?;
        let thread_id = match self.thread_id.as_deref().map(str::trim) {
            None => None,
            Some(id) if is_snowflake(id) => Some(id.to_owned()),
            Some(_) => {
                return Err(ConfigError::invalid(
                    "thread_id",
                    "is not a Discord id (digits only)",
                ));
            }
        };
        let mut renderer = DiscordRenderer::new().interactive(self.interactive);
        if let Some(username) = &self.username {
            check_username(username)?;
            renderer = renderer.username(username.trim());
        }
        if let Some(avatar_url) = &self.avatar_url {
            let url =
                crate::escape::url(avatar_url.trim(), crate::limits::MAX_URL).ok_or_else(|| {
                    ConfigError::invalid(
                        "avatar_url",
                        "is not an http(s) URL of at most 512 characters",
                    )
                })?;
            renderer = renderer.avatar_url(url);
        }
        let api_base = parse_api_base(&self.api_base)?;
        if !(1..=MAX_TIMEOUT_SECS).contains(&self.timeout_secs) {
            return Err(ConfigError::invalid(
                "timeout_secs",
                format!("must be 1 to {MAX_TIMEOUT_SECS} seconds"),
            ));
        }
        let timeout = Duration::from_secs(self.timeout_secs);
        // Fails only when TLS cannot be set up, for which no key is at fault.
        let http =
            stripe_chat_http::client(timeout).map_err(|e| ConfigError::invalid("", e.message()))?;
        Ok(DiscordProvider::from_parts(
            renderer,
            http,
            api_base,
            webhook,
            thread_id,
            self.interactive,
            timeout,
        ))
    }
}

impl DiscordConfig {
    /// Bot mode: the bot token from `source`, the channel, no webhook keys.
    fn build_bot(
        &self,
        source: &SecretSource,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<DiscordProvider, ConfigError> {
        for (key, set) in [
            ("webhook_url", self.webhook_url.is_some()),
            ("webhook_url_env", self.webhook_url_env.is_some()),
            ("webhook_url_file", self.webhook_url_file.is_some()),
            ("username", self.username.is_some()),
            ("avatar_url", self.avatar_url.is_some()),
        ] {
            if set {
                return Err(ConfigError::invalid(
                    key,
                    "is for webhook mode (bot mode posts as the bot)",
                ));
            }
        }
        let token = source.read("bot_token", &|name: &str| env(name))?;
        let channel_id = match self.channel_id.as_deref().map(str::trim) {
            Some(id) if is_snowflake(id) => id.to_owned(),
            Some(_) => {
                return Err(ConfigError::invalid(
                    "channel_id",
                    "is not a Discord id (digits only)",
                ));
            }
            None => {
                return Err(ConfigError::missing(
                    "channel_id",
                    "the channel the bot posts in",
                ));
            }
        };
        if self.thread_id.is_some() {
            return Err(ConfigError::invalid(
                "thread_id",
                "is for webhook mode (a bot starts a thread on each message it replies to)",
            ));
        }
        let api_base = parse_api_base(&self.api_base)?;
        if !(1..=MAX_TIMEOUT_SECS).contains(&self.timeout_secs) {
            return Err(ConfigError::invalid(
                "timeout_secs",
                format!("must be 1 to {MAX_TIMEOUT_SECS} seconds"),
            ));
        }
        let timeout = Duration::from_secs(self.timeout_secs);
        let http =
            stripe_chat_http::client(timeout).map_err(|e| ConfigError::invalid("", e.message()))?;
        Ok(DiscordProvider::bot_from_parts(
            http, api_base, token, channel_id, timeout,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "DISCORD_URL" => {
                Some("https://discord.com/api/webhooks/123456789012345678/SECRETTOKEN\n".to_owned())
            }
            "DISCORD_BLANK" => Some("   ".to_owned()),
            "DISCORD_BAD" => Some("https://example.com/api/webhooks/1/SECRETTOKEN".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn the_webhook_url_can_come_from_an_injected_environment() {
        let provider = DiscordConfig::default()
            .webhook_url_env("DISCORD_URL")
            .build_with_env(env)
            .expect("builds");
        assert_eq!(provider.webhook_id(), "123456789012345678");
        assert!(!format!("{provider:?}").contains("SECRETTOKEN"));
    }

    #[test]
    fn an_unset_or_blank_variable_is_named_in_the_error() {
        for variable in ["DISCORD_NOPE", "DISCORD_BLANK"] {
            let error = DiscordConfig::default()
                .webhook_url_env(variable)
                .build_with_env(env)
                .expect_err("missing");
            assert_eq!(error.key(), "webhook_url_env");
            assert!(error.to_string().contains(variable), "{error}");
        }
    }

    #[test]
    fn a_bad_url_from_the_environment_names_the_env_key_and_hides_the_token() {
        let error = DiscordConfig::default()
            .webhook_url_env("DISCORD_BAD")
            .build_with_env(env)
            .expect_err("not discord");
        assert_eq!(error.key(), "webhook_url_env");
        assert!(!error.to_string().contains("SECRETTOKEN"), "{error}");
    }

    #[test]
    fn the_webhook_url_can_come_from_a_file_and_a_bad_one_names_the_file_key() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let good = dir.path().join("discord_webhook_url");
        std::fs::write(
            &good,
            "https://discord.com/api/webhooks/123456789012345678/SECRETTOKEN\n",
        )
        .expect("written");
        let provider = DiscordConfig::default()
            .webhook_url_file(&good)
            .build_with_env(env)
            .expect("builds");
        assert_eq!(provider.webhook_id(), "123456789012345678");

        let bad = dir.path().join("not_discord");
        std::fs::write(&bad, "https://example.com/api/webhooks/1/SECRETTOKEN").expect("written");
        let error = DiscordConfig::default()
            .webhook_url_file(&bad)
            .build_with_env(env)
            .expect_err("not discord");
        assert_eq!(error.key(), "webhook_url_file");
        assert!(!error.to_string().contains("SECRETTOKEN"), "{error}");

        let both = DiscordConfig::default()
            .webhook_url_env("DISCORD_URL")
            .webhook_url_file(&good)
            .build_with_env(env)
            .expect_err("two sources");
        assert_eq!(both.key(), "webhook_url_env");
    }

    #[test]
    fn the_injected_environment_is_not_read_when_the_url_is_inline() {
        let provider = DiscordConfig::default()
            .webhook_url(Secret::new(
                "https://discord.com/api/webhooks/123456789012345678/t",
            ))
            .build_with_env(|name| panic!("{name} read"))
            .expect("builds");
        assert_eq!(provider.webhook_id(), "123456789012345678");
    }

    #[test]
    fn plain_http_api_base_is_only_allowed_on_loopback() {
        assert!(parse_api_base("http://127.0.0.1:8080/api").is_ok());
        assert!(parse_api_base("http://localhost/api/").is_ok());
        assert!(parse_api_base("http://[::1]:9/api").is_ok());
        assert!(parse_api_base("https://proxy.example.com/discord").is_ok());
        assert_eq!(
            parse_api_base("http://proxy.example.com/api")
                .map(|_| ())
                .map_err(|e| e.key().to_owned()),
            Err("api_base".to_owned())
        );
        assert!(parse_api_base("ftp://127.0.0.1/").is_err());
        assert!(parse_api_base("https://example.com/api?x=1").is_err());
    }

    #[test]
    fn usernames_discord_refuses_are_refused_at_start_up() {
        assert!(check_username("Stripe").is_ok());
        for name in ["", "   ", "My Discord bot", "CLYDE", &"x".repeat(81)] {
            let error = check_username(name).expect_err(name);
            assert_eq!(error.key(), "username");
        }
    }
}

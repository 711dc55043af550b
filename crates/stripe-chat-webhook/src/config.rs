//! The webhook's configuration ([`WebhookConfig`], from a file) and builder ([`WebhookBuilder`], in
//! code), both checked once into a [`WebhookProvider`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use stripe_chat_message::{ConfigError, Secret, SecretSource};

use crate::WebhookProvider;

/// The shortest signing secret accepted, in bytes.
///
/// ```
/// assert_eq!(stripe_chat_webhook::MIN_SECRET_BYTES, 16);
/// ```
pub const MIN_SECRET_BYTES: usize = 16;

/// The longest request timeout accepted.
///
/// ```
/// assert_eq!(stripe_chat_webhook::MAX_TIMEOUT.as_secs(), 300);
/// ```
pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);

/// The name used when none is configured.
///
/// ```
/// assert_eq!(stripe_chat_webhook::DEFAULT_NAME, "webhook");
/// ```
pub const DEFAULT_NAME: &str = "webhook";

/// A webhook destination as written in a configuration file. Unknown keys are refused.
///
/// The URL and the signing secret are each given inline (`url`, `secret`), as the name of an
/// environment variable holding it (`url_env`, `secret_env`) or as the path of a file holding it
/// (`url_file`, `secret_file`); the URL counts as a secret, since webhook URLs often carry a key. [`WebhookConfig::build`] checks everything and names the key in
/// error.
///
/// ```
/// use stripe_chat_webhook::WebhookConfig;
///
/// let config: WebhookConfig = toml::from_str(r#"
/// name = "billing-service"
/// url = "https://billing.internal.example.com/hooks/stripe-chat"
/// secret_env = "STRIPE_CHAT_WEBHOOK_SECRET"
/// timeout_secs = 5
/// "#)?;
/// assert!(!format!("{config:?}").contains("billing.internal"), "the URL is a secret");
///
/// // With the variable unset, the error names it.
/// let error = config.build().unwrap_err();
/// assert_eq!(error.key(), "secret_env");
/// assert!(error.to_string().contains("STRIPE_CHAT_WEBHOOK_SECRET"));
///
/// assert!(toml::from_str::<WebhookConfig>("urll = \"https://x.example.com\"").is_err());
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The URL requests are POSTed to (`http` or `https`).
    #[serde(default)]
    pub url: Option<Secret>,
    /// The environment variable holding the URL, instead of `url`.
    #[serde(default)]
    pub url_env: Option<String>,
    /// A file holding the URL, instead of `url` (a Docker or Kubernetes secret).
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    /// The shared signing secret, at least [`MIN_SECRET_BYTES`] long (32 random bytes, hex encoded,
    /// are a good choice).
    #[serde(default)]
    pub secret: Option<Secret>,
    /// The environment variable holding the secret, instead of `secret`.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// A file holding the secret, instead of `secret`.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// The time allowed for a whole request, in seconds (default 15, at most 300).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// A name for this destination, shown in `Debug`, errors and message refs (default `webhook`).
    #[serde(default)]
    pub name: Option<String>,
}

impl WebhookConfig {
    /// Checks the configuration, reading `url_env` and `secret_env` from the environment, and gives
    /// the provider.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// use stripe_chat_webhook::WebhookConfig;
    /// let config = WebhookConfig {
    ///     url: Some(Secret::new("https://hooks.example.com/stripe-chat")),
    ///     secret: Some(Secret::new("0123456789abcdef0123456789abcdef")),
    ///     ..WebhookConfig::default()
    /// };
    /// assert_eq!(config.build()?.name(), "webhook");
    /// # Ok::<(), stripe_chat_webhook::ConfigError>(())
    /// ```
    pub fn build(&self) -> Result<WebhookProvider, ConfigError> {
        self.build_with_env(|name| std::env::var(name).ok())
    }

    /// [`WebhookConfig::build`], reading `url_env` and `secret_env` through `env` instead of the
    /// process environment (for tests, or to take secrets from somewhere else). A variable that
    /// `env` does not know, or whose value is blank, is an error naming the key and the variable;
    /// no error and no `Debug` shows the URL or the secret.
    ///
    /// ```
    /// use stripe_chat_webhook::WebhookConfig;
    ///
    /// let config: WebhookConfig = toml::from_str(r#"
    /// url_env = "ERP_HOOK_URL"
    /// secret_env = "ERP_HOOK_SECRET"
    /// "#)?;
    /// let env = |name: &str| match name {
    ///     "ERP_HOOK_URL" => Some("https://erp.example.com/hook?key=k3y".to_owned()),
    ///     "ERP_HOOK_SECRET" => Some("0123456789abcdef0123456789abcdef".to_owned()),
    ///     _ => None,
    /// };
    /// let webhook = config.build_with_env(env)?;
    /// let shown = format!("{webhook:?}");
    /// assert!(!shown.contains("k3y") && !shown.contains("0123456789abcdef"));
    ///
    /// let error = config.build_with_env(|_| None).unwrap_err();
    /// assert_eq!(error.to_string(), "url_env: the environment variable ERP_HOOK_URL is not set or is empty");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build_with_env(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<WebhookProvider, ConfigError> {
        let (url, url_key) = read(
            "url",
            (
                self.url.as_ref(),
                self.url_env.as_deref(),
                self.url_file.as_deref(),
            ),
            &env,
        )?;
        let (secret, secret_key) = read(
            "secret",
            (
                self.secret.as_ref(),
                self.secret_env.as_deref(),
                self.secret_file.as_deref(),
            ),
            &env,
        )?;
        let mut builder = WebhookBuilder::new(url, secret);
        builder.url_key = url_key;
        builder.secret_key = secret_key;
        if let Some(name) = &self.name {
            builder = builder.name(name.clone());
        }
        if let Some(seconds) = self.timeout_secs {
            if seconds == 0 {
                return Err(ConfigError::invalid("timeout_secs", "must be at least 1"));
            }
            builder = builder.timeout(Duration::from_secs(seconds));
        }
        builder.build()
    }
}

/// The secret `key` names through `key`, `{key}_env` or `{key}_file`, and the key it came by (to
/// name in errors about the value).
fn read(
    key: &str,
    (value, env_name, file): (Option<&Secret>, Option<&str>, Option<&Path>),
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Secret, String), ConfigError> {
    let source = SecretSource::from_keys(key, value, env_name, file)?.ok_or_else(|| {
        ConfigError::missing(key, format_args!("set {key}, {key}_env or {key}_file"))
    })?;
    Ok((source.read(key, env)?, source.key_for(key)))
}

/// Builds a [`WebhookProvider`] in code.
///
/// ```
/// use std::time::Duration;
/// use stripe_chat_message::Secret;
/// use stripe_chat_webhook::WebhookBuilder;
///
/// let webhook = WebhookBuilder::new(
///     Secret::new("https://billing.internal.example.com/hooks/stripe-chat?key=k3y"),
///     Secret::new("0123456789abcdef0123456789abcdef"),
/// )
/// .name("billing-service")
/// .timeout(Duration::from_secs(5))
/// .build()?;
/// assert_eq!(webhook.name(), "billing-service");
/// let debug = format!("{webhook:?}");
/// assert!(!debug.contains("k3y") && !debug.contains("0123456789abcdef"));
///
/// let short = WebhookBuilder::new(Secret::new("https://x.example.com"), Secret::new("short")).build();
/// assert_eq!(short.unwrap_err().key(), "secret");
/// # Ok::<(), stripe_chat_webhook::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct WebhookBuilder {
    url: Secret,
    secret: Secret,
    name: String,
    timeout: Duration,
    url_key: String,
    secret_key: String,
}

impl WebhookBuilder {
    /// A webhook POSTing to `url`, signed with `secret`, named `webhook`, with the default timeout
    /// (15 s).
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// let _ = stripe_chat_webhook::WebhookBuilder::new(Secret::new("https://x.example.com"), Secret::new("0123456789abcdef"));
    /// ```
    pub fn new(url: Secret, secret: Secret) -> Self {
        WebhookBuilder {
            url,
            secret,
            name: DEFAULT_NAME.to_owned(),
            timeout: stripe_chat_http::REQUEST_TIMEOUT,
            url_key: "url".to_owned(),
            secret_key: "secret".to_owned(),
        }
    }

    /// Names the destination (1 to 64 characters, no control characters).
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// use stripe_chat_webhook::WebhookBuilder;
    /// let b = WebhookBuilder::new(Secret::new("https://x.example.com"), Secret::new("0123456789abcdef"));
    /// assert_eq!(b.clone().name("ops").build()?.name(), "ops");
    /// assert_eq!(b.name("").build().unwrap_err().key(), "name");
    /// # Ok::<(), stripe_chat_webhook::ConfigError>(())
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the time allowed for a whole request (at most [`MAX_TIMEOUT`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use stripe_chat_message::Secret;
    /// use stripe_chat_webhook::WebhookBuilder;
    /// let b = WebhookBuilder::new(Secret::new("https://x.example.com"), Secret::new("0123456789abcdef"));
    /// assert_eq!(b.timeout(Duration::ZERO).build().unwrap_err().key(), "timeout_secs");
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks everything and gives the provider.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// use stripe_chat_webhook::WebhookBuilder;
    /// let ftp = WebhookBuilder::new(Secret::new("ftp://x.example.com/drop"), Secret::new("0123456789abcdef")).build();
    /// assert_eq!(ftp.unwrap_err().to_string(), "url: must be an http or https URL");
    /// ```
    pub fn build(self) -> Result<WebhookProvider, ConfigError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(ConfigError::invalid(
                "name",
                "must be 1 to 64 characters, without control characters",
            ));
        }
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return Err(ConfigError::invalid(
                "timeout_secs",
                format!("must be between 1 and {}", MAX_TIMEOUT.as_secs()),
            ));
        }
        // The parse error never contains the URL itself.
        let url = reqwest::Url::parse(self.url.expose().trim()).map_err(|e| {
            ConfigError::invalid(&self.url_key, format!("is not a valid URL ({e})"))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::invalid(
                &self.url_key,
                "must be an http or https URL",
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError::invalid(&self.url_key, "has no host"));
        }
        if self.secret.expose().len() < MIN_SECRET_BYTES {
            return Err(ConfigError::invalid(
                &self.secret_key,
                format!(
                    "must be at least {MIN_SECRET_BYTES} bytes long (32 random bytes, hex encoded, are a good choice)"
                ),
            ));
        }
        WebhookProvider::from_checked(name.to_owned(), url, self.secret, self.timeout)
            .map_err(|problem| ConfigError::invalid(&self.url_key, problem))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn env(name: &str) -> Option<String> {
        match name {
            "HOOK_URL" => Some("https://hooks.example.com/in?token=t0k3n".to_owned()),
            "HOOK_SECRET" => Some(format!("  {SECRET}\n")),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn config(toml_text: &str) -> WebhookConfig {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn url_and_secret_can_come_from_the_environment() {
        let provider =
            config("url_env = \"HOOK_URL\"\nsecret_env = \"HOOK_SECRET\"\nname = \"ops\"")
                .build_with_env(env)
                .unwrap();
        assert_eq!(provider.name(), "ops");
        assert!(!format!("{provider:?}").contains("t0k3n"));
    }

    #[test]
    fn a_missing_environment_variable_is_named_with_its_key() {
        for (text, key, variable) in [
            (
                "url_env = \"NOPE\"\nsecret = \"0123456789abcdef\"",
                "url_env",
                "NOPE",
            ),
            (
                "url = \"https://x.example.com\"\nsecret_env = \"EMPTY\"",
                "secret_env",
                "EMPTY",
            ),
        ] {
            let error = config(text).build_with_env(env).unwrap_err();
            assert_eq!(error.key(), key);
            assert!(error.problem().contains(variable), "{error}");
        }
    }

    #[test]
    fn the_provider_built_from_the_environment_never_shows_the_secret() {
        let provider = config("url_env = \"HOOK_URL\"\nsecret_env = \"HOOK_SECRET\"")
            .build_with_env(env)
            .unwrap();
        let shown = format!("{provider:?}");
        assert!(
            !shown.contains(SECRET) && !shown.contains("t0k3n"),
            "{shown}"
        );
    }

    #[test]
    fn a_value_given_twice_is_refused() {
        let error = config(
            "url = \"https://x.example.com\"\nurl_env = \"HOOK_URL\"\nsecret_env = \"HOOK_SECRET\"",
        )
        .build_with_env(env)
        .unwrap_err();
        assert_eq!(error.to_string(), "url: set only one of url and url_env");
    }

    #[test]
    fn errors_about_the_url_never_show_it() {
        for url in [
            "not a url with s3cr3t",
            "mailto:s3cr3t@example.com",
            "https://",
        ] {
            let error = WebhookConfig {
                url: Some(Secret::new(url)),
                secret: Some(Secret::new(SECRET)),
                ..WebhookConfig::default()
            }
            .build_with_env(env)
            .unwrap_err();
            assert_eq!(error.key(), "url");
            assert!(!error.to_string().contains("s3cr3t"), "{error}");
        }
    }

    #[test]
    fn an_invalid_url_from_the_environment_names_url_env() {
        let error = WebhookConfig {
            url_env: Some("HOOK_SECRET".to_owned()),
            secret: Some(Secret::new(SECRET)),
            ..WebhookConfig::default()
        }
        .build_with_env(env)
        .unwrap_err();
        assert_eq!(error.key(), "url_env");
        assert!(!error.to_string().contains(SECRET), "{error}");
    }

    #[test]
    fn timeouts_outside_one_to_three_hundred_seconds_are_refused() {
        for seconds in [0, 301] {
            let error = config(&format!(
                "url = \"https://x.example.com\"\nsecret = \"{SECRET}\"\ntimeout_secs = {seconds}"
            ))
            .build_with_env(env)
            .unwrap_err();
            assert_eq!(error.key(), "timeout_secs", "{seconds}");
        }
    }

    #[test]
    fn url_and_secret_can_come_from_files_and_an_unreadable_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("hook_url");
        std::fs::write(&url, "https://erp.example.com/hook?key=t0k3n\n").unwrap();
        let secret = dir.path().join("hook_secret");
        std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
        let provider = WebhookConfig {
            url_file: Some(url),
            secret_file: Some(secret.clone()),
            ..WebhookConfig::default()
        }
        .build_with_env(env)
        .unwrap();
        assert!(!format!("{provider:?}").contains("t0k3n"));

        let missing = dir.path().join("missing");
        let error = WebhookConfig {
            url_file: Some(missing.clone()),
            secret_file: Some(secret),
            ..WebhookConfig::default()
        }
        .build_with_env(env)
        .unwrap_err();
        assert_eq!(error.key(), "url_file");
        assert!(
            error.problem().contains(&missing.display().to_string()),
            "{error}"
        );
    }

    #[test]
    fn the_config_debug_never_shows_the_url_or_the_secret() {
        let config: WebhookConfig = toml::from_str(&format!(
            "url = \"https://erp.example.com/hook?key=t0k3n\"\nsecret = \"{SECRET}\""
        ))
        .unwrap();
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("t0k3n") && !shown.contains(SECRET),
            "{shown}"
        );
    }

    #[test]
    fn a_short_secret_is_refused_without_showing_it() {
        let error = config("url = \"https://x.example.com\"\nsecret = \"hunter2\"")
            .build_with_env(env)
            .unwrap_err();
        assert_eq!(error.key(), "secret");
        assert!(!error.to_string().contains("hunter2"));
    }
}

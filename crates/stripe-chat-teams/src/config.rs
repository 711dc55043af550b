//! The Teams adapter's configuration, validated once by [`TeamsConfig::build`] into a
//! [`TeamsProvider`].

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use stripe_chat_message::{ConfigError, Secret, SecretSource};

use crate::client::{DEFAULT_TIMEOUT_SECS, MAX_TIMEOUT_SECS, TeamsProvider};
use crate::render::CardVersion;

/// How to reach a Teams channel or chat through a **Workflows webhook** (Power Automate, trigger
/// "When a Teams webhook request is received").
///
/// Read from a configuration file (unknown keys are refused); [`TeamsConfig::build`] checks it and
/// gives the [`TeamsProvider`]. The webhook URL carries its key (the `sig` query parameter), so it is
/// a [`Secret`]: give it inline as `webhook_url`, name the environment variable holding it with
/// `webhook_url_env`, or the file holding it with `webhook_url_file` (exactly one of the three).
///
/// | key                | default | meaning                                                       |
/// |--------------------|---------|---------------------------------------------------------------|
/// | `webhook_url`      |         | the flow's HTTP URL, with its `sig`                           |
/// | `webhook_url_env`  |         | the environment variable holding that URL                     |
/// | `webhook_url_file` |         | a file holding that URL (a Docker or Kubernetes secret)       |
/// | `card_version`    | `"1.4"` | Adaptive Card version declared: `"1.4"` or `"1.5"`             |
/// | `timeout_secs`    | `10`    | time allowed for one request, 1 to [`MAX_TIMEOUT_SECS`]        |
///
/// The URL must be `https://`; `http://` is accepted only for a loopback host (`localhost`,
/// `127.0.0.0/8`, `::1`), which is what tests and a local relay use.
///
/// ```
/// use stripe_chat_teams::{CardVersion, TeamsConfig};
///
/// let config: TeamsConfig = toml::from_str(r#"
/// webhook_url_env = "STRIPE_CHAT_TEAMS_WEBHOOK_URL"
/// card_version = "1.5"
/// "#)?;
/// assert_eq!(config.card_version, CardVersion::V1_5);
/// assert_eq!(config.timeout_secs, 10);
///
/// let inline: TeamsConfig = toml::from_str(r#"
/// webhook_url = "https://prod-00.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SECRETSIG"
/// "#)?;
/// assert!(!format!("{inline:?}").contains("SECRETSIG"));
/// assert!(inline.build().is_ok());
///
/// assert!(toml::from_str::<TeamsConfig>(r#"card_version = "1.6""#).is_err());
/// assert!(toml::from_str::<TeamsConfig>(r#"webhook = "https://x.test""#).is_err());
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TeamsConfig {
    /// The Workflows webhook URL, with its `sig` key.
    #[serde(default)]
    pub webhook_url: Option<Secret>,
    /// The name of the environment variable holding the Workflows webhook URL.
    #[serde(default)]
    pub webhook_url_env: Option<String>,
    /// A file holding the Workflows webhook URL (a Docker or Kubernetes secret).
    #[serde(default)]
    pub webhook_url_file: Option<PathBuf>,
    /// The Adaptive Card version the cards declare.
    #[serde(default)]
    pub card_version: CardVersion,
    /// Seconds allowed for one request (connecting included).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_timeout_secs() -> u64 {
    DEFAULT_TIMEOUT_SECS
}

impl Default for TeamsConfig {
    fn default() -> Self {
        TeamsConfig {
            webhook_url: None,
            webhook_url_env: None,
            webhook_url_file: None,
            card_version: CardVersion::default(),
            timeout_secs: DEFAULT_TIMEOUT_SECS,
        }
    }
}

impl TeamsConfig {
    /// Checks the configuration and gives the provider: exactly one of `webhook_url`,
    /// `webhook_url_env` and `webhook_url_file`, the variable set or the file readable, the URL
    /// usable (see [`TeamsConfig`]), the timeout within 1 to [`MAX_TIMEOUT_SECS`] seconds. Errors
    /// name the key and never show the URL.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// use stripe_chat_teams::TeamsConfig;
    ///
    /// let mut config = TeamsConfig::default();
    /// assert_eq!(config.build().unwrap_err().key(), "webhook_url");
    ///
    /// config.webhook_url = Some(Secret::new("http://prod-00.westus.logic.azure.com/workflows/abc?sig=SECRETSIG"));
    /// let error = config.build().unwrap_err();
    /// assert_eq!(error.key(), "webhook_url");
    /// assert!(!error.to_string().contains("SECRETSIG"));
    ///
    /// config.webhook_url = None;
    /// config.webhook_url_env = Some("STRIPE_CHAT_SURELY_UNSET_VARIABLE".into());
    /// assert_eq!(config.build().unwrap_err().to_string(),
    ///     "webhook_url_env: the environment variable STRIPE_CHAT_SURELY_UNSET_VARIABLE is not set or is empty");
    /// ```
    pub fn build(&self) -> Result<TeamsProvider, ConfigError> {
        self.build_with_env(|name| std::env::var(name).ok())
    }

    /// [`TeamsConfig::build`], reading `webhook_url_env` through `env` instead of the process
    /// environment (for tests, or to take secrets from somewhere else). A variable that `env`
    /// does not know, or whose value is blank, is an error naming `webhook_url_env` and the
    /// variable; no error shows the URL.
    ///
    /// ```
    /// use stripe_chat_teams::TeamsConfig;
    ///
    /// let config: TeamsConfig = toml::from_str(r#"webhook_url_env = "TEAMS_FINANCE_URL""#)?;
    /// let url = "https://prod-00.westus.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sig=SECRETSIG";
    /// let env = |name: &str| (name == "TEAMS_FINANCE_URL").then(|| url.to_owned());
    /// let teams = config.build_with_env(env)?;
    /// assert!(!format!("{teams:?}").contains("SECRETSIG"));
    ///
    /// let error = config.build_with_env(|_| None).unwrap_err();
    /// assert_eq!(error.to_string(),
    ///     "webhook_url_env: the environment variable TEAMS_FINANCE_URL is not set or is empty");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build_with_env(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<TeamsProvider, ConfigError> {
        let source = SecretSource::from_keys(
            "webhook_url",
            self.webhook_url.as_ref(),
            self.webhook_url_env.as_deref(),
            self.webhook_url_file.as_deref(),
        )?
        .ok_or_else(|| {
            ConfigError::missing(
                "webhook_url",
                "the Workflows webhook URL: set webhook_url, webhook_url_env or webhook_url_file",
            )
        })?;
        let url = source.read("webhook_url", &env)?;
        if self.timeout_secs == 0 || self.timeout_secs > MAX_TIMEOUT_SECS {
            return Err(ConfigError::invalid(
                "timeout_secs",
                format!(
                    "must be 1 to {MAX_TIMEOUT_SECS} seconds, not {}",
                    self.timeout_secs
                ),
            ));
        }
        TeamsProvider::workflows(url)
            .with_card_version(self.card_version)
            .with_timeout(Duration::from_secs(self.timeout_secs))
            .build_for_key(&source.key_for("webhook_url"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stripe_chat_message::ConfigErrorKind;

    const URL: &str = "https://prod-00.westus.logic.azure.com:443/workflows/abc123/triggers/manual/\
        paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SECRETSIG";

    fn env_with_url(name: &str) -> Option<String> {
        match name {
            "TEAMS_URL" => Some(URL.to_owned()),
            "TEAMS_BLANK" => Some("  \n".to_owned()),
            _ => None,
        }
    }

    fn config(toml_text: &str) -> TeamsConfig {
        match toml::from_str(toml_text) {
            Ok(config) => config,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn defaults_are_card_one_four_and_ten_seconds() {
        let c = config(r#"webhook_url_env = "TEAMS_URL""#);
        assert_eq!(c.card_version, CardVersion::V1_4);
        assert_eq!(c.timeout_secs, 10);
        let provider = c.build_with_env(env_with_url).expect("valid");
        assert_eq!(provider.endpoint(), "prod-00.westus.logic.azure.com");
    }

    #[test]
    fn the_url_can_come_from_the_environment() {
        let c =
            config("webhook_url_env = \"TEAMS_URL\"\ncard_version = \"1.5\"\ntimeout_secs = 30");
        let provider = c.build_with_env(env_with_url).expect("valid");
        assert_eq!(provider.card_version(), CardVersion::V1_5);
        assert_eq!(provider.timeout(), Duration::from_secs(30));
    }

    #[test]
    fn an_unset_environment_variable_is_named_in_the_error() {
        let c = config(r#"webhook_url_env = "TEAMS_OTHER""#);
        let e = c.build_with_env(env_with_url).expect_err("unset");
        assert_eq!(e.key(), "webhook_url_env");
        assert!(e.problem().contains("TEAMS_OTHER"), "{e}");
    }

    #[test]
    fn a_blank_environment_variable_counts_as_unset() {
        let c = config(r#"webhook_url_env = "TEAMS_BLANK""#);
        let e = c.build_with_env(env_with_url).expect_err("blank");
        assert_eq!(e.key(), "webhook_url_env");
        assert!(e.problem().contains("TEAMS_BLANK"), "{e}");
    }

    #[test]
    fn the_provider_built_from_the_environment_never_shows_the_url() {
        let c = config(r#"webhook_url_env = "TEAMS_URL""#);
        let provider = c.build_with_env(env_with_url).expect("valid");
        assert!(!format!("{provider:?}").contains("SECRETSIG"));
    }

    #[test]
    fn a_bad_url_from_the_environment_names_the_env_key_and_hides_the_url() {
        let c = config(r#"webhook_url_env = "TEAMS_URL""#);
        let e = c
            .build_with_env(|_| Some("ftp://host.test/x?sig=SECRETSIG".to_owned()))
            .expect_err("refused");
        assert_eq!(e.key(), "webhook_url_env");
        assert!(!e.to_string().contains("SECRETSIG"), "{e}");
        assert!(!e.to_string().contains("host.test"), "{e}");
    }

    #[test]
    fn both_or_neither_url_keys_are_refused() {
        let both = TeamsConfig {
            webhook_url: Some(Secret::new(URL)),
            webhook_url_env: Some("TEAMS_URL".into()),
            ..TeamsConfig::default()
        };
        assert_eq!(
            both.build_with_env(env_with_url).map(|_| ()),
            Err(ConfigError::conflict("webhook_url", "webhook_url_env"))
        );
        let neither = TeamsConfig::default();
        assert_eq!(
            neither
                .build_with_env(env_with_url)
                .map(|_| ())
                .map_err(|e| e.key().to_owned()),
            Err("webhook_url".to_owned())
        );
    }

    #[test]
    fn timeouts_outside_one_to_three_hundred_seconds_are_refused() {
        for secs in [0, 301, u64::MAX] {
            let c = TeamsConfig {
                webhook_url: Some(Secret::new(URL)),
                timeout_secs: secs,
                ..TeamsConfig::default()
            };
            let e = c.build().map(|_| ()).expect_err("refused");
            assert_eq!(e.key(), "timeout_secs", "{secs}");
        }
    }

    #[test]
    fn unknown_keys_and_versions_are_refused_when_read() {
        let e = toml::from_str::<TeamsConfig>("webhook_url_env = \"X\"\ntimeout = 5")
            .expect_err("unknown key")
            .to_string();
        assert!(e.contains("unknown field `timeout`"), "{e}");
        let e = toml::from_str::<TeamsConfig>(r#"card_version = "1.6""#)
            .expect_err("unsupported version")
            .to_string();
        assert!(e.contains("1.4") && e.contains("1.5"), "{e}");
        assert!(toml::from_str::<TeamsConfig>("card_version = 1.5").is_err());
    }

    #[test]
    fn the_url_can_come_from_a_file_with_its_trailing_newline() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("teams_webhook_url");
        std::fs::write(&path, format!("{URL}\n")).expect("written");
        let c = TeamsConfig {
            webhook_url_file: Some(path),
            ..TeamsConfig::default()
        };
        let provider = c.build_with_env(|_| None).expect("valid");
        assert_eq!(provider.endpoint(), "prod-00.westus.logic.azure.com");
    }

    #[test]
    fn an_unreadable_file_or_a_bad_url_in_it_names_the_file_key() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let bad = dir.path().join("bad_url");
        std::fs::write(&bad, "ftp://host.test/x?sig=SECRETSIG").expect("written");
        let missing = dir.path().join("missing");
        for (path, kind) in [
            (bad, ConfigErrorKind::Invalid),
            (missing.clone(), ConfigErrorKind::Unreadable),
        ] {
            let e = TeamsConfig {
                webhook_url_file: Some(path),
                ..TeamsConfig::default()
            }
            .build_with_env(|_| None)
            .expect_err("refused");
            assert_eq!(e.key(), "webhook_url_file");
            assert_eq!(e.kind(), kind);
            assert!(!e.to_string().contains("SECRETSIG"), "{e}");
        }
        let e = TeamsConfig {
            webhook_url_file: Some(missing.clone()),
            ..TeamsConfig::default()
        }
        .build()
        .expect_err("missing");
        assert!(e.problem().contains(&missing.display().to_string()), "{e}");
    }

    #[test]
    fn the_config_debug_hides_the_url() {
        let c = config(&format!("webhook_url = \"{URL}\""));
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("SECRETSIG") && !shown.contains("logic.azure"),
            "{shown}"
        );
    }
}

//! Configuration of the Matrix adapter: [`MatrixConfig`] (serde, for config files), checked once
//! by [`MatrixConfig::build`] into a [`MatrixProvider`].
//!
//! The access token is a secret: it is read from the config
//! ([`access_token`](MatrixConfig::access_token)) or, better, from the environment variable named
//! by [`access_token_env`](MatrixConfig::access_token_env) or the file named by
//! [`access_token_file`](MatrixConfig::access_token_file). No error and no `Debug` shows it.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use stripe_chat_http::EndpointError;
use stripe_chat_message::{ConfigError, Secret, SecretSource};

use crate::client::MatrixProvider;
use crate::render::{MatrixRenderer, MsgType};

/// Seconds a request may take, unless [`MatrixConfig::timeout_secs`] says otherwise.
///
/// ```
/// assert_eq!(stripe_chat_matrix::DEFAULT_TIMEOUT_SECS, 10);
/// ```
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// The longest request timeout accepted, in seconds.
const MAX_TIMEOUT_SECS: u64 = 300;

/// The longest room id the spec allows, in bytes.
const MAX_ROOM_ID_BYTES: usize = 255;

/// The `[matrix]` section of a configuration file: where to post, as whom.
///
/// Keys (unknown keys are refused):
///
/// | key | default | meaning |
/// |---|---|---|
/// | `homeserver` | — | the homeserver's client-server API base URL, `https://matrix.example.org` (plain `http` only on a loopback address) |
/// | `room_id` | — | the room to post in: its id, `!abc:example.org` (or `!abc` in room version 12), not an alias |
/// | `access_token` | — | the bot user's access token (a secret) |
/// | `access_token_env` | — | or: the name of the environment variable holding it |
/// | `access_token_file` | — | or: a file holding it (a Docker or Kubernetes secret); exactly one of the three is required |
/// | `msgtype` | `m.notice` | `m.notice` (what bots send) or `m.text` |
/// | `timeout_secs` | [`DEFAULT_TIMEOUT_SECS`] | seconds a request may take (1–300) |
///
/// ```
/// use stripe_chat_matrix::MatrixConfig;
///
/// let config: MatrixConfig = toml::from_str(r#"
///     homeserver = "https://matrix.example.org"
///     room_id = "!ops:example.org"
///     access_token = "syt_c2VjcmV0_TOKEN"
///     msgtype = "m.text"
///     timeout_secs = 5
/// "#)?;
/// assert!(!format!("{config:?}").contains("TOKEN"));
/// let provider = config.build()?;
/// assert_eq!(provider.room_id(), "!ops:example.org");
/// assert!(!format!("{provider:?}").contains("TOKEN"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixConfig {
    /// The homeserver's base URL (`https://matrix.example.org`).
    pub homeserver: String,
    /// The id of the room to post in (`!abc:example.org`).
    pub room_id: String,
    /// The access token of the user that posts.
    #[serde(default)]
    pub access_token: Option<Secret>,
    /// The name of an environment variable holding the access token.
    #[serde(default)]
    pub access_token_env: Option<String>,
    /// A file holding the access token (a Docker or Kubernetes secret).
    #[serde(default)]
    pub access_token_file: Option<PathBuf>,
    /// `m.notice` (default) or `m.text`.
    #[serde(default)]
    pub msgtype: Option<String>,
    /// Seconds a request may take.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_timeout_secs() -> u64 {
    DEFAULT_TIMEOUT_SECS
}

impl MatrixProvider {
    /// A provider posting `m.notice` messages to `room_id` on `homeserver` with the access token
    /// `token`, allowing each request
    /// [`DEFAULT_TIMEOUT_SECS`](crate::DEFAULT_TIMEOUT_SECS). Checked like [`MatrixConfig::build`].
    ///
    /// ```
    /// use stripe_chat_matrix::MatrixProvider;
    /// use stripe_chat_message::Secret;
    /// let provider = MatrixProvider::new("https://matrix.example.org", "!ops:example.org", Secret::new("syt_x"))?;
    /// assert_eq!(provider.homeserver(), "https://matrix.example.org");
    /// assert!(MatrixProvider::new("matrix.example.org", "!ops:example.org", Secret::new("syt_x")).is_err());
    /// # Ok::<(), stripe_chat_matrix::ConfigError>(())
    /// ```
    pub fn new(homeserver: &str, room_id: &str, token: Secret) -> Result<Self, ConfigError> {
        MatrixConfig::new(homeserver, room_id, token).build()
    }
}

impl MatrixConfig {
    /// A configuration posting to `room_id` on `homeserver` with `access_token`, everything else
    /// by default (the start of a builder; see also [`MatrixProvider::new`]).
    ///
    /// ```
    /// use stripe_chat_matrix::MatrixConfig;
    /// use stripe_chat_message::Secret;
    /// let config = MatrixConfig::new("https://matrix.example.org", "!ops:example.org", Secret::new("t"));
    /// assert_eq!(config.timeout_secs, 10);
    /// assert!(config.build().is_ok());
    /// ```
    pub fn new(
        homeserver: impl Into<String>,
        room_id: impl Into<String>,
        access_token: Secret,
    ) -> Self {
        MatrixConfig {
            homeserver: homeserver.into(),
            room_id: room_id.into(),
            access_token: Some(access_token),
            access_token_env: None,
            access_token_file: None,
            msgtype: None,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
        }
    }

    /// Checks every key and builds the provider. The error names the key at fault and never
    /// shows the token.
    ///
    /// ```
    /// use stripe_chat_matrix::MatrixConfig;
    /// use stripe_chat_message::{ConfigErrorKind, Secret};
    ///
    /// let mut config = MatrixConfig::new("https://matrix.example.org", "!ops:example.org", Secret::new("t"));
    /// config.access_token = None;
    /// config.access_token_env = Some("SURELY_UNSET_STRIPE_CHAT_MATRIX_TOKEN".into());
    /// let error = config.build().unwrap_err();
    /// assert_eq!(error.kind(), ConfigErrorKind::Unset);
    /// assert!(error.problem().contains("SURELY_UNSET_STRIPE_CHAT_MATRIX_TOKEN"));
    ///
    /// let bad = MatrixConfig::new("http://matrix.example.org", "!ops:example.org", Secret::new("syt_SECRET"));
    /// let error = bad.build().unwrap_err();
    /// assert_eq!(error.key(), "homeserver");
    /// assert!(!error.to_string().contains("syt_SECRET"));
    /// ```
    pub fn build(&self) -> Result<MatrixProvider, ConfigError> {
        self.build_with_env(|name| std::env::var(name).ok())
    }

    /// [`MatrixConfig::build`], reading `access_token_env` through `env` instead of the process
    /// environment (for tests, or to take secrets from somewhere else). A variable that `env`
    /// does not know, or whose value is blank, is an [`Unset`](stripe_chat_message::ConfigErrorKind::Unset) error
    /// naming it; no error and no `Debug` shows the token.
    ///
    /// ```
    /// use stripe_chat_matrix::MatrixConfig;
    ///
    /// let config: MatrixConfig = toml::from_str(r#"
    ///     homeserver = "https://matrix.example.org"
    ///     room_id = "!ops:example.org"
    ///     access_token_env = "MATRIX_TOKEN"
    /// "#)?;
    /// let env = |name: &str| (name == "MATRIX_TOKEN").then(|| "syt_SECRET_TOKEN".to_owned());
    /// let provider = config.build_with_env(env)?;
    /// assert!(!format!("{provider:?}").contains("syt_SECRET_TOKEN"));
    ///
    /// let error = config.build_with_env(|_| None).unwrap_err();
    /// assert_eq!(error.to_string(), "access_token_env: the environment variable MATRIX_TOKEN is not set or is empty");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build_with_env(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<MatrixProvider, ConfigError> {
        let source = SecretSource::from_keys(
            "access_token",
            self.access_token.as_ref(),
            self.access_token_env.as_deref(),
            self.access_token_file.as_deref(),
        )?
        .ok_or_else(|| {
            ConfigError::missing(
                "access_token",
                "the bot's access token: set access_token, access_token_env or access_token_file",
            )
        })?;
        let token = source.read("access_token", &env)?;
        let token = check_token(&token, &source.key_for("access_token"))?;
        let homeserver = parse_homeserver(&self.homeserver)?;
        let room_id = check_room_id(&self.room_id)?;
        let msgtype = match self.msgtype.as_deref().map(str::trim) {
            None | Some("m.notice") => MsgType::Notice,
            Some("m.text") => MsgType::Text,
            Some(other) => {
                return Err(ConfigError::invalid(
                    "msgtype",
                    format!("must be m.notice or m.text, not {other:?}"),
                ));
            }
        };
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
        Ok(MatrixProvider::from_parts(
            http,
            homeserver,
            room_id,
            token,
            timeout,
            MatrixRenderer::new().with_msgtype(msgtype),
        ))
    }
}

/// The token, trimmed, if it can travel in an `Authorization` header (visible ASCII only).
fn check_token(token: &Secret, key: &str) -> Result<Secret, ConfigError> {
    let trimmed = token.expose().trim();
    if trimmed.is_empty() {
        return Err(ConfigError::invalid(key, "is empty"));
    }
    if !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::invalid(
            key,
            "holds characters an access token cannot have (spaces, control or non-ASCII characters)",
        ));
    }
    Ok(Secret::new(trimmed))
}

/// The homeserver's base URL without a trailing `/`: `https`, or `http` on a loopback address,
/// with a host and without user information, query or fragment.
pub(crate) fn parse_homeserver(homeserver: &str) -> Result<String, ConfigError> {
    let invalid = |why: &str| ConfigError::invalid("homeserver", format!("{why} ({homeserver:?})"));
    let url = stripe_chat_http::endpoint(homeserver.trim())
        .map_err(|e| match e {
            // Only a URL that is not http(s) can lack a host.
            EndpointError::NoHost => invalid(&EndpointError::NotHttps.to_string()),
            EndpointError::PlainHttp => invalid(
                "must be https (plain http only on a loopback address): the access token travels with every request",
            ),
            other => invalid(&other.to_string()),
        })?
        .into_url();
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not have a query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The room id, trimmed: `!` and an opaque part (`!abc:example.org`; room version 12 ids have no
/// server part), at most 255 bytes, without whitespace or control characters.
pub(crate) fn check_room_id(room_id: &str) -> Result<String, ConfigError> {
    let room_id = room_id.trim();
    if room_id.starts_with('#') {
        return Err(ConfigError::invalid(
            "room_id",
            format!(
                "{room_id:?} is a room alias: give the room's id (`!...`; Element shows it in \
                 Room settings → Advanced)"
            ),
        ));
    }
    if !room_id.starts_with('!') || room_id.len() < 2 {
        return Err(ConfigError::invalid(
            "room_id",
            format!("{room_id:?} is not a room id (`!abc:example.org`)"),
        ));
    }
    if room_id.len() > MAX_ROOM_ID_BYTES {
        return Err(ConfigError::invalid(
            "room_id",
            format!("is longer than {MAX_ROOM_ID_BYTES} bytes"),
        ));
    }
    if room_id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError::invalid(
            "room_id",
            format!("{room_id:?} has whitespace or control characters"),
        ));
    }
    Ok(room_id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml_text: &str) -> Result<MatrixConfig, toml::de::Error> {
        toml::from_str(toml_text)
    }

    #[test]
    fn the_former_destination_key_is_refused() {
        let error = config(
            r#"
            homeserver = "https://matrix.example.org"
            room_id = "!ops:example.org"
            access_token = "t"
            destination = "ops"
            "#,
        )
        .expect_err("transaction ids come from the caller now");
        assert!(error.to_string().contains("destination"), "{error}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = config(
            r#"
            homeserver = "https://matrix.example.org"
            room_id = "!ops:example.org"
            access_token = "t"
            room = "!typo:example.org"
            "#,
        )
        .expect_err("an unknown key");
        assert!(error.to_string().contains("room"), "{error}");
    }

    #[test]
    fn defaults_post_notices_to_the_room_under_its_own_name() {
        let provider = config(
            r#"
            homeserver = "https://matrix.example.org/"
            room_id = " !ops:example.org "
            access_token = "syt_x"
            "#,
        )
        .expect("parses")
        .build()
        .expect("builds");
        assert_eq!(provider.homeserver(), "https://matrix.example.org");
        assert_eq!(provider.room_id(), "!ops:example.org");
        assert_eq!(provider.msgtype(), MsgType::Notice);
        assert_eq!(
            provider.timeout(),
            Duration::from_secs(DEFAULT_TIMEOUT_SECS)
        );
    }

    #[test]
    fn a_token_both_inline_and_from_the_environment_is_refused() {
        let mut both = MatrixConfig::new(
            "https://matrix.example.org",
            "!ops:example.org",
            Secret::new("t"),
        );
        both.access_token_env = Some("X".into());
        let error = both.build().unwrap_err();
        assert_eq!(
            error.to_string(),
            "access_token: set only one of access_token and access_token_env"
        );
    }

    #[test]
    fn a_token_from_the_environment_is_read_at_build() {
        // `cargo test` sets CARGO_PKG_NAME for the test process: a variable that surely exists.
        let mut config = MatrixConfig::new(
            "https://matrix.example.org",
            "!ops:example.org",
            Secret::new("unused"),
        );
        config.access_token = None;
        config.access_token_env = Some("CARGO_PKG_NAME".into());
        let provider = config.build().expect("builds");
        assert_eq!(provider.token().expose(), "stripe-chat-matrix");
    }

    fn from_env_config(variable: &str) -> MatrixConfig {
        let mut config = MatrixConfig::new(
            "https://matrix.example.org",
            "!ops:example.org",
            Secret::new("unused"),
        );
        config.access_token = None;
        config.access_token_env = Some(variable.into());
        config
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "MATRIX_TOKEN" => Some("syt_SECRET_TOKEN\n".to_owned()),
            "MATRIX_BLANK" => Some(" ".to_owned()),
            "MATRIX_SPACED" => Some("syt SECRET".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn the_token_can_come_from_an_injected_environment() {
        let provider = from_env_config("MATRIX_TOKEN")
            .build_with_env(env)
            .expect("builds");
        assert_eq!(provider.token().expose(), "syt_SECRET_TOKEN");
        assert!(!format!("{provider:?}").contains("SECRET"));
    }

    #[test]
    fn an_unset_or_blank_token_variable_is_named_in_the_error() {
        for variable in ["MATRIX_NOPE", "MATRIX_BLANK"] {
            let error = from_env_config(variable)
                .build_with_env(env)
                .expect_err("missing");
            assert_eq!(error.kind(), stripe_chat_message::ConfigErrorKind::Unset);
            assert_eq!(error.key(), "access_token_env");
            assert!(error.problem().contains(variable), "{error}");
        }
    }

    #[test]
    fn the_token_can_come_from_a_file_and_an_unreadable_one_is_named() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("matrix_token");
        std::fs::write(&path, "syt_SECRET_TOKEN\n").expect("written");
        let mut config = from_env_config("UNUSED");
        config.access_token_env = None;
        config.access_token_file = Some(path);
        let provider = config.build_with_env(env).expect("builds");
        assert_eq!(provider.token().expose(), "syt_SECRET_TOKEN");

        let missing = dir.path().join("missing");
        config.access_token_file = Some(missing.clone());
        let error = config.build_with_env(env).expect_err("unreadable");
        assert_eq!(error.key(), "access_token_file");
        assert!(
            error.problem().contains(&missing.display().to_string()),
            "{error}"
        );
    }

    #[test]
    fn a_bad_token_from_the_environment_names_the_env_key_without_showing_it() {
        let error = from_env_config("MATRIX_SPACED")
            .build_with_env(env)
            .expect_err("spaces");
        assert_eq!(error.key(), "access_token_env");
        assert!(!error.to_string().contains("SECRET"), "{error}");
    }

    #[test]
    fn tokens_that_cannot_travel_in_a_header_are_refused_without_being_shown() {
        for token in ["", "   ", "syt SECRET", "syt_SECRET\u{7}", "syt_SECRÉT"] {
            let config = MatrixConfig::new(
                "https://matrix.example.org",
                "!ops:example.org",
                Secret::new(token),
            );
            let error = config.build().unwrap_err();
            assert_eq!(error.key(), "access_token");
            assert!(!error.to_string().contains("SECR"), "{error}");
        }
        let padded = MatrixConfig::new(
            "https://matrix.example.org",
            "!ops:example.org",
            Secret::new(" syt_token\n"),
        );
        assert!(
            padded.build().is_ok(),
            "a trailing newline from a file is trimmed"
        );
    }

    #[test]
    fn room_ids_of_every_room_version_are_accepted_and_aliases_refused() {
        assert!(check_room_id("!ops:example.org").is_ok());
        assert!(check_room_id("!-XUwKa5VHWWg9iUQYtWsYERZFgrDrIVCK_I1b86GGVg").is_ok());
        for bad in [
            "#ops:example.org",
            "ops:example.org",
            "!",
            "",
            "!a b:example.org",
        ] {
            assert_eq!(
                check_room_id(bad).map_err(|e| e.key().to_owned()),
                Err("room_id".to_owned()),
                "{bad}"
            );
        }
        assert!(check_room_id(&format!("!{}", "a".repeat(255))).is_err());
    }

    #[test]
    fn plain_http_homeservers_are_only_allowed_on_loopback() {
        assert!(parse_homeserver("http://127.0.0.1:8008").is_ok());
        assert!(parse_homeserver("http://localhost:8008/").is_ok());
        assert!(parse_homeserver("http://[::1]:8008").is_ok());
        assert_eq!(
            parse_homeserver("https://example.org/matrix/").as_deref(),
            Ok("https://example.org/matrix")
        );
        for bad in [
            "http://matrix.example.org",
            "matrix.example.org",
            "ftp://127.0.0.1",
            "https://matrix.example.org/?x=1",
            "https://bot:pw@matrix.example.org",
        ] {
            assert_eq!(
                parse_homeserver(bad).map_err(|e| e.key().to_owned()),
                Err("homeserver".to_owned()),
                "{bad}"
            );
        }
    }

    #[test]
    fn msgtype_and_timeout_are_checked() {
        let base = || {
            MatrixConfig::new(
                "https://matrix.example.org",
                "!ops:example.org",
                Secret::new("t"),
            )
        };
        let mut text = base();
        text.msgtype = Some("m.text".into());
        assert_eq!(text.build().map(|p| p.msgtype()), Ok(MsgType::Text));
        let mut image = base();
        image.msgtype = Some("m.image".into());
        assert_eq!(image.build().unwrap_err().key(), "msgtype");
        for secs in [0, 301] {
            let mut timeout = base();
            timeout.timeout_secs = secs;
            assert_eq!(timeout.build().unwrap_err().key(), "timeout_secs");
        }
    }
}

//! What adapters share about their configuration: one error shape, [`ConfigError`], that names
//! the key at fault and says what kind of problem it is.

use std::fmt;

/// What kind of configuration problem a [`ConfigError`] is.
///
/// ```
/// use stripe_chat_message::{ConfigError, ConfigErrorKind};
/// assert_eq!(ConfigError::missing("channel", "the channel id to post in").kind(), ConfigErrorKind::Missing);
/// assert_eq!(ConfigErrorKind::Unset.as_str(), "unset");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// A required key is not set.
    Missing,
    /// Keys that exclude each other are set together (`token` and `token_env`).
    Conflict,
    /// A value that cannot work (not a URL, out of range, not a Discord webhook).
    Invalid,
    /// The environment variable a `*_env` key names is unset or blank.
    Unset,
    /// The file a `*_file` key names cannot be read, or is empty.
    Unreadable,
}

impl ConfigErrorKind {
    /// The lowercase name.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::ConfigErrorKind::Conflict.as_str(), "conflict");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigErrorKind::Missing => "missing",
            ConfigErrorKind::Conflict => "conflict",
            ConfigErrorKind::Invalid => "invalid",
            ConfigErrorKind::Unset => "unset",
            ConfigErrorKind::Unreadable => "unreadable",
        }
    }
}

impl fmt::Display for ConfigErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A configuration that cannot work: which key, what kind of problem, and what is wrong, in words
/// that never quote a secret.
///
/// Adapters name their own keys (`token_env`); whoever knows where the adapter's settings sit puts
/// the path in front with [`ConfigError::within`] (`destinations[2] "ops".token_env`). `Display`
/// is `key: problem`, or the problem alone when no key is at fault.
///
/// ```
/// use stripe_chat_message::{ConfigError, ConfigErrorKind};
///
/// let error = ConfigError::unset("token_env", "SLACK_BOT_TOKEN");
/// assert_eq!(error.kind(), ConfigErrorKind::Unset);
/// assert_eq!(error.to_string(), "token_env: the environment variable SLACK_BOT_TOKEN is not set or is empty");
///
/// let error = error.within("destinations[2] \"ops\"");
/// assert_eq!(error.key(), "destinations[2] \"ops\".token_env");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", Shown(self))]
pub struct ConfigError {
    kind: ConfigErrorKind,
    key: String,
    problem: String,
}

/// `key: problem`, or `problem` when there is no key.
struct Shown<'a>(&'a ConfigError);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.key.as_str() {
            "" => f.write_str(&self.0.problem),
            key => write!(f, "{key}: {}", self.0.problem),
        }
    }
}

impl ConfigError {
    /// A problem of `kind` with `key` (`""` when no single key is at fault).
    ///
    /// ```
    /// use stripe_chat_message::{ConfigError, ConfigErrorKind};
    /// let e = ConfigError::new(ConfigErrorKind::Invalid, "timeout_secs", "must be 1 to 300 seconds");
    /// assert_eq!(e.to_string(), "timeout_secs: must be 1 to 300 seconds");
    /// ```
    pub fn new(kind: ConfigErrorKind, key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError {
            kind,
            key: key.into(),
            problem: problem.into(),
        }
    }

    /// `key` is required and not set; `what` says what it should hold.
    ///
    /// ```
    /// let e = stripe_chat_message::ConfigError::missing("room_id", "the room to post in");
    /// assert_eq!(e.to_string(), "room_id: missing (the room to post in)");
    /// ```
    pub fn missing(key: impl Into<String>, what: impl fmt::Display) -> Self {
        ConfigError::new(ConfigErrorKind::Missing, key, format!("missing ({what})"))
    }

    /// `key`'s value cannot work.
    ///
    /// ```
    /// let e = stripe_chat_message::ConfigError::invalid("msgtype", "must be m.notice or m.text");
    /// assert_eq!(e.to_string(), "msgtype: must be m.notice or m.text");
    /// ```
    pub fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError::new(ConfigErrorKind::Invalid, key, problem)
    }

    /// `key` is set together with `other`, which it excludes.
    ///
    /// ```
    /// let e = stripe_chat_message::ConfigError::conflict("token", "token_env");
    /// assert_eq!(e.to_string(), "token: set only one of token and token_env");
    /// ```
    pub fn conflict(key: impl Into<String>, other: &str) -> Self {
        let key = key.into();
        let problem = format!("set only one of {key} and {other}");
        ConfigError::new(ConfigErrorKind::Conflict, key, problem)
    }

    /// The environment variable `variable`, named by `key`, is unset or blank.
    ///
    /// ```
    /// use stripe_chat_message::{ConfigError, ConfigErrorKind};
    /// assert_eq!(ConfigError::unset("url_env", "HOOK_URL").kind(), ConfigErrorKind::Unset);
    /// ```
    pub fn unset(key: impl Into<String>, variable: &str) -> Self {
        ConfigError::new(
            ConfigErrorKind::Unset,
            key,
            format!("the environment variable {variable} is not set or is empty"),
        )
    }

    /// The same error, for settings that sit under `prefix`: the key becomes `prefix.key` (or
    /// `prefix` when no key was named).
    ///
    /// ```
    /// let e = stripe_chat_message::ConfigError::invalid("", "unknown field `chanel`").within("slack");
    /// assert_eq!(e.to_string(), "slack: unknown field `chanel`");
    /// ```
    pub fn within(mut self, prefix: &str) -> Self {
        self.key = match (prefix, self.key.as_str()) {
            ("", _) => self.key,
            (_, "") => prefix.to_owned(),
            (_, key) => format!("{prefix}.{key}"),
        };
        self
    }

    /// What kind of problem it is.
    ///
    /// ```
    /// use stripe_chat_message::{ConfigError, ConfigErrorKind};
    /// assert_eq!(ConfigError::conflict("a", "b").kind(), ConfigErrorKind::Conflict);
    /// ```
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// The key at fault (`""` when none is).
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::ConfigError::invalid("path", "is empty").key(), "path");
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What is wrong, without the key.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::ConfigError::invalid("path", "is empty").problem(), "is empty");
    /// ```
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

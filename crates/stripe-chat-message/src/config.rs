//! What adapters share about their configuration: one error shape, [`ConfigError`], that names
//! the key at fault and says what kind of problem it is, and one way to take a secret from the
//! configuration, the environment or a file, [`SecretSource`].

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::Secret;

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

/// The most of a `*_file` that is read: a secret is a line, not a document.
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Where a secret setting takes its value from: written in the configuration (`token`), in an
/// environment variable (`token_env`), or in a file (`token_file`, as Docker and Kubernetes mount
/// secrets). Every adapter reads its secrets through this one type, so they all accept the same
/// three keys and report problems the same way.
///
/// The value read is trimmed (a file's trailing newline goes). Errors name the key and the
/// variable or file, never the value; `Debug` shows where the secret comes from, never the
/// secret.
///
/// ```
/// use std::path::Path;
/// use stripe_chat_message::{ConfigErrorKind, Secret, SecretSource};
///
/// let env = |name: &str| (name == "SLACK_BOT_TOKEN").then(|| "xoxb-1-abc\n".to_owned());
/// let source = SecretSource::from_keys("token", None, Some("SLACK_BOT_TOKEN"), None)?.expect("one key set");
/// assert_eq!(source.read("token", &env)?.expose(), "xoxb-1-abc");
/// assert_eq!(source.key_for("token"), "token_env");
///
/// let missing = SecretSource::File("/run/secrets/nope".into()).read("token", &env).unwrap_err();
/// assert_eq!(missing.kind(), ConfigErrorKind::Unreadable);
/// assert!(missing.to_string().starts_with("token_file: cannot read /run/secrets/nope"));
///
/// let both = SecretSource::from_keys("token", Some(&Secret::new("x")), Some("T"), None).unwrap_err();
/// assert_eq!(both.kind(), ConfigErrorKind::Conflict);
/// # Ok::<(), stripe_chat_message::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretSource {
    /// Written in the configuration.
    Value(Secret),
    /// In the environment variable of this name.
    Env(String),
    /// In the file at this path.
    File(PathBuf),
}

impl SecretSource {
    /// The source that a secret setting's keys name: `key` (the value), `{key}_env` (a variable's
    /// name) or `{key}_file` (a path). `None` when none of them is set.
    ///
    /// # Errors
    /// [`Conflict`](ConfigErrorKind::Conflict) when more than one is set,
    /// [`Invalid`](ConfigErrorKind::Invalid) when the one set is blank.
    ///
    /// ```
    /// use stripe_chat_message::SecretSource;
    /// assert_eq!(SecretSource::from_keys("secret", None, None, None)?, None);
    /// let error = SecretSource::from_keys("secret", None, Some(" "), None).unwrap_err();
    /// assert_eq!(error.to_string(), "secret_env: is empty (the name of an environment variable)");
    /// # Ok::<(), stripe_chat_message::ConfigError>(())
    /// ```
    pub fn from_keys(
        key: &str,
        value: Option<&Secret>,
        env: Option<&str>,
        file: Option<&Path>,
    ) -> Result<Option<Self>, ConfigError> {
        let env_key = format!("{key}_env");
        let file_key = format!("{key}_file");
        let set: Vec<&str> = [
            (key, value.is_some()),
            (env_key.as_str(), env.is_some()),
            (file_key.as_str(), file.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
        .collect();
        if let [first, second, ..] = set.as_slice() {
            return Err(ConfigError::conflict(*first, second));
        }
        Ok(match (value, env, file) {
            (Some(value), _, _) if value.expose().trim().is_empty() => {
                return Err(ConfigError::invalid(key, "is empty"));
            }
            (Some(value), _, _) => Some(SecretSource::Value(value.clone())),
            (_, Some(name), _) if name.trim().is_empty() => {
                return Err(ConfigError::invalid(
                    env_key,
                    "is empty (the name of an environment variable)",
                ));
            }
            (_, Some(name), _) => Some(SecretSource::Env(name.trim().to_owned())),
            (_, _, Some(path)) if path.as_os_str().is_empty() => {
                return Err(ConfigError::invalid(
                    file_key,
                    "is empty (the path of a file)",
                ));
            }
            (_, _, Some(path)) => Some(SecretSource::File(path.to_owned())),
            (None, None, None) => None,
        })
    }

    /// The key this source was given by, for the setting `key`: `key`, `{key}_env` or
    /// `{key}_file`. A value that is read but unusable is reported under it.
    ///
    /// ```
    /// let source = stripe_chat_message::SecretSource::File("/run/secrets/hook".into());
    /// assert_eq!(source.key_for("url"), "url_file");
    /// ```
    pub fn key_for(&self, key: &str) -> String {
        match self {
            SecretSource::Value(_) => key.to_owned(),
            SecretSource::Env(_) => format!("{key}_env"),
            SecretSource::File(_) => format!("{key}_file"),
        }
    }

    /// The secret, trimmed, looking variables up through `env` and reading files from disk.
    ///
    /// # Errors
    /// Under the key it was given by ([`SecretSource::key_for`]):
    /// [`Unset`](ConfigErrorKind::Unset) naming the variable when it is unset or blank;
    /// [`Unreadable`](ConfigErrorKind::Unreadable) naming the file when it cannot be read, is
    /// empty, or is larger than 64 KiB; [`Invalid`](ConfigErrorKind::Invalid) when the value is
    /// blank. None shows the value.
    ///
    /// ```
    /// use stripe_chat_message::{ConfigErrorKind, SecretSource};
    /// let error = SecretSource::Env("HOOK_SECRET".into()).read("secret", &|_: &str| None).unwrap_err();
    /// assert_eq!(error.kind(), ConfigErrorKind::Unset);
    /// assert_eq!(error.key(), "secret_env");
    /// ```
    pub fn read(
        &self,
        key: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Secret, ConfigError> {
        let key = self.key_for(key);
        match self {
            SecretSource::Value(value) => match value.expose().trim() {
                "" => Err(ConfigError::invalid(key, "is empty")),
                trimmed => Ok(Secret::new(trimmed)),
            },
            SecretSource::Env(name) => env(name)
                .filter(|value| !value.trim().is_empty())
                .map(|value| Secret::new(value.trim()))
                .ok_or_else(|| ConfigError::unset(key, name)),
            SecretSource::File(path) => read_secret_file(path).map_err(|problem| {
                ConfigError::new(
                    ConfigErrorKind::Unreadable,
                    key,
                    format!("cannot read {}: {problem}", path.display()),
                )
            }),
        }
    }
}

/// The trimmed content of the secret file at `path`, or what is wrong with it (never its content).
fn read_secret_file(path: &Path) -> Result<Secret, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut text = String::new();
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(format!(
            "larger than {} KiB, which no secret is",
            MAX_SECRET_FILE_BYTES / 1024
        ));
    }
    match text.trim() {
        "" => Err("the file is empty".to_owned()),
        secret => Ok(Secret::new(secret)),
    }
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Value(value) => f.debug_tuple("Value").field(value).finish(),
            SecretSource::Env(name) => f.debug_tuple("Env").field(name).finish(),
            SecretSource::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

/// A duration as the configuration and the command line write it: one or more
/// `<number><unit>`, with units from `s`, `m`, `h`, `d` and `w` up to `months` and `years`, spaces
/// allowed between parts (`90s`, `15m`, `1h30m`, `1.5h`, `7d`, `1w`, `2h 30min`) — `humantime`'s
/// grammar, in whole seconds; `None` for anything else (a bare number, a part of a second, a
/// negative). Every
/// duration the project reads uses this one parser.
///
/// ```
/// use std::time::Duration;
/// use stripe_chat_message::parse_duration;
/// assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
/// assert_eq!(parse_duration("1w"), Some(Duration::from_secs(7 * 86_400)));
/// assert_eq!(parse_duration("90"), None);
/// ```
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let parsed = humantime::parse_duration(text.trim()).ok()?;
    (parsed.subsec_nanos() == 0).then_some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_secret_file_is_read_with_its_trailing_newline_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "xoxb-from-a-file\n").unwrap();
        let secret = SecretSource::File(path).read("token", &no_env).unwrap();
        assert_eq!(secret.expose(), "xoxb-from-a-file");
    }

    #[test]
    fn an_unreadable_or_empty_file_is_named_and_its_content_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, " \n").unwrap();
        let huge = dir.path().join("huge");
        std::fs::write(&huge, "s3cr3t".repeat(20_000)).unwrap();
        for (path, problem) in [
            (dir.path().join("missing"), "No such file"),
            (empty, "the file is empty"),
            (huge, "larger than 64 KiB"),
            (dir.path().to_path_buf(), "directory"),
        ] {
            let error = SecretSource::File(path.clone())
                .read("webhook_url", &no_env)
                .unwrap_err();
            assert_eq!(error.kind(), ConfigErrorKind::Unreadable);
            assert_eq!(error.key(), "webhook_url_file");
            let shown = error.to_string();
            assert!(shown.contains(&path.display().to_string()), "{shown}");
            assert!(shown.contains(problem), "{shown}");
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
    }

    #[test]
    fn a_blank_variable_counts_as_unset() {
        let env = |_: &str| Some("  \n".to_owned());
        let error = SecretSource::Env("TOKEN".into())
            .read("token", &env)
            .unwrap_err();
        assert_eq!(error.kind(), ConfigErrorKind::Unset);
        assert!(error.problem().contains("TOKEN"), "{error}");
    }

    #[test]
    fn exactly_one_of_the_three_keys_may_be_set() {
        let value = Secret::new("v");
        let file = Path::new("/run/secrets/v");
        for (value, env, file, first, second) in [
            (Some(&value), Some("V"), None, "secret", "secret_env"),
            (Some(&value), None, Some(file), "secret", "secret_file"),
            (None, Some("V"), Some(file), "secret_env", "secret_file"),
        ] {
            let error = SecretSource::from_keys("secret", value, env, file).unwrap_err();
            assert_eq!(error.kind(), ConfigErrorKind::Conflict);
            assert_eq!(error.key(), first);
            assert!(error.problem().contains(second), "{error}");
        }
    }

    #[test]
    fn debug_shows_where_a_secret_comes_from_never_the_secret() {
        let shown = format!("{:?}", SecretSource::Value(Secret::new("s3cr3t")));
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert_eq!(
            format!("{:?}", SecretSource::Env("TOKEN".into())),
            "Env(\"TOKEN\")"
        );
    }

    #[test]
    fn within_puts_the_path_in_front_of_the_key() {
        let error = ConfigError::missing("path", "a file").within("destinations[0] \"log\"");
        assert_eq!(
            error.to_string(),
            "destinations[0] \"log\".path: missing (a file)"
        );
        let whole = ConfigError::invalid("", "unknown field `x`").within("slack");
        assert_eq!(whole.key(), "slack");
    }
}

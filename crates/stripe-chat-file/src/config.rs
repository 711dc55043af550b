//! The file destination's configuration, validated once by [`FileConfig::build`].

use std::path::{Path, PathBuf};

use serde::Deserialize;
use stripe_chat_message::ConfigError;

use crate::provider::FileProvider;
use crate::record::FileFormat;

/// Where and how to append messages.
///
/// Read from a configuration file (unknown keys are refused) or built in code with
/// [`FileConfig::new`] and the setters; [`FileConfig::build`] checks it and gives the
/// [`FileProvider`].
///
/// ```
/// use stripe_chat_file::{FileConfig, FileFormat};
///
/// let config: FileConfig = toml::from_str(r#"
/// path = "/var/lib/stripe-chat/messages.jsonl"
/// fsync = true
/// "#)?;
/// assert_eq!(config.format, FileFormat::Message);
/// assert!(config.fsync);
///
/// let same = FileConfig::new("/var/lib/stripe-chat/messages.jsonl").fsync(true);
/// assert_eq!(config, same);
/// assert!(toml::from_str::<FileConfig>("path = \"a.jsonl\"\nformatt = \"message\"").is_err());
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The file lines are appended to. Missing parent directories are created on the first write.
    pub path: PathBuf,
    /// What each line holds (only [`FileFormat::Message`] today).
    #[serde(default)]
    pub format: FileFormat,
    /// Whether each line is forced to the disk (`fdatasync`) before `send` returns. Off by default:
    /// the line is then in the operating system's cache, which survives a crash of stripe-chat but
    /// not of the machine.
    #[serde(default)]
    pub fsync: bool,
}

impl FileConfig {
    /// Appends to `path`, one neutral message per line, without `fsync`.
    ///
    /// ```
    /// let config = stripe_chat_file::FileConfig::new("messages.jsonl");
    /// assert!(!config.fsync);
    /// ```
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileConfig {
            path: path.into(),
            format: FileFormat::Message,
            fsync: false,
        }
    }

    /// Sets whether each line is forced to the disk before `send` returns.
    ///
    /// ```
    /// assert!(stripe_chat_file::FileConfig::new("m.jsonl").fsync(true).fsync);
    /// ```
    pub fn fsync(mut self, fsync: bool) -> Self {
        self.fsync = fsync;
        self
    }

    /// Sets what each line holds.
    ///
    /// ```
    /// use stripe_chat_file::{FileConfig, FileFormat};
    /// assert_eq!(FileConfig::new("m.jsonl").format(FileFormat::Message).format, FileFormat::Message);
    /// ```
    pub fn format(mut self, format: FileFormat) -> Self {
        self.format = format;
        self
    }

    /// Checks the configuration and gives the provider. The path must name a file: not empty, not
    /// ending with a separator, `.` or `..`. No file is touched; a path that cannot be written is
    /// reported by the first `send`, with its kind.
    ///
    /// ```
    /// use stripe_chat_file::FileConfig;
    /// assert!(FileConfig::new("audit/messages.jsonl").build().is_ok());
    /// assert_eq!(FileConfig::new("audit/").build().unwrap_err().key(), "path");
    /// assert!(FileConfig::new("audit/..").build().is_err());
    /// ```
    pub fn build(&self) -> Result<FileProvider, ConfigError> {
        check_path(&self.path)?;
        Ok(FileProvider::from_checked(
            self.path.clone(),
            self.format,
            self.fsync,
        ))
    }
}

fn check_path(path: &Path) -> Result<(), ConfigError> {
    let text = path.as_os_str();
    if text.is_empty() {
        return Err(ConfigError::invalid("path", "is empty"));
    }
    let lossy = text.to_string_lossy();
    if lossy.ends_with('/') || lossy.ends_with(std::path::MAIN_SEPARATOR) {
        return Err(ConfigError::invalid(
            "path",
            format!(
                "{lossy:?} names a directory; name the file to append to (e.g. {lossy}messages.jsonl)"
            ),
        ));
    }
    if path.file_name().is_none() {
        return Err(ConfigError::invalid(
            "path",
            format!("{lossy:?} does not name a file"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_defaults_to_the_neutral_message() {
        let config: FileConfig = serde_json::from_str(r#"{"path": "m.jsonl"}"#).unwrap();
        assert_eq!(config, FileConfig::new("m.jsonl"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = serde_json::from_str::<FileConfig>(r#"{"path": "m.jsonl", "sync": true}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown field `sync`"), "{error}");
    }

    #[test]
    fn a_path_naming_a_directory_is_refused_with_its_key() {
        for path in ["", "logs/", "/", ".", "logs/.."] {
            let error = FileConfig::new(path).build().unwrap_err();
            assert_eq!(error.key(), "path", "{path}");
        }
    }
}

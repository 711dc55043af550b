//! [`FileProvider`]: the [`ChatProvider`] that appends lines.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use stripe_chat_message::{
    Capabilities, ChatMessage, ChatProvider, DeliveryError, IdempotencyKey, MessageRef,
    RenderError, Renderer, async_trait,
};

use crate::append::Appender;
use crate::record::{FileFormat, LineOut, now_rfc3339};

/// The platform name of the file destination, as in its [`MessageRef`]s.
///
/// ```
/// assert_eq!(stripe_chat_file::PLATFORM, "file");
/// ```
pub const PLATFORM: &str = "file";

/// Appends each message, reply and update as one JSON line ([`Record`](crate::Record)) to a file.
///
/// Built by [`FileConfig::build`](crate::FileConfig::build). `send` returns
/// `MessageRef { provider: "file", channel: <path>, id: <line id> }`; replies carry
/// `thread_root`; `update` appends a line whose `update_of` is the replaced line's id.
///
/// Needs no Tokio features beyond `rt`: the write runs on Tokio's blocking pool when called inside a
/// Tokio runtime, and in place otherwise.
///
/// ```
/// use stripe_chat_file::{FileConfig, Record};
/// use stripe_chat_message::{ChatMessage, ChatProvider, IdempotencyKey};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("audit/messages.jsonl");
/// let file = FileConfig::new(&path).build()?;
///
/// let key = IdempotencyKey::new("evt_1NG8Du2eZvKYlo2CUI79vXWy", "log");
/// let sent = file.send(&ChatMessage::new("Payment failed"), None, &key).await?;
/// let reply = file.send(&ChatMessage::new("Retry scheduled"), Some(&sent), &key).await?;
/// file.update(&sent, &ChatMessage::new("Payment failed, then paid"), &key).await?;
/// assert_eq!(reply.thread_root.as_deref(), Some(sent.id.as_str()));
///
/// let text = std::fs::read_to_string(&path)?;
/// let lines: Vec<Record> = text.lines().map(Record::parse).collect::<Result<_, _>>()?;
/// assert_eq!(lines.len(), 3);
/// assert_eq!(lines[0].id, sent.id);
/// assert_eq!(lines[1].thread_root.as_deref(), Some(sent.id.as_str()));
/// assert_eq!(lines[2].update_of.as_deref(), Some(sent.id.as_str()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct FileProvider {
    path: Arc<PathBuf>,
    format: FileFormat,
    fsync: bool,
    /// The open file, shared by clones. Held from the look at the file's end to the end of the
    /// write, so that this provider's (and its clones') own writes in flight never look like a
    /// torn line to each other.
    appender: Arc<std::sync::Mutex<Appender>>,
}

impl FileProvider {
    pub(crate) fn from_checked(path: PathBuf, format: FileFormat, fsync: bool) -> Self {
        FileProvider {
            path: Arc::new(path),
            format,
            fsync,
            appender: Arc::default(),
        }
    }

    /// The file lines are appended to.
    ///
    /// ```
    /// let file = stripe_chat_file::FileConfig::new("m.jsonl").build()?;
    /// assert_eq!(file.path(), std::path::Path::new("m.jsonl"));
    /// # Ok::<(), stripe_chat_file::ConfigError>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one line whose id is `key` and whose `message` is `message` (a [`ChatMessage`] or
    /// its JSON).
    async fn write<M: Serialize>(
        &self,
        key: &IdempotencyKey,
        message: &M,
        thread_root: Option<&str>,
        update_of: Option<&str>,
    ) -> Result<(), DeliveryError> {
        let line = match self.format {
            FileFormat::Message => LineOut {
                written_at: now_rfc3339(),
                id: key.as_str(),
                thread_root,
                update_of,
                message,
            }
            .to_line(),
        }
        .map_err(|e| DeliveryError::permanent("file: cannot encode the message").with_source(e))?;

        let path = Arc::clone(&self.path);
        let fsync = self.fsync;
        let appender = Arc::clone(&self.appender);
        let append = move || {
            appender
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .append(&path, &line, fsync)
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime.spawn_blocking(append).await.map_err(|e| {
                DeliveryError::transient("file: the write task did not finish").with_source(e)
            })??,
            Err(_) => append()?,
        }
        Ok(())
    }

    /// A message or a reply, keyed `key`.
    async fn post<M: Serialize>(
        &self,
        message: &M,
        thread: Option<&MessageRef>,
        key: &IdempotencyKey,
    ) -> Result<MessageRef, DeliveryError> {
        let sent = match thread {
            None => {
                self.write(key, message, None, None).await?;
                MessageRef::new(PLATFORM, key.as_str())
            }
            Some(thread) => {
                let root = addressed(thread, "reply in the thread of")?.thread_id();
                self.write(key, message, Some(root), None).await?;
                MessageRef::new(PLATFORM, key.as_str()).in_thread(root)
            }
        };
        Ok(sent.in_channel(self.channel()))
    }

    /// A line replacing `at`, keyed `key`.
    async fn replace<M: Serialize>(
        &self,
        at: &MessageRef,
        message: &M,
        key: &IdempotencyKey,
    ) -> Result<(), DeliveryError> {
        let at = addressed(at, "update")?;
        self.write(key, message, at.thread_root.as_deref(), Some(&at.id))
            .await
    }

    fn channel(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }
}

fn addressed<'r>(at: &'r MessageRef, operation: &str) -> Result<&'r MessageRef, DeliveryError> {
    if at.provider != PLATFORM {
        return Err(DeliveryError::permanent(format!(
            "file: cannot {operation} a {} message",
            at.provider
        )));
    }
    if !at.can_be_addressed() {
        return Err(DeliveryError::permanent(format!(
            "file: cannot {operation} a message without id"
        )));
    }
    Ok(at)
}

impl Renderer for FileProvider {
    fn platform(&self) -> &str {
        PLATFORM
    }

    /// The neutral message as JSON: the `message` member of each line.
    fn render(&self, message: &ChatMessage) -> Result<serde_json::Value, RenderError> {
        serde_json::to_value(message).map_err(|e| RenderError::Invalid(e.to_string()))
    }
}

#[async_trait]
impl ChatProvider for FileProvider {
    /// The file lines are appended to.
    fn local_path(&self) -> Option<&Path> {
        Some(&self.path)
    }

    /// Updates and threads (as records), link buttons (kept in the message); nobody clicks a file.
    fn capabilities(&self) -> Capabilities {
        Capabilities::FULL.with_interactive(false)
    }

    /// Writes `body` (the message as JSON) as a line whose id is `key`.
    async fn send_raw(
        &self,
        body: serde_json::Value,
        thread: Option<&MessageRef>,
        key: &IdempotencyKey,
    ) -> Result<MessageRef, DeliveryError> {
        self.post(&body, thread, key).await
    }

    /// Writes a line replacing `at`, whose id is `key`.
    async fn update_raw(
        &self,
        at: &MessageRef,
        body: serde_json::Value,
        key: &IdempotencyKey,
    ) -> Result<(), DeliveryError> {
        self.replace(at, &body, key).await
    }

    /// As the provided `send`, writing the message without making a JSON value of it first: a
    /// file has no limits to check, and this is the service's busiest destination.
    async fn send(
        &self,
        message: &ChatMessage,
        thread: Option<&MessageRef>,
        key: &IdempotencyKey,
    ) -> Result<MessageRef, DeliveryError> {
        match thread {
            Some(root) => self.post(message, thread, &key.reply_in(root)).await,
            None => self.post(message, None, key).await,
        }
    }

    /// As the provided `update`, writing the message without making a JSON value of it first.
    async fn update(
        &self,
        at: &MessageRef,
        message: &ChatMessage,
        key: &IdempotencyKey,
    ) -> Result<(), DeliveryError> {
        self.replace(at, message, &key.update_of(at)).await
    }
}

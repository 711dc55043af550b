//! One line of the file: its envelope, its id, and how to read lines back.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use stripe_chat_message::ChatMessage;
use stripe_chat_message::text::format_rfc3339;

/// What each line of the file holds.
///
/// ```
/// use stripe_chat_file::FileFormat;
/// assert_eq!(FileFormat::default(), FileFormat::Message);
/// let parsed: FileFormat = serde_json::from_str("\"message\"")?;
/// assert_eq!(parsed, FileFormat::Message);
/// assert!(serde_json::from_str::<FileFormat>("\"slack\"").is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FileFormat {
    /// The provider-neutral message (as JSON) in an envelope: `written_at`, `id`, `thread_root`,
    /// `update_of`, `message`. See [`Record`](crate::Record).
    #[default]
    Message,
}

/// One line of the file, as written by [`FileProvider`](crate::FileProvider): the envelope and the
/// neutral message.
///
/// ```text
/// {"written_at":"2026-10-01T09:30:00.123Z","id":"evt_1NG8Du2eZvKYlo2CUI79vXWy.log","thread_root":null,"update_of":null,"message":{…}}
/// ```
///
/// - `written_at`: when the line was written, RFC 3339 UTC with milliseconds.
/// - `id`: the line's id, also the [`MessageRef`](stripe_chat_message::MessageRef) id `send`
///   returns: the delivery's [`IdempotencyKey`](stripe_chat_message::IdempotencyKey), from the
///   Stripe event, the destination and what the line is (a new message, a reply in a thread, an
///   update of a line), so a retried write repeats the same id: readers deduplicate on it.
/// - `thread_root`: for a reply, the id of the thread's first line.
/// - `update_of`: for an update, the id of the line it replaces.
/// - `message`: the [`ChatMessage`] as JSON.
///
/// ```
/// use stripe_chat_file::Record;
/// let line = r#"{"written_at":"2026-10-01T09:30:00.123Z","id":"fl-1","thread_root":null,"update_of":"fl-0","message":{"title":"Invoice paid"}}"#;
/// let record = Record::parse(line)?;
/// assert_eq!(record.update_of.as_deref(), Some("fl-0"));
/// assert_eq!(record.message.title, "Invoice paid");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// When the line was written (RFC 3339, UTC, milliseconds).
    pub written_at: String,
    /// The line's id.
    pub id: String,
    /// The id of the thread's first line, for a reply.
    pub thread_root: Option<String>,
    /// The id of the line this one replaces, for an update.
    pub update_of: Option<String>,
    /// The neutral message.
    pub message: ChatMessage,
}

impl Record {
    /// Parses one line (without or with its trailing newline).
    ///
    /// ```
    /// assert!(stripe_chat_file::Record::parse("{\"written_at\":").is_err());
    /// ```
    pub fn parse(line: &str) -> Result<Record, serde_json::Error> {
        serde_json::from_str(line)
    }
}

/// The records of a file's contents, in order, skipping blank lines. A line that does not parse
/// (only possible as the torn last write of a crash, see the crate documentation) is an `Err` that
/// readers skip or report.
///
/// ```
/// let text = "{\"written_at\":\"2026-10-01T09:30:00.000Z\",\"id\":\"fl-1\",\"thread_root\":null,\"update_of\":null,\"message\":{\"title\":\"a\"}}\n\n{\"writ\n";
/// let records: Vec<_> = stripe_chat_file::records(text).collect();
/// assert_eq!(records.len(), 2);
/// assert_eq!(records[0].as_ref().map(|r| r.id.as_str()).ok(), Some("fl-1"));
/// assert!(records[1].is_err());
/// ```
pub fn records(text: &str) -> impl Iterator<Item = Result<Record, serde_json::Error>> + '_ {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(Record::parse)
}

/// The envelope as written (borrowing the message).
#[derive(Serialize)]
pub(crate) struct LineOut<'a, M> {
    pub(crate) written_at: String,
    pub(crate) id: &'a str,
    pub(crate) thread_root: Option<&'a str>,
    pub(crate) update_of: Option<&'a str>,
    /// The message, or its JSON.
    pub(crate) message: &'a M,
}

impl<M: Serialize> LineOut<'_, M> {
    /// The line, with its newline. JSON escapes every control character inside strings, so the only
    /// newline is the last byte.
    pub(crate) fn to_line(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut line = serde_json::to_vec(self)?;
        line.push(b'\n');
        Ok(line)
    }
}

/// Now as RFC 3339 UTC with milliseconds (`2026-10-01T09:30:00.123Z`).
pub(crate) fn now_rfc3339() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let base = format_rfc3339(seconds);
    let base = base.strip_suffix('Z').unwrap_or(&base);
    format!("{base}.{:03}Z", now.subsec_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_at_is_rfc3339_with_milliseconds() {
        let t = now_rfc3339();
        assert_eq!(t.len(), "2026-10-01T09:30:00.123Z".len(), "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[19] == b'.', "{t}");
    }

    #[test]
    fn a_line_is_one_line_whatever_the_message_holds() {
        let message = ChatMessage::new("two\nlines\r\u{2028}and a tab\t").summary("\n\n");
        let line = LineOut {
            written_at: now_rfc3339(),
            id: "evt_1.log",
            thread_root: None,
            update_of: None,
            message: &message,
        }
        .to_line()
        .unwrap();
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        assert_eq!(line.last(), Some(&b'\n'));
        let text = String::from_utf8(line).unwrap();
        assert_eq!(Record::parse(&text).unwrap().message, message);
    }
}

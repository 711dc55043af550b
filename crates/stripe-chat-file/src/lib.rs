//! The file destination of stripe-chat: each message is appended to a local file as one JSON line.
//!
//! It is the destination that needs no chat account: try stripe-chat end to end, keep an audit trail
//! of what was posted, or feed another tool that tails the file (`jq`, a log shipper).
//!
//! Main items:
//! - [`FileConfig`]: `path`, `format` (only `"message"`: the neutral message) and `fsync`;
//!   [`FileConfig::build`] checks it and gives a [`FileProvider`].
//! - [`FileProvider`]: a [`ChatProvider`](stripe_chat_message::ChatProvider) whose `send`, replies
//!   in a thread and `update` each append one line. [`Capabilities`](stripe_chat_message::Capabilities):
//!   everything but interactive buttons.
//! - [`Record`] and [`records`]: one line of the file, to read it back.
//!
//! # One line per write
//!
//! A line is `{"written_at": …, "id": …, "thread_root": …, "update_of": …, "message": {…}}` and a
//! newline (see [`Record`]). JSON escapes every newline inside strings, so a record is exactly one
//! line. Each line is written by a single `write` of one buffer on a file opened with `O_APPEND`,
//! and with `fsync = true` forced to the disk with `fdatasync` before `send` returns. The file
//! stays open between lines; before each line the path is looked at (one `stat`), and when it
//! names another file than the open one (the file was rotated by renaming it, or deleted), that
//! file is opened, or created: rotating the file by renaming it is safe, and so is truncating it
//! in place.
//!
//! What that guarantees, honestly:
//! - **Concurrent writers never interleave** on a regular file of a local file system (ext4, XFS,
//!   btrfs, tmpfs, APFS, ...), whatever the line's size: with `O_APPEND`, moving to the end and
//!   writing are one operation, and POSIX makes `write`s to a regular file atomic with respect to
//!   each other (Linux serialises them with the file's lock). This holds between tasks, threads and
//!   processes. `PIPE_BUF` (4 KiB) is the atomicity limit of pipes and FIFOs, not of regular files;
//!   the tests append 64 KiB lines from 8 tasks at once.
//! - **Not on network file systems**: NFS emulates `O_APPEND` on the client, so writers on different
//!   machines can overwrite each other. Give each machine its own file there.
//! - **A failed append leaves the file as it was.** A write that stops short (the disk filled up
//!   midway) is never continued (another writer's line could come first); with `fsync = true`, a
//!   line whose `fdatasync` fails counts as not written. Either way, what the write put in the
//!   file is cut off again (`ftruncate` back to where the line began) before `send` returns a
//!   transient error, and the retry appends the whole line once, with the same id. The line is
//!   cut off only if nothing follows it: the provider (and its clones) appends one line at a
//!   time, so only a writer outside it (another process, another destination on the same file)
//!   could have appended after it, and its line is never cut; then the fragment stays, and the
//!   error says so.
//! - **A crash can tear the last line**: a machine crash or a fatal signal in the middle of a
//!   large write can leave part of a line at the end of the file, with nobody left to cut it off.
//!   Any write that finds the file not ending with a newline starts with one, so a torn fragment
//!   stays alone on its line and never corrupts the next record (the last byte is read only when
//!   the file's length is not where the provider's own last line ended). A provider's own writes
//!   in flight are never taken for a torn line. Readers skip lines that do not parse
//!   ([`records`] yields them as errors).
//!
//! # Ids
//!
//! A line's id is the delivery's [`IdempotencyKey`](stripe_chat_message::IdempotencyKey), which
//! the caller derives from the Stripe event and the destination, with what the line is (a reply in
//! a thread and an update of a given line have keys of their own). Writing the same thing again
//! (a retry) repeats the id, so readers deduplicate on it.
//!
//! # Errors
//!
//! Failures are [`DeliveryError`](stripe_chat_message::DeliveryError)s naming the file:
//! - transient (retried later): disk full or over quota, short writes, `EIO` and other I/O errors
//!   without a more precise kind: an audit line should wait for space rather than be dropped;
//! - unauthorized: permission denied (fix the deployment, as for a revoked token);
//! - permanent: the path is a directory, goes through a file, is on a read-only file system, or the
//!   file is over its size limit (fix the configuration).
//!
//! ```
//! use stripe_chat_file::{FileConfig, records};
//! use stripe_chat_message::{ChatMessage, ChatProvider, IdempotencyKey, Source};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("stripe-chat/messages.jsonl");
//! let file = FileConfig::new(&path).fsync(true).build()?;
//!
//! let message = ChatMessage::new("Payment failed: 20.00 USD").source(Source {
//!     event_id: "evt_1NG8Du2eZvKYlo2CUI79vXWy".into(),
//!     event_type: "invoice.payment_failed".into(),
//!     livemode: false,
//! });
//! let key = IdempotencyKey::new("evt_1NG8Du2eZvKYlo2CUI79vXWy", "log");
//! let sent = file.send(&message, None, &key).await?;
//! assert_eq!(sent.provider, "file");
//! assert_eq!(sent.channel.as_deref(), path.to_str());
//!
//! // A retry of the same event writes the same id again: readers deduplicate on it.
//! assert_eq!(file.send(&message, None, &key).await?.id, sent.id);
//!
//! let text = std::fs::read_to_string(&path)?;
//! let lines: Vec<_> = records(&text).collect::<Result<_, _>>()?;
//! assert_eq!(lines.len(), 2);
//! assert_eq!(lines[0].message, message);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! This crate has no feature flags (and no HTTP client).
#![forbid(unsafe_code)]

mod append;
mod config;
mod factory;
mod provider;
mod record;

pub use config::FileConfig;
pub use factory::FileFactory;
pub use provider::{FileProvider, PLATFORM};
pub use record::{FileFormat, Record, records};
pub use stripe_chat_message::ConfigError;

//! The tamper-evident audit log of stripe-chat: who did what, to which Stripe object, and what came
//! of it — every action requested from chat (allowed, denied, confirmed, approved, performed,
//! failed) and every operator command that changes state (`dlq retry`, `replay`, `backfill`).
//!
//! How it holds up:
//! - **Append-only, hash-chained records** ([`Chain`], [`Record`]): each record's SHA-256 covers
//!   its number, the previous record's hash and its exact body, so editing, removing, inserting
//!   or swapping any record breaks the chain from there on.
//! - **Signed checkpoints** ([`Checkpoint`], [`SignedCheckpoint`]): every so many records or
//!   minutes the log's size and head hash are signed with an Ed25519 key kept outside the store
//!   ([`SignerKey`]), and may be posted to a chat destination. A chain alone cannot show that its
//!   tail was cut or that the whole log was rewritten; a checkpoint kept elsewhere can.
//! - **Verification** ([`verify`]) walks the records and the checkpoints and reports the first
//!   bad record ([`Problem`]); it needs only the public [`VerifierKey`].
//! - **In the store** ([`AuditLog`]): records and checkpoints live in the service's store
//!   (append-only rows; SQLite refuses `UPDATE` and `DELETE` on them), appended by every task,
//!   command and replica in one order.
//!
//! Records hold no card data and no secret; free text is limited to what a person typed (redacted
//! like a message) and short outcome sentences.
//!
//! ```
//! use stripe_chat_audit::{Actor, Chain, Checkpoint, Decision, Entry, SignerKey, verify};
//!
//! let key = SignerKey::generate("acme-audit")?;
//! let mut chain = Chain::new();
//! let mut log = Vec::new();
//! for decision in [Decision::Requested, Decision::Confirmed, Decision::Performed] {
//!     let entry = Entry::new(Actor::chat("slack", "T0123/U0456").person("ana"), "retry_payment", decision)
//!         .object("invoice/in_1")
//!         .amount(2000, "usd")
//!         .idempotency_key("sc-retry_payment-in_1-…");
//!     let record = chain.seal(&entry)?;
//!     chain.advance(&record);
//!     log.push(record);
//! }
//! let checkpoint = Checkpoint { origin: "acme".into(), size: chain.size(), head: chain.head() }.sign(&key);
//!
//! // Someone edits record 2 in the store…
//! log[1].body = log[1].body.replace("confirmed", "denied");
//! let report = verify(log, &[checkpoint], Some(&key.verifier()));
//! assert_eq!(report.problem.map(|p| p.first_bad_record()), Some(2));
//! # Ok::<(), stripe_chat_audit::AuditError>(())
//! ```
#![forbid(unsafe_code)]

mod chain;
mod entry;
mod log;
mod note;
mod verify;

pub use chain::{Chain, Hash, Record};
pub use entry::{Actor, Amount, Decision, Entry};
pub use log::{Appended, AuditLog, AuditLogError, CheckpointPolicy};
pub use note::{Checkpoint, SignedCheckpoint, SignerKey, VerifierKey};
pub use verify::{Problem, Verification, verify, verify_with};

/// What can go wrong reading or signing the log (its verification reports [`Problem`]s instead).
///
/// ```
/// let e = stripe_chat_audit::AuditError::Key { reason: "not base64".into() };
/// assert_eq!(e.to_string(), "audit key: not base64");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A stored record, checkpoint or hash cannot be read.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// Why it cannot be.
        reason: String,
    },
    /// A key cannot be read or made (the message never contains the key).
    #[error("audit key: {reason}")]
    Key {
        /// Why.
        reason: String,
    },
    /// A checkpoint's signature does not verify.
    #[error("the checkpoint at record {size} is not signed by the audit key")]
    BadSignature {
        /// The size the checkpoint states.
        size: u64,
    },
}

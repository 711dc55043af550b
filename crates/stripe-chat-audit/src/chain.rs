//! The hash chain: each record's hash covers its number, the previous record's hash and its exact
//! body, so changing, removing, inserting or swapping a record breaks every hash after it.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::{AuditError, Entry};

/// Domain separation: a record hash can never be mistaken for any other SHA-256 of ours.
const DOMAIN: &[u8] = b"stripe-chat audit record v1\n";

/// A SHA-256 hash, shown as 64 lowercase hex digits.
///
/// ```
/// use stripe_chat_audit::Hash;
/// let zero = Hash::GENESIS;
/// assert_eq!(zero.to_string(), "0".repeat(64));
/// assert_eq!(zero.to_string().parse::<Hash>()?, zero);
/// # Ok::<(), stripe_chat_audit::AuditError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The "previous hash" of the first record.
    pub const GENESIS: Hash = Hash([0; 32]);
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl FromStr for Hash {
    type Err = AuditError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| AuditError::Malformed {
            what: "hash",
            reason: "not 64 hex digits".into(),
        })?;
        Ok(Hash(bytes))
    }
}

/// One sealed record of the log, as stored: its number (from 1), the previous record's hash, its
/// own hash and its body (the [`Entry`] as canonical JSON, kept byte for byte).
///
/// ```
/// use stripe_chat_audit::{Actor, Chain, Decision, Entry};
/// let mut chain = Chain::new();
/// let record = chain.seal(&Entry::new(Actor::operator("root"), "replay", Decision::Performed).at_ms(1))?;
/// chain.advance(&record);
/// assert_eq!(record.seq, 1);
/// assert!(record.is_intact());
/// assert_eq!(record.entry()?.action, "replay");
/// # Ok::<(), stripe_chat_audit::AuditError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its place in the log, from 1, without gaps.
    pub seq: u64,
    /// The hash of record `seq - 1` ([`Hash::GENESIS`] for the first).
    pub prev_hash: Hash,
    /// Its own hash.
    pub hash: Hash,
    /// The entry as canonical JSON.
    pub body: String,
}

impl Record {
    /// The hash a record with these parts must have.
    ///
    /// ```
    /// use stripe_chat_audit::{Hash, Record};
    /// let a = Record::hash_of(1, &Hash::GENESIS, "{}");
    /// assert_ne!(a, Record::hash_of(2, &Hash::GENESIS, "{}"));
    /// ```
    pub fn hash_of(seq: u64, prev_hash: &Hash, body: &str) -> Hash {
        let mut hasher = Sha256::new();
        hasher.update(DOMAIN);
        hasher.update(seq.to_be_bytes());
        hasher.update(prev_hash.0);
        hasher.update(u64::try_from(body.len()).unwrap_or(u64::MAX).to_be_bytes());
        hasher.update(body.as_bytes());
        Hash(hasher.finalize().into())
    }

    /// Whether its hash matches its number, previous hash and body.
    ///
    /// ```
    /// use stripe_chat_audit::{Actor, Chain, Decision, Entry};
    /// let mut record = Chain::new().seal(&Entry::new(Actor::operator("x"), "a", Decision::Performed))?;
    /// record.body = record.body.replace("\"a\"", "\"b\"");
    /// assert!(!record.is_intact());
    /// # Ok::<(), stripe_chat_audit::AuditError>(())
    /// ```
    pub fn is_intact(&self) -> bool {
        Record::hash_of(self.seq, &self.prev_hash, &self.body) == self.hash
    }

    /// The entry it records.
    ///
    /// ```
    /// use stripe_chat_audit::{Actor, Chain, Decision, Entry};
    /// let record = Chain::new().seal(&Entry::new(Actor::operator("x"), "backfill", Decision::Performed))?;
    /// assert_eq!(record.entry()?.decision, Decision::Performed);
    /// # Ok::<(), stripe_chat_audit::AuditError>(())
    /// ```
    pub fn entry(&self) -> Result<Entry, AuditError> {
        serde_json::from_str(&self.body).map_err(|e| AuditError::Malformed {
            what: "record",
            reason: e.to_string(),
        })
    }

    /// The record as one JSON line for export: `seq`, `prev_hash`, `hash` and the entry's
    /// fields, so an exported log can be checked by anyone with SHA-256.
    ///
    /// ```
    /// use stripe_chat_audit::{Actor, Chain, Decision, Entry};
    /// let record = Chain::new().seal(&Entry::new(Actor::operator("x"), "replay", Decision::Performed))?;
    /// let line: serde_json::Value = serde_json::from_str(&record.to_json_line()?)?;
    /// assert_eq!(line["seq"], 1);
    /// assert_eq!(line["entry"]["action"], "replay");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_json_line(&self) -> Result<String, AuditError> {
        let entry: serde_json::Value =
            serde_json::from_str(&self.body).map_err(|e| AuditError::Malformed {
                what: "record",
                reason: e.to_string(),
            })?;
        Ok(serde_json::json!({
            "seq": self.seq,
            "prev_hash": self.prev_hash.to_string(),
            "hash": self.hash.to_string(),
            "entry": entry,
        })
        .to_string())
    }
}

/// Where the log stands: the next record's number and the last record's hash. Sealing is pure;
/// the caller stores the record (refused by the store if another writer appended first) and then
/// [`advance`](Chain::advance)s.
///
/// ```
/// use stripe_chat_audit::{Actor, Chain, Decision, Entry, Hash};
/// let mut chain = Chain::new();
/// assert_eq!((chain.size(), chain.head()), (0, Hash::GENESIS));
/// let first = chain.seal(&Entry::new(Actor::operator("x"), "a", Decision::Performed))?;
/// chain.advance(&first);
/// let second = chain.seal(&Entry::new(Actor::operator("x"), "b", Decision::Performed))?;
/// assert_eq!(second.prev_hash, first.hash);
/// # Ok::<(), stripe_chat_audit::AuditError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chain {
    size: u64,
    head: Hash,
}

impl Default for Chain {
    fn default() -> Self {
        Chain::new()
    }
}

impl Chain {
    /// An empty log.
    ///
    /// ```
    /// assert_eq!(stripe_chat_audit::Chain::new().size(), 0);
    /// ```
    pub fn new() -> Self {
        Chain {
            size: 0,
            head: Hash::GENESIS,
        }
    }

    /// The log whose last record is `last` (empty when `None`).
    ///
    /// ```
    /// use stripe_chat_audit::{Actor, Chain, Decision, Entry};
    /// let first = Chain::new().seal(&Entry::new(Actor::operator("x"), "a", Decision::Performed))?;
    /// assert_eq!(Chain::after(Some(&first)).size(), 1);
    /// # Ok::<(), stripe_chat_audit::AuditError>(())
    /// ```
    pub fn after(last: Option<&Record>) -> Self {
        match last {
            Some(record) => Chain {
                size: record.seq,
                head: record.hash,
            },
            None => Chain::new(),
        }
    }

    /// How many records the log has.
    ///
    /// ```
    /// assert_eq!(stripe_chat_audit::Chain::default().size(), 0);
    /// ```
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The last record's hash ([`Hash::GENESIS`] when empty).
    ///
    /// ```
    /// assert_eq!(stripe_chat_audit::Chain::new().head(), stripe_chat_audit::Hash::GENESIS);
    /// ```
    pub fn head(&self) -> Hash {
        self.head
    }

    /// The next record, holding `entry`.
    ///
    /// ```
    /// use stripe_chat_audit::{Actor, Chain, Decision, Entry};
    /// let record = Chain::new().seal(&Entry::new(Actor::operator("x"), "a", Decision::Performed))?;
    /// assert!(record.is_intact());
    /// # Ok::<(), stripe_chat_audit::AuditError>(())
    /// ```
    pub fn seal(&self, entry: &Entry) -> Result<Record, AuditError> {
        let body = serde_json::to_string(entry).map_err(|e| AuditError::Malformed {
            what: "entry",
            reason: e.to_string(),
        })?;
        let seq = self.size + 1;
        Ok(Record {
            seq,
            prev_hash: self.head,
            hash: Record::hash_of(seq, &self.head, &body),
            body,
        })
    }

    /// Moves past `record` once it is stored.
    ///
    /// ```
    /// use stripe_chat_audit::{Actor, Chain, Decision, Entry};
    /// let mut chain = Chain::new();
    /// let r = chain.seal(&Entry::new(Actor::operator("x"), "a", Decision::Performed))?;
    /// chain.advance(&r);
    /// assert_eq!(chain.head(), r.hash);
    /// # Ok::<(), stripe_chat_audit::AuditError>(())
    /// ```
    pub fn advance(&mut self, record: &Record) {
        self.size = record.seq;
        self.head = record.hash;
    }
}

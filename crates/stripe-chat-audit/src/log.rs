//! [`AuditLog`]: the audit log kept in the service's store, appended to by every replica and
//! command, signed every so often.

use std::sync::Arc;
use std::time::{Duration, Instant};

use stripe_chat_store::{AuditCheckpointRow, AuditRow, Store, StoreError};
use tokio::sync::Mutex;

use crate::{
    AuditError, Chain, Checkpoint, Entry, Hash, Record, SignedCheckpoint, SignerKey, Verification,
    VerifierKey, verify_with,
};

/// How many records a read of the log takes at once.
const PAGE: usize = 1000;
/// How many times an append is tried again when another writer appended first.
const APPEND_TRIES: u32 = 64;

/// What went wrong with the audit log.
///
/// ```
/// use stripe_chat_audit::AuditLogError;
/// let e = AuditLogError::from(stripe_chat_store::StoreError::Conflict { reason: "x".into() });
/// assert!(e.to_string().starts_with("audit log store:"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditLogError {
    /// The store failed (it is transient when the store is).
    #[error("audit log store: {0}")]
    Store(#[from] StoreError),
    /// A record or checkpoint could not be made or read.
    #[error("{0}")]
    Audit(#[from] AuditError),
}

impl AuditLogError {
    /// Whether trying again later may succeed.
    ///
    /// ```
    /// use stripe_chat_audit::AuditLogError;
    /// let busy = AuditLogError::from(stripe_chat_store::StoreError::Unavailable { reason: "locked".into() });
    /// assert!(busy.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        matches!(self, AuditLogError::Store(e) if e.is_transient() || e.is_conflict())
    }
}

/// When a checkpoint is signed: after `records` new records, or when `interval` has passed since
/// the last one and there is something new.
///
/// ```
/// let p = stripe_chat_audit::CheckpointPolicy::default();
/// assert_eq!((p.records, p.interval.as_secs()), (100, 600));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// New records that call for a checkpoint.
    pub records: u64,
    /// Time after which new records call for a checkpoint.
    pub interval: Duration,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        CheckpointPolicy {
            records: 100,
            interval: Duration::from_secs(600),
        }
    }
}

/// A record appended, and the checkpoint it called for (to post to a destination, as the
/// outside anchor).
///
/// ```no_run
/// # async fn f(log: stripe_chat_audit::AuditLog, entry: stripe_chat_audit::Entry) -> Result<(), stripe_chat_audit::AuditLogError> {
/// let appended = log.append(entry).await?;
/// if let Some(checkpoint) = appended.checkpoint {
///     println!("{}", checkpoint.text());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Appended {
    /// The record.
    pub record: Record,
    /// A checkpoint signed right after it, when one was due.
    pub checkpoint: Option<SignedCheckpoint>,
}

struct State {
    /// Where the log stands, once read from the store.
    chain: Option<Chain>,
    /// The size and time of the last checkpoint this process signed (or found).
    last_checkpoint: Option<(u64, Instant)>,
}

/// The audit log in a [`Store`]. Appends from several tasks, processes or replicas are ordered
/// by the store (an append that lost the race reads the new head and seals again), so the chain
/// never forks.
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// use std::sync::Arc;
/// use stripe_chat_audit::{Actor, AuditLog, Decision, Entry, SignerKey};
/// use stripe_chat_store::MemoryStore;
///
/// let key = SignerKey::generate("acme-audit")?;
/// let log = AuditLog::new(Arc::new(MemoryStore::new()), "acme").signed_by(key.clone());
/// log.append(Entry::new(Actor::operator("root"), "dlq_retry", Decision::Performed)).await?;
/// log.checkpoint().await?;
/// let report = log.verify(Some(&key.verifier())).await?;
/// assert_eq!((report.records, report.checkpoints, report.problem), (1, 1, None));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AuditLog {
    store: Arc<dyn Store>,
    origin: String,
    key: Option<SignerKey>,
    policy: CheckpointPolicy,
    state: Mutex<State>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("origin", &self.origin)
            .field("signed", &self.key.is_some())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn to_row(record: &Record) -> AuditRow {
    AuditRow {
        seq: record.seq,
        prev_hash: record.prev_hash.to_string(),
        hash: record.hash.to_string(),
        body: record.body.clone(),
    }
}

/// A stored row as a record. A hash that is not hex reads as one no record can have, so the
/// verification reports the row as changed.
fn from_row(row: AuditRow) -> Record {
    const UNREADABLE: Hash = Hash([0xff; 32]);
    Record {
        seq: row.seq,
        prev_hash: row.prev_hash.parse().unwrap_or(UNREADABLE),
        hash: row.hash.parse().unwrap_or(UNREADABLE),
        body: row.body,
    }
}

impl AuditLog {
    /// The log named `origin` (one name per deployment) in `store`, unsigned.
    ///
    /// ```
    /// let log = stripe_chat_audit::AuditLog::new(std::sync::Arc::new(stripe_chat_store::MemoryStore::new()), "acme");
    /// assert!(format!("{log:?}").contains("acme"));
    /// ```
    pub fn new(store: Arc<dyn Store>, origin: impl Into<String>) -> Self {
        AuditLog {
            store,
            origin: origin.into(),
            key: None,
            policy: CheckpointPolicy::default(),
            state: Mutex::new(State {
                chain: None,
                last_checkpoint: None,
            }),
        }
    }

    /// Signs checkpoints with `key`.
    ///
    /// ```
    /// # let store = std::sync::Arc::new(stripe_chat_store::MemoryStore::new());
    /// let key = stripe_chat_audit::SignerKey::generate("k")?;
    /// let log = stripe_chat_audit::AuditLog::new(store, "acme").signed_by(key);
    /// # let _ = log;
    /// # Ok::<(), stripe_chat_audit::AuditError>(())
    /// ```
    #[must_use]
    pub fn signed_by(mut self, key: SignerKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Signs checkpoints as `policy` says.
    ///
    /// ```
    /// # let store = std::sync::Arc::new(stripe_chat_store::MemoryStore::new());
    /// use stripe_chat_audit::{AuditLog, CheckpointPolicy};
    /// let log = AuditLog::new(store, "acme").checkpoint_policy(CheckpointPolicy { records: 10, ..Default::default() });
    /// # let _ = log;
    /// ```
    #[must_use]
    pub fn checkpoint_policy(mut self, policy: CheckpointPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Appends `entry` as the next record, durably; signs a checkpoint after it when one is due.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_audit::{Actor, AuditLog, Decision, Entry};
    /// let log = AuditLog::new(std::sync::Arc::new(stripe_chat_store::MemoryStore::new()), "acme");
    /// let first = log.append(Entry::new(Actor::operator("root"), "replay", Decision::Performed)).await?;
    /// let second = log.append(Entry::new(Actor::operator("root"), "replay", Decision::Performed)).await?;
    /// assert_eq!(second.record.prev_hash, first.record.hash);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn append(&self, entry: Entry) -> Result<Appended, AuditLogError> {
        let mut state = self.state.lock().await;
        let mut last_error = None;
        for attempt in 0..APPEND_TRIES {
            if attempt > 0 {
                // The writer that won keeps its head and could win every round: step aside for a
                // random moment so that the writers take turns.
                let spread = 1 + u64::from(attempt.min(10));
                tokio::time::sleep(Duration::from_micros(fastrand::u64(0..spread * 500))).await;
            }
            let chain = match state.chain {
                Some(chain) => chain,
                None => {
                    let last = self.store.audit_last().await?.map(from_row);
                    Chain::after(last.as_ref())
                }
            };
            let record = chain.seal(&entry)?;
            match self.store.audit_append(to_row(&record)).await {
                Ok(()) => {
                    let mut chain = chain;
                    chain.advance(&record);
                    state.chain = Some(chain);
                    let checkpoint = self.checkpoint_if_due(&mut state).await?;
                    return Ok(Appended { record, checkpoint });
                }
                Err(e) if e.is_conflict() => {
                    // Another writer appended first: read the new head and seal again.
                    state.chain = None;
                    last_error = Some(e);
                }
                Err(e) => {
                    state.chain = None;
                    return Err(e.into());
                }
            }
        }
        Err(last_error
            .unwrap_or_else(|| StoreError::Conflict {
                reason: "the audit log kept moving".into(),
            })
            .into())
    }

    async fn checkpoint_if_due(
        &self,
        state: &mut State,
    ) -> Result<Option<SignedCheckpoint>, AuditLogError> {
        let (Some(key), Some(chain)) = (&self.key, state.chain) else {
            return Ok(None);
        };
        let (signed_size, signed_at) = match state.last_checkpoint {
            Some(last) => last,
            None => {
                let size = self
                    .store
                    .audit_checkpoints()
                    .await?
                    .last()
                    .map_or(0, |c| c.size);
                let last = (size, Instant::now());
                state.last_checkpoint = Some(last);
                last
            }
        };
        let new = chain.size().saturating_sub(signed_size);
        let due =
            new >= self.policy.records || (new > 0 && signed_at.elapsed() >= self.policy.interval);
        if !due {
            return Ok(None);
        }
        let signed = self.sign(key, chain).await?;
        state.last_checkpoint = Some((chain.size(), Instant::now()));
        Ok(Some(signed))
    }

    async fn sign(&self, key: &SignerKey, chain: Chain) -> Result<SignedCheckpoint, AuditLogError> {
        let signed = Checkpoint {
            origin: self.origin.clone(),
            size: chain.size(),
            head: chain.head(),
        }
        .sign(key);
        self.store
            .audit_checkpoint(AuditCheckpointRow {
                size: chain.size(),
                note: signed.text().to_owned(),
            })
            .await?;
        Ok(signed)
    }

    /// Signs a checkpoint of the log as it stands now (`None` without a key).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_audit::{AuditLog, SignerKey};
    /// let log = AuditLog::new(std::sync::Arc::new(stripe_chat_store::MemoryStore::new()), "acme")
    ///     .signed_by(SignerKey::generate("k")?);
    /// let checkpoint = log.checkpoint().await?.ok_or("signed")?;
    /// assert_eq!(checkpoint.unverified().size, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn checkpoint(&self) -> Result<Option<SignedCheckpoint>, AuditLogError> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let mut state = self.state.lock().await;
        let last = self.store.audit_last().await?.map(from_row);
        let chain = Chain::after(last.as_ref());
        state.chain = Some(chain);
        let signed = self.sign(key, chain).await?;
        state.last_checkpoint = Some((chain.size(), Instant::now()));
        Ok(Some(signed))
    }

    /// Signs a checkpoint if new records have waited longer than the policy's interval (for a
    /// timer: quiet periods still end with a checkpoint).
    ///
    /// ```no_run
    /// # async fn f(log: stripe_chat_audit::AuditLog) -> Result<(), stripe_chat_audit::AuditLogError> {
    /// if let Some(checkpoint) = log.checkpoint_if_overdue().await? {
    ///     println!("{}", checkpoint.text());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn checkpoint_if_overdue(&self) -> Result<Option<SignedCheckpoint>, AuditLogError> {
        let mut state = self.state.lock().await;
        if state.chain.is_none() {
            let last = self.store.audit_last().await?.map(from_row);
            state.chain = Some(Chain::after(last.as_ref()));
        }
        self.checkpoint_if_due(&mut state).await
    }

    /// Every record from number `from` on, in order.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// let log = stripe_chat_audit::AuditLog::new(std::sync::Arc::new(stripe_chat_store::MemoryStore::new()), "acme");
    /// assert!(log.records(1).await?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn records(&self, from: u64) -> Result<Vec<Record>, AuditLogError> {
        let mut records = Vec::new();
        let mut next = from.max(1);
        loop {
            let page = self.store.audit_read(next, PAGE).await?;
            let done = page.len() < PAGE;
            if let Some(last) = page.last() {
                next = last.seq + 1;
            }
            records.extend(page.into_iter().map(from_row));
            if done {
                return Ok(records);
            }
        }
    }

    /// Checks the whole log and its checkpoints (see [`crate::verify`]).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// let log = stripe_chat_audit::AuditLog::new(std::sync::Arc::new(stripe_chat_store::MemoryStore::new()), "acme");
    /// assert!(log.verify(None).await?.problem.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn verify(&self, key: Option<&VerifierKey>) -> Result<Verification, AuditLogError> {
        self.verify_with(key.map(std::slice::from_ref).unwrap_or_default())
            .await
    }

    /// Checks the whole log and its checkpoints with any of `keys` (see [`verify_with`]): the
    /// current verifier key and those of the signing keys it replaced.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// let log = stripe_chat_audit::AuditLog::new(std::sync::Arc::new(stripe_chat_store::MemoryStore::new()), "acme");
    /// let key = stripe_chat_audit::SignerKey::generate("acme")?;
    /// assert!(log.verify_with(&[key.verifier()]).await?.problem.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn verify_with(&self, keys: &[VerifierKey]) -> Result<Verification, AuditLogError> {
        let records = self.records(1).await?;
        let mut checkpoints = Vec::new();
        let mut unreadable = None;
        for row in self.store.audit_checkpoints().await? {
            match SignedCheckpoint::parse(&row.note) {
                Ok(checkpoint) => checkpoints.push(checkpoint),
                Err(_) => {
                    unreadable.get_or_insert(row.size);
                }
            }
        }
        let mut report = verify_with(records, &checkpoints, keys);
        if let (Some(size), false) = (unreadable, keys.is_empty()) {
            let bad = crate::Problem::BadCheckpoint { size };
            if report
                .problem
                .as_ref()
                .is_none_or(|p| size < p.first_bad_record())
            {
                report.problem = Some(bad);
            }
        }
        Ok(report)
    }
}

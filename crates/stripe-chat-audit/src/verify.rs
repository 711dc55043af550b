//! Checking a log: every record's hash, every link, the numbering, and every checkpoint's
//! signature and head. The first problem found is reported by record number.

use std::fmt;

use crate::{Hash, Record, SignedCheckpoint, VerifierKey};

/// The first thing wrong with a log.
///
/// ```
/// use stripe_chat_audit::Problem;
/// let p = Problem::Changed { seq: 4 };
/// assert_eq!(p.to_string(), "record 4 was changed: its hash does not match its content");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The record's content does not give its hash: it was edited.
    Changed {
        /// The record.
        seq: u64,
    },
    /// The record does not follow the one before it: a record before it was removed, one was
    /// inserted, or records were swapped or rewritten.
    Unlinked {
        /// The first record that does not follow.
        seq: u64,
    },
    /// Record numbers jump or repeat: records were removed or inserted.
    Renumbered {
        /// The number expected.
        expected: u64,
        /// The number found.
        found: u64,
    },
    /// A checkpoint's signature does not verify with the key.
    BadCheckpoint {
        /// The size it states.
        size: u64,
    },
    /// A validly signed checkpoint states another head than the log's record at its size: the
    /// records up to it were rewritten.
    Rewritten {
        /// The size the checkpoint states.
        size: u64,
    },
    /// A validly signed checkpoint states more records than the log has: its tail was cut.
    Truncated {
        /// The records left.
        records: u64,
        /// The size the checkpoint states.
        checkpoint: u64,
    },
}

impl Problem {
    /// The first record number the problem concerns.
    ///
    /// ```
    /// use stripe_chat_audit::Problem;
    /// assert_eq!(Problem::Truncated { records: 10, checkpoint: 12 }.first_bad_record(), 11);
    /// ```
    pub fn first_bad_record(&self) -> u64 {
        match *self {
            Problem::Changed { seq } | Problem::Unlinked { seq } => seq,
            Problem::Renumbered { expected, .. } => expected,
            Problem::BadCheckpoint { size } | Problem::Rewritten { size } => size,
            Problem::Truncated { records, .. } => records + 1,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Changed { seq } => {
                write!(
                    f,
                    "record {seq} was changed: its hash does not match its content"
                )
            }
            Problem::Unlinked { seq } => write!(
                f,
                "record {seq} does not follow record {}: records were removed, inserted, swapped or rewritten",
                seq.saturating_sub(1)
            ),
            Problem::Renumbered { expected, found } => write!(
                f,
                "record {expected} is missing (found {found} in its place): records were removed or inserted"
            ),
            Problem::BadCheckpoint { size } => write!(
                f,
                "the checkpoint at record {size} is not signed by the audit key"
            ),
            Problem::Rewritten { size } => write!(
                f,
                "the log up to record {size} differs from what the checkpoint signed then: it was rewritten"
            ),
            Problem::Truncated {
                records,
                checkpoint,
            } => write!(
                f,
                "the log ends at record {records}, but a checkpoint signed {checkpoint} records: its tail was cut"
            ),
        }
    }
}

/// What [`verify`] found.
///
/// ```
/// let report = stripe_chat_audit::verify(Vec::new(), &[], None);
/// assert_eq!(report.records, 0);
/// assert!(report.problem.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Records read.
    pub records: u64,
    /// Checkpoints whose signature and head were checked.
    pub checkpoints: usize,
    /// The newest checkpoint checked, if any: the log up to it is what was signed.
    pub anchored_at: Option<u64>,
    /// The first problem, or `None` when the log is intact.
    pub problem: Option<Problem>,
}

/// Checks `records` (in order, as stored) and `checkpoints` against `key`. Without a key the
/// checkpoints are not checked (only the chain: an edit or removal is found, a rewrite of the
/// whole log or a cut tail is not).
///
/// ```
/// use stripe_chat_audit::{Actor, Chain, Checkpoint, Decision, Entry, SignerKey, verify};
/// let key = SignerKey::generate("ops")?;
/// let mut chain = Chain::new();
/// let mut records = Vec::new();
/// for action in ["replay", "dlq_retry"] {
///     let record = chain.seal(&Entry::new(Actor::operator("root"), action, Decision::Performed))?;
///     chain.advance(&record);
///     records.push(record);
/// }
/// let checkpoint = Checkpoint { origin: "acme".into(), size: chain.size(), head: chain.head() }.sign(&key);
/// let report = verify(records.clone(), &[checkpoint.clone()], Some(&key.verifier()));
/// assert_eq!((report.records, report.checkpoints, report.problem), (2, 1, None));
///
/// records.pop(); // the tail is cut
/// let report = verify(records, &[checkpoint], Some(&key.verifier()));
/// assert_eq!(report.problem.map(|p| p.first_bad_record()), Some(2));
/// # Ok::<(), stripe_chat_audit::AuditError>(())
/// ```
pub fn verify(
    records: impl IntoIterator<Item = Record>,
    checkpoints: &[SignedCheckpoint],
    key: Option<&VerifierKey>,
) -> Verification {
    verify_with(
        records,
        checkpoints,
        key.map(std::slice::from_ref).unwrap_or_default(),
    )
}

/// Checks `records` and `checkpoints` as [`verify`] does, a checkpoint being good when any of
/// `keys` verifies it: the current key and the keys it replaced, so that checkpoints signed
/// before a key was rotated stay verifiable. With no key, only the chain is checked.
///
/// ```
/// use stripe_chat_audit::{Actor, Chain, Checkpoint, Decision, Entry, SignerKey, verify_with};
/// let (old, new) = (SignerKey::generate("ops")?, SignerKey::generate("ops")?);
/// let mut chain = Chain::new();
/// let mut records = Vec::new();
/// let mut checkpoints = Vec::new();
/// for (action, key) in [("replay", &old), ("dlq_retry", &new)] {
///     let record = chain.seal(&Entry::new(Actor::operator("root"), action, Decision::Performed))?;
///     chain.advance(&record);
///     records.push(record);
///     checkpoints.push(Checkpoint { origin: "acme".into(), size: chain.size(), head: chain.head() }.sign(key));
/// }
/// let both = verify_with(records.clone(), &checkpoints, &[new.verifier(), old.verifier()]);
/// assert_eq!((both.checkpoints, both.problem), (2, None));
/// let only_new = verify_with(records, &checkpoints, &[new.verifier()]);
/// assert_eq!(only_new.problem.map(|p| p.first_bad_record()), Some(1));
/// # Ok::<(), stripe_chat_audit::AuditError>(())
/// ```
pub fn verify_with(
    records: impl IntoIterator<Item = Record>,
    checkpoints: &[SignedCheckpoint],
    keys: &[VerifierKey],
) -> Verification {
    // Checkpoints by the size they state, checked as the walk reaches them.
    let mut pending: Vec<(u64, Hash)> = Vec::new();
    let mut problem: Option<Problem> = None;
    let mut checked = 0;
    let mut anchored_at = None;
    if !keys.is_empty() {
        for checkpoint in checkpoints {
            match keys.iter().find_map(|key| checkpoint.verify(key).ok()) {
                Some(stated) => pending.push((stated.size, stated.head)),
                None => {
                    let size = checkpoint.unverified().size;
                    if problem.as_ref().is_none_or(|p| size < p.first_bad_record()) {
                        problem = Some(Problem::BadCheckpoint { size });
                    }
                }
            }
        }
    }
    pending.sort_unstable_by_key(|(size, _)| *size);
    let mut pending = pending.into_iter().peekable();
    // An empty log's checkpoint states the genesis head.
    while let Some((0, head)) = pending.peek().copied() {
        pending.next();
        checked += 1;
        anchored_at = Some(0);
        if head != Hash::GENESIS {
            problem.get_or_insert(Problem::Rewritten { size: 0 });
        }
    }

    let mut count = 0u64;
    let mut previous = Hash::GENESIS;
    let mut chain_problem: Option<Problem> = None;
    for record in records {
        count += 1;
        if chain_problem.is_none() {
            if record.seq != count {
                chain_problem = Some(Problem::Renumbered {
                    expected: count,
                    found: record.seq,
                });
            } else if !record.is_intact() {
                chain_problem = Some(Problem::Changed { seq: record.seq });
            } else if record.prev_hash != previous {
                chain_problem = Some(Problem::Unlinked { seq: record.seq });
            }
        }
        previous = record.hash;
        while let Some((size, head)) = pending.peek().copied() {
            if size != count {
                break;
            }
            pending.next();
            checked += 1;
            anchored_at = Some(size);
            if head != record.hash && chain_problem.is_none() {
                chain_problem = Some(Problem::Rewritten { size });
            }
        }
    }
    if let Some((size, _)) = pending.next() {
        checked += 1;
        chain_problem.get_or_insert(Problem::Truncated {
            records: count,
            checkpoint: size,
        });
    }
    // Report whichever problem concerns the earliest record.
    let problem = match (problem, chain_problem) {
        (Some(a), Some(b)) => Some(if b.first_bad_record() <= a.first_bad_record() {
            b
        } else {
            a
        }),
        (a, b) => a.or(b),
    };
    Verification {
        records: count,
        checkpoints: checked,
        anchored_at,
        problem,
    }
}

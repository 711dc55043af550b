//! [`StoreError`]: what can go wrong in a store, classified so callers never parse strings.

use crate::JobId;

/// A failed store operation.
///
/// [`StoreError::is_transient`] says whether trying again later may succeed: the webhook endpoint
/// answers `503` when an ingest fails (Stripe then retries), and the readiness probe reports the
/// store as unavailable. Messages describe the failure in words and never contain an event body.
///
/// ```
/// use stripe_chat_store::{JobId, StoreError};
/// let busy = StoreError::Unavailable { reason: "database is locked".into() };
/// assert!(busy.is_transient());
/// let lost = StoreError::LeaseLost { job_id: JobId(7) };
/// assert!(!lost.is_transient());
/// assert_eq!(lost.to_string(), "the lease on job 7 is no longer held");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store cannot be reached or written right now: the database is busy or locked by another
    /// process, the disk is full, a file cannot be opened or written, or the store was closed.
    /// Transient: try again later.
    #[error("store unavailable: {reason}")]
    Unavailable {
        /// What failed, in words.
        reason: String,
    },
    /// The store's data is damaged or the file is not a stripe-chat store. Permanent.
    #[error("store data is corrupt or not a stripe-chat store: {reason}")]
    Corrupt {
        /// What failed, in words.
        reason: String,
    },
    /// The file was written by a newer version of stripe-chat. Permanent for this build.
    #[error("store schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew {
        /// The version found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The caller no longer holds the lease it presented: an outcome was already recorded for
    /// it, or it expired and a later [`lease`](crate::Store::lease) call took the job back (and
    /// perhaps gave it to another worker). The caller must drop its result. (An outcome that
    /// arrives after the lease's end but before any lease call took the job back is accepted.)
    #[error("the lease on job {job_id} is no longer held")]
    LeaseLost {
        /// The job the lease was for.
        job_id: JobId,
    },
    /// The event or job named does not exist.
    #[error("{what} not found: {id}")]
    NotFound {
        /// `"event"` or `"job"`.
        what: &'static str,
        /// The id that was asked for.
        id: String,
    },
    /// Another writer got there first (an audit record with the same number was appended).
    /// Read the current state and try again.
    #[error("conflict: {reason}")]
    Conflict {
        /// What was taken.
        reason: String,
    },
    /// The request itself is wrong (an empty event id or destination, a zero lease duration).
    #[error("invalid store request: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// The store failed in a way that retrying will not fix (a bug or an unexpected database
    /// error). Permanent.
    #[error("store failure: {reason}")]
    Internal {
        /// What failed, in words.
        reason: String,
    },
    /// The store does not keep this kind of data (a store implemented before it existed).
    /// Permanent.
    #[error("this store does not keep {what}")]
    Unsupported {
        /// What it does not keep.
        what: &'static str,
    },
}

impl StoreError {
    /// Whether trying again later may succeed (busy, locked, I/O, disk full, closed).
    ///
    /// ```
    /// use stripe_chat_store::StoreError;
    /// assert!(!StoreError::Corrupt { reason: "file is not a database".into() }.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }

    /// Whether this is [`StoreError::LeaseLost`]: a worker's result arrived after its lease ended.
    ///
    /// ```
    /// use stripe_chat_store::{JobId, StoreError};
    /// assert!(StoreError::LeaseLost { job_id: JobId(1) }.is_lease_lost());
    /// ```
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, StoreError::LeaseLost { .. })
    }

    /// Whether this is [`StoreError::Conflict`]: another writer appended first.
    ///
    /// ```
    /// use stripe_chat_store::StoreError;
    /// assert!(StoreError::Conflict { reason: "audit record 3".into() }.is_conflict());
    /// ```
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }

    pub(crate) fn unavailable(reason: impl Into<String>) -> Self {
        StoreError::Unavailable {
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        StoreError::Invalid {
            reason: reason.into(),
        }
    }

    pub(crate) fn internal(reason: impl Into<String>) -> Self {
        StoreError::Internal {
            reason: reason.into(),
        }
    }

    pub(crate) fn closed() -> Self {
        StoreError::unavailable("the store is closed")
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        // rusqlite's messages come from SQLite and name tables and constraints, never bound
        // values, so no event body can appear in them.
        let reason = error.to_string();
        match error.sqlite_error_code() {
            Some(
                ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::SystemIoFailure
                | ErrorCode::DiskFull
                | ErrorCode::CannotOpen
                | ErrorCode::ReadOnly
                | ErrorCode::PermissionDenied
                | ErrorCode::OutOfMemory
                | ErrorCode::OperationInterrupted
                | ErrorCode::FileLockingProtocolFailed
                | ErrorCode::NoLargeFileSupport,
            ) => StoreError::Unavailable { reason },
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                StoreError::Corrupt { reason }
            }
            _ => StoreError::Internal { reason },
        }
    }
}

//! What the actions engine keeps between clicks: the interaction ids already handled, requests
//! waiting for a confirmation or an approval, the ledger of actions performed (one row per
//! idempotency key), who contacted a customer last, and who an object is assigned to.

use std::time::{Duration, SystemTime};

use stripe_chat_message::MessageRef;

/// How long an interaction id is needed: platforms repeat a delivery within minutes, and a click
/// older than a day is not repeated. The store keeps ids at least this long (pruning goes by the
/// store's retention, which is longer).
///
/// ```
/// assert_eq!(stripe_chat_store::INTERACTION_WINDOW.as_secs(), 86_400);
/// ```
pub const INTERACTION_WINDOW: Duration = Duration::from_secs(86_400);

/// A request to keep until it is confirmed, approved, cancelled or expired: bound to the person
/// who asked, the action, the object and the message it was offered on.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use stripe_chat_message::MessageRef;
/// let now = SystemTime::now();
/// let pending = stripe_chat_store::NewPending {
///     person: "ana".into(),
///     identity: "slack T1/U1".into(),
///     action: "retry_payment".into(),
///     object: "invoice/in_1".into(),
///     account: None,
///     message: MessageRef::new("slack", "1700000000.000100").in_channel("C1"),
///     amount: Some((84_200, "usd".into())),
///     livemode: false,
///     description: "invoice INV-1".into(),
///     stage: "awaiting_confirmation".into(),
///     needs_approval: false,
///     created_at: now,
///     expires_at: now + Duration::from_secs(900),
/// };
/// assert_eq!(pending.object, "invoice/in_1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPending {
    /// The person (from the configuration) who asked.
    pub person: String,
    /// The chat identity they asked as (`slack T1/U1`).
    pub identity: String,
    /// The action id.
    pub action: String,
    /// The object (`invoice/in_1`).
    pub object: String,
    /// The connected account the object belongs to, if any.
    pub account: Option<String>,
    /// The message the action was offered on.
    pub message: MessageRef,
    /// The amount at stake as read when asked (minor units, currency), if any.
    pub amount: Option<(i64, String)>,
    /// Whether the object is in live mode.
    pub livemode: bool,
    /// How people call the object ("invoice INV-1").
    pub description: String,
    /// Where it stands (the engine's stage name).
    pub stage: String,
    /// Whether a second person must approve it.
    pub needs_approval: bool,
    /// When it was asked.
    pub created_at: SystemTime,
    /// When it expires: no stage moves after that.
    pub expires_at: SystemTime,
}

/// A stored pending request, with the random id its buttons carry.
///
/// ```
/// # use std::time::SystemTime;
/// # use stripe_chat_message::MessageRef;
/// # let new = stripe_chat_store::NewPending { person: "ana".into(), identity: "slack T1/U1".into(), action: "retry_payment".into(), object: "invoice/in_1".into(), account: None, message: MessageRef::new("slack", "1"), amount: None, livemode: false, description: "invoice".into(), stage: "awaiting_confirmation".into(), needs_approval: false, created_at: SystemTime::now(), expires_at: SystemTime::now() };
/// let row = stripe_chat_store::PendingRow { id: "p_0f3a".into(), pending: new, approved_by: None };
/// assert_eq!(row.pending.person, "ana");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRow {
    /// Its id: random and unguessable (128 bits), prefixed `p_`.
    pub id: String,
    /// The request as it stands (stage and expiry as last moved).
    pub pending: NewPending,
    /// Who approved it, once approved.
    pub approved_by: Option<String>,
}

/// A move of a pending request to another stage.
///
/// ```
/// let change = stripe_chat_store::PendingChange::to("ready").approved_by("cy");
/// assert_eq!(change.stage, "ready");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingChange {
    /// The new stage.
    pub stage: String,
    /// The approver to record, if this move is an approval.
    pub approved_by: Option<String>,
    /// A new expiry (an approval gets its own window), or `None` to keep it.
    pub expires_at: Option<SystemTime>,
}

impl PendingChange {
    /// A move to `stage`, keeping the expiry.
    ///
    /// ```
    /// assert!(stripe_chat_store::PendingChange::to("cancelled").expires_at.is_none());
    /// ```
    pub fn to(stage: impl Into<String>) -> Self {
        PendingChange {
            stage: stage.into(),
            approved_by: None,
            expires_at: None,
        }
    }

    /// Recording `person` as the approver.
    ///
    /// ```
    /// assert_eq!(stripe_chat_store::PendingChange::to("ready").approved_by("cy").approved_by.as_deref(), Some("cy"));
    /// ```
    #[must_use]
    pub fn approved_by(mut self, person: impl Into<String>) -> Self {
        self.approved_by = Some(person.into());
        self
    }

    /// Expiring at `at` from now on.
    ///
    /// ```
    /// let at = std::time::SystemTime::now();
    /// assert_eq!(stripe_chat_store::PendingChange::to("awaiting_approval").expiring(at).expires_at, Some(at));
    /// ```
    #[must_use]
    pub fn expiring(mut self, at: SystemTime) -> Self {
        self.expires_at = Some(at);
        self
    }
}

/// How a performed action ended, as the ledger keeps it.
///
/// ```
/// use stripe_chat_store::LedgerStatus;
/// assert!(LedgerStatus::Unknown.may_claim_again());
/// assert!(!LedgerStatus::Performed.may_claim_again());
/// assert_eq!(LedgerStatus::Refused.as_str(), "refused");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LedgerStatus {
    /// Done.
    Performed,
    /// Refused for good by the other side: asking again gives the same answer.
    Refused,
    /// Not done (rate limited, unavailable): may be claimed and tried again with the same key.
    Unavailable,
    /// No answer in time: may be claimed and tried again with the same key, which finds out
    /// without doing it twice.
    Unknown,
    /// Not done because our side is not set up for it: may be tried again once it is.
    Misconfigured,
}

impl LedgerStatus {
    /// Its name, as stored.
    ///
    /// ```
    /// assert_eq!(stripe_chat_store::LedgerStatus::Unavailable.as_str(), "unavailable");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerStatus::Performed => "performed",
            LedgerStatus::Refused => "refused",
            LedgerStatus::Unavailable => "unavailable",
            LedgerStatus::Unknown => "unknown",
            LedgerStatus::Misconfigured => "misconfigured",
        }
    }

    /// The status named `name`.
    ///
    /// ```
    /// use stripe_chat_store::LedgerStatus;
    /// assert_eq!(LedgerStatus::parse("unknown"), Some(LedgerStatus::Unknown));
    /// assert_eq!(LedgerStatus::parse("maybe"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "performed" => LedgerStatus::Performed,
            "refused" => LedgerStatus::Refused,
            "unavailable" => LedgerStatus::Unavailable,
            "unknown" => LedgerStatus::Unknown,
            "misconfigured" => LedgerStatus::Misconfigured,
            _ => return None,
        })
    }

    /// Whether an action that ended so may be claimed again (with the same key).
    ///
    /// ```
    /// assert!(stripe_chat_store::LedgerStatus::Misconfigured.may_claim_again());
    /// ```
    pub fn may_claim_again(self) -> bool {
        matches!(
            self,
            LedgerStatus::Unavailable | LedgerStatus::Unknown | LedgerStatus::Misconfigured
        )
    }
}

/// What came of an action, as recorded in the ledger.
///
/// ```
/// use stripe_chat_store::{LedgerOutcome, LedgerStatus};
/// let o = LedgerOutcome::new(LedgerStatus::Performed, "succeeded");
/// assert!(o.url.is_none() && o.reference.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerOutcome {
    /// How it ended.
    pub status: LedgerStatus,
    /// The sentence people read ("succeeded", "declined: insufficient funds").
    pub summary: String,
    /// A link that goes with it (a ticket).
    pub url: Option<String>,
    /// The other side's reference (a Stripe request id, a ticket id).
    pub reference: Option<String>,
}

impl LedgerOutcome {
    /// An outcome with a status and a sentence.
    ///
    /// ```
    /// # use stripe_chat_store::{LedgerOutcome, LedgerStatus};
    /// assert_eq!(LedgerOutcome::new(LedgerStatus::Refused, "no").summary, "no");
    /// ```
    pub fn new(status: LedgerStatus, summary: impl Into<String>) -> Self {
        LedgerOutcome {
            status,
            summary: summary.into(),
            url: None,
            reference: None,
        }
    }
}

/// The answer to a claim of an idempotency key.
///
/// ```
/// let c = stripe_chat_store::Claim::Claimed { attempt: 1 };
/// assert!(matches!(c, stripe_chat_store::Claim::Claimed { attempt: 1 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller holds the key now: perform the action, then record its outcome with this
    /// attempt number.
    Claimed {
        /// The attempt (1 for the first claim; more after outcomes that may be claimed again).
        attempt: u32,
    },
    /// The action was done (or refused for good) already: this is what came of it.
    AlreadyDone(LedgerOutcome),
    /// Someone else is performing it now, since then.
    InFlight {
        /// When they claimed it.
        since: SystemTime,
    },
}

/// Who contacted a customer last, and when.
///
/// ```
/// let c = stripe_chat_store::Contact { person: "ana".into(), at: std::time::SystemTime::UNIX_EPOCH };
/// assert_eq!(c.person, "ana");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The person.
    pub person: String,
    /// When.
    pub at: SystemTime,
}

/// Who an object is assigned to, by whom and when.
///
/// ```
/// let a = stripe_chat_store::Assignment { assignee: "bo".into(), by: "ana".into(), at: std::time::SystemTime::UNIX_EPOCH };
/// assert_eq!(a.assignee, "bo");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Who it is assigned to.
    pub assignee: String,
    /// Who assigned it.
    pub by: String,
    /// When.
    pub at: SystemTime,
}

/// A new random pending id: `p_` and 32 hex digits from the operating system's generator.
pub(crate) fn new_pending_id() -> Result<String, crate::StoreError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| crate::StoreError::internal(format!("no random numbers: {e}")))?;
    let mut id = String::with_capacity(34);
    id.push_str("p_");
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    Ok(id)
}

/// Checks a new pending request before it is stored.
pub(crate) fn validate_pending(pending: &NewPending) -> Result<(), crate::StoreError> {
    for (name, value) in [
        ("person", &pending.person),
        ("action", &pending.action),
        ("object", &pending.object),
        ("stage", &pending.stage),
    ] {
        if value.is_empty() {
            return Err(crate::StoreError::invalid(format!(
                "a pending request's {name} is empty"
            )));
        }
    }
    Ok(())
}

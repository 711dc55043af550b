//! What the engine asks of whoever performs actions (Stripe, the team's hooks, our own
//! destinations): read the object fresh, then perform the action once under its idempotency key.

use std::collections::BTreeMap;

use async_trait::async_trait;
use stripe_chat_events::Money;
use stripe_chat_message::{MessageRef, ObjectRef};

use crate::ActionId;

/// The object as it stands now, read fresh before acting.
///
/// ```
/// use stripe_chat_actions::Subject;
/// let s = Subject::new("invoice INV-0042").moot("This invoice is already paid.");
/// assert_eq!(s.moot.as_deref(), Some("This invoice is already paid."));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// How people call it ("invoice INV-0042 for Acme Corp").
    pub description: String,
    /// The amount at stake (for ceilings and four eyes), if any.
    pub amount: Option<Money>,
    /// Whether it is in live mode.
    pub livemode: bool,
    /// Its customer (`cus_...`), when it has one.
    pub customer: Option<String>,
    /// Why the action no longer makes sense ("This invoice is already paid.", "This dispute is
    /// closed."): the engine then says so and does nothing.
    pub moot: Option<String>,
}

impl Subject {
    /// An object in test mode, with no amount, customer or objection.
    ///
    /// ```
    /// assert!(stripe_chat_actions::Subject::new("dispute dp_1").moot.is_none());
    /// ```
    pub fn new(description: impl Into<String>) -> Self {
        Subject {
            description: description.into(),
            amount: None,
            livemode: false,
            customer: None,
            moot: None,
        }
    }

    /// The same, with an amount.
    ///
    /// ```
    /// assert_eq!(stripe_chat_actions::Subject::new("x").amount(1200, "usd").amount.map(|m| m.amount), Some(1200));
    /// ```
    #[must_use]
    pub fn amount(mut self, minor: i64, currency: &str) -> Self {
        self.amount = Some(Money::new(minor, currency.to_ascii_lowercase()));
        self
    }

    /// The same, in live mode (`true`) or test mode.
    ///
    /// ```
    /// assert!(stripe_chat_actions::Subject::new("x").livemode(true).livemode);
    /// ```
    #[must_use]
    pub fn livemode(mut self, livemode: bool) -> Self {
        self.livemode = livemode;
        self
    }

    /// The same, with its customer.
    ///
    /// ```
    /// assert_eq!(stripe_chat_actions::Subject::new("x").customer("cus_1").customer.as_deref(), Some("cus_1"));
    /// ```
    #[must_use]
    pub fn customer(mut self, customer: impl Into<String>) -> Self {
        self.customer = Some(customer.into());
        self
    }

    /// The same, with the reason the action no longer makes sense.
    ///
    /// ```
    /// assert!(stripe_chat_actions::Subject::new("x").moot("closed").moot.is_some());
    /// ```
    #[must_use]
    pub fn moot(mut self, reason: impl Into<String>) -> Self {
        self.moot = Some(reason.into());
        self
    }
}

/// One logical action to perform.
///
/// ```
/// use stripe_chat_actions::{ActionId, Task, idempotency_key};
/// use stripe_chat_message::{MessageRef, ObjectKind, ObjectRef};
/// let message = MessageRef::new("slack", "1700000000.000100").in_channel("C1");
/// let task = Task {
///     action: ActionId::RetryPayment,
///     target: ObjectRef::new(ObjectKind::Invoice, "in_1"),
///     account: None,
///     idempotency_key: idempotency_key(ActionId::RetryPayment, "invoice/in_1", "slack:C1/1700000000.000100"),
///     person: "ana".into(),
///     approved_by: None,
///     fields: Default::default(),
///     message,
/// };
/// assert!(task.idempotency_key.starts_with("sc-retry_payment-"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// The action.
    pub action: ActionId,
    /// The object it acts on.
    pub target: ObjectRef,
    /// The connected account (`Stripe-Account`), if any.
    pub account: Option<String>,
    /// The one key of this logical action: every Stripe call and hook of it carries it.
    pub idempotency_key: String,
    /// The person (from the configuration) who asked.
    pub person: String,
    /// The person who approved it, when it needed a second one.
    pub approved_by: Option<String>,
    /// What the person typed in the action's form (evidence text, an assignee), by field id.
    pub fields: BTreeMap<String, String>,
    /// The message it was offered on.
    pub message: MessageRef,
}

/// An action done.
///
/// ```
/// let p = stripe_chat_actions::Performed::new("succeeded").reference("req_1");
/// assert_eq!(p.reference.as_deref(), Some("req_1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Performed {
    /// What came of it, for the status line ("succeeded", "emailed to the customer").
    pub summary: String,
    /// A link to show with it (the ticket).
    pub url: Option<String>,
    /// The other side's reference (Stripe's `Request-Id`, the ticket's id), for the audit.
    pub reference: Option<String>,
}

impl Performed {
    /// Done, saying `summary`.
    ///
    /// ```
    /// assert!(stripe_chat_actions::Performed::new("done").url.is_none());
    /// ```
    pub fn new(summary: impl Into<String>) -> Self {
        Performed {
            summary: summary.into(),
            url: None,
            reference: None,
        }
    }

    /// With a link.
    ///
    /// ```
    /// assert!(stripe_chat_actions::Performed::new("opened").link("https://t.example/1").url.is_some());
    /// ```
    #[must_use]
    pub fn link(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// With the other side's reference.
    ///
    /// ```
    /// assert!(stripe_chat_actions::Performed::new("x").reference("req_9").reference.is_some());
    /// ```
    #[must_use]
    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(reference.into());
        self
    }
}

/// How an action failed, for what happens next.
///
/// ```
/// assert!(stripe_chat_actions::FailureKind::Unavailable.may_retry());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// The other side said no for good (card declined, invoice void): asking again with the same
    /// key gives the same answer.
    Refused,
    /// Not done: rate limited, unavailable, or an answer we could not read; trying again (with
    /// the same key) is safe.
    Unavailable,
    /// No answer in time: it may or may not have happened. Trying again with the same key
    /// finds out without doing it twice.
    Unknown,
    /// Our side is not set up for it (a bad API key, no hook configured, a missing permission).
    Misconfigured,
}

impl FailureKind {
    /// Whether the same action may be asked again.
    ///
    /// ```
    /// use stripe_chat_actions::FailureKind;
    /// assert!(FailureKind::Unknown.may_retry() && !FailureKind::Refused.may_retry());
    /// ```
    pub fn may_retry(self) -> bool {
        matches!(self, FailureKind::Unavailable | FailureKind::Unknown)
    }

    /// Its name, as audited.
    ///
    /// ```
    /// assert_eq!(stripe_chat_actions::FailureKind::Misconfigured.as_str(), "misconfigured");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Refused => "refused",
            FailureKind::Unavailable => "unavailable",
            FailureKind::Unknown => "unknown",
            FailureKind::Misconfigured => "misconfigured",
        }
    }
}

/// An action not done (or not known to be), in a sentence people read: "declined: insufficient
/// funds", never an API error blob or a secret.
///
/// ```
/// use stripe_chat_actions::{Failure, FailureKind};
/// let f = Failure::new(FailureKind::Refused, "declined: insufficient funds");
/// assert_eq!(f.to_string(), "declined: insufficient funds");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{sentence}")]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The sentence for people.
    pub sentence: String,
    /// The other side's reference (Stripe's `Request-Id`), for the audit.
    pub reference: Option<String>,
}

impl Failure {
    /// A failure of `kind`, saying `sentence`.
    ///
    /// ```
    /// # use stripe_chat_actions::{Failure, FailureKind};
    /// assert!(Failure::new(FailureKind::Unknown, "Stripe did not answer in time").reference.is_none());
    /// ```
    pub fn new(kind: FailureKind, sentence: impl Into<String>) -> Self {
        Failure {
            kind,
            sentence: sentence.into(),
            reference: None,
        }
    }

    /// With the other side's reference.
    ///
    /// ```
    /// # use stripe_chat_actions::{Failure, FailureKind};
    /// assert!(Failure::new(FailureKind::Refused, "no").reference("req_1").reference.is_some());
    /// ```
    #[must_use]
    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(reference.into());
        self
    }
}

/// Whoever performs actions: Stripe for the Stripe actions, the team's hooks for tickets and
/// mail, our own destinations for `assign` and `notify`. The engine decides who may and when;
/// an implementation only reads and does.
///
/// ```
/// use stripe_chat_actions::{ActionId, Failure, Operations, Performed, Subject, Task};
/// use stripe_chat_message::ObjectRef;
/// struct Nothing;
/// #[async_trait::async_trait]
/// impl Operations for Nothing {
///     async fn inspect(&self, _: ActionId, target: &ObjectRef, _: Option<&str>) -> Result<Subject, Failure> {
///         Ok(Subject::new(target.to_string()))
///     }
///     async fn perform(&self, _task: &Task) -> Result<Performed, Failure> {
///         Ok(Performed::new("done"))
///     }
/// }
/// ```
#[async_trait]
pub trait Operations: Send + Sync {
    /// Reads the object fresh (on `account`, when it belongs to a connected account): its
    /// amount, mode and customer, and whether `action` still makes sense on it.
    async fn inspect(
        &self,
        action: ActionId,
        target: &ObjectRef,
        account: Option<&str>,
    ) -> Result<Subject, Failure>;

    /// Performs the task once: every request it makes carries [`Task::idempotency_key`], so
    /// performing the same task again returns the first outcome instead of acting twice.
    async fn perform(&self, task: &Task) -> Result<Performed, Failure>;
}

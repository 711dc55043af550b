//! The actions a person can take from a message; their ids are part of the configuration
//! contract.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// An action offered on a message.
///
/// ```
/// use stripe_chat_actions::ActionId;
/// let retry: ActionId = "retry_payment".parse()?;
/// assert!(retry.moves_money());
/// assert_eq!(retry.to_string(), "retry_payment");
/// assert!("refund_everything".parse::<ActionId>().is_err());
/// # Ok::<(), stripe_chat_actions::UnknownAction>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ActionId {
    /// Pay an open invoice again (`POST /v1/invoices/{id}/pay`). Moves money.
    RetryPayment,
    /// Have Stripe email the invoice to the customer (`POST /v1/invoices/{id}/send`), or call the
    /// team's own mailer hook.
    SendDunningEmail,
    /// Stage evidence text on a dispute (`submit=false`).
    AddEvidence,
    /// Submit a dispute's staged evidence (`submit=true`): irreversible, treated as moving money.
    SubmitEvidence,
    /// Record that the customer was contacted (who and when).
    MarkContacted,
    /// Assign the object to someone, posted to the queue destination.
    Assign,
    /// Post the message with context to a configured destination (legal, finance).
    Notify,
    /// Open a ticket through the configured ticket hook.
    CreateTicket,
    /// Open the object in the Stripe Dashboard (a link; no callback).
    Open,
}

impl ActionId {
    /// Every action.
    pub const ALL: [ActionId; 9] = [
        ActionId::RetryPayment,
        ActionId::SendDunningEmail,
        ActionId::AddEvidence,
        ActionId::SubmitEvidence,
        ActionId::MarkContacted,
        ActionId::Assign,
        ActionId::Notify,
        ActionId::CreateTicket,
        ActionId::Open,
    ];

    /// Its id in configuration and button payloads.
    ///
    /// ```
    /// assert_eq!(stripe_chat_actions::ActionId::MarkContacted.as_str(), "mark_contacted");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ActionId::RetryPayment => "retry_payment",
            ActionId::SendDunningEmail => "send_dunning_email",
            ActionId::AddEvidence => "add_evidence",
            ActionId::SubmitEvidence => "submit_evidence",
            ActionId::MarkContacted => "mark_contacted",
            ActionId::Assign => "assign",
            ActionId::Notify => "notify",
            ActionId::CreateTicket => "create_ticket",
            ActionId::Open => "open",
        }
    }

    /// Whether it moves money (or cannot be undone): it then needs a confirmation on the server,
    /// bound to the person, the action, the object and an expiry.
    ///
    /// ```
    /// use stripe_chat_actions::ActionId;
    /// assert!(ActionId::SubmitEvidence.moves_money());
    /// assert!(!ActionId::Assign.moves_money());
    /// ```
    pub fn moves_money(self) -> bool {
        matches!(self, ActionId::RetryPayment | ActionId::SubmitEvidence)
    }

    /// What people read for it ("Retry payment").
    ///
    /// ```
    /// assert_eq!(stripe_chat_actions::ActionId::SendDunningEmail.label(), "Send dunning email");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            ActionId::RetryPayment => "Retry payment",
            ActionId::SendDunningEmail => "Send dunning email",
            ActionId::AddEvidence => "Add evidence",
            ActionId::SubmitEvidence => "Submit evidence",
            ActionId::MarkContacted => "Mark contacted",
            ActionId::Assign => "Assign",
            ActionId::Notify => "Notify",
            ActionId::CreateTicket => "Create ticket",
            ActionId::Open => "Open in Stripe",
        }
    }
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an action id.
///
/// ```
/// let e = "pay_twice".parse::<stripe_chat_actions::ActionId>().unwrap_err();
/// assert!(e.to_string().contains("retry_payment"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is not an action (one of {})", ActionId::ALL.map(ActionId::as_str).join(", "))]
pub struct UnknownAction {
    /// The name given.
    pub name: String,
}

impl FromStr for ActionId {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActionId::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAction { name: s.to_owned() })
    }
}

/// The one idempotency key of a logical action: the same for every click, retry and person on
/// the same action, object and message, so Stripe performs it once. At most 255 characters, as
/// Stripe requires; derived, so it reveals nothing of its inputs.
///
/// ```
/// use stripe_chat_actions::{ActionId, idempotency_key};
/// let a = idempotency_key(ActionId::RetryPayment, "invoice/in_1", "slack:C1/1700000000.000100");
/// let b = idempotency_key(ActionId::RetryPayment, "invoice/in_1", "slack:C1/1700000000.000100");
/// let c = idempotency_key(ActionId::RetryPayment, "invoice/in_1", "slack:C1/1700000999.000100");
/// assert_eq!(a, b);
/// assert_ne!(a, c, "offered again on a new message: a new logical action");
/// assert!(a.starts_with("sc-retry_payment-") && a.len() <= 255);
/// ```
pub fn idempotency_key(action: ActionId, object: &str, message: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [action.as_str(), object, message] {
        hasher.update(u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    format!("sc-{}-{}", action.as_str(), hex::encode(&digest[..20]))
}

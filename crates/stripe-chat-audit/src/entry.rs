//! What one audit record says: who did what, to which object, and what came of it.

use serde::{Deserialize, Serialize};

/// Who acted: the person from the configuration (when known) and the identity they acted as.
///
/// ```
/// use stripe_chat_audit::Actor;
/// let ana = Actor::chat("slack", "T0123ABCD/U0123ABCD").person("ana");
/// assert_eq!(ana.to_string(), "ana (slack T0123ABCD/U0123ABCD)");
/// let operator = Actor::operator("root");
/// assert_eq!(operator.to_string(), "cli root");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The person's name in the configuration; `None` for an unknown identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// Where they acted: `slack`, `discord`, `teams`, `matrix`, or `cli` for an operator command.
    pub platform: String,
    /// Their identity there (`T0123/U0123` on Slack, a user id on Discord, the OS user for `cli`).
    pub identity: String,
}

impl Actor {
    /// Someone acting from a chat platform.
    ///
    /// ```
    /// let a = stripe_chat_audit::Actor::chat("discord", "80351110224678912");
    /// assert!(a.person.is_none());
    /// ```
    pub fn chat(platform: impl Into<String>, identity: impl Into<String>) -> Self {
        Actor {
            person: None,
            platform: platform.into(),
            identity: identity.into(),
        }
    }

    /// An operator running a command of the binary, as the OS user `user`.
    ///
    /// ```
    /// assert_eq!(stripe_chat_audit::Actor::operator("deploy").platform, "cli");
    /// ```
    pub fn operator(user: impl Into<String>) -> Self {
        Actor {
            person: None,
            platform: "cli".to_owned(),
            identity: user.into(),
        }
    }

    /// The same identity, known as `person`.
    ///
    /// ```
    /// let a = stripe_chat_audit::Actor::chat("slack", "T1/U1").person("ana");
    /// assert_eq!(a.person.as_deref(), Some("ana"));
    /// ```
    #[must_use]
    pub fn person(mut self, person: impl Into<String>) -> Self {
        self.person = Some(person.into());
        self
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.person {
            Some(person) => write!(f, "{person} ({} {})", self.platform, self.identity),
            None => write!(f, "{} {}", self.platform, self.identity),
        }
    }
}

/// What became of a request; one record per step, so a money-moving action reads as requested →
/// confirmed → (approved →) performed or failed.
///
/// ```
/// use stripe_chat_audit::Decision;
/// assert_eq!(Decision::Performed.as_str(), "performed");
/// assert_eq!(serde_json::to_string(&Decision::Denied)?, "\"denied\"");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Decision {
    /// Asked for; not yet decided.
    Requested,
    /// Permitted by the person's roles.
    Allowed,
    /// Refused (unknown person, missing role, over a limit, expired, self-approval…).
    Denied,
    /// Confirmed by the person who asked (the server-side second step).
    Confirmed,
    /// Approved by a second person (four eyes).
    Approved,
    /// Done: the effect happened (or the operator command ran).
    Performed,
    /// Tried and failed (Stripe declined, a timeout…).
    Failed,
    /// Cancelled before it was performed (by the person who asked, or refused by an approver).
    Cancelled,
    /// Not performed because it no longer made sense when the object was read again (the
    /// invoice was paid meanwhile, the dispute closed).
    Moot,
}

impl Decision {
    /// The name as recorded.
    ///
    /// ```
    /// assert_eq!(stripe_chat_audit::Decision::Approved.as_str(), "approved");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Requested => "requested",
            Decision::Allowed => "allowed",
            Decision::Denied => "denied",
            Decision::Confirmed => "confirmed",
            Decision::Approved => "approved",
            Decision::Performed => "performed",
            Decision::Failed => "failed",
            Decision::Cancelled => "cancelled",
            Decision::Moot => "moot",
        }
    }
}

/// An amount, in the currency's smallest unit (cents for USD).
///
/// ```
/// let a = stripe_chat_audit::Amount { minor: 2000, currency: "usd".into() };
/// assert_eq!(serde_json::to_value(&a)?, serde_json::json!({"minor": 2000, "currency": "usd"}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    /// The amount in minor units.
    pub minor: i64,
    /// The ISO currency code, lowercase as Stripe writes it.
    pub currency: String,
}

/// One audited step. Holds no card data and no secret; `detail` carries only what the person
/// typed (redacted like a message) or a short outcome sentence.
///
/// ```
/// use stripe_chat_audit::{Actor, Decision, Entry};
/// let entry = Entry::new(Actor::operator("root"), "dlq_retry", Decision::Performed)
///     .at_ms(1_700_000_000_000)
///     .detail("3 jobs pending again");
/// assert_eq!(entry.action, "dlq_retry");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When, in Unix milliseconds.
    pub at_ms: i64,
    /// Who.
    pub actor: Actor,
    /// What: an action id (`retry_payment`, …) or an operator command (`dlq_retry`, `replay`,
    /// `backfill`).
    pub action: String,
    /// The Stripe object acted on (`invoice/in_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The Stripe account the object belongs to, for a connected account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The message the action was offered on (destination and message id, or an event id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The amount at stake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    /// What became of it.
    pub decision: Decision,
    /// The idempotency key the effect was requested with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Stripe's request id (`req_…`), when it could be had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_request: Option<String>,
    /// Why (for a denial or a failure), the outcome, or the text the person typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Entry {
    /// A step of `action` by `actor`, now.
    ///
    /// ```
    /// use stripe_chat_audit::{Actor, Decision, Entry};
    /// let e = Entry::new(Actor::chat("slack", "T1/U1"), "retry_payment", Decision::Requested);
    /// assert!(e.at_ms > 0);
    /// ```
    pub fn new(actor: Actor, action: impl Into<String>, decision: Decision) -> Self {
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Entry {
            at_ms,
            actor,
            action: action.into(),
            object: None,
            account: None,
            message: None,
            amount: None,
            decision,
            idempotency_key: None,
            stripe_request: None,
            detail: None,
        }
    }

    /// At `at_ms` (Unix milliseconds) instead of now.
    ///
    /// ```
    /// # use stripe_chat_audit::{Actor, Decision, Entry};
    /// assert_eq!(Entry::new(Actor::operator("x"), "a", Decision::Performed).at_ms(5).at_ms, 5);
    /// ```
    #[must_use]
    pub fn at_ms(mut self, at_ms: i64) -> Self {
        self.at_ms = at_ms;
        self
    }

    /// About `object` (`invoice/in_…`).
    ///
    /// ```
    /// # use stripe_chat_audit::{Actor, Decision, Entry};
    /// let e = Entry::new(Actor::operator("x"), "replay", Decision::Performed).object("invoice/in_1");
    /// assert_eq!(e.object.as_deref(), Some("invoice/in_1"));
    /// ```
    #[must_use]
    pub fn object(mut self, object: impl Into<String>) -> Self {
        self.object = Some(object.into());
        self
    }

    /// In the connected account `account`.
    ///
    /// ```
    /// # use stripe_chat_audit::{Actor, Decision, Entry};
    /// let e = Entry::new(Actor::operator("x"), "a", Decision::Performed).account("acct_1");
    /// assert_eq!(e.account.as_deref(), Some("acct_1"));
    /// ```
    #[must_use]
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// Offered on `message`.
    ///
    /// ```
    /// # use stripe_chat_audit::{Actor, Decision, Entry};
    /// let e = Entry::new(Actor::operator("x"), "replay", Decision::Performed).message("evt_1");
    /// assert_eq!(e.message.as_deref(), Some("evt_1"));
    /// ```
    #[must_use]
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// For `minor` units of `currency`.
    ///
    /// ```
    /// # use stripe_chat_audit::{Actor, Decision, Entry};
    /// let e = Entry::new(Actor::operator("x"), "a", Decision::Performed).amount(2000, "usd");
    /// assert_eq!(e.amount.map(|a| a.minor), Some(2000));
    /// ```
    #[must_use]
    pub fn amount(mut self, minor: i64, currency: impl Into<String>) -> Self {
        self.amount = Some(Amount {
            minor,
            currency: currency.into(),
        });
        self
    }

    /// Requested with the idempotency key `key`.
    ///
    /// ```
    /// # use stripe_chat_audit::{Actor, Decision, Entry};
    /// let e = Entry::new(Actor::operator("x"), "a", Decision::Performed).idempotency_key("k1");
    /// assert_eq!(e.idempotency_key.as_deref(), Some("k1"));
    /// ```
    #[must_use]
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Answered by Stripe's request `request` (`req_…`).
    ///
    /// ```
    /// # use stripe_chat_audit::{Actor, Decision, Entry};
    /// let e = Entry::new(Actor::operator("x"), "a", Decision::Failed).stripe_request("req_1");
    /// assert_eq!(e.stripe_request.as_deref(), Some("req_1"));
    /// ```
    #[must_use]
    pub fn stripe_request(mut self, request: impl Into<String>) -> Self {
        self.stripe_request = Some(request.into());
        self
    }

    /// With `detail`: why, the outcome, or what the person typed.
    ///
    /// ```
    /// # use stripe_chat_audit::{Actor, Decision, Entry};
    /// let e = Entry::new(Actor::operator("x"), "a", Decision::Denied).detail("no role grants it");
    /// assert_eq!(e.detail.as_deref(), Some("no role grants it"));
    /// ```
    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

//! What a platform hands to the actions engine when someone clicks, and what it answers: one
//! shape for Slack, Discord and, later, Teams and Matrix.
//!
//! A platform adapter verifies the request, turns it into a [`Click`] and calls
//! [`Actions::handle`], which answers at once with an [`Immediate`] (within the platform's
//! 3-second window: never a Stripe call on that path). Everything that follows (the outcome,
//! a question, a status line on the message) goes through the [`Responder`] the adapter gave.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use stripe_chat_message::{ActionStyle, MessageRef, ObjectKind, ObjectRef};

use crate::{ActionId, Identity};

/// A verified click (or form submission) from a chat platform.
///
/// ```
/// use stripe_chat_actions::{ActionId, Click, Identity, Intent};
/// use stripe_chat_message::{MessageRef, ObjectKind, ObjectRef};
/// let click = Click {
///     interaction_id: "slack:T1:1337.42".into(),
///     identity: Identity::slack("T1", "U1"),
///     display_name: Some("ana".into()),
///     message: MessageRef::new("slack", "1700000000.000100").in_channel("C1"),
///     intent: Intent::Press { action: ActionId::RetryPayment, target: ObjectRef::new(ObjectKind::Invoice, "in_1"), account: None },
/// };
/// assert_eq!(click.intent.token(), "sc:retry_payment:invoice:in_1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    /// The platform's id of this interaction, unique per click (deduplicated: a delivery the
    /// platform repeats is handled once).
    pub interaction_id: String,
    /// Who clicked.
    pub identity: Identity,
    /// Their display name on the platform, when it says (for status lines; never for
    /// permission, which goes by [`Click::identity`]).
    pub display_name: Option<String>,
    /// The message the button sits on (for the status line, and as part of the logical action:
    /// the same action offered on a new message is a new action).
    pub message: MessageRef,
    /// What they asked for.
    pub intent: Intent,
}

/// What a click asks for. Its [`Intent::token`] is what a platform puts in the button
/// (`action_id`/`value` on Slack, `custom_id` on Discord, at most 100 characters) and
/// [`Intent::parse`] reads back.
///
/// ```
/// use stripe_chat_actions::{ActionId, Intent};
/// use stripe_chat_message::{ObjectKind, ObjectRef};
/// let press = Intent::Press { action: ActionId::AddEvidence, target: ObjectRef::new(ObjectKind::Dispute, "dp_1"), account: None };
/// assert_eq!(Intent::parse(&press.token()), Some(press));
/// let confirm = Intent::Confirm { pending: "p_8f2a".into() };
/// assert_eq!(confirm.token(), "sc:confirm:p_8f2a");
/// assert_eq!(Intent::parse("sc:confirm:p_8f2a"), Some(confirm));
/// assert_eq!(Intent::parse("refund_all"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// A button of the message itself.
    Press {
        /// The action.
        action: ActionId,
        /// The object it acts on.
        target: ObjectRef,
        /// The connected account the object belongs to (`acct_...`), when the event came from
        /// one: Stripe calls then carry it as `Stripe-Account`.
        account: Option<String>,
    },
    /// The person who asked confirms their pending request (a button of a private prompt).
    Confirm {
        /// The pending request's id.
        pending: String,
    },
    /// A second person approves a pending request (four eyes).
    Approve {
        /// The pending request's id.
        pending: String,
    },
    /// The pending request is cancelled (by the person who asked, or refused by an approver).
    Cancel {
        /// The pending request's id.
        pending: String,
    },
    /// A form opened by [`Immediate::Form`] was submitted.
    Submit {
        /// The action the form belongs to.
        action: ActionId,
        /// The object it acts on.
        target: ObjectRef,
        /// The connected account the object belongs to, as in [`Intent::Press`].
        account: Option<String>,
        /// The values, by [`FormField::id`].
        fields: BTreeMap<String, String>,
    },
}

const PREFIX: &str = "sc";

impl Intent {
    /// The compact form a platform stores in a button or a form's callback id.
    ///
    /// ```
    /// use stripe_chat_actions::{ActionId, Intent};
    /// use stripe_chat_message::{ObjectKind, ObjectRef};
    /// let i = Intent::Submit { action: ActionId::AddEvidence, target: ObjectRef::new(ObjectKind::Dispute, "dp_1"), account: None, fields: Default::default() };
    /// assert_eq!(i.token(), "sc:add_evidence:dispute:dp_1");
    /// ```
    pub fn token(&self) -> String {
        match self {
            Intent::Press {
                action,
                target,
                account,
            }
            | Intent::Submit {
                action,
                target,
                account,
                ..
            } => stripe_chat_message::callback_token(action.as_str(), target, account.as_deref()),
            Intent::Confirm { pending } => format!("{PREFIX}:confirm:{pending}"),
            Intent::Approve { pending } => format!("{PREFIX}:approve:{pending}"),
            Intent::Cancel { pending } => format!("{PREFIX}:cancel:{pending}"),
        }
    }

    /// Reads a token back: a press for an action token (a form's callback token gives a press
    /// too; the platform turns it into [`Intent::Submit`] with the form's values). `None` for
    /// anything that is not ours.
    ///
    /// ```
    /// use stripe_chat_actions::Intent;
    /// assert!(matches!(Intent::parse("sc:mark_contacted:customer:cus_1"), Some(Intent::Press { .. })));
    /// assert_eq!(Intent::parse("sc:approve:"), None);
    /// ```
    pub fn parse(token: &str) -> Option<Intent> {
        let rest = token.strip_prefix(PREFIX)?.strip_prefix(':')?;
        let (verb, rest) = rest.split_once(':')?;
        let pending = || (!rest.is_empty() && !rest.contains(':')).then(|| rest.to_owned());
        match verb {
            "confirm" => Some(Intent::Confirm {
                pending: pending()?,
            }),
            "approve" => Some(Intent::Approve {
                pending: pending()?,
            }),
            "cancel" => Some(Intent::Cancel {
                pending: pending()?,
            }),
            action => {
                let action: ActionId = action.parse().ok()?;
                let (kind, id) = rest.split_once(':')?;
                let (id, account) = match id.split_once('@') {
                    Some((id, account)) if is_word(account) => (id, Some(account.to_owned())),
                    Some(_) => return None,
                    None => (id, None),
                };
                if !is_word(id) {
                    return None;
                }
                Some(Intent::Press {
                    action,
                    target: ObjectRef::new(object_kind(kind)?, id),
                    account,
                })
            }
        }
    }
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn object_kind(name: &str) -> Option<ObjectKind> {
    Some(match name {
        "invoice" => ObjectKind::Invoice,
        "payment_intent" => ObjectKind::PaymentIntent,
        "charge" => ObjectKind::Charge,
        "dispute" => ObjectKind::Dispute,
        "customer" => ObjectKind::Customer,
        "subscription" => ObjectKind::Subscription,
        "refund" => ObjectKind::Refund,
        "event" => ObjectKind::Event,
        other
            if !other.is_empty() && other.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
        {
            ObjectKind::Other(other.to_owned())
        }
        _ => return None,
    })
}

/// The platform's answer within its window.
///
/// ```
/// use stripe_chat_actions::{Immediate, Notice};
/// let i = Immediate::Tell(Notice::text("You cannot approve your own request."));
/// assert!(matches!(i, Immediate::Tell(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Immediate {
    /// Acknowledge (Slack: an empty 200; Discord: a deferred update); what follows comes through
    /// the [`Responder`].
    Ack,
    /// Tell the person privately, now (Slack: an ephemeral answer; Discord: an ephemeral
    /// message).
    Tell(Notice),
    /// Open a form for the person (Slack: `views.open` with the trigger; Discord: a modal).
    Form(Form),
}

/// A private message to one person, with buttons (confirm, cancel, approve) when it asks
/// something.
///
/// ```
/// use stripe_chat_actions::{Intent, Notice, PromptButton};
/// use stripe_chat_message::ActionStyle;
/// let n = Notice::text("Retry the payment of 842.00 USD on invoice in_1?")
///     .button(PromptButton::new("Retry payment", Intent::Confirm { pending: "p_1".into() }, ActionStyle::Danger))
///     .button(PromptButton::new("Cancel", Intent::Cancel { pending: "p_1".into() }, ActionStyle::Default));
/// assert_eq!(n.buttons.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// What to say (plain text; the platform escapes it).
    pub text: String,
    /// Buttons under it.
    pub buttons: Vec<PromptButton>,
}

impl Notice {
    /// Just text.
    ///
    /// ```
    /// assert!(stripe_chat_actions::Notice::text("Done.").buttons.is_empty());
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        Notice {
            text: text.into(),
            buttons: Vec::new(),
        }
    }

    /// With one more button.
    ///
    /// ```
    /// use stripe_chat_actions::{Intent, Notice, PromptButton};
    /// let n = Notice::text("Approve?").button(PromptButton::new("Approve", Intent::Approve { pending: "p".into() }, Default::default()));
    /// assert_eq!(n.buttons[0].intent.token(), "sc:approve:p");
    /// ```
    #[must_use]
    pub fn button(mut self, button: PromptButton) -> Self {
        self.buttons.push(button);
        self
    }
}

/// A button of a [`Notice`] or a status line.
///
/// ```
/// use stripe_chat_actions::{Intent, PromptButton};
/// let b = PromptButton::new("Cancel", Intent::Cancel { pending: "p".into() }, Default::default());
/// assert_eq!(b.label, "Cancel");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptButton {
    /// Its label.
    pub label: String,
    /// What clicking it asks for.
    pub intent: Intent,
    /// How it looks.
    pub style: ActionStyle,
}

impl PromptButton {
    /// A button.
    ///
    /// ```
    /// # use stripe_chat_actions::{Intent, PromptButton};
    /// assert_eq!(PromptButton::new("Go", Intent::Confirm { pending: "p".into() }, Default::default()).intent, Intent::Confirm { pending: "p".into() });
    /// ```
    pub fn new(label: impl Into<String>, intent: Intent, style: ActionStyle) -> Self {
        PromptButton {
            label: label.into(),
            intent,
            style,
        }
    }
}

/// A form to fill in (dispute evidence, an assignee).
///
/// ```
/// use stripe_chat_actions::{ActionId, Form, FormField, Intent};
/// use stripe_chat_message::{ObjectKind, ObjectRef};
/// let form = Form {
///     title: "Add evidence".into(),
///     submit: Intent::Press { action: ActionId::AddEvidence, target: ObjectRef::new(ObjectKind::Dispute, "dp_1"), account: None },
///     fields: vec![FormField { id: "uncategorized_text".into(), label: "Evidence".into(), multiline: true, max_chars: 4000, required: true }],
/// };
/// assert_eq!(form.submit.token(), "sc:add_evidence:dispute:dp_1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// Its title (Slack allows 24 characters, Discord 45).
    pub title: String,
    /// The intent whose [`Intent::token`] is the form's callback id; its submission comes back
    /// as [`Intent::Submit`] with the same action and target.
    pub submit: Intent,
    /// Its fields.
    pub fields: Vec<FormField>,
}

/// One text field of a [`Form`].
///
/// ```
/// let f = stripe_chat_actions::FormField { id: "assignee".into(), label: "Assign to".into(), multiline: false, max_chars: 80, required: true };
/// assert!(!f.multiline);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    /// Its id in [`Intent::Submit::fields`].
    pub id: String,
    /// Its label.
    pub label: String,
    /// Several lines.
    pub multiline: bool,
    /// Its longest accepted value, in characters (Discord allows 4,000).
    pub max_chars: usize,
    /// Whether it must be filled in.
    pub required: bool,
}

/// A line added to the message for everyone: what happened to it ("Payment retried by ana —
/// succeeded", "Assigned to bo"), with a link when there is one (a ticket) and buttons when it
/// asks someone else (four eyes: "Approve" for a second person).
///
/// ```
/// let s = stripe_chat_actions::StatusLine::new("Ticket opened by ana").link("https://tickets.example/T-42");
/// assert_eq!(s.url.as_deref(), Some("https://tickets.example/T-42"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    /// The line (plain text; the platform escapes it).
    pub text: String,
    /// A link to go with it.
    pub url: Option<String>,
    /// Buttons to go with it (an approval asked of a second person).
    pub buttons: Vec<PromptButton>,
}

impl StatusLine {
    /// A line without a link.
    ///
    /// ```
    /// assert!(stripe_chat_actions::StatusLine::new("Assigned to bo").url.is_none());
    /// ```
    pub fn new(text: impl Into<String>) -> Self {
        StatusLine {
            text: text.into(),
            url: None,
            buttons: Vec::new(),
        }
    }

    /// With a link.
    ///
    /// ```
    /// assert!(stripe_chat_actions::StatusLine::new("x").link("https://x.example").url.is_some());
    /// ```
    #[must_use]
    pub fn link(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// With one more button.
    ///
    /// ```
    /// use stripe_chat_actions::{Intent, PromptButton, StatusLine};
    /// let s = StatusLine::new("ana asks to retry 1,200.00 USD").button(PromptButton::new("Approve", Intent::Approve { pending: "p".into() }, Default::default()));
    /// assert_eq!(s.buttons.len(), 1);
    /// ```
    #[must_use]
    pub fn button(mut self, button: PromptButton) -> Self {
        self.buttons.push(button);
        self
    }
}

/// Why a platform could not pass something on to the person or the message.
///
/// ```
/// let e = stripe_chat_actions::RespondError::new("the response_url expired");
/// assert_eq!(e.to_string(), "could not answer on the platform: the response_url expired");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not answer on the platform: {reason}")]
pub struct RespondError {
    /// What went wrong (never a token or a secret).
    pub reason: String,
}

impl RespondError {
    /// An error saying `reason`.
    ///
    /// ```
    /// assert_eq!(stripe_chat_actions::RespondError::new("gone").reason, "gone");
    /// ```
    pub fn new(reason: impl Into<String>) -> Self {
        RespondError {
            reason: reason.into(),
        }
    }
}

/// How the engine speaks after its [`Immediate`] answer: privately to the person who clicked,
/// and on the message for everyone. A platform implements it per click (Slack: `response_url`
/// and `chat.update`; Discord: the interaction's follow-up webhook and `@original`).
///
/// ```
/// use std::sync::Mutex;
/// use stripe_chat_actions::{Notice, RespondError, Responder, StatusLine};
/// #[derive(Default)]
/// struct Recorder(Mutex<Vec<String>>);
/// #[async_trait::async_trait]
/// impl Responder for Recorder {
///     async fn tell(&self, notice: Notice) -> Result<(), RespondError> {
///         self.0.lock().map_err(|_| RespondError::new("poisoned"))?.push(notice.text);
///         Ok(())
///     }
///     async fn update(&self, status: StatusLine) -> Result<(), RespondError> {
///         self.0.lock().map_err(|_| RespondError::new("poisoned"))?.push(status.text);
///         Ok(())
///     }
/// }
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let r = Recorder::default();
/// r.tell(Notice::text("Payment retried: succeeded.")).await?;
/// assert_eq!(r.0.lock().map_err(|_| RespondError::new("poisoned"))?.len(), 1);
/// # Ok::<(), RespondError>(()) })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[async_trait]
pub trait Responder: Send + Sync {
    /// Tells the person who clicked, privately.
    async fn tell(&self, notice: Notice) -> Result<(), RespondError>;

    /// Adds (or replaces) the status line on the message, for everyone: the message keeps its
    /// content and its buttons; the line goes under it.
    async fn update(&self, status: StatusLine) -> Result<(), RespondError>;
}

/// The actions engine, as platforms see it.
///
/// `handle` must answer within about 2 seconds (the platforms allow 3): it decides, records
/// and answers; Stripe calls, hooks and their outcomes run after it returns and are told
/// through `responder`. A click whose interaction id was already handled answers
/// [`Immediate::Ack`] and does nothing.
///
/// ```
/// use std::sync::Arc;
/// use stripe_chat_actions::{Actions, Click, Immediate, Notice, Responder};
/// struct Closed;
/// #[async_trait::async_trait]
/// impl Actions for Closed {
///     async fn handle(&self, _click: Click, _responder: Arc<dyn Responder>) -> Immediate {
///         Immediate::Tell(Notice::text("Actions are switched off here."))
///     }
/// }
/// let _engine: Arc<dyn Actions> = Arc::new(Closed);
/// ```
#[async_trait]
pub trait Actions: Send + Sync {
    /// Handles one verified click.
    async fn handle(&self, click: Click, responder: std::sync::Arc<dyn Responder>) -> Immediate;
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.token())
    }
}

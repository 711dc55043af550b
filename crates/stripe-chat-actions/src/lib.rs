//! Acting from chat on Stripe objects: which actions exist, who may take them, and the rules that
//! make money move once.
//!
//! - [`ActionId`]: the actions a message offers (`retry_payment`, `send_dunning_email`,
//!   `add_evidence`, `submit_evidence`, `mark_contacted`, `assign`, `notify`, `create_ticket`,
//!   `open`); their ids are part of the configuration.
//! - [`Permissions`]: people (chat [`Identity`]s) and roles from `[[people]]` and `[[roles]]`;
//!   [`Permissions::decide`] says whether a request is allowed, whether it needs a confirmation
//!   on the server (it moves money) and a second person's approval (four eyes), or why it is
//!   denied ([`Denial`], worded for the person who asked). Deny by default: an unknown identity,
//!   an action no role grants, a mode, account or amount outside the role is refused.
//! - [`Pending`]: a request between clicks: confirmed on the server by the person who asked,
//!   approved by another person when a role says so, each within its expiry.
//! - [`Actions`]: the engine as platforms see it: a verified [`Click`] in, an [`Immediate`]
//!   answer within the platform's window, and what follows through the platform's
//!   [`Responder`] (private [`Notice`]s, a [`StatusLine`] on the message for everyone).
//! - [`Operations`]: whoever performs them (Stripe, the team's hooks, our destinations): read
//!   the object fresh ([`Subject`]), then perform a [`Task`] once, with a [`Performed`] or a
//!   [`Failure`] worded for people.
//! - [`idempotency_key`]: one key per logical action (action, object, the message it was offered
//!   on), never per click, so double clicks, retries and two people at once move money once.
//!
//! ```
//! use stripe_chat_actions::{ActionId, ActionRequest, Identity, Permissions, Verdict};
//! let permissions = Permissions::from_toml(r#"
//! [[roles]]
//! name = "billing"
//! actions = ["retry_payment", "send_dunning_email", "mark_contacted", "assign", "create_ticket"]
//! max_amount = { usd = 1000.0 }
//! [[roles]]
//! name = "finance"
//! actions = ["*"]
//! [[people]]
//! name = "ana"
//! roles = ["billing"]
//! slack = ["T0123ABCD/U0123ABCD"]
//! discord = ["80351110224678912"]
//! "#)?;
//! let request = ActionRequest::new(ActionId::RetryPayment).amount(42_000, "usd").livemode(true);
//! let verdict = permissions.decide(&Identity::discord("80351110224678912"), &request);
//! assert_eq!(verdict, Verdict::Allowed { person: "ana".into(), confirm: true, approval: false });
//! # Ok::<(), stripe_chat_actions::PolicyError>(())
//! ```
#![forbid(unsafe_code)]

mod action;
mod click;
mod operations;
mod pending;
mod policy;

pub use action::{ActionId, UnknownAction, idempotency_key};
pub use click::{
    Actions, Click, Form, FormField, Immediate, Intent, Notice, PromptButton, RespondError,
    Responder, StatusLine,
};
pub use operations::{Failure, FailureKind, Operations, Performed, Subject, Task};
pub use pending::{DEFAULT_EXPIRY, Pending, Stage};
pub use policy::{
    ActionRequest, Denial, Identity, Mode, Permissions, PersonConfig, Platform, PolicyError,
    RoleConfig, Verdict,
};

//! [`Router`]: the one [`Operations`] the engine talks to, sending each action to the performer
//! configured for it: Stripe's actions to Stripe, tickets and mail to the team's hooks, `assign`
//! and `notify` to our own destinations through a [`Poster`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use stripe_chat_actions::{ActionId, Failure, FailureKind, Operations, Performed, Subject, Task};
use stripe_chat_message::{ChatMessage, Field, ObjectKind, ObjectRef, Severity};
use stripe_chat_store::Store;

use crate::config::CheckedActions;
use crate::hooks::{HookError, MailerHook, TicketHook};

/// Why a post to a destination failed.
///
/// ```
/// let e = stripe_chat_act::PostError::new("no destination named legal");
/// assert_eq!(e.to_string(), "could not post: no destination named legal");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not post: {reason}")]
pub struct PostError {
    /// Why (never a token or a secret).
    pub reason: String,
}

impl PostError {
    /// A failure saying `reason`.
    ///
    /// ```
    /// assert_eq!(stripe_chat_act::PostError::new("full").reason, "full");
    /// ```
    pub fn new(reason: impl Into<String>) -> Self {
        PostError {
            reason: reason.into(),
        }
    }
}

/// Posts a message to one of the service's destinations (by its `[[destinations]]` name). The
/// server implements it by enqueueing a delivery, so the message goes out durably, with
/// retries, like any other.
///
/// ```
/// use std::sync::Mutex;
/// use stripe_chat_act::{PostError, Poster};
/// use stripe_chat_message::ChatMessage;
/// #[derive(Default)]
/// struct Recorder(Mutex<Vec<(String, String)>>);
/// #[async_trait::async_trait]
/// impl Poster for Recorder {
///     async fn post(&self, destination: &str, message: ChatMessage) -> Result<(), PostError> {
///         self.0.lock().map_err(|_| PostError::new("poisoned"))?.push((destination.to_owned(), message.title));
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Poster: Send + Sync {
    /// Posts `message` to `destination`.
    async fn post(&self, destination: &str, message: ChatMessage) -> Result<(), PostError>;
}

/// The assignee a task names: the form's `assignee` field, else the person who asked.
pub(crate) fn assignee(task_fields: &BTreeMap<String, String>, person: &str) -> String {
    task_fields
        .get("assignee")
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
        .unwrap_or(person)
        .to_owned()
}

fn describe(target: &ObjectRef) -> String {
    format!("{} {}", target.kind.as_str().replace('_', " "), target.id)
}

/// Sends each action to its performer:
///
/// | action | performer |
/// |---|---|
/// | `retry_payment`, `add_evidence`, `submit_evidence` | the Stripe operations |
/// | `mark_contacted` | the Stripe operations (the customer's metadata), then our store's contact record |
/// | `send_dunning_email` | the mailer hook when one is configured, else the Stripe operations |
/// | `create_ticket` | the ticket hook |
/// | `assign` | a post to the assign destination, and our store's assignment |
/// | `notify` | a post to each notify destination |
///
/// Every action is about a Stripe object, so [`Operations::inspect`] always asks the Stripe
/// operations (amount, mode, whether the action still makes sense). An action whose performer
/// is not configured fails as [`FailureKind::Misconfigured`], saying what to configure.
///
/// ```
/// use std::sync::Arc;
/// use stripe_chat_act::Router;
/// use stripe_chat_actions::{ActionId, Failure, Operations, Performed, Subject, Task};
/// use stripe_chat_message::ObjectRef;
/// struct Stripe;
/// #[async_trait::async_trait]
/// impl Operations for Stripe {
///     async fn inspect(&self, _: ActionId, target: &ObjectRef, _: Option<&str>) -> Result<Subject, Failure> {
///         Ok(Subject::new(target.to_string()))
///     }
///     async fn perform(&self, _: &Task) -> Result<Performed, Failure> {
///         Ok(Performed::new("succeeded"))
///     }
/// }
/// let store = Arc::new(stripe_chat_store::MemoryStore::new());
/// let router = Router::new(Arc::new(Stripe), store).notify_to(vec!["legal".into()]);
/// # let _ = router;
/// ```
#[derive(Clone)]
pub struct Router {
    stripe: Arc<dyn Operations>,
    store: Arc<dyn Store>,
    ticket: Option<Arc<dyn Operations>>,
    mailer: Option<Arc<dyn Operations>>,
    poster: Option<Arc<dyn Poster>>,
    assign_to: Option<String>,
    notify_to: Vec<String>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("ticket", &self.ticket.is_some())
            .field("mailer", &self.mailer.is_some())
            .field("poster", &self.poster.is_some())
            .field("assign_to", &self.assign_to)
            .field("notify_to", &self.notify_to)
            .finish_non_exhaustive()
    }
}

impl Router {
    /// A router sending Stripe's actions to `stripe` and keeping contacts and assignments in
    /// `store`; no hook, no poster yet.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # struct S;
    /// # #[async_trait::async_trait]
    /// # impl stripe_chat_actions::Operations for S {
    /// #     async fn inspect(&self, _: stripe_chat_actions::ActionId, t: &stripe_chat_message::ObjectRef, _: Option<&str>) -> Result<stripe_chat_actions::Subject, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Subject::new(t.to_string())) }
    /// #     async fn perform(&self, _: &stripe_chat_actions::Task) -> Result<stripe_chat_actions::Performed, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Performed::new("ok")) }
    /// # }
    /// let router = stripe_chat_act::Router::new(Arc::new(S), Arc::new(stripe_chat_store::MemoryStore::new()));
    /// assert!(format!("{router:?}").contains("ticket: false"));
    /// ```
    pub fn new(stripe: Arc<dyn Operations>, store: Arc<dyn Store>) -> Self {
        Router {
            stripe,
            store,
            ticket: None,
            mailer: None,
            poster: None,
            assign_to: None,
            notify_to: Vec::new(),
        }
    }

    /// The router the checked `[actions]` table describes: its hooks, its destinations, and
    /// `poster` for them.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # struct S;
    /// # #[async_trait::async_trait]
    /// # impl stripe_chat_actions::Operations for S {
    /// #     async fn inspect(&self, _: stripe_chat_actions::ActionId, t: &stripe_chat_message::ObjectRef, _: Option<&str>) -> Result<stripe_chat_actions::Subject, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Subject::new(t.to_string())) }
    /// #     async fn perform(&self, _: &stripe_chat_actions::Task) -> Result<stripe_chat_actions::Performed, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Performed::new("ok")) }
    /// # }
    /// # struct P;
    /// # #[async_trait::async_trait]
    /// # impl stripe_chat_act::Poster for P {
    /// #     async fn post(&self, _: &str, _: stripe_chat_message::ChatMessage) -> Result<(), stripe_chat_act::PostError> { Ok(()) }
    /// # }
    /// let config: stripe_chat_act::ActionsConfig = toml::from_str("[assign]\ndestination = \"queue\"")?;
    /// let checked = config.check()?;
    /// let router = stripe_chat_act::Router::from_config(&checked, Arc::new(S), Arc::new(P), Arc::new(stripe_chat_store::MemoryStore::new()))?;
    /// assert!(format!("{router:?}").contains("queue"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_config(
        config: &CheckedActions,
        stripe: Arc<dyn Operations>,
        poster: Arc<dyn Poster>,
        store: Arc<dyn Store>,
    ) -> Result<Self, HookError> {
        let mut router = Router::new(stripe, store).poster(poster);
        if let Some(target) = &config.create_ticket {
            router = router.ticket(Arc::new(TicketHook::new(target.clone())?));
        }
        if let Some((target, template)) = &config.dunning {
            router = router.mailer(Arc::new(MailerHook::new(target.clone(), template.clone())?));
        }
        if let Some(destination) = &config.assign {
            router = router.assign_to(destination.clone());
        }
        Ok(router.notify_to(config.notify.clone()))
    }

    /// Opens tickets through `ticket`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use stripe_chat_act::{HookTarget, Router, TicketHook};
    /// # struct S;
    /// # #[async_trait::async_trait]
    /// # impl stripe_chat_actions::Operations for S {
    /// #     async fn inspect(&self, _: stripe_chat_actions::ActionId, t: &stripe_chat_message::ObjectRef, _: Option<&str>) -> Result<stripe_chat_actions::Subject, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Subject::new(t.to_string())) }
    /// #     async fn perform(&self, _: &stripe_chat_actions::Task) -> Result<stripe_chat_actions::Performed, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Performed::new("ok")) }
    /// # }
    /// let hook = TicketHook::new(HookTarget::new("https://t.example.com".parse()?, stripe_chat_message::Secret::new("0123456789abcdef")))?;
    /// let router = Router::new(Arc::new(S), Arc::new(stripe_chat_store::MemoryStore::new())).ticket(Arc::new(hook));
    /// assert!(format!("{router:?}").contains("ticket: true"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn ticket(mut self, ticket: Arc<dyn Operations>) -> Self {
        self.ticket = Some(ticket);
        self
    }

    /// Sends dunning emails through `mailer` instead of Stripe.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use stripe_chat_act::{HookTarget, MailerHook, Router};
    /// # struct S;
    /// # #[async_trait::async_trait]
    /// # impl stripe_chat_actions::Operations for S {
    /// #     async fn inspect(&self, _: stripe_chat_actions::ActionId, t: &stripe_chat_message::ObjectRef, _: Option<&str>) -> Result<stripe_chat_actions::Subject, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Subject::new(t.to_string())) }
    /// #     async fn perform(&self, _: &stripe_chat_actions::Task) -> Result<stripe_chat_actions::Performed, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Performed::new("ok")) }
    /// # }
    /// let hook = MailerHook::new(HookTarget::new("https://m.example.com".parse()?, stripe_chat_message::Secret::new("0123456789abcdef")), "late")?;
    /// let router = Router::new(Arc::new(S), Arc::new(stripe_chat_store::MemoryStore::new())).mailer(Arc::new(hook));
    /// assert!(format!("{router:?}").contains("mailer: true"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn mailer(mut self, mailer: Arc<dyn Operations>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Posts `assign` and `notify` through `poster`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # struct S;
    /// # #[async_trait::async_trait]
    /// # impl stripe_chat_actions::Operations for S {
    /// #     async fn inspect(&self, _: stripe_chat_actions::ActionId, t: &stripe_chat_message::ObjectRef, _: Option<&str>) -> Result<stripe_chat_actions::Subject, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Subject::new(t.to_string())) }
    /// #     async fn perform(&self, _: &stripe_chat_actions::Task) -> Result<stripe_chat_actions::Performed, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Performed::new("ok")) }
    /// # }
    /// # struct P;
    /// # #[async_trait::async_trait]
    /// # impl stripe_chat_act::Poster for P {
    /// #     async fn post(&self, _: &str, _: stripe_chat_message::ChatMessage) -> Result<(), stripe_chat_act::PostError> { Ok(()) }
    /// # }
    /// let router = stripe_chat_act::Router::new(Arc::new(S), Arc::new(stripe_chat_store::MemoryStore::new())).poster(Arc::new(P));
    /// assert!(format!("{router:?}").contains("poster: true"));
    /// ```
    #[must_use]
    pub fn poster(mut self, poster: Arc<dyn Poster>) -> Self {
        self.poster = Some(poster);
        self
    }

    /// Posts assignments to `destination`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # struct S;
    /// # #[async_trait::async_trait]
    /// # impl stripe_chat_actions::Operations for S {
    /// #     async fn inspect(&self, _: stripe_chat_actions::ActionId, t: &stripe_chat_message::ObjectRef, _: Option<&str>) -> Result<stripe_chat_actions::Subject, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Subject::new(t.to_string())) }
    /// #     async fn perform(&self, _: &stripe_chat_actions::Task) -> Result<stripe_chat_actions::Performed, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Performed::new("ok")) }
    /// # }
    /// let router = stripe_chat_act::Router::new(Arc::new(S), Arc::new(stripe_chat_store::MemoryStore::new())).assign_to("queue");
    /// assert!(format!("{router:?}").contains("\"queue\""));
    /// ```
    #[must_use]
    pub fn assign_to(mut self, destination: impl Into<String>) -> Self {
        self.assign_to = Some(destination.into());
        self
    }

    /// Posts `notify` to `destinations`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # struct S;
    /// # #[async_trait::async_trait]
    /// # impl stripe_chat_actions::Operations for S {
    /// #     async fn inspect(&self, _: stripe_chat_actions::ActionId, t: &stripe_chat_message::ObjectRef, _: Option<&str>) -> Result<stripe_chat_actions::Subject, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Subject::new(t.to_string())) }
    /// #     async fn perform(&self, _: &stripe_chat_actions::Task) -> Result<stripe_chat_actions::Performed, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Performed::new("ok")) }
    /// # }
    /// let router = stripe_chat_act::Router::new(Arc::new(S), Arc::new(stripe_chat_store::MemoryStore::new())).notify_to(vec!["legal".into(), "finance".into()]);
    /// assert!(format!("{router:?}").contains("finance"));
    /// ```
    #[must_use]
    pub fn notify_to(mut self, destinations: Vec<String>) -> Self {
        self.notify_to = destinations;
        self
    }

    fn poster_for(&self, what: &str) -> Result<&Arc<dyn Poster>, Failure> {
        self.poster.as_ref().ok_or_else(|| {
            Failure::new(
                FailureKind::Misconfigured,
                format!("{what} has nowhere to post here"),
            )
        })
    }

    async fn assign(&self, task: &Task) -> Result<Performed, Failure> {
        let destination = self.assign_to.as_deref().ok_or_else(|| {
            Failure::new(
                FailureKind::Misconfigured,
                "assigning needs [actions.assign] destination in the configuration",
            )
        })?;
        let poster = self.poster_for("assign")?;
        let assignee = assignee(&task.fields, &task.person);
        let object = describe(&task.target);
        let mut message = ChatMessage::new(format!("Assigned to {assignee}: {object}"));
        message.summary = format!("{} assigned {object} to {assignee}.", task.person);
        message.severity = Severity::Info;
        message
            .fields
            .push(Field::new("Assignee", assignee.clone()));
        message.thread_key = Some(task.target.clone());
        poster
            .post(destination, message)
            .await
            .map_err(|e| Failure::new(FailureKind::Unavailable, e.to_string()))?;
        self.store
            .assignment_set(
                &task.target.to_string(),
                &assignee,
                &task.person,
                SystemTime::now(),
            )
            .await
            .map_err(|_| {
                Failure::new(
                    FailureKind::Unavailable,
                    "posted, but the assignment could not be kept; try again",
                )
            })?;
        Ok(Performed::new(format!("to {assignee}")))
    }

    async fn notify(&self, task: &Task) -> Result<Performed, Failure> {
        if self.notify_to.is_empty() {
            return Err(Failure::new(
                FailureKind::Misconfigured,
                "notifying needs [actions.notify] destinations in the configuration",
            ));
        }
        let poster = self.poster_for("notify")?;
        let object = describe(&task.target);
        for destination in &self.notify_to {
            let mut message =
                ChatMessage::new(format!("{} asks you to look at {object}", task.person));
            message.summary = format!(
                "Shared by {} from the message {} on {}.",
                task.person, task.message.id, task.message.provider
            );
            message.severity = Severity::Info;
            if let Some(note) = task.fields.get("note").filter(|n| !n.trim().is_empty()) {
                message.fields.push(Field::new("Note", note.trim()));
            }
            message.thread_key = Some(task.target.clone());
            poster
                .post(destination, message)
                .await
                .map_err(|e| Failure::new(FailureKind::Unavailable, e.to_string()))?;
        }
        Ok(Performed::new(format!(
            "sent to {}",
            self.notify_to.join(", ")
        )))
    }

    async fn mark_contacted(&self, task: &Task) -> Result<Performed, Failure> {
        if task.target.kind != ObjectKind::Customer {
            return Err(Failure::new(
                FailureKind::Refused,
                "only a customer can be marked as contacted",
            ));
        }
        let performed = self.stripe.perform(task).await?;
        self.store
            .contact_record(&task.target.id, &task.person, SystemTime::now())
            .await
            .map_err(|_| {
                Failure::new(
                    FailureKind::Unavailable,
                    "recorded in Stripe, but not here yet; try again",
                )
            })?;
        Ok(performed)
    }
}

#[async_trait]
impl Operations for Router {
    async fn inspect(
        &self,
        action: ActionId,
        target: &ObjectRef,
        account: Option<&str>,
    ) -> Result<Subject, Failure> {
        self.stripe.inspect(action, target, account).await
    }

    async fn perform(&self, task: &Task) -> Result<Performed, Failure> {
        match task.action {
            ActionId::RetryPayment | ActionId::AddEvidence | ActionId::SubmitEvidence => {
                self.stripe.perform(task).await
            }
            ActionId::SendDunningEmail => match &self.mailer {
                Some(mailer) => mailer.perform(task).await,
                None => self.stripe.perform(task).await,
            },
            ActionId::MarkContacted => self.mark_contacted(task).await,
            ActionId::CreateTicket => match &self.ticket {
                Some(ticket) => ticket.perform(task).await,
                None => Err(Failure::new(
                    FailureKind::Misconfigured,
                    "opening tickets needs [actions.create_ticket] in the configuration",
                )),
            },
            ActionId::Assign => self.assign(task).await,
            ActionId::Notify => self.notify(task).await,
            // A link: nothing to perform.
            _ => Err(Failure::new(
                FailureKind::Refused,
                format!("“{}” is a link, not an action", task.action.label()),
            )),
        }
    }
}

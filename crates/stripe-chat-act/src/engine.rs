//! [`Engine`]: the actions engine behind every platform's interaction endpoint.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use stripe_chat_actions::{
    ActionId, ActionRequest, Actions, Click, Denial, FailureKind, Form, FormField, Identity,
    Immediate, Intent, Notice, Operations, Pending, Performed, Permissions, PromptButton,
    Responder, Stage, StatusLine, Subject, Task, Verdict, idempotency_key,
};
use stripe_chat_audit::{Actor, AuditLog, Decision, Entry};
use stripe_chat_events::Money;
use stripe_chat_message::{ActionStyle, MessageRef, ObjectRef, TextSlot};
use stripe_chat_redact::{DefaultPolicy, Visibility};
use stripe_chat_store::{
    Claim, LedgerOutcome, LedgerStatus, NewPending, PendingChange, PendingRow, Store,
};
use tokio::sync::Notify;

use crate::config::DEFAULT_CONFIRMATION_EXPIRY;
use crate::router::assignee;

/// How long `handle` waits on the store before answering that it cannot take the click now.
pub const DEFAULT_ANSWER_WITHIN: Duration = Duration::from_millis(1500);

/// After how long a claimed action without an outcome counts as abandoned (its performer died)
/// and may be claimed again, by default.
pub const DEFAULT_CLAIM_STALE_AFTER: Duration = Duration::from_secs(5 * 60);

/// The stage name of a cancelled request in the store.
const CANCELLED: &str = "cancelled";

/// What people are told when the audit log cannot record a step that would act: nothing acts
/// without its record.
const UNRECORDED: &str = "stripe-chat cannot record this in its audit log right now; nothing was done. Try again in a moment.";

/// The longest evidence text a form takes (Discord's limit for a text input).
const EVIDENCE_MAX_CHARS: usize = 4000;
/// The longest assignee name a form takes.
const ASSIGNEE_MAX_CHARS: usize = 80;

/// What people are told when the store cannot take a click.
const BUSY: &str =
    "stripe-chat cannot take this click right now; nothing was done. Try again in a moment.";

/// The actions engine: a verified [`Click`] in, an [`Immediate`] answer within the platform's
/// window, and everything else in a task of its own that speaks through the [`Responder`].
///
/// For every click it:
/// 1. drops a repeated delivery (the interaction id, kept in the store) with a plain ack;
/// 2. refuses, privately and at once, a person or action no role grants (deny by default);
/// 3. opens the form of `add_evidence` and `assign`;
/// 4. after answering: reads the object fresh ([`Operations::inspect`]), decides with its
///    amount and mode ([`Permissions::decide`]), says so when the action no longer makes sense;
/// 5. for money-moving actions, keeps a pending request in the store (bound to the person, the
///    action, the object, the message and an expiry) and asks the person privately to confirm
///    ("Retry the payment of 842.00 USD on invoice INV-1?"); when a role asks for four eyes, the
///    message then shows a line with an Approve button for a second person;
/// 6. claims the logical action's idempotency key in the store's ledger and performs it once,
///    records the outcome, and updates the message for everyone ("Payment retried by ana —
///    succeeded") or tells the person privately when the outcome is theirs alone (an outage, a
///    timeout: nothing happened for anyone else).
///
/// Every step is an audit record (allowed, denied, confirmed, approved, cancelled, moot,
/// performed, failed) with the person and their chat identity, the action, the object, the
/// message, the amount, the idempotency key and the other side's reference; evidence text is
/// redacted like a message.
///
/// ```
/// # let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
/// # rt.block_on(async {
/// use std::sync::{Arc, Mutex};
/// use stripe_chat_act::Engine;
/// use stripe_chat_actions::*;
/// use stripe_chat_audit::AuditLog;
/// use stripe_chat_message::{MessageRef, ObjectKind, ObjectRef};
/// use stripe_chat_store::{MemoryStore, Store};
///
/// struct Stripe;
/// #[async_trait::async_trait]
/// impl Operations for Stripe {
///     async fn inspect(&self, _: ActionId, _: &ObjectRef, _: Option<&str>) -> Result<Subject, Failure> {
///         Ok(Subject::new("invoice INV-1").amount(84_200, "usd"))
///     }
///     async fn perform(&self, _: &Task) -> Result<Performed, Failure> {
///         Ok(Performed::new("succeeded"))
///     }
/// }
/// #[derive(Default)]
/// struct Said(Mutex<Vec<Notice>>);
/// #[async_trait::async_trait]
/// impl Responder for Said {
///     async fn tell(&self, notice: Notice) -> Result<(), RespondError> {
///         self.0.lock().map_err(|_| RespondError::new("poisoned"))?.push(notice);
///         Ok(())
///     }
///     async fn update(&self, _: StatusLine) -> Result<(), RespondError> { Ok(()) }
/// }
///
/// let permissions = Permissions::from_toml("[[roles]]\nname = \"billing\"\nactions = [\"retry_payment\"]\n[[people]]\nname = \"ana\"\nroles = [\"billing\"]\ndiscord = [\"42\"]\n")?;
/// let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
/// let audit = Arc::new(AuditLog::new(store.clone(), "acme"));
/// let engine = Engine::builder(permissions, Arc::new(Stripe), store, audit).build();
///
/// let said = Arc::new(Said::default());
/// let click = Click {
///     interaction_id: "discord:1".into(),
///     identity: Identity::discord("42"),
///     display_name: Some("Ana".into()),
///     message: MessageRef::new("discord", "1200").in_channel("900"),
///     intent: Intent::Press { action: ActionId::RetryPayment, target: ObjectRef::new(ObjectKind::Invoice, "in_1"), account: None },
/// };
/// assert_eq!(engine.handle(click, said.clone()).await, Immediate::Ack);
/// engine.settled().await;
/// let asked = said.0.lock().map_err(|_| "poisoned")?.remove(0);
/// assert_eq!(asked.text, "Retry the payment of 842.00 USD on invoice INV-1?");
/// assert!(matches!(asked.buttons[0].intent, Intent::Confirm { .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("confirmation_expiry", &self.inner.expiry)
            .field("running", &self.inner.tasks.running.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

struct Inner {
    permissions: Permissions,
    operations: Arc<dyn Operations>,
    store: Arc<dyn Store>,
    audit: Arc<AuditLog>,
    redaction: DefaultPolicy,
    expiry: Duration,
    claim_stale_after: Duration,
    answer_within: Duration,
    tasks: Arc<Tasks>,
}

/// The engine's tasks still running, and who waits for none to be.
#[derive(Default)]
struct Tasks {
    running: AtomicUsize,
    idle: Notify,
}

/// Builds an [`Engine`]: what the server calls once its configuration is checked.
///
/// ```
/// # use std::sync::Arc;
/// # struct S;
/// # #[async_trait::async_trait]
/// # impl stripe_chat_actions::Operations for S {
/// #     async fn inspect(&self, _: stripe_chat_actions::ActionId, t: &stripe_chat_message::ObjectRef, _: Option<&str>) -> Result<stripe_chat_actions::Subject, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Subject::new(t.to_string())) }
/// #     async fn perform(&self, _: &stripe_chat_actions::Task) -> Result<stripe_chat_actions::Performed, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Performed::new("ok")) }
/// # }
/// use std::time::Duration;
/// use stripe_chat_redact::{DefaultPolicy, Visibility};
/// let store: Arc<dyn stripe_chat_store::Store> = Arc::new(stripe_chat_store::MemoryStore::new());
/// let audit = Arc::new(stripe_chat_audit::AuditLog::new(store.clone(), "acme"));
/// let engine = stripe_chat_act::Engine::builder(Default::default(), Arc::new(S), store, audit)
///     .confirmation_expiry(Duration::from_secs(300))
///     .redaction(DefaultPolicy::new(Visibility::Internal))
///     .build();
/// assert!(format!("{engine:?}").contains("300s"));
/// ```
pub struct EngineBuilder {
    permissions: Permissions,
    operations: Arc<dyn Operations>,
    store: Arc<dyn Store>,
    audit: Arc<AuditLog>,
    redaction: DefaultPolicy,
    expiry: Duration,
    claim_stale_after: Duration,
    answer_within: Duration,
}

impl std::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("confirmation_expiry", &self.expiry)
            .finish_non_exhaustive()
    }
}

impl EngineBuilder {
    /// Gives a person `expiry` to confirm, and a second person as long to approve (default
    /// [`DEFAULT_CONFIRMATION_EXPIRY`]).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # struct S;
    /// # #[async_trait::async_trait]
    /// # impl stripe_chat_actions::Operations for S {
    /// #     async fn inspect(&self, _: stripe_chat_actions::ActionId, t: &stripe_chat_message::ObjectRef, _: Option<&str>) -> Result<stripe_chat_actions::Subject, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Subject::new(t.to_string())) }
    /// #     async fn perform(&self, _: &stripe_chat_actions::Task) -> Result<stripe_chat_actions::Performed, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Performed::new("ok")) }
    /// # }
    /// # let store: Arc<dyn stripe_chat_store::Store> = Arc::new(stripe_chat_store::MemoryStore::new());
    /// # let audit = Arc::new(stripe_chat_audit::AuditLog::new(store.clone(), "acme"));
    /// let b = stripe_chat_act::Engine::builder(Default::default(), Arc::new(S), store, audit)
    ///     .confirmation_expiry(std::time::Duration::from_secs(60));
    /// # let _ = b.build();
    /// ```
    #[must_use]
    pub fn confirmation_expiry(mut self, expiry: Duration) -> Self {
        self.expiry = expiry;
        self
    }

    /// Redacts the evidence text people type with `policy` before it is audited (default: the
    /// public level).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # struct S;
    /// # #[async_trait::async_trait]
    /// # impl stripe_chat_actions::Operations for S {
    /// #     async fn inspect(&self, _: stripe_chat_actions::ActionId, t: &stripe_chat_message::ObjectRef, _: Option<&str>) -> Result<stripe_chat_actions::Subject, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Subject::new(t.to_string())) }
    /// #     async fn perform(&self, _: &stripe_chat_actions::Task) -> Result<stripe_chat_actions::Performed, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Performed::new("ok")) }
    /// # }
    /// # let store: Arc<dyn stripe_chat_store::Store> = Arc::new(stripe_chat_store::MemoryStore::new());
    /// # let audit = Arc::new(stripe_chat_audit::AuditLog::new(store.clone(), "acme"));
    /// use stripe_chat_redact::{DefaultPolicy, Visibility};
    /// let b = stripe_chat_act::Engine::builder(Default::default(), Arc::new(S), store, audit)
    ///     .redaction(DefaultPolicy::new(Visibility::Restricted));
    /// # let _ = b.build();
    /// ```
    #[must_use]
    pub fn redaction(mut self, policy: DefaultPolicy) -> Self {
        self.redaction = policy;
        self
    }

    /// Lets an action claimed `after` ago without an outcome (its performer died) be claimed
    /// again (default [`DEFAULT_CLAIM_STALE_AFTER`]; keep it well above the performers'
    /// timeouts).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # struct S;
    /// # #[async_trait::async_trait]
    /// # impl stripe_chat_actions::Operations for S {
    /// #     async fn inspect(&self, _: stripe_chat_actions::ActionId, t: &stripe_chat_message::ObjectRef, _: Option<&str>) -> Result<stripe_chat_actions::Subject, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Subject::new(t.to_string())) }
    /// #     async fn perform(&self, _: &stripe_chat_actions::Task) -> Result<stripe_chat_actions::Performed, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Performed::new("ok")) }
    /// # }
    /// # let store: Arc<dyn stripe_chat_store::Store> = Arc::new(stripe_chat_store::MemoryStore::new());
    /// # let audit = Arc::new(stripe_chat_audit::AuditLog::new(store.clone(), "acme"));
    /// let b = stripe_chat_act::Engine::builder(Default::default(), Arc::new(S), store, audit)
    ///     .claim_stale_after(std::time::Duration::from_secs(600));
    /// # let _ = b.build();
    /// ```
    #[must_use]
    pub fn claim_stale_after(mut self, after: Duration) -> Self {
        self.claim_stale_after = after;
        self
    }

    /// Waits at most `within` for the store while answering a click (default
    /// [`DEFAULT_ANSWER_WITHIN`]; the platforms allow 3 seconds in all).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # struct S;
    /// # #[async_trait::async_trait]
    /// # impl stripe_chat_actions::Operations for S {
    /// #     async fn inspect(&self, _: stripe_chat_actions::ActionId, t: &stripe_chat_message::ObjectRef, _: Option<&str>) -> Result<stripe_chat_actions::Subject, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Subject::new(t.to_string())) }
    /// #     async fn perform(&self, _: &stripe_chat_actions::Task) -> Result<stripe_chat_actions::Performed, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Performed::new("ok")) }
    /// # }
    /// # let store: Arc<dyn stripe_chat_store::Store> = Arc::new(stripe_chat_store::MemoryStore::new());
    /// # let audit = Arc::new(stripe_chat_audit::AuditLog::new(store.clone(), "acme"));
    /// let b = stripe_chat_act::Engine::builder(Default::default(), Arc::new(S), store, audit)
    ///     .answer_within(std::time::Duration::from_secs(1));
    /// # let _ = b.build();
    /// ```
    #[must_use]
    pub fn answer_within(mut self, within: Duration) -> Self {
        self.answer_within = within;
        self
    }

    /// The engine.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # struct S;
    /// # #[async_trait::async_trait]
    /// # impl stripe_chat_actions::Operations for S {
    /// #     async fn inspect(&self, _: stripe_chat_actions::ActionId, t: &stripe_chat_message::ObjectRef, _: Option<&str>) -> Result<stripe_chat_actions::Subject, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Subject::new(t.to_string())) }
    /// #     async fn perform(&self, _: &stripe_chat_actions::Task) -> Result<stripe_chat_actions::Performed, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Performed::new("ok")) }
    /// # }
    /// # let store: Arc<dyn stripe_chat_store::Store> = Arc::new(stripe_chat_store::MemoryStore::new());
    /// # let audit = Arc::new(stripe_chat_audit::AuditLog::new(store.clone(), "acme"));
    /// let engine: Arc<dyn stripe_chat_actions::Actions> = Arc::new(stripe_chat_act::Engine::builder(Default::default(), Arc::new(S), store, audit).build());
    /// # let _ = engine;
    /// ```
    pub fn build(self) -> Engine {
        Engine {
            inner: Arc::new(Inner {
                permissions: self.permissions,
                operations: self.operations,
                store: self.store,
                audit: self.audit,
                redaction: self.redaction,
                expiry: self.expiry,
                claim_stale_after: self.claim_stale_after,
                answer_within: self.answer_within,
                tasks: Arc::new(Tasks::default()),
            }),
        }
    }
}

impl Engine {
    /// A builder of an engine deciding with `permissions`, reading and performing through
    /// `operations` (usually a [`Router`](crate::Router)), keeping its state in `store` and its
    /// records in `audit`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # struct S;
    /// # #[async_trait::async_trait]
    /// # impl stripe_chat_actions::Operations for S {
    /// #     async fn inspect(&self, _: stripe_chat_actions::ActionId, t: &stripe_chat_message::ObjectRef, _: Option<&str>) -> Result<stripe_chat_actions::Subject, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Subject::new(t.to_string())) }
    /// #     async fn perform(&self, _: &stripe_chat_actions::Task) -> Result<stripe_chat_actions::Performed, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Performed::new("ok")) }
    /// # }
    /// let store: Arc<dyn stripe_chat_store::Store> = Arc::new(stripe_chat_store::MemoryStore::new());
    /// let audit = Arc::new(stripe_chat_audit::AuditLog::new(store.clone(), "acme"));
    /// let _engine = stripe_chat_act::Engine::builder(Default::default(), Arc::new(S), store, audit).build();
    /// ```
    pub fn builder(
        permissions: Permissions,
        operations: Arc<dyn Operations>,
        store: Arc<dyn Store>,
        audit: Arc<AuditLog>,
    ) -> EngineBuilder {
        EngineBuilder {
            permissions,
            operations,
            store,
            audit,
            redaction: DefaultPolicy::new(Visibility::Public),
            expiry: DEFAULT_CONFIRMATION_EXPIRY,
            claim_stale_after: DEFAULT_CLAIM_STALE_AFTER,
            answer_within: DEFAULT_ANSWER_WITHIN,
        }
    }

    /// Waits until every action started so far has finished (for a graceful shutdown, and
    /// for tests).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// # rt.block_on(async {
    /// # use std::sync::Arc;
    /// # struct S;
    /// # #[async_trait::async_trait]
    /// # impl stripe_chat_actions::Operations for S {
    /// #     async fn inspect(&self, _: stripe_chat_actions::ActionId, t: &stripe_chat_message::ObjectRef, _: Option<&str>) -> Result<stripe_chat_actions::Subject, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Subject::new(t.to_string())) }
    /// #     async fn perform(&self, _: &stripe_chat_actions::Task) -> Result<stripe_chat_actions::Performed, stripe_chat_actions::Failure> { Ok(stripe_chat_actions::Performed::new("ok")) }
    /// # }
    /// # let store: Arc<dyn stripe_chat_store::Store> = Arc::new(stripe_chat_store::MemoryStore::new());
    /// # let audit = Arc::new(stripe_chat_audit::AuditLog::new(store.clone(), "acme"));
    /// let engine = stripe_chat_act::Engine::builder(Default::default(), Arc::new(S), store, audit).build();
    /// engine.settled().await; // nothing running: returns at once
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn settled(&self) {
        let tasks = &self.inner.tasks;
        loop {
            let notified = tasks.idle.notified();
            if tasks.running.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Runs `work` in a task of its own, counted for [`Engine::settled`].
    fn spawn<F>(&self, work: impl FnOnce(Arc<Inner>) -> F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        // Counted down once the work and everything it holds are gone, even if it panics.
        struct Done(Arc<Tasks>);
        impl Drop for Done {
            fn drop(&mut self) {
                if self.0.running.fetch_sub(1, Ordering::SeqCst) == 1 {
                    self.0.idle.notify_waiters();
                }
            }
        }
        let tasks = self.inner.tasks.clone();
        tasks.running.fetch_add(1, Ordering::SeqCst);
        let done = Done(tasks);
        let future = work(self.inner.clone());
        tokio::spawn(async move {
            let _done = done;
            future.await;
        });
    }
}

/// A click in context: who, on which message, answered through which responder.
#[derive(Clone)]
struct Ctx {
    click: Click,
    responder: Arc<dyn Responder>,
}

impl Ctx {
    async fn tell(&self, text: impl Into<String>) {
        self.tell_notice(Notice::text(text)).await;
    }

    async fn tell_notice(&self, notice: Notice) {
        if let Err(error) = self.responder.tell(notice).await {
            tracing::warn!(%error, interaction = %self.click.interaction_id, "a private answer could not be given");
        }
    }

    async fn update(&self, status: StatusLine) {
        if let Err(error) = self.responder.update(status).await {
            tracing::warn!(%error, interaction = %self.click.interaction_id, "the message's status line could not be updated");
        }
    }
}

/// The key of a message in idempotency keys and audit records: `provider:channel/id`.
fn message_key(message: &MessageRef) -> String {
    format!(
        "{}:{}/{}",
        message.provider,
        message.channel.as_deref().unwrap_or(""),
        message.id
    )
}

/// "Payment retried", as a status line starts.
fn done_phrase(action: ActionId) -> &'static str {
    match action {
        ActionId::RetryPayment => "Payment retried",
        ActionId::SendDunningEmail => "Dunning email sent",
        ActionId::AddEvidence => "Evidence added",
        ActionId::SubmitEvidence => "Evidence submitted",
        ActionId::MarkContacted => "Marked as contacted",
        ActionId::Assign => "Assigned",
        ActionId::Notify => "Shared",
        ActionId::CreateTicket => "Ticket opened",
        _ => "Done",
    }
}

/// "retry 1,200.00 USD", as in "ana asks to …".
fn ask_phrase(action: ActionId, subject_description: &str, amount: Option<&Money>) -> String {
    match (action, amount) {
        (ActionId::RetryPayment, Some(amount)) => format!("retry {amount}"),
        (ActionId::RetryPayment, None) => format!("retry the payment of {subject_description}"),
        (ActionId::SubmitEvidence, _) => format!("submit the evidence on {subject_description}"),
        (action, _) => format!("{} on {subject_description}", action.label().to_lowercase()),
    }
}

/// The question a person confirms: "Retry the payment of 842.00 USD on invoice INV-1?".
fn prompt(action: ActionId, description: &str, amount: Option<&Money>) -> String {
    match (action, amount) {
        (ActionId::RetryPayment, Some(amount)) => {
            format!("Retry the payment of {amount} on {description}?")
        }
        (ActionId::RetryPayment, None) => format!("Retry the payment of {description}?"),
        (ActionId::SubmitEvidence, _) => {
            format!("Submit the evidence on {description} to the bank? This cannot be undone.")
        }
        (action, _) => format!("{} on {description}?", action.label()),
    }
}

fn money(amount: &Option<(i64, String)>) -> Option<Money> {
    amount
        .as_ref()
        .map(|(minor, currency)| Money::new(*minor, currency))
}

/// The form an action opens, if any.
fn form_of(action: ActionId, target: &ObjectRef, account: &Option<String>) -> Option<Form> {
    let submit = Intent::Press {
        action,
        target: target.clone(),
        account: account.clone(),
    };
    match action {
        ActionId::AddEvidence => Some(Form {
            title: "Add evidence".into(),
            submit,
            fields: vec![FormField {
                id: "uncategorized_text".into(),
                label: "Evidence".into(),
                multiline: true,
                max_chars: EVIDENCE_MAX_CHARS,
                required: true,
            }],
        }),
        ActionId::Assign => Some(Form {
            title: "Assign".into(),
            submit,
            fields: vec![FormField {
                id: "assignee".into(),
                label: "Assign to (empty: yourself)".into(),
                multiline: false,
                max_chars: ASSIGNEE_MAX_CHARS,
                required: false,
            }],
        }),
        _ => None,
    }
}

/// Checks submitted values against the action's form: only its fields, required ones filled,
/// none too long. The sentence to tell the person otherwise.
fn check_fields(
    action: ActionId,
    target: &ObjectRef,
    account: &Option<String>,
    fields: &BTreeMap<String, String>,
) -> Result<(), String> {
    let Some(form) = form_of(action, target, account) else {
        return Err(format!("“{}” takes no form.", action.label()));
    };
    for id in fields.keys() {
        if !form.fields.iter().any(|f| &f.id == id) {
            return Err(format!(
                "The form of “{}” has no field {id:?}.",
                action.label()
            ));
        }
    }
    for field in &form.fields {
        let value = fields.get(&field.id).map(|v| v.trim()).unwrap_or("");
        if field.required && value.is_empty() {
            return Err(format!("“{}” must be filled in.", field.label));
        }
        if value.chars().count() > field.max_chars {
            return Err(format!(
                "“{}” takes at most {} characters.",
                field.label, field.max_chars
            ));
        }
    }
    Ok(())
}

/// What an audit record says about the action: filled in step by step.
#[derive(Clone, Default)]
struct Record {
    person: Option<String>,
    action: Option<ActionId>,
    object: Option<String>,
    account: Option<String>,
    message: Option<String>,
    amount: Option<Money>,
    key: Option<String>,
}

impl Inner {
    fn actor(&self, identity: &Identity, person: Option<&str>) -> Actor {
        let actor = Actor::chat(identity.platform().as_str(), identity.id());
        match person {
            Some(person) => actor.person(person),
            None => actor,
        }
    }

    /// Appends one record; a record that cannot be written is logged (never its content
    /// beyond ids).
    async fn audit(
        &self,
        identity: &Identity,
        record: &Record,
        decision: Decision,
        reference: Option<&str>,
        detail: Option<&str>,
    ) -> bool {
        let action = record.action.map_or("unknown", ActionId::as_str);
        let mut entry = Entry::new(
            self.actor(identity, record.person.as_deref()),
            action,
            decision,
        );
        if let Some(object) = &record.object {
            entry = entry.object(object);
        }
        if let Some(account) = &record.account {
            entry = entry.account(account);
        }
        if let Some(message) = &record.message {
            entry = entry.message(message);
        }
        if let Some(amount) = &record.amount {
            entry = entry.amount(amount.amount, amount.currency.clone());
        }
        if let Some(key) = &record.key {
            entry = entry.idempotency_key(key);
        }
        if let Some(reference) = reference {
            entry = entry.stripe_request(reference);
        }
        if let Some(detail) = detail {
            entry = entry.detail(detail);
        }
        match self.audit.append(entry).await {
            Ok(_) => true,
            Err(error) => {
                tracing::error!(%error, decision = decision.as_str(), "an audit record could not be written");
                false
            }
        }
    }

    /// A pressed button or a submitted form, after the answer: read, decide, then confirm or
    /// perform.
    async fn request(
        &self,
        ctx: Ctx,
        action: ActionId,
        target: ObjectRef,
        account: Option<String>,
        fields: BTreeMap<String, String>,
    ) {
        let identity = ctx.click.identity.clone();
        let mut record = Record {
            person: self.permissions.person(&identity).map(str::to_owned),
            action: Some(action),
            object: Some(target.to_string()),
            account: account.clone(),
            message: Some(message_key(&ctx.click.message)),
            key: Some(idempotency_key(
                action,
                &target.to_string(),
                &message_key(&ctx.click.message),
            )),
            ..Record::default()
        };
        let subject = match self
            .operations
            .inspect(action, &target, account.as_deref())
            .await
        {
            Ok(subject) => subject,
            Err(failure) => {
                ctx.tell(format!(
                    "Could not read {target} before acting: {failure}. Nothing was done."
                ))
                .await;
                self.audit(
                    &identity,
                    &record,
                    Decision::Failed,
                    failure.reference.as_deref(),
                    Some(&failure.sentence),
                )
                .await;
                return;
            }
        };
        record.amount = subject.amount.clone();
        let mut request = ActionRequest::new(action).livemode(subject.livemode);
        request.amount = subject.amount.clone();
        request.account = account.clone();
        let (person, confirm, approval) = match self.permissions.decide(&identity, &request) {
            Verdict::Allowed {
                person,
                confirm,
                approval,
            } => (person, confirm, approval),
            Verdict::Denied(denial) => {
                let text = denial.to_string();
                ctx.tell(text.clone()).await;
                self.audit(&identity, &record, Decision::Denied, None, Some(&text))
                    .await;
                return;
            }
        };
        record.person = Some(person.clone());
        if let Some(reason) = &subject.moot {
            ctx.tell(format!("{reason} Nothing was done.")).await;
            self.audit(&identity, &record, Decision::Moot, None, Some(reason))
                .await;
            return;
        }
        let detail = self.typed_detail(action, &fields);
        if !confirm && !approval {
            let recorded = self
                .audit(
                    &identity,
                    &record,
                    Decision::Allowed,
                    None,
                    detail.as_deref(),
                )
                .await;
            if !recorded {
                return ctx.tell(UNRECORDED).await;
            }
            let task = Task {
                action,
                target,
                account,
                idempotency_key: String::new(),
                person,
                approved_by: None,
                fields,
                message: ctx.click.message.clone(),
            };
            self.perform(&ctx, task, record).await;
            return;
        }
        // A request to keep between clicks.
        let now = SystemTime::now();
        let stage = if confirm {
            Stage::AwaitingConfirmation
        } else {
            Stage::AwaitingApproval
        };
        let pending = NewPending {
            person: person.clone(),
            identity: identity.to_string(),
            action: action.as_str().to_owned(),
            object: target.to_string(),
            account: account.clone(),
            message: ctx.click.message.clone(),
            amount: subject
                .amount
                .as_ref()
                .map(|m| (m.amount, m.currency.clone())),
            livemode: subject.livemode,
            description: subject.description.clone(),
            stage: stage.as_str().to_owned(),
            needs_approval: approval,
            created_at: now,
            expires_at: now + self.expiry,
        };
        let row = match self.store.pending_create(pending).await {
            Ok(row) => row,
            Err(error) => {
                tracing::warn!(%error, "a pending request could not be kept");
                ctx.tell(BUSY).await;
                return;
            }
        };
        let waiting = if confirm {
            "awaiting confirmation"
        } else {
            "awaiting approval"
        };
        self.audit(&identity, &record, Decision::Requested, None, Some(waiting))
            .await;
        if confirm {
            let question = prompt(action, &subject.description, subject.amount.as_ref());
            let notice = Notice::text(question)
                .button(PromptButton::new(
                    action.label(),
                    Intent::Confirm {
                        pending: row.id.clone(),
                    },
                    ActionStyle::Danger,
                ))
                .button(PromptButton::new(
                    "Cancel",
                    Intent::Cancel { pending: row.id },
                    ActionStyle::Default,
                ));
            ctx.tell_notice(notice).await;
        } else {
            self.ask_approval(&ctx, &row, action).await;
            ctx.tell("A second person must approve it; the message shows the request.")
                .await;
        }
    }

    /// What a person typed, redacted like a message, for the audit.
    fn typed_detail(&self, action: ActionId, fields: &BTreeMap<String, String>) -> Option<String> {
        match action {
            ActionId::AddEvidence => fields.get("uncategorized_text").map(|text| {
                self.redaction
                    .redact_text(TextSlot::Summary, text.trim())
                    .into_owned()
            }),
            ActionId::Assign => Some(format!(
                "assignee: {}",
                fields.get("assignee").map(|a| a.trim()).unwrap_or("")
            )),
            _ => None,
        }
    }

    /// Shows the line asking a second person to approve.
    async fn ask_approval(&self, ctx: &Ctx, row: &PendingRow, action: ActionId) {
        let text = format!(
            "{} asks to {} — a second person must approve",
            row.pending.person,
            ask_phrase(
                action,
                &row.pending.description,
                money(&row.pending.amount).as_ref()
            )
        );
        let status = StatusLine::new(text)
            .button(PromptButton::new(
                "Approve",
                Intent::Approve {
                    pending: row.id.clone(),
                },
                ActionStyle::Primary,
            ))
            .button(PromptButton::new(
                "Refuse",
                Intent::Cancel {
                    pending: row.id.clone(),
                },
                ActionStyle::Default,
            ));
        ctx.update(status).await;
    }

    /// The pending request `id` and what it is about, or a sentence saying why not.
    async fn load(&self, id: &str) -> Result<(PendingRow, ActionId, ObjectRef, Record), String> {
        let row = match self.store.pending(id).await {
            Ok(Some(row)) => row,
            Ok(None) => {
                return Err(
                    "This request is no longer known; start again from the message.".into(),
                );
            }
            Err(error) => {
                tracing::warn!(%error, "a pending request could not be read");
                return Err(BUSY.into());
            }
        };
        let action: ActionId =
            row.pending.action.parse().map_err(|_| {
                "This request cannot be read; start again from the message.".to_owned()
            })?;
        let target = row
            .pending
            .object
            .split_once('/')
            .and_then(|(kind, id)| {
                Intent::parse(&format!("sc:{action}:{kind}:{id}")).and_then(|i| match i {
                    Intent::Press { target, .. } => Some(target),
                    _ => None,
                })
            })
            .ok_or_else(|| {
                "This request cannot be read; start again from the message.".to_owned()
            })?;
        let record = Record {
            person: Some(row.pending.person.clone()),
            action: Some(action),
            object: Some(row.pending.object.clone()),
            account: row.pending.account.clone(),
            message: Some(message_key(&row.pending.message)),
            amount: money(&row.pending.amount),
            key: Some(idempotency_key(
                action,
                &row.pending.object,
                &message_key(&row.pending.message),
            )),
        };
        Ok((row, action, target, record))
    }

    fn restore(row: &PendingRow, action: ActionId, stage: Stage) -> Pending {
        let mut request = ActionRequest::new(action).livemode(row.pending.livemode);
        request.amount = money(&row.pending.amount);
        request.account = row.pending.account.clone();
        Pending::restore(
            row.pending.person.clone(),
            request,
            stage,
            row.pending.needs_approval,
            row.pending.expires_at,
            row.approved_by.clone(),
        )
    }

    /// Why a compare-and-set of a pending request found it moved: read it again and say.
    async fn explain_moved(&self, ctx: &Ctx, id: &str) {
        let text = match self.store.pending(id).await {
            Ok(Some(row)) if row.pending.stage == CANCELLED => "This request was cancelled.",
            Ok(Some(row)) if row.pending.expires_at < SystemTime::now() => {
                "This request has expired; start it again."
            }
            Ok(Some(_)) => "This request has moved on already.",
            Ok(None) => "This request is no longer known; start again from the message.",
            Err(_) => BUSY,
        };
        ctx.tell(text).await;
    }

    async fn confirm(&self, ctx: Ctx, id: String) {
        let identity = ctx.click.identity.clone();
        let (row, action, target, mut record) = match self.load(&id).await {
            Ok(loaded) => loaded,
            Err(text) => return ctx.tell(text).await,
        };
        let who = self.permissions.person(&identity).map(str::to_owned);
        record.person = who.clone();
        let Some(person) = who else {
            let text = Denial::UnknownPerson.to_string();
            ctx.tell(text.clone()).await;
            self.audit(&identity, &record, Decision::Denied, None, Some(&text))
                .await;
            return;
        };
        let Some(stage) = Stage::parse(&row.pending.stage) else {
            return self.explain_moved(&ctx, &id).await;
        };
        let now = SystemTime::now();
        let mut pending = Self::restore(&row, action, stage);
        let next = match pending.confirm(&person, now) {
            Ok(next) => next,
            Err(denial) => {
                let text = denial.to_string();
                ctx.tell(text.clone()).await;
                self.audit(&identity, &record, Decision::Denied, None, Some(&text))
                    .await;
                return;
            }
        };
        match stage {
            Stage::AwaitingConfirmation => {}
            Stage::AwaitingApproval => {
                return ctx
                    .tell("Already confirmed: a second person must approve it now.")
                    .await;
            }
            // Confirmed before: performing again is safe (the ledger answers).
            _ => {
                return self
                    .perform_pending(&ctx, row, action, target, record)
                    .await;
            }
        }
        let mut change = PendingChange::to(next.as_str());
        if next == Stage::AwaitingApproval {
            change = change.expiring(now + self.expiry);
        }
        let moved = match self
            .store
            .pending_advance(&id, Stage::AwaitingConfirmation.as_str(), change, now)
            .await
        {
            Ok(Some(moved)) => moved,
            Ok(None) => return self.explain_moved(&ctx, &id).await,
            Err(error) => {
                tracing::warn!(%error, "a confirmation could not be kept");
                return ctx.tell(BUSY).await;
            }
        };
        let recorded = self
            .audit(&identity, &record, Decision::Confirmed, None, None)
            .await;
        if next == Stage::Ready {
            if !recorded {
                return ctx.tell(UNRECORDED).await;
            }
            self.perform_pending(&ctx, moved, action, target, record)
                .await;
        } else {
            self.ask_approval(&ctx, &moved, action).await;
            ctx.tell("Confirmed. A second person must approve it; the message shows the request.")
                .await;
        }
    }

    async fn approve(&self, ctx: Ctx, id: String) {
        let identity = ctx.click.identity.clone();
        let (row, action, target, mut record) = match self.load(&id).await {
            Ok(loaded) => loaded,
            Err(text) => return ctx.tell(text).await,
        };
        let Some(stage) = Stage::parse(&row.pending.stage) else {
            return self.explain_moved(&ctx, &id).await;
        };
        if stage == Stage::AwaitingConfirmation {
            return ctx
                .tell("The person who asked has not confirmed it yet.")
                .await;
        }
        let mut pending = Self::restore(&row, action, stage);
        let approver =
            match self
                .permissions
                .approve(&identity, pending.request(), &row.pending.person)
            {
                Ok(approver) => approver,
                Err(denial) => {
                    record.person = self.permissions.person(&identity).map(str::to_owned);
                    let text = denial.to_string();
                    ctx.tell(text.clone()).await;
                    self.audit(&identity, &record, Decision::Denied, None, Some(&text))
                        .await;
                    return;
                }
            };
        record.person = Some(approver.clone());
        let now = SystemTime::now();
        if let Err(denial) = pending.approve(&approver, now) {
            let text = denial.to_string();
            ctx.tell(text.clone()).await;
            self.audit(&identity, &record, Decision::Denied, None, Some(&text))
                .await;
            return;
        }
        if stage == Stage::Ready {
            return ctx
                .tell(format!(
                    "Already approved{}.",
                    row.approved_by
                        .as_deref()
                        .map(|by| format!(" by {by}"))
                        .unwrap_or_default()
                ))
                .await;
        }
        let change = PendingChange::to(Stage::Ready.as_str()).approved_by(approver.clone());
        let moved = match self
            .store
            .pending_advance(&id, Stage::AwaitingApproval.as_str(), change, now)
            .await
        {
            Ok(Some(moved)) => moved,
            Ok(None) => return self.explain_moved(&ctx, &id).await,
            Err(error) => {
                tracing::warn!(%error, "an approval could not be kept");
                return ctx.tell(BUSY).await;
            }
        };
        if !self
            .audit(&identity, &record, Decision::Approved, None, None)
            .await
        {
            return ctx.tell(UNRECORDED).await;
        }
        self.perform_pending(&ctx, moved, action, target, record)
            .await;
    }

    async fn cancel(&self, ctx: Ctx, id: String) {
        let identity = ctx.click.identity.clone();
        let (row, action, _target, mut record) = match self.load(&id).await {
            Ok(loaded) => loaded,
            Err(text) => return ctx.tell(text).await,
        };
        let who = self.permissions.person(&identity).map(str::to_owned);
        record.person = who.clone();
        let Some(stage) = Stage::parse(&row.pending.stage) else {
            return self.explain_moved(&ctx, &id).await;
        };
        let pending = Self::restore(&row, action, stage);
        let is_requester = who.as_deref() == Some(row.pending.person.as_str());
        let is_approver = stage == Stage::AwaitingApproval
            && self
                .permissions
                .approve(&identity, pending.request(), &row.pending.person)
                .is_ok();
        if who.is_none() || !(is_requester || is_approver) || stage == Stage::Ready {
            let text = match (&who, stage) {
                (None, _) => Denial::UnknownPerson.to_string(),
                (_, Stage::Ready) => {
                    "This request is being performed; it cannot be cancelled now.".to_owned()
                }
                _ => Denial::NotGranted { action }.to_string(),
            };
            ctx.tell(text.clone()).await;
            self.audit(&identity, &record, Decision::Denied, None, Some(&text))
                .await;
            return;
        }
        let now = SystemTime::now();
        match self
            .store
            .pending_advance(&id, stage.as_str(), PendingChange::to(CANCELLED), now)
            .await
        {
            Ok(Some(_)) => {}
            Ok(None) => return self.explain_moved(&ctx, &id).await,
            Err(error) => {
                tracing::warn!(%error, "a cancellation could not be kept");
                return ctx.tell(BUSY).await;
            }
        }
        let by = who.unwrap_or_default();
        let detail = if is_requester {
            "cancelled by the person who asked".to_owned()
        } else {
            format!("refused by {by}")
        };
        self.audit(&identity, &record, Decision::Cancelled, None, Some(&detail))
            .await;
        if stage == Stage::AwaitingApproval {
            let verb = if is_requester { "withdrawn" } else { "refused" };
            ctx.update(StatusLine::new(format!(
                "{}'s request to {} was {verb} by {by}",
                row.pending.person,
                ask_phrase(
                    action,
                    &row.pending.description,
                    money(&row.pending.amount).as_ref()
                )
            )))
            .await;
        }
        ctx.tell("Cancelled. Nothing was done.").await;
    }

    /// A confirmed (and approved) request: read the object again, check the amount is the one
    /// asked about, then perform.
    async fn perform_pending(
        &self,
        ctx: &Ctx,
        row: PendingRow,
        action: ActionId,
        target: ObjectRef,
        record: Record,
    ) {
        let identity = ctx.click.identity.clone();
        let requester_identity = &identity;
        let subject: Subject = match self
            .operations
            .inspect(action, &target, row.pending.account.as_deref())
            .await
        {
            Ok(subject) => subject,
            Err(failure) => {
                ctx.tell(format!(
                    "Could not read {target} before acting: {failure}. Nothing was done; try again."
                ))
                .await;
                self.audit(
                    requester_identity,
                    &record,
                    Decision::Failed,
                    failure.reference.as_deref(),
                    Some(&failure.sentence),
                )
                .await;
                return;
            }
        };
        if let Some(reason) = &subject.moot {
            ctx.tell(format!("{reason} Nothing was done.")).await;
            if row.pending.needs_approval {
                ctx.update(StatusLine::new(format!("Not done: {reason}")))
                    .await;
            }
            self.audit(
                requester_identity,
                &record,
                Decision::Moot,
                None,
                Some(reason),
            )
            .await;
            return;
        }
        let asked = money(&row.pending.amount);
        if subject.amount != asked {
            let now_text = subject
                .amount
                .as_ref()
                .map_or_else(|| "none".to_owned(), ToString::to_string);
            let text = format!(
                "The amount changed since the request (it is now {now_text}); nothing was done. Start again from the message."
            );
            ctx.tell(text.clone()).await;
            self.audit(
                requester_identity,
                &record,
                Decision::Denied,
                None,
                Some(&text),
            )
            .await;
            return;
        }
        let task = Task {
            action,
            target,
            account: row.pending.account.clone(),
            idempotency_key: String::new(),
            person: row.pending.person.clone(),
            approved_by: row.approved_by.clone(),
            fields: BTreeMap::new(),
            message: row.pending.message.clone(),
        };
        self.perform(ctx, task, record).await;
    }

    /// Claims the logical action's key, performs it once, records and tells its outcome.
    async fn perform(&self, ctx: &Ctx, mut task: Task, mut record: Record) {
        let identity = ctx.click.identity.clone();
        task.idempotency_key = idempotency_key(
            task.action,
            &task.target.to_string(),
            &message_key(&task.message),
        );
        record.key = Some(task.idempotency_key.clone());
        record.message = Some(message_key(&task.message));
        let now = SystemTime::now();
        let attempt = match self
            .store
            .ledger_claim(&task.idempotency_key, now, self.claim_stale_after)
            .await
        {
            Ok(Claim::Claimed { attempt }) => attempt,
            Ok(Claim::AlreadyDone(outcome)) => {
                return ctx
                    .tell(format!("Already done: {}.", outcome.summary))
                    .await;
            }
            Ok(Claim::InFlight { .. }) => {
                return ctx
                    .tell("This is being done already; the message will show the outcome.")
                    .await;
            }
            Err(error) => {
                tracing::warn!(%error, "an action could not be claimed");
                return ctx.tell(BUSY).await;
            }
        };
        let result = self.operations.perform(&task).await;
        let outcome = match &result {
            Ok(performed) => LedgerOutcome {
                status: LedgerStatus::Performed,
                summary: performed.summary.clone(),
                url: performed.url.clone(),
                reference: performed.reference.clone(),
            },
            Err(failure) => LedgerOutcome {
                status: match failure.kind {
                    FailureKind::Refused => LedgerStatus::Refused,
                    FailureKind::Unavailable => LedgerStatus::Unavailable,
                    FailureKind::Misconfigured => LedgerStatus::Misconfigured,
                    _ => LedgerStatus::Unknown,
                },
                summary: failure.sentence.clone(),
                url: None,
                reference: failure.reference.clone(),
            },
        };
        match self
            .store
            .ledger_record(&task.idempotency_key, attempt, outcome, SystemTime::now())
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                key = %task.idempotency_key,
                "an action's claim went stale before its outcome was recorded"
            ),
            // The claim stays without an outcome: it can be claimed again once stale, and the
            // same key makes performing it again safe.
            Err(error) => {
                tracing::error!(%error, key = %task.idempotency_key, "an action's outcome could not be recorded")
            }
        }
        let by = match &task.approved_by {
            Some(approver) => format!("{}, approved by {approver}", task.person),
            None => task.person.clone(),
        };
        match result {
            Ok(performed) => {
                self.audit(
                    &identity,
                    &record,
                    Decision::Performed,
                    performed.reference.as_deref(),
                    Some(&performed.summary),
                )
                .await;
                ctx.update(self.done_line(&task, &by, &performed)).await;
            }
            Err(failure) => {
                self.audit(
                    &identity,
                    &record,
                    Decision::Failed,
                    failure.reference.as_deref(),
                    Some(&format!("{}: {}", failure.kind.as_str(), failure.sentence)),
                )
                .await;
                if failure.kind == FailureKind::Refused {
                    ctx.update(StatusLine::new(format!(
                        "{} by {by} — {}",
                        done_phrase(task.action),
                        failure.sentence
                    )))
                    .await;
                } else {
                    let next = if failure.kind.may_retry() {
                        " Trying again is safe: it cannot happen twice."
                    } else {
                        " Ask an administrator to check the set-up."
                    };
                    ctx.tell(format!(
                        "{} — {}.{next}",
                        task.action.label(),
                        failure.sentence
                    ))
                    .await;
                }
            }
        }
    }

    fn done_line(&self, task: &Task, by: &str, performed: &Performed) -> StatusLine {
        let text = match task.action {
            ActionId::Assign => format!(
                "Assigned to {} by {by}",
                assignee(&task.fields, &task.person)
            ),
            ActionId::CreateTicket => format!("Ticket opened by {by}"),
            action => format!("{} by {by} — {}", done_phrase(action), performed.summary),
        };
        let line = StatusLine::new(text);
        match &performed.url {
            Some(url) => line.link(url),
            None => line,
        }
    }

    /// The denial a person gets at once, before anything is read: an unknown identity, or an
    /// action none of their roles grants in any mode.
    fn quick_denial(
        &self,
        identity: &Identity,
        action: ActionId,
        account: Option<&str>,
    ) -> Option<Denial> {
        let mut request = ActionRequest::new(action);
        request.account = account.map(str::to_owned);
        let live = self
            .permissions
            .decide(identity, &request.clone().livemode(true));
        let test = self.permissions.decide(identity, &request.livemode(false));
        match (live, test) {
            (Verdict::Denied(denial), Verdict::Denied(_)) => Some(denial),
            _ => None,
        }
    }
}

#[async_trait]
impl Actions for Engine {
    async fn handle(&self, click: Click, responder: Arc<dyn Responder>) -> Immediate {
        let seen = tokio::time::timeout(
            self.inner.answer_within,
            self.inner
                .store
                .interaction_first_seen(&click.interaction_id, SystemTime::now()),
        )
        .await;
        match seen {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => return Immediate::Ack,
            Ok(Err(error)) => {
                tracing::warn!(%error, "a click could not be recorded");
                return Immediate::Tell(Notice::text(BUSY));
            }
            Err(_) => {
                tracing::warn!("the store did not record a click in time");
                return Immediate::Tell(Notice::text(BUSY));
            }
        }
        let ctx = Ctx { click, responder };
        match ctx.click.intent.clone() {
            Intent::Press {
                action: ActionId::Open,
                ..
            } => Immediate::Ack,
            Intent::Press {
                action,
                target,
                account,
            } => {
                if let Some(denial) = self.deny_at_once(&ctx, action, &target, &account) {
                    return denial;
                }
                if let Some(form) = form_of(action, &target, &account) {
                    return Immediate::Form(form);
                }
                self.spawn(move |inner| async move {
                    inner
                        .request(ctx, action, target, account, BTreeMap::new())
                        .await;
                });
                Immediate::Ack
            }
            Intent::Submit {
                action,
                target,
                account,
                fields,
            } => {
                if let Some(denial) = self.deny_at_once(&ctx, action, &target, &account) {
                    return denial;
                }
                if let Err(problem) = check_fields(action, &target, &account, &fields) {
                    return Immediate::Tell(Notice::text(format!("{problem} Nothing was done.")));
                }
                self.spawn(move |inner| async move {
                    inner.request(ctx, action, target, account, fields).await;
                });
                Immediate::Ack
            }
            Intent::Confirm { pending } => {
                self.spawn(move |inner| async move { inner.confirm(ctx, pending).await });
                Immediate::Ack
            }
            Intent::Approve { pending } => {
                self.spawn(move |inner| async move { inner.approve(ctx, pending).await });
                Immediate::Ack
            }
            Intent::Cancel { pending } => {
                self.spawn(move |inner| async move { inner.cancel(ctx, pending).await });
                Immediate::Ack
            }
        }
    }
}

impl Engine {
    /// Refuses at once, and audits in the background, a person or action no role grants.
    fn deny_at_once(
        &self,
        ctx: &Ctx,
        action: ActionId,
        target: &ObjectRef,
        account: &Option<String>,
    ) -> Option<Immediate> {
        let denial = self
            .inner
            .quick_denial(&ctx.click.identity, action, account.as_deref())?;
        let text = denial.to_string();
        let identity = ctx.click.identity.clone();
        let record = Record {
            person: self.inner.permissions.person(&identity).map(str::to_owned),
            action: Some(action),
            object: Some(target.to_string()),
            account: account.clone(),
            message: Some(message_key(&ctx.click.message)),
            ..Record::default()
        };
        let detail = text.clone();
        self.spawn(move |inner| async move {
            inner
                .audit(&identity, &record, Decision::Denied, None, Some(&detail))
                .await;
        });
        Some(Immediate::Tell(Notice::text(text)))
    }
}

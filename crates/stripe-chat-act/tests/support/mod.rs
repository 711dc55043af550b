//! Fakes shared by the engine's tests: Stripe as a counting `Operations`, a platform as a
//! recording `Responder`, and an engine over a real SQLite store in a temporary file.

#![allow(clippy::unwrap_used)] // test code: an unexpected error is the test failing

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stripe_chat_act::Engine;
use stripe_chat_actions::{
    ActionId, Click, Failure, Identity, Intent, Notice, Operations, Performed, Permissions,
    RespondError, Responder, StatusLine, Subject, Task,
};
use stripe_chat_audit::{AuditLog, Decision};
use stripe_chat_message::{MessageRef, ObjectKind, ObjectRef};
use stripe_chat_store::{SqliteOptions, SqliteStore, Store};

/// The people and roles of the tests.
pub(crate) const PEOPLE: &str = r#"
[[roles]]
name = "billing"
actions = ["retry_payment", "send_dunning_email", "mark_contacted", "assign", "create_ticket", "add_evidence"]
max_amount = { usd = 1000.0 }
approval_above = { usd = 1000.0 }
[[roles]]
name = "finance"
actions = ["*"]
approval_above = { usd = 1000.0 }
mode = "any"
[[roles]]
name = "approver"
actions = ["*"]
[[roles]]
name = "support"
actions = ["assign", "notify"]
[[people]]
name = "ana"
roles = ["billing", "finance"]
slack = ["T1/UANA"]
discord = ["1001"]
[[people]]
name = "dee"
roles = ["billing"]
slack = ["T1/UDEE"]
[[people]]
name = "bo"
roles = ["support"]
slack = ["T1/UBO"]
[[people]]
name = "cy"
roles = ["approver"]
slack = ["T1/UCY"]
"#;

/// Stripe as the tests want it: a subject per object, an outcome per call, every call counted.
#[derive(Default)]
pub(crate) struct FakeStripe {
    pub(crate) subjects: Mutex<HashMap<String, Subject>>,
    /// Outcomes to give, first first; when empty: succeeded.
    pub(crate) outcomes: Mutex<Vec<Result<Performed, Failure>>>,
    pub(crate) inspected: AtomicUsize,
    pub(crate) performed: Mutex<Vec<Task>>,
    /// How long each perform takes (to widen the window of races).
    pub(crate) delay: Mutex<Duration>,
    /// When set, every read waits for a permit of it.
    pub(crate) gate: Mutex<Option<Arc<tokio::sync::Semaphore>>>,
}

impl FakeStripe {
    pub(crate) fn with(object: &str, subject: Subject) -> Arc<Self> {
        let fake = FakeStripe::default();
        fake.subjects
            .lock()
            .unwrap()
            .insert(object.to_owned(), subject);
        Arc::new(fake)
    }

    pub(crate) fn set(&self, object: &str, subject: Subject) {
        self.subjects
            .lock()
            .unwrap()
            .insert(object.to_owned(), subject);
    }

    pub(crate) fn then(&self, outcome: Result<Performed, Failure>) {
        self.outcomes.lock().unwrap().push(outcome);
    }

    pub(crate) fn performed(&self) -> Vec<Task> {
        self.performed.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Operations for FakeStripe {
    async fn inspect(
        &self,
        _action: ActionId,
        target: &ObjectRef,
        _account: Option<&str>,
    ) -> Result<Subject, Failure> {
        let gate = self.gate.lock().unwrap().clone();
        if let Some(gate) = gate {
            gate.acquire().await.unwrap().forget();
        }
        self.inspected.fetch_add(1, Ordering::SeqCst);
        Ok(self
            .subjects
            .lock()
            .unwrap()
            .get(&target.to_string())
            .cloned()
            .unwrap_or_else(|| Subject::new(target.to_string())))
    }

    async fn perform(&self, task: &Task) -> Result<Performed, Failure> {
        self.performed.lock().unwrap().push(task.clone());
        let delay = *self.delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut outcomes = self.outcomes.lock().unwrap();
        if outcomes.is_empty() {
            Ok(Performed::new("succeeded"))
        } else {
            outcomes.remove(0)
        }
    }
}

/// A platform's answers after the immediate one, as said.
#[derive(Default)]
pub(crate) struct Said {
    pub(crate) told: Mutex<Vec<Notice>>,
    pub(crate) lines: Mutex<Vec<StatusLine>>,
}

impl Said {
    pub(crate) fn told(&self) -> Vec<String> {
        self.told
            .lock()
            .unwrap()
            .iter()
            .map(|n| n.text.clone())
            .collect()
    }

    pub(crate) fn last_notice(&self) -> Notice {
        self.told
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("something was told")
    }

    pub(crate) fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| l.text.clone())
            .collect()
    }

    pub(crate) fn last_line(&self) -> StatusLine {
        self.lines
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a status line")
    }
}

#[async_trait::async_trait]
impl Responder for Said {
    async fn tell(&self, notice: Notice) -> Result<(), RespondError> {
        self.told.lock().unwrap().push(notice);
        Ok(())
    }

    async fn update(&self, status: StatusLine) -> Result<(), RespondError> {
        self.lines.lock().unwrap().push(status);
        Ok(())
    }
}

pub(crate) struct World {
    pub(crate) engine: Engine,
    pub(crate) stripe: Arc<FakeStripe>,
    pub(crate) audit: Arc<AuditLog>,
    pub(crate) _dir: tempfile::TempDir,
}

pub(crate) async fn open(path: &Path) -> Arc<SqliteStore> {
    Arc::new(
        SqliteStore::open(path, SqliteOptions::default())
            .await
            .expect("the store opens"),
    )
}

pub(crate) fn engine_over(
    store: Arc<SqliteStore>,
    stripe: Arc<FakeStripe>,
    expiry: Duration,
) -> (Engine, Arc<AuditLog>) {
    let dyn_store: Arc<dyn Store> = store;
    let audit = Arc::new(AuditLog::new(dyn_store.clone(), "test"));
    let engine = Engine::builder(
        Permissions::from_toml(PEOPLE).unwrap(),
        stripe,
        dyn_store,
        audit.clone(),
    )
    .confirmation_expiry(expiry)
    .build();
    (engine, audit)
}

pub(crate) async fn world(stripe: Arc<FakeStripe>) -> World {
    world_expiring(stripe, Duration::from_secs(900)).await
}

pub(crate) async fn world_expiring(stripe: Arc<FakeStripe>, expiry: Duration) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("stripe-chat.db")).await;
    let (engine, audit) = engine_over(store.clone(), stripe.clone(), expiry);
    World {
        engine,
        stripe,
        audit,
        _dir: dir,
    }
}

pub(crate) fn invoice(id: &str) -> ObjectRef {
    ObjectRef::new(ObjectKind::Invoice, id)
}

pub(crate) fn message() -> MessageRef {
    MessageRef::new("slack", "1700000000.000100").in_channel("C1")
}

static NEXT: AtomicUsize = AtomicUsize::new(1);

/// A click by the Slack user `user` (of team T1), with a new interaction id.
pub(crate) fn click(user: &str, intent: Intent) -> Click {
    Click {
        interaction_id: format!("slack:T1:{}", NEXT.fetch_add(1, Ordering::SeqCst)),
        identity: Identity::slack("T1", user),
        display_name: None,
        message: message(),
        intent,
    }
}

pub(crate) fn press(action: ActionId, target: ObjectRef) -> Intent {
    Intent::Press {
        action,
        target,
        account: None,
    }
}

/// The decisions of the audit log, in order, with their actions.
pub(crate) async fn decisions(audit: &AuditLog) -> Vec<(String, Decision)> {
    let report = audit.verify(None).await.unwrap();
    assert!(report.problem.is_none(), "the audit log verifies");
    audit
        .records(1)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            let e = r.entry().unwrap();
            (e.action, e.decision)
        })
        .collect()
}

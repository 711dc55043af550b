//! The ticket and mailer hooks against a real HTTP server (wiremock): the exact body, a
//! signature a receiver can verify, the idempotency key, and every kind of answer. Then the
//! router and the `[actions]` configuration.

#![allow(clippy::unwrap_used)] // test code: an unexpected error is the test failing

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use stripe_chat_act::{
    ActionsConfig, HookTarget, MailerHook, PostError, Poster, Router, TicketHook,
};
use stripe_chat_actions::{
    ActionId, Failure, FailureKind, Operations, Performed, Subject, Task, idempotency_key,
};
use stripe_chat_message::{
    ChatMessage, ConfigErrorKind, MessageRef, ObjectKind, ObjectRef, Secret,
};
use stripe_chat_signature::HmacVerifier;
use stripe_chat_store::{MemoryStore, Store};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SECRET: &str = "whsec_ticket_0123456789abcdef";

fn task(action: ActionId, target: ObjectRef) -> Task {
    let message = MessageRef::new("slack", "1700000000.000100").in_channel("C1");
    Task {
        action,
        idempotency_key: idempotency_key(action, &target.to_string(), "slack:C1/1700000000.000100"),
        target,
        account: Some("acct_1".into()),
        person: "ana".into(),
        approved_by: None,
        fields: BTreeMap::from([("note".to_owned(), "customer called twice".to_owned())]),
        message,
    }
}

fn target(server: &MockServer, route: &str) -> HookTarget {
    HookTarget::new(
        format!("{}{route}", server.uri()).parse().unwrap(),
        Secret::new(SECRET),
    )
    .timeout(Duration::from_secs(2))
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Checks the request as a receiver would: the signature over the raw body with the shared
/// secret, then the idempotency key.
fn verified(request: &Request, key: &str) -> serde_json::Value {
    let signature = request
        .headers
        .get("Stripe-Chat-Signature")
        .unwrap()
        .to_str()
        .unwrap();
    let tolerance = Duration::from_secs(300);
    let receiver = HmacVerifier::new([SECRET.as_bytes()]);
    receiver
        .verify(&request.body, signature, now(), tolerance)
        .unwrap();
    let stranger = HmacVerifier::new([b"another-secret-0123".as_slice()]);
    assert!(
        stranger
            .verify(&request.body, signature, now(), tolerance)
            .is_err()
    );
    assert_eq!(request.headers.get("Idempotency-Key").unwrap(), key);
    assert_eq!(
        request.headers.get("Content-Type").unwrap(),
        "application/json"
    );
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn a_ticket_is_opened_with_a_signed_body_and_the_actions_key_and_its_url_is_shown() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tickets"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"url": "https://tickets.example.com/T-42", "id": "T-42"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let hook = TicketHook::new(target(&server, "/tickets")).unwrap();
    let task = task(
        ActionId::CreateTicket,
        ObjectRef::new(ObjectKind::Invoice, "in_1"),
    );
    let performed = hook.perform(&task).await.unwrap();
    assert_eq!(
        performed.url.as_deref(),
        Some("https://tickets.example.com/T-42")
    );
    assert_eq!(performed.reference.as_deref(), Some("T-42"));

    let requests = server.received_requests().await.unwrap();
    let body = verified(&requests[0], &task.idempotency_key);
    assert_eq!(
        body,
        json!({
            "type": "create_ticket",
            "action": "create_ticket",
            "object": {"kind": "invoice", "id": "in_1"},
            "account": "acct_1",
            "person": "ana",
            "approved_by": null,
            "message": {"provider": "slack", "channel": "C1", "id": "1700000000.000100"},
            "idempotency_key": task.idempotency_key,
            "fields": {"note": "customer called twice"},
        })
    );
}

#[tokio::test]
async fn the_ticket_hooks_answers_become_the_right_kind_of_failure() {
    let cases: [(ResponseTemplate, FailureKind, &str); 7] = [
        (
            ResponseTemplate::new(401),
            FailureKind::Misconfigured,
            "the ticket hook refused our signature; check its secret (HTTP 401)",
        ),
        (
            ResponseTemplate::new(503),
            FailureKind::Unavailable,
            "the ticket hook is unavailable (HTTP 503)",
        ),
        (
            ResponseTemplate::new(429),
            FailureKind::Unavailable,
            "the ticket hook is busy (HTTP 429)",
        ),
        (
            ResponseTemplate::new(422),
            FailureKind::Refused,
            "the ticket hook refused the request (HTTP 422)",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({"ok": true})),
            FailureKind::Unavailable,
            "the ticket hook answered without the ticket's URL",
        ),
        (
            ResponseTemplate::new(200).set_body_string("<html>"),
            FailureKind::Unavailable,
            "the ticket hook answered with something other than JSON",
        ),
        (
            ResponseTemplate::new(200).set_body_string("x".repeat(1 << 20)),
            FailureKind::Unknown,
            "the ticket hook's answer could not be read in full",
        ),
    ];
    for (answer, kind, sentence) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let hook = TicketHook::new(target(&server, "/t")).unwrap();
        let failure = hook
            .perform(&task(
                ActionId::CreateTicket,
                ObjectRef::new(ObjectKind::Dispute, "dp_1"),
            ))
            .await
            .unwrap_err();
        assert_eq!((failure.kind, failure.sentence.as_str()), (kind, sentence));
        assert!(!failure.sentence.contains(SECRET));
    }
}

#[tokio::test]
async fn a_ticket_hook_that_does_not_answer_in_time_leaves_the_outcome_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let hook = TicketHook::new(target(&server, "/t").timeout(Duration::from_millis(200))).unwrap();
    let failure = hook
        .perform(&task(
            ActionId::CreateTicket,
            ObjectRef::new(ObjectKind::Invoice, "in_1"),
        ))
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Unknown);
    assert_eq!(failure.sentence, "the ticket hook did not answer in time");
}

#[tokio::test]
async fn a_dunning_email_goes_to_the_teams_mailer_with_its_template() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/dunning"))
        .and(header(
            "Idempotency-Key",
            task(
                ActionId::SendDunningEmail,
                ObjectRef::new(ObjectKind::Invoice, "in_1"),
            )
            .idempotency_key
            .as_str(),
        ))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"id": "mail_7"})))
        .expect(1)
        .mount(&server)
        .await;
    let hook = MailerHook::new(target(&server, "/dunning"), "dunning-reminder").unwrap();
    let task = task(
        ActionId::SendDunningEmail,
        ObjectRef::new(ObjectKind::Invoice, "in_1"),
    );
    let performed = hook.perform(&task).await.unwrap();
    assert_eq!(performed.summary, "sent through the team's mailer");
    assert_eq!(performed.reference.as_deref(), Some("mail_7"));
    let requests = server.received_requests().await.unwrap();
    let body = verified(&requests[0], &task.idempotency_key);
    assert_eq!(body["type"], "send_dunning_email");
    assert_eq!(body["template"], "dunning-reminder");
    assert_eq!(body["object"], json!({"kind": "invoice", "id": "in_1"}));
    assert_eq!(body["person"], "ana");
}

#[tokio::test]
async fn a_hook_performs_only_its_own_action() {
    let server = MockServer::start().await;
    let hook = TicketHook::new(target(&server, "/t")).unwrap();
    let failure = hook
        .perform(&task(
            ActionId::RetryPayment,
            ObjectRef::new(ObjectKind::Invoice, "in_1"),
        ))
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Misconfigured);
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// Stripe for the router: counts what it was asked.
#[derive(Default)]
struct Stripe(Mutex<Vec<ActionId>>);

#[async_trait::async_trait]
impl Operations for Stripe {
    async fn inspect(
        &self,
        _: ActionId,
        target: &ObjectRef,
        _: Option<&str>,
    ) -> Result<Subject, Failure> {
        Ok(Subject::new(format!("read by Stripe: {target}")))
    }
    async fn perform(&self, task: &Task) -> Result<Performed, Failure> {
        self.0.lock().unwrap().push(task.action);
        Ok(Performed::new("done by Stripe"))
    }
}

#[derive(Default)]
struct Queue(Mutex<Vec<(String, ChatMessage)>>);

#[async_trait::async_trait]
impl Poster for Queue {
    async fn post(&self, destination: &str, message: ChatMessage) -> Result<(), PostError> {
        self.0
            .lock()
            .unwrap()
            .push((destination.to_owned(), message));
        Ok(())
    }
}

#[tokio::test]
async fn the_router_sends_each_action_to_its_performer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tickets"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"url": "https://t.example.com/1"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let stripe = Arc::new(Stripe::default());
    let queue = Arc::new(Queue::default());
    let store = Arc::new(MemoryStore::new());
    let config: ActionsConfig = toml::from_str(&format!(
        r#"
        [assign]
        destination = "support-queue"
        [notify]
        destinations = ["legal", "finance"]
        [create_ticket]
        url = "{}/tickets"
        secret = "{SECRET}"
        "#,
        server.uri()
    ))
    .unwrap();
    let router = Router::from_config(
        &config.check().unwrap(),
        stripe.clone(),
        queue.clone(),
        store.clone(),
    )
    .unwrap();
    let invoice = ObjectRef::new(ObjectKind::Invoice, "in_1");
    let customer = ObjectRef::new(ObjectKind::Customer, "cus_1");

    assert_eq!(
        router
            .inspect(ActionId::CreateTicket, &invoice, None)
            .await
            .unwrap()
            .description,
        "read by Stripe: invoice/in_1"
    );
    for action in [
        ActionId::RetryPayment,
        ActionId::SendDunningEmail,
        ActionId::SubmitEvidence,
    ] {
        assert_eq!(
            router
                .perform(&task(action, invoice.clone()))
                .await
                .unwrap()
                .summary,
            "done by Stripe"
        );
    }
    router
        .perform(&task(ActionId::MarkContacted, customer.clone()))
        .await
        .unwrap();
    assert_eq!(
        *stripe.0.lock().unwrap(),
        [
            ActionId::RetryPayment,
            ActionId::SendDunningEmail,
            ActionId::SubmitEvidence,
            ActionId::MarkContacted
        ]
    );
    assert_eq!(
        store.last_contact("cus_1").await.unwrap().unwrap().person,
        "ana"
    );

    let ticket = router
        .perform(&task(ActionId::CreateTicket, invoice.clone()))
        .await
        .unwrap();
    assert_eq!(ticket.url.as_deref(), Some("https://t.example.com/1"));

    let mut assign = task(ActionId::Assign, invoice.clone());
    assign.fields.insert("assignee".into(), "bo".into());
    assert_eq!(router.perform(&assign).await.unwrap().summary, "to bo");
    assert_eq!(
        store
            .assignment("invoice/in_1")
            .await
            .unwrap()
            .unwrap()
            .assignee,
        "bo"
    );
    assert_eq!(
        router
            .perform(&task(ActionId::Notify, invoice.clone()))
            .await
            .unwrap()
            .summary,
        "sent to legal, finance"
    );
    let posted: Vec<(String, String)> = queue
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(d, m)| (d.clone(), m.title.clone()))
        .collect();
    assert_eq!(
        posted,
        [
            (
                "support-queue".to_owned(),
                "Assigned to bo: invoice in_1".to_owned()
            ),
            (
                "legal".to_owned(),
                "ana asks you to look at invoice in_1".to_owned()
            ),
            (
                "finance".to_owned(),
                "ana asks you to look at invoice in_1".to_owned()
            ),
        ]
    );
    let contacted_invoice = router
        .perform(&task(ActionId::MarkContacted, invoice))
        .await
        .unwrap_err();
    assert_eq!(contacted_invoice.kind, FailureKind::Refused);
}

#[tokio::test]
async fn an_action_without_its_performer_says_what_to_configure() {
    let router = Router::new(Arc::new(Stripe::default()), Arc::new(MemoryStore::new()));
    let invoice = ObjectRef::new(ObjectKind::Invoice, "in_1");
    for (action, says) in [
        (
            ActionId::CreateTicket,
            "opening tickets needs [actions.create_ticket] in the configuration",
        ),
        (
            ActionId::Assign,
            "assigning needs [actions.assign] destination in the configuration",
        ),
        (
            ActionId::Notify,
            "notifying needs [actions.notify] destinations in the configuration",
        ),
    ] {
        let failure = router
            .perform(&task(action, invoice.clone()))
            .await
            .unwrap_err();
        assert_eq!(
            (failure.kind, failure.sentence.as_str()),
            (FailureKind::Misconfigured, says)
        );
    }
}

#[test]
fn the_actions_table_is_checked_key_by_key_and_never_shows_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ticket-secret");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let config: ActionsConfig = toml::from_str(&format!(
        "[create_ticket]\nurl = \"https://t.example.com/h?key=k3y\"\nsecret_file = {:?}\n",
        file.display().to_string()
    ))
    .unwrap();
    let checked = config.check_with_env(&|_| None).unwrap();
    let shown = format!("{checked:?}");
    assert!(!shown.contains(SECRET) && !shown.contains("k3y"), "{shown}");

    let bad = |text: &str| {
        let config: ActionsConfig = toml::from_str(text).unwrap();
        config.check_with_env(&|_| None).unwrap_err()
    };
    let e = bad("[create_ticket]\nurl = \"https://t.example.com\"\nsecret_env = \"TICKET_SECRET\"");
    assert_eq!(
        (e.kind(), e.key()),
        (ConfigErrorKind::Unset, "actions.create_ticket.secret_env")
    );
    assert!(e.to_string().contains("TICKET_SECRET"));
    let e = bad("[create_ticket]\nurl = \"ftp://t.example.com\"\nsecret = \"0123456789abcdef\"");
    assert_eq!(e.key(), "actions.create_ticket.url");
    let e =
        bad("[create_ticket]\nurl = \"http://tickets.example.com\"\nsecret = \"0123456789abcdef\"");
    assert_eq!(e.key(), "actions.create_ticket.url");
    assert!(e.to_string().contains("must be https"));
    let e = bad("[create_ticket]\nurl = \"https://t.example.com\"\nsecret = \"short\"");
    assert_eq!(e.key(), "actions.create_ticket.secret");
    assert!(!e.to_string().contains("short\""));
    let e = bad("[create_ticket]\nurl = \"https://t.example.com\"");
    assert_eq!(
        (e.kind(), e.key()),
        (ConfigErrorKind::Missing, "actions.create_ticket.secret")
    );
    let e = bad(
        "[send_dunning_email]\ntemplate = \" \"\nhook = { url = \"https://m.example.com\", secret = \"0123456789abcdef\" }",
    );
    assert_eq!(e.key(), "actions.send_dunning_email.template");
    let e = bad("confirmation_expiry = \"3d\"");
    assert_eq!(e.key(), "actions.confirmation_expiry");
    let e = bad("[notify]\ndestinations = []");
    assert_eq!(e.key(), "actions.notify.destinations");
    assert!(
        toml::from_str::<ActionsConfig>("[assign]\ndestination = \"q\"\nchannel = \"x\"").is_err()
    );
    assert!(toml::from_str::<ActionsConfig>("[create_ticket]\nurl = \"https://x.example.com\"\nsecret = \"0123456789abcdef\"\nretries = 3").is_err());
}

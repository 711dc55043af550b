//! `StripeOperations` against Stripe's API played by wiremock: the exact request of every
//! action, the objects read fresh (and when an action is moot), several accounts, and every
//! error as the sentence people read.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};
use stripe_chat_actions::{ActionId, Failure, FailureKind, Operations, Subject, Task};
use stripe_chat_message::{MessageRef, ObjectKind, ObjectRef, Secret};
use stripe_chat_stripe::{Accounts, Client, Retry, StripeOperations};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "sk_test_51NtOpsKeyDoNotLeak4hQ8Zw";
const OTHER_KEY: &str = "rk_test_51NtEuropeKeyDoNotLeak2Lm";
const KEY: &str = "sc-retry_payment-4f1c2a9e0b7d3c5a6e8f1029384756abcdef0123";
const INVOICE: &str = "in_1IFceUQ9RKHgCVdKDSF5NQW1";
const DISPUTE: &str = "dp_1DlcJaQ9RKHgCVdKM9jIkV7M";
const CUSTOMER: &str = "cus_2n7WrTFEvbN3AX";
const CONTACTED_AT: u64 = 1_796_000_000;

/// `data.object` of a Stripe event from the shared corpus.
fn fixture(name: &str) -> Value {
    let file = format!(
        "{}/../../tests/fixtures/events/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&file).expect("the fixture exists");
    let event: Value = serde_json::from_str(&text).expect("the fixture is JSON");
    event["data"]["object"].clone()
}

fn open_invoice() -> Value {
    fixture("invoice.payment_failed@2026-09-30.endive.json")
}

fn invoice_with(changes: Value) -> Value {
    merge(open_invoice(), changes)
}

/// A dispute waiting for evidence, its charge expanded.
fn open_dispute() -> Value {
    let mut dispute = fixture("charge.dispute.created@2026-09-30.endive.json");
    dispute["charge"] = fixture("charge.failed@2026-09-30.endive.json");
    dispute
}

fn dispute_with(changes: Value) -> Value {
    merge(open_dispute(), changes)
}

fn customer() -> Value {
    fixture("customer.updated@2026-09-30.endive.json")
}

fn merge(mut object: Value, changes: Value) -> Value {
    fn apply(target: &mut Value, changes: Value) {
        match (target, changes) {
            (Value::Object(target), Value::Object(changes)) => {
                for (key, value) in changes {
                    apply(target.entry(key).or_insert(Value::Null), value);
                }
            }
            (target, changes) => *target = changes,
        }
    }
    apply(&mut object, changes);
    object
}

fn client(server: &MockServer, key: &str) -> Client {
    Client::builder(Secret::new(key))
        .api_base(server.uri())
        .timeout(Duration::from_secs(5))
        .retry(Retry::attempts(3).backoff(Duration::from_millis(5), Duration::from_millis(10)))
        .build()
        .expect("valid client")
}

fn operations(server: &MockServer) -> StripeOperations {
    StripeOperations::new(client(server, API_KEY))
        .with_clock(|| UNIX_EPOCH + Duration::from_secs(CONTACTED_AT))
}

fn task(action: ActionId, kind: ObjectKind, id: &str) -> Task {
    Task {
        action,
        target: ObjectRef::new(kind, id),
        account: None,
        idempotency_key: KEY.to_owned(),
        person: "ana".to_owned(),
        approved_by: None,
        fields: BTreeMap::new(),
        message: MessageRef::new("slack", "1700000000.000100").in_channel("C0123"),
    }
}

fn answer(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// Stripe's error answer.
fn stripe_error(status: u16, error: Value) -> ResponseTemplate {
    answer(status, &json!({ "error": error }))
}

async fn on(server: &MockServer, verb: &str, at: &str, response: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn requests(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap_or_default()
}

fn header<'a>(request: &'a wiremock::Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

/// A form body as its fields.
fn form(request: &wiremock::Request) -> BTreeMap<String, String> {
    form_urlencoded::parse(&request.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The only request received: its method, path and form.
async fn only_request(server: &MockServer) -> wiremock::Request {
    let mut received = requests(server).await;
    assert_eq!(received.len(), 1, "{received:?}");
    received.remove(0)
}

async fn inspect(server: &MockServer, action: ActionId, kind: ObjectKind, id: &str) -> Subject {
    operations(server)
        .inspect(action, &ObjectRef::new(kind, id), None)
        .await
        .expect("the object is read")
}

async fn perform_failure(server: &MockServer, task: &Task) -> Failure {
    operations(server)
        .perform(task)
        .await
        .expect_err("the action fails")
}

fn assert_no_key(shown: &str) {
    assert!(!shown.contains(API_KEY), "{shown}");
    assert!(!shown.contains(OTHER_KEY), "{shown}");
    assert!(!shown.contains("DoNotLeak"), "{shown}");
}

// The exact requests.

#[tokio::test]
async fn retry_payment_posts_pay_once_with_the_task_key_and_an_empty_body() {
    let server = MockServer::start().await;
    on(
        &server,
        "POST",
        &format!("/v1/invoices/{INVOICE}/pay"),
        answer(
            200,
            &invoice_with(json!({"status": "paid", "amount_remaining": 0})),
        ),
    )
    .await;

    let done = operations(&server)
        .perform(&task(ActionId::RetryPayment, ObjectKind::Invoice, INVOICE))
        .await
        .expect("paid");
    assert_eq!(done.summary, "succeeded");

    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), format!("/v1/invoices/{INVOICE}/pay"));
    assert!(request.body.is_empty(), "{:?}", form(&request));
    assert_eq!(header(&request, "idempotency-key"), Some(KEY));
    assert_eq!(header(&request, "stripe-account"), None);
    assert_eq!(
        header(&request, "authorization"),
        Some(format!("Bearer {API_KEY}").as_str())
    );
}

#[tokio::test]
async fn a_payment_still_processing_says_the_invoice_stays_open() {
    let server = MockServer::start().await;
    on(
        &server,
        "POST",
        &format!("/v1/invoices/{INVOICE}/pay"),
        answer(200, &open_invoice()),
    )
    .await;
    let done = operations(&server)
        .perform(&task(ActionId::RetryPayment, ObjectKind::Invoice, INVOICE))
        .await
        .expect("accepted");
    assert_eq!(
        done.summary,
        "payment started; the invoice stays open until it clears"
    );
}

#[tokio::test]
async fn send_dunning_email_posts_send_with_the_task_key() {
    let server = MockServer::start().await;
    let sent = invoice_with(json!({"collection_method": "send_invoice", "livemode": true}));
    on(
        &server,
        "POST",
        &format!("/v1/invoices/{INVOICE}/send"),
        answer(200, &sent),
    )
    .await;

    let done = operations(&server)
        .perform(&task(
            ActionId::SendDunningEmail,
            ObjectKind::Invoice,
            INVOICE,
        ))
        .await
        .expect("sent");
    assert_eq!(done.summary, "emailed to the customer");

    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), format!("/v1/invoices/{INVOICE}/send"));
    assert!(request.body.is_empty());
    assert_eq!(header(&request, "idempotency-key"), Some(KEY));
}

#[tokio::test]
async fn send_dunning_email_in_test_mode_says_stripe_emails_no_one() {
    let server = MockServer::start().await;
    on(
        &server,
        "POST",
        &format!("/v1/invoices/{INVOICE}/send"),
        answer(
            200,
            &invoice_with(json!({"collection_method": "send_invoice"})),
        ),
    )
    .await;
    let done = operations(&server)
        .perform(&task(
            ActionId::SendDunningEmail,
            ObjectKind::Invoice,
            INVOICE,
        ))
        .await
        .expect("sent");
    assert_eq!(done.summary, "sent (in test mode Stripe emails no one)");
}

#[tokio::test]
async fn add_evidence_stages_the_text_with_submit_false() {
    let server = MockServer::start().await;
    on(
        &server,
        "GET",
        &format!("/v1/disputes/{DISPUTE}"),
        answer(200, &open_dispute()),
    )
    .await;
    on(
        &server,
        "POST",
        &format!("/v1/disputes/{DISPUTE}"),
        answer(200, &open_dispute()),
    )
    .await;
    let mut add = task(ActionId::AddEvidence, ObjectKind::Dispute, DISPUTE);
    add.fields = fields(&[(
        "uncategorized_text",
        "  The customer signed for the parcel on 3 March (tracking 1Z999AA10123456784).\n",
    )]);

    let done = operations(&server).perform(&add).await.expect("staged");
    assert_eq!(done.summary, "evidence staged (not submitted)");

    let received = requests(&server).await;
    assert_eq!(received.len(), 2);
    let write = &received[1];
    assert_eq!(write.method.as_str(), "POST");
    assert_eq!(write.url.path(), format!("/v1/disputes/{DISPUTE}"));
    assert_eq!(
        form(write),
        fields(&[
            (
                "evidence[uncategorized_text]",
                "The customer signed for the parcel on 3 March (tracking 1Z999AA10123456784)."
            ),
            ("submit", "false"),
        ])
    );
    assert_eq!(header(write, "idempotency-key"), Some(KEY));
    assert_eq!(
        header(&received[0], "idempotency-key"),
        None,
        "a read needs no key"
    );
}

#[tokio::test]
async fn add_evidence_keeps_the_text_already_staged_and_adds_after_it() {
    let server = MockServer::start().await;
    let staged = dispute_with(json!({"evidence": {"uncategorized_text": "Delivered on 3 March."}}));
    on(
        &server,
        "GET",
        &format!("/v1/disputes/{DISPUTE}"),
        answer(200, &staged),
    )
    .await;
    on(
        &server,
        "POST",
        &format!("/v1/disputes/{DISPUTE}"),
        answer(200, &staged),
    )
    .await;
    let mut add = task(ActionId::AddEvidence, ObjectKind::Dispute, DISPUTE);
    add.fields = fields(&[("uncategorized_text", "Signed by J. Rosen.")]);

    operations(&server).perform(&add).await.expect("staged");
    let received = requests(&server).await;
    assert_eq!(
        form(&received[1])
            .get("evidence[uncategorized_text]")
            .map(String::as_str),
        Some("Delivered on 3 March.\n\nSigned by J. Rosen.")
    );
}

#[tokio::test]
async fn add_evidence_already_staged_by_an_earlier_attempt_is_not_sent_again() {
    let server = MockServer::start().await;
    let staged = dispute_with(
        json!({"evidence": {"uncategorized_text": "Delivered on 3 March.\n\nSigned by J. Rosen."}}),
    );
    on(
        &server,
        "GET",
        &format!("/v1/disputes/{DISPUTE}"),
        answer(200, &staged),
    )
    .await;
    let mut add = task(ActionId::AddEvidence, ObjectKind::Dispute, DISPUTE);
    add.fields = fields(&[("uncategorized_text", "Signed by J. Rosen.")]);

    let done = operations(&server).perform(&add).await.expect("staged");
    assert_eq!(done.summary, "evidence staged (not submitted)");
    assert_eq!(requests(&server).await.len(), 1, "only the read");
}

#[tokio::test]
async fn evidence_over_stripes_limit_is_refused_before_any_request() {
    let server = MockServer::start().await;
    let mut add = task(ActionId::AddEvidence, ObjectKind::Dispute, DISPUTE);
    add.fields = fields(&[("uncategorized_text", &"é".repeat(20_001))]);

    let failure = perform_failure(&server, &add).await;
    assert_eq!(failure.kind, FailureKind::Refused);
    assert_eq!(
        failure.sentence,
        "The evidence text has 20001 characters; Stripe takes at most 20000 (attach longer \
         evidence as a file in the Stripe Dashboard). Nothing was staged."
    );
    assert!(requests(&server).await.is_empty());

    add.fields = fields(&[("uncategorized_text", &"é".repeat(20_000))]);
    on(
        &server,
        "GET",
        &format!("/v1/disputes/{DISPUTE}"),
        answer(200, &open_dispute()),
    )
    .await;
    on(
        &server,
        "POST",
        &format!("/v1/disputes/{DISPUTE}"),
        answer(200, &open_dispute()),
    )
    .await;
    operations(&server)
        .perform(&add)
        .await
        .expect("20,000 characters fit");
}

#[tokio::test]
async fn evidence_that_would_overflow_the_text_already_staged_is_refused() {
    let server = MockServer::start().await;
    let staged = dispute_with(json!({"evidence": {"uncategorized_text": "x".repeat(19_990)}}));
    on(
        &server,
        "GET",
        &format!("/v1/disputes/{DISPUTE}"),
        answer(200, &staged),
    )
    .await;
    let mut add = task(ActionId::AddEvidence, ObjectKind::Dispute, DISPUTE);
    add.fields = fields(&[("uncategorized_text", "Signed by J. Rosen.")]);

    let failure = perform_failure(&server, &add).await;
    assert_eq!(failure.kind, FailureKind::Refused);
    assert_eq!(
        failure.sentence,
        "With the 19990 characters already staged, the evidence text would have 20011; Stripe \
         takes at most 20000. Nothing was staged."
    );
    assert_eq!(requests(&server).await.len(), 1, "only the read");
}

#[tokio::test]
async fn add_evidence_without_text_is_refused_and_sends_nothing() {
    let server = MockServer::start().await;
    for given in [None, Some("   \n")] {
        let mut add = task(ActionId::AddEvidence, ObjectKind::Dispute, DISPUTE);
        if let Some(text) = given {
            add.fields = fields(&[("uncategorized_text", text)]);
        }
        let failure = perform_failure(&server, &add).await;
        assert_eq!(failure.kind, FailureKind::Refused);
        assert_eq!(
            failure.sentence,
            "No evidence text was given; nothing was staged."
        );
    }
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn submit_evidence_posts_submit_true_and_nothing_else() {
    let server = MockServer::start().await;
    on(
        &server,
        "POST",
        &format!("/v1/disputes/{DISPUTE}"),
        answer(200, &dispute_with(json!({"status": "under_review"}))),
    )
    .await;
    let done = operations(&server)
        .perform(&task(
            ActionId::SubmitEvidence,
            ObjectKind::Dispute,
            DISPUTE,
        ))
        .await
        .expect("submitted");
    assert_eq!(done.summary, "evidence submitted to the bank");

    let request = only_request(&server).await;
    assert_eq!(request.url.path(), format!("/v1/disputes/{DISPUTE}"));
    assert_eq!(form(&request), fields(&[("submit", "true")]));
    assert_eq!(header(&request, "idempotency-key"), Some(KEY));
}

#[tokio::test]
async fn mark_contacted_writes_who_and_when_into_the_customers_metadata() {
    let server = MockServer::start().await;
    on(
        &server,
        "POST",
        &format!("/v1/customers/{CUSTOMER}"),
        answer(200, &customer()),
    )
    .await;
    let done = operations(&server)
        .perform(&task(
            ActionId::MarkContacted,
            ObjectKind::Customer,
            CUSTOMER,
        ))
        .await
        .expect("recorded");
    assert_eq!(done.summary, "marked as contacted");

    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), format!("/v1/customers/{CUSTOMER}"));
    assert_eq!(
        form(&request),
        fields(&[
            ("metadata[stripe_chat_contacted_at]", "1796000000"),
            ("metadata[stripe_chat_contacted_by]", "ana"),
        ])
    );
    assert_eq!(header(&request, "idempotency-key"), Some(KEY));
}

#[tokio::test]
async fn mark_contacted_asked_again_later_finds_the_first_attempt_recorded() {
    let server = MockServer::start().await;
    on(
        &server,
        "POST",
        &format!("/v1/customers/{CUSTOMER}"),
        stripe_error(
            400,
            json!({"type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same parameters they were first used with."}),
        ),
    )
    .await;
    let recorded = merge(
        customer(),
        json!({"metadata": {"stripe_chat_contacted_by": "ana", "stripe_chat_contacted_at": "1795990000"}}),
    );
    on(
        &server,
        "GET",
        &format!("/v1/customers/{CUSTOMER}"),
        answer(200, &recorded),
    )
    .await;

    let done = operations(&server)
        .perform(&task(
            ActionId::MarkContacted,
            ObjectKind::Customer,
            CUSTOMER,
        ))
        .await
        .expect("already recorded");
    assert_eq!(done.summary, "marked as contacted");
    assert_eq!(requests(&server).await.len(), 2, "one write, one read");
}

#[tokio::test]
async fn every_retry_of_a_write_carries_the_same_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(stripe_error(
            503,
            json!({"type": "api_error", "message": "busy"}),
        ))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    on(
        &server,
        "POST",
        &format!("/v1/invoices/{INVOICE}/pay"),
        answer(200, &invoice_with(json!({"status": "paid"}))),
    )
    .await;

    operations(&server)
        .perform(&task(ActionId::RetryPayment, ObjectKind::Invoice, INVOICE))
        .await
        .expect("the third try succeeds");
    let received = requests(&server).await;
    assert_eq!(received.len(), 3);
    assert!(
        received
            .iter()
            .all(|r| header(r, "idempotency-key") == Some(KEY))
    );
}

#[tokio::test]
async fn an_object_of_a_connected_account_carries_stripe_account_on_reads_and_writes() {
    let server = MockServer::start().await;
    on(
        &server,
        "GET",
        &format!("/v1/invoices/{INVOICE}"),
        answer(200, &open_invoice()),
    )
    .await;
    on(
        &server,
        "POST",
        &format!("/v1/invoices/{INVOICE}/pay"),
        answer(200, &invoice_with(json!({"status": "paid"}))),
    )
    .await;
    let ops = operations(&server);
    let target = ObjectRef::new(ObjectKind::Invoice, INVOICE);
    ops.inspect(ActionId::RetryPayment, &target, Some("acct_1Connected"))
        .await
        .expect("read");
    let mut pay = task(ActionId::RetryPayment, ObjectKind::Invoice, INVOICE);
    pay.account = Some("acct_1Connected".into());
    ops.perform(&pay).await.expect("paid");

    let received = requests(&server).await;
    assert_eq!(received.len(), 2);
    for request in &received {
        assert_eq!(header(request, "stripe-account"), Some("acct_1Connected"));
        assert_eq!(
            header(request, "authorization"),
            Some(format!("Bearer {API_KEY}").as_str()),
            "the platform's key"
        );
    }
}

#[tokio::test]
async fn an_account_with_its_own_key_is_reached_with_that_key_and_no_stripe_account() {
    let server = MockServer::start().await;
    on(
        &server,
        "POST",
        &format!("/v1/invoices/{INVOICE}/pay"),
        answer(200, &invoice_with(json!({"status": "paid"}))),
    )
    .await;
    let accounts = Accounts::new(client(&server, API_KEY))
        .with_account("acct_1EuropeGmbH", client(&server, OTHER_KEY))
        .expect("an account id");
    let ops = StripeOperations::new(accounts);
    let mut pay = task(ActionId::RetryPayment, ObjectKind::Invoice, INVOICE);
    pay.account = Some("acct_1EuropeGmbH".into());
    ops.perform(&pay).await.expect("paid");

    let request = only_request(&server).await;
    assert_eq!(
        header(&request, "authorization"),
        Some(format!("Bearer {OTHER_KEY}").as_str())
    );
    assert_eq!(header(&request, "stripe-account"), None);
    assert_no_key(&format!("{ops:?}"));
}

#[tokio::test]
async fn actions_that_are_not_stripes_are_misconfigured_and_send_nothing() {
    let server = MockServer::start().await;
    for action in [
        ActionId::Assign,
        ActionId::Notify,
        ActionId::CreateTicket,
        ActionId::Open,
    ] {
        let failure = perform_failure(&server, &task(action, ObjectKind::Invoice, INVOICE)).await;
        assert_eq!(failure.kind, FailureKind::Misconfigured);
        assert_eq!(
            failure.sentence,
            format!(
                "No performer is configured for {}: it is not a Stripe action.",
                action.label()
            )
        );
    }
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn an_action_on_the_wrong_kind_of_object_does_nothing() {
    let server = MockServer::start().await;
    let failure = perform_failure(
        &server,
        &task(ActionId::SubmitEvidence, ObjectKind::Invoice, INVOICE),
    )
    .await;
    assert_eq!(failure.kind, FailureKind::Refused);
    assert_eq!(
        failure.sentence,
        format!("Submit evidence applies to disputes, not to invoice {INVOICE}. Nothing was done.")
    );
    let subject = inspect(
        &server,
        ActionId::RetryPayment,
        ObjectKind::Customer,
        CUSTOMER,
    )
    .await;
    assert_eq!(
        subject.moot.as_deref(),
        Some(format!("Retry payment applies to invoices, not to customer {CUSTOMER}.").as_str())
    );
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn an_id_or_account_that_could_change_the_path_is_refused_and_sends_nothing() {
    let server = MockServer::start().await;
    for id in ["in_1/../../v1/customers/cus_1", "in_1?expand=x", ""] {
        let failure = perform_failure(
            &server,
            &task(ActionId::RetryPayment, ObjectKind::Invoice, id),
        )
        .await;
        assert_eq!(failure.kind, FailureKind::Refused, "{id}");
        assert_eq!(
            failure.sentence,
            "That is not a Stripe invoice id; nothing was done."
        );
        let read = operations(&server)
            .inspect(
                ActionId::RetryPayment,
                &ObjectRef::new(ObjectKind::Invoice, id),
                None,
            )
            .await;
        assert!(read.is_err(), "{id}");
    }
    let mut pay = task(ActionId::RetryPayment, ObjectKind::Invoice, INVOICE);
    pay.account = Some("acct_1\r\nX-Injected: 1".into());
    let failure = perform_failure(&server, &pay).await;
    assert_eq!(failure.kind, FailureKind::Refused);
    let mut bad_key = task(ActionId::RetryPayment, ObjectKind::Invoice, INVOICE);
    bad_key.idempotency_key = String::new();
    assert_eq!(
        perform_failure(&server, &bad_key).await.kind,
        FailureKind::Misconfigured
    );
    assert!(requests(&server).await.is_empty());
}

// The objects, read fresh.

#[tokio::test]
async fn an_open_invoice_is_described_with_its_amount_customer_and_mode() {
    let server = MockServer::start().await;
    on(
        &server,
        "GET",
        &format!("/v1/invoices/{INVOICE}"),
        answer(200, &open_invoice()),
    )
    .await;
    let subject = inspect(
        &server,
        ActionId::RetryPayment,
        ObjectKind::Invoice,
        INVOICE,
    )
    .await;
    assert_eq!(subject.description, "invoice PUK1OWLH-0009 for Marcus Chen");
    let amount = subject.amount.expect("an amount");
    assert_eq!((amount.amount, amount.currency.as_str()), (39_800, "usd"));
    assert!(!subject.livemode);
    assert_eq!(subject.customer.as_deref(), Some("cus_gGC0eOK42QxN5W"));
    assert_eq!(subject.moot, None);

    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "GET");
    assert_eq!(header(&request, "idempotency-key"), None);
}

#[tokio::test]
async fn retrying_or_reminding_is_moot_on_an_invoice_that_is_not_open() {
    let cases = [
        ("paid", "This invoice is already paid."),
        ("void", "This invoice is void."),
        ("uncollectible", "This invoice is marked uncollectible."),
        (
            "draft",
            "This invoice is still a draft: it was never finalized.",
        ),
    ];
    for (status, moot) in cases {
        let server = MockServer::start().await;
        let invoice = invoice_with(json!({"status": status, "collection_method": "send_invoice"}));
        on(
            &server,
            "GET",
            &format!("/v1/invoices/{INVOICE}"),
            answer(200, &invoice),
        )
        .await;
        for action in [ActionId::RetryPayment, ActionId::SendDunningEmail] {
            let subject = inspect(&server, action, ObjectKind::Invoice, INVOICE).await;
            assert_eq!(subject.moot.as_deref(), Some(moot), "{status} {action}");
        }
        let assign = inspect(&server, ActionId::Assign, ObjectKind::Invoice, INVOICE).await;
        assert_eq!(
            assign.moot, None,
            "assigning a {status} invoice still makes sense"
        );
    }
}

#[tokio::test]
async fn retrying_is_moot_when_nothing_is_left_to_pay() {
    let server = MockServer::start().await;
    let invoice = invoice_with(json!({"amount_remaining": 0}));
    on(
        &server,
        "GET",
        &format!("/v1/invoices/{INVOICE}"),
        answer(200, &invoice),
    )
    .await;
    let subject = inspect(
        &server,
        ActionId::RetryPayment,
        ObjectKind::Invoice,
        INVOICE,
    )
    .await;
    assert_eq!(
        subject.moot.as_deref(),
        Some("Nothing is left to pay on this invoice.")
    );
}

#[tokio::test]
async fn stripe_emails_only_invoices_sent_for_manual_payment() {
    let server = MockServer::start().await;
    on(
        &server,
        "GET",
        &format!("/v1/invoices/{INVOICE}"),
        answer(200, &open_invoice()),
    )
    .await;
    let subject = inspect(
        &server,
        ActionId::SendDunningEmail,
        ObjectKind::Invoice,
        INVOICE,
    )
    .await;
    assert_eq!(
        subject.moot.as_deref(),
        Some(
            "Stripe charges this invoice automatically; it emails only invoices sent for manual \
             payment."
        )
    );

    let server = MockServer::start().await;
    let manual = invoice_with(json!({"collection_method": "send_invoice"}));
    on(
        &server,
        "GET",
        &format!("/v1/invoices/{INVOICE}"),
        answer(200, &manual),
    )
    .await;
    let subject = inspect(
        &server,
        ActionId::SendDunningEmail,
        ObjectKind::Invoice,
        INVOICE,
    )
    .await;
    assert_eq!(subject.moot, None);
}

#[tokio::test]
async fn a_dispute_waiting_for_evidence_is_described_with_its_amount_and_customer() {
    let server = MockServer::start().await;
    on(
        &server,
        "GET",
        &format!("/v1/disputes/{DISPUTE}"),
        answer(200, &open_dispute()),
    )
    .await;
    let subject = inspect(&server, ActionId::AddEvidence, ObjectKind::Dispute, DISPUTE).await;
    assert_eq!(
        subject.description,
        format!("dispute {DISPUTE} (fraudulent) by Marcus Chen")
    );
    let amount = subject.amount.expect("an amount");
    assert_eq!((amount.amount, amount.currency.as_str()), (14_900, "usd"));
    assert_eq!(subject.customer.as_deref(), Some("cus_gGC0eOK42QxN5W"));
    assert_eq!(subject.moot, None);
    let request = only_request(&server).await;
    assert_eq!(request.url.query(), Some("expand[0]=charge"));
}

#[tokio::test]
async fn evidence_is_moot_on_a_dispute_that_no_longer_takes_it() {
    let cases = [
        (
            json!({"status": "won"}),
            "This dispute is closed: it was won.",
        ),
        (
            json!({"status": "lost"}),
            "This dispute is closed: it was lost.",
        ),
        (
            json!({"status": "warning_closed"}),
            "This inquiry is closed.",
        ),
        (
            json!({"status": "needs_response", "evidence_details": {"submission_count": 1}}),
            "Evidence was already submitted for this dispute.",
        ),
        (
            json!({"status": "under_review"}),
            "This dispute no longer takes evidence (it is under review).",
        ),
        (
            json!({"status": "warning_needs_response", "evidence_details": {"past_due": true}}),
            "The deadline to respond to this dispute has passed.",
        ),
    ];
    for (changes, moot) in cases {
        let server = MockServer::start().await;
        let dispute = dispute_with(changes.clone());
        on(
            &server,
            "GET",
            &format!("/v1/disputes/{DISPUTE}"),
            answer(200, &dispute),
        )
        .await;
        for action in [ActionId::AddEvidence, ActionId::SubmitEvidence] {
            let subject = inspect(&server, action, ObjectKind::Dispute, DISPUTE).await;
            assert_eq!(subject.moot.as_deref(), Some(moot), "{changes} {action}");
        }
    }
}

#[tokio::test]
async fn submitting_is_moot_until_evidence_is_staged() {
    let server = MockServer::start().await;
    on(
        &server,
        "GET",
        &format!("/v1/disputes/{DISPUTE}"),
        answer(200, &open_dispute()),
    )
    .await;
    let subject = inspect(
        &server,
        ActionId::SubmitEvidence,
        ObjectKind::Dispute,
        DISPUTE,
    )
    .await;
    assert_eq!(
        subject.moot.as_deref(),
        Some("No evidence is staged on this dispute yet: add evidence first.")
    );

    let server = MockServer::start().await;
    let staged = dispute_with(json!({"evidence_details": {"has_evidence": true}}));
    on(
        &server,
        "GET",
        &format!("/v1/disputes/{DISPUTE}"),
        answer(200, &staged),
    )
    .await;
    let subject = inspect(
        &server,
        ActionId::SubmitEvidence,
        ObjectKind::Dispute,
        DISPUTE,
    )
    .await;
    assert_eq!(subject.moot, None);
}

#[tokio::test]
async fn a_customer_is_named_and_a_deleted_one_cannot_be_marked_contacted() {
    let server = MockServer::start().await;
    on(
        &server,
        "GET",
        &format!("/v1/customers/{CUSTOMER}"),
        answer(200, &customer()),
    )
    .await;
    let subject = inspect(
        &server,
        ActionId::MarkContacted,
        ObjectKind::Customer,
        CUSTOMER,
    )
    .await;
    assert_eq!(subject.description, "customer Jenny Rosen");
    assert_eq!(subject.customer.as_deref(), Some(CUSTOMER));
    assert_eq!((subject.amount, subject.moot), (None, None));

    let server = MockServer::start().await;
    let deleted = json!({"id": CUSTOMER, "object": "customer", "deleted": true});
    on(
        &server,
        "GET",
        &format!("/v1/customers/{CUSTOMER}"),
        answer(200, &deleted),
    )
    .await;
    let subject = inspect(
        &server,
        ActionId::MarkContacted,
        ObjectKind::Customer,
        CUSTOMER,
    )
    .await;
    assert_eq!(subject.moot.as_deref(), Some("This customer was deleted."));
}

#[tokio::test]
async fn any_object_an_action_may_target_is_read_where_stripe_has_it() {
    let server = MockServer::start().await;
    let charge = fixture("charge.failed@2026-09-30.endive.json");
    let intent = fixture("payment_intent.payment_failed@2026-09-30.endive.json");
    let subscription = fixture("customer.subscription.updated@2026-09-30.endive+past-due.json");
    for (at, object) in [
        ("/v1/charges/ch_3IFceUQ9RKHgCVdKfH6DGsou", &charge),
        ("/v1/payment_intents/pi_3IFceUQ9RKHgCVdKfH6DGsou", &intent),
        (
            "/v1/subscriptions/sub_1EsEEDQ9RKHgCVdKisUvOtkS",
            &subscription,
        ),
    ] {
        on(&server, "GET", at, answer(200, object)).await;
    }
    let read = |kind, id: &'static str| {
        let server = &server;
        async move { inspect(server, ActionId::Assign, kind, id).await }
    };
    let charge = read(ObjectKind::Charge, "ch_3IFceUQ9RKHgCVdKfH6DGsou").await;
    assert_eq!(
        charge.description,
        "charge ch_3IFceUQ9RKHgCVdKfH6DGsou by Marcus Chen"
    );
    assert_eq!(charge.amount.map(|m| m.amount), Some(39_800));
    let intent = read(ObjectKind::PaymentIntent, "pi_3IFceUQ9RKHgCVdKfH6DGsou").await;
    assert_eq!(intent.description, "payment pi_3IFceUQ9RKHgCVdKfH6DGsou");
    assert_eq!(intent.customer.as_deref(), Some("cus_gGC0eOK42QxN5W"));
    let subscription = read(ObjectKind::Subscription, "sub_1EsEEDQ9RKHgCVdKisUvOtkS").await;
    assert_eq!(
        subscription.description,
        "subscription sub_1EsEEDQ9RKHgCVdKisUvOtkS"
    );
    assert_eq!(subscription.amount, None);
    assert_eq!(requests(&server).await.len(), 3);

    let other = inspect(
        &server,
        ActionId::CreateTicket,
        ObjectKind::Other("payout".into()),
        "po_1Q",
    )
    .await;
    assert_eq!(other.description, "po_1Q");
    assert_eq!(
        requests(&server).await.len(),
        3,
        "nothing read for a payout"
    );
}

// Errors as sentences.

async fn failing_pay(error: ResponseTemplate) -> (MockServer, Failure) {
    let server = MockServer::start().await;
    on(
        &server,
        "POST",
        &format!("/v1/invoices/{INVOICE}/pay"),
        error,
    )
    .await;
    let failure = perform_failure(
        &server,
        &task(ActionId::RetryPayment, ObjectKind::Invoice, INVOICE),
    )
    .await;
    (server, failure)
}

fn card_declined(decline_code: &str, message: &str) -> ResponseTemplate {
    stripe_error(
        402,
        json!({
            "charge": "ch_3IFceUQ9RKHgCVdKfH6DGsou",
            "code": "card_declined",
            "decline_code": decline_code,
            "doc_url": "https://stripe.com/docs/error-codes/card-declined",
            "message": message,
            "request_log_url": "https://dashboard.stripe.com/test/logs/req_7fWxGuYq2pTz9K?t=1796000000",
            "type": "card_error"
        }),
    )
}

#[tokio::test]
async fn a_card_decline_is_said_in_words_with_stripes_request_id() {
    let cases = [
        (
            "insufficient_funds",
            "Your card has insufficient funds.",
            "declined: insufficient funds",
        ),
        (
            "lost_card",
            "Your card was declined.",
            "declined: the card was reported lost",
        ),
        (
            "stolen_card",
            "Your card was declined.",
            "declined: the card was reported stolen",
        ),
        (
            "expired_card",
            "Your card has expired.",
            "declined: the card has expired",
        ),
        (
            "do_not_honor",
            "Your card was declined.",
            "declined: the bank gave no reason",
        ),
        (
            "a_code_stripe_adds_later",
            "Your card was declined.",
            "declined: the bank gave no reason",
        ),
    ];
    for (code, message, sentence) in cases {
        let (server, failure) = failing_pay(card_declined(code, message)).await;
        assert_eq!(failure.kind, FailureKind::Refused, "{code}");
        assert_eq!(failure.sentence, sentence);
        assert_eq!(failure.reference.as_deref(), Some("req_7fWxGuYq2pTz9K"));
        assert_eq!(requests(&server).await.len(), 1, "a decline is not retried");
    }
}

#[tokio::test]
async fn a_decline_with_the_payment_intent_stripe_attaches_is_still_read() {
    let mut error = json!({
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
        "type": "card_error",
        "request_log_url": "https://dashboard.stripe.com/test/logs/req_7fWxGuYq2pTz9K?t=1796000000"
    });
    error["payment_intent"] = fixture("payment_intent.payment_failed@2026-09-30.endive.json");
    let (_server, failure) = failing_pay(stripe_error(402, error)).await;
    assert_eq!(failure.sentence, "declined: insufficient funds");
}

#[tokio::test]
async fn an_invoice_needing_authentication_says_the_customer_must_authenticate() {
    let (_server, failure) = failing_pay(stripe_error(
        402,
        json!({
            "code": "invoice_payment_intent_requires_action",
            "message": "This payment requires additional user action before it can be completed successfully.",
            "type": "card_error"
        }),
    ))
    .await;
    assert_eq!(failure.kind, FailureKind::Refused);
    assert_eq!(
        failure.sentence,
        "not charged: the customer must authenticate the payment"
    );
}

#[tokio::test]
async fn paying_an_invoice_already_paid_says_so() {
    let (server, failure) = failing_pay(stripe_error(
        400,
        json!({"message": "Invoice is already paid", "type": "invalid_request_error"}),
    ))
    .await;
    assert_eq!(failure.kind, FailureKind::Refused);
    assert_eq!(failure.sentence, "This invoice is already paid.");
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_refused_key_is_a_configuration_problem_and_never_shown() {
    for (status, sentence) in [
        (
            401,
            "Stripe refused stripe-chat's API key (it is wrong, expired or revoked); nothing was charged.",
        ),
        (
            403,
            "Stripe refused stripe-chat's API key (it may not do this); nothing was charged.",
        ),
    ] {
        let (server, failure) = failing_pay(stripe_error(
            status,
            json!({
                "message": format!("Invalid API Key provided: {API_KEY}"),
                "type": "invalid_request_error"
            }),
        ))
        .await;
        assert_eq!(failure.kind, FailureKind::Misconfigured);
        assert_eq!(failure.sentence, sentence);
        assert_no_key(&format!("{failure} {failure:?} {:?}", operations(&server)));
        assert_eq!(requests(&server).await.len(), 1);
    }
}

#[tokio::test]
async fn rate_limited_after_every_try_says_nothing_was_charged() {
    let (server, failure) = failing_pay(stripe_error(
        429,
        json!({"code": "rate_limit", "message": "Too many requests.", "type": "invalid_request_error"}),
    ))
    .await;
    assert_eq!(failure.kind, FailureKind::Unavailable);
    assert_eq!(
        failure.sentence,
        "Stripe is busy; nothing was charged. Try again in a minute."
    );
    assert_eq!(requests(&server).await.len(), 3, "tried three times");
}

#[tokio::test]
async fn a_server_error_during_a_write_may_have_happened() {
    let (server, failure) = failing_pay(stripe_error(
        500,
        json!({"message": "An unknown error occurred", "type": "api_error",
               "request_log_url": "https://dashboard.stripe.com/logs/req_Q9nX3v?t=1"}),
    ))
    .await;
    assert_eq!(failure.kind, FailureKind::Unknown);
    assert_eq!(
        failure.sentence,
        "Stripe had an internal error (HTTP 500): the payment may or may not have been retried. \
         Asking again is safe: Stripe does it at most once."
    );
    assert_eq!(failure.reference.as_deref(), Some("req_Q9nX3v"));
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn a_server_error_while_reading_changed_nothing() {
    let server = MockServer::start().await;
    on(
        &server,
        "GET",
        &format!("/v1/invoices/{INVOICE}"),
        stripe_error(503, json!({"message": "unavailable", "type": "api_error"})),
    )
    .await;
    let failure = operations(&server)
        .inspect(
            ActionId::RetryPayment,
            &ObjectRef::new(ObjectKind::Invoice, INVOICE),
            None,
        )
        .await
        .expect_err("unavailable");
    assert_eq!(failure.kind, FailureKind::Unavailable);
    assert_eq!(
        failure.sentence,
        "Stripe had an internal error (HTTP 503); nothing was done. Try again in a minute."
    );
}

#[tokio::test]
async fn a_timeout_during_a_write_may_have_happened_and_asking_again_is_safe() {
    let server = MockServer::start().await;
    on(
        &server,
        "POST",
        &format!("/v1/invoices/{INVOICE}/pay"),
        answer(200, &invoice_with(json!({"status": "paid"}))).set_delay(Duration::from_secs(2)),
    )
    .await;
    let impatient = Client::builder(Secret::new(API_KEY))
        .api_base(server.uri())
        .timeout(Duration::from_millis(100))
        .retry(Retry::attempts(2).backoff(Duration::from_millis(5), Duration::from_millis(10)))
        .build()
        .expect("valid client");
    let failure = StripeOperations::new(impatient)
        .perform(&task(ActionId::RetryPayment, ObjectKind::Invoice, INVOICE))
        .await
        .expect_err("no answer in time");
    assert_eq!(failure.kind, FailureKind::Unknown);
    assert!(failure.kind.may_retry());
    assert_eq!(
        failure.sentence,
        "Stripe did not answer in time: the payment may or may not have been retried. Asking \
         again is safe: Stripe does it at most once."
    );
    let received = requests(&server).await;
    assert_eq!(received.len(), 2);
    assert!(
        received
            .iter()
            .all(|r| header(r, "idempotency-key") == Some(KEY))
    );
}

#[tokio::test]
async fn a_key_reused_with_other_parameters_is_refused_without_retrying() {
    for status in [400, 409] {
        let server = MockServer::start().await;
        on(
            &server,
            "POST",
            &format!("/v1/disputes/{DISPUTE}"),
            stripe_error(
                status,
                json!({
                    "message": format!("Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{KEY}' if you meant to execute a different request."),
                    "type": "idempotency_error"
                }),
            ),
        )
        .await;
        let failure = perform_failure(
            &server,
            &task(ActionId::SubmitEvidence, ObjectKind::Dispute, DISPUTE),
        )
        .await;
        assert_eq!(failure.kind, FailureKind::Refused, "{status}");
        assert_eq!(
            failure.sentence,
            "Stripe refused: this action was already asked with other details under the same \
             idempotency key; no evidence was submitted."
        );
        assert_eq!(requests(&server).await.len(), 1, "{status}: not retried");
    }
}

#[tokio::test]
async fn the_same_action_in_progress_elsewhere_is_an_unknown_outcome() {
    let (_server, failure) = failing_pay(stripe_error(
        409,
        json!({"code": "idempotency_key_in_use", "message": "There is currently another in-progress request using this Stripe token.", "type": "invalid_request_error"}),
    ))
    .await;
    assert_eq!(failure.kind, FailureKind::Unknown);
    assert_eq!(
        failure.sentence,
        "The same action is already in progress at Stripe. Ask again in a moment to see its \
         outcome; it cannot happen twice."
    );
}

#[tokio::test]
async fn an_object_stripe_does_not_have_hints_at_the_account() {
    let (_server, failure) = failing_pay(stripe_error(
        404,
        json!({"code": "resource_missing", "param": "invoice", "message": format!("No such invoice: '{INVOICE}'"), "type": "invalid_request_error"}),
    ))
    .await;
    assert_eq!(failure.kind, FailureKind::Refused);
    assert_eq!(
        failure.sentence,
        "Stripe has no such object (if it belongs to another Stripe account, that account must \
         be configured); nothing was charged."
    );
}

#[tokio::test]
async fn any_other_refusal_is_stripes_own_sentence() {
    let (_server, failure) = failing_pay(stripe_error(
        400,
        json!({"message": "This customer has no attached payment source or default payment method", "type": "invalid_request_error"}),
    ))
    .await;
    assert_eq!(failure.kind, FailureKind::Refused);
    assert_eq!(
        failure.sentence,
        "Stripe refused: This customer has no attached payment source or default payment method."
    );
}

#[tokio::test]
async fn a_lock_conflict_after_every_try_changed_nothing() {
    let (server, failure) = failing_pay(stripe_error(
        409,
        json!({"code": "lock_timeout", "message": "This object cannot be accessed right now because another API request or Stripe process is currently accessing it.", "type": "invalid_request_error"}),
    ))
    .await;
    assert_eq!(failure.kind, FailureKind::Unavailable);
    assert_eq!(
        failure.sentence,
        "Stripe was busy with another change to this object; nothing was charged. Try again in a \
         minute."
    );
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn stripe_out_of_reach_may_have_taken_a_write_but_took_no_read() {
    // A port nothing listens on: taken, then let go.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    drop(listener);
    let unreachable = || {
        Client::builder(Secret::new(API_KEY))
            .api_base(base.clone())
            .retry(Retry::attempts(2).backoff(Duration::from_millis(5), Duration::from_millis(10)))
            .build()
            .expect("valid client")
    };
    let failure = StripeOperations::new(unreachable())
        .perform(&task(
            ActionId::SendDunningEmail,
            ObjectKind::Invoice,
            INVOICE,
        ))
        .await
        .expect_err("unreachable");
    assert_eq!(failure.kind, FailureKind::Unknown);
    assert_eq!(
        failure.sentence,
        "Stripe could not be reached or gave no readable answer: the email may or may not have \
         been sent. Asking again is safe: Stripe does it at most once."
    );
    let failure = StripeOperations::new(unreachable())
        .inspect(
            ActionId::SendDunningEmail,
            &ObjectRef::new(ObjectKind::Invoice, INVOICE),
            None,
        )
        .await
        .expect_err("unreachable");
    assert_eq!(failure.kind, FailureKind::Unavailable);
    assert_eq!(
        failure.sentence,
        "Stripe could not be reached or gave no readable answer; nothing was done. Try again in a \
         minute."
    );
    assert_no_key(&format!("{failure:?}"));
}

#[tokio::test]
async fn a_live_object_read_with_a_test_key_is_a_configuration_problem() {
    let (_server, failure) = failing_pay(stripe_error(
        404,
        json!({"code": "resource_missing", "param": "invoice", "message": format!("No such invoice: '{INVOICE}'; a similar object exists in live mode, but a test mode key was used to make this request."), "type": "invalid_request_error"}),
    ))
    .await;
    assert_eq!(failure.kind, FailureKind::Misconfigured);
    assert_eq!(
        failure.sentence,
        "The object is in live mode but stripe-chat's Stripe key is a test-mode key; nothing was \
         charged."
    );
}

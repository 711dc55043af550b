//! The engine's behaviours, with Stripe as a counting fake, the platform as a recorder and a real
//! SQLite store in a temporary file.

#![allow(clippy::unwrap_used)] // test code: an unexpected error is the test failing

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use stripe_chat_actions::{
    ActionId, Actions, Failure, FailureKind, Immediate, Intent, Subject, idempotency_key,
};
use stripe_chat_audit::Decision;
use stripe_chat_message::{ActionStyle, ObjectKind, ObjectRef};
use stripe_chat_store::{MemoryStore, Store};
use support::*;

fn unpaid(minor: i64) -> Subject {
    Subject::new("invoice INV-1")
        .amount(minor, "usd")
        .livemode(true)
}

/// Presses `action` as `user`, waits for what follows, and gives the immediate answer.
async fn press_and_wait(w: &World, said: &Arc<Said>, user: &str, action: ActionId) -> Immediate {
    let answer = w
        .engine
        .handle(click(user, press(action, invoice("in_1"))), said.clone())
        .await;
    w.engine.settled().await;
    answer
}

async fn click_and_wait(w: &World, said: &Arc<Said>, user: &str, intent: Intent) -> Immediate {
    let answer = w.engine.handle(click(user, intent), said.clone()).await;
    w.engine.settled().await;
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_money_moving_action_asks_to_confirm_the_amount_read_from_stripe() {
    let w = world(FakeStripe::with("invoice/in_1", unpaid(84_200))).await;
    let said = Arc::new(Said::default());
    assert_eq!(
        press_and_wait(&w, &said, "UANA", ActionId::RetryPayment).await,
        Immediate::Ack
    );
    let asked = said.last_notice();
    assert_eq!(
        asked.text,
        "Retry the payment of 842.00 USD on invoice INV-1?"
    );
    assert_eq!(asked.buttons.len(), 2);
    assert!(matches!(asked.buttons[0].intent, Intent::Confirm { .. }));
    assert_eq!(asked.buttons[0].style, ActionStyle::Danger);
    assert!(matches!(asked.buttons[1].intent, Intent::Cancel { .. }));
    assert!(
        w.stripe.performed().is_empty(),
        "nothing before the confirmation"
    );
    assert!(said.lines().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_is_answered_before_stripe_is_asked_anything() {
    let stripe = FakeStripe::with("invoice/in_1", unpaid(84_200));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    *stripe.gate.lock().unwrap() = Some(gate.clone());
    let w = world(stripe.clone()).await;
    let said = Arc::new(Said::default());
    // Stripe answers nothing until the gate opens: an engine that asked it on the request path
    // would never answer (the test would hang, and the guard below fail it).
    let answer = tokio::time::timeout(
        Duration::from_secs(30),
        w.engine.handle(
            click("UANA", press(ActionId::RetryPayment, invoice("in_1"))),
            said.clone(),
        ),
    )
    .await
    .expect("an answer while Stripe is silent");
    assert_eq!(answer, Immediate::Ack);
    assert_eq!(
        stripe.inspected.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    assert!(said.told().is_empty());
    gate.add_permits(1);
    w.engine.settled().await;
    assert_eq!(
        said.told(),
        ["Retry the payment of 842.00 USD on invoice INV-1?"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_before_the_confirmation_is_refused() {
    let w = world(FakeStripe::with("invoice/in_1", unpaid(120_000))).await;
    let said = Arc::new(Said::default());
    press_and_wait(&w, &said, "UANA", ActionId::RetryPayment).await;
    let pending = match &said.last_notice().buttons[0].intent {
        Intent::Confirm { pending } => pending.clone(),
        other => panic!("a confirm button, got {other:?}"),
    };
    click_and_wait(&w, &said, "UCY", Intent::Approve { pending }).await;
    assert_eq!(
        said.told().last().unwrap(),
        "The person who asked has not confirmed it yet."
    );
    assert!(w.stripe.performed().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_retry_is_performed_once_and_the_message_says_so() {
    let w = world(FakeStripe::with("invoice/in_1", unpaid(84_200))).await;
    let said = Arc::new(Said::default());
    press_and_wait(&w, &said, "UANA", ActionId::RetryPayment).await;
    let confirm = said.last_notice().buttons[0].intent.clone();
    assert_eq!(
        click_and_wait(&w, &said, "UANA", confirm.clone()).await,
        Immediate::Ack
    );
    let performed = w.stripe.performed();
    assert_eq!(performed.len(), 1);
    let task = &performed[0];
    assert_eq!(task.person, "ana");
    assert_eq!(task.message, message());
    assert_eq!(
        task.idempotency_key,
        idempotency_key(
            ActionId::RetryPayment,
            "invoice/in_1",
            "slack:C1/1700000000.000100"
        )
    );
    assert_eq!(said.lines(), ["Payment retried by ana — succeeded"]);

    // Confirming again performs nothing more.
    click_and_wait(&w, &said, "UANA", confirm).await;
    assert_eq!(w.stripe.performed().len(), 1);
    assert_eq!(said.told().last().unwrap(), "Already done: succeeded.");
    let steps: Vec<Decision> = decisions(&w.audit).await.into_iter().map(|d| d.1).collect();
    assert_eq!(
        steps,
        [
            Decision::Requested,
            Decision::Confirmed,
            Decision::Performed
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_payment_shows_the_reason_on_the_message() {
    let w = world(FakeStripe::with("invoice/in_1", unpaid(84_200))).await;
    w.stripe.then(Err(Failure::new(
        FailureKind::Refused,
        "declined: insufficient funds",
    )
    .reference("req_9")));
    let said = Arc::new(Said::default());
    press_and_wait(&w, &said, "UANA", ActionId::RetryPayment).await;
    let confirm = said.last_notice().buttons[0].intent.clone();
    click_and_wait(&w, &said, "UANA", confirm).await;
    assert_eq!(
        said.lines(),
        ["Payment retried by ana — declined: insufficient funds"]
    );
    let records = w.audit.records(1).await.unwrap();
    let failed = records.last().unwrap().entry().unwrap();
    assert_eq!(failed.decision, Decision::Failed);
    assert_eq!(failed.stripe_request.as_deref(), Some("req_9"));
    assert_eq!(failed.amount.as_ref().map(|a| a.minor), Some(84_200));
    assert!(
        failed
            .idempotency_key
            .unwrap()
            .starts_with("sc-retry_payment-")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_person_who_asked_can_confirm() {
    let w = world(FakeStripe::with("invoice/in_1", unpaid(84_200))).await;
    let said = Arc::new(Said::default());
    press_and_wait(&w, &said, "UANA", ActionId::RetryPayment).await;
    let confirm = said.last_notice().buttons[0].intent.clone();
    click_and_wait(&w, &said, "UCY", confirm).await;
    assert_eq!(
        said.told().last().unwrap(),
        "None of your roles allows “Retry payment”."
    );
    assert!(w.stripe.performed().is_empty());
    let last = decisions(&w.audit).await.pop().unwrap();
    assert_eq!(last, ("retry_payment".to_owned(), Decision::Denied));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmation_after_the_expiry_is_refused() {
    let w = world_expiring(
        FakeStripe::with("invoice/in_1", unpaid(84_200)),
        Duration::from_millis(20),
    )
    .await;
    let said = Arc::new(Said::default());
    press_and_wait(&w, &said, "UANA", ActionId::RetryPayment).await;
    let confirm = said.last_notice().buttons[0].intent.clone();
    tokio::time::sleep(Duration::from_millis(50)).await;
    click_and_wait(&w, &said, "UANA", confirm).await;
    assert_eq!(
        said.told().last().unwrap(),
        "This request has expired; start it again."
    );
    assert!(w.stripe.performed().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_eyes_a_second_person_approves_from_the_message_and_nobody_their_own() {
    let w = world(FakeStripe::with("invoice/in_1", unpaid(120_000))).await;
    let said = Arc::new(Said::default());
    press_and_wait(&w, &said, "UANA", ActionId::RetryPayment).await;
    let confirm = said.last_notice().buttons[0].intent.clone();
    click_and_wait(&w, &said, "UANA", confirm).await;
    assert!(w.stripe.performed().is_empty(), "waiting for the approval");
    let line = said.last_line();
    assert_eq!(
        line.text,
        "ana asks to retry 1,200.00 USD — a second person must approve"
    );
    let approve = line.buttons[0].intent.clone();
    assert!(matches!(approve, Intent::Approve { .. }));

    // ana cannot approve her own request.
    click_and_wait(&w, &said, "UANA", approve.clone()).await;
    assert_eq!(
        said.told().last().unwrap(),
        "You cannot approve your own request."
    );
    // dee's roles do not reach this amount.
    click_and_wait(&w, &said, "UDEE", approve.clone()).await;
    assert!(w.stripe.performed().is_empty());

    click_and_wait(&w, &said, "UCY", approve.clone()).await;
    let performed = w.stripe.performed();
    assert_eq!(performed.len(), 1);
    assert_eq!(performed[0].approved_by.as_deref(), Some("cy"));
    assert_eq!(performed[0].person, "ana");
    assert_eq!(
        said.last_line().text,
        "Payment retried by ana, approved by cy — succeeded"
    );
    // Approving again does nothing more.
    click_and_wait(&w, &said, "UCY", approve).await;
    assert_eq!(w.stripe.performed().len(), 1);

    let steps: Vec<Decision> = decisions(&w.audit).await.into_iter().map(|d| d.1).collect();
    assert_eq!(
        steps,
        [
            Decision::Requested,
            Decision::Confirmed,
            Decision::Denied,
            Decision::Denied,
            Decision::Approved,
            Decision::Performed
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_after_the_expiry_is_refused() {
    let w = world_expiring(
        FakeStripe::with("invoice/in_1", unpaid(120_000)),
        Duration::from_millis(300),
    )
    .await;
    let said = Arc::new(Said::default());
    press_and_wait(&w, &said, "UANA", ActionId::RetryPayment).await;
    let confirm = said.last_notice().buttons[0].intent.clone();
    click_and_wait(&w, &said, "UANA", confirm).await;
    let approve = said.last_line().buttons[0].intent.clone();
    tokio::time::sleep(Duration::from_millis(400)).await;
    click_and_wait(&w, &said, "UCY", approve).await;
    assert_eq!(
        said.told().last().unwrap(),
        "This request has expired; start it again."
    );
    assert!(w.stripe.performed().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_may_refuse_and_the_message_says_so() {
    let w = world(FakeStripe::with("invoice/in_1", unpaid(120_000))).await;
    let said = Arc::new(Said::default());
    press_and_wait(&w, &said, "UANA", ActionId::RetryPayment).await;
    let confirm = said.last_notice().buttons[0].intent.clone();
    click_and_wait(&w, &said, "UANA", confirm).await;
    let refuse = said.last_line().buttons[1].intent.clone();
    let approve = said.last_line().buttons[0].intent.clone();
    assert!(matches!(refuse, Intent::Cancel { .. }));
    click_and_wait(&w, &said, "UCY", refuse).await;
    assert_eq!(
        said.last_line().text,
        "ana's request to retry 1,200.00 USD was refused by cy"
    );
    click_and_wait(&w, &said, "UCY", approve).await;
    assert_eq!(said.told().last().unwrap(), "This request was cancelled.");
    assert!(w.stripe.performed().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_request_cannot_be_confirmed() {
    let w = world(FakeStripe::with("invoice/in_1", unpaid(84_200))).await;
    let said = Arc::new(Said::default());
    press_and_wait(&w, &said, "UANA", ActionId::RetryPayment).await;
    let notice = said.last_notice();
    click_and_wait(&w, &said, "UANA", notice.buttons[1].intent.clone()).await;
    assert_eq!(said.told().last().unwrap(), "Cancelled. Nothing was done.");
    click_and_wait(&w, &said, "UANA", notice.buttons[0].intent.clone()).await;
    assert_eq!(said.told().last().unwrap(), "This request was cancelled.");
    assert!(w.stripe.performed().is_empty());
    assert!(
        decisions(&w.audit)
            .await
            .iter()
            .any(|d| d.1 == Decision::Cancelled)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoice_paid_meanwhile_is_told_and_nothing_is_done() {
    let stripe = FakeStripe::with("invoice/in_1", unpaid(84_200));
    let w = world(stripe.clone()).await;
    let said = Arc::new(Said::default());
    press_and_wait(&w, &said, "UANA", ActionId::RetryPayment).await;
    let confirm = said.last_notice().buttons[0].intent.clone();
    stripe.set(
        "invoice/in_1",
        unpaid(84_200).moot("This invoice is already paid."),
    );
    click_and_wait(&w, &said, "UANA", confirm).await;
    assert_eq!(
        said.told().last().unwrap(),
        "This invoice is already paid. Nothing was done."
    );
    assert!(w.stripe.performed().is_empty());
    assert_eq!(
        decisions(&w.audit).await.pop().unwrap(),
        ("retry_payment".to_owned(), Decision::Moot)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_amount_changed_since_the_question_is_not_charged() {
    let stripe = FakeStripe::with("invoice/in_1", unpaid(84_200));
    let w = world(stripe.clone()).await;
    let said = Arc::new(Said::default());
    press_and_wait(&w, &said, "UANA", ActionId::RetryPayment).await;
    let confirm = said.last_notice().buttons[0].intent.clone();
    stripe.set("invoice/in_1", unpaid(99_900));
    click_and_wait(&w, &said, "UANA", confirm).await;
    assert!(said.told().last().unwrap().starts_with(
        "The amount changed since the request (it is now 999.00 USD); nothing was done."
    ));
    assert!(w.stripe.performed().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_delivery_of_a_click_is_acknowledged_and_does_nothing() {
    let w = world(FakeStripe::with("invoice/in_1", unpaid(84_200))).await;
    let said = Arc::new(Said::default());
    let once = click("UANA", press(ActionId::SendDunningEmail, invoice("in_1")));
    for _ in 0..3 {
        assert_eq!(
            w.engine.handle(once.clone(), said.clone()).await,
            Immediate::Ack
        );
    }
    w.engine.settled().await;
    assert_eq!(w.stripe.performed().len(), 1);
    assert_eq!(
        w.stripe.inspected.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    assert_eq!(said.lines(), ["Dunning email sent by ana — succeeded"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_person_is_denied_at_once_and_audited() {
    let w = world(FakeStripe::with("invoice/in_1", unpaid(84_200))).await;
    let said = Arc::new(Said::default());
    let answer = press_and_wait(&w, &said, "USTRANGER", ActionId::RetryPayment).await;
    let Immediate::Tell(notice) = answer else {
        panic!("a private answer, got {answer:?}")
    };
    assert!(
        notice
            .text
            .starts_with("You are not set up to act on Stripe")
    );
    assert_eq!(
        w.stripe.inspected.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    let records = w.audit.records(1).await.unwrap();
    let denied = records[0].entry().unwrap();
    assert_eq!(denied.decision, Decision::Denied);
    assert_eq!(denied.actor.identity, "T1/USTRANGER");
    assert_eq!(denied.actor.platform, "slack");
    assert!(denied.actor.person.is_none());
    assert_eq!(denied.object.as_deref(), Some("invoice/in_1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_amount_over_the_ceiling_is_denied_with_the_ceiling_named() {
    let w = world(FakeStripe::with("invoice/in_1", unpaid(150_000))).await;
    let said = Arc::new(Said::default());
    assert_eq!(
        press_and_wait(&w, &said, "UDEE", ActionId::RetryPayment).await,
        Immediate::Ack
    );
    assert_eq!(
        said.told(),
        ["Your roles allow “Retry payment” up to 1,000.00 USD; this is more."]
    );
    assert!(w.stripe.performed().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_evidence_opens_a_form_and_audits_the_text_redacted() {
    let dispute = ObjectRef::new(ObjectKind::Dispute, "dp_1");
    let w = world(FakeStripe::with(
        "dispute/dp_1",
        Subject::new("dispute dp_1").amount(5_000, "usd"),
    ))
    .await;
    let said = Arc::new(Said::default());
    let pressed = w
        .engine
        .handle(
            click("UANA", press(ActionId::AddEvidence, dispute.clone())),
            said.clone(),
        )
        .await;
    let Immediate::Form(form) = pressed else {
        panic!("a form, got {pressed:?}")
    };
    assert_eq!(form.fields[0].id, "uncategorized_text");
    assert_eq!(form.submit.token(), "sc:add_evidence:dispute:dp_1");

    let typed = "Customer signed for it; card 4242 4242 4242 4242, jenny@example.com";
    let fields = BTreeMap::from([("uncategorized_text".to_owned(), typed.to_owned())]);
    let submit = Intent::Submit {
        action: ActionId::AddEvidence,
        target: dispute,
        account: None,
        fields,
    };
    assert_eq!(
        click_and_wait(&w, &said, "UANA", submit).await,
        Immediate::Ack
    );
    let performed = w.stripe.performed();
    assert_eq!(performed[0].fields["uncategorized_text"], typed);
    let records = w.audit.records(1).await.unwrap();
    let allowed = records[0].entry().unwrap();
    assert_eq!(allowed.decision, Decision::Allowed);
    let detail = allowed.detail.unwrap();
    assert!(!detail.contains("4242 4242 4242 4242") && !detail.contains("jenny@"));
    assert!(detail.contains("4242"), "brand and last 4 only: {detail}");
    assert!(
        records
            .iter()
            .all(|r| !r.body.contains("4242 4242") && !r.body.contains("jenny@"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_its_required_text_or_with_unknown_fields_is_refused() {
    let dispute = ObjectRef::new(ObjectKind::Dispute, "dp_1");
    let w = world(FakeStripe::with(
        "dispute/dp_1",
        Subject::new("dispute dp_1"),
    ))
    .await;
    let said = Arc::new(Said::default());
    for (fields, says) in [
        (
            vec![("uncategorized_text", "  ")],
            "“Evidence” must be filled in.",
        ),
        (
            vec![("uncategorized_text", "x"), ("amount", "1")],
            "The form of “Add evidence” has no field \"amount\".",
        ),
    ] {
        let fields = fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let submit = Intent::Submit {
            action: ActionId::AddEvidence,
            target: dispute.clone(),
            account: None,
            fields,
        };
        let answer = click_and_wait(&w, &said, "UANA", submit).await;
        let Immediate::Tell(notice) = answer else {
            panic!("a private answer, got {answer:?}")
        };
        assert_eq!(notice.text, format!("{says} Nothing was done."));
    }
    let long = Intent::Submit {
        action: ActionId::AddEvidence,
        target: dispute,
        account: None,
        fields: BTreeMap::from([("uncategorized_text".to_owned(), "x".repeat(4001))]),
    };
    assert!(matches!(
        click_and_wait(&w, &said, "UANA", long).await,
        Immediate::Tell(_)
    ));
    assert!(w.stripe.performed().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_leaves_the_action_to_be_performed_again_under_the_same_key() {
    let w = world(FakeStripe::with("invoice/in_1", unpaid(84_200))).await;
    w.stripe.then(Err(Failure::new(
        FailureKind::Unknown,
        "Stripe did not answer in time",
    )));
    let said = Arc::new(Said::default());
    press_and_wait(&w, &said, "UANA", ActionId::RetryPayment).await;
    let confirm = said.last_notice().buttons[0].intent.clone();
    click_and_wait(&w, &said, "UANA", confirm.clone()).await;
    assert_eq!(
        said.told().last().unwrap(),
        "Retry payment — Stripe did not answer in time. Trying again is safe: it cannot happen twice."
    );
    assert!(said.lines().is_empty(), "nothing is known to have happened");

    click_and_wait(&w, &said, "UANA", confirm).await;
    let performed = w.stripe.performed();
    assert_eq!(performed.len(), 2);
    assert_eq!(performed[0].idempotency_key, performed[1].idempotency_key);
    assert_eq!(said.lines(), ["Payment retried by ana — succeeded"]);
    let steps: Vec<Decision> = decisions(&w.audit).await.into_iter().map(|d| d.1).collect();
    assert_eq!(
        steps,
        [
            Decision::Requested,
            Decision::Confirmed,
            Decision::Failed,
            Decision::Performed
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_identical_clicks_and_ten_people_at_once_retry_the_payment_once() {
    let stripe = FakeStripe::with("invoice/in_1", unpaid(84_200));
    *stripe.delay.lock().unwrap() = Duration::from_millis(50);
    let w = Arc::new(world(stripe.clone()).await);
    let said = Arc::new(Said::default());

    // One click delivered a hundred times at once: one question.
    let once = click("UANA", press(ActionId::RetryPayment, invoice("in_1")));
    let mut deliveries = Vec::new();
    for _ in 0..100 {
        let (w, said, once) = (w.clone(), said.clone(), once.clone());
        deliveries.push(tokio::spawn(
            async move { w.engine.handle(once, said).await },
        ));
    }
    for delivery in deliveries {
        assert_eq!(delivery.await.unwrap(), Immediate::Ack);
    }
    w.engine.settled().await;
    assert_eq!(said.told().len(), 1);
    let ana_confirms = said.last_notice().buttons[0].intent.clone();

    // Ten people with the rights, each asking on the same message, and confirming at once,
    // ten times each.
    let people = ["UANA", "UCY", "UDEE"];
    let mut confirms = vec![("UANA", ana_confirms)];
    for i in 0..9 {
        let theirs = Arc::new(Said::default());
        let who = people[i % people.len()];
        press_and_wait(&w, &theirs, who, ActionId::RetryPayment).await;
        confirms.push((who, theirs.last_notice().buttons[0].intent.clone()));
    }
    let mut clicks = Vec::new();
    for (who, confirm) in confirms {
        for _ in 0..10 {
            let (w, said, confirm) = (w.clone(), said.clone(), confirm.clone());
            clicks.push(tokio::spawn(async move {
                w.engine.handle(click(who, confirm), said).await
            }));
        }
    }
    for c in clicks {
        assert_eq!(c.await.unwrap(), Immediate::Ack);
    }
    w.engine.settled().await;
    assert_eq!(stripe.performed().len(), 1, "the payment is retried once");
    let winner = &stripe.performed()[0].person;
    assert_eq!(
        said.lines(),
        [format!("Payment retried by {winner} — succeeded")]
    );
    assert!(
        decisions(&w.audit)
            .await
            .iter()
            .filter(|d| d.1 == Decision::Performed)
            .count()
            == 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_loses_no_pending_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stripe-chat.db");
    let stripe = FakeStripe::with("invoice/in_1", unpaid(84_200));
    let said = Arc::new(Said::default());
    let confirm = {
        let store = open(&path).await;
        let (engine, audit) = engine_over(store.clone(), stripe.clone(), Duration::from_secs(900));
        engine
            .handle(
                click("UANA", press(ActionId::RetryPayment, invoice("in_1"))),
                said.clone(),
            )
            .await;
        engine.settled().await;
        drop((engine, audit));
        Arc::into_inner(store).unwrap().close().await;
        said.last_notice().buttons[0].intent.clone()
    };
    let store = open(&path).await;
    let (engine, _audit) = engine_over(store, stripe.clone(), Duration::from_secs(900));
    engine.handle(click("UANA", confirm), said.clone()).await;
    engine.settled().await;
    assert_eq!(stripe.performed().len(), 1);
}

#[tokio::test]
async fn a_store_that_cannot_record_the_click_says_at_once_that_nothing_was_done() {
    let store = Arc::new(MemoryStore::new());
    store.set_available(false);
    let dyn_store: Arc<dyn Store> = store.clone();
    let stripe = FakeStripe::with("invoice/in_1", unpaid(84_200));
    let audit = Arc::new(stripe_chat_audit::AuditLog::new(dyn_store.clone(), "t"));
    let engine = stripe_chat_act::Engine::builder(
        stripe_chat_actions::Permissions::from_toml(PEOPLE).unwrap(),
        stripe.clone(),
        dyn_store,
        audit,
    )
    .build();
    let answer = engine
        .handle(
            click("UANA", press(ActionId::RetryPayment, invoice("in_1"))),
            Arc::new(Said::default()),
        )
        .await;
    let Immediate::Tell(notice) = answer else {
        panic!("a private answer, got {answer:?}")
    };
    assert!(notice.text.contains("nothing was done"));
    engine.settled().await;
    assert_eq!(
        stripe.inspected.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_told_only_to_the_person_who_clicked() {
    let w = world(FakeStripe::with("invoice/in_1", unpaid(84_200))).await;
    w.stripe.then(Err(Failure::new(
        FailureKind::Unavailable,
        "Stripe is rate limiting us; try again in a minute",
    )));
    let said = Arc::new(Said::default());
    press_and_wait(&w, &said, "UANA", ActionId::SendDunningEmail).await;
    assert!(said.lines().is_empty());
    assert_eq!(
        said.told(),
        [
            "Send dunning email — Stripe is rate limiting us; try again in a minute. Trying again is safe: it cannot happen twice."
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_is_a_link_and_acknowledged_without_reading_anything() {
    let w = world(FakeStripe::with("invoice/in_1", unpaid(84_200))).await;
    let said = Arc::new(Said::default());
    assert_eq!(
        press_and_wait(&w, &said, "UANA", ActionId::Open).await,
        Immediate::Ack
    );
    assert_eq!(
        w.stripe.inspected.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    assert!(said.told().is_empty());
}

/// Who may do what, from the people and roles of the tests: every first answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flows_of_every_role_action_and_amount() {
    enum Then {
        /// Denied, privately, saying this.
        Denied(&'static str),
        /// Asked to confirm.
        Confirm,
        /// Shown on the message for a second person to approve.
        Approval,
        /// Performed at once; the message says this.
        Done(&'static str),
    }
    use Then::*;
    let table: &[(&str, ActionId, i64, Then)] = &[
        (
            "USTRANGER",
            ActionId::SendDunningEmail,
            500,
            Denied(
                "You are not set up to act on Stripe from this chat. Ask an administrator to add your account to stripe-chat's people.",
            ),
        ),
        (
            "UBO",
            ActionId::RetryPayment,
            500,
            Denied("None of your roles allows “Retry payment”."),
        ),
        (
            "UBO",
            ActionId::SendDunningEmail,
            500,
            Denied("None of your roles allows “Send dunning email”."),
        ),
        (
            "UBO",
            ActionId::Notify,
            500,
            Done("Shared by bo — succeeded"),
        ),
        ("UDEE", ActionId::RetryPayment, 100_000, Confirm),
        (
            "UDEE",
            ActionId::RetryPayment,
            100_001,
            Denied("Your roles allow “Retry payment” up to 1,000.00 USD; this is more."),
        ),
        (
            "UDEE",
            ActionId::SubmitEvidence,
            500,
            Denied("None of your roles allows “Submit evidence”."),
        ),
        (
            "UDEE",
            ActionId::SendDunningEmail,
            500,
            Done("Dunning email sent by dee — succeeded"),
        ),
        (
            "UDEE",
            ActionId::CreateTicket,
            500,
            Done("Ticket opened by dee"),
        ),
        ("UANA", ActionId::RetryPayment, 250_000, Confirm),
        ("UANA", ActionId::SubmitEvidence, 500, Confirm),
        (
            "UANA",
            ActionId::MarkContacted,
            500,
            Done("Marked as contacted by ana — succeeded"),
        ),
        ("UANA", ActionId::SendDunningEmail, 200_000, Approval),
        ("UCY", ActionId::RetryPayment, 9_000_000, Confirm),
    ];
    for (n, (user, action, amount, then)) in table.iter().enumerate() {
        let w = world(FakeStripe::with(
            &format!("invoice/in_{n}"),
            unpaid(*amount),
        ))
        .await;
        let said = Arc::new(Said::default());
        let answer = w
            .engine
            .handle(
                click(user, press(*action, invoice(&format!("in_{n}")))),
                said.clone(),
            )
            .await;
        w.engine.settled().await;
        let row = format!("row {n}: {user} {action} {amount}");
        match then {
            Denied(text) => {
                let said_text = match answer {
                    Immediate::Tell(notice) => notice.text,
                    _ => said.told().pop().unwrap_or_default(),
                };
                assert_eq!(&said_text, text, "{row}");
                assert!(w.stripe.performed().is_empty(), "{row}");
                assert_eq!(
                    decisions(&w.audit).await.pop().unwrap().1,
                    Decision::Denied,
                    "{row}"
                );
            }
            Confirm => {
                assert!(
                    matches!(said.last_notice().buttons[0].intent, Intent::Confirm { .. }),
                    "{row}"
                );
                assert!(w.stripe.performed().is_empty(), "{row}");
            }
            Approval => {
                let line = said.last_line();
                assert!(line.text.ends_with("a second person must approve"), "{row}");
                assert!(
                    matches!(line.buttons[0].intent, Intent::Approve { .. }),
                    "{row}"
                );
                assert!(w.stripe.performed().is_empty(), "{row}");
            }
            Done(line) => {
                assert_eq!(said.lines(), [*line], "{row}");
                assert_eq!(w.stripe.performed().len(), 1, "{row}");
            }
        }
    }
}

#[tokio::test]
async fn nothing_is_performed_without_its_audit_record() {
    let store = Arc::new(MemoryStore::new());
    let dyn_store: Arc<dyn Store> = store.clone();
    let stripe = FakeStripe::with("invoice/in_1", unpaid(84_200));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    *stripe.gate.lock().unwrap() = Some(gate.clone());
    let audit = Arc::new(stripe_chat_audit::AuditLog::new(dyn_store.clone(), "t"));
    let engine = stripe_chat_act::Engine::builder(
        stripe_chat_actions::Permissions::from_toml(PEOPLE).unwrap(),
        stripe.clone(),
        dyn_store,
        audit,
    )
    .build();
    let said = Arc::new(Said::default());
    let answer = engine
        .handle(
            click("UANA", press(ActionId::SendDunningEmail, invoice("in_1"))),
            said.clone(),
        )
        .await;
    assert_eq!(answer, Immediate::Ack);
    // The store (and with it the audit log) fails while Stripe is being read.
    store.set_available(false);
    gate.add_permits(1);
    engine.settled().await;
    assert!(stripe.performed().is_empty());
    assert_eq!(
        said.told(),
        [
            "stripe-chat cannot record this in its audit log right now; nothing was done. Try again in a moment."
        ]
    );
}

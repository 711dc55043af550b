//! Acting from Slack, against a local stand-in for Slack: clicks read as the engine's clicks,
//! forms open with the click's trigger and come back as submissions, private answers go to the
//! response_url, and the message keeps its blocks under one status line.

#![cfg(feature = "actions")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use stripe_chat_actions::{
    ActionId, Actions, Click, Form, FormField, Immediate, Intent, Notice, PromptButton, Responder,
    StatusLine,
};
use stripe_chat_message::{ActionStyle, ObjectKind, ObjectRef, Secret, async_trait};
use stripe_chat_slack::SlackProvider;
use stripe_chat_slack::actions::{click, dispatch};
use stripe_chat_slack::interaction::SlackInteraction;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn interaction(payload: Value) -> SlackInteraction {
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
    SlackInteraction::parse(body.as_bytes()).unwrap()
}

fn press(api: &MockServer, token: &str) -> Value {
    json!({
        "type": "block_actions", "trigger_id": "trig-1",
        "user": { "id": "U1", "team_id": "T1", "username": "ana" },
        "channel": { "id": "C1" },
        "container": { "type": "message", "message_ts": "17.1", "is_ephemeral": false },
        "message": { "ts": "17.1", "text": "Dispute opened", "blocks": [
            { "type": "header", "text": { "type": "plain_text", "text": "Dispute opened" } },
            { "type": "context", "block_id": "sc_status", "elements": [{ "type": "mrkdwn", "text": "old" }] }
        ] },
        "response_url": format!("{}/respond/1", api.uri()),
        "actions": [{ "action_id": token, "value": token }]
    })
}

/// An engine that answers with `answer` and records what it was given.
struct Scripted {
    answer: Immediate,
    seen: Mutex<Vec<Click>>,
    responder: Mutex<Option<Arc<dyn Responder>>>,
}

#[async_trait]
impl Actions for Scripted {
    async fn handle(&self, click: Click, responder: Arc<dyn Responder>) -> Immediate {
        self.seen.lock().unwrap().push(click);
        *self.responder.lock().unwrap() = Some(responder);
        self.answer.clone()
    }
}

fn scripted(answer: Immediate) -> Scripted {
    Scripted {
        answer,
        seen: Mutex::new(Vec::new()),
        responder: Mutex::new(None),
    }
}

async fn slack_api() -> MockServer {
    let api = MockServer::start().await;
    for endpoint in ["/views.open", "/chat.update", "/chat.postEphemeral"] {
        Mock::given(method("POST"))
            .and(path(endpoint))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "ok": true })))
            .mount(&api)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/respond/1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "ok": true })))
        .mount(&api)
        .await;
    api
}

async fn bodies(api: &MockServer, endpoint: &str) -> Vec<Value> {
    for _ in 0..100 {
        let found: Vec<Value> = api
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == endpoint)
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        if !found.is_empty() {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Vec::new()
}

fn evidence_form() -> Form {
    Form {
        title: "Add evidence".into(),
        submit: Intent::Press {
            action: ActionId::AddEvidence,
            target: ObjectRef::new(ObjectKind::Dispute, "dp_1"),
            account: Some("acct_1".into()),
        },
        fields: vec![FormField {
            id: "uncategorized_text".into(),
            label: "Evidence".into(),
            multiline: true,
            max_chars: 4000,
            required: true,
        }],
    }
}

#[tokio::test]
async fn a_form_opens_with_the_clicks_trigger_and_its_submission_comes_back_as_a_submit() {
    let api = slack_api().await;
    let slack = Arc::new(SlackProvider::bot(Secret::new("xoxb-1"), "C1").with_api_base(api.uri()));
    let engine = scripted(Immediate::Form(evidence_form()));
    let token = "sc:add_evidence:dispute:dp_1@acct_1";
    let answer = dispatch(&engine, slack.clone(), interaction(press(&api, token))).await;
    assert!(answer.body.is_none(), "an empty 200");
    let opened = bodies(&api, "/views.open").await;
    assert_eq!(opened[0]["trigger_id"], "trig-1");
    let view = &opened[0]["view"];
    assert_eq!(view["callback_id"], token);
    assert_eq!(view["private_metadata"], "C1 17.1");
    assert_eq!(view["blocks"][0]["block_id"], "uncategorized_text");

    let submitted = interaction(json!({
        "type": "view_submission", "trigger_id": "trig-2",
        "user": { "id": "U1", "team_id": "T1" },
        "view": { "id": "V1", "callback_id": view["callback_id"], "private_metadata": view["private_metadata"],
            "state": { "values": { "uncategorized_text": { "uncategorized_text": { "type": "plain_text_input", "value": "Delivered on 3 May" } } } } }
    }));
    let submit = click(&submitted).expect("a submission of ours");
    assert_eq!(submit.message.channel.as_deref(), Some("C1"));
    assert_eq!(submit.message.id, "17.1");
    let Intent::Submit {
        action,
        account,
        fields,
        ..
    } = submit.intent
    else {
        panic!("a submit");
    };
    assert_eq!(action, ActionId::AddEvidence);
    assert_eq!(account.as_deref(), Some("acct_1"));
    assert_eq!(fields["uncategorized_text"], "Delivered on 3 May");

    // A problem with the values keeps the modal open and shows it under the field.
    let refusing = scripted(Immediate::Tell(Notice::text("Evidence is required.")));
    let answer = dispatch(&refusing, slack, submitted).await;
    assert_eq!(
        answer.body,
        Some(
            json!({ "response_action": "errors", "errors": { "uncategorized_text": "Evidence is required." } })
        )
    );
}

#[tokio::test]
async fn the_message_keeps_its_blocks_under_one_status_line_and_the_person_is_told_privately() {
    let api = slack_api().await;
    let slack = Arc::new(SlackProvider::bot(Secret::new("xoxb-1"), "C1").with_api_base(api.uri()));
    let engine = scripted(Immediate::Ack);
    dispatch(
        &engine,
        slack,
        interaction(press(&api, "sc:mark_contacted:customer:cus_1")),
    )
    .await;
    let responder = engine
        .responder
        .lock()
        .unwrap()
        .clone()
        .expect("a responder");
    responder
        .update(StatusLine::new("Marked as contacted by ana — recorded"))
        .await
        .unwrap();
    responder
        .tell(Notice::text("Done <!channel>"))
        .await
        .unwrap();
    let updated = &bodies(&api, "/chat.update").await[0];
    assert_eq!(
        (updated["channel"].as_str(), updated["ts"].as_str()),
        (Some("C1"), Some("17.1"))
    );
    let blocks = updated["blocks"].as_array().unwrap();
    assert_eq!(
        blocks.len(),
        2,
        "the old status line is replaced, not added to"
    );
    assert_eq!(
        blocks[1]["elements"][0]["text"],
        "Marked as contacted by ana — recorded"
    );
    let told = &bodies(&api, "/respond/1").await[0];
    assert_eq!(told["response_type"], "ephemeral");
    assert_eq!(told["replace_original"], false);
    assert_eq!(told["text"], "Done &lt;!channel&gt;", "escaped: no mention");
    let seen = engine.seen.lock().unwrap();
    assert_eq!(seen[0].interaction_id, "slack:T1:trig-1");
    assert_eq!(seen[0].display_name.as_deref(), Some("ana"));
}

/// What Slack receives from the responder, as reviewed snapshots that Slack's own SDK validates
/// (`tests/validators/slack`): a private prompt with its buttons, and a message updated with a
/// status line asking a second person to approve.
#[tokio::test]
async fn the_prompt_and_the_updated_message_are_block_kit_that_slack_accepts() {
    let api = slack_api().await;
    let slack = Arc::new(SlackProvider::bot(Secret::new("xoxb-1"), "C1").with_api_base(api.uri()));
    let engine = scripted(Immediate::Ack);
    let mut payload = press(&api, "sc:retry_payment:invoice:in_1");
    payload["message"]["blocks"] = json!([
        { "type": "header", "text": { "type": "plain_text", "text": ":warning: Payment failed: Acme Corp", "emoji": true } },
        { "type": "actions", "elements": [{ "type": "button", "action_id": "sc:retry_payment:invoice:in_1",
            "value": "sc:retry_payment:invoice:in_1", "text": { "type": "plain_text", "text": "Retry payment", "emoji": true } }] }
    ]);
    dispatch(&engine, slack, interaction(payload)).await;
    let responder = engine
        .responder
        .lock()
        .unwrap()
        .clone()
        .expect("a responder");
    responder
        .tell(
            Notice::text("Retry the payment of 398.00 USD on invoice INV-0042?")
                .button(PromptButton::new(
                    "Retry payment",
                    Intent::Confirm {
                        pending: "p_8f2a".into(),
                    },
                    ActionStyle::Danger,
                ))
                .button(PromptButton::new(
                    "Cancel",
                    Intent::Cancel {
                        pending: "p_8f2a".into(),
                    },
                    ActionStyle::Default,
                )),
        )
        .await
        .unwrap();
    responder
        .update(
            StatusLine::new("ana asks to retry 1,200.00 USD — a second person must approve")
                .button(PromptButton::new(
                    "Approve",
                    Intent::Approve {
                        pending: "p_8f2a".into(),
                    },
                    ActionStyle::Primary,
                ))
                .link("https://dashboard.stripe.com/invoices/in_1"),
        )
        .await
        .unwrap();
    insta::assert_json_snapshot!(
        "responder_private_prompt",
        bodies(&api, "/respond/1").await[0]
    );
    insta::assert_json_snapshot!(
        "responder_status_update",
        bodies(&api, "/chat.update").await[0]
    );
}

//! Acting from Discord, without a network: clicks read as the engine's clicks, answers become
//! the interaction responses Discord documents, and a form comes back as a submission.

#![cfg(feature = "actions")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use serde_json::json;
use stripe_chat_actions::{ActionId, Form, FormField, Immediate, Intent, Notice, PromptButton};
use stripe_chat_discord::actions::{click, response};
use stripe_chat_discord::interaction::DiscordInteraction;
use stripe_chat_message::{ActionStyle, ObjectKind, ObjectRef};

fn component(custom_id: &str, message: serde_json::Value) -> DiscordInteraction {
    DiscordInteraction::parse(
        json!({
            "type": 3, "id": "1190000000000000001", "application_id": "2", "token": "t",
            "channel_id": "1000000000000000001", "member": { "user": { "id": "80351110224678912" } },
            "message": message, "data": { "custom_id": custom_id, "component_type": 2 }
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap()
}

fn evidence_form() -> Form {
    Form {
        title: "Add evidence".into(),
        submit: Intent::Press {
            action: ActionId::AddEvidence,
            target: ObjectRef::new(ObjectKind::Dispute, "dp_1"),
            account: None,
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

#[test]
fn a_form_is_a_modal_whose_submission_comes_back_as_a_submit_on_the_same_message() {
    let press = component(
        "sc:add_evidence:dispute:dp_1",
        json!({ "id": "1100000000000000001", "flags": 0 }),
    );
    let modal = response(&Immediate::Form(evidence_form()), &press);
    assert_eq!(modal["type"], 9);
    assert_eq!(modal["data"]["custom_id"], "sc:add_evidence:dispute:dp_1");
    let input = &modal["data"]["components"][0];
    assert_eq!(
        (input["type"].as_u64(), input["label"].as_str()),
        (Some(18), Some("Evidence"))
    );
    assert_eq!(input["component"]["style"], 2, "a paragraph");
    assert_eq!(input["component"]["custom_id"], "uncategorized_text");

    let submitted = DiscordInteraction::parse(
        json!({
            "type": 5, "id": "1190000000000000002", "application_id": "2", "token": "t2",
            "channel_id": "1000000000000000001", "member": { "user": { "id": "80351110224678912" } },
            "message": { "id": "1100000000000000001", "flags": 0 },
            "data": { "custom_id": "sc:add_evidence:dispute:dp_1", "components": [
                { "type": 18, "component": { "type": 4, "custom_id": "uncategorized_text", "value": "Delivered on 3 May" } }
            ] }
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let submit = click(&submitted).expect("ours");
    assert_eq!(submit.message.id, "1100000000000000001");
    let Intent::Submit { action, fields, .. } = submit.intent else {
        panic!("a submit");
    };
    assert_eq!(action, ActionId::AddEvidence);
    assert_eq!(fields["uncategorized_text"], "Delivered on 3 May");
    assert_eq!(
        response(&Immediate::Form(evidence_form()), &submitted)["type"],
        4,
        "a modal cannot answer a modal"
    );
}

#[test]
fn a_private_answer_is_ephemeral_with_its_buttons_and_mentions_nobody() {
    let press = component(
        "sc:retry_payment:invoice:in_1",
        json!({ "id": "1100000000000000001" }),
    );
    let notice = Notice::text("Retry the payment of 398.00 USD on invoice INV-1? @everyone")
        .button(PromptButton::new(
            "Retry payment",
            Intent::Confirm {
                pending: "p_1".into(),
            },
            ActionStyle::Danger,
        ));
    let told = response(&Immediate::Tell(notice), &press);
    assert_eq!(told["type"], 4);
    assert_eq!(told["data"]["flags"], 64);
    assert_eq!(told["data"]["allowed_mentions"], json!({ "parse": [] }));
    let button = &told["data"]["components"][0]["components"][0];
    assert_eq!(
        (button["custom_id"].as_str(), button["style"].as_u64()),
        (Some("sc:confirm:p_1"), Some(4))
    );
}

#[test]
fn a_click_on_a_private_prompt_is_about_the_message_it_was_asked_from() {
    let on_prompt = component(
        "sc:confirm:p_1",
        json!({ "id": "1200000000000000009", "flags": 64,
            "interaction_metadata": { "id": "1", "type": 3, "interacted_message_id": "1100000000000000001" } }),
    );
    let confirm = click(&on_prompt).expect("ours");
    assert_eq!(confirm.message.id, "1100000000000000001");
    assert_eq!(
        confirm.message.channel.as_deref(),
        Some("1000000000000000001")
    );
    assert_eq!(confirm.identity.to_string(), "discord 80351110224678912");
    assert!(click(&component("open_in_stripe:0", json!({ "id": "1" }))).is_none());
}

//! Bot mode: messages posted by the application's bot to a channel, with buttons, edited in
//! place, replies in a thread started on the message; the bot token never shows.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use serde_json::{Value, json};
use stripe_chat_discord::DiscordConfig;
use stripe_chat_message::{
    Action, ChatMessage, ChatProvider, IdempotencyKey, ObjectKind, ObjectRef,
};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CHANNEL: &str = "1000000000000000001";
const MESSAGE: &str = "1100000000000000001";

fn bot(server: &MockServer) -> stripe_chat_discord::DiscordProvider {
    let config: DiscordConfig = toml::from_str(&format!(
        "bot_token_env = \"DISCORD_BOT_TOKEN\"\nchannel_id = \"{CHANNEL}\"\napi_base = \"{}/api\"",
        server.uri()
    ))
    .unwrap();
    config
        .build_with_env(|name| (name == "DISCORD_BOT_TOKEN").then(|| "BOTSECRET".to_owned()))
        .unwrap()
}

fn key() -> IdempotencyKey {
    IdempotencyKey::new("evt_1", "discord")
}

fn message() -> ChatMessage {
    ChatMessage::new("Payment failed").action(Action::callback(
        "retry_payment",
        "Retry payment",
        ObjectRef::new(ObjectKind::Invoice, "in_1"),
    ))
}

#[tokio::test]
async fn a_bot_posts_to_its_channel_with_buttons_edits_in_place_and_replies_in_a_thread() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/channels/{CHANNEL}/messages")))
        .and(header("authorization", "Bot BOTSECRET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": MESSAGE, "channel_id": CHANNEL })),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/api/channels/{CHANNEL}/messages/{MESSAGE}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": MESSAGE })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/api/channels/{CHANNEL}/messages/{MESSAGE}/threads"
        )))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": MESSAGE })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/channels/{MESSAGE}/messages")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "id": "1100000000000000002" })),
        )
        .expect(1)
        .mount(&server)
        .await;

    let discord = bot(&server);
    assert!(discord.capabilities().interactive && discord.capabilities().thread);
    let sent = discord.send(&message(), None, &key()).await.unwrap();
    assert_eq!(
        (sent.id.as_str(), sent.channel.as_deref()),
        (MESSAGE, Some(CHANNEL))
    );
    discord.update(&sent, &message(), &key()).await.unwrap();
    let reply = discord
        .send(&ChatMessage::new("Paid"), Some(&sent), &key())
        .await
        .unwrap();
    assert_eq!(reply.thread_root.as_deref(), Some(MESSAGE));

    let requests = server.received_requests().await.unwrap();
    let first: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(
        first["components"][0]["components"][0]["custom_id"], "sc:retry_payment:invoice:in_1",
        "a bot's messages carry callback buttons"
    );
    assert!(first.get("username").is_none());
    server.verify().await;
}

#[tokio::test]
async fn bot_mode_needs_a_channel_and_refuses_webhook_keys_and_never_shows_the_token() {
    let missing: DiscordConfig = toml::from_str("bot_token = \"BOTSECRET\"").unwrap();
    let error = missing.build().unwrap_err();
    assert_eq!(error.key(), "channel_id");
    let mixed: DiscordConfig = toml::from_str(
        "bot_token = \"BOTSECRET\"\nchannel_id = \"1\"\nwebhook_url = \"https://discord.com/api/webhooks/1/x\"",
    )
    .unwrap();
    assert_eq!(mixed.build().unwrap_err().key(), "webhook_url");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({ "message": "401: Unauthorized BOTSECRET", "code": 0 })),
        )
        .mount(&server)
        .await;
    let discord = bot(&server);
    assert!(!format!("{discord:?}").contains("BOTSECRET"));
    let error = discord.send(&message(), None, &key()).await.unwrap_err();
    assert!(!error.to_string().contains("BOTSECRET"), "{error}");
}

#[tokio::test]
async fn a_second_reply_goes_into_the_thread_the_first_one_started() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/channels/{CHANNEL}/messages/{MESSAGE}/threads")))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({ "message": "A thread has already been created for this message", "code": 160004 }),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/channels/{MESSAGE}/messages")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "id": "1100000000000000003" })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let root = stripe_chat_message::MessageRef::new("discord", MESSAGE).in_channel(CHANNEL);
    let reply = bot(&server)
        .send(&ChatMessage::new("Paid"), Some(&root), &key())
        .await
        .unwrap();
    assert_eq!(reply.thread_root.as_deref(), Some(MESSAGE));
    server.verify().await;
}

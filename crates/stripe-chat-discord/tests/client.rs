//! Behaviour of the Discord adapter beyond the shared conformance suite: Discord's own error
//! bodies, threads, `with_components`, edits, configuration, and the token staying secret.

use std::time::Duration;

use serde_json::{Value, json};
use stripe_chat_discord::{DiscordConfig, DiscordProvider};
use stripe_chat_message::IdempotencyKey;
use stripe_chat_message::{
    Action, ChatMessage, ChatProvider, ConfigErrorKind, DeliveryError, ErrorKind, MessageRef,
    ObjectKind, ObjectRef, Secret,
};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The idempotency key of the deliveries these tests make.
fn key() -> IdempotencyKey {
    IdempotencyKey::new("evt_1NG8Du2eZvKYlo2CUI79vXWy", "test")
}

const TOKEN: &str = "SECRETTOKEN-abc_123";
const WEBHOOK_URL: &str = "https://discord.com/api/webhooks/123456789012345678/SECRETTOKEN-abc_123";
const MESSAGE_ID: &str = "1100000000000000001";
const CHANNEL_ID: &str = "1000000000000000001";
const THREAD_ID: &str = "1200000000000000002";

fn message_object() -> Value {
    serde_json::from_str(include_str!("data/execute_webhook_message.json"))
        .expect("valid test data")
}

fn config(server: &MockServer) -> DiscordConfig {
    DiscordProvider::webhook(Secret::new(WEBHOOK_URL))
        .with_api_base(format!("{}/api", server.uri()))
        .with_timeout(Duration::from_secs(2))
}

async fn answer(server: &MockServer, verb: &str, response: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path_regex("^/api/webhooks/123456789012345678/"))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

fn query(request: &Request, key: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("a JSON body")
}

/// Panics if the token shows in the error's Display, Debug or source chain.
fn assert_secret_kept(error: &DeliveryError) {
    let mut texts = vec![error.to_string(), format!("{error:?}")];
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        texts.push(inner.to_string());
        texts.push(format!("{inner:?}"));
        source = inner.source();
    }
    for text in texts {
        assert!(!text.contains("SECRETTOKEN"), "the token shows: {text}");
    }
}

fn with_link_button() -> ChatMessage {
    ChatMessage::new("Invoice paid: 20.00 USD").action(Action::link(
        "open_invoice",
        "Open invoice",
        ObjectRef::new(ObjectKind::Invoice, "in_1MtHbELkdIwHu7ixl4OzzPMv"),
        "https://dashboard.stripe.com/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv",
    ))
}

fn with_callback_button() -> ChatMessage {
    with_link_button().action(Action::callback(
        "retry_payment",
        "Retry payment",
        ObjectRef::new(ObjectKind::Invoice, "in_1MtHbELkdIwHu7ixl4OzzPMv"),
    ))
}

#[tokio::test]
async fn a_fractional_retry_after_in_the_body_wins_over_the_whole_second_header() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        ResponseTemplate::new(429)
            .insert_header("retry-after", "2")
            .set_body_json(json!({
                "message": "You are being rate limited.",
                "retry_after": 1.234,
                "global": false
            })),
    )
    .await;
    let provider = config(&server).build().unwrap();
    let error = provider
        .send(&with_link_button(), None, &key())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(Duration::from_millis(1234)));
    assert_eq!(error.status(), Some(429));
}

#[tokio::test]
async fn a_global_rate_limit_says_it_is_global() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        ResponseTemplate::new(429).set_body_json(json!({
            "message": "You are being rate limited.",
            "retry_after": 0.75,
            "global": true
        })),
    )
    .await;
    let error = config(&server)
        .build()
        .unwrap()
        .send(&with_link_button(), None, &key())
        .await
        .unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_millis(750)));
    assert!(error.message().contains("global rate limit"), "{error}");
}

#[tokio::test]
async fn a_deleted_webhook_is_permanent_and_says_to_stop_using_it() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        ResponseTemplate::new(404)
            .set_body_json(json!({"message": "Unknown Webhook", "code": 10015})),
    )
    .await;
    let error = config(&server)
        .build()
        .unwrap()
        .send(&with_link_button(), None, &key())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Permanent);
    assert_eq!(error.status(), Some(404));
    assert_eq!(
        error.message(),
        "discord answered HTTP 404: Unknown Webhook (code 10015): the webhook was deleted; \
         stop using it and configure a new webhook URL"
    );
    assert_secret_kept(&error);
}

#[tokio::test]
async fn editing_a_deleted_message_is_permanent() {
    let server = MockServer::start().await;
    answer(
        &server,
        "PATCH",
        ResponseTemplate::new(404)
            .set_body_json(json!({"message": "Unknown Message", "code": 10008})),
    )
    .await;
    let at = MessageRef::new("discord", MESSAGE_ID).in_channel(CHANNEL_ID);
    let error = config(&server)
        .build()
        .unwrap()
        .update(&at, &with_link_button(), &key())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Permanent);
    assert!(
        error.message().contains("Unknown Message (code 10008)"),
        "{error}"
    );
    assert!(
        error.message().contains("the message was deleted"),
        "{error}"
    );
}

#[tokio::test]
async fn an_invalid_form_body_names_discords_code_and_the_field() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        ResponseTemplate::new(400).set_body_raw(
            include_str!("data/invalid_form_body.json"),
            "application/json",
        ),
    )
    .await;
    let error = config(&server)
        .build()
        .unwrap()
        .send(&with_link_button(), None, &key())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Permanent);
    assert_eq!(
        error.message(),
        "discord answered HTTP 400: Invalid Form Body (code 50035): \
         embeds[0].fields[3].value: This field is required (BASE_TYPE_REQUIRED)"
    );
}

#[tokio::test]
async fn the_token_never_shows_in_errors_or_debug() {
    let server = MockServer::start().await;
    let provider = config(&server).build().unwrap();
    assert!(!format!("{provider:?}").contains("SECRETTOKEN"));
    assert!(format!("{provider:?}").contains("123456789012345678"));
    assert!(!format!("{:?}", config(&server)).contains("SECRETTOKEN"));

    let answers = [
        ResponseTemplate::new(401)
            .set_body_json(json!({"message": "Invalid Webhook Token", "code": 50027})),
        ResponseTemplate::new(403)
            .set_body_json(json!({"message": "Missing Access", "code": 50001})),
        ResponseTemplate::new(404)
            .set_body_json(json!({"message": "Unknown Webhook", "code": 10015})),
        ResponseTemplate::new(400)
            .set_body_json(json!({"message": format!("echo {TOKEN}"), "code": 0})),
        ResponseTemplate::new(429).set_body_json(json!({"retry_after": 1.0})),
        ResponseTemplate::new(502).set_body_string(format!("<html>{TOKEN}</html>")),
    ];
    for response in answers {
        let server = MockServer::start().await;
        answer(&server, "POST", response).await;
        let error = config(&server)
            .build()
            .unwrap()
            .send(&with_link_button(), None, &key())
            .await
            .unwrap_err();
        assert_secret_kept(&error);
    }

    // Nobody listening: the transport error names no URL.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/api", listener.local_addr().unwrap())
    };
    let provider = DiscordProvider::webhook(Secret::new(WEBHOOK_URL))
        .with_api_base(closed)
        .build()
        .unwrap();
    let error = provider
        .send(&with_link_button(), None, &key())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transient);
    assert_secret_kept(&error);
    let error = provider
        .update(
            &MessageRef::new("discord", MESSAGE_ID),
            &with_link_button(),
            &key(),
        )
        .await
        .unwrap_err();
    assert_secret_kept(&error);
}

#[tokio::test]
async fn link_buttons_on_a_plain_webhook_ask_for_with_components() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        ResponseTemplate::new(200).set_body_json(message_object()),
    )
    .await;
    let provider = config(&server).build().unwrap();
    provider
        .send(&with_link_button(), None, &key())
        .await
        .unwrap();
    provider
        .send(&ChatMessage::new("No buttons"), None, &key())
        .await
        .unwrap();
    provider
        .send(&with_callback_button(), None, &key())
        .await
        .unwrap();

    let sent = requests(&server).await;
    assert_eq!(query(&sent[0], "with_components").as_deref(), Some("true"));
    assert_eq!(body(&sent[0])["components"][0]["components"][0]["style"], 5);
    assert_eq!(
        query(&sent[1], "with_components"),
        None,
        "no components, no flag"
    );
    // Not the application's webhook: the callback button is left out, the link button stays.
    let buttons = &body(&sent[2])["components"][0]["components"];
    assert_eq!(buttons.as_array().map(Vec::len), Some(1));
    assert_eq!(buttons[0]["style"], 5);
}

#[tokio::test]
async fn an_application_owned_webhook_sends_callback_buttons_without_with_components() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        ResponseTemplate::new(200).set_body_json(message_object()),
    )
    .await;
    let provider = config(&server).interactive(true).build().unwrap();
    assert!(provider.capabilities().interactive);
    provider
        .send(&with_callback_button(), None, &key())
        .await
        .unwrap();
    let sent = requests(&server).await;
    assert_eq!(query(&sent[0], "with_components"), None);
    let buttons = &body(&sent[0])["components"][0]["components"];
    assert_eq!(
        buttons[1]["custom_id"],
        "sc:retry_payment:invoice:in_1MtHbELkdIwHu7ixl4OzzPMv"
    );
}

#[tokio::test]
async fn a_reply_to_a_channel_message_is_unsupported_without_a_request() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        ResponseTemplate::new(200).set_body_json(message_object()),
    )
    .await;
    let provider = config(&server).build().unwrap();
    assert!(!provider.capabilities().thread);
    let root = MessageRef::new("discord", MESSAGE_ID).in_channel(CHANNEL_ID);
    let error = provider
        .send(&with_link_button(), Some(&root), &key())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert!(error.message().contains("set thread_id"), "{error}");
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn a_reply_to_a_message_in_a_thread_goes_into_that_thread() {
    let server = MockServer::start().await;
    let mut in_thread = message_object();
    in_thread["channel_id"] = json!(THREAD_ID);
    answer(
        &server,
        "POST",
        ResponseTemplate::new(200).set_body_json(in_thread),
    )
    .await;
    let provider = config(&server).build().unwrap();
    let root = MessageRef::new("discord", "1100000000000000000")
        .in_channel(THREAD_ID)
        .in_thread(THREAD_ID);
    let sent = provider
        .send(&with_link_button(), Some(&root), &key())
        .await
        .unwrap();
    assert_eq!(
        sent,
        MessageRef::new("discord", MESSAGE_ID)
            .in_channel(THREAD_ID)
            .in_thread(THREAD_ID)
    );
    let request = &requests(&server).await[0];
    assert_eq!(query(request, "thread_id").as_deref(), Some(THREAD_ID));
    assert_eq!(query(request, "wait").as_deref(), Some("true"));
}

#[tokio::test]
async fn a_configured_thread_takes_every_message_and_its_replies() {
    let server = MockServer::start().await;
    let mut in_thread = message_object();
    in_thread["channel_id"] = json!(THREAD_ID);
    answer(
        &server,
        "POST",
        ResponseTemplate::new(200).set_body_json(in_thread),
    )
    .await;
    let provider = config(&server).with_thread(THREAD_ID).build().unwrap();
    assert!(provider.capabilities().thread);
    let first = provider
        .send(&with_link_button(), None, &key())
        .await
        .unwrap();
    assert_eq!(first.thread_root.as_deref(), Some(THREAD_ID));
    // A ref stored without its thread is recognised by its channel.
    let stored = MessageRef::new("discord", MESSAGE_ID).in_channel(THREAD_ID);
    provider
        .send(&with_link_button(), Some(&stored), &key())
        .await
        .unwrap();
    for request in requests(&server).await {
        assert_eq!(query(&request, "thread_id").as_deref(), Some(THREAD_ID));
    }
}

#[tokio::test]
async fn an_edit_names_the_thread_and_clears_buttons_the_message_no_longer_has() {
    let server = MockServer::start().await;
    answer(
        &server,
        "PATCH",
        ResponseTemplate::new(200).set_body_json(message_object()),
    )
    .await;
    let provider = config(&server).with_username("Stripe").build().unwrap();
    let at = MessageRef::new("discord", MESSAGE_ID)
        .in_channel(THREAD_ID)
        .in_thread(THREAD_ID);
    provider
        .update(&at, &ChatMessage::new("Invoice paid after retry"), &key())
        .await
        .unwrap();
    let request = &requests(&server).await[0];
    assert_eq!(
        request.url.path(),
        format!("/api/webhooks/123456789012345678/{TOKEN}/messages/{MESSAGE_ID}")
    );
    assert_eq!(query(request, "thread_id").as_deref(), Some(THREAD_ID));
    assert_eq!(query(request, "with_components").as_deref(), Some("true"));
    let sent = body(request);
    assert_eq!(sent["components"], json!([]));
    assert_eq!(sent["embeds"][0]["title"], "Invoice paid after retry");
    assert_eq!(sent["allowed_mentions"], json!({"parse": []}));
    assert!(sent.get("username").is_none());
}

#[tokio::test]
async fn refs_that_are_not_discord_messages_are_refused_without_a_request() {
    let server = MockServer::start().await;
    let provider = config(&server).with_thread(THREAD_ID).build().unwrap();
    let slack = MessageRef::new("slack", "1700000000.000100").in_channel("C0123");
    let error = provider
        .send(&with_link_button(), Some(&slack), &key())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Permanent);
    let error = provider
        .update(&slack, &with_link_button(), &key())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Permanent);
    let unaddressable = MessageRef::new("discord", "");
    let error = provider
        .update(&unaddressable, &with_link_button(), &key())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Permanent);
    let path_trick = MessageRef::new("discord", "1/../../x");
    let error = provider
        .update(&path_trick, &with_link_button(), &key())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Permanent);
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn a_delivered_message_with_an_unreadable_answer_is_still_delivered() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        ResponseTemplate::new(200).set_body_string("not json"),
    )
    .await;
    let sent = config(&server)
        .build()
        .unwrap()
        .send(&with_link_button(), None, &key())
        .await
        .unwrap();
    assert!(
        !sent.can_be_addressed(),
        "no id to address, but no retry either"
    );
}

#[test]
fn unknown_configuration_keys_are_refused() {
    let error = toml::from_str::<DiscordConfig>(
        "webhook_url = \"https://discord.com/api/webhooks/1/t\"\nchannel = \"general\"",
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("unknown field `channel`"),
        "{error}"
    );
}

#[test]
fn a_configuration_names_the_key_at_fault_and_never_the_token() {
    let cases: [(&str, &str); 7] = [
        ("", "webhook_url"),
        (
            "webhook_url = \"https://discord.com/api/webhooks/1/SECRETTOKEN\"\nwebhook_url_env = \"X\"",
            "webhook_url",
        ),
        (
            "webhook_url = \"https://discord.com/api/webhooks/SECRETTOKEN\"",
            "webhook_url",
        ),
        (
            "webhook_url_env = \"SURELY_UNSET_STRIPE_CHAT_DISCORD_URL\"",
            "webhook_url_env",
        ),
        (
            "webhook_url = \"https://discord.com/api/webhooks/1/SECRETTOKEN\"\nthread_id = \"general\"",
            "thread_id",
        ),
        (
            "webhook_url = \"https://discord.com/api/webhooks/1/SECRETTOKEN\"\napi_base = \"http://proxy.example.com\"",
            "api_base",
        ),
        (
            "webhook_url = \"https://discord.com/api/webhooks/1/SECRETTOKEN\"\ntimeout_secs = 0",
            "timeout_secs",
        ),
    ];
    for (toml_text, key) in cases {
        let config: DiscordConfig = toml::from_str(toml_text).unwrap();
        let error = config.build().unwrap_err();
        assert_eq!(error.key(), key, "{toml_text}: {error}");
        assert!(!error.to_string().contains("SECRETTOKEN"), "{error}");
        assert!(!format!("{error:?}").contains("SECRETTOKEN"), "{error:?}");
    }
}

#[test]
fn a_variable_that_does_not_hold_a_webhook_url_is_refused_without_showing_it() {
    // PATH is set in every test environment and is not a webhook URL.
    let config = DiscordConfig::default().webhook_url_env("PATH");
    let error = config.build().unwrap_err();
    assert_eq!(
        (error.kind(), error.key()),
        (ConfigErrorKind::Invalid, "webhook_url_env"),
        "{error}"
    );
    if let Ok(path) = std::env::var("PATH") {
        assert!(
            path.is_empty() || !error.to_string().contains(&path),
            "{error}"
        );
    }
}

/// Set by [`the_webhook_url_is_read_from_the_named_environment_variable`] for its child run.
const URL_VARIABLE: &str = "STRIPE_CHAT_TEST_DISCORD_WEBHOOK_URL";

#[test]
fn the_webhook_url_is_read_from_the_named_environment_variable() {
    if std::env::var_os(URL_VARIABLE).is_none() {
        // Run this very test again in a child process that has the variable.
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "the_webhook_url_is_read_from_the_named_environment_variable",
                "--quiet",
            ])
            .env(URL_VARIABLE, WEBHOOK_URL)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        return;
    }
    let config: DiscordConfig =
        toml::from_str(&format!("webhook_url_env = \"{URL_VARIABLE}\"")).unwrap();
    let provider = config.build().unwrap();
    assert_eq!(provider.webhook_id(), "123456789012345678");
    assert!(!format!("{provider:?}").contains("SECRETTOKEN"));
}

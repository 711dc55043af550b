//! The `[slack]` configuration: parsing, and validation into a provider with errors that name the
//! key and never the secret.

use std::time::Duration;

use serde_json::json;
use stripe_chat_message::IdempotencyKey;
use stripe_chat_message::{ChatMessage, ChatProvider, ConfigErrorKind, Secret};
use stripe_chat_slack::{ConfigError, SlackConfig, SlackMode};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The idempotency key of the deliveries these tests make.
fn key() -> IdempotencyKey {
    IdempotencyKey::new("evt_1NG8Du2eZvKYlo2CUI79vXWy", "test")
}

const TOKEN: &str = "xoxb-1234567890-0987654321-Zk3nKp9QwXr2Vt7Ym4Lb8Hs1";
const HOOK: &str = "https://hooks.slack.com/services/T00000000/B00000000/Qm7Rt2Xv9Lp4Wn8Kd3Hs6Zb1";

fn parse(toml_text: &str) -> SlackConfig {
    toml::from_str(toml_text).unwrap_or_else(|e| panic!("{toml_text}: {e}"))
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn build_error(config: &SlackConfig) -> ConfigError {
    config
        .build_with_env(no_env)
        .expect_err("the configuration is refused")
}

#[test]
fn a_bot_config_with_token_env_builds_a_bot_provider() {
    let config = parse(
        r#"
        mode = "bot"
        token_env = "SLACK_BOT_TOKEN"
        channel = "C0123456789"
        timeout_secs = 3
        "#,
    );
    let slack = config
        .build_with_env(|name| (name == "SLACK_BOT_TOKEN").then(|| format!("{TOKEN}\n")))
        .expect("valid");
    assert_eq!(slack.mode(), SlackMode::Bot);
    assert_eq!(slack.channel(), Some("C0123456789"));
    assert_eq!(slack.timeout(), Duration::from_secs(3));
    assert!(slack.capabilities().update);
    assert_eq!(slack.capabilities().rate, Some(stripe_chat_slack::RATE));
    assert!(!format!("{slack:?}").contains(TOKEN));
}

#[test]
fn the_mode_defaults_to_bot_and_the_timeout_to_ten_seconds() {
    let config = parse(&format!("token = \"{TOKEN}\"\nchannel = \"C1\""));
    assert_eq!(config.mode, SlackMode::Bot);
    let slack = config.build_with_env(no_env).expect("valid");
    assert_eq!(slack.timeout(), Duration::from_secs(10));
    assert!(!format!("{config:?}").contains(TOKEN));
}

#[test]
fn a_missing_token_names_the_key_and_how_to_set_it() {
    let error = build_error(&parse(r#"channel = "C1""#));
    assert_eq!(error.key(), "token");
    assert_eq!(
        error.to_string(),
        "token: missing (the bot token: set token, token_env or token_file)"
    );
}

#[test]
fn an_unset_token_env_names_the_variable() {
    let error = build_error(&parse(
        r#"
        token_env = "SLACK_BOT_TOKEN"
        channel = "C1"
        "#,
    ));
    assert_eq!(
        error.to_string(),
        "token_env: the environment variable SLACK_BOT_TOKEN is not set or is empty"
    );
    let blank = parse("token_env = \"SLACK_BOT_TOKEN\"\nchannel = \"C1\"")
        .build_with_env(|_| Some("  ".into()))
        .expect_err("a blank variable is not a token");
    assert_eq!(blank.key(), "token_env");
}

#[test]
fn a_token_and_a_token_env_together_are_refused() {
    let error = build_error(&parse(&format!(
        "token = \"{TOKEN}\"\ntoken_env = \"SLACK_BOT_TOKEN\"\nchannel = \"C1\""
    )));
    assert_eq!(
        error.to_string(),
        "token: set only one of token and token_env"
    );
}

#[test]
fn a_token_that_cannot_be_sent_is_refused_without_showing_it() {
    let error = build_error(&parse("token = \"xoxb-1 Zk3nKp9Q\"\nchannel = \"C1\""));
    assert_eq!(error.key(), "token");
    assert!(!error.to_string().contains("Zk3nKp9Q"), "{error}");
    assert!(!format!("{error:?}").contains("Zk3nKp9Q"), "{error:?}");
}

#[test]
fn the_token_and_the_webhook_url_can_come_from_files() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let token = dir.path().join("slack_bot_token");
    std::fs::write(&token, format!("{TOKEN}\n")).expect("written");
    let hook = dir.path().join("slack_webhook_url");
    std::fs::write(&hook, format!("{HOOK}\n")).expect("written");

    let bot = parse(&format!(
        "token_file = {:?}\nchannel = \"C1\"",
        token.display().to_string()
    ))
    .build_with_env(no_env)
    .expect("valid");
    assert_eq!(bot.mode(), SlackMode::Bot);
    assert!(!format!("{bot:?}").contains(TOKEN));

    let webhook = parse(&format!(
        "mode = \"webhook\"\nwebhook_url_file = {:?}",
        hook.display().to_string()
    ))
    .build_with_env(no_env)
    .expect("valid");
    assert_eq!(webhook.mode(), SlackMode::Webhook);
}

#[test]
fn an_unreadable_token_file_names_the_key_and_the_file() {
    let error = build_error(&parse(
        "token_file = \"/run/secrets/no-such-slack-token\"\nchannel = \"C1\"",
    ));
    assert_eq!(error.kind(), ConfigErrorKind::Unreadable);
    assert_eq!(error.key(), "token_file");
    assert!(
        error
            .problem()
            .starts_with("cannot read /run/secrets/no-such-slack-token:"),
        "{error}"
    );
}

#[test]
fn a_token_in_two_places_is_refused() {
    let error = build_error(&parse(&format!(
        "token_env = \"SLACK_BOT_TOKEN\"\ntoken_file = \"/run/secrets/slack\"\nchannel = \"C1\"\n# {TOKEN}"
    )));
    assert_eq!(error.kind(), ConfigErrorKind::Conflict);
    assert_eq!(
        error.to_string(),
        "token_env: set only one of token_env and token_file"
    );
}

#[test]
fn bot_mode_needs_a_channel() {
    for config in [
        format!("token = \"{TOKEN}\""),
        format!("token = \"{TOKEN}\"\nchannel = \" \""),
    ] {
        let error = build_error(&parse(&config));
        assert_eq!(error.key(), "channel", "{error}");
        assert!(!error.to_string().contains(TOKEN));
    }
}

#[test]
fn bot_mode_refuses_webhook_keys() {
    let error = build_error(&parse(&format!(
        "token = \"{TOKEN}\"\nchannel = \"C1\"\nwebhook_url = \"{HOOK}\""
    )));
    assert_eq!(
        error.to_string(),
        "webhook_url: not used in bot mode (remove it)"
    );
}

#[test]
fn webhook_mode_refuses_bot_keys() {
    for (extra, key) in [
        ("channel = \"C1\"", "channel"),
        ("token_env = \"SLACK_BOT_TOKEN\"", "token_env"),
        ("token_file = \"/run/secrets/slack\"", "token_file"),
        ("api_base = \"https://slack.com/api\"", "api_base"),
    ] {
        let error = build_error(&parse(&format!(
            "mode = \"webhook\"\nwebhook_url = \"{HOOK}\"\n{extra}"
        )));
        assert_eq!(error.key(), key);
        assert_eq!(error.problem(), "not used in webhook mode (remove it)");
    }
}

#[test]
fn webhook_mode_takes_the_url_from_the_file_or_the_environment() {
    let from_file = parse(&format!("mode = \"webhook\"\nwebhook_url = \"{HOOK}\""))
        .build_with_env(no_env)
        .expect("valid");
    assert_eq!(from_file.mode(), SlackMode::Webhook);
    assert!(!from_file.capabilities().thread);
    assert_eq!(from_file.capabilities().rate, Some(stripe_chat_slack::RATE));
    assert!(!format!("{from_file:?}").contains("Qm7Rt2Xv"));

    let from_env = parse("mode = \"webhook\"\nwebhook_url_env = \"SLACK_WEBHOOK_URL\"")
        .build_with_env(|name| (name == "SLACK_WEBHOOK_URL").then(|| HOOK.to_owned()))
        .expect("valid");
    assert_eq!(from_env.mode(), SlackMode::Webhook);

    let missing = build_error(&parse("mode = \"webhook\""));
    assert_eq!(
        missing.to_string(),
        "webhook_url: missing (the incoming webhook URL: set webhook_url, webhook_url_env or webhook_url_file)"
    );
}

#[test]
fn a_webhook_url_that_is_not_http_is_refused_without_showing_it() {
    for url in [
        "hooks.slack.com/services/T0/B0/Qm7Rt2Xv",
        "ftp://hooks.slack.com/services/T0/B0/Qm7Rt2Xv",
    ] {
        let error = build_error(&parse(&format!(
            "mode = \"webhook\"\nwebhook_url = \"{url}\""
        )));
        assert_eq!(error.key(), "webhook_url");
        assert!(!error.to_string().contains("Qm7Rt2Xv"), "{error}");
    }
    let from_env = parse("mode = \"webhook\"\nwebhook_url_env = \"SLACK_WEBHOOK_URL\"")
        .build_with_env(|_| Some("not a url Qm7Rt2Xv".into()))
        .expect_err("not a URL");
    assert_eq!(from_env.key(), "webhook_url_env");
    assert!(!from_env.to_string().contains("Qm7Rt2Xv"), "{from_env}");
}

#[test]
fn an_api_base_that_is_not_http_is_refused() {
    let error = build_error(&parse(&format!(
        "token = \"{TOKEN}\"\nchannel = \"C1\"\napi_base = \"slack.com/api\""
    )));
    assert_eq!(error.key(), "api_base");
}

#[test]
fn a_timeout_outside_one_to_three_hundred_seconds_is_refused() {
    for timeout in [0, 301] {
        let error = build_error(&parse(&format!(
            "token = \"{TOKEN}\"\nchannel = \"C1\"\ntimeout_secs = {timeout}"
        )));
        assert_eq!(error.key(), "timeout_secs", "{timeout}");
    }
}

#[test]
fn unknown_keys_and_modes_are_refused_when_parsing() {
    for bad in [
        "chanel = \"C1\"",
        "mode = \"socket\"",
        "token_path = \"/run/secrets/slack\"",
    ] {
        assert!(toml::from_str::<SlackConfig>(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn a_built_provider_posts_to_its_api_base_with_its_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"ok": true, "channel": "C0123456789", "ts": "1700000000.000100"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let config = SlackConfig {
        token: Some(Secret::new(TOKEN)),
        channel: Some("C0123456789".into()),
        api_base: Some(format!("{}/", server.uri())),
        ..SlackConfig::default()
    };
    let slack = config.build_with_env(no_env).expect("valid");
    let sent = slack
        .send(&ChatMessage::new("Invoice paid"), None, &key())
        .await
        .expect("posted");
    assert_eq!(sent.id, "1700000000.000100");
}

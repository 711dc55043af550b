//! Every corpus event through transform → redact → render for every platform: within each
//! platform's limits, no planted card number survives, no markup from event data comes alive, and
//! the body matches its reviewed snapshot.

use std::path::{Path, PathBuf};

use serde_json::Value;
use stripe_chat::events::StripeEvent;
use stripe_chat::{Pipeline, RenderConfig};

/// The chat platforms whose renderings are snapshotted and checked here.
const PLATFORMS: [&str; 4] = ["slack", "teams", "discord", "matrix"];

fn corpus() -> Vec<(String, StripeEvent)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("utf-8")
                .to_owned();
            let event = StripeEvent::from_slice(&std::fs::read(&p).expect("read")).expect("valid");
            (name, event)
        })
        .collect()
}

/// The platform's own check of its limits, as its renderer makes it.
fn validate(provider: &str, body: &Value) -> Result<(), Vec<String>> {
    stripe_chat::renderer(provider, &RenderConfig::default())
        .expect("a renderer")
        .validate_limits(body)
}

fn rendered() -> Vec<(String, &'static str, Value)> {
    let config = RenderConfig::default();
    let pipeline = Pipeline::from_config(&config.redaction);
    let mut out = Vec::new();
    for (name, event) in corpus() {
        for provider in PLATFORMS {
            let body = stripe_chat::render(&pipeline, &config, provider, &event)
                .unwrap_or_else(|e| panic!("{name} / {provider}: {e}"));
            if let Some(body) = body {
                out.push((name.clone(), provider, body));
            }
        }
    }
    out
}

#[test]
fn every_rendering_is_within_its_platforms_limits_and_matches_its_snapshot() {
    let all = rendered();
    assert!(all.len() >= 4 * 70, "{} renderings", all.len());
    for (name, provider, body) in all {
        if let Err(problems) = validate(provider, &body) {
            panic!("{name} / {provider}: {problems:#?}");
        }
        insta::assert_json_snapshot!(format!("{provider}__{}", name.replace('@', "__")), body);
    }
}

#[test]
fn no_planted_card_number_reaches_any_platform() {
    let planted = ["4242424242424242", "5555555555554444", "378282246310005"];
    for (name, provider, body) in rendered() {
        let raw = body.to_string();
        for pan in planted {
            let spaced = pan
                .as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                .collect::<Vec<_>>();
            assert!(!raw.contains(pan), "{name} / {provider} leaks {pan}");
            assert!(
                !raw.contains(&spaced.join(" ")),
                "{name} / {provider} leaks {pan} with spaces"
            );
            assert!(
                !raw.contains(&spaced.join("-")),
                "{name} / {provider} leaks {pan} with dashes"
            );
        }
    }
}

#[test]
fn markup_in_event_data_stays_inert_on_every_platform() {
    for (name, provider, body) in rendered()
        .into_iter()
        .filter(|(n, _, _)| n.contains("markup-injection"))
    {
        let raw = body.to_string();
        match provider {
            "slack" => {
                // Slack parses mrkdwn objects and the top-level `text`; plain_text is shown as is.
                let mut parsed = vec![body["text"].as_str().unwrap_or_default().to_owned()];
                collect_mrkdwn(&body["blocks"], &mut parsed);
                for text in parsed {
                    assert!(
                        !text.contains("<!channel>"),
                        "{name}: live @channel in {text}"
                    );
                    assert!(
                        !text.contains("<https://evil.test|click>"),
                        "{name}: live link in {text}"
                    );
                    assert!(!text.contains("*bold*"), "{name}: live bold in {text}");
                }
            }
            "discord" => {
                assert_eq!(
                    body["allowed_mentions"]["parse"],
                    serde_json::json!([]),
                    "{name}"
                );
                assert!(
                    !raw.contains("[x](https://evil.test)"),
                    "{name}: live masked link"
                );
            }
            "matrix" => {
                let html = body["formatted_body"].as_str().expect("html");
                assert!(!html.contains("<script"), "{name}: live script tag");
                assert!(!html.contains("<https://evil.test"), "{name}");
            }
            "teams" => {
                assert!(
                    !raw.contains("[x](https://evil.test)"),
                    "{name}: live markdown link"
                );
            }
            _ => {}
        }
    }
}

/// Every `text` of a `{"type": "mrkdwn"}` object under `value`.
fn collect_mrkdwn(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("mrkdwn") {
                out.push(
                    map.get("text")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            map.values().for_each(|v| collect_mrkdwn(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_mrkdwn(v, out)),
        _ => {}
    }
}

#[test]
fn a_digest_of_the_whole_corpus_renders_within_every_platforms_limits() {
    use stripe_chat::redact::{DefaultPolicy, RedactionPolicy, Visibility};
    use stripe_chat::route::DigestWindow;
    use stripe_chat::transform::digest::summarize;

    let events: Vec<StripeEvent> = corpus().into_iter().map(|(_, event)| event).collect();
    let window = DigestWindow::new("everything", 1_700_000_100, 900);
    let message = DefaultPolicy::new(Visibility::Public).redact(summarize(&window, 20, &events));
    assert_eq!(
        message.title,
        format!("Digest: {} events in 15 min", events.len())
    );
    assert!(message.actions.is_empty(), "a digest offers no actions");
    for provider in PLATFORMS {
        let renderer = stripe_chat::renderer(provider, &RenderConfig::default()).expect("renderer");
        let body = renderer
            .render(&message)
            .unwrap_or_else(|e| panic!("{provider}: {e}"));
        if let Err(problems) = validate(provider, &body) {
            panic!("{provider}: {problems:#?}");
        }
        let raw = body.to_string();
        assert!(raw.contains("Digest: "), "{provider}: the title is shown");
        for pan in ["4242424242424242", "5555555555554444", "378282246310005"] {
            assert!(!raw.contains(pan), "{provider}: a card number");
        }
    }
}

//! Property: any message, however long or hostile, renders a body within Slack's limits and with no
//! live mention or broadcast in its mrkdwn.

use proptest::prelude::*;
use serde_json::Value;
use stripe_chat_message::{
    Action, ActionStyle, ChatMessage, Field, Link, ObjectKind, ObjectRef, Renderer, Severity,
};
use stripe_chat_slack::{SlackRenderer, validate_limits};

/// Text mixing any characters with markup and mention fragments.
fn text(max_pieces: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => any::<char>().prop_map(String::from),
        3 => prop::sample::select(vec!['*', '_', '~', '`', '<', '>', '&', '|', '@', '#', '\n', ' ', 'a', '1', '😀', 'é', '\u{202E}', '\t'])
            .prop_map(String::from),
        1 => prop::sample::select(vec![
            "<!channel>", "<!here>", "<@U123>", "<#C123>", "<https://evil.test|click>", "&amp;",
            "@everyone", "```", "> ", "in_1MtHbELkdIwHu7ix", "word ",
        ])
        .prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..max_pieces).prop_map(|pieces| pieces.concat())
}

fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("https://dashboard.stripe.com/invoices/in_1".to_owned()),
        text(40).prop_map(|t| format!("https://x.test/{t}")),
        (2_990usize..3_010).prop_map(|n| format!("https://x.test/{}", "a".repeat(n))),
        text(20),
        Just("javascript:alert(1)".to_owned()),
    ]
}

fn style() -> impl Strategy<Value = ActionStyle> {
    prop::sample::select(vec![
        ActionStyle::Default,
        ActionStyle::Primary,
        ActionStyle::Danger,
    ])
}

fn action() -> impl Strategy<Value = Action> {
    (
        text(40),
        text(100),
        text(40),
        style(),
        any::<bool>(),
        prop::option::of(url()),
    )
        .prop_map(|(id, label, target, style, moves_money, url)| Action {
            id,
            label,
            style,
            target: ObjectRef::new(ObjectKind::Other(target.clone()), target),
            moves_money,
            url,
        })
}

fn message() -> impl Strategy<Value = ChatMessage> {
    (
        (
            text(800),
            prop_oneof![4 => text(400), 1 => text(12_000)],
            0usize..4,
        ),
        prop::collection::vec(
            (text(300), prop_oneof![9 => text(60), 1 => text(2_500)]),
            0..130,
        ),
        prop::collection::vec((text(200), url()), 0..15),
        prop::collection::vec(action(), 0..45),
        prop::collection::vec(text(60), 0..20),
        (
            prop::option::of(text(600)),
            prop::option::of(any::<i64>().prop_map(|t| t % 100_000_000_000)),
        ),
    )
        .prop_map(
            |((title, summary, severity), fields, links, actions, tags, (footer, timestamp))| {
                let severity = [
                    Severity::Info,
                    Severity::Success,
                    Severity::Warning,
                    Severity::Critical,
                ][severity];
                let mut message = ChatMessage::new(title).summary(summary).severity(severity);
                message.fields = fields.into_iter().map(|(l, v)| Field::new(l, v)).collect();
                message.links = links.into_iter().map(|(l, u)| Link::new(l, u)).collect();
                message.actions = actions;
                message.tags = tags;
                message.footer = footer;
                message.timestamp = timestamp;
                message
            },
        )
}

/// Every `mrkdwn` text of a body, plus its fallback `text`.
fn mrkdwn_texts(body: &Value) -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if map.get("type") == Some(&Value::from("mrkdwn")) {
                    out.extend(map.get("text").and_then(Value::as_str).map(str::to_owned));
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out: Vec<String> = body["text"]
        .as_str()
        .map(str::to_owned)
        .into_iter()
        .collect();
    walk(&body["blocks"], &mut out);
    out
}

/// Characters cleaning drops: control characters and bidirectional controls.
fn dropped() -> impl Strategy<Value = char> {
    prop::sample::select(vec![
        '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{0}', '\u{7}', '\u{1b}',
    ])
}

/// Spaces and dropped characters, as event text may start or end with.
fn edge() -> impl Strategy<Value = String> {
    prop::collection::vec(prop_oneof![Just(' '), dropped()], 0..4).prop_map(String::from_iter)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_message_renders_a_body_within_block_kit_limits(message in message(), channel in prop::option::of("[A-Z0-9]{1,12}")) {
        let mut renderer = SlackRenderer::new();
        if let Some(channel) = channel {
            renderer = renderer.channel(channel);
        }
        let body = renderer.render(&message).expect("renders");
        prop_assert_eq!(validate_limits(&body), Ok(()));
        for text in mrkdwn_texts(&body) {
            for live in ["<!", "<@", "<#", "<script"] {
                prop_assert!(!text.contains(live), "{} in {:?}", live, text);
            }
        }
    }

    #[test]
    fn a_space_only_a_dropped_character_followed_is_trimmed_too(
        core in "[a-z][a-z ]{0,18}[a-z]",
        before in edge(),
        after in edge(),
    ) {
        let text = format!("{before}{core}{after}");
        prop_assert_eq!(
            stripe_chat_slack::escape::link("https://x.test", &text),
            Some(format!("<https://x.test|{core}>"))
        );
        let message = ChatMessage::new(text.as_str()).field(text.as_str(), text.as_str()).tag(text.as_str());
        let body = SlackRenderer::new().render(&message).expect("renders");
        prop_assert_eq!(body["text"].as_str(), Some(core.as_str()));
        let header = format!(":information_source: {core}");
        prop_assert_eq!(body["blocks"][0]["text"]["text"].as_str(), Some(header.as_str()));
        let field = format!("*{core}*\n{core}");
        let texts = mrkdwn_texts(&body);
        prop_assert!(texts.contains(&field), "{:?}", texts);
        prop_assert!(texts.contains(&core), "the tag: {:?}", texts);
    }
}

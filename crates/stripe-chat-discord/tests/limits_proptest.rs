//! Property: any message, however long or hostile, renders a body within Discord's limits, with
//! mentions disabled and no mass mention left in its text.

use proptest::prelude::*;
use serde_json::Value;
use stripe_chat_discord::{DiscordRenderer, validate_limits};
use stripe_chat_message::{
    Action, ActionStyle, ChatMessage, Field, Link, ObjectKind, ObjectRef, Renderer, Severity,
};

/// Text mixing any characters with markup and mention fragments.
fn text(max_pieces: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => any::<char>().prop_map(String::from),
        3 => prop::sample::select(vec!['*', '_', '~', '`', '<', '>', '|', '[', ']', '\\', '@', '#', '-', '.', '1', '\n', ' ', 'a', '😀', '\u{202E}', '\t'])
            .prop_map(String::from),
        1 => prop::sample::select(vec![
            "@everyone", "@here", "@HeRe", "<@123>", "<@&123>", "<#123>", "[x](https://evil.test)",
            "||", "```", "> ", "# ", "-# ", "1. ", "in_1MtHbELkdIwHu7ix", "word ",
        ])
        .prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..max_pieces).prop_map(|pieces| pieces.concat())
}

fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("https://dashboard.stripe.com/invoices/in_1".to_owned()),
        text(40).prop_map(|t| format!("https://x.test/{t}")),
        (490usize..520).prop_map(|n| format!("https://x.test/{}", "a".repeat(n))),
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
        text(60),
        text(100),
        text(60),
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
            (text(300), prop_oneof![9 => text(60), 1 => text(1_500)]),
            0..130,
        ),
        prop::collection::vec((text(200), url()), 0..15),
        prop::collection::vec(action(), 0..45),
        prop::collection::vec(text(60), 0..20),
        (
            prop::option::of(prop_oneof![3 => text(100), 1 => text(3_000)]),
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

/// Every string in the body.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// `text` without the targets of masked links, `](http...)`: a URL may hold `@here` as data.
fn without_link_targets(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("](http") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find(')')
            .map_or("", |end| &rest[start + end + 1..]);
    }
    out.push_str(rest);
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
    fn any_message_renders_a_body_within_discord_limits(message in message(), interactive in any::<bool>()) {
        let body = DiscordRenderer::new().interactive(interactive).render(&message).expect("renders");
        prop_assert_eq!(validate_limits(&body), Ok(()));
        let mut all = Vec::new();
        strings(&body["embeds"], &mut all);
        if let Some(url) = body["embeds"][0]["url"].as_str() {
            all.retain(|s| s != url);
        }
        for text in all {
            let lower = without_link_targets(&text).to_lowercase();
            prop_assert!(!lower.contains("@everyone") && !lower.contains("@here"), "mass mention in {:?}", text);
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
            stripe_chat_discord::escape::masked_link("https://x.test", &text, 512),
            Some(format!("[{core}](https://x.test)"))
        );
        let body = DiscordRenderer::new()
            .username(text.as_str())
            .render(&ChatMessage::new("Invoice paid").tag(text.as_str()))
            .expect("renders");
        prop_assert_eq!(body["username"].as_str(), Some(core.as_str()));
        let description = body["embeds"][0]["description"].as_str().unwrap_or_default();
        let tags = format!("Tags: {core}");
        prop_assert!(description.ends_with(&tags), "{:?}", description);
    }
}

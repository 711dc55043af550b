//! Property tests: whatever a message holds, the card fits Teams' limits and its text stays literal.

use proptest::prelude::*;
use stripe_chat_message::{
    Action, ActionStyle, ChatMessage, ObjectKind, ObjectRef, Renderer, Severity,
};
use stripe_chat_teams::limits::{MAX_ACTIONS, RENDER_BUDGET_BYTES};
use stripe_chat_teams::{TeamsRenderer, escape_markdown, validate_limits};

const ZWSP: char = '\u{200B}';

/// Characters that mean something to Markdown, Adaptive Cards or chat platforms, mixed with any.
fn nasty_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select(vec![
            '*', '_', '[', ']', '(', ')', '<', '>', '{', '}', '\\', '`', '#', '-', '+', '=', '&',
            ';', '!', '|', '~', '@', '"', '\'', ' ', ' ', '\n', '1', '.', 'a', 't', 'é', '😀', ZWSP,
        ]),
        1 => any::<char>(),
    ]
}

fn text(max_chars: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(nasty_char(), 0..max_chars).prop_map(String::from_iter)
}

fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..3_000usize).prop_map(|n| format!("https://dashboard.stripe.com/{}", "x".repeat(n))),
        Just("javascript:alert(1)".to_owned()),
        text(40).prop_map(|t| format!("https://e.test/{t}")),
        text(40),
    ]
}

fn message() -> impl Strategy<Value = ChatMessage> {
    let severity = prop::sample::select(vec![
        Severity::Info,
        Severity::Success,
        Severity::Warning,
        Severity::Critical,
    ]);
    let style = prop::sample::select(vec![
        ActionStyle::Default,
        ActionStyle::Primary,
        ActionStyle::Danger,
    ]);
    let action = (text(100), prop::option::of(url()), style).prop_map(|(label, url, style)| {
        let target = ObjectRef::new(ObjectKind::Invoice, "in_1");
        match url {
            Some(url) => Action::link("open", label, target, url).style(style),
            None => Action::callback("retry", label, target).style(style),
        }
    });
    (
        (text(800), text(5_000), severity),
        prop::collection::vec((text(200), text(1_500)), 0..150),
        prop::collection::vec((text(100), url()), 0..12),
        prop::collection::vec(action, 0..12),
        prop::collection::vec(text(80), 0..30),
        prop::option::of(text(600)),
        prop::option::of(any::<i64>()),
    )
        .prop_map(
            |((title, summary, severity), fields, links, actions, tags, footer, timestamp)| {
                let mut m = ChatMessage::new(title).summary(summary).severity(severity);
                m.fields = fields
                    .into_iter()
                    .map(|(l, v)| stripe_chat_message::Field::new(l, v))
                    .collect();
                m.links = links
                    .into_iter()
                    .map(|(l, u)| stripe_chat_message::Link::new(l, u))
                    .collect();
                m.actions = actions;
                m.tags = tags;
                m.footer = footer;
                m.timestamp = timestamp;
                m
            },
        )
}

/// Undoes the escaping as a CommonMark renderer would, and drops zero-width spaces.
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(char::is_ascii_punctuation) => {
                out.extend(chars.next())
            }
            ZWSP => {}
            c => out.push(c),
        }
    }
    out
}

/// Fails unless every Markdown-active character of `escaped` is inert.
fn assert_inert(escaped: &str) -> Result<(), TestCaseError> {
    prop_assert!(!escaped.contains("{{"), "live date function in {escaped:?}");
    let chars: Vec<char> = escaped.chars().collect();
    let mut i = 0;
    let mut line_start = true;
    while let Some(&c) = chars.get(i) {
        if c == '\\' {
            i += 2; // an escaped pair
            line_start = false;
            continue;
        }
        if line_start {
            let next = chars.get(i + 1);
            let ends = |n: Option<&char>| matches!(n, None | Some(' ' | '\n'));
            prop_assert!(c != ' ', "indented line in {escaped:?}");
            if matches!(c, '#' | '-' | '+' | '=') {
                prop_assert!(
                    next != Some(&c) && !ends(next),
                    "block marker {c:?} in {escaped:?}"
                );
            }
            let digits = chars[i..].iter().take_while(|d| d.is_ascii_digit()).count();
            if digits > 0 && matches!(chars.get(i + digits), Some('.' | ')')) {
                prop_assert!(
                    !ends(chars.get(i + digits + 1)),
                    "ordered list in {escaped:?}"
                );
            }
        }
        line_start = c == '\n';
        prop_assert!(
            !matches!(c, '*' | '`' | '[' | ']' | '~' | '<' | '>'),
            "live {c:?} in {escaped:?}"
        );
        if c == '_' {
            let around = [
                i.checked_sub(1).and_then(|p| chars.get(p)),
                chars.get(i + 1),
            ];
            prop_assert!(
                around
                    .iter()
                    .all(|n| n.is_some_and(|n| n.is_alphanumeric())),
                "live _ in {escaped:?}"
            );
        }
        i += 1;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_message_renders_within_teams_limits(message in message()) {
        let body = TeamsRenderer::new().render(&message).expect("renders");
        let size = serde_json::to_vec(&body).map(|v| v.len()).unwrap_or(usize::MAX);
        prop_assert!(size <= RENDER_BUDGET_BYTES, "{size} bytes");
        prop_assert_eq!(validate_limits(&body), Ok(()));
        let card = &body["attachments"][0]["content"];
        let actions = card["actions"].as_array().map(Vec::len).unwrap_or(0);
        prop_assert!(actions <= MAX_ACTIONS);
        for block in card["body"].as_array().into_iter().flatten() {
            for text in [&block["text"], &block["items"][0]["text"], &block["items"][1]["text"]] {
                // The context line ends with the card's own date functions: check what precedes them.
                let text = text.as_str().unwrap_or_default();
                let event_text = match text.find("{{DATE(") {
                    Some(0) => "",
                    Some(at) => text.get(..at).unwrap_or_default().trim_end_matches(" · "),
                    None => text,
                };
                assert_inert(event_text)?;
            }
            for fact in block["facts"].as_array().into_iter().flatten() {
                assert_inert(fact["title"].as_str().unwrap_or_default())?;
                assert_inert(fact["value"].as_str().unwrap_or_default())?;
            }
        }
    }

    #[test]
    fn escaped_text_is_inert_and_reads_back_as_written(
        raw in prop::collection::vec(
            nasty_char().prop_filter("cleaned away", |c| {
                !c.is_control() && (!c.is_whitespace() || matches!(c, ' ' | '\n'))
            }),
            0..300,
        )
        .prop_map(String::from_iter)
    ) {
        let escaped = escape_markdown(&raw);
        assert_inert(&escaped)?;
        // What a reader sees, in the order the renderer works: the bidirectional controls cleaned
        // away first, then the ends trimmed and each line's leading spaces dropped (a space that
        // only a bidirectional control followed is trailing), zero-width spaces being invisible.
        let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        let expected: String = raw
            .replace(bidi, "")
            .trim()
            .split('\n')
            .map(|line| line.trim_start_matches(' '))
            .collect::<Vec<_>>()
            .join("\n")
            .replace(ZWSP, "");
        prop_assert_eq!(unescape(&escaped), expected);
    }
}

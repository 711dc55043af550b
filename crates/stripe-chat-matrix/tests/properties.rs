//! Property tests: whatever a message holds, the content fits Matrix limits and its HTML holds only
//! the renderer's own tags, with every piece of event text escaped.

use proptest::prelude::*;
use stripe_chat_matrix::limits::RENDER_BUDGET_BYTES;
use stripe_chat_matrix::{MatrixRenderer, edit, escape_html, thread_reply, validate_limits};
use stripe_chat_message::{
    Action, ChatMessage, Field, Link, ObjectKind, ObjectRef, Renderer, Severity,
};

/// Characters that mean something to HTML, Markdown or chat platforms, mixed with any.
fn nasty_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select(vec![
            '<', '>', '&', '"', '\'', '/', '=', ';', '#', '*', '_', '[', ']', '(', ')', '{', '}',
            '\\', '`', '@', '!', '|', ' ', '\n', 'a', 'b', 'r', 'o', 'm', 'é', '😀', '\u{2060}',
        ]),
        1 => any::<char>(),
    ]
}

fn text(max_chars: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(nasty_char(), 0..max_chars).prop_map(String::from_iter)
}

fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..3_000usize)
            .prop_map(|n| format!("https://dashboard.stripe.com/?q={}", "&'".repeat(n / 2))),
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
    let action = (text(100), prop::option::of(url())).prop_map(|(label, url)| {
        let target = ObjectRef::new(ObjectKind::Invoice, "in_1");
        match url {
            Some(url) => Action::link("open", label, target, url),
            None => Action::callback("retry", label, target),
        }
    });
    (
        (text(800), text(6_000), severity),
        prop::collection::vec((text(200), text(1_500)), 0..150),
        prop::collection::vec((text(150), url()), 0..15),
        prop::collection::vec(action, 0..15),
        prop::collection::vec(text(80), 0..30),
        prop::option::of(text(600)),
        prop::option::of(any::<i64>()),
    )
        .prop_map(
            |((title, summary, severity), fields, links, actions, tags, footer, timestamp)| {
                let mut m = ChatMessage::new(title).summary(summary).severity(severity);
                m.fields = fields.into_iter().map(|(l, v)| Field::new(l, v)).collect();
                m.links = links.into_iter().map(|(l, u)| Link::new(l, u)).collect();
                m.actions = actions;
                m.tags = tags;
                m.footer = footer;
                m.timestamp = timestamp;
                m
            },
        )
}

/// Every tag in `html`, by a scanner that takes any `<` as the start of a tag.
fn tag_names(html: &str) -> Vec<String> {
    html.split('<')
        .skip(1)
        .map(|tag| {
            let tag = tag.strip_prefix('/').unwrap_or(tag);
            tag.chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect()
        })
        .collect()
}

fn unescape_html(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_message_renders_within_matrix_limits_with_only_its_own_tags(message in message()) {
        let content = MatrixRenderer::new().render(&message).expect("renders");
        let size = serde_json::to_vec(&content).map(|v| v.len()).unwrap_or(usize::MAX);
        prop_assert!(size <= RENDER_BUDGET_BYTES, "{size} bytes");
        prop_assert_eq!(validate_limits(&content), Ok(()));
        let html = content["formatted_body"].as_str().unwrap_or_default();
        for name in tag_names(html) {
            prop_assert!(
                ["h4", "p", "ul", "li", "strong", "em", "a", "br"].contains(&name.as_str()),
                "tag {name:?} in {html:?}"
            );
        }
        // Relations keep it within limits too.
        prop_assert_eq!(validate_limits(&thread_reply(content.clone(), "$root:example.org")), Ok(()));
        prop_assert_eq!(validate_limits(&edit(content, "$original:example.org")), Ok(()));
    }

    #[test]
    fn escaped_html_has_no_markup_and_reads_back_as_written(raw in text(500)) {
        let escaped = escape_html(&raw);
        prop_assert!(!escaped.contains(['<', '>', '"', '\'']), "{escaped:?}");
        prop_assert_eq!(unescape_html(&escaped), raw);
    }

    #[test]
    fn event_text_in_a_title_never_opens_a_tag(title in text(300)) {
        let content = MatrixRenderer::new().render(&ChatMessage::new(title)).expect("renders");
        let html = content["formatted_body"].as_str().unwrap_or_default();
        prop_assert_eq!(tag_names(html), vec!["h4".to_owned(), "h4".to_owned()], "{}", html);
    }
}

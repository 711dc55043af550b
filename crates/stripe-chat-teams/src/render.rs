//! Pure rendering of a [`ChatMessage`] as the body of a Teams Workflows webhook: one Adaptive Card.
//!
//! No I/O here: the same message always gives the same JSON, which the snapshot tests pin down.

use std::str::FromStr;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};
use stripe_chat_message::budget;
use stripe_chat_message::text::{clean_lines, format_rfc3339, format_unix_utc, truncate};
use stripe_chat_message::{ActionStyle, ChatMessage, ConfigError, RenderError, Renderer, Severity};

use crate::limits::is_web_url;
use crate::limits::{
    MAX_ACTION_TITLE_CHARS, MAX_ACTIONS, MAX_FACT_TITLE_CHARS, MAX_FACT_VALUE_CHARS, MAX_FACTS,
    MAX_FOOTER_CHARS, MAX_SUMMARY_CHARS, MAX_TAG_CHARS, MAX_TAGS, MAX_TITLE_CHARS,
    RENDER_BUDGET_BYTES,
};

/// Zero-width space: invisible, not whitespace to Markdown, and enough to break `{{` and `<at>`.
const ZWSP: char = '\u{200B}';

/// The latest Unix time whose RFC 3339 form has a four-digit year (9999-12-31T23:59:59Z), which the
/// Adaptive Card `DATE()`/`TIME()` functions need.
const LAST_FOUR_DIGIT_YEAR_SECOND: i64 = 253_402_300_799;

/// The Adaptive Card schema version a card declares. Teams renders up to 1.5, so nothing newer is
/// offered.
///
/// ```
/// use stripe_chat_teams::CardVersion;
/// assert_eq!(CardVersion::default(), CardVersion::V1_4);
/// assert_eq!(CardVersion::V1_5.as_str(), "1.5");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum CardVersion {
    /// 1.4: rendered by every current Teams client (desktop, web, mobile).
    #[default]
    V1_4,
    /// 1.5: the newest Teams renders.
    V1_5,
}

impl CardVersion {
    /// The version as written in the card's `version` property.
    ///
    /// ```
    /// assert_eq!(stripe_chat_teams::CardVersion::V1_4.as_str(), "1.4");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            CardVersion::V1_4 => "1.4",
            CardVersion::V1_5 => "1.5",
        }
    }
}

impl FromStr for CardVersion {
    type Err = ConfigError;

    /// `"1.4"` or `"1.5"`; anything else is refused (Teams renders nothing newer than 1.5).
    ///
    /// ```
    /// use stripe_chat_teams::CardVersion;
    /// assert_eq!("1.5".parse::<CardVersion>(), Ok(CardVersion::V1_5));
    /// assert_eq!("1.6".parse::<CardVersion>().unwrap_err().key(), "card_version");
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "1.4" => Ok(CardVersion::V1_4),
            "1.5" => Ok(CardVersion::V1_5),
            other => Err(ConfigError::invalid(
                "card_version",
                format!(
                    "{other:?} is not supported: Teams renders Adaptive Cards \"1.4\" and \"1.5\""
                ),
            )),
        }
    }
}

impl<'de> Deserialize<'de> for CardVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse()
            .map_err(|e: ConfigError| serde::de::Error::custom(e.problem()))
    }
}

/// Renders a [`ChatMessage`] as a Teams Workflows webhook body holding one Adaptive Card.
///
/// The card has a header [`Container`](https://adaptivecards.io/explorer/Container.html) coloured by
/// severity (info → `emphasis`, success → `good`, warning → `warning`, critical → `attention`)
/// with the title and summary, a `FactSet` of the fields, a small subtle line with tags, footer and
/// time, and `Action.OpenUrl` buttons for the links and link actions (at most
/// [`MAX_ACTIONS`](crate::limits::MAX_ACTIONS)).
///
/// Callback actions (those without a URL) are left out: a card posted by a Workflows webhook can
/// only open URLs, as `Action.Submit`/`Action.Execute` clicks go to a bot. They need the Bot
/// Framework mode, which is not this renderer.
///
/// All event text is escaped with [`escape_markdown`], and the body is kept within
/// [`RENDER_BUDGET_BYTES`](crate::limits::RENDER_BUDGET_BYTES) by trimming facts and long texts.
///
/// ```
/// use stripe_chat_message::{ChatMessage, Renderer, Severity};
/// use stripe_chat_teams::{CardVersion, TeamsRenderer};
///
/// let renderer = TeamsRenderer::new().with_version(CardVersion::V1_5);
/// let body = renderer.render(&ChatMessage::new("Dispute opened").severity(Severity::Critical))?;
/// let card = &body["attachments"][0]["content"];
/// assert_eq!(card["version"], "1.5");
/// assert_eq!(card["body"][0]["style"], "attention");
/// # Ok::<(), stripe_chat_message::RenderError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct TeamsRenderer {
    version: CardVersion,
}

impl TeamsRenderer {
    /// A renderer declaring Adaptive Card version 1.4.
    ///
    /// ```
    /// let renderer = stripe_chat_teams::TeamsRenderer::new();
    /// assert_eq!(renderer.version(), stripe_chat_teams::CardVersion::V1_4);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The same renderer, declaring `version` instead.
    ///
    /// ```
    /// use stripe_chat_teams::{CardVersion, TeamsRenderer};
    /// assert_eq!(TeamsRenderer::new().with_version(CardVersion::V1_5).version(), CardVersion::V1_5);
    /// ```
    pub fn with_version(mut self, version: CardVersion) -> Self {
        self.version = version;
        self
    }

    /// The card version this renderer declares.
    ///
    /// ```
    /// assert_eq!(stripe_chat_teams::TeamsRenderer::default().version().as_str(), "1.4");
    /// ```
    pub fn version(&self) -> CardVersion {
        self.version
    }

    /// The body with `caps` applied and the first `shown` fields as facts.
    fn build(&self, message: &ChatMessage, caps: &Caps, shown: usize, actions: &[Value]) -> Value {
        let mut header = vec![json!({
            "type": "TextBlock",
            "text": title_text(message, caps.title),
            "size": "Large",
            "weight": "Bolder",
            "wrap": true,
        })];
        let summary = clean_lines(&message.summary, '\n');
        if !summary.is_empty() {
            let summary = escape_cleaned(&truncate(&summary, caps.summary));
            // A single newline does not break a Markdown paragraph; a blank line does.
            header.push(
                json!({ "type": "TextBlock", "text": summary.replace('\n', "\n\n"), "wrap": true }),
            );
        }
        let mut body = vec![json!({
            "type": "Container",
            "style": container_style(message.severity),
            "bleed": true,
            "items": header,
        })];

        let mut facts: Vec<Value> = message
            .fields
            .iter()
            .take(shown)
            .map(|field| {
                let value = one_line(&field.value, caps.fact_value);
                json!({
                    "title": one_line(&field.label, caps.fact_title),
                    "value": if value.is_empty() { "—".to_owned() } else { value },
                })
            })
            .collect();
        let hidden = message.fields.len().saturating_sub(shown);
        if hidden > 0 {
            facts.push(json!({
                "title": "More",
                "value": format!("… {hidden} more in the Stripe Dashboard"),
            }));
        }
        if !facts.is_empty() {
            body.push(json!({ "type": "FactSet", "facts": facts }));
        }

        let mut context: Vec<String> = message
            .tags
            .iter()
            .take(caps.tags)
            .map(|tag| one_line(tag, caps.tag))
            .filter(|tag| !tag.is_empty())
            .collect();
        if let Some(footer) = &message.footer {
            let footer = one_line(footer, caps.footer);
            if !footer.is_empty() {
                context.push(footer);
            }
        }
        if let Some(timestamp) = message.timestamp {
            context.push(time_text(timestamp));
        }
        if !context.is_empty() {
            body.push(json!({
                "type": "TextBlock",
                "text": context.join(" · "),
                "size": "Small",
                "isSubtle": true,
                "wrap": true,
                "spacing": "Medium",
            }));
        }

        let mut card = Map::new();
        card.insert(
            "$schema".into(),
            "http://adaptivecards.io/schemas/adaptive-card.json".into(),
        );
        card.insert("type".into(), "AdaptiveCard".into());
        card.insert("version".into(), self.version.as_str().into());
        card.insert("msteams".into(), json!({ "width": "Full" }));
        card.insert("body".into(), Value::Array(body));
        if !actions.is_empty() {
            card.insert("actions".into(), Value::Array(actions.to_vec()));
        }
        json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": Value::Object(card),
            }],
        })
    }
}

impl Renderer for TeamsRenderer {
    fn platform(&self) -> &str {
        "teams"
    }

    fn display_name(&self) -> &str {
        "Microsoft Teams"
    }

    fn render(&self, message: &ChatMessage) -> Result<Value, RenderError> {
        let actions = open_url_actions(message);
        let most_fields = message.fields.len().min(MAX_FACTS);
        budget::fit(&LEVELS, most_fields, RENDER_BUDGET_BYTES, |caps, shown| {
            self.build(message, caps, shown, &actions)
        })
        // Unreachable by the arithmetic of the last level (see `LEVELS`), kept as an honest error.
        .ok_or_else(|| {
            RenderError::Invalid(format!(
                "the Teams card does not fit in {RENDER_BUDGET_BYTES} bytes even when trimmed"
            ))
        })
    }

    fn validate_limits(&self, body: &Value) -> Result<(), Vec<String>> {
        crate::validate::validate_limits(body)
    }
}

/// How much of each text is kept at one trimming level.
#[derive(Debug, Clone, Copy)]
struct Caps {
    title: usize,
    summary: usize,
    fact_title: usize,
    fact_value: usize,
    tags: usize,
    tag: usize,
    footer: usize,
}

/// Trimming levels, tried in order until the body fits. An escaped character takes at most 6 bytes
/// of JSON (`\<` + zero-width space), so the last level needs at most about 2 KB of text, plus
/// 6 buttons of at most 2,048-byte URLs: far below the budget whatever the message holds.
const LEVELS: [Caps; 4] = [
    Caps {
        title: MAX_TITLE_CHARS,
        summary: MAX_SUMMARY_CHARS,
        fact_title: MAX_FACT_TITLE_CHARS,
        fact_value: MAX_FACT_VALUE_CHARS,
        tags: MAX_TAGS,
        tag: MAX_TAG_CHARS,
        footer: MAX_FOOTER_CHARS,
    },
    Caps {
        title: 200,
        summary: 1_500,
        fact_title: 60,
        fact_value: 300,
        tags: 10,
        tag: 30,
        footer: 150,
    },
    Caps {
        title: 150,
        summary: 500,
        fact_title: 40,
        fact_value: 100,
        tags: 5,
        tag: 30,
        footer: 100,
    },
    Caps {
        title: 100,
        summary: 200,
        fact_title: 40,
        fact_value: 60,
        tags: 0,
        tag: 0,
        footer: 0,
    },
];

fn container_style(severity: Severity) -> &'static str {
    match severity {
        Severity::Success => "good",
        Severity::Warning => "warning",
        Severity::Critical => "attention",
        _ => "emphasis",
    }
}

/// The escaped title, or a stand-in when the message has none (a card needs something to show).
fn title_text(message: &ChatMessage, max_chars: usize) -> String {
    let title = one_line(&message.title, max_chars);
    if !title.is_empty() {
        return title;
    }
    match &message.source {
        Some(source) if !clean_lines(&source.event_type, ' ').is_empty() => {
            one_line(&source.event_type, max_chars)
        }
        _ => "Stripe event".to_owned(),
    }
}

/// `Action.OpenUrl` buttons: the main link, then link actions, then the other links; duplicates and
/// URLs that are not plain `https://`/`http://` are dropped; at most [`MAX_ACTIONS`].
fn open_url_actions(message: &ChatMessage) -> Vec<Value> {
    let primary = message
        .links
        .first()
        .map(|l| (&l.label, &l.url, ActionStyle::Default));
    let link_actions = message
        .actions
        .iter()
        .filter_map(|a| a.url.as_ref().map(|url| (&a.label, url, a.style)));
    let other_links = message
        .links
        .iter()
        .skip(1)
        .map(|l| (&l.label, &l.url, ActionStyle::Default));

    let mut seen: Vec<&str> = Vec::new();
    let mut actions = Vec::new();
    for (label, url, style) in primary.into_iter().chain(link_actions).chain(other_links) {
        if actions.len() == MAX_ACTIONS {
            break;
        }
        let url = url.trim();
        if !is_web_url(url) || seen.contains(&url) {
            continue;
        }
        seen.push(url);
        let mut title = break_braces(&truncate(&clean_lines(label, ' '), MAX_ACTION_TITLE_CHARS));
        if title.is_empty() {
            title = "Open link".to_owned();
        }
        let mut action = json!({ "type": "Action.OpenUrl", "title": title, "url": url });
        let style = match style {
            ActionStyle::Primary => Some("positive"),
            ActionStyle::Danger => Some("destructive"),
            _ => None,
        };
        if let (Some(style), Some(object)) = (style, action.as_object_mut()) {
            object.insert("style".into(), style.into());
        }
        actions.push(action);
    }
    actions
}

/// When it happened: the card's `DATE()`/`TIME()` functions show it in the reader's time zone; times
/// those functions cannot take fall back to plain UTC.
fn time_text(timestamp: i64) -> String {
    if (0..=LAST_FOUR_DIGIT_YEAR_SECOND).contains(&timestamp) {
        let at = format_rfc3339(timestamp);
        format!("{{{{DATE({at}, SHORT)}}}} {{{{TIME({at})}}}}")
    } else {
        escape_cleaned(&format_unix_utc(timestamp))
    }
}

/// Single-line text cleaned, cut to `max_chars` and escaped.
fn one_line(text: &str, max_chars: usize) -> String {
    escape_cleaned(&truncate(&clean_lines(text, ' '), max_chars))
}

/// Escapes event text for an Adaptive Card `TextBlock` or `Fact`, whose text Teams reads as
/// (a subset of) Markdown, so that it shows literally and never becomes markup.
///
/// - Markdown punctuation is backslash-escaped, the CommonMark way that Adaptive Card renderers
///   follow: `\`, `*`, `` ` ``, `[`, `]`, `~`, `<`, `>` always; `_` unless inside a word (so Stripe
///   ids such as `in_1Mt…` stay as they are); `(` right after `]`; `&` when it could start an
///   entity; and, at the start of a line, the `#`, `-`, `+`, `=` of headings, bullets and rules
///   (`# x`, `- x`, `---`) and the `.`/`)` of `1. x`/`1) x` (but not `-5.00` or `20.00`).
///   Leading spaces of a line are dropped (they would make code blocks).
/// - `{{` gets a zero-width space between the braces: the card's `{{DATE()}}`/`{{TIME()}}`
///   functions are expanded before Markdown, where a backslash would not stop them.
/// - `<` before a letter, `/`, `!` or `?` also gets a zero-width space, so no `<at>` mention tag
///   (or any other tag) is ever spelled out.
/// - Control characters and bidirectional overrides are removed; `\r\n` and `\r` become `\n`.
///
/// ```
/// use stripe_chat_teams::escape_markdown;
/// assert_eq!(escape_markdown("*bold* [x](https://evil.test)"), r"\*bold\* \[x\]\(https://evil.test)");
/// assert_eq!(escape_markdown("in_1MtHbE paid"), "in_1MtHbE paid");
/// assert_eq!(escape_markdown("{{DATE(2017-02-14T06:08:39Z)}}"), "{\u{200B}{DATE(2017-02-14T06:08:39Z)}}");
/// assert_eq!(escape_markdown("<at>Bob</at>"), "\\<\u{200B}at\\>Bob\\<\u{200B}/at\\>");
/// ```
pub fn escape_markdown(text: &str) -> String {
    escape_cleaned(&clean_lines(text, '\n'))
}

/// The escaping of [`escape_markdown`] for text already through [`clean_lines`].
fn escape_cleaned(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut line_start = true;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        if line_start {
            if c == ' ' {
                i += 1;
                continue;
            }
            line_start = false;
            if c.is_ascii_digit() {
                // `1.` or `1)` starts an ordered list.
                let mut end = i;
                while let Some(d) = chars.get(end).filter(|d| d.is_ascii_digit()) {
                    out.push(*d);
                    end += 1;
                }
                if let Some(&marker @ ('.' | ')')) = chars.get(end)
                    && ends_marker(chars.get(end + 1))
                {
                    out.push('\\');
                    out.push(marker);
                    end += 1;
                }
                i = end;
                continue;
            }
            // Headings, bullets, setext underlines and thematic breaks: `# x`, `- x`, `==`, `---`.
            if matches!(c, '#' | '-' | '+' | '=') && (next == Some(c) || ends_marker(next.as_ref()))
            {
                out.push('\\');
                out.push(c);
                i += 1;
                continue;
            }
        }
        match c {
            '\n' => {
                out.push('\n');
                line_start = true;
            }
            '\\' | '*' | '`' | '[' | ']' | '~' | '>' => {
                out.push('\\');
                out.push(c);
            }
            '<' => {
                out.push_str("\\<");
                if next.is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?')) {
                    out.push(ZWSP);
                }
            }
            '_' => {
                let inside_word = prev.is_some_and(char::is_alphanumeric)
                    && next.is_some_and(char::is_alphanumeric);
                if !inside_word {
                    out.push('\\');
                }
                out.push('_');
            }
            '(' if prev == Some(']') => out.push_str("\\("),
            '&' if next.is_some_and(|n| n.is_ascii_alphanumeric() || n == '#') => {
                out.push_str("\\&");
            }
            '{' if next == Some('{') => {
                out.push('{');
                out.push(ZWSP);
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Whether a block marker followed by `next` is complete: a space or the end of the line.
fn ends_marker(next: Option<&char>) -> bool {
    matches!(next, None | Some(' ' | '\n'))
}

/// Neutralizes `{{` in text that is not Markdown (button titles).
fn break_braces(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '{' && chars.peek() == Some(&'{') {
            out.push(ZWSP);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use stripe_chat_message::budget::serialized_len;
    use stripe_chat_message::{Action, ObjectKind, ObjectRef, Source};

    const HOSTILE: &str = "<!channel> *bold* <https://evil.test|click> @everyone \
        <script>alert(1)</script> & ||spoiler|| [x](https://evil.test) <@123456789> \
        {{DATE(2017-02-14T06:08:39Z)}}";

    /// Undoes the escaping as a CommonMark renderer would: drops the backslash before ASCII
    /// punctuation, and the zero-width spaces.
    fn unescape(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek().is_some_and(char::is_ascii_punctuation) => {
                    out.extend(chars.next());
                }
                ZWSP => {}
                c => out.push(c),
            }
        }
        out
    }

    fn card(body: &Value) -> &Value {
        &body["attachments"][0]["content"]
    }

    fn render(message: &ChatMessage) -> Value {
        TeamsRenderer::new().render(message).expect("renders")
    }

    #[test]
    fn hostile_text_is_escaped_and_reads_back_unchanged() {
        let escaped = escape_markdown(HOSTILE);
        for live in [
            "*bold*",
            "[x](",
            "<script>",
            "<!channel>",
            "<https://",
            "{{DATE",
        ] {
            assert!(!escaped.contains(live), "{live} is still live in {escaped}");
        }
        let chars: Vec<char> = escaped.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            if matches!(c, '<' | '>' | '*' | '[' | ']') {
                let before = i.checked_sub(1).and_then(|p| chars.get(p));
                assert_eq!(before, Some(&'\\'), "{c} at {i} in {escaped}");
            }
        }
        assert!(escaped.contains(r"\*bold\*"));
        assert!(escaped.contains(r"\[x\]\(https://evil.test)"));
        assert!(escaped.contains("{\u{200B}{DATE"));
        assert_eq!(unescape(&escaped), HOSTILE);
    }

    #[test]
    fn every_text_slot_of_the_card_is_escaped() {
        let message = ChatMessage::new(HOSTILE)
            .summary(HOSTILE)
            .field(HOSTILE, HOSTILE)
            .tag(HOSTILE)
            .footer(HOSTILE);
        let body = render(&message);
        let card = card(&body);
        let texts = [
            &card["body"][0]["items"][0]["text"],
            &card["body"][0]["items"][1]["text"],
            &card["body"][1]["facts"][0]["title"],
            &card["body"][1]["facts"][0]["value"],
            &card["body"][2]["text"],
        ];
        for text in texts {
            let text = text.as_str().expect("a text");
            assert!(text.contains(r"\*bold\*"), "{text}");
            assert!(!text.contains("{{"), "{text}");
            assert!(!text.contains("<at") && !text.contains("<script"), "{text}");
        }
    }

    #[test]
    fn mention_tags_are_broken_in_any_case() {
        for tag in ["<at>Ann</at>", "<AT>Ann</AT>", "<at id=\"0\">x</at>"] {
            let escaped = escape_markdown(tag);
            assert!(!escaped.to_ascii_lowercase().contains("<at"), "{escaped}");
            assert!(!escaped.to_ascii_lowercase().contains("</at"), "{escaped}");
        }
    }

    #[test]
    fn block_markers_at_line_start_are_escaped() {
        assert_eq!(escape_markdown("# Big"), r"\# Big");
        assert_eq!(
            escape_markdown("- item\n+ item\n> quote"),
            "\\- item\n\\+ item\n\\> quote"
        );
        assert_eq!(
            escape_markdown("1. first\n22) second"),
            "1\\. first\n22\\) second"
        );
        assert_eq!(escape_markdown("    code"), "code");
        assert_eq!(escape_markdown("a - b # c 1. d"), "a - b # c 1. d");
        assert_eq!(
            escape_markdown("## x\n---\n==\n-"),
            "\\## x\n\\---\n\\==\n\\-"
        );
        assert_eq!(
            escape_markdown("-5.00 USD\n20.00 USD\n#1234\n+1 555"),
            "-5.00 USD\n20.00 USD\n#1234\n+1 555"
        );
    }

    #[test]
    fn underscores_inside_words_stay_and_others_are_escaped() {
        assert_eq!(escape_markdown("cus_NffrFeUfNV2Hib"), "cus_NffrFeUfNV2Hib");
        assert_eq!(escape_markdown("_x_"), r"\_x\_");
        assert_eq!(escape_markdown("snake_"), r"snake\_");
    }

    #[test]
    fn entities_and_backslashes_stay_literal() {
        assert_eq!(escape_markdown("AT&T &amp; & co"), r"AT\&T \&amp; & co");
        assert_eq!(escape_markdown(r"C:\path"), r"C:\\path");
    }

    #[test]
    fn control_characters_and_bidi_overrides_are_removed() {
        assert_eq!(escape_markdown("a\u{0}b\u{202E}c\r\nd\re"), "abc\nd\ne");
    }

    #[test]
    fn button_titles_are_plain_text_without_date_functions() {
        let message = ChatMessage::new("t").link(
            "{{TIME(2017-02-14T06:08:39Z)}} *x*",
            "https://dashboard.stripe.com/x",
        );
        let body = render(&message);
        assert_eq!(
            card(&body)["actions"][0]["title"],
            "{\u{200B}{TIME(2017-02-14T06:08:39Z)}} *x*"
        );
    }

    #[test]
    fn severity_picks_the_header_style() {
        for (severity, style) in [
            (Severity::Info, "emphasis"),
            (Severity::Success, "good"),
            (Severity::Warning, "warning"),
            (Severity::Critical, "attention"),
        ] {
            let body = render(&ChatMessage::new("t").severity(severity));
            assert_eq!(card(&body)["body"][0]["style"], style);
        }
    }

    #[test]
    fn callback_actions_are_left_out_and_link_actions_become_open_url() {
        let invoice = ObjectRef::new(ObjectKind::Invoice, "in_1");
        let message = ChatMessage::new("t")
            .action(Action::callback(
                "retry_payment",
                "Retry payment",
                invoice.clone(),
            ))
            .action(
                Action::link(
                    "open",
                    "Open invoice",
                    invoice,
                    "https://dashboard.stripe.com/invoices/in_1",
                )
                .style(ActionStyle::Primary),
            );
        let body = render(&message);
        let actions = card(&body)["actions"].as_array().expect("actions");
        assert_eq!(actions.len(), 1);
        assert_eq!(actions[0]["type"], "Action.OpenUrl");
        assert_eq!(actions[0]["title"], "Open invoice");
        assert_eq!(actions[0]["style"], "positive");
    }

    #[test]
    fn unsafe_or_duplicate_urls_are_dropped_and_buttons_capped_at_six() {
        let mut message = ChatMessage::new("t")
            .link("js", "javascript:alert(1)")
            .link("data", "data:text/html,x")
            .link("relative", "/invoices/in_1")
            .link("quote", "https://evil.test/\"onclick")
            .link("dup", "https://dashboard.stripe.com/a")
            .link("dup again", "https://dashboard.stripe.com/a");
        for n in 0..10 {
            message = message.link(format!("L{n}"), format!("https://dashboard.stripe.com/{n}"));
        }
        let body = render(&message);
        let actions = card(&body)["actions"].as_array().expect("actions");
        assert_eq!(actions.len(), MAX_ACTIONS);
        let urls: Vec<&str> = actions.iter().filter_map(|a| a["url"].as_str()).collect();
        assert_eq!(urls[0], "https://dashboard.stripe.com/a");
        assert!(
            urls.iter()
                .all(|u| u.starts_with("https://dashboard.stripe.com/"))
        );
        assert_eq!(
            urls.iter()
                .filter(|u| **u == "https://dashboard.stripe.com/a")
                .count(),
            1
        );
    }

    #[test]
    fn many_fields_are_cut_to_the_fact_limit_with_a_count_of_the_rest() {
        let mut message = ChatMessage::new("t").link("Invoice", "https://dashboard.stripe.com/i");
        for n in 0..120 {
            message = message.field(format!("Field {n}"), format!("value {n}"));
        }
        let body = render(&message);
        let facts = card(&body)["body"][1]["facts"].as_array().expect("facts");
        assert_eq!(facts.len(), MAX_FACTS + 1);
        assert_eq!(
            facts[MAX_FACTS]["value"],
            "… 70 more in the Stripe Dashboard"
        );
        assert!(serialized_len(&body) <= RENDER_BUDGET_BYTES);
    }

    #[test]
    fn big_fields_are_trimmed_until_the_card_fits() {
        let mut message = ChatMessage::new("t");
        for n in 0..120 {
            message = message.field(format!("Field {n}"), "x".repeat(900));
        }
        let body = render(&message);
        assert!(serialized_len(&body) <= RENDER_BUDGET_BYTES);
        let facts = card(&body)["body"][1]["facts"].as_array().expect("facts");
        assert!(facts.len() > 1 && facts.len() < 50, "{} facts", facts.len());
        let last = facts
            .last()
            .and_then(|f| f["value"].as_str())
            .unwrap_or_default();
        assert!(last.ends_with("more in the Stripe Dashboard"), "{last}");
    }

    #[test]
    fn long_title_and_summary_are_truncated() {
        let message = ChatMessage::new("T".repeat(600)).summary("S".repeat(20_000));
        let body = render(&message);
        let items = &card(&body)["body"][0]["items"];
        let title = items[0]["text"].as_str().unwrap_or_default();
        let summary = items[1]["text"].as_str().unwrap_or_default();
        assert_eq!(title.chars().count(), MAX_TITLE_CHARS);
        assert!(title.ends_with('…'));
        assert_eq!(summary.chars().count(), MAX_SUMMARY_CHARS);
        assert!(serialized_len(&body) <= RENDER_BUDGET_BYTES);
    }

    #[test]
    fn worst_case_text_still_fits_by_cutting_deeper() {
        // `<a` escapes to 6 bytes for 2 characters; backslashes to 4 bytes each.
        let heavy = "<a\\\\".repeat(10_000);
        let mut message = ChatMessage::new(heavy.clone())
            .summary(heavy.clone())
            .footer(heavy.clone());
        for _ in 0..60 {
            message = message
                .field(heavy.clone(), heavy.clone())
                .tag(heavy.clone());
        }
        for n in 0..10 {
            message = message.link(
                heavy.clone(),
                format!("https://e.test/{n}/{}", "a".repeat(2_000)),
            );
        }
        let body = render(&message);
        assert!(
            serialized_len(&body) <= RENDER_BUDGET_BYTES,
            "{}",
            serialized_len(&body)
        );
    }

    #[test]
    fn empty_title_falls_back_to_the_event_type() {
        let message = ChatMessage::new("  ").source(Source {
            event_id: "evt_1".into(),
            event_type: "invoice.paid".into(),
            livemode: false,
        });
        let body = render(&message);
        assert_eq!(card(&body)["body"][0]["items"][0]["text"], "invoice.paid");
        let body = render(&ChatMessage::new(""));
        assert_eq!(card(&body)["body"][0]["items"][0]["text"], "Stripe event");
    }

    #[test]
    fn time_uses_card_date_functions_within_their_range() {
        assert_eq!(
            time_text(1_680_000_000),
            "{{DATE(2023-03-28T10:40:00Z, SHORT)}} {{TIME(2023-03-28T10:40:00Z)}}"
        );
        assert_eq!(time_text(-1), "1969-12-31 23:59 UTC");
        assert!(!time_text(i64::MAX).contains("{{"));
    }

    #[test]
    fn single_newlines_in_the_summary_become_paragraph_breaks() {
        let body = render(&ChatMessage::new("t").summary("one\ntwo"));
        assert_eq!(card(&body)["body"][0]["items"][1]["text"], "one\n\ntwo");
    }
}

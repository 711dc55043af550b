//! Pure rendering of a [`ChatMessage`] as `m.room.message` content with a plain body and safe HTML.
//!
//! No I/O here: the same message always gives the same JSON, which the snapshot tests pin down.

use serde_json::{Value, json};
use stripe_chat_message::budget;
use stripe_chat_message::text::{clean_lines, format_unix_utc, truncate};
use stripe_chat_message::{ChatMessage, RenderError, Renderer, Severity};

use crate::limits::is_web_url;
use crate::limits::{
    HTML_FORMAT, MAX_ACTION_LABEL_CHARS, MAX_ACTIONS, MAX_FIELDS, MAX_FOOTER_CHARS,
    MAX_LABEL_CHARS, MAX_LINK_LABEL_CHARS, MAX_LINKS, MAX_SUMMARY_CHARS, MAX_TAG_CHARS, MAX_TAGS,
    MAX_TITLE_CHARS, MAX_VALUE_CHARS, RENDER_BUDGET_BYTES,
};

/// Word joiner: invisible, and enough to keep `@room` from matching the room-mention push rule.
const WORD_JOINER: char = '\u{2060}';

/// The `msgtype` of rendered messages.
///
/// ```
/// use stripe_chat_matrix::MsgType;
/// assert_eq!(MsgType::default(), MsgType::Notice);
/// assert_eq!(MsgType::Text.as_str(), "m.text");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum MsgType {
    /// `m.notice`: what bots send; clients show it subdued and other bots do not answer it.
    #[default]
    Notice,
    /// `m.text`: an ordinary message (default push rules notify for it).
    Text,
}

impl MsgType {
    /// The `msgtype` value.
    ///
    /// ```
    /// assert_eq!(stripe_chat_matrix::MsgType::Notice.as_str(), "m.notice");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            MsgType::Notice => "m.notice",
            MsgType::Text => "m.text",
        }
    }
}

/// Renders a [`ChatMessage`] as the content of an `m.room.message` event.
///
/// The content holds a plain-text `body` (title, summary, `Label: value` lines, `label: url`
/// links, actions, tags, footer, time) and the same as HTML in `formatted_body`: an `<h4>` title
/// led by an emoji per severity (ℹ️ ✅ ⚠️ 🚨), a `<p>` summary, a `<ul>` of fields with `<strong>`
/// labels, `<a href>` links, actions as text (Matrix has no buttons), and tags, footer and time in
/// `<em>`. Only tags from the spec's suggested HTML subset are used; every piece of event text is
/// escaped with [`escape_html`], and only `https://`/`http://` URLs are linked (others are left
/// out). `m.mentions` is set and empty, so the message mentions nobody, whatever names or `@room`
/// the event text holds.
///
/// Callback actions are listed as plain text (`Actions: Retry payment · Send dunning email`); link
/// actions are listed with the links.
///
/// The content is kept within [`RENDER_BUDGET_BYTES`](crate::limits::RENDER_BUDGET_BYTES) by
/// listing fewer fields (ending with "… N more in the Stripe Dashboard" and the main link) and
/// cutting long texts.
///
/// ```
/// use stripe_chat_message::{ChatMessage, Renderer, Severity};
/// use stripe_chat_matrix::{MatrixRenderer, MsgType};
///
/// let renderer = MatrixRenderer::new().with_msgtype(MsgType::Text);
/// let content = renderer.render(&ChatMessage::new("Dispute <opened>").severity(Severity::Critical))?;
/// assert_eq!(content["msgtype"], "m.text");
/// assert_eq!(content["body"], "🚨 Dispute <opened>");
/// assert_eq!(content["formatted_body"], "<h4>🚨 Dispute &lt;opened&gt;</h4>");
/// # Ok::<(), stripe_chat_message::RenderError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MatrixRenderer {
    msgtype: MsgType,
}

impl MatrixRenderer {
    /// A renderer sending `m.notice` messages.
    ///
    /// ```
    /// let renderer = stripe_chat_matrix::MatrixRenderer::new();
    /// assert_eq!(renderer.msgtype(), stripe_chat_matrix::MsgType::Notice);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The same renderer, sending `msgtype` messages.
    ///
    /// ```
    /// use stripe_chat_matrix::{MatrixRenderer, MsgType};
    /// assert_eq!(MatrixRenderer::new().with_msgtype(MsgType::Text).msgtype(), MsgType::Text);
    /// ```
    pub fn with_msgtype(mut self, msgtype: MsgType) -> Self {
        self.msgtype = msgtype;
        self
    }

    /// The `msgtype` this renderer sends.
    ///
    /// ```
    /// assert_eq!(stripe_chat_matrix::MatrixRenderer::default().msgtype().as_str(), "m.notice");
    /// ```
    pub fn msgtype(&self) -> MsgType {
        self.msgtype
    }

    /// The content with `caps` applied and the first `shown` fields listed.
    fn build(&self, message: &ChatMessage, caps: &Caps, shown: usize) -> Value {
        let mut doc = Doc::default();

        let emoji = severity_emoji(message.severity);
        let title = title_text(message, caps.title);
        doc.line(&format!("{emoji} {title}"));
        doc.html(&format!("<h4>{emoji} {}</h4>", escape_html(&title)));

        let summary = clean(&message.summary, false);
        if !summary.is_empty() {
            let summary = truncate(&summary, caps.summary);
            doc.line(&summary);
            doc.html(&format!(
                "<p>{}</p>",
                escape_html(&summary).replace('\n', "<br>")
            ));
        }

        let dashboard = message
            .primary_link()
            .map(|l| l.url.trim())
            .filter(|u| is_web_url(u));
        let hidden = message.fields.len().saturating_sub(shown);
        if shown > 0 || hidden > 0 {
            doc.blank();
            let mut items = String::new();
            for field in message.fields.iter().take(shown) {
                let label = one_line(&field.label, caps.label);
                let value = truncate(&clean(&field.value, false), caps.value).into_owned();
                doc.line(&format!("{label}: {value}"));
                items.push_str(&format!(
                    "<li><strong>{}</strong>: {}</li>",
                    escape_html(&label),
                    escape_html(&value).replace('\n', "<br>")
                ));
            }
            if hidden > 0 {
                let more = format!("… {hidden} more in the Stripe Dashboard");
                match dashboard {
                    Some(url) => {
                        doc.line(&format!("{more}: {url}"));
                        items.push_str(&format!(
                            "<li>… {hidden} more in the <a href=\"{}\">Stripe Dashboard</a></li>",
                            escape_html(url)
                        ));
                    }
                    None => {
                        doc.line(&more);
                        items.push_str(&format!("<li>{more}</li>"));
                    }
                }
            }
            doc.html(&format!("<ul>{items}</ul>"));
        }

        let links = web_links(message, caps.links, caps.link_label);
        let actions: Vec<String> = message
            .actions
            .iter()
            .filter(|a| a.url.is_none())
            .take(caps.actions)
            .map(|a| one_line(&a.label, caps.action_label))
            .filter(|label| !label.is_empty())
            .collect();
        if !links.is_empty() || !actions.is_empty() {
            doc.blank();
        }
        if !links.is_empty() {
            let mut anchors = Vec::with_capacity(links.len());
            for (label, url) in &links {
                doc.line(&format!("{label}: {url}"));
                anchors.push(format!(
                    "<a href=\"{}\">{}</a>",
                    escape_html(url),
                    escape_html(label)
                ));
            }
            doc.html(&format!("<p>{}</p>", anchors.join(" · ")));
        }
        if !actions.is_empty() {
            let actions = format!("Actions: {}", actions.join(" · "));
            doc.line(&actions);
            doc.html(&format!("<p>{}</p>", escape_html(&actions)));
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
            context.push(format_unix_utc(timestamp));
        }
        if !context.is_empty() {
            let context = context.join(" · ");
            doc.blank();
            doc.line(&context);
            doc.html(&format!("<p><em>{}</em></p>", escape_html(&context)));
        }

        json!({
            "msgtype": self.msgtype.as_str(),
            "body": doc.body,
            "format": HTML_FORMAT,
            "formatted_body": doc.html,
            "m.mentions": {},
        })
    }
}

impl Renderer for MatrixRenderer {
    fn platform(&self) -> &str {
        "matrix"
    }

    fn display_name(&self) -> &str {
        "Matrix"
    }

    fn render(&self, message: &ChatMessage) -> Result<Value, RenderError> {
        let most_fields = message.fields.len().min(MAX_FIELDS);
        budget::fit(&LEVELS, most_fields, RENDER_BUDGET_BYTES, |caps, shown| {
            self.build(message, caps, shown)
        })
        // Unreachable by the arithmetic of the last level (see `LEVELS`), kept as an honest error.
        .ok_or_else(|| {
            RenderError::Invalid(format!(
                "the Matrix message does not fit in {RENDER_BUDGET_BYTES} bytes even when trimmed"
            ))
        })
    }

    fn validate_limits(&self, content: &Value) -> Result<(), Vec<String>> {
        crate::validate::validate_limits(content)
    }
}

/// The plain body and the HTML, built side by side.
#[derive(Default)]
struct Doc {
    body: String,
    html: String,
}

impl Doc {
    fn line(&mut self, text: &str) {
        if !self.body.is_empty() && !self.body.ends_with("\n\n") {
            self.body.push('\n');
        }
        self.body.push_str(text);
    }

    /// Starts a new paragraph of the plain body.
    fn blank(&mut self) {
        if !self.body.is_empty() && !self.body.ends_with("\n\n") {
            self.body.push_str("\n\n");
        }
    }

    fn html(&mut self, html: &str) {
        self.html.push_str(html);
    }
}

/// How much of each part is kept at one trimming level.
#[derive(Debug, Clone, Copy)]
struct Caps {
    title: usize,
    summary: usize,
    label: usize,
    value: usize,
    links: usize,
    link_label: usize,
    actions: usize,
    action_label: usize,
    tags: usize,
    tag: usize,
    footer: usize,
}

/// Trimming levels, tried in order until the content fits. A character of event text takes at
/// most about 9 bytes (in `body` and, escaped, in `formatted_body`) and a URL of 2,048 bytes at most
/// about 12 KB (`&` becomes `&amp;` in `href`), so the last level needs at most about 35 KB
/// whatever the message holds.
const LEVELS: [Caps; 4] = [
    Caps {
        title: MAX_TITLE_CHARS,
        summary: MAX_SUMMARY_CHARS,
        label: MAX_LABEL_CHARS,
        value: MAX_VALUE_CHARS,
        links: MAX_LINKS,
        link_label: MAX_LINK_LABEL_CHARS,
        actions: MAX_ACTIONS,
        action_label: MAX_ACTION_LABEL_CHARS,
        tags: MAX_TAGS,
        tag: MAX_TAG_CHARS,
        footer: MAX_FOOTER_CHARS,
    },
    Caps {
        title: 200,
        summary: 1_500,
        label: 60,
        value: 300,
        links: 5,
        link_label: 60,
        actions: 10,
        action_label: 50,
        tags: 10,
        tag: 30,
        footer: 150,
    },
    Caps {
        title: 150,
        summary: 500,
        label: 40,
        value: 100,
        links: 3,
        link_label: 40,
        actions: 5,
        action_label: 40,
        tags: 5,
        tag: 30,
        footer: 100,
    },
    Caps {
        title: 100,
        summary: 200,
        label: 40,
        value: 60,
        links: 1,
        link_label: 40,
        actions: 5,
        action_label: 40,
        tags: 0,
        tag: 0,
        footer: 0,
    },
];

fn severity_emoji(severity: Severity) -> &'static str {
    match severity {
        Severity::Success => "✅",
        Severity::Warning => "⚠️",
        Severity::Critical => "🚨",
        _ => "ℹ️",
    }
}

/// The cleaned title, or a stand-in when the message has none.
fn title_text(message: &ChatMessage, max_chars: usize) -> String {
    let title = one_line(&message.title, max_chars);
    if !title.is_empty() {
        return title;
    }
    match &message.source {
        Some(source) if !clean(&source.event_type, true).is_empty() => {
            one_line(&source.event_type, max_chars)
        }
        _ => "Stripe event".to_owned(),
    }
}

/// The message's links, then its link actions, as (label, URL): duplicates and URLs that are not
/// plain `https://`/`http://` dropped, at most `max`.
fn web_links(message: &ChatMessage, max: usize, max_label: usize) -> Vec<(String, String)> {
    let links = message.links.iter().map(|l| (&l.label, &l.url));
    let link_actions = message
        .actions
        .iter()
        .filter_map(|a| a.url.as_ref().map(|u| (&a.label, u)));
    let mut out: Vec<(String, String)> = Vec::new();
    for (label, url) in links.chain(link_actions) {
        if out.len() == max {
            break;
        }
        let url = url.trim();
        if !is_web_url(url) || out.iter().any(|(_, seen)| seen == url) {
            continue;
        }
        let label = one_line(label, max_label);
        let label = if label.is_empty() {
            url.to_owned()
        } else {
            label
        };
        out.push((label, url.to_owned()));
    }
    out
}

/// Single-line text cleaned and cut to `max_chars`.
fn one_line(text: &str, max_chars: usize) -> String {
    truncate(&clean(text, true), max_chars).into_owned()
}

/// Escapes text for HTML, in element content and in (quoted) attribute values alike:
/// `&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`, `"` → `&quot;`, `'` → `&#39;`.
///
/// ```
/// use stripe_chat_matrix::escape_html;
/// assert_eq!(escape_html("<script>alert('x' & \"y\")</script>"),
///     "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;");
/// ```
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Removes what must never reach a reader ([`clean_lines`]: control characters and bidirectional
/// overrides; newlines normalized to `\n`, or to spaces when `single_line`; the ends trimmed), and
/// breaks `@room` with a word joiner.
fn clean(text: &str, single_line: bool) -> String {
    let line_break = if single_line { ' ' } else { '\n' };
    defuse_room_mention(&clean_lines(text, line_break))
}

/// `@room` (any case) gets a word joiner after the `@`, so servers that predate `m.mentions` do not
/// notify the whole room.
fn defuse_room_mention(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let (before, from_at) = rest.split_at(at);
        out.push_str(before);
        out.push('@');
        let after = &from_at[1..];
        if after
            .get(..4)
            .is_some_and(|word| word.eq_ignore_ascii_case("room"))
        {
            out.push(WORD_JOINER);
        }
        rest = after;
    }
    out.push_str(rest);
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

    const HOSTILE_HTML: &str = "&lt;!channel&gt; *bold* &lt;https://evil.test|click&gt; @everyone \
        &lt;script&gt;alert(1)&lt;/script&gt; &amp; ||spoiler|| [x](https://evil.test) \
        &lt;@123456789&gt; {{DATE(2017-02-14T06:08:39Z)}}";

    fn render(message: &ChatMessage) -> Value {
        MatrixRenderer::new().render(message).expect("renders")
    }

    fn html(content: &Value) -> &str {
        content["formatted_body"].as_str().expect("formatted_body")
    }

    fn body(content: &Value) -> &str {
        content["body"].as_str().expect("body")
    }

    /// `html` without the tags this renderer writes: what is left is event text, and must hold no
    /// markup at all.
    fn text_of(html: &str) -> String {
        let mut text = html.to_owned();
        for tag in ["h4", "p", "ul", "li", "strong", "em", "a"] {
            text = text
                .replace(&format!("<{tag}>"), "")
                .replace(&format!("</{tag}>"), "");
        }
        text = text.replace("<br>", "");
        while let Some(start) = text.find("<a href=\"") {
            let end = text[start..]
                .find("\">")
                .map_or(text.len(), |e| start + e + 2);
            text.replace_range(start..end, "");
        }
        text
    }

    #[test]
    fn hostile_text_is_escaped_in_every_html_slot() {
        let short = "<b>x</b> & 'q' \"r\" <a href=x>";
        let message = ChatMessage::new(HOSTILE)
            .summary(HOSTILE)
            .field(short, HOSTILE)
            .link(short, "https://dashboard.stripe.com/x")
            .action(Action::callback(
                "a",
                short,
                ObjectRef::new(ObjectKind::Invoice, "in_1"),
            ))
            .tag(short)
            .footer(HOSTILE);
        let content = render(&message);
        let html = html(&content);
        // Title, summary, field value and footer hold all of it; the short slots their escaped form.
        assert_eq!(html.matches(HOSTILE_HTML).count(), 4, "{html}");
        let short_html = "&lt;b&gt;x&lt;/b&gt; &amp; &#39;q&#39; &quot;r&quot; &lt;a href=x&gt;";
        assert_eq!(html.matches(short_html).count(), 4, "{html}");
        let text = text_of(html);
        assert!(
            !text.contains(['<', '>', '"', '\'']),
            "markup left in {text}"
        );
        assert_eq!(body(&content).matches(HOSTILE).count(), 4);
        assert_eq!(body(&content).matches(short).count(), 4);
    }

    #[test]
    fn quotes_cannot_break_out_of_attributes() {
        let message = ChatMessage::new("t")
            .link("x", "https://e.test/?q=a'b&c=\"d\"")
            .link("y", "https://e.test/?q=a'b&c=d");
        let html = html(&render(&message)).to_owned();
        assert!(
            !html.contains("\"d\""),
            "a URL with a double quote is dropped: {html}"
        );
        assert!(
            html.contains("<a href=\"https://e.test/?q=a&#39;b&amp;c=d\">y</a>"),
            "{html}"
        );
    }

    #[test]
    fn only_web_urls_are_linked() {
        let message = ChatMessage::new("t")
            .link("js", "javascript:alert(1)")
            .link("js upper", "JAVASCRIPT:alert(1)")
            .link("data", "data:text/html;base64,PHNjcmlwdD4=")
            .link("relative", "/invoices/in_1")
            .link("protocol-relative", "//evil.test")
            .link("ok", "https://dashboard.stripe.com/invoices/in_1")
            .link("plain http", "http://example.com/a");
        let content = render(&message);
        let html = html(&content);
        assert_eq!(html.matches("<a href=").count(), 2, "{html}");
        assert!(
            !html.contains("javascript") && !html.contains("JAVASCRIPT") && !html.contains("data:")
        );
        assert!(!body(&content).contains("javascript:"));
    }

    #[test]
    fn room_mentions_are_defused_and_nobody_is_mentioned() {
        let content = render(&ChatMessage::new("Hi @room and @ROOM, from @roomba"));
        let body = body(&content);
        assert!(!body.to_ascii_lowercase().contains("@room"), "{body}");
        assert!(body.contains("@\u{2060}ROOM"));
        assert_eq!(content["m.mentions"], json!({}));
    }

    #[test]
    fn callback_actions_are_listed_as_text_and_link_actions_as_links() {
        let invoice = ObjectRef::new(ObjectKind::Invoice, "in_1");
        let message = ChatMessage::new("t")
            .action(Action::callback(
                "retry_payment",
                "Retry payment",
                invoice.clone(),
            ))
            .action(Action::callback(
                "send_dunning_email",
                "Send dunning email",
                invoice.clone(),
            ))
            .action(Action::link(
                "open",
                "Open invoice",
                invoice,
                "https://dashboard.stripe.com/invoices/in_1",
            ));
        let content = render(&message);
        assert!(body(&content).contains("Actions: Retry payment · Send dunning email"));
        assert!(
            body(&content).contains("Open invoice: https://dashboard.stripe.com/invoices/in_1")
        );
        assert!(html(&content).contains(
            "<p><a href=\"https://dashboard.stripe.com/invoices/in_1\">Open invoice</a></p>\
             <p>Actions: Retry payment · Send dunning email</p>"
        ));
    }

    #[test]
    fn many_fields_are_cut_to_the_field_limit_with_a_dashboard_link() {
        let mut message = ChatMessage::new("t").link("Invoice", "https://dashboard.stripe.com/i");
        for n in 0..120 {
            message = message.field(format!("Field {n}"), format!("value {n}"));
        }
        let content = render(&message);
        let html = html(&content);
        assert_eq!(html.matches("<li><strong>").count(), MAX_FIELDS);
        assert!(html.contains(
            "<li>… 70 more in the <a href=\"https://dashboard.stripe.com/i\">Stripe Dashboard</a></li>"
        ));
        assert!(
            body(&content)
                .contains("… 70 more in the Stripe Dashboard: https://dashboard.stripe.com/i")
        );
    }

    #[test]
    fn big_fields_are_trimmed_until_the_content_fits() {
        let mut message = ChatMessage::new("t");
        for n in 0..120 {
            message = message.field(format!("Field {n}"), "&".repeat(900));
        }
        let content = render(&message);
        assert!(serialized_len(&content) <= RENDER_BUDGET_BYTES);
        let shown = html(&content).matches("<li><strong>").count();
        assert!(shown > 1 && shown < MAX_FIELDS, "{shown} fields");
        assert!(
            body(&content).contains(&format!("… {} more in the Stripe Dashboard", 120 - shown))
        );
    }

    #[test]
    fn long_title_and_summary_are_truncated() {
        let content = render(&ChatMessage::new("T".repeat(600)).summary("S".repeat(20_000)));
        let html = html(&content);
        assert!(html.starts_with(&format!("<h4>ℹ️ {}…</h4>", "T".repeat(MAX_TITLE_CHARS - 1))));
        assert!(html.contains(&format!("<p>{}…</p>", "S".repeat(MAX_SUMMARY_CHARS - 1))));
        assert!(serialized_len(&content) <= RENDER_BUDGET_BYTES);
    }

    #[test]
    fn worst_case_text_still_fits_by_cutting_deeper() {
        let heavy = "'\"&😀".repeat(10_000);
        let url = format!("https://e.test/{}", "&".repeat(2_000));
        let mut message = ChatMessage::new(heavy.clone())
            .summary(heavy.clone())
            .footer(heavy.clone());
        for n in 0..60 {
            message = message
                .field(heavy.clone(), heavy.clone())
                .tag(heavy.clone())
                .link(heavy.clone(), format!("{url}{n}"))
                .action(Action::callback(
                    "a",
                    heavy.clone(),
                    ObjectRef::new(ObjectKind::Invoice, "in_1"),
                ));
        }
        let content = render(&message);
        assert!(
            serialized_len(&content) <= RENDER_BUDGET_BYTES,
            "{}",
            serialized_len(&content)
        );
    }

    #[test]
    fn multi_line_text_keeps_its_lines() {
        let content = render(
            &ChatMessage::new("a\nb")
                .summary("one\r\ntwo")
                .field("Address", "1 Main St\nCity"),
        );
        assert_eq!(
            body(&content),
            "ℹ️ a b\none\ntwo\n\nAddress: 1 Main St\nCity"
        );
        assert_eq!(
            html(&content),
            "<h4>ℹ️ a b</h4><p>one<br>two</p><ul><li><strong>Address</strong>: 1 Main St<br>City</li></ul>"
        );
    }

    #[test]
    fn control_characters_and_bidi_overrides_are_removed() {
        let content = render(&ChatMessage::new("in\u{0}voice\u{202E}gpj.exe"));
        assert_eq!(body(&content), "ℹ️ invoicegpj.exe");
    }

    #[test]
    fn empty_title_falls_back_to_the_event_type() {
        let message = ChatMessage::new(" ").source(Source {
            event_id: "evt_1".into(),
            event_type: "charge.refunded".into(),
            livemode: true,
        });
        assert_eq!(body(&render(&message)), "ℹ️ charge.refunded");
        assert_eq!(body(&render(&ChatMessage::new(""))), "ℹ️ Stripe event");
    }

    #[test]
    fn severity_picks_the_emoji() {
        for (severity, emoji) in [
            (Severity::Info, "ℹ️"),
            (Severity::Success, "✅"),
            (Severity::Warning, "⚠️"),
            (Severity::Critical, "🚨"),
        ] {
            assert!(body(&render(&ChatMessage::new("t").severity(severity))).starts_with(emoji));
        }
    }
}

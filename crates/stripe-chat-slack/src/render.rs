//! Pure rendering of a [`ChatMessage`] as a Slack `chat.postMessage` body (Block Kit).
//!
//! Block order: `header` (severity emoji and title), `section` (summary), `section`s of up to ten
//! `fields`, a `context` note when something was left out, a `section` of links, an `actions` block
//! of buttons, and a closing `context` (tags, footer, time).
//!
//! Limits ([`crate::limits`]) are kept by construction:
//! - every text is escaped first and then cut between escaped characters, ending with `…`;
//! - at most 25 buttons (one `actions` block): further actions are left out; a button whose URL is
//!   not `http(s)` or too long, or whose callback `value` would pass 2,000 characters, is left out;
//! - links whose URL is refused by [`escape::url`] or that no longer fit in the links section are
//!   left out;
//! - when the blocks would pass 50 or the shown text would pass
//!   [`TOTAL_TEXT_BUDGET`], fields are dropped from the end first, then the summary is shortened,
//!   and a `context` note after the last field says how many fields were left out and links to the
//!   primary link ("… 112 more fields in the Stripe Dashboard").

use serde_json::{Map, Value, json};
use stripe_chat_message::text::{clean, format_unix_utc, single_line};
use stripe_chat_message::{
    Action, ActionStyle, ChatMessage, Field, RenderError, Renderer, Severity,
};

use crate::escape::{self, mrkdwn_cut, mrkdwn_within, plain_text_within};
use crate::limits::shown_text_chars;
use crate::limits::{
    MAX_ACTION_ID, MAX_ACTIONS_ELEMENTS, MAX_BLOCKS, MAX_BUTTON_TEXT, MAX_BUTTON_VALUE,
    MAX_CONFIRM_BUTTON, MAX_CONFIRM_TEXT, MAX_CONFIRM_TITLE, MAX_CONTEXT_ITEM, MAX_FALLBACK_TEXT,
    MAX_FIELD_LABEL, MAX_FIELD_TEXT, MAX_HEADER_TEXT, MAX_SECTION_FIELDS, MAX_SECTION_TEXT,
    TOTAL_TEXT_BUDGET,
};

/// Title shown when a message has none.
const UNTITLED: &str = "Stripe event";

/// Renders [`ChatMessage`]s as `chat.postMessage` bodies.
///
/// The body is `{"channel"?, "thread_ts"?, "text", "blocks", "unfurl_links": false,
/// "unfurl_media": false}`; `text` is the notification fallback (title and summary, escaped).
/// Callback buttons carry the message's [`callback_token`](ChatMessage::callback_token) of their
/// action (`sc:<action>:<kind>:<id>[@acct_…]`, what the actions engine reads back) as both
/// `action_id` and `value`; a second button with the same token is left out (`action_id`s are
/// unique in a message). Link buttons have an `action_id` of `<action id>:<index of the action in
/// the message>`, which names no action: a click on one is acknowledged and nothing else.
/// Money-moving callback buttons ask for confirmation first (in the client only: the server
/// confirms again before acting).
///
/// ```
/// use stripe_chat_message::{ChatMessage, Renderer, Severity};
/// use stripe_chat_slack::SlackRenderer;
///
/// let renderer = SlackRenderer::new().channel("C0123456789");
/// let message = ChatMessage::new("Payment failed: Jenny Rosen").severity(Severity::Warning);
/// let body = renderer.render(&message)?;
/// assert_eq!(body["channel"], "C0123456789");
/// assert_eq!(body["blocks"][0]["text"]["text"], ":warning: Payment failed: Jenny Rosen");
/// assert_eq!(renderer.platform(), "slack");
/// # Ok::<(), stripe_chat_message::RenderError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlackRenderer {
    channel: Option<String>,
}

impl SlackRenderer {
    /// A renderer whose bodies name no channel (as for an incoming webhook, whose channel is fixed).
    ///
    /// ```
    /// use stripe_chat_message::{ChatMessage, Renderer};
    /// let body = stripe_chat_slack::SlackRenderer::new().render(&ChatMessage::new("Hi"))?;
    /// assert!(body.get("channel").is_none());
    /// # Ok::<(), stripe_chat_message::RenderError>(())
    /// ```
    pub fn new() -> Self {
        SlackRenderer::default()
    }

    /// The same renderer, putting `"channel": channel` in every body (a channel id such as
    /// `C0123456789`, as `chat.postMessage` needs).
    ///
    /// ```
    /// use stripe_chat_message::{ChatMessage, Renderer};
    /// let renderer = stripe_chat_slack::SlackRenderer::new().channel("C0123456789");
    /// assert_eq!(renderer.render(&ChatMessage::new("Hi"))?["channel"], "C0123456789");
    /// # Ok::<(), stripe_chat_message::RenderError>(())
    /// ```
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }

    /// The body for `message` as a reply in the thread of the message whose `ts` is `thread_ts`.
    ///
    /// # Errors
    /// [`RenderError::Invalid`] when `thread_ts` or the configured channel is empty.
    ///
    /// ```
    /// use stripe_chat_message::ChatMessage;
    /// let renderer = stripe_chat_slack::SlackRenderer::new().channel("C0123456789");
    /// let body = renderer.render_reply(&ChatMessage::new("Invoice paid"), "1700000000.000100")?;
    /// assert_eq!(body["thread_ts"], "1700000000.000100");
    /// assert!(renderer.render_reply(&ChatMessage::new("x"), " ").is_err());
    /// # Ok::<(), stripe_chat_message::RenderError>(())
    /// ```
    pub fn render_reply(
        &self,
        message: &ChatMessage,
        thread_ts: &str,
    ) -> Result<Value, RenderError> {
        if thread_ts.trim().is_empty() {
            return Err(RenderError::Invalid("empty Slack thread_ts".into()));
        }
        self.body(message, Some(thread_ts.trim()))
    }

    fn body(&self, message: &ChatMessage, thread_ts: Option<&str>) -> Result<Value, RenderError> {
        let mut body = Map::new();
        if let Some(channel) = &self.channel {
            let channel = channel.trim();
            if channel.is_empty() {
                return Err(RenderError::Invalid("empty Slack channel".into()));
            }
            body.insert("channel".into(), channel.into());
        }
        if let Some(ts) = thread_ts {
            body.insert("thread_ts".into(), ts.into());
        }
        body.insert("text".into(), fallback_text(message).into());
        body.insert("blocks".into(), Value::Array(blocks(message)));
        body.insert("unfurl_links".into(), false.into());
        body.insert("unfurl_media".into(), false.into());
        Ok(Value::Object(body))
    }
}

impl Renderer for SlackRenderer {
    fn platform(&self) -> &str {
        "slack"
    }

    fn display_name(&self) -> &str {
        "Slack"
    }

    fn render(&self, message: &ChatMessage) -> Result<Value, RenderError> {
        self.body(message, None)
    }

    fn validate_limits(&self, body: &Value) -> Result<(), Vec<String>> {
        crate::validate::validate_limits(body)
    }
}

/// The emoji shortcode shown before the title for a severity.
fn severity_emoji(severity: Severity) -> &'static str {
    match severity {
        Severity::Success => ":white_check_mark:",
        Severity::Warning => ":warning:",
        Severity::Critical => ":rotating_light:",
        _ => ":information_source:",
    }
}

/// The title on one line, or a stand-in when it is blank.
fn title_line(message: &ChatMessage) -> String {
    let title = clean(&single_line(&message.title)).into_owned();
    let title = title.trim();
    if title.is_empty() {
        UNTITLED.to_owned()
    } else {
        title.to_owned()
    }
}

/// The notification text: `title — summary`, escaped, on one line.
fn fallback_text(message: &ChatMessage) -> String {
    let mut text = title_line(message);
    let summary = clean(&single_line(&message.summary)).into_owned();
    let summary = summary.trim();
    if !summary.is_empty() {
        text.push_str(" — ");
        text.push_str(summary);
    }
    let out = mrkdwn_within(&text, MAX_FALLBACK_TEXT);
    if out.is_empty() {
        UNTITLED.to_owned()
    } else {
        out
    }
}

fn plain_text(text: impl Into<String>) -> Value {
    json!({ "type": "plain_text", "text": text.into(), "emoji": true })
}

fn mrkdwn_text(text: impl Into<String>) -> Value {
    json!({ "type": "mrkdwn", "text": text.into(), "verbatim": true })
}

fn section(text: String) -> Value {
    json!({ "type": "section", "text": mrkdwn_text(text) })
}

fn header_block(message: &ChatMessage) -> Value {
    let text = format!(
        "{} {}",
        severity_emoji(message.severity),
        title_line(message)
    );
    json!({ "type": "header", "text": plain_text(plain_text_within(&text, MAX_HEADER_TEXT)) })
}

/// `*Label*\nvalue`, escaped, within [`MAX_FIELD_TEXT`]; just the value when the label is blank.
fn field_text(field: &Field) -> String {
    let label = mrkdwn_within(clean(&single_line(&field.label)).trim(), MAX_FIELD_LABEL);
    let head = if label.is_empty() {
        String::new()
    } else {
        format!("*{label}*\n")
    };
    let room = MAX_FIELD_TEXT - head.chars().count();
    let mut value = mrkdwn_within(clean(&field.value).trim(), room);
    if value.is_empty() {
        value = "—".to_owned();
    }
    head + &value
}

fn field_sections(texts: &[String]) -> Vec<Value> {
    texts
        .chunks(MAX_SECTION_FIELDS)
        .map(|chunk| {
            let fields: Vec<Value> = chunk.iter().map(|t| mrkdwn_text(t.clone())).collect();
            json!({ "type": "section", "fields": fields })
        })
        .collect()
}

fn links_block(message: &ChatMessage) -> Option<Value> {
    const SEPARATOR: &str = "  ·  ";
    let mut text = String::new();
    let mut used = 0;
    for link in &message.links {
        let Some(link) = escape::link(&link.url, &link.label) else {
            continue;
        };
        let sep = if text.is_empty() { "" } else { SEPARATOR };
        let len = sep.chars().count() + link.chars().count();
        if used + len > MAX_SECTION_TEXT {
            continue;
        }
        text.push_str(sep);
        text.push_str(&link);
        used += len;
    }
    (!text.is_empty()).then(|| section(text))
}

fn button_style(style: ActionStyle) -> Option<&'static str> {
    match style {
        ActionStyle::Primary => Some("primary"),
        ActionStyle::Danger => Some("danger"),
        _ => None,
    }
}

/// A button for `action`, the `index`-th action of `message`; `None` when it cannot be sent.
fn button(message: &ChatMessage, index: usize, action: &Action) -> Option<Value> {
    let mut label = plain_text_within(clean(&single_line(&action.label)).trim(), MAX_BUTTON_TEXT);
    if label.is_empty() {
        label = plain_text_within(clean(&single_line(&action.id)).trim(), MAX_BUTTON_TEXT);
    }
    if label.is_empty() {
        label = "Open".to_owned();
    }
    let mut button = Map::new();
    button.insert("type".into(), "button".into());
    button.insert("text".into(), plain_text(label.clone()));
    match &action.url {
        Some(url) => {
            let suffix = format!(":{index}");
            let id_room = MAX_ACTION_ID.saturating_sub(suffix.len());
            let action_id: String = action
                .id
                .chars()
                .take(id_room)
                .chain(suffix.chars())
                .collect();
            button.insert("action_id".into(), action_id.into());
            button.insert("url".into(), escape::url(url)?.into());
        }
        None => {
            let token = message.callback_token(action);
            if token.chars().count() > MAX_ACTION_ID.min(MAX_BUTTON_VALUE) {
                return None;
            }
            button.insert("action_id".into(), token.clone().into());
            button.insert("value".into(), token.into());
            if action.moves_money {
                button.insert("confirm".into(), confirm_dialog(action, &label));
            }
        }
    }
    if let Some(style) = button_style(action.style) {
        button.insert("style".into(), style.into());
    }
    Some(Value::Object(button))
}

/// The confirmation dialog of a money-moving callback button labelled `label`.
fn confirm_dialog(action: &Action, label: &str) -> Value {
    let text = format!("{label}: this moves money ({}).", action.target);
    json!({
        "title": plain_text(plain_text_within("Are you sure?", MAX_CONFIRM_TITLE)),
        "text": plain_text(plain_text_within(&text, MAX_CONFIRM_TEXT)),
        "confirm": plain_text(plain_text_within(label, MAX_CONFIRM_BUTTON)),
        "deny": plain_text(plain_text_within("Cancel", MAX_CONFIRM_BUTTON)),
        "style": "danger",
    })
}

fn actions_block(message: &ChatMessage) -> Option<Value> {
    let mut action_ids = std::collections::HashSet::new();
    let elements: Vec<Value> = message
        .actions
        .iter()
        .enumerate()
        .filter_map(|(index, action)| button(message, index, action))
        .filter(|button| action_ids.insert(button["action_id"].as_str().map(str::to_owned)))
        .take(MAX_ACTIONS_ELEMENTS)
        .collect();
    (!elements.is_empty()).then(|| json!({ "type": "actions", "elements": elements }))
}

fn context_block(message: &ChatMessage) -> Option<Value> {
    let mut elements = Vec::new();
    let tags: Vec<String> = message
        .tags
        .iter()
        .map(|t| clean(&single_line(t)).trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    let tags = mrkdwn_within(&tags.join(" · "), MAX_CONTEXT_ITEM);
    if !tags.is_empty() {
        elements.push(mrkdwn_text(tags));
    }
    if let Some(footer) = &message.footer {
        let footer = mrkdwn_within(clean(footer).trim(), MAX_CONTEXT_ITEM);
        if !footer.is_empty() {
            elements.push(mrkdwn_text(footer));
        }
    }
    if let Some(ts) = message.timestamp {
        elements.push(mrkdwn_text(format_unix_utc(ts)));
    }
    (!elements.is_empty()).then(|| json!({ "type": "context", "elements": elements }))
}

/// The note saying what was left out, linking to the primary link when it can.
fn trim_note(message: &ChatMessage, omitted_fields: usize, summary_cut: bool) -> Option<Value> {
    let primary = message.primary_link();
    let is_dashboard = primary.is_some_and(|l| {
        let url = l.url.trim().to_ascii_lowercase();
        url.starts_with("https://dashboard.stripe.com/") || url == "https://dashboard.stripe.com"
    });
    let dashboard_link = primary.and_then(|l| escape::link(&l.url, "Stripe Dashboard"));
    let other_link = primary.and_then(|l| escape::link(&l.url, &l.label));
    let text = match (omitted_fields, is_dashboard, dashboard_link, other_link) {
        (0, _, _, _) if !summary_cut => return None,
        (0, true, Some(link), _) => format!("Full details in the {link}"),
        (0, _, _, Some(link)) => format!("Full details: {link}"),
        (0, _, _, None) => return None,
        (n, true, Some(link), _) => format!("… {n} more {} in the {link}", fields_word(n)),
        (n, _, _, Some(link)) => format!("… {n} more {}: {link}", fields_word(n)),
        (n, _, _, None) => format!("… {n} more {} not shown", fields_word(n)),
    };
    Some(json!({ "type": "context", "elements": [mrkdwn_text(text)] }))
}

fn fields_word(n: usize) -> &'static str {
    if n == 1 { "field" } else { "fields" }
}

/// All blocks of `message`, within Slack's limits and [`TOTAL_TEXT_BUDGET`].
fn blocks(message: &ChatMessage) -> Vec<Value> {
    let header = header_block(message);
    let tail: Vec<Value> = [
        links_block(message),
        actions_block(message),
        context_block(message),
    ]
    .into_iter()
    .flatten()
    .collect();
    let fixed_blocks = 1 + tail.len();
    let fixed_text = shown_text_chars(&header) + tail.iter().map(shown_text_chars).sum::<usize>();

    let summary_source = clean(&message.summary);
    let summary_source = summary_source.trim();
    let (mut summary, mut summary_cut) = mrkdwn_cut(summary_source, MAX_SECTION_TEXT);
    let field_texts: Vec<String> = message.fields.iter().map(field_text).collect();
    let field_lens: Vec<usize> = field_texts.iter().map(|t| t.chars().count()).collect();
    let sections_for = |n: usize| n.div_ceil(MAX_SECTION_FIELDS);
    let summary_blocks = |s: &str| usize::from(!s.is_empty());

    // One block is always kept free for a possible note.
    let all_fit = fixed_blocks + summary_blocks(&summary) + sections_for(field_texts.len())
        < MAX_BLOCKS
        && fixed_text + summary.chars().count() + field_lens.iter().sum::<usize>()
            <= TOTAL_TEXT_BUDGET;
    let shown = if all_fit {
        field_texts.len()
    } else {
        // Reserve room for the note, then keep fields from the start while they fit.
        let note_reserve = trim_note(message, field_texts.len(), true)
            .as_ref()
            .map_or(0, shown_text_chars);
        let text_room =
            TOTAL_TEXT_BUDGET.saturating_sub(fixed_text + summary.chars().count() + note_reserve);
        let block_room = MAX_BLOCKS.saturating_sub(fixed_blocks + summary_blocks(&summary) + 1);
        let mut used = 0;
        let mut shown = 0;
        for len in &field_lens {
            if used + len > text_room || sections_for(shown + 1) > block_room {
                break;
            }
            used += len;
            shown += 1;
        }
        shown
    };
    let fields = field_sections(&field_texts[..shown]);
    let fields_text: usize = field_lens[..shown].iter().sum();

    // Shorten the summary until everything fits (only needed when the note does not fit beside it).
    let mut note = trim_note(message, field_texts.len() - shown, summary_cut);
    loop {
        let note_text = note.as_ref().map_or(0, shown_text_chars);
        let total = fixed_text + fields_text + note_text + summary.chars().count();
        if total <= TOTAL_TEXT_BUDGET || summary.is_empty() {
            break;
        }
        let room = summary
            .chars()
            .count()
            .saturating_sub(total - TOTAL_TEXT_BUDGET);
        summary = mrkdwn_cut(summary_source, room).0;
        summary_cut = true;
        note = trim_note(message, field_texts.len() - shown, summary_cut);
    }

    let mut blocks = Vec::with_capacity(fixed_blocks + fields.len() + 2);
    blocks.push(header);
    if !summary.is_empty() {
        blocks.push(section(summary));
    }
    blocks.extend(fields);
    blocks.extend(note);
    blocks.extend(tail);
    blocks
}

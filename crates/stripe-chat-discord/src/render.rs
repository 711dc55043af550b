//! Pure rendering of a [`ChatMessage`] as a Discord execute-webhook body.
//!
//! The body is one embed — title, description (summary, a note when something was left out, the
//! links and the tags), `url` (the primary link), `color` (by severity), fields, footer and
//! timestamp — plus action rows of buttons and `"allowed_mentions": {"parse": []}`.
//!
//! Limits ([`crate::limits`]) are kept by construction:
//! - every text is escaped first and then cut between escaped characters, ending with `…`;
//! - at most 25 fields; when the embed would pass [`MAX_EMBED_TOTAL`] characters, fields are dropped
//!   from the end first, then the summary is shortened, and the description ends with a note
//!   saying how many fields were left out, linking to the primary link;
//! - at most 5 rows of 5 buttons; further actions are left out, as are link buttons whose URL is
//!   not `http(s)` or longer than 512, callback buttons when the renderer is not
//!   [`interactive`](DiscordRenderer::interactive), and callback buttons whose `custom_id`
//!   (`sc:<action>:<kind>:<id>[@acct_…]`) would pass 100 characters or repeat an earlier one.

use std::collections::HashSet;

use serde_json::{Map, Value, json};
use stripe_chat_message::text::{clean, format_rfc3339, single_line};
use stripe_chat_message::{
    Action, ActionStyle, ChatMessage, Field, RenderError, Renderer, Severity,
};

use crate::escape::{self, markdown_cut, markdown_within, plain_within};
use crate::limits::{
    INLINE_VALUE_MAX, MAX_ACTION_ROWS, MAX_BUTTON_LABEL, MAX_BUTTONS_PER_ROW, MAX_CUSTOM_ID,
    MAX_DESCRIPTION, MAX_EMBED_TOTAL, MAX_FIELD_NAME, MAX_FIELD_VALUE, MAX_FIELDS, MAX_FOOTER_TEXT,
    MAX_LINKS_TEXT, MAX_TAGS_TEXT, MAX_TITLE, MAX_URL, MAX_USERNAME,
};

/// Title shown when a message has none.
const UNTITLED: &str = "Stripe event";

/// Stand-in for an empty field name or value, which Discord refuses.
const EMPTY: &str = "—";

/// Renders [`ChatMessage`]s as Discord execute-webhook bodies
/// (`POST /api/webhooks/{id}/{token}`).
///
/// Link buttons need `?with_components=true` on the request when the webhook is not owned by an
/// application. Callback buttons (style 1 primary, 2 secondary, 4 danger) carry the message's
/// [`callback_token`](ChatMessage::callback_token) of their action as `custom_id`
/// (`sc:<action>:<kind>:<id>[@acct_…]`, left out when longer than Discord's 100 characters); they are only sent when the renderer is
/// [`interactive`](DiscordRenderer::interactive), i.e. the webhook belongs to an application whose
/// interactions endpoint handles them. Discord buttons have no confirmation dialog: the interaction
/// handler must confirm money-moving actions itself.
///
/// ```
/// use stripe_chat_message::{ChatMessage, Renderer, Severity};
/// use stripe_chat_discord::DiscordRenderer;
///
/// let renderer = DiscordRenderer::new().username("Stripe");
/// let body = renderer.render(&ChatMessage::new("Invoice paid: Jenny Rosen").severity(Severity::Success))?;
/// assert_eq!(body["embeds"][0]["title"], "Invoice paid: Jenny Rosen");
/// assert_eq!(body["embeds"][0]["color"], 0x2ECC71);
/// assert_eq!(body["allowed_mentions"], serde_json::json!({ "parse": [] }));
/// assert_eq!(renderer.platform(), "discord");
/// # Ok::<(), stripe_chat_message::RenderError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscordRenderer {
    username: Option<String>,
    avatar_url: Option<String>,
    interactive: bool,
}

impl DiscordRenderer {
    /// A renderer using the webhook's own name and avatar, sending link buttons only.
    ///
    /// ```
    /// use stripe_chat_message::{ChatMessage, Renderer};
    /// let body = stripe_chat_discord::DiscordRenderer::new().render(&ChatMessage::new("Hi"))?;
    /// assert!(body.get("username").is_none());
    /// # Ok::<(), stripe_chat_message::RenderError>(())
    /// ```
    pub fn new() -> Self {
        DiscordRenderer::default()
    }

    /// The same renderer, overriding the webhook's name with `username` (cut to 80 characters).
    ///
    /// ```
    /// use stripe_chat_message::{ChatMessage, Renderer};
    /// let renderer = stripe_chat_discord::DiscordRenderer::new().username("Stripe");
    /// assert_eq!(renderer.render(&ChatMessage::new("Hi"))?["username"], "Stripe");
    /// # Ok::<(), stripe_chat_message::RenderError>(())
    /// ```
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// The same renderer, overriding the webhook's avatar with the image at `avatar_url`
    /// (`http(s)` only).
    ///
    /// ```
    /// use stripe_chat_message::{ChatMessage, Renderer};
    /// let renderer = stripe_chat_discord::DiscordRenderer::new().avatar_url("https://example.com/a.png");
    /// assert_eq!(renderer.render(&ChatMessage::new("Hi"))?["avatar_url"], "https://example.com/a.png");
    /// # Ok::<(), stripe_chat_message::RenderError>(())
    /// ```
    pub fn avatar_url(mut self, avatar_url: impl Into<String>) -> Self {
        self.avatar_url = Some(avatar_url.into());
        self
    }

    /// The same renderer, sending callback buttons (`interactive = true`) or only link buttons
    /// (`false`, the default). Only a webhook owned by an application can send callback buttons.
    ///
    /// ```
    /// use stripe_chat_message::{Action, ChatMessage, ObjectKind, ObjectRef, Renderer};
    /// use stripe_chat_discord::DiscordRenderer;
    /// let message = ChatMessage::new("Dispute opened")
    ///     .action(Action::callback("add_evidence", "Add evidence", ObjectRef::new(ObjectKind::Dispute, "dp_1")));
    /// assert!(DiscordRenderer::new().render(&message)?.get("components").is_none());
    /// let body = DiscordRenderer::new().interactive(true).render(&message)?;
    /// assert_eq!(body["components"][0]["components"][0]["custom_id"], "sc:add_evidence:dispute:dp_1");
    /// # Ok::<(), stripe_chat_message::RenderError>(())
    /// ```
    pub fn interactive(mut self, interactive: bool) -> Self {
        self.interactive = interactive;
        self
    }

    fn body(&self, message: &ChatMessage) -> Result<Value, RenderError> {
        let mut body = Map::new();
        body.insert("content".into(), "".into());
        if let Some(username) = &self.username {
            let username = plain_within(clean(&single_line(username)).trim(), MAX_USERNAME);
            if username.is_empty() {
                return Err(RenderError::Invalid("empty Discord username".into()));
            }
            body.insert("username".into(), username.into());
        }
        if let Some(avatar_url) = &self.avatar_url {
            let Some(url) = escape::url(avatar_url, MAX_URL) else {
                return Err(RenderError::Invalid(
                    "Discord avatar_url is not an http(s) URL of at most 512 characters".into(),
                ));
            };
            body.insert("avatar_url".into(), url.into());
        }
        body.insert("embeds".into(), json!([embed(message)]));
        let rows = action_rows(message, self.interactive);
        if !rows.is_empty() {
            body.insert("components".into(), Value::Array(rows));
        }
        body.insert("allowed_mentions".into(), json!({ "parse": [] }));
        Ok(Value::Object(body))
    }
}

impl Renderer for DiscordRenderer {
    fn platform(&self) -> &str {
        "discord"
    }

    fn display_name(&self) -> &str {
        "Discord"
    }

    fn render(&self, message: &ChatMessage) -> Result<Value, RenderError> {
        self.body(message)
    }

    fn validate_limits(&self, body: &Value) -> Result<(), Vec<String>> {
        crate::validate::validate_limits(body)
    }
}

/// The embed colour of a severity.
fn severity_color(severity: Severity) -> u32 {
    match severity {
        Severity::Success => 0x2E_CC_71,
        Severity::Warning => 0xF1_C4_0F,
        Severity::Critical => 0xE7_4C_3C,
        _ => 0x58_65_F2,
    }
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// One field: name and value escaped (`—` when empty), inline when the value is short.
fn field(field: &Field) -> (String, String, bool) {
    // Clean before trimming: control characters around spaces must not leave a blank name.
    let mut name = markdown_within(clean(&single_line(&field.label)).trim(), MAX_FIELD_NAME);
    if name.trim().is_empty() {
        name = EMPTY.to_owned();
    }
    let cleaned = clean(&field.value);
    let source = cleaned.trim();
    let mut value = markdown_within(source, MAX_FIELD_VALUE);
    if value.trim().is_empty() {
        value = EMPTY.to_owned();
    }
    let inline = chars(source) <= INLINE_VALUE_MAX && !source.contains('\n');
    (name, value, inline)
}

/// The links line: masked links joined by ` · `, within [`MAX_LINKS_TEXT`].
fn links_line(message: &ChatMessage) -> String {
    const SEPARATOR: &str = " · ";
    let mut line = String::new();
    let mut used = 0;
    for link in &message.links {
        let Some(link) = escape::masked_link(&link.url, &link.label, MAX_URL) else {
            continue;
        };
        let sep = if line.is_empty() { "" } else { SEPARATOR };
        let len = chars(sep) + chars(&link);
        if used + len > MAX_LINKS_TEXT {
            continue;
        }
        line.push_str(sep);
        line.push_str(&link);
        used += len;
    }
    line
}

/// The tags line: `Tags: a · b`, escaped, within [`MAX_TAGS_TEXT`].
fn tags_line(message: &ChatMessage) -> String {
    let tags: Vec<String> = message
        .tags
        .iter()
        .map(|t| clean(&single_line(t)).trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    if tags.is_empty() {
        return String::new();
    }
    markdown_within(&format!("Tags: {}", tags.join(" · ")), MAX_TAGS_TEXT)
}

/// The note saying what was left out, linking to the primary link when it can.
fn trim_note(message: &ChatMessage, omitted_fields: usize, summary_cut: bool) -> Option<String> {
    let primary = message.primary_link();
    let is_dashboard = primary.is_some_and(|l| {
        let url = l.url.trim().to_ascii_lowercase();
        url.starts_with("https://dashboard.stripe.com/") || url == "https://dashboard.stripe.com"
    });
    let dashboard_link =
        primary.and_then(|l| escape::masked_link(&l.url, "Stripe Dashboard", MAX_URL));
    let other_link = primary.and_then(|l| escape::masked_link(&l.url, &l.label, MAX_URL));
    let word = if omitted_fields == 1 {
        "field"
    } else {
        "fields"
    };
    Some(
        match (omitted_fields, is_dashboard, dashboard_link, other_link) {
            (0, _, _, _) if !summary_cut => return None,
            (0, true, Some(link), _) => format!("Full details in the {link}"),
            (0, _, _, Some(link)) => format!("Full details: {link}"),
            (0, _, _, None) => return None,
            (n, true, Some(link), _) => format!("… {n} more {word} in the {link}"),
            (n, _, _, Some(link)) => format!("… {n} more {word}: {link}"),
            (n, _, _, None) => format!("… {n} more {word} not shown"),
        },
    )
}

/// The description: non-empty parts separated by blank lines.
fn join_description(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn embed(message: &ChatMessage) -> Value {
    let title = single_line(&message.title);
    let mut title = markdown_within(title.trim(), MAX_TITLE);
    if title.is_empty() {
        title = UNTITLED.to_owned();
    }
    let footer = message
        .footer
        .as_deref()
        .map(|f| plain_within(f.trim(), MAX_FOOTER_TEXT))
        .filter(|f| !f.is_empty());
    let fixed = chars(&title) + footer.as_deref().map_or(0, chars);

    let links = links_line(message);
    let tags = tags_line(message);
    let tail = [links.as_str(), tags.as_str()]
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    let summary_source = message.summary.trim();
    let summary_room = MAX_DESCRIPTION.saturating_sub(chars(&tail) + 2);
    let (mut summary, mut summary_cut) = markdown_cut(summary_source, summary_room);

    let fields: Vec<(String, String, bool)> = message.fields.iter().map(field).collect();
    let field_lens: Vec<usize> = fields.iter().map(|(n, v, _)| chars(n) + chars(v)).collect();
    let all_fit = fields.len() <= MAX_FIELDS
        && fixed + chars(&join_description(&[&summary, &tail])) + field_lens.iter().sum::<usize>()
            <= MAX_EMBED_TOTAL;
    let shown = if all_fit {
        fields.len()
    } else {
        // Reserve room for the note, then keep fields from the start while they fit.
        let note = trim_note(message, fields.len(), true).unwrap_or_default();
        let room = MAX_EMBED_TOTAL
            .saturating_sub(fixed + chars(&join_description(&[&summary, &note, &tail])));
        let mut used = 0;
        let mut shown = 0;
        for len in field_lens.iter().take(MAX_FIELDS) {
            if used + len > room {
                break;
            }
            used += len;
            shown += 1;
        }
        shown
    };
    let fields_text: usize = field_lens[..shown].iter().sum();

    // Shorten the summary until the description and the whole embed fit.
    let mut note = trim_note(message, fields.len() - shown, summary_cut).unwrap_or_default();
    let description = loop {
        let text = join_description(&[&summary, &note, &tail]);
        let len = chars(&text);
        let over = (fixed + len + fields_text)
            .saturating_sub(MAX_EMBED_TOTAL)
            .max(len.saturating_sub(MAX_DESCRIPTION));
        if over == 0 || summary.is_empty() {
            break text;
        }
        let room = chars(&summary).saturating_sub(over);
        summary = markdown_cut(summary_source, room).0;
        summary_cut = true;
        note = trim_note(message, fields.len() - shown, summary_cut).unwrap_or_default();
    };

    let mut embed = Map::new();
    embed.insert("title".into(), title.into());
    if !description.is_empty() {
        embed.insert("description".into(), description.into());
    }
    if let Some(url) = message
        .primary_link()
        .and_then(|l| escape::url(&l.url, MAX_URL))
    {
        embed.insert("url".into(), url.into());
    }
    embed.insert("color".into(), severity_color(message.severity).into());
    if shown > 0 {
        let fields: Vec<Value> = fields[..shown]
            .iter()
            .map(|(name, value, inline)| json!({ "name": name, "value": value, "inline": inline }))
            .collect();
        embed.insert("fields".into(), Value::Array(fields));
    }
    if let Some(footer) = footer {
        embed.insert("footer".into(), json!({ "text": footer }));
    }
    if let Some(ts) = message.timestamp {
        embed.insert("timestamp".into(), format_rfc3339(ts).into());
    }
    Value::Object(embed)
}

fn button_style(style: ActionStyle) -> u8 {
    match style {
        ActionStyle::Primary => 1,
        ActionStyle::Danger => 4,
        _ => 2,
    }
}

/// A button for `action`; `None` when it cannot or may not be sent.
fn button(
    message: &ChatMessage,
    action: &Action,
    interactive: bool,
    custom_ids: &mut HashSet<String>,
) -> Option<Value> {
    let mut label = plain_within(clean(&single_line(&action.label)).trim(), MAX_BUTTON_LABEL);
    if label.trim().is_empty() {
        label = plain_within(clean(&single_line(&action.id)).trim(), MAX_BUTTON_LABEL);
    }
    if label.trim().is_empty() {
        label = "Open".to_owned();
    }
    match &action.url {
        Some(url) => {
            let url = escape::url(url, MAX_URL)?;
            Some(json!({ "type": 2, "style": 5, "label": label, "url": url }))
        }
        None if interactive => {
            let custom_id = message.callback_token(action);
            if chars(&custom_id) > MAX_CUSTOM_ID || !custom_ids.insert(custom_id.clone()) {
                return None;
            }
            let style = button_style(action.style);
            Some(json!({ "type": 2, "style": style, "label": label, "custom_id": custom_id }))
        }
        None => None,
    }
}

fn action_rows(message: &ChatMessage, interactive: bool) -> Vec<Value> {
    let mut custom_ids = HashSet::new();
    let buttons: Vec<Value> = message
        .actions
        .iter()
        .filter_map(|action| button(message, action, interactive, &mut custom_ids))
        .take(MAX_ACTION_ROWS * MAX_BUTTONS_PER_ROW)
        .collect();
    buttons
        .chunks(MAX_BUTTONS_PER_ROW)
        .map(|row| json!({ "type": 1, "components": row }))
        .collect()
}

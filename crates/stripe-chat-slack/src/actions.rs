//! Acting from Slack: a verified [`SlackInteraction`] handed to the actions engine as a
//! [`Click`], what Slack gets back within its 3 seconds, and a [`Responder`] that speaks
//! afterwards (privately through the interaction's `response_url`, on the message for everyone
//! with `chat.update`).
//!
//! - A button of a message (`block_actions`) is a [`Click`] whose intent is read from the
//!   button's `action_id` ([`Intent::parse`]); the interaction id is the payload's `trigger_id`
//!   (one per click), the identity its `user.team_id`/`user.id`, the message its channel and `ts`.
//!   A button of a private prompt (confirm, cancel) carries in its `value` the channel and `ts`
//!   of the message the prompt is about, so that the outcome updates that message.
//! - [`Immediate::Ack`] is an empty 200 (Slack shows nothing on a `block_actions` answer's body);
//!   [`Immediate::Tell`] is an empty 200 too, and the notice goes to the `response_url` right after;
//!   [`Immediate::Form`] opens a modal with `views.open` and the click's `trigger_id` (valid for
//!   3 seconds), whose submission (`view_submission`) comes back as [`Intent::Submit`].
//! - [`SlackResponder::tell`] posts an ephemeral message (`response_type: ephemeral`) with the
//!   notice's buttons to the `response_url` (or `chat.postEphemeral` when there is none, after a
//!   modal); [`SlackResponder::update`] edits the message with `chat.update`, keeping its blocks
//!   and buttons and putting ONE status block at the end (replacing an earlier one).
//!
//! ```
//! use stripe_chat_actions::Intent;
//! use stripe_chat_slack::actions::click;
//! use stripe_chat_slack::interaction::SlackInteraction;
//! let payload = serde_json::json!({
//!     "type": "block_actions", "trigger_id": "1337.42.abcd",
//!     "user": { "id": "U0123ABCD", "team_id": "T0123ABCD", "username": "ana" },
//!     "channel": { "id": "C0123" }, "message": { "ts": "1700000000.000100", "blocks": [] },
//!     "response_url": "https://hooks.slack.com/actions/T0123ABCD/1/x",
//!     "actions": [{ "action_id": "sc:retry_payment:invoice:in_1", "value": "sc:retry_payment:invoice:in_1" }]
//! });
//! let body = serde_urlencoded::to_string([("payload", payload.to_string())])?;
//! let interaction = SlackInteraction::parse(body.as_bytes())?;
//! let click = click(&interaction).expect("a click of ours");
//! assert_eq!(click.interaction_id, "slack:T0123ABCD:1337.42.abcd");
//! assert_eq!(click.identity.to_string(), "slack T0123ABCD/U0123ABCD");
//! assert_eq!((click.message.channel.as_deref(), click.message.id.as_str()), (Some("C0123"), "1700000000.000100"));
//! assert!(matches!(click.intent, Intent::Press { .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use stripe_chat_actions::{
    Actions, Click, Form, Identity, Immediate, Intent, Notice, PromptButton, RespondError,
    Responder, StatusLine,
};
use stripe_chat_message::text::{clean, single_line};
use stripe_chat_message::{ActionStyle, ChatProvider, IdempotencyKey, MessageRef, async_trait};

use crate::SlackProvider;
use crate::escape::{mrkdwn_within, plain_text_within};
use crate::interaction::{BlockAction, SlackInteraction, ViewSubmission};
use crate::limits::{MAX_BLOCKS, MAX_BUTTON_TEXT, MAX_CONTEXT_ITEM, MAX_SECTION_TEXT};

const PLATFORM: &str = "slack";
/// The `block_id` of the status line's context block (and, with `_buttons`, of its buttons).
///
/// ```
/// use stripe_chat_actions::StatusLine;
/// use stripe_chat_message::MessageRef;
/// let blocks = stripe_chat_slack::actions::with_status(Vec::new(), &StatusLine::new("Assigned to bo"), &MessageRef::new("slack", "17.1"));
/// assert_eq!(blocks[0]["block_id"], stripe_chat_slack::actions::STATUS_BLOCK);
/// ```
pub const STATUS_BLOCK: &str = "sc_status";
const STATUS_BUTTONS: &str = "sc_status_buttons";
/// How long `views.open` may take: the trigger dies 3 seconds after the click.
const TRIGGER_WINDOW: Duration = Duration::from_millis(2500);
/// Slack's longest modal title.
const MAX_MODAL_TITLE: usize = 24;
/// Slack's longest `private_metadata`.
const MAX_PRIVATE_METADATA: usize = 3000;

/// The [`Click`] a verified interaction asks for; `None` for anything that is not one of ours
/// (a link button, a closed modal, an unknown token): acknowledge it and do nothing.
///
/// ```
/// use stripe_chat_slack::interaction::SlackInteraction;
/// assert!(stripe_chat_slack::actions::click(&SlackInteraction::Other { kind: "view_closed".into() }).is_none());
/// ```
pub fn click(interaction: &SlackInteraction) -> Option<Click> {
    match interaction {
        SlackInteraction::BlockAction(action) => block_click(action),
        SlackInteraction::ViewSubmission(view) => submit_click(view),
        _ => None,
    }
}

fn block_click(action: &BlockAction) -> Option<Click> {
    let intent = Intent::parse(action.action_id.trim())?;
    let on_prompt = matches!(
        intent,
        Intent::Confirm { .. } | Intent::Approve { .. } | Intent::Cancel { .. }
    ) && action.ephemeral;
    let message = if on_prompt {
        // A private prompt: its buttons name the message they are about.
        let (channel, ts) = action.value.as_deref().and_then(message_of_value)?;
        MessageRef::new(PLATFORM, ts).in_channel(channel)
    } else {
        let ts = action.message_ts.as_deref()?;
        let mut message = MessageRef::new(PLATFORM, ts);
        if let Some(channel) = &action.channel {
            message = message.in_channel(channel.clone());
        }
        message
    };
    let id = action
        .action_ts
        .as_deref()
        .filter(|_| action.trigger_id.is_empty())
        .unwrap_or(&action.trigger_id);
    if id.is_empty() {
        return None;
    }
    Some(Click {
        interaction_id: format!("slack:{}:{id}", action.user.team_id),
        identity: Identity::slack(&action.user.team_id, &action.user.user_id),
        display_name: action.user.name.clone(),
        message,
        intent,
    })
}

fn submit_click(view: &ViewSubmission) -> Option<Click> {
    let Some(Intent::Press {
        action,
        target,
        account,
    }) = Intent::parse(view.callback_id.trim())
    else {
        return None;
    };
    let (channel, ts) = message_of_value(&view.private_metadata)?;
    // `block_id.action_id`: both are the field's id.
    let fields: BTreeMap<String, String> = view
        .values
        .iter()
        .filter_map(|(key, value)| {
            let (block, action) = key.split_once('.')?;
            (block == action).then(|| (block.to_owned(), value.clone()))
        })
        .collect();
    let id = view.trigger_id.as_deref().unwrap_or(&view.view_id);
    if id.is_empty() {
        return None;
    }
    Some(Click {
        interaction_id: format!("slack:{}:{id}", view.user.team_id),
        identity: Identity::slack(&view.user.team_id, &view.user.user_id),
        display_name: view.user.name.clone(),
        message: MessageRef::new(PLATFORM, ts).in_channel(channel),
        intent: Intent::Submit {
            action,
            target,
            account,
            fields,
        },
    })
}

/// `C0123 1700000000.000100` → (`C0123`, `1700000000.000100`).
fn message_of_value(value: &str) -> Option<(String, String)> {
    let (channel, ts) = value.trim().split_once(' ')?;
    let word = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.');
    (word(channel) && word(ts)).then(|| (channel.to_owned(), ts.to_owned()))
}

fn value_of_message(message: &MessageRef) -> String {
    format!(
        "{} {}",
        message.channel.as_deref().unwrap_or(""),
        message.id
    )
}

/// What to answer Slack's HTTP request with: always 200, with this body (`None`: empty).
///
/// ```
/// let a = stripe_chat_slack::actions::SlackAnswer { body: None };
/// assert!(a.body.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackAnswer {
    /// The JSON body, for a `view_submission` (`response_action`); `None` for an empty 200.
    pub body: Option<Value>,
}

/// Handles one verified interaction: hands its [`Click`] to `actions`, gives the engine a
/// [`SlackResponder`] over `slack` (a bot-mode provider: its token and HTTP client), and answers
/// at once; a notice to tell and a modal to open go out in tasks of their own (the modal within
/// its trigger's 3 seconds).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// use std::sync::Arc;
/// use stripe_chat_actions::{Actions, Click, Immediate, Responder};
/// use stripe_chat_message::Secret;
/// use stripe_chat_slack::{SlackProvider, actions::dispatch, interaction::SlackInteraction};
/// struct Nothing;
/// #[stripe_chat_message::async_trait]
/// impl Actions for Nothing {
///     async fn handle(&self, _: Click, _: Arc<dyn Responder>) -> Immediate { Immediate::Ack }
/// }
/// let slack = Arc::new(SlackProvider::bot(Secret::new("xoxb-1"), "C1"));
/// let answer = dispatch(&Nothing, slack, SlackInteraction::Other { kind: "view_closed".into() }).await;
/// assert!(answer.body.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(()) })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn dispatch(
    actions: &dyn Actions,
    slack: Arc<SlackProvider>,
    interaction: SlackInteraction,
) -> SlackAnswer {
    let Some(click) = click(&interaction) else {
        return SlackAnswer { body: None };
    };
    let responder = Arc::new(SlackResponder::new(slack.clone(), &interaction, &click));
    let immediate = actions.handle(click.clone(), responder.clone()).await;
    match (immediate, &interaction) {
        (Immediate::Tell(notice), SlackInteraction::ViewSubmission(view)) => {
            // The modal stays open and shows why, under its first field.
            let field = view
                .values
                .keys()
                .next()
                .and_then(|k| k.split_once('.'))
                .map(|(block, _)| block.to_owned());
            match field {
                Some(block) => SlackAnswer {
                    body: Some(json!({
                        "response_action": "errors",
                        "errors": { block: plain_text_within(&notice.text, 150) },
                    })),
                },
                None => {
                    spawn_tell(responder, notice);
                    SlackAnswer { body: None }
                }
            }
        }
        (Immediate::Tell(notice), _) => {
            spawn_tell(responder, notice);
            SlackAnswer { body: None }
        }
        (Immediate::Form(form), SlackInteraction::BlockAction(action)) => {
            let view = modal(&form, &click.message);
            let trigger_id = action.trigger_id.clone();
            tokio::spawn(async move {
                let opened = tokio::time::timeout(
                    TRIGGER_WINDOW,
                    slack.web_api(
                        "views.open",
                        &json!({ "trigger_id": trigger_id, "view": view }),
                    ),
                )
                .await;
                let problem = match opened {
                    Ok(Ok(_)) => return,
                    Ok(Err(error)) => error.to_string(),
                    Err(_) => "Slack did not open the form in time".to_owned(),
                };
                tracing::warn!(%problem, "a form could not be opened");
                let _ = responder
                    .tell(Notice::text(
                        "The form could not be opened; nothing was done. Try again.",
                    ))
                    .await;
            });
            SlackAnswer { body: None }
        }
        _ => SlackAnswer { body: None },
    }
}

fn spawn_tell(responder: Arc<SlackResponder>, notice: Notice) {
    tokio::spawn(async move {
        if let Err(error) = responder.tell(notice).await {
            tracing::warn!(%error, "a private answer could not be given");
        }
    });
}

/// The modal of `form`, about `message`: `callback_id` is the form's token, each field an input
/// whose `block_id` and `action_id` are its id, and `private_metadata` the message's channel
/// and `ts`.
///
/// ```
/// use stripe_chat_actions::{ActionId, Form, FormField, Intent};
/// use stripe_chat_message::{MessageRef, ObjectKind, ObjectRef};
/// let form = Form { title: "Add evidence".into(), submit: Intent::Press { action: ActionId::AddEvidence, target: ObjectRef::new(ObjectKind::Dispute, "dp_1"), account: None },
///     fields: vec![FormField { id: "uncategorized_text".into(), label: "Evidence".into(), multiline: true, max_chars: 4000, required: true }] };
/// let view = stripe_chat_slack::actions::modal(&form, &MessageRef::new("slack", "17.1").in_channel("C1"));
/// assert_eq!(view["callback_id"], "sc:add_evidence:dispute:dp_1");
/// assert_eq!(view["blocks"][0]["element"]["multiline"], true);
/// assert_eq!(view["private_metadata"], "C1 17.1");
/// ```
pub fn modal(form: &Form, message: &MessageRef) -> Value {
    let blocks: Vec<Value> = form
        .fields
        .iter()
        .map(|field| {
            let mut element = json!({
                "type": "plain_text_input",
                "action_id": field.id,
                "multiline": field.multiline,
            });
            if field.max_chars > 0 {
                element["max_length"] = field.max_chars.min(3000).into();
            }
            json!({
                "type": "input",
                "block_id": field.id,
                "optional": !field.required,
                "label": plain(&field.label, 2000),
                "element": element,
            })
        })
        .collect();
    let metadata: String = value_of_message(message)
        .chars()
        .take(MAX_PRIVATE_METADATA)
        .collect();
    json!({
        "type": "modal",
        "callback_id": form.submit.token(),
        "title": plain(&form.title, MAX_MODAL_TITLE),
        "submit": plain("Submit", MAX_MODAL_TITLE),
        "close": plain("Cancel", MAX_MODAL_TITLE),
        "private_metadata": metadata,
        "blocks": blocks,
    })
}

fn plain(text: &str, max: usize) -> Value {
    json!({ "type": "plain_text", "text": plain_text_within(clean(&single_line(text)).trim(), max), "emoji": true })
}

fn mrkdwn(text: &str, max: usize) -> Value {
    json!({ "type": "mrkdwn", "text": mrkdwn_within(clean(text).trim(), max), "verbatim": true })
}

fn style(style: ActionStyle) -> Option<&'static str> {
    match style {
        ActionStyle::Primary => Some("primary"),
        ActionStyle::Danger => Some("danger"),
        _ => None,
    }
}

/// A button of a prompt or a status line: its intent's token as `action_id`, and in its
/// `value` the message it is about.
fn prompt_button(button: &PromptButton, about: &MessageRef) -> Value {
    let mut out = json!({
        "type": "button",
        "text": plain(&button.label, MAX_BUTTON_TEXT),
        "action_id": button.intent.token(),
        "value": value_of_message(about),
    });
    if let Some(style) = style(button.style) {
        out["style"] = style.into();
    }
    out
}

/// Speaks for the engine after its answer to one Slack click: privately to the person (the
/// click's `response_url`, or `chat.postEphemeral`), and on the message with `chat.update`
/// (bot mode: the token's own messages). Every call goes through the bot's [`SlackProvider`]
/// (its HTTP client, its timeout); nothing it logs or returns shows the token or the
/// `response_url`.
///
/// ```
/// use std::sync::Arc;
/// use stripe_chat_message::Secret;
/// use stripe_chat_slack::{SlackProvider, actions::{SlackResponder, click}, interaction::SlackInteraction};
/// let payload = serde_json::json!({ "type": "block_actions", "trigger_id": "t1",
///     "user": { "id": "U1", "team_id": "T1" }, "channel": { "id": "C1" },
///     "message": { "ts": "17.1", "text": "Payment failed", "blocks": [] },
///     "response_url": "https://hooks.slack.com/actions/T1/1/secret-part",
///     "actions": [{ "action_id": "sc:mark_contacted:customer:cus_1" }] });
/// let body = serde_urlencoded::to_string([("payload", payload.to_string())])?;
/// let interaction = SlackInteraction::parse(body.as_bytes())?;
/// let click = click(&interaction).expect("ours");
/// let responder = SlackResponder::new(Arc::new(SlackProvider::bot(Secret::new("xoxb-1"), "C1")), &interaction, &click);
/// assert!(!format!("{responder:?}").contains("secret-part"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SlackResponder {
    slack: Arc<SlackProvider>,
    response_url: Option<String>,
    /// The click was on a private prompt: the answer replaces it.
    on_prompt: bool,
    user: String,
    message: MessageRef,
    /// The message as the click showed it (`text`, `blocks`), when Slack sent it.
    shown: Option<Value>,
}

impl std::fmt::Debug for SlackResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackResponder")
            .field("message", &self.message)
            .field("user", &self.user)
            .field(
                "response_url",
                &self.response_url.as_ref().map(|_| "**REDACTED**"),
            )
            .finish_non_exhaustive()
    }
}

impl SlackResponder {
    /// The responder of `click`, read from `interaction`, speaking through `slack`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use stripe_chat_actions::{Click, Identity, Intent};
    /// # use stripe_chat_message::{MessageRef, Secret};
    /// # use stripe_chat_slack::{SlackProvider, actions::SlackResponder, interaction::SlackInteraction};
    /// let click = Click { interaction_id: "slack:T1:t".into(), identity: Identity::slack("T1", "U1"), display_name: None,
    ///     message: MessageRef::new("slack", "17.1").in_channel("C1"), intent: Intent::Confirm { pending: "p".into() } };
    /// let r = SlackResponder::new(Arc::new(SlackProvider::bot(Secret::new("xoxb-1"), "C1")), &SlackInteraction::Other { kind: "x".into() }, &click);
    /// # let _ = r;
    /// ```
    pub fn new(slack: Arc<SlackProvider>, interaction: &SlackInteraction, click: &Click) -> Self {
        let (response_url, on_prompt, user, shown) = match interaction {
            SlackInteraction::BlockAction(action) => (
                action.response_url.clone(),
                action.ephemeral,
                action.user.user_id.clone(),
                action.message.clone(),
            ),
            SlackInteraction::ViewSubmission(view) => {
                (None, false, view.user.user_id.clone(), None)
            }
            _ => (None, false, click.identity.id().to_owned(), None),
        };
        SlackResponder {
            slack,
            response_url,
            on_prompt,
            user,
            message: click.message.clone(),
            shown,
        }
    }

    fn notice_blocks(&self, notice: &Notice) -> Vec<Value> {
        let mut blocks =
            vec![json!({ "type": "section", "text": mrkdwn(&notice.text, MAX_SECTION_TEXT) })];
        if !notice.buttons.is_empty() {
            let buttons: Vec<Value> = notice
                .buttons
                .iter()
                .map(|b| prompt_button(b, &self.message))
                .collect();
            blocks.push(json!({ "type": "actions", "elements": buttons }));
        }
        blocks
    }

    /// The message's blocks and text as they are now: as the click showed them, else read
    /// from Slack.
    async fn current(&self) -> Result<(Vec<Value>, String), RespondError> {
        let shown = match &self.shown {
            Some(shown) => Some(shown.clone()),
            None => {
                let channel = self.message.channel.as_deref().unwrap_or_default();
                self.slack
                    .message(channel, &self.message.id)
                    .await
                    .map_err(|e| RespondError::new(e.to_string()))?
            }
        };
        let shown = shown.ok_or_else(|| RespondError::new("the message is gone"))?;
        let blocks = shown
            .get("blocks")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let text = shown
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok((blocks, text))
    }
}

/// `blocks` without an earlier status line, with `status` at the end (within Slack's 50
/// blocks).
///
/// ```
/// use serde_json::json;
/// use stripe_chat_actions::StatusLine;
/// use stripe_chat_message::MessageRef;
/// let message = MessageRef::new("slack", "17.1").in_channel("C1");
/// let first = stripe_chat_slack::actions::with_status(vec![json!({"type": "header"})], &StatusLine::new("Assigned to bo"), &message);
/// let second = stripe_chat_slack::actions::with_status(first, &StatusLine::new("Ticket opened by ana").link("https://t.example/1"), &message);
/// assert_eq!(second.len(), 2);
/// assert_eq!(second[1]["elements"][0]["text"], "Ticket opened by ana");
/// assert_eq!(second[1]["elements"][1]["text"], "<https://t.example/1|open>");
/// ```
pub fn with_status(
    mut blocks: Vec<Value>,
    status: &StatusLine,
    message: &MessageRef,
) -> Vec<Value> {
    blocks.retain(|b| {
        !matches!(
            b.get("block_id").and_then(Value::as_str),
            Some(STATUS_BLOCK | STATUS_BUTTONS)
        )
    });
    let room = if status.buttons.is_empty() { 1 } else { 2 };
    blocks.truncate(MAX_BLOCKS.saturating_sub(room));
    let mut elements = vec![json!({
        "type": "mrkdwn",
        "text": mrkdwn_within(clean(&single_line(&status.text)).trim(), MAX_CONTEXT_ITEM),
        "verbatim": true,
    })];
    if let Some(link) = status
        .url
        .as_deref()
        .and_then(|url| crate::escape::link(url, "open"))
        .filter(|link| link.chars().count() <= MAX_CONTEXT_ITEM)
    {
        elements.push(json!({ "type": "mrkdwn", "text": link, "verbatim": true }));
    }
    blocks.push(json!({
        "type": "context",
        "block_id": STATUS_BLOCK,
        "elements": elements,
    }));
    if !status.buttons.is_empty() {
        let buttons: Vec<Value> = status
            .buttons
            .iter()
            .map(|b| prompt_button(b, message))
            .collect();
        blocks.push(json!({ "type": "actions", "block_id": STATUS_BUTTONS, "elements": buttons }));
    }
    blocks
}

#[async_trait]
impl Responder for SlackResponder {
    async fn tell(&self, notice: Notice) -> Result<(), RespondError> {
        let text = mrkdwn_within(clean(&single_line(&notice.text)).trim(), 3000);
        let blocks = self.notice_blocks(&notice);
        let result = match &self.response_url {
            Some(url) => {
                let body = json!({
                    "response_type": "ephemeral",
                    "replace_original": self.on_prompt,
                    "text": text,
                    "blocks": blocks,
                });
                self.slack.respond(url, &body).await
            }
            None => {
                let body = json!({
                    "channel": self.message.channel.as_deref().unwrap_or_default(),
                    "user": self.user,
                    "text": text,
                    "blocks": blocks,
                });
                self.slack
                    .web_api("chat.postEphemeral", &body)
                    .await
                    .map(|_| ())
            }
        };
        result.map_err(|e| RespondError::new(e.to_string()))
    }

    async fn update(&self, status: StatusLine) -> Result<(), RespondError> {
        let (blocks, text) = self.current().await?;
        let blocks = with_status(blocks, &status, &self.message);
        let key = IdempotencyKey::new(&self.message.id, "status");
        self.slack
            .update_raw(
                &self.message,
                json!({ "text": text, "blocks": blocks }),
                &key,
            )
            .await
            .map_err(|e| RespondError::new(e.to_string()))
    }
}

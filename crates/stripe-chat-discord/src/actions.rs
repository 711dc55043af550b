//! Acting from Discord: a verified [`DiscordInteraction`] handed to the actions engine as a
//! [`Click`], the interaction response Discord gets within its 3 seconds, and a [`Responder`]
//! that speaks afterwards (an ephemeral follow-up through the interaction's webhook; the message
//! edited for everyone).
//!
//! | engine's answer | interaction response |
//! |---|---|
//! | [`Immediate::Ack`] | `{"type": 6}` (deferred update: nothing changes yet) |
//! | [`Immediate::Tell`] | `{"type": 4}` with `flags: 64` (ephemeral), the notice and its buttons |
//! | [`Immediate::Form`] | `{"type": 9}`: a modal whose `custom_id` is the form's token, each field a text input in a label |
//!
//! A button's `custom_id` is its [`Intent::token`]. A click on a private prompt (an ephemeral
//! follow-up) is about the message the prompt was asked from: Discord names it in the prompt's
//! `interaction_metadata.interacted_message_id`.
//!
//! ```
//! use stripe_chat_actions::{Immediate, Intent};
//! use stripe_chat_discord::actions::{click, response};
//! use stripe_chat_discord::interaction::DiscordInteraction;
//! let body = br#"{"type":3,"id":"1190000000000000001","application_id":"2","token":"t","channel_id":"5",
//!   "member":{"user":{"id":"80351110224678912"}},"message":{"id":"1100000000000000001","flags":0},
//!   "data":{"custom_id":"sc:retry_payment:invoice:in_1","component_type":2}}"#;
//! let interaction = DiscordInteraction::parse(body)?;
//! let click = click(&interaction).expect("ours");
//! assert_eq!(click.interaction_id, "discord:1190000000000000001");
//! assert!(matches!(click.intent, Intent::Press { .. }));
//! assert_eq!(response(&Immediate::Ack, &interaction), serde_json::json!({ "type": 6 }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use serde_json::{Value, json};
use stripe_chat_actions::{
    Actions, Click, Form, Identity, Immediate, Intent, Notice, PromptButton, RespondError,
    Responder, StatusLine,
};
use stripe_chat_http::{Answer, MAX_ANSWER_BYTES};
use stripe_chat_message::text::{clean, single_line};
use stripe_chat_message::{
    ActionStyle, ChatProvider, DeliveryError, IdempotencyKey, MessageRef, Secret, async_trait,
};

use crate::DiscordProvider;
use crate::error::{Operation, classify};
use crate::escape::plain_within;
use crate::interaction::{Context, DiscordInteraction};

const PLATFORM: &str = "discord";
/// Discord's flag of an ephemeral message.
const EPHEMERAL: u64 = 64;
/// Discord's longest message content.
const MAX_CONTENT: usize = 2000;
/// Discord's longest modal title and text input label.
const MAX_MODAL_TITLE: usize = 45;
/// Discord's longest button label.
const MAX_LABEL: usize = 80;
/// Discord's longest text input value.
const MAX_INPUT: usize = 4000;

/// The [`Click`] a verified interaction asks for; `None` for a PING and anything that is not
/// one of ours (acknowledge it and do nothing).
///
/// ```
/// use stripe_chat_discord::interaction::DiscordInteraction;
/// assert!(stripe_chat_discord::actions::click(&DiscordInteraction::Ping).is_none());
/// ```
pub fn click(interaction: &DiscordInteraction) -> Option<Click> {
    let (context, intent) = match interaction {
        DiscordInteraction::Component(component) => (
            &component.context,
            Intent::parse(component.custom_id.trim())?,
        ),
        DiscordInteraction::ModalSubmit(modal) => {
            let Intent::Press {
                action,
                target,
                account,
            } = Intent::parse(modal.custom_id.trim())?
            else {
                return None;
            };
            (
                &modal.context,
                Intent::Submit {
                    action,
                    target,
                    account,
                    fields: modal.values.clone(),
                },
            )
        }
        _ => return None,
    };
    let message_id = if on_prompt(context) {
        context
            .message
            .as_ref()?
            .pointer("/interaction_metadata/interacted_message_id")?
            .as_str()?
            .to_owned()
    } else {
        context.message_id.clone()?
    };
    let mut message = MessageRef::new(PLATFORM, message_id);
    if let Some(channel) = &context.channel_id {
        message = message.in_channel(channel.clone());
    }
    Some(Click {
        interaction_id: format!("{PLATFORM}:{}", context.id),
        identity: Identity::discord(&context.user_id),
        display_name: None,
        message,
        intent,
    })
}

/// Whether the interaction's message is an ephemeral one (a private prompt of ours).
fn on_prompt(context: &Context) -> bool {
    context
        .message
        .as_ref()
        .and_then(|m| m.get("flags"))
        .and_then(Value::as_u64)
        .is_some_and(|flags| flags & EPHEMERAL != 0)
}

fn button(button: &PromptButton) -> Value {
    let style = match button.style {
        ActionStyle::Primary => 1,
        ActionStyle::Danger => 4,
        _ => 2,
    };
    json!({
        "type": 2,
        "style": style,
        "label": plain_within(clean(&single_line(&button.label)).trim(), MAX_LABEL),
        "custom_id": button.intent.token(),
    })
}

fn rows(buttons: &[PromptButton]) -> Vec<Value> {
    buttons
        .chunks(5)
        .map(|row| json!({ "type": 1, "components": row.iter().map(button).collect::<Vec<_>>() }))
        .collect()
}

fn content(text: &str) -> String {
    plain_within(clean(text).trim(), MAX_CONTENT)
}

/// An ephemeral message with `notice` and its buttons (no mention pings anyone).
fn ephemeral(notice: &Notice) -> Value {
    json!({
        "content": content(&notice.text),
        "flags": EPHEMERAL,
        "components": rows(&notice.buttons),
        "allowed_mentions": { "parse": [] },
    })
}

/// The modal of `form`.
fn modal(form: &Form) -> Value {
    let components: Vec<Value> = form
        .fields
        .iter()
        .take(5)
        .map(|field| {
            json!({
                "type": 18,
                "label": plain_within(clean(&single_line(&field.label)).trim(), MAX_MODAL_TITLE),
                "component": {
                    "type": 4,
                    "custom_id": field.id,
                    "style": if field.multiline { 2 } else { 1 },
                    "max_length": field.max_chars.clamp(1, MAX_INPUT),
                    "required": field.required,
                },
            })
        })
        .collect();
    json!({
        "custom_id": form.submit.token(),
        "title": plain_within(clean(&single_line(&form.title)).trim(), MAX_MODAL_TITLE),
        "components": components,
    })
}

/// The interaction response for the engine's answer `immediate` to `interaction` (see the
/// module's table). A modal cannot answer a modal: a form asked for on a submission is told
/// instead.
///
/// ```
/// use stripe_chat_actions::{Immediate, Notice};
/// use stripe_chat_discord::interaction::DiscordInteraction;
/// let r = stripe_chat_discord::actions::response(&Immediate::Tell(Notice::text("No.")), &DiscordInteraction::Ping);
/// assert_eq!((r["type"].as_u64(), r["data"]["flags"].as_u64()), (Some(4), Some(64)));
/// ```
pub fn response(immediate: &Immediate, interaction: &DiscordInteraction) -> Value {
    match immediate {
        Immediate::Tell(notice) => json!({ "type": 4, "data": ephemeral(notice) }),
        Immediate::Form(form) if matches!(interaction, DiscordInteraction::Component(_)) => {
            json!({ "type": 9, "data": modal(form) })
        }
        Immediate::Form(_) => json!({
            "type": 4,
            "data": ephemeral(&Notice::text("This form cannot be opened from here; start again from the message.")),
        }),
        _ => json!({ "type": 6 }),
    }
}

/// Handles one verified interaction: a PING gets `{"type":1}`; a click is handed to `actions`
/// with a [`DiscordResponder`], and its answer becomes the interaction response.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// use std::sync::Arc;
/// use stripe_chat_actions::{Actions, Click, Immediate, Responder};
/// use stripe_chat_discord::actions::{DiscordAnswerer, dispatch};
/// use stripe_chat_discord::interaction::DiscordInteraction;
/// struct Nothing;
/// #[stripe_chat_message::async_trait]
/// impl Actions for Nothing {
///     async fn handle(&self, _: Click, _: Arc<dyn Responder>) -> Immediate { Immediate::Ack }
/// }
/// let answerer = DiscordAnswerer::new("https://discord.com/api/v10", None)?;
/// assert_eq!(dispatch(&Nothing, &answerer, DiscordInteraction::Ping).await, serde_json::json!({ "type": 1 }));
/// # Ok::<(), Box<dyn std::error::Error>>(()) })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn dispatch(
    actions: &dyn Actions,
    answerer: &DiscordAnswerer,
    interaction: DiscordInteraction,
) -> Value {
    if interaction == DiscordInteraction::Ping {
        return json!({ "type": 1 });
    }
    let Some(click) = click(&interaction) else {
        return json!({ "type": 6 });
    };
    let context = match &interaction {
        DiscordInteraction::Component(c) => &c.context,
        DiscordInteraction::ModalSubmit(m) => &m.context,
        _ => return json!({ "type": 6 }),
    };
    let responder = Arc::new(answerer.responder(context, &click));
    let immediate = actions.handle(click, responder).await;
    response(&immediate, &interaction)
}

/// What answers Discord interactions: an HTTP client with a timeout, the API base, and the
/// application-owned webhook destination whose messages carry the buttons (to edit a message
/// after a click on a private prompt about it).
///
/// ```
/// let a = stripe_chat_discord::actions::DiscordAnswerer::new("https://discord.com/api/v10", None)?;
/// assert!(format!("{a:?}").contains("discord.com"));
/// # Ok::<(), stripe_chat_message::DeliveryError>(())
/// ```
#[derive(Clone)]
pub struct DiscordAnswerer {
    http: reqwest::Client,
    api_base: Url,
    messages: Option<Arc<DiscordProvider>>,
}

impl std::fmt::Debug for DiscordAnswerer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordAnswerer")
            .field("api_base", &self.api_base.as_str())
            .field("messages", &self.messages.is_some())
            .finish()
    }
}

impl DiscordAnswerer {
    /// Answers through `api_base` (`https://discord.com/api/v10`), editing messages through
    /// `messages` when given.
    ///
    /// # Errors
    /// A permanent error for an `api_base` that is not https (plain http only to loopback).
    ///
    /// ```
    /// assert!(stripe_chat_discord::actions::DiscordAnswerer::new("http://discord.example", None).is_err());
    /// ```
    pub fn new(
        api_base: &str,
        messages: Option<Arc<DiscordProvider>>,
    ) -> Result<Self, DeliveryError> {
        let api_base = stripe_chat_http::endpoint(api_base.trim())
            .map_err(|e| DeliveryError::permanent(format!("discord api_base {e}")))?
            .into_url();
        Ok(DiscordAnswerer {
            http: stripe_chat_http::client(Duration::from_secs(10))?,
            api_base,
            messages,
        })
    }

    /// The responder of `click`, answering through the interaction in `context`.
    ///
    /// ```
    /// # use stripe_chat_actions::{Click, Identity, Intent};
    /// # use stripe_chat_message::MessageRef;
    /// use stripe_chat_discord::interaction::Context;
    /// let a = stripe_chat_discord::actions::DiscordAnswerer::new("https://discord.com/api/v10", None)?;
    /// let context = Context { id: "1".into(), application_id: "2".into(), token: "secret-token".into(), user_id: "3".into(), guild_id: None, channel_id: None, message_id: None, message: None };
    /// let click = Click { interaction_id: "discord:1".into(), identity: Identity::discord("3"), display_name: None, message: MessageRef::new("discord", "4"), intent: Intent::Confirm { pending: "p".into() } };
    /// assert!(!format!("{:?}", a.responder(&context, &click)).contains("secret-token"));
    /// # Ok::<(), stripe_chat_message::DeliveryError>(())
    /// ```
    pub fn responder(&self, context: &Context, click: &Click) -> DiscordResponder {
        DiscordResponder {
            answerer: self.clone(),
            application_id: context.application_id.clone(),
            token: Secret::new(context.token.clone()),
            shown: (!on_prompt(context))
                .then(|| context.message.clone())
                .flatten(),
            message: click.message.clone(),
        }
    }
}

/// Speaks for the engine after its answer to one Discord click: privately with an ephemeral
/// follow-up (`POST /webhooks/{application_id}/{token}`), and on the message for everyone
/// (`PATCH …/messages/@original` when the click was on it, keeping its embeds and buttons with
/// the status line as its content; through the destination's webhook when the click was on a
/// private prompt about it). The interaction token is never shown.
///
/// ```
/// use stripe_chat_actions::{Click, Identity, Intent};
/// use stripe_chat_discord::actions::DiscordAnswerer;
/// use stripe_chat_discord::interaction::Context;
/// use stripe_chat_message::MessageRef;
/// let answerer = DiscordAnswerer::new("https://discord.com/api/v10", None)?;
/// let context = Context { id: "1".into(), application_id: "2".into(), token: "interaction-token".into(), user_id: "3".into(),
///     guild_id: None, channel_id: None, message_id: Some("4".into()), message: None };
/// let click = Click { interaction_id: "discord:1".into(), identity: Identity::discord("3"), display_name: None,
///     message: MessageRef::new("discord", "4"), intent: Intent::Confirm { pending: "p".into() } };
/// let responder: stripe_chat_discord::actions::DiscordResponder = answerer.responder(&context, &click);
/// assert!(!format!("{responder:?}").contains("interaction-token"));
/// # Ok::<(), stripe_chat_message::DeliveryError>(())
/// ```
pub struct DiscordResponder {
    answerer: DiscordAnswerer,
    application_id: String,
    token: Secret,
    /// The message as the click showed it, when the click was on it.
    shown: Option<Value>,
    message: MessageRef,
}

impl std::fmt::Debug for DiscordResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordResponder")
            .field("application_id", &self.application_id)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl DiscordResponder {
    async fn call(
        &self,
        method: reqwest::Method,
        message: Option<&str>,
        body: &Value,
    ) -> Result<(), DeliveryError> {
        let mut url = self.answerer.api_base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| DeliveryError::permanent("discord: api_base cannot take a path"))?;
            path.pop_if_empty()
                .extend(["webhooks", &self.application_id, self.token.expose()]);
            if let Some(id) = message {
                path.extend(["messages", id]);
            }
        }
        let response = self
            .answerer
            .http
            .request(method, url)
            .json(body)
            .send()
            .await
            .map_err(|e| stripe_chat_http::from_reqwest(PLATFORM, e))?;
        let answer = Answer::read(response, MAX_ANSWER_BYTES).await;
        if answer.is_success() {
            return Ok(());
        }
        Err(classify(
            answer.status(),
            answer.headers(),
            answer.body(),
            Operation::Update,
            self.token.expose(),
        ))
    }
}

/// `message`'s edit with `status`: its embeds kept, its buttons kept (an earlier status line's
/// buttons replaced), the status line as its content.
///
/// ```
/// use serde_json::json;
/// use stripe_chat_actions::StatusLine;
/// let message = json!({ "content": "", "embeds": [{ "title": "Payment failed" }],
///     "components": [{ "type": 1, "components": [{ "type": 2, "custom_id": "sc:retry_payment:invoice:in_1" }] }] });
/// let edit = stripe_chat_discord::actions::with_status(&message, &StatusLine::new("Payment retried by ana — succeeded"));
/// assert_eq!(edit["content"], "Payment retried by ana — succeeded");
/// assert_eq!(edit["embeds"], message["embeds"]);
/// assert_eq!(edit["components"], message["components"]);
/// ```
pub fn with_status(message: &Value, status: &StatusLine) -> Value {
    let is_status_row = |row: &Value| {
        row["components"].as_array().is_some_and(|buttons| {
            buttons.iter().any(|b| {
                b["custom_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("sc:approve:") || id.starts_with("sc:cancel:"))
            })
        })
    };
    let mut components: Vec<Value> = message["components"]
        .as_array()
        .map(|rows| rows.iter().filter(|r| !is_status_row(r)).cloned().collect())
        .unwrap_or_default();
    components.extend(rows(&status.buttons));
    components.truncate(5);
    let mut text = status.text.clone();
    if let Some(url) = &status.url {
        text.push_str(" — ");
        text.push_str(url);
    }
    json!({
        "content": content(&text),
        "embeds": message.get("embeds").cloned().unwrap_or_else(|| json!([])),
        "components": components,
        "allowed_mentions": { "parse": [] },
    })
}

#[async_trait]
impl Responder for DiscordResponder {
    async fn tell(&self, notice: Notice) -> Result<(), RespondError> {
        self.call(reqwest::Method::POST, None, &ephemeral(&notice))
            .await
            .map_err(|e| RespondError::new(e.to_string()))
    }

    async fn update(&self, status: StatusLine) -> Result<(), RespondError> {
        if let Some(shown) = &self.shown {
            return self
                .call(
                    reqwest::Method::PATCH,
                    Some("@original"),
                    &with_status(shown, &status),
                )
                .await
                .map_err(|e| RespondError::new(e.to_string()));
        }
        let Some(messages) = &self.answerer.messages else {
            return Err(RespondError::new(
                "no Discord destination to edit the message through",
            ));
        };
        let current = messages
            .message(&self.message.id)
            .await
            .map_err(|e| RespondError::new(e.to_string()))?;
        let key = IdempotencyKey::new(&self.message.id, "status");
        messages
            .update_raw(&self.message, with_status(&current, &status), &key)
            .await
            .map_err(|e| RespondError::new(e.to_string()))
    }
}

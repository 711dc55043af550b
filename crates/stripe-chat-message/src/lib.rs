//! The provider-neutral chat message of stripe-chat, and the contract every chat adapter implements.
//!
//! A transformer turns a Stripe event into a [`ChatMessage`]; the redaction layer rewrites its text;
//! an adapter ([`Renderer`]) turns it into the body one chat platform expects. The message carries no
//! markup at all: every string is plain text, and each adapter escapes and formats it for its platform.
//!
//! Main types:
//! - [`ChatMessage`]: title, summary, [`Severity`], ordered [`Field`]s, [`Link`]s, [`Action`]s, tags,
//!   a thread key (the Stripe object it is about, an [`ObjectRef`]), footer and timestamp.
//! - [`Renderer`]: what an adapter implements to turn a message into its platform's JSON body.
//! - [`ChatProvider`]: what an adapter implements to deliver it: `send_raw` (optionally in a
//!   thread) returning a [`MessageRef`], `update_raw`, [`Capabilities`] (with the platform's
//!   [`Rate`]); callers use the provided `send` and `update` (render, check the limits, send),
//!   giving each delivery its [`IdempotencyKey`]; and a [`DeliveryError`] whose [`ErrorKind`]
//!   says whether to retry (transient, rate-limited with a delay, permanent, unauthorized). [`Secret`] keeps tokens out of `Debug`.
//! - [`ProviderFactory`]: what an adapter crate exports so that configuration can name it
//!   (`provider = "slack"`); a [`ProviderRegistry`] holds factories by name and builds adapters
//!   from their [`Settings`]. [`ConfigError`] is the one error shape of every adapter's
//!   configuration, and [`SecretSource`] the one way its secrets are read (inline, `*_env` or
//!   `*_file`).
//! - [`text`]: helpers adapters share (truncation on character boundaries, UTC time formatting,
//!   cleaning of control and bidirectional characters, checks of URLs).
//! - [`budget`]: the size of a rendered body as JSON, and the least trimmed body that fits a limit.
//!
//! ```
//! use stripe_chat_message::{Action, ChatMessage, FieldKind, ObjectKind, ObjectRef, Severity};
//!
//! let invoice = ObjectRef::new(ObjectKind::Invoice, "in_1MtHbELkdIwHu7ixl4OzzPMv");
//! let message = ChatMessage::new("Invoice paid: Jenny Rosen")
//!     .summary("Invoice ABC-0001 for 20.00 USD was paid.")
//!     .severity(Severity::Success)
//!     .field("Amount", "20.00 USD")
//!     .field_of_kind("Email", "jenny@example.com", FieldKind::Email)
//!     .link("Invoice in Stripe", "https://dashboard.stripe.com/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv")
//!     .action(Action::callback("mark_contacted", "Mark customer contacted", invoice.clone()))
//!     .tag("subscription")
//!     .thread(invoice);
//! assert_eq!(message.fields.len(), 2);
//! assert_eq!(message.thread_key.as_ref().map(|o| o.id.as_str()), Some("in_1MtHbELkdIwHu7ixl4OzzPMv"));
//! ```
//!
//! This crate has no feature flags and few dependencies, so adapters can depend on it alone.
#![forbid(unsafe_code)]

use std::fmt;

use serde::{Deserialize, Serialize};

pub mod budget;
mod config;
mod provider;
mod registry;
pub mod text;

/// Re-exported so adapters implement [`ChatProvider`] with the same macro version.
pub use async_trait::async_trait;
pub use config::{ConfigError, ConfigErrorKind, SecretSource, parse_duration};
pub use provider::{
    Capabilities, ChatProvider, DeliveryError, ErrorKind, IdempotencyKey, MessageRef, Rate, Secret,
};
pub use registry::{ProviderFactory, ProviderRegistry, Settings};

/// How urgent a message is; adapters map it to a colour or an emoji.
///
/// ```
/// use stripe_chat_message::Severity;
/// assert!(Severity::Critical > Severity::Warning);
/// assert_eq!(Severity::Success.as_str(), "success");
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Severity {
    /// Something happened; nobody needs to act.
    #[default]
    Info,
    /// Money arrived or a problem went away.
    Success,
    /// Someone should look soon (a failed payment, a trial ending).
    Warning,
    /// Someone must act now (a dispute, money withdrawn).
    Critical,
}

impl Severity {
    /// The lowercase name, as serialized.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::Severity::Warning.as_str(), "warning");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Success => "success",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// What a field's value holds, so redaction can treat it by kind and not only by pattern.
///
/// ```
/// use stripe_chat_message::FieldKind;
/// assert_eq!(FieldKind::default(), FieldKind::Text);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FieldKind {
    /// Ordinary text (amounts, statuses, reasons, ids).
    #[default]
    Text,
    /// A person's or company's name.
    Name,
    /// An email address.
    Email,
    /// A phone number.
    Phone,
    /// A postal address.
    Address,
    /// Card data: must show brand and last 4 at most.
    Card,
}

/// One labelled value of a message, shown in order.
///
/// ```
/// use stripe_chat_message::{Field, FieldKind};
/// let field = Field::new("Customer", "Jenny Rosen").with_kind(FieldKind::Name);
/// assert_eq!(field.kind, FieldKind::Name);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Short label, e.g. `Amount`.
    pub label: String,
    /// The value, plain text.
    pub value: String,
    /// What the value holds.
    #[serde(default)]
    pub kind: FieldKind,
}

impl Field {
    /// A plain-text field.
    ///
    /// ```
    /// let f = stripe_chat_message::Field::new("Status", "paid");
    /// assert_eq!(f.label, "Status");
    /// ```
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Field {
            label: label.into(),
            value: value.into(),
            kind: FieldKind::Text,
        }
    }

    /// The same field, marked as holding `kind`.
    ///
    /// ```
    /// use stripe_chat_message::{Field, FieldKind};
    /// assert_eq!(Field::new("Phone", "+1 555 0100").with_kind(FieldKind::Phone).kind, FieldKind::Phone);
    /// ```
    pub fn with_kind(mut self, kind: FieldKind) -> Self {
        self.kind = kind;
        self
    }
}

/// A labelled link, usually into the Stripe Dashboard.
///
/// ```
/// let link = stripe_chat_message::Link::new("Dispute", "https://dashboard.stripe.com/disputes/dp_1");
/// assert!(link.url.starts_with("https://"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// What the reader sees.
    pub label: String,
    /// Absolute URL.
    pub url: String,
}

impl Link {
    /// A link with a label.
    ///
    /// ```
    /// let link = stripe_chat_message::Link::new("Open", "https://example.com");
    /// assert_eq!(link.label, "Open");
    /// ```
    pub fn new(label: impl Into<String>, url: impl Into<String>) -> Self {
        Link {
            label: label.into(),
            url: url.into(),
        }
    }
}

/// The kind of Stripe object a message or action is about. (Reading the kind from a Stripe id's
/// prefix is the events crate's job: `stripe_chat_events::ids`.)
///
/// ```
/// use stripe_chat_message::ObjectKind;
/// assert_eq!(ObjectKind::Dispute.as_str(), "dispute");
/// assert_eq!(ObjectKind::Other("payout".into()).as_str(), "payout");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ObjectKind {
    /// `in_...`
    Invoice,
    /// `pi_...`
    PaymentIntent,
    /// `ch_...` / `py_...`
    Charge,
    /// `dp_...` / `du_...`
    Dispute,
    /// `cus_...`
    Customer,
    /// `sub_...`
    Subscription,
    /// `re_...`
    Refund,
    /// `evt_...`
    Event,
    /// Anything else, by its Stripe `object` name.
    Other(String),
}

impl ObjectKind {
    /// The snake_case name of the kind (for `Other`, its own name).
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::ObjectKind::PaymentIntent.as_str(), "payment_intent");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            ObjectKind::Invoice => "invoice",
            ObjectKind::PaymentIntent => "payment_intent",
            ObjectKind::Charge => "charge",
            ObjectKind::Dispute => "dispute",
            ObjectKind::Customer => "customer",
            ObjectKind::Subscription => "subscription",
            ObjectKind::Refund => "refund",
            ObjectKind::Event => "event",
            ObjectKind::Other(name) => name,
        }
    }
}

/// A Stripe object: what a message is about (its thread key) or what an action acts on.
///
/// ```
/// use stripe_chat_message::{ObjectKind, ObjectRef};
/// let o = ObjectRef::new(ObjectKind::PaymentIntent, "pi_3MtwBwLkdIwHu7ix28a3tqPa");
/// assert_eq!(o.to_string(), "payment_intent/pi_3MtwBwLkdIwHu7ix28a3tqPa");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    /// What kind of object.
    pub kind: ObjectKind,
    /// Its Stripe id.
    pub id: String,
}

impl ObjectRef {
    /// An object of a known kind.
    ///
    /// ```
    /// use stripe_chat_message::{ObjectKind, ObjectRef};
    /// assert_eq!(ObjectRef::new(ObjectKind::Invoice, "in_1").id, "in_1");
    /// ```
    pub fn new(kind: ObjectKind, id: impl Into<String>) -> Self {
        ObjectRef {
            kind,
            id: id.into(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.as_str(), self.id)
    }
}

/// The token of a callback button: `sc:<action>:<kind>:<id>`, with `@<account>` when the
/// object belongs to a connected account. It is what platforms carry in a button (Slack
/// `action_id` and `value`, Discord `custom_id`) and what the actions engine reads back
/// (`stripe_chat_actions::Intent::parse`); it holds no secret and no state, only names.
///
/// ```
/// use stripe_chat_message::{ObjectKind, ObjectRef, callback_token};
/// let invoice = ObjectRef::new(ObjectKind::Invoice, "in_1");
/// assert_eq!(callback_token("retry_payment", &invoice, None), "sc:retry_payment:invoice:in_1");
/// assert_eq!(callback_token("retry_payment", &invoice, Some("acct_1")), "sc:retry_payment:invoice:in_1@acct_1");
/// ```
pub fn callback_token(action: &str, target: &ObjectRef, account: Option<&str>) -> String {
    match account {
        Some(account) => format!(
            "sc:{action}:{}:{}@{account}",
            target.kind.as_str(),
            target.id
        ),
        None => format!("sc:{action}:{}:{}", target.kind.as_str(), target.id),
    }
}

/// How an action's button looks.
///
/// ```
/// assert_eq!(stripe_chat_message::ActionStyle::default(), stripe_chat_message::ActionStyle::Default);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActionStyle {
    /// A plain button.
    #[default]
    Default,
    /// The recommended next step.
    Primary,
    /// Destructive or money-moving.
    Danger,
}

/// Something a reader can do from the message: open a link, or ask stripe-chat to act.
///
/// A link action (`url` set) opens a page. A callback action (`url` unset) is sent back to
/// stripe-chat, which checks who clicked and what they may do before acting on [`Action::target`].
///
/// ```
/// use stripe_chat_message::{Action, ActionStyle, ObjectKind, ObjectRef};
/// let retry = Action::callback("retry_payment", "Retry payment", ObjectRef::new(ObjectKind::Invoice, "in_1"))
///     .style(ActionStyle::Primary)
///     .moves_money(true);
/// assert!(retry.moves_money && retry.url.is_none());
/// let open = Action::link("open_invoice", "Open invoice", ObjectRef::new(ObjectKind::Invoice, "in_1"), "https://dashboard.stripe.com/invoices/in_1");
/// assert!(open.url.is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// Stable identifier of the action (`retry_payment`, `send_dunning_email`, ...).
    pub id: String,
    /// Button text.
    pub label: String,
    /// Button style.
    #[serde(default)]
    pub style: ActionStyle,
    /// The Stripe object it acts on.
    pub target: ObjectRef,
    /// Whether doing it moves money (asks for confirmation, needs a stronger role).
    #[serde(default)]
    pub moves_money: bool,
    /// For a link action, the page it opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Action {
    /// An action handled by stripe-chat when clicked.
    ///
    /// ```
    /// let a = stripe_chat_message::Action::callback("add_evidence", "Add evidence", stripe_chat_message::ObjectRef::new(stripe_chat_message::ObjectKind::Dispute, "dp_1"));
    /// assert_eq!(a.id, "add_evidence");
    /// ```
    pub fn callback(id: impl Into<String>, label: impl Into<String>, target: ObjectRef) -> Self {
        Action {
            id: id.into(),
            label: label.into(),
            style: ActionStyle::Default,
            target,
            moves_money: false,
            url: None,
        }
    }

    /// An action that opens `url`.
    ///
    /// ```
    /// let a = stripe_chat_message::Action::link("open", "Open", stripe_chat_message::ObjectRef::new(stripe_chat_message::ObjectKind::Invoice, "in_1"), "https://example.com");
    /// assert_eq!(a.url.as_deref(), Some("https://example.com"));
    /// ```
    pub fn link(
        id: impl Into<String>,
        label: impl Into<String>,
        target: ObjectRef,
        url: impl Into<String>,
    ) -> Self {
        Action {
            url: Some(url.into()),
            ..Action::callback(id, label, target)
        }
    }

    /// The same action with another style.
    ///
    /// ```
    /// use stripe_chat_message::{Action, ActionStyle, ObjectKind, ObjectRef};
    /// assert_eq!(Action::callback("x", "X", ObjectRef::new(ObjectKind::Invoice, "in_1")).style(ActionStyle::Danger).style, ActionStyle::Danger);
    /// ```
    pub fn style(mut self, style: ActionStyle) -> Self {
        self.style = style;
        self
    }

    /// The same action, marked as moving money or not.
    ///
    /// ```
    /// use stripe_chat_message::{Action, ObjectKind, ObjectRef};
    /// assert!(Action::callback("refund", "Refund", ObjectRef::new(ObjectKind::Charge, "ch_1")).moves_money(true).moves_money);
    /// ```
    pub fn moves_money(mut self, moves_money: bool) -> Self {
        self.moves_money = moves_money;
        self
    }
}

/// Where a message came from: the Stripe event behind it.
///
/// ```
/// let s = stripe_chat_message::Source { event_id: "evt_1".into(), event_type: "invoice.paid".into(), livemode: false };
/// assert!(!s.livemode);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// `evt_...`
    pub event_id: String,
    /// The event type, e.g. `invoice.paid`.
    pub event_type: String,
    /// Live or test mode.
    pub livemode: bool,
}

/// A provider-neutral chat message about one Stripe event.
///
/// Every string is plain text without markup; adapters escape it for their platform. Build one with
/// [`ChatMessage::new`] and the chained setters.
///
/// ```
/// use stripe_chat_message::{ChatMessage, Severity};
/// let m = ChatMessage::new("Payment failed").severity(Severity::Warning).field("Reason", "Insufficient funds");
/// assert_eq!(m.severity, Severity::Warning);
/// assert_eq!(m.fields[0].value, "Insufficient funds");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// One line: what happened and to whom.
    pub title: String,
    /// A sentence or two: why it matters and what happens next.
    #[serde(default)]
    pub summary: String,
    /// How urgent.
    #[serde(default)]
    pub severity: Severity,
    /// Ordered labelled values.
    #[serde(default)]
    pub fields: Vec<Field>,
    /// Links, the first being the main one (usually the object in the Stripe Dashboard).
    #[serde(default)]
    pub links: Vec<Link>,
    /// Buttons.
    #[serde(default)]
    pub actions: Vec<Action>,
    /// Short tags (`subscription`, `one-time`, `test mode`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The Stripe object this message is about; later events about it update or thread onto it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_key: Option<ObjectRef>,
    /// Small print at the bottom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
    /// When it happened, Unix seconds (the event's `created`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// The event behind the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// The connected account (`acct_...`) the message's objects belong to, when the event came
    /// from one (its top-level `account`): actions on them act in that account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl ChatMessage {
    /// A message with a title and nothing else.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::ChatMessage::new("Hello").title, "Hello");
    /// ```
    pub fn new(title: impl Into<String>) -> Self {
        ChatMessage {
            title: title.into(),
            summary: String::new(),
            severity: Severity::Info,
            fields: Vec::new(),
            links: Vec::new(),
            actions: Vec::new(),
            tags: Vec::new(),
            thread_key: None,
            footer: None,
            timestamp: None,
            source: None,
            account: None,
        }
    }

    /// Sets the summary.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::ChatMessage::new("t").summary("s").summary, "s");
    /// ```
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = summary.into();
        self
    }

    /// Sets the severity.
    ///
    /// ```
    /// use stripe_chat_message::{ChatMessage, Severity};
    /// assert_eq!(ChatMessage::new("t").severity(Severity::Critical).severity, Severity::Critical);
    /// ```
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Appends a plain-text field.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::ChatMessage::new("t").field("a", "b").fields.len(), 1);
    /// ```
    pub fn field(self, label: impl Into<String>, value: impl Into<String>) -> Self {
        self.push_field(Field::new(label, value))
    }

    /// Appends a field holding `kind` of data.
    ///
    /// ```
    /// use stripe_chat_message::{ChatMessage, FieldKind};
    /// let m = ChatMessage::new("t").field_of_kind("Card", "Visa •••• 4242", FieldKind::Card);
    /// assert_eq!(m.fields[0].kind, FieldKind::Card);
    /// ```
    pub fn field_of_kind(
        self,
        label: impl Into<String>,
        value: impl Into<String>,
        kind: FieldKind,
    ) -> Self {
        self.push_field(Field::new(label, value).with_kind(kind))
    }

    /// Appends a field built elsewhere.
    ///
    /// ```
    /// use stripe_chat_message::{ChatMessage, Field};
    /// assert_eq!(ChatMessage::new("t").push_field(Field::new("a", "b")).fields[0].label, "a");
    /// ```
    pub fn push_field(mut self, field: Field) -> Self {
        self.fields.push(field);
        self
    }

    /// Appends a link.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::ChatMessage::new("t").link("l", "https://x.test").links.len(), 1);
    /// ```
    pub fn link(mut self, label: impl Into<String>, url: impl Into<String>) -> Self {
        self.links.push(Link::new(label, url));
        self
    }

    /// Appends an action.
    ///
    /// ```
    /// use stripe_chat_message::{Action, ChatMessage, ObjectKind, ObjectRef};
    /// let m = ChatMessage::new("t").action(Action::callback("a", "A", ObjectRef::new(ObjectKind::Invoice, "in_1")));
    /// assert_eq!(m.actions.len(), 1);
    /// ```
    pub fn action(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }

    /// Appends a tag.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::ChatMessage::new("t").tag("one-time").tags, vec!["one-time"]);
    /// ```
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Sets the Stripe object the message is about.
    ///
    /// ```
    /// use stripe_chat_message::{ChatMessage, ObjectKind, ObjectRef};
    /// assert!(ChatMessage::new("t").thread(ObjectRef::new(ObjectKind::Dispute, "dp_1")).thread_key.is_some());
    /// ```
    pub fn thread(mut self, object: ObjectRef) -> Self {
        self.thread_key = Some(object);
        self
    }

    /// Sets the footer.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::ChatMessage::new("t").footer("f").footer.as_deref(), Some("f"));
    /// ```
    pub fn footer(mut self, footer: impl Into<String>) -> Self {
        self.footer = Some(footer.into());
        self
    }

    /// Sets the timestamp (Unix seconds).
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::ChatMessage::new("t").timestamp(1_700_000_000).timestamp, Some(1_700_000_000));
    /// ```
    pub fn timestamp(mut self, unix_seconds: i64) -> Self {
        self.timestamp = Some(unix_seconds);
        self
    }

    /// Sets the event behind the message.
    ///
    /// ```
    /// use stripe_chat_message::{ChatMessage, Source};
    /// let m = ChatMessage::new("t").source(Source { event_id: "evt_1".into(), event_type: "x".into(), livemode: true });
    /// assert_eq!(m.source.map(|s| s.event_id), Some("evt_1".to_string()));
    /// ```
    pub fn source(mut self, source: Source) -> Self {
        self.source = Some(source);
        self
    }

    /// Sets the connected account (`acct_...`) the message's objects belong to.
    ///
    /// ```
    /// let m = stripe_chat_message::ChatMessage::new("t").account("acct_1");
    /// assert_eq!(m.account.as_deref(), Some("acct_1"));
    /// ```
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// What a platform puts in the button of `action`, a callback action of this message, so
    /// that a click names the action, its object and the message's connected account
    /// ([`callback_token`]).
    ///
    /// ```
    /// use stripe_chat_message::{Action, ChatMessage, ObjectKind, ObjectRef};
    /// let retry = Action::callback("retry_payment", "Retry payment", ObjectRef::new(ObjectKind::Invoice, "in_1"));
    /// let m = ChatMessage::new("t").account("acct_9").action(retry.clone());
    /// assert_eq!(m.callback_token(&retry), "sc:retry_payment:invoice:in_1@acct_9");
    /// ```
    pub fn callback_token(&self, action: &Action) -> String {
        callback_token(&action.id, &action.target, self.account.as_deref())
    }

    /// The main link: the first one, usually the object in the Stripe Dashboard.
    ///
    /// ```
    /// let m = stripe_chat_message::ChatMessage::new("t").link("a", "https://a.test").link("b", "https://b.test");
    /// assert_eq!(m.primary_link().map(|l| l.label.as_str()), Some("a"));
    /// ```
    pub fn primary_link(&self) -> Option<&Link> {
        self.links.first()
    }

    /// Calls `visit` with every piece of text in the message and where it sits, so a policy can
    /// rewrite it. URLs are included (as [`TextSlot::Url`]); ids of thread keys and action targets
    /// are not, as they are Stripe ids and never personal data.
    ///
    /// ```
    /// use stripe_chat_message::{ChatMessage, TextSlot};
    /// let mut m = ChatMessage::new("card 4242").field("Note", "hello");
    /// m.visit_text_mut(|slot, text| if slot == TextSlot::Title { *text = text.to_uppercase() });
    /// assert_eq!(m.title, "CARD 4242");
    /// ```
    pub fn visit_text_mut(&mut self, mut visit: impl FnMut(TextSlot, &mut String)) {
        visit(TextSlot::Title, &mut self.title);
        visit(TextSlot::Summary, &mut self.summary);
        for field in &mut self.fields {
            visit(TextSlot::FieldLabel, &mut field.label);
            visit(TextSlot::FieldValue(field.kind), &mut field.value);
        }
        for link in &mut self.links {
            visit(TextSlot::LinkLabel, &mut link.label);
            visit(TextSlot::Url, &mut link.url);
        }
        for action in &mut self.actions {
            visit(TextSlot::ActionLabel, &mut action.label);
            if let Some(url) = &mut action.url {
                visit(TextSlot::Url, url);
            }
        }
        for tag in &mut self.tags {
            visit(TextSlot::Tag, tag);
        }
        if let Some(footer) = &mut self.footer {
            visit(TextSlot::Footer, footer);
        }
    }
}

/// Where a piece of text sits in a [`ChatMessage`], as passed by [`ChatMessage::visit_text_mut`].
///
/// ```
/// use stripe_chat_message::{FieldKind, TextSlot};
/// assert_ne!(TextSlot::FieldValue(FieldKind::Email), TextSlot::FieldValue(FieldKind::Text));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TextSlot {
    /// The title.
    Title,
    /// The summary.
    Summary,
    /// A field's label.
    FieldLabel,
    /// A field's value, with the field's kind.
    FieldValue(FieldKind),
    /// A link's label.
    LinkLabel,
    /// A link's or link action's URL.
    Url,
    /// A button's label.
    ActionLabel,
    /// A tag.
    Tag,
    /// The footer.
    Footer,
}

/// Why a message could not be rendered for a platform.
///
/// ```
/// let e = stripe_chat_message::RenderError::Invalid("no title".into());
/// assert_eq!(e.to_string(), "message cannot be rendered: no title");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The message lacks something the platform requires.
    #[error("message cannot be rendered: {0}")]
    Invalid(String),
}

/// Turns a [`ChatMessage`] into the JSON body one chat platform expects. Pure: no I/O.
///
/// Implementations escape every piece of text for their platform and keep within its limits
/// (splitting or trimming with a link to the Dashboard), so the platform never rejects the body.
///
/// ```
/// use stripe_chat_message::{ChatMessage, RenderError, Renderer};
///
/// struct PlainJson;
/// impl Renderer for PlainJson {
///     fn platform(&self) -> &str { "plain" }
///     fn render(&self, message: &ChatMessage) -> Result<serde_json::Value, RenderError> {
///         Ok(serde_json::json!({ "text": message.title }))
///     }
/// }
/// let body = PlainJson.render(&ChatMessage::new("Invoice paid"))?;
/// assert_eq!(body["text"], "Invoice paid");
/// # Ok::<(), RenderError>(())
/// ```
pub trait Renderer: Send + Sync {
    /// Short lowercase name of the platform (`slack`, `teams`, ...).
    fn platform(&self) -> &str;

    /// The platform's name as people write it (`Slack`, `Microsoft Teams`), for text shown to
    /// readers ("Delayed 2 h by a Slack outage"). Defaults to [`platform`](Renderer::platform).
    ///
    /// ```
    /// use stripe_chat_message::{ChatMessage, RenderError, Renderer};
    /// struct Plain;
    /// impl Renderer for Plain {
    ///     fn platform(&self) -> &str { "plain" }
    ///     fn render(&self, _: &ChatMessage) -> Result<serde_json::Value, RenderError> { Ok(serde_json::json!({})) }
    /// }
    /// assert_eq!(Plain.display_name(), "plain");
    /// ```
    fn display_name(&self) -> &str {
        self.platform()
    }

    /// The request body for `message`.
    fn render(&self, message: &ChatMessage) -> Result<serde_json::Value, RenderError>;

    /// Checks a rendered body against the platform's documented limits: every limit it breaks,
    /// in words. Renderers keep within the limits, so this proves it (in tests, and before each
    /// send). Provided: no limits.
    ///
    /// ```
    /// use stripe_chat_message::{ChatMessage, RenderError, Renderer};
    /// struct Plain;
    /// impl Renderer for Plain {
    ///     fn platform(&self) -> &str { "plain" }
    ///     fn render(&self, _: &ChatMessage) -> Result<serde_json::Value, RenderError> { Ok(serde_json::json!({})) }
    /// }
    /// assert_eq!(Plain.validate_limits(&serde_json::json!({})), Ok(()));
    /// ```
    fn validate_limits(&self, body: &serde_json::Value) -> Result<(), Vec<String>> {
        let _ = body;
        Ok(())
    }
}

//! The built-in transformers: what support and finance people need at a glance for each flow.
//!
//! | events | transformer |
//! |---|---|
//! | `invoice.paid`, `invoice.payment_succeeded` | [`InvoicePaid`] |
//! | `invoice.payment_failed` | [`InvoicePaymentFailed`] |
//! | `invoice.payment_action_required` | [`InvoiceActionRequired`] |
//! | `payment_intent.payment_failed`, `charge.failed` | [`PaymentFailed`] |
//! | `payment_intent.succeeded` | [`PaymentSucceeded`] |
//! | `charge.refunded` | [`ChargeRefunded`] |
//! | `charge.dispute.*` | [`Dispute`] |
//! | `customer.updated` | [`CustomerUpdated`] |
//! | `customer.subscription.deleted`, `.trial_will_end`, `.updated` | [`SubscriptionChanged`] |
//! | anything else | [`Generic`] |
//!
//! Details the event leaves out and enrichment filled in (an expanded charge, payment intent
//! or customer where Stripe puts one when asked to expand it) are read through the same lenient
//! views, so an event renders the same whether the details came with it or from Stripe's API.
//! When wanted details could not be read, the message is tagged `details unavailable`; when
//! the customer's last contact is known, a "Last contacted" field says when and by whom.
//!
//! Every message's thread key is the business object the event is about,
//! [`StripeEvent::subject`]: a failed charge of an invoice threads onto the invoice, so the charge,
//! payment intent and invoice events of one failure land on one message.

use serde_json::Value;
use stripe_chat_events::catalog::words;
use stripe_chat_events::views::{ChargeView, PaymentFailure};
use stripe_chat_events::{LastContact, StripeEvent};
use stripe_chat_message::{Action, ChatMessage, ObjectKind, ObjectRef, Severity};

use crate::Registry;

mod customer;
mod dispute;
mod generic;
mod invoice;
mod payment;
mod subscription;

pub use customer::CustomerUpdated;
pub use dispute::Dispute;
pub use generic::Generic;
pub use invoice::{InvoiceActionRequired, InvoicePaid, InvoicePaymentFailed};
pub use payment::{ChargeRefunded, PaymentFailed, PaymentSucceeded};
pub use subscription::SubscriptionChanged;

/// Registers every built-in transformer in `registry`.
///
/// ```
/// let mut registry = stripe_chat_transform::Registry::empty();
/// stripe_chat_transform::builtin::register_all(&mut registry);
/// assert!(registry.patterns().count() >= 10);
/// ```
pub fn register_all(registry: &mut Registry) {
    registry
        .register("invoice.paid", InvoicePaid)
        .register("invoice.payment_succeeded", InvoicePaid)
        .register("invoice.payment_failed", InvoicePaymentFailed)
        .register("invoice.payment_action_required", InvoiceActionRequired)
        .register("payment_intent.payment_failed", PaymentFailed)
        .register("charge.failed", PaymentFailed)
        .register("payment_intent.succeeded", PaymentSucceeded)
        .register("charge.refunded", ChargeRefunded)
        .register("charge.dispute.*", Dispute)
        .register("customer.updated", CustomerUpdated)
        .register("customer.subscription.deleted", SubscriptionChanged)
        .register("customer.subscription.trial_will_end", SubscriptionChanged)
        .register("customer.subscription.updated", SubscriptionChanged);
}

/// Action ids of the built-in actions, shared with the code that carries them out: the ids of
/// the actions configuration grants (`stripe_chat_actions::ActionId`), so that a click on a
/// callback button names an action the engine knows.
///
/// ```
/// use stripe_chat_transform::builtin::actions;
/// assert_ne!(actions::RETRY_PAYMENT, actions::SEND_DUNNING_EMAIL);
/// ```
pub mod actions {
    /// Open the object in the Stripe Dashboard (link).
    ///
    /// ```
    /// assert_eq!(stripe_chat_transform::builtin::actions::OPEN_IN_STRIPE, "open_in_stripe");
    /// ```
    pub const OPEN_IN_STRIPE: &str = "open_in_stripe";
    /// Create a support ticket about the customer.
    ///
    /// ```
    /// assert_eq!(stripe_chat_transform::builtin::actions::CREATE_SUPPORT_TICKET, "create_ticket");
    /// ```
    pub const CREATE_SUPPORT_TICKET: &str = "create_ticket";
    /// Note that someone contacted the customer.
    ///
    /// ```
    /// assert_eq!(stripe_chat_transform::builtin::actions::MARK_CUSTOMER_CONTACTED, "mark_contacted");
    /// ```
    pub const MARK_CUSTOMER_CONTACTED: &str = "mark_contacted";
    /// Retry the invoice's payment now (moves money).
    ///
    /// ```
    /// assert_eq!(stripe_chat_transform::builtin::actions::RETRY_PAYMENT, "retry_payment");
    /// ```
    pub const RETRY_PAYMENT: &str = "retry_payment";
    /// Send the invoice (dunning) email to the customer.
    ///
    /// ```
    /// assert_eq!(stripe_chat_transform::builtin::actions::SEND_DUNNING_EMAIL, "send_dunning_email");
    /// ```
    pub const SEND_DUNNING_EMAIL: &str = "send_dunning_email";
    /// Assign the case to the billing queue.
    ///
    /// ```
    /// assert_eq!(stripe_chat_transform::builtin::actions::ASSIGN_BILLING_QUEUE, "assign");
    /// ```
    pub const ASSIGN_BILLING_QUEUE: &str = "assign";
    /// Stage evidence for a dispute (saved as a draft, not submitted).
    ///
    /// ```
    /// assert_eq!(stripe_chat_transform::builtin::actions::ADD_DISPUTE_EVIDENCE, "add_evidence");
    /// ```
    pub const ADD_DISPUTE_EVIDENCE: &str = "add_evidence";
    /// Notify legal and finance.
    ///
    /// ```
    /// assert_eq!(stripe_chat_transform::builtin::actions::NOTIFY_LEGAL_FINANCE, "notify");
    /// ```
    pub const NOTIFY_LEGAL_FINANCE: &str = "notify";
}

/// A message with what every built-in shares: source, time, footer, mode and Connect tags, the
/// thread key ([`StripeEvent::subject`]), and the Dashboard link of `primary` (first link).
pub(crate) fn base(
    event: &StripeEvent,
    title: String,
    severity: Severity,
    primary: Option<(&str, ObjectRef)>,
) -> ChatMessage {
    let mut footer = format!("{} · {}", event.event_type(), event.id());
    if let Some(version) = event.api_version() {
        footer.push_str(&format!(" · API {version}"));
    }
    let mut message = ChatMessage::new(title)
        .severity(severity)
        .source(event.source())
        .timestamp(event.created())
        .footer(footer);
    if let Some((label, object)) = primary {
        message = message.link(label, event.dashboard().object(&object));
    } else if let Some(object) = event.object_ref() {
        message = message.link("Open in Stripe", event.dashboard().object(&object));
    }
    if let Some(subject) = event.subject() {
        message = message.thread(subject);
    }
    if let Some(account) = event.account() {
        message = message.account(account);
    }
    message
}

/// What every built-in adds last: the last contact and the "details unavailable" mark from
/// enrichment, the test mode and Connect tags.
pub(crate) fn finish(event: &StripeEvent, mut message: ChatMessage) -> ChatMessage {
    if let Some(enrichment) = event.enrichment() {
        if let Some(contact) = enrichment.contact() {
            message = message.field("Last contacted", last_contact(event, contact));
        }
        if enrichment.is_details_unavailable() {
            message = message.tag("details unavailable");
        }
    }
    if !event.livemode() {
        message = message.tag("test mode");
    }
    if let Some(account) = event.account() {
        message = message.tag(format!("connect {account}"));
        if let Some(url) = event.dashboard().connected_account() {
            message = message.link("Connected account", url);
        }
    }
    message
}

/// `2 days ago by ana`, counted from the event's time (no clock: the message is the same
/// whenever it is rendered); a contact after the event is given by its date.
fn last_contact(event: &StripeEvent, contact: &LastContact) -> String {
    use stripe_chat_message::text::{format_duration, format_unix_utc};
    let before = event.created() - contact.at;
    let when = if before >= 60 {
        format!("{} ago", format_duration(before))
    } else if before >= 0 {
        "just before this event".to_owned()
    } else {
        format_unix_utc(contact.at)
    };
    format!("{when} by {}", contact.by)
}

/// The object at `path` (a JSON pointer) when it is expanded (an object, not an id).
pub(crate) fn expanded<'a>(json: &'a Value, pointer: &str) -> Option<&'a Value> {
    json.pointer(pointer).filter(|v| v.is_object())
}

/// `failure`, else the charge's failure; the card from the charge when the failure has none.
pub(crate) fn with_charge(
    failure: Option<PaymentFailure>,
    charge: Option<ChargeView<'_>>,
) -> Option<PaymentFailure> {
    let Some(charge) = charge else {
        return failure;
    };
    match failure {
        Some(mut failure) => {
            if failure.card.is_none() {
                failure.card = charge.card();
            }
            Some(failure)
        }
        None => charge.failure(),
    }
}

/// A link action opening `object` in the Dashboard.
pub(crate) fn open_action(event: &StripeEvent, label: &str, object: &ObjectRef) -> Action {
    Action::link(
        actions::OPEN_IN_STRIPE,
        label,
        object.clone(),
        event.dashboard().object(object),
    )
}

/// `object` as a reference, when `id` is present.
pub(crate) fn object(kind: ObjectKind, id: Option<&str>) -> Option<ObjectRef> {
    id.map(|id| ObjectRef::new(kind, id))
}

/// Who a message is about, in words: name, else email, else customer id, else "a customer".
pub(crate) fn who(name: Option<&str>, email: Option<&str>, customer: Option<&str>) -> String {
    name.or(email)
        .or(customer)
        .unwrap_or("a customer")
        .to_owned()
}

/// Event type `customer.subscription.trial_will_end` → `Customer subscription trial will end`.
pub(crate) fn type_in_words(event_type: &str) -> String {
    let text = words(&event_type.replace('.', " "));
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A time, and how far it is from the event's time (`2026-12-05 23:59 UTC (6 days 3 h from now)`).
pub(crate) fn time_and_distance(event: &StripeEvent, at: i64) -> String {
    use stripe_chat_message::text::{format_duration, format_unix_utc};
    let delta = at - event.created();
    let distance = if delta >= 0 {
        format!("in {}", format_duration(delta))
    } else {
        format!("{} ago", format_duration(delta))
    };
    format!("{} ({distance})", format_unix_utc(at))
}

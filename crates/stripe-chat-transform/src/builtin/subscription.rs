//! Subscriptions: canceled, trial ending, plan or status changed.

use serde_json::Value;
use stripe_chat_events::StripeEvent;
use stripe_chat_events::catalog::{subscription_status, words};
use stripe_chat_message::{Action, ActionStyle, ChatMessage, ObjectKind, ObjectRef, Severity};

use super::{actions, base, finish, object, open_action, time_and_distance};
use crate::{TransformError, Transformer};

/// `customer.subscription.deleted`, `.trial_will_end` and `.updated`.
///
/// An update is reported when the plan, the status or the cancel-at-period-end flag changed; other
/// updates (metadata, billing anchors, ...) are declined as noise.
///
/// ```
/// use stripe_chat_events::StripeEvent;
/// use stripe_chat_transform::{builtin::SubscriptionChanged, Transformer};
/// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"customer.subscription.updated","created":1,
///   "data":{"object":{"id":"sub_1","object":"subscription","customer":"cus_1","status":"past_due"},
///   "previous_attributes":{"status":"active"}}}"#)?;
/// let m = SubscriptionChanged.transform(&event).unwrap().unwrap();
/// assert_eq!(m.title, "Subscription past due: cus_1 (was active)");
/// # Ok::<(), stripe_chat_events::EventError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SubscriptionChanged;

impl Transformer for SubscriptionChanged {
    fn transform(&self, event: &StripeEvent) -> Result<Option<ChatMessage>, TransformError> {
        let sub = event.subscription().ok_or_else(|| {
            TransformError::unexpected(event.event_type(), "data.object is not a subscription")
        })?;
        let id = sub.id().ok_or_else(|| {
            TransformError::unexpected(event.event_type(), "the subscription has no id")
        })?;
        let target = ObjectRef::new(ObjectKind::Subscription, id);
        let customer = sub.customer_id();
        let who = sub
            .str("customer.name")
            .or_else(|| sub.str("customer.email"))
            .or(customer)
            .unwrap_or("a customer")
            .to_owned();
        let plans = sub.plans();
        let plan_text = plans.join(", ");
        let status = sub.status().unwrap_or("unknown");
        let previous = event.previous_attributes().and_then(Value::as_object);

        let (title, severity, summary) = match event.event_type() {
            "customer.subscription.deleted" => {
                let reason = sub.cancellation_reason().map(words);
                let summary = match &reason {
                    Some(r) => format!("Canceled ({r}). No further invoices will be created."),
                    None => "Canceled. No further invoices will be created.".to_owned(),
                };
                (
                    format!("Subscription canceled: {who}"),
                    Severity::Warning,
                    summary,
                )
            }
            "customer.subscription.trial_will_end" => {
                let summary = match sub.trial_end() {
                    Some(end) => format!(
                        "The trial ends {}; the first invoice follows unless the customer cancels.",
                        time_and_distance(event, end)
                    ),
                    None => "The trial ends soon; the first invoice follows.".to_owned(),
                };
                (format!("Trial ending soon: {who}"), Severity::Info, summary)
            }
            _ => {
                let Some(previous) = previous else {
                    return Ok(None);
                };
                if let Some(old) = previous.get("status").and_then(Value::as_str) {
                    let severity = match status {
                        "past_due" | "unpaid" | "incomplete_expired" | "canceled" => {
                            Severity::Warning
                        }
                        "active" if matches!(old, "past_due" | "unpaid") => Severity::Success,
                        _ => Severity::Info,
                    };
                    (
                        format!(
                            "Subscription {}: {who} (was {})",
                            subscription_status(status).to_lowercase(),
                            subscription_status(old).to_lowercase()
                        ),
                        severity,
                        format!(
                            "Status changed from {} to {}.",
                            subscription_status(old).to_lowercase(),
                            subscription_status(status).to_lowercase()
                        ),
                    )
                } else if previous.contains_key("items") || previous.contains_key("plan") {
                    let old_plans = stripe_chat_events_plans(previous);
                    let summary = if old_plans.is_empty() {
                        format!("Now on {plan_text}.")
                    } else {
                        format!("{} → {plan_text}.", old_plans.join(", "))
                    };
                    (format!("Plan changed: {who}"), Severity::Info, summary)
                } else if let Some(old) = previous
                    .get("cancel_at_period_end")
                    .and_then(Value::as_bool)
                {
                    if sub.cancel_at_period_end() && !old {
                        let when = sub
                            .current_period_end()
                            .map(|end| format!(" It ends {}.", time_and_distance(event, end)))
                            .unwrap_or_default();
                        (
                            format!("Subscription set to cancel: {who}"),
                            Severity::Warning,
                            format!("The customer will not renew.{when}"),
                        )
                    } else {
                        (
                            format!("Cancellation undone: {who}"),
                            Severity::Success,
                            "The subscription renews again.".to_owned(),
                        )
                    }
                } else {
                    return Ok(None);
                }
            }
        };

        let mut m = base(
            event,
            title,
            severity,
            Some(("Subscription in Stripe", target.clone())),
        )
        .summary(summary)
        .field("Status", subscription_status(status));
        if !plan_text.is_empty() {
            m = m.field(if plans.len() == 1 { "Plan" } else { "Plans" }, plan_text);
        }
        if let Some(end) = sub.current_period_end() {
            m = m.field(
                "Current period ends",
                stripe_chat_message::text::format_unix_utc(end),
            );
        }
        if let Some(customer) = object(ObjectKind::Customer, customer) {
            m = m.link("Customer", event.dashboard().object(&customer));
        }
        m = m.tag("subscription");
        let about = object(ObjectKind::Customer, customer).unwrap_or_else(|| target.clone());
        m = m
            .action(open_action(event, "Open subscription", &target).style(ActionStyle::Primary))
            .action(Action::callback(
                actions::MARK_CUSTOMER_CONTACTED,
                "Mark customer contacted",
                about,
            ));
        Ok(Some(finish(event, m)))
    }
}

/// The plans named in `previous_attributes` (old `items` or `plan`).
fn stripe_chat_events_plans(previous: &serde_json::Map<String, Value>) -> Vec<String> {
    let value = Value::Object(previous.clone());
    stripe_chat_events::views::SubscriptionView::new(&value).plans()
}

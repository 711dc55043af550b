//! Customers: billing information changed.

use serde_json::Value;
use stripe_chat_events::{Money, StripeEvent};
use stripe_chat_message::{
    Action, ActionStyle, ChatMessage, FieldKind, ObjectKind, ObjectRef, Severity,
};

use super::{actions, base, finish, open_action};
use crate::{TransformError, Transformer};

/// Customer fields that matter to billing, with how to show them.
const BILLING_FIELDS: &[(&str, &str, FieldKind)] = &[
    ("name", "Name", FieldKind::Name),
    ("email", "Email", FieldKind::Email),
    ("phone", "Phone", FieldKind::Phone),
    ("address", "Billing address", FieldKind::Address),
    ("shipping", "Shipping address", FieldKind::Address),
    ("default_source", "Default payment source", FieldKind::Text),
    ("tax_exempt", "Tax status", FieldKind::Text),
    ("currency", "Currency", FieldKind::Text),
    ("balance", "Balance", FieldKind::Text),
    ("invoice_prefix", "Invoice prefix", FieldKind::Text),
    ("preferred_locales", "Invoice language", FieldKind::Text),
    ("delinquent", "Delinquent", FieldKind::Text),
];

/// `invoice_settings` sub-fields that matter to billing.
const INVOICE_SETTINGS: &[(&str, &str)] = &[
    ("default_payment_method", "Default payment method"),
    ("footer", "Invoice footer"),
    ("custom_fields", "Invoice custom fields"),
];

/// `customer.updated`: what billing information changed, old → new (redacted by policy later).
///
/// Declines (returns `None`) when nothing billing-related changed, e.g. only `metadata`.
///
/// ```
/// use stripe_chat_events::StripeEvent;
/// use stripe_chat_transform::{builtin::CustomerUpdated, Transformer};
/// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"customer.updated","created":1,
///   "data":{"object":{"id":"cus_1","object":"customer","name":"Jenny Rosen","email":"new@example.com"},
///   "previous_attributes":{"email":"old@example.com"}}}"#)?;
/// let m = CustomerUpdated.transform(&event).unwrap().unwrap();
/// assert_eq!(m.fields[1].value, "old@example.com → new@example.com");
/// # Ok::<(), stripe_chat_events::EventError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CustomerUpdated;

impl Transformer for CustomerUpdated {
    fn transform(&self, event: &StripeEvent) -> Result<Option<ChatMessage>, TransformError> {
        let customer = event.customer().ok_or_else(|| {
            TransformError::unexpected(event.event_type(), "data.object is not a customer")
        })?;
        let id = customer.id().ok_or_else(|| {
            TransformError::unexpected(event.event_type(), "the customer has no id")
        })?;
        let Some(previous) = event.previous_attributes().and_then(Value::as_object) else {
            return Ok(None);
        };
        let now = customer.json();
        let currency = customer.str("currency");

        let mut changes: Vec<(String, String, FieldKind)> = Vec::new();
        for (key, label, kind) in BILLING_FIELDS {
            if let Some(old) = previous.get(*key) {
                let new = now.get(*key).unwrap_or(&Value::Null);
                if old != new {
                    let render = |v: &Value| show(key, v, currency);
                    changes.push((
                        (*label).to_owned(),
                        format!("{} → {}", render(old), render(new)),
                        *kind,
                    ));
                }
            }
        }
        if let Some(old_settings) = previous.get("invoice_settings") {
            for (key, label) in INVOICE_SETTINGS {
                let old = old_settings.get(*key).unwrap_or(&Value::Null);
                let new = now
                    .pointer(&format!("/invoice_settings/{key}"))
                    .unwrap_or(&Value::Null);
                if old != new {
                    changes.push((
                        (*label).to_owned(),
                        format!(
                            "{} → {}",
                            show(key, old, currency),
                            show(key, new, currency)
                        ),
                        FieldKind::Text,
                    ));
                }
            }
        }
        if changes.is_empty() {
            return Ok(None);
        }

        let who = super::who(customer.name(), customer.email(), Some(id));
        let target = ObjectRef::new(ObjectKind::Customer, id);
        let what: Vec<String> = changes
            .iter()
            .map(|(label, _, _)| label.to_lowercase())
            .collect();
        let mut m = base(
            event,
            format!("Billing info updated: {who}"),
            Severity::Info,
            Some(("Customer in Stripe", target.clone())),
        )
        .summary(format!("Changed: {}.", what.join(", ")));
        if let Some(name) = customer.name() {
            m = m.field_of_kind("Customer", name, FieldKind::Name);
        }
        for (label, value, kind) in changes {
            m = m.field_of_kind(label, value, kind);
        }
        m = m
            .tag("billing info")
            .action(open_action(event, "Open customer", &target).style(ActionStyle::Primary))
            .action(Action::callback(
                actions::MARK_CUSTOMER_CONTACTED,
                "Mark customer contacted",
                target,
            ));
        Ok(Some(finish(event, m)))
    }
}

/// A customer attribute's value in words.
fn show(key: &str, value: &Value, currency: Option<&str>) -> String {
    match value {
        Value::Null => "(none)".to_owned(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        Value::Number(n) if key == "balance" => match (n.as_i64(), currency) {
            (Some(amount), Some(currency)) => Money::new(amount, currency).to_string(),
            _ => n.to_string(),
        },
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.is_empty() => "(none)".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "(none)".to_owned(),
        Value::Array(items) => items
            .iter()
            .map(|v| show(key, v, currency))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(map) => {
            if let Some(address) = map.get("address").filter(|a| a.is_object()) {
                // A shipping block: name and address.
                let name = map.get("name").and_then(Value::as_str).unwrap_or_default();
                let address = show("address", address, currency);
                return if name.is_empty() {
                    address
                } else {
                    format!("{name}, {address}")
                };
            }
            let parts: Vec<&str> = ["line1", "line2", "postal_code", "city", "state", "country"]
                .iter()
                .filter_map(|k| map.get(*k).and_then(Value::as_str))
                .filter(|s| !s.is_empty())
                .collect();
            if !parts.is_empty() {
                return parts.join(", ");
            }
            if let Some(id) = map.get("id").and_then(Value::as_str) {
                return id.to_owned();
            }
            let pairs: Vec<String> = map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("{k}: {}", show(k, v, currency)))
                .collect();
            if pairs.is_empty() {
                "(none)".to_owned()
            } else {
                pairs.join("; ")
            }
        }
    }
}

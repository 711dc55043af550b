//! Disputes: opened, updated, closed, funds withdrawn or reinstated.

use stripe_chat_events::StripeEvent;
use stripe_chat_events::catalog::{dispute_reason, dispute_status};
use stripe_chat_events::views::ChargeView;
use stripe_chat_message::text::format_unix_utc;
use stripe_chat_message::{
    Action, ActionStyle, ChatMessage, FieldKind, ObjectKind, ObjectRef, Severity,
};

use super::{
    actions, base, expanded, finish, object, open_action, time_and_distance, type_in_words,
};
use crate::{TransformError, Transformer};

/// `charge.dispute.*`: amount, reason in words, status, the charge, the deadline and time left.
///
/// Actions while a response is due: add evidence (staged as a draft), notify legal/finance.
///
/// ```
/// use stripe_chat_events::StripeEvent;
/// use stripe_chat_transform::{builtin::Dispute, Transformer};
/// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"charge.dispute.created","created":1764000000,
///   "livemode":true,"data":{"object":{"id":"dp_1","object":"dispute","amount":5000,"currency":"jpy","charge":"ch_1",
///   "reason":"fraudulent","status":"needs_response","evidence_details":{"due_by":1764604800}}}}"#)?;
/// let m = Dispute.transform(&event).unwrap().unwrap();
/// assert_eq!(m.title, "Dispute opened: 5,000 JPY — Fraudulent (cardholder says they did not make it)");
/// assert!(m.fields.iter().any(|f| f.label == "Respond by" && f.value.contains("in 7 days")));
/// # Ok::<(), stripe_chat_events::EventError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Dispute;

impl Transformer for Dispute {
    fn transform(&self, event: &StripeEvent) -> Result<Option<ChatMessage>, TransformError> {
        let dispute = event.dispute().ok_or_else(|| {
            TransformError::unexpected(event.event_type(), "data.object is not a dispute")
        })?;
        let id = dispute.id().ok_or_else(|| {
            TransformError::unexpected(event.event_type(), "the dispute has no id")
        })?;
        let target = ObjectRef::new(ObjectKind::Dispute, id);
        let amount = dispute.money("amount");
        let amount_text = amount
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "a payment".into());
        let reason = dispute
            .reason()
            .map(dispute_reason)
            .unwrap_or_else(|| "no reason given".into());
        let status = dispute.status().unwrap_or("unknown");
        let needs_response = matches!(status, "needs_response" | "warning_needs_response");
        let kind = event.event_type().rsplit('.').next().unwrap_or_default();

        let (title, severity) = match (kind, status) {
            ("created", _) => (
                format!("Dispute opened: {amount_text} — {reason}"),
                Severity::Critical,
            ),
            ("closed", "won") => (format!("Dispute won: {amount_text}"), Severity::Success),
            ("closed", "lost") => (format!("Dispute lost: {amount_text}"), Severity::Critical),
            ("closed", "warning_closed") => {
                (format!("Inquiry closed: {amount_text}"), Severity::Success)
            }
            ("closed", _) => (format!("Dispute closed: {amount_text}"), Severity::Info),
            ("funds_withdrawn", _) => (
                format!("Dispute funds withdrawn: {amount_text}"),
                Severity::Warning,
            ),
            ("funds_reinstated", _) => (
                format!("Dispute funds reinstated: {amount_text}"),
                Severity::Success,
            ),
            ("updated", _) => (
                format!(
                    "Dispute updated: {amount_text} — {}",
                    dispute_status(status)
                ),
                if needs_response {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
            ),
            _ => (
                format!("{}: {amount_text}", type_in_words(event.event_type())),
                Severity::Warning,
            ),
        };

        let due_by = dispute.due_by();
        let mut summary = String::new();
        if needs_response {
            match due_by {
                Some(due) if due > event.created() && !dispute.past_due() => {
                    summary.push_str(&format!(
                        "Respond with evidence by {}, or the bank decides without it.",
                        time_and_distance(event, due)
                    ))
                }
                Some(due) => summary.push_str(&format!(
                    "The deadline to respond ({}) has passed.",
                    format_unix_utc(due)
                )),
                None => summary.push_str("Respond with evidence in the Dashboard."),
            }
        } else {
            summary.push_str(&match status {
                "under_review" | "warning_under_review" => {
                    "Evidence is submitted; the bank is reviewing it.".to_owned()
                }
                "won" => "The bank decided in your favour; the funds are returned.".to_owned(),
                "lost" => {
                    "The bank decided for the cardholder; the amount and the dispute fee are lost."
                        .to_owned()
                }
                other => format!("Status: {}.", dispute_status(other)),
            });
        }

        let mut m = base(
            event,
            title,
            severity,
            Some(("Dispute in Stripe", target.clone())),
        )
        .summary(summary);
        if let Some(amount) = &amount {
            m = m.field("Amount", amount.to_string());
        }
        // The disputed charge, when expanded: who paid, and with which card.
        let charge = expanded(dispute.json(), "/charge").map(ChargeView::new);
        if let Some(charge) = charge {
            if let Some(name) = charge
                .billing_name()
                .or_else(|| charge.str("customer.name"))
            {
                m = m.field_of_kind("Customer", name, FieldKind::Name);
            }
            if let Some(email) = charge.email().or_else(|| charge.str("customer.email")) {
                m = m.field_of_kind("Email", email, FieldKind::Email);
            }
        }
        m = m
            .field("Reason", reason)
            .field("Status", dispute_status(status));
        if let Some(previous) = event
            .previous_attributes()
            .and_then(|p| p.get("status"))
            .and_then(|s| s.as_str())
        {
            m = m.field("Previous status", dispute_status(previous));
        }
        if let Some(due) = due_by {
            let value = if dispute.evidence_submitted() {
                format!("{} (evidence submitted)", format_unix_utc(due))
            } else if dispute.past_due() || due <= event.created() {
                format!("{} (past due)", format_unix_utc(due))
            } else {
                time_and_distance(event, due)
            };
            m = m.field("Respond by", value);
        }
        if let Some(charge) = dispute.charge_id() {
            m = m.field("Charge", charge);
        }
        // The dispute names the card's brand; the charge, when expanded, its last 4 too.
        let card = match (dispute.card(), charge.and_then(|c| c.card())) {
            (Some(disputed), Some(charged)) if disputed.last4.is_none() => Some(charged),
            (disputed, charged) => disputed.or(charged),
        };
        if let Some(card) = card {
            m = m.field_of_kind("Card", card.to_string(), FieldKind::Card);
        }
        if let Some(code) = dispute.network_reason_code() {
            m = m.field("Network reason code", code);
        }
        let dashboard = event.dashboard();
        if let Some(charge) = object(ObjectKind::Charge, dispute.charge_id()) {
            m = m.link("Disputed charge", dashboard.object(&charge));
        }
        if let Some(pi) = object(ObjectKind::PaymentIntent, dispute.payment_intent_id()) {
            m = m.link("Payment", dashboard.object(&pi));
        }
        m = m.tag("dispute");
        if needs_response {
            m = m.action(
                Action::callback(
                    actions::ADD_DISPUTE_EVIDENCE,
                    "Add evidence",
                    target.clone(),
                )
                .style(ActionStyle::Primary),
            );
        }
        if !matches!(status, "won" | "warning_closed") {
            m = m.action(Action::callback(
                actions::NOTIFY_LEGAL_FINANCE,
                "Notify legal/finance",
                target.clone(),
            ));
        }
        m = m.action(open_action(event, "Open dispute", &target));
        Ok(Some(finish(event, m)))
    }
}

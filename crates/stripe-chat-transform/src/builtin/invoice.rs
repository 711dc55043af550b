//! Invoices: paid, payment failed, customer action required.

use stripe_chat_events::StripeEvent;
use stripe_chat_events::catalog::billing_reason;
use stripe_chat_events::views::{ChargeView, InvoiceView, PaymentFailure, PaymentIntentView};
use stripe_chat_message::{
    Action, ActionStyle, ChatMessage, FieldKind, ObjectKind, ObjectRef, Severity,
};

use super::{
    actions, base, expanded, finish, object, open_action, time_and_distance, who, with_charge,
};
use crate::{TransformError, Transformer};

/// How many line descriptions a message lists before "+N more".
const LINES_SHOWN: usize = 3;

fn invoice_of<'a>(event: &'a StripeEvent) -> Result<(InvoiceView<'a>, ObjectRef), TransformError> {
    let invoice = event.invoice().ok_or_else(|| {
        TransformError::unexpected(event.event_type(), "data.object is not an invoice")
    })?;
    let id = invoice
        .id()
        .ok_or_else(|| TransformError::unexpected(event.event_type(), "the invoice has no id"))?;
    Ok((invoice, ObjectRef::new(ObjectKind::Invoice, id)))
}

fn label(invoice: &InvoiceView<'_>) -> String {
    match invoice.number() {
        Some(number) => format!("invoice {number}"),
        None => "a draft invoice".to_owned(),
    }
}

/// Customer, email, invoice number, links to customer/subscription/hosted page, type tag.
fn common(invoice: &InvoiceView<'_>, mut m: ChatMessage) -> ChatMessage {
    if let Some(name) = invoice.customer_name() {
        m = m.field_of_kind("Customer", name, FieldKind::Name);
    }
    if let Some(email) = invoice.customer_email() {
        m = m.field_of_kind("Email", email, FieldKind::Email);
    }
    if let Some(number) = invoice.number() {
        m = m.field("Invoice", number);
    }
    m
}

fn trailing_links(
    event: &StripeEvent,
    invoice: &InvoiceView<'_>,
    mut m: ChatMessage,
) -> ChatMessage {
    let dashboard = event.dashboard();
    if let Some(customer) = object(ObjectKind::Customer, invoice.customer_id()) {
        m = m.link("Customer", dashboard.object(&customer));
    }
    if let Some(subscription) = object(ObjectKind::Subscription, invoice.subscription_id()) {
        m = m.link("Subscription", dashboard.object(&subscription));
    }
    if let Some(url) = invoice.hosted_invoice_url() {
        m = m.link("Customer's invoice page", url);
    }
    m.tag(if invoice.is_subscription() {
        "subscription"
    } else {
        "one-time"
    })
}

fn lines_field(invoice: &InvoiceView<'_>, m: ChatMessage) -> ChatMessage {
    let shown: Vec<&str> = invoice.line_descriptions().take(LINES_SHOWN).collect();
    if shown.is_empty() {
        return m;
    }
    let total = invoice
        .line_count()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(shown.len());
    let mut text = shown.join("; ");
    if total > shown.len() {
        text.push_str(&format!("; +{} more", total - shown.len()));
    }
    m.field(if total == 1 { "Item" } else { "Items" }, text)
}

/// `invoice.paid` and `invoice.payment_succeeded`: who paid, which invoice, how much, what for.
///
/// Actions: open the invoice, create a support ticket, mark the customer contacted.
///
/// ```
/// use stripe_chat_events::StripeEvent;
/// use stripe_chat_transform::{builtin::InvoicePaid, Transformer};
/// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"invoice.paid","created":1764000000,
///   "data":{"object":{"id":"in_1","object":"invoice","number":"ABC-0001","customer":"cus_1","customer_name":"Jenny Rosen",
///   "amount_paid":2000,"currency":"usd","billing_reason":"subscription_cycle","subscription":"sub_1"}}}"#)?;
/// let m = InvoicePaid.transform(&event).unwrap().unwrap();
/// assert_eq!(m.title, "Invoice ABC-0001 paid: 20.00 USD from Jenny Rosen");
/// assert!(m.tags.contains(&"subscription".to_string()));
/// # Ok::<(), stripe_chat_events::EventError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct InvoicePaid;

impl Transformer for InvoicePaid {
    fn transform(&self, event: &StripeEvent) -> Result<Option<ChatMessage>, TransformError> {
        let (invoice, target) = invoice_of(event)?;
        let payer = who(
            invoice.customer_name(),
            invoice.customer_email(),
            invoice.customer_id(),
        );
        let amount = invoice.amount_paid().or_else(|| invoice.amount_due());
        let amount_text = amount
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "an amount".into());
        let title = match invoice.number() {
            Some(number) => format!("Invoice {number} paid: {amount_text} from {payer}"),
            None => format!("Invoice paid: {amount_text} from {payer}"),
        };
        let reason = invoice.billing_reason().map(billing_reason);
        let summary = match &reason {
            Some(reason) => format!("{reason}: {payer} paid {} in full.", label(&invoice)),
            None => format!("{payer} paid {} in full.", label(&invoice)),
        };
        let mut m = base(
            event,
            title,
            Severity::Success,
            Some(("Invoice in Stripe", target.clone())),
        )
        .summary(summary);
        m = common(&invoice, m);
        if let Some(amount) = &amount {
            m = m.field("Amount paid", amount.to_string());
        }
        if let Some(reason) = reason {
            m = m.field("Billing reason", reason);
        }
        if let Some(sub) = invoice.subscription_id() {
            m = m.field("Subscription", sub);
        }
        m = lines_field(&invoice, m);
        m = trailing_links(event, &invoice, m);
        m = m.action(open_action(event, "Open invoice", &target).style(ActionStyle::Primary));
        let customer = object(ObjectKind::Customer, invoice.customer_id());
        let about = customer.clone().unwrap_or_else(|| target.clone());
        m = m
            .action(Action::callback(
                actions::CREATE_SUPPORT_TICKET,
                "Create support ticket",
                about.clone(),
            ))
            .action(Action::callback(
                actions::MARK_CUSTOMER_CONTACTED,
                "Mark customer contacted",
                about,
            ));
        Ok(Some(finish(event, m)))
    }
}

/// The failure behind an invoice, when the event carries it or enrichment filled it in: the
/// payment intent's `last_payment_error` (top-level `payment_intent` before API
/// `2025-03-31.basil`, the first of `payments` after), else its charge's failure, with the card
/// from the charge when the error names none.
fn invoice_failure(invoice: &InvoiceView<'_>) -> Option<PaymentFailure> {
    let json = invoice.json();
    let pi = expanded(json, "/payment_intent")
        .or_else(|| expanded(json, "/payments/data/0/payment/payment_intent"));
    let charge = expanded(json, "/charge")
        .or_else(|| expanded(json, "/payments/data/0/payment/charge"))
        .or_else(|| pi.and_then(|pi| expanded(pi, "/latest_charge")))
        .map(ChargeView::new);
    let failure = pi
        .and_then(|pi| PaymentIntentView::new(pi).last_payment_error())
        .or_else(|| {
            json.get("last_payment_error")
                .filter(|v| v.is_object())
                .and_then(|_| PaymentIntentView::new(json).last_payment_error())
        });
    with_charge(failure, charge)
}

/// `invoice.payment_failed`: why, what Stripe does next, what it means for the subscription.
///
/// Actions: retry the payment now, send the dunning email, assign to the billing queue.
///
/// ```
/// use stripe_chat_events::StripeEvent;
/// use stripe_chat_transform::{builtin::InvoicePaymentFailed, Transformer};
/// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"invoice.payment_failed","created":1764000000,
///   "data":{"object":{"id":"in_1","object":"invoice","number":"ABC-0001","customer_name":"Jenny Rosen",
///   "amount_due":2000,"currency":"usd","attempt_count":4,"next_payment_attempt":null,"subscription":"sub_1"}}}"#)?;
/// let m = InvoicePaymentFailed.transform(&event).unwrap().unwrap();
/// assert!(m.fields.iter().any(|f| f.label == "Next retry" && f.value.starts_with("No more automatic retries")));
/// assert!(m.actions.iter().any(|a| a.id == "retry_payment" && a.moves_money));
/// # Ok::<(), stripe_chat_events::EventError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct InvoicePaymentFailed;

impl Transformer for InvoicePaymentFailed {
    fn transform(&self, event: &StripeEvent) -> Result<Option<ChatMessage>, TransformError> {
        let (invoice, target) = invoice_of(event)?;
        let payer = who(
            invoice.customer_name(),
            invoice.customer_email(),
            invoice.customer_id(),
        );
        let amount = invoice
            .amount_remaining()
            .filter(|m| m.amount > 0)
            .or_else(|| invoice.amount_due());
        let amount_text = amount
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "a payment".into());
        let attempt = invoice.attempt_count().filter(|&n| n > 0);
        let next = invoice.next_payment_attempt();
        let final_attempt = next.is_none();
        let title = format!(
            "Payment failed: {amount_text} from {payer} ({})",
            label(&invoice)
        );
        let failure = invoice_failure(&invoice);
        let reason = failure.as_ref().map(PaymentFailure::reason_in_words);

        let mut summary = match &reason {
            Some(reason) => reason.clone(),
            None => "The payment attempt failed.".to_owned(),
        };
        summary.push(' ');
        summary.push_str(&match next {
            Some(at) => format!(
                "Stripe retries automatically {}.",
                time_and_distance(event, at)
            ),
            None => {
                "No more automatic retries are scheduled: someone needs to follow up.".to_owned()
            }
        });

        let severity = if final_attempt {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let mut m = base(
            event,
            title,
            severity,
            Some(("Invoice in Stripe", target.clone())),
        )
        .summary(summary);
        m = common(&invoice, m);
        if let Some(amount) = &amount {
            m = m.field("Amount due", amount.to_string());
        }
        m = m.field(
            "Failure reason",
            reason.unwrap_or_else(|| {
                "Not included in the invoice event; see the payment in Stripe.".into()
            }),
        );
        if let Some(card) = failure.as_ref().and_then(|f| f.card.as_ref()) {
            m = m.field_of_kind("Card", card.to_string(), FieldKind::Card);
        }
        if let Some(attempt) = attempt {
            m = m.field("Attempt", attempt.to_string());
        }
        m = m.field(
            "Next retry",
            match next {
                Some(at) => time_and_distance(event, at),
                None => "No more automatic retries".to_owned(),
            },
        );
        if let Some(sub) = invoice.subscription_id() {
            let impact = if final_attempt {
                format!(
                    "{sub}: retries are exhausted; the subscription is canceled, marked unpaid or left past due as set in your Billing settings."
                )
            } else {
                format!("{sub}: stays active while Stripe retries; it may show as past due.")
            };
            m = m.field("Subscription impact", impact);
        } else {
            m = m.field("Subscription impact", "None: one-time invoice.");
        }
        m = trailing_links(event, &invoice, m);
        let about =
            object(ObjectKind::Customer, invoice.customer_id()).unwrap_or_else(|| target.clone());
        m = m
            .action(
                Action::callback(actions::RETRY_PAYMENT, "Retry payment", target.clone())
                    .style(ActionStyle::Primary)
                    .moves_money(true),
            )
            .action(Action::callback(
                actions::SEND_DUNNING_EMAIL,
                "Send dunning email",
                target.clone(),
            ))
            .action(Action::callback(
                actions::ASSIGN_BILLING_QUEUE,
                "Assign to billing queue",
                about,
            ))
            .action(open_action(event, "Open invoice", &target));
        Ok(Some(finish(event, m)))
    }
}

/// `invoice.payment_action_required`: the customer must authenticate (3-D Secure) before paying.
///
/// ```
/// use stripe_chat_events::StripeEvent;
/// use stripe_chat_transform::{builtin::InvoiceActionRequired, Transformer};
/// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"invoice.payment_action_required","created":1,
///   "data":{"object":{"id":"in_1","object":"invoice","customer_email":"j@example.com","amount_due":2000,"currency":"eur"}}}"#)?;
/// let m = InvoiceActionRequired.transform(&event).unwrap().unwrap();
/// assert!(m.title.starts_with("Customer action needed"));
/// # Ok::<(), stripe_chat_events::EventError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct InvoiceActionRequired;

impl Transformer for InvoiceActionRequired {
    fn transform(&self, event: &StripeEvent) -> Result<Option<ChatMessage>, TransformError> {
        let (invoice, target) = invoice_of(event)?;
        let payer = who(
            invoice.customer_name(),
            invoice.customer_email(),
            invoice.customer_id(),
        );
        let amount = invoice.amount_due();
        let amount_text = amount
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "a payment".into());
        let title = format!("Customer action needed: {payer} must confirm {amount_text}");
        let mut summary = format!(
            "The bank asks {payer} to authenticate the payment of {} (3-D Secure). Stripe emails the customer if customer emails are on; otherwise send them the invoice link.",
            label(&invoice)
        );
        if let Some(due) = invoice.due_date() {
            summary.push_str(&format!(" Due {}.", time_and_distance(event, due)));
        }
        let mut m = base(
            event,
            title,
            Severity::Warning,
            Some(("Invoice in Stripe", target.clone())),
        )
        .summary(summary);
        m = common(&invoice, m);
        if let Some(amount) = &amount {
            m = m.field("Amount due", amount.to_string());
        }
        m = trailing_links(event, &invoice, m);
        m = m
            .action(
                Action::callback(
                    actions::SEND_DUNNING_EMAIL,
                    "Send payment link",
                    target.clone(),
                )
                .style(ActionStyle::Primary),
            )
            .action(open_action(event, "Open invoice", &target));
        Ok(Some(finish(event, m)))
    }
}

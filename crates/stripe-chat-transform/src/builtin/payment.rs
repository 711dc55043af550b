//! Payments: failed, succeeded, refunded.

use stripe_chat_events::catalog::words;
use stripe_chat_events::views::PaymentFailure;
use stripe_chat_events::{Money, StripeEvent};
use stripe_chat_message::{
    Action, ActionStyle, ChatMessage, FieldKind, ObjectKind, ObjectRef, Severity,
};

use stripe_chat_events::views::ChargeView;

use super::{actions, base, expanded, finish, object, open_action, with_charge};
use crate::{TransformError, Transformer};

/// What a payment failure or success is about, whichever object the event carries.
struct Payment<'a> {
    amount: Option<Money>,
    customer: Option<&'a str>,
    payer: Option<&'a str>,
    email: Option<&'a str>,
    description: Option<&'a str>,
    invoice: Option<&'a str>,
    failure: Option<PaymentFailure>,
    /// The object the event is about.
    subject: ObjectRef,
}

impl<'a> Payment<'a> {
    fn of(event: &'a StripeEvent) -> Result<Self, TransformError> {
        let no_id = || TransformError::unexpected(event.event_type(), "the object has no id");
        if let Some(pi) = event.payment_intent() {
            return Ok(Payment {
                amount: pi.money("amount"),
                customer: pi.customer_id(),
                payer: pi
                    .str("shipping.name")
                    .or_else(|| pi.str("last_payment_error.payment_method.billing_details.name"))
                    .or_else(|| pi.str("customer.name")),
                email: pi
                    .receipt_email()
                    .or_else(|| pi.str("last_payment_error.payment_method.billing_details.email"))
                    .or_else(|| pi.str("customer.email")),
                description: pi.description(),
                invoice: pi.invoice_id(),
                failure: with_charge(
                    pi.last_payment_error(),
                    expanded(pi.json(), "/latest_charge").map(ChargeView::new),
                ),
                subject: ObjectRef::new(ObjectKind::PaymentIntent, pi.id().ok_or_else(no_id)?),
            });
        }
        if let Some(charge) = event.charge() {
            return Ok(Payment {
                amount: charge.money("amount"),
                customer: charge.customer_id(),
                payer: charge
                    .billing_name()
                    .or_else(|| charge.str("customer.name")),
                email: charge.email().or_else(|| charge.str("customer.email")),
                description: charge.description(),
                invoice: charge.invoice_id(),
                failure: charge.failure(),
                subject: ObjectRef::new(ObjectKind::Charge, charge.id().ok_or_else(no_id)?),
            });
        }
        Err(TransformError::unexpected(
            event.event_type(),
            "data.object is not a payment intent or charge",
        ))
    }

    fn who(&self) -> String {
        super::who(self.payer, self.email, self.customer)
    }

    fn people_fields(&self, mut m: ChatMessage) -> ChatMessage {
        if let Some(name) = self.payer {
            m = m.field_of_kind("Customer", name, FieldKind::Name);
        }
        if let Some(email) = self.email {
            m = m.field_of_kind("Email", email, FieldKind::Email);
        }
        m
    }

    fn links(&self, event: &StripeEvent, mut m: ChatMessage) -> ChatMessage {
        let dashboard = event.dashboard();
        if let Some(invoice) = object(ObjectKind::Invoice, self.invoice) {
            m = m.link("Invoice", dashboard.object(&invoice));
        }
        if let Some(customer) = object(ObjectKind::Customer, self.customer) {
            m = m.link("Customer", dashboard.object(&customer));
        }
        m
    }
}

/// `payment_intent.payment_failed` and `charge.failed`: who, how much, why in words, the card.
///
/// Threads onto the invoice (or payment intent) the payment was for, so one failure seen through
/// several events lands on one message. Actions: retry (invoices only, moves money), send the
/// dunning email (invoices only), assign to the billing queue.
///
/// ```
/// use stripe_chat_events::StripeEvent;
/// use stripe_chat_transform::{builtin::PaymentFailed, Transformer};
/// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"payment_intent.payment_failed","created":1,
///   "data":{"object":{"id":"pi_1","object":"payment_intent","amount":2000,"currency":"usd",
///   "last_payment_error":{"code":"card_declined","decline_code":"insufficient_funds",
///   "payment_method":{"card":{"brand":"visa","last4":"0341"}}}}}}"#)?;
/// let m = PaymentFailed.transform(&event).unwrap().unwrap();
/// assert!(m.fields.iter().any(|f| f.value == "Visa •••• 0341"));
/// assert!(m.summary.contains("insufficient funds"));
/// # Ok::<(), stripe_chat_events::EventError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PaymentFailed;

impl Transformer for PaymentFailed {
    fn transform(&self, event: &StripeEvent) -> Result<Option<ChatMessage>, TransformError> {
        let p = Payment::of(event)?;
        let amount = p
            .amount
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "a payment".into());
        let title = format!("Payment failed: {amount} from {}", p.who());
        let reason = p.failure.as_ref().map(PaymentFailure::reason_in_words);
        let mut summary = reason
            .clone()
            .unwrap_or_else(|| "The payment failed.".to_owned());
        summary.push_str(if p.invoice.is_some() {
            " The invoice stays open; Stripe's automatic retries (Smart Retries) follow your Billing settings."
        } else {
            " Stripe does not retry a one-off payment: the customer must try again or use another card."
        });
        let label = if p.subject.kind == ObjectKind::Charge {
            "Charge in Stripe"
        } else {
            "Payment in Stripe"
        };
        let mut m = base(event, title, Severity::Warning, None)
            .link(label, event.dashboard().object(&p.subject))
            .summary(summary);
        m = p.people_fields(m);
        if let Some(amount) = &p.amount {
            m = m.field("Amount", amount.to_string());
        }
        m = m.field(
            "Failure reason",
            reason.unwrap_or_else(|| "Stripe gave no reason.".into()),
        );
        if let Some(failure) = &p.failure {
            if let Some(code) = failure.decline_code.as_deref().or(failure.code.as_deref()) {
                m = m.field("Decline code", code);
            }
            if let Some(card) = &failure.card {
                m = m.field_of_kind("Card", card.to_string(), FieldKind::Card);
            }
        }
        if let Some(description) = p.description {
            m = m.field("Description", description);
        }
        m = m.field(
            "Retry schedule",
            if p.invoice.is_some() {
                "Per the invoice's retry settings"
            } else {
                "No automatic retries for one-off payments"
            },
        );
        m = m.field(
            "Subscription impact",
            if p.invoice.is_some() {
                "If this invoice bills a subscription, it may become past due"
            } else {
                "None: not an invoice payment"
            },
        );
        m = p.links(event, m).tag(if p.invoice.is_some() {
            "invoice"
        } else {
            "one-time"
        });
        let about = object(ObjectKind::Customer, p.customer).unwrap_or_else(|| p.subject.clone());
        if let Some(invoice) = object(ObjectKind::Invoice, p.invoice) {
            m = m
                .action(
                    Action::callback(actions::RETRY_PAYMENT, "Retry payment", invoice.clone())
                        .style(ActionStyle::Primary)
                        .moves_money(true),
                )
                .action(Action::callback(
                    actions::SEND_DUNNING_EMAIL,
                    "Send dunning email",
                    invoice,
                ));
        }
        m = m
            .action(Action::callback(
                actions::ASSIGN_BILLING_QUEUE,
                "Assign to billing queue",
                about,
            ))
            .action(open_action(event, "Open payment", &p.subject));
        Ok(Some(finish(event, m)))
    }
}

/// `payment_intent.succeeded`: money received.
///
/// ```
/// use stripe_chat_events::StripeEvent;
/// use stripe_chat_transform::{builtin::PaymentSucceeded, Transformer};
/// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1,
///   "data":{"object":{"id":"pi_1","object":"payment_intent","amount":1500,"currency":"bhd","receipt_email":"a@b.test"}}}"#)?;
/// let m = PaymentSucceeded.transform(&event).unwrap().unwrap();
/// assert_eq!(m.title, "Payment received: 1.500 BHD from a@b.test");
/// # Ok::<(), stripe_chat_events::EventError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PaymentSucceeded;

impl Transformer for PaymentSucceeded {
    fn transform(&self, event: &StripeEvent) -> Result<Option<ChatMessage>, TransformError> {
        let p = Payment::of(event)?;
        let amount_received = event
            .payment_intent()
            .and_then(|pi| pi.money("amount_received"))
            .filter(|m| m.amount > 0)
            .or_else(|| p.amount.clone());
        let amount = amount_received
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "a payment".into());
        let title = format!("Payment received: {amount} from {}", p.who());
        let summary = match p.description {
            Some(d) => format!("{} paid {amount} for “{d}”.", p.who()),
            None => format!("{} paid {amount}.", p.who()),
        };
        let mut m = base(event, title, Severity::Success, None)
            .link("Payment in Stripe", event.dashboard().object(&p.subject))
            .summary(summary);
        m = p.people_fields(m);
        if let Some(amount) = &amount_received {
            m = m.field("Amount", amount.to_string());
        }
        if let Some(description) = p.description {
            m = m.field("Description", description);
        }
        if let Some(kind) = event
            .payment_intent()
            .and_then(|pi| pi.str("payment_method_types.0"))
        {
            m = m.field("Method", words(kind));
        }
        m = p.links(event, m).tag(if p.invoice.is_some() {
            "invoice"
        } else {
            "one-time"
        });
        let about = object(ObjectKind::Customer, p.customer).unwrap_or_else(|| p.subject.clone());
        m = m
            .action(open_action(event, "Open payment", &p.subject).style(ActionStyle::Primary))
            .action(Action::callback(
                actions::MARK_CUSTOMER_CONTACTED,
                "Mark customer contacted",
                about,
            ));
        Ok(Some(finish(event, m)))
    }
}

/// `charge.refunded`: how much went back, of how much, and why.
///
/// ```
/// use stripe_chat_events::StripeEvent;
/// use stripe_chat_transform::{builtin::ChargeRefunded, Transformer};
/// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"charge.refunded","created":1,
///   "data":{"object":{"id":"ch_1","object":"charge","amount":2000,"amount_refunded":500,"currency":"usd","refunded":false}}}"#)?;
/// let m = ChargeRefunded.transform(&event).unwrap().unwrap();
/// assert_eq!(m.title, "Partial refund: 5.00 USD of 20.00 USD to a customer");
/// # Ok::<(), stripe_chat_events::EventError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ChargeRefunded;

impl Transformer for ChargeRefunded {
    fn transform(&self, event: &StripeEvent) -> Result<Option<ChatMessage>, TransformError> {
        let charge = event.charge().ok_or_else(|| {
            TransformError::unexpected(event.event_type(), "data.object is not a charge")
        })?;
        let p = Payment::of(event)?;
        let refunded = charge.money("amount_refunded");
        let total = p
            .amount
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "the payment".into());
        let refunded_text = refunded
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "an amount".into());
        let title = if charge.refunded() {
            format!("Full refund: {refunded_text} to {}", p.who())
        } else {
            format!("Partial refund: {refunded_text} of {total} to {}", p.who())
        };
        let reason = charge.latest_refund_reason().map(words);
        let summary = match &reason {
            Some(r) => {
                format!("Refunded because: {r}. Refunds reach the customer in 5–10 business days.")
            }
            None => "Refunds reach the customer in 5–10 business days.".to_owned(),
        };
        let mut m = base(event, title, Severity::Info, None)
            .link("Payment in Stripe", event.dashboard().object(&p.subject))
            .summary(summary);
        m = p.people_fields(m);
        if let Some(refunded) = &refunded {
            m = m.field("Refunded", refunded.to_string());
        }
        if let Some(amount) = &p.amount {
            m = m.field("Original amount", amount.to_string());
        }
        if let Some(reason) = reason {
            m = m.field("Reason", reason);
        }
        if let Some(card) = charge.card() {
            m = m.field_of_kind("Card", card.to_string(), FieldKind::Card);
        }
        m = p.links(event, m).tag(if charge.refunded() {
            "full refund"
        } else {
            "partial refund"
        });
        m = m.action(open_action(event, "Open payment", &p.subject).style(ActionStyle::Primary));
        Ok(Some(finish(event, m)))
    }
}

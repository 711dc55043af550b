//! Run with `cargo run --example custom_transformer`.
//!
//! How another Rust service embeds stripe-chat: your own transformer for one event type (a struct),
//! a closure for another, registered beside the built-ins; then the usual redaction and a Slack
//! rendering of a real event.

use stripe_chat::Pipeline;
use stripe_chat::events::StripeEvent;
use stripe_chat::message::{Action, ActionStyle, ChatMessage, FieldKind, Renderer, Severity};
use stripe_chat::redact::{DefaultPolicy, Visibility};
use stripe_chat::slack::SlackRenderer;
use stripe_chat::transform::{Registry, TransformError, Transformer};

/// Our sales team wants to hear about large payments only, with the account manager from metadata.
struct LargePayments {
    /// Minimum amount in the minor unit.
    threshold: i64,
}

impl Transformer for LargePayments {
    fn transform(&self, event: &StripeEvent) -> Result<Option<ChatMessage>, TransformError> {
        let Some(payment) = event.payment_intent() else {
            return Err(TransformError::unexpected(
                event.event_type(),
                "not a payment intent",
            ));
        };
        if payment.amount().unwrap_or(0) < self.threshold {
            return Ok(None); // small payments are noise for this channel
        }
        let subject = event.object_ref().expect("payment intents have an id");
        let amount = payment
            .money("amount")
            .map(|m| m.to_string())
            .unwrap_or_default();
        let mut message = ChatMessage::new(format!("Large payment: {amount}"))
            .summary("A payment above the sales threshold just succeeded.")
            .severity(Severity::Success)
            .field("Amount", amount)
            .link("Payment in Stripe", event.dashboard().object(&subject))
            .action(
                Action::callback("thank_customer", "Send thank-you note", subject.clone())
                    .style(ActionStyle::Primary),
            )
            .thread(subject)
            .timestamp(event.created())
            .source(event.source());
        if let Some(email) = payment.receipt_email() {
            message = message.field_of_kind("Receipt email", email, FieldKind::Email);
        }
        if let Some(manager) = payment.str("metadata.account_manager") {
            message = message.field("Account manager", manager);
        }
        Ok(Some(message))
    }
}

/// The registry: built-ins first, then ours (later registrations of the same pattern win).
fn registry() -> Registry {
    let mut registry = Registry::with_builtins();
    registry.register(
        "payment_intent.succeeded",
        LargePayments { threshold: 10_000 },
    );
    // A closure is a transformer too: payouts in one line.
    registry.register(
        "payout.*",
        |event: &StripeEvent| -> Result<Option<ChatMessage>, TransformError> {
            let amount = stripe_chat::events::views::ChargeView::new(event.object())
                .money("amount")
                .map(|m| m.to_string())
                .unwrap_or_default();
            Ok(Some(
                ChatMessage::new(format!("Payout {}: {amount}", event.event_type()))
                    .timestamp(event.created()),
            ))
        },
    );
    registry
}

/// Renders `raw` for Slack through our registry and the public-channel redaction policy.
fn render_for_slack(raw: &[u8]) -> Result<Option<serde_json::Value>, Box<dyn std::error::Error>> {
    let pipeline = Pipeline::new(registry(), DefaultPolicy::new(Visibility::Public));
    let event = StripeEvent::from_slice(raw)?;
    let Some(message) = pipeline.message(&event) else {
        return Ok(None);
    };
    Ok(Some(
        SlackRenderer::new().channel("C0SALES").render(&message)?,
    ))
}

const PAYMENT: &[u8] =
    include_bytes!("../tests/fixtures/events/payment_intent.succeeded@2026-09-30.endive.json");
const PAYOUT: &[u8] = include_bytes!("../tests/fixtures/events/payout.paid@2026-09-30.endive.json");

/// The bundled payment (398.00 USD) with the metadata our transformer reads: your checkout puts
/// `account_manager` on the PaymentIntent (`metadata[account_manager]=Ana Lima`).
fn payment_with_account_manager() -> Result<Vec<u8>, serde_json::Error> {
    let mut event: serde_json::Value = serde_json::from_slice(PAYMENT)?;
    event["data"]["object"]["metadata"]["account_manager"] = "Ana Lima".into();
    serde_json::to_vec(&event)
}

/// A payment below the threshold: 25.00 USD.
fn small_payment() -> Result<Vec<u8>, serde_json::Error> {
    let mut event: serde_json::Value = serde_json::from_slice(PAYMENT)?;
    event["data"]["object"]["amount"] = 2500.into();
    serde_json::to_vec(&event)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let samples = [
        (
            "payment_intent.succeeded, 398.00 USD, metadata account_manager (our LargePayments transformer)",
            payment_with_account_manager()?,
        ),
        (
            "payment_intent.succeeded, 25.00 USD (our LargePayments transformer)",
            small_payment()?,
        ),
        ("payout.paid (our closure)", PAYOUT.to_vec()),
    ];
    for (label, raw) in samples {
        println!("# {label}: the Slack body");
        match render_for_slack(&raw)? {
            Some(body) => println!("{}\n", serde_json::to_string_pretty(&body)?),
            None => println!("(below the threshold: nothing posted)\n"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_transformer_replaces_the_built_in_for_large_payments() {
        let body = render_for_slack(PAYMENT)
            .unwrap()
            .expect("398.00 USD is above the threshold");
        assert!(
            body["text"]
                .as_str()
                .unwrap()
                .contains("Large payment: 398.00 USD")
        );
        assert_eq!(body["channel"], "C0SALES");
    }

    #[test]
    fn the_account_manager_from_metadata_is_shown_and_small_payments_are_not_posted() {
        let raw = payment_with_account_manager().unwrap();
        let body = render_for_slack(&raw).unwrap().expect("posted");
        let text = body.to_string();
        assert!(text.contains("Account manager"), "{text}");
        assert!(text.contains("Ana Lima"), "{text}");
        assert!(
            render_for_slack(&small_payment().unwrap())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn the_closure_describes_payouts() {
        let body = render_for_slack(PAYOUT)
            .unwrap()
            .expect("payouts are posted");
        assert!(
            body["text"]
                .as_str()
                .unwrap()
                .contains("Payout payout.paid: 18,432.77 USD")
        );
    }
}

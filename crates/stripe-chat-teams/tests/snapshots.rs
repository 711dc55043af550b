//! Reviewed snapshots of rendered cards (`cargo insta review` after a deliberate change).

use stripe_chat_message::{
    Action, ActionStyle, ChatMessage, FieldKind, ObjectKind, ObjectRef, Renderer, Severity, Source,
};
use stripe_chat_teams::{CardVersion, TeamsRenderer, validate_limits};

fn payment_failed() -> ChatMessage {
    let invoice = ObjectRef::new(ObjectKind::Invoice, "in_1MtHbELkdIwHu7ixl4OzzPMv");
    ChatMessage::new("Payment failed: Jenny Rosen")
        .summary("The second attempt to charge invoice ABC-0001 failed: insufficient funds.\nStripe retries on 2023-04-02.")
        .severity(Severity::Warning)
        .field("Amount", "20.00 USD")
        .field_of_kind("Customer", "Jenny Rosen", FieldKind::Name)
        .field_of_kind("Email", "jenny_rosen@example.com", FieldKind::Email)
        .field_of_kind("Card", "Visa •••• 4242", FieldKind::Card)
        .field("Attempt", "2 of 4")
        .link("Invoice in Stripe", "https://dashboard.stripe.com/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv")
        .link("Customer", "https://dashboard.stripe.com/customers/cus_NffrFeUfNV2Hib")
        .action(
            Action::callback("retry_payment", "Retry payment", invoice.clone())
                .style(ActionStyle::Primary)
                .moves_money(true),
        )
        .action(Action::callback("send_dunning_email", "Send dunning email", invoice.clone()))
        .action(
            Action::link(
                "open_hosted_invoice",
                "Open hosted invoice",
                invoice.clone(),
                "https://invoice.stripe.com/i/acct_1M2JTkLkdIwHu7ix/test_YWNjdF8xTTJKVGtMa2RJd0h1N2l4",
            )
            .style(ActionStyle::Primary),
        )
        .tag("subscription")
        .tag("test mode")
        .thread(invoice)
        .footer("invoice.payment_failed · evt_1MtHbFLkdIwHu7ixTcLjNhSM")
        .timestamp(1_680_000_000)
        .source(Source {
            event_id: "evt_1MtHbFLkdIwHu7ixTcLjNhSM".into(),
            event_type: "invoice.payment_failed".into(),
            livemode: false,
        })
}

#[test]
fn payment_failed_card_matches_the_reviewed_snapshot() {
    let body = TeamsRenderer::new()
        .render(&payment_failed())
        .expect("renders");
    assert_eq!(validate_limits(&body), Ok(()));
    insta::assert_json_snapshot!("payment_failed", body);
}

#[test]
fn version_one_five_changes_only_the_declared_version() {
    let message = payment_failed();
    let mut v15 = TeamsRenderer::new()
        .with_version(CardVersion::V1_5)
        .render(&message)
        .expect("renders");
    let v14 = TeamsRenderer::new().render(&message).expect("renders");
    assert_eq!(v15["attachments"][0]["content"]["version"], "1.5");
    v15["attachments"][0]["content"]["version"] = "1.4".into();
    assert_eq!(v15, v14);
}

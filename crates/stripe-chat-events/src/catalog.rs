//! Stripe's codes in plain words: decline codes, dispute reasons and statuses, billing reasons,
//! card brands, subscription statuses; and which events make an earlier one's notice moot
//! ([`cancelled_by`]).

/// A decline or error code in words, for the people who call the customer.
///
/// ```
/// use stripe_chat_events::catalog::decline_reason;
/// assert_eq!(decline_reason("insufficient_funds"), Some("The card has insufficient funds."));
/// assert_eq!(decline_reason("something_new"), None);
/// ```
pub fn decline_reason(code: &str) -> Option<&'static str> {
    Some(match code {
        "insufficient_funds" => "The card has insufficient funds.",
        "card_declined" | "generic_decline" => {
            "The card was declined by the bank, without a reason."
        }
        "do_not_honor" => {
            "The bank declined the payment (do not honor); the customer should call their bank."
        }
        "expired_card" => "The card has expired.",
        "incorrect_cvc" | "invalid_cvc" => "The card's security code (CVC) is wrong.",
        "incorrect_number" | "invalid_number" => "The card number is wrong.",
        "incorrect_zip" => "The postal code does not match the card.",
        "invalid_expiry_month" | "invalid_expiry_year" => "The card's expiry date is wrong.",
        "lost_card" => "The card was reported lost.",
        "stolen_card" => "The card was reported stolen.",
        "pickup_card" => "The bank asked to keep the card (it may be lost or stolen).",
        "fraudulent" => "The bank suspects fraud.",
        "merchant_blacklist" | "blocked" => "The payment was blocked by Radar rules.",
        "highest_risk_level" => "Radar blocked the payment as highest risk.",
        "elevated_risk_level" => "Radar flagged the payment as elevated risk.",
        "authentication_required" => "The bank requires the customer to authenticate (3-D Secure).",
        "approve_with_id" => "The bank could not authorize the payment; retrying may work.",
        "call_issuer" => "The bank declined; the customer should call their bank.",
        "card_not_supported" => "The card does not support this kind of purchase.",
        "card_velocity_exceeded" => "The customer went over the card's limit or balance.",
        "currency_not_supported" => "The card does not support this currency.",
        "duplicate_transaction" => "An identical payment was made moments ago.",
        "issuer_not_available" => "The bank could not be reached; retrying may work.",
        "processing_error" => "An error occurred while processing the card; retrying may work.",
        "reenter_transaction" => "The bank could not process the payment; retrying may work.",
        "restricted_card" => "The card cannot be used for this payment (restricted).",
        "revocation_of_all_authorizations"
        | "revocation_of_authorization"
        | "stop_payment_order" => "The customer told their bank to stop this payment.",
        "security_violation" => "The bank declined for security reasons.",
        "service_not_allowed" => "The card does not allow this kind of payment.",
        "testmode_decline" => "A Stripe test card that always declines was used.",
        "transaction_not_allowed" => "The card does not allow this transaction.",
        "try_again_later" => "The bank declined for now; retrying may work.",
        "withdrawal_count_limit_exceeded" => "The customer went over the card's limit.",
        "not_permitted" => "The payment is not permitted.",
        "no_action_taken" => "The bank declined without a reason.",
        "new_account_information_available" => "The card or account has new details; ask for them.",
        "offline_pin_required" | "online_or_offline_pin_required" => "The card requires a PIN.",
        "pin_try_exceeded" => "Too many wrong PIN attempts.",
        "invalid_account" => "The card or account is not valid.",
        "invalid_amount" => "The amount is not valid for this card.",
        "payment_intent_authentication_failure" => "The customer did not complete authentication.",
        "card_decline_rate_limit_exceeded" => "Too many declines on this card in a short time.",
        _ => return None,
    })
}

/// A dispute reason in words.
///
/// ```
/// assert_eq!(stripe_chat_events::catalog::dispute_reason("product_not_received"), "Product not received");
/// assert_eq!(stripe_chat_events::catalog::dispute_reason("brand_new_reason"), "brand new reason");
/// ```
pub fn dispute_reason(reason: &str) -> String {
    match reason {
        "fraudulent" => "Fraudulent (cardholder says they did not make it)".into(),
        "product_not_received" => "Product not received".into(),
        "product_unacceptable" => "Product unacceptable".into(),
        "subscription_canceled" => "Subscription canceled".into(),
        "duplicate" => "Duplicate charge".into(),
        "credit_not_processed" => "Credit not processed".into(),
        "unrecognized" => "Unrecognized charge".into(),
        "general" => "General".into(),
        "bank_cannot_process" => "Bank cannot process".into(),
        "check_returned" => "Check returned".into(),
        "customer_initiated" => "Customer initiated".into(),
        "debit_not_authorized" => "Debit not authorized".into(),
        "incorrect_account_details" => "Incorrect account details".into(),
        "insufficient_funds" => "Insufficient funds".into(),
        "noncompliant" => "Noncompliant".into(),
        other => words(other),
    }
}

/// A dispute status in words.
///
/// ```
/// assert_eq!(stripe_chat_events::catalog::dispute_status("needs_response"), "Needs response");
/// ```
pub fn dispute_status(status: &str) -> String {
    match status {
        "warning_needs_response" => "Inquiry — needs response".into(),
        "warning_under_review" => "Inquiry — under review".into(),
        "warning_closed" => "Inquiry — closed".into(),
        "needs_response" => "Needs response".into(),
        "under_review" => "Under review".into(),
        "won" => "Won".into(),
        "lost" => "Lost".into(),
        "prevented" => "Prevented".into(),
        other => capitalize(&words(other)),
    }
}

/// An invoice's billing reason in words.
///
/// ```
/// assert_eq!(stripe_chat_events::catalog::billing_reason("subscription_cycle"), "Subscription renewal");
/// ```
pub fn billing_reason(reason: &str) -> String {
    match reason {
        "subscription_cycle" => "Subscription renewal".into(),
        "subscription_create" => "New subscription".into(),
        "subscription_update" => "Subscription change".into(),
        "subscription_threshold" => "Usage threshold reached".into(),
        "subscription" => "Subscription".into(),
        "manual" => "One-time invoice".into(),
        "upcoming" => "Upcoming invoice".into(),
        "quote_accept" => "Accepted quote".into(),
        "automatic_pending_invoice_item_invoice" => "Pending invoice items".into(),
        other => capitalize(&words(other)),
    }
}

/// A card brand as people write it.
///
/// ```
/// assert_eq!(stripe_chat_events::catalog::card_brand("amex"), "American Express");
/// assert_eq!(stripe_chat_events::catalog::card_brand("Visa"), "Visa");
/// ```
pub fn card_brand(brand: &str) -> &str {
    match brand.to_ascii_lowercase().as_str() {
        "visa" => "Visa",
        "mastercard" => "Mastercard",
        "amex" | "american express" => "American Express",
        "discover" => "Discover",
        "diners" | "diners club" => "Diners Club",
        "jcb" => "JCB",
        "unionpay" => "UnionPay",
        "cartes_bancaires" => "Cartes Bancaires",
        "eftpos_au" => "eftpos",
        "interac" => "Interac",
        "link" => "Link",
        _ => brand,
    }
}

/// A subscription status in words.
///
/// ```
/// assert_eq!(stripe_chat_events::catalog::subscription_status("past_due"), "Past due");
/// ```
pub fn subscription_status(status: &str) -> String {
    match status {
        "incomplete_expired" => "Incomplete (expired)".into(),
        other => capitalize(&words(other)),
    }
}

/// Event types that announce a failed payment.
const PAYMENT_FAILURES: &[&str] = &[
    "invoice.payment_failed",
    "payment_intent.payment_failed",
    "charge.failed",
];

/// Event types that announce a successful payment.
const PAYMENT_SUCCESSES: &[&str] = &[
    "invoice.paid",
    "invoice.payment_succeeded",
    "payment_intent.succeeded",
    "charge.succeeded",
];

/// The event types that make a notice of `event_type` moot when one of them happens to the same
/// object (the same [`StripeEvent::subject`](crate::StripeEvent::subject)) no earlier: a payment
/// failure (`invoice.payment_failed`, `payment_intent.payment_failed`, `charge.failed`) once the
/// payment has succeeded (`invoice.paid`, `invoice.payment_succeeded`,
/// `payment_intent.succeeded`, `charge.succeeded`). Empty for every other type: its notice
/// always stands.
///
/// ```
/// use stripe_chat_events::catalog::cancelled_by;
/// assert!(cancelled_by("charge.failed").contains(&"invoice.paid"));
/// assert!(cancelled_by("charge.dispute.created").is_empty());
/// ```
pub fn cancelled_by(event_type: &str) -> &'static [&'static str] {
    if PAYMENT_FAILURES.contains(&event_type) {
        PAYMENT_SUCCESSES
    } else {
        &[]
    }
}

/// `snake_case` to words: `product_not_received` → `product not received`.
///
/// ```
/// assert_eq!(stripe_chat_events::catalog::words("requested_by_customer"), "requested by customer");
/// ```
pub fn words(code: &str) -> String {
    code.replace('_', " ")
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_failure_is_cancelled_by_any_payment_success_and_nothing_cancels_the_rest() {
        for failure in PAYMENT_FAILURES {
            assert_eq!(cancelled_by(failure), PAYMENT_SUCCESSES, "{failure}");
        }
        for other in PAYMENT_SUCCESSES.iter().chain(&[
            "charge.dispute.created",
            "invoice.payment_action_required",
            "",
        ]) {
            assert!(cancelled_by(other).is_empty(), "{other}");
        }
    }
}

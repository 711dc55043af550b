//! Stripe's errors as sentences people read in chat: what happened, whether anything moved, and
//! whether asking again is safe.

use stripe_chat_actions::{ActionId, Failure, FailureKind};
use stripe_chat_message::ErrorKind;

use crate::ApiError;

/// Stripe's common card decline codes, in words.
const DECLINE_REASONS: &[(&str, &str)] = &[
    (
        "approve_with_id",
        "the bank could not authorize the payment",
    ),
    (
        "authentication_required",
        "the bank requires the customer to authenticate the payment",
    ),
    (
        "call_issuer",
        "the bank gave no reason; the customer should call their bank",
    ),
    (
        "card_not_supported",
        "the card does not support this kind of purchase",
    ),
    (
        "card_velocity_exceeded",
        "the card's balance or credit limit is exceeded",
    ),
    (
        "currency_not_supported",
        "the card does not support this currency",
    ),
    ("do_not_honor", "the bank gave no reason"),
    (
        "do_not_try_again",
        "the bank asks not to try this card again",
    ),
    (
        "duplicate_transaction",
        "an identical payment was made moments before",
    ),
    ("expired_card", "the card has expired"),
    ("fraudulent", "the bank suspects fraud"),
    ("generic_decline", "the bank gave no reason"),
    ("incorrect_cvc", "the card's security code is incorrect"),
    ("incorrect_number", "the card number is incorrect"),
    ("incorrect_pin", "the PIN is incorrect"),
    ("incorrect_zip", "the postal code is incorrect"),
    ("insufficient_funds", "insufficient funds"),
    ("invalid_account", "the card or its account is invalid"),
    (
        "invalid_amount",
        "the amount is too large or not allowed for the card",
    ),
    ("invalid_cvc", "the card's security code is invalid"),
    ("invalid_expiry_month", "the card's expiry month is invalid"),
    ("invalid_expiry_year", "the card's expiry year is invalid"),
    ("invalid_number", "the card number is invalid"),
    ("invalid_pin", "the PIN is invalid"),
    ("issuer_not_available", "the bank could not be reached"),
    ("lost_card", "the card was reported lost"),
    (
        "merchant_blacklist",
        "the payment matches a value on the account's block list",
    ),
    (
        "new_account_information_available",
        "the card or its account has changed; the customer has new details",
    ),
    ("no_action_taken", "the bank gave no reason"),
    ("not_permitted", "the bank does not permit this payment"),
    ("offline_pin_required", "the card requires a PIN"),
    ("online_or_offline_pin_required", "the card requires a PIN"),
    (
        "pickup_card",
        "the card cannot be used (it may have been reported lost or stolen)",
    ),
    ("pin_try_exceeded", "too many wrong PIN attempts"),
    (
        "processing_error",
        "an error occurred while the card was processed",
    ),
    (
        "reenter_transaction",
        "the bank could not process it; it may be tried again",
    ),
    (
        "restricted_card",
        "the card cannot be used (it may have been reported lost or stolen)",
    ),
    (
        "revocation_of_all_authorizations",
        "the customer revoked every authorization for this card",
    ),
    (
        "revocation_of_authorization",
        "the customer revoked this authorization",
    ),
    (
        "security_violation",
        "the bank refused it for security reasons",
    ),
    (
        "service_not_allowed",
        "the bank does not allow this kind of payment",
    ),
    ("stolen_card", "the card was reported stolen"),
    (
        "stop_payment_order",
        "the customer asked their bank to stop this payment",
    ),
    ("testmode_decline", "a Stripe test card was used"),
    (
        "transaction_not_allowed",
        "the bank does not allow this kind of payment",
    ),
    (
        "try_again_later",
        "the bank declined it for now; it may be tried again later",
    ),
    (
        "withdrawal_count_limit_exceeded",
        "the card's balance or credit limit is exceeded",
    ),
];

/// A card decline code (`insufficient_funds`, `lost_card`, … as Stripe sends it in
/// `decline_code`) in words, for the status line after "declined: ". `None` for a code not in
/// the table.
///
/// ```
/// use stripe_chat_stripe::decline_reason;
/// assert_eq!(decline_reason("insufficient_funds"), Some("insufficient funds"));
/// assert_eq!(decline_reason("lost_card"), Some("the card was reported lost"));
/// assert_eq!(decline_reason("not_a_code"), None);
/// ```
pub fn decline_reason(code: &str) -> Option<&'static str> {
    DECLINE_REASONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, reason)| *reason)
}

/// What did not happen, in the words of the action ("nothing was charged").
fn nothing_done(action: ActionId) -> &'static str {
    match action {
        ActionId::RetryPayment => "nothing was charged",
        ActionId::SendDunningEmail => "no email was sent",
        ActionId::AddEvidence => "no evidence was staged",
        ActionId::SubmitEvidence => "no evidence was submitted",
        ActionId::MarkContacted => "nothing was recorded",
        _ => "nothing was done",
    }
}

/// What may have happened, in the words of the action.
fn may_have_happened(action: ActionId) -> &'static str {
    match action {
        ActionId::RetryPayment => "the payment may or may not have been retried",
        ActionId::SendDunningEmail => "the email may or may not have been sent",
        ActionId::AddEvidence => "the evidence may or may not have been staged",
        ActionId::SubmitEvidence => "the evidence may or may not have been submitted",
        ActionId::MarkContacted => "the contact may or may not have been recorded",
        _ => "it may or may not have happened",
    }
}

/// Whether the failed request was a read (nothing can have changed) or a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Reading the object.
    Read,
    /// Performing the action.
    Write,
}

/// `error`, met while doing `step` of `action`, as a sentence for people.
pub(crate) fn failure(action: ActionId, step: Step, error: &ApiError) -> Failure {
    let failure = sentence(action, step, error);
    match error.request_id() {
        Some(id) => failure.reference(id),
        None => failure,
    }
}

fn sentence(action: ActionId, step: Step, error: &ApiError) -> Failure {
    use FailureKind::{Misconfigured, Refused, Unavailable, Unknown};
    let nothing = match step {
        Step::Read => "nothing was done",
        Step::Write => nothing_done(action),
    };
    let code = error.code().unwrap_or_default();
    let said = error.stripe_message().unwrap_or_default();

    if error.kind() == ErrorKind::Unauthorized {
        let why = if error.status() == Some(403) {
            "it may not do this"
        } else {
            "it is wrong, expired or revoked"
        };
        return Failure::new(
            Misconfigured,
            format!("Stripe refused stripe-chat's API key ({why}); {nothing}."),
        );
    }
    if error.error_type() == Some("idempotency_error") {
        return Failure::new(
            Refused,
            format!(
                "Stripe refused: this action was already asked with other details under the same \
                 idempotency key; {nothing}."
            ),
        );
    }
    if code == "idempotency_key_in_use" {
        return Failure::new(
            Unknown,
            "The same action is already in progress at Stripe. Ask again in a moment to see its \
             outcome; it cannot happen twice.",
        );
    }
    if error.kind() == ErrorKind::RateLimited {
        return Failure::new(
            Unavailable,
            format!("Stripe is busy; {nothing}. Try again in a minute."),
        );
    }
    if code == "invoice_payment_intent_requires_action"
        || code == "payment_intent_authentication_failure"
        || code == "payment_intent_action_required"
        || error.decline_code() == Some("authentication_required")
    {
        return Failure::new(
            Refused,
            "not charged: the customer must authenticate the payment",
        );
    }
    let card_error = error.error_type() == Some("card_error") || code == "card_declined";
    let reason = match error.decline_code().and_then(decline_reason) {
        Some(reason) => Some(reason),
        None if card_error => decline_reason(code),
        None => None,
    };
    if let Some(reason) = reason {
        return Failure::new(Refused, format!("declined: {reason}"));
    }
    if card_error {
        return Failure::new(Refused, "declined: the bank gave no reason");
    }
    if said.to_ascii_lowercase().contains("already paid") {
        return Failure::new(Refused, "This invoice is already paid.");
    }
    let lower = said.to_ascii_lowercase();
    if lower.contains("exists in live mode") || lower.contains("exists in test mode") {
        let (object, key) = if lower.contains("exists in live mode") {
            ("live", "test")
        } else {
            ("test", "live")
        };
        return Failure::new(
            Misconfigured,
            format!(
                "The object is in {object} mode but stripe-chat's Stripe key is a {key}-mode key; \
                 {nothing}."
            ),
        );
    }
    if code == "livemode_mismatch" {
        return Failure::new(
            Misconfigured,
            format!("The object and stripe-chat's Stripe key are not in the same mode; {nothing}."),
        );
    }
    if code == "resource_missing" || error.status() == Some(404) {
        return Failure::new(
            Refused,
            format!(
                "Stripe has no such object (if it belongs to another Stripe account, that \
                 account must be configured); {nothing}."
            ),
        );
    }

    match error.kind() {
        ErrorKind::Transient => {
            let waited = if error.timed_out() {
                "Stripe did not answer in time".to_owned()
            } else {
                match error.status() {
                    Some(status) if status >= 500 => {
                        format!("Stripe had an internal error (HTTP {status})")
                    }
                    Some(409) => "Stripe was busy with another change to this object".to_owned(),
                    Some(status) => format!("Stripe could not complete it (HTTP {status})"),
                    None => "Stripe could not be reached or gave no readable answer".to_owned(),
                }
            };
            match step {
                Step::Read => Failure::new(
                    Unavailable,
                    format!("{waited}; {nothing}. Try again in a minute."),
                ),
                // Stripe runs lock conflicts before acting: nothing happened.
                Step::Write if error.status() == Some(409) => Failure::new(
                    Unavailable,
                    format!("{waited}; {nothing}. Try again in a minute."),
                ),
                Step::Write => Failure::new(
                    Unknown,
                    format!(
                        "{waited}: {}. Asking again is safe: Stripe does it at most once.",
                        may_have_happened(action)
                    ),
                ),
            }
        }
        _ if !said.is_empty() => {
            Failure::new(Refused, format!("Stripe refused: {}", with_period(said)))
        }
        _ => match error.status() {
            Some(status) => Failure::new(
                Refused,
                format!("Stripe refused it (HTTP {status}); {nothing}."),
            ),
            None => Failure::new(
                Unknown,
                format!(
                    "Stripe's answer could not be read: {}. Asking again is safe: Stripe does \
                     it at most once.",
                    may_have_happened(action)
                ),
            ),
        },
    }
}

fn with_period(text: &str) -> String {
    let text = text.trim();
    if text.ends_with(['.', '!', '?']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decline_code_is_listed_once_in_words() {
        for (i, (code, reason)) in DECLINE_REASONS.iter().enumerate() {
            assert!(
                DECLINE_REASONS[i + 1..].iter().all(|(c, _)| c != code),
                "{code} twice"
            );
            assert!(!reason.contains('_'), "{code}: {reason}");
        }
    }
}

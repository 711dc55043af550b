//! Stripe ids: which kind of object an id names, read from its prefix (`in_`, `pi_`, `ch_`,
//! `dp_`, `cus_`, `sub_`, ...).

use stripe_chat_message::{ObjectKind, ObjectRef};

/// The kind of object a Stripe id names, by its prefix; [`ObjectKind::Other`] with the prefix
/// for prefixes without a kind of their own.
///
/// ```
/// use stripe_chat_events::ids::kind_of;
/// use stripe_chat_message::ObjectKind;
/// assert_eq!(kind_of("dp_1MtJUT2eZvKYlo2CNaw2HvEv"), ObjectKind::Dispute);
/// assert_eq!(kind_of("cus_NffrFeUfNV2Hib"), ObjectKind::Customer);
/// assert_eq!(kind_of("po_123"), ObjectKind::Other("po".into()));
/// ```
pub fn kind_of(id: &str) -> ObjectKind {
    let prefix = id.split('_').next().unwrap_or_default();
    match prefix {
        "in" => ObjectKind::Invoice,
        "pi" => ObjectKind::PaymentIntent,
        "ch" | "py" => ObjectKind::Charge,
        "dp" | "du" => ObjectKind::Dispute,
        "cus" => ObjectKind::Customer,
        "sub" => ObjectKind::Subscription,
        "re" => ObjectKind::Refund,
        "evt" => ObjectKind::Event,
        other => ObjectKind::Other(other.to_owned()),
    }
}

/// The object a Stripe id names, its kind read from the prefix ([`kind_of`]).
///
/// ```
/// use stripe_chat_events::ids::object_ref;
/// let o = object_ref("pi_3MtwBwLkdIwHu7ix28a3tqPa");
/// assert_eq!(o.to_string(), "payment_intent/pi_3MtwBwLkdIwHu7ix28a3tqPa");
/// ```
pub fn object_ref(id: impl Into<String>) -> ObjectRef {
    let id = id.into();
    ObjectRef::new(kind_of(&id), id)
}

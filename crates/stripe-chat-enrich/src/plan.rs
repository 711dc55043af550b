//! What each flow needs from Stripe, and where the answers go in the event's object.

use serde_json::Value;
use stripe_chat_events::StripeEvent;

use crate::read::{Read, is_stripe_id};

/// Where an answer goes in the event's object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// In place of the id in this field (`charge`, `payment_intent`, `customer`,
    /// `latest_charge`), as Stripe puts an expanded object.
    Field(&'static str),
    /// An invoice's `payments` list (not included in events unless expanded).
    InvoicePayments,
    /// A subscription read with its customer and products expanded: the customer in place of
    /// its id, each item's product in place of the product's id.
    SubscriptionDetails,
}

/// One read and where its answer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fetch {
    pub(crate) read: Read,
    pub(crate) place: Place,
}

/// The expansion that reaches an invoice payment's charge in one call (four levels, Stripe's
/// deepest).
pub(crate) const INVOICE_PAYMENT_EXPANSION: &str = "data.payment.payment_intent.latest_charge";

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The id in `field` when Stripe sent an id (not an expanded object) fit for a path.
fn id_only<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object
        .get(field)
        .and_then(Value::as_str)
        .filter(|id| is_stripe_id(id))
}

fn has(value: &Value, pointer: &str) -> bool {
    value.pointer(pointer).is_some_and(|v| !v.is_null())
}

/// The reads `event` needs, in order, and where their answers go; none when the event carries
/// what its message shows.
///
/// - `invoice.payment_failed`: the failed payment, unless the event carries it: the charge
///   (`GET /v1/charges/{charge}`) when the invoice names one (API versions before
///   `2025-03-31.basil`), else the payment intent with its latest charge (`GET
///   /v1/payment_intents/{id}?expand[]=latest_charge`), else (basil and later) the invoice's
///   payments with each payment intent and its latest charge, in one call (`GET
///   /v1/invoice_payments?invoice={id}&expand[]=data.payment.payment_intent.latest_charge`).
/// - `payment_intent.payment_failed` whose error names no card or reason: the latest charge.
/// - `charge.dispute.*`: the disputed charge with its customer (`GET
///   /v1/charges/{charge}?expand[]=customer`).
/// - `customer.subscription.*`: the subscription with its customer and each item's product
///   (`GET /v1/subscriptions/{id}?expand[]=customer&expand[]=items.data.price.product`) when
///   the customer is only an id or a plan has no name.
/// - any invoice, payment intent or charge that names its customer only by id (no name, no
///   email): the customer (`GET /v1/customers/{id}`).
///
/// Every read is made for the event's Connect account, when it has one.
pub(crate) fn plan(event: &StripeEvent) -> Vec<Fetch> {
    let object = event.object();
    let account = event.account();
    if account.is_some_and(|a| !is_stripe_id(a)) {
        // Not an account id that can go into a header: nothing is read for it.
        return Vec::new();
    }
    let read = |path: String| Read::new(path).account(account);
    let mut fetches = Vec::new();
    let customer_fetch = |fetches: &mut Vec<Fetch>| {
        if let Some(customer) = id_only(object, "customer") {
            fetches.push(Fetch {
                read: read(format!("/customers/{customer}")),
                place: Place::Field("customer"),
            });
        }
    };
    match event.object_name() {
        Some("invoice") => {
            if event.event_type() == "invoice.payment_failed" && !invoice_carries_failure(object) {
                if let Some(charge) = id_only(object, "charge") {
                    fetches.push(Fetch {
                        read: read(format!("/charges/{charge}")),
                        place: Place::Field("charge"),
                    });
                } else if let Some(pi) = id_only(object, "payment_intent") {
                    fetches.push(Fetch {
                        read: read(format!("/payment_intents/{pi}")).expand("latest_charge"),
                        place: Place::Field("payment_intent"),
                    });
                } else if let Some(id) = id_only(object, "id") {
                    fetches.push(Fetch {
                        read: read("/invoice_payments".to_owned())
                            .param("invoice", id)
                            .expand(INVOICE_PAYMENT_EXPANSION),
                        place: Place::InvoicePayments,
                    });
                }
            }
            if str_at(object, "/customer_name").is_none()
                && str_at(object, "/customer_email").is_none()
            {
                customer_fetch(&mut fetches);
            }
        }
        Some("payment_intent") => {
            if event.event_type() == "payment_intent.payment_failed" {
                let error_complete = has(object, "/last_payment_error/payment_method/card")
                    && (has(object, "/last_payment_error/decline_code")
                        || has(object, "/last_payment_error/code"));
                if !error_complete && let Some(charge) = id_only(object, "latest_charge") {
                    fetches.push(Fetch {
                        read: read(format!("/charges/{charge}")),
                        place: Place::Field("latest_charge"),
                    });
                }
            }
            let named = [
                "/receipt_email",
                "/shipping/name",
                "/last_payment_error/payment_method/billing_details/name",
                "/last_payment_error/payment_method/billing_details/email",
            ]
            .iter()
            .any(|p| str_at(object, p).is_some());
            if !named {
                customer_fetch(&mut fetches);
            }
        }
        Some("charge") => {
            let named = [
                "/billing_details/name",
                "/billing_details/email",
                "/receipt_email",
            ]
            .iter()
            .any(|p| str_at(object, p).is_some());
            if !named {
                customer_fetch(&mut fetches);
            }
        }
        Some("dispute") => {
            if let Some(charge) = id_only(object, "charge") {
                fetches.push(Fetch {
                    read: read(format!("/charges/{charge}")).expand("customer"),
                    place: Place::Field("charge"),
                });
            }
        }
        Some("subscription") => {
            let unnamed_plan = object
                .pointer("/items/data")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|item| {
                    str_at(item, "/price/nickname").is_none()
                        && item.pointer("/price/product").is_some_and(Value::is_string)
                });
            if let Some(id) = id_only(object, "id")
                && (unnamed_plan || id_only(object, "customer").is_some())
            {
                fetches.push(Fetch {
                    read: read(format!("/subscriptions/{id}"))
                        .expand("customer")
                        .expand("items.data.price.product"),
                    place: Place::SubscriptionDetails,
                });
            }
        }
        _ => {}
    }
    fetches
}

/// Whether an invoice already carries its payment's failure (an expanded charge or payment
/// intent, or expanded payments).
fn invoice_carries_failure(invoice: &Value) -> bool {
    [
        "/charge",
        "/payment_intent",
        "/payments/data/0/payment/payment_intent",
    ]
    .iter()
    .any(|p| invoice.pointer(p).is_some_and(Value::is_object))
}

/// Puts `answer` where `place` says in `object`; `false` when the answer does not fit (another
/// object than the one asked for, or not the shape asked for), leaving `object` as it was.
pub(crate) fn apply(object: &mut Value, place: Place, answer: &Value) -> bool {
    match place {
        Place::Field(field) => {
            let asked = object.get(field).and_then(Value::as_str);
            let got = answer.get("id").and_then(Value::as_str);
            if asked.is_none() || asked != got {
                return false;
            }
            object[field] = answer.clone();
            true
        }
        Place::InvoicePayments => {
            let Some(entries) = answer.get("data").and_then(Value::as_array) else {
                return false;
            };
            let invoice = object.get("id").and_then(Value::as_str);
            let mut entries: Vec<Value> = entries
                .iter()
                .filter(|e| {
                    e.get("invoice")
                        .and_then(Value::as_str)
                        .is_none_or(|i| Some(i) == invoice)
                })
                .cloned()
                .collect();
            // The attempt that failed first: a payment intent with an error, else any open one.
            entries.sort_by_key(|e| {
                let failed = e
                    .pointer("/payment/payment_intent/last_payment_error")
                    .is_some_and(|v| !v.is_null());
                let open = e.get("status").and_then(Value::as_str) == Some("open");
                (!failed, !open)
            });
            let mut list = answer.clone();
            list["data"] = Value::Array(entries);
            object["payments"] = list;
            true
        }
        Place::SubscriptionDetails => {
            if answer.get("id") != object.get("id") {
                return false;
            }
            if let Some(customer) = answer.get("customer").filter(|c| c.is_object())
                && object.get("customer").and_then(Value::as_str)
                    == customer.get("id").and_then(Value::as_str)
            {
                object["customer"] = customer.clone();
            }
            let products: Vec<(String, Value)> = answer
                .pointer("/items/data")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|item| {
                    let product = item.pointer("/price/product").filter(|p| p.is_object())?;
                    let id = product.get("id").and_then(Value::as_str)?;
                    Some((id.to_owned(), product.clone()))
                })
                .collect();
            let product_of = |id: &str| products.iter().find(|(p, _)| p == id).map(|(_, v)| v);
            if let Some(items) = object
                .pointer_mut("/items/data")
                .and_then(Value::as_array_mut)
            {
                for item in items {
                    for price in ["price", "plan"] {
                        let Some(slot) = item.pointer_mut(&format!("/{price}/product")) else {
                            continue;
                        };
                        if let Some(product) = slot.as_str().and_then(&product_of) {
                            *slot = product.clone();
                        }
                    }
                }
            }
            if let Some(slot) = object.pointer_mut("/plan/product")
                && let Some(product) = slot.as_str().and_then(&product_of)
            {
                *slot = product.clone();
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_answer_about_another_object_is_not_put_in_the_event() {
        let mut object = json!({"id": "dp_1", "object": "dispute", "charge": "ch_1"});
        let before = object.clone();
        assert!(!apply(
            &mut object,
            Place::Field("charge"),
            &json!({"id": "ch_2"})
        ));
        assert!(!apply(
            &mut object,
            Place::Field("customer"),
            &json!({"id": "cus_1"})
        ));
        assert_eq!(object, before);
        assert!(apply(
            &mut object,
            Place::Field("charge"),
            &json!({"id": "ch_1", "object": "charge"})
        ));
        assert_eq!(object["charge"]["object"], "charge");
    }

    #[test]
    fn nothing_is_read_for_an_account_id_that_is_not_one() {
        let event = StripeEvent::from_slice(
            br#"{"id":"evt_1","object":"event","type":"charge.dispute.created","created":1,
            "account":"acct_1\r\nX-Injected: 1","data":{"object":{"id":"dp_1","object":"dispute","charge":"ch_1"}}}"#,
        )
        .expect("an event");
        assert!(plan(&event).is_empty());
    }

    #[test]
    fn the_failed_attempt_comes_first_among_an_invoices_payments() {
        let mut invoice = json!({"id": "in_1", "object": "invoice"});
        let answer = json!({"object": "list", "data": [
            {"id": "inpay_paid", "invoice": "in_1", "status": "canceled", "payment": {"type": "payment_intent", "payment_intent": {"id": "pi_old", "last_payment_error": null}}},
            {"id": "inpay_other", "invoice": "in_2", "status": "open", "payment": {"type": "payment_intent", "payment_intent": {"id": "pi_x", "last_payment_error": {"code": "card_declined"}}}},
            {"id": "inpay_failed", "invoice": "in_1", "status": "open", "payment": {"type": "payment_intent", "payment_intent": {"id": "pi_new", "last_payment_error": {"code": "card_declined"}}}}
        ]});
        assert!(apply(&mut invoice, Place::InvoicePayments, &answer));
        let ids: Vec<&str> = invoice["payments"]["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["id"].as_str())
            .collect();
        assert_eq!(ids, ["inpay_failed", "inpay_paid"]);
    }
}

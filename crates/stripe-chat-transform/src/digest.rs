//! The summary of a digest: many events of one route and window in one message.

use std::collections::BTreeMap;

use serde_json::Value;
use stripe_chat_events::links::Dashboard;
use stripe_chat_events::{Money, StripeEvent};
use stripe_chat_message::text::format_rfc3339;
use stripe_chat_message::{ChatMessage, Severity};
use stripe_chat_route::DigestWindow;

/// The amount an event is about: the object's `amount`, else `amount_due`, `amount_paid` or
/// `amount_total` (the amount routes compare), with its currency.
fn amount(event: &StripeEvent) -> Option<Money> {
    let object = event.object();
    let currency = object.get("currency").and_then(Value::as_str)?;
    ["amount", "amount_due", "amount_paid", "amount_total"]
        .iter()
        .find_map(|key| object.get(*key).and_then(Value::as_i64))
        .map(|amount| Money::new(amount, currency))
}

/// What an event says happened to money, for the digest's totals: amounts of different outcomes
/// are never added together.
///
/// ```
/// use stripe_chat_transform::digest::{outcome, Outcome};
/// assert_eq!(outcome("invoice.paid"), Outcome::Paid);
/// assert_eq!(outcome("invoice.payment_failed"), Outcome::Failed);
/// assert_eq!(outcome("charge.refunded"), Outcome::Refunded);
/// assert_eq!(outcome("charge.dispute.created"), Outcome::Disputed);
/// assert_eq!(outcome("payout.paid"), Outcome::Other);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// Money received: `invoice.paid`, `invoice.payment_succeeded`, `payment_intent.succeeded`,
    /// `charge.succeeded`, `checkout.session.completed`.
    Paid,
    /// A payment that did not go through: `*.payment_failed`, `charge.failed`.
    Failed,
    /// Money given back: `charge.refunded`, `refund.*`, `charge.refund.*`.
    Refunded,
    /// Money contested: `charge.dispute.*`.
    Disputed,
    /// Anything else with an amount (payouts, subscriptions, ...).
    Other,
}

impl Outcome {
    /// The word the digest's total fields start with (`Paid USD`).
    ///
    /// ```
    /// assert_eq!(stripe_chat_transform::digest::Outcome::Refunded.label(), "Refunded");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Paid => "Paid",
            Outcome::Failed => "Failed",
            Outcome::Refunded => "Refunded",
            Outcome::Disputed => "Disputed",
            Outcome::Other => "Other",
        }
    }
}

/// The [`Outcome`] of an event of type `event_type`.
///
/// ```
/// assert_eq!(stripe_chat_transform::digest::outcome("charge.failed").label(), "Failed");
/// ```
pub fn outcome(event_type: &str) -> Outcome {
    match event_type {
        t if t.starts_with("charge.dispute.") => Outcome::Disputed,
        t if t == "charge.refunded"
            || t.starts_with("refund.")
            || t.starts_with("charge.refund.") =>
        {
            Outcome::Refunded
        }
        t if t.ends_with(".payment_failed") || t == "charge.failed" => Outcome::Failed,
        "invoice.paid"
        | "invoice.payment_succeeded"
        | "payment_intent.succeeded"
        | "charge.succeeded"
        | "checkout.session.completed"
        | "checkout.session.async_payment_succeeded" => Outcome::Paid,
        t if t.ends_with(".async_payment_failed") => Outcome::Failed,
        _ => Outcome::Other,
    }
}

/// A window's length for people: `2 s`, `15 min`, `1 h 30 min`, `1 day`.
///
/// ```
/// use stripe_chat_transform::digest::window_in_words;
/// assert_eq!(window_in_words(2), "2 s");
/// assert_eq!(window_in_words(900), "15 min");
/// assert_eq!(window_in_words(5400), "1 h 30 min");
/// assert_eq!(window_in_words(86_400), "1 day");
/// ```
pub fn window_in_words(secs: u64) -> String {
    let parts = [
        (secs / 86_400, "day"),
        ((secs % 86_400) / 3_600, "h"),
        ((secs % 3_600) / 60, "min"),
        (secs % 60, "s"),
    ];
    let words: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| match (*unit, *n) {
            ("day", 1) => "1 day".to_owned(),
            ("day", n) => format!("{n} days"),
            (unit, n) => format!("{n} {unit}"),
        })
        .collect();
    if words.is_empty() {
        "0 s".to_owned()
    } else {
        words.join(" ")
    }
}

/// One summary for the events of a digest `window`: how many, the total per [`Outcome`] (paid,
/// failed, refunded, disputed, other) and currency (formatted by the currency's exponent; amounts of
/// different outcomes or currencies are never added together), the event types counted, the `top` largest events of each currency with
/// their Dashboard links, and a link to the Dashboard's event list. It offers no actions.
///
/// Amounts are what routes compare: the object's `amount`, else `amount_due`, `amount_paid`,
/// `amount_total`. Amounts of different currencies are never compared: each currency has its own
/// "Largest" field (the currency with the most events first).
///
/// ```
/// use stripe_chat_events::StripeEvent;
/// use stripe_chat_route::DigestWindow;
/// use stripe_chat_transform::digest::summarize;
///
/// let charge = |id: &str, amount: i64, currency: &str| StripeEvent::from_json(format!(
///     r#"{{"id":"{id}","object":"event","type":"charge.succeeded","created":1700000000,"livemode":false,
///        "data":{{"object":{{"id":"ch_{id}","object":"charge","amount":{amount},"currency":"{currency}"}}}}}}"#));
/// let events = vec![charge("evt_1", 1250, "usd")?, charge("evt_2", 5000, "jpy")?, charge("evt_3", 750, "usd")?];
/// let message = summarize(&DigestWindow::new("sales", 1_700_000_100, 900), 2, &events);
/// assert_eq!(message.title, "Digest: 3 events in 15 min");
/// let total = |label: &str| message.fields.iter().find(|f| f.label == label).map(|f| f.value.clone());
/// assert_eq!(total("Paid USD").as_deref(), Some("20.00 USD (2 events)"));
/// assert_eq!(total("Paid JPY").as_deref(), Some("5,000 JPY (1 event)"));
/// assert_eq!(total("Largest USD").as_deref(), Some("1. 12.50 USD · charge.succeeded · ch_evt_1\n2. 7.50 USD · charge.succeeded · ch_evt_3"));
/// assert!(message.actions.is_empty());
/// # Ok::<(), stripe_chat_events::EventError>(())
/// ```
pub fn summarize(window: &DigestWindow, top: usize, events: &[StripeEvent]) -> ChatMessage {
    let count = events.len();
    let plural = |n: usize| if n == 1 { "event" } else { "events" };
    let mut message = ChatMessage::new(format!(
        "Digest: {count} {} in {}",
        plural(count),
        window_in_words(window.length_secs)
    ))
    .summary(format!(
        "{count} {} matched route {} between {} and {}.",
        plural(count),
        window.route,
        format_rfc3339(window.start),
        format_rfc3339(window.end()),
    ))
    .severity(Severity::Info)
    .tag("digest")
    .timestamp(window.end())
    .footer(format!("Digest of route {}", window.route))
    .field("Events", count.to_string());

    let amounts: Vec<(usize, Money)> = events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| amount(e).map(|m| (i, m)))
        .collect();
    // Per currency (for the largest events) and per outcome and currency (for the totals).
    let mut totals: BTreeMap<&str, (i64, usize)> = BTreeMap::new();
    let mut by_outcome: BTreeMap<(Outcome, &str), (i64, usize)> = BTreeMap::new();
    for (i, money) in &amounts {
        let total = totals.entry(money.currency.as_str()).or_insert((0, 0));
        total.0 = total.0.saturating_add(money.amount);
        total.1 += 1;
        let kind = outcome(events[*i].event_type());
        let total = by_outcome
            .entry((kind, money.currency.as_str()))
            .or_insert((0, 0));
        total.0 = total.0.saturating_add(money.amount);
        total.1 += 1;
    }
    for ((kind, currency), (sum, n)) in &by_outcome {
        message = message.field(
            format!("{} {}", kind.label(), currency.to_ascii_uppercase()),
            format!("{} ({n} {})", Money::new(*sum, currency), plural(*n)),
        );
    }

    let mut types: BTreeMap<&str, usize> = BTreeMap::new();
    for event in events {
        *types.entry(event.event_type()).or_default() += 1;
    }
    let mut types: Vec<(&str, usize)> = types.into_iter().collect();
    types.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if !types.is_empty() {
        let listed: Vec<String> = types.iter().map(|(t, n)| format!("{t} × {n}")).collect();
        message = message.field("Event types", listed.join(", "));
    }

    // Amounts of different currencies are never compared (there are no exchange rates here):
    // each currency lists its own largest, the currencies with the most events first.
    let mut currencies: Vec<(&str, usize)> = totals.iter().map(|(c, (_, n))| (*c, *n)).collect();
    currencies.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut linked: Vec<(usize, &Money)> = Vec::new();
    for (currency, _) in currencies {
        let mut largest: Vec<(usize, &Money)> = amounts
            .iter()
            .filter(|(_, m)| m.currency == currency)
            .map(|(i, m)| (*i, m))
            .collect();
        largest.sort_by(|(ia, a), (ib, b)| {
            b.amount
                .cmp(&a.amount)
                .then_with(|| events[*ia].id().cmp(events[*ib].id()))
        });
        largest.truncate(top);
        let lines: Vec<String> = largest
            .iter()
            .enumerate()
            .map(|(rank, (i, money))| {
                let event = &events[*i];
                let subject = event
                    .object_ref()
                    .map_or_else(|| event.id().to_owned(), |o| o.id);
                format!("{}. {money} · {} · {subject}", rank + 1, event.event_type())
            })
            .collect();
        message = message.field(
            format!("Largest {}", currency.to_ascii_uppercase()),
            lines.join("\n"),
        );
        linked.extend(largest);
    }

    message = message.link("Events in the Dashboard", events_list(events));
    for (i, money) in linked {
        let event = &events[i];
        if let Some(object) = event.object_ref() {
            message = message.link(
                format!("{money} · {}", object.id),
                event.dashboard().object(&object),
            );
        }
    }
    message
}

/// The Dashboard's event list for the mode and account the events share (live, no account, when
/// they differ).
fn events_list(events: &[StripeEvent]) -> String {
    let first = events.first();
    let livemode = first.is_none_or(StripeEvent::livemode);
    let account = first.and_then(StripeEvent::account);
    let same = events
        .iter()
        .all(|e| e.livemode() == livemode && e.account() == account);
    let dashboard = if same {
        Dashboard::new(livemode, account)
    } else {
        Dashboard::new(events.iter().any(StripeEvent::livemode), None)
    };
    format!("{}/events", dashboard.home())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, event_type: &str, object: &str) -> StripeEvent {
        StripeEvent::from_json(format!(
            r#"{{"id":"{id}","object":"event","type":"{event_type}","created":1700000000,"livemode":true,"data":{{"object":{object}}}}}"#
        ))
        .expect("a valid event")
    }

    fn field<'a>(message: &'a ChatMessage, label: &str) -> Option<&'a str> {
        message
            .fields
            .iter()
            .find(|f| f.label == label)
            .map(|f| f.value.as_str())
    }

    fn sample() -> Vec<StripeEvent> {
        vec![
            event(
                "evt_a",
                "charge.succeeded",
                r#"{"id":"ch_a","object":"charge","amount":1999,"currency":"usd"}"#,
            ),
            event(
                "evt_b",
                "invoice.payment_failed",
                r#"{"id":"in_b","object":"invoice","amount_due":500000,"currency":"jpy"}"#,
            ),
            event(
                "evt_c",
                "charge.succeeded",
                r#"{"id":"ch_c","object":"charge","amount":250001,"currency":"usd"}"#,
            ),
            event(
                "evt_d",
                "charge.succeeded",
                r#"{"id":"ch_d","object":"charge","amount":1500,"currency":"kwd"}"#,
            ),
            event(
                "evt_e",
                "customer.created",
                r#"{"id":"cus_e","object":"customer"}"#,
            ),
        ]
    }

    #[test]
    fn totals_are_per_outcome_and_currency_and_formatted_by_exponent() {
        let message = summarize(&DigestWindow::new("sales", 0, 900), 3, &sample());
        assert_eq!(field(&message, "Events"), Some("5"));
        assert_eq!(field(&message, "Paid USD"), Some("2,520.00 USD (2 events)"));
        assert_eq!(field(&message, "Failed JPY"), Some("500,000 JPY (1 event)"));
        assert_eq!(field(&message, "Paid KWD"), Some("1.500 KWD (1 event)"));
        assert!(
            !message
                .fields
                .iter()
                .any(|f| f.value.contains("¥") || f.value.contains("5,000.00")),
            "JPY has no minor unit"
        );
    }

    #[test]
    fn failed_and_paid_amounts_are_totalled_apart_never_into_one_sum() {
        let events = vec![
            event(
                "evt_p",
                "invoice.paid",
                r#"{"id":"in_p","object":"invoice","amount_paid":10000,"currency":"usd"}"#,
            ),
            event(
                "evt_f",
                "invoice.payment_failed",
                r#"{"id":"in_f","object":"invoice","amount_due":2500,"currency":"usd"}"#,
            ),
            event(
                "evt_r",
                "charge.refunded",
                r#"{"id":"ch_r","object":"charge","amount":700,"currency":"usd"}"#,
            ),
            event(
                "evt_d",
                "charge.dispute.created",
                r#"{"id":"dp_d","object":"dispute","amount":300,"currency":"usd"}"#,
            ),
        ];
        let message = summarize(&DigestWindow::new("invoices", 0, 900), 3, &events);
        assert_eq!(field(&message, "Paid USD"), Some("100.00 USD (1 event)"));
        assert_eq!(field(&message, "Failed USD"), Some("25.00 USD (1 event)"));
        assert_eq!(field(&message, "Refunded USD"), Some("7.00 USD (1 event)"));
        assert_eq!(field(&message, "Disputed USD"), Some("3.00 USD (1 event)"));
        assert!(
            !message.fields.iter().any(|f| f.label.starts_with("Total")),
            "no sum across outcomes: {:#?}",
            message.fields
        );
    }

    #[test]
    fn the_largest_events_are_ranked_within_their_own_currency_with_their_links() {
        let message = summarize(&DigestWindow::new("sales", 0, 900), 1, &sample());
        let largest: Vec<(&str, &str)> = message
            .fields
            .iter()
            .filter(|f| f.label.starts_with("Largest"))
            .map(|f| (f.label.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(
            largest,
            [
                ("Largest USD", "1. 2,500.01 USD · charge.succeeded · ch_c"),
                (
                    "Largest JPY",
                    "1. 500,000 JPY · invoice.payment_failed · in_b"
                ),
                ("Largest KWD", "1. 1.500 KWD · charge.succeeded · ch_d"),
            ],
            "USD first (two events), then by currency code; no cross-currency ranking"
        );
        let urls: Vec<&str> = message.links.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://dashboard.stripe.com/events",
                "https://dashboard.stripe.com/payments/ch_c",
                "https://dashboard.stripe.com/invoices/in_b",
                "https://dashboard.stripe.com/payments/ch_d",
            ]
        );
    }

    #[test]
    fn a_currency_lists_at_most_top_events_largest_first() {
        let message = summarize(&DigestWindow::new("sales", 0, 900), 2, &sample());
        assert_eq!(
            field(&message, "Largest USD"),
            Some(
                "1. 2,500.01 USD · charge.succeeded · ch_c\n2. 19.99 USD · charge.succeeded · ch_a"
            )
        );
    }

    #[test]
    fn event_types_are_counted_most_frequent_first() {
        let message = summarize(&DigestWindow::new("sales", 0, 900), 3, &sample());
        assert_eq!(
            field(&message, "Event types"),
            Some("charge.succeeded × 3, customer.created × 1, invoice.payment_failed × 1")
        );
    }

    #[test]
    fn the_title_counts_events_and_names_the_window() {
        let events = sample();
        let one = summarize(&DigestWindow::new("r", 0, 2), 3, &events[..1]);
        assert_eq!(one.title, "Digest: 1 event in 2 s");
        let all = summarize(&DigestWindow::new("r", 1_700_000_100, 900), 3, &events);
        assert_eq!(all.title, "Digest: 5 events in 15 min");
        assert_eq!(all.timestamp, Some(1_700_001_000));
        assert!(all.summary.contains("route r"), "{}", all.summary);
        assert!(all.actions.is_empty(), "a digest moves no money");
        assert!(all.thread_key.is_none());
    }

    #[test]
    fn events_of_test_mode_link_the_test_event_list() {
        let test = StripeEvent::from_json(
            r#"{"id":"evt_t","object":"event","type":"charge.failed","created":1,"livemode":false,"data":{"object":{"id":"ch_t","object":"charge"}}}"#.to_owned(),
        )
        .expect("a valid event");
        let message = summarize(&DigestWindow::new("r", 0, 60), 3, &[test]);
        assert_eq!(
            message.links[0].url,
            "https://dashboard.stripe.com/test/events"
        );
        assert!(
            field(&message, "Largest").is_none(),
            "no amount, nothing to rank"
        );
    }
}

//! Routing rules of stripe-chat: which Stripe events go to which chat destinations.
//!
//! Routes are checked in order, as in Alertmanager: the first route whose conditions all hold sends
//! the event to its destinations, and routing stops there unless that route says `continue = true`.
//! An event that no route matches goes nowhere. Conditions:
//!
//! | key | holds when |
//! |---|---|
//! | `events` | the event type matches one of the patterns (`invoice.*`, `charge.dispute.*`, `*`) |
//! | `livemode` | the event is live (`true`) or test mode (`false`); absent: both |
//! | `amount_gte`, `amount_lte` | the event's amount, in major units of its currency (`100` = 100.00 USD or ¥100), is within bounds |
//! | `currency` | the event's currency is one of these (case-insensitive) |
//! | `metadata` | the object's metadata has every `key = value` given |
//! | `customer_email_domain` | the customer's email is at one of these domains |
//! | `account` | the event came from one of these connected accounts |
//!
//! A route may also collect what it sends into a [`Digest`] (`digest = { window = "15m", top = 3 }`):
//! one summary per destination and window instead of one message per event.
//!
//! ```
//! use stripe_chat_events::StripeEvent;
//! use stripe_chat_route::Routes;
//!
//! let routes: Routes = toml::from_str::<toml::Table>(r#"
//! [[routes]]
//! events = ["charge.dispute.*"]
//! to = ["legal"]
//! continue = true
//!
//! [[routes]]
//! events = ["*"]
//! livemode = true
//! amount_gte = 1000
//! to = ["finance"]
//! "#)?["routes"].clone().try_into()?;
//!
//! let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"charge.dispute.created",
//!   "created":1,"livemode":true,"data":{"object":{"id":"dp_1","object":"dispute","amount":250000,"currency":"usd"}}}"#)?;
//! assert_eq!(routes.destinations(&event), vec!["legal", "finance"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod digest;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use stripe_chat_events::money::exponent;
use stripe_chat_events::{EventPattern, StripeEvent};

pub use digest::{Digest, DigestError, DigestWindow};
pub use stripe_chat_message::parse_duration;

/// One routing rule: conditions, destinations, and whether to keep routing after it matches.
///
/// ```
/// let route: stripe_chat_route::Route = toml::from_str(r#"
/// events = ["invoice.payment_failed"]
/// currency = ["eur"]
/// to = ["billing"]
/// "#)?;
/// assert_eq!(route.to, vec!["billing"]);
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// A name for the route (shown in digests, and the key of its digests' windows).
    #[serde(default)]
    pub name: Option<String>,
    /// Event-type patterns; absent means every type.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Live (`true`) or test (`false`) mode only.
    #[serde(default)]
    pub livemode: Option<bool>,
    /// The amount is at least this, in major units of the event's currency.
    #[serde(default)]
    pub amount_gte: Option<f64>,
    /// The amount is at most this, in major units of the event's currency.
    #[serde(default)]
    pub amount_lte: Option<f64>,
    /// The currency is one of these.
    #[serde(default)]
    pub currency: Option<Vec<String>>,
    /// The object's metadata has each of these key/value pairs.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// The customer's email is at one of these domains.
    #[serde(default)]
    pub customer_email_domain: Option<Vec<String>>,
    /// The event came from one of these connected accounts.
    #[serde(default)]
    pub account: Option<Vec<String>>,
    /// Destination names.
    pub to: Vec<String>,
    /// Keep routing after this route matched.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    /// Collect the events this route sends into one summary per destination and window.
    #[serde(default)]
    pub digest: Option<Digest>,
}

impl Route {
    /// How the route is called in digests and their keys: its `name`, else `routes[index]` (its
    /// place in the file, `index` counting from 0).
    ///
    /// ```
    /// let route: stripe_chat_route::Route = toml::from_str("to = [\"log\"]")?;
    /// assert_eq!(route.label(2), "routes[2]");
    /// let named: stripe_chat_route::Route = toml::from_str("name = \"sales\"\nto = [\"log\"]")?;
    /// assert_eq!(named.label(2), "sales");
    /// # Ok::<(), toml::de::Error>(())
    /// ```
    pub fn label(&self, index: usize) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => format!("routes[{index}]"),
        }
    }

    /// Whether every condition of the route holds for `event`.
    ///
    /// ```
    /// use stripe_chat_events::StripeEvent;
    /// let route: stripe_chat_route::Route = toml::from_str(r#"
    /// livemode = false
    /// to = ["test-channel"]
    /// "#)?;
    /// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"x","created":1,"livemode":false,"data":{"object":{}}}"#)?;
    /// assert!(route.matches(&event));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn matches(&self, event: &StripeEvent) -> bool {
        if let Some(patterns) = &self.events
            && !patterns
                .iter()
                .any(|p| EventPattern::new(p.as_str()).matches(event.event_type()))
        {
            return false;
        }
        if self.livemode.is_some_and(|live| live != event.livemode()) {
            return false;
        }
        if let Some(accounts) = &self.account
            && !event
                .account()
                .is_some_and(|a| accounts.iter().any(|x| x == a))
        {
            return false;
        }
        let object = event.object();
        if self.amount_gte.is_some() || self.amount_lte.is_some() || self.currency.is_some() {
            let Some((amount, currency)) = amount_of(object) else {
                return false;
            };
            if let Some(currencies) = &self.currency
                && !currencies.iter().any(|c| c.eq_ignore_ascii_case(currency))
            {
                return false;
            }
            let major = amount as f64 / 10f64.powi(exponent(currency) as i32);
            if self.amount_gte.is_some_and(|min| major < min)
                || self.amount_lte.is_some_and(|max| major > max)
            {
                return false;
            }
        }
        for (key, expected) in &self.metadata {
            let actual = object
                .get("metadata")
                .and_then(|m| m.get(key))
                .and_then(Value::as_str);
            if actual != Some(expected.as_str()) {
                return false;
            }
        }
        if let Some(domains) = &self.customer_email_domain {
            let Some(domain) = email_of(object)
                .and_then(|e| e.rsplit_once('@'))
                .map(|(_, d)| d)
            else {
                return false;
            };
            if !domains
                .iter()
                .any(|d| d.trim_start_matches('@').eq_ignore_ascii_case(domain))
            {
                return false;
            }
        }
        true
    }
}

/// The object's main amount and its currency: `amount`, else what an invoice is about
/// (`amount_due`, `amount_paid`), else `amount_total`.
fn amount_of(object: &Value) -> Option<(i64, &str)> {
    let currency = object.get("currency").and_then(Value::as_str)?;
    ["amount", "amount_due", "amount_paid", "amount_total"]
        .iter()
        .find_map(|k| object.get(*k).and_then(Value::as_i64))
        .map(|amount| (amount, currency))
}

/// The customer's email wherever the object carries it.
fn email_of(object: &Value) -> Option<&str> {
    let pointers = [
        "/customer_email",
        "/email",
        "/receipt_email",
        "/billing_details/email",
        "/customer/email",
        "/last_payment_error/payment_method/billing_details/email",
    ];
    pointers
        .iter()
        .find_map(|p| object.pointer(p).and_then(Value::as_str))
        .filter(|e| e.contains('@'))
}

/// Routes in order, with their destinations.
///
/// ```
/// use stripe_chat_route::Routes;
/// let routes: Routes = serde_json::from_value(serde_json::json!([{ "to": ["log"] }]))?;
/// assert_eq!(routes.len(), 1);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Routes(Vec<Route>);

impl Routes {
    /// Routes from a list.
    ///
    /// ```
    /// assert!(stripe_chat_route::Routes::new(Vec::new()).is_empty());
    /// ```
    pub fn new(routes: Vec<Route>) -> Self {
        Routes(routes)
    }

    /// How many routes.
    ///
    /// ```
    /// assert_eq!(stripe_chat_route::Routes::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no routes.
    ///
    /// ```
    /// assert!(stripe_chat_route::Routes::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The routes, in order.
    ///
    /// ```
    /// assert_eq!(stripe_chat_route::Routes::default().iter().count(), 0);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.0.iter()
    }

    /// Every destination name a route sends to (for checking them against the configured ones).
    ///
    /// ```
    /// let routes: stripe_chat_route::Routes = serde_json::from_value(serde_json::json!([{ "to": ["a", "b"] }, { "to": ["a"] }]))?;
    /// assert_eq!(routes.referenced_destinations(), vec!["a", "b"]);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn referenced_destinations(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .0
            .iter()
            .flat_map(|r| r.to.iter().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Where `event` goes: each destination once, in route order, with the route that sent it
    /// there first (whose `digest`, if any, applies to it).
    ///
    /// ```
    /// use stripe_chat_events::StripeEvent;
    /// let routes: stripe_chat_route::Routes = serde_json::from_value(serde_json::json!([
    ///   { "events": ["charge.*"], "to": ["sales"], "digest": { "window": "15m" }, "continue": true },
    ///   { "to": ["sales", "log"] }
    /// ]))?;
    /// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"charge.succeeded","created":1,"data":{"object":{}}}"#)?;
    /// let targets = routes.targets(&event);
    /// assert_eq!(targets.len(), 2);
    /// assert_eq!((targets[0].destination, targets[0].index), ("sales", 0));
    /// assert!(targets[0].route.digest.is_some());
    /// assert_eq!((targets[1].destination, targets[1].index), ("log", 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn targets(&self, event: &StripeEvent) -> Vec<Target<'_>> {
        let mut out: Vec<Target<'_>> = Vec::new();
        for (index, route) in self.0.iter().enumerate() {
            if !route.matches(event) {
                continue;
            }
            for name in &route.to {
                if !out.iter().any(|t| t.destination == name) {
                    out.push(Target {
                        destination: name,
                        route,
                        index,
                    });
                }
            }
            if !route.continue_matching {
                break;
            }
        }
        out
    }

    /// The route called `label` (see [`Route::label`]), with its index.
    ///
    /// ```
    /// let routes: stripe_chat_route::Routes = serde_json::from_value(serde_json::json!([
    ///   { "to": ["a"] }, { "name": "sales", "to": ["b"] }
    /// ]))?;
    /// assert_eq!(routes.by_label("sales").map(|(i, _)| i), Some(1));
    /// assert_eq!(routes.by_label("routes[0]").map(|(i, _)| i), Some(0));
    /// assert!(routes.by_label("routes[1]").is_none(), "a named route is known by its name");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn by_label(&self, label: &str) -> Option<(usize, &Route)> {
        self.0
            .iter()
            .enumerate()
            .find(|(i, route)| route.label(*i) == label)
    }

    /// The destinations `event` goes to, in route order, each once.
    ///
    /// ```
    /// use stripe_chat_events::StripeEvent;
    /// let routes: stripe_chat_route::Routes = serde_json::from_value(serde_json::json!([
    ///   { "events": ["invoice.*"], "to": ["billing"] },
    ///   { "events": ["*"], "to": ["everything"] }
    /// ]))?;
    /// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"invoice.paid","created":1,"data":{"object":{}}}"#)?;
    /// assert_eq!(routes.destinations(&event), vec!["billing"], "the first match stops routing");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn destinations(&self, event: &StripeEvent) -> Vec<&str> {
        self.targets(event)
            .into_iter()
            .map(|t| t.destination)
            .collect()
    }
}

/// One destination an event goes to, and the route that sends it there: see
/// [`Routes::targets`].
///
/// ```
/// use stripe_chat_events::StripeEvent;
/// let routes: stripe_chat_route::Routes = serde_json::from_value(serde_json::json!([{ "to": ["log"] }]))?;
/// let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"x","created":1,"data":{"object":{}}}"#)?;
/// let target = routes.targets(&event).remove(0);
/// assert_eq!(target.route.label(target.index), "routes[0]");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The destination's name.
    pub destination: &'a str,
    /// The first route that sends the event there.
    pub route: &'a Route,
    /// That route's place in the list, from 0.
    pub index: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> StripeEvent {
        StripeEvent::from_slice(json.as_bytes()).expect("valid event")
    }

    fn routes(toml_text: &str) -> Routes {
        #[derive(Deserialize)]
        struct File {
            routes: Routes,
        }
        toml::from_str::<File>(toml_text)
            .expect("valid routes")
            .routes
    }

    const INVOICE_JPY: &str = r#"{"id":"evt_1","object":"event","type":"invoice.payment_failed","created":1,"livemode":true,
      "data":{"object":{"id":"in_1","object":"invoice","amount_due":5000,"currency":"jpy","customer_email":"Ops@Example.COM",
      "metadata":{"plan":"enterprise","region":"apac"}}}}"#;

    #[test]
    fn amounts_compare_in_major_units_of_the_events_currency() {
        let r = routes("[[routes]]\namount_gte = 5000\nto = [\"big\"]\n");
        assert_eq!(
            r.destinations(&event(INVOICE_JPY)),
            vec!["big"],
            "5000 JPY is ¥5,000"
        );
        let r = routes("[[routes]]\namount_gte = 5000.01\nto = [\"big\"]\n");
        assert!(r.destinations(&event(INVOICE_JPY)).is_empty());
    }

    #[test]
    fn metadata_email_domain_and_currency_must_all_hold() {
        let r = routes(
            "[[routes]]\nmetadata = { plan = \"enterprise\" }\ncustomer_email_domain = [\"example.com\"]\ncurrency = [\"JPY\"]\nto = [\"vip\"]\n",
        );
        assert_eq!(r.destinations(&event(INVOICE_JPY)), vec!["vip"]);
        let r = routes("[[routes]]\nmetadata = { plan = \"starter\" }\nto = [\"vip\"]\n");
        assert!(r.destinations(&event(INVOICE_JPY)).is_empty());
    }

    #[test]
    fn continue_keeps_routing_and_destinations_are_listed_once() {
        let r = routes(
            "[[routes]]\nevents = [\"invoice.*\"]\nto = [\"billing\", \"log\"]\ncontinue = true\n\n[[routes]]\nto = [\"log\", \"all\"]\n",
        );
        assert_eq!(
            r.destinations(&event(INVOICE_JPY)),
            vec!["billing", "log", "all"]
        );
    }

    #[test]
    fn test_mode_routes_ignore_live_events() {
        let r = routes("[[routes]]\nlivemode = false\nto = [\"sandbox\"]\n");
        assert!(r.destinations(&event(INVOICE_JPY)).is_empty());
    }

    #[test]
    fn an_amount_condition_never_matches_an_event_without_an_amount() {
        let r = routes("[[routes]]\namount_lte = 1000000\nto = [\"x\"]\n");
        let e = event(
            r#"{"id":"evt_2","object":"event","type":"customer.updated","created":1,"data":{"object":{"id":"cus_1"}}}"#,
        );
        assert!(r.destinations(&e).is_empty());
    }

    #[test]
    fn a_destination_reached_by_two_routes_follows_the_first() {
        let r = routes(
            "[[routes]]\nname = \"sales\"\nto = [\"chat\"]\ndigest = { window = \"15m\" }\ncontinue = true\n\n[[routes]]\nto = [\"chat\", \"log\"]\n",
        );
        let targets = r.targets(&event(INVOICE_JPY));
        let shape: Vec<(&str, String, bool)> = targets
            .iter()
            .map(|t| {
                (
                    t.destination,
                    t.route.label(t.index),
                    t.route.digest.is_some(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                ("chat", "sales".to_owned(), true),
                ("log", "routes[1]".to_owned(), false)
            ]
        );
    }

    #[test]
    fn a_digest_with_a_bad_window_is_refused() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct File {
            routes: Routes,
        }
        let err =
            toml::from_str::<File>("[[routes]]\nto = [\"a\"]\ndigest = { window = \"0s\" }\n")
                .expect_err("zero window");
        assert!(err.to_string().contains("window: \"0s\""), "{err}");
    }

    #[test]
    fn unknown_route_keys_are_refused_by_name() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct File {
            routes: Routes,
        }
        let err = toml::from_str::<File>("[[routes]]\nevent = [\"x\"]\nto = [\"a\"]\n")
            .expect_err("typo");
        assert!(err.to_string().contains("unknown field `event`"), "{err}");
    }
}

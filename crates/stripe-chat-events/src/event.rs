//! The Stripe event: raw JSON kept whole, the envelope read once, lenient views of its object.

use serde::Deserialize;
use serde_json::Value;
use stripe_chat_message::{ObjectKind, ObjectRef, Source};

use crate::enrichment::Enrichment;
use crate::links::Dashboard;
use crate::views::{
    ChargeView, CustomerView, DisputeView, InvoiceView, PaymentIntentView, SubscriptionView,
};

/// Why bytes are not a Stripe event.
///
/// ```
/// use stripe_chat_events::{EventError, StripeEvent};
/// assert!(matches!(StripeEvent::from_slice(b"not json"), Err(EventError::NotJson(_))));
/// assert!(matches!(StripeEvent::from_slice(b"{}"), Err(EventError::NotAnEvent(_))));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The bytes are not UTF-8 JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// The JSON is not a Stripe event (no `id`, `type`, `created`, `data.object`, or `object` is not
    /// `"event"`).
    #[error("not a Stripe event: {0}")]
    NotAnEvent(String),
}

#[derive(Deserialize)]
struct Envelope {
    id: Option<String>,
    object: Option<String>,
    #[serde(rename = "type")]
    type_: Option<String>,
    created: Option<i64>,
    #[serde(default)]
    livemode: bool,
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    account: Option<String>,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    object: Option<Value>,
    #[serde(default)]
    previous_attributes: Option<Value>,
}

/// A Stripe event of any type and any API version.
///
/// It keeps the raw JSON exactly as received, reads the envelope once, and offers lenient views of
/// the object (`invoice()`, `payment_intent()`, ...) that work across API versions from 2019 on. The
/// strict typed model of async-stripe is available through [`StripeEvent::typed`] when it parses.
///
/// ```
/// use stripe_chat_events::StripeEvent;
/// let raw = br#"{"id":"evt_1","object":"event","type":"invoice.paid","created":1700000000,
///   "livemode":false,"api_version":"2024-06-20",
///   "data":{"object":{"id":"in_1","object":"invoice","amount_paid":2000,"currency":"usd","subscription":"sub_1"}}}"#;
/// let event = StripeEvent::from_slice(raw)?;
/// assert_eq!(event.event_type(), "invoice.paid");
/// let invoice = event.invoice().expect("an invoice");
/// assert_eq!(invoice.subscription_id(), Some("sub_1"));
/// assert_eq!(event.dashboard().object(&event.object_ref().expect("has an id")),
///            "https://dashboard.stripe.com/test/invoices/in_1");
/// # Ok::<(), stripe_chat_events::EventError>(())
/// ```
#[derive(Debug, Clone)]
pub struct StripeEvent {
    raw: String,
    id: String,
    event_type: String,
    created: i64,
    livemode: bool,
    api_version: Option<String>,
    account: Option<String>,
    object: Value,
    previous_attributes: Option<Value>,
    enrichment: Option<Enrichment>,
}

impl StripeEvent {
    /// Parses an event from the raw request body.
    ///
    /// ```
    /// let e = stripe_chat_events::StripeEvent::from_slice(
    ///     br#"{"id":"evt_1","object":"event","type":"x.y","created":1,"data":{"object":{}}}"#)?;
    /// assert_eq!(e.id(), "evt_1");
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn from_slice(raw: &[u8]) -> Result<Self, EventError> {
        let text = std::str::from_utf8(raw)
            .map_err(|e| EventError::NotJson(format!("not UTF-8 ({e})")))?;
        Self::from_json(text.to_owned())
    }

    /// Parses an event from JSON text, keeping the text as the raw event.
    ///
    /// ```
    /// let e = stripe_chat_events::StripeEvent::from_json(
    ///     r#"{"id":"evt_1","object":"event","type":"x.y","created":1,"data":{"object":{}}}"#.to_string())?;
    /// assert_eq!(e.event_type(), "x.y");
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn from_json(raw: String) -> Result<Self, EventError> {
        let envelope: Envelope = match serde_json::from_str(&raw) {
            Ok(envelope) => envelope,
            Err(e) if e.is_data() => {
                return Err(EventError::NotAnEvent(format!("unexpected shape ({e})")));
            }
            Err(e) => return Err(EventError::NotJson(e.to_string())),
        };
        let missing = |what: &str| EventError::NotAnEvent(format!("no `{what}`"));
        match envelope.object.as_deref() {
            Some("event") => {}
            Some(other) => {
                return Err(EventError::NotAnEvent(format!(
                    "`object` is \"{}\", not \"event\"",
                    other.chars().take(64).collect::<String>()
                )));
            }
            None => return Err(missing("object")),
        }
        let id = envelope.id.ok_or_else(|| missing("id"))?;
        let event_type = envelope.type_.ok_or_else(|| missing("type"))?;
        let created = envelope.created.ok_or_else(|| missing("created"))?;
        let data = envelope.data.ok_or_else(|| missing("data"))?;
        let object = data.object.ok_or_else(|| missing("data.object"))?;
        if !object.is_object() {
            return Err(EventError::NotAnEvent(
                "`data.object` is not an object".into(),
            ));
        }
        Ok(StripeEvent {
            raw,
            id,
            event_type,
            created,
            livemode: envelope.livemode,
            api_version: envelope.api_version,
            account: envelope.account,
            object,
            previous_attributes: data.previous_attributes.filter(|v| !v.is_null()),
            enrichment: None,
        })
    }

    /// The event with `object` as its `data.object` (the same object with details Stripe left
    /// out filled in where Stripe puts them when asked to expand them: an expanded `charge`, a
    /// `customer` object instead of its id, an invoice's `payments`), and what `enrichment`
    /// says. The raw JSON stays as received. An `object` that is not a JSON object is ignored.
    ///
    /// ```
    /// use stripe_chat_events::{Enrichment, StripeEvent};
    /// let e = StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"charge.dispute.created","created":1,
    ///     "data":{"object":{"id":"dp_1","object":"dispute","charge":"ch_1"}}}"#.to_string())?;
    /// let mut object = e.object().clone();
    /// object["charge"] = serde_json::json!({"id": "ch_1", "object": "charge", "billing_details": {"name": "Jenny"}});
    /// let e = e.enriched(object, Enrichment::new());
    /// assert_eq!(e.dispute().and_then(|d| d.charge_id()), Some("ch_1"));
    /// assert_eq!(e.object()["charge"]["billing_details"]["name"], "Jenny");
    /// assert!(e.raw().contains(r#""charge":"ch_1""#));
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn enriched(mut self, object: Value, enrichment: Enrichment) -> Self {
        if object.is_object() {
            self.object = object;
        }
        self.enrichment = Some(enrichment);
        self
    }

    /// What enrichment said about the event, when it went through enrichment.
    ///
    /// ```
    /// use stripe_chat_events::{Enrichment, StripeEvent};
    /// let e = StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"x","created":1,"data":{"object":{}}}"#.to_string())?;
    /// assert!(e.enrichment().is_none());
    /// let object = e.object().clone();
    /// let e = e.enriched(object, Enrichment::new().details_unavailable());
    /// assert!(e.enrichment().is_some_and(|x| x.is_details_unavailable()));
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn enrichment(&self) -> Option<&Enrichment> {
        self.enrichment.as_ref()
    }

    /// The raw JSON exactly as received.
    ///
    /// ```
    /// let raw = r#"{"id":"evt_1","object":"event","type":"x","created":1,"data":{"object":{}}}"#;
    /// assert_eq!(stripe_chat_events::StripeEvent::from_json(raw.to_string())?.raw(), raw);
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// `evt_...`
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"x","created":1,"data":{"object":{}}}"#.into())?;
    /// assert_eq!(e.id(), "evt_1");
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The event type, e.g. `invoice.payment_failed`.
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"charge.failed","created":1,"data":{"object":{}}}"#.into())?;
    /// assert_eq!(e.event_type(), "charge.failed");
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn event_type(&self) -> &str {
        &self.event_type
    }

    /// When the event was created, Unix seconds.
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"x","created":42,"data":{"object":{}}}"#.into())?;
    /// assert_eq!(e.created(), 42);
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn created(&self) -> i64 {
        self.created
    }

    /// Live mode (`true`) or test mode.
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"x","created":1,"livemode":true,"data":{"object":{}}}"#.into())?;
    /// assert!(e.livemode());
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn livemode(&self) -> bool {
        self.livemode
    }

    /// The API version the object was rendered with.
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"x","created":1,"api_version":"2019-12-03","data":{"object":{}}}"#.into())?;
    /// assert_eq!(e.api_version(), Some("2019-12-03"));
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn api_version(&self) -> Option<&str> {
        self.api_version.as_deref()
    }

    /// The connected account (`acct_...`) for Connect events.
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"x","created":1,"account":"acct_1","data":{"object":{}}}"#.into())?;
    /// assert_eq!(e.account(), Some("acct_1"));
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// `data.object`: the resource the event is about, as JSON.
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"x","created":1,"data":{"object":{"id":"in_1"}}}"#.into())?;
    /// assert_eq!(e.object()["id"], "in_1");
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn object(&self) -> &Value {
        &self.object
    }

    /// `data.previous_attributes`: the old values of the fields an `*.updated` event changed.
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"customer.updated","created":1,"data":{"object":{},"previous_attributes":{"email":"old@example.com"}}}"#.into())?;
    /// assert_eq!(e.previous_attributes().map(|p| p["email"].as_str()), Some(Some("old@example.com")));
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn previous_attributes(&self) -> Option<&Value> {
        self.previous_attributes.as_ref()
    }

    /// The object's `object` name (`invoice`, `charge`, `dispute`, ...).
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"x","created":1,"data":{"object":{"object":"dispute"}}}"#.into())?;
    /// assert_eq!(e.object_name(), Some("dispute"));
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn object_name(&self) -> Option<&str> {
        self.object.get("object").and_then(Value::as_str)
    }

    /// The object the event is about, as a thread key; `None` when it has no `id`.
    ///
    /// ```
    /// use stripe_chat_message::ObjectKind;
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"x","created":1,"data":{"object":{"object":"dispute","id":"dp_1"}}}"#.into())?;
    /// assert_eq!(e.object_ref().map(|o| o.kind), Some(ObjectKind::Dispute));
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn object_ref(&self) -> Option<ObjectRef> {
        let id = self.object.get("id").and_then(Value::as_str)?;
        let kind = match self.object_name() {
            Some("invoice") => ObjectKind::Invoice,
            Some("payment_intent") => ObjectKind::PaymentIntent,
            Some("charge") => ObjectKind::Charge,
            Some("dispute") => ObjectKind::Dispute,
            Some("customer") => ObjectKind::Customer,
            Some("subscription") => ObjectKind::Subscription,
            Some("refund") => ObjectKind::Refund,
            _ => crate::ids::kind_of(id),
        };
        Some(ObjectRef::new(kind, id))
    }

    /// The Stripe object a message about this event is about: its thread key, so that the
    /// events of one business object land on one message. A payment intent or a charge of an
    /// invoice is about the invoice; a charge of a payment intent, about the payment intent;
    /// anything else, about its own object ([`StripeEvent::object_ref`]). `None` when the
    /// object has no id.
    ///
    /// The built-in transformers thread their messages on it, and the service keys its delivery
    /// jobs with it when an event arrives, so both always agree.
    ///
    /// ```
    /// use stripe_chat_events::StripeEvent;
    /// let failed = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"charge.failed",
    ///   "created":1,"data":{"object":{"id":"ch_1","object":"charge","payment_intent":"pi_1","invoice":"in_9"}}}"#)?;
    /// assert_eq!(failed.subject().map(|o| o.to_string()).as_deref(), Some("invoice/in_9"));
    /// let dispute = StripeEvent::from_slice(br#"{"id":"evt_2","object":"event","type":"charge.dispute.created",
    ///   "created":1,"data":{"object":{"id":"dp_1","object":"dispute","charge":"ch_1"}}}"#)?;
    /// assert_eq!(dispute.subject().map(|o| o.to_string()).as_deref(), Some("dispute/dp_1"));
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn subject(&self) -> Option<ObjectRef> {
        let of = |kind: ObjectKind, id: Option<&str>| id.map(|id| ObjectRef::new(kind, id));
        let business = if let Some(intent) = self.payment_intent() {
            of(ObjectKind::Invoice, intent.invoice_id())
                .or_else(|| of(ObjectKind::PaymentIntent, intent.id()))
        } else if let Some(charge) = self.charge() {
            of(ObjectKind::Invoice, charge.invoice_id())
                .or_else(|| of(ObjectKind::PaymentIntent, charge.payment_intent_id()))
        } else {
            None
        };
        business.or_else(|| self.object_ref())
    }

    /// Dashboard links for this event's mode and connected account.
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"x","created":1,"livemode":true,"data":{"object":{}}}"#.into())?;
    /// assert_eq!(e.dashboard().home(), "https://dashboard.stripe.com");
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn dashboard(&self) -> Dashboard {
        Dashboard::new(self.livemode, self.account.as_deref())
    }

    /// The event as a message [`Source`].
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"x","created":1,"data":{"object":{}}}"#.into())?;
    /// assert_eq!(e.source().event_id, "evt_1");
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn source(&self) -> Source {
        Source {
            event_id: self.id.clone(),
            event_type: self.event_type.clone(),
            livemode: self.livemode,
        }
    }

    /// The invoice, when the event is about one.
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"invoice.paid","created":1,"data":{"object":{"object":"invoice","number":"A-1"}}}"#.into())?;
    /// assert_eq!(e.invoice().and_then(|i| i.number()), Some("A-1"));
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn invoice(&self) -> Option<InvoiceView<'_>> {
        (self.object_name() == Some("invoice")).then(|| InvoiceView::new(&self.object))
    }

    /// The payment intent, when the event is about one.
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"x","created":1,"data":{"object":{"object":"payment_intent","amount":5}}}"#.into())?;
    /// assert_eq!(e.payment_intent().and_then(|p| p.amount()), Some(5));
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn payment_intent(&self) -> Option<PaymentIntentView<'_>> {
        (self.object_name() == Some("payment_intent")).then(|| PaymentIntentView::new(&self.object))
    }

    /// The charge, when the event is about one.
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"x","created":1,"data":{"object":{"object":"charge","failure_code":"card_declined"}}}"#.into())?;
    /// assert_eq!(e.charge().and_then(|c| c.failure_code()), Some("card_declined"));
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn charge(&self) -> Option<ChargeView<'_>> {
        (self.object_name() == Some("charge")).then(|| ChargeView::new(&self.object))
    }

    /// The dispute, when the event is about one.
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"x","created":1,"data":{"object":{"object":"dispute","reason":"fraudulent"}}}"#.into())?;
    /// assert_eq!(e.dispute().and_then(|d| d.reason()), Some("fraudulent"));
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn dispute(&self) -> Option<DisputeView<'_>> {
        (self.object_name() == Some("dispute")).then(|| DisputeView::new(&self.object))
    }

    /// The customer, when the event is about one.
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"x","created":1,"data":{"object":{"object":"customer","email":"a@b.test"}}}"#.into())?;
    /// assert_eq!(e.customer().and_then(|c| c.email()), Some("a@b.test"));
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn customer(&self) -> Option<CustomerView<'_>> {
        (self.object_name() == Some("customer")).then(|| CustomerView::new(&self.object))
    }

    /// The subscription, when the event is about one.
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"x","created":1,"data":{"object":{"object":"subscription","status":"active"}}}"#.into())?;
    /// assert_eq!(e.subscription().and_then(|s| s.status()), Some("active"));
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    pub fn subscription(&self) -> Option<SubscriptionView<'_>> {
        (self.object_name() == Some("subscription")).then(|| SubscriptionView::new(&self.object))
    }

    /// The strictly typed async-stripe event (feature `typed`), when the object parses as the API version
    /// async-stripe is pinned to. Events of other versions often do not; the lenient views always
    /// work. Call it only where a typed object is needed: it parses the raw JSON again.
    ///
    /// ```
    /// # let e = stripe_chat_events::StripeEvent::from_json(r#"{"id":"evt_1","object":"event","type":"some.future_event","created":1,"livemode":false,"pending_webhooks":0,"data":{"object":{}}}"#.into())?;
    /// let typed = e.typed().expect("unknown types parse as Unknown");
    /// assert!(matches!(typed.data.object, stripe_chat_events::typed::EventObject::Unknown(_)));
    /// # Ok::<(), stripe_chat_events::EventError>(())
    /// ```
    #[cfg(feature = "typed")]
    pub fn typed(&self) -> Result<stripe_webhook::Event, TypedParseError> {
        // The signature was checked by `WebhookVerifier` before this event was built, so the
        // unverified parse of async-stripe is the right call; silence its development warning.
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
            stripe_webhook::Webhook::insecure(&self.raw)
        })
        .map_err(|e| TypedParseError(e.to_string()))
    }
}

/// The event does not parse as async-stripe's strictly typed model (usually another API version).
///
/// ```
/// let e = stripe_chat_events::TypedParseError("could not parse event object".into());
/// assert!(e.to_string().contains("async-stripe"));
/// ```
#[cfg(feature = "typed")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the event does not fit async-stripe's typed model: {0}")]
pub struct TypedParseError(pub String);

//! Lenient, version-tolerant views of the Stripe objects stripe-chat talks about.
//!
//! Each view borrows the object's JSON and reads fields by name, accepting every shape Stripe has
//! sent since 2019: ids or expanded objects, fields moved between API versions (an invoice's
//! subscription at the top level before `2025-03-31.basil`, under `parent.subscription_details`
//! after), absent or `null` fields. A missing field is `None`, never an error.

use serde_json::Value;

use crate::money::Money;

/// The value at a dotted path (`"evidence_details.due_by"`, `"lines.data.0.description"`).
fn at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(value, |v, key| match v {
            Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => v.get(key),
        })
        .filter(|v| !v.is_null())
}

fn str_at<'a>(value: &'a Value, path: &str) -> Option<&'a str> {
    at(value, path)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn i64_at(value: &Value, path: &str) -> Option<i64> {
    at(value, path).and_then(Value::as_i64)
}

fn bool_at(value: &Value, path: &str) -> Option<bool> {
    at(value, path).and_then(Value::as_bool)
}

/// The id at `path`, whether Stripe sent the id itself or the expanded object.
fn id_at<'a>(value: &'a Value, path: &str) -> Option<&'a str> {
    match at(value, path)? {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Object(map) => map.get("id").and_then(Value::as_str),
        _ => None,
    }
}

fn money(value: &Value, amount_path: &str) -> Option<Money> {
    let amount = i64_at(value, amount_path)?;
    let currency = str_at(value, "currency")?;
    Some(Money::new(amount, currency))
}

/// A card's brand and last four digits, the only card data stripe-chat ever shows.
///
/// ```
/// use stripe_chat_events::views::CardSummary;
/// let card = CardSummary { brand: Some("visa".into()), last4: Some("4242".into()) };
/// assert_eq!(card.to_string(), "Visa •••• 4242");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSummary {
    /// `visa`, `mastercard`, `amex`, ...
    pub brand: Option<String>,
    /// Last four digits.
    pub last4: Option<String>,
}

impl CardSummary {
    fn from_card(card: &Value) -> Option<Self> {
        let brand = str_at(card, "brand")
            .or_else(|| str_at(card, "network"))
            .map(str::to_owned);
        let last4 = str_at(card, "last4")
            .filter(|l| l.len() == 4 && l.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned);
        (brand.is_some() || last4.is_some()).then_some(CardSummary { brand, last4 })
    }
}

impl std::fmt::Display for CardSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let brand = self.brand.as_deref().map(crate::catalog::card_brand);
        match (brand, &self.last4) {
            (Some(b), Some(l)) => write!(f, "{b} •••• {l}"),
            (Some(b), None) => f.write_str(b),
            (None, Some(l)) => write!(f, "•••• {l}"),
            (None, None) => f.write_str("card"),
        }
    }
}

macro_rules! view {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name<'a>(&'a Value);

        impl<'a> $name<'a> {
            /// A view of `object` (any JSON; absent fields read as `None`).
            ///
            /// ```
            #[doc = concat!("let json = serde_json::json!({\"id\": \"x_1\"}); let v = stripe_chat_events::views::", stringify!($name), "::new(&json);")]
            /// assert_eq!(v.id(), Some("x_1"));
            /// ```
            pub fn new(object: &'a Value) -> Self {
                $name(object)
            }

            /// The object's id.
            ///
            /// ```
            #[doc = concat!("let json = serde_json::json!({}); let v = stripe_chat_events::views::", stringify!($name), "::new(&json);")]
            /// assert_eq!(v.id(), None);
            /// ```
            pub fn id(&self) -> Option<&'a str> {
                str_at(self.0, "id")
            }

            /// The raw JSON of the object.
            ///
            /// ```
            #[doc = concat!("let json = serde_json::json!({\"id\": \"x\"}); let v = stripe_chat_events::views::", stringify!($name), "::new(&json);")]
            /// assert_eq!(v.json()["id"], "x");
            /// ```
            pub fn json(&self) -> &'a Value {
                self.0
            }

            /// Any string field by dotted path, e.g. `"metadata.order_id"`.
            ///
            /// ```
            #[doc = concat!("let json = serde_json::json!({\"metadata\": {\"plan\": \"pro\"}}); let v = stripe_chat_events::views::", stringify!($name), "::new(&json);")]
            /// assert_eq!(v.str("metadata.plan"), Some("pro"));
            /// ```
            pub fn str(&self, path: &str) -> Option<&'a str> {
                str_at(self.0, path)
            }

            /// The object's `metadata` as (key, value) pairs of strings.
            ///
            /// ```
            #[doc = concat!("let json = serde_json::json!({\"metadata\": {\"a\": \"1\"}}); let v = stripe_chat_events::views::", stringify!($name), "::new(&json);")]
            /// assert_eq!(v.metadata().collect::<Vec<_>>(), vec![("a", "1")]);
            /// ```
            pub fn metadata(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
                self.0
                    .get("metadata")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.as_str(), v)))
            }

            /// The customer's id (`cus_...`), whether sent as an id or expanded.
            ///
            /// ```
            #[doc = concat!("let json = serde_json::json!({\"customer\": {\"id\": \"cus_1\"}}); let v = stripe_chat_events::views::", stringify!($name), "::new(&json);")]
            /// assert_eq!(v.customer_id(), Some("cus_1"));
            /// ```
            pub fn customer_id(&self) -> Option<&'a str> {
                if str_at(self.0, "object") == Some("customer") {
                    return self.id();
                }
                id_at(self.0, "customer")
            }

            /// The amount in `amount_field` with the object's currency.
            ///
            /// ```
            #[doc = concat!("let json = serde_json::json!({\"amount\": 2000, \"currency\": \"usd\"}); let v = stripe_chat_events::views::", stringify!($name), "::new(&json);")]
            /// assert_eq!(v.money("amount").map(|m| m.to_string()), Some("20.00 USD".into()));
            /// ```
            pub fn money(&self, amount_field: &str) -> Option<Money> {
                money(self.0, amount_field)
            }

            /// When the object was created, Unix seconds.
            ///
            /// ```
            #[doc = concat!("let json = serde_json::json!({\"created\": 5}); let v = stripe_chat_events::views::", stringify!($name), "::new(&json);")]
            /// assert_eq!(v.created(), Some(5));
            /// ```
            pub fn created(&self) -> Option<i64> {
                i64_at(self.0, "created")
            }

            /// `status`.
            ///
            /// ```
            #[doc = concat!("let json = serde_json::json!({\"status\": \"open\"}); let v = stripe_chat_events::views::", stringify!($name), "::new(&json);")]
            /// assert_eq!(v.status(), Some("open"));
            /// ```
            pub fn status(&self) -> Option<&'a str> {
                str_at(self.0, "status")
            }
        }
    };
}

view!(
    /// An invoice (`in_...`).
    InvoiceView
);
view!(
    /// A payment intent (`pi_...`).
    PaymentIntentView
);
view!(
    /// A charge (`ch_...`, `py_...`).
    ChargeView
);
view!(
    /// A dispute (`dp_...`, `du_...`).
    DisputeView
);
view!(
    /// A customer (`cus_...`).
    CustomerView
);
view!(
    /// A subscription (`sub_...`).
    SubscriptionView
);

impl<'a> InvoiceView<'a> {
    /// The invoice number shown to the customer (`ABC-0001`).
    ///
    /// ```
    /// let j = serde_json::json!({"number": "A-1"});
    /// assert_eq!(stripe_chat_events::views::InvoiceView::new(&j).number(), Some("A-1"));
    /// ```
    pub fn number(&self) -> Option<&'a str> {
        str_at(self.0, "number")
    }

    /// `customer_name`, else the expanded customer's name.
    ///
    /// ```
    /// let j = serde_json::json!({"customer": {"id": "cus_1", "name": "Jenny"}});
    /// assert_eq!(stripe_chat_events::views::InvoiceView::new(&j).customer_name(), Some("Jenny"));
    /// ```
    pub fn customer_name(&self) -> Option<&'a str> {
        str_at(self.0, "customer_name").or_else(|| str_at(self.0, "customer.name"))
    }

    /// `customer_email`, else the expanded customer's email.
    ///
    /// ```
    /// let j = serde_json::json!({"customer_email": "j@example.com"});
    /// assert_eq!(stripe_chat_events::views::InvoiceView::new(&j).customer_email(), Some("j@example.com"));
    /// ```
    pub fn customer_email(&self) -> Option<&'a str> {
        str_at(self.0, "customer_email").or_else(|| str_at(self.0, "customer.email"))
    }

    /// `amount_due` with the currency.
    ///
    /// ```
    /// let j = serde_json::json!({"amount_due": 1500, "currency": "kwd"});
    /// assert_eq!(stripe_chat_events::views::InvoiceView::new(&j).amount_due().map(|m| m.to_string()), Some("1.500 KWD".into()));
    /// ```
    pub fn amount_due(&self) -> Option<Money> {
        money(self.0, "amount_due")
    }

    /// `amount_paid` with the currency.
    ///
    /// ```
    /// let j = serde_json::json!({"amount_paid": 5000, "currency": "jpy"});
    /// assert_eq!(stripe_chat_events::views::InvoiceView::new(&j).amount_paid().map(|m| m.to_string()), Some("5,000 JPY".into()));
    /// ```
    pub fn amount_paid(&self) -> Option<Money> {
        money(self.0, "amount_paid")
    }

    /// `amount_remaining` with the currency.
    ///
    /// ```
    /// let j = serde_json::json!({"amount_remaining": 0, "currency": "usd"});
    /// assert_eq!(stripe_chat_events::views::InvoiceView::new(&j).amount_remaining().map(|m| m.amount), Some(0));
    /// ```
    pub fn amount_remaining(&self) -> Option<Money> {
        money(self.0, "amount_remaining")
    }

    /// The customer-facing page of the invoice.
    ///
    /// ```
    /// let j = serde_json::json!({"hosted_invoice_url": "https://invoice.stripe.com/i/x"});
    /// assert!(stripe_chat_events::views::InvoiceView::new(&j).hosted_invoice_url().is_some());
    /// ```
    pub fn hosted_invoice_url(&self) -> Option<&'a str> {
        str_at(self.0, "hosted_invoice_url").filter(|u| u.starts_with("https://"))
    }

    /// How many payment attempts were made.
    ///
    /// ```
    /// let j = serde_json::json!({"attempt_count": 2});
    /// assert_eq!(stripe_chat_events::views::InvoiceView::new(&j).attempt_count(), Some(2));
    /// ```
    pub fn attempt_count(&self) -> Option<i64> {
        i64_at(self.0, "attempt_count")
    }

    /// When Stripe retries next (Unix seconds); `None` when no retry is scheduled.
    ///
    /// ```
    /// let j = serde_json::json!({"next_payment_attempt": null});
    /// assert_eq!(stripe_chat_events::views::InvoiceView::new(&j).next_payment_attempt(), None);
    /// ```
    pub fn next_payment_attempt(&self) -> Option<i64> {
        i64_at(self.0, "next_payment_attempt")
    }

    /// Why the invoice was created: `subscription_cycle`, `subscription_create`, `manual`, ...
    ///
    /// ```
    /// let j = serde_json::json!({"billing_reason": "manual"});
    /// assert_eq!(stripe_chat_events::views::InvoiceView::new(&j).billing_reason(), Some("manual"));
    /// ```
    pub fn billing_reason(&self) -> Option<&'a str> {
        str_at(self.0, "billing_reason")
    }

    /// The subscription billed: top-level `subscription` before API `2025-03-31.basil`,
    /// `parent.subscription_details.subscription` after.
    ///
    /// ```
    /// use stripe_chat_events::views::InvoiceView;
    /// let old = serde_json::json!({"subscription": "sub_1"});
    /// let new = serde_json::json!({"parent": {"type": "subscription_details", "subscription_details": {"subscription": "sub_2"}}});
    /// assert_eq!(InvoiceView::new(&old).subscription_id(), Some("sub_1"));
    /// assert_eq!(InvoiceView::new(&new).subscription_id(), Some("sub_2"));
    /// ```
    pub fn subscription_id(&self) -> Option<&'a str> {
        id_at(self.0, "parent.subscription_details.subscription")
            .or_else(|| id_at(self.0, "subscription"))
            .or_else(|| {
                id_at(
                    self.0,
                    "lines.data.0.parent.subscription_item_details.subscription",
                )
            })
    }

    /// Whether the invoice bills a subscription (by its subscription or its billing reason).
    ///
    /// ```
    /// let j = serde_json::json!({"billing_reason": "subscription_cycle"});
    /// assert!(stripe_chat_events::views::InvoiceView::new(&j).is_subscription());
    /// ```
    pub fn is_subscription(&self) -> bool {
        self.subscription_id().is_some()
            || self
                .billing_reason()
                .is_some_and(|r| r.starts_with("subscription"))
    }

    /// The payment intent that paid or tried to pay the invoice (top-level before basil, else the
    /// first entry of `payments`).
    ///
    /// ```
    /// let j = serde_json::json!({"payments": {"data": [{"payment": {"type": "payment_intent", "payment_intent": "pi_1"}}]}});
    /// assert_eq!(stripe_chat_events::views::InvoiceView::new(&j).payment_intent_id(), Some("pi_1"));
    /// ```
    pub fn payment_intent_id(&self) -> Option<&'a str> {
        id_at(self.0, "payment_intent")
            .or_else(|| id_at(self.0, "payments.data.0.payment.payment_intent"))
    }

    /// The charge (top-level before basil, else from `payments`).
    ///
    /// ```
    /// let j = serde_json::json!({"charge": "ch_1"});
    /// assert_eq!(stripe_chat_events::views::InvoiceView::new(&j).charge_id(), Some("ch_1"));
    /// ```
    pub fn charge_id(&self) -> Option<&'a str> {
        id_at(self.0, "charge").or_else(|| id_at(self.0, "payments.data.0.payment.charge"))
    }

    /// The invoice's description (memo).
    ///
    /// ```
    /// let j = serde_json::json!({"description": "Thanks"});
    /// assert_eq!(stripe_chat_events::views::InvoiceView::new(&j).description(), Some("Thanks"));
    /// ```
    pub fn description(&self) -> Option<&'a str> {
        str_at(self.0, "description")
    }

    /// Line items sent with the invoice (Stripe sends at most a first page).
    ///
    /// ```
    /// let j = serde_json::json!({"lines": {"data": [{"description": "Pro plan"}], "total_count": 3}});
    /// let inv = stripe_chat_events::views::InvoiceView::new(&j);
    /// assert_eq!(inv.line_descriptions().collect::<Vec<_>>(), vec!["Pro plan"]);
    /// assert_eq!(inv.line_count(), Some(3));
    /// ```
    pub fn line_descriptions(&self) -> impl Iterator<Item = &'a str> + 'a {
        at(self.0, "lines.data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|line| str_at(line, "description"))
    }

    /// The total number of line items (`lines.total_count`, else the lines sent).
    ///
    /// ```
    /// let j = serde_json::json!({"lines": {"data": [{}, {}]}});
    /// assert_eq!(stripe_chat_events::views::InvoiceView::new(&j).line_count(), Some(2));
    /// ```
    pub fn line_count(&self) -> Option<i64> {
        i64_at(self.0, "lines.total_count").or_else(|| {
            at(self.0, "lines.data")
                .and_then(Value::as_array)
                .and_then(|a| i64::try_from(a.len()).ok())
        })
    }

    /// When the invoice is due (for invoices sent to be paid manually).
    ///
    /// ```
    /// let j = serde_json::json!({"due_date": 7});
    /// assert_eq!(stripe_chat_events::views::InvoiceView::new(&j).due_date(), Some(7));
    /// ```
    pub fn due_date(&self) -> Option<i64> {
        i64_at(self.0, "due_date")
    }
}

/// Why a payment failed, as Stripe reports it on a payment intent's `last_payment_error` or a
/// charge's `failure_*` and `outcome`.
///
/// ```
/// use stripe_chat_events::views::PaymentFailure;
/// let f = PaymentFailure { code: Some("card_declined".into()), decline_code: Some("insufficient_funds".into()), message: None, card: None };
/// assert_eq!(f.reason_in_words(), "The card has insufficient funds.");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PaymentFailure {
    /// Error code (`card_declined`, `expired_card`, ...).
    pub code: Option<String>,
    /// The issuer's decline code (`insufficient_funds`, `do_not_honor`, ...).
    pub decline_code: Option<String>,
    /// Stripe's message.
    pub message: Option<String>,
    /// The card used.
    pub card: Option<CardSummary>,
}

impl PaymentFailure {
    /// The failure in plain words: from the decline code, else the code, else Stripe's message.
    ///
    /// ```
    /// let f = stripe_chat_events::views::PaymentFailure { message: Some("Your card was declined.".into()), ..Default::default() };
    /// assert_eq!(f.reason_in_words(), "Your card was declined.");
    /// ```
    pub fn reason_in_words(&self) -> String {
        if let Some(words) = self
            .decline_code
            .as_deref()
            .and_then(crate::catalog::decline_reason)
        {
            return words.to_owned();
        }
        if let Some(words) = self
            .code
            .as_deref()
            .and_then(crate::catalog::decline_reason)
        {
            return words.to_owned();
        }
        if let Some(message) = &self.message {
            return message.clone();
        }
        match (&self.decline_code, &self.code) {
            (Some(d), _) => format!("Declined ({d})."),
            (None, Some(c)) => format!("Failed ({c})."),
            (None, None) => "The payment failed; Stripe gave no reason.".to_owned(),
        }
    }
}

impl<'a> PaymentIntentView<'a> {
    /// `amount` in the minor unit.
    ///
    /// ```
    /// let j = serde_json::json!({"amount": 5});
    /// assert_eq!(stripe_chat_events::views::PaymentIntentView::new(&j).amount(), Some(5));
    /// ```
    pub fn amount(&self) -> Option<i64> {
        i64_at(self.0, "amount")
    }

    /// `description`.
    ///
    /// ```
    /// let j = serde_json::json!({"description": "Order 7"});
    /// assert_eq!(stripe_chat_events::views::PaymentIntentView::new(&j).description(), Some("Order 7"));
    /// ```
    pub fn description(&self) -> Option<&'a str> {
        str_at(self.0, "description")
    }

    /// `receipt_email`.
    ///
    /// ```
    /// let j = serde_json::json!({"receipt_email": "a@b.test"});
    /// assert_eq!(stripe_chat_events::views::PaymentIntentView::new(&j).receipt_email(), Some("a@b.test"));
    /// ```
    pub fn receipt_email(&self) -> Option<&'a str> {
        str_at(self.0, "receipt_email")
    }

    /// The invoice it pays (present before API `2025-03-31.basil`).
    ///
    /// ```
    /// let j = serde_json::json!({"invoice": "in_1"});
    /// assert_eq!(stripe_chat_events::views::PaymentIntentView::new(&j).invoice_id(), Some("in_1"));
    /// ```
    pub fn invoice_id(&self) -> Option<&'a str> {
        id_at(self.0, "invoice")
    }

    /// The latest charge: `latest_charge` (2022-11-15 on), else the last of `charges.data`.
    ///
    /// ```
    /// let j = serde_json::json!({"charges": {"data": [{"id": "ch_1"}]}});
    /// assert_eq!(stripe_chat_events::views::PaymentIntentView::new(&j).latest_charge_id(), Some("ch_1"));
    /// ```
    pub fn latest_charge_id(&self) -> Option<&'a str> {
        id_at(self.0, "latest_charge").or_else(|| {
            at(self.0, "charges.data")
                .and_then(Value::as_array)
                .and_then(|a| a.last())
                .and_then(|c| str_at(c, "id"))
        })
    }

    /// Why the last payment attempt failed, with the card used.
    ///
    /// ```
    /// let j = serde_json::json!({"last_payment_error": {"decline_code": "expired_card",
    ///   "payment_method": {"card": {"brand": "mastercard", "last4": "4444"}}}});
    /// let f = stripe_chat_events::views::PaymentIntentView::new(&j).last_payment_error().unwrap();
    /// assert_eq!(f.card.unwrap().to_string(), "Mastercard •••• 4444");
    /// ```
    pub fn last_payment_error(&self) -> Option<PaymentFailure> {
        let error = at(self.0, "last_payment_error")?;
        Some(PaymentFailure {
            code: str_at(error, "code").map(str::to_owned),
            decline_code: str_at(error, "decline_code").map(str::to_owned),
            message: str_at(error, "message").map(str::to_owned),
            card: at(error, "payment_method.card")
                .or_else(|| at(error, "source.card"))
                .or_else(|| at(error, "source").filter(|s| str_at(s, "object") == Some("card")))
                .and_then(CardSummary::from_card),
        })
    }
}

impl<'a> ChargeView<'a> {
    /// `amount` in the minor unit.
    ///
    /// ```
    /// let j = serde_json::json!({"amount": 5});
    /// assert_eq!(stripe_chat_events::views::ChargeView::new(&j).amount(), Some(5));
    /// ```
    pub fn amount(&self) -> Option<i64> {
        i64_at(self.0, "amount")
    }

    /// `amount_refunded` in the minor unit.
    ///
    /// ```
    /// let j = serde_json::json!({"amount_refunded": 2});
    /// assert_eq!(stripe_chat_events::views::ChargeView::new(&j).amount_refunded(), Some(2));
    /// ```
    pub fn amount_refunded(&self) -> Option<i64> {
        i64_at(self.0, "amount_refunded")
    }

    /// Whether the charge is fully refunded.
    ///
    /// ```
    /// let j = serde_json::json!({"refunded": true});
    /// assert!(stripe_chat_events::views::ChargeView::new(&j).refunded());
    /// ```
    pub fn refunded(&self) -> bool {
        bool_at(self.0, "refunded").unwrap_or(false)
    }

    /// `failure_code`.
    ///
    /// ```
    /// let j = serde_json::json!({"failure_code": "expired_card"});
    /// assert_eq!(stripe_chat_events::views::ChargeView::new(&j).failure_code(), Some("expired_card"));
    /// ```
    pub fn failure_code(&self) -> Option<&'a str> {
        str_at(self.0, "failure_code")
    }

    /// Why the charge failed, with the card used.
    ///
    /// ```
    /// let j = serde_json::json!({"failure_code": "card_declined", "outcome": {"reason": "insufficient_funds"},
    ///   "payment_method_details": {"card": {"brand": "visa", "last4": "0341"}}});
    /// let f = stripe_chat_events::views::ChargeView::new(&j).failure().unwrap();
    /// assert_eq!(f.reason_in_words(), "The card has insufficient funds.");
    /// ```
    pub fn failure(&self) -> Option<PaymentFailure> {
        let code = str_at(self.0, "failure_code");
        let message = str_at(self.0, "failure_message");
        let outcome_reason = str_at(self.0, "outcome.reason");
        if code.is_none() && message.is_none() && outcome_reason.is_none() {
            return None;
        }
        Some(PaymentFailure {
            code: code.map(str::to_owned),
            decline_code: outcome_reason.map(str::to_owned),
            message: message.map(str::to_owned),
            card: self.card(),
        })
    }

    /// The card charged (brand and last 4).
    ///
    /// ```
    /// let j = serde_json::json!({"source": {"object": "card", "brand": "Visa", "last4": "4242"}});
    /// assert_eq!(stripe_chat_events::views::ChargeView::new(&j).card().unwrap().to_string(), "Visa •••• 4242");
    /// ```
    pub fn card(&self) -> Option<CardSummary> {
        at(self.0, "payment_method_details.card")
            .or_else(|| at(self.0, "payment_method_details.card_present"))
            .or_else(|| at(self.0, "source").filter(|s| str_at(s, "object") == Some("card")))
            .and_then(CardSummary::from_card)
    }

    /// The payment intent behind the charge.
    ///
    /// ```
    /// let j = serde_json::json!({"payment_intent": "pi_1"});
    /// assert_eq!(stripe_chat_events::views::ChargeView::new(&j).payment_intent_id(), Some("pi_1"));
    /// ```
    pub fn payment_intent_id(&self) -> Option<&'a str> {
        id_at(self.0, "payment_intent")
    }

    /// The invoice the charge paid (before API `2025-03-31.basil`).
    ///
    /// ```
    /// let j = serde_json::json!({"invoice": "in_1"});
    /// assert_eq!(stripe_chat_events::views::ChargeView::new(&j).invoice_id(), Some("in_1"));
    /// ```
    pub fn invoice_id(&self) -> Option<&'a str> {
        id_at(self.0, "invoice")
    }

    /// `billing_details.name`.
    ///
    /// ```
    /// let j = serde_json::json!({"billing_details": {"name": "Jenny"}});
    /// assert_eq!(stripe_chat_events::views::ChargeView::new(&j).billing_name(), Some("Jenny"));
    /// ```
    pub fn billing_name(&self) -> Option<&'a str> {
        str_at(self.0, "billing_details.name")
    }

    /// `billing_details.email`, else `receipt_email`.
    ///
    /// ```
    /// let j = serde_json::json!({"receipt_email": "a@b.test"});
    /// assert_eq!(stripe_chat_events::views::ChargeView::new(&j).email(), Some("a@b.test"));
    /// ```
    pub fn email(&self) -> Option<&'a str> {
        str_at(self.0, "billing_details.email").or_else(|| str_at(self.0, "receipt_email"))
    }

    /// `description`.
    ///
    /// ```
    /// let j = serde_json::json!({"description": "x"});
    /// assert_eq!(stripe_chat_events::views::ChargeView::new(&j).description(), Some("x"));
    /// ```
    pub fn description(&self) -> Option<&'a str> {
        str_at(self.0, "description")
    }

    /// The refunds sent with the charge (reason of the most recent one).
    ///
    /// ```
    /// let j = serde_json::json!({"refunds": {"data": [{"reason": "requested_by_customer"}]}});
    /// assert_eq!(stripe_chat_events::views::ChargeView::new(&j).latest_refund_reason(), Some("requested_by_customer"));
    /// ```
    pub fn latest_refund_reason(&self) -> Option<&'a str> {
        at(self.0, "refunds.data")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|r| str_at(r, "reason"))
    }
}

impl<'a> DisputeView<'a> {
    /// `amount` in the minor unit.
    ///
    /// ```
    /// let j = serde_json::json!({"amount": 5});
    /// assert_eq!(stripe_chat_events::views::DisputeView::new(&j).amount(), Some(5));
    /// ```
    pub fn amount(&self) -> Option<i64> {
        i64_at(self.0, "amount")
    }

    /// `reason` (`fraudulent`, `product_not_received`, ...).
    ///
    /// ```
    /// let j = serde_json::json!({"reason": "duplicate"});
    /// assert_eq!(stripe_chat_events::views::DisputeView::new(&j).reason(), Some("duplicate"));
    /// ```
    pub fn reason(&self) -> Option<&'a str> {
        str_at(self.0, "reason")
    }

    /// The disputed charge.
    ///
    /// ```
    /// let j = serde_json::json!({"charge": "ch_1"});
    /// assert_eq!(stripe_chat_events::views::DisputeView::new(&j).charge_id(), Some("ch_1"));
    /// ```
    pub fn charge_id(&self) -> Option<&'a str> {
        id_at(self.0, "charge")
    }

    /// The payment intent of the disputed charge.
    ///
    /// ```
    /// let j = serde_json::json!({"payment_intent": "pi_1"});
    /// assert_eq!(stripe_chat_events::views::DisputeView::new(&j).payment_intent_id(), Some("pi_1"));
    /// ```
    pub fn payment_intent_id(&self) -> Option<&'a str> {
        id_at(self.0, "payment_intent")
    }

    /// The deadline to respond (`evidence_details.due_by`, Unix seconds).
    ///
    /// ```
    /// let j = serde_json::json!({"evidence_details": {"due_by": 1700000000}});
    /// assert_eq!(stripe_chat_events::views::DisputeView::new(&j).due_by(), Some(1700000000));
    /// ```
    pub fn due_by(&self) -> Option<i64> {
        i64_at(self.0, "evidence_details.due_by")
    }

    /// Whether evidence was already submitted.
    ///
    /// ```
    /// let j = serde_json::json!({"evidence_details": {"submission_count": 1}});
    /// assert!(stripe_chat_events::views::DisputeView::new(&j).evidence_submitted());
    /// ```
    pub fn evidence_submitted(&self) -> bool {
        i64_at(self.0, "evidence_details.submission_count").is_some_and(|n| n > 0)
    }

    /// Whether the deadline has passed.
    ///
    /// ```
    /// let j = serde_json::json!({"evidence_details": {"past_due": true}});
    /// assert!(stripe_chat_events::views::DisputeView::new(&j).past_due());
    /// ```
    pub fn past_due(&self) -> bool {
        bool_at(self.0, "evidence_details.past_due").unwrap_or(false)
    }

    /// Whether the disputed charge can still be refunded (to accept the dispute).
    ///
    /// ```
    /// let j = serde_json::json!({"is_charge_refundable": false});
    /// assert_eq!(stripe_chat_events::views::DisputeView::new(&j).is_charge_refundable(), Some(false));
    /// ```
    pub fn is_charge_refundable(&self) -> Option<bool> {
        bool_at(self.0, "is_charge_refundable")
    }

    /// The card network's reason code, when sent (`network_reason_code`).
    ///
    /// ```
    /// let j = serde_json::json!({"network_reason_code": "10.4"});
    /// assert_eq!(stripe_chat_events::views::DisputeView::new(&j).network_reason_code(), Some("10.4"));
    /// ```
    pub fn network_reason_code(&self) -> Option<&'a str> {
        str_at(self.0, "network_reason_code")
    }

    /// The disputed card, when the dispute carries payment method details.
    ///
    /// ```
    /// let j = serde_json::json!({"payment_method_details": {"card": {"brand": "amex"}}});
    /// assert_eq!(stripe_chat_events::views::DisputeView::new(&j).card().unwrap().to_string(), "American Express");
    /// ```
    pub fn card(&self) -> Option<CardSummary> {
        at(self.0, "payment_method_details.card").and_then(CardSummary::from_card)
    }
}

impl<'a> CustomerView<'a> {
    /// `name`.
    ///
    /// ```
    /// let j = serde_json::json!({"name": "Jenny"});
    /// assert_eq!(stripe_chat_events::views::CustomerView::new(&j).name(), Some("Jenny"));
    /// ```
    pub fn name(&self) -> Option<&'a str> {
        str_at(self.0, "name")
    }

    /// `email`.
    ///
    /// ```
    /// let j = serde_json::json!({"email": "j@example.com"});
    /// assert_eq!(stripe_chat_events::views::CustomerView::new(&j).email(), Some("j@example.com"));
    /// ```
    pub fn email(&self) -> Option<&'a str> {
        str_at(self.0, "email")
    }

    /// `phone`.
    ///
    /// ```
    /// let j = serde_json::json!({"phone": "+15555550100"});
    /// assert_eq!(stripe_chat_events::views::CustomerView::new(&j).phone(), Some("+15555550100"));
    /// ```
    pub fn phone(&self) -> Option<&'a str> {
        str_at(self.0, "phone")
    }

    /// `description`.
    ///
    /// ```
    /// let j = serde_json::json!({"description": "VIP"});
    /// assert_eq!(stripe_chat_events::views::CustomerView::new(&j).description(), Some("VIP"));
    /// ```
    pub fn description(&self) -> Option<&'a str> {
        str_at(self.0, "description")
    }
}

impl<'a> SubscriptionView<'a> {
    /// Whether it cancels at the end of the period.
    ///
    /// ```
    /// let j = serde_json::json!({"cancel_at_period_end": true});
    /// assert!(stripe_chat_events::views::SubscriptionView::new(&j).cancel_at_period_end());
    /// ```
    pub fn cancel_at_period_end(&self) -> bool {
        bool_at(self.0, "cancel_at_period_end").unwrap_or(false)
    }

    /// When the trial ends (Unix seconds).
    ///
    /// ```
    /// let j = serde_json::json!({"trial_end": 9});
    /// assert_eq!(stripe_chat_events::views::SubscriptionView::new(&j).trial_end(), Some(9));
    /// ```
    pub fn trial_end(&self) -> Option<i64> {
        i64_at(self.0, "trial_end")
    }

    /// When it was canceled (Unix seconds).
    ///
    /// ```
    /// let j = serde_json::json!({"canceled_at": 9});
    /// assert_eq!(stripe_chat_events::views::SubscriptionView::new(&j).canceled_at(), Some(9));
    /// ```
    pub fn canceled_at(&self) -> Option<i64> {
        i64_at(self.0, "canceled_at")
    }

    /// Why it was canceled (`cancellation_details.reason`, then `.feedback`).
    ///
    /// ```
    /// let j = serde_json::json!({"cancellation_details": {"reason": "payment_failed"}});
    /// assert_eq!(stripe_chat_events::views::SubscriptionView::new(&j).cancellation_reason(), Some("payment_failed"));
    /// ```
    pub fn cancellation_reason(&self) -> Option<&'a str> {
        str_at(self.0, "cancellation_details.reason")
            .or_else(|| str_at(self.0, "cancellation_details.feedback"))
    }

    /// The end of the current period: top-level before API `2025-03-31.basil`, on the first item after.
    ///
    /// ```
    /// let j = serde_json::json!({"items": {"data": [{"current_period_end": 7}]}});
    /// assert_eq!(stripe_chat_events::views::SubscriptionView::new(&j).current_period_end(), Some(7));
    /// ```
    pub fn current_period_end(&self) -> Option<i64> {
        i64_at(self.0, "current_period_end")
            .or_else(|| i64_at(self.0, "items.data.0.current_period_end"))
    }

    /// The plan of each item: price nickname, else product name, else price id, with the amount
    /// and interval when known (`Pro — 20.00 USD / month`).
    ///
    /// ```
    /// let j = serde_json::json!({"items": {"data": [{"price": {"id": "price_1", "nickname": "Pro",
    ///   "unit_amount": 2000, "currency": "usd", "recurring": {"interval": "month", "interval_count": 1}}, "quantity": 1}]}});
    /// assert_eq!(stripe_chat_events::views::SubscriptionView::new(&j).plans(), vec!["Pro — 20.00 USD / month"]);
    /// ```
    pub fn plans(&self) -> Vec<String> {
        plans_of(self.0)
    }
}

/// The plans of a subscription-like object (`items.data[].price`, or the old top-level `plan`).
pub(crate) fn plans_of(object: &Value) -> Vec<String> {
    let items: Vec<&Value> = at(object, "items.data")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let mut plans: Vec<String> = items
        .iter()
        .filter_map(|item| {
            let price = at(item, "price").or_else(|| at(item, "plan"))?;
            let quantity = i64_at(item, "quantity").unwrap_or(1);
            Some(describe_price(price, quantity))
        })
        .collect();
    if plans.is_empty()
        && let Some(plan) = at(object, "plan")
    {
        plans.push(describe_price(
            plan,
            i64_at(object, "quantity").unwrap_or(1),
        ));
    }
    plans
}

fn describe_price(price: &Value, quantity: i64) -> String {
    let name = str_at(price, "nickname")
        .or_else(|| str_at(price, "product.name"))
        .or_else(|| str_at(price, "id"))
        .unwrap_or("plan");
    let amount = i64_at(price, "unit_amount").or_else(|| i64_at(price, "amount"));
    let currency = str_at(price, "currency");
    let interval = str_at(price, "recurring.interval").or_else(|| str_at(price, "interval"));
    let count = i64_at(price, "recurring.interval_count")
        .or_else(|| i64_at(price, "interval_count"))
        .unwrap_or(1);
    let mut out = name.to_owned();
    if let (Some(amount), Some(currency)) = (amount, currency) {
        out.push_str(" — ");
        out.push_str(&Money::new(amount, currency).to_string());
        if let Some(interval) = interval {
            if count > 1 {
                out.push_str(&format!(" / {count} {interval}s"));
            } else {
                out.push_str(&format!(" / {interval}"));
            }
        }
    }
    if quantity > 1 {
        out.push_str(&format!(" × {quantity}"));
    }
    out
}

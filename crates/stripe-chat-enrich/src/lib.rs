//! Fills in what a Stripe event leaves out — the decline reason and the card of a failed
//! payment, the customer known only by id, the disputed charge, the subscription's plan, the
//! customer's last contact — from Stripe's API, fast and bounded, never holding a message back.
//!
//! - [`Enricher`] (made by [`EnricherBuilder`]): for one event, plans the reads its flow needs
//!   ([`reads_for`]), makes them through a [`StripeReader`] and puts each answer where Stripe
//!   puts an expanded object (an invoice's `payments`, a dispute's `charge`, a `customer`), so
//!   that the transformers read it through the same lenient views as an event that carried it.
//!   What could not be read is left out and the event is marked
//!   ([`Enrichment::is_details_unavailable`](stripe_chat_events::Enrichment::is_details_unavailable):
//!   the message says "details unavailable").
//! - Bounded: one deadline per event (default 2 s) covers every read and the contact lookup; a
//!   short cache per read (default 60 s, one read in flight per object whatever the number of
//!   events waiting for it); a [`RateLimiter`](stripe_chat_stripe::RateLimiter) shared with
//!   chat actions (a read whose turn would come after the deadline is not made); a circuit
//!   breaker (timeouts, 429 and 5xx in a row stop reads for a while, then one read probes; a
//!   refused key (401) stops them for 5 minutes and is logged once, not once per event; a
//!   restricted key lacking a permission (403) is named once per kind of object, and the other
//!   reads go on).
//! - [`ApiReader`]: reads through [`stripe_chat_stripe::Client`] (for the event's Connect
//!   account when it has one), or through [`stripe_chat_stripe::Accounts`] (an account with a
//!   key of its own is read with it). Implement [`StripeReader`] to read from elsewhere.
//! - [`ContactHistory`]: where the last contact comes from (the store, where the
//!   `mark_contacted` action records it); no Stripe call.
//!
//! | flow | read | restricted-key permission |
//! |---|---|---|
//! | `invoice.payment_failed` (API `2025-03-31.basil` and later: no charge in the event) | `GET /v1/invoice_payments?invoice={id}&expand[]=data.payment.payment_intent.latest_charge` | Invoices: read; PaymentIntents: read; Charges: read |
//! | `invoice.payment_failed` (earlier versions) | `GET /v1/charges/{charge}`, else `GET /v1/payment_intents/{id}?expand[]=latest_charge` | Charges: read (PaymentIntents: read) |
//! | `payment_intent.payment_failed` whose error names no card or reason | `GET /v1/charges/{latest_charge}` | Charges: read |
//! | `charge.dispute.*` | `GET /v1/charges/{charge}?expand[]=customer` | Charges: read; Customers: read |
//! | `customer.subscription.*` with a customer id or a plan without a name | `GET /v1/subscriptions/{id}?expand[]=customer&expand[]=items.data.price.product` | Subscriptions: read; Customers: read; Products: read |
//! | an invoice, payment or charge naming its customer only by id | `GET /v1/customers/{id}` | Customers: read |
//!
//! Every answer passes the destination's redaction like the rest of the message: a card shows
//! as its brand and last 4, whatever Stripe sent.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use stripe_chat_enrich::{ApiReader, Enricher};
//! use stripe_chat_events::StripeEvent;
//! use stripe_chat_message::Secret;
//! use stripe_chat_stripe::{Client, RateLimiter, Retry};
//! use wiremock::{Mock, MockServer, ResponseTemplate, matchers};
//!
//! let stripe = MockServer::start().await; // Stripe's API, played by a mock server
//! Mock::given(matchers::path("/v1/charges/ch_1"))
//!     .and(matchers::query_param("expand[]", "customer"))
//!     .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
//!         "id": "ch_1", "object": "charge",
//!         "customer": {"id": "cus_1", "object": "customer", "name": "Jenny Rosen"},
//!         "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}}})))
//!     .expect(1)
//!     .mount(&stripe)
//!     .await;
//!
//! let client = Client::builder(Secret::new("rk_test_123"))
//!     .api_base(stripe.uri())
//!     .timeout(Duration::from_secs(2))
//!     .retry(Retry::NONE)
//!     .build()?;
//! let enricher = Enricher::builder(ApiReader::new(Arc::new(client)))
//!     .rate_limiter(RateLimiter::per_second(20.0))
//!     .build();
//!
//! let event = StripeEvent::from_slice(br#"{"id":"evt_1","object":"event","type":"charge.dispute.created",
//!   "created":1764000000,"data":{"object":{"id":"dp_1","object":"dispute","amount":5000,"currency":"usd",
//!   "charge":"ch_1","reason":"fraudulent","status":"needs_response"}}}"#)?;
//! let event = enricher.enrich(event).await;
//! let dispute = event.dispute().expect("a dispute");
//! assert_eq!(dispute.charge_id(), Some("ch_1"));
//! assert_eq!(dispute.str("charge.customer.name"), Some("Jenny Rosen"));
//! # Ok(())
//! # }
//! ```
//!
//! This crate has no feature flags; it builds no async-stripe resource crate (its reads are
//! plain `GET`s sent through the client crate).
#![forbid(unsafe_code)]

mod breaker;
mod cache;
mod contacts;
mod enricher;
mod plan;
mod read;

pub use contacts::{ContactError, ContactHistory};
pub use enricher::{DEFAULT_CACHE_TTL, DEFAULT_TIMEOUT, Enricher, EnricherBuilder, reads_for};
pub use read::{ApiReader, Read, StripeReader};

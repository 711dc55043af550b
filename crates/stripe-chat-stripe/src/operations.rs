//! The chat actions that Stripe performs: each object read fresh before acting, each action
//! sent once under its idempotency key, every error a sentence.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde_json::Value;
use stripe_billing::invoice::{PayInvoice, RetrieveInvoice, SendInvoiceInvoice};
use stripe_chat_actions::{ActionId, Failure, FailureKind, Operations, Performed, Subject, Task};
use stripe_chat_message::{ObjectKind, ObjectRef};
use stripe_client_core::{RequestBuilder, StripeMethod, StripeRequest};
use stripe_core::charge::RetrieveCharge;
use stripe_core::customer::{RetrieveCustomer, UpdateCustomer};
use stripe_core::dispute::{RetrieveDispute, UpdateDispute, UpdateDisputeEvidence};

use crate::accounts::{Accounts, Route};
use crate::client::is_account_id;
use crate::failure::{Step, failure};
use crate::{ApiError, IdempotencyKey};

/// The form field of `add_evidence` whose text is staged on the dispute as
/// `evidence[uncategorized_text]`.
///
/// ```
/// assert_eq!(stripe_chat_stripe::EVIDENCE_TEXT_FIELD, "uncategorized_text");
/// ```
pub const EVIDENCE_TEXT_FIELD: &str = "uncategorized_text";

/// The most characters Stripe takes in a dispute's `evidence[uncategorized_text]`.
///
/// ```
/// assert_eq!(stripe_chat_stripe::MAX_EVIDENCE_TEXT_CHARS, 20_000);
/// ```
pub const MAX_EVIDENCE_TEXT_CHARS: usize = 20_000;

/// The customer metadata key `mark_contacted` writes the time into (unix seconds).
///
/// ```
/// assert_eq!(stripe_chat_stripe::CONTACTED_AT_KEY, "stripe_chat_contacted_at");
/// ```
pub const CONTACTED_AT_KEY: &str = "stripe_chat_contacted_at";

/// The customer metadata key `mark_contacted` writes the person into.
///
/// ```
/// assert_eq!(stripe_chat_stripe::CONTACTED_BY_KEY, "stripe_chat_contacted_by");
/// ```
pub const CONTACTED_BY_KEY: &str = "stripe_chat_contacted_by";

/// The most characters Stripe keeps in one metadata value.
const MAX_METADATA_VALUE_CHARS: usize = 500;

/// What separates evidence text added to text already staged.
const EVIDENCE_SEPARATOR: &str = "\n\n";

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// [`Operations`] over Stripe's API, for the actions Stripe performs:
///
/// | action | request |
/// |---|---|
/// | `retry_payment` | `POST /v1/invoices/{id}/pay` |
/// | `send_dunning_email` | `POST /v1/invoices/{id}/send` (Stripe's own email; in test mode Stripe emails no one) |
/// | `add_evidence` | `POST /v1/disputes/{id}` with `evidence[uncategorized_text]` and `submit=false` (after text already staged, if any) |
/// | `submit_evidence` | `POST /v1/disputes/{id}` with `submit=true` |
/// | `mark_contacted` | `POST /v1/customers/{id}` with `metadata[stripe_chat_contacted_at]` (unix seconds) and `metadata[stripe_chat_contacted_by]` |
///
/// Every write carries the task's idempotency key as `Idempotency-Key` (the same on every
/// attempt and every retry of the task, so Stripe does it once), and every request the
/// `Stripe-Account` of an object of a connected account ([`Accounts::route`]). `assign`,
/// `notify`, `create_ticket` and `open` are not Stripe's: [`Operations::perform`] fails them as
/// [`FailureKind::Misconfigured`], for the engine to route them elsewhere.
///
/// [`Operations::inspect`] reads invoices, disputes (with their charge), customers, charges,
/// payment intents, subscriptions and refunds; other objects get a [`Subject`] named by their
/// id. It says when an action is moot: an invoice that is paid, void, uncollectible or a draft
/// (for `retry_payment` and `send_dunning_email`; Stripe emails only `send_invoice` invoices); a
/// dispute that is closed, past its deadline, no longer waiting for evidence or already
/// submitted (for `add_evidence` and `submit_evidence`; submitting needs staged evidence); a
/// deleted customer (for `mark_contacted`).
///
/// Errors are sentences ([`Failure`]): "declined: insufficient funds", "not charged: the
/// customer must authenticate the payment", "Stripe refused stripe-chat's API key …", "Stripe
/// is busy; nothing was charged. Try again in a minute.", and for a timeout or a server error
/// during a write, that it may or may not have happened and that asking again is safe. They
/// carry Stripe's request id (`req_…`) when Stripe gave one; Stripe's answers to successful
/// requests carry none that async-stripe exposes.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use stripe_chat_actions::{ActionId, Operations, Task};
/// use stripe_chat_message::{MessageRef, ObjectKind, ObjectRef, Secret};
/// use stripe_chat_stripe::{Client, StripeOperations};
/// use wiremock::{Mock, MockServer, ResponseTemplate, matchers};
///
/// let stripe = MockServer::start().await; // Stripe's API, played by a mock server
/// Mock::given(matchers::method("GET")).and(matchers::path("/v1/invoices/in_1"))
///     .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"id":"in_1","object":"invoice","number":"INV-0042",
///         "customer":"cus_1","customer_name":"Acme Corp","status":"open","collection_method":"charge_automatically",
///         "amount_due":84200,"amount_remaining":84200,"currency":"usd","livemode":false}"#))
///     .mount(&stripe).await;
/// Mock::given(matchers::method("POST")).and(matchers::path("/v1/invoices/in_1/pay"))
///     .and(matchers::header("idempotency-key", "sc-retry_payment-1"))
///     .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"id":"in_1","object":"invoice","status":"paid"}"#))
///     .expect(1)
///     .mount(&stripe).await;
///
/// let client = Client::builder(Secret::new("rk_test_1")).api_base(stripe.uri()).build()?;
/// let stripe_ops = StripeOperations::new(client);
/// let invoice = ObjectRef::new(ObjectKind::Invoice, "in_1");
/// let subject = stripe_ops.inspect(ActionId::RetryPayment, &invoice, None).await?;
/// assert_eq!(subject.description, "invoice INV-0042 for Acme Corp");
/// assert_eq!(subject.amount.as_ref().map(|m| m.amount), Some(84200));
/// assert!(subject.moot.is_none());
///
/// let task = Task {
///     action: ActionId::RetryPayment,
///     target: invoice,
///     account: None,
///     idempotency_key: "sc-retry_payment-1".into(),
///     person: "ana".into(),
///     approved_by: None,
///     fields: Default::default(),
///     message: MessageRef::new("slack", "1700000000.000100").in_channel("C1"),
/// };
/// assert_eq!(stripe_ops.perform(&task).await?.summary, "succeeded");
/// # Ok(())
/// # }
/// ```
pub struct StripeOperations {
    accounts: Accounts,
    clock: Clock,
}

impl fmt::Debug for StripeOperations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeOperations")
            .field("accounts", &self.accounts)
            .finish_non_exhaustive()
    }
}

impl StripeOperations {
    /// Operations with `accounts` (a [`Client`](crate::Client) alone for a single account).
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// let ops = stripe_chat_stripe::StripeOperations::new(stripe_chat_stripe::Client::builder(Secret::new("sk_test_1")).build()?);
    /// assert!(!format!("{ops:?}").contains("sk_test_1"));
    /// # Ok::<(), stripe_chat_stripe::ApiError>(())
    /// ```
    pub fn new(accounts: impl Into<Accounts>) -> Self {
        StripeOperations {
            accounts: accounts.into(),
            clock: Arc::new(SystemTime::now),
        }
    }

    /// The same, telling the time with `clock` (for `mark_contacted`'s time) instead of the
    /// system clock.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use stripe_chat_message::Secret;
    /// let ops = stripe_chat_stripe::StripeOperations::new(stripe_chat_stripe::Client::builder(Secret::new("sk_test_1")).build()?)
    ///     .with_clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    /// # let _ = ops;
    /// # Ok::<(), stripe_chat_stripe::ApiError>(())
    /// ```
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The clients, by account.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// let ops = stripe_chat_stripe::StripeOperations::new(stripe_chat_stripe::Client::builder(Secret::new("sk_test_1")).build()?);
    /// assert_eq!(ops.accounts().accounts().count(), 0);
    /// # Ok::<(), stripe_chat_stripe::ApiError>(())
    /// ```
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// The route for `account`, refusing what is not an account id.
    fn route<'a>(&'a self, account: Option<&'a str>) -> Result<Route<'a>, Failure> {
        if let Some(account) = account
            && !is_account_id(account)
        {
            return Err(Failure::new(
                FailureKind::Refused,
                "The connected account is not a Stripe account id (acct_…); nothing was done.",
            ));
        }
        Ok(self.accounts.route(account))
    }

    /// Reads `request` (a `GET`) as JSON.
    async fn read<R: StripeRequest>(
        &self,
        action: ActionId,
        route: Route<'_>,
        request: &R,
        what: &str,
    ) -> Result<Value, Failure> {
        let body = route
            .client
            .send_raw_on(request, None, route.stripe_account)
            .await
            .map_err(|e| failure(action, Step::Read, &e))?;
        serde_json::from_slice(&body).map_err(|_| {
            Failure::new(
                FailureKind::Unavailable,
                format!("Stripe's answer about {what} could not be read; nothing was done."),
            )
        })
    }

    /// Sends the write `request` under `key`.
    async fn write<R: StripeRequest>(
        &self,
        route: Route<'_>,
        request: &R,
        key: &IdempotencyKey,
    ) -> Result<Value, ApiError> {
        let body = route
            .client
            .send_raw_on(request, Some(key), route.stripe_account)
            .await?;
        // Stripe answered 2xx: it is done, whatever the answer says.
        Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}

/// The kind of object an action applies to, when only one.
fn applies_to(action: ActionId) -> Option<ObjectKind> {
    match action {
        ActionId::RetryPayment | ActionId::SendDunningEmail => Some(ObjectKind::Invoice),
        ActionId::AddEvidence | ActionId::SubmitEvidence => Some(ObjectKind::Dispute),
        ActionId::MarkContacted => Some(ObjectKind::Customer),
        _ => None,
    }
}

/// Whether Stripe performs `action`.
fn is_stripes(action: ActionId) -> bool {
    applies_to(action).is_some()
}

fn not_stripes(action: ActionId) -> Failure {
    Failure::new(
        FailureKind::Misconfigured,
        format!(
            "No performer is configured for {}: it is not a Stripe action.",
            action.label()
        ),
    )
}

/// "Retry payment applies to invoices, not to dispute dp_1.", when `target` is not what
/// `action` applies to.
fn mismatch(action: ActionId, target: &ObjectRef) -> Option<String> {
    let kind = applies_to(action)?;
    (kind != target.kind).then(|| {
        format!(
            "{} applies to {}s, not to {} {}.",
            action.label(),
            kind.as_str(),
            words(target.kind.as_str()),
            target.id
        )
    })
}

/// Whether `id` can be a Stripe object id (and so a path segment).
fn is_object_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn bad_id(target: &ObjectRef) -> Failure {
    Failure::new(
        FailureKind::Refused,
        format!(
            "That is not a Stripe {} id; nothing was done.",
            words(target.kind.as_str())
        ),
    )
}

fn words(snake: &str) -> String {
    snake.replace('_', " ")
}

/// A string at `path` (dot-separated) in `value`.
fn text<'a>(value: &'a Value, path: &str) -> Option<&'a str> {
    at(value, path)?.as_str().filter(|s| !s.is_empty())
}

fn int(value: &Value, path: &str) -> Option<i64> {
    at(value, path)?.as_i64()
}

fn flag(value: &Value, path: &str) -> Option<bool> {
    at(value, path)?.as_bool()
}

fn at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// An id field that may be expanded into its object.
fn id_of<'a>(value: &'a Value, path: &str) -> Option<&'a str> {
    let field = at(value, path)?;
    field
        .as_str()
        .or_else(|| field.get("id").and_then(Value::as_str))
        .filter(|s| !s.is_empty())
}

/// The common parts: mode, customer, amount in its currency.
fn subject_with(
    description: String,
    value: &Value,
    amount: Option<i64>,
    customer: Option<&str>,
) -> Subject {
    let mut subject = Subject::new(description).livemode(flag(value, "livemode").unwrap_or(false));
    if let (Some(amount), Some(currency)) = (amount, text(value, "currency")) {
        subject = subject.amount(amount, currency);
    }
    if let Some(customer) = customer {
        subject = subject.customer(customer);
    }
    subject
}

fn invoice_subject(action: ActionId, id: &str, invoice: &Value) -> Subject {
    let name = text(invoice, "number").unwrap_or(id);
    let description = match text(invoice, "customer_name") {
        Some(customer) => format!("invoice {name} for {customer}"),
        None => format!("invoice {name}"),
    };
    let status = text(invoice, "status").unwrap_or_default();
    let amount = if status == "open" {
        int(invoice, "amount_remaining").or_else(|| int(invoice, "amount_due"))
    } else {
        int(invoice, "amount_due")
    };
    let subject = subject_with(description, invoice, amount, id_of(invoice, "customer"));
    let moot = match (action, status) {
        (ActionId::RetryPayment | ActionId::SendDunningEmail, "paid") => {
            Some("This invoice is already paid.".to_owned())
        }
        (ActionId::RetryPayment | ActionId::SendDunningEmail, "void") => {
            Some("This invoice is void.".to_owned())
        }
        (ActionId::RetryPayment | ActionId::SendDunningEmail, "uncollectible") => {
            Some("This invoice is marked uncollectible.".to_owned())
        }
        (ActionId::RetryPayment | ActionId::SendDunningEmail, "draft") => {
            Some("This invoice is still a draft: it was never finalized.".to_owned())
        }
        (ActionId::RetryPayment, _) if int(invoice, "amount_remaining") == Some(0) => {
            Some("Nothing is left to pay on this invoice.".to_owned())
        }
        (ActionId::SendDunningEmail, _)
            if text(invoice, "collection_method").is_some_and(|m| m != "send_invoice") =>
        {
            Some(
                "Stripe charges this invoice automatically; it emails only invoices sent for \
                 manual payment."
                    .to_owned(),
            )
        }
        _ => None,
    };
    match moot {
        Some(moot) => subject.moot(moot),
        None => subject,
    }
}

fn dispute_subject(action: ActionId, id: &str, dispute: &Value) -> Subject {
    let mut description = format!("dispute {id}");
    if let Some(reason) = text(dispute, "reason") {
        description.push_str(&format!(" ({})", words(reason)));
    }
    if let Some(name) = text(dispute, "charge.billing_details.name") {
        description.push_str(&format!(" by {name}"));
    }
    let subject = subject_with(
        description,
        dispute,
        int(dispute, "amount"),
        id_of(dispute, "charge.customer"),
    );
    if !matches!(action, ActionId::AddEvidence | ActionId::SubmitEvidence) {
        return subject;
    }
    let status = text(dispute, "status").unwrap_or_default();
    let moot = match status {
        "won" => Some("This dispute is closed: it was won.".to_owned()),
        "lost" => Some("This dispute is closed: it was lost.".to_owned()),
        "warning_closed" => Some("This inquiry is closed.".to_owned()),
        _ if int(dispute, "evidence_details.submission_count").unwrap_or(0) > 0 => {
            Some("Evidence was already submitted for this dispute.".to_owned())
        }
        "needs_response" | "warning_needs_response" => {
            if flag(dispute, "evidence_details.past_due") == Some(true) {
                Some("The deadline to respond to this dispute has passed.".to_owned())
            } else if action == ActionId::SubmitEvidence
                && flag(dispute, "evidence_details.has_evidence") == Some(false)
            {
                Some("No evidence is staged on this dispute yet: add evidence first.".to_owned())
            } else {
                None
            }
        }
        "" => None,
        other => Some(format!(
            "This dispute no longer takes evidence (it is {}).",
            words(other)
        )),
    };
    match moot {
        Some(moot) => subject.moot(moot),
        None => subject,
    }
}

fn customer_subject(action: ActionId, id: &str, customer: &Value) -> Subject {
    if flag(customer, "deleted") == Some(true) {
        let subject = Subject::new(format!("customer {id}")).customer(id);
        return if action == ActionId::MarkContacted {
            subject.moot("This customer was deleted.")
        } else {
            subject
        };
    }
    let description = match text(customer, "name") {
        Some(name) => format!("customer {name}"),
        None => format!("customer {id}"),
    };
    subject_with(description, customer, None, Some(id))
}

/// A charge, payment intent, subscription or refund: what it is, for how much, whose.
fn other_subject(kind: &str, id: &str, object: &Value) -> Subject {
    let mut description = format!("{kind} {id}");
    if let Some(name) = text(object, "billing_details.name") {
        description.push_str(&format!(" by {name}"));
    }
    subject_with(
        description,
        object,
        int(object, "amount"),
        id_of(object, "customer"),
    )
}

/// A `GET` of any object path, for the objects whose request builders are not built in.
struct Retrieve(String);

impl StripeRequest for Retrieve {
    type Output = ();

    fn build(&self) -> RequestBuilder {
        RequestBuilder::new(StripeMethod::Get, self.0.clone())
    }
}

#[async_trait]
impl Operations for StripeOperations {
    async fn inspect(
        &self,
        action: ActionId,
        target: &ObjectRef,
        account: Option<&str>,
    ) -> Result<Subject, Failure> {
        if let Some(moot) = mismatch(action, target) {
            return Ok(
                Subject::new(format!("{} {}", words(target.kind.as_str()), target.id)).moot(moot),
            );
        }
        let readable = matches!(
            target.kind,
            ObjectKind::Invoice
                | ObjectKind::Dispute
                | ObjectKind::Customer
                | ObjectKind::Charge
                | ObjectKind::PaymentIntent
                | ObjectKind::Subscription
                | ObjectKind::Refund
        );
        if !readable {
            return Ok(Subject::new(target.id.clone()));
        }
        if !is_object_id(&target.id) {
            return Err(bad_id(target));
        }
        let route = self.route(account)?;
        let id = target.id.as_str();
        let what = format!("{} {id}", words(target.kind.as_str()));
        Ok(match &target.kind {
            ObjectKind::Invoice => {
                let invoice = self
                    .read(action, route, &RetrieveInvoice::new(id), &what)
                    .await?;
                invoice_subject(action, id, &invoice)
            }
            ObjectKind::Dispute => {
                let request = RetrieveDispute::new(id).expand(vec!["charge".to_owned()]);
                let dispute = self.read(action, route, &request, &what).await?;
                dispute_subject(action, id, &dispute)
            }
            ObjectKind::Customer => {
                let customer = self
                    .read(action, route, &RetrieveCustomer::new(id), &what)
                    .await?;
                customer_subject(action, id, &customer)
            }
            ObjectKind::Charge => {
                let charge = self
                    .read(action, route, &RetrieveCharge::new(id), &what)
                    .await?;
                other_subject("charge", id, &charge)
            }
            ObjectKind::PaymentIntent => {
                let request = Retrieve(format!("/payment_intents/{id}"));
                let intent = self.read(action, route, &request, &what).await?;
                other_subject("payment", id, &intent)
            }
            ObjectKind::Subscription => {
                let request = Retrieve(format!("/subscriptions/{id}"));
                let subscription = self.read(action, route, &request, &what).await?;
                other_subject("subscription", id, &subscription)
            }
            _ => {
                let request = Retrieve(format!("/refunds/{id}"));
                let refund = self.read(action, route, &request, &what).await?;
                other_subject("refund", id, &refund)
            }
        })
    }

    async fn perform(&self, task: &Task) -> Result<Performed, Failure> {
        let action = task.action;
        if !is_stripes(action) {
            return Err(not_stripes(action));
        }
        if let Some(mismatch) = mismatch(action, &task.target) {
            return Err(Failure::new(
                FailureKind::Refused,
                format!("{mismatch} Nothing was done."),
            ));
        }
        if !is_object_id(&task.target.id) {
            return Err(bad_id(&task.target));
        }
        let key = IdempotencyKey::new(task.idempotency_key.as_str()).map_err(|_| {
            Failure::new(
                FailureKind::Misconfigured,
                "The action's idempotency key cannot be sent to Stripe (1 to 255 printable ASCII \
                 characters); nothing was done.",
            )
        })?;
        let route = self.route(task.account.as_deref())?;
        let id = task.target.id.as_str();
        match action {
            ActionId::RetryPayment => {
                let invoice = self
                    .write(route, &PayInvoice::new(id), &key)
                    .await
                    .map_err(|e| failure(action, Step::Write, &e))?;
                Ok(match text(&invoice, "status") {
                    Some("paid") | None => Performed::new("succeeded"),
                    Some(status) => Performed::new(format!(
                        "payment started; the invoice stays {status} until it clears"
                    )),
                })
            }
            ActionId::SendDunningEmail => {
                let invoice = self
                    .write(route, &SendInvoiceInvoice::new(id), &key)
                    .await
                    .map_err(|e| failure(action, Step::Write, &e))?;
                Ok(if flag(&invoice, "livemode") == Some(false) {
                    Performed::new("sent (in test mode Stripe emails no one)")
                } else {
                    Performed::new("emailed to the customer")
                })
            }
            ActionId::AddEvidence => self.add_evidence(task, route, &key).await,
            ActionId::SubmitEvidence => {
                self.write(route, &UpdateDispute::new(id).submit(true), &key)
                    .await
                    .map_err(|e| failure(action, Step::Write, &e))?;
                Ok(Performed::new("evidence submitted to the bank"))
            }
            ActionId::MarkContacted => self.mark_contacted(task, route, &key).await,
            _ => Err(not_stripes(action)),
        }
    }
}

impl StripeOperations {
    async fn add_evidence(
        &self,
        task: &Task,
        route: Route<'_>,
        key: &IdempotencyKey,
    ) -> Result<Performed, Failure> {
        const STAGED: &str = "evidence staged (not submitted)";
        let action = task.action;
        let id = task.target.id.as_str();
        let text_given = task
            .fields
            .get(EVIDENCE_TEXT_FIELD)
            .map(|t| t.trim())
            .unwrap_or_default();
        if text_given.is_empty() {
            return Err(Failure::new(
                FailureKind::Refused,
                "No evidence text was given; nothing was staged.",
            ));
        }
        let given = text_given.chars().count();
        if given > MAX_EVIDENCE_TEXT_CHARS {
            return Err(Failure::new(
                FailureKind::Refused,
                format!(
                    "The evidence text has {given} characters; Stripe takes at most {MAX_EVIDENCE_TEXT_CHARS} \
                     (attach longer evidence as a file in the Stripe Dashboard). Nothing was staged."
                ),
            ));
        }
        // Text already staged is kept: the new text follows it.
        let dispute = self
            .read(
                action,
                route,
                &RetrieveDispute::new(id),
                &format!("dispute {id}"),
            )
            .await?;
        let staged = text(&dispute, "evidence.uncategorized_text").unwrap_or_default();
        if staged == text_given || staged.ends_with(&format!("{EVIDENCE_SEPARATOR}{text_given}")) {
            // Staged by an earlier attempt of this same action.
            return Ok(Performed::new(STAGED));
        }
        let combined = if staged.trim().is_empty() {
            text_given.to_owned()
        } else {
            format!("{staged}{EVIDENCE_SEPARATOR}{text_given}")
        };
        let total = combined.chars().count();
        if total > MAX_EVIDENCE_TEXT_CHARS {
            return Err(Failure::new(
                FailureKind::Refused,
                format!(
                    "With the {} characters already staged, the evidence text would have {total}; \
                     Stripe takes at most {MAX_EVIDENCE_TEXT_CHARS}. Nothing was staged.",
                    staged.chars().count()
                ),
            ));
        }
        let evidence = UpdateDisputeEvidence {
            uncategorized_text: Some(combined),
            ..UpdateDisputeEvidence::new()
        };
        self.write(
            route,
            &UpdateDispute::new(id).evidence(evidence).submit(false),
            key,
        )
        .await
        .map_err(|e| failure(action, Step::Write, &e))?;
        Ok(Performed::new(STAGED))
    }

    async fn mark_contacted(
        &self,
        task: &Task,
        route: Route<'_>,
        key: &IdempotencyKey,
    ) -> Result<Performed, Failure> {
        const MARKED: &str = "marked as contacted";
        let action = task.action;
        let id = task.target.id.as_str();
        let person: String = task
            .person
            .trim()
            .chars()
            .take(MAX_METADATA_VALUE_CHARS)
            .collect();
        if person.is_empty() {
            return Err(Failure::new(
                FailureKind::Misconfigured,
                "The action names no person to record; nothing was recorded.",
            ));
        }
        let at = (self.clock)()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let metadata = std::collections::HashMap::from([
            (CONTACTED_AT_KEY.to_owned(), at.to_string()),
            (CONTACTED_BY_KEY.to_owned(), person.clone()),
        ]);
        match self
            .write(route, &UpdateCustomer::new(id).metadata(metadata), key)
            .await
        {
            Ok(_) => Ok(Performed::new(MARKED)),
            // The same task asked again at another time: its first attempt went through when
            // the customer already says so.
            Err(e) if e.error_type() == Some("idempotency_error") => {
                let customer = self
                    .read(
                        action,
                        route,
                        &RetrieveCustomer::new(id),
                        &format!("customer {id}"),
                    )
                    .await?;
                let by = format!("metadata.{CONTACTED_BY_KEY}");
                if text(&customer, &by) == Some(person.as_str()) {
                    Ok(Performed::new(MARKED))
                } else {
                    Err(failure(action, Step::Write, &e))
                }
            }
            Err(e) => Err(failure(action, Step::Write, &e)),
        }
    }
}

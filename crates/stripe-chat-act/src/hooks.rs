//! The team's own systems, called as signed JSON hooks: [`TicketHook`] for `create_ticket` and
//! [`MailerHook`] for `send_dunning_email` (instead of Stripe's email).
//!
//! Every request is a `POST` of a JSON body with the headers
//! - `Stripe-Chat-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">` keyed with the
//!   hook's secret (the scheme of stripe-chat's webhook destination, `stripe_chat_signature`, so a
//!   receiver checks it as it checks that destination's requests);
//! - `Idempotency-Key`: the logical action's one key, the same on every retry, so the receiver
//!   opens one ticket or sends one email however often it is asked.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::{Value, json};
use stripe_chat_actions::{ActionId, Failure, FailureKind, Operations, Performed, Subject, Task};
use stripe_chat_message::{ObjectRef, Secret};

/// A hook's timeout when `timeout_secs` is not set.
///
/// ```
/// assert_eq!(stripe_chat_act::DEFAULT_HOOK_TIMEOUT.as_secs(), 10);
/// ```
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// The header carrying a hook request's signature.
///
/// ```
/// assert_eq!(stripe_chat_act::SIGNATURE_HEADER, "Stripe-Chat-Signature");
/// ```
pub const SIGNATURE_HEADER: &str = "Stripe-Chat-Signature";

/// The header carrying the logical action's idempotency key.
///
/// ```
/// assert_eq!(stripe_chat_act::IDEMPOTENCY_HEADER, "Idempotency-Key");
/// ```
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// The most of a hook's answer that is read: a ticket's URL and id need far less.
const MAX_HOOK_ANSWER_BYTES: usize = 64 * 1024;

/// Where a hook is: its URL, its signing secret and its timeout. `Debug` shows the URL's host
/// only (a hook URL may carry a key) and never the secret.
///
/// ```
/// use stripe_chat_act::HookTarget;
/// use stripe_chat_message::Secret;
/// let url = "https://tickets.example.com/hook?key=k3y".parse()?;
/// let target = HookTarget::new(url, Secret::new("0123456789abcdef"));
/// let shown = format!("{target:?}");
/// assert!(shown.contains("tickets.example.com") && !shown.contains("k3y") && !shown.contains("0123"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct HookTarget {
    url: reqwest::Url,
    secret: Secret,
    timeout: Duration,
}

impl fmt::Debug for HookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookTarget")
            .field("host", &self.url.host_str().unwrap_or(""))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HookTarget {
    /// A hook at `url` signed with `secret`, with the default timeout.
    ///
    /// ```
    /// # use stripe_chat_act::HookTarget;
    /// let t = HookTarget::new("https://h.example.com".parse()?, stripe_chat_message::Secret::new("0123456789abcdef"));
    /// assert_eq!(t.timeout_after(), stripe_chat_act::DEFAULT_HOOK_TIMEOUT);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(url: reqwest::Url, secret: Secret) -> Self {
        HookTarget {
            url,
            secret,
            timeout: DEFAULT_HOOK_TIMEOUT,
        }
    }

    /// The same, allowing `timeout` for a whole request.
    ///
    /// ```
    /// # use stripe_chat_act::HookTarget;
    /// let t = HookTarget::new("https://h.example.com".parse()?, stripe_chat_message::Secret::new("0123456789abcdef"))
    ///     .timeout(std::time::Duration::from_secs(3));
    /// assert_eq!(t.timeout_after().as_secs(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time allowed for a whole request.
    ///
    /// ```
    /// # use stripe_chat_act::HookTarget;
    /// let t = HookTarget::new("https://h.example.com".parse()?, stripe_chat_message::Secret::new("0123456789abcdef"));
    /// assert!(t.timeout_after().as_secs() > 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn timeout_after(&self) -> Duration {
        self.timeout
    }
}

/// A hook that cannot be set up (its HTTP client cannot be built).
///
/// ```
/// let e = stripe_chat_act::HookError { reason: "no TLS".into() };
/// assert_eq!(e.to_string(), "the hook's HTTP client cannot be built: no TLS");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the hook's HTTP client cannot be built: {reason}")]
pub struct HookError {
    /// Why.
    pub reason: String,
}

/// Sends signed requests to one hook.
#[derive(Debug, Clone)]
struct Signed {
    target: HookTarget,
    client: reqwest::Client,
    /// How people call the hook in sentences ("the ticket hook").
    name: &'static str,
}

impl Signed {
    fn new(target: HookTarget, name: &'static str) -> Result<Self, HookError> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(stripe_chat_http::CONNECT_TIMEOUT.min(target.timeout))
            .timeout(target.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| HookError {
                reason: e.to_string(),
            })?;
        Ok(Signed {
            target,
            client,
            name,
        })
    }

    /// POSTs `body`, signed, with `key` as its idempotency key; the JSON answer (or `Null` for
    /// an empty one) on 2xx, else a failure worded for people.
    async fn post(&self, body: &Value, key: &str) -> Result<Value, Failure> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            Failure::new(
                FailureKind::Misconfigured,
                format!("{} request could not be written: {e}", self.name),
            )
        })?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let signature =
            stripe_chat_signature::sign(self.target.secret.expose().as_bytes(), now, &bytes);
        let sent = self
            .client
            .post(self.target.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(IDEMPOTENCY_HEADER, key)
            .body(bytes)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) if e.is_timeout() => {
                return Err(Failure::new(
                    FailureKind::Unknown,
                    format!("{} did not answer in time", self.name),
                ));
            }
            Err(_) => {
                return Err(Failure::new(
                    FailureKind::Unavailable,
                    format!("{} could not be reached", self.name),
                ));
            }
        };
        let status = response.status();
        if !status.is_success() {
            let code = status.as_u16();
            let (kind, what) = match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => (
                    FailureKind::Misconfigured,
                    "refused our signature; check its secret",
                ),
                StatusCode::TOO_MANY_REQUESTS | StatusCode::CONFLICT => {
                    (FailureKind::Unavailable, "is busy")
                }
                s if s.is_server_error() => (FailureKind::Unavailable, "is unavailable"),
                s if s.is_redirection() => (
                    FailureKind::Misconfigured,
                    "answered with a redirect; configure its final URL",
                ),
                _ => (FailureKind::Refused, "refused the request"),
            };
            return Err(Failure::new(
                kind,
                format!("{} {what} (HTTP {code})", self.name),
            ));
        }
        let answer = stripe_chat_http::Answer::read(response, MAX_HOOK_ANSWER_BYTES).await;
        if !answer.is_complete() {
            // Done or not, the answer did not arrive whole: asking again with the same key
            // finds out.
            return Err(Failure::new(
                FailureKind::Unknown,
                format!("{}'s answer could not be read in full", self.name),
            ));
        }
        let text = String::from_utf8_lossy(answer.body());
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|_| {
            Failure::new(
                FailureKind::Unavailable,
                format!("{} answered with something other than JSON", self.name),
            )
        })
    }
}

/// The body common to every hook request: the action, the object, who asked and approved, and
/// the message it was offered on.
fn body(task: &Task) -> Value {
    json!({
        "action": task.action.as_str(),
        "object": {
            "kind": task.target.kind.as_str(),
            "id": task.target.id,
        },
        "account": task.account,
        "person": task.person,
        "approved_by": task.approved_by,
        "message": task.message,
        "idempotency_key": task.idempotency_key,
    })
}

fn describe(target: &ObjectRef) -> String {
    format!("{} {}", target.kind.as_str().replace('_', " "), target.id)
}

/// `create_ticket` through the team's ticket system: a signed JSON POST of the object, the
/// action, the person, the message it was offered on and what they typed; the ticket URL from
/// its JSON answer (`{"url": "https://…", "id": "T-42"}`) is shown with the status line.
///
/// Answers: 2xx with a `url` → performed; 401/403 → misconfigured (the secret); 409, 429, 5xx →
/// unavailable (try again, same key); other 4xx → refused; no answer in time → unknown (trying
/// again with the same key finds out without opening a second ticket).
///
/// ```
/// use stripe_chat_act::{HookTarget, TicketHook};
/// let target = HookTarget::new("https://tickets.example.com/hooks/stripe-chat".parse()?, stripe_chat_message::Secret::new("0123456789abcdef0123"));
/// let hook = TicketHook::new(target)?;
/// # let _ = hook;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TicketHook {
    hook: Signed,
}

impl TicketHook {
    /// The ticket hook at `target`.
    ///
    /// ```
    /// # use stripe_chat_act::{HookTarget, TicketHook};
    /// let t = HookTarget::new("http://127.0.0.1:9/t".parse()?, stripe_chat_message::Secret::new("0123456789abcdef"));
    /// assert!(TicketHook::new(t).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(target: HookTarget) -> Result<Self, HookError> {
        Ok(TicketHook {
            hook: Signed::new(target, "the ticket hook")?,
        })
    }
}

#[async_trait]
impl Operations for TicketHook {
    /// A ticket can be opened about anything: the object as named, with nothing moot.
    async fn inspect(
        &self,
        _action: ActionId,
        target: &ObjectRef,
        _account: Option<&str>,
    ) -> Result<Subject, Failure> {
        Ok(Subject::new(describe(target)))
    }

    async fn perform(&self, task: &Task) -> Result<Performed, Failure> {
        if task.action != ActionId::CreateTicket {
            return Err(Failure::new(
                FailureKind::Misconfigured,
                format!("the ticket hook does not perform {}", task.action),
            ));
        }
        let mut request = body(task);
        request["type"] = json!("create_ticket");
        request["fields"] = json!(task.fields);
        let answer = self.hook.post(&request, &task.idempotency_key).await?;
        let url = answer
            .get("url")
            .and_then(Value::as_str)
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .ok_or_else(|| {
                Failure::new(
                    FailureKind::Unavailable,
                    "the ticket hook answered without the ticket's URL",
                )
            })?;
        let mut performed = Performed::new("opened").link(url);
        let id = match answer.get("id") {
            Some(Value::String(id)) => Some(id.clone()),
            Some(Value::Number(id)) => Some(id.to_string()),
            _ => None,
        };
        if let Some(id) = id {
            performed = performed.reference(id);
        }
        Ok(performed)
    }
}

/// `send_dunning_email` through the team's own mailer: a signed JSON POST naming the invoice,
/// the customer's account, the person and the template to use. Answers are read as for
/// [`TicketHook`]; the mailer's answer may carry an `id` (kept as the reference).
///
/// ```
/// use stripe_chat_act::{HookTarget, MailerHook};
/// let target = HookTarget::new("https://mail.example.com/hooks/dunning".parse()?, stripe_chat_message::Secret::new("0123456789abcdef0123"));
/// let hook = MailerHook::new(target, "dunning-reminder")?;
/// assert_eq!(hook.template(), "dunning-reminder");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct MailerHook {
    hook: Signed,
    template: String,
}

impl MailerHook {
    /// The mailer hook at `target`, asked to use `template`.
    ///
    /// ```
    /// # use stripe_chat_act::{HookTarget, MailerHook};
    /// let t = HookTarget::new("http://127.0.0.1:9/m".parse()?, stripe_chat_message::Secret::new("0123456789abcdef"));
    /// assert!(MailerHook::new(t, "t").is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(target: HookTarget, template: impl Into<String>) -> Result<Self, HookError> {
        Ok(MailerHook {
            hook: Signed::new(target, "the mailer hook")?,
            template: template.into(),
        })
    }

    /// The template it asks for.
    ///
    /// ```
    /// # use stripe_chat_act::{HookTarget, MailerHook};
    /// # let t = HookTarget::new("http://127.0.0.1:9/m".parse()?, stripe_chat_message::Secret::new("0123456789abcdef"));
    /// assert_eq!(MailerHook::new(t, "late")?.template(), "late");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn template(&self) -> &str {
        &self.template
    }
}

#[async_trait]
impl Operations for MailerHook {
    /// The mailer cannot read invoices: the invoice as named, with nothing moot (a
    /// [`Router`](crate::Router) asks Stripe instead).
    async fn inspect(
        &self,
        _action: ActionId,
        target: &ObjectRef,
        _account: Option<&str>,
    ) -> Result<Subject, Failure> {
        Ok(Subject::new(describe(target)))
    }

    async fn perform(&self, task: &Task) -> Result<Performed, Failure> {
        if task.action != ActionId::SendDunningEmail {
            return Err(Failure::new(
                FailureKind::Misconfigured,
                format!("the mailer hook does not perform {}", task.action),
            ));
        }
        let mut request = body(task);
        request["type"] = json!("send_dunning_email");
        request["template"] = json!(self.template);
        let answer = self.hook.post(&request, &task.idempotency_key).await?;
        let mut performed = Performed::new("sent through the team's mailer");
        if let Some(id) = answer.get("id").and_then(Value::as_str) {
            performed = performed.reference(id);
        }
        Ok(performed)
    }
}

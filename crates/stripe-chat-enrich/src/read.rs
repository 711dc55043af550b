//! One read from Stripe's API, and the trait that performs it.

use std::fmt::Write as _;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use stripe_chat_message::ErrorKind;
use stripe_chat_stripe::{Accounts, ApiError, Client};
use stripe_client_core::{RequestBuilder, StripeMethod, StripeRequest};

/// One `GET` of Stripe's API: a path under `/v1`, query parameters, `expand[]` paths, and the
/// Connect account it is made for.
///
/// ```
/// let read = stripe_chat_enrich::Read::new("/charges/ch_1")
///     .expand("customer")
///     .account(Some("acct_1"));
/// assert_eq!(read.path(), "/charges/ch_1");
/// assert_eq!(read.query_string(), "expand%5B%5D=customer");
/// assert_eq!(read.to_string(), "GET /v1/charges/ch_1?expand[]=customer (account acct_1)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Read {
    path: String,
    query: Vec<(String, String)>,
    account: Option<String>,
}

impl Read {
    /// A read of `path` (under `/v1`, starting with `/`).
    ///
    /// ```
    /// assert_eq!(stripe_chat_enrich::Read::new("/customers/cus_1").query_string(), "");
    /// ```
    pub fn new(path: impl Into<String>) -> Self {
        Read {
            path: path.into(),
            query: Vec::new(),
            account: None,
        }
    }

    /// Adds the query parameter `name=value`.
    ///
    /// ```
    /// let read = stripe_chat_enrich::Read::new("/invoice_payments").param("invoice", "in_1");
    /// assert_eq!(read.query_string(), "invoice=in_1");
    /// ```
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Asks Stripe to expand `path` (`expand[]=path`) in the answer.
    ///
    /// ```
    /// let read = stripe_chat_enrich::Read::new("/payment_intents/pi_1").expand("latest_charge");
    /// assert_eq!(read.expansions().collect::<Vec<_>>(), vec!["latest_charge"]);
    /// ```
    pub fn expand(self, path: impl Into<String>) -> Self {
        self.param("expand[]", path)
    }

    /// Makes the read on behalf of the Connect account `account` (`Stripe-Account`).
    ///
    /// ```
    /// let read = stripe_chat_enrich::Read::new("/charges/ch_1").account(Some("acct_1"));
    /// assert_eq!(read.account_id(), Some("acct_1"));
    /// ```
    pub fn account(mut self, account: Option<&str>) -> Self {
        self.account = account.map(str::to_owned);
        self
    }

    /// The path under `/v1`.
    ///
    /// ```
    /// assert_eq!(stripe_chat_enrich::Read::new("/charges/ch_1").path(), "/charges/ch_1");
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The Connect account, when there is one.
    ///
    /// ```
    /// assert_eq!(stripe_chat_enrich::Read::new("/charges/ch_1").account_id(), None);
    /// ```
    pub fn account_id(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// The query parameters, in order.
    ///
    /// ```
    /// let read = stripe_chat_enrich::Read::new("/x").param("a", "1");
    /// assert_eq!(read.params().collect::<Vec<_>>(), vec![("a", "1")]);
    /// ```
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The `expand[]` paths, in order.
    ///
    /// ```
    /// let read = stripe_chat_enrich::Read::new("/x").expand("a").expand("b.c");
    /// assert_eq!(read.expansions().collect::<Vec<_>>(), vec!["a", "b.c"]);
    /// ```
    pub fn expansions(&self) -> impl Iterator<Item = &str> {
        self.params()
            .filter(|(k, _)| *k == "expand[]")
            .map(|(_, v)| v)
    }

    /// The query string, form-encoded.
    ///
    /// ```
    /// let read = stripe_chat_enrich::Read::new("/x").param("invoice", "in_1").expand("data.payment");
    /// assert_eq!(read.query_string(), "invoice=in_1&expand%5B%5D=data.payment");
    /// ```
    pub fn query_string(&self) -> String {
        let mut out = String::new();
        for (i, (name, value)) in self.query.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            encode(&mut out, name);
            out.push('=');
            encode(&mut out, value);
        }
        out
    }

    /// What the cache keeps the answer under: the account, the path and the query.
    pub(crate) fn cache_key(&self) -> String {
        format!(
            "{}|{}?{}",
            self.account.as_deref().unwrap_or(""),
            self.path,
            self.query_string()
        )
    }
}

impl std::fmt::Display for Read {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GET /v1{}", self.path)?;
        for (i, (name, value)) in self.query.iter().enumerate() {
            write!(f, "{}{name}={value}", if i == 0 { '?' } else { '&' })?;
        }
        if let Some(account) = &self.account {
            write!(f, " (account {account})")?;
        }
        Ok(())
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

/// Whether `id` can be put in a path as a Stripe id: letters, digits and `_`, at most 255.
pub(crate) fn is_stripe_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Performs reads of Stripe's API: [`ApiReader`] over the Stripe client, or your own (a
/// recorded answer, a fake in tests).
///
/// Answer the object as Stripe sent it (JSON), or the classified [`ApiError`]: its
/// [`ErrorKind`] says whether Stripe is unwell (`transient`, `rate_limited`: counted by the
/// circuit breaker), refuses the key (`unauthorized`), or refuses this read (`permanent`).
///
/// ```
/// use serde_json::{json, Value};
/// use stripe_chat_enrich::{Read, StripeReader};
/// use stripe_chat_stripe::ApiError;
///
/// /// Answers every customer read with the same customer.
/// struct OneCustomer;
///
/// #[async_trait::async_trait]
/// impl StripeReader for OneCustomer {
///     async fn read(&self, read: &Read) -> Result<Value, ApiError> {
///         let id = read.path().trim_start_matches("/customers/");
///         Ok(json!({"id": id, "object": "customer", "name": "Jenny Rosen"}))
///     }
/// }
/// # let _ = OneCustomer;
/// ```
#[async_trait]
pub trait StripeReader: Send + Sync {
    /// Stripe's answer to `read`, as JSON.
    async fn read(&self, read: &Read) -> Result<Value, ApiError>;
}

#[async_trait]
impl<T: StripeReader + ?Sized> StripeReader for Arc<T> {
    async fn read(&self, read: &Read) -> Result<Value, ApiError> {
        (**self).read(read).await
    }
}

/// Reads through a [`stripe_chat_stripe::Client`]: its key, API base, timeout and retry
/// policy. Stripe renders the objects at the API version the client is pinned to.
///
/// ```
/// # use std::sync::Arc;
/// use stripe_chat_message::Secret;
/// let client = stripe_chat_stripe::Client::builder(Secret::new("rk_test_1")).build()?;
/// let reader = stripe_chat_enrich::ApiReader::new(Arc::new(client));
/// # let _ = reader;
/// # Ok::<(), stripe_chat_stripe::ApiError>(())
/// ```
#[derive(Clone)]
pub struct ApiReader {
    clients: Clients,
}

#[derive(Clone)]
enum Clients {
    One(Arc<Client>),
    ByAccount(Arc<Accounts>),
}

impl std::fmt::Debug for ApiReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.clients {
            Clients::One(client) => f.debug_tuple("ApiReader").field(client).finish(),
            Clients::ByAccount(accounts) => f.debug_tuple("ApiReader").field(accounts).finish(),
        }
    }
}

impl ApiReader {
    /// A reader over `client`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use stripe_chat_message::Secret;
    /// # let client = Arc::new(stripe_chat_stripe::Client::builder(Secret::new("rk_test_1")).build()?);
    /// let reader = stripe_chat_enrich::ApiReader::new(client);
    /// # let _ = reader;
    /// # Ok::<(), stripe_chat_stripe::ApiError>(())
    /// ```
    pub fn new(client: Arc<Client>) -> Self {
        ApiReader {
            clients: Clients::One(client),
        }
    }

    /// A reader choosing the client by the event's account ([`Accounts::route`]): an account
    /// with a key of its own is read with it, any other through Connect (`Stripe-Account`)
    /// with the default key.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use stripe_chat_message::Secret;
    /// use stripe_chat_stripe::{Accounts, Client};
    /// let platform = Client::builder(Secret::new("rk_test_platform")).build()?;
    /// let europe = Client::builder(Secret::new("rk_test_europe")).build()?;
    /// let accounts = Accounts::new(platform).with_account("acct_1EuropeGmbH", europe)?;
    /// let reader = stripe_chat_enrich::ApiReader::by_account(Arc::new(accounts));
    /// assert!(!format!("{reader:?}").contains("rk_test_europe"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn by_account(accounts: Arc<Accounts>) -> Self {
        ApiReader {
            clients: Clients::ByAccount(accounts),
        }
    }
}

/// A [`Read`] as async-stripe's request: `GET /v1{path}?{query}`.
struct Get<'a>(&'a Read);

impl StripeRequest for Get<'_> {
    type Output = ();

    fn build(&self) -> RequestBuilder {
        let mut request = RequestBuilder::new(StripeMethod::Get, self.0.path.clone());
        let query = self.0.query_string();
        if !query.is_empty() {
            request.query = Some(query);
        }
        request
    }
}

#[async_trait]
impl StripeReader for ApiReader {
    async fn read(&self, read: &Read) -> Result<Value, ApiError> {
        let body = match &self.clients {
            Clients::One(client) => {
                client
                    .send_raw_on(&Get(read), None, read.account_id())
                    .await?
            }
            Clients::ByAccount(accounts) => {
                let route = accounts.route(read.account_id());
                route
                    .client
                    .send_raw_on(&Get(read), None, route.stripe_account)
                    .await?
            }
        };
        serde_json::from_slice(&body).map_err(|_| {
            ApiError::new(
                ErrorKind::Permanent,
                None,
                None,
                format!("Stripe's answer to GET /v1{} is not JSON", read.path()),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_stripe_ids_go_into_paths() {
        assert!(is_stripe_id("in_1C9QB52LmT4hZ8pRghk2yYBU"));
        for bad in ["", "../customers", "in_1?x=1", "in 1", &"a".repeat(256)] {
            assert!(!is_stripe_id(bad), "{bad}");
        }
    }

    #[test]
    fn query_values_are_form_encoded() {
        let read = Read::new("/x").param("q", "a b&c=d");
        assert_eq!(read.query_string(), "q=a%20b%26c%3Dd");
    }
}

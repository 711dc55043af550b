//! Several Stripe accounts: one API key per account, the event's account picking it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use stripe_chat_message::Secret;

use crate::client::is_account_id;
use crate::{ApiError, Client};

/// `[stripe.accounts.<acct_id>]`: how to reach one more Stripe account with its own API key (a
/// team with one Stripe account per legal entity). Exactly one of `api_key_env` and
/// `api_key_file` says where the key is; the key itself is never written in the file.
///
/// ```toml
/// [stripe.accounts.acct_1EuropeGmbH]
/// api_key_env = "STRIPE_API_KEY_EUROPE"      # or: api_key_file = "/run/secrets/stripe-europe"
/// # api_base = "http://127.0.0.1:12111"       # a proxy, or a mock server in tests
/// ```
///
/// ```
/// use std::collections::BTreeMap;
/// use stripe_chat_stripe::AccountConfig;
/// let accounts: BTreeMap<String, AccountConfig> = toml::from_str(r#"
/// [acct_1EuropeGmbH]
/// api_key_env = "STRIPE_API_KEY_EUROPE"
/// "#)?;
/// assert_eq!(accounts["acct_1EuropeGmbH"].api_key_env.as_deref(), Some("STRIPE_API_KEY_EUROPE"));
/// assert!(toml::from_str::<AccountConfig>("api_key = \"sk_live_x\"").is_err(), "no key in the file");
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AccountConfig {
    /// The environment variable holding the account's API key (`sk_…`, or a restricted `rk_…`
    /// key allowed the actions the team uses).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// A file holding the account's API key (a Docker or Kubernetes secret, a systemd
    /// credential), instead of [`api_key_env`](Self::api_key_env).
    #[serde(default)]
    pub api_key_file: Option<PathBuf>,
    /// Where Stripe's API is for this account (default: the default client's).
    #[serde(default)]
    pub api_base: Option<String>,
}

/// A `[stripe.accounts]` entry that cannot be used: names the key (`stripe.accounts.acct_….api_key_env`)
/// and what is wrong with it, never the API key itself.
///
/// ```
/// use stripe_chat_stripe::AccountConfig;
/// let err = AccountConfig::default().api_key("acct_1", |_| None).unwrap_err();
/// assert_eq!(err.to_string(), "stripe.accounts.acct_1: set api_key_env or api_key_file");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct AccountConfigError {
    /// The configuration key at fault.
    pub key: String,
    /// What is wrong with it.
    pub problem: String,
}

impl AccountConfigError {
    fn new(account: &str, field: Option<&str>, problem: impl Into<String>) -> Self {
        let key = match field {
            Some(field) => format!("stripe.accounts.{account}.{field}"),
            None => format!("stripe.accounts.{account}"),
        };
        AccountConfigError {
            key,
            problem: problem.into(),
        }
    }
}

impl AccountConfig {
    /// The API key of `account`: read from [`api_key_file`](Self::api_key_file), or from the
    /// environment variable [`api_key_env`](Self::api_key_env) through `env`; surrounding
    /// whitespace trimmed. The error says where the key was looked for, never what was there.
    ///
    /// ```
    /// use stripe_chat_stripe::AccountConfig;
    /// let config: AccountConfig = toml::from_str(r#"api_key_env = "STRIPE_API_KEY_EUROPE""#)?;
    /// let key = config.api_key("acct_1EuropeGmbH", |name| (name == "STRIPE_API_KEY_EUROPE").then(|| "rk_live_1\n".into()))?;
    /// assert_eq!(key.expose(), "rk_live_1");
    /// let err = config.api_key("acct_1EuropeGmbH", |_| None).unwrap_err();
    /// assert_eq!(err.to_string(), "stripe.accounts.acct_1EuropeGmbH.api_key_env: the environment variable STRIPE_API_KEY_EUROPE is not set");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn api_key(
        &self,
        account: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Secret, AccountConfigError> {
        let key = match (&self.api_key_env, &self.api_key_file) {
            (Some(_), Some(_)) => {
                return Err(AccountConfigError::new(
                    account,
                    Some("api_key_file"),
                    "set api_key_file or api_key_env, not both",
                ));
            }
            (None, None) => {
                return Err(AccountConfigError::new(
                    account,
                    None,
                    "set api_key_env or api_key_file",
                ));
            }
            (Some(var), None) => {
                let var = var.trim();
                if var.is_empty() || var.contains(['=', '\0']) {
                    return Err(AccountConfigError::new(
                        account,
                        Some("api_key_env"),
                        "must name an environment variable",
                    ));
                }
                env(var)
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| {
                        AccountConfigError::new(
                            account,
                            Some("api_key_env"),
                            format!("the environment variable {var} is not set"),
                        )
                    })?
            }
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    AccountConfigError::new(
                        account,
                        Some("api_key_file"),
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                let key = text.trim();
                if key.is_empty() {
                    return Err(AccountConfigError::new(
                        account,
                        Some("api_key_file"),
                        format!("the file {} is empty", path.display()),
                    ));
                }
                key.to_owned()
            }
        };
        Ok(Secret::new(key))
    }

    /// The client for `account`: its key (see [`AccountConfig::api_key`]), its API base or
    /// `like`'s, and `like`'s timeout and retry policy.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// use stripe_chat_stripe::{AccountConfig, Client};
    /// let default = Client::builder(Secret::new("sk_test_platform")).build()?;
    /// let config: AccountConfig = toml::from_str(r#"api_key_env = "K"
    /// api_base = "http://127.0.0.1:12111""#)?;
    /// let client = config.client("acct_1", &default, |_| Some("sk_test_other".into()))?;
    /// assert_eq!(client.base_url(), "http://127.0.0.1:12111/");
    /// assert_eq!(client.timeout(), default.timeout());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn client(
        &self,
        account: &str,
        like: &Client,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Client, AccountConfigError> {
        if !is_account_id(account) {
            return Err(AccountConfigError::new(
                account,
                None,
                "is not a Stripe account id (acct_ followed by letters and digits)",
            ));
        }
        let key = self.api_key(account, env)?;
        let base = match &self.api_base {
            Some(base) => {
                let base = base.trim();
                if base.chars().any(|c| c.is_whitespace() || c.is_control())
                    || base.contains(['?', '#', '@'])
                {
                    return Err(AccountConfigError::new(
                        account,
                        Some("api_base"),
                        format!(
                            "{base:?} must be an http(s) URL without user information, query or fragment"
                        ),
                    ));
                }
                base.to_owned()
            }
            None => like.base_url().to_owned(),
        };
        let mut builder = Client::builder(key)
            .api_base(base)
            .timeout(like.timeout())
            .retry(like.retry());
        if let Some(limiter) = like.rate_limiter() {
            builder = builder.rate_limiter(limiter.clone());
        }
        builder.build().map_err(|e: ApiError| {
            let field = if self.api_base.is_some() {
                Some("api_base")
            } else {
                None
            };
            AccountConfigError::new(account, field, e.message().to_owned())
        })
    }
}

/// The Stripe clients of a team: a default one (the platform's key, or the only account's) and
/// one per `acct_…` that has its own key. [`Accounts::route`] picks the client for an object of
/// an account: its own key when configured, else the default key acting on the account through
/// Connect (`Stripe-Account`).
///
/// ```
/// use std::collections::BTreeMap;
/// use stripe_chat_message::Secret;
/// use stripe_chat_stripe::{AccountConfig, Accounts, Client};
/// let platform = Client::builder(Secret::new("sk_test_platform")).build()?;
/// let configs: BTreeMap<String, AccountConfig> = toml::from_str(r#"
/// [acct_1EuropeGmbH]
/// api_key_env = "STRIPE_API_KEY_EUROPE"
/// "#)?;
/// let accounts = Accounts::from_config(platform, &configs, |_| Some("sk_test_europe".into()))?;
/// assert_eq!(accounts.route(Some("acct_1EuropeGmbH")).stripe_account, None, "its own key");
/// assert_eq!(accounts.route(Some("acct_1Connected")).stripe_account, Some("acct_1Connected"), "Connect");
/// assert_eq!(accounts.route(None).stripe_account, None);
/// assert!(!format!("{accounts:?}").contains("sk_test_europe"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Accounts {
    default: Client,
    by_account: BTreeMap<String, Client>,
}

impl fmt::Debug for Accounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accounts")
            .field("default", &self.default)
            .field("by_account", &self.by_account)
            .finish()
    }
}

/// Which client to use for an object, and the `Stripe-Account` to send with it.
///
/// ```
/// use stripe_chat_message::Secret;
/// use stripe_chat_stripe::{Accounts, Client};
/// let accounts = Accounts::new(Client::builder(Secret::new("sk_test_platform")).build()?);
/// let route = accounts.route(Some("acct_1Connected"));
/// assert_eq!(route.stripe_account, Some("acct_1Connected"));
/// assert_eq!(route.client.base_url(), "https://api.stripe.com/");
/// # Ok::<(), stripe_chat_stripe::ApiError>(())
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Route<'a> {
    /// The client whose key acts.
    pub client: &'a Client,
    /// The connected account to send as `Stripe-Account`, when the key acts on another
    /// account's behalf.
    pub stripe_account: Option<&'a str>,
}

impl Accounts {
    /// Only the default client: objects of other accounts are reached through Connect.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// let accounts = stripe_chat_stripe::Accounts::new(stripe_chat_stripe::Client::builder(Secret::new("sk_test_1")).build()?);
    /// assert_eq!(accounts.accounts().count(), 0);
    /// # Ok::<(), stripe_chat_stripe::ApiError>(())
    /// ```
    pub fn new(default: Client) -> Self {
        Accounts {
            default,
            by_account: BTreeMap::new(),
        }
    }

    /// The same, with `client` (holding that account's own key) for the objects of `account`.
    /// Fails when `account` is not an `acct_…` id.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// use stripe_chat_stripe::{Accounts, Client};
    /// let accounts = Accounts::new(Client::builder(Secret::new("sk_test_1")).build()?)
    ///     .with_account("acct_1Other", Client::builder(Secret::new("sk_test_2")).build()?)?;
    /// assert_eq!(accounts.accounts().collect::<Vec<_>>(), ["acct_1Other"]);
    /// assert!(Accounts::new(Client::builder(Secret::new("sk_test_1")).build()?)
    ///     .with_account("other", Client::builder(Secret::new("sk_test_2")).build()?).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_account(
        mut self,
        account: &str,
        client: Client,
    ) -> Result<Self, AccountConfigError> {
        if !is_account_id(account) {
            return Err(AccountConfigError::new(
                account,
                None,
                "is not a Stripe account id (acct_ followed by letters and digits)",
            ));
        }
        self.by_account.insert(account.to_owned(), client);
        Ok(self)
    }

    /// `default`, plus a client for every `[stripe.accounts.<acct_id>]` entry, built like
    /// `default` (timeout, retry policy, API base unless the entry sets one); keys read through
    /// `env` or from files. The first entry that cannot be used is the error.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use stripe_chat_message::Secret;
    /// use stripe_chat_stripe::{AccountConfig, Accounts, Client};
    /// let configs: BTreeMap<String, AccountConfig> = toml::from_str(r#"
    /// [acct_1Europe]
    /// api_key_env = "STRIPE_API_KEY_EUROPE"
    /// "#)?;
    /// let err = Accounts::from_config(Client::builder(Secret::new("sk_test_1")).build()?, &configs, |_| None).unwrap_err();
    /// assert_eq!(err.key, "stripe.accounts.acct_1Europe.api_key_env");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_config(
        default: Client,
        accounts: &BTreeMap<String, AccountConfig>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, AccountConfigError> {
        let mut by_account = BTreeMap::new();
        for (account, config) in accounts {
            let client = config.client(account, &default, &env)?;
            by_account.insert(account.clone(), client);
        }
        Ok(Accounts {
            default,
            by_account,
        })
    }

    /// The client for an object of `account` (the event's top-level `account`, `None` for the
    /// default account's own objects), and the `Stripe-Account` its requests carry.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// let accounts = stripe_chat_stripe::Accounts::new(stripe_chat_stripe::Client::builder(Secret::new("sk_test_1")).build()?);
    /// assert!(accounts.route(None).stripe_account.is_none());
    /// # Ok::<(), stripe_chat_stripe::ApiError>(())
    /// ```
    pub fn route<'a>(&'a self, account: Option<&'a str>) -> Route<'a> {
        match account {
            Some(account) => match self.by_account.get(account) {
                Some(client) => Route {
                    client,
                    stripe_account: None,
                },
                None => Route {
                    client: &self.default,
                    stripe_account: Some(account),
                },
            },
            None => Route {
                client: &self.default,
                stripe_account: None,
            },
        }
    }

    /// The accounts with a key of their own.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// let accounts = stripe_chat_stripe::Accounts::new(stripe_chat_stripe::Client::builder(Secret::new("sk_test_1")).build()?);
    /// assert!(accounts.accounts().next().is_none());
    /// # Ok::<(), stripe_chat_stripe::ApiError>(())
    /// ```
    pub fn accounts(&self) -> impl Iterator<Item = &str> {
        self.by_account.keys().map(String::as_str)
    }
}

impl From<Client> for Accounts {
    fn from(default: Client) -> Self {
        Accounts::new(default)
    }
}

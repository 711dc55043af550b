//! Adapters chosen by name from configuration: the [`ProviderFactory`] each adapter crate exports,
//! the [`Settings`] it builds from, and the [`ProviderRegistry`] that holds them.
//!
//! A destination in a configuration file says `provider = "slack"` and carries the adapter's own
//! keys; the registry finds the factory named `slack` and hands it those keys. Settings arrive as
//! JSON values rather than TOML: the factory is then the same whatever format the embedding
//! program reads (the service converts its TOML tables), and adapter crates need no parser.

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{ChatProvider, ConfigError, Renderer};

/// The settings of one destination (or one platform's rendering options) as its adapter reads
/// them: the adapter's own keys, and where `*_env` keys are looked up.
///
/// ```
/// use stripe_chat_message::Settings;
///
/// #[derive(Debug, serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Options { channel: String }
///
/// let env = |name: &str| (name == "CHANNEL").then(|| "C0123".to_owned());
/// let values = serde_json::json!({ "channel": "C0123" });
/// let settings = Settings::new(&values, &env);
/// assert_eq!(settings.parse::<Options>()?.channel, "C0123");
/// assert_eq!(settings.env("CHANNEL").as_deref(), Some("C0123"));
///
/// let typo = serde_json::json!({ "chanel": "C0123" });
/// let typo = Settings::new(&typo, &env);
/// assert!(typo.parse::<Options>().unwrap_err().to_string().starts_with("unknown field `chanel`"));
/// # Ok::<(), stripe_chat_message::ConfigError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Settings<'a> {
    values: &'a Value,
    env: &'a dyn Fn(&str) -> Option<String>,
    destination: Option<&'a str>,
}

impl<'a> Settings<'a> {
    /// `values` (a JSON object of the adapter's keys), with `*_env` keys looked up through `env`.
    ///
    /// ```
    /// let values = serde_json::json!({});
    /// let settings = stripe_chat_message::Settings::new(&values, &|_: &str| None);
    /// assert_eq!(settings.env("HOME"), None);
    /// ```
    pub fn new(values: &'a Value, env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Settings {
            values,
            env,
            destination: None,
        }
    }

    /// The same settings for the destination the operator named `name` (`[[destinations]]
    /// name`), which an adapter uses in its errors and message refs unless its own keys say
    /// otherwise, so that an error names the destination the operator knows.
    ///
    /// ```
    /// let values = serde_json::json!({});
    /// let settings = stripe_chat_message::Settings::from_process_env(&values);
    /// assert_eq!(settings.destination(), None);
    /// assert_eq!(settings.for_destination("hook").destination(), Some("hook"));
    /// ```
    pub fn for_destination(mut self, name: &'a str) -> Self {
        self.destination = Some(name);
        self
    }

    /// The destination's name, when these settings are a destination's
    /// ([`Settings::for_destination`]).
    ///
    /// ```
    /// let values = serde_json::json!({});
    /// assert!(stripe_chat_message::Settings::from_process_env(&values).destination().is_none());
    /// ```
    pub fn destination(&self) -> Option<&'a str> {
        self.destination
    }

    /// `values`, with `*_env` keys looked up in the process environment.
    ///
    /// ```
    /// let values = serde_json::json!({ "path": "messages.jsonl" });
    /// let settings = stripe_chat_message::Settings::from_process_env(&values);
    /// assert_eq!(settings.values()["path"], "messages.jsonl");
    /// ```
    pub fn from_process_env(values: &'a Value) -> Self {
        Settings::new(values, &process_env)
    }

    /// The adapter's keys, as given.
    ///
    /// ```
    /// let values = serde_json::json!({ "channel": "C1" });
    /// let settings = stripe_chat_message::Settings::from_process_env(&values);
    /// assert_eq!(settings.values()["channel"], "C1");
    /// ```
    pub fn values(&self) -> &'a Value {
        self.values
    }

    /// The keys read into `T` (a `serde` struct, usually with `deny_unknown_fields`). A key that
    /// `T` does not know, a missing one or a value of the wrong type is an
    /// [`Invalid`](crate::ConfigErrorKind::Invalid) error naming no key (the message names it).
    ///
    /// ```
    /// let values = serde_json::json!({ "timeout_secs": "ten" });
    /// let settings = stripe_chat_message::Settings::from_process_env(&values);
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Options { timeout_secs: u64 }
    /// let error = settings.parse::<Options>().unwrap_err();
    /// assert!(error.to_string().contains("expected u64"), "{error}");
    /// ```
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        T::deserialize(self.values).map_err(|e| ConfigError::invalid("", e.to_string()))
    }

    /// The environment variable `name`, as the lookup gives it.
    ///
    /// ```
    /// let values = serde_json::json!({});
    /// let env = |name: &str| (name == "TOKEN").then(|| "t".to_owned());
    /// assert_eq!(stripe_chat_message::Settings::new(&values, &env).env("TOKEN").as_deref(), Some("t"));
    /// ```
    pub fn env(&self, name: &str) -> Option<String> {
        (self.env)(name)
    }

    /// The lookup itself, for an adapter's own `build_with_env`.
    ///
    /// ```
    /// let values = serde_json::json!({});
    /// let settings = stripe_chat_message::Settings::new(&values, &|_: &str| Some("v".to_owned()));
    /// assert_eq!((settings.env_lookup())("ANY").as_deref(), Some("v"));
    /// ```
    pub fn env_lookup(&self) -> &'a dyn Fn(&str) -> Option<String> {
        self.env
    }
}

impl fmt::Debug for Settings<'_> {
    /// The keys only: values may be secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self
            .values
            .as_object()
            .map(|map| map.keys().map(String::as_str).collect())
            .unwrap_or_default();
        f.debug_struct("Settings")
            .field("keys", &keys)
            .finish_non_exhaustive()
    }
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Builds one platform's adapter from configuration: what `provider = "<name>"` in a destination
/// means. Each adapter crate exports one (`stripe_chat_slack::SlackFactory`), and a
/// [`ProviderRegistry`] holds them by name.
///
/// ```
/// use std::sync::Arc;
/// use stripe_chat_message::*;
///
/// /// Posts nowhere; says what it would post (a test double).
/// #[derive(Debug)]
/// struct Echo { prefix: String }
///
/// impl Renderer for Echo {
///     fn platform(&self) -> &str { "echo" }
///     fn render(&self, m: &ChatMessage) -> Result<serde_json::Value, RenderError> {
///         Ok(serde_json::json!({ "text": format!("{}{}", self.prefix, m.title) }))
///     }
/// }
///
/// #[async_trait]
/// impl ChatProvider for Echo {
///     fn capabilities(&self) -> Capabilities { Capabilities::SEND_ONLY }
///     async fn send_raw(&self, _: serde_json::Value, _: Option<&MessageRef>, _: &IdempotencyKey) -> Result<MessageRef, DeliveryError> {
///         Ok(MessageRef::new("echo", ""))
///     }
/// }
///
/// #[derive(serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct EchoConfig { #[serde(default)] prefix: String }
///
/// /// `provider = "echo"`, with an optional `prefix`.
/// struct EchoFactory;
///
/// impl ProviderFactory for EchoFactory {
///     fn name(&self) -> &str { "echo" }
///     fn build(&self, settings: &Settings<'_>) -> Result<Arc<dyn ChatProvider>, ConfigError> {
///         let config: EchoConfig = settings.parse()?;
///         Ok(Arc::new(Echo { prefix: config.prefix }))
///     }
///     fn renderer(&self, options: &Settings<'_>) -> Result<Box<dyn Renderer>, ConfigError> {
///         let config: EchoConfig = options.parse()?;
///         Ok(Box::new(Echo { prefix: config.prefix }))
///     }
/// }
///
/// let registry = ProviderRegistry::new().with(EchoFactory);
/// let values = serde_json::json!({ "prefix": "> " });
/// let echo = registry.build("echo", &Settings::from_process_env(&values))?;
/// assert_eq!(echo.render(&ChatMessage::new("Invoice paid"))?["text"], "> Invoice paid");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait ProviderFactory: Send + Sync {
    /// The `provider` name in configuration files: short and lowercase (`slack`), the
    /// [`platform`](Renderer::platform) of what it builds.
    fn name(&self) -> &str;

    /// The adapter for one destination, from its settings: checked once, before anything starts.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the adapter's key at fault (never quoting a secret).
    fn build(&self, settings: &Settings<'_>) -> Result<Arc<dyn ChatProvider>, ConfigError>;

    /// The pure renderer `stripe-chat render` uses, from the platform's rendering options (a
    /// `[slack]` table, say: no credentials, nothing sent).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the option at fault.
    fn renderer(&self, options: &Settings<'_>) -> Result<Box<dyn Renderer>, ConfigError>;
}

/// The adapters a program knows, by name: what its configuration may name as a `provider`.
///
/// Names are kept in registration order. Registering a factory under a name already taken
/// replaces the earlier one, so a program can put its own adapter in place of a built-in.
///
/// ```
/// use stripe_chat_message::{ConfigErrorKind, ProviderRegistry, Settings};
///
/// let registry = ProviderRegistry::new();
/// let values = serde_json::json!({});
/// let error = registry.build("irc", &Settings::from_process_env(&values)).map(drop).unwrap_err();
/// assert_eq!(error.kind(), ConfigErrorKind::Invalid);
/// assert_eq!(error.key(), "provider");
/// ```
#[derive(Clone, Default)]
pub struct ProviderRegistry {
    factories: Vec<Arc<dyn ProviderFactory>>,
}

impl ProviderRegistry {
    /// A registry that knows no adapter.
    ///
    /// ```
    /// assert_eq!(stripe_chat_message::ProviderRegistry::new().names().count(), 0);
    /// ```
    pub fn new() -> Self {
        ProviderRegistry::default()
    }

    /// The same registry, with `factory` added (or in place of the one of the same name).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use stripe_chat_message::*;
    /// # struct Nowhere;
    /// # impl ProviderFactory for Nowhere {
    /// #     fn name(&self) -> &str { "nowhere" }
    /// #     fn build(&self, _: &Settings<'_>) -> Result<Arc<dyn ChatProvider>, ConfigError> { Err(ConfigError::invalid("", "no")) }
    /// #     fn renderer(&self, _: &Settings<'_>) -> Result<Box<dyn Renderer>, ConfigError> { Err(ConfigError::invalid("", "no")) }
    /// # }
    /// let registry = ProviderRegistry::new().with(Nowhere).with(Nowhere);
    /// assert_eq!(registry.names().collect::<Vec<_>>(), ["nowhere"]);
    /// ```
    pub fn with(mut self, factory: impl ProviderFactory + 'static) -> Self {
        self.register(factory);
        self
    }

    /// Adds `factory`, in place of the one of the same name if there is one.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use stripe_chat_message::*;
    /// # struct Nowhere;
    /// # impl ProviderFactory for Nowhere {
    /// #     fn name(&self) -> &str { "nowhere" }
    /// #     fn build(&self, _: &Settings<'_>) -> Result<Arc<dyn ChatProvider>, ConfigError> { Err(ConfigError::invalid("", "no")) }
    /// #     fn renderer(&self, _: &Settings<'_>) -> Result<Box<dyn Renderer>, ConfigError> { Err(ConfigError::invalid("", "no")) }
    /// # }
    /// let mut registry = ProviderRegistry::new();
    /// registry.register(Nowhere);
    /// assert!(registry.get("nowhere").is_some());
    /// ```
    pub fn register(&mut self, factory: impl ProviderFactory + 'static) -> &mut Self {
        let factory: Arc<dyn ProviderFactory> = Arc::new(factory);
        match self
            .factories
            .iter_mut()
            .find(|known| known.name().eq_ignore_ascii_case(factory.name()))
        {
            Some(known) => *known = factory,
            None => self.factories.push(factory),
        }
        self
    }

    /// The factory registered as `name`, whatever its case (`Slack` is `slack`), as everywhere a
    /// provider is named.
    ///
    /// ```
    /// assert!(stripe_chat_message::ProviderRegistry::new().get("slack").is_none());
    /// ```
    pub fn get(&self, name: &str) -> Option<&dyn ProviderFactory> {
        self.factories
            .iter()
            .find(|factory| factory.name().eq_ignore_ascii_case(name))
            .map(|factory| &**factory)
    }

    /// Every registered name, in registration order.
    ///
    /// ```
    /// assert!(stripe_chat_message::ProviderRegistry::new().names().next().is_none());
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.factories.iter().map(|factory| factory.name())
    }

    /// The adapter `name` builds from `settings`.
    ///
    /// # Errors
    /// An unknown `name` is an [`Invalid`](crate::ConfigErrorKind::Invalid) error at `provider`
    /// listing the registered names; otherwise the factory's own error.
    ///
    /// ```
    /// let values = serde_json::json!({});
    /// let settings = stripe_chat_message::Settings::from_process_env(&values);
    /// let error = stripe_chat_message::ProviderRegistry::new().build("irc", &settings).map(drop).unwrap_err();
    /// assert_eq!(error.to_string(), "provider: unknown provider \"irc\" (none is registered)");
    /// ```
    pub fn build(
        &self,
        name: &str,
        settings: &Settings<'_>,
    ) -> Result<Arc<dyn ChatProvider>, ConfigError> {
        self.find(name)?.build(settings)
    }

    /// The renderer `name` builds from rendering `options`.
    ///
    /// # Errors
    /// As [`ProviderRegistry::build`].
    ///
    /// ```
    /// let values = serde_json::json!({});
    /// let options = stripe_chat_message::Settings::from_process_env(&values);
    /// assert!(stripe_chat_message::ProviderRegistry::new().renderer("slack", &options).is_err());
    /// ```
    pub fn renderer(
        &self,
        name: &str,
        options: &Settings<'_>,
    ) -> Result<Box<dyn Renderer>, ConfigError> {
        self.find(name)?.renderer(options)
    }

    /// The factory registered as `name`, or an [`Invalid`](crate::ConfigErrorKind::Invalid)
    /// error at `provider` listing the registered names.
    ///
    /// ```
    /// let error = stripe_chat_message::ProviderRegistry::new().find("irc").map(drop).unwrap_err();
    /// assert_eq!(error.problem(), "unknown provider \"irc\" (none is registered)");
    /// ```
    pub fn find(&self, name: &str) -> Result<&dyn ProviderFactory, ConfigError> {
        self.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.names().collect();
            let known = match known.as_slice() {
                [] => "none is registered".to_owned(),
                [only] => format!("expected {only}"),
                [first @ .., last] => format!("expected {} or {last}", first.join(", ")),
            };
            ConfigError::invalid("provider", format!("unknown provider {name:?} ({known})"))
        })
    }
}

impl fmt::Debug for ProviderRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

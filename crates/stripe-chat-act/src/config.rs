//! The `[actions]` table of the configuration: how long a confirmation may take, where `assign`
//! and `notify` post, and the team's ticket and mailer hooks. Checked once into
//! [`CheckedActions`] (secrets read, URLs and durations parsed) before anything starts.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use stripe_chat_message::{ConfigError, Secret, SecretSource};

use crate::hooks::{DEFAULT_HOOK_TIMEOUT, HookTarget};

/// How long a confirmation (and then an approval) may take when `confirmation_expiry` is not set.
///
/// ```
/// assert_eq!(stripe_chat_act::DEFAULT_CONFIRMATION_EXPIRY.as_secs(), 15 * 60);
/// ```
pub const DEFAULT_CONFIRMATION_EXPIRY: Duration = stripe_chat_actions::DEFAULT_EXPIRY;

/// The longest confirmation expiry accepted: a day.
///
/// ```
/// assert_eq!(stripe_chat_act::MAX_CONFIRMATION_EXPIRY.as_secs(), 86_400);
/// ```
pub const MAX_CONFIRMATION_EXPIRY: Duration = Duration::from_secs(86_400);

/// The shortest hook signing secret accepted, in bytes.
///
/// ```
/// assert_eq!(stripe_chat_act::MIN_HOOK_SECRET_BYTES, 16);
/// ```
pub const MIN_HOOK_SECRET_BYTES: usize = 16;

/// The `[actions]` table as written. Unknown keys are refused.
///
/// ```
/// use stripe_chat_act::ActionsConfig;
/// let config: ActionsConfig = toml::from_str(r#"
/// confirmation_expiry = "10m"
/// [assign]
/// destination = "support-queue"
/// [notify]
/// destinations = ["legal", "finance"]
/// [create_ticket]
/// url = "https://tickets.example.com/hooks/stripe-chat"
/// secret_env = "TICKET_HOOK_SECRET"
/// timeout_secs = 5
/// [send_dunning_email]
/// template = "dunning-reminder"
/// hook = { url = "https://mail.example.com/hooks/dunning", secret_env = "MAILER_HOOK_SECRET" }
/// "#)?;
/// let env = |name: &str| Some(format!("{name}-0123456789abcdef"));
/// let checked = config.check_with_env(&env)?;
/// assert_eq!(checked.confirmation_expiry.as_secs(), 600);
/// assert_eq!(checked.notify, ["legal", "finance"]);
/// assert!(!format!("{checked:?}").contains("0123456789abcdef"), "secrets stay out of Debug");
/// assert!(toml::from_str::<ActionsConfig>("confirm_expiry = \"10m\"").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsConfig {
    /// How long the person who asked has to confirm a money-moving action, and then a second
    /// person to approve it (`"15m"`, the default; at most a day).
    #[serde(default)]
    pub confirmation_expiry: Option<String>,
    /// `[actions.assign]`: where `assign` posts.
    #[serde(default)]
    pub assign: Option<AssignConfig>,
    /// `[actions.notify]`: where `notify` posts.
    #[serde(default)]
    pub notify: Option<NotifyConfig>,
    /// `[actions.create_ticket]`: the team's ticket hook.
    #[serde(default)]
    pub create_ticket: Option<HookConfig>,
    /// `[actions.send_dunning_email]`: the team's own mailer instead of Stripe's email.
    #[serde(default)]
    pub send_dunning_email: Option<DunningConfig>,
}

/// `[actions.assign]`.
///
/// ```
/// let a: stripe_chat_act::AssignConfig = toml::from_str("destination = \"queue\"")?;
/// assert_eq!(a.destination, "queue");
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignConfig {
    /// The destination (a `[[destinations]]` name) the assignment is posted to.
    pub destination: String,
}

/// `[actions.notify]`.
///
/// ```
/// let n: stripe_chat_act::NotifyConfig = toml::from_str("destinations = [\"legal\"]")?;
/// assert_eq!(n.destinations, ["legal"]);
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// The destinations (`[[destinations]]` names) the message is posted to, with its context.
    pub destinations: Vec<String>,
}

/// A signed outbound hook: its URL, its signing secret (`secret`, `secret_env` or
/// `secret_file`, like every secret of the configuration) and its timeout.
///
/// ```
/// let h: stripe_chat_act::HookConfig = toml::from_str("url = \"https://t.example.com/h\"\nsecret_file = \"/run/secrets/ticket\"")?;
/// assert!(h.secret_file.is_some());
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookConfig {
    /// Where requests are POSTed: `https` (plain `http` only to a loopback host).
    pub url: String,
    /// The signing secret, written here.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// The environment variable holding the signing secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// A file holding the signing secret.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// The time allowed for a whole request, in seconds (default 10, at most 60).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

/// `[actions.send_dunning_email]`: without it, `send_dunning_email` has Stripe email the invoice.
///
/// ```
/// let d: stripe_chat_act::DunningConfig = toml::from_str("template = \"t\"\nhook = { url = \"https://m.example.com\", secret = \"0123456789abcdef\" }")?;
/// assert_eq!(d.template, "t");
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DunningConfig {
    /// The team's mailer hook.
    pub hook: HookConfig,
    /// The template name the mailer is asked to use.
    pub template: String,
}

/// The `[actions]` table, checked.
///
/// ```
/// let checked = stripe_chat_act::ActionsConfig::default().check()?;
/// assert_eq!(checked.confirmation_expiry, stripe_chat_act::DEFAULT_CONFIRMATION_EXPIRY);
/// assert!(checked.create_ticket.is_none());
/// # Ok::<(), stripe_chat_message::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CheckedActions {
    /// How long a confirmation or an approval may take.
    pub confirmation_expiry: Duration,
    /// Where `assign` posts.
    pub assign: Option<String>,
    /// Where `notify` posts.
    pub notify: Vec<String>,
    /// The ticket hook.
    pub create_ticket: Option<HookTarget>,
    /// The mailer hook and its template.
    pub dunning: Option<(HookTarget, String)>,
}

impl ActionsConfig {
    /// Checks the table, reading `*_env` secrets from the process environment.
    ///
    /// ```
    /// let e = stripe_chat_act::ActionsConfig { confirmation_expiry: Some("soon".into()), ..Default::default() }.check().unwrap_err();
    /// assert_eq!(e.key(), "actions.confirmation_expiry");
    /// ```
    pub fn check(&self) -> Result<CheckedActions, ConfigError> {
        self.check_with_env(&|name| std::env::var(name).ok())
    }

    /// Checks the table, reading `*_env` secrets through `env`. Errors name the key
    /// (`actions.create_ticket.secret_env`), never a secret.
    ///
    /// ```
    /// use stripe_chat_act::{ActionsConfig, HookConfig};
    /// let config = ActionsConfig {
    ///     create_ticket: Some(HookConfig { url: "https://t.example.com".into(), secret_env: Some("T".into()), ..Default::default() }),
    ///     ..Default::default()
    /// };
    /// let e = config.check_with_env(&|_| None).unwrap_err();
    /// assert_eq!(e.key(), "actions.create_ticket.secret_env");
    /// ```
    pub fn check_with_env(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<CheckedActions, ConfigError> {
        let confirmation_expiry = match &self.confirmation_expiry {
            None => DEFAULT_CONFIRMATION_EXPIRY,
            Some(text) => {
                let parsed = stripe_chat_message::parse_duration(text).ok_or_else(|| {
                    ConfigError::invalid(
                        "actions.confirmation_expiry",
                        format!("{text:?} is not a duration such as \"15m\""),
                    )
                })?;
                if parsed < Duration::from_secs(10) || parsed > MAX_CONFIRMATION_EXPIRY {
                    return Err(ConfigError::invalid(
                        "actions.confirmation_expiry",
                        "must be between 10s and 1d",
                    ));
                }
                parsed
            }
        };
        let assign = match &self.assign {
            Some(a) if a.destination.trim().is_empty() => {
                return Err(ConfigError::invalid(
                    "actions.assign.destination",
                    "is empty",
                ));
            }
            Some(a) => Some(a.destination.trim().to_owned()),
            None => None,
        };
        let mut notify = Vec::new();
        if let Some(n) = &self.notify {
            if n.destinations.is_empty() {
                return Err(ConfigError::invalid(
                    "actions.notify.destinations",
                    "names no destination",
                ));
            }
            for d in &n.destinations {
                if d.trim().is_empty() {
                    return Err(ConfigError::invalid(
                        "actions.notify.destinations",
                        "holds an empty name",
                    ));
                }
                notify.push(d.trim().to_owned());
            }
        }
        let create_ticket = self
            .create_ticket
            .as_ref()
            .map(|h| h.check(env).map_err(|e| e.within("actions.create_ticket")))
            .transpose()?;
        let dunning = match &self.send_dunning_email {
            Some(d) => {
                if d.template.trim().is_empty() {
                    return Err(ConfigError::invalid(
                        "actions.send_dunning_email.template",
                        "is empty",
                    ));
                }
                let hook = d
                    .hook
                    .check(env)
                    .map_err(|e| e.within("actions.send_dunning_email.hook"))?;
                Some((hook, d.template.trim().to_owned()))
            }
            None => None,
        };
        Ok(CheckedActions {
            confirmation_expiry,
            assign,
            notify,
            create_ticket,
            dunning,
        })
    }
}

impl HookConfig {
    /// Checks the hook: an `https` URL (plain `http` only to a loopback host) without user
    /// information, exactly one secret of at least
    /// [`MIN_HOOK_SECRET_BYTES`], a timeout of 1 to 60 seconds.
    ///
    /// ```
    /// use stripe_chat_act::HookConfig;
    /// let short = HookConfig { url: "https://t.example.com".into(), secret: Some(stripe_chat_message::Secret::new("short")), ..Default::default() };
    /// assert_eq!(short.check(&|_| None).unwrap_err().key(), "secret");
    /// ```
    pub fn check(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<HookTarget, ConfigError> {
        let url = stripe_chat_http::endpoint(self.url.trim())
            .map_err(|problem| ConfigError::invalid("url", problem.to_string()))?
            .into_url();
        let source = SecretSource::from_keys(
            "secret",
            self.secret.as_ref(),
            self.secret_env.as_deref(),
            self.secret_file.as_deref(),
        )?
        .ok_or_else(|| ConfigError::missing("secret", "set secret, secret_env or secret_file"))?;
        let secret = source.read("secret", env)?;
        if secret.expose().len() < MIN_HOOK_SECRET_BYTES {
            return Err(ConfigError::invalid(
                source.key_for("secret"),
                format!("is shorter than {MIN_HOOK_SECRET_BYTES} bytes"),
            ));
        }
        let timeout = match self.timeout_secs {
            None => DEFAULT_HOOK_TIMEOUT,
            Some(secs @ 1..=60) => Duration::from_secs(secs),
            Some(_) => {
                return Err(ConfigError::invalid(
                    "timeout_secs",
                    "must be between 1 and 60",
                ));
            }
        };
        Ok(HookTarget::new(url, secret).timeout(timeout))
    }
}

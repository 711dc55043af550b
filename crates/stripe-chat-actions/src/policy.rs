//! Who may do what: people are chat identities, roles grant action ids with limits, and
//! everything not granted is denied.
//!
//! ```
//! use stripe_chat_actions::{ActionId, ActionRequest, Identity, Permissions, Verdict};
//!
//! let permissions = Permissions::from_toml(r#"
//! [[roles]]
//! name = "billing"
//! actions = ["retry_payment", "mark_contacted"]
//! max_amount = { usd = 1000.0 }
//! [[people]]
//! name = "ana"
//! roles = ["billing"]
//! slack = ["T0123ABCD/U0123ABCD"]
//! "#)?;
//! let ana = Identity::slack("T0123ABCD", "U0123ABCD");
//! let small = ActionRequest::new(ActionId::RetryPayment).amount(20_000, "usd");
//! assert!(matches!(permissions.decide(&ana, &small), Verdict::Allowed { confirm: true, .. }));
//! let large = ActionRequest::new(ActionId::RetryPayment).amount(500_000, "usd");
//! assert!(matches!(permissions.decide(&ana, &large), Verdict::Denied(_)));
//! let stranger = Identity::slack("T0123ABCD", "U9999");
//! assert!(matches!(permissions.decide(&stranger, &small), Verdict::Denied(_)));
//! # Ok::<(), stripe_chat_actions::PolicyError>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde::Deserialize;
use stripe_chat_events::Money;
use stripe_chat_events::money::exponent;

use crate::ActionId;

/// A chat identity: the platform and the user's id there, as the platform vouches for it
/// (Slack `team_id/user_id`, a Discord user id, Teams `tenant_id/aad_object_id`, a full Matrix
/// id). Never a channel.
///
/// ```
/// use stripe_chat_actions::Identity;
/// assert_eq!(Identity::slack("T1", "U2").to_string(), "slack T1/U2");
/// assert_eq!(Identity::discord("80351110224678912").id(), "80351110224678912");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    platform: Platform,
    id: String,
}

/// The platforms people act from.
///
/// ```
/// assert_eq!(stripe_chat_actions::Platform::Matrix.as_str(), "matrix");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Platform {
    /// Slack: `team_id/user_id`.
    Slack,
    /// Discord: the user id (a snowflake).
    Discord,
    /// Microsoft Teams: `tenant_id/aad_object_id`.
    Teams,
    /// Matrix: the full `@user:server`.
    Matrix,
}

impl Platform {
    /// Its name in configuration.
    ///
    /// ```
    /// assert_eq!(stripe_chat_actions::Platform::Slack.as_str(), "slack");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Slack => "slack",
            Platform::Discord => "discord",
            Platform::Teams => "teams",
            Platform::Matrix => "matrix",
        }
    }
}

impl Identity {
    /// A Slack user of a workspace.
    ///
    /// ```
    /// assert_eq!(stripe_chat_actions::Identity::slack("T1", "U1").id(), "T1/U1");
    /// ```
    pub fn slack(team_id: &str, user_id: &str) -> Self {
        Identity {
            platform: Platform::Slack,
            id: format!("{team_id}/{user_id}"),
        }
    }

    /// A Discord user.
    ///
    /// ```
    /// assert_eq!(stripe_chat_actions::Identity::discord("42").platform(), stripe_chat_actions::Platform::Discord);
    /// ```
    pub fn discord(user_id: &str) -> Self {
        Identity {
            platform: Platform::Discord,
            id: user_id.to_owned(),
        }
    }

    /// A Teams user of a tenant.
    ///
    /// ```
    /// assert_eq!(stripe_chat_actions::Identity::teams("t", "o").id(), "t/o");
    /// ```
    pub fn teams(tenant_id: &str, aad_object_id: &str) -> Self {
        Identity {
            platform: Platform::Teams,
            id: format!("{tenant_id}/{aad_object_id}"),
        }
    }

    /// A Matrix user (the full `@user:server`).
    ///
    /// ```
    /// assert_eq!(stripe_chat_actions::Identity::matrix("@ana:example.org").id(), "@ana:example.org");
    /// ```
    pub fn matrix(user_id: &str) -> Self {
        Identity {
            platform: Platform::Matrix,
            id: user_id.to_owned(),
        }
    }

    /// The platform.
    ///
    /// ```
    /// assert_eq!(stripe_chat_actions::Identity::slack("T", "U").platform().as_str(), "slack");
    /// ```
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// The id on the platform.
    ///
    /// ```
    /// assert_eq!(stripe_chat_actions::Identity::discord("7").id(), "7");
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.platform.as_str(), self.id)
    }
}

/// Which Stripe mode a role may act in.
///
/// ```
/// let m: stripe_chat_actions::Mode = serde_json::from_str("\"test\"").unwrap_or_default();
/// # let _ = m;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Live and test (the default).
    #[default]
    Any,
    /// Live mode only.
    Live,
    /// Test mode only.
    Test,
}

/// `[[roles]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// Its name, as people refer to it.
    pub name: String,
    /// The action ids it grants; `"*"` grants every action.
    pub actions: Vec<String>,
    /// Ceilings per currency (major units: `{ usd = 1000.0 }`) for actions with an amount; a
    /// currency not listed is refused when any is listed.
    #[serde(default)]
    pub max_amount: BTreeMap<String, f64>,
    /// Above these amounts (per currency) a second person's approval is needed (four eyes).
    #[serde(default)]
    pub approval_above: BTreeMap<String, f64>,
    /// `"live"`, `"test"` or `"any"` (default).
    #[serde(default)]
    pub mode: Mode,
    /// The Stripe accounts (`acct_…`) it may act on; empty: all.
    #[serde(default)]
    pub accounts: Vec<String>,
}

/// `[[people]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonConfig {
    /// Their name, as shown in messages and the audit log.
    pub name: String,
    /// Their roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Slack identities, `team_id/user_id`.
    #[serde(default)]
    pub slack: Vec<String>,
    /// Discord user ids.
    #[serde(default)]
    pub discord: Vec<String>,
    /// Teams identities, `tenant_id/aad_object_id`.
    #[serde(default)]
    pub teams: Vec<String>,
    /// Matrix ids, `@user:server`.
    #[serde(default)]
    pub matrix: Vec<String>,
}

/// A configuration of people and roles that does not hold together, naming the key.
///
/// ```
/// let e = stripe_chat_actions::Permissions::from_toml("[[people]]\nname = \"ana\"\nroles = [\"nope\"]\n").unwrap_err();
/// assert_eq!(e.to_string(), "people[0] \"ana\".roles: no role is named \"nope\"");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct PolicyError {
    /// The key in error.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

fn error(key: impl Into<String>, problem: impl Into<String>) -> PolicyError {
    PolicyError {
        key: key.into(),
        problem: problem.into(),
    }
}

/// A checked role.
#[derive(Debug, Clone)]
struct Role {
    name: String,
    all: bool,
    actions: BTreeSet<ActionId>,
    /// Minor units per currency.
    max: BTreeMap<String, i64>,
    approval_above: BTreeMap<String, i64>,
    mode: Mode,
    accounts: BTreeSet<String>,
}

/// Major units to minor units by the currency's exponent, or `None` when not a finite,
/// non-negative amount that fits.
fn to_minor(currency: &str, major: f64) -> Option<i64> {
    if !major.is_finite() || major < 0.0 {
        return None;
    }
    let scaled = (major * 10f64.powi(i32::try_from(exponent(currency)).unwrap_or(2))).round();
    (scaled <= i64::MAX as f64).then_some(scaled as i64)
}

fn amounts(key: &str, map: &BTreeMap<String, f64>) -> Result<BTreeMap<String, i64>, PolicyError> {
    let mut out = BTreeMap::new();
    for (currency, major) in map {
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(error(
                format!("{key}.{currency}"),
                "a currency is a three-letter lowercase ISO code (usd, eur)",
            ));
        }
        let minor = to_minor(currency, *major).ok_or_else(|| {
            error(
                format!("{key}.{currency}"),
                "must be an amount of 0 or more",
            )
        })?;
        out.insert(currency.clone(), minor);
    }
    Ok(out)
}

impl Role {
    fn check(index: usize, config: &RoleConfig) -> Result<Role, PolicyError> {
        let at = |key: &str| format!("roles[{index}] {:?}.{key}", config.name);
        if config.name.trim().is_empty() {
            return Err(error(format!("roles[{index}].name"), "must not be empty"));
        }
        let mut all = false;
        let mut actions = BTreeSet::new();
        for name in &config.actions {
            if name == "*" {
                all = true;
                continue;
            }
            let action = name
                .parse::<ActionId>()
                .map_err(|e| error(at("actions"), e.to_string()))?;
            actions.insert(action);
        }
        if !all && actions.is_empty() {
            return Err(error(at("actions"), "grants nothing"));
        }
        for account in &config.accounts {
            if !account.starts_with("acct_") {
                return Err(error(
                    at("accounts"),
                    format!("{account:?} is not an acct_ id"),
                ));
            }
        }
        Ok(Role {
            name: config.name.clone(),
            all,
            actions,
            max: amounts(&at("max_amount"), &config.max_amount)?,
            approval_above: amounts(&at("approval_above"), &config.approval_above)?,
            mode: config.mode,
            accounts: config.accounts.iter().cloned().collect(),
        })
    }

    fn grants(&self, action: ActionId) -> bool {
        self.all || self.actions.contains(&action)
    }
}

/// What a person asks to do: the action, and what is at stake.
///
/// ```
/// use stripe_chat_actions::{ActionId, ActionRequest};
/// let r = ActionRequest::new(ActionId::RetryPayment).amount(2000, "usd").livemode(true).account("acct_1");
/// assert_eq!(r.action, ActionId::RetryPayment);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRequest {
    /// The action.
    pub action: ActionId,
    /// The amount at stake, if any.
    pub amount: Option<Money>,
    /// Whether the object is in live mode.
    pub livemode: bool,
    /// The connected account the object belongs to, if any.
    pub account: Option<String>,
}

impl ActionRequest {
    /// `action`, in test mode, on the platform account, with no amount.
    ///
    /// ```
    /// let r = stripe_chat_actions::ActionRequest::new(stripe_chat_actions::ActionId::Assign);
    /// assert!(r.amount.is_none() && !r.livemode);
    /// ```
    pub fn new(action: ActionId) -> Self {
        ActionRequest {
            action,
            amount: None,
            livemode: false,
            account: None,
        }
    }

    /// For `minor` units of `currency`.
    ///
    /// ```
    /// # use stripe_chat_actions::{ActionId, ActionRequest};
    /// assert_eq!(ActionRequest::new(ActionId::RetryPayment).amount(5, "usd").amount.map(|m| m.amount), Some(5));
    /// ```
    #[must_use]
    pub fn amount(mut self, minor: i64, currency: &str) -> Self {
        self.amount = Some(Money::new(minor, currency.to_ascii_lowercase()));
        self
    }

    /// In live mode (`true`) or test mode.
    ///
    /// ```
    /// # use stripe_chat_actions::{ActionId, ActionRequest};
    /// assert!(ActionRequest::new(ActionId::Assign).livemode(true).livemode);
    /// ```
    #[must_use]
    pub fn livemode(mut self, livemode: bool) -> Self {
        self.livemode = livemode;
        self
    }

    /// About an object of the connected account `account`.
    ///
    /// ```
    /// # use stripe_chat_actions::{ActionId, ActionRequest};
    /// assert_eq!(ActionRequest::new(ActionId::Assign).account("acct_1").account.as_deref(), Some("acct_1"));
    /// ```
    #[must_use]
    pub fn account(mut self, account: &str) -> Self {
        self.account = Some(account.to_owned());
        self
    }
}

/// Why a request is refused, as told privately to the person who asked: it names what is
/// missing, never other people's roles.
///
/// ```
/// use stripe_chat_actions::{ActionId, Denial};
/// let d = Denial::NotGranted { action: ActionId::RetryPayment };
/// assert_eq!(d.to_string(), "None of your roles allows “Retry payment”.");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denial {
    /// The identity is not a person of the configuration.
    UnknownPerson,
    /// No role of theirs grants the action.
    NotGranted {
        /// The action.
        action: ActionId,
    },
    /// Their roles grant it, but not in this mode.
    WrongMode {
        /// The action.
        action: ActionId,
        /// The object's mode.
        livemode: bool,
    },
    /// Their roles grant it, but not on this Stripe account.
    WrongAccount {
        /// The action.
        action: ActionId,
    },
    /// Their roles grant it, but not for this amount.
    OverLimit {
        /// The action.
        action: ActionId,
        /// The highest ceiling their roles give in this currency (`None`: none for it).
        limit: Option<Money>,
    },
    /// Nobody approves their own request.
    SelfApproval,
    /// The confirmation or approval came too late; ask again.
    Expired,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::UnknownPerson => f.write_str(
                "You are not set up to act on Stripe from this chat. Ask an administrator to add your account to stripe-chat's people.",
            ),
            Denial::NotGranted { action } => {
                write!(f, "None of your roles allows “{}”.", action.label())
            }
            Denial::WrongMode { action, livemode } => write!(
                f,
                "Your roles allow “{}” only in {} mode.",
                action.label(),
                if *livemode { "test" } else { "live" }
            ),
            Denial::WrongAccount { action } => write!(
                f,
                "Your roles do not allow “{}” on this Stripe account.",
                action.label()
            ),
            Denial::OverLimit { action, limit } => match limit {
                Some(limit) => write!(
                    f,
                    "Your roles allow “{}” up to {limit}; this is more.",
                    action.label()
                ),
                None => write!(
                    f,
                    "Your roles allow “{}” only in other currencies.",
                    action.label()
                ),
            },
            Denial::SelfApproval => f.write_str("You cannot approve your own request."),
            Denial::Expired => f.write_str("This request has expired; start it again."),
        }
    }
}

/// The answer to a request.
///
/// ```
/// use stripe_chat_actions::Verdict;
/// let v = Verdict::Allowed { person: "ana".into(), confirm: false, approval: false };
/// assert!(v.is_allowed());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The person may go ahead.
    Allowed {
        /// Who they are.
        person: String,
        /// They must confirm it on the server first (it moves money).
        confirm: bool,
        /// A second person must approve it (four eyes).
        approval: bool,
    },
    /// Refused, and why.
    Denied(Denial),
}

impl Verdict {
    /// Whether it is [`Verdict::Allowed`].
    ///
    /// ```
    /// use stripe_chat_actions::{Denial, Verdict};
    /// assert!(!Verdict::Denied(Denial::UnknownPerson).is_allowed());
    /// ```
    pub fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allowed { .. })
    }
}

/// People and roles, checked: who may do what. Deny by default.
///
/// ```
/// let none = stripe_chat_actions::Permissions::default();
/// assert!(none.person(&stripe_chat_actions::Identity::discord("1")).is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Permissions {
    roles: Vec<Role>,
    people: Vec<(String, Vec<usize>)>,
    by_identity: HashMap<Identity, usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default)]
    roles: Vec<RoleConfig>,
    #[serde(default)]
    people: Vec<PersonConfig>,
}

impl Permissions {
    /// From a TOML document with `[[roles]]` and `[[people]]` (other tables refused).
    ///
    /// ```
    /// let p = stripe_chat_actions::Permissions::from_toml("[[roles]]\nname = \"all\"\nactions = [\"*\"]\n")?;
    /// # let _ = p;
    /// # Ok::<(), stripe_chat_actions::PolicyError>(())
    /// ```
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        let document: Document =
            toml::from_str(text).map_err(|e| error("config", e.message().replace('\n', " ")))?;
        Permissions::from_config(&document.roles, &document.people)
    }

    /// From the configuration's roles and people, checked key by key: every role a person names
    /// exists, action ids are known, currencies and amounts are sane, identities are well formed
    /// and belong to one person only.
    ///
    /// ```
    /// use stripe_chat_actions::{Permissions, PersonConfig};
    /// let twice = PersonConfig { name: "ana".into(), roles: vec![], slack: vec!["T1/U1".into(), "T1/U1".into()], discord: vec![], teams: vec![], matrix: vec![] };
    /// assert!(Permissions::from_config(&[], &[twice]).is_err());
    /// ```
    pub fn from_config(roles: &[RoleConfig], people: &[PersonConfig]) -> Result<Self, PolicyError> {
        let mut checked = Vec::with_capacity(roles.len());
        let mut role_index = HashMap::new();
        for (i, config) in roles.iter().enumerate() {
            let role = Role::check(i, config)?;
            if role_index.insert(role.name.clone(), i).is_some() {
                return Err(error(
                    format!("roles[{i}].name"),
                    format!("{:?} is used by another role", role.name),
                ));
            }
            checked.push(role);
        }
        let mut listed = Vec::with_capacity(people.len());
        let mut by_identity = HashMap::new();
        let mut names = BTreeSet::new();
        for (i, person) in people.iter().enumerate() {
            let at = |key: &str| format!("people[{i}] {:?}.{key}", person.name);
            if person.name.trim().is_empty() {
                return Err(error(format!("people[{i}].name"), "must not be empty"));
            }
            if !names.insert(person.name.clone()) {
                return Err(error(
                    format!("people[{i}].name"),
                    format!("{:?} is used by another person", person.name),
                ));
            }
            let mut their_roles = Vec::new();
            for role in &person.roles {
                let index = role_index
                    .get(role)
                    .ok_or_else(|| error(at("roles"), format!("no role is named {role:?}")))?;
                their_roles.push(*index);
            }
            let mut identities = Vec::new();
            for id in &person.slack {
                let (team, user) = id
                    .split_once('/')
                    .filter(|(t, u)| t.starts_with('T') && !u.is_empty() && !u.contains('/'))
                    .ok_or_else(|| {
                        error(
                            at("slack"),
                            format!("{id:?} is not team_id/user_id (T…/U…)"),
                        )
                    })?;
                identities.push(Identity::slack(team, user));
            }
            for id in &person.discord {
                if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(error(
                        at("discord"),
                        format!("{id:?} is not a Discord user id"),
                    ));
                }
                identities.push(Identity::discord(id));
            }
            for id in &person.teams {
                let (tenant, object) = id.split_once('/').ok_or_else(|| {
                    error(
                        at("teams"),
                        format!("{id:?} is not tenant_id/aad_object_id"),
                    )
                })?;
                identities.push(Identity::teams(tenant, object));
            }
            for id in &person.matrix {
                let valid = id.starts_with('@')
                    && id
                        .split_once(':')
                        .is_some_and(|(user, server)| user.len() > 1 && !server.is_empty());
                if !valid {
                    return Err(error(at("matrix"), format!("{id:?} is not @user:server")));
                }
                identities.push(Identity::matrix(id));
            }
            for identity in identities {
                if by_identity.insert(identity.clone(), i).is_some() {
                    return Err(error(
                        at(identity.platform().as_str()),
                        format!(
                            "{} belongs to another person (or is listed twice)",
                            identity.id()
                        ),
                    ));
                }
            }
            listed.push((person.name.clone(), their_roles));
        }
        Ok(Permissions {
            roles: checked,
            people: listed,
            by_identity,
        })
    }

    /// The person an identity belongs to.
    ///
    /// ```
    /// let p = stripe_chat_actions::Permissions::from_toml("[[people]]\nname = \"ana\"\ndiscord = [\"42\"]\n")?;
    /// assert_eq!(p.person(&stripe_chat_actions::Identity::discord("42")), Some("ana"));
    /// # Ok::<(), stripe_chat_actions::PolicyError>(())
    /// ```
    pub fn person(&self, identity: &Identity) -> Option<&str> {
        self.by_identity
            .get(identity)
            .and_then(|i| self.people.get(*i))
            .map(|(name, _)| name.as_str())
    }

    /// Whether `identity` may make `request`, and what it needs first. Of the person's roles,
    /// the most permissive that grants it decides (no approval beats approval).
    ///
    /// ```
    /// use stripe_chat_actions::{ActionId, ActionRequest, Identity, Permissions, Verdict};
    /// let p = Permissions::from_toml("[[roles]]\nname = \"support\"\nactions = [\"assign\"]\n[[people]]\nname = \"bo\"\nroles = [\"support\"]\ndiscord = [\"7\"]\n")?;
    /// let bo = Identity::discord("7");
    /// assert!(p.decide(&bo, &ActionRequest::new(ActionId::Assign)).is_allowed());
    /// assert!(!p.decide(&bo, &ActionRequest::new(ActionId::RetryPayment)).is_allowed());
    /// # Ok::<(), stripe_chat_actions::PolicyError>(())
    /// ```
    pub fn decide(&self, identity: &Identity, request: &ActionRequest) -> Verdict {
        let Some(&person) = self.by_identity.get(identity) else {
            return Verdict::Denied(Denial::UnknownPerson);
        };
        let Some((name, roles)) = self.people.get(person) else {
            return Verdict::Denied(Denial::UnknownPerson);
        };
        match self.grant(roles, request) {
            Ok(approval) => Verdict::Allowed {
                person: name.clone(),
                confirm: request.action.moves_money(),
                approval,
            },
            Err(denial) => Verdict::Denied(denial),
        }
    }

    /// Whether `approver` may approve `request`, asked by `requester` (a person's name): another
    /// person whose roles grant the request without needing an approval themselves.
    ///
    /// ```
    /// use stripe_chat_actions::{ActionId, ActionRequest, Denial, Identity, Permissions};
    /// let p = Permissions::from_toml(r#"
    /// [[roles]]
    /// name = "finance"
    /// actions = ["*"]
    /// [[people]]
    /// name = "cy"
    /// roles = ["finance"]
    /// discord = ["3"]
    /// "#)?;
    /// let request = ActionRequest::new(ActionId::RetryPayment).amount(90_000, "usd");
    /// assert_eq!(p.approve(&Identity::discord("3"), &request, "ana"), Ok("cy".to_string()));
    /// assert_eq!(p.approve(&Identity::discord("3"), &request, "cy"), Err(Denial::SelfApproval));
    /// # Ok::<(), stripe_chat_actions::PolicyError>(())
    /// ```
    pub fn approve(
        &self,
        approver: &Identity,
        request: &ActionRequest,
        requester: &str,
    ) -> Result<String, Denial> {
        let Some(&person) = self.by_identity.get(approver) else {
            return Err(Denial::UnknownPerson);
        };
        let Some((name, roles)) = self.people.get(person) else {
            return Err(Denial::UnknownPerson);
        };
        if name == requester {
            return Err(Denial::SelfApproval);
        }
        match self.grant(roles, request) {
            Ok(false) => Ok(name.clone()),
            // Someone who would need an approval cannot give one.
            Ok(true) => Err(Denial::OverLimit {
                action: request.action,
                limit: None,
            }),
            Err(denial) => Err(denial),
        }
    }

    /// `Ok(needs approval)` when some role grants the request, else the most telling denial.
    fn grant(&self, roles: &[usize], request: &ActionRequest) -> Result<bool, Denial> {
        let action = request.action;
        let mut denial = Denial::NotGranted { action };
        let mut best_limit: Option<i64> = None;
        let mut outcome: Option<bool> = None;
        for role in roles.iter().filter_map(|i| self.roles.get(*i)) {
            if !role.grants(action) {
                continue;
            }
            let mode_ok = match role.mode {
                Mode::Any => true,
                Mode::Live => request.livemode,
                Mode::Test => !request.livemode,
            };
            if !mode_ok {
                if matches!(denial, Denial::NotGranted { .. }) {
                    denial = Denial::WrongMode {
                        action,
                        livemode: request.livemode,
                    };
                }
                continue;
            }
            if !role.accounts.is_empty()
                && !request
                    .account
                    .as_ref()
                    .is_some_and(|a| role.accounts.contains(a))
            {
                if matches!(denial, Denial::NotGranted { .. } | Denial::WrongMode { .. }) {
                    denial = Denial::WrongAccount { action };
                }
                continue;
            }
            let mut approval = false;
            if let Some(amount) = &request.amount {
                if !role.max.is_empty() {
                    match role.max.get(&amount.currency) {
                        Some(max) if amount.amount <= *max => {}
                        limit => {
                            if let Some(max) = limit {
                                best_limit = Some(best_limit.map_or(*max, |b| b.max(*max)));
                            }
                            denial = Denial::OverLimit {
                                action,
                                limit: best_limit.map(|m| Money::new(m, amount.currency.clone())),
                            };
                            continue;
                        }
                    }
                }
                if let Some(above) = role.approval_above.get(&amount.currency) {
                    approval = amount.amount > *above;
                }
            }
            outcome = Some(outcome.map_or(approval, |o| o && approval));
        }
        outcome.ok_or(denial)
    }
}

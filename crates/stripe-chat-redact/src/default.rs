//! The configurable policy of stripe-chat: [`DefaultPolicy`].

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use stripe_chat_message::{ChatMessage, Field, FieldKind, TextSlot};

use crate::email::mask_emails;
use crate::kinds::{redact_address, reduce_card};
use crate::pan::{BULLETS, mask_card_numbers};
use crate::phone::{mask_phone_numbers, mask_phone_value};
use crate::{FieldAction, FieldRule, RedactionPolicy, Visibility};

/// The configuration of a [`DefaultPolicy`], as read from a config file.
///
/// Unknown keys are rejected. Both keys are optional: the level defaults to
/// [`Visibility::Public`], the rules to none.
///
/// ```
/// use stripe_chat_redact::{FieldAction, RedactionConfig, Visibility};
///
/// let config: RedactionConfig = serde_json::from_str(r#"{
///     "level": "internal",
///     "rules": [{ "field": "Metadata *", "action": "drop" }]
/// }"#)?;
/// assert_eq!(config.level, Visibility::Internal);
/// assert_eq!(config.rules[0].action, FieldAction::Drop);
/// assert!(serde_json::from_str::<RedactionConfig>(r#"{ "levle": "public" }"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactionConfig {
    /// Who reads the channel.
    #[serde(default)]
    pub level: Visibility,
    /// Per-field rules by label, the first matching rule winning; they override the level's
    /// handling of a field, but never card-number masking.
    #[serde(default)]
    pub rules: Vec<FieldRule>,
}

/// The redaction policy of stripe-chat: card numbers masked everywhere, emails, phones and
/// addresses by [`Visibility`], custom [`FieldRule`]s by field label.
///
/// For each field, the first matching rule decides: [`FieldAction::Drop`] removes the field,
/// [`FieldAction::Mask`] replaces the value by `••••`, [`FieldAction::Replace`] by the given text,
/// [`FieldAction::Keep`] keeps it. Fields without a rule are handled by kind:
/// - [`FieldKind::Card`]: brand and last four (`Visa •••• 4242`) at every level;
/// - [`FieldKind::Email`], [`FieldKind::Phone`], [`FieldKind::Address`]: by level (see
///   [`Visibility`]);
/// - [`FieldKind::Name`] and [`FieldKind::Text`]: like any other text of the message (title,
///   summary, labels, links, actions, tags, footer): emails and phone-shaped numbers found in it
///   are masked by level (see [`mask_emails`](crate::mask_emails),
///   [`mask_phone_numbers`](crate::mask_phone_numbers)); names are kept.
///
/// Card numbers are masked in every text first, whatever the rules and the level (see
/// [`mask_card_numbers`](crate::mask_card_numbers)). Applying the policy to its own output changes
/// nothing.
///
/// ```
/// use stripe_chat_message::{ChatMessage, FieldKind};
/// use stripe_chat_redact::{DefaultPolicy, FieldAction, FieldRule, RedactionPolicy, Visibility};
///
/// let policy = DefaultPolicy::new(Visibility::Internal)
///     .with_rule(FieldRule::new("Metadata *", FieldAction::Drop));
/// let message = ChatMessage::new("Payment failed for Jenny Rosen")
///     .field_of_kind("Email", "jenny@example.com", FieldKind::Email)
///     .field_of_kind("Phone", "+1 (555) 555-0142", FieldKind::Phone)
///     .field_of_kind("Card", "visa 4242424242424242", FieldKind::Card)
///     .field("Metadata order", "A-1001");
/// let redacted = policy.redact(message);
/// let values: Vec<&str> = redacted.fields.iter().map(|f| f.value.as_str()).collect();
/// assert_eq!(values, ["jenny@example.com", "•••• •• 42", "visa •••• 4242"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(from = "RedactionConfig")]
pub struct DefaultPolicy {
    config: RedactionConfig,
}

impl DefaultPolicy {
    /// The policy for a channel of `level`, without rules.
    ///
    /// ```
    /// use stripe_chat_redact::{DefaultPolicy, Visibility};
    /// assert_eq!(DefaultPolicy::new(Visibility::Restricted).level(), Visibility::Restricted);
    /// ```
    pub fn new(level: Visibility) -> Self {
        DefaultPolicy {
            config: RedactionConfig {
                level,
                rules: Vec::new(),
            },
        }
    }

    /// The same policy with `rule` added after the existing rules.
    ///
    /// ```
    /// use stripe_chat_redact::{DefaultPolicy, FieldAction, FieldRule};
    /// let policy = DefaultPolicy::default().with_rule(FieldRule::new("Note", FieldAction::Mask));
    /// assert_eq!(policy.rules().len(), 1);
    /// ```
    pub fn with_rule(mut self, rule: FieldRule) -> Self {
        self.config.rules.push(rule);
        self
    }

    /// The policy a configuration describes (borrowed from a larger config; an owned one converts
    /// with `DefaultPolicy::from`).
    ///
    /// ```
    /// use stripe_chat_redact::{DefaultPolicy, RedactionConfig, Visibility};
    /// let config = RedactionConfig { level: Visibility::Internal, ..RedactionConfig::default() };
    /// assert_eq!(DefaultPolicy::from_config(&config).level(), Visibility::Internal);
    /// assert_eq!(DefaultPolicy::from(config).level(), Visibility::Internal);
    /// ```
    pub fn from_config(config: &RedactionConfig) -> Self {
        DefaultPolicy {
            config: config.clone(),
        }
    }

    /// Who reads the channel.
    ///
    /// ```
    /// use stripe_chat_redact::{DefaultPolicy, Visibility};
    /// assert_eq!(DefaultPolicy::default().level(), Visibility::Public);
    /// ```
    pub fn level(&self) -> Visibility {
        self.config.level
    }

    /// The custom field rules, in the order they are tried.
    ///
    /// ```
    /// assert!(stripe_chat_redact::DefaultPolicy::default().rules().is_empty());
    /// ```
    pub fn rules(&self) -> &[FieldRule] {
        &self.config.rules
    }

    /// The configuration of this policy.
    ///
    /// ```
    /// use stripe_chat_redact::{DefaultPolicy, Visibility};
    /// assert_eq!(DefaultPolicy::new(Visibility::Internal).config().level, Visibility::Internal);
    /// ```
    pub fn config(&self) -> &RedactionConfig {
        &self.config
    }

    /// One piece of text as this policy rewrites it where it sits (`slot`), without field rules.
    /// Borrows `text` when nothing changes.
    ///
    /// ```
    /// use stripe_chat_message::{FieldKind, TextSlot};
    /// use stripe_chat_redact::{DefaultPolicy, Visibility};
    ///
    /// let policy = DefaultPolicy::new(Visibility::Public);
    /// let summary = "Jenny (jenny@example.com, +49 151 23456787) paid with 4242 4242 4242 4242.";
    /// assert_eq!(
    ///     policy.redact_text(TextSlot::Summary, summary),
    ///     "Jenny (j•••@example.com, •••• •• 87) paid with •••• 4242."
    /// );
    /// let address = "1 Main Street, Berlin, 10115, DE";
    /// assert_eq!(policy.redact_text(TextSlot::FieldValue(FieldKind::Address), address), "[address hidden]");
    /// ```
    pub fn redact_text<'a>(&self, slot: TextSlot, text: &'a str) -> Cow<'a, str> {
        let level = self.level();
        let text = mask_card_numbers(text);
        match slot {
            TextSlot::FieldValue(FieldKind::Card) => and_then(text, reduce_card),
            TextSlot::FieldValue(FieldKind::Address) => {
                and_then(text, |t| redact_address(level, t))
            }
            TextSlot::FieldValue(FieldKind::Phone) => match level {
                Visibility::Restricted => text,
                Visibility::Public | Visibility::Internal => and_then(text, mask_phone_value),
            },
            _ => {
                let text = match level {
                    Visibility::Public => and_then(text, mask_emails),
                    Visibility::Internal | Visibility::Restricted => text,
                };
                match level {
                    Visibility::Public | Visibility::Internal => and_then(text, mask_phone_numbers),
                    Visibility::Restricted => text,
                }
            }
        }
    }

    /// Applies the rules and the level to `field`; `false` when it must be dropped.
    fn redact_field(&self, field: &mut Field) -> bool {
        let rule = self
            .config
            .rules
            .iter()
            .find(|rule| rule.matches(&field.label));
        match rule.map(|rule| &rule.action) {
            Some(FieldAction::Drop) => return false,
            Some(FieldAction::Mask) => {
                if field.value != BULLETS {
                    BULLETS.clone_into(&mut field.value);
                }
            }
            Some(FieldAction::Replace(text)) => {
                field.value.clone_from(text);
                rewrite(&mut field.value, mask_card_numbers);
            }
            Some(FieldAction::Keep) => rewrite(&mut field.value, mask_card_numbers),
            None => {
                let slot = TextSlot::FieldValue(field.kind);
                rewrite(&mut field.value, |value| self.redact_text(slot, value));
            }
        }
        rewrite(&mut field.label, |label| {
            self.redact_text(TextSlot::FieldLabel, label)
        });
        true
    }
}

impl From<RedactionConfig> for DefaultPolicy {
    fn from(config: RedactionConfig) -> Self {
        DefaultPolicy { config }
    }
}

impl RedactionPolicy for DefaultPolicy {
    fn redact(&self, mut message: ChatMessage) -> ChatMessage {
        message.fields.retain_mut(|field| self.redact_field(field));
        message.visit_text_mut(|slot, text| match slot {
            // Done above, where the field's rule is known.
            TextSlot::FieldLabel | TextSlot::FieldValue(_) => {}
            slot => rewrite(text, |text| self.redact_text(slot, text)),
        });
        message
    }
}

/// Replaces `text` by what `f` makes of it, if that differs.
fn rewrite<F>(text: &mut String, f: F)
where
    F: for<'a> FnOnce(&'a str) -> Cow<'a, str>,
{
    let rewritten = match f(text) {
        Cow::Borrowed(_) => return,
        Cow::Owned(rewritten) => rewritten,
    };
    *text = rewritten;
}

/// `f` applied to `text`, borrowing as long as nothing changes.
fn and_then<'a, F>(text: Cow<'a, str>, f: F) -> Cow<'a, str>
where
    F: for<'b> FnOnce(&'b str) -> Cow<'b, str>,
{
    match text {
        Cow::Borrowed(text) => f(text),
        Cow::Owned(text) => {
            let rewritten = match f(&text) {
                Cow::Borrowed(_) => None,
                Cow::Owned(rewritten) => Some(rewritten),
            };
            Cow::Owned(rewritten.unwrap_or(text))
        }
    }
}

#[cfg(test)]
mod tests {
    use stripe_chat_message::{Action, ObjectKind, ObjectRef};

    use super::*;

    fn everything(text: &str) -> ChatMessage {
        ChatMessage::new(format!("Title {text}"))
            .summary(format!("Summary {text}"))
            .field(format!("Label {text}"), format!("Value {text}"))
            .field_of_kind("Customer", format!("Jenny {text} Rosen"), FieldKind::Name)
            .link(
                format!("Link {text}"),
                format!("https://example.com/?q={text}"),
            )
            .action(Action::link(
                "open",
                format!("Open {text}"),
                ObjectRef::new(ObjectKind::Invoice, "in_1MtHbELkdIwHu7ixl4OzzPMv"),
                format!("https://example.com/{text}"),
            ))
            .tag(format!("tag {text}"))
            .footer(format!("Footer {text}"))
    }

    fn all_text(message: &mut ChatMessage) -> Vec<String> {
        let mut texts = Vec::new();
        message.visit_text_mut(|_, text| texts.push(text.clone()));
        texts
    }

    #[test]
    fn card_number_is_masked_in_every_slot_at_every_level() {
        for level in [
            Visibility::Public,
            Visibility::Internal,
            Visibility::Restricted,
        ] {
            let mut redacted = DefaultPolicy::new(level).redact(everything("4242-4242-4242-4242"));
            let texts = all_text(&mut redacted);
            assert!(
                texts.iter().all(|t| !t.contains("4242-4242")),
                "{level:?}: {texts:?}"
            );
            let masked = texts.iter().filter(|t| t.contains("•••• 4242")).count();
            assert_eq!(masked, 11, "{level:?}: {texts:?}");
        }
    }

    #[test]
    fn email_is_masked_in_public_and_kept_in_internal_and_restricted() {
        let message = || {
            ChatMessage::new("Receipt to jenny@example.com").field_of_kind(
                "Email",
                "jenny.rosen@example.com",
                FieldKind::Email,
            )
        };
        let public = DefaultPolicy::new(Visibility::Public).redact(message());
        assert_eq!(public.title, "Receipt to j•••@example.com");
        assert_eq!(public.fields[0].value, "j•••@example.com");
        for level in [Visibility::Internal, Visibility::Restricted] {
            assert_eq!(DefaultPolicy::new(level).redact(message()), message());
        }
    }

    #[test]
    fn phone_is_masked_in_public_and_internal_and_kept_in_restricted() {
        let message = || {
            ChatMessage::new("Call +1 (555) 555-0142").field_of_kind(
                "Phone",
                "0151 2345 6787",
                FieldKind::Phone,
            )
        };
        for level in [Visibility::Public, Visibility::Internal] {
            let redacted = DefaultPolicy::new(level).redact(message());
            assert_eq!(redacted.title, "Call •••• •• 42");
            assert_eq!(redacted.fields[0].value, "•••• •• 87");
        }
        assert_eq!(
            DefaultPolicy::new(Visibility::Restricted).redact(message()),
            message()
        );
    }

    #[test]
    fn address_field_is_hidden_reduced_or_kept_by_level() {
        let address = "1 Main Street, Berlin, 10115, DE";
        let redact = |level| {
            let message =
                ChatMessage::new("t").field_of_kind("Address", address, FieldKind::Address);
            DefaultPolicy::new(level).redact(message).fields[0]
                .value
                .clone()
        };
        assert_eq!(redact(Visibility::Public), "[address hidden]");
        assert_eq!(redact(Visibility::Internal), "Berlin, DE");
        assert_eq!(redact(Visibility::Restricted), address);
    }

    #[test]
    fn addresses_in_free_text_are_not_scanned() {
        let title = "Shipped to 1 Main Street, Berlin";
        assert_eq!(
            DefaultPolicy::default()
                .redact(ChatMessage::new(title))
                .title,
            title
        );
    }

    #[test]
    fn card_field_is_reduced_to_brand_and_last_four_at_every_level() {
        for level in [
            Visibility::Public,
            Visibility::Internal,
            Visibility::Restricted,
        ] {
            let message = ChatMessage::new("t")
                .field_of_kind(
                    "Card",
                    "Visa 4242 4242 4242 4242 exp 12/34",
                    FieldKind::Card,
                )
                .field_of_kind("Card", "Mastercard ending 4444", FieldKind::Card)
                .field_of_kind("Card", "card on file", FieldKind::Card);
            let values: Vec<_> = DefaultPolicy::new(level)
                .redact(message)
                .fields
                .into_iter()
                .map(|f| f.value)
                .collect();
            assert_eq!(
                values,
                ["Visa •••• 4242", "Mastercard •••• 4444", "card on file"]
            );
        }
    }

    #[test]
    fn names_are_kept_at_every_level_but_card_numbers_in_them_are_masked() {
        for level in [
            Visibility::Public,
            Visibility::Internal,
            Visibility::Restricted,
        ] {
            let message = ChatMessage::new("t")
                .field_of_kind("Customer", "Jenny Rosen", FieldKind::Name)
                .field_of_kind(
                    "Customer",
                    "Jenny 4242 4242 4242 4242 Rosen",
                    FieldKind::Name,
                );
            let redacted = DefaultPolicy::new(level).redact(message);
            assert_eq!(redacted.fields[0].value, "Jenny Rosen");
            assert_eq!(redacted.fields[1].value, "Jenny •••• 4242 Rosen");
        }
    }

    #[test]
    fn field_rules_drop_mask_replace_and_keep_by_label_glob() {
        let policy = DefaultPolicy::new(Visibility::Public)
            .with_rule(FieldRule::new("metadata internal_*", FieldAction::Drop))
            .with_rule(FieldRule::new("Metadata tax_id", FieldAction::Mask))
            .with_rule(FieldRule::new(
                "Metadata note",
                FieldAction::Replace("see 4242424242424242".into()),
            ))
            .with_rule(FieldRule::new("Billing email", FieldAction::Keep))
            .with_rule(FieldRule::new("Metadata *", FieldAction::Keep));
        let message = ChatMessage::new("t")
            .field("Metadata internal_ref", "x")
            .field("Metadata tax_id", "DE123456789")
            .field("Metadata note", "anything")
            .field_of_kind("Billing email", "jenny@example.com", FieldKind::Email)
            .field("Metadata pan", "5555 5555 5555 4444")
            .field_of_kind("Email", "jenny@example.com", FieldKind::Email);
        let fields: Vec<_> = policy
            .redact(message)
            .fields
            .into_iter()
            .map(|f| (f.label, f.value))
            .collect();
        let expected = [
            ("Metadata tax_id", "••••"),
            ("Metadata note", "see •••• 4242"),
            ("Billing email", "jenny@example.com"),
            ("Metadata pan", "•••• 4444"),
            ("Email", "j•••@example.com"),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(l, v)| (l.to_string(), v.to_string()))
            .collect();
        assert_eq!(fields, expected);
    }

    #[test]
    fn first_matching_rule_wins() {
        let policy = DefaultPolicy::default()
            .with_rule(FieldRule::new("Note", FieldAction::Keep))
            .with_rule(FieldRule::new("*", FieldAction::Drop));
        let redacted = policy.redact(ChatMessage::new("t").field("note", "a").field("Other", "b"));
        assert_eq!(redacted.fields.len(), 1);
        assert_eq!(redacted.fields[0].value, "a");
    }

    #[test]
    fn ids_of_thread_key_and_action_targets_are_untouched() {
        let message = everything("pi_4242424242424242").thread(ObjectRef::new(
            ObjectKind::PaymentIntent,
            "pi_4242424242424242",
        ));
        let redacted = DefaultPolicy::default().redact(message.clone());
        assert_eq!(redacted, message);
    }

    #[test]
    fn applying_the_default_policy_twice_gives_the_same_message() {
        let hostile = "Jenny 4242424242424242 4242 4242 4242 4242 42 jenny@example.com +49 151 23456787 (555) 555-0100";
        for level in [
            Visibility::Public,
            Visibility::Internal,
            Visibility::Restricted,
        ] {
            let policy = DefaultPolicy::new(level)
                .with_rule(FieldRule::new("Metadata secret", FieldAction::Mask))
                .with_rule(FieldRule::new(
                    "Metadata x",
                    FieldAction::Replace("4242424242424242 ok".into()),
                ));
            let message = everything(hostile)
                .field_of_kind("Email", "jenny@example.com", FieldKind::Email)
                .field_of_kind("Phone", "+1 555 555 0100", FieldKind::Phone)
                .field_of_kind(
                    "Address",
                    "1 Main Street, Berlin, 10115, DE",
                    FieldKind::Address,
                )
                .field_of_kind("Card", "amex 378282246310005", FieldKind::Card)
                .field("Metadata secret", "s3cr3t")
                .field("Metadata x", "y");
            let once = policy.redact(message);
            let twice = policy.redact(once.clone());
            assert_eq!(twice, once, "{level:?}");
        }
    }

    #[test]
    fn config_reads_from_toml_and_rejects_unknown_keys() {
        let config: RedactionConfig = toml::from_str(
            r#"
            level = "restricted"

            [[rules]]
            field = "Metadata tax_id"
            action = "mask"

            [[rules]]
            field = "Metadata *"
            action = { replace = "hidden" }
            "#,
        )
        .unwrap();
        assert_eq!(config.level, Visibility::Restricted);
        assert_eq!(
            config.rules[1].action,
            FieldAction::Replace("hidden".into())
        );
        let policy = DefaultPolicy::from(config.clone());
        assert_eq!(policy.config(), &config);

        assert_eq!(
            toml::from_str::<RedactionConfig>("").unwrap(),
            RedactionConfig::default()
        );
        assert!(toml::from_str::<RedactionConfig>("level = \"secret\"").is_err());
        assert!(toml::from_str::<RedactionConfig>("leve = \"public\"").is_err());
    }

    #[test]
    fn policy_reads_from_a_nested_redaction_table() {
        #[derive(Deserialize)]
        struct App {
            redaction: DefaultPolicy,
        }
        let app: App = toml::from_str(
            "[redaction]\nlevel = \"internal\"\n[[redaction.rules]]\nfield = \"Metadata tax_id\"\naction = \"mask\"\n",
        )
        .unwrap();
        assert_eq!(app.redaction.level(), Visibility::Internal);
        assert_eq!(
            app.redaction.rules()[0],
            FieldRule::new("Metadata tax_id", FieldAction::Mask)
        );
    }

    #[test]
    fn message_without_anything_to_hide_is_unchanged() {
        let message = everything("ch_3MmlLrLkdIwHu7ix0snN0B15 20.00 USD 2026-11-26 1764151200")
            .field_of_kind("Customer", "Jenny Rosen", FieldKind::Name);
        assert_eq!(DefaultPolicy::default().redact(message.clone()), message);
    }
}

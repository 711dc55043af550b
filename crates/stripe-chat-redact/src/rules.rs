//! Custom per-field rules, matched by label.

use serde::{Deserialize, Serialize};

/// What a [`FieldRule`] does to the fields it matches.
///
/// In a config file: `"keep"`, `"mask"`, `"drop"`, or `{ replace = "text" }`.
///
/// ```
/// use stripe_chat_redact::FieldAction;
///
/// let action: FieldAction = serde_json::from_str(r#""drop""#)?;
/// assert_eq!(action, FieldAction::Drop);
/// let action: FieldAction = serde_json::from_str(r#"{"replace": "on file"}"#)?;
/// assert_eq!(action, FieldAction::Replace("on file".into()));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FieldAction {
    /// Keep the value as it is, whatever its kind and the level; card numbers are still masked.
    Keep,
    /// Replace the whole value by `••••`.
    Mask,
    /// Remove the field from the message.
    Drop,
    /// Replace the value by this text (in which card numbers are still masked).
    Replace(String),
}

/// A rule for the fields whose label matches a pattern.
///
/// The pattern is compared with the label case-insensitively, ignoring surrounding spaces; `*`
/// matches any run of characters (`Metadata *` matches `metadata tax_id`). In a TOML config:
///
/// ```toml
/// [[redaction.rules]]
/// field = "Metadata tax_id"
/// action = "mask"
/// ```
///
/// ```
/// use stripe_chat_redact::{FieldAction, FieldRule};
///
/// let rule = FieldRule::new("Metadata *", FieldAction::Drop);
/// assert!(rule.matches("metadata internal_note"));
/// assert!(!rule.matches("Amount"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    /// The label pattern: exact text, or with `*` wildcards. Called `field` in config files.
    #[serde(rename = "field", alias = "label")]
    pub label: String,
    /// What to do with matching fields.
    pub action: FieldAction,
}

impl FieldRule {
    /// A rule applying `action` to fields whose label matches `label`.
    ///
    /// ```
    /// use stripe_chat_redact::{FieldAction, FieldRule};
    /// let rule = FieldRule::new("Customer email", FieldAction::Keep);
    /// assert_eq!(rule.action, FieldAction::Keep);
    /// ```
    pub fn new(label: impl Into<String>, action: FieldAction) -> Self {
        FieldRule {
            label: label.into(),
            action,
        }
    }

    /// Whether a field labelled `label` matches this rule's pattern.
    ///
    /// ```
    /// use stripe_chat_redact::{FieldAction, FieldRule};
    /// let rule = FieldRule::new("*tax*", FieldAction::Mask);
    /// assert!(rule.matches("Metadata Tax_ID"));
    /// assert!(rule.matches("tax"));
    /// assert!(!rule.matches("Total"));
    /// ```
    pub fn matches(&self, label: &str) -> bool {
        glob_matches(self.label.trim(), label.trim())
    }
}

/// Case-insensitive match of `text` against `pattern`, where `*` matches any run of characters.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let (mut p, mut t) = (0, 0);
    // After a `*`: where the pattern resumes, and where in the text the `*` match ends so far.
    let mut star: Option<(usize, usize)> = None;
    loop {
        let pc = pattern[p..].chars().next();
        let tc = text[t..].chars().next();
        match (pc, tc) {
            (Some('*'), _) => {
                p += 1;
                star = Some((p, t));
            }
            (Some(pc), Some(tc)) if same_letter(pc, tc) => {
                p += pc.len_utf8();
                t += tc.len_utf8();
            }
            (None, None) => return true,
            _ => {
                // Let the last `*` take one more character, if there is one.
                let Some((resume, taken)) = star else {
                    return false;
                };
                let Some(c) = text[taken..].chars().next() else {
                    return false;
                };
                let taken = taken + c.len_utf8();
                star = Some((resume, taken));
                p = resume;
                t = taken;
            }
        }
    }
}

fn same_letter(a: char, b: char) -> bool {
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_pattern_matches_label_ignoring_case_and_surrounding_spaces() {
        assert!(glob_matches("Metadata tax_id", "METADATA TAX_ID"));
        assert!(FieldRule::new(" Email ", FieldAction::Keep).matches("email"));
        assert!(!glob_matches("Metadata tax_id", "Metadata tax_id2"));
        assert!(!glob_matches("Metadata tax_id", "Metadata tax"));
    }

    #[test]
    fn star_matches_any_run_including_an_empty_one() {
        assert!(glob_matches("Metadata *", "Metadata order_id"));
        assert!(glob_matches("Metadata *", "metadata "));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("a*b*c", "aXXbYYbc"));
        assert!(!glob_matches("a*b*c", "aXXbYYbcd"));
        assert!(glob_matches("*ÄNDERUNG", "Preisänderung"));
    }

    #[test]
    fn rule_reads_from_toml_with_field_and_action_keys() {
        let rule: FieldRule =
            toml::from_str("field = \"Metadata tax_id\"\naction = \"mask\"").unwrap();
        assert_eq!(rule, FieldRule::new("Metadata tax_id", FieldAction::Mask));
        let rule: FieldRule =
            toml::from_str("field = \"Note\"\naction = { replace = \"see Dashboard\" }").unwrap();
        assert_eq!(rule.action, FieldAction::Replace("see Dashboard".into()));
    }

    #[test]
    fn rule_with_an_unknown_key_is_rejected() {
        assert!(toml::from_str::<FieldRule>("field = \"x\"\naction = \"mask\"\nwith = 1").is_err());
        assert!(toml::from_str::<FieldRule>("field = \"x\"\naction = \"hide\"").is_err());
    }
}

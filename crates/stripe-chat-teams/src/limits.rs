//! The limits a Teams card is rendered within, and why.
//!
//! Teams rejects a message whose card exceeds about 28 KB (HTTP 413; with a Workflows webhook the
//! failure shows only in the flow's run history), and renders Adaptive Cards up to version 1.5.
//! The other limits are ours: they keep a card readable and leave the byte budget to what matters.
//!
//! ```
//! use stripe_chat_teams::limits;
//! assert!(limits::RENDER_BUDGET_BYTES < limits::MAX_CARD_BYTES);
//! assert_eq!(limits::MAX_CARD_VERSION, (1, 5));
//! ```

use stripe_chat_message::text::http_url;

/// The most a Workflows webhook body may weigh, serialized (Teams: "28 KB"; counted here as 28,000
/// bytes to stay on the safe side of either reading of "KB").
///
/// ```
/// assert_eq!(stripe_chat_teams::limits::MAX_CARD_BYTES, 28_000);
/// ```
pub const MAX_CARD_BYTES: usize = 28_000;

/// What the renderer aims for: [`MAX_CARD_BYTES`] less a margin for whatever the flow adds on the way.
///
/// ```
/// assert_eq!(stripe_chat_teams::limits::RENDER_BUDGET_BYTES, 27_000);
/// ```
pub const RENDER_BUDGET_BYTES: usize = 27_000;

/// The newest Adaptive Card schema Teams renders, as (major, minor).
///
/// ```
/// assert!(stripe_chat_teams::limits::MAX_CARD_VERSION >= (1, 4));
/// ```
pub const MAX_CARD_VERSION: (u32, u32) = (1, 5);

/// Action types a card sent by a Workflows webhook may use. `Action.Submit` and `Action.Execute`
/// are not among them: their clicks go to a bot, and a webhook has none.
///
/// ```
/// assert!(stripe_chat_teams::limits::ALLOWED_ACTION_TYPES.contains(&"Action.OpenUrl"));
/// assert!(!stripe_chat_teams::limits::ALLOWED_ACTION_TYPES.contains(&"Action.Submit"));
/// ```
pub const ALLOWED_ACTION_TYPES: &[&str] = &[
    "Action.OpenUrl",
    "Action.ShowCard",
    "Action.ToggleVisibility",
];

/// Buttons shown at most; Teams lays out only a few in a row and folds the rest into a menu.
///
/// ```
/// assert_eq!(stripe_chat_teams::limits::MAX_ACTIONS, 6);
/// ```
pub const MAX_ACTIONS: usize = 6;

/// Facts shown at most (ours, for readability); the rest are counted in a final
/// "… N more in the Stripe Dashboard" fact.
///
/// ```
/// assert_eq!(stripe_chat_teams::limits::MAX_FACTS, 50);
/// ```
pub const MAX_FACTS: usize = 50;

/// Characters of the title kept (before escaping) when everything fits.
///
/// ```
/// assert_eq!(stripe_chat_teams::limits::MAX_TITLE_CHARS, 300);
/// ```
pub const MAX_TITLE_CHARS: usize = 300;

/// Characters of the summary kept (before escaping) when everything fits.
///
/// ```
/// assert_eq!(stripe_chat_teams::limits::MAX_SUMMARY_CHARS, 3_000);
/// ```
pub const MAX_SUMMARY_CHARS: usize = 3_000;

/// Characters of a fact's title (a field's label) kept.
///
/// ```
/// assert_eq!(stripe_chat_teams::limits::MAX_FACT_TITLE_CHARS, 100);
/// ```
pub const MAX_FACT_TITLE_CHARS: usize = 100;

/// Characters of a fact's value kept when everything fits.
///
/// ```
/// assert_eq!(stripe_chat_teams::limits::MAX_FACT_VALUE_CHARS, 1_000);
/// ```
pub const MAX_FACT_VALUE_CHARS: usize = 1_000;

/// Characters of a button title kept; longer ones are cut off by Teams anyway.
///
/// ```
/// assert_eq!(stripe_chat_teams::limits::MAX_ACTION_TITLE_CHARS, 50);
/// ```
pub const MAX_ACTION_TITLE_CHARS: usize = 50;

/// Tags shown at most.
///
/// ```
/// assert_eq!(stripe_chat_teams::limits::MAX_TAGS, 20);
/// ```
pub const MAX_TAGS: usize = 20;

/// Characters of a tag kept.
///
/// ```
/// assert_eq!(stripe_chat_teams::limits::MAX_TAG_CHARS, 50);
/// ```
pub const MAX_TAG_CHARS: usize = 50;

/// Characters of the footer kept.
///
/// ```
/// assert_eq!(stripe_chat_teams::limits::MAX_FOOTER_CHARS, 300);
/// ```
pub const MAX_FOOTER_CHARS: usize = 300;

/// Longest URL put on a button, in bytes; longer ones are dropped rather than cut (a cut URL is
/// a wrong URL).
///
/// ```
/// assert_eq!(stripe_chat_teams::limits::MAX_URL_BYTES, 2_048);
/// ```
pub const MAX_URL_BYTES: usize = 2_048;

/// An absolute `https://` or `http://` URL of printable ASCII without quotes, angle brackets or
/// backslashes, at most [`MAX_URL_BYTES`] long, naming a host.
pub(crate) fn is_web_url(url: &str) -> bool {
    http_url(url, MAX_URL_BYTES).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_urls_are_recognized_strictly() {
        assert!(is_web_url(
            "https://dashboard.stripe.com/invoices/in_1?x=1&y=2"
        ));
        assert!(is_web_url("HTTP://example.com"));
        for bad in [
            "https://",
            "https:///x",
            "ftp://x",
            "https://a b",
            "https://é.test",
            "mailto:a@b",
        ] {
            assert!(!is_web_url(bad), "{bad}");
        }
        assert!(!is_web_url(&format!(
            "https://e.test/{}",
            "a".repeat(MAX_URL_BYTES)
        )));
    }
}

//! Slack's Block Kit limits for `chat.postMessage`, and the budgets this adapter keeps within them.
//!
//! Limits are counted in characters (Unicode scalar values) of the string Slack receives, so escaped
//! text (`&amp;`) counts in full. Sources: Slack's Block Kit reference (blocks, block elements,
//! composition objects) and the `chat.postMessage` reference.
//!
//! ```
//! use stripe_chat_slack::limits;
//! assert_eq!(limits::MAX_BLOCKS, 50);
//! assert!(limits::TOTAL_TEXT_BUDGET < 13_000);
//! ```

use serde_json::Value;

/// Blocks per message.
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::MAX_BLOCKS, 50);
/// ```
pub const MAX_BLOCKS: usize = 50;

/// Characters in a `header` block's `plain_text`.
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::MAX_HEADER_TEXT, 150);
/// ```
pub const MAX_HEADER_TEXT: usize = 150;

/// Characters in a `section` block's `text`, and in any text object.
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::MAX_SECTION_TEXT, 3_000);
/// ```
pub const MAX_SECTION_TEXT: usize = 3_000;

/// Text objects in a `section` block's `fields`.
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::MAX_SECTION_FIELDS, 10);
/// ```
pub const MAX_SECTION_FIELDS: usize = 10;

/// Characters in one of a `section` block's `fields`.
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::MAX_FIELD_TEXT, 2_000);
/// ```
pub const MAX_FIELD_TEXT: usize = 2_000;

/// Elements in an `actions` block.
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::MAX_ACTIONS_ELEMENTS, 25);
/// ```
pub const MAX_ACTIONS_ELEMENTS: usize = 25;

/// Elements in a `context` block.
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::MAX_CONTEXT_ELEMENTS, 10);
/// ```
pub const MAX_CONTEXT_ELEMENTS: usize = 10;

/// Characters in a text object used as a `context` element.
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::MAX_CONTEXT_TEXT, 3_000);
/// ```
pub const MAX_CONTEXT_TEXT: usize = 3_000;

/// Characters in a button's `plain_text`.
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::MAX_BUTTON_TEXT, 75);
/// ```
pub const MAX_BUTTON_TEXT: usize = 75;

/// Characters in a button's `value`.
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::MAX_BUTTON_VALUE, 2_000);
/// ```
pub const MAX_BUTTON_VALUE: usize = 2_000;

/// Characters in a button's `url`, and the longest URL this adapter puts in a `<url|label>` link.
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::MAX_URL, 3_000);
/// ```
pub const MAX_URL: usize = 3_000;

/// Characters in an `action_id` (and a `block_id`).
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::MAX_ACTION_ID, 255);
/// ```
pub const MAX_ACTION_ID: usize = 255;

/// Characters in a confirmation dialog's `title`.
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::MAX_CONFIRM_TITLE, 100);
/// ```
pub const MAX_CONFIRM_TITLE: usize = 100;

/// Characters in a confirmation dialog's `text`.
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::MAX_CONFIRM_TEXT, 300);
/// ```
pub const MAX_CONFIRM_TEXT: usize = 300;

/// Characters in a confirmation dialog's `confirm` and `deny` buttons.
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::MAX_CONFIRM_BUTTON, 30);
/// ```
pub const MAX_CONFIRM_BUTTON: usize = 30;

/// Budget (not a documented Slack limit): characters of text shown in one message, counting headers,
/// sections, fields, context elements and button labels. Slack rejects or cuts long messages at an
/// undocumented total of about 13,000 characters; staying under 12,000 leaves a margin.
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::TOTAL_TEXT_BUDGET, 12_000);
/// ```
pub const TOTAL_TEXT_BUDGET: usize = 12_000;

/// Budget: characters in the top-level `text` (the notification fallback). Slack accepts far more
/// (it cuts at 40,000) but a notification shows a line or two.
///
/// ```
/// assert!(stripe_chat_slack::limits::MAX_FALLBACK_TEXT <= 3_000);
/// ```
pub const MAX_FALLBACK_TEXT: usize = 500;

/// Budget: characters of a field's label (before the value), so the value keeps most of a field.
///
/// ```
/// assert!(stripe_chat_slack::limits::MAX_FIELD_LABEL < stripe_chat_slack::limits::MAX_FIELD_TEXT);
/// ```
pub const MAX_FIELD_LABEL: usize = 200;

/// Budget: characters of a link's label inside `<url|label>`.
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::MAX_LINK_LABEL, 150);
/// ```
pub const MAX_LINK_LABEL: usize = 150;

/// Budget: characters of the tags element and of the footer element of the closing `context` block.
///
/// ```
/// assert_eq!(stripe_chat_slack::limits::MAX_CONTEXT_ITEM, 300);
/// ```
pub const MAX_CONTEXT_ITEM: usize = 300;

/// Characters of text a block shows: header and section texts, fields, context elements and
/// button labels (confirmation dialogs and button values are not shown in the message).
pub(crate) fn shown_text_chars(block: &Value) -> usize {
    let chars = |v: Option<&Value>| v.and_then(Value::as_str).map_or(0, |s| s.chars().count());
    let mut total = chars(block.get("text").and_then(|t| t.get("text")));
    for list in ["fields", "elements"] {
        for item in block
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            total += chars(item.get("text"));
            total += chars(item.get("text").and_then(|t| t.get("text")));
        }
    }
    total
}

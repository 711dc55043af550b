//! Discord's limits for an execute-webhook body, and the budgets this adapter keeps within them.
//!
//! Discord counts characters as Unicode code points (its API is Python; confirmed by Discord staff in
//! discord-api-docs#1315), so limits here are in `char`s of the string Discord receives, escapes
//! included. Sources: Discord's developer docs (Embed Limits, Message Components, Execute Webhook).
//!
//! ```
//! use stripe_chat_discord::limits;
//! assert_eq!(limits::MAX_EMBED_TOTAL, 6_000);
//! assert_eq!(limits::MAX_ACTION_ROWS * limits::MAX_BUTTONS_PER_ROW, 25);
//! ```

/// Characters in `content`.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_CONTENT, 2_000);
/// ```
pub const MAX_CONTENT: usize = 2_000;

/// Embeds per message.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_EMBEDS, 10);
/// ```
pub const MAX_EMBEDS: usize = 10;

/// Characters in an embed's `title`.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_TITLE, 256);
/// ```
pub const MAX_TITLE: usize = 256;

/// Characters in an embed's `description`.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_DESCRIPTION, 4_096);
/// ```
pub const MAX_DESCRIPTION: usize = 4_096;

/// Fields per embed.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_FIELDS, 25);
/// ```
pub const MAX_FIELDS: usize = 25;

/// Characters in a field's `name`.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_FIELD_NAME, 256);
/// ```
pub const MAX_FIELD_NAME: usize = 256;

/// Characters in a field's `value`.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_FIELD_VALUE, 1_024);
/// ```
pub const MAX_FIELD_VALUE: usize = 1_024;

/// Characters in an embed's `footer.text`.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_FOOTER_TEXT, 2_048);
/// ```
pub const MAX_FOOTER_TEXT: usize = 2_048;

/// Characters in an embed's `author.name`.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_AUTHOR_NAME, 256);
/// ```
pub const MAX_AUTHOR_NAME: usize = 256;

/// Characters of `title`, `description`, field names and values, `footer.text` and `author.name`
/// across all embeds of a message.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_EMBED_TOTAL, 6_000);
/// ```
pub const MAX_EMBED_TOTAL: usize = 6_000;

/// Action rows per message.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_ACTION_ROWS, 5);
/// ```
pub const MAX_ACTION_ROWS: usize = 5;

/// Buttons per action row.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_BUTTONS_PER_ROW, 5);
/// ```
pub const MAX_BUTTONS_PER_ROW: usize = 5;

/// Characters in a button's `custom_id` (at least 1).
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_CUSTOM_ID, 100);
/// ```
pub const MAX_CUSTOM_ID: usize = 100;

/// Characters in a button's `label`.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_BUTTON_LABEL, 80);
/// ```
pub const MAX_BUTTON_LABEL: usize = 80;

/// Characters in a link button's `url`; this adapter uses the same bound for links in the
/// description and for the embed's `url`.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_URL, 512);
/// ```
pub const MAX_URL: usize = 512;

/// Characters in the `username` override.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_USERNAME, 80);
/// ```
pub const MAX_USERNAME: usize = 80;

/// Budget: a field whose value has at most this many characters (and no line break) is shown
/// `inline`, side by side with its neighbours.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::INLINE_VALUE_MAX, 40);
/// ```
pub const INLINE_VALUE_MAX: usize = 40;

/// Budget: characters of the links line in the description.
///
/// ```
/// assert!(stripe_chat_discord::limits::MAX_LINKS_TEXT < stripe_chat_discord::limits::MAX_DESCRIPTION);
/// ```
pub const MAX_LINKS_TEXT: usize = 1_500;

/// Budget: characters of a link's label.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_LINK_LABEL, 100);
/// ```
pub const MAX_LINK_LABEL: usize = 100;

/// Budget: characters of the tags line in the description.
///
/// ```
/// assert_eq!(stripe_chat_discord::limits::MAX_TAGS_TEXT, 300);
/// ```
pub const MAX_TAGS_TEXT: usize = 300;

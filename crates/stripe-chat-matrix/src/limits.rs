//! The limits Matrix content is rendered within, and why.
//!
//! The Matrix spec caps a whole event (content plus the envelope the homeserver adds: ids,
//! signatures, hashes, previous events) at 65,536 bytes of canonical JSON; larger events are
//! refused with `M_TOO_LARGE`. The content is kept well below it. The other limits are ours: they
//! keep a message readable and leave the byte budget to what matters.
//!
//! ```
//! use stripe_chat_matrix::limits;
//! assert!(limits::RENDER_BUDGET_BYTES < limits::MAX_CONTENT_BYTES);
//! assert!(limits::MAX_CONTENT_BYTES < limits::MAX_EVENT_BYTES);
//! ```

use stripe_chat_message::text::http_url;

/// The most a whole Matrix event may weigh (spec: "The complete event MUST NOT be larger than
/// 65536 bytes, when formatted with the federation event format, including any signatures, and
/// encoded as Canonical JSON").
///
/// ```
/// assert_eq!(stripe_chat_matrix::limits::MAX_EVENT_BYTES, 65_536);
/// ```
pub const MAX_EVENT_BYTES: usize = 65_536;

/// The most the `content` of an event may weigh, serialized, leaving over 5 KB for the envelope.
/// [`validate_limits`](crate::validate_limits) checks this.
///
/// ```
/// assert_eq!(stripe_chat_matrix::limits::MAX_CONTENT_BYTES, 60_000);
/// ```
pub const MAX_CONTENT_BYTES: usize = 60_000;

/// What the renderer aims for: [`MAX_CONTENT_BYTES`] less room for
/// [`thread_reply`](crate::thread_reply) to add a relation and for [`edit`](crate::edit) to wrap the
/// content with a fallback.
///
/// ```
/// assert_eq!(stripe_chat_matrix::limits::RENDER_BUDGET_BYTES, 58_000);
/// ```
pub const RENDER_BUDGET_BYTES: usize = 58_000;

/// The `format` of HTML bodies.
///
/// ```
/// assert_eq!(stripe_chat_matrix::limits::HTML_FORMAT, "org.matrix.custom.html");
/// ```
pub const HTML_FORMAT: &str = "org.matrix.custom.html";

/// The HTML tags the Matrix spec suggests clients render; `formatted_body` uses nothing else
/// (the renderer itself only uses `h4`, `p`, `ul`, `li`, `strong`, `em`, `a` and `br`).
///
/// ```
/// assert!(stripe_chat_matrix::limits::ALLOWED_TAGS.contains(&"strong"));
/// assert!(!stripe_chat_matrix::limits::ALLOWED_TAGS.contains(&"script"));
/// ```
pub const ALLOWED_TAGS: &[&str] = &[
    "del",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "p",
    "a",
    "ul",
    "ol",
    "sup",
    "sub",
    "li",
    "b",
    "i",
    "u",
    "strong",
    "em",
    "s",
    "code",
    "hr",
    "br",
    "div",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "caption",
    "pre",
    "span",
    "img",
    "details",
    "summary",
];

/// Fields listed at most (ours, for readability); the rest are counted in a final
/// "… N more in the Stripe Dashboard" line.
///
/// ```
/// assert_eq!(stripe_chat_matrix::limits::MAX_FIELDS, 50);
/// ```
pub const MAX_FIELDS: usize = 50;

/// Characters of the title kept (before escaping) when everything fits.
///
/// ```
/// assert_eq!(stripe_chat_matrix::limits::MAX_TITLE_CHARS, 300);
/// ```
pub const MAX_TITLE_CHARS: usize = 300;

/// Characters of the summary kept (before escaping) when everything fits.
///
/// ```
/// assert_eq!(stripe_chat_matrix::limits::MAX_SUMMARY_CHARS, 4_000);
/// ```
pub const MAX_SUMMARY_CHARS: usize = 4_000;

/// Characters of a field's label kept.
///
/// ```
/// assert_eq!(stripe_chat_matrix::limits::MAX_LABEL_CHARS, 100);
/// ```
pub const MAX_LABEL_CHARS: usize = 100;

/// Characters of a field's value kept when everything fits.
///
/// ```
/// assert_eq!(stripe_chat_matrix::limits::MAX_VALUE_CHARS, 1_000);
/// ```
pub const MAX_VALUE_CHARS: usize = 1_000;

/// Links (message links and link actions together) listed at most.
///
/// ```
/// assert_eq!(stripe_chat_matrix::limits::MAX_LINKS, 10);
/// ```
pub const MAX_LINKS: usize = 10;

/// Characters of a link's label kept.
///
/// ```
/// assert_eq!(stripe_chat_matrix::limits::MAX_LINK_LABEL_CHARS, 100);
/// ```
pub const MAX_LINK_LABEL_CHARS: usize = 100;

/// Callback actions listed (as plain text: Matrix has no buttons) at most.
///
/// ```
/// assert_eq!(stripe_chat_matrix::limits::MAX_ACTIONS, 10);
/// ```
pub const MAX_ACTIONS: usize = 10;

/// Characters of an action's label kept.
///
/// ```
/// assert_eq!(stripe_chat_matrix::limits::MAX_ACTION_LABEL_CHARS, 80);
/// ```
pub const MAX_ACTION_LABEL_CHARS: usize = 80;

/// Tags shown at most.
///
/// ```
/// assert_eq!(stripe_chat_matrix::limits::MAX_TAGS, 20);
/// ```
pub const MAX_TAGS: usize = 20;

/// Characters of a tag kept.
///
/// ```
/// assert_eq!(stripe_chat_matrix::limits::MAX_TAG_CHARS, 50);
/// ```
pub const MAX_TAG_CHARS: usize = 50;

/// Characters of the footer kept.
///
/// ```
/// assert_eq!(stripe_chat_matrix::limits::MAX_FOOTER_CHARS, 300);
/// ```
pub const MAX_FOOTER_CHARS: usize = 300;

/// Longest URL linked, in bytes; longer ones are dropped rather than cut (a cut URL is a wrong URL).
///
/// ```
/// assert_eq!(stripe_chat_matrix::limits::MAX_URL_BYTES, 2_048);
/// ```
pub const MAX_URL_BYTES: usize = 2_048;

/// An absolute `https://` or `http://` URL of printable ASCII without quotes, angle brackets or
/// backslashes, at most [`MAX_URL_BYTES`] long, naming a host.
pub(crate) fn is_web_url(url: &str) -> bool {
    http_url(url, MAX_URL_BYTES).is_some()
}

//! Who reads a channel: the level that decides what redaction keeps.

use serde::{Deserialize, Serialize};

/// Who can read the channel a message goes to, from the widest audience to the narrowest.
///
/// Card numbers are masked to their last four at every level. Serialized in lowercase
/// (`"public"`, `"internal"`, `"restricted"`).
///
/// | | Email | Phone | Address |
/// |---|---|---|---|
/// | Public | `j•••@example.com` | `•••• •• 42` | city or country alone, else `[address hidden]` |
/// | Internal | kept | `•••• •• 42` | `Berlin, DE` (last two parts, no numbers) |
/// | Restricted | kept | kept | kept |
///
/// ```
/// use stripe_chat_redact::Visibility;
///
/// assert_eq!(Visibility::default(), Visibility::Public);
/// let level: Visibility = serde_json::from_str(r#""restricted""#)?;
/// assert_eq!(level, Visibility::Restricted);
/// assert!(Visibility::Public < Visibility::Internal);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Visibility {
    /// A channel many people see (a company-wide `#payments`, guests, vendors): emails, phones and
    /// addresses are masked. The default.
    #[default]
    Public,
    /// A staff-only channel (support, operations): emails are kept, phones keep their last two
    /// digits, addresses their city and country.
    Internal,
    /// A finance or legal channel of a few people: everything is kept except card numbers.
    Restricted,
}

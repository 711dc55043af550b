//! Where the customer's last contact comes from.

use async_trait::async_trait;
use stripe_chat_events::LastContact;

/// Why the last contact could not be looked up.
///
/// ```
/// let e = stripe_chat_enrich::ContactError::new("the store is unavailable");
/// assert_eq!(e.to_string(), "cannot look up the last contact: the store is unavailable");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot look up the last contact: {0}")]
pub struct ContactError(String);

impl ContactError {
    /// An error saying `why` (no secret in it).
    ///
    /// ```
    /// let e = stripe_chat_enrich::ContactError::new("timeout");
    /// # let _ = e;
    /// ```
    pub fn new(why: impl Into<String>) -> Self {
        ContactError(why.into())
    }
}

/// When and by whom a customer was last contacted, as the team recorded it (the
/// `mark_contacted` action keeps it in the store): no Stripe call.
///
/// ```
/// use stripe_chat_enrich::{ContactError, ContactHistory};
/// use stripe_chat_events::LastContact;
///
/// /// Everyone was last contacted by ana at the same time.
/// struct Ana;
///
/// #[async_trait::async_trait]
/// impl ContactHistory for Ana {
///     async fn last_contact(&self, _account: Option<&str>, _customer: &str) -> Result<Option<LastContact>, ContactError> {
///         Ok(Some(LastContact::new(1_764_000_000, "ana")))
///     }
/// }
/// # let _ = Ana;
/// ```
#[async_trait]
pub trait ContactHistory: Send + Sync {
    /// The last contact with `customer` (`cus_…`) of the Connect `account` (`None`: the
    /// platform's own), or `None` when nobody contacted them.
    async fn last_contact(
        &self,
        account: Option<&str>,
        customer: &str,
    ) -> Result<Option<LastContact>, ContactError>;
}

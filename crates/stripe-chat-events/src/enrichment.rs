//! What was added to an event after it arrived: details read from Stripe, or the note that they
//! could not be; the customer's last contact.

/// What enrichment says about an event, beside the objects it filled in (see
/// [`StripeEvent::enriched`](crate::StripeEvent::enriched)).
///
/// ```
/// use stripe_chat_events::{Enrichment, LastContact};
/// let e = Enrichment::new()
///     .details_unavailable()
///     .last_contact(LastContact::new(1_764_000_000, "ana"));
/// assert!(e.is_details_unavailable());
/// assert_eq!(e.contact().map(|c| c.by.as_str()), Some("ana"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enrichment {
    details_unavailable: bool,
    last_contact: Option<LastContact>,
}

impl Enrichment {
    /// Nothing to say yet: every wanted detail was read (or none was wanted), no contact known.
    ///
    /// ```
    /// assert!(!stripe_chat_events::Enrichment::new().is_details_unavailable());
    /// ```
    pub fn new() -> Self {
        Enrichment::default()
    }

    /// Some details the event leaves out were wanted and could not be read from Stripe in time
    /// (Stripe slow, down, refusing the key, or the call budget spent): the message goes out
    /// without them and says so.
    ///
    /// ```
    /// assert!(stripe_chat_events::Enrichment::new().details_unavailable().is_details_unavailable());
    /// ```
    pub fn details_unavailable(mut self) -> Self {
        self.details_unavailable = true;
        self
    }

    /// When and by whom the customer was last contacted.
    ///
    /// ```
    /// use stripe_chat_events::{Enrichment, LastContact};
    /// let e = Enrichment::new().last_contact(LastContact::new(5, "ana"));
    /// assert_eq!(e.contact().map(|c| c.at), Some(5));
    /// ```
    pub fn last_contact(mut self, contact: LastContact) -> Self {
        self.last_contact = Some(contact);
        self
    }

    /// Whether wanted details are missing (see [`Enrichment::details_unavailable`]).
    ///
    /// ```
    /// assert!(!stripe_chat_events::Enrichment::default().is_details_unavailable());
    /// ```
    pub fn is_details_unavailable(&self) -> bool {
        self.details_unavailable
    }

    /// The customer's last contact, when one is known.
    ///
    /// ```
    /// assert!(stripe_chat_events::Enrichment::new().contact().is_none());
    /// ```
    pub fn contact(&self) -> Option<&LastContact> {
        self.last_contact.as_ref()
    }
}

/// Someone on the team contacted the customer: when (Unix seconds) and who.
///
/// ```
/// let c = stripe_chat_events::LastContact::new(1_764_000_000, "ana");
/// assert_eq!((c.at, c.by.as_str()), (1_764_000_000, "ana"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastContact {
    /// When, Unix seconds.
    pub at: i64,
    /// Who, as the team knows them (a chat display name).
    pub by: String,
}

impl LastContact {
    /// A contact at `at` (Unix seconds) by `by`.
    ///
    /// ```
    /// assert_eq!(stripe_chat_events::LastContact::new(1, "li").by, "li");
    /// ```
    pub fn new(at: i64, by: impl Into<String>) -> Self {
        LastContact { at, by: by.into() }
    }
}

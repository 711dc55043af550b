//! The customer's last contact, as the `mark_contacted` action records it in the store.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use async_trait::async_trait;
use stripe_chat_enrich::{ContactError, ContactHistory};
use stripe_chat_events::LastContact;
use stripe_chat_store::Store;

/// [`ContactHistory`] over the store: who contacted a customer last and when
/// ([`Store::last_contact`]). The workers' enrichment uses it unless given another one. A store
/// that keeps no contacts answers with an error, and messages go out without the note.
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// use std::sync::Arc;
/// use std::time::{Duration, UNIX_EPOCH};
/// use stripe_chat_enrich::ContactHistory;
/// use stripe_chat_server::contacts::StoreContacts;
/// use stripe_chat_store::{MemoryStore, Store};
///
/// let store = Arc::new(MemoryStore::new());
/// store.contact_record("cus_1", "ana", UNIX_EPOCH + Duration::from_secs(1_764_000_000)).await?;
/// let contacts = StoreContacts::new(store);
/// let contact = contacts.last_contact(None, "cus_1").await?.expect("a contact");
/// assert_eq!((contact.at, contact.by.as_str()), (1_764_000_000, "ana"));
/// assert!(contacts.last_contact(None, "cus_2").await?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct StoreContacts {
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for StoreContacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreContacts").finish_non_exhaustive()
    }
}

impl StoreContacts {
    /// Contacts read from `store`.
    ///
    /// ```
    /// let contacts = stripe_chat_server::contacts::StoreContacts::new(
    ///     std::sync::Arc::new(stripe_chat_store::MemoryStore::new()));
    /// # let _ = contacts;
    /// ```
    pub fn new(store: Arc<dyn Store>) -> Self {
        StoreContacts { store }
    }
}

#[async_trait]
impl ContactHistory for StoreContacts {
    async fn last_contact(
        &self,
        _account: Option<&str>,
        customer: &str,
    ) -> Result<Option<LastContact>, ContactError> {
        let contact = self
            .store
            .last_contact(customer)
            .await
            .map_err(|e| ContactError::new(e.to_string()))?;
        Ok(contact.map(|c| {
            let at =
                c.at.duration_since(UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            LastContact::new(at, c.person)
        }))
    }
}

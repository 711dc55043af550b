//! Links into the Stripe Dashboard.
//!
//! `https://dashboard.stripe.com` + (`/{account}` for an object of a connected account) + (`/test`
//! outside live mode) + the object's page.

use stripe_chat_message::{ObjectKind, ObjectRef};

/// The Dashboard's base URL.
///
/// ```
/// assert!(stripe_chat_events::links::DASHBOARD.starts_with("https://"));
/// ```
pub const DASHBOARD: &str = "https://dashboard.stripe.com";

/// Where Dashboard links point: live or test mode, and the connected account for Connect events.
///
/// ```
/// use stripe_chat_events::links::Dashboard;
/// use stripe_chat_events::ids::object_ref;
///
/// let test = Dashboard::new(false, None);
/// assert_eq!(test.object(&object_ref("in_123")),
///            "https://dashboard.stripe.com/test/invoices/in_123");
/// let connect = Dashboard::new(true, Some("acct_1"));
/// assert_eq!(connect.object(&object_ref("pi_9")),
///            "https://dashboard.stripe.com/acct_1/payments/pi_9");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    prefix: String,
    account: Option<String>,
}

impl Dashboard {
    /// Links for `livemode`, and for the connected `account` when the event came from one.
    ///
    /// ```
    /// let d = stripe_chat_events::links::Dashboard::new(true, None);
    /// assert_eq!(d.home(), "https://dashboard.stripe.com");
    /// ```
    pub fn new(livemode: bool, account: Option<&str>) -> Self {
        let account = account.filter(|a| is_safe_id(a));
        let mut prefix = DASHBOARD.to_owned();
        if let Some(account) = account {
            prefix.push('/');
            prefix.push_str(account);
        }
        if !livemode {
            prefix.push_str("/test");
        }
        Dashboard {
            prefix,
            account: account.map(str::to_owned),
        }
    }

    /// The Dashboard's home for this mode and account.
    ///
    /// ```
    /// assert_eq!(stripe_chat_events::links::Dashboard::new(false, None).home(), "https://dashboard.stripe.com/test");
    /// ```
    pub fn home(&self) -> &str {
        &self.prefix
    }

    /// The page of a Stripe object. Ids that are not plain Stripe ids link to a Dashboard search.
    ///
    /// ```
    /// use stripe_chat_events::links::Dashboard;
    /// use stripe_chat_events::ids::object_ref;
    /// let d = Dashboard::new(true, None);
    /// assert_eq!(d.object(&object_ref("dp_1")), "https://dashboard.stripe.com/disputes/dp_1");
    /// assert_eq!(d.object(&object_ref("cus_1")), "https://dashboard.stripe.com/customers/cus_1");
    /// assert_eq!(d.object(&object_ref("evt_1")), "https://dashboard.stripe.com/events/evt_1");
    /// ```
    pub fn object(&self, object: &ObjectRef) -> String {
        if !is_safe_id(&object.id) {
            return format!("{}/search", self.prefix);
        }
        let section = match &object.kind {
            ObjectKind::Invoice => "invoices",
            ObjectKind::PaymentIntent | ObjectKind::Charge => "payments",
            ObjectKind::Dispute => "disputes",
            ObjectKind::Customer => "customers",
            ObjectKind::Subscription => "subscriptions",
            ObjectKind::Refund => "refunds",
            ObjectKind::Event => "events",
            ObjectKind::Other(name) => match name.as_str() {
                "po" | "payout" => "payouts",
                "prod" | "product" => "products",
                "price" => "prices",
                "cn" | "credit_note" => "credit_notes",
                "pm" | "payment_method" => "payment_methods",
                _ => return format!("{}/search?query={}", self.prefix, object.id),
            },
            _ => return format!("{}/search?query={}", self.prefix, object.id),
        };
        format!("{}/{section}/{}", self.prefix, object.id)
    }

    /// The page of the connected account itself, for Connect events.
    ///
    /// ```
    /// let d = stripe_chat_events::links::Dashboard::new(true, Some("acct_1"));
    /// assert_eq!(d.connected_account().as_deref(), Some("https://dashboard.stripe.com/connect/accounts/acct_1"));
    /// ```
    pub fn connected_account(&self) -> Option<String> {
        self.account
            .as_ref()
            .map(|acct| format!("{DASHBOARD}/connect/accounts/{acct}"))
    }
}

/// Whether `id` is a plain Stripe id (`[A-Za-z0-9_]`, 1..=255), safe to put in a URL path.
fn is_safe_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::object_ref;

    #[test]
    fn ids_with_url_characters_never_reach_a_path() {
        let d = Dashboard::new(true, Some("acct_1/../../evil"));
        assert_eq!(d.home(), DASHBOARD);
        assert_eq!(
            d.object(&object_ref("in_1/../x?y")),
            format!("{DASHBOARD}/search")
        );
    }

    #[test]
    fn test_mode_connect_links_carry_both_account_and_test() {
        let d = Dashboard::new(false, Some("acct_9"));
        assert_eq!(
            d.object(&object_ref("sub_1")),
            "https://dashboard.stripe.com/acct_9/test/subscriptions/sub_1"
        );
    }
}

//! Helpers shared by the store's tests.

use std::path::Path;
use std::time::{Duration, SystemTime};

use stripe_chat_store::{NewEvent, SqliteOptions, SqliteStore};

/// A fixed instant the tests count from (2023-11-14T22:13:20Z).
pub(crate) fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// `t0()` plus `secs` seconds.
pub(crate) fn at(secs: u64) -> SystemTime {
    t0() + Duration::from_secs(secs)
}

/// A Stripe-like event body of about `size` bytes.
pub(crate) fn body(id: &str, event_type: &str, size: usize) -> String {
    let head = format!(
        r#"{{"id":"{id}","object":"event","api_version":"2025-03-31.basil","type":"{event_type}","data":{{"object":{{"id":"in_1","object":"invoice","description":""#
    );
    let tail = r#""}},"livemode":false,"pending_webhooks":1}"#;
    let fill = size.saturating_sub(head.len() + tail.len());
    format!("{head}{}{tail}", "x".repeat(fill))
}

/// An event `id` of type `invoice.paid`, created at `created`, received at `t0()`.
pub(crate) fn event(id: &str, created: i64) -> NewEvent {
    event_of_type(id, "invoice.paid", created)
}

/// An event `id` of `event_type`, created at `created`, received at `t0()`.
pub(crate) fn event_of_type(id: &str, event_type: &str, created: i64) -> NewEvent {
    NewEvent {
        id: id.to_owned(),
        event_type: event_type.to_owned(),
        created,
        livemode: false,
        account: Some("acct_1".to_owned()),
        raw: body(id, event_type, 600),
        received_at: t0(),
    }
}

/// Opens the SQLite store at `path` with default options.
pub(crate) async fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path, SqliteOptions::default())
        .await
        .expect("the store opens")
}

//! Digest keys: which route and window a digest job belongs to (`sales/1700000100/900`).

use std::time::{SystemTime, UNIX_EPOCH};

use stripe_chat_route::Digest;

/// A digest's key as stored with its jobs: the route's label, the window's start (Unix seconds)
/// and its length (seconds). Jobs with the same destination and key form one summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DigestKey {
    pub(crate) route: String,
    pub(crate) start: i64,
    pub(crate) window_secs: u64,
}

impl DigestKey {
    /// The key of the window of `digest` that `at` falls in, for the route labelled `route`.
    pub(crate) fn at(route: String, digest: &Digest, at: SystemTime) -> Self {
        let start = digest
            .window_start(at)
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        DigestKey {
            route,
            start,
            window_secs: digest.window().as_secs(),
        }
    }

    /// Reads a key written by `Display`; `None` for anything else.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut parts = text.rsplitn(3, '/');
        let window_secs = parts.next()?.parse().ok()?;
        let start = parts.next()?.parse().ok()?;
        let route = parts.next().filter(|r| !r.is_empty())?.to_owned();
        Some(DigestKey {
            route,
            start,
            window_secs,
        })
    }
}

impl std::fmt::Display for DigestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.route, self.start, self.window_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_key_names_the_route_and_the_aligned_window_and_reads_back() {
        let digest = Digest::parse("15m", None).unwrap();
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_999);
        let key = DigestKey::at("routes[2]".into(), &digest, at);
        assert_eq!(key.to_string(), "routes[2]/1700000100/900");
        assert_eq!(DigestKey::parse(&key.to_string()), Some(key));
        for bad in ["", "sales", "sales/1/x", "/1/2", "sales/x/2"] {
            assert_eq!(DigestKey::parse(bad), None, "{bad}");
        }
    }
}

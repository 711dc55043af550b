//! [`Digest`]: a route's `digest = { window = "15m", top = 3 }`, collecting its events for a
//! window and posting one summary; [`DigestWindow`]: one such window of one route, and the key
//! its jobs are stored under.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use stripe_chat_message::parse_duration;

/// How a route's events are collected into one summary per destination and window.
///
/// Windows are aligned to the clock (Unix time): a 15-minute window runs 10:00–10:15, 10:15–10:30,
/// and so on, so an event's window is known from its arrival time alone. The first window after a
/// start may therefore be shorter than `window`.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use stripe_chat_route::Digest;
///
/// let digest: Digest = toml::from_str(r#"window = "15m"
/// top = 5"#)?;
/// assert_eq!(digest.window(), Duration::from_secs(900));
/// assert_eq!(digest.top(), 5);
/// let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_123);
/// assert_eq!(digest.window_start(at), SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_100));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawDigest")]
pub struct Digest {
    window: Duration,
    top: usize,
}

/// `digest` as written; checked into a [`Digest`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigest {
    window: String,
    #[serde(default)]
    top: Option<i64>,
}

impl TryFrom<RawDigest> for Digest {
    type Error = DigestError;

    fn try_from(raw: RawDigest) -> Result<Self, Self::Error> {
        Digest::parse(&raw.window, raw.top)
    }
}

/// A problem with a `digest` setting; [`DigestError::key`] names the key.
///
/// ```
/// let e = stripe_chat_route::Digest::parse("0s", None).unwrap_err();
/// assert_eq!(e.key(), "window");
/// assert_eq!(e.to_string(), "window: \"0s\" must be at least 1s and at most 24h");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// `window` is not a duration such as `90s`, `15m`, `1h30m`.
    #[error("window: {text:?} is not a duration such as \"90s\", \"15m\" or \"1h30m\"")]
    NotADuration {
        /// The text given.
        text: String,
    },
    /// `window` is outside 1 s ..= 24 h.
    #[error("window: {text:?} must be at least 1s and at most 24h")]
    WindowOutOfRange {
        /// The text given.
        text: String,
    },
    /// `top` is outside 1 ..= 20.
    #[error("top: {top} must be between 1 and {max}", max = Digest::MAX_TOP)]
    TopOutOfRange {
        /// The value given.
        top: i64,
    },
}

impl DigestError {
    /// The key in error, within `digest`: `"window"` or `"top"`.
    ///
    /// ```
    /// let e = stripe_chat_route::Digest::parse("1m", Some(50)).unwrap_err();
    /// assert_eq!(e.key(), "top");
    /// ```
    pub fn key(&self) -> &'static str {
        match self {
            DigestError::NotADuration { .. } | DigestError::WindowOutOfRange { .. } => "window",
            DigestError::TopOutOfRange { .. } => "top",
        }
    }
}

impl Digest {
    /// The longest window.
    ///
    /// ```
    /// assert_eq!(stripe_chat_route::Digest::MAX_WINDOW.as_secs(), 86_400);
    /// ```
    pub const MAX_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

    /// The most "largest events" a summary lists.
    ///
    /// ```
    /// assert_eq!(stripe_chat_route::Digest::MAX_TOP, 20);
    /// ```
    pub const MAX_TOP: usize = 20;

    /// How many largest events a summary lists when `top` is not given.
    ///
    /// ```
    /// assert_eq!(stripe_chat_route::Digest::parse("1m", None)?.top(), stripe_chat_route::Digest::DEFAULT_TOP);
    /// # Ok::<(), stripe_chat_route::DigestError>(())
    /// ```
    pub const DEFAULT_TOP: usize = 3;

    /// A digest of `window` (whole seconds, 1 s ..= 24 h) listing the `top` largest events
    /// (1 ..= 20).
    ///
    /// ```
    /// use std::time::Duration;
    /// use stripe_chat_route::Digest;
    /// assert!(Digest::new(Duration::from_secs(60), 3).is_ok());
    /// assert!(Digest::new(Duration::from_millis(500), 3).is_err());
    /// assert!(Digest::new(Duration::from_secs(60), 0).is_err());
    /// ```
    pub fn new(window: Duration, top: usize) -> Result<Self, DigestError> {
        if window.subsec_nanos() != 0 || window.is_zero() || window > Self::MAX_WINDOW {
            return Err(DigestError::WindowOutOfRange {
                text: format!("{}ms", window.as_millis()),
            });
        }
        if !(1..=Self::MAX_TOP).contains(&top) {
            return Err(DigestError::TopOutOfRange {
                top: i64::try_from(top).unwrap_or(i64::MAX),
            });
        }
        Ok(Digest { window, top })
    }

    /// A digest from its settings as written: `window` a duration ([`parse_duration`]: `90s`,
    /// `15m`, `2h`, `1h30m`, `1d`) of at most a day, `top` defaulting to [`Digest::DEFAULT_TOP`].
    ///
    /// ```
    /// let d = stripe_chat_route::Digest::parse("1h30m", Some(5))?;
    /// assert_eq!(d.window().as_secs(), 5400);
    /// assert!(stripe_chat_route::Digest::parse("15", None).is_err());
    /// # Ok::<(), stripe_chat_route::DigestError>(())
    /// ```
    pub fn parse(window: &str, top: Option<i64>) -> Result<Self, DigestError> {
        let duration = parse_duration(window).ok_or_else(|| DigestError::NotADuration {
            text: window.to_owned(),
        })?;
        if duration.is_zero() || duration > Self::MAX_WINDOW {
            return Err(DigestError::WindowOutOfRange {
                text: window.to_owned(),
            });
        }
        let top = top.unwrap_or(Self::DEFAULT_TOP as i64);
        let top_ok = usize::try_from(top)
            .ok()
            .filter(|t| (1..=Self::MAX_TOP).contains(t));
        let Some(top) = top_ok else {
            return Err(DigestError::TopOutOfRange { top });
        };
        Ok(Digest {
            window: duration,
            top,
        })
    }

    /// The window's length.
    ///
    /// ```
    /// assert_eq!(stripe_chat_route::Digest::parse("2s", None)?.window().as_secs(), 2);
    /// # Ok::<(), stripe_chat_route::DigestError>(())
    /// ```
    pub fn window(&self) -> Duration {
        self.window
    }

    /// How many of the largest events the summary lists.
    ///
    /// ```
    /// assert_eq!(stripe_chat_route::Digest::parse("2s", Some(7))?.top(), 7);
    /// # Ok::<(), stripe_chat_route::DigestError>(())
    /// ```
    pub fn top(&self) -> usize {
        self.top
    }

    /// The start of the window `at` falls in (windows are aligned to Unix time).
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let d = stripe_chat_route::Digest::parse("1m", None)?;
    /// let at = SystemTime::UNIX_EPOCH + Duration::from_millis(125_500);
    /// assert_eq!(d.window_start(at), SystemTime::UNIX_EPOCH + Duration::from_secs(120));
    /// # Ok::<(), stripe_chat_route::DigestError>(())
    /// ```
    pub fn window_start(&self, at: SystemTime) -> SystemTime {
        let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let window = self.window.as_secs().max(1);
        UNIX_EPOCH + Duration::from_secs(secs - secs % window)
    }

    /// The end of the window `at` falls in: when its summary is due.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let d = stripe_chat_route::Digest::parse("1m", None)?;
    /// let at = SystemTime::UNIX_EPOCH + Duration::from_secs(125);
    /// assert_eq!(d.window_end(at), SystemTime::UNIX_EPOCH + Duration::from_secs(180));
    /// # Ok::<(), stripe_chat_route::DigestError>(())
    /// ```
    pub fn window_end(&self, at: SystemTime) -> SystemTime {
        self.window_start(at) + self.window
    }

    /// The window `at` falls in, for the route labelled `route`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let d = stripe_chat_route::Digest::parse("1m", None)?;
    /// let window = d.window_at("routes[2]", SystemTime::UNIX_EPOCH + Duration::from_secs(125));
    /// assert_eq!(window.to_string(), "routes[2]/120/60");
    /// # Ok::<(), stripe_chat_route::DigestError>(())
    /// ```
    pub fn window_at(&self, route: impl Into<String>, at: SystemTime) -> DigestWindow {
        let start = self
            .window_start(at)
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        DigestWindow::new(route, start, self.window.as_secs())
    }
}

/// One window of a route's digest: the route's label ([`Route::label`](crate::Route::label)),
/// when the window starts and how long it is. The events a route sends to a destination in one
/// window make one summary.
///
/// Its text form, `route/start/length` in Unix seconds (`sales/1700000100/900`), is the digest key
/// its jobs are stored with; [`DigestWindow::parse`] reads it back.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use stripe_chat_route::{Digest, DigestWindow};
///
/// let digest = Digest::parse("15m", None)?;
/// let window = digest.window_at("sales", SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_999));
/// assert_eq!(window, DigestWindow::new("sales", 1_700_000_100, 900));
/// assert_eq!(window.end(), 1_700_001_000);
/// assert_eq!(window.to_string(), "sales/1700000100/900");
/// assert_eq!(DigestWindow::parse("sales/1700000100/900"), Some(window));
/// # Ok::<(), stripe_chat_route::DigestError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DigestWindow {
    /// The route's label: its `name`, else `routes[i]`.
    pub route: String,
    /// When the window starts, in Unix seconds.
    pub start: i64,
    /// The window's length, in seconds.
    pub length_secs: u64,
}

impl DigestWindow {
    /// The window of `route` starting at `start` (Unix seconds), `length_secs` long.
    ///
    /// ```
    /// let w = stripe_chat_route::DigestWindow::new("routes[0]", 60, 60);
    /// assert_eq!((w.start, w.length_secs), (60, 60));
    /// ```
    pub fn new(route: impl Into<String>, start: i64, length_secs: u64) -> Self {
        DigestWindow {
            route: route.into(),
            start,
            length_secs,
        }
    }

    /// When the window ends, in Unix seconds.
    ///
    /// ```
    /// assert_eq!(stripe_chat_route::DigestWindow::new("r", 60, 60).end(), 120);
    /// ```
    pub fn end(&self) -> i64 {
        self.start
            .saturating_add(i64::try_from(self.length_secs).unwrap_or(i64::MAX))
    }

    /// Reads a key written by `Display` (`route/start/length`); `None` for text of another shape.
    /// The route's label may itself contain `/`.
    ///
    /// ```
    /// use stripe_chat_route::DigestWindow;
    /// assert_eq!(DigestWindow::parse("a/b/60/900"), Some(DigestWindow::new("a/b", 60, 900)));
    /// assert_eq!(DigestWindow::parse("sales/soon/900"), None);
    /// ```
    pub fn parse(key: &str) -> Option<Self> {
        let mut parts = key.rsplitn(3, '/');
        let length_secs = parts.next()?.parse().ok()?;
        let start = parts.next()?.parse().ok()?;
        let route = parts.next().filter(|r| !r.is_empty())?;
        Some(DigestWindow::new(route, start, length_secs))
    }
}

impl std::fmt::Display for DigestWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.route, self.start, self.length_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(text: &str) -> Option<u64> {
        parse_duration(text).map(|d| d.as_secs())
    }

    #[test]
    fn durations_are_read_in_seconds_minutes_hours_and_days() {
        assert_eq!(seconds("90s"), Some(90));
        assert_eq!(seconds("15m"), Some(900));
        assert_eq!(seconds("1h30m"), Some(5400));
        assert_eq!(seconds("1d"), Some(86_400));
        assert_eq!(seconds("1w"), Some(604_800));
        assert_eq!(seconds("2h 30min"), Some(9000));
        assert_eq!(seconds("1.5h"), Some(5400));
        for bad in [
            "",
            "15",
            "m",
            "-1s",
            "1fortnight",
            "500ms",
            "99999999999999999999999s",
        ] {
            assert_eq!(seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_window_of_zero_or_beyond_a_day_is_refused_by_key() {
        for bad in ["0s", "25h", "2d"] {
            let err = Digest::parse(bad, None).unwrap_err();
            assert_eq!(err.key(), "window", "{bad}");
            assert!(err.to_string().contains(bad), "{err}");
        }
        assert!(Digest::parse("24h", None).is_ok());
        assert_eq!(
            Digest::parse("soon", None).unwrap_err(),
            DigestError::NotADuration {
                text: "soon".into()
            }
        );
    }

    #[test]
    fn top_must_be_between_one_and_twenty() {
        for bad in [0, 21, -3] {
            let err = Digest::parse("1m", Some(bad)).unwrap_err();
            assert_eq!(err, DigestError::TopOutOfRange { top: bad });
        }
        assert_eq!(Digest::parse("1m", Some(20)).unwrap().top(), 20);
        assert_eq!(
            Digest::parse("1m", None).unwrap().top(),
            Digest::DEFAULT_TOP
        );
    }

    #[test]
    fn a_window_names_the_route_and_the_aligned_window_and_reads_back_from_its_key() {
        let digest = Digest::parse("15m", None).unwrap();
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_999);
        let window = digest.window_at("routes[2]", at);
        assert_eq!(window.to_string(), "routes[2]/1700000100/900");
        assert_eq!(DigestWindow::parse(&window.to_string()), Some(window));
        for bad in ["", "sales", "sales/1/x", "/1/2", "sales/x/2"] {
            assert_eq!(DigestWindow::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn windows_are_aligned_to_unix_time() {
        let d = Digest::parse("15m", None).unwrap();
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_999);
        let start = d.window_start(at);
        assert_eq!(start, UNIX_EPOCH + Duration::from_secs(1_700_000_100));
        assert_eq!(d.window_end(at), start + Duration::from_secs(900));
        assert_eq!(d.window_start(start), start, "a window starts in itself");
    }
}

//! [`Digest`]: a route's `digest = { window = "15m", top = 3 }`, collecting its events for a
//! window and posting one summary.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

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

    /// A digest from its settings as written: `window` as `90s`, `15m`, `2h`, `1h30m` or `1d`,
    /// `top` defaulting to [`Digest::DEFAULT_TOP`].
    ///
    /// ```
    /// let d = stripe_chat_route::Digest::parse("1h30m", Some(5))?;
    /// assert_eq!(d.window().as_secs(), 5400);
    /// assert!(stripe_chat_route::Digest::parse("15 minutes", None).is_err());
    /// # Ok::<(), stripe_chat_route::DigestError>(())
    /// ```
    pub fn parse(window: &str, top: Option<i64>) -> Result<Self, DigestError> {
        let seconds = parse_seconds(window).ok_or_else(|| DigestError::NotADuration {
            text: window.to_owned(),
        })?;
        let duration = Duration::from_secs(seconds);
        if seconds == 0 || duration > Self::MAX_WINDOW {
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
}

/// A duration as the configuration writes it (a digest's `window`, the store's `retention`):
/// one or more `<number><unit>` with unit `s`, `m`, `h` or `d` (`90s`, `15m`, `1h30m`, `30d`),
/// in whole seconds; `None` when `text` is not such a duration or overflows.
///
/// ```
/// use std::time::Duration;
/// use stripe_chat_route::parse_duration;
/// assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
/// assert_eq!(parse_duration("30d"), Some(Duration::from_secs(30 * 86_400)));
/// assert_eq!(parse_duration("30 days"), None);
/// ```
pub fn parse_duration(text: &str) -> Option<Duration> {
    parse_seconds(text).map(Duration::from_secs)
}

/// Whole seconds in `text`: one or more `<number><unit>` with unit `s`, `m`, `h` or `d`
/// (`90s`, `15m`, `1h30m`); `None` when it is not such a duration or overflows.
fn parse_seconds(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest.chars().next()?;
        let scale = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        rest = &rest[unit.len_utf8()..];
        total = total.checked_add(number.checked_mul(scale)?)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_in_seconds_minutes_hours_and_days() {
        assert_eq!(parse_seconds("90s"), Some(90));
        assert_eq!(parse_seconds("15m"), Some(900));
        assert_eq!(parse_seconds("1h30m"), Some(5400));
        assert_eq!(parse_seconds("1d"), Some(86_400));
        for bad in [
            "",
            "15",
            "m",
            "1.5h",
            "15 m",
            "-1s",
            "1w",
            "99999999999999999999s",
        ] {
            assert_eq!(parse_seconds(bad), None, "{bad:?}");
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
    fn windows_are_aligned_to_unix_time() {
        let d = Digest::parse("15m", None).unwrap();
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_999);
        let start = d.window_start(at);
        assert_eq!(start, UNIX_EPOCH + Duration::from_secs(1_700_000_100));
        assert_eq!(d.window_end(at), start + Duration::from_secs(900));
        assert_eq!(d.window_start(start), start, "a window starts in itself");
    }
}

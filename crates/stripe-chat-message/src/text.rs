//! Text helpers every adapter needs: limits counted in characters, and UTC timestamps.
//!
//! ```
//! use stripe_chat_message::text::{format_unix_utc, truncate};
//! assert_eq!(truncate("abcdef", 4), "abc…");
//! assert_eq!(format_unix_utc(0), "1970-01-01 00:00 UTC");
//! ```

use std::borrow::Cow;

/// The ellipsis appended to text cut by [`truncate`].
///
/// ```
/// assert_eq!(stripe_chat_message::text::ELLIPSIS.len_utf8(), 3);
/// ```
pub const ELLIPSIS: char = '…';

/// Cuts `text` to at most `max_chars` characters (Unicode scalar values), ending with `…` when cut.
///
/// ```
/// use stripe_chat_message::text::truncate;
/// assert_eq!(truncate("short", 10), "short");
/// assert_eq!(truncate("Zürich–Genève", 7), "Zürich…");
/// assert_eq!(truncate("abc", 0), "");
/// ```
pub fn truncate(text: &str, max_chars: usize) -> Cow<'_, str> {
    if max_chars == 0 {
        return Cow::Borrowed("");
    }
    match text.char_indices().nth(max_chars) {
        None => Cow::Borrowed(text),
        Some(_) => {
            let keep = max_chars - 1;
            let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
            let mut out = String::with_capacity(end + ELLIPSIS.len_utf8());
            out.push_str(&text[..end]);
            out.push(ELLIPSIS);
            Cow::Owned(out)
        }
    }
}

/// Cuts `text` to at most `max_units` UTF-16 code units (how some platforms count), ending with `…`.
///
/// ```
/// use stripe_chat_message::text::truncate_utf16;
/// assert_eq!(truncate_utf16("😀😀😀", 4), "😀…");
/// assert_eq!(truncate_utf16("abc", 3), "abc");
/// ```
pub fn truncate_utf16(text: &str, max_units: usize) -> Cow<'_, str> {
    if text.encode_utf16().count() <= max_units {
        return Cow::Borrowed(text);
    }
    if max_units == 0 {
        return Cow::Borrowed("");
    }
    let budget = max_units - 1; // the ellipsis is one unit
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        if used + c.len_utf16() > budget {
            break;
        }
        used += c.len_utf16();
        end = i + c.len_utf8();
    }
    let mut out = String::with_capacity(end + ELLIPSIS.len_utf8());
    out.push_str(&text[..end]);
    out.push(ELLIPSIS);
    Cow::Owned(out)
}

/// Number of characters (Unicode scalar values) in `text`.
///
/// ```
/// assert_eq!(stripe_chat_message::text::char_len("€5"), 2);
/// ```
pub fn char_len(text: &str) -> usize {
    text.chars().count()
}

/// Formats Unix seconds as `YYYY-MM-DD HH:MM UTC`.
///
/// ```
/// use stripe_chat_message::text::format_unix_utc;
/// assert_eq!(format_unix_utc(1_680_000_000), "2023-03-28 10:40 UTC");
/// ```
pub fn format_unix_utc(unix_seconds: i64) -> String {
    let (y, m, d, hh, mm, _) = civil_from_unix(unix_seconds);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02} UTC")
}

/// Formats Unix seconds as an RFC 3339 UTC timestamp (`YYYY-MM-DDTHH:MM:SSZ`).
///
/// ```
/// use stripe_chat_message::text::format_rfc3339;
/// assert_eq!(format_rfc3339(1_680_000_000), "2023-03-28T10:40:00Z");
/// ```
pub fn format_rfc3339(unix_seconds: i64) -> String {
    let (y, m, d, hh, mm, ss) = civil_from_unix(unix_seconds);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// Formats a duration in seconds for people: `3 days 4 h`, `5 h 12 min`, `42 min`, `less than a minute`.
///
/// ```
/// use stripe_chat_message::text::format_duration;
/// assert_eq!(format_duration(3 * 86_400 + 4 * 3_600 + 59), "3 days 4 h");
/// assert_eq!(format_duration(86_400), "1 day");
/// assert_eq!(format_duration(5 * 3_600 + 12 * 60), "5 h 12 min");
/// assert_eq!(format_duration(30), "less than a minute");
/// ```
pub fn format_duration(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let days = s / 86_400;
    let hours = (s % 86_400) / 3_600;
    let minutes = (s % 3_600) / 60;
    let plural = |n: u64, one: &str, many: &str| {
        if n == 1 {
            one.to_owned()
        } else {
            many.to_owned()
        }
    };
    if days > 0 {
        let mut out = format!("{days} {}", plural(days, "day", "days"));
        if hours > 0 {
            out.push_str(&format!(" {hours} h"));
        }
        out
    } else if hours > 0 {
        if minutes > 0 {
            format!("{hours} h {minutes} min")
        } else {
            format!("{hours} h")
        }
    } else if minutes > 0 {
        format!("{minutes} min")
    } else {
        "less than a minute".to_owned()
    }
}

/// (year, month, day, hour, minute, second) in UTC for Unix seconds (proleptic Gregorian).
fn civil_from_unix(unix_seconds: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    // Howard Hinnant's days_from_civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (secs / 3_600) as u32,
        ((secs % 3_600) / 60) as u32,
        (secs % 60) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_never_splits_a_character_and_respects_the_limit() {
        let text = "€".repeat(10);
        let cut = truncate(&text, 5);
        assert_eq!(char_len(&cut), 5);
        assert!(cut.ends_with(ELLIPSIS));
    }

    #[test]
    fn utc_formatting_handles_leap_days_and_negative_times() {
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
    }
}

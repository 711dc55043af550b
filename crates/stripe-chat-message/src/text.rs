//! Text helpers every adapter needs: limits counted in characters, UTC timestamps, cleaning of
//! event text (control and bidirectional characters, line breaks) and checks of the URLs it holds.
//!
//! Each adapter still escapes text for its own platform; what is here is what all of them do first.
//!
//! ```
//! use stripe_chat_message::text::{clean, format_unix_utc, http_url, truncate};
//! assert_eq!(truncate("abcdef", 4), "abc…");
//! assert_eq!(format_unix_utc(0), "1970-01-01 00:00 UTC");
//! assert_eq!(clean("in\u{0}voice\u{202E}gpj.exe"), "invoicegpj.exe");
//! assert_eq!(http_url("https://dashboard.stripe.com/", 2_048), Some("https://dashboard.stripe.com/"));
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

/// `text` without control characters other than line feeds (tabs become spaces) and without the
/// bidirectional embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069) that can
/// make text read backwards. A carriage return is a control character, so `\r\n` becomes `\n` and
/// a lone `\r` goes. Borrowed when there is nothing to drop.
///
/// ```
/// use std::borrow::Cow;
/// use stripe_chat_message::text::clean;
/// assert_eq!(clean("a\u{0}b\u{202E}c\td\r\ne"), "abc d\ne");
/// assert!(matches!(clean("Invoice paid\nJenny"), Cow::Borrowed(_)));
/// ```
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && kept(c) != Some(c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .filter_map(|c| if c == '\n' { Some(c) } else { kept(c) })
            .collect(),
    )
}

/// `text` with every line break (`\r\n`, `\r`, `\n`, U+0085, U+2028, U+2029) written as
/// `line_break` (`'\n'` keeps the lines, `' '` puts the text on one line), tabs as spaces, other
/// control characters and bidirectional controls dropped (as by [`clean`]), and the ends trimmed.
///
/// ```
/// use stripe_chat_message::text::clean_lines;
/// assert_eq!(clean_lines(" a\r\nb\rc\u{2028}d\u{202E}\u{7}\te ", '\n'), "a\nb\nc\nd e");
/// assert_eq!(clean_lines("Jenny\r\nRosen\n", ' '), "Jenny Rosen");
/// ```
pub fn clean_lines(text: &str, line_break: char) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push(line_break);
            }
            '\n' | '\u{85}' | '\u{2028}' | '\u{2029}' => out.push(line_break),
            c => out.extend(kept(c)),
        }
    }
    out.trim().to_owned()
}

/// `text` on one line: each line feed, carriage return and tab becomes a space (nothing else
/// changes, and nothing is trimmed).
///
/// ```
/// use stripe_chat_message::text::single_line;
/// assert_eq!(single_line("a\r\nb\tc"), "a  b c");
/// ```
pub fn single_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if matches!(c, '\n' | '\r' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Escaped text cut to fit in `max_chars` characters, and whether it had to be cut.
///
/// `escape(budget, out)` appends the escaped text to `out` while it fits in `budget` characters,
/// never splitting an escape, and returns whether all of it fitted. When it does not fit in
/// `max_chars`, the text is escaped again within one character less and `…` ([`ELLIPSIS`]) is
/// appended; with `max_chars` 0 the result is empty.
///
/// ```
/// use stripe_chat_message::text::escape_within;
/// // Doubles every `*`, never leaving half of a `**`.
/// fn stars(text: &str, budget: usize, out: &mut String) -> bool {
///     let mut used = 0;
///     for c in text.chars() {
///         let unit = if c == '*' { "**".to_owned() } else { c.to_string() };
///         let n = unit.chars().count();
///         if used + n > budget {
///             return false;
///         }
///         out.push_str(&unit);
///         used += n;
///     }
///     true
/// }
/// assert_eq!(escape_within(10, |budget, out| stars("a*b", budget, out)), ("a**b".to_owned(), false));
/// assert_eq!(escape_within(3, |budget, out| stars("a*b", budget, out)), ("a…".to_owned(), true));
/// assert_eq!(escape_within(0, |budget, out| stars("a*b", budget, out)), (String::new(), true));
/// ```
pub fn escape_within(
    max_chars: usize,
    mut escape: impl FnMut(usize, &mut String) -> bool,
) -> (String, bool) {
    let mut out = String::new();
    if escape(max_chars, &mut out) {
        return (out, false);
    }
    out.clear();
    if max_chars > 0 {
        escape(max_chars - 1, &mut out);
        out.push(ELLIPSIS);
    }
    (out, true)
}

/// Whether `url` starts with `https://` or `http://` (in any case) followed by something other
/// than `/`: an absolute web URL that names a host. Nothing else is checked.
fn is_absolute_http(url: &str) -> bool {
    let rest = strip_prefix_ignore_case(url, "https://")
        .or_else(|| strip_prefix_ignore_case(url, "http://"));
    rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
}

/// `url` when it is an absolute `https://` or `http://` URL (scheme in any case) naming a host, of
/// printable ASCII without quotes, angle brackets or backslashes, at most `max_bytes` long;
/// otherwise `None`. The URL is not trimmed or changed.
///
/// ```
/// use stripe_chat_message::text::http_url;
/// let url = "https://dashboard.stripe.com/invoices/in_1?x=1&y=2";
/// assert_eq!(http_url(url, 2_048), Some(url));
/// assert_eq!(http_url(url, 20), None);
/// assert_eq!(http_url("https://a b", 2_048), None);
/// assert_eq!(http_url("https://é.test", 2_048), None);
/// assert_eq!(http_url("HTTP://localhost:8080", 2_048), Some("HTTP://localhost:8080"));
/// assert_eq!(http_url("https:///path", 2_048), None);
/// assert_eq!(http_url("mailto:a@b", 2_048), None);
/// ```
pub fn http_url(url: &str, max_bytes: usize) -> Option<&str> {
    let ok = url.len() <= max_bytes
        && is_absolute_http(url)
        && url
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'<' | b'>' | b'\\'));
    ok.then_some(url)
}

/// `url`, trimmed, as a link target a chat platform can take: `None` unless it is an absolute
/// `http(s)` URL naming a host (as for [`http_url`]). Characters not allowed in URLs (space, `"`,
/// `<`, `>`, `\`, `^`, `` ` ``, `{`, `|`, `}`) and the ASCII characters in `also` (what ends a
/// link in the platform's markup) are percent-encoded; any other whitespace, control character or
/// bidirectional control refuses the URL, and so does a result longer than `max_chars`
/// characters.
///
/// ```
/// use stripe_chat_message::text::encode_http_url;
/// assert_eq!(
///     encode_http_url(" https://x.test/a b|(c) ", 100, &[]).as_deref(),
///     Some("https://x.test/a%20b%7C(c)")
/// );
/// assert_eq!(
///     encode_http_url("https://x.test/(c)", 100, &['(', ')']).as_deref(),
///     Some("https://x.test/%28c%29")
/// );
/// assert_eq!(encode_http_url("https://x.test/\nb", 100, &[]), None);
/// assert_eq!(encode_http_url("https://x.test/long", 10, &[]), None);
/// assert_eq!(encode_http_url("javascript:alert(1)", 100, &[]), None);
/// ```
pub fn encode_http_url(url: &str, max_chars: usize, also: &[char]) -> Option<String> {
    let url = url.trim();
    if !is_absolute_http(url) {
        return None;
    }
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            ' ' | '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}' => {
                out.push_str(&format!("%{:02X}", u32::from(c)));
            }
            c if also.contains(&c) => out.push_str(&format!("%{:02X}", u32::from(c))),
            c if c.is_whitespace() || c.is_control() || is_bidi_control(c) => return None,
            c => out.push(c),
        }
    }
    (out.chars().count() <= max_chars).then_some(out)
}

/// Whether `c` is a bidirectional embedding, override or isolate control (U+202A–U+202E,
/// U+2066–U+2069): invisible, and able to make text read backwards.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// What event text keeps of `c` (line breaks aside): tabs become spaces; control characters and
/// bidirectional controls are dropped.
fn kept(c: char) -> Option<char> {
    match c {
        '\t' => Some(' '),
        c if c.is_control() || is_bidi_control(c) => None,
        c => Some(c),
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
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
    fn clean_drops_odd_line_breaks_where_clean_lines_keeps_them_as_breaks() {
        let text = " a\rb\u{85}c\u{2028}d\te ";
        assert_eq!(clean(text), " abc\u{2028}d e ");
        assert_eq!(clean_lines(text, '\n'), "a\nb\nc\nd e");
        assert_eq!(clean_lines(text, ' '), "a b c d e");
    }

    #[test]
    fn encoded_urls_percent_encode_only_what_links_cannot_hold() {
        assert_eq!(
            encode_http_url("https://x.test/\"<>\\^`{|}", 100, &[]).as_deref(),
            Some("https://x.test/%22%3C%3E%5C%5E%60%7B%7C%7D")
        );
        assert_eq!(encode_http_url("https://x.test/\u{202E}", 100, &[]), None);
        assert_eq!(encode_http_url("https://x.test/a\u{a0}b", 100, &[]), None);
        assert_eq!(
            encode_http_url("https://x.test/é", 100, &[]).as_deref(),
            Some("https://x.test/é")
        );
    }

    #[test]
    fn utc_formatting_handles_leap_days_and_negative_times() {
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
    }
}

//! Making event text inert in Slack: mrkdwn escaping, plain text cleaning, safe links.
//!
//! Every string in a [`ChatMessage`](stripe_chat_message::ChatMessage) comes from Stripe data that
//! customers control (names, descriptions, metadata), so none of it may act as Slack markup.
//!
//! In `mrkdwn` text ([`mrkdwn`], [`mrkdwn_within`]):
//! - `&`, `<`, `>` become `&amp;`, `&lt;`, `&gt;` (Slack's documented escaping). This is what keeps
//!   `<!channel>`, `<@U123>` and `<https://evil.test|click>` from becoming live.
//! - Slack has no escape for its formatting characters, so they are replaced by look-alikes that
//!   Slack does not parse (the approach of the `jsx-slack` library): `*` → `∗` (U+2217),
//!   `~` → `∼` (U+223C), `` ` `` → `ˋ` (U+02CB), and `_` → `ˍ` (U+02CD), plus the full-width
//!   `＊` → `﹡`, `＿` → `⸏`, `｀` → `ˋ`. An `_` between two ASCII letters or digits is kept: Slack only
//!   formats at word boundaries, and Stripe ids, emails and metadata keys (`in_1Mt…`,
//!   `jenny_rosen@example.com`) must stay copyable. Inserting zero-width spaces does *not* work:
//!   Slack treats them as word boundaries, which turns formatting on rather than off.
//! - A `>` (or `＞`) that starts a line (after optional spaces) would start a block quote; a soft
//!   hyphen (U+00AD, invisible) is put before it.
//! - Control characters other than line feeds, and the bidirectional overrides that can make text
//!   read backwards (U+202A–U+202E, U+2066–U+2069), are dropped.
//!   Text is cleaned before it is trimmed, so a space that only such a character followed does
//!   not stay at the start or end of a title, label, tag or value.
//!
//! The renderer also marks every `mrkdwn` object `verbatim: true`, so Slack does not turn bare
//! URLs, `#channel` names or `@here` in event text into links or mentions.
//!
//! `plain_text` objects are never parsed by Slack, so [`plain_text_within`] only drops control
//! characters and cuts to length.
//!
//! ```
//! use stripe_chat_slack::escape;
//! assert_eq!(
//!     escape::mrkdwn("<!channel> *bold* & in_1Mt"),
//!     "&lt;!channel&gt; ∗bold∗ &amp; in_1Mt"
//! );
//! ```

use stripe_chat_message::text::{clean, encode_http_url, escape_within, single_line, truncate};

use crate::limits::{MAX_LINK_LABEL, MAX_URL};

const SOFT_HYPHEN: char = '\u{AD}';

/// Escapes `text` for a Slack `mrkdwn` text object (see the [module docs](self) for the rules).
///
/// ```
/// use stripe_chat_slack::escape::mrkdwn;
/// assert_eq!(mrkdwn("a <b> & _c_"), "a &lt;b&gt; &amp; ˍcˍ");
/// assert_eq!(mrkdwn("> quoted"), "\u{AD}&gt; quoted");
/// assert_eq!(mrkdwn("jenny_rosen@example.com"), "jenny_rosen@example.com");
/// ```
pub fn mrkdwn(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(text, usize::MAX, &mut out);
    out
}

/// Escapes `text` like [`mrkdwn`], keeping the result within `max_chars` characters: when it is too
/// long, it is cut between escaped characters (never inside `&amp;`) and ends with `…`.
///
/// ```
/// use stripe_chat_slack::escape::mrkdwn_within;
/// assert_eq!(mrkdwn_within("a & b", 10), "a &amp; b");
/// assert_eq!(mrkdwn_within("a & b", 6), "a …");
/// assert_eq!(mrkdwn_within("anything", 0), "");
/// ```
pub fn mrkdwn_within(text: &str, max_chars: usize) -> String {
    mrkdwn_cut(text, max_chars).0
}

/// [`mrkdwn_within`], also telling whether the text had to be cut.
pub(crate) fn mrkdwn_cut(text: &str, max_chars: usize) -> (String, bool) {
    escape_within(max_chars, |budget, out| escape_into(text, budget, out))
}

/// Cleans `text` for a `plain_text` object (drops control characters but line feeds, and
/// bidirectional overrides) and cuts it to `max_chars` characters, ending with `…` when cut.
///
/// ```
/// use stripe_chat_slack::escape::plain_text_within;
/// assert_eq!(plain_text_within("Refund <b>\u{7}", 20), "Refund <b>");
/// assert_eq!(plain_text_within("Refund payment", 7), "Refund…");
/// ```
pub fn plain_text_within(text: &str, max_chars: usize) -> String {
    truncate(&clean(text), max_chars).into_owned()
}

/// The URL as Slack may receive it in a button's `url`, or `None` when it is not an absolute
/// `http(s)` URL of at most [`MAX_URL`] characters. Characters that could end a `<url|label>`
/// link or are not allowed in URLs (`|`, `<`, `>`, space, `"`, `` ` ``, `\`, `^`, `{`, `}`) are
/// percent-encoded; a URL with other whitespace or control characters is refused.
///
/// ```
/// use stripe_chat_slack::escape::url;
/// assert_eq!(url(" https://x.test/a b|c ").as_deref(), Some("https://x.test/a%20b%7Cc"));
/// assert_eq!(url("javascript:alert(1)"), None);
/// assert_eq!(url("https://"), None);
/// ```
pub fn url(url: &str) -> Option<String> {
    encode_http_url(url, MAX_URL, &[])
}

/// A `mrkdwn` link `<url|label>`: the URL made safe by [`url`] with `&` escaped, the label escaped by
/// [`mrkdwn`] (its own `|` replaced by `¦`, line breaks by spaces, cut to
/// [`MAX_LINK_LABEL`]). An empty label gives `<url>`. `None` when the URL is refused or, escaped,
/// longer than [`MAX_URL`].
///
/// ```
/// use stripe_chat_slack::escape::link;
/// assert_eq!(
///     link("https://x.test/?a=1&b=2", "Q&A | *help*").as_deref(),
///     Some("<https://x.test/?a=1&amp;b=2|Q&amp;A ¦ ∗help∗>")
/// );
/// assert_eq!(link("https://x.test", "").as_deref(), Some("<https://x.test>"));
/// assert_eq!(link("ftp://x.test", "x"), None);
/// ```
pub fn link(url: &str, label: &str) -> Option<String> {
    let url = self::url(url)?.replace('&', "&amp;");
    if url.chars().count() > MAX_URL {
        return None;
    }
    // Cleaned before trimming: a space that only an invisible character followed is trimmed too.
    let label = clean(&single_line(label)).replace('|', "¦");
    let label = mrkdwn_within(label.trim(), MAX_LINK_LABEL);
    if label.is_empty() {
        Some(format!("<{url}>"))
    } else {
        Some(format!("<{url}|{label}>"))
    }
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Appends the escaped `text` to `out` while it fits in `budget` characters. Returns whether all of
/// it fitted; when not, `out` holds the longest prefix of whole escaped characters that fits.
fn escape_into(text: &str, budget: usize, out: &mut String) -> bool {
    let mut used = 0usize;
    let mut prev: Option<char> = None;
    let mut line_start = true;
    let mut unit = String::with_capacity(8);
    // Work on the cleaned text, so neighbours are what Slack will see.
    let text = clean(text);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        unit.clear();
        match c {
            '&' => unit.push_str("&amp;"),
            '<' => unit.push_str("&lt;"),
            '>' | '＞' => {
                if line_start {
                    unit.push(SOFT_HYPHEN);
                }
                if c == '>' {
                    unit.push_str("&gt;")
                } else {
                    unit.push(c)
                }
            }
            '*' => unit.push('∗'),
            '＊' => unit.push('﹡'),
            '_' if is_word(prev) && is_word(next) => unit.push('_'),
            '_' => unit.push('ˍ'),
            '＿' => unit.push('⸏'),
            '~' => unit.push('∼'),
            '`' | '｀' => unit.push('ˋ'),
            c => unit.push(c),
        }
        let n = unit.chars().count();
        if used.saturating_add(n) > budget {
            return false;
        }
        out.push_str(&unit);
        used += n;
        line_start = c == '\n' || (line_start && c == ' ');
        prev = Some(c);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use stripe_chat_message::text::ELLIPSIS;

    const HOSTILE: &str = "<!channel> *bold* <https://evil.test|click> @everyone \
        <script>alert(1)</script> & ||spoiler|| [x](https://evil.test) <@123456789>";

    #[test]
    fn hostile_customer_name_has_no_live_markup_left() {
        let out = mrkdwn(HOSTILE);
        assert!(!out.contains('<') && !out.contains('>'), "{out}");
        for c in ['*', '_', '~', '`'] {
            assert!(!out.contains(c), "{c} left in {out}");
        }
        assert!(out.starts_with("&lt;!channel&gt; ∗bold∗ &lt;https://evil.test|click&gt;"));
        assert!(out.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; ||spoiler||"));
        assert!(out.ends_with("&lt;@123456789&gt;"));
    }

    #[test]
    fn every_ampersand_in_output_starts_an_entity_we_wrote() {
        let out = mrkdwn("&amp; &lt; & &&");
        assert_eq!(out, "&amp;amp; &amp;lt; &amp; &amp;&amp;");
    }

    #[test]
    fn underscores_inside_ids_and_emails_stay_but_word_edges_are_replaced() {
        assert_eq!(mrkdwn("cus_NffrFeUfNV2Hib"), "cus_NffrFeUfNV2Hib");
        assert_eq!(mrkdwn("_x_ a_ _b snake_case_"), "ˍxˍ aˍ ˍb snake_caseˍ");
    }

    #[test]
    fn block_quote_markers_only_get_a_soft_hyphen_at_line_start() {
        assert_eq!(
            mrkdwn("a > b\n  > c\n＞d"),
            "a &gt; b\n  \u{AD}&gt; c\n\u{AD}＞d"
        );
    }

    #[test]
    fn code_and_strike_markers_are_replaced() {
        assert_eq!(mrkdwn("`rm -rf` ~gone~ ```x```"), "ˋrm -rfˋ ∼gone∼ ˋˋˋxˋˋˋ");
    }

    #[test]
    fn control_and_bidi_characters_are_dropped_and_tabs_become_spaces() {
        assert_eq!(mrkdwn("a\u{0}b\u{202E}c\td\r\ne"), "abc d\ne");
    }

    #[test]
    fn underscore_rule_looks_at_the_neighbours_slack_will_see() {
        assert_eq!(mrkdwn("a\u{7f}_b"), "a_b");
        assert_eq!(mrkdwn("a_\u{0} b"), "aˍ b");
    }

    #[test]
    fn truncation_never_splits_an_entity() {
        for max in 0..12 {
            let out = mrkdwn_within("ab&&&&&&", max);
            assert!(out.chars().count() <= max, "{max}: {out}");
            let body = out.trim_end_matches(ELLIPSIS);
            assert_eq!(
                body.matches('&').count(),
                body.matches("&amp;").count(),
                "{out}"
            );
        }
    }

    #[test]
    fn truncated_text_ends_with_an_ellipsis() {
        assert_eq!(mrkdwn_within("abcdef", 4), "abc…");
        assert_eq!(mrkdwn_within("abc", 3), "abc");
    }

    #[test]
    fn urls_are_limited_to_http_and_cannot_break_out_of_a_link() {
        assert_eq!(url("HTTPS://X.test/p").as_deref(), Some("HTTPS://X.test/p"));
        assert_eq!(
            url("https://x.test/a>b<c|d").as_deref(),
            Some("https://x.test/a%3Eb%3Cc%7Cd")
        );
        assert_eq!(url("https://x.test/\nb"), None);
        assert_eq!(url("data:text/html,hi"), None);
        assert_eq!(url("https:///path"), None);
        assert_eq!(
            url(&format!("https://x.test/{}", "a".repeat(MAX_URL))),
            None
        );
    }

    #[test]
    fn link_labels_are_escaped_and_cannot_close_the_link() {
        let out = link("https://x.test", "<b>|x>\ny").expect("valid URL");
        assert_eq!(out, "<https://x.test|&lt;b&gt;¦x&gt; y>");
    }

    #[test]
    fn plain_text_keeps_markup_characters_but_drops_controls() {
        assert_eq!(plain_text_within("*a* <b>\u{1b}[31m", 50), "*a* <b>[31m");
    }
}

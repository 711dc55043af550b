//! Making event text inert in Discord: markdown escaping, mention neutralizing, safe links.
//!
//! Every string in a [`ChatMessage`](stripe_chat_message::ChatMessage) comes from Stripe data that
//! customers control, so none of it may act as Discord markdown or as a mention.
//!
//! In text Discord renders as markdown (embed title, description, field names and values) —
//! [`markdown`], [`markdown_within`]:
//! - A backslash goes before `\`, `*`, `_`, `~`, `` ` ``, `|` (spoilers), `[`, `]` (masked links) and
//!   `<` (so `<@123>`, `<@&123>`, `<#123>`, `<t:0>` and `<:emoji:1>` show as typed), and before
//!   what only means something at the start of a line (after optional spaces): `>` (quotes), `#`
//!   (headings), `-` and `+` (lists, `-#` subtext), and the `.` of `1. ` (numbered lists).
//!   Discord's markdown treats a backslash before any punctuation as an escape and shows the
//!   punctuation alone. An `_` between two ASCII letters or digits is left alone, as Discord only
//!   starts italics at a word boundary: Stripe ids, emails and codes (`in_1Mt…`,
//!   `insufficient_funds`) stay as typed in the JSON and in notifications.
//! - `@everyone` and `@here` (any case) get a zero-width space (U+200B) after the `@`, so they look
//!   inert even where Discord would otherwise render them.
//! - Control characters other than line feeds, and the bidirectional overrides that can make text
//!   read backwards (U+202A–U+202E, U+2066–U+2069), are dropped; tabs become spaces.
//!   Text is cleaned before it is trimmed, so a space that only such a character followed does
//!   not stay at the start or end of a title, label, tag or value.
//!
//! The footer, button labels and the username are not markdown in Discord, so [`plain_within`] only
//! drops control characters and neutralizes `@everyone`/`@here`. Mentions never ping anyway: every
//! body carries `"allowed_mentions": {"parse": []}`.
//!
//! ```
//! use stripe_chat_discord::escape;
//! assert_eq!(escape::markdown("@everyone *bold* <@123>"), "@\u{200B}everyone \\*bold\\* \\<@123>");
//! ```

use stripe_chat_message::text::{clean, encode_http_url, escape_within, single_line, truncate};

use crate::limits::MAX_LINK_LABEL;

const ZWSP: &str = "\u{200B}";

/// Escapes `text` for Discord markdown (see the [module docs](self) for the rules).
///
/// ```
/// use stripe_chat_discord::escape::markdown;
/// assert_eq!(markdown("||spoiler|| [x](https://evil.test)"), "\\|\\|spoiler\\|\\| \\[x\\](https://evil.test)");
/// assert_eq!(markdown("# Title\n- item\n2. step\nOrder #2 - ok"), "\\# Title\n\\- item\n2\\. step\nOrder #2 - ok");
/// ```
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(text, usize::MAX, &mut out);
    out
}

/// Escapes `text` like [`markdown`], keeping the result within `max_chars` characters: when it is
/// too long, it is cut between escaped characters (never between a backslash and what it escapes)
/// and ends with `…`.
///
/// ```
/// use stripe_chat_discord::escape::markdown_within;
/// assert_eq!(markdown_within("a*b", 10), "a\\*b");
/// assert_eq!(markdown_within("a*b", 3), "a…");
/// assert_eq!(markdown_within("anything", 0), "");
/// ```
pub fn markdown_within(text: &str, max_chars: usize) -> String {
    markdown_cut(text, max_chars).0
}

/// [`markdown_within`], also telling whether the text had to be cut.
pub(crate) fn markdown_cut(text: &str, max_chars: usize) -> (String, bool) {
    escape_within(max_chars, |budget, out| escape_into(text, budget, out))
}

/// Cleans `text` for a place Discord shows as plain text (footer, button label, username): drops
/// control characters but line feeds and bidirectional overrides, puts a zero-width space after the
/// `@` of `@everyone`/`@here`, and cuts to `max_chars` characters, ending with `…` when cut.
///
/// ```
/// use stripe_chat_discord::escape::plain_within;
/// assert_eq!(plain_within("*ping* @here\u{7}", 40), "*ping* @\u{200B}here");
/// assert_eq!(plain_within("Refund payment", 7), "Refund…");
/// ```
pub fn plain_within(text: &str, max_chars: usize) -> String {
    let text = clean(text);
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        out.push(c);
        if c == '@' && names_everyone(&text[i + 1..]) {
            out.push_str(ZWSP);
        }
    }
    truncate(&out, max_chars).into_owned()
}

/// The URL as Discord may receive it (embed `url`, link button `url`, masked link target), or
/// `None` when it is not an absolute `http(s)` URL of at most `max_chars` characters. Characters
/// that could end a masked link or are not allowed in URLs (`(`, `)`, `<`, `>`, space, `"`, `` ` ``,
/// `\`, `^`, `{`, `|`, `}`) are percent-encoded; other whitespace or control characters refuse it.
///
/// ```
/// use stripe_chat_discord::escape::url;
/// assert_eq!(url("https://x.test/a (b)", 512).as_deref(), Some("https://x.test/a%20%28b%29"));
/// assert_eq!(url("javascript:alert(1)", 512), None);
/// assert_eq!(url("https://x.test/long", 10), None);
/// ```
pub fn url(url: &str, max_chars: usize) -> Option<String> {
    // Parentheses would end a masked link's target.
    encode_http_url(url, max_chars, &['(', ')'])
}

/// A masked link `[label](url)`: the label escaped by [`markdown`] (on one line, cut to
/// [`MAX_LINK_LABEL`]), the URL made safe by [`url`] within `max_url_chars`. An empty label becomes
/// `Link` (a bare URL could still be read as markdown). `None` when the URL is refused.
///
/// ```
/// use stripe_chat_discord::escape::masked_link;
/// assert_eq!(
///     masked_link("https://x.test/a)b", "[Open] *now*", 512).as_deref(),
///     Some("[\\[Open\\] \\*now\\*](https://x.test/a%29b)")
/// );
/// assert_eq!(masked_link("https://x.test", " ", 512).as_deref(), Some("[Link](https://x.test)"));
/// assert_eq!(masked_link("ftp://x.test", "x", 512), None);
/// ```
pub fn masked_link(url: &str, label: &str, max_url_chars: usize) -> Option<String> {
    let url = self::url(url, max_url_chars)?;
    // Cleaned before trimming: a space that only an invisible character followed is trimmed too.
    let label = markdown_within(clean(&single_line(label)).trim(), MAX_LINK_LABEL);
    let label = if label.is_empty() { "Link" } else { &label };
    Some(format!("[{label}]({url})"))
}

/// Whether `rest` (the text after an `@`) starts with `everyone` or `here`, in any case.
fn names_everyone(rest: &str) -> bool {
    ["everyone", "here"].iter().any(|word| {
        rest.get(..word.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(word))
    })
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Appends the escaped `text` to `out` while it fits in `budget` characters. Returns whether all of
/// it fitted; when not, `out` holds the longest prefix of whole escaped characters that fits.
fn escape_into(text: &str, budget: usize, out: &mut String) -> bool {
    let mut used = 0usize;
    let mut line_start = true;
    let mut leading_number = false;
    let mut unit = String::with_capacity(8);
    // Escape the cleaned text, so a dropped character cannot hide `@everyone` (`@\u{7f}everyone`).
    let text = clean(text);
    for (i, c) in text.char_indices() {
        unit.clear();
        let prev = text[..i].chars().next_back();
        let next = text[i + c.len_utf8()..].chars().next();
        match c {
            '_' if is_word(prev) && is_word(next) => unit.push('_'),
            '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '<' => {
                unit.push('\\');
                unit.push(c);
            }
            '>' | '#' | '-' | '+' if line_start => {
                unit.push('\\');
                unit.push(c);
            }
            '.' if leading_number && next.is_none_or(|n| n == ' ' || n == '\n') => {
                unit.push_str("\\.");
            }
            '@' if names_everyone(&text[i + 1..]) => {
                unit.push('@');
                unit.push_str(ZWSP);
            }
            c => unit.push(c),
        }
        let n = unit.chars().count();
        if used.saturating_add(n) > budget {
            return false;
        }
        out.push_str(&unit);
        used += n;
        leading_number = c.is_ascii_digit() && (line_start || leading_number);
        line_start = c == '\n' || (line_start && c == ' ');
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use stripe_chat_message::text::ELLIPSIS;

    const HOSTILE: &str = "<!channel> *bold* <https://evil.test|click> @everyone \
        <script>alert(1)</script> & ||spoiler|| [x](https://evil.test) <@123456789>";

    /// Characters of `escaped` that are not preceded by a backslash escape.
    fn unescaped(escaped: &str) -> String {
        let mut out = String::new();
        let mut chars = escaped.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                chars.next();
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn hostile_customer_name_has_no_live_markdown_or_mentions() {
        let out = markdown(HOSTILE);
        let bare = unescaped(&out);
        for c in ['*', '_', '~', '`', '|', '[', ']', '<', '\\'] {
            assert!(!bare.contains(c), "unescaped {c} in {out}");
        }
        assert!(!out.contains("@everyone"), "{out}");
        assert_eq!(
            out,
            "\\<!channel> \\*bold\\* \\<https://evil.test\\|click> @\u{200B}everyone \
             \\<script>alert(1)\\</script> & \\|\\|spoiler\\|\\| \\[x\\](https://evil.test) \
             \\<@123456789>"
        );
    }

    #[test]
    fn everyone_and_here_are_neutralized_in_any_case_but_other_at_signs_stay() {
        assert_eq!(
            markdown("@Everyone @HERE @hereford"),
            "@\u{200B}Everyone @\u{200B}HERE @\u{200B}hereford"
        );
        assert_eq!(
            markdown("jenny@example.com @jenny"),
            "jenny@example.com @jenny"
        );
    }

    #[test]
    fn line_start_markers_are_escaped_only_at_line_start() {
        assert_eq!(
            markdown("> quote\n  >>> more\na > b"),
            "\\> quote\n  \\>>> more\na > b"
        );
        assert_eq!(
            markdown("-# small\n+ plus\n12. twelve\n1.5 USD\n3."),
            "\\-# small\n\\+ plus\n12\\. twelve\n1.5 USD\n3\\."
        );
        assert_eq!(markdown("Total 1. fine"), "Total 1. fine");
    }

    #[test]
    fn underscores_inside_words_stay_but_word_edges_are_escaped() {
        assert_eq!(
            markdown("cus_Nff insufficient_funds"),
            "cus_Nff insufficient_funds"
        );
        assert_eq!(
            markdown("_x_ a_ __b__ a__b"),
            "\\_x\\_ a\\_ \\_\\_b\\_\\_ a\\_\\_b"
        );
    }

    #[test]
    fn backslashes_are_doubled_so_they_cannot_escape_our_escapes() {
        assert_eq!(markdown("\\*"), "\\\\\\*");
    }

    #[test]
    fn control_and_bidi_characters_are_dropped() {
        assert_eq!(markdown("a\u{0}b\u{202E}c\td\r\ne"), "abc d\ne");
    }

    #[test]
    fn dropped_characters_cannot_hide_a_mass_mention() {
        assert_eq!(
            markdown("@\u{7f}everyone @\u{202E}here"),
            "@\u{200B}everyone @\u{200B}here"
        );
        assert_eq!(plain_within("@\u{0}here", 20), "@\u{200B}here");
    }

    #[test]
    fn truncation_never_leaves_a_dangling_backslash() {
        for max in 0..12 {
            let out = markdown_within("a**********", max);
            assert!(out.chars().count() <= max, "{max}: {out}");
            let body = out.trim_end_matches(ELLIPSIS);
            assert!(!body.ends_with('\\'), "{out}");
        }
    }

    #[test]
    fn zero_width_space_after_at_counts_toward_the_limit() {
        assert_eq!(markdown_within("@here", 6), "@\u{200B}here");
        assert_eq!(markdown_within("@here", 5), "@\u{200B}he…");
    }

    #[test]
    fn urls_are_limited_to_http_and_cannot_close_a_masked_link() {
        assert_eq!(
            url("https://x.test/a)](b", 512).as_deref(),
            Some("https://x.test/a%29]%28b")
        );
        assert_eq!(url("https://x.test/\tb", 512), None);
        assert_eq!(url("mailto:a@b.test", 512), None);
    }

    #[test]
    fn plain_text_neutralizes_mass_mentions_only() {
        assert_eq!(
            plain_within("@everyone <@1> *x*", 100),
            "@\u{200B}everyone <@1> *x*"
        );
    }
}

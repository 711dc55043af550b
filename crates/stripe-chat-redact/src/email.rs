//! Email address masking in free text.

use std::borrow::Cow;

/// `text` with the local part of every email address reduced to its first character and `•••`:
/// `jenny.rosen@example.com` becomes `j•••@example.com`. The domain is kept.
///
/// An address is a local part of letters, digits and `._%+-` (starting with a letter or digit),
/// `@`, and a domain of at least two dot-separated labels whose last label has two or more letters.
/// Borrows `text` (no allocation) when it holds no address; masking a masked text changes nothing.
///
/// ```
/// use stripe_chat_redact::mask_emails;
///
/// assert_eq!(mask_emails("Receipt sent to jenny.rosen@example.com."), "Receipt sent to j•••@example.com.");
/// assert_eq!(mask_emails("mailto:billing+eu@stripe.dev"), "mailto:b•••@stripe.dev");
/// assert_eq!(mask_emails("@channel, see in_1MtHbELkdIwHu7ixl4OzzPMv"), "@channel, see in_1MtHbELkdIwHu7ixl4OzzPMv");
/// ```
pub fn mask_emails(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = bytes[search..].iter().position(|&b| b == b'@') {
        let at = search + found;
        let Some((start, end)) = email_around(text, at, copied) else {
            search = at + 1;
            continue;
        };
        let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
        out.push_str(&text[copied..start]);
        out.extend(text[start..].chars().next());
        out.push_str("•••");
        out.push_str(&text[at..end]);
        copied = end;
        search = end;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
    }
}

fn is_local_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

/// The span of the email address whose `@` is at `at`, not starting before `floor`.
fn email_around(text: &str, at: usize, floor: usize) -> Option<(usize, usize)> {
    let mut start = at;
    for (i, c) in text[floor..at].char_indices().rev() {
        if !is_local_char(c) {
            break;
        }
        start = floor + i;
    }
    // The local part starts at its first letter or digit.
    let local = &text[start..at];
    let skip = local.find(|c: char| c.is_alphanumeric())?;
    start += skip;

    let rest = &text[at + 1..];
    let len = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '-' || c == '.'))
        .unwrap_or(rest.len());
    let domain = rest[..len].trim_end_matches(['.', '-']);
    let mut labels = domain.split('.');
    let first = labels.next()?;
    let mut last = first;
    let mut count = 1;
    for label in labels {
        if label.is_empty() {
            return None;
        }
        last = label;
        count += 1;
    }
    let valid = count >= 2
        && first.starts_with(|c: char| c.is_alphanumeric())
        && last.chars().count() >= 2
        && last.chars().all(char::is_alphabetic);
    valid.then_some((start, at + 1 + domain.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_in_free_text_keeps_first_character_and_domain() {
        assert_eq!(
            mask_emails("Contact jenny@example.com now"),
            "Contact j•••@example.com now"
        );
    }

    #[test]
    fn several_emails_in_one_text_are_all_masked() {
        assert_eq!(
            mask_emails("a.b@x.io, <c+d@y.co.uk>; e_f@z.dev."),
            "a•••@x.io, <c•••@y.co.uk>; e•••@z.dev."
        );
    }

    #[test]
    fn email_with_unicode_local_part_is_masked_from_its_first_letter() {
        assert_eq!(mask_emails("„jörg@beispiel.de“"), "„j•••@beispiel.de“");
    }

    #[test]
    fn local_part_starts_at_a_letter_or_digit() {
        assert_eq!(mask_emails("(.jenny@example.com)"), "(.j•••@example.com)");
        assert_eq!(
            mask_emails("+4915123456787@example.com"),
            "+4•••@example.com"
        );
    }

    #[test]
    fn at_signs_that_are_not_addresses_are_left_alone() {
        for text in [
            "@here",
            "a@b",
            "user@localhost",
            "x@1.2",
            "a@b..com",
            "ping @ 10:40",
            "a@-b.c",
        ] {
            assert!(matches!(mask_emails(text), Cow::Borrowed(_)), "{text}");
        }
    }

    #[test]
    fn masking_a_masked_email_changes_nothing() {
        let once = mask_emails("jenny@example.com").into_owned();
        assert!(matches!(mask_emails(&once), Cow::Borrowed(_)));
    }
}

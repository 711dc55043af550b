//! Card number (PAN) detection and masking, in one pass over the bytes and without allocating
//! when nothing matches.
//!
//! A candidate is a maximal run of ASCII digits in which single spaces or single dashes may separate
//! digit groups. Within a run, a *window* of whole groups is a card number when:
//! - it holds 13 to 19 digits and passes the Luhn check;
//! - it is a single unseparated group, or it is card-shaped: one kind of separator throughout,
//!   every group but the last of 4 to 6 digits, the last of 1 to 6 (`4242 4242 4242 4242`,
//!   `3782 822463 10005`, `6011-1111-1111-1111-110`);
//! - as a single group, it is not a millisecond, microsecond or nanosecond Unix timestamp (see
//!   [`find_card_numbers`]).
//!
//! Runs directly after `+` with at most 15 digits are phone numbers (E.164) and digits inside a
//! Stripe-id-like token (`ch_3MmlLrLkdIwHu7ix0snN0B15`) are never touched.

use std::borrow::Cow;
use std::iter::FusedIterator;
use std::ops::Range;

/// The bullets that replace hidden characters.
pub(crate) const BULLETS: &str = "••••";

const MIN_DIGITS: usize = 13;
const MAX_DIGITS: usize = 19;
/// Most digits an E.164 phone number has.
const E164_MAX_DIGITS: usize = 15;
/// 2000-01-01T00:00:00Z in Unix seconds.
const TIMESTAMP_MIN_SECONDS: u64 = 946_684_800;
/// 2100-01-01T00:00:00Z in Unix seconds.
const TIMESTAMP_MAX_SECONDS: u64 = 4_102_444_800;

/// The byte ranges of the card numbers (PANs) in `text`, left to right.
///
/// Each range starts at the first digit and ends after the last digit of one card number; it may
/// include the single spaces or dashes between its digit groups. The rules:
/// - digits may touch letters (`x4242424242424242` is found), but digits inside a Stripe-id-like
///   token (`[a-z]+(_[a-z]+)*_[A-Za-z0-9]+` starting a word, e.g. `pi_1234567890123456789`) are
///   never reported;
/// - a run of groups with more than 19 digits, or failing the Luhn check as a whole, is searched
///   for shorter windows of whole groups (`4242 4242 4242 4242 123` reports the first 16 digits);
///   windows that overlap are reported as one range, so that a window starting before a card
///   number cannot leave part of it unreported; an unseparated run of more than 19 digits is not
///   a card number;
/// - an unseparated run that reads as Unix seconds between 2000-01-01 and 2100-01-01 followed by
///   3, 6 or 9 more digits (a timestamp in ms, µs or ns: 13, 16 or 19 digits, or 15 and 18
///   before 2001-09-09) is not a card number, **unless** it starts with 2 to 6: card networks
///   (Mastercard 2-series, JCB, Visa, ...) issue numbers there that cannot be told apart from a
///   timestamp after 2039, so those count as card numbers. In effect ms, µs and ns timestamps up
///   to 2033-05-18 are left alone.
///
/// ```
/// use stripe_chat_redact::find_card_numbers;
///
/// let text = "Jenny 4242 4242 4242 4242 Rosen paid ch_3MmlLrLkdIwHu7ix0snN0B15 at 1764151200000";
/// let spans: Vec<_> = find_card_numbers(text).collect();
/// assert_eq!(spans, vec![6..25]);
/// assert_eq!(&text[spans[0].clone()], "4242 4242 4242 4242");
/// ```
pub fn find_card_numbers(text: &str) -> CardNumbers<'_> {
    CardNumbers {
        bytes: text.as_bytes(),
        pos: 0,
        run: None,
    }
}

/// Iterator over the card numbers of a text, from [`find_card_numbers`].
///
/// ```
/// let mut found = stripe_chat_redact::find_card_numbers("5555-5555-5555-4444");
/// assert_eq!(found.next(), Some(0..19));
/// assert_eq!(found.next(), None);
/// ```
#[derive(Debug, Clone)]
pub struct CardNumbers<'a> {
    bytes: &'a [u8],
    /// Where scanning outside a run resumes.
    pos: usize,
    /// The run being searched for windows, if any.
    run: Option<Run>,
}

#[derive(Debug, Clone)]
struct Run {
    /// Start of the next group a window may start at.
    next_group: Option<usize>,
    /// End of the run.
    end: usize,
    /// The card number found so far, which later overlapping windows may still extend.
    pending: Option<Range<usize>>,
}

impl Iterator for CardNumbers<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        let bytes = self.bytes;
        loop {
            if let Some(run) = &mut self.run {
                while let Some(group) = run.next_group {
                    run.next_group = next_group_start(bytes, group_end(bytes, group));
                    let Some(window) = longest_card_window(bytes, group) else {
                        continue;
                    };
                    match &mut run.pending {
                        // Overlapping windows merge: either may be the real card number.
                        Some(pending) if window.start < pending.end => {
                            pending.end = pending.end.max(window.end);
                        }
                        Some(pending) => return Some(std::mem::replace(pending, window)),
                        None => run.pending = Some(window),
                    }
                }
                let pending = run.pending.take();
                self.pos = run.end;
                self.run = None;
                if pending.is_some() {
                    return pending;
                }
            }
            // Outside a run: skip to the next digit that is not part of a Stripe id.
            while let Some(&b) = bytes.get(self.pos) {
                if b.is_ascii_digit() {
                    break;
                }
                if b.is_ascii_lowercase()
                    && starts_word(bytes, self.pos)
                    && let Some(end) = stripe_id_end(bytes, self.pos)
                {
                    self.pos = end;
                    continue;
                }
                self.pos += 1;
            }
            let start = self.pos;
            if start >= bytes.len() {
                return None;
            }
            let (end, digits) = scan_run(bytes, start);
            let after_plus = start > 0 && bytes[start - 1] == b'+' && starts_word(bytes, start - 1);
            let phone = after_plus && digits <= E164_MAX_DIGITS;
            self.run = Some(Run {
                next_group: (!phone).then_some(start),
                end,
                pending: None,
            });
        }
    }
}

impl FusedIterator for CardNumbers<'_> {}

/// `text` with every card number replaced by `•••• ` and its last four digits.
///
/// Borrows `text` (no allocation) when it holds no card number. Masking is repeated until
/// nothing is found, so masking the result again changes nothing. See [`find_card_numbers`] for
/// what counts as a card number.
///
/// ```
/// use stripe_chat_redact::mask_card_numbers;
/// use std::borrow::Cow;
///
/// assert_eq!(mask_card_numbers("Jenny 4242 4242 4242 4242 Rosen"), "Jenny •••• 4242 Rosen");
/// assert_eq!(mask_card_numbers("Amex 378282246310005."), "Amex •••• 0005.");
/// assert_eq!(mask_card_numbers("https://x.test/?pan=5555-5555-5555-4444"), "https://x.test/?pan=•••• 4444");
/// // Stripe ids, timestamps, dates and amounts are left alone, without allocating.
/// let text = "ch_3MmlLrLkdIwHu7ix0snN0B15 1764151200123 2026-11-26 12,345.67 USD";
/// assert!(matches!(mask_card_numbers(text), Cow::Borrowed(_)));
/// ```
pub fn mask_card_numbers(text: &str) -> Cow<'_, str> {
    let mut spans = find_card_numbers(text);
    let Some(first) = spans.next() else {
        return Cow::Borrowed(text);
    };
    let mut masked = mask_spans(text, first, spans);
    // A kept last four can join the digits after it into a new candidate; mask to a fixed point
    // so that masking is idempotent. Each round hides at least 9 digits, so this ends.
    loop {
        let mut again = find_card_numbers(&masked);
        let Some(first) = again.next() else {
            break;
        };
        let next = mask_spans(&masked, first, again);
        masked = next;
    }
    Cow::Owned(masked)
}

fn mask_spans(text: &str, first: Range<usize>, rest: CardNumbers<'_>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for span in std::iter::once(first).chain(rest) {
        out.push_str(&text[copied..span.start]);
        out.push_str(BULLETS);
        out.push(' ');
        let mut last_four = ['0'; 4];
        let digits = text.as_bytes()[span.clone()]
            .iter()
            .rev()
            .filter(|b| b.is_ascii_digit());
        for (slot, &digit) in last_four.iter_mut().rev().zip(digits) {
            *slot = char::from(digit);
        }
        out.extend(last_four);
        copied = span.end;
    }
    out.push_str(&text[copied..]);
    out
}

/// Whether a word could start at `pos`: the byte before it is not an ASCII letter, digit or `_`.
pub(crate) fn starts_word(bytes: &[u8], pos: usize) -> bool {
    pos == 0 || !is_word_byte(bytes[pos - 1])
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The end of the Stripe-id-like token `[a-z]+(_[a-z]+)*_[A-Za-z0-9]+` starting at `start`, if any.
fn stripe_id_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while i < bytes.len() && bytes[i].is_ascii_lowercase() {
        i += 1;
    }
    let mut end = None;
    while i + 1 < bytes.len() && bytes[i] == b'_' && bytes[i + 1].is_ascii_alphanumeric() {
        let mut j = i + 1;
        let mut lowercase = true;
        while j < bytes.len() && bytes[j].is_ascii_alphanumeric() {
            lowercase &= bytes[j].is_ascii_lowercase();
            j += 1;
        }
        end = Some(j);
        if !lowercase {
            // A segment with digits or capitals can only be the last one.
            break;
        }
        i = j;
    }
    end
}

fn is_separator(b: u8) -> bool {
    b == b' ' || b == b'-'
}

fn group_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    end
}

/// The start of the group after the group ending at `end`, if the run goes on.
fn next_group_start(bytes: &[u8], end: usize) -> Option<usize> {
    match (bytes.get(end), bytes.get(end + 1)) {
        (Some(&sep), Some(digit)) if is_separator(sep) && digit.is_ascii_digit() => Some(end + 1),
        _ => None,
    }
}

/// The end of the run starting at `start` and how many digits it holds.
fn scan_run(bytes: &[u8], start: usize) -> (usize, usize) {
    let mut digits = 0;
    let mut group = start;
    loop {
        let end = group_end(bytes, group);
        digits += end - group;
        match next_group_start(bytes, end) {
            Some(next) => group = next,
            None => return (end, digits),
        }
    }
}

/// The longest card number starting at the group at `first`.
fn longest_card_window(bytes: &[u8], first: usize) -> Option<Range<usize>> {
    let mut best = None;
    let mut group = first;
    let mut groups = 0;
    let mut digits = 0;
    let mut separator = None;
    loop {
        let end = group_end(bytes, group);
        let len = end - group;
        groups += 1;
        digits += len;
        if digits > MAX_DIGITS {
            break;
        }
        let next = next_group_start(bytes, end);
        let shaped = groups == 1 || len <= 6;
        if shaped
            && digits >= MIN_DIGITS
            && !(groups == 1 && is_timestamp(&bytes[first..end]))
            && luhn_valid(&bytes[first..end])
        {
            best = Some(first..end);
        }
        let Some(next) = next else { break };
        if !(4..=6).contains(&len) {
            break;
        }
        let sep = bytes[next - 1];
        if *separator.get_or_insert(sep) != sep {
            break;
        }
        group = next;
    }
    best
}

/// Whether `digits` (ASCII digits only) is a ms, µs or ns Unix timestamp and not a card-network
/// number: Unix seconds from 2000 to 2100 (9 or 10 digits) followed by 3, 6 or 9 digits.
fn is_timestamp(digits: &[u8]) -> bool {
    // Major industry identifiers 2 to 6 are card networks: never a timestamp.
    if matches!(digits.first(), Some(b'2'..=b'6')) {
        return false;
    }
    [3, 6, 9].into_iter().any(|fraction| {
        let whole = digits.len().saturating_sub(fraction);
        let seconds = digits[..whole]
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        matches!(whole, 9 | 10) && (TIMESTAMP_MIN_SECONDS..TIMESTAMP_MAX_SECONDS).contains(&seconds)
    })
}

/// The Luhn check over the ASCII digits of `bytes`, skipping anything else.
fn luhn_valid(bytes: &[u8]) -> bool {
    let mut sum = 0u32;
    let mut double = false;
    for &b in bytes.iter().rev() {
        if !b.is_ascii_digit() {
            continue;
        }
        let mut d = u32::from(b - b'0');
        if double {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
        double = !double;
    }
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> String {
        mask_card_numbers(text).into_owned()
    }

    #[test]
    fn luhn_accepts_test_cards_and_rejects_a_changed_digit() {
        assert!(luhn_valid(b"4242424242424242"));
        assert!(luhn_valid(b"4242 4242 4242 4242"));
        assert!(!luhn_valid(b"4242424242424241"));
    }

    #[test]
    fn planted_card_number_with_spaces_inside_a_name_is_masked_to_last_four() {
        assert_eq!(
            masked("Jenny 4242 4242 4242 4242 Rosen"),
            "Jenny •••• 4242 Rosen"
        );
    }

    #[test]
    fn planted_card_number_with_dashes_is_masked_to_last_four() {
        assert_eq!(
            masked("card 5555-5555-5555-4444 declined"),
            "card •••• 4444 declined"
        );
    }

    #[test]
    fn unseparated_amex_diners_and_nineteen_digit_numbers_are_masked() {
        assert_eq!(masked("378282246310005"), "•••• 0005");
        assert_eq!(masked("Diners 30569309025904!"), "Diners •••• 5904!");
        assert_eq!(masked("(6011111111111111110)"), "(•••• 1110)");
        assert_eq!(masked("visa13 4222222222222"), "visa13 •••• 2222");
    }

    #[test]
    fn amex_and_diners_in_their_printed_groupings_are_masked() {
        assert_eq!(masked("3782 822463 10005"), "•••• 0005");
        assert_eq!(masked("3056 930902 5904"), "•••• 5904");
        assert_eq!(masked("6011 1111 1111 1111 110"), "•••• 1110");
    }

    #[test]
    fn digits_touching_letters_are_still_a_card_number() {
        assert_eq!(masked("x4242424242424242y"), "x•••• 4242y");
        assert_eq!(masked("Card:4242424242424242."), "Card:•••• 4242.");
    }

    #[test]
    fn card_number_followed_by_more_groups_masks_the_card_digits_only() {
        assert_eq!(masked("4242 4242 4242 4242 123"), "•••• 4242 123");
        assert_eq!(
            masked("on 2026-11-26 4242-4242-4242-4242"),
            "on 2026-11-26 •••• 4242"
        );
        assert_eq!(masked("10:40 4242 4242 4242 4242"), "10:40 •••• 4242");
    }

    #[test]
    fn window_starting_before_a_card_number_does_not_leave_part_of_it_visible() {
        // "0018 4242 4242 4242" is Luhn-valid too, and overlaps the real card number.
        assert!(luhn_valid(b"0018 4242 4242 4242"));
        let text = "Ref ABC-1234-0018 4242 4242 4242 4242";
        assert_eq!(find_card_numbers(text).collect::<Vec<_>>(), vec![13..37]);
        assert_eq!(masked(text), "Ref ABC-1234-•••• 4242");
    }

    #[test]
    fn two_card_numbers_in_one_run_are_both_masked() {
        assert_eq!(
            masked("4242 4242 4242 4242 5555 5555 5555 4444"),
            "•••• 4242 •••• 4444"
        );
    }

    #[test]
    fn card_numbers_in_urls_and_metadata_are_masked() {
        assert_eq!(
            masked("https://example.com/pay?card=4242424242424242&x=1"),
            "https://example.com/pay?card=•••• 4242&x=1"
        );
        assert_eq!(
            masked("metadata[pan]=5555555555554444"),
            "metadata[pan]=•••• 4444"
        );
    }

    #[test]
    fn stripe_test_cards_that_read_like_future_timestamps_are_masked() {
        // Mastercard 2-series, JCB and Visa 4000... read as seconds in 2040, 2082 and 2096.
        assert_eq!(masked("2223003122003222"), "•••• 3222");
        assert_eq!(masked("3566002020360505"), "•••• 0505");
        assert_eq!(masked("4000000000000077"), "•••• 0077");
    }

    #[test]
    fn stripe_ids_are_never_touched_even_with_long_digit_runs() {
        for id in [
            "ch_3MmlLrLkdIwHu7ix0snN0B15",
            "in_1MtHbELkdIwHu7ixl4OzzPMv",
            "pm_1Q0PsIJvEtkwdCNYMSaVuRz6",
            "pi_4242424242424242",
            "evt_4242424242424242",
            "whsec_4242424242424242",
            "sk_test_4242424242424242",
            "https://dashboard.stripe.com/payments/pi_4242424242424242",
        ] {
            assert!(matches!(mask_card_numbers(id), Cow::Borrowed(_)), "{id}");
        }
    }

    #[test]
    fn millisecond_microsecond_and_nanosecond_timestamps_are_not_card_numbers() {
        // 1764151200 = 2025-11-26T10:00:00Z; each is Luhn-valid.
        for ts in ["1764151200003", "1764151200000003", "1764151200000000003"] {
            assert!(luhn_valid(ts.as_bytes()), "{ts}");
            assert_eq!(masked(ts), ts);
        }
        // Before 2001-09-09, seconds have 9 digits: 15-digit µs (2001-05-04), 18-digit ns (2001-04-15).
        for ts in ["988940818652821", "987298873942689182"] {
            assert!(luhn_valid(ts.as_bytes()), "{ts}");
            assert_eq!(masked(ts), ts);
        }
    }

    #[test]
    fn a_long_unseparated_run_is_not_a_card_number() {
        assert_eq!(masked("42424242424242424242"), "42424242424242424242");
    }

    #[test]
    fn short_or_luhn_failing_numbers_are_left_alone() {
        for text in [
            "4242 4242 4242",
            "4242424242424241",
            "ABC-1234-0001",
            "+49 1512 3456 7890",
        ] {
            assert!(
                matches!(mask_card_numbers(text), Cow::Borrowed(_)),
                "{text}"
            );
        }
    }

    #[test]
    fn dates_joined_by_single_spaces_do_not_form_a_card_number() {
        // 2026-11-26 2026-11-26 has 16 digits; short groups are not card-shaped.
        let text = "2026-11-26 2026-11-26 2026-12-01";
        assert_eq!(masked(text), text);
    }

    #[test]
    fn e164_phone_number_after_plus_is_not_a_card_number() {
        // 4915123456787 is Luhn-valid with 13 digits.
        assert!(luhn_valid(b"4915123456787"));
        assert_eq!(masked("+4915123456787"), "+4915123456787");
        assert_eq!(masked("+4242424242424242"), "+•••• 4242");
    }

    #[test]
    fn masking_twice_gives_the_same_text() {
        let once = masked("4242424242424242 4242 4242 4242 4242 42");
        assert_eq!(masked(&once), once);
    }

    #[test]
    fn non_ascii_text_around_a_card_number_is_kept() {
        assert_eq!(
            masked("Zahlung – 4242 4242 4242 4242 ✓"),
            "Zahlung – •••• 4242 ✓"
        );
    }
}

//! Phone number masking, in free text and in phone fields.

use std::borrow::Cow;

use crate::pan::starts_word;

/// What a phone number becomes, before its last two digits.
const PHONE_MASK: &str = "•••• •• ";
const MIN_DIGITS: usize = 8;
const MAX_DIGITS: usize = 15;

/// `text` with every clearly phone-shaped number replaced by `•••• •• ` and its last two digits:
/// `+1 (555) 555-0142` becomes `•••• •• 42`.
///
/// Only two shapes are phone numbers, so dates, times, amounts, Stripe ids and timestamps are never
/// touched:
/// - international: `+` (not after a letter or digit) followed by 8 to 15 digits, which may be
///   separated by spaces, dashes, dots and parentheses (at most two in a row); when more digits
///   follow, the number ends at the last space that keeps it within 15 digits;
/// - North American: `(555) 555-0100`, `(555) 555 0100` or `(555) 555.0100`.
///
/// The number must not run on into a letter, `_`, `@` or a decimal part (`,5`), and a `+` amount
/// with a single decimal point (`+12345678.90`) is not a phone number. Borrows `text` (no
/// allocation) when nothing matches; masking a masked text changes nothing.
///
/// ```
/// use stripe_chat_redact::mask_phone_numbers;
///
/// assert_eq!(mask_phone_numbers("Call +1 (555) 555-0142 today"), "Call •••• •• 42 today");
/// assert_eq!(mask_phone_numbers("Tel. (555) 555-0100."), "Tel. •••• •• 00.");
/// assert_eq!(mask_phone_numbers("Paid 2026-11-26 10:40, 1,234.56 USD"), "Paid 2026-11-26 10:40, 1,234.56 USD");
/// ```
pub fn mask_phone_numbers(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let end = match bytes[i] {
            b'+' => international_end(bytes, i),
            b'(' => north_american_end(bytes, i),
            _ => None,
        };
        let Some(end) = end else {
            i += 1;
            continue;
        };
        let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
        out.push_str(&text[copied..i]);
        push_phone_mask(out, &text[i..end]);
        copied = end;
        i = end;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
    }
}

/// A phone field's value: `•••• •• ` and its last two digits, whatever its shape. A value without
/// digits is kept.
pub(crate) fn mask_phone_value(value: &str) -> Cow<'_, str> {
    if !value.bytes().any(|b| b.is_ascii_digit()) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(PHONE_MASK.len() + 2);
    push_phone_mask(&mut out, value);
    if out == value {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(out)
    }
}

fn push_phone_mask(out: &mut String, phone: &str) {
    out.push_str(PHONE_MASK);
    let mut last_two = [None, None];
    for digit in phone.bytes().filter(u8::is_ascii_digit) {
        last_two = [last_two[1], Some(digit)];
    }
    out.extend(last_two.into_iter().flatten().map(char::from));
}

/// Whether a phone number may end at `end`: no letter, digit, `_` or `@` follows, nor a decimal part.
fn ends_phone(bytes: &[u8], end: usize) -> bool {
    match bytes.get(end) {
        None => true,
        Some(&b) if b.is_ascii_alphanumeric() || b == b'_' || b == b'@' => false,
        Some(b',' | b'.') => !bytes.get(end + 1).is_some_and(u8::is_ascii_digit),
        Some(_) => true,
    }
}

/// The end of an international number whose `+` is at `plus`.
///
/// When the digits that follow run on past 15 (another number after a space, say), the number
/// ends at the last space before that.
fn international_end(bytes: &[u8], plus: usize) -> Option<usize> {
    if !starts_word(bytes, plus) || !bytes.get(plus + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let mut digits = 0;
    let mut end = plus + 1;
    let mut separators_in_a_row = 0;
    // The end of the last group followed by a space with at most 15 digits so far, and its digits.
    let mut before_space = None;
    for (i, &b) in bytes.iter().enumerate().skip(plus + 1) {
        if b.is_ascii_digit() {
            digits += 1;
            separators_in_a_row = 0;
            end = i + 1;
        } else if matches!(b, b' ' | b'-' | b'.' | b'(' | b')') && separators_in_a_row < 2 {
            separators_in_a_row += 1;
            if b == b' ' && end == i && digits <= MAX_DIGITS {
                before_space = Some((end, digits));
            }
        } else {
            break;
        }
    }
    if digits > MAX_DIGITS {
        (end, digits) = before_space?;
    } else if !ends_phone(bytes, end) {
        return None;
    }
    // `+12345678.90`: one separator, a decimal point before two digits, is an amount.
    let number = &bytes[plus + 1..end];
    let separators = number.iter().filter(|b| !b.is_ascii_digit()).count();
    let amount = separators == 1 && number.len() >= 3 && number[number.len() - 3] == b'.';
    ((MIN_DIGITS..=MAX_DIGITS).contains(&digits) && !amount).then_some(end)
}

/// The end of a `(555) 555-0100` number whose `(` is at `open`.
fn north_american_end(bytes: &[u8], open: usize) -> Option<usize> {
    if !starts_word(bytes, open) {
        return None;
    }
    let digits = |from: usize, n: usize| {
        bytes
            .get(from..from + n)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let mut i = open + 1;
    if !digits(i, 3) || bytes.get(i + 3) != Some(&b')') {
        return None;
    }
    i += 4;
    if bytes.get(i) == Some(&b' ') {
        i += 1;
    }
    if !digits(i, 3) || !matches!(bytes.get(i + 3), Some(b'-' | b'.' | b' ')) || !digits(i + 4, 4) {
        return None;
    }
    let end = i + 8;
    ends_phone(bytes, end).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> String {
        mask_phone_numbers(text).into_owned()
    }

    #[test]
    fn international_numbers_in_common_formats_keep_their_last_two_digits() {
        assert_eq!(masked("+4915123456787"), "•••• •• 87");
        assert_eq!(masked("Tel: +49 151 2345-6787."), "Tel: •••• •• 87.");
        assert_eq!(
            masked("+1 (555) 555-0142, ask for Jenny"),
            "•••• •• 42, ask for Jenny"
        );
        assert_eq!(masked("+33.1.23.45.67.89"), "•••• •• 89");
        assert_eq!(masked("(+44 20 7946 0958)"), "(•••• •• 58)");
    }

    #[test]
    fn north_american_numbers_in_parentheses_are_masked() {
        assert_eq!(masked("(555) 555-0100"), "•••• •• 00");
        assert_eq!(masked("call (555)555.0199 now"), "call •••• •• 99 now");
    }

    #[test]
    fn dates_times_amounts_ids_and_timestamps_are_not_phone_numbers() {
        for text in [
            "2026-11-26",
            "2026-11-26T10:40:00+01:00",
            "10:40",
            "1,234.56 USD",
            "+1,234.56 USD",
            "+12345678.90 USD",
            "+12.345.678,90 EUR",
            "ch_3MmlLrLkdIwHu7ix0snN0B15",
            "1764151200",
            "1764151200123",
            "(555) 555-01000",
            "(12) 345-6789",
            "UTC+0100 and a+4915123456787",
            "+4915123456787@example.com",
            "+49151234567871234",
            "+49-151-2345-6787-1234",
        ] {
            assert!(
                matches!(mask_phone_numbers(text), Cow::Borrowed(_)),
                "{text}"
            );
        }
    }

    #[test]
    fn international_number_followed_by_another_number_ends_at_the_space() {
        assert_eq!(
            masked("+49 151 23456787 (555) 555-0100"),
            "•••• •• 87 •••• •• 00"
        );
        assert_eq!(masked("+4915123456787 2026-11-26"), "•••• •• 87 2026-11-26");
    }

    #[test]
    fn too_few_or_too_many_digits_after_plus_is_not_a_phone_number() {
        assert_eq!(masked("+1234567"), "+1234567");
        assert_eq!(masked("+1234567890123456"), "+1234567890123456");
    }

    #[test]
    fn phone_field_value_of_any_shape_keeps_last_two_digits() {
        assert_eq!(mask_phone_value("0151 2345 6787 (mobile)"), "•••• •• 87");
        assert_eq!(mask_phone_value("not given"), "not given");
        assert!(matches!(mask_phone_value("•••• •• 87"), Cow::Borrowed(_)));
    }

    #[test]
    fn masking_a_masked_text_changes_nothing() {
        let once = masked("+49 151 23456787 and (555) 555-0100");
        assert!(matches!(mask_phone_numbers(&once), Cow::Borrowed(_)));
    }
}

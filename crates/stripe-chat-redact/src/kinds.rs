//! Rewrites for field values of a known kind: addresses and cards.

use std::borrow::Cow;

use crate::Visibility;
use crate::pan::BULLETS;

/// What an address becomes where it may not be shown.
pub(crate) const ADDRESS_HIDDEN: &str = "[address hidden]";

/// Card brands recognised at the start of a card field, lowercase, longer names first.
const CARD_BRANDS: &[&str] = &[
    "american express",
    "cartes bancaires",
    "cartes_bancaires",
    "diners club",
    "mastercard",
    "eftpos_au",
    "unionpay",
    "discover",
    "interac",
    "maestro",
    "diners",
    "eftpos",
    "rupay",
    "amex",
    "visa",
    "jcb",
    "mir",
];

/// An address field's value as `level` may see it.
///
/// - Public: kept only when it is a city or country alone (no digit, and either no comma or
///   `City, CC` with a two-letter country code); otherwise `[address hidden]`.
/// - Internal: the last two comma-separated parts without words holding a digit (house numbers,
///   postal codes); with three parts or more the first (street line) is never kept.
/// - Restricted: kept.
pub(crate) fn redact_address(level: Visibility, value: &str) -> Cow<'_, str> {
    if value.trim().is_empty() {
        return Cow::Borrowed(value);
    }
    match level {
        Visibility::Restricted => Cow::Borrowed(value),
        Visibility::Public if is_city_or_country(value) => Cow::Borrowed(value),
        Visibility::Public => Cow::Owned(ADDRESS_HIDDEN.to_owned()),
        Visibility::Internal => {
            let parts: Vec<&str> = value.split(',').collect();
            let skip = usize::from(parts.len() >= 3);
            let kept: Vec<String> = parts[skip..]
                .iter()
                .map(|part| {
                    part.split_whitespace()
                        .filter(|word| !word.chars().any(char::is_numeric))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .filter(|part| !part.is_empty())
                .collect();
            let reduced = match kept.len() {
                0 => ADDRESS_HIDDEN.to_owned(),
                n => kept[n.saturating_sub(2)..].join(", "),
            };
            if reduced == value {
                Cow::Borrowed(value)
            } else {
                Cow::Owned(reduced)
            }
        }
    }
}

fn is_city_or_country(value: &str) -> bool {
    if value.chars().any(char::is_numeric) {
        return false;
    }
    let mut parts = value.split(',');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(_), None, _) => true,
        (Some(_), Some(country), None) => {
            let country = country.trim();
            country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase())
        }
        _ => false,
    }
}

/// A card field's value reduced to its brand and last four digits (`Visa •••• 4242`).
///
/// The last four are those of the last run of four or more digits not just after `/` (so an
/// expiry like `12/2034` is skipped); without such a run the value is kept.
pub(crate) fn reduce_card(value: &str) -> Cow<'_, str> {
    let Some(last_four) = last_four_digits(value) else {
        return Cow::Borrowed(value);
    };
    let reduced = match leading_brand(value) {
        Some(brand) => format!("{brand} {BULLETS} {last_four}"),
        None => format!("{BULLETS} {last_four}"),
    };
    if reduced == value {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(reduced)
    }
}

fn last_four_digits(value: &str) -> Option<&str> {
    let bytes = value.as_bytes();
    let mut found = None;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let after_slash = start > 0 && bytes[start - 1] == b'/';
        if i - start >= 4 && !after_slash {
            found = Some(&value[i - 4..i]);
        }
    }
    found
}

fn leading_brand(value: &str) -> Option<&str> {
    let value = value.trim_start();
    CARD_BRANDS.iter().find_map(|brand| {
        let candidate = value.get(..brand.len())?;
        let ends_word = !value[brand.len()..].starts_with(|c: char| c.is_alphanumeric());
        (candidate.eq_ignore_ascii_case(brand) && ends_word).then_some(candidate)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_address_is_hidden_unless_only_a_city_or_country() {
        let full = "1 Main Street, Berlin, 10115, DE";
        assert_eq!(redact_address(Visibility::Public, full), ADDRESS_HIDDEN);
        assert_eq!(redact_address(Visibility::Public, "Berlin"), "Berlin");
        assert_eq!(redact_address(Visibility::Public, "DE"), "DE");
        assert_eq!(
            redact_address(Visibility::Public, "Berlin, DE"),
            "Berlin, DE"
        );
        assert_eq!(
            redact_address(Visibility::Public, "Main Street, Berlin, DE"),
            ADDRESS_HIDDEN
        );
        assert_eq!(redact_address(Visibility::Public, "10115"), ADDRESS_HIDDEN);
    }

    #[test]
    fn internal_address_keeps_city_and_country_without_numbers() {
        let full = "1 Main Street, Berlin, 10115, DE";
        assert_eq!(redact_address(Visibility::Internal, full), "Berlin, DE");
        assert_eq!(
            redact_address(Visibility::Internal, "Unter den Linden 1, 10117 Berlin, DE"),
            "Berlin, DE"
        );
        assert_eq!(
            redact_address(
                Visibility::Internal,
                "354 Oyster Point Blvd, South San Francisco, CA 94080, US"
            ),
            "CA, US"
        );
        assert_eq!(
            redact_address(Visibility::Internal, "10115"),
            ADDRESS_HIDDEN
        );
        assert!(matches!(
            redact_address(Visibility::Internal, "Berlin, DE"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn restricted_address_is_kept() {
        let full = "1 Main Street, Berlin, 10115, DE";
        assert_eq!(redact_address(Visibility::Restricted, full), full);
    }

    #[test]
    fn card_value_is_reduced_to_brand_and_last_four() {
        assert_eq!(
            reduce_card("Visa ending in 4242 (exp 12/2034)"),
            "Visa •••• 4242"
        );
        assert_eq!(
            reduce_card("American Express •••• 0005"),
            "American Express •••• 0005"
        );
        assert_eq!(
            reduce_card("mastercard **** **** **** 4444"),
            "mastercard •••• 4444"
        );
        assert_eq!(reduce_card("**** 1881, expires 01/30"), "•••• 1881");
        assert_eq!(reduce_card("Visa, 4242 4242"), "Visa •••• 4242");
    }

    #[test]
    fn card_value_without_four_digits_is_kept() {
        assert_eq!(reduce_card("Visa (expired 12/34)"), "Visa (expired 12/34)");
        assert_eq!(reduce_card("wallet: apple_pay"), "wallet: apple_pay");
    }

    #[test]
    fn reduced_card_value_is_stable() {
        assert!(matches!(reduce_card("Visa •••• 4242"), Cow::Borrowed(_)));
        assert!(matches!(reduce_card("•••• 4242"), Cow::Borrowed(_)));
    }
}

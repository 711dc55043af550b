//! Amounts in a currency's minor unit, formatted by the currency's exponent.
//!
//! Stripe sends amounts as integers in the currency's smallest unit. Zero-decimal currencies (JPY,
//! KRW, VND, ...) have none, so 5000 JPY is `5,000 JPY`; three-decimal ones (BHD, JOD, KWD, OMR, TND)
//! have three, so 1500 KWD is `1.500 KWD`; every other currency has two.

use std::fmt;

/// Currencies Stripe treats as zero-decimal (amounts are whole units).
///
/// ```
/// assert!(stripe_chat_events::money::ZERO_DECIMAL.contains(&"jpy"));
/// ```
pub const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];

/// Currencies Stripe treats as three-decimal.
///
/// ```
/// assert!(stripe_chat_events::money::THREE_DECIMAL.contains(&"kwd"));
/// ```
pub const THREE_DECIMAL: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];

/// The number of decimal places Stripe uses for `currency` (case-insensitive ISO 4217 code).
///
/// ```
/// use stripe_chat_events::money::exponent;
/// assert_eq!(exponent("JPY"), 0);
/// assert_eq!(exponent("kwd"), 3);
/// assert_eq!(exponent("usd"), 2);
/// ```
pub fn exponent(currency: &str) -> u32 {
    let lower = currency.to_ascii_lowercase();
    if ZERO_DECIMAL.contains(&lower.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&lower.as_str()) {
        3
    } else {
        2
    }
}

/// An amount in a currency's minor unit, as Stripe sends it. `Display` formats it for people.
///
/// ```
/// use stripe_chat_events::Money;
/// assert_eq!(Money::new(2000, "usd").to_string(), "20.00 USD");
/// assert_eq!(Money::new(5000, "jpy").to_string(), "5,000 JPY");
/// assert_eq!(Money::new(1500, "kwd").to_string(), "1.500 KWD");
/// assert_eq!(Money::new(-123456789, "eur").to_string(), "-1,234,567.89 EUR");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Money {
    /// Amount in the minor unit.
    pub amount: i64,
    /// ISO 4217 code, lowercase as Stripe sends it.
    pub currency: String,
}

impl Money {
    /// An amount in `currency`'s minor unit.
    ///
    /// ```
    /// assert_eq!(stripe_chat_events::Money::new(1, "USD").currency, "usd");
    /// ```
    pub fn new(amount: i64, currency: impl AsRef<str>) -> Self {
        Money {
            amount,
            currency: currency.as_ref().to_ascii_lowercase(),
        }
    }

    /// The number in major units as text, with thousands separators (`1,234.56`).
    ///
    /// ```
    /// assert_eq!(stripe_chat_events::Money::new(123456, "usd").major_units(), "1,234.56");
    /// ```
    pub fn major_units(&self) -> String {
        let exp = exponent(&self.currency);
        let divisor = 10u64.pow(exp);
        let abs = self.amount.unsigned_abs();
        let whole = abs / divisor;
        let frac = abs % divisor;
        let mut out = String::new();
        if self.amount < 0 {
            out.push('-');
        }
        let digits = whole.to_string();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if exp > 0 {
            out.push('.');
            out.push_str(&format!("{frac:0width$}", width = exp as usize));
        }
        out
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            self.major_units(),
            self.currency.to_ascii_uppercase()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_decimal_currencies_never_show_minor_units() {
        for code in ZERO_DECIMAL {
            let text = Money::new(5000, code).to_string();
            assert!(text.starts_with("5,000 "), "{text}");
        }
    }

    #[test]
    fn three_decimal_currencies_show_three_places() {
        for code in THREE_DECIMAL {
            assert!(Money::new(1500, code).to_string().starts_with("1.500 "));
        }
    }

    #[test]
    fn small_and_extreme_amounts_format_exactly() {
        assert_eq!(Money::new(5, "usd").to_string(), "0.05 USD");
        assert_eq!(Money::new(0, "gbp").to_string(), "0.00 GBP");
        assert_eq!(
            Money::new(i64::MIN, "jpy").major_units(),
            "-9,223,372,036,854,775,808"
        );
    }
}

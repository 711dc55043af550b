//! Property tests: no planted card number survives, realistic text without one is left alone,
//! and redaction is idempotent.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use stripe_chat_message::{Action, ChatMessage, FieldKind, ObjectKind, ObjectRef};
use stripe_chat_redact::{
    DefaultPolicy, FieldAction, FieldRule, RedactionPolicy, Visibility, find_card_numbers,
    mask_card_numbers,
};

const LEVELS: [Visibility; 3] = [
    Visibility::Public,
    Visibility::Internal,
    Visibility::Restricted,
];

/// `cases` cases, failures kept in `proptest-regressions/` (run from the crate root) and replayed.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/proptest_redaction.txt",
        ))),
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Card numbers

/// An issuer prefix from a real range: Visa, Mastercard, Mastercard 2-series, Amex, Discover,
/// JCB, Diners, UnionPay.
fn issuer_prefix() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("4".to_owned()),
        (51u32..=55).prop_map(|n| n.to_string()),
        (2221u32..=2720).prop_map(|n| n.to_string()),
        prop::sample::select(vec!["34", "37"]).prop_map(str::to_owned),
        prop::sample::select(vec!["6011", "65"]).prop_map(str::to_owned),
        (3528u32..=3589).prop_map(|n| n.to_string()),
        prop::sample::select(vec!["30", "36", "38"]).prop_map(str::to_owned),
        Just("62".to_owned()),
    ]
}

fn luhn_check_digit(payload: &str) -> char {
    let sum: u32 = payload
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let d = d * 2;
                if d > 9 { d - 9 } else { d }
            } else {
                d
            }
        })
        .sum();
    // Below 10, so the cast is exact.
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// A Luhn-valid card number of 13 to 19 digits.
fn card_number() -> impl Strategy<Value = String> {
    (
        issuer_prefix(),
        13usize..=19,
        prop::collection::vec(0u8..10, 19),
    )
        .prop_map(|(prefix, len, body)| {
            let mut digits = prefix;
            for d in body {
                if digits.len() == len - 1 {
                    break;
                }
                digits.push(char::from(b'0' + d));
            }
            let check = luhn_check_digit(&digits);
            digits.push(check);
            digits
        })
}

fn grouped(digits: &str, sizes: impl Iterator<Item = usize>, separator: char) -> String {
    let mut out = String::new();
    let mut rest = digits;
    for size in sizes {
        if rest.is_empty() {
            break;
        }
        if !out.is_empty() {
            out.push(separator);
        }
        let (group, tail) = rest.split_at(size.min(rest.len()));
        out.push_str(group);
        rest = tail;
    }
    out
}

/// The printed forms of a card number: plain, in groups of four with spaces or dashes, and the
/// Amex/Diners 4-6-rest grouping.
fn forms(digits: &str) -> Vec<String> {
    let mut forms = vec![
        digits.to_owned(),
        grouped(digits, std::iter::repeat(4), ' '),
        grouped(digits, std::iter::repeat(4), '-'),
    ];
    if matches!(digits.len(), 14 | 15) {
        forms.push(grouped(digits, [4, 6, 5].into_iter(), ' '));
    }
    forms
}

// ---------------------------------------------------------------------------------------------
// Realistic text without card numbers

fn base62(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(
            b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".to_vec(),
        ),
        len,
    )
    .prop_map(|bytes| bytes.into_iter().map(char::from).collect())
}

fn stripe_prefix() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "ch", "in", "pm", "pi", "evt", "whsec", "cus", "sub", "re", "dp", "py", "txn", "acct",
        "seti", "src", "tok", "card", "price", "prod", "ii", "il", "po", "tr", "sk_test",
        "pk_live", "cs_test", "bpc", "cn", "ba", "si",
    ])
}

fn stripe_id() -> impl Strategy<Value = String> {
    prop_oneof![
        // Realistic: base62 after the prefix.
        (stripe_prefix(), base62(14..=24)).prop_map(|(p, id)| format!("{p}_{id}")),
        // Long digit runs inside: `ch_3MmlLrLkdIwHu7ix0snN0B15`-like and all-digit synthetic ids.
        (
            stripe_prefix(),
            base62(2..=6),
            "[0-9]{13,19}",
            base62(0..=4)
        )
            .prop_map(|(p, a, digits, b)| format!("{p}_{a}{digits}{b}")),
        (stripe_prefix(), "[1-9][0-9]{12,23}").prop_map(|(p, digits)| format!("{p}_{digits}")),
        prop::sample::select(vec![
            "ch_3MmlLrLkdIwHu7ix0snN0B15",
            "in_1MtHbELkdIwHu7ixl4OzzPMv",
            "pm_1Q0PsIJvEtkwdCNYMSaVuRz6",
            "pi_1234567890123456789",
            "evt_1NG8Du2eZvKYlo2CUI79vXWy",
            "whsec_4242424242424242",
        ])
        .prop_map(str::to_owned),
    ]
}

/// 2001-01-01 and 2100-01-01 in Unix seconds.
const SECONDS_2001: u64 = 978_307_200;
const SECONDS_2100: u64 = 4_102_444_800;
/// The last second whose ms/µs/ns timestamps start with 1 (2033-05-18); later ones start with 2
/// to 4, like Mastercard, JCB and Visa numbers, and are treated as card numbers when Luhn-valid.
const SECONDS_2033: u64 = 1_999_999_999;

fn timestamp() -> impl Strategy<Value = String> {
    prop_oneof![
        (SECONDS_2001..SECONDS_2100).prop_map(|s| s.to_string()),
        (SECONDS_2001..=SECONDS_2033, 0u64..1_000).prop_map(|(s, ms)| (s * 1_000 + ms).to_string()),
        (SECONDS_2001..=SECONDS_2033, 0u64..1_000_000)
            .prop_map(|(s, us)| (s * 1_000_000 + us).to_string()),
        (SECONDS_2001..=SECONDS_2033, 0u64..1_000_000_000)
            .prop_map(|(s, ns)| (s * 1_000_000_000 + ns).to_string()),
    ]
}

fn currency() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["USD", "EUR", "GBP", "JPY", "CHF", "usd"])
}

fn amount() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..1000, 0u32..1000, 0u32..100, currency())
            .prop_map(|(a, b, c, cur)| format!("{a},{b:03}.{c:02} {cur}")),
        (1u32..1000, 0u32..1000, 0u32..1000, 0u32..100, currency())
            .prop_map(|(a, b, c, d, cur)| format!("{a},{b:03},{c:03}.{d:02} {cur}")),
        (0u32..100_000, 0u32..100, currency()).prop_map(|(a, c, cur)| format!("{a}.{c:02} {cur}")),
        (0u32..100_000, 0u32..100, currency()).prop_map(|(a, c, cur)| format!("{cur} {a}.{c:02}")),
        (0u32..100_000, 0u32..100).prop_map(|(a, c)| format!("-{a}.{c:02}")),
        (1u32..1000, 0u32..1000, 0u32..100).prop_map(|(a, b, c)| format!("€{a}.{b:03},{c:02}")),
    ]
}

fn date_or_time() -> impl Strategy<Value = String> {
    let date = || (2000u32..2100, 1u32..=12, 1u32..=28);
    let time = || (0u32..24, 0u32..60, 0u32..60);
    prop_oneof![
        date().prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
        (date(), time()).prop_map(|((y, mo, d), (h, mi, s))| {
            format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
        }),
        (
            date(),
            time(),
            "[0-9]{1,9}",
            prop::sample::select(vec!["Z", "+01:00", "-05:00", "+05:30"])
        )
            .prop_map(|((y, mo, d), (h, mi, s), frac, off)| {
                format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac}{off}")
            }),
        (date(), time())
            .prop_map(|((y, mo, d), (h, mi, _))| format!("{y}-{mo:02}-{d:02} {h:02}:{mi:02}")),
        time().prop_map(|(h, m, _)| format!("{h:02}:{m:02}")),
        date().prop_map(|(y, m, d)| format!("{d:02}.{m:02}.{y}")),
        date().prop_map(|(y, m, d)| format!("{m:02}/{d:02}/{y}")),
    ]
}

fn invoice_number() -> impl Strategy<Value = String> {
    ("[A-Z]{2,4}", 0u32..10_000, 0u32..10_000).prop_map(|(p, a, b)| format!("{p}-{a:04}-{b:04}"))
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z]{1,10}",
        prop::sample::select(vec![
            "Invoice", "paid", "Jenny", "Rosen", "payment", "failed", "for", "refund", "dispute",
            "Zahlung", "fällig", "réglé", "@channel", "#42", "x", "No.", "qty", "ref",
        ])
        .prop_map(str::to_owned),
    ]
}

fn punctuation() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        ",", ".", ":", ";", "—", "(", ")", "!", "?", "/", "#", "•", "→", "\"", "'", "+", "-", "|",
    ])
    .prop_map(str::to_owned)
}

/// A token of realistic Stripe chat text that holds no card number.
fn harmless_token() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => word(),
        1 => punctuation(),
        2 => stripe_id(),
        2 => timestamp(),
        2 => amount(),
        2 => date_or_time(),
        1 => invoice_number(),
        1 => (1u32..100).prop_map(|n| n.to_string()),
    ]
}

fn joiner() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![" ", " ", " ", ", ", "\n", " | ", " / ", ": "])
}

fn harmless_text() -> impl Strategy<Value = String> {
    prop::collection::vec((harmless_token(), joiner()), 1..16).prop_map(|tokens| {
        let mut text = String::new();
        for (token, joiner) in tokens {
            text.push_str(&token);
            text.push_str(joiner);
        }
        text
    })
}

// ---------------------------------------------------------------------------------------------
// Planting

#[derive(Debug, Clone)]
struct Planted {
    text: String,
    digits: String,
    /// Whether the card number touches no other digit group (so its last four stay visible).
    isolated: bool,
}

fn planted() -> impl Strategy<Value = Planted> {
    (
        harmless_text(),
        harmless_text(),
        card_number(),
        0usize..4,
        prop::sample::select(vec![
            "", "", "x", "(", "#", "=", "/", ":", "\"", "card:", "-", "\n",
        ]),
        prop::sample::select(vec![
            "", "", "y", ")", ".", ",", "!", "\"", "-", "&", "_ref", "\n",
        ]),
    )
        .prop_map(|(before, after, digits, form, left, right)| {
            let forms = forms(&digits);
            let card = &forms[form % forms.len()];
            let text = format!("{before} {left}{card}{right} {after}");
            let start = before.len() + 1 + left.len();
            let end = start + card.len();
            let joins = |a: Option<u8>, b: Option<u8>| {
                matches!(a, Some(b' ' | b'-')) && b.is_some_and(|b| b.is_ascii_digit())
            };
            let bytes = text.as_bytes();
            let isolated = !joins(
                bytes.get(start - 1).copied(),
                start.checked_sub(2).map(|i| bytes[i]),
            ) && !joins(bytes.get(end).copied(), bytes.get(end + 1).copied());
            Planted {
                text,
                digits,
                isolated,
            }
        })
}

/// A message with `text` in every slot and in a field of every kind.
fn message_everywhere(text: &str) -> ChatMessage {
    let mut message = ChatMessage::new(text)
        .summary(text)
        .link(text, format!("https://example.com/pay?note={text}"))
        .action(Action::link(
            "open",
            text,
            ObjectRef::new(ObjectKind::Invoice, "in_1MtHbELkdIwHu7ixl4OzzPMv"),
            format!("https://example.com/{text}"),
        ))
        .tag(text)
        .footer(text);
    for kind in [
        FieldKind::Text,
        FieldKind::Name,
        FieldKind::Email,
        FieldKind::Phone,
        FieldKind::Address,
        FieldKind::Card,
    ] {
        message = message.field_of_kind(text, text, kind);
    }
    message.field(format!("Metadata {text}"), text)
}

fn texts_of(mut message: ChatMessage) -> Vec<String> {
    let mut texts = Vec::new();
    message.visit_text_mut(|_, text| texts.push(text.clone()));
    texts
}

fn contains_any_form(text: &str, digits: &str) -> Option<String> {
    forms(digits)
        .into_iter()
        .find(|form| text.contains(form.as_str()))
}

proptest! {
    #![proptest_config(config(3_000))]

    #[test]
    fn no_planted_card_number_survives_masking(planted in planted()) {
        let masked = mask_card_numbers(&planted.text);
        prop_assert_eq!(contains_any_form(&masked, &planted.digits), None, "in {:?}", masked);
        if planted.isolated {
            let last_four = &planted.digits[planted.digits.len() - 4..];
            let shown = format!("•••• {last_four}");
            prop_assert!(masked.contains(&shown), "{} not in {:?}", shown, masked);
        }
    }
}

proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn no_planted_card_number_survives_the_default_policy_in_any_slot(planted in planted()) {
        for level in LEVELS {
            let redacted = DefaultPolicy::new(level).redact(message_everywhere(&planted.text));
            if planted.isolated {
                let last_four = &planted.digits[planted.digits.len() - 4..];
                let shown = format!("•••• {last_four}");
                prop_assert!(redacted.title.contains(&shown), "{} not in {:?}", shown, redacted.title);
            }
            for text in texts_of(redacted) {
                prop_assert_eq!(contains_any_form(&text, &planted.digits), None, "{:?}: {:?}", level, text);
            }
        }
    }

    #[test]
    fn harmless_text_is_unchanged_by_masking_and_by_the_policy(text in harmless_text()) {
        prop_assert_eq!(find_card_numbers(&text).next(), None);
        for level in LEVELS {
            let message = message_everywhere(&text);
            let mut redacted = DefaultPolicy::new(level).redact(message.clone());
            // Kinds the level rewrites whatever they hold (phone, address, card) aside, nothing changes.
            redacted.fields.retain(|f| matches!(f.kind, FieldKind::Text | FieldKind::Name | FieldKind::Email));
            let mut expected = message;
            expected.fields.retain(|f| matches!(f.kind, FieldKind::Text | FieldKind::Name | FieldKind::Email));
            prop_assert_eq!(redacted, expected);
        }
    }
}

/// Zero false positives: 10,000 realistic texts without a card number (Stripe ids with long digit
/// runs, timestamps, amounts, dates and times, invoice numbers) come back unchanged.
#[test]
fn false_positives_over_ten_thousand_realistic_texts_are_zero() {
    const CASES: usize = 10_000;
    let mut runner = TestRunner::new(Config::default());
    let strategy = harmless_text();
    let mut changed = Vec::new();
    let mut bytes = 0;
    let mut masking = std::time::Duration::ZERO;
    for _ in 0..CASES {
        let text = strategy.new_tree(&mut runner).unwrap().current();
        bytes += text.len();
        let start = std::time::Instant::now();
        let masked = mask_card_numbers(&text);
        masking += start.elapsed();
        if masked != text {
            changed.push((text.clone(), masked.into_owned()));
        }
    }
    println!(
        "false positives: {} of {CASES} texts ({bytes} bytes) changed by mask_card_numbers \
         (masking took {masking:?} in all)",
        changed.len()
    );
    assert!(
        changed.is_empty(),
        "{} changed, e.g. {:?}",
        changed.len(),
        &changed[..changed.len().min(5)]
    );
}

// ---------------------------------------------------------------------------------------------
// Idempotence

fn sensitive_token() -> impl Strategy<Value = String> {
    prop_oneof![
        card_number().prop_flat_map(|digits| prop::sample::select(forms(&digits))),
        ("[a-z]{1,8}", "[a-z]{2,8}").prop_map(|(user, host)| format!("{user}@{host}.com")),
        "\\+[1-9][0-9]{1,2} [0-9]{3} [0-9]{4,8}",
        "\\([2-9][0-9]{2}\\) [0-9]{3}-[0-9]{4}",
        "[0-9 \\-]{1,24}",
        Just("1 Main Street, Berlin, 10115, DE".to_owned()),
    ]
}

fn mixed_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop_oneof![2 => harmless_token(), 1 => sensitive_token()],
            joiner(),
        ),
        1..12,
    )
    .prop_map(|tokens| tokens.into_iter().map(|(t, j)| t + j).collect())
}

proptest! {
    #![proptest_config(config(1_000))]

    #[test]
    fn masking_card_numbers_twice_changes_nothing(text in prop_oneof![mixed_text(), "[0-9 \\-x]{0,80}"]) {
        let once = mask_card_numbers(&text).into_owned();
        let twice = mask_card_numbers(&once);
        prop_assert_eq!(twice.as_ref(), once.as_str());
    }

    #[test]
    fn applying_the_default_policy_twice_gives_the_same_message(
        text in mixed_text(),
        level in prop::sample::select(LEVELS.to_vec()),
    ) {
        let policy = DefaultPolicy::new(level)
            .with_rule(FieldRule::new("Metadata *", FieldAction::Mask));
        let once = policy.redact(message_everywhere(&text));
        let twice = policy.redact(once.clone());
        prop_assert_eq!(twice, once);
    }

    #[test]
    fn any_text_is_redacted_without_panicking(text in any::<String>(), level in prop::sample::select(LEVELS.to_vec())) {
        let redacted = DefaultPolicy::new(level).redact(message_everywhere(&text));
        prop_assert!(!redacted.title.is_empty() || text.is_empty());
    }
}

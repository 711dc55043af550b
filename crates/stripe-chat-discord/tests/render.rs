//! Behaviour of the Discord renderer: escaping, mentions, trimming, buttons, and a reviewed snapshot.

use serde_json::Value;
use stripe_chat_discord::{DiscordRenderer, limits, validate_limits};
use stripe_chat_message::{
    Action, ActionStyle, ChatMessage, FieldKind, ObjectKind, ObjectRef, Renderer, Severity, Source,
};

const HOSTILE: &str = "<!channel> *bold* <https://evil.test|click> @everyone \
    <script>alert(1)</script> & ||spoiler|| [x](https://evil.test) <@123456789>";

const INVOICE_URL: &str = "https://dashboard.stripe.com/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv";

fn render_with(renderer: &DiscordRenderer, message: &ChatMessage) -> Value {
    let body = renderer.render(message).expect("renders");
    assert_eq!(validate_limits(&body), Ok(()), "{body:#}");
    body
}

fn render(message: &ChatMessage) -> Value {
    render_with(&DiscordRenderer::new(), message)
}

fn payment_failed() -> ChatMessage {
    let invoice = ObjectRef::new(ObjectKind::Invoice, "in_1MtHbELkdIwHu7ixl4OzzPMv");
    let customer = ObjectRef::new(ObjectKind::Customer, "cus_NffrFeUfNV2Hib");
    ChatMessage::new("Payment failed: Jenny Rosen")
        .summary(
            "Invoice ABC-0001 for 20.00 USD could not be paid: the card was declined. \
             Stripe retries on 2023-04-01.",
        )
        .severity(Severity::Warning)
        .field("Amount", "20.00 USD")
        .field_of_kind("Customer", "Jenny Rosen", FieldKind::Name)
        .field_of_kind("Email", "jenny_rosen@example.com", FieldKind::Email)
        .field("Decline reason", "insufficient_funds")
        .field("Next step", "Stripe retries the payment automatically; the customer gets an email with a link to update the card.")
        .link("Invoice in Stripe", INVOICE_URL)
        .link("Customer", "https://dashboard.stripe.com/customers/cus_NffrFeUfNV2Hib")
        .action(
            Action::callback("retry_payment", "Retry payment", invoice.clone())
                .style(ActionStyle::Primary)
                .moves_money(true),
        )
        .action(Action::callback("mark_contacted", "Mark customer contacted", customer))
        .action(Action::link("open_invoice", "Open invoice", invoice.clone(), INVOICE_URL))
        .tag("subscription")
        .tag("test mode")
        .thread(invoice)
        .footer("invoice.payment_failed · evt_1MtHbELkdIwHu7ixl4OzzPMv")
        .timestamp(1_680_000_000)
        .source(Source {
            event_id: "evt_1MtHbELkdIwHu7ixl4OzzPMv".into(),
            event_type: "invoice.payment_failed".into(),
            livemode: false,
        })
}

/// Panics unless `text` has no live Discord markdown or mass mention but the masked links the
/// renderer wrote.
fn assert_inert(text: &str) {
    let lower = text.to_lowercase();
    assert!(
        !lower.contains("@everyone") && !lower.contains("@here"),
        "mass mention in {text:?}"
    );
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '[' => {
                // One of our masked links: [escaped label](http...)
                let mut j = i + 1;
                while j < chars.len() && chars[j] != ']' {
                    j += if chars[j] == '\\' { 2 } else { 1 };
                }
                assert_eq!(chars.get(j + 1), Some(&'('), "bare [ in {text:?}");
                let close = chars[j..]
                    .iter()
                    .position(|&c| c == ')')
                    .map(|p| j + p)
                    .expect("link closes");
                let url: String = chars[j + 2..close].iter().collect();
                assert!(
                    url.starts_with("http") && !url.contains(char::is_whitespace),
                    "{url:?} in {text:?}"
                );
                i = close + 1;
            }
            '_' if i > 0
                && chars[i - 1].is_ascii_alphanumeric()
                && chars.get(i + 1).is_some_and(char::is_ascii_alphanumeric) =>
            {
                i += 1
            }
            c @ ('*' | '_' | '~' | '`' | '|' | ']' | '<') => panic!("unescaped {c} in {text:?}"),
            _ => i += 1,
        }
    }
    for line in text.lines() {
        let start = line.trim_start();
        assert!(
            !start.starts_with(['>', '#', '-', '+']),
            "line marker in {text:?}"
        );
        let digits = start.chars().take_while(char::is_ascii_digit).count();
        assert!(
            digits == 0 || !start[digits..].starts_with(". "),
            "numbered list in {text:?}"
        );
    }
}

fn markdown_texts(body: &Value) -> Vec<String> {
    let embed = &body["embeds"][0];
    let mut texts: Vec<String> = [&embed["title"], &embed["description"]]
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    for field in embed["fields"].as_array().into_iter().flatten() {
        texts.extend(field["name"].as_str().map(str::to_owned));
        texts.extend(field["value"].as_str().map(str::to_owned));
    }
    texts
}

#[test]
fn hostile_text_renders_inert_in_every_markdown_context() {
    let message = ChatMessage::new(HOSTILE)
        .summary(format!(
            "{HOSTILE}\n> quoted\n# heading\n- item\n1. first\n-# small"
        ))
        .field(HOSTILE, HOSTILE)
        .link(
            HOSTILE,
            "https://dashboard.stripe.com/customers/cus_1?q=(a)|[b]",
        )
        .tag(HOSTILE)
        .footer(HOSTILE)
        .action(Action::link(
            "open",
            HOSTILE,
            ObjectRef::new(ObjectKind::Customer, "cus_1"),
            "https://x.test",
        ));
    let body = render(&message);
    let texts = markdown_texts(&body);
    assert_eq!(texts.len(), 4);
    for text in &texts {
        assert_inert(text);
    }
    let embed = &body["embeds"][0];
    assert_eq!(
        embed["title"],
        "\\<!channel> \\*bold\\* \\<https://evil.test\\|click> @\u{200B}everyone \
         \\<script>alert(1)\\</script> & \\|\\|spoiler\\|\\| \\[x\\](https://evil.test) \\<@123456789>"
    );
    let footer = embed["footer"]["text"].as_str().expect("footer");
    assert!(
        footer.contains("@\u{200B}everyone") && !footer.contains('\\'),
        "{footer}"
    );
    let label = body["components"][0]["components"][0]["label"]
        .as_str()
        .expect("label");
    assert!(!label.contains("@everyone") && label.chars().count() <= limits::MAX_BUTTON_LABEL);
    assert_eq!(body["allowed_mentions"], serde_json::json!({ "parse": [] }));
}

#[test]
fn links_and_tags_go_in_the_description_and_the_primary_link_is_the_embed_url() {
    let embed = &render(&payment_failed())["embeds"][0];
    let description = embed["description"].as_str().expect("description");
    assert!(description.ends_with(
        "[Invoice in Stripe](https://dashboard.stripe.com/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv) · \
         [Customer](https://dashboard.stripe.com/customers/cus_NffrFeUfNV2Hib)\nTags: subscription · test mode"
    ));
    assert_eq!(embed["url"], INVOICE_URL);
}

#[test]
fn severities_map_to_their_colours() {
    for (severity, color) in [
        (Severity::Info, 0x5865F2),
        (Severity::Success, 0x2ECC71),
        (Severity::Warning, 0xF1C40F),
        (Severity::Critical, 0xE74C3C),
    ] {
        assert_eq!(
            render(&ChatMessage::new("t").severity(severity))["embeds"][0]["color"],
            color
        );
    }
}

#[test]
fn short_values_are_inline_and_long_or_multiline_ones_are_not() {
    let message = ChatMessage::new("t")
        .field("a", "x".repeat(40))
        .field("b", "x".repeat(41))
        .field("c", "1\n2");
    let fields = &render(&message)["embeds"][0]["fields"];
    assert_eq!(fields[0]["inline"], true);
    assert_eq!(fields[1]["inline"], false);
    assert_eq!(fields[2]["inline"], false);
}

#[test]
fn empty_names_and_values_become_a_dash_and_a_blank_title_a_stand_in() {
    let body = render(&ChatMessage::new(" ").field("", " ").field("Label", "\u{7}"));
    let embed = &body["embeds"][0];
    assert_eq!(embed["title"], "Stripe event");
    assert_eq!(embed["fields"][0]["name"], "—");
    assert_eq!(embed["fields"][0]["value"], "—");
    assert_eq!(embed["fields"][1]["value"], "—");
    assert!(embed.get("description").is_none());
}

#[test]
fn huge_message_is_trimmed_fields_first_and_says_what_was_left_out() {
    let mut message = ChatMessage::new("T".repeat(600))
        .summary("s".repeat(20_000))
        .link("Invoice in Stripe", INVOICE_URL)
        .footer("footer")
        .timestamp(0);
    for i in 0..120 {
        message = message.field(format!("Field {i}"), format!("value {i} ").repeat(10));
    }
    for i in 0..40 {
        message = message.action(Action::link(
            format!("open{i}"),
            "B".repeat(100),
            ObjectRef::new(ObjectKind::Invoice, "in_1"),
            INVOICE_URL,
        ));
    }
    let body = render(&message);
    let embed = &body["embeds"][0];
    let title = embed["title"].as_str().expect("title");
    assert_eq!(title.chars().count(), limits::MAX_TITLE);
    assert!(title.ends_with('…'));
    let description = embed["description"].as_str().expect("description");
    assert!(description.chars().count() <= limits::MAX_DESCRIPTION);
    assert!(description.starts_with("sss") && description.contains("…\n\n"));
    let shown = embed["fields"].as_array().map_or(0, Vec::len);
    assert!(shown < 120);
    let note = format!(
        "… {} more fields in the [Stripe Dashboard]({INVOICE_URL})",
        120 - shown
    );
    assert!(description.contains(&note), "{note} not in {description}");

    let rows = body["components"].as_array().expect("rows");
    assert_eq!(rows.len(), limits::MAX_ACTION_ROWS);
    assert!(
        rows.iter()
            .all(|r| r["components"].as_array().map(Vec::len) == Some(limits::MAX_BUTTONS_PER_ROW))
    );
    assert_eq!(
        rows[0]["components"][0]["label"]
            .as_str()
            .map(|l| l.chars().count()),
        Some(limits::MAX_BUTTON_LABEL)
    );
}

#[test]
fn many_fields_stop_at_twenty_five() {
    let mut message = ChatMessage::new("t").link("Customer", "https://example.test/c");
    for i in 0..30 {
        message = message.field(format!("F{i}"), "v");
    }
    let embed = &render(&message)["embeds"][0];
    assert_eq!(
        embed["fields"].as_array().map(Vec::len),
        Some(limits::MAX_FIELDS)
    );
    assert!(
        embed["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("… 5 more fields: [Customer](https://example.test/c)")),
        "{embed}"
    );
}

#[test]
fn callback_buttons_need_an_interactive_webhook() {
    let message = payment_failed();
    let plain = render(&message);
    let buttons = plain["components"][0]["components"]
        .as_array()
        .expect("buttons");
    assert_eq!(buttons.len(), 1);
    assert_eq!(buttons[0]["style"], 5);
    assert_eq!(buttons[0]["url"], INVOICE_URL);

    let interactive = render_with(&DiscordRenderer::new().interactive(true), &message);
    let buttons = interactive["components"][0]["components"]
        .as_array()
        .expect("buttons");
    assert_eq!(buttons.len(), 3);
    assert_eq!(
        buttons[0]["custom_id"],
        "sc:retry_payment:invoice:in_1MtHbELkdIwHu7ixl4OzzPMv"
    );
    assert_eq!(buttons[0]["style"], 1);
    assert_eq!(buttons[1]["style"], 2);
}

#[test]
fn callback_buttons_with_long_or_repeated_custom_ids_are_left_out() {
    let target = ObjectRef::new(ObjectKind::Invoice, "in_1");
    let message = ChatMessage::new("t")
        .action(Action::callback("refund", "Refund", target.clone()).style(ActionStyle::Danger))
        .action(Action::callback("refund", "Refund again", target.clone()))
        .action(Action::callback("x".repeat(100), "Long", target.clone()))
        .action(Action::link("open", "Open", target, "javascript:alert(1)"));
    let body = render_with(&DiscordRenderer::new().interactive(true), &message);
    let buttons = body["components"][0]["components"]
        .as_array()
        .expect("buttons");
    assert_eq!(buttons.len(), 1);
    assert_eq!(buttons[0]["style"], 4);
}

#[test]
fn username_and_avatar_are_sent_when_configured_and_refused_when_invalid() {
    let renderer = DiscordRenderer::new()
        .username("Stripe @everyone")
        .avatar_url("https://example.com/a.png");
    let body = render_with(&renderer, &ChatMessage::new("t"));
    assert_eq!(body["username"], "Stripe @\u{200B}everyone");
    assert_eq!(body["avatar_url"], "https://example.com/a.png");
    assert_eq!(body["content"], "");
    assert!(
        DiscordRenderer::new()
            .username(" ")
            .render(&ChatMessage::new("t"))
            .is_err()
    );
    assert!(
        DiscordRenderer::new()
            .avatar_url("file:///etc/passwd")
            .render(&ChatMessage::new("t"))
            .is_err()
    );
}

#[test]
fn timestamp_is_rfc3339() {
    let body = render(&ChatMessage::new("t").timestamp(1_680_000_000));
    assert_eq!(body["embeds"][0]["timestamp"], "2023-03-28T10:40:00Z");
}

#[test]
fn representative_message_matches_the_reviewed_snapshot() {
    let body = render_with(
        &DiscordRenderer::new().interactive(true).username("Stripe"),
        &payment_failed(),
    );
    insta::assert_json_snapshot!("invoice_payment_failed", body);
}

#[test]
fn a_label_of_control_characters_and_spaces_becomes_a_placeholder_not_a_blank_name() {
    use stripe_chat_message::{ChatMessage, Renderer};
    let message = ChatMessage::new("t").field("\u{7f} \u{7f}", "\u{7f} \u{7f}");
    let body = stripe_chat_discord::DiscordRenderer::new()
        .render(&message)
        .expect("renders");
    stripe_chat_discord::validate_limits(&body).expect("within Discord's limits");
    assert_ne!(
        body["embeds"][0]["fields"][0]["name"]
            .as_str()
            .map(str::trim),
        Some("")
    );
}

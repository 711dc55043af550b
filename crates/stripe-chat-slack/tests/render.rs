//! Behaviour of the Slack renderer: escaping, trimming, buttons, and a reviewed snapshot.

use serde_json::Value;
use stripe_chat_message::{
    Action, ActionStyle, ChatMessage, FieldKind, ObjectKind, ObjectRef, Renderer, Severity, Source,
};
use stripe_chat_slack::{SlackRenderer, limits, validate_limits};

const HOSTILE: &str = "<!channel> *bold* <https://evil.test|click> @everyone \
    <script>alert(1)</script> & ||spoiler|| [x](https://evil.test) <@123456789>";

const INVOICE_URL: &str = "https://dashboard.stripe.com/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv";

fn render(message: &ChatMessage) -> Value {
    let body = SlackRenderer::new().render(message).expect("renders");
    assert_eq!(validate_limits(&body), Ok(()), "{body:#}");
    body
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
        .field("Attempt", "1 of 4")
        .link("Invoice in Stripe", INVOICE_URL)
        .link(
            "Customer",
            "https://dashboard.stripe.com/customers/cus_NffrFeUfNV2Hib",
        )
        .action(
            Action::callback("retry_payment", "Retry payment", invoice.clone())
                .style(ActionStyle::Primary)
                .moves_money(true),
        )
        .action(Action::callback(
            "mark_contacted",
            "Mark customer contacted",
            customer,
        ))
        .action(Action::link(
            "open_invoice",
            "Open invoice",
            invoice.clone(),
            INVOICE_URL,
        ))
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

/// Every `mrkdwn` text of a body, plus its fallback `text`.
fn mrkdwn_texts(body: &Value) -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if map.get("type") == Some(&Value::from("mrkdwn")) {
                    out.extend(map.get("text").and_then(Value::as_str).map(str::to_owned));
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out: Vec<String> = body["text"]
        .as_str()
        .map(str::to_owned)
        .into_iter()
        .collect();
    walk(&body["blocks"], &mut out);
    out
}

/// Panics unless `text` has no live Slack markup but the links and label bolding the renderer wrote.
fn assert_inert(text: &str) {
    let mut rest = text;
    // A field starts with its bold label, `*Label*\n`; labels themselves hold no `*`.
    if let Some(after) = rest.strip_prefix('*')
        && let Some(end) = after.find("*\n")
    {
        assert_no_formatting(&after[..end], text);
        rest = &after[end + 2..];
    }
    while let Some(start) = rest.find('<') {
        assert_no_formatting(&rest[..start], text);
        let end = rest[start..]
            .find('>')
            .map(|e| start + e)
            .expect("link is closed");
        let link = &rest[start + 1..end];
        assert!(
            link.to_ascii_lowercase().starts_with("http"),
            "live <{link}> in {text}"
        );
        if let Some((_, label)) = link.split_once('|') {
            assert_no_formatting(label, text);
        }
        rest = &rest[end + 1..];
    }
    assert_no_formatting(rest, text);
}

fn assert_no_formatting(part: &str, text: &str) {
    assert!(
        !part.contains('>') && !part.contains('<'),
        "angle bracket in {text:?}"
    );
    let chars: Vec<char> = part.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let word = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(char::is_ascii_alphanumeric)
        };
        match c {
            '*' | '~' | '`' => panic!("formatting character {c} in {text:?}"),
            '_' => assert!(
                word(i.checked_sub(1)) && word(Some(i + 1)),
                "underscore at a word edge in {text:?}"
            ),
            _ => {}
        }
    }
    for line in part.lines() {
        assert!(
            !line.trim_start().starts_with("&gt;"),
            "block quote in {text:?}"
        );
    }
}

#[test]
fn hostile_text_renders_inert_in_every_mrkdwn_context() {
    let target = ObjectRef::new(ObjectKind::Charge, "ch_1");
    let message = ChatMessage::new(HOSTILE)
        .summary(format!("{HOSTILE}\n> quoted\n_italic_ ~strike~ `code`"))
        .field(HOSTILE, HOSTILE)
        .field("", HOSTILE)
        .link(
            HOSTILE,
            "https://dashboard.stripe.com/customers/cus_1?a=1&b=<2>|x",
        )
        .action(Action::callback("refund", HOSTILE, target).moves_money(true))
        .tag(HOSTILE)
        .footer(HOSTILE);
    let body = render(&message);
    let texts = mrkdwn_texts(&body);
    assert!(texts.len() >= 7, "{texts:#?}");
    for text in &texts {
        assert_inert(text);
    }
    assert_eq!(
        body["blocks"][1]["text"]["text"]
            .as_str()
            .map(|s| s.lines().next()),
        Some(Some(
            "&lt;!channel&gt; ∗bold∗ &lt;https://evil.test|click&gt; @everyone \
             &lt;script&gt;alert(1)&lt;/script&gt; &amp; ||spoiler|| [x](https://evil.test) \
             &lt;@123456789&gt;"
        ))
    );
    assert_eq!(
        body["blocks"][3]["text"]["text"],
        "<https://dashboard.stripe.com/customers/cus_1?a=1&amp;b=%3C2%3E%7Cx|&lt;!channel&gt; ∗bold∗ \
         &lt;https://evil.test¦click&gt; @everyone &lt;script&gt;alert(1)&lt;/script&gt; &amp; \
         ¦¦spoiler¦¦ [x](https://evil.test) &lt;…>",
        "the label is cut to 150 characters between escapes"
    );
}

#[test]
fn every_mrkdwn_object_is_verbatim_so_slack_links_nothing_itself() {
    let body = render(&payment_failed());
    fn walk(value: &Value) {
        match value {
            Value::Object(map) => {
                if map.get("type") == Some(&Value::from("mrkdwn")) {
                    assert_eq!(map.get("verbatim"), Some(&Value::Bool(true)), "{value}");
                }
                map.values().for_each(walk);
            }
            Value::Array(items) => items.iter().for_each(walk),
            _ => {}
        }
    }
    walk(&body);
}

#[test]
fn plain_text_keeps_event_text_as_typed_but_within_limits() {
    let body = render(&ChatMessage::new("<!here> *x*").severity(Severity::Critical));
    assert_eq!(
        body["blocks"][0]["text"]["text"],
        ":rotating_light: <!here> *x*"
    );
}

#[test]
fn huge_message_is_trimmed_to_fit_and_says_what_was_left_out() {
    let mut message = ChatMessage::new("T".repeat(600))
        .summary("s".repeat(20_000))
        .link("Invoice in Stripe", INVOICE_URL)
        .footer("footer")
        .timestamp(0);
    for i in 0..120 {
        message = message.field(format!("Field {i}"), format!("value {i} ").repeat(10));
    }
    for i in 0..40 {
        message = message.action(Action::callback(
            format!("act{i}"),
            "B".repeat(100),
            ObjectRef::new(ObjectKind::Invoice, "in_1"),
        ));
    }
    let body = render(&message);
    let blocks = body["blocks"].as_array().expect("blocks");
    assert!(blocks.len() <= limits::MAX_BLOCKS);

    let header = blocks[0]["text"]["text"].as_str().expect("header");
    assert_eq!(header.chars().count(), limits::MAX_HEADER_TEXT);
    assert!(header.ends_with('…'));
    let summary = blocks[1]["text"]["text"].as_str().expect("summary");
    assert!(summary.chars().count() <= limits::MAX_SECTION_TEXT && summary.ends_with('…'));

    let field_count: usize = blocks
        .iter()
        .filter_map(|b| b["fields"].as_array())
        .map(|fields| {
            assert!(fields.len() <= limits::MAX_SECTION_FIELDS);
            fields.len()
        })
        .sum();
    assert!(field_count > 0 && field_count < 120, "{field_count}");
    let note = blocks
        .iter()
        .filter(|b| b["type"] == "context")
        .filter_map(|b| b["elements"][0]["text"].as_str())
        .find(|t| t.starts_with('…'))
        .expect("a note about the fields left out");
    assert_eq!(
        note,
        format!(
            "… {} more fields in the <{INVOICE_URL}|Stripe Dashboard>",
            120 - field_count
        )
    );

    let buttons = blocks
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("actions")["elements"]
        .as_array()
        .expect("buttons")
        .len();
    assert_eq!(buttons, limits::MAX_ACTIONS_ELEMENTS);
    assert_eq!(
        blocks.last().map(|b| &b["type"]),
        Some(&Value::from("context"))
    );
}

#[test]
fn many_small_fields_stop_at_fifty_blocks() {
    let mut message = ChatMessage::new("Many fields");
    for i in 0..600 {
        message = message.field(format!("F{i}"), "v");
    }
    let body = render(&message.link("Customer", "https://example.test/c"));
    let blocks = body["blocks"].as_array().expect("blocks");
    assert_eq!(blocks.len(), limits::MAX_BLOCKS);
    let shown: usize = blocks
        .iter()
        .filter_map(|b| b["fields"].as_array())
        .map(Vec::len)
        .sum();
    let note = format!(
        "… {} more fields: <https://example.test/c|Customer>",
        600 - shown
    );
    assert!(
        blocks
            .iter()
            .any(|b| b["elements"][0]["text"] == note.as_str()),
        "{note}"
    );
}

#[test]
fn long_summary_alone_is_cut_and_links_to_the_full_details() {
    let message = ChatMessage::new("t")
        .summary("word ".repeat(1_000))
        .link("Dispute", "https://dashboard.stripe.com/disputes/dp_1");
    let body = render(&message);
    assert_eq!(
        body["blocks"][2]["elements"][0]["text"],
        "Full details in the <https://dashboard.stripe.com/disputes/dp_1|Stripe Dashboard>"
    );
}

#[test]
fn empty_field_values_and_labels_still_render_valid_fields() {
    let body = render(
        &ChatMessage::new("")
            .field("", "")
            .field("Label", " ")
            .field("", "value"),
    );
    assert_eq!(
        body["blocks"][0]["text"]["text"],
        ":information_source: Stripe event"
    );
    let fields = &body["blocks"][1]["fields"];
    assert_eq!(fields[0]["text"], "—");
    assert_eq!(fields[1]["text"], "*Label*\n—");
    assert_eq!(fields[2]["text"], "value");
}

#[test]
fn unsafe_or_overlong_urls_are_dropped_from_links_and_buttons() {
    let target = ObjectRef::new(ObjectKind::Invoice, "in_1");
    let message = ChatMessage::new("t")
        .link("bad", "javascript:alert(1)")
        .link("long", format!("https://x.test/{}", "a".repeat(3_000)))
        .link("ok", "https://x.test/ok")
        .action(Action::link(
            "open",
            "Open",
            target.clone(),
            "javascript:alert(1)",
        ))
        .action(Action::link("open2", "Open", target, "https://x.test/ok"));
    let body = render(&message);
    assert_eq!(body["blocks"][1]["text"]["text"], "<https://x.test/ok|ok>");
    let buttons = body["blocks"][2]["elements"].as_array().expect("buttons");
    assert_eq!(buttons.len(), 1);
    assert_eq!(buttons[0]["action_id"], "open2:1");
    assert_eq!(buttons[0]["url"], "https://x.test/ok");
}

#[test]
fn money_moving_callback_buttons_ask_for_confirmation() {
    let charge = ObjectRef::new(ObjectKind::Charge, "ch_3MmlLrLkdIwHu7ix0snN0B15");
    let message = ChatMessage::new("Dispute opened")
        .action(
            Action::callback("refund", "Refund 20.00 USD", charge.clone())
                .style(ActionStyle::Danger)
                .moves_money(true),
        )
        .action(Action::callback("note", "Add note", charge));
    let body = render(&message);
    let buttons = &body["blocks"][1]["elements"];
    assert_eq!(buttons[0]["style"], "danger");
    assert_eq!(
        buttons[0]["value"],
        "sc:refund:charge:ch_3MmlLrLkdIwHu7ix0snN0B15"
    );
    assert_eq!(buttons[0]["action_id"], buttons[0]["value"]);
    assert_eq!(buttons[0]["confirm"]["confirm"]["text"], "Refund 20.00 USD");
    assert_eq!(buttons[0]["confirm"]["style"], "danger");
    assert!(buttons[1].get("confirm").is_none() && buttons[1].get("style").is_none());
}

#[test]
fn action_ids_stay_unique_and_short_when_actions_repeat_or_are_long() {
    let target = ObjectRef::new(ObjectKind::Invoice, "in_1");
    let long_id = "x".repeat(400);
    let message = ChatMessage::new("t")
        .action(Action::callback("same", "A", target.clone()))
        .action(Action::callback("same", "B", target.clone()))
        .action(Action::link(
            "same",
            "Open",
            target.clone(),
            "https://x.test/1",
        ))
        .action(Action::link(
            long_id.as_str(),
            "C",
            target,
            "https://x.test",
        ));
    let body = render(&message);
    let buttons = body["blocks"][1]["elements"].as_array().expect("buttons");
    assert_eq!(buttons.len(), 3, "the repeated callback is left out");
    assert_eq!(buttons[0]["action_id"], "sc:same:invoice:in_1");
    assert_eq!(buttons[1]["action_id"], "same:2");
    let last = buttons[2]["action_id"].as_str().expect("id");
    assert_eq!(last.chars().count(), limits::MAX_ACTION_ID);
    assert!(last.ends_with(":3"));
}

#[test]
fn callback_buttons_carry_the_token_of_a_press_with_the_connected_account() {
    let invoice = ObjectRef::new(ObjectKind::Invoice, "in_1MtHbELkdIwHu7ixl4OzzPMv");
    let message = ChatMessage::new("Payment failed")
        .account("acct_1032D82eZvKYlo2C")
        .action(Action::callback("retry_payment", "Retry payment", invoice));
    let body = render(&message);
    let button = &body["blocks"][1]["elements"][0];
    assert_eq!(
        button["action_id"],
        "sc:retry_payment:invoice:in_1MtHbELkdIwHu7ixl4OzzPMv@acct_1032D82eZvKYlo2C"
    );
    assert_eq!(button["value"], button["action_id"]);
}

#[test]
fn callback_buttons_whose_value_would_be_too_long_are_left_out() {
    let message = ChatMessage::new("t").action(Action::callback(
        "a".repeat(2_000),
        "Too long",
        ObjectRef::new(ObjectKind::Invoice, "in_1"),
    ));
    let body = render(&message);
    assert!(
        body["blocks"]
            .as_array()
            .expect("blocks")
            .iter()
            .all(|b| b["type"] != "actions")
    );
}

#[test]
fn channel_and_thread_appear_only_when_set() {
    let message = ChatMessage::new("Invoice paid");
    let plain = render(&message);
    assert!(plain.get("channel").is_none() && plain.get("thread_ts").is_none());
    assert_eq!(plain["unfurl_links"], false);
    assert_eq!(plain["unfurl_media"], false);
    let renderer = SlackRenderer::new().channel("C0123456789");
    let reply = renderer
        .render_reply(&message, "1700000000.000100")
        .expect("renders");
    assert_eq!(reply["channel"], "C0123456789");
    assert_eq!(reply["thread_ts"], "1700000000.000100");
    assert!(SlackRenderer::new().channel(" ").render(&message).is_err());
}

#[test]
fn fallback_text_is_short_escaped_and_on_one_line() {
    let message = ChatMessage::new("<b>\nTitle").summary("x".repeat(5_000));
    let text = render(&message)["text"].as_str().expect("text").to_owned();
    assert!(text.starts_with("&lt;b&gt; Title — xxx"));
    assert_eq!(text.chars().count(), limits::MAX_FALLBACK_TEXT);
    assert!(!text.contains('\n'));
}

#[test]
fn representative_message_matches_the_reviewed_snapshot() {
    insta::assert_json_snapshot!("invoice_payment_failed", render(&payment_failed()));
}

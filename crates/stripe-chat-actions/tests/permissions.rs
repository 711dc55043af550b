//! Every role × action × amount case of a realistic configuration, from one table; the four-eyes
//! rule; and the configuration errors a typo makes.

#![allow(clippy::unwrap_used)] // test code

use stripe_chat_actions::{ActionId, ActionRequest, Denial, Identity, Permissions, Verdict};

const CONFIG: &str = r#"
[[roles]]
name = "billing"
actions = ["retry_payment", "send_dunning_email", "mark_contacted", "assign", "create_ticket"]
max_amount = { usd = 1000.0, jpy = 100000.0 }
approval_above = { usd = 500.0 }

[[roles]]
name = "finance"
actions = ["*"]

[[roles]]
name = "support"
actions = ["assign", "notify", "create_ticket", "mark_contacted", "add_evidence"]
mode = "test"

[[roles]]
name = "connect-ops"
actions = ["retry_payment"]
accounts = ["acct_A"]

[[people]]
name = "ana"
roles = ["billing"]
slack = ["T0123ABCD/U0123ABCD"]
discord = ["80351110224678912"]

[[people]]
name = "cy"
roles = ["finance"]
slack = ["T0123ABCD/U0CY"]

[[people]]
name = "sam"
roles = ["support"]
discord = ["111"]

[[people]]
name = "olga"
roles = ["connect-ops"]
discord = ["222"]

[[people]]
name = "ben"
roles = ["billing", "finance"]
slack = ["T0123ABCD/U0BEN"]

[[people]]
name = "nobody-yet"
slack = ["T0123ABCD/U0NEW"]
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Allowed, with (confirm, approval).
    Yes(bool, bool),
    Unknown,
    NotGranted,
    WrongMode,
    WrongAccount,
    OverLimit,
}

fn outcome(verdict: &Verdict) -> Want {
    match verdict {
        Verdict::Allowed {
            confirm, approval, ..
        } => Want::Yes(*confirm, *approval),
        Verdict::Denied(Denial::UnknownPerson) => Want::Unknown,
        Verdict::Denied(Denial::NotGranted { .. }) => Want::NotGranted,
        Verdict::Denied(Denial::WrongMode { .. }) => Want::WrongMode,
        Verdict::Denied(Denial::WrongAccount { .. }) => Want::WrongAccount,
        Verdict::Denied(Denial::OverLimit { .. }) => Want::OverLimit,
        Verdict::Denied(other) => panic!("unexpected {other:?}"),
    }
}

/// Who, action, amount (minor units, currency), livemode, account, and the outcome wanted.
type Row<'a> = (
    &'a Identity,
    ActionId,
    Option<(i64, &'a str)>,
    bool,
    Option<&'a str>,
    Want,
);

fn slack(user: &str) -> Identity {
    Identity::slack("T0123ABCD", user)
}

#[test]
fn every_role_action_and_amount_case_of_the_table() {
    use ActionId::*;
    use Want::*;
    let permissions = Permissions::from_toml(CONFIG).unwrap();
    let ana = slack("U0123ABCD");
    let ana_discord = Identity::discord("80351110224678912");
    let cy = slack("U0CY");
    let sam = Identity::discord("111");
    let olga = Identity::discord("222");
    let ben = slack("U0BEN");
    let newcomer = slack("U0NEW");
    let stranger = slack("U0STRANGER");
    let other_workspace = Identity::slack("T0OTHER", "U0123ABCD");
    // (who, action, amount in minor units and currency, livemode, account) → outcome
    #[rustfmt::skip]
    let table: Vec<Row<'_>> = vec![
        // billing: money moves with confirmation; over 500 USD needs approval; over 1,000 refused
        (&ana, RetryPayment, Some((20_000, "usd")), true, None, Yes(true, false)),
        (&ana, RetryPayment, Some((50_000, "usd")), true, None, Yes(true, false)),
        (&ana, RetryPayment, Some((50_001, "usd")), true, None, Yes(true, true)),
        (&ana, RetryPayment, Some((100_000, "usd")), false, None, Yes(true, true)),
        (&ana, RetryPayment, Some((100_001, "usd")), true, None, OverLimit),
        (&ana, RetryPayment, Some((90_000, "jpy")), true, None, Yes(true, false)),
        (&ana, RetryPayment, Some((100_001, "jpy")), true, None, OverLimit),
        (&ana, RetryPayment, Some((1_000, "eur")), true, None, OverLimit),
        (&ana_discord, RetryPayment, Some((20_000, "usd")), true, None, Yes(true, false)),
        (&ana, SendDunningEmail, None, true, None, Yes(false, false)),
        (&ana, MarkContacted, None, true, None, Yes(false, false)),
        (&ana, Assign, None, true, None, Yes(false, false)),
        (&ana, CreateTicket, None, true, None, Yes(false, false)),
        (&ana, Notify, None, true, None, NotGranted),
        (&ana, AddEvidence, None, true, None, NotGranted),
        (&ana, SubmitEvidence, Some((5_000, "usd")), true, None, NotGranted),
        // finance: everything, any amount, confirmation for what moves money
        (&cy, RetryPayment, Some((10_000_000, "usd")), true, None, Yes(true, false)),
        (&cy, SubmitEvidence, Some((10_000, "eur")), true, None, Yes(true, false)),
        (&cy, Notify, None, false, Some("acct_Z"), Yes(false, false)),
        (&cy, Open, None, true, None, Yes(false, false)),
        // support: test mode only
        (&sam, Assign, None, false, None, Yes(false, false)),
        (&sam, AddEvidence, None, false, None, Yes(false, false)),
        (&sam, Assign, None, true, None, WrongMode),
        (&sam, RetryPayment, Some((100, "usd")), false, None, NotGranted),
        // connect-ops: one connected account only
        (&olga, RetryPayment, Some((100, "usd")), true, Some("acct_A"), Yes(true, false)),
        (&olga, RetryPayment, Some((100, "usd")), true, Some("acct_B"), WrongAccount),
        (&olga, RetryPayment, Some((100, "usd")), true, None, WrongAccount),
        // two roles: the most permissive decides (finance needs no approval, no ceiling)
        (&ben, RetryPayment, Some((90_000, "usd")), true, None, Yes(true, false)),
        (&ben, RetryPayment, Some((500_000, "usd")), true, None, Yes(true, false)),
        // a person without roles, an unknown user, a known user id in another workspace
        (&newcomer, Assign, None, true, None, NotGranted),
        (&stranger, Assign, None, true, None, Unknown),
        (&other_workspace, RetryPayment, Some((100, "usd")), true, None, Unknown),
    ];
    for (i, (who, action, amount, livemode, account, want)) in table.into_iter().enumerate() {
        let mut request = ActionRequest::new(action).livemode(livemode);
        if let Some((minor, currency)) = amount {
            request = request.amount(minor, currency);
        }
        if let Some(account) = account {
            request = request.account(account);
        }
        let verdict = permissions.decide(who, &request);
        assert_eq!(
            outcome(&verdict),
            want,
            "row {i}: {who} {request:?} → {verdict:?}"
        );
    }
}

#[test]
fn a_denial_names_what_is_missing_and_never_other_peoples_roles() {
    let permissions = Permissions::from_toml(CONFIG).unwrap();
    let request = ActionRequest::new(ActionId::RetryPayment).amount(200_000, "usd");
    let Verdict::Denied(denial) = permissions.decide(&slack("U0123ABCD"), &request) else {
        panic!("over the ceiling");
    };
    let text = denial.to_string();
    assert_eq!(
        text,
        "Your roles allow “Retry payment” up to 1,000.00 USD; this is more."
    );
    for secret in ["finance", "cy", "billing"] {
        assert!(!text.contains(secret), "{text}");
    }
    let Verdict::Denied(unknown) = permissions.decide(&slack("U0X"), &request) else {
        panic!("unknown");
    };
    assert!(unknown.to_string().contains("not set up"), "{unknown}");
}

#[test]
fn four_eyes_a_second_person_approves_and_nobody_approves_their_own_request() {
    let permissions = Permissions::from_toml(CONFIG).unwrap();
    let request = ActionRequest::new(ActionId::RetryPayment)
        .amount(80_000, "usd")
        .livemode(true);
    let Verdict::Allowed {
        person, approval, ..
    } = permissions.decide(&slack("U0123ABCD"), &request)
    else {
        panic!("ana may ask");
    };
    assert!(approval, "above 500 USD");
    assert_eq!(
        permissions.approve(&slack("U0CY"), &request, &person),
        Ok("cy".to_string())
    );
    assert_eq!(
        permissions.approve(&Identity::discord("80351110224678912"), &request, &person),
        Err(Denial::SelfApproval),
        "ana from her other identity is still ana"
    );
    assert!(
        permissions
            .approve(&Identity::discord("111"), &request, &person)
            .is_err(),
        "sam's roles do not grant it"
    );
    assert!(
        permissions
            .approve(&slack("U0STRANGER"), &request, &person)
            .is_err(),
        "an unknown person approves nothing"
    );
}

#[test]
fn configuration_mistakes_are_refused_naming_the_key() {
    let cases = [
        (
            "[[roles]]\nname = \"r\"\nactions = [\"refund\"]\n",
            "roles[0] \"r\".actions",
        ),
        (
            "[[roles]]\nname = \"r\"\nactions = []\n",
            "roles[0] \"r\".actions",
        ),
        (
            "[[roles]]\nname = \"r\"\nactions = [\"*\"]\nmax_amount = { USD = 10.0 }\n",
            "roles[0] \"r\".max_amount.USD",
        ),
        (
            "[[roles]]\nname = \"r\"\nactions = [\"*\"]\nmax_amount = { usd = -1.0 }\n",
            "roles[0] \"r\".max_amount.usd",
        ),
        (
            "[[roles]]\nname = \"r\"\nactions = [\"*\"]\n[[roles]]\nname = \"r\"\nactions = [\"*\"]\n",
            "roles[1].name",
        ),
        (
            "[[people]]\nname = \"a\"\nslack = [\"U0123\"]\n",
            "people[0] \"a\".slack",
        ),
        (
            "[[people]]\nname = \"a\"\ndiscord = [\"abc\"]\n",
            "people[0] \"a\".discord",
        ),
        (
            "[[people]]\nname = \"a\"\nmatrix = [\"ana\"]\n",
            "people[0] \"a\".matrix",
        ),
        (
            "[[people]]\nname = \"a\"\ndiscord = [\"1\"]\n[[people]]\nname = \"b\"\ndiscord = [\"1\"]\n",
            "people[1] \"b\".discord",
        ),
        ("[[people]]\nname = \"a\"\nrole = [\"x\"]\n", "config"),
    ];
    for (text, key) in cases {
        let err = Permissions::from_toml(text).unwrap_err();
        assert_eq!(err.key, key, "{text}: {err}");
    }
}

#[test]
fn four_eyes_end_to_end_confirmation_then_approval_each_within_its_expiry() {
    use std::time::{Duration, SystemTime};
    use stripe_chat_actions::{DEFAULT_EXPIRY, Pending, Stage};
    let permissions = Permissions::from_toml(CONFIG).unwrap();
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_765_000_000);
    let request = ActionRequest::new(ActionId::RetryPayment)
        .amount(80_000, "usd")
        .livemode(true);
    let Verdict::Allowed {
        person,
        confirm,
        approval,
    } = permissions.decide(&slack("U0123ABCD"), &request)
    else {
        panic!("ana may ask");
    };
    let mut pending = Pending::new(&person, request.clone(), confirm, approval, t0);
    // Approving before the confirmation is refused; so is someone else confirming.
    assert!(pending.approve("cy", t0).is_err());
    assert!(pending.confirm("cy", t0).is_err());
    assert_eq!(
        pending.confirm(&person, t0 + Duration::from_secs(10)),
        Ok(Stage::AwaitingApproval)
    );
    // Nobody approves their own request, from any identity.
    let approver = permissions.approve(&Identity::discord("80351110224678912"), &request, &person);
    assert_eq!(approver, Err(Denial::SelfApproval));
    assert_eq!(pending.approve(&person, t0), Err(Denial::SelfApproval));
    // An approval after the expiry is refused; in time, it makes the request ready.
    let late = t0 + Duration::from_secs(10) + DEFAULT_EXPIRY + Duration::from_secs(1);
    let cy = permissions
        .approve(&slack("U0CY"), &request, &person)
        .unwrap();
    let mut expired = pending.clone();
    assert_eq!(expired.approve(&cy, late), Err(Denial::Expired));
    assert_eq!(
        pending.approve(&cy, t0 + Duration::from_secs(600)),
        Ok(Stage::Ready)
    );
    assert_eq!(pending.approved_by(), Some("cy"));
    // A confirmation after the expiry is refused too.
    let mut slow = Pending::new(&person, request, true, false, t0);
    assert_eq!(
        slow.confirm(&person, t0 + DEFAULT_EXPIRY + Duration::from_secs(1)),
        Err(Denial::Expired)
    );
}

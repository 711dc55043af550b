//! The `stripe-chat` binary as an operator uses it: exit codes, stdout and stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stripe-chat"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(name)
}

fn render(provider: &str, path: &Path) -> Output {
    bin()
        .args(["render", "--provider", provider])
        .arg(path)
        .output()
        .expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_one_line_error(output: &Output, needle: &str) {
    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(output));
    assert!(output.stdout.is_empty(), "nothing on stdout");
    let err = stderr(output);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(err.contains(needle), "{err:?} should mention {needle:?}");
}

#[test]
fn every_corpus_event_renders_for_every_provider_with_exit_zero() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for (i, path) in files.iter().enumerate() {
        // Every event once per run; each provider over a quarter of the corpus keeps this fast.
        let provider = ["slack", "teams", "discord", "matrix"][i % 4];
        let output = render(provider, path);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            stderr(&output)
        );
        if output.stdout.is_empty() {
            assert!(stderr(&output).contains("no message"), "{}", path.display());
        } else {
            let body: serde_json::Value =
                serde_json::from_slice(&output.stdout).expect("stdout is one JSON body");
            assert!(body.is_object(), "{}", path.display());
        }
    }
}

#[test]
fn a_missing_file_is_named_with_exit_two_and_nothing_on_stdout() {
    assert_one_line_error(
        &render("slack", Path::new("no/such/event.json")),
        "cannot read no/such/event.json",
    );
}

#[test]
fn a_file_that_is_not_json_is_named_as_such() {
    let dir = tempdir();
    let path = dir.join("not-json.json");
    std::fs::write(&path, b"this is not json").expect("write");
    assert_one_line_error(&render("teams", &path), "not JSON");
}

#[test]
fn json_that_is_not_a_stripe_event_is_named_as_such() {
    let dir = tempdir();
    for (name, body) in [
        ("array.json", &b"[1,2,3]"[..]),
        ("customer.json", br#"{"id":"cus_1","object":"customer"}"#),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, body).expect("write");
        assert_one_line_error(&render("discord", &path), "not a Stripe event");
    }
}

#[test]
fn binary_garbage_never_panics() {
    let dir = tempdir();
    let path = dir.join("garbage.json");
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, garbage).expect("write");
    let output = render("matrix", &path);
    assert_eq!(output.status.code(), Some(2));
    assert!(!stderr(&output).contains("panicked"));
}

#[test]
fn an_unknown_provider_is_refused_with_exit_two() {
    let output = render("irc", &fixture("invoice.paid@2024-06-20.json"));
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(stderr(&output).contains("unknown provider"));
}

#[test]
fn a_config_error_names_the_file_line_and_key() {
    let dir = tempdir();
    let path = dir.join("render.toml");
    std::fs::write(
        &path,
        "[redaction]\nlevel = \"public\"\n\n[slack]\nchanel = \"C1\"\n",
    )
    .expect("write");
    let output = bin()
        .args(["render", "--provider", "slack", "--config"])
        .arg(&path)
        .arg(fixture("invoice.paid@2024-06-20.json"))
        .output()
        .expect("runs");
    assert_one_line_error(&output, "chanel");
    assert!(
        // toml places an unknown key at its table (`[slack]`, line 4).
        stderr(&output).contains("render.toml: line 4: slack: unknown field `chanel`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_config_sets_slack_channel_and_redaction_level() {
    let dir = tempdir();
    let path = dir.join("render.toml");
    std::fs::write(
        &path,
        "[redaction]\nlevel = \"restricted\"\n[slack]\nchannel = \"C0FINANCE\"\n",
    )
    .expect("write");
    let output = bin()
        .args(["render", "--provider", "slack", "--config"])
        .arg(&path)
        .arg(fixture("invoice.paid@2024-06-20.json"))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(body["channel"], "C0FINANCE");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("jenny.rosen@example.com"),
        "restricted keeps emails"
    );
}

#[test]
fn standard_input_is_read_with_a_dash() {
    use std::io::Write;
    let raw =
        std::fs::read(fixture("charge.dispute.created@2026-09-30.endive.json")).expect("fixture");
    let mut child = bin()
        .args(["render", "--provider", "matrix", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&raw)
        .expect("write");
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(0));
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(body["msgtype"], "m.notice");
}

#[test]
fn the_demo_renders_the_bundled_samples_for_all_four_platforms() {
    let output = bin().arg("demo").output().expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    for heading in ["## slack", "## teams", "## discord", "## matrix"] {
        assert_eq!(text.matches(heading).count(), 3, "{heading}");
    }
    assert!(text.contains("signature verified"));
}

/// A service configuration under `dir` with `extra` appended; its store and messages file would
/// be created under `dir/data`.
fn service_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("stripe-chat.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_check\"]\n[store]\nsqlite = {:?}\n[[destinations]]\nname = \"log\"\nprovider = \"file\"\npath = {:?}\n[[destinations]]\nname = \"ops\"\nprovider = \"matrix\"\nhomeserver = \"https://matrix.invalid\"\nroom_id = \"!ops:matrix.invalid\"\naccess_token = \"syt_check\"\n[[routes]]\nevents = [\"*\"]\nto = [\"log\", \"ops\"]\n{extra}",
            dir.join("data/stripe-chat.db").display().to_string(),
            dir.join("data/messages.jsonl").display().to_string(),
        ),
    )
    .expect("write");
    path
}

#[test]
fn check_accepts_a_valid_configuration_and_opens_nothing_it_names() {
    let dir = tempdir();
    let config = service_config(&dir, "");
    let output = bin()
        .arg("check")
        .arg("--config")
        .arg(&config)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains("valid: listen 127.0.0.1:0")
            && stdout.contains("2 destination(s): log (file), ops (matrix), 1 route(s)"),
        "{stdout}"
    );
    assert!(
        !dir.join("data").exists(),
        "neither the store nor the messages file is created"
    );
}

#[test]
fn check_refuses_what_serve_refuses_with_the_same_one_line_error_and_exit_two() {
    let dir = tempdir();
    for (name, extra) in [
        ("typo", "[delivery]\nworkerz = 2\n"),
        ("bad route", "[[routes]]\nto = [\"nowhere\"]\n"),
        ("syntax", "[[routes]\n"),
    ] {
        let config = service_config(&dir, extra);
        let checked = bin()
            .arg("check")
            .arg("--config")
            .arg(&config)
            .output()
            .expect("runs");
        assert_one_line_error(&checked, "configuration: ");
        let served = bin()
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "off")
            .output()
            .expect("runs");
        assert_eq!(served.status.code(), Some(2), "{name}");
        assert_eq!(stderr(&checked), stderr(&served), "{name}");
    }
    let missing = bin()
        .args(["check", "--config", "no/such/stripe-chat.toml"])
        .output()
        .expect("runs");
    assert_one_line_error(&missing, "cannot read no/such/stripe-chat.toml");
}

#[test]
fn the_configuration_file_can_come_from_the_environment() {
    let dir = tempdir();
    let config = service_config(&dir, "");
    let output = bin()
        .arg("check")
        .env("STRIPE_CHAT_CONFIG", &config)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("valid"));
    let flag_wins = bin()
        .args(["check", "--config", "no/such.toml"])
        .env("STRIPE_CHAT_CONFIG", &config)
        .output()
        .expect("runs");
    assert_one_line_error(&flag_wins, "cannot read no/such.toml");
}

/// Stripe's event list, played by a mock server: one page, no event.
async fn empty_stripe_event_list() -> wiremock::MockServer {
    use wiremock::{Mock, MockServer, ResponseTemplate, matchers};
    let stripe = MockServer::start().await;
    Mock::given(matchers::method("GET"))
        .and(matchers::path("/v1/events"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(
                r#"{"object":"list","url":"/v1/events","has_more":false,"data":[]}"#,
            ),
        )
        .mount(&stripe)
        .await;
    stripe
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_logs_through_the_subscriber_in_the_format_the_environment_asks_for() {
    let stripe = empty_stripe_event_list().await;
    let dir = tempdir();
    let config = service_config(&dir, "");
    let run = |format: Option<&str>| {
        let mut command = bin();
        command
            .args(["backfill", "--since", "1h", "--dry-run", "--api-base"])
            .arg(stripe.uri())
            .env("STRIPE_CHAT_CONFIG", &config)
            .env("STRIPE_API_KEY", "rk_test_cli")
            .env("RUST_LOG", "info");
        if let Some(format) = format {
            command.env("STRIPE_CHAT_LOG_FORMAT", format);
        }
        command.output().expect("runs")
    };
    let json = run(Some("json"));
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let line = stderr(&json)
        .lines()
        .find(|l| l.contains("backfill done"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no log line: {}", stderr(&json)));
    let log: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(log["level"], "INFO");
    assert_eq!(log["fields"]["pages"], 1);
    let text = run(None);
    assert!(
        stderr(&text).contains("backfill done") && !stderr(&text).contains("{\""),
        "{}",
        stderr(&text)
    );
    assert!(!stderr(&json).contains("rk_test_cli") && !stderr(&text).contains("rk_test_cli"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_test_event_signs_with_the_secret_from_the_environment() {
    use wiremock::{Mock, MockServer, ResponseTemplate, matchers};
    let endpoint = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"received\":true}"))
        .mount(&endpoint)
        .await;
    let url = format!("{}/webhooks/stripe", endpoint.uri());
    let output = bin()
        .args(["send-test-event", "--url", &url, "invoice.paid"])
        .env("STRIPE_WEBHOOK_SECRET", "whsec_from_the_environment")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let requests = endpoint.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 1);
    let signature = requests[0]
        .headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .expect("signed");
    let verifier = stripe_chat::events::WebhookVerifier::new(["whsec_from_the_environment"]);
    assert!(verifier.verify(&requests[0].body, Some(signature)).is_ok());

    let without = bin()
        .args(["send-test-event", "--url", &url, "invoice.paid"])
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .output()
        .expect("runs");
    assert_eq!(without.status.code(), Some(2), "no secret: a usage error");
    assert!(
        stderr(&without).contains("--secret"),
        "{}",
        stderr(&without)
    );
    assert_eq!(endpoint.received_requests().await.map_or(0, |r| r.len()), 1);
}

fn prune(config: &Path, args: &[&str]) -> Output {
    bin()
        .arg("prune")
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn prune_counts_with_dry_run_then_removes_only_what_is_older_than_the_retention() {
    use std::time::{Duration, SystemTime};
    use stripe_chat_store::{NewEvent, NewJob, SqliteStore, Store};

    let dir = tempdir();
    let db = dir.join("store.db");
    let config = dir.join("stripe-chat.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_test\"]\n[store]\nsqlite = {:?}\n",
            db.display().to_string()
        ),
    )
    .expect("write");
    let day = Duration::from_secs(86_400);
    let event = |id: &str, age: Duration| NewEvent {
        id: id.to_owned(),
        event_type: "customer.updated".to_owned(),
        created: 1_700_000_000,
        livemode: false,
        account: None,
        raw: format!("{{\"id\":\"{id}\",\"pad\":\"{}\"}}", "x".repeat(50_000)),
        received_at: SystemTime::now() - age,
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = SqliteStore::open(&db, Default::default())
            .await
            .expect("store");
        for id in ["evt_old_1", "evt_old_2", "evt_old_3"] {
            store
                .ingest(event(id, 40 * day), vec![])
                .await
                .expect("ingest");
        }
        let pending = vec![NewJob::new("log")];
        store
            .ingest(event("evt_old_pending", 40 * day), pending)
            .await
            .expect("ingest");
        store
            .ingest(event("evt_recent", day), vec![])
            .await
            .expect("ingest");
        store.close().await;
    });

    for _ in 0..2 {
        let output = prune(&config, &["--dry-run"]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert_eq!(
            stdout(&output),
            "would prune 0 finished job(s), 3 event(s) and 0 message ref(s) older than 30d (dry run: nothing was written)\n"
        );
    }
    let output = prune(&config, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with(
            "pruned 0 finished job(s), 3 event(s) and 0 message ref(s) older than 30d; gave back "
        ),
        "{text}"
    );
    assert!(text.contains("; the store file is "), "{text}");
    let output = prune(&config, &["--dry-run", "--older-than", "72h"]);
    assert!(
        stdout(&output).starts_with(
            "would prune 0 finished job(s), 0 event(s) and 0 message ref(s) older than 72h"
        ),
        "{}",
        stdout(&output)
    );

    assert_one_line_error(
        &prune(&config, &["--older-than", "2d"]),
        "--older-than: \"2d\" is too short",
    );
    assert_one_line_error(
        &prune(&config, &["--older-than", "a while"]),
        "--older-than",
    );

    let output = prune(&config, &["--vacuum"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("; vacuum took "),
        "{}",
        stdout(&output)
    );

    runtime.block_on(async {
        let store = SqliteStore::open(&db, Default::default())
            .await
            .expect("store");
        for (id, kept) in [
            ("evt_old_1", false),
            ("evt_old_pending", true),
            ("evt_recent", true),
        ] {
            let found = store.event(id).await.expect("read").is_some();
            assert_eq!(found, kept, "{id}");
        }
        assert_eq!(store.stats().await.expect("stats").pending, 1);
        store.close().await;
    });
}

/// A fresh directory under the target dir for one test's files.
/// A fresh directory under the target dir for one test's files.
fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cli-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

#[test]
fn demo_serve_shows_a_click_through_permission_confirmation_one_stripe_call_and_the_audit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = bin()
        .args(["demo", "--serve", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let action = printed
        .split("Acting from chat")
        .nth(1)
        .expect("the action demonstration");
    for step in [
        "posted to Slack   Payment failed:",
        "[Retry payment]",
        "ana clicks        Retry payment (sc:retry_payment:invoice:in_",
        "only ana sees     Retry the payment of 398.00 USD",
        "Stripe            POST /v1/invoices/in_",
        "Idempotency-Key: sc-retry_payment-",
        "everyone sees     Payment retried by ana — succeeded",
        "audit log         3 records, hash chain intact",
        "retry_payment invoice/in_",
    ] {
        assert!(action.contains(step), "missing {step:?} in:\n{action}");
    }
    assert_eq!(
        action.matches("POST /v1/invoices/").count(),
        1,
        "one Stripe call"
    );
}

//! What a newcomer meets in the first hour, as they meet it: answers that say what happened and
//! what to do, with the exit code that matches.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stripe-chat"))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A temporary folder, removed when the guard drops.
fn tempdir(name: &str) -> (tempfile::TempDir, PathBuf) {
    let guard = tempfile::Builder::new()
        .prefix(&format!("stripe-chat-{name}-"))
        .tempdir()
        .expect("temp dir");
    let path = guard.path().to_path_buf();
    (guard, path)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(name)
}

#[test]
fn render_reports_a_bad_key_at_column_zero_on_its_own_line_as_serve_does() {
    let (_guard, dir) = tempdir("render-line");
    let render_toml = dir.join("render.toml");
    std::fs::write(&render_toml, "[redaction]\nlevel = \"internal\"\nbogus = 1").expect("write");
    let output = bin()
        .args(["render", "--provider", "slack", "--config"])
        .arg(&render_toml)
        .arg(fixture("invoice.paid@2024-06-20.json"))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("render.toml: line 3: unknown field `bogus`"),
        "{}",
        stderr(&output)
    );

    // The service's file, read by the same loader, counts lines the same way.
    let service_toml = support::config(&dir, "");
    let text = std::fs::read_to_string(&service_toml).expect("read");
    let broken = text.replace("[stripe]\n", "[stripe]\nbogus = 1\n");
    let line = broken
        .lines()
        .position(|l| l == "bogus = 1")
        .expect("the line")
        + 1;
    std::fs::write(&service_toml, broken).expect("write");
    let output = bin()
        .args(["check", "--config"])
        .arg(&service_toml)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(&format!(
            "stripe-chat.toml: line {line}: unknown field `bogus`"
        )),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_host_name_in_listen_is_resolved_and_a_missing_port_names_the_key() {
    let (_guard, dir) = tempdir("listen");
    let config = support::config(&dir, "");
    let text = std::fs::read_to_string(&config).expect("read");
    std::fs::write(&config, text.replace("127.0.0.1:0", "localhost:8787")).expect("write");
    let output = bin()
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    std::fs::write(&config, text.replace("127.0.0.1:0", "localhost")).expect("write");
    let output = bin()
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("server.listen: \"localhost\" is not HOST:PORT"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn render_takes_a_provider_name_in_any_case() {
    let output = bin()
        .args(["render", "--provider", "Slack"])
        .arg(fixture("invoice.paid@2024-06-20.json"))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(body["blocks"].is_array());
}

fn send_test_event(url: &str) -> Output {
    bin()
        .args(["send-test-event", "--url", url, "invoice.paid"])
        .env("STRIPE_WEBHOOK_SECRET", "whsec_demo")
        .output()
        .expect("runs")
}

#[test]
fn send_test_event_to_a_stopped_server_says_connection_refused_and_what_to_check() {
    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port")
        .port();
    let output = send_test_event(&format!("http://127.0.0.1:{port}/webhooks/stripe"));
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("connection refused"), "{err}");
    assert!(
        err.contains(&format!("nothing listens on 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(err.contains("is the service running"), "{err}");
}

#[test]
fn send_test_event_to_a_url_without_a_scheme_says_which_url_to_write() {
    let output = send_test_event("127.0.0.1:8787/webhooks/stripe");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("has no scheme: write http://127.0.0.1:8787/webhooks/stripe"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn dlq_retry_of_a_job_that_is_not_dead_lettered_exits_non_zero_and_says_so() {
    let (_guard, dir) = tempdir("dlq");
    let config = support::config(&dir, "");
    let output = bin()
        .args(["dlq", "retry", "42", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "nothing claims success");
    assert!(
        stderr(&output).contains("no dead letter has the id 42"),
        "{}",
        stderr(&output)
    );

    let output = bin()
        .args(["dlq", "retry", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--all"), "{}", stderr(&output));
}

#[test]
fn a_port_in_use_fails_first_and_alone_before_the_store_is_opened() {
    let (_guard, dir) = tempdir("port");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("address");
    let config = support::config(&dir, "");
    let text = std::fs::read_to_string(&config).expect("read");
    std::fs::write(&config, text.replace("127.0.0.1:0", &addr.to_string())).expect("write");
    let output = bin()
        .args(["serve", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(!err.contains("store"), "nothing about the store: {err}");
    assert!(
        !dir.join("data/stripe-chat.db").exists(),
        "the store was not created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_logs_one_info_line_per_delivered_event_with_ids_and_never_the_body() {
    let (_guard, dir) = tempdir("logs");
    let server = support::Server::start(&support::config(&dir, ""));
    let client = reqwest::Client::new();
    let body = support::payment_event("first_hour_log");
    let status = support::post_signed(&client, &server.url("/webhooks/stripe"), &body).await;
    assert_eq!(status, Ok(200));
    let deadline = Instant::now() + Duration::from_secs(15);
    let delivered = loop {
        let lines: Vec<serde_json::Value> = server
            .log_lines()
            .into_iter()
            .filter(|l| l["fields"]["message"] == "delivered")
            .collect();
        if !lines.is_empty() || Instant::now() > deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(delivered.len(), 1, "one line per delivered event");
    let line = &delivered[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["fields"]["event_id"], "evt_first_hour_log");
    assert_eq!(line["fields"]["event_type"], "payment_intent.succeeded");
    assert_eq!(line["fields"]["destination"], "out");
    assert_eq!(line["fields"]["outcome"], "delivered");
    let log = std::fs::read_to_string(&server.log).expect("log");
    assert!(
        !log.contains("pi_first_hour_log"),
        "no body in the log: {log}"
    );
}

#[test]
fn init_writes_a_commented_starter_configuration_that_check_accepts() {
    let (_guard, dir) = tempdir("init");
    let path = dir.join("stripe-chat.toml");
    let output = bin()
        .args(["init", "--out"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = std::fs::read_to_string(&path).expect("written");
    assert!(
        text.lines().filter(|l| l.starts_with('#')).count() > 5,
        "commented"
    );
    let check = bin()
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));

    let again = bin()
        .args(["init", "--out"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(again.status.code(), Some(2), "an existing file is kept");
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));

    let output = bin()
        .args(["init", "--platform", "slack,discord", "--force", "--out"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let check = bin()
        .args(["check", "--config"])
        .arg(&path)
        .env_remove("SLACK_BOT_TOKEN")
        .output()
        .expect("runs");
    assert_eq!(check.status.code(), Some(2));
    assert!(
        stderr(&check).contains("SLACK_BOT_TOKEN"),
        "{}",
        stderr(&check)
    );
    let check = bin()
        .args(["check", "--config"])
        .arg(&path)
        .env("SLACK_BOT_TOKEN", "xoxb-1")
        .env(
            "DISCORD_WEBHOOK_URL",
            "https://discord.com/api/webhooks/123456789012345678/x",
        )
        .output()
        .expect("runs");
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    assert!(
        String::from_utf8_lossy(&check.stdout)
            .contains("3 destination(s): log (file), slack (slack), discord (discord)")
    );
}

#[test]
fn send_test_event_help_lists_the_bundled_event_types() {
    let output = bin()
        .args(["send-test-event", "--help"])
        .output()
        .expect("runs");
    let help = String::from_utf8_lossy(&output.stdout);
    for event_type in [
        "invoice.payment_failed",
        "charge.dispute.created",
        "payout.paid",
    ] {
        assert!(help.contains(&format!("  {event_type}\n")), "{help}");
    }
}

#[test]
fn demo_serve_keep_stays_up_on_its_printed_port_for_more_events_until_interrupted() {
    use std::io::{BufRead, BufReader};
    let (_guard, dir) = tempdir("keep");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port")
        .port();
    let mut child = bin()
        .args(["demo", "--serve", "--keep", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = format!("http://127.0.0.1:{port}/webhooks/stripe");
    let mut printed = String::new();
    for line in lines.by_ref() {
        let line = line.expect("a line");
        printed.push_str(&line);
        printed.push('\n');
        if line.starts_with("Bundled event types") {
            break;
        }
    }
    assert!(
        printed.contains(&format!(
            "The service keeps running on http://127.0.0.1:{port}"
        )),
        "{printed}"
    );
    assert!(printed.contains(&url), "how to send more: {printed}");
    let before = std::fs::read_to_string(dir.join("messages.jsonl"))
        .expect("written")
        .lines()
        .count();
    let sent = send_test_event(&url);
    assert_eq!(sent.status.code(), Some(0), "{}", stderr(&sent));
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(dir.join("messages.jsonl"))
        .unwrap_or_default()
        .lines()
        .count()
        == before
    {
        assert!(
            Instant::now() < deadline,
            "the event sent afterwards is delivered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("exits");
    assert!(exit.success(), "{exit:?}");
}

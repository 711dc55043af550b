//! The audit log through the binary: operator commands that change state are recorded, `audit
//! verify` checks the chain and the signed checkpoints, `audit export` prints the records, and an
//! edit made in the database file behind the service's back is reported by record number.

use std::path::Path;
use std::process::{Command, Output};
use std::time::SystemTime;

use stripe_chat::store::{NewEvent, SqliteOptions, SqliteStore, Store};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stripe-chat"))
        .args(args)
        .env("USER", "ops-ana")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn config(dir: &Path, key: &Path, verifier: Option<&str>) -> std::path::PathBuf {
    config_retiring(dir, key, verifier, &[])
}

fn config_retiring(
    dir: &Path,
    key: &Path,
    verifier: Option<&str>,
    retired: &[&str],
) -> std::path::PathBuf {
    let path = dir.join("stripe-chat.toml");
    let mut verifier = verifier
        .map(|v| format!("verifier_key = {v:?}\n"))
        .unwrap_or_default();
    if !retired.is_empty() {
        verifier.push_str(&format!("retired_verifier_keys = {retired:?}\n"));
    }
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_audit\"]\n[store]\nsqlite = {:?}\n[audit]\nname = \"acme-test\"\nsigning_key_file = {:?}\ncheckpoint_every = 1\n{verifier}[[destinations]]\nname = \"out\"\nprovider = \"file\"\npath = {:?}\n[[routes]]\nevents = [\"*\"]\nto = [\"out\"]\n",
            dir.join("data/stripe-chat.db").display().to_string(),
            key.display().to_string(),
            dir.join("data/messages.jsonl").display().to_string(),
        ),
    )
    .expect("config");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_are_audited_verified_exported_and_an_edit_is_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("audit.key");
    let keygen = run(&[
        "audit",
        "keygen",
        "--name",
        "acme-audit",
        "--out",
        key.to_str().expect("path"),
    ]);
    assert!(keygen.status.success(), "{}", text(&keygen.stderr));
    let verifier = text(&keygen.stdout).trim().to_owned();
    assert!(verifier.starts_with("acme-audit+"), "{verifier}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("key").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = run(&[
        "audit",
        "keygen",
        "--name",
        "x",
        "--out",
        key.to_str().expect("path"),
    ]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing key is never overwritten"
    );

    let config = config(dir.path(), &key, Some(&verifier));
    let config = config.to_str().expect("path");
    // A stored event to replay.
    {
        std::fs::create_dir_all(dir.path().join("data")).expect("data dir");
        let store = SqliteStore::open(
            dir.path().join("data/stripe-chat.db"),
            SqliteOptions::default(),
        )
        .await
        .expect("store");
        let raw = r#"{"id":"evt_audit_1","object":"event","type":"invoice.paid","created":1765000000,"livemode":false,"data":{"object":{"id":"in_1","object":"invoice"}}}"#;
        store
            .ingest(
                NewEvent {
                    id: "evt_audit_1".into(),
                    event_type: "invoice.paid".into(),
                    created: 1_765_000_000,
                    livemode: false,
                    account: None,
                    raw: raw.into(),
                    received_at: SystemTime::now(),
                },
                vec![],
            )
            .await
            .expect("ingest");
        store.close().await;
    }
    let replay = run(&["replay", "evt_audit_1", "--config", config]);
    assert!(replay.status.success(), "{}", text(&replay.stderr));
    let retry = run(&["dlq", "retry", "--all", "--config", config]);
    assert!(retry.status.success(), "{}", text(&retry.stderr));

    let verify = run(&["audit", "verify", "--config", config]);
    assert!(verify.status.success(), "{}", text(&verify.stderr));
    assert_eq!(
        text(&verify.stdout).trim(),
        "ok: 2 record(s), 2 checkpoint(s); signed up to record 2"
    );
    let export = run(&["audit", "export", "--config", config]);
    assert!(export.status.success(), "{}", text(&export.stderr));
    let lines: Vec<serde_json::Value> = text(&export.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let actions: Vec<&str> = lines
        .iter()
        .map(|l| l["entry"]["action"].as_str().expect("action"))
        .collect();
    assert_eq!(actions, ["replay", "dlq_retry"]);
    assert_eq!(lines[0]["entry"]["actor"]["identity"], "ops-ana");
    assert_eq!(lines[0]["entry"]["message"], "evt_audit_1");
    assert_eq!(lines[1]["prev_hash"], lines[0]["hash"]);
    let since_future = run(&[
        "audit",
        "export",
        "--since",
        "2099-01-01",
        "--config",
        config,
    ]);
    assert_eq!(text(&since_future.stdout), "");

    // Someone with the database file rewrites who did it.
    let conn = rusqlite::Connection::open(dir.path().join("data/stripe-chat.db")).expect("db");
    conn.execute_batch(
        "DROP TRIGGER audit_no_update;
         UPDATE audit SET body = replace(body, 'ops-ana', 'ops-bob') WHERE seq = 1;",
    )
    .expect("tamper");
    drop(conn);
    let verify = run(&["audit", "verify", "--config", config]);
    assert_eq!(verify.status.code(), Some(1));
    assert_eq!(
        text(&verify.stderr).trim(),
        "stripe-chat: audit log: record 1 was changed: its hash does not match its content"
    );
}

#[test]
fn a_signing_key_that_cannot_be_read_is_a_one_line_configuration_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such.key");
    let config = config(dir.path(), &missing, None);
    let verify = run(&[
        "audit",
        "verify",
        "--config",
        config.to_str().expect("path"),
    ]);
    assert_eq!(verify.status.code(), Some(2));
    let stderr = text(&verify.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("audit.signing_key_file"), "{stderr}");
}

fn keygen(path: &Path) -> String {
    let out = run(&[
        "audit",
        "keygen",
        "--name",
        "acme-audit",
        "--out",
        path.to_str().expect("path"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_signed_before_a_key_rotation_verify_with_the_retired_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (old_key, new_key) = (dir.path().join("old.key"), dir.path().join("new.key"));
    let (old, new) = (keygen(&old_key), keygen(&new_key));
    std::fs::create_dir_all(dir.path().join("data")).expect("data dir");

    // One state change signed with the old key, then one with the new key.
    let before = config(dir.path(), &old_key, Some(&old));
    let retry = run(&[
        "dlq",
        "retry",
        "--all",
        "--config",
        before.to_str().expect("path"),
    ]);
    assert!(retry.status.success(), "{}", text(&retry.stderr));
    let after = config(dir.path(), &new_key, Some(&new));
    let after = after.to_str().expect("path");
    let retry = run(&["dlq", "retry", "--all", "--config", after]);
    assert!(retry.status.success(), "{}", text(&retry.stderr));

    // With the new key alone, the old checkpoint cannot be checked: that is reported.
    let verify = run(&["audit", "verify", "--config", after]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify.stdout));

    // Listing the retired key makes both checkpoints good.
    let rotated = config_retiring(dir.path(), &new_key, Some(&new), &[&old]);
    let verify = run(&[
        "audit",
        "verify",
        "--config",
        rotated.to_str().expect("path"),
    ]);
    assert!(
        verify.status.success(),
        "{}{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );
    assert_eq!(
        text(&verify.stdout).trim(),
        "ok: 2 record(s), 2 checkpoint(s); signed up to record 2"
    );
}

//! The file destination end to end, on real files.

use std::collections::HashSet;
use std::future::Future;
use std::path::Path;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use stripe_chat_file::{FileConfig, FileProvider, Record, records};
use stripe_chat_message::IdempotencyKey;
use stripe_chat_message::{
    ChatMessage, ChatProvider, ErrorKind, MessageRef, Renderer, Severity, Source,
};

/// The idempotency key of delivering `message` here, as the service derives it: its Stripe
/// event, and the destination.
fn key_of(message: &ChatMessage) -> IdempotencyKey {
    let event = message.source.as_ref().map_or("", |s| s.event_id.as_str());
    IdempotencyKey::new(event, "test")
}

fn message(event_id: &str) -> ChatMessage {
    ChatMessage::new("Payment failed: 20.00 USD from Jenny \"Rosen\"\nsecond line")
        .summary("The card has insufficient funds.")
        .severity(Severity::Warning)
        .field("Customer", "Jenny Rosen")
        .source(Source {
            event_id: event_id.to_owned(),
            event_type: "invoice.payment_failed".to_owned(),
            livemode: false,
        })
}

fn provider(path: &Path) -> FileProvider {
    FileConfig::new(path).build().expect("a valid path")
}

fn read(path: &Path) -> Vec<Record> {
    let text = std::fs::read_to_string(path).expect("the file was written");
    assert!(text.ends_with('\n'), "the file ends with a complete line");
    records(&text)
        .collect::<Result<_, _>>()
        .expect("every line is a record")
}

/// Polls a future that completes without waiting (the provider outside a Tokio runtime).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the write should complete in place outside a runtime"),
    }
}

#[tokio::test]
async fn every_line_is_one_complete_json_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messages.jsonl");
    let file = provider(&path);
    let sent = file
        .send(&message("evt_1"), None, &key_of(&message("evt_1")))
        .await
        .unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.matches('\n').count(), 1);
    let line: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    let keys: Vec<&str> = line
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["id", "message", "thread_root", "update_of", "written_at"]
    );
    assert_eq!(line["id"], sent.id.as_str());
    assert_eq!(line["thread_root"], serde_json::Value::Null);
    assert_eq!(line["update_of"], serde_json::Value::Null);
    assert_eq!(line["message"], file.render(&message("evt_1")).unwrap());
    assert_eq!(read(&path)[0].message, message("evt_1"));
}

#[tokio::test]
async fn send_returns_a_ref_naming_the_file_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messages.jsonl");
    let sent = provider(&path)
        .send(&message("evt_1"), None, &key_of(&message("evt_1")))
        .await
        .unwrap();
    assert_eq!(sent.provider, "file");
    assert_eq!(sent.channel.as_deref(), path.to_str());
    assert_eq!(sent.id, "evt_1.test", "the line id is the delivery's key");
    assert_eq!(sent.thread_root, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_tasks_sending_at_once_leave_every_line_intact() {
    const TASKS: usize = 8;
    const EACH: usize = 25;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messages.jsonl");
    let file = provider(&path);
    // 64 KiB lines: far above PIPE_BUF, so only O_APPEND single writes keep them whole.
    let big = "x".repeat(64 * 1024);

    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let file = file.clone();
        let big = big.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..EACH {
                let m = message(&format!("evt_{task}_{n}")).field("Padding", big.clone());
                file.send(&m, None, &key_of(&m)).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let lines = read(&path);
    assert_eq!(lines.len(), TASKS * EACH);
    let events: HashSet<String> = lines
        .iter()
        .map(|r| r.message.source.as_ref().unwrap().event_id.clone())
        .collect();
    assert_eq!(events.len(), TASKS * EACH, "every message exactly once");
    assert!(lines.iter().all(|r| r.message.fields[1].value == big));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.starts_with('\n') && !text.contains("\n\n"),
        "no write in flight was taken for a torn line"
    );
}

#[test]
fn writers_with_their_own_handles_in_threads_never_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.jsonl");
    let big = "y".repeat(20_000);
    std::thread::scope(|scope| {
        for writer in 0..8 {
            let path = &path;
            let big = &big;
            scope.spawn(move || {
                // A provider of its own, as another process would have.
                let file = provider(path);
                for n in 0..20 {
                    let m = message(&format!("evt_{writer}_{n}")).field("Padding", big.as_str());
                    ready(file.send(&m, None, &key_of(&m))).unwrap();
                }
            });
        }
    });
    assert_eq!(read(&path).len(), 160);
}

#[tokio::test]
async fn replies_and_updates_are_records_pointing_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messages.jsonl");
    let file = provider(&path);
    let root = file
        .send(&message("evt_root"), None, &key_of(&message("evt_root")))
        .await
        .unwrap();
    let reply = file
        .send(
            &message("evt_reply"),
            Some(&root),
            &key_of(&message("evt_reply")),
        )
        .await
        .unwrap();
    let reply_to_reply = file
        .send(
            &message("evt_reply_2"),
            Some(&reply),
            &key_of(&message("evt_reply_2")),
        )
        .await
        .unwrap();
    file.update(
        &root,
        &message("evt_update"),
        &key_of(&message("evt_update")),
    )
    .await
    .unwrap();
    file.update(
        &reply,
        &message("evt_update_2"),
        &key_of(&message("evt_update_2")),
    )
    .await
    .unwrap();

    assert_eq!(reply.thread_root.as_deref(), Some(root.id.as_str()));
    assert_eq!(
        reply_to_reply.thread_root.as_deref(),
        Some(root.id.as_str()),
        "replies thread on the root"
    );
    assert_eq!(reply.channel, root.channel);

    let lines = read(&path);
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[1].id, reply.id);
    assert_eq!(lines[1].thread_root.as_deref(), Some(root.id.as_str()));
    assert_eq!(lines[3].update_of.as_deref(), Some(root.id.as_str()));
    assert_eq!(lines[3].thread_root, None);
    assert_eq!(lines[4].update_of.as_deref(), Some(reply.id.as_str()));
    assert_eq!(
        lines[4].thread_root.as_deref(),
        Some(root.id.as_str()),
        "an updated reply stays in its thread"
    );
    let ids: HashSet<&str> = lines.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), 5, "every line has its own id");
}

#[tokio::test]
async fn a_retried_send_repeats_the_line_id() {
    let dir = tempfile::tempdir().unwrap();
    let file = provider(&dir.path().join("m.jsonl"));
    let first = file
        .send(&message("evt_1"), None, &key_of(&message("evt_1")))
        .await
        .unwrap();
    let again = file
        .send(&message("evt_1"), None, &key_of(&message("evt_1")))
        .await
        .unwrap();
    let other = file
        .send(&message("evt_2"), None, &key_of(&message("evt_2")))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_ne!(first.id, other.id);
}

#[tokio::test]
async fn missing_directories_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/c/messages.jsonl");
    provider(&path)
        .send(&message("evt_1"), None, &key_of(&message("evt_1")))
        .await
        .unwrap();
    assert_eq!(read(&path).len(), 1);
}

#[tokio::test]
async fn fsync_writes_the_same_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new/messages.jsonl");
    let file = FileConfig::new(&path).fsync(true).build().unwrap();
    file.send(&message("evt_1"), None, &key_of(&message("evt_1")))
        .await
        .unwrap();
    file.send(&message("evt_2"), None, &key_of(&message("evt_2")))
        .await
        .unwrap();
    assert_eq!(read(&path).len(), 2);
}

#[tokio::test]
async fn a_path_that_is_a_directory_is_a_permanent_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let error = provider(dir.path())
        .send(&message("evt_1"), None, &key_of(&message("evt_1")))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Permanent, "{error}");
    assert!(
        error
            .to_string()
            .contains(dir.path().to_str().unwrap_or_default()),
        "{error}"
    );
}

#[tokio::test]
async fn a_path_through_a_file_is_a_permanent_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"").unwrap();
    let error = provider(&blocker.join("messages.jsonl"))
        .send(&message("evt_1"), None, &key_of(&message("evt_1")))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Permanent, "{error}");
    assert!(error.to_string().contains("not-a-dir"), "{error}");
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_full_disk_is_a_transient_error() {
    // Every write to /dev/full fails with ENOSPC.
    let error = provider(Path::new("/dev/full"))
        .send(&message("evt_1"), None, &key_of(&message("evt_1")))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transient, "{error}");
    assert!(error.to_string().contains("disk is full"), "{error}");
}

#[cfg(unix)]
#[tokio::test]
async fn a_directory_without_write_permission_is_unauthorized() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::write(locked.join("probe"), b"").is_ok() {
        // Running as root (or with CAP_DAC_OVERRIDE): permissions do not apply. The mapping
        // itself is covered by the unit test `permission_denied_is_unauthorized`.
        eprintln!("skipped: this process may write anywhere");
        return;
    }
    let error = provider(&locked.join("messages.jsonl"))
        .send(&message("evt_1"), None, &key_of(&message("evt_1")))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthorized, "{error}");
}

#[tokio::test]
async fn refs_of_other_platforms_or_without_id_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.jsonl");
    let file = provider(&path);
    for at in [
        MessageRef::new("slack", "1700000000.000100"),
        MessageRef::new("file", ""),
    ] {
        let error = file
            .update(&at, &message("evt_1"), &key_of(&message("evt_1")))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Permanent, "{error}");
        let error = file
            .send(&message("evt_1"), Some(&at), &key_of(&message("evt_1")))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Permanent, "{error}");
    }
    assert!(!path.exists(), "nothing was written");
}

#[test]
fn the_file_can_do_everything_but_interactive_buttons() {
    let caps = provider(Path::new("m.jsonl")).capabilities();
    assert!(caps.update && caps.thread && caps.link_buttons);
    assert!(!caps.interactive);
    assert_eq!(caps.rate, None);
}

#[test]
fn writers_without_a_tokio_runtime_write_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.jsonl");
    ready(provider(&path).send(&message("evt_1"), None, &key_of(&message("evt_1")))).unwrap();
    assert_eq!(read(&path).len(), 1);
}

#[tokio::test]
async fn a_file_rotated_by_renaming_it_gets_no_more_lines_and_a_new_one_takes_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messages.jsonl");
    let rotated = dir.path().join("messages.jsonl.1");
    let file = provider(&path);
    file.send(&message("evt_1"), None, &key_of(&message("evt_1")))
        .await
        .unwrap();
    std::fs::rename(&path, &rotated).unwrap();
    file.send(&message("evt_2"), None, &key_of(&message("evt_2")))
        .await
        .unwrap();
    file.send(&message("evt_3"), None, &key_of(&message("evt_3")))
        .await
        .unwrap();
    let events = |path: &Path| -> Vec<String> {
        read(path)
            .into_iter()
            .map(|r| r.message.source.unwrap().event_id)
            .collect()
    };
    assert_eq!(events(&rotated), ["evt_1"]);
    assert_eq!(events(&path), ["evt_2", "evt_3"]);
}

#[tokio::test]
async fn a_deleted_file_is_created_again_by_the_next_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messages.jsonl");
    let file = provider(&path);
    file.send(&message("evt_1"), None, &key_of(&message("evt_1")))
        .await
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    file.send(&message("evt_2"), None, &key_of(&message("evt_2")))
        .await
        .unwrap();
    let lines = read(&path);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].message, message("evt_2"));
}

#[tokio::test]
async fn a_file_truncated_in_place_gets_whole_lines_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messages.jsonl");
    let file = provider(&path);
    file.send(&message("evt_1"), None, &key_of(&message("evt_1")))
        .await
        .unwrap();
    // What `logrotate` does with `copytruncate`.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    file.send(&message("evt_2"), None, &key_of(&message("evt_2")))
        .await
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with('{'), "{text:?}");
    assert_eq!(read(&path).len(), 1);
}

#[tokio::test]
async fn a_torn_line_another_writer_left_is_closed_before_the_next_line() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messages.jsonl");
    let file = provider(&path);
    file.send(&message("evt_1"), None, &key_of(&message("evt_1")))
        .await
        .unwrap();
    // Another process crashed in the middle of its line.
    let mut other = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    other.write_all(b"{\"torn").unwrap();
    file.send(&message("evt_2"), None, &key_of(&message("evt_2")))
        .await
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text:?}");
    assert_eq!(lines[1], "{\"torn");
    let parsed: Vec<_> = records(&text).collect();
    assert!(parsed[0].is_ok() && parsed[1].is_err() && parsed[2].is_ok());
}

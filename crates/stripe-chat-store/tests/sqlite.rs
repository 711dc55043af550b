//! What only the SQLite store has to prove: durability across reopen, group commit under
//! concurrency, several stores on one file, and failures classified rather than panics.

#![allow(clippy::unwrap_used)] // test code: an unexpected error is the test failing

#[allow(dead_code)]
mod support;

use std::sync::Arc;
use std::time::Duration;

use stripe_chat_message::MessageRef;
use stripe_chat_store::{
    Delivered, DlqTarget, LeasedJob, NewJob, Outcome, SqliteOptions, SqliteStore, Store, StoreError,
};
use support::{at, body, event, open};

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_ingest_from_64_tasks_is_all_committed_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store: Arc<dyn Store> = Arc::new(open(&path).await);
    let tasks: Vec<_> = (0..64)
        .map(|task| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..40 {
                    let mut e = event(&format!("evt_{task}_{i}"), 100);
                    e.raw = body(&e.id, &e.event_type, 5 * 1024);
                    let jobs = vec![
                        NewJob::new("slack").thread_key(format!("invoice/in_{task}")),
                        NewJob::new("teams"),
                    ];
                    let done = store.ingest(e, jobs).await.unwrap();
                    assert_eq!((done.duplicate, done.jobs_created), (false, 2));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    drop(store);

    // A new process would see exactly this: reopen the file.
    let reopened = open(&path).await;
    assert_eq!(reopened.stats().await.unwrap().pending, 64 * 40 * 2);
    for (task, i) in [(0, 0), (17, 39), (63, 20)] {
        let id = format!("evt_{task}_{i}");
        let stored = reopened.event(&id).await.unwrap().unwrap();
        assert_eq!(stored.raw, body(&id, "invoice.paid", 5 * 1024));
    }
    let again = reopened
        .ingest(event("evt_5_5", 100), vec![NewJob::new("x")])
        .await
        .unwrap();
    assert!(again.duplicate, "deduplication survives a restart");
    reopened.close().await;
}

#[tokio::test]
async fn message_refs_dead_letters_and_leases_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = open(&path).await;
    let thread = || vec![NewJob::new("slack").thread_key("dispute/dp_1")];
    store.ingest(event("evt_1", 100), thread()).await.unwrap();
    store
        .ingest(event("evt_2", 200), vec![NewJob::new("teams")])
        .await
        .unwrap();
    store
        .ingest(event("evt_3", 300), vec![NewJob::new("discord")])
        .await
        .unwrap();
    let jobs = store.lease("w", 10, MINUTE, at(0)).await.unwrap();
    let by_dest = |d: &str| jobs.iter().find(|j| j.destination == d).unwrap().clone();
    let sent = MessageRef::new("slack", "1700000000.000100")
        .in_channel("C1")
        .in_thread("1699.1");
    let slack = by_dest("slack");
    store
        .complete(&slack, Delivered::message(&slack, sent.clone()))
        .await
        .unwrap();
    store
        .dead_letter(&by_dest("teams"), "permanent: invalid_auth")
        .await
        .unwrap();
    let held = by_dest("discord"); // its worker "crashes" with the process
    store.close().await;

    let store = open(&path).await;
    let stored = store
        .message_ref("slack", "dispute/dp_1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.message_ref, stored.event_created), (sent, 100));
    let dead = store.dlq_list(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("permanent: invalid_auth")
    );
    assert!(
        store
            .lease("w2", 10, MINUTE, at(59))
            .await
            .unwrap()
            .is_empty(),
        "still leased"
    );
    let again = store.lease("w2", 10, MINUTE, at(60)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].job_id, again[0].attempt), (held.job_id, 2));
    assert!(
        store
            .complete(&held, Delivered::nothing())
            .await
            .unwrap_err()
            .is_lease_lost()
    );
    assert_eq!(store.dlq_retry(DlqTarget::All, at(60)).await.unwrap(), 1);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_never_lease_the_same_job() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let a = Arc::new(open(&path).await);
    let b = Arc::new(open(&path).await);
    for i in 0..200 {
        a.ingest(event(&format!("evt_{i}"), 100), vec![NewJob::new("slack")])
            .await
            .unwrap();
    }
    let lease_all = |store: Arc<SqliteStore>, worker: &'static str| {
        tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let jobs = store.lease(worker, 7, MINUTE, at(0)).await.unwrap();
                if jobs.is_empty() {
                    return ids;
                }
                ids.extend(jobs.iter().map(|j| j.job_id));
            }
        })
    };
    let (from_a, from_b) = (
        lease_all(Arc::clone(&a), "a"),
        lease_all(Arc::clone(&b), "b"),
    );
    let mut all = from_a.await.unwrap();
    all.extend(from_b.await.unwrap());
    let leased = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!((leased, all.len()), (200, 200));
}

#[tokio::test]
async fn a_location_that_cannot_be_written_fails_open_with_a_transient_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let err = SqliteStore::open(file.join("store.db"), SqliteOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    let err = SqliteStore::open(
        dir.path().join("missing/store.db"),
        SqliteOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_read_only_directory_fails_open_with_a_transient_error() {
    // procfs refuses new files to every user, root included, unlike a chmod-ed directory.
    let err = SqliteStore::open("/proc/self/stripe-chat-store.db", SqliteOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
        let writable = std::fs::write(locked.join("probe"), "").is_ok();
        let opened = SqliteStore::open(locked.join("store.db"), SqliteOptions::default()).await;
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        if !writable {
            // Permissions are enforced for this user (not root): the directory is read-only.
            assert!(opened.unwrap_err().is_transient());
        }
    }
}

#[tokio::test]
async fn a_write_lock_held_by_another_process_is_transient_and_passes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let options = SqliteOptions::default().busy_timeout(Duration::from_millis(100));
    let store = SqliteStore::open(&path, options).await.unwrap();
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    let err = store
        .ingest(event("evt_1", 100), vec![NewJob::new("slack")])
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(store.ping().await.unwrap_err().is_transient());

    other.execute_batch("ROLLBACK").unwrap();
    let done = store
        .ingest(event("evt_1", 100), vec![NewJob::new("slack")])
        .await
        .unwrap();
    assert!(!done.duplicate, "the failed ingest wrote nothing");
    store.close().await;
}

#[tokio::test]
async fn a_file_that_is_not_a_store_is_refused_as_permanent() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x42_u8; 8192]).unwrap();
    let err = SqliteStore::open(&garbage, SqliteOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(!err.is_transient());

    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT)")
        .unwrap();
    let err = SqliteStore::open(&foreign, SqliteOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
}

#[tokio::test]
async fn a_store_written_by_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    open(&path).await.close().await;
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
        "{err:?}"
    );
    assert!(!err.is_transient());
}

#[tokio::test]
async fn reopening_a_current_store_keeps_its_data_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = open(&path).await;
    store
        .ingest(event("evt_1", 100), vec![NewJob::new("slack")])
        .await
        .unwrap();
    store.close().await;
    for _ in 0..2 {
        let store = open(&path).await;
        assert_eq!(store.stats().await.unwrap().pending, 1);
        store.close().await;
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

fn file_len(path: &std::path::Path, suffix: &str) -> u64 {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    std::fs::metadata(name).map_or(0, |m| m.len())
}

#[tokio::test]
async fn the_write_ahead_log_starts_over_when_it_outgrows_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let options = SqliteOptions::default()
        .wal_limit_bytes(256 * 1024)
        .checkpoint_every(Duration::from_secs(3600));
    let store = SqliteStore::open(&path, options).await.unwrap();
    for i in 0..300 {
        let mut e = event(&format!("evt_{i}"), 100);
        e.raw = body(&e.id, &e.event_type, 5 * 1024);
        store.ingest(e, vec![NewJob::new("slack")]).await.unwrap();
    }
    // 300 single-event commits write several MB of log; restarts keep it near its limit.
    assert!(store.commit_stats().writer_checkpoints >= 1);
    let wal = file_len(&path, "-wal");
    assert!(wal < 1024 * 1024, "the log grew to {wal} bytes");
    assert_eq!(store.stats().await.unwrap().pending, 300);
    store.close().await;
}

#[tokio::test]
async fn the_checkpointer_copies_the_log_into_the_database_file_while_the_store_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let options = SqliteOptions::default().checkpoint_every(Duration::from_millis(10));
    let store = SqliteStore::open(&path, options).await.unwrap();
    let before = file_len(&path, "");
    for i in 0..50 {
        let mut e = event(&format!("evt_{i}"), 100);
        e.raw = body(&e.id, &e.event_type, 5 * 1024);
        store.ingest(e, vec![NewJob::new("slack")]).await.unwrap();
    }
    let mut grown = false;
    for _ in 0..200 {
        if file_len(&path, "") > before + 50 * 5 * 1024 {
            grown = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(grown, "the database file did not receive the log's pages");
    assert_eq!(store.commit_stats().writer_checkpoints, 0);
    store.close().await;
}

#[tokio::test]
async fn a_store_of_schema_version_1_is_migrated_and_keeps_its_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = open(&path).await;
    store
        .ingest(event("evt_1", 100), vec![NewJob::new("slack")])
        .await
        .unwrap();
    store.close().await;
    // Turn the file back into what version 1 wrote: no digest column, no audit tables, no
    // probe table or message ref index, no tables for acting from chat.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TABLE probe; DROP INDEX message_refs_updated;
         DROP TABLE audit; DROP TABLE audit_checkpoints;
         DROP INDEX jobs_digest; ALTER TABLE jobs DROP COLUMN digest_key;
         DROP TABLE interactions; DROP TABLE pending_actions; DROP TABLE action_ledger;
         DROP TABLE contacts; DROP TABLE assignments;
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);

    let store = open(&path).await;
    assert_eq!(store.stats().await.unwrap().pending, 1);
    let job = NewJob::new("slack").digest("sales/0/60").not_before(at(60));
    store.ingest(event("evt_2", 100), vec![job]).await.unwrap();
    let leased = store.lease("w", 8, MINUTE, at(60)).await.unwrap();
    assert_eq!(leased.len(), 2);
    assert!(leased.iter().any(|j| j.digest.is_some()));
    store.close().await;
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 5);
    let store = open(&path).await;
    assert!(
        store.audit_last().await.unwrap().is_none(),
        "the audit tables exist"
    );
    assert!(
        store
            .interaction_first_seen("slack:1", at(60))
            .await
            .unwrap(),
        "the tables for acting from chat exist"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_rows_cannot_be_changed_or_deleted_through_sql() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = open(&path).await;
    let row = stripe_chat_store::AuditRow {
        seq: 1,
        prev_hash: "0".repeat(64),
        hash: "1".repeat(64),
        body: r#"{"action":"replay"}"#.into(),
    };
    store.audit_append(row.clone()).await.unwrap();
    store.close().await;
    let conn = rusqlite::Connection::open(&path).unwrap();
    for sql in [
        "UPDATE audit SET body = '{}' WHERE seq = 1",
        "DELETE FROM audit WHERE seq = 1",
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    drop(conn);
    let store = open(&path).await;
    assert_eq!(store.audit_last().await.unwrap(), Some(row));
    store.close().await;
}

/// Stores `n` events of about 20 KB, each with a job, and delivers them all.
async fn delivered_events(store: &SqliteStore, n: usize) {
    for i in 0..n {
        let mut e = event(&format!("evt_{i}"), 100);
        e.raw = body(&e.id, &e.event_type, 20 * 1024);
        store.ingest(e, vec![NewJob::new("slack")]).await.unwrap();
    }
    for job in lease_all(store).await {
        store.complete(&job, Delivered::nothing()).await.unwrap();
    }
}

/// Leases every due job (of different threads), 64 at a time.
async fn lease_all(store: &SqliteStore) -> Vec<LeasedJob> {
    let mut all = Vec::new();
    loop {
        let jobs = store.lease("w", 64, MINUTE, at(0)).await.unwrap();
        if jobs.is_empty() {
            return all;
        }
        all.extend(jobs);
    }
}

/// Prunes everything finished, in batches of 50; returns the events deleted.
async fn prune_all(store: &SqliteStore) -> usize {
    let future = std::time::SystemTime::now() + Duration::from_secs(3600);
    let mut events = 0;
    loop {
        let pruned = store.prune(future, 50).await.unwrap();
        if pruned.is_empty() {
            return events;
        }
        events += pruned.events;
    }
}

/// Gives back what pruning freed, 256 KiB at a time; returns the bytes given back.
async fn reclaim_all(store: &SqliteStore) -> u64 {
    let mut total = 0;
    loop {
        let step = store.reclaim_space(256 * 1024).await.unwrap();
        assert!(step <= 256 * 1024, "{step}");
        if step == 0 {
            return total;
        }
        total += step;
    }
}

async fn wait_for_file_len_below(path: &std::path::Path, bytes: u64) -> u64 {
    for _ in 0..300 {
        let len = file_len(path, "");
        if len < bytes {
            return len;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    file_len(path, "")
}

fn auto_vacuum(path: &std::path::Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_new_store_gives_pruned_space_back_to_the_file_system_in_small_steps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let options = SqliteOptions::default().checkpoint_every(Duration::from_millis(10));
    let store = SqliteStore::open(&path, options).await.unwrap();
    delivered_events(&store, 200).await;
    // The newest job (and so its event) is kept.
    assert_eq!(prune_all(&store).await, 199);
    let full = file_len(&path, "");
    let given_back = reclaim_all(&store).await;
    assert!(given_back > 199 * 20 * 1024, "{given_back}");
    let len = wait_for_file_len_below(&path, full - given_back / 2).await;
    assert!(len < full - given_back / 2, "{len} of {full}");
    assert_eq!(store.stats().await.unwrap().delivered, 1);
    store.close().await;
    assert_eq!(auto_vacuum(&path), 2, "incremental");
}

/// A store file as builds before incremental vacuum wrote it.
async fn old_store_file(path: &std::path::Path) {
    open(path).await.close().await;
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch("PRAGMA auto_vacuum = NONE; VACUUM;")
        .unwrap();
    assert_eq!(auto_vacuum(path), 0);
}

#[tokio::test]
async fn a_small_store_file_without_incremental_vacuum_is_converted_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    old_store_file(&path).await;
    let store = open(&path).await;
    delivered_events(&store, 20).await;
    prune_all(&store).await;
    assert!(reclaim_all(&store).await > 0);
    store.close().await;
    assert_eq!(auto_vacuum(&path), 2);
}

#[tokio::test]
async fn a_large_old_store_file_keeps_working_and_vacuum_converts_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    old_store_file(&path).await;
    let options = SqliteOptions::default().vacuum_on_open_up_to(0);
    let store = SqliteStore::open(&path, options).await.unwrap();
    delivered_events(&store, 100).await;
    assert_eq!(prune_all(&store).await, 99);
    assert_eq!(
        reclaim_all(&store).await,
        0,
        "the old file cannot give pages back"
    );

    let given_back = store.vacuum().await.unwrap();
    assert!(given_back > 99 * 20 * 1024, "{given_back}");
    assert!(file_len(&path, "") < 200 * 1024, "{}", file_len(&path, ""));
    // The store goes on as before, and gives space back from now on.
    assert_eq!(store.stats().await.unwrap().delivered, 1);
    delivered_events(&store, 10).await;
    store.close().await;
    assert_eq!(auto_vacuum(&path), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_at_its_size_limit_is_not_ready_until_pruning_frees_space() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let options = SqliteOptions::default().max_size_bytes(512 * 1024);
    let store = SqliteStore::open(&path, options).await.unwrap();
    store.ping().await.unwrap();
    let mut stored = 0;
    let err = loop {
        let mut e = event(&format!("evt_{stored}"), 100);
        e.raw = body(&e.id, &e.event_type, 4 * 1024);
        match store.ingest(e, vec![]).await {
            Ok(_) => stored += 1,
            Err(e) => break e,
        }
        assert!(stored < 1000, "the limit was never reached");
    };
    assert!(err.is_transient(), "{err:?}");
    assert!(stored > 50, "{stored}");
    assert!(store.ping().await.unwrap_err().is_transient());

    // Events without jobs are pruned once received long enough ago (here: all of them).
    assert_eq!(prune_all(&store).await, stored);
    store.ping().await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn free_space_up_to_a_quarter_of_the_file_is_kept_for_the_events_to_come() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = open(&path).await;
    let ten_days_ago = std::time::SystemTime::now() - Duration::from_secs(10 * 86_400);
    for i in 0..400 {
        let mut e = event(&format!("evt_{i}"), 100);
        e.raw = body(&e.id, &e.event_type, 8 * 1024);
        if i < 60 {
            e.received_at = ten_days_ago;
        } else {
            e.received_at = std::time::SystemTime::now();
        }
        store.ingest(e, vec![]).await.unwrap();
    }
    let day_ago = std::time::SystemTime::now() - Duration::from_secs(86_400);
    assert_eq!(store.prune(day_ago, 100).await.unwrap().events, 60);
    assert_eq!(store.reclaim_space(1 << 20).await.unwrap(), 0);
    store.close().await;
    let before = pages(&path);

    let store = open(&path).await;
    for i in 400..450 {
        let mut e = event(&format!("evt_{i}"), 100);
        e.raw = body(&e.id, &e.event_type, 8 * 1024);
        store.ingest(e, vec![]).await.unwrap();
    }
    store.close().await;
    assert_eq!(pages(&path), before, "new events filled the free pages");
}

/// The database's size in pages (its write-ahead log included).
fn pages(path: &std::path::Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "page_count", |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_closed_store_leaves_its_whole_log_in_the_database_file() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let store = open(&path).await;
        for i in 0..50 {
            let mut e = event(&format!("evt_{i}"), 100);
            e.raw = body(&e.id, &e.event_type, 8 * 1024);
            store.ingest(e, vec![]).await.unwrap();
        }
        store.close().await;
        assert_eq!(file_len(&path, "-wal"), 0);
        assert!(
            file_len(&path, "") > 50 * 8 * 1024,
            "{}",
            file_len(&path, "")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workers_outcomes_settled_together_are_one_request_to_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("store.db")).await;
    for i in 0..8 {
        store
            .ingest(event(&format!("evt_{i}"), 100), vec![NewJob::new("slack")])
            .await
            .unwrap();
    }
    let jobs = store.lease("w", 8, MINUTE, at(0)).await.unwrap();
    let before = store.commit_stats().committed_requests;
    let outcomes = jobs
        .iter()
        .map(|job| (job, Outcome::Complete(Delivered::nothing())))
        .collect();
    let results = store.settle(outcomes).await;
    assert_eq!(results.len(), 8);
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(store.commit_stats().committed_requests, before + 1);
    assert_eq!(store.stats().await.unwrap().delivered, 8);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_that_cannot_be_committed_all_fail_and_none_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let options = SqliteOptions::default().busy_timeout(Duration::from_millis(100));
    let store = SqliteStore::open(&path, options).await.unwrap();
    for i in 0..3 {
        store
            .ingest(event(&format!("evt_{i}"), 100), vec![NewJob::new("slack")])
            .await
            .unwrap();
    }
    let jobs = store.lease("w", 8, MINUTE, at(0)).await.unwrap();
    // Another process holds the write lock past the store's busy timeout.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let outcomes = jobs
        .iter()
        .map(|job| (job, Outcome::Complete(Delivered::nothing())))
        .collect();
    let results = store.settle(outcomes).await;
    assert_eq!(results.len(), 3);
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_err_and(StoreError::is_transient)),
        "{results:?}"
    );
    other.execute_batch("ROLLBACK").unwrap();
    assert_eq!(store.stats().await.unwrap().leased, 3);
    store.close().await;
}

/// `n` events received long ago (`evt_<prefix>_<i>`), each with a job of thread `<prefix>/<i>`
/// delivered as a message, and their refs stored.
async fn delivered_threads(store: &SqliteStore, prefix: &str, n: usize) {
    for i in 0..n {
        let jobs = vec![NewJob::new("slack").thread_key(format!("{prefix}/{i}"))];
        store
            .ingest(event(&format!("evt_{prefix}_{i}"), 100), jobs)
            .await
            .unwrap();
    }
    for job in lease_all(store).await {
        let sent = MessageRef::new("slack", format!("1.{}", job.event.id));
        store
            .complete(&job, Delivered::message(&job, sent))
            .await
            .unwrap();
    }
}

/// Stores `n` new events (`evt_new_<i>`) with a job each, one commit each.
async fn store_new_events(store: &SqliteStore, n: usize) {
    for i in 0..n {
        let new = event(&format!("evt_new_{i}"), 100);
        store.ingest(new, vec![NewJob::new("slack")]).await.unwrap();
    }
}

#[tokio::test]
async fn a_store_that_prunes_as_it_goes_deletes_expired_rows_with_the_events_it_stores() {
    let dir = tempfile::tempdir().unwrap();
    let keep = Duration::from_millis(200);
    let options = SqliteOptions::default().prune_as_it_goes(keep);
    let store = SqliteStore::open(dir.path().join("store.db"), options)
        .await
        .unwrap();
    delivered_threads(&store, "old", 100).await;
    store
        .ingest(event("evt_unrouted", 100), vec![])
        .await
        .unwrap();
    store
        .ingest(
            event("evt_dead", 100),
            vec![NewJob::new("slack").thread_key("old/dead")],
        )
        .await
        .unwrap();
    let dead = store.lease("w", 1, MINUTE, at(0)).await.unwrap().remove(0);
    store.dead_letter(&dead, "gave up").await.unwrap();
    tokio::time::sleep(keep * 2).await;

    // New events, one commit each, with nothing else going on: their commits pay, once the
    // most a sweep may owe is owed.
    store_new_events(&store, 300).await;

    assert!(
        store.commit_stats().swept_rows >= 300,
        "{:?}",
        store.commit_stats()
    );
    assert_eq!(
        store.stats().await.unwrap().delivered,
        0,
        "every old job is gone"
    );
    for gone in ["evt_old_0", "evt_old_99", "evt_unrouted"] {
        assert!(store.event(gone).await.unwrap().is_none(), "{gone}");
    }
    assert!(store.message_ref("slack", "old/7").await.unwrap().is_none());
    assert!(
        store.event("evt_dead").await.unwrap().is_some(),
        "a dead letter stays"
    );
    assert_eq!(store.dlq_list(10).await.unwrap().len(), 1);
    assert_eq!(store.stats().await.unwrap().pending, 300, "new work stays");
    assert!(store.event("evt_new_0").await.unwrap().is_some());
    store.close().await;
}

#[tokio::test]
async fn a_store_that_does_not_prune_as_it_goes_keeps_everything_until_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("store.db")).await;
    delivered_threads(&store, "old", 20).await;
    store_new_events(&store, 150).await;
    assert_eq!(store.commit_stats().swept_rows, 0);
    assert_eq!(store.stats().await.unwrap().delivered, 20);
    store.close().await;
}

#[tokio::test]
async fn pruning_in_small_batches_passes_many_kept_dead_letters_and_deletes_everything_after_them()
{
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("store.db")).await;
    // Received first, so they come first in every scan: 300 dead letters, more than two calls
    // look at (16 × 7 each), then 12 events routed nowhere.
    for i in 0..300 {
        let jobs = vec![NewJob::new("slack").thread_key(format!("dead/{i}"))];
        store
            .ingest(event(&format!("evt_dead_{i}"), 100), jobs)
            .await
            .unwrap();
    }
    for job in lease_all(&store).await {
        store.dead_letter(&job, "gave up").await.unwrap();
    }
    for i in 0..12 {
        store
            .ingest(event(&format!("evt_unrouted_{i}"), 100), vec![])
            .await
            .unwrap();
    }
    delivered_threads(&store, "later", 30).await;

    let future = std::time::SystemTime::now() + Duration::from_secs(3600);
    let (mut events, mut refs, mut looked_only) = (0, 0, 0);
    loop {
        let pruned = store.prune(future, 7).await.unwrap();
        if pruned.is_empty() {
            break;
        }
        assert!(
            pruned.jobs <= 7 && pruned.events <= 7 && pruned.refs <= 7,
            "{pruned:?}"
        );
        if pruned.unfinished && pruned.jobs + pruned.events + pruned.refs == 0 {
            looked_only += 1;
        }
        events += pruned.events;
        refs += pruned.refs;
    }
    assert!(
        looked_only >= 1,
        "a call stopped among the dead letters and said so"
    );
    // The newest job (and its event and ref) is kept, and the dead letters with their events.
    assert_eq!(events, 12 + 30 - 1);
    assert_eq!(refs, 30 - 1);
    assert_eq!(store.dlq_list(400).await.unwrap().len(), 300);
    assert!(store.event("evt_dead_299").await.unwrap().is_some());
    assert!(store.event("evt_unrouted_11").await.unwrap().is_none());
    store.close().await;
}

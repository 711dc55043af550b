//! The audit log in a real SQLite store: concurrent writers never fork the chain, checkpoints
//! follow the policy, and an edit or a cut made behind the service's back is found.

#![allow(clippy::unwrap_used)] // test code

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use stripe_chat_audit::{Actor, AuditLog, CheckpointPolicy, Decision, Entry, Problem, SignerKey};
use stripe_chat_store::{SqliteOptions, SqliteStore, Store};

async fn open(path: &Path) -> Arc<SqliteStore> {
    Arc::new(
        SqliteStore::open(path, SqliteOptions::default())
            .await
            .unwrap(),
    )
}

fn entry(i: usize) -> Entry {
    Entry::new(
        Actor::chat("slack", format!("T1/U{i}")).person("ana"),
        "mark_contacted",
        Decision::Performed,
    )
    .object(format!("customer/cus_{i}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_on_one_store_append_one_unforked_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("store.db")).await;
    let key = SignerKey::generate("acme-audit").unwrap();
    // Two logs over one store stand for two replicas: each caches its own head.
    let a = Arc::new(AuditLog::new(store.clone(), "acme").signed_by(key.clone()));
    let b = Arc::new(AuditLog::new(store.clone(), "acme").signed_by(key.clone()));
    let mut tasks = Vec::new();
    for i in 0..40 {
        let log = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(
            async move { log.append(entry(i)).await.unwrap() },
        ));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap().record.seq);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
    a.checkpoint().await.unwrap();
    let report = b.verify(Some(&key.verifier())).await.unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(report.records, 40);
    assert_eq!(report.anchored_at, Some(40));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_is_signed_every_n_records_and_kept_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("store.db")).await;
    let key = SignerKey::generate("acme-audit").unwrap();
    let log = AuditLog::new(store.clone(), "acme")
        .signed_by(key.clone())
        .checkpoint_policy(CheckpointPolicy {
            records: 5,
            interval: Duration::from_secs(3600),
        });
    let mut signed_at = Vec::new();
    for i in 0..12 {
        if let Some(checkpoint) = log.append(entry(i)).await.unwrap().checkpoint {
            let stated = checkpoint.verify(&key.verifier()).unwrap();
            signed_at.push(stated.size);
        }
    }
    assert_eq!(signed_at, [5, 10]);
    let kept: Vec<u64> = store
        .audit_checkpoints()
        .await
        .unwrap()
        .iter()
        .map(|c| c.size)
        .collect();
    assert_eq!(kept, [5, 10]);
    assert!(
        log.checkpoint_if_overdue().await.unwrap().is_none(),
        "not yet"
    );
}

/// Opens the file behind the store's back, without its append-only guard.
fn tamper(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&format!(
        "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete; {sql}"
    ))
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_or_a_tail_cut_made_in_the_file_is_found_by_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let key = SignerKey::generate("acme-audit").unwrap();
    {
        let store = open(&path).await;
        let log = AuditLog::new(store.clone(), "acme").signed_by(key.clone());
        for i in 0..8 {
            log.append(entry(i)).await.unwrap();
        }
        log.checkpoint().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    tamper(
        &path,
        "UPDATE audit SET body = replace(body, 'cus_3', 'cus_9') WHERE seq = 4;",
    );
    let store = open(&path).await;
    let log = AuditLog::new(store.clone(), "acme");
    let report = log.verify(Some(&key.verifier())).await.unwrap();
    assert_eq!(report.problem, Some(Problem::Changed { seq: 4 }));
    drop(log);
    drop(store);
    tokio::time::sleep(Duration::from_millis(50)).await;

    // Put it back, then cut the tail.
    tamper(
        &path,
        "UPDATE audit SET body = replace(body, 'cus_9', 'cus_3') WHERE seq = 4;
         DELETE FROM audit WHERE seq > 6;",
    );
    let store = open(&path).await;
    let report = AuditLog::new(store, "acme")
        .verify(Some(&key.verifier()))
        .await
        .unwrap();
    assert_eq!(
        report.problem,
        Some(Problem::Truncated {
            records: 6,
            checkpoint: 8
        })
    );
}

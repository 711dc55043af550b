//! The baseline receiver: the least a durable webhook receiver must do, and nothing more.
//!
//! `POST /webhooks/stripe` verifies `Stripe-Signature` on the raw body (400 when it does not hold),
//! reads the event id, and hands `(id, raw body)` to one writer thread. The writer takes everything
//! queued (up to a batch limit), inserts it in ONE transaction (`INSERT OR IGNORE`, deduplicated on
//! the id) into a SQLite file in WAL mode with `synchronous=FULL`, commits, and only then are the
//! requests of the batch answered: 200 after the commit, 503 when it failed. No routing, no jobs.
//! `GET /healthz` answers 200.
//!
//! Without a database it only verifies and answers 200: the floor of the HTTP stack, the signature
//! check and the load generator on this machine, to read the other figures against.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use rusqlite::Connection;
use stripe_chat_events::WebhookVerifier;
use tokio::sync::oneshot;

/// How the baseline runs.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) listen: String,
    pub(crate) secrets: Vec<String>,
    /// `None`: verify only, store nothing.
    pub(crate) db: Option<PathBuf>,
    pub(crate) max_batch: usize,
    /// `PRAGMA wal_autocheckpoint` (pages; 0 = never checkpoint). SQLite's default is 1000.
    pub(crate) autocheckpoint: u32,
}

struct Insert {
    id: String,
    raw: Bytes,
    done: oneshot::Sender<bool>,
}

struct App {
    verifier: WebhookVerifier,
    /// `None`: verify only.
    writer: Option<std_mpsc::Sender<Insert>>,
}

#[derive(serde::Deserialize)]
struct EventId {
    id: String,
}

async fn webhook(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    if app.verifier.verify(&body, signature).is_err() {
        return StatusCode::BAD_REQUEST;
    }
    let Ok(EventId { id }) = serde_json::from_slice(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let Some(writer) = &app.writer else {
        return StatusCode::OK;
    };
    let (done, committed) = oneshot::channel();
    if writer
        .send(Insert {
            id,
            raw: body,
            done,
        })
        .is_err()
    {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match committed.await {
        Ok(true) => StatusCode::OK,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn open(path: &std::path::Path, autocheckpoint: u32) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "wal_autocheckpoint", autocheckpoint)?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS events (
             id TEXT PRIMARY KEY,
             raw BLOB NOT NULL,
             received_at INTEGER NOT NULL DEFAULT (unixepoch())
         ) STRICT",
    )?;
    Ok(conn)
}

fn commit(conn: &mut Connection, batch: &[Insert]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut insert =
            tx.prepare_cached("INSERT OR IGNORE INTO events (id, raw) VALUES (?1, ?2)")?;
        for item in batch {
            insert.execute((item.id.as_str(), &item.raw[..]))?;
        }
    }
    tx.commit()
}

/// The writer thread: group commit of whatever is queued.
fn writer(mut conn: Connection, queue: std_mpsc::Receiver<Insert>, max_batch: usize) {
    let mut batch = Vec::with_capacity(max_batch);
    while let Ok(first) = queue.recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let ok = commit(&mut conn, &batch).is_ok();
        for item in batch.drain(..) {
            // The client may have gone; nothing to do then.
            let _ = item.done.send(ok);
        }
    }
}

/// Serves until the process is stopped.
pub(crate) async fn serve(options: Options) -> Result<(), String> {
    let writer_tx = match &options.db {
        Some(db) => {
            let conn = open(db, options.autocheckpoint)
                .map_err(|e| format!("--db {}: {e}", db.display()))?;
            let (tx, rx) = std_mpsc::channel();
            let max_batch = options.max_batch.max(1);
            std::thread::Builder::new()
                .name("sqlite-writer".into())
                .spawn(move || writer(conn, rx, max_batch))
                .map_err(|e| format!("cannot start the writer thread: {e}"))?;
            Some(tx)
        }
        None => None,
    };
    let app = Arc::new(App {
        verifier: WebhookVerifier::new(options.secrets.iter().map(String::as_str)),
        writer: writer_tx,
    });
    let router = Router::new()
        .route("/webhooks/stripe", post(webhook))
        .route("/healthz", get(|| async { StatusCode::OK }))
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(&options.listen)
        .await
        .map_err(|e| format!("--listen {}: {e}", options.listen))?;
    eprintln!(
        "baseline-axum listening on http://{}/webhooks/stripe, {}",
        options.listen,
        options.db.as_ref().map_or_else(
            || "verifying only, storing nothing".to_owned(),
            |db| format!("storing into {}", db.display())
        )
    );
    axum::serve(listener, router)
        .await
        .map_err(|e| format!("the server stopped: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_committed_once_and_deduplicated() {
        let dir = std::env::temp_dir().join(format!("stripe-chat-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("baseline.db");
        let _ = std::fs::remove_file(&path);
        let mut conn = open(&path, 1000).unwrap();
        let mut receivers = Vec::new();
        let batch: Vec<Insert> = ["evt_a", "evt_b", "evt_a"]
            .into_iter()
            .map(|id| {
                let (done, rx) = oneshot::channel();
                receivers.push(rx);
                Insert {
                    id: id.into(),
                    raw: Bytes::from_static(b"{}"),
                    done,
                }
            })
            .collect();
        commit(&mut conn, &batch).unwrap();
        let count: i64 = conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 2);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        drop(conn);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

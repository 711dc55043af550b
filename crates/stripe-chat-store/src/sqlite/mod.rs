//! [`SqliteStore`]: the embedded default, one SQLite file in WAL mode with group commit.

mod actions;
mod ops;
mod retention;
mod schema;
mod threads;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use crate::memory::{validate_event, validate_lease};
use crate::time::{duration_ms, to_ms};
use crate::{
    Assignment, AuditCheckpointRow, AuditRow, Backlog, Claim, Contact, Delivered, DlqTarget,
    Ingested, JobId, JobInfo, LeaseFilter, LeaseToken, LeasedJob, LedgerOutcome, NewEvent, NewJob,
    NewPending, Outcome, PendingChange, PendingRow, Pruned, RefUpdate, Stats, Store, StoreError,
    StoredEvent, StoredRef,
};

use self::ops::Failure;
use self::threads::{Counters, Durability, ReadRequest, WriteRequest};

/// How [`SqliteStore::open`] sets the store up.
///
/// ```
/// use std::time::Duration;
/// use stripe_chat_store::SqliteOptions;
/// let options = SqliteOptions::default().busy_timeout(Duration::from_secs(2)).max_batch(256);
/// assert_eq!(options.max_batch_size(), 256);
/// ```
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    busy_timeout: Duration,
    max_batch: usize,
    queue_capacity: usize,
    cache_kib: u32,
    wal_limit_bytes: u64,
    checkpoint_every: Duration,
    max_size_bytes: Option<u64>,
    vacuum_on_open_up_to: u64,
    prune_as_it_goes: Option<Duration>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            busy_timeout: Duration::from_secs(5),
            max_batch: 512,
            queue_capacity: 4096,
            cache_kib: 32 * 1024,
            wal_limit_bytes: 128 * 1024 * 1024,
            checkpoint_every: Duration::from_millis(200),
            max_size_bytes: None,
            vacuum_on_open_up_to: 64 * 1024 * 1024,
            prune_as_it_goes: None,
        }
    }
}

impl SqliteOptions {
    /// How long a write waits for another process holding the file's write lock (an operator
    /// command running beside the server) before failing as transient. Default 5 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// let _ = stripe_chat_store::SqliteOptions::default().busy_timeout(Duration::from_millis(500));
    /// ```
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The most requests committed in one transaction (group commit). Default 512; at least 1.
    ///
    /// ```
    /// assert_eq!(stripe_chat_store::SqliteOptions::default().max_batch(0).max_batch_size(), 1);
    /// ```
    pub fn max_batch(mut self, max: usize) -> Self {
        self.max_batch = max.max(1);
        self
    }

    /// The most requests waiting for the writer; callers beyond it wait their turn. Default 4096.
    ///
    /// ```
    /// let _ = stripe_chat_store::SqliteOptions::default().queue_capacity(1024);
    /// ```
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// SQLite's page cache per connection, in KiB. Default 32 MiB.
    ///
    /// ```
    /// let _ = stripe_chat_store::SqliteOptions::default().cache_kib(8 * 1024);
    /// ```
    pub fn cache_kib(mut self, kib: u32) -> Self {
        self.cache_kib = kib;
        self
    }

    /// How often the checkpointer thread copies the write-ahead log into the database file, on
    /// its own connection, while the writer keeps committing. Default 200 ms. Under a heavy
    /// load it copies sooner: the writer asks for a pass as soon as 1 MiB of the log is left to
    /// copy, so that a pass (and the sync of the database file that ends it) stays short and a
    /// webhook's sync of the log never queues behind a large one.
    ///
    /// ```
    /// use std::time::Duration;
    /// let _ = stripe_chat_store::SqliteOptions::default().checkpoint_every(Duration::from_millis(500));
    /// ```
    pub fn checkpoint_every(mut self, every: Duration) -> Self {
        self.checkpoint_every = every.max(Duration::from_millis(1));
        self
    }

    /// How large the write-ahead log may grow before the writer has it start over. Under steady
    /// load the checkpointer thread never reaches the end of the log (the writer keeps
    /// appending), so without this the log would grow without bound. Past the limit the writer
    /// asks the checkpointer for passes until at most 128 KiB of the log is left to copy, then
    /// completes the checkpoint itself between two batches, pausing while that much is copied
    /// and the database file is synced: a larger limit means rarer pauses of the same length,
    /// and a larger file beside the database. A checkpointer that cannot catch up (a pass takes
    /// longer than the writer needs to add 128 KiB) lets the log reach twice the limit, where
    /// the writer checkpoints at once. Default 128 MiB.
    ///
    /// ```
    /// let _ = stripe_chat_store::SqliteOptions::default().wal_limit_bytes(64 << 20);
    /// ```
    pub fn wal_limit_bytes(mut self, bytes: u64) -> Self {
        self.wal_limit_bytes = bytes.max(PAGE_SIZE);
        self
    }

    /// The largest the database file may grow (SQLite's `max_page_count`, rounded down to whole
    /// pages): a write that needs more fails as on a full disk, with a transient error (the
    /// webhook answers 503), and the readiness probe fails until pruning freed space. Keeps the
    /// store from filling a volume it shares. Default: no limit but the disk's.
    ///
    /// ```
    /// let _ = stripe_chat_store::SqliteOptions::default().max_size_bytes(2 << 30);
    /// ```
    pub fn max_size_bytes(mut self, bytes: u64) -> Self {
        self.max_size_bytes = Some(bytes.max(PAGE_SIZE));
        self
    }

    /// Files created before the store gave space back (without SQLite's incremental
    /// auto-vacuum) are converted when opened if they are at most this big: rewritten once with
    /// `VACUUM`, which takes about a second per 50 MB and needs as much free disk space while it
    /// runs. Larger files are left as they are (pruning frees pages for reuse, but the file does
    /// not shrink) until `stripe-chat prune --vacuum` converts them. New files always give space
    /// back. Default 64 MiB; 0 never converts on open.
    ///
    /// ```
    /// let _ = stripe_chat_store::SqliteOptions::default().vacuum_on_open_up_to(0);
    /// ```
    pub fn vacuum_on_open_up_to(mut self, bytes: u64) -> Self {
        self.vacuum_on_open_up_to = bytes;
        self
    }

    /// Prunes as the store goes: each event stored adds two rows to what the writer owes, and
    /// once 256 are owed, the next batch that acknowledges nothing also deletes, 8 at a time in
    /// savepoints of its transaction until nothing is owed or a webhook's acknowledgement is
    /// waiting (then the next such batch goes on; once 512 are owed, any batch deletes 8), the
    /// oldest rows of each kind that a [`Store::prune`] with
    /// `before = now - keep` would delete: finished jobs, the events and message refs they
    /// leave behind, and events routed nowhere. Under a steady
    /// load the store keeps its size without any long delete for a webhook to wait for;
    /// [`Store::prune`] is still needed for what arrives while no events come in, for what a
    /// restart left behind, and for the rows of acting from chat. Default: off.
    ///
    /// ```
    /// use std::time::Duration;
    /// let _ = stripe_chat_store::SqliteOptions::default().prune_as_it_goes(Duration::from_secs(30 * 86_400));
    /// ```
    pub fn prune_as_it_goes(mut self, keep: Duration) -> Self {
        self.prune_as_it_goes = Some(keep);
        self
    }

    /// The retention pruned as the store goes, if any.
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = stripe_chat_store::SqliteOptions::default();
    /// assert_eq!(options.prunes_as_it_goes(), None);
    /// let day = Duration::from_secs(86_400);
    /// assert_eq!(options.prune_as_it_goes(day).prunes_as_it_goes(), Some(day));
    /// ```
    pub fn prunes_as_it_goes(&self) -> Option<Duration> {
        self.prune_as_it_goes
    }

    /// The batch size limit in effect.
    ///
    /// ```
    /// assert_eq!(stripe_chat_store::SqliteOptions::default().max_batch_size(), 512);
    /// ```
    pub fn max_batch_size(&self) -> usize {
        self.max_batch
    }
}

/// The durable store in one SQLite file (WAL mode), the embedded default.
///
/// - **Durable**: an ingest (and an operator's replay or dead-letter retry) is committed with
///   `synchronous = FULL`: the write-ahead log is fsynced before its caller is answered, so an
///   acknowledged event survives a crash or a power cut. The delivery bookkeeping (leases,
///   outcomes, message refs, pruning) is committed with `synchronous = NORMAL` when a batch holds
///   nothing else: it survives a crash of the process, and the next fsynced commit or checkpoint
///   makes it durable; a power cut in between can only undo the latest outcomes, so a job is
///   delivered again, never lost. This keeps the fsyncs (and the single writer's time) for ingest.
/// - **Group commit**: one writer thread owns the write connection. It takes the first queued
///   request (waiting while the queue is empty), then every request already queued, up to
///   [`SqliteOptions::max_batch`], runs them in one `BEGIN IMMEDIATE … COMMIT` (each in its own
///   savepoint, so one failing request does not undo the others), and answers each caller only
///   after `COMMIT` returned. Requests arriving during a commit's fsync form the next batch: many
///   concurrent webhooks share one fsync, and a lone request never waits on a timer.
///   Acknowledgements come first: while ingests are queued, the delivery bookkeeping waits for
///   a batch of its own (committed without fsync), or joins theirs once it has waited 10 ms, so
///   that a backlog being delivered does not slow down the events Stripe waits for.
/// - **Housekeeping yields**: [`Store::prune`] and [`Store::reclaim_space`] never join a batch;
///   each runs in a transaction of its own when no other request waits (or once it has waited a
///   second), in steps (16 rows of each kind, 16 pages), and commits what it did as soon as a
///   request is waiting, so a webhook waits at most for one step. Pruning's scans of the
///   events and message refs go on where the last call stopped, so the rows kept before them
///   (those of dead letters) are looked at once, not by every transaction.
/// - **Prunes as it goes** (with [`SqliteOptions::prune_as_it_goes`]): each event stored adds
///   two rows to what the writer owes; once 256 are owed, the next batch that acknowledges
///   nothing also deletes expired jobs with their events and refs (and looks for events routed
///   nowhere), 8 of each at a time in savepoints, until nothing is owed or an acknowledgement
///   waits (the delivery bookkeeping behind it does not stop a sweep: few large sweeps write
///   far fewer pages than many small ones). Under a steady load the file keeps its size with
///   no long delete for a webhook to wait for.
/// - **Reads** (`message_ref`, `queued_jobs`, `dlq_list`, `event`, `stats`) run on a second
///   connection on a reader thread, which sees committed data only. Leasing is a write.
/// - **Checkpoints** (copying the log into the database file) run on a third connection on a
///   checkpointer thread every [`SqliteOptions::checkpoint_every`], or as soon as the writer
///   asks because 1 MiB of the log is left to copy, never inside a commit (SQLite's automatic
///   checkpoint is off). Under steady load the log can only start over once
///   a checkpoint reached its end, which needs a moment without commits: when the log outgrows
///   [`SqliteOptions::wal_limit_bytes`] the writer asks the checkpointer for passes (and keeps
///   committing) until at most 128 KiB is left to copy, then completes the checkpoint between two
///   batches, pausing while that is copied and the database file is synced.
///   [`SqliteStore::commit_stats`] counts those.
/// - **Gives space back**: a new file uses SQLite's incremental auto-vacuum, so the pages that
///   [`Store::prune`] frees are given back to the file system by [`Store::reclaim_space`], a
///   few at a time, beyond a reserve of a quarter of the file that new events fill first
///   (giving those back would only move live pages to the front of the file for the file to
///   grow again). A file created before that is converted once (see
///   [`SqliteOptions::vacuum_on_open_up_to`] and [`SqliteStore::vacuum`]).
/// - **Readiness that needs space**: after a write failed as unavailable (a full disk),
///   [`Store::ping`] writes and commits a row of about an event's size (then deletes it), so it
///   fails exactly while an ingest would, and passes once space returns, with no other traffic.
/// - **Never blocks the runtime**: callers await a oneshot channel; SQLite runs on those two
///   threads only.
/// - Several processes may open the same file (the server and an operator's `dlq retry`);
///   SQLite's file locks serialize their writers.
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// use stripe_chat_store::{NewJob, SqliteOptions, SqliteStore, Store};
/// let dir = tempfile::tempdir()?;
/// let store = SqliteStore::open(dir.path().join("stripe-chat.db"), SqliteOptions::default()).await?;
/// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
/// store.ingest(event, vec![NewJob::new("slack")]).await?;
/// store.close().await;
/// let reopened = SqliteStore::open(dir.path().join("stripe-chat.db"), SqliteOptions::default()).await?;
/// assert_eq!(reopened.stats().await?.pending, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SqliteStore {
    path: PathBuf,
    options: SqliteOptions,
    writer: mpsc::Sender<Box<dyn WriteRequest>>,
    reader: mpsc::Sender<ReadRequest>,
    checkpointer: std::sync::mpsc::Sender<threads::CheckpointerCall>,
    stopped: Vec<oneshot::Receiver<()>>,
    counters: Arc<Counters>,
    /// Set when a write failed as unavailable (a full disk, an I/O error, a lock held too long);
    /// cleared when an ingest or the readiness probe commits. While set, [`Store::ping`] writes
    /// for real.
    needs_probe: Arc<AtomicBool>,
    /// Where [`Store::prune`]'s scans left off (see [`retention::PruneCursor`]).
    prune_cursor: Arc<std::sync::Mutex<retention::PruneCursor>>,
}

/// What the writer thread did since the store was opened: how well group commit works (requests
/// per commit) and whether commits fail. For metrics.
///
/// ```
/// let stats = stripe_chat_store::CommitStats::default();
/// assert_eq!(stats.requests_per_commit(), 0.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Transactions committed (each one fsync of the write-ahead log).
    pub commits: u64,
    /// Times the writer had to checkpoint the log itself because it outgrew its limit under
    /// sustained load (each one a pause of the writer).
    pub writer_checkpoints: u64,
    /// Requests answered by those commits.
    pub committed_requests: u64,
    /// Batches that could not begin or commit (every request in them got the error).
    pub failed_batches: u64,
    /// Rows deleted by pruning as the store goes ([`SqliteOptions::prune_as_it_goes`]).
    pub swept_rows: u64,
}

impl CommitStats {
    /// Requests per commit: the fsyncs that group commit saved.
    ///
    /// ```
    /// let stats = stripe_chat_store::CommitStats { commits: 10, committed_requests: 640, ..Default::default() };
    /// assert_eq!(stats.requests_per_commit(), 64.0);
    /// ```
    pub fn requests_per_commit(&self) -> f64 {
        if self.commits == 0 {
            0.0
        } else {
            self.committed_requests as f64 / self.commits as f64
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn configure(conn: &Connection, options: &SqliteOptions) -> Result<(), StoreError> {
    conn.busy_timeout(options.busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(64);
    // Plans that do not depend on the values bound: without this, SQLite (built with STAT4)
    // marks statements such as a thread's queued jobs (a join, ordered) to be planned again
    // whenever a bound value changes, so every call of a cached statement parsed its SQL anew.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // Takes effect only in a new file, and only before anything (the WAL mode below included)
    // is written to it; an existing file keeps its mode until a VACUUM.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::unavailable(format!(
            "the file system does not support SQLite's WAL mode (journal mode is {mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", -i64::from(options.cache_kib))?;
    // Checkpoints run on the checkpointer thread, not inside a commit (see `writer_loop`).
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(
        None,
        "journal_size_limit",
        i64::try_from(options.wal_limit_bytes).unwrap_or(i64::MAX),
    )?;
    Ok(())
}

/// SQLite's default page size, which the store keeps.
const PAGE_SIZE: u64 = 4096;

/// Creates the store's file, readable and writable by its owner only (0600), when it does not
/// exist: it holds every raw event (names, emails, addresses, card brands and last digits).
/// SQLite creates the `-wal` and `-shm` files with the database file's permissions. An existing
/// file keeps its permissions; one that others may read is warned about.
fn create_private(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if let Ok(meta) = std::fs::metadata(path)
                    && meta.permissions().mode() & 0o077 != 0
                {
                    tracing::warn!(
                        path = %path.display(),
                        mode = format!("{:o}", meta.permissions().mode() & 0o777),
                        "the store file is readable by other users; it holds payment data: chmod 600 it"
                    );
                }
            }
            Err(e) => {
                return Err(StoreError::unavailable(format!(
                    "cannot create {}: {e}",
                    path.display()
                )));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn open_connection(path: &Path, options: &SqliteOptions) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    configure(&conn, options)?;
    Ok(conn)
}

/// Once the schema is current: the size cap, and the one-time conversion of a small file created
/// without incremental auto-vacuum.
fn settle_file(conn: &Connection, options: &SqliteOptions) -> Result<(), StoreError> {
    if retention::auto_vacuum(conn)? != retention::INCREMENTAL {
        let bytes = retention::database_bytes(conn)?;
        if bytes <= options.vacuum_on_open_up_to {
            let started = std::time::Instant::now();
            match retention::vacuum(conn) {
                Ok(()) => tracing::info!(
                    bytes,
                    elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    "store file converted: space freed by pruning is now given back"
                ),
                Err(error) => tracing::warn!(
                    %error,
                    "cannot convert the store file to incremental vacuum; space freed by pruning \
                     is reused but not given back"
                ),
            }
        } else {
            tracing::warn!(
                bytes,
                "the store file was created without incremental vacuum: space freed by pruning is \
                 reused but the file does not shrink; `stripe-chat prune --vacuum` converts it"
            );
        }
    }
    if let Some(max) = options.max_size_bytes {
        let page: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
        let pages = max / u64::try_from(page.max(512)).unwrap_or(PAGE_SIZE);
        conn.pragma_update(
            None,
            "max_page_count",
            i64::try_from(pages).unwrap_or(i64::MAX),
        )?;
    }
    Ok(())
}

fn spawn_thread(name: &str, body: impl FnOnce() + Send + 'static) -> Result<(), StoreError> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(body)
        .map(|_| ())
        .map_err(|e| StoreError::unavailable(format!("cannot start the {name} thread: {e}")))
}

impl SqliteStore {
    /// Opens (creating it if needed) the store at `path`, migrating its schema to this build's
    /// version, and starts its writer and reader threads. Fails with a transient error when the
    /// file cannot be opened or written (missing directory, no permission, locked), with
    /// [`StoreError::Corrupt`] for a file that is not a stripe-chat store, and with
    /// [`StoreError::SchemaTooNew`] for a file of a newer version.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{SqliteOptions, SqliteStore, Store};
    /// let dir = tempfile::tempdir()?;
    /// let store = SqliteStore::open(dir.path().join("store.db"), SqliteOptions::default()).await?;
    /// store.ping().await?;
    /// let not_a_dir = dir.path().join("store.db").join("nested.db");
    /// let err = SqliteStore::open(not_a_dir, SqliteOptions::default()).await.unwrap_err();
    /// assert!(err.is_transient());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn open(
        path: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let (write_tx, write_rx) = mpsc::channel::<Box<dyn WriteRequest>>(options.queue_capacity);
        let (ready_tx, ready_rx) = oneshot::channel::<Result<(), StoreError>>();
        let (writer_stopped_tx, writer_stopped) = oneshot::channel::<()>();
        let counters = Arc::new(Counters::default());
        let wal = Arc::new(threads::WalState::default());
        let (checkpointer, checkpointer_calls) = std::sync::mpsc::channel();
        {
            let wal = Arc::clone(&wal);
            let checkpointer = checkpointer.clone();
            let path = path.clone();
            let options = options.clone();
            let counters = Arc::clone(&counters);
            spawn_thread("stripe-chat-store-writer", move || {
                let opened = create_private(&path)
                    .and_then(|()| open_connection(&path, &options))
                    .and_then(|mut conn| {
                        schema::migrate(&mut conn)?;
                        settle_file(&conn, &options)?;
                        let hooked = Arc::clone(&wal);
                        conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, frames: i32| {
                            hooked.committed(u64::try_from(frames).unwrap_or(0));
                            Ok(())
                        }))?;
                        Ok(conn)
                    });
                match opened {
                    Ok(conn) => {
                        let _ = ready_tx.send(Ok(()));
                        let limit = threads::WalLimit::new(
                            wal,
                            options.wal_limit_bytes / PAGE_SIZE,
                            Some(checkpointer),
                        );
                        let sweeper = options.prune_as_it_goes.map(retention::Sweeper::new);
                        threads::writer_loop(
                            conn,
                            write_rx,
                            options.max_batch,
                            counters,
                            limit,
                            sweeper,
                        );
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
                let _ = writer_stopped_tx.send(());
            })?;
        }
        ready_rx.await.map_err(|_| StoreError::closed())??;

        let options_for_checkpointer = options.clone();
        let options_for_vacuum = options.clone();
        let (read_tx, read_rx) = mpsc::channel::<ReadRequest>(options.queue_capacity);
        let (ready_tx, ready_rx) = oneshot::channel::<Result<(), StoreError>>();
        let (reader_stopped_tx, reader_stopped) = oneshot::channel::<()>();
        {
            let path = path.clone();
            spawn_thread("stripe-chat-store-reader", move || {
                let opened = open_connection(&path, &options).and_then(|conn| {
                    conn.pragma_update(None, "query_only", "ON")?;
                    Ok(conn)
                });
                match opened {
                    Ok(conn) => {
                        let _ = ready_tx.send(Ok(()));
                        threads::reader_loop(conn, read_rx);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
                let _ = reader_stopped_tx.send(());
            })?;
        }
        ready_rx.await.map_err(|_| StoreError::closed())??;

        let (ready_tx, ready_rx) = oneshot::channel::<Result<(), StoreError>>();
        let (checkpointer_stopped_tx, checkpointer_stopped) = oneshot::channel::<()>();
        {
            let path = path.clone();
            let options = options_for_checkpointer;
            let counters = Arc::clone(&counters);
            spawn_thread("stripe-chat-store-checkpointer", move || {
                match open_connection(&path, &options) {
                    Ok(conn) => {
                        let _ = ready_tx.send(Ok(()));
                        threads::checkpointer_loop(
                            conn,
                            checkpointer_calls,
                            options.checkpoint_every,
                            counters,
                            wal,
                        );
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
                let _ = checkpointer_stopped_tx.send(());
            })?;
        }
        ready_rx.await.map_err(|_| StoreError::closed())??;
        tracing::info!(path = %path.display(), "stripe-chat store opened");
        Ok(SqliteStore {
            path,
            options: options_for_vacuum,
            writer: write_tx,
            reader: read_tx,
            checkpointer,
            stopped: vec![writer_stopped, reader_stopped, checkpointer_stopped],
            counters,
            // Until a write proved it, readiness does not assume the disk has room.
            needs_probe: Arc::new(AtomicBool::new(true)),
            prune_cursor: Arc::default(),
        })
    }

    /// The file the store is in.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("store.db");
    /// let store = stripe_chat_store::SqliteStore::open(&path, Default::default()).await?;
    /// assert_eq!(store.path(), path);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the writer did since the store was opened.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// # let dir = tempfile::tempdir()?;
    /// use stripe_chat_store::{NewJob, Store};
    /// let store = stripe_chat_store::SqliteStore::open(dir.path().join("s.db"), Default::default()).await?;
    /// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
    /// store.ingest(event, vec![NewJob::new("slack")]).await?;
    /// assert_eq!(store.commit_stats().commits, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn commit_stats(&self) -> CommitStats {
        CommitStats {
            commits: self.counters.commits.load(Ordering::Relaxed),
            committed_requests: self.counters.committed_requests.load(Ordering::Relaxed),
            failed_batches: self.counters.failed_batches.load(Ordering::Relaxed),
            writer_checkpoints: self.counters.writer_checkpoints.load(Ordering::Relaxed),
            swept_rows: self.counters.swept_rows.load(Ordering::Relaxed),
        }
    }

    /// The delivery jobs of the `events` events received last, newest job first: what a
    /// read-only view of the service shows (`stripe-chat preview --config`). Reads only.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use std::time::SystemTime;
    /// use stripe_chat_store::{NewEvent, NewJob, SqliteOptions, SqliteStore, Store};
    /// let dir = tempfile::tempdir()?;
    /// let store = SqliteStore::open(dir.path().join("store.db"), SqliteOptions::default()).await?;
    /// let event = NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1,
    ///     livemode: false, account: None, raw: "{}".into(), received_at: SystemTime::now() };
    /// store.ingest(event, vec![NewJob::new("billing"), NewJob::new("log")]).await?;
    /// let jobs = store.recent_jobs(10).await?;
    /// assert_eq!(jobs.len(), 2);
    /// assert!(jobs.iter().all(|j| j.event_id == "evt_1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn recent_jobs(&self, events: usize) -> Result<Vec<JobInfo>, StoreError> {
        self.read(move |conn| ops::recent_jobs(conn, events)).await
    }

    /// Rewrites the whole file with SQLite's `VACUUM` and returns how many bytes the database
    /// shrank by. Every free page is given back, and a file created without incremental
    /// auto-vacuum is converted to it, so that later prunes give their space back step by step
    /// ([`Store::reclaim_space`]). It needs about the size of the live data in free disk space
    /// and holds the file's write lock while it runs: run it with the service stopped (the
    /// service's writes would wait, then fail as unavailable, and the webhook answer 503).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// # let dir = tempfile::tempdir()?;
    /// let store = stripe_chat_store::SqliteStore::open(dir.path().join("s.db"), Default::default()).await?;
    /// let given_back = store.vacuum().await?;
    /// assert_eq!(given_back, 0); // a new, empty store has nothing to give back
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn vacuum(&self) -> Result<u64, StoreError> {
        let (path, options) = (self.path.clone(), self.options.clone());
        let (reply, result) = oneshot::channel();
        spawn_thread("stripe-chat-store-vacuum", move || {
            let run = || {
                let conn = open_connection(&path, &options)?;
                let before = retention::database_bytes(&conn)?;
                retention::vacuum(&conn)?;
                Ok(before.saturating_sub(retention::database_bytes(&conn)?))
            };
            let _ = reply.send(run());
        })?;
        result.await.map_err(|_| StoreError::closed())?
    }

    /// Stops taking requests, lets the writer commit what is queued, copies the whole
    /// write-ahead log into the database file, and waits until every connection is closed.
    /// (Dropping the store does the same without waiting, and may leave the log for the next
    /// open.)
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// # let dir = tempfile::tempdir()?;
    /// let store = stripe_chat_store::SqliteStore::open(dir.path().join("s.db"), Default::default()).await?;
    /// store.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn close(self) {
        let SqliteStore {
            writer,
            reader,
            checkpointer,
            stopped,
            ..
        } = self;
        drop(writer);
        drop(reader);
        let mut stopped = stopped.into_iter();
        // The writer's and the reader's connections close first; then the checkpointer copies
        // the whole log into the database file (closing connections at once may each leave
        // that to another, so that none does it).
        for stop in stopped.by_ref().take(2) {
            let _ = stop.await;
        }
        let _ = checkpointer.send(threads::CheckpointerCall::Last);
        drop(checkpointer);
        for stop in stopped {
            let _ = stop.await;
        }
    }

    /// A write whose caller is answered once it is fsynced ([`Durability::Synced`]).
    async fn write<R: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.write_as(Durability::Synced, op).await
    }

    /// A write of delivery bookkeeping, answered once committed ([`Durability::Bookkeeping`]).
    async fn bookkeeping<R: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.write_as(Durability::Bookkeeping, op).await
    }

    /// Whether a request waits for the writer: housekeeping looks between its small steps and
    /// commits what it did so far, so that an acknowledgement waits for one step, not for a
    /// whole transaction.
    fn requests_waiting(&self) -> impl Fn() -> bool + Send + 'static {
        let writer = self.writer.downgrade();
        move || {
            writer
                .upgrade()
                .is_some_and(|writer| writer.capacity() < writer.max_capacity())
        }
    }

    /// Housekeeping, run by the writer only when nothing else waits
    /// ([`Durability::Background`]).
    async fn background<R: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.write_as(Durability::Background, op).await
    }

    async fn write_as<R: Send + 'static>(
        &self,
        durability: Durability,
        op: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (request, result) = threads::write_request(op, durability);
        let queued = threads::Queued::new(&self.counters, durability);
        self.writer
            .send(request)
            .await
            .map_err(|_| StoreError::closed())?;
        queued.sent();
        let result = result.await.map_err(|_| StoreError::closed())?;
        if let Err(e) = &result
            && e.is_transient()
        {
            self.needs_probe.store(true, Ordering::Relaxed);
        }
        result
    }

    async fn read<R: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (reply, result) = oneshot::channel();
        let request: ReadRequest = Box::new(move |conn: &Connection| {
            let _ = reply.send(op(conn));
        });
        self.reader
            .send(request)
            .await
            .map_err(|_| StoreError::closed())?;
        result.await.map_err(|_| StoreError::closed())?
    }
}

/// The jobs an outcome for `lease` applies to: its own, then the rest of its digest batch.
fn held(lease: &LeasedJob) -> Vec<(JobId, LeaseToken)> {
    let mut held = vec![(lease.job_id, lease.token)];
    if let Some(batch) = &lease.digest {
        held.extend(
            batch
                .jobs
                .iter()
                .filter(|m| m.job_id != lease.job_id)
                .map(|m| (m.job_id, m.token)),
        );
    }
    held
}

#[async_trait]
impl Store for SqliteStore {
    async fn ingest(&self, event: NewEvent, jobs: Vec<NewJob>) -> Result<Ingested, StoreError> {
        validate_event(&event, &jobs)?;
        let ingested = self
            .write(move |conn| ops::ingest(conn, &event, &jobs))
            .await?;
        if !ingested.duplicate {
            // A new event took new space: the disk has room.
            self.needs_probe.store(false, Ordering::Relaxed);
        }
        Ok(ingested)
    }

    async fn lease_where(
        &self,
        worker: &str,
        max: usize,
        lease_for: Duration,
        now: SystemTime,
        filter: &LeaseFilter,
    ) -> Result<Vec<LeasedJob>, StoreError> {
        validate_lease(lease_for)?;
        let worker = worker.to_owned();
        let filter = filter.clone();
        let (lease_ms, now) = (duration_ms(lease_for), to_ms(now));
        self.bookkeeping(move |conn| ops::lease(conn, &worker, max, lease_ms, now, &filter))
            .await
    }

    async fn complete(
        &self,
        lease: &LeasedJob,
        delivered: Delivered,
    ) -> Result<RefUpdate, StoreError> {
        let held = held(lease);
        self.bookkeeping(move |conn| ops::complete(conn, &held, &delivered))
            .await
    }

    async fn retry(
        &self,
        lease: &LeasedJob,
        at: SystemTime,
        error: &str,
    ) -> Result<(), StoreError> {
        let (held, error) = (held(lease), error.to_owned());
        let failure = Failure::Retry { at: to_ms(at) };
        self.bookkeeping(move |conn| ops::fail(conn, &held, &failure, &error))
            .await
    }

    async fn defer(&self, lease: &LeasedJob, at: SystemTime) -> Result<(), StoreError> {
        let held = held(lease);
        let at = to_ms(at);
        self.bookkeeping(move |conn| ops::defer(conn, &held, at))
            .await
    }

    async fn dead_letter(&self, lease: &LeasedJob, error: &str) -> Result<(), StoreError> {
        let (held, error) = (held(lease), error.to_owned());
        self.bookkeeping(move |conn| ops::fail(conn, &held, &Failure::Dead, &error))
            .await
    }

    async fn settle(
        &self,
        outcomes: Vec<(&LeasedJob, Outcome)>,
    ) -> Vec<Result<RefUpdate, StoreError>> {
        if outcomes.is_empty() {
            return Vec::new();
        }
        let count = outcomes.len();
        let outcomes: Vec<_> = outcomes
            .into_iter()
            .map(|(lease, outcome)| (held(lease), outcome))
            .collect();
        match self
            .bookkeeping(move |conn| Ok(ops::settle(conn, &outcomes)))
            .await
        {
            Ok(results) => results,
            // The request as a whole failed: nothing of it was committed.
            Err(e) => vec![Err(e); count],
        }
    }

    async fn message_ref(
        &self,
        destination: &str,
        thread_key: &str,
    ) -> Result<Option<StoredRef>, StoreError> {
        let (destination, thread_key) = (destination.to_owned(), thread_key.to_owned());
        self.read(move |conn| ops::message_ref(conn, &destination, &thread_key))
            .await
    }

    async fn queued_jobs(
        &self,
        destination: &str,
        thread_key: &str,
    ) -> Result<Vec<JobInfo>, StoreError> {
        let (destination, thread_key) = (destination.to_owned(), thread_key.to_owned());
        self.read(move |conn| ops::queued_jobs(conn, &destination, &thread_key))
            .await
    }

    async fn supersede(&self, job: JobId, reason: &str) -> Result<bool, StoreError> {
        let reason = reason.to_owned();
        self.bookkeeping(move |conn| ops::supersede(conn, job, &reason))
            .await
    }

    async fn dlq_list(&self, limit: usize) -> Result<Vec<JobInfo>, StoreError> {
        self.read(move |conn| ops::dlq_list(conn, limit)).await
    }

    async fn dlq_retry(&self, target: DlqTarget, now: SystemTime) -> Result<usize, StoreError> {
        let now = to_ms(now);
        self.write(move |conn| ops::dlq_retry(conn, target, now))
            .await
    }

    async fn replay(
        &self,
        event_id: &str,
        jobs: Vec<NewJob>,
        now: SystemTime,
    ) -> Result<usize, StoreError> {
        if jobs.iter().any(|j| j.destination.is_empty()) {
            return Err(StoreError::invalid("a job's destination is empty"));
        }
        let (event_id, now) = (event_id.to_owned(), to_ms(now));
        self.write(move |conn| ops::replay(conn, &event_id, &jobs, now))
            .await
    }

    async fn event(&self, event_id: &str) -> Result<Option<StoredEvent>, StoreError> {
        let event_id = event_id.to_owned();
        self.read(move |conn| ops::event(conn, &event_id)).await
    }

    async fn stats(&self) -> Result<Stats, StoreError> {
        self.read(ops::stats).await
    }

    async fn prune(&self, before: SystemTime, limit: usize) -> Result<Pruned, StoreError> {
        let before = to_ms(before);
        let cursor = Arc::clone(&self.prune_cursor);
        let waiting = self.requests_waiting();
        self.background(move |conn| {
            // Only the writer thread takes the lock; a poisoned cursor is still a position.
            let mut kept = cursor.lock().unwrap_or_else(|e| e.into_inner());
            // The cursor moves only with a call that succeeded (a failed one is undone).
            let mut moved = kept.clone();
            let pruned = retention::prune_in_steps(conn, before, limit, &mut moved, waiting)?;
            *kept = moved;
            Ok(pruned)
        })
        .await
    }

    async fn backlog(&self) -> Result<Vec<Backlog>, StoreError> {
        self.read(ops::backlog).await
    }

    async fn audit_append(&self, row: AuditRow) -> Result<(), StoreError> {
        self.write(move |conn| ops::audit_append(conn, &row)).await
    }

    async fn audit_last(&self) -> Result<Option<AuditRow>, StoreError> {
        self.read(ops::audit_last).await
    }

    async fn audit_read(&self, from: u64, limit: usize) -> Result<Vec<AuditRow>, StoreError> {
        self.read(move |conn| ops::audit_read(conn, from, limit))
            .await
    }

    async fn audit_checkpoint(&self, row: AuditCheckpointRow) -> Result<(), StoreError> {
        self.write(move |conn| ops::audit_checkpoint(conn, &row))
            .await
    }

    async fn audit_checkpoints(&self) -> Result<Vec<AuditCheckpointRow>, StoreError> {
        self.read(ops::audit_checkpoints).await
    }

    /// While writes succeed: one round trip through the writer (`SELECT 1`, no disk access).
    /// After a write failed as unavailable (and when the store was just opened): a real write
    /// that needs new space, a row of about an event's size committed with an fsync as an
    /// ingest is (then deleted), so that the probe fails exactly while an ingest would, and
    /// succeeds again as soon as space returns, with no other traffic.
    async fn ping(&self) -> Result<(), StoreError> {
        if !self.needs_probe.load(Ordering::Relaxed) {
            return self
                .write(|conn| {
                    conn.prepare_cached("SELECT 1")?
                        .query_row([], |_| Ok(()))
                        .map_err(StoreError::from)
                })
                .await;
        }
        self.write(retention::probe).await?;
        self.needs_probe.store(false, Ordering::Relaxed);
        if let Err(error) = self.bookkeeping(retention::clear_probe).await {
            // The row is deleted after a later probe; it never stands in for new space.
            tracing::debug!(%error, "the readiness probe's row stays until the next probe");
        }
        Ok(())
    }

    async fn prunable(&self, before: SystemTime) -> Result<Pruned, StoreError> {
        let before = to_ms(before);
        self.read(move |conn| retention::prunable(conn, before))
            .await
    }

    async fn reclaim_space(&self, max_bytes: u64) -> Result<u64, StoreError> {
        let waiting = self.requests_waiting();
        self.background(move |conn| retention::reclaim(conn, max_bytes, waiting))
            .await
    }

    async fn interaction_first_seen(&self, id: &str, now: SystemTime) -> Result<bool, StoreError> {
        if id.is_empty() {
            return Err(StoreError::invalid("an interaction id is empty"));
        }
        let (id, now) = (id.to_owned(), to_ms(now));
        self.write(move |conn| actions::interaction_first_seen(conn, &id, now))
            .await
    }

    async fn pending_create(&self, pending: NewPending) -> Result<PendingRow, StoreError> {
        self.write(move |conn| actions::pending_create(conn, pending))
            .await
    }

    async fn pending(&self, id: &str) -> Result<Option<PendingRow>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| actions::pending(conn, &id)).await
    }

    async fn pending_advance(
        &self,
        id: &str,
        from: &str,
        change: PendingChange,
        now: SystemTime,
    ) -> Result<Option<PendingRow>, StoreError> {
        let (id, from, now) = (id.to_owned(), from.to_owned(), to_ms(now));
        self.write(move |conn| actions::pending_advance(conn, &id, &from, &change, now))
            .await
    }

    async fn ledger_claim(
        &self,
        key: &str,
        now: SystemTime,
        stale_after: Duration,
    ) -> Result<Claim, StoreError> {
        if key.is_empty() {
            return Err(StoreError::invalid("an idempotency key is empty"));
        }
        let key = key.to_owned();
        let stale_before = to_ms(now).saturating_sub(duration_ms(stale_after));
        let now = to_ms(now);
        self.write(move |conn| actions::ledger_claim(conn, &key, now, stale_before))
            .await
    }

    async fn ledger_record(
        &self,
        key: &str,
        attempt: u32,
        outcome: LedgerOutcome,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let (key, now) = (key.to_owned(), to_ms(now));
        self.write(move |conn| actions::ledger_record(conn, &key, attempt, &outcome, now))
            .await
    }

    async fn contact_record(
        &self,
        customer: &str,
        person: &str,
        at: SystemTime,
    ) -> Result<(), StoreError> {
        if customer.is_empty() || person.is_empty() {
            return Err(StoreError::invalid(
                "a contact needs a customer and a person",
            ));
        }
        let (customer, person, at) = (customer.to_owned(), person.to_owned(), to_ms(at));
        self.write(move |conn| actions::contact_record(conn, &customer, &person, at))
            .await
    }

    async fn last_contact(&self, customer: &str) -> Result<Option<Contact>, StoreError> {
        let customer = customer.to_owned();
        self.read(move |conn| actions::last_contact(conn, &customer))
            .await
    }

    async fn assignment_set(
        &self,
        object: &str,
        assignee: &str,
        by: &str,
        at: SystemTime,
    ) -> Result<(), StoreError> {
        if object.is_empty() || assignee.is_empty() || by.is_empty() {
            return Err(StoreError::invalid(
                "an assignment needs an object, an assignee and who assigned it",
            ));
        }
        let (object, assignee, by, at) = (
            object.to_owned(),
            assignee.to_owned(),
            by.to_owned(),
            to_ms(at),
        );
        self.write(move |conn| actions::assignment_set(conn, &object, &assignee, &by, at))
            .await
    }

    async fn assignment(&self, object: &str) -> Result<Option<Assignment>, StoreError> {
        let object = object.to_owned();
        self.read(move |conn| actions::assignment(conn, &object))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewEvent;

    fn big_event(i: usize) -> NewEvent {
        NewEvent {
            id: format!("evt_{i}"),
            event_type: "invoice.paid".into(),
            created: 100,
            livemode: false,
            account: None,
            raw: "x".repeat(64 * 1024),
            received_at: SystemTime::now(),
        }
    }

    #[tokio::test]
    async fn a_full_disk_is_a_transient_error_and_the_store_recovers_when_space_returns() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("s.db"), SqliteOptions::default())
            .await
            .unwrap();
        // Cap the file a few pages above its size, as a disk that is nearly full.
        store
            .write(|conn| {
                let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
                conn.pragma_update(None, "max_page_count", pages + 40)?;
                Ok(())
            })
            .await
            .unwrap();
        let mut stored = 0;
        let err = loop {
            match store
                .ingest(big_event(stored), vec![NewJob::new("slack")])
                .await
            {
                Ok(_) => stored += 1,
                Err(e) => break e,
            }
            assert!(stored < 100, "the cap was never reached");
        };
        assert!(err.is_transient(), "{err:?}");
        assert!(matches!(err, StoreError::Unavailable { .. }));
        store
            .write(|conn| Ok(conn.pragma_update(None, "max_page_count", 1_000_000)?))
            .await
            .unwrap();
        let retried = store
            .ingest(big_event(stored), vec![NewJob::new("slack")])
            .await
            .unwrap();
        assert!(!retried.duplicate, "the failed ingest left nothing behind");
        assert_eq!(store.stats().await.unwrap().pending as usize, stored + 1);
        assert!(store.commit_stats().failed_batches <= 1);
    }

    #[test]
    fn thread_queries_are_planned_once_whatever_thread_they_are_asked_about() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn =
            open_connection(&dir.path().join("s.db"), &SqliteOptions::default()).unwrap();
        schema::migrate(&mut conn).unwrap();
        for i in 0..4 {
            let mut event = big_event(i);
            event.raw = "{}".into();
            let job = NewJob::new("slack").thread_key(format!("invoice/in_{i}"));
            ops::ingest(&conn, &event, &[job]).unwrap();
        }
        // Each lease asks for the oldest due job of each thread, inhibition for its queued jobs.
        let now = to_ms(SystemTime::now()) + 1;
        for _ in 0..4 {
            assert_eq!(
                ops::lease(&conn, "w", 1, 60_000, now, &LeaseFilter::all())
                    .unwrap()
                    .len(),
                1
            );
        }
        for i in 0..4 {
            assert_eq!(
                ops::queued_jobs(&conn, "slack", &format!("invoice/in_{i}"))
                    .unwrap()
                    .len(),
                1
            );
        }
        for sql in [ops::OLDEST_DUE, ops::QUEUED_JOBS, ops::OTHERS_QUEUED] {
            let statement = conn.prepare_cached(sql).unwrap();
            assert_eq!(
                statement.get_status(rusqlite::StatementStatus::RePrepare),
                0,
                "{sql}"
            );
        }
    }

    /// Fills the store up to a cap a few pages above its size, as a disk that is nearly full,
    /// with large events, then small ones, until not even a small one fits.
    async fn fill_to_the_cap(store: &SqliteStore) -> usize {
        store
            .write(|conn| {
                let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
                conn.pragma_update(None, "max_page_count", pages + 40)?;
                Ok(())
            })
            .await
            .unwrap();
        let mut stored = 0;
        for size in [64 * 1024, 1024] {
            loop {
                let mut event = big_event(stored);
                event.raw.truncate(size);
                if store
                    .ingest(event, vec![NewJob::new("slack")])
                    .await
                    .is_err()
                {
                    break;
                }
                stored += 1;
                assert!(stored < 1000, "the cap was never reached");
            }
        }
        stored
    }

    async fn probe_rows(store: &SqliteStore) -> i64 {
        store
            .read(|conn| Ok(conn.query_row("SELECT count(*) FROM probe", [], |r| r.get(0))?))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn ping_fails_while_no_commit_can_succeed_and_passes_once_space_returns_without_traffic()
    {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("s.db"), SqliteOptions::default())
            .await
            .unwrap();
        store.ping().await.unwrap();
        assert_eq!(probe_rows(&store).await, 0, "the probe removes its row");

        fill_to_the_cap(&store).await;
        // A `SELECT 1` through the writer would still succeed here.
        let err = store.ping().await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        assert!(store.ping().await.is_err(), "still full: still not ready");

        // Space returns; nothing else happens but the readiness probe.
        store
            .write(|conn| Ok(conn.pragma_update(None, "max_page_count", 1_000_000)?))
            .await
            .unwrap();
        store.ping().await.unwrap();
        assert_eq!(probe_rows(&store).await, 0);
        let commits = store.commit_stats().commits;
        store.ping().await.unwrap();
        assert_eq!(
            store.commit_stats().commits,
            commits + 1,
            "once a write succeeded, a ping is one round trip again"
        );
    }

    #[tokio::test]
    async fn a_probe_row_left_behind_never_lends_its_space_to_the_next_probe() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("s.db"), SqliteOptions::default())
            .await
            .unwrap();
        store.write(retention::probe).await.unwrap();
        fill_to_the_cap(&store).await;
        assert!(store.ping().await.is_err());
        assert_eq!(probe_rows(&store).await, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(dir.path().join("s.db"), SqliteOptions::default())
                .await
                .unwrap(),
        );
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    for j in 0..10 {
                        store
                            .ingest(big_event(i * 100 + j), vec![NewJob::new("slack")])
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let stats = store.commit_stats();
        assert_eq!(stats.committed_requests, 640);
        assert!(stats.commits < 320, "{stats:?}");
    }
}

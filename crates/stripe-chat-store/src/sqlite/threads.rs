//! The writer thread (group commit) and the reader thread. Neither runs on an async runtime:
//! callers wait on a oneshot channel, so SQLite's blocking calls never stall a runtime thread.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;

/// A request to the writer: runs inside the batch's transaction, then learns whether the batch
/// committed.
pub(crate) trait WriteRequest: Send {
    /// Runs the request in its own savepoint; returns what to send once the batch is settled.
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Settle>;
    /// Fails the request without running it.
    fn abort(self: Box<Self>, error: StoreError);
    /// How durable the request's commit must be before its caller is answered.
    fn durability(&self) -> Durability;
    /// When the request was made.
    fn queued_at(&self) -> Instant;
}

/// How long the delivery bookkeeping may be held back while acknowledgements (synced writes)
/// keep the writer busy: it then joins the next batch whatever it holds.
pub(crate) const BOOKKEEPING_MAX_WAIT: Duration = Duration::from_millis(10);

/// How durable a write must be when its caller is answered.
///
/// Both survive a crash of the process (the committed log is in the operating system's hands);
/// they differ after a power cut or a kernel crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// `synchronous = FULL`: the write-ahead log is fsynced before the caller is answered. For
    /// what must never be lost once acknowledged: an ingested event and its jobs, an operator's
    /// replay or dead-letter retry.
    Synced,
    /// `synchronous = NORMAL`: committed and ordered in the log, fsynced by the next synced commit
    /// or checkpoint. For the delivery bookkeeping (leases, outcomes, message refs): a power cut
    /// can only undo the latest of them, which means a job is leased and delivered again, never
    /// that an event is lost.
    Bookkeeping,
    /// As durable as [`Durability::Bookkeeping`], and in no hurry: housekeeping (pruning, giving
    /// space back). Such a request runs in a transaction of its own, and only when no other
    /// request is waiting, so it never makes a webhook wait longer than its own (short)
    /// transaction.
    Background,
}

/// Sends a request's result once its batch committed (or failed).
pub(crate) trait Settle {
    fn settle(self: Box<Self>, committed: Result<(), StoreError>);
}

struct Request<F, R> {
    op: F,
    reply: oneshot::Sender<Result<R, StoreError>>,
    durability: Durability,
    queued_at: Instant,
}

struct Ran<R> {
    result: Result<R, StoreError>,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

impl<F, R> WriteRequest for Request<F, R>
where
    F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    R: Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Settle> {
        let Request { op, reply, .. } = *self;
        let result = in_savepoint(conn, op);
        Box::new(Ran { result, reply })
    }

    fn abort(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }

    fn durability(&self) -> Durability {
        self.durability
    }

    fn queued_at(&self) -> Instant {
        self.queued_at
    }
}

impl<R> Settle for Ran<R> {
    fn settle(self: Box<Self>, committed: Result<(), StoreError>) {
        // The request's own error says more than the batch's; a result is only good once the
        // batch is durable.
        let outcome = match self.result {
            Err(e) => Err(e),
            Ok(value) => committed.map(|()| value),
        };
        // The caller may have gone away (its request was cancelled): nothing to do then.
        let _ = self.reply.send(outcome);
    }
}

/// A boxed write request and the receiver of its result.
pub(crate) fn write_request<F, R>(
    op: F,
    durability: Durability,
) -> (
    Box<dyn WriteRequest>,
    oneshot::Receiver<Result<R, StoreError>>,
)
where
    F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    R: Send + 'static,
{
    let (reply, receiver) = oneshot::channel();
    (
        Box::new(Request {
            op,
            reply,
            durability,
            queued_at: Instant::now(),
        }),
        receiver,
    )
}

fn exec_cached(conn: &Connection, sql: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs `op` so that its failure undoes only its own changes, not the batch's. Savepoints
/// nest: a request may run parts of itself this way too (`RELEASE` and `ROLLBACK TO` name the
/// innermost savepoint of the name).
pub(crate) fn in_savepoint<R>(
    conn: &Connection,
    op: impl FnOnce(&Connection) -> Result<R, StoreError>,
) -> Result<R, StoreError> {
    exec_cached(conn, "SAVEPOINT request")?;
    let undo = || {
        let _ = exec_cached(conn, "ROLLBACK TO request");
        let _ = exec_cached(conn, "RELEASE request");
    };
    match op(conn) {
        Ok(value) => match exec_cached(conn, "RELEASE request") {
            Ok(()) => Ok(value),
            Err(e) => {
                undo();
                Err(e.into())
            }
        },
        Err(e) => {
            undo();
            Err(e)
        }
    }
}

/// The writer thread's loop: take one request (waiting while there is none), then every request
/// already queued up to `max_batch`, run them all in one `BEGIN IMMEDIATE … COMMIT`, and answer
/// each only after the commit returned. Requests that arrive during a commit (its fsync) form
/// the next batch, so concurrent callers share fsyncs without anyone waiting on a timer.
///
/// Acknowledgements come first: while synced writes (ingests, which Stripe waits for) are
/// queued, the delivery bookkeeping is held back, so that it does not lengthen their batches;
/// it runs in the next batch without synced writes, or joins one once it has waited
/// [`BOOKKEEPING_MAX_WAIT`]. With nothing to acknowledge it is never held back.
///
/// [`Durability::Background`] requests are set aside and run one at a time, each in its own
/// transaction, whenever nothing else is to run, or once the oldest has waited
/// [`BACKGROUND_PATIENCE`] (so that a writer that is never idle still gets to them).
///
/// With a sweeper (`SqliteOptions::prune_as_it_goes`), the synced writes of each batch add to
/// what it owes, and a batch it is due in pays after its requests, before `COMMIT`: step by step
/// until nothing is owed or an acknowledgement waits, or one step in a batch that acknowledges.
///
/// Checkpoints (copying the log into the database file) are not the writer's job: the
/// [`checkpointer_loop`] does them beside it. Only when the log outgrows its limit (the writer
/// never paused long enough for the checkpointer to catch up, so SQLite could not start the log
/// over) does the writer step in, as [`WalLimit`] says: it asks the checkpointer for passes, then
/// completes the checkpoint between two batches once little is left to copy, which lets the next
/// batch restart the log from its beginning.
pub(crate) fn writer_loop(
    conn: Connection,
    mut requests: mpsc::Receiver<Box<dyn WriteRequest>>,
    max_batch: usize,
    counters: Arc<Counters>,
    mut wal: WalLimit,
    mut sweeper: Option<super::retention::Sweeper>,
) {
    let mut batch: Vec<Box<dyn WriteRequest>> = Vec::with_capacity(max_batch);
    let mut settles: Vec<Box<dyn Settle>> = Vec::with_capacity(max_batch);
    let mut waiting = Waiting::default();
    let mut level = Level::default();
    loop {
        if waiting.background_overdue() {
            // Between two batches: one request set aside, alone.
            batch.extend(waiting.set_aside.pop_front().map(|(_, request)| request));
        } else {
            // Wait for a request, unless some are held back or set aside: they run now if
            // nothing else comes.
            let mut taken = 0;
            if waiting.is_empty() {
                let Some(first) = requests.blocking_recv() else {
                    break;
                };
                counters.taken(first.durability());
                waiting.sort(first, &mut batch);
                taken = 1;
            }
            while taken < max_batch {
                match requests.try_recv() {
                    Ok(next) => {
                        counters.taken(next.durability());
                        waiting.sort(next, &mut batch);
                    }
                    Err(_) => break,
                }
                taken += 1;
            }
            let acknowledging = !batch.is_empty();
            while batch.len() < max_batch
                && waiting.held.front().is_some_and(|request| {
                    !acknowledging || request.queued_at().elapsed() >= BOOKKEEPING_MAX_WAIT
                })
            {
                batch.extend(waiting.held.pop_front());
            }
            if batch.is_empty() {
                // Nothing else waits (or ever will): one request set aside, alone.
                match waiting.set_aside.pop_front() {
                    Some((_, background)) => batch.push(background),
                    None => continue,
                }
            }
        }
        let needed = if batch.iter().any(|r| r.durability() == Durability::Synced) {
            Durability::Synced
        } else {
            Durability::Bookkeeping
        };
        let mut sweep = sweeper.as_mut().and_then(|sweeper| {
            let synced = batch
                .iter()
                .filter(|r| r.durability() == Durability::Synced)
                .count();
            sweeper.owe(synced);
            sweeper.due(needed == Durability::Synced).then_some(sweeper)
        });
        level.set(&conn, needed);
        let synced = needed == Durability::Synced;
        let waiting = || counters.acknowledgement_waiting();
        commit_batch(&conn, &mut batch, &mut settles, &counters, |conn| {
            if let Some(sweeper) = sweep.as_mut() {
                let rows = sweeper.pay(conn, synced, waiting);
                counters
                    .swept_rows
                    .fetch_add(rows as u64, Ordering::Relaxed);
            }
        });
        wal.keep(&conn, &counters);
    }
    tracing::debug!("stripe-chat store writer stopped");
    drop(conn);
}

/// The longest a [`Durability::Background`] request waits for the writer to be idle before it
/// runs anyway, between two batches.
pub(crate) const BACKGROUND_PATIENCE: Duration = Duration::from_secs(1);

/// The requests the writer took but did not run yet.
#[derive(Default)]
struct Waiting {
    /// Delivery bookkeeping held back behind acknowledgements, oldest first.
    held: VecDeque<Box<dyn WriteRequest>>,
    /// Housekeeping set aside until the writer is idle, with when it was, oldest first.
    set_aside: VecDeque<(Instant, Box<dyn WriteRequest>)>,
}

impl Waiting {
    /// Puts a synced request in the batch, bookkeeping behind the held back, housekeeping aside.
    fn sort(&mut self, request: Box<dyn WriteRequest>, batch: &mut Vec<Box<dyn WriteRequest>>) {
        match request.durability() {
            Durability::Synced => batch.push(request),
            Durability::Bookkeeping => self.held.push_back(request),
            Durability::Background => self.set_aside.push_back((Instant::now(), request)),
        }
    }

    fn is_empty(&self) -> bool {
        self.held.is_empty() && self.set_aside.is_empty()
    }

    /// Whether the oldest request set aside has waited [`BACKGROUND_PATIENCE`].
    fn background_overdue(&self) -> bool {
        self.set_aside
            .front()
            .is_some_and(|(since, _)| since.elapsed() >= BACKGROUND_PATIENCE)
    }
}

/// The `synchronous` setting of the writer's connection, changed only when a batch needs another.
#[derive(Default)]
struct Level(Option<Durability>);

impl Level {
    /// Sets `synchronous` for the next commit. If SQLite refuses (it never does outside a
    /// transaction), the connection is left at `FULL`, which only costs an fsync.
    fn set(&mut self, conn: &Connection, needed: Durability) {
        if self.0 == Some(needed) {
            return;
        }
        let value = match needed {
            Durability::Synced => "FULL",
            Durability::Bookkeeping | Durability::Background => "NORMAL",
        };
        match conn.pragma_update(None, "synchronous", value) {
            Ok(()) => self.0 = Some(needed),
            Err(error) => {
                tracing::warn!(%error, "cannot change the store's synchronous setting");
                let _ = conn.pragma_update(None, "synchronous", "FULL");
                self.0 = None;
            }
        }
    }
}

/// What the writer, the checkpointer and SQLite's WAL hook know of the write-ahead log.
#[derive(Debug, Default)]
pub(crate) struct WalState {
    /// Frames in the log after the writer's last commit (since the log last started over).
    pub(crate) pages: AtomicU64,
    /// Times the log started over, as the WAL hook saw it (fewer frames after a commit than
    /// before it).
    pub(crate) restarts: AtomicU64,
    /// What the checkpointer's last pass had copied into the database file, and of which log.
    pub(crate) copied: std::sync::Mutex<Copied>,
    /// Passes the checkpointer finished.
    pub(crate) passes: AtomicU64,
}

/// Frames of the log a checkpointer's pass had copied, with the log's [`WalState::restarts`]
/// when the pass began: a count from an earlier log says nothing of the current one.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Copied {
    pub(crate) restarts: u64,
    pub(crate) frames: u64,
}

impl WalState {
    /// What the WAL hook saw after a commit: `frames` in the log.
    pub(crate) fn committed(&self, frames: u64) {
        let before = self.pages.swap(frames, Ordering::Relaxed);
        if frames < before {
            self.restarts.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Frames of the current log already copied into the database file, as far as is known.
    fn copied(&self) -> u64 {
        let copied = *self.copied.lock().unwrap_or_else(|e| e.into_inner());
        if copied.restarts == self.restarts.load(Ordering::Relaxed) {
            copied.frames
        } else {
            0
        }
    }

    /// Records a checkpointer's pass that began while the log had started over `restarts` times.
    fn record_pass(&self, restarts: u64, frames: u64) {
        *self.copied.lock().unwrap_or_else(|e| e.into_inner()) = Copied { restarts, frames };
    }
}

/// What the checkpointer thread is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CheckpointerCall {
    /// Copy the log now, without waiting for the next round: the writer wants it to start over.
    Now,
    /// The store is closing: copy the whole log into the database file, empty it and stop.
    Last,
}

/// The size the write-ahead log may reach before the writer has it start over, and how.
///
/// Starting over needs a complete checkpoint between two commits, so the writer does that
/// checkpoint itself and pauses meanwhile. It first asks the checkpointer for a pass and waits
/// (committing as usual) until what is left to copy is at most [`WalLimit::CATCH_UP_PAGES`]:
/// the pause then copies and syncs that much, not the log since the checkpointer's last round.
/// Past twice the limit (a checkpointer that cannot keep up) the writer checkpoints at once.
pub(crate) struct WalLimit {
    pub(crate) state: Arc<WalState>,
    pub(crate) max_pages: u64,
    /// Asks the checkpointer for a pass; `None` where there is no checkpointer.
    pub(crate) checkpointer: Option<std::sync::mpsc::Sender<CheckpointerCall>>,
    /// The checkpointer's passes when the writer last asked for one.
    asked_at: Option<u64>,
    /// The log (its [`WalState::restarts`]), its frames and the frames of it copied when the
    /// writer last asked for a pass.
    asked_log: u64,
    asked_pages: u64,
    asked_copied: u64,
}

/// What the writer does about the log between two batches.
#[derive(Debug, PartialEq, Eq)]
enum WalStep {
    /// Nothing: the log is within its limit, or a pass asked for is under way.
    Wait,
    /// Ask the checkpointer for a pass.
    Ask,
    /// Complete a checkpoint now, so that the next batch starts the log over.
    Checkpoint,
}

impl WalLimit {
    /// Frames (4 KiB pages) the writer copies at most when it completes a checkpoint: 128 KiB.
    pub(crate) const CATCH_UP_PAGES: u64 = 32;

    pub(crate) fn new(
        state: Arc<WalState>,
        max_pages: u64,
        checkpointer: Option<std::sync::mpsc::Sender<CheckpointerCall>>,
    ) -> Self {
        WalLimit {
            state,
            max_pages,
            checkpointer,
            asked_at: None,
            asked_log: 0,
            asked_pages: 0,
            asked_copied: 0,
        }
    }

    /// Frames (4 KiB pages) of the log not yet copied for which the writer asks the checkpointer
    /// for a pass without waiting for its next round: 1 MiB. Under a heavy load the copies (and
    /// the syncs of the database file that end them) stay that small, instead of everything
    /// committed in [`SqliteOptions::checkpoint_every`](crate::SqliteOptions::checkpoint_every):
    /// a webhook's sync of the log then never queues behind a large one. Below the log's limit,
    /// after a pass that copied nothing (held back by a reader, which it cannot copy past), the
    /// writer asks again only once the log grew by as much, not after every batch.
    pub(crate) const PASS_PAGES: u64 = 256;

    fn next(&mut self) -> WalStep {
        let pages = self.state.pages.load(Ordering::Relaxed);
        let copied = self.state.copied();
        let left = pages.saturating_sub(copied);
        if pages > self.max_pages {
            if left <= Self::CATCH_UP_PAGES
                || pages > self.max_pages.saturating_mul(2)
                || self.checkpointer.is_none()
            {
                return WalStep::Checkpoint;
            }
        } else {
            // In a log that started over since the writer last asked, all of it is new.
            let same_log = self.state.restarts.load(Ordering::Relaxed) == self.asked_log;
            let grown = if same_log {
                pages.saturating_sub(self.asked_pages)
            } else {
                pages
            };
            let stuck = same_log && copied <= self.asked_copied && grown < Self::PASS_PAGES;
            if left < Self::PASS_PAGES || stuck || self.checkpointer.is_none() {
                return WalStep::Wait;
            }
        }
        let passes = self.state.passes.load(Ordering::Relaxed);
        if self.asked_at == Some(passes) {
            return WalStep::Wait;
        }
        self.asked_at = Some(passes);
        self.asked_log = self.state.restarts.load(Ordering::Relaxed);
        self.asked_pages = pages;
        self.asked_copied = copied;
        WalStep::Ask
    }

    /// Keeps the log near its limit (see [`WalLimit`]); called between two batches.
    fn keep(&mut self, conn: &Connection, counters: &Counters) {
        match self.next() {
            WalStep::Wait => {}
            WalStep::Ask => {
                let asked = self
                    .checkpointer
                    .as_ref()
                    .is_some_and(|c| c.send(CheckpointerCall::Now).is_ok());
                if !asked {
                    self.checkpointer = None;
                }
            }
            WalStep::Checkpoint => match checkpoint(conn) {
                // Complete: the next batch starts the log over.
                Ok(progress) if progress.complete => {
                    self.asked_at = None;
                    counters.writer_checkpoints.fetch_add(1, Ordering::Relaxed);
                }
                // The checkpointer is busy copying; try again after the next batch.
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "store checkpoint failed"),
            },
        }
    }
}

/// What one checkpoint did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CheckpointProgress {
    /// It copied the whole log (and so synced the database file).
    pub(crate) complete: bool,
    /// Frames of the log in the database file once it was done; `None` when another
    /// checkpoint was running.
    pub(crate) copied: Option<u64>,
}

/// A passive checkpoint: copies what it can of the log into the database file without blocking
/// the writer or readers. Not complete when another checkpoint was running or frames remain.
pub(crate) fn checkpoint(conn: &Connection) -> Result<CheckpointProgress, StoreError> {
    let (busy, log, copied): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    Ok(CheckpointProgress {
        complete: busy == 0 && log == copied,
        copied: (busy == 0).then(|| u64::try_from(copied).ok()).flatten(),
    })
}

/// The checkpointer thread's loop: every `every` (or at once when the writer asks), if the
/// writer committed since the last pass, copy the log into the database file (on its own
/// connection, so the writer's commits do not wait for it). When the writer pauses, the copy
/// catches up and SQLite restarts the log, which keeps it small. Stops when every sender of
/// `calls` is dropped; [`CheckpointerCall::Last`] (sent once the writer and the reader are
/// closed) first copies the whole log into the database file and empties it.
pub(crate) fn checkpointer_loop(
    conn: Connection,
    calls: std::sync::mpsc::Receiver<CheckpointerCall>,
    every: Duration,
    counters: Arc<Counters>,
    wal: Arc<WalState>,
) {
    use std::sync::mpsc::RecvTimeoutError;
    let mut seen = 0;
    loop {
        match calls.recv_timeout(every) {
            Err(RecvTimeoutError::Timeout) | Ok(CheckpointerCall::Now) => {}
            Ok(CheckpointerCall::Last) => {
                let last = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
                if let Err(error) = last {
                    tracing::debug!(%error, "store final checkpoint failed");
                }
                break;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let commits = counters.commits.load(Ordering::Relaxed);
        if commits != seen {
            seen = commits;
            let restarts = wal.restarts.load(Ordering::Relaxed);
            match checkpoint(&conn) {
                Ok(progress) => {
                    if let Some(frames) = progress.copied {
                        wal.record_pass(restarts, frames);
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, "store background checkpoint failed; will try again");
                }
            }
        }
        // Counted even when there was nothing to copy, so that a writer waiting for a pass
        // looks again.
        wal.passes.fetch_add(1, Ordering::Relaxed);
    }
    drop(conn);
}

/// What the writer has done so far.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) commits: AtomicU64,
    pub(crate) committed_requests: AtomicU64,
    pub(crate) failed_batches: AtomicU64,
    pub(crate) writer_checkpoints: AtomicU64,
    /// Rows deleted by pruning as the store goes.
    pub(crate) swept_rows: AtomicU64,
    /// Synced requests (acknowledgements) sent to the writer that it has not taken yet: a sweep
    /// stops for them, not for the delivery bookkeeping that is always coming.
    pub(crate) acknowledgements_queued: AtomicUsize,
}

/// A request on its way to the writer, counted in [`Counters::acknowledgements_queued`] if
/// synced until [`Queued::sent`]; dropped before (the send failed, or its caller gave up while
/// the queue was full), it is taken off the count again.
pub(crate) struct Queued<'a> {
    counters: &'a Counters,
    durability: Durability,
}

impl<'a> Queued<'a> {
    pub(crate) fn new(counters: &'a Counters, durability: Durability) -> Self {
        if durability == Durability::Synced {
            counters
                .acknowledgements_queued
                .fetch_add(1, Ordering::Relaxed);
        }
        Queued {
            counters,
            durability,
        }
    }

    /// The request is in the writer's queue: the writer takes it off the count when it takes it.
    pub(crate) fn sent(self) {
        std::mem::forget(self);
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.counters.taken(self.durability);
    }
}

impl Counters {
    /// The writer took a request of `durability` from its queue.
    pub(crate) fn taken(&self, durability: Durability) {
        if durability == Durability::Synced {
            // Saturating: a request sent without `acknowledgement_queued` (tests) counts nothing.
            let _ = self.acknowledgements_queued.fetch_update(
                Ordering::Relaxed,
                Ordering::Relaxed,
                |n| n.checked_sub(1),
            );
        }
    }

    /// Whether an acknowledgement waits for the writer.
    pub(crate) fn acknowledgement_waiting(&self) -> bool {
        self.acknowledgements_queued.load(Ordering::Relaxed) > 0
    }
}

/// Runs `batch` in one transaction and answers every request; true when it committed.
fn commit_batch(
    conn: &Connection,
    batch: &mut Vec<Box<dyn WriteRequest>>,
    settles: &mut Vec<Box<dyn Settle>>,
    counters: &Counters,
    before_commit: impl FnOnce(&Connection),
) -> bool {
    if let Err(e) = exec_cached(conn, "BEGIN IMMEDIATE") {
        let error = StoreError::from(e);
        tracing::warn!(%error, requests = batch.len(), "store batch could not begin");
        counters.failed_batches.fetch_add(1, Ordering::Relaxed);
        for request in batch.drain(..) {
            request.abort(error.clone());
        }
        return false;
    }
    let mut failed: Option<StoreError> = None;
    for request in batch.drain(..) {
        if let Some(error) = &failed {
            request.abort(error.clone());
            continue;
        }
        settles.push(request.run(conn));
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (after an I/O error or a full disk): the
            // requests that ran are undone too.
            failed = Some(StoreError::unavailable(
                "the store's transaction was rolled back by the database",
            ));
        }
    }
    if failed.is_none() {
        before_commit(conn);
        if conn.is_autocommit() {
            failed = Some(StoreError::unavailable(
                "the store's transaction was rolled back by the database",
            ));
        }
    }
    let committed = match failed {
        Some(error) => Err(error),
        None => exec_cached(conn, "COMMIT").map_err(StoreError::from),
    };
    if let Err(error) = &committed {
        tracing::warn!(%error, requests = settles.len(), "store batch did not commit");
        if !conn.is_autocommit() {
            let _ = exec_cached(conn, "ROLLBACK");
        }
    }
    let ok = committed.is_ok();
    // Counted before anyone is answered, so a caller sees its own commit in the counters.
    if ok {
        counters.commits.fetch_add(1, Ordering::Relaxed);
        counters
            .committed_requests
            .fetch_add(settles.len() as u64, Ordering::Relaxed);
    } else {
        counters.failed_batches.fetch_add(1, Ordering::Relaxed);
    }
    for settle in settles.drain(..) {
        settle.settle(committed.clone());
    }
    ok
}

/// A read on the reader connection; it sends its own result.
pub(crate) type ReadRequest = Box<dyn FnOnce(&Connection) + Send>;

/// The reader thread's loop: pure reads on a second connection, which sees committed data only.
pub(crate) fn reader_loop(conn: Connection, mut requests: mpsc::Receiver<ReadRequest>) {
    while let Some(read) = requests.blocking_recv() {
        read(&conn);
    }
    tracing::debug!("stripe-chat store reader stopped");
    drop(conn);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_acknowledgement_counts_as_waiting_from_before_it_is_sent_until_the_writer_takes_it() {
        let counters = Counters::default();
        let queued = Queued::new(&counters, Durability::Synced);
        assert!(counters.acknowledgement_waiting());
        queued.sent();
        assert!(counters.acknowledgement_waiting(), "in the writer's queue");
        counters.taken(Durability::Synced);
        assert!(!counters.acknowledgement_waiting(), "taken by the writer");
    }

    #[test]
    fn an_acknowledgement_never_sent_stops_counting_and_bookkeeping_never_counts() {
        let counters = Counters::default();
        drop(Queued::new(&counters, Durability::Synced));
        assert!(!counters.acknowledgement_waiting(), "its send failed");
        Queued::new(&counters, Durability::Bookkeeping).sent();
        Queued::new(&counters, Durability::Background).sent();
        assert!(!counters.acknowledgement_waiting());
        counters.taken(Durability::Synced);
        assert_eq!(
            counters.acknowledgements_queued.load(Ordering::Relaxed),
            0,
            "a request sent without being counted takes nothing off"
        );
    }

    /// A log limit of `max_pages` whose writer has a checkpointer to ask (the receiver).
    fn with_checkpointer(
        max_pages: u64,
    ) -> (
        Arc<WalState>,
        WalLimit,
        std::sync::mpsc::Receiver<CheckpointerCall>,
    ) {
        let state = Arc::new(WalState::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let wal = WalLimit::new(Arc::clone(&state), max_pages, Some(tx));
        (state, wal, rx)
    }

    #[test]
    fn the_writer_asks_for_a_pass_and_checkpoints_once_little_is_left_to_copy() {
        let (state, mut wal, rx) = with_checkpointer(1000);
        state.record_pass(0, 800);
        state.pages.store(900, Ordering::Relaxed);
        assert_eq!(wal.next(), WalStep::Wait, "within the limit");
        state.pages.store(1200, Ordering::Relaxed);
        assert_eq!(
            wal.next(),
            WalStep::Ask,
            "over it, with most of the log to copy"
        );
        assert_eq!(wal.next(), WalStep::Wait, "the pass asked for is under way");
        state.record_pass(0, 1100);
        state.passes.fetch_add(1, Ordering::Relaxed);
        state.pages.store(1300, Ordering::Relaxed);
        assert_eq!(
            wal.next(),
            WalStep::Ask,
            "the pass left 200 frames: another"
        );
        state.record_pass(0, 1300 - WalLimit::CATCH_UP_PAGES);
        state.passes.fetch_add(1, Ordering::Relaxed);
        assert_eq!(wal.next(), WalStep::Checkpoint, "little is left");
        state.record_pass(0, 0);
        state.pages.store(2001, Ordering::Relaxed);
        assert_eq!(wal.next(), WalStep::Checkpoint, "twice the limit: at once");
        drop(rx);
    }

    #[test]
    fn the_writer_asks_for_a_pass_once_a_mebibyte_of_the_log_is_left_to_copy() {
        let (state, mut wal, rx) = with_checkpointer(100_000);
        state.record_pass(0, 1000);
        state.committed(1000 + WalLimit::PASS_PAGES - 1);
        assert_eq!(wal.next(), WalStep::Wait, "less than a pass's worth");
        state.committed(1000 + WalLimit::PASS_PAGES);
        assert_eq!(
            wal.next(),
            WalStep::Ask,
            "a pass's worth, far below the limit"
        );
        assert_eq!(wal.next(), WalStep::Wait, "the pass asked for is under way");
        state.record_pass(0, 1000 + WalLimit::PASS_PAGES);
        state.passes.fetch_add(1, Ordering::Relaxed);
        state.committed(1000 + 2 * WalLimit::PASS_PAGES - 1);
        assert_eq!(wal.next(), WalStep::Wait, "the pass copied what there was");
        state.committed(1000 + 3 * WalLimit::PASS_PAGES);
        assert_eq!(wal.next(), WalStep::Ask, "another pass's worth");
        drop(rx);
    }

    #[test]
    fn after_a_pass_that_copied_nothing_the_next_is_asked_for_once_the_log_grew_by_a_mebibyte() {
        let (state, mut wal, rx) = with_checkpointer(100_000);
        state.record_pass(0, 1000);
        state.committed(1000 + WalLimit::PASS_PAGES);
        assert_eq!(wal.next(), WalStep::Ask);
        // A reader held the pass back: nothing more was copied.
        state.passes.fetch_add(1, Ordering::Relaxed);
        state.committed(1000 + WalLimit::PASS_PAGES + 10);
        assert_eq!(wal.next(), WalStep::Wait, "the log grew by 10 frames only");
        state.committed(1000 + 2 * WalLimit::PASS_PAGES);
        assert_eq!(wal.next(), WalStep::Ask, "it grew by a pass's worth");
        // This pass copied some, not all: the next is asked for at once.
        state.record_pass(0, 1000 + WalLimit::PASS_PAGES);
        state.passes.fetch_add(1, Ordering::Relaxed);
        state.committed(1000 + 2 * WalLimit::PASS_PAGES + 10);
        assert_eq!(
            wal.next(),
            WalStep::Ask,
            "the pass made progress, a pass's worth is left"
        );
        state.passes.fetch_add(1, Ordering::Relaxed);
        state.committed(WalLimit::PASS_PAGES); // the log started over
        assert_eq!(
            wal.next(),
            WalStep::Ask,
            "a new log with a pass's worth to copy"
        );
        drop(rx);
    }

    #[test]
    fn without_a_checkpointer_the_writer_waits_for_the_limit() {
        let state = Arc::new(WalState::default());
        let mut wal = WalLimit::new(Arc::clone(&state), 100_000, None);
        state.committed(10 * WalLimit::PASS_PAGES);
        assert_eq!(wal.next(), WalStep::Wait);
    }

    #[test]
    fn a_pass_over_a_log_that_has_since_started_over_counts_for_nothing() {
        let (state, mut wal, rx) = with_checkpointer(1000);
        state.committed(1190);
        state.record_pass(0, 1190);
        state.committed(12); // the log started over
        state.committed(1200);
        assert_eq!(state.restarts.load(Ordering::Relaxed), 1);
        assert_eq!(
            wal.next(),
            WalStep::Ask,
            "1,190 frames of the old log were copied, none of this one"
        );
        drop(rx);
    }

    #[test]
    fn without_a_checkpointer_the_writer_checkpoints_as_soon_as_the_log_is_over_its_limit() {
        let state = Arc::new(WalState::default());
        let mut wal = WalLimit::new(Arc::clone(&state), 1000, None);
        state.pages.store(1001, Ordering::Relaxed);
        assert_eq!(wal.next(), WalStep::Checkpoint);
    }

    fn table() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE t (v INTEGER NOT NULL,
                 p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
             PRAGMA foreign_keys = ON;",
        )
        .unwrap();
        conn
    }

    fn insert(v: i64) -> impl FnOnce(&Connection) -> Result<i64, StoreError> + Send + 'static {
        move |conn| {
            conn.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
            Ok(v)
        }
    }

    fn values(conn: &Connection) -> Vec<i64> {
        let mut stmt = conn.prepare("SELECT v FROM t ORDER BY v").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(|v| v.unwrap())
            .collect()
    }

    #[test]
    fn a_failing_request_is_undone_alone_and_the_rest_of_its_batch_commits() {
        let conn = table();
        let (a, a_rx) = write_request(insert(1), Durability::Synced);
        let (b, b_rx) = write_request(
            |conn: &Connection| -> Result<i64, StoreError> {
                conn.execute("INSERT INTO t (v) VALUES (2)", [])?;
                Err(StoreError::invalid("refused after writing"))
            },
            Durability::Synced,
        );
        let (c, c_rx) = write_request(insert(3), Durability::Synced);
        let mut batch = vec![a, b, c];
        assert!(commit_batch(
            &conn,
            &mut batch,
            &mut Vec::new(),
            &Counters::default(),
            |_| {}
        ));
        assert_eq!(a_rx.blocking_recv().unwrap(), Ok(1));
        assert!(matches!(
            b_rx.blocking_recv().unwrap(),
            Err(StoreError::Invalid { .. })
        ));
        assert_eq!(c_rx.blocking_recv().unwrap(), Ok(3));
        assert_eq!(values(&conn), [1, 3]);
        assert!(conn.is_autocommit(), "the batch's transaction is closed");
    }

    #[test]
    fn when_the_commit_fails_every_request_of_the_batch_gets_the_error() {
        let conn = table();
        let (a, a_rx) = write_request(insert(1), Durability::Synced);
        // Violates a deferred foreign key: only COMMIT notices.
        let (b, b_rx) = write_request(
            |conn: &Connection| -> Result<i64, StoreError> {
                conn.execute("INSERT INTO t (v, p) VALUES (2, 99)", [])?;
                Ok(2)
            },
            Durability::Bookkeeping,
        );
        let mut batch = vec![a, b];
        assert!(!commit_batch(
            &conn,
            &mut batch,
            &mut Vec::new(),
            &Counters::default(),
            |_| {}
        ));
        assert!(a_rx.blocking_recv().unwrap().is_err());
        assert!(b_rx.blocking_recv().unwrap().is_err());
        assert!(values(&conn).is_empty(), "nothing of the batch was kept");
        assert!(conn.is_autocommit());
    }

    #[test]
    fn queued_requests_share_one_commit_up_to_the_batch_limit() {
        let (tx, rx) = mpsc::channel(64);
        let mut replies = Vec::new();
        for v in 0..10 {
            let (request, reply) = write_request(insert(v), Durability::Synced);
            tx.try_send(request)
                .unwrap_or_else(|_| panic!("queue full"));
            replies.push(reply);
        }
        drop(tx);
        let counters = Arc::new(Counters::default());
        writer_loop(table(), rx, 4, Arc::clone(&counters), no_wal_limit(), None);
        for (v, reply) in replies.into_iter().enumerate() {
            assert_eq!(reply.blocking_recv().unwrap(), Ok(v as i64));
        }
        assert_eq!(
            counters.commits.load(Ordering::Relaxed),
            3,
            "batches of 4, 4 and 2"
        );
        assert_eq!(counters.committed_requests.load(Ordering::Relaxed), 10);
    }

    fn count_rows() -> impl FnOnce(&Connection) -> Result<i64, StoreError> + Send + 'static {
        |conn| Ok(conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?)
    }

    fn no_wal_limit() -> WalLimit {
        WalLimit::new(Arc::default(), u64::MAX, None)
    }

    #[test]
    fn a_background_request_runs_alone_once_the_requests_queued_with_it_committed() {
        let (tx, rx) = mpsc::channel(64);
        let (background, seen) = write_request(count_rows(), Durability::Background);
        tx.try_send(background)
            .unwrap_or_else(|_| panic!("queue full"));
        let mut replies = Vec::new();
        for v in 0..3 {
            let (request, reply) = write_request(insert(v), Durability::Synced);
            tx.try_send(request)
                .unwrap_or_else(|_| panic!("queue full"));
            replies.push(reply);
        }
        drop(tx);
        let counters = Arc::new(Counters::default());
        writer_loop(table(), rx, 8, Arc::clone(&counters), no_wal_limit(), None);
        assert_eq!(
            seen.blocking_recv().unwrap(),
            Ok(3),
            "it ran after the others"
        );
        for reply in replies {
            assert!(reply.blocking_recv().unwrap().is_ok());
        }
        assert_eq!(
            counters.commits.load(Ordering::Relaxed),
            2,
            "the three in one commit, the background request in its own"
        );
    }

    #[test]
    fn a_background_request_runs_within_its_patience_when_the_writer_is_never_idle() {
        // 208 requests of 10 ms each: the writer has a queue for about two seconds.
        let slow = |v: i64| {
            write_request(
                move |conn: &Connection| -> Result<i64, StoreError> {
                    std::thread::sleep(Duration::from_millis(10));
                    insert(v)(conn)
                },
                Durability::Synced,
            )
            .0
        };
        let (tx, rx) = mpsc::channel(256);
        for v in 0..8 {
            tx.try_send(slow(v))
                .unwrap_or_else(|_| panic!("queue full"));
        }
        let (background, seen) = write_request(count_rows(), Durability::Background);
        tx.try_send(background)
            .unwrap_or_else(|_| panic!("queue full"));
        for v in 8..208 {
            tx.try_send(slow(v))
                .unwrap_or_else(|_| panic!("queue full"));
        }
        drop(tx);
        let started = Instant::now();
        let writer = std::thread::spawn(move || {
            writer_loop(table(), rx, 8, Arc::default(), no_wal_limit(), None);
        });
        let rows_before_it = seen.blocking_recv().unwrap().unwrap();
        let waited = started.elapsed();
        writer.join().unwrap();
        assert!(waited >= BACKGROUND_PATIENCE, "{waited:?}");
        assert!(
            (8..208).contains(&rows_before_it),
            "it ran while requests still waited ({rows_before_it} rows)"
        );
    }

    fn synchronous_seen(
        durability: Durability,
    ) -> (
        Box<dyn WriteRequest>,
        oneshot::Receiver<Result<i64, StoreError>>,
    ) {
        write_request(
            |conn: &Connection| -> Result<i64, StoreError> {
                Ok(conn.pragma_query_value(None, "synchronous", |r| r.get(0))?)
            },
            durability,
        )
    }

    const NORMAL: i64 = 1;
    const FULL: i64 = 2;

    /// Runs the writer over `requests` (queued before it starts) until they are done; returns its
    /// counters.
    fn run(requests: Vec<Box<dyn WriteRequest>>) -> Arc<Counters> {
        let (tx, rx) = mpsc::channel(8);
        for request in requests {
            tx.try_send(request)
                .unwrap_or_else(|_| panic!("queue full"));
        }
        drop(tx);
        let counters = Arc::new(Counters::default());
        writer_loop(table(), rx, 8, Arc::clone(&counters), no_wal_limit(), None);
        counters
    }

    #[test]
    fn bookkeeping_batches_commit_without_fsync_and_synced_ones_with() {
        let (alone, alone_rx) = synchronous_seen(Durability::Bookkeeping);
        run(vec![alone]);
        assert_eq!(alone_rx.blocking_recv().unwrap(), Ok(NORMAL));
        let (synced, synced_rx) = synchronous_seen(Durability::Synced);
        run(vec![synced]);
        assert_eq!(synced_rx.blocking_recv().unwrap(), Ok(FULL));
    }

    #[test]
    fn bookkeeping_waits_behind_acknowledgements_then_commits_without_fsync() {
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = |name: &'static str, durability| {
            let order = Arc::clone(&order);
            write_request(
                move |conn: &Connection| -> Result<i64, StoreError> {
                    order.lock().unwrap().push(name);
                    Ok(conn.pragma_query_value(None, "synchronous", |r| r.get(0))?)
                },
                durability,
            )
        };
        let (lease, lease_rx) = seen("lease", Durability::Bookkeeping);
        let (first, first_rx) = seen("ingest 1", Durability::Synced);
        let (second, second_rx) = seen("ingest 2", Durability::Synced);
        let counters = run(vec![lease, first, second]);
        assert_eq!(*order.lock().unwrap(), ["ingest 1", "ingest 2", "lease"]);
        assert_eq!(first_rx.blocking_recv().unwrap(), Ok(FULL));
        assert_eq!(second_rx.blocking_recv().unwrap(), Ok(FULL));
        assert_eq!(lease_rx.blocking_recv().unwrap(), Ok(NORMAL));
        assert_eq!(counters.commits.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn bookkeeping_that_waited_long_enough_joins_a_batch_of_acknowledgements() {
        let (lease, lease_rx) = synchronous_seen(Durability::Bookkeeping);
        std::thread::sleep(BOOKKEEPING_MAX_WAIT);
        let (ingest, ingest_rx) = synchronous_seen(Durability::Synced);
        let counters = run(vec![lease, ingest]);
        assert_eq!(counters.commits.load(Ordering::Relaxed), 1);
        assert_eq!(lease_rx.blocking_recv().unwrap(), Ok(FULL));
        assert_eq!(ingest_rx.blocking_recv().unwrap(), Ok(FULL));
    }
}

//! What keeps the file from filling the disk: counting what a prune would delete, giving freed
//! pages back to the file system (incremental vacuum), converting an older file to incremental
//! vacuum, and the readiness probe that needs real space.

use rusqlite::{Connection, params};

use crate::{Pruned, StoreError};

/// The size of the row the readiness probe writes: about what one stored event takes (its body,
/// its jobs and their index entries), so that the probe fails when an ingest would.
pub(crate) const PROBE_BYTES: i64 = 8 * 1024;

/// `PRAGMA auto_vacuum` of a file whose freed pages can be given back step by step.
pub(crate) const INCREMENTAL: i64 = 2;

fn count(n: i64) -> usize {
    usize::try_from(n.max(0)).unwrap_or(usize::MAX)
}

/// What [`ops::prune`](super::ops::prune), called until it deletes nothing, would delete with the
/// same `before`: finished jobs last changed before it (but the newest job), then the events
/// received before it whose every job is among those, and the message refs stored before it
/// whose thread's every job is among those.
pub(crate) fn prunable(conn: &Connection, before: i64) -> Result<Pruned, StoreError> {
    let (jobs, events, refs): (i64, i64, i64) = conn
        .prepare_cached(
            "WITH newest (id) AS (SELECT max(id) FROM jobs)
             SELECT
                 (SELECT count(*) FROM jobs WHERE state = 'delivered' AND updated_at < ?1)
                 + (SELECT count(*) FROM jobs WHERE state = 'superseded' AND updated_at < ?1)
                 - (SELECT count(*) FROM jobs, newest WHERE jobs.id = newest.id
                        AND jobs.state IN ('delivered', 'superseded') AND jobs.updated_at < ?1),
                 (SELECT count(*) FROM events e WHERE e.received_at < ?1
                    AND NOT EXISTS (SELECT 1 FROM jobs j, newest WHERE j.event_id = e.id
                        AND NOT (j.state IN ('delivered', 'superseded') AND j.updated_at < ?1
                                 AND j.id < newest.id))),
                 (SELECT count(*) FROM message_refs r WHERE r.updated_at < ?1
                    AND NOT EXISTS (SELECT 1 FROM jobs j, newest
                        WHERE j.destination = r.destination AND j.thread_key = r.thread_key
                        AND NOT (j.state IN ('delivered', 'superseded') AND j.updated_at < ?1
                                 AND j.id < newest.id)))",
        )?
        .query_row(params![before], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(Pruned {
        jobs: count(jobs),
        events: count(events),
        refs: count(refs),
        actions: super::actions::prunable(conn, before)?,
        unfinished: false,
    })
}

/// The database's page size in bytes.
fn page_size(conn: &Connection) -> Result<u64, StoreError> {
    let size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
    Ok(u64::try_from(size).unwrap_or(4096).max(512))
}

fn freelist_pages(conn: &Connection) -> Result<u64, StoreError> {
    let pages: i64 = conn.pragma_query_value(None, "freelist_count", |r| r.get(0))?;
    Ok(u64::try_from(pages).unwrap_or(0))
}

/// The share of the file that free pages may take before they are given back: up to it, new
/// events reuse them without growing the file, and giving them back would only move live pages
/// to the front of the file and grow it again.
const KEPT_FREE: (u64, u64) = (1, 4);

/// Gives free pages back to the file system (`PRAGMA incremental_vacuum`), up to `max_bytes`,
/// beyond a reserve of a quarter of the file kept for reuse, in the caller's transaction;
/// returns the bytes given back. Goes [`RECLAIM_STEP_PAGES`] at a time and stops early once
/// `waiting` says a request waits for the writer. Nothing on a file without incremental
/// auto-vacuum. The file shrinks when the checkpoint copies the commit into it.
pub(crate) fn reclaim(
    conn: &Connection,
    max_bytes: u64,
    waiting: impl Fn() -> bool,
) -> Result<u64, StoreError> {
    if auto_vacuum(conn)? != INCREMENTAL {
        return Ok(0);
    }
    let free = freelist_pages(conn)?;
    let total: i64 = conn.pragma_query_value(None, "page_count", |r| r.get(0))?;
    let total = u64::try_from(total).unwrap_or(0);
    // Giving back `n` pages leaves `free - n` of `total - n`: keep that within the reserve.
    let (num, den) = KEPT_FREE;
    let over = free
        .saturating_mul(den)
        .saturating_sub(total.saturating_mul(num));
    let excess = over / (den - num);
    if excess == 0 {
        return Ok(0);
    }
    let page = page_size(conn)?;
    let mut pages = (max_bytes / page).clamp(1, excess);
    while pages > 0 {
        let step = pages.min(RECLAIM_STEP_PAGES);
        // A pragma takes no bound parameter; `step` is a number computed here.
        let mut stmt = conn.prepare_cached(&format!("PRAGMA incremental_vacuum({step})"))?;
        let mut rows = stmt.query([])?;
        // One page is given back per row.
        while rows.next()?.is_some() {}
        pages -= step;
        if waiting() {
            break;
        }
    }
    let left = freelist_pages(conn)?;
    Ok(free.saturating_sub(left) * page)
}

/// Pages one step of [`reclaim`] gives back before it looks whether a request is waiting.
const RECLAIM_STEP_PAGES: u64 = 16;

/// `PRAGMA auto_vacuum`: 0 none, 1 full, 2 incremental.
pub(crate) fn auto_vacuum(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.pragma_query_value(None, "auto_vacuum", |r| r.get(0))?)
}

/// The database's size in bytes (pages × page size), without its write-ahead log.
pub(crate) fn database_bytes(conn: &Connection) -> Result<u64, StoreError> {
    let pages: i64 = conn.pragma_query_value(None, "page_count", |r| r.get(0))?;
    Ok(u64::try_from(pages).unwrap_or(0) * page_size(conn)?)
}

/// Rewrites the whole file with `VACUUM`, with incremental auto-vacuum from then on: every free
/// page is given back, and later prunes can give theirs back step by step. Needs about the
/// file's size of free disk space while it runs and holds the write lock throughout. Not in a
/// transaction.
pub(crate) fn vacuum(conn: &Connection) -> Result<(), StoreError> {
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    conn.execute_batch("VACUUM")?;
    // The rewritten file is in the write-ahead log: copy it into the database file now, which
    // truncates that file to its new size (best effort; the checkpointer does it otherwise).
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    Ok(())
}

/// The readiness probe's write: a row of [`PROBE_BYTES`], which needs as much new space as a
/// stored event. Rows of earlier probes are left alone here, so they cannot lend it their space.
pub(crate) fn probe(conn: &Connection) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO probe (filler) VALUES (zeroblob(?1))")?
        .execute(params![PROBE_BYTES])?;
    Ok(())
}

/// Removes the probe's rows once it committed.
pub(crate) fn clear_probe(conn: &Connection) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM probe")?.execute([])?;
    Ok(())
}

/// A position in an index scan that only moves forward: `(time, key)` of the last row examined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Position<K> {
    at: i64,
    key: K,
}

/// Where pruning's scans of the events and the message refs left off. They only move forward,
/// so that the rows kept before them (the events and refs of dead letters and of pending jobs)
/// are looked at once, not by every transaction: a kept row is deleted later through its jobs
/// (see [`prune`], step 2), never by a scan. A round's cursor starts over once its `before`
/// has moved a day past where the pass began (to find events stored with a receipt time behind
/// it); the sweep's never does.
#[derive(Debug, Clone, Default)]
pub(crate) struct PruneCursor {
    pass_from: Option<i64>,
    events: Position<i64>,
    refs: Position<(String, String)>,
}

/// How long a round's pass lasts before its cursor starts over, in milliseconds.
const PASS_MS: i64 = 86_400_000;

/// How many rows a scan may look at per row it may delete, in one call.
const EXAMINED_PER_ROW: usize = 16;

/// How much of the scans one call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// A round's call ([`Store::prune`](crate::Store::prune)): also the message refs left behind
    /// and the rows of acting from chat.
    Round,
    /// A sweep step in a commit of the writer: jobs and events only, one look at the events.
    Sweep,
}

/// Rows of each kind one step of a round deletes at most (see [`prune_in_steps`]).
const ROUND_STEP: usize = 16;

/// A round's call ([`Store::prune`](crate::Store::prune)): [`prune`] with [`Scope::Round`] in
/// steps of [`ROUND_STEP`] rows, up to `max` rows of each kind in all, in the caller's
/// transaction. It stops early once `waiting` says a request waits for the writer, so that an
/// acknowledgement waits for one step, not for the whole call; what it did so far is returned
/// (and committed), and the caller's next call goes on from there.
pub(crate) fn prune_in_steps(
    conn: &Connection,
    before: i64,
    max: usize,
    cursor: &mut PruneCursor,
    waiting: impl Fn() -> bool,
) -> Result<Pruned, StoreError> {
    let mut total = Pruned::default();
    let mut budget = max;
    loop {
        let step = budget.min(ROUND_STEP);
        let pruned = prune(conn, before, step, cursor, Scope::Round)?;
        budget -= step;
        total.jobs += pruned.jobs;
        total.events += pruned.events;
        total.refs += pruned.refs;
        total.actions += pruned.actions;
        total.unfinished = pruned.unfinished;
        if pruned.is_empty() || budget == 0 || waiting() {
            return Ok(total);
        }
    }
}

/// Deletes, in the caller's transaction, up to `max` rows of each kind that retention lets go
/// at `before`:
///
/// 1. the oldest finished (delivered or superseded) jobs last changed before `before`, but the
///    newest job (so that a new job never gets the id of a deleted one);
/// 2. their events, received before `before`, once no job of theirs is left, and their objects'
///    message refs, stored before `before`, once no job of the object is left (found through
///    the deleted jobs, one index lookup each);
/// 3. from the cursor on, in the order received, the events received before `before` that have
///    no job at all (routed nowhere, or whose jobs an earlier pass deleted);
/// 4. ([`Scope::Round`] only) from the cursor on, the message refs stored before `before`
///    whose object has no job left, and the rows of acting from chat
///    ([`actions::prune`](super::actions::prune)).
///
/// Pending and leased jobs and dead letters, with their events and their objects' refs, stay.
pub(crate) fn prune(
    conn: &Connection,
    before: i64,
    max: usize,
    cursor: &mut PruneCursor,
    scope: Scope,
) -> Result<Pruned, StoreError> {
    if scope == Scope::Round && cursor.pass_from.is_none_or(|from| before - from >= PASS_MS) {
        *cursor = PruneCursor {
            pass_from: Some(before),
            ..PruneCursor::default()
        };
    }
    let limit = super::ops::limit(max);
    let gone: Vec<(String, String, Option<String>)> = conn
        .prepare_cached(
            "DELETE FROM jobs WHERE id IN (
                 SELECT id FROM jobs WHERE state = 'delivered' AND updated_at < ?1
                     AND id < (SELECT max(id) FROM jobs)
                 UNION ALL
                 SELECT id FROM jobs WHERE state = 'superseded' AND updated_at < ?1
                     AND id < (SELECT max(id) FROM jobs)
                 LIMIT ?2)
             RETURNING event_id, destination, thread_key",
        )?
        .query_map(params![before, limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut pruned = Pruned {
        jobs: gone.len(),
        ..Pruned::default()
    };
    let mut events: Vec<&str> = gone.iter().map(|(event, _, _)| event.as_str()).collect();
    events.sort_unstable();
    events.dedup();
    let mut delete_event = conn.prepare_cached(
        "DELETE FROM events WHERE id = ?1 AND received_at < ?2
             AND NOT EXISTS (SELECT 1 FROM jobs WHERE event_id = ?1)",
    )?;
    for event in events {
        pruned.events += delete_event.execute(params![event, before])?;
    }
    let mut threads: Vec<(&str, &str)> = gone
        .iter()
        .filter_map(|(_, destination, thread)| Some((destination.as_str(), thread.as_deref()?)))
        .collect();
    threads.sort_unstable();
    threads.dedup();
    let mut delete_ref = conn.prepare_cached(
        "DELETE FROM message_refs WHERE destination = ?1 AND thread_key = ?2 AND updated_at < ?3
             AND NOT EXISTS (SELECT 1 FROM jobs WHERE destination = ?1 AND thread_key = ?2)",
    )?;
    for (destination, thread) in threads {
        pruned.refs += delete_ref.execute(params![destination, thread, before])?;
    }
    let examine = match scope {
        Scope::Round => max.saturating_mul(EXAMINED_PER_ROW),
        Scope::Sweep => max,
    };
    let (events, more_events) =
        jobless_events(conn, before, max, max - pruned.events, examine, cursor)?;
    pruned.events += events;
    if scope == Scope::Round {
        let (refs, more_refs) =
            orphaned_refs(conn, before, max, max - pruned.refs, examine, cursor)?;
        pruned.refs += refs;
        pruned.actions = super::actions::prune(conn, before, max)?;
        pruned.unfinished = more_events || more_refs;
    }
    Ok(pruned)
}

/// Step 3 of [`prune`]: looks at the events after the cursor, `max` at a time, deleting those
/// without a job, until it deleted `wanted`, looked at `examine` or reached the end. Returns
/// the events deleted and whether it stopped at `examine` with more to look at.
fn jobless_events(
    conn: &Connection,
    before: i64,
    max: usize,
    wanted: usize,
    examine: usize,
    cursor: &mut PruneCursor,
) -> Result<(usize, bool), StoreError> {
    let chunk = super::ops::limit(max);
    // The events after the cursor in the order of `events_received` (received_at, then rowid):
    // those received at the cursor's time after it, then those received later, each an index
    // seek (one row-value comparison would seek on the time alone, then step over every event
    // of that time already seen).
    let mut next = conn.prepare_cached(
        "SELECT c.at, c.row, NOT EXISTS (SELECT 1 FROM jobs j WHERE j.event_id = c.event)
         FROM (SELECT * FROM (SELECT received_at AS at, rowid AS row, id AS event FROM events
                              WHERE received_at = ?1 AND rowid > ?2 AND received_at < ?3
                              ORDER BY rowid LIMIT ?4)
               UNION ALL
               SELECT * FROM (SELECT received_at, rowid, id FROM events
                              WHERE received_at > ?1 AND received_at < ?3
                              ORDER BY received_at, rowid LIMIT ?4)) AS c
         LIMIT ?4",
    )?;
    let mut delete = conn.prepare_cached("DELETE FROM events WHERE rowid = ?1")?;
    scan(
        max,
        wanted,
        examine,
        &mut cursor.events,
        |from| {
            next.query_map(params![from.at, from.key, before, chunk], |r| {
                Ok((
                    Position {
                        at: r.get(0)?,
                        key: r.get(1)?,
                    },
                    r.get(2)?,
                ))
            })?
            .collect::<Result<_, _>>()
            .map_err(StoreError::from)
        },
        |row| Ok(delete.execute(params![row.key])?),
    )
}

/// Step 4 of [`prune`]: looks at the message refs after the cursor, `max` at a time, in the
/// order stored, deleting those whose object has no job left, until it deleted `wanted`,
/// looked at `examine` or reached the end. Returns the refs deleted and whether it stopped at
/// `examine` with more to look at.
fn orphaned_refs(
    conn: &Connection,
    before: i64,
    max: usize,
    wanted: usize,
    examine: usize,
    cursor: &mut PruneCursor,
) -> Result<(usize, bool), StoreError> {
    let chunk = super::ops::limit(max);
    let mut next = conn.prepare_cached(
        "SELECT c.at, c.destination, c.thread_key,
                NOT EXISTS (SELECT 1 FROM jobs j
                            WHERE j.destination = c.destination AND j.thread_key = c.thread_key)
         FROM (SELECT * FROM (SELECT updated_at AS at, destination, thread_key FROM message_refs
                              WHERE updated_at = ?1 AND (destination, thread_key) > (?2, ?3)
                                  AND updated_at < ?4
                              ORDER BY destination, thread_key LIMIT ?5)
               UNION ALL
               SELECT * FROM (SELECT updated_at, destination, thread_key FROM message_refs
                              WHERE updated_at > ?1 AND updated_at < ?4
                              ORDER BY updated_at, destination, thread_key LIMIT ?5)) AS c
         LIMIT ?5",
    )?;
    let mut delete =
        conn.prepare_cached("DELETE FROM message_refs WHERE destination = ?1 AND thread_key = ?2")?;
    scan(
        max,
        wanted,
        examine,
        &mut cursor.refs,
        |from| {
            let (destination, thread) = &from.key;
            next.query_map(params![from.at, destination, thread, before, chunk], |r| {
                let key = (r.get(1)?, r.get(2)?);
                Ok((Position { at: r.get(0)?, key }, r.get(3)?))
            })?
            .collect::<Result<_, _>>()
            .map_err(StoreError::from)
        },
        |row| Ok(delete.execute(params![row.key.0, row.key.1])?),
    )
}

/// The loop of steps 3 and 4 of [`prune`]: `fetch` returns the next `max` rows after a position
/// (fewer at the end), each with whether it may go; `delete` deletes one. Moves `position` past
/// each row it looked at, until it deleted `wanted`, looked at `examine` or reached the end.
/// Returns the rows deleted and whether it stopped at `examine` with more to look at.
fn scan<K>(
    max: usize,
    wanted: usize,
    examine: usize,
    position: &mut Position<K>,
    mut fetch: impl FnMut(&Position<K>) -> Result<Vec<(Position<K>, bool)>, StoreError>,
    mut delete: impl FnMut(&Position<K>) -> Result<usize, StoreError>,
) -> Result<(usize, bool), StoreError> {
    let (mut deleted, mut examined) = (0, 0);
    while deleted < wanted {
        if examined >= examine {
            return Ok((deleted, true));
        }
        let rows = fetch(position)?;
        let end = rows.len() < max;
        for (row, doomed) in rows {
            if doomed && deleted == wanted {
                break;
            }
            if doomed {
                deleted += delete(&row)?;
            }
            examined += 1;
            *position = row;
        }
        if end {
            break;
        }
    }
    Ok((deleted, false))
}

/// Pruning as the store goes ([`SqliteOptions::prune_as_it_goes`](super::SqliteOptions)): the
/// writer's share of the retention work, spread over its commits so that no request waits for
/// a long delete. Each event stored adds [`Sweeper::PER_EVENT`] rows of each kind to what is
/// owed. Once [`Sweeper::START`] are owed, the next commit that acknowledges nothing pays, a
/// step ([`Sweeper::STEP`]) at a time, until nothing is owed or an acknowledgement is waiting
/// for the writer; a sweep stopped that way goes on in the next commit that acknowledges
/// nothing. Once [`Sweeper::MAX_OWED`] are owed, any commit pays a step.
#[derive(Debug)]
pub(crate) struct Sweeper {
    keep: std::time::Duration,
    owed: usize,
    /// A sweep stopped for an acknowledgement with steps left to pay.
    stopped: bool,
    cursor: PruneCursor,
}

impl Sweeper {
    /// Rows of each kind owed per event stored: more than one, so that the sweep also catches
    /// up with what a pause of the load or a restart left behind.
    pub(crate) const PER_EVENT: usize = 2;

    /// Rows of each kind one step deletes at most: a step takes tens of microseconds, so a
    /// request that arrives during a sweep waits for one step, not for the whole debt.
    pub(crate) const STEP: usize = 8;

    /// What is owed before a commit that acknowledges nothing starts paying: enough that the
    /// pages every step touches (the oldest leaves of the tables and indexes, the free-page
    /// list) are written once for many steps, and that few commits carry a sweep for the next
    /// acknowledgement's fsync to flush. At 1,000 events/s, pruning with sweeps of up to 128
    /// events (256 owed) made the process write 15–17% more to the disk than without pruning,
    /// with sweeps of about 16 events 24% more (see docs/performance.md).
    pub(crate) const START: usize = 256;

    /// The most that is owed: what a commit of webhooks pays a step of, once reached.
    pub(crate) const MAX_OWED: usize = 512;

    pub(crate) fn new(keep: std::time::Duration) -> Self {
        Sweeper {
            keep,
            owed: 0,
            stopped: false,
            cursor: PruneCursor::default(),
        }
    }

    /// `events` were stored in the batch about to be committed.
    pub(crate) fn owe(&mut self, events: usize) {
        self.owed = self
            .owed
            .saturating_add(events.saturating_mul(Self::PER_EVENT))
            .min(Self::MAX_OWED);
    }

    /// Whether the batch about to be committed pays: one that acknowledges nothing (`synced`
    /// false) once [`Sweeper::START`] is owed or a sweep stopped for an acknowledgement, any
    /// once [`Sweeper::MAX_OWED`] is.
    pub(crate) fn due(&self, synced: bool) -> bool {
        if synced {
            self.owed >= Self::MAX_OWED
        } else {
            self.owed >= Self::START || (self.stopped && self.owed >= Self::STEP)
        }
    }

    /// Pays in the caller's transaction: one step for a batch that acknowledges something
    /// (`synced`), otherwise steps until nothing is owed or `waiting` says an acknowledgement
    /// is (then the next batch that acknowledges nothing goes on). Each step runs in its own
    /// savepoint; a failure undoes that step only (what it would have deleted is left to later
    /// steps and rounds). Returns the rows deleted.
    pub(crate) fn pay(
        &mut self,
        conn: &Connection,
        synced: bool,
        waiting: impl Fn() -> bool,
    ) -> usize {
        let before = std::time::SystemTime::now()
            .checked_sub(self.keep)
            .map_or(0, crate::time::to_ms);
        let mut rows = 0;
        self.stopped = false;
        while self.owed >= Self::STEP {
            self.owed -= Self::STEP;
            let mut cursor = self.cursor.clone();
            let step = super::threads::in_savepoint(conn, |conn| {
                prune(conn, before, Self::STEP, &mut cursor, Scope::Sweep)
            });
            match step {
                Ok(pruned) => {
                    self.cursor = cursor;
                    rows += pruned.jobs + pruned.events + pruned.refs;
                    if pruned.jobs + pruned.events == 0 {
                        // Nothing has expired: what is owed is paid.
                        self.owed = 0;
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, "store sweep failed; will try again");
                    break;
                }
            }
            if synced {
                break;
            }
            if waiting() {
                self.stopped = true;
                break;
            }
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, params};

    use super::{PruneCursor, ROUND_STEP, Sweeper, prune_in_steps, reclaim};

    /// A migrated store in memory with `expired` events delivered long ago (one job each) and
    /// one new event with a pending job (pruning always keeps the newest job).
    fn store_with_expired(expired: usize) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        for i in 0..expired {
            conn.execute(
                "INSERT INTO events (id, type, created, livemode, received_at, raw)
                 VALUES (?1, 'invoice.paid', 0, 0, 1000, '{}')",
                params![format!("evt_{i}")],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO jobs (event_id, destination, thread_key, state, not_before,
                                   created_at, updated_at)
                 VALUES (?1, 'slack', ?1, 'delivered', 0, 1000, 1000)",
                params![format!("evt_{i}")],
            )
            .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO events (id, type, created, livemode, received_at, raw)
                 VALUES ('evt_new', 'invoice.paid', 0, 0, 9000000000000, '{}');
             INSERT INTO jobs (event_id, destination, state, not_before, created_at, updated_at)
                 VALUES ('evt_new', 'slack', 'pending', 0, 9000000000000, 9000000000000);",
        )
        .unwrap();
        conn
    }

    fn count(conn: &Connection, table: &str) -> usize {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap() as usize
    }

    #[test]
    fn a_round_stops_after_one_step_when_a_request_waits_and_goes_on_where_it_stopped() {
        let conn = store_with_expired(40);
        let mut cursor = PruneCursor::default();
        let first = prune_in_steps(&conn, 2000, 64, &mut cursor, || true).unwrap();
        assert_eq!((first.jobs, first.events), (ROUND_STEP, ROUND_STEP));
        assert!(!first.is_empty(), "the caller is told to go on");
        let second = prune_in_steps(&conn, 2000, 64, &mut cursor, || false).unwrap();
        assert_eq!(
            (second.jobs, second.events),
            (40 - ROUND_STEP, 40 - ROUND_STEP)
        );
        assert!(
            prune_in_steps(&conn, 2000, 64, &mut cursor, || false)
                .unwrap()
                .is_empty()
        );
        assert_eq!((count(&conn, "jobs"), count(&conn, "events")), (1, 1));
    }

    #[test]
    fn a_round_without_requests_waiting_deletes_up_to_its_limit_in_steps() {
        let conn = store_with_expired(40);
        let mut cursor = PruneCursor::default();
        let pruned = prune_in_steps(&conn, 2000, 20, &mut cursor, || false).unwrap();
        assert_eq!((pruned.jobs, pruned.events), (20, 20));
    }

    #[test]
    fn a_sweep_pays_one_step_while_requests_wait_and_its_whole_debt_otherwise() {
        let conn = store_with_expired(40);
        let mut sweeper = Sweeper::new(std::time::Duration::from_secs(1));
        sweeper.owe(Sweeper::MAX_OWED);
        let step = 2 * Sweeper::STEP; // a job and its event per row of each kind
        assert_eq!(sweeper.pay(&conn, false, || true), step, "a request waits");
        assert_eq!(
            sweeper.pay(&conn, true, || false),
            step,
            "a commit of webhooks"
        );
        assert_eq!(sweeper.owed, Sweeper::MAX_OWED - 2 * Sweeper::STEP);
        assert_eq!(
            sweeper.pay(&conn, false, || false),
            2 * (40 - 2 * Sweeper::STEP),
            "the rest, step by step"
        );
        assert_eq!(sweeper.owed, 0, "nothing left to delete: nothing owed");
        assert_eq!((count(&conn, "jobs"), count(&conn, "events")), (1, 1));
    }

    #[test]
    fn a_sweep_stopped_for_an_acknowledgement_goes_on_in_the_next_commit_without_one() {
        let conn = store_with_expired(40);
        let mut sweeper = Sweeper::new(std::time::Duration::from_secs(1));
        sweeper.owe(Sweeper::START / Sweeper::PER_EVENT);
        assert!(sweeper.due(false));
        assert_eq!(sweeper.pay(&conn, false, || true), 2 * Sweeper::STEP);
        assert!(
            sweeper.owed < Sweeper::START && sweeper.due(false),
            "less than a start is owed, but the sweep was stopped, not done"
        );
        assert!(
            !sweeper.due(true),
            "a commit of webhooks still does not pay"
        );
        assert_eq!(
            sweeper.pay(&conn, false, || false),
            2 * (40 - Sweeper::STEP),
            "the rest"
        );
        assert!(
            !sweeper.due(false),
            "nothing left to delete: the sweep is done"
        );
    }

    #[test]
    fn giving_space_back_stops_after_one_step_when_a_request_waits() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "PRAGMA auto_vacuum = INCREMENTAL;
             CREATE TABLE filler (b BLOB NOT NULL);",
        )
        .unwrap();
        for _ in 0..200 {
            conn.execute("INSERT INTO filler (b) VALUES (zeroblob(4000))", [])
                .unwrap();
        }
        conn.execute("DELETE FROM filler", []).unwrap();
        let page = 4096;
        assert_eq!(
            reclaim(&conn, 1 << 20, || true).unwrap(),
            super::RECLAIM_STEP_PAGES * page
        );
        let rest = reclaim(&conn, 1 << 20, || false).unwrap();
        assert!(
            rest > super::RECLAIM_STEP_PAGES * page,
            "without requests waiting it goes on: {rest} bytes"
        );
    }

    #[test]
    fn a_sweeper_pays_in_commits_without_acknowledgements_until_it_owes_its_most() {
        let mut sweeper = Sweeper::new(std::time::Duration::from_secs(60));
        sweeper.owe(Sweeper::START / Sweeper::PER_EVENT - 1);
        assert!(!sweeper.due(false), "less than a start is owed");
        sweeper.owe(1);
        assert!(
            sweeper.due(false),
            "enough is owed: a commit without webhooks pays"
        );
        assert!(!sweeper.due(true), "a commit of webhooks does not, yet");
        sweeper.owe(Sweeper::MAX_OWED / Sweeper::PER_EVENT);
        assert!(sweeper.due(true), "the most is owed: any commit pays");
        sweeper.owe(1_000_000);
        assert_eq!(sweeper.owed, Sweeper::MAX_OWED, "the debt is capped");
    }
}

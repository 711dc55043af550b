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
/// returns the bytes given back. Nothing on a file without incremental auto-vacuum. The file
/// shrinks when the checkpoint copies the commit into it.
pub(crate) fn reclaim(conn: &Connection, max_bytes: u64) -> Result<u64, StoreError> {
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
    let pages = (max_bytes / page).clamp(1, excess);
    // A pragma takes no bound parameter; `pages` is a number computed here.
    let mut stmt = conn.prepare(&format!("PRAGMA incremental_vacuum({pages})"))?;
    let mut rows = stmt.query([])?;
    // One page is given back per step.
    while rows.next()?.is_some() {}
    drop(rows);
    let left = freelist_pages(conn)?;
    Ok(free.saturating_sub(left) * page)
}

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

//! The store's operations as SQL on one connection. The writer runs the mutating ones inside a
//! batch transaction (each in its own savepoint); the reader runs the pure reads.

use rusqlite::{Connection, OptionalExtension, Row, params};
use stripe_chat_message::MessageRef;

use super::threads::in_savepoint;
use crate::lease::{self, Candidate, Chosen};
use crate::time::{clip_error, from_ms, now_ms, to_ms};
use crate::{
    AuditCheckpointRow, AuditRow, Backlog, Delivered, DigestBatch, DigestMember, DlqTarget,
    Ingested, JobId, JobInfo, JobState, LeaseFilter, LeaseToken, LeasedJob, NewEvent, NewJob,
    Outcome, RefUpdate, Stats, StoreError, StoredEvent, StoredRef,
};

pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn attempts(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

fn state(text: &str) -> Result<JobState, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt {
        reason: "a job has an unknown state".into(),
    })
}

const INSERT_JOB: &str = "INSERT INTO jobs
        (event_id, destination, thread_key, digest_key, state, not_before, created_at, updated_at)
    VALUES (?1, ?2, ?3, ?6, 'pending', ?4, ?7, ?5)";

pub(crate) fn ingest(
    conn: &Connection,
    event: &NewEvent,
    jobs: &[NewJob],
) -> Result<Ingested, StoreError> {
    let received = to_ms(event.received_at);
    let inserted = conn
        .prepare_cached(
            "INSERT INTO events (id, type, created, livemode, account, received_at, raw)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            event.id,
            event.event_type,
            event.created,
            event.livemode,
            event.account,
            received,
            event.raw,
        ])?;
    if inserted == 0 {
        return Ok(Ingested {
            duplicate: true,
            jobs_created: 0,
        });
    }
    let now = now_ms();
    let mut insert = conn.prepare_cached(INSERT_JOB)?;
    let mut created = 0;
    for (i, job) in jobs.iter().enumerate() {
        // The event is new, so only a destination named twice could conflict; skip it here
        // rather than let the insert fail (a failed insert still uses up a job id).
        if jobs[..i].iter().any(|j| j.destination == job.destination) {
            continue;
        }
        let due = job.not_before.map_or(received, to_ms);
        created += insert.execute(params![
            event.id,
            job.destination,
            job.thread_key,
            due,
            now,
            job.digest,
            received
        ])?;
    }
    Ok(Ingested {
        duplicate: false,
        jobs_created: created,
    })
}

/// The oldest due pending job of `(destination ?1, thread key ?2)` at ?3: by event time, then id.
pub(crate) const OLDEST_DUE: &str = "SELECT j.id FROM jobs j JOIN events e ON e.id = j.event_id
    WHERE j.destination = ?1 AND j.thread_key = ?2 AND j.state = 'pending' AND j.not_before <= ?3
    ORDER BY e.created, j.id LIMIT 1";

/// The unfinished jobs of `(destination ?1, thread key ?2)` other than job ?3.
pub(crate) const OTHERS_QUEUED: &str = "SELECT count(*) FROM jobs
    WHERE destination = ?1 AND thread_key = ?2 AND state IN ('pending', 'leased') AND id != ?3";

pub(crate) fn lease(
    conn: &Connection,
    worker: &str,
    max: usize,
    lease_ms: i64,
    now: i64,
    filter: &LeaseFilter,
) -> Result<Vec<LeasedJob>, StoreError> {
    let wall = now_ms();
    conn.prepare_cached(
        "UPDATE jobs SET state = 'pending', not_before = lease_until, lease_owner = NULL,
             lease_until = NULL, last_error = ?2, updated_at = ?3
         WHERE state = 'leased' AND lease_until <= ?1",
    )?
    .execute(params![now, crate::LEASE_EXPIRED, wall])?;
    if max == 0 {
        return Ok(Vec::new());
    }
    let candidate = |r: &Row<'_>| {
        Ok(Candidate {
            id: r.get(0)?,
            destination: r.get(1)?,
            thread_key: r.get(2)?,
            digest: r.get(3)?,
        })
    };
    let scan = limit(lease::scan_limit(max));
    let candidates: Vec<Candidate> = if filter.is_all() {
        conn.prepare_cached(
            "SELECT id, destination, thread_key, digest_key FROM jobs
             WHERE state = 'pending' AND not_before <= ?1 ORDER BY not_before, id LIMIT ?2",
        )?
        .query_map(params![now, scan], candidate)?
        .collect::<Result<_, _>>()?
    } else {
        let skipped = serde_json::to_string(filter.skipped())
            .map_err(|e| StoreError::internal(format!("cannot encode a lease filter: {e}")))?;
        conn.prepare_cached(
            "SELECT id, destination, thread_key, digest_key FROM jobs
             WHERE state = 'pending' AND not_before <= ?1
               AND (?3 IS NULL OR destination = ?3)
               AND destination NOT IN (SELECT value FROM json_each(?4))
             ORDER BY not_before, id LIMIT ?2",
        )?
        .query_map(
            params![now, scan, filter.only_destination(), skipped],
            candidate,
        )?
        .collect::<Result<_, _>>()?
    };
    let chosen = lease::choose(
        &candidates,
        max,
        |destination, key| {
            conn.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM jobs
                 WHERE destination = ?1 AND thread_key = ?2 AND state = 'leased')",
            )?
            .query_row(params![destination, key], |r| r.get::<_, bool>(0))
            .map_err(StoreError::from)
        },
        |destination, key| {
            conn.prepare_cached(OLDEST_DUE)?
                .query_row(params![destination, key, now], |r| r.get::<_, i64>(0))
                .optional()
                .map_err(StoreError::from)
        },
        |destination, key| {
            conn.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM jobs
                 WHERE destination = ?1 AND digest_key = ?2 AND state = 'leased')",
            )?
            .query_row(params![destination, key], |r| r.get::<_, bool>(0))
            .map_err(StoreError::from)
        },
    )?;
    let until = now.saturating_add(lease_ms);
    let mut take_stmt = conn.prepare_cached(
        "UPDATE jobs SET state = 'leased', attempts = attempts + 1, lease_owner = ?2,
             lease_token = lease_token + 1, lease_until = ?3, updated_at = ?4
         WHERE id = ?1 AND state = 'pending'
         RETURNING event_id, destination, thread_key, attempts, lease_token, created_at",
    )?;
    let mut leased = Vec::with_capacity(chosen.len());
    for choice in chosen {
        let (id, batch) = match choice {
            Chosen::Job(id) => (id, None),
            Chosen::Digest { destination, key } => {
                let members: Vec<i64> = conn
                    .prepare_cached(
                        "SELECT id FROM jobs
                         WHERE destination = ?1 AND digest_key = ?2 AND state = 'pending'
                           AND not_before <= ?3
                         ORDER BY id LIMIT ?4",
                    )?
                    .query_map(
                        params![destination, key, now, limit(DigestBatch::MAX_JOBS)],
                        |r| r.get::<_, i64>(0),
                    )?
                    .collect::<Result<_, _>>()?;
                let mut jobs = Vec::with_capacity(members.len());
                for member in members {
                    let Some(taken) = take(&mut take_stmt, member, worker, until, wall)? else {
                        continue;
                    };
                    let event = event(conn, &taken.event_id)?
                        .ok_or_else(|| StoreError::internal("a job's event is missing"))?;
                    jobs.push(DigestMember {
                        job_id: JobId(member),
                        token: LeaseToken(taken.token),
                        event,
                    });
                }
                let Some(first) = jobs.first() else {
                    continue;
                };
                (first.job_id.0, Some(DigestBatch { key, jobs }))
            }
        };
        let taken = match &batch {
            Some(_) => conn
                .prepare_cached(
                    "SELECT event_id, destination, thread_key, attempts, lease_token, created_at
                     FROM jobs WHERE id = ?1",
                )?
                .query_row(params![id], taken_row)
                .optional()?,
            None => take(&mut take_stmt, id, worker, until, wall)?,
        };
        let Some(taken) = taken else {
            continue;
        };
        let event = event(conn, &taken.event_id)?
            .ok_or_else(|| StoreError::internal("a job's event is missing"))?;
        let (current_ref, others_queued) = match (&batch, &taken.thread_key) {
            (None, Some(key)) => (
                message_ref(conn, &taken.destination, key)?,
                conn.prepare_cached(OTHERS_QUEUED)?
                    .query_row(params![taken.destination, key, id], |r| r.get::<_, i64>(0))?,
            ),
            _ => (None, 0),
        };
        leased.push(LeasedJob {
            job_id: JobId(id),
            token: LeaseToken(taken.token),
            destination: taken.destination,
            thread_key: taken.thread_key,
            attempt: attempts(taken.attempts),
            lease_until: from_ms(until),
            queued_at: from_ms(taken.queued_at),
            event,
            current_ref,
            others_queued: usize::try_from(others_queued).unwrap_or(0),
            digest: batch,
        });
    }
    Ok(leased)
}

/// A job just leased, as `UPDATE … RETURNING` reports it.
struct Taken {
    event_id: String,
    destination: String,
    thread_key: Option<String>,
    attempts: i64,
    token: i64,
    queued_at: i64,
}

fn taken_row(r: &Row<'_>) -> rusqlite::Result<Taken> {
    Ok(Taken {
        event_id: r.get(0)?,
        destination: r.get(1)?,
        thread_key: r.get(2)?,
        attempts: r.get(3)?,
        token: r.get(4)?,
        queued_at: r.get(5)?,
    })
}

/// Leases pending job `id` with the prepared `take` statement; `None` when it is not pending.
fn take(
    stmt: &mut rusqlite::CachedStatement<'_>,
    id: i64,
    worker: &str,
    until: i64,
    wall: i64,
) -> Result<Option<Taken>, StoreError> {
    Ok(stmt
        .query_row(params![id, worker, until, wall], taken_row)
        .optional()?)
}

/// Runs `sql` (bound by `run` for each job and token) on every job of `held` (the lease's own
/// job first, then the rest of its digest batch), failing with [`StoreError::LeaseLost`] for the
/// lease's job unless the lease holds them all.
fn settle_held(
    conn: &Connection,
    held: &[(JobId, LeaseToken)],
    sql: &str,
    run: impl Fn(&mut rusqlite::CachedStatement<'_>, JobId, LeaseToken) -> rusqlite::Result<usize>,
) -> Result<(), StoreError> {
    let Some((own, _)) = held.first() else {
        return Err(StoreError::internal("an outcome names no job"));
    };
    let mut stmt = conn.prepare_cached(sql)?;
    for (id, token) in held {
        if run(&mut stmt, *id, *token)? == 0 {
            // The savepoint around this request undoes the jobs already marked.
            return Err(StoreError::LeaseLost { job_id: *own });
        }
    }
    Ok(())
}

pub(crate) fn complete(
    conn: &Connection,
    held: &[(JobId, LeaseToken)],
    delivered: &Delivered,
) -> Result<RefUpdate, StoreError> {
    let now = now_ms();
    settle_held(
        conn,
        held,
        "UPDATE jobs SET state = 'delivered', lease_owner = NULL, lease_until = NULL,
             updated_at = ?3
         WHERE id = ?1 AND state = 'leased' AND lease_token = ?2",
        |stmt, id, token| stmt.execute(params![id.0, token.0, now]),
    )?;
    let Some((job, _)) = held.first() else {
        return Err(StoreError::internal("an outcome names no job"));
    };
    let (event_id, destination) = conn
        .prepare_cached("SELECT event_id, destination FROM jobs WHERE id = ?1")?
        .query_row(params![job.0], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
    let (Some(sent), Some(key)) = (&delivered.message_ref, &delivered.thread_key) else {
        return Ok(RefUpdate::NotStored);
    };
    let json = serde_json::to_string(sent)
        .map_err(|e| StoreError::internal(format!("cannot encode a message ref: {e}")))?;
    // Conditional upsert: a ref only moves to an event that is not older than the one it shows.
    let stored = conn
        .prepare_cached(
            "INSERT INTO message_refs (destination, thread_key, ref_json, event_created, event_id, updated_at)
             SELECT ?1, ?2, ?3, created, id, ?5 FROM events WHERE id = ?4
             ON CONFLICT (destination, thread_key) DO UPDATE SET
                 ref_json = excluded.ref_json, event_created = excluded.event_created,
                 event_id = excluded.event_id, updated_at = excluded.updated_at
             WHERE excluded.event_created >= message_refs.event_created",
        )?
        .execute(params![destination, key, json, event_id, now])?;
    if stored > 0 {
        return Ok(RefUpdate::Stored);
    }
    match message_ref(conn, &destination, key)? {
        Some(current) => Ok(RefUpdate::KeptNewer(current)),
        None => Err(StoreError::internal("a delivered job's event is missing")),
    }
}

/// Records each of `outcomes` (the jobs its lease holds, and what became of them) in its own
/// savepoint, so that one refused outcome leaves the others recorded.
pub(crate) fn settle(
    conn: &Connection,
    outcomes: &[(Vec<(JobId, LeaseToken)>, Outcome)],
) -> Vec<Result<RefUpdate, StoreError>> {
    outcomes
        .iter()
        .map(|(held, outcome)| {
            if conn.is_autocommit() {
                // SQLite rolled the batch's transaction back (an I/O error, a full disk): the
                // batch fails as a whole, and nothing may run outside it.
                return Err(StoreError::unavailable(
                    "the store's transaction was rolled back by the database",
                ));
            }
            in_savepoint(conn, |conn| match outcome {
                Outcome::Complete(delivered) => complete(conn, held, delivered),
                Outcome::Retry { at, error } => {
                    fail(conn, held, &Failure::Retry { at: to_ms(*at) }, error)
                        .map(|()| RefUpdate::NotStored)
                }
                Outcome::Defer { at } => {
                    defer(conn, held, to_ms(*at)).map(|()| RefUpdate::NotStored)
                }
                Outcome::DeadLetter { error } => {
                    fail(conn, held, &Failure::Dead, error).map(|()| RefUpdate::NotStored)
                }
            })
        })
        .collect()
}

/// What a worker's failed delivery leads to.
pub(crate) enum Failure {
    Retry { at: i64 },
    Dead,
}

pub(crate) fn fail(
    conn: &Connection,
    held: &[(JobId, LeaseToken)],
    failure: &Failure,
    error: &str,
) -> Result<(), StoreError> {
    let (error, now) = (clip_error(error), now_ms());
    match failure {
        Failure::Retry { at } => settle_held(
            conn,
            held,
            "UPDATE jobs SET state = 'pending', not_before = ?4, lease_owner = NULL,
                 lease_until = NULL, last_error = ?5, updated_at = ?3
             WHERE id = ?1 AND state = 'leased' AND lease_token = ?2",
            |stmt, id, token| stmt.execute(params![id.0, token.0, now, at, error]),
        ),
        Failure::Dead => settle_held(
            conn,
            held,
            "UPDATE jobs SET state = 'dead', lease_owner = NULL, lease_until = NULL,
                 last_error = ?4, updated_at = ?3
             WHERE id = ?1 AND state = 'leased' AND lease_token = ?2",
            |stmt, id, token| stmt.execute(params![id.0, token.0, now, error]),
        ),
    }
}

/// Puts the jobs of `held` back, due at `at`, giving back the attempt their lease counted.
pub(crate) fn defer(
    conn: &Connection,
    held: &[(JobId, LeaseToken)],
    at: i64,
) -> Result<(), StoreError> {
    let now = now_ms();
    settle_held(
        conn,
        held,
        "UPDATE jobs SET state = 'pending', not_before = ?4, lease_owner = NULL,
             lease_until = NULL, attempts = max(attempts - 1, 0), updated_at = ?3
         WHERE id = ?1 AND state = 'leased' AND lease_token = ?2",
        |stmt, id, token| stmt.execute(params![id.0, token.0, now, at]),
    )
}

/// The pending and leased jobs per destination.
pub(crate) fn backlog(conn: &Connection) -> Result<Vec<Backlog>, StoreError> {
    let rows = conn
        .prepare_cached(
            "SELECT destination, count(*), min(created_at) FROM jobs
             WHERE state IN ('pending', 'leased') GROUP BY destination ORDER BY destination",
        )?
        .query_map([], |r| {
            Ok(Backlog {
                destination: r.get(0)?,
                queued: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                oldest_queued_at: r.get::<_, Option<i64>>(2)?.map(from_ms),
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub(crate) fn message_ref(
    conn: &Connection,
    destination: &str,
    thread_key: &str,
) -> Result<Option<StoredRef>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT ref_json, event_created, event_id FROM message_refs
             WHERE destination = ?1 AND thread_key = ?2",
        )?
        .query_row(params![destination, thread_key], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .optional()?;
    let Some((json, event_created, event_id)) = row else {
        return Ok(None);
    };
    let message_ref: MessageRef = serde_json::from_str(&json).map_err(|_| StoreError::Corrupt {
        reason: "a stored message ref is not valid".into(),
    })?;
    Ok(Some(StoredRef {
        message_ref,
        event_created,
        event_id,
    }))
}

/// Selects what [`job_info`] reads: a job and its event.
macro_rules! select_job_info {
    () => {
        "SELECT j.id, j.event_id, e.type, e.created, j.destination, j.thread_key,
            j.state, j.attempts, j.not_before, j.last_error, j.updated_at, j.digest_key
        FROM jobs j JOIN events e ON e.id = j.event_id"
    };
}

/// The unfinished jobs of `(destination ?1, thread key ?2)`, oldest event first.
pub(crate) const QUEUED_JOBS: &str = concat!(
    select_job_info!(),
    " WHERE j.destination = ?1 AND j.thread_key = ?2
        AND j.state IN ('pending', 'leased') ORDER BY e.created, j.id"
);

/// The dead jobs, in id order, at most ?1.
const DEAD_JOBS: &str = concat!(
    select_job_info!(),
    " WHERE j.state = 'dead' ORDER BY j.id LIMIT ?1"
);

fn job_info(r: &Row<'_>) -> rusqlite::Result<(JobInfo, String)> {
    Ok((
        JobInfo {
            id: JobId(r.get(0)?),
            event_id: r.get(1)?,
            event_type: r.get(2)?,
            event_created: r.get(3)?,
            destination: r.get(4)?,
            thread_key: r.get(5)?,
            digest: r.get(11)?,
            state: JobState::Pending,
            attempts: attempts(r.get(7)?),
            not_before: from_ms(r.get(8)?),
            last_error: r.get(9)?,
            updated_at: from_ms(r.get(10)?),
        },
        r.get(6)?,
    ))
}

fn job_infos(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<JobInfo>, StoreError> {
    let rows: Vec<(JobInfo, String)> = conn
        .prepare_cached(sql)?
        .query_map(params, job_info)?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(mut info, text)| {
            info.state = state(&text)?;
            Ok(info)
        })
        .collect()
}

pub(crate) fn queued_jobs(
    conn: &Connection,
    destination: &str,
    thread_key: &str,
) -> Result<Vec<JobInfo>, StoreError> {
    job_infos(conn, QUEUED_JOBS, params![destination, thread_key])
}

/// The jobs of the `?1` events received last, newest job first.
const RECENT_JOBS: &str = concat!(
    select_job_info!(),
    " WHERE j.event_id IN (SELECT id FROM events ORDER BY received_at DESC LIMIT ?1)
        ORDER BY j.id DESC"
);

pub(crate) fn recent_jobs(conn: &Connection, events: usize) -> Result<Vec<JobInfo>, StoreError> {
    job_infos(conn, RECENT_JOBS, params![limit(events)])
}

pub(crate) fn dlq_list(conn: &Connection, max: usize) -> Result<Vec<JobInfo>, StoreError> {
    job_infos(conn, DEAD_JOBS, params![limit(max)])
}

pub(crate) fn supersede(conn: &Connection, job: JobId, reason: &str) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE jobs SET state = 'superseded', last_error = ?2, updated_at = ?3
             WHERE id = ?1 AND state = 'pending'",
        )?
        .execute(params![job.0, clip_error(reason), now_ms()])?;
    Ok(changed > 0)
}

pub(crate) fn dlq_retry(
    conn: &Connection,
    target: DlqTarget,
    now: i64,
) -> Result<usize, StoreError> {
    let changed = match target {
        DlqTarget::All => conn
            .prepare_cached(
                "UPDATE jobs SET state = 'pending', attempts = 0, not_before = ?1, updated_at = ?2,
                     created_at = ?1
                 WHERE state = 'dead'",
            )?
            .execute(params![now, now_ms()])?,
        // Retrying one job of a digest retries its whole digest: they were given up on together.
        DlqTarget::Job(job) => conn
            .prepare_cached(
                "UPDATE jobs SET state = 'pending', attempts = 0, not_before = ?1, updated_at = ?2,
                     created_at = ?1
                 WHERE state = 'dead' AND (id = ?3 OR id IN (
                     SELECT o.id FROM jobs d JOIN jobs o
                         ON o.destination = d.destination AND o.digest_key = d.digest_key
                     WHERE d.id = ?3 AND d.state = 'dead' AND d.digest_key IS NOT NULL))",
            )?
            .execute(params![now, now_ms(), job.0])?,
    };
    Ok(changed)
}

pub(crate) fn replay(
    conn: &Connection,
    event_id: &str,
    jobs: &[NewJob],
    now: i64,
) -> Result<usize, StoreError> {
    let known = conn
        .prepare_cached("SELECT 1 FROM events WHERE id = ?1")?
        .query_row([event_id], |_| Ok(()))
        .optional()?;
    if known.is_none() {
        return Err(StoreError::NotFound {
            what: "event",
            id: event_id.to_owned(),
        });
    }
    let wall = now_ms();
    if jobs.is_empty() {
        return Ok(conn
            .prepare_cached(
                "UPDATE jobs SET state = 'pending', attempts = 0, not_before = ?2, updated_at = ?3,
                     created_at = ?2
                 WHERE event_id = ?1 AND state IN ('delivered', 'dead', 'superseded')",
            )?
            .execute(params![event_id, now, wall])?);
    }
    let mut current =
        conn.prepare_cached("SELECT id FROM jobs WHERE event_id = ?1 AND destination = ?2")?;
    let mut requeue = conn.prepare_cached(
        "UPDATE jobs SET state = 'pending', attempts = 0, thread_key = ?2, not_before = ?3,
             updated_at = ?4, created_at = ?6, digest_key = ?5
         WHERE id = ?1 AND state IN ('delivered', 'dead', 'superseded')",
    )?;
    let mut insert = conn.prepare_cached(INSERT_JOB)?;
    let mut count = 0;
    for job in jobs {
        let due = job.not_before.map_or(now, to_ms);
        let existing = current
            .query_row(params![event_id, job.destination], |r| r.get::<_, i64>(0))
            .optional()?;
        count += match existing {
            Some(id) => requeue.execute(params![id, job.thread_key, due, wall, job.digest, now])?,
            None => insert.execute(params![
                event_id,
                job.destination,
                job.thread_key,
                due,
                wall,
                job.digest,
                now
            ])?,
        };
    }
    Ok(count)
}

pub(crate) fn event(conn: &Connection, event_id: &str) -> Result<Option<StoredEvent>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, type, created, livemode, account, raw, received_at FROM events WHERE id = ?1",
        )?
        .query_row([event_id], |r| {
            Ok(StoredEvent {
                id: r.get(0)?,
                event_type: r.get(1)?,
                created: r.get(2)?,
                livemode: r.get(3)?,
                account: r.get(4)?,
                raw: r.get(5)?,
                received_at: from_ms(r.get(6)?),
            })
        })
        .optional()?)
}

pub(crate) fn stats(conn: &Connection) -> Result<Stats, StoreError> {
    // Each count reads its state's partial index only.
    let counts = conn
        .prepare_cached(
            "SELECT (SELECT count(*) FROM jobs WHERE state = 'pending'),
                    (SELECT count(*) FROM jobs WHERE state = 'leased'),
                    (SELECT count(*) FROM jobs WHERE state = 'dead'),
                    (SELECT count(*) FROM jobs WHERE state = 'delivered'),
                    (SELECT count(*) FROM jobs WHERE state = 'superseded')",
        )?
        .query_row([], |r| {
            let count = |i| r.get::<_, i64>(i).map(|n| u64::try_from(n).unwrap_or(0));
            Ok(Stats {
                pending: count(0)?,
                leased: count(1)?,
                dead: count(2)?,
                delivered: count(3)?,
                superseded: count(4)?,
            })
        })?;
    Ok(counts)
}

fn audit_row(r: &Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
        prev_hash: r.get(1)?,
        hash: r.get(2)?,
        body: r.get(3)?,
    })
}

/// Appends `row` if it is the next record.
pub(crate) fn audit_append(conn: &Connection, row: &AuditRow) -> Result<(), StoreError> {
    let seq =
        i64::try_from(row.seq).map_err(|_| StoreError::invalid("an audit number too large"))?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO audit (seq, prev_hash, hash, body)
             SELECT ?1, ?2, ?3, ?4
             WHERE ?1 = coalesce((SELECT max(seq) FROM audit), 0) + 1",
        )?
        .execute(params![seq, row.prev_hash, row.hash, row.body])?;
    if inserted == 0 {
        let next: i64 = conn.query_row("SELECT coalesce(max(seq), 0) + 1 FROM audit", [], |r| {
            r.get(0)
        })?;
        return Err(StoreError::Conflict {
            reason: format!("audit record {} (the next is {next})", row.seq),
        });
    }
    Ok(())
}

pub(crate) fn audit_last(conn: &Connection) -> Result<Option<AuditRow>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT seq, prev_hash, hash, body FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], audit_row)
        .optional()?)
}

pub(crate) fn audit_read(
    conn: &Connection,
    from: u64,
    max: usize,
) -> Result<Vec<AuditRow>, StoreError> {
    let from = i64::try_from(from).unwrap_or(i64::MAX);
    let rows = conn
        .prepare_cached(
            "SELECT seq, prev_hash, hash, body FROM audit WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
        )?
        .query_map(params![from, limit(max)], audit_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub(crate) fn audit_checkpoint(
    conn: &Connection,
    row: &AuditCheckpointRow,
) -> Result<(), StoreError> {
    let size =
        i64::try_from(row.size).map_err(|_| StoreError::invalid("a checkpoint too large"))?;
    conn.prepare_cached(
        "INSERT INTO audit_checkpoints (size, note) VALUES (?1, ?2) ON CONFLICT (size) DO NOTHING",
    )?
    .execute(params![size, row.note])?;
    Ok(())
}

pub(crate) fn audit_checkpoints(conn: &Connection) -> Result<Vec<AuditCheckpointRow>, StoreError> {
    let rows = conn
        .prepare_cached("SELECT size, note FROM audit_checkpoints ORDER BY size")?
        .query_map([], |r| {
            Ok(AuditCheckpointRow {
                size: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                note: r.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

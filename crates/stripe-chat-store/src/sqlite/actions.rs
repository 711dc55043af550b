//! The SQLite side of acting from chat: interaction ids, pending requests, the action ledger,
//! contacts and assignments. Each function runs in one request of the writer (or the reader),
//! so a compare-and-set here is atomic.

use rusqlite::{Connection, OptionalExtension, Row, params};
use stripe_chat_message::MessageRef;

use crate::actions::{new_pending_id, validate_pending};
use crate::time::{from_ms, to_ms};
use crate::{
    Assignment, Claim, Contact, LedgerOutcome, LedgerStatus, NewPending, PendingChange, PendingRow,
    StoreError,
};

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn interaction_first_seen(
    conn: &Connection,
    id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO interactions (id, seen_at) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![id, now])?;
    Ok(inserted == 1)
}

pub(crate) fn pending_create(
    conn: &Connection,
    pending: NewPending,
) -> Result<PendingRow, StoreError> {
    validate_pending(&pending)?;
    let message = serde_json::to_string(&pending.message)
        .map_err(|e| StoreError::internal(format!("a message ref as JSON: {e}")))?;
    let id = new_pending_id()?;
    let (amount, currency) = match &pending.amount {
        Some((minor, currency)) => (Some(*minor), Some(currency.as_str())),
        None => (None, None),
    };
    conn.prepare_cached(
        "INSERT INTO pending_actions (id, person, identity, action, object, account, message_json,
             amount, currency, livemode, description, stage, needs_approval, approved_by,
             created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, NULL, ?14, ?15)",
    )?
    .execute(params![
        id,
        pending.person,
        pending.identity,
        pending.action,
        pending.object,
        pending.account,
        message,
        amount,
        currency,
        pending.livemode,
        pending.description,
        pending.stage,
        pending.needs_approval,
        to_ms(pending.created_at),
        to_ms(pending.expires_at),
    ])?;
    Ok(PendingRow {
        id,
        pending,
        approved_by: None,
    })
}

const PENDING_COLUMNS: &str = "id, person, identity, action, object, account, message_json,
     amount, currency, livemode, description, stage, needs_approval, approved_by, created_at,
     expires_at";

fn pending_row(r: &Row<'_>) -> rusqlite::Result<(PendingRow, String)> {
    let amount: Option<i64> = r.get(7)?;
    let currency: Option<String> = r.get(8)?;
    let message_json: String = r.get(6)?;
    let row = PendingRow {
        id: r.get(0)?,
        pending: NewPending {
            person: r.get(1)?,
            identity: r.get(2)?,
            action: r.get(3)?,
            object: r.get(4)?,
            account: r.get(5)?,
            message: MessageRef::new("", ""),
            amount: amount.zip(currency),
            livemode: r.get(9)?,
            description: r.get(10)?,
            stage: r.get(11)?,
            needs_approval: r.get(12)?,
            created_at: from_ms(r.get(14)?),
            expires_at: from_ms(r.get(15)?),
        },
        approved_by: r.get(13)?,
    };
    Ok((row, message_json))
}

fn with_message((mut row, json): (PendingRow, String)) -> Result<PendingRow, StoreError> {
    row.pending.message = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
        reason: format!("pending request {}: its message ref: {e}", row.id),
    })?;
    Ok(row)
}

pub(crate) fn pending(conn: &Connection, id: &str) -> Result<Option<PendingRow>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {PENDING_COLUMNS} FROM pending_actions WHERE id = ?1"
    ))?
    .query_row(params![id], pending_row)
    .optional()?
    .map(with_message)
    .transpose()
}

pub(crate) fn pending_advance(
    conn: &Connection,
    id: &str,
    from: &str,
    change: &PendingChange,
    now: i64,
) -> Result<Option<PendingRow>, StoreError> {
    let moved = conn
        .prepare_cached(
            "UPDATE pending_actions
             SET stage = ?3,
                 approved_by = coalesce(?4, approved_by),
                 expires_at = coalesce(?5, expires_at)
             WHERE id = ?1 AND stage = ?2 AND expires_at >= ?6",
        )?
        .execute(params![
            id,
            from,
            change.stage,
            change.approved_by,
            change.expires_at.map(to_ms),
            now
        ])?;
    if moved == 0 {
        return Ok(None);
    }
    pending(conn, id)
}

pub(crate) fn ledger_claim(
    conn: &Connection,
    key: &str,
    now: i64,
    stale_before: i64,
) -> Result<Claim, StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO action_ledger (key, attempt, claimed_at, status, updated_at)
             VALUES (?1, 1, ?2, NULL, ?2) ON CONFLICT (key) DO NOTHING",
        )?
        .execute(params![key, now])?;
    if inserted == 1 {
        return Ok(Claim::Claimed { attempt: 1 });
    }
    let (attempt, claimed_at, status, summary, url, reference): (
        i64,
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ) = conn
        .prepare_cached(
            "SELECT attempt, claimed_at, status, summary, url, reference FROM action_ledger
             WHERE key = ?1",
        )?
        .query_row(params![key], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
    let status = match status {
        None if claimed_at >= stale_before => {
            return Ok(Claim::InFlight {
                since: from_ms(claimed_at),
            });
        }
        None => None,
        Some(name) => Some(
            LedgerStatus::parse(&name).ok_or_else(|| StoreError::Corrupt {
                reason: format!("ledger status {name:?}"),
            })?,
        ),
    };
    if let Some(status) = status
        && !status.may_claim_again()
    {
        return Ok(Claim::AlreadyDone(LedgerOutcome {
            status,
            summary: summary.unwrap_or_default(),
            url,
            reference,
        }));
    }
    let attempt = attempt.saturating_add(1);
    conn.prepare_cached(
        "UPDATE action_ledger SET attempt = ?2, claimed_at = ?3, status = NULL, summary = NULL,
             url = NULL, reference = NULL, updated_at = ?3
         WHERE key = ?1",
    )?
    .execute(params![key, attempt, now])?;
    Ok(Claim::Claimed {
        attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
    })
}

pub(crate) fn ledger_record(
    conn: &Connection,
    key: &str,
    attempt: u32,
    outcome: &LedgerOutcome,
    now: i64,
) -> Result<bool, StoreError> {
    let recorded = conn
        .prepare_cached(
            "UPDATE action_ledger SET status = ?3, summary = ?4, url = ?5, reference = ?6,
                 updated_at = ?7
             WHERE key = ?1 AND attempt = ?2 AND status IS NULL",
        )?
        .execute(params![
            key,
            i64::from(attempt),
            outcome.status.as_str(),
            outcome.summary,
            outcome.url,
            outcome.reference,
            now
        ])?;
    Ok(recorded == 1)
}

pub(crate) fn contact_record(
    conn: &Connection,
    customer: &str,
    person: &str,
    at: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO contacts (customer, person, at) VALUES (?1, ?2, ?3)
         ON CONFLICT (customer) DO UPDATE SET person = excluded.person, at = excluded.at
         WHERE excluded.at >= contacts.at",
    )?
    .execute(params![customer, person, at])?;
    Ok(())
}

pub(crate) fn last_contact(
    conn: &Connection,
    customer: &str,
) -> Result<Option<Contact>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT person, at FROM contacts WHERE customer = ?1")?
        .query_row(params![customer], |r| {
            Ok(Contact {
                person: r.get(0)?,
                at: from_ms(r.get(1)?),
            })
        })
        .optional()?)
}

pub(crate) fn assignment_set(
    conn: &Connection,
    object: &str,
    assignee: &str,
    by: &str,
    at: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO assignments (object, assignee, by, at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (object) DO UPDATE
         SET assignee = excluded.assignee, by = excluded.by, at = excluded.at",
    )?
    .execute(params![object, assignee, by, at])?;
    Ok(())
}

pub(crate) fn assignment(
    conn: &Connection,
    object: &str,
) -> Result<Option<Assignment>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT assignee, by, at FROM assignments WHERE object = ?1")?
        .query_row(params![object], |r| {
            Ok(Assignment {
                assignee: r.get(0)?,
                by: r.get(1)?,
                at: from_ms(r.get(2)?),
            })
        })
        .optional()?)
}

/// Deletes up to `max` rows of each kind that retention lets go: interaction ids seen before
/// `before`, pending requests expired before it, ledger rows finished before it.
pub(crate) fn prune(conn: &Connection, before: i64, max: usize) -> Result<usize, StoreError> {
    let interactions = conn
        .prepare_cached(
            "DELETE FROM interactions WHERE id IN (
                 SELECT id FROM interactions WHERE seen_at < ?1 ORDER BY seen_at LIMIT ?2)",
        )?
        .execute(params![before, limit(max)])?;
    let pending = conn
        .prepare_cached(
            "DELETE FROM pending_actions WHERE id IN (
                 SELECT id FROM pending_actions WHERE expires_at < ?1
                 ORDER BY expires_at LIMIT ?2)",
        )?
        .execute(params![before, limit(max)])?;
    let ledger = conn
        .prepare_cached(
            "DELETE FROM action_ledger WHERE key IN (
                 SELECT key FROM action_ledger WHERE status IS NOT NULL AND updated_at < ?1
                 ORDER BY updated_at LIMIT ?2)",
        )?
        .execute(params![before, limit(max)])?;
    Ok(interactions + pending + ledger)
}

/// What [`prune`] with the same `before`, called until it deletes nothing, would delete.
pub(crate) fn prunable(conn: &Connection, before: i64) -> Result<usize, StoreError> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT (SELECT count(*) FROM interactions WHERE seen_at < ?1)
                  + (SELECT count(*) FROM pending_actions WHERE expires_at < ?1)
                  + (SELECT count(*) FROM action_ledger
                         WHERE status IS NOT NULL AND updated_at < ?1)",
        )?
        .query_row(params![before], |r| r.get(0))?;
    Ok(usize::try_from(n.max(0)).unwrap_or(usize::MAX))
}

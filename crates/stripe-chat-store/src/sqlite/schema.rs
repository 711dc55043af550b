//! The SQLite schema, versioned with `PRAGMA user_version`, and its migrations.

use rusqlite::{Connection, TransactionBehavior};

use crate::StoreError;

/// Marks a SQLite file as a stripe-chat store (`PRAGMA application_id`, "SCHT").
pub(crate) const APPLICATION_ID: i64 = 0x5343_4854;

/// The schema version this build writes. Migration `n` (1-based) brings version `n - 1` to `n`.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const MIGRATIONS: &[&str] = &[
    // 1: events (the inbox), jobs (the outbox), message refs.
    r#"
    CREATE TABLE events (
        id          TEXT PRIMARY KEY NOT NULL,
        type        TEXT NOT NULL,
        created     INTEGER NOT NULL,             -- the event's `created`, Unix seconds
        livemode    INTEGER NOT NULL,
        account     TEXT,
        received_at INTEGER NOT NULL,             -- Unix milliseconds
        raw         TEXT NOT NULL                 -- the body as received; last, so scans skip it
    );
    CREATE INDEX events_received ON events (received_at);

    CREATE TABLE jobs (
        id          INTEGER PRIMARY KEY,         -- never reused: pruning keeps the newest job
        event_id    TEXT NOT NULL REFERENCES events (id),
        destination TEXT NOT NULL,
        thread_key  TEXT,
        state       TEXT NOT NULL
                    CHECK (state IN ('pending', 'leased', 'delivered', 'dead', 'superseded')),
        attempts    INTEGER NOT NULL DEFAULT 0,  -- leases since creation or the last DLQ retry
        not_before  INTEGER NOT NULL,            -- Unix ms; due when not_before <= now
        lease_owner TEXT,
        lease_token INTEGER NOT NULL DEFAULT 0,  -- +1 at every lease; never reset
        lease_until INTEGER,                     -- Unix ms, while leased
        last_error  TEXT,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        UNIQUE (event_id, destination)
    );
    -- One partial index per state a query looks for, so that an ingest (a new pending job)
    -- writes only `jobs_due` among them, and each state change touches two at most.
    CREATE INDEX jobs_due ON jobs (not_before) WHERE state = 'pending';
    CREATE INDEX jobs_lease_end ON jobs (lease_until) WHERE state = 'leased';
    CREATE INDEX jobs_dead ON jobs (id) WHERE state = 'dead';
    CREATE INDEX jobs_delivered ON jobs (updated_at) WHERE state = 'delivered';
    CREATE INDEX jobs_superseded ON jobs (updated_at) WHERE state = 'superseded';
    -- Lease exclusivity and the thread queries; state is left out so that it never changes.
    CREATE INDEX jobs_thread ON jobs (destination, thread_key) WHERE thread_key IS NOT NULL;

    CREATE TABLE message_refs (
        destination   TEXT NOT NULL,
        thread_key    TEXT NOT NULL,
        ref_json      TEXT NOT NULL,             -- stripe_chat_message::MessageRef as JSON
        event_created INTEGER NOT NULL,          -- `created` of the event the message shows
        event_id      TEXT NOT NULL,
        updated_at    INTEGER NOT NULL,
        PRIMARY KEY (destination, thread_key)
    ) WITHOUT ROWID;
    "#,
    // 2: digests. A job with a digest key is leased together with the other due jobs of its
    // destination and key, and delivered as one summary.
    r#"
    ALTER TABLE jobs ADD COLUMN digest_key TEXT;
    CREATE INDEX jobs_digest ON jobs (destination, digest_key) WHERE digest_key IS NOT NULL;
    "#,
    // 3: the audit log: append-only rows (the triggers refuse changes and deletions through SQL, so
    // an edit needs a deliberate act that the hash chain then shows) and signed checkpoints.
    r#"
    CREATE TABLE audit (
        seq       INTEGER PRIMARY KEY,          -- from 1, without gaps
        prev_hash TEXT NOT NULL,
        hash      TEXT NOT NULL,
        body      TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TABLE audit_checkpoints (
        size INTEGER PRIMARY KEY,
        note TEXT NOT NULL
    );
    "#,
    // 4: retention and the readiness probe. Pruning looks for message refs by age. After a
    // write failed for want of space, readiness writes a row of an event's size in `probe` (and
    // deletes it) until such a write commits again.
    r#"
    CREATE INDEX message_refs_updated ON message_refs (updated_at);
    CREATE TABLE probe (
        id     INTEGER PRIMARY KEY,
        filler BLOB NOT NULL
    );
    "#,
    // 5: acting from chat. Interaction ids already handled; requests waiting for a confirmation
    // or an approval (by a random id); the ledger of actions, one row per idempotency key;
    // who contacted a customer last; who an object is assigned to.
    r#"
    CREATE TABLE interactions (
        id      TEXT PRIMARY KEY NOT NULL,
        seen_at INTEGER NOT NULL                -- Unix ms
    ) WITHOUT ROWID;
    CREATE INDEX interactions_seen ON interactions (seen_at);

    CREATE TABLE pending_actions (
        id             TEXT PRIMARY KEY NOT NULL, -- p_ and 128 random bits in hex
        person         TEXT NOT NULL,
        identity       TEXT NOT NULL,
        action         TEXT NOT NULL,
        object         TEXT NOT NULL,
        account        TEXT,
        message_json   TEXT NOT NULL,            -- stripe_chat_message::MessageRef as JSON
        amount         INTEGER,
        currency       TEXT,
        livemode       INTEGER NOT NULL,
        description    TEXT NOT NULL,
        stage          TEXT NOT NULL,
        needs_approval INTEGER NOT NULL,
        approved_by    TEXT,
        created_at     INTEGER NOT NULL,         -- Unix ms
        expires_at     INTEGER NOT NULL          -- Unix ms
    ) WITHOUT ROWID;
    CREATE INDEX pending_actions_expiry ON pending_actions (expires_at);

    CREATE TABLE action_ledger (
        key        TEXT PRIMARY KEY NOT NULL,    -- the idempotency key of the logical action
        attempt    INTEGER NOT NULL,             -- +1 at every claim
        claimed_at INTEGER NOT NULL,             -- Unix ms of the current claim
        status     TEXT                          -- NULL while in flight
                   CHECK (status IN ('performed', 'refused', 'unavailable', 'unknown',
                                     'misconfigured')),
        summary    TEXT,
        url        TEXT,
        reference  TEXT,
        updated_at INTEGER NOT NULL              -- Unix ms
    ) WITHOUT ROWID;
    CREATE INDEX action_ledger_done ON action_ledger (updated_at) WHERE status IS NOT NULL;

    CREATE TABLE contacts (
        customer TEXT PRIMARY KEY NOT NULL,
        person   TEXT NOT NULL,
        at       INTEGER NOT NULL                -- Unix ms
    ) WITHOUT ROWID;

    CREATE TABLE assignments (
        object   TEXT PRIMARY KEY NOT NULL,
        assignee TEXT NOT NULL,
        by       TEXT NOT NULL,
        at       INTEGER NOT NULL                -- Unix ms
    ) WITHOUT ROWID;
    "#,
];

/// Brings the database to [`SCHEMA_VERSION`], refusing files of other applications and of newer
/// versions. Runs in one immediate transaction, so two processes opening a new file at once do
/// not both migrate it.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let application_id: i64 = tx.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if application_id != 0 && application_id != APPLICATION_ID {
        return Err(StoreError::Corrupt {
            reason: "the file belongs to another application".into(),
        });
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    if version == 0 {
        let tables: i64 = tx.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        if tables > 0 {
            return Err(StoreError::Corrupt {
                reason: "the file is a database of another application".into(),
            });
        }
    }
    let done = usize::try_from(version).unwrap_or(0);
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(done) {
        tx.execute_batch(migration)?;
        tracing::info!(version = i + 1, "stripe-chat store schema migrated");
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

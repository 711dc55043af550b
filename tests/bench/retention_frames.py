#!/usr/bin/env python3
"""What storing, delivering and deleting an event writes to SQLite's write-ahead log.

Run:  python3 tests/bench/retention_frames.py [--kept 30000] [--events 2000] [--rows 8 32 128]

Builds the store's schema (read from crates/stripe-chat-store/src/sqlite/schema.rs, migrations 1-4)
in a scratch file, keeps `--kept` delivered events of 5,000 bytes, then for `--events` more: stores
each in a commit (event + one job), delivers it in another (job delivered + message ref), and
deletes the oldest as the store's sweep does (jobs, their events and their refs) in commits of
`--rows` rows. Prints the log frames each takes per event, for the schema as it is and for two
variants: jobs keyed by an event number instead of the event id, and a thread index that holds
unfinished jobs only. Needs only Python 3 with its sqlite3 module. See docs/performance.md.
"""
import argparse
import os
import random
import re
import sqlite3
import string
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA_RS = os.path.join(ROOT, "crates", "stripe-chat-store", "src", "sqlite", "schema.rs")
PAGE = 4096
FRAME = PAGE + 24


def schema(variant):
    text = open(SCHEMA_RS, encoding="utf-8").read()
    sql = "\n".join(re.findall(r'r#"(.*?)"#', text, re.S)[:4])
    if variant == "jobs keyed by event number" or variant == "both":
        sql = sql.replace("UNIQUE (event_id, destination)",
                          "event_seq INTEGER NOT NULL, UNIQUE (event_seq, destination)")
    if variant == "thread index: unfinished jobs" or variant == "both":
        sql = sql.replace("WHERE thread_key IS NOT NULL;",
                          "WHERE thread_key IS NOT NULL AND state IN ('pending', 'leased', 'dead');")
    return sql


def token(n):
    return "".join(random.choices(string.ascii_letters + string.digits, k=n))


class Store:
    def __init__(self, path, variant):
        self.path = path
        self.by_number = variant in ("jobs keyed by event number", "both")
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in (f"page_size={PAGE}", "auto_vacuum=INCREMENTAL", "journal_mode=WAL",
                       "wal_autocheckpoint=0", "synchronous=OFF"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.executescript(schema(variant))
        self.number = 0

    def frames(self):
        try:
            return os.path.getsize(self.path + "-wal") // FRAME
        except FileNotFoundError:
            return 0

    def store(self, now):
        self.number += 1
        event, obj = "evt_" + token(24), "in_" + token(24)
        c = self.conn
        c.execute("BEGIN")
        c.execute("INSERT INTO events (id, type, created, livemode, account, received_at, raw)"
                  " VALUES (?, 'invoice.payment_failed', ?, 0, NULL, ?, ?)",
                  (event, now // 1000, now, token(5000)))
        if self.by_number:
            c.execute("INSERT INTO jobs (event_id, event_seq, destination, thread_key, state,"
                      " not_before, created_at, updated_at)"
                      " VALUES (?, ?, 'log', ?, 'pending', ?, ?, ?)",
                      (event, self.number, "invoice/" + obj, now, now, now))
        else:
            c.execute("INSERT INTO jobs (event_id, destination, thread_key, state, not_before,"
                      " created_at, updated_at) VALUES (?, 'log', ?, 'pending', ?, ?, ?)",
                      (event, "invoice/" + obj, now, now, now))
        job = c.execute("SELECT last_insert_rowid()").fetchone()[0]
        c.execute("COMMIT")
        return event, obj, job

    def deliver(self, event, obj, job, now):
        c = self.conn
        c.execute("BEGIN")
        c.execute("UPDATE jobs SET state = 'delivered', updated_at = ? WHERE id = ?", (now, job))
        c.execute("INSERT INTO message_refs (destination, thread_key, ref_json, event_created,"
                  " event_id, updated_at) VALUES ('log', ?, ?, ?, ?, ?)"
                  " ON CONFLICT DO UPDATE SET updated_at = excluded.updated_at",
                  ("invoice/" + obj, '{"ts":"' + token(40) + '"}', now // 1000, event, now))
        c.execute("COMMIT")

    def delete(self, rows, before):
        c = self.conn
        c.execute("BEGIN")
        gone = c.execute("DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state ="
                         " 'delivered' AND updated_at < ? LIMIT ?)"
                         " RETURNING event_id, destination, thread_key", (before, rows)).fetchall()
        for event, destination, thread in gone:
            c.execute("DELETE FROM events WHERE id = ? AND NOT EXISTS"
                      " (SELECT 1 FROM jobs WHERE event_id = ?)", (event, event))
            c.execute("DELETE FROM message_refs WHERE destination = ? AND thread_key = ?",
                      (destination, thread))
        c.execute("COMMIT")


def measure(variant, kept, events, rows, directory):
    path = os.path.join(directory, "frames.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    store = Store(path, variant)
    now = 1_000_000
    for _ in range(kept):
        now += 1
        store.deliver(*store.store(now), now)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stored = delivered = deleted = 0
    for i in range(events):
        now += 1
        before = store.frames()
        made = store.store(now)
        middle = store.frames()
        store.deliver(*made, now)
        after = store.frames()
        stored += middle - before
        delivered += after - middle
        if i % rows == rows - 1:
            before = store.frames()
            store.delete(rows, now - kept)
            deleted += store.frames() - before
        if store.frames() > 50_000:
            store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.conn.close()
    return stored / events, delivered / events, deleted / events


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kept", type=int, default=30_000)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--rows", type=int, nargs="+", default=[8, 32, 128])
    args = parser.parse_args()
    random.seed(1)
    variants = ["as it is", "jobs keyed by event number", "thread index: unfinished jobs", "both"]
    print("schema                          rows/commit  frames per event: store  deliver  delete")
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMPDIR")) as directory:
        for rows in args.rows:
            for variant in variants if rows == args.rows[0] else variants[:1]:
                s, d, x = measure(variant, args.kept, args.events, rows, directory)
                print(f"{variant:32s} {rows:11d}  {s:24.2f}  {d:7.2f}  {x:6.2f}", flush=True)


if __name__ == "__main__":
    main()

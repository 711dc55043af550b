#!/usr/bin/env python3
"""What storing, delivering and deleting an event writes to SQLite's write-ahead log and file.

Run:  python3 tests/bench/retention_frames.py [--kept 30000] [--events 2000] [--sweeps 16 128]

Builds the store's schema (read from crates/stripe-chat-store/src/sqlite/schema.rs, migrations 1-4)
in a scratch file, with the settings of the store's own SQLite (incremental auto-vacuum, and
`secure_delete` off: the store's bundled SQLite is built without SQLITE_SECURE_DELETE, while
Debian's Python sqlite3 is built with it and would zero every freed page). It keeps `--kept`
delivered events of 5,000 bytes, then for `--events` more: stores each in a commit (event + one
job), delivers it in another (job delivered + message ref), and, when pruning, deletes the oldest
as the store's sweep does (jobs, their events and their refs), `--sweeps` events per commit.

Prints, per event: the log frames of each step, and the pages the checkpoints copy into the file
(every distinct page of each 1 MiB of log, as the store's checkpoint passes do), without pruning
and with each sweep size, for event and object ids ordered by time (as Stripe's are: they begin
with their creation time, and as the load harness makes them) and for random ids. Needs only
Python 3 with its sqlite3 module. See docs/performance.md.
"""
import argparse
import os
import random
import re
import sqlite3
import string
import struct
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA_RS = os.path.join(ROOT, "crates", "stripe-chat-store", "src", "sqlite", "schema.rs")
PAGE = 4096
FRAME = PAGE + 24
WAL_HEADER = 32
PASS_FRAMES = (1 << 20) // PAGE


def schema():
    text = open(SCHEMA_RS, encoding="utf-8").read()
    return "\n".join(re.findall(r'r#"(.*?)"#', text, re.S)[:4])


def token(n):
    return "".join(random.choices(string.ascii_letters + string.digits, k=n))


class Store:
    def __init__(self, path, ordered):
        self.path = path
        self.ordered = ordered
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in (f"page_size={PAGE}", "auto_vacuum=INCREMENTAL", "journal_mode=WAL",
                       "wal_autocheckpoint=0", "synchronous=OFF", "secure_delete=OFF"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.executescript(schema())
        self.number = 0
        self.written = []  # the page number of every frame written, in order

    def frames(self):
        try:
            return max(0, (os.path.getsize(self.path + "-wal") - WAL_HEADER) // FRAME)
        except FileNotFoundError:
            return 0

    def step(self, run):
        """Runs `run` and returns the frames it wrote, remembering their page numbers."""
        before = self.frames()
        result = run()
        after = self.frames()
        with open(self.path + "-wal", "rb") as wal:
            wal.seek(WAL_HEADER + before * FRAME)
            data = wal.read((after - before) * FRAME)
        self.written.extend(struct.unpack(">I", data[i:i + 4])[0]
                            for i in range(0, len(data), FRAME))
        return after - before, result

    def store(self, now):
        self.number += 1
        if self.ordered:
            suffix = f"{now:012d}{token(12)}"
        else:
            suffix = token(24)
        event, obj = "evt_" + suffix, "in_" + suffix
        c = self.conn
        c.execute("BEGIN")
        c.execute("INSERT INTO events (id, type, created, livemode, account, received_at, raw)"
                  " VALUES (?, 'invoice.payment_failed', ?, 0, NULL, ?, ?)",
                  (event, now // 1000, now, token(5000)))
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


def measure(ordered, sweep, kept, events, directory):
    """Frames per event stored, delivered and deleted, and checkpoint pages per event."""
    path = os.path.join(directory, "frames.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    store = Store(path, ordered)
    now = 1_000_000
    for _ in range(kept):
        now += 1
        store.deliver(*store.store(now), now)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.written = []
    stored = delivered = deleted = 0
    for i in range(events):
        now += 1
        frames, made = store.step(lambda: store.store(now))
        stored += frames
        frames, _ = store.step(lambda: store.deliver(*made, now))
        delivered += frames
        if sweep and i % sweep == sweep - 1:
            frames, _ = store.step(lambda: store.delete(sweep, now - kept))
            deleted += frames
        if store.frames() > 50_000:
            store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.conn.close()
    written = store.written
    copied = sum(len(set(written[i:i + PASS_FRAMES]))
                 for i in range(0, len(written), PASS_FRAMES))
    return stored / events, delivered / events, deleted / events, copied / events


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kept", type=int, default=30_000)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--sweeps", type=int, nargs="+", default=[16, 128],
                        help="events deleted per commit (one run each)")
    args = parser.parse_args()
    random.seed(1)
    print("ids                pruning          frames per event: store  deliver  delete"
          "   checkpoint pages   all   vs none")
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMPDIR")) as directory:
        for ordered in (True, False):
            ids = "ordered by time" if ordered else "random"
            base = None
            for sweep in [0] + args.sweeps:
                s, d, x, c = measure(ordered, sweep, args.kept, args.events, directory)
                total = s + d + x + c
                base = base or total
                pruning = f"{sweep} per commit" if sweep else "none"
                print(f"{ids:18s} {pruning:16s} {s:24.2f}  {d:7.2f}  {x:6.2f}   {c:16.2f}"
                      f"   {total:5.2f}   {100 * (total / base - 1):+5.1f}%", flush=True)


if __name__ == "__main__":
    main()

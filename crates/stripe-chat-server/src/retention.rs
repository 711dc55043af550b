//! Retention: the background [`Pruner`] that keeps the store from filling its disk.
//!
//! Under load the service's SQLite store prunes as it goes
//! ([`SqliteOptions::prune_as_it_goes`](stripe_chat_store::SqliteOptions::prune_as_it_goes), set
//! by [`open_store`](crate::service::open_store)): its writer deletes two expired rows for each
//! event it stores, a few dozen at a time, in commits that acknowledge nothing, so the file keeps
//! its size without any long delete. The pruner's rounds do the rest: what arrives while nothing
//! is stored, what a restart left behind, the rows of acting from chat, and giving space back.
//!
//! Every few minutes (and once at start) a round deletes the delivered and superseded jobs last
//! changed before `now - retention`, the events received before it that have no job left, and
//! the message refs of objects without a message since and without a job left,
//! [`Pruner::BATCH`] rows per transaction, pausing after each so that pruning takes at most
//! [`Pruner::SHARE`] of the time: ingest never waits behind a long delete. A round that is
//! still going after [`every`](Pruner::every) is falling behind: its share doubles with each
//! further `every`, up to [`Pruner::CATCH_UP_SHARE`]. Then it gives the freed space back to the
//! file system ([`Store::reclaim_space`]), [`Pruner::RECLAIM_STEP`] per transaction.
//! Pending and leased jobs and dead letters (with their events and their objects' refs) are
//! never pruned (see [`Store::prune`]).
//!
//! The configuration refuses a retention under three days
//! ([`MIN_RETENTION`](crate::config::MIN_RETENTION)); the pruner takes the retention it is given,
//! so that tests and the load harness can prune what is seconds old.
//!
//! ```
//! # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! # rt.block_on(async {
//! use std::sync::Arc;
//! use std::time::{Duration, SystemTime};
//! use stripe_chat_server::retention::Pruner;
//! use stripe_chat_store::{MemoryStore, NewEvent, Store};
//!
//! let store = Arc::new(MemoryStore::new());
//! let received = SystemTime::now() - Duration::from_secs(40 * 86_400);
//! let event = NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: received };
//! store.ingest(event, vec![]).await?; // routed nowhere: nothing to deliver
//!
//! let pruner = Pruner::new(store.clone(), Duration::from_secs(30 * 86_400));
//! let round = pruner.round(SystemTime::now()).await?;
//! assert_eq!(round.events, 1);
//! assert!(store.event("evt_1").await?.is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use stripe_chat_store::{Store, StoreError};
use tokio::sync::watch;

/// Prunes the store on a timer; see the [module documentation](self).
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// # rt.block_on(async {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use stripe_chat_server::retention::Pruner;
/// let store: Arc<dyn stripe_chat_store::Store> = Arc::new(stripe_chat_store::MemoryStore::new());
/// let (stop, stopped) = tokio::sync::watch::channel(false);
/// let pruner = Pruner::new(store, Duration::from_secs(30 * 86_400));
/// let running = tokio::spawn(pruner.run(stopped)); // a round now, then every 5 minutes
/// stop.send(true)?;
/// running.await?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Pruner {
    store: Arc<dyn Store>,
    retention: Duration,
    every: Duration,
    batch: usize,
    pause: Duration,
    share: f64,
    catch_up_share: f64,
    reclaim_step: u64,
}

impl std::fmt::Debug for Pruner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pruner")
            .field("retention", &self.retention)
            .field("every", &self.every)
            .field("batch", &self.batch)
            .field("pause", &self.pause)
            .field("share", &self.share)
            .field("catch_up_share", &self.catch_up_share)
            .finish_non_exhaustive()
    }
}

/// What one [`Pruner::round`] did.
///
/// ```
/// let round = stripe_chat_server::retention::Round::default();
/// assert_eq!(round.jobs + round.events, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Delivered or superseded jobs deleted.
    pub jobs: usize,
    /// Events deleted.
    pub events: usize,
    /// Message refs deleted.
    pub refs: usize,
    /// Transactions that deleted something.
    pub batches: usize,
    /// Bytes given back to the file system.
    pub bytes_given_back: u64,
    /// How long the round took, pauses included.
    pub elapsed: Duration,
}

impl Pruner {
    /// Rows deleted per transaction, at most (jobs, then as many events).
    ///
    /// ```
    /// assert_eq!(stripe_chat_server::retention::Pruner::BATCH, 64);
    /// ```
    pub const BATCH: usize = 64;

    /// Time between rounds.
    ///
    /// ```
    /// assert_eq!(stripe_chat_server::retention::Pruner::EVERY.as_secs(), 300);
    /// ```
    pub const EVERY: Duration = Duration::from_secs(300);

    /// The shortest pause after each transaction of a round, which leaves the store's single
    /// writer to ingest and delivery in between.
    ///
    /// ```
    /// assert_eq!(stripe_chat_server::retention::Pruner::PAUSE.as_millis(), 20);
    /// ```
    pub const PAUSE: Duration = Duration::from_millis(20);

    /// The most of the time a round spends in its transactions: after a transaction that took
    /// `t`, the pruner waits `t × (1 / SHARE − 1)` (at least [`Pruner::PAUSE`]), so that however
    /// slow the disk, webhooks rarely find the store's writer busy pruning.
    ///
    /// ```
    /// assert_eq!(stripe_chat_server::retention::Pruner::SHARE, 0.02);
    /// ```
    pub const SHARE: f64 = 0.02;

    /// The most of the time a round that runs behind spends in its transactions: the share
    /// starts at [`Pruner::SHARE`] and doubles for each [`every`](Pruner::every) the round has
    /// lasted, up to this.
    ///
    /// ```
    /// assert_eq!(stripe_chat_server::retention::Pruner::CATCH_UP_SHARE, 0.05);
    /// ```
    pub const CATCH_UP_SHARE: f64 = 0.05;

    /// The most bytes given back to the file system per transaction.
    ///
    /// ```
    /// assert_eq!(stripe_chat_server::retention::Pruner::RECLAIM_STEP, 256 << 10);
    /// ```
    pub const RECLAIM_STEP: u64 = 256 << 10;

    /// A pruner of `store` keeping what is younger than `retention`, with the defaults above.
    ///
    /// ```
    /// # let store: std::sync::Arc<dyn stripe_chat_store::Store> = std::sync::Arc::new(stripe_chat_store::MemoryStore::new());
    /// let pruner = stripe_chat_server::retention::Pruner::new(store, std::time::Duration::from_secs(7 * 86_400));
    /// assert_eq!(pruner.retention().as_secs(), 7 * 86_400);
    /// ```
    pub fn new(store: Arc<dyn Store>, retention: Duration) -> Self {
        Pruner {
            store,
            retention,
            every: Self::EVERY,
            batch: Self::BATCH,
            pause: Self::PAUSE,
            share: Self::SHARE,
            catch_up_share: Self::CATCH_UP_SHARE,
            reclaim_step: Self::RECLAIM_STEP,
        }
    }

    /// Runs a round every `every` instead of [`Pruner::EVERY`].
    ///
    /// ```
    /// # let store: std::sync::Arc<dyn stripe_chat_store::Store> = std::sync::Arc::new(stripe_chat_store::MemoryStore::new());
    /// use std::time::Duration;
    /// let _ = stripe_chat_server::retention::Pruner::new(store, Duration::from_secs(60)).every(Duration::from_secs(5));
    /// ```
    pub fn every(mut self, every: Duration) -> Self {
        self.every = every.max(Duration::from_millis(1));
        self
    }

    /// Deletes at most `rows` jobs (then as many events) per transaction instead of
    /// [`Pruner::BATCH`].
    ///
    /// ```
    /// # let store: std::sync::Arc<dyn stripe_chat_store::Store> = std::sync::Arc::new(stripe_chat_store::MemoryStore::new());
    /// let _ = stripe_chat_server::retention::Pruner::new(store, std::time::Duration::from_secs(60)).batch(100);
    /// ```
    pub fn batch(mut self, rows: usize) -> Self {
        self.batch = rows.max(1);
        self
    }

    /// Pauses `pause` after each transaction instead of [`Pruner::PAUSE`].
    ///
    /// ```
    /// # let store: std::sync::Arc<dyn stripe_chat_store::Store> = std::sync::Arc::new(stripe_chat_store::MemoryStore::new());
    /// let _ = stripe_chat_server::retention::Pruner::new(store, std::time::Duration::from_secs(60)).pause(std::time::Duration::ZERO);
    /// ```
    pub fn pause(mut self, pause: Duration) -> Self {
        self.pause = pause;
        self
    }

    /// Spends at most `share` (between 0.001 and 1) of a round's time in its transactions
    /// instead of [`Pruner::SHARE`]; 1 waits only the [`pause`](Pruner::pause).
    ///
    /// ```
    /// # let store: std::sync::Arc<dyn stripe_chat_store::Store> = std::sync::Arc::new(stripe_chat_store::MemoryStore::new());
    /// let _ = stripe_chat_server::retention::Pruner::new(store, std::time::Duration::from_secs(60)).share(0.1);
    /// ```
    pub fn share(mut self, share: f64) -> Self {
        self.share = if share.is_finite() {
            share.clamp(0.001, 1.0)
        } else {
            Self::SHARE
        };
        self
    }

    /// Lets a round that runs behind spend up to `share` (at least the base
    /// [`share`](Pruner::share), at most 1) of its time in its transactions instead of
    /// [`Pruner::CATCH_UP_SHARE`].
    ///
    /// ```
    /// # let store: std::sync::Arc<dyn stripe_chat_store::Store> = std::sync::Arc::new(stripe_chat_store::MemoryStore::new());
    /// let _ = stripe_chat_server::retention::Pruner::new(store, std::time::Duration::from_secs(60)).catch_up_share(0.5);
    /// ```
    pub fn catch_up_share(mut self, share: f64) -> Self {
        self.catch_up_share = if share.is_finite() {
            share.clamp(0.001, 1.0)
        } else {
            Self::CATCH_UP_SHARE
        };
        self
    }

    /// Gives back at most `bytes` per transaction instead of [`Pruner::RECLAIM_STEP`].
    ///
    /// ```
    /// # let store: std::sync::Arc<dyn stripe_chat_store::Store> = std::sync::Arc::new(stripe_chat_store::MemoryStore::new());
    /// let _ = stripe_chat_server::retention::Pruner::new(store, std::time::Duration::from_secs(60)).reclaim_step(256 * 1024);
    /// ```
    pub fn reclaim_step(mut self, bytes: u64) -> Self {
        self.reclaim_step = bytes.max(1);
        self
    }

    /// The retention this pruner keeps.
    ///
    /// ```
    /// # let store: std::sync::Arc<dyn stripe_chat_store::Store> = std::sync::Arc::new(stripe_chat_store::MemoryStore::new());
    /// let pruner = stripe_chat_server::retention::Pruner::new(store, std::time::Duration::from_secs(60));
    /// assert_eq!(pruner.retention().as_secs(), 60);
    /// ```
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// One round at `now`: prunes in batches until nothing older than the retention is left,
    /// then gives the freed space back in steps until there is none. Returns what it did; a
    /// store error ends the round early (what was done stays done).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// # rt.block_on(async {
    /// # let store: std::sync::Arc<dyn stripe_chat_store::Store> = std::sync::Arc::new(stripe_chat_store::MemoryStore::new());
    /// let pruner = stripe_chat_server::retention::Pruner::new(store, std::time::Duration::from_secs(60));
    /// assert_eq!(pruner.round(std::time::SystemTime::now()).await?.batches, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn round(&self, now: SystemTime) -> Result<Round, StoreError> {
        let started = Instant::now();
        let before = now
            .checked_sub(self.retention)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut round = Round::default();
        loop {
            let took = Instant::now();
            let pruned = self.store.prune(before, self.batch).await?;
            if pruned.is_empty() {
                break;
            }
            round.jobs += pruned.jobs;
            round.events += pruned.events;
            round.refs += pruned.refs;
            round.batches += 1;
            let share = self.share_after(started.elapsed());
            tokio::time::sleep(self.pause_after(took.elapsed(), share)).await;
        }
        if round.batches > 0 {
            loop {
                let took = Instant::now();
                let given_back = self.store.reclaim_space(self.reclaim_step).await?;
                if given_back == 0 {
                    break;
                }
                round.bytes_given_back += given_back;
                let share = self.share_after(started.elapsed());
                tokio::time::sleep(self.pause_after(took.elapsed(), share)).await;
            }
        }
        round.elapsed = started.elapsed();
        Ok(round)
    }

    /// The share of its time a round that has lasted `elapsed` may spend in transactions: the
    /// base share, doubled for each `every` it has lasted, at most the catch-up share.
    fn share_after(&self, elapsed: Duration) -> f64 {
        let behind = (elapsed.as_secs_f64() / self.every.as_secs_f64()).floor();
        let doubled = self.share * 2f64.powf(behind.min(64.0));
        doubled.min(self.catch_up_share.max(self.share))
    }

    /// The pause after a transaction that took `took`, at `share`.
    fn pause_after(&self, took: Duration, share: f64) -> Duration {
        let proportional = took.mul_f64(1.0 / share - 1.0);
        proportional.max(self.pause)
    }

    /// Runs a round at once and then every [`every`](Pruner::every) until `stop` turns true
    /// (or its sender is dropped), stopping in the middle of a round if need be: each
    /// transaction is whole, and the next round carries on. Logs one line per round that
    /// pruned something, and a warning when a round fails (the next one tries again).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// # rt.block_on(async {
    /// # let store: std::sync::Arc<dyn stripe_chat_store::Store> = std::sync::Arc::new(stripe_chat_store::MemoryStore::new());
    /// # let pruner = stripe_chat_server::retention::Pruner::new(store, std::time::Duration::from_secs(60));
    /// let (stop, stopped) = tokio::sync::watch::channel(false);
    /// let running = tokio::spawn(pruner.run(stopped));
    /// stop.send(true)?;
    /// running.await?; // returns promptly, even in the middle of a round
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut ticks = tokio::time::interval(self.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.wait_for(|stop| *stop) => break,
                _ = ticks.tick() => {}
            }
            let round = tokio::select! {
                _ = stop.wait_for(|stop| *stop) => break,
                round = self.round(SystemTime::now()) => round,
            };
            match round {
                Ok(round) if round.batches > 0 => tracing::info!(
                    jobs = round.jobs,
                    events = round.events,
                    message_refs = round.refs,
                    retention_secs = self.retention.as_secs(),
                    bytes_given_back = round.bytes_given_back,
                    elapsed_ms = u64::try_from(round.elapsed.as_millis()).unwrap_or(u64::MAX),
                    "store pruned"
                ),
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "store pruning failed; the next round tries again")
                }
            }
        }
        tracing::debug!("store pruner stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stripe_chat_store::{Delivered, MemoryStore, NewEvent, NewJob, SqliteOptions, SqliteStore};

    const DAY: Duration = Duration::from_secs(86_400);

    fn event(id: usize, received_at: SystemTime, size: usize) -> NewEvent {
        NewEvent {
            id: format!("evt_{id}"),
            event_type: "invoice.paid".into(),
            created: 1_700_000_000,
            livemode: false,
            account: None,
            raw: format!("{{\"pad\":\"{}\"}}", "x".repeat(size)),
            received_at,
        }
    }

    #[test]
    fn a_round_that_runs_behind_doubles_its_share_each_period_up_to_the_catch_up_share() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let pruner = Pruner::new(store, DAY).every(Duration::from_secs(10));
        let at = |s: u64| pruner.share_after(Duration::from_secs(s));
        assert_eq!(at(0), Pruner::SHARE);
        assert_eq!(at(9), Pruner::SHARE);
        assert_eq!(at(10), 2.0 * Pruner::SHARE);
        assert_eq!(at(19), 2.0 * Pruner::SHARE);
        assert_eq!(
            at(20),
            Pruner::CATCH_UP_SHARE,
            "4 × 2% is more than the 5% cap"
        );
        assert_eq!(at(100_000), Pruner::CATCH_UP_SHARE);
        let wider = pruner.clone().catch_up_share(0.5);
        let wide = |s: u64| wider.share_after(Duration::from_secs(s));
        assert_eq!((wide(25), wide(30), wide(40)), (0.08, 0.16, 0.32));
        assert_eq!(wide(50), 0.5);
        // The pause keeps the transactions to the share: 10 ms at 0.02 waits 490 ms.
        let pause = pruner.pause_after(Duration::from_millis(10), 0.02);
        assert!(pause.abs_diff(Duration::from_millis(490)) < Duration::from_micros(1));
        let flat = pruner.clone().catch_up_share(0.001);
        assert_eq!(flat.share_after(Duration::from_secs(100)), Pruner::SHARE);
    }

    #[tokio::test]
    async fn a_round_prunes_what_is_older_than_the_retention_in_batches_and_keeps_the_rest() {
        let store = Arc::new(MemoryStore::new());
        let now = SystemTime::now();
        for i in 0..1_200 {
            store
                .ingest(event(i, now - 40 * DAY, 10), vec![])
                .await
                .unwrap();
        }
        store
            .ingest(event(5_000, now - 40 * DAY, 10), vec![NewJob::new("slack")])
            .await
            .unwrap();
        store
            .ingest(event(5_001, now - 2 * DAY, 10), vec![])
            .await
            .unwrap();
        let pruner = Pruner::new(store.clone(), 30 * DAY).pause(Duration::ZERO);
        let round = pruner.round(now).await.unwrap();
        assert_eq!((round.jobs, round.events), (0, 1_200));
        assert_eq!(
            round.batches,
            1_200_usize.div_ceil(Pruner::BATCH),
            "64 rows per transaction"
        );
        assert!(store.event("evt_5000").await.unwrap().is_some(), "pending");
        assert!(store.event("evt_5001").await.unwrap().is_some(), "recent");
        assert_eq!(pruner.round(now).await.unwrap().batches, 0);
    }

    #[tokio::test]
    async fn a_round_on_sqlite_gives_the_pruned_space_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(dir.path().join("s.db"), SqliteOptions::default())
                .await
                .unwrap(),
        );
        let now = SystemTime::now();
        for i in 0..300 {
            store
                .ingest(event(i, now - 40 * DAY, 8 * 1024), vec![NewJob::new("log")])
                .await
                .unwrap();
        }
        loop {
            let jobs = store
                .lease("w", 100, Duration::from_secs(60), now)
                .await
                .unwrap();
            if jobs.is_empty() {
                break;
            }
            for job in jobs {
                store.complete(&job, Delivered::nothing()).await.unwrap();
            }
        }
        // The jobs were finished just now (by the wall clock): a round a minute from now with a
        // retention of a second prunes them.
        let pruner = Pruner::new(store.clone(), Duration::from_secs(1)).pause(Duration::ZERO);
        let round = pruner.round(now + Duration::from_secs(60)).await.unwrap();
        assert_eq!(
            (round.jobs, round.events),
            (299, 299),
            "the newest job is kept"
        );
        assert!(round.bytes_given_back > 299 * 8 * 1024, "{round:?}");
    }

    #[tokio::test]
    async fn the_pruner_stops_promptly_on_shutdown_even_in_the_middle_of_a_round() {
        let store = Arc::new(MemoryStore::new());
        let now = SystemTime::now();
        for i in 0..50 {
            store
                .ingest(event(i, now - 40 * DAY, 10), vec![])
                .await
                .unwrap();
        }
        // One row per transaction and a long pause: the round would take 50 minutes.
        let pruner = Pruner::new(store.clone(), 30 * DAY)
            .batch(1)
            .pause(Duration::from_secs(60));
        let (stop, stopped) = watch::channel(false);
        let running = tokio::spawn(pruner.run(stopped));
        for _ in 0..200 {
            if store.event("evt_0").await.unwrap().is_none()
                || store.event("evt_49").await.unwrap().is_none()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let asked = Instant::now();
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(1), running)
            .await
            .expect("stopped within a second")
            .unwrap();
        assert!(asked.elapsed() < Duration::from_millis(500));
        assert!(store.stats().await.is_ok());
        let left = store.prunable(now - 30 * DAY).await.unwrap();
        assert!(left.events >= 40, "{left:?}");
    }
}

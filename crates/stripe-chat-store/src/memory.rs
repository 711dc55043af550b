//! [`MemoryStore`]: the same contract as the SQLite store, in memory, for tests and examples.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::actions::{new_pending_id, validate_pending};
use crate::lease::{self, Candidate, Chosen};
use crate::time::{clip_error, duration_ms, from_ms, now_ms, to_ms};
use crate::{
    Assignment, AuditCheckpointRow, AuditRow, Backlog, Claim, Contact, Delivered, DigestBatch,
    DigestMember, DlqTarget, Ingested, JobId, JobInfo, JobState, LeaseFilter, LeaseToken,
    LeasedJob, LedgerOutcome, NewEvent, NewJob, NewPending, PendingChange, PendingRow, Pruned,
    RefUpdate, Stats, Store, StoreError, StoredEvent, StoredRef,
};

/// A [`Store`] kept in memory: nothing survives the process. For tests of code built on the
/// store, and for examples. It follows the same contract as [`SqliteStore`](crate::SqliteStore)
/// (the crate's conformance tests run against both), and can be made to fail like a store that
/// cannot commit, with [`MemoryStore::set_available`].
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// use stripe_chat_store::{MemoryStore, NewJob, Store};
/// let store = MemoryStore::new();
/// # let event = stripe_chat_store::NewEvent { id: "evt_1".into(), event_type: "invoice.paid".into(), created: 1_700_000_000, livemode: false, account: None, raw: "{}".into(), received_at: std::time::SystemTime::now() };
/// store.ingest(event, vec![NewJob::new("slack")]).await?;
/// assert_eq!(store.stats().await?.pending, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    unavailable: bool,
    events: HashMap<String, StoredEvent>,
    jobs: BTreeMap<i64, Job>,
    by_event_destination: HashMap<(String, String), i64>,
    refs: HashMap<(String, String), StoredRef>,
    /// When each ref was last stored (wall clock, Unix ms), for pruning.
    ref_updated: HashMap<(String, String), i64>,
    last_job_id: i64,
    audit: Vec<AuditRow>,
    checkpoints: BTreeMap<u64, AuditCheckpointRow>,
    /// Interaction ids, with when they were seen (Unix ms).
    interactions: HashMap<String, i64>,
    pending: HashMap<String, PendingRow>,
    ledger: HashMap<String, LedgerRow>,
    contacts: HashMap<String, Contact>,
    assignments: HashMap<String, Assignment>,
}

#[derive(Debug, Clone)]
struct LedgerRow {
    attempt: u32,
    claimed_at: i64,
    outcome: Option<LedgerOutcome>,
    updated_at: i64,
}

#[derive(Debug, Clone)]
struct Job {
    event_id: String,
    destination: String,
    thread_key: Option<String>,
    digest: Option<String>,
    state: JobState,
    attempts: u32,
    not_before: i64,
    lease_token: i64,
    lease_until: Option<i64>,
    last_error: Option<String>,
    updated_at: i64,
    /// When it was created, or last moved back to pending by a DLQ retry or a replay.
    queued_at: i64,
}

impl MemoryStore {
    /// An empty store.
    ///
    /// ```
    /// let store = stripe_chat_store::MemoryStore::new();
    /// # drop(store);
    /// ```
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// While `available` is false every call fails with a transient
    /// [`StoreError::Unavailable`], as a store that cannot commit does (the webhook endpoint
    /// must then answer 503). Data is kept.
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use stripe_chat_store::{MemoryStore, Store};
    /// let store = MemoryStore::new();
    /// store.set_available(false);
    /// assert!(store.ping().await.unwrap_err().is_transient());
    /// store.set_available(true);
    /// store.ping().await?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_available(&self, available: bool) {
        self.lock_unchecked().unavailable = !available;
    }

    fn lock_unchecked(&self) -> MutexGuard<'_, Inner> {
        // No code path panics while holding the lock; should one, the data is still consistent
        // per operation (each mutates after all its checks), so keep going.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        let inner = self.lock_unchecked();
        if inner.unavailable {
            return Err(StoreError::unavailable(
                "the memory store is set unavailable",
            ));
        }
        Ok(inner)
    }
}

impl Inner {
    /// Deletes up to `limit` of each: interaction ids seen before `before`, pending requests
    /// expired before it, finished ledger rows last changed before it.
    fn prune_actions(&mut self, before: i64, limit: usize) -> usize {
        let mut seen: Vec<(i64, String)> = self
            .interactions
            .iter()
            .filter(|(_, at)| **at < before)
            .map(|(id, at)| (*at, id.clone()))
            .collect();
        seen.sort_unstable();
        seen.truncate(limit);
        for (_, id) in &seen {
            self.interactions.remove(id);
        }
        let mut expired: Vec<(i64, String)> = self
            .pending
            .values()
            .map(|p| (to_ms(p.pending.expires_at), p.id.clone()))
            .filter(|(at, _)| *at < before)
            .collect();
        expired.sort_unstable();
        expired.truncate(limit);
        for (_, id) in &expired {
            self.pending.remove(id);
        }
        let mut finished: Vec<(i64, String)> = self
            .ledger
            .iter()
            .filter(|(_, l)| l.outcome.is_some() && l.updated_at < before)
            .map(|(key, l)| (l.updated_at, key.clone()))
            .collect();
        finished.sort_unstable();
        finished.truncate(limit);
        for (_, key) in &finished {
            self.ledger.remove(key);
        }
        seen.len() + expired.len() + finished.len()
    }

    fn info(&self, id: i64, job: &Job) -> JobInfo {
        let (event_type, event_created) = self
            .events
            .get(&job.event_id)
            .map(|e| (e.event_type.clone(), e.created))
            .unwrap_or_default();
        JobInfo {
            id: JobId(id),
            event_id: job.event_id.clone(),
            event_type,
            event_created,
            destination: job.destination.clone(),
            thread_key: job.thread_key.clone(),
            digest: job.digest.clone(),
            state: job.state,
            attempts: job.attempts,
            not_before: from_ms(job.not_before),
            last_error: job.last_error.clone(),
            updated_at: from_ms(job.updated_at),
        }
    }

    fn event_created(&self, job: &Job) -> i64 {
        self.events.get(&job.event_id).map_or(0, |e| e.created)
    }

    /// The jobs `lease` names (its own, and every job of its digest batch), if the lease still
    /// holds them all.
    fn held(&self, lease: &LeasedJob) -> Result<BTreeSet<i64>, StoreError> {
        let mut named = vec![(lease.job_id, lease.token)];
        if let Some(batch) = &lease.digest {
            named.extend(batch.jobs.iter().map(|m| (m.job_id, m.token)));
        }
        let mut ids = BTreeSet::new();
        for (id, token) in named {
            match self.jobs.get(&id.0) {
                Some(job) if job.state == JobState::Leased && job.lease_token == token.0 => {
                    ids.insert(id.0);
                }
                _ => {
                    return Err(StoreError::LeaseLost {
                        job_id: lease.job_id,
                    });
                }
            }
        }
        Ok(ids)
    }

    /// Applies `change` to every job `lease` holds.
    fn settle(
        &mut self,
        lease: &LeasedJob,
        mut change: impl FnMut(&mut Job),
    ) -> Result<(), StoreError> {
        for id in self.held(lease)? {
            if let Some(job) = self.jobs.get_mut(&id) {
                change(job);
            }
        }
        Ok(())
    }

    /// Leases job `id` (which must be pending) until `until`; returns its new attempt and token.
    fn take(&mut self, id: i64, until: i64, wall: i64) -> Option<(u32, i64)> {
        let job = self.jobs.get_mut(&id)?;
        job.state = JobState::Leased;
        job.attempts = job.attempts.saturating_add(1);
        job.lease_token += 1;
        job.lease_until = Some(until);
        job.updated_at = wall;
        Some((job.attempts, job.lease_token))
    }

    fn insert_job(
        &mut self,
        event_id: &str,
        job: &NewJob,
        due: i64,
        now: i64,
        queued: i64,
    ) -> bool {
        let key = (event_id.to_owned(), job.destination.clone());
        if self.by_event_destination.contains_key(&key) {
            return false;
        }
        self.last_job_id += 1;
        let id = self.last_job_id;
        self.by_event_destination.insert(key, id);
        self.jobs.insert(
            id,
            Job {
                event_id: event_id.to_owned(),
                destination: job.destination.clone(),
                thread_key: job.thread_key.clone(),
                digest: job.digest.clone(),
                state: JobState::Pending,
                attempts: 0,
                not_before: job.not_before.map_or(due, to_ms),
                lease_token: 0,
                lease_until: None,
                last_error: None,
                updated_at: now,
                queued_at: queued,
            },
        );
        true
    }
}

pub(crate) fn validate_event(event: &NewEvent, jobs: &[NewJob]) -> Result<(), StoreError> {
    if event.id.is_empty() {
        return Err(StoreError::invalid("the event id is empty"));
    }
    if jobs.iter().any(|j| j.destination.is_empty()) {
        return Err(StoreError::invalid("a job's destination is empty"));
    }
    Ok(())
}

pub(crate) fn validate_lease(lease_for: Duration) -> Result<(), StoreError> {
    if lease_for.is_zero() {
        return Err(StoreError::invalid("the lease duration is zero"));
    }
    Ok(())
}

#[async_trait]
impl Store for MemoryStore {
    async fn ingest(&self, event: NewEvent, jobs: Vec<NewJob>) -> Result<Ingested, StoreError> {
        validate_event(&event, &jobs)?;
        let mut inner = self.lock()?;
        if inner.events.contains_key(&event.id) {
            return Ok(Ingested {
                duplicate: true,
                jobs_created: 0,
            });
        }
        let received = to_ms(event.received_at);
        let now = now_ms();
        let mut created = 0;
        for job in &jobs {
            if inner.insert_job(&event.id, job, received, now, received) {
                created += 1;
            }
        }
        inner.events.insert(
            event.id.clone(),
            StoredEvent {
                id: event.id,
                event_type: event.event_type,
                created: event.created,
                livemode: event.livemode,
                account: event.account,
                raw: event.raw,
                received_at: from_ms(received),
            },
        );
        Ok(Ingested {
            duplicate: false,
            jobs_created: created,
        })
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
        let _ = worker;
        let mut inner = self.lock()?;
        let now = to_ms(now);
        let wall = now_ms();
        // Take back expired leases: their workers died or stalled.
        for job in inner.jobs.values_mut() {
            if job.state == JobState::Leased && job.lease_until.is_some_and(|u| u <= now) {
                job.state = JobState::Pending;
                job.not_before = job.lease_until.unwrap_or(now);
                job.lease_until = None;
                job.last_error = Some(crate::LEASE_EXPIRED.to_owned());
                job.updated_at = wall;
            }
        }
        if max == 0 {
            return Ok(Vec::new());
        }
        let mut due: Vec<(i64, i64)> = inner
            .jobs
            .iter()
            .filter(|(_, j)| {
                j.state == JobState::Pending && j.not_before <= now && filter.admits(&j.destination)
            })
            .map(|(id, j)| (j.not_before, *id))
            .collect();
        due.sort_unstable();
        due.truncate(lease::scan_limit(max));
        let candidates: Vec<Candidate> = due
            .iter()
            .filter_map(|(_, id)| {
                inner.jobs.get(id).map(|j| Candidate {
                    id: *id,
                    destination: j.destination.clone(),
                    thread_key: j.thread_key.clone(),
                    digest: j.digest.clone(),
                })
            })
            .collect();
        let chosen = {
            let inner = &*inner;
            lease::choose(
                &candidates,
                max,
                |destination, key| {
                    Ok::<_, StoreError>(inner.jobs.values().any(|j| {
                        j.state == JobState::Leased
                            && j.destination == destination
                            && j.thread_key.as_deref() == Some(key)
                    }))
                },
                |destination, key| {
                    Ok(inner
                        .jobs
                        .iter()
                        .filter(|(_, j)| {
                            j.state == JobState::Pending
                                && j.not_before <= now
                                && j.destination == destination
                                && j.thread_key.as_deref() == Some(key)
                        })
                        .map(|(id, j)| (inner.event_created(j), *id))
                        .min()
                        .map(|(_, id)| id))
                },
                |destination, key| {
                    Ok(inner.jobs.values().any(|j| {
                        j.state == JobState::Leased
                            && j.destination == destination
                            && j.digest.as_deref() == Some(key)
                    }))
                },
            )?
        };
        let until = now.saturating_add(duration_ms(lease_for));
        let mut leased = Vec::with_capacity(chosen.len());
        for choice in chosen {
            let (id, attempt, token, batch) = match choice {
                Chosen::Job(id) => match inner.take(id, until, wall) {
                    Some((attempt, token)) => (id, attempt, token, None),
                    None => continue,
                },
                Chosen::Digest { destination, key } => {
                    let members: Vec<i64> = inner
                        .jobs
                        .iter()
                        .filter(|(_, j)| {
                            j.state == JobState::Pending
                                && j.not_before <= now
                                && j.destination == destination
                                && j.digest.as_deref() == Some(key.as_str())
                        })
                        .map(|(id, _)| *id)
                        .take(DigestBatch::MAX_JOBS)
                        .collect();
                    let mut jobs = Vec::with_capacity(members.len());
                    for member in members {
                        let Some((_, token)) = inner.take(member, until, wall) else {
                            continue;
                        };
                        let event_id = inner
                            .jobs
                            .get(&member)
                            .map(|j| j.event_id.clone())
                            .unwrap_or_default();
                        let Some(event) = inner.events.get(&event_id).cloned() else {
                            return Err(StoreError::internal("a job's event is missing"));
                        };
                        jobs.push(DigestMember {
                            job_id: JobId(member),
                            token: LeaseToken(token),
                            event,
                        });
                    }
                    // The batch's first job carries the lease.
                    let Some((id, token)) = jobs.first().map(|m| (m.job_id.0, m.token.0)) else {
                        continue;
                    };
                    let attempt = inner.jobs.get(&id).map_or(1, |j| j.attempts);
                    (id, attempt, token, Some(DigestBatch { key, jobs }))
                }
            };
            let Some(job) = inner.jobs.get(&id).cloned() else {
                continue;
            };
            let Some(event) = inner.events.get(&job.event_id).cloned() else {
                return Err(StoreError::internal("a job's event is missing"));
            };
            let (current_ref, others_queued) = match (&batch, &job.thread_key) {
                (None, Some(key)) => (
                    inner
                        .refs
                        .get(&(job.destination.clone(), key.clone()))
                        .cloned(),
                    inner
                        .jobs
                        .iter()
                        .filter(|(other, j)| {
                            **other != id
                                && matches!(j.state, JobState::Pending | JobState::Leased)
                                && j.destination == job.destination
                                && j.thread_key.as_ref() == Some(key)
                        })
                        .count(),
                ),
                _ => (None, 0),
            };
            leased.push(LeasedJob {
                job_id: JobId(id),
                token: LeaseToken(token),
                destination: job.destination,
                thread_key: job.thread_key,
                attempt,
                lease_until: from_ms(until),
                queued_at: from_ms(job.queued_at),
                event,
                current_ref,
                others_queued,
                digest: batch,
            });
        }
        Ok(leased)
    }

    async fn complete(
        &self,
        lease: &LeasedJob,
        delivered: Delivered,
    ) -> Result<RefUpdate, StoreError> {
        let mut inner = self.lock()?;
        let wall = now_ms();
        inner.settle(lease, |job| {
            job.state = JobState::Delivered;
            job.lease_until = None;
            job.updated_at = wall;
        })?;
        let Some(job) = inner.jobs.get(&lease.job_id.0).cloned() else {
            return Err(StoreError::internal("a delivered job is missing"));
        };
        let (Some(message_ref), Some(key)) = (delivered.message_ref, delivered.thread_key) else {
            return Ok(RefUpdate::NotStored);
        };
        let created = inner.event_created(&job);
        let slot = (job.destination.clone(), key);
        if let Some(current) = inner.refs.get(&slot)
            && current.event_created > created
        {
            return Ok(RefUpdate::KeptNewer(current.clone()));
        }
        inner.ref_updated.insert(slot.clone(), wall);
        inner.refs.insert(
            slot,
            StoredRef {
                message_ref,
                event_created: created,
                event_id: job.event_id,
            },
        );
        Ok(RefUpdate::Stored)
    }

    async fn retry(
        &self,
        lease: &LeasedJob,
        at: SystemTime,
        error: &str,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let (at, error, wall) = (to_ms(at), clip_error(error), now_ms());
        inner.settle(lease, |job| {
            job.state = JobState::Pending;
            job.not_before = at;
            job.lease_until = None;
            job.last_error = Some(error.clone());
            job.updated_at = wall;
        })
    }

    async fn defer(&self, lease: &LeasedJob, at: SystemTime) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let (at, wall) = (to_ms(at), now_ms());
        inner.settle(lease, |job| {
            job.state = JobState::Pending;
            job.attempts = job.attempts.saturating_sub(1);
            job.not_before = at;
            job.lease_until = None;
            job.updated_at = wall;
        })
    }

    async fn dead_letter(&self, lease: &LeasedJob, error: &str) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let (error, wall) = (clip_error(error), now_ms());
        inner.settle(lease, |job| {
            job.state = JobState::Dead;
            job.lease_until = None;
            job.last_error = Some(error.clone());
            job.updated_at = wall;
        })
    }

    async fn message_ref(
        &self,
        destination: &str,
        thread_key: &str,
    ) -> Result<Option<StoredRef>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .refs
            .get(&(destination.to_owned(), thread_key.to_owned()))
            .cloned())
    }

    async fn queued_jobs(
        &self,
        destination: &str,
        thread_key: &str,
    ) -> Result<Vec<JobInfo>, StoreError> {
        let inner = self.lock()?;
        let mut jobs: Vec<JobInfo> = inner
            .jobs
            .iter()
            .filter(|(_, j)| {
                matches!(j.state, JobState::Pending | JobState::Leased)
                    && j.destination == destination
                    && j.thread_key.as_deref() == Some(thread_key)
            })
            .map(|(id, j)| inner.info(*id, j))
            .collect();
        jobs.sort_by_key(|j| (j.event_created, j.id));
        Ok(jobs)
    }

    async fn supersede(&self, job: JobId, reason: &str) -> Result<bool, StoreError> {
        let mut inner = self.lock()?;
        match inner.jobs.get_mut(&job.0) {
            Some(j) if j.state == JobState::Pending => {
                j.state = JobState::Superseded;
                j.last_error = Some(clip_error(reason));
                j.updated_at = now_ms();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn dlq_list(&self, limit: usize) -> Result<Vec<JobInfo>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .jobs
            .iter()
            .filter(|(_, j)| j.state == JobState::Dead)
            .take(limit)
            .map(|(id, j)| inner.info(*id, j))
            .collect())
    }

    async fn dlq_retry(&self, target: DlqTarget, now: SystemTime) -> Result<usize, StoreError> {
        let mut inner = self.lock()?;
        let now = to_ms(now);
        let wall = now_ms();
        // Retrying one job of a digest retries its whole digest: they were given up on together.
        let digest = match target {
            DlqTarget::Job(JobId(wanted)) => inner
                .jobs
                .get(&wanted)
                .filter(|j| j.state == JobState::Dead)
                .and_then(|j| j.digest.clone().map(|d| (j.destination.clone(), d))),
            DlqTarget::All => None,
        };
        let mut count = 0;
        for (id, job) in inner.jobs.iter_mut() {
            let named = match target {
                DlqTarget::All => true,
                DlqTarget::Job(JobId(wanted)) => {
                    *id == wanted
                        || digest.as_ref().is_some_and(|(destination, key)| {
                            job.destination == *destination
                                && job.digest.as_deref() == Some(key.as_str())
                        })
                }
            };
            if named && job.state == JobState::Dead {
                job.state = JobState::Pending;
                job.attempts = 0;
                job.not_before = now;
                job.updated_at = wall;
                job.queued_at = now;
                count += 1;
            }
        }
        Ok(count)
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
        let mut inner = self.lock()?;
        if !inner.events.contains_key(event_id) {
            return Err(StoreError::NotFound {
                what: "event",
                id: event_id.to_owned(),
            });
        }
        let now = to_ms(now);
        let wall = now_ms();
        let reset = |job: &mut Job, keys: Option<&NewJob>, not_before: i64| {
            if matches!(
                job.state,
                JobState::Delivered | JobState::Dead | JobState::Superseded
            ) {
                job.state = JobState::Pending;
                job.attempts = 0;
                job.not_before = not_before;
                job.updated_at = wall;
                job.queued_at = now;
                if let Some(new) = keys {
                    job.thread_key = new.thread_key.clone();
                    job.digest = new.digest.clone();
                }
                true
            } else {
                false
            }
        };
        let mut count = 0;
        if jobs.is_empty() {
            for job in inner.jobs.values_mut() {
                if job.event_id == event_id && reset(job, None, now) {
                    count += 1;
                }
            }
            return Ok(count);
        }
        for new in &jobs {
            let key = (event_id.to_owned(), new.destination.clone());
            let not_before = new.not_before.map_or(now, to_ms);
            match inner.by_event_destination.get(&key).copied() {
                Some(id) => {
                    if let Some(job) = inner.jobs.get_mut(&id)
                        && reset(job, Some(new), not_before)
                    {
                        count += 1;
                    }
                }
                None => {
                    if inner.insert_job(event_id, new, not_before, wall, now) {
                        count += 1;
                    }
                }
            }
        }
        Ok(count)
    }

    async fn event(&self, event_id: &str) -> Result<Option<StoredEvent>, StoreError> {
        Ok(self.lock()?.events.get(event_id).cloned())
    }

    async fn stats(&self) -> Result<Stats, StoreError> {
        let inner = self.lock()?;
        let mut stats = Stats::default();
        for job in inner.jobs.values() {
            match job.state {
                JobState::Pending => stats.pending += 1,
                JobState::Leased => stats.leased += 1,
                JobState::Dead => stats.dead += 1,
                JobState::Delivered => stats.delivered += 1,
                JobState::Superseded => stats.superseded += 1,
            }
        }
        Ok(stats)
    }

    async fn prune(&self, before: SystemTime, limit: usize) -> Result<Pruned, StoreError> {
        let mut inner = self.lock()?;
        let before = to_ms(before);
        // Like the SQLite store, keep the newest job (there, it keeps ids from being reused).
        let newest = inner.jobs.keys().next_back().copied();
        let doomed: Vec<i64> = inner
            .jobs
            .iter()
            .filter(|(id, j)| {
                matches!(j.state, JobState::Delivered | JobState::Superseded)
                    && j.updated_at < before
                    && Some(**id) != newest
            })
            .map(|(id, _)| *id)
            .take(limit)
            .collect();
        for id in &doomed {
            if let Some(job) = inner.jobs.remove(id) {
                inner
                    .by_event_destination
                    .remove(&(job.event_id, job.destination));
            }
        }
        let mut empty: Vec<(i64, String)> = inner
            .events
            .values()
            .filter(|e| to_ms(e.received_at) < before)
            .filter(|e| !inner.jobs.values().any(|j| j.event_id == e.id))
            .map(|e| (to_ms(e.received_at), e.id.clone()))
            .collect();
        empty.sort_unstable();
        empty.truncate(limit);
        for (_, id) in &empty {
            inner.events.remove(id);
        }
        let mut stale: Vec<(i64, (String, String))> = inner
            .ref_updated
            .iter()
            .filter(|(_, at)| **at < before)
            .filter(|((destination, key), _)| {
                !inner.jobs.values().any(|j| {
                    j.destination == *destination && j.thread_key.as_deref() == Some(key.as_str())
                })
            })
            .map(|(slot, at)| (*at, slot.clone()))
            .collect();
        stale.sort_unstable();
        stale.truncate(limit);
        for (_, slot) in &stale {
            inner.refs.remove(slot);
            inner.ref_updated.remove(slot);
        }
        let actions = inner.prune_actions(before, limit);
        Ok(Pruned {
            jobs: doomed.len(),
            events: empty.len(),
            refs: stale.len(),
            actions,
            unfinished: false,
        })
    }

    async fn backlog(&self) -> Result<Vec<Backlog>, StoreError> {
        let inner = self.lock()?;
        let mut by_destination: BTreeMap<&str, (u64, i64)> = BTreeMap::new();
        for job in inner.jobs.values() {
            if matches!(job.state, JobState::Pending | JobState::Leased) {
                let entry = by_destination
                    .entry(job.destination.as_str())
                    .or_insert((0, i64::MAX));
                entry.0 += 1;
                entry.1 = entry.1.min(job.queued_at);
            }
        }
        Ok(by_destination
            .into_iter()
            .map(|(destination, (queued, oldest))| Backlog {
                destination: destination.to_owned(),
                queued,
                oldest_queued_at: Some(from_ms(oldest)),
            })
            .collect())
    }

    async fn audit_append(&self, row: AuditRow) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let next = inner.audit.last().map_or(1, |r| r.seq + 1);
        if row.seq != next {
            return Err(StoreError::Conflict {
                reason: format!("audit record {} (the next is {next})", row.seq),
            });
        }
        inner.audit.push(row);
        Ok(())
    }

    async fn audit_last(&self) -> Result<Option<AuditRow>, StoreError> {
        Ok(self.lock()?.audit.last().cloned())
    }

    async fn audit_read(&self, from: u64, limit: usize) -> Result<Vec<AuditRow>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .audit
            .iter()
            .filter(|r| r.seq >= from)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn audit_checkpoint(&self, row: AuditCheckpointRow) -> Result<(), StoreError> {
        self.lock()?.checkpoints.entry(row.size).or_insert(row);
        Ok(())
    }

    async fn audit_checkpoints(&self) -> Result<Vec<AuditCheckpointRow>, StoreError> {
        Ok(self.lock()?.checkpoints.values().cloned().collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.lock().map(|_| ())
    }

    async fn prunable(&self, before: SystemTime) -> Result<Pruned, StoreError> {
        let inner = self.lock()?;
        let before = to_ms(before);
        let newest = inner.jobs.keys().next_back().copied();
        let doomed = |id: i64, job: &Job| {
            matches!(job.state, JobState::Delivered | JobState::Superseded)
                && job.updated_at < before
                && Some(id) != newest
        };
        let jobs = inner.jobs.iter().filter(|(id, j)| doomed(**id, j)).count();
        let events = inner
            .events
            .values()
            .filter(|e| to_ms(e.received_at) < before)
            .filter(|e| {
                inner
                    .jobs
                    .iter()
                    .filter(|(_, j)| j.event_id == e.id)
                    .all(|(id, j)| doomed(*id, j))
            })
            .count();
        let refs = inner
            .ref_updated
            .iter()
            .filter(|(_, at)| **at < before)
            .filter(|((destination, key), _)| {
                inner.jobs.iter().all(|(id, j)| {
                    j.destination != *destination
                        || j.thread_key.as_deref() != Some(key.as_str())
                        || doomed(*id, j)
                })
            })
            .count();
        let actions = inner
            .interactions
            .values()
            .filter(|at| **at < before)
            .count()
            + inner
                .pending
                .values()
                .filter(|p| to_ms(p.pending.expires_at) < before)
                .count()
            + inner
                .ledger
                .values()
                .filter(|l| l.outcome.is_some() && l.updated_at < before)
                .count();
        Ok(Pruned {
            jobs,
            events,
            refs,
            actions,
            unfinished: false,
        })
    }

    async fn interaction_first_seen(&self, id: &str, now: SystemTime) -> Result<bool, StoreError> {
        if id.is_empty() {
            return Err(StoreError::invalid("an interaction id is empty"));
        }
        let mut inner = self.lock()?;
        if inner.interactions.contains_key(id) {
            return Ok(false);
        }
        inner.interactions.insert(id.to_owned(), to_ms(now));
        Ok(true)
    }

    async fn pending_create(&self, pending: NewPending) -> Result<PendingRow, StoreError> {
        validate_pending(&pending)?;
        let mut inner = self.lock()?;
        let id = new_pending_id()?;
        let row = PendingRow {
            id: id.clone(),
            pending,
            approved_by: None,
        };
        inner.pending.insert(id, row.clone());
        Ok(row)
    }

    async fn pending(&self, id: &str) -> Result<Option<PendingRow>, StoreError> {
        Ok(self.lock()?.pending.get(id).cloned())
    }

    async fn pending_advance(
        &self,
        id: &str,
        from: &str,
        change: PendingChange,
        now: SystemTime,
    ) -> Result<Option<PendingRow>, StoreError> {
        let mut inner = self.lock()?;
        let Some(row) = inner.pending.get_mut(id) else {
            return Ok(None);
        };
        if row.pending.stage != from || to_ms(row.pending.expires_at) < to_ms(now) {
            return Ok(None);
        }
        row.pending.stage = change.stage;
        if let Some(approver) = change.approved_by {
            row.approved_by = Some(approver);
        }
        if let Some(at) = change.expires_at {
            row.pending.expires_at = at;
        }
        Ok(Some(row.clone()))
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
        let now = to_ms(now);
        let stale_before = now.saturating_sub(duration_ms(stale_after));
        let mut inner = self.lock()?;
        let Some(row) = inner.ledger.get_mut(key) else {
            inner.ledger.insert(
                key.to_owned(),
                LedgerRow {
                    attempt: 1,
                    claimed_at: now,
                    outcome: None,
                    updated_at: now,
                },
            );
            return Ok(Claim::Claimed { attempt: 1 });
        };
        match &row.outcome {
            None if row.claimed_at >= stale_before => {
                return Ok(Claim::InFlight {
                    since: from_ms(row.claimed_at),
                });
            }
            Some(outcome) if !outcome.status.may_claim_again() => {
                return Ok(Claim::AlreadyDone(outcome.clone()));
            }
            _ => {}
        }
        row.attempt = row.attempt.saturating_add(1);
        row.claimed_at = now;
        row.outcome = None;
        row.updated_at = now;
        Ok(Claim::Claimed {
            attempt: row.attempt,
        })
    }

    async fn ledger_record(
        &self,
        key: &str,
        attempt: u32,
        outcome: LedgerOutcome,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock()?;
        match inner.ledger.get_mut(key) {
            Some(row) if row.attempt == attempt && row.outcome.is_none() => {
                row.outcome = Some(outcome);
                row.updated_at = to_ms(now);
                Ok(true)
            }
            _ => Ok(false),
        }
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
        let mut inner = self.lock()?;
        let newer = inner
            .contacts
            .get(customer)
            .is_none_or(|kept| to_ms(at) >= to_ms(kept.at));
        if newer {
            inner.contacts.insert(
                customer.to_owned(),
                Contact {
                    person: person.to_owned(),
                    at,
                },
            );
        }
        Ok(())
    }

    async fn last_contact(&self, customer: &str) -> Result<Option<Contact>, StoreError> {
        Ok(self.lock()?.contacts.get(customer).cloned())
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
        self.lock()?.assignments.insert(
            object.to_owned(),
            Assignment {
                assignee: assignee.to_owned(),
                by: by.to_owned(),
                at,
            },
        );
        Ok(())
    }

    async fn assignment(&self, object: &str) -> Result<Option<Assignment>, StoreError> {
        Ok(self.lock()?.assignments.get(object).cloned())
    }
}

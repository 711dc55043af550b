//! The lease choice every store shares, so they agree on which jobs a worker gets.

use std::collections::HashSet;

/// A due pending job, as the scan in `(not_before, id)` order finds it.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub(crate) id: i64,
    pub(crate) destination: String,
    pub(crate) thread_key: Option<String>,
    pub(crate) digest: Option<String>,
}

/// How many due jobs one lease call looks at, for `max` wanted: jobs of threads that are busy
/// are skipped, so it looks further than `max`.
pub(crate) fn scan_limit(max: usize) -> usize {
    max.saturating_mul(8).max(64)
}

/// A job chosen by [`choose`]: on its own, or as the first of its digest's batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Chosen {
    /// A job delivered on its own.
    Job(i64),
    /// The due pending jobs of `(destination, key)`.
    Digest { destination: String, key: String },
}

/// Picks up to `max` jobs from `candidates` (in order): a job without a thread key as it comes;
/// for a thread key, nothing if a job of that `(destination, thread_key)` is leased, else the
/// thread's oldest due job (`oldest_due`, by event `created` then id), once per thread. A job
/// with a digest key stands for its whole digest: nothing if a job of that
/// `(destination, digest)` is leased (`digest_busy`), else the digest once (its thread key is
/// not looked at).
pub(crate) fn choose<E>(
    candidates: &[Candidate],
    max: usize,
    mut thread_busy: impl FnMut(&str, &str) -> Result<bool, E>,
    mut oldest_due: impl FnMut(&str, &str) -> Result<Option<i64>, E>,
    mut digest_busy: impl FnMut(&str, &str) -> Result<bool, E>,
) -> Result<Vec<Chosen>, E> {
    let mut chosen: Vec<Chosen> = Vec::new();
    let mut threads: HashSet<(&str, &str)> = HashSet::new();
    let mut digests: HashSet<(&str, &str)> = HashSet::new();
    for candidate in candidates {
        if chosen.len() >= max {
            break;
        }
        if let Some(key) = candidate.digest.as_deref() {
            let digest = (candidate.destination.as_str(), key);
            if !digests.insert(digest) || digest_busy(digest.0, digest.1)? {
                continue;
            }
            chosen.push(Chosen::Digest {
                destination: digest.0.to_owned(),
                key: key.to_owned(),
            });
            continue;
        }
        let Some(key) = candidate.thread_key.as_deref() else {
            chosen.push(Chosen::Job(candidate.id));
            continue;
        };
        let thread = (candidate.destination.as_str(), key);
        if !threads.insert(thread) {
            continue;
        }
        if thread_busy(thread.0, thread.1)? {
            continue;
        }
        if let Some(id) = oldest_due(thread.0, thread.1)? {
            chosen.push(Chosen::Job(id));
        }
    }
    Ok(chosen)
}

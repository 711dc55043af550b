//! A short cache of Stripe's answers, one read in flight per object.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::OnceCell;
use tokio::time::Instant;

/// An answer and when it came.
type Filled = (Instant, Arc<Value>);

/// Answers by read (account, path, query), each kept `ttl` after it came. Concurrent reads of
/// one key wait for the first: one request to Stripe, not one per waiting event. A failed read
/// is not kept; the next event tries again.
pub(crate) struct Cache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<String, Arc<OnceCell<Filled>>>>,
}

impl Cache {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Cache {
            ttl,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The answer kept for `key`, else the one `read` gets (kept when it succeeds).
    pub(crate) async fn get_or_read<E, F, Fut>(&self, key: &str, read: F) -> Result<Arc<Value>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Value, E>>,
    {
        let cell = {
            let now = Instant::now();
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let fresh = |cell: &OnceCell<Filled>| {
                cell.get()
                    .is_none_or(|(at, _)| now.duration_since(*at) < self.ttl)
            };
            match entries.get(key) {
                Some(cell) if fresh(cell) => Arc::clone(cell),
                _ => {
                    if entries.len() >= self.capacity {
                        entries.retain(|_, cell| cell.get().is_some_and(|_| fresh(cell)));
                        if entries.len() >= self.capacity {
                            entries.clear();
                        }
                    }
                    let cell = Arc::new(OnceCell::new());
                    entries.insert(key.to_owned(), Arc::clone(&cell));
                    cell
                }
            }
        };
        let (_, value) = cell
            .get_or_try_init(|| async { Ok((Instant::now(), Arc::new(read().await?))) })
            .await?;
        Ok(Arc::clone(value))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_answer_is_kept_for_its_time_to_live_and_read_again_after() {
        let cache = Cache::new(Duration::from_secs(60), 100);
        let reads = AtomicUsize::new(0);
        let read = || async {
            reads.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(Value::from(1))
        };
        for _ in 0..3 {
            assert!(cache.get_or_read("a", read).await.is_ok());
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(cache.get_or_read("a", read).await.is_ok());
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_read_is_not_kept() {
        let cache = Cache::new(Duration::from_secs(60), 100);
        assert!(
            cache
                .get_or_read("a", || async { Err::<Value, _>("down") })
                .await
                .is_err()
        );
        let value = cache
            .get_or_read("a", || async { Ok::<_, ()>(Value::from(2)) })
            .await;
        assert_eq!(value.ok().as_deref(), Some(&Value::from(2)));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_reads_of_one_key_make_one_request() {
        let cache = Arc::new(Cache::new(Duration::from_secs(60), 100));
        let reads = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let (cache, reads) = (Arc::clone(&cache), Arc::clone(&reads));
            tasks.spawn(async move {
                cache
                    .get_or_read("a", || async {
                        reads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok::<_, ()>(Value::from(3))
                    })
                    .await
                    .is_ok()
            });
        }
        while let Some(done) = tasks.join_next().await {
            assert!(matches!(done, Ok(true)));
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_cache_makes_room() {
        let cache = Cache::new(Duration::from_secs(60), 2);
        for key in ["a", "b", "c", "d"] {
            assert!(
                cache
                    .get_or_read(key, || async { Ok::<_, ()>(Value::Null) })
                    .await
                    .is_ok()
            );
        }
        assert!(cache.entries.lock().map(|e| e.len() <= 2).unwrap_or(false));
    }
}

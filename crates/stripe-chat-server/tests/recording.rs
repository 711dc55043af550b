//! What the workers ask of the store: a lease of quick deliveries is recorded in one request,
//! slow or paced ones each as soon as it is answered; an object's queue is looked up only when
//! the lease's view of it is stale or not empty; leases grow only while no webhook is being
//! acknowledged. Over a store that counts its calls, with the runtime's clock paused (time moves
//! only while every task waits on a timer).

#![allow(clippy::unwrap_used)] // test code: an unexpected error is the test failing

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use stripe_chat_message::{
    Capabilities, ChatMessage, ChatProvider, DeliveryError, IdempotencyKey, MessageRef,
    RenderError, Renderer, async_trait,
};
use stripe_chat_redact::RedactionConfig;
use stripe_chat_server::config::{Destination, ServiceConfig};
use stripe_chat_server::metrics::Metrics;
use stripe_chat_server::worker::Delivery;
use stripe_chat_store::{
    AuditCheckpointRow, AuditRow, Backlog, Delivered, DlqTarget, Ingested, JobId, JobInfo,
    LeaseFilter, LeasedJob, MemoryStore, NewEvent, NewJob, Outcome, Pruned, RefUpdate, Stats,
    Store, StoreError, StoredEvent, StoredRef,
};

/// A [`MemoryStore`] that counts the outcomes recorded one by one, for each `settle` how many it
/// recorded at once, and the lookups of an object's queue.
#[derive(Default)]
struct Counting {
    inner: MemoryStore,
    one_by_one: Mutex<usize>,
    settled: Mutex<Vec<usize>>,
    queue_lookups: Mutex<usize>,
}

/// What a run asked of the store.
#[derive(Debug)]
struct Asked {
    /// How many outcomes each `settle` recorded.
    settled: Vec<usize>,
    /// Lookups of an object's queued jobs.
    queue_lookups: usize,
}

impl Counting {
    fn settled(&self) -> Vec<usize> {
        self.settled.lock().unwrap().clone()
    }

    fn one_by_one(&self) -> usize {
        *self.one_by_one.lock().unwrap()
    }

    fn counted_one(&self) {
        *self.one_by_one.lock().unwrap() += 1;
    }
}

#[async_trait]
impl Store for Counting {
    async fn ingest(&self, event: NewEvent, jobs: Vec<NewJob>) -> Result<Ingested, StoreError> {
        self.inner.ingest(event, jobs).await
    }
    async fn lease_where(
        &self,
        worker: &str,
        max: usize,
        lease_for: Duration,
        now: SystemTime,
        filter: &LeaseFilter,
    ) -> Result<Vec<LeasedJob>, StoreError> {
        self.inner
            .lease_where(worker, max, lease_for, now, filter)
            .await
    }
    async fn complete(
        &self,
        lease: &LeasedJob,
        delivered: Delivered,
    ) -> Result<RefUpdate, StoreError> {
        self.counted_one();
        self.inner.complete(lease, delivered).await
    }
    async fn retry(
        &self,
        lease: &LeasedJob,
        at: SystemTime,
        error: &str,
    ) -> Result<(), StoreError> {
        self.counted_one();
        self.inner.retry(lease, at, error).await
    }
    async fn defer(&self, lease: &LeasedJob, at: SystemTime) -> Result<(), StoreError> {
        self.counted_one();
        self.inner.defer(lease, at).await
    }
    async fn dead_letter(&self, lease: &LeasedJob, error: &str) -> Result<(), StoreError> {
        self.counted_one();
        self.inner.dead_letter(lease, error).await
    }
    async fn settle(
        &self,
        outcomes: Vec<(&LeasedJob, Outcome)>,
    ) -> Vec<Result<RefUpdate, StoreError>> {
        self.settled.lock().unwrap().push(outcomes.len());
        self.inner.settle(outcomes).await
    }
    async fn message_ref(
        &self,
        destination: &str,
        thread_key: &str,
    ) -> Result<Option<StoredRef>, StoreError> {
        self.inner.message_ref(destination, thread_key).await
    }
    async fn queued_jobs(
        &self,
        destination: &str,
        thread_key: &str,
    ) -> Result<Vec<JobInfo>, StoreError> {
        *self.queue_lookups.lock().unwrap() += 1;
        self.inner.queued_jobs(destination, thread_key).await
    }
    async fn supersede(&self, job: JobId, reason: &str) -> Result<bool, StoreError> {
        self.inner.supersede(job, reason).await
    }
    async fn dlq_list(&self, limit: usize) -> Result<Vec<JobInfo>, StoreError> {
        self.inner.dlq_list(limit).await
    }
    async fn dlq_retry(&self, target: DlqTarget, now: SystemTime) -> Result<usize, StoreError> {
        self.inner.dlq_retry(target, now).await
    }
    async fn replay(
        &self,
        event_id: &str,
        jobs: Vec<NewJob>,
        now: SystemTime,
    ) -> Result<usize, StoreError> {
        self.inner.replay(event_id, jobs, now).await
    }
    async fn event(&self, event_id: &str) -> Result<Option<StoredEvent>, StoreError> {
        self.inner.event(event_id).await
    }
    async fn stats(&self) -> Result<Stats, StoreError> {
        self.inner.stats().await
    }
    async fn prune(&self, before: SystemTime, limit: usize) -> Result<Pruned, StoreError> {
        self.inner.prune(before, limit).await
    }
    async fn prunable(&self, before: SystemTime) -> Result<Pruned, StoreError> {
        self.inner.prunable(before).await
    }
    async fn audit_append(&self, row: AuditRow) -> Result<(), StoreError> {
        self.inner.audit_append(row).await
    }
    async fn audit_last(&self) -> Result<Option<AuditRow>, StoreError> {
        self.inner.audit_last().await
    }
    async fn audit_read(&self, from: u64, limit: usize) -> Result<Vec<AuditRow>, StoreError> {
        self.inner.audit_read(from, limit).await
    }
    async fn audit_checkpoint(&self, row: AuditCheckpointRow) -> Result<(), StoreError> {
        self.inner.audit_checkpoint(row).await
    }
    async fn audit_checkpoints(&self) -> Result<Vec<AuditCheckpointRow>, StoreError> {
        self.inner.audit_checkpoints().await
    }
    async fn backlog(&self) -> Result<Vec<Backlog>, StoreError> {
        self.inner.backlog().await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

/// A platform that answers after `takes` (on the runtime's clock).
struct Platform {
    takes: Duration,
    sent: Mutex<usize>,
}

impl Renderer for Platform {
    fn platform(&self) -> &str {
        "memory"
    }
    fn render(&self, message: &ChatMessage) -> Result<serde_json::Value, RenderError> {
        Ok(serde_json::json!({ "text": message.title }))
    }
}

#[async_trait]
impl ChatProvider for Platform {
    fn capabilities(&self) -> Capabilities {
        Capabilities::SEND_ONLY
    }
    async fn send_raw(
        &self,
        _body: serde_json::Value,
        _thread: Option<&MessageRef>,
        _key: &IdempotencyKey,
    ) -> Result<MessageRef, DeliveryError> {
        if !self.takes.is_zero() {
            tokio::time::sleep(self.takes).await;
        }
        let mut sent = self.sent.lock().unwrap();
        *sent += 1;
        Ok(MessageRef::new("memory", sent.to_string()))
    }
}

/// `count` payment failures, each about its own invoice, queued for "chat".
async fn queue(store: &Counting, count: usize) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/events/invoice.payment_failed@2022-11-15.json");
    let sample: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for i in 0..count {
        let mut raw = sample.clone();
        raw["id"] = format!("evt_{i}").into();
        let event = NewEvent {
            id: format!("evt_{i}"),
            event_type: "invoice.payment_failed".into(),
            created: 1_700_000_000,
            livemode: false,
            account: None,
            raw: raw.to_string(),
            received_at: SystemTime::now(),
        };
        let job = NewJob::new("chat").thread_key(format!("invoice/in_{i}"));
        store.ingest(event, vec![job]).await.unwrap();
    }
}

/// Delivers `count` queued jobs with one worker to a platform that takes `takes` per message, at
/// most `max_per_second`.
async fn deliver(count: usize, takes: Duration, max_per_second: Option<f64>) -> Asked {
    deliver_while(count, takes, max_per_second, false).await
}

/// [`deliver`], while webhooks are acknowledged every millisecond when `ingesting`.
async fn deliver_while(
    count: usize,
    takes: Duration,
    max_per_second: Option<f64>,
    ingesting: bool,
) -> Asked {
    let mut config = ServiceConfig::from_toml(
        "[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_x\"]\n[store]\nsqlite = \"unused.db\"\n[delivery]\nworkers = 1\n",
    )
    .unwrap();
    let platform = Arc::new(Platform {
        takes,
        sent: Mutex::new(0),
    });
    config.destinations.push(Destination {
        name: "chat".into(),
        provider: Arc::clone(&platform) as Arc<dyn ChatProvider>,
        redaction: RedactionConfig::default(),
        thread_replies: false,
        max_per_second,
        retry_horizon: None,
        file_path: None,
    });
    let store = Arc::new(Counting::default());
    queue(&store, count).await;
    let metrics = Arc::new(Metrics::default());
    let delivery = Delivery::new(
        &config,
        Arc::clone(&store) as Arc<dyn Store>,
        Arc::clone(&metrics),
        Arc::default(),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    if ingesting {
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            while !*stopped.borrow_and_update() {
                metrics.acknowledged(false, Duration::from_millis(1));
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
    }
    let mut workers = delivery.spawn(stopped);
    while store.stats().await.unwrap().delivered < count as u64 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    stop.send(true).unwrap();
    while workers.join_next().await.is_some() {}
    assert_eq!(*platform.sent.lock().unwrap(), count);
    assert_eq!(store.one_by_one(), 0, "every outcome went through settle");
    Asked {
        settled: store.settled(),
        queue_lookups: *store.queue_lookups.lock().unwrap(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_lease_of_quick_deliveries_is_recorded_in_one_store_request() {
    let asked = deliver(20, Duration::ZERO, None).await;
    // A lease of 8, then, since it came back full and went quickly, one of 16: the 12 left.
    assert_eq!(asked.settled, [8, 12]);
}

#[tokio::test(start_paused = true)]
async fn a_slow_platforms_deliveries_are_recorded_one_by_one_as_they_are_answered() {
    let asked = deliver(10, Duration::from_millis(200), None).await;
    assert_eq!(asked.settled, [1; 10]);
}

#[tokio::test(start_paused = true)]
async fn a_paced_destinations_deliveries_are_recorded_before_the_worker_waits_for_the_next_slot() {
    let asked = deliver(10, Duration::ZERO, Some(2.0)).await;
    assert_eq!(asked.settled, [1; 10]);
}

#[tokio::test(start_paused = true)]
async fn a_notice_alone_in_its_objects_queue_is_sent_without_looking_the_queue_up_again() {
    // Payment failures, each the only job of its invoice: the lease said so, just now.
    let asked = deliver(20, Duration::ZERO, None).await;
    assert_eq!(asked.queue_lookups, 0);
}

#[tokio::test(start_paused = true)]
async fn a_notice_started_long_after_its_lease_looks_its_objects_queue_up_again() {
    // 200 ms per message: of each lease (8, then 2) only the first job starts right after it.
    let asked = deliver(10, Duration::from_millis(200), None).await;
    assert_eq!(asked.queue_lookups, 7 + 1);
}

#[tokio::test(start_paused = true)]
async fn leases_stay_small_while_webhooks_are_acknowledged() {
    // 1 ms per message: a lease of 16 would be recorded in two parts (10 ms, then the rest).
    let idle = deliver_while(20, Duration::from_millis(1), None, false).await;
    assert_eq!(
        idle.settled,
        [8, 10, 2],
        "a lease of 8, then one of 16 (12 left)"
    );
    let ingesting = deliver_while(20, Duration::from_millis(1), None, true).await;
    assert_eq!(ingesting.settled, [8, 8, 4]);
}

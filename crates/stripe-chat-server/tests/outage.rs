//! Delivery through outages, in process: a destination that fails is paused as a whole and probed
//! one request at a time, rate limits cost no attempt, the retry horizon dead-letters with its
//! reason, another destination keeps delivering, and a late message says how late it is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use stripe_chat_events::sign;
use stripe_chat_server::config::ServiceConfig;
use stripe_chat_server::service::Service;
use stripe_chat_store::{MemoryStore, Store};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers};

const SECRET: &str = "whsec_test_secret";

fn fixture(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A payment about `pi_{object}`, created `created`.
fn payment(id: &str, object: &str, created: i64) -> String {
    let mut e = fixture("payment_intent.succeeded@2026-09-30.endive.json");
    e["id"] = id.into();
    e["created"] = created.into();
    e["data"]["object"]["id"] = format!("pi_{object}").into();
    e["data"]["object"]["invoice"] = serde_json::Value::Null;
    e.to_string()
}

/// What the chat platform answers: 503 while down, else 200; each request is recorded with its
/// answer and the event it carried.
#[derive(Clone, Default)]
struct Platform {
    down: Arc<AtomicBool>,
    /// Refuses every message for good (422 with the receiver's reason) while set.
    refusing: Arc<AtomicBool>,
    /// A `Retry-After` to answer with 429 once, before anything else.
    rate_limit_once: Arc<Mutex<Option<u64>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    status: u16,
    event: Option<String>,
    footer: Option<String>,
}

impl Respond for Platform {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: serde_json::Value =
            serde_json::from_slice(&request.body).unwrap_or(serde_json::Value::Null);
        let limited = self.rate_limit_once.lock().expect("lock").take();
        let status = match limited {
            Some(_) => 429,
            None if self.refusing.load(Ordering::SeqCst) => 422,
            None if self.down.load(Ordering::SeqCst) => 503,
            None => 200,
        };
        self.seen.lock().expect("lock").push(Seen {
            at: Instant::now(),
            status,
            event: body
                .pointer("/message/source/event_id")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            footer: body
                .pointer("/message/footer")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        });
        match limited {
            Some(secs) => {
                ResponseTemplate::new(429).insert_header("Retry-After", secs.to_string().as_str())
            }
            None if status == 422 => ResponseTemplate::new(422)
                .set_body_json(serde_json::json!({"error": "unknown_team"})),
            None => ResponseTemplate::new(status),
        }
    }
}

impl Platform {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    fn delivered(&self) -> BTreeMap<String, usize> {
        let mut per_event = BTreeMap::new();
        for seen in self.seen() {
            if let (200, Some(event)) = (seen.status, seen.event) {
                *per_event.entry(event).or_default() += 1;
            }
        }
        per_event
    }
}

struct Running {
    service: Service,
    store: Arc<MemoryStore>,
    platform: Platform,
    file: PathBuf,
    _server: MockServer,
    _dir: tempfile::TempDir,
}

impl Running {
    /// The service with a webhook destination `out` on the mock platform and a file destination
    /// `log`, both routed every event.
    async fn start(delivery: &str) -> Running {
        Running::start_with(delivery, "").await
    }

    /// As [`Running::start`], with `out_keys` (TOML lines) added to the destination `out`.
    async fn start_with(delivery: &str, out_keys: &str) -> Running {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("messages.jsonl");
        let platform = Platform::default();
        let server = MockServer::start().await;
        Mock::given(matchers::method("POST"))
            .respond_with(platform.clone())
            .mount(&server)
            .await;
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"{SECRET}\"]\n[store]\nsqlite = \"unused.db\"\n[delivery]\n{delivery}\n[[destinations]]\nname = \"out\"\nprovider = \"webhook\"\nurl = \"{}/hook\"\nsecret = \"outage-test-signing-secret-0123\"\n{out_keys}\n[[destinations]]\nname = \"log\"\nprovider = \"file\"\npath = {:?}\n[[routes]]\nevents = [\"*\"]\nto = [\"out\", \"log\"]\n",
            server.uri(),
            file.display().to_string()
        );
        let config = ServiceConfig::from_toml(&text).expect("config");
        let store = Arc::new(MemoryStore::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let service =
            Service::start(&config, Arc::clone(&store) as Arc<dyn Store>, listener).expect("start");
        Running {
            service,
            store,
            platform,
            file,
            _server: server,
            _dir: dir,
        }
    }

    /// Posts a signed event and returns how long its acknowledgement took.
    async fn post(&self, body: &str) -> Duration {
        let started = Instant::now();
        let response = reqwest::Client::new()
            .post(format!(
                "http://{}/webhooks/stripe",
                self.service.local_addr()
            ))
            .header("Stripe-Signature", sign(body.as_bytes(), SECRET, now()))
            .body(body.to_owned())
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 200);
        started.elapsed()
    }

    async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.service.local_addr()))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    /// The first dead letter, once there is one (waiting up to 10 s).
    async fn dead_letter(&self) -> Option<stripe_chat_store::JobInfo> {
        let dead = wait_for(Duration::from_secs(10), async || {
            self.store.stats().await.expect("stats").dead >= 1
        })
        .await;
        if !dead {
            return None;
        }
        self.store
            .dlq_list(10)
            .await
            .expect("dlq")
            .into_iter()
            .next()
    }

    fn file_lines(&self) -> usize {
        std::fs::read_to_string(&self.file)
            .unwrap_or_default()
            .lines()
            .count()
    }
}

async fn wait_for(timeout: Duration, mut done: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_pauses_the_destination_and_its_messages_wait_without_requests_or_dead_letters() {
    let running = Running::start(
        "workers = 4\ninitial_backoff_ms = 200\nmax_backoff_ms = 800\nmax_attempts = 2\npause_after_failures = 3",
    )
    .await;
    running.platform.down.store(true, Ordering::SeqCst);
    let t = now();
    let mut ids = Vec::new();
    let mut slowest = Duration::ZERO;
    for i in 0..200 {
        let id = format!("evt_outage_{i}");
        let took = running
            .post(&payment(&id, &format!("outage_{}", i % 40), t - 300 + i))
            .await;
        slowest = slowest.max(took);
        ids.push(id);
    }
    // The outage never holds the webhook's acknowledgements back.
    assert!(
        slowest < Duration::from_secs(2),
        "an acknowledgement took {slowest:?} during the outage"
    );
    // The other destination keeps delivering during the outage.
    assert!(
        wait_for(Duration::from_secs(10), async || running.file_lines()
            >= 200)
        .await,
        "the file destination got {} lines",
        running.file_lines()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = running.platform.seen().len();
    assert!(
        during <= 20,
        "{during} requests reached a platform that was down"
    );
    let metrics = running.metrics().await;
    assert!(
        metrics.contains(r#"stripe_chat_destination_up{destination="out"} 0"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"stripe_chat_destination_up{destination="log"} 1"#));
    assert!(metrics.contains(r#"stripe_chat_destination_backlog{destination="out"} 200"#));
    assert_eq!(running.store.stats().await.expect("stats").dead, 0);

    running.platform.down.store(false, Ordering::SeqCst);
    let all = wait_for(Duration::from_secs(20), async || {
        running.platform.delivered().len() == 200
    })
    .await;
    assert!(
        all,
        "{} of 200 delivered",
        running.platform.delivered().len()
    );
    let delivered = running.platform.delivered();
    assert!(
        delivered.values().all(|n| *n == 1),
        "sent twice: {delivered:?}"
    );
    // The platform has every message; their outcomes are settled in batches just after.
    let settled = wait_for(Duration::from_secs(5), async || {
        let stats = running.store.stats().await.expect("stats");
        (stats.dead, stats.pending, stats.leased) == (0, 0, 0)
    })
    .await;
    let stats = running.store.stats().await.expect("stats");
    assert!(settled, "{stats:?}");
    let metrics = running.metrics().await;
    assert!(metrics.contains(r#"stripe_chat_destination_up{destination="out"} 1"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_longer_than_the_backoff_ladder_is_honoured_to_the_second_and_costs_no_attempt()
 {
    // One attempt only: were the 429 counted, the job would be dead-lettered.
    let running = Running::start(
        "workers = 1\ninitial_backoff_ms = 50\nmax_backoff_ms = 100\nmax_attempts = 1",
    )
    .await;
    *running.platform.rate_limit_once.lock().expect("lock") = Some(3);
    running
        .post(&payment("evt_limited", "limited", now()))
        .await;
    let delivered = wait_for(Duration::from_secs(10), async || {
        running.platform.delivered().contains_key("evt_limited")
    })
    .await;
    let seen = running.platform.seen();
    assert!(delivered, "{seen:?}");
    assert_eq!(seen[0].status, 429);
    let waited = seen[1].at.duration_since(seen[0].at);
    assert!(
        waited >= Duration::from_millis(2990) && waited < Duration::from_millis(4500),
        "the retry came {waited:?} after the 429"
    );
    assert_eq!(seen.len(), 2);
    assert_eq!(running.store.stats().await.expect("stats").dead, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_retry_horizon_a_job_is_dead_lettered_with_the_reason() {
    let running = Running::start(
        "workers = 1\ninitial_backoff_ms = 100\nmax_backoff_ms = 200\nretry_horizon = \"2s\"",
    )
    .await;
    running.platform.down.store(true, Ordering::SeqCst);
    running
        .post(&payment("evt_horizon", "horizon", now()))
        .await;
    let Some(job) = running.dead_letter().await else {
        panic!("{:?}", running.platform.seen());
    };
    let error = job.last_error.expect("a reason");
    assert!(
        error.starts_with("gave up after 2 s of retries; last error: transient: "),
        "{error}"
    );
    assert!(!error.contains("transient: transient"), "{error}");
    assert_eq!(job.destination, "out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destinations_own_retry_horizon_overrides_the_delivery_default() {
    let running = Running::start_with(
        "workers = 1\ninitial_backoff_ms = 100\nmax_backoff_ms = 200\nretry_horizon = \"1h\"",
        "retry_horizon = \"2s\"",
    )
    .await;
    running.platform.down.store(true, Ordering::SeqCst);
    running
        .post(&payment("evt_own_horizon", "own_horizon", now()))
        .await;
    let Some(job) = running.dead_letter().await else {
        panic!("not dead-lettered within 10 s under a 1 h default");
    };
    let error = job.last_error.expect("a reason");
    assert!(error.starts_with("gave up after 2 s of retries"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_message_is_dead_lettered_at_once_with_its_reason_said_once() {
    let running =
        Running::start("workers = 1\ninitial_backoff_ms = 100\nmax_backoff_ms = 200").await;
    running.platform.refusing.store(true, Ordering::SeqCst);
    running
        .post(&payment("evt_refused", "refused", now()))
        .await;
    let Some(job) = running.dead_letter().await else {
        panic!("{:?}", running.platform.seen());
    };
    assert_eq!(
        job.last_error.as_deref(),
        Some("permanent: webhook \"out\" answered HTTP 422: unknown_team")
    );
    assert_eq!(running.platform.seen().len(), 1, "a refusal is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_message_says_how_late_and_older_states_of_an_object_are_collapsed_into_the_newest()
{
    let running = Running::start(
        "workers = 2\ninitial_backoff_ms = 200\nmax_backoff_ms = 400\npause_after_failures = 1\nlate_note_after = \"1s\"",
    )
    .await;
    running.platform.down.store(true, Ordering::SeqCst);
    let t = now();
    for i in 0..5 {
        running
            .post(&payment(&format!("evt_late_{i}"), "late", t - 60 + i))
            .await;
    }
    running.post(&payment("evt_late_other", "other", t)).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    running.platform.down.store(false, Ordering::SeqCst);
    let done = wait_for(Duration::from_secs(10), async || {
        let stats = running.store.stats().await.expect("stats");
        stats.pending + stats.leased == 0
    })
    .await;
    assert!(done);
    let delivered = running.platform.delivered();
    assert_eq!(
        delivered.keys().collect::<Vec<_>>(),
        ["evt_late_4", "evt_late_other"],
        "the newest state of each object, once"
    );
    for seen in running.platform.seen().iter().filter(|s| s.status == 200) {
        let footer = seen.footer.clone().unwrap_or_default();
        assert!(
            footer.starts_with("Delayed ") && footer.contains(" s by a webhook outage"),
            "{footer:?}"
        );
    }
    assert_eq!(running.store.stats().await.expect("stats").dead, 0);
}

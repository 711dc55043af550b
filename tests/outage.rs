//! A chat platform down for a while, on the real binary: it answers 503, then refuses
//! connections, then comes back. The service pauses the destination, probes it one request at a
//! time, dead-letters nothing, and delivers every message once after recovery, in order per
//! Stripe object, with one log line when the destination went down and one when it came back.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use stripe_chat::events::sign;

const SECRET: &str = "whsec_e2e_outage";
const HOOK_SECRET: &str = "e2e-outage-webhook-signing-secret";
const OBJECTS: usize = 100;
const EVENTS_PER_OBJECT: usize = 10;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// What the platform saw: the answer and the event of each request.
#[derive(Default)]
struct Seen {
    status: AtomicU16,
    requests: Mutex<Vec<(u16, Option<String>)>>,
}

impl Seen {
    fn with_status(&self, status: u16) -> Vec<Option<String>> {
        self.requests
            .lock()
            .expect("lock")
            .iter()
            .filter(|(s, _)| *s == status)
            .map(|(_, e)| e.clone())
            .collect()
    }
}

async fn hook(State(seen): State<Arc<Seen>>, body: Bytes) -> StatusCode {
    let status = seen.status.load(Ordering::SeqCst);
    let event = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.pointer("/message/source/event_id")
                .and_then(|e| e.as_str())
                .map(str::to_owned)
        });
    seen.requests.lock().expect("lock").push((status, event));
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The chat platform: an HTTP server on a fixed port that can be stopped (connections are then
/// refused) and started again on the same port.
struct Platform {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Platform {
    async fn start(addr: SocketAddr, seen: Arc<Seen>) -> Platform {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("the platform's port");
        let addr = listener.local_addr().expect("address");
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(Arc::clone(&seen));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Platform {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Closes the listener and every connection: new requests are refused.
    async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

/// The server process; killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(config: &Path, log: &Path) -> Server {
        let stderr = std::fs::File::create(log).expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_stripe-chat"))
            .args(["serve", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        std::thread::spawn(move || for _ in lines {});
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_owned();
        Server { child, addr }
    }
}

async fn metrics(client: &reqwest::Client, server: &Server) -> String {
    client
        .get(format!("http://{}/metrics", server.addr))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series))
        .and_then(|v| v.trim().parse().ok())
}

/// The event about `object` number `n` (created in that order).
fn event(object: usize, n: usize, t: i64) -> (String, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events/payment_intent.succeeded@2026-09-30.endive.json");
    let mut e: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let id = format!("evt_outage_{object:03}_{n:02}");
    e["id"] = id.clone().into();
    e["created"] = (t - 3600 + n as i64).into();
    e["data"]["object"]["id"] = format!("pi_outage_{object:03}").into();
    e["data"]["object"]["invoice"] = serde_json::Value::Null;
    (id, e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_down_for_a_while_gets_every_message_once_after_recovery_with_few_requests_meanwhile()
 {
    let dir = tempfile::tempdir().expect("tempdir");
    let seen = Arc::new(Seen::default());
    seen.status.store(503, Ordering::SeqCst);
    let mut platform =
        Platform::start("127.0.0.1:0".parse().expect("addr"), Arc::clone(&seen)).await;
    let config = dir.path().join("stripe-chat.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"{SECRET}\"]\n[store]\nsqlite = {:?}\n[delivery]\nworkers = 4\ninitial_backoff_ms = 250\nmax_backoff_ms = 2000\nretry_horizon = \"10m\"\n[[destinations]]\nname = \"out\"\nprovider = \"webhook\"\nurl = \"http://{}/hook\"\nsecret = \"{HOOK_SECRET}\"\n[[routes]]\nevents = [\"*\"]\nto = [\"out\"]\n",
            dir.path().join("data/stripe-chat.db").display().to_string(),
            platform.addr
        ),
    )
    .expect("config");
    let log = dir.path().join("server.log");
    let server = Server::start(&config, &log);
    let client = reqwest::Client::new();

    // 1,000 events about 100 objects, posted in a shuffled order.
    let t = now();
    let mut events: Vec<(usize, usize)> = (0..OBJECTS)
        .flat_map(|o| (0..EVENTS_PER_OBJECT).map(move |n| (o, n)))
        .collect();
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    for i in (1..events.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        events.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    let started = Instant::now();
    let url = format!("http://{}/webhooks/stripe", server.addr);
    for chunk in events.chunks(125) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|&(o, n)| {
                let (client, url) = (client.clone(), url.clone());
                tokio::spawn(async move {
                    let (id, body) = event(o, n, t);
                    let status = client
                        .post(&url)
                        .header("Stripe-Signature", sign(body.as_bytes(), SECRET, now()))
                        .body(body)
                        .send()
                        .await
                        .map(|r| r.status().as_u16());
                    assert_eq!(status.ok(), Some(200), "{id} acknowledged");
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("post");
        }
    }

    // Down: 503 for 8 s from the start, then connections refused for 8 s.
    tokio::time::sleep(Duration::from_secs(8).saturating_sub(started.elapsed())).await;
    let text = metrics(&client, &server).await;
    assert_eq!(
        metric(&text, r#"stripe_chat_destination_up{destination="out"}"#),
        Some(0.0),
        "{text}"
    );
    let backlog = metric(
        &text,
        r#"stripe_chat_destination_backlog{destination="out"}"#,
    );
    assert_eq!(backlog, Some(1000.0), "{text}");
    assert!(
        metric(
            &text,
            r#"stripe_chat_destination_oldest_queued_seconds{destination="out"}"#
        )
        .is_some_and(|age| age >= 5.0),
        "{text}"
    );
    platform.stop().await;
    let during_503 = seen.requests.lock().expect("lock").len();
    tokio::time::sleep(Duration::from_secs(8)).await;
    let text = metrics(&client, &server).await;
    assert_eq!(
        metric(&text, r#"stripe_chat_jobs{state="dead"}"#),
        Some(0.0),
        "nothing is dead-lettered during the outage: {text}"
    );

    // Back up on the same port.
    seen.status.store(200, Ordering::SeqCst);
    let _platform = Platform::start(platform.addr, Arc::clone(&seen)).await;
    let recovered_at = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.with_status(200).len() < OBJECTS * EVENTS_PER_OBJECT && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    let delivered = seen.with_status(200);
    assert_eq!(
        delivered.len(),
        OBJECTS * EVENTS_PER_OBJECT,
        "delivered after recovery; log tail:\n{}",
        log_text
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );

    eprintln!(
        "requests while the platform answered 503: {during_503}; all {} messages delivered {:?} after recovery",
        OBJECTS * EVENTS_PER_OBJECT,
        recovered_at.elapsed()
    );
    assert!(
        during_503 <= 36,
        "{during_503} requests reached the platform while it answered 503"
    );
    let mut per_event: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_object: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for event in delivered.into_iter().flatten() {
        *per_event.entry(event.clone()).or_default() += 1;
        let object = event[..event.len() - 3].to_owned();
        per_object.entry(object).or_default().push(event);
    }
    assert_eq!(per_event.len(), OBJECTS * EVENTS_PER_OBJECT);
    assert!(
        per_event.values().all(|n| *n == 1),
        "a message was sent twice"
    );
    for (object, order) in &per_object {
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, &sorted, "events of {object} out of order");
    }
    let text = metrics(&client, &server).await;
    assert_eq!(
        metric(&text, r#"stripe_chat_jobs{state="dead"}"#),
        Some(0.0)
    );
    assert_eq!(
        metric(&text, r#"stripe_chat_destination_up{destination="out"}"#),
        Some(1.0)
    );
    assert_eq!(
        log_text.matches("destination paused").count(),
        1,
        "one line when it went down:\n{log_text}"
    );
    assert_eq!(
        log_text.matches("destination resumed").count(),
        1,
        "one line when it came back"
    );
    let warnings = log_text.lines().filter(|l| l.contains("WARN")).count();
    assert!(warnings <= 3, "{warnings} warnings:\n{log_text}");
}

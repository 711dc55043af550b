//! `stripe-chat preview`: a local page that shows a Stripe event as Slack, Teams, Discord and
//! Matrix would, side by side, rendered by the same pipeline and adapters as `render` (the page
//! only draws the JSON bodies the adapters return). With a service configuration it also shows,
//! read-only, what the service has done: recent events, their deliveries, the dead letters; with
//! [`Access::Retry`] (`--allow-retry`), a dead letter can be retried from the page, as
//! `stripe-chat dlq retry` does it, and the retry is audited the same way.
//!
//! The page, its script and its style are compiled into the binary; it loads nothing else, and
//! every response carries a Content-Security-Policy that allows only this origin's script and
//! style, no inline code, no frames, no form posts. Requests whose `Host` is not the listening
//! address are refused (no DNS rebinding).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use stripe_chat::events::StripeEvent;
use stripe_chat::redact::{RedactionConfig, Visibility};
use stripe_chat::server::config::ServiceConfig;
use stripe_chat::store::{SqliteStore, Store};
use stripe_chat::{Pipeline, RenderConfig};

use super::samples;

/// The Content-Security-Policy of every response: this origin's script and style only.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The address `preview` listens on unless `--listen` says otherwise.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8790";

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("page.js");
const STYLE: &str = include_str!("page.css");

/// The platforms shown side by side, in order.
const PLATFORMS: [&str; 4] = ["slack", "teams", "discord", "matrix"];

/// Events the page offers beside the bundled samples: the hostile corpus, which must show as
/// text.
const HOSTILE: &[(&str, &str)] = &[(
    "hostile: markup injection",
    include_str!("../../../tests/fixtures/events/hostile+markup-injection@2026-09-30.endive.json"),
)];

/// What the page may do with the service's store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Show it only (the default).
    ReadOnly,
    /// Also put a dead letter back in the queue, as `stripe-chat dlq retry` does (and, like it,
    /// audited as the operator running the preview).
    Retry,
}

/// What the page reads: the service's configuration and store, when given.
pub(crate) struct Preview {
    service: Option<ServiceView>,
    addr: SocketAddr,
}

struct ServiceView {
    config: ServiceConfig,
    store: Option<Arc<SqliteStore>>,
    access: Access,
}

/// Why a preview request was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PreviewError {
    /// The request's body is not what the endpoint takes.
    #[error("{0}")]
    BadRequest(String),
    /// The store could not be read.
    #[error("store: {0}")]
    Store(String),
    /// The page is read-only, or has no service to act on.
    #[error("{0}")]
    Forbidden(String),
    /// No such dead letter.
    #[error("{0}")]
    NotFound(String),
}

impl IntoResponse for PreviewError {
    fn into_response(self) -> Response {
        let status = match self {
            PreviewError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PreviewError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            PreviewError::Forbidden(_) => StatusCode::FORBIDDEN,
            PreviewError::NotFound(_) => StatusCode::NOT_FOUND,
        };
        (status, json_body(&json!({ "error": self.to_string() }))).into_response()
    }
}

fn json_body(value: &Value) -> impl IntoResponse + use<> {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        value.to_string(),
    )
}

/// Serves the preview on `listener` until `shutdown` completes. With `config`, its store is
/// opened read-only when it exists (never created).
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    config: Option<ServiceConfig>,
    access: Access,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let service = match config {
        None => None,
        Some(config) => {
            let store = if config.store.sqlite.exists() {
                stripe_chat::server::service::open_store(&config.store)
                    .await
                    .map_err(|e| {
                        tracing::warn!(error = %e, "the store cannot be opened; the page shows the configuration only");
                    })
                    .ok()
                    .map(Arc::new)
            } else {
                None
            };
            Some(ServiceView {
                config,
                store,
                access,
            })
        }
    };
    let app = router(Arc::new(Preview { service, addr }));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The page and its endpoints.
pub(crate) fn router(preview: Arc<Preview>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { page(PAGE, "text/html; charset=utf-8") }),
        )
        .route(
            "/preview.js",
            get(|| async { page(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/preview.css",
            get(|| async { page(STYLE, "text/css; charset=utf-8") }),
        )
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/api/samples", get(sample_list))
        .route("/api/samples/{name}", get(sample_event))
        .route("/api/render", post(render))
        .route("/api/service", get(service))
        .route("/api/dead-letters/{job}/retry", post(retry))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&preview),
            guard,
        ))
        .with_state(preview)
}

fn page(text: &'static str, content_type: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type)], text)
}

/// Refuses a request addressed to another host name (DNS rebinding), and adds the security
/// headers to every response.
async fn guard(State(preview): State<Arc<Preview>>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut response = if host_allowed(&host, preview.addr) {
        next.run(request).await
    } else {
        (
            StatusCode::MISDIRECTED_REQUEST,
            "stripe-chat preview answers only to its own address\n",
        )
            .into_response()
    };
    secure(response.headers_mut());
    response
}

fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Whether `host` (a request's `Host`) names the preview: its address, or `localhost` on its
/// port when it listens on a loopback address.
fn host_allowed(host: &str, addr: SocketAddr) -> bool {
    let port = addr.port();
    if host == addr.to_string() {
        return true;
    }
    if addr.ip().is_loopback() {
        return [
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
        ]
        .iter()
        .any(|allowed| allowed == host);
    }
    // Listening on every interface: any address of this machine, on this port.
    addr.ip().is_unspecified()
        && host
            .rsplit_once(':')
            .is_some_and(|(_, p)| p == port.to_string())
}

/// Every sample the page offers: `{name, type, hostile}`.
async fn sample_list() -> impl IntoResponse {
    let mut list: Vec<Value> = samples::SAMPLE_EVENTS
        .iter()
        .map(|(t, _)| json!({ "name": t, "type": t, "hostile": false }))
        .collect();
    for (name, raw) in HOSTILE {
        let event_type = serde_json::from_str::<Value>(raw)
            .ok()
            .and_then(|v| v["type"].as_str().map(str::to_owned))
            .unwrap_or_default();
        list.push(json!({ "name": name, "type": event_type, "hostile": true }));
    }
    json_body(&Value::Array(list))
}

/// The sample `name`, its times moved to now.
async fn sample_event(Path(name): Path<String>) -> Result<impl IntoResponse, PreviewError> {
    let raw = samples::sample(&name)
        .or_else(|| {
            HOSTILE
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, raw)| *raw)
        })
        .ok_or_else(|| PreviewError::BadRequest(format!("no sample named {name:?}")))?;
    let fresh = samples::fresh(raw).map_err(|e| PreviewError::BadRequest(e.to_string()))?;
    let value: Value =
        serde_json::from_str(&fresh).map_err(|e| PreviewError::BadRequest(e.to_string()))?;
    Ok(json_body(&value))
}

/// `POST /api/render` with `{"event": {...}, "level": "public"}`: what each platform's adapter
/// would send, with its limits. See [`render_all`].
async fn render(headers: HeaderMap, body: Bytes) -> Result<impl IntoResponse, PreviewError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Err(PreviewError::BadRequest(
            "send the event as application/json".to_owned(),
        ));
    }
    let request: Value = serde_json::from_slice(&body)
        .map_err(|e| PreviewError::BadRequest(format!("not JSON: {e}")))?;
    let level: Visibility = match request.get("level") {
        None | Some(Value::Null) => Visibility::Public,
        Some(level) => serde_json::from_value(level.clone()).map_err(|_| {
            PreviewError::BadRequest("level is public, internal or restricted".to_owned())
        })?,
    };
    let event = request
        .get("event")
        .ok_or_else(|| PreviewError::BadRequest("no \"event\"".to_owned()))?;
    Ok(json_body(&render_all(event, level)?))
}

/// The bodies of the four platforms for `event` at redaction `level`, from the same pipeline and
/// renderers as `stripe-chat render`, each with its size and its platform's limits:
/// `{"event": {id, type}, "declined": bool, "platforms": {"slack": {"body", "bytes", "limits":
/// [{"name", "used", "max"}]}, ...}, "title"}` (the neutral message's title, after redaction).
pub(crate) fn render_all(event: &Value, level: Visibility) -> Result<Value, PreviewError> {
    let event = StripeEvent::from_json(event.to_string())
        .map_err(|e| PreviewError::BadRequest(format!("not a Stripe event: {e}")))?;
    let config = RenderConfig {
        redaction: RedactionConfig {
            level,
            ..RedactionConfig::default()
        },
        ..RenderConfig::default()
    };
    let pipeline = Pipeline::from_config(&config.redaction);
    let mut platforms = serde_json::Map::new();
    let mut declined = false;
    for platform in PLATFORMS {
        match stripe_chat::render(&pipeline, &config, platform, &event) {
            Ok(Some(body)) => {
                let bytes = body.to_string().len();
                let limits = limits(platform, &body, bytes);
                platforms.insert(
                    platform.to_owned(),
                    json!({ "body": body, "bytes": bytes, "limits": limits }),
                );
            }
            Ok(None) => declined = true,
            Err(e) => {
                platforms.insert(platform.to_owned(), json!({ "error": e.to_string() }));
            }
        }
    }
    let title = pipeline.message(&event).map(|m| m.title);
    Ok(json!({
        "event": { "id": event.id(), "type": event.event_type() },
        "title": title,
        "declined": declined,
        "platforms": platforms,
    }))
}

fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

fn count(value: &Value) -> usize {
    value.as_array().map_or(0, Vec::len)
}

/// What each platform limits, measured on its body: `{name, used, max}`.
fn limits(platform: &str, body: &Value, bytes: usize) -> Vec<Value> {
    let limit =
        |name: &str, used: usize, max: usize| json!({ "name": name, "used": used, "max": max });
    match platform {
        "slack" => {
            use stripe_chat::slack::limits::*;
            let blocks = body["blocks"].as_array().cloned().unwrap_or_default();
            let mut text = 0;
            let mut buttons = 0;
            for block in &blocks {
                text += chars(&block["text"]["text"]);
                for field in block["fields"].as_array().into_iter().flatten() {
                    text += chars(&field["text"]);
                }
                for element in block["elements"].as_array().into_iter().flatten() {
                    text += chars(&element["text"]);
                    if element["type"] == "button" {
                        buttons += 1;
                    }
                }
            }
            let header = blocks
                .iter()
                .find(|b| b["type"] == "header")
                .map_or(0, |b| chars(&b["text"]["text"]));
            vec![
                limit("blocks", blocks.len(), MAX_BLOCKS),
                limit("header characters", header, MAX_HEADER_TEXT),
                limit("characters shown", text, TOTAL_TEXT_BUDGET),
                limit("buttons", buttons, MAX_ACTIONS_ELEMENTS),
            ]
        }
        "teams" => {
            use stripe_chat::teams::limits::*;
            let card = &body["attachments"][0]["content"];
            let facts: usize = card["body"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|b| count(&b["facts"]))
                .sum();
            vec![
                limit("card bytes", bytes, MAX_CARD_BYTES),
                limit("facts", facts, MAX_FACTS),
                limit("actions", count(&card["actions"]), MAX_ACTIONS),
            ]
        }
        "discord" => {
            use stripe_chat::discord::limits::*;
            let embed = &body["embeds"][0];
            let fields = embed["fields"].as_array().cloned().unwrap_or_default();
            let total = chars(&embed["title"])
                + chars(&embed["description"])
                + chars(&embed["footer"]["text"])
                + chars(&embed["author"]["name"])
                + fields
                    .iter()
                    .map(|f| chars(&f["name"]) + chars(&f["value"]))
                    .sum::<usize>();
            vec![
                limit("embed characters", total, MAX_EMBED_TOTAL),
                limit("title characters", chars(&embed["title"]), MAX_TITLE),
                limit(
                    "description characters",
                    chars(&embed["description"]),
                    MAX_DESCRIPTION,
                ),
                limit("fields", fields.len(), MAX_FIELDS),
            ]
        }
        "matrix" => {
            use stripe_chat::matrix::limits::*;
            vec![limit("content bytes", bytes, MAX_CONTENT_BYTES)]
        }
        _ => Vec::new(),
    }
}

/// `GET /api/service`: with `--config`, what the service has done (read-only): its
/// destinations, the deliveries of the last events, the dead letters and counts by state.
async fn service(State(preview): State<Arc<Preview>>) -> Result<impl IntoResponse, PreviewError> {
    let Some(view) = &preview.service else {
        return Ok(json_body(&json!({ "configured": false })));
    };
    let destinations: Vec<Value> = view
        .config
        .destinations
        .iter()
        .map(|d| json!({ "name": d.name, "platform": d.provider.platform() }))
        .collect();
    let store_path = view.config.store.sqlite.display().to_string();
    let Some(store) = &view.store else {
        return Ok(json_body(&json!({
            "configured": true,
            "store": store_path,
            "store_open": false,
            "retry_allowed": false,
            "destinations": destinations,
        })));
    };
    let store_error = |e: stripe_chat::store::StoreError| PreviewError::Store(e.to_string());
    let jobs = store.recent_jobs(50).await.map_err(store_error)?;
    let dead = store.dlq_list(200).await.map_err(store_error)?;
    let stats = store.stats().await.map_err(store_error)?;
    let job = |j: &stripe_chat::store::JobInfo| {
        json!({
            "job_id": j.id.to_string(),
            "event_id": j.event_id,
            "event_type": j.event_type,
            "destination": j.destination,
            "state": j.state.as_str(),
            "attempts": j.attempts,
            "last_error": j.last_error,
            "updated_at": humantime::format_rfc3339_seconds(j.updated_at).to_string(),
        })
    };
    Ok(json_body(&json!({
        "configured": true,
        "store": store_path,
        "store_open": true,
        "retry_allowed": view.access == Access::Retry,
        "destinations": destinations,
        "counts": {
            "pending": stats.pending, "leased": stats.leased, "delivered": stats.delivered,
            "dead": stats.dead, "superseded": stats.superseded,
        },
        "recent": jobs.iter().map(job).collect::<Vec<_>>(),
        "dead_letters": dead.iter().map(job).collect::<Vec<_>>(),
    })))
}

/// `POST /api/dead-letters/{job}/retry` (JSON, from the page itself): with `--allow-retry`, puts
/// the dead letter `job` back in the queue as `stripe-chat dlq retry JOB` does, and audits it as
/// the operator who runs the preview. Refused (403) on a read-only page. The request must be
/// JSON, which a page of another origin cannot send without a preflight this server never grants.
async fn retry(
    State(preview): State<Arc<Preview>>,
    Path(job): Path<String>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, PreviewError> {
    let view = preview
        .service
        .as_ref()
        .ok_or_else(|| PreviewError::Forbidden("no service: start preview with --config".into()))?;
    if view.access != Access::Retry {
        return Err(PreviewError::Forbidden(
            "read-only: start preview with --allow-retry to retry dead letters from the page"
                .into(),
        ));
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Err(PreviewError::BadRequest(
            "send the retry as application/json".to_owned(),
        ));
    }
    let store = view
        .store
        .as_ref()
        .ok_or_else(|| PreviewError::Store("the store is not open".into()))?;
    let store: Arc<dyn Store> = Arc::clone(store) as Arc<dyn Store>;
    let n = super::ops::dlq_retry(&*store, Some(&job))
        .await
        .map_err(|e| match e {
            super::ops::OpsError::Usage(text) => PreviewError::BadRequest(text),
            super::ops::OpsError::NotFound(text) => PreviewError::NotFound(text),
            other => PreviewError::Store(other.to_string()),
        })?;
    let entry = stripe_chat::audit::Entry::new(
        super::ops::operator(),
        "dlq_retry",
        stripe_chat::audit::Decision::Performed,
    )
    .detail(format!(
        "job {job} ({n} job(s) pending again), from the preview page"
    ));
    super::ops::audit_command(&view.config, store, entry)
        .await
        .map_err(|e| PreviewError::Store(e.to_string()))?;
    Ok(json_body(&json!({ "job_id": job, "pending_again": n })))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn start(
        config: Option<ServiceConfig>,
    ) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
        start_with(config, Access::ReadOnly).await
    }

    async fn start_with(
        config: Option<ServiceConfig>,
        access: Access,
    ) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, config, access, async {
            let _ = stopped.await;
        }));
        (addr, stop)
    }

    #[tokio::test]
    async fn the_page_and_its_endpoints_answer_with_a_strict_content_security_policy() {
        let (addr, _stop) = start(None).await;
        let client = reqwest::Client::new();
        for (path, content_type) in [
            ("/", "text/html"),
            ("/preview.js", "text/javascript"),
            ("/preview.css", "text/css"),
            ("/api/samples", "application/json"),
            ("/api/samples/invoice.payment_failed", "application/json"),
            ("/api/service", "application/json"),
        ] {
            let response = client
                .get(format!("http://{addr}{path}"))
                .send()
                .await
                .expect("answers");
            assert_eq!(response.status(), 200, "{path}");
            let headers = response.headers();
            assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CSP, "{path}");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert!(
                headers[header::CONTENT_TYPE]
                    .to_str()
                    .is_ok_and(|v| v.starts_with(content_type)),
                "{path}"
            );
        }
        let page = client
            .get(format!("http://{addr}/"))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("text");
        assert!(!page.contains("<script>"), "no inline script");
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "no CDN"
        );
    }

    #[tokio::test]
    async fn render_answers_the_four_bodies_the_adapters_send_with_their_limits() {
        let (addr, _stop) = start(None).await;
        let client = reqwest::Client::new();
        let event: Value =
            serde_json::from_str(samples::sample("invoice.payment_failed").expect("bundled"))
                .expect("JSON");
        let answer: Value = client
            .post(format!("http://{addr}/api/render"))
            .json(&json!({ "event": event, "level": "internal" }))
            .send()
            .await
            .expect("answers")
            .json()
            .await
            .expect("JSON");
        let parsed = StripeEvent::from_json(event.to_string()).expect("event");
        let mut config = RenderConfig::default();
        config.redaction.level = Visibility::Internal;
        let pipeline = Pipeline::from_config(&config.redaction);
        for platform in PLATFORMS {
            let expected = stripe_chat::render(&pipeline, &config, platform, &parsed)
                .expect("renders")
                .expect("a message");
            assert_eq!(
                answer["platforms"][platform]["body"], expected,
                "{platform}"
            );
            assert!(count(&answer["platforms"][platform]["limits"]) >= 1);
        }
        let refused = client
            .post(format!("http://{addr}/api/render"))
            .json(&json!({ "event": { "not": "an event" } }))
            .send()
            .await
            .expect("answers");
        assert_eq!(refused.status(), 400);
    }

    #[tokio::test]
    async fn with_a_configuration_the_service_s_deliveries_and_dead_letters_are_listed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (config, _) = store_with_a_dead_letter(dir.path()).await;

        let (addr, _stop) = start(Some(config)).await;
        let answer: Value = reqwest::get(format!("http://{addr}/api/service"))
            .await
            .expect("answers")
            .json()
            .await
            .expect("JSON");
        assert_eq!(answer["configured"], true);
        assert_eq!(answer["destinations"][0]["name"], "log");
        assert_eq!(count(&answer["recent"]), 2);
        assert_eq!(answer["dead_letters"][0]["event_id"], "evt_dead");
        assert_eq!(answer["dead_letters"][0]["last_error"], "permanent: gone");
        assert_eq!(answer["counts"]["dead"], 1);
    }

    #[tokio::test]
    async fn a_request_for_another_host_name_is_refused() {
        let (addr, _stop) = start(None).await;
        let response = reqwest::Client::new()
            .get(format!("http://{addr}/api/samples"))
            .header(header::HOST, "evil.example:80")
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), 421);
        assert!(host_allowed(&format!("localhost:{}", addr.port()), addr));
    }

    /// A configuration whose store holds one delivered job (`evt_ok`) and one dead letter
    /// (`evt_dead`), and the dead letter's job id.
    async fn store_with_a_dead_letter(dir: &std::path::Path) -> (ServiceConfig, String) {
        use std::time::{Duration, SystemTime};
        use stripe_chat::store::{NewEvent, NewJob};
        let config = ServiceConfig::from_toml_with_env(
            &format!(
                "[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"whsec_demo\"]\n[store]\nsqlite = {:?}\n[[destinations]]\nname = \"log\"\nprovider = \"file\"\npath = {:?}\n",
                dir.join("store.db").display().to_string(),
                dir.join("m.jsonl").display().to_string()
            ),
            |_| None,
        )
        .expect("valid");
        let store = stripe_chat::server::service::open_store(&config.store)
            .await
            .expect("store");
        let mut dead = String::new();
        for id in ["evt_ok", "evt_dead"] {
            let event = NewEvent {
                id: id.to_owned(),
                event_type: "invoice.paid".to_owned(),
                created: 1,
                livemode: false,
                account: None,
                raw: "{}".to_owned(),
                received_at: SystemTime::now(),
            };
            store
                .ingest(event, vec![NewJob::new("log")])
                .await
                .expect("ingest");
        }
        for job in store
            .lease("w", 8, Duration::from_secs(60), SystemTime::now())
            .await
            .expect("lease")
        {
            if job.event.id == "evt_dead" {
                dead = job.job_id.to_string();
                store
                    .dead_letter(&job, "permanent: gone")
                    .await
                    .expect("dead");
            }
        }
        store.close().await;
        (config, dead)
    }

    async fn post_retry(addr: SocketAddr, job: &str, json: bool) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .post(format!("http://{addr}/api/dead-letters/{job}/retry"))
            .body("{}");
        if json {
            request = request.header("Content-Type", "application/json");
        }
        let answer = request.send().await.expect("answers");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn a_dead_letter_is_retried_from_the_page_only_when_allowed_and_the_retry_is_audited() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (config, dead) = store_with_a_dead_letter(dir.path()).await;

        // Read-only by default: refused, and the page is told retrying is off.
        let (addr, stop) = start(Some(config.clone())).await;
        let service: Value = reqwest::get(format!("http://{addr}/api/service"))
            .await
            .expect("answers")
            .json()
            .await
            .expect("JSON");
        assert_eq!(service["retry_allowed"], false);
        let (status, answer) = post_retry(addr, &dead, true).await;
        assert_eq!(status, 403, "{answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap_or_default()
                .contains("--allow-retry")
        );
        drop(stop);

        let (addr, _stop) = start_with(Some(config.clone()), Access::Retry).await;
        let service: Value = reqwest::get(format!("http://{addr}/api/service"))
            .await
            .expect("answers")
            .json()
            .await
            .expect("JSON");
        assert_eq!(service["retry_allowed"], true);
        // Only as JSON (a form from another page cannot send it without a preflight).
        assert_eq!(post_retry(addr, &dead, false).await.0, 400);
        assert_eq!(post_retry(addr, "999999", true).await.0, 404);
        let (status, answer) = post_retry(addr, &dead, true).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["pending_again"], 1);
        let service: Value = reqwest::get(format!("http://{addr}/api/service"))
            .await
            .expect("answers")
            .json()
            .await
            .expect("JSON");
        assert_eq!(service["counts"]["dead"], 0);
        assert_eq!(service["counts"]["pending"], 1);

        // Audited as `stripe-chat dlq retry` is.
        let store: Arc<dyn Store> = Arc::new(
            stripe_chat::server::service::open_store(&config.store)
                .await
                .expect("store"),
        );
        let log = stripe_chat::audit::AuditLog::new(store, config.audit.name.clone());
        let records = log.records(1).await.expect("records");
        let entry = records.last().expect("a record").entry().expect("entry");
        assert_eq!(entry.action, "dlq_retry");
        assert!(
            entry
                .detail
                .as_deref()
                .is_some_and(|d| d.contains(&format!("job {dead}")) && d.contains("preview")),
            "{:?}",
            entry.detail
        );
    }
}

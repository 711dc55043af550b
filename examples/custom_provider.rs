//! Run with `cargo run --example custom_provider`
//!
//! A complete chat adapter for a platform stripe-chat does not ship: a team's own `/notify`
//! service, which shows Markdown text with link buttons, answers each post with an id, lets a post
//! be edited (`PATCH /notify/{id}`) and replied to (`reply_to`). The adapter implements the public
//! traits (`Renderer` to build the body, `ChatProvider` to deliver it), classifies failures with
//! the shared HTTP plumbing, and passes the conformance suite (`cargo test --example
//! custom_provider`).
//!
//! `main` turns a real Stripe event into a redacted message with `stripe_chat::Pipeline` and
//! delivers it to a stand-in of the service on localhost: no account, no network.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use stripe_chat::Pipeline;
use stripe_chat::events::StripeEvent;
use stripe_chat::message::text::{char_len, truncate};
use stripe_chat::message::{
    Capabilities, ChatMessage, ChatProvider, ConfigError, DeliveryError, IdempotencyKey,
    MessageRef, ProviderFactory, RenderError, Renderer, Secret, SecretSource, Settings,
    async_trait,
};
use stripe_chat::redact::RedactionConfig;
use stripe_chat_http::Answer;

/// The service's documented limit on `text`, in characters.
const MAX_TEXT_CHARS: usize = 4_000;
/// At most this many link buttons.
const MAX_LINKS: usize = 3;

/// The adapter: where the service is, and the token it wants.
struct NotifyProvider {
    base_url: String,
    token: Secret,
    client: reqwest::Client,
}

/// `Debug` must never show the token (the conformance suite checks).
impl fmt::Debug for NotifyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyProvider")
            .field("base_url", &self.base_url)
            .field("token", &self.token) // `Secret` prints `Secret(**redacted**)`
            .finish_non_exhaustive()
    }
}

impl NotifyProvider {
    /// The service at `base_url` (`https://notify.example.com`), with a request timeout.
    fn new(base_url: &str, token: Secret, timeout: Duration) -> Result<Self, DeliveryError> {
        Ok(NotifyProvider {
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            client: stripe_chat_http::client(timeout)?,
        })
    }

    /// Sends one request and classifies the answer: 2xx is the JSON answer, anything else a
    /// `DeliveryError` of the right kind (429 rate-limited with its delay, 5xx transient, 401/403
    /// unauthorized, other 4xx permanent). Transport errors (timeouts, refused connections) are
    /// transient, and never carry the URL. The answer is read through a cap.
    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, DeliveryError> {
        let response = request
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(|e| stripe_chat_http::from_reqwest("notify", e))?;
        // Never more than the cap of the answer, whatever the service sends.
        let answer = Answer::read(response, stripe_chat_http::MAX_ANSWER_BYTES).await;
        let json: Value = answer.json().unwrap_or(Value::Null);
        if answer.is_success() {
            return Ok(json);
        }
        // The service's own error code, never the request or the token.
        let detail = json["error"].as_str().unwrap_or_default();
        Err(stripe_chat_http::classify_status(
            "notify",
            answer.status(),
            answer.retry_after(),
            detail,
        ))
    }
}

/// The service shows `text` as Markdown: every ASCII punctuation character of event text is
/// escaped with a backslash (CommonMark allows it for all of them), so a customer named
/// `*Jenny* <@here>` is shown as written and formats nothing.
fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Renderer for NotifyProvider {
    fn platform(&self) -> &str {
        "notify"
    }

    /// Pure: the same message always gives the same body, and the body is always within the
    /// service's limits (pieces are cut before escaping; fields stop when the budget is spent).
    fn render(&self, message: &ChatMessage) -> Result<Value, RenderError> {
        if message.title.trim().is_empty() {
            return Err(RenderError::Invalid("the message has no title".into()));
        }
        let mut text = format!("**{}**", escape_markdown(&truncate(&message.title, 200)));
        if !message.summary.is_empty() {
            text.push('\n');
            text.push_str(&escape_markdown(&truncate(&message.summary, 1_000)));
        }
        const MORE: &str = "\n… more in Stripe";
        for field in &message.fields {
            let line = format!(
                "\n**{}**: {}",
                escape_markdown(&truncate(&field.label, 50)),
                escape_markdown(&truncate(&field.value, 300))
            );
            if char_len(&text) + char_len(&line) + char_len(MORE) > MAX_TEXT_CHARS {
                text.push_str(MORE);
                break;
            }
            text.push_str(&line);
        }

        // Links and link actions become buttons; callback actions need stripe-chat's interaction
        // endpoints, which this service does not call, so they are left out.
        let links: Vec<Value> = message
            .links
            .iter()
            .map(|link| (link.label.as_str(), link.url.as_str()))
            .chain(message.actions.iter().filter_map(|action| {
                action
                    .url
                    .as_deref()
                    .map(|url| (action.label.as_str(), url))
            }))
            .filter(|(_, url)| url.starts_with("https://"))
            .take(MAX_LINKS)
            .map(|(label, url)| json!({ "label": truncate(label, 40), "url": url }))
            .collect();

        Ok(json!({
            "text": text,
            "level": message.severity.as_str(),
            "links": links,
        }))
    }

    /// The service's documented limits: `text` of at most 4,000 characters, at most three
    /// links. `render` keeps within them; the provided `send` checks before each post.
    fn validate_limits(&self, body: &Value) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let text = body["text"].as_str().unwrap_or_default();
        if char_len(text) > MAX_TEXT_CHARS {
            problems.push(format!(
                "text: {} characters, more than {MAX_TEXT_CHARS}",
                char_len(text)
            ));
        }
        let links = body["links"].as_array().map_or(0, Vec::len);
        if links > MAX_LINKS {
            problems.push(format!("links: {links}, more than {MAX_LINKS}"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

#[async_trait]
impl ChatProvider for NotifyProvider {
    fn capabilities(&self) -> Capabilities {
        Capabilities::FULL.with_interactive(false)
    }

    /// Posts a body `render` made and `validate_limits` passed (the provided `send` does both),
    /// as a reply when `thread` is given. The service keeps a post's `Idempotency-Key` for a day
    /// and answers a repeated one with the first post: a retried send never posts twice.
    async fn send_raw(
        &self,
        mut body: Value,
        thread: Option<&MessageRef>,
        key: &IdempotencyKey,
    ) -> Result<MessageRef, DeliveryError> {
        if let Some(root) = thread {
            body["reply_to"] = json!(root.thread_id());
        }
        let answer = self
            .call(
                self.client
                    .post(format!("{}/notify", self.base_url))
                    .header("idempotency-key", key.as_str())
                    .json(&body),
            )
            .await?;
        // Store this ref: it is what `update` and replies need later.
        let id = answer["id"].as_str().unwrap_or_default();
        let sent = MessageRef::new(self.platform(), id);
        Ok(match thread {
            Some(root) => sent.in_thread(root.thread_id()),
            None => sent,
        })
    }

    /// Replaces the post at `at` (the provided `update` renders and checks the body first).
    async fn update_raw(
        &self,
        at: &MessageRef,
        body: Value,
        key: &IdempotencyKey,
    ) -> Result<(), DeliveryError> {
        // The id goes into the path: accept only what the service hands out.
        let id = at.id.as_str();
        if at.provider != self.platform()
            || id.is_empty()
            || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(DeliveryError::permanent("notify: not a notify message id"));
        }
        self.call(
            self.client
                .patch(format!("{}/notify/{id}", self.base_url))
                .header("idempotency-key", key.as_str())
                .json(&body),
        )
        .await
        .map(drop)
    }
}

/// `provider = "notify"` in a destination of stripe-chat's configuration: the service's
/// `base_url`, and its token as every adapter takes a secret: inline (`token`), from an
/// environment variable (`token_env`) or from a file (`token_file`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotifyConfig {
    base_url: String,
    token: Option<Secret>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    #[serde(default = "default_timeout_secs")]
    timeout_secs: u64,
}

fn default_timeout_secs() -> u64 {
    10
}

/// Builds the adapter from a destination's keys, so that a configuration can name it.
struct NotifyFactory;

impl ProviderFactory for NotifyFactory {
    fn name(&self) -> &str {
        "notify"
    }

    fn build(&self, settings: &Settings<'_>) -> Result<Arc<dyn ChatProvider>, ConfigError> {
        let config: NotifyConfig = settings.parse()?;
        let token = SecretSource::from_keys(
            "token",
            config.token.as_ref(),
            config.token_env.as_deref(),
            config.token_file.as_deref(),
        )?
        .ok_or_else(|| ConfigError::missing("token", "set token, token_env or token_file"))?
        .read("token", settings.env_lookup())?;
        let timeout = Duration::from_secs(config.timeout_secs);
        let notify = NotifyProvider::new(&config.base_url, token, timeout)
            .map_err(|e| ConfigError::invalid("timeout_secs", e.message()))?;
        Ok(Arc::new(notify))
    }

    fn renderer(&self, _options: &Settings<'_>) -> Result<Box<dyn Renderer>, ConfigError> {
        // Rendering needs no credentials: any address will do.
        let notify = NotifyProvider::new(
            "https://notify.invalid",
            Secret::new(""),
            Duration::from_secs(1),
        )
        .map_err(|e| ConfigError::invalid("", e.message()))?;
        Ok(Box::new(notify))
    }
}

/// The Stripe event `main` delivers.
const EVENT: &[u8] =
    include_bytes!("../tests/fixtures/events/invoice.payment_failed@2026-09-30.endive.json");

/// Transforms and redacts `raw` with stripe-chat, then delivers it with `provider`.
async fn deliver(
    provider: &dyn ChatProvider,
    raw: &[u8],
) -> Result<MessageRef, Box<dyn std::error::Error>> {
    let event = StripeEvent::from_slice(raw)?;
    let pipeline = Pipeline::from_config(&RedactionConfig::default());
    let message = pipeline
        .message(&event)
        .ok_or("the transformer declined this event")?;
    // The same for every retry of this delivery: the event, and where it goes.
    let key = IdempotencyKey::new(event.id(), "ops");
    Ok(provider.send(&message, None, &key).await?)
}

/// A stand-in for the team's service on localhost: answers posts with an id.
async fn stand_in_service() -> wiremock::MockServer {
    use wiremock::matchers::{header, method, path};
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .and(path("/notify"))
        .and(header("authorization", "Bearer ntf_example_token"))
        .respond_with(wiremock::ResponseTemplate::new(201).set_body_json(json!({ "id": "n_42" })))
        .mount(&server)
        .await;
    server
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let service = stand_in_service().await;
    // As a destination of the service's configuration would name it.
    let destination = json!({ "base_url": service.uri(), "token_env": "NOTIFY_TOKEN" });
    let env = |name: &str| (name == "NOTIFY_TOKEN").then(|| "ntf_example_token".to_owned());
    let notify = NotifyFactory.build(&Settings::new(&destination, &env))?;

    let sent = deliver(&*notify, EVENT).await?;
    println!("delivered: {}", serde_json::to_string(&sent)?);

    for request in service.received_requests().await.unwrap_or_default() {
        let body: Value = serde_json::from_slice(&request.body)?;
        println!(
            "the service received:\n{}",
            serde_json::to_string_pretty(&body)?
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stripe_chat_conformance::{Platform, Route, sample_key};
    use wiremock::{Request, ResponseTemplate};

    const TOKEN: &str = "ntf_secret_token_for_tests";

    /// How the `/notify` service answers, for the shared conformance suite.
    struct NotifyService;

    impl Platform for NotifyService {
        type Provider = NotifyProvider;

        fn provider(&self, base_url: &str) -> NotifyProvider {
            NotifyProvider::new(base_url, Secret::new(TOKEN), Duration::from_secs(1))
                .expect("a client")
        }

        fn send_route(&self, _thread: Option<&MessageRef>) -> Route {
            Route::new("POST", "^/notify$")
        }

        fn delivered(&self) -> (ResponseTemplate, String) {
            let answer = ResponseTemplate::new(201).set_body_json(json!({ "id": "n_42" }));
            (answer, "n_42".to_owned())
        }

        fn rate_limited(&self, delay: Duration) -> ResponseTemplate {
            ResponseTemplate::new(429).insert_header("retry-after", delay.as_secs().to_string())
        }

        fn request_timeout(&self) -> Duration {
            Duration::from_secs(1)
        }

        fn secrets(&self) -> Vec<String> {
            vec![TOKEN.to_owned()]
        }

        fn check_send(&self, request: &Request, thread: Option<&MessageRef>) {
            assert_eq!(
                request.headers["authorization"],
                format!("Bearer {TOKEN}").as_str()
            );
            assert_eq!(request.headers["content-type"], "application/json");
            let body: Value = serde_json::from_slice(&request.body).expect("JSON");
            let text = body["text"].as_str().expect("text");
            // The sample title is `Payment failed: 20.00 USD from Jenny <Rosen> & *Co*`.
            assert!(text.contains(r"Jenny \<Rosen\> \& \*Co\*"), "{text}");
            assert_eq!(body["level"], "warning");
            assert_eq!(body["reply_to"].as_str(), thread.map(MessageRef::thread_id));
            // Each kind of send has its own key: a reply's is not its root's.
            let key = match thread {
                None => sample_key(),
                Some(root) => sample_key().reply_in(root),
            };
            assert_eq!(request.headers["idempotency-key"], key.as_str());
        }

        fn update_route(&self, at: &MessageRef) -> Option<Route> {
            Some(Route::new("PATCH", format!("^/notify/{}$", at.id)))
        }

        fn updated(&self) -> ResponseTemplate {
            ResponseTemplate::new(200).set_body_json(json!({ "id": "n_42" }))
        }

        fn check_update(&self, request: &Request, at: &MessageRef) {
            let key = sample_key().update_of(at);
            assert_eq!(request.headers["idempotency-key"], key.as_str());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_notify_adapter_passes_the_conformance_suite() {
        stripe_chat_conformance::run(&NotifyService).await;
    }

    #[tokio::test]
    async fn main_delivers_the_redacted_fixture_message() {
        let service = stand_in_service().await;
        let notify = NotifyProvider::new(
            &service.uri(),
            Secret::new("ntf_example_token"),
            Duration::from_secs(5),
        )
        .expect("a client");
        let sent = deliver(&notify, EVENT).await.expect("delivered");
        assert_eq!(sent, MessageRef::new("notify", "n_42"));
        let requests = service.received_requests().await.unwrap_or_default();
        let body: Value = serde_json::from_slice(&requests[0].body).expect("JSON");
        let text = body["text"].as_str().expect("text");
        assert!(
            text.starts_with(r"**Payment failed\: 398\.00 USD"),
            "{text}"
        );
        assert!(
            !text.contains("marcus"),
            "the pipeline masks emails: {text}"
        );
        assert_eq!(
            body["links"][0]["url"]
                .as_str()
                .map(|u| u.starts_with("https://dashboard.stripe.com/")),
            Some(true)
        );
    }

    #[test]
    #[cfg(feature = "server")]
    fn a_destination_names_the_adapter_once_it_is_registered() {
        use stripe_chat::server::config::ServiceConfig;
        let text = r#"
[server]
listen = "127.0.0.1:0"
[stripe]
webhook_secrets = ["whsec_demo"]
[store]
sqlite = "demo-data/stripe-chat.db"
[[destinations]]
name = "ops"
provider = "notify"
base_url = "https://notify.example.com"
token_env = "NOTIFY_TOKEN"
[[routes]]
events = ["*"]
to = ["ops"]
"#;
        let env = |name: &str| (name == "NOTIFY_TOKEN").then(|| TOKEN.to_owned());
        let providers = stripe_chat::providers().with(NotifyFactory);
        let config = ServiceConfig::from_toml_with_providers(text, env, &providers).expect("valid");
        assert_eq!(config.destinations[0].provider.platform(), "notify");
        assert!(!format!("{config:?}").contains(TOKEN));

        let unknown = ServiceConfig::from_toml_with_env(text, env).expect_err("not registered");
        assert!(
            unknown.problem.contains("unknown provider \"notify\""),
            "{unknown}"
        );
        let unset = ServiceConfig::from_toml_with_providers(text, |_| None, &providers)
            .expect_err("no token");
        assert_eq!(unset.key, "destinations[0] \"ops\".token_env");
    }

    #[test]
    fn markdown_in_event_text_is_shown_as_written() {
        assert_eq!(
            escape_markdown("*bold* [x](y) <@here> 5.00"),
            r"\*bold\* \[x\]\(y\) \<\@here\> 5\.00"
        );
    }

    #[test]
    fn a_message_with_many_long_fields_stays_within_the_limit() {
        let mut message = ChatMessage::new("*".repeat(500)).summary("_".repeat(5_000));
        for n in 0..100 {
            message = message.field(format!("Field {n}"), "#".repeat(1_000));
        }
        let body = NotifyProvider::new(
            "http://127.0.0.1:9",
            Secret::new(TOKEN),
            Duration::from_secs(1),
        )
        .expect("a client")
        .render(&message)
        .expect("rendered");
        let text = body["text"].as_str().expect("text");
        assert!(char_len(text) <= MAX_TEXT_CHARS, "{}", char_len(text));
        assert!(text.ends_with("… more in Stripe"));
    }
}

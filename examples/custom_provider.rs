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
use std::time::Duration;

use serde_json::{Value, json};
use stripe_chat::Pipeline;
use stripe_chat::events::StripeEvent;
use stripe_chat::message::text::{char_len, truncate};
use stripe_chat::message::{
    Capabilities, ChatMessage, ChatProvider, DeliveryError, MessageRef, RenderError, Renderer,
    Secret, async_trait,
};
use stripe_chat::redact::RedactionConfig;

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
    /// transient, and never carry the URL.
    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, DeliveryError> {
        let response = request
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(|e| stripe_chat_http::from_reqwest("notify", e))?;
        let status = response.status();
        let retry_after = stripe_chat_http::retry_after(response.headers());
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(answer);
        }
        // The service's own error code, never the request or the token.
        let detail = answer["error"].as_str().unwrap_or_default();
        Err(stripe_chat_http::classify_status(
            "notify",
            status.as_u16(),
            retry_after,
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
}

#[async_trait]
impl ChatProvider for NotifyProvider {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            update: true,
            thread: true,
            link_buttons: true,
            interactive: false,
        }
    }

    async fn send(
        &self,
        message: &ChatMessage,
        thread: Option<&MessageRef>,
    ) -> Result<MessageRef, DeliveryError> {
        let mut body = self
            .render(message)
            .map_err(|e| DeliveryError::permanent(e.to_string()))?;
        if let Some(root) = thread {
            body["reply_to"] = json!(root.thread_id());
        }
        let answer = self
            .call(
                self.client
                    .post(format!("{}/notify", self.base_url))
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

    async fn update(&self, at: &MessageRef, message: &ChatMessage) -> Result<(), DeliveryError> {
        // The id goes into the path: accept only what the service hands out.
        let id = at.id.as_str();
        if at.provider != self.platform()
            || id.is_empty()
            || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(DeliveryError::permanent("notify: not a notify message id"));
        }
        let body = self
            .render(message)
            .map_err(|e| DeliveryError::permanent(e.to_string()))?;
        self.call(
            self.client
                .patch(format!("{}/notify/{id}", self.base_url))
                .json(&body),
        )
        .await
        .map(drop)
    }
}

/// The Stripe event `main` delivers.
const EVENT: &[u8] =
    include_bytes!("../tests/fixtures/events/invoice.payment_failed@2026-09-30.endive.json");

/// Transforms and redacts `raw` with stripe-chat, then delivers it with `provider`.
async fn deliver(
    provider: &NotifyProvider,
    raw: &[u8],
) -> Result<MessageRef, Box<dyn std::error::Error>> {
    let event = StripeEvent::from_slice(raw)?;
    let pipeline = Pipeline::from_config(&RedactionConfig::default());
    let message = pipeline
        .message(&event)
        .ok_or("the transformer declined this event")?;
    Ok(provider.send(&message, None).await?)
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
    let notify = NotifyProvider::new(
        &service.uri(),
        Secret::new("ntf_example_token"),
        Duration::from_secs(10),
    )?;

    let sent = deliver(&notify, EVENT).await?;
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
    use stripe_chat_conformance::{Platform, Route};
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
        }

        fn update_route(&self, at: &MessageRef) -> Option<Route> {
            Some(Route::new("PATCH", format!("^/notify/{}$", at.id)))
        }

        fn updated(&self) -> ResponseTemplate {
            ResponseTemplate::new(200).set_body_json(json!({ "id": "n_42" }))
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

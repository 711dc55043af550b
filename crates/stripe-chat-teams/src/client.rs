//! Delivery to a Teams Workflows webhook: one `POST` of the rendered body, its answer classified.

use std::fmt;
use std::time::Duration;

use serde_json::Value;
use stripe_chat_http::{Answer, EndpointError, classify_status, from_reqwest};
use stripe_chat_message::{
    Capabilities, ChatMessage, ChatProvider, ConfigError, DeliveryError, IdempotencyKey,
    MessageRef, RenderError, Renderer, Secret, async_trait,
};

use crate::render::{CardVersion, TeamsRenderer};
use crate::validate::validate_limits;

/// Request timeout when none is configured, in seconds.
///
/// ```
/// assert_eq!(stripe_chat_teams::DEFAULT_TIMEOUT_SECS, 10);
/// ```
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// The longest request timeout accepted, in seconds.
///
/// ```
/// assert!(stripe_chat_teams::MAX_TIMEOUT_SECS >= stripe_chat_teams::DEFAULT_TIMEOUT_SECS);
/// ```
pub const MAX_TIMEOUT_SECS: u64 = 300;

/// The platform name in [`MessageRef`]s and errors.
const PLATFORM: &str = "teams";

/// How this mode is named in "cannot" errors.
const MODE: &str = "a Teams Workflows webhook";

/// The most of an error answer read, to find Power Automate's `{"error": {"code", "message"}}`.
const MAX_ERROR_BODY_BYTES: usize = 16 * 1024;

/// Posts messages to Microsoft Teams through a **Workflows webhook** (Power Automate, trigger "When
/// a Teams webhook request is received"), as one Adaptive Card each.
///
/// Send only ([`Capabilities::SEND_ONLY`]): the webhook answers `202 Accepted` without a message id,
/// so a sent message cannot be updated or replied to, and a card it posts can only open URLs (link
/// buttons; callback actions are left out by the [`TeamsRenderer`]). [`ChatProvider::update`] and a
/// `send` into a thread are refused as [`ErrorKind::Unsupported`](stripe_chat_message::ErrorKind)
/// without a request. Updates, threads and interactive buttons need the Bot Framework mode, a later
/// addition to this crate.
///
/// Built with [`TeamsProvider::workflows`] or from a [`TeamsConfig`](crate::TeamsConfig). Its
/// `Debug` shows the webhook's host only: the URL carries its key (`sig`).
///
/// ```
/// use std::time::Duration;
/// use stripe_chat_message::{Capabilities, ChatProvider, Secret};
/// use stripe_chat_teams::{CardVersion, TeamsProvider};
///
/// let url = Secret::new("https://prod-00.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SECRETSIG");
/// let teams = TeamsProvider::workflows(url)
///     .with_card_version(CardVersion::V1_5)
///     .with_timeout(Duration::from_secs(5))
///     .build()?;
/// assert_eq!(teams.capabilities(), Capabilities::SEND_ONLY);
/// assert_eq!(
///     format!("{teams:?}"),
///     r#"TeamsProvider { endpoint: "prod-00.westus.logic.azure.com", card_version: "1.5", timeout: 5s, .. }"#
/// );
/// # Ok::<(), stripe_chat_teams::ConfigError>(())
/// ```
pub struct TeamsProvider {
    url: Secret,
    endpoint: String,
    renderer: TeamsRenderer,
    timeout: Duration,
    http: reqwest::Client,
}

/// Sets up a [`TeamsProvider`] in code: made by [`TeamsProvider::workflows`], checked by
/// [`TeamsBuilder::build`].
///
/// ```
/// use stripe_chat_message::Secret;
/// let builder = stripe_chat_teams::TeamsProvider::workflows(Secret::new("https://example.logic.azure.com/workflows/x?sig=S"));
/// assert!(!format!("{builder:?}").contains("sig=S"));
/// assert!(builder.build().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct TeamsBuilder {
    url: Secret,
    card_version: CardVersion,
    timeout: Duration,
}

impl TeamsProvider {
    /// Starts a provider posting to the Workflows webhook `url` (the flow's "HTTP URL", with its
    /// `sig`), with cards of version 1.4 and a 10 s timeout.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// use stripe_chat_teams::TeamsProvider;
    /// let teams = TeamsProvider::workflows(Secret::new("https://prod-00.westus.logic.azure.com/workflows/abc?sig=S")).build()?;
    /// assert_eq!(teams.endpoint(), "prod-00.westus.logic.azure.com");
    /// # Ok::<(), stripe_chat_teams::ConfigError>(())
    /// ```
    pub fn workflows(url: Secret) -> TeamsBuilder {
        TeamsBuilder {
            url,
            card_version: CardVersion::default(),
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
        }
    }

    /// The webhook's host (not a secret; the key is in the URL's query).
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// let teams = stripe_chat_teams::TeamsProvider::workflows(Secret::new("http://127.0.0.1:8080/workflows/abc?sig=S")).build()?;
    /// assert_eq!(teams.endpoint(), "127.0.0.1");
    /// # Ok::<(), stripe_chat_teams::ConfigError>(())
    /// ```
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The Adaptive Card version the cards declare.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// let teams = stripe_chat_teams::TeamsProvider::workflows(Secret::new("https://h.test/w?sig=S")).build()?;
    /// assert_eq!(teams.card_version(), stripe_chat_teams::CardVersion::V1_4);
    /// # Ok::<(), stripe_chat_teams::ConfigError>(())
    /// ```
    pub fn card_version(&self) -> CardVersion {
        self.renderer.version()
    }

    /// The time allowed for one request.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// let teams = stripe_chat_teams::TeamsProvider::workflows(Secret::new("https://h.test/w?sig=S")).build()?;
    /// assert_eq!(teams.timeout(), std::time::Duration::from_secs(10));
    /// # Ok::<(), stripe_chat_teams::ConfigError>(())
    /// ```
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl TeamsBuilder {
    /// Declares Adaptive Card `version` (1.4 by default).
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// use stripe_chat_teams::{CardVersion, TeamsProvider};
    /// let teams = TeamsProvider::workflows(Secret::new("https://h.test/w?sig=S")).with_card_version(CardVersion::V1_5).build()?;
    /// assert_eq!(teams.card_version(), CardVersion::V1_5);
    /// # Ok::<(), stripe_chat_teams::ConfigError>(())
    /// ```
    pub fn with_card_version(mut self, version: CardVersion) -> Self {
        self.card_version = version;
        self
    }

    /// Allows `timeout` for one request, connecting included (10 s by default; more than zero, at
    /// most [`MAX_TIMEOUT_SECS`](crate::MAX_TIMEOUT_SECS)).
    ///
    /// ```
    /// use std::time::Duration;
    /// use stripe_chat_message::Secret;
    /// use stripe_chat_teams::TeamsProvider;
    /// let teams = TeamsProvider::workflows(Secret::new("https://h.test/w?sig=S")).with_timeout(Duration::from_millis(1500)).build()?;
    /// assert_eq!(teams.timeout(), Duration::from_millis(1500));
    /// assert!(TeamsProvider::workflows(Secret::new("https://h.test/w?sig=S")).with_timeout(Duration::ZERO).build().is_err());
    /// # Ok::<(), stripe_chat_teams::ConfigError>(())
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks the settings and gives the provider. The URL must be an absolute `https://` URL with a
    /// host; `http://` is accepted only for a loopback host (`localhost`, `127.0.0.0/8`, `::1`),
    /// which is what tests and a local relay use. Errors name the key (`webhook_url`,
    /// `timeout_secs`) and never show the URL.
    ///
    /// ```
    /// use stripe_chat_message::Secret;
    /// use stripe_chat_teams::TeamsProvider;
    /// let error = TeamsProvider::workflows(Secret::new("http://example.logic.azure.com/w?sig=SECRETSIG")).build().unwrap_err();
    /// assert_eq!(error.key(), "webhook_url");
    /// assert!(!error.to_string().contains("SECRETSIG"));
    /// assert!(TeamsProvider::workflows(Secret::new("http://localhost:8080/w?sig=S")).build().is_ok());
    /// ```
    pub fn build(self) -> Result<TeamsProvider, ConfigError> {
        self.build_for_key("webhook_url")
    }

    /// [`TeamsBuilder::build`], naming `url_key` when the URL is refused.
    pub(crate) fn build_for_key(self, url_key: &str) -> Result<TeamsProvider, ConfigError> {
        let endpoint =
            check_url(self.url.expose()).map_err(|p| ConfigError::invalid(url_key, p))?;
        if self.timeout.is_zero() || self.timeout > Duration::from_secs(MAX_TIMEOUT_SECS) {
            return Err(ConfigError::invalid(
                "timeout_secs",
                format!(
                    "must be more than 0 and at most {MAX_TIMEOUT_SECS} seconds, not {:?}",
                    self.timeout
                ),
            ));
        }
        // Fails only when TLS cannot be set up; reported against the URL the client is for.
        let http = stripe_chat_http::client(self.timeout)
            .map_err(|e| ConfigError::invalid(url_key, e.message()))?;
        Ok(TeamsProvider {
            url: self.url,
            endpoint,
            renderer: TeamsRenderer::new().with_version(self.card_version),
            timeout: self.timeout,
            http,
        })
    }
}

/// The URL's host when it is usable; otherwise the problem, in words that never quote the URL.
fn check_url(url: &str) -> Result<String, &'static str> {
    let endpoint = stripe_chat_http::endpoint(url.trim()).map_err(|e| match e {
        EndpointError::NotAUrl => "is not an absolute URL (paste the flow's whole HTTP URL)",
        EndpointError::NoHost => "has no host",
        EndpointError::NotHttps => "must be an https URL",
        EndpointError::PlainHttp => "must use https (http is accepted only for a loopback host)",
        EndpointError::UserInfo => "must not carry a user name or password",
    })?;
    Ok(endpoint.host().to_owned())
}

impl fmt::Debug for TeamsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TeamsProvider")
            .field("endpoint", &self.endpoint)
            .field("card_version", &self.renderer.version().as_str())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Renderer for TeamsProvider {
    fn platform(&self) -> &str {
        PLATFORM
    }

    fn display_name(&self) -> &str {
        "Microsoft Teams"
    }

    fn render(&self, message: &ChatMessage) -> Result<Value, RenderError> {
        self.renderer.render(message)
    }

    fn validate_limits(&self, body: &Value) -> Result<(), Vec<String>> {
        validate_limits(body)
    }
}

#[async_trait]
impl ChatProvider for TeamsProvider {
    /// [`Capabilities::SEND_ONLY`]: no update, no thread, link buttons, no callbacks.
    fn capabilities(&self) -> Capabilities {
        Capabilities::SEND_ONLY
    }

    /// Posts the card (rendered and checked by [`ChatProvider::send`]). Any 2xx is delivered (the
    /// Workflows trigger answers `202 Accepted`), as a [`MessageRef`] without an id. A `thread` is
    /// refused as unsupported. Teams keeps no idempotency key.
    async fn send_raw(
        &self,
        body: Value,
        thread: Option<&MessageRef>,
        _key: &IdempotencyKey,
    ) -> Result<MessageRef, DeliveryError> {
        if thread.is_some() {
            return Err(DeliveryError::unsupported(MODE, "reply in a thread"));
        }
        let response = self
            .http
            .post(self.url.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| from_reqwest(PLATFORM, e))?;
        if response.status().is_success() {
            // The trigger says nothing more than 202: its body is not read.
            return Ok(MessageRef::new(PLATFORM, ""));
        }
        let answer = Answer::read(response, MAX_ERROR_BODY_BYTES).await;
        let detail = scrub(&error_detail(answer.body()), self.url.expose());
        Err(classify(answer.status(), answer.retry_after(), &detail))
    }

    /// Updates are refused as unsupported, without a request: the webhook gives no id to update.
    fn mode_name(&self) -> &str {
        MODE
    }
}

/// An answer other than 2xx as a classified error: what the status means for a Workflows webhook,
/// then Power Automate's own code and message when it gave them.
fn classify(status: u16, delay: Option<Duration>, detail: &str) -> DeliveryError {
    let meaning = match status {
        400 => "the flow refused the request",
        401 | 403 => {
            "the webhook URL's signature was refused, or the flow accepts only signed-in callers"
        }
        404 => "no such flow (deleted, or the URL is wrong)",
        413 => "the card is too large for Teams",
        _ => "",
    };
    let detail = match (meaning.is_empty(), detail.is_empty()) {
        (true, _) => detail.to_owned(),
        (false, true) => meaning.to_owned(),
        (false, false) => format!("{meaning}: {detail}"),
    };
    classify_status(PLATFORM, status, delay, &detail)
}

/// Power Automate's `{"error": {"code": "...", "message": "..."}}` as `code: message`; empty when
/// the answer is not that.
fn error_detail(answer: &[u8]) -> String {
    let Ok(json) = serde_json::from_slice::<Value>(answer) else {
        return String::new();
    };
    let error = &json["error"];
    let code = error["code"].as_str().map(str::trim).unwrap_or_default();
    let message = error["message"].as_str().map(str::trim).unwrap_or_default();
    match (code.is_empty(), message.is_empty()) {
        (false, false) => format!("{code}: {message}"),
        (false, true) => code.to_owned(),
        (true, false) => message.to_owned(),
        (true, true) => String::new(),
    }
}

/// `text` with the webhook URL and its `sig` removed, should the platform ever quote them.
fn scrub(text: &str, url: &str) -> String {
    let mut secrets: Vec<String> = vec![url.to_owned()];
    if let Some((without_query, _)) = url.split_once('?') {
        secrets.push(without_query.to_owned());
    }
    if let Ok(parsed) = reqwest::Url::parse(url) {
        let mut without_query = parsed.clone();
        without_query.set_query(None);
        secrets.push(without_query.to_string());
        for (key, value) in parsed.query_pairs() {
            if key == "sig" && !value.is_empty() {
                secrets.push(value.into_owned());
            }
        }
        for pair in parsed.query().unwrap_or_default().split('&') {
            if let Some(("sig", raw)) = pair.split_once('=')
                && !raw.is_empty()
            {
                secrets.push(raw.to_owned());
            }
        }
    }
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.iter().fold(text.to_owned(), |text, secret| {
        text.replace(secret.as_str(), "**redacted**")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use stripe_chat_message::ErrorKind;

    const URL: &str = "https://prod-00.westus.logic.azure.com:443/workflows/abc123/triggers/manual/\
        paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Ab%2Fc_SECRETSIG";

    #[test]
    fn power_automate_error_code_and_message_become_the_detail() {
        let answer = br#"{"error":{"code":"InvalidRequestContent","message":"The input body is not valid JSON."}}"#;
        assert_eq!(
            error_detail(answer),
            "InvalidRequestContent: The input body is not valid JSON."
        );
        assert_eq!(error_detail(br#"{"error":{"code":"X"}}"#), "X");
        assert_eq!(error_detail(b"<html>Bad Gateway</html>"), "");
        assert_eq!(error_detail(b""), "");
    }

    #[test]
    fn a_quoted_url_or_signature_is_scrubbed_from_the_detail() {
        let text = format!(
            "bad signature 'Ab/c_SECRETSIG' (raw Ab%2Fc_SECRETSIG) for {URL} and {}",
            URL.split('?').next().unwrap_or_default()
        );
        let clean = scrub(&text, URL);
        assert!(!clean.contains("SECRETSIG"), "{clean}");
        assert!(!clean.contains("/workflows/abc123"), "{clean}");
        assert_eq!(scrub("nothing to hide", URL), "nothing to hide");
    }

    #[test]
    fn statuses_are_classified_for_a_workflows_webhook() {
        let kind = |status| classify(status, None, "").kind();
        assert_eq!(kind(400), ErrorKind::Permanent);
        assert_eq!(kind(404), ErrorKind::Permanent);
        assert_eq!(kind(413), ErrorKind::Permanent);
        assert_eq!(kind(401), ErrorKind::Unauthorized);
        assert_eq!(kind(403), ErrorKind::Unauthorized);
        assert_eq!(kind(429), ErrorKind::RateLimited);
        assert_eq!(kind(500), ErrorKind::Transient);
        assert_eq!(kind(502), ErrorKind::Transient);
        assert_eq!(
            classify(429, None, "").retry_after(),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            classify(404, None, "").message(),
            "teams answered HTTP 404: no such flow (deleted, or the URL is wrong)"
        );
    }

    #[test]
    fn only_https_or_loopback_http_urls_are_accepted() {
        assert_eq!(
            check_url(URL).as_deref(),
            Ok("prod-00.westus.logic.azure.com")
        );
        for ok in [
            "http://127.0.0.1:8080/w",
            "http://localhost/w",
            "http://[::1]:9/w",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "prod-00.westus.logic.azure.com/workflows/x",
            "http://prod-00.westus.logic.azure.com/w?sig=x",
            "http://10.0.0.1/w",
            "ftp://h.test/w",
            "https://user:pass@h.test/w",
            "file:///etc/passwd",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}

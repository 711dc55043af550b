//! The shared adapter conformance suite, against a mock Teams Workflows webhook.

use std::time::Duration;

use serde_json::Value;
use stripe_chat_conformance::{Platform, Route};
use stripe_chat_message::{MessageRef, Secret};
use stripe_chat_teams::{TeamsProvider, validate_limits};
use wiremock::{Request, ResponseTemplate};

/// The path of a Workflows webhook URL; its query carries the key.
const PATH: &str = "/workflows/abc123/triggers/manual/paths/invoke";
const SIG: &str = "SECRETSIG";

struct Workflows;

impl Platform for Workflows {
    type Provider = TeamsProvider;

    fn provider(&self, base_url: &str) -> TeamsProvider {
        let url = format!(
            "{base_url}{PATH}?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"
        );
        TeamsProvider::workflows(Secret::new(url))
            .with_timeout(Duration::from_secs(1))
            .build()
            .unwrap_or_else(|e| panic!("a loopback webhook URL is accepted: {e}"))
    }

    fn send_route(&self, _thread: Option<&MessageRef>) -> Route {
        Route::new("POST", "^/workflows/abc123/triggers/manual/paths/invoke$")
    }

    fn delivered(&self) -> (ResponseTemplate, String) {
        (ResponseTemplate::new(202), String::new())
    }

    fn rate_limited(&self, delay: Duration) -> ResponseTemplate {
        ResponseTemplate::new(429)
            .insert_header("retry-after", delay.as_secs().to_string())
            .set_body_json(serde_json::json!({"error": {
                "code": "TooManyRequests",
                "message": "Rate limit is exceeded. Try again in 2 seconds."
            }}))
    }

    fn rejected(&self) -> ResponseTemplate {
        ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": {
            "code": "InvalidRequestContent",
            "message": "The request content is not valid and could not be deserialized."
        }}))
    }

    fn request_timeout(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn secrets(&self) -> Vec<String> {
        vec![SIG.to_owned()]
    }

    fn check_send(&self, request: &Request, thread: Option<&MessageRef>) {
        assert!(thread.is_none(), "a Workflows webhook has no threads");
        assert_eq!(request.method.as_str(), "POST");
        assert_eq!(request.url.path(), PATH);
        let sig = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "sig")
            .map(|(_, v)| v.into_owned());
        assert_eq!(sig.as_deref(), Some(SIG), "the URL's key is sent as given");
        assert_eq!(
            request
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        let body: Value = serde_json::from_slice(&request.body).expect("a JSON body");
        assert_eq!(body["type"], "message");
        let attachments = body["attachments"].as_array().expect("attachments");
        assert_eq!(attachments.len(), 1, "one attachment");
        assert_eq!(
            attachments[0]["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        let card = &attachments[0]["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        let version = card["version"].as_str().expect("a version");
        assert!(
            ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"].contains(&version),
            "version {version} is at most 1.5"
        );
        assert_eq!(validate_limits(&body), Ok(()));
        let actions = card["actions"].as_array().expect("link buttons");
        assert!(
            actions.iter().all(|a| a["type"] == "Action.OpenUrl"),
            "only link buttons: {actions:?}"
        );
    }
}

#[tokio::test]
async fn the_teams_workflows_adapter_passes_the_conformance_suite() {
    stripe_chat_conformance::run(&Workflows).await;
}

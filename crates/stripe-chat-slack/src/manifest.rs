//! The Slack app manifest of a stripe-chat deployment: what to paste into Slack's "Create an app
//! → From an app manifest", so that the app has a bot user, the scopes stripe-chat uses and its
//! interactivity request URL.

use serde_json::{Value, json};

/// The bot token scopes stripe-chat uses: `chat:write` (post and update its messages, answer
/// privately), `channels:history` and `groups:history` (read a message back to update it after a
/// confirmation in a private prompt, in public and private channels).
///
/// ```
/// assert!(stripe_chat_slack::manifest::BOT_SCOPES.contains(&"chat:write"));
/// ```
pub const BOT_SCOPES: [&str; 3] = ["chat:write", "channels:history", "groups:history"];

/// Why a URL cannot be the app's interactivity request URL.
///
/// ```
/// let e = stripe_chat_slack::manifest::manifest("http://example.com", "stripe-chat").unwrap_err();
/// assert_eq!(e.to_string(), "--url must be an https URL (Slack calls it): must be https (plain http only on a loopback address)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--url must be an https URL (Slack calls it): {0}")]
pub struct ManifestError(String);

/// The manifest (JSON) of an app named `name` whose stripe-chat is reachable at `url` (the
/// public listener, `https://host`; its `/interactions/slack` is the request URL, added unless
/// `url` already ends with it).
///
/// ```
/// let m = stripe_chat_slack::manifest::manifest("https://chat.example.com/", "stripe-chat")?;
/// assert_eq!(m["settings"]["interactivity"]["request_url"], "https://chat.example.com/interactions/slack");
/// assert_eq!(m["features"]["bot_user"]["display_name"], "stripe-chat");
/// assert_eq!(m["oauth_config"]["scopes"]["bot"][0], "chat:write");
/// # Ok::<(), stripe_chat_slack::manifest::ManifestError>(())
/// ```
pub fn manifest(url: &str, name: &str) -> Result<Value, ManifestError> {
    let url = url.trim().trim_end_matches('/');
    let endpoint = url
        .parse::<reqwest::Url>()
        .map_err(|_| ManifestError("is not a URL".to_owned()))?;
    let loopback = matches!(
        endpoint.host_str(),
        Some("localhost" | "127.0.0.1" | "[::1]")
    );
    match endpoint.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(ManifestError(
                "must be https (plain http only on a loopback address)".to_owned(),
            ));
        }
        _ => return Err(ManifestError("must be https".to_owned())),
    }
    if endpoint.query().is_some() || endpoint.fragment().is_some() {
        return Err(ManifestError(
            "must not have a query or fragment".to_owned(),
        ));
    }
    let request_url = if url.ends_with("/interactions/slack") {
        url.to_owned()
    } else {
        format!("{url}/interactions/slack")
    };
    let name: String = name.trim().chars().take(35).collect();
    Ok(json!({
        "_metadata": { "major_version": 1, "minor_version": 1 },
        "display_information": {
            "name": name,
            "description": "Stripe payment events in Slack, and acting on them from the message",
        },
        "features": {
            "bot_user": { "display_name": name, "always_online": true },
        },
        "oauth_config": {
            "scopes": { "bot": BOT_SCOPES },
        },
        "settings": {
            "interactivity": { "is_enabled": true, "request_url": request_url },
            "org_deploy_enabled": false,
            "socket_mode_enabled": false,
            "token_rotation_enabled": false,
        },
    }))
}

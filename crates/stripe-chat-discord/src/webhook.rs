//! A Discord webhook URL taken apart ([`Webhook`]: its id and its token), and the checks of
//! Discord's ids and tokens that both the configuration and the client need.

use reqwest::Url;
use stripe_chat_message::{ConfigError, Secret};

/// Hosts a Discord webhook URL may name (and their `ptb.` / `canary.` subdomains).
const DISCORD_HOSTS: [&str; 2] = ["discord.com", "discordapp.com"];

/// The shape of a webhook URL, for error messages.
const WEBHOOK_URL_SHAPE: &str = "https://discord.com/api/webhooks/{id}/{token}";

/// A webhook URL taken apart: the id (not secret) and the token (secret).
pub(crate) struct Webhook {
    pub(crate) id: String,
    pub(crate) token: Secret,
}

/// Whether `id` looks like a Discord snowflake (1 to 20 ASCII digits).
pub(crate) fn is_snowflake(id: &str) -> bool {
    (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `token` only has the characters Discord webhook tokens use, so it needs no encoding.
fn is_token(token: &str) -> bool {
    (1..=256).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Takes the id and token out of a webhook URL; `key` names where the URL came from.
pub(crate) fn parse_webhook_url(url: &Secret, key: &str) -> Result<Webhook, ConfigError> {
    let not_a_webhook = |why: &str| {
        ConfigError::invalid(
            key,
            format!("is not a Discord webhook URL ({why}; expected {WEBHOOK_URL_SHAPE})"),
        )
    };
    let parsed = Url::parse(url.expose().trim()).map_err(|_| not_a_webhook("not a URL"))?;
    if parsed.scheme() != "https" {
        return Err(not_a_webhook("not https"));
    }
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    let discord_host = DISCORD_HOSTS
        .iter()
        .any(|h| host == *h || host == format!("ptb.{h}") || host == format!("canary.{h}"));
    if !discord_host {
        return Err(not_a_webhook(
            "not a discord.com host; to reach another server, set `api_base`",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(not_a_webhook("has user information"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(not_a_webhook(
            "has a query or fragment; give a thread in `thread_id`",
        ));
    }
    let mut segments: Vec<&str> = parsed.path_segments().into_iter().flatten().collect();
    if segments.last() == Some(&"") {
        segments.pop();
    }
    let version_ok =
        |v: &str| v.len() > 1 && v.starts_with('v') && v[1..].bytes().all(|b| b.is_ascii_digit());
    let (id, token) = match segments.as_slice() {
        ["api", "webhooks", id, token] => (*id, *token),
        ["api", version, "webhooks", id, token] if version_ok(version) => (*id, *token),
        _ => return Err(not_a_webhook("the path is not /api/webhooks/{id}/{token}")),
    };
    if !is_snowflake(id) {
        return Err(not_a_webhook("the webhook id is not a number"));
    }
    if !is_token(token) {
        return Err(not_a_webhook(
            "the token has characters Discord tokens do not use",
        ));
    }
    Ok(Webhook {
        id: id.to_owned(),
        token: Secret::new(token),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<Webhook, ConfigError> {
        parse_webhook_url(&Secret::new(url), "webhook_url")
    }

    #[test]
    fn webhook_urls_as_discord_shows_them_parse() {
        for url in [
            "https://discord.com/api/webhooks/123456789012345678/Ab-c_D",
            "https://discordapp.com/api/webhooks/123456789012345678/Ab-c_D",
            "https://canary.discord.com/api/v10/webhooks/123456789012345678/Ab-c_D/",
            "  https://ptb.discord.com/api/v9/webhooks/123456789012345678/Ab-c_D  ",
        ] {
            let webhook = parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(webhook.id, "123456789012345678");
            assert_eq!(webhook.token.expose(), "Ab-c_D");
        }
    }

    #[test]
    fn malformed_webhook_urls_are_refused_without_showing_the_token() {
        for url in [
            "http://discord.com/api/webhooks/1/SECRETTOKEN",
            "https://discord.com.evil.test/api/webhooks/1/SECRETTOKEN",
            "https://discord.com/api/webhooks/1/SECRETTOKEN?thread_id=2",
            "https://discord.com/api/webhooks/abc/SECRETTOKEN",
            "https://discord.com/api/webhooks/1/SECRETTOKEN/extra",
            "https://discord.com/api/webhooks/1/SECRET%2FTOKEN",
            "https://user:SECRETTOKEN@discord.com/api/webhooks/1/x",
            "https://discord.com/webhooks/1/SECRETTOKEN",
            "discord.com/api/webhooks/1/SECRETTOKEN",
        ] {
            let error = parse(url).err().unwrap_or_else(|| panic!("{url} accepted"));
            assert_eq!(error.key(), "webhook_url");
            assert!(!error.to_string().contains("SECRETTOKEN"), "{error}");
            assert!(!format!("{error:?}").contains("SECRETTOKEN"), "{error:?}");
        }
    }

    #[test]
    fn snowflakes_are_digits_only() {
        assert!(is_snowflake("1100000000000000001"));
        assert!(!is_snowflake(""));
        assert!(!is_snowflake("12/34"));
        assert!(!is_snowflake("123456789012345678901"));
    }
}

//! `stripe-chat init`: a commented starter configuration, the one a newcomer then edits. It works
//! as written with the `file` destination alone; each platform asked for adds a destination whose
//! secret comes from an environment variable (`check` names any that is unset).

use std::fmt::Write as _;

/// A platform `init --platform` can add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Platform {
    /// Slack, with a bot token (chat.postMessage, updates, threads).
    Slack,
    /// Microsoft Teams, through a Workflows webhook.
    Teams,
    /// Discord, through a channel webhook.
    Discord,
    /// Matrix, with an access token.
    Matrix,
    /// Any URL: the neutral message as signed JSON.
    Webhook,
}

impl Platform {
    /// The destination's table: its name is the platform's.
    fn destination(self) -> &'static str {
        match self {
            Platform::Slack => {
                "# Slack: a bot token (xoxb-...) with chat:write, invited to the channel.
[[destinations]]
name = \"slack\"
provider = \"slack\"
token_env = \"SLACK_BOT_TOKEN\"        # or token_file = \"/run/secrets/slack-token\"
channel = \"C0123456789\"              # the channel's id (channel details → About)
redaction = \"public\"                 # public | internal | restricted
"
            }
            Platform::Teams => {
                "# Microsoft Teams: a Workflows webhook (\"Post to a channel when a webhook request is received\").
[[destinations]]
name = \"teams\"
provider = \"teams\"
webhook_url_env = \"TEAMS_WEBHOOK_URL\"
"
            }
            Platform::Discord => {
                "# Discord: a channel webhook (Server settings → Integrations → Webhooks).
[[destinations]]
name = \"discord\"
provider = \"discord\"
webhook_url_env = \"DISCORD_WEBHOOK_URL\"
"
            }
            Platform::Matrix => {
                "# Matrix: a bot account's access token, joined to the room.
[[destinations]]
name = \"matrix\"
provider = \"matrix\"
homeserver = \"https://matrix.example.org\"
room_id = \"!roomid:example.org\"
access_token_env = \"MATRIX_ACCESS_TOKEN\"
"
            }
            Platform::Webhook => {
                "# Any HTTPS endpoint: the neutral message as JSON, signed (Stripe-Chat-Signature).
[[destinations]]
name = \"hook\"
provider = \"webhook\"
url_env = \"HOOK_URL\"
secret_env = \"HOOK_SECRET\"          # at least 16 bytes: openssl rand -hex 32
"
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Platform::Slack => "slack",
            Platform::Teams => "teams",
            Platform::Discord => "discord",
            Platform::Matrix => "matrix",
            Platform::Webhook => "hook",
        }
    }

    /// The environment variables its destination reads.
    pub(crate) fn variables(self) -> &'static [&'static str] {
        match self {
            Platform::Slack => &["SLACK_BOT_TOKEN"],
            Platform::Teams => &["TEAMS_WEBHOOK_URL"],
            Platform::Discord => &["DISCORD_WEBHOOK_URL"],
            Platform::Matrix => &["MATRIX_ACCESS_TOKEN"],
            Platform::Webhook => &["HOOK_URL", "HOOK_SECRET"],
        }
    }
}

/// The starter configuration with a destination for each of `platforms` beside the `file`
/// destination `log`, every event routed to all of them.
pub(crate) fn starter_config(platforms: &[Platform]) -> String {
    let mut platforms = platforms.to_vec();
    platforms.dedup();
    let mut text = String::from(
        "# stripe-chat configuration, written by `stripe-chat init`.
# Check it with `stripe-chat check --config stripe-chat.toml`, run it with `stripe-chat serve
# --config stripe-chat.toml`. Every key is documented in docs/configuration.md.

[server]
# Where Stripe's webhooks arrive: POST http://HOST:PORT/webhooks/stripe. Behind a reverse proxy
# keep 127.0.0.1; 0.0.0.0 listens on every interface.
listen = \"127.0.0.1:8787\"

[stripe]
# The endpoint's signing secret (Dashboard → Developers → Webhooks → your endpoint), or
# `stripe listen`'s. whsec_demo is what `stripe-chat send-test-event` and the demo sign with.
# In production: webhook_secrets_env = \"STRIPE_WEBHOOK_SECRET\" (or webhook_secrets_file).
webhook_secrets = [\"whsec_demo\"]

[store]
# The durable inbox and outbox: events are committed here before Stripe gets its 2xx.
sqlite = \"stripe-chat-data/stripe-chat.db\"
# retention = \"30d\"                  # delivered events older than this are pruned

# Destinations: where messages go. `log` writes one JSON line per message: watch it with
# `tail -f stripe-chat-data/messages.jsonl` while you try things.
[[destinations]]
name = \"log\"
provider = \"file\"
path = \"stripe-chat-data/messages.jsonl\"
thread_replies = true
",
    );
    for platform in &platforms {
        text.push('\n');
        text.push_str(platform.destination());
    }
    let names: Vec<String> = std::iter::once("log")
        .chain(platforms.iter().map(|p| p.name()))
        .map(|n| format!("{n:?}"))
        .collect();
    let _ = write!(
        text,
        "
# Routes: which events go where (event-type globs; amount, currency, metadata conditions too).
[[routes]]
events = [\"*\"]
to = [{}]

# A quieter route: one summary every 15 minutes instead of a message per event.
# [[routes]]
# events = [\"invoice.paid\", \"payment_intent.succeeded\"]
# to = [\"log\"]
# digest = {{ window = \"15m\", top = 3 }}
",
        names.join(", ")
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use stripe_chat::server::config::ServiceConfig;

    #[test]
    fn the_starter_configuration_is_valid_as_written() {
        let config =
            ServiceConfig::from_toml_with_env(&starter_config(&[]), |_| None).expect("valid");
        assert_eq!(config.destinations.len(), 1);
        assert_eq!(config.routes.len(), 1);
    }

    #[test]
    fn each_platform_adds_a_destination_routed_like_the_rest_and_reading_its_secret_from_the_environment()
     {
        let every = [
            Platform::Slack,
            Platform::Teams,
            Platform::Discord,
            Platform::Matrix,
            Platform::Webhook,
        ];
        let env = |name: &str| -> Option<String> {
            Some(
                match name {
                    "SLACK_BOT_TOKEN" => "xoxb-1",
                    "TEAMS_WEBHOOK_URL" => {
                        "https://prod-00.westus.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sig=x"
                    }
                    "DISCORD_WEBHOOK_URL" => "https://discord.com/api/webhooks/123456789012345678/x",
                    "MATRIX_ACCESS_TOKEN" => "syt_x",
                    "HOOK_URL" => "https://erp.example.com/hook",
                    "HOOK_SECRET" => "0123456789abcdef0123",
                    _ => return None,
                }
                .to_owned(),
            )
        };
        let text = starter_config(&every);
        let config = ServiceConfig::from_toml_with_env(&text, env).expect("valid");
        assert_eq!(config.destinations.len(), 6);
        let err = ServiceConfig::from_toml_with_env(&starter_config(&[Platform::Slack]), |_| None)
            .expect_err("the token is not set");
        assert!(err.to_string().contains("SLACK_BOT_TOKEN"), "{err}");
        for platform in every {
            for variable in platform.variables() {
                assert!(text.contains(variable), "{variable}");
            }
        }
    }
}

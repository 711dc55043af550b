//! The interaction endpoints: clicks and form submissions from the chat platforms, verified on
//! the raw body before anything reads it, then handed to the actions engine.
//!
//! | route | verified with | answers |
//! |---|---|---|
//! | `POST /interactions/slack` | `X-Slack-Signature` v0 over the raw body with `[interactions.slack]`'s signing secret, timestamp within 300 s | `200` at once (empty, or a modal's `response_action`); what follows goes through the click's `response_url` and `chat.update` |
//! | `POST /interactions/discord` | `X-Signature-Ed25519` over `X-Signature-Timestamp` + raw body with `[interactions.discord]`'s public key, timestamp within 300 s (Discord documents no window; we add one) | `200` with the interaction response: `{"type":1}` to a PING, `6` (deferred update), `4` (ephemeral message) or `9` (modal); what follows goes through the interaction's follow-up webhook |
//!
//! A verified request seen before (the same platform, timestamp and body: a replay within the
//! signature's window) is acknowledged without acting and counted with the reason `replayed`;
//! the actions engine would take it once anyway, by its interaction id kept in the store, which
//! holds across restarts and replicas where this check does not.
//!
//! A request that fails verification is answered `401` and nothing of it is read; a body over
//! `server.body_limit_bytes` is `413`; a verified body that is not an interaction is `400`. Each
//! refusal is counted in `stripe_chat_interactions_refused_total{platform,reason}` and logged
//! without its payload, at most once per reason and interval. A platform without its
//! `[interactions.*]` table (or a service without an actions engine) has no endpoint: `404`.
//! The action itself never runs on the request path: the engine answers within the platform's
//! window and acts in a task of its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use stripe_chat_discord::interaction::DiscordInteraction;
use stripe_chat_slack::interaction::SlackInteraction;

use crate::body::BodyError;
use crate::http::WebhookState;

/// How long a verified request is remembered: a timestamp is accepted 300 s either side of now,
/// so the same request can come back up to 600 s after it was first seen.
const REPLAY_MEMORY: Duration = Duration::from_secs(600);
/// Most requests remembered at once (about 50 bytes each).
const REPLAY_CAPACITY: usize = 100_000;

/// The verified requests of the last [`REPLAY_MEMORY`], by digest.
#[derive(Debug, Default)]
pub(crate) struct Replays {
    seen: Mutex<HashMap<[u8; 32], Instant>>,
}

impl Replays {
    /// Whether this is the first time `platform` sent `body` signed at `timestamp`.
    fn first_time(&self, platform: &str, timestamp: Option<&str>, body: &[u8]) -> bool {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update(platform.as_bytes());
        hash.update([0]);
        hash.update(timestamp.unwrap_or_default().trim().as_bytes());
        hash.update([0]);
        hash.update(body);
        let digest: [u8; 32] = hash.finalize().into();
        let Ok(mut seen) = self.seen.lock() else {
            return true;
        };
        let now = Instant::now();
        if seen.len() >= REPLAY_CAPACITY {
            seen.retain(|_, at| now.duration_since(*at) < REPLAY_MEMORY);
            if seen.len() >= REPLAY_CAPACITY {
                // A flood of genuine requests: forget; the store still deduplicates.
                seen.clear();
            }
        }
        match seen.insert(digest, now) {
            Some(at) => now.duration_since(at) >= REPLAY_MEMORY,
            None => true,
        }
    }
}

const SLACK: &str = "slack";
const DISCORD: &str = "discord";

fn refuse(
    state: &WebhookState,
    platform: &'static str,
    status: StatusCode,
    reason: &'static str,
) -> Response {
    state.metrics().interaction_refused(platform, reason);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{{\"error\":\"{reason}\"}}"),
    )
        .into_response()
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn read_body(
    state: &WebhookState,
    platform: &'static str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, Response> {
    let limit = state.body_limit();
    let declared = header_str(headers, header::CONTENT_LENGTH.as_str())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(refuse(
            state,
            platform,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ));
    }
    crate::body::read(body, limit, state.body_timeout())
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => refuse(
                state,
                platform,
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
            ),
            BodyError::TimedOut => {
                refuse(state, platform, StatusCode::REQUEST_TIMEOUT, "body_timeout")
            }
            BodyError::Unreadable => {
                refuse(state, platform, StatusCode::BAD_REQUEST, "body_unreadable")
            }
        })
}

/// `POST /interactions/slack`.
pub(crate) async fn slack(state: WebhookState, headers: HeaderMap, body: Body) -> Response {
    let (Some(verifier), Some(actions)) = (state.interactions().slack.as_ref(), state.actions())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let body = match read_body(&state, SLACK, &headers, body).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    if let Err(e) = verifier.verify(
        header_str(&headers, "x-slack-request-timestamp"),
        header_str(&headers, "x-slack-signature"),
        &body,
        SystemTime::now(),
    ) {
        return refuse(&state, SLACK, StatusCode::UNAUTHORIZED, e.reason());
    }
    let timestamp = header_str(&headers, "x-slack-request-timestamp");
    if !state.replays().first_time(SLACK, timestamp, &body) {
        state.metrics().interaction_refused(SLACK, "replayed");
        return StatusCode::OK.into_response();
    }
    let interaction = match SlackInteraction::parse(&body) {
        Ok(interaction) => interaction,
        Err(_) => return refuse(&state, SLACK, StatusCode::BAD_REQUEST, "not_an_interaction"),
    };
    state.metrics().interaction_taken(SLACK);
    let channel = match &interaction {
        SlackInteraction::BlockAction(action) => action.channel.clone(),
        SlackInteraction::ViewSubmission(view) => view
            .private_metadata
            .split_once(' ')
            .map(|(channel, _)| channel.to_owned()),
        _ => None,
    };
    let Some(bot) = state.interactions().slack_bot(channel.as_deref()).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let answer = stripe_chat_slack::actions::dispatch(actions.as_ref(), bot, interaction).await;
    match answer.body {
        Some(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response(),
        None => StatusCode::OK.into_response(),
    }
}

/// `POST /interactions/discord`.
pub(crate) async fn discord(state: WebhookState, headers: HeaderMap, body: Body) -> Response {
    let Some(verifier) = state.interactions().discord.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let body = match read_body(&state, DISCORD, &headers, body).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    if let Err(e) = verifier.verify(
        header_str(&headers, "x-signature-timestamp"),
        header_str(&headers, "x-signature-ed25519"),
        &body,
        SystemTime::now(),
    ) {
        return refuse(&state, DISCORD, StatusCode::UNAUTHORIZED, e.reason());
    }
    let timestamp = header_str(&headers, "x-signature-timestamp");
    let replayed = !state.replays().first_time(DISCORD, timestamp, &body);
    let interaction = match DiscordInteraction::parse(&body) {
        Ok(interaction) => interaction,
        Err(_) => {
            return refuse(
                &state,
                DISCORD,
                StatusCode::BAD_REQUEST,
                "not_an_interaction",
            );
        }
    };
    let answer = if interaction == DiscordInteraction::Ping {
        serde_json::json!({ "type": 1 })
    } else if replayed {
        state.metrics().interaction_refused(DISCORD, "replayed");
        serde_json::json!({ "type": 6 })
    } else {
        state.metrics().interaction_taken(DISCORD);
        let Some(actions) = state.actions() else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let Some(answerer) = state.interactions().discord_answerer.as_ref() else {
            return StatusCode::NOT_FOUND.into_response();
        };
        stripe_chat_discord::actions::dispatch(actions.as_ref(), answerer, interaction).await
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        answer.to_string(),
    )
        .into_response()
}

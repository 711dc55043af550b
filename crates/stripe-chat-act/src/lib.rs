//! The actions engine of stripe-chat: what happens when someone clicks a button on one of our
//! messages in Slack or Discord (Teams and Matrix use the same shapes).
//!
//! A platform adapter verifies the request and hands a [`Click`](stripe_chat_actions::Click) to
//! [`Engine`] (an [`Actions`](stripe_chat_actions::Actions)); the engine answers within the
//! platform's window and does the rest in a task of its own:
//!
//! - **Once.** Interaction ids are deduplicated in the store; every logical action (action,
//!   object, message) has one idempotency key, claimed in the store's ledger before it is
//!   performed: a hundred identical clicks and ten people at once perform it once. A timeout
//!   leaves the key to be claimed again, and performing again under the same key finds out
//!   without doing it twice.
//! - **Only the right people.** Deny by default ([`Permissions`](stripe_chat_actions::Permissions));
//!   money-moving actions need a confirmation kept on the server, bound to the person, the
//!   action, the object, the message and an expiry; a role may require a second person's
//!   approval; nobody approves their own request. The amount asked about is the one read from
//!   Stripe, and read again before acting.
//! - **A record.** Every step is appended to the tamper-evident audit log
//!   ([`AuditLog`](stripe_chat_audit::AuditLog)).
//! - **Performers.** [`Router`] sends each action to its performer: Stripe's actions to an
//!   [`Operations`](stripe_chat_actions::Operations) over Stripe's API, `create_ticket` to the
//!   team's [`TicketHook`], `send_dunning_email` to the team's [`MailerHook`] when configured,
//!   `assign` and `notify` to our own destinations through a [`Poster`].
//! - **Configuration.** The `[actions]` table is [`ActionsConfig`], checked into
//!   [`CheckedActions`].
//!
//! The crate has no feature flags.
//!
//! ```
//! # let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
//! # rt.block_on(async {
//! use std::sync::{Arc, Mutex};
//! use stripe_chat_act::{ActionsConfig, Engine, PostError, Poster, Router};
//! use stripe_chat_actions::*;
//! use stripe_chat_audit::AuditLog;
//! use stripe_chat_message::{ChatMessage, MessageRef, ObjectKind, ObjectRef};
//! use stripe_chat_store::{MemoryStore, Store};
//!
//! /// What the server's Stripe operations would be.
//! struct Stripe;
//! #[async_trait::async_trait]
//! impl Operations for Stripe {
//!     async fn inspect(&self, _: ActionId, t: &ObjectRef, _: Option<&str>) -> Result<Subject, Failure> {
//!         Ok(Subject::new(format!("invoice {}", t.id)).amount(84_200, "usd"))
//!     }
//!     async fn perform(&self, _: &Task) -> Result<Performed, Failure> {
//!         Ok(Performed::new("sent"))
//!     }
//! }
//! /// What the server's delivery queue would be.
//! struct Queue;
//! #[async_trait::async_trait]
//! impl Poster for Queue {
//!     async fn post(&self, _: &str, _: ChatMessage) -> Result<(), PostError> { Ok(()) }
//! }
//! /// What a platform adapter would be.
//! #[derive(Default)]
//! struct Message(Mutex<Vec<String>>);
//! #[async_trait::async_trait]
//! impl Responder for Message {
//!     async fn tell(&self, _: Notice) -> Result<(), RespondError> { Ok(()) }
//!     async fn update(&self, status: StatusLine) -> Result<(), RespondError> {
//!         self.0.lock().map_err(|_| RespondError::new("poisoned"))?.push(status.text);
//!         Ok(())
//!     }
//! }
//!
//! let permissions = Permissions::from_toml(r#"
//! [[roles]]
//! name = "billing"
//! actions = ["send_dunning_email", "assign"]
//! [[people]]
//! name = "ana"
//! roles = ["billing"]
//! slack = ["T0123ABCD/U0123ABCD"]
//! "#)?;
//! let config: ActionsConfig = toml::from_str("[assign]\ndestination = \"support-queue\"")?;
//! let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
//! let router = Router::from_config(&config.check()?, Arc::new(Stripe), Arc::new(Queue), store.clone())?;
//! let audit = Arc::new(AuditLog::new(store.clone(), "acme"));
//! let engine = stripe_chat_act::Engine::builder(permissions, Arc::new(router), store, audit.clone()).build();
//!
//! let message = Arc::new(Message::default());
//! let click = |n: u32| Click {
//!     interaction_id: format!("slack:{n}"),
//!     identity: Identity::slack("T0123ABCD", "U0123ABCD"),
//!     display_name: None,
//!     message: MessageRef::new("slack", "1700000000.000100").in_channel("C1"),
//!     intent: Intent::Press { action: ActionId::SendDunningEmail, target: ObjectRef::new(ObjectKind::Invoice, "in_1"), account: None },
//! };
//! for n in 0..3 {
//!     assert_eq!(engine.handle(click(n), message.clone()).await, Immediate::Ack);
//! }
//! engine.settled().await;
//! assert_eq!(*message.0.lock().map_err(|_| "poisoned")?, ["Dunning email sent by ana — sent"]);
//! assert!(audit.verify(None).await?.problem.is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod config;
mod engine;
mod hooks;
mod router;

pub use config::{
    ActionsConfig, AssignConfig, CheckedActions, DEFAULT_CONFIRMATION_EXPIRY, DunningConfig,
    HookConfig, MAX_CONFIRMATION_EXPIRY, MIN_HOOK_SECRET_BYTES, NotifyConfig,
};
pub use engine::{DEFAULT_ANSWER_WITHIN, DEFAULT_CLAIM_STALE_AFTER, Engine, EngineBuilder};
pub use hooks::{
    DEFAULT_HOOK_TIMEOUT, HookError, HookTarget, IDEMPOTENCY_HEADER, MailerHook, SIGNATURE_HEADER,
    TicketHook,
};
pub use router::{PostError, Poster, Router};

//! A request on its way to being performed: confirmed by the person who asked (on the server: a
//! client-side dialog proves nothing) and, above a role's threshold, approved by a second
//! person, each before it expires.
//!
//! ```text
//!  requested ──confirm (same person, in time)──▶ confirmed ──(no approval needed)──▶ ready
//!                                                   │
//!                                                   └──approve (another person, in time)──▶ ready
//! ```
//!
//! The state is plain data, kept in the store between clicks (a restart loses none, and any
//! replica can take the next click); every transition takes the current time.

use std::time::{Duration, SystemTime};

use crate::{ActionRequest, Denial};

/// How long a confirmation or an approval may take by default.
pub const DEFAULT_EXPIRY: Duration = Duration::from_secs(15 * 60);

/// Where a pending request stands.
///
/// ```
/// assert_eq!(stripe_chat_actions::Stage::AwaitingApproval.as_str(), "awaiting_approval");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// The person who asked has not confirmed yet.
    AwaitingConfirmation,
    /// Confirmed; a second person must approve.
    AwaitingApproval,
    /// Everything needed is there: perform it (once).
    Ready,
}

impl Stage {
    /// Its name, as stored.
    ///
    /// ```
    /// assert_eq!(stripe_chat_actions::Stage::Ready.as_str(), "ready");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::AwaitingConfirmation => "awaiting_confirmation",
            Stage::AwaitingApproval => "awaiting_approval",
            Stage::Ready => "ready",
        }
    }

    /// The stage named `name` (as [`Stage::as_str`] gives it).
    ///
    /// ```
    /// use stripe_chat_actions::Stage;
    /// assert_eq!(Stage::parse("awaiting_approval"), Some(Stage::AwaitingApproval));
    /// assert_eq!(Stage::parse("done"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Stage> {
        [
            Stage::AwaitingConfirmation,
            Stage::AwaitingApproval,
            Stage::Ready,
        ]
        .into_iter()
        .find(|stage| stage.as_str() == name)
    }
}

/// A request waiting for its confirmation or approval.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use stripe_chat_actions::{ActionId, ActionRequest, Pending, Stage};
/// let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let mut pending = Pending::new("ana", ActionRequest::new(ActionId::RetryPayment).amount(80_000, "usd"), true, true, t0);
/// assert_eq!(pending.stage(), Stage::AwaitingConfirmation);
/// pending.confirm("ana", t0 + Duration::from_secs(5))?;
/// assert_eq!(pending.stage(), Stage::AwaitingApproval);
/// pending.approve("cy", t0 + Duration::from_secs(60))?;
/// assert_eq!(pending.stage(), Stage::Ready);
/// assert_eq!(pending.approved_by(), Some("cy"));
/// # Ok::<(), stripe_chat_actions::Denial>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    requester: String,
    request: ActionRequest,
    stage: Stage,
    needs_approval: bool,
    expires_at: SystemTime,
    approved_by: Option<String>,
}

impl Pending {
    /// A request by `requester`, as [`Permissions::decide`](crate::Permissions::decide) allowed
    /// it: with a confirmation step (`confirm`) and an approval step (`approval`) as it said,
    /// expiring [`DEFAULT_EXPIRY`] after `now`.
    ///
    /// ```
    /// use stripe_chat_actions::{ActionId, ActionRequest, Pending, Stage};
    /// let p = Pending::new("bo", ActionRequest::new(ActionId::Assign), false, false, std::time::SystemTime::now());
    /// assert_eq!(p.stage(), Stage::Ready);
    /// ```
    pub fn new(
        requester: impl Into<String>,
        request: ActionRequest,
        confirm: bool,
        approval: bool,
        now: SystemTime,
    ) -> Self {
        let stage = match (confirm, approval) {
            (true, _) => Stage::AwaitingConfirmation,
            (false, true) => Stage::AwaitingApproval,
            (false, false) => Stage::Ready,
        };
        Pending {
            requester: requester.into(),
            request,
            stage,
            needs_approval: approval,
            expires_at: now + DEFAULT_EXPIRY,
            approved_by: None,
        }
    }

    /// The same, expiring `after` its creation instead.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use stripe_chat_actions::{ActionId, ActionRequest, Pending};
    /// let now = SystemTime::now();
    /// let p = Pending::new("bo", ActionRequest::new(ActionId::RetryPayment), true, false, now).expiring(now, Duration::from_secs(60));
    /// assert_eq!(p.expires_at(), now + Duration::from_secs(60));
    /// ```
    #[must_use]
    pub fn expiring(mut self, now: SystemTime, after: Duration) -> Self {
        self.expires_at = now + after;
        self
    }

    /// A request as it was kept between clicks (in the store): its parts as they stood.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use stripe_chat_actions::{ActionId, ActionRequest, Pending, Stage};
    /// let now = SystemTime::now();
    /// let until = now + Duration::from_secs(600);
    /// let mut p = Pending::restore("ana", ActionRequest::new(ActionId::RetryPayment), Stage::AwaitingApproval, true, until, None);
    /// assert_eq!(p.approve("cy", now), Ok(Stage::Ready));
    /// ```
    pub fn restore(
        requester: impl Into<String>,
        request: ActionRequest,
        stage: Stage,
        needs_approval: bool,
        expires_at: SystemTime,
        approved_by: Option<String>,
    ) -> Self {
        Pending {
            requester: requester.into(),
            request,
            stage,
            needs_approval,
            expires_at,
            approved_by,
        }
    }

    /// Whether a second person must approve it.
    ///
    /// ```
    /// # use stripe_chat_actions::{ActionId, ActionRequest, Pending};
    /// assert!(Pending::new("bo", ActionRequest::new(ActionId::RetryPayment), true, true, std::time::SystemTime::now()).needs_approval());
    /// ```
    pub fn needs_approval(&self) -> bool {
        self.needs_approval
    }

    /// Who asked.
    ///
    /// ```
    /// # use stripe_chat_actions::{ActionId, ActionRequest, Pending};
    /// assert_eq!(Pending::new("bo", ActionRequest::new(ActionId::Assign), false, false, std::time::SystemTime::now()).requester(), "bo");
    /// ```
    pub fn requester(&self) -> &str {
        &self.requester
    }

    /// What they asked.
    ///
    /// ```
    /// # use stripe_chat_actions::{ActionId, ActionRequest, Pending};
    /// let p = Pending::new("bo", ActionRequest::new(ActionId::Assign), false, false, std::time::SystemTime::now());
    /// assert_eq!(p.request().action, ActionId::Assign);
    /// ```
    pub fn request(&self) -> &ActionRequest {
        &self.request
    }

    /// Where it stands.
    ///
    /// ```
    /// # use stripe_chat_actions::{ActionId, ActionRequest, Pending, Stage};
    /// let p = Pending::new("bo", ActionRequest::new(ActionId::RetryPayment), true, false, std::time::SystemTime::now());
    /// assert_eq!(p.stage(), Stage::AwaitingConfirmation);
    /// ```
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// When it expires.
    ///
    /// ```
    /// # use stripe_chat_actions::{ActionId, ActionRequest, Pending};
    /// let now = std::time::SystemTime::now();
    /// assert!(Pending::new("bo", ActionRequest::new(ActionId::Assign), false, false, now).expires_at() > now);
    /// ```
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// Who approved it, once approved.
    ///
    /// ```
    /// # use stripe_chat_actions::{ActionId, ActionRequest, Pending};
    /// assert!(Pending::new("bo", ActionRequest::new(ActionId::Assign), false, false, std::time::SystemTime::now()).approved_by().is_none());
    /// ```
    pub fn approved_by(&self) -> Option<&str> {
        self.approved_by.as_deref()
    }

    fn check_time(&self, now: SystemTime) -> Result<(), Denial> {
        if now > self.expires_at {
            return Err(Denial::Expired);
        }
        Ok(())
    }

    /// The person who asked confirms it (`person` is who clicked "Confirm"): only they can, and
    /// only before it expires.
    ///
    /// ```
    /// use stripe_chat_actions::{ActionId, ActionRequest, Denial, Pending};
    /// let now = std::time::SystemTime::now();
    /// let mut p = Pending::new("ana", ActionRequest::new(ActionId::RetryPayment), true, false, now);
    /// assert_eq!(p.confirm("bo", now), Err(Denial::NotGranted { action: ActionId::RetryPayment }));
    /// assert!(p.confirm("ana", now).is_ok());
    /// ```
    pub fn confirm(&mut self, person: &str, now: SystemTime) -> Result<Stage, Denial> {
        if person != self.requester {
            return Err(Denial::NotGranted {
                action: self.request.action,
            });
        }
        self.check_time(now)?;
        if self.stage == Stage::AwaitingConfirmation {
            self.stage = if self.needs_approval {
                // The approval gets its own full window from the confirmation on.
                self.expires_at = now + DEFAULT_EXPIRY;
                Stage::AwaitingApproval
            } else {
                Stage::Ready
            };
        }
        Ok(self.stage)
    }

    /// A second person approves it (`approver`, whom
    /// [`Permissions::approve`](crate::Permissions::approve) accepted): never the person who
    /// asked, only after the confirmation, only before it expires.
    ///
    /// ```
    /// use stripe_chat_actions::{ActionId, ActionRequest, Denial, Pending};
    /// let now = std::time::SystemTime::now();
    /// let mut p = Pending::new("ana", ActionRequest::new(ActionId::RetryPayment), false, true, now);
    /// assert_eq!(p.approve("ana", now), Err(Denial::SelfApproval));
    /// assert!(p.approve("cy", now).is_ok());
    /// ```
    pub fn approve(&mut self, approver: &str, now: SystemTime) -> Result<Stage, Denial> {
        if approver == self.requester {
            return Err(Denial::SelfApproval);
        }
        self.check_time(now)?;
        match self.stage {
            Stage::AwaitingApproval => {
                self.stage = Stage::Ready;
                self.approved_by = Some(approver.to_owned());
                Ok(Stage::Ready)
            }
            Stage::AwaitingConfirmation => Err(Denial::NotGranted {
                action: self.request.action,
            }),
            Stage::Ready => Ok(Stage::Ready),
        }
    }
}

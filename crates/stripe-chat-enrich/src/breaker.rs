//! The circuit breaker in front of Stripe: when Stripe is slow, down or refuses the key, stop
//! asking for a while, and say so once.

use std::sync::Mutex;
use std::time::Duration;

use stripe_chat_message::ErrorKind;
use tokio::time::Instant;

/// How long a claimed probe waits for its outcome before another read may probe (longer than
/// any event's deadline, at most 30 s).
const PROBE_LOST_AFTER: Duration = Duration::from_secs(31);

/// When the breaker stops reads, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BreakerSettings {
    /// Failures in a row (timeouts, 429, 5xx, unreachable) that open it.
    pub(crate) open_after: u32,
    /// The first pause; doubled after each failed probe.
    pub(crate) first_pause: Duration,
    /// The longest pause; also the pause after Stripe refuses the key.
    pub(crate) max_pause: Duration,
}

#[derive(Debug)]
struct State {
    failures: u32,
    /// Open until then: no read but one probe after it.
    open_until: Option<Instant>,
    pause: Duration,
    /// When the probe in flight was claimed.
    probing: Option<Instant>,
    /// Opened because Stripe refused the key.
    refused: bool,
}

/// Closed: reads go. Open: reads are skipped (the event goes out unenriched) until the pause
/// ends; then one read probes, and its answer closes or reopens it (for twice as long). Stripe
/// refusing the key (401, 403) opens it at once for the longest pause. Opening and closing are
/// logged once each; the reads skipped in between are not.
#[derive(Debug)]
pub(crate) struct Breaker {
    settings: BreakerSettings,
    state: Mutex<State>,
}

impl Breaker {
    pub(crate) fn new(settings: BreakerSettings) -> Self {
        Breaker {
            settings,
            state: Mutex::new(State {
                failures: 0,
                open_until: None,
                pause: settings.first_pause,
                probing: None,
                refused: false,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a read may go now (claims the probe when the pause has ended). A probe whose
    /// outcome never came (its event gave up first) is given to another read after
    /// [`PROBE_LOST_AFTER`].
    pub(crate) fn admit(&self, now: Instant) -> bool {
        let mut state = self.state();
        let probe_in_flight = state
            .probing
            .is_some_and(|at| now.duration_since(at) < PROBE_LOST_AFTER);
        match state.open_until {
            None => true,
            Some(until) if now < until || probe_in_flight => false,
            Some(_) => {
                state.probing = Some(now);
                true
            }
        }
    }

    /// The probe claimed by [`Breaker::admit`] was not sent after all.
    pub(crate) fn release_probe(&self) {
        self.state().probing = None;
    }

    /// Stripe answered (an object, or a refusal of this read alone, such as 404).
    pub(crate) fn answered(&self) {
        let mut state = self.state();
        if state.open_until.is_some() {
            tracing::info!("Stripe answers again: events are enriched again");
        }
        state.failures = 0;
        state.open_until = None;
        state.pause = self.settings.first_pause;
        state.probing = None;
        state.refused = false;
    }

    /// A read failed as `kind` says, with Stripe's `status` when it answered (`message` says
    /// how; it holds no secret). A 403 refuses one kind of object to a restricted key, not the
    /// key itself: it is an answer (the caller says which permission is missing).
    pub(crate) fn failed(&self, kind: ErrorKind, status: Option<u16>, message: &str, now: Instant) {
        if status == Some(403) {
            self.answered();
            return;
        }
        let mut state = self.state();
        let was_open = state.open_until.is_some();
        let probing = state.probing.take().is_some();
        if kind == ErrorKind::Unauthorized {
            if !state.refused {
                tracing::error!(
                    error = %message,
                    pause_secs = self.settings.max_pause.as_secs(),
                    "Stripe refused the API key used for enrichment: messages go out without Stripe's details until the key is fixed (stripe.api_key_env / stripe.api_key_file; the key needs read access to charges, customers, invoices, payment intents and subscriptions)"
                );
            }
            state.refused = true;
            state.pause = self.settings.max_pause;
            state.open_until = Some(now + state.pause);
            return;
        }
        if !kind.is_retryable() {
            // Stripe answered; this read alone was refused.
            drop(state);
            self.answered();
            return;
        }
        if probing && was_open {
            state.pause = (state.pause * 2).min(self.settings.max_pause);
            state.open_until = Some(now + state.pause);
            return;
        }
        state.failures += 1;
        if !was_open && state.failures >= self.settings.open_after {
            state.pause = self.settings.first_pause;
            state.open_until = Some(now + state.pause);
            tracing::warn!(
                failures = state.failures,
                error = %message,
                pause_secs = state.pause.as_secs(),
                "Stripe is failing: events go out without Stripe's details (marked \"details unavailable\") while it recovers"
            );
        }
    }

    /// Whether it is open (reads are skipped).
    pub(crate) fn is_open(&self) -> bool {
        self.state().open_until.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(BreakerSettings {
            open_after: 3,
            first_pause: Duration::from_secs(5),
            max_pause: Duration::from_secs(300),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn it_opens_after_failures_in_a_row_and_a_good_probe_closes_it() {
        let b = breaker();
        let now = Instant::now();
        for _ in 0..2 {
            assert!(b.admit(now));
            b.failed(ErrorKind::Transient, None, "503", now);
        }
        assert!(!b.is_open());
        b.failed(ErrorKind::RateLimited, None, "429", now);
        assert!(b.is_open());
        assert!(!b.admit(now + Duration::from_secs(4)));
        let later = now + Duration::from_secs(5);
        assert!(b.admit(later), "one probe");
        assert!(!b.admit(later), "only one probe at a time");
        b.answered();
        assert!(!b.is_open() && b.admit(later));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_doubles_the_pause() {
        let b = breaker();
        let now = Instant::now();
        for _ in 0..3 {
            b.failed(ErrorKind::Transient, None, "timeout", now);
        }
        let probe_at = now + Duration::from_secs(5);
        assert!(b.admit(probe_at));
        b.failed(ErrorKind::Transient, None, "timeout", probe_at);
        assert!(!b.admit(probe_at + Duration::from_secs(9)));
        assert!(b.admit(probe_at + Duration::from_secs(10)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_not_sent_or_never_answered_does_not_keep_it_open_for_ever() {
        let b = breaker();
        let now = Instant::now();
        for _ in 0..3 {
            b.failed(ErrorKind::Transient, None, "timeout", now);
        }
        let later = now + Duration::from_secs(5);
        assert!(b.admit(later));
        b.release_probe();
        assert!(b.admit(later), "the released probe goes to the next read");
        assert!(!b.admit(later + Duration::from_secs(30)));
        assert!(
            b.admit(later + PROBE_LOST_AFTER),
            "a lost probe is given again"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_key_opens_it_at_once_for_the_longest_pause() {
        let b = breaker();
        let now = Instant::now();
        b.failed(ErrorKind::Unauthorized, None, "401", now);
        assert!(!b.admit(now + Duration::from_secs(299)));
        assert!(b.admit(now + Duration::from_secs(300)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_of_one_read_is_an_answer() {
        let b = breaker();
        let now = Instant::now();
        b.failed(ErrorKind::Transient, None, "503", now);
        b.failed(ErrorKind::Transient, None, "503", now);
        b.failed(ErrorKind::Permanent, None, "404", now);
        b.failed(ErrorKind::Transient, None, "503", now);
        assert!(!b.is_open(), "the 404 broke the run of failures");
    }
}

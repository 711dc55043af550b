//! The circuit breaker of one destination: a destination that keeps failing is paused as a
//! whole, tested by one probe at a time, and resumed by the first delivery that succeeds.
//!
//! ```text
//!            N transient failures in a row                 probe due
//!  Closed ─────────────────────────────────▶ Open ──────────────────────▶ HalfOpen (one probe)
//!    ▲                                        ▲  ◀── probe failed: next probe   │
//!    │                                        │      after twice the wait (≤ max)│
//!    └──────────── a delivery succeeded ──────┴──────────────────────────────────┘
//! ```
//!
//! While the breaker is not closed, the destination's jobs are not leased (the store's
//! [`LeaseFilter`](stripe_chat_store::LeaseFilter) leaves them out); one already leased waits
//! without a request and without spending an attempt. The state machine is pure: every method
//! takes the current time, so tests drive it with a clock of their own.
//!
//! ```
//! use std::time::Duration;
//! use tokio::time::Instant;
//! use stripe_chat_server::breaker::{Admission, Breaker, BreakerSettings, Change};
//!
//! let settings = BreakerSettings { pause_after: 2, first_probe: Duration::from_secs(1), max_probe: Duration::from_secs(60) };
//! let mut breaker = Breaker::new(settings);
//! let t0 = Instant::now();
//! assert_eq!(breaker.failure(t0), None);
//! assert!(matches!(breaker.failure(t0), Some(Change::Paused { .. })));
//! assert_eq!(breaker.admit(t0), Admission::Wait { until: t0 + Duration::from_secs(1) });
//! assert!(breaker.start_probe(t0 + Duration::from_secs(1)));
//! assert!(matches!(breaker.success(t0 + Duration::from_secs(2)), Some(Change::Resumed { .. })));
//! assert_eq!(breaker.admit(t0 + Duration::from_secs(2)), Admission::Send);
//! ```

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// When a breaker pauses its destination and how often it probes.
///
/// ```
/// let s = stripe_chat_server::breaker::BreakerSettings::default();
/// assert_eq!(s.pause_after, 3);
/// assert_eq!(s.max_probe.as_secs(), 60);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Transient failures in a row that pause the destination (at least 1).
    pub pause_after: u32,
    /// The wait before the first probe.
    pub first_probe: Duration,
    /// The longest wait between probes (so that recovery is noticed within it).
    pub max_probe: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            pause_after: 3,
            first_probe: Duration::from_millis(500),
            max_probe: Duration::from_secs(60),
        }
    }
}

/// Where a breaker is.
///
/// ```
/// use stripe_chat_server::breaker::{Breaker, State};
/// assert_eq!(Breaker::new(Default::default()).state(), State::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Deliveries go out.
    Closed,
    /// Paused: nothing goes out until the probe is due.
    Open {
        /// When the next probe may start.
        probe_at: Instant,
    },
    /// Paused, with one probe in flight.
    HalfOpen,
}

/// What a job that is about to be sent should do.
///
/// ```
/// use stripe_chat_server::breaker::{Admission, Breaker};
/// let mut breaker = Breaker::new(Default::default());
/// assert_eq!(breaker.admit(tokio::time::Instant::now()), Admission::Send);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Send it.
    Send,
    /// The destination is paused: put the job back, due at `until`, without trying it.
    Wait {
        /// When the job may be tried again.
        until: Instant,
    },
}

/// A change of state worth one log line and a metric.
///
/// ```
/// use stripe_chat_server::breaker::Change;
/// let c = Change::Resumed { down_for: std::time::Duration::from_secs(90) };
/// assert!(matches!(c, Change::Resumed { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The destination was paused.
    Paused {
        /// The failures in a row that paused it.
        failures: u32,
        /// The wait before the first probe.
        next_probe: Duration,
    },
    /// A delivery succeeded: the destination is resumed.
    Resumed {
        /// How long it was paused.
        down_for: Duration,
    },
}

/// The breaker of one destination. Not synchronised: the worker keeps it behind a mutex.
///
/// ```
/// use stripe_chat_server::breaker::{Breaker, BreakerSettings};
/// let breaker = Breaker::new(BreakerSettings::default());
/// assert!(!breaker.is_paused());
/// ```
#[derive(Debug, Clone)]
pub struct Breaker {
    settings: BreakerSettings,
    state: State,
    /// Transient failures in a row while closed.
    failures: u32,
    /// Failed probes in a row while paused.
    failed_probes: u32,
    /// When the current pause began (monotonic and wall clock).
    down_since: Option<(Instant, SystemTime)>,
    /// The last pause, once over: when it began and ended (wall clock).
    last_outage: Option<(SystemTime, SystemTime)>,
}

impl Breaker {
    /// A closed breaker.
    ///
    /// ```
    /// let b = stripe_chat_server::breaker::Breaker::new(Default::default());
    /// assert_eq!(b.state(), stripe_chat_server::breaker::State::Closed);
    /// ```
    pub fn new(settings: BreakerSettings) -> Self {
        Breaker {
            settings: BreakerSettings {
                pause_after: settings.pause_after.max(1),
                first_probe: settings.first_probe.min(settings.max_probe),
                ..settings
            },
            state: State::Closed,
            failures: 0,
            failed_probes: 0,
            down_since: None,
            last_outage: None,
        }
    }

    /// Its state.
    ///
    /// ```
    /// let b = stripe_chat_server::breaker::Breaker::new(Default::default());
    /// assert_eq!(b.state(), stripe_chat_server::breaker::State::Closed);
    /// ```
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether the destination is paused (open or probing).
    ///
    /// ```
    /// assert!(!stripe_chat_server::breaker::Breaker::new(Default::default()).is_paused());
    /// ```
    pub fn is_paused(&self) -> bool {
        self.state != State::Closed
    }

    /// When the current pause began (wall clock), if paused.
    ///
    /// ```
    /// assert!(stripe_chat_server::breaker::Breaker::new(Default::default()).paused_since().is_none());
    /// ```
    pub fn paused_since(&self) -> Option<SystemTime> {
        self.down_since.map(|(_, wall)| wall)
    }

    /// When the next probe may start, while open.
    ///
    /// ```
    /// assert!(stripe_chat_server::breaker::Breaker::new(Default::default()).probe_at().is_none());
    /// ```
    pub fn probe_at(&self) -> Option<Instant> {
        match self.state {
            State::Open { probe_at } => Some(probe_at),
            _ => None,
        }
    }

    /// Whether the destination was paused at some time after `since` (wall clock): now, or in
    /// its last pause.
    ///
    /// ```
    /// let b = stripe_chat_server::breaker::Breaker::new(Default::default());
    /// assert!(!b.was_paused_since(std::time::SystemTime::UNIX_EPOCH));
    /// ```
    pub fn was_paused_since(&self, since: SystemTime) -> bool {
        self.down_since.is_some() || self.last_outage.is_some_and(|(_, ended)| ended >= since)
    }

    /// Whether a job about to be sent may go.
    ///
    /// ```
    /// let mut b = stripe_chat_server::breaker::Breaker::new(Default::default());
    /// assert_eq!(b.admit(tokio::time::Instant::now()), stripe_chat_server::breaker::Admission::Send);
    /// ```
    pub fn admit(&mut self, now: Instant) -> Admission {
        match self.state {
            State::Closed => Admission::Send,
            State::Open { probe_at } => Admission::Wait {
                until: probe_at.max(now),
            },
            // The probe's answer decides; look again after the shortest wait.
            State::HalfOpen => Admission::Wait {
                until: now + self.settings.first_probe,
            },
        }
    }

    /// Claims the probe when it is due: true (and the breaker is half-open) for exactly one
    /// caller; the caller then sends one job and reports [`success`](Breaker::success) or
    /// [`failure`](Breaker::failure), or [`release_probe`](Breaker::release_probe) when it
    /// found nothing to send.
    ///
    /// ```
    /// let mut b = stripe_chat_server::breaker::Breaker::new(Default::default());
    /// assert!(!b.start_probe(tokio::time::Instant::now()), "a closed breaker needs no probe");
    /// ```
    pub fn start_probe(&mut self, now: Instant) -> bool {
        match self.state {
            State::Open { probe_at } if now >= probe_at => {
                self.state = State::HalfOpen;
                true
            }
            _ => false,
        }
    }

    /// The probe found no job to send: the probe stays due.
    ///
    /// ```
    /// let mut b = stripe_chat_server::breaker::Breaker::new(Default::default());
    /// b.release_probe(tokio::time::Instant::now());
    /// assert!(!b.is_paused());
    /// ```
    pub fn release_probe(&mut self, now: Instant) {
        if self.state == State::HalfOpen {
            self.state = State::Open { probe_at: now };
        }
    }

    /// A delivery succeeded: the destination works. Returns [`Change::Resumed`] when it was
    /// paused.
    ///
    /// ```
    /// let mut b = stripe_chat_server::breaker::Breaker::new(Default::default());
    /// assert_eq!(b.success(tokio::time::Instant::now()), None);
    /// ```
    pub fn success(&mut self, now: Instant) -> Option<Change> {
        self.failures = 0;
        self.failed_probes = 0;
        if self.state == State::Closed {
            return None;
        }
        self.state = State::Closed;
        let (since, wall) = self.down_since.take()?;
        let down_for = now.saturating_duration_since(since);
        self.last_outage = Some((wall, wall + down_for));
        Some(Change::Resumed { down_for })
    }

    /// A delivery failed transiently (timeout, refused connection, 5xx). Returns
    /// [`Change::Paused`] when this failure paused the destination.
    ///
    /// ```
    /// let mut b = stripe_chat_server::breaker::Breaker::new(Default::default());
    /// let now = tokio::time::Instant::now();
    /// assert_eq!(b.failure(now), None);
    /// assert_eq!(b.failure(now), None);
    /// assert!(b.failure(now).is_some());
    /// ```
    pub fn failure(&mut self, now: Instant) -> Option<Change> {
        match self.state {
            State::Closed => {
                self.failures = self.failures.saturating_add(1);
                if self.failures < self.settings.pause_after {
                    return None;
                }
                self.failed_probes = 0;
                let wait = self.probe_wait();
                self.state = State::Open {
                    probe_at: now + wait,
                };
                self.down_since = Some((now, SystemTime::now()));
                Some(Change::Paused {
                    failures: self.failures,
                    next_probe: wait,
                })
            }
            State::HalfOpen => {
                self.failed_probes = self.failed_probes.saturating_add(1);
                self.state = State::Open {
                    probe_at: now + self.probe_wait(),
                };
                None
            }
            // A job sent before the pause failed late: the pause already stands.
            State::Open { .. } => None,
        }
    }

    /// The wait before the next probe: the first wait doubled per failed probe, at most the
    /// longest.
    fn probe_wait(&self) -> Duration {
        let doubled = self
            .settings
            .first_probe
            .saturating_mul(1u32 << self.failed_probes.min(20));
        doubled.min(self.settings.max_probe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn breaker(pause_after: u32) -> Breaker {
        Breaker::new(BreakerSettings {
            pause_after,
            first_probe: SEC,
            max_probe: 8 * SEC,
        })
    }

    #[test]
    fn a_closed_breaker_sends_and_forgets_failures_after_a_success() {
        let t0 = Instant::now();
        let mut b = breaker(3);
        assert_eq!(b.failure(t0), None);
        assert_eq!(b.failure(t0), None);
        assert_eq!(b.success(t0), None);
        assert_eq!(b.failure(t0), None);
        assert_eq!(b.failure(t0), None);
        assert_eq!(b.state(), State::Closed);
        assert_eq!(b.admit(t0), Admission::Send);
    }

    #[test]
    fn failures_in_a_row_open_it_and_jobs_wait_for_the_probe() {
        let t0 = Instant::now();
        let mut b = breaker(2);
        b.failure(t0);
        assert_eq!(
            b.failure(t0),
            Some(Change::Paused {
                failures: 2,
                next_probe: SEC
            })
        );
        assert_eq!(b.state(), State::Open { probe_at: t0 + SEC });
        assert!(b.is_paused());
        assert!(b.paused_since().is_some());
        assert_eq!(b.admit(t0), Admission::Wait { until: t0 + SEC });
        assert!(!b.start_probe(t0 + SEC / 2), "not before it is due");
    }

    #[test]
    fn exactly_one_probe_is_claimed_when_due() {
        let t0 = Instant::now();
        let mut b = breaker(1);
        b.failure(t0);
        assert!(b.start_probe(t0 + SEC));
        assert_eq!(b.state(), State::HalfOpen);
        assert!(!b.start_probe(t0 + SEC), "a second prober is refused");
        assert!(matches!(b.admit(t0 + SEC), Admission::Wait { .. }));
    }

    #[test]
    fn failed_probes_double_the_wait_up_to_the_maximum() {
        let t0 = Instant::now();
        let mut b = breaker(1);
        b.failure(t0);
        let mut now = t0;
        let mut waits = Vec::new();
        for _ in 0..6 {
            let probe_at = b.probe_at().expect("open");
            waits.push(probe_at - now);
            now = probe_at;
            assert!(b.start_probe(now));
            assert_eq!(b.failure(now), None, "no new pause while paused");
        }
        assert_eq!(waits, [SEC, 2 * SEC, 4 * SEC, 8 * SEC, 8 * SEC, 8 * SEC]);
    }

    #[test]
    fn a_successful_probe_closes_it_and_reports_the_outage() {
        let t0 = Instant::now();
        let mut b = breaker(1);
        b.failure(t0);
        assert!(b.start_probe(t0 + SEC));
        assert_eq!(
            b.success(t0 + 3 * SEC),
            Some(Change::Resumed { down_for: 3 * SEC })
        );
        assert_eq!(b.state(), State::Closed);
        assert!(b.was_paused_since(SystemTime::now() - Duration::from_secs(60)));
        // The next pause starts from the first wait again.
        assert!(matches!(
            b.failure(t0 + 4 * SEC),
            Some(Change::Paused { next_probe, .. }) if next_probe == SEC
        ));
    }

    #[test]
    fn a_probe_that_found_nothing_to_send_stays_due() {
        let t0 = Instant::now();
        let mut b = breaker(1);
        b.failure(t0);
        assert!(b.start_probe(t0 + SEC));
        b.release_probe(t0 + SEC);
        assert_eq!(b.state(), State::Open { probe_at: t0 + SEC });
        assert!(b.start_probe(t0 + SEC));
    }

    #[test]
    fn a_late_success_of_a_job_sent_before_the_pause_resumes_it() {
        let t0 = Instant::now();
        let mut b = breaker(1);
        b.failure(t0);
        assert!(matches!(b.success(t0 + SEC), Some(Change::Resumed { .. })));
        assert_eq!(b.admit(t0 + SEC), Admission::Send);
    }
}

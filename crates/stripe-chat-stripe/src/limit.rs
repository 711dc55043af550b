//! A pace for calls to Stripe, shared by every client that holds it.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// At most `per_second` requests a second, as a steady pace (one every `1 / per_second`), with
/// a burst of up to one second's worth after a quiet spell.
///
/// Cloning shares the pace: give the same limiter to every [`Client`](crate::Client) that
/// must stay within one budget (enrichment and chat actions reading the same account), with
/// [`ClientBuilder::rate_limiter`](crate::ClientBuilder::rate_limiter). Each HTTP attempt of
/// such a client waits for its turn. Stripe's documented read limit is 100 requests a second in
/// live mode and 25 in test mode; staying below it keeps answers from turning into 429s.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use stripe_chat_stripe::RateLimiter;
/// let limiter = RateLimiter::per_second(20.0);
/// let shared = limiter.clone();
/// limiter.acquire().await;   // the first call goes at once
/// assert_eq!(shared.rate(), 20.0);
/// # }
/// ```
#[derive(Clone)]
pub struct RateLimiter(Arc<Pace>);

struct Pace {
    per_second: f64,
    interval: Duration,
    burst: Duration,
    /// The theoretical time the next request may go (GCRA): a request may go once
    /// `next - burst <= now`.
    next: Mutex<Option<Instant>>,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("per_second", &self.0.per_second)
            .finish()
    }
}

impl RateLimiter {
    /// A limiter letting through at most `per_second` requests a second (at least one a
    /// minute: a value below 1/60, zero, negative or not a number is taken as 1/60).
    ///
    /// ```
    /// let limiter = stripe_chat_stripe::RateLimiter::per_second(0.0);
    /// assert_eq!(limiter.rate(), 1.0 / 60.0);
    /// ```
    pub fn per_second(per_second: f64) -> Self {
        let floor = 1.0 / 60.0;
        let per_second = if per_second.is_finite() && per_second >= floor {
            per_second
        } else {
            floor
        };
        let interval = Duration::from_secs_f64(1.0 / per_second);
        // A second's worth of requests may go at once after a quiet spell (at least one).
        let burst = interval.mul_f64((per_second.floor() - 1.0).max(0.0));
        RateLimiter(Arc::new(Pace {
            per_second,
            interval,
            burst,
            next: Mutex::new(None),
        }))
    }

    /// The pace, in requests a second.
    ///
    /// ```
    /// assert_eq!(stripe_chat_stripe::RateLimiter::per_second(25.0).rate(), 25.0);
    /// ```
    pub fn rate(&self) -> f64 {
        self.0.per_second
    }

    /// Waits for a turn, then takes it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let limiter = stripe_chat_stripe::RateLimiter::per_second(1000.0);
    /// for _ in 0..3 {
    ///     limiter.acquire().await;
    /// }
    /// # }
    /// ```
    pub async fn acquire(&self) {
        let at = self.reserve(None).unwrap_or_else(Instant::now);
        tokio::time::sleep_until(at).await;
    }

    /// Takes a turn when one comes by `deadline`, and says when (`None`: no turn before the
    /// deadline, and none is taken). Wait until the instant returned before sending.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::time::Duration;
    /// use tokio::time::Instant;
    /// let limiter = stripe_chat_stripe::RateLimiter::per_second(1.0);
    /// let now = Instant::now();
    /// assert!(limiter.reserve_by(now + Duration::from_millis(10)).is_some());
    /// // The next turn is a second later: not within 10 ms, and not taken.
    /// assert!(limiter.reserve_by(now + Duration::from_millis(10)).is_none());
    /// assert!(limiter.reserve_by(now + Duration::from_secs(2)).is_some());
    /// # }
    /// ```
    pub fn reserve_by(&self, deadline: Instant) -> Option<Instant> {
        self.reserve(Some(deadline))
    }

    fn reserve(&self, deadline: Option<Instant>) -> Option<Instant> {
        let now = Instant::now();
        let mut next = self.0.next.lock().unwrap_or_else(|e| e.into_inner());
        let theoretical = next.unwrap_or(now).max(now);
        // The earliest the request may go: within the burst allowance of the theoretical time.
        let at = theoretical
            .checked_sub(self.0.burst)
            .map_or(now, |earliest| earliest.max(now));
        if deadline.is_some_and(|d| at > d) {
            return None;
        }
        *next = Some(theoretical + self.0.interval);
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_a_seconds_worth_goes_at_once_and_the_rest_at_the_pace() {
        let limiter = RateLimiter::per_second(10.0);
        let start = Instant::now();
        let turns: Vec<Instant> = (0..30)
            .map(|_| limiter.reserve_by(start + Duration::from_secs(60)))
            .map(|t| t.unwrap_or(start))
            .collect();
        let at_once = turns.iter().filter(|t| **t == start).count();
        assert_eq!(at_once, 10);
        // 30 turns at 10 a second, the first 10 at once: the last one 2 s later.
        assert_eq!(turns[29] - start, Duration::from_secs(2));
        for pair in turns[10..].windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(100));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_turn_beyond_the_deadline_is_neither_given_nor_taken() {
        let limiter = RateLimiter::per_second(1.0);
        let start = Instant::now();
        assert_eq!(limiter.reserve_by(start), Some(start));
        assert_eq!(limiter.reserve_by(start + Duration::from_millis(500)), None);
        assert_eq!(
            limiter.reserve_by(start + Duration::from_secs(1)),
            Some(start + Duration::from_secs(1))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn clones_share_one_pace() {
        let a = RateLimiter::per_second(2.0);
        let b = a.clone();
        let start = Instant::now();
        let far = start + Duration::from_secs(60);
        let turns = [a.reserve_by(far), b.reserve_by(far), a.reserve_by(far)];
        assert_eq!(
            turns,
            [
                Some(start),
                Some(start),
                Some(start + Duration::from_millis(500))
            ]
        );
    }
}

//! Times are stored as Unix milliseconds (`i64`), the same in every store.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `t` in Unix milliseconds, saturating (times before 1970 are negative).
pub(crate) fn to_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// The time at `ms` Unix milliseconds (saturating at what `SystemTime` can hold).
pub(crate) fn from_ms(ms: i64) -> SystemTime {
    let magnitude = Duration::from_millis(ms.unsigned_abs());
    let t = if ms >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    };
    t.unwrap_or(UNIX_EPOCH)
}

/// `d` in milliseconds, saturating.
pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The wall clock, in Unix milliseconds (for bookkeeping columns such as `updated_at`).
pub(crate) fn now_ms() -> i64 {
    to_ms(SystemTime::now())
}

/// Keeps stored error texts short; they are for people reading `dlq list`.
pub(crate) fn clip_error(error: &str) -> String {
    const MAX_CHARS: usize = 2000;
    match error.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &error[..cut]),
        None => error.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millisecond_round_trip_keeps_times_before_and_after_1970() {
        for ms in [0, 1, 1_700_000_000_123, -5_000] {
            assert_eq!(to_ms(from_ms(ms)), ms);
        }
    }

    #[test]
    fn long_errors_are_clipped_on_a_character_boundary() {
        let long = "é".repeat(3000);
        let clipped = clip_error(&long);
        assert_eq!(clipped.chars().count(), 2001);
        assert_eq!(clip_error("short"), "short");
    }
}

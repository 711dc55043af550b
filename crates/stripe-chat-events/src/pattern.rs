//! Event-type patterns: exact types and `*` globs.

/// An event-type pattern: `invoice.paid` (exact), `charge.dispute.*`, `*.updated`, `*`.
/// `*` matches any run of characters, dots included.
///
/// ```
/// use stripe_chat_events::EventPattern;
/// let p = EventPattern::new("charge.dispute.*");
/// assert!(p.matches("charge.dispute.created"));
/// assert!(!p.matches("charge.failed"));
/// assert!(EventPattern::new("*.updated").matches("customer.subscription.updated"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventPattern(String);

impl EventPattern {
    /// A pattern from its text.
    ///
    /// ```
    /// assert_eq!(stripe_chat_events::EventPattern::new("*").as_str(), "*");
    /// ```
    pub fn new(pattern: impl Into<String>) -> Self {
        EventPattern(pattern.into())
    }

    /// The pattern's text.
    ///
    /// ```
    /// assert_eq!(stripe_chat_events::EventPattern::new("a.b").as_str(), "a.b");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `event_type` matches.
    ///
    /// ```
    /// let p = stripe_chat_events::EventPattern::new("invoice.*_failed");
    /// assert!(p.matches("invoice.payment_failed"));
    /// ```
    pub fn matches(&self, event_type: &str) -> bool {
        glob_match(self.0.as_bytes(), event_type.as_bytes())
    }

    /// How specific the pattern is: exact patterns rank above every glob; globs rank by their
    /// number of literal characters.
    ///
    /// ```
    /// use stripe_chat_events::EventPattern;
    /// assert!(EventPattern::new("invoice.paid").specificity() > EventPattern::new("invoice.*").specificity());
    /// assert!(EventPattern::new("invoice.*").specificity() > EventPattern::new("*").specificity());
    /// ```
    pub fn specificity(&self) -> (bool, usize) {
        let literal = self.0.bytes().filter(|&b| b != b'*').count();
        (!self.0.contains('*'), literal)
    }
}

impl From<&str> for EventPattern {
    fn from(pattern: &str) -> Self {
        EventPattern::new(pattern)
    }
}

impl From<String> for EventPattern {
    fn from(pattern: String) -> Self {
        EventPattern(pattern)
    }
}

/// Iterative glob matching with `*` only (linear backtracking on the last star).
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_match_across_dots_and_empty_runs() {
        assert!(EventPattern::new("*").matches(""));
        assert!(EventPattern::new("charge.*").matches("charge.dispute.funds_withdrawn"));
        assert!(EventPattern::new("*dispute*").matches("charge.dispute.closed"));
        assert!(!EventPattern::new("invoice.paid").matches("invoice.paid.extra"));
        assert!(!EventPattern::new("a*b").matches("acbd"));
    }
}

//! Progress of long commands (backfill, `dlq retry --all`, prune) on standard error: a spinner
//! with what is done so far when standard error is a terminal, nothing when it is piped or a
//! file, so scripts and logs see only the result.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A spinner and a message, hidden unless shown on a terminal.
pub(crate) struct Progress(ProgressBar);

impl Progress {
    /// A spinner saying `message`, drawn on standard error when it is a terminal.
    pub(crate) fn start(message: impl Into<String>) -> Self {
        Progress::to(std::io::stderr().is_terminal(), message)
    }

    /// A spinner drawn on standard error when `on_terminal`, hidden otherwise.
    pub(crate) fn to(on_terminal: bool, message: impl Into<String>) -> Self {
        let target = if on_terminal {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(message.into());
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress(bar)
    }

    /// What is done so far.
    pub(crate) fn update(&self, message: impl Into<String>) {
        self.0.set_message(message.into());
    }

    /// Whether nothing is drawn (standard error is not a terminal).
    #[cfg(test)]
    pub(crate) fn is_hidden(&self) -> bool {
        self.0.is_hidden()
    }
}

impl Drop for Progress {
    /// The spinner goes away; the command's result is printed after it.
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_hidden_when_standard_error_is_not_a_terminal() {
        let progress = Progress::to(false, "listing");
        progress.update("page 2");
        assert!(progress.is_hidden());
        assert!(!Progress::to(true, "listing").is_hidden() || !std::io::stderr().is_terminal());
    }
}

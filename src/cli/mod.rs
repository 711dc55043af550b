//! What the `stripe-chat` commands do, beside argument parsing (`main.rs`).

pub(crate) mod demo;
pub(crate) mod demo_action;
pub(crate) mod init;
pub(crate) mod ops;
pub(crate) mod preview;
pub(crate) mod progress;
pub(crate) mod samples;

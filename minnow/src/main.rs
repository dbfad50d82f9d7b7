//! The `minnow` command: `minnow server [DRIVES...]` runs the S3 server
//! (also what plain `minnow` does); `bucket`, `user`, `policy`, `heal` and `admin` are
//! the management commands. Logs go to stderr (`RUST_LOG`); stdout
//! carries the start-up banner that scripts parse (`API: http://...`).
//!
//! This crate is the only place that reads flags and environment variables
//! (`config`); the libraries below it take plain values.

include!("command.rs");

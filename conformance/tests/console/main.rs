//! The web console end to end: one test binary (one link, shorter builds), one
//! module per concern. Each test serves the console in front of the real
//! `minnow` binary (`common`), or runs `minnow server` with its own console.

mod common;

mod browser;
mod health;
mod large_upload;
mod security;
mod served_by_binary;

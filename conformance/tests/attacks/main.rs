//! The attack suite: black-box attacks against the real `minnow` binary over loopback, each one
//! a request an attacker could send (a presigned URL with extra headers, a signature replayed
//! elsewhere, a body that never comes...). Every test asserts the server refuses it with S3's
//! answer and leaves nothing behind, so a regression fails `make test`.
//!
//! One test binary, one module per attack family; each module shares one server across its
//! tests (unique bucket per test) unless it needs its own settings.

mod common;

mod audit_log;
mod slow_bodies;
mod unsigned_headers;

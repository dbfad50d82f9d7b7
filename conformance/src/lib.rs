//! End-to-end conformance support for minnow: a `TestServer` that runs the real `minnow`
//! binary (or points at any S3 endpoint named by `MINNOW_TEST_ENDPOINT`), a default-configured
//! aws-sdk-s3 client, and raw HTTP helpers for requests the SDK refuses to send (tampered
//! signatures, broken framing, truncated bodies, oversized declared lengths).
//!
//! Running two ways is deliberate: the same tests against a reference S3 server prove the tests
//! themselves right, and against `target/debug/minnow` prove the server right.

pub mod expect;
pub mod post_form;
pub mod process;
pub mod raw_http;
pub mod sdk;
pub mod server;
pub mod signing;

pub use expect::{expect_s3_error, RawResponse};
pub use server::{minnow_binary, ServerOptions, TestServer, TEST_ROOT_PASSWORD, TEST_ROOT_USER};
pub use signing::{PayloadSigning, RequestSigner};

/// The region the suite signs for; minnow accepts any region and reports `us-east-1`.
pub const TEST_REGION: &str = "us-east-1";

/// A bucket name that is unique per call, so tests sharing a server (or an external endpoint
/// across runs) never collide. `scenario` must be lowercase letters, digits and dashes.
pub fn unique_bucket(scenario: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let sequence = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = format!(
        "{}-{:x}{:x}-{}",
        scenario,
        std::process::id(),
        nanos,
        sequence
    );
    name.truncate(63);
    name.trim_end_matches('-').to_string()
}

/// Deterministic, non-repeating-looking test content of `len` bytes (seeded so a failure
/// can be reproduced; cheap enough for hundreds of MiB).
pub fn pattern_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    while out.len() < len {
        // xorshift64*: fast, and every 8-byte word differs, so offset bugs show up.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let word = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
        let take = (len - out.len()).min(8);
        out.extend_from_slice(&word[..take]);
    }
    out
}

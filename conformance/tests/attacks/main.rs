//! The attack suite: black-box attacks against the real `minnow` binary over loopback, each one
//! a request an attacker could send (a presigned URL with extra headers, a signature replayed
//! elsewhere, a body that never comes...). Every test asserts the server refuses it with S3's
//! answer and leaves nothing behind, so a regression fails `make test`.
//!
//! One test binary, one module per attack family; each module shares one server across its
//! tests (unique bucket per test) unless it needs its own settings:
//!
//! - `unsigned_headers`: `x-amz-*` headers the signature does not cover (copy sources, metadata,
//!   tags added to a presigned URL or in transit);
//! - `signature_replay`: signatures replayed on another method, bucket, key, query or host, or
//!   outside the clock window; presigned URLs swapped to another method or key;
//! - `credential_scope`: signatures under a credential scope of another day;
//! - `cross_bucket_copy`: copy sources the caller may not read;
//! - `cdn_writes`: write methods on the anonymous CDN host name;
//! - `hostile_keys`: keys that try to climb out of their bucket's folder;
//! - `slow_bodies`: bodies that stop arriving (RequestTimeout, nothing left behind);
//! - `audit_log`: denials, failed signatures and admin actions are recorded, secrets never;
//! - `metrics_scrape`: the metrics endpoints need a signature unless made public;
//! - `drive_file_modes`: drive files are 0600 and folders 0700, so other local users read nothing;
//! - `policy_evaluation`: a user's own Deny beats a bucket Allow, unknown policy elements are
//!   refused, and `Action: "*"` never reaches the admin API;
//! - `post_forms`: browser forms give their signer no more than its rights, stay in the bucket
//!   they were signed for, and refuse fields slipped into them.

mod common;

mod audit_log;
mod cdn_writes;
mod credential_scope;
mod cross_bucket_copy;
mod drive_file_modes;
mod hostile_keys;
mod metrics_scrape;
mod policy_evaluation;
mod post_forms;
mod signature_replay;
mod slow_bodies;
mod unsigned_headers;

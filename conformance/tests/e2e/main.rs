//! The end-to-end conformance suite: one test binary (one link, shorter builds), one module per
//! scenario family. Each module shares one server across its tests (unique bucket per test);
//! tests that restart or measure the server start their own.
//!
//! Runs against `target/debug/minnow` by default, or any endpoint in `MINNOW_TEST_ENDPOINT`.

mod common;

mod auth_failures;
mod bucket_policy_and_cors;
mod buckets;
mod cache_consistency;
mod checksums;
mod conditional_get;
mod conditional_writes;
mod connection_reuse;
mod copy;
mod delete_objects;
mod drive_loss;
mod lifecycle;
mod listing;
mod listing_index;
mod listing_params;
mod malformed_requests;
mod memory_1gib_upload;
mod metadata;
mod multipart;
mod multipart_retries;
mod objects_put_get;
mod part_reads;
mod post_object;
mod presigned;
mod ranges;
mod restart_durability;
mod s3_limits;
mod sdk_version;
mod tagging;

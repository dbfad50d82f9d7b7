//! "SDK upgrade" guard: the suite was last run green with this aws-sdk-s3. A lockfile change
//! (a bump or a downgrade) fails here until someone runs the suite on the new version and
//! records it. How to bump: conformance/README.md.

/// The newest aws-sdk-s3 that resolved on 2026-11-22 (`cargo info aws-sdk-s3`), and the one
/// the suite was verified with.
const VERIFIED_AWS_SDK_S3: &str = "1.157.0";

fn locked_version(lock: &str, package: &str) -> Option<String> {
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock.find(&needle)? + needle.len();
    let end = lock[start..].find('"')? + start;
    Some(lock[start..end].to_string())
}

#[test]
fn aws_sdk_s3_in_cargo_lock_is_the_verified_latest() {
    let lock_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock");
    let lock = std::fs::read_to_string(lock_path).expect("reading Cargo.lock");
    let locked = locked_version(&lock, "aws-sdk-s3").expect("aws-sdk-s3 in Cargo.lock");
    assert_eq!(
        locked, VERIFIED_AWS_SDK_S3,
        "Cargo.lock resolves aws-sdk-s3 {locked}, the suite was verified with {VERIFIED_AWS_SDK_S3}: \
         run the whole conformance suite on {locked}, then update VERIFIED_AWS_SDK_S3 \
         (see conformance/README.md)"
    );
}

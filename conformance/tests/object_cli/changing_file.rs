//! `cp` of a local file (`objects/file_upload.rs`, shared with `mirror`):
//! a file written while it is copied, and the checksum a body carries.

use std::os::unix::fs::FileExt as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use conformance::pattern_bytes;

use super::{bucket_on, path_str, shared_server, Cli};

/// Guards the changed-file rule for `cp`: a file rewritten in place (its
/// size never changes, so no read comes up short) while its parts are
/// read must fail the copy with a clear error and leave no object, never
/// store parts of two versions. Without the check `cp` succeeds here.
#[test]
fn cp_of_a_file_rewritten_while_it_is_read_fails_and_leaves_nothing() {
    let s = shared_server();
    let cli = Cli::new().with_alias("s", s);
    let bucket = bucket_on(s, "cp-changing");
    // Three 16 MiB parts: a multipart upload, each part read separately.
    let size = 48 * 1024 * 1024;
    let versions = Arc::new([pattern_bytes(size, 1), pattern_bytes(size, 2)]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("moving.bin");
    std::fs::write(&file, &versions[0]).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, writes, versions) = (stop.clone(), writes.clone(), versions.clone());
        let handle = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
        std::thread::spawn(move || {
            let mut i = 1;
            while !stop.load(Ordering::Relaxed) {
                handle.write_all_at(&versions[i % 2], 0).unwrap();
                writes.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        })
    };
    // The writer is under way before the copy starts.
    let deadline = Instant::now() + Duration::from_secs(60);
    while writes.load(Ordering::Relaxed) < 2 {
        assert!(Instant::now() < deadline, "the writer never wrote");
        std::thread::sleep(Duration::from_millis(5));
    }
    let target = format!("s/{bucket}/moving.bin");
    let written_before = writes.load(Ordering::Relaxed);
    let run = cli.run(&["cp", path_str(&file), &target]);
    let written_during = writes.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(
        written_during > written_before,
        "the file was not written during the copy"
    );
    run.fails_with("changed while it was being copied");
    cli.run(&["stat", &target]).fails_with("not found");
    assert_eq!(
        super::mirror::open_uploads(s, &bucket),
        Vec::new(),
        "the failed upload's parts are aborted"
    );

    // Left alone, the same file copies whole.
    let last = std::fs::read(&file).unwrap();
    assert!(versions.contains(&last));
    cli.run(&["cp", path_str(&file), &target]).ok();
    assert!(cli.run(&["cat", &target]).ok().stdout == last);
}

/// Guards the rule of the bodies the CLI sends: a file of one part goes
/// with its CRC32C, which the server checks and keeps (the CLI computes no
/// MD5 of it; the server's MD5 ETag vouches once the CRC32C is echoed).
#[test]
fn cp_of_a_one_part_file_sends_its_crc32c() {
    let s = shared_server();
    let cli = Cli::new().with_alias("s", s);
    let bucket = bucket_on(s, "cp-crc32c");
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.bin");
    let bytes = pattern_bytes(64 * 1024, 3);
    std::fs::write(&small, &bytes).unwrap();
    cli.run(&["cp", path_str(&small), &format!("s/{bucket}/small.bin")])
        .ok();
    let head = super::mirror::runtime()
        .block_on(
            s.s3_client()
                .head_object()
                .bucket(&bucket)
                .key("small.bin")
                .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
                .send(),
        )
        .unwrap();
    let crc = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, &bytes) as u32;
    use base64::Engine as _;
    assert_eq!(
        head.checksum_crc32_c(),
        Some(
            base64::engine::general_purpose::STANDARD
                .encode(crc.to_be_bytes())
                .as_str()
        )
    );
}

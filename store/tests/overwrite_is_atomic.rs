//! Readers racing overwrites of the same key see a whole old or a whole new
//! object — never a mix of two versions, never a torn or short body, and
//! never metadata of one version with the bytes of another.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use store::api::{ObjectStore, PutOptions};
use store::Store;

const BUCKET: &str = "atomic";
const KEY: &str = "hot/object";
const BLOCK: usize = 128 * KIB;

/// Sizes cycle through inline, single-block and multi-block objects so a
/// reader also races transitions between storage forms.
fn size_of_version(version: u64) -> usize {
    const SIZES: [usize; 6] = [20, 900 * KIB + 7, 3 * KIB, 5 * BLOCK, BLOCK + 1, 64 * KIB];
    SIZES[(version % SIZES.len() as u64) as usize]
}

/// A version's content names its version in its first 8 bytes, so a reader
/// can tell which version it should be looking at.
fn content_of_version(version: u64) -> Vec<u8> {
    let mut data = random_bytes(version.wrapping_mul(0x9E37_79B9), size_of_version(version));
    let tag = version.to_le_bytes();
    let n = tag.len().min(data.len());
    data[..n].copy_from_slice(&tag[..n]);
    data
}

fn version_of_content(data: &[u8]) -> Option<u64> {
    if data.len() < 8 {
        // The 3 KiB and larger versions carry a tag; 20 bytes too.
        return None;
    }
    Some(u64::from_le_bytes(data[..8].try_into().unwrap()))
}

async fn write_version(store: &Store, version: u64) {
    let data = content_of_version(version);
    let opts = PutOptions {
        size: Some(data.len() as u64),
        ..Default::default()
    };
    store
        .put_object(BUCKET, KEY, body_random_chunks(data, version), opts)
        .await
        .expect("overwrite");
}

#[test]
fn concurrent_readers_see_whole_old_or_whole_new_objects() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let mut config = drives.config();
        config.block_size = BLOCK;
        let store = Arc::new(drives.open_with(config).await);
        create_bucket(&store, BUCKET).await;
        write_version(&store, 0).await;

        let done = Arc::new(AtomicBool::new(false));
        let latest_written = Arc::new(AtomicU64::new(0));
        let mut readers = Vec::new();
        for reader in 0..3 {
            let store = Arc::clone(&store);
            let done = Arc::clone(&done);
            let latest_written = Arc::clone(&latest_written);
            readers.push(tokio::spawn(async move {
                let mut reads = 0u64;
                let mut seen_versions = std::collections::BTreeSet::new();
                while !done.load(Ordering::Acquire) {
                    // Versions acknowledged before the read started bound
                    // what it may return from below.
                    let floor = latest_written.load(Ordering::Acquire);
                    let reader_handle =
                        store
                            .get_object(BUCKET, KEY, None)
                            .await
                            .unwrap_or_else(|e| {
                                panic!("reader {reader}: get failed mid-overwrite: {e}")
                            });
                    let info = reader_handle.info.clone();
                    let data = read_all(reader_handle.body).await.unwrap_or_else(|e| {
                        panic!("reader {reader}: body failed mid-overwrite: {e}")
                    });
                    let version = version_of_content(&data).unwrap_or_else(|| {
                        panic!("reader {reader}: {} bytes with no version tag", data.len())
                    });
                    let expected = content_of_version(version);
                    assert_same_bytes(
                        &data,
                        &expected,
                        &format!("reader {reader}, version {version}"),
                    );
                    assert_eq!(
                        info.size,
                        data.len() as u64,
                        "reader {reader}: info size vs body"
                    );
                    assert_eq!(
                        info.etag,
                        md5_hex(&data),
                        "reader {reader}: info ETag vs body"
                    );
                    assert!(
                        version >= floor,
                        "reader {reader}: read version {version} after {floor} was acknowledged"
                    );
                    seen_versions.insert(version);
                    reads += 1;
                    tokio::task::yield_now().await;
                }
                (reads, seen_versions.len())
            }));
        }

        // Also read ranges while overwriting: a range is a slice of one version.
        let range_reader = {
            let store = Arc::clone(&store);
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                let mut reads = 0u64;
                while !done.load(Ordering::Acquire) {
                    let (_, bytes) = get_range(
                        &store,
                        BUCKET,
                        KEY,
                        store::api::ByteRange::FromTo {
                            first: 0,
                            last: Some(BLOCK as u64 + 99),
                        },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("range reader: {e}"));
                    let version = version_of_content(&bytes).expect("range has a version tag");
                    let expected = content_of_version(version);
                    let end = bytes.len().min(expected.len());
                    assert_same_bytes(
                        &bytes,
                        &expected[..end],
                        &format!("range of version {version}"),
                    );
                    reads += 1;
                    tokio::task::yield_now().await;
                }
                reads
            })
        };

        let started = Instant::now();
        let mut version = 0;
        while started.elapsed() < Duration::from_secs(4) && version < 400 {
            version += 1;
            write_version(&store, version).await;
            latest_written.store(version, Ordering::Release);
        }
        done.store(true, Ordering::Release);

        let mut total_reads = 0;
        for reader in readers {
            let (reads, distinct) = reader.await.expect("reader task");
            total_reads += reads;
            assert!(reads > 0, "a reader never completed a read");
            let _ = distinct;
        }
        let range_reads = range_reader.await.expect("range reader task");
        assert!(
            version >= 10,
            "only {version} overwrites in the time budget"
        );
        assert!(
            total_reads >= 10 && range_reads > 0,
            "{total_reads} reads, {range_reads} range reads"
        );

        // The last version is what remains.
        let data = get(&store, BUCKET, KEY).await.unwrap();
        assert_same_bytes(&data, &content_of_version(version), "final version");
    });
}

/// A reader that opened an object before an overwrite and reads its body
/// slowly, block by block, still gets the whole old version.
#[test]
fn slow_reader_opened_before_overwrite_gets_the_old_object() {
    runtime().block_on(async {
        use futures::StreamExt;
        let drives = TestDrives::new(4);
        let mut config = drives.config();
        config.block_size = BLOCK;
        let store = drives.open_with(config).await;
        create_bucket(&store, BUCKET).await;
        // Version 3 is the 5-block one.
        write_version(&store, 3).await;
        let mut reader = store.get_object(BUCKET, KEY, None).await.unwrap();
        let mut data = Vec::new();
        // Take the first chunk, then overwrite twice (and delete), then drain.
        if let Some(chunk) = reader.body.next().await {
            data.extend_from_slice(&chunk.expect("first chunk"));
        }
        write_version(&store, 9).await; // 5 * BLOCK again, other bytes
        write_version(&store, 10).await;
        store.delete_object(BUCKET, KEY).await.unwrap();
        while let Some(chunk) = reader.body.next().await {
            match chunk {
                Ok(chunk) => data.extend_from_slice(&chunk),
                Err(e) => {
                    // Failing loudly is acceptable; mixing versions is not.
                    eprintln!("slow reader failed after overwrite: {e}");
                    let expected = content_of_version(3);
                    assert_same_bytes(
                        &data,
                        &expected[..data.len().min(expected.len())],
                        "prefix before failure",
                    );
                    return;
                }
            }
        }
        assert_same_bytes(&data, &content_of_version(3), "slow reader");
    });
}

/// A put that fails — its body stream errors, ends early, runs long, or does
/// not match its Content-MD5 — commits nothing: the old object stays whole
/// and no temporary files remain.
#[test]
fn failed_overwrite_leaves_the_old_object_and_no_temporary_files() {
    runtime().block_on(async {
        use store::api::StoreError;
        let drives = TestDrives::new(4);
        let mut config = drives.config();
        config.block_size = BLOCK;
        let store = drives.open_with(config).await;
        create_bucket(&store, BUCKET).await;
        let old = content_of_version(1);
        write_version(&store, 1).await;
        let files_before = drives.all_files();

        for size in [10usize, 40 * KIB, 3 * BLOCK + 5] {
            let new = random_bytes(size as u64, size);
            let half = bytes::Bytes::from(new[..size / 2].to_vec());

            // The body stream fails part-way.
            let failing: store::api::ByteStream = Box::pin(futures::stream::iter(vec![
                Ok(half.clone()),
                Err(StoreError::Body("client went away".into())),
            ]));
            let outcome = store
                .put_object(BUCKET, KEY, failing, PutOptions::default())
                .await;
            assert!(outcome.is_err(), "a failing body committed: {outcome:?}");

            // The body ends before its declared length.
            let opts = PutOptions {
                size: Some(size as u64),
                ..Default::default()
            };
            let outcome = store
                .put_object(BUCKET, KEY, body(half.clone(), 7 * KIB), opts)
                .await;
            assert!(
                matches!(outcome, Err(StoreError::IncompleteBody)),
                "short body of {size}: {outcome:?}"
            );

            // The body runs past its declared length.
            let opts = PutOptions {
                size: Some(size as u64 - 1),
                ..Default::default()
            };
            let outcome = store
                .put_object(BUCKET, KEY, body(new.clone(), 7 * KIB), opts)
                .await;
            assert!(
                outcome.is_err(),
                "long body of {size} committed: {outcome:?}"
            );

            // The Content-MD5 does not match.
            let opts = PutOptions {
                size: Some(size as u64),
                content_md5: Some([0u8; 16]),
                ..Default::default()
            };
            let outcome = store
                .put_object(BUCKET, KEY, body(new.clone(), 7 * KIB), opts)
                .await;
            assert!(
                matches!(outcome, Err(StoreError::BadDigest)),
                "wrong Content-MD5 on {size}: {outcome:?}"
            );

            let read = get(&store, BUCKET, KEY)
                .await
                .expect("old object after failed puts");
            assert_same_bytes(
                &read,
                &old,
                &format!("old object after failed puts of {size}"),
            );
            assert_eq!(
                drives.all_files(),
                files_before,
                "failed puts of {size} bytes left files behind"
            );
        }
    });
}

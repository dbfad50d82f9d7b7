//! Range reads: `FromTo` (closed and open-ended) and `Suffix` ranges that
//! start, end and straddle erasure-block boundaries return exactly the
//! requested bytes and report the resolved range; unsatisfiable ranges fail
//! with `InvalidRange`.

mod common;

use common::*;
use proptest::prelude::*;
use store::api::{ByteRange, StoreError};
use store::Store;

const BUCKET: &str = "ranges";
const BLOCK: usize = 64 * KIB;

/// Resolves a range the S3 way; `None` means unsatisfiable.
fn expected_range(range: ByteRange, size: u64) -> Option<(u64, u64)> {
    match range {
        ByteRange::FromTo { first, last } => {
            if first >= size {
                return None;
            }
            let last = last.map_or(size - 1, |l| l.min(size - 1));
            (last >= first).then_some((first, last))
        }
        ByteRange::Suffix(n) => {
            if n == 0 || size == 0 {
                return None;
            }
            Some((size - n.min(size), size - 1))
        }
    }
}

async fn check_range(store: &Store, key: &str, data: &[u8], range: ByteRange) {
    let size = data.len() as u64;
    match (
        expected_range(range, size),
        get_range(store, BUCKET, key, range).await,
    ) {
        (Some((first, last)), Ok((resolved, bytes))) => {
            assert_eq!(
                resolved,
                Some((first, last)),
                "resolved range of {range:?} on {size} bytes"
            );
            assert_same_bytes(
                &bytes,
                &data[first as usize..=last as usize],
                &format!("{range:?} of {size} bytes"),
            );
        }
        (None, Err(StoreError::InvalidRange)) => {}
        (None, Ok((resolved, bytes))) => panic!(
            "{range:?} on {size} bytes should be InvalidRange, got {resolved:?} and {} bytes",
            bytes.len()
        ),
        (_, Err(e)) => panic!("{range:?} on {size} bytes: unexpected error {e}"),
    }
}

async fn store_with_objects(drives: &TestDrives, sizes: &[usize]) -> (Store, Vec<Vec<u8>>) {
    let mut config = drives.config();
    config.block_size = BLOCK;
    let store = drives.open_with(config).await;
    create_bucket(&store, BUCKET).await;
    let mut contents = Vec::new();
    for (i, &size) in sizes.iter().enumerate() {
        let data = random_bytes(1000 + i as u64, size);
        put(&store, BUCKET, &format!("obj-{size}"), &data)
            .await
            .expect("put");
        contents.push(data);
    }
    (store, contents)
}

#[test]
fn ranges_across_block_boundaries_return_exact_bytes() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let sizes = [
            1usize,
            100,
            BLOCK - 1,
            BLOCK,
            BLOCK + 1,
            5 * BLOCK + 333,
            200 * KIB,
        ];
        let (store, contents) = store_with_objects(&drives, &sizes).await;
        let block = BLOCK as u64;
        for (data, size) in contents.iter().zip(sizes) {
            let key = format!("obj-{size}");
            let n = size as u64;
            let mut ranges = vec![
                ByteRange::FromTo {
                    first: 0,
                    last: Some(0),
                },
                ByteRange::FromTo {
                    first: 0,
                    last: None,
                },
                ByteRange::FromTo {
                    first: 0,
                    last: Some(n - 1),
                },
                ByteRange::FromTo {
                    first: 0,
                    last: Some(n + 1000),
                },
                ByteRange::FromTo {
                    first: n - 1,
                    last: None,
                },
                ByteRange::FromTo {
                    first: n - 1,
                    last: Some(n - 1),
                },
                ByteRange::Suffix(1),
                ByteRange::Suffix(n),
                ByteRange::Suffix(n + 10),
            ];
            for edge in [block, 2 * block, 3 * block, block / 2, block / 4] {
                if edge < n {
                    ranges.extend([
                        ByteRange::FromTo {
                            first: edge - 1,
                            last: Some(edge),
                        },
                        ByteRange::FromTo {
                            first: edge,
                            last: Some(edge),
                        },
                        ByteRange::FromTo {
                            first: edge - 1,
                            last: Some(edge - 1),
                        },
                        ByteRange::FromTo {
                            first: edge,
                            last: None,
                        },
                        ByteRange::FromTo {
                            first: edge - 10,
                            last: Some((edge + block + 10).min(n - 1)),
                        },
                        ByteRange::Suffix(n - edge),
                        ByteRange::Suffix(n - edge + 1),
                    ]);
                }
            }
            for range in ranges {
                check_range(&store, &key, data, range).await;
            }
        }
    });
}

#[test]
fn unsatisfiable_ranges_are_invalid_range() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let (store, _) = store_with_objects(&drives, &[0, 10, BLOCK + 1]).await;

        // Start at or past the end.
        for (key, size) in [
            ("obj-10", 10u64),
            (&*format!("obj-{}", BLOCK + 1), BLOCK as u64 + 1),
        ] {
            for range in [
                ByteRange::FromTo {
                    first: size,
                    last: None,
                },
                ByteRange::FromTo {
                    first: size,
                    last: Some(size + 5),
                },
                ByteRange::FromTo {
                    first: u64::MAX,
                    last: None,
                },
                ByteRange::Suffix(0),
            ] {
                let outcome = get_range(&store, BUCKET, key, range).await;
                assert!(
                    matches!(outcome, Err(StoreError::InvalidRange)),
                    "{range:?} on {size} bytes: expected InvalidRange, got {:?}",
                    outcome.map(|(r, b)| (r, b.len()))
                );
            }
        }
        // Any range of an empty object is unsatisfiable.
        for range in [
            ByteRange::FromTo {
                first: 0,
                last: None,
            },
            ByteRange::FromTo {
                first: 0,
                last: Some(0),
            },
            ByteRange::Suffix(1),
        ] {
            let outcome = get_range(&store, BUCKET, "obj-0", range).await;
            assert!(
                matches!(outcome, Err(StoreError::InvalidRange)),
                "{range:?} on an empty object: expected InvalidRange, got {:?}",
                outcome.map(|(r, b)| (r, b.len()))
            );
        }
        // A range on a missing object is NoSuchKey, not InvalidRange.
        let outcome = get_range(&store, BUCKET, "missing", ByteRange::Suffix(1)).await;
        assert!(matches!(outcome, Err(StoreError::NoSuchKey { .. })));
    });
}

/// A range whose last byte is before its first (`bytes=5-3`) is not a valid
/// range at all; S3 ignores such a header and the HTTP layer may not even pass
/// it down. The store must not panic or return the wrong bytes: it returns
/// either `InvalidRange` or the whole object.
#[test]
fn inverted_range_is_rejected_or_ignored_never_garbage() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let (store, contents) = store_with_objects(&drives, &[1000]).await;
        let range = ByteRange::FromTo {
            first: 5,
            last: Some(3),
        };
        match get_range(&store, BUCKET, "obj-1000", range).await {
            Err(StoreError::InvalidRange) => {}
            Ok((None, bytes)) => assert_same_bytes(&bytes, &contents[0], "ignored range"),
            other => panic!(
                "inverted range: expected InvalidRange or the whole object, got {:?}",
                other.map(|(r, b)| (r, b.len()))
            ),
        }
    });
}

#[test]
fn random_ranges_match_the_slice_of_the_object() {
    use proptest::test_runner::{Config, TestRunner};
    let rt = runtime();
    let drives = TestDrives::new(4);
    let size = 3 * BLOCK + 4321;
    let (store, contents) = rt.block_on(store_with_objects(&drives, &[size]));
    let data = &contents[0];
    let key = format!("obj-{size}");
    let strategy = (
        0u64..(4 * BLOCK as u64),
        prop_oneof![0u64..20, 0u64..(3 * BLOCK as u64)],
        any::<bool>(),
        any::<bool>(),
    );
    let mut runner = TestRunner::new(Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(first, len, open_ended, suffix)| {
            let range = if suffix {
                ByteRange::Suffix(len)
            } else if open_ended {
                ByteRange::FromTo { first, last: None }
            } else {
                ByteRange::FromTo {
                    first,
                    last: Some(first + len),
                }
            };
            rt.block_on(check_range(&store, &key, data, range));
            Ok(())
        })
        .unwrap();
}

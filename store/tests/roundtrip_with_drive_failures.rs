//! Objects of every size read back exactly after up to `parity` drives are
//! damaged (files deleted, bytes flipped, files truncated, the drive folder
//! removed), and fail with an error — never wrong bytes — beyond that.
//!
//! Damage is black-box: the suite walks a drive folder and hurts files. The
//! drive's format record is left alone by the file-level damages (losing it is
//! the "whole drive folder removed" case).

mod common;

use common::*;
use proptest::prelude::*;
use store::api::{Maintenance, ObjectStore, StoreError};
use store::StoreConfig;

const BUCKET: &str = "roundtrip";

/// Drive counts and parity settings exercised: the default 2+2, a 3+1 set and
/// a 4+2 set.
const LAYOUTS: [(usize, Option<usize>); 3] = [(4, None), (4, Some(1)), (6, Some(2))];

fn interesting_size(block_size: usize) -> impl Strategy<Value = usize> {
    // Boundaries: empty, one byte, the inline limit, per-shard sizes of a
    // block (block / data for data in 2..=4), whole blocks, and up to ~5 MiB.
    let mut sizes = vec![
        0usize,
        1,
        2,
        3,
        127,
        128 * KIB - 1,
        128 * KIB,
        128 * KIB + 1,
    ];
    for data in 2..=4 {
        let shard = block_size.div_ceil(data);
        sizes.extend([shard - 1, shard, shard + 1]);
    }
    for blocks in [1usize, 2, 3] {
        let edge = blocks * block_size;
        sizes.extend([edge - 1, edge, edge + 1]);
    }
    sizes.extend([5 * MIB - 1, 5 * MIB]);
    prop_oneof![
        3 => proptest::sample::select(sizes),
        2 => 0usize..=5 * MIB + 3,
        1 => 0usize..=4 * KIB,
    ]
}

#[derive(Debug, Clone)]
struct Case {
    layout: (usize, Option<usize>),
    block_size: usize,
    size: usize,
    /// (drive index, damage, seed) for distinct drives; trimmed to parity.
    damages: Vec<(usize, DriveDamage, u64)>,
    seed: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        proptest::sample::select(LAYOUTS.to_vec()),
        prop_oneof![Just(64 * KIB), Just(MIB)],
    )
        .prop_flat_map(|(layout, block_size)| {
            let drives = layout.0;
            (
                Just(layout),
                Just(block_size),
                interesting_size(block_size),
                proptest::sample::subsequence((0..drives).collect::<Vec<_>>(), 0..=drives),
                proptest::collection::vec(
                    (proptest::sample::select(ALL_DAMAGES.to_vec()), any::<u64>()),
                    drives,
                ),
                any::<u64>(),
            )
        })
        .prop_map(|(layout, block_size, size, victims, kinds, seed)| Case {
            layout,
            block_size,
            size,
            damages: victims
                .into_iter()
                .zip(kinds)
                .map(|(drive, (damage, seed))| (drive, damage, seed))
                .collect(),
            seed,
        })
}

fn config(drives: &TestDrives, layout: (usize, Option<usize>), block_size: usize) -> StoreConfig {
    let mut config = drives.config();
    config.parity = layout.1;
    config.block_size = block_size;
    config
}

async fn roundtrip_case(case: Case) {
    let drives = TestDrives::new(case.layout.0);
    let config = config(&drives, case.layout, case.block_size);
    let store = drives.open_with(config.clone()).await;
    let (_, parity) = store.erasure_layout();
    create_bucket(&store, BUCKET).await;

    let data = random_bytes(case.seed, case.size);
    let key = format!("objects/size-{}", case.size);
    let opts = store::api::PutOptions {
        size: Some(data.len() as u64),
        ..Default::default()
    };
    let info = store
        .put_object(
            BUCKET,
            &key,
            body_random_chunks(data.clone(), case.seed),
            opts,
        )
        .await
        .expect("put");
    assert_eq!(info.size, case.size as u64);
    assert_eq!(info.etag, md5_hex(&data), "single-part ETag is the MD5");

    let damages: Vec<_> = case.damages.iter().take(parity).copied().collect();
    for &(drive, damage, seed) in &damages {
        damage_drive(drives.drive(drive), damage, seed);
    }

    let read = get(&store, BUCKET, &key)
        .await
        .unwrap_or_else(|e| panic!("get with damage {damages:?} failed: {e}"));
    assert_same_bytes(&read, &data, "read with the store still open");
    drop(store);

    // A fresh start over the same (still damaged) drives reads the same bytes.
    let store = drives.open_with(config).await;
    let read = get(&store, BUCKET, &key)
        .await
        .unwrap_or_else(|e| panic!("get after reopen with damage {damages:?} failed: {e}"));
    assert_same_bytes(&read, &data, "read after reopening");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 40,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn object_reads_back_exactly_with_up_to_parity_drives_damaged(case in case()) {
        runtime().block_on(roundtrip_case(case));
    }
}

/// Every damage kind, on exactly `parity` drives, against a multi-block and
/// an inline-sized object: a deterministic sweep beside the random cases.
#[test]
fn every_damage_kind_on_parity_drives_is_survived() {
    runtime().block_on(async {
        for (i, damage) in ALL_DAMAGES.into_iter().enumerate() {
            for size in [0usize, 1000, 3 * 64 * KIB + 17] {
                roundtrip_case(Case {
                    layout: (4, None),
                    block_size: 64 * KIB,
                    size,
                    damages: vec![(i % 4, damage, 7), ((i + 1) % 4, damage, 8)],
                    seed: i as u64,
                })
                .await;
            }
        }
    });
}

/// Damage on `parity + 1` drives: the store may fail, but it must fail with an
/// error rather than return bytes that differ from what was written. Removing
/// that many drives outright leaves too few shards, so that must be an error.
#[test]
fn more_damage_than_parity_gives_an_error_never_wrong_bytes() {
    runtime().block_on(async {
        for (round, damage) in ALL_DAMAGES.into_iter().enumerate() {
            for size in [100usize, 200 * KIB, 2 * MIB + 5] {
                let drives = TestDrives::new(4);
                let mut config = drives.config();
                config.block_size = 256 * KIB;
                let store = drives.open_with(config.clone()).await;
                let (_, parity) = store.erasure_layout();
                create_bucket(&store, BUCKET).await;
                let data = random_bytes(round as u64, size);
                put(&store, BUCKET, "victim", &data).await.expect("put");

                for drive in 0..=parity {
                    damage_drive(drives.drive(drive), damage, (round * 10 + drive) as u64);
                }
                let outcome = get(&store, BUCKET, "victim").await;
                check_beyond_parity(&outcome, &data, damage, size, "store open");
                drop(store);

                // Reopening may itself refuse (too few formatted drives).
                if let Ok(store) = store::Store::open(config).await {
                    let outcome = get(&store, BUCKET, "victim").await;
                    check_beyond_parity(&outcome, &data, damage, size, "after reopen");
                }
            }
        }
    });
}

fn check_beyond_parity(
    outcome: &Result<Vec<u8>, StoreError>,
    data: &[u8],
    damage: DriveDamage,
    size: usize,
    when: &str,
) {
    match outcome {
        Ok(read) => {
            assert_same_bytes(read, data, &format!("{damage:?} beyond parity ({when})"));
            let must_fail = matches!(
                damage,
                DriveDamage::RemoveDriveFolder | DriveDamage::DeleteAllFiles
            );
            assert!(
                !must_fail,
                "{damage:?} on parity+1 drives of a {size}-byte object still read back ({when}): \
                 the data cannot be on fewer drives than `data`"
            );
        }
        Err(StoreError::Internal(message)) => {
            panic!("{damage:?} beyond parity ({when}): an Internal error is not a clear one: {message}")
        }
        // Drive folders that vanished under a running store cannot answer:
        // that is a lost read quorum, never "no such key".
        Err(StoreError::ReadQuorum { .. }) => {}
        Err(other) if matches!(damage, DriveDamage::RemoveDriveFolder) && when == "store open" => {
            panic!("{damage:?} beyond parity ({when}): expected ReadQuorum, got {other:?}")
        }
        Err(_) => {}
    }
}

/// Drives that vanish while the store runs: with one drive gone writes still
/// succeed and read back; with more than parity gone a write fails with
/// `WriteQuorum` and leaves nothing behind on the drives that remain, while
/// objects written earlier stay readable from the survivors.
#[test]
fn writes_with_drives_missing_succeed_or_fail_cleanly() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let mut config = drives.config();
        config.block_size = 64 * KIB;
        let store = drives.open_with(config.clone()).await;
        create_bucket(&store, BUCKET).await;

        drives.remove_drive(3);
        let mut written = Vec::new();
        for (i, size) in [0usize, 1000, 200 * KIB, 3 * 64 * KIB + 5]
            .into_iter()
            .enumerate()
        {
            let data = random_bytes(40 + i as u64, size);
            let key = format!("one-drive-gone/{size}");
            put(&store, BUCKET, &key, &data)
                .await
                .unwrap_or_else(|e| panic!("put {size} bytes with one drive gone: {e}"));
            let read = get(&store, BUCKET, &key).await.expect("get");
            assert_same_bytes(&read, &data, "written with one drive gone");
            written.push((key, data));
        }

        drives.remove_drive(2);
        let before: Vec<_> = [0, 1]
            .iter()
            .map(|&d| files_under(drives.drive(d)))
            .collect();
        for size in [10usize, 3 * 64 * KIB] {
            let outcome = put(&store, BUCKET, "below-quorum", &random_bytes(9, size)).await;
            assert!(
                matches!(outcome, Err(StoreError::WriteQuorum { .. })),
                "put of {size} bytes with two of four drives gone: {outcome:?}"
            );
        }
        let after: Vec<_> = [0, 1]
            .iter()
            .map(|&d| files_under(drives.drive(d)))
            .collect();
        assert_eq!(
            before, after,
            "a write below quorum left files on the surviving drives"
        );
        let outcome = get(&store, BUCKET, "below-quorum").await;
        assert!(
            outcome.is_err(),
            "a failed write is readable: {:?}",
            outcome.map(|d| d.len())
        );

        for (key, data) in &written {
            let read = get(&store, BUCKET, key)
                .await
                .unwrap_or_else(|e| panic!("{key} with two drives gone: {e}"));
            assert_same_bytes(&read, data, key);
        }
    });
}

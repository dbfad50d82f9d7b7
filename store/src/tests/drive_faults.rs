//! Faults injected through the drive seam (`crate::faulty`) on up to
//! `parity` drives during PUT, GET, LIST, multipart complete and heal. The
//! rule each test guards: a request answers the right bytes or a clear
//! error, never wrong bytes, and never loses a write it acknowledged. One
//! table of faults drives every request kind.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::api::{CompletePart, MultipartStore};
use crate::faulty::{backend, Fault, Faults, Op};

const ALL: &[Op] = &[
    Op::Open,
    Op::Create,
    Op::Read,
    Op::Write,
    Op::Fsync,
    Op::Rename,
    Op::Remove,
    Op::List,
    Op::Mkdir,
    Op::Stat,
];

/// A fault, the operations it hits, and the drives it hits (at most
/// `parity` = 2 of the 2+2 layout).
struct Row {
    fault: Fault,
    ops: &'static [Op],
    drives: &'static [usize],
}

fn rows() -> Vec<Row> {
    let kinds: [(Fault, &'static [Op]); 12] = [
        (Fault::Eio, &[Op::Read]),
        (Fault::Eio, &[Op::Write]),
        (Fault::Eio, &[Op::Fsync]),
        (Fault::Eio, &[Op::Rename]),
        (Fault::Eio, &[Op::Open, Op::List, Op::Stat]),
        (Fault::Eio, ALL),
        (Fault::NoSpace, &[Op::Write]),
        (Fault::NoSpace, &[Op::Create, Op::Mkdir]),
        (Fault::NoSpace, ALL),
        (Fault::Torn, &[Op::Write]),
        (Fault::BitFlip, &[Op::Read]),
        (Fault::Latency(Duration::from_millis(5)), ALL),
    ];
    let mut rows = Vec::new();
    for (fault, ops) in kinds {
        for drives in [&[2][..], &[0, 3][..]] {
            rows.push(Row { fault, ops, drives });
        }
    }
    rows
}

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} on {:?} of drives {:?}",
            self.fault, self.ops, self.drives
        )
    }
}

/// Inline (5 KB) and multi-block (150 KB with 64 KiB blocks) objects.
const SIZES: [usize; 2] = [5_000, 150_000];

struct Rig {
    _fixture: TestDrives,
    faults: Vec<Arc<Faults>>,
    store: Store,
}

impl Rig {
    async fn new() -> Self {
        let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
        let faults: Vec<Arc<Faults>> = (0..4).map(|_| Arc::default()).collect();
        let mut config = fixture.config();
        config.backend = backend(faults.clone());
        let store = fixture.open_with(config).await;
        store.create_bucket("bkt").await.unwrap();
        Self {
            _fixture: fixture,
            faults,
            store,
        }
    }

    fn inject(&self, row: &Row) {
        self.inject_on(row.drives, row.fault, row.ops);
    }

    fn inject_on(&self, drives: &[usize], fault: Fault, ops: &[Op]) {
        for &drive in drives {
            for &op in ops {
                self.faults[drive].inject(op, fault);
            }
        }
    }

    fn clear(&self) {
        for faults in &self.faults {
            faults.clear();
        }
    }

    async fn put(&self, key: &str, data: &[u8]) -> Result<(), StoreError> {
        self.store
            .put_object("bkt", key, body(data), PutOptions::default())
            .await
            .map(drop)
    }

    /// A GET is the right bytes or an error, never anything else.
    async fn get_is_whole(&self, key: &str, expected: &[u8], context: &str) -> bool {
        match read_all(&self.store, "bkt", key, None).await {
            Ok(bytes) => {
                assert!(bytes == expected, "{context}: {key} read back wrong bytes");
                true
            }
            Err(_) => false,
        }
    }
}

fn key(size: usize) -> String {
    format!("obj-{size}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_under_faults_is_acknowledged_whole_or_fails_leaving_the_old_version() {
    for row in rows() {
        let rig = Rig::new().await;
        for size in SIZES {
            rig.put(&key(size), &pattern(size, 1)).await.unwrap();
        }
        rig.inject(&row);
        let mut acknowledged = Vec::new();
        for size in SIZES {
            let result = rig.put(&key(size), &pattern(size, 2)).await;
            // One failing drive leaves the write quorum (3 of 4) intact.
            if row.drives.len() == 1 {
                assert!(result.is_ok(), "{row}: {size}: {result:?}");
            }
            acknowledged.push(result.is_ok());
        }
        for (size, acked) in SIZES.into_iter().zip(&acknowledged) {
            let expected = pattern(size, if *acked { 2 } else { 1 });
            rig.get_is_whole(&key(size), &expected, &format!("{row} (faulty)"))
                .await;
        }
        rig.clear();
        for (size, acked) in SIZES.into_iter().zip(&acknowledged) {
            let expected = pattern(size, if *acked { 2 } else { 1 });
            assert!(
                rig.get_is_whole(&key(size), &expected, &row.to_string())
                    .await,
                "{row}: {size} unreadable after the faults cleared"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_under_faults_on_parity_drives_reads_the_right_bytes() {
    for row in rows() {
        let rig = Rig::new().await;
        for size in SIZES {
            rig.put(&key(size), &pattern(size, 3)).await.unwrap();
        }
        rig.inject(&row);
        for size in SIZES {
            assert!(
                rig.get_is_whole(&key(size), &pattern(size, 3), &row.to_string())
                    .await,
                "{row}: {size} not readable from the healthy drives"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_under_faults_on_parity_drives_lists_every_key() {
    for row in rows() {
        let rig = Rig::new().await;
        let keys = ["a", "b/c", "d"];
        for key in keys {
            rig.put(key, b"x").await.unwrap();
        }
        rig.inject(&row);
        let page = rig
            .store
            .list_objects(
                "bkt",
                ListParams {
                    max_keys: 1000,
                    ..Default::default()
                },
            )
            .await;
        let listed: Vec<String> = match page {
            Ok(page) => page.objects.into_iter().map(|o| o.key).collect(),
            Err(err) => panic!("{row}: {err}"),
        };
        assert_eq!(listed, keys, "{row}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_complete_under_faults_makes_the_whole_object_or_nothing() {
    for row in rows() {
        let rig = Rig::new().await;
        let data = pattern(150_000, 4);
        let upload = rig
            .store
            .create_multipart("bkt", "mp", Default::default(), None)
            .await
            .unwrap();
        let part = rig
            .store
            .put_part(
                "bkt",
                "mp",
                &upload.upload_id,
                1,
                body(&data),
                PutOptions::default(),
            )
            .await
            .unwrap();
        rig.inject(&row);
        let completed = rig
            .store
            .complete_multipart(
                "bkt",
                "mp",
                &upload.upload_id,
                vec![CompletePart {
                    number: 1,
                    etag: part.etag.clone(),
                }],
            )
            .await;
        if row.drives.len() == 1 {
            assert!(completed.is_ok(), "{row}: {completed:?}");
        }
        rig.clear();
        match &completed {
            Ok(_) => assert!(
                rig.get_is_whole("mp", &data, &row.to_string()).await,
                "{row}: a completed upload is unreadable"
            ),
            Err(_) => assert!(
                matches!(
                    read_all(&rig.store, "bkt", "mp", None).await,
                    Ok(ref bytes) if bytes == &data
                ) || read_all(&rig.store, "bkt", "mp", None).await.is_err(),
                "{row}: a failed complete left wrong bytes"
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heal_under_faults_rebuilds_right_bytes_or_nothing() {
    for row in rows() {
        let rig = Rig::new().await;
        // Drive 1 misses the writes; the row's fault hits one more drive
        // during the heal, so at most `parity` drives are impaired.
        rig.inject_on(&[1], Fault::Eio, ALL);
        for size in SIZES {
            rig.put(&key(size), &pattern(size, 5)).await.unwrap();
        }
        rig.clear();
        let faulty = &row.drives[..1];
        rig.inject_on(faulty, row.fault, row.ops);
        let report = rig.store.heal(Some("bkt"), "").await;
        rig.clear();
        // Read from drive 1 (healed) and one other: `data` = 2 drives, so
        // drive 1's shards must be right.
        let spared: Vec<usize> = (0..4).filter(|d| *d != 1 && !faulty.contains(d)).collect();
        rig.inject_on(&[faulty[0], spared[0]], Fault::Eio, ALL);
        for size in SIZES {
            let whole = rig
                .get_is_whole(&key(size), &pattern(size, 5), &row.to_string())
                .await;
            if matches!(&report, Ok(r) if r.objects_failed == 0) {
                assert!(
                    whole,
                    "{row}: {size} not rebuilt by a heal that reported success ({report:?})"
                );
            }
        }
    }
}

/// Past `parity` drives the faults are beyond repair: GET fails clearly
/// (bit flips included: bitrot framing catches them), which also shows the
/// seam reaches every read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_with_faults_beyond_parity_fails_instead_of_answering_wrong_bytes() {
    for (fault, ops) in [(Fault::Eio, ALL), (Fault::BitFlip, &[Op::Read][..])] {
        let rig = Rig::new().await;
        for size in SIZES {
            rig.put(&key(size), &pattern(size, 6)).await.unwrap();
        }
        rig.inject_on(&[0, 1, 2], fault, ops);
        for size in SIZES {
            assert!(
                !rig.get_is_whole(&key(size), &pattern(size, 6), "beyond parity")
                    .await,
                "{fault:?}: {size} read back although 3 of 4 drives fail"
            );
        }
    }
}

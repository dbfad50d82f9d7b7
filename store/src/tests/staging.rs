//! Staging in the drives' tmp areas (`staging.rs`): what an operation that
//! outlived its request left there is swept once no writer owns it, a slow
//! writer's staging is never swept from under it, and a commit never
//! installs a data dir whose shard file is missing from its staging.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::faulty::{backend, Fault, Faults, Op};

/// How long background work (probe, sweep, heal) may take on a busy machine.
const PATIENCE: Duration = Duration::from_secs(60);

async fn open_with_faults(
    fixture: &TestDrives,
    deadline: Duration,
) -> (Arc<Store>, Vec<Arc<Faults>>) {
    let faults: Vec<Arc<Faults>> = (0..4).map(|_| Arc::default()).collect();
    let mut config = fixture.config();
    config.backend = backend(faults.clone());
    config.drive_timeout = Some(deadline);
    let store = Arc::new(fixture.open_with(config).await);
    (store, faults)
}

fn tmp_entries(fixture: &TestDrives, drive: usize) -> Vec<PathBuf> {
    let tmp = fixture.drive(drive).join(crate::layout::TMP_DIR);
    match std::fs::read_dir(&tmp) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Files named `name` in a drive's object folders (not its tmp area).
fn object_files(fixture: &TestDrives, drive: usize, name: &str) -> Vec<PathBuf> {
    drives::files_under(&fixture.drive(drive).join("bkt"))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == name))
        .collect()
}

/// A shard-file create that hangs past the deadline runs once released,
/// after its PUT went on without the drive and cleaned up the others: the
/// staging folder it makes then belongs to no one, and the sweep removes
/// it (before, it stayed until the next start).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn staging_made_by_an_operation_that_outlived_its_request_is_swept() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let (store, faults) = open_with_faults(&fixture, Duration::from_secs(2)).await;
    store.create_bucket("bkt").await.unwrap();
    faults[0].inject(Op::Create, Fault::Hang);
    let data = pattern(100_000, 7);
    store
        .put_object("bkt", "k", body(&data), PutOptions::default())
        .await
        .unwrap();
    faults[0].release();
    let until = Instant::now() + PATIENCE;
    loop {
        let left: Vec<PathBuf> = (0..4).flat_map(|d| tmp_entries(&fixture, d)).collect();
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < until,
            "staging left in the tmp areas after {PATIENCE:?}: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(read_all(&store, "bkt", "k", None).await.unwrap(), data);
    store.shutdown().await;
}

/// A writer slow enough for many sweeps to pass keeps its staging (it owns
/// it): the PUT lands on every drive. A sweep that removed staging by age
/// alone made such a writer commit without its shard.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_writer_keeps_its_staging_through_sweeps() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let (store, faults) = open_with_faults(&fixture, Duration::from_secs(30)).await;
    store.create_bucket("bkt").await.unwrap();
    // 16 blocks at 100 ms a shard write: well over the sweep's grace.
    faults[0].inject(Op::Write, Fault::Latency(Duration::from_millis(100)));
    let data = pattern(16 * (64 << 10), 3);
    store
        .put_object("bkt", "slow", body(&data), PutOptions::default())
        .await
        .unwrap();
    faults[0].clear();
    // Drive 0 and one other must be enough: drive 0 holds its shard.
    faults[1].inject_all(Fault::Eio);
    faults[2].inject_all(Fault::Eio);
    assert_eq!(
        read_all(&store, "bkt", "slow", None).await.unwrap(),
        data,
        "the slow drive lost its shard"
    );
    faults[1].clear();
    faults[2].clear();
    store.shutdown().await;
}

/// A drive whose staged shard file vanished before the commit (here removed
/// from outside while the writer's fsync hangs) must fail its part of the
/// write, not get an `obj.meta` naming a data dir without the shard; the
/// heal then writes it whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_commit_never_installs_a_data_dir_without_its_shard_file() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let (store, faults) = open_with_faults(&fixture, Duration::from_secs(30)).await;
    store.create_bucket("bkt").await.unwrap();
    faults[1].inject(Op::Fsync, Fault::Hang);
    let data = pattern(100_000, 5);
    let put = {
        let (store, data) = (store.clone(), data.clone());
        tokio::spawn(async move {
            store
                .put_object("bkt", "k", body(&data), PutOptions::default())
                .await
        })
    };
    let until = Instant::now() + PATIENCE;
    let staged = loop {
        let staged: Vec<PathBuf> = tmp_entries(&fixture, 1)
            .into_iter()
            .map(|dir| dir.join("part.1"))
            .filter(|file| file.exists())
            .collect();
        if let Some(file) = staged.into_iter().next() {
            break file;
        }
        assert!(Instant::now() < until, "the shard was never staged");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    std::fs::remove_file(&staged).unwrap();
    faults[1].release();
    put.await.unwrap().unwrap();
    let metas = object_files(&fixture, 1, "obj.meta");
    let shards = object_files(&fixture, 1, "part.1");
    assert!(
        metas.is_empty() || !shards.is_empty(),
        "drive 2 got {metas:?} without its shard file"
    );
    assert_eq!(read_all(&store, "bkt", "k", None).await.unwrap(), data);
    let report = store.heal(None, "").await.unwrap();
    assert_eq!(report.objects_failed, 0, "{report:?}");
    assert_eq!(object_files(&fixture, 1, "part.1").len(), 1, "not healed");
    store.shutdown().await;
}

/// A deleted key reads as absent while two of four drives cannot answer,
/// when the two that do answer missed no write (every write quorum holds
/// one of them): 404, as MinIO answers, not 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deleted_key_is_absent_while_two_drives_cannot_answer() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let (store, faults) = open_with_faults(&fixture, Duration::from_secs(30)).await;
    store.create_bucket("bkt").await.unwrap();
    for (key, size) in [("small", 1_000), ("large", 100_000)] {
        store
            .put_object("bkt", key, body(&pattern(size, 1)), PutOptions::default())
            .await
            .unwrap();
        store.delete_object("bkt", key).await.unwrap();
    }
    faults[0].inject_all(Fault::Eio);
    faults[3].inject_all(Fault::Eio);
    for key in ["small", "large", "never-written"] {
        let got = store.get_object("bkt", key, None).await.map(drop);
        assert!(
            matches!(got, Err(StoreError::NoSuchKey { .. })),
            "GET {key}: {got:?}"
        );
        let head = store.head_object("bkt", key).await.map(drop);
        assert!(
            matches!(head, Err(StoreError::NoSuchKey { .. })),
            "HEAD {key}: {head:?}"
        );
    }
    faults[0].clear();
    faults[3].clear();
    store.shutdown().await;
}

/// A delete drive 3 missed (offline) must not bring the object back: with
/// the drives that took the delete unable to answer, the stale copy is no
/// object and "absent" is not settled by a drive that is behind either.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delete_a_drive_missed_is_not_undone_while_others_cannot_answer() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let (store, faults) = open_with_faults(&fixture, Duration::from_secs(30)).await;
    store.create_bucket("bkt").await.unwrap();
    let data = pattern(100_000, 9);
    store
        .put_object("bkt", "k", body(&data), PutOptions::default())
        .await
        .unwrap();
    faults[3].inject_all(Fault::Eio);
    store.drive_status().await;
    store.delete_object("bkt", "k").await.unwrap();
    faults[3].clear();
    faults[0].inject_all(Fault::Eio);
    faults[1].inject_all(Fault::Eio);
    let got = read_all(&store, "bkt", "k", None).await;
    assert!(
        got.is_err(),
        "a deleted object came back: {} bytes",
        got.unwrap().len()
    );
    faults[0].clear();
    faults[1].clear();
    store.shutdown().await;
}

/// A delete drive 1 missed (offline) leaves its stale copy there; when
/// drive 1 is back but drive 0 cannot answer, the two drives that took the
/// delete and missed no write still settle "absent": every write quorum
/// holds one of them. The copy on a drive that is behind proves nothing
/// either way, so the key is 404, not 503 (the campaign's round after a
/// hung drive came back while another failed its reads).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stale_copy_on_a_drive_that_is_behind_does_not_hold_a_deleted_key_at_503() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let (store, faults) = open_with_faults(&fixture, Duration::from_secs(30)).await;
    store.create_bucket("bkt").await.unwrap();
    for (key, size) in [("small", 1_000), ("large", 100_000)] {
        store
            .put_object("bkt", key, body(&pattern(size, 3)), PutOptions::default())
            .await
            .unwrap();
    }
    faults[1].inject_all(Fault::Eio);
    store.drive_status().await;
    for key in ["small", "large"] {
        store.delete_object("bkt", key).await.unwrap();
    }
    assert_eq!(
        object_files(&fixture, 1, "obj.meta").len(),
        2,
        "drive 1 keeps the records of the deletes it missed"
    );
    // Drive 0 fails before drive 1 is back, so the walk that starts for
    // drive 1 cannot remove the stale copies either.
    faults[0].inject_all(Fault::Eio);
    faults[1].clear();
    let statuses = store.drive_status().await;
    assert!(statuses[1].online && !statuses[0].online, "{statuses:?}");
    for key in ["small", "large"] {
        let got = store.get_object("bkt", key, None).await.map(drop);
        assert!(
            matches!(got, Err(StoreError::NoSuchKey { .. })),
            "GET {key}: {got:?}"
        );
        let head = store.head_object("bkt", key).await.map(drop);
        assert!(
            matches!(head, Err(StoreError::NoSuchKey { .. })),
            "HEAD {key}: {head:?}"
        );
    }
    faults[0].clear();
    store.shutdown().await;
}

/// `minnow heal` walks every bucket, one request each. Once such walks
/// have covered every bucket while a wiped (fresh) drive stayed online and
/// missed nothing, that drive is whole: its missed-write marker goes, as
/// after the background walk over everything, so it settles a deleted key
/// absent again while two other drives cannot answer (404, not 503). The
/// background walk here rests for minutes after its first object, so only
/// the explicit walks can have made the drive whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heal_walks_over_every_bucket_clear_a_wiped_drives_marker() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    for bucket in ["one", "two"] {
        store.create_bucket(bucket).await.unwrap();
        for key in ["kept-1", "kept-2"] {
            store
                .put_object(bucket, key, body(&pattern(5_000, 4)), PutOptions::default())
                .await
                .unwrap();
        }
    }
    store
        .put_object(
            "one",
            "gone",
            body(&pattern(1_000, 5)),
            PutOptions::default(),
        )
        .await
        .unwrap();
    store.delete_object("one", "gone").await.unwrap();
    store.shutdown().await;
    drop(store);
    fixture.replace_drive(3);
    let faults: Vec<Arc<Faults>> = (0..4).map(|_| Arc::default()).collect();
    let mut config = fixture.config();
    config.backend = backend(faults.clone());
    config.drive_timeout = Some(Duration::from_secs(30));
    config.heal_tranquility = 1_000_000;
    let store = fixture.open_with(config).await;
    assert_eq!(store.heal_status().drives_healing, vec![3]);
    let report = store.heal(Some("one"), "").await.unwrap();
    assert_eq!(report.objects_failed, 0, "{report:?}");
    assert_eq!(
        store.heal_status().drives_healing,
        vec![3],
        "one bucket of two walked: the drive is not whole yet"
    );
    let report = store.heal(Some("two"), "").await.unwrap();
    assert_eq!(report.objects_failed, 0, "{report:?}");
    assert!(
        store.heal_status().drives_healing.is_empty(),
        "{:?}",
        store.heal_status()
    );
    assert!(
        !fixture.files().iter().any(|f| f.ends_with("missed-3.json")),
        "the marker stays on disk: {:?}",
        fixture.files()
    );
    faults[0].inject_all(Fault::Eio);
    faults[1].inject_all(Fault::Eio);
    store.drive_status().await;
    let got = store.get_object("one", "gone", None).await.map(drop);
    assert!(
        matches!(got, Err(StoreError::NoSuchKey { .. })),
        "GET gone: {got:?}"
    );
    assert_eq!(
        read_all(&store, "two", "kept-1", None).await.unwrap(),
        pattern(5_000, 4)
    );
    faults[0].clear();
    faults[1].clear();
    store.shutdown().await;
}

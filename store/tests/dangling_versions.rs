//! Drives restored from a hot copy (each folder copied at a different moment
//! while a key was overwritten) can hold a version's metadata on enough
//! drives but its shard files on too few: the copy caught the new `obj.meta`
//! and missed the data folder written just before it. Such a dangling version
//! can never be decoded. Every key then reads as the newest version that
//! decodes or as absent (never an endless 503, never torn), and a heal makes
//! every drive agree: it discards the dangling version and heals the one
//! served, or removes every trace of the key when none decodes.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use store::api::{Maintenance, StoreError};
use store::Store;

const BUCKET: &str = "restored";
const KEY: &str = "churn/key";

/// What one drive's copy holds for the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// The old version, metadata and shard files.
    Old,
    /// The new version, metadata and shard files.
    New,
    /// The new version's metadata, no data folder (copied before it was written).
    NewMetaOnly,
    /// Nothing of the key.
    Nothing,
    /// The old version's folder with an empty `obj.meta` (tar restored a hard link to a file
    /// that was still being written).
    EmptyMeta,
    /// The new version's metadata and data folder, but its shard file holds the old version's
    /// shard (a copy restored another file's content under the name).
    NewForeignShard,
}

/// The folder holding the key's `obj.meta` on `drive` (the only object in its bucket).
fn key_dir(drive: &Path) -> PathBuf {
    files_under(&drive.join(BUCKET))
        .into_iter()
        .find(|file| file.file_name().is_some_and(|name| name == "obj.meta"))
        .and_then(|meta| meta.parent().map(Path::to_path_buf))
        .expect("the key's metadata on every drive")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Data folders (everything but `obj.meta`) in a key folder.
fn data_dirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
                .map(|entry| entry.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Writes an old and a new version of the key (both in shard files), copies
/// each drive's key folder after each, then lays the drives out as `states`
/// and opens a store over them. Returns the store and both contents.
async fn restored(states: [Held; 4]) -> (TestDrives, Store, Vec<u8>, Vec<u8>) {
    let drives = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let copies = drives.root.path().join("copies");
    let old = random_bytes(1, 200 * KIB + 3);
    let new = random_bytes(2, 300 * KIB + 5);
    let mut dirs = Vec::new();
    {
        let store = drives.open().await;
        create_bucket(&store, BUCKET).await;
        for (name, data) in [("old", &old), ("new", &new)] {
            put(&store, BUCKET, KEY, data).await.expect("put");
            for index in 0..4 {
                let dir = key_dir(drives.drive(index));
                copy_dir(&dir, &copies.join(name).join(index.to_string()));
                dirs.push(dir);
            }
        }
        store.shutdown().await;
    }
    for (index, state) in states.iter().enumerate() {
        let dir = &dirs[index];
        std::fs::remove_dir_all(dir).unwrap();
        let copy = |name: &str| copy_dir(&copies.join(name).join(index.to_string()), dir);
        match state {
            Held::Old => copy("old"),
            Held::New => copy("new"),
            Held::NewMetaOnly => {
                copy("new");
                for data in data_dirs(dir) {
                    std::fs::remove_dir_all(data).unwrap();
                }
            }
            Held::Nothing => {}
            Held::EmptyMeta => {
                copy("old");
                std::fs::write(dir.join("obj.meta"), b"").unwrap();
            }
            Held::NewForeignShard => {
                copy("new");
                let old_copy = copies.join("old").join(index.to_string());
                let old_shard = files_under(&old_copy)
                    .into_iter()
                    .find(|f| f.file_name().is_some_and(|n| n != "obj.meta"))
                    .expect("the old version's shard file");
                let new_shard = files_under(dir)
                    .into_iter()
                    .find(|f| f.file_name().is_some_and(|n| n != "obj.meta"))
                    .expect("the new version's shard file");
                std::fs::copy(old_shard, new_shard).unwrap();
            }
        }
    }
    let store = drives.open().await;
    (drives, store, old, new)
}

/// What every drive holds for the key after a heal: `(has obj.meta, data folders)`.
fn on_drives(drives: &TestDrives) -> Vec<(bool, usize)> {
    (0..4)
        .map(|index| {
            let meta = files_under(&drives.drive(index).join(BUCKET))
                .into_iter()
                .find(|file| file.file_name().is_some_and(|name| name == "obj.meta"));
            match meta {
                Some(meta) => (true, data_dirs(meta.parent().unwrap()).len()),
                None => (false, 0),
            }
        })
        .collect()
}

#[track_caller]
fn assert_absent(result: Result<Vec<u8>, StoreError>, what: &str) {
    match result {
        Err(StoreError::NoSuchKey { .. }) => {}
        Err(other) => panic!("{what}: expected NoSuchKey, got {other:?}"),
        Ok(bytes) => panic!("{what}: expected NoSuchKey, got {} bytes", bytes.len()),
    }
}

/// The new version's metadata is on three drives (a write quorum: it may
/// have been acknowledged) but its shards on only one, and the fourth holds
/// the old version alone; or each version is on one drive beside a damaged
/// `obj.meta`: no version can be decoded, so the key is absent, and the heal
/// removes every file of it.
#[test]
fn a_version_whose_shards_never_arrived_reads_as_absent_and_heal_removes_it() {
    runtime().block_on(async {
        use Held::*;
        for states in [
            [New, NewMetaOnly, NewMetaOnly, Old],
            [NewMetaOnly, New, Nothing, NewMetaOnly],
            // A damaged record is an answer (it will never be read), not an unknown drive.
            [EmptyMeta, New, Old, Nothing],
        ] {
            let (drives, store, _, _) = restored(states).await;
            assert_absent(get(&store, BUCKET, KEY).await, &format!("{states:?}"));
            let report = store.heal(None, "").await.expect("heal");
            assert_eq!(report.objects_failed, 0, "{states:?}: {report:?}");
            assert_eq!(
                on_drives(&drives),
                vec![(false, 0); 4],
                "{states:?}: the heal leaves nothing of the key"
            );
            assert_absent(get(&store, BUCKET, KEY).await, "after the heal");
            let again = store.heal(None, "").await.expect("second heal");
            assert_eq!(again.objects_failed, 0, "{again:?}");
            store.shutdown().await;
        }
    });
}

/// A hot copy restored another file's content under the new version's shard file name (a
/// different size): with it only one real shard of the new version exists. A read fails rather
/// than serve wrong bytes; the heal counts the wrong-size file as missing, so the version is
/// dangling and every file of the key goes (the old version alone is on one drive, too few to
/// be read), instead of "not enough good shards" forever.
#[test]
fn a_shard_file_of_the_wrong_size_makes_a_version_dangling_for_heal() {
    runtime().block_on(async {
        use Held::*;
        let (drives, store, old, new) = restored([New, NewForeignShard, NewMetaOnly, Old]).await;
        if let Ok(bytes) = get(&store, BUCKET, KEY).await {
            assert!(
                bytes == old || bytes == new,
                "a read served bytes of no version"
            );
        }
        let report = store.heal(None, "").await.expect("heal");
        assert_eq!(report.objects_failed, 0, "{report:?}");
        assert_eq!(
            on_drives(&drives),
            vec![(false, 0); 4],
            "nothing of the key is left"
        );
        assert_absent(get(&store, BUCKET, KEY).await, "after the heal");
        store.shutdown().await;
    });
}

/// The new version's shards are on two of its three holders: enough to
/// decode, so it is served, and the heal rebuilds it everywhere and drops the
/// old version's folder.
#[test]
fn a_new_version_that_decodes_is_served_and_healed_everywhere() {
    runtime().block_on(async {
        use Held::*;
        let (drives, store, _, new) = restored([New, New, NewMetaOnly, Old]).await;
        assert_same_bytes(
            &get(&store, BUCKET, KEY).await.unwrap(),
            &new,
            "before heal",
        );
        let report = store.heal(None, "").await.expect("heal");
        assert_eq!(report.objects_failed, 0, "{report:?}");
        assert_eq!(on_drives(&drives), vec![(true, 1); 4]);
        assert_same_bytes(&get(&store, BUCKET, KEY).await.unwrap(), &new, "after heal");
        store.shutdown().await;
    });
}

/// New metadata on two drives (one without its shards), the old version on
/// the other two: the new one cannot have been acknowledged and does not
/// decode, so the old one is served; the heal writes it to every drive and
/// removes the new one's leftovers.
#[test]
fn the_old_version_is_served_and_healed_when_the_new_one_is_incomplete() {
    runtime().block_on(async {
        use Held::*;
        let (drives, store, old, _) = restored([New, NewMetaOnly, Old, Old]).await;
        assert_same_bytes(
            &get(&store, BUCKET, KEY).await.unwrap(),
            &old,
            "before heal",
        );
        let report = store.heal(None, "").await.expect("heal");
        assert_eq!(report.objects_failed, 0, "{report:?}");
        assert_eq!(on_drives(&drives), vec![(true, 1); 4]);
        assert_same_bytes(&get(&store, BUCKET, KEY).await.unwrap(), &old, "after heal");
        let again = store.heal(None, "").await.expect("second heal");
        assert_eq!(again.objects_healed, 0, "{again:?}");
        store.shutdown().await;
    });
}

/// A hot copy restored one drive's `obj.meta` as a copy of another's (tar's
/// hard-link records meeting a reused inode): two drives then claim the same
/// shard. The stray copy counts as damaged, never as a second shard, so the
/// key (one real shard of an inline object) reads as absent instead of 503,
/// and the heal removes it.
#[test]
fn another_drives_metadata_is_not_a_second_shard() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        {
            let store = drives.open().await;
            create_bucket(&store, BUCKET).await;
            put(&store, BUCKET, KEY, &random_bytes(3, 5 * KIB))
                .await
                .expect("put");
            store.shutdown().await;
        }
        let dirs: Vec<PathBuf> = (0..4).map(|index| key_dir(drives.drive(index))).collect();
        std::fs::copy(dirs[1].join("obj.meta"), dirs[2].join("obj.meta")).unwrap();
        for index in [0, 3] {
            std::fs::remove_dir_all(&dirs[index]).unwrap();
        }
        let store = drives.open().await;
        assert_absent(get(&store, BUCKET, KEY).await, "one shard and a stray copy");
        let report = store.heal(None, "").await.expect("heal");
        assert_eq!(report.objects_failed, 0, "{report:?}");
        assert_eq!(on_drives(&drives), vec![(false, 0); 4]);
        store.shutdown().await;
    });
}

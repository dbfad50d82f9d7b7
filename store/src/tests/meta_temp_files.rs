//! `obj.meta`'s temp files live in the object folder (`Drive::write_atomic_beside`),
//! not in the tmp area that start-up empties: one a crash left there is
//! invisible to reads and listings, and the next holder of the key's lock
//! (a write, a delete, a heal) removes it; a folder holding nothing else
//! (a first write that crashed) is found and removed by the heal walk.

use super::*;
use crate::keys::EncodedKey;
use crate::layout;

/// What a crash between creating and renaming the temp file leaves.
fn leave_meta_temp(fixture: &TestDrives, drive: usize, key: &str) -> PathBuf {
    let dir = fixture
        .drive(drive)
        .join(layout::object_dir("bkt", &EncodedKey::new(key).unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}0123456789abcdef", layout::META_TEMP_PREFIX));
    std::fs::write(&path, b"half a record").unwrap();
    path
}

fn meta_temps(fixture: &TestDrives, drive: usize) -> Vec<PathBuf> {
    drives::files_under(&fixture.drive(drive).join("bkt"))
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(layout::is_meta_temp)
        })
        .collect()
}

async fn listed_keys(store: &Store) -> Vec<String> {
    let params = ListParams {
        max_keys: 1000,
        ..Default::default()
    };
    let page = store.list_objects("bkt", params).await.unwrap();
    page.objects.into_iter().map(|o| o.key).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_writes_leave_no_temp_file_in_the_object_folder_or_the_tmp_area() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    for (key, len) in [("inline", 100), ("files", 100_000), ("a/b/deep", 3_000)] {
        for seed in 0..2 {
            store
                .put_object("bkt", key, body(&pattern(len, seed)), PutOptions::default())
                .await
                .unwrap();
        }
        assert_eq!(
            read_all(&store, "bkt", key, None).await.unwrap(),
            pattern(len, 1)
        );
    }
    store.delete_object("bkt", "inline").await.unwrap();
    for drive in 0..4 {
        assert_eq!(meta_temps(&fixture, drive), Vec::<PathBuf>::new());
        let tmp = fixture.drive(drive).join(layout::TMP_DIR);
        assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0, "drive {drive}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_metadata_write_is_invisible_and_removed_by_the_next_lock_holder() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    for key in ["overwritten", "healed"] {
        store
            .put_object(
                "bkt",
                key,
                body(&pattern(100_000, 3)),
                PutOptions::default(),
            )
            .await
            .unwrap();
    }
    drop(store);
    let mut leftovers = Vec::new();
    for drive in 0..4 {
        leftovers.push(leave_meta_temp(&fixture, drive, "overwritten"));
        leftovers.push(leave_meta_temp(&fixture, drive, "healed"));
    }
    // The first write of an inline object crashed before its rename: the
    // folder holds the temp file only.
    for drive in 0..2 {
        leftovers.push(leave_meta_temp(&fixture, drive, "never-committed"));
    }
    let store = fixture.open().await;

    assert_eq!(listed_keys(&store).await, ["healed", "overwritten"]);
    assert_eq!(
        read_all(&store, "bkt", "overwritten", None).await.unwrap(),
        pattern(100_000, 3)
    );
    let absent = store.head_object("bkt", "never-committed").await.map(drop);
    assert!(
        matches!(absent, Err(StoreError::NoSuchKey { .. })),
        "{absent:?}"
    );

    store
        .put_object(
            "bkt",
            "overwritten",
            body(&pattern(5_000, 4)),
            PutOptions::default(),
        )
        .await
        .unwrap();
    for drive in 0..4 {
        assert!(
            !leftovers[2 * drive].exists(),
            "{}",
            leftovers[2 * drive].display()
        );
        assert!(
            leftovers[2 * drive + 1].exists(),
            "a write of another key left it"
        );
    }

    let report = store.heal(Some("bkt"), "").await.unwrap();
    assert_eq!(report.objects_failed, 0, "{report:?}");
    for drive in 0..4 {
        assert_eq!(
            meta_temps(&fixture, drive),
            Vec::<PathBuf>::new(),
            "drive {drive}"
        );
    }
    let never = layout::object_dir("bkt", &EncodedKey::new("never-committed").unwrap());
    for drive in 0..4 {
        let path = fixture.drive(drive).join(&never);
        assert!(!path.exists(), "{} left after the heal", path.display());
    }
    assert_eq!(listed_keys(&store).await, ["healed", "overwritten"]);
    assert_eq!(
        read_all(&store, "bkt", "healed", None).await.unwrap(),
        pattern(100_000, 3)
    );
}

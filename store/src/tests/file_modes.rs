//! Drive files are 0600 and folders 0700 (identity data and inline object
//! bytes live there): new ones are created so, and a drive written with
//! looser modes is fixed when the store opens it.

use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::api::MultipartStore;
use crate::{DIR_MODE, FILE_MODE};

/// Every entry below `root` (and `root` itself) whose mode is not 0600 for
/// a file or 0700 for a folder, with its mode.
fn wrong_modes(root: &Path) -> Vec<(PathBuf, u32)> {
    let mut wrong = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o7777;
        if meta.is_dir() {
            if mode != DIR_MODE {
                wrong.push((path.clone(), mode));
            }
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        } else if mode != FILE_MODE {
            wrong.push((path, mode));
        }
    }
    wrong
}

/// Objects (inline and in shard files), an unfinished upload, a bucket
/// setting and a system blob (where users and their secrets live).
async fn write_every_kind(store: &Store) {
    store.create_bucket("bkt").await.unwrap();
    for (key, size) in [("small", 100), ("big", 150_000)] {
        store
            .put_object("bkt", key, body(&pattern(size, 1)), PutOptions::default())
            .await
            .unwrap();
    }
    let upload = store
        .create_multipart("bkt", "mp", Default::default(), None)
        .await
        .unwrap();
    store
        .put_part(
            "bkt",
            "mp",
            &upload.upload_id,
            1,
            body(&pattern(70_000, 2)),
            PutOptions::default(),
        )
        .await
        .unwrap();
    store
        .put_bucket_setting(
            "bkt",
            crate::api::BucketSetting::Policy,
            Some(Bytes::from_static(b"{}")),
        )
        .await
        .unwrap();
    store
        .put_system_blob("iam.json", Some(Bytes::from_static(b"{\"users\":{}}")))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drive_files_are_created_0600_in_folders_0700() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    write_every_kind(&store).await;
    store.shutdown().await;
    for drive in &fixture.drives {
        assert!(
            !fixture.files().is_empty() && wrong_modes(drive).is_empty(),
            "{:?}",
            wrong_modes(drive)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drive_written_0644_and_0755_is_fixed_when_opened() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    write_every_kind(&store).await;
    store.shutdown().await;
    drop(store);
    // What a drive written before modes were tightened looks like.
    for drive in &fixture.drives {
        let mut stack = vec![drive.clone()];
        while let Some(path) = stack.pop() {
            let is_dir = path.is_dir();
            let mode = if is_dir { 0o755 } else { 0o644 };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            if is_dir {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            }
        }
        assert!(!wrong_modes(drive).is_empty());
    }
    let store = fixture.open().await;
    for drive in &fixture.drives {
        assert_eq!(wrong_modes(drive), Vec::new(), "{}", drive.display());
    }
    assert_eq!(
        read_all(&store, "bkt", "big", None).await.unwrap(),
        pattern(150_000, 1)
    );
}

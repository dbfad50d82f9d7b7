//! Drives that vanish or stop answering at run time: reads fail with a
//! lost read quorum (never a wrong "not found"), and drives that come back
//! are healed.

use super::*;

/// A drive folder that vanished and came back (same format) is online again
/// at the next status check, and what was written meanwhile is healed onto it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vanished_drive_comes_back_online_and_is_healed() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let away = fixture.drives[1].with_extension("away");
    std::fs::rename(&fixture.drives[1], &away).unwrap();
    assert!(!store.drive_status().await[1].online);
    let data = pattern(200_000, 3);
    store
        .put_object(
            "bkt",
            "written-while-away",
            body(&data),
            PutOptions::default(),
        )
        .await
        .unwrap();
    std::fs::rename(&away, &fixture.drives[1]).unwrap();
    assert!(store.drive_status().await.iter().all(|d| d.online));
    let meta = fixture.drives[1].join("bkt/_written-while-away/obj.meta");
    let started = Instant::now();
    while !meta.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the returned drive was not healed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // A folder of another deployment in its place is not taken online.
    let other = TestDrives::with_sizes(4, SMALL_BLOCKS);
    drop(other.open().await);
    std::fs::rename(&fixture.drives[2], fixture.drives[2].with_extension("old")).unwrap();
    std::fs::rename(&other.drives[2], &fixture.drives[2]).unwrap();
    assert!(!store.drive_status().await[2].online);
    assert_eq!(
        read_all(&store, "bkt", "written-while-away", None)
            .await
            .unwrap(),
        data
    );
}

/// Objects, a nested key and an open upload with one part, for the
/// vanishing-drive tests; returns the upload id.
async fn fill_for_drive_loss(store: &Store, big: &[u8], small: &[u8]) -> String {
    use crate::api::MultipartStore;
    store.create_bucket("bkt").await.unwrap();
    for (key, data) in [("big", big), ("small", small), ("dir/nested", small)] {
        store
            .put_object("bkt", key, body(data), PutOptions::default())
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
            body(small),
            PutOptions::default(),
        )
        .await
        .unwrap();
    upload.upload_id
}

fn is_read_quorum<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::ReadQuorum { .. }))
}

/// Drive folders removed under a running store cannot answer: with more
/// than parity of them gone every read is a lost read quorum, never
/// `NoSuchKey` or an empty listing, and the drives are taken offline without
/// waiting for a status check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drive_folders_removed_beyond_parity_at_runtime_fail_reads_with_read_quorum() {
    use crate::api::{ListUploadsParams, MultipartStore};
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    let (big, small) = (pattern(150_000, 8), pattern(100, 9));
    let upload_id = fill_for_drive_loss(&store, &big, &small).await;
    for drive in &fixture.drives[1..] {
        std::fs::remove_dir_all(drive).unwrap();
    }
    let head = store.head_object("bkt", "big").await;
    assert!(
        matches!(
            head,
            Err(StoreError::ReadQuorum {
                online: 1,
                needed: 2
            })
        ),
        "{head:?}"
    );
    assert!(
        (1..4).all(|p| !store.inner.drives.is_online(p)),
        "the vanished drives were not taken offline by the read"
    );
    for key in ["big", "small", "dir/nested", "never-written"] {
        let head = store.head_object("bkt", key).await;
        assert!(is_read_quorum(&head), "head {key}: {head:?}");
        let get = read_all(&store, "bkt", key, None).await;
        assert!(is_read_quorum(&get), "get {key}: {get:?}");
    }
    let listed = store
        .list_objects(
            "bkt",
            ListParams {
                max_keys: 1000,
                ..Default::default()
            },
        )
        .await;
    assert!(is_read_quorum(&listed), "{listed:?}");
    let uploads = store
        .list_uploads("bkt", ListUploadsParams::default())
        .await;
    assert!(is_read_quorum(&uploads), "{uploads:?}");
    let parts = store.list_parts("bkt", "mp", &upload_id, None, 0).await;
    assert!(is_read_quorum(&parts), "{parts:?}");
    let statuses = store.drive_status().await;
    assert_eq!(statuses.iter().filter(|s| s.online).count(), 1);
}

/// The listing and multipart listings notice vanished drives on their own
/// (no earlier object read took the drives offline).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_alone_notice_drive_folders_removed_beyond_parity() {
    use crate::api::{ListUploadsParams, MultipartStore};
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    let (big, small) = (pattern(150_000, 10), pattern(100, 11));
    let upload_id = fill_for_drive_loss(&store, &big, &small).await;
    for drive in &fixture.drives[..3] {
        std::fs::remove_dir_all(drive).unwrap();
    }
    let listed = store
        .list_objects(
            "bkt",
            ListParams {
                prefix: "dir/".into(),
                delimiter: Some("/".into()),
                max_keys: 10,
                ..Default::default()
            },
        )
        .await;
    assert!(is_read_quorum(&listed), "{listed:?}");
    assert_eq!(store.inner.drives.online_count(), 1);
    // Back online for the multipart listings to find them gone again.
    for state in &store.inner.drives {
        state
            .online
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let uploads = store
        .list_uploads("bkt", ListUploadsParams::default())
        .await;
    assert!(is_read_quorum(&uploads), "{uploads:?}");
    for state in &store.inner.drives {
        state
            .online
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let parts = store.list_parts("bkt", "mp", &upload_id, None, 0).await;
    assert!(is_read_quorum(&parts), "{parts:?}");
}

/// Parity-many drive folders removed under a running store: every object
/// still reads back byte for byte, and the listings are complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drive_folders_removed_up_to_parity_at_runtime_still_read_and_list_everything() {
    use crate::api::{ListUploadsParams, MultipartStore};
    for removed in [[0usize, 1], [2, 3], [0, 3]] {
        let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
        let store = fixture.open().await;
        let (big, small) = (pattern(150_000, 12), pattern(100, 13));
        let upload_id = fill_for_drive_loss(&store, &big, &small).await;
        for drive in removed {
            std::fs::remove_dir_all(&fixture.drives[drive]).unwrap();
        }
        for (key, data) in [("big", &big), ("small", &small), ("dir/nested", &small)] {
            assert_eq!(
                &read_all(&store, "bkt", key, None).await.unwrap(),
                data,
                "{key} with drives {removed:?} gone"
            );
            assert_eq!(
                store.head_object("bkt", key).await.unwrap().size,
                data.len() as u64
            );
        }
        let page = store
            .list_objects(
                "bkt",
                ListParams {
                    max_keys: 1000,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let keys: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["big", "dir/nested", "small"], "{removed:?}");
        assert!(!page.is_truncated);
        let page = store
            .list_objects(
                "bkt",
                ListParams {
                    delimiter: Some("/".into()),
                    max_keys: 1000,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(page.common_prefixes, ["dir/"]);
        let uploads = store
            .list_uploads("bkt", ListUploadsParams::default())
            .await
            .unwrap();
        assert_eq!(uploads.uploads.len(), 1);
        let parts = store
            .list_parts("bkt", "mp", &upload_id, None, 0)
            .await
            .unwrap();
        assert_eq!(parts.parts.len(), 1);
    }
}

/// Absence confirmed by healthy drives stays `NoSuchKey` (and empty
/// listings stay empty), also with a fresh drive that has no bucket folders
/// yet and one drive folder gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_keys_on_answering_drives_are_no_such_key() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let data = pattern(150_000, 14);
    store
        .put_object("bkt", "there", body(&data), PutOptions::default())
        .await
        .unwrap();
    check_absent(&store, &data).await;
    assert_eq!(store.inner.drives.online_count(), 4);
    // A fresh drive (no bucket folders until its heal) and a drive folder
    // that vanishes at run time: two drives still answer for the bucket.
    drop(store);
    fixture.replace_drive(3);
    let store = fixture.open().await;
    assert!(store.inner.drives[3].fresh);
    // Moved away in one step: the background heal may be writing into it.
    std::fs::rename(&fixture.drives[0], fixture.root.path().join("gone")).unwrap();
    check_absent(&store, &data).await;
    assert_eq!(store.inner.drives.online_count(), 3);
}

async fn check_absent(store: &Store, data: &[u8]) {
    use crate::api::{ListUploadsParams, MultipartStore};
    for key in ["missing", "there/below", "the"] {
        let head = store.head_object("bkt", key).await;
        assert!(
            matches!(head, Err(StoreError::NoSuchKey { .. })),
            "head {key}: {head:?}"
        );
        let get = read_all(store, "bkt", key, None).await;
        assert!(
            matches!(get, Err(StoreError::NoSuchKey { .. })),
            "get {key}: {get:?}"
        );
    }
    let page = store
        .list_objects(
            "bkt",
            ListParams {
                prefix: "nothing/".into(),
                max_keys: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(page.objects.is_empty() && !page.is_truncated);
    let uploads = store
        .list_uploads("bkt", ListUploadsParams::default())
        .await
        .unwrap();
    assert!(uploads.uploads.is_empty());
    assert!(matches!(
        store
            .list_parts("bkt", "k", "0123456789abcdef0123456789abcdef", None, 0)
            .await,
        Err(StoreError::NoSuchUpload(_))
    ));
    assert_eq!(read_all(store, "bkt", "there", None).await.unwrap(), data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drive_that_answers_again_comes_back_without_anyone_probing() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let away = fixture.drives[1].with_extension("away");
    std::fs::rename(&fixture.drives[1], &away).unwrap();
    let data = pattern(200_000, 4);
    store
        .put_object("bkt", "k", body(&data), PutOptions::default())
        .await
        .unwrap();
    // The read notices the folder is gone and takes the drive offline.
    assert_eq!(read_all(&store, "bkt", "k", None).await.unwrap(), data);
    let online = |store: &Store| {
        store.inner.drives[1]
            .online
            .load(std::sync::atomic::Ordering::Acquire)
    };
    assert!(!online(&store));
    std::fs::rename(&away, &fixture.drives[1]).unwrap();
    // No health probe, no drive_status call: the store's own monitor.
    let meta = fixture.drives[1].join("bkt/_k/obj.meta");
    let started = Instant::now();
    while !(online(&store) && meta.exists()) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the drive did not come back by itself"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

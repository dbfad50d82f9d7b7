//! Every write kind a drive misses leaves a missed-write marker, and the
//! heal walk that the marker starts after a restart (which lost the
//! in-memory heal queue) brings the drive to the right state: what was
//! written is there, what was removed is gone. Each test makes drive 3
//! vanish during one kind of write, restarts with it back, waits for the
//! background walk alone, and then checks drive 3's own files.

use super::*;
use crate::api::{BucketSetting, MultipartStore, ObjectAttributes};
use crate::keys::EncodedKey;
use crate::layout;
use crate::meta::{decode_record, ObjectMeta, UploadMeta};

/// Moves drive 3's folder away while the store runs: it misses every
/// write from now on. Returns where it went.
fn vanish_drive_3(fixture: &TestDrives) -> PathBuf {
    let away = fixture.root.path().join("drive4.away");
    std::fs::rename(&fixture.drives[3], &away).unwrap();
    away
}

/// Polls (generous deadline, busy machines) until the store reports full
/// redundancy: no drive marked, none offline, no walk running.
pub(crate) async fn wait_for_full_redundancy(store: &Store) {
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let status = store.heal_status();
        if status.redundancy_full {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "redundancy not restored: {status:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Stops the store, puts drive 3 back, starts again and waits for the
/// background heal walk (started by the markers) to finish.
async fn restart_with_drive_3_back(fixture: &TestDrives, store: Store, away: PathBuf) -> Store {
    assert!(
        fixture.files().iter().any(|f| f.ends_with("missed-3.json")),
        "the missed write left no marker"
    );
    drop(store);
    std::fs::rename(&away, &fixture.drives[3]).unwrap();
    let store = fixture.open().await;
    wait_for_full_redundancy(&store).await;
    store
}

fn on_drive_3(fixture: &TestDrives, rel: &Path) -> PathBuf {
    fixture.drives[3].join(rel)
}

fn object_meta(bucket: &str, key: &str) -> PathBuf {
    layout::object_meta_path(bucket, &EncodedKey::new(key).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_drive_3_missed_is_applied_there_and_never_resurrects() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    for key in ["inline", "files"] {
        let size = if key == "inline" { 100 } else { 150_000 };
        store
            .put_object("bkt", key, body(&pattern(size, 1)), PutOptions::default())
            .await
            .unwrap();
    }
    let away = vanish_drive_3(&fixture);
    store.delete_object("bkt", "inline").await.unwrap();
    store.delete_object("bkt", "files").await.unwrap();
    let store = restart_with_drive_3_back(&fixture, store, away).await;
    for key in ["inline", "files"] {
        let meta = on_drive_3(&fixture, &object_meta("bkt", key));
        assert!(
            !meta.exists(),
            "{key}: drive 3 still holds the deleted object"
        );
    }
    // With two other drives lost, drive 3 and one whole drive answer: the
    // object stays deleted.
    drop(store);
    fixture.replace_drive(0);
    fixture.replace_drive(1);
    let store = fixture.open().await;
    for key in ["inline", "files"] {
        assert!(
            matches!(
                store.head_object("bkt", key).await,
                Err(StoreError::NoSuchKey { .. })
            ),
            "{key} came back"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attribute_update_drive_3_missed_is_healed_there() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    store
        .put_object("bkt", "obj", body(&pattern(100, 2)), PutOptions::default())
        .await
        .unwrap();
    let away = vanish_drive_3(&fixture);
    let attributes = ObjectAttributes {
        content_type: Some("text/x-updated".into()),
        ..Default::default()
    };
    store
        .update_attributes("bkt", "obj", attributes.clone())
        .await
        .unwrap();
    let _store = restart_with_drive_3_back(&fixture, store, away).await;
    let bytes = std::fs::read(on_drive_3(&fixture, &object_meta("bkt", "obj"))).unwrap();
    let meta = ObjectMeta::decode(Bytes::from(bytes)).unwrap();
    assert_eq!(meta.attributes, attributes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_writes_drive_3_missed_are_healed_there() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let attrs = ObjectAttributes::default;
    let aborted = store
        .create_multipart("bkt", "aborted", attrs(), None)
        .await
        .unwrap();
    let completed = store
        .create_multipart("bkt", "completed", attrs(), None)
        .await
        .unwrap();
    let part = pattern(70_000, 3);
    let first = store
        .put_part(
            "bkt",
            "completed",
            &completed.upload_id,
            1,
            body(&part),
            PutOptions::default(),
        )
        .await
        .unwrap();
    let away = vanish_drive_3(&fixture);
    // Created, given a part, aborted and completed while drive 3 is away.
    let created = store
        .create_multipart("bkt", "created", attrs(), None)
        .await
        .unwrap();
    store
        .put_part(
            "bkt",
            "created",
            &created.upload_id,
            1,
            body(&part),
            PutOptions::default(),
        )
        .await
        .unwrap();
    store
        .abort_multipart("bkt", "aborted", &aborted.upload_id)
        .await
        .unwrap();
    store
        .complete_multipart(
            "bkt",
            "completed",
            &completed.upload_id,
            vec![crate::api::CompletePart {
                number: 1,
                etag: first.etag.clone(),
            }],
        )
        .await
        .unwrap();
    let _store = restart_with_drive_3_back(&fixture, store, away).await;
    let upload = std::fs::read(on_drive_3(
        &fixture,
        &layout::upload_meta_path("bkt", &created.upload_id),
    ))
    .expect("the created upload's record is back on drive 3");
    let (upload, _) = decode_record::<UploadMeta>(Bytes::from(upload)).unwrap();
    assert_eq!(upload.key, "created");
    assert!(
        on_drive_3(
            &fixture,
            &layout::upload_part_meta_path("bkt", &created.upload_id, 1)
        )
        .exists(),
        "the part uploaded while drive 3 was away is back there"
    );
    for gone in [&aborted.upload_id, &completed.upload_id] {
        assert!(
            !on_drive_3(&fixture, &layout::upload_dir("bkt", gone)).exists(),
            "an upload that ended while drive 3 was away is still there"
        );
    }
    assert!(on_drive_3(&fixture, &object_meta("bkt", "completed")).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_and_setting_writes_drive_3_missed_are_healed_there() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    for bucket in ["kept", "deleted"] {
        store.create_bucket(bucket).await.unwrap();
    }
    store
        .put_bucket_setting(
            "kept",
            BucketSetting::Cors,
            Some(Bytes::from_static(b"<CORSConfiguration/>")),
        )
        .await
        .unwrap();
    let away = vanish_drive_3(&fixture);
    store.create_bucket("created").await.unwrap();
    store.delete_bucket("deleted").await.unwrap();
    let policy = Bytes::from_static(br#"{"Version":"2012-10-17","Statement":[]}"#);
    store
        .put_bucket_setting("kept", BucketSetting::Policy, Some(policy.clone()))
        .await
        .unwrap();
    store
        .put_bucket_setting(
            "kept",
            BucketSetting::Lifecycle,
            Some(Bytes::from_static(b"<LifecycleConfiguration/>")),
        )
        .await
        .unwrap();
    store
        .put_bucket_setting("kept", BucketSetting::Cors, None)
        .await
        .unwrap();
    let _store = restart_with_drive_3_back(&fixture, store, away).await;
    assert!(on_drive_3(&fixture, &layout::bucket_meta_path("created")).exists());
    assert!(!on_drive_3(&fixture, &layout::bucket_meta_path("deleted")).exists());
    let stored = std::fs::read(on_drive_3(
        &fixture,
        &layout::setting_path("kept", BucketSetting::Policy),
    ))
    .expect("the policy is back on drive 3");
    let blob = crate::meta::Blob::decode(Bytes::from(stored)).unwrap();
    assert_eq!(blob.value, policy);
    assert!(on_drive_3(
        &fixture,
        &layout::setting_path("kept", BucketSetting::Lifecycle)
    )
    .exists());
    assert!(
        !on_drive_3(&fixture, &layout::setting_path("kept", BucketSetting::Cors)).exists(),
        "a setting removed while drive 3 was away is still there"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_blob_writes_drive_3_missed_are_healed_there() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store
        .put_system_blob("removed.json", Some(Bytes::from_static(b"old")))
        .await
        .unwrap();
    let away = vanish_drive_3(&fixture);
    store
        .put_system_blob("written.json", Some(Bytes::from_static(b"new")))
        .await
        .unwrap();
    store.put_system_blob("removed.json", None).await.unwrap();
    let _store = restart_with_drive_3_back(&fixture, store, away).await;
    let stored = std::fs::read(on_drive_3(
        &fixture,
        &layout::system_blob_path("written.json"),
    ))
    .expect("the blob is back on drive 3");
    let blob = crate::meta::Blob::decode(Bytes::from(stored)).unwrap();
    assert_eq!(blob.value, Bytes::from_static(b"new"));
    assert!(!on_drive_3(&fixture, &layout::system_blob_path("removed.json")).exists());
}

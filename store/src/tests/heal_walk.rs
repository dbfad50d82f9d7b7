//! The one heal walk restores every record kind on a wiped drive by itself
//! (the background walk that a fresh drive starts, no explicit heal):
//! system blobs (identity, the lifecycle cursor), bucket records and their
//! settings, open multipart uploads, and objects. The scenario that lost a
//! bucket once is here too: two drives replaced, the background heal alone,
//! then a third drive damaged.

use super::missed_writes::wait_for_full_redundancy;
use super::*;
use crate::api::{BucketSetting, MultipartStore};
use crate::keys::EncodedKey;
use crate::layout;
use crate::meta::Blob;

const POLICY: &[u8] = br#"{"Version":"2012-10-17","Statement":[]}"#;
const LIFECYCLE: &[u8] =
    b"<LifecycleConfiguration><Rule><ID>r</ID></Rule></LifecycleConfiguration>";
const CORS: &[u8] = b"<CORSConfiguration/>";

/// Stops the store, replaces drive `wiped` folders with empty ones, starts
/// again and waits for the background walk alone to restore redundancy.
async fn wipe_and_wait(fixture: &TestDrives, store: Store, wiped: &[usize]) -> Store {
    drop(store);
    for &drive in wiped {
        fixture.replace_drive(drive);
    }
    let store = fixture.open().await;
    wait_for_full_redundancy(&store).await;
    store
}

fn blob_on(fixture: &TestDrives, drive: usize, rel: &Path) -> Option<Bytes> {
    let bytes = std::fs::read(fixture.drives[drive].join(rel)).ok()?;
    Some(Blob::decode(Bytes::from(bytes)).unwrap().value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replaced_drives_then_a_damaged_third_lose_no_bucket_setting_or_object() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    let mut objects = Vec::new();
    for bucket in ["alpha", "beta"] {
        store.create_bucket(bucket).await.unwrap();
        for (setting, value) in [
            (BucketSetting::Policy, POLICY),
            (BucketSetting::Lifecycle, LIFECYCLE),
            (BucketSetting::Cors, CORS),
        ] {
            store
                .put_bucket_setting(bucket, setting, Some(Bytes::from_static(value)))
                .await
                .unwrap();
        }
        for (index, size) in [10usize, 20_000, 150_000].into_iter().enumerate() {
            let key = format!("dir/{bucket}-{index}");
            let data = pattern(size, index as u8);
            store
                .put_object(bucket, &key, body(&data), PutOptions::default())
                .await
                .unwrap();
            objects.push((bucket, key, data));
        }
    }
    store
        .put_system_blob("iam-users.json", Some(Bytes::from_static(b"users")))
        .await
        .unwrap();
    // Two drives replaced by empty folders; only the background walk runs.
    let store = wipe_and_wait(&fixture, store, &[0, 1]).await;
    drop(store);
    // A third drive goes bad: its format file is damaged.
    std::fs::write(
        fixture.drives[2].join(layout::FORMAT_FILE),
        b"not a format file",
    )
    .unwrap();
    let store = fixture.open().await;
    assert!(!store.drive_status().await[2].online);
    for bucket in ["alpha", "beta"] {
        store.head_bucket(bucket).await.unwrap();
        for (setting, value) in [
            (BucketSetting::Policy, POLICY),
            (BucketSetting::Lifecycle, LIFECYCLE),
            (BucketSetting::Cors, CORS),
        ] {
            assert_eq!(
                store
                    .get_bucket_setting(bucket, setting)
                    .await
                    .unwrap()
                    .as_deref(),
                Some(value),
                "{bucket} {setting:?}"
            );
        }
    }
    for (bucket, key, data) in &objects {
        assert_eq!(
            &read_all(&store, bucket, key, None).await.unwrap(),
            data,
            "{bucket}/{key}"
        );
    }
    assert_eq!(
        store.get_system_blob("iam-users.json").await.unwrap(),
        Some(Bytes::from_static(b"users"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_drive_gets_its_system_blobs_and_lifecycle_cursor_back() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    for (name, value) in [
        ("iam-users.json", &b"users"[..]),
        ("lifecycle-cursor.json", &b"{\"version\":1}"[..]),
    ] {
        store
            .put_system_blob(name, Some(Bytes::copy_from_slice(value)))
            .await
            .unwrap();
    }
    let _store = wipe_and_wait(&fixture, store, &[3]).await;
    assert_eq!(
        blob_on(&fixture, 3, &layout::system_blob_path("iam-users.json")).as_deref(),
        Some(&b"users"[..])
    );
    assert_eq!(
        blob_on(
            &fixture,
            3,
            &layout::system_blob_path("lifecycle-cursor.json")
        )
        .as_deref(),
        Some(&b"{\"version\":1}"[..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_drive_gets_its_bucket_records_and_settings_back() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    for (setting, value) in [
        (BucketSetting::Policy, POLICY),
        (BucketSetting::Lifecycle, LIFECYCLE),
        (BucketSetting::Cors, CORS),
    ] {
        store
            .put_bucket_setting("bkt", setting, Some(Bytes::from_static(value)))
            .await
            .unwrap();
    }
    let _store = wipe_and_wait(&fixture, store, &[3]).await;
    assert!(fixture.drives[3]
        .join(layout::bucket_meta_path("bkt"))
        .exists());
    assert!(fixture.drives[3].join(layout::bucket_dir("bkt")).is_dir());
    for (setting, value) in [
        (BucketSetting::Policy, POLICY),
        (BucketSetting::Lifecycle, LIFECYCLE),
        (BucketSetting::Cors, CORS),
    ] {
        assert_eq!(
            blob_on(&fixture, 3, &layout::setting_path("bkt", setting)).as_deref(),
            Some(value),
            "{setting:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_drive_gets_its_open_uploads_back() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let upload = store
        .create_multipart("bkt", "big", Default::default(), None)
        .await
        .unwrap();
    store
        .put_part(
            "bkt",
            "big",
            &upload.upload_id,
            2,
            body(&pattern(100_000, 5)),
            PutOptions::default(),
        )
        .await
        .unwrap();
    let _store = wipe_and_wait(&fixture, store, &[3]).await;
    let drive = &fixture.drives[3];
    assert!(drive
        .join(layout::upload_meta_path("bkt", &upload.upload_id))
        .exists());
    assert!(drive
        .join(layout::upload_part_meta_path("bkt", &upload.upload_id, 2))
        .exists());
    let part_files = fixture
        .files()
        .into_iter()
        .filter(|f| {
            f.starts_with(fixture.drives[3].strip_prefix(fixture.root.path()).unwrap())
                && f.to_string_lossy().contains(&upload.upload_id)
                && f.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("part.2."))
        })
        .count();
    assert_eq!(part_files, 2, "the part's record and its shard file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_drive_gets_its_objects_back() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let objects: Vec<(String, Vec<u8>)> = [0usize, 100, 150_000]
        .into_iter()
        .map(|n| (format!("o/{n}"), pattern(n, n as u8)))
        .collect();
    for (key, data) in &objects {
        store
            .put_object("bkt", key, body(data), PutOptions::default())
            .await
            .unwrap();
    }
    let store = wipe_and_wait(&fixture, store, &[3]).await;
    let status = store.heal_status();
    assert_eq!(status.objects_left, 0, "{status:?}");
    assert_eq!(status.objects_done, 3, "{status:?}");
    for (key, _) in &objects {
        let meta = layout::object_meta_path("bkt", &EncodedKey::new(key).unwrap());
        assert!(fixture.drives[3].join(meta).exists(), "{key}");
    }
}

/// Shutdown joins every background worker (heal queue, heal walk, drive
/// monitor) within 5 s, even with a walk over a whole drive under way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sees_every_worker_finish_within_five_seconds() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    for index in 0..60 {
        store
            .put_object(
                "bkt",
                &format!("o/{index}"),
                body(&pattern(150_000, index as u8)),
                PutOptions::default(),
            )
            .await
            .unwrap();
    }
    drop(store);
    fixture.replace_drive(3);
    let store = fixture.open().await;
    store.inner.heal_queue.push("bkt", "o/1");
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    while !store.heal_status().running && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    store.shutdown().await;
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(5),
        "shutdown took {took:?}"
    );
    let mut workers = store.workers();
    workers.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = workers.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(
        names,
        ["drive-monitor", "heal-queue", "heal-walk", "list-index"]
    );
    assert!(
        workers
            .iter()
            .all(|w| w.state == crate::api::WorkerState::Stopped),
        "{workers:?}"
    );
}

/// The heal pacing knob (`StoreConfig::heal_tranquility`, the server's
/// `MINNOW_HEAL_TRANQUILITY`) reaches both heal workers, so the pacing the
/// heal-pacing bench measured is the one that runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_heal_workers_rest_as_configured() {
    let fixture = TestDrives::new(4);
    let mut config = fixture.config();
    config.heal_tranquility = 3;
    let store = fixture.open_with(config).await;
    let workers = store.workers();
    for name in ["heal-queue", "heal-walk"] {
        let worker = workers.iter().find(|w| w.name == name).expect(name);
        assert!(
            worker.pacing.contains("at most 3x as long as it took"),
            "{name}: {}",
            worker.pacing
        );
    }
    store.shutdown().await;
}

/// The explicit heal (what `minnow heal` runs) visits every key folder on
/// any drive, not only what a listing shows: a key whose `obj.meta` is left
/// on one drive (below read quorum, so no listing has it) is visited and its
/// leftovers removed everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_explicit_heal_visits_keys_no_listing_shows() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    for key in ["listed", "orphan"] {
        store
            .put_object(
                "bkt",
                key,
                body(&pattern(100_000, 4)),
                PutOptions::default(),
            )
            .await
            .unwrap();
    }
    drop(store);
    let orphan = EncodedKey::new("orphan").unwrap();
    let meta = layout::object_meta_path("bkt", &orphan);
    for drive in 1..4 {
        std::fs::remove_file(fixture.drives[drive].join(&meta)).unwrap();
    }
    let store = fixture.open().await;
    // Below read quorum: no version to serve, so a listing (which probes
    // each key's metadata the same way) leaves it out.
    let head = store.head_object("bkt", "orphan").await.map(drop);
    assert!(
        matches!(head, Err(StoreError::NoSuchKey { .. })),
        "{head:?}"
    );

    let report = store.heal(Some("bkt"), "").await.unwrap();
    assert_eq!(report.objects_scanned, 2, "{report:?}");
    assert_eq!(report.objects_failed, 0, "{report:?}");
    let dir = layout::object_dir("bkt", &orphan);
    for drive in 0..4 {
        let path = fixture.drives[drive].join(&dir);
        assert!(!path.exists(), "{} left after the heal", path.display());
    }
    assert_eq!(
        read_all(&store, "bkt", "listed", None).await.unwrap(),
        pattern(100_000, 4)
    );
}

/// The background heal paces itself by the store's foreground requests:
/// an object call through the store's API counts as one, the store's own
/// heal does not (else the heal would back off from itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_calls_count_as_foreground_and_heals_do_not() {
    let fixture = TestDrives::new(4);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    store.heal(None, "").await.unwrap();
    assert_eq!(store.inner.foreground.quiet_for(), std::time::Duration::MAX);
    store
        .put_object("bkt", "k", body(&pattern(1000, 1)), PutOptions::default())
        .await
        .unwrap();
    let quiet = store.inner.foreground.quiet_for();
    assert!(quiet < std::time::Duration::from_secs(30), "{quiet:?}");
    store.shutdown().await;
}

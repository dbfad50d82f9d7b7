//! Healing: the explicit heal, the background walk of fresh drives, the
//! heal queue, leftovers, and missed-write markers.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heal_rebuilds_a_wiped_drive_and_reports_nothing_the_second_time() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let objects: Vec<(String, Vec<u8>)> = [0usize, 10, 20_000, 200_000]
        .iter()
        .map(|&n| (format!("dir/obj-{n}"), pattern(n, n as u8)))
        .collect();
    for (key, data) in &objects {
        store
            .put_object("bkt", key, body(data), PutOptions::default())
            .await
            .unwrap();
    }
    drop(store);
    // Everything but the drive's format file goes: the drive is not fresh
    // and has no marker, so only the explicit heal below rebuilds it.
    for entry in std::fs::read_dir(&fixture.drives[2]).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() == ".minnow.sys" {
            for inner in std::fs::read_dir(&path).unwrap() {
                let inner = inner.unwrap().path();
                if inner.file_name().unwrap() != "format.json" {
                    std::fs::remove_dir_all(&inner).unwrap();
                }
            }
        } else {
            std::fs::remove_dir_all(&path).unwrap();
        }
    }
    let store = fixture.open().await;
    let report = store.heal(None, "").await.unwrap();
    assert_eq!(report.objects_scanned, 4, "{report:?}");
    assert_eq!(report.objects_healed, 4, "{report:?}");
    assert_eq!(store.heal(None, "").await.unwrap().objects_healed, 0);
    assert_objects_survive_wiping(&fixture, store, &[0, 1], &objects).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heal_removes_data_dirs_no_version_refers_to() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let data = pattern(100_000, 9);
    store
        .put_object("bkt", "kept", body(&data), PutOptions::default())
        .await
        .unwrap();
    for drive in &fixture.drives {
        // A crash after the data rename but before the metadata commit.
        for folder in ["bkt/_kept", "bkt/_orphan"] {
            let dir = drive
                .join(folder)
                .join("d.0123456789abcdef0123456789abcdef");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("part.1"), b"torn").unwrap();
        }
    }
    let report = store.heal(Some("bkt"), "").await.unwrap();
    assert_eq!(report.objects_failed, 0, "{report:?}");
    let files = fixture.files();
    assert_eq!(under(&files, "d.0123456789abcdef"), 0, "{files:?}");
    assert_eq!(under(&files, "_orphan"), 0, "{files:?}");
    assert_eq!(read_all(&store, "bkt", "kept", None).await.unwrap(), data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_drive_is_rebuilt_in_the_background() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let data = pattern(150_000, 6);
    let small = pattern(50, 7);
    store
        .put_object("bkt", "a/big", body(&data), PutOptions::default())
        .await
        .unwrap();
    store
        .put_object("bkt", "small", body(&small), PutOptions::default())
        .await
        .unwrap();
    drop(store);
    fixture.replace_drive(3);
    let store = fixture.open().await;
    crate::heal::request_walk(&store.inner, std::time::Duration::ZERO);
    let rebuilt = |fixture: &TestDrives| {
        let files = fixture.files();
        under(&files, "drive4/bkt/_a/_big/d.") == 1
            && under(&files, "drive4/bkt/_small/obj.meta") == 1
            && under(&files, "drive4/.minnow.sys/buckets/bkt/bucket.meta") == 1
    };
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while !rebuilt(&fixture) && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(rebuilt(&fixture), "{:?}", fixture.files());
    drop(store);
    for drive in [0, 1] {
        fixture.replace_drive(drive);
    }
    let store = fixture.open().await;
    assert_eq!(read_all(&store, "bkt", "a/big", None).await.unwrap(), data);
    assert_eq!(read_all(&store, "bkt", "small", None).await.unwrap(), small);
}

/// A GET of a healthy object reads only the data shards; the
/// parity frames it never asked for are not damage and queue no heal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_reads_queue_no_heal() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    // Reads from the drives are the subject: a cached object would be
    // served without looking at the shard file removed below.
    let mut config = fixture.config();
    config.cache_bytes = 0;
    let store = fixture.open_with(config).await;
    store.create_bucket("bkt").await.unwrap();
    for (key, size) in [("inline", 1000), ("files", 300_000)] {
        let data = pattern(size, 7);
        store
            .put_object("bkt", key, body(&data), PutOptions::default())
            .await
            .unwrap();
        assert_eq!(read_all(&store, "bkt", key, None).await.unwrap(), data);
        let range = ByteRange::FromTo {
            first: 10,
            last: Some(500),
        };
        read_all(&store, "bkt", key, Some(range)).await.unwrap();
    }
    assert_eq!(
        store.inner.heal_queue.len(),
        0,
        "a healthy GET queued a heal"
    );
    // A missing shard file still does.
    let data_file = fixture
        .files()
        .into_iter()
        .find(|f| f.to_string_lossy().ends_with("part.1"))
        .unwrap();
    std::fs::remove_file(fixture.root.path().join(data_file)).unwrap();
    read_all(&store, "bkt", "files", None).await.unwrap();
    assert_eq!(store.inner.heal_queue.len(), 1);
}

/// A full heal also restores system blobs (IAM lives there) and
/// in-progress multipart uploads (records and part shards) on a drive that
/// lost them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heal_restores_system_blobs_and_open_uploads() {
    use crate::api::MultipartStore;
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    store
        .put_system_blob("iam-users.json", Some(Bytes::from_static(b"{\"users\":1}")))
        .await
        .unwrap();
    let upload = store
        .create_multipart("bkt", "big", Default::default(), None)
        .await
        .unwrap();
    let part = pattern(300_000, 9);
    store
        .put_part(
            "bkt",
            "big",
            &upload.upload_id,
            1,
            body(&part),
            PutOptions::default(),
        )
        .await
        .unwrap();
    let sys = fixture.drives[3].join(".minnow.sys");
    let upload_dir = sys.join("multipart/bkt").join(&upload.upload_id);
    let before: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&upload_dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    assert_eq!(before.len(), 3, "upload.meta, part.1.meta, part.1.<id>");
    std::fs::remove_dir_all(&upload_dir).unwrap();
    std::fs::remove_file(sys.join("config/iam-users.json")).unwrap();

    store.heal(None, "").await.unwrap();

    assert!(
        sys.join("config/iam-users.json").exists(),
        "system blob not healed"
    );
    for (path, bytes) in &before {
        assert_eq!(
            &std::fs::read(path).unwrap_or_default(),
            bytes,
            "{} not rebuilt identically",
            path.display()
        );
    }
}

/// An open upload's part with too few intact shards cannot be rebuilt
/// onto a drive that lost it. Rule guarded: the failed rebuild leaves no
/// staging files in `.minnow.sys/tmp` (the chaos campaign's "temporary
/// files left" after bit flips and a wiped drive).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_too_damaged_to_rebuild_leaves_no_staging_files() {
    use crate::api::MultipartStore;
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
            1,
            body(&pattern(300_000, 4)),
            PutOptions::default(),
        )
        .await
        .unwrap();
    drop(store);
    let upload_dir = |drive: usize| {
        fixture.drives[drive]
            .join(".minnow.sys/multipart/bkt")
            .join(&upload.upload_id)
    };
    // Drive 4 lost the part (data and record); drives 1 and 2 hold a
    // damaged shard file: one intact shard is left, two are needed.
    for entry in std::fs::read_dir(upload_dir(3)).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("part.")
        {
            std::fs::remove_file(path).unwrap();
        }
    }
    for drive in [0, 1] {
        for entry in std::fs::read_dir(upload_dir(drive)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("part.") && !name.ends_with(".meta") {
                let mut bytes = std::fs::read(&path).unwrap();
                bytes[100] ^= 0x40;
                std::fs::write(&path, bytes).unwrap();
            }
        }
    }
    let store = fixture.open().await;
    store.heal(None, "").await.unwrap();
    let left: Vec<PathBuf> = (0..4)
        .flat_map(|d| std::fs::read_dir(fixture.drives[d].join(".minnow.sys/tmp")).into_iter())
        .flatten()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(left.is_empty(), "staging files left: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_heal_skips_buckets_deleted_while_it_runs() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = std::sync::Arc::new(fixture.open().await);
    store.create_bucket("kept").await.unwrap();
    store
        .put_object("kept", "k", body(&pattern(50, 3)), PutOptions::default())
        .await
        .unwrap();
    let churn = {
        let store = store.clone();
        tokio::spawn(async move {
            for round in 0..200 {
                let bucket = format!("churn-{round}");
                store.create_bucket(&bucket).await.unwrap();
                for key in 0..3 {
                    store
                        .put_object(
                            &bucket,
                            &format!("k{key}"),
                            body(&pattern(10, 1)),
                            PutOptions::default(),
                        )
                        .await
                        .unwrap();
                }
                for key in 0..3 {
                    store
                        .delete_object(&bucket, &format!("k{key}"))
                        .await
                        .unwrap();
                }
                store.delete_bucket(&bucket).await.unwrap();
            }
        })
    };
    let mut passes = 0;
    while !churn.is_finished() {
        store
            .heal(None, "")
            .await
            .expect("a full heal must not fail on a bucket deleted under it");
        passes += 1;
    }
    churn.await.unwrap();
    assert!(passes > 0);
    assert_eq!(
        store
            .heal(Some("churn-0"), "")
            .await
            .unwrap_err()
            .to_string(),
        StoreError::NoSuchBucket("churn-0".into()).to_string(),
        "a heal of one named bucket that is gone still says so"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heal_removes_unreadable_leftovers_of_two_crashed_first_writes() {
    // Two first writes of one key that each crashed after one `obj.meta`
    // rename, on different drives: one drive holds version 1, another
    // version 2, the other two hold only data folders. Neither version has
    // the data-shard count a read needs, so the key does not exist and
    // everything under it is garbage although only two drives say "absent".
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let object = |drive: usize| fixture.drives[drive].join("bkt/_k");
    store
        .put_object("bkt", "k", body(&pattern(40_000, 1)), PutOptions::default())
        .await
        .unwrap();
    let first_meta = std::fs::read(object(0).join("obj.meta")).unwrap();
    store
        .put_object("bkt", "k", body(&pattern(40_000, 2)), PutOptions::default())
        .await
        .unwrap();
    std::fs::write(object(0).join("obj.meta"), first_meta).unwrap();
    for drive in [2, 3] {
        std::fs::remove_file(object(drive).join("obj.meta")).unwrap();
    }
    drop(store);
    let store = fixture.open().await;
    assert!(matches!(
        read_all(&store, "bkt", "k", None).await,
        Err(StoreError::NoSuchKey { .. })
    ));
    let report = store.heal(Some("bkt"), "").await.unwrap();
    assert_eq!(report.objects_healed, 1, "{report:?}");
    let files = fixture.files();
    assert_eq!(under(&files, "_k"), 0, "{files:?}");
    assert_eq!(store.heal(Some("bkt"), "").await.unwrap().objects_healed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_a_drive_missed_are_healed_after_a_restart_that_lost_the_heal_queue() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    store
        .put_object(
            "bkt",
            "before",
            body(&pattern(10, 1)),
            PutOptions::default(),
        )
        .await
        .unwrap();
    assert!(
        under(&fixture.files(), "missed-") == 0,
        "a healthy store records nothing"
    );
    // Drive 3 disappears at runtime (unmounted, say): writes land on three.
    let away = fixture.root.path().join("drive3.away");
    std::fs::rename(&fixture.drives[3], &away).unwrap();
    let objects: Vec<(String, Vec<u8>)> = [100usize, 50_000, 300_000]
        .iter()
        .map(|&n| (format!("during/{n}"), pattern(n, n as u8)))
        .collect();
    for (key, data) in &objects {
        store
            .put_object("bkt", key, body(data), PutOptions::default())
            .await
            .unwrap();
    }
    // One marker per answering drive, written once however many writes missed.
    assert_eq!(under(&fixture.files(), "missed-3.json"), 3);
    // kill -9: the in-memory heal queue is gone; the drive comes back.
    drop(store);
    std::fs::rename(&away, &fixture.drives[3]).unwrap();
    let store = fixture.open().await;
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let files = fixture.files();
        let healed = objects.iter().all(|(key, _)| {
            let dir = fixture.drives[3]
                .join("bkt/_during")
                .join(format!("_{}", &key[7..]));
            dir.join("obj.meta").exists()
        });
        if healed && under(&files, "missed-") == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "drive 3 was not healed from the markers: {files:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Whole again: the objects survive losing two other drives.
    assert_objects_survive_wiping(&fixture, store, &[0, 1], &objects).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heals_racing_delete_bucket_never_bring_the_bucket_back() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = std::sync::Arc::new(fixture.open().await);
    for round in 0..60 {
        let bucket = format!("gone-{round}");
        store.create_bucket(&bucket).await.unwrap();
        let heals: Vec<_> = (0..3)
            .map(|_| {
                let (store, bucket) = (store.clone(), bucket.clone());
                tokio::spawn(async move {
                    for _ in 0..5 {
                        let _ = store.inner.heal_bucket(&bucket).await;
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        store.delete_bucket(&bucket).await.unwrap();
        for heal in heals {
            heal.await.unwrap();
        }
    }
    drop(store);
    let store = fixture.open().await;
    let left: Vec<String> = store
        .list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert!(left.is_empty(), "deleted buckets came back: {left:?}");
    for drive in &fixture.drives {
        let names: Vec<_> = std::fs::read_dir(drive)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with("gone-"))
            .collect();
        assert!(
            names.is_empty(),
            "bucket folders left on {}: {names:?}",
            drive.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_write_after_a_heal_pass_began_keeps_the_marker() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    // This test plays the heal pass itself: the background walk (which a
    // drive coming back starts) must not clear markers behind its back.
    store.shutdown().await;
    let missed_on_3 = || {
        let results: Vec<std::io::Result<()>> = (0..4)
            .map(|p| {
                if p == 3 {
                    Err(std::io::Error::other("missed"))
                } else {
                    Ok(())
                }
            })
            .collect();
        results
    };
    store
        .inner
        .drives
        .finish_write(missed_on_3(), 3, Effect::Visible, |_| async {})
        .await
        .unwrap();
    assert_eq!(under(&fixture.files(), "missed-3.json"), 4);
    // A pass begins, then drive 3 misses another write: the pass cannot
    // have covered it, so its end must keep the marker.
    let snapshot = store.inner.drives.missed_writes_snapshot();
    assert_eq!(snapshot.len(), 1);
    store
        .inner
        .drives
        .finish_write(missed_on_3(), 3, Effect::Visible, |_| async {})
        .await
        .unwrap();
    store.inner.drives.clear_missed_writes(&snapshot).await;
    assert_eq!(under(&fixture.files(), "missed-3.json"), 4);
    // The same for drive 3 going offline and coming back during a pass.
    let snapshot = store.inner.drives.missed_writes_snapshot();
    store.inner.drives.take_offline(&[3]);
    assert!(store.drive_status().await[3].online);
    store.inner.drives.clear_missed_writes(&snapshot).await;
    assert_eq!(under(&fixture.files(), "missed-3.json"), 4);
    // A pass nothing happened during removes it, and the next miss writes
    // a new one.
    let snapshot = store.inner.drives.missed_writes_snapshot();
    store.inner.drives.clear_missed_writes(&snapshot).await;
    assert_eq!(under(&fixture.files(), "missed-3.json"), 0);
    store
        .inner
        .drives
        .finish_write(missed_on_3(), 3, Effect::Visible, |_| async {})
        .await
        .unwrap();
    assert_eq!(under(&fixture.files(), "missed-3.json"), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marker_outlives_passes_while_its_drive_is_away_and_goes_once_it_is_healed() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let away = fixture.root.path().join("drive3.away");
    std::fs::rename(&fixture.drives[3], &away).unwrap();
    let data = pattern(70_000, 5);
    store
        .put_object("bkt", "k", body(&data), PutOptions::default())
        .await
        .unwrap();
    // A full heal while the drive is offline cannot heal it: the marker stays.
    store.inner.drives.take_offline(&[3]);
    let report = store.heal(None, "").await.unwrap();
    assert_eq!(report.objects_failed, 0, "{report:?}");
    assert_eq!(under(&fixture.files(), "missed-3.json"), 3);
    std::fs::rename(&away, &fixture.drives[3]).unwrap();
    let meta = fixture.drives[3].join("bkt/_k/obj.meta");
    let started = Instant::now();
    while !(meta.exists() && under(&fixture.files(), "missed-") == 0) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "drive 3 was not healed or its marker stayed: {:?}",
            fixture.files()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    drop(store);
    assert_objects_survive_wiping(
        &fixture,
        fixture.open().await,
        &[0, 1],
        &[("k".into(), data)],
    )
    .await;
}

//! Objects on disk: inline vs shard files, overwrites and deletes leave
//! nothing behind, long keys, attribute updates, multipart folders, bucket
//! records surviving restarts, and how reads open and stream shard files.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_objects_live_inline_and_large_ones_in_shard_files() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let small = pattern(1000, 1);
    let large = pattern(200_000, 2);
    store
        .put_object("bkt", "small", body(&small), PutOptions::default())
        .await
        .unwrap();
    store
        .put_object("bkt", "large", body(&large), PutOptions::default())
        .await
        .unwrap();
    let files = fixture.files();
    assert_eq!(under(&files, "_small/obj.meta"), 4);
    assert_eq!(under(&files, "_small/d."), 0, "{files:?}");
    assert_eq!(under(&files, "_large/d."), 4, "one shard file per drive");
    assert_eq!(
        under(&files, ".minnow.sys/tmp/"),
        0,
        "no temp files left: {files:?}"
    );
    assert_eq!(read_all(&store, "bkt", "small", None).await.unwrap(), small);
    assert_eq!(read_all(&store, "bkt", "large", None).await.unwrap(), large);
    let range = ByteRange::FromTo {
        first: 65_530,
        last: Some(131_080),
    };
    assert_eq!(
        read_all(&store, "bkt", "large", Some(range)).await.unwrap(),
        large[65_530..=131_080]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_and_delete_leave_no_old_data_behind() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    for seed in 0..3 {
        let data = pattern(100_000 + seed as usize, seed);
        store
            .put_object("bkt", "a/b", body(&data), PutOptions::default())
            .await
            .unwrap();
        assert_eq!(read_all(&store, "bkt", "a/b", None).await.unwrap(), data);
        assert_eq!(
            under(&fixture.files(), "/d."),
            4,
            "only the newest data dir remains"
        );
    }
    store.delete_object("bkt", "a/b").await.unwrap();
    let files = fixture.files();
    assert_eq!(under(&files, "/_a"), 0, "object folders pruned: {files:?}");
    assert!(matches!(
        store.head_object("bkt", "a/b").await,
        Err(StoreError::NoSuchKey { .. })
    ));
    store.delete_object("bkt", "a/b").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_bodies_and_bad_digests_commit_nothing() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let before = fixture.files();
    let data = pattern(300_000, 3);
    let short = PutOptions {
        size: Some(data.len() as u64 + 1),
        ..Default::default()
    };
    assert!(matches!(
        store.put_object("bkt", "k", body(&data), short).await,
        Err(StoreError::IncompleteBody)
    ));
    let long = PutOptions {
        size: Some(10),
        ..Default::default()
    };
    assert!(matches!(
        store.put_object("bkt", "k", body(&data), long).await,
        Err(StoreError::InvalidArgument(_))
    ));
    let bad_md5 = PutOptions {
        content_md5: Some([0; 16]),
        ..Default::default()
    };
    assert!(matches!(
        store.put_object("bkt", "k", body(&data), bad_md5).await,
        Err(StoreError::BadDigest)
    ));
    let failing: ByteStream = Box::pin(futures::stream::iter(vec![
        Ok(Bytes::from(data.clone())),
        Err(StoreError::Body("client went away".into())),
    ]));
    assert!(store
        .put_object("bkt", "k", failing, PutOptions::default())
        .await
        .is_err());
    assert_eq!(fixture.files(), before, "nothing left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_below_quorum_fail_clearly_and_reads_survive_parity_losses() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    // Drives below "mount" folders, so a whole mount can vanish.
    let drives: Vec<PathBuf> = fixture.drives.iter().map(|d| d.join("data")).collect();
    let mut config = fixture.config();
    config.drives = drives.clone();
    let store = Store::open(config.clone()).await.unwrap();
    store.create_bucket("bkt").await.unwrap();
    let data = pattern(150_000, 4);
    let small = pattern(100, 5);
    store
        .put_object("bkt", "k", body(&data), PutOptions::default())
        .await
        .unwrap();
    store
        .put_object("bkt", "s", body(&small), PutOptions::default())
        .await
        .unwrap();
    drop(store);
    for mount in &fixture.drives[2..] {
        std::fs::remove_dir_all(mount).unwrap();
    }
    let store = Store::open(config).await.unwrap();
    let online = store
        .drive_status()
        .await
        .iter()
        .filter(|s| s.online)
        .count();
    assert_eq!(online, 2);
    assert_eq!(read_all(&store, "bkt", "k", None).await.unwrap(), data);
    assert_eq!(read_all(&store, "bkt", "s", None).await.unwrap(), small);
    let before = fixture.files();
    let result = store
        .put_object("bkt", "new", body(&data), PutOptions::default())
        .await;
    assert!(
        matches!(
            result,
            Err(StoreError::WriteQuorum {
                online: 2,
                needed: 3
            })
        ),
        "{result:?}"
    );
    assert!(matches!(
        store.delete_object("bkt", "k").await,
        Err(StoreError::WriteQuorum { .. })
    ));
    assert_eq!(fixture.files(), before, "nothing left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_key_segments_store_list_and_delete() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let long = format!("{}/tail", "x".repeat(600));
    let longer = "x".repeat(1024);
    for key in [&long, &longer] {
        store
            .put_object("bkt", key, body(key.as_bytes()), PutOptions::default())
            .await
            .unwrap();
        assert_eq!(
            read_all(&store, "bkt", key, None).await.unwrap(),
            key.as_bytes()
        );
    }
    let page = store
        .list_objects(
            "bkt",
            ListParams {
                max_keys: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let keys: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, vec![long.as_str(), longer.as_str()]);
    store.delete_object("bkt", &long).await.unwrap();
    let page = store
        .list_objects(
            "bkt",
            ListParams {
                max_keys: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.objects.len(), 1);
}

/// `cargo test -p store --release -- --ignored small_put_rate --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn small_put_rate() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = std::sync::Arc::new(fixture.open().await);
    store.create_bucket("bkt").await.unwrap();
    let started = Instant::now();
    let count = 1000;
    futures::stream::iter(0..count)
        .map(|i| {
            let store = store.clone();
            async move {
                store
                    .put_object(
                        "bkt",
                        &format!("k/{i}"),
                        body(&[7u8; 4096]),
                        PutOptions::default(),
                    )
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    let elapsed = started.elapsed();
    println!(
        "{count} 4 KiB PUTs in {elapsed:?}: {:.0}/s",
        count as f64 / elapsed.as_secs_f64()
    );
    let _ = Path::new("");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_complete_and_abort_leave_no_upload_files() {
    use crate::api::{CompletePart, MultipartStore};
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let first = pattern(5 << 20, 1);
    let second = pattern(70_000, 2);
    let upload = store
        .create_multipart(
            "bkt",
            "mp",
            Default::default(),
            Some(crate::api::ChecksumAlgorithm::Crc32),
        )
        .await
        .unwrap();
    let mut parts = Vec::new();
    for (number, data) in [(1u32, &first), (2, &second)] {
        // Part 2 is uploaded twice: the second upload replaces the first.
        let info = store
            .put_part(
                "bkt",
                "mp",
                &upload.upload_id,
                number,
                body(data),
                PutOptions::default(),
            )
            .await
            .unwrap();
        parts.push(CompletePart {
            number,
            etag: format!("\"{}\"", info.etag),
        });
    }
    store
        .put_part(
            "bkt",
            "mp",
            &upload.upload_id,
            2,
            body(&second),
            PutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(under(&fixture.files(), ".minnow.sys/multipart/bkt/"), 4 * 5);
    let info = store
        .complete_multipart("bkt", "mp", &upload.upload_id, parts)
        .await
        .unwrap();
    assert!(info.etag.ends_with("-2"), "{}", info.etag);
    assert_eq!(info.parts_count, 2);
    assert!(info.checksum.unwrap().value_b64.ends_with("-2"));
    assert_eq!(under(&fixture.files(), ".minnow.sys/multipart/"), 0);
    let whole = read_all(&store, "bkt", "mp", None).await.unwrap();
    assert_eq!(whole, [first.clone(), second.clone()].concat());
    let across = ByteRange::FromTo {
        first: (5 << 20) - 10,
        last: Some((5 << 20) + 10),
    };
    assert_eq!(
        read_all(&store, "bkt", "mp", Some(across)).await.unwrap(),
        whole[(5 << 20) - 10..=(5 << 20) + 10]
    );

    let upload = store
        .create_multipart("bkt", "gone", Default::default(), None)
        .await
        .unwrap();
    store
        .put_part(
            "bkt",
            "gone",
            &upload.upload_id,
            1,
            body(&second),
            PutOptions::default(),
        )
        .await
        .unwrap();
    store
        .abort_multipart("bkt", "gone", &upload.upload_id)
        .await
        .unwrap();
    assert_eq!(under(&fixture.files(), ".minnow.sys/multipart/"), 0);
    assert!(matches!(
        store
            .abort_multipart("bkt", "gone", &upload.upload_id)
            .await,
        Err(StoreError::NoSuchUpload(_))
    ));
    assert!(matches!(
        store.abort_multipart("bkt", "gone", "../../etc").await,
        Err(StoreError::NoSuchUpload(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_settings_blobs_and_attributes_survive_a_restart() {
    use crate::api::{BucketSetting, ObjectAttributes};
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    assert!(matches!(
        store.create_bucket("bkt").await,
        Err(StoreError::BucketAlreadyExists(_))
    ));
    assert!(matches!(
        store.create_bucket("Bad_Name").await,
        Err(StoreError::InvalidBucketName(_))
    ));
    store
        .put_bucket_setting(
            "bkt",
            BucketSetting::Cors,
            Some(Bytes::from_static(b"<cors/>")),
        )
        .await
        .unwrap();
    store
        .put_system_blob("iam.json", Some(Bytes::from_static(b"{}")))
        .await
        .unwrap();
    store
        .put_object("bkt", "k", body(b"hello"), PutOptions::default())
        .await
        .unwrap();
    let attributes = ObjectAttributes {
        content_type: Some("text/plain".into()),
        ..Default::default()
    };
    store
        .update_attributes("bkt", "k", attributes.clone())
        .await
        .unwrap();
    drop(store);
    let store = fixture.open().await;
    assert_eq!(store.list_buckets().await.unwrap().len(), 1);
    assert_eq!(
        store
            .get_bucket_setting("bkt", BucketSetting::Cors)
            .await
            .unwrap()
            .as_deref(),
        Some(&b"<cors/>"[..])
    );
    assert_eq!(
        store
            .get_bucket_setting("bkt", BucketSetting::Policy)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.get_system_blob("iam.json").await.unwrap().as_deref(),
        Some(&b"{}"[..])
    );
    assert_eq!(store.get_system_blob("missing").await.unwrap(), None);
    let info = store.head_object("bkt", "k").await.unwrap();
    assert_eq!(info.attributes, attributes);
    assert_eq!(info.etag, "5d41402abc4b2a76b9719d911017c592");
    assert!(matches!(
        store.delete_bucket("bkt").await,
        Err(StoreError::BucketNotEmpty(_))
    ));
    store.delete_object("bkt", "k").await.unwrap();
    store.delete_bucket("bkt").await.unwrap();
    assert!(matches!(
        store.head_bucket("bkt").await,
        Err(StoreError::NoSuchBucket(_))
    ));
    drop(store);
    let store = fixture.open().await;
    assert!(store.list_buckets().await.unwrap().is_empty());
}

/// `cargo test -p store --lib -- --ignored large_object_rate --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn large_object_rate() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let mut config = fixture.config();
    config.block_size = 1 << 20;
    config.inline_limit = 128 << 10;
    let store = std::sync::Arc::new(Store::open(config).await.unwrap());
    store.create_bucket("bkt").await.unwrap();
    let data = Bytes::from(pattern(64 << 20, 3));
    let started = Instant::now();
    futures::stream::iter(0..8)
        .map(|i| {
            let store = store.clone();
            let data = data.clone();
            async move {
                let chunks: Vec<Result<Bytes, StoreError>> = (0..data.len())
                    .step_by(64 << 10)
                    .map(|at| Ok(data.slice(at..(at + (64 << 10)).min(data.len()))))
                    .collect();
                store
                    .put_object(
                        "bkt",
                        &format!("big/{i}"),
                        Box::pin(futures::stream::iter(chunks)),
                        PutOptions::default(),
                    )
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;
    let put = started.elapsed();
    let started = Instant::now();
    for i in 0..8 {
        let mut reader = store
            .get_object("bkt", &format!("big/{i}"), None)
            .await
            .unwrap();
        let mut total = 0;
        while let Some(chunk) = reader.body.next().await {
            total += chunk.unwrap().len();
        }
        assert_eq!(total, data.len());
    }
    let get = started.elapsed();
    println!(
        "512 MiB: PUT {:.0} MiB/s (c=4), GET {:.0} MiB/s (c=1)",
        512.0 / put.as_secs_f64(),
        512.0 / get.as_secs_f64()
    );
}

/// DeleteBucket racing PUTs: every acknowledged object is either still
/// readable (the delete was refused as not empty) or was refused itself; a
/// deleted bucket leaves no folder a write re-created.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_bucket_racing_puts_never_loses_or_resurrects_an_object() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = std::sync::Arc::new(fixture.open().await);
    let started = Instant::now();
    let mut deleted_rounds = 0;
    for round in 0..40u64 {
        if started.elapsed() > std::time::Duration::from_secs(30) {
            break;
        }
        let bucket = format!("race-{round}");
        store.create_bucket(&bucket).await.unwrap();
        let mut puts = Vec::new();
        for writer in 0..6 {
            let (store, bucket) = (store.clone(), bucket.clone());
            let size = if writer % 2 == 0 { 100 } else { 40_000 };
            let delay = std::time::Duration::from_micros((round % 8) * 150);
            puts.push(tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let key = format!("k{writer}");
                let result = store
                    .put_object(
                        &bucket,
                        &key,
                        body(&pattern(size, 1)),
                        PutOptions::default(),
                    )
                    .await;
                (key, result)
            }));
        }
        let delete = {
            let (store, bucket) = (store.clone(), bucket.clone());
            tokio::spawn(async move { store.delete_bucket(&bucket).await })
        };
        let delete = delete.await.unwrap();
        let mut acknowledged = Vec::new();
        for put in puts {
            let (key, result) = put.await.unwrap();
            match result {
                Ok(_) => acknowledged.push(key),
                Err(StoreError::NoSuchBucket(_)) => {}
                Err(err) => panic!("unexpected PUT error: {err}"),
            }
        }
        match delete {
            Ok(()) => {
                deleted_rounds += 1;
                assert!(
                    acknowledged.is_empty(),
                    "round {round}: bucket deleted but {acknowledged:?} were acknowledged"
                );
                for drive in &fixture.drives {
                    assert!(
                        !drive.join(&bucket).exists(),
                        "round {round}: a write re-created the removed bucket folder"
                    );
                }
            }
            Err(StoreError::BucketNotEmpty(_)) => {
                for key in &acknowledged {
                    read_all(&store, &bucket, key, None).await.unwrap();
                }
            }
            Err(err) => panic!("unexpected DeleteBucket error: {err}"),
        }
    }
    assert!(deleted_rounds > 0, "no round exercised a successful delete");
}

/// An attribute update that lands on fewer than write-quorum
/// drives is rolled back there, like a failed commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attribute_update_below_quorum_is_rolled_back() {
    use crate::faulty::{backend, Fault, Faults, Op};
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let faults: Vec<std::sync::Arc<Faults>> = (0..4).map(|_| Default::default()).collect();
    let mut config = fixture.config();
    config.backend = backend(faults.clone());
    let store = fixture.open_with(config).await;
    store.create_bucket("bkt").await.unwrap();
    let data = pattern(1000, 5);
    store
        .put_object("bkt", "obj", body(&data), PutOptions::default())
        .await
        .unwrap();
    let meta_of = |drive: &Path| std::fs::read(drive.join("bkt/_obj/obj.meta")).unwrap();
    let before: Vec<Vec<u8>> = fixture.drives.iter().map(|d| meta_of(d)).collect();
    // Two drives can read but no longer write. (A tmp area replaced by a
    // file no longer does it: obj.meta's temp file is in the object folder.)
    for faults in &faults[2..] {
        faults.inject(Op::Write, Fault::Eio);
    }
    let attributes = crate::api::ObjectAttributes {
        content_type: Some("text/changed".into()),
        ..Default::default()
    };
    assert!(matches!(
        store.update_attributes("bkt", "obj", attributes).await,
        Err(StoreError::WriteQuorum { .. })
    ));
    let after: Vec<Vec<u8>> = fixture.drives.iter().map(|d| meta_of(d)).collect();
    assert_eq!(before, after, "the partial update was not rolled back");
    let info = store.head_object("bkt", "obj").await.unwrap();
    assert_ne!(
        info.attributes.content_type.as_deref(),
        Some("text/changed")
    );
}

/// An overwrite removes every data dir but its own, including
/// ones a crash left behind that no version refers to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_removes_data_dirs_left_by_crashes() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let data = pattern(100_000, 2);
    store
        .put_object("bkt", "obj", body(&data), PutOptions::default())
        .await
        .unwrap();
    let stray = fixture.drives[0].join("bkt/_obj/d.0123456789abcdef0123456789abcdef");
    std::fs::create_dir(&stray).unwrap();
    std::fs::write(stray.join("part.1"), b"left by a crash").unwrap();
    store
        .put_object("bkt", "obj", body(&data), PutOptions::default())
        .await
        .unwrap();
    assert!(!stray.exists(), "a stale data dir survived the overwrite");
    for drive in &fixture.drives {
        let dirs = std::fs::read_dir(drive.join("bkt/_obj"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("d.")
            })
            .count();
        assert_eq!(dirs, 1);
    }
}

/// A read of a multipart object closes each part's shard files
/// once it is past that part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_close_each_parts_files_once_read() {
    use crate::api::{CompletePart, MultipartStore};
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let upload = store
        .create_multipart("bkt", "parts", Default::default(), None)
        .await
        .unwrap();
    let part_size = 5 << 20;
    let mut completed = Vec::new();
    for number in 1..=3u32 {
        let info = store
            .put_part(
                "bkt",
                "parts",
                &upload.upload_id,
                number,
                body(&pattern(part_size, number as u8)),
                PutOptions::default(),
            )
            .await
            .unwrap();
        completed.push(CompletePart {
            number,
            etag: info.etag,
        });
    }
    store
        .complete_multipart("bkt", "parts", &upload.upload_id, completed)
        .await
        .unwrap();
    let open_part_files = || {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|target| {
                target.starts_with(fixture.root.path()) && target.to_string_lossy().contains("/d.")
            })
            .count()
    };
    let mut reader = store.get_object("bkt", "parts", None).await.unwrap();
    let mut read = 0usize;
    while read < 2 * part_size + 100_000 {
        read += reader.body.next().await.unwrap().unwrap().len();
    }
    let open = open_part_files();
    assert!(open <= 4, "{open} shard files still open in the last part");
    drop(reader);
}

/// Profile cost 3: GET hands out the data shards as they are (no copy into
/// one buffer), so a block comes out as one chunk per data shard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_stream_data_shards_without_concatenating_them() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let data = pattern(64 << 10, 6);
    store
        .put_object("bkt", "one-block", body(&data), PutOptions::default())
        .await
        .unwrap();
    let mut reader = store.get_object("bkt", "one-block", None).await.unwrap();
    let mut chunks = 0;
    let mut out = Vec::new();
    while let Some(chunk) = reader.body.next().await {
        out.extend_from_slice(&chunk.unwrap());
        chunks += 1;
    }
    assert_eq!(out, data);
    assert_eq!(chunks, 2, "one chunk per data shard");
}

/// Rule: replacing tags keeps the data, the ETag and (to the second) Last-Modified, while the
/// new record still orders after the one it replaced (quorum reads tell newer from older by
/// modification time first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_updates_keep_data_and_last_modified_yet_order_after_the_old_record() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let data = pattern(100_000, 9);
    let before = store
        .put_object("bkt", "k", body(&data), PutOptions::default())
        .await
        .unwrap();
    let tags: std::collections::BTreeMap<String, String> =
        [("a".to_string(), "1".to_string())].into();
    let after = store.update_tags("bkt", "k", tags.clone()).await.unwrap();
    assert_eq!(after.etag, before.etag);
    assert_eq!(after.attributes.tags, tags);
    assert!(after.last_modified > before.last_modified);
    assert!(
        after
            .last_modified
            .duration_since(before.last_modified)
            .unwrap()
            < std::time::Duration::from_micros(1)
    );
    let head = store.head_object("bkt", "k").await.unwrap();
    assert_eq!(head.attributes.tags, tags);
    assert_eq!(head.last_modified, after.last_modified);
    assert_eq!(read_all(&store, "bkt", "k", None).await.unwrap(), data);
}

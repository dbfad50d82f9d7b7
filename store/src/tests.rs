//! Engine-level tests of the store's internals (on-disk effects that the
//! black-box suites in `store/tests` cannot see).

use std::path::{Path, PathBuf};
use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;

use crate::api::{
    ByteRange, ByteStream, Catalog, ListParams, Maintenance, ObjectStore, PutOptions, StoreError,
};
use crate::engine::Effect;
use crate::{Store, StoreConfig};

pub(crate) struct Fixture {
    pub dir: tempfile::TempDir,
    pub drives: Vec<PathBuf>,
}

impl Fixture {
    pub fn new(count: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let drives = (0..count)
            .map(|i| dir.path().join(format!("drive{i}")))
            .collect();
        Self { dir, drives }
    }

    pub fn config(&self) -> StoreConfig {
        let mut config = StoreConfig::new(self.drives.clone());
        config.block_size = 64 << 10;
        config.inline_limit = 16 << 10;
        config
    }

    pub async fn open(&self) -> Store {
        Store::open(self.config()).await.unwrap()
    }

    /// Every file under the drives, relative to the fixture root.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![self.dir.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if entry.file_type().unwrap().is_dir() {
                    stack.push(entry.path());
                } else {
                    out.push(
                        entry
                            .path()
                            .strip_prefix(self.dir.path())
                            .unwrap()
                            .to_path_buf(),
                    );
                }
            }
        }
        out.sort();
        out
    }
}

pub(crate) fn body(data: &[u8]) -> ByteStream {
    let chunks: Vec<Result<Bytes, StoreError>> = data
        .chunks(7000)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures::stream::iter(chunks))
}

pub(crate) async fn read_all(
    store: &Store,
    bucket: &str,
    key: &str,
    range: Option<ByteRange>,
) -> Result<Vec<u8>, StoreError> {
    let mut reader = store.get_object(bucket, key, range).await?;
    let mut out = Vec::new();
    while let Some(chunk) = reader.body.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Closes the store, wipes `wiped` drive folders, reopens it and checks
/// that every object of bucket `bkt` still reads back exactly.
async fn assert_objects_survive_wiping(
    fixture: &Fixture,
    store: Store,
    wiped: &[usize],
    objects: &[(String, Vec<u8>)],
) {
    drop(store);
    for &drive in wiped {
        std::fs::remove_dir_all(&fixture.drives[drive]).unwrap();
        std::fs::create_dir(&fixture.drives[drive]).unwrap();
    }
    let store = fixture.open().await;
    for (key, data) in objects {
        assert_eq!(
            &read_all(&store, "bkt", key, None).await.unwrap(),
            data,
            "{key}"
        );
    }
}

fn under(files: &[PathBuf], part: &str) -> usize {
    files
        .iter()
        .filter(|f| f.to_string_lossy().contains(part))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_objects_live_inline_and_large_ones_in_shard_files() {
    let fixture = Fixture::new(4);
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
    let fixture = Fixture::new(4);
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
    let fixture = Fixture::new(4);
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
    let fixture = Fixture::new(4);
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
async fn heal_rebuilds_a_wiped_drive_and_reports_nothing_the_second_time() {
    let fixture = Fixture::new(4);
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
    std::fs::remove_dir_all(&fixture.drives[2]).unwrap();
    std::fs::create_dir(&fixture.drives[2]).unwrap();
    let store = fixture.open().await;
    let report = store.heal(None, "").await.unwrap();
    assert_eq!(report.objects_scanned, 4, "{report:?}");
    assert_eq!(report.objects_healed, 4, "{report:?}");
    assert_eq!(store.heal(None, "").await.unwrap().objects_healed, 0);
    assert_objects_survive_wiping(&fixture, store, &[0, 1], &objects).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_key_segments_store_list_and_delete() {
    let fixture = Fixture::new(4);
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
    let fixture = Fixture::new(4);
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
async fn heal_removes_data_dirs_no_version_refers_to() {
    let fixture = Fixture::new(4);
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
async fn multipart_complete_and_abort_leave_no_upload_files() {
    use crate::api::{CompletePart, MultipartStore};
    let fixture = Fixture::new(4);
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
    let fixture = Fixture::new(4);
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
    let fixture = Fixture::new(4);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_drive_is_rebuilt_in_the_background() {
    let fixture = Fixture::new(4);
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
    std::fs::remove_dir_all(&fixture.drives[3]).unwrap();
    std::fs::create_dir(&fixture.drives[3]).unwrap();
    let store = fixture.open().await;
    crate::heal::start_background_walk(&store.inner, std::time::Duration::ZERO);
    let rebuilt = |fixture: &Fixture| {
        let files = fixture.files();
        under(&files, "drive3/bkt/_a/_big/d.") == 1
            && under(&files, "drive3/bkt/_small/obj.meta") == 1
            && under(&files, "drive3/.minnow.sys/buckets/bkt/bucket.meta") == 1
    };
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while !rebuilt(&fixture) && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(rebuilt(&fixture), "{:?}", fixture.files());
    drop(store);
    for drive in [0, 1] {
        std::fs::remove_dir_all(&fixture.drives[drive]).unwrap();
        std::fs::create_dir(&fixture.drives[drive]).unwrap();
    }
    let store = fixture.open().await;
    assert_eq!(read_all(&store, "bkt", "a/big", None).await.unwrap(), data);
    assert_eq!(read_all(&store, "bkt", "small", None).await.unwrap(), small);
}

/// DeleteBucket racing PUTs: every acknowledged object is either still
/// readable (the delete was refused as not empty) or was refused itself; a
/// deleted bucket leaves no folder a write re-created.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_bucket_racing_puts_never_loses_or_resurrects_an_object() {
    let fixture = Fixture::new(4);
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

/// Review #3: a GET of a healthy object reads only the data shards; the
/// parity frames it never asked for are not damage and queue no heal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_reads_queue_no_heal() {
    let fixture = Fixture::new(4);
    let store = fixture.open().await;
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
    std::fs::remove_file(fixture.dir.path().join(data_file)).unwrap();
    read_all(&store, "bkt", "files", None).await.unwrap();
    assert_eq!(store.inner.heal_queue.len(), 1);
}

/// A drive folder that vanished and came back (same format) is online again
/// at the next status check, and what was written meanwhile is healed onto it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vanished_drive_comes_back_online_and_is_healed() {
    let fixture = Fixture::new(4);
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
    let other = Fixture::new(4);
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

/// Review #9: an attribute update that lands on fewer than write-quorum
/// drives is rolled back there, like a failed commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attribute_update_below_quorum_is_rolled_back() {
    let fixture = Fixture::new(4);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let data = pattern(1000, 5);
    store
        .put_object("bkt", "obj", body(&data), PutOptions::default())
        .await
        .unwrap();
    let meta_of = |drive: &Path| std::fs::read(drive.join("bkt/_obj/obj.meta")).unwrap();
    let before: Vec<Vec<u8>> = fixture.drives.iter().map(|d| meta_of(d)).collect();
    // Two drives can read but no longer write (their temp area is a file).
    for drive in &fixture.drives[2..] {
        let tmp = drive.join(".minnow.sys/tmp");
        std::fs::remove_dir_all(&tmp).unwrap();
        std::fs::write(&tmp, b"not a folder").unwrap();
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

/// Review #4: a full heal also restores system blobs (IAM lives there) and
/// in-progress multipart uploads (records and part shards) on a drive that
/// lost them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heal_restores_system_blobs_and_open_uploads() {
    use crate::api::MultipartStore;
    let fixture = Fixture::new(4);
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

/// Review #8: an overwrite removes every data dir but its own, including
/// ones a crash left behind that no version refers to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_removes_data_dirs_left_by_crashes() {
    let fixture = Fixture::new(4);
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

/// Review #7: a read of a multipart object closes each part's shard files
/// once it is past that part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_close_each_parts_files_once_read() {
    use crate::api::{CompletePart, MultipartStore};
    let fixture = Fixture::new(4);
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
                target.starts_with(fixture.dir.path()) && target.to_string_lossy().contains("/d.")
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

/// Profile cost 1: a PUT never fsyncs the shared staging area (every
/// concurrent write would queue on that one inode), not even a heal's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_never_fsync_the_shared_tmp_area() {
    use std::sync::atomic::Ordering;
    let fixture = Fixture::new(4);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let before = crate::drive::tmp_area_fsyncs::COUNT.load(Ordering::Relaxed);
    for key in ["a", "b/c"] {
        store
            .put_object(
                "bkt",
                key,
                body(&pattern(300_000, 4)),
                PutOptions::default(),
            )
            .await
            .unwrap();
    }
    std::fs::remove_dir_all(fixture.drives[2].join("bkt")).unwrap();
    store.heal(None, "").await.unwrap();
    assert_eq!(
        crate::drive::tmp_area_fsyncs::COUNT.load(Ordering::Relaxed),
        before,
        "the shared tmp area was fsynced"
    );
}

/// Review #5: a slow upload parks no blocking thread, so metadata work keeps
/// running even with a tiny blocking pool and stalled bodies.
#[test]
fn stalled_uploads_do_not_hold_blocking_threads() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(4)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let fixture = Fixture::new(4);
        let store = std::sync::Arc::new(fixture.open().await);
        store.create_bucket("bkt").await.unwrap();
        store
            .put_object("bkt", "small", body(b"hello"), PutOptions::default())
            .await
            .unwrap();
        let mut stalled = Vec::new();
        for upload in 0..2 {
            let store = store.clone();
            stalled.push(tokio::spawn(async move {
                let first: Result<Bytes, StoreError> = Ok(Bytes::from(pattern(200_000, 1)));
                let body: ByteStream = Box::pin(
                    futures::stream::once(async move { first }).chain(futures::stream::pending()),
                );
                let _ = store
                    .put_object(
                        "bkt",
                        &format!("stalled{upload}"),
                        body,
                        PutOptions::default(),
                    )
                    .await;
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let head = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            store.head_object("bkt", "small"),
        )
        .await;
        assert!(head.is_ok(), "HEAD starved by stalled uploads");
        head.unwrap().unwrap();
        for task in stalled {
            task.abort();
        }
    });
}

/// Profile cost 3: GET hands out the data shards as they are (no copy into
/// one buffer), so a block comes out as one chunk per data shard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_stream_data_shards_without_concatenating_them() {
    let fixture = Fixture::new(4);
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
    let fixture = Fixture::new(4);
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
    let fixture = Fixture::new(4);
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
        let fixture = Fixture::new(4);
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
    let fixture = Fixture::new(4);
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
    std::fs::remove_dir_all(&fixture.drives[3]).unwrap();
    std::fs::create_dir(&fixture.drives[3]).unwrap();
    let store = fixture.open().await;
    assert!(store.inner.drives[3].fresh);
    std::fs::remove_dir_all(&fixture.drives[0]).unwrap();
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
async fn full_heal_skips_buckets_deleted_while_it_runs() {
    let fixture = Fixture::new(4);
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
    let fixture = Fixture::new(4);
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
async fn concurrent_writes_share_one_buffer_budget_and_give_it_back() {
    // 64 KiB blocks cost 192 KiB with their 2+2 shards: a 256 KiB budget
    // holds one block at a time, a 100 KiB budget less than one block
    // (which must still make progress, alone).
    for limit in [256 << 10, 100 << 10] {
        let fixture = Fixture::new(4);
        let mut config = fixture.config();
        config.write_buffer_limit = limit;
        let store = std::sync::Arc::new(Store::open(config).await.unwrap());
        store.create_bucket("bkt").await.unwrap();
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = {
            let (store, peak, done) = (store.clone(), peak.clone(), done.clone());
            tokio::spawn(async move {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    peak.fetch_max(
                        store.write_buffer_in_use(),
                        std::sync::atomic::Ordering::Relaxed,
                    );
                    tokio::time::sleep(std::time::Duration::from_micros(200)).await;
                }
            })
        };
        let mut writes = Vec::new();
        for writer in 0..12u8 {
            let store = store.clone();
            writes.push(tokio::spawn(async move {
                let data = pattern(600_000 + usize::from(writer) * 1000, writer);
                let key = format!("k{writer}");
                let stream: ByteStream = if writer % 4 == 3 {
                    // A body that breaks half-way: its blocks must be given back.
                    let half = Bytes::copy_from_slice(&data[..300_000]);
                    Box::pin(futures::stream::iter(vec![
                        Ok(half),
                        Err(StoreError::IncompleteBody),
                    ]))
                } else {
                    body(&data)
                };
                let result = store
                    .put_object("bkt", &key, stream, PutOptions::default())
                    .await;
                (key, data, writer % 4 == 3, result)
            }));
        }
        for write in writes {
            let (key, data, broken, result) = write.await.unwrap();
            if broken {
                assert!(result.is_err(), "{key}");
            } else {
                result.unwrap();
                assert_eq!(read_all(&store, "bkt", &key, None).await.unwrap(), data);
            }
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        sampler.await.unwrap();
        let peak = peak.load(std::sync::atomic::Ordering::Relaxed);
        assert!(peak > 0, "the sampler saw no write in flight");
        assert!(
            peak <= limit.div_ceil(1024) * 1024,
            "peak {peak} over {limit}"
        );
        assert_eq!(
            store.write_buffer_in_use(),
            0,
            "every block's claim is returned"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_a_drive_missed_are_healed_after_a_restart_that_lost_the_heal_queue() {
    let fixture = Fixture::new(4);
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
    let away = fixture.dir.path().join("drive3.away");
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
async fn a_drive_that_answers_again_comes_back_without_anyone_probing() {
    let fixture = Fixture::new(4);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heals_racing_delete_bucket_never_bring_the_bucket_back() {
    let fixture = Fixture::new(4);
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
    let fixture = Fixture::new(4);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
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
    let fixture = Fixture::new(4);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let away = fixture.dir.path().join("drive3.away");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_is_charged_to_the_write_budget_while_it_is_assembled() {
    let fixture = Fixture::new(4);
    let store = std::sync::Arc::new(fixture.open().await);
    store.create_bucket("bkt").await.unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, StoreError>>(1);
    let stream: ByteStream = Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let put = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .put_object("bkt", "slow", stream, PutOptions::default())
                .await
        })
    };
    // One and a half blocks (64 KiB blocks here), then the client stalls.
    let data = pattern(96 << 10, 6);
    tx.send(Ok(Bytes::copy_from_slice(&data))).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // The first block has long reached the drives; the half block the
    // splitter holds is still charged.
    let block_cost = (64 << 10) + (32 << 10) * 4;
    assert_eq!(store.write_buffer_in_use(), block_cost);
    drop(tx);
    put.await.unwrap().unwrap();
    assert_eq!(store.write_buffer_in_use(), 0);
    assert_eq!(read_all(&store, "bkt", "slow", None).await.unwrap(), data);
}

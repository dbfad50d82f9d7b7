//! The drive-set fixture: four drives written by format v1 (drive
//! format, bucket records and settings, system blobs, inline and
//! shard-file objects, a hashed long key segment, a completed multipart
//! object and an open upload with its parts).

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;

use crate::api::{
    BucketSetting, ByteStream, Catalog, ChecksumAlgorithm, CompletePart, ListParams,
    ListUploadsParams, MultipartStore, ObjectAttributes, ObjectStore, PutOptions, StoreError,
};
use crate::{Store, StoreConfig};

const DRIVE_SET_V1_FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/drive-set-v1");
const BUCKET: &str = "fixture-bucket";
const CORS: &[u8] = b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>\
    <AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";

fn long_key() -> String {
    format!("long/{}/leaf.txt", "s".repeat(300))
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn body(data: &[u8]) -> ByteStream {
    let chunks: Vec<Result<Bytes, StoreError>> = data
        .chunks(3000)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures::stream::iter(chunks))
}

async fn read_all(store: &Store, key: &str) -> Vec<u8> {
    let mut reader = store.get_object(BUCKET, key, None).await.unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = reader.body.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

fn drives_under(root: &Path) -> Vec<PathBuf> {
    (0..4).map(|i| root.join(format!("d{i}"))).collect()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drive_set_format_v1_fixture_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(Path::new(DRIVE_SET_V1_FIXTURE), dir.path());
    // Start-up recreates the tmp areas git cannot keep (empty folders).
    let store = Store::open(StoreConfig::new(drives_under(dir.path())))
        .await
        .unwrap();

    assert_eq!(
        store
            .get_bucket_setting(BUCKET, BucketSetting::Cors)
            .await
            .unwrap()
            .as_deref(),
        Some(CORS)
    );
    assert_eq!(
        store
            .get_system_blob("fixture-config")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"{\"answer\":42}"[..])
    );

    let small = store.head_object(BUCKET, "small.txt").await.unwrap();
    assert_eq!(small.etag, "0fec55827430e4a0ae534adb4a425032");
    assert_eq!(small.attributes.content_type.as_deref(), Some("text/plain"));
    assert_eq!(small.attributes.user_metadata["colour"], "blue");
    assert_eq!(small.attributes.tags["team"], "storage");
    assert_eq!(read_all(&store, "small.txt").await, pattern(100, 1));
    assert_eq!(
        read_all(&store, "nested/dir/big.bin").await,
        pattern(10_000, 2)
    );
    assert_eq!(read_all(&store, &long_key()).await, pattern(50, 3));
    let multi = store.head_object(BUCKET, "multi.bin").await.unwrap();
    assert!(multi.etag.ends_with("-1"), "{}", multi.etag);
    assert_eq!(read_all(&store, "multi.bin").await, pattern(3000, 4));

    let page = store
        .list_objects(
            BUCKET,
            ListParams {
                max_keys: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let keys: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            long_key().as_str(),
            "multi.bin",
            "nested/dir/big.bin",
            "small.txt"
        ]
    );

    let uploads = store
        .list_uploads(BUCKET, ListUploadsParams::default())
        .await
        .unwrap();
    let [pending] = &uploads.uploads[..] else {
        panic!("one open upload: {:?}", uploads.uploads);
    };
    assert_eq!(pending.key, "pending.bin");
    assert_eq!(
        pending.attributes.content_type.as_deref(),
        Some("application/octet-stream")
    );
    let parts = store
        .list_parts(BUCKET, "pending.bin", &pending.upload_id, None, 100)
        .await
        .unwrap();
    let sizes: Vec<(u32, u64)> = parts.parts.iter().map(|p| (p.number, p.size)).collect();
    assert_eq!(sizes, [(1, 1500), (2, 2000)]);
    // The old upload still completes into a readable object (with its
    // last part only: part 1 is below S3's minimum for a non-last part).
    let chosen = vec![CompletePart {
        number: 2,
        etag: parts.parts[1].etag.clone(),
    }];
    store
        .complete_multipart(BUCKET, "pending.bin", &pending.upload_id, chosen)
        .await
        .unwrap();
    assert_eq!(read_all(&store, "pending.bin").await, pattern(2000, 6));
}

/// Writes the drive set with the current code; run once by hand when a
/// new format version is introduced (never overwrite an old version's
/// fixture).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn write_drive_set_format_v1_fixture() {
    let root = Path::new(DRIVE_SET_V1_FIXTURE);
    assert!(!root.exists(), "never overwrite an old version's fixture");
    let mut config = StoreConfig::new(drives_under(root));
    // Small blocks keep the fixture small and still give several
    // blocks per shard file.
    config.block_size = 4 << 10;
    config.inline_limit = 1 << 10;
    let store = Store::open(config).await.unwrap();
    store.create_bucket(BUCKET).await.unwrap();
    store
        .put_bucket_setting(BUCKET, BucketSetting::Cors, Some(Bytes::from_static(CORS)))
        .await
        .unwrap();
    store
        .put_system_blob(
            "fixture-config",
            Some(Bytes::from_static(b"{\"answer\":42}")),
        )
        .await
        .unwrap();
    let attributes = ObjectAttributes {
        content_type: Some("text/plain".into()),
        user_metadata: [("colour".to_string(), "blue".to_string())].into(),
        tags: [("team".to_string(), "storage".to_string())].into(),
        ..Default::default()
    };
    let put = |key: String, data: Vec<u8>, attributes: ObjectAttributes| {
        let store = &store;
        async move {
            store
                .put_object(
                    BUCKET,
                    &key,
                    body(&data),
                    PutOptions {
                        attributes,
                        checksum_algorithm: Some(ChecksumAlgorithm::Crc32),
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
        }
    };
    put("small.txt".into(), pattern(100, 1), attributes).await;
    put(
        "nested/dir/big.bin".into(),
        pattern(10_000, 2),
        ObjectAttributes::default(),
    )
    .await;
    put(long_key(), pattern(50, 3), ObjectAttributes::default()).await;

    let upload = store
        .create_multipart(BUCKET, "multi.bin", ObjectAttributes::default(), None)
        .await
        .unwrap();
    let part = store
        .put_part(
            BUCKET,
            "multi.bin",
            &upload.upload_id,
            1,
            body(&pattern(3000, 4)),
            PutOptions::default(),
        )
        .await
        .unwrap();
    store
        .complete_multipart(
            BUCKET,
            "multi.bin",
            &upload.upload_id,
            vec![CompletePart {
                number: 1,
                etag: part.etag,
            }],
        )
        .await
        .unwrap();

    let pending = store
        .create_multipart(
            BUCKET,
            "pending.bin",
            ObjectAttributes {
                content_type: Some("application/octet-stream".into()),
                ..Default::default()
            },
            Some(ChecksumAlgorithm::Sha256),
        )
        .await
        .unwrap();
    for (number, data) in [(1, pattern(1500, 5)), (2, pattern(2000, 6))] {
        store
            .put_part(
                BUCKET,
                "pending.bin",
                &pending.upload_id,
                number,
                body(&data),
                PutOptions {
                    checksum_algorithm: Some(ChecksumAlgorithm::Sha256),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    drop(store);
    tokio::time::sleep(Duration::from_millis(100)).await;
}

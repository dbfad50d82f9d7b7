//! ListObjectsV2 and ListObjects (v1) over 2,500 keys: pagination without gaps or repeats,
//! delimiter grouping into CommonPrefixes, prefix, start-after and markers.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use conformance::{unique_bucket, TestServer};
use tokio::sync::{OnceCell, Semaphore};

use crate::common::{create_bucket, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();
static POPULATED: OnceCell<(String, Vec<String>)> = OnceCell::const_new();

const DIRECTORIES: usize = 49;
const FILES_PER_DIRECTORY: usize = 50;
const TOP_LEVEL_FILES: usize = 50;
const PUT_CONCURRENCY: usize = 32;

/// 49 "directories" of 50 keys plus 50 top-level keys: 2,500 keys, created once per run with
/// bounded concurrency.
async fn populated_bucket() -> &'static (String, Vec<String>) {
    POPULATED
        .get_or_init(|| async {
            let server = shared_server(&SERVER);
            let client = server.s3_client();
            let bucket = unique_bucket("listing");
            create_bucket(&client, &bucket).await;
            let mut keys = Vec::new();
            for d in 0..DIRECTORIES {
                for f in 0..FILES_PER_DIRECTORY {
                    keys.push(format!("dir{d:02}/file{f:03}"));
                }
            }
            for t in 0..TOP_LEVEL_FILES {
                keys.push(format!("top{t:03}"));
            }
            let limit = Arc::new(Semaphore::new(PUT_CONCURRENCY));
            let mut tasks = tokio::task::JoinSet::new();
            for key in keys.clone() {
                let permit = limit.clone().acquire_owned().await.unwrap();
                let client = client.clone();
                let bucket = bucket.clone();
                tasks.spawn(async move {
                    let _permit = permit;
                    client
                        .put_object()
                        .bucket(&bucket)
                        .key(&key)
                        .body(key.as_bytes().to_vec().into())
                        .send()
                        .await
                        .map_err(|e| format!("put {key}: {e:?}"))
                });
            }
            while let Some(joined) = tasks.join_next().await {
                joined.expect("put task").expect("put");
            }
            keys.sort();
            (bucket, keys)
        })
        .await
}

#[tokio::test]
async fn list_v2_paginates_2500_keys_without_gaps_or_repeats() {
    let (bucket, expected) = populated_bucket().await;
    let client = shared_server(&SERVER).s3_client();
    for page_size in [None, Some(333), Some(1000)] {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            pages += 1;
            assert!(pages <= 20, "too many pages");
            let page = client
                .list_objects_v2()
                .bucket(bucket)
                .set_max_keys(page_size)
                .set_continuation_token(token.clone())
                .send()
                .await
                .expect("ListObjectsV2");
            let limit = page_size.unwrap_or(1000) as usize;
            assert!(page.contents().len() <= limit, "page larger than MaxKeys");
            assert_eq!(
                page.key_count(),
                Some(page.contents().len() as i32),
                "KeyCount"
            );
            for object in page.contents() {
                keys.push(object.key().unwrap().to_string());
                assert_eq!(object.size(), Some(object.key().unwrap().len() as i64));
                assert!(object.e_tag().is_some() && object.last_modified().is_some());
            }
            if page.is_truncated() == Some(true) {
                assert_eq!(
                    page.contents().len(),
                    limit,
                    "a truncated page must be full"
                );
                token = page.next_continuation_token().map(str::to_string);
                assert!(token.is_some(), "truncated without NextContinuationToken");
            } else {
                assert!(page.next_continuation_token().is_none());
                break;
            }
        }
        assert_eq!(&keys, expected, "page size {page_size:?}: keys differ");
        let expected_pages = expected.len().div_ceil(page_size.unwrap_or(1000) as usize);
        assert_eq!(pages, expected_pages, "page size {page_size:?}");
    }
}

#[tokio::test]
async fn list_v2_with_delimiter_groups_directories_into_common_prefixes() {
    let (bucket, _) = populated_bucket().await;
    let client = shared_server(&SERVER).s3_client();

    let page = client
        .list_objects_v2()
        .bucket(bucket)
        .delimiter("/")
        .send()
        .await
        .expect("ListObjectsV2 delimiter");
    let prefixes: Vec<&str> = page
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    let expected_prefixes: Vec<String> = (0..DIRECTORIES).map(|d| format!("dir{d:02}/")).collect();
    assert_eq!(prefixes, expected_prefixes);
    let keys: Vec<&str> = page.contents().iter().filter_map(|o| o.key()).collect();
    let expected_keys: Vec<String> = (0..TOP_LEVEL_FILES).map(|t| format!("top{t:03}")).collect();
    assert_eq!(keys, expected_keys);
    assert_eq!(
        page.key_count(),
        Some((DIRECTORIES + TOP_LEVEL_FILES) as i32)
    );
    assert_eq!(page.is_truncated(), Some(false));

    // Paginated with a small page: prefixes and keys together count against MaxKeys.
    let mut entries = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..50 {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .delimiter("/")
            .max_keys(7)
            .set_continuation_token(token.clone())
            .send()
            .await
            .expect("ListObjectsV2 delimiter page");
        let count = page.contents().len() + page.common_prefixes().len();
        assert!(count <= 7, "page of {count} entries with MaxKeys 7");
        entries.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix())
                .map(str::to_string),
        );
        entries.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key())
                .map(str::to_string),
        );
        if page.is_truncated() != Some(true) {
            token = None;
            break;
        }
        token = page.next_continuation_token().map(str::to_string);
    }
    assert!(token.is_none(), "delimiter pagination did not finish");
    let unique: BTreeSet<&String> = entries.iter().collect();
    assert_eq!(unique.len(), entries.len(), "repeated entries across pages");
    assert_eq!(entries.len(), DIRECTORIES + TOP_LEVEL_FILES);

    // Inside one directory.
    let page = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix("dir07/")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    assert_eq!(page.contents().len(), FILES_PER_DIRECTORY);
    assert!(page.common_prefixes().is_empty());
    assert_eq!(page.prefix(), Some("dir07/"));
}

#[tokio::test]
async fn list_v2_prefix_and_start_after() {
    let (bucket, expected) = populated_bucket().await;
    let client = shared_server(&SERVER).s3_client();
    let page = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix("dir1")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = page.contents().iter().filter_map(|o| o.key()).collect();
    let wanted: Vec<&str> = expected
        .iter()
        .filter(|k| k.starts_with("dir1"))
        .map(String::as_str)
        .collect();
    assert_eq!(keys, wanted);

    let page = client
        .list_objects_v2()
        .bucket(bucket)
        .start_after("dir48/file049")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = page.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), TOP_LEVEL_FILES);
    assert_eq!(keys.first(), Some(&"top000"));

    let page = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix("no-such-prefix/")
        .send()
        .await
        .unwrap();
    assert!(page.contents().is_empty());
    assert_eq!(page.key_count(), Some(0));
}

#[tokio::test]
async fn list_v1_marker_pagination_covers_all_keys() {
    let (bucket, expected) = populated_bucket().await;
    let client = shared_server(&SERVER).s3_client();
    let mut keys: Vec<String> = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..20 {
        let page = client
            .list_objects()
            .bucket(bucket)
            .max_keys(900)
            .set_marker(marker.clone())
            .send()
            .await
            .expect("ListObjects v1");
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key())
                .map(str::to_string),
        );
        if page.is_truncated() == Some(true) {
            // Without a delimiter S3 omits NextMarker; the last key is the marker.
            marker = page
                .next_marker()
                .map(str::to_string)
                .or_else(|| keys.last().cloned());
        } else {
            marker = None;
            break;
        }
    }
    assert!(marker.is_none(), "v1 pagination did not finish");
    assert_eq!(&keys, expected);

    // With a delimiter, NextMarker is returned when truncated.
    let page = client
        .list_objects()
        .bucket(bucket)
        .delimiter("/")
        .max_keys(10)
        .send()
        .await
        .unwrap();
    assert_eq!(page.is_truncated(), Some(true));
    assert_eq!(page.common_prefixes().len(), 10);
    assert_eq!(page.next_marker(), Some("dir09/"));
}

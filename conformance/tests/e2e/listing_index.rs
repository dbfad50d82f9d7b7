//! The listing index (`store/src/list_index.rs`) seen from a client: pages of special and
//! unicode keys equal a listing computed here from the sorted keys, for prefixes, delimiters,
//! start-after and continuation tokens; a listing that runs while keys are put, deleted and
//! overwritten lists every key that existed throughout exactly once and every key acknowledged
//! before it started; and neither a restart nor a wiped drive that is healed loses a key.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use conformance::sdk::list_keys;
use conformance::{unique_bucket, TestServer};

use crate::common::{create_bucket, put_bytes, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();

/// What one ListObjectsV2 pagination returned, pages concatenated.
#[derive(Debug, Default, PartialEq)]
struct Listing {
    keys: Vec<String>,
    prefixes: Vec<String>,
}

async fn list_all(
    client: &Client,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    start_after: Option<&str>,
    max_keys: i32,
) -> Listing {
    let mut listing = Listing::default();
    let mut token: Option<String> = None;
    for _ in 0..10_000 {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_delimiter(delimiter.map(str::to_string))
            .set_start_after(start_after.map(str::to_string))
            .max_keys(max_keys)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("list {prefix:?} {delimiter:?}: {e:?}"));
        let entries = page.contents().len() + page.common_prefixes().len();
        assert!(
            entries <= max_keys as usize,
            "{entries} entries > {max_keys}"
        );
        listing.keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        listing.prefixes.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_string)),
        );
        if page.is_truncated() != Some(true) {
            return listing;
        }
        token = page.next_continuation_token().map(str::to_string);
        assert!(token.is_some(), "truncated page without a token");
    }
    panic!("listing did not end");
}

/// S3's answer computed from the sorted keys.
fn expected(
    sorted: &[String],
    prefix: &str,
    delimiter: Option<&str>,
    start_after: Option<&str>,
) -> Listing {
    let mut listing = Listing::default();
    for key in sorted {
        if !key.starts_with(prefix) || start_after.is_some_and(|sa| key.as_str() <= sa) {
            continue;
        }
        let rest = &key[prefix.len()..];
        match delimiter.and_then(|d| rest.find(d).map(|at| at + d.len())) {
            Some(end) => {
                let common = format!("{prefix}{}", &rest[..end]);
                let fresh = start_after.is_none_or(|sa| common.as_str() > sa);
                if fresh && listing.prefixes.last() != Some(&common) {
                    listing.prefixes.push(common);
                }
            }
            None => listing.keys.push(key.clone()),
        }
    }
    listing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn special_and_unicode_keys_list_as_s3_orders_them() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("list-special");
    create_bucket(&client, &bucket).await;
    let long = "L".repeat(300);
    let mut keys: Vec<String> = [
        "a",
        "a/",
        "a//b",
        "a/b",
        "a/b/c",
        "a-b",
        "a.b",
        "a b",
        "a+b",
        "a%2Fb",
        "A",
        "Z",
        "é",
        "é/ü",
        "日本/語/キー",
        "emoji/😀",
        "tab\tkey",
        "back\\slash",
        "q?x=1&y=2",
        "dir/x",
        "dir/y/",
        "dir/y/z",
        "dira",
        "dir-",
        "~tilde",
        "*star",
    ]
    .iter()
    .map(|k| k.to_string())
    .collect();
    keys.push(format!("long/{long}"));
    keys.push(format!("long/{long}/inner"));
    for key in &keys {
        put_bytes(&client, &bucket, key, key.as_bytes()).await;
    }
    keys.sort();
    let starts = [
        None,
        Some("a/"),
        Some("a/b"),
        Some("dir/"),
        Some("é"),
        Some("zz"),
    ];
    for prefix in ["", "a", "a/", "dir/", "é", "long/", "日本/"] {
        for delimiter in [None, Some("/"), Some("-")] {
            for start_after in starts {
                for max_keys in [1, 3, 1000] {
                    let got =
                        list_all(&client, &bucket, prefix, delimiter, start_after, max_keys).await;
                    assert_eq!(
                        got,
                        expected(&keys, prefix, delimiter, start_after),
                        "prefix {prefix:?} delimiter {delimiter:?} start-after {start_after:?} \
                         max-keys {max_keys}"
                    );
                }
            }
        }
    }
}

/// One pagination's keys, checked for order and repeats.
async fn paginate_checked(client: &Client, bucket: &str, max_keys: i32) -> Vec<String> {
    let listing = list_all(client, bucket, "flat/", None, None, max_keys).await;
    for pair in listing.keys.windows(2) {
        assert!(pair[0] < pair[1], "out of order or repeated: {pair:?}");
    }
    listing.keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_during_puts_deletes_and_overwrites_misses_and_repeats_nothing() {
    const STABLE: usize = 400;
    const CHURN: usize = 150;
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("list-churn");
    create_bucket(&client, &bucket).await;
    let stable: Vec<String> = (0..STABLE).map(|i| format!("flat/s{i:04}")).collect();
    for key in &stable {
        put_bytes(&client, &bucket, key, b"v1").await;
    }
    // No listing before the churn starts: the bucket's index is built while keys change.
    let stop = Arc::new(AtomicBool::new(false));
    let mut churners = tokio::task::JoinSet::new();
    for worker in 0..4u64 {
        let (client, bucket, stop) = (client.clone(), bucket.clone(), stop.clone());
        churners.spawn(async move {
            let mut state = worker * 7919 + 1;
            let mut ops = 0u64;
            while !stop.load(Ordering::Relaxed) {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let pick = (state >> 33) as usize;
                let result = match pick % 3 {
                    // Overwrite a stable key: it exists throughout.
                    0 => client
                        .put_object()
                        .bucket(&bucket)
                        .key(format!("flat/s{:04}", pick % STABLE))
                        .body(format!("v{ops}").into_bytes().into())
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| format!("{e:?}")),
                    1 => client
                        .put_object()
                        .bucket(&bucket)
                        .key(format!("flat/c{:03}", pick % CHURN))
                        .body(b"c".to_vec().into())
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| format!("{e:?}")),
                    _ => client
                        .delete_object()
                        .bucket(&bucket)
                        .key(format!("flat/c{:03}", pick % CHURN))
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| format!("{e:?}")),
                };
                result.expect("churn operation");
                ops += 1;
            }
            ops
        });
    }
    let mut acknowledged = Vec::new();
    for round in 0..4 {
        // Acknowledged before this listing starts, never deleted: must be listed.
        let key = format!("flat/a{round}");
        put_bytes(&client, &bucket, &key, b"acked").await;
        acknowledged.push(key);
        let listed = paginate_checked(&client, &bucket, [37, 1000, 7, 250][round]).await;
        let listed: BTreeSet<&str> = listed.iter().map(String::as_str).collect();
        for key in stable.iter().chain(&acknowledged) {
            assert!(
                listed.contains(key.as_str()),
                "round {round}: {key} missing"
            );
        }
        assert!(
            listed.iter().all(|k| k.starts_with("flat/s")
                || k.starts_with("flat/c")
                || k.starts_with("flat/a")),
            "round {round}: a key nobody wrote"
        );
    }
    stop.store(true, Ordering::Relaxed);
    let mut total_ops = 0;
    while let Some(ops) = churners.join_next().await {
        total_ops += ops.expect("churner");
    }
    assert!(total_ops > 0, "the churn never ran");
    // Quiet again: the listing is exactly what is stored.
    let listed = paginate_checked(&client, &bucket, 100).await;
    for key in &listed {
        client
            .head_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("listed {key} does not exist: {e:?}"));
    }
    eprintln!("churn: {total_ops} operations during 4 listings");
}

/// Whether `/minio/health/cluster` says redundancy is reduced.
async fn healing(server: &TestServer) -> bool {
    let response = server
        .http_client()
        .get(format!("{}/minio/health/cluster", server.endpoint()))
        .send()
        .await
        .expect("health probe");
    response
        .headers()
        .get("x-minio-healing")
        .is_some_and(|v| v == "true")
}

fn wipe(drive: &std::path::Path) {
    for entry in std::fs::read_dir(drive).expect("reading drive").flatten() {
        let path = entry.path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_and_a_wiped_then_healed_drive_lose_no_key_from_listings() {
    let mut server = TestServer::spawn(Default::default()).expect("starting minnow");
    let client = server.s3_client();
    let bucket = unique_bucket("list-heal");
    create_bucket(&client, &bucket).await;
    let mut keys: Vec<String> = (0..300).map(|i| format!("flat/k{i:04}")).collect();
    keys.push("deep/a/b/c".into());
    keys.push(format!("long/{}", "x".repeat(300)));
    for key in &keys {
        put_bytes(&client, &bucket, key, b"x").await;
    }
    keys.sort();
    assert_eq!(
        list_keys(&client, &bucket, "").await,
        keys,
        "before any restart"
    );
    let drives = server.drives().to_vec();

    // Drive 1 wiped while stopped: listed from the other three at once.
    server.stop().expect("stop");
    wipe(&drives[0]);
    server.restart().expect("restart with drive 1 wiped");
    let client = server.s3_client();
    assert_eq!(list_keys(&client, &bucket, "").await, keys, "drive 1 wiped");
    // Written while drive 1 is still being healed: in the index at once.
    put_bytes(&client, &bucket, "flat/new", b"x").await;
    keys.push("flat/new".into());
    keys.sort();
    assert_eq!(list_keys(&client, &bucket, "").await, keys, "after a put");
    let deadline = Instant::now() + Duration::from_secs(120);
    while healing(&server).await {
        assert!(
            Instant::now() < deadline,
            "drive 1 still healing after 120 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Now drives 2 and 3 go: the two left (the healed one among them) must list every key,
    // from an index rebuilt by the restart.
    server.stop().expect("stop");
    wipe(&drives[1]);
    wipe(&drives[2]);
    server.restart().expect("restart with drives 2 and 3 wiped");
    let client = server.s3_client();
    assert_eq!(
        list_keys(&client, &bucket, "").await,
        keys,
        "drives 2 and 3 wiped after drive 1 was healed"
    );
}

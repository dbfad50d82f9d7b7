//! The listing index (`store/src/list_index.rs`) seen from a client: pages of special and
//! unicode keys equal a listing computed here from the sorted keys, for prefixes, delimiters,
//! start-after and continuation tokens; a listing that runs while keys are put, deleted and
//! overwritten lists every key that existed throughout exactly once and every key acknowledged
//! before it started; listed sizes, ETags and times follow every write; and neither a restart
//! nor a wiped drive that is healed loses a key.

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
    // Quiet again: the listing is exactly what is stored, down to each object's size and ETag
    // (the index keeps them: overwrites during the listings must have replaced them).
    let listed = paginate_checked(&client, &bucket, 100).await;
    assert_eq!(listed_facts(&client, &bucket).await.len(), listed.len());
    for (key, facts) in listed_facts(&client, &bucket).await {
        assert_eq!(facts, head_facts(&client, &bucket, &key).await, "{key}");
    }
    eprintln!("churn: {total_ops} operations during 4 listings");
}

/// Size, ETag and Last-Modified (whole seconds, as HEAD has it) of an object.
type Facts = (i64, String, i64);

/// Every object under `flat/` as one listing shows it.
async fn listed_facts(client: &Client, bucket: &str) -> Vec<(String, Facts)> {
    let mut facts = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix("flat/")
            .set_continuation_token(token)
            .send()
            .await
            .expect("list");
        for object in page.contents() {
            facts.push((
                object.key().unwrap().to_string(),
                (
                    object.size().unwrap(),
                    object.e_tag().unwrap().to_string(),
                    object.last_modified().unwrap().secs(),
                ),
            ));
        }
        token = page.next_continuation_token().map(str::to_string);
        if token.is_none() {
            return facts;
        }
    }
}

async fn head_facts(client: &Client, bucket: &str, key: &str) -> Facts {
    let head = client
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("listed {key} does not exist: {e:?}"));
    (
        head.content_length().unwrap(),
        head.e_tag().unwrap().to_string(),
        head.last_modified().unwrap().secs(),
    )
}

/// The rule the index's per-key facts guard: once a bucket is indexed, a listing shows each
/// object's size, ETag and Last-Modified as HEAD does after every kind of write: overwrite,
/// copy onto itself with new metadata (a new Last-Modified, same data), multipart complete,
/// delete, delete and put again, a restart (facts read again from the drives).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_size_etag_and_time_follow_every_write() {
    let mut server = TestServer::spawn(Default::default()).expect("starting minnow");
    let client = server.s3_client();
    let bucket = unique_bucket("list-facts");
    create_bucket(&client, &bucket).await;
    let keys: Vec<String> = (0..6).map(|i| format!("flat/k{i}")).collect();
    for key in &keys {
        put_bytes(&client, &bucket, key, b"first").await;
    }
    let check = |client: Client, bucket: String, what: &'static str| async move {
        let listed = listed_facts(&client, &bucket).await;
        for (key, facts) in &listed {
            assert_eq!(
                *facts,
                head_facts(&client, &bucket, key).await,
                "{what}: {key}"
            );
        }
        listed.into_iter().map(|(key, _)| key).collect::<Vec<_>>()
    };
    // Twice: the first listing builds the index and reads the facts, the second uses them.
    check(client.clone(), bucket.clone(), "built").await;
    assert_eq!(check(client.clone(), bucket.clone(), "indexed").await, keys);

    // Last-Modified is sent in whole seconds: let one pass so a rewrite shows.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    put_bytes(&client, &bucket, "flat/k0", b"second, longer").await;
    client
        .copy_object()
        .bucket(&bucket)
        .key("flat/k1")
        .copy_source(format!("{bucket}/flat/k1"))
        .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
        .content_type("text/x-replaced")
        .send()
        .await
        .expect("copy onto itself");
    let upload = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key("flat/k2")
        .send()
        .await
        .expect("create upload");
    let upload_id = upload.upload_id().unwrap();
    let part = client
        .upload_part()
        .bucket(&bucket)
        .key("flat/k2")
        .upload_id(upload_id)
        .part_number(1)
        .body(b"one part".to_vec().into())
        .send()
        .await
        .expect("upload part");
    client
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("flat/k2")
        .upload_id(upload_id)
        .multipart_upload(
            aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .parts(
                    aws_sdk_s3::types::CompletedPart::builder()
                        .part_number(1)
                        .e_tag(part.e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("complete upload");
    for key in ["flat/k3", "flat/k4"] {
        client
            .delete_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .expect("delete");
    }
    put_bytes(&client, &bucket, "flat/k4", b"back again").await;
    let after = check(client.clone(), bucket.clone(), "after writes").await;
    assert_eq!(
        after,
        ["flat/k0", "flat/k1", "flat/k2", "flat/k4", "flat/k5"]
    );

    server.stop().expect("stop");
    server.restart().expect("restart");
    let client = server.s3_client();
    assert_eq!(
        check(client.clone(), bucket.clone(), "restarted").await,
        after
    );
    assert_eq!(check(client, bucket, "restarted, indexed").await, after);
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

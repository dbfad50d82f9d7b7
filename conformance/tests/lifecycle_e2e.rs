//! Bucket lifecycle end to end, against the real `minnow server` with a one-second
//! lifecycle day (`MINNOW_LIFECYCLE_DAY_SECONDS=1`) and the default
//! aws-sdk-s3 client:
//! - the 7-day `temp/` rule put as S3 XML through the SDK, and the same rule
//!   imported with `minnow bucket lifecycle import` in MinIO's mc JSON:
//!   `temp/` objects disappear (HEAD 404, not listed) in bounded time, all
//!   others stay byte-exact, `x-amz-expiration` names the rule;
//! - a stale multipart upload is aborted and its part files leave every drive;
//! - the scanner deletes expired objects from every drive folder (no reads
//!   of the expired keys, so the read path's own cleanup cannot be the cause);
//! - `kill -9` in the middle of a scan cycle (cursor past the first page),
//!   restart: the scanner resumes, everything under `temp/` goes, nothing else.
//!
//! The first four run concurrently on one server, the restart scenario on its
//! own server, so the file takes about the time of one expiry plus the restart.
//!
//! The scanner runs with its defaults for 1 s days (a 1 s pause, 1,000 ops/s,
//! no cost pacing); the restart scenario makes the cycle long with enough
//! objects rather than with `MINNOW_LIFECYCLE_OPS_PER_SEC`, so that it also
//! shows the default budget finishing a large cycle.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
};
use aws_sdk_s3::Client;
use conformance::sdk::list_keys;
use conformance::{pattern_bytes, unique_bucket, ServerOptions, TestServer};
use futures::StreamExt;

/// 7 one-second days, rounded up to the next "midnight" (second), plus the
/// scanner's 1 s pause and its cycle: well under this on an idle machine;
/// the slack is for a loaded one.
const EXPIRY_DEADLINE: Duration = Duration::from_secs(60);
/// A temp/ object must not vanish before 7 lifecycle days have passed
/// (minus a little for the gap between the server's mtime and our clock).
const EARLIEST_EXPIRY: Duration = Duration::from_millis(6_500);
const RULE_ID: &str = "temp-cleanup";
const MC_JSON_RULE: &str = r#"{"Rules":[{"ID":"temp-cleanup","Status":"Enabled","Filter":{"Prefix":"temp/"},"Expiration":{"Days":7}}]}"#;
const CLI_TIMEOUT: Duration = Duration::from_secs(60);
/// The scanner lists 1,000 keys per page; more than two pages of due objects
/// make a cycle whose cursor is persisted mid-way.
const RESTART_TEMP_OBJECTS: usize = 2_200;
const RESTART_KEEP_OBJECTS: usize = 150;
/// The kill waits until the interrupted cycle has deleted at least this many.
const RESTART_DELETED_BEFORE_KILL: usize = 200;
const RESTART_DEADLINE: Duration = Duration::from_secs(45);

fn one_second_day_server() -> TestServer {
    TestServer::spawn(ServerOptions {
        env: vec![
            ("MINNOW_LIFECYCLE_DAY_SECONDS".to_string(), "1".to_string()),
            ("RUST_LOG".to_string(), "info".to_string()),
        ],
        ..ServerOptions::default()
    })
    .expect("starting minnow with a one-second lifecycle day")
}

fn temp_rule_by_sdk() -> BucketLifecycleConfiguration {
    let rule = LifecycleRule::builder()
        .id(RULE_ID)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("temp/").build())
        .expiration(LifecycleExpiration::builder().days(7).build())
        .build()
        .expect("rule");
    BucketLifecycleConfiguration::builder()
        .rules(rule)
        .build()
        .expect("configuration")
}

fn abort_rule_by_sdk() -> BucketLifecycleConfiguration {
    let rule = LifecycleRule::builder()
        .id("abort-stale-uploads")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(1)
                .build(),
        )
        .build()
        .expect("rule");
    BucketLifecycleConfiguration::builder()
        .rules(rule)
        .build()
        .expect("configuration")
}

async fn create_bucket(client: &Client, bucket: &str) {
    client
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateBucket {bucket}: {e:?}"));
}

async fn put_lifecycle(client: &Client, bucket: &str, config: BucketLifecycleConfiguration) {
    client
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(config)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutBucketLifecycleConfiguration {bucket}: {e:?}"));
}

/// PUTs the object and returns the `x-amz-expiration` it was answered with.
async fn put(client: &Client, bucket: &str, key: &str, body: &[u8]) -> Option<String> {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT {bucket}/{key}: {e:?}"))
        .expiration()
        .map(str::to_string)
}

async fn get_bytes(client: &Client, bucket: &str, key: &str) -> (Vec<u8>, Option<String>) {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {bucket}/{key}: {e:?}"));
    let expiration = out.expiration().map(str::to_string);
    let body = out
        .body
        .collect()
        .await
        .unwrap_or_else(|e| panic!("GET body {bucket}/{key}: {e:?}"))
        .into_bytes()
        .to_vec();
    (body, expiration)
}

/// `Some(x-amz-expiration)` for an existing object, `None` for 404.
async fn head(client: &Client, bucket: &str, key: &str) -> Option<Option<String>> {
    match client.head_object().bucket(bucket).key(key).send().await {
        Ok(out) => Some(out.expiration().map(str::to_string)),
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            assert_eq!(status, Some(404), "HEAD {bucket}/{key}: {e:?}");
            None
        }
    }
}

#[track_caller]
fn assert_names_rule(expiration: Option<&str>, what: &str) {
    let value = expiration.unwrap_or_else(|| panic!("{what}: no x-amz-expiration"));
    assert!(
        value.contains("expiry-date=\"") && value.contains(&format!("rule-id=\"{RULE_ID}\"")),
        "{what}: x-amz-expiration = {value:?}"
    );
}

/// The objects each expiry scenario writes: temp/ ones that must go (inline
/// small, streamed > 128 KiB, several blocks) and neighbours that must stay
/// (including keys that share the text `temp` but not the prefix `temp/`).
fn expiry_fixture(seed: u64) -> (BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<u8>>) {
    let temp = [
        ("temp/small.txt", 1024),
        ("temp/empty", 0),
        ("temp/nested/big.bin", 300 * 1024),
        ("temp/multi-block.bin", 2 * 1024 * 1024 + 17),
    ];
    let keep = [
        ("keep/small.txt", 1024),
        ("keep/big.bin", 300 * 1024),
        ("temp", 10),
        ("temporary/file.txt", 2048),
        ("tempx/big.bin", 200 * 1024),
        ("notes.txt", 5),
    ];
    let make = |items: &[(&str, usize)], salt: u64| {
        items
            .iter()
            .enumerate()
            .map(|(i, (key, len))| {
                (
                    key.to_string(),
                    pattern_bytes(*len, seed ^ salt ^ (i as u64)),
                )
            })
            .collect::<BTreeMap<_, _>>()
    };
    (make(&temp, 0x7e), make(&keep, 0x4b))
}

/// Uploads the fixture to a bucket whose temp/ rule is in place, checks the
/// `x-amz-expiration` answers, then waits until every temp/ object answers
/// 404 and is unlisted, and checks the rest byte for byte.
async fn expect_temp_objects_expire(client: &Client, bucket: &str, seed: u64) {
    let (temp, keep) = expiry_fixture(seed);
    // Taken before the first PUT: no temp/ object's mtime is earlier.
    let written = Instant::now();
    for (key, body) in &temp {
        let expiration = put(client, bucket, key, body).await;
        assert_names_rule(expiration.as_deref(), &format!("PUT {key}"));
    }
    for (key, body) in &keep {
        let expiration = put(client, bucket, key, body).await;
        assert_eq!(expiration, None, "PUT {key} matches no rule");
    }
    for key in temp.keys() {
        let head = head(client, bucket, key).await.expect("fresh temp object");
        assert_names_rule(head.as_deref(), &format!("HEAD {key}"));
        let (body, expiration) = get_bytes(client, bucket, key).await;
        assert_names_rule(expiration.as_deref(), &format!("GET {key}"));
        assert_eq!(&body, &temp[key], "GET {key} before expiry");
    }
    for key in keep.keys() {
        assert_eq!(
            head(client, bucket, key).await,
            Some(None),
            "HEAD {key}: present, no x-amz-expiration"
        );
    }

    let mut remaining: Vec<String> = temp.keys().cloned().collect();
    while !remaining.is_empty() {
        assert!(
            written.elapsed() < EXPIRY_DEADLINE,
            "{bucket}: {remaining:?} still answer {:?} after the 7-day rule",
            EXPIRY_DEADLINE
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        let mut still = Vec::new();
        for key in remaining {
            if head(client, bucket, &key).await.is_some() {
                still.push(key);
            } else {
                assert!(
                    written.elapsed() >= EARLIEST_EXPIRY,
                    "{bucket}/{key} vanished after {:?}, before 7 one-second days",
                    written.elapsed()
                );
            }
        }
        remaining = still;
    }
    eprintln!(
        "{bucket}: temp/ objects gone {:?} after their PUTs",
        written.elapsed()
    );
    // HEAD can answer 404 while the scanner's delete is still reaching the
    // other drives; the listing must agree within the same deadline.
    loop {
        let listed = list_keys(client, bucket, "temp/").await;
        if listed.is_empty() {
            break;
        }
        assert!(
            written.elapsed() < EXPIRY_DEADLINE,
            "{bucket}: expired temp/ objects still listed after {EXPIRY_DEADLINE:?}: {listed:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut expected: Vec<String> = keep.keys().cloned().collect();
    expected.sort();
    assert_eq!(list_keys(client, bucket, "").await, expected, "{bucket}");
    for (key, body) in &keep {
        let (got, expiration) = get_bytes(client, bucket, key).await;
        assert_eq!(&got, body, "{bucket}/{key} must stay byte-exact");
        assert_eq!(expiration, None);
    }
}

async fn sdk_xml_rule_expires_temp_objects(server: &TestServer) {
    let client = server.s3_client();
    let bucket = unique_bucket("lc-sdk");
    create_bucket(&client, &bucket).await;
    put_lifecycle(&client, &bucket, temp_rule_by_sdk()).await;

    let got = client
        .get_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .send()
        .await
        .expect("GetBucketLifecycleConfiguration");
    let [rule] = got.rules() else {
        panic!("expected one rule, got {:?}", got.rules());
    };
    assert_eq!(rule.id(), Some(RULE_ID));
    assert_eq!(rule.status(), &ExpirationStatus::Enabled);
    assert_eq!(rule.expiration().and_then(|e| e.days()), Some(7));
    let prefix = rule
        .filter()
        .and_then(|f| f.prefix())
        .or(rule.filter().and_then(|f| f.and()).and_then(|a| a.prefix()));
    assert_eq!(prefix, Some("temp/"));

    expect_temp_objects_expire(&client, &bucket, 1).await;

    client
        .delete_bucket_lifecycle()
        .bucket(&bucket)
        .send()
        .await
        .expect("DeleteBucketLifecycle");
    let err = client
        .get_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .send()
        .await
        .expect_err("no configuration after DeleteBucketLifecycle");
    assert_eq!(err.code(), Some("NoSuchLifecycleConfiguration"), "{err:?}");
    let expiration = put(&client, &bucket, "temp/after-delete", b"stays").await;
    assert_eq!(expiration, None, "no rule, no x-amz-expiration");
}

/// `minnow bucket lifecycle import NAME` with the rule on stdin.
fn cli_import(server: &TestServer, bucket: &str, json: &str) {
    let mut child = Command::new(conformance::minnow_binary())
        .args(["bucket", "lifecycle", "import", bucket])
        .env("MINNOW_ENDPOINT", server.endpoint())
        .env("MINNOW_ROOT_USER", server.access_key())
        .env("MINNOW_ROOT_PASSWORD", server.secret_key())
        .env_remove("MINIO_ROOT_USER")
        .env_remove("MINIO_ROOT_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning minnow bucket lifecycle import");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(json.as_bytes())
        .expect("writing the rule to stdin");
    let deadline = Instant::now() + CLI_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the CLI") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`minnow bucket lifecycle import` did not finish in {CLI_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    let _ = child
        .stderr
        .take()
        .map(|mut e| e.read_to_string(&mut stderr));
    assert!(status.success(), "lifecycle import failed: {stderr}");
}

async fn mc_json_rule_imported_by_cli_expires_temp_objects(server: &TestServer) {
    let client = server.s3_client();
    let bucket = unique_bucket("lc-cli");
    create_bucket(&client, &bucket).await;
    tokio::task::block_in_place(|| cli_import(server, &bucket, MC_JSON_RULE));
    let got = client
        .get_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .send()
        .await
        .expect("GetBucketLifecycleConfiguration after the CLI import");
    let ids: Vec<_> = got.rules().iter().filter_map(|r| r.id()).collect();
    assert_eq!(ids, vec![RULE_ID]);
    assert_eq!(got.rules()[0].expiration().and_then(|e| e.days()), Some(7));
    expect_temp_objects_expire(&client, &bucket, 2).await;
}

/// Every regular file under `dir` (none when it does not exist).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(_) => files.push(path),
                Err(_) => {}
            }
        }
    }
    files
}

/// `<drive>/<bucket>/_<seg>/…/_<seg>`: an object's folder (store/README.md).
fn object_dir(drive: &Path, bucket: &str, key: &str) -> PathBuf {
    key.split('/').fold(drive.join(bucket), |dir, segment| {
        dir.join(format!("_{segment}"))
    })
}

async fn stale_upload_is_aborted_and_its_parts_leave_every_drive(server: &TestServer) {
    let client = server.s3_client();
    let bucket = unique_bucket("lc-mpu");
    create_bucket(&client, &bucket).await;
    put_lifecycle(&client, &bucket, abort_rule_by_sdk()).await;
    let kept = pattern_bytes(4096, 3);
    put(&client, &bucket, "keep/object", &kept).await;

    let upload_id = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key("uploads/stale.bin")
        .send()
        .await
        .expect("CreateMultipartUpload")
        .upload_id()
        .expect("upload id")
        .to_string();
    client
        .upload_part()
        .bucket(&bucket)
        .key("uploads/stale.bin")
        .upload_id(&upload_id)
        .part_number(1)
        .body(ByteStream::from(pattern_bytes(5 * 1024 * 1024, 4)))
        .send()
        .await
        .expect("UploadPart");
    let started = Instant::now();

    let upload_dirs: Vec<PathBuf> = server
        .drives()
        .iter()
        .map(|d| {
            d.join(".minnow.sys/multipart")
                .join(&bucket)
                .join(&upload_id)
        })
        .collect();
    // The abort may already be under way; what existed must be the part's shard.
    let parts_seen: usize = upload_dirs
        .iter()
        .map(|dir| {
            files_under(dir)
                .iter()
                .filter(|f| {
                    let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    name.starts_with("part.1.") && !name.ends_with(".meta")
                })
                .count()
        })
        .sum();
    assert!(
        parts_seen > 0 || started.elapsed() > Duration::from_millis(500),
        "no part shard under {upload_dirs:?}: the on-disk layout changed?"
    );

    loop {
        let listed = client
            .list_multipart_uploads()
            .bucket(&bucket)
            .send()
            .await
            .expect("ListMultipartUploads")
            .uploads()
            .iter()
            .any(|u| u.upload_id() == Some(upload_id.as_str()));
        let left: Vec<PathBuf> = upload_dirs.iter().flat_map(|d| files_under(d)).collect();
        // The folder goes after its files, so a loaded machine can show an
        // empty folder for a while: the upload is gone only when the folder is.
        let dirs_left: Vec<&PathBuf> = upload_dirs.iter().filter(|d| d.exists()).collect();
        if !listed && left.is_empty() && dirs_left.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < EXPIRY_DEADLINE,
            "stale upload still there after {EXPIRY_DEADLINE:?}: listed={listed}, files={left:?}, \
             upload folders that should be removed={dirs_left:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!(
        "{bucket}: stale upload ({parts_seen} part shards seen) aborted and removed after {:?}",
        started.elapsed()
    );
    let err = client
        .list_parts()
        .bucket(&bucket)
        .key("uploads/stale.bin")
        .upload_id(&upload_id)
        .send()
        .await
        .expect_err("ListParts of an aborted upload");
    assert_eq!(err.code(), Some("NoSuchUpload"), "{err:?}");
    assert_eq!(get_bytes(&client, &bucket, "keep/object").await.0, kept);
}

async fn scanner_removes_expired_objects_from_every_drive(server: &TestServer) {
    let client = server.s3_client();
    let bucket = unique_bucket("lc-disk");
    create_bucket(&client, &bucket).await;
    put_lifecycle(&client, &bucket, temp_rule_by_sdk()).await;
    let big = pattern_bytes(300 * 1024, 5);
    let small = pattern_bytes(1000, 6);
    let written = Instant::now();
    put(&client, &bucket, "temp/disk/big.bin", &big).await;
    put(&client, &bucket, "temp/disk/small.txt", &small).await;
    put(&client, &bucket, "keep/disk/big.bin", &big).await;

    let drives = server.drives().to_vec();
    assert_eq!(drives.len(), 4);
    for drive in &drives {
        for key in ["temp/disk/big.bin", "keep/disk/big.bin"] {
            let dir = object_dir(drive, &bucket, key);
            let files = files_under(&dir);
            assert!(
                files.iter().any(|f| f.ends_with("obj.meta")),
                "{}: no obj.meta (layout changed?): {files:?}",
                dir.display()
            );
            assert!(
                files.iter().any(|f| f
                    .parent()
                    .and_then(|p| p.file_name())
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("d."))),
                "{}: a > 128 KiB object has no d.<uuid> data dir: {files:?}",
                dir.display()
            );
        }
        assert!(object_dir(drive, &bucket, "temp/disk/small.txt")
            .join("obj.meta")
            .exists());
    }

    // No GET, HEAD or listing of temp/ here: only the scanner can delete.
    loop {
        let left: Vec<PathBuf> = drives
            .iter()
            .flat_map(|d| files_under(&d.join(&bucket).join("_temp")))
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            written.elapsed() < EXPIRY_DEADLINE,
            "expired objects still on disk after {EXPIRY_DEADLINE:?}: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        written.elapsed() >= EARLIEST_EXPIRY,
        "deleted after {:?}, before 7 one-second days",
        written.elapsed()
    );
    eprintln!(
        "{bucket}: scanner removed temp/ files from every drive {:?} after the PUTs",
        written.elapsed()
    );
    for drive in &drives {
        let files = files_under(&object_dir(drive, &bucket, "keep/disk/big.bin"));
        assert!(
            files.iter().any(|f| f.ends_with("obj.meta")) && files.len() >= 2,
            "keep/disk/big.bin lost files on {}: {files:?}",
            drive.display()
        );
    }
    assert_eq!(
        get_bytes(&client, &bucket, "keep/disk/big.bin").await.0,
        big
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temp_rule_by_sdk_and_cli_stale_upload_and_disk_cleanup_on_a_one_second_day() {
    let server = one_second_day_server();
    let result = tokio::time::timeout(Duration::from_secs(90), async {
        tokio::join!(
            sdk_xml_rule_expires_temp_objects(&server),
            mc_json_rule_imported_by_cli_expires_temp_objects(&server),
            stale_upload_is_aborted_and_its_parts_leave_every_drive(&server),
            scanner_removes_expired_objects_from_every_drive(&server),
        )
    })
    .await;
    assert!(
        result.is_ok(),
        "scenarios did not finish in 90 s; server log:\n{}",
        server.log_tail(4000)
    );
}

/// The scanner's persisted cursor as stored on one drive (blob framing
/// around JSON), when it points inside `temp/`.
fn cursor_inside_temp(drive: &Path) -> Option<String> {
    let bytes = std::fs::read(drive.join(".minnow.sys/config/lifecycle-cursor.json")).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let start = text.find("\"after_key\":\"temp/")?;
    let rest = &text[start + "\"after_key\":\"".len()..];
    rest.find('"').map(|end| rest[..end].to_string())
}

fn temp_meta_count(drive: &Path, bucket: &str) -> usize {
    files_under(&drive.join(bucket).join("_temp"))
        .iter()
        .filter(|f| f.ends_with("obj.meta"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_in_the_middle_of_a_cycle_then_restart_deletes_all_of_temp_and_nothing_else() {
    let mut server = one_second_day_server();
    let client = server.s3_client();
    let bucket = unique_bucket("lc-restart");
    create_bucket(&client, &bucket).await;
    put_lifecycle(&client, &bucket, temp_rule_by_sdk()).await;

    let temp_keys: Vec<String> = (0..RESTART_TEMP_OBJECTS)
        .map(|i| format!("temp/{:02}/{i:05}", i % 7))
        .collect();
    let keep: BTreeMap<String, Vec<u8>> = (0..RESTART_KEEP_OBJECTS)
        .map(|i| {
            let key = match i % 3 {
                0 => format!("keep/{i:05}"),
                1 => format!("temp-not/{i:05}"),
                _ => format!("tempz/{i:05}"),
            };
            let len = if i % 50 == 0 { 200 * 1024 } else { 700 + i };
            (key, pattern_bytes(len, 1000 + i as u64))
        })
        .collect();
    let uploads = temp_keys
        .iter()
        .map(|k| (k.clone(), vec![b't'; 512]))
        .chain(keep.iter().map(|(k, v)| (k.clone(), v.clone())));
    let upload_started = Instant::now();
    futures::stream::iter(uploads)
        .map(|(key, body)| {
            let client = client.clone();
            let bucket = bucket.clone();
            async move { put(&client, &bucket, &key, &body).await }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    let uploaded_in = upload_started.elapsed();

    // Wait until the scanner has deleted a good number of objects and
    // persisted a cursor past its first page (cycles that ran before anything
    // was due persist one too, hence both conditions), then crash it.
    let drive1 = server.drives()[0].clone();
    let deadline = Instant::now() + RESTART_DEADLINE;
    let killed_at = loop {
        let left = temp_meta_count(&drive1, &bucket);
        if let Some(after) = cursor_inside_temp(&drive1) {
            if left > 0 && left + RESTART_DELETED_BEFORE_KILL <= RESTART_TEMP_OBJECTS {
                server.kill9().expect("kill -9");
                break (after, left);
            }
        }
        assert!(
            left > 0,
            "the scanner finished before it could be interrupted (uploads took {uploaded_in:?}); \
             raise RESTART_TEMP_OBJECTS"
        );
        assert!(
            Instant::now() < deadline,
            "scanner never got past its first page ({left} temp objects left); log:\n{}",
            server.log_tail(3000)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // The process is dead: what is on disk now is what the restart sees.
    let cursor_after_kill = cursor_inside_temp(&drive1);
    let left_after_kill = temp_meta_count(&drive1, &bucket);
    assert!(
        cursor_after_kill.is_some() && left_after_kill > 0 && left_after_kill < RESTART_TEMP_OBJECTS,
        "not mid-cycle at the kill: cursor {cursor_after_kill:?}, {left_after_kill} left (seen {killed_at:?})"
    );

    eprintln!(
        "restart scenario: uploads took {uploaded_in:?}; killed with cursor {cursor_after_kill:?}, \
         {left_after_kill} of {RESTART_TEMP_OBJECTS} temp/ objects left on drive 1"
    );
    let restarted = Instant::now();
    server.restart().expect("restart after kill -9");
    let client = server.s3_client();
    loop {
        let left: usize = server
            .drives()
            .iter()
            .map(|d| temp_meta_count(d, &bucket))
            .sum();
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline + Duration::from_secs(15),
            "{left} temp/ object metas still on the drives after the restart; log:\n{}",
            server.log_tail(3000)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "restart scenario: temp/ empty on every drive {:?} after the restart",
        restarted.elapsed()
    );
    let log = server.log_tail(200_000);
    assert!(
        log.contains("lifecycle scanner resumes") && log.contains("after_key=Some(\"temp/"),
        "the restarted scanner did not resume from its cursor ({cursor_after_kill:?}); log:\n{}",
        &log[log.len().saturating_sub(3000)..]
    );

    assert_eq!(
        list_keys(&client, &bucket, "temp/").await,
        Vec::<String>::new()
    );
    let listed = list_keys(&client, &bucket, "").await;
    let expected: Vec<String> = keep.keys().cloned().collect();
    assert_eq!(listed, expected, "exactly the keep objects remain");
    let mismatched: Vec<String> = futures::stream::iter(keep.iter())
        .map(|(key, body)| {
            let client = client.clone();
            let bucket = bucket.clone();
            async move { (get_bytes(&client, &bucket, key).await.0 != *body).then(|| key.clone()) }
        })
        .buffer_unordered(16)
        .filter_map(|m| async move { m })
        .collect()
        .await;
    assert!(mismatched.is_empty(), "changed objects: {mismatched:?}");
}

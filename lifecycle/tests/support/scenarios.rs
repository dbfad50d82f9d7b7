//! Scanner scenarios written against the `store::api` traits only, so the
//! same checks run on `MemoryStore` and on the real erasure-coded store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use lifecycle::*;
use store::api::*;

pub const ONE_DAY: Duration = Duration::from_secs(86_400);

pub trait TestStore: ObjectStore + Catalog + MultipartStore + 'static {}
impl<S: ObjectStore + Catalog + MultipartStore + 'static> TestStore for S {}

/// Distinct, size-controlled content for each key.
pub fn content(key: &str, len: usize) -> Vec<u8> {
    key.bytes()
        .chain(b"|".iter().copied())
        .cycle()
        .take(len)
        .collect()
}

pub async fn put<S: TestStore>(
    store: &S,
    bucket: &str,
    key: &str,
    len: usize,
    tags: &[(&str, &str)],
) {
    let data = Bytes::from(content(key, len));
    let mut opts = PutOptions {
        size: Some(data.len() as u64),
        ..PutOptions::default()
    };
    opts.attributes.tags = tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let body: ByteStream = Box::pin(futures::stream::once(async move { Ok(data) }));
    store
        .put_object(bucket, key, body, opts)
        .await
        .expect("put_object");
}

/// The object's bytes, or `None` when it is gone.
pub async fn read<S: TestStore>(store: &S, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let mut reader = match store.get_object(bucket, key, None).await {
        Ok(reader) => reader,
        Err(StoreError::NoSuchKey { .. }) => return None,
        Err(e) => panic!("get_object {bucket}/{key}: {e}"),
    };
    let mut data = Vec::new();
    while let Some(chunk) = reader.body.next().await {
        data.extend_from_slice(&chunk.expect("body chunk"));
    }
    Some(data)
}

pub async fn assert_intact<S: TestStore>(store: &S, bucket: &str, key: &str, len: usize) {
    let data = read(store, bucket, key).await;
    assert!(data.is_some(), "{bucket}/{key} was deleted but should stay");
    assert!(data.unwrap() == content(key, len), "{bucket}/{key} changed");
}

pub async fn assert_gone<S: TestStore>(store: &S, bucket: &str, key: &str) {
    assert!(
        read(store, bucket, key).await.is_none(),
        "{bucket}/{key} should be expired"
    );
}

pub async fn set_rules<S: TestStore>(store: &S, bucket: &str, rules: &str) {
    let xml = format!("<LifecycleConfiguration>{rules}</LifecycleConfiguration>");
    let config = LifecycleConfiguration::from_xml(xml.as_bytes()).expect("valid rules");
    store
        .put_bucket_setting(
            bucket,
            BucketSetting::Lifecycle,
            Some(Bytes::from(config.to_xml())),
        )
        .await
        .expect("put lifecycle");
}

pub fn days_rule(id: &str, prefix: &str, days: u32) -> String {
    format!("<Rule><ID>{id}</ID><Filter><Prefix>{prefix}</Prefix></Filter><Status>Enabled</Status><Expiration><Days>{days}</Days></Expiration></Rule>")
}

pub fn scanner<S: TestStore>(
    store: &Arc<S>,
    clock: &Arc<ManualClock>,
    page_size: usize,
) -> Scanner<S> {
    let config = ScannerConfig {
        day: DayLength::default(),
        ops_per_sec: 0,
        pause_between_cycles: Duration::from_millis(10),
        page_size,
        ..ScannerConfig::default()
    };
    Scanner::new(
        Arc::clone(store),
        config,
        Arc::clone(clock) as Arc<dyn Clock>,
    )
}

async fn uploads<S: TestStore>(store: &S, bucket: &str) -> Vec<String> {
    store
        .list_uploads(
            bucket,
            ListUploadsParams {
                max_uploads: 1000,
                ..Default::default()
            },
        )
        .await
        .expect("list_uploads")
        .uploads
        .into_iter()
        .map(|u| u.key)
        .collect()
}

/// Objects under temp/ expire after 8 days with a 7-day rule; nothing goes
/// earlier, and everything else (including "tempo" and other buckets) stays
/// byte-exact.
pub async fn temp_objects_expire_after_eight_days_and_others_stay_byte_exact<S: TestStore>(
    store: Arc<S>,
) {
    store.create_bucket("photos").await.unwrap();
    store.create_bucket("untouched").await.unwrap();
    set_rules(&*store, "photos", &days_rule("temp-cleanup", "temp/", 7)).await;
    let kept = [
        ("keep/x", 1000),
        ("tempo", 10),
        ("root.txt", 0),
        ("keep/large", 300_000),
    ];
    let expiring = [("temp/a", 100), ("temp/b/c", 200_000)];
    for (key, len) in kept.iter().chain(&expiring) {
        put(&*store, "photos", key, *len, &[]).await;
    }
    put(&*store, "untouched", "temp/a", 50, &[]).await;

    let clock = Arc::new(ManualClock::starting_now());
    let mut scanner = scanner(&store, &clock, 1000);

    clock.advance(ONE_DAY * 6);
    let summary = scanner.run_one_cycle().await.unwrap();
    assert_eq!(summary.objects_expired, 0, "nothing is due after 6 days");
    assert_eq!(
        summary.objects_scanned, 2,
        "only keys under rule prefixes in buckets with rules are examined"
    );

    clock.advance(ONE_DAY * 2);
    let summary = scanner.run_one_cycle().await.unwrap();
    assert_eq!(summary.objects_expired, 2);
    for (key, _) in expiring {
        assert_gone(&*store, "photos", key).await;
    }
    for (key, len) in kept {
        assert_intact(&*store, "photos", key, len).await;
    }
    assert_intact(&*store, "untouched", "temp/a", 50).await;
    let metrics = scanner.metrics();
    assert_eq!(metrics.cycles, 2);
    assert_eq!(metrics.objects_expired, 2);
    assert_eq!(metrics.objects_scanned, 4);
}

/// A tag rule deletes only objects carrying the tag.
pub async fn tagged_objects_expire_by_tag_rule<S: TestStore>(store: Arc<S>) {
    store.create_bucket("tags").await.unwrap();
    set_rules(
        &*store,
        "tags",
        "<Rule><ID>scratch</ID><Filter><Tag><Key>kind</Key><Value>scratch</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>",
    )
    .await;
    put(&*store, "tags", "a", 10, &[("kind", "scratch")]).await;
    put(&*store, "tags", "b", 10, &[("kind", "keep")]).await;
    put(&*store, "tags", "c", 10, &[]).await;
    let clock = Arc::new(ManualClock::starting_now());
    clock.advance(ONE_DAY * 3);
    let summary = scanner(&store, &clock, 1000).run_one_cycle().await.unwrap();
    assert_eq!(summary.objects_expired, 1);
    assert_gone(&*store, "tags", "a").await;
    assert_intact(&*store, "tags", "b", 10).await;
    assert_intact(&*store, "tags", "c", 10).await;
}

/// AbortIncompleteMultipartUpload aborts uploads under its prefix once due.
pub async fn stale_uploads_are_aborted_and_others_kept<S: TestStore>(store: Arc<S>) {
    store.create_bucket("mpu").await.unwrap();
    set_rules(
        &*store,
        "mpu",
        "<Rule><ID>abort</ID><Filter><Prefix>uploads/</Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>",
    )
    .await;
    for key in ["uploads/one", "uploads/two", "other/big"] {
        store
            .create_multipart("mpu", key, ObjectAttributes::default(), None)
            .await
            .unwrap();
    }
    put(&*store, "mpu", "uploads/done", 10, &[]).await;
    let clock = Arc::new(ManualClock::starting_now());
    let mut scanner = scanner(&store, &clock, 1);

    clock.advance(ONE_DAY * 6);
    scanner.run_one_cycle().await.unwrap();
    assert_eq!(
        uploads(&*store, "mpu").await.len(),
        3,
        "not due after 6 days"
    );

    clock.advance(ONE_DAY * 2);
    let summary = scanner.run_one_cycle().await.unwrap();
    assert_eq!(summary.uploads_aborted, 2);
    assert_eq!(uploads(&*store, "mpu").await, vec!["other/big".to_string()]);
    assert_intact(&*store, "mpu", "uploads/done", 10).await;
}

/// No rules, unreadable rules and disabled rules delete nothing.
pub async fn buckets_without_usable_rules_are_left_alone<S: TestStore>(store: Arc<S>) {
    for bucket in ["norules", "garbage", "disabled"] {
        store.create_bucket(bucket).await.unwrap();
        put(&*store, bucket, "temp/x", 10, &[]).await;
    }
    store
        .put_bucket_setting(
            "garbage",
            BucketSetting::Lifecycle,
            Some(Bytes::from_static(b"<not-lifecycle")),
        )
        .await
        .unwrap();
    set_rules(
        &*store,
        "disabled",
        "<Rule><ID>off</ID><Filter/><Status>Disabled</Status><Expiration><Days>1</Days></Expiration></Rule>",
    )
    .await;
    let clock = Arc::new(ManualClock::starting_now());
    clock.advance(ONE_DAY * 100);
    let summary = scanner(&store, &clock, 1000).run_one_cycle().await.unwrap();
    assert_eq!(summary.objects_expired, 0);
    for bucket in ["norules", "garbage", "disabled"] {
        assert_intact(&*store, bucket, "temp/x", 10).await;
    }
}

/// A scanner stopped after one page leaves its cursor in the store; a new
/// scanner resumes there, finishes the cycle, and deletes exactly what is due.
pub async fn restart_mid_cycle_resumes_from_the_persisted_cursor<S: TestStore>(store: Arc<S>) {
    for bucket in ["alpha", "beta"] {
        store.create_bucket(bucket).await.unwrap();
        set_rules(&*store, bucket, &days_rule("temp", "temp/", 1)).await;
    }
    for i in 0..6 {
        put(&*store, "alpha", &format!("temp/{i}"), 20 + i, &[]).await;
    }
    for i in 0..2 {
        put(&*store, "alpha", &format!("keep/{i}"), 30 + i, &[]).await;
    }
    for i in 0..4 {
        put(&*store, "beta", &format!("temp/{i}"), 40 + i, &[]).await;
    }
    put(&*store, "beta", "keep/0", 50, &[]).await;

    let clock = Arc::new(ManualClock::starting_now());
    clock.advance(ONE_DAY * 3);
    {
        let mut first = scanner(&store, &clock, 3);
        assert_eq!(first.step().await.unwrap(), StepOutcome::Progress);
        assert_eq!(first.metrics().objects_scanned, 3);
        // The process "dies" here.
    }
    let blob = store
        .get_system_blob(CURSOR_BLOB)
        .await
        .unwrap()
        .expect("cursor persisted");
    assert_eq!(
        cursor_position(&blob),
        Some((Some("alpha".to_string()), Some("temp/2".to_string())))
    );
    assert_gone(&*store, "alpha", "temp/2").await;
    assert_intact(&*store, "alpha", "temp/3", 23).await;

    let mut second = scanner(&store, &clock, 3);
    let summary = second.run_one_cycle().await.unwrap();
    assert_eq!(summary.objects_scanned, 10 - 3, "resumed, not restarted");
    assert_eq!(summary.objects_expired, 3 + 4);
    for i in 0..6 {
        assert_gone(&*store, "alpha", &format!("temp/{i}")).await;
    }
    for i in 0..4 {
        assert_gone(&*store, "beta", &format!("temp/{i}")).await;
    }
    for i in 0..2 {
        assert_intact(&*store, "alpha", &format!("keep/{i}"), 30 + i).await;
    }
    assert_intact(&*store, "beta", "keep/0", 50).await;
    let blob = store
        .get_system_blob(CURSOR_BLOB)
        .await
        .unwrap()
        .expect("cursor persisted");
    assert_eq!(
        cursor_position(&blob),
        Some((None, None)),
        "next cycle starts afresh"
    );
}

/// The spawned worker expires objects on its own and stops on shutdown.
pub async fn spawned_scanner_works_in_the_background_and_stops_on_shutdown<S: TestStore>(
    store: Arc<S>,
) {
    store.create_bucket("background").await.unwrap();
    set_rules(&*store, "background", &days_rule("temp", "temp/", 1)).await;
    put(&*store, "background", "temp/a", 10, &[]).await;
    put(&*store, "background", "temp/b", 10, &[]).await;
    put(&*store, "background", "keep", 10, &[]).await;
    let clock = Arc::new(ManualClock::starting_now());
    clock.advance(ONE_DAY * 2);
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let handle = scanner(&store, &clock, 1000).spawn(async move {
        let _ = shutdown_rx.await;
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while handle.metrics().cycles < 2 {
        assert!(
            Instant::now() < deadline,
            "scanner made no progress: {:?}",
            handle.metrics()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let metrics = handle.metrics();
    assert_eq!(metrics.objects_expired, 2);
    assert_eq!(metrics.errors, 0);
    shutdown_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), handle.join())
        .await
        .expect("scanner stops on shutdown");
    assert_gone(&*store, "background", "temp/a").await;
    assert_intact(&*store, "background", "keep", 10).await;
}

//! The scanner against the in-memory store: the shared scenarios, plus races
//! and pacing only a fake store can stage.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use lifecycle::*;
use store::api::*;
use store::memory::MemoryStore;
use support::scenarios::{self, *};

fn store() -> Arc<MemoryStore> {
    Arc::new(MemoryStore::new())
}

#[tokio::test]
async fn temp_objects_expire_after_eight_days_and_others_stay_byte_exact() {
    scenarios::temp_objects_expire_after_eight_days_and_others_stay_byte_exact(store()).await;
}

#[tokio::test]
async fn tagged_objects_expire_by_tag_rule() {
    scenarios::tagged_objects_expire_by_tag_rule(store()).await;
}

#[tokio::test]
async fn stale_uploads_are_aborted_and_others_kept() {
    scenarios::stale_uploads_are_aborted_and_others_kept(store()).await;
}

#[tokio::test]
async fn buckets_without_usable_rules_are_left_alone() {
    scenarios::buckets_without_usable_rules_are_left_alone(store()).await;
}

#[tokio::test]
async fn restart_mid_cycle_resumes_from_the_persisted_cursor() {
    scenarios::restart_mid_cycle_resumes_from_the_persisted_cursor(store()).await;
}

#[tokio::test]
async fn spawned_scanner_works_in_the_background_and_stops_on_shutdown() {
    scenarios::spawned_scanner_works_in_the_background_and_stops_on_shutdown(store()).await;
}

#[tokio::test]
async fn object_overwritten_after_listing_is_not_deleted() {
    let store = store();
    store.create_bucket("b").await.unwrap();
    set_rules(&*store, "b", &days_rule("temp", "temp/", 7)).await;
    put(&*store, "b", "temp/rewritten", 10, &[]).await;
    put(&*store, "b", "temp/old", 10, &[]).await;
    let clock = Arc::new(ManualClock::starting_now());
    clock.advance(ONE_DAY * 8);
    // The listing still shows the old time, but the object was rewritten
    // "today" (by the manual clock), so it has 7 more days to live.
    let old = SystemTime::now();
    store.show_stale_time_in_listing("b", "temp/rewritten", old);
    store.set_last_modified("b", "temp/rewritten", clock.now());
    let summary = scanner(&store, &clock, 1000).run_one_cycle().await.unwrap();
    assert_eq!(summary.objects_expired, 1);
    assert_intact(&*store, "b", "temp/rewritten", 10).await;
    assert_gone(&*store, "b", "temp/old").await;
}

#[tokio::test]
async fn cursor_is_persisted_after_every_page() {
    let store = store();
    store.create_bucket("b").await.unwrap();
    set_rules(&*store, "b", &days_rule("all", "", 1)).await;
    for i in 0..10 {
        put(&*store, "b", &format!("k{i:02}"), 1, &[]).await;
    }
    let clock = Arc::new(ManualClock::starting_now());
    let mut scanner = scanner(&store, &clock, 2);
    let mut positions = Vec::new();
    loop {
        let outcome = scanner.step().await.unwrap();
        let blob = store.get_system_blob(CURSOR_BLOB).await.unwrap().unwrap();
        positions.push(cursor_position(&blob).unwrap());
        if matches!(outcome, StepOutcome::CycleComplete(_)) {
            break;
        }
        assert!(positions.len() < 20, "cycle does not end");
    }
    let b = || Some("b".to_string());
    let key = |k: &str| Some(k.to_string());
    // The last page finishes the bucket's objects (its position is then the
    // start of the uploads phase), and the end of the cycle resets the cursor.
    assert_eq!(
        positions,
        vec![
            (b(), key("k01")),
            (b(), key("k03")),
            (b(), key("k05")),
            (b(), key("k07")),
            (b(), None),
            (None, None),
        ]
    );
}

#[tokio::test]
async fn ops_budget_paces_the_scan() {
    let store = store();
    store.create_bucket("b").await.unwrap();
    set_rules(&*store, "b", &days_rule("all", "", 1)).await;
    for i in 0..40 {
        put(&*store, "b", &format!("k{i:02}"), 1, &[]).await;
    }
    let clock = Arc::new(ManualClock::starting_now());
    let config = ScannerConfig {
        ops_per_sec: 100,
        page_size: 1000,
        ..ScannerConfig::default()
    };
    let mut scanner = Scanner::new(
        Arc::clone(&store),
        config,
        Arc::clone(&clock) as Arc<dyn Clock>,
    );
    // Every object is due: each costs its re-read and its deletion.
    clock.advance(ONE_DAY * 2);
    let start = Instant::now();
    let summary = scanner.run_one_cycle().await.unwrap();
    let elapsed = start.elapsed();
    assert_eq!(summary.objects_scanned, 40);
    assert_eq!(summary.objects_expired, 40);
    // 1 page + 40 × (HEAD + delete) = 81 operations: 10 tokens of burst,
    // then 71 at 100/s.
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

/// Ten due objects whose deletes each take 20 ms, scanned with pacing
/// `factor` capped at `max_pace` and a budget too high to matter.
async fn cycle_with_slow_deletes(
    ops_per_sec: u32,
    factor: u32,
    max_pace: Duration,
) -> (CycleSummary, Arc<MemoryStore>) {
    let store = store();
    store.create_bucket("b").await.unwrap();
    set_rules(&*store, "b", &days_rule("all", "", 1)).await;
    for i in 0..10 {
        put(&*store, "b", &format!("k{i:02}"), 1, &[]).await;
    }
    store
        .delete_delay_micros
        .store(20_000, std::sync::atomic::Ordering::Relaxed);
    let clock = Arc::new(ManualClock::starting_now());
    clock.advance(Duration::from_secs(3 * 86_400));
    let config = ScannerConfig {
        ops_per_sec,
        pace_factor: factor,
        max_pace,
        ..ScannerConfig::default()
    };
    let mut scanner = Scanner::new(Arc::clone(&store), config, clock as Arc<dyn Clock>);
    let summary = scanner.run_one_cycle().await.unwrap();
    assert_eq!(summary.objects_expired, 10);
    assert_eq!(scanner.metrics().paced, summary.paced);
    (summary, store)
}

#[tokio::test]
async fn each_delete_is_followed_by_a_rest_of_factor_times_its_duration() {
    let (summary, _) = cycle_with_slow_deletes(1_000_000, 3, Duration::from_secs(1)).await;
    // Each 20 ms delete asks for at least 60 ms of rest; the listing page
    // and the cursor writes add a little.
    assert!(
        summary.paced >= Duration::from_millis(600),
        "{:?}",
        summary.paced
    );
    assert!(summary.duration >= summary.paced, "{summary:?}");
}

#[tokio::test]
async fn rests_are_capped_at_max_pace() {
    let cap = Duration::from_millis(5);
    let (summary, _) = cycle_with_slow_deletes(1_000_000, 3, cap).await;
    // Ten deletes at the cap, plus at most a handful of list/cursor steps.
    assert!(summary.paced >= cap * 10, "{:?}", summary.paced);
    assert!(summary.paced <= cap * 16, "{:?}", summary.paced);
}

#[tokio::test]
async fn unthrottled_or_factor_zero_scans_never_rest() {
    let (summary, _) = cycle_with_slow_deletes(0, 3, Duration::from_secs(1)).await;
    assert_eq!(summary.paced, Duration::ZERO);
    let (summary, _) = cycle_with_slow_deletes(1_000_000, 0, Duration::from_secs(1)).await;
    assert_eq!(summary.paced, Duration::ZERO);
}

#[tokio::test]
async fn bucket_deleted_mid_cycle_is_skipped() {
    let store = store();
    for bucket in ["a", "b"] {
        store.create_bucket(bucket).await.unwrap();
        set_rules(&*store, bucket, &days_rule("all", "", 1)).await;
    }
    for i in 0..4 {
        put(&*store, "a", &format!("k{i}"), 1, &[]).await;
    }
    put(&*store, "b", "k", 1, &[]).await;
    let clock = Arc::new(ManualClock::starting_now());
    let mut scanner = scanner(&store, &clock, 2);
    scanner.step().await.unwrap();
    for i in 0..4 {
        store.delete_object("a", &format!("k{i}")).await.unwrap();
    }
    store.delete_bucket("a").await.unwrap();
    clock.advance(ONE_DAY * 3);
    let summary = scanner.run_one_cycle().await.unwrap();
    assert_eq!(summary.objects_expired, 1);
    assert_gone(&*store, "b", "k").await;
}

#[tokio::test]
async fn unreadable_cursor_starts_a_fresh_cycle() {
    let store = store();
    store.create_bucket("b").await.unwrap();
    set_rules(&*store, "b", &days_rule("all", "", 1)).await;
    put(&*store, "b", "k", 1, &[]).await;
    store
        .put_system_blob(CURSOR_BLOB, Some(bytes::Bytes::from_static(b"{garbage")))
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    clock.advance(ONE_DAY * 3);
    let summary = scanner(&store, &clock, 10).run_one_cycle().await.unwrap();
    assert_eq!(summary.objects_expired, 1);
}

#[tokio::test]
async fn handle_stop_ends_a_worker_whose_shutdown_never_fires() {
    let store = store();
    let clock = Arc::new(ManualClock::starting_now());
    let handle = scanner(&store, &clock, 10).spawn(std::future::pending());
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert!(handle.metrics().cycles >= 1);
    handle.stop();
    tokio::time::timeout(Duration::from_secs(5), handle.join())
        .await
        .expect("stops");
}

#[tokio::test]
async fn keys_outside_rule_prefixes_are_not_examined() {
    let store = store();
    store.create_bucket("b").await.unwrap();
    let rules = [
        days_rule("temp", "temp/", 1),
        days_rule("logs", "logs/", 2),
        days_rule("old-logs", "logs/old/", 1),
    ]
    .concat();
    set_rules(&*store, "b", &rules).await;
    for key in [
        "a",
        "logs/x",
        "logs/old/y",
        "m",
        "temp/1",
        "temp/2",
        "tempo",
        "z",
    ] {
        put(&*store, "b", key, 4, &[]).await;
    }
    let clock = Arc::new(ManualClock::starting_now());
    clock.advance(ONE_DAY * 5);
    // Page size 1 walks each prefix page by page and moves between them.
    let summary = scanner(&store, &clock, 1).run_one_cycle().await.unwrap();
    assert_eq!(summary.objects_scanned, 4);
    assert_eq!(summary.objects_expired, 4);
    for key in ["a", "m", "tempo", "z"] {
        assert_intact(&*store, "b", key, 4).await;
    }
}

mod walk_properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Whatever the keys, rule prefixes and page size, one cycle deletes
        /// exactly the keys under a rule prefix and examines nothing else,
        /// even when every step is taken by a fresh scanner (a restart).
        #[test]
        fn a_cycle_deletes_exactly_the_keys_under_rule_prefixes(
            keys in proptest::collection::btree_set("[ab/]{1,5}", 0..40),
            prefixes in proptest::collection::vec("[ab/]{0,3}", 1..4),
            page_size in 1usize..6,
            restart_every_step in any::<bool>(),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let store = store();
                store.create_bucket("b").await.unwrap();
                let rules: String = prefixes
                    .iter()
                    .enumerate()
                    .map(|(i, p)| days_rule(&format!("r{i}"), p, 1))
                    .collect();
                set_rules(&*store, "b", &rules).await;
                for key in &keys {
                    put(&*store, "b", key, 3, &[]).await;
                }
                let clock = Arc::new(ManualClock::starting_now());
                clock.advance(ONE_DAY * 3);
                let mut scanner = scanner(&store, &clock, page_size);
                let mut scanned = 0;
                for _ in 0..1000 {
                    let outcome = scanner.step().await.unwrap();
                    if let StepOutcome::CycleComplete(_) = outcome {
                        break;
                    }
                    if restart_every_step {
                        scanned += scanner.metrics().objects_scanned;
                        scanner = super::scanner(&store, &clock, page_size);
                    }
                }
                scanned += scanner.metrics().objects_scanned;
                let matching: Vec<&String> = keys
                    .iter()
                    .filter(|k| prefixes.iter().any(|p| k.starts_with(p.as_str())))
                    .collect();
                assert_eq!(scanned, matching.len() as u64, "each matching key examined once");
                for key in &keys {
                    let expected_gone = matching.contains(&key);
                    assert_eq!(read(&*store, "b", key).await.is_none(), expected_gone, "{key}");
                }
            });
        }
    }
}

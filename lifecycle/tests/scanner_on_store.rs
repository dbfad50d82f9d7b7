//! The scanner against the real erasure-coded `store::Store` on four temp
//! drive folders: the shared scenarios, plus a restart that reopens the store.

mod support;

use std::path::PathBuf;
use std::sync::Arc;

use lifecycle::*;
use store::api::*;
use store::{Store, StoreConfig};
use support::scenarios::{self, *};

fn drives(root: &tempfile::TempDir) -> Vec<PathBuf> {
    (1..=4)
        .map(|i| {
            let path = root.path().join(format!("drive{i}"));
            std::fs::create_dir_all(&path).unwrap();
            path
        })
        .collect()
}

async fn open(root: &tempfile::TempDir) -> Arc<Store> {
    Arc::new(
        Store::open(StoreConfig::new(drives(root)))
            .await
            .expect("open store"),
    )
}

#[tokio::test]
async fn temp_objects_expire_after_eight_days_and_others_stay_byte_exact() {
    let root = tempfile::tempdir().unwrap();
    scenarios::temp_objects_expire_after_eight_days_and_others_stay_byte_exact(open(&root).await)
        .await;
}

#[tokio::test]
async fn tagged_objects_expire_by_tag_rule() {
    let root = tempfile::tempdir().unwrap();
    scenarios::tagged_objects_expire_by_tag_rule(open(&root).await).await;
}

#[tokio::test]
async fn stale_uploads_are_aborted_and_others_kept() {
    let root = tempfile::tempdir().unwrap();
    scenarios::stale_uploads_are_aborted_and_others_kept(open(&root).await).await;
}

#[tokio::test]
async fn buckets_without_usable_rules_are_left_alone() {
    let root = tempfile::tempdir().unwrap();
    scenarios::buckets_without_usable_rules_are_left_alone(open(&root).await).await;
}

#[tokio::test]
async fn restart_mid_cycle_resumes_from_the_persisted_cursor() {
    let root = tempfile::tempdir().unwrap();
    scenarios::restart_mid_cycle_resumes_from_the_persisted_cursor(open(&root).await).await;
}

#[tokio::test]
async fn spawned_scanner_works_in_the_background_and_stops_on_shutdown() {
    let root = tempfile::tempdir().unwrap();
    scenarios::spawned_scanner_works_in_the_background_and_stops_on_shutdown(open(&root).await)
        .await;
}

/// The process stops after one page; the store is reopened from its drives
/// and a new scanner finishes the cycle from the persisted cursor.
#[tokio::test]
async fn scan_resumes_after_the_store_is_reopened() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    {
        let store = open(&root).await;
        store.create_bucket("photos").await.unwrap();
        set_rules(&*store, "photos", &days_rule("temp", "temp/", 7)).await;
        for i in 0..5 {
            put(&*store, "photos", &format!("temp/{i}"), 100 + i, &[]).await;
            put(&*store, "photos", &format!("keep/{i}"), 200 + i, &[]).await;
        }
        clock.advance(ONE_DAY * 8);
        let mut first = scanner(&store, &clock, 4);
        assert_eq!(first.step().await.unwrap(), StepOutcome::Progress);
        // Only temp/ is listed: temp/0..3 examined and expired.
        assert_eq!(first.metrics().objects_expired, 4);
    }
    let store = open(&root).await;
    let mut second = scanner(&store, &clock, 4);
    let summary = second.run_one_cycle().await.unwrap();
    assert_eq!(summary.objects_scanned, 1, "resumed after temp/3");
    assert_eq!(summary.objects_expired, 1);
    for i in 0..5 {
        assert_gone(&*store, "photos", &format!("temp/{i}")).await;
        assert_intact(&*store, "photos", &format!("keep/{i}"), 200 + i).await;
    }
}

/// Guards that the scanner's budget pays for drive work, not for objects a
/// listing page already shows not due: 200 objects with nothing due, at 2
/// operations per second, cost two pages (about a second), not 100 s. The
/// deletions that do come due still take the budget one by one.
#[tokio::test]
async fn objects_the_listing_shows_not_due_cost_no_budget() {
    let root = tempfile::tempdir().unwrap();
    let store = open(&root).await;
    store.create_bucket("photos").await.unwrap();
    set_rules(&*store, "photos", &days_rule("temp", "temp/", 7)).await;
    for i in 0..200 {
        put(&*store, "photos", &format!("temp/{i:03}"), 10, &[]).await;
    }
    let clock = Arc::new(ManualClock::starting_now());
    let config = ScannerConfig {
        day: DayLength::default(),
        ops_per_sec: 2,
        pace_factor: 0,
        pause_between_cycles: std::time::Duration::from_millis(10),
        page_size: 100,
        ..ScannerConfig::default()
    };
    let mut scanner = Scanner::new(
        Arc::clone(&store),
        config,
        Arc::clone(&clock) as Arc<dyn Clock>,
    );
    clock.advance(ONE_DAY);
    let started = std::time::Instant::now();
    let summary = scanner.run_one_cycle().await.unwrap();
    let took = started.elapsed();
    assert_eq!(summary.objects_scanned, 200);
    assert_eq!(summary.objects_expired, 0);
    // At one budget operation per object this is ≥ 99 s; a busy machine's
    // listing of 200 keys is far below the bound.
    assert!(
        took < std::time::Duration::from_secs(40),
        "a cycle with nothing due took {took:?}"
    );
}

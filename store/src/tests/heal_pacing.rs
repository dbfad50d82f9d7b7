//! The heal walk's cost and pacing: a GET counts as foreground work until
//! its body has been read, the walk reads each folder once however small
//! its batches, and a slow object does not hold up the objects beside it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::StreamExt;

use super::*;
use crate::keys::EncodedKey;
use crate::layout;

/// Generous for a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// Puts `keys` with `data`, 16 at a time.
async fn put_all(store: &Store, keys: &[String], data: &[u8]) {
    futures::stream::iter(keys)
        .map(|key| async move {
            store
                .put_object("bkt", key, body(data), PutOptions::default())
                .await
                .unwrap();
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

/// Removes each key's folder from drive `drive` behind the store's back
/// (no fresh drive, so no background walk starts).
fn lose_on_drive(fixture: &TestDrives, drive: usize, keys: &[String]) {
    for key in keys {
        let dir = layout::object_dir("bkt", &EncodedKey::new(key).unwrap());
        std::fs::remove_dir_all(fixture.drives[drive].join(dir)).unwrap();
    }
}

fn meta_on(fixture: &TestDrives, drive: usize, key: &str) -> std::path::PathBuf {
    fixture.drives[drive].join(layout::object_meta_path(
        "bkt",
        &EncodedKey::new(key).unwrap(),
    ))
}

/// Polls until the foreground has been quiet for a moment (a request
/// ended and none runs).
async fn wait_quiet(store: &Store) {
    let deadline = Instant::now() + PATIENCE;
    while store.inner.foreground.quiet_for().is_zero() {
        assert!(Instant::now() < deadline, "the foreground never went quiet");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A GET is foreground work until its body has been sent, not until the
/// store call returned the stream: a slow client's long download keeps the
/// heal paced. Reading the body to its end, or dropping it, ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_counts_as_foreground_until_its_body_ends_or_drops() {
    let fixture = TestDrives::new(4);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let data = pattern(4 << 20, 3);
    put_all(&store, &["big".to_owned()], &data).await;
    wait_quiet(&store).await;

    let mut reader = store.get_object("bkt", "big", None).await.unwrap();
    let first = reader.body.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    // The body is held, not finished: however long that lasts.
    tokio::time::sleep(crate::workers::QUIET * 2).await;
    assert_eq!(store.inner.foreground.quiet_for(), Duration::ZERO);
    let mut read = first.len();
    while let Some(chunk) = reader.body.next().await {
        read += chunk.unwrap().len();
    }
    assert_eq!(read, data.len());
    // Read to its end: quiet although the stream is still held.
    wait_quiet(&store).await;

    let reader = store.get_object("bkt", "big", None).await.unwrap();
    tokio::time::sleep(crate::workers::QUIET * 2).await;
    assert_eq!(store.inner.foreground.quiet_for(), Duration::ZERO);
    drop(reader);
    wait_quiet(&store).await;
    drop(store);
}

/// The heal walk carries a cursor through a bucket: with batches of 7
/// keys, every key is healed exactly once and the directory entries read
/// stay linear in the keys (a walk that re-listed the bucket per batch
/// read ~n²/7 here: 2,000 flat keys, 4 drives, ~2.3 million).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_walk_in_small_batches_heals_every_key_once_reading_each_folder_once() {
    let fixture = TestDrives::new(4);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let mut keys: Vec<String> = (0..1600).map(|i| format!("k{i:05}")).collect();
    keys.extend((0..300).map(|i| format!("d/{i:04}")));
    keys.extend((0..100).map(|i| format!("d/{i:04}/under")));
    put_all(&store, &keys, b"small").await;
    lose_on_drive(&fixture, 3, &keys[..1600]);
    // The nested keys lose their folders with the parent's: `d/` whole.
    std::fs::remove_dir_all(
        fixture.drives[3].join(layout::object_dir("bkt", &EncodedKey::new("d").unwrap())),
    )
    .unwrap();
    store.inner.heal.set_batch(7);
    let before = store.inner.heal.entries_read();
    let report = store.heal(Some("bkt"), "").await.unwrap();
    let read = store.inner.heal.entries_read() - before;
    assert_eq!(report.objects_scanned, keys.len() as u64, "{report:?}");
    assert_eq!(report.objects_healed, keys.len() as u64, "{report:?}");
    assert_eq!(report.objects_failed, 0, "{report:?}");
    for key in &keys {
        assert!(meta_on(&fixture, 3, key).exists(), "{key} not healed");
    }
    // Each key's folder holds its own entries (metadata, data) and its
    // children's folders: a few entries per key and drive.
    let linear = 4 * 4 * keys.len() as u64;
    assert!(
        read <= linear,
        "{read} directory entries for {} keys",
        keys.len()
    );
    drop(store);
}

/// Keys deleted while the walk is under way are skipped (nothing left to
/// heal), keys created in folders the walk has yet to read are healed, and
/// a walk with a prefix stays in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_walk_sees_deletes_and_creates_ahead_of_its_cursor() {
    let fixture = TestDrives::new(4);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let keys: Vec<String> = ["a/1", "a/2", "b/1", "b/2", "c/1"]
        .map(str::to_owned)
        .to_vec();
    put_all(&store, &keys, b"small").await;
    let walk = |prefix: &str| Mutex::new(crate::heal::KeyCursor::new("bkt", prefix)).into();
    let cursor: std::sync::Arc<Mutex<_>> = walk("");
    assert_eq!(
        store.inner.next_heal_keys(&cursor, 1).await.unwrap(),
        ["a/1"]
    );
    store.delete_object("bkt", "b/1").await.unwrap();
    put_all(&store, &["b/15".to_owned()], b"new").await;
    let mut rest = Vec::new();
    loop {
        let batch = store.inner.next_heal_keys(&cursor, 2).await.unwrap();
        rest.extend(batch.iter().cloned());
        if batch.len() < 2 {
            break;
        }
    }
    assert_eq!(rest, ["a/2", "b/15", "b/2", "c/1"]);
    let inside = walk("b/");
    assert_eq!(
        store.inner.next_heal_keys(&inside, 10).await.unwrap(),
        ["b/15", "b/2"]
    );
    drop(store);
}

/// The walk keeps HEAL_PARALLEL objects in flight, taking the next key as
/// each ends, rather than in groups that wait for their slowest: while one
/// large object's heal is stuck (its shard file's creation hangs on the
/// wiped drive), the small ones after it are healed beside it. (Grouped,
/// none of its group was even counted until it ended.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_object_does_not_hold_up_the_objects_beside_it() {
    let fixture = TestDrives::new(4);
    let faults: Vec<std::sync::Arc<crate::faulty::Faults>> =
        (0..4).map(|_| Default::default()).collect();
    let mut config = fixture.config();
    config.backend = crate::faulty::backend(faults.clone());
    // The hang below is the test's, not a drive's: no deadline takes the
    // drive offline for it.
    config.drive_timeout = None;
    let store = std::sync::Arc::new(fixture.open_with(config).await);
    store.create_bucket("bkt").await.unwrap();
    // Walked first: "a-big" sorts before every "k…". Large enough to be
    // kept in shard files, not inline in its metadata.
    put_all(&store, &["a-big".to_owned()], &pattern(4 << 20, 5)).await;
    let small: Vec<String> = (0..400).map(|i| format!("k{i:04}")).collect();
    put_all(&store, &small, b"small").await;
    lose_on_drive(&fixture, 3, &small);
    lose_on_drive(&fixture, 3, &["a-big".to_owned()]);
    // Only shard files are created (inline objects are atomic writes).
    faults[3].inject(crate::faulty::Op::Create, crate::faulty::Fault::Hang);
    // Released however the test ends (a failed assertion too), so the
    // stuck heal never outlives it.
    struct Release(std::sync::Arc<crate::faulty::Faults>);
    impl Drop for Release {
        fn drop(&mut self) {
            self.0.release();
        }
    }
    let release = Release(faults[3].clone());
    let heal = {
        let store = store.clone();
        tokio::spawn(async move { store.heal(Some("bkt"), "").await })
    };
    let deadline = Instant::now() + PATIENCE;
    while store.inner.heal.objects_done() < 100 {
        assert!(
            Instant::now() < deadline,
            "{} objects healed beside the stuck one",
            store.inner.heal.objects_done()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!meta_on(&fixture, 3, "a-big").exists());
    drop(release);
    let report = heal.await.unwrap().unwrap();
    assert_eq!(report.objects_healed, 401, "{report:?}");
    assert!(meta_on(&fixture, 3, "a-big").exists());
    drop(store);
}

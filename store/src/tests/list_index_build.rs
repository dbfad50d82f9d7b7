//! The listing index's first build and first pages (`list_index.rs`): a
//! listing never waits for a build (it walks while the build runs in the
//! background, and writes racing the build are in the index it installs),
//! and a page reads the facts the index does not know in parallel.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::faulty::{backend, Fault, Faults, Op};
use crate::list_index::Lookup;

/// How long background work may take on a busy machine.
const PATIENCE: Duration = Duration::from_secs(60);

async fn open_with_faults(fixture: &TestDrives) -> (Arc<Store>, Vec<Arc<Faults>>) {
    let faults: Vec<Arc<Faults>> = (0..4).map(|_| Arc::default()).collect();
    let mut config = fixture.config();
    config.backend = backend(faults.clone());
    // Injected latencies must never count as a hung drive.
    config.drive_timeout = Some(PATIENCE);
    (Arc::new(fixture.open_with(config).await), faults)
}

async fn put_keys(store: &Store, keys: &[String]) {
    for key in keys {
        store
            .put_object("bkt", key, body(key.as_bytes()), PutOptions::default())
            .await
            .unwrap();
    }
}

fn indexed(store: &Store) -> bool {
    matches!(
        store.inner.list_index.range("bkt", Bound::Unbounded, 0),
        Lookup::Keys(_)
    )
}

async fn wait_until_indexed(store: &Store) {
    let deadline = Instant::now() + PATIENCE;
    while !indexed(store) {
        assert!(Instant::now() < deadline, "the index was never built");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn list_all(store: &Store) -> Vec<String> {
    let mut keys = Vec::new();
    let mut params = ListParams {
        max_keys: 1000,
        ..Default::default()
    };
    loop {
        let page = store.list_objects("bkt", params.clone()).await.unwrap();
        keys.extend(page.objects.into_iter().map(|o| o.key));
        if !page.is_truncated {
            return keys;
        }
        params.start_after = page.next_marker;
    }
}

/// The rule: a listing that finds its bucket not indexed answers by
/// walking the folders and leaves the build to the background, so the
/// first page after a start costs what a walked page costs, not a read of
/// every folder of the bucket; and the index the build installs holds the
/// writes that raced it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_listing_during_a_slow_build_walks_and_answers_at_once() {
    const KEYS: usize = 400;
    const LIST_LATENCY: Duration = Duration::from_millis(25);
    let fixture = TestDrives::new(4);
    let (store, _) = open_with_faults(&fixture).await;
    store.create_bucket("bkt").await.unwrap();
    let keys: Vec<String> = (0..KEYS).map(|i| format!("k/{i:04}")).collect();
    put_keys(&store, &keys).await;
    drop(store);

    // After a restart every folder listing is slow: a build lists each
    // key's folder on every drive, at least KEYS x LIST_LATENCY = 10 s.
    let (store, faults) = open_with_faults(&fixture).await;
    for drive in &faults {
        drive.inject(Op::List, Fault::Latency(LIST_LATENCY));
    }
    assert!(!indexed(&store));
    let started = Instant::now();
    let page = store
        .list_objects(
            "bkt",
            ListParams {
                max_keys: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let took = started.elapsed();
    let listed: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(listed, ["k/0000", "k/0001"]);
    assert!(page.is_truncated);
    assert_eq!(page.objects[0].size, 6);
    // The walked page lists about four folders per drive (0.4 s); waiting
    // for the build would take at least 10 s.
    assert!(
        took < KEYS as u32 * LIST_LATENCY / 2,
        "the first page took {took:?}"
    );
    assert!(!indexed(&store), "the page waited for the build");

    // Writes while the build reads the drives: listings (walking) show
    // them, and so does the index once it is installed.
    store
        .put_object("bkt", "k/new", body(b"new"), PutOptions::default())
        .await
        .unwrap();
    store.delete_object("bkt", "k/0001").await.unwrap();
    let mut expected: BTreeSet<String> = keys.iter().cloned().collect();
    expected.insert("k/new".into());
    expected.remove("k/0001");
    let page = store
        .list_objects(
            "bkt",
            ListParams {
                start_after: Some("k/0000".into()),
                max_keys: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.objects[0].key, "k/0002");
    for drive in &faults {
        drive.clear();
    }
    wait_until_indexed(&store).await;
    let listed = list_all(&store).await;
    assert_eq!(listed, expected.into_iter().collect::<Vec<_>>());
}

/// The rule: the facts of a page's keys that the index does not know (all
/// of them after a start) are read up to `PARALLEL_READS` at a time, so
/// with a slow disk a page takes about latency x keys / parallelism, not
/// latency x keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_page_reads_unknown_facts_in_parallel() {
    const KEYS: usize = 64;
    const READ_LATENCY: Duration = Duration::from_millis(50);
    let fixture = TestDrives::new(4);
    let (store, _) = open_with_faults(&fixture).await;
    store.create_bucket("bkt").await.unwrap();
    let keys: Vec<String> = (0..KEYS).map(|i| format!("k/{i:04}")).collect();
    put_keys(&store, &keys).await;
    drop(store);

    let (store, faults) = open_with_faults(&fixture).await;
    store.build_list_indexes();
    wait_until_indexed(&store).await;
    for drive in &faults {
        drive.inject(Op::Read, Fault::Latency(READ_LATENCY));
    }
    let started = Instant::now();
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
    let took = started.elapsed();
    let listed: Vec<String> = page.objects.iter().map(|o| o.key.clone()).collect();
    assert_eq!(listed, keys);
    assert!(page.objects.iter().all(|o| o.size == 6));
    // Each key's facts take two reads (a read quorum of 2): one after
    // another the page takes 64 x 2 x 50 ms = 6.4 s, 16 at a time 0.4 s.
    let one_by_one = READ_LATENCY * 2 * KEYS as u32;
    assert!(took < one_by_one / 2, "the page took {took:?}");

    // What it read is kept: the next page reads no metadata at all.
    let started = Instant::now();
    let again = store
        .list_objects(
            "bkt",
            ListParams {
                max_keys: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(again.objects, page.objects);
    assert!(started.elapsed() < one_by_one / 2);
}

/// The rule: shutdown stops a running build between two folders instead
/// of waiting minutes for a large bucket, gives up the queued ones, and
/// listings after it still answer (by walking).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_stops_a_running_build() {
    const KEYS: usize = 400;
    const LIST_LATENCY: Duration = Duration::from_millis(25);
    let fixture = TestDrives::new(4);
    let (store, _) = open_with_faults(&fixture).await;
    store.create_bucket("bkt").await.unwrap();
    let keys: Vec<String> = (0..KEYS).map(|i| format!("k/{i:04}")).collect();
    put_keys(&store, &keys).await;
    drop(store);

    let (store, faults) = open_with_faults(&fixture).await;
    for drive in &faults {
        drive.inject(Op::List, Fault::Latency(LIST_LATENCY));
    }
    // The build takes at least KEYS x LIST_LATENCY = 10 s.
    store.build_list_indexes();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    store.shutdown().await;
    let took = started.elapsed();
    assert!(
        took < KEYS as u32 * LIST_LATENCY / 2,
        "shutdown took {took:?}"
    );
    assert!(!indexed(&store));
    // No build is left registered (writes would queue for it forever).
    let id = store.inner.list_index.begin_build("bkt");
    assert!(id.is_some());
    store
        .inner
        .list_index
        .finish_build("bkt", id.unwrap(), None);
    for drive in &faults {
        drive.clear();
    }
    assert_eq!(list_all(&store).await, keys);
}

//! Drive deadlines (`StoreConfig::drive_timeout`): a drive whose I/O hangs
//! is treated as failed once an operation misses the deadline, so no
//! request (PUT, GET, HEAD, LIST) waits longer than the deadline (+1 s of
//! slack for a busy machine), shutdown does not wait for it either, and
//! when the hang ends the drive comes back and is healed of what it missed.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::faulty::{backend, Fault, Faults, Op};

const DEADLINE: Duration = Duration::from_secs(2);
const SLACK: Duration = Duration::from_secs(1);
/// How long background work (probe, heal) may take on a busy machine.
const PATIENCE: Duration = Duration::from_secs(60);

async fn open_with_faults(fixture: &TestDrives) -> (Arc<Store>, Vec<Arc<Faults>>) {
    let faults: Vec<Arc<Faults>> = (0..4).map(|_| Arc::default()).collect();
    let mut config = fixture.config();
    config.backend = backend(faults.clone());
    config.drive_timeout = Some(DEADLINE);
    let store = Arc::new(fixture.open_with(config).await);
    (store, faults)
}

async fn put(store: &Store, key: &str, data: &[u8]) -> Result<(), StoreError> {
    store
        .put_object("bkt", key, body(data), PutOptions::default())
        .await
        .map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hung_drive_costs_requests_at_most_the_deadline_and_is_healed_when_it_answers() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let (store, faults) = open_with_faults(&fixture).await;
    store.create_bucket("bkt").await.unwrap();
    for i in 0..4 {
        put(&store, &format!("before/{i}"), &pattern(100_000, i))
            .await
            .unwrap();
    }
    faults[2].inject(Op::Read, Fault::Hang);
    faults[2].inject(Op::Write, Fault::Hang);
    faults[2].inject(Op::Stat, Fault::Hang);
    faults[2].inject(Op::List, Fault::Hang);

    // Mixed load from 6 clients for a little longer than two deadlines.
    let load_until = Instant::now() + DEADLINE * 2 + Duration::from_millis(500);
    let mut clients = Vec::new();
    for client in 0..6u8 {
        let (store, hung) = (store.clone(), faults[2].clone());
        clients.push(tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            let mut written = Vec::new();
            let mut round = 0u32;
            while Instant::now() < load_until {
                let started = Instant::now();
                let request = async {
                    match (round + u32::from(client)) % 4 {
                        0 => {
                            let key = format!("during/{client}-{round}");
                            let data = pattern(
                                if round.is_multiple_of(2) {
                                    3_000
                                } else {
                                    100_000
                                },
                                client,
                            );
                            let result = put(&store, &key, &data).await;
                            if result.is_ok() {
                                written.push((key, data));
                            }
                            ("PUT", result.is_ok())
                        }
                        1 => {
                            let key = format!("before/{}", round % 4);
                            let result = read_all(&store, "bkt", &key, None).await;
                            let expected = pattern(100_000, (round % 4) as u8);
                            ("GET", result.is_ok_and(|bytes| bytes == expected))
                        }
                        2 => {
                            let params = ListParams {
                                max_keys: 1000,
                                ..Default::default()
                            };
                            let result = store.list_objects("bkt", params).await;
                            ("LIST", result.is_ok_and(|page| page.objects.len() >= 4))
                        }
                        _ => {
                            let result = store.head_object("bkt", "before/0").await;
                            ("HEAD", result.is_ok())
                        }
                    }
                };
                let Ok((what, ok)) = tokio::time::timeout(DEADLINE + SLACK, request).await else {
                    // Let the hung operation go, so the test ends.
                    hung.release();
                    panic!("a request waited longer than {:?}", DEADLINE + SLACK);
                };
                let took = started.elapsed();
                assert!(ok, "{what} failed with one drive hung");
                assert!(
                    took <= DEADLINE + SLACK,
                    "{what} took {took:?} with one drive hung (deadline {DEADLINE:?})"
                );
                slowest = slowest.max(took);
                round += 1;
            }
            (slowest, written)
        }));
    }
    let mut written = Vec::new();
    for client in clients {
        let (_, keys) = client.await.unwrap();
        written.extend(keys);
    }
    assert!(!written.is_empty(), "no PUT finished during the hang");
    assert!(
        store
            .drive_status()
            .await
            .iter()
            .any(|d| d.index == 2 && !d.online),
        "the hung drive is still reported online"
    );

    // The hang ends: the drive monitor finds the drive answering again and
    // the heal walk fills in what it missed.
    faults[2].release();
    let until = Instant::now() + PATIENCE;
    loop {
        let status = store.heal_status();
        if status.redundancy_full {
            break;
        }
        assert!(
            Instant::now() < until,
            "redundancy not restored after the hang ended: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every object written during the hang reads from drive 2 and one
    // other: drive 2 holds its shards now.
    faults[0].inject_all(Fault::Eio);
    faults[1].inject_all(Fault::Eio);
    for (key, data) in &written {
        assert_eq!(
            &read_all(&store, "bkt", key, None).await.unwrap(),
            data,
            "{key} not healed onto the drive that hung"
        );
    }
    faults[0].clear();
    faults[1].clear();
    store.shutdown().await;
}

/// A worker caught in a hung drive operation (here the drive monitor's
/// probe) does not hold up `Store::shutdown` past the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_a_hung_drive() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let (store, faults) = open_with_faults(&fixture).await;
    store.create_bucket("bkt").await.unwrap();
    // One drive offline makes the monitor probe every drive; drive 2's
    // probe then hangs.
    faults[3].inject_all(Fault::Eio);
    store.drive_status().await;
    faults[2].inject(Op::Read, Fault::Hang);
    let until = Instant::now() + PATIENCE;
    while !store
        .workers()
        .iter()
        .any(|w| w.name == "drive-monitor" && w.state == crate::api::WorkerState::Active)
    {
        assert!(Instant::now() < until, "the drive monitor never probed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    let finished = tokio::time::timeout(DEADLINE + SLACK, store.shutdown()).await;
    let took = started.elapsed();
    faults[2].release();
    assert!(finished.is_ok(), "shutdown still waits after {took:?}");
    assert!(
        took <= DEADLINE + SLACK,
        "shutdown took {took:?} with a hung drive (deadline {DEADLINE:?})"
    );
}

/// A drive that hangs while a large GET streams from it costs that GET one
/// deadline, not its bytes: the rest is rebuilt from parity.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_drive_hung_mid_stream_costs_a_get_the_deadline_not_its_bytes() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let (store, faults) = open_with_faults(&fixture).await;
    store.create_bucket("bkt").await.unwrap();
    // 32 blocks of 64 KiB: far more than the stream's read-ahead.
    let data = pattern(2 << 20, 7);
    put(&store, "large", &data).await.unwrap();
    let mut reader = store.get_object("bkt", "large", None).await.unwrap();
    let mut got = reader.body.next().await.unwrap().unwrap().to_vec();
    // The drive of data shard 1 hangs on reads from now on.
    let hung = store
        .inner
        .distribution("bkt", "large")
        .iter()
        .position(|&shard| shard == 1)
        .unwrap();
    faults[hung].inject(Op::Read, Fault::Hang);
    let started = Instant::now();
    let rest = tokio::time::timeout(DEADLINE + SLACK, async {
        while let Some(chunk) = reader.body.next().await {
            got.extend_from_slice(&chunk.unwrap());
        }
    })
    .await;
    let took = started.elapsed();
    faults[hung].release();
    assert!(rest.is_ok(), "the GET still waits after {took:?}");
    assert!(got == data, "the GET returned other bytes after the hang");
    store.shutdown().await;
}

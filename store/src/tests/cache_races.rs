//! The object cache under concurrent overwrites, deletes, GETs and HEADs,
//! with a drive wiped and healed while it runs. Rule guarded: no GET or
//! HEAD answers bytes or metadata older than the last write of that key
//! acknowledged before the read started, nor a deleted object (a read may
//! see a write still in flight, never an older one).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::api::ObjectAttributes;

/// One write of a key: `seq` grows per key (one writer per key).
struct Op {
    seq: u64,
    delete: bool,
    acked: Option<Instant>,
}

/// Sizes by sequence number: inline objects and shard-file objects whose
/// bytes the cache keeps, plus one above the body limit (metadata only).
fn size_of(key: usize, seq: u64) -> usize {
    match (key + seq as usize) % 4 {
        0 => 3_000,
        1 => 60_000,
        2 => 300_000,
        _ => 1_200_000,
    }
}

/// Every 8 bytes hold `seq`: a stale or mixed body shows in its bytes.
fn content(key: usize, seq: u64) -> Vec<u8> {
    seq.to_le_bytes()
        .iter()
        .copied()
        .cycle()
        .take(size_of(key, seq))
        .collect()
}

fn options(seq: u64) -> PutOptions {
    let mut attributes = ObjectAttributes::default();
    attributes
        .user_metadata
        .insert("seq".into(), seq.to_string());
    PutOptions {
        attributes,
        ..Default::default()
    }
}

/// What a read that started at `start` and ended now may answer
/// (`seen` = the sequence number read, `None` = no such key).
fn judge(ops: &[Op], start: Instant, seen: Option<u64>) -> Result<(), String> {
    let floor = ops
        .iter()
        .rfind(|op| op.acked.is_some_and(|acked| acked < start));
    let floor_seq = floor.map_or(0, |op| op.seq);
    match seen {
        Some(seq) => {
            let op = ops.iter().find(|op| op.seq == seq);
            if op.is_none_or(|op| op.delete) {
                return Err(format!("read seq {seq}, which no PUT wrote"));
            }
            if seq < floor_seq {
                return Err(format!(
                    "read seq {seq}, older than seq {floor_seq} acknowledged before the read"
                ));
            }
        }
        None => {
            let deleted = floor.is_none_or(|op| op.delete)
                || ops.iter().any(|op| op.delete && op.seq > floor_seq);
            if !deleted {
                return Err(format!(
                    "no such key, but PUT seq {floor_seq} was acknowledged before the read"
                ));
            }
        }
    }
    Ok(())
}

const KEYS: usize = 6;

async fn read_seq(store: &Store, key: usize, head: bool) -> Result<Option<u64>, String> {
    let name = format!("k{key}");
    if head {
        return match store.head_object("bkt", &name).await {
            Ok(info) => Ok(Some(info.attributes.user_metadata["seq"].parse().unwrap())),
            Err(StoreError::NoSuchKey { .. }) => Ok(None),
            Err(err) => Err(format!("HEAD {name}: {err}")),
        };
    }
    let mut reader = match store.get_object("bkt", &name, None).await {
        Ok(reader) => reader,
        Err(StoreError::NoSuchKey { .. }) => return Ok(None),
        Err(err) => return Err(format!("GET {name}: {err}")),
    };
    let meta_seq: u64 = reader.info.attributes.user_metadata["seq"].parse().unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = reader.body.next().await {
        out.extend_from_slice(&chunk.map_err(|e| format!("GET {name} body: {e}"))?);
    }
    let seq = u64::from_le_bytes(out[..8].try_into().unwrap());
    let whole = out.len() == size_of(key, seq) && out.chunks(8).all(|c| c == &out[..c.len()]);
    if seq != meta_seq || !whole {
        return Err(format!(
            "GET {name}: body of seq {seq} ({} bytes) under metadata of seq {meta_seq}",
            out.len()
        ));
    }
    Ok(Some(seq))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_read_older_than_an_acknowledged_write_while_writes_deletes_and_a_heal_run() {
    let fixture = TestDrives::new(4);
    let store = Arc::new(fixture.open().await);
    store.create_bucket("bkt").await.unwrap();
    let history: Arc<Vec<Mutex<Vec<Op>>>> =
        Arc::new((0..KEYS).map(|_| Mutex::new(Vec::new())).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for key in 0..KEYS {
        let (store, history, stop) = (store.clone(), history.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut seq = 0u64;
            while !stop.load(Ordering::Relaxed) {
                seq += 1;
                let delete = seq.is_multiple_of(5);
                history[key].lock().unwrap().push(Op {
                    seq,
                    delete,
                    acked: None,
                });
                let name = format!("k{key}");
                let outcome = if delete {
                    store.delete_object("bkt", &name).await.map(|_| ())
                } else {
                    let data = content(key, seq);
                    store
                        .put_object("bkt", &name, body(&data), options(seq))
                        .await
                        .map(|_| ())
                };
                // A write that failed (a drive wiped under it) stays
                // unacknowledged: readers may or may not see it.
                if outcome.is_ok() {
                    let mut ops = history[key].lock().unwrap();
                    ops.last_mut().unwrap().acked = Some(Instant::now());
                }
            }
            seq
        }));
    }
    let mut readers = Vec::new();
    for reader in 0..4usize {
        let (store, history, stop) = (store.clone(), history.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            let mut reads = 0u64;
            let mut round = 0usize;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                let key = (round * 7 + reader) % KEYS;
                let head = round.is_multiple_of(4);
                let start = Instant::now();
                let seen = read_seq(&store, key, head).await?;
                let verdict = judge(&history[key].lock().unwrap(), start, seen);
                verdict.map_err(|e| format!("k{key}: {e}"))?;
                reads += 1;
                // A read served from the cache awaits nothing: let the
                // writers and the heal run on these threads too.
                tokio::task::yield_now().await;
            }
            Ok::<u64, String>(reads)
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    // A drive loses everything of the bucket while writes go on, then the
    // heal rebuilds it under the same load.
    let _ = std::fs::remove_dir_all(fixture.drive(2).join("bkt"));
    let report = store.heal(Some("bkt"), "").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let mut writes = 0;
    for writer in writers {
        writes += writer.await.unwrap();
    }
    let mut reads = 0;
    for reader in readers {
        reads += reader.await.unwrap().unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(report.is_ok(), "heal under load: {report:?}");
    assert!(writes >= KEYS as u64 * 3, "only {writes} writes ran");
    assert!(reads >= 100, "only {reads} reads ran");
    // Quiet now: every key reads exactly its last acknowledged write, from
    // the cache or the drives alike (twice: the first read may fill it).
    for key in 0..KEYS {
        for _ in 0..2 {
            let start = Instant::now();
            let seen = read_seq(&store, key, false).await.unwrap();
            let ops = history[key].lock().unwrap();
            let last = ops.iter().rev().find(|op| op.acked.is_some()).unwrap();
            judge(&ops, start, seen).unwrap();
            assert_eq!(seen, (!last.delete).then_some(last.seq), "k{key}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_object_is_gone_with_its_deleted_bucket() {
    let fixture = TestDrives::new(4);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let data = content(0, 4);
    store
        .put_object("bkt", "k0", body(&data), options(4))
        .await
        .unwrap();
    assert_eq!(read_seq(&store, 0, false).await.unwrap(), Some(4));
    assert!(store.inner.cache.bytes() >= data.len(), "the GET filled it");
    store.delete_object("bkt", "k0").await.unwrap();
    store.delete_bucket("bkt").await.unwrap();
    store.create_bucket("bkt").await.unwrap();
    assert_eq!(read_seq(&store, 0, false).await.unwrap(), None);
    assert_eq!(read_seq(&store, 0, true).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_stays_within_its_bound() {
    let fixture = TestDrives::new(4);
    let mut config = fixture.config();
    config.cache_bytes = 2 << 20;
    let store = fixture.open_with(config).await;
    store.create_bucket("bkt").await.unwrap();
    for i in 0..40u64 {
        let data = content(1, i * 4);
        let key = format!("k{i}");
        store
            .put_object("bkt", &key, body(&data), options(i))
            .await
            .unwrap();
        read_all(&store, "bkt", &key, None).await.unwrap();
        assert!(store.inner.cache.bytes() <= 2 << 20);
    }
    assert!(store.inner.cache.bytes() > 1 << 20, "it holds what fits");
    let mut config = fixture.config();
    config.cache_bytes = 0;
    drop(store);
    let store = fixture.open_with(config).await;
    read_all(&store, "bkt", "k3", None).await.unwrap();
    assert_eq!(store.inner.cache.bytes(), 0, "0 turns it off");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_read_to_its_last_byte_fills_the_cache_though_its_end_is_never_polled() {
    // An HTTP body of known length is dropped after its last byte, never
    // polled for its end: the bytes are kept as the last chunk goes out.
    let fixture = TestDrives::new(4);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    for (key, seq) in [(0, 4), (2, 4)] {
        // 3,000 bytes inline, then 300,000 bytes in shard files.
        let data = content(key, seq);
        let name = format!("k{key}");
        store
            .put_object("bkt", &name, body(&data), options(seq))
            .await
            .unwrap();
        let before = store.inner.cache.bytes();
        let mut reader = store.get_object("bkt", &name, None).await.unwrap();
        let mut read = 0;
        while read < data.len() {
            read += reader.body.next().await.unwrap().unwrap().len();
        }
        drop(reader);
        assert!(
            store.inner.cache.bytes() >= before + data.len(),
            "{name}: {} bytes read, not kept",
            data.len()
        );
        let hit = store.get_object("bkt", &name, None).await.unwrap();
        assert_eq!(hit.info.size, data.len() as u64);
    }
}

/// Guards that a heal putting the agreed version back on a drive that
/// lost it keeps that object's cache entry: a heal running under the
/// foreground's GETs must not turn every hot GET into a drive read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heal_that_restores_the_agreed_version_keeps_its_cache_entry() {
    let fixture = TestDrives::new(4);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let data = content(0, 6);
    store
        .put_object("bkt", "k0", body(&data), options(6))
        .await
        .unwrap();
    assert_eq!(read_seq(&store, 0, false).await.unwrap(), Some(6));
    let cached = store.inner.cache.bytes();
    assert!(cached >= data.len(), "the GET filled it");
    // Drive 1 loses the object's folder; the heal writes it back.
    let bucket_dir = fixture.drive(1).join("bkt");
    std::fs::remove_dir_all(&bucket_dir).unwrap();
    std::fs::create_dir_all(&bucket_dir).unwrap();
    let report = store.heal_object("bkt", "k0").await.unwrap();
    assert_eq!(report.objects_healed, 1, "{report:?}");
    assert_eq!(
        store.inner.cache.bytes(),
        cached,
        "the heal dropped the entry"
    );
    assert_eq!(read_seq(&store, 0, false).await.unwrap(), Some(6));
    // A write still drops it.
    store.delete_object("bkt", "k0").await.unwrap();
    assert_eq!(read_seq(&store, 0, false).await.unwrap(), None);
}

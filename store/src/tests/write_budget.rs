//! The write path's resources: the shared staging area is never fsynced,
//! slow uploads hold no blocking thread, and every block is charged to the
//! one write budget.

use super::*;

/// Profile cost 1: a PUT never fsyncs the shared staging area (every
/// concurrent write would queue on that one inode), not even a heal's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_never_fsync_the_shared_tmp_area() {
    use std::sync::atomic::Ordering;
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let before = crate::drive::tmp_area_fsyncs::COUNT.load(Ordering::Relaxed);
    for key in ["a", "b/c"] {
        store
            .put_object(
                "bkt",
                key,
                body(&pattern(300_000, 4)),
                PutOptions::default(),
            )
            .await
            .unwrap();
    }
    std::fs::remove_dir_all(fixture.drives[2].join("bkt")).unwrap();
    store.heal(None, "").await.unwrap();
    assert_eq!(
        crate::drive::tmp_area_fsyncs::COUNT.load(Ordering::Relaxed),
        before,
        "the shared tmp area was fsynced"
    );
}

/// A slow upload parks no blocking thread, so metadata work keeps
/// running even with a tiny blocking pool and stalled bodies.
#[test]
fn stalled_uploads_do_not_hold_blocking_threads() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(4)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
        let store = std::sync::Arc::new(fixture.open().await);
        store.create_bucket("bkt").await.unwrap();
        store
            .put_object("bkt", "small", body(b"hello"), PutOptions::default())
            .await
            .unwrap();
        let mut stalled = Vec::new();
        for upload in 0..2 {
            let store = store.clone();
            stalled.push(tokio::spawn(async move {
                let first: Result<Bytes, StoreError> = Ok(Bytes::from(pattern(200_000, 1)));
                let body: ByteStream = Box::pin(
                    futures::stream::once(async move { first }).chain(futures::stream::pending()),
                );
                let _ = store
                    .put_object(
                        "bkt",
                        &format!("stalled{upload}"),
                        body,
                        PutOptions::default(),
                    )
                    .await;
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let head = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            store.head_object("bkt", "small"),
        )
        .await;
        assert!(head.is_ok(), "HEAD starved by stalled uploads");
        head.unwrap().unwrap();
        for task in stalled {
            task.abort();
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_one_buffer_budget_and_give_it_back() {
    // 64 KiB blocks cost 192 KiB with their 2+2 shards: a 256 KiB budget
    // holds one block at a time, a 100 KiB budget less than one block
    // (which must still make progress, alone).
    for limit in [256 << 10, 100 << 10] {
        let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
        let mut config = fixture.config();
        config.write_buffer_limit = limit;
        let store = std::sync::Arc::new(Store::open(config).await.unwrap());
        store.create_bucket("bkt").await.unwrap();
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = {
            let (store, peak, done) = (store.clone(), peak.clone(), done.clone());
            tokio::spawn(async move {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    peak.fetch_max(
                        store.write_buffer_in_use(),
                        std::sync::atomic::Ordering::Relaxed,
                    );
                    tokio::time::sleep(std::time::Duration::from_micros(200)).await;
                }
            })
        };
        let mut writes = Vec::new();
        for writer in 0..12u8 {
            let store = store.clone();
            writes.push(tokio::spawn(async move {
                let data = pattern(600_000 + usize::from(writer) * 1000, writer);
                let key = format!("k{writer}");
                let stream: ByteStream = if writer % 4 == 3 {
                    // A body that breaks half-way: its blocks must be given back.
                    let half = Bytes::copy_from_slice(&data[..300_000]);
                    Box::pin(futures::stream::iter(vec![
                        Ok(half),
                        Err(StoreError::IncompleteBody),
                    ]))
                } else {
                    body(&data)
                };
                let result = store
                    .put_object("bkt", &key, stream, PutOptions::default())
                    .await;
                (key, data, writer % 4 == 3, result)
            }));
        }
        for write in writes {
            let (key, data, broken, result) = write.await.unwrap();
            if broken {
                assert!(result.is_err(), "{key}");
            } else {
                result.unwrap();
                assert_eq!(read_all(&store, "bkt", &key, None).await.unwrap(), data);
            }
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        sampler.await.unwrap();
        let peak = peak.load(std::sync::atomic::Ordering::Relaxed);
        assert!(peak > 0, "the sampler saw no write in flight");
        assert!(
            peak <= limit.div_ceil(1024) * 1024,
            "peak {peak} over {limit}"
        );
        assert_eq!(
            store.write_buffer_in_use(),
            0,
            "every block's claim is returned"
        );
    }
}

/// A body fed through a channel, so a test decides when each chunk arrives.
fn channel_body() -> (
    tokio::sync::mpsc::Sender<Result<Bytes, StoreError>>,
    ByteStream,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, StoreError>>(1);
    let stream: ByteStream = Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    (tx, stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_being_assembled_is_charged_for_what_arrived() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = std::sync::Arc::new(fixture.open().await);
    store.create_bucket("bkt").await.unwrap();
    let (tx, stream) = channel_body();
    let put = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .put_object("bkt", "slow", stream, PutOptions::default())
                .await
        })
    };
    // One and a half blocks (64 KiB blocks here), then the client stalls.
    let data = pattern(96 << 10, 6);
    tx.send(Ok(Bytes::copy_from_slice(&data))).await.unwrap();
    // The first block reaches the drives and gives its claim back; the half
    // block the splitter holds stays charged for its 32 KiB, not for a
    // whole block (64 KiB plus 128 KiB of frames).
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    while store.write_buffer_in_use() != 32 << 10 {
        assert!(
            Instant::now() < deadline,
            "{} bytes charged for a stalled half block",
            store.write_buffer_in_use()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    drop(tx);
    put.await.unwrap().unwrap();
    assert_eq!(store.write_buffer_in_use(), 0);
    assert_eq!(read_all(&store, "bkt", "slow", None).await.unwrap(), data);
}

/// The slow-body attack: uploads that each sent one byte of a large
/// declared body hold budget for that byte, so with far more of them than
/// whole blocks fit in the budget, other uploads still go through at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_uploads_do_not_hold_back_other_uploads() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let mut config = fixture.config();
    // Five whole blocks (192 KiB each with their frames).
    config.write_buffer_limit = 5 * (192 << 10);
    let store = std::sync::Arc::new(Store::open(config).await.unwrap());
    store.create_bucket("bkt").await.unwrap();
    let mut stalled = Vec::new();
    for upload in 0..40 {
        let (tx, stream) = channel_body();
        let store = store.clone();
        let options = PutOptions {
            size: Some(8 << 20),
            ..PutOptions::default()
        };
        stalled.push((
            tx.clone(),
            tokio::spawn(async move {
                store
                    .put_object("bkt", &format!("stalled{upload}"), stream, options)
                    .await
            }),
        ));
        tx.send(Ok(Bytes::from_static(b"s"))).await.unwrap();
    }
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    while store.write_buffer_in_use() < 40 << 10 {
        assert!(
            Instant::now() < deadline,
            "the stalled uploads hold nothing"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        store.write_buffer_in_use() <= 40 * (4 << 10),
        "{} bytes held by 40 one-byte uploads",
        store.write_buffer_in_use()
    );
    let data = pattern(600_000, 9);
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        store.put_object("bkt", "ordinary", body(&data), PutOptions::default()),
    )
    .await
    .expect("an upload beside 40 stalled ones finishes")
    .unwrap();
    assert_eq!(
        read_all(&store, "bkt", "ordinary", None).await.unwrap(),
        data
    );
    for (tx, task) in stalled {
        tx.send(Err(StoreError::IncompleteBody)).await.unwrap();
        assert!(task.await.unwrap().is_err());
    }
    assert_eq!(store.write_buffer_in_use(), 0);
}

/// One upload whose body is all in hand holds at most its write's
/// `IN_FLIGHT_BLOCKS` (8) blocks of the budget, leaving the rest to others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_upload_holds_at_most_its_share_of_the_budget() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = std::sync::Arc::new(fixture.open().await);
    store.create_bucket("bkt").await.unwrap();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (store, peak, done) = (store.clone(), peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak.fetch_max(
                    store.write_buffer_in_use(),
                    std::sync::atomic::Ordering::Relaxed,
                );
                tokio::task::yield_now().await;
            }
        })
    };
    // The whole body in one chunk: the splitter hands out 96 blocks at once.
    let data = pattern(6 << 20, 3);
    let whole: ByteStream = Box::pin(futures::stream::iter(vec![Ok::<_, StoreError>(
        Bytes::copy_from_slice(&data),
    )]));
    store
        .put_object("bkt", "big", whole, PutOptions::default())
        .await
        .unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    sampler.await.unwrap();
    let peak = peak.load(std::sync::atomic::Ordering::Relaxed);
    assert!(peak > 0, "the sampler saw no write in flight");
    assert!(peak <= 8 * (192 << 10), "one upload held {peak} bytes");
    assert_eq!(read_all(&store, "bkt", "big", None).await.unwrap(), data);
}

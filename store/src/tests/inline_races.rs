//! Small (inline) objects under concurrent overwrites, and drive folders
//! copied one by one while a key is rewritten (a hot backup). Rule guarded:
//! a GET of an inline object answers exactly the bytes of one written
//! version, whose MD5 is the ETag it is served with — never a mix.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use super::*;

/// A body whose every 8 bytes are the same tag: a mix of two versions is
/// visible in the bytes themselves.
fn tagged(len: usize, tag: u64) -> Vec<u8> {
    tag.to_le_bytes()
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

/// Whether `bytes` is one tagged body, whole, and its MD5 is `etag`.
fn whole_version(bytes: &[u8], len: usize, etag: &str) -> Result<(), String> {
    if bytes.len() != len {
        return Err(format!("{} bytes, expected {len}", bytes.len()));
    }
    let first = &bytes[..8];
    if let Some(at) = bytes.chunks(8).position(|c| c != &first[..c.len()]) {
        return Err(format!("bytes of two versions (differs at {})", at * 8));
    }
    let mut hasher = crate::hashing::BodyHasher::new(None);
    hasher.update(bytes);
    let md5 = hex::encode(hasher.finish().0);
    if md5 != etag {
        return Err(format!("body MD5 {md5} is not the ETag {etag}"));
    }
    Ok(())
}

/// Reads `key` and checks the answer is one whole version.
async fn check_read(store: &Store, key: &str, len: usize) -> Result<bool, String> {
    let reader = match store.get_object("bkt", key, None).await {
        Ok(reader) => reader,
        Err(StoreError::NoSuchKey { .. }) => return Ok(false),
        Err(err) => return Err(format!("{key}: {err}")),
    };
    let etag = reader.info.etag.trim_matches('"').to_owned();
    let mut body = reader.body;
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk.map_err(|e| format!("{key}: body: {e}"))?);
    }
    whole_version(&out, len, &etag)
        .map(|()| true)
        .map_err(|e| format!("{key}: {e}"))
}

const SIZES: [usize; 3] = [4096, 2_598, 12_000];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_overwrites_of_a_small_key_read_whole_versions() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = Arc::new(fixture.open().await);
    store.create_bucket("bkt").await.unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let tags = Arc::new(AtomicU64::new(1));
    let mut writers = Vec::new();
    for writer in 0..3 {
        let (store, done, tags) = (store.clone(), done.clone(), tags.clone());
        writers.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                for (k, &len) in SIZES.iter().enumerate() {
                    let tag = tags.fetch_add(1, Ordering::Relaxed) << 8 | writer;
                    store
                        .put_object(
                            "bkt",
                            &format!("k{k}"),
                            body(&tagged(len, tag)),
                            PutOptions::default(),
                        )
                        .await
                        .unwrap();
                }
            }
        }));
    }
    let mut reads = 0u64;
    let started = Instant::now();
    while started.elapsed().as_secs_f64() < 4.0 {
        for (k, &len) in SIZES.iter().enumerate() {
            match check_read(&store, &format!("k{k}"), len).await {
                Ok(found) => reads += u64::from(found),
                Err(err) => panic!("{err}"),
            }
        }
    }
    done.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(reads > 100, "only {reads} reads found the keys");
}

/// Copies a drive folder as `tar` would while the server runs: files and
/// folders that vanish during the copy are skipped.
fn copy_live_tree(from: &Path, to: &Path) {
    let _ = std::fs::create_dir_all(to);
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    for entry in entries.flatten() {
        let target = to.join(entry.file_name());
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => copy_live_tree(&entry.path(), &target),
            Ok(_) => {
                let _ = std::fs::copy(entry.path(), &target);
            }
            Err(_) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drives_copied_one_by_one_during_overwrites_read_whole_versions() {
    for round in 0..3 {
        let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
        let store = Arc::new(fixture.open().await);
        store.create_bucket("bkt").await.unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let tags = Arc::new(AtomicU64::new(1));
        let mut writers = Vec::new();
        for writer in 0..3u64 {
            let (store, done, tags) = (store.clone(), done.clone(), tags.clone());
            writers.push(tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    for k in 0..8 {
                        let len = SIZES[k % SIZES.len()];
                        let tag = tags.fetch_add(1, Ordering::Relaxed) << 8 | writer;
                        let _ = store
                            .put_object(
                                "bkt",
                                &format!("k{k}"),
                                body(&tagged(len, tag)),
                                PutOptions::default(),
                            )
                            .await;
                    }
                }
            }));
        }
        let copy = TestDrives::with_sizes(4, SMALL_BLOCKS);
        for drive in 0..4 {
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            let (from, to) = (
                fixture.drive(drive).to_path_buf(),
                copy.drive(drive).to_path_buf(),
            );
            tokio::task::spawn_blocking(move || copy_live_tree(&from, &to))
                .await
                .unwrap();
        }
        done.store(true, Ordering::Relaxed);
        for writer in writers {
            writer.await.unwrap();
        }
        let restored = copy.open().await;
        let mut failures = Vec::new();
        for k in 0..8 {
            let len = SIZES[k % SIZES.len()];
            if let Err(err) = check_read(&restored, &format!("k{k}"), len).await {
                if err.contains("two versions") || err.contains("MD5") || err.contains("bytes,") {
                    failures.push(format!("round {round} before heal: {err}"));
                }
            }
        }
        let _ = restored.heal(None, "").await;
        for k in 0..8 {
            let len = SIZES[k % SIZES.len()];
            if let Err(err) = check_read(&restored, &format!("k{k}"), len).await {
                if err.contains("two versions") || err.contains("MD5") || err.contains("bytes,") {
                    failures.push(format!("round {round} after heal: {err}"));
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}

//! Backups as a deployment takes them: `tar` of the four drive folders while the server runs and
//! clients write, restored by untarring into fresh folders and starting a server there.
//!
//! Rule guarded: every object acknowledged before the tar started reads back exactly from the
//! restored copy; objects written while the tar ran read old, new or absent, never torn; and
//! after `minnow heal` the copy is consistent (listings agree with reads, no temporary files).

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use conformance::{ServerOptions, TestServer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::checks::{check_everything, check_temporary_files};
use crate::faults::{full_heal, wait_for_background_heal, HealRun};
use crate::model::Content;
use crate::workload::{Shared, OP_TIMEOUT};

const BUCKET: &str = "backup";
const STABLE_OBJECTS: usize = 40;
const WRITERS: usize = 2;
const KEYS_PER_WRITER: usize = 12;

const BEFORE_TAR: u8 = 0;
const DURING_TAR: u8 = 1;
const AFTER_TAR: u8 = 2;

/// The test server's drive folders under its drive root.
const DRIVE_FOLDERS: [&str; 4] = ["drive1", "drive2", "drive3", "drive4"];

/// Mostly small objects, some of several erasure blocks: enough data that the tar takes a few
/// seconds (it also pauses at checkpoints), little enough for a test.
fn backup_size(rng: &mut StdRng) -> usize {
    if rng.gen_bool(0.7) {
        rng.gen_range(0..64 * 1024)
    } else {
        rng.gen_range(256 * 1024..1536 * 1024)
    }
}

/// PUT of fresh content; true when acknowledged.
async fn put(shared: &Shared, rng: &mut StdRng, key: &str) -> (usize, bool) {
    let content = Content {
        segments: vec![(rng.gen(), backup_size(rng))],
    };
    let id = shared.model.lock().unwrap().add_content(content.clone());
    let client = shared.client.read().unwrap().clone();
    let request = client
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .body(ByteStream::from(content.bytes()))
        .send();
    let acked = matches!(tokio::time::timeout(OP_TIMEOUT, request).await, Ok(Ok(_)));
    (id, acked)
}

/// Overwrites, deletes and copies among its own keys until the tar is done. Only what was
/// acknowledged before the tar started is definite for the copy; everything later may or may
/// not be in it.
async fn writer(shared: Arc<Shared>, phase: Arc<AtomicU8>, during: Arc<AtomicU64>, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let keys: Vec<String> = (0..KEYS_PER_WRITER)
        .map(|i| format!("churn/{seed}/{i:02}"))
        .collect();
    while phase.load(Ordering::SeqCst) != AFTER_TAR {
        let key = &keys[rng.gen_range(0..keys.len())];
        let client = shared.client.read().unwrap().clone();
        let roll = rng.gen_range(0..100);
        if roll < 70 {
            let (id, acked) = put(&shared, &mut rng, key).await;
            let definite = acked && phase.load(Ordering::SeqCst) == BEFORE_TAR;
            shared
                .model
                .lock()
                .unwrap()
                .record_write(BUCKET, key, Some(id), definite);
        } else if roll < 85 {
            let request = client.delete_object().bucket(BUCKET).key(key).send();
            let acked = matches!(tokio::time::timeout(OP_TIMEOUT, request).await, Ok(Ok(_)));
            let definite = acked && phase.load(Ordering::SeqCst) == BEFORE_TAR;
            shared
                .model
                .lock()
                .unwrap()
                .record_write(BUCKET, key, None, definite);
        } else {
            let source = &keys[rng.gen_range(0..keys.len())];
            if source == key {
                continue;
            }
            let request = client
                .copy_object()
                .bucket(BUCKET)
                .key(key)
                .copy_source(format!("{BUCKET}/{source}"))
                .send();
            let result = tokio::time::timeout(OP_TIMEOUT, request).await;
            let definite =
                matches!(result, Ok(Ok(_))) && phase.load(Ordering::SeqCst) == BEFORE_TAR;
            // A copy refused because the source is absent changes nothing; any other outcome
            // may have landed.
            let refused = matches!(&result, Ok(Err(e))
                if e.as_service_error().is_some_and(|e| e.is_object_not_in_active_tier_error()
                    || aws_sdk_s3::error::ProvideErrorMetadata::code(e) == Some("NoSuchKey")));
            if !refused {
                let verdict = shared
                    .model
                    .lock()
                    .unwrap()
                    .record_copy(BUCKET, source, key, definite);
                shared.report(verdict);
            }
        }
        if phase.load(Ordering::SeqCst) != BEFORE_TAR {
            during.fetch_add(1, Ordering::SeqCst);
            // A copy that caught the key mid-write may also lack it altogether.
            shared
                .model
                .lock()
                .unwrap()
                .record_write(BUCKET, key, None, false);
        }
    }
}

/// `tar` of the drive folders of a running server, as an operator takes it: one archive per
/// drive folder (DURABILITY.md: GNU tar given several folders records every file's inode number
/// and, on a live copy where inodes are freed and reused, archives unrelated files as hard links
/// to each other). Files that change or vanish while tar reads are expected (tar exits 1 for
/// them), and checkpoints pause tar so that the copy spans several seconds of writes.
fn tar_drives(root: &Path, archives: &Path) {
    for drive in DRIVE_FOLDERS {
        let status = Command::new("tar")
            .args([
                "--create",
                "--warning=no-file-changed",
                "--warning=no-file-removed",
                "--warning=no-file-shrank",
                "--ignore-failed-read",
                "--checkpoint=250",
                "--checkpoint-action=sleep=1",
            ])
            .arg("--file")
            .arg(archives.join(format!("{drive}.tar")))
            .arg("--directory")
            .arg(root)
            .arg(drive)
            .status()
            .expect("running tar");
        assert!(
            matches!(status.code(), Some(0 | 1)),
            "tar of the running server's {drive} failed: {status}"
        );
    }
}

fn untar_drives(archives: &Path, root: &Path) {
    for drive in DRIVE_FOLDERS {
        let status = Command::new("tar")
            .arg("--extract")
            .arg("--file")
            .arg(archives.join(format!("{drive}.tar")))
            .arg("--directory")
            .arg(root)
            .status()
            .expect("running tar");
        assert!(status.success(), "untar of {drive} failed: {status}");
    }
}

/// A restored copy of a hot backup, checked once before and once after `minnow heal`.
struct Restored {
    /// Kept alive: the copy's server is killed when this is dropped.
    _original: TestServer,
    server: TestServer,
    shared: Arc<Shared>,
    heal: HealRun,
    /// The restored server's start-up heal (it finds the running marker of the copied server).
    startup_heal: HealRun,
    /// Reads that failed on keys written while the tar ran, before and after the heal.
    unreadable_before_heal: Vec<String>,
    unreadable_after_heal: Vec<String>,
}

/// Writes, tars the drive folders under write load, restores the archive into a second
/// server's fresh folders and checks the copy before and after a full heal. None for an
/// external endpoint.
async fn backup_and_restore() -> Option<Restored> {
    let original = TestServer::start().expect("starting server");
    if original.is_external() {
        eprintln!("external endpoint: the backup test needs the drive folders; skipped");
        return None;
    }
    let shared = Arc::new(Shared::new(&original));
    let client = original.s3_client();
    client.create_bucket().bucket(BUCKET).send().await.unwrap();
    shared.model.lock().unwrap().record_bucket(BUCKET, true);

    // Acknowledged before the tar starts, never touched again.
    let mut rng = StdRng::seed_from_u64(0xBAC0);
    for index in 0..STABLE_OBJECTS {
        let key = format!("stable/{index:02}");
        let (id, acked) = put(&shared, &mut rng, &key).await;
        assert!(acked, "PUT {key} before the backup");
        shared
            .model
            .lock()
            .unwrap()
            .record_write(BUCKET, &key, Some(id), true);
    }

    let phase = Arc::new(AtomicU8::new(BEFORE_TAR));
    let during = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..WRITERS as u64)
        .map(|seed| tokio::spawn(writer(shared.clone(), phase.clone(), during.clone(), seed)))
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await;

    let backup_dir = tempfile::tempdir().unwrap();
    let archives = backup_dir.path();
    phase.store(DURING_TAR, Ordering::SeqCst);
    let tar_started = Instant::now();
    let root = original.drive_root().unwrap().to_path_buf();
    tokio::task::block_in_place(|| tar_drives(&root, archives));
    let tar_seconds = tar_started.elapsed().as_secs_f64();
    phase.store(AFTER_TAR, Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }
    let writes_during_tar = during.load(Ordering::SeqCst);
    let archived: u64 = DRIVE_FOLDERS
        .iter()
        .map(|d| {
            std::fs::metadata(archives.join(format!("{d}.tar")))
                .unwrap()
                .len()
        })
        .sum();
    eprintln!("backup: tar took {tar_seconds:.1} s ({archived} bytes) while {writes_during_tar} writes ran");
    assert!(
        writes_during_tar > 0,
        "no write overlapped the tar: the test proves nothing"
    );

    // Restore into fresh folders: a new server's drives are replaced by the archive's.
    let mut server = TestServer::spawn(ServerOptions::default()).expect("second server");
    server.stop().expect("stop");
    let restored_root = server.drive_root().unwrap().to_path_buf();
    for drive in server.drives() {
        std::fs::remove_dir_all(drive).unwrap();
    }
    untar_drives(archives, &restored_root);
    server.restart().expect("start on the restored folders");
    shared.connect(&server);

    *shared.context.lock().unwrap() = "restored copy, before heal".to_string();
    let restored_client = server.s3_client();
    check_everything(&restored_client, &shared, None, server.drives()).await;
    check_temporary_files(&shared, server.drives());
    let unreadable_before_heal = shared.stats.lock().unwrap().ambiguous.clone();

    let startup_heal = tokio::task::block_in_place(|| wait_for_background_heal(&server));
    let heal = tokio::task::block_in_place(|| full_heal(&server));
    *shared.context.lock().unwrap() = "restored copy, after heal".to_string();
    check_everything(&restored_client, &shared, None, server.drives()).await;
    check_temporary_files(&shared, server.drives());
    let unreadable_after_heal =
        shared.stats.lock().unwrap().ambiguous[unreadable_before_heal.len()..].to_vec();
    {
        let stats = shared.stats.lock().unwrap();
        eprintln!(
            "backup: {} object reads, {} listings; keys written during the tar and unreadable: \
             {} before heal, {} after; start-up heal done: {}; heal complete: {}",
            stats.object_checks,
            stats.listing_checks,
            unreadable_before_heal.len(),
            unreadable_after_heal.len(),
            startup_heal.complete,
            heal.complete
        );
    }
    Some(Restored {
        _original: original,
        server,
        shared,
        heal,
        startup_heal,
        unreadable_before_heal,
        unreadable_after_heal,
    })
}

/// Every object acknowledged before the tar started reads back exactly from the copy; what
/// was written during the tar reads old, new or absent (or not at all), never torn; listings
/// show nothing the model rules out; no temporary file survives the start-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hot_tar_backup_restores_acknowledged_objects() {
    let Some(restored) = backup_and_restore().await else {
        return;
    };
    let stats = restored.shared.stats.lock().unwrap();
    assert!(
        stats.violations.is_empty(),
        "{} violations, first: {}\nheal: {}\nrestored server log:\n{}",
        stats.violations.len(),
        stats.violations[0],
        restored.heal.output,
        restored.server.log_tail(3000)
    );
}

/// The start-up heal and `minnow heal` resolve what the copy caught mid-write: the start-up heal
/// finishes, afterwards every key reads old, new or absent, and `minnow heal` reports
/// completion.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hot_tar_backup_is_consistent_after_heal() {
    let Some(restored) = backup_and_restore().await else {
        return;
    };
    let listed = listed_keys(&restored.server.s3_client()).await;
    let unreadable: Vec<String> = restored
        .unreadable_after_heal
        .iter()
        .map(|message| {
            let key = message
                .split_whitespace()
                .find_map(|word| word.strip_prefix("backup/"))
                .and_then(|rest| rest.strip_suffix(':'))
                .unwrap_or_default();
            let shown = if listed.contains(key) {
                "listed"
            } else {
                "not listed"
            };
            format!("{message} [{shown}]")
        })
        .collect();
    assert!(
        restored.startup_heal.complete,
        "the restored copy's start-up heal did not finish: {}\nlog:\n{}",
        restored.startup_heal.output,
        restored.server.log_tail(3000)
    );
    // The copy holds the running server's marker: its start must heal everything (no write
    // failed, so no missed-write marker would).
    let log = std::fs::read_to_string(restored.server.log_path().unwrap()).unwrap_or_default();
    assert!(
        log.contains("the last run did not stop cleanly"),
        "the restored copy's start did not request the start-up heal:\n{}",
        restored.server.log_tail(3000)
    );
    assert!(
        restored.heal.complete && unreadable.is_empty(),
        "after minnow heal (complete: {}, output: {}), {} keys written during the tar still \
         answer neither old, new nor absent ({} before the heal):\n{}",
        restored.heal.complete,
        restored.heal.output,
        unreadable.len(),
        restored.unreadable_before_heal.len(),
        unreadable.join("\n")
    );
}

async fn listed_keys(client: &aws_sdk_s3::Client) -> std::collections::BTreeSet<String> {
    let mut keys = std::collections::BTreeSet::new();
    let mut continuation = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(BUCKET)
            .set_continuation_token(continuation.take())
            .send()
            .await
            .expect("listing the restored bucket");
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        match page.next_continuation_token() {
            Some(token) if page.is_truncated() == Some(true) => {
                continuation = Some(token.to_string())
            }
            _ => return keys,
        }
    }
}

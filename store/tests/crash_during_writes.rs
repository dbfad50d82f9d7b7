//! Acknowledged writes survive `kill -9` at any moment, and nothing torn is
//! ever visible.
//!
//! The test binary re-executes itself as a writer child (the
//! `crash_writer_child` test, active only when `MINNOW_CRASH_CHILD_ROOT` is
//! set). The child opens the store, writes and overwrites inline-sized and
//! multi-block objects from several tasks, and prints
//! `ACK <key> <round> <n> <blake3>` after each put returns `Ok`. The parent
//! SIGKILLs it at random moments (and, with the `test-util` feature, lets the
//! engine abort itself at named crash points), reopens the store and checks:
//! - every key holds exactly its last acknowledged version or one of the
//!   versions written after it (absent only if nothing was ever acknowledged
//!   for it) — compared by content hash, so a torn or mixed object fails;
//! - the listing agrees with what `get` finds;
//! - after start-up the temporary area (`.minnow.sys/tmp` on every drive, or
//!   any folder named like a temporary one) holds no files.
//!
//! - after all rounds, a full heal leaves no stale `d.<id>` data folders
//!   nor `obj.meta` temp files (start-up does not reclaim them; heal does)
//!   and changes no object.
//!
//! Also printed, not asserted: versions that readers could see after one
//! crash but that vanished after a later one although never acknowledged,
//! and the stale data folders left after each start-up.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use rand::Rng;
use store::api::{ListParams, Maintenance, ObjectStore, PutOptions, StoreError};
use store::{Store, StoreConfig};

const ROOT_ENV: &str = "MINNOW_CRASH_CHILD_ROOT";
const ROUND_ENV: &str = "MINNOW_CRASH_CHILD_ROUND";
const BUCKET: &str = "crash";
const KEYS: usize = 12;
const WRITERS: usize = 3;
const BLOCK: usize = 128 * KIB;
const INLINE_LIMIT: usize = 16 * KIB;
/// A child that is never killed stops by itself after this long.
const CHILD_MAX_RUN: Duration = Duration::from_secs(15);

fn key_name(index: usize) -> String {
    if index & 1 == 0 {
        format!("k{index:02}")
    } else {
        format!("dir/sub/k{index:02}")
    }
}

/// Sizes span empty, inline, just over inline, one block and several blocks.
const SIZES: [usize; 8] = [
    0,
    100,
    INLINE_LIMIT - 1,
    INLINE_LIMIT + 1,
    BLOCK,
    2 * BLOCK + 7,
    5 * BLOCK + 1,
    40 * KIB,
];

fn version_seed(key: &str, round: u64, n: u64) -> u64 {
    let hash = blake3::hash(format!("{key}/{round}/{n}").as_bytes());
    u64::from_le_bytes(hash.as_bytes()[..8].try_into().unwrap())
}

/// The content of version `n` written in `round` to `key`: deterministic, so
/// the parent recomputes what the child wrote.
fn version_content(key: &str, round: u64, n: u64) -> Vec<u8> {
    let seed = version_seed(key, round, n);
    random_bytes(seed, SIZES[(seed % SIZES.len() as u64) as usize])
}

fn version_hash(key: &str, round: u64, n: u64) -> String {
    blake3_hex(&version_content(key, round, n))
}

fn config_for(root: &Path) -> StoreConfig {
    let drives: Vec<PathBuf> = (1..=4)
        .map(|i| root.join("set").join(format!("drive{i}")))
        .collect();
    let mut config = StoreConfig::new(drives);
    config.block_size = BLOCK;
    config.inline_limit = INLINE_LIMIT;
    config
}

/// The writer child. A no-op unless started by the parent below.
#[test]
fn crash_writer_child() {
    let Ok(root) = std::env::var(ROOT_ENV) else {
        return;
    };
    let round: u64 = std::env::var(ROUND_ENV).unwrap().parse().unwrap();
    runtime().block_on(async move {
        let store = Arc::new(
            Store::open(config_for(Path::new(&root)))
                .await
                .expect("child: open"),
        );
        let stdout = Arc::new(Mutex::new(std::io::stdout()));
        {
            let mut out = stdout.lock().unwrap();
            writeln!(out, "\nREADY").unwrap();
            out.flush().unwrap();
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for writer in 0..WRITERS {
            let store = Arc::clone(&store);
            let stdout = Arc::clone(&stdout);
            tasks.push(tokio::spawn(async move {
                let mine: Vec<String> = (0..KEYS)
                    .filter(|k| k % WRITERS == writer)
                    .map(key_name)
                    .collect();
                let mut n = vec![0u64; mine.len()];
                // Start at a different key each round: crash points abort
                // in the first put, and should not always hit the same keys.
                let mut turn = round as usize;
                while started.elapsed() < CHILD_MAX_RUN {
                    let slot = turn % mine.len();
                    turn += 1;
                    let key = &mine[slot];
                    let data = version_content(key, round, n[slot]);
                    let hash = blake3_hex(&data);
                    let opts = PutOptions {
                        size: Some(data.len() as u64),
                        ..Default::default()
                    };
                    store
                        .put_object(BUCKET, key, body(data, 32 * KIB), opts)
                        .await
                        .unwrap_or_else(|e| panic!("child: put {key}: {e}"));
                    let mut out = stdout.lock().unwrap();
                    writeln!(out, "ACK {key} {round} {} {hash}", n[slot]).unwrap();
                    out.flush().unwrap();
                    drop(out);
                    n[slot] += 1;
                }
            }));
        }
        for task in tasks {
            task.await.expect("child writer");
        }
    });
}

/// Starts the writer child for `round` and collects its ACK lines.
struct WriterChild {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    ready: Arc<std::sync::atomic::AtomicBool>,
    reader: std::thread::JoinHandle<()>,
}

impl WriterChild {
    fn spawn(root: &Path, round: u64, crash_point: Option<&str>) -> Self {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "--exact",
                "crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ROOT_ENV, root)
            .env(ROUND_ENV, round.to_string())
            .env_remove("MINNOW_CRASH_POINT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(point) = crash_point {
            command.env("MINNOW_CRASH_POINT", point);
        }
        let mut child = command.spawn().expect("spawn writer child");
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ready_flag = Arc::clone(&ready);
        let reader = std::thread::spawn(move || {
            // Only whole lines count: a line cut by the kill has no newline.
            // The test harness may print `test crash_writer_child ... ` on
            // the same line as the first ACK, so look for the marker.
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if let (true, Some(at)) = (line.ends_with('\n'), line.find("ACK ")) {
                    sink.lock().unwrap().push(line[at..].trim_end().to_string());
                } else if line == "READY\n" {
                    ready_flag.store(true, std::sync::atomic::Ordering::Release);
                }
                line.clear();
            }
        });
        Self {
            child,
            lines,
            ready,
            reader,
        }
    }

    /// Whether the child has opened the store.
    fn is_ready(&self) -> bool {
        self.ready.load(std::sync::atomic::Ordering::Acquire)
    }

    fn acks(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    #[cfg(feature = "test-util")]
    /// Waits for the child to end by itself (a crash point), up to `limit`.
    fn wait_for_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }

    fn kill_and_collect(mut self) -> Vec<String> {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
        self.reader.join().unwrap();
        Arc::try_unwrap(self.lines).unwrap().into_inner().unwrap()
    }
}

/// Files in the drives' temporary areas: any folder whose name says it holds
/// temporary or staging data.
fn temporary_files(root: &Path) -> Vec<PathBuf> {
    files_under(root)
        .into_iter()
        .filter(|f| {
            f.strip_prefix(root).unwrap().components().any(|c| {
                let name = c.as_os_str().to_string_lossy().to_ascii_lowercase();
                name == "tmp"
                    || name == "temp"
                    || name.starts_with("tmp.")
                    || name.ends_with(".tmp")
                    || name.contains("staging")
            })
        })
        .collect()
}

/// Data folders (`d.<id>`) that no metadata names: left behind by a crash
/// between committing new metadata and removing the old data. Counted as
/// object folders holding more than one data folder, or data folders beside
/// no `obj.meta`; and `obj.meta` temp files (`.obj.meta.<id>`) a crash left.
fn stale_data_dirs(root: &Path) -> Vec<PathBuf> {
    let mut stale = Vec::new();
    for dir in dirs_under(root) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        let data_dirs: Vec<&String> = names.iter().filter(|n| n.starts_with("d.")).collect();
        let has_meta = names.iter().any(|n| n == "obj.meta");
        if data_dirs.len() > 1 || (!data_dirs.is_empty() && !has_meta) {
            stale.extend(data_dirs.iter().map(|n| dir.join(n)));
        }
        // obj.meta's temp files live in the object folder (start-up's
        // emptying of the tmp area does not reach them): a crash between
        // their creation and their rename leaves one for the heal.
        stale.extend(
            names
                .iter()
                .filter(|n| n.starts_with(".obj.meta."))
                .map(|n| dir.join(n)),
        );
    }
    stale
}

/// What the parent knows about one key across rounds.
#[derive(Debug, Clone, Default)]
struct KeyHistory {
    /// Content hash of the last acknowledged version; `None` if the key was
    /// never acknowledged (then "absent" is an acceptable state).
    acked: Option<String>,
    /// Versions written after that acknowledgement which may have been
    /// committed before a crash (in flight, or committed but not yet ACKed).
    unacked_since: Vec<String>,
    /// What the last verification found.
    observed: Option<String>,
}

impl KeyHistory {
    fn acceptable(&self) -> Vec<Option<String>> {
        let mut states: Vec<Option<String>> = vec![self.acked.clone()];
        states.extend(self.unacked_since.iter().cloned().map(Some));
        states
    }
}

/// Folds one round's ACK lines into the history and returns, per key, the
/// acceptable states: the last acknowledged version, or any version written
/// after it (`None` = absent, only if nothing was ever acknowledged).
fn acceptable_states(
    history: &mut BTreeMap<String, KeyHistory>,
    acks: &[String],
    round: u64,
) -> BTreeMap<String, Vec<Option<String>>> {
    let mut last_acked: BTreeMap<String, u64> = BTreeMap::new();
    for line in acks {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 5, "malformed ACK line {line:?}");
        let (key, ack_round, n, hash) = (fields[1], fields[2], fields[3], fields[4]);
        assert_eq!(ack_round, round.to_string());
        let n: u64 = n.parse().unwrap();
        assert_eq!(
            hash,
            version_hash(key, round, n),
            "child acknowledged unexpected content"
        );
        let entry = last_acked.entry(key.to_string()).or_insert(n);
        *entry = (*entry).max(n);
    }
    history
        .iter_mut()
        .map(|(key, entry)| {
            match last_acked.get(key) {
                Some(&n) => {
                    entry.acked = Some(version_hash(key, round, n));
                    entry.unacked_since = vec![version_hash(key, round, n + 1)];
                    // An acknowledgement supersedes whatever was seen before.
                    entry.observed = None;
                }
                None => entry.unacked_since.push(version_hash(key, round, 0)),
            }
            (key.clone(), entry.acceptable())
        })
        .collect()
}

/// Records what a verification found. A key that goes back from a version
/// readers could see to an older state (or to nothing) is legal under the
/// ACK rule when the visible version was never acknowledged, but worth
/// knowing: it is printed, and counted.
fn record_observed(
    history: &mut BTreeMap<String, KeyHistory>,
    found: BTreeMap<String, Option<String>>,
    what: &str,
) -> usize {
    let mut regressions = 0;
    for (key, state) in found {
        let entry = history.get_mut(&key).unwrap();
        let position = |h: &String| entry.unacked_since.iter().position(|x| x == h);
        // Versions in `unacked_since` are listed oldest first.
        let regressed = match entry.observed.as_ref().and_then(position) {
            Some(before) => state
                .as_ref()
                .and_then(position)
                .is_none_or(|now| now < before),
            None => false,
        };
        if regressed {
            regressions += 1;
            eprintln!(
                "{what}: {key} went back from the visible but never acknowledged version {:?} to {state:?}",
                entry.observed
            );
        }
        entry.observed = state;
    }
    regressions
}

/// Reopens the store after a crash and checks every key; returns the state
/// found.
async fn verify_after_crash(
    root: &Path,
    acceptable: &BTreeMap<String, Vec<Option<String>>>,
    what: &str,
) -> BTreeMap<String, Option<String>> {
    let store = Store::open(config_for(root))
        .await
        .unwrap_or_else(|e| panic!("{what}: reopen: {e}"));
    let garbage = temporary_files(root);
    assert!(
        garbage.is_empty(),
        "{what}: temporary files remain after start-up: {garbage:?}"
    );

    let mut found = BTreeMap::new();
    for (key, allowed) in acceptable {
        let state = match get(&store, BUCKET, key).await {
            Ok(data) => Some(blake3_hex(&data)),
            Err(StoreError::NoSuchKey { .. }) => None,
            Err(e) => panic!("{what}: get {key}: {e}"),
        };
        assert!(
            allowed.contains(&state),
            "{what}: {key} holds {state:?}, which is none of the acceptable versions {allowed:?} \
             (torn, or rolled back past an ACK)"
        );
        found.insert(key.clone(), state);
    }
    let page = store
        .list_objects(
            BUCKET,
            ListParams {
                max_keys: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{what}: list: {e}"));
    let listed: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
    let present: Vec<&str> = found
        .iter()
        .filter(|(_, state)| state.is_some())
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(listed, present, "{what}: listing disagrees with get");
    found
}

/// After the crashes, a full heal leaves no stale data folders behind (the
/// engine does not reclaim them at start-up, only on heal), and every key
/// still reads as last verified.
async fn heal_reclaims_stale_data(root: &Path, history: &BTreeMap<String, KeyHistory>) {
    let store = Store::open(config_for(root))
        .await
        .expect("reopen for heal");
    let report = store.heal(None, "").await.expect("heal");
    assert_eq!(report.objects_failed, 0, "heal after crashes: {report:?}");
    let stale = stale_data_dirs(root);
    assert!(
        stale.is_empty(),
        "stale data folders survive a full heal: {stale:?}"
    );
    for (key, entry) in history {
        let state = match get(&store, BUCKET, key).await {
            Ok(data) => Some(blake3_hex(&data)),
            Err(StoreError::NoSuchKey { .. }) => None,
            Err(e) => panic!("get {key} after heal: {e}"),
        };
        assert_eq!(state, entry.observed, "{key} changed during heal");
    }
}

/// Creates the bucket and, with `populate`, a first version of every other
/// key (written in the pseudo-round `PREPARE_ROUND`), so crashes hit both
/// first writes and overwrites.
fn prepare(root: &Path, populate: bool) -> BTreeMap<String, KeyHistory> {
    runtime().block_on(async {
        let store = Store::open(config_for(root)).await.expect("open");
        create_bucket(&store, BUCKET).await;
        let mut state = BTreeMap::new();
        for index in 0..KEYS {
            let key = key_name(index);
            let content =
                (populate && index % 3 != 2).then(|| version_content(&key, PREPARE_ROUND, 0));
            if let Some(data) = &content {
                put(&store, BUCKET, &key, data).await.expect("prepare put");
            }
            let hash = content.map(|c| blake3_hex(&c));
            state.insert(
                key,
                KeyHistory {
                    acked: hash.clone(),
                    unacked_since: Vec::new(),
                    observed: hash,
                },
            );
        }
        state
    })
}

const PREPARE_ROUND: u64 = 999_999;

#[test]
fn acknowledged_writes_survive_sigkill_at_random_moments() {
    let mut root = tempfile::Builder::new()
        .prefix("minnow-crash-")
        .tempdir()
        .unwrap();
    if std::env::var("MINNOW_KEEP_CRASH_DIR").is_ok() {
        root.disable_cleanup(true);
        eprintln!("drives kept in {}", root.path().display());
    }
    let mut history = prepare(root.path(), false);
    let mut regressions = 0;
    let mut rng = seeded_rng(0xC0FFEE);
    let started = Instant::now();
    let mut rounds = 0u64;
    let mut total_acks = 0usize;
    let mut rounds_with_acks = 0;
    while started.elapsed() < Duration::from_secs(14) && rounds < 60 {
        let round = rounds;
        rounds += 1;
        let child = WriterChild::spawn(root.path(), round, None);
        // One kill in five lands during start-up (the child opening the
        // store and cleaning up after the last crash); the others after a
        // random number of ACKs or a random time of writing, whichever comes
        // first. Timing from READY keeps a slow, loaded machine from turning
        // every round into a start-up kill.
        let spawned = Instant::now();
        if rng.gen_bool(0.2) {
            let delay = Duration::from_millis(rng.gen_range(0..60));
            while spawned.elapsed() < delay {
                std::thread::sleep(Duration::from_millis(1));
            }
        } else {
            while !child.is_ready() && spawned.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(1));
            }
            let target_acks = rng.gen_range(0..60);
            let delay = Duration::from_millis(rng.gen_range(0..400));
            let writing = Instant::now();
            while writing.elapsed() < delay && child.acks() < target_acks {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let acks = child.kill_and_collect();
        total_acks += acks.len();
        if !acks.is_empty() {
            rounds_with_acks += 1;
        }
        let acceptable = acceptable_states(&mut history, &acks, round);
        // A runtime per verification: when it is dropped, nothing of the
        // parent's store (such as its background heal) can still be running
        // while the next child owns the drives.
        let what = format!("round {round} ({} ACKs)", acks.len());
        let found = runtime().block_on(verify_after_crash(root.path(), &acceptable, &what));
        regressions += record_observed(&mut history, found, &what);
    }
    eprintln!(
        "{rounds} rounds, {total_acks} acknowledged writes, {rounds_with_acks} rounds with ACKs, \
         {regressions} visible-but-unacknowledged versions lost, {} stale data folders, {:?}",
        stale_data_dirs(root.path()).len(),
        started.elapsed()
    );
    runtime().block_on(heal_reclaims_stale_data(root.path(), &history));
    assert!(rounds >= 5, "only {rounds} rounds");
    assert!(
        rounds_with_acks >= 2 && total_acks >= 20,
        "the child barely wrote anything ({total_acks} ACKs in {rounds} rounds): the test proves little"
    );
}

/// With the `test-util` feature the engine aborts itself at named points of a
/// write; every point must be reached and the state after it must be one of
/// the acceptable ones.
#[cfg(feature = "test-util")]
#[test]
fn acknowledged_writes_survive_aborts_at_engine_crash_points() {
    use std::os::unix::process::ExitStatusExt;
    let mut root = tempfile::Builder::new()
        .prefix("minnow-crash-point-")
        .tempdir()
        .unwrap();
    // MINNOW_KEEP_CRASH_DIR=1 keeps the drives for a post-mortem.
    if std::env::var("MINNOW_KEEP_CRASH_DIR").is_ok() {
        root.disable_cleanup(true);
        eprintln!("drives kept in {}", root.path().display());
    }
    let mut history = prepare(root.path(), true);
    let mut regressions = 0;
    let mut round = 1000u64;
    for point in CRASH_POINTS {
        // Several times per point: each child starts at other keys, some
        // of them new and some overwrites.
        for attempt in 0..4 {
            round += 1;
            let mut child = WriterChild::spawn(root.path(), round, Some(point));
            let status = child.wait_for_exit(Duration::from_secs(10));
            let acks = child.kill_and_collect();
            let status =
                status.unwrap_or_else(|| panic!("crash point {point:?} was never reached"));
            assert_eq!(
                status.signal(),
                Some(libc::SIGABRT),
                "crash point {point:?}: child ended with {status:?}, expected an abort"
            );
            let acceptable = acceptable_states(&mut history, &acks, round);
            let what = format!(
                "crash point {point} attempt {attempt} ({} ACKs)",
                acks.len()
            );
            let found = runtime().block_on(verify_after_crash(root.path(), &acceptable, &what));
            regressions += record_observed(&mut history, found, &what);
            eprintln!(
                "{point} attempt {attempt}: {} ACKs, {} stale data folders after start-up",
                acks.len(),
                stale_data_dirs(root.path()).len()
            );
        }
    }
    eprintln!("crash points: {regressions} visible-but-unacknowledged versions lost");
    runtime().block_on(heal_reclaims_stale_data(root.path(), &history));
}

#[cfg(feature = "test-util")]
const CRASH_POINTS: &[&str] = &[
    "after_shard_fsync",
    "after_first_meta_rename",
    "before_old_data_removal",
];

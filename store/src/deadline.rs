//! Drive deadlines: no request waits on a drive longer than the drive
//! deadline (`StoreConfig::drive_timeout`, `MINIO_DRIVE_MAX_TIMEOUT`).
//!
//! A request's work on its drives runs in one blocking task ([`watched`]),
//! which the async side awaits at most the deadline: one hand-off per
//! request and drive, and each operation of a [`DeadlineDrive`] runs on that
//! task's thread, noting which drive it is on. When the waiter gives up,
//! the drive the task is stuck on is *stalled* until that operation returns:
//! every further operation on it fails at once (so hung threads do not pile
//! up), [`Drive::is_stalled`] is true (the drive set takes it offline) and
//! the drive monitor's probes fail. Once it returns, the probe succeeds and
//! the drive comes back and is healed. Abandoned threads are never waited
//! for, so a hung disk cannot block shutdown.

use std::cell::RefCell;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::drive::{DirEntry, Drive, DriveSpace, ShardReader, ShardWriter};

/// MinIO's default drive deadline (`MINIO_DRIVE_MAX_TIMEOUT`).
pub const DEFAULT_DRIVE_TIMEOUT: Duration = Duration::from_secs(30);

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a drive and its open files share.
#[derive(Debug)]
struct Guard {
    root: std::path::PathBuf,
    deadline: Duration,
    /// Operations past their deadline that have not returned yet.
    late: AtomicUsize,
}

impl Guard {
    fn stalled_error(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "drive {} has an operation past its {:?} deadline",
                self.root.display(),
                self.deadline
            ),
        )
    }

    /// Runs `op` on this thread, noting the drive in the thread's watch.
    fn run<T>(self: &Arc<Self>, op: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
        if self.late.load(Ordering::Acquire) > 0 {
            return Err(self.stalled_error());
        }
        WATCH.with(|watch| match watch.borrow().as_ref() {
            Some(watch) => {
                watch.enter(self)?;
                let result = op();
                watch.leave();
                result
            }
            None => {
                // Every path awaits its drive work through `watched`;
                // tests hold the code to it.
                #[cfg(test)]
                panic!("a drive operation outside a watched task");
                #[cfg(not(test))]
                op()
            }
        })
    }
}

/// One blocking task's drive work as its waiter sees it.
#[derive(Debug, Default)]
struct Watch {
    state: Mutex<WatchState>,
}

#[derive(Debug, Default)]
struct WatchState {
    /// The operations running now, one per thread of the task (threads
    /// the task spawns share its watch, [`shared_watch`]): the thread, the
    /// drive and since when.
    on: Vec<(ThreadId, Arc<Guard>, Instant)>,
    /// The waiter gave up: no further operation starts.
    abandoned: bool,
    /// The thread of this task's late operation and the drive it stalls.
    stalled: Option<(ThreadId, Arc<Guard>)>,
}

impl Watch {
    fn enter(&self, guard: &Arc<Guard>) -> io::Result<()> {
        let mut state = lock(&self.state);
        if state.abandoned {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request stopped waiting for this drive work",
            ));
        }
        let thread = std::thread::current().id();
        state.on.push((thread, guard.clone(), Instant::now()));
        Ok(())
    }

    fn leave(&self) {
        let thread = std::thread::current().id();
        let mut state = lock(&self.state);
        state.on.retain(|(on, _, _)| *on != thread);
        if state.stalled.as_ref().is_some_and(|(on, _)| *on == thread) {
            if let Some((_, guard)) = state.stalled.take() {
                guard.late.fetch_sub(1, Ordering::AcqRel);
                tracing::info!(drive = %guard.root.display(), "a late drive operation returned");
            }
        }
    }

    /// Gives up on the task if its running operation has been running for
    /// `deadline`: its drive is stalled until the operation returns.
    /// Otherwise, when to look again.
    fn give_up_if_late(&self, deadline: Duration) -> Result<(), Instant> {
        let mut state = lock(&self.state);
        let Some((thread, guard, since)) =
            state.on.iter().min_by_key(|(_, _, since)| *since).cloned()
        else {
            return Err(Instant::now() + deadline);
        };
        if since.elapsed() < deadline {
            return Err(since + deadline);
        }
        state.abandoned = true;
        guard.late.fetch_add(1, Ordering::AcqRel);
        tracing::warn!(
            drive = %guard.root.display(),
            "drive operation missed its {deadline:?} deadline; the drive is offline until it answers"
        );
        state.stalled = Some((thread, guard));
        Ok(())
    }
}

thread_local! {
    /// The watch of the task this thread runs.
    static WATCH: RefCell<Option<Arc<Watch>>> = const { RefCell::new(None) };
}

/// Why [`watched`] work gave no answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Missed {
    /// An operation ran past the deadline: its drive is stalled (offline
    /// now), so the work may be run again without it.
    #[error("a drive operation missed the drive deadline")]
    Deadline,
    /// The task panicked.
    #[error("drive work failed: {0}")]
    Failed(String),
}

impl From<Missed> for io::Error {
    fn from(missed: Missed) -> io::Error {
        match missed {
            Missed::Deadline => io::Error::new(
                io::ErrorKind::TimedOut,
                "a drive operation missed the drive deadline",
            ),
            Missed::Failed(why) => io::Error::other(why),
        }
    }
}

/// A blocking task's drive work whose waiter may give up on it.
pub(crate) struct Watched {
    watch: Arc<Watch>,
    deadline: Option<Duration>,
}

impl Watched {
    /// Runs `work` on this thread under the watch; every [`DeadlineDrive`]
    /// operation in it notes its drive and start.
    pub fn run<T>(&self, work: impl FnOnce() -> T) -> T {
        if self.deadline.is_none() {
            return work();
        }
        run_under(Some(self.watch.clone()), work)
    }

    /// Completes once an operation of the task has run for the deadline,
    /// giving up on the task (never, without a deadline). Time the task
    /// spends between operations (decoding, waiting for a CPU or for a
    /// slow client) does not count.
    pub async fn late(&self) {
        let Some(deadline) = self.deadline else {
            return std::future::pending().await;
        };
        let mut wake = Instant::now() + deadline;
        loop {
            tokio::time::sleep_until(wake.into()).await;
            match self.watch.give_up_if_late(deadline) {
                Ok(()) => return,
                Err(next) => wake = next,
            }
        }
    }
}

/// Runs `work` on this thread with `watch` as the thread's watch.
fn run_under<T>(watch: Option<Arc<Watch>>, work: impl FnOnce() -> T) -> T {
    let previous = WATCH.with(|slot| slot.replace(watch));
    struct Restore(Option<Arc<Watch>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            WATCH.with(|slot| *slot.borrow_mut() = previous);
        }
    }
    let _restore = Restore(previous);
    work()
}

/// The watch of the task this thread runs, for threads the task spawns:
/// their drive operations count as the task's, so a hung drive in any of
/// them gives up the task at the deadline (the listing index's build reads
/// every drive on a thread of its own).
#[derive(Clone, Default)]
pub(crate) struct SharedWatch(Option<Arc<Watch>>);

/// This thread's watch, to run spawned threads under ([`SharedWatch::run`]).
pub(crate) fn shared_watch() -> SharedWatch {
    SharedWatch(WATCH.with(|slot| slot.borrow().clone()))
}

impl SharedWatch {
    /// Runs `work` on this (spawned) thread under the shared watch.
    pub fn run<T>(&self, work: impl FnOnce() -> T) -> T {
        run_under(self.0.clone(), work)
    }
}

/// A watch for work whose waiter awaits [`Watched::late`] itself (`None`:
/// no deadline, nothing to note).
pub(crate) fn watch(deadline: Option<Duration>) -> Watched {
    Watched {
        watch: Arc::default(),
        deadline,
    }
}

/// Runs `work` on the blocking pool (the background pool for a background
/// worker's work, [`crate::workers::spawn_blocking`]) and waits for it until one of its
/// drive operations has run for `deadline` (`None`: as long as it takes).
pub(crate) async fn watched<T, F>(deadline: Option<Duration>, work: F) -> Result<T, Missed>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let watched = Arc::new(watch(deadline));
    let task = {
        let watched = watched.clone();
        crate::workers::spawn_blocking(move || watched.run(work))
    };
    tokio::select! {
        joined = task => joined.map_err(Missed::Failed),
        () = watched.late() => Err(Missed::Deadline),
    }
}

/// A drive whose every operation answers within the deadline.
#[derive(Debug)]
pub(crate) struct DeadlineDrive {
    inner: Arc<dyn Drive>,
    guard: Arc<Guard>,
}

impl DeadlineDrive {
    pub fn new(inner: Arc<dyn Drive>, deadline: Duration) -> Self {
        let guard = Arc::new(Guard {
            root: inner.root().to_path_buf(),
            deadline,
            late: AtomicUsize::new(0),
        });
        Self { inner, guard }
    }

    fn run<T>(&self, op: impl FnOnce(&dyn Drive) -> io::Result<T>) -> io::Result<T> {
        self.guard.run(|| op(self.inner.as_ref()))
    }
}

impl Drive for DeadlineDrive {
    fn root(&self) -> &Path {
        self.inner.root()
    }

    fn read_file(&self, rel: &Path) -> io::Result<Vec<u8>> {
        self.run(|d| d.read_file(rel))
    }

    fn open_read(&self, rel: &Path) -> io::Result<Box<dyn ShardReader>> {
        let file = self.run(|d| d.open_read(rel))?;
        Ok(Box::new(DeadlineFile {
            reader: Some(file),
            writer: None,
            guard: self.guard.clone(),
        }))
    }

    fn write_atomic(&self, rel: &Path, data: &[u8]) -> io::Result<()> {
        self.run(|d| d.write_atomic(rel, data))
    }

    fn write_atomic_beside(&self, rel: &Path, data: &[u8]) -> io::Result<()> {
        self.run(|d| d.write_atomic_beside(rel, data))
    }

    fn create_file(&self, rel: &Path) -> io::Result<Box<dyn ShardWriter>> {
        let file = self.run(|d| d.create_file(rel))?;
        Ok(Box::new(DeadlineFile {
            reader: None,
            writer: Some(file),
            guard: self.guard.clone(),
        }))
    }

    fn mkdir_all(&self, rel: &Path) -> io::Result<()> {
        self.run(|d| d.mkdir_all(rel))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.run(|d| d.rename(from, to))
    }

    fn rename_unsynced(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.run(|d| d.rename_unsynced(from, to))
    }

    fn mkdir_staging(&self, rel: &Path) -> io::Result<()> {
        self.run(|d| d.mkdir_staging(rel))
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.run(|d| d.hard_link(from, to))
    }

    fn fsync_dir(&self, rel: &Path) -> io::Result<()> {
        self.run(|d| d.fsync_dir(rel))
    }

    fn remove_file(&self, rel: &Path) -> io::Result<()> {
        self.run(|d| d.remove_file(rel))
    }

    fn remove_dir_all(&self, rel: &Path) -> io::Result<()> {
        self.run(|d| d.remove_dir_all(rel))
    }

    fn remove_empty_dir(&self, rel: &Path) -> io::Result<bool> {
        self.run(|d| d.remove_empty_dir(rel))
    }

    fn list_dir(&self, rel: &Path) -> io::Result<Vec<DirEntry>> {
        self.run(|d| d.list_dir(rel))
    }

    fn exists(&self, rel: &Path) -> io::Result<bool> {
        self.run(|d| d.exists(rel))
    }

    fn space(&self) -> io::Result<DriveSpace> {
        self.run(|d| d.space())
    }

    fn fix_modes(&self) -> io::Result<usize> {
        // A whole-drive walk at start-up: one deadline per walk would fail
        // large drives, so it runs on the caller's thread.
        self.inner.fix_modes()
    }

    fn is_stalled(&self) -> bool {
        self.guard.late.load(Ordering::Acquire) > 0 || self.inner.is_stalled()
    }
}

/// An open file of a [`DeadlineDrive`].
#[derive(Debug)]
struct DeadlineFile {
    reader: Option<Box<dyn ShardReader>>,
    writer: Option<Box<dyn ShardWriter>>,
    guard: Arc<Guard>,
}

impl DeadlineFile {
    fn writer(&self) -> &dyn ShardWriter {
        self.writer.as_deref().expect("opened for writing")
    }
}

impl ShardReader for DeadlineFile {
    fn read_exact_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let reader = self.reader.as_deref().expect("opened for reading");
        self.guard.run(|| reader.read_exact_at(offset, len))
    }
}

impl ShardWriter for DeadlineFile {
    fn write_all(&self, data: Bytes) -> io::Result<()> {
        self.guard.run(|| self.writer().write_all(data))
    }

    fn sync_data(&self) -> io::Result<()> {
        self.guard.run(|| self.writer().sync_data())
    }

    fn sync_all(&self) -> io::Result<()> {
        self.guard.run(|| self.writer().sync_all())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drive::LocalDrive;

    #[tokio::test]
    async fn operations_answer_on_the_watched_task() {
        let dir = tempfile::tempdir().unwrap();
        let local: Arc<dyn Drive> = Arc::new(LocalDrive::new(dir.path().to_path_buf()));
        let drive = DeadlineDrive::new(local, Duration::from_secs(30));
        let stalled = watched(Some(Duration::from_secs(30)), move || {
            drive.mkdir_all(Path::new("a")).unwrap();
            drive.mkdir_all(Path::new(crate::layout::TMP_DIR)).unwrap();
            drive.write_atomic(Path::new("a/f"), b"bytes").unwrap();
            assert_eq!(drive.read_file(Path::new("a/f")).unwrap(), b"bytes");
            let file = drive.open_read(Path::new("a/f")).unwrap();
            assert_eq!(file.read_exact_at(1, 3).unwrap(), b"yte");
            drive.is_stalled()
        })
        .await
        .unwrap();
        assert!(!stalled);
    }

    /// Guards that a thread a watched task spawns (the listing index's
    /// build reads every drive on one) runs its drive operations under the
    /// task's watch: they are allowed, and noted.
    #[tokio::test]
    async fn threads_a_task_spawns_run_under_its_watch() {
        let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let drives: Vec<DeadlineDrive> = dirs
            .iter()
            .map(|dir| {
                let local: Arc<dyn Drive> = Arc::new(LocalDrive::new(dir.path().to_path_buf()));
                DeadlineDrive::new(local, Duration::from_secs(30))
            })
            .collect();
        let made = watched(Some(Duration::from_secs(30)), move || {
            let watch = shared_watch();
            std::thread::scope(|scope| {
                let handles: Vec<_> = drives
                    .iter()
                    .map(|drive| {
                        let watch = watch.clone();
                        scope.spawn(move || watch.run(|| drive.mkdir_all(Path::new("a/b"))))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|handle| handle.join().is_ok_and(|made| made.is_ok()))
                    .collect::<Vec<_>>()
            })
        })
        .await
        .unwrap();
        assert_eq!(made, vec![true; 3]);
        assert!(dirs.iter().all(|dir| dir.path().join("a/b").is_dir()));
    }

    /// Guards that a hang on a spawned thread of a watched task gives the
    /// task up at the deadline and stalls that thread's drive, while the
    /// other threads' operations returned.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hang_on_a_spawned_thread_gives_the_task_up_at_the_deadline() {
        use crate::faulty::{Fault, Faults, FaultyDrive, Op};
        let deadline = Duration::from_millis(500);
        let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
        let hung = Arc::new(Faults::default());
        hung.inject(Op::Mkdir, Fault::Hang);
        let drives: Arc<Vec<DeadlineDrive>> = Arc::new(
            dirs.iter()
                .enumerate()
                .map(|(i, dir)| {
                    let local: Arc<dyn Drive> = Arc::new(LocalDrive::new(dir.path().to_path_buf()));
                    let inner: Arc<dyn Drive> = if i == 1 {
                        Arc::new(FaultyDrive::new(local, hung.clone()))
                    } else {
                        local
                    };
                    DeadlineDrive::new(inner, deadline)
                })
                .collect(),
        );
        let started = Instant::now();
        let task = {
            let drives = drives.clone();
            watched(Some(deadline), move || {
                let watch = shared_watch();
                std::thread::scope(|scope| {
                    for drive in drives.iter() {
                        let watch = watch.clone();
                        scope.spawn(move || watch.run(|| drive.mkdir_all(Path::new("a"))));
                    }
                });
            })
        };
        let outcome = tokio::time::timeout(Duration::from_secs(20), task).await;
        let took = started.elapsed();
        hung.release();
        assert!(
            matches!(outcome, Ok(Err(Missed::Deadline))),
            "the task was not given up: {outcome:?}"
        );
        assert!(took < Duration::from_secs(10), "given up after {took:?}");
        assert!(drives[1].is_stalled(), "the hung drive is not stalled");
        assert!(!drives[0].is_stalled());
    }
}

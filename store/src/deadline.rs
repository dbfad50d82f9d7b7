//! Drive deadlines: [`DeadlineDrive`] wraps a drive so that no operation
//! keeps its caller waiting longer than the drive deadline
//! (`StoreConfig::drive_timeout`, `MINIO_DRIVE_MAX_TIMEOUT`).
//!
//! Each operation runs on a thread of a small detached pool while the caller
//! waits at most the deadline. An operation that misses it fails with
//! `TimedOut` and leaves the drive *stalled*: until that operation returns,
//! every further operation fails at once (so one hung disk costs each
//! request nothing past the first deadline), [`Drive::is_stalled`] is true
//! (the drive set takes the drive offline), and the drive monitor's probes
//! fail. Once it returns, the probe succeeds and the drive comes back and is
//! healed. Pool threads are never joined, so a hung disk cannot block
//! shutdown or process exit.

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::drive::{DirEntry, Drive, DriveSpace, ShardReader, ShardWriter};

/// MinIO's default drive deadline (`MINIO_DRIVE_MAX_TIMEOUT`).
pub const DEFAULT_DRIVE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an idle pool thread waits for work before it exits.
const IDLE_THREAD_LIFETIME: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

/// Detached threads that run drive operations; grows when every thread is
/// busy (a hung operation holds its thread), shrinks when idle.
#[derive(Default)]
pub(crate) struct IoPool {
    state: Mutex<PoolState>,
    wake: Condvar,
}

#[derive(Default)]
struct PoolState {
    jobs: VecDeque<Job>,
    idle: usize,
}

impl IoPool {
    fn submit(self: &Arc<Self>, job: Job) -> io::Result<()> {
        let mut state = lock(&self.state);
        state.jobs.push_back(job);
        if state.idle >= state.jobs.len() {
            self.wake.notify_one();
            return Ok(());
        }
        drop(state);
        let pool = self.clone();
        std::thread::Builder::new()
            .name("minnow-drive-io".into())
            .spawn(move || pool.work())
            .map(drop)
    }

    fn work(&self) {
        let mut state = lock(&self.state);
        loop {
            if let Some(job) = state.jobs.pop_front() {
                drop(state);
                job();
                state = lock(&self.state);
                continue;
            }
            state.idle += 1;
            let (next, waited) = self
                .wake
                .wait_timeout(state, IDLE_THREAD_LIFETIME)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state = next;
            state.idle -= 1;
            if waited.timed_out() && state.jobs.is_empty() {
                return;
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the drive, its open files and its pool share.
#[derive(Debug)]
struct Guard {
    root: PathBuf,
    deadline: Duration,
    /// Operations past their deadline that have not returned yet.
    late: AtomicUsize,
    pool: Arc<IoPool>,
}

impl std::fmt::Debug for IoPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IoPool")
    }
}

/// One operation's outcome as the waiter and the pool thread see it.
enum Slot<T> {
    Running,
    Done(io::Result<T>),
    Abandoned,
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

    /// Runs `op` on the pool and waits for it at most the deadline.
    fn run<T, F>(self: &Arc<Self>, op: F) -> io::Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> io::Result<T> + Send + 'static,
    {
        if self.late.load(Ordering::Acquire) > 0 {
            return Err(self.stalled_error());
        }
        let shared = Arc::new((Mutex::new(Slot::Running), Condvar::new()));
        let job = {
            let (shared, guard) = (shared.clone(), self.clone());
            Box::new(move || {
                let result = op();
                let mut slot = lock(&shared.0);
                if matches!(*slot, Slot::Abandoned) {
                    guard.late.fetch_sub(1, Ordering::AcqRel);
                    tracing::info!(drive = %guard.root.display(), "a late drive operation returned");
                } else {
                    *slot = Slot::Done(result);
                    shared.1.notify_one();
                }
            })
        };
        self.pool.submit(job)?;
        let until = Instant::now() + self.deadline;
        let mut slot = lock(&shared.0);
        loop {
            match std::mem::replace(&mut *slot, Slot::Running) {
                Slot::Done(result) => return result,
                Slot::Abandoned => unreachable!("only the waiter abandons"),
                Slot::Running => {}
            }
            let now = Instant::now();
            if now >= until {
                *slot = Slot::Abandoned;
                self.late.fetch_add(1, Ordering::AcqRel);
                tracing::warn!(
                    drive = %self.root.display(),
                    "drive operation missed its {:?} deadline; the drive is offline until it answers",
                    self.deadline
                );
                return Err(self.stalled_error());
            }
            slot = shared
                .1
                .wait_timeout(slot, until - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }
}

/// A drive whose every operation answers within the deadline.
#[derive(Debug)]
pub(crate) struct DeadlineDrive {
    inner: Arc<dyn Drive>,
    guard: Arc<Guard>,
}

impl DeadlineDrive {
    pub fn new(inner: Arc<dyn Drive>, deadline: Duration, pool: Arc<IoPool>) -> Self {
        let guard = Arc::new(Guard {
            root: inner.root().to_path_buf(),
            deadline,
            late: AtomicUsize::new(0),
            pool,
        });
        Self { inner, guard }
    }

    fn run<T, F>(&self, op: F) -> io::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Drive) -> io::Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        self.guard.run(move || op(inner.as_ref()))
    }
}

impl Drive for DeadlineDrive {
    fn root(&self) -> &Path {
        self.inner.root()
    }

    fn read_file(&self, rel: &Path) -> io::Result<Vec<u8>> {
        let rel = rel.to_path_buf();
        self.run(move |d| d.read_file(&rel))
    }

    fn open_read(&self, rel: &Path) -> io::Result<Box<dyn ShardReader>> {
        let rel = rel.to_path_buf();
        let file = self.run(move |d| d.open_read(&rel))?;
        Ok(Box::new(DeadlineFile {
            reader: Some(Arc::from(file)),
            writer: None,
            guard: self.guard.clone(),
        }))
    }

    fn write_atomic(&self, rel: &Path, data: &[u8]) -> io::Result<()> {
        let (rel, data) = (rel.to_path_buf(), data.to_vec());
        self.run(move |d| d.write_atomic(&rel, &data))
    }

    fn create_file(&self, rel: &Path) -> io::Result<Box<dyn ShardWriter>> {
        let rel = rel.to_path_buf();
        let file = self.run(move |d| d.create_file(&rel))?;
        Ok(Box::new(DeadlineFile {
            reader: None,
            writer: Some(Arc::from(file)),
            guard: self.guard.clone(),
        }))
    }

    fn mkdir_all(&self, rel: &Path) -> io::Result<()> {
        let rel = rel.to_path_buf();
        self.run(move |d| d.mkdir_all(&rel))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (from, to) = (from.to_path_buf(), to.to_path_buf());
        self.run(move |d| d.rename(&from, &to))
    }

    fn rename_unsynced(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (from, to) = (from.to_path_buf(), to.to_path_buf());
        self.run(move |d| d.rename_unsynced(&from, &to))
    }

    fn mkdir_staging(&self, rel: &Path) -> io::Result<()> {
        let rel = rel.to_path_buf();
        self.run(move |d| d.mkdir_staging(&rel))
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (from, to) = (from.to_path_buf(), to.to_path_buf());
        self.run(move |d| d.hard_link(&from, &to))
    }

    fn fsync_dir(&self, rel: &Path) -> io::Result<()> {
        let rel = rel.to_path_buf();
        self.run(move |d| d.fsync_dir(&rel))
    }

    fn remove_file(&self, rel: &Path) -> io::Result<()> {
        let rel = rel.to_path_buf();
        self.run(move |d| d.remove_file(&rel))
    }

    fn remove_dir_all(&self, rel: &Path) -> io::Result<()> {
        let rel = rel.to_path_buf();
        self.run(move |d| d.remove_dir_all(&rel))
    }

    fn remove_empty_dir(&self, rel: &Path) -> io::Result<bool> {
        let rel = rel.to_path_buf();
        self.run(move |d| d.remove_empty_dir(&rel))
    }

    fn list_dir(&self, rel: &Path) -> io::Result<Vec<DirEntry>> {
        let rel = rel.to_path_buf();
        self.run(move |d| d.list_dir(&rel))
    }

    fn exists(&self, rel: &Path) -> io::Result<bool> {
        let rel = rel.to_path_buf();
        self.run(move |d| d.exists(&rel))
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
    reader: Option<Arc<dyn ShardReader>>,
    writer: Option<Arc<dyn ShardWriter>>,
    guard: Arc<Guard>,
}

impl DeadlineFile {
    fn writer(&self) -> Arc<dyn ShardWriter> {
        self.writer.clone().expect("opened for writing")
    }
}

impl ShardReader for DeadlineFile {
    fn read_exact_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let reader = self.reader.clone().expect("opened for reading");
        self.guard.run(move || reader.read_exact_at(offset, len))
    }
}

impl ShardWriter for DeadlineFile {
    fn write_all(&self, data: Bytes) -> io::Result<()> {
        let writer = self.writer();
        self.guard.run(move || writer.write_all(data))
    }

    fn sync_data(&self) -> io::Result<()> {
        let writer = self.writer();
        self.guard.run(move || writer.sync_data())
    }

    fn sync_all(&self) -> io::Result<()> {
        let writer = self.writer();
        self.guard.run(move || writer.sync_all())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drive::LocalDrive;

    #[test]
    fn operations_answer_through_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let local: Arc<dyn Drive> = Arc::new(LocalDrive::new(dir.path().to_path_buf()));
        let drive = DeadlineDrive::new(local, Duration::from_secs(30), Arc::default());
        drive.mkdir_all(Path::new("a")).unwrap();
        drive.mkdir_all(Path::new(crate::layout::TMP_DIR)).unwrap();
        drive.write_atomic(Path::new("a/f"), b"bytes").unwrap();
        assert_eq!(drive.read_file(Path::new("a/f")).unwrap(), b"bytes");
        let file = drive.open_read(Path::new("a/f")).unwrap();
        assert_eq!(file.read_exact_at(1, 3).unwrap(), b"yte");
        assert!(!drive.is_stalled());
    }
}

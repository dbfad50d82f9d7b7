//! Fault injection through the drive seam (feature `test-util`):
//! [`FaultyDrive`] wraps a real drive and, per operation kind, returns EIO or
//! ENOSPC, tears writes (a prefix persisted, then an error), flips a bit of
//! what a read returns, adds latency, or hangs until released. One
//! [`Faults`] per drive; [`backend`] installs them by drive position.

use std::io;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use bytes::Bytes;

use crate::drive::{DirEntry, Drive, DriveBackend, DriveSpace, ShardReader, ShardWriter};

/// The kind of a drive operation, as faults select them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Opening a file for reading.
    Open,
    /// Creating a file (or hard-linking one).
    Create,
    /// Reading a whole file or a shard file's frames.
    Read,
    /// Writing a file (atomic replace or shard frames).
    Write,
    /// fsync of a file or a folder.
    Fsync,
    /// Renaming.
    Rename,
    /// Removing a file or a folder.
    Remove,
    /// Listing a folder.
    List,
    /// Creating folders.
    Mkdir,
    /// Existence checks and space.
    Stat,
}

/// What happens to a matching operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fails with EIO.
    Eio,
    /// Fails with ENOSPC.
    NoSpace,
    /// A write persists the first half of its bytes, then fails with EIO;
    /// other operations fail with EIO.
    Torn,
    /// A read returns its bytes with one bit flipped, silently.
    BitFlip,
    /// The operation runs after this delay.
    Latency(Duration),
    /// The operation waits until [`Faults::release`], then runs.
    Hang,
}

#[derive(Debug)]
struct Rule {
    op: Op,
    fault: Fault,
}

/// The faults of one drive; change them at any time.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
    hung: Mutex<bool>,
    released: Condvar,
}

impl Faults {
    /// Applies `fault` to every later `op` until [`Faults::clear`].
    pub fn inject(&self, op: Op, fault: Fault) {
        if fault == Fault::Hang {
            *lock(&self.hung) = true;
        }
        lock(&self.rules).push(Rule { op, fault });
    }

    /// Applies `fault` to every operation kind.
    pub fn inject_all(&self, fault: Fault) {
        for op in [
            Op::Open,
            Op::Create,
            Op::Read,
            Op::Write,
            Op::Fsync,
            Op::Rename,
            Op::Remove,
            Op::List,
            Op::Mkdir,
            Op::Stat,
        ] {
            self.inject(op, fault);
        }
    }

    /// Removes every fault and releases hung operations.
    pub fn clear(&self) {
        lock(&self.rules).clear();
        self.release();
    }

    /// Lets hung operations run (and later ones pass the hang).
    pub fn release(&self) {
        lock(&self.rules).retain(|r| r.fault != Fault::Hang);
        *lock(&self.hung) = false;
        self.released.notify_all();
    }

    /// The fault for `op` after any latency or hang was served.
    fn before(&self, op: Op) -> Option<Fault> {
        let faults: Vec<Fault> = lock(&self.rules)
            .iter()
            .filter(|r| r.op == op)
            .map(|r| r.fault)
            .collect();
        let mut result = None;
        for fault in faults {
            match fault {
                Fault::Latency(delay) => std::thread::sleep(delay),
                Fault::Hang => {
                    let mut hung = lock(&self.hung);
                    while *hung {
                        hung = self
                            .released
                            .wait(hung)
                            .unwrap_or_else(|poisoned| poisoned.into_inner());
                    }
                }
                other => result = Some(other),
            }
        }
        result
    }

    /// Fails a non-read, non-write `op` that has a failing fault.
    fn check(&self, op: Op) -> io::Result<()> {
        match self.before(op) {
            Some(Fault::Eio | Fault::Torn) => Err(eio()),
            Some(Fault::NoSpace) => Err(enospc()),
            _ => Ok(()),
        }
    }

    /// Serves a read: fails it, or flips a bit of what it returned.
    fn read(&self, read: impl FnOnce() -> io::Result<Vec<u8>>) -> io::Result<Vec<u8>> {
        let fault = self.before(Op::Read);
        match fault {
            Some(Fault::Eio | Fault::Torn) => Err(eio()),
            Some(Fault::NoSpace) => Err(enospc()),
            Some(Fault::BitFlip) => {
                let mut bytes = read()?;
                let middle = bytes.len() / 2;
                if let Some(byte) = bytes.get_mut(middle) {
                    *byte ^= 0x10;
                }
                Ok(bytes)
            }
            _ => read(),
        }
    }

    /// Serves a write of `len` bytes: `Ok(None)` to write it all,
    /// `Ok(Some(prefix))` to write a prefix and fail, or an error.
    fn write(&self, len: usize) -> io::Result<Option<usize>> {
        match self.before(Op::Write) {
            Some(Fault::Eio) => Err(eio()),
            Some(Fault::NoSpace) => Err(enospc()),
            Some(Fault::Torn) => Ok(Some(len / 2)),
            _ => Ok(None),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn eio() -> io::Error {
    io::Error::from_raw_os_error(libc::EIO)
}

fn enospc() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOSPC)
}

/// A drive that serves its [`Faults`] before (or instead of) the real
/// operation.
#[derive(Debug)]
pub struct FaultyDrive {
    inner: Arc<dyn Drive>,
    faults: Arc<Faults>,
}

impl FaultyDrive {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Drive>, faults: Arc<Faults>) -> Self {
        Self { inner, faults }
    }
}

/// A backend whose drive at position `i` serves `faults[i]` (drives past
/// the list have none).
pub fn backend(faults: Vec<Arc<Faults>>) -> DriveBackend {
    DriveBackend::wrapping(move |position, local| match faults.get(position) {
        Some(faults) => Arc::new(FaultyDrive::new(local, faults.clone())),
        None => local,
    })
}

impl Drive for FaultyDrive {
    fn root(&self) -> &Path {
        self.inner.root()
    }

    fn read_file(&self, rel: &Path) -> io::Result<Vec<u8>> {
        self.faults.read(|| self.inner.read_file(rel))
    }

    fn open_read(&self, rel: &Path) -> io::Result<Box<dyn ShardReader>> {
        self.faults.check(Op::Open)?;
        Ok(Box::new(FaultyFile {
            reader: Some(self.inner.open_read(rel)?),
            writer: None,
            faults: self.faults.clone(),
        }))
    }

    fn write_atomic(&self, rel: &Path, data: &[u8]) -> io::Result<()> {
        // A torn atomic write leaves a partial temp file that the rename
        // never publishes: what the caller sees is the error.
        if self.faults.write(data.len())?.is_some() {
            return Err(eio());
        }
        self.faults.check(Op::Fsync)?;
        self.inner.write_atomic(rel, data)
    }

    fn write_atomic_beside(&self, rel: &Path, data: &[u8]) -> io::Result<()> {
        // As `write_atomic`: the temp file's place is no fault's concern.
        if self.faults.write(data.len())?.is_some() {
            return Err(eio());
        }
        self.faults.check(Op::Fsync)?;
        self.inner.write_atomic_beside(rel, data)
    }

    fn create_file(&self, rel: &Path) -> io::Result<Box<dyn ShardWriter>> {
        self.faults.check(Op::Create)?;
        Ok(Box::new(FaultyFile {
            reader: None,
            writer: Some(self.inner.create_file(rel)?),
            faults: self.faults.clone(),
        }))
    }

    fn mkdir_all(&self, rel: &Path) -> io::Result<()> {
        self.faults.check(Op::Mkdir)?;
        self.inner.mkdir_all(rel)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.faults.check(Op::Rename)?;
        self.inner.rename(from, to)
    }

    fn rename_unsynced(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.faults.check(Op::Rename)?;
        self.inner.rename_unsynced(from, to)
    }

    fn mkdir_staging(&self, rel: &Path) -> io::Result<()> {
        self.faults.check(Op::Mkdir)?;
        self.inner.mkdir_staging(rel)
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.faults.check(Op::Create)?;
        self.inner.hard_link(from, to)
    }

    fn fsync_dir(&self, rel: &Path) -> io::Result<()> {
        self.faults.check(Op::Fsync)?;
        self.inner.fsync_dir(rel)
    }

    fn remove_file(&self, rel: &Path) -> io::Result<()> {
        self.faults.check(Op::Remove)?;
        self.inner.remove_file(rel)
    }

    fn remove_dir_all(&self, rel: &Path) -> io::Result<()> {
        self.faults.check(Op::Remove)?;
        self.inner.remove_dir_all(rel)
    }

    fn remove_empty_dir(&self, rel: &Path) -> io::Result<bool> {
        self.faults.check(Op::Remove)?;
        self.inner.remove_empty_dir(rel)
    }

    fn list_dir(&self, rel: &Path) -> io::Result<Vec<DirEntry>> {
        self.faults.check(Op::List)?;
        self.inner.list_dir(rel)
    }

    fn exists(&self, rel: &Path) -> io::Result<bool> {
        self.faults.check(Op::Stat)?;
        self.inner.exists(rel)
    }

    fn space(&self) -> io::Result<DriveSpace> {
        self.faults.check(Op::Stat)?;
        self.inner.space()
    }

    fn fix_modes(&self) -> io::Result<usize> {
        self.inner.fix_modes()
    }

    fn is_stalled(&self) -> bool {
        self.inner.is_stalled()
    }
}

/// An open file of a [`FaultyDrive`].
#[derive(Debug)]
struct FaultyFile {
    reader: Option<Box<dyn ShardReader>>,
    writer: Option<Box<dyn ShardWriter>>,
    faults: Arc<Faults>,
}

impl FaultyFile {
    fn writer(&self) -> &dyn ShardWriter {
        self.writer.as_deref().expect("opened for writing")
    }
}

impl ShardReader for FaultyFile {
    fn read_exact_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let reader = self.reader.as_deref().expect("opened for reading");
        self.faults.read(|| reader.read_exact_at(offset, len))
    }
}

impl ShardWriter for FaultyFile {
    fn write_all(&self, data: Bytes) -> io::Result<()> {
        match self.faults.write(data.len())? {
            None => self.writer().write_all(data),
            Some(prefix) => {
                self.writer().write_all(data.slice(..prefix))?;
                self.writer().sync_data()?;
                Err(eio())
            }
        }
    }

    fn sync_data(&self) -> io::Result<()> {
        self.faults.check(Op::Fsync)?;
        self.writer().sync_data()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.faults.check(Op::Fsync)?;
        self.writer().sync_all()
    }
}

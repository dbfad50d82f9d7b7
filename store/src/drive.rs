//! Drives: the [`Drive`] trait (blocking file operations relative to a drive
//! root) and [`LocalDrive`], a folder on a local file system.
//!
//! Every durable small-file write goes through [`Drive::write_atomic`]: temp
//! file → fsync → rename → fsync of the target directory. The temp file is
//! in the drive's tmp area, or beside the target when the caller asks
//! ([`Drive::write_atomic_beside`], `obj.meta`). Directories are created one level at a time and their parents
//! fsynced, and never above the drive root: a drive whose folder vanished
//! fails its operations instead of being silently re-created.
//!
//! All methods block; callers run them on the blocking pool.
//!
//! The trait is the drive I/O seam: every file operation a drive does
//! (open, create, read, write, fsync, rename, remove, list, mkdir, stat)
//! goes through one `Arc<dyn Drive>` per drive, and open files through
//! [`ShardReader`] / [`ShardWriter`]. [`DriveBackend`] chooses the
//! implementation per drive (the real file system by default;
//! `crate::faulty` injects faults in tests; `crate::deadline` bounds every
//! operation by the drive deadline).
//!
//! Files are created 0600 and folders 0700: drive folders hold identity
//! data and inline object bytes that only the server's user may read.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::layout::{self, TMP_DIR};

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's file name.
    pub name: String,
    /// Whether it is a folder.
    pub is_dir: bool,
}

/// Space on a drive's file system.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriveSpace {
    /// Size of the file system.
    pub total_bytes: u64,
    /// Bytes available to the server.
    pub free_bytes: u64,
}

/// Mode of every file a drive creates: only the server's user reads them.
pub const FILE_MODE: u32 = 0o600;
/// Mode of every folder a drive creates.
pub const DIR_MODE: u32 = 0o700;

/// An open shard file for positional reads.
pub trait ShardReader: Send + Sync + std::fmt::Debug {
    /// Reads exactly `len` bytes at `offset` (`UnexpectedEof` when the file
    /// is shorter).
    fn read_exact_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>>;
}

/// An open shard file being written.
pub trait ShardWriter: Send + Sync + std::fmt::Debug {
    /// Appends `data` (owned, so a backend may hand it to another thread
    /// without copying).
    fn write_all(&self, data: Bytes) -> io::Result<()>;
    /// fsyncs the file's data.
    fn sync_data(&self) -> io::Result<()>;
    /// fsyncs the file's data and metadata.
    fn sync_all(&self) -> io::Result<()>;
}

/// Makes the [`Drive`] of each drive folder, by position: the real file
/// system unless a test installs another backend.
#[derive(Clone, Default)]
pub struct DriveBackend {
    make: Option<Arc<MakeDrive>>,
}

/// Builds a drive from its position and its real-file-system drive.
type MakeDrive = dyn Fn(usize, Arc<dyn Drive>) -> Arc<dyn Drive> + Send + Sync;

impl DriveBackend {
    /// A backend that wraps each real drive: `wrap(position, local)`.
    pub fn wrapping(
        wrap: impl Fn(usize, Arc<dyn Drive>) -> Arc<dyn Drive> + Send + Sync + 'static,
    ) -> Self {
        Self {
            make: Some(Arc::new(wrap)),
        }
    }

    /// The drive of folder `root` at `position`.
    pub fn open(&self, position: usize, root: PathBuf) -> Arc<dyn Drive> {
        let local: Arc<dyn Drive> = Arc::new(LocalDrive::new(root));
        match &self.make {
            Some(make) => make(position, local),
            None => local,
        }
    }
}

impl std::fmt::Debug for DriveBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.make.is_some() {
            "DriveBackend(custom)"
        } else {
            "DriveBackend(local)"
        })
    }
}

impl PartialEq for DriveBackend {
    fn eq(&self, other: &Self) -> bool {
        match (&self.make, &other.make) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for DriveBackend {}

/// Blocking file operations on one drive; paths are relative to its root.
pub trait Drive: Send + Sync + std::fmt::Debug {
    /// The drive folder, for messages.
    fn root(&self) -> &Path;
    /// Reads a whole file.
    fn read_file(&self, rel: &Path) -> io::Result<Vec<u8>>;
    /// Opens a file for positional reads.
    fn open_read(&self, rel: &Path) -> io::Result<Box<dyn ShardReader>>;
    /// Durably replaces `rel` with `data` (temp + fsync + rename + fsync dir),
    /// creating missing parents except a top-level folder (a bucket root).
    /// The temp file is in the drive's tmp area (start-up empties it).
    fn write_atomic(&self, rel: &Path, data: &[u8]) -> io::Result<()>;
    /// [`Drive::write_atomic`] with the temp file created beside `rel`
    /// (`layout::META_TEMP_PREFIX`), for `obj.meta`: in the one shared tmp
    /// folder, every object's metadata inode was allocated in the same
    /// churned block group (a quarter of a 1 MiB PUT's CPU in ext4's inode
    /// search, BENCHMARKS.md). Only for files whose writers all hold one
    /// lock (an object's: the key's lock), so one found by another holder of
    /// it is a crash's leftover (`remove_data_dirs_except` removes it).
    fn write_atomic_beside(&self, rel: &Path, data: &[u8]) -> io::Result<()>;
    /// Creates (truncating) a file for streaming writes, creating parents.
    fn create_file(&self, rel: &Path) -> io::Result<Box<dyn ShardWriter>>;
    /// Creates `rel` and missing parents (never the drive root), fsyncing
    /// the parent of every directory it creates.
    fn mkdir_all(&self, rel: &Path) -> io::Result<()>;
    /// Renames `from` to `to` (file or directory), creating `to`'s parents
    /// except a top-level folder (a bucket root), then fsyncs `to`'s directory.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Like [`Drive::rename`] but leaves the fsync of `to`'s directory to the
    /// caller, who writes (and fsyncs) that same directory next: one journal
    /// commit then covers both entries. Folders it creates are still made
    /// durable in their parents.
    fn rename_unsynced(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Creates a directory (and missing parents) under the tmp area without
    /// any fsync: staging
    /// names need no durability (the area is wiped at start-up; what a write
    /// needs durable is its file data, the staged folder's own entries, and
    /// the final rename's directory).
    fn mkdir_staging(&self, rel: &Path) -> io::Result<()>;
    /// Hard-links `from` to `to` (creating `to`'s parents).
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// fsyncs a directory.
    fn fsync_dir(&self, rel: &Path) -> io::Result<()>;
    /// Removes a file; a missing file is not an error.
    fn remove_file(&self, rel: &Path) -> io::Result<()>;
    /// Removes a directory tree; a missing one is not an error.
    fn remove_dir_all(&self, rel: &Path) -> io::Result<()>;
    /// Removes an empty directory; `Ok(false)` when it is not empty or missing.
    fn remove_empty_dir(&self, rel: &Path) -> io::Result<bool>;
    /// Lists a directory (unsorted). A missing directory lists as empty.
    fn list_dir(&self, rel: &Path) -> io::Result<Vec<DirEntry>>;
    /// Whether `rel` exists.
    fn exists(&self, rel: &Path) -> io::Result<bool>;
    /// Total and free space.
    fn space(&self) -> io::Result<DriveSpace>;
    /// Gives every file under the drive [`FILE_MODE`] and every folder
    /// [`DIR_MODE`] (drives written before modes were tightened); returns
    /// how many entries changed.
    fn fix_modes(&self) -> io::Result<usize>;
    /// Whether an operation on this drive is past its deadline and still
    /// has not returned (the drive set then takes the drive offline).
    fn is_stalled(&self) -> bool {
        false
    }
}

/// A file of a [`LocalDrive`].
#[derive(Debug)]
struct LocalFile(File);

impl ShardReader for LocalFile {
    fn read_exact_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        read_frame_at(&self.0, offset, len)
    }
}

impl ShardWriter for LocalFile {
    fn write_all(&self, data: Bytes) -> io::Result<()> {
        (&self.0).write_all(&data)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.0.sync_all()
    }
}

/// Reads exactly `len` bytes at `offset` into a fresh buffer. Reading into
/// the spare capacity of a `Vec` (std's `read_to_end` over a `File` uses
/// uninitialised memory safely) skips zero-filling every buffer first,
/// which was 8% of a 1 MiB GET's CPU. The handle's position moves: each
/// reader owns its handles.
fn read_frame_at(file: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut reader = file;
    reader.seek(SeekFrom::Start(offset))?;
    let mut buffer = Vec::with_capacity(len);
    reader.take(len as u64).read_to_end(&mut buffer)?;
    if buffer.len() != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "shard file shorter than its frames",
        ));
    }
    Ok(buffer)
}

/// Creates one folder with [`DIR_MODE`].
fn create_dir(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new().mode(DIR_MODE).create(path)
}

/// Creates a drive folder (and missing parents) with [`DIR_MODE`].
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .mode(DIR_MODE)
        .recursive(true)
        .create(path)
}

/// Sets `path`'s mode to `mode` unless it has it; true when changed.
fn set_mode(path: &Path, meta: &fs::Metadata, mode: u32) -> io::Result<bool> {
    if meta.permissions().mode() & 0o7777 == mode {
        return Ok(false);
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(true)
}

/// [`Drive::fix_modes`] of a folder tree (symlinks are left alone). The
/// root's mode is set last, so a root that already has [`DIR_MODE`] means
/// an earlier walk finished: later start-ups skip the walk.
fn fix_modes_under(root: &Path) -> io::Result<usize> {
    let root_meta = fs::symlink_metadata(root)?;
    if root_meta.permissions().mode() & 0o7777 == DIR_MODE {
        return Ok(0);
    }
    let mut changed = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let read = match fs::read_dir(&dir) {
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        for entry in read {
            let entry = entry?;
            let path = entry.path();
            let (meta, mode) = match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => (meta, DIR_MODE),
                Ok(meta) if meta.is_file() => (meta, FILE_MODE),
                Ok(_) => continue,
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            };
            changed += usize::from(set_mode(&path, &meta, mode)?);
            if mode == DIR_MODE {
                stack.push(path);
            }
        }
    }
    changed += usize::from(set_mode(root, &root_meta, DIR_MODE)?);
    Ok(changed)
}

/// A drive that is a local folder.
#[derive(Debug)]
pub struct LocalDrive {
    root: PathBuf,
}

impl LocalDrive {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    fn path(&self, rel: &Path) -> PathBuf {
        debug_assert!(rel.is_relative(), "{rel:?}");
        self.root.join(rel)
    }
}

impl LocalDrive {
    /// Creates `rel` and its missing parents (never the drive root),
    /// recording each created folder; the caller fsyncs their parents.
    /// Top-level folders (bucket roots, `.minnow.sys`) are created only when
    /// `top_level` allows it: an object write must never re-create the root
    /// of a bucket that DeleteBucket removed.
    fn create_dirs(
        &self,
        rel: &Path,
        created: &mut Vec<PathBuf>,
        top_level: TopLevel,
    ) -> io::Result<()> {
        if rel.as_os_str().is_empty() {
            return if self.root.is_dir() {
                Ok(())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("drive folder {} is missing", self.root.display()),
                ))
            };
        }
        let is_top_level = rel.parent().is_none_or(|p| p.as_os_str().is_empty());
        if is_top_level && top_level == TopLevel::Keep {
            return if self.path(rel).is_dir() {
                Ok(())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("top-level folder {} is missing", rel.display()),
                ))
            };
        }
        let full = self.path(rel);
        match create_dir(&full) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                self.create_dirs(rel.parent().unwrap_or(Path::new("")), created, top_level)?;
                match create_dir(&full) {
                    Ok(()) => {}
                    Err(err) if err.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
                    Err(err) => return Err(err),
                }
            }
            Err(err) => return Err(err),
        }
        created.push(rel.to_path_buf());
        Ok(())
    }

    /// Makes the entries of created folders durable.
    fn fsync_parents_of(&self, created: &[PathBuf]) -> io::Result<()> {
        for dir in created.iter().rev() {
            fsync_dir_abs(&self.path(dir.parent().unwrap_or(Path::new(""))))?;
        }
        Ok(())
    }
}

/// Whether a directory creation may create a top-level folder of the drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TopLevel {
    Create,
    Keep,
}

/// fsyncs a directory by absolute path.
pub fn fsync_dir_abs(path: &Path) -> io::Result<()> {
    #[cfg(test)]
    if path.ends_with(TMP_DIR) {
        tmp_area_fsyncs::COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    File::open(path)?.sync_all()
}

/// Counts fsyncs of any drive's shared tmp area: every concurrent write
/// would serialise on that one inode, and staging names need no durability,
/// so the count must stay 0 (tests check it).
#[cfg(test)]
pub mod tmp_area_fsyncs {
    pub static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
}

/// Deletes a temp file on drop unless it was persisted.
struct TempFileGuard {
    path: Option<PathBuf>,
}

impl Drop for TempFileGuard {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = fs::remove_file(path);
        }
    }
}

impl LocalDrive {
    /// [`Drive::write_atomic`], its temp file beside `rel` when `beside`.
    fn replace(&self, rel: &Path, data: &[u8], beside: bool) -> io::Result<()> {
        let parent_rel = rel.parent().unwrap_or(Path::new(""));
        let tmp = self.path(&if beside {
            parent_rel.join(layout::new_meta_temp_name())
        } else {
            layout::new_tmp_path()
        });
        let mut guard = TempFileGuard {
            path: Some(tmp.clone()),
        };
        // A concurrent delete may remove an empty parent between mkdir and
        // the temp file's creation or the rename; retry a few times.
        let mut attempts = 0;
        let mut created = Vec::new();
        let mut file = loop {
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(FILE_MODE)
                .open(&tmp)
            {
                Ok(file) => break file,
                Err(err) if beside && err.kind() == io::ErrorKind::NotFound && attempts < 5 => {
                    attempts += 1;
                    self.create_dirs(parent_rel, &mut created, TopLevel::Keep)?;
                }
                Err(err) => return Err(err),
            }
        };
        file.write_all(data)?;
        file.sync_all()?;
        drop(file);
        let target = self.path(rel);
        loop {
            match fs::rename(&tmp, &target) {
                Ok(()) => break,
                Err(err) if err.kind() == io::ErrorKind::NotFound && attempts < 5 => {
                    attempts += 1;
                    self.create_dirs(parent_rel, &mut created, TopLevel::Keep)?;
                }
                Err(err) => return Err(err),
            }
        }
        guard.path = None;
        // One journal commit covers the rename and the new folders; the
        // parents' fsyncs after it find nothing left to commit.
        fsync_dir_abs(&self.path(parent_rel))?;
        self.fsync_parents_of(&created)
    }
}

impl Drive for LocalDrive {
    fn root(&self) -> &Path {
        &self.root
    }

    fn read_file(&self, rel: &Path) -> io::Result<Vec<u8>> {
        fs::read(self.path(rel))
    }

    fn open_read(&self, rel: &Path) -> io::Result<Box<dyn ShardReader>> {
        Ok(Box::new(LocalFile(File::open(self.path(rel))?)))
    }

    fn write_atomic(&self, rel: &Path, data: &[u8]) -> io::Result<()> {
        self.replace(rel, data, false)
    }

    fn write_atomic_beside(&self, rel: &Path, data: &[u8]) -> io::Result<()> {
        self.replace(rel, data, true)
    }

    fn create_file(&self, rel: &Path) -> io::Result<Box<dyn ShardWriter>> {
        if let Some(parent) = rel.parent() {
            self.mkdir_all(parent)?;
        }
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(FILE_MODE)
            .open(self.path(rel))?;
        Ok(Box::new(LocalFile(file)))
    }

    fn mkdir_all(&self, rel: &Path) -> io::Result<()> {
        let mut created = Vec::new();
        self.create_dirs(rel, &mut created, TopLevel::Create)?;
        self.fsync_parents_of(&created)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.rename_unsynced(from, to)?;
        fsync_dir_abs(&self.path(to.parent().unwrap_or(Path::new(""))))
    }

    fn rename_unsynced(&self, from: &Path, to: &Path) -> io::Result<()> {
        let parent_rel = to.parent().unwrap_or(Path::new(""));
        let mut attempts = 0;
        let mut created = Vec::new();
        loop {
            match fs::rename(self.path(from), self.path(to)) {
                Ok(()) => break,
                Err(err)
                    if err.kind() == io::ErrorKind::NotFound
                        && attempts < 5
                        && self.path(from).exists() =>
                {
                    attempts += 1;
                    self.create_dirs(parent_rel, &mut created, TopLevel::Keep)?;
                }
                Err(err) => return Err(err),
            }
        }
        self.fsync_parents_of(&created)
    }

    fn mkdir_staging(&self, rel: &Path) -> io::Result<()> {
        let below = rel.strip_prefix(TMP_DIR).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not in the tmp area", rel.display()),
            )
        })?;
        // The tmp area itself must exist (it does on every usable drive):
        // never re-create a vanished drive's folders from here.
        let mut dir = self.path(Path::new(TMP_DIR));
        for component in below.components() {
            dir.push(component);
            match create_dir(&dir) {
                Err(err) if err.kind() != io::ErrorKind::AlreadyExists => return Err(err),
                _ => {}
            }
        }
        Ok(())
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        if let Some(parent) = to.parent() {
            self.mkdir_all(parent)?;
        }
        fs::hard_link(self.path(from), self.path(to))
    }

    fn fsync_dir(&self, rel: &Path) -> io::Result<()> {
        fsync_dir_abs(&self.path(rel))
    }

    fn remove_file(&self, rel: &Path) -> io::Result<()> {
        match fs::remove_file(self.path(rel)) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn remove_dir_all(&self, rel: &Path) -> io::Result<()> {
        match fs::remove_dir_all(self.path(rel)) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn remove_empty_dir(&self, rel: &Path) -> io::Result<bool> {
        match fs::remove_dir(self.path(rel)) {
            Ok(()) => Ok(true),
            Err(err)
                if err.kind() == io::ErrorKind::NotFound
                    || err.kind() == io::ErrorKind::DirectoryNotEmpty =>
            {
                Ok(false)
            }
            Err(err) => Err(err),
        }
    }

    fn list_dir(&self, rel: &Path) -> io::Result<Vec<DirEntry>> {
        let read = match fs::read_dir(self.path(rel)) {
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(err),
        };
        let mut entries = Vec::new();
        for entry in read {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let is_dir = entry.file_type()?.is_dir();
            entries.push(DirEntry { name, is_dir });
        }
        Ok(entries)
    }

    fn exists(&self, rel: &Path) -> io::Result<bool> {
        self.path(rel).try_exists()
    }

    fn space(&self) -> io::Result<DriveSpace> {
        statvfs_space(&self.root)
    }

    fn fix_modes(&self) -> io::Result<usize> {
        fix_modes_under(&self.root)
    }
}

/// Reads total/free space with `statvfs(3)`.
// The field widths differ between platforms, hence the conversions.
#[allow(unsafe_code, clippy::useless_conversion)]
fn statvfs_space(path: &Path) -> io::Result<DriveSpace> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c_path` is a valid NUL-terminated string and `stat` points to
    // writable memory of the right type; statvfs only writes into it.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it initialised the struct.
    let stat = unsafe { stat.assume_init() };
    let fragment = u64::from(stat.f_frsize);
    Ok(DriveSpace {
        total_bytes: u64::from(stat.f_blocks) * fragment,
        free_bytes: u64::from(stat.f_bavail) * fragment,
    })
}

/// Removes everything in the drive's tmp area (leftovers of a crash) and
/// re-creates it.
pub fn reset_tmp_area(drive: &dyn Drive) -> io::Result<()> {
    drive.remove_dir_all(Path::new(TMP_DIR))?;
    drive.mkdir_all(Path::new(TMP_DIR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let drive = LocalDrive::new(dir.path().to_path_buf());
        reset_tmp_area(&drive).unwrap();
        let rel = Path::new("a/b/c.meta");
        drive.mkdir_all(Path::new("a")).unwrap();
        drive.write_atomic(rel, b"one").unwrap();
        drive.write_atomic(rel, b"two").unwrap();
        assert_eq!(drive.read_file(rel).unwrap(), b"two");
        assert!(drive.list_dir(Path::new(TMP_DIR)).unwrap().is_empty());
    }

    #[test]
    fn vanished_drive_folder_is_not_recreated() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("drive");
        fs::create_dir(&root).unwrap();
        let drive = LocalDrive::new(root.clone());
        fs::remove_dir(&root).unwrap();
        assert!(drive.mkdir_all(Path::new("bucket/x")).is_err());
        assert!(!root.exists());
    }

    #[test]
    fn object_writes_never_recreate_a_removed_bucket_root() {
        let dir = tempfile::tempdir().unwrap();
        let drive = LocalDrive::new(dir.path().to_path_buf());
        reset_tmp_area(&drive).unwrap();
        drive.mkdir_all(Path::new("bucket")).unwrap();
        drive
            .write_atomic_beside(Path::new("bucket/_a/obj.meta"), b"x")
            .unwrap();
        drive.remove_dir_all(Path::new("bucket")).unwrap();
        assert!(drive
            .write_atomic_beside(Path::new("bucket/_a/obj.meta"), b"y")
            .is_err());
        assert!(drive
            .write_atomic(Path::new("bucket/_a/other"), b"y")
            .is_err());
        drive
            .mkdir_all(Path::new(".minnow.sys/tmp/staged"))
            .unwrap();
        assert!(drive
            .rename(
                Path::new(".minnow.sys/tmp/staged"),
                Path::new("bucket/_a/d.1")
            )
            .is_err());
        assert!(!dir.path().join("bucket").exists());
    }

    #[test]
    fn start_up_wipes_leftover_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let drive = LocalDrive::new(dir.path().to_path_buf());
        drive
            .create_file(&Path::new(TMP_DIR).join("left/over"))
            .unwrap();
        reset_tmp_area(&drive).unwrap();
        assert!(drive.list_dir(Path::new(TMP_DIR)).unwrap().is_empty());
    }

    #[test]
    fn space_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let space = LocalDrive::new(dir.path().to_path_buf()).space().unwrap();
        assert!(space.total_bytes >= space.free_bytes && space.total_bytes > 0);
    }
}

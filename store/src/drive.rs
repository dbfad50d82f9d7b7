//! Drives: the [`Drive`] trait (blocking file operations relative to a drive
//! root) and [`LocalDrive`], a folder on a local file system.
//!
//! Every durable small-file write goes through [`Drive::write_atomic`]: temp
//! file in the drive's tmp area → fsync → rename → fsync of the target
//! directory. Directories are created one level at a time and their parents
//! fsynced, and never above the drive root: a drive whose folder vanished
//! fails its operations instead of being silently re-created.
//!
//! All methods block; callers run them on the blocking pool.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::layout::{self, TMP_DIR};

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub is_dir: bool,
}

/// Space on a drive's file system.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriveSpace {
    pub total_bytes: u64,
    pub free_bytes: u64,
}

/// Blocking file operations on one drive; paths are relative to its root.
pub trait Drive: Send + Sync + std::fmt::Debug {
    /// The drive folder, for messages.
    fn root(&self) -> &Path;
    /// Reads a whole file.
    fn read_file(&self, rel: &Path) -> io::Result<Vec<u8>>;
    /// Opens a file for positional reads.
    fn open_read(&self, rel: &Path) -> io::Result<File>;
    /// Durably replaces `rel` with `data` (temp + fsync + rename + fsync dir),
    /// creating missing parents except a top-level folder (a bucket root).
    fn write_atomic(&self, rel: &Path, data: &[u8]) -> io::Result<()>;
    /// Creates (truncating) a file for streaming writes, creating parents.
    fn create_file(&self, rel: &Path) -> io::Result<File>;
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
        match fs::create_dir(&full) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                self.create_dirs(rel.parent().unwrap_or(Path::new("")), created, top_level)?;
                match fs::create_dir(&full) {
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

impl Drive for LocalDrive {
    fn root(&self) -> &Path {
        &self.root
    }

    fn read_file(&self, rel: &Path) -> io::Result<Vec<u8>> {
        fs::read(self.path(rel))
    }

    fn open_read(&self, rel: &Path) -> io::Result<File> {
        File::open(self.path(rel))
    }

    fn write_atomic(&self, rel: &Path, data: &[u8]) -> io::Result<()> {
        let tmp = self.path(&layout::new_tmp_path());
        let mut guard = TempFileGuard {
            path: Some(tmp.clone()),
        };
        {
            let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            file.write_all(data)?;
            file.sync_all()?;
        }
        let target = self.path(rel);
        let parent_rel = rel.parent().unwrap_or(Path::new(""));
        // A concurrent delete may remove an empty parent between mkdir and
        // rename; retry a few times.
        let mut attempts = 0;
        let mut created = Vec::new();
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

    fn create_file(&self, rel: &Path) -> io::Result<File> {
        if let Some(parent) = rel.parent() {
            self.mkdir_all(parent)?;
        }
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(self.path(rel))
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
            match fs::create_dir(&dir) {
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
            .write_atomic(Path::new("bucket/_a/obj.meta"), b"x")
            .unwrap();
        drive.remove_dir_all(Path::new("bucket")).unwrap();
        assert!(drive
            .write_atomic(Path::new("bucket/_a/obj.meta"), b"y")
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

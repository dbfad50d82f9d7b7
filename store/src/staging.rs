//! Staging folders in each drive's tmp area (`.minnow.sys/tmp/<id>`) and
//! who owns them. Every writer that stages shards there (PUT, part upload,
//! multipart complete, heal) claims its name first and holds the claim,
//! cloned into every blocking task that touches the folder, until the last
//! of them returns. The sweep removes only what no claim owns and has stayed
//! unowned for a grace period: leftovers of an operation that outlived its
//! request (a drive past its deadline, or offline when the request cleaned
//! up), never the staging of a writer still running.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::drive::Drive;
use crate::layout::TMP_DIR;

/// How long an unowned staging folder stays before the sweep removes it.
/// Owned folders are never removed; the grace only covers a name seen in
/// the listing just as its claim was dropped.
const FOLDER_GRACE: Duration = if cfg!(test) {
    Duration::from_millis(200)
} else {
    Duration::from_secs(10)
};

/// The same for plain files: `write_atomic`'s temp files own no claim (their
/// guard removes them when the operation returns), so only one older than
/// any drive operation is a leftover.
const FILE_GRACE: Duration = if cfg!(test) {
    Duration::from_secs(2)
} else {
    Duration::from_secs(120)
};

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The staging names live writers own, and what the sweep has seen unowned.
#[derive(Debug, Default)]
pub(crate) struct StagingArea {
    live: Mutex<HashSet<String>>,
    /// (drive position, entry name) → when the sweep first found it unowned.
    unowned_since: Mutex<HashMap<(usize, String), Instant>>,
}

/// A claim on one staging name, shared by every task that uses the folder;
/// the name is released when the last clone drops.
#[derive(Debug, Clone)]
pub(crate) struct Staging(Arc<Claim>);

#[derive(Debug)]
struct Claim {
    name: String,
    path: PathBuf,
    area: Arc<StagingArea>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        lock(&self.area.live).remove(&self.name);
    }
}

impl std::ops::Deref for Staging {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0.path
    }
}

impl AsRef<Path> for Staging {
    fn as_ref(&self) -> &Path {
        &self.0.path
    }
}

impl StagingArea {
    /// A fresh staging folder name `.minnow.sys/tmp/<uuid>`, owned until
    /// the returned claim (and every clone of it) drops.
    pub fn claim(self: &Arc<Self>) -> Staging {
        let name = Uuid::new_v4().simple().to_string();
        lock(&self.live).insert(name.clone());
        Staging(Arc::new(Claim {
            path: PathBuf::from(TMP_DIR).join(&name),
            name,
            area: self.clone(),
        }))
    }

    fn owned(&self, name: &str) -> bool {
        lock(&self.live).contains(name)
    }

    /// Removes from the drive at `position` the tmp entries no writer owns
    /// that the sweep found unowned at least a grace period ago; notes the
    /// others. Returns how many entries it removed (blocking).
    pub fn sweep(&self, position: usize, drive: &dyn Drive) -> io::Result<usize> {
        let entries = drive.list_dir(Path::new(TMP_DIR))?;
        let now = Instant::now();
        let mut removed = 0;
        let mut seen = HashSet::new();
        for entry in entries {
            seen.insert(entry.name.clone());
            // Checked after the listing: a name is claimed before its folder
            // is made, so an entry whose claim is gone is dead for good.
            if self.owned(&entry.name) {
                lock(&self.unowned_since).remove(&(position, entry.name));
                continue;
            }
            let since = *lock(&self.unowned_since)
                .entry((position, entry.name.clone()))
                .or_insert(now);
            let grace = if entry.is_dir {
                FOLDER_GRACE
            } else {
                FILE_GRACE
            };
            if now.duration_since(since) < grace {
                continue;
            }
            let path = Path::new(TMP_DIR).join(&entry.name);
            let result = if entry.is_dir {
                drive.remove_dir_all(&path)
            } else {
                drive.remove_file(&path)
            };
            match result {
                Ok(()) => removed += 1,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
            lock(&self.unowned_since).remove(&(position, entry.name));
        }
        lock(&self.unowned_since).retain(|(p, name), _| *p != position || seen.contains(name));
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drive::LocalDrive;

    #[test]
    fn a_claim_is_released_when_its_last_clone_drops() {
        let area = Arc::new(StagingArea::default());
        let claim = area.claim();
        let name = claim.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(claim.starts_with(TMP_DIR));
        let clone = claim.clone();
        drop(claim);
        assert!(area.owned(&name), "a clone still owns it");
        drop(clone);
        assert!(!area.owned(&name));
    }

    #[test]
    fn the_sweep_removes_only_unowned_staging_after_the_grace() {
        let dir = tempfile::tempdir().unwrap();
        let drive = LocalDrive::new(dir.path().to_path_buf());
        std::fs::create_dir_all(dir.path().join(TMP_DIR)).unwrap();
        let area = Arc::new(StagingArea::default());
        let live = area.claim();
        let dead = area.claim();
        for claim in [&live, &dead] {
            std::fs::create_dir_all(dir.path().join(&**claim)).unwrap();
            std::fs::write(dir.path().join(claim.join("part.1")), b"shard").unwrap();
        }
        let dead_path = dir.path().join(&*dead);
        drop(dead);
        // First sight starts the grace: nothing goes yet.
        assert_eq!(area.sweep(0, &drive).unwrap(), 0);
        assert!(dead_path.exists());
        std::thread::sleep(FOLDER_GRACE + Duration::from_millis(50));
        assert_eq!(area.sweep(0, &drive).unwrap(), 1);
        assert!(!dead_path.exists(), "unowned staging is removed");
        assert!(
            dir.path().join(live.join("part.1")).exists(),
            "a live writer's staging is never removed, however old"
        );
    }
}

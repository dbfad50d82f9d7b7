//! The one drive fixture of store's tests: temporary drive folders and
//! the store over them. Shared by the acceptance suites (`store/tests`) and
//! the engine's own tests (`store/src/tests`, which include this file).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use store::{Store, StoreConfig};

/// A temporary directory holding `n` drive folders (`drive1..driveN`).
///
/// The drives live one level below the temporary root (`root/set/driveN`) so
/// suites can check that nothing is ever written beside the drive folders.
pub struct TestDrives {
    pub root: tempfile::TempDir,
    pub drives: Vec<PathBuf>,
    /// Block size and inline limit; `None` keeps the store's defaults.
    sizes: Option<Sizes>,
}

/// Erasure block size and inline limit of a fixture's store.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub block_size: usize,
    pub inline_limit: usize,
}

/// 64 KiB blocks and a 16 KiB inline limit: multi-block objects and shard
/// files at sizes small tests write quickly.
pub const SMALL_BLOCKS: Sizes = Sizes {
    block_size: 64 << 10,
    inline_limit: 16 << 10,
};

impl TestDrives {
    pub fn new(count: usize) -> Self {
        let root = tempfile::Builder::new()
            .prefix("minnow-store-test-")
            .tempdir()
            .expect("create temp dir");
        let drives: Vec<PathBuf> = (1..=count)
            .map(|i| root.path().join("set").join(format!("drive{i}")))
            .collect();
        for drive in &drives {
            std::fs::create_dir_all(drive).expect("create drive folder");
        }
        Self {
            root,
            drives,
            sizes: None,
        }
    }

    /// [`TestDrives::new`] whose store uses `sizes`.
    pub fn with_sizes(count: usize, sizes: Sizes) -> Self {
        Self {
            sizes: Some(sizes),
            ..Self::new(count)
        }
    }

    /// Default configuration (EC 2+2 for four drives, 1 MiB blocks), or the
    /// fixture's sizes.
    pub fn config(&self) -> StoreConfig {
        let mut config = StoreConfig::new(self.drives.clone());
        if let Some(sizes) = self.sizes {
            config.block_size = sizes.block_size;
            config.inline_limit = sizes.inline_limit;
        }
        config
    }

    pub async fn open(&self) -> Store {
        self.open_with(self.config()).await
    }

    pub async fn open_with(&self, config: StoreConfig) -> Store {
        Store::open(config).await.expect("open store")
    }

    pub fn drive(&self, index: usize) -> &Path {
        &self.drives[index]
    }

    /// Removes a drive folder entirely (a drive that vanished).
    ///
    /// The folder is first moved aside in one step, so a background heal
    /// of a store being dropped that still writes into it cannot make the
    /// removal fail half-way.
    pub fn remove_drive(&self, index: usize) {
        let path = self.drive(index);
        if path.exists() {
            let aside = self
                .root
                .path()
                .join(format!("removed-{index}-{}", uuid::Uuid::new_v4()));
            std::fs::rename(path, &aside).expect("move drive folder aside");
            let _ = std::fs::remove_dir_all(&aside);
        }
    }

    /// Removes a drive folder and recreates it empty (a replaced drive).
    pub fn replace_drive(&self, index: usize) {
        self.remove_drive(index);
        std::fs::create_dir_all(self.drive(index)).expect("recreate drive folder");
    }

    /// Every regular file below the temporary root, relative to it.
    pub fn all_files(&self) -> BTreeSet<PathBuf> {
        self.files().into_iter().collect()
    }

    /// Every regular file below the temporary root, relative to it, sorted.
    pub fn files(&self) -> Vec<PathBuf> {
        files_under(self.root.path())
            .into_iter()
            .map(|p| p.strip_prefix(self.root.path()).unwrap().to_path_buf())
            .collect()
    }
}

/// Every regular file below `dir` (recursively, absolute paths, sorted).
/// Symlinks are reported as files and never followed.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    out
}

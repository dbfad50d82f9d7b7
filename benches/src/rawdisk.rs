//! The raw-disk baseline: what PUT costs with no server at all. Each object is
//! written as its erasure-coded bytes would be — for EC 2+2, four files of
//! half the object size, one per drive folder (small objects too: minnow's
//! inline path also writes one file per drive) — by plain file I/O: temp file,
//! write, fsync, rename, fsync of the directory, the four drives in parallel.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use crate::payload::Payload;
use crate::s3client::OpError;

/// The folder under each drive the baseline writes into.
const BASE_DIR: &str = "rawbench";

/// Erasure layout the baseline mimics.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub data: usize,
    pub parity: usize,
}

impl Layout {
    pub const EC_2_2: Layout = Layout { data: 2, parity: 2 };

    pub fn shard_len(&self, size: u64) -> u64 {
        size.div_ceil(self.data as u64)
    }
}

/// Plain file I/O into the drive folders.
pub struct RawDisk {
    dirs: Vec<PathBuf>,
    layout: Layout,
    pub dir_fsync: bool,
    tmp_seq: AtomicU64,
}

impl RawDisk {
    /// Uses `drives` (one folder each, `data + parity` of them).
    pub fn new(drives: &[PathBuf], layout: Layout) -> std::io::Result<Arc<Self>> {
        assert_eq!(drives.len(), layout.data + layout.parity);
        let mut dirs = Vec::new();
        for d in drives {
            let dir = d.join(BASE_DIR);
            fs::create_dir_all(&dir)?;
            dirs.push(dir);
        }
        Ok(Arc::new(Self {
            dirs,
            layout,
            dir_fsync: true,
            tmp_seq: AtomicU64::new(0),
        }))
    }

    fn file_name(key: &str) -> String {
        key.replace('/', "_")
    }

    /// Writes the shards of one object (`size` bytes) durably.
    pub async fn put(
        self: &Arc<Self>,
        key: &str,
        size: u64,
        payload: &Payload,
        seed: u64,
    ) -> Result<u64, OpError> {
        let shard_len = self.layout.shard_len(size) as usize;
        let name = Self::file_name(key);
        let mut tasks = Vec::with_capacity(self.dirs.len());
        for (i, dir) in self.dirs.iter().enumerate() {
            let bytes = payload.slice(seed.wrapping_add(i as u64), shard_len);
            let dir = dir.clone();
            let name = name.clone();
            let tmp = format!(".tmp-{}", self.tmp_seq.fetch_add(1, Ordering::Relaxed));
            let dir_fsync = self.dir_fsync;
            tasks.push(tokio::task::spawn_blocking(move || {
                write_atomic(&dir, &name, &tmp, &bytes, dir_fsync)
            }));
        }
        for t in tasks {
            t.await
                .map_err(|_| OpError::new("JoinError"))?
                .map_err(|e| io_error(&e))?;
        }
        Ok(size)
    }

    /// Reads the data shards of one object (what a healthy GET needs).
    pub async fn get(self: &Arc<Self>, key: &str) -> Result<u64, OpError> {
        let name = Self::file_name(key);
        let mut tasks = Vec::new();
        for dir in &self.dirs[..self.layout.data] {
            let path = dir.join(&name);
            tasks.push(tokio::task::spawn_blocking(move || read_discard(&path)));
        }
        let mut total = 0;
        for t in tasks {
            total += t
                .await
                .map_err(|_| OpError::new("JoinError"))?
                .map_err(|e| io_error(&e))?;
        }
        Ok(total)
    }

    pub async fn head(self: &Arc<Self>, key: &str) -> Result<u64, OpError> {
        let path = self.dirs[0].join(Self::file_name(key));
        tokio::task::spawn_blocking(move || fs::metadata(path).map(|_| 0))
            .await
            .map_err(|_| OpError::new("JoinError"))?
            .map_err(|e| io_error(&e))
    }

    /// Removes the object's files durably (unlink + directory fsync).
    pub async fn delete(self: &Arc<Self>, key: &str) -> Result<u64, OpError> {
        let name = Self::file_name(key);
        let mut tasks = Vec::new();
        for dir in &self.dirs {
            let dir = dir.clone();
            let name = name.clone();
            let dir_fsync = self.dir_fsync;
            tasks.push(tokio::task::spawn_blocking(move || {
                match fs::remove_file(dir.join(&name)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
                if dir_fsync {
                    File::open(&dir)?.sync_all()?;
                }
                Ok(())
            }));
        }
        for t in tasks {
            t.await
                .map_err(|_| OpError::new("JoinError"))?
                .map_err(|e| io_error(&e))?;
        }
        Ok(0)
    }

    /// Counts the objects (files in the first drive folder) under `prefix`.
    pub async fn list(self: &Arc<Self>, prefix: &str) -> Result<u64, OpError> {
        let dir = self.dirs[0].clone();
        let prefix = Self::file_name(prefix);
        tokio::task::spawn_blocking(move || {
            let mut n = 0;
            for entry in fs::read_dir(dir)? {
                if entry?.file_name().to_string_lossy().starts_with(&prefix) {
                    n += 1;
                }
            }
            Ok::<u64, std::io::Error>(n)
        })
        .await
        .map_err(|_| OpError::new("JoinError"))?
        .map_err(|e| io_error(&e))
    }
}

fn io_error(e: &std::io::Error) -> OpError {
    OpError::new(format!("io:{:?}", e.kind()))
}

/// temp file → write → fsync → rename → fsync directory.
fn write_atomic(
    dir: &Path,
    name: &str,
    tmp: &str,
    bytes: &Bytes,
    dir_fsync: bool,
) -> std::io::Result<()> {
    let tmp_path = dir.join(tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp_path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp_path, dir.join(name))?;
    if dir_fsync {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn read_discard(path: &Path) -> std::io::Result<u64> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn raw_put_writes_four_half_size_files_and_reads_back_the_data_half() {
        let tmp = tempfile::tempdir().unwrap();
        let drives: Vec<PathBuf> = (1..=4).map(|i| tmp.path().join(format!("d{i}"))).collect();
        let raw = RawDisk::new(&drives, Layout::EC_2_2).unwrap();
        let payload = Payload::new(1 << 20);
        raw.put("p/obj-1", 100_001, &payload, 1).await.unwrap();
        for d in &drives {
            let len = fs::metadata(d.join(BASE_DIR).join("p_obj-1"))
                .unwrap()
                .len();
            assert_eq!(len, 50_001);
        }
        assert_eq!(raw.get("p/obj-1").await.unwrap(), 100_002);
        assert_eq!(raw.list("p/").await.unwrap(), 1);
        raw.delete("p/obj-1").await.unwrap();
        assert!(raw.head("p/obj-1").await.is_err());
    }
}

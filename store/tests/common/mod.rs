//! Shared helpers of the store acceptance suites: temporary drive folders,
//! deterministic random bytes, body streams, and black-box damage to drives
//! (the suites know nothing of the on-disk format beyond "files under a drive
//! folder").
#![allow(dead_code)]

mod drives;
#[allow(unused_imports)]
pub use drives::{files_under, TestDrives, SMALL_BLOCKS};

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::StreamExt;
use rand::{Rng, RngCore, SeedableRng};
use store::api::{ByteRange, ByteStream, Catalog, ObjectInfo, ObjectStore, PutOptions, StoreError};
use store::Store;

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * 1024;

/// Every directory below `dir` (recursively, absolute paths, sorted).
pub fn dirs_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().map(|k| k.is_dir()).unwrap_or(false) {
                out.push(entry.path());
                stack.push(entry.path());
            }
        }
    }
    out.sort();
    out
}

/// Deterministic pseudo-random bytes: the same `(seed, len)` always gives the
/// same content, so a parent process can recompute what a child wrote.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut buf = vec![0u8; len];
    rng.fill_bytes(&mut buf);
    buf
}

pub fn seeded_rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// A body stream that hands out `data` in chunks of `chunk` bytes (the last
/// one shorter), like an HTTP body would.
pub fn body(data: impl Into<Bytes>, chunk: usize) -> ByteStream {
    let data: Bytes = data.into();
    let chunk = chunk.max(1);
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let end = (at + chunk).min(data.len());
        pieces.push(Ok(data.slice(at..end)));
        at = end;
    }
    Box::pin(futures::stream::iter(pieces))
}

/// A body stream with chunks of random sizes (1 byte .. 200 KiB), so chunk
/// edges fall everywhere relative to block boundaries.
pub fn body_random_chunks(data: impl Into<Bytes>, seed: u64) -> ByteStream {
    let data: Bytes = data.into();
    let mut rng = seeded_rng(seed);
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let len = if rng.gen_bool(0.2) {
            rng.gen_range(1..=16)
        } else {
            rng.gen_range(1..=200 * KIB)
        };
        let end = (at + len).min(data.len());
        pieces.push(Ok(data.slice(at..end)));
        at = end;
    }
    Box::pin(futures::stream::iter(pieces))
}

/// Drains a body stream into memory; the first `Err` item is returned.
pub async fn read_all(mut stream: ByteStream) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

/// Puts `data` with its declared size, in 64 KiB chunks.
pub async fn put(
    store: &Store,
    bucket: &str,
    key: &str,
    data: &[u8],
) -> Result<ObjectInfo, StoreError> {
    let opts = PutOptions {
        size: Some(data.len() as u64),
        ..Default::default()
    };
    store
        .put_object(bucket, key, body(data.to_vec(), 64 * KIB), opts)
        .await
}

/// Reads a whole object; an error opening it or mid-stream is returned.
pub async fn get(store: &Store, bucket: &str, key: &str) -> Result<Vec<u8>, StoreError> {
    let reader = store.get_object(bucket, key, None).await?;
    read_all(reader.body).await
}

/// Reads a range of an object, returning the resolved range and the bytes.
pub async fn get_range(
    store: &Store,
    bucket: &str,
    key: &str,
    range: ByteRange,
) -> Result<(Option<(u64, u64)>, Vec<u8>), StoreError> {
    let reader = store.get_object(bucket, key, Some(range)).await?;
    let resolved = reader.range;
    Ok((resolved, read_all(reader.body).await?))
}

pub async fn create_bucket(store: &Store, bucket: &str) {
    store
        .create_bucket(bucket)
        .await
        .unwrap_or_else(|e| panic!("create bucket {bucket}: {e}"));
}

pub fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(data))
}

pub fn blake3_hex(data: &[u8]) -> String {
    blake3::hash(data).to_hex().to_string()
}

/// Panics with a short description instead of dumping megabytes of bytes.
#[track_caller]
pub fn assert_same_bytes(actual: &[u8], expected: &[u8], what: &str) {
    if actual == expected {
        return;
    }
    let first_difference = actual
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(actual.len().min(expected.len()));
    panic!(
        "{what}: got {} bytes, expected {} bytes; first difference at offset {first_difference}",
        actual.len(),
        expected.len()
    );
}

/// How one drive is damaged, black-box: the suites only know that a drive is
/// a folder of files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriveDamage {
    /// Every object file on the drive is deleted.
    DeleteAllFiles,
    /// One object file (chosen by the seed) is deleted.
    DeleteOneFile,
    /// One byte is flipped in every object file.
    FlipByteInEveryFile,
    /// One byte is flipped in one object file (chosen by the seed).
    FlipByteInOneFile,
    /// Every object file is truncated to half its length.
    TruncateEveryFile,
    /// The whole drive folder is removed.
    RemoveDriveFolder,
}

pub const ALL_DAMAGES: [DriveDamage; 6] = [
    DriveDamage::DeleteAllFiles,
    DriveDamage::DeleteOneFile,
    DriveDamage::FlipByteInEveryFile,
    DriveDamage::FlipByteInOneFile,
    DriveDamage::TruncateEveryFile,
    DriveDamage::RemoveDriveFolder,
];

/// Whether a file is the drive's identity/format record. Damaging it makes a
/// different scenario (an unformatted drive, tested by removing the folder);
/// the file-level damages leave it alone and only hit files that can belong to
/// objects, buckets and settings.
pub fn is_drive_format_file(drive: &Path, file: &Path) -> bool {
    let Ok(relative) = file.strip_prefix(drive) else {
        return false;
    };
    let name = relative.to_string_lossy().to_ascii_lowercase();
    // The format record sits at the top of the drive or directly under its
    // system folder (e.g. `.minnow.sys/format.json`).
    relative.components().count() <= 2 && name.contains("format")
}

/// The files under `drive` that damage may touch (everything but the format
/// record), sorted so a seed picks the same file every time.
pub fn damageable_files(drive: &Path) -> Vec<PathBuf> {
    files_under(drive)
        .into_iter()
        .filter(|f| !is_drive_format_file(drive, f))
        .collect()
}

pub fn flip_byte(file: &Path, seed: u64) {
    let mut bytes = std::fs::read(file).expect("read file to damage");
    if bytes.is_empty() {
        // An empty file cannot be bit-flipped; make it non-empty garbage.
        std::fs::write(file, [0xA5]).expect("write damaged file");
        return;
    }
    let at = (seed as usize) % bytes.len();
    bytes[at] ^= 0x5A;
    std::fs::write(file, bytes).expect("write damaged file");
}

/// Applies `damage` to the drive folder `drive`. `seed` picks files/offsets.
pub fn damage_drive(drive: &Path, damage: DriveDamage, seed: u64) {
    let files = damageable_files(drive);
    let mut rng = seeded_rng(seed);
    match damage {
        DriveDamage::DeleteAllFiles => {
            for f in &files {
                let _ = std::fs::remove_file(f);
            }
        }
        DriveDamage::DeleteOneFile => {
            if !files.is_empty() {
                let f = &files[rng.gen_range(0..files.len())];
                let _ = std::fs::remove_file(f);
            }
        }
        DriveDamage::FlipByteInEveryFile => {
            for f in &files {
                flip_byte(f, rng.gen());
            }
        }
        DriveDamage::FlipByteInOneFile => {
            if !files.is_empty() {
                let f = &files[rng.gen_range(0..files.len())];
                flip_byte(f, rng.gen());
            }
        }
        DriveDamage::TruncateEveryFile => {
            for f in &files {
                let len = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(f)
                    .expect("open file to truncate");
                file.set_len(len / 2).expect("truncate");
            }
        }
        DriveDamage::RemoveDriveFolder => {
            if drive.exists() {
                std::fs::remove_dir_all(drive).expect("remove drive folder");
            }
        }
    }
}

/// A multi-thread runtime for tests that drive the store from sync code
/// (proptest bodies).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

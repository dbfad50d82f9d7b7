//! The erasure-coded engine behind [`Store`], cut into rooms:
//! - `drive_set`: the drives, online/offline, fan-out, quorum decisions and
//!   `finish_write`, the one place a write's per-drive results are judged
//!   (write quorum, rollback, missed-write markers in `missed`);
//! - `write`: the write budget and the hash → encode → per-drive pipeline
//!   that turns a body into shards (`ingest`);
//! - `commit`: making a version visible (put, delete, attribute updates);
//! - `read`: metadata by quorum, read planning and shard sources (get, head);
//! - this file: configuration and start-up.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use bytes::Bytes;
use erasure::ErasureCodec;

use crate::api::{ObjectInfo, StoreError};
use crate::heal::HealQueue;
use crate::lock::{BucketLocks, NamespaceLocks};
use crate::meta::{ErasureInfo, ObjectMeta, Timestamp};

mod commit;
mod drive_set;
mod missed;
mod read;
mod write;

pub(crate) use commit::{
    ensure_segment_names, prune_empty_dirs, remove_data_dirs_except, segment_name_files,
};
pub(crate) use drive_set::{DriveSet, DriveState, Effect};
pub(crate) use read::{decode_inline, resolve_range, ShardSources};
pub(crate) use write::{Inline, Stored, WriteBuffers};

/// Largest single-part object (S3's limit).
pub const MAX_OBJECT_SIZE: u64 = 5 << 40;
/// Largest part of a multipart upload (S3's limit).
pub const MAX_PART_SIZE: u64 = 5 << 30;

/// How to open a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// Drive folders, in a fixed order.
    pub drives: Vec<PathBuf>,
    /// Parity shards; `None` picks the default for the drive count
    /// (1 → 0, 2–3 → 1, 4–5 → 2, 6–7 → 3, 8+ → 4).
    pub parity: Option<usize>,
    /// Erasure block size in bytes.
    pub block_size: usize,
    /// Objects up to this size keep their shard inside the metadata file.
    pub inline_limit: usize,
    /// Bytes of write blocks and their encoded shards held in memory across
    /// all writes at once; a write whose next block does not fit waits (and
    /// so stops reading its body) until earlier blocks reach the drives.
    /// Bounds the server's memory however many uploads run.
    pub write_buffer_limit: usize,
    /// A drive operation that has not answered after this long fails, and
    /// its drive goes offline until it answers again (the drive monitor
    /// probes it); `None` waits forever. Default
    /// [`crate::DEFAULT_DRIVE_TIMEOUT`] (30 s, MinIO's).
    pub drive_timeout: Option<std::time::Duration>,
    /// How drive folders are accessed: the real file system unless a test
    /// injects faults.
    pub backend: crate::DriveBackend,
    /// Keep the running marker (`.minnow.sys/running`) on every drive while
    /// open, and heal everything in the background at a start that finds it
    /// (the last run crashed, or the drives are a copy of a running store).
    /// Off by default so that tests which reopen drives see only the heals
    /// they ask for; the server turns it on.
    pub heal_after_unclean_stop: bool,
    /// How the background heal walk paces itself: after healing an object
    /// that took `t` it rests `heal_tranquility × t` (0 = no rest). Default
    /// [`crate::DEFAULT_HEAL_TRANQUILITY`].
    pub heal_tranquility: u32,
    /// Memory bound of the listing index over all buckets, in estimated
    /// bytes (key length + 48 per key); the least recently listed buckets
    /// are dropped beyond it, and a bucket larger than it alone is listed
    /// by walking its folders. Default
    /// [`crate::DEFAULT_LIST_INDEX_BYTES`] (256 MiB, ~3.5M keys of 30 bytes).
    pub list_index_bytes: usize,
    /// Memory bound of the object cache (metadata of recently read objects
    /// and the bytes of small ones, `cache.rs`), in estimated bytes; 0 turns
    /// it off. Default [`crate::DEFAULT_CACHE_BYTES`] (64 MiB).
    pub cache_bytes: usize,
}

impl StoreConfig {
    /// Defaults: parity by drive count, 1 MiB blocks, 128 KiB inline limit.
    pub fn new(drives: Vec<PathBuf>) -> Self {
        Self {
            drives,
            parity: None,
            block_size: 1 << 20,
            inline_limit: 128 << 10,
            write_buffer_limit: DEFAULT_WRITE_BUFFER_LIMIT,
            drive_timeout: Some(crate::DEFAULT_DRIVE_TIMEOUT),
            backend: crate::DriveBackend::default(),
            heal_after_unclean_stop: false,
            heal_tranquility: crate::DEFAULT_HEAL_TRANQUILITY,
            list_index_bytes: crate::DEFAULT_LIST_INDEX_BYTES,
            cache_bytes: crate::DEFAULT_CACHE_BYTES,
        }
    }
}

/// Start-up heal of fresh drives and drives with missed-write markers
/// waits this long, so the server starts answering first (and a fresh
/// drive starts healing within a second of being found).
const MISSED_WRITES_HEAL_DELAY: std::time::Duration = if cfg!(test) {
    std::time::Duration::ZERO
} else {
    std::time::Duration::from_millis(500)
};

/// 256 MiB: about 85 blocks of 1 MiB with their 2+2 shards, enough to keep
/// four drives busy while bounding a burst of large uploads.
pub const DEFAULT_WRITE_BUFFER_LIMIT: usize = 256 << 20;

/// Default parity for a drive count (MinIO's defaults).
pub fn default_parity(drives: usize) -> usize {
    match drives {
        0 | 1 => 0,
        2 | 3 => 1,
        4 | 5 => 2,
        6 | 7 => 3,
        _ => 4,
    }
}

/// A bucket as cached in memory.
#[derive(Debug, Clone)]
pub(crate) struct BucketState {
    pub created: Timestamp,
    pub settings: std::collections::HashMap<crate::api::BucketSetting, Bytes>,
    /// Set by DeleteBucket (under the exclusive bucket lock) before its
    /// emptiness check; writers that find it refuse as if the bucket were gone.
    pub deleting: bool,
}

/// The erasure-coded store. Implements every trait of [`crate::api`].
/// Share it as `Arc<Store>`.
pub struct Store {
    pub(crate) inner: Arc<Engine>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("drives", &self.inner.drives.len())
            .field("data", &self.inner.data)
            .field("parity", &self.inner.parity)
            .finish()
    }
}

/// The engine behind [`Store`]: the drive set, the erasure codec, the
/// bucket cache, locks, the write budget and the background heal state.
pub(crate) struct Engine {
    pub drives: DriveSet,
    pub data: usize,
    pub parity: usize,
    pub block_size: usize,
    pub inline_limit: usize,
    pub codec: ErasureCodec,
    pub locks: NamespaceLocks,
    pub bucket_locks: BucketLocks,
    pub buckets: std::sync::RwLock<BTreeMap<String, BucketState>>,
    /// Serialises bucket creation/deletion and setting writes.
    pub bucket_ops: tokio::sync::Mutex<()>,
    pub heal_queue: HealQueue,
    pub write_buffers: WriteBuffers,
    /// MD5 of concurrent uploads in SIMD lanes (`hashing.rs`).
    pub md5_lanes: Arc<crate::hashing::Md5Lanes>,
    pub heal: crate::heal::HealState,
    pub workers: crate::workers::Workers,
    /// Sorted keys per bucket for listing (`list_index.rs`).
    pub list_index: Arc<crate::list_index::ListIndex>,
    /// Staging folders live writers own (`staging.rs`).
    pub staging: Arc<crate::staging::StagingArea>,
    /// Recently read objects (`cache.rs`); writers drop their key through
    /// the key lock's guard.
    pub cache: Arc<crate::cache::ObjectCache>,
    /// Requests running through [`Store`]'s API; the heal workers pace
    /// themselves by it (`workers.rs`).
    pub foreground: Arc<crate::workers::Foreground>,
}

impl Store {
    /// Checks and formats the drives, wipes temp areas, loads buckets and
    /// starts the background heal worker.
    pub async fn open(config: StoreConfig) -> Result<Store, StoreError> {
        let count = config.drives.len();
        if count == 0 {
            return Err(StoreError::InvalidArgument("no drives configured".into()));
        }
        let parity = config.parity.unwrap_or_else(|| default_parity(count));
        if parity > count / 2 {
            return Err(StoreError::InvalidArgument(format!(
                "parity {parity} is more than half of {count} drives"
            )));
        }
        let data = count - parity;
        if config.block_size == 0 || config.block_size > 64 << 20 {
            return Err(StoreError::InvalidArgument(
                "block size must be between 1 byte and 64 MiB".into(),
            ));
        }
        if config.inline_limit > 16 << 20 {
            return Err(StoreError::InvalidArgument(
                "inline limit must be at most 16 MiB".into(),
            ));
        }
        let codec = ErasureCodec::new(data, parity, config.block_size)
            .map_err(|e| StoreError::InvalidArgument(e.to_string()))?;
        let timeout = config.drive_timeout;
        let paths = Arc::new(config.drives.clone());
        let opened = Arc::new(crate::format::open_drives(&paths, &config.backend, timeout));
        // A drive that hangs while being checked misses the deadline and
        // is stalled: the second look finds it failing at once (offline).
        let mut attempts = 0;
        let slots = loop {
            attempts += 1;
            let (paths, opened) = (paths.clone(), opened.clone());
            match crate::deadline::watched(timeout, move || {
                crate::format::prepare_opened(&paths, &opened, data)
            })
            .await
            {
                Ok(slots) => break slots?,
                Err(crate::deadline::Missed::Deadline) if attempts <= count => {}
                Err(missed) => {
                    return Err(StoreError::Internal(io::Error::from(missed).to_string()))
                }
            }
        };
        let any_fresh = slots.iter().any(|s| s.fresh);
        let deployment_id = slots.first().map(|s| s.deployment_id).unwrap_or_default();
        let drives = slots
            .into_iter()
            .map(|slot| DriveState {
                drive: slot.drive,
                online: AtomicBool::new(slot.online),
                fresh: slot.fresh,
            })
            .collect();
        let cache = Arc::new(crate::cache::ObjectCache::new(config.cache_bytes));
        let inner = Arc::new(Engine {
            drives: DriveSet::new(drives, data, parity, deployment_id, timeout),
            data,
            parity,
            block_size: config.block_size,
            inline_limit: config.inline_limit,
            codec,
            locks: NamespaceLocks::new(cache.clone()),
            bucket_locks: BucketLocks::default(),
            buckets: Default::default(),
            bucket_ops: Default::default(),
            heal_queue: HealQueue::default(),
            write_buffers: WriteBuffers::new(config.write_buffer_limit),
            md5_lanes: Arc::default(),
            heal: Default::default(),
            workers: crate::workers::Workers::new(),
            foreground: Arc::default(),
            list_index: Arc::new(crate::list_index::ListIndex::new(config.list_index_bytes)),
            staging: Arc::default(),
            cache,
        });
        inner.load_buckets().await;
        crate::heal::start_workers(&inner, config.heal_tranquility);
        crate::list_index::builder::start(&inner);
        drive_set::start_drive_monitor(&inner);
        if any_fresh {
            inner.drives.record_fresh_drives().await;
        }
        let missed = inner.drives.load_missed_writes().await;
        let unclean = config.heal_after_unclean_stop && crate::heal::mark_running(&inner).await;
        if missed {
            tracing::info!("drives are fresh or missed writes: they are healed in the background");
        }
        if unclean {
            tracing::info!(
                "the last run did not stop cleanly (crash, or drives copied from a running \
                 server): everything is healed in the background"
            );
        }
        if missed || unclean {
            crate::heal::request_walk(&inner, MISSED_WRITES_HEAL_DELAY);
        }
        Ok(Store { inner })
    }

    /// Stops the background workers (heal queue, heal walk, drive monitor)
    /// and waits until each has finished its current step. The store keeps
    /// serving requests; nothing heals in the background afterwards. Removes
    /// the running marker, so the next start knows this stop was clean
    /// (unless this run still owed an unclean start's heal).
    pub async fn shutdown(&self) {
        self.inner.workers.shutdown().await;
        crate::heal::mark_stopped(&self.inner).await;
    }

    /// Bytes of write blocks and shards held in memory right now (see
    /// [`StoreConfig::write_buffer_limit`]).
    pub fn write_buffer_in_use(&self) -> usize {
        self.inner.write_buffers.in_use()
    }
}

pub(crate) fn offline_error() -> io::Error {
    io::Error::other("drive is offline")
}

pub(crate) fn internal(err: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(err.to_string())
}

impl Engine {
    pub fn distribution(&self, bucket: &str, key: &str) -> Vec<u16> {
        let count = self.drives.len();
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(bucket.as_bytes());
        hasher.update(b"/");
        hasher.update(key.as_bytes());
        let start = hasher.finalize() as usize % count;
        (0..count)
            .map(|position| ((position + count - start) % count) as u16)
            .collect()
    }

    pub fn erasure_info(&self, distribution: Vec<u16>) -> ErasureInfo {
        ErasureInfo {
            data: self.data as u16,
            parity: self.parity as u16,
            block_size: self.block_size as u32,
            index: 0,
            distribution,
        }
    }

    pub fn codec_for(&self, info: &ErasureInfo) -> Result<ErasureCodec, StoreError> {
        if usize::from(info.data) == self.data
            && usize::from(info.parity) == self.parity
            && info.block_size as usize == self.block_size
        {
            Ok(self.codec.clone())
        } else {
            ErasureCodec::new(
                usize::from(info.data),
                usize::from(info.parity),
                info.block_size as usize,
            )
            .map_err(|e| StoreError::Corrupt(e.to_string()))
        }
    }

    pub fn require_bucket(&self, bucket: &str) -> Result<(), StoreError> {
        if self
            .buckets
            .read()
            .expect("bucket cache")
            .contains_key(bucket)
        {
            Ok(())
        } else {
            crate::keys::validate_bucket_name(bucket)?;
            Err(StoreError::NoSuchBucket(bucket.to_owned()))
        }
    }

    /// [`Engine::require_bucket`] for writers holding the bucket lock shared:
    /// also refuses a bucket that DeleteBucket is removing.
    pub fn require_writable_bucket(&self, bucket: &str) -> Result<(), StoreError> {
        match self.buckets.read().expect("bucket cache").get(bucket) {
            Some(state) if !state.deleting => Ok(()),
            _ => Err(StoreError::NoSuchBucket(bucket.to_owned())),
        }
    }

    /// A read that lost its quorum while DeleteBucket removed the bucket's
    /// folders reports the bucket as gone.
    pub fn bucket_gone_or(&self, bucket: &str, err: StoreError) -> StoreError {
        match err {
            StoreError::ReadQuorum { .. } if self.require_writable_bucket(bucket).is_err() => {
                StoreError::NoSuchBucket(bucket.to_owned())
            }
            other => other,
        }
    }
}

pub(crate) fn object_info(bucket: &str, key: &str, meta: &ObjectMeta) -> ObjectInfo {
    ObjectInfo {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        size: meta.size,
        etag: meta.etag.clone(),
        last_modified: meta.mod_time.into(),
        attributes: meta.attributes.clone(),
        checksum: meta.checksum.clone(),
        parts_count: meta.multipart_parts,
        parts: meta.parts.iter().map(|p| p.to_info()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::read::resolve_range;
    use super::*;
    use crate::api::ByteRange;

    #[test]
    fn ranges_resolve_like_s3() {
        let full = |r| resolve_range(Some(r), 100);
        assert_eq!(
            full(ByteRange::FromTo {
                first: 0,
                last: Some(9)
            })
            .unwrap(),
            Some((0, 9))
        );
        assert_eq!(
            full(ByteRange::FromTo {
                first: 90,
                last: Some(500)
            })
            .unwrap(),
            Some((90, 99))
        );
        assert_eq!(
            full(ByteRange::FromTo {
                first: 95,
                last: None
            })
            .unwrap(),
            Some((95, 99))
        );
        assert_eq!(full(ByteRange::Suffix(10)).unwrap(), Some((90, 99)));
        assert_eq!(full(ByteRange::Suffix(1000)).unwrap(), Some((0, 99)));
        assert!(full(ByteRange::FromTo {
            first: 100,
            last: None
        })
        .is_err());
        assert!(full(ByteRange::Suffix(0)).is_err());
        assert!(resolve_range(Some(ByteRange::Suffix(1)), 0).is_err());
        assert_eq!(resolve_range(None, 0).unwrap(), None);
    }

    #[test]
    fn default_parity_follows_drive_count() {
        assert_eq!(default_parity(1), 0);
        assert_eq!(default_parity(4), 2);
        assert_eq!(default_parity(16), 4);
    }
}

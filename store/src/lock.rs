//! Namespace locks: writers of one (bucket, key) are serialised while they
//! commit. Locks are striped by hash, so the table never grows; two keys that
//! share a stripe merely wait for each other. Readers take no lock: every
//! commit is a rename, so they see a whole old or a whole new object. A
//! key's guard drops the key from the object cache (`cache.rs`) before it
//! releases the lock, so no holder of a lock (every writer) can forget to.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::cache::ObjectCache;

const STRIPES: usize = 1024;

pub struct NamespaceLocks {
    stripes: Vec<Mutex<()>>,
    cache: Arc<ObjectCache>,
}

/// A held key lock; dropping it invalidates the key's cache entry, then
/// unlocks.
pub struct KeyGuard<'a> {
    _held: MutexGuard<'a, ()>,
    cache: &'a ObjectCache,
    bucket: String,
    key: String,
    /// The holder served nothing new (a heal that rewrote the version every
    /// read agrees on): the key's entry stays.
    unchanged: bool,
}

impl KeyGuard<'_> {
    /// Keeps the key's cache entry when the guard drops: only for a holder
    /// whose writes left what a read returns unchanged (a heal that put the
    /// agreed version back on drives that lacked it).
    pub fn served_unchanged(&mut self) {
        self.unchanged = true;
    }
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        // Runs before `_held` is released: a reader that finds the key
        // unlocked finds no entry older than the last write.
        if !self.unchanged {
            self.cache.invalidate(&self.bucket, &self.key);
        }
    }
}

impl NamespaceLocks {
    pub fn new(cache: Arc<ObjectCache>) -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            cache,
        }
    }

    /// Locks `(bucket, key)` until the guard drops.
    pub async fn lock(&self, bucket: &str, key: &str) -> KeyGuard<'_> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (bucket, key).hash(&mut hasher);
        let held = self.stripes[hasher.finish() as usize % STRIPES]
            .lock()
            .await;
        KeyGuard {
            _held: held,
            cache: &self.cache,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            unchanged: false,
        }
    }
}

const BUCKET_STRIPES: usize = 64;

/// Bucket locks: everything that creates files inside a bucket (object
/// commits, multipart uploads, heals) holds its bucket's lock shared while it
/// re-checks that the bucket exists and writes; DeleteBucket holds it
/// exclusively from its emptiness check to the removal of the folders. So a
/// write either lands before the check (and the bucket is not empty) or sees
/// the bucket gone; it never lands in a folder that is being removed.
///
/// Striped like [`NamespaceLocks`]. A task never holds two bucket locks, and
/// never takes one while holding a namespace lock, so stripes shared by two
/// buckets cannot deadlock.
pub struct BucketLocks {
    stripes: Vec<RwLock<()>>,
}

impl Default for BucketLocks {
    fn default() -> Self {
        Self {
            stripes: (0..BUCKET_STRIPES).map(|_| RwLock::new(())).collect(),
        }
    }
}

impl BucketLocks {
    fn stripe(&self, bucket: &str) -> &RwLock<()> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        bucket.hash(&mut hasher);
        &self.stripes[hasher.finish() as usize % BUCKET_STRIPES]
    }

    /// For writers of objects and uploads in `bucket`.
    pub async fn shared(&self, bucket: &str) -> RwLockReadGuard<'_, ()> {
        self.stripe(bucket).read().await
    }

    /// For DeleteBucket.
    pub async fn exclusive(&self, bucket: &str) -> RwLockWriteGuard<'_, ()> {
        self.stripe(bucket).write().await
    }
}

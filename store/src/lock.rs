//! Namespace locks: writers of one (bucket, key) are serialised while they
//! commit. Locks are striped by hash, so the table never grows; two keys that
//! share a stripe merely wait for each other. Readers take no lock: every
//! commit is a rename, so they see a whole old or a whole new object.

use std::hash::{Hash, Hasher};

use tokio::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

const STRIPES: usize = 1024;

pub struct NamespaceLocks {
    stripes: Vec<Mutex<()>>,
}

impl Default for NamespaceLocks {
    fn default() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }
}

impl NamespaceLocks {
    /// Locks `(bucket, key)` until the guard drops.
    pub async fn lock(&self, bucket: &str, key: &str) -> MutexGuard<'_, ()> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (bucket, key).hash(&mut hasher);
        self.stripes[hasher.finish() as usize % STRIPES]
            .lock()
            .await
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

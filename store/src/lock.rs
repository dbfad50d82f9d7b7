//! Namespace locks: writers of one (bucket, key) are serialised while they
//! commit. Locks are striped by hash, so the table never grows; two keys that
//! share a stripe merely wait for each other. Readers take no lock: every
//! commit is a rename, so they see a whole old or a whole new object.

use std::hash::{Hash, Hasher};

use tokio::sync::{Mutex, MutexGuard};

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

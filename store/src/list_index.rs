//! The listing index: per bucket, an in-memory sorted set of every key that
//! may name an object (the union over the drives), so a ListObjectsV2 page
//! costs O(page) instead of a read and sort of whole folders. Built lazily
//! from the drives on a bucket's first listing, kept exact by the writers
//! (a key is added under its namespace lock before its write is
//! acknowledged), bounded in memory; a bucket that is not indexed lists by
//! walking its folders as before.
//!
//! The set may hold names with no object (a failed delete, a heal that
//! removed leftovers): the listing reads every candidate's metadata by
//! quorum anyway and drops them. It must never miss one, which the rules
//! below guarantee:
//! - every write that makes a key visible (put, copy, multipart complete:
//!   all through `commit_object_locked`; heal) calls [`ListIndex::insert`]
//!   after its folder exists on disk and before it answers;
//! - a build registers itself before its first directory read, and every
//!   insert or remove that arrives while it reads is replayed onto its
//!   result, so a key created during the build is either seen on disk or
//!   replayed;
//! - a delete removes its key only after it succeeded, under the same key
//!   lock as the writes, so the two cannot reorder.
//!
//! Nothing is persisted: a restart (or a tar restore of the drives before
//! it) rebuilds from the drives, and drive replacement only changes which
//! drives hold a key that the index already has.

pub(crate) mod pages;

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Mutex;

/// Default memory bound of the index over all buckets (estimated bytes).
pub const DEFAULT_LIST_INDEX_BYTES: usize = 256 << 20;

/// Estimated bytes one key costs in the set: its text, the boxed slice's
/// pointer and length, and its share of a B-tree node.
pub(crate) fn key_cost(key: &[u8]) -> usize {
    key.len() + 48
}

enum Op {
    Insert(Box<[u8]>),
    Remove(Box<[u8]>),
}

enum Entry {
    /// A build is reading the drives; writes are queued for it.
    Building { id: u64, pending: Vec<Op> },
    Ready {
        keys: BTreeSet<Box<[u8]>>,
        bytes: usize,
        last_used: u64,
    },
    /// The bucket alone is larger than the bound: it is listed by walking.
    TooBig,
}

#[derive(Default)]
struct Inner {
    buckets: HashMap<String, Entry>,
    /// Estimated bytes of every `Ready` set.
    used: usize,
    tick: u64,
    next_build: u64,
}

/// See the module documentation.
pub(crate) struct ListIndex {
    max_bytes: usize,
    inner: Mutex<Inner>,
}

/// What a lookup found.
pub(crate) enum Lookup {
    /// Up to the asked number of keys after the bound, in byte order.
    Keys(Vec<String>),
    /// The bucket has no index now: build one or walk.
    NotIndexed,
}

impl ListIndex {
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("list index")
    }

    /// Records that `key` may now name an object in `bucket`.
    pub fn insert(&self, bucket: &str, key: &str) {
        let mut inner = self.lock();
        let Inner { buckets, used, .. } = &mut *inner;
        let over = match buckets.get_mut(bucket) {
            Some(Entry::Building { pending, .. }) => {
                pending.push(Op::Insert(key.as_bytes().into()));
                false
            }
            Some(Entry::Ready { keys, bytes, .. }) => {
                if keys.insert(key.as_bytes().into()) {
                    let cost = key_cost(key.as_bytes());
                    *bytes += cost;
                    *used += cost;
                }
                *used > self.max_bytes
            }
            Some(Entry::TooBig) | None => false,
        };
        if over {
            inner.evict_until(self.max_bytes);
        }
    }

    /// Records that `key` no longer names an object in `bucket` (after a
    /// successful delete, under the key's lock).
    pub fn remove(&self, bucket: &str, key: &str) {
        let mut inner = self.lock();
        let Inner { buckets, used, .. } = &mut *inner;
        match buckets.get_mut(bucket) {
            Some(Entry::Building { pending, .. }) => {
                pending.push(Op::Remove(key.as_bytes().into()));
            }
            Some(Entry::Ready { keys, bytes, .. }) => {
                if keys.remove(key.as_bytes()) {
                    let cost = key_cost(key.as_bytes());
                    *bytes -= cost;
                    *used -= cost;
                }
            }
            Some(Entry::TooBig) | None => {}
        }
    }

    /// Forgets a bucket (deleted or created: a new bucket of the same name
    /// must not inherit the old one's names).
    pub fn forget_bucket(&self, bucket: &str) {
        let mut inner = self.lock();
        if let Some(Entry::Ready { bytes, .. }) = inner.buckets.remove(bucket) {
            inner.used -= bytes;
        }
    }

    /// Up to `n` keys of `bucket` after `from`.
    pub fn range(&self, bucket: &str, from: Bound<&[u8]>, n: usize) -> Lookup {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        match inner.buckets.get_mut(bucket) {
            Some(Entry::Ready {
                keys, last_used, ..
            }) => {
                *last_used = tick;
                Lookup::Keys(
                    keys.range::<[u8], _>((from, Bound::Unbounded))
                        .take(n)
                        // Keys were `&str` when inserted.
                        .map(|k| String::from_utf8_lossy(k).into_owned())
                        .collect(),
                )
            }
            _ => Lookup::NotIndexed,
        }
    }

    /// Starts a build of `bucket`'s index unless one is running, it is
    /// ready, or the bucket is too big. Call before reading any drive.
    pub fn begin_build(&self, bucket: &str) -> Option<u64> {
        let mut inner = self.lock();
        if inner.buckets.contains_key(bucket) {
            return None;
        }
        inner.next_build += 1;
        let id = inner.next_build;
        inner.buckets.insert(
            bucket.to_owned(),
            Entry::Building {
                id,
                pending: Vec::new(),
            },
        );
        Some(id)
    }

    /// Installs a build's result (`None`: the drives could not be read, so
    /// there is no index and the next listing tries again), replaying the
    /// writes that arrived while it read the drives.
    pub fn finish_build(&self, bucket: &str, id: u64, found: Option<BTreeSet<Box<[u8]>>>) {
        let mut inner = self.lock();
        let pending = match inner.buckets.get_mut(bucket) {
            Some(Entry::Building {
                id: current,
                pending,
            }) if *current == id => std::mem::take(pending),
            // Forgotten meanwhile (bucket deleted or re-created).
            _ => return,
        };
        let Some(mut keys) = found else {
            inner.buckets.remove(bucket);
            return;
        };
        for op in pending {
            match op {
                Op::Insert(key) => {
                    keys.insert(key);
                }
                Op::Remove(key) => {
                    keys.remove(&key);
                }
            }
        }
        let bytes: usize = keys.iter().map(|k| key_cost(k)).sum();
        if bytes > self.max_bytes {
            inner.buckets.insert(bucket.to_owned(), Entry::TooBig);
            return;
        }
        inner.tick += 1;
        let last_used = inner.tick;
        inner.used += bytes;
        inner.buckets.insert(
            bucket.to_owned(),
            Entry::Ready {
                keys,
                bytes,
                last_used,
            },
        );
        inner.evict_until(self.max_bytes);
    }

    /// Estimated bytes held (for tests and the bench).
    #[cfg(test)]
    pub fn used_bytes(&self) -> usize {
        self.lock().used
    }
}

impl Inner {
    /// Drops least recently listed buckets until the sets fit `max`; a
    /// dropped bucket is rebuilt from the drives on its next listing.
    fn evict_until(&mut self, max: usize) {
        while self.used > max {
            let victim = self
                .buckets
                .iter()
                .filter_map(|(name, entry)| match entry {
                    Entry::Ready { last_used, .. } => Some((*last_used, name.clone())),
                    _ => None,
                })
                .min();
            let Some((_, name)) = victim else { return };
            if let Some(Entry::Ready { bytes, .. }) = self.buckets.remove(&name) {
                self.used -= bytes;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(index: &ListIndex, bucket: &str) -> Vec<String> {
        match index.range(bucket, Bound::Unbounded, usize::MAX) {
            Lookup::Keys(keys) => keys,
            Lookup::NotIndexed => panic!("not indexed"),
        }
    }

    fn set(names: &[&str]) -> BTreeSet<Box<[u8]>> {
        names.iter().map(|n| n.as_bytes().into()).collect()
    }

    #[test]
    fn writes_during_a_build_are_replayed_onto_its_result() {
        let index = ListIndex::new(1 << 20);
        let id = index.begin_build("b").unwrap();
        assert!(index.begin_build("b").is_none(), "one build at a time");
        // The build's directory reads missed "new" and still saw "gone".
        index.insert("b", "new");
        index.remove("b", "gone");
        index.finish_build("b", id, Some(set(&["gone", "old"])));
        assert_eq!(keys(&index, "b"), vec!["new", "old"]);
    }

    #[test]
    fn a_forgotten_build_installs_nothing() {
        let index = ListIndex::new(1 << 20);
        let id = index.begin_build("b").unwrap();
        index.forget_bucket("b");
        index.finish_build("b", id, Some(set(&["stale"])));
        assert!(matches!(
            index.range("b", Bound::Unbounded, 10),
            Lookup::NotIndexed
        ));
        assert_eq!(index.used_bytes(), 0);
    }

    #[test]
    fn the_bound_evicts_the_least_recently_listed_bucket() {
        let cost = key_cost(b"k000");
        let index = ListIndex::new(cost * 3);
        for bucket in ["a", "b"] {
            let id = index.begin_build(bucket).unwrap();
            index.finish_build(bucket, id, Some(set(&["k000"])));
        }
        let _ = index.range("a", Bound::Unbounded, 1);
        // "b" grows past the bound; "a" was listed since "b" was built, so
        // "b" is the least recently used and goes.
        index.insert("b", "k001");
        index.insert("b", "k002");
        assert!(matches!(
            index.range("b", Bound::Unbounded, 1),
            Lookup::NotIndexed
        ));
        assert_eq!(keys(&index, "a"), vec!["k000"]);
        assert!(index.used_bytes() <= cost * 3);
        // A bucket alone above the bound is never indexed: it walks.
        let id = index.begin_build("big").unwrap();
        index.finish_build("big", id, Some(set(&["1", "2", "3", "4"])));
        assert!(matches!(
            index.range("big", Bound::Unbounded, 1),
            Lookup::NotIndexed
        ));
        assert!(index.begin_build("big").is_none());
    }

    #[test]
    fn ranges_start_after_the_bound_in_byte_order() {
        let index = ListIndex::new(1 << 20);
        let id = index.begin_build("b").unwrap();
        index.finish_build("b", id, Some(set(&["a/b", "a-c", "a", "é", "z"])));
        let Lookup::Keys(page) = index.range("b", Bound::Excluded(b"a".as_slice()), 2) else {
            panic!()
        };
        assert_eq!(page, vec!["a-c", "a/b"]);
        assert_eq!(keys(&index, "b").last().unwrap(), "é");
    }
}

//! The listing index: per bucket, an in-memory sorted map of every key that
//! may name an object (the union over the drives) to what is known of that
//! object ([`facts`]: size, ETag, Last-Modified), so a ListObjectsV2 page
//! costs O(page) instead of a read and sort of whole folders, and no
//! metadata read for keys whose facts are known. Built from the drives in
//! the background ([`builder`]: every bucket at the server's start, and a
//! bucket a listing found not indexed), never while a listing waits: until
//! the build is installed, the bucket's listings walk its folders (so the
//! first page after a start costs a walked page, not a read of the whole
//! bucket). Facts are unknown until a listing reads them (a page reads
//! those it needs in parallel, [`pages`]). Kept exact by the writers under
//! the key's namespace lock, bounded in memory; a bucket that is not
//! indexed lists by walking its folders.
//!
//! The map may hold names with no object (a failed delete, leftovers): a
//! listing reads the metadata of every key whose facts are not known and
//! drops those. It must never miss one, nor show stale facts, which the
//! rules below guarantee:
//! - every write (put, copy, multipart complete: all through
//!   `commit_object_locked`; attribute and tag updates; delete) calls
//!   [`ListIndex::unsettle`] before it touches a drive, and a successful
//!   one [`ListIndex::insert`] (with the new version's facts) or
//!   [`ListIndex::remove`] before it answers; a heal that finds the object
//!   readable unsettles it before repairing and calls
//!   [`ListIndex::insert_unknown`] once it is done, one that removes its
//!   leftovers [`ListIndex::remove`];
//! - a listing keeps facts it read only for slots unchanged since its
//!   lookup ([`ListIndex::fill`]), so it cannot overwrite a newer write's;
//! - a build registers itself before its first directory read, and every
//!   change that arrives while it reads is replayed onto its result, so a
//!   key created during the build is either seen on disk or replayed.
//!
//! Nothing is persisted: a restart (or a tar restore of the drives before
//! it) rebuilds from the drives, and drive replacement only changes which
//! drives hold a key that the index already has.

pub(crate) mod builder;
pub(crate) mod facts;
pub(crate) mod pages;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Mutex;

pub(crate) use facts::{Facts, Slot};

/// Default memory bound of the index over all buckets (estimated bytes).
pub const DEFAULT_LIST_INDEX_BYTES: usize = 256 << 20;

/// Estimated bytes one key costs in the set: its text, the boxed slice's
/// pointer and length, its share of a B-tree node, and its slot.
pub(crate) fn key_cost(key: &[u8], slot: &Slot) -> usize {
    key.len() + 48 + slot.cost()
}

enum Op {
    Set(Box<[u8]>, Slot),
    Remove(Box<[u8]>),
}

enum Entry {
    /// A build is reading the drives; writes are queued for it.
    Building { id: u64, pending: Vec<Op> },
    Ready {
        keys: BTreeMap<Box<[u8]>, Slot>,
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
    /// Source of `Slot::Unknown` tokens: every one handed out is new.
    next_token: u64,
}

/// See the module documentation.
pub(crate) struct ListIndex {
    max_bytes: usize,
    inner: Mutex<Inner>,
    /// Where [`ListIndex::request_build`] sends builds: the background
    /// builder ([`builder`]); none outside a runtime.
    builds: Mutex<Option<builder::Requests>>,
}

/// What a lookup found.
pub(crate) enum Lookup {
    /// Up to the asked number of keys after the bound, in byte order, each
    /// with what the index knows of its object.
    Keys(Vec<(String, Slot)>),
    /// The bucket has no index now: build one or walk.
    NotIndexed,
}

impl ListIndex {
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            inner: Mutex::new(Inner::default()),
            builds: Mutex::new(None),
        }
    }

    /// Queues a background build of `bucket`'s index unless one is
    /// running, it is ready, or the bucket is too big; never waits for it.
    /// Without a builder (or once it stopped) nothing is built and the
    /// bucket keeps listing by walking.
    pub fn request_build(&self, bucket: &str) {
        let Some(id) = self.begin_build(bucket) else {
            return;
        };
        let sent = match &*self.builds.lock().expect("list index builds") {
            Some(builds) => builds.send((bucket.to_owned(), id)).is_ok(),
            None => false,
        };
        if !sent {
            self.finish_build(bucket, id, None);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("list index")
    }

    /// Sets `key`'s slot in `bucket` (adding the key), or queues that for
    /// a running build.
    fn set(&self, bucket: &str, key: &str, slot: impl FnOnce(&mut Inner) -> Slot) {
        let mut inner = self.lock();
        let slot = slot(&mut inner);
        let Inner { buckets, used, .. } = &mut *inner;
        let over = match buckets.get_mut(bucket) {
            Some(Entry::Building { pending, .. }) => {
                pending.push(Op::Set(key.as_bytes().into(), slot));
                false
            }
            Some(Entry::Ready { keys, bytes, .. }) => {
                let added = key_cost(key.as_bytes(), &slot);
                let removed = match keys.insert(key.as_bytes().into(), slot) {
                    Some(old) => key_cost(key.as_bytes(), &old),
                    None => 0,
                };
                *bytes = *bytes + added - removed;
                *used = *used + added - removed;
                *used > self.max_bytes
            }
            Some(Entry::TooBig) | None => false,
        };
        if over {
            inner.evict_until(self.max_bytes);
        }
    }

    /// A write of `key` is about to touch the drives (under the key's
    /// lock): until it reports success, listings read the key's metadata.
    pub fn unsettle(&self, bucket: &str, key: &str) {
        self.set(bucket, key, |_| Slot::Unsettled);
    }

    /// A write made `facts` the visible version of `key` (after it reached
    /// quorum, under the key's lock, before it answers).
    pub fn insert(&self, bucket: &str, key: &str, facts: Facts) {
        self.set(bucket, key, |_| Slot::Known(facts));
    }

    /// `key` may name an object whose facts are not known here (a heal
    /// found it readable): the next listing reads them.
    pub fn insert_unknown(&self, bucket: &str, key: &str) {
        self.set(bucket, key, |inner| Slot::Unknown(inner.token()));
    }

    /// Keeps what a listing read of keys whose slots were `Unknown(token)`
    /// at its lookup, for those whose slot has not changed since.
    pub fn fill(&self, bucket: &str, read: Vec<(String, u64, Facts)>) {
        if read.is_empty() {
            return;
        }
        let mut inner = self.lock();
        let Inner { buckets, used, .. } = &mut *inner;
        let Some(Entry::Ready { keys, bytes, .. }) = buckets.get_mut(bucket) else {
            return;
        };
        let mut grew = false;
        for (key, token, facts) in read {
            if let Some(slot) = keys.get_mut(key.as_bytes()) {
                if *slot == Slot::Unknown(token) {
                    let known = Slot::Known(facts);
                    let added = known.cost() - slot.cost();
                    *bytes += added;
                    *used += added;
                    grew |= added > 0;
                    *slot = known;
                }
            }
        }
        if grew && *used > self.max_bytes {
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
                if let Some(old) = keys.remove(key.as_bytes()) {
                    let cost = key_cost(key.as_bytes(), &old);
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

    /// Up to `n` keys of `bucket` after `from`, with their slots.
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
                        .map(|(k, slot)| (String::from_utf8_lossy(k).into_owned(), slot.clone()))
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
        if self.max_bytes == 0 {
            // The index is off (`MINNOW_LIST_INDEX_MIB=0`): every bucket is
            // too big, known without reading it (a start builds them all).
            inner.buckets.insert(bucket.to_owned(), Entry::TooBig);
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
    /// writes that arrived while it read the drives. Found keys' facts are
    /// unknown until a listing reads them.
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
        let Some(found) = found else {
            inner.buckets.remove(bucket);
            return;
        };
        let token = inner.token();
        let mut keys: BTreeMap<Box<[u8]>, Slot> = found
            .into_iter()
            .map(|key| (key, Slot::Unknown(token)))
            .collect();
        for op in pending {
            match op {
                Op::Set(key, slot) => {
                    keys.insert(key, slot);
                }
                Op::Remove(key) => {
                    keys.remove(&key);
                }
            }
        }
        let bytes: usize = keys.iter().map(|(k, slot)| key_cost(k, slot)).sum();
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
    fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

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
            Lookup::Keys(keys) => keys.into_iter().map(|(key, _)| key).collect(),
            Lookup::NotIndexed => panic!("not indexed"),
        }
    }

    fn facts(size: u64) -> Facts {
        Facts::of_summary(&crate::api::ObjectSummary {
            key: String::new(),
            size,
            etag: "d41d8cd98f00b204e9800998ecf8427e".into(),
            last_modified: std::time::UNIX_EPOCH + std::time::Duration::from_secs(size),
        })
    }

    fn slot(index: &ListIndex, bucket: &str, key: &str) -> Slot {
        let Lookup::Keys(found) = index.range(bucket, Bound::Included(key.as_bytes()), 1) else {
            panic!("not indexed")
        };
        assert_eq!(found[0].0, key);
        found[0].1.clone()
    }

    /// The rule the facts guard: a listing's metadata read is kept only if
    /// no write touched the key since the listing looked it up, so facts
    /// are never older than the last acknowledged write.
    #[test]
    fn a_listing_keeps_what_it_read_only_if_no_write_came_between() {
        let index = ListIndex::new(1 << 20);
        let id = index.begin_build("b").unwrap();
        // Written while the build read the drives: its facts survive it.
        index.unsettle("b", "during");
        index.insert("b", "during", facts(9));
        index.finish_build("b", id, Some(set(&["during", "k", "raced", "failed"])));
        assert_eq!(slot(&index, "b", "during"), Slot::Known(facts(9)));

        let token = |key| match slot(&index, "b", key) {
            Slot::Unknown(token) => token,
            other => panic!("{key}: {other:?}"),
        };
        let (k, raced, failed) = (token("k"), token("raced"), token("failed"));
        // "raced" is overwritten after the listing's lookup, "failed" has a
        // write that never reached quorum.
        index.unsettle("b", "raced");
        index.insert("b", "raced", facts(2));
        index.unsettle("b", "failed");
        index.fill(
            "b",
            vec![
                ("k".into(), k, facts(1)),
                ("raced".into(), raced, facts(1)),
                ("failed".into(), failed, facts(1)),
                ("deleted".into(), k, facts(1)),
            ],
        );
        assert_eq!(slot(&index, "b", "k"), Slot::Known(facts(1)));
        assert_eq!(slot(&index, "b", "raced"), Slot::Known(facts(2)));
        assert_eq!(slot(&index, "b", "failed"), Slot::Unsettled);
        assert!(matches!(
            index.range("b", Bound::Included(b"deleted".as_slice()), 1),
            Lookup::Keys(found) if found[0].0 == "during"
        ));
        // A heal makes the facts unknown again, with a token no earlier
        // lookup holds.
        index.insert_unknown("b", "k");
        let healed = token("k");
        assert_ne!(healed, k);
        index.fill("b", vec![("k".into(), k, facts(3))]);
        assert_eq!(token("k"), healed);
        // The estimate follows every change and returns to zero.
        for key in ["during", "k", "raced", "failed"] {
            index.remove("b", key);
        }
        assert_eq!(index.used_bytes(), 0);
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
        index.insert("b", "new", facts(1));
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
        let cost = key_cost(b"k000", &Slot::Unknown(0));
        let index = ListIndex::new(cost * 3);
        for bucket in ["a", "b"] {
            let id = index.begin_build(bucket).unwrap();
            index.finish_build(bucket, id, Some(set(&["k000"])));
        }
        let _ = index.range("a", Bound::Unbounded, 1);
        // "b" grows past the bound; "a" was listed since "b" was built, so
        // "b" is the least recently used and goes.
        index.insert_unknown("b", "k001");
        index.insert_unknown("b", "k002");
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
    fn an_index_bound_of_zero_builds_nothing() {
        let index = ListIndex::new(0);
        assert!(index.begin_build("b").is_none());
        index.insert("b", "k", facts(1));
        assert!(matches!(
            index.range("b", Bound::Unbounded, 1),
            Lookup::NotIndexed
        ));
        assert_eq!(index.used_bytes(), 0);
    }

    #[test]
    fn ranges_start_after_the_bound_in_byte_order() {
        let index = ListIndex::new(1 << 20);
        let id = index.begin_build("b").unwrap();
        index.finish_build("b", id, Some(set(&["a/b", "a-c", "a", "é", "z"])));
        let Lookup::Keys(page) = index.range("b", Bound::Excluded(b"a".as_slice()), 2) else {
            panic!()
        };
        let page: Vec<&str> = page.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(page, vec!["a-c", "a/b"]);
        assert_eq!(keys(&index, "b").last().unwrap(), "é");
    }
}

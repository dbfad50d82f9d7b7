//! The object cache: the agreed metadata of recently read objects and the
//! whole bytes of small ones, so a hot GET or HEAD needs no file I/O and no
//! re-hashing. Strictly consistent because minnow alone writes its drives:
//! every write holds its key's namespace lock and drops the key's entry
//! when it lets go of the lock (`lock.rs`), before it answers; DeleteBucket
//! drops the bucket's entries under the exclusive bucket lock. A reader
//! takes a [`Ticket`] before it reads the drives and may insert only if no
//! invalidation of its key's stripe happened since, so a read that raced a
//! write never leaves the older answer behind. Bytes enter only after every
//! frame they came from passed its bitrot check. Bounded in bytes
//! (`StoreConfig::cache_bytes`, least recently used out first).

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;

use crate::api::{ByteRange, ObjectInfo, ObjectReader, StoreError};

/// 64 MiB: the 4 KiB and 64 KiB bench pools fit many times over, and the
/// server stays far below 512 MiB at 32 concurrent 64 MiB uploads.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// Largest object whose bytes are kept (its metadata is kept whatever its
/// size); a bound of its own so one object never takes more than an
/// eighth of the cache.
const MAX_BODY_BYTES: usize = 1 << 20;

/// Invalidation stripes: a write bumps its key's stripe, and a reader
/// whose stripe moved since its ticket does not insert.
const STRIPES: usize = 4096;

/// Estimated bytes of an entry besides its key and body (the info's
/// strings, maps and the cache's own bookkeeping).
const ENTRY_OVERHEAD: usize = 384;

/// What is kept per object.
pub(crate) struct Cached {
    pub info: ObjectInfo,
    /// The whole object as the read that found it emitted it (its chunks,
    /// in order: slices of the frames read, not a copy; joining them was 7%
    /// of a 1 MiB GET's CPU, paid on every miss), each byte verified against
    /// its frame's hash when it was read; `None` for objects above the body
    /// limit (or seen only by HEAD).
    pub body: Option<Vec<Bytes>>,
}

/// A reader's snapshot of its key's stripe, taken before reading drives.
#[derive(Clone, Copy)]
pub(crate) struct Ticket {
    stripe: usize,
    generation: u64,
}

struct Inner {
    entries: lru::LruCache<String, Arc<Cached>>,
    bytes: usize,
    generations: Vec<u64>,
}

/// See the module documentation.
pub(crate) struct ObjectCache {
    capacity: usize,
    max_body: usize,
    inner: Mutex<Inner>,
}

/// Bucket names hold no `/`, so `bucket/key` names one object.
fn entry_key(bucket: &str, key: &str) -> String {
    let mut name = String::with_capacity(bucket.len() + 1 + key.len());
    name.push_str(bucket);
    name.push('/');
    name.push_str(key);
    name
}

fn stripe_of(bucket: &str, key: &str) -> usize {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (bucket, key).hash(&mut hasher);
    hasher.finish() as usize % STRIPES
}

fn cost(name: &str, cached: &Cached) -> usize {
    let attributes = &cached.info.attributes;
    let attributes: usize = attributes
        .user_metadata
        .iter()
        .chain(&attributes.tags)
        .map(|(k, v)| k.len() + v.len() + 48)
        .sum();
    ENTRY_OVERHEAD
        + 2 * name.len()
        + attributes
        + cached.info.parts.len() * 64
        + cached
            .body
            .as_ref()
            .map_or(0, |chunks| chunks.iter().map(Bytes::len).sum())
}

impl ObjectCache {
    /// A cache holding at most `capacity` estimated bytes (0 = off).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            max_body: MAX_BODY_BYTES.min(capacity / 8),
            inner: Mutex::new(Inner {
                entries: lru::LruCache::unbounded(),
                bytes: 0,
                generations: vec![0; STRIPES],
            }),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent bookkeeping
        // (every step below is a single map or counter update).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether objects of `size` bytes keep their bytes here.
    pub fn keeps_body(&self, size: u64) -> bool {
        size <= self.max_body as u64
    }

    /// The entry of `(bucket, key)`, marked most recently used.
    pub fn get(&self, bucket: &str, key: &str) -> Option<Arc<Cached>> {
        if self.capacity == 0 {
            return None;
        }
        self.inner().entries.get(&entry_key(bucket, key)).cloned()
    }

    /// Taken before a read of the drives whose answer may be inserted.
    pub fn ticket(&self, bucket: &str, key: &str) -> Ticket {
        let stripe = stripe_of(bucket, key);
        let generation = if self.capacity == 0 {
            0
        } else {
            self.inner().generations[stripe]
        };
        Ticket { stripe, generation }
    }

    /// Keeps what a read found, unless a write of the key's stripe was
    /// invalidated since `ticket` (the read may predate it).
    pub fn insert(&self, ticket: Ticket, bucket: &str, key: &str, cached: Cached) {
        if self.capacity == 0 {
            return;
        }
        let name = entry_key(bucket, key);
        let size = cost(&name, &cached);
        if size > self.capacity {
            return;
        }
        let mut inner = self.inner();
        if inner.generations[ticket.stripe] != ticket.generation {
            return;
        }
        if let Some(old) = inner.entries.put(name.clone(), Arc::new(cached)) {
            inner.bytes -= cost(&name, &old);
        }
        inner.bytes += size;
        while inner.bytes > self.capacity {
            let Some((old_name, old)) = inner.entries.pop_lru() else {
                break;
            };
            inner.bytes -= cost(&old_name, &old);
        }
    }

    /// Drops `(bucket, key)`: every writer of the key calls this before it
    /// releases the key's lock (the lock guard does).
    pub fn invalidate(&self, bucket: &str, key: &str) {
        if self.capacity == 0 {
            return;
        }
        let name = entry_key(bucket, key);
        let mut inner = self.inner();
        inner.generations[stripe_of(bucket, key)] += 1;
        if let Some(old) = inner.entries.pop(&name) {
            inner.bytes -= cost(&name, &old);
        }
    }

    /// Drops every entry of `bucket` (DeleteBucket, under the exclusive
    /// bucket lock); every stripe moves, so no read in flight inserts.
    pub fn invalidate_bucket(&self, bucket: &str) {
        if self.capacity == 0 {
            return;
        }
        let prefix = entry_key(bucket, "");
        let mut inner = self.inner();
        for generation in inner.generations.iter_mut() {
            *generation += 1;
        }
        let names: Vec<String> = inner
            .entries
            .iter()
            .filter(|(name, _)| name.starts_with(&prefix))
            .map(|(name, _)| name.clone())
            .collect();
        for name in names {
            if let Some(old) = inner.entries.pop(&name) {
                inner.bytes -= cost(&name, &old);
            }
        }
    }

    /// Estimated bytes held (for tests and `admin info`).
    #[allow(dead_code)]
    pub fn bytes(&self) -> usize {
        self.inner().bytes
    }
}

/// A reader of a cached object's bytes: the range resolved as a drive
/// read would.
pub(crate) fn serve(cached: &Cached, range: Option<ByteRange>) -> Result<ObjectReader, StoreError> {
    let chunks = cached
        .body
        .as_ref()
        .expect("served entries hold their bytes");
    let len: usize = chunks.iter().map(Bytes::len).sum();
    let resolved = crate::engine::resolve_range(range, len as u64)?;
    let (first, end) = match resolved {
        Some((first, last)) => (first as usize, last as usize + 1),
        None => (0, len),
    };
    let mut out: Vec<Result<Bytes, StoreError>> = Vec::with_capacity(chunks.len());
    let mut at = 0;
    for chunk in chunks {
        let (start, stop) = (at, at + chunk.len());
        at = stop;
        if stop <= first || start >= end || chunk.is_empty() {
            continue;
        }
        out.push(Ok(
            chunk.slice(first.max(start) - start..end.min(stop) - start)
        ));
    }
    Ok(ObjectReader {
        info: cached.info.clone(),
        range: resolved,
        body: Box::pin(futures::stream::iter(out)),
    })
}

/// A whole-object read being passed through and kept.
struct Tee {
    inner: crate::api::ByteStream,
    chunks: Vec<Bytes>,
    seen: usize,
    /// Where to keep the bytes; `None` once kept or after an error.
    done: Option<(Arc<ObjectCache>, Ticket, ObjectInfo)>,
}

/// Inserts the whole object `tee` has read (each chunk verified as it was
/// decoded).
fn keep(tee: &mut Tee) {
    let Some((cache, ticket, info)) = tee.done.take() else {
        return;
    };
    let (bucket, key) = (info.bucket.clone(), info.key.clone());
    let cached = Cached {
        info,
        body: Some(std::mem::take(&mut tee.chunks)),
    };
    cache.insert(ticket, &bucket, &key, cached);
}

/// Passes a whole-object read through, keeping its bytes once all of them
/// were read without error (each chunk was verified as it was decoded). A
/// read cut short keeps nothing.
pub(crate) fn keep_while_read(
    cache: Arc<ObjectCache>,
    ticket: Ticket,
    reader: ObjectReader,
) -> ObjectReader {
    let ObjectReader { info, range, body } = reader;
    let size = info.size as usize;
    let kept_info = info.clone();
    let tee = Tee {
        inner: body,
        chunks: Vec::new(),
        seen: 0,
        done: Some((cache, ticket, kept_info)),
    };
    let body = futures::stream::unfold(tee, move |mut tee| async move {
        match tee.inner.next().await {
            Some(Ok(chunk)) => {
                tee.seen += chunk.len();
                tee.chunks.push(chunk.clone());
                // Kept as the last byte goes out, not at the stream's end:
                // an HTTP body of known length is dropped once it has sent
                // that many bytes, never polled for its end.
                if tee.seen == size {
                    keep(&mut tee);
                }
                Some((Ok(chunk), tee))
            }
            Some(Err(err)) => {
                tee.done = None;
                Some((Err(err), tee))
            }
            None => None,
        }
    });
    ObjectReader {
        info,
        range,
        body: Box::pin(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(size: usize) -> ObjectInfo {
        ObjectInfo {
            bucket: "b".into(),
            key: "k".into(),
            size: size as u64,
            etag: String::new(),
            last_modified: std::time::UNIX_EPOCH,
            attributes: Default::default(),
            checksum: None,
            parts_count: 0,
            parts: Vec::new(),
        }
    }

    proptest::proptest! {
        /// A body kept as the chunks its read emitted serves any range as
        /// the same bytes as the joined body would (the chunks are kept
        /// unjoined: joining them copied every 1 MiB GET that missed).
        #[test]
        fn a_body_kept_in_chunks_serves_every_range_as_the_joined_bytes(
            lengths in proptest::collection::vec(0usize..300, 1..6),
            first in 0u64..1500,
            len in proptest::option::of(0u64..1500),
            suffix in proptest::option::of(1u64..1500),
        ) {
            let mut joined = Vec::new();
            let chunks: Vec<Bytes> = lengths
                .iter()
                .enumerate()
                .map(|(i, &n)| {
                    let chunk: Vec<u8> = (0..n).map(|j| (i * 31 + j) as u8).collect();
                    joined.extend_from_slice(&chunk);
                    Bytes::from(chunk)
                })
                .collect();
            let cached = Cached { info: info(joined.len()), body: Some(chunks) };
            let range = match suffix {
                Some(count) => Some(ByteRange::Suffix(count)),
                None => Some(ByteRange::FromTo { first, last: len.map(|l| first + l) }),
            };
            for range in [None, range] {
                let expected = crate::engine::resolve_range(range, joined.len() as u64);
                match serve(&cached, range) {
                    Ok(reader) => {
                        let resolved = expected.unwrap();
                        proptest::prop_assert_eq!(reader.range, resolved);
                        let (lo, hi) = resolved.map_or((0, joined.len()), |(f, l)| (f as usize, l as usize + 1));
                        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
                        let got: Vec<u8> = runtime.block_on(async {
                            let mut body = reader.body;
                            let mut out = Vec::new();
                            while let Some(chunk) = body.next().await {
                                let chunk = chunk.unwrap();
                                assert!(!chunk.is_empty(), "no empty chunk is sent");
                                out.extend_from_slice(&chunk);
                            }
                            out
                        });
                        proptest::prop_assert_eq!(&got[..], &joined[lo..hi]);
                    }
                    Err(_) => proptest::prop_assert!(expected.is_err()),
                }
            }
        }
    }
}

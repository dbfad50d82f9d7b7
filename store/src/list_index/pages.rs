//! The index's two meetings with the drives and the listing: building a
//! bucket's key set from every drive's folders, and cutting one page out
//! of it (candidates in key order, each kept only if its metadata agrees).

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::api::{ListPage, ObjectSummary};
use crate::drive::Drive;
use crate::keys::{decode_segment, is_long_segment, EncodedKey};
use crate::layout;
use crate::list_index::{Facts, ListIndex, Lookup, Slot};
use crate::listing::{is_object_entry, long_segment_text, Walk};

/// Keys a drive's thread hands over at once while a build merges them.
const KEYS_PER_CHUNK: usize = 4096;
/// Chunks waiting to be merged before the drives' threads wait: bounds a
/// build's memory to the set plus this many chunks, not every drive's list.
const CHUNKS_IN_FLIGHT: usize = 8;

/// Every key of `bucket` whose folder holds object files
/// ([`is_object_entry`]) on any of `drives` (blocking; one thread per
/// drive, merged into the set as they arrive): the listing index of a
/// bucket. `None` if a folder could not be read on some drive, since the
/// union could then miss a key, or once `stop` is set (shutdown).
pub(crate) fn build_key_set(
    drives: &[(usize, Arc<dyn Drive>)],
    bucket: &str,
    stop: &AtomicBool,
) -> Option<BTreeSet<Box<[u8]>>> {
    // The threads' drive operations are the build task's: a hung drive
    // gives the build up at the deadline like any other read.
    let watch = crate::deadline::shared_watch();
    let (chunks, arrived) = std::sync::mpsc::sync_channel::<Vec<String>>(CHUNKS_IN_FLIGHT);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..drives.len())
            .map(|index| {
                let (watch, chunks) = (watch.clone(), chunks.clone());
                scope.spawn(move || {
                    let mut send = |chunk| chunks.send(chunk).is_ok();
                    watch.run(|| keys_on_drive(drives, index, bucket, stop, &mut send).is_ok())
                })
            })
            .collect();
        drop(chunks);
        let mut keys = BTreeSet::new();
        for chunk in arrived {
            keys.extend(
                chunk
                    .into_iter()
                    .map(|key| key.into_bytes().into_boxed_slice()),
            );
        }
        let complete = handles
            .into_iter()
            .all(|handle| handle.join().unwrap_or(false));
        complete.then_some(keys)
    })
}

/// Hands the keys with object files on drive `drives[index]` to `send` in
/// chunks (`send` false: stop).
fn keys_on_drive(
    drives: &[(usize, Arc<dyn Drive>)],
    index: usize,
    bucket: &str,
    stop: &AtomicBool,
    send: &mut dyn FnMut(Vec<String>) -> bool,
) -> std::io::Result<()> {
    let drive = &drives[index].1;
    let mut keys = Vec::new();
    // (folder, its key followed by `/`; empty for the bucket folder)
    let mut stack = vec![(layout::bucket_dir(bucket), String::new())];
    while let Some((dir, key_slash)) = stack.pop() {
        if stop.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("the build stopped"));
        }
        let mut is_object = false;
        for entry in drive.list_dir(&dir)? {
            let segment = if !entry.is_dir {
                None
            } else if let Some(segment) = decode_segment(&entry.name) {
                Some(segment)
            } else if is_long_segment(&entry.name) {
                // A name blob missing on every drive leaves the key unlisted,
                // as the walk does; heal writes it back.
                match long_segment_text(drives, &dir.join(&entry.name)) {
                    Some(segment) => Some(segment),
                    None => continue,
                }
            } else {
                None
            };
            match segment {
                Some(segment) => {
                    stack.push((dir.join(&entry.name), format!("{key_slash}{segment}/")))
                }
                None => is_object |= is_object_entry(&entry.name, entry.is_dir),
            }
        }
        if is_object {
            if let Some(key) = key_slash.strip_suffix('/') {
                keys.push(key.to_owned());
                if keys.len() >= KEYS_PER_CHUNK && !send(std::mem::take(&mut keys)) {
                    return Err(std::io::Error::other("the build stopped"));
                }
            }
        }
    }
    if !keys.is_empty() && !send(keys) {
        return Err(std::io::Error::other("the build stopped"));
    }
    Ok(())
}

/// First and largest batch of candidate keys one index lookup returns;
/// after a common prefix is skipped the next lookup starts small again, so
/// a page of rolled-up prefixes does not copy keys it skips.
const FIRST_BATCH: usize = 16;
const LARGEST_BATCH: usize = 1024;

/// One page from the bucket's listing index (blocking): candidates in key
/// order from the index, listed with their facts where the index knows
/// them, otherwise kept only if `probe(key, object dir)` finds an object
/// (and what it found is offered back to the index, [`ListIndex::fill`]).
/// The probes a batch surely needs (keys up to the page's end that no
/// delimiter rolls up) run [`PARALLEL_READS`] at a time. `None` if the
/// bucket is not indexed (or stopped being so during the page): walk
/// instead.
pub(crate) fn page_from_index(
    index: &ListIndex,
    bucket: &str,
    walk: &Walk<'_>,
    probe: impl Fn(&str, &Path) -> Option<ObjectSummary> + Sync,
) -> Option<ListPage> {
    let mut page = ListPage::default();
    if walk.max == 0 {
        return match index.range(bucket, Bound::Unbounded, 0) {
            Lookup::Keys(_) => Some(page),
            Lookup::NotIndexed => None,
        };
    }
    let prefix = walk.prefix;
    let (mut cursor, mut inclusive) = match walk.start_after {
        Some(after) if after >= prefix => (after.as_bytes().to_vec(), false),
        _ => (prefix.as_bytes().to_vec(), true),
    };
    let mut count = 0;
    let mut batch_size = FIRST_BATCH;
    let mut read = Vec::new();
    'pages: loop {
        let from = if inclusive {
            Bound::Included(cursor.as_slice())
        } else {
            Bound::Excluded(cursor.as_slice())
        };
        let batch = match index.range(bucket, from, batch_size) {
            Lookup::Keys(batch) => batch,
            Lookup::NotIndexed => return None,
        };
        let exhausted = batch.len() < batch_size;
        let mut prefetched = read_in_parallel(bucket, needed_reads(&batch, walk, count), &probe);
        let mut skip_to: Option<Vec<u8>> = None;
        for (key, slot) in batch {
            // Keys with the prefix are one run from `prefix` on.
            if !key.starts_with(prefix) {
                break 'pages;
            }
            let rolled_up = walk.delimiter.and_then(|delimiter| {
                let rest = &key[prefix.len()..];
                rest.find(delimiter)
                    .map(|at| format!("{prefix}{}", &rest[..at + delimiter.len()]))
            });
            let mut found = |probe: &dyn Fn(&str, &Path) -> Option<ObjectSummary>| {
                if let Slot::Known(facts) = &slot {
                    return Some(facts.summary(key.clone()));
                }
                let summary = match prefetched.remove(&key) {
                    Some(read) => read,
                    None => read_one(bucket, &key, probe),
                }?;
                if let Slot::Unknown(token) = slot {
                    read.push((key.clone(), token, Facts::of_summary(&summary)));
                }
                Some(summary)
            };
            match rolled_up {
                Some(common) => {
                    let fresh = walk.start_after.is_none_or(|sa| common.as_str() > sa);
                    if fresh && found(&probe).is_none() {
                        cursor = key.into_bytes();
                        inclusive = false;
                        continue;
                    }
                    if fresh {
                        if count == walk.max {
                            page.is_truncated = true;
                            break 'pages;
                        }
                        count += 1;
                        page.next_marker = Some(common.clone());
                        page.common_prefixes.push(common.clone());
                    }
                    skip_to = Some(past_prefix(&common));
                    break;
                }
                None => {
                    if let Some(summary) = found(&probe) {
                        if count == walk.max {
                            page.is_truncated = true;
                            break 'pages;
                        }
                        count += 1;
                        page.next_marker = Some(summary.key.clone());
                        page.objects.push(summary);
                    }
                    cursor = key.into_bytes();
                    inclusive = false;
                }
            }
        }
        match skip_to {
            Some(next) => {
                cursor = next;
                inclusive = true;
                batch_size = FIRST_BATCH;
            }
            None if exhausted => break,
            None => batch_size = (batch_size * 2).min(LARGEST_BATCH),
        }
    }
    index.fill(bucket, read);
    if !page.is_truncated {
        page.next_marker = None;
    }
    Some(page)
}

/// Most metadata reads one page runs at once. The reads wait on the disk,
/// not the CPU (a cold read of `obj.meta` is a seek): 16 keep a disk's
/// queue busy without a thread per key.
pub(crate) const PARALLEL_READS: usize = 16;

/// The keys of `batch` whose metadata the page will surely read: those
/// up to the page's end (one past `max`, to know if it is truncated) in a
/// run of keys that no delimiter rolls up, whose facts are not known.
/// Past the first rolled-up key, which keys are read depends on what the
/// reads find, so those are read one by one.
fn needed_reads(batch: &[(String, Slot)], walk: &Walk<'_>, count: usize) -> Vec<String> {
    let mut wanted = Vec::new();
    let to_end = walk.max.saturating_sub(count) + 1;
    for (key, slot) in batch.iter().take(to_end) {
        let rest = key.strip_prefix(walk.prefix);
        let rolled_up = walk
            .delimiter
            .is_some_and(|delimiter| rest.is_some_and(|rest| rest.contains(delimiter)));
        if rest.is_none() || rolled_up {
            break;
        }
        if !matches!(slot, Slot::Known(_)) {
            wanted.push(key.clone());
        }
    }
    wanted
}

fn read_one(
    bucket: &str,
    key: &str,
    probe: &dyn Fn(&str, &Path) -> Option<ObjectSummary>,
) -> Option<ObjectSummary> {
    let encoded = EncodedKey::new(key).ok()?;
    probe(key, &layout::object_dir(bucket, &encoded))
}

/// `probe` of every key in `keys`, [`PARALLEL_READS`] at a time (blocking);
/// the threads' drive operations are the listing task's, under its
/// deadline.
fn read_in_parallel(
    bucket: &str,
    keys: Vec<String>,
    probe: &(dyn Fn(&str, &Path) -> Option<ObjectSummary> + Sync),
) -> HashMap<String, Option<ObjectSummary>> {
    if keys.len() <= 1 {
        return keys
            .into_iter()
            .map(|key| {
                let read = read_one(bucket, &key, probe);
                (key, read)
            })
            .collect();
    }
    let watch = crate::deadline::shared_watch();
    let next = AtomicUsize::new(0);
    let (next, keys) = (&next, &keys);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..keys.len().min(PARALLEL_READS))
            .map(|_| {
                let watch = watch.clone();
                scope.spawn(move || {
                    watch.run(|| {
                        let mut read = Vec::new();
                        while let Some(key) = keys.get(next.fetch_add(1, Ordering::Relaxed)) {
                            read.push((key.clone(), read_one(bucket, key, probe)));
                        }
                        read
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// The least byte string greater than every string starting with `prefix`
/// (UTF-8 never holds 0xFF, so the last byte can be raised).
fn past_prefix(prefix: &str) -> Vec<u8> {
    let mut bytes = prefix.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        *last += 1;
    }
    bytes
}

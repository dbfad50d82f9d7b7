//! The index's two meetings with the drives and the listing: building a
//! bucket's key set from every drive's folders, and cutting one page out
//! of it (candidates in key order, each kept only if its metadata agrees).

use std::collections::BTreeSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use crate::api::{ListPage, ObjectSummary};
use crate::drive::Drive;
use crate::keys::{decode_segment, is_long_segment, EncodedKey};
use crate::layout;
use crate::list_index::{Facts, ListIndex, Lookup, Slot};
use crate::listing::{long_segment_text, Walk};

/// Every key of `bucket` whose folder holds `obj.meta` or a data directory
/// on any of `drives` (blocking; one thread per drive): the listing index
/// of a bucket. `None` if a folder could not be read on some drive, since
/// the union could then miss a key.
pub(crate) fn build_key_set(
    drives: &[(usize, Arc<dyn Drive>)],
    bucket: &str,
) -> Option<BTreeSet<Box<[u8]>>> {
    // The threads' drive operations are the listing task's: a hung drive
    // gives the listing up at the deadline like any other read.
    let watch = crate::deadline::shared_watch();
    let per_drive: Vec<Option<Vec<String>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..drives.len())
            .map(|index| {
                let watch = watch.clone();
                scope.spawn(move || watch.run(|| keys_on_drive(drives, index, bucket).ok()))
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().ok().flatten())
            .collect()
    });
    let mut keys = BTreeSet::new();
    for found in per_drive {
        keys.extend(
            found?
                .into_iter()
                .map(|key| key.into_bytes().into_boxed_slice()),
        );
    }
    Some(keys)
}

/// The keys with object files on drive `drives[index]`.
fn keys_on_drive(
    drives: &[(usize, Arc<dyn Drive>)],
    index: usize,
    bucket: &str,
) -> std::io::Result<Vec<String>> {
    let drive = &drives[index].1;
    let mut keys = Vec::new();
    // (folder, its key followed by `/`; empty for the bucket folder)
    let mut stack = vec![(layout::bucket_dir(bucket), String::new())];
    while let Some((dir, key_slash)) = stack.pop() {
        let mut is_object = false;
        for entry in drive.list_dir(&dir)? {
            if !entry.is_dir {
                is_object |= entry.name == layout::OBJECT_META_FILE;
                continue;
            }
            let segment = if let Some(segment) = decode_segment(&entry.name) {
                segment
            } else if is_long_segment(&entry.name) {
                // A name blob missing on every drive leaves the key unlisted,
                // as the walk does; heal writes it back.
                match long_segment_text(drives, &dir.join(&entry.name)) {
                    Some(segment) => segment,
                    None => continue,
                }
            } else {
                is_object |= entry.name.starts_with(layout::DATA_DIR_PREFIX);
                continue;
            };
            stack.push((dir.join(&entry.name), format!("{key_slash}{segment}/")));
        }
        if is_object {
            if let Some(key) = key_slash.strip_suffix('/') {
                keys.push(key.to_owned());
            }
        }
    }
    Ok(keys)
}

/// First and largest batch of candidate keys one index lookup returns;
/// after a common prefix is skipped the next lookup starts small again, so
/// a page of rolled-up prefixes does not copy keys it skips.
const FIRST_BATCH: usize = 16;
const LARGEST_BATCH: usize = 1024;

/// One page from the bucket's listing index (blocking): candidates in key
/// order from the index, listed with their facts where the index knows
/// them, otherwise kept only if `probe(key, object dir)` finds an object
/// (and what it found is offered back to the index, [`ListIndex::fill`]). `None` if the bucket is not indexed (or stopped being so
/// during the page): walk instead.
pub(crate) fn page_from_index(
    index: &ListIndex,
    bucket: &str,
    walk: &Walk<'_>,
    mut probe: impl FnMut(&str, &Path) -> Option<ObjectSummary>,
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
            let mut found = |probe: &mut dyn FnMut(&str, &Path) -> Option<ObjectSummary>| {
                if let Slot::Known(facts) = &slot {
                    return Some(facts.summary(key.clone()));
                }
                let encoded = EncodedKey::new(&key).ok()?;
                let summary = probe(&key, &layout::object_dir(bucket, &encoded))?;
                if let Slot::Unknown(token) = slot {
                    read.push((key.clone(), token, Facts::of_summary(&summary)));
                }
                Some(summary)
            };
            match rolled_up {
                Some(common) => {
                    let fresh = walk.start_after.is_none_or(|sa| common.as_str() > sa);
                    if fresh && found(&mut probe).is_none() {
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
                    if let Some(summary) = found(&mut probe) {
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

/// The least byte string greater than every string starting with `prefix`
/// (UTF-8 never holds 0xFF, so the last byte can be raised).
fn past_prefix(prefix: &str) -> Vec<u8> {
    let mut bytes = prefix.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        *last += 1;
    }
    bytes
}

//! Listing: a page takes its candidate keys in order from the bucket's
//! listing index ([`crate::list_index`], built in the background) and reads
//! metadata by quorum only for keys it emits whose facts the index does
//! not know, so a page costs at most about `max_keys` metadata reads and
//! an index lookup whatever the bucket size. A bucket that is not indexed
//! (larger than the index's bound, or its build not done yet: a listing
//! never waits for one) is walked instead: its folder tree in the byte
//! order of the original keys, merging the drives (union of names).
//! Subtrees below `start_after`, outside `prefix`, or inside an already
//! emitted common prefix are never entered, and the walk stops after
//! `max_keys` entries, but each folder on the way is read and sorted whole.
//! The heal walk has its own cursor over the folders (`heal::keys`): it
//! must see every leftover on disk.
//!
//! Order: in a folder for key prefix `K`, child segment `s` contributes the
//! object `K+s` and the subtree `K+s/`; sorting these strings gives key
//! order, since every key of the subtree starts with `K+s/`.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use crate::api::{ListPage, ListParams, ObjectSummary, StoreError};
use crate::drive::Drive;
use crate::engine::Engine;
use crate::keys::{decode_segment, is_long_segment};
use crate::layout;
use crate::list_index::pages::page_from_index;
use crate::meta::{Blob, ObjectMeta};
use crate::quorum::{pick_object_meta, DriveRead};

/// Most keys a page returns.
pub const MAX_KEYS: usize = 1000;

/// A key or subtree with its folder (shared by the two items of a
/// segment: a large folder makes hundreds of thousands of them).
enum Item {
    Object(String, Arc<Path>),
    Subtree(String, Arc<Path>),
}

impl Item {
    fn sort_key(&self) -> &str {
        match self {
            Item::Object(key, _) | Item::Subtree(key, _) => key,
        }
    }
}

/// What the walker is asked for.
pub(crate) struct Walk<'a> {
    pub prefix: &'a str,
    pub delimiter: Option<&'a str>,
    pub start_after: Option<&'a str>,
    pub max: usize,
}

struct Walker<'a, P> {
    drives: &'a [(usize, Arc<dyn Drive>)],
    /// Per entry of `drives`: a folder listing failed (the drive could not
    /// answer for part of the tree).
    failed: Vec<bool>,
    walk: Walk<'a>,
    probe: P,
    page: ListPage,
    count: usize,
    skip_prefix: Option<String>,
    done: bool,
}

impl<P: FnMut(&str, &Path) -> Option<ObjectSummary>> Walker<'_, P> {
    fn children(&mut self, dir: &Path, key_prefix: &str) -> Vec<Item> {
        // A set: each drive's copy of a name is dropped as it arrives,
        // instead of holding every drive's listing of the folder.
        let mut segments: BTreeSet<(String, String)> = BTreeSet::new();
        let mut long_names: Vec<String> = Vec::new();
        for (index, (_, drive)) in self.drives.iter().enumerate() {
            match drive.list_dir(dir) {
                Ok(entries) => {
                    for entry in entries.into_iter().filter(|e| e.is_dir) {
                        if let Some(segment) = decode_segment(&entry.name) {
                            // Most of a large folder is before `start_after`
                            // on every page but the first: dropped here, not
                            // sorted and visited.
                            if self.may_list(key_prefix, &segment) {
                                segments.insert((segment, entry.name));
                            }
                        } else if is_long_segment(&entry.name) {
                            long_names.push(entry.name);
                        }
                    }
                }
                Err(_) => self.failed[index] = true,
            }
        }
        long_names.sort();
        long_names.dedup();
        for name in long_names {
            if let Some(segment) = self.long_segment_text(&dir.join(&name)) {
                segments.insert((segment, name));
            }
        }
        let mut items = Vec::with_capacity(segments.len() * 2);
        for (segment, name) in segments {
            let child: Arc<Path> = dir.join(name).into();
            let key = format!("{key_prefix}{segment}");
            items.push(Item::Subtree(format!("{key}/"), child.clone()));
            items.push(Item::Object(key, child));
        }
        items.sort_by(|a, b| a.sort_key().as_bytes().cmp(b.sort_key().as_bytes()));
        items
    }

    fn long_segment_text(&self, folder: &Path) -> Option<String> {
        long_segment_text(self.drives, folder)
    }

    /// Whether the object `key_prefix + segment` or a key below it can be
    /// on the page: `visit` skips the object and the subtree otherwise.
    fn may_list(&self, key_prefix: &str, segment: &str) -> bool {
        let key = format!("{key_prefix}{segment}");
        let (prefix, start_after) = (self.walk.prefix, self.walk.start_after);
        let object = key.starts_with(prefix) && start_after.is_none_or(|sa| key.as_str() > sa);
        let sub = format!("{key}/");
        let subtree = (sub.starts_with(prefix) || prefix.starts_with(sub.as_str()))
            && start_after.is_none_or(|sa| sub.as_str() > sa || sa.starts_with(sub.as_str()));
        object || subtree
    }

    fn skipped(&self, key: &str) -> bool {
        self.skip_prefix
            .as_deref()
            .is_some_and(|cp| key.starts_with(cp))
    }

    fn emit_object(&mut self, summary: ObjectSummary) {
        if self.count == self.walk.max {
            self.page.is_truncated = true;
            self.done = true;
            return;
        }
        self.count += 1;
        self.page.next_marker = Some(summary.key.clone());
        self.page.objects.push(summary);
    }

    fn emit_prefix(&mut self, prefix: String) {
        if self.count == self.walk.max {
            self.page.is_truncated = true;
            self.done = true;
            return;
        }
        self.count += 1;
        self.page.next_marker = Some(prefix.clone());
        self.page.common_prefixes.push(prefix);
    }

    fn visit(&mut self, dir: &Path, key_prefix: &str) {
        for item in self.children(dir, key_prefix) {
            if self.done {
                return;
            }
            match item {
                Item::Object(key, path) => {
                    if !key.starts_with(self.walk.prefix)
                        || self.walk.start_after.is_some_and(|sa| key.as_str() <= sa)
                        || self.skipped(&key)
                    {
                        continue;
                    }
                    let rolled_up = self.walk.delimiter.and_then(|delimiter| {
                        let rest = &key[self.walk.prefix.len()..];
                        rest.find(delimiter).map(|at| {
                            format!("{}{}", self.walk.prefix, &rest[..at + delimiter.len()])
                        })
                    });
                    let Some(summary) = (self.probe)(&key, &path) else {
                        continue;
                    };
                    match rolled_up {
                        Some(common) => {
                            let fresh = self.walk.start_after.is_none_or(|sa| common.as_str() > sa);
                            self.skip_prefix = Some(common.clone());
                            if fresh {
                                self.emit_prefix(common);
                            }
                        }
                        None => self.emit_object(summary),
                    }
                }
                Item::Subtree(sub, path) => {
                    let prefix = self.walk.prefix;
                    if !(sub.starts_with(prefix) || prefix.starts_with(sub.as_str())) {
                        continue;
                    }
                    if let Some(sa) = self.walk.start_after {
                        if sub.as_str() <= sa && !sa.starts_with(sub.as_str()) {
                            continue;
                        }
                    }
                    if self.skipped(&sub) {
                        continue;
                    }
                    self.visit(&path, &sub);
                }
            }
        }
    }
}

/// Whether an entry of a key's folder makes the key a candidate object:
/// its metadata, a data directory, or a metadata temp file
/// (`.obj.meta.<uuid>`, a crash's leftover). One rule for the index's
/// build and the heal walk, so neither sees keys the other misses; a
/// listing reads the metadata of every candidate and drops those with no
/// object, the heal removes the leftovers.
pub(crate) fn is_object_entry(name: &str, is_dir: bool) -> bool {
    if is_dir {
        name.starts_with(layout::DATA_DIR_PREFIX)
    } else {
        name == layout::OBJECT_META_FILE || layout::is_meta_temp(name)
    }
}

/// The text of a hashed long segment, from any drive's name blob.
pub(crate) fn long_segment_text(
    drives: &[(usize, Arc<dyn Drive>)],
    folder: &Path,
) -> Option<String> {
    let path = folder.join(layout::SEGMENT_NAME_FILE);
    drives.iter().find_map(|(_, drive)| {
        let blob = Blob::decode(Bytes::from(drive.read_file(&path).ok()?)).ok()?;
        String::from_utf8(blob.value.to_vec()).ok()
    })
}

/// Walks `bucket` on `drives` (blocking); `probe(key, object dir)` says
/// whether a key is listed. Also returns, per entry of `drives`, whether a
/// folder listing failed on it.
pub(crate) fn walk_bucket(
    drives: &[(usize, Arc<dyn Drive>)],
    bucket: &str,
    walk: Walk<'_>,
    probe: impl FnMut(&str, &Path) -> Option<ObjectSummary>,
) -> (ListPage, Vec<bool>) {
    let mut walker = Walker {
        drives,
        failed: vec![false; drives.len()],
        walk,
        probe,
        page: ListPage::default(),
        count: 0,
        skip_prefix: None,
        done: false,
    };
    if walker.walk.max > 0 {
        walker.visit(&layout::bucket_dir(bucket), "");
    }
    let mut page = walker.page;
    if !page.is_truncated {
        page.next_marker = None;
    }
    (page, walker.failed)
}

/// Reads an object's metadata drive by drive (blocking), stopping as soon
/// as a read quorum agrees on one version; unread drives count as unknown.
pub(crate) fn read_metas_until_quorum(
    drives: &[(usize, Arc<dyn Drive>)],
    total_drives: usize,
    object_dir: &Path,
) -> Vec<DriveRead<ObjectMeta>> {
    let mut reads: Vec<DriveRead<ObjectMeta>> =
        (0..total_drives).map(|_| DriveRead::Failed).collect();
    let meta_path = object_dir.join(layout::OBJECT_META_FILE);
    let mut missing = 0;
    for (position, drive) in drives {
        let read = DriveRead::from_io(
            drive
                .read_file(&meta_path)
                .map(|bytes| ObjectMeta::decode(Bytes::from(bytes))),
        );
        if let DriveRead::Found(meta) = &read {
            let agreeing = 1 + reads
                .iter()
                .filter(|r| r.found().is_some_and(|m| m.meta_id == meta.meta_id))
                .count();
            let done = agreeing >= usize::from(meta.erasure.data);
            reads[*position] = read;
            if done {
                break;
            }
        } else {
            if matches!(read, DriveRead::NotFound) {
                missing += 1;
            }
            reads[*position] = read;
            // Absent on more than half the drives: no version can have quorum
            // beyond the ones already seen, so stop early.
            if missing > total_drives / 2 && reads.iter().all(|r| r.found().is_none()) {
                break;
            }
        }
    }
    reads
}

impl Engine {
    pub async fn list_objects(
        &self,
        bucket: &str,
        params: ListParams,
    ) -> Result<ListPage, StoreError> {
        self.require_bucket(bucket)?;
        let total = self.drives.len();
        let data = self.data;
        let check = self.drives.answer_check();
        let bucket_name = bucket.to_owned();
        let index = self.list_index.clone();
        let (result, gone) = self
            .drives
            .on_online_drives(move |drives| {
                let bucket = bucket_name.clone();
                let params = params.clone();
                let bucket_dir = layout::bucket_dir(&bucket);
                let mut gone = Vec::new();
                // A drive whose bucket root (or whole folder) vanished lists as
                // empty: only drives that answer for the bucket take part, and
                // a page from fewer than `data` of them could miss any key.
                let answering = |gone: &mut Vec<usize>| -> Vec<(usize, Arc<dyn Drive>)> {
                    drives
                        .iter()
                        .filter(|(position, drive)| {
                            check.answers_under(drive.as_ref(), *position, &bucket_dir, gone)
                        })
                        .cloned()
                        .collect()
                };
                let quorum_lost = |online: usize| StoreError::ReadQuorum {
                    online,
                    needed: data,
                };
                let walkers = answering(&mut gone);
                if walkers.len() < data {
                    return (Err(quorum_lost(walkers.len())), gone);
                }
                let walk = Walk {
                    prefix: &params.prefix,
                    delimiter: params.delimiter.as_deref().filter(|d| !d.is_empty()),
                    start_after: params.start_after.as_deref(),
                    max: params.max_keys.min(MAX_KEYS),
                };
                let probe = |key: &str, dir: &Path| {
                    let reads = read_metas_until_quorum(&walkers, total, dir);
                    let agreed = pick_object_meta(&reads, &bucket, key).ok()?;
                    Some(ObjectSummary {
                        key: key.to_owned(),
                        size: agreed.meta.size,
                        etag: agreed.meta.etag,
                        last_modified: agreed.meta.mod_time.into(),
                    })
                };
                let indexed = page_from_index(&index, &bucket, &walk, probe);
                let (page, failed) = match indexed {
                    Some(page) => (page, vec![false; walkers.len()]),
                    // Not indexed (too big for the bound, never listed since
                    // the start, evicted, a build running or failed): the
                    // walk over the folders answers, and the index is built
                    // in the background, never while a listing waits.
                    None => {
                        index.request_build(&bucket);
                        walk_bucket(&walkers, &bucket, walk, probe)
                    }
                };
                // Drives that vanished during the walk listed their part of the
                // tree as empty: the page is only complete if `data` drives
                // answered throughout.
                let mut still_answering = 0;
                for (index, (position, drive)) in walkers.iter().enumerate() {
                    if !failed[index]
                        && check.answers_under(drive.as_ref(), *position, &bucket_dir, &mut gone)
                    {
                        still_answering += 1;
                    } else if failed[index] && !check.drive_answers(drive.as_ref(), *position) {
                        gone.push(*position);
                    }
                }
                if still_answering < data {
                    return (Err(quorum_lost(still_answering)), gone);
                }
                (Ok(page), gone)
            })
            .await
            .map_err(|missed| crate::engine::internal(std::io::Error::from(missed)))?;
        self.drives.take_offline(&gone);
        result.map_err(|err| self.bucket_gone_or(bucket, err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drive::LocalDrive;
    use crate::keys::EncodedKey;
    use crate::list_index::pages::build_key_set;
    use crate::list_index::ListIndex;

    type Drives = Vec<(usize, Arc<dyn Drive>)>;

    fn drives_with(keys_per_drive: &[&[&str]]) -> (tempfile::TempDir, Drives) {
        let dir = tempfile::tempdir().unwrap();
        let mut drives: Vec<(usize, Arc<dyn Drive>)> = Vec::new();
        for (position, keys) in keys_per_drive.iter().enumerate() {
            let root = dir.path().join(format!("d{position}"));
            std::fs::create_dir_all(&root).unwrap();
            for key in *keys {
                // Plain files without fsync: the fixture needs no durability.
                let path = root.join(layout::object_meta_path(
                    "bkt",
                    &EncodedKey::new(key).unwrap(),
                ));
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::File::create(path).unwrap();
            }
            let drive = LocalDrive::new(root);
            drives.push((position, Arc::new(drive)));
        }
        (dir, drives)
    }

    fn list(
        drives: &[(usize, Arc<dyn Drive>)],
        prefix: &str,
        delimiter: Option<&str>,
        start_after: Option<&str>,
        max: usize,
    ) -> ListPage {
        walk_bucket(
            drives,
            "bkt",
            Walk {
                prefix,
                delimiter,
                start_after,
                max,
            },
            |key, dir| {
                drives
                    .iter()
                    .any(|(_, d)| d.exists(&dir.join(layout::OBJECT_META_FILE)).unwrap())
                    .then(|| ObjectSummary {
                        key: key.into(),
                        size: 0,
                        etag: String::new(),
                        last_modified: std::time::UNIX_EPOCH,
                    })
            },
        )
        .0
    }

    fn keys(page: &ListPage) -> Vec<&str> {
        page.objects.iter().map(|o| o.key.as_str()).collect()
    }

    #[test]
    fn keys_come_out_in_byte_order_merged_over_drives() {
        let (_dir, drives) = drives_with(&[
            &["a/b", "a-c", "a", "a//x", "a/"],
            &["b", "a.c", "A", "a/b/c"],
        ]);
        let page = list(&drives, "", None, None, 100);
        let mut expected = vec!["a/b", "a-c", "a", "a//x", "a/", "b", "a.c", "A", "a/b/c"];
        expected.sort();
        assert_eq!(keys(&page), expected);
        assert!(!page.is_truncated);
    }

    #[test]
    fn delimiter_rolls_up_and_pages_resume_after_prefixes() {
        let (_dir, drives) = drives_with(&[&["x/1", "x/2", "x/y/3", "y", "z/1"]]);
        let page = list(&drives, "", Some("/"), None, 2);
        assert_eq!(page.common_prefixes, vec!["x/"]);
        assert_eq!(keys(&page), vec!["y"]);
        assert!(page.is_truncated);
        assert_eq!(page.next_marker.as_deref(), Some("y"));
        let next = list(&drives, "", Some("/"), Some("y"), 2);
        assert_eq!(next.common_prefixes, vec!["z/"]);
        assert!(!next.is_truncated);
        let inside = list(&drives, "x/", Some("/"), None, 10);
        assert_eq!(keys(&inside), vec!["x/1", "x/2"]);
        assert_eq!(inside.common_prefixes, vec!["x/y/"]);
        let after_prefix = list(&drives, "", Some("/"), Some("x/"), 10);
        assert_eq!(keys(&after_prefix), vec!["y"]);
    }

    #[test]
    fn prefix_and_start_after_prune_the_walk() {
        let (_dir, drives) = drives_with(&[&["p/a", "p/b", "pa", "q", "p/c/d"]]);
        assert_eq!(
            keys(&list(&drives, "p/", None, None, 10)),
            vec!["p/a", "p/b", "p/c/d"]
        );
        assert_eq!(
            keys(&list(&drives, "p", None, Some("p/b"), 10)),
            vec!["p/c/d", "pa"]
        );
        let page = list(&drives, "", None, None, 0);
        assert!(page.objects.is_empty() && !page.is_truncated);
    }

    fn indexed(drives: &[(usize, Arc<dyn Drive>)]) -> ListIndex {
        let index = ListIndex::new(1 << 30);
        let id = index.begin_build("bkt").unwrap();
        index.finish_build("bkt", id, build_key_set(drives, "bkt", &Default::default()));
        index
    }

    fn list_indexed(
        index: &ListIndex,
        drives: &[(usize, Arc<dyn Drive>)],
        walk: &Walk<'_>,
    ) -> ListPage {
        page_from_index(index, "bkt", walk, |key, dir| {
            drives
                .iter()
                .any(|(_, d)| d.exists(&dir.join(layout::OBJECT_META_FILE)).unwrap())
                .then(|| ObjectSummary {
                    key: key.into(),
                    size: 0,
                    etag: String::new(),
                    last_modified: std::time::UNIX_EPOCH,
                })
        })
        .expect("indexed")
    }

    /// The index answers every page exactly as the folder walk does: same
    /// keys, prefixes, truncation and marker, for every prefix, delimiter,
    /// start-after and page size tried.
    #[test]
    fn index_pages_equal_walk_pages() {
        let names = [
            "a",
            "a/",
            "a//x",
            "a/b",
            "a/b/c",
            "a-c",
            "a.c",
            "A",
            "b",
            "é",
            "é/ü",
            "日本/語",
            "x/1",
            "x/2",
            "x/y/3",
            "x-y",
            "y",
            "z/1",
            "p q",
            "p%20q",
            "tab\there",
            "dir/sub/f1",
            "dir/sub/f2",
            "dir/sub2/f",
            "dir/z",
            "dira",
        ];
        // Two drives holding overlapping halves: the index is their union.
        let left: Vec<&str> = names.iter().step_by(2).copied().collect();
        let right: Vec<&str> = names.iter().skip(1).step_by(3).copied().collect();
        let (_dir, drives) = drives_with(&[&left, &right]);
        let index = indexed(&drives);
        let mut starts: Vec<Option<&str>> =
            vec![None, Some(""), Some("a/"), Some("x/"), Some("zz")];
        starts.extend(names.iter().map(|n| Some(*n)));
        for prefix in ["", "a", "a/", "x/", "dir/", "dir/s", "é", "nothing"] {
            for delimiter in [None, Some("/"), Some("-"), Some("b/")] {
                for start_after in &starts {
                    for max in [0, 1, 2, 3, 1000] {
                        let walk = Walk {
                            prefix,
                            delimiter,
                            start_after: *start_after,
                            max,
                        };
                        let from_index = list_indexed(&index, &drives, &walk);
                        let walked = list(&drives, prefix, delimiter, *start_after, max);
                        let what = format!("{prefix:?} {delimiter:?} {start_after:?} {max}");
                        assert_eq!(keys(&from_index), keys(&walked), "{what}");
                        assert_eq!(from_index.common_prefixes, walked.common_prefixes, "{what}");
                        assert_eq!(from_index.is_truncated, walked.is_truncated, "{what}");
                        assert_eq!(from_index.next_marker, walked.next_marker, "{what}");
                    }
                }
            }
        }
    }

    #[test]
    fn index_build_finds_long_segments_and_data_only_folders() {
        let long = "l".repeat(300);
        let key = format!("d/{long}/k");
        let (dir, drives) = drives_with(&[&[key.as_str(), "plain"]]);
        let root = dir.path().join("d0");
        // Long segments' texts come from their name blobs.
        let folder = layout::object_dir("bkt", &EncodedKey::new(&format!("d/{long}")).unwrap());
        std::fs::write(
            root.join(folder).join(layout::SEGMENT_NAME_FILE),
            Blob::new(Bytes::from(long.clone())).encode(),
        )
        .unwrap();
        // A folder with only a data directory (metadata lost) is a candidate.
        let orphan = layout::object_dir("bkt", &EncodedKey::new("orphan").unwrap());
        std::fs::create_dir_all(root.join(orphan).join("d.0123")).unwrap();
        let found = build_key_set(&drives, "bkt", &Default::default()).unwrap();
        let found: Vec<&[u8]> = found.iter().map(|k| &k[..]).collect();
        assert_eq!(found, vec![key.as_bytes(), b"orphan", b"plain"]);
    }

    /// One rule for which entries of a key's folder make the key a
    /// candidate: a folder holding only a metadata temp file (a crash's
    /// leftover) is one for the index's build as for the heal walk, which
    /// removes it; a listing drops it after reading no metadata.
    #[test]
    fn the_build_takes_the_same_entries_as_objects_as_the_heal_walk() {
        for (name, is_dir, object) in [
            (layout::OBJECT_META_FILE, false, true),
            (".obj.meta.0123abcd", false, true),
            ("d.0123abcd", true, true),
            (layout::SEGMENT_NAME_FILE, false, false),
            ("d.0123abcd", false, false),
            (layout::OBJECT_META_FILE, true, false),
            ("stray", false, false),
        ] {
            assert_eq!(is_object_entry(name, is_dir), object, "{name} {is_dir}");
        }
        let (dir, drives) = drives_with(&[&["plain"]]);
        let crashed = layout::object_dir("bkt", &EncodedKey::new("crashed").unwrap());
        let crashed = dir.path().join("d0").join(crashed);
        std::fs::create_dir_all(&crashed).unwrap();
        std::fs::write(crashed.join(".obj.meta.0123abcd"), b"").unwrap();
        assert!(layout::is_meta_temp(".obj.meta.0123abcd"));
        let found = build_key_set(&drives, "bkt", &Default::default()).unwrap();
        let found: Vec<&[u8]> = found.iter().map(|k| &k[..]).collect();
        assert_eq!(found, vec![b"crashed".as_slice(), b"plain"]);
    }

    #[test]
    fn a_page_probes_only_about_max_keys_objects() {
        let names: Vec<String> = (0..3000).map(|i| format!("k/{i:05}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let (_dir, drives) = drives_with(&[&refs]);
        let mut probes = 0;
        let page = walk_bucket(
            &drives,
            "bkt",
            Walk {
                prefix: "",
                delimiter: None,
                start_after: Some("k/01000"),
                max: 100,
            },
            |key, _| {
                probes += 1;
                Some(ObjectSummary {
                    key: key.into(),
                    size: 0,
                    etag: String::new(),
                    last_modified: std::time::UNIX_EPOCH,
                })
            },
        );
        let page = page.0;
        assert_eq!(page.objects.first().unwrap().key, "k/01001");
        assert_eq!(page.objects.len(), 100);
        assert!(probes <= 101, "{probes}");
    }
}

//! The heal walk's cursor over a bucket's keys: each folder of the key tree
//! is read (on every drive, names merged) once per walk and kept until its
//! keys are handed out, so a walk over n keys reads O(n) directory entries
//! whatever the batch size. (Restarting a listing for each batch read and
//! sorted a flat folder of n keys once per batch: O(n²/batch).)
//!
//! Keys come depth first in segment order (an object, then the keys under
//! it), not in listing order: the walk needs every key once, not an order.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::drive::Drive;
use crate::keys::{decode_segment, is_long_segment};
use crate::layout;
use crate::listing::long_segment_text;

/// One folder being walked: its key prefix and its children's
/// `(segment, folder name)`, sorted, from `next` on still to visit.
struct Frame {
    dir: PathBuf,
    key_prefix: String,
    children: Vec<(String, String)>,
    next: usize,
    /// The child at `next - 1` was handed out as an object; its subtree is
    /// visited next.
    object_done: bool,
}

/// Where a heal walk is in one bucket.
pub(crate) struct KeyCursor {
    bucket: String,
    prefix: String,
    stack: Vec<Frame>,
    started: bool,
    /// Keys found and not yet taken.
    ready: Vec<String>,
    /// Directory entries read so far (every drive's), for tests of the
    /// walk's cost.
    pub entries_read: u64,
}

impl KeyCursor {
    pub fn new(bucket: &str, prefix: &str) -> Self {
        Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            stack: Vec::new(),
            started: false,
            ready: Vec::new(),
            entries_read: 0,
        }
    }

    /// Finds further keys under the prefix with object files (metadata,
    /// data folders or a crash's temp files) on any of `drives` (blocking)
    /// until `max` are ready or the bucket's end.
    pub fn fill(&mut self, drives: &[(usize, Arc<dyn Drive>)], max: usize) {
        if !self.started {
            self.started = true;
            let root = layout::bucket_dir(&self.bucket);
            self.enter(drives, root, String::new());
        }
        while self.ready.len() < max {
            let Some(frame) = self.stack.last_mut() else {
                break;
            };
            if frame.object_done {
                // The subtree of the child just handed out (or skipped).
                frame.object_done = false;
                let (segment, name) = &frame.children[frame.next - 1];
                let sub = format!("{}{segment}/", frame.key_prefix);
                let path = frame.dir.join(name);
                if sub.starts_with(&self.prefix) || self.prefix.starts_with(&sub) {
                    self.enter(drives, path, sub);
                }
                continue;
            }
            if frame.next == frame.children.len() {
                self.stack.pop();
                continue;
            }
            let (segment, name) = &frame.children[frame.next];
            let key = format!("{}{segment}", frame.key_prefix);
            let path = frame.dir.join(name);
            frame.next += 1;
            frame.object_done = true;
            if key.starts_with(&self.prefix) && has_object_files(drives, &path) {
                self.ready.push(key);
            }
        }
    }

    /// Up to `max` of the keys found, in walk order.
    pub fn take(&mut self, max: usize) -> Vec<String> {
        let count = self.ready.len().min(max);
        self.ready.drain(..count).collect()
    }

    /// Reads folder `dir` (key prefix `key_prefix`) on every drive and
    /// pushes it to be walked.
    fn enter(&mut self, drives: &[(usize, Arc<dyn Drive>)], dir: PathBuf, key_prefix: String) {
        let mut children: Vec<(String, String)> = Vec::new();
        let mut long_names: Vec<String> = Vec::new();
        for (_, drive) in drives {
            // A folder a drive cannot list holds nothing this walk can see
            // there; a later walk (the drive's return requests one) does.
            let entries = drive.list_dir(&dir).unwrap_or_default();
            self.entries_read += entries.len() as u64;
            for entry in entries.into_iter().filter(|e| e.is_dir) {
                if let Some(segment) = decode_segment(&entry.name) {
                    children.push((segment, entry.name));
                } else if is_long_segment(&entry.name) {
                    long_names.push(entry.name);
                }
            }
        }
        long_names.sort_unstable();
        long_names.dedup();
        for name in long_names {
            if let Some(segment) = long_segment_text(drives, &dir.join(&name)) {
                children.push((segment, name));
            }
        }
        children.sort_unstable();
        children.dedup();
        children.shrink_to_fit();
        self.stack.push(Frame {
            dir,
            key_prefix,
            children,
            next: 0,
            object_done: false,
        });
    }
}

/// Whether a key's folder holds object files on any drive: metadata, or a
/// crash's leftovers (data folders, metadata temp files) the heal removes
/// (the listing index's build takes the same entries: `is_object_entry`).
fn has_object_files(drives: &[(usize, Arc<dyn Drive>)], dir: &Path) -> bool {
    let meta_path = dir.join(layout::OBJECT_META_FILE);
    drives.iter().any(|(_, drive)| {
        drive.exists(&meta_path).unwrap_or(false)
            || drive
                .list_dir(dir)
                .unwrap_or_default()
                .iter()
                .any(|e| crate::listing::is_object_entry(&e.name, e.is_dir))
    })
}

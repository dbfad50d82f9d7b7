//! Missed-write markers: a durable note that a drive missed writes.
//!
//! A write is acknowledged once a write quorum of drives holds it; drives
//! that were offline or failed are healed later. The heal queue lives in
//! memory, so without a record a `kill -9` (or a restart) would forget that
//! a drive which is back online lacks objects, and redundancy would stay
//! reduced until someone ran `minnow heal`. So the first write a drive
//! misses writes a small marker onto every drive that answers:
//!
//! ```text
//! <drive>/.minnow.sys/heal/missed-<position>.json   {"format":"minnow-missed-writes","version":1,...}
//! ```
//!
//! Later misses of the same drive cost nothing (an atomic flag). At start-up
//! the markers of all drives are read and each named drive gets a full
//! background heal; a heal pass that visited everything without failures
//! while the drive was online removes its marker, unless that drive missed
//! another write since the pass began (a per-drive epoch counter).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::DriveSet;
use crate::drive::Drive;

/// Folder of the markers, relative to the drive root.
pub const MISSED_DIR: &str = ".minnow.sys/heal";
/// `format` field of a marker.
const MARKER_FORMAT: &str = "minnow-missed-writes";
/// Current marker version.
pub const MARKER_VERSION: u32 = 1;

/// One marker file: drive `position` missed writes since `since_unix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissedWritesMarker {
    pub format: String,
    pub version: u32,
    pub position: usize,
    pub since_unix: u64,
}

impl MissedWritesMarker {
    fn new(position: usize) -> Self {
        Self {
            format: MARKER_FORMAT.to_owned(),
            version: MARKER_VERSION,
            position,
            since_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a marker serialises")
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let marker: Self = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if marker.format != MARKER_FORMAT {
            return Err(format!("not a missed-writes marker: {:?}", marker.format));
        }
        if marker.version != MARKER_VERSION {
            return Err(format!(
                "missed-writes marker version {} is not supported (this build reads {MARKER_VERSION})",
                marker.version
            ));
        }
        Ok(marker)
    }
}

fn marker_path(position: usize) -> PathBuf {
    Path::new(MISSED_DIR).join(format!("missed-{position}.json"))
}

/// Per-drive state. The atomics are sequentially consistent on purpose: a
/// writer bumps `epochs` then reads `durable`, a clear stores `durable`
/// then reads `epochs`, and one of the two must see the other.
pub(crate) struct MissedWrites {
    /// A marker for the drive is on at least one drive's disk.
    durable: Vec<AtomicBool>,
    /// Bumped by every write the drive misses and every online/offline
    /// change of it: a heal pass compares it before removing the marker.
    epochs: Vec<AtomicU64>,
    /// Serialises writing and removing one drive's marker.
    locks: Vec<tokio::sync::Mutex<()>>,
}

impl MissedWrites {
    pub fn new(drives: usize) -> Self {
        Self {
            durable: (0..drives).map(|_| AtomicBool::new(false)).collect(),
            epochs: (0..drives).map(|_| AtomicU64::new(0)).collect(),
            locks: (0..drives).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }

    /// A drive went offline or came back: a heal pass that began before
    /// may not have reached it.
    pub fn note_transition(&self, position: usize) {
        if let Some(epoch) = self.epochs.get(position) {
            epoch.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Drives with a marker that are online now, with their epochs, at the
    /// start of a heal pass.
    pub fn snapshot(&self, online: impl Fn(usize) -> bool) -> Vec<(usize, u64)> {
        self.durable
            .iter()
            .enumerate()
            .filter(|(position, durable)| durable.load(Ordering::SeqCst) && online(*position))
            .map(|(position, _)| (position, self.epochs[position].load(Ordering::SeqCst)))
            .collect()
    }

    /// Whether any drive carries a marker.
    pub fn any(&self) -> bool {
        self.durable.iter().any(|m| m.load(Ordering::SeqCst))
    }
}

/// Reads every drive's markers (blocking). Unreadable or foreign files are
/// skipped with a warning: a marker only ever triggers a heal.
pub(crate) fn read_markers(drive: &dyn Drive) -> io::Result<Vec<usize>> {
    let entries = match drive.list_dir(Path::new(MISSED_DIR)) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let mut positions = Vec::new();
    for entry in entries.iter().filter(|e| !e.is_dir) {
        let path = Path::new(MISSED_DIR).join(&entry.name);
        match drive
            .read_file(&path)
            .map(|bytes| MissedWritesMarker::decode(&bytes))
        {
            Ok(Ok(marker)) => positions.push(marker.position),
            Ok(Err(err)) => tracing::warn!(file = %path.display(), "ignoring marker: {err}"),
            Err(err) => tracing::warn!(file = %path.display(), "cannot read marker: {err}"),
        }
    }
    Ok(positions)
}

impl DriveSet {
    /// Notes that the drives at `missed` missed a write. Returns once each
    /// of them has a marker on disk, so the caller may acknowledge the
    /// write. Only [`DriveSet::finish_write`] calls this.
    pub(super) async fn record_missed(&self, missed: Vec<usize>) {
        for position in missed {
            let Some(epoch) = self.missed.epochs.get(position) else {
                continue;
            };
            epoch.fetch_add(1, Ordering::SeqCst);
            if self.missed.durable[position].load(Ordering::SeqCst) {
                continue;
            }
            // Another write may be writing this marker right now: wait for
            // it rather than acknowledge before the marker is on disk.
            let _writing = self.missed.locks[position].lock().await;
            if self.missed.durable[position].load(Ordering::SeqCst) {
                continue;
            }
            let marker = MissedWritesMarker::new(position).encode();
            let written = self
                .each_drive(move |_, drive| {
                    drive.mkdir_all(Path::new(MISSED_DIR))?;
                    drive.write_atomic(&marker_path(position), &marker)
                })
                .await;
            if written.iter().any(|r| r.is_ok()) {
                self.missed.durable[position].store(true, Ordering::SeqCst);
                tracing::info!(
                    drive = %self[position].drive.root().display(),
                    "drive missed a write: it is healed when it is back (recorded on the drives)"
                );
            } else {
                tracing::warn!(position, "could not record that a drive missed writes");
            }
        }
    }

    /// Drives formatted empty at this start lack everything: they get a
    /// marker like a drive that missed writes, so that until a complete
    /// heal walk has filled them every start heals them again.
    pub async fn record_fresh_drives(&self) {
        let fresh: Vec<usize> = (0..self.len()).filter(|&p| self[p].fresh).collect();
        self.record_missed(fresh).await;
    }

    /// Loads the markers of all drives at start-up; true if any drive has one.
    pub async fn load_missed_writes(&self) -> bool {
        let found = self.each_drive(|_, drive| read_markers(drive)).await;
        for position in found.into_iter().flatten().flatten() {
            if let Some(durable) = self.missed.durable.get(position) {
                durable.store(true, Ordering::SeqCst);
            }
        }
        self.missed.any()
    }

    /// Drives with markers, online now, at the start of a heal pass.
    pub fn missed_writes_snapshot(&self) -> Vec<(usize, u64)> {
        self.missed.snapshot(|position| self.is_online(position))
    }

    /// After a complete heal pass without failures that began at
    /// `snapshot`: removes the markers of drives that have neither missed a
    /// write nor gone offline or come back since.
    pub async fn clear_missed_writes(&self, snapshot: &[(usize, u64)]) {
        for &(position, epoch) in snapshot {
            let _removing = self.missed.locks[position].lock().await;
            // From here a write that misses the drive writes a new marker
            // (it waits for this lock), unless it bumped the epoch first.
            self.missed.durable[position].store(false, Ordering::SeqCst);
            let online = self.is_online(position);
            if !online || self.missed.epochs[position].load(Ordering::SeqCst) != epoch {
                self.missed.durable[position].store(true, Ordering::SeqCst);
                continue;
            }
            let removed = self
                .each_drive(move |_, drive| drive.remove_file(&marker_path(position)))
                .await;
            // A copy left on an offline drive only costs a heal pass at a
            // later start; the next miss writes a new marker either way.
            if removed.iter().all(|r| r.is_ok()) {
                tracing::info!(
                    drive = %self[position].drive.root().display(),
                    "drive is whole again: missed-writes marker removed"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_other_versions_are_refused() {
        let marker = MissedWritesMarker::new(3);
        assert_eq!(
            MissedWritesMarker::decode(&marker.encode()).unwrap(),
            marker
        );
        let newer = br#"{"format":"minnow-missed-writes","version":2,"position":1,"since_unix":5}"#;
        let err = MissedWritesMarker::decode(newer).unwrap_err();
        assert!(err.contains("version 2 is not supported"), "{err}");
        let foreign = br#"{"format":"other","version":1,"position":1,"since_unix":5}"#;
        assert!(MissedWritesMarker::decode(foreign).is_err());
    }

    #[test]
    fn marker_format_v1_fixture_still_decodes() {
        let v1 = br#"{"format":"minnow-missed-writes","version":1,"position":2,"since_unix":1795000000}"#;
        let marker = MissedWritesMarker::decode(v1).unwrap();
        assert_eq!(marker.position, 2);
        assert_eq!(marker.since_unix, 1_795_000_000);
    }
}

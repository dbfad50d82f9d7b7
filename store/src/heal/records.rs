//! Healing the small records: system blobs (identity, lifecycle cursor,
//! other configuration) and each bucket's folder, record and settings,
//! copied by quorum onto drives that lack them; copies whose removal
//! reached quorum (a drive missed it) are removed.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use crate::api::StoreError;
use crate::catalog::{read_blob, EntryKind, SETTINGS};
use crate::engine::Engine;
use crate::keys::{validate_blob_name, validate_bucket_name};
use crate::layout;
use crate::meta::Blob;
use crate::quorum::{pick_blob, DriveRead};

impl Engine {
    /// A record as the drives that can vouch for it say: a drive with a
    /// missed-write marker (fresh, or it missed writes) may lack a record
    /// that exists, so its "not found" does not count as absence.
    pub(crate) async fn record_agreement(&self, path: PathBuf) -> Agreement {
        let marked = self.drives.missed_drives();
        let reads: Vec<DriveRead<Blob>> = self
            .drives
            .each_drive(move |_, drive| Ok(read_blob(drive, &path)))
            .await
            .into_iter()
            .enumerate()
            .map(|(position, read)| match read {
                Ok(DriveRead::NotFound) if marked.contains(&position) => DriveRead::Failed,
                Ok(read) => read,
                Err(_) => DriveRead::Failed,
            })
            .collect();
        let missing = reads
            .iter()
            .filter(|r| matches!(r, DriveRead::NotFound))
            .count();
        match pick_blob(&reads, self.data) {
            Some(blob) => Agreement::Value(blob),
            None if missing >= self.data => Agreement::Absent,
            None => Agreement::Undecided,
        }
    }

    /// Writes `blob` at `path` on every drive that lacks it (or holds
    /// another version). Returns how many drives were written.
    async fn copy_record(&self, path: PathBuf, blob: Blob) -> u64 {
        let (id, encoded) = (blob.id, Arc::new(blob.encode()));
        let results = self
            .drives
            .each_drive(move |_, drive| {
                if read_blob(drive, &path).found().map(|b| b.id) == Some(id) {
                    return Ok(false);
                }
                if let Some(parent) = path.parent() {
                    drive.mkdir_all(parent)?;
                }
                drive.write_atomic(&path, &encoded).map(|()| true)
            })
            .await;
        results.iter().filter(|r| matches!(r, Ok(true))).count() as u64
    }

    /// Removes a record whose removal reached quorum from the drives that
    /// missed that removal. Returns how many copies went.
    async fn remove_record_leftovers(&self, path: PathBuf) -> u64 {
        let results = self
            .drives
            .each_drive(move |_, drive| {
                let existed = drive.exists(&path)?;
                drive.remove_file(&path)?;
                Ok(existed)
            })
            .await;
        results.iter().filter(|r| matches!(r, Ok(true))).count() as u64
    }

    /// Copies every system blob (IAM users and policies, the lifecycle
    /// cursor, other configuration) onto drives that lack the agreed value,
    /// e.g. a replaced drive, and removes copies of blobs whose removal a
    /// drive missed. Returns how many copies were written or removed.
    pub async fn heal_system_blobs(&self) -> u64 {
        let names = self
            .names_on_any_drive(layout::CONFIG_DIR, EntryKind::File, |name| {
                validate_blob_name(name).is_ok()
            })
            .await;
        let mut changed = 0;
        for name in names {
            // System blob writes hold this lock: a heal never writes back a
            // value being replaced.
            let _guard = self.locks.lock("", &name).await;
            let path = layout::system_blob_path(&name);
            changed += match self.record_agreement(path.clone()).await {
                Agreement::Value(blob) => self.copy_record(path, blob).await,
                Agreement::Absent => self.remove_record_leftovers(path).await,
                Agreement::Undecided => 0,
            };
        }
        changed
    }

    /// Re-creates a bucket's folder, record and settings on drives that
    /// lack them (fresh drives, drives that missed a setting write), and
    /// removes settings whose removal a drive missed. The cached bucket
    /// (loaded by quorum, updated by every acknowledged write) is the truth.
    /// Returns how many drives or records were repaired.
    pub async fn heal_bucket(&self, bucket: &str) -> Result<u64, StoreError> {
        // DeleteBucket holds this from its check to its last removal, and
        // setting writes hold it too: a heal never re-creates the folders of
        // a bucket being deleted, nor writes back a setting being replaced.
        let _guard = self.bucket_ops.lock().await;
        let (created, settings) = {
            let buckets = self.buckets.read().expect("bucket cache");
            let state = buckets
                .get(bucket)
                .ok_or_else(|| StoreError::NoSuchBucket(bucket.to_owned()))?;
            (state.created, state.settings.clone())
        };
        let name = bucket.to_owned();
        let mut repaired = self
            .drives
            .each_drive(move |_, drive| {
                let dir = layout::bucket_dir(&name);
                if drive.exists(&dir)? {
                    return Ok(false);
                }
                drive.mkdir_all(&dir).map(|()| true)
            })
            .await
            .into_iter()
            .filter(|r| matches!(r, Ok(true)))
            .count() as u64;
        let record_path = layout::bucket_meta_path(bucket);
        let record = match self.record_agreement(record_path.clone()).await {
            Agreement::Value(record) => record,
            // The bucket is cached, so it was loaded or created by quorum:
            // drives that lost the record get one again.
            Agreement::Absent | Agreement::Undecided => Blob {
                mod_time: created,
                id: uuid::Uuid::new_v4(),
                value: Bytes::new(),
            },
        };
        repaired += self.copy_record(record_path, record).await;
        for setting in SETTINGS {
            let path = layout::setting_path(bucket, setting);
            let agreed = self.record_agreement(path.clone()).await;
            repaired += match (settings.get(&setting), agreed) {
                (Some(value), Agreement::Value(blob)) if blob.value == *value => {
                    self.copy_record(path, blob).await
                }
                (Some(value), _) => self.copy_record(path, Blob::new(value.clone())).await,
                (None, Agreement::Undecided) => 0,
                (None, _) => self.remove_record_leftovers(path).await,
            };
        }
        Ok(repaired)
    }

    /// Removes what buckets deleted by quorum left on drives that missed
    /// the delete: their records, and their folders when those hold
    /// nothing (a folder with objects in it is never removed here: its
    /// record may only be short of quorum because drives were lost).
    pub async fn remove_bucket_leftovers(&self) {
        let names = self
            .names_on_any_drive(layout::BUCKETS_DIR, EntryKind::Folder, |name| {
                validate_bucket_name(name).is_ok()
            })
            .await;
        let _guard = self.bucket_ops.lock().await;
        for name in names {
            let cached = self
                .buckets
                .read()
                .expect("bucket cache")
                .contains_key(&name);
            if cached {
                continue;
            }
            let path = layout::bucket_meta_path(&name);
            if self.record_agreement(path).await != Agreement::Absent {
                continue;
            }
            let removed = self
                .drives
                .each_drive(move |_, drive| {
                    let dir = layout::bucket_dir(&name);
                    let empty = match drive.list_dir(&dir) {
                        Ok(entries) => entries.is_empty(),
                        Err(err) if err.kind() == std::io::ErrorKind::NotFound => true,
                        Err(err) => return Err(err),
                    };
                    if !empty {
                        return Ok(false);
                    }
                    drive.remove_dir_all(&layout::bucket_sys_dir(&name))?;
                    drive.remove_dir_all(&layout::multipart_bucket_dir(&name))?;
                    drive.remove_empty_dir(&dir)?;
                    Ok(true)
                })
                .await;
            if removed.iter().any(|r| matches!(r, Ok(true))) {
                tracing::info!(
                    "removed what a deleted bucket left on drives that missed its delete"
                );
            }
        }
    }
}

/// A record by quorum of the drives that can vouch for it.
#[derive(Debug, PartialEq)]
pub(crate) enum Agreement {
    /// The agreed value.
    Value(Blob),
    /// Absent on a read quorum of drives that can vouch for it: copies
    /// elsewhere are leftovers of a removal.
    Absent,
    /// Neither: leave every copy alone.
    Undecided,
}

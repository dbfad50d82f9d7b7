//! Making a version visible: under the key's namespace lock each drive
//! renames the staged data directory into the object folder and atomically
//! replaces `obj.meta` (the commit point); [`DriveSet::finish_write`] rolls
//! it back below write quorum. Put, delete and attribute updates live here.
//!
//! [`DriveSet::finish_write`]: super::DriveSet::finish_write

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use uuid::Uuid;

use super::{object_info, Effect, Engine, Inline, Stored, MAX_OBJECT_SIZE};
use crate::api::{ByteStream, ObjectInfo, PutOptions, StoreError};
use crate::crash::crash_point;
use crate::drive::Drive;
use crate::keys::EncodedKey;
use crate::layout;
use crate::meta::{MetaPart, ObjectMeta, Timestamp};
use crate::quorum::write_quorum;
use crate::staging::Staging;

/// Fails unless every file in `names` is in the staging folder `tmp`.
fn require_staged(drive: &dyn Drive, tmp: &Path, names: &[String]) -> io::Result<()> {
    let staged: std::collections::HashSet<String> = drive
        .list_dir(tmp)?
        .into_iter()
        .filter(|entry| !entry.is_dir)
        .map(|entry| entry.name)
        .collect();
    match names.iter().find(|name| !staged.contains(*name)) {
        None => Ok(()),
        Some(missing) => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("staged shard {} is missing", tmp.join(missing).display()),
        )),
    }
}

impl Engine {
    /// Commits a new object version: data dirs into place, then `obj.meta`
    /// on every drive; rolls back below write quorum; removes the old data.
    pub async fn commit_object(
        &self,
        bucket: &str,
        key: &EncodedKey,
        meta: ObjectMeta,
        stored: Stored,
    ) -> Result<(), StoreError> {
        let _bucket = self.bucket_locks.shared(bucket).await;
        let _guard = self.locks.lock(bucket, key.key()).await;
        if let Err(err) = self.require_writable_bucket(bucket) {
            if let Stored::Files { tmp_dir, .. } = &stored {
                self.remove_tmp(tmp_dir.clone()).await;
            }
            return Err(err);
        }
        self.commit_object_locked(bucket, key, meta, stored).await
    }

    /// [`Engine::commit_object`] for callers that hold the bucket lock shared
    /// and the key lock.
    pub async fn commit_object_locked(
        &self,
        bucket: &str,
        key: &EncodedKey,
        meta: ObjectMeta,
        stored: Stored,
    ) -> Result<(), StoreError> {
        let object_dir = layout::object_dir(bucket, key);
        let meta_path = object_dir.join(layout::OBJECT_META_FILE);
        let new_data_dir = meta.data_dir;
        let mut encoded: Vec<Option<Vec<u8>>> = Vec::with_capacity(self.drives.len());
        let mut tmp_to_move: Option<Staging> = None;
        let mut meta = meta;
        meta.home = Some(crate::meta::record_home(bucket, key.key()));
        for position in 0..self.drives.len() {
            let mut drive_meta = meta.clone();
            drive_meta.erasure.index = meta.erasure.distribution[position];
            match &stored {
                Stored::Inline(shards) => {
                    drive_meta.inline = Some(shards[usize::from(drive_meta.erasure.index)].clone());
                    encoded.push(Some(drive_meta.encode()));
                }
                Stored::Files {
                    tmp_dir, written, ..
                } => {
                    tmp_to_move = Some(tmp_dir.clone());
                    encoded.push(written[position].then(|| drive_meta.encode()));
                }
            }
        }
        let encoded = Arc::new(encoded);
        let data_dir_path = new_data_dir.map(|id| object_dir.join(layout::data_dir_name(id)));
        let name_files = segment_name_files(bucket, key);
        let bucket_dir = layout::bucket_dir(bucket);
        let shard_files: Arc<Vec<String>> = Arc::new(
            meta.parts
                .iter()
                .map(|part| layout::part_file_name(part.number))
                .collect(),
        );
        // Listings read this key from the drives until the write succeeds.
        self.list_index.unsettle(bucket, key.key());
        let results = {
            let encoded = encoded.clone();
            let meta_path = meta_path.clone();
            let tmp_to_move = tmp_to_move.clone();
            let data_dir_path = data_dir_path.clone();
            self.drives
                .each_drive(move |position, drive| {
                    let Some(bytes) = &encoded[position] else {
                        return Err(io::Error::other("this drive has no shard of the object"));
                    };
                    let attempt = || -> io::Result<Option<Vec<u8>>> {
                        ensure_segment_names(drive, &name_files)?;
                        if let (Some(tmp), Some(target)) = (&tmp_to_move, &data_dir_path) {
                            // A data dir goes in only with every shard file
                            // its metadata names: staging that lost a file
                            // fails this drive's part of the write (a missed
                            // write the heal fills), never commits a version
                            // this drive cannot serve.
                            require_staged(drive, tmp, &shard_files)?;
                            // `write_atomic_beside` of obj.meta below fsyncs this same
                            // object directory: one fsync for both entries.
                            drive.rename_unsynced(tmp, target)?;
                        }
                        let old = match drive.read_file(&meta_path) {
                            Ok(old) => Some(old),
                            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
                            Err(err) => return Err(err),
                        };
                        drive.write_atomic_beside(&meta_path, bytes)?;
                        Ok(old)
                    };
                    let old = match attempt() {
                        Ok(old) => old,
                        // Writes never create a bucket root by themselves (it
                        // could be one DeleteBucket just removed); here the caller
                        // holds the bucket lock and saw the bucket, so a missing
                        // root is a drive that lacks it (fresh or wiped).
                        Err(err) if !drive.exists(&bucket_dir).unwrap_or(true) => {
                            drive.mkdir_all(&bucket_dir).map_err(|_| err)?;
                            attempt()?
                        }
                        Err(err) => return Err(err),
                    };
                    crash_point!("after_first_meta_rename");
                    Ok(old)
                })
                .await
        };
        let needed = write_quorum(
            usize::from(meta.erasure.data),
            usize::from(meta.erasure.parity),
        );
        let rollback_dir = object_dir.clone();
        let rollback_tmp = tmp_to_move.clone();
        let results = self
            .drives
            .finish_write(results, needed, Effect::Visible, |results| async move {
                let bucket_dir = layout::bucket_dir(bucket);
                self.drives
                    .each_drive(move |position, drive| {
                        if let Ok(old) = &results[position] {
                            match old {
                                Some(old) => drive.write_atomic_beside(&meta_path, old)?,
                                None => drive.remove_file(&meta_path)?,
                            }
                        }
                        if let Some(data_dir) = &data_dir_path {
                            drive.remove_dir_all(data_dir)?;
                        }
                        prune_empty_dirs(drive, &rollback_dir, &bucket_dir);
                        Ok(())
                    })
                    .await;
                if let Some(tmp) = rollback_tmp {
                    self.remove_tmp(tmp).await;
                }
            })
            .await?;
        // Before the write is acknowledged and under the key's lock: the
        // listing index never misses a visible key (`list_index.rs`).
        self.list_index
            .insert(bucket, key.key(), crate::list_index::Facts::of(&meta));
        crash_point!("before_old_data_removal");
        // Every data dir but the new one is garbage now: the old version's,
        // and any left by a crash (between a data rename and its metadata
        // commit, or before an old version's removal).
        let keep = new_data_dir.map(layout::data_dir_name);
        let committed_on: Vec<bool> = results.iter().map(|r| r.is_ok()).collect();
        let tmp = tmp_to_move.filter(|_| committed_on.iter().any(|ok| !ok));
        self.drives
            .each_drive(move |position, drive| {
                if committed_on[position] {
                    remove_data_dirs_except(drive, &object_dir, keep.as_deref())?;
                }
                if let Some(tmp) = &tmp {
                    drive.remove_dir_all(tmp)?;
                }
                Ok(())
            })
            .await;
        if results.iter().any(|r| r.is_err()) {
            self.heal_queue.push(bucket, key.key());
        }
        Ok(())
    }

    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: ByteStream,
        opts: PutOptions,
    ) -> Result<ObjectInfo, StoreError> {
        self.require_bucket(bucket)?;
        let key = EncodedKey::new(key)?;
        self.drives.check_write_quorum()?;
        let distribution = self.distribution(bucket, key.key());
        let ingested = self
            .ingest(
                body,
                &opts,
                &distribution,
                layout::part_file_name(1),
                Inline::Allowed,
                MAX_OBJECT_SIZE,
            )
            .await?;
        let now = Timestamp::now();
        let etag = hex::encode(ingested.md5);
        let meta = ObjectMeta {
            meta_id: Uuid::new_v4(),
            size: ingested.size,
            etag: etag.clone(),
            mod_time: now,
            attributes: opts.attributes,
            checksum: ingested.checksum.clone(),
            erasure: self.erasure_info(distribution),
            parts: vec![MetaPart {
                number: 1,
                size: ingested.size,
                etag,
                mod_time: now,
                checksum: ingested.checksum,
            }],
            multipart_parts: 0,
            home: None,
            data_dir: match ingested.stored {
                Stored::Inline(_) => None,
                Stored::Files { .. } => Some(Uuid::new_v4()),
            },
            inline: None,
        };
        let info = object_info(bucket, key.key(), &meta);
        self.commit_object(bucket, &key, meta, ingested.stored)
            .await?;
        Ok(info)
    }

    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        self.require_bucket(bucket)?;
        let key = EncodedKey::new(key)?;
        self.drives.check_write_quorum()?;
        let _bucket = self.bucket_locks.shared(bucket).await;
        let _guard = self.locks.lock(bucket, key.key()).await;
        self.require_writable_bucket(bucket)?;
        let object_dir = layout::object_dir(bucket, &key);
        let bucket_dir = layout::bucket_dir(bucket);
        self.list_index.unsettle(bucket, key.key());
        let results = self
            .drives
            .each_drive(move |_, drive| {
                let meta_path = object_dir.join(layout::OBJECT_META_FILE);
                let existed = drive.exists(&meta_path)?;
                drive.remove_file(&meta_path)?;
                if existed {
                    drive.fsync_dir(&object_dir)?;
                }
                remove_data_dirs_except(drive, &object_dir, None)?;
                prune_empty_dirs(drive, &object_dir, &bucket_dir);
                Ok(existed)
            })
            .await;
        // A delete cannot be undone below quorum; the drives that missed it
        // get a marker, and the heal walk removes what they still hold.
        self.drives.finish_final_write(results).await?;
        self.list_index.remove(bucket, key.key());
        Ok(())
    }

    pub async fn update_attributes(
        &self,
        bucket: &str,
        key: &str,
        attributes: crate::api::ObjectAttributes,
    ) -> Result<ObjectInfo, StoreError> {
        self.rewrite_meta(bucket, key, move |meta| {
            meta.mod_time = Timestamp::now();
            meta.attributes = attributes;
        })
        .await
    }

    /// Replaces an object's tags under its lock, keeping its Last-Modified
    /// (S3: tagging is a sub-resource, not a new version of the object) —
    /// all but one nanosecond: the record must still order after the one it
    /// replaces, since quorum reads tell newer from older by
    /// (`mod_time`, `meta_id`) (quorum.rs, `could_have_been_acknowledged`).
    pub async fn update_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: std::collections::BTreeMap<String, String>,
    ) -> Result<ObjectInfo, StoreError> {
        self.rewrite_meta(bucket, key, move |meta| {
            meta.mod_time = meta.mod_time.next();
            meta.attributes.tags = tags;
        })
        .await
    }

    /// Rewrites the agreed `obj.meta` of an object with `change` applied,
    /// leaving its data alone; a new `meta_id` marks the new record.
    async fn rewrite_meta(
        &self,
        bucket: &str,
        key: &str,
        change: impl FnOnce(&mut crate::meta::ObjectMeta) + Send,
    ) -> Result<ObjectInfo, StoreError> {
        self.require_bucket(bucket)?;
        let key = EncodedKey::new(key)?;
        self.drives.check_write_quorum()?;
        let _bucket = self.bucket_locks.shared(bucket).await;
        let _guard = self.locks.lock(bucket, key.key()).await;
        self.require_writable_bucket(bucket)?;
        let (agreed, reads) = self.agreed_meta(bucket, &key).await?;
        let mut updated = agreed.meta.clone();
        updated.meta_id = Uuid::new_v4();
        updated.home = Some(crate::meta::record_home(bucket, key.key()));
        change(&mut updated);
        let per_drive: Vec<Option<Vec<u8>>> = reads
            .iter()
            .zip(&agreed.holders)
            .map(|(read, holds)| {
                let own = read.found().filter(|_| *holds)?;
                let mut drive_meta = updated.clone();
                drive_meta.erasure.index = own.erasure.index;
                drive_meta.inline = own.inline.clone();
                Some(drive_meta.encode())
            })
            .collect();
        let per_drive = Arc::new(per_drive);
        let meta_path = layout::object_meta_path(bucket, &key);
        self.list_index.unsettle(bucket, key.key());
        let results = {
            let meta_path = meta_path.clone();
            self.drives
                .each_drive(move |position, drive| match &per_drive[position] {
                    Some(bytes) => {
                        let old = drive.read_file(&meta_path)?;
                        drive.write_atomic_beside(&meta_path, bytes)?;
                        Ok(old)
                    }
                    None => Err(io::Error::other("drive does not hold the object")),
                })
                .await
        };
        let needed = write_quorum(
            usize::from(updated.erasure.data),
            usize::from(updated.erasure.parity),
        );
        let results = self
            .drives
            .finish_write(results, needed, Effect::Visible, |results| async move {
                // Like a failed commit: put the previous version back where
                // the update landed, so it cannot outvote the acknowledged one.
                self.drives
                    .each_drive(move |position, drive| match &results[position] {
                        Ok(old) => drive.write_atomic_beside(&meta_path, old),
                        Err(_) => Ok(()),
                    })
                    .await;
            })
            .await?;
        self.list_index
            .insert(bucket, key.key(), crate::list_index::Facts::of(&updated));
        if results.iter().any(|r| r.is_err()) {
            self.heal_queue.push(bucket, key.key());
        }
        Ok(object_info(bucket, key.key(), &updated))
    }
}

/// Removes the data folders (`d.<id>`) of an object folder except `keep`,
/// and the `obj.meta` temp files a crash left there (blocking); returns
/// whether it removed any. The one rule for old versions' data and what a
/// crash left: every commit, delete and heal uses it, holding the key's
/// lock, which every writer of the folder's `obj.meta` holds too, so no
/// temp file found here is a live write's (`Drive::write_atomic_beside`).
pub(crate) fn remove_data_dirs_except(
    drive: &dyn Drive,
    object_dir: &Path,
    keep: Option<&str>,
) -> io::Result<bool> {
    let mut removed = false;
    for entry in drive.list_dir(object_dir)? {
        if entry.is_dir
            && entry.name.starts_with(layout::DATA_DIR_PREFIX)
            && Some(entry.name.as_str()) != keep
        {
            drive.remove_dir_all(&object_dir.join(&entry.name))?;
            removed = true;
        } else if !entry.is_dir && layout::is_meta_temp(&entry.name) {
            drive.remove_file(&object_dir.join(&entry.name))?;
            removed = true;
        }
    }
    Ok(removed)
}

/// `segment.name` blobs a key's hashed long segments need (paths relative
/// to the drive root).
pub(crate) fn segment_name_files(bucket: &str, key: &EncodedKey) -> Vec<(PathBuf, Vec<u8>)> {
    key.long_segments()
        .into_iter()
        .map(|(dir, text)| {
            (
                layout::bucket_dir(bucket)
                    .join(dir)
                    .join(layout::SEGMENT_NAME_FILE),
                crate::meta::Blob::new(Bytes::copy_from_slice(text.as_bytes())).encode(),
            )
        })
        .collect()
}

/// Writes missing `segment.name` blobs (blocking).
pub(crate) fn ensure_segment_names(
    drive: &dyn Drive,
    files: &[(PathBuf, Vec<u8>)],
) -> io::Result<()> {
    for (path, bytes) in files {
        if !drive.exists(path)? {
            drive.write_atomic(path, bytes)?;
        }
    }
    Ok(())
}

/// Removes `dir` and its empty parents up to (not including) `stop`.
pub(crate) fn prune_empty_dirs(drive: &dyn Drive, dir: &Path, stop: &Path) {
    let mut current = Some(dir);
    while let Some(path) = current {
        if path == stop || !path.starts_with(stop) || path.as_os_str().is_empty() {
            break;
        }
        // Hashed long-segment folders keep their name blob and are never
        // removed: a concurrent write of a sibling key may need them.
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(crate::keys::is_long_segment)
        {
            break;
        }
        match drive.remove_empty_dir(path) {
            Ok(true) => {}
            _ => break,
        }
        current = path.parent();
    }
}

//! Healing open multipart uploads: the upload record, and per part its
//! record and shard, re-encoded onto drives that lack them; upload folders
//! no agreed record backs (an abort or complete a drive missed) removed.

use std::io;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use crate::drive::{Drive, ShardReader, ShardWriter};
use crate::engine::Engine;
use crate::keys::EncodedKey;
use crate::layout;
use crate::meta::{encode_record, PartMeta, UploadMeta};
use crate::multipart::{agree, AgreedUpload, Held};
use crate::quorum::DriveRead;

impl Engine {
    /// Removes an upload folder no agreed record backs, when a read quorum
    /// of drives that can vouch for it lack the record: what an abort or a
    /// complete left on a drive that missed it.
    async fn remove_upload_leftover(&self, bucket: &str, upload_id: &str) {
        let path = layout::upload_meta_path(bucket, upload_id);
        let reads = self.read_records::<UploadMeta>(path.clone()).await;
        let key = reads.iter().find_map(|r| r.found().map(|u| u.key.clone()));
        // Create, complete and abort hold the key lock while they write.
        let _bucket = self.bucket_locks.shared(bucket).await;
        // A folder without any record may be a create that has not
        // written yet: only folders whose record names a key are judged.
        let Some(key) = key else { return };
        let _guard = self.locks.lock(bucket, &key).await;
        let reads = self.read_records::<UploadMeta>(path).await;
        if agree(&reads, self.data).is_some() {
            return;
        }
        let marked = self.drives.missed_drives();
        let missing = reads
            .iter()
            .enumerate()
            .filter(|(p, r)| matches!(r, DriveRead::NotFound) && !marked.contains(p))
            .count();
        if missing < self.data {
            return;
        }
        let dir = layout::upload_dir(bucket, upload_id);
        self.drives
            .each_drive(move |_, drive| drive.remove_dir_all(&dir))
            .await;
        tracing::info!(
            bucket,
            upload = upload_id,
            "removed an upload a drive kept after it ended"
        );
    }

    /// Rebuilds in-progress uploads of `bucket` on drives that lack them (a
    /// replaced drive): the upload record, and per part its record and its
    /// shard, re-encoded from the other drives. Returns the parts rebuilt.
    pub async fn heal_uploads(&self, bucket: &str) -> u64 {
        let mut rebuilt = 0;
        for id in self.upload_ids(bucket).await {
            let Some(AgreedUpload { key, .. }) = self.agreed_upload(bucket, &id).await else {
                self.remove_upload_leftover(bucket, &id).await;
                continue;
            };
            let Ok(key) = EncodedKey::new(&key) else {
                continue;
            };
            // Complete and abort hold the key lock: the upload cannot go
            // away (and be resurrected here) while it is healed.
            let _bucket = self.bucket_locks.shared(bucket).await;
            let _guard = self.locks.lock(bucket, key.key()).await;
            if self.require_writable_bucket(bucket).is_err() {
                return rebuilt;
            }
            let Some(agreed) = self.agreed_upload(bucket, &id).await else {
                continue;
            };
            let path = layout::upload_meta_path(bucket, &id);
            let encoded = Arc::new(agreed.record);
            let holders = Arc::new(agreed.holders);
            self.drives
                .each_drive(move |position, drive| {
                    if !holders[position] {
                        drive.write_atomic(&path, &encoded)?;
                    }
                    Ok(())
                })
                .await;
            for number in self.part_numbers(bucket, &id).await.0 {
                let Some(Held {
                    value: part,
                    holders,
                }) = self.read_part(bucket, &id, number).await
                else {
                    continue;
                };
                let drives: Vec<Option<Arc<dyn Drive>>> = self.drives.online_slots();
                if !drives
                    .iter()
                    .zip(&holders)
                    .any(|(drive, holds)| drive.is_some() && !holds)
                {
                    continue;
                }
                let Ok(codec) = self.codec_for(&part.erasure) else {
                    continue;
                };
                let (bucket_owned, id_owned) = (bucket.to_owned(), id.clone());
                let tmp = self.staging.claim();
                let outcome = self
                    .drives
                    .blocking(move || {
                        rebuild_part_shards(
                            &tmp,
                            &codec,
                            &drives,
                            &holders,
                            &part,
                            &bucket_owned,
                            &id_owned,
                        )
                    })
                    .await;
                match outcome {
                    Ok(Ok(count)) => rebuilt += count,
                    Ok(Err(err)) => {
                        tracing::warn!(bucket, upload = %id, number, "cannot heal part: {err}")
                    }
                    Err(err) => {
                        tracing::warn!(bucket, upload = %id, number, "cannot heal part: {err}")
                    }
                }
            }
        }
        rebuilt
    }
}

/// Re-encodes one part's shard onto the online drives that lack it, from the
/// holders' shard files (blocking). Returns how many drives got it.
fn rebuild_part_shards(
    tmp: &Path,
    codec: &erasure::ErasureCodec,
    drives: &[Option<Arc<dyn Drive>>],
    holders: &[bool],
    part: &PartMeta,
    bucket: &str,
    upload_id: &str,
) -> io::Result<u64> {
    let number = part.part.number;
    let data_path = layout::upload_part_data_path(bucket, upload_id, number, part.data_id);
    let distribution = &part.erasure.distribution;
    let mut sources: Vec<Option<Box<dyn ShardReader>>> =
        (0..codec.total_shards()).map(|_| None).collect();
    for (position, drive) in drives.iter().enumerate() {
        if let (Some(drive), true) = (drive, holders[position]) {
            sources[usize::from(distribution[position])] = drive.open_read(&data_path).ok();
        }
    }
    let mut targets: Vec<(usize, Box<dyn ShardWriter>)> = Vec::new();
    for (position, drive) in drives.iter().enumerate() {
        if let (Some(drive), false) = (drive, holders[position]) {
            let created = drive
                .mkdir_staging(tmp)
                .and_then(|()| drive.create_file(&tmp.join(position.to_string())));
            if let Ok(file) = created {
                targets.push((position, file));
            }
        }
    }
    let size = part.part.size;
    let copied = (|| -> io::Result<()> {
        for block in 0..codec.block_count(size) {
            let block_len = codec.block_len(size, block);
            let frame_len = codec.frame_len(block_len);
            let offset = codec.frame_offset(size, block);
            let framed: Vec<Option<Bytes>> = sources
                .iter()
                .map(|file| {
                    let file = file.as_ref()?;
                    file.read_exact_at(offset, frame_len).ok().map(Bytes::from)
                })
                .collect();
            let healed = codec
                .heal_block(&framed, block_len)
                .map_err(|e| io::Error::other(e.to_string()))?;
            for (position, file) in &targets {
                file.write_all(healed.frames[usize::from(distribution[*position])].clone())?;
            }
        }
        Ok(())
    })();
    if let Err(err) = copied {
        // A part that cannot be rebuilt (too few intact shards) leaves no
        // staging files: nothing else removes them before the next start.
        for (position, file) in targets {
            drop(file);
            if let Some(drive) = &drives[position] {
                let _ = drive.remove_dir_all(tmp);
            }
        }
        return Err(err);
    }
    let mut rebuilt = 0;
    let meta_path = layout::upload_part_meta_path(bucket, upload_id, number);
    for (position, file) in targets {
        let drive = drives[position].as_ref().expect("target online");
        let result = (|| {
            file.sync_all()?;
            drop(file);
            drive.rename(&tmp.join(position.to_string()), &data_path)?;
            let mut meta = part.clone();
            meta.erasure.index = distribution[position];
            drive.write_atomic(&meta_path, &encode_record(&meta, None))
        })();
        let _ = drive.remove_dir_all(tmp);
        match result {
            Ok(()) => rebuilt += 1,
            Err(err) => {
                tracing::warn!(drive = %drive.root().display(), "cannot heal a part: {err}")
            }
        }
    }
    Ok(rebuilt)
}

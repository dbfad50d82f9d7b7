//! Healing one object: read its metadata from every drive, scrub every
//! block of the agreed version, rebuild the shards and metadata of drives
//! that lack them or hold damaged ones, and remove what no version refers
//! to (leftovers of deletes a drive missed, data folders a crash left).

use std::collections::HashSet;

use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use erasure::ErasureCodec;

use crate::api::{HealReport, StoreError};
use crate::drive::{Drive, ShardWriter};
use crate::engine::{
    decode_inline, ensure_segment_names, internal, prune_empty_dirs, remove_data_dirs_except,
    segment_name_files, Engine, ShardSources,
};
use crate::keys::EncodedKey;
use crate::layout;
use crate::meta::ObjectMeta;
use crate::quorum::{pick_object_meta_excluding, DriveRead};
use crate::staging::Staging;

/// What healing one object did, and the object's size (for progress).
#[derive(Debug, Default)]
pub(crate) struct ObjectHealed {
    pub report: HealReport,
    pub size: u64,
}

/// What a repair rewrote.
#[derive(Debug, Default)]
struct Repaired {
    /// Drive positions whose shard and metadata were rewritten.
    rewritten: Vec<usize>,
    /// How many drives needed a rewrite.
    needed: usize,
    /// Framed shard bytes written.
    bytes: u64,
}

/// The blocking part of an object heal: scrub every block, then rebuild
/// the shards of `targets` (plus any holder found damaged).
struct ObjectRepair {
    codec: ErasureCodec,
    meta: ObjectMeta,
    drives: Vec<Option<Arc<dyn Drive>>>,
    holders: Vec<bool>,
    inline_streams: Vec<Option<Bytes>>,
    data_dir: Option<PathBuf>,
    object_dir: PathBuf,
    name_files: Vec<(PathBuf, Vec<u8>)>,
    /// [`crate::meta::record_home`] of the object.
    home: u64,
    /// Where rebuilt shards are staged; owned while the repair runs.
    tmp: Staging,
}

impl ObjectRepair {
    fn sources(&self) -> Vec<ShardSources> {
        let total = self.codec.total_shards();
        let mut by_shard: Vec<Option<usize>> = vec![None; total];
        for (position, holds) in self.holders.iter().enumerate() {
            if *holds {
                by_shard[usize::from(self.meta.erasure.distribution[position])] = Some(position);
            }
        }
        let numbers: Vec<u32> = self.meta.parts.iter().map(|p| p.number).collect();
        by_shard
            .into_iter()
            .map(|position| match &self.data_dir {
                None => ShardSources::Inline(position.and_then(|p| self.inline_streams[p].clone())),
                Some(dir) => ShardSources::open_files(
                    position.and_then(|p| self.drives[p].clone()),
                    dir,
                    &numbers,
                ),
            })
            .collect()
    }

    /// The inline shard streams, by shard index (holders only).
    fn inline_by_shard(&self) -> Vec<Option<Bytes>> {
        let mut streams = vec![None; self.codec.total_shards()];
        for (position, holds) in self.holders.iter().enumerate() {
            if *holds {
                streams[usize::from(self.meta.erasure.distribution[position])] =
                    self.inline_streams[position].clone();
            }
        }
        streams
    }

    /// The framed shard streams of a single-part object's bytes.
    fn encode_inline(&self, bytes: &Bytes) -> Result<Vec<Bytes>, StoreError> {
        let mut streams: Vec<BytesMut> = vec![BytesMut::new(); self.codec.total_shards()];
        let size = bytes.len() as u64;
        for block in 0..self.codec.block_count(size) {
            let start = self.codec.block_offset(block) as usize;
            let end = start + self.codec.block_len(size, block);
            let frames = self
                .codec
                .encode_block(&bytes[start..end])
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            for (stream, frame) in streams.iter_mut().zip(frames) {
                stream.extend_from_slice(&frame);
            }
        }
        Ok(streams.into_iter().map(BytesMut::freeze).collect())
    }

    /// Calls `each(part index, healed frames, rebuilt indices)` per block.
    fn for_each_block(
        &self,
        mut each: impl FnMut(usize, &[Bytes], &[usize]) -> std::io::Result<()>,
    ) -> Result<(), StoreError> {
        let mut sources = self.sources();
        let total = self.codec.total_shards();
        for (part_index, part) in self.meta.parts.iter().enumerate() {
            for block in 0..self.codec.block_count(part.size) {
                let block_len = self.codec.block_len(part.size, block);
                let frame_len = self.codec.frame_len(block_len);
                let offset = self.codec.frame_offset(part.size, block);
                let framed: Vec<Option<Bytes>> = (0..total)
                    .map(|shard| sources[shard].read_frame(part_index, offset, frame_len))
                    .collect();
                let healed = self
                    .codec
                    .heal_block(&framed, block_len)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                each(part_index, &healed.frames, &healed.rebuilt).map_err(StoreError::Io)?;
            }
            for source in sources.iter_mut() {
                source.close_part(part_index);
            }
        }
        Ok(())
    }

    fn run(&self) -> Result<Repaired, StoreError> {
        let mut bad_shards: HashSet<usize> = HashSet::new();
        self.for_each_block(|_, _, rebuilt| {
            bad_shards.extend(rebuilt);
            Ok(())
        })?;
        // An inline object's shards are re-encoded from its decoded bytes,
        // and a holder whose stream differs from its re-encoded shard is
        // rewritten too (a valid frame can still be the wrong one).
        let verified = match &self.data_dir {
            None if self.meta.parts.len() == 1 => {
                let streams = self.inline_by_shard();
                let (bytes, _) = decode_inline(&self.codec, &self.meta, &streams)?;
                let expected = self.encode_inline(&bytes)?;
                for (shard, stream) in streams.iter().enumerate() {
                    if stream.as_ref() != Some(&expected[shard]) {
                        bad_shards.insert(shard);
                    }
                }
                Some(expected)
            }
            _ => None,
        };
        let targets: Vec<usize> = (0..self.drives.len())
            .filter(|&p| self.drives[p].is_some())
            .filter(|&p| {
                !self.holders[p]
                    || bad_shards.contains(&usize::from(self.meta.erasure.distribution[p]))
            })
            .collect();
        if targets.is_empty() {
            return Ok(Repaired::default());
        }
        let tmp = &self.tmp;
        let mut rebuilt_bytes = 0u64;
        let mut inline_out: Vec<BytesMut> = targets.iter().map(|_| BytesMut::new()).collect();
        let mut files: Vec<Option<(usize, Box<dyn ShardWriter>)>> =
            targets.iter().map(|_| None).collect();
        let mut ok: Vec<bool> = vec![true; targets.len()];
        if let Some(expected) = &verified {
            for (slot, &position) in targets.iter().enumerate() {
                let shard = usize::from(self.meta.erasure.distribution[position]);
                inline_out[slot].extend_from_slice(&expected[shard]);
                rebuilt_bytes += expected[shard].len() as u64;
            }
        }
        self.for_each_block(|part_index, frames, _| {
            if verified.is_some() {
                return Ok(());
            }
            for (slot, &position) in targets.iter().enumerate() {
                if !ok[slot] {
                    continue;
                }
                let frame = &frames[usize::from(self.meta.erasure.distribution[position])];
                rebuilt_bytes += frame.len() as u64;
                if self.data_dir.is_none() {
                    inline_out[slot].extend_from_slice(frame);
                    continue;
                }
                let drive = self.drives[position].as_ref().expect("target online");
                let result = (|| {
                    if files[slot].as_ref().map(|(p, _)| *p) != Some(part_index) {
                        if let Some((_, file)) = files[slot].take() {
                            file.sync_all()?;
                        }
                        let number = self.meta.parts[part_index].number;
                        let path = tmp
                            .join(position.to_string())
                            .join(layout::part_file_name(number));
                        if let Some(parent) = path.parent() {
                            drive.mkdir_staging(parent)?;
                        }
                        files[slot] = Some((part_index, drive.create_file(&path)?));
                    }
                    files[slot]
                        .as_ref()
                        .expect("open")
                        .1
                        .write_all(frame.clone())
                })();
                if result.is_err() {
                    ok[slot] = false;
                }
            }
            Ok(())
        })?;
        for (_, file) in files.into_iter().flatten() {
            let _ = file.sync_all();
        }
        let mut rewritten = Vec::new();
        let meta_path = self.object_dir.join(layout::OBJECT_META_FILE);
        for (slot, &position) in targets.iter().enumerate() {
            let drive = self.drives[position].as_ref().expect("target online");
            let result = (|| -> std::io::Result<()> {
                if !ok[slot] {
                    return Err(std::io::Error::other("shard write failed"));
                }
                // The caller holds the bucket lock and saw the bucket: a
                // drive without its root (fresh) gets it back here.
                drive.mkdir_all(&self.object_dir)?;
                ensure_segment_names(drive.as_ref(), &self.name_files)?;
                let mut meta = self.meta.clone();
                meta.home = Some(self.home);
                meta.erasure.index = self.meta.erasure.distribution[position];
                if let Some(data_dir) = &self.data_dir {
                    let staged = tmp.join(position.to_string());
                    drive.fsync_dir(&staged)?;
                    drive.mkdir_all(data_dir)?;
                    for part in &self.meta.parts {
                        let name = layout::part_file_name(part.number);
                        drive.rename(&staged.join(&name), &data_dir.join(&name))?;
                    }
                    meta.inline = None;
                } else {
                    meta.inline = Some(inline_out[slot].clone().freeze());
                }
                // Data folders of other versions go after the rewrite, on
                // every drive (see `heal_object_data`).
                drive.write_atomic_beside(&meta_path, &meta.encode())
            })();
            match result {
                Ok(()) => rewritten.push(position),
                Err(err) => tracing::warn!(
                    drive = %drive.root().display(),
                    "heal could not rewrite a shard: {err}"
                ),
            }
            let _ = drive.remove_dir_all(tmp);
        }
        Ok(Repaired {
            rewritten,
            needed: targets.len(),
            bytes: rebuilt_bytes,
        })
    }
}

impl ShardSources {
    fn read_frame(&mut self, part_index: usize, offset: u64, len: usize) -> Option<Bytes> {
        self.read_at(part_index, offset, len)
    }
}

impl Engine {
    /// Heals one object, and first its bucket's records on every drive.
    pub async fn heal_object(&self, bucket: &str, key: &str) -> Result<HealReport, StoreError> {
        self.heal_bucket(bucket).await?;
        Ok(self.heal_object_data(bucket, key).await?.report)
    }

    pub(crate) async fn heal_object_data(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<ObjectHealed, StoreError> {
        self.require_bucket(bucket)?;
        let key = EncodedKey::new(key)?;
        let _bucket = self.bucket_locks.shared(bucket).await;
        let mut guard = self.locks.lock(bucket, key.key()).await;
        self.require_writable_bucket(bucket)?;
        let mut report = HealReport {
            objects_scanned: 1,
            ..Default::default()
        };
        let reads = self.read_metas(bucket, &key).await;
        let object_dir = layout::object_dir(bucket, &key);
        // Dangling versions (metadata without enough shard files to ever
        // decode) are skipped: the newest version that decodes is healed
        // onto every drive, and the dangling ones' folders go with the other
        // leftovers below.
        let mut dangling = Vec::new();
        let picked = loop {
            match pick_object_meta_excluding(&reads, bucket, key.key(), &dangling) {
                Ok(agreed) if self.is_dangling(bucket, &key, &agreed, &reads).await => {
                    tracing::info!(
                        bucket,
                        key = key.key(),
                        version = %agreed.meta.meta_id,
                        "discarding a dangling version (too few shard files to decode)"
                    );
                    dangling.push(agreed.meta.meta_id);
                }
                other => break other,
            }
        };
        let agreed = match picked {
            Ok(agreed) => {
                // A readable object is listed, whatever wrote it; its listed
                // facts are read from the drives after the repair (`list_index.rs`).
                self.list_index.unsettle(bucket, key.key());
                agreed
            }
            Err(StoreError::NoSuchKey { .. }) => {
                // Leftovers of a deleted or never-committed object, or only
                // dangling versions. The quorum rule answers NoSuchKey only
                // when no version can be read now nor once unknown drives
                // answer (a version is dangling only when every drive
                // answered), so nothing here can ever be served: all of it
                // goes, however few drives say "absent" (two crashed first
                // writes can leave one version each on two drives). Data
                // folders of a write that crashed before its metadata commit
                // go too; the key lock excludes live writes.
                let leftovers = reads
                    .iter()
                    .filter(|r| matches!(r, DriveRead::Found(_) | DriveRead::Corrupt))
                    .count();
                let bucket_dir = layout::bucket_dir(bucket);
                let removed = self
                    .drives
                    .each_drive(move |_, drive| {
                        let had_meta = drive.exists(&object_dir.join(layout::OBJECT_META_FILE))?;
                        drive.remove_file(&object_dir.join(layout::OBJECT_META_FILE))?;
                        let had_data = remove_data_dirs_except(drive, &object_dir, None)?;
                        prune_empty_dirs(drive, &object_dir, &bucket_dir);
                        Ok(had_meta || had_data)
                    })
                    .await;
                // Nothing here can be served: no listing may show it.
                self.list_index.remove(bucket, key.key());
                if leftovers > 0 || removed.iter().any(|r| matches!(r, Ok(true))) {
                    report.objects_healed = 1;
                }
                return Ok(ObjectHealed { report, size: 0 });
            }
            Err(err) => {
                report.objects_failed = 1;
                tracing::warn!(bucket, key = key.key(), "cannot heal: {err}");
                return Ok(ObjectHealed { report, size: 0 });
            }
        };
        let meta = agreed.meta.clone();
        let size = meta.size;
        let repair = ObjectRepair {
            codec: self.codec_for(&meta.erasure)?,
            drives: self.drives.online_slots(),
            holders: agreed.holders.clone(),
            inline_streams: reads
                .iter()
                .map(|r| r.found().and_then(|m| m.inline.clone()))
                .collect(),
            data_dir: meta
                .data_dir
                .map(|id| layout::data_dir_path(bucket, &key, id)),
            object_dir,
            name_files: segment_name_files(bucket, &key),
            home: crate::meta::record_home(bucket, key.key()),
            meta,
            tmp: self.staging.claim(),
        };
        let keep = agreed.meta.data_dir.map(layout::data_dir_name);
        let outcome = self
            .drives
            .blocking(move || repair.run())
            .await
            .map_err(|missed| internal(std::io::Error::from(missed)))?;
        // Data dirs no version refers to (a crash between the data rename
        // and the metadata commit) are garbage.
        let folder = layout::object_dir(bucket, &key);
        self.drives
            .each_drive(move |_, drive| remove_data_dirs_except(drive, &folder, keep.as_deref()))
            .await;
        if dangling.is_empty() && outcome.is_ok() {
            // The version every read agrees on went back where it was
            // missing: a cached copy of it is still what a read returns, so
            // a heal does not empty the cache under the foreground's GETs.
            // A discarded dangling version may have been cached (a HEAD
            // reads no shard), so then the entry goes.
            guard.served_unchanged();
        }
        match outcome {
            Ok(repaired) => {
                if !repaired.rewritten.is_empty() {
                    report.objects_healed = 1;
                    report.bytes_rebuilt = repaired.bytes;
                }
                if repaired.rewritten.len() < repaired.needed {
                    // A drive that should have been rewritten was not: the
                    // object is not whole yet.
                    tracing::warn!(bucket, key = key.key(), "heal left a drive unrepaired");
                    report.objects_failed = 1;
                }
            }
            Err(err) => {
                tracing::warn!(bucket, key = key.key(), "cannot heal: {err}");
                report.objects_failed = 1;
            }
        }
        self.list_index.insert_unknown(bucket, key.key());
        Ok(ObjectHealed { report, size })
    }
}

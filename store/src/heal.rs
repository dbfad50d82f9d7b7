//! Healing: rebuild missing or corrupt shards and metadata of one object, of
//! a bucket prefix, or of everything (also bucket folders and settings on
//! fresh drives); and the background worker that drains the heal queue
//! which reads and writes fill when they notice a damaged or missing copy.

use std::collections::{HashSet, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use erasure::ErasureCodec;

use crate::api::{HealReport, StoreError};
use crate::drive::Drive;
use crate::engine::{internal, Engine, ShardSources};
use crate::keys::EncodedKey;
use crate::layout;
use crate::meta::ObjectMeta;
use crate::quorum::{pick_object_meta, DriveRead};

/// Queued objects wait this long before the worker heals them, so a burst
/// of reads of one damaged object causes one heal, and foreground work
/// (including an explicit heal) goes first.
const HEAL_DELAY: Duration = Duration::from_secs(2);
/// Queue bound: further requests are dropped (a full heal finds them).
const MAX_QUEUED: usize = 100_000;
/// Keys per batch when walking a bucket for a heal.
const HEAL_BATCH: usize = 1000;

#[derive(Default)]
struct QueueState {
    pending: VecDeque<(String, String, Instant)>,
    queued: HashSet<(String, String)>,
}

/// Objects waiting for the background heal worker.
#[derive(Clone, Default)]
pub struct HealQueue {
    state: Arc<Mutex<QueueState>>,
    wake: Arc<tokio::sync::Notify>,
}

impl HealQueue {
    /// Queues an object (once; duplicates are ignored).
    pub fn push(&self, bucket: &str, key: &str) {
        let mut state = self.state.lock().expect("heal queue");
        if state.queued.len() >= MAX_QUEUED {
            return;
        }
        if state.queued.insert((bucket.to_owned(), key.to_owned())) {
            state
                .pending
                .push_back((bucket.to_owned(), key.to_owned(), Instant::now()));
            self.wake.notify_one();
        }
    }

    /// Objects waiting (tests check that healthy reads queue nothing).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.state.lock().expect("heal queue").queued.len()
    }

    fn pop(&self) -> Option<(String, String, Instant)> {
        self.state.lock().expect("heal queue").pending.pop_front()
    }

    fn done(&self, bucket: &str, key: &str) {
        self.state
            .lock()
            .expect("heal queue")
            .queued
            .remove(&(bucket.to_owned(), key.to_owned()));
    }
}

/// Starts the background heal worker; it stops when the store is dropped.
pub(crate) fn start_worker(inner: &Arc<Engine>) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    let weak: Weak<Engine> = Arc::downgrade(inner);
    let queue = inner.heal_queue.clone();
    tokio::spawn(async move {
        loop {
            match queue.pop() {
                None => {
                    let _ =
                        tokio::time::timeout(Duration::from_secs(1), queue.wake.notified()).await;
                    if weak.strong_count() == 0 {
                        return;
                    }
                }
                Some((bucket, key, at)) => {
                    tokio::time::sleep_until((at + HEAL_DELAY).into()).await;
                    let Some(inner) = weak.upgrade() else {
                        return;
                    };
                    queue.done(&bucket, &key);
                    match inner.heal_object_data(&bucket, &key).await {
                        Ok(report) if report.objects_healed > 0 => {
                            tracing::info!(%bucket, %key, "healed object")
                        }
                        Ok(_) => {}
                        Err(err) => tracing::warn!(%bucket, %key, "heal failed: {err}"),
                    }
                }
            }
        }
    });
}

/// At most one background pass over everything runs at a time; a request
/// while one runs makes it run once more when it ends (a drive that keeps
/// dropping out and coming back does not pile up passes).
#[derive(Default)]
pub(crate) struct FullHealState {
    running: AtomicBool,
    again: AtomicBool,
}

/// Starts the background heal walk after `delay` (fresh drives, drives
/// that came back, missed-write markers).
pub(crate) fn start_background_walk(inner: &Arc<Engine>, delay: Duration) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    let weak: Weak<Engine> = Arc::downgrade(inner);
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        loop {
            let Some(inner) = weak.upgrade() else { return };
            if inner.full_heal.running.swap(true, Ordering::SeqCst) {
                inner.full_heal.again.store(true, Ordering::SeqCst);
                return;
            }
            drop(inner);
            full_background_pass(&weak).await;
            let Some(inner) = weak.upgrade() else { return };
            inner.full_heal.running.store(false, Ordering::SeqCst);
            if !inner.full_heal.again.swap(false, Ordering::SeqCst) {
                return;
            }
        }
    });
}

/// Heals every bucket and object, then removes the missed-write markers a
/// complete pass without failures covered.
async fn full_background_pass(weak: &Weak<Engine>) {
    {
        let (buckets, missed) = match weak.upgrade() {
            Some(inner) => (
                inner
                    .list_buckets()
                    .into_iter()
                    .map(|b| b.name)
                    .collect::<Vec<_>>(),
                inner.drives.missed_writes_snapshot(),
            ),
            None => return,
        };
        let mut total = HealReport::default();
        // Whether every bucket and key was visited (a bucket deleted
        // meanwhile counts as visited).
        let mut complete = true;
        if let Some(inner) = weak.upgrade() {
            inner.heal_system_blobs().await;
        }
        for bucket in buckets {
            if let Some(inner) = weak.upgrade() {
                if inner.heal_bucket(&bucket).await.is_ok() {
                    inner.heal_uploads(&bucket).await;
                }
            }
            let mut start_after: Option<String> = None;
            loop {
                let Some(inner) = weak.upgrade() else { return };
                let keys = match inner.heal_bucket(&bucket).await {
                    Ok(_) => {
                        inner
                            .keys_on_any_drive(&bucket, "", start_after.clone(), HEAL_BATCH)
                            .await
                    }
                    Err(err) => Err(err),
                };
                let keys = match keys {
                    Ok(keys) => keys,
                    Err(StoreError::NoSuchBucket(_)) => break,
                    Err(err) => {
                        tracing::warn!(%bucket, "background heal skips the bucket: {err}");
                        complete = false;
                        break;
                    }
                };
                drop(inner);
                for key in &keys {
                    let Some(inner) = weak.upgrade() else { return };
                    match inner.heal_object_data(&bucket, key).await {
                        Ok(report) => add_report(&mut total, &report),
                        Err(StoreError::NoSuchBucket(_)) => {}
                        Err(_) => total.objects_failed += 1,
                    }
                }
                if keys.len() < HEAL_BATCH {
                    break;
                }
                start_after = keys.last().cloned();
            }
        }
        tracing::info!(?total, "background heal of fresh drives finished");
        if complete && total.objects_failed == 0 {
            if let Some(inner) = weak.upgrade() {
                inner.drives.clear_missed_writes(&missed).await;
            }
        }
    }
}

/// Accumulates report numbers.
pub(crate) fn add_report(total: &mut HealReport, one: &HealReport) {
    total.objects_scanned += one.objects_scanned;
    total.objects_healed += one.objects_healed;
    total.objects_failed += one.objects_failed;
    total.bytes_rebuilt += one.bytes_rebuilt;
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

    /// Returns (drive positions rewritten, bytes rebuilt).
    /// Returns the drives rewritten, how many drives needed a rewrite, and
    /// the bytes rebuilt.
    fn run(&self) -> Result<(Vec<usize>, usize, u64), StoreError> {
        let mut bad_shards: HashSet<usize> = HashSet::new();
        self.for_each_block(|_, _, rebuilt| {
            bad_shards.extend(rebuilt);
            Ok(())
        })?;
        let targets: Vec<usize> = (0..self.drives.len())
            .filter(|&p| self.drives[p].is_some())
            .filter(|&p| {
                !self.holders[p]
                    || bad_shards.contains(&usize::from(self.meta.erasure.distribution[p]))
            })
            .collect();
        if targets.is_empty() {
            return Ok((Vec::new(), 0, 0));
        }
        let tmp = layout::new_tmp_path();
        let mut rebuilt_bytes = 0u64;
        let mut inline_out: Vec<BytesMut> = targets.iter().map(|_| BytesMut::new()).collect();
        let mut files: Vec<Option<(usize, std::fs::File)>> = targets.iter().map(|_| None).collect();
        let mut ok: Vec<bool> = vec![true; targets.len()];
        self.for_each_block(|part_index, frames, _| {
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
                    files[slot].as_mut().expect("open").1.write_all(frame)
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
                crate::engine::ensure_segment_names(drive.as_ref(), &self.name_files)?;
                let mut meta = self.meta.clone();
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
                drive.write_atomic(&meta_path, &meta.encode())?;
                // Data directories of other versions are garbage now.
                let keep = self.meta.data_dir.map(layout::data_dir_name);
                for entry in drive.list_dir(&self.object_dir)? {
                    if entry.is_dir
                        && entry.name.starts_with(layout::DATA_DIR_PREFIX)
                        && Some(&entry.name) != keep.as_ref()
                    {
                        drive.remove_dir_all(&self.object_dir.join(&entry.name))?;
                    }
                }
                Ok(())
            })();
            match result {
                Ok(()) => rewritten.push(position),
                Err(err) => tracing::warn!(
                    drive = %drive.root().display(),
                    "heal could not rewrite a shard: {err}"
                ),
            }
            let _ = drive.remove_dir_all(&tmp);
        }
        Ok((rewritten, targets.len(), rebuilt_bytes))
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
        self.heal_object_data(bucket, key).await
    }

    async fn heal_object_data(&self, bucket: &str, key: &str) -> Result<HealReport, StoreError> {
        self.require_bucket(bucket)?;
        let key = EncodedKey::new(key)?;
        let _bucket = self.bucket_locks.shared(bucket).await;
        let _guard = self.locks.lock(bucket, key.key()).await;
        self.require_writable_bucket(bucket)?;
        let mut report = HealReport {
            objects_scanned: 1,
            ..Default::default()
        };
        let reads = self.read_metas(bucket, &key).await;
        let object_dir = layout::object_dir(bucket, &key);
        let agreed = match pick_object_meta(&reads, bucket, key.key()) {
            Ok(agreed) => agreed,
            Err(StoreError::NoSuchKey { .. }) => {
                // Leftovers of a deleted or never-committed object. The
                // quorum rule answers NoSuchKey only when no version can be
                // read now nor once unknown drives answer, so nothing here
                // can ever be served: all of it goes, however few drives
                // say "absent" (two crashed first writes can leave one
                // version each on two drives). Data folders of a write that
                // crashed before its metadata commit go too; the key lock
                // excludes live writes.
                let leftovers = reads
                    .iter()
                    .filter(|r| matches!(r, DriveRead::Found(_) | DriveRead::Corrupt))
                    .count();
                let bucket_dir = layout::bucket_dir(bucket);
                let removed = self
                    .drives
                    .each_drive(move |_, drive| {
                        let mut removed =
                            drive.exists(&object_dir.join(layout::OBJECT_META_FILE))?;
                        drive.remove_file(&object_dir.join(layout::OBJECT_META_FILE))?;
                        for entry in drive.list_dir(&object_dir)? {
                            if entry.is_dir && entry.name.starts_with(layout::DATA_DIR_PREFIX) {
                                drive.remove_dir_all(&object_dir.join(&entry.name))?;
                                removed = true;
                            }
                        }
                        crate::engine::prune_empty_dirs(drive, &object_dir, &bucket_dir);
                        Ok(removed)
                    })
                    .await;
                if leftovers > 0 || removed.iter().any(|r| matches!(r, Ok(true))) {
                    report.objects_healed = 1;
                }
                return Ok(report);
            }
            Err(err) => {
                report.objects_failed = 1;
                tracing::warn!(bucket, key = key.key(), "cannot heal: {err}");
                return Ok(report);
            }
        };
        let meta = agreed.meta.clone();
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
            name_files: crate::engine::segment_name_files(bucket, &key),
            meta,
        };
        let keep = agreed.meta.data_dir.map(layout::data_dir_name);
        let outcome = tokio::task::spawn_blocking(move || repair.run())
            .await
            .map_err(internal)?;
        // Data dirs no version refers to (a crash between the data rename
        // and the metadata commit) are garbage.
        let folder = layout::object_dir(bucket, &key);
        self.drives
            .each_drive(move |_, drive| {
                for entry in drive.list_dir(&folder)? {
                    if entry.is_dir
                        && entry.name.starts_with(layout::DATA_DIR_PREFIX)
                        && Some(&entry.name) != keep.as_ref()
                    {
                        drive.remove_dir_all(&folder.join(&entry.name))?;
                    }
                }
                Ok(())
            })
            .await;
        match outcome {
            Ok((rewritten, needed, bytes)) => {
                if !rewritten.is_empty() {
                    report.objects_healed = 1;
                    report.bytes_rebuilt = bytes;
                }
                if rewritten.len() < needed {
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
        Ok(report)
    }

    pub async fn heal(&self, bucket: Option<&str>, prefix: &str) -> Result<HealReport, StoreError> {
        let missed = self.drives.missed_writes_snapshot();
        let buckets: Vec<String> = match bucket {
            Some(bucket) => {
                self.require_bucket(bucket)?;
                vec![bucket.to_owned()]
            }
            None => self.list_buckets().into_iter().map(|b| b.name).collect(),
        };
        let mut total = HealReport::default();
        if bucket.is_none() {
            let copies = self.heal_system_blobs().await;
            if copies > 0 {
                tracing::info!(copies, "healed system blobs");
            }
        }
        for name in &buckets {
            match self.heal_bucket_contents(name, prefix, &mut total).await {
                // A full heal lists buckets first; one deleted since then is
                // nothing to heal, not a failure of the whole pass.
                Err(StoreError::NoSuchBucket(_)) if bucket.is_none() => continue,
                other => other?,
            }
        }
        if bucket.is_none() && prefix.is_empty() && total.objects_failed == 0 {
            self.drives.clear_missed_writes(&missed).await;
        }
        Ok(total)
    }

    /// Heals one bucket's entry, open uploads and objects under `prefix`,
    /// adding what it did to `total`.
    async fn heal_bucket_contents(
        &self,
        bucket: &str,
        prefix: &str,
        total: &mut HealReport,
    ) -> Result<(), StoreError> {
        self.heal_bucket(bucket).await?;
        let parts = self.heal_uploads(bucket).await;
        if parts > 0 {
            tracing::info!(%bucket, parts, "healed multipart upload parts");
        }
        let mut start_after: Option<String> = None;
        loop {
            let keys = self
                .keys_on_any_drive(bucket, prefix, start_after.clone(), HEAL_BATCH)
                .await?;
            for key in &keys {
                match self.heal_object_data(bucket, key).await {
                    Ok(report) => add_report(total, &report),
                    Err(e @ StoreError::NoSuchBucket(_)) => return Err(e),
                    Err(_) => {
                        total.objects_scanned += 1;
                        total.objects_failed += 1;
                    }
                }
            }
            if keys.len() < HEAL_BATCH {
                return Ok(());
            }
            start_after = keys.last().cloned();
        }
    }
}

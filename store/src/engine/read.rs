//! The read path: object metadata by quorum from every drive, the read
//! plan (which blocks of which parts a range needs) and the per-shard
//! sources it decodes from (inline streams or shard files), for GET and
//! HEAD. A read that finds a damaged or missing copy queues a heal.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use erasure::{ErasureCodec, ErasureError};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{object_info, Engine};
use crate::api::{ByteRange, ObjectInfo, ObjectReader, StoreError};
use crate::drive::{Drive, ShardReader};
use crate::keys::EncodedKey;
use crate::layout;
use crate::meta::ObjectMeta;
use crate::quorum::{absence_is_settled, pick_object_meta_excluding, Agreed, DriveRead};

/// Parts whose shard files a GET opens before returning (later parts are
/// opened as the stream reaches them).
const EAGER_OPEN_PARTS: usize = 64;

/// Metadata reads retried when the drives disagree because overwrites
/// committed while they were being read.
const TORN_READ_RETRIES: usize = 5;

/// Distinct versions among per-drive metadata reads.
fn versions_seen(reads: &[DriveRead<ObjectMeta>]) -> usize {
    let mut ids: Vec<Uuid> = reads
        .iter()
        .filter_map(|r| r.found().map(|m| m.meta_id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}

fn erasure_error(err: ErasureError) -> StoreError {
    match err {
        ErasureError::TooFewShards { have, need } => StoreError::ReadQuorum {
            online: have,
            needed: need,
        },
        other => StoreError::Corrupt(other.to_string()),
    }
}

impl Engine {
    /// Reads `obj.meta` from every drive.
    ///
    /// One blocking task reads them all: these are small files, usually in
    /// the page cache, and a hand-off to the blocking pool per drive cost
    /// more than the reads (BENCHMARKS.md, profile cost 2). A drive hung
    /// in it costs one drive deadline, then the others are read again.
    pub async fn read_metas(&self, bucket: &str, key: &EncodedKey) -> Vec<DriveRead<ObjectMeta>> {
        let path = layout::object_meta_path(bucket, key);
        let bucket_dir = layout::bucket_dir(bucket);
        let home = crate::meta::record_home(bucket, key.key());
        let total = self.drives.len();
        let check = self.drives.answer_check();
        let (reads, gone) = self
            .drives
            .on_online_drives(move |drives| {
                let mut reads: Vec<DriveRead<ObjectMeta>> =
                    (0..total).map(|_| DriveRead::Failed).collect();
                let mut gone = Vec::new();
                for (position, drive) in drives {
                    let result = drive.read_file(&path).map(|bytes| {
                        ObjectMeta::decode(Bytes::from(bytes))
                            .and_then(|meta| meta.written_for(home, position))
                    });
                    // `written_for` refuses another drive's or another key's
                    // record put in this place (tar's inode hard links).
                    reads[position] =
                        check.judge(drive.as_ref(), position, &bucket_dir, result, &mut gone);
                }
                (reads, gone)
            })
            .await
            .unwrap_or_else(|_| ((0..total).map(|_| DriveRead::Failed).collect(), Vec::new()));
        self.drives.take_offline(&gone);
        reads
    }

    /// The agreed metadata of an object; queues a heal when some online
    /// drive lacks it.
    pub async fn agreed_meta(
        &self,
        bucket: &str,
        key: &EncodedKey,
    ) -> Result<(Agreed, Vec<DriveRead<ObjectMeta>>), StoreError> {
        self.agreed_meta_excluding(bucket, key, &[]).await
    }

    /// [`Engine::agreed_meta`] among the versions not known to be dangling.
    async fn agreed_meta_excluding(
        &self,
        bucket: &str,
        key: &EncodedKey,
        dangling: &[Uuid],
    ) -> Result<(Agreed, Vec<DriveRead<ObjectMeta>>), StoreError> {
        let mut attempt = 0;
        let (agreed, reads) = loop {
            attempt += 1;
            let reads = self.read_metas(bucket, key).await;
            match pick_object_meta_excluding(&reads, bucket, key.key(), dangling) {
                Ok(agreed) => break (agreed, reads),
                // The drives were read while overwrites committed on them
                // one by one, and no version got a read quorum: read again.
                Err(_) if attempt < TORN_READ_RETRIES && versions_seen(&reads) > 1 => {
                    tokio::task::yield_now().await;
                }
                Err(StoreError::ReadQuorum { .. })
                    if absence_is_settled(
                        &reads,
                        &self.drives.missed_drives(),
                        self.drives.write_quorum(),
                    ) =>
                {
                    return Err(StoreError::NoSuchKey {
                        bucket: bucket.to_owned(),
                        key: key.key().to_owned(),
                    });
                }
                Err(err) => return Err(self.bucket_gone_or(bucket, err)),
            }
        };
        let online_missing = agreed
            .holders
            .iter()
            .zip(&self.drives)
            .any(|(holds, state)| !holds && state.online.load(Ordering::Relaxed));
        if online_missing {
            self.heal_queue.push(bucket, key.key());
        }
        Ok((agreed, reads))
    }

    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectInfo, StoreError> {
        self.require_bucket(bucket)?;
        let key = EncodedKey::new(key)?;
        if let Some(hit) = self.cache.get(bucket, key.key()) {
            return Ok(hit.info.clone());
        }
        let ticket = self.cache.ticket(bucket, key.key());
        let (agreed, _) = self.agreed_meta(bucket, &key).await?;
        let info = object_info(bucket, key.key(), &agreed.meta);
        let cached = crate::cache::Cached {
            info: info.clone(),
            body: None,
        };
        self.cache.insert(ticket, bucket, key.key(), cached);
        Ok(info)
    }

    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        range: Option<ByteRange>,
    ) -> Result<ObjectReader, StoreError> {
        self.require_bucket(bucket)?;
        let key = EncodedKey::new(key)?;
        let hit = self.cache.get(bucket, key.key());
        if let Some(hit) = hit.as_ref().filter(|hit| hit.body.is_some()) {
            return crate::cache::serve(hit, range);
        }
        let ticket = self.cache.ticket(bucket, key.key());
        // A concurrent overwrite may remove the data we just found between
        // reading the metadata and opening the files: read again. Or the
        // version's data never arrived (drives restored from a copy taken
        // while it was written): then it is dangling, and the newest version
        // that can be decoded is served, or the key is absent.
        let mut attempt = 0;
        let mut dangling = Vec::new();
        loop {
            attempt += 1;
            match self.open_object(bucket, &key, range, &dangling).await? {
                Some(reader) if range.is_none() && self.cache.keeps_body(reader.info.size) => {
                    let cache = self.cache.clone();
                    return Ok(crate::cache::keep_while_read(cache, ticket, reader));
                }
                Some(reader) => return Ok(reader),
                None if attempt < 5 => {
                    dangling = self.dangling_versions(bucket, &key).await;
                    if !dangling.is_empty() {
                        self.heal_queue.push(bucket, key.key());
                    }
                }
                None => {
                    return Err(StoreError::ReadQuorum {
                        online: 0,
                        needed: self.data,
                    })
                }
            }
        }
    }

    /// Opens an object for reading; `None` when its shard files vanished
    /// under a concurrent overwrite.
    async fn open_object(
        &self,
        bucket: &str,
        key: &EncodedKey,
        range: Option<ByteRange>,
        dangling: &[Uuid],
    ) -> Result<Option<ObjectReader>, StoreError> {
        let key = key.clone();
        let (agreed, reads) = self.agreed_meta_excluding(bucket, &key, dangling).await?;
        let meta = &agreed.meta;
        let info = object_info(bucket, key.key(), meta);
        let resolved = resolve_range(range, meta.size)?;
        let (first, last) = match resolved {
            Some(r) => r,
            None if meta.size == 0 => {
                return Ok(Some(ObjectReader {
                    info,
                    range: None,
                    body: Box::pin(futures::stream::empty()),
                }))
            }
            None => (0, meta.size - 1),
        };
        let codec = self.codec_for(&meta.erasure)?;
        let total = codec.total_shards();
        let mut shard_drive: Vec<Option<usize>> = vec![None; total];
        for (position, read) in reads.iter().enumerate() {
            if let DriveRead::Found(m) = read {
                if agreed.holders[position] && usize::from(m.erasure.index) < total {
                    shard_drive[usize::from(m.erasure.index)] = Some(position);
                }
            }
        }
        if meta.data_dir.is_none() {
            let streams: Vec<Option<Bytes>> = shard_drive
                .iter()
                .map(|drive| drive.and_then(|p| reads[p].found().and_then(|m| m.inline.clone())))
                .collect();
            let (whole, needs_heal) = decode_inline(&codec, meta, &streams)?;
            if needs_heal {
                self.heal_queue.push(bucket, key.key());
            }
            let out = whole.slice(first as usize..last as usize + 1);
            return Ok(Some(ObjectReader {
                info,
                range: resolved,
                body: Box::pin(futures::stream::once(async move { Ok(out) })),
            }));
        }
        // Open the shard files now: an open file stays readable even if a
        // concurrent overwrite removes it.
        let data_dir = layout::data_dir_path(bucket, &key, meta.data_dir.expect("files"));
        let part_numbers: Vec<u32> = meta.parts.iter().map(|p| p.number).collect();
        let drives: Vec<Option<Arc<dyn Drive>>> = shard_drive
            .iter()
            .map(|p| p.map(|p| self.drives[p].drive.clone()))
            .collect();
        let plan = ReadPlan {
            codec,
            parts: meta.parts.iter().map(|p| p.size).collect(),
            first,
            last,
        };
        let stream = FileStream {
            plan,
            drives,
            data_dir,
            part_numbers,
            heal_queue: self.heal_queue.clone(),
            bucket: bucket.to_owned(),
            key: key.key().to_owned(),
            deadline: self.drives.deadline,
        };
        // A drive hung in opening a file costs one deadline: the drive is
        // offline now, and `get_object` opens the object again.
        let opener = stream.clone();
        let Ok(sources) = self.drives.blocking(move || opener.open_sources()).await else {
            return Ok(None);
        };
        let first_part = first_part_index(&stream.plan.parts, first);
        let readable = sources.iter().filter(|s| s.has_file(first_part)).count();
        if readable < stream.plan.codec.data_shards() {
            return Ok(None);
        }
        let body = stream.body(sources);
        Ok(Some(ObjectReader {
            info,
            range: resolved,
            body,
        }))
    }
}

impl Engine {
    /// The versions of a key that are dangling, newest first, up to the
    /// first one that is not (which is then the one to serve). Decided under
    /// the key lock, so no commit is half-way while the files are looked at.
    pub(crate) async fn dangling_versions(&self, bucket: &str, key: &EncodedKey) -> Vec<Uuid> {
        let _guard = self.locks.lock(bucket, key.key()).await;
        let reads = self.read_metas(bucket, key).await;
        let mut dangling = Vec::new();
        while let Ok(agreed) = pick_object_meta_excluding(&reads, bucket, key.key(), &dangling) {
            if !self.is_dangling(bucket, key, &agreed, &reads).await {
                break;
            }
            dangling.push(agreed.meta.meta_id);
        }
        dangling
    }

    /// Whether `agreed` is a dangling version: its metadata has a read
    /// quorum, but its shard files are missing (not unreadable: absent) on
    /// so many of its holders that fewer than `data` remain, and every drive
    /// answered (a damaged `obj.meta` is an answer; an offline drive is not),
    /// so no drive coming back can supply them. It can never be
    /// read; MinIO calls such objects dangling and purges them in heal.
    pub(crate) async fn is_dangling(
        &self,
        bucket: &str,
        key: &EncodedKey,
        agreed: &Agreed,
        reads: &[DriveRead<ObjectMeta>],
    ) -> bool {
        let Some(data_dir) = agreed.meta.data_dir else {
            // Inline shards travel inside the metadata: never missing.
            return false;
        };
        if reads.iter().any(|read| matches!(read, DriveRead::Failed)) {
            return false;
        }
        let data_dir = layout::data_dir_path(bucket, key, data_dir);
        let Ok(codec) = self.codec_for(&agreed.meta.erasure) else {
            return false;
        };
        // Each part's shard file and the size every shard file of it has.
        let parts: Vec<(PathBuf, u64)> = agreed
            .meta
            .parts
            .iter()
            .map(|part| {
                (
                    data_dir.join(layout::part_file_name(part.number)),
                    codec.framed_shard_size(part.size),
                )
            })
            .collect();
        let holders: Vec<Arc<dyn Drive>> = agreed
            .holders
            .iter()
            .zip(&self.drives)
            .filter(|(holds, _)| **holds)
            .map(|(_, state)| state.drive.clone())
            .collect();
        let data = usize::from(agreed.meta.erasure.data);
        self.drives
            .blocking(move || {
                let mut complete = 0;
                for drive in holders {
                    let mut whole = true;
                    for (part, size) in &parts {
                        match shard_file_fits(drive.as_ref(), part, *size) {
                            Ok(true) => {}
                            Ok(false) => whole = false,
                            // Unknown: it may hold them.
                            Err(_) => return false,
                        }
                    }
                    complete += usize::from(whole);
                }
                complete < data
            })
            .await
            .unwrap_or(false)
    }
}

/// A GET of an object kept in shard files: a blocking thread decodes it
/// into a channel the body reads. When one of its drive operations runs
/// past the drive deadline, that drive is stalled (offline) and a new
/// thread goes on from the bytes already sent, with that drive's shards
/// rebuilt from parity.
#[derive(Clone)]
struct FileStream {
    plan: ReadPlan,
    drives: Vec<Option<Arc<dyn Drive>>>,
    data_dir: PathBuf,
    part_numbers: Vec<u32>,
    heal_queue: crate::heal::HealQueue,
    bucket: String,
    key: String,
    deadline: Option<std::time::Duration>,
}

/// What the body of a [`FileStream`] holds between chunks.
struct Flow {
    stream: FileStream,
    rx: mpsc::Receiver<Result<Bytes, StoreError>>,
    watched: Arc<crate::deadline::Watched>,
    restarts: usize,
}

impl FileStream {
    fn open_sources(&self) -> Vec<ShardSources> {
        self.drives
            .iter()
            .map(|drive| {
                ShardSources::open_files(drive.clone(), &self.data_dir, &self.part_numbers)
            })
            .collect()
    }

    /// Starts the decoding thread (opening the files first when `sources`
    /// is `None`).
    fn start(&self, sources: Option<Vec<ShardSources>>) -> Flow {
        let (tx, rx) = mpsc::channel::<Result<Bytes, StoreError>>(2);
        let watched = Arc::new(crate::deadline::watch(self.deadline));
        let (stream, thread_watch) = (self.clone(), watched.clone());
        tokio::task::spawn_blocking(move || {
            thread_watch.run(|| {
                let mut sources = sources.unwrap_or_else(|| stream.open_sources());
                let mut needs_heal = false;
                let outcome = stream.plan.run(&mut sources, |chunk, bad| {
                    needs_heal |= bad;
                    tx.blocking_send(Ok(chunk)).is_ok()
                });
                if let Err(err) = outcome {
                    let _ = tx.blocking_send(Err(err));
                }
                if needs_heal || sources.iter().any(ShardSources::had_errors) {
                    stream.heal_queue.push(&stream.bucket, &stream.key);
                }
            })
        });
        Flow {
            stream: self.clone(),
            rx,
            watched,
            restarts: 0,
        }
    }

    fn body(self, sources: Vec<ShardSources>) -> crate::api::ByteStream {
        let flow = self.start(Some(sources));
        Box::pin(futures::stream::unfold(Some(flow), |flow| async move {
            let mut flow = flow?;
            loop {
                let next = tokio::select! {
                    next = flow.rx.recv() => next,
                    () = flow.watched.late() => {
                        if flow.restarts >= flow.stream.plan.codec.total_shards() {
                            let err = StoreError::Internal(
                                "the object's drives missed the drive deadline".into(),
                            );
                            return Some((Err(err), None));
                        }
                        let restarts = flow.restarts + 1;
                        flow = flow.stream.start(None);
                        flow.restarts = restarts;
                        continue;
                    }
                };
                return match next {
                    Some(Ok(chunk)) => {
                        // A restart goes on after the bytes already sent.
                        flow.stream.plan.first += chunk.len() as u64;
                        Some((Ok(chunk), Some(flow)))
                    }
                    Some(Err(err)) => Some((Err(err), None)),
                    None => None,
                };
            }
        }))
    }
}

/// Whether `path` on `drive` is a file of exactly `size` bytes: a missing
/// file, or one of another size, is not this version's shard (a hot copy can
/// restore another file's content under its name); bit flips keep the size
/// and are left to the frames' checksums and the heal.
fn shard_file_fits(drive: &dyn Drive, path: &Path, size: u64) -> io::Result<bool> {
    let file = match drive.open_read(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(err),
    };
    let reaches = |offset: u64| match file.read_exact_at(offset, 1) {
        Ok(_) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(err) => Err(err),
    };
    let long_enough = size == 0 || reaches(size - 1)?;
    Ok(long_enough && !reaches(size)?)
}

/// Decodes a whole inline object from its shard streams (`streams[shard]`).
/// Every stream is the one its version's commit (or a heal of it) wrote
/// for that drive: records another drive's or another key's file put in
/// this place are refused when read ([`Engine::read_metas`]), and the
/// record's CRC binds its inline bytes to its version id. So the frames
/// decode to exactly the version's bytes, with no whole-object check.
/// Returns the bytes and whether some shard needs a heal.
pub(crate) fn decode_inline(
    codec: &ErasureCodec,
    meta: &ObjectMeta,
    streams: &[Option<Bytes>],
) -> Result<(Bytes, bool), StoreError> {
    let mut sources: Vec<ShardSources> = streams
        .iter()
        .map(|s| ShardSources::Inline(s.clone()))
        .collect();
    let plan = ReadPlan {
        codec: codec.clone(),
        parts: meta.parts.iter().map(|p| p.size).collect(),
        first: 0,
        last: meta.size.saturating_sub(1),
    };
    let mut out = BytesMut::with_capacity(meta.size as usize);
    let mut needs_heal = false;
    plan.run(&mut sources, |chunk, bad| {
        needs_heal |= bad;
        out.extend_from_slice(&chunk);
        true
    })?;
    Ok((out.freeze(), needs_heal))
}

/// Index of the part holding byte `offset`.
fn first_part_index(parts: &[u64], offset: u64) -> usize {
    let mut start = 0;
    for (index, size) in parts.iter().enumerate() {
        if offset < start + size {
            return index;
        }
        start += size;
    }
    0
}

/// Resolves a requested range against the object size: `None` means the
/// whole object.
pub(crate) fn resolve_range(
    range: Option<ByteRange>,
    size: u64,
) -> Result<Option<(u64, u64)>, StoreError> {
    let Some(range) = range else {
        return Ok(None);
    };
    match range {
        ByteRange::FromTo { first, last } => {
            if first >= size || last.is_some_and(|last| last < first) {
                return Err(StoreError::InvalidRange);
            }
            let last = last.map_or(size - 1, |last| last.min(size - 1));
            Ok(Some((first, last)))
        }
        ByteRange::Suffix(count) => {
            if count == 0 || size == 0 {
                return Err(StoreError::InvalidRange);
            }
            Ok(Some((size.saturating_sub(count), size - 1)))
        }
    }
}

/// Where one shard's bytes come from, per part.
pub(crate) enum ShardSources {
    /// The framed shard stream kept in the metadata (single part).
    Inline(Option<Bytes>),
    /// One file per part (`None` = missing); parts past the eagerly opened
    /// ones are opened on demand.
    Files {
        drive: Option<Arc<dyn Drive>>,
        data_dir: PathBuf,
        part_numbers: Vec<u32>,
        files: Vec<Option<Box<dyn ShardReader>>>,
        opened: usize,
        errors: bool,
    },
}

impl ShardSources {
    pub fn open_files(
        drive: Option<Arc<dyn Drive>>,
        data_dir: &Path,
        part_numbers: &[u32],
    ) -> Self {
        let mut sources = Self::Files {
            drive,
            data_dir: data_dir.to_path_buf(),
            part_numbers: part_numbers.to_vec(),
            files: Vec::new(),
            opened: 0,
            errors: false,
        };
        sources.open_up_to(EAGER_OPEN_PARTS.min(part_numbers.len()));
        sources
    }

    fn open_up_to(&mut self, count: usize) {
        if let Self::Files {
            drive,
            data_dir,
            part_numbers,
            files,
            opened,
            errors,
        } = self
        {
            while *opened < count {
                let file = drive.as_ref().and_then(|drive| {
                    let path = data_dir.join(layout::part_file_name(part_numbers[*opened]));
                    match drive.open_read(&path) {
                        Ok(file) => Some(file),
                        Err(_) => {
                            *errors = true;
                            None
                        }
                    }
                });
                files.push(file);
                *opened += 1;
            }
        }
    }

    /// Whether part `part_index`'s file is open (parts past the eagerly
    /// opened ones count as open).
    fn has_file(&self, part_index: usize) -> bool {
        match self {
            Self::Inline(stream) => stream.is_some(),
            Self::Files { files, .. } => match files.get(part_index) {
                Some(file) => file.is_some(),
                None => true,
            },
        }
    }

    /// Closes part `part_index`'s file once the read is past it, so a read
    /// of many parts holds one part's files at a time.
    pub(crate) fn close_part(&mut self, part_index: usize) {
        if let Self::Files { files, .. } = self {
            if let Some(file) = files.get_mut(part_index) {
                file.take();
            }
        }
    }

    pub(crate) fn had_errors(&self) -> bool {
        matches!(self, Self::Files { errors: true, .. })
    }

    /// Reads `len` bytes at `offset` of part `part_index`'s shard stream.
    pub(crate) fn read_at(&mut self, part_index: usize, offset: u64, len: usize) -> Option<Bytes> {
        match self {
            Self::Inline(stream) => {
                let stream = stream.as_ref()?;
                let start = usize::try_from(offset).ok()?;
                let end = start.checked_add(len)?;
                (end <= stream.len()).then(|| stream.slice(start..end))
            }
            Self::Files { .. } => {
                self.open_up_to(part_index + 1);
                let Self::Files { files, errors, .. } = self else {
                    unreachable!()
                };
                let file = files.get(part_index)?.as_ref()?;
                match file.read_exact_at(offset, len) {
                    Ok(buffer) => Some(Bytes::from(buffer)),
                    Err(_) => {
                        *errors = true;
                        None
                    }
                }
            }
        }
    }
}

/// Which bytes of which parts a read returns.
#[derive(Clone)]
pub(crate) struct ReadPlan {
    pub codec: ErasureCodec,
    pub parts: Vec<u64>,
    pub first: u64,
    pub last: u64,
}

impl ReadPlan {
    /// Decodes the needed blocks in order, calling `emit(bytes, had_bad_shards)`
    /// for each; stops early when `emit` returns false.
    pub fn run(
        &self,
        sources: &mut [ShardSources],
        mut emit: impl FnMut(Bytes, bool) -> bool,
    ) -> Result<(), StoreError> {
        let data = self.codec.data_shards();
        let total = self.codec.total_shards();
        let mut part_start = 0u64;
        for (part_index, &part_size) in self.parts.iter().enumerate() {
            let part_end = part_start + part_size; // exclusive
            if part_end <= self.first || part_size == 0 {
                part_start = part_end;
                continue;
            }
            if part_start > self.last {
                break;
            }
            let from = self.first.max(part_start) - part_start;
            let to = (self.last + 1).min(part_end) - part_start; // exclusive
            for block in self.codec.block_range(part_size, from..to) {
                let block_len = self.codec.block_len(part_size, block);
                let frame_len = self.codec.frame_len(block_len);
                let offset = self.codec.frame_offset(part_size, block);
                let mut framed: Vec<Option<Bytes>> = vec![None; total];
                for (shard, slot) in framed.iter_mut().enumerate().take(data) {
                    *slot = sources[shard].read_at(part_index, offset, frame_len);
                }
                let mut parity_read = false;
                if framed[..data].iter().any(Option::is_none) {
                    for shard in data..total {
                        framed[shard] = sources[shard].read_at(part_index, offset, frame_len);
                    }
                    parity_read = true;
                }
                let decoded = match self.codec.decode_block_parts(&framed, block_len) {
                    Ok(decoded) => decoded,
                    Err(ErasureError::TooFewShards { .. }) if !parity_read => {
                        for shard in data..total {
                            framed[shard] = sources[shard].read_at(part_index, offset, frame_len);
                        }
                        parity_read = true;
                        self.codec
                            .decode_block_parts(&framed, block_len)
                            .map_err(erasure_error)?
                    }
                    Err(err) => return Err(erasure_error(err)),
                };
                // The codec reports every absent frame, including parity
                // frames this read never asked for: only shards that were
                // read (or whose file would not open) can need a heal.
                let damaged = decoded
                    .bad_shards
                    .iter()
                    .any(|&shard| shard < data || parity_read);
                let block_start = self.codec.block_offset(block);
                let lo = (from.max(block_start) - block_start) as usize;
                let hi = (to.min(block_start + block_len as u64) - block_start) as usize;
                // The data shards as they are (no concatenation), cut to the
                // requested bytes.
                let mut at = 0usize;
                for piece in decoded.parts {
                    let (start, end) = (at, at + piece.len());
                    at = end;
                    if end <= lo || start >= hi {
                        continue;
                    }
                    let slice = piece.slice(lo.max(start) - start..hi.min(end) - start);
                    if !emit(slice, damaged) {
                        return Ok(());
                    }
                }
            }
            for source in sources.iter_mut() {
                source.close_part(part_index);
            }
            part_start = part_end;
        }
        Ok(())
    }
}

//! The write path: the server-wide write budget, and the pipeline that
//! streams a body through an MD5 task and an encoder task (checksum +
//! Reed-Solomon + bitrot frames) into one writer task per drive, which
//! writes a temp shard file and fsyncs it. The tasks are async and borrow a
//! blocking thread per block, so a slow client parks no thread. Nothing is
//! visible until the commit (`commit.rs`).

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use erasure::{BlockSplitter, ErasureError};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::drive_set::Effect;
use super::{internal, Engine};
use crate::api::{ByteStream, Checksum, PutOptions, StoreError};
use crate::crash::crash_point;
use crate::hashing::BodyHasher;
use crate::staging::Staging;

/// Whether a body small enough may stay inside the metadata file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inline {
    /// Objects up to the inline limit keep their shards in `obj.meta`.
    Allowed,
    /// Always shard files (multipart parts).
    Never,
}

/// Frames queued per drive writer; bounds memory per request.
const WRITER_QUEUE: usize = 4;
/// A shard file is flushed to disk after this many bytes while it is still
/// being written (large objects only), overlapping the flush with ingest.
const EARLY_FLUSH_BYTES: usize = 8 << 20;
/// Blocks queued between the body reader and the hash/encode threads.
const BLOCK_QUEUE: usize = 2;

/// What the body of a write turned into.
pub(crate) struct Ingested {
    pub size: u64,
    pub md5: [u8; 16],
    pub checksum: Option<Checksum>,
    pub stored: Stored,
}

/// Where the encoded shards of a write are.
pub(crate) enum Stored {
    /// Framed shard stream per shard index, to keep inside the metadata.
    Inline(Vec<Bytes>),
    /// `<tmp_dir>/<file_name>` on every drive where `written[position]`.
    Files {
        /// Owned until the commit (or its rollback) is done with it.
        tmp_dir: Staging,
        file_name: String,
        written: Vec<bool>,
    },
}

enum WriterMsg {
    /// A block's frames for one drive, with its share of the write budget.
    Frames(Bytes, BlockPermit),
    Finish,
}

/// Blocks one write may hold in memory at once (the one being assembled,
/// the queued and the ones being hashed, encoded and written), so no single
/// upload takes more than this share of the server-wide budget however fast
/// its client sends; deep enough that the hash, encode and write stages all
/// stay busy.
const IN_FLIGHT_BLOCKS: usize = 8;

/// A block's claim on [`WriteBuffers`] and on one of its write's
/// [`IN_FLIGHT_BLOCKS`] slots; released when the last copy drops, i.e. when
/// the hasher, the encoder and every writer are done with it.
type BlockPermit = Arc<Claim>;

/// What a block holds: a slot of its write and KiB of the budget.
#[derive(Default)]
struct Claim {
    // Fields drop in order: the budget goes back before the slot, so a write
    // never holds budget for more than its slots' worth of blocks.
    budget: Option<tokio::sync::OwnedSemaphorePermit>,
    _slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Claim {
    fn kib(&self) -> usize {
        self.budget
            .as_ref()
            .map_or(0, |permit| permit.num_permits())
    }
}

/// The server-wide budget for write blocks in memory, counted in KiB.
///
/// A block is charged as its bytes arrive (its buffer grows with them) and
/// in full (block plus frames) once it is complete, so an upload whose body
/// stalls holds budget for what it sent, not for a whole block.
pub(crate) struct WriteBuffers {
    permits: Arc<tokio::sync::Semaphore>,
    total_kib: u32,
}

impl WriteBuffers {
    pub(crate) fn new(limit_bytes: usize) -> Self {
        let total_kib = u32::try_from(limit_bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .max(1);
        Self {
            permits: Arc::new(tokio::sync::Semaphore::new(total_kib as usize)),
            total_kib,
        }
    }

    /// Grows `claim` to cover `bytes` (a claim larger than the whole budget
    /// is capped at all of it). Budget that is free, with nobody waiting, is
    /// taken at once; otherwise the claim gives back what it held and queues
    /// for the whole amount. So an upload waits holding no budget (no
    /// deadlock: the pipelines release theirs without help from waiting
    /// uploads), and waiting uploads are served in order of arrival (the
    /// semaphore is fair, and hands released budget to the first waiter
    /// before anyone else can take it).
    async fn grow(&self, claim: &mut Claim, bytes: usize) {
        let wanted = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.total_kib);
        let held = claim.kib();
        if held >= wanted as usize {
            return;
        }
        let more = wanted - held as u32;
        match self.permits.clone().try_acquire_many_owned(more) {
            Ok(extra) => match &mut claim.budget {
                Some(permit) => permit.merge(extra),
                None => claim.budget = Some(extra),
            },
            Err(_) => {
                claim.budget = None;
                claim.budget = Some(
                    self.permits
                        .clone()
                        .acquire_many_owned(wanted)
                        .await
                        .expect("the write budget is never closed"),
                );
            }
        }
    }

    /// The claim of a whole block of `pipeline`: the one taken while it was
    /// assembled, if any, grown to the block's full cost.
    async fn claim_block(
        &self,
        assembling: &mut Option<Claim>,
        pipeline: &Pipeline,
    ) -> BlockPermit {
        let mut claim = match assembling.take() {
            Some(claim) => claim,
            None => pipeline.slot().await,
        };
        self.grow(&mut claim, pipeline.block_cost).await;
        Arc::new(claim)
    }

    /// Charges the block being assembled for the `bytes` its buffer holds.
    async fn cover_assembling(
        &self,
        assembling: &mut Option<Claim>,
        pipeline: &Pipeline,
        bytes: usize,
    ) {
        if bytes == 0 {
            return;
        }
        let claim = match assembling {
            Some(claim) => claim,
            None => assembling.insert(pipeline.slot().await),
        };
        self.grow(claim, bytes).await;
    }

    /// Bytes (rounded up to KiB) currently claimed.
    pub fn in_use(&self) -> usize {
        (self.total_kib as usize - self.permits.available_permits()) * 1024
    }
}

/// The writers' senders (to finish them) and the body's checksum.
type EncoderResult = Result<(Vec<Option<mpsc::Sender<WriterMsg>>>, Option<Checksum>), ErasureError>;

/// The hash → encode → per-drive-writer threads of one streaming write.
struct Pipeline {
    hash_tx: mpsc::Sender<(Bytes, BlockPermit)>,
    encode_tx: mpsc::Sender<(Bytes, BlockPermit)>,
    /// The body's MD5 so far; `None` once the hashing failed.
    hasher: JoinHandle<Option<md5_many::Md5State>>,
    encoder: JoinHandle<EncoderResult>,
    writers: Vec<Option<JoinHandle<io::Result<()>>>>,
    tmp_dir: Staging,
    file_name: String,
    /// What one block costs in the write budget: its buffer (a whole
    /// block's capacity, even for the short last one) plus its frames.
    block_cost: usize,
    /// This write's [`IN_FLIGHT_BLOCKS`] slots.
    slots: Arc<tokio::sync::Semaphore>,
}

impl Pipeline {
    /// Waits for one of this write's slots (released as its blocks reach
    /// the drives, so never waiting on another upload).
    async fn slot(&self) -> Claim {
        Claim {
            _slot: Some(
                self.slots
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("a write's slots are never closed"),
            ),
            budget: None,
        }
    }

    /// Hands a block and its claim on the write budget to the hasher and
    /// the encoder.
    async fn feed(&mut self, block: Bytes, permit: BlockPermit) -> Result<(), StoreError> {
        // The hasher never fails; the encoder only on a codec error.
        let _ = self.hash_tx.send((block.clone(), permit.clone())).await;
        if self.encode_tx.send((block, permit)).await.is_err() {
            return Err(StoreError::Internal("the encoder stopped".into()));
        }
        Ok(())
    }
}

impl Engine {
    fn start_pipeline(
        &self,
        distribution: &[u16],
        checksum_algorithm: Option<crate::api::ChecksumAlgorithm>,
        file_name: String,
    ) -> Pipeline {
        // Each drive's writer holds the claim, down to its blocking calls:
        // an operation that outlives the request keeps it until it returns.
        let tmp_dir = self.staging.claim();
        let mut writer_txs = Vec::with_capacity(self.drives.len());
        let mut writers = Vec::with_capacity(self.drives.len());
        for state in &self.drives {
            if !state.online.load(Ordering::Relaxed) {
                writer_txs.push(None);
                writers.push(None);
                continue;
            }
            let (tx, mut rx) = mpsc::channel::<WriterMsg>(WRITER_QUEUE);
            let drive = state.drive.clone();
            let deadline = self.drives.deadline;
            let dir = tmp_dir.clone();
            let name = file_name.clone();
            // An async task that borrows a blocking thread per write, so a
            // slow client parks no thread.
            writers.push(Some(tokio::spawn(async move {
                let path = dir.join(&name);
                let opened = {
                    let (drive, dir) = (drive.clone(), dir.clone());
                    blocking(deadline, move || {
                        drive.mkdir_staging(&dir)?;
                        drive.create_file(&path)
                    })
                    .await?
                };
                let mut file = opened;
                let mut unsynced = 0usize;
                while let Some(msg) = rx.recv().await {
                    match msg {
                        WriterMsg::Frames(frames, permit) => {
                            unsynced += frames.len();
                            let flush = unsynced >= EARLY_FLUSH_BYTES;
                            if flush {
                                unsynced = 0;
                            }
                            let held = dir.clone();
                            file = blocking(deadline, move || {
                                let _owner = held;
                                file.write_all(frames)?;
                                if flush {
                                    // Flush while the body still streams, so the
                                    // final fsync has little left to write.
                                    file.sync_data()?;
                                }
                                Ok(file)
                            })
                            .await?;
                            drop(permit);
                        }
                        WriterMsg::Finish => {
                            return blocking(deadline, move || {
                                file.sync_all()?;
                                drive.fsync_dir(&dir)
                            })
                            .await;
                        }
                    }
                }
                Err(io::Error::other("write abandoned"))
            })));
            writer_txs.push(Some(tx));
        }
        let (hash_tx, mut hash_rx) = mpsc::channel::<(Bytes, BlockPermit)>(BLOCK_QUEUE);
        let lanes = self.md5_lanes.clone();
        let hasher = tokio::spawn(async move {
            // Side by side with the other uploads' blocks (`Md5Lanes`).
            let mut md5 = md5_many::Md5State::new();
            while let Some((block, _permit)) = hash_rx.recv().await {
                md5 = lanes.update(md5, block).await?;
            }
            Some(md5)
        });
        let (encode_tx, mut encode_rx) = mpsc::channel::<(Bytes, BlockPermit)>(BLOCK_QUEUE);
        let codec = self.codec.clone();
        let distribution = distribution.to_vec();
        let encoder = tokio::spawn(async move {
            let mut txs = writer_txs;
            // The checksum runs here, beside the cheap encode, so the MD5
            // task is the only per-byte bottleneck.
            let mut checksum = BodyHasher::checksum_only(checksum_algorithm);
            while let Some((block, permit)) = encode_rx.recv().await {
                let codec = codec.clone();
                let (encoded, back) = match tokio::task::spawn_blocking(move || {
                    checksum.update(&block);
                    (codec.encode_block(&block), checksum)
                })
                .await
                {
                    Ok(done) => done,
                    Err(err) => std::panic::resume_unwind(err.into_panic()),
                };
                checksum = back;
                let frames = encoded?;
                for (position, slot) in txs.iter_mut().enumerate() {
                    if let Some(tx) = slot {
                        let shard = usize::from(distribution[position]);
                        if tx
                            .send(WriterMsg::Frames(frames[shard].clone(), permit.clone()))
                            .await
                            .is_err()
                        {
                            *slot = None;
                        }
                    }
                }
            }
            EncoderResult::Ok((txs, checksum.finish().1))
        });
        Pipeline {
            hash_tx,
            encode_tx,
            hasher,
            encoder,
            writers,
            tmp_dir,
            file_name,
            block_cost: self.block_size
                + self.block_size.div_ceil(self.data) * (self.data + self.parity),
            slots: Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT_BLOCKS)),
        }
    }

    /// Stops a pipeline and removes its temp files everywhere.
    async fn abort_pipeline(&self, pipeline: Pipeline) {
        drop(pipeline.hash_tx);
        drop(pipeline.encode_tx);
        let _ = pipeline.hasher.await;
        drop(pipeline.encoder.await);
        for writer in pipeline.writers.into_iter().flatten() {
            let _ = writer.await;
        }
        self.remove_tmp(pipeline.tmp_dir).await;
    }

    pub async fn remove_tmp(&self, tmp_dir: Staging) {
        self.drives
            .each_drive(move |_, drive| drive.remove_dir_all(&tmp_dir))
            .await;
    }

    /// Streams a body into framed shards (inline or temp files), hashing it
    /// once, and checks size, Content-MD5 and checksum before returning.
    pub async fn ingest(
        &self,
        mut body: ByteStream,
        opts: &PutOptions,
        distribution: &[u16],
        file_name: String,
        inline: Inline,
        max_size: u64,
    ) -> Result<Ingested, StoreError> {
        if opts.size.is_some_and(|size| size > max_size) {
            return Err(StoreError::EntityTooLarge);
        }
        let inline_limit = self.inline_limit as u64;
        let mut splitter = BlockSplitter::new(self.block_size).with_size_hint(opts.size);
        let mut held: Vec<Bytes> = Vec::new();
        // The claim of the block the splitter is assembling: a slot of this
        // write and budget for the bytes its buffer holds, grown as they
        // arrive, so a stalled body holds budget for what it sent. An
        // upload waiting for budget holds at most one block outside it.
        let mut assembling: Option<Claim> = None;
        let mut pipeline = (inline == Inline::Never || opts.size.is_some_and(|s| s > inline_limit))
            .then(|| self.start_pipeline(distribution, opts.checksum_algorithm, file_name.clone()));
        let mut total: u64 = 0;
        let outcome: Result<(), StoreError> = 'body: loop {
            let chunk = match body.next().await {
                None => break Ok(()),
                Some(Err(err)) => break Err(err),
                Some(Ok(chunk)) => chunk,
            };
            total += chunk.len() as u64;
            if opts.size.is_some_and(|size| total > size) {
                break Err(StoreError::InvalidArgument(
                    "the body is longer than its declared length".into(),
                ));
            }
            if total > max_size {
                break Err(StoreError::EntityTooLarge);
            }
            let blocks = splitter.push(chunk);
            if pipeline.is_none() && total > inline_limit {
                let mut started =
                    self.start_pipeline(distribution, opts.checksum_algorithm, file_name.clone());
                for block in held.drain(..) {
                    let permit = self.write_buffers.claim_block(&mut None, &started).await;
                    if let Err(err) = started.feed(block, permit).await {
                        pipeline = Some(started);
                        break 'body Err(err);
                    }
                }
                pipeline = Some(started);
            }
            for block in blocks {
                match &mut pipeline {
                    Some(p) => {
                        let permit = self.write_buffers.claim_block(&mut assembling, p).await;
                        if let Err(err) = p.feed(block, permit).await {
                            break 'body Err(err);
                        }
                    }
                    None => held.push(block),
                }
            }
            if let Some(p) = &pipeline {
                self.write_buffers
                    .cover_assembling(&mut assembling, p, splitter.pending_capacity())
                    .await;
            }
        };
        let outcome = outcome.and(match opts.size {
            Some(size) if total < size => Err(StoreError::IncompleteBody),
            _ => Ok(()),
        });
        let last = splitter.finish();
        let Some(mut pipeline) = pipeline else {
            outcome?;
            held.extend(last);
            return self.ingest_inline(held, total, opts).await;
        };
        if let Err(err) = outcome {
            self.abort_pipeline(pipeline).await;
            return Err(err);
        }
        if let Some(last) = last {
            let permit = self
                .write_buffers
                .claim_block(&mut assembling, &pipeline)
                .await;
            if let Err(err) = pipeline.feed(last, permit).await {
                self.abort_pipeline(pipeline).await;
                return Err(err);
            }
        }
        let Pipeline {
            hash_tx,
            encode_tx,
            hasher,
            encoder,
            writers,
            tmp_dir,
            file_name,
            ..
        } = pipeline;
        drop(hash_tx);
        drop(encode_tx);
        let md5 = hasher
            .await
            .map_err(internal)?
            .ok_or_else(|| internal("the MD5 hashing failed"))?
            .finalize();
        let encoded = encoder.await.map_err(internal);
        let verdict = match &encoded {
            Ok(Ok((_, checksum))) => verify_body(opts, &md5, checksum.as_ref()),
            Ok(Err(err)) => Err(StoreError::Internal(err.to_string())),
            Err(err) => Err(StoreError::Internal(err.to_string())),
        };
        let (txs, checksum) = match (verdict, encoded) {
            (Ok(()), Ok(Ok(done))) => done,
            (verdict, encoded) => {
                // Dropping the senders lets the writers see the abort.
                drop(encoded);
                for writer in writers.into_iter().flatten() {
                    let _ = writer.await;
                }
                self.remove_tmp(tmp_dir).await;
                return Err(verdict.err().unwrap_or_else(|| internal("encoder failed")));
            }
        };
        for tx in txs.iter().flatten() {
            let _ = tx.send(WriterMsg::Finish).await;
        }
        drop(txs);
        let mut results = Vec::with_capacity(writers.len());
        for writer in writers {
            results.push(match writer {
                Some(handle) => match handle.await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(err)) => {
                        tracing::warn!("shard write failed: {err}");
                        Err(err)
                    }
                    Err(err) => Err(io::Error::other(err)),
                },
                None => Err(super::offline_error()),
            });
        }
        crash_point!("after_shard_fsync");
        let rollback_tmp = tmp_dir.clone();
        let results = self
            .drives
            .finish_write(results, self.drives.write_quorum(), Effect::Staged, |_| {
                self.remove_tmp(rollback_tmp)
            })
            .await?;
        let written = results.iter().map(|r| r.is_ok()).collect();
        Ok(Ingested {
            size: total,
            md5,
            checksum,
            stored: Stored::Files {
                tmp_dir,
                file_name,
                written,
            },
        })
    }

    async fn ingest_inline(
        &self,
        blocks: Vec<Bytes>,
        size: u64,
        opts: &PutOptions,
    ) -> Result<Ingested, StoreError> {
        let codec = self.codec.clone();
        let algorithm = opts.checksum_algorithm;
        let total = self.drives.len();
        let (md5, checksum, shards) = tokio::task::spawn_blocking(move || {
            let mut hasher = BodyHasher::new(algorithm);
            let mut shards: Vec<BytesMut> = (0..total).map(|_| BytesMut::new()).collect();
            for block in &blocks {
                hasher.update(block);
                let frames = codec.encode_block(block)?;
                for (shard, frame) in shards.iter_mut().zip(frames) {
                    shard.extend_from_slice(&frame);
                }
            }
            let (md5, checksum) = hasher.finish();
            Ok::<_, ErasureError>((
                md5,
                checksum,
                shards.into_iter().map(BytesMut::freeze).collect::<Vec<_>>(),
            ))
        })
        .await
        .map_err(internal)?
        .map_err(|e| StoreError::Internal(e.to_string()))?;
        verify_body(opts, &md5, checksum.as_ref())?;
        Ok(Ingested {
            size,
            md5,
            checksum,
            stored: Stored::Inline(shards),
        })
    }
}

/// Runs blocking file work on the blocking pool under the drive deadline,
/// as an I/O result.
async fn blocking<T: Send + 'static>(
    deadline: Option<std::time::Duration>,
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    crate::deadline::watched(deadline, work)
        .await
        .unwrap_or_else(|missed| Err(missed.into()))
}

fn verify_body(
    opts: &PutOptions,
    md5: &[u8; 16],
    checksum: Option<&Checksum>,
) -> Result<(), StoreError> {
    if let Some(expected) = opts.content_md5 {
        if &expected != md5 {
            return Err(StoreError::BadDigest);
        }
    }
    if let (Some(expected), Some(actual)) = (&opts.expected_checksum, checksum) {
        match expected.value() {
            Some(value) if value == actual.value_b64 => {}
            _ => {
                return Err(StoreError::BadChecksum {
                    algorithm: actual.algorithm,
                })
            }
        }
    }
    Ok(())
}

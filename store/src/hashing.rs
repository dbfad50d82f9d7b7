//! Hashes computed once while a body streams through: MD5 (the ETag) and the
//! checksum a client asked for. MD5 is the dearest per-byte step of a write
//! and one stream cannot be split, so concurrent uploads hash their blocks
//! side by side in SIMD lanes ([`Md5Lanes`]).

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use md5_many::Md5State;

use crate::api::{Checksum, ChecksumAlgorithm};

enum ChecksumState {
    Crc32(crc32fast::Hasher),
    Crc32c(crc_fast::Digest),
    Crc64Nvme(crc_fast::Digest),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

/// MD5 plus an optional S3 checksum over the same bytes.
pub struct BodyHasher {
    md5: Option<Md5State>,
    checksum: Option<(ChecksumAlgorithm, ChecksumState)>,
}

impl BodyHasher {
    pub fn new(algorithm: Option<ChecksumAlgorithm>) -> Self {
        Self {
            md5: Some(Md5State::new()),
            checksum: algorithm.map(|a| (a, checksum_state(a))),
        }
    }

    /// The requested checksum only; [`BodyHasher::finish`] then reports an
    /// all-zero MD5.
    pub fn checksum_only(algorithm: Option<ChecksumAlgorithm>) -> Self {
        Self {
            md5: None,
            checksum: algorithm.map(|a| (a, checksum_state(a))),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        if let Some(md5) = &mut self.md5 {
            md5.update(bytes);
        }
        if let Some((_, state)) = &mut self.checksum {
            match state {
                ChecksumState::Crc32(h) => h.update(bytes),
                ChecksumState::Crc32c(h) | ChecksumState::Crc64Nvme(h) => h.update(bytes),
                ChecksumState::Sha1(h) => sha1::Digest::update(h, bytes),
                ChecksumState::Sha256(h) => sha2::Digest::update(h, bytes),
            }
        }
    }

    /// The binary MD5 and the checksum in S3's base64 form.
    pub fn finish(self) -> ([u8; 16], Option<Checksum>) {
        let md5: [u8; 16] = self.md5.map(|m| m.finalize()).unwrap_or_default();
        let checksum = self.checksum.map(|(algorithm, state)| Checksum {
            algorithm,
            value_b64: base64::engine::general_purpose::STANDARD.encode(raw_digest(state)),
        });
        (md5, checksum)
    }
}

/// Most blocks one pass of [`Md5Lanes`] hashes side by side: two batches
/// of the widest SIMD unit's lanes (AVX-512: 16), which the crate
/// interleaves (32 streams measured cheapest per byte here); more would
/// make the first writers of a long queue wait for the last.
const MAX_LANES: usize = 32;

/// MD5 of many concurrent streams, hashed side by side in SIMD lanes.
///
/// One stream's MD5 is a chain (each 64-byte block needs the previous
/// one's result), ~1.05 ns/B on one core here; independent streams fill
/// SIMD lanes: 8 side by side cost ~0.33 ns/B, 16 ~0.15 ns/B (BENCHMARKS.md,
/// seventh session). A writer hands each block with its stream's state to
/// [`Md5Lanes::update`]; whoever finds no pass running becomes the hasher
/// (on the blocking pool) and hashes every queued block, its own and the
/// other uploads', until the queue is empty. Memory stays as before: each
/// upload has at most one block queued here (it awaits the answer before
/// the next), and the blocks are the ones its write budget already pays for.
pub(crate) struct Md5Lanes {
    engine: md5_many::Md5Many,
    queue: Mutex<LaneQueue>,
}

#[derive(Default)]
struct LaneQueue {
    jobs: Vec<LaneJob>,
    /// A pass is running (it will take every job queued before it ends).
    hashing: bool,
}

struct LaneJob {
    state: Md5State,
    block: Bytes,
    done: tokio::sync::oneshot::Sender<Md5State>,
}

impl Default for Md5Lanes {
    fn default() -> Self {
        Self {
            engine: md5_many::Md5Many::new(),
            queue: Mutex::default(),
        }
    }
}

/// A hasher's turn; dropped before it ended normally (a panic while
/// hashing), it hands the queue back and fails the queued jobs, so no
/// writer waits forever.
struct Turn<'a> {
    lanes: &'a Md5Lanes,
    over: bool,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if !self.over {
            let mut queue = self.lanes.lock();
            queue.hashing = false;
            queue.jobs.clear();
        }
    }
}

/// A hashing pass handed to the blocking pool. A pool that never runs it
/// (the runtime shutting down drops the task unrun) drops it instead: the
/// pass then runs where it is dropped, so the queued writers, which no
/// other pass will serve while this one is marked running, still get
/// their answers.
struct Pass(Option<Arc<Md5Lanes>>);

impl Pass {
    fn run(mut self) {
        if let Some(lanes) = self.0.take() {
            lanes.hash_queued();
        }
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        if let Some(lanes) = self.0.take() {
            lanes.hash_queued();
        }
    }
}

impl Md5Lanes {
    fn lock(&self) -> std::sync::MutexGuard<'_, LaneQueue> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `state` with `block` appended; `None` if the hashing failed (a
    /// panic in the hasher).
    pub async fn update(self: &Arc<Self>, state: Md5State, block: Bytes) -> Option<Md5State> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let start = {
            let mut queue = self.lock();
            queue.jobs.push(LaneJob { state, block, done });
            !std::mem::replace(&mut queue.hashing, true)
        };
        if start {
            let pass = Pass(Some(self.clone()));
            tokio::task::spawn_blocking(move || pass.run());
        }
        answer.await.ok()
    }

    /// Blocks a pass needs to hash them side by side: half the SIMD unit's
    /// lanes (8 with AVX-512), where the measured cost per byte falls to a
    /// third of one stream's.
    fn side_by_side_from(&self) -> usize {
        (self.engine.lanes() / 2).max(2)
    }

    /// Hashes queued blocks, up to [`MAX_LANES`] side by side per pass,
    /// until none is left.
    fn hash_queued(&self) {
        let mut turn = Turn {
            lanes: self,
            over: false,
        };
        loop {
            let mut jobs = {
                let mut queue = self.lock();
                if queue.jobs.is_empty() {
                    // Under the same lock as the check: a job queued after
                    // this finds no pass running and starts one.
                    queue.hashing = false;
                    turn.over = true;
                    return;
                }
                let take = queue.jobs.len().min(MAX_LANES);
                queue.jobs.drain(..take).collect::<Vec<_>>()
            };
            if jobs.len() < self.side_by_side_from() {
                // Too few to fill the lanes: a lane engine hashing 2–4
                // streams costs as much per byte as one stream alone, or
                // more (BENCHMARKS.md, seventh session), so each goes alone.
                for job in &mut jobs {
                    job.state.update(&job.block);
                }
            } else {
                let mut states: Vec<Md5State> = jobs.iter().map(|job| job.state).collect();
                let blocks: Vec<&[u8]> = jobs.iter().map(|job| job.block.as_ref()).collect();
                self.engine.update_many(&mut states, &blocks);
                for (job, state) in jobs.iter_mut().zip(states) {
                    job.state = state;
                }
            }
            for job in jobs {
                // A writer that gave up no longer listens.
                let _ = job.done.send(job.state);
            }
        }
    }
}

fn checksum_state(algorithm: ChecksumAlgorithm) -> ChecksumState {
    match algorithm {
        ChecksumAlgorithm::Crc32 => ChecksumState::Crc32(crc32fast::Hasher::new()),
        ChecksumAlgorithm::Crc32c => {
            ChecksumState::Crc32c(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi))
        }
        ChecksumAlgorithm::Crc64Nvme => {
            ChecksumState::Crc64Nvme(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Nvme))
        }
        ChecksumAlgorithm::Sha1 => ChecksumState::Sha1(sha1::Digest::new()),
        ChecksumAlgorithm::Sha256 => ChecksumState::Sha256(sha2::Digest::new()),
    }
}

fn raw_digest(state: ChecksumState) -> Vec<u8> {
    match state {
        ChecksumState::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
        ChecksumState::Crc32c(h) => (h.finalize() as u32).to_be_bytes().to_vec(),
        ChecksumState::Crc64Nvme(h) => h.finalize().to_be_bytes().to_vec(),
        ChecksumState::Sha1(h) => sha1::Digest::finalize(h).to_vec(),
        ChecksumState::Sha256(h) => sha2::Digest::finalize(h).to_vec(),
    }
}

/// Hashes `data` in one go with `algorithm` (for composite checksums).
pub fn digest(algorithm: ChecksumAlgorithm, data: &[u8]) -> Vec<u8> {
    let mut state = checksum_state(algorithm);
    match &mut state {
        ChecksumState::Crc32(h) => h.update(data),
        ChecksumState::Crc32c(h) | ChecksumState::Crc64Nvme(h) => h.update(data),
        ChecksumState::Sha1(h) => sha1::Digest::update(h, data),
        ChecksumState::Sha256(h) => sha2::Digest::update(h, data),
    }
    raw_digest(state)
}

/// The CRC of a whole object from the big-endian CRCs of its consecutive
/// pieces and their lengths (S3's FULL_OBJECT multipart checksum); `None`
/// for a non-CRC algorithm or a value of the wrong width.
pub fn combine_crcs(algorithm: ChecksumAlgorithm, pieces: &[(Vec<u8>, u64)]) -> Option<Vec<u8>> {
    let (crc_algorithm, width) = match algorithm {
        ChecksumAlgorithm::Crc32 => (crc_fast::CrcAlgorithm::Crc32IsoHdlc, 4),
        ChecksumAlgorithm::Crc32c => (crc_fast::CrcAlgorithm::Crc32Iscsi, 4),
        ChecksumAlgorithm::Crc64Nvme => (crc_fast::CrcAlgorithm::Crc64Nvme, 8),
        ChecksumAlgorithm::Sha1 | ChecksumAlgorithm::Sha256 => return None,
    };
    let mut combined: Option<u64> = None;
    for (raw, len) in pieces {
        if raw.len() != width {
            return None;
        }
        let crc = raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        combined = Some(match combined {
            None => crc,
            Some(before) => crc_fast::checksum_combine(crc_algorithm, before, crc, *len),
        });
    }
    let value = combined.unwrap_or(0);
    Some(value.to_be_bytes()[8 - width..].to_vec())
}

/// Decodes a base64 checksum value to raw bytes.
pub fn decode_b64(value: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(value).ok()
}

/// Encodes raw bytes as base64.
pub fn encode_b64(value: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checksum_of(algorithm: ChecksumAlgorithm, data: &[u8]) -> String {
        let mut hasher = BodyHasher::new(Some(algorithm));
        let (first, second) = data.split_at(data.len() / 2);
        hasher.update(first);
        hasher.update(second);
        hasher.finish().1.unwrap().value_b64
    }

    #[test]
    fn checksums_match_known_s3_values() {
        // Values for "hello world" as the AWS SDKs compute them.
        let data = b"hello world";
        assert_eq!(checksum_of(ChecksumAlgorithm::Crc32, data), "DUoRhQ==");
        assert_eq!(checksum_of(ChecksumAlgorithm::Crc32c, data), "yZRlqg==");
        assert_eq!(
            checksum_of(ChecksumAlgorithm::Sha1, data),
            "Kq5sNclPz7QV2+lfQIuc6R7oRu0="
        );
        assert_eq!(
            checksum_of(ChecksumAlgorithm::Sha256, data),
            "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="
        );
        assert_eq!(
            checksum_of(ChecksumAlgorithm::Crc64Nvme, data),
            "jSnVw/bqjr4="
        );
    }

    #[test]
    fn md5_is_the_etag_digest() {
        let mut hasher = BodyHasher::new(None);
        hasher.update(b"hello");
        assert_eq!(
            hex::encode(hasher.finish().0),
            "5d41402abc4b2a76b9719d911017c592"
        );
    }

    proptest::proptest! {
        /// S3's FULL_OBJECT multipart checksum: the part CRCs combined with
        /// their lengths equal the CRC of the whole object, for any split.
        #[test]
        fn combined_part_crcs_equal_the_whole_object_crc(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..4096),
            cuts in proptest::collection::vec(0usize..4096, 0..6),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.push(0);
            cuts.push(data.len());
            cuts.sort_unstable();
            for algorithm in [
                ChecksumAlgorithm::Crc32,
                ChecksumAlgorithm::Crc32c,
                ChecksumAlgorithm::Crc64Nvme,
            ] {
                let pieces: Vec<(Vec<u8>, u64)> = cuts
                    .windows(2)
                    .map(|w| (digest(algorithm, &data[w[0]..w[1]]), (w[1] - w[0]) as u64))
                    .collect();
                proptest::prop_assert_eq!(
                    combine_crcs(algorithm, &pieces),
                    Some(digest(algorithm, &data)),
                    "{} over {:?}", algorithm, cuts
                );
            }
        }
    }

    #[test]
    fn shas_do_not_combine() {
        let piece = (digest(ChecksumAlgorithm::Sha256, b"a"), 1);
        assert_eq!(combine_crcs(ChecksumAlgorithm::Sha256, &[piece]), None);
    }

    /// A waiter always gets its answer: a runtime shutting down drops the
    /// hashing pass it was asked to run, and the pass then runs inline.
    #[test]
    fn a_pass_the_blocking_pool_refuses_still_answers_its_waiters() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let handle = runtime.handle().clone();
        drop(runtime);
        let lanes = Arc::new(Md5Lanes::default());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _runtime = handle.enter();
            let answer = futures::executor::block_on(
                lanes.update(Md5State::new(), Bytes::from_static(b"abc")),
            );
            let _ = tx.send(answer.map(|state| state.finalize()));
        });
        let answer = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the writer still waits for its block's hash");
        assert_eq!(answer, Some(reference_md5(&[b"abc".to_vec()])));
    }

    /// md-5's digest of the concatenated chunks: the reference.
    fn reference_md5(chunks: &[Vec<u8>]) -> [u8; 16] {
        use md5::Digest as _;
        let mut hasher = md5::Md5::new();
        for chunk in chunks {
            hasher.update(chunk);
        }
        hasher.finalize().into()
    }

    /// Streams of chunks of any length (most not a multiple of MD5's
    /// 64-byte block), up to 40 streams, so passes of one lane, of several
    /// and of more than [`MAX_LANES`] are all taken.
    fn streams() -> impl proptest::strategy::Strategy<Value = Vec<Vec<Vec<u8>>>> {
        use proptest::collection::vec;
        vec(vec(vec(proptest::num::u8::ANY, 0..700), 0..6), 1..40)
    }

    proptest::proptest! {
        /// Blocks hashed side by side in one pass give each stream the
        /// digest md-5 gives it alone: every round queues one chunk per
        /// stream while a pass is running, then one pass hashes them all.
        #[test]
        fn md5_lanes_side_by_side_equal_md5_of_each_stream(streams in streams()) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(async {
                let lanes = Arc::new(Md5Lanes::default());
                let mut states = vec![Md5State::new(); streams.len()];
                let rounds = streams.iter().map(Vec::len).max().unwrap_or(0);
                for round in 0..rounds {
                    // As if a pass were running: the jobs queue, none starts one.
                    lanes.lock().hashing = true;
                    let mut waiting = Vec::new();
                    for (index, stream) in streams.iter().enumerate() {
                        if let Some(chunk) = stream.get(round) {
                            let (lanes, state) = (lanes.clone(), states[index]);
                            let block = Bytes::from(chunk.clone());
                            waiting.push((index, tokio::spawn(async move {
                                lanes.update(state, block).await
                            })));
                        }
                    }
                    while lanes.lock().jobs.len() < waiting.len() {
                        tokio::task::yield_now().await;
                    }
                    lanes.hash_queued();
                    proptest::prop_assert!(!lanes.lock().hashing);
                    for (index, task) in waiting {
                        states[index] = task.await.unwrap().expect("hashed");
                    }
                }
                for (state, stream) in states.iter().zip(&streams) {
                    proptest::prop_assert_eq!(state.finalize(), reference_md5(stream));
                }
                Ok(())
            })?;
        }

        /// Uploads that hash concurrently through one [`Md5Lanes`], each
        /// awaiting its block before sending the next (as the write
        /// pipeline does), get md-5's digest, and no pass is left running.
        #[test]
        fn concurrent_uploads_through_md5_lanes_get_md5_of_their_bodies(streams in streams()) {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap();
            runtime.block_on(async {
                let lanes = Arc::new(Md5Lanes::default());
                let uploads: Vec<_> = streams
                    .iter()
                    .cloned()
                    .map(|stream| {
                        let lanes = lanes.clone();
                        tokio::spawn(async move {
                            let mut state = Md5State::new();
                            for chunk in stream {
                                state = lanes.update(state, Bytes::from(chunk)).await.expect("hashed");
                            }
                            state.finalize()
                        })
                    })
                    .collect();
                for (upload, stream) in uploads.into_iter().zip(&streams) {
                    proptest::prop_assert_eq!(upload.await.unwrap(), reference_md5(stream));
                }
                proptest::prop_assert!(lanes.lock().jobs.is_empty());
                Ok(())
            })?;
        }
    }

    #[test]
    fn body_hasher_md5_equals_md5_of_the_whole_body_for_large_bodies() {
        // Several MiB in uneven pieces: the single-stream path over many
        // 64-byte blocks and partial ones.
        let body: Vec<u8> = (0..3_000_017u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut hasher = BodyHasher::new(None);
        for piece in body.chunks(65_537) {
            hasher.update(piece);
        }
        assert_eq!(hasher.finish().0, reference_md5(&[body]));
    }
}

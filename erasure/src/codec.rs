//! The Reed-Solomon codec for one block: encode a block into bitrot-framed shards, decode it back
//! from any `data` intact frames, and rebuild lost frames for healing.
//!
//! Every call works on one block and builds its output in a single allocation; the shards of at
//! most one block are ever held by a call.

use std::fmt;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use reed_solomon_erasure::galois_8::ReedSolomon;

use crate::frame::{is_intact, seal};
use crate::{ErasureError, BITROT_HASH_LEN};

/// Largest `data + parity` that GF(2^8) Reed-Solomon supports.
const MAX_TOTAL_SHARDS: usize = 256;

/// Reed-Solomon codec for blocks of at most `block_size` bytes split into `data` data shards and
/// `parity` parity shards. Cheap to clone and shareable across threads.
#[derive(Clone)]
pub struct ErasureCodec {
    data: usize,
    parity: usize,
    block_size: usize,
    /// `None` when `parity == 0`: the shards are then just the split block.
    /// Shared so that clones also share the library's cache of decode matrices.
    reed_solomon: Option<Arc<ReedSolomon>>,
}

impl fmt::Debug for ErasureCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErasureCodec")
            .field("data", &self.data)
            .field("parity", &self.parity)
            .field("block_size", &self.block_size)
            .finish()
    }
}

/// A block decoded by [`ErasureCodec::decode_block`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedBlock {
    /// Exactly `block_len` bytes of the block.
    pub data: Bytes,
    /// Ascending indices of shards found missing or corrupt, so the caller can queue a heal.
    /// Only shards the decode needed are hashed: when every data shard is intact, present parity
    /// frames are not examined (only absent ones are listed). Use
    /// [`ErasureCodec::scrub_block`] to check every frame.
    pub bad_shards: Vec<usize>,
}

/// A block decoded by [`ErasureCodec::decode_block_parts`], as parts in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedParts {
    /// Non-empty parts whose concatenation is exactly the block.
    pub parts: Vec<Bytes>,
    /// As [`DecodedBlock::bad_shards`].
    pub bad_shards: Vec<usize>,
}

/// All frames of a block after [`ErasureCodec::heal_block`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealedBlock {
    /// One intact frame per shard, index `i` for shard `i`.
    pub frames: Vec<Bytes>,
    /// Ascending indices of the frames that were missing or corrupt and have been rebuilt: the
    /// ones the caller has to write back.
    pub rebuilt: Vec<usize>,
}

impl ErasureCodec {
    /// Builds a codec for `data` data shards and `parity` parity shards over blocks of at most
    /// `block_size` bytes. Needs `data >= 1`, `data + parity <= 256` and `block_size >= 1`;
    /// `parity == 0` is allowed and means the shards are the plain split block.
    pub fn new(data: usize, parity: usize, block_size: usize) -> Result<Self, ErasureError> {
        if data == 0 {
            return Err(ErasureError::InvalidLayout(
                "at least one data shard is needed".into(),
            ));
        }
        if data + parity > MAX_TOTAL_SHARDS {
            return Err(ErasureError::InvalidLayout(format!(
                "{data} data + {parity} parity shards exceed the maximum of {MAX_TOTAL_SHARDS}"
            )));
        }
        if block_size == 0 {
            return Err(ErasureError::InvalidLayout(
                "block size must be at least one byte".into(),
            ));
        }
        let reed_solomon = if parity == 0 {
            None
        } else {
            Some(Arc::new(ReedSolomon::new(data, parity).map_err(
                |error| ErasureError::InvalidLayout(error.to_string()),
            )?))
        };
        Ok(ErasureCodec {
            data,
            parity,
            block_size,
            reed_solomon,
        })
    }

    /// Number of data shards.
    pub fn data_shards(&self) -> usize {
        self.data
    }

    /// Number of parity shards.
    pub fn parity_shards(&self) -> usize {
        self.parity
    }

    /// Number of shards: data plus parity.
    pub fn total_shards(&self) -> usize {
        self.data + self.parity
    }

    /// Largest block the codec accepts; every block of an object but the last has this size.
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// Encodes one block of `1..=block_size` bytes into `total_shards` frames, each
    /// `blake3(shard) ++ shard`. Frames `0..data` hold the block split in order (the last one
    /// zero-padded to the common shard length), the rest hold parity.
    ///
    /// An empty block is rejected with [`ErasureError::BlockLength`]: an empty object has no
    /// blocks (see [`ErasureCodec::block_count`]) and therefore no frames.
    ///
    /// All frames live in one allocation; the returned `Bytes` are views into it.
    pub fn encode_block(&self, block: &[u8]) -> Result<Vec<Bytes>, ErasureError> {
        self.check_block_len(block.len())?;
        let shard_len = self.shard_len(block.len());
        let frame_len = BITROT_HASH_LEN + shard_len;
        let total = self.total_shards();
        let mut frames = BytesMut::with_capacity(frame_len * total);
        let data_len = self.data * frame_len;
        for shard in block.chunks(shard_len) {
            let frame_start = frames.len();
            // Hash placeholder, filled by `seal` while the shard is still in cache.
            frames.resize(frame_start + BITROT_HASH_LEN, 0);
            frames.extend_from_slice(shard);
            // Zero padding of the last data shard.
            frames.resize(frame_start + frame_len, 0);
            seal(&mut frames[frame_start..]);
        }
        // Whole zero data shards when the block is shorter than `data` bytes.
        while frames.len() < data_len {
            let frame_start = frames.len();
            frames.resize(frame_start + frame_len, 0);
            seal(&mut frames[frame_start..]);
        }
        // Room for the parity shards.
        frames.resize(frame_len * total, 0);

        if let Some(reed_solomon) = &self.reed_solomon {
            let (data_frames, parity_frames) = frames.split_at_mut(data_len);
            let data_shards: Vec<&[u8]> = data_frames
                .chunks_exact(frame_len)
                .map(|frame| &frame[BITROT_HASH_LEN..])
                .collect();
            let mut parity_shards: Vec<&mut [u8]> = parity_frames
                .chunks_exact_mut(frame_len)
                .map(|frame| &mut frame[BITROT_HASH_LEN..])
                .collect();
            reed_solomon.encode_sep(&data_shards, &mut parity_shards)?;
        }
        frames[data_len..]
            .chunks_exact_mut(frame_len)
            .for_each(seal);
        Ok(split_into_frames(frames.freeze(), frame_len, total))
    }

    /// Decodes one block of `block_len` bytes from its frames (`None` = missing), one entry per
    /// shard. A frame with the wrong length or a failing hash counts as missing and is never
    /// returned as data. Every `None` entry is reported in `bad_shards`, so a caller that chose
    /// not to read some parity frames should ignore those indices rather than queue a heal.
    ///
    /// When all data frames are intact they are concatenated (one copy; none at all with a single
    /// data shard) and parity frames are not looked at. Otherwise parity frames are verified in
    /// index order until enough are found and the missing data is rebuilt; with fewer than `data`
    /// intact frames the result is [`ErasureError::TooFewShards`].
    pub fn decode_block(
        &self,
        framed: &[Option<Bytes>],
        block_len: usize,
    ) -> Result<DecodedBlock, ErasureError> {
        let DecodedParts { parts, bad_shards } = self.decode_block_parts(framed, block_len)?;
        let data = if parts.len() == 1 {
            parts.into_iter().next().expect("one part")
        } else {
            let mut data = BytesMut::with_capacity(block_len);
            for part in &parts {
                data.extend_from_slice(part);
            }
            data.freeze()
        };
        Ok(DecodedBlock { data, bad_shards })
    }

    /// Like [`ErasureCodec::decode_block`], but without concatenating: returns the block as a
    /// list of parts that are slices of the intact data frames (no copy at all) when every data
    /// shard is intact, or one rebuilt buffer otherwise. Suits a caller that streams the block
    /// out as separate chunks anyway.
    pub fn decode_block_parts(
        &self,
        framed: &[Option<Bytes>],
        block_len: usize,
    ) -> Result<DecodedParts, ErasureError> {
        self.check_frame_count(framed.len())?;
        self.check_block_len(block_len)?;
        let shard_len = self.shard_len(block_len);
        let intact =
            |frame: &Option<Bytes>| frame.as_ref().is_some_and(|f| is_intact(f, shard_len));

        let data_intact: Vec<bool> = framed[..self.data].iter().map(intact).collect();
        let mut bad_shards: Vec<usize> = (0..self.data).filter(|&i| !data_intact[i]).collect();
        let missing_data = bad_shards.len();

        if missing_data == 0 {
            bad_shards.extend((self.data..self.total_shards()).filter(|&i| framed[i].is_none()));
            let mut parts = Vec::with_capacity(self.data);
            let mut remaining = block_len;
            for frame in &framed[..self.data] {
                if remaining == 0 {
                    // Shards made only of padding (block shorter than `data` bytes).
                    break;
                }
                let take = remaining.min(shard_len);
                let frame = frame.as_ref().expect("intact");
                parts.push(frame.slice(BITROT_HASH_LEN..BITROT_HASH_LEN + take));
                remaining -= take;
            }
            return Ok(DecodedParts { parts, bad_shards });
        }

        // Pick the first `missing_data` intact parity frames; parity frames after those are not
        // needed, so they are not hashed (absent ones are still reported).
        let mut chosen_parity = Vec::with_capacity(missing_data);
        for (index, frame) in framed.iter().enumerate().skip(self.data) {
            if chosen_parity.len() == missing_data {
                if frame.is_none() {
                    bad_shards.push(index);
                }
            } else if intact(frame) {
                chosen_parity.push(index);
            } else {
                bad_shards.push(index);
            }
        }
        let have = self.data - missing_data + chosen_parity.len();
        let Some(reed_solomon) = self.reed_solomon.as_ref().filter(|_| have == self.data) else {
            return Err(ErasureError::TooFewShards {
                have,
                need: self.data,
            });
        };

        // One buffer: the data shards in order (missing ones zeroed, rebuilt in place), then the
        // chosen parity shards, which the library needs mutable even though it only reads them.
        let mut buffer = BytesMut::with_capacity((self.data + missing_data) * shard_len);
        for (frame, &is_intact) in framed.iter().zip(&data_intact) {
            if is_intact {
                buffer.extend_from_slice(payload(frame));
            } else {
                buffer.resize(buffer.len() + shard_len, 0);
            }
        }
        for &index in &chosen_parity {
            buffer.extend_from_slice(payload(&framed[index]));
        }
        {
            let (data_area, parity_area) = buffer.split_at_mut(self.data * shard_len);
            let mut shards: Vec<(&mut [u8], bool)> = Vec::with_capacity(self.total_shards());
            shards.extend(data_area.chunks_exact_mut(shard_len).zip(data_intact));
            let mut parity_shards = parity_area.chunks_exact_mut(shard_len);
            let mut chosen = chosen_parity.iter().peekable();
            for index in self.data..self.total_shards() {
                if chosen.next_if_eq(&&index).is_some() {
                    shards.push((parity_shards.next().expect("one slot per chosen"), true));
                } else {
                    shards.push((Default::default(), false));
                }
            }
            reed_solomon.reconstruct_data(&mut shards)?;
        }
        buffer.truncate(block_len);
        bad_shards.sort_unstable();
        Ok(DecodedParts {
            parts: vec![buffer.freeze()],
            bad_shards,
        })
    }

    /// For healing: rebuilds all frames (data and parity) of a block of `block_len` bytes from
    /// any `data` intact ones. Every present frame is verified.
    pub fn reconstruct_block(
        &self,
        framed: &[Option<Bytes>],
        block_len: usize,
    ) -> Result<Vec<Bytes>, ErasureError> {
        self.heal_block(framed, block_len)
            .map(|healed| healed.frames)
    }

    /// Like [`ErasureCodec::reconstruct_block`], and also says which frames were rebuilt.
    pub fn heal_block(
        &self,
        framed: &[Option<Bytes>],
        block_len: usize,
    ) -> Result<HealedBlock, ErasureError> {
        self.check_frame_count(framed.len())?;
        self.check_block_len(block_len)?;
        let shard_len = self.shard_len(block_len);
        let frame_len = BITROT_HASH_LEN + shard_len;
        let intact: Vec<bool> = framed
            .iter()
            .map(|frame| frame.as_ref().is_some_and(|f| is_intact(f, shard_len)))
            .collect();
        let rebuilt: Vec<usize> = (0..framed.len()).filter(|&i| !intact[i]).collect();
        if rebuilt.is_empty() {
            let frames = framed.iter().map(|f| f.clone().expect("intact")).collect();
            return Ok(HealedBlock { frames, rebuilt });
        }
        let have = framed.len() - rebuilt.len();
        let Some(reed_solomon) = self.reed_solomon.as_ref().filter(|_| have >= self.data) else {
            return Err(ErasureError::TooFewShards {
                have,
                need: self.data,
            });
        };

        let mut frames = BytesMut::with_capacity(frame_len * framed.len());
        for (frame, &is_intact) in framed.iter().zip(&intact) {
            match frame {
                Some(frame) if is_intact => frames.extend_from_slice(frame),
                _ => frames.resize(frames.len() + frame_len, 0),
            }
        }
        {
            let mut shards: Vec<(&mut [u8], bool)> = frames
                .chunks_exact_mut(frame_len)
                .map(|frame| &mut frame[BITROT_HASH_LEN..])
                .zip(intact.iter().copied())
                .collect();
            reed_solomon.reconstruct(&mut shards)?;
        }
        for &index in &rebuilt {
            seal(&mut frames[index * frame_len..(index + 1) * frame_len]);
        }
        let frames = split_into_frames(frames.freeze(), frame_len, framed.len());
        Ok(HealedBlock { frames, rebuilt })
    }

    /// Verifies every present frame of a block of `block_len` bytes and returns the ascending
    /// indices of missing or corrupt ones (a scrub; nothing is decoded).
    pub fn scrub_block(
        &self,
        framed: &[Option<Bytes>],
        block_len: usize,
    ) -> Result<Vec<usize>, ErasureError> {
        self.check_frame_count(framed.len())?;
        self.check_block_len(block_len)?;
        let shard_len = self.shard_len(block_len);
        Ok(framed
            .iter()
            .enumerate()
            .filter(|(_, frame)| !frame.as_ref().is_some_and(|f| is_intact(f, shard_len)))
            .map(|(index, _)| index)
            .collect())
    }

    /// Verifies one frame (expected length `BITROT_HASH_LEN + shard_len`, and hash) and returns
    /// its shard payload without copying; `None` when it is torn or rotten.
    pub fn verify_frame(&self, frame: &Bytes, shard_len: usize) -> Option<Bytes> {
        self.check_frame(frame, shard_len).ok()
    }

    /// Like [`ErasureCodec::verify_frame`], saying why a frame is rejected:
    /// [`ErasureError::ShardLength`] or [`ErasureError::BitrotMismatch`].
    pub fn check_frame(&self, frame: &Bytes, shard_len: usize) -> Result<Bytes, ErasureError> {
        let expected = BITROT_HASH_LEN + shard_len;
        if frame.len() != expected {
            return Err(ErasureError::ShardLength {
                expected,
                actual: frame.len(),
            });
        }
        if !is_intact(frame, shard_len) {
            return Err(ErasureError::BitrotMismatch);
        }
        Ok(frame.slice(BITROT_HASH_LEN..))
    }

    fn check_block_len(&self, len: usize) -> Result<(), ErasureError> {
        if len == 0 || len > self.block_size {
            return Err(ErasureError::BlockLength {
                len,
                block_size: self.block_size,
            });
        }
        Ok(())
    }

    fn check_frame_count(&self, count: usize) -> Result<(), ErasureError> {
        if count != self.total_shards() {
            return Err(ErasureError::ShardCount {
                expected: self.total_shards(),
                actual: count,
            });
        }
        Ok(())
    }
}

/// The payload of a frame already checked to be intact.
fn payload(frame: &Option<Bytes>) -> &[u8] {
    &frame.as_ref().expect("only called on intact frames")[BITROT_HASH_LEN..]
}

fn split_into_frames(mut frames: Bytes, frame_len: usize, count: usize) -> Vec<Bytes> {
    (0..count).map(|_| frames.split_to(frame_len)).collect()
}

//! Request bodies cut from one preallocated random buffer: every body is a
//! sequence of `Bytes` slices of that buffer (a reference-count bump, never a
//! copy), so the load generator spends no CPU producing data.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use rand::RngCore;

/// Bodies are handed to hyper in frames of at most this size, so a 1 GiB PUT
/// streams with bounded buffering.
const FRAME_SIZE: usize = 1 << 20;
/// Start offsets vary within this window so objects differ from one another.
const OFFSET_WINDOW: usize = 1 << 20;
/// Objects larger than this reuse the buffer cyclically.
const MAX_BUFFER: usize = 64 << 20;

/// The random source all bodies are sliced from.
#[derive(Clone)]
pub struct Payload {
    buf: Bytes,
}

impl Payload {
    /// A buffer large enough for objects up to `max_object` (capped at 64 MiB
    /// plus the offset window; larger objects wrap around).
    pub fn new(max_object: u64) -> Self {
        let len = (max_object as usize).min(MAX_BUFFER) + OFFSET_WINDOW;
        let mut buf = vec![0u8; len];
        rand::thread_rng().fill_bytes(&mut buf);
        Self { buf: buf.into() }
    }

    /// A start offset derived from `seed`, so different objects get different bytes.
    pub fn offset_for(&self, seed: u64) -> usize {
        (seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % OFFSET_WINDOW
    }

    /// One contiguous slice of `len` bytes (len ≤ buffer length − window).
    pub fn slice(&self, seed: u64, len: usize) -> Bytes {
        let start = self.offset_for(seed);
        if start + len <= self.buf.len() {
            self.buf.slice(start..start + len)
        } else {
            self.buf.slice(0..len.min(self.buf.len()))
        }
    }

    /// The chunks of an object of `size` bytes, each at most `FRAME_SIZE`.
    pub fn chunks(&self, seed: u64, size: u64) -> PayloadChunks {
        PayloadChunks {
            source: self.buf.clone(),
            pos: self.offset_for(seed),
            remaining: size,
        }
    }

    /// A request body of `size` bytes.
    pub fn body(&self, seed: u64, size: u64) -> PayloadBody {
        PayloadBody {
            chunks: self.chunks(seed, size),
        }
    }
}

/// An iterator over `Bytes` slices of the payload buffer.
pub struct PayloadChunks {
    source: Bytes,
    pos: usize,
    remaining: u64,
}

impl Iterator for PayloadChunks {
    type Item = Bytes;
    fn next(&mut self) -> Option<Bytes> {
        if self.remaining == 0 || self.source.is_empty() {
            return None;
        }
        if self.pos >= self.source.len() {
            self.pos = 0;
        }
        let len = (self.remaining as usize)
            .min(FRAME_SIZE)
            .min(self.source.len() - self.pos);
        let chunk = self.source.slice(self.pos..self.pos + len);
        self.pos += len;
        self.remaining -= len as u64;
        Some(chunk)
    }
}

/// An HTTP body over [`PayloadChunks`]; also carries small owned bodies (XML).
pub struct PayloadBody {
    chunks: PayloadChunks,
}

impl PayloadBody {
    pub fn empty() -> Self {
        Self::from_bytes(Bytes::new())
    }

    pub fn from_bytes(bytes: Bytes) -> Self {
        let remaining = bytes.len() as u64;
        Self {
            chunks: PayloadChunks {
                source: bytes,
                pos: 0,
                remaining,
            },
        }
    }

    pub fn len(&self) -> u64 {
        self.chunks.remaining
    }

    pub fn is_empty(&self) -> bool {
        self.chunks.remaining == 0
    }
}

impl Body for PayloadBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.chunks.next().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.chunks.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_exactly_the_object_size_even_beyond_the_buffer() {
        let payload = Payload::new(4096);
        for size in [0u64, 1, 4096, 3 << 20, 70 << 20] {
            let total: u64 = payload.chunks(7, size).map(|c| c.len() as u64).sum();
            assert_eq!(total, size);
            assert!(payload.chunks(7, size).all(|c| c.len() <= FRAME_SIZE));
        }
    }

    #[test]
    fn different_seeds_give_different_bytes() {
        let payload = Payload::new(4096);
        assert_ne!(payload.slice(1, 64), payload.slice(2, 64));
    }
}

//! The aws-chunked body decoder: `hex-size[;chunk-signature=sig]\r\n data
//! \r\n` ... `0...\r\n`, then trailer lines (`x-amz-checksum-crc32:...`,
//! `x-amz-trailer-signature:...`) and an empty line. Chunk and trailer
//! signatures are checked against the chain seeded by the request signature.
//!
//! The decoder is a pure state machine over incoming frames: data is handed
//! on as slices of those frames (no copy, nothing buffered beyond one header
//! or trailer line), and a chunk's signature is checked as its last byte goes
//! through. So a forged chunk is refused before end-of-stream, and the store,
//! which commits only at end-of-stream, never keeps it.

use std::sync::{Arc, OnceLock};

use bytes::{Buf, Bytes};
use sha2::{Digest, Sha256};

use super::sigv4::{parse_signature, signatures_equal, SigningContext, EMPTY_SHA256};
use super::AuthError;

/// Largest declared chunk accepted (SDKs send 64 KiB; MinIO caps at 16 MiB).
pub(crate) const MAX_CHUNK_SIZE: u64 = 16 << 20;
/// Longest chunk-header or trailer line.
const MAX_LINE: usize = 4096;
const MAX_TRAILERS: usize = 16;
const CHUNK_ALGORITHM: &str = "AWS4-HMAC-SHA256-PAYLOAD";
const TRAILER_ALGORITHM: &str = "AWS4-HMAC-SHA256-TRAILER";
const TRAILER_SIGNATURE: &str = "x-amz-trailer-signature";

/// The running signature chain of a signed aws-chunked body.
struct ChunkSigner {
    context: SigningContext,
    previous: [u8; 32],
    hasher: Sha256,
    claimed: [u8; 32],
}

/// Where a trailer's value goes (e.g. `x-amz-checksum-crc32` → the store's
/// deferred expected checksum), filled before the decoder reports its end.
pub(crate) struct TrailerSlot {
    /// Lower-case trailer name.
    pub(crate) name: String,
    pub(crate) value: Arc<OnceLock<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    ChunkHeader,
    Data {
        remaining: u64,
    },
    DataCr,
    DataLf,
    Trailers,
    /// The empty line closing a body without trailers.
    FinalLine,
    Done,
}

pub(crate) struct ChunkDecoder {
    signer: Option<ChunkSigner>,
    with_trailer: bool,
    slot: Option<TrailerSlot>,
    state: State,
    line: Vec<u8>,
    trailers: Vec<(String, String)>,
}

fn malformed(msg: &str) -> AuthError {
    AuthError::MalformedChunkedEncoding(msg.to_string())
}

impl ChunkDecoder {
    /// `signing`: `Some` for `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`
    /// (the context carries the seed signature). `with_trailer`: the body
    /// ends with trailer lines. `slot`: the trailer to hand on.
    pub(crate) fn new(
        signing: Option<SigningContext>,
        with_trailer: bool,
        slot: Option<TrailerSlot>,
    ) -> Self {
        Self {
            signer: signing.map(|context| ChunkSigner {
                previous: context.seed_signature,
                context,
                hasher: Sha256::new(),
                claimed: [0; 32],
            }),
            with_trailer,
            slot,
            state: State::ChunkHeader,
            line: Vec::new(),
            trailers: Vec::new(),
        }
    }

    /// Consumes bytes from `input`. Returns decoded payload (a slice of
    /// `input`) as soon as there is some; `Ok(None)` once `input` is used up
    /// without payload to hand on. Call again while `input` is not empty.
    pub(crate) fn decode(&mut self, input: &mut Bytes) -> Result<Option<Bytes>, AuthError> {
        while !input.is_empty() {
            match self.state {
                State::ChunkHeader => {
                    if !self.take_line(input, malformed)? {
                        return Ok(None);
                    }
                    self.start_chunk()?;
                }
                State::Data { remaining } => {
                    let n = remaining.min(input.len() as u64) as usize;
                    let data = input.split_to(n);
                    let remaining = remaining - n as u64;
                    if let Some(signer) = &mut self.signer {
                        signer.hasher.update(&data);
                    }
                    if remaining == 0 {
                        self.check_chunk_signature()?;
                        self.state = State::DataCr;
                    } else {
                        self.state = State::Data { remaining };
                    }
                    return Ok(Some(data));
                }
                State::DataCr | State::DataLf => {
                    let (expected, next) = if self.state == State::DataCr {
                        (b'\r', State::DataLf)
                    } else {
                        (b'\n', State::ChunkHeader)
                    };
                    if input[0] != expected {
                        return Err(malformed("chunk data is not followed by CRLF"));
                    }
                    input.advance(1);
                    self.state = next;
                }
                State::Trailers => {
                    if !self.take_line(input, |msg| AuthError::MalformedTrailer(msg.to_string()))? {
                        return Ok(None);
                    }
                    if self.line.is_empty() {
                        self.finish_trailers()?;
                        self.state = State::Done;
                    } else {
                        self.push_trailer()?;
                    }
                }
                State::FinalLine => {
                    if !self.take_line(input, malformed)? {
                        return Ok(None);
                    }
                    if !self.line.is_empty() {
                        return Err(malformed("unexpected data after the final chunk"));
                    }
                    self.state = State::Done;
                }
                State::Done => {
                    // Some clients end with an extra CRLF; anything else is not ours.
                    if input.iter().all(|b| matches!(b, b'\r' | b'\n')) {
                        input.clear();
                    } else {
                        return Err(malformed("unexpected data after the final chunk"));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Call at end of input: `Ok` if the body was complete (trailer values
    /// are in their slot by then), else the reason it was not.
    pub(crate) fn finish(&mut self) -> Result<(), AuthError> {
        match self.state {
            State::Done => Ok(()),
            // Tolerate a missing closing empty line.
            State::Trailers if self.line.is_empty() => {
                self.finish_trailers()?;
                self.state = State::Done;
                Ok(())
            }
            State::FinalLine if self.line.is_empty() => {
                self.state = State::Done;
                Ok(())
            }
            _ => Err(AuthError::IncompleteBody),
        }
    }

    /// Moves bytes up to and including the next LF into `self.line` (without
    /// the CRLF). Returns whether a whole line is there.
    fn take_line(
        &mut self,
        input: &mut Bytes,
        error: fn(&str) -> AuthError,
    ) -> Result<bool, AuthError> {
        match input.iter().position(|&b| b == b'\n') {
            Some(pos) => {
                if self.line.len() + pos > MAX_LINE {
                    return Err(error("line too long"));
                }
                self.line.extend_from_slice(&input[..pos]);
                input.advance(pos + 1);
                if self.line.pop() != Some(b'\r') {
                    return Err(error("line is not terminated by CRLF"));
                }
                Ok(true)
            }
            None => {
                if self.line.len() + input.len() > MAX_LINE + 1 {
                    return Err(error("line too long"));
                }
                self.line.extend_from_slice(input);
                input.clear();
                Ok(false)
            }
        }
    }

    fn start_chunk(&mut self) -> Result<(), AuthError> {
        let line =
            std::str::from_utf8(&self.line).map_err(|_| malformed("chunk header is not ASCII"))?;
        let (size, extension) = match line.split_once(';') {
            Some((size, extension)) => (size.trim(), Some(extension.trim())),
            None => (line.trim(), None),
        };
        if size.is_empty() || size.len() > 16 || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed("invalid chunk size"));
        }
        let size = u64::from_str_radix(size, 16).map_err(|_| malformed("invalid chunk size"))?;
        if size > MAX_CHUNK_SIZE {
            return Err(malformed("chunk size exceeds 16 MiB"));
        }
        if let Some(signer) = &mut self.signer {
            signer.claimed = extension
                .and_then(|e| e.strip_prefix("chunk-signature="))
                .and_then(parse_signature)
                .ok_or_else(|| malformed("missing or invalid chunk-signature"))?;
        }
        self.line.clear();
        if size == 0 {
            self.check_chunk_signature()?;
            self.state = if self.with_trailer {
                State::Trailers
            } else {
                State::FinalLine
            };
        } else {
            self.state = State::Data { remaining: size };
        }
        Ok(())
    }

    fn check_chunk_signature(&mut self) -> Result<(), AuthError> {
        let Some(signer) = &mut self.signer else {
            return Ok(());
        };
        let chunk_hash = signer.hasher.finalize_reset();
        let hashes = format!("{EMPTY_SHA256}\n{}", hex::encode(chunk_hash));
        let computed = signer
            .context
            .chained_signature(CHUNK_ALGORITHM, &signer.previous, &hashes);
        if !signatures_equal(&computed, &signer.claimed) {
            return Err(AuthError::SignatureDoesNotMatch);
        }
        signer.previous = computed;
        Ok(())
    }

    fn push_trailer(&mut self) -> Result<(), AuthError> {
        let bad = |msg: &str| AuthError::MalformedTrailer(msg.to_string());
        if self.trailers.len() >= MAX_TRAILERS {
            return Err(bad("too many trailers"));
        }
        let line = std::str::from_utf8(&self.line).map_err(|_| bad("trailer is not UTF-8"))?;
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad("trailer line without ':'"))?;
        let name = name.trim().to_ascii_lowercase();
        if name.is_empty() {
            return Err(bad("trailer with an empty name"));
        }
        self.trailers.push((name, value.trim().to_string()));
        self.line.clear();
        Ok(())
    }

    fn finish_trailers(&mut self) -> Result<(), AuthError> {
        let bad = |msg: String| AuthError::MalformedTrailer(msg);
        if let Some(signer) = &self.signer {
            let claimed = self
                .trailers
                .iter()
                .find(|(name, _)| name == TRAILER_SIGNATURE)
                .ok_or_else(|| bad(format!("missing {TRAILER_SIGNATURE}")))?;
            let claimed = parse_signature(&claimed.1)
                .ok_or_else(|| bad(format!("{TRAILER_SIGNATURE} is not 64 hex digits")))?;
            let mut signed: Vec<&(String, String)> = self
                .trailers
                .iter()
                .filter(|(name, _)| name != TRAILER_SIGNATURE)
                .collect();
            signed.sort();
            let mut hasher = Sha256::new();
            for (name, value) in signed {
                hasher.update(name.as_bytes());
                hasher.update(b":");
                hasher.update(value.as_bytes());
                hasher.update(b"\n");
            }
            let computed = signer.context.chained_signature(
                TRAILER_ALGORITHM,
                &signer.previous,
                &hex::encode(hasher.finalize()),
            );
            if !signatures_equal(&computed, &claimed) {
                return Err(AuthError::SignatureDoesNotMatch);
            }
        }
        if let Some(slot) = &self.slot {
            let (_, value) = self
                .trailers
                .iter()
                .find(|(name, _)| *name == slot.name)
                .ok_or_else(|| bad(format!("missing trailer {}", slot.name)))?;
            // A slot already set (by a retried decode) keeps its first value.
            let _ = slot.value.set(value.clone());
        }
        Ok(())
    }
}

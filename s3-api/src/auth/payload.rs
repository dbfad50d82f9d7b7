//! Request bodies as the store receives them: the payload mode named by
//! `x-amz-content-sha256` (unsigned, a signed SHA-256, aws-chunked signed or
//! unsigned with trailers) turned into a [`ByteStream`] that verifies while
//! it streams, plus the declared length and checksum the store checks.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};

use base64::Engine as _;
use bytes::Bytes;
use futures::Stream;
use sha2::{Digest, Sha256};
use store::api::{ByteStream, ChecksumAlgorithm, ExpectedChecksum, StoreError};

use super::chunked::{ChunkDecoder, TrailerSlot};
use super::sigv4::UNSIGNED_PAYLOAD;
use super::{AuthError, Authenticated};
use crate::BoxError;

const STREAMING_SIGNED: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
const STREAMING_SIGNED_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
const STREAMING_SIGV4A_PREFIX: &str = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD";
const CHECKSUM_HEADER_PREFIX: &str = "x-amz-checksum-";

/// A request body ready for the store.
pub struct VerifiedBody {
    /// The decoded payload; errors as `StoreError::Body(msg)`.
    pub stream: ByteStream,
    /// `x-amz-decoded-content-length` for aws-chunked bodies, else `Content-Length`.
    pub decoded_length: Option<u64>,
    /// From an `x-amz-checksum-*` header (`Known`) or announced by
    /// `x-amz-trailer` (`Deferred`, filled before the stream ends).
    pub checksum: Option<(ChecksumAlgorithm, ExpectedChecksum)>,
    /// Set when the stream failed for an auth or framing reason; the handler
    /// reports this instead of the store's `StoreError::Body`.
    pub failure: Arc<OnceLock<AuthError>>,
}

impl std::fmt::Debug for VerifiedBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedBody")
            .field("decoded_length", &self.decoded_length)
            .field("checksum", &self.checksum)
            .field("failure", &self.failure.get())
            .finish_non_exhaustive()
    }
}

/// Wraps `body` in the verification its payload mode needs. Fails at once
/// for an unusable header (unknown payload mode, bad checksum header,
/// missing decoded length); failures inside the body surface in the stream.
pub fn verified_body<B>(
    body: B,
    auth: &Authenticated,
    headers: &http::HeaderMap,
) -> Result<VerifiedBody, AuthError>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    // The mode is what the signature covers; anonymous requests may still
    // frame their body (unsigned trailers) or promise a SHA-256.
    let payload = match &auth.signed_payload {
        Some(payload) => Some(payload.as_str()),
        None => headers
            .get("x-amz-content-sha256")
            .map(|v| {
                v.to_str().map_err(|_| {
                    AuthError::InvalidArgument("x-amz-content-sha256 is not ASCII".into())
                })
            })
            .transpose()?,
    };
    let header_checksum = checksum_header(headers)?;
    let failure = Arc::new(OnceLock::new());

    let (mode, decoded_length, checksum) = match payload {
        None | Some(UNSIGNED_PAYLOAD) => (
            Mode::Plain,
            content_length(headers)?,
            header_checksum.map(|(alg, v)| (alg, ExpectedChecksum::Known(v))),
        ),
        Some(STREAMING_SIGNED | STREAMING_SIGNED_TRAILER | STREAMING_UNSIGNED_TRAILER) => {
            let payload = payload.unwrap_or_default();
            let signing = if payload == STREAMING_UNSIGNED_TRAILER {
                None
            } else {
                Some(auth.signing.clone().ok_or_else(|| {
                    AuthError::AccessDenied(
                        "a signed streaming payload needs a signed request".into(),
                    )
                })?)
            };
            let with_trailer = payload != STREAMING_SIGNED;
            let (slot, checksum) = match header_checksum {
                Some((alg, value)) => (None, Some((alg, ExpectedChecksum::Known(value)))),
                None if with_trailer => match trailer_checksum(headers)? {
                    Some(alg) => {
                        let value = Arc::new(OnceLock::new());
                        (
                            Some(TrailerSlot {
                                name: format!("{CHECKSUM_HEADER_PREFIX}{}", alg.header_suffix()),
                                value: value.clone(),
                            }),
                            Some((alg, ExpectedChecksum::Deferred(value))),
                        )
                    }
                    None => (None, None),
                },
                None => (None, None),
            };
            let decoded_length = headers
                .get("x-amz-decoded-content-length")
                .ok_or(AuthError::MissingContentLength)?;
            let decoded_length = parse_length(decoded_length, "x-amz-decoded-content-length")?;
            (
                Mode::Chunked(Box::new(ChunkDecoder::new(signing, with_trailer, slot))),
                Some(decoded_length),
                checksum,
            )
        }
        Some(other) if other.starts_with(STREAMING_SIGV4A_PREFIX) => {
            return Err(AuthError::NotImplemented(
                "SigV4a streaming payloads".into(),
            ));
        }
        Some(hash) => {
            let mut expected = [0u8; 32];
            if hash.len() != 64 || hex::decode_to_slice(hash, &mut expected).is_err() {
                return Err(AuthError::InvalidArgument(format!(
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a hex SHA-256, not {hash:?}"
                )));
            }
            (
                Mode::Sha256 {
                    hasher: Sha256::new(),
                    expected,
                },
                content_length(headers)?,
                header_checksum.map(|(alg, v)| (alg, ExpectedChecksum::Known(v))),
            )
        }
    };

    let stream = VerifyingStream {
        body: Box::pin(body),
        input: Bytes::new(),
        mode,
        failure: failure.clone(),
        done: false,
    };
    Ok(VerifiedBody {
        stream: Box::pin(stream),
        decoded_length,
        checksum,
        failure,
    })
}

fn parse_length(value: &http::HeaderValue, name: &str) -> Result<u64, AuthError> {
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| AuthError::InvalidArgument(format!("{name} is not a number")))
}

fn content_length(headers: &http::HeaderMap) -> Result<Option<u64>, AuthError> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .map(|v| parse_length(v, "Content-Length"))
        .transpose()
}

/// The one `x-amz-checksum-<alg>` header, its value checked to be base64 of
/// the algorithm's digest length.
pub(crate) fn checksum_header(
    headers: &http::HeaderMap,
) -> Result<Option<(ChecksumAlgorithm, String)>, AuthError> {
    let mut found = None;
    for (name, value) in headers {
        let Some(suffix) = name.as_str().strip_prefix(CHECKSUM_HEADER_PREFIX) else {
            continue;
        };
        let Some(algorithm) = algorithm_from_suffix(suffix) else {
            // x-amz-checksum-mode, x-amz-checksum-type, ...
            continue;
        };
        if found.is_some() {
            return Err(AuthError::InvalidArgument(
                "expecting a single x-amz-checksum- header; multiple checksum types are not allowed"
                    .into(),
            ));
        }
        // S3 answers InvalidRequest "Value for x-amz-checksum-crc32 header is
        // invalid." for bad base64 or a digest of the wrong length.
        let invalid = || AuthError::InvalidChecksumValue(name.to_string());
        let value = value.to_str().map_err(|_| invalid())?.trim();
        let digest_len = base64::engine::general_purpose::STANDARD
            .decode(value)
            .map_err(|_| invalid())?
            .len();
        if digest_len != digest_length(algorithm) {
            return Err(invalid());
        }
        found = Some((algorithm, value.to_string()));
    }
    Ok(found)
}

/// The checksum announced by `x-amz-trailer` (e.g. `x-amz-checksum-crc32`).
fn trailer_checksum(headers: &http::HeaderMap) -> Result<Option<ChecksumAlgorithm>, AuthError> {
    let Some(trailer) = headers.get("x-amz-trailer") else {
        return Ok(None);
    };
    let trailer = trailer
        .to_str()
        .map_err(|_| AuthError::InvalidArgument("x-amz-trailer is not ASCII".into()))?;
    let mut found = None;
    for name in trailer.split(',').map(|n| n.trim().to_ascii_lowercase()) {
        if let Some(algorithm) = name
            .strip_prefix(CHECKSUM_HEADER_PREFIX)
            .and_then(algorithm_from_suffix)
        {
            if found.replace(algorithm).is_some() {
                return Err(AuthError::InvalidArgument(
                    "expecting a single x-amz-checksum- trailer".into(),
                ));
            }
        }
    }
    match found {
        Some(algorithm) => Ok(Some(algorithm)),
        None => Err(AuthError::InvalidArgument(format!(
            "unsupported x-amz-trailer {trailer:?}"
        ))),
    }
}

fn algorithm_from_suffix(suffix: &str) -> Option<ChecksumAlgorithm> {
    [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ]
    .into_iter()
    .find(|a| a.header_suffix().eq_ignore_ascii_case(suffix))
}

fn digest_length(algorithm: ChecksumAlgorithm) -> usize {
    match algorithm {
        ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
        ChecksumAlgorithm::Crc64Nvme => 8,
        ChecksumAlgorithm::Sha1 => 20,
        ChecksumAlgorithm::Sha256 => 32,
    }
}

enum Mode {
    Plain,
    Sha256 { hasher: Sha256, expected: [u8; 32] },
    Chunked(Box<ChunkDecoder>),
}

/// The stream behind [`VerifiedBody::stream`].
struct VerifyingStream<B> {
    body: Pin<Box<B>>,
    /// Undecoded bytes of the current frame (aws-chunked only).
    input: Bytes,
    mode: Mode,
    failure: Arc<OnceLock<AuthError>>,
    done: bool,
}

impl<B> VerifyingStream<B> {
    fn fail(&mut self, error: AuthError) -> Poll<Option<Result<Bytes, StoreError>>> {
        self.done = true;
        let message = error.to_string();
        let _ = self.failure.set(error);
        Poll::Ready(Some(Err(StoreError::Body(message))))
    }
}

impl<B> Stream for VerifyingStream<B>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Item = Result<Bytes, StoreError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            if let Mode::Chunked(decoder) = &mut this.mode {
                if !this.input.is_empty() {
                    match decoder.decode(&mut this.input) {
                        Ok(Some(data)) => return Poll::Ready(Some(Ok(data))),
                        Ok(None) => {}
                        Err(error) => return this.fail(error),
                    }
                }
            }
            match ready!(this.body.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        // HTTP trailers: S3 carries its trailers inside aws-chunked.
                        continue;
                    };
                    if data.is_empty() {
                        continue;
                    }
                    match &mut this.mode {
                        Mode::Plain => return Poll::Ready(Some(Ok(data))),
                        Mode::Sha256 { hasher, .. } => {
                            hasher.update(&data);
                            return Poll::Ready(Some(Ok(data)));
                        }
                        Mode::Chunked(_) => this.input = data,
                    }
                }
                Some(Err(error)) => {
                    let error: BoxError = error.into();
                    tracing::debug!(%error, "request body failed");
                    if error.is::<crate::handlers::idle_body::BodyIdleTimeout>() {
                        return this.fail(AuthError::RequestTimeout);
                    }
                    return this.fail(AuthError::IncompleteBody);
                }
                None => {
                    let outcome = match &mut this.mode {
                        Mode::Plain => Ok(()),
                        Mode::Sha256 { hasher, expected } => {
                            let actual: [u8; 32] = hasher.finalize_reset().into();
                            if &actual == expected {
                                Ok(())
                            } else {
                                Err(AuthError::ContentSha256Mismatch)
                            }
                        }
                        Mode::Chunked(decoder) => decoder.finish(),
                    };
                    if let Err(error) = outcome {
                        return this.fail(error);
                    }
                    this.done = true;
                    return Poll::Ready(None);
                }
            }
        }
    }
}

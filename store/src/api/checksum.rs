//! Checksum types of the storage API: the algorithms S3 clients may ask
//! for, how a multipart checksum is formed, a checksum value, and what a
//! client promised for a body (possibly only in its trailer).

use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

/// Checksum algorithms S3 clients may ask for (`x-amz-checksum-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChecksumAlgorithm {
    /// CRC-32 (ISO-HDLC), as `crc32fast` computes it.
    Crc32,
    /// CRC-32C (Castagnoli).
    Crc32c,
    /// CRC-64/NVME.
    Crc64Nvme,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl ChecksumAlgorithm {
    /// The header suffix / XML name, e.g. `crc32` for `x-amz-checksum-crc32`.
    pub fn header_suffix(self) -> &'static str {
        match self {
            Self::Crc32 => "crc32",
            Self::Crc32c => "crc32c",
            Self::Crc64Nvme => "crc64nvme",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
        }
    }
    /// The value of `x-amz-sdk-checksum-algorithm`, e.g. `CRC32`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Crc64Nvme => "CRC64NVME",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
        }
    }
    /// Parses `CRC32`, `crc32`, ... (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Crc32,
            Self::Crc32c,
            Self::Crc64Nvme,
            Self::Sha1,
            Self::Sha256,
        ]
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(s))
    }
}

impl std::fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a multipart object's checksum is formed (`x-amz-checksum-type`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChecksumType {
    /// The checksum of the concatenated binary part checksums, shown as `value-N`.
    #[default]
    Composite,
    /// The CRC of the whole object, combined from the part CRCs (CRCs only).
    FullObject,
}

impl ChecksumType {
    /// The header / XML value: `COMPOSITE` or `FULL_OBJECT`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Composite => "COMPOSITE",
            Self::FullObject => "FULL_OBJECT",
        }
    }
    /// Parses `COMPOSITE` / `FULL_OBJECT` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Composite, Self::FullObject]
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
    }
    /// Whether AWS allows this type with `algorithm`: CRC64NVME is full-object
    /// only, the SHAs composite only, CRC32 and CRC32C either.
    pub fn allows(self, algorithm: ChecksumAlgorithm) -> bool {
        !matches!(
            (self, algorithm),
            (Self::Composite, ChecksumAlgorithm::Crc64Nvme)
                | (
                    Self::FullObject,
                    ChecksumAlgorithm::Sha1 | ChecksumAlgorithm::Sha256
                )
        )
    }
}

/// What CompleteMultipartUpload asks the store to check beyond the part list.
#[derive(Debug, Clone, Default)]
pub struct CompleteChecks {
    /// The checksum the request lists for each part (same order as the
    /// parts); a listed value that differs from the stored part's is
    /// `InvalidPart`.
    pub part_checksums: Vec<Option<Checksum>>,
    /// A whole-object checksum the client sent; a mismatch is `BadChecksum`.
    pub object_checksum: Option<Checksum>,
}

/// A checksum value as S3 shows it: base64 of the big-endian digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    /// Which algorithm produced the value.
    pub algorithm: ChecksumAlgorithm,
    /// Base64 of the big-endian digest; multipart composites end in `-N`.
    pub value_b64: String,
}

/// The checksum a client promised for a body. The value may arrive only at
/// the end of the body (aws-chunked trailer): the body decoder fills the
/// `Deferred` slot before it yields end-of-stream, and the store reads it after
/// the stream ended.
#[derive(Debug, Clone)]
pub enum ExpectedChecksum {
    /// Sent in a header before the body.
    Known(String),
    /// Arrives in a trailer; filled before end-of-stream.
    Deferred(Arc<OnceLock<String>>),
}

impl ExpectedChecksum {
    /// The promised base64 value, if it has arrived.
    pub fn value(&self) -> Option<String> {
        match self {
            Self::Known(v) => Some(v.clone()),
            Self::Deferred(slot) => slot.get().cloned(),
        }
    }
}

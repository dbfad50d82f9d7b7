//! The storage API: traits the HTTP layer and the lifecycle scanner use, the
//! request/response types they exchange, and `StoreError`.
//!
//! Nothing here knows about HTTP or S3 error codes; `s3-api/src/error.rs` maps
//! `StoreError` to S3 codes in one place.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use bytes::Bytes;
use futures::Stream;
use serde::{Deserialize, Serialize};

/// A stream of body bytes. The HTTP layer hands request bodies to the store as
/// one of these, and the store hands object bodies back the same way.
///
/// An `Err` item aborts the operation: a PUT that sees one commits nothing.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, StoreError>> + Send + 'static>>;

/// Errors of the storage engine.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("bucket name is invalid: {0}")]
    InvalidBucketName(String),
    #[error("bucket does not exist: {0}")]
    NoSuchBucket(String),
    #[error("bucket already exists: {0}")]
    BucketAlreadyExists(String),
    #[error("bucket is not empty: {0}")]
    BucketNotEmpty(String),
    #[error("object does not exist: {bucket}/{key}")]
    NoSuchKey { bucket: String, key: String },
    #[error("object key is invalid: {0}")]
    InvalidKey(String),
    #[error("object key is too long")]
    KeyTooLong,
    #[error("upload does not exist: {0}")]
    NoSuchUpload(String),
    #[error("part {0} is invalid or its ETag does not match")]
    InvalidPart(u32),
    #[error("parts are not in ascending order")]
    InvalidPartOrder,
    #[error("part {part} is {size} bytes, smaller than the 5 MiB minimum")]
    EntityTooSmall { part: u32, size: u64 },
    #[error("object or part is too large")]
    EntityTooLarge,
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("requested range is not satisfiable")]
    InvalidRange,
    #[error("the Content-MD5 does not match the body")]
    BadDigest,
    #[error("the {algorithm} checksum does not match the body")]
    BadChecksum { algorithm: ChecksumAlgorithm },
    #[error("the body ended before its declared length")]
    IncompleteBody,
    /// The request body stream failed (bad chunk signature, client went away...).
    /// The string is for logs; the HTTP layer keeps its own precise error.
    #[error("request body failed: {0}")]
    Body(String),
    #[error("not enough drives online for a write: {online} online, {needed} needed")]
    WriteQuorum { online: usize, needed: usize },
    #[error("not enough healthy drives to read: {online} usable, {needed} needed")]
    ReadQuorum { online: usize, needed: usize },
    #[error("data is corrupt beyond repair: {0}")]
    Corrupt(String),
    #[error("drive {drive}: {message}")]
    DriveConfig { drive: String, message: String },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Checksum algorithms S3 clients may ask for (`x-amz-checksum-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChecksumAlgorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
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

/// A checksum value as S3 shows it: base64 of the big-endian digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    pub algorithm: ChecksumAlgorithm,
    pub value_b64: String,
}

/// The checksum a client promised for a body. The value may arrive only at
/// the end of the body (aws-chunked trailer): the body decoder fills the
/// `Deferred` slot before it yields end-of-stream, and the store reads it after
/// the stream ended.
#[derive(Debug, Clone)]
pub enum ExpectedChecksum {
    Known(String),
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

/// What a PUT (or CreateMultipartUpload, or a copy with REPLACE) asks the
/// store to remember about an object beyond its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectAttributes {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    /// The `Expires` header, stored verbatim.
    pub expires: Option<String>,
    /// `x-amz-meta-*` without the prefix, keys lower-cased.
    pub user_metadata: BTreeMap<String, String>,
    /// Object tags (`x-amz-tagging`), used by lifecycle filters.
    pub tags: BTreeMap<String, String>,
}

/// Options of a single-part PUT or an UploadPart.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    pub attributes: ObjectAttributes,
    /// The exact body length when the client declared it (Content-Length or
    /// `x-amz-decoded-content-length`). A body that ends early or runs long
    /// fails with `IncompleteBody` / `InvalidArgument` and commits nothing.
    pub size: Option<u64>,
    /// Content-MD5 as raw 16 bytes: mismatch → `BadDigest`.
    pub content_md5: Option<[u8; 16]>,
    /// Checksum to compute while streaming, verify against `expected_checksum`
    /// (mismatch → `BadChecksum`) and store with the object.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    pub expected_checksum: Option<ExpectedChecksum>,
}

/// A byte range to read, already resolved against nothing: the store resolves
/// it against the object size and answers `InvalidRange` when unsatisfiable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=a-b` (inclusive) or `bytes=a-` when `last` is `None`.
    FromTo { first: u64, last: Option<u64> },
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

/// One part of a multipart object as recorded in its metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartInfo {
    pub number: u32,
    pub size: u64,
    /// Quoted-free hex MD5 of the part.
    pub etag: String,
    pub last_modified: SystemTime,
    pub checksum: Option<Checksum>,
}

/// What HEAD returns, and what GET returns beside the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    /// Without quotes: hex MD5, or `hex-N` for multipart objects.
    pub etag: String,
    pub last_modified: SystemTime,
    pub attributes: ObjectAttributes,
    /// Full-object checksum, when one was stored.
    pub checksum: Option<Checksum>,
    /// Number of parts for multipart objects (0 for single-part puts).
    pub parts_count: u32,
}

/// An object body being read: the resolved range and the byte stream.
pub struct ObjectReader {
    pub info: ObjectInfo,
    /// The inclusive byte range being returned (`None` = the whole object).
    pub range: Option<(u64, u64)>,
    pub body: ByteStream,
}

/// Listing parameters (ListObjects v1 and v2 both map onto this).
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub prefix: String,
    pub delimiter: Option<String>,
    /// Return keys strictly greater than this (v1 marker, v2 start-after or
    /// the decoded continuation token, whichever is greater).
    pub start_after: Option<String>,
    /// 0..=1000; the store caps it at 1000.
    pub max_keys: usize,
}

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSummary {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub last_modified: SystemTime,
}

/// A page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    pub objects: Vec<ObjectSummary>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// The last key or common prefix returned; pass it back as `start_after`.
    pub next_marker: Option<String>,
}

/// A bucket as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketInfo {
    pub name: String,
    pub created: SystemTime,
}

/// Per-bucket settings stored with quorum. The store keeps the bytes; their
/// meaning (policy JSON, lifecycle XML, CORS XML) belongs to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BucketSetting {
    Policy,
    Lifecycle,
    Cors,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadInfo {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub initiated: SystemTime,
    pub attributes: ObjectAttributes,
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
}

/// A part named in CompleteMultipartUpload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletePart {
    pub number: u32,
    /// With or without quotes; the store compares without them.
    pub etag: String,
}

/// Parameters of ListMultipartUploads.
#[derive(Debug, Clone, Default)]
pub struct ListUploadsParams {
    pub prefix: String,
    pub key_marker: Option<String>,
    pub upload_id_marker: Option<String>,
    pub max_uploads: usize,
}

/// A page of ListMultipartUploads.
#[derive(Debug, Clone, Default)]
pub struct UploadsPage {
    pub uploads: Vec<UploadInfo>,
    pub is_truncated: bool,
    pub next_key_marker: Option<String>,
    pub next_upload_id_marker: Option<String>,
}

/// A page of ListParts.
#[derive(Debug, Clone, Default)]
pub struct PartsPage {
    pub upload: Option<UploadInfo>,
    pub parts: Vec<PartInfo>,
    pub is_truncated: bool,
    pub next_part_number_marker: Option<u32>,
}

/// What a heal pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealReport {
    pub objects_scanned: u64,
    /// Objects where at least one shard or metadata file was rewritten.
    pub objects_healed: u64,
    /// Objects that could not be made whole (fewer than `data` good shards).
    pub objects_failed: u64,
    pub bytes_rebuilt: u64,
}

/// State of one drive, for start-up messages, health and `admin info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveStatus {
    pub index: usize,
    pub path: String,
    pub online: bool,
    /// Formatted fresh at this start (a new or replaced drive).
    pub fresh: bool,
    pub total_bytes: u64,
    pub free_bytes: u64,
}

/// Object reads, writes and deletes.
#[allow(async_fn_in_trait)]
pub trait ObjectStore: Send + Sync {
    /// Streams `body` into a new object and commits it atomically. Returns the
    /// committed object's info. Nothing is visible unless this returns `Ok`.
    fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: ByteStream,
        opts: PutOptions,
    ) -> impl std::future::Future<Output = Result<ObjectInfo, StoreError>> + Send;

    /// Opens an object for reading (optionally a range). The metadata is read
    /// and checked before this returns, so callers may evaluate conditional
    /// headers on `info` and drop the reader without reading the body.
    fn get_object(
        &self,
        bucket: &str,
        key: &str,
        range: Option<ByteRange>,
    ) -> impl std::future::Future<Output = Result<ObjectReader, StoreError>> + Send;

    fn head_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl std::future::Future<Output = Result<ObjectInfo, StoreError>> + Send;

    /// Deletes an object. Deleting a missing key in an existing bucket is Ok
    /// (S3 semantics); a missing bucket is `NoSuchBucket`.
    fn delete_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;

    /// Replaces the attributes of an existing object without rewriting its
    /// data (copy-to-self with REPLACE). Returns the new info.
    fn update_attributes(
        &self,
        bucket: &str,
        key: &str,
        attributes: ObjectAttributes,
    ) -> impl std::future::Future<Output = Result<ObjectInfo, StoreError>> + Send;

    fn list_objects(
        &self,
        bucket: &str,
        params: ListParams,
    ) -> impl std::future::Future<Output = Result<ListPage, StoreError>> + Send;
}

/// Buckets and their settings.
#[allow(async_fn_in_trait)]
pub trait Catalog: Send + Sync {
    fn create_bucket(
        &self,
        bucket: &str,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    fn head_bucket(
        &self,
        bucket: &str,
    ) -> impl std::future::Future<Output = Result<BucketInfo, StoreError>> + Send;
    fn list_buckets(
        &self,
    ) -> impl std::future::Future<Output = Result<Vec<BucketInfo>, StoreError>> + Send;
    /// Fails with `BucketNotEmpty` unless the bucket has no objects and no
    /// multipart uploads.
    fn delete_bucket(
        &self,
        bucket: &str,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    fn get_bucket_setting(
        &self,
        bucket: &str,
        setting: BucketSetting,
    ) -> impl std::future::Future<Output = Result<Option<Bytes>, StoreError>> + Send;
    /// `None` removes the setting.
    fn put_bucket_setting(
        &self,
        bucket: &str,
        setting: BucketSetting,
        value: Option<Bytes>,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Server-wide configuration blobs (identity data, scanner cursor...),
    /// stored with quorum under the system area of every drive. `name` is a
    /// plain file name (`[A-Za-z0-9._-]+`).
    fn get_system_blob(
        &self,
        name: &str,
    ) -> impl std::future::Future<Output = Result<Option<Bytes>, StoreError>> + Send;
    fn put_system_blob(
        &self,
        name: &str,
        value: Option<Bytes>,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
}

/// Multipart uploads.
#[allow(async_fn_in_trait)]
pub trait MultipartStore: Send + Sync {
    fn create_multipart(
        &self,
        bucket: &str,
        key: &str,
        attributes: ObjectAttributes,
        checksum_algorithm: Option<ChecksumAlgorithm>,
    ) -> impl std::future::Future<Output = Result<UploadInfo, StoreError>> + Send;
    /// Stores one part (replacing an earlier part with the same number).
    fn put_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: ByteStream,
        opts: PutOptions,
    ) -> impl std::future::Future<Output = Result<PartInfo, StoreError>> + Send;
    fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number_marker: Option<u32>,
        max_parts: usize,
    ) -> impl std::future::Future<Output = Result<PartsPage, StoreError>> + Send;
    /// Validates the part list and commits the object atomically.
    fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: Vec<CompletePart>,
    ) -> impl std::future::Future<Output = Result<ObjectInfo, StoreError>> + Send;
    fn abort_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    fn list_uploads(
        &self,
        bucket: &str,
        params: ListUploadsParams,
    ) -> impl std::future::Future<Output = Result<UploadsPage, StoreError>> + Send;
}

/// Repair and drive state.
#[allow(async_fn_in_trait)]
pub trait Maintenance: Send + Sync {
    /// Rebuilds missing or corrupt shards/metadata of one object.
    fn heal_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl std::future::Future<Output = Result<HealReport, StoreError>> + Send;
    /// Heals every object under `prefix` of `bucket`, or of every bucket when
    /// `bucket` is `None` (also re-creates bucket folders and settings on
    /// drives that lack them).
    fn heal(
        &self,
        bucket: Option<&str>,
        prefix: &str,
    ) -> impl std::future::Future<Output = Result<HealReport, StoreError>> + Send;
    /// Current state of every drive (re-checks that each is reachable).
    fn drive_status(&self) -> impl std::future::Future<Output = Vec<DriveStatus>> + Send;
    /// `(data, parity)` of the default storage class.
    fn erasure_layout(&self) -> (usize, usize);
}

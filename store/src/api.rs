//! The storage API: traits the HTTP layer and the lifecycle scanner use, the
//! request/response types they exchange, and `StoreError`.
//!
//! Nothing here knows about HTTP or S3 error codes; `s3-api/src/error.rs` maps
//! `StoreError` to S3 codes in one place.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::time::SystemTime;

use bytes::Bytes;
use futures::Stream;
use serde::{Deserialize, Serialize};

mod checksum;
pub use checksum::{Checksum, ChecksumAlgorithm, ChecksumType, CompleteChecks, ExpectedChecksum};

/// A stream of body bytes. The HTTP layer hands request bodies to the store as
/// one of these, and the store hands object bodies back the same way.
///
/// An `Err` item aborts the operation: a PUT that sees one commits nothing.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, StoreError>> + Send + 'static>>;

/// Errors of the storage engine. `s3-api/src/error.rs` maps each to an S3
/// code; quorum errors become 503 `SlowDown`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The bucket name breaks S3's naming rules (the string says which).
    #[error("bucket name is invalid: {0}")]
    InvalidBucketName(String),
    /// The named bucket does not exist.
    #[error("bucket does not exist: {0}")]
    NoSuchBucket(String),
    /// CreateBucket of a bucket that exists (this is a single-tenant store).
    #[error("bucket already exists: {0}")]
    BucketAlreadyExists(String),
    /// DeleteBucket of a bucket with objects or uploads.
    #[error("bucket is not empty: {0}")]
    BucketNotEmpty(String),
    /// No committed version of the object is readable.
    #[error("object does not exist: {bucket}/{key}")]
    NoSuchKey {
        /// The bucket asked for.
        bucket: String,
        /// The key asked for.
        key: String,
    },
    /// The key cannot be stored (empty).
    #[error("object key is invalid: {0}")]
    InvalidKey(String),
    /// The key is longer than 1024 bytes.
    #[error("object key is too long")]
    KeyTooLong,
    /// The upload id names no upload of this bucket and key.
    #[error("upload does not exist: {0}")]
    NoSuchUpload(String),
    /// A part named in CompleteMultipartUpload is missing or its ETag differs.
    #[error("part {0} is invalid or its ETag does not match")]
    InvalidPart(u32),
    /// Part numbers in CompleteMultipartUpload are not strictly ascending.
    #[error("parts are not in ascending order")]
    InvalidPartOrder,
    /// A part other than the last is below 5 MiB.
    #[error("part {part} is {size} bytes, smaller than the 5 MiB minimum")]
    EntityTooSmall {
        /// The part number.
        part: u32,
        /// Its size in bytes.
        size: u64,
    },
    /// Above 5 TiB for an object or 5 GiB for a part.
    #[error("object or part is too large")]
    EntityTooLarge,
    /// A request parameter is out of range (the string says which).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The range starts past the end of the object (or the object is empty).
    #[error("requested range is not satisfiable")]
    InvalidRange,
    /// The body's MD5 differs from Content-MD5.
    #[error("the Content-MD5 does not match the body")]
    BadDigest,
    /// The body's checksum differs from the one the client sent.
    #[error("the {algorithm} checksum does not match the body")]
    BadChecksum {
        /// The algorithm that was checked.
        algorithm: ChecksumAlgorithm,
    },
    /// The body ended before its declared length.
    #[error("the body ended before its declared length")]
    IncompleteBody,
    /// The request body stream failed (bad chunk signature, client went away...).
    /// The string is for logs; the HTTP layer keeps its own precise error.
    #[error("request body failed: {0}")]
    Body(String),
    /// Too few drives took the write; nothing was committed.
    #[error("not enough drives online for a write: {online} online, {needed} needed")]
    WriteQuorum {
        /// Drives that took the write (or were online).
        online: usize,
        /// Drives a write needs.
        needed: usize,
    },
    /// Too few drives agree on, or hold intact shards of, the data.
    #[error("not enough healthy drives to read: {online} usable, {needed} needed")]
    ReadQuorum {
        /// Drives that were usable.
        online: usize,
        /// Drives a read needs (the data shard count).
        needed: usize,
    },
    /// Stored data fails its checks and cannot be rebuilt.
    #[error("data is corrupt beyond repair: {0}")]
    Corrupt(String),
    /// A drive cannot be used as configured (wrong deployment, wrong order...).
    #[error("drive {drive}: {message}")]
    DriveConfig {
        /// The drive folder.
        drive: String,
        /// What is wrong and what to do about it.
        message: String,
    },
    /// An I/O error that is not a drive failure handled by quorum.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A bug or an unexpected state.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a PUT (or CreateMultipartUpload, or a copy with REPLACE) asks the
/// store to remember about an object beyond its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectAttributes {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Cache-Control`.
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
    /// Headers and metadata to store with the object.
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
    /// The checksum the client promised, compared at end of body.
    pub expected_checksum: Option<ExpectedChecksum>,
}

/// A byte range to read, already resolved against nothing: the store resolves
/// it against the object size and answers `InvalidRange` when unsatisfiable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=a-b` (inclusive) or `bytes=a-` when `last` is `None`.
    FromTo {
        /// First byte, from 0.
        first: u64,
        /// Last byte, inclusive; `None` for the end of the object.
        last: Option<u64>,
    },
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

/// One part of a multipart object as recorded in its metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartInfo {
    /// Part number, 1..=10000.
    pub number: u32,
    /// Size in bytes.
    pub size: u64,
    /// Quoted-free hex MD5 of the part.
    pub etag: String,
    /// When it was written.
    pub last_modified: SystemTime,
    /// Checksum computed while it was written, if one was asked for.
    pub checksum: Option<Checksum>,
}

/// What HEAD returns, and what GET returns beside the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Without quotes: hex MD5, or `hex-N` for multipart objects.
    pub etag: String,
    /// When it was written.
    pub last_modified: SystemTime,
    /// Headers and metadata to store with the object.
    pub attributes: ObjectAttributes,
    /// Full-object checksum, when one was stored.
    pub checksum: Option<Checksum>,
    /// Number of parts for multipart objects (0 for single-part puts).
    pub parts_count: u32,
    /// The parts as stored, in order (a single-part put has one, number 1):
    /// GET/HEAD `?partNumber=N` and GetObjectAttributes read them.
    pub parts: Vec<PartInfo>,
}

/// An object body being read: the resolved range and the byte stream.
pub struct ObjectReader {
    /// The object's metadata.
    pub info: ObjectInfo,
    /// The inclusive byte range being returned (`None` = the whole object).
    pub range: Option<(u64, u64)>,
    /// The bytes of the range (or whole object).
    pub body: ByteStream,
}

/// Listing parameters (ListObjects v1 and v2 both map onto this).
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    /// Only keys starting with this.
    pub prefix: String,
    /// Roll keys up to common prefixes at the first delimiter after `prefix`.
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
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Quote-free ETag.
    pub etag: String,
    /// When it was written.
    pub last_modified: SystemTime,
}

/// A page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    /// Objects, in byte order of their keys.
    pub objects: Vec<ObjectSummary>,
    /// Rolled-up prefixes, in byte order.
    pub common_prefixes: Vec<String>,
    /// More entries follow.
    pub is_truncated: bool,
    /// The last key or common prefix returned; pass it back as `start_after`.
    pub next_marker: Option<String>,
}

/// A bucket as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketInfo {
    /// The bucket name.
    pub name: String,
    /// When it was created.
    pub created: SystemTime,
}

/// Per-bucket settings stored with quorum. The store keeps the bytes; their
/// meaning (policy JSON, lifecycle XML, CORS XML) belongs to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BucketSetting {
    /// Bucket policy (JSON).
    Policy,
    /// Lifecycle configuration (S3 XML).
    Lifecycle,
    /// CORS configuration (S3 XML).
    Cors,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadInfo {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// The upload's id.
    pub upload_id: String,
    /// When the upload was created.
    pub initiated: SystemTime,
    /// Headers and metadata to store with the object.
    pub attributes: ObjectAttributes,
    /// Checksum every part computes (and the object's composite checksum).
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
}

/// A part named in CompleteMultipartUpload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletePart {
    /// Part number, 1..=10000.
    pub number: u32,
    /// With or without quotes; the store compares without them.
    pub etag: String,
}

/// Parameters of ListMultipartUploads.
#[derive(Debug, Clone, Default)]
pub struct ListUploadsParams {
    /// Only keys starting with this.
    pub prefix: String,
    /// Only uploads after this key (with `upload_id_marker`, after that upload of it).
    pub key_marker: Option<String>,
    /// See `key_marker`.
    pub upload_id_marker: Option<String>,
    /// Page size, capped at 1000; 0 means 1000.
    pub max_uploads: usize,
}

/// A page of ListMultipartUploads.
#[derive(Debug, Clone, Default)]
pub struct UploadsPage {
    /// Uploads ordered by key, then upload id.
    pub uploads: Vec<UploadInfo>,
    /// More entries follow.
    pub is_truncated: bool,
    /// Key marker of the next page, when truncated.
    pub next_key_marker: Option<String>,
    /// Upload id marker of the next page, when truncated.
    pub next_upload_id_marker: Option<String>,
}

/// A page of ListParts.
#[derive(Debug, Clone, Default)]
pub struct PartsPage {
    /// The upload the parts belong to.
    pub upload: Option<UploadInfo>,
    /// Parts in ascending number.
    pub parts: Vec<PartInfo>,
    /// More entries follow.
    pub is_truncated: bool,
    /// Marker of the next page, when truncated.
    pub next_part_number_marker: Option<u32>,
}

/// What a heal pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealReport {
    /// Objects examined.
    pub objects_scanned: u64,
    /// Objects where at least one shard or metadata file was rewritten.
    pub objects_healed: u64,
    /// Objects that could not be made whole (fewer than `data` good shards).
    pub objects_failed: u64,
    /// Framed shard bytes written.
    pub bytes_rebuilt: u64,
}

/// Heal progress and redundancy, for `admin info`, metrics and health.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealStatus {
    /// A heal walk (background or explicit) is running.
    pub running: bool,
    /// Objects the running (or last) walk has visited.
    pub objects_done: u64,
    /// Objects it has yet to visit (counted when it started).
    pub objects_left: u64,
    /// Bytes of the objects it has visited.
    pub bytes_done: u64,
    /// Bytes of the objects it has yet to visit.
    pub bytes_left: u64,
    /// Single objects waiting in the heal queue.
    pub queued_objects: u64,
    /// Drives offline now.
    pub drives_offline: usize,
    /// Drive positions that missed writes (or were formatted fresh) and
    /// have not been filled by a complete walk yet.
    pub drives_healing: Vec<usize>,
    /// Every drive online and whole, nothing queued, no walk running, and
    /// no heal owed for a start after an unclean stop: the store survives
    /// the loss of `parity` drives again.
    pub redundancy_full: bool,
}

/// What a background worker is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkerState {
    /// Waiting for work.
    Idle,
    /// Doing a step of work.
    Active,
    /// Finished (after a shutdown, or the store went away).
    Stopped,
}

/// One background worker of the store, for `admin info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// Its name (`heal-queue`, `heal-walk`, `drive-monitor`, `list-index`).
    pub name: String,
    /// What it is doing.
    pub state: WorkerState,
    /// How it paces itself, in words.
    pub pacing: String,
}

/// State of one drive, for start-up messages, health and `admin info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveStatus {
    /// Position in the drive list, from 0.
    pub index: usize,
    /// The drive folder.
    pub path: String,
    /// Reachable and part of this deployment.
    pub online: bool,
    /// Formatted fresh at this start (a new or replaced drive).
    pub fresh: bool,
    /// File system size.
    pub total_bytes: u64,
    /// Space available to minnow.
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

    /// The object's metadata, read by quorum.
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

    /// Replaces an object's tags, keeping its data and Last-Modified. The
    /// default reads the attributes and writes them back (not atomic against
    /// a concurrent attribute change; the store overrides it under its lock).
    fn update_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: BTreeMap<String, String>,
    ) -> impl std::future::Future<Output = Result<ObjectInfo, StoreError>> + Send {
        async move {
            let mut attributes = self.head_object(bucket, key).await?.attributes;
            attributes.tags = tags;
            self.update_attributes(bucket, key, attributes).await
        }
    }

    /// One page of a listing, in byte order of the keys.
    fn list_objects(
        &self,
        bucket: &str,
        params: ListParams,
    ) -> impl std::future::Future<Output = Result<ListPage, StoreError>> + Send;
}

/// Buckets and their settings.
#[allow(async_fn_in_trait)]
pub trait Catalog: Send + Sync {
    /// Creates a bucket on every drive (write quorum).
    fn create_bucket(
        &self,
        bucket: &str,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// A bucket's info, from the in-memory cache.
    fn head_bucket(
        &self,
        bucket: &str,
    ) -> impl std::future::Future<Output = Result<BucketInfo, StoreError>> + Send;
    /// Every bucket, sorted by name.
    fn list_buckets(
        &self,
    ) -> impl std::future::Future<Output = Result<Vec<BucketInfo>, StoreError>> + Send;
    /// Fails with `BucketNotEmpty` unless the bucket has no objects and no
    /// multipart uploads.
    fn delete_bucket(
        &self,
        bucket: &str,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// A setting's bytes, from the in-memory cache.
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
    /// Stores (or with `None` removes) a system blob with write quorum.
    fn put_system_blob(
        &self,
        name: &str,
        value: Option<Bytes>,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
}

/// Multipart uploads.
#[allow(async_fn_in_trait)]
pub trait MultipartStore: Send + Sync {
    /// Starts an upload with a composite checksum (if any); see
    /// [`MultipartStore::create_multipart_typed`].
    fn create_multipart(
        &self,
        bucket: &str,
        key: &str,
        attributes: ObjectAttributes,
        checksum_algorithm: Option<ChecksumAlgorithm>,
    ) -> impl std::future::Future<Output = Result<UploadInfo, StoreError>> + Send {
        self.create_multipart_typed(
            bucket,
            key,
            attributes,
            checksum_algorithm,
            ChecksumType::Composite,
        )
    }
    /// Starts an upload; the key's erasure layout and the object checksum's
    /// algorithm and type are fixed now.
    fn create_multipart_typed(
        &self,
        bucket: &str,
        key: &str,
        attributes: ObjectAttributes,
        checksum_algorithm: Option<ChecksumAlgorithm>,
        checksum_type: ChecksumType,
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
    /// Uploaded parts after `part_number_marker`; `max_parts` is capped at 1000 (0 means 1000).
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
    ) -> impl std::future::Future<Output = Result<ObjectInfo, StoreError>> + Send {
        self.complete_multipart_checked(bucket, key, upload_id, parts, CompleteChecks::default())
    }
    /// Like [`MultipartStore::complete_multipart`], also checking the
    /// checksums the request lists before anything is committed.
    fn complete_multipart_checked(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: Vec<CompletePart>,
        checks: CompleteChecks,
    ) -> impl std::future::Future<Output = Result<ObjectInfo, StoreError>> + Send;
    /// Removes the upload and its parts from every drive.
    fn abort_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Uploads in progress in a bucket.
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
    /// Heal progress and whether redundancy is full. Stores without
    /// redundancy to restore report themselves whole.
    fn heal_status(&self) -> HealStatus {
        HealStatus {
            redundancy_full: true,
            ..HealStatus::default()
        }
    }
    /// The store's background workers and their states.
    fn workers(&self) -> Vec<WorkerInfo> {
        Vec::new()
    }
}

//! Versioned on-disk records.
//!
//! *Records* (object metadata `obj.meta`, upload and part metadata) are
//! ```text
//! "MNWO" | version u16 LE | header_len u32 LE | header (MessagePack, named fields)
//!        | has_inline u8 | inline_len u32 LE | inline bytes | crc32 u32 LE of all before
//! ```
//! *Blobs* (bucket records, bucket settings, system blobs) are
//! ```text
//! "MNWB" | version u16 LE | secs i64 LE | nanos u32 LE | id [16] | value | crc32 u32 LE
//! ```
//! The header is MessagePack with named fields, so fields may be added in
//! later versions; unknown fields are ignored. Integers are fixed-width.
//! Version 2 added `UploadMeta::checksum_type`; v1 records still decode.
//! A version this build does not know is refused
//! ([`MetaError::UnsupportedVersion`]) before its body is looked at.
//! Fixtures written by format v1 are read by tests: `store/fixtures/`
//! `obj-meta-v1.bin`, `upload-meta-v1.bin`, `part-meta-v1.bin` (records) and
//! `blob-v1.bin` (blob), and the whole four-drive set `drive-set-v1/`.
//! Changing any serialised type (including `ObjectAttributes`, `Checksum`)
//! must keep them readable.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Buf, Bytes};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::{Checksum, ChecksumAlgorithm, ChecksumType, ObjectAttributes, PartInfo};
use crate::layout::{BLOB_MAGIC, BLOB_VERSION, META_MAGIC, META_VERSION};

/// Why a record could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("bad magic")]
    BadMagic,
    #[error("unsupported format version {0} (this build reads version 1)")]
    UnsupportedVersion(u16),
    #[error("record is truncated")]
    Truncated,
    #[error("record checksum mismatch")]
    ChecksumMismatch,
    #[error("header does not decode: {0}")]
    Header(String),
    #[error("record was written for another bucket or key")]
    Foreign,
    #[error(
        "record holds shard {index}, but the drive at position {position} holds shard {expected}"
    )]
    Misplaced {
        index: u16,
        position: usize,
        expected: u16,
    },
}

/// A point in time with a fixed-width encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    pub fn now() -> Self {
        SystemTime::now().into()
    }

    /// The next representable instant (one nanosecond later).
    pub fn next(self) -> Self {
        if self.nanos >= 999_999_999 {
            Self {
                secs: self.secs + 1,
                nanos: 0,
            }
        } else {
            Self {
                secs: self.secs,
                nanos: self.nanos + 1,
            }
        }
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        match time.duration_since(UNIX_EPOCH) {
            Ok(d) => Self {
                secs: d.as_secs() as i64,
                nanos: d.subsec_nanos(),
            },
            Err(_) => Self::default(),
        }
    }
}

impl From<Timestamp> for SystemTime {
    fn from(ts: Timestamp) -> Self {
        UNIX_EPOCH + Duration::new(ts.secs.max(0) as u64, ts.nanos)
    }
}

/// How an object is erasure coded, and which shard this drive holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureInfo {
    pub data: u16,
    pub parity: u16,
    pub block_size: u32,
    /// Shard index held by the drive this record is on.
    pub index: u16,
    /// `distribution[drive position] = shard index`, derived from the key.
    pub distribution: Vec<u16>,
}

/// One part of an object (single-part objects have exactly one, number 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaPart {
    pub number: u32,
    pub size: u64,
    pub etag: String,
    pub mod_time: Timestamp,
    pub checksum: Option<Checksum>,
}

impl MetaPart {
    pub fn to_info(&self) -> PartInfo {
        PartInfo {
            number: self.number,
            size: self.size,
            etag: self.etag.clone(),
            last_modified: self.mod_time.into(),
            checksum: self.checksum.clone(),
        }
    }
}

/// The metadata of one object version as stored in `obj.meta` on each drive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// Unique per commit: drives agree on a version by this id.
    pub meta_id: Uuid,
    pub size: u64,
    pub etag: String,
    pub mod_time: Timestamp,
    pub attributes: ObjectAttributes,
    pub checksum: Option<Checksum>,
    pub erasure: ErasureInfo,
    pub parts: Vec<MetaPart>,
    /// Number of parts of a multipart upload (0 for single-part PUTs).
    pub multipart_parts: u32,
    /// `d.<uuid>` holding the shard files; `None` when the shard is inline.
    pub data_dir: Option<Uuid>,
    /// [`record_home`] of the bucket and key the record was written for;
    /// `None` in records written before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<u64>,
    /// This drive's framed shard bytes for small objects.
    #[serde(skip)]
    pub inline: Option<Bytes>,
}

/// What a record names as its place: the first 8 bytes of the blake3 of
/// `bucket`, a NUL and `key`.
pub fn record_home(bucket: &str, key: &str) -> u64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(bucket.as_bytes());
    hasher.update(&[0]);
    hasher.update(key.as_bytes());
    u64::from_le_bytes(
        hasher.finalize().as_bytes()[..8]
            .try_into()
            .expect("8 bytes"),
    )
}

/// A multipart upload as recorded in `upload.meta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadMeta {
    pub key: String,
    pub upload_id: String,
    pub initiated: Timestamp,
    pub attributes: ObjectAttributes,
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// COMPOSITE or FULL_OBJECT; absent from v1 records, which were all composite.
    #[serde(default)]
    pub checksum_type: ChecksumType,
    pub erasure: ErasureInfo,
}

/// One uploaded part as recorded in `part.N.meta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartMeta {
    pub part: MetaPart,
    /// The part's shard file is `part.N.<data_id>`.
    pub data_id: Uuid,
    pub erasure: ErasureInfo,
}

/// Encodes a record with an optional inline payload.
pub fn encode_record<T: Serialize>(header: &T, inline: Option<&[u8]>) -> Vec<u8> {
    let header = rmp_serde::to_vec_named(header).expect("record header serialises");
    let inline_len = inline.map_or(0, <[u8]>::len);
    let mut out = Vec::with_capacity(4 + 2 + 4 + header.len() + 5 + inline_len + 4);
    out.extend_from_slice(META_MAGIC);
    out.extend_from_slice(&META_VERSION.to_le_bytes());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.push(u8::from(inline.is_some()));
    out.extend_from_slice(&(inline_len as u32).to_le_bytes());
    if let Some(inline) = inline {
        out.extend_from_slice(inline);
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes a record; the inline payload is a zero-copy slice of `bytes`.
pub fn decode_record<T: DeserializeOwned>(bytes: Bytes) -> Result<(T, Option<Bytes>), MetaError> {
    if bytes.len() < 4 + 2 + 4 + 1 + 4 + 4 {
        return Err(MetaError::Truncated);
    }
    if &bytes[..4] != META_MAGIC {
        return Err(MetaError::BadMagic);
    }
    let body_len = bytes.len() - 4;
    let stored_crc = u32::from_le_bytes(bytes[body_len..].try_into().expect("4 bytes"));
    if crc32fast::hash(&bytes[..body_len]) != stored_crc {
        return Err(MetaError::ChecksumMismatch);
    }
    let mut cursor = bytes.slice(4..body_len);
    let version = cursor.get_u16_le();
    // v2 only adds optional header fields (`UploadMeta::checksum_type`), which
    // a v1 header lacks and reads as their defaults.
    if !(1..=META_VERSION).contains(&version) {
        return Err(MetaError::UnsupportedVersion(version));
    }
    let header_len = cursor.get_u32_le() as usize;
    if cursor.remaining() < header_len + 5 {
        return Err(MetaError::Truncated);
    }
    let header: T = rmp_serde::from_slice(&cursor[..header_len])
        .map_err(|e| MetaError::Header(e.to_string()))?;
    cursor.advance(header_len);
    let has_inline = cursor.get_u8() != 0;
    let inline_len = cursor.get_u32_le() as usize;
    if cursor.remaining() != inline_len {
        return Err(MetaError::Truncated);
    }
    Ok((header, has_inline.then_some(cursor)))
}

impl ObjectMeta {
    pub fn encode(&self) -> Vec<u8> {
        encode_record(self, self.inline.as_deref())
    }

    pub fn decode(bytes: Bytes) -> Result<Self, MetaError> {
        let (mut meta, inline): (Self, _) = decode_record(bytes)?;
        meta.inline = inline;
        Ok(meta)
    }

    /// The record, if it is one written for key `home` ([`record_home`]) and
    /// the drive at `position`. A record naming another key is another
    /// key's file in this place (refused whatever its shard index). Every
    /// writer (commit, heal, metadata rewrite) gives a drive the shard the
    /// key's distribution assigns to its position. A record with another
    /// index is another drive's file in this drive's place, put there from
    /// outside the store; GNU `tar` does that to a hot copy of several
    /// drive folders, archiving a file whose inode number it saw earlier
    /// (freed and reused during the copy) as a hard link to that earlier
    /// file. Counted as a version holder, it would pair its shard with the
    /// wrong slot and decode to bytes of no version; so it counts as
    /// damaged, and a heal rewrites it.
    pub fn written_for(self, home: u64, position: usize) -> Result<Self, MetaError> {
        if self.home.is_some_and(|own| own != home) {
            return Err(MetaError::Foreign);
        }
        match self.erasure.distribution.get(position) {
            Some(&expected) if expected == self.erasure.index => Ok(self),
            expected => Err(MetaError::Misplaced {
                index: self.erasure.index,
                position,
                expected: expected.copied().unwrap_or(u16::MAX),
            }),
        }
    }
}

/// A small quorum-stored value with its write time and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub mod_time: Timestamp,
    pub id: Uuid,
    pub value: Bytes,
}

impl Blob {
    pub fn new(value: Bytes) -> Self {
        Self {
            mod_time: Timestamp::now(),
            id: Uuid::new_v4(),
            value,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 2 + 8 + 4 + 16 + self.value.len() + 4);
        out.extend_from_slice(BLOB_MAGIC);
        out.extend_from_slice(&BLOB_VERSION.to_le_bytes());
        out.extend_from_slice(&self.mod_time.secs.to_le_bytes());
        out.extend_from_slice(&self.mod_time.nanos.to_le_bytes());
        out.extend_from_slice(self.id.as_bytes());
        out.extend_from_slice(&self.value);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    pub fn decode(bytes: Bytes) -> Result<Self, MetaError> {
        const FIXED: usize = 4 + 2 + 8 + 4 + 16;
        if bytes.len() < FIXED + 4 {
            return Err(MetaError::Truncated);
        }
        if &bytes[..4] != BLOB_MAGIC {
            return Err(MetaError::BadMagic);
        }
        let body_len = bytes.len() - 4;
        let stored_crc = u32::from_le_bytes(bytes[body_len..].try_into().expect("4 bytes"));
        if crc32fast::hash(&bytes[..body_len]) != stored_crc {
            return Err(MetaError::ChecksumMismatch);
        }
        let mut cursor = bytes.slice(4..body_len);
        let version = cursor.get_u16_le();
        if version != 1 {
            return Err(MetaError::UnsupportedVersion(version));
        }
        let secs = cursor.get_i64_le();
        let nanos = cursor.get_u32_le();
        let mut id = [0u8; 16];
        cursor.copy_to_slice(&mut id);
        Ok(Self {
            mod_time: Timestamp { secs, nanos },
            id: Uuid::from_bytes(id),
            value: cursor,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/obj-meta-v1.bin");

    pub(crate) fn sample_meta() -> ObjectMeta {
        ObjectMeta {
            meta_id: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            size: 5,
            etag: "5d41402abc4b2a76b9719d911017c592".into(),
            mod_time: Timestamp {
                secs: 1_795_000_000,
                nanos: 123_456_789,
            },
            attributes: ObjectAttributes {
                content_type: Some("text/plain".into()),
                user_metadata: BTreeMap::from([("colour".into(), "blue".into())]),
                tags: BTreeMap::from([("team".into(), "storage".into())]),
                ..Default::default()
            },
            checksum: Some(Checksum {
                algorithm: ChecksumAlgorithm::Crc32,
                value_b64: "NhCmhg==".into(),
            }),
            erasure: ErasureInfo {
                data: 2,
                parity: 2,
                block_size: 1 << 20,
                index: 1,
                distribution: vec![3, 0, 1, 2],
            },
            parts: vec![MetaPart {
                number: 1,
                size: 5,
                etag: "5d41402abc4b2a76b9719d911017c592".into(),
                mod_time: Timestamp {
                    secs: 1_795_000_000,
                    nanos: 123_456_789,
                },
                checksum: None,
            }],
            multipart_parts: 0,
            home: None,
            data_dir: None,
            inline: Some(Bytes::from_static(b"framed-shard-bytes")),
        }
    }

    #[test]
    fn object_meta_round_trips() {
        let meta = sample_meta();
        assert_eq!(
            ObjectMeta::decode(Bytes::from(meta.encode())).unwrap(),
            meta
        );
        let mut no_inline = meta;
        no_inline.inline = None;
        no_inline.data_dir = Some(Uuid::new_v4());
        assert_eq!(
            ObjectMeta::decode(Bytes::from(no_inline.encode())).unwrap(),
            no_inline
        );
    }

    #[test]
    fn format_v1_fixture_still_decodes() {
        let bytes = std::fs::read(FIXTURE).expect("fixture present");
        let meta = ObjectMeta::decode(Bytes::from(bytes)).unwrap();
        assert_eq!(meta, sample_meta());
    }

    /// Writes the fixture; run once by hand when a new format version is
    /// introduced (never overwrite an old version's fixture).
    #[test]
    #[ignore]
    fn write_format_v1_fixture() {
        assert_eq!(
            META_VERSION, 1,
            "v1 fixtures come from a v1 build; keep the checked-in ones"
        );
        std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")).unwrap();
        std::fs::write(FIXTURE, sample_meta().encode()).unwrap();
    }

    const UPLOAD_META_V1_FIXTURE: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/upload-meta-v1.bin");
    const PART_META_V1_FIXTURE: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/part-meta-v1.bin");
    const BLOB_V1_FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/blob-v1.bin");

    fn fixed_time() -> Timestamp {
        Timestamp {
            secs: 1_795_000_000,
            nanos: 123_456_789,
        }
    }

    fn sample_erasure() -> ErasureInfo {
        ErasureInfo {
            data: 2,
            parity: 2,
            block_size: 1 << 20,
            index: 3,
            distribution: vec![2, 3, 0, 1],
        }
    }

    fn sample_upload() -> UploadMeta {
        UploadMeta {
            key: "photos/2026/cat.jpg".into(),
            upload_id: "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
            initiated: fixed_time(),
            attributes: ObjectAttributes {
                content_type: Some("image/jpeg".into()),
                cache_control: Some("max-age=60".into()),
                user_metadata: BTreeMap::from([("camera".into(), "pinhole".into())]),
                tags: BTreeMap::from([("expire".into(), "soon".into())]),
                ..Default::default()
            },
            checksum_algorithm: Some(ChecksumAlgorithm::Sha256),
            checksum_type: ChecksumType::Composite,
            erasure: sample_erasure(),
        }
    }

    fn sample_part() -> PartMeta {
        PartMeta {
            part: MetaPart {
                number: 3,
                size: 5 << 20,
                etag: "0123456789abcdef0123456789abcdef".into(),
                mod_time: fixed_time(),
                checksum: Some(Checksum {
                    algorithm: ChecksumAlgorithm::Sha256,
                    value_b64: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".into(),
                }),
            },
            data_id: Uuid::from_u128(0xfedc_ba98_7654_3210_fedc_ba98_7654_3210),
            erasure: sample_erasure(),
        }
    }

    fn sample_blob() -> Blob {
        Blob {
            mod_time: fixed_time(),
            id: Uuid::from_u128(0x00aa_11bb_22cc_33dd_44ee_55ff_6600_7711),
            value: Bytes::from_static(b"{\"users\":{}}"),
        }
    }

    /// `bytes` with its version field set to `version` and a valid checksum,
    /// as a later build would write it.
    fn with_version(mut bytes: Vec<u8>, version: u16) -> Bytes {
        bytes[4..6].copy_from_slice(&version.to_le_bytes());
        let body_len = bytes.len() - 4;
        let crc = crc32fast::hash(&bytes[..body_len]);
        bytes[body_len..].copy_from_slice(&crc.to_le_bytes());
        Bytes::from(bytes)
    }

    #[test]
    fn upload_meta_format_v1_fixture_still_decodes() {
        let bytes = std::fs::read(UPLOAD_META_V1_FIXTURE).expect("fixture present");
        let (upload, inline): (UploadMeta, _) = decode_record(Bytes::from(bytes)).unwrap();
        assert_eq!(inline, None);
        assert_eq!(upload.key, "photos/2026/cat.jpg");
        assert_eq!(upload.upload_id, "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
        assert_eq!(upload.initiated.secs, 1_795_000_000);
        assert_eq!(upload.initiated.nanos, 123_456_789);
        assert_eq!(
            upload.attributes.content_type.as_deref(),
            Some("image/jpeg")
        );
        assert_eq!(upload.attributes.user_metadata["camera"], "pinhole");
        assert_eq!(upload.attributes.tags["expire"], "soon");
        assert_eq!(upload.checksum_algorithm, Some(ChecksumAlgorithm::Sha256));
        assert_eq!(upload.erasure.distribution, vec![2, 3, 0, 1]);
        assert_eq!(upload, sample_upload());
    }

    #[test]
    fn upload_meta_v2_keeps_a_full_object_checksum_type() {
        let upload = UploadMeta {
            checksum_algorithm: Some(ChecksumAlgorithm::Crc64Nvme),
            checksum_type: ChecksumType::FullObject,
            ..sample_upload()
        };
        let bytes = encode_record(&upload, None);
        assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 2);
        let (decoded, _): (UploadMeta, _) = decode_record(Bytes::from(bytes)).unwrap();
        assert_eq!(decoded.checksum_type, ChecksumType::FullObject);
        assert_eq!(decoded, upload);
    }

    #[test]
    fn part_meta_format_v1_fixture_still_decodes() {
        let bytes = std::fs::read(PART_META_V1_FIXTURE).expect("fixture present");
        let (part, inline): (PartMeta, _) = decode_record(Bytes::from(bytes)).unwrap();
        assert_eq!(inline, None);
        assert_eq!(part.part.number, 3);
        assert_eq!(part.part.size, 5 << 20);
        assert_eq!(part.part.etag, "0123456789abcdef0123456789abcdef");
        assert_eq!(
            part.data_id.simple().to_string(),
            "fedcba9876543210fedcba9876543210"
        );
        assert_eq!(part.erasure.index, 3);
        assert_eq!(part, sample_part());
    }

    #[test]
    fn blob_format_v1_fixture_still_decodes() {
        let bytes = std::fs::read(BLOB_V1_FIXTURE).expect("fixture present");
        let blob = Blob::decode(Bytes::from(bytes)).unwrap();
        assert_eq!(blob.mod_time, fixed_time());
        assert_eq!(blob.id.to_string(), "00aa11bb-22cc-33dd-44ee-55ff66007711");
        assert_eq!(&blob.value[..], b"{\"users\":{}}");
        assert_eq!(blob, sample_blob());
    }

    /// Writes the record and blob fixtures; run once by hand when a new
    /// format version is introduced (never overwrite an old version's fixture).
    #[test]
    #[ignore]
    fn write_record_and_blob_format_v1_fixtures() {
        assert_eq!(
            META_VERSION, 1,
            "v1 fixtures come from a v1 build; keep the checked-in ones"
        );
        std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")).unwrap();
        std::fs::write(
            UPLOAD_META_V1_FIXTURE,
            encode_record(&sample_upload(), None),
        )
        .unwrap();
        std::fs::write(PART_META_V1_FIXTURE, encode_record(&sample_part(), None)).unwrap();
        std::fs::write(BLOB_V1_FIXTURE, sample_blob().encode()).unwrap();
    }

    #[test]
    fn records_of_a_newer_version_are_refused() {
        let newer = with_version(sample_meta().encode(), 3);
        let err = ObjectMeta::decode(newer).unwrap_err();
        assert!(matches!(err, MetaError::UnsupportedVersion(3)), "{err}");
        assert!(
            err.to_string().contains("unsupported format version 3"),
            "{err}"
        );
        let newer = with_version(encode_record(&sample_upload(), None), 3);
        assert!(matches!(
            decode_record::<UploadMeta>(newer),
            Err(MetaError::UnsupportedVersion(3))
        ));
        let newer = with_version(encode_record(&sample_part(), None), u16::MAX);
        assert!(matches!(
            decode_record::<PartMeta>(newer),
            Err(MetaError::UnsupportedVersion(u16::MAX))
        ));
    }

    #[test]
    fn blobs_of_a_newer_version_are_refused() {
        let newer = with_version(sample_blob().encode(), 2);
        let err = Blob::decode(newer).unwrap_err();
        assert!(matches!(err, MetaError::UnsupportedVersion(2)), "{err}");
        assert!(
            err.to_string().contains("unsupported format version 2"),
            "{err}"
        );
    }

    #[test]
    fn damaged_records_are_rejected() {
        let mut bytes = sample_meta().encode();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        assert!(matches!(
            ObjectMeta::decode(Bytes::from(bytes)),
            Err(MetaError::ChecksumMismatch)
        ));
        assert!(matches!(
            ObjectMeta::decode(Bytes::from_static(b"MNWX0000000000000000000")),
            Err(MetaError::BadMagic)
        ));
        assert!(ObjectMeta::decode(Bytes::from_static(b"MN")).is_err());
    }

    #[test]
    fn blobs_round_trip_and_detect_damage() {
        let blob = Blob::new(Bytes::from_static(b"{\"policy\":1}"));
        let mut bytes = blob.encode();
        assert_eq!(Blob::decode(Bytes::from(bytes.clone())).unwrap(), blob);
        bytes[40] ^= 0xff;
        assert!(Blob::decode(Bytes::from(bytes)).is_err());
    }
}

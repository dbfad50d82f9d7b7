//! On-disk names: where every file of a drive lives, relative to the drive
//! root, and the magic/version constants of each on-disk record.
//!
//! ```text
//! <drive>/.minnow.sys/format.json                    drive format (JSON, magic + version)
//! <drive>/.minnow.sys/tmp/<uuid>[/...]               in-flight writes; wiped at start-up
//! <drive>/.minnow.sys/buckets/<bucket>/bucket.meta   bucket record (created time)
//! <drive>/.minnow.sys/buckets/<bucket>/<setting>     policy | lifecycle | cors blobs
//! <drive>/.minnow.sys/config/<name>                  system blobs
//! <drive>/.minnow.sys/multipart/<bucket>/<upload>/   upload.meta, part.N.meta, part.N.<id>
//! <drive>/<bucket>/<seg>/<seg>/.../obj.meta          object metadata (+ inline shard)
//! <drive>/<bucket>/<seg>/.../d.<uuid>/part.N         framed erasure shard of part N
//! <drive>/<bucket>/.../#<hash>/segment.name          text of a hashed long segment (blob)
//! ```
//! Key segments are encoded by [`crate::keys`] and always start with `_`, so
//! they never collide with `obj.meta` or `d.<uuid>`; bucket names never start
//! with `.`, so no bucket collides with `.minnow.sys`.

use std::path::PathBuf;

use uuid::Uuid;

use crate::api::BucketSetting;
use crate::keys::EncodedKey;

/// The per-drive system area. Bucket names cannot start with `.`.
pub const SYS_DIR: &str = ".minnow.sys";
/// Drive format file, relative to the drive root.
pub const FORMAT_FILE: &str = ".minnow.sys/format.json";
/// Temporary area for in-flight writes; everything in it is garbage at start-up.
pub const TMP_DIR: &str = ".minnow.sys/tmp";
/// Per-bucket records and settings.
pub const BUCKETS_DIR: &str = ".minnow.sys/buckets";
/// System blobs.
pub const CONFIG_DIR: &str = ".minnow.sys/config";
/// Multipart uploads in progress.
pub const MULTIPART_DIR: &str = ".minnow.sys/multipart";
/// Object metadata file name inside an object directory.
pub const OBJECT_META_FILE: &str = "obj.meta";
/// Prefix of an object's data directory name (`d.<uuid>`).
pub const DATA_DIR_PREFIX: &str = "d.";
/// Inside a hashed long-segment folder: a blob holding the segment text.
pub const SEGMENT_NAME_FILE: &str = "segment.name";
/// Bucket record file name.
pub const BUCKET_META_FILE: &str = "bucket.meta";
/// Upload record file name.
pub const UPLOAD_META_FILE: &str = "upload.meta";

/// Magic of object metadata files (`obj.meta`, part metas, upload metas).
pub const META_MAGIC: &[u8; 4] = b"MNWO";
/// Current object metadata format version (2: upload records carry the
/// multipart checksum type; v1 records still read).
pub const META_VERSION: u16 = 2;
/// Magic of small quorum blobs (bucket records, settings, system blobs).
pub const BLOB_MAGIC: &[u8; 4] = b"MNWB";
/// Current blob format version.
pub const BLOB_VERSION: u16 = 1;
/// `format` field of the drive format file.
pub const FORMAT_MAGIC: &str = "minnow-drive";
/// Current drive format version.
pub const FORMAT_VERSION: u32 = 1;

/// `<bucket>` folder holding the bucket's objects.
pub fn bucket_dir(bucket: &str) -> PathBuf {
    PathBuf::from(bucket)
}

/// `.minnow.sys/buckets/<bucket>`.
pub fn bucket_sys_dir(bucket: &str) -> PathBuf {
    PathBuf::from(BUCKETS_DIR).join(bucket)
}

/// `.minnow.sys/buckets/<bucket>/bucket.meta`.
pub fn bucket_meta_path(bucket: &str) -> PathBuf {
    bucket_sys_dir(bucket).join(BUCKET_META_FILE)
}

/// File name of a bucket setting.
pub fn setting_file_name(setting: BucketSetting) -> &'static str {
    match setting {
        BucketSetting::Policy => "policy",
        BucketSetting::Lifecycle => "lifecycle",
        BucketSetting::Cors => "cors",
    }
}

/// `.minnow.sys/buckets/<bucket>/<setting>`.
pub fn setting_path(bucket: &str, setting: BucketSetting) -> PathBuf {
    bucket_sys_dir(bucket).join(setting_file_name(setting))
}

/// `.minnow.sys/config/<name>`.
pub fn system_blob_path(name: &str) -> PathBuf {
    PathBuf::from(CONFIG_DIR).join(name)
}

/// Directory of one object: `<bucket>/<seg>/<seg>/...`.
pub fn object_dir(bucket: &str, key: &EncodedKey) -> PathBuf {
    let mut path = bucket_dir(bucket);
    path.push(key.relative_path());
    path
}

/// `<object dir>/obj.meta`.
pub fn object_meta_path(bucket: &str, key: &EncodedKey) -> PathBuf {
    object_dir(bucket, key).join(OBJECT_META_FILE)
}

/// Name of a data directory inside an object directory.
pub fn data_dir_name(id: Uuid) -> String {
    format!("{DATA_DIR_PREFIX}{}", id.simple())
}

/// `<object dir>/d.<uuid>`.
pub fn data_dir_path(bucket: &str, key: &EncodedKey, id: Uuid) -> PathBuf {
    object_dir(bucket, key).join(data_dir_name(id))
}

/// Shard file name of part `number` inside a data directory.
pub fn part_file_name(number: u32) -> String {
    format!("part.{number}")
}

/// Prefix of `obj.meta`'s temp files, which are created beside it (in the
/// object folder, so the file system allocates their inodes near the
/// folder's, not all in the one tmp folder). Never a key segment (those
/// start with `_` or `#`) nor another internal name.
pub const META_TEMP_PREFIX: &str = ".obj.meta.";

/// A fresh temp file name for an `obj.meta`, `.obj.meta.<uuid>`.
pub fn new_meta_temp_name() -> String {
    format!("{META_TEMP_PREFIX}{}", Uuid::new_v4().simple())
}

/// Whether a file name in an object folder is an `obj.meta` temp file.
pub fn is_meta_temp(name: &str) -> bool {
    name.starts_with(META_TEMP_PREFIX)
}

/// A fresh temporary path `.minnow.sys/tmp/<uuid>`.
pub fn new_tmp_path() -> PathBuf {
    PathBuf::from(TMP_DIR).join(Uuid::new_v4().simple().to_string())
}

/// `.minnow.sys/multipart/<bucket>`.
pub fn multipart_bucket_dir(bucket: &str) -> PathBuf {
    PathBuf::from(MULTIPART_DIR).join(bucket)
}

/// `.minnow.sys/multipart/<bucket>/<upload_id>`.
pub fn upload_dir(bucket: &str, upload_id: &str) -> PathBuf {
    multipart_bucket_dir(bucket).join(upload_id)
}

/// `.minnow.sys/multipart/<bucket>/<upload_id>/upload.meta`.
pub fn upload_meta_path(bucket: &str, upload_id: &str) -> PathBuf {
    upload_dir(bucket, upload_id).join(UPLOAD_META_FILE)
}

/// `.minnow.sys/multipart/<bucket>/<upload_id>/part.N.meta`.
pub fn upload_part_meta_path(bucket: &str, upload_id: &str, number: u32) -> PathBuf {
    upload_dir(bucket, upload_id).join(format!("part.{number}.meta"))
}

/// `.minnow.sys/multipart/<bucket>/<upload_id>/part.N.<id>`: one version of a part's shard.
pub fn upload_part_data_path(bucket: &str, upload_id: &str, number: u32, id: Uuid) -> PathBuf {
    upload_dir(bucket, upload_id).join(format!("part.{number}.{}", id.simple()))
}

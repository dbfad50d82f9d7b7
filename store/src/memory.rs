//! `MemoryStore` (feature `test-util`): the one in-memory implementation of
//! the [`crate::api`] traits, for tests of the crates above the store that
//! need answers without drives (handlers, the lifecycle scanner). It keeps
//! the store's observable rules (MD5 ETags, checksum and digest checks,
//! ranges, delimiter listing, multipart ETags, a bucket with objects or
//! uploads is not empty) plus hooks the real store cannot offer: a stale
//! listing, counters, slow deletes and chosen modification times.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use md5::{Digest as _, Md5};

use crate::api::*;
use crate::hashing::BodyHasher;

#[derive(Default)]
struct Bucket {
    created: Option<SystemTime>,
    objects: BTreeMap<String, (ObjectInfo, Bytes)>,
    settings: HashMap<BucketSetting, Bytes>,
    /// By key, then upload id: the order ListMultipartUploads answers in.
    uploads: BTreeMap<(String, String), Upload>,
}

struct Upload {
    info: UploadInfo,
    parts: BTreeMap<u32, (PartInfo, Bytes)>,
}

/// Buckets, objects, uploads and system blobs in memory. See the module docs.
#[derive(Default)]
pub struct MemoryStore {
    buckets: Mutex<BTreeMap<String, Bucket>>,
    blobs: Mutex<BTreeMap<String, Bytes>>,
    /// Listing shows these modification times instead of the real ones, as a
    /// listing taken before an overwrite would.
    stale_listing: Mutex<BTreeMap<(String, String), SystemTime>>,
    upload_counter: AtomicU64,
    /// Objects deleted so far.
    pub deletes: AtomicU64,
    /// System blob writes so far.
    pub blob_writes: AtomicU64,
    /// Each delete takes this long (microseconds), like a delete that
    /// fsyncs on every drive.
    pub delete_delay_micros: AtomicU64,
}

fn no_bucket(bucket: &str) -> StoreError {
    StoreError::NoSuchBucket(bucket.into())
}

fn no_key(bucket: &str, key: &str) -> StoreError {
    StoreError::NoSuchKey {
        bucket: bucket.into(),
        key: key.into(),
    }
}

async fn collect(mut body: ByteStream) -> Result<Bytes, StoreError> {
    let mut out = BytesMut::new();
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out.freeze())
}

/// The ETag and checksum of a whole body, refused as the store refuses it:
/// short or long against the declared size, a wrong Content-MD5 or checksum.
fn digest_and_check(
    data: &Bytes,
    opts: &PutOptions,
) -> Result<(String, Option<Checksum>), StoreError> {
    if let Some(size) = opts.size {
        if (data.len() as u64) < size {
            return Err(StoreError::IncompleteBody);
        }
        if data.len() as u64 > size {
            return Err(StoreError::InvalidArgument(
                "body longer than declared".into(),
            ));
        }
    }
    let mut hasher = BodyHasher::new(opts.checksum_algorithm);
    hasher.update(data);
    let (md5, checksum) = hasher.finish();
    if opts.content_md5.is_some_and(|expected| expected != md5) {
        return Err(StoreError::BadDigest);
    }
    if let (Some(checksum), Some(expected)) = (
        &checksum,
        opts.expected_checksum.as_ref().and_then(|e| e.value()),
    ) {
        if checksum.value_b64 != expected {
            return Err(StoreError::BadChecksum {
                algorithm: checksum.algorithm,
            });
        }
    }
    Ok((hex::encode(md5), checksum))
}

/// `range` against an object of `size` bytes, as the store resolves it.
fn resolve(range: ByteRange, size: u64) -> Result<(u64, u64), StoreError> {
    match range {
        ByteRange::FromTo { first, last } => {
            if first >= size || last.is_some_and(|last| last < first) {
                return Err(StoreError::InvalidRange);
            }
            Ok((first, last.map_or(size - 1, |last| last.min(size - 1))))
        }
        ByteRange::Suffix(count) => {
            if count == 0 || size == 0 {
                return Err(StoreError::InvalidRange);
            }
            Ok((size.saturating_sub(count), size - 1))
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with_bucket<T>(
        &self,
        bucket: &str,
        f: impl FnOnce(&mut Bucket) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut buckets = self.buckets.lock().unwrap();
        f(buckets.get_mut(bucket).ok_or_else(|| no_bucket(bucket))?)
    }

    /// Listing shows `at` as the object's modification time from now on.
    pub fn show_stale_time_in_listing(&self, bucket: &str, key: &str, at: SystemTime) {
        self.stale_listing
            .lock()
            .unwrap()
            .insert((bucket.into(), key.into()), at);
    }

    /// Changes an object's modification time (as an overwrite would).
    pub fn set_last_modified(&self, bucket: &str, key: &str, at: SystemTime) {
        self.with_bucket(bucket, |b| {
            b.objects
                .get_mut(key)
                .ok_or_else(|| no_key(bucket, key))?
                .0
                .last_modified = at;
            Ok(())
        })
        .unwrap();
    }

    /// Puts an object with a chosen modification time (lifecycle scenarios).
    pub fn insert_aged(&self, bucket: &str, key: &str, data: &[u8], last_modified: SystemTime) {
        let info = ObjectInfo {
            bucket: bucket.into(),
            key: key.into(),
            size: data.len() as u64,
            etag: hex::encode(Md5::digest(data)),
            last_modified,
            attributes: ObjectAttributes::default(),
            checksum: None,
            parts_count: 0,
            parts: Vec::new(),
        };
        self.with_bucket(bucket, |b| {
            b.objects
                .insert(key.into(), (info, Bytes::copy_from_slice(data)));
            Ok(())
        })
        .unwrap();
    }

    /// Whether `bucket` holds `key`.
    pub fn has_object(&self, bucket: &str, key: &str) -> bool {
        self.with_bucket(bucket, |b| Ok(b.objects.contains_key(key)))
            .unwrap_or(false)
    }

    /// Objects deleted so far.
    pub fn delete_count(&self) -> u64 {
        self.deletes.load(Ordering::Relaxed)
    }
}

impl ObjectStore for MemoryStore {
    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: ByteStream,
        opts: PutOptions,
    ) -> Result<ObjectInfo, StoreError> {
        self.with_bucket(bucket, |_| Ok(()))?;
        let data = collect(body).await?;
        let (etag, checksum) = digest_and_check(&data, &opts)?;
        let info = ObjectInfo {
            bucket: bucket.into(),
            key: key.into(),
            size: data.len() as u64,
            etag,
            last_modified: SystemTime::now(),
            attributes: opts.attributes,
            checksum,
            parts_count: 0,
            parts: Vec::new(),
        };
        self.with_bucket(bucket, |b| {
            b.objects.insert(key.into(), (info.clone(), data));
            Ok(info)
        })
    }

    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        range: Option<ByteRange>,
    ) -> Result<ObjectReader, StoreError> {
        let (info, data) = self.with_bucket(bucket, |b| {
            b.objects
                .get(key)
                .cloned()
                .ok_or_else(|| no_key(bucket, key))
        })?;
        let range = range.map(|r| resolve(r, info.size)).transpose()?;
        let body = match range {
            Some((first, last)) => data.slice(first as usize..=last as usize),
            None => data,
        };
        Ok(ObjectReader {
            info,
            range,
            body: Box::pin(futures::stream::once(async move { Ok(body) })),
        })
    }

    async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectInfo, StoreError> {
        self.with_bucket(bucket, |b| {
            b.objects
                .get(key)
                .map(|(info, _)| info.clone())
                .ok_or_else(|| no_key(bucket, key))
        })
    }

    async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        let delay = self.delete_delay_micros.load(Ordering::Relaxed);
        if delay > 0 {
            tokio::time::sleep(Duration::from_micros(delay)).await;
        }
        self.with_bucket(bucket, |b| {
            b.objects.remove(key);
            Ok(())
        })?;
        self.deletes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn update_attributes(
        &self,
        bucket: &str,
        key: &str,
        attributes: ObjectAttributes,
    ) -> Result<ObjectInfo, StoreError> {
        self.with_bucket(bucket, |b| {
            let (info, _) = b.objects.get_mut(key).ok_or_else(|| no_key(bucket, key))?;
            info.attributes = attributes;
            info.last_modified = SystemTime::now();
            Ok(info.clone())
        })
    }

    async fn list_objects(&self, bucket: &str, params: ListParams) -> Result<ListPage, StoreError> {
        let stale = self.stale_listing.lock().unwrap().clone();
        self.with_bucket(bucket, |b| {
            let mut page = ListPage::default();
            let max = params.max_keys.clamp(1, 1000);
            let from = params
                .start_after
                .as_ref()
                .map_or(Bound::Unbounded, Bound::Excluded);
            for (key, (info, _)) in b.objects.range::<String, _>((from, Bound::Unbounded)) {
                if !key.starts_with(&params.prefix) {
                    continue;
                }
                let rolled_up = params.delimiter.as_ref().and_then(|d| {
                    key[params.prefix.len()..]
                        .find(d.as_str())
                        .map(|i| key[..params.prefix.len() + i + d.len()].to_string())
                });
                if let Some(prefix) = &rolled_up {
                    if page.common_prefixes.last() == Some(prefix)
                        || params
                            .start_after
                            .as_ref()
                            .is_some_and(|s| s.starts_with(prefix.as_str()))
                    {
                        continue;
                    }
                }
                if page.objects.len() + page.common_prefixes.len() == max {
                    page.is_truncated = true;
                    break;
                }
                match rolled_up {
                    Some(prefix) => {
                        page.next_marker = Some(prefix.clone());
                        page.common_prefixes.push(prefix);
                    }
                    None => {
                        page.next_marker = Some(key.clone());
                        page.objects.push(ObjectSummary {
                            key: key.clone(),
                            size: info.size,
                            etag: info.etag.clone(),
                            last_modified: stale
                                .get(&(bucket.to_string(), key.clone()))
                                .copied()
                                .unwrap_or(info.last_modified),
                        });
                    }
                }
            }
            Ok(page)
        })
    }
}

impl Catalog for MemoryStore {
    async fn create_bucket(&self, bucket: &str) -> Result<(), StoreError> {
        let mut buckets = self.buckets.lock().unwrap();
        if buckets.contains_key(bucket) {
            return Err(StoreError::BucketAlreadyExists(bucket.into()));
        }
        buckets.insert(
            bucket.into(),
            Bucket {
                created: Some(SystemTime::now()),
                ..Bucket::default()
            },
        );
        Ok(())
    }

    async fn head_bucket(&self, bucket: &str) -> Result<BucketInfo, StoreError> {
        self.with_bucket(bucket, |b| {
            Ok(BucketInfo {
                name: bucket.into(),
                created: b.created.unwrap_or(SystemTime::UNIX_EPOCH),
            })
        })
    }

    async fn list_buckets(&self) -> Result<Vec<BucketInfo>, StoreError> {
        let buckets = self.buckets.lock().unwrap();
        Ok(buckets
            .iter()
            .map(|(name, b)| BucketInfo {
                name: name.clone(),
                created: b.created.unwrap_or(SystemTime::UNIX_EPOCH),
            })
            .collect())
    }

    async fn delete_bucket(&self, bucket: &str) -> Result<(), StoreError> {
        let mut buckets = self.buckets.lock().unwrap();
        let b = buckets.get(bucket).ok_or_else(|| no_bucket(bucket))?;
        if !b.objects.is_empty() || !b.uploads.is_empty() {
            return Err(StoreError::BucketNotEmpty(bucket.into()));
        }
        buckets.remove(bucket);
        Ok(())
    }

    async fn get_bucket_setting(
        &self,
        bucket: &str,
        setting: BucketSetting,
    ) -> Result<Option<Bytes>, StoreError> {
        self.with_bucket(bucket, |b| Ok(b.settings.get(&setting).cloned()))
    }

    async fn put_bucket_setting(
        &self,
        bucket: &str,
        setting: BucketSetting,
        value: Option<Bytes>,
    ) -> Result<(), StoreError> {
        self.with_bucket(bucket, |b| {
            match value {
                Some(value) => b.settings.insert(setting, value),
                None => b.settings.remove(&setting),
            };
            Ok(())
        })
    }

    async fn get_system_blob(&self, name: &str) -> Result<Option<Bytes>, StoreError> {
        Ok(self.blobs.lock().unwrap().get(name).cloned())
    }

    async fn put_system_blob(&self, name: &str, value: Option<Bytes>) -> Result<(), StoreError> {
        self.blob_writes.fetch_add(1, Ordering::Relaxed);
        let mut blobs = self.blobs.lock().unwrap();
        match value {
            Some(value) => blobs.insert(name.into(), value),
            None => blobs.remove(name),
        };
        Ok(())
    }
}

impl MemoryStore {
    fn with_upload<T>(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        f: impl FnOnce(&mut Upload) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.with_bucket(bucket, |b| {
            f(b.uploads
                .get_mut(&(key.to_string(), upload_id.to_string()))
                .ok_or_else(|| StoreError::NoSuchUpload(upload_id.into()))?)
        })
    }
}

impl MultipartStore for MemoryStore {
    /// The in-memory store computes no checksums, so the type is not kept.
    async fn create_multipart_typed(
        &self,
        bucket: &str,
        key: &str,
        attributes: ObjectAttributes,
        checksum_algorithm: Option<ChecksumAlgorithm>,
        _checksum_type: ChecksumType,
    ) -> Result<UploadInfo, StoreError> {
        let upload_id = format!(
            "u{:016}",
            self.upload_counter.fetch_add(1, Ordering::Relaxed)
        );
        let info = UploadInfo {
            bucket: bucket.into(),
            key: key.into(),
            upload_id: upload_id.clone(),
            initiated: SystemTime::now(),
            attributes,
            checksum_algorithm,
        };
        self.with_bucket(bucket, |b| {
            b.uploads.insert(
                (key.into(), upload_id),
                Upload {
                    info: info.clone(),
                    parts: BTreeMap::new(),
                },
            );
            Ok(info)
        })
    }

    async fn put_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: ByteStream,
        opts: PutOptions,
    ) -> Result<PartInfo, StoreError> {
        self.with_upload(bucket, key, upload_id, |_| Ok(()))?;
        let data = collect(body).await?;
        let (etag, checksum) = digest_and_check(&data, &opts)?;
        let part = PartInfo {
            number: part_number,
            size: data.len() as u64,
            etag,
            last_modified: SystemTime::now(),
            checksum,
        };
        self.with_upload(bucket, key, upload_id, |upload| {
            upload.parts.insert(part_number, (part.clone(), data));
            Ok(part)
        })
    }

    async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number_marker: Option<u32>,
        max_parts: usize,
    ) -> Result<PartsPage, StoreError> {
        self.with_upload(bucket, key, upload_id, |upload| {
            let mut parts: Vec<PartInfo> = upload
                .parts
                .values()
                .filter(|(p, _)| Some(p.number) > part_number_marker)
                .map(|(p, _)| p.clone())
                .collect();
            let is_truncated = parts.len() > max_parts;
            parts.truncate(max_parts);
            Ok(PartsPage {
                upload: Some(upload.info.clone()),
                next_part_number_marker: parts.last().map(|p| p.number),
                parts,
                is_truncated,
            })
        })
    }

    async fn complete_multipart_checked(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: Vec<CompletePart>,
        _checks: CompleteChecks,
    ) -> Result<ObjectInfo, StoreError> {
        self.with_bucket(bucket, |b| {
            let id = (key.to_string(), upload_id.to_string());
            let upload = b
                .uploads
                .get(&id)
                .ok_or_else(|| StoreError::NoSuchUpload(upload_id.into()))?;
            let mut data = BytesMut::new();
            let mut md5s = Vec::new();
            let mut last = 0;
            for part in &parts {
                if part.number <= last {
                    return Err(StoreError::InvalidPartOrder);
                }
                last = part.number;
                let (info, bytes) = upload
                    .parts
                    .get(&part.number)
                    .ok_or(StoreError::InvalidPart(part.number))?;
                if info.etag != part.etag.trim_matches('"') {
                    return Err(StoreError::InvalidPart(part.number));
                }
                data.extend_from_slice(bytes);
                md5s.extend_from_slice(&hex::decode(&info.etag).unwrap_or_default());
            }
            let info = ObjectInfo {
                bucket: bucket.into(),
                key: key.into(),
                size: data.len() as u64,
                etag: format!("{}-{}", hex::encode(Md5::digest(&md5s)), parts.len()),
                last_modified: SystemTime::now(),
                attributes: upload.info.attributes.clone(),
                checksum: None,
                parts_count: parts.len() as u32,
                parts: Vec::new(),
            };
            b.uploads.remove(&id);
            b.objects.insert(key.into(), (info.clone(), data.freeze()));
            Ok(info)
        })
    }

    async fn abort_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), StoreError> {
        self.with_bucket(bucket, |b| {
            b.uploads
                .remove(&(key.to_string(), upload_id.to_string()))
                .map(|_| ())
                .ok_or_else(|| StoreError::NoSuchUpload(upload_id.into()))
        })
    }

    async fn list_uploads(
        &self,
        bucket: &str,
        params: ListUploadsParams,
    ) -> Result<UploadsPage, StoreError> {
        self.with_bucket(bucket, |b| {
            let max = match params.max_uploads {
                0 => 1000,
                n => n.min(1000),
            };
            let after =
                |key: &String, id: &String| match (&params.key_marker, &params.upload_id_marker) {
                    (None, _) => true,
                    (Some(marker), None) => key > marker,
                    (Some(marker), Some(id_marker)) => {
                        key > marker || (key == marker && id > id_marker)
                    }
                };
            let mut matching = b
                .uploads
                .iter()
                .filter(|((key, _), _)| key.starts_with(&params.prefix))
                .filter(|((key, id), _)| after(key, id));
            let uploads: Vec<UploadInfo> = matching
                .by_ref()
                .take(max)
                .map(|(_, u)| u.info.clone())
                .collect();
            let is_truncated = matching.next().is_some();
            Ok(UploadsPage {
                next_key_marker: uploads.last().map(|u| u.key.clone()),
                next_upload_id_marker: uploads.last().map(|u| u.upload_id.clone()),
                uploads,
                is_truncated,
            })
        })
    }
}

impl Maintenance for MemoryStore {
    async fn heal_object(&self, _bucket: &str, _key: &str) -> Result<HealReport, StoreError> {
        Ok(HealReport::default())
    }

    async fn heal(&self, _bucket: Option<&str>, _prefix: &str) -> Result<HealReport, StoreError> {
        Ok(HealReport::default())
    }

    async fn drive_status(&self) -> Vec<DriveStatus> {
        Vec::new()
    }

    /// A layout a small real store would have, for admin answers.
    fn erasure_layout(&self) -> (usize, usize) {
        (2, 2)
    }
}

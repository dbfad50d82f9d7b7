//! `MemoryStore`: just enough of `ObjectStore + Catalog + MultipartStore` in
//! memory to drive the scanner, plus hooks the real store cannot offer (a
//! stale listing, failure counters, slow deletes).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use bytes::Bytes;
use futures::StreamExt;
use store::api::*;

#[derive(Default)]
struct Bucket {
    created: Option<SystemTime>,
    objects: BTreeMap<String, (Bytes, ObjectInfo)>,
    settings: HashMap<BucketSetting, Bytes>,
    uploads: BTreeMap<(String, String), UploadInfo>,
}

#[derive(Default)]
pub struct MemoryStore {
    buckets: Mutex<BTreeMap<String, Bucket>>,
    blobs: Mutex<BTreeMap<String, Bytes>>,
    /// Listing shows these modification times instead of the real ones, as a
    /// listing taken before an overwrite would.
    stale_listing: Mutex<BTreeMap<(String, String), SystemTime>>,
    upload_counter: AtomicU64,
    pub deletes: AtomicU64,
    pub blob_writes: AtomicU64,
    /// Each delete takes this long (microseconds), like a delete that
    /// fsyncs on every drive.
    pub delete_delay_micros: AtomicU64,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn show_stale_time_in_listing(&self, bucket: &str, key: &str, at: SystemTime) {
        self.stale_listing
            .lock()
            .unwrap()
            .insert((bucket.into(), key.into()), at);
    }

    /// Changes an object's modification time (as an overwrite would).
    pub fn set_last_modified(&self, bucket: &str, key: &str, at: SystemTime) {
        let mut buckets = self.buckets.lock().unwrap();
        let object = buckets
            .get_mut(bucket)
            .unwrap()
            .objects
            .get_mut(key)
            .unwrap();
        object.1.last_modified = at;
    }

    pub fn delete_count(&self) -> u64 {
        self.deletes.load(Ordering::Relaxed)
    }
}

fn no_bucket(bucket: &str) -> StoreError {
    StoreError::NoSuchBucket(bucket.into())
}

impl ObjectStore for MemoryStore {
    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        mut body: ByteStream,
        opts: PutOptions,
    ) -> Result<ObjectInfo, StoreError> {
        let mut data = Vec::new();
        while let Some(chunk) = body.next().await {
            data.extend_from_slice(&chunk?);
        }
        let info = ObjectInfo {
            bucket: bucket.into(),
            key: key.into(),
            size: data.len() as u64,
            etag: format!("{:x}", data.len()),
            last_modified: SystemTime::now(),
            attributes: opts.attributes,
            checksum: None,
            parts_count: 0,
            parts: Vec::new(),
        };
        let mut buckets = self.buckets.lock().unwrap();
        let b = buckets.get_mut(bucket).ok_or_else(|| no_bucket(bucket))?;
        b.objects
            .insert(key.into(), (Bytes::from(data), info.clone()));
        Ok(info)
    }

    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        _range: Option<ByteRange>,
    ) -> Result<ObjectReader, StoreError> {
        let buckets = self.buckets.lock().unwrap();
        let b = buckets.get(bucket).ok_or_else(|| no_bucket(bucket))?;
        let (data, info) = b
            .objects
            .get(key)
            .cloned()
            .ok_or_else(|| StoreError::NoSuchKey {
                bucket: bucket.into(),
                key: key.into(),
            })?;
        Ok(ObjectReader {
            info,
            range: None,
            body: Box::pin(futures::stream::once(async move { Ok(data) })),
        })
    }

    async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectInfo, StoreError> {
        let buckets = self.buckets.lock().unwrap();
        let b = buckets.get(bucket).ok_or_else(|| no_bucket(bucket))?;
        b.objects
            .get(key)
            .map(|(_, info)| info.clone())
            .ok_or_else(|| StoreError::NoSuchKey {
                bucket: bucket.into(),
                key: key.into(),
            })
    }

    async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        let delay = self.delete_delay_micros.load(Ordering::Relaxed);
        if delay > 0 {
            tokio::time::sleep(std::time::Duration::from_micros(delay)).await;
        }
        let mut buckets = self.buckets.lock().unwrap();
        let b = buckets.get_mut(bucket).ok_or_else(|| no_bucket(bucket))?;
        b.objects.remove(key);
        self.deletes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn update_attributes(
        &self,
        bucket: &str,
        key: &str,
        attributes: ObjectAttributes,
    ) -> Result<ObjectInfo, StoreError> {
        let mut buckets = self.buckets.lock().unwrap();
        let b = buckets.get_mut(bucket).ok_or_else(|| no_bucket(bucket))?;
        let object = b
            .objects
            .get_mut(key)
            .ok_or_else(|| StoreError::NoSuchKey {
                bucket: bucket.into(),
                key: key.into(),
            })?;
        object.1.attributes = attributes;
        Ok(object.1.clone())
    }

    async fn list_objects(&self, bucket: &str, params: ListParams) -> Result<ListPage, StoreError> {
        let buckets = self.buckets.lock().unwrap();
        let b = buckets.get(bucket).ok_or_else(|| no_bucket(bucket))?;
        let stale = self.stale_listing.lock().unwrap();
        let max = params.max_keys.clamp(1, 1000);
        let mut matching = b
            .objects
            .iter()
            .filter(|(key, _)| key.starts_with(&params.prefix))
            .filter(|(key, _)| params.start_after.as_ref().is_none_or(|after| *key > after));
        let objects: Vec<ObjectSummary> = matching
            .by_ref()
            .take(max)
            .map(|(key, (_, info))| ObjectSummary {
                key: key.clone(),
                size: info.size,
                etag: info.etag.clone(),
                last_modified: stale
                    .get(&(bucket.to_string(), key.clone()))
                    .copied()
                    .unwrap_or(info.last_modified),
            })
            .collect();
        let is_truncated = matching.next().is_some();
        Ok(ListPage {
            next_marker: objects.last().map(|o| o.key.clone()),
            objects,
            common_prefixes: Vec::new(),
            is_truncated,
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
        let buckets = self.buckets.lock().unwrap();
        let b = buckets.get(bucket).ok_or_else(|| no_bucket(bucket))?;
        Ok(BucketInfo {
            name: bucket.into(),
            created: b.created.unwrap_or(SystemTime::UNIX_EPOCH),
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
        let buckets = self.buckets.lock().unwrap();
        let b = buckets.get(bucket).ok_or_else(|| no_bucket(bucket))?;
        Ok(b.settings.get(&setting).cloned())
    }

    async fn put_bucket_setting(
        &self,
        bucket: &str,
        setting: BucketSetting,
        value: Option<Bytes>,
    ) -> Result<(), StoreError> {
        let mut buckets = self.buckets.lock().unwrap();
        let b = buckets.get_mut(bucket).ok_or_else(|| no_bucket(bucket))?;
        match value {
            Some(value) => b.settings.insert(setting, value),
            None => b.settings.remove(&setting),
        };
        Ok(())
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

impl MultipartStore for MemoryStore {
    async fn create_multipart(
        &self,
        bucket: &str,
        key: &str,
        attributes: ObjectAttributes,
        checksum_algorithm: Option<ChecksumAlgorithm>,
    ) -> Result<UploadInfo, StoreError> {
        let mut buckets = self.buckets.lock().unwrap();
        let b = buckets.get_mut(bucket).ok_or_else(|| no_bucket(bucket))?;
        let upload_id = format!(
            "u{:08}",
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
        b.uploads.insert((key.into(), upload_id), info.clone());
        Ok(info)
    }

    async fn put_part(
        &self,
        _bucket: &str,
        _key: &str,
        _upload_id: &str,
        _part_number: u32,
        _body: ByteStream,
        _opts: PutOptions,
    ) -> Result<PartInfo, StoreError> {
        Err(StoreError::Internal("not needed by the scanner".into()))
    }

    async fn list_parts(
        &self,
        _bucket: &str,
        _key: &str,
        _upload_id: &str,
        _part_number_marker: Option<u32>,
        _max_parts: usize,
    ) -> Result<PartsPage, StoreError> {
        Err(StoreError::Internal("not needed by the scanner".into()))
    }

    async fn complete_multipart(
        &self,
        _bucket: &str,
        _key: &str,
        _upload_id: &str,
        _parts: Vec<CompletePart>,
    ) -> Result<ObjectInfo, StoreError> {
        Err(StoreError::Internal("not needed by the scanner".into()))
    }

    async fn abort_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), StoreError> {
        let mut buckets = self.buckets.lock().unwrap();
        let b = buckets.get_mut(bucket).ok_or_else(|| no_bucket(bucket))?;
        b.uploads
            .remove(&(key.to_string(), upload_id.to_string()))
            .map(|_| ())
            .ok_or_else(|| StoreError::NoSuchUpload(upload_id.into()))
    }

    async fn list_uploads(
        &self,
        bucket: &str,
        params: ListUploadsParams,
    ) -> Result<UploadsPage, StoreError> {
        let buckets = self.buckets.lock().unwrap();
        let b = buckets.get(bucket).ok_or_else(|| no_bucket(bucket))?;
        let max = params.max_uploads.clamp(1, 1000);
        let after = |key: &String, id: &String| match (&params.key_marker, &params.upload_id_marker)
        {
            (None, _) => true,
            (Some(marker), None) => key > marker,
            (Some(marker), Some(id_marker)) => key > marker || (key == marker && id > id_marker),
        };
        let mut matching = b
            .uploads
            .iter()
            .filter(|((key, _), _)| key.starts_with(&params.prefix))
            .filter(|((key, id), _)| after(key, id));
        let uploads: Vec<UploadInfo> = matching
            .by_ref()
            .take(max)
            .map(|(_, u)| u.clone())
            .collect();
        let is_truncated = matching.next().is_some();
        Ok(UploadsPage {
            next_key_marker: uploads.last().map(|u| u.key.clone()),
            next_upload_id_marker: uploads.last().map(|u| u.upload_id.clone()),
            uploads,
            is_truncated,
        })
    }
}

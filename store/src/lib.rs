//! minnow's storage engine: a set of drives (directories behind one I/O
//! seam, [`Drive`], each bounded by a deadline), objects striped across them
//! with Reed-Solomon erasure coding, buckets, multipart uploads, listing,
//! healing and a bounded cache of recently read objects. It knows nothing of HTTP: callers use the traits in
//! [`api`] and get [`api::StoreError`] back.
//!
//! Open a [`Store`] with [`Store::open`] and a [`StoreConfig`]; it implements
//! [`api::ObjectStore`], [`api::Catalog`], [`api::MultipartStore`] and
//! [`api::Maintenance`]. The on-disk format is described in `store/README.md`
//! and in [`layout`](crate#on-disk-layout). With the `test-util` feature,
//! `memory::MemoryStore` implements the same traits in memory for the tests
//! of the crates above.
//!
//! # On-disk layout
//! See the `layout` module header and `store/README.md`.
#![deny(missing_docs)]

// The engine's tests share the suites' drive fixture, written against `store::`.
#[cfg(test)]
extern crate self as store;

mod answers;
pub mod api;
mod cache;
mod catalog;
mod crash;
mod deadline;
mod drive;
mod engine;
#[cfg(any(test, feature = "test-util"))]
pub mod faulty;
mod format;
mod hashing;
mod heal;
mod keys;
mod layout;
mod list_index;
mod listing;
mod lock;
#[cfg(feature = "test-util")]
pub mod memory;
mod meta;
mod multipart;
mod quorum;
mod staging;
#[cfg(test)]
mod tests;
mod workers;

use bytes::Bytes;

use api::{
    BucketInfo, BucketSetting, ByteRange, ByteStream, Catalog, ChecksumAlgorithm, ChecksumType,
    CompleteChecks, CompletePart, DriveStatus, HealReport, HealStatus, ListPage, ListParams,
    ListUploadsParams, Maintenance, MultipartStore, ObjectAttributes, ObjectInfo, ObjectReader,
    ObjectStore, PartInfo, PartsPage, PutOptions, StoreError, UploadInfo, UploadsPage, WorkerInfo,
};
pub use cache::DEFAULT_CACHE_BYTES;
pub use deadline::DEFAULT_DRIVE_TIMEOUT;
pub use drive::{
    DirEntry, Drive, DriveBackend, DriveSpace, ShardReader, ShardWriter, DIR_MODE, FILE_MODE,
};
use engine::Engine;
pub use engine::{default_parity, Store, StoreConfig};
pub use list_index::DEFAULT_LIST_INDEX_BYTES;
pub use workers::DEFAULT_HEAL_TRANQUILITY;

impl ObjectStore for Store {
    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: ByteStream,
        opts: PutOptions,
    ) -> Result<ObjectInfo, StoreError> {
        let _request = self.inner.foreground.enter();
        self.inner.put_object(bucket, key, body, opts).await
    }

    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        range: Option<ByteRange>,
    ) -> Result<ObjectReader, StoreError> {
        // The body carries the request: it runs until the body is sent.
        let request = self.inner.foreground.enter();
        let mut reader = self.inner.get_object(bucket, key, range).await?;
        reader.body = Box::pin(workers::CountedBody::new(reader.body, request));
        Ok(reader)
    }

    async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectInfo, StoreError> {
        let _request = self.inner.foreground.enter();
        self.inner.head_object(bucket, key).await
    }

    async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        let _request = self.inner.foreground.enter();
        self.inner.delete_object(bucket, key).await
    }

    async fn update_attributes(
        &self,
        bucket: &str,
        key: &str,
        attributes: ObjectAttributes,
    ) -> Result<ObjectInfo, StoreError> {
        let _request = self.inner.foreground.enter();
        self.inner.update_attributes(bucket, key, attributes).await
    }

    async fn update_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: std::collections::BTreeMap<String, String>,
    ) -> Result<ObjectInfo, StoreError> {
        let _request = self.inner.foreground.enter();
        self.inner.update_tags(bucket, key, tags).await
    }

    async fn list_objects(&self, bucket: &str, params: ListParams) -> Result<ListPage, StoreError> {
        let _request = self.inner.foreground.enter();
        self.inner.list_objects(bucket, params).await
    }
}

impl Catalog for Store {
    async fn create_bucket(&self, bucket: &str) -> Result<(), StoreError> {
        self.inner.create_bucket(bucket).await
    }

    async fn head_bucket(&self, bucket: &str) -> Result<BucketInfo, StoreError> {
        self.inner.head_bucket(bucket)
    }

    async fn list_buckets(&self) -> Result<Vec<BucketInfo>, StoreError> {
        Ok(self.inner.list_buckets())
    }

    async fn delete_bucket(&self, bucket: &str) -> Result<(), StoreError> {
        self.inner.delete_bucket(bucket).await
    }

    async fn get_bucket_setting(
        &self,
        bucket: &str,
        setting: BucketSetting,
    ) -> Result<Option<Bytes>, StoreError> {
        self.inner.get_bucket_setting(bucket, setting)
    }

    async fn put_bucket_setting(
        &self,
        bucket: &str,
        setting: BucketSetting,
        value: Option<Bytes>,
    ) -> Result<(), StoreError> {
        self.inner.put_bucket_setting(bucket, setting, value).await
    }

    async fn get_system_blob(&self, name: &str) -> Result<Option<Bytes>, StoreError> {
        self.inner.get_system_blob(name).await
    }

    async fn put_system_blob(&self, name: &str, value: Option<Bytes>) -> Result<(), StoreError> {
        self.inner.put_system_blob(name, value).await
    }
}

impl MultipartStore for Store {
    async fn create_multipart_typed(
        &self,
        bucket: &str,
        key: &str,
        attributes: ObjectAttributes,
        checksum_algorithm: Option<ChecksumAlgorithm>,
        checksum_type: ChecksumType,
    ) -> Result<UploadInfo, StoreError> {
        let _request = self.inner.foreground.enter();
        self.inner
            .create_multipart(bucket, key, attributes, checksum_algorithm, checksum_type)
            .await
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
        let _request = self.inner.foreground.enter();
        self.inner
            .put_part(bucket, key, upload_id, part_number, body, opts)
            .await
    }

    async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number_marker: Option<u32>,
        max_parts: usize,
    ) -> Result<PartsPage, StoreError> {
        let _request = self.inner.foreground.enter();
        self.inner
            .list_parts(bucket, key, upload_id, part_number_marker, max_parts)
            .await
    }

    async fn complete_multipart_checked(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: Vec<CompletePart>,
        checks: CompleteChecks,
    ) -> Result<ObjectInfo, StoreError> {
        let _request = self.inner.foreground.enter();
        self.inner
            .complete_multipart(bucket, key, upload_id, parts, checks)
            .await
    }

    async fn abort_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), StoreError> {
        let _request = self.inner.foreground.enter();
        self.inner.abort_multipart(bucket, key, upload_id).await
    }

    async fn list_uploads(
        &self,
        bucket: &str,
        params: ListUploadsParams,
    ) -> Result<UploadsPage, StoreError> {
        let _request = self.inner.foreground.enter();
        self.inner.list_uploads(bucket, params).await
    }
}

impl Maintenance for Store {
    async fn heal_object(&self, bucket: &str, key: &str) -> Result<HealReport, StoreError> {
        self.inner.heal_object(bucket, key).await
    }

    async fn heal(&self, bucket: Option<&str>, prefix: &str) -> Result<HealReport, StoreError> {
        self.inner.heal(bucket, prefix).await
    }

    async fn drive_status(&self) -> Vec<DriveStatus> {
        Engine::drive_status(&self.inner).await
    }

    fn erasure_layout(&self) -> (usize, usize) {
        (self.inner.data, self.inner.parity)
    }

    fn heal_status(&self) -> HealStatus {
        self.inner.heal_status()
    }

    fn workers(&self) -> Vec<WorkerInfo> {
        self.inner.workers.list()
    }
}

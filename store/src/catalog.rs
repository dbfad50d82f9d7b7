//! Buckets, bucket settings and system blobs: small records written to
//! every drive and read by quorum. Buckets and their settings are loaded at
//! start-up and cached in memory (one process owns the drives).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::api::{BucketInfo, BucketSetting, ListParams, StoreError};
use crate::engine::{BucketState, Effect, Engine};
use crate::keys::{validate_blob_name, validate_bucket_name};
use crate::layout;
use crate::meta::{Blob, MetaError};
use crate::quorum::{pick_blob, DriveRead};

pub(crate) const SETTINGS: [BucketSetting; 3] = [
    BucketSetting::Policy,
    BucketSetting::Lifecycle,
    BucketSetting::Cors,
];

pub(crate) fn read_blob(drive: &dyn crate::drive::Drive, path: &Path) -> DriveRead<Blob> {
    DriveRead::from_io(drive.read_file(path).map(|bytes| {
        Blob::decode(Bytes::from(bytes)).inspect_err(|err| {
            // Counted as corrupt like any undecodable copy; say why, since
            // a newer build's file is not damage.
            if let MetaError::UnsupportedVersion(_) = err {
                tracing::warn!(drive = %drive.root().display(), path = %path.display(), "{err}");
            }
        })
    }))
}

/// Which entries of a folder a listing wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Folder,
    File,
}

impl Engine {
    /// Names of the entries of `dir` on any drive, of `kind` and passing
    /// `valid`, sorted, each once.
    pub(crate) async fn names_on_any_drive(
        &self,
        dir: &'static str,
        kind: EntryKind,
        valid: fn(&str) -> bool,
    ) -> Vec<String> {
        let lists = self
            .drives
            .each_drive(move |_, drive| drive.list_dir(Path::new(dir)))
            .await;
        let mut names: Vec<String> = lists
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.is_dir == (kind == EntryKind::Folder) && valid(&e.name))
            .map(|e| e.name)
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Reads a blob from every drive and picks the agreed value.
    pub async fn read_blob_quorum(&self, path: PathBuf) -> Option<Blob> {
        let reads: Vec<DriveRead<Blob>> = self
            .drives
            .each_drive(move |_, drive| Ok(read_blob(drive, &path)))
            .await
            .into_iter()
            .map(|r| r.unwrap_or(DriveRead::Failed))
            .collect();
        pick_blob(&reads, self.data)
    }

    /// Writes (or removes, for `None`) a blob on every drive; needs write quorum.
    pub async fn write_blob_quorum(
        &self,
        path: PathBuf,
        blob: Option<Blob>,
    ) -> Result<(), StoreError> {
        let encoded = blob.map(|b| Arc::new(b.encode()));
        let results = self
            .drives
            .each_drive(move |_, drive| match &encoded {
                Some(bytes) => drive.write_atomic(&path, bytes),
                None => {
                    drive.remove_file(&path)?;
                    match path.parent() {
                        Some(parent) => drive.fsync_dir(parent).or_else(|err| {
                            if err.kind() == io::ErrorKind::NotFound {
                                Ok(())
                            } else {
                                Err(err)
                            }
                        }),
                        None => Ok(()),
                    }
                }
            })
            .await;
        // A removal cannot be put back; an overwrite is not put back either
        // (a minority copy of a blob never wins a read), and the drives that
        // missed it are marked for the heal walk.
        self.drives.finish_final_write(results).await?;
        Ok(())
    }

    /// Loads every bucket (union of names over drives, records by quorum).
    pub async fn load_buckets(&self) {
        let names = self
            .names_on_any_drive(layout::BUCKETS_DIR, EntryKind::Folder, |name| {
                validate_bucket_name(name).is_ok()
            })
            .await;
        for name in names {
            let Some(record) = self.read_blob_quorum(layout::bucket_meta_path(&name)).await else {
                continue;
            };
            let mut state = BucketState {
                created: record.mod_time,
                settings: Default::default(),
                deleting: false,
            };
            for setting in SETTINGS {
                if let Some(blob) = self
                    .read_blob_quorum(layout::setting_path(&name, setting))
                    .await
                {
                    state.settings.insert(setting, blob.value);
                }
            }
            self.buckets
                .write()
                .expect("bucket cache")
                .insert(name, state);
        }
    }

    pub async fn create_bucket(&self, bucket: &str) -> Result<(), StoreError> {
        validate_bucket_name(bucket)?;
        let _guard = self.bucket_ops.lock().await;
        if self
            .buckets
            .read()
            .expect("bucket cache")
            .contains_key(bucket)
        {
            return Err(StoreError::BucketAlreadyExists(bucket.to_owned()));
        }
        self.drives.check_write_quorum()?;
        let record = Blob::new(Bytes::new());
        let created = record.mod_time;
        let encoded = Arc::new(record.encode());
        let name = bucket.to_owned();
        let results = self
            .drives
            .each_drive(move |_, drive| {
                drive.mkdir_all(&layout::bucket_dir(&name))?;
                drive.write_atomic(&layout::bucket_meta_path(&name), &encoded)
            })
            .await;
        let name = bucket.to_owned();
        self.drives
            .finish_write(
                results,
                self.drives.write_quorum(),
                Effect::Visible,
                |_| async move {
                    self.drives
                        .each_drive(move |_, drive| {
                            drive.remove_dir_all(&layout::bucket_sys_dir(&name))?;
                            drive.remove_empty_dir(&layout::bucket_dir(&name)).map(drop)
                        })
                        .await;
                },
            )
            .await?;
        self.list_index.forget_bucket(bucket);
        self.buckets.write().expect("bucket cache").insert(
            bucket.to_owned(),
            BucketState {
                created,
                settings: Default::default(),
                deleting: false,
            },
        );
        Ok(())
    }

    pub fn head_bucket(&self, bucket: &str) -> Result<BucketInfo, StoreError> {
        let buckets = self.buckets.read().expect("bucket cache");
        match buckets.get(bucket) {
            Some(state) => Ok(BucketInfo {
                name: bucket.to_owned(),
                created: state.created.into(),
            }),
            None => {
                validate_bucket_name(bucket)?;
                Err(StoreError::NoSuchBucket(bucket.to_owned()))
            }
        }
    }

    pub fn list_buckets(&self) -> Vec<BucketInfo> {
        self.buckets
            .read()
            .expect("bucket cache")
            .iter()
            .map(|(name, state)| BucketInfo {
                name: name.clone(),
                created: state.created.into(),
            })
            .collect()
    }

    pub async fn delete_bucket(&self, bucket: &str) -> Result<(), StoreError> {
        let _guard = self.bucket_ops.lock().await;
        self.require_bucket(bucket)?;
        // No object or upload write is between its bucket check and its
        // last file operation while this is held (see `BucketLocks`).
        let _exclusive = self.bucket_locks.exclusive(bucket).await;
        self.set_deleting(bucket, true);
        let outcome = self.delete_bucket_locked(bucket).await;
        // Whatever was removed, no cached object of the bucket outlives this.
        self.cache.invalidate_bucket(bucket);
        match &outcome {
            // Half-removed below quorum: the bucket is gone from the cache
            // either way (a restart reloads it if a quorum of records stayed).
            Ok(()) | Err(StoreError::WriteQuorum { .. }) => {
                self.list_index.forget_bucket(bucket);
                self.buckets.write().expect("bucket cache").remove(bucket);
            }
            Err(_) => self.set_deleting(bucket, false),
        }
        outcome
    }

    fn set_deleting(&self, bucket: &str, deleting: bool) {
        if let Some(state) = self.buckets.write().expect("bucket cache").get_mut(bucket) {
            state.deleting = deleting;
        }
    }

    async fn delete_bucket_locked(&self, bucket: &str) -> Result<(), StoreError> {
        let page = self
            .list_objects(
                bucket,
                ListParams {
                    max_keys: 1,
                    ..Default::default()
                },
            )
            .await?;
        if !page.objects.is_empty() || !page.common_prefixes.is_empty() {
            return Err(StoreError::BucketNotEmpty(bucket.to_owned()));
        }
        if self.has_uploads(bucket).await {
            return Err(StoreError::BucketNotEmpty(bucket.to_owned()));
        }
        self.drives.check_write_quorum()?;
        let name = bucket.to_owned();
        let results = self
            .drives
            .each_drive(move |_, drive| {
                // The record goes first: a drive that keeps a folder without
                // a record does not resurrect the bucket.
                drive.remove_dir_all(&layout::bucket_sys_dir(&name))?;
                drive.remove_dir_all(&layout::multipart_bucket_dir(&name))?;
                drive.remove_dir_all(&layout::bucket_dir(&name))?;
                drive.fsync_dir(Path::new(layout::BUCKETS_DIR))
            })
            .await;
        self.drives.finish_final_write(results).await?;
        Ok(())
    }

    pub fn get_bucket_setting(
        &self,
        bucket: &str,
        setting: BucketSetting,
    ) -> Result<Option<Bytes>, StoreError> {
        let buckets = self.buckets.read().expect("bucket cache");
        match buckets.get(bucket) {
            Some(state) => Ok(state.settings.get(&setting).cloned()),
            None => Err(StoreError::NoSuchBucket(bucket.to_owned())),
        }
    }

    pub async fn put_bucket_setting(
        &self,
        bucket: &str,
        setting: BucketSetting,
        value: Option<Bytes>,
    ) -> Result<(), StoreError> {
        let _guard = self.bucket_ops.lock().await;
        self.require_bucket(bucket)?;
        self.write_blob_quorum(
            layout::setting_path(bucket, setting),
            value.clone().map(Blob::new),
        )
        .await?;
        let mut buckets = self.buckets.write().expect("bucket cache");
        if let Some(state) = buckets.get_mut(bucket) {
            match value {
                Some(value) => state.settings.insert(setting, value),
                None => state.settings.remove(&setting),
            };
        }
        Ok(())
    }

    pub async fn get_system_blob(&self, name: &str) -> Result<Option<Bytes>, StoreError> {
        validate_blob_name(name)?;
        Ok(self
            .read_blob_quorum(layout::system_blob_path(name))
            .await
            .map(|b| b.value))
    }

    pub async fn put_system_blob(
        &self,
        name: &str,
        value: Option<Bytes>,
    ) -> Result<(), StoreError> {
        validate_blob_name(name)?;
        let _guard = self.locks.lock("", name).await;
        self.write_blob_quorum(layout::system_blob_path(name), value.map(Blob::new))
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use uuid::Uuid;

    use super::*;
    use crate::api::Catalog;
    use crate::meta::Timestamp;
    use crate::{Store, StoreConfig};

    const BUCKET_META_V1_FIXTURE: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/bucket-meta-v1.bin");
    const BUCKET_POLICY_V1_FIXTURE: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/bucket-policy-v1.bin");
    const POLICY: &[u8] = br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::fixture-bucket/*"]}]}"#;
    const CREATED: Timestamp = Timestamp {
        secs: 1_795_000_000,
        nanos: 123_456_789,
    };

    fn sample_bucket_record() -> Blob {
        Blob {
            mod_time: CREATED,
            id: Uuid::from_u128(0x0b0c_0e70_0000_4000_8000_0000_0000_0001),
            value: Bytes::new(),
        }
    }

    fn sample_policy_setting() -> Blob {
        Blob {
            mod_time: Timestamp {
                secs: 1_795_000_100,
                nanos: 0,
            },
            id: Uuid::from_u128(0x0b0c_0e70_0000_4000_8000_0000_0000_0002),
            value: Bytes::from_static(POLICY),
        }
    }

    /// A four-drive store, formatted, with every drive then holding `files`
    /// (drive-relative path, bytes) as an older build left them.
    async fn drives_holding(dir: &Path, files: &[(PathBuf, Vec<u8>)]) -> StoreConfig {
        let config = StoreConfig::new((0..4).map(|i| dir.join(format!("d{i}"))).collect());
        drop(Store::open(config.clone()).await.unwrap());
        for drive in &config.drives {
            std::fs::create_dir_all(drive.join("fixture-bucket")).unwrap();
            for (path, bytes) in files {
                std::fs::create_dir_all(drive.join(path).parent().unwrap()).unwrap();
                std::fs::write(drive.join(path), bytes).unwrap();
            }
        }
        config
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bucket_record_and_setting_format_v1_fixtures_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let files = [
            (
                layout::bucket_meta_path("fixture-bucket"),
                std::fs::read(BUCKET_META_V1_FIXTURE).expect("fixture present"),
            ),
            (
                layout::setting_path("fixture-bucket", BucketSetting::Policy),
                std::fs::read(BUCKET_POLICY_V1_FIXTURE).expect("fixture present"),
            ),
        ];
        let store = Store::open(drives_holding(dir.path(), &files).await)
            .await
            .unwrap();
        let info = store.head_bucket("fixture-bucket").await.unwrap();
        assert_eq!(
            info.created,
            UNIX_EPOCH + Duration::new(1_795_000_000, 123_456_789)
        );
        assert_eq!(
            store
                .get_bucket_setting("fixture-bucket", BucketSetting::Policy)
                .await
                .unwrap()
                .as_deref(),
            Some(POLICY)
        );
        assert_eq!(
            store
                .get_bucket_setting("fixture-bucket", BucketSetting::Lifecycle)
                .await
                .unwrap(),
            None
        );
    }

    /// Writes the fixtures; run once by hand when a new format version is
    /// introduced (never overwrite an old version's fixture).
    #[test]
    #[ignore]
    fn write_bucket_record_and_setting_format_v1_fixtures() {
        std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")).unwrap();
        std::fs::write(BUCKET_META_V1_FIXTURE, sample_bucket_record().encode()).unwrap();
        std::fs::write(BUCKET_POLICY_V1_FIXTURE, sample_policy_setting().encode()).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bucket_of_a_newer_record_version_is_not_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let mut newer = sample_bucket_record().encode();
        newer[4..6].copy_from_slice(&2u16.to_le_bytes());
        let body_len = newer.len() - 4;
        let crc = crc32fast::hash(&newer[..body_len]);
        newer[body_len..].copy_from_slice(&crc.to_le_bytes());
        let files = [(layout::bucket_meta_path("fixture-bucket"), newer)];
        let store = Store::open(drives_holding(dir.path(), &files).await)
            .await
            .unwrap();
        assert!(matches!(
            store.head_bucket("fixture-bucket").await,
            Err(StoreError::NoSuchBucket(_))
        ));
    }
}

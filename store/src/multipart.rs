//! Multipart uploads. An upload lives under
//! `.minnow.sys/multipart/<bucket>/<upload_id>/` on every drive:
//! `upload.meta`, and per part `part.N.meta` plus its shard file
//! `part.N.<data id>` (each part is erasure coded on its own). Completing
//! hard-links the chosen part files into a new data directory and commits
//! the object exactly like a PUT; the upload is removed afterwards.

use std::io;

use std::sync::Arc;

use bytes::Bytes;
use md5::{Digest as _, Md5};
use uuid::Uuid;

use crate::api::{
    ByteStream, Checksum, ChecksumAlgorithm, ChecksumType, CompleteChecks, CompletePart,
    ListUploadsParams, ObjectAttributes, ObjectInfo, PartInfo, PartsPage, PutOptions, StoreError,
    UploadInfo, UploadsPage,
};
use crate::engine::{object_info, Effect, Engine, Inline, Stored, MAX_PART_SIZE};
use crate::hashing::{combine_crcs, decode_b64, digest, encode_b64};
use crate::keys::EncodedKey;
use crate::layout;
use crate::meta::{
    decode_record, encode_record, MetaPart, ObjectMeta, PartMeta, Timestamp, UploadMeta,
};
use crate::quorum::{write_quorum, DriveRead};

/// Highest part number S3 accepts.
pub const MAX_PARTS: u32 = 10_000;
/// Smallest part size except for the last part.
pub const MIN_PART_SIZE: u64 = 5 << 20;
/// Page size cap for ListParts / ListMultipartUploads.
const MAX_PAGE: usize = 1000;

fn validate_upload_id(upload_id: &str) -> Result<(), StoreError> {
    if upload_id.len() == 32 && upload_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(StoreError::NoSuchUpload(upload_id.to_owned()))
    }
}

fn trim_etag(etag: &str) -> String {
    etag.trim().trim_matches('"').to_ascii_lowercase()
}

/// A record `data` or more drives agree on, and which drives hold it.
pub(crate) struct Held<T> {
    pub value: T,
    pub holders: Vec<bool>,
}

/// The agreed upload record of an upload id: its key, the record as
/// stored, and which drives hold it.
pub(crate) struct AgreedUpload {
    pub key: String,
    pub record: Vec<u8>,
    pub holders: Vec<bool>,
}

/// The entry `data` or more drives agree on.
pub(crate) fn agree<T: PartialEq + Clone>(reads: &[DriveRead<T>], data: usize) -> Option<Held<T>> {
    let mut best: Option<(usize, usize)> = None;
    for (index, read) in reads.iter().enumerate() {
        let Some(value) = read.found() else { continue };
        let count = reads.iter().filter(|r| r.found() == Some(value)).count();
        if best.is_none_or(|(_, c)| count > c) {
            best = Some((index, count));
        }
    }
    let (index, count) = best?;
    if count < data {
        return None;
    }
    let value = reads[index].found().expect("found").clone();
    let holders = reads.iter().map(|r| r.found() == Some(&value)).collect();
    Some(Held { value, holders })
}

impl Engine {
    pub(crate) async fn read_records<T>(&self, path: std::path::PathBuf) -> Vec<DriveRead<T>>
    where
        T: serde::de::DeserializeOwned + Send + 'static,
    {
        self.drives
            .each_drive(move |_, drive| {
                drive
                    .read_file(&path)
                    .map(|bytes| decode_record::<T>(Bytes::from(bytes)).map(|(value, _)| value))
            })
            .await
            .into_iter()
            .map(DriveRead::from_io)
            .collect()
    }

    async fn read_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<UploadMeta, StoreError> {
        validate_upload_id(upload_id)?;
        let reads = self
            .read_records::<UploadMeta>(layout::upload_meta_path(bucket, upload_id))
            .await;
        match agree(&reads, self.data) {
            Some(Held { value: upload, .. }) if upload.key == key => Ok(upload),
            Some(_) => Err(StoreError::NoSuchUpload(upload_id.to_owned())),
            None => {
                // "No such upload" only from a read quorum of drives that
                // answered, never from drives whose folder is gone.
                let answered: Vec<bool> = reads
                    .iter()
                    .map(|r| !matches!(r, DriveRead::Failed))
                    .collect();
                self.require_answers(&answered).await?;
                Err(StoreError::NoSuchUpload(upload_id.to_owned()))
            }
        }
    }

    /// `ReadQuorum` unless at least `data` drives answered (per position)
    /// and still answer now; takes drives that stopped answering offline.
    async fn require_answers(&self, answered: &[bool]) -> Result<(), StoreError> {
        self.drives.check_read_quorum().await?;
        let online = answered
            .iter()
            .zip(&self.drives)
            .filter(|(answered, state)| {
                **answered && state.online.load(std::sync::atomic::Ordering::Relaxed)
            })
            .count();
        if online < self.data {
            Err(StoreError::ReadQuorum {
                online,
                needed: self.data,
            })
        } else {
            Ok(())
        }
    }

    pub(crate) async fn read_part(
        &self,
        bucket: &str,
        upload_id: &str,
        number: u32,
    ) -> Option<Held<PartMeta>> {
        let reads = self
            .read_records::<PartMeta>(layout::upload_part_meta_path(bucket, upload_id, number))
            .await;
        // Drives differ only in the shard index they hold.
        let normalised: Vec<DriveRead<PartMeta>> = reads
            .into_iter()
            .map(|r| match r {
                DriveRead::Found(mut part) => {
                    part.erasure.index = 0;
                    DriveRead::Found(part)
                }
                other => other,
            })
            .collect();
        agree(&normalised, self.data)
    }

    pub async fn create_multipart(
        &self,
        bucket: &str,
        key: &str,
        attributes: ObjectAttributes,
        checksum_algorithm: Option<ChecksumAlgorithm>,
        checksum_type: ChecksumType,
    ) -> Result<UploadInfo, StoreError> {
        self.require_bucket(bucket)?;
        if let Some(algorithm) = checksum_algorithm {
            if !checksum_type.allows(algorithm) {
                return Err(StoreError::InvalidArgument(format!(
                    "The {} checksum type cannot be used with the {} checksum algorithm.",
                    checksum_type.name(),
                    algorithm.name().to_ascii_lowercase()
                )));
            }
        }
        let key = EncodedKey::new(key)?;
        self.drives.check_write_quorum()?;
        let upload_id = Uuid::new_v4().simple().to_string();
        let upload = UploadMeta {
            key: key.key().to_owned(),
            upload_id: upload_id.clone(),
            initiated: Timestamp::now(),
            attributes,
            checksum_algorithm,
            checksum_type,
            erasure: self.erasure_info(self.distribution(bucket, key.key())),
        };
        let encoded = Arc::new(encode_record(&upload, None));
        let path = layout::upload_meta_path(bucket, &upload_id);
        let _bucket = self.bucket_locks.shared(bucket).await;
        // The heal walk takes this lock before it removes an upload folder
        // that no quorum of records backs: never one being created.
        let _guard = self.locks.lock(bucket, key.key()).await;
        self.require_writable_bucket(bucket)?;
        let results = self
            .drives
            .each_drive(move |_, drive| drive.write_atomic(&path, &encoded))
            .await;
        let dir = layout::upload_dir(bucket, &upload_id);
        self.drives
            .finish_write(
                results,
                self.drives.write_quorum(),
                Effect::Visible,
                |_| async move {
                    self.drives
                        .each_drive(move |_, drive| drive.remove_dir_all(&dir))
                        .await;
                },
            )
            .await?;
        Ok(upload_info(bucket, upload))
    }

    pub async fn put_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: u32,
        body: ByteStream,
        opts: PutOptions,
    ) -> Result<PartInfo, StoreError> {
        self.require_bucket(bucket)?;
        let key = EncodedKey::new(key)?;
        if !(1..=MAX_PARTS).contains(&number) {
            return Err(StoreError::InvalidArgument(format!(
                "part number {number} is outside 1..={MAX_PARTS}"
            )));
        }
        let upload = self.read_upload(bucket, key.key(), upload_id).await?;
        self.drives.check_write_quorum()?;
        let distribution = upload.erasure.distribution.clone();
        let mut opts = opts;
        if opts.checksum_algorithm.is_none() {
            opts.checksum_algorithm = upload.checksum_algorithm;
        }
        let ingested = self
            .ingest(
                body,
                &opts,
                &distribution,
                layout::part_file_name(number),
                Inline::Never,
                MAX_PART_SIZE,
            )
            .await?;
        let Stored::Files {
            tmp_dir,
            file_name,
            written,
        } = ingested.stored
        else {
            return Err(StoreError::Internal("parts are never inline".into()));
        };
        let part = MetaPart {
            number,
            size: ingested.size,
            etag: hex::encode(ingested.md5),
            mod_time: Timestamp::now(),
            checksum: ingested.checksum,
        };
        let data_id = Uuid::new_v4();
        let mut erasure = self.erasure_info(distribution.clone());
        let _bucket = self.bucket_locks.shared(bucket).await;
        let _guard = self.locks.lock(bucket, key.key()).await;
        if let Err(err) = self.require_writable_bucket(bucket) {
            self.remove_tmp(tmp_dir).await;
            return Err(err);
        }
        let per_drive: Vec<Option<Vec<u8>>> = (0..self.drives.len())
            .map(|position| {
                written[position].then(|| {
                    erasure.index = distribution[position];
                    encode_record(
                        &PartMeta {
                            part: part.clone(),
                            data_id,
                            erasure: erasure.clone(),
                        },
                        None,
                    )
                })
            })
            .collect();
        let per_drive = Arc::new(per_drive);
        let (bucket_owned, upload_owned) = (bucket.to_owned(), upload_id.to_owned());
        let staged = tmp_dir.join(&file_name);
        let owner = tmp_dir.clone();
        let results = self
            .drives
            .each_drive(move |position, drive| {
                // A rename that outlives the request keeps the staging owned.
                let _owner = &owner;
                let Some(bytes) = &per_drive[position] else {
                    return Err(io::Error::other("no shard on this drive"));
                };
                let upload_meta = layout::upload_meta_path(&bucket_owned, &upload_owned);
                if !drive.exists(&upload_meta)? {
                    return Err(io::Error::new(io::ErrorKind::NotFound, "upload is gone"));
                }
                let target =
                    layout::upload_part_data_path(&bucket_owned, &upload_owned, number, data_id);
                // The part meta write below fsyncs this same upload folder.
                drive.rename_unsynced(&staged, &target)?;
                let meta_path = layout::upload_part_meta_path(&bucket_owned, &upload_owned, number);
                let old = drive
                    .read_file(&meta_path)
                    .ok()
                    .and_then(|b| decode_record::<PartMeta>(Bytes::from(b)).ok())
                    .map(|(old, _)| old.data_id);
                drive.write_atomic(&meta_path, bytes)?;
                if let Some(old) = old.filter(|old| *old != data_id) {
                    drive.remove_file(&layout::upload_part_data_path(
                        &bucket_owned,
                        &upload_owned,
                        number,
                        old,
                    ))?;
                }
                Ok(())
            })
            .await;
        self.remove_tmp(tmp_dir).await;
        // Every drive that answered found the upload gone: it was completed
        // or aborted meanwhile.
        let upload_gone = results.iter().all(|r| r.is_err())
            && results
                .iter()
                .any(|r| matches!(r, Err(e) if e.kind() == io::ErrorKind::NotFound));
        // A part below quorum is left for a retry or the upload's cleanup
        // (the old part record stays the agreed one).
        match self.drives.finish_final_write(results).await {
            Err(StoreError::WriteQuorum { .. }) if upload_gone => {
                return Err(StoreError::NoSuchUpload(upload_id.to_owned()))
            }
            other => other?,
        };
        Ok(part.to_info())
    }

    pub async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        marker: Option<u32>,
        max_parts: usize,
    ) -> Result<PartsPage, StoreError> {
        self.require_bucket(bucket)?;
        let upload = self.read_upload(bucket, key, upload_id).await?;
        let (numbers, answered) = self.part_numbers(bucket, upload_id).await;
        let max = if max_parts == 0 {
            MAX_PAGE
        } else {
            max_parts.min(MAX_PAGE)
        };
        let mut page = PartsPage {
            upload: Some(upload_info(bucket, upload)),
            ..Default::default()
        };
        for number in numbers
            .into_iter()
            .filter(|n| marker.is_none_or(|m| *n > m))
        {
            let Some(Held { value: part, .. }) = self.read_part(bucket, upload_id, number).await
            else {
                continue;
            };
            if page.parts.len() == max {
                page.is_truncated = true;
                break;
            }
            page.next_part_number_marker = Some(number);
            page.parts.push(part.part.to_info());
        }
        if !page.is_truncated {
            page.next_part_number_marker = None;
        }
        // A drive that vanished listed no parts: the page is complete only
        // if `data` drives answered.
        self.require_answers(&answered).await?;
        Ok(page)
    }

    /// Part numbers with a record on any drive, and per drive whether its
    /// folder listing answered.
    pub(crate) async fn part_numbers(
        &self,
        bucket: &str,
        upload_id: &str,
    ) -> (Vec<u32>, Vec<bool>) {
        let dir = layout::upload_dir(bucket, upload_id);
        let listings = self
            .drives
            .each_drive(move |_, drive| drive.list_dir(&dir))
            .await;
        let answered = listings.iter().map(Result::is_ok).collect();
        let mut numbers: Vec<u32> = listings
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                e.name
                    .strip_prefix("part.")?
                    .strip_suffix(".meta")?
                    .parse()
                    .ok()
            })
            .collect();
        numbers.sort_unstable();
        numbers.dedup();
        (numbers, answered)
    }

    pub async fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: Vec<CompletePart>,
        checks: CompleteChecks,
    ) -> Result<ObjectInfo, StoreError> {
        self.require_bucket(bucket)?;
        let key = EncodedKey::new(key)?;
        if parts.is_empty() {
            return Err(StoreError::InvalidArgument(
                "a multipart upload needs at least one part".into(),
            ));
        }
        if parts.len() > MAX_PARTS as usize {
            return Err(StoreError::InvalidArgument(format!(
                "at most {MAX_PARTS} parts are allowed"
            )));
        }
        if parts.windows(2).any(|w| w[0].number >= w[1].number) {
            return Err(StoreError::InvalidPartOrder);
        }
        self.drives.check_write_quorum()?;
        let _bucket = self.bucket_locks.shared(bucket).await;
        let _guard = self.locks.lock(bucket, key.key()).await;
        self.require_writable_bucket(bucket)?;
        let upload = self.read_upload(bucket, key.key(), upload_id).await?;
        let mut chosen: Vec<Held<PartMeta>> = Vec::with_capacity(parts.len());
        for requested in &parts {
            let Some(held) = self.read_part(bucket, upload_id, requested.number).await else {
                return Err(StoreError::InvalidPart(requested.number));
            };
            let part = &held.value;
            if trim_etag(&requested.etag) != part.part.etag
                || part.erasure.block_size != upload.erasure.block_size
                || part.erasure.data != upload.erasure.data
            {
                return Err(StoreError::InvalidPart(requested.number));
            }
            // A checksum the request lists for a part must be the one stored
            // with it (S3 answers InvalidPart otherwise).
            if let Some(Some(listed)) = checks.part_checksums.get(chosen.len()) {
                if part.part.checksum.as_ref() != Some(listed) {
                    return Err(StoreError::InvalidPart(requested.number));
                }
            }
            chosen.push(held);
        }
        let last = chosen.len() - 1;
        for (index, Held { value: part, .. }) in chosen.iter().enumerate() {
            if index != last && part.part.size < MIN_PART_SIZE {
                return Err(StoreError::EntityTooSmall {
                    part: part.part.number,
                    size: part.part.size,
                });
            }
        }
        let mut md5s = Md5::new();
        for Held { value: part, .. } in &chosen {
            md5s.update(hex::decode(&part.part.etag).unwrap_or_default());
        }
        let etag = format!("{}-{}", hex::encode(md5s.finalize()), chosen.len());
        let checksum = multipart_checksum(upload.checksum_algorithm, upload.checksum_type, &chosen);
        if let Some(expected) = &checks.object_checksum {
            let matches = checksum.as_ref().is_some_and(|c| {
                c.algorithm == expected.algorithm
                    && c.value_b64.split('-').next() == expected.value_b64.split('-').next()
            });
            if !matches {
                return Err(StoreError::BadChecksum {
                    algorithm: expected.algorithm,
                });
            }
        }
        let size: u64 = chosen.iter().map(|h| h.value.part.size).sum();
        let holders: Vec<bool> = (0..self.drives.len())
            .map(|position| chosen.iter().all(|h| h.holders[position]))
            .collect();
        let links: Vec<(std::path::PathBuf, String)> = chosen
            .iter()
            .map(|Held { value: p, .. }| {
                (
                    layout::upload_part_data_path(bucket, upload_id, p.part.number, p.data_id),
                    layout::part_file_name(p.part.number),
                )
            })
            .collect();
        let tmp_dir = self.staging.claim();
        let links = Arc::new(links);
        let link_results = {
            let holders = holders.clone();
            let tmp_dir = tmp_dir.clone();
            self.drives
                .each_drive(move |position, drive| {
                    if !holders[position] {
                        return Err(io::Error::other("drive lacks a part"));
                    }
                    drive.mkdir_staging(&tmp_dir)?;
                    for (source, name) in links.iter() {
                        drive.hard_link(source, &tmp_dir.join(name))?;
                    }
                    drive.fsync_dir(&tmp_dir)
                })
                .await
        };
        let needed = write_quorum(
            usize::from(upload.erasure.data),
            usize::from(upload.erasure.parity),
        );
        let rollback_tmp = tmp_dir.clone();
        let link_results = self
            .drives
            .finish_write(link_results, needed, Effect::Staged, |_| {
                self.remove_tmp(rollback_tmp)
            })
            .await?;
        let written: Vec<bool> = link_results.iter().map(|r| r.is_ok()).collect();
        let now = Timestamp::now();
        let meta = ObjectMeta {
            meta_id: Uuid::new_v4(),
            size,
            etag,
            mod_time: now,
            attributes: upload.attributes.clone(),
            checksum,
            erasure: upload.erasure.clone(),
            parts: chosen.iter().map(|h| h.value.part.clone()).collect(),
            multipart_parts: chosen.len() as u32,
            home: None,
            data_dir: Some(Uuid::new_v4()),
            inline: None,
        };
        let info = object_info(bucket, key.key(), &meta);
        self.commit_object_locked(
            bucket,
            &key,
            meta,
            Stored::Files {
                tmp_dir,
                file_name: String::new(),
                written,
            },
        )
        .await?;
        let dir = layout::upload_dir(bucket, upload_id);
        self.drives
            .each_drive(move |_, drive| drive.remove_dir_all(&dir))
            .await;
        Ok(info)
    }

    pub async fn abort_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), StoreError> {
        self.require_bucket(bucket)?;
        let key = EncodedKey::new(key)?;
        let _bucket = self.bucket_locks.shared(bucket).await;
        let _guard = self.locks.lock(bucket, key.key()).await;
        self.read_upload(bucket, key.key(), upload_id).await?;
        let dir = layout::upload_dir(bucket, upload_id);
        let results = self
            .drives
            .each_drive(move |_, drive| drive.remove_dir_all(&dir))
            .await;
        self.drives.finish_final_write(results).await?;
        Ok(())
    }

    pub(crate) async fn upload_ids(&self, bucket: &str) -> Vec<String> {
        self.upload_ids_answered(bucket).await.0
    }

    /// Upload ids on any drive, and per drive whether its listing answered.
    async fn upload_ids_answered(&self, bucket: &str) -> (Vec<String>, Vec<bool>) {
        let dir = layout::multipart_bucket_dir(bucket);
        let listings = self
            .drives
            .each_drive(move |_, drive| drive.list_dir(&dir))
            .await;
        let answered = listings.iter().map(Result::is_ok).collect();
        let mut ids: Vec<String> = listings
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.is_dir && validate_upload_id(&e.name).is_ok())
            .map(|e| e.name)
            .collect();
        ids.sort();
        ids.dedup();
        (ids, answered)
    }

    /// The agreed upload record of `upload_id`.
    pub(crate) async fn agreed_upload(
        &self,
        bucket: &str,
        upload_id: &str,
    ) -> Option<AgreedUpload> {
        let reads = self
            .read_records::<UploadMeta>(layout::upload_meta_path(bucket, upload_id))
            .await;
        let Held {
            value: upload,
            holders,
        } = agree(&reads, self.data)?;
        let record = encode_record(&upload, None);
        Some(AgreedUpload {
            key: upload.key,
            record,
            holders,
        })
    }

    pub async fn has_uploads(&self, bucket: &str) -> bool {
        for id in self.upload_ids(bucket).await {
            let reads = self
                .read_records::<UploadMeta>(layout::upload_meta_path(bucket, &id))
                .await;
            if agree(&reads, self.data).is_some() {
                return true;
            }
        }
        false
    }

    pub async fn list_uploads(
        &self,
        bucket: &str,
        params: ListUploadsParams,
    ) -> Result<UploadsPage, StoreError> {
        self.require_bucket(bucket)?;
        let mut uploads: Vec<UploadMeta> = Vec::new();
        let (ids, mut answered) = self.upload_ids_answered(bucket).await;
        for id in ids {
            let reads = self
                .read_records::<UploadMeta>(layout::upload_meta_path(bucket, &id))
                .await;
            for (answered, read) in answered.iter_mut().zip(&reads) {
                *answered &= !matches!(read, DriveRead::Failed);
            }
            if let Some(Held { value: upload, .. }) = agree(&reads, self.data) {
                if upload.key.starts_with(&params.prefix) {
                    uploads.push(upload);
                }
            }
        }
        // A drive whose folder vanished lists no uploads: an empty or short
        // page needs `data` drives that answered throughout.
        self.require_answers(&answered)
            .await
            .map_err(|err| self.bucket_gone_or(bucket, err))?;
        uploads.sort_by(|a, b| {
            (a.key.as_bytes(), &a.upload_id).cmp(&(b.key.as_bytes(), &b.upload_id))
        });
        let after = |u: &UploadMeta| match (&params.key_marker, &params.upload_id_marker) {
            (None, _) => true,
            (Some(key), None) => u.key.as_str() > key.as_str(),
            (Some(key), Some(id)) => {
                u.key.as_str() > key.as_str()
                    || (u.key == *key && u.upload_id.as_str() > id.as_str())
            }
        };
        let max = if params.max_uploads == 0 {
            MAX_PAGE
        } else {
            params.max_uploads.min(MAX_PAGE)
        };
        let mut page = UploadsPage::default();
        for upload in uploads.into_iter().filter(after) {
            if page.uploads.len() == max {
                page.is_truncated = true;
                break;
            }
            page.next_key_marker = Some(upload.key.clone());
            page.next_upload_id_marker = Some(upload.upload_id.clone());
            page.uploads.push(upload_info(bucket, upload));
        }
        if !page.is_truncated {
            page.next_key_marker = None;
            page.next_upload_id_marker = None;
        }
        Ok(page)
    }
}

fn upload_info(bucket: &str, upload: UploadMeta) -> UploadInfo {
    UploadInfo {
        bucket: bucket.to_owned(),
        key: upload.key,
        upload_id: upload.upload_id,
        initiated: upload.initiated.into(),
        attributes: upload.attributes,
        checksum_algorithm: upload.checksum_algorithm,
    }
}

/// The object checksum of a multipart upload: COMPOSITE is the checksum of
/// the concatenated binary part checksums, suffixed with `-N`; FULL_OBJECT is
/// the CRC of the whole object, combined from the part CRCs and sizes.
fn multipart_checksum(
    algorithm: Option<ChecksumAlgorithm>,
    checksum_type: ChecksumType,
    parts: &[Held<PartMeta>],
) -> Option<Checksum> {
    let algorithm = algorithm?;
    if checksum_type == ChecksumType::FullObject {
        let mut pieces = Vec::with_capacity(parts.len());
        for Held { value: part, .. } in parts {
            let checksum = part.part.checksum.as_ref()?;
            if checksum.algorithm != algorithm {
                return None;
            }
            pieces.push((decode_b64(&checksum.value_b64)?, part.part.size));
        }
        return Some(Checksum {
            algorithm,
            value_b64: encode_b64(&combine_crcs(algorithm, &pieces)?),
        });
    }
    let mut raw = Vec::new();
    for Held { value: part, .. } in parts {
        let checksum = part.part.checksum.as_ref()?;
        if checksum.algorithm != algorithm {
            return None;
        }
        raw.extend(decode_b64(&checksum.value_b64)?);
    }
    Some(Checksum {
        algorithm,
        value_b64: format!("{}-{}", encode_b64(&digest(algorithm, &raw)), parts.len()),
    })
}

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
    ByteStream, Checksum, ChecksumAlgorithm, CompletePart, ListUploadsParams, ObjectAttributes,
    ObjectInfo, PartInfo, PartsPage, PutOptions, StoreError, UploadInfo, UploadsPage,
};
use crate::engine::{object_info, Effect, Engine, Inline, Stored, MAX_PART_SIZE};
use crate::hashing::{decode_b64, digest, encode_b64};
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

/// The entry `data` or more drives agree on.
fn agree<T: PartialEq + Clone>(reads: &[DriveRead<T>], data: usize) -> Option<(T, Vec<bool>)> {
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
    Some((value, holders))
}

impl Engine {
    async fn read_records<T>(&self, path: std::path::PathBuf) -> Vec<DriveRead<T>>
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
            Some((upload, _)) if upload.key == key => Ok(upload),
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

    async fn read_part(
        &self,
        bucket: &str,
        upload_id: &str,
        number: u32,
    ) -> Option<(PartMeta, Vec<bool>)> {
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
    ) -> Result<UploadInfo, StoreError> {
        self.require_bucket(bucket)?;
        let key = EncodedKey::new(key)?;
        self.drives.check_write_quorum()?;
        let upload_id = Uuid::new_v4().simple().to_string();
        let upload = UploadMeta {
            key: key.key().to_owned(),
            upload_id: upload_id.clone(),
            initiated: Timestamp::now(),
            attributes,
            checksum_algorithm,
            erasure: self.erasure_info(self.distribution(bucket, key.key())),
        };
        let encoded = Arc::new(encode_record(&upload, None));
        let path = layout::upload_meta_path(bucket, &upload_id);
        let _bucket = self.bucket_locks.shared(bucket).await;
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
        let results = self
            .drives
            .each_drive(move |position, drive| {
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
        match self
            .drives
            .finish_write(
                results,
                self.drives.write_quorum(),
                Effect::Visible,
                |_| async {},
            )
            .await
        {
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
            let Some((part, _)) = self.read_part(bucket, upload_id, number).await else {
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
    async fn part_numbers(&self, bucket: &str, upload_id: &str) -> (Vec<u32>, Vec<bool>) {
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
        let mut chosen: Vec<(PartMeta, Vec<bool>)> = Vec::with_capacity(parts.len());
        for requested in &parts {
            let Some((part, holders)) = self.read_part(bucket, upload_id, requested.number).await
            else {
                return Err(StoreError::InvalidPart(requested.number));
            };
            if trim_etag(&requested.etag) != part.part.etag
                || part.erasure.block_size != upload.erasure.block_size
                || part.erasure.data != upload.erasure.data
            {
                return Err(StoreError::InvalidPart(requested.number));
            }
            chosen.push((part, holders));
        }
        let last = chosen.len() - 1;
        for (index, (part, _)) in chosen.iter().enumerate() {
            if index != last && part.part.size < MIN_PART_SIZE {
                return Err(StoreError::EntityTooSmall {
                    part: part.part.number,
                    size: part.part.size,
                });
            }
        }
        let mut md5s = Md5::new();
        for (part, _) in &chosen {
            md5s.update(hex::decode(&part.part.etag).unwrap_or_default());
        }
        let etag = format!("{}-{}", hex::encode(md5s.finalize()), chosen.len());
        let checksum = composite_checksum(upload.checksum_algorithm, &chosen);
        let size: u64 = chosen.iter().map(|(p, _)| p.part.size).sum();
        let holders: Vec<bool> = (0..self.drives.len())
            .map(|position| chosen.iter().all(|(_, h)| h[position]))
            .collect();
        let links: Vec<(std::path::PathBuf, String)> = chosen
            .iter()
            .map(|(p, _)| {
                (
                    layout::upload_part_data_path(bucket, upload_id, p.part.number, p.data_id),
                    layout::part_file_name(p.part.number),
                )
            })
            .collect();
        let tmp_dir = layout::new_tmp_path();
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
            parts: chosen.iter().map(|(p, _)| p.part.clone()).collect(),
            multipart_parts: chosen.len() as u32,
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
        self.drives
            .finish_write(
                results,
                self.drives.write_quorum(),
                Effect::Visible,
                |_| async {},
            )
            .await?;
        Ok(())
    }

    async fn upload_ids(&self, bucket: &str) -> Vec<String> {
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

    /// Rebuilds in-progress uploads of `bucket` on drives that lack them (a
    /// replaced drive): the upload record, and per part its record and its
    /// shard, re-encoded from the other drives. Returns the parts rebuilt.
    pub async fn heal_uploads(&self, bucket: &str) -> u64 {
        let mut rebuilt = 0;
        for id in self.upload_ids(bucket).await {
            let Some(((key, _), _)) = self.upload_key(bucket, &id).await else {
                continue;
            };
            let Ok(key) = EncodedKey::new(&key) else {
                continue;
            };
            // Complete and abort hold the key lock: the upload cannot go
            // away (and be resurrected here) while it is healed.
            let _bucket = self.bucket_locks.shared(bucket).await;
            let _guard = self.locks.lock(bucket, key.key()).await;
            if self.require_writable_bucket(bucket).is_err() {
                return rebuilt;
            }
            let Some((encoded, holders)) = self.upload_key(bucket, &id).await else {
                continue;
            };
            let path = layout::upload_meta_path(bucket, &id);
            let encoded = Arc::new(encoded.1);
            let holders = Arc::new(holders);
            self.drives
                .each_drive(move |position, drive| {
                    if !holders[position] {
                        drive.write_atomic(&path, &encoded)?;
                    }
                    Ok(())
                })
                .await;
            for number in self.part_numbers(bucket, &id).await.0 {
                let Some((part, holders)) = self.read_part(bucket, &id, number).await else {
                    continue;
                };
                let drives: Vec<Option<Arc<dyn crate::drive::Drive>>> = self.drives.online_slots();
                if !drives
                    .iter()
                    .zip(&holders)
                    .any(|(drive, holds)| drive.is_some() && !holds)
                {
                    continue;
                }
                let Ok(codec) = self.codec_for(&part.erasure) else {
                    continue;
                };
                let (bucket_owned, id_owned) = (bucket.to_owned(), id.clone());
                let outcome = tokio::task::spawn_blocking(move || {
                    rebuild_part_shards(&codec, &drives, &holders, &part, &bucket_owned, &id_owned)
                })
                .await;
                match outcome {
                    Ok(Ok(count)) => rebuilt += count,
                    Ok(Err(err)) => {
                        tracing::warn!(bucket, upload = %id, number, "cannot heal part: {err}")
                    }
                    Err(err) => {
                        tracing::warn!(bucket, upload = %id, number, "cannot heal part: {err}")
                    }
                }
            }
        }
        rebuilt
    }

    /// The agreed upload record of `upload_id` (its key, and the record
    /// bytes) and which drives hold it.
    async fn upload_key(
        &self,
        bucket: &str,
        upload_id: &str,
    ) -> Option<((String, Vec<u8>), Vec<bool>)> {
        let reads = self
            .read_records::<UploadMeta>(layout::upload_meta_path(bucket, upload_id))
            .await;
        let (upload, holders) = agree(&reads, self.data)?;
        let encoded = encode_record(&upload, None);
        Some(((upload.key, encoded), holders))
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
            if let Some((upload, _)) = agree(&reads, self.data) {
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

/// S3's composite checksum: the checksum of the concatenated binary part
/// checksums, suffixed with `-N`.
fn composite_checksum(
    algorithm: Option<ChecksumAlgorithm>,
    parts: &[(PartMeta, Vec<bool>)],
) -> Option<Checksum> {
    let algorithm = algorithm?;
    let mut raw = Vec::new();
    for (part, _) in parts {
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

/// Re-encodes one part's shard onto the online drives that lack it, from the
/// holders' shard files (blocking). Returns how many drives got it.
fn rebuild_part_shards(
    codec: &erasure::ErasureCodec,
    drives: &[Option<Arc<dyn crate::drive::Drive>>],
    holders: &[bool],
    part: &PartMeta,
    bucket: &str,
    upload_id: &str,
) -> io::Result<u64> {
    use std::io::Write as _;
    let number = part.part.number;
    let data_path = layout::upload_part_data_path(bucket, upload_id, number, part.data_id);
    let distribution = &part.erasure.distribution;
    let mut sources: Vec<Option<std::fs::File>> = (0..codec.total_shards()).map(|_| None).collect();
    for (position, drive) in drives.iter().enumerate() {
        if let (Some(drive), true) = (drive, holders[position]) {
            sources[usize::from(distribution[position])] = drive.open_read(&data_path).ok();
        }
    }
    let tmp = layout::new_tmp_path();
    let mut targets: Vec<(usize, std::fs::File)> = Vec::new();
    for (position, drive) in drives.iter().enumerate() {
        if let (Some(drive), false) = (drive, holders[position]) {
            let created = drive
                .mkdir_staging(&tmp)
                .and_then(|()| drive.create_file(&tmp.join(position.to_string())));
            if let Ok(file) = created {
                targets.push((position, file));
            }
        }
    }
    let size = part.part.size;
    for block in 0..codec.block_count(size) {
        let block_len = codec.block_len(size, block);
        let frame_len = codec.frame_len(block_len);
        let offset = codec.frame_offset(size, block);
        let framed: Vec<Option<Bytes>> = sources
            .iter()
            .map(|file| {
                let file = file.as_ref()?;
                crate::engine::read_frame_at(file, offset, frame_len)
                    .ok()
                    .map(Bytes::from)
            })
            .collect();
        let healed = codec
            .heal_block(&framed, block_len)
            .map_err(|e| io::Error::other(e.to_string()))?;
        for (position, file) in &mut targets {
            file.write_all(&healed.frames[usize::from(distribution[*position])])?;
        }
    }
    let mut rebuilt = 0;
    let meta_path = layout::upload_part_meta_path(bucket, upload_id, number);
    for (position, file) in targets {
        let drive = drives[position].as_ref().expect("target online");
        let result = (|| {
            file.sync_all()?;
            drop(file);
            drive.rename(&tmp.join(position.to_string()), &data_path)?;
            let mut meta = part.clone();
            meta.erasure.index = distribution[position];
            drive.write_atomic(&meta_path, &encode_record(&meta, None))
        })();
        let _ = drive.remove_dir_all(&tmp);
        match result {
            Ok(()) => rebuilt += 1,
            Err(err) => {
                tracing::warn!(drive = %drive.root().display(), "cannot heal a part: {err}")
            }
        }
    }
    Ok(rebuilt)
}

#[cfg(test)]
mod tests {
    //! The drive-set fixture: four drives written by format v1 (drive
    //! format, bucket records and settings, system blobs, inline and
    //! shard-file objects, a hashed long key segment, a completed multipart
    //! object and an open upload with its parts).

    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use futures::StreamExt as _;

    use super::*;
    use crate::api::{BucketSetting, Catalog, ListParams, MultipartStore, ObjectStore};
    use crate::{Store, StoreConfig};

    const DRIVE_SET_V1_FIXTURE: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/drive-set-v1");
    const BUCKET: &str = "fixture-bucket";
    const CORS: &[u8] = b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>\
        <AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";

    fn long_key() -> String {
        format!("long/{}/leaf.txt", "s".repeat(300))
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    fn body(data: &[u8]) -> ByteStream {
        let chunks: Vec<Result<Bytes, StoreError>> = data
            .chunks(3000)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        Box::pin(futures::stream::iter(chunks))
    }

    async fn read_all(store: &Store, key: &str) -> Vec<u8> {
        let mut reader = store.get_object(BUCKET, key, None).await.unwrap();
        let mut out = Vec::new();
        while let Some(chunk) = reader.body.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    }

    fn drives_under(root: &Path) -> Vec<PathBuf> {
        (0..4).map(|i| root.join(format!("d{i}"))).collect()
    }

    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_tree(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn drive_set_format_v1_fixture_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(Path::new(DRIVE_SET_V1_FIXTURE), dir.path());
        // Start-up recreates the tmp areas git cannot keep (empty folders).
        let store = Store::open(StoreConfig::new(drives_under(dir.path())))
            .await
            .unwrap();

        assert_eq!(
            store
                .get_bucket_setting(BUCKET, BucketSetting::Cors)
                .await
                .unwrap()
                .as_deref(),
            Some(CORS)
        );
        assert_eq!(
            store
                .get_system_blob("fixture-config")
                .await
                .unwrap()
                .as_deref(),
            Some(&b"{\"answer\":42}"[..])
        );

        let small = store.head_object(BUCKET, "small.txt").await.unwrap();
        assert_eq!(small.etag, "0fec55827430e4a0ae534adb4a425032");
        assert_eq!(small.attributes.content_type.as_deref(), Some("text/plain"));
        assert_eq!(small.attributes.user_metadata["colour"], "blue");
        assert_eq!(small.attributes.tags["team"], "storage");
        assert_eq!(read_all(&store, "small.txt").await, pattern(100, 1));
        assert_eq!(
            read_all(&store, "nested/dir/big.bin").await,
            pattern(10_000, 2)
        );
        assert_eq!(read_all(&store, &long_key()).await, pattern(50, 3));
        let multi = store.head_object(BUCKET, "multi.bin").await.unwrap();
        assert!(multi.etag.ends_with("-1"), "{}", multi.etag);
        assert_eq!(read_all(&store, "multi.bin").await, pattern(3000, 4));

        let page = store
            .list_objects(
                BUCKET,
                ListParams {
                    max_keys: 1000,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let keys: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                long_key().as_str(),
                "multi.bin",
                "nested/dir/big.bin",
                "small.txt"
            ]
        );

        let uploads = store
            .list_uploads(BUCKET, ListUploadsParams::default())
            .await
            .unwrap();
        let [pending] = &uploads.uploads[..] else {
            panic!("one open upload: {:?}", uploads.uploads);
        };
        assert_eq!(pending.key, "pending.bin");
        assert_eq!(
            pending.attributes.content_type.as_deref(),
            Some("application/octet-stream")
        );
        let parts = store
            .list_parts(BUCKET, "pending.bin", &pending.upload_id, None, 100)
            .await
            .unwrap();
        let sizes: Vec<(u32, u64)> = parts.parts.iter().map(|p| (p.number, p.size)).collect();
        assert_eq!(sizes, [(1, 1500), (2, 2000)]);
        // The old upload still completes into a readable object (with its
        // last part only: part 1 is below S3's minimum for a non-last part).
        let chosen = vec![CompletePart {
            number: 2,
            etag: parts.parts[1].etag.clone(),
        }];
        store
            .complete_multipart(BUCKET, "pending.bin", &pending.upload_id, chosen)
            .await
            .unwrap();
        assert_eq!(read_all(&store, "pending.bin").await, pattern(2000, 6));
    }

    /// Writes the drive set with the current code; run once by hand when a
    /// new format version is introduced (never overwrite an old version's
    /// fixture).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore]
    async fn write_drive_set_format_v1_fixture() {
        let root = Path::new(DRIVE_SET_V1_FIXTURE);
        assert!(!root.exists(), "never overwrite an old version's fixture");
        let mut config = StoreConfig::new(drives_under(root));
        // Small blocks keep the fixture small and still give several
        // blocks per shard file.
        config.block_size = 4 << 10;
        config.inline_limit = 1 << 10;
        let store = Store::open(config).await.unwrap();
        store.create_bucket(BUCKET).await.unwrap();
        store
            .put_bucket_setting(BUCKET, BucketSetting::Cors, Some(Bytes::from_static(CORS)))
            .await
            .unwrap();
        store
            .put_system_blob(
                "fixture-config",
                Some(Bytes::from_static(b"{\"answer\":42}")),
            )
            .await
            .unwrap();
        let attributes = ObjectAttributes {
            content_type: Some("text/plain".into()),
            user_metadata: [("colour".to_string(), "blue".to_string())].into(),
            tags: [("team".to_string(), "storage".to_string())].into(),
            ..Default::default()
        };
        let put = |key: String, data: Vec<u8>, attributes: ObjectAttributes| {
            let store = &store;
            async move {
                store
                    .put_object(
                        BUCKET,
                        &key,
                        body(&data),
                        PutOptions {
                            attributes,
                            checksum_algorithm: Some(ChecksumAlgorithm::Crc32),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap()
            }
        };
        put("small.txt".into(), pattern(100, 1), attributes).await;
        put(
            "nested/dir/big.bin".into(),
            pattern(10_000, 2),
            ObjectAttributes::default(),
        )
        .await;
        put(long_key(), pattern(50, 3), ObjectAttributes::default()).await;

        let upload = store
            .create_multipart(BUCKET, "multi.bin", ObjectAttributes::default(), None)
            .await
            .unwrap();
        let part = store
            .put_part(
                BUCKET,
                "multi.bin",
                &upload.upload_id,
                1,
                body(&pattern(3000, 4)),
                PutOptions::default(),
            )
            .await
            .unwrap();
        store
            .complete_multipart(
                BUCKET,
                "multi.bin",
                &upload.upload_id,
                vec![CompletePart {
                    number: 1,
                    etag: part.etag,
                }],
            )
            .await
            .unwrap();

        let pending = store
            .create_multipart(
                BUCKET,
                "pending.bin",
                ObjectAttributes {
                    content_type: Some("application/octet-stream".into()),
                    ..Default::default()
                },
                Some(ChecksumAlgorithm::Sha256),
            )
            .await
            .unwrap();
        for (number, data) in [(1, pattern(1500, 5)), (2, pattern(2000, 6))] {
            store
                .put_part(
                    BUCKET,
                    "pending.bin",
                    &pending.upload_id,
                    number,
                    body(&data),
                    PutOptions {
                        checksum_algorithm: Some(ChecksumAlgorithm::Sha256),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
        }
        drop(store);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

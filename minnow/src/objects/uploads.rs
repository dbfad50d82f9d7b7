//! The multipart uploads this CLI has open, one small file each under
//! `$XDG_CONFIG_HOME/minnow/uploads/`: written *before* the upload is
//! requested (pending, with the time of the request), completed with the
//! upload id once the server gives one, removed once the upload completes
//! or is aborted. A file left behind names an upload of a run that was
//! killed, so `mirror` aborts exactly those and never another client's
//! upload that happens to sit under the same prefix. A run killed between
//! the server creating the upload and the id reaching the file leaves a
//! pending record: its key's uploads initiated from the request time on,
//! that no record names, are the killed run's.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use md5::{Digest as _, Md5};
use minnow::client::Client;

/// One open upload, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpenUpload {
    pub endpoint: String,
    pub bucket: String,
    pub key: String,
    /// Empty while the CreateMultipartUpload request has no answer yet.
    pub upload_id: String,
    /// The process that opened it: a live one is still uploading.
    pub pid: u32,
    /// When the upload was requested, in milliseconds since the epoch
    /// (0 in records of CLIs that wrote the file only after the answer).
    #[serde(default)]
    pub requested_at_ms: u64,
}

/// A server's `Initiated` time may lag the client's clock by this much
/// and still count as the pending request's upload.
const CLOCK_SLACK: Duration = Duration::from_secs(2);

/// The folder of records; `None` when there is no config folder (then
/// nothing is recorded and nothing is cleaned).
fn folder() -> Option<PathBuf> {
    super::alias::config_dir()
        .ok()
        .map(|dir| dir.join("uploads"))
}

/// The record of one upload of this process, from the moment it is
/// requested until it completes or is aborted.
#[derive(Debug)]
pub struct UploadRecord {
    /// `None` when there is no config folder or it is not writable.
    path: Option<PathBuf>,
    upload: OpenUpload,
}

/// Records an upload about to be requested. Best effort: a CLI whose
/// config folder is read-only still uploads, it only cannot clean up
/// after a kill.
pub fn requesting(client: &Client, bucket: &str, key: &str) -> UploadRecord {
    let requested_at = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let upload = OpenUpload {
        endpoint: client.endpoint().to_string(),
        bucket: bucket.to_string(),
        key: key.to_string(),
        upload_id: String::new(),
        pid: std::process::id(),
        requested_at_ms: u64::try_from(requested_at.as_millis()).unwrap_or(u64::MAX),
    };
    // One file per request: the pid and the request time (with nanos, so
    // two uploads of the same key by one run do not share it).
    let digest = Md5::digest(
        format!(
            "{}\n{}\n{}\n{}\n{}",
            upload.endpoint,
            upload.bucket,
            upload.key,
            upload.pid,
            requested_at.as_nanos()
        )
        .as_bytes(),
    );
    let path = folder().map(|dir| dir.join(format!("{}.json", hex::encode(digest))));
    let record = UploadRecord { path, upload };
    record.write();
    record
}

impl UploadRecord {
    fn write(&self) {
        let Some(path) = &self.path else { return };
        let Ok(text) = serde_json::to_vec(&self.upload) else {
            return;
        };
        if let Some(dir) = path.parent() {
            if std::fs::create_dir_all(dir).is_ok() {
                let temp = path.with_extension("tmp");
                if std::fs::write(&temp, text).is_ok() {
                    let _ = std::fs::rename(&temp, path);
                }
            }
        }
    }

    /// The server created the upload: the record now names it.
    pub fn created(&mut self, upload_id: &str) {
        self.upload.upload_id = upload_id.to_string();
        self.write();
    }

    /// Forgets an upload that completed, was aborted, or was refused.
    pub fn closed(self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Whether process `pid` still runs (Linux's `/proc`; elsewhere every
/// other process counts as gone, so its uploads are cleaned).
fn alive(pid: u32) -> bool {
    pid == std::process::id() || std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Aborts the uploads a killed run of this CLI left in `bucket` under
/// `prefix` on `client`'s server, and forgets them. Uploads of running
/// processes and anyone else's are left alone.
pub async fn abort_leftovers(client: &Client, bucket: &str, prefix: &str) {
    let Some(dir) = folder() else { return };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut records = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        if let Some(upload) = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<OpenUpload>(&bytes).ok())
        {
            records.push((path, upload));
        }
    }
    // Ids some record names, whoever's: a pending record never claims them.
    let named: std::collections::HashSet<String> =
        records.iter().map(|(_, u)| u.upload_id.clone()).collect();
    let mut listed = None;
    for (path, upload) in records {
        if upload.endpoint != client.endpoint()
            || upload.bucket != bucket
            || !upload.key.starts_with(prefix)
            || alive(upload.pid)
        {
            continue;
        }
        if !upload.upload_id.is_empty() {
            abort_recorded(client, &path, &upload, &upload.upload_id).await;
            continue;
        }
        // Pending: the server may or may not have created the upload.
        if listed.is_none() {
            match client.list_uploads(bucket).await {
                Ok(all) => listed = Some(all),
                // Unreachable now: the record stays for the next run.
                Err(_) => return,
            }
        }
        let since =
            SystemTime::UNIX_EPOCH + Duration::from_millis(upload.requested_at_ms) - CLOCK_SLACK;
        let mut all_gone = true;
        for open in listed.iter().flatten() {
            let started = super::du::iso_time(&open.initiated);
            if open.key == upload.key
                && !named.contains(&open.upload_id)
                && started.is_some_and(|t| t >= since)
            {
                all_gone &= abort(client, bucket, &upload.key, &open.upload_id).await;
            }
        }
        if all_gone {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Aborts one recorded upload and forgets it once it is gone.
async fn abort_recorded(client: &Client, path: &std::path::Path, upload: &OpenUpload, id: &str) {
    if abort(client, &upload.bucket, &upload.key, id).await {
        let _ = std::fs::remove_file(path);
    }
}

/// Whether the upload is gone now (aborted here, or already completed,
/// aborted, or expired by the server).
async fn abort(client: &Client, bucket: &str, key: &str, id: &str) -> bool {
    match client.abort_upload(bucket, key, id).await {
        Ok(()) => true,
        Err(e) => e.status() == Some(404),
    }
}

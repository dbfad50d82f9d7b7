//! The multipart uploads this CLI has open, one small file each under
//! `$XDG_CONFIG_HOME/minnow/uploads/`: written as soon as the server
//! gives an upload id, removed once the upload completes or is aborted.
//! A file left behind names an upload of a run that was killed, so
//! `mirror` aborts exactly those and never another client's upload that
//! happens to sit under the same prefix.

use std::path::PathBuf;

use md5::{Digest as _, Md5};
use minnow::client::Client;

/// One open upload, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpenUpload {
    pub endpoint: String,
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    /// The process that opened it: a live one is still uploading.
    pub pid: u32,
}

/// The folder of records; `None` when there is no config folder (then
/// nothing is recorded and nothing is cleaned).
fn folder() -> Option<PathBuf> {
    super::alias::config_dir()
        .ok()
        .map(|dir| dir.join("uploads"))
}

fn record_path(dir: &std::path::Path, upload: &OpenUpload) -> PathBuf {
    let digest = Md5::digest(
        format!(
            "{}\n{}\n{}\n{}",
            upload.endpoint, upload.bucket, upload.key, upload.upload_id
        )
        .as_bytes(),
    );
    dir.join(format!("{}.json", hex::encode(digest)))
}

/// Records an upload just created. Best effort: a CLI whose config
/// folder is read-only still uploads, it only cannot clean up after a kill.
pub fn opened(client: &Client, bucket: &str, key: &str, upload_id: &str) {
    let Some(dir) = folder() else { return };
    let upload = OpenUpload {
        endpoint: client.endpoint().to_string(),
        bucket: bucket.to_string(),
        key: key.to_string(),
        upload_id: upload_id.to_string(),
        pid: std::process::id(),
    };
    let path = record_path(&dir, &upload);
    let Ok(text) = serde_json::to_vec(&upload) else {
        return;
    };
    if std::fs::create_dir_all(&dir).is_ok() {
        let temp = path.with_extension("tmp");
        if std::fs::write(&temp, text).is_ok() {
            let _ = std::fs::rename(&temp, &path);
        }
    }
}

/// Forgets an upload that completed or was aborted.
pub fn closed(client: &Client, bucket: &str, key: &str, upload_id: &str) {
    let Some(dir) = folder() else { return };
    let upload = OpenUpload {
        endpoint: client.endpoint().to_string(),
        bucket: bucket.to_string(),
        key: key.to_string(),
        upload_id: upload_id.to_string(),
        pid: 0,
    };
    let _ = std::fs::remove_file(record_path(&dir, &upload));
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
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let Some(upload) = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<OpenUpload>(&bytes).ok())
        else {
            continue;
        };
        if upload.endpoint != client.endpoint()
            || upload.bucket != bucket
            || !upload.key.starts_with(prefix)
            || alive(upload.pid)
        {
            continue;
        }
        match client
            .abort_upload(bucket, &upload.key, &upload.upload_id)
            .await
        {
            Ok(()) => {
                let _ = std::fs::remove_file(&path);
            }
            // Already gone (completed, aborted, or expired by the server).
            Err(e) if e.status() == Some(404) => {
                let _ = std::fs::remove_file(&path);
            }
            // Unreachable now: the record stays for the next run.
            Err(_) => {}
        }
    }
}

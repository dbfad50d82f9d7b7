//! The checks made when no request is in flight: every bucket a client created is listed and
//! answers, nothing else is listed, every key reads back one of its allowed states, listings
//! agree with the model, and no temporary file is left on any drive.

use std::collections::BTreeSet;
use std::path::PathBuf;

use aws_sdk_s3::Client;

use crate::faults::wait_for_no_temporary_files;
use crate::model::Verdict;
use crate::workload::{judge_read, read_object, summarize, Shared};

/// The origin of the CORS rule stored on the first bucket: bucket settings must survive too.
pub const CORS_ORIGIN: &str = "https://chaos.example";

/// Checks buckets, listings and every key the model knows, against a quiescent server.
/// A violation or an ambiguous read also names the files each drive holds for the key.
pub async fn check_everything(
    client: &Client,
    shared: &Shared,
    cors_bucket: Option<&str>,
    drives: &[PathBuf],
) {
    check_buckets(client, shared, cors_bucket).await;
    let buckets = shared.model.lock().unwrap().acknowledged_buckets();
    for bucket in &buckets {
        check_listing(client, shared, bucket).await;
        let keys = shared.model.lock().unwrap().keys_of(bucket);
        for key in keys {
            let observed = read_object(client, bucket, &key).await;
            let verdict = match judge_read(shared, bucket, &key, &observed, true) {
                Verdict::Violation(message) => Verdict::Violation(format!(
                    "{message}\n      on the drives: {}",
                    object_files(drives, bucket, &key)
                )),
                Verdict::Ambiguous(message) => Verdict::Ambiguous(format!(
                    "{message}\n      on the drives: {}",
                    object_files(drives, bucket, &key)
                )),
                verdict => verdict,
            };
            shared.report(verdict);
            shared.stats.lock().unwrap().object_checks += 1;
        }
    }
}

/// The files of one object on each drive, with sizes (the campaign's keys are plain ASCII, so
/// each key segment is stored as `_<segment>`).
fn object_files(drives: &[PathBuf], bucket: &str, key: &str) -> String {
    let mut out = Vec::new();
    for (index, drive) in drives.iter().enumerate() {
        let mut dir = drive.join(bucket);
        for segment in key.split('/') {
            dir.push(format!("_{segment}"));
        }
        let mut files = Vec::new();
        let mut stack = vec![dir.clone()];
        while let Some(current) = stack.pop() {
            for entry in std::fs::read_dir(&current).into_iter().flatten().flatten() {
                let path = entry.path();
                let name = path
                    .strip_prefix(&dir)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                if path.is_dir() && !name.starts_with('_') {
                    stack.push(path);
                } else if path.is_file() {
                    let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                    files.push(format!("{name} ({size} B)"));
                }
            }
        }
        files.sort();
        out.push(format!("drive {}: [{}]", index + 1, files.join(", ")));
    }
    out.join("; ")
}

fn violation(shared: &Shared, message: String) {
    shared.report(Verdict::Violation(message));
}

async fn check_buckets(client: &Client, shared: &Shared, cors_bucket: Option<&str>) {
    let acknowledged = shared.model.lock().unwrap().acknowledged_buckets();
    match client.list_buckets().send().await {
        Ok(output) => {
            let listed: BTreeSet<String> = output
                .buckets()
                .iter()
                .filter_map(|b| b.name().map(str::to_string))
                .collect();
            for bucket in &acknowledged {
                if !listed.contains(bucket) {
                    violation(shared, format!("bucket {bucket} is not listed"));
                }
            }
            let strangers: Vec<String> = {
                let model = shared.model.lock().unwrap();
                listed
                    .iter()
                    .filter(|bucket| !model.is_known_bucket(bucket))
                    .cloned()
                    .collect()
            };
            for bucket in strangers {
                violation(
                    shared,
                    format!("bucket {bucket} is listed; nobody created it"),
                );
            }
        }
        Err(error) => violation(shared, format!("ListBuckets failed: {}", summarize(&error))),
    }
    for bucket in &acknowledged {
        if let Err(error) = client.head_bucket().bucket(bucket).send().await {
            violation(
                shared,
                format!("HeadBucket {bucket}: {}", summarize(&error)),
            );
        }
        shared.stats.lock().unwrap().bucket_checks += 1;
    }
    if let Some(bucket) = cors_bucket {
        match client.get_bucket_cors().bucket(bucket).send().await {
            Ok(output) => {
                let origins: Vec<&str> = output
                    .cors_rules()
                    .iter()
                    .flat_map(|rule| rule.allowed_origins())
                    .map(String::as_str)
                    .collect();
                if origins != [CORS_ORIGIN] {
                    violation(
                        shared,
                        format!("CORS of {bucket} changed: origins {origins:?}"),
                    );
                }
            }
            Err(error) => violation(
                shared,
                format!("GetBucketCors {bucket}: {}", summarize(&error)),
            ),
        }
    }
}

async fn check_listing(client: &Client, shared: &Shared, bucket: &str) {
    let mut listed = BTreeSet::new();
    let mut continuation: Option<String> = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .max_keys(7)
            .set_continuation_token(continuation.take())
            .send()
            .await;
        let page = match page {
            Ok(page) => page,
            Err(error) => {
                violation(
                    shared,
                    format!("ListObjectsV2 {bucket}: {}", summarize(&error)),
                );
                return;
            }
        };
        for object in page.contents() {
            let key = object.key().unwrap_or_default().to_string();
            let size = object.size().unwrap_or(-1).max(0) as usize;
            let verdict = shared
                .model
                .lock()
                .unwrap()
                .judge_listed(bucket, &key, size);
            shared.report(verdict);
            listed.insert(key);
        }
        match page.next_continuation_token() {
            Some(token) if page.is_truncated() == Some(true) => {
                continuation = Some(token.to_string())
            }
            _ => break,
        }
    }
    let must = shared.model.lock().unwrap().must_list(bucket);
    for key in must {
        if !listed.contains(&key) {
            violation(
                shared,
                format!("{bucket}/{key}: acknowledged object missing from the listing"),
            );
        }
    }
    shared.stats.lock().unwrap().listing_checks += 1;
}

/// No temporary file may outlive the requests that made it.
pub fn check_temporary_files(shared: &Shared, drives: &[PathBuf]) {
    let left = tokio::task::block_in_place(|| wait_for_no_temporary_files(drives));
    shared.stats.lock().unwrap().temporary_checks += 1;
    if !left.is_empty() {
        let shown: Vec<String> = left
            .iter()
            .take(5)
            .map(|p| p.display().to_string())
            .collect();
        violation(
            shared,
            format!(
                "{} temporary files left after 60 s, e.g. {shown:?}",
                left.len()
            ),
        );
    }
}

//! Keys that try to leave their bucket's folder (`..` segments, encoded or not, backslashes,
//! absolute paths) are refused or stored inside the bucket: no file ever appears outside a
//! bucket folder, and nothing outside the drives is touched.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use conformance::{unique_bucket, PayloadSigning, TestServer};

use crate::common::{create_bucket, send_headers};

fn files_named(root: &Path, marker: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.to_string_lossy().contains(marker) {
                found.push(path.clone());
            }
            if path.is_dir() {
                pending.push(path);
            }
        }
    }
    found
}

#[tokio::test]
async fn keys_that_climb_out_of_the_bucket_never_leave_it() {
    let server = TestServer::spawn(Default::default()).expect("server");
    let client = server.s3_client();
    let bucket = unique_bucket("atk-keys");
    create_bucket(&client, &bucket).await;
    let root = server.drive_root().expect("a spawned server").to_path_buf();
    let outside = root
        .parent()
        .expect("drive root has a parent")
        .to_path_buf();

    let marker = format!("escape-{}", std::process::id());
    let paths = [
        format!("/{bucket}/../{marker}-a"),
        format!("/{bucket}/..%2F..%2F{marker}-b"),
        format!("/{bucket}/%2E%2E/%2E%2E/{marker}-c"),
        format!("/{bucket}/a/../../../{marker}-d"),
        format!("/{bucket}/..%5C..%5C{marker}-e"),
        format!("/{bucket}//{marker}-f"),
        format!("/{bucket}/%2F{marker}-g"),
        format!("/{bucket}/.minnow.sys/{marker}-h"),
    ];
    for path in &paths {
        let signed = server.signer().sign_headers(
            "PUT",
            path,
            &[],
            b"hostile",
            &PayloadSigning::Sha256,
            SystemTime::now(),
        );
        let response =
            send_headers(&server, "PUT", path, &signed.headers, b"hostile".to_vec()).await;
        assert!(
            response.status == 200 || (400..500).contains(&response.status),
            "{path}: {} {}",
            response.status,
            response.text()
        );
    }
    // Whatever was stored lives under a drive's bucket folder; nothing next to the drives.
    for found in files_named(&outside, &marker) {
        let inside_bucket = found
            .strip_prefix(&root)
            .ok()
            .and_then(|rest| rest.components().nth(1))
            .is_some_and(|folder| folder.as_os_str() == bucket.as_str());
        assert!(
            inside_bucket,
            "{} is outside the bucket folder",
            found.display()
        );
    }
}

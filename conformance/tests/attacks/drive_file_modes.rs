//! Other local users cannot read what the server keeps on its drives
//! (inline object bytes, users and their sealed secrets): after a PUT and a
//! user add, every file under the drive folders is 0600 and every folder
//! 0700.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use conformance::TestServer;

use crate::common::{add_user_with_policy, create_bucket, put_bytes};

/// Entries below `root` (and `root`) that are not 0600 files or 0700 folders.
fn wrong_modes(root: &Path) -> Vec<(PathBuf, u32)> {
    let mut wrong = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue; // removed by the server meanwhile (a temp file)
        };
        let mode = meta.permissions().mode() & 0o7777;
        if meta.is_dir() {
            if mode != 0o700 {
                wrong.push((path.clone(), mode));
            }
            if let Ok(entries) = std::fs::read_dir(&path) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        } else if mode != 0o600 {
            wrong.push((path, mode));
        }
    }
    wrong
}

#[tokio::test]
async fn drive_files_are_0600_and_folders_0700_after_a_put_and_a_user_add() {
    let server = TestServer::start().expect("start server");
    if server.drives().is_empty() {
        return; // an external endpoint: its drives are not ours to look at
    }
    let client = server.s3_client();
    create_bucket(&client, "modes").await;
    put_bytes(&client, "modes", "inline", b"small secret").await;
    put_bytes(&client, "modes", "big", &vec![7u8; 3 << 20]).await;
    add_user_with_policy(
        &server,
        "modes-user",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::modes/*"]}]}"#,
    )
    .await;
    for drive in server.drives() {
        assert_eq!(wrong_modes(drive), Vec::new(), "{}", drive.display());
    }
}

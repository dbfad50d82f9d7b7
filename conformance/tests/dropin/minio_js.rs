//! minio-js (npm `minio`), the client of MinIO's JavaScript users: force
//! delete of a prefix, `listObjectsV2WithMetadata`, and
//! `listenBucketNotification` failing with a clean error. The script
//! `conformance/clients/minio_js.js` asserts each step; the package is
//! installed with npm into `target/minio-js` once.

use std::path::{Path, PathBuf};
use std::process::Command;

use conformance::{unique_bucket, TestServer};

/// The minio-js release the script is written against.
const MINIO_JS: &str = "minio@8.0.7";

/// The folder holding `node_modules/minio`, installed if needed; `None`
/// when node or npm is missing.
fn minio_js_dir() -> Option<PathBuf> {
    let node = Command::new("node").arg("--version").output();
    if !matches!(node, Ok(ref output) if output.status.success()) {
        return None;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/minio-js");
    if dir.join("node_modules/minio/package.json").exists() {
        return Some(dir);
    }
    std::fs::create_dir_all(&dir).unwrap();
    if !dir.join("package.json").exists() {
        std::fs::write(dir.join("package.json"), "{\"private\":true}\n").unwrap();
    }
    let installed = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", MINIO_JS])
        .current_dir(&dir)
        .status();
    match installed {
        Err(_) => None,
        Ok(status) => {
            assert!(status.success(), "npm install {MINIO_JS} failed");
            Some(dir)
        }
    }
}

#[test]
fn minio_js_force_delete_metadata_listing_and_listen_error() {
    let Some(modules) = minio_js_dir() else {
        eprintln!("node or npm is missing; skipping the minio-js checks");
        return;
    };
    let server = TestServer::start().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/minio_js.js");
    let output = Command::new("node")
        .arg(script)
        .arg(&modules)
        .args([
            server.endpoint(),
            server.access_key(),
            server.secret_key(),
            &unique_bucket("minio-js"),
        ])
        .output()
        .expect("run minio_js.js");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        server.log_tail(4000)
    );
    for step in [
        "ok   removeObject forceDelete of a prefix",
        "ok   listObjectsV2WithMetadata carries user metadata",
        "ok   listenBucketNotification fails cleanly (NotImplemented)",
        "ok   server still answers after the listen request",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
}

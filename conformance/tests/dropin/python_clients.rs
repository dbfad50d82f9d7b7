//! Real Python clients: boto3 V2 header auth and presigned URLs
//! (`signature_version='s3'`), boto3 default-config (SigV4) presigned GET
//! and PUT, and AWS CLI v1 `aws s3 presign`; the script
//! `conformance/clients/presign.py` asserts each step.

use std::path::Path;
use std::process::Command;

use conformance::{unique_bucket, TestServer};

/// Whether `python3` can import boto3 and run `aws`, installing both from
/// PyPI once if needed. False only when python3 itself is missing.
fn python_clients_available() -> bool {
    let imports = || {
        Command::new("python3")
            .args(["-c", "import boto3, awscli"])
            .status()
    };
    match imports() {
        Err(_) => return false,
        Ok(status) if status.success() => return true,
        Ok(_) => {}
    }
    let installed = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "boto3", "awscli"])
        .status()
        .expect("run pip");
    assert!(installed.success(), "pip install boto3 awscli failed");
    true
}

#[test]
fn boto3_and_aws_cli_presigned_urls_and_v2_headers_work() {
    if !python_clients_available() {
        eprintln!("python3 is missing; skipping the Python client checks");
        return;
    }
    let server = TestServer::start().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/presign.py");
    let output = Command::new("python3")
        .arg(script)
        .args([
            server.endpoint(),
            server.access_key(),
            server.secret_key(),
            &unique_bucket("py-presign"),
        ])
        .output()
        .expect("run presign.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        server.log_tail(4000)
    );
    for step in [
        "ok   boto3 v2 header put/get",
        "ok   boto3 v2 presigned GET",
        "ok   boto3 v2 presigned PUT stored",
        "ok   boto3 v2 extended Expires refused",
        "ok   boto3 default presigned PUT",
        "ok   boto3 default presigned GET",
        "ok   aws s3 presign (",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
}

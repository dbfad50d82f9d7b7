//! MinIO's admin API (`/minio/admin/v3/`) as minio-py's `MinioAdmin` uses
//! it: users (add, list, info, disable, enable, remove), policy attach and
//! detach, canned policies and server info, with madmin's encrypted bodies
//! both ways; an init container's steps run twice; a readonly user is
//! refused every call; the added user then works with boto3. The script
//! `conformance/clients/madmin.py` asserts each step. Also: `v4` paths
//! answer 426 and unserved ones 501 with MinIO's JSON error.

use std::path::Path;
use std::process::Command;

use conformance::raw_http::send_signed;
use conformance::{unique_bucket, PayloadSigning, TestServer};

/// Whether `python3` can import minio-py and boto3, installing them from
/// PyPI once if needed. False only when python3 itself is missing.
fn minio_py_available() -> bool {
    let imports = || {
        Command::new("python3")
            .args(["-c", "import minio.minioadmin, minio.crypto, boto3"])
            .status()
    };
    match imports() {
        Err(_) => return false,
        Ok(status) if status.success() => return true,
        Ok(_) => {}
    }
    let installed = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "minio>=7.2.7", "boto3"])
        .status()
        .expect("run pip");
    assert!(installed.success(), "pip install minio boto3 failed");
    true
}

#[test]
fn minio_py_admin_client_manages_users_and_policies() {
    if !minio_py_available() {
        eprintln!("python3 is missing; skipping the MinioAdmin checks");
        return;
    }
    let server = TestServer::start().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/madmin.py");
    let output = Command::new("python3")
        .arg(script)
        .args([
            server.endpoint(),
            server.access_key(),
            server.secret_key(),
            &unique_bucket("madmin"),
        ])
        .output()
        .expect("run madmin.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        server.log_tail(4000)
    );
    for step in [
        "ok   init steps twice",
        "ok   list users (encrypted)",
        "ok   boto3 put/get as the added user",
        "ok   disable and enable",
        "ok   detach and attach",
        "ok   canned policies",
        "ok   server info",
        "ok   readonly user refused",
        "ok   encryption under the wrong secret refused",
        "ok   remove users",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
}

/// Newer clients try `v4` first and fall back on 426; admin endpoints minnow
/// does not serve answer 501 `NotImplemented` as MinIO's JSON error (not
/// S3's XML), signed or not. Heal status answers as madmin reads it.
#[tokio::test]
async fn v4_is_426_unserved_admin_paths_501_json_and_heal_status_maps() {
    let server = TestServer::start().unwrap();
    for (method, path, status) in [
        ("GET", "/minio/admin/v4/info", 426),
        ("GET", "/minio/admin/v3/service", 501),
        ("POST", "/minio/admin/v3/service?action=restart", 501),
        ("GET", "/minio/admin/v3/list-groups", 501),
        ("GET", "/minio/admin/v2/info", 501),
    ] {
        let response = send_signed(&server, method, path, &[], vec![], PayloadSigning::Sha256)
            .await
            .unwrap();
        assert_eq!(
            response.status,
            status,
            "{method} {path}: {}",
            response.text()
        );
        let body: serde_json::Value = serde_json::from_str(&response.text())
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {}", response.text()));
        let expected = if status == 501 {
            "NotImplemented"
        } else {
            "XMinioAdminUpgradeRequired"
        };
        assert_eq!(body["Code"], expected, "{path}");
    }
    // Heal status as madmin's `BgHealState`: nothing to heal on a fresh
    // 2+2 server, standard parity 2.
    let heal = send_signed(
        &server,
        "POST",
        "/minio/admin/v3/background-heal/status",
        &[],
        vec![],
        PayloadSigning::Sha256,
    )
    .await
    .unwrap();
    assert_eq!(heal.status, 200, "{}", heal.text());
    let heal: serde_json::Value = serde_json::from_str(&heal.text()).unwrap();
    assert_eq!(heal["sc_parity"]["STANDARD"], 2, "{heal}");
    assert_eq!(heal["offline_nodes"], serde_json::json!([]), "{heal}");
    // A readonly user is refused heal status too (minio-py has no call
    // for it, so the script cannot check it).
    for (method, path, body) in [
        (
            "PUT",
            "/minnow/admin/v1/users/heal-ro",
            r#"{"secretKey":"heal-ro-secret-1"}"#,
        ),
        (
            "PUT",
            "/minnow/admin/v1/users/heal-ro/policies/readonly",
            "",
        ),
    ] {
        let response = send_signed(
            &server,
            method,
            path,
            &[],
            body.as_bytes().to_vec(),
            PayloadSigning::Sha256,
        )
        .await
        .unwrap();
        assert_eq!(response.status, 200, "{path}: {}", response.text());
    }
    let readonly =
        conformance::signing::RequestSigner::new(server.endpoint(), "heal-ro", "heal-ro-secret-1");
    let path = "/minio/admin/v3/background-heal/status";
    let signed = readonly.sign_headers(
        "POST",
        path,
        &[],
        &[],
        &PayloadSigning::Sha256,
        std::time::SystemTime::now(),
    );
    let refused =
        conformance::raw_http::send_with_headers(&server, "POST", path, &signed.headers, vec![])
            .await
            .unwrap();
    assert_eq!(refused.status, 403, "{}", refused.text());
    let refused: serde_json::Value = serde_json::from_str(&refused.text()).unwrap();
    assert_eq!(refused["Code"], "AccessDenied");
    // A served endpoint still needs a signature: anonymous is refused.
    let anonymous = reqwest::get(format!("{}/minio/admin/v3/info", server.endpoint()))
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 403);
}

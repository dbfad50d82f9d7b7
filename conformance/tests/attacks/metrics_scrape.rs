//! The metrics endpoints tell an outsider the server's drives, traffic and layout: as MinIO,
//! they need root (or an `admin:Prometheus` user) unless `MINIO_PROMETHEUS_AUTH_TYPE=public`.

use conformance::raw_http::send_signed;
use conformance::{PayloadSigning, ServerOptions, TestServer};

use crate::common::send_url;

const PATHS: [&str; 2] = ["/minio/v2/metrics/cluster", "/metrics"];

#[tokio::test]
async fn metrics_need_a_signature_by_default() {
    let server = TestServer::spawn(ServerOptions::default()).expect("server");
    for path in PATHS {
        let anonymous = send_url(
            &server,
            "GET",
            &format!("{}{path}", server.endpoint()),
            &[],
            Vec::new(),
        )
        .await;
        anonymous.assert_error(403, "AccessDenied");
        assert!(!anonymous.text().contains("minnow_drives_online"));
        let forged = send_url(
            &server,
            "GET",
            &format!("{}{path}", server.endpoint()),
            &[("authorization", "Bearer e30.e30.AAAA")],
            Vec::new(),
        )
        .await;
        assert_eq!(forged.status, 403, "{}", forged.text());
        let signed = send_signed(
            &server,
            "GET",
            path,
            &[],
            Vec::new(),
            PayloadSigning::Sha256,
        )
        .await
        .unwrap();
        assert_eq!(signed.status, 200, "{}", signed.text());
        assert!(signed.text().contains("minnow_drives_online"));
    }
}

#[tokio::test]
async fn minio_prometheus_auth_type_public_opens_them() {
    let server = TestServer::spawn(ServerOptions {
        env: vec![(
            "MINIO_PROMETHEUS_AUTH_TYPE".to_string(),
            "public".to_string(),
        )],
        ..ServerOptions::default()
    })
    .expect("server");
    for path in PATHS {
        let anonymous = send_url(
            &server,
            "GET",
            &format!("{}{path}", server.endpoint()),
            &[],
            Vec::new(),
        )
        .await;
        assert_eq!(anonymous.status, 200, "{}", anonymous.text());
        assert!(anonymous.text().contains("minnow_drives_online"));
    }
}

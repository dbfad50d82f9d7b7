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

/// Runs `minnow admin prometheus generate` as `access_key`; returns the
/// printed scrape configuration.
fn generate_scrape_config(server: &TestServer, access_key: &str, secret_key: &str) -> String {
    let output = std::process::Command::new(conformance::minnow_binary())
        .args(["admin", "prometheus", "generate", "--expiry", "1h"])
        .env("MINNOW_ENDPOINT", server.endpoint())
        .env("MINNOW_ROOT_USER", access_key)
        .env("MINNOW_ROOT_PASSWORD", secret_key)
        .env_remove("MINIO_ROOT_USER")
        .env_remove("MINIO_ROOT_PASSWORD")
        .output()
        .expect("run minnow admin prometheus generate");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 configuration")
}

fn bearer_token_of(config: &str) -> String {
    config
        .lines()
        .find_map(|line| line.trim().strip_prefix("bearer_token: "))
        .unwrap_or_else(|| panic!("no bearer_token in:\n{config}"))
        .to_string()
}

/// The token `minnow admin prometheus generate` prints is what a scrape job
/// needs: it opens the metrics for root and an `admin:Prometheus` user, and
/// not for a user without that action.
#[tokio::test]
async fn generated_scrape_token_opens_metrics_only_for_prometheus_rights() {
    let server = TestServer::spawn(ServerOptions::default()).expect("server");
    let config = generate_scrape_config(&server, server.access_key(), server.secret_key());
    assert!(
        config.contains("metrics_path: /minio/v2/metrics/cluster"),
        "{config}"
    );
    let host = server.endpoint().trim_start_matches("http://");
    assert!(config.contains(&format!("targets: ['{host}']")), "{config}");
    assert!(config.contains("scheme: http"), "{config}");

    let scrape = |token: String| {
        let server = &server;
        async move {
            let header = format!("Bearer {token}");
            send_url(
                server,
                "GET",
                &format!("{}/minio/v2/metrics/cluster", server.endpoint()),
                &[("authorization", header.as_str())],
                Vec::new(),
            )
            .await
        }
    };
    let root = scrape(bearer_token_of(&config)).await;
    assert_eq!(root.status, 200, "{}", root.text());
    assert!(root.text().contains("minnow_drives_online"));

    let scraper_secret = crate::common::add_user_with_policy(
        &server,
        "scraper",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["admin:Prometheus"],"Resource":["arn:aws:s3:::*"]}]}"#,
    )
    .await;
    let scraper = generate_scrape_config(&server, "scraper", &scraper_secret);
    let allowed = scrape(bearer_token_of(&scraper)).await;
    assert_eq!(allowed.status, 200, "{}", allowed.text());

    let reader_secret = crate::common::add_user_with_policy(
        &server,
        "reader",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::*"]}]}"#,
    )
    .await;
    let reader = generate_scrape_config(&server, "reader", &reader_secret);
    let refused = scrape(bearer_token_of(&reader)).await;
    assert_eq!(refused.status, 403, "{}", refused.text());
}

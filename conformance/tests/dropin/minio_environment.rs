//! MinIO's environment as a deployment sets it: `MINIO_CONFIG_ENV_FILE` (a
//! file of KEY=VALUE lines read at start, winning over the process's
//! variables), `MINIO_ROOT_USER_FILE` (a Docker secret), and every `MINIO_*`
//! variable minnow does not act on named once in the log; and `minnow
//! healthcheck`, the container probe; `MINIO_DOMAIN` virtual-hosted style;
//! `MINIO_API_REQUESTS_MAX` / `MINIO_API_REQUESTS_DEADLINE`.

use conformance::{ServerOptions, TestServer};

#[tokio::test]
async fn config_env_file_and_secret_files_set_root_and_unknown_variables_are_logged_once() {
    let files = tempfile::tempdir().unwrap();
    let config_file = files.path().join("config.env");
    std::fs::write(
        &config_file,
        "# carried over from MinIO\nexport MINIO_ROOT_PASSWORD=\"from-the-config-file-0123\"\nMINIO_FOO=bar\n",
    )
    .unwrap();
    let user_secret = files.path().join("access_key");
    std::fs::write(&user_secret, "filed-root\n").unwrap();
    let server = TestServer::spawn(ServerOptions {
        env: vec![
            (
                "MINIO_CONFIG_ENV_FILE".into(),
                config_file.display().to_string(),
            ),
            (
                "MINIO_ROOT_USER_FILE".into(),
                user_secret.display().to_string(),
            ),
            ("MINIO_UNHEARD_OF_SETTING".into(), "1".into()),
        ],
        ..ServerOptions::default()
    })
    .unwrap();

    let filed = server.s3_client_with_credentials("filed-root", "from-the-config-file-0123");
    filed
        .list_buckets()
        .send()
        .await
        .expect("root is who the files name");
    let process_root = server.s3_client();
    assert!(
        process_root.list_buckets().send().await.is_err(),
        "the process's MINIO_ROOT_USER/PASSWORD lost to the files"
    );

    let log = server.log_tail(64 * 1024);
    for name in ["MINIO_FOO", "MINIO_UNHEARD_OF_SETTING"] {
        let lines: Vec<&str> = log.lines().filter(|line| line.contains(name)).collect();
        assert_eq!(lines.len(), 1, "one line naming {name}:\n{log}");
        assert!(lines[0].contains("ignored"), "{}", lines[0]);
    }
    for honoured in ["MINIO_CONFIG_ENV_FILE", "MINIO_ROOT_USER_FILE"] {
        assert!(
            !log.lines()
                .any(|l| l.contains(honoured) && l.contains("ignored")),
            "{honoured} is honoured, not ignored:\n{log}"
        );
    }
}

/// `minnow healthcheck`, the probe for images without curl: 0 while the
/// server's liveness endpoint answers 200, 1 once nothing listens there.
#[test]
fn healthcheck_command_exits_zero_only_while_the_server_is_live() {
    let mut server = TestServer::spawn(ServerOptions::default()).unwrap();
    let endpoint = server.endpoint().to_string();
    let probe = || {
        std::process::Command::new(conformance::minnow_binary())
            .args(["healthcheck", "--endpoint", &endpoint])
            .output()
            .expect("run minnow healthcheck")
    };
    let live = probe();
    assert!(
        live.status.success(),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );
    server.stop().unwrap();
    let down = probe();
    assert_eq!(down.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&down.stderr).contains("cannot connect"),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
}

/// `MINIO_DOMAIN=s3.test`: `bucket.s3.test/key` addresses the same object
/// as `/bucket/key` (virtual-hosted style), for writes and reads.
#[tokio::test]
async fn minio_domain_serves_virtual_hosted_style_requests() {
    let server = TestServer::spawn(ServerOptions {
        env: vec![("MINIO_DOMAIN".into(), "s3.test".into())],
        ..ServerOptions::default()
    })
    .unwrap();
    let bucket = conformance::unique_bucket("vhost");
    let s3 = server.s3_client();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();

    let address: std::net::SocketAddr = server.host_port().parse().unwrap();
    let host = format!("{bucket}.s3.test");
    let host_port = format!("{host}:{}", address.port());
    let signer = conformance::RequestSigner::new(
        &format!("http://{host_port}"),
        server.access_key(),
        server.secret_key(),
    );
    let http = reqwest::Client::builder()
        .no_proxy()
        .resolve(&host, address)
        .build()
        .unwrap();
    let send = |method: &str, body: Vec<u8>| {
        let signed = signer.sign_headers(
            method,
            "/greeting.txt",
            &[("host".to_string(), host_port.clone())],
            &body,
            &conformance::PayloadSigning::Sha256,
            std::time::SystemTime::now(),
        );
        let mut request = http.request(method.parse().unwrap(), signer.url("/greeting.txt"));
        for (name, value) in signed.headers.iter().filter(|(n, _)| n != "host") {
            request = request.header(name, value);
        }
        request.body(body).send()
    };

    let put = send("PUT", b"hello from a virtual host".to_vec())
        .await
        .unwrap();
    assert_eq!(put.status(), 200, "{:?}", put.text().await);
    let stored = s3
        .get_object()
        .bucket(&bucket)
        .key("greeting.txt")
        .send()
        .await
        .expect("the virtual-hosted PUT wrote bucket/greeting.txt");
    let body = stored.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], b"hello from a virtual host");
    let get = send("GET", Vec::new()).await.unwrap();
    assert_eq!(get.status(), 200);
    assert_eq!(
        &get.bytes().await.unwrap()[..],
        b"hello from a virtual host"
    );
}

/// `MINIO_API_REQUESTS_MAX=1`: while one upload holds the only slot, another
/// S3 request waits `MINIO_API_REQUESTS_DEADLINE` and gets 503 `SlowDown`;
/// the liveness probe is not limited; once the upload ends, requests pass.
#[tokio::test]
async fn minio_api_requests_max_answers_slow_down_past_the_deadline() {
    use conformance::raw_http::{request_head, send_signed};
    use conformance::PayloadSigning;
    use std::io::Write as _;
    use std::time::{Duration, Instant, SystemTime};

    let server = TestServer::spawn(ServerOptions {
        env: vec![
            ("MINIO_API_REQUESTS_MAX".into(), "1".into()),
            ("MINIO_API_REQUESTS_DEADLINE".into(), "1s".into()),
        ],
        ..ServerOptions::default()
    })
    .unwrap();
    let bucket = conformance::unique_bucket("requests-max");
    server
        .s3_client()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let list_buckets = || send_signed(&server, "GET", "/", &[], vec![], PayloadSigning::Sha256);

    // An upload that sends part of its body and then nothing holds the slot.
    let path = format!("/{bucket}/stalled");
    let headers = vec![
        ("host".to_string(), server.host_port().to_string()),
        ("content-length".to_string(), (8 << 20).to_string()),
    ];
    let signed = server.signer().sign_headers(
        "PUT",
        &path,
        &headers,
        &[],
        &PayloadSigning::Unsigned,
        SystemTime::now(),
    );
    let mut stalled = std::net::TcpStream::connect(server.host_port()).unwrap();
    stalled
        .write_all(&request_head("PUT", &path, &signed.headers))
        .unwrap();
    stalled.write_all(&[b's'; 1024]).unwrap();

    let deadline = Instant::now() + Duration::from_secs(60);
    let refused = loop {
        let response = list_buckets().await.unwrap();
        if response.status == 503 {
            break response;
        }
        assert!(
            Instant::now() < deadline,
            "no 503 while the slot is held: {} {}",
            response.status,
            response.text()
        );
    };
    refused.assert_error(503, "SlowDown");
    let live = server
        .http_client()
        .get(format!("{}/minio/health/live", server.endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200, "probes are not limited");

    drop(stalled);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let response = list_buckets().await.unwrap();
        if response.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slot was not given back: {} {}",
            response.status,
            response.text()
        );
    }
}

//! Access control, the CDN read path, per-bucket CORS, health and metrics
//! against the real `minnow` binary: users and their
//! policies through the SDK, anonymous callers through plain HTTP, the CDN
//! host through a `Host` header the server was told about with `--cdn-host`.
//!
//! One server is shared by the tests that do not disturb it (each uses its
//! own bucket and user names); the health test takes drives away and so
//! starts its own.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use conformance::{expect_s3_error, unique_bucket, RawResponse, ServerOptions, TestServer};
use http::Method;
use iam::policy::canned_bucket_policy;
use minnow::client::{object_path, BucketConfig, Client, ClientConfig};

const CDN_HOST: &str = "cdn.example.app";
/// The longest a health probe may take to notice a drive change.
const HEALTH_DEADLINE: Duration = Duration::from_secs(10);

fn shared_server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        TestServer::start_with(ServerOptions {
            args: vec!["--cdn-host".into(), CDN_HOST.into()],
            // The scrape test below reads metrics as a public Prometheus
            // target would; that metrics need a signature by default is
            // the attack suite's rule.
            env: vec![("MINIO_PROMETHEUS_AUTH_TYPE".into(), "public".into())],
            ..ServerOptions::default()
        })
        .expect("starting the minnow server")
    })
}

fn root_client(server: &TestServer) -> Client {
    Client::new(ClientConfig {
        endpoint: server.endpoint().to_string(),
        access_key: server.access_key().to_string(),
        secret_key: server.secret_key().to_string(),
        timeout: Duration::from_secs(60),
        insecure: false,
    })
    .expect("client")
}

/// An unsigned request; `host` overrides the Host header (the CDN name).
async fn anonymous(
    server: &TestServer,
    method: &str,
    path: &str,
    host: Option<&str>,
    headers: &[(&str, &str)],
) -> RawResponse {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = server
        .http_client()
        .request(method, format!("{}{path}", server.endpoint()));
    if let Some(host) = host {
        request = request.header("host", host);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request sent");
    RawResponse::from_reqwest(response)
        .await
        .expect("response read")
}

async fn cdn(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> RawResponse {
    anonymous(server, method, path, Some(CDN_HOST), headers).await
}

async fn put(client: &Client, bucket: &str, key: &str, body: &[u8], headers: &[(&str, String)]) {
    client
        .request(
            Method::PUT,
            &object_path(bucket, key),
            "",
            headers,
            Bytes::copy_from_slice(body),
        )
        .await
        .unwrap_or_else(|e| panic!("PUT {bucket}/{key}: {e}"));
}

/// A bucket whose `img/` prefix is publicly downloadable (`bucket policy
/// set download NAME/img/`), with a PNG, an untyped WebP, an object with its
/// own Cache-Control, and a private object outside the prefix.
async fn public_image_bucket(server: &TestServer, scenario: &str) -> String {
    let client = root_client(server);
    let bucket = unique_bucket(scenario);
    client.create_bucket(&bucket).await.expect("create bucket");
    put(
        &client,
        &bucket,
        "img/cat.png",
        &png_bytes(),
        &[("content-type", "image/png".into())],
    )
    .await;
    put(&client, &bucket, "img/raw.webp", b"RIFF....WEBP", &[]).await;
    put(
        &client,
        &bucket,
        "img/fresh.jpg",
        b"jpeg",
        &[
            ("content-type", "image/jpeg".into()),
            ("cache-control", "no-cache".into()),
        ],
    )
    .await;
    put(&client, &bucket, "private/secret.png", b"secret", &[]).await;
    let policy = canned_bucket_policy("download", &bucket, "img/").expect("download policy");
    client
        .put_bucket_config(&bucket, BucketConfig::Policy, Bytes::from(policy.to_json()))
        .await
        .expect("put policy");
    bucket
}

fn png_bytes() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..1000u32).map(|i| (i * 7 % 251) as u8));
    bytes
}

#[track_caller]
fn assert_cdn_cors(response: &RawResponse) {
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        response.header("access-control-allow-methods"),
        Some("GET, HEAD, OPTIONS")
    );
    assert_eq!(
        response.header("access-control-allow-headers"),
        Some("Content-Type, Authorization, Range")
    );
    assert_eq!(
        response.header("access-control-expose-headers"),
        Some("Content-Length, Content-Range, ETag")
    );
}

#[tokio::test]
async fn cdn_serves_a_public_image_with_cache_and_cors_headers() {
    let server = shared_server();
    let bucket = public_image_bucket(server, "cdn-public").await;
    let path = format!("/{bucket}/img/cat.png");
    let png = png_bytes();

    let get = cdn(server, "GET", &path, &[]).await;
    assert_eq!(get.status, 200, "{}", get.text());
    assert_eq!(get.body, png);
    assert_eq!(get.header("content-type"), Some("image/png"));
    assert_eq!(
        get.header("content-length"),
        Some(png.len().to_string().as_str())
    );
    let etag = get.header("etag").expect("ETag");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert!(get.header("last-modified").is_some());
    assert_eq!(get.header("accept-ranges"), Some("bytes"));
    assert_eq!(
        get.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_cdn_cors(&get);

    let head = cdn(server, "HEAD", &path, &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    for name in [
        "content-type",
        "content-length",
        "etag",
        "last-modified",
        "cache-control",
    ] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
    assert_cdn_cors(&head);

    // No stored type: guessed from the extension. Own Cache-Control: kept.
    let webp = cdn(server, "GET", &format!("/{bucket}/img/raw.webp"), &[]).await;
    assert_eq!(webp.status, 200);
    assert_eq!(webp.header("content-type"), Some("image/webp"));
    let fresh = cdn(server, "GET", &format!("/{bucket}/img/fresh.jpg"), &[]).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.header("cache-control"), Some("no-cache"));

    // A signature is neither needed nor checked on the CDN host.
    let signed_garbage = cdn(
        server,
        "GET",
        &path,
        &[(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=nobody/x, Signature=00",
        )],
    )
    .await;
    assert_eq!(signed_garbage.status, 200);
}

#[tokio::test]
async fn cdn_answers_403_for_private_missing_and_unlisted_alike() {
    let server = shared_server();
    let bucket = public_image_bucket(server, "cdn-private").await;
    let missing_bucket = unique_bucket("cdn-nobucket");
    for path in [
        format!("/{bucket}/private/secret.png"),
        format!("/{bucket}/img/missing.png"),
        format!("/{missing_bucket}/img/cat.png"),
        format!("/{bucket}/"),
        format!("/{bucket}"),
        "/".to_string(),
    ] {
        for method in ["GET", "HEAD"] {
            let response = cdn(server, method, &path, &[]).await;
            assert_eq!(response.status, 403, "{method} {path}: {}", response.text());
            if method == "GET" {
                assert_eq!(
                    response.error_code().as_deref(),
                    Some("AccessDenied"),
                    "{path}"
                );
                assert!(!response.text().contains("NoSuch"), "{path}");
            }
        }
    }
}

#[tokio::test]
async fn cdn_refuses_write_methods_with_405() {
    let server = shared_server();
    let bucket = public_image_bucket(server, "cdn-405").await;
    let path = format!("/{bucket}/img/cat.png");
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let response = cdn(server, method, &path, &[]).await;
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(
            response.header("allow"),
            Some("GET, HEAD, OPTIONS"),
            "{method}"
        );
    }
    let still_there = cdn(server, "GET", &path, &[]).await;
    assert_eq!(still_there.status, 200);
    assert_eq!(still_there.body, png_bytes());
}

#[tokio::test]
async fn cdn_ranges_and_conditional_requests() {
    let server = shared_server();
    let bucket = public_image_bucket(server, "cdn-range").await;
    let path = format!("/{bucket}/img/cat.png");
    let png = png_bytes();

    let range = cdn(server, "GET", &path, &[("range", "bytes=0-9")]).await;
    assert_eq!(range.status, 206);
    assert_eq!(range.body, png[..10]);
    assert_eq!(
        range.header("content-range"),
        Some(format!("bytes 0-9/{}", png.len()).as_str())
    );
    assert_eq!(range.header("content-length"), Some("10"));
    assert_cdn_cors(&range);

    let suffix = cdn(server, "GET", &path, &[("range", "bytes=-4")]).await;
    assert_eq!(suffix.status, 206);
    assert_eq!(suffix.body, png[png.len() - 4..]);

    let beyond = cdn(server, "GET", &path, &[("range", "bytes=99999-")]).await;
    assert_eq!(beyond.status, 416);
    assert_eq!(
        beyond.header("content-range"),
        Some(format!("bytes */{}", png.len()).as_str())
    );

    let etag = cdn(server, "HEAD", &path, &[])
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let not_modified = cdn(server, "GET", &path, &[("if-none-match", &etag)]).await;
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());
    assert_eq!(not_modified.header("etag"), Some(etag.as_str()));
    let changed = cdn(server, "GET", &path, &[("if-none-match", "\"other\"")]).await;
    assert_eq!(changed.status, 200);

    let future = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600));
    let since = cdn(server, "GET", &path, &[("if-modified-since", &future)]).await;
    assert_eq!(since.status, 304);
}

#[tokio::test]
async fn cdn_preflight_answers_204_with_cors_headers() {
    let server = shared_server();
    let bucket = public_image_bucket(server, "cdn-options").await;
    let response = cdn(
        server,
        "OPTIONS",
        &format!("/{bucket}/img/cat.png"),
        &[
            ("origin", "https://app.example.app"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "range"),
        ],
    )
    .await;
    assert_eq!(response.status, 204);
    assert!(response.body.is_empty());
    assert_cdn_cors(&response);
}

#[tokio::test]
async fn anonymous_writes_are_refused_everywhere() {
    let server = shared_server();
    let bucket = public_image_bucket(server, "anon-write").await;
    let client = root_client(server);
    // Even a bucket whose policy lets everybody upload to a prefix keeps
    // the rest closed; with `download` nothing is writable.
    for (method, path) in [
        ("PUT", format!("/{bucket}/img/new.png")),
        ("PUT", format!("/{bucket}/private/new.png")),
        ("DELETE", format!("/{bucket}/img/cat.png")),
        ("DELETE", format!("/{bucket}/private/secret.png")),
        ("PUT", format!("/{}", unique_bucket("anon-create"))),
        ("DELETE", format!("/{bucket}")),
        ("PUT", format!("/{bucket}?policy")),
        ("DELETE", format!("/{bucket}?policy")),
    ] {
        let response = anonymous(server, method, &path, None, &[]).await;
        assert_eq!(response.status, 403, "{method} {path}: {}", response.text());
        assert_eq!(response.error_code().as_deref(), Some("AccessDenied"));
        let response = cdn(server, method, &path, &[]).await;
        assert_eq!(response.status, 405, "CDN {method} {path}");
    }
    let batch = b"<Delete><Object><Key>img/cat.png</Key></Object></Delete>";
    let md5 = {
        use base64::Engine as _;
        use md5::Digest as _;
        base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(batch))
    };
    let response = server
        .http_client()
        .post(format!("{}/{bucket}?delete", server.endpoint()))
        .header("content-md5", md5)
        .body(batch.to_vec())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 403);
    // Everything is still there.
    for key in ["img/cat.png", "private/secret.png"] {
        client
            .request(
                Method::HEAD,
                &object_path(&bucket, key),
                "",
                &[],
                Bytes::new(),
            )
            .await
            .unwrap_or_else(|e| panic!("{key}: {e}"));
    }
}

#[tokio::test]
async fn anonymous_get_works_only_where_a_policy_allows_it() {
    let server = shared_server();
    let bucket = public_image_bucket(server, "anon-get").await;
    let get = anonymous(server, "GET", &format!("/{bucket}/img/cat.png"), None, &[]).await;
    assert_eq!(get.status, 200);
    assert_eq!(get.body, png_bytes());
    for path in [
        format!("/{bucket}/private/secret.png"),
        format!("/{bucket}"),
        format!("/{bucket}?list-type=2"),
        format!("/{bucket}?list-type=2&prefix=img/"),
        format!("/{bucket}?policy"),
        "/".to_string(),
    ] {
        let response = anonymous(server, "GET", &path, None, &[]).await;
        assert_eq!(response.status, 403, "GET {path}: {}", response.text());
    }
    // Without a policy nothing is public.
    let client = root_client(server);
    client
        .delete_bucket_config(&bucket, BucketConfig::Policy)
        .await
        .expect("delete policy");
    let get = anonymous(server, "GET", &format!("/{bucket}/img/cat.png"), None, &[]).await;
    assert_eq!(get.status, 403);
    let get = cdn(server, "GET", &format!("/{bucket}/img/cat.png"), &[]).await;
    assert_eq!(get.status, 403);
}

/// Adds a user with `policy` attached; returns its keys.
async fn add_user(server: &TestServer, scenario: &str, policy: &str) -> (String, String) {
    let client = root_client(server);
    let access_key = unique_bucket(scenario);
    let secret_key = format!("{access_key}-secret");
    client
        .add_user(&access_key, &secret_key)
        .await
        .expect("add user");
    client
        .set_user_policy(&access_key, policy, true)
        .await
        .expect("attach policy");
    (access_key, secret_key)
}

#[tokio::test]
async fn readwrite_user_can_use_objects_but_not_the_admin_api() {
    let server = shared_server();
    let (access_key, secret_key) = add_user(server, "rw-user", "readwrite").await;
    let s3 = server.s3_client_with_credentials(&access_key, &secret_key);
    let bucket = unique_bucket("rw-bucket");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    s3.put_object()
        .bucket(&bucket)
        .key("doc.txt")
        .body(b"hello".to_vec().into())
        .send()
        .await
        .expect("put");
    let got = s3
        .get_object()
        .bucket(&bucket)
        .key("doc.txt")
        .send()
        .await
        .expect("get");
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        b"hello"
    );
    let listed = s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .expect("list");
    assert_eq!(listed.contents().len(), 1);
    s3.delete_object()
        .bucket(&bucket)
        .key("doc.txt")
        .send()
        .await
        .expect("delete");

    let as_user = root_client(server).with_credentials(&access_key, &secret_key);
    let error = as_user.list_users().await.expect_err("admin API refused");
    assert_eq!(error.status(), Some(403), "{error}");
    let error = as_user
        .add_user(&format!("{access_key}x"), "some-secret-key")
        .await
        .expect_err("admin API refused");
    assert_eq!(error.status(), Some(403), "{error}");
}

#[tokio::test]
async fn readonly_user_can_read_but_not_put() {
    let server = shared_server();
    let bucket = public_image_bucket(server, "ro-bucket").await;
    let (access_key, secret_key) = add_user(server, "ro-user", "readonly").await;
    let s3 = server.s3_client_with_credentials(&access_key, &secret_key);
    let got = s3
        .get_object()
        .bucket(&bucket)
        .key("private/secret.png")
        .send()
        .await
        .expect("readonly may get");
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        b"secret"
    );
    expect_s3_error(
        s3.put_object()
            .bucket(&bucket)
            .key("new.txt")
            .body(b"x".to_vec().into())
            .send()
            .await,
        403,
        "AccessDenied",
    );
    expect_s3_error(
        s3.delete_object()
            .bucket(&bucket)
            .key("private/secret.png")
            .send()
            .await,
        403,
        "AccessDenied",
    );
    expect_s3_error(
        s3.create_bucket()
            .bucket(unique_bucket("ro-create"))
            .send()
            .await,
        403,
        "AccessDenied",
    );
}

#[tokio::test]
async fn disabled_and_removed_users_are_refused() {
    let server = shared_server();
    let (access_key, secret_key) = add_user(server, "gone-user", "readwrite").await;
    let s3 = server.s3_client_with_credentials(&access_key, &secret_key);
    s3.list_buckets().send().await.expect("enabled user lists");

    let root = root_client(server);
    root.set_user_enabled(&access_key, false)
        .await
        .expect("disable");
    let result = s3.list_buckets().send().await;
    let error = result.expect_err("disabled user refused");
    let status = error.raw_response().map(|r| r.status().as_u16());
    assert_eq!(status, Some(403), "{error:?}");

    root.set_user_enabled(&access_key, true)
        .await
        .expect("enable");
    s3.list_buckets()
        .send()
        .await
        .expect("re-enabled user lists");

    root.remove_user(&access_key).await.expect("remove");
    expect_s3_error(s3.list_buckets().send().await, 403, "InvalidAccessKeyId");
}

#[tokio::test]
async fn copy_needs_read_access_to_the_source() {
    let server = shared_server();
    let root = root_client(server);
    let source = unique_bucket("copy-src");
    root.create_bucket(&source).await.expect("create");
    put(&root, &source, "a.txt", b"abc", &[]).await;
    // writeonly may put but not read: a copy from a bucket it cannot read fails.
    let (access_key, secret_key) = add_user(server, "wo-user", "writeonly").await;
    let s3 = server.s3_client_with_credentials(&access_key, &secret_key);
    expect_s3_error(
        s3.copy_object()
            .bucket(&source)
            .key("b.txt")
            .copy_source(format!("{source}/a.txt"))
            .send()
            .await,
        403,
        "AccessDenied",
    );
    s3.put_object()
        .bucket(&source)
        .key("c.txt")
        .body(b"c".to_vec().into())
        .send()
        .await
        .expect("writeonly may put");
}

#[tokio::test]
async fn bucket_cors_answers_preflights_and_decorates_responses() {
    let server = shared_server();
    let bucket = public_image_bucket(server, "s3-cors").await;
    let root = root_client(server);
    let cors = r#"<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example.app</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>300</MaxAgeSeconds></CORSRule></CORSConfiguration>"#;
    root.put_bucket_config(&bucket, BucketConfig::Cors, Bytes::from(cors))
        .await
        .expect("put cors");
    let path = format!("/{bucket}/img/cat.png");

    let allowed = anonymous(
        server,
        "OPTIONS",
        &path,
        None,
        &[
            ("origin", "https://app.example.app"),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "content-type, x-amz-date"),
        ],
    )
    .await;
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://app.example.app")
    );
    assert_eq!(
        allowed.header("access-control-allow-methods"),
        Some("GET, PUT")
    );
    assert_eq!(
        allowed.header("access-control-allow-headers"),
        Some("content-type, x-amz-date")
    );
    assert_eq!(allowed.header("access-control-max-age"), Some("300"));
    assert_eq!(
        allowed.header("access-control-expose-headers"),
        Some("ETag")
    );

    for (origin, method) in [
        ("https://evil.example", "GET"),
        ("https://app.example.app", "DELETE"),
    ] {
        let refused = anonymous(
            server,
            "OPTIONS",
            &path,
            None,
            &[
                ("origin", origin),
                ("access-control-request-method", method),
            ],
        )
        .await;
        assert_eq!(refused.status, 403, "{origin} {method}");
        assert!(
            refused.text().contains("CORSResponse"),
            "{}",
            refused.text()
        );
    }
    let no_origin = anonymous(server, "OPTIONS", &path, None, &[]).await;
    assert_eq!(no_origin.status, 400);

    // An actual (public) GET from the allowed origin carries the grant.
    let get = anonymous(
        server,
        "GET",
        &path,
        None,
        &[("origin", "https://app.example.app")],
    )
    .await;
    assert_eq!(get.status, 200);
    assert_eq!(
        get.header("access-control-allow-origin"),
        Some("https://app.example.app")
    );
    assert_eq!(get.header("access-control-expose-headers"), Some("ETag"));
    let other = anonymous(
        server,
        "GET",
        &path,
        None,
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(other.status, 200);
    assert_eq!(other.header("access-control-allow-origin"), None);
}

/// Every line is a comment (`# HELP`/`# TYPE`) or `name{labels} value`.
fn parse_prometheus(text: &str) -> Vec<(String, f64)> {
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            assert!(
                comment.starts_with("HELP ") || comment.starts_with("TYPE "),
                "bad comment: {line}"
            );
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        let name = series.split('{').next().unwrap();
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "bad metric name: {line}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                assert!(
                    labels.starts_with('{') && labels.ends_with('}'),
                    "bad labels: {line}"
                );
            }
        }
        samples.push((series.to_string(), value));
    }
    samples
}

fn sample(samples: &[(String, f64)], series: &str) -> Option<f64> {
    samples.iter().find(|(s, _)| s == series).map(|(_, v)| *v)
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_count_requests() {
    let server = shared_server();
    let bucket = public_image_bucket(server, "metrics").await;
    let scrape = || async {
        let response = anonymous(server, "GET", "/minio/v2/metrics/cluster", None, &[]).await;
        assert_eq!(response.status, 200);
        assert!(response
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")));
        parse_prometheus(&response.text())
    };
    let get_series = "minnow_requests_total{operation=\"GetObject\",status=\"200\"}";
    let before = sample(&scrape().await, get_series).unwrap_or(0.0);
    for _ in 0..3 {
        let get = anonymous(server, "GET", &format!("/{bucket}/img/cat.png"), None, &[]).await;
        assert_eq!(get.status, 200);
    }
    let samples = scrape().await;
    let after = sample(&samples, get_series).expect("GetObject counted");
    assert!(after >= before + 3.0, "before {before}, after {after}");
    assert_eq!(sample(&samples, "minnow_drives_online"), Some(4.0));
    assert_eq!(sample(&samples, "minnow_drives_offline"), Some(0.0));
    assert!(samples
        .iter()
        .any(|(s, _)| s.starts_with("minnow_drive_free_bytes{")));
    assert!(sample(&samples, "minnow_tx_bytes_total").is_some_and(|v| v > 0.0));
    assert!(sample(&samples, "minnow_rx_bytes_total").is_some_and(|v| v > 0.0));
    assert!(samples
        .iter()
        .any(|(s, _)| s
            .starts_with("minnow_request_duration_seconds_bucket{operation=\"GetObject\"")));
    assert!(sample(&samples, "minnow_lifecycle_cycles_total").is_some());
    // Shared server, other tests may be uploading: only its presence and range.
    let buffers = sample(&samples, "minnow_write_buffer_bytes").expect("write buffer gauge");
    assert!(
        (0.0..=256.0 * 1024.0 * 1024.0).contains(&buffers),
        "{buffers}"
    );

    let plain = anonymous(server, "GET", "/metrics", None, &[]).await;
    assert_eq!(plain.status, 200);
    parse_prometheus(&plain.text());
}

async fn status_of(server: &TestServer, path: &str) -> u16 {
    anonymous(server, "GET", path, None, &[]).await.status
}

/// Polls `path` until it answers `want`, for at most [`HEALTH_DEADLINE`].
async fn wait_for_status(server: &TestServer, path: &str, want: u16) -> Duration {
    let started = Instant::now();
    loop {
        let status = status_of(server, path).await;
        if status == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < HEALTH_DEADLINE,
            "{path} still {status}, wanted {want} within {HEALTH_DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn moved_away(drive: &std::path::Path) -> PathBuf {
    drive.with_extension("away")
}

/// Starts a server and takes three of its four drive folders away (EC 2+2
/// then has neither read nor write quorum); returns the server and the
/// drives to bring back.
async fn server_losing_quorum() -> (TestServer, Vec<PathBuf>) {
    let server = TestServer::spawn(ServerOptions::default()).expect("server");
    assert_eq!(status_of(&server, "/minio/health/live").await, 200);
    let head = anonymous(&server, "HEAD", "/minio/health/live", None, &[]).await;
    assert_eq!(head.status, 200);
    assert_eq!(status_of(&server, "/minio/health/ready").await, 200);
    assert_eq!(status_of(&server, "/minio/health/cluster").await, 200);

    let drives: Vec<PathBuf> = server.drives()[..3].to_vec();
    for drive in &drives {
        std::fs::rename(drive, moved_away(drive)).expect("move drive away");
    }
    wait_for_status(&server, "/minio/health/ready", 503).await;
    wait_for_status(&server, "/minio/health/cluster", 503).await;
    assert_eq!(status_of(&server, "/minio/health/live").await, 200);
    (server, drives)
}

#[tokio::test]
async fn health_ready_turns_503_when_more_drives_than_parity_vanish() {
    let (server, drives) = server_losing_quorum().await;
    for drive in &drives {
        std::fs::rename(moved_away(drive), drive).expect("bring drive back");
    }
    drop(server);
}

#[tokio::test]
async fn health_ready_recovers_when_the_drives_return() {
    let (server, drives) = server_losing_quorum().await;
    for drive in &drives {
        std::fs::rename(moved_away(drive), drive).expect("bring drive back");
    }
    wait_for_status(&server, "/minio/health/ready", 200).await;
    wait_for_status(&server, "/minio/health/cluster", 200).await;
}

#[test]
fn weak_root_credentials_stop_the_server_at_start() {
    let drives = tempfile::tempdir().expect("temp dir");
    let output = std::process::Command::new(conformance::minnow_binary())
        .arg("server")
        .arg(drives.path().join("d{1...4}"))
        .args(["--address", "127.0.0.1:0"])
        .args(["--root-user", "admin", "--root-password", "short"])
        .env_remove("MINNOW_ROOT_USER")
        .env_remove("MINNOW_ROOT_PASSWORD")
        .env_remove("MINIO_ROOT_USER")
        .env_remove("MINIO_ROOT_PASSWORD")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("minnow runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("root credentials") && stderr.contains("at least 8 characters"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("API: http://"), "{stdout}");
}

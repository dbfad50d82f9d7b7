//! Handler scenarios through [`handle`]: real HTTP requests signed with the
//! test kit's signer (`conformance::signing`, over `aws-sigv4`) against
//! the store's in-memory implementation of its traits
//! (`store::memory::MemoryStore`), so status codes, headers and XML are
//! checked without the engine.

use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use conformance::signing::{PayloadSigning, RequestSigner};
use http_body_util::BodyExt;
use md5::Digest as _;
use store::api::*;
use store::memory::MemoryStore;

use super::headers::compute_checksum;
use super::*;

const ACCESS_KEY: &str = "minnowadmin";
const SECRET_KEY: &str = "minnowadmin-secret";

// ---------------------------------------------------------------------------
// Request helpers

struct Harness {
    state: Arc<AppState<MemoryStore>>,
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn error_code(&self) -> Option<String> {
        let text = self.text();
        let start = text.find("<Code>")? + "<Code>".len();
        let end = text[start..].find("</Code>")? + start;
        Some(text[start..end].to_string())
    }
}

impl Harness {
    fn new() -> Self {
        Self::with_config(|_| {})
    }

    /// A harness whose config `adjust` changed.
    fn with_config(adjust: impl FnOnce(&mut ApiConfig)) -> Self {
        let mut config = ApiConfig {
            lifecycle_day: Duration::from_secs(1),
            ..ApiConfig::default()
        };
        adjust(&mut config);
        let store = Arc::new(MemoryStore::new());
        let root = iam::RootCredentials {
            access_key: ACCESS_KEY.to_string(),
            secret_key: SECRET_KEY.to_string(),
        };
        // The fake store answers at once, so no runtime is needed to load.
        let iam = futures::executor::block_on(iam::Iam::load(store.clone(), root, None))
            .expect("iam loads from an empty store");
        Self {
            state: Arc::new(AppState::new(store, config, Arc::new(iam))),
        }
    }

    fn store(&self) -> &MemoryStore {
        &self.state.store
    }

    /// Sends a request signed like the SDK signs an in-memory body.
    async fn send(&self, method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        self.send_as(ACCESS_KEY, SECRET_KEY, method, uri, headers, body)
            .await
    }

    /// Sends a request signed with other credentials (an IAM user).
    async fn send_as(
        &self,
        access_key: &str,
        secret_key: &str,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let signer = RequestSigner::new("http://localhost:9000", access_key, secret_key);
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let signed = signer.sign_headers(
            method,
            uri,
            &headers,
            body,
            &PayloadSigning::Sha256,
            SystemTime::now(),
        );
        let mut builder = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "localhost:9000");
        for (name, value) in &signed.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let mut request = builder
            .body(http_body_util::Full::new(Bytes::copy_from_slice(body)))
            .unwrap();
        if !body.is_empty() && !request.headers().contains_key("content-length") {
            request
                .headers_mut()
                .insert("content-length", HeaderValue::from(body.len()));
        }
        self.dispatch(request).await
    }

    async fn anonymous(&self, method: &str, uri: &str) -> Reply {
        self.send_unsigned(method, uri, &[]).await
    }

    /// Sends a request without a SigV4 signature, with `headers`.
    async fn send_unsigned(&self, method: &str, uri: &str, headers: &[(&str, &str)]) -> Reply {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "localhost:9000");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder
            .body(http_body_util::Full::new(Bytes::new()))
            .unwrap();
        self.dispatch(request).await
    }

    async fn dispatch(&self, request: http::Request<http_body_util::Full<Bytes>>) -> Reply {
        let response = handle(self.state.clone(), request).await;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    async fn create_bucket(&self, bucket: &str) {
        let reply = self.send("PUT", &format!("/{bucket}"), &[], b"").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }

    async fn put(&self, path: &str, body: &[u8]) -> Reply {
        let reply = self.send("PUT", path, &[], body).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply
    }
}

fn crc32_header(body: &[u8]) -> String {
    compute_checksum(ChecksumAlgorithm::Crc32, body)
}

// ---------------------------------------------------------------------------
// Scenarios

#[tokio::test]
async fn every_response_carries_request_id_host_id_and_server() {
    let h = Harness::new();
    let reply = h.send("GET", "/", &[], b"").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("x-amz-request-id").map(str::len), Some(16));
    assert!(reply.header("x-amz-id-2").is_some());
    assert_eq!(reply.header("server"), Some("minnow"));
    assert!(reply
        .text()
        .contains("<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"));
    let error = h.send("GET", "/missing/key", &[], b"").await;
    assert!(error.header("x-amz-request-id").is_some());
    assert!(error.text().contains(&format!(
        "<RequestId>{}</RequestId>",
        error.header("x-amz-request-id").unwrap()
    )));
}

#[tokio::test]
async fn anonymous_requests_are_denied() {
    let h = Harness::new();
    h.create_bucket("b").await;
    let reply = h.anonymous("GET", "/b/k").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.error_code().as_deref(), Some("AccessDenied"));
    assert!(reply.text().contains("<Resource>/b/k</Resource>"));
}

#[tokio::test]
async fn bucket_lifecycle_create_head_list_location_delete() {
    let h = Harness::new();
    h.create_bucket("photos").await;
    let again = h.send("PUT", "/photos", &[], b"").await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.error_code().as_deref(),
        Some("BucketAlreadyOwnedByYou")
    );
    let head = h.send("HEAD", "/photos", &[], b"").await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("x-amz-bucket-region"), Some("us-east-1"));
    let missing = h.send("HEAD", "/nope", &[], b"").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.is_empty());
    let list = h.send("GET", "/", &[], b"").await;
    assert!(
        list.text()
            .contains("<Bucket><Name>photos</Name><CreationDate>"),
        "{}",
        list.text()
    );
    let location = h.send("GET", "/photos?location", &[], b"").await;
    assert!(location
        .text()
        .ends_with("<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"));
    let config = br#"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"#;
    assert_eq!(
        h.send("PUT", "/other", &[], config).await.status,
        StatusCode::OK
    );
    assert_eq!(
        h.send("PUT", "/third", &[], b"<junk")
            .await
            .error_code()
            .as_deref(),
        Some("MalformedXML")
    );
    h.put("/photos/k", b"x").await;
    let not_empty = h.send("DELETE", "/photos", &[], b"").await;
    assert_eq!(not_empty.error_code().as_deref(), Some("BucketNotEmpty"));
    assert_eq!(
        h.send("DELETE", "/photos/k", &[], b"").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.send("DELETE", "/photos", &[], b"").await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn put_then_get_and_head_return_body_metadata_and_checksum() {
    let h = Harness::new();
    h.create_bucket("b").await;
    let body = b"hello world";
    let crc = crc32_header(body);
    let put = h
        .send(
            "PUT",
            "/b/dir/hello.txt",
            &[
                ("content-type", "text/plain"),
                ("x-amz-meta-color", "blue"),
                ("x-amz-checksum-crc32", &crc),
                ("x-amz-sdk-checksum-algorithm", "CRC32"),
            ],
            body,
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    assert_eq!(
        put.header("etag"),
        Some("\"5eb63bbbe01eeed093cb22bb8f5acdc3\"")
    );
    assert_eq!(put.header("x-amz-checksum-crc32"), Some(crc.as_str()));

    let get = h
        .send(
            "GET",
            "/b/dir/hello.txt",
            &[("x-amz-checksum-mode", "ENABLED")],
            b"",
        )
        .await;
    assert_eq!(get.status, StatusCode::OK);
    assert_eq!(&get.body[..], body);
    assert_eq!(get.header("content-type"), Some("text/plain"));
    assert_eq!(get.header("content-length"), Some("11"));
    assert_eq!(get.header("x-amz-meta-color"), Some("blue"));
    assert_eq!(get.header("accept-ranges"), Some("bytes"));
    assert_eq!(get.header("x-amz-checksum-crc32"), Some(crc.as_str()));
    assert!(get.header("last-modified").unwrap().ends_with(" GMT"));

    let head = h.send("HEAD", "/b/dir/hello.txt", &[], b"").await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), Some("11"));
    assert_eq!(
        head.header("x-amz-checksum-crc32"),
        None,
        "only with checksum mode"
    );

    let missing = h.send("GET", "/b/nope", &[], b"").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error_code().as_deref(), Some("NoSuchKey"));
    assert!(missing.text().contains("<Key>nope</Key>"));
    let no_bucket = h.send("GET", "/zzz/k", &[], b"").await;
    assert_eq!(no_bucket.error_code().as_deref(), Some("NoSuchBucket"));
}

#[tokio::test]
async fn put_defaults_content_type_and_strips_aws_chunked() {
    let h = Harness::new();
    h.create_bucket("b").await;
    h.put("/b/k", b"abc").await;
    let get = h.send("GET", "/b/k", &[], b"").await;
    assert_eq!(get.header("content-type"), Some("binary/octet-stream"));
}

#[tokio::test]
async fn bad_digests_are_refused() {
    let h = Harness::new();
    h.create_bucket("b").await;
    let wrong_md5 = BASE64.encode(md5::Md5::digest(b"other"));
    let reply = h
        .send("PUT", "/b/k", &[("content-md5", &wrong_md5)], b"data")
        .await;
    assert_eq!(reply.error_code().as_deref(), Some("BadDigest"));
    let reply = h
        .send("PUT", "/b/k", &[("content-md5", "@@@")], b"data")
        .await;
    assert_eq!(reply.error_code().as_deref(), Some("InvalidDigest"));
    let reply = h
        .send(
            "PUT",
            "/b/k",
            &[("x-amz-checksum-crc32", "AAAAAA==")],
            b"data",
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code().as_deref(), Some("BadDigest"));
    assert!(!h.store().has_object("b", "k"));
}

#[tokio::test]
async fn range_reads_answer_206_416_or_whole_object() {
    let h = Harness::new();
    h.create_bucket("b").await;
    h.put("/b/k", b"0123456789").await;
    let part = h.send("GET", "/b/k", &[("range", "bytes=2-4")], b"").await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(&part.body[..], b"234");
    assert_eq!(part.header("content-range"), Some("bytes 2-4/10"));
    assert_eq!(part.header("content-length"), Some("3"));
    let suffix = h
        .send(
            "GET",
            "/b/k",
            &[("range", "bytes=-3"), ("x-amz-checksum-mode", "ENABLED")],
            b"",
        )
        .await;
    assert_eq!(&suffix.body[..], b"789");
    let open = h.send("GET", "/b/k", &[("range", "bytes=8-")], b"").await;
    assert_eq!(open.header("content-range"), Some("bytes 8-9/10"));
    let beyond = h.send("GET", "/b/k", &[("range", "bytes=10-")], b"").await;
    assert_eq!(beyond.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(beyond.header("content-range"), Some("bytes */10"));
    assert_eq!(beyond.error_code().as_deref(), Some("InvalidRange"));
    let multi = h
        .send("GET", "/b/k", &[("range", "bytes=0-1,3-4")], b"")
        .await;
    assert_eq!(multi.status, StatusCode::OK);
    assert_eq!(multi.body.len(), 10);
    let head = h.send("HEAD", "/b/k", &[("range", "bytes=0-0")], b"").await;
    assert_eq!(head.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(head.header("content-length"), Some("1"));
}

#[tokio::test]
async fn conditional_reads_answer_304_and_412() {
    let h = Harness::new();
    h.create_bucket("b").await;
    let etag = h
        .put("/b/k", b"data")
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let not_modified = h
        .send("GET", "/b/k", &[("if-none-match", &etag)], b"")
        .await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert!(not_modified.body.is_empty());
    assert_eq!(not_modified.header("etag"), Some(etag.as_str()));
    let failed = h
        .send("GET", "/b/k", &[("if-match", "\"other\"")], b"")
        .await;
    assert_eq!(failed.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(failed.error_code().as_deref(), Some("PreconditionFailed"));
    let head_failed = h
        .send("HEAD", "/b/k", &[("if-match", "\"other\"")], b"")
        .await;
    assert_eq!(head_failed.status, StatusCode::PRECONDITION_FAILED);
    assert!(head_failed.body.is_empty());
    let matched = h.send("GET", "/b/k", &[("if-match", &etag)], b"").await;
    assert_eq!(matched.status, StatusCode::OK);
    let since = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(60));
    let unmodified = h
        .send("GET", "/b/k", &[("if-modified-since", &since)], b"")
        .await;
    assert_eq!(unmodified.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn response_overrides_apply_to_signed_requests() {
    let h = Harness::new();
    h.create_bucket("b").await;
    h.put("/b/k", b"data").await;
    let reply = h
        .send(
            "GET",
            "/b/k?response-content-type=text%2Fcsv&response-cache-control=no-cache",
            &[],
            b"",
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("text/csv"));
    assert_eq!(reply.header("cache-control"), Some("no-cache"));
}

#[tokio::test]
async fn listing_v2_pages_with_continuation_tokens_and_delimiters() {
    let h = Harness::new();
    h.create_bucket("b").await;
    for key in ["a", "b", "c", "dir/x", "dir/y", "e f"] {
        h.put(&format!("/b/{}", key.replace(' ', "%20")), b"1")
            .await;
    }
    let first = h.send("GET", "/b?list-type=2&max-keys=2", &[], b"").await;
    let text = first.text();
    assert!(text.contains("<KeyCount>2</KeyCount>"), "{text}");
    assert!(text.contains("<IsTruncated>true</IsTruncated>"), "{text}");
    let token_start =
        text.find("<NextContinuationToken>").unwrap() + "<NextContinuationToken>".len();
    let token = &text[token_start..token_start + text[token_start..].find('<').unwrap()];
    let second = h
        .send(
            "GET",
            &format!("/b?list-type=2&max-keys=2&continuation-token={token}"),
            &[],
            b"",
        )
        .await;
    let text = second.text();
    assert!(text.contains("<Key>c</Key>"), "{text}");
    assert!(
        text.contains(&format!("<ContinuationToken>{token}</ContinuationToken>")),
        "{text}"
    );

    let grouped = h
        .send(
            "GET",
            "/b?list-type=2&delimiter=%2F&encoding-type=url",
            &[],
            b"",
        )
        .await;
    let text = grouped.text();
    assert!(
        text.contains("<CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes>"),
        "{text}"
    );
    assert!(text.contains("<Key>e%20f</Key>"), "{text}");
    assert!(text.contains("<EncodingType>url</EncodingType>"), "{text}");
    assert!(text.contains("<KeyCount>5</KeyCount>"), "{text}");

    let after = h
        .send(
            "GET",
            "/b?list-type=2&start-after=c&fetch-owner=true",
            &[],
            b"",
        )
        .await;
    let text = after.text();
    assert!(
        !text.contains("<Key>c</Key>") && text.contains("<Key>dir/x</Key>"),
        "{text}"
    );
    assert!(text.contains("<Owner><ID>"), "{text}");

    let v1 = h
        .send("GET", "/b?marker=b&max-keys=1&delimiter=/", &[], b"")
        .await;
    let text = v1.text();
    assert!(
        text.contains("<Marker>b</Marker>") && text.contains("<NextMarker>c</NextMarker>"),
        "{text}"
    );
    let none = h.send("GET", "/b?list-type=2&max-keys=0", &[], b"").await;
    assert!(
        none.text().contains("<KeyCount>0</KeyCount>"),
        "{}",
        none.text()
    );
    let bad = h
        .send("GET", "/b?list-type=2&continuation-token=%21%21", &[], b"")
        .await;
    assert_eq!(bad.error_code().as_deref(), Some("InvalidArgument"));
    let missing = h.send("GET", "/nope?list-type=2", &[], b"").await;
    assert_eq!(missing.error_code().as_deref(), Some("NoSuchBucket"));
}

#[tokio::test]
async fn delete_objects_requires_a_digest_and_reports_per_key() {
    let h = Harness::new();
    h.create_bucket("b").await;
    h.put("/b/one", b"1").await;
    h.put("/b/two", b"2").await;
    let body = br#"<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>one</Key></Object><Object><Key>absent</Key></Object></Delete>"#;
    let no_digest = h.send("POST", "/b?delete", &[], body).await;
    assert_eq!(no_digest.error_code().as_deref(), Some("InvalidRequest"));
    let wrong = h
        .send(
            "POST",
            "/b?delete",
            &[("x-amz-checksum-crc32", "AAAAAA==")],
            body,
        )
        .await;
    assert_eq!(wrong.error_code().as_deref(), Some("BadDigest"));
    let crc = crc32_header(body);
    let reply = h
        .send("POST", "/b?delete", &[("x-amz-checksum-crc32", &crc)], body)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(
        reply
            .text()
            .contains("<Deleted><Key>one</Key></Deleted><Deleted><Key>absent</Key></Deleted>"),
        "{}",
        reply.text()
    );
    assert!(!h.store().has_object("b", "one"));

    let quiet = br#"<Delete><Quiet>true</Quiet><Object><Key>two</Key></Object></Delete>"#;
    let md5 = BASE64.encode(md5::Md5::digest(quiet));
    let reply = h
        .send("POST", "/b?delete", &[("content-md5", &md5)], quiet)
        .await;
    assert!(
        reply
            .text()
            .ends_with("<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"),
        "{}",
        reply.text()
    );
    assert!(!h.store().has_object("b", "two"));
}

#[tokio::test]
async fn copy_object_copies_or_replaces_metadata() {
    let h = Harness::new();
    h.create_bucket("b").await;
    h.send(
        "PUT",
        "/b/src",
        &[("x-amz-meta-a", "1"), ("content-type", "text/plain")],
        b"payload",
    )
    .await;
    let copy = h
        .send("PUT", "/b/dst", &[("x-amz-copy-source", "/b/src")], b"")
        .await;
    assert_eq!(copy.status, StatusCode::OK, "{}", copy.text());
    assert!(
        copy.text()
            .contains("<CopyObjectResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><ETag>"),
        "{}",
        copy.text()
    );
    let get = h.send("GET", "/b/dst", &[], b"").await;
    assert_eq!(&get.body[..], b"payload");
    assert_eq!(get.header("x-amz-meta-a"), Some("1"));

    let to_self = h
        .send("PUT", "/b/src", &[("x-amz-copy-source", "b/src")], b"")
        .await;
    assert_eq!(to_self.error_code().as_deref(), Some("InvalidRequest"));
    let replace = h
        .send(
            "PUT",
            "/b/src",
            &[
                ("x-amz-copy-source", "b/src"),
                ("x-amz-metadata-directive", "REPLACE"),
                ("x-amz-meta-b", "2"),
            ],
            b"",
        )
        .await;
    assert_eq!(replace.status, StatusCode::OK, "{}", replace.text());
    let head = h.send("HEAD", "/b/src", &[], b"").await;
    assert_eq!(head.header("x-amz-meta-b"), Some("2"));
    assert_eq!(head.header("x-amz-meta-a"), None);

    let failed = h
        .send(
            "PUT",
            "/b/dst2",
            &[
                ("x-amz-copy-source", "b/src"),
                ("x-amz-copy-source-if-match", "\"nope\""),
            ],
            b"",
        )
        .await;
    assert_eq!(failed.status, StatusCode::PRECONDITION_FAILED);
    let missing = h
        .send("PUT", "/b/dst3", &[("x-amz-copy-source", "b/absent")], b"")
        .await;
    assert_eq!(missing.error_code().as_deref(), Some("NoSuchKey"));
}

#[tokio::test]
async fn multipart_upload_flow() {
    let h = Harness::new();
    h.create_bucket("b").await;
    let created = h
        .send("POST", "/b/big?uploads", &[("x-amz-meta-kind", "mp")], b"")
        .await;
    let text = created.text();
    assert!(text.contains("<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket><Key>big</Key><UploadId>"), "{text}");
    let start = text.find("<UploadId>").unwrap() + "<UploadId>".len();
    let upload_id = text[start..start + text[start..].find('<').unwrap()].to_string();

    let crc = crc32_header(b"part-one");
    let p1 = h
        .send(
            "PUT",
            &format!("/b/big?partNumber=1&uploadId={upload_id}"),
            &[("x-amz-checksum-crc32", &crc)],
            b"part-one",
        )
        .await;
    assert_eq!(p1.status, StatusCode::OK, "{}", p1.text());
    assert_eq!(p1.header("x-amz-checksum-crc32"), Some(crc.as_str()));
    h.put("/b/src", b"0123456789").await;
    let p2 = h
        .send(
            "PUT",
            &format!("/b/big?partNumber=2&uploadId={upload_id}"),
            &[
                ("x-amz-copy-source", "b/src"),
                ("x-amz-copy-source-range", "bytes=2-5"),
            ],
            b"",
        )
        .await;
    assert_eq!(p2.status, StatusCode::OK, "{}", p2.text());
    assert!(p2.text().contains("<CopyPartResult"), "{}", p2.text());

    let parts = h
        .send("GET", &format!("/b/big?uploadId={upload_id}"), &[], b"")
        .await;
    assert!(
        parts.text().contains("<PartNumber>1</PartNumber>")
            && parts.text().contains("<PartNumber>2</PartNumber>"),
        "{}",
        parts.text()
    );
    let uploads = h.send("GET", "/b?uploads", &[], b"").await;
    assert!(
        uploads
            .text()
            .contains(&format!("<UploadId>{upload_id}</UploadId>")),
        "{}",
        uploads.text()
    );

    let e1 = p1.header("etag").unwrap();
    let e2_start = p2.text().find("<ETag>").unwrap() + 6;
    let e2 = p2.text()[e2_start..e2_start + p2.text()[e2_start..].find('<').unwrap()]
        .replace("&quot;", "\"");
    let complete = format!(
        "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Part><ChecksumCRC32>{crc}</ChecksumCRC32><ETag>{e1}</ETag><PartNumber>1</PartNumber></Part><Part><ETag>{e2}</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>"
    );
    let done = h
        .send(
            "POST",
            &format!("/b/big?uploadId={upload_id}"),
            &[],
            complete.as_bytes(),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert!(
        done.text()
            .contains("<Location>http://localhost:9000/b/big</Location>"),
        "{}",
        done.text()
    );
    assert!(
        done.text().contains("-2&quot;</ETag>") || done.text().contains("-2\"</ETag>"),
        "{}",
        done.text()
    );
    let get = h.send("GET", "/b/big", &[], b"").await;
    assert_eq!(&get.body[..], b"part-one2345");
    assert_eq!(get.header("x-amz-mp-parts-count"), Some("2"));
    assert_eq!(get.header("x-amz-meta-kind"), Some("mp"));

    let gone = h
        .send("DELETE", &format!("/b/big?uploadId={upload_id}"), &[], b"")
        .await;
    assert_eq!(gone.error_code().as_deref(), Some("NoSuchUpload"));
    let bad_part = h
        .send("PUT", "/b/big?partNumber=0&uploadId=x", &[], b"x")
        .await;
    assert_eq!(bad_part.error_code().as_deref(), Some("InvalidArgument"));
}

#[tokio::test]
async fn bucket_policy_cors_and_lifecycle_documents_round_trip() {
    let h = Harness::new();
    h.create_bucket("b").await;
    let missing = h.send("GET", "/b?policy", &[], b"").await;
    assert_eq!(missing.error_code().as_deref(), Some("NoSuchBucketPolicy"));
    let policy = br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
    assert_eq!(
        h.send("PUT", "/b?policy", &[], policy).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(&h.send("GET", "/b?policy", &[], b"").await.body[..], policy);
    assert_eq!(
        h.send("PUT", "/b?policy", &[], b"nope")
            .await
            .error_code()
            .as_deref(),
        Some("MalformedPolicy")
    );
    assert_eq!(
        h.send("DELETE", "/b?policy", &[], b"").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.send("GET", "/b?policy", &[], b"").await.status,
        StatusCode::NOT_FOUND
    );

    let cors = br#"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>"#;
    let no_digest = h.send("PUT", "/b?cors", &[], cors).await;
    assert_eq!(no_digest.error_code().as_deref(), Some("InvalidRequest"));
    let crc = crc32_header(cors);
    assert_eq!(
        h.send("PUT", "/b?cors", &[("x-amz-checksum-crc32", &crc)], cors)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(&h.send("GET", "/b?cors", &[], b"").await.body[..], cors);
    assert_eq!(
        h.send("GET", "/b?lifecycle", &[], b"")
            .await
            .error_code()
            .as_deref(),
        Some("NoSuchLifecycleConfiguration")
    );

    let lifecycle = br#"<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ID>logs</ID><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"#;
    let crc = crc32_header(lifecycle);
    let put = h
        .send(
            "PUT",
            "/b?lifecycle",
            &[("x-amz-checksum-crc32", &crc)],
            lifecycle,
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    let stored = h.send("GET", "/b?lifecycle", &[], b"").await;
    assert!(stored.text().contains("<ID>logs</ID>"), "{}", stored.text());
}

#[tokio::test]
async fn lifecycle_expiry_header_hides_and_deletes_expired_objects() {
    let h = Harness::new();
    h.create_bucket("b").await;
    let lifecycle = br#"<LifecycleConfiguration><Rule><ID>logs</ID><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter><Expiration><Days>100</Days></Expiration></Rule></LifecycleConfiguration>"#;
    let crc = crc32_header(lifecycle);
    assert_eq!(
        h.send(
            "PUT",
            "/b?lifecycle",
            &[("x-amz-checksum-crc32", &crc)],
            lifecycle
        )
        .await
        .status,
        StatusCode::OK
    );

    let put = h.put("/b/logs/new", b"x").await;
    let expiration = put
        .header("x-amz-expiration")
        .expect("x-amz-expiration on PUT")
        .to_string();
    assert!(
        expiration.starts_with("expiry-date=\"") && expiration.ends_with("rule-id=\"logs\""),
        "{expiration}"
    );
    assert!(h
        .send("HEAD", "/b/logs/new", &[], b"")
        .await
        .header("x-amz-expiration")
        .is_some());
    assert!(h
        .put("/b/data/k", b"x")
        .await
        .header("x-amz-expiration")
        .is_none());

    // 100 one-second days ago, the object is past its expiry.
    h.store().insert_aged(
        "b",
        "logs/old",
        b"old",
        SystemTime::now() - Duration::from_secs(500),
    );
    let get = h.send("GET", "/b/logs/old", &[], b"").await;
    assert_eq!(get.error_code().as_deref(), Some("NoSuchKey"));
    let list = h.send("GET", "/b?list-type=2&prefix=logs/", &[], b"").await;
    assert!(
        !list.text().contains("logs/old") && list.text().contains("logs/new"),
        "{}",
        list.text()
    );
    for _ in 0..100 {
        if !h.store().has_object("b", "logs/old") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the expired object was not deleted in the background");
}

#[tokio::test]
async fn unsupported_operations_answer_501_and_acl_versioning_answer_minimal_documents() {
    let h = Harness::new();
    h.create_bucket("b").await;
    for (method, uri) in [
        ("GET", "/b?tagging"),
        ("PUT", "/b?versioning"),
        ("GET", "/minio/health/unknown"),
    ] {
        let reply = h.send(method, uri, &[], b"").await;
        assert_eq!(reply.status, StatusCode::NOT_IMPLEMENTED, "{method} {uri}");
        assert_eq!(reply.error_code().as_deref(), Some("NotImplemented"));
    }
    let versioning = h.send("GET", "/b?versioning", &[], b"").await;
    assert!(versioning
        .text()
        .ends_with("<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"));
    let acl = h.send("GET", "/b?acl", &[], b"").await;
    assert!(acl.text().contains("<Permission>FULL_CONTROL</Permission>"));
    // A bucket POST is a browser-form upload; without a form it is S3's 412.
    let post = h.send("POST", "/b", &[], b"").await;
    assert_eq!(post.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(post.error_code().as_deref(), Some("PreconditionFailed"));
}

/// Rule: a plain HTTP chunked body (no Content-Length) streams in, and is
/// cut off with EntityTooLarge once it passes the PUT size limit; nothing
/// is stored then.
#[tokio::test]
async fn chunked_put_streams_in_up_to_the_size_limit() {
    let h = Harness::with_config(|config| config.max_put_size = 10);
    h.create_bucket("b").await;
    let send = |key: &'static str, body: &'static [u8]| {
        let signed = RequestSigner::new("http://localhost:9000", ACCESS_KEY, SECRET_KEY)
            .sign_headers(
                "PUT",
                &format!("/b/{key}"),
                &[],
                b"",
                &PayloadSigning::Unsigned,
                SystemTime::now(),
            );
        let mut builder = http::Request::builder()
            .method("PUT")
            .uri(format!("/b/{key}"))
            .header("host", "localhost:9000")
            .header("transfer-encoding", "chunked");
        for (name, value) in &signed.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        h.dispatch(
            builder
                .body(http_body_util::Full::new(Bytes::from_static(body)))
                .unwrap(),
        )
    };
    let fits = send("fits", b"0123456789").await;
    assert_eq!(fits.status, StatusCode::OK, "{}", fits.text());
    let too_big = send("too-big", b"0123456789a").await;
    assert_eq!(
        too_big.error_code().as_deref(),
        Some("EntityTooLarge"),
        "{}",
        too_big.text()
    );
    let get = h.send("GET", "/b/fits", &[], b"").await;
    assert_eq!(get.body.as_ref(), b"0123456789");
    let absent = h.send("HEAD", "/b/too-big", &[], b"").await;
    assert_eq!(absent.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn put_without_length_is_411() {
    let h = Harness::new();
    h.create_bucket("b").await;
    // Signed as UNSIGNED-PAYLOAD with no Content-Length (a chunked transfer).
    let signed = RequestSigner::new("http://localhost:9000", ACCESS_KEY, SECRET_KEY).sign_headers(
        "PUT",
        "/b/k",
        &[],
        b"",
        &PayloadSigning::Unsigned,
        SystemTime::now(),
    );
    let mut builder = http::Request::builder()
        .method("PUT")
        .uri("/b/k")
        .header("host", "localhost:9000");
    for (name, value) in &signed.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let reply = h
        .dispatch(
            builder
                .body(http_body_util::Full::new(Bytes::from_static(b"abc")))
                .unwrap(),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::LENGTH_REQUIRED,
        "{}",
        reply.text()
    );
    assert_eq!(reply.error_code().as_deref(), Some("MissingContentLength"));
}

#[allow(dead_code)]
fn handle_future_is_send<S>(state: Arc<AppState<S>>, request: Request<http_body_util::Full<Bytes>>)
where
    S: ObjectStore + Catalog + MultipartStore + Maintenance + 'static,
{
    fn assert_send<T: Send>(_: &T) {}
    let future = handle(state, request);
    assert_send(&future);
}

#[tokio::test]
async fn conditional_puts_refuse_to_overwrite() {
    let h = Harness::new();
    h.create_bucket("b").await;
    let first = h
        .send("PUT", "/b/k", &[("if-none-match", "*")], b"one")
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let second = h
        .send("PUT", "/b/k", &[("if-none-match", "*")], b"two")
        .await;
    assert_eq!(second.status, StatusCode::PRECONDITION_FAILED);
    let etag = first.header("etag").unwrap().to_string();
    assert_eq!(
        h.send("PUT", "/b/k", &[("if-match", "\"other\"")], b"two")
            .await
            .status,
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(
        h.send("PUT", "/b/k", &[("if-match", &etag)], b"two")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        h.send("PUT", "/b/new", &[("if-match", &etag)], b"x")
            .await
            .error_code()
            .as_deref(),
        Some("NoSuchKey")
    );
}

#[tokio::test]
async fn responses_carry_the_operation_for_metrics() {
    let h = Harness::new();
    let request = http::Request::get("/")
        .header("host", "localhost")
        .body(http_body_util::Full::new(Bytes::new()))
        .unwrap();
    let response = handle(h.state.clone(), request).await;
    assert_eq!(
        response.extensions().get::<Operation>(),
        Some(&Operation("ListBuckets"))
    );
    let request = http::Request::put("/")
        .header("host", "localhost")
        .body(http_body_util::Full::new(Bytes::new()))
        .unwrap();
    let response = handle(h.state.clone(), request).await;
    assert_eq!(
        response.extensions().get::<Operation>(),
        Some(&Operation("Unrouted"))
    );
}

#[tokio::test]
async fn body_bytes_are_counted_in_and_out() {
    let h = Harness::new();
    h.create_bucket("b").await;
    h.put("/b/k", &[7u8; 1000]).await;
    let reply = h.send("GET", "/b/k", &[], b"").await;
    assert_eq!(reply.body.len(), 1000);
    let metrics = h.state.metrics.render(&[]);
    let counter = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(counter("minnow_rx_bytes_total "), 1000);
    assert!(counter("minnow_tx_bytes_total ") >= 1000);
}

#[tokio::test]
async fn server_side_encryption_is_not_implemented() {
    let h = Harness::new();
    h.create_bucket("b").await;
    let reply = h
        .send(
            "PUT",
            "/b/k",
            &[("x-amz-server-side-encryption", "AES256")],
            b"x",
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_IMPLEMENTED);
    assert!(!h.store().has_object("b", "k"));
    let reply = h
        .send(
            "GET",
            "/b/k",
            &[("x-amz-server-side-encryption-customer-algorithm", "AES256")],
            b"",
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_IMPLEMENTED);
}

#[tokio::test]
async fn list_buckets_filters_by_prefix() {
    let h = Harness::new();
    h.create_bucket("logs-a").await;
    h.create_bucket("data").await;
    let reply = h.send("GET", "/?prefix=logs", &[], b"").await;
    assert!(
        reply.text().contains("<Name>logs-a</Name>") && !reply.text().contains("<Name>data</Name>"),
        "{}",
        reply.text()
    );
}

#[tokio::test]
async fn list_uploads_groups_keys_by_delimiter() {
    let h = Harness::new();
    h.create_bucket("b").await;
    for key in ["dir/a", "dir/b", "top", "é/x"] {
        let reply = h
            .send(
                "POST",
                &format!("/b/{}?uploads", key.replace('é', "%C3%A9")),
                &[],
                b"",
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let reply = h.send("GET", "/b?uploads&delimiter=%2F", &[], b"").await;
    let text = reply.text();
    assert!(
        text.contains("<CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes>"),
        "{text}"
    );
    assert!(
        text.contains("<Key>top</Key>") && !text.contains("<Key>dir/a</Key>"),
        "{text}"
    );
    let reply = h
        .send("GET", "/b?uploads&delimiter=%2F&prefix=%C3%A9", &[], b"")
        .await;
    assert!(
        reply.text().contains("<Prefix>é/</Prefix>"),
        "{}",
        reply.text()
    );
}

// ---------------------------------------------------------------------------
// Access control

#[tokio::test]
async fn user_policies_decide_each_operation() {
    let h = Harness::new();
    h.create_bucket("b").await;
    h.put("/b/k", b"data").await;
    let iam = &h.state.iam;
    iam.add_user("reader", "reader-secret").await.unwrap();
    iam.set_policy("reader", "readonly", true).await.unwrap();
    iam.add_user("writer", "writer-secret").await.unwrap();
    iam.set_policy("writer", "writeonly", true).await.unwrap();

    let as_reader = |method: &'static str, uri: &'static str| {
        h.send_as("reader", "reader-secret", method, uri, &[], b"")
    };
    assert_eq!(as_reader("GET", "/b/k").await.status, StatusCode::OK);
    assert_eq!(as_reader("HEAD", "/b/k").await.status, StatusCode::OK);
    for (method, uri) in [
        ("PUT", "/b/k2"),
        ("DELETE", "/b/k"),
        ("GET", "/b"),
        ("GET", "/"),
    ] {
        let reply = as_reader(method, uri).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {uri}");
        if method != "HEAD" {
            assert_eq!(reply.error_code().as_deref(), Some("AccessDenied"));
        }
    }
    let reply = h
        .send_as("writer", "writer-secret", "PUT", "/b/new", &[], b"x")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let reply = h
        .send_as("writer", "writer-secret", "GET", "/b/new", &[], b"")
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // A copy needs read access to the source as well.
    let reply = h
        .send_as(
            "writer",
            "writer-secret",
            "PUT",
            "/b/copy",
            &[("x-amz-copy-source", "/b/k")],
            b"",
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    iam.set_enabled("reader", false).await.unwrap();
    assert_eq!(as_reader("GET", "/b/k").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bucket_policies_open_prefixes_to_anonymous_readers() {
    let h = Harness::new();
    h.create_bucket("b").await;
    h.put("/b/public/a.txt", b"a").await;
    h.put("/b/private/b.txt", b"b").await;
    assert_eq!(
        h.anonymous("GET", "/b/public/a.txt").await.status,
        StatusCode::FORBIDDEN
    );
    let policy = iam::policy::canned_bucket_policy("download", "b", "public/")
        .unwrap()
        .to_json();
    let reply = h.send("PUT", "/b?policy", &[], policy.as_bytes()).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    assert_eq!(
        h.anonymous("GET", "/b/public/a.txt").await.status,
        StatusCode::OK
    );
    for (method, uri) in [
        ("GET", "/b/private/b.txt"),
        ("GET", "/b"),
        ("PUT", "/b/public/new.txt"),
        ("DELETE", "/b/public/a.txt"),
        ("GET", "/missing/public/a.txt"),
    ] {
        let reply = h.anonymous(method, uri).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {uri}");
        assert_eq!(reply.error_code().as_deref(), Some("AccessDenied"));
    }
}

#[tokio::test]
async fn cdn_host_requests_are_anonymous_reads_of_public_objects() {
    let mut h = Harness::new();
    let state = Arc::get_mut(&mut h.state).expect("not shared yet");
    state.config.cdn_hosts = vec!["cdn.example.app".to_string()];
    h.create_bucket("b").await;
    h.put("/b/img/a.png", b"png").await;
    let cdn = |method: &'static str, uri: &'static str| {
        let request = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "cdn.example.app")
            .body(http_body_util::Full::new(Bytes::new()))
            .unwrap();
        h.dispatch(request)
    };
    assert_eq!(
        cdn("GET", "/b/img/a.png").await.status,
        StatusCode::FORBIDDEN
    );
    let policy = iam::policy::canned_bucket_policy("download", "b", "img/")
        .unwrap()
        .to_json();
    h.send("PUT", "/b?policy", &[], policy.as_bytes()).await;
    let reply = cdn("GET", "/b/img/a.png").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body.as_ref(), b"png");
    assert_eq!(reply.header("content-type"), Some("image/png"));
    assert_eq!(
        reply.header("cache-control"),
        Some(crate::cdn::DEFAULT_CACHE_CONTROL)
    );
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        cdn("GET", "/b/img/none.png").await.status,
        StatusCode::FORBIDDEN
    );
    let put = cdn("PUT", "/b/img/a.png").await;
    assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(put.header("allow"), Some("GET, HEAD, OPTIONS"));
    assert_eq!(
        cdn("OPTIONS", "/b/img/a.png").await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn health_needs_no_signature_and_metrics_need_root_unless_public() {
    let h = Harness::new();
    assert_eq!(
        h.anonymous("GET", "/minio/health/live").await.status,
        StatusCode::OK
    );
    h.send("GET", "/", &[], b"").await;
    // As MinIO without MINIO_PROMETHEUS_AUTH_TYPE=public: scrapes authenticate.
    for path in ["/minio/v2/metrics/cluster", "/metrics"] {
        let anonymous = h.anonymous("GET", path).await;
        assert_eq!(anonymous.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(anonymous.error_code().as_deref(), Some("AccessDenied"));
    }
    let token = super::metrics_auth::prometheus_token(
        ACCESS_KEY,
        SECRET_KEY,
        Duration::from_secs(60),
        SystemTime::now(),
    );
    let bearer = format!("Bearer {token}");
    let with_token = h
        .send_unsigned("GET", "/metrics", &[("authorization", bearer.as_str())])
        .await;
    assert_eq!(with_token.status, StatusCode::OK, "{}", with_token.text());
    let forged = super::metrics_auth::prometheus_token(
        ACCESS_KEY,
        "not-the-secret",
        Duration::from_secs(60),
        SystemTime::now(),
    );
    let bearer = format!("Bearer {forged}");
    let with_forged = h
        .send_unsigned("GET", "/metrics", &[("authorization", bearer.as_str())])
        .await;
    assert_eq!(with_forged.status, StatusCode::FORBIDDEN);
    let metrics = h.send("GET", "/minio/v2/metrics/cluster", &[], b"").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(metrics
        .text()
        .contains("minnow_requests_total{operation=\"ListBuckets\",status=\"200\"} 1"));
    assert!(metrics.text().contains("minnow_drives_online"));
}

#[tokio::test]
async fn public_metrics_need_no_signature() {
    let h = Harness::with_config(|config| {
        config.metrics_auth = super::metrics_auth::MetricsAuth::Public;
    });
    let metrics = h.anonymous("GET", "/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(metrics.text().contains("minnow_drives_online"));
}

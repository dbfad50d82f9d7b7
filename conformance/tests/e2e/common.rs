//! Helpers shared by the scenario modules: the per-module shared server, bucket and object
//! shortcuts, and "nothing partial is visible" checks.

#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::SystemTime;

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use aws_smithy_runtime_api::http::Response as HttpResponse;

use conformance::raw_http::send_with_headers;
use conformance::{PayloadSigning, RawResponse, TestServer};
use md5::{Digest, Md5};

/// The module's shared server, started on first use (statics are never dropped; the server's
/// watchdog kills it when the test process exits).
pub fn shared_server(cell: &'static OnceLock<TestServer>) -> &'static TestServer {
    cell.get_or_init(|| TestServer::start().expect("starting the shared test server"))
}

pub async fn create_bucket(client: &Client, bucket: &str) {
    client
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create bucket {bucket}: {e:?}"));
}

pub async fn put_bytes(client: &Client, bucket: &str, key: &str, data: &[u8]) -> String {
    let output = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {bucket}/{key} ({} bytes): {e:?}", data.len()));
    output.e_tag().unwrap_or_default().to_string()
}

pub async fn get_bytes(client: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let output = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {bucket}/{key}: {e:?}"));
    output
        .body
        .collect()
        .await
        .unwrap_or_else(|e| panic!("reading body of {bucket}/{key}: {e:?}"))
        .into_bytes()
        .to_vec()
}

/// Asserts that no object (not even a partial one) is visible under `key`: HeadObject is 404
/// and listing with the key as prefix does not show it.
pub async fn assert_object_absent(client: &Client, bucket: &str, key: &str) {
    match client.head_object().bucket(bucket).key(key).send().await {
        Ok(head) => panic!(
            "{bucket}/{key} should not exist, but HeadObject found {} bytes",
            head.content_length().unwrap_or(-1)
        ),
        Err(error) => assert_eq!(
            status_of(&error),
            Some(404),
            "HeadObject {bucket}/{key}: expected 404, got {error:?}"
        ),
    }
    let listed = list_keys(client, bucket, key).await;
    assert!(
        !listed.iter().any(|k| k == key),
        "{bucket}/{key} is listed but should not exist: {listed:?}"
    );
}

pub use conformance::sdk::list_keys;

/// HTTP status of an SDK error, if a response arrived.
pub fn status_of<E>(error: &SdkError<E, HttpResponse>) -> Option<u16> {
    error.raw_response().map(|r| r.status().as_u16())
}

pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

/// The ETag S3 gives a single-part object: the quoted hex MD5 of its content.
pub fn single_part_etag(data: &[u8]) -> String {
    format!("\"{}\"", md5_hex(data))
}

/// Percent-encodes an object key for a raw request path (keeps `/`), as SigV4 expects.
pub fn encode_key(key: &str) -> String {
    let mut out = String::new();
    for byte in key.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Deletes every object and the bucket; used only against external endpoints so repeated runs
/// leave no garbage (a spawned server's drives are temporary anyway).
pub async fn cleanup_bucket(server: &TestServer, client: &Client, bucket: &str) {
    if !server.is_external() {
        return;
    }
    for key in list_keys(client, bucket, "").await {
        let _ = client.delete_object().bucket(bucket).key(&key).send().await;
    }
    let _ = client.delete_bucket().bucket(bucket).send().await;
}

/// Headers for a signed aws-chunked PUT with a CRC32 trailer, as aws-sdk-s3 sends over http://.
/// Content-Length is left unsigned so framing tests can change the body's length.
pub fn aws_chunked_headers(decoded_length: usize) -> Vec<(String, String)> {
    vec![
        ("content-encoding".to_string(), "aws-chunked".to_string()),
        (
            "x-amz-decoded-content-length".to_string(),
            decoded_length.to_string(),
        ),
        (
            "x-amz-trailer".to_string(),
            "x-amz-checksum-crc32".to_string(),
        ),
        (
            "x-amz-sdk-checksum-algorithm".to_string(),
            "CRC32".to_string(),
        ),
    ]
}

/// Sends a correctly signed aws-chunked PUT (64 KiB chunks, CRC32 trailer) after letting the
/// caller tamper with the encoded body; `decoded_length` overrides the declared decoded length.
pub async fn send_aws_chunked_put_with(
    server: &TestServer,
    path: &str,
    payload: &[u8],
    decoded_length: usize,
    trailer_crc32: &str,
    tamper: impl FnOnce(&mut Vec<u8>),
) -> RawResponse {
    let signer = server.signer();
    let time = SystemTime::now();
    let signed = signer.sign_headers(
        "PUT",
        path,
        &aws_chunked_headers(decoded_length),
        &[],
        &PayloadSigning::StreamingSignedTrailer,
        time,
    );
    let mut body = signer.aws_chunked_signed_body(
        payload,
        64 * 1024,
        &signed.signature,
        time,
        Some(("x-amz-checksum-crc32", trailer_crc32)),
    );
    tamper(&mut body);
    within(
        RESPONSE_DEADLINE,
        "aws-chunked PUT",
        send_with_headers(server, "PUT", path, &signed.headers, body),
    )
    .await
    .expect("sending aws-chunked PUT")
}

/// How long a failure test waits for the server's answer before calling it a hang.
pub const RESPONSE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// Awaits `future`, failing the test with `what` if no answer comes within `deadline`.
pub async fn within<T>(
    deadline: std::time::Duration,
    what: &str,
    future: impl std::future::Future<Output = T>,
) -> T {
    match tokio::time::timeout(deadline, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: no response within {deadline:?} (server hung?)"),
    }
}

/// [`send_aws_chunked_put_with`] with the true decoded length.
pub async fn send_aws_chunked_put(
    server: &TestServer,
    path: &str,
    payload: &[u8],
    trailer_crc32: &str,
    tamper: impl FnOnce(&mut Vec<u8>),
) -> RawResponse {
    send_aws_chunked_put_with(server, path, payload, payload.len(), trailer_crc32, tamper).await
}

/// Observe-only SDK interceptor that records the headers of every request it sees on the wire,
/// so tests can prove which encoding the default SDK really used.
#[derive(Clone, Debug, Default)]
pub struct WireHeaders {
    seen: std::sync::Arc<std::sync::Mutex<Vec<HeaderList>>>,
}

type HeaderList = Vec<(String, String)>;

impl WireHeaders {
    /// Headers of the last request sent (lowercase names).
    pub fn last(&self) -> Vec<(String, String)> {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or_default()
    }

    /// Value of `name` in the last request.
    pub fn last_value(&self, name: &str) -> Option<String> {
        self.last()
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

impl aws_sdk_s3::config::Intercept for WireHeaders {
    fn name(&self) -> &'static str {
        "WireHeaders"
    }

    fn read_before_transmit(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let headers = context
            .request()
            .headers()
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        self.seen.lock().unwrap().push(headers);
        Ok(())
    }
}

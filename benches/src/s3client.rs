//! A lean S3 client for load generation: one HTTP/1.1 connection per worker
//! (hyper's connection-level client, kept alive and reused), SigV4 header
//! signing with `UNSIGNED-PAYLOAD` (aws-sigv4), bodies sliced from the shared
//! payload buffer, response bodies drained without copying.

use std::sync::Arc;
use std::time::SystemTime;

use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tokio::net::TcpStream;

use crate::payload::PayloadBody;

/// Everything but RFC 3986 unreserved characters and `/` is escaped in keys.
const KEY_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');
/// Query values escape `/` too.
const QUERY_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Error bodies longer than this are not read (only the `<Code>` matters).
const MAX_ERROR_BODY: usize = 64 << 10;

/// A failed operation, keyed by the S3 error code (or a transport class).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}")]
pub struct OpError {
    pub code: String,
}

impl OpError {
    pub fn new(code: impl Into<String>) -> Self {
        Self { code: code.into() }
    }
}

/// Where to send requests and how to sign them.
pub struct S3Config {
    /// `host:port`, sent as the Host header.
    pub authority: String,
    pub region: String,
    identity: Identity,
    settings: SigningSettings,
    /// Sign requests at all (false for the plain-HTTP floor, which ignores auth
    /// but still pays the client's signing cost when true).
    pub sign: bool,
}

impl S3Config {
    /// `endpoint` is `http://host:port` (TLS is not supported: the bench
    /// measures servers, not TLS stacks).
    pub fn new(
        endpoint: &str,
        access_key: &str,
        secret_key: &str,
        region: &str,
    ) -> Result<Self, String> {
        let rest = endpoint
            .strip_prefix("http://")
            .ok_or_else(|| format!("endpoint {endpoint:?} must start with http://"))?;
        let authority = rest.trim_end_matches('/').to_string();
        if authority.is_empty() || authority.contains('/') {
            return Err(format!(
                "endpoint {endpoint:?} must be http://host:port with no path"
            ));
        }
        let identity: Identity =
            aws_credential_types::Credentials::new(access_key, secret_key, None, None, "bench")
                .into();
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        Ok(Self {
            authority,
            region: region.to_string(),
            identity,
            settings,
            sign: true,
        })
    }

    /// Adds SigV4 headers (`x-amz-date`, `Authorization`) for an
    /// `UNSIGNED-PAYLOAD` request that already carries its Host header.
    pub fn sign_request<B>(&self, req: &mut Request<B>) -> Result<(), OpError> {
        self.sign_request_as(req, SignableBody::UnsignedPayload)
    }

    /// Like [`S3Config::sign_request`] with another payload mode (e.g.
    /// `StreamingUnsignedPayloadTrailer` for aws-chunked bodies).
    pub fn sign_request_as<B>(
        &self,
        req: &mut Request<B>,
        payload: SignableBody<'_>,
    ) -> Result<(), OpError> {
        let cfg = self;
        let url = format!("http://{}{}", cfg.authority, req.uri());
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&cfg.identity)
            .region(&cfg.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(cfg.settings.clone())
            .build()
            .map_err(|_| OpError::new("SigningError"))?
            .into();
        let header_pairs: Vec<(&str, &str)> = req
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
            .collect();
        let signable = SignableRequest::new(
            req.method().as_str(),
            url,
            header_pairs.into_iter(),
            payload,
        )
        .map_err(|_| OpError::new("SigningError"))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|_| OpError::new("SigningError"))?
            .into_parts();
        instructions.apply_to_request_http1x(req);
        Ok(())
    }

    fn socket_addr(&self) -> String {
        if self.authority.contains(':') {
            self.authority.clone()
        } else {
            format!("{}:80", self.authority)
        }
    }
}

/// The escaped request path for `bucket` and optional `key`.
pub fn object_path(bucket: &str, key: &str) -> String {
    if key.is_empty() {
        format!("/{bucket}")
    } else {
        format!("/{bucket}/{}", utf8_percent_encode(key, KEY_ESCAPE))
    }
}

/// One escaped query parameter value.
pub fn query_value(v: &str) -> String {
    utf8_percent_encode(v, QUERY_ESCAPE).to_string()
}

/// One keep-alive connection owned by one worker.
pub struct S3Conn {
    config: Arc<S3Config>,
    sender: Option<SendRequest<PayloadBody>>,
}

impl S3Conn {
    pub fn new(config: Arc<S3Config>) -> Self {
        Self {
            config,
            sender: None,
        }
    }

    async fn connect(&mut self) -> Result<&mut SendRequest<PayloadBody>, OpError> {
        let needs_new = match &mut self.sender {
            Some(s) => s.ready().await.is_err(),
            None => true,
        };
        if needs_new {
            let stream = TcpStream::connect(self.config.socket_addr())
                .await
                .map_err(|_| OpError::new("ConnectError"))?;
            let _ = stream.set_nodelay(true);
            let (sender, conn) = hyper::client::conn::http1::Builder::new()
                .handshake(TokioIo::new(stream))
                .await
                .map_err(|_| OpError::new("ConnectError"))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("connected above"))
    }

    /// Sends one signed request. `path_and_query` is already escaped.
    pub async fn send(
        &mut self,
        method: Method,
        path_and_query: &str,
        headers: &[(&'static str, String)],
        body: PayloadBody,
    ) -> Result<Response<Incoming>, OpError> {
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(path_and_query)
            .header(http::header::HOST, &self.config.authority)
            .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
        if !body.is_empty() || method == Method::PUT || method == Method::POST {
            builder = builder.header(http::header::CONTENT_LENGTH, body.len());
        }
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        let mut req = builder
            .body(body)
            .map_err(|_| OpError::new("BadRequestBuild"))?;
        if self.config.sign {
            self.config.sign_request(&mut req)?;
        }
        let sender = self.connect().await?;
        match sender.send_request(req).await {
            Ok(resp) => Ok(resp),
            Err(e) => {
                self.sender = None;
                Err(OpError::new(if e.is_timeout() {
                    "Timeout"
                } else {
                    "ConnectionError"
                }))
            }
        }
    }
}

/// Drains a response body, returning the number of bytes received.
pub async fn drain(resp: Response<Incoming>) -> Result<u64, OpError> {
    let mut body = resp.into_body();
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| OpError::new("ConnectionError"))?;
        if let Some(data) = frame.data_ref() {
            total += data.len() as u64;
        }
    }
    Ok(total)
}

/// Reads a (small) response body into memory.
pub async fn read_small(resp: Response<Incoming>) -> Result<Bytes, OpError> {
    let mut body = resp.into_body();
    let mut out = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| OpError::new("ConnectionError"))?;
        if let Some(data) = frame.data_ref() {
            if out.len() < MAX_ERROR_BODY * 256 {
                out.extend_from_slice(data);
            }
        }
    }
    Ok(out.freeze())
}

/// Turns a non-2xx response into an `OpError` named by its S3 `<Code>`.
pub async fn error_of(resp: Response<Incoming>) -> OpError {
    let status = resp.status();
    match read_small(resp).await {
        Ok(body) => error_from_body(status, &body),
        Err(e) => e,
    }
}

/// `<Code>NoSuchKey</Code>` → `NoSuchKey`; no body (HEAD) → `HTTP 404`.
pub fn error_from_body(status: StatusCode, body: &[u8]) -> OpError {
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_ERROR_BODY)]);
    match xml_tag(&text, "Code") {
        Some(code) if !code.is_empty() => OpError::new(code),
        _ => OpError::new(format!("HTTP {}", status.as_u16())),
    }
}

/// The text of the first `<tag>…</tag>` in `xml`.
pub fn xml_tag<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

/// Typed S3 operations on top of a connection.
impl S3Conn {
    /// PUT of a whole object; returns the bytes sent.
    pub async fn put_object(
        &mut self,
        bucket: &str,
        key: &str,
        body: PayloadBody,
    ) -> Result<u64, OpError> {
        let len = body.len();
        let resp = self
            .send(Method::PUT, &object_path(bucket, key), &[], body)
            .await?;
        if !resp.status().is_success() {
            return Err(error_of(resp).await);
        }
        drain(resp).await?;
        Ok(len)
    }

    /// GET of a whole object; returns the bytes received.
    pub async fn get_object(&mut self, bucket: &str, key: &str) -> Result<u64, OpError> {
        let resp = self
            .send(
                Method::GET,
                &object_path(bucket, key),
                &[],
                PayloadBody::empty(),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(error_of(resp).await);
        }
        let expected = content_length(&resp);
        let got = drain(resp).await?;
        if expected.is_some_and(|n| n != got) {
            return Err(OpError::new("ShortBody"));
        }
        Ok(got)
    }

    pub async fn head_object(&mut self, bucket: &str, key: &str) -> Result<u64, OpError> {
        let resp = self
            .send(
                Method::HEAD,
                &object_path(bucket, key),
                &[],
                PayloadBody::empty(),
            )
            .await?;
        let status = resp.status();
        drain(resp).await?;
        if !status.is_success() {
            return Err(OpError::new(format!("HTTP {}", status.as_u16())));
        }
        Ok(0)
    }

    pub async fn delete_object(&mut self, bucket: &str, key: &str) -> Result<u64, OpError> {
        let resp = self
            .send(
                Method::DELETE,
                &object_path(bucket, key),
                &[],
                PayloadBody::empty(),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(error_of(resp).await);
        }
        drain(resp).await?;
        Ok(0)
    }

    /// Creates `bucket`; a bucket we already own counts as success.
    pub async fn create_bucket(&mut self, bucket: &str) -> Result<(), OpError> {
        let resp = self
            .send(
                Method::PUT,
                &object_path(bucket, ""),
                &[],
                PayloadBody::empty(),
            )
            .await?;
        if resp.status().is_success() {
            drain(resp).await?;
            return Ok(());
        }
        let err = error_of(resp).await;
        if err.code == "BucketAlreadyOwnedByYou" {
            Ok(())
        } else {
            Err(err)
        }
    }

    /// Lists every key under `prefix` (ListObjectsV2, 1000 per page);
    /// returns the number of keys.
    pub async fn list_all(&mut self, bucket: &str, prefix: &str) -> Result<u64, OpError> {
        let mut token: Option<String> = None;
        let mut keys = 0u64;
        loop {
            let mut pq = format!(
                "/{bucket}?list-type=2&max-keys=1000&prefix={}",
                query_value(prefix)
            );
            if let Some(t) = &token {
                pq = format!(
                    "/{bucket}?continuation-token={}&list-type=2&max-keys=1000&prefix={}",
                    query_value(t),
                    query_value(prefix)
                );
            }
            let resp = self
                .send(Method::GET, &pq, &[], PayloadBody::empty())
                .await?;
            if !resp.status().is_success() {
                return Err(error_of(resp).await);
            }
            let body = read_small(resp).await?;
            let text = String::from_utf8_lossy(&body);
            keys += text.matches("<Key>").count() as u64;
            let truncated = xml_tag(&text, "IsTruncated") == Some("true");
            token = xml_tag(&text, "NextContinuationToken").map(str::to_string);
            if !truncated || token.is_none() {
                return Ok(keys);
            }
        }
    }

    /// One ListObjectsV2 page (max-keys 1000) after `start_after`; returns
    /// the number of keys.
    pub async fn list_page(
        &mut self,
        bucket: &str,
        prefix: &str,
        start_after: &str,
    ) -> Result<u64, OpError> {
        let pq = format!(
            "/{bucket}?list-type=2&max-keys=1000&prefix={}&start-after={}",
            query_value(prefix),
            query_value(start_after)
        );
        let resp = self
            .send(Method::GET, &pq, &[], PayloadBody::empty())
            .await?;
        if !resp.status().is_success() {
            return Err(error_of(resp).await);
        }
        let body = read_small(resp).await?;
        Ok(String::from_utf8_lossy(&body).matches("<Key>").count() as u64)
    }

    /// A whole multipart upload: create, upload `size` bytes in parts of
    /// `part_size` (one after another), complete. Returns the bytes sent.
    pub async fn multipart_upload(
        &mut self,
        bucket: &str,
        key: &str,
        size: u64,
        part_size: u64,
        mut part_body: impl FnMut(u32, u64) -> PayloadBody,
    ) -> Result<u64, OpError> {
        let path = object_path(bucket, key);
        let resp = self
            .send(
                Method::POST,
                &format!("{path}?uploads"),
                &[],
                PayloadBody::empty(),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(error_of(resp).await);
        }
        let body = read_small(resp).await?;
        let upload_id = xml_tag(&String::from_utf8_lossy(&body), "UploadId")
            .ok_or_else(|| OpError::new("NoUploadId"))?
            .to_string();
        let upload_q = query_value(&upload_id);
        let mut etags = Vec::new();
        let mut sent = 0u64;
        let mut number = 1u32;
        while sent < size || number == 1 {
            let len = part_size.min(size - sent);
            let resp = self
                .send(
                    Method::PUT,
                    &format!("{path}?partNumber={number}&uploadId={upload_q}"),
                    &[],
                    part_body(number, len),
                )
                .await?;
            if !resp.status().is_success() {
                return Err(error_of(resp).await);
            }
            let etag = resp
                .headers()
                .get(http::header::ETAG)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            drain(resp).await?;
            etags.push((number, etag));
            sent += len;
            number += 1;
        }
        let mut xml = String::from("<CompleteMultipartUpload>");
        for (n, etag) in &etags {
            xml.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        let resp = self
            .send(
                Method::POST,
                &format!("{path}?uploadId={upload_q}"),
                &[],
                PayloadBody::from_bytes(Bytes::from(xml)),
            )
            .await?;
        let status = resp.status();
        let body = read_small(resp).await?;
        // CompleteMultipartUpload may fail with 200 and an <Error> body.
        if !status.is_success() || String::from_utf8_lossy(&body).contains("<Error>") {
            return Err(error_from_body(status, &body));
        }
        Ok(sent)
    }
}

fn content_length(resp: &Response<Incoming>) -> Option<u64> {
    resp.headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_come_from_the_xml_body_or_the_status() {
        let body =
            b"<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>x</Message></Error>";
        assert_eq!(
            error_from_body(StatusCode::NOT_FOUND, body).code,
            "NoSuchBucket"
        );
        assert_eq!(error_from_body(StatusCode::NOT_FOUND, b"").code, "HTTP 404");
    }

    #[test]
    fn keys_are_escaped_but_keep_slashes() {
        assert_eq!(object_path("b", "a b/c+d"), "/b/a%20b/c%2Bd");
        assert_eq!(object_path("b", ""), "/b");
        assert_eq!(query_value("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn endpoint_must_be_plain_http() {
        assert!(S3Config::new("https://x:1", "a", "b", "us-east-1").is_err());
        assert!(S3Config::new("http://127.0.0.1:9000/", "a", "b", "us-east-1").is_ok());
        assert!(S3Config::new("http://127.0.0.1:9000/p", "a", "b", "us-east-1").is_err());
    }
}

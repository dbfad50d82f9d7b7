//! The console's way to the S3 and admin APIs: every call is SigV4-signed
//! with the signed-in identity's own credentials, so the server decides
//! what the identity may do. Small documents are signed with their SHA-256;
//! object bodies stream both ways, signed `UNSIGNED-PAYLOAD` (the body is
//! not buffered to hash it). Share links are presigned here for the public
//! S3 URL. Error answers (S3 `<Error>` XML or RFC 9457 problem JSON) become
//! an [`UpstreamError::Api`] with the server's code and message.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use http::{header, HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use md5::{Digest, Md5};
use s3_client::sign::{presigned_url, sign_headers, Keys, Payload, SignError};
use s3_client::xml::read_error;

pub use s3_client::encode::{bucket_path, encode_query, encode_value, object_path};

/// A body on its way to the S3 API.
pub type UpBody = BoxBody<Bytes, hyper::Error>;

/// Longest a share link may live: SigV4 presigned URLs allow seven days.
pub const MAX_SHARE_SECONDS: u64 = 7 * 24 * 3600;
/// Where minnow's admin API lives on the S3 port.
pub const ADMIN_PREFIX: &str = "/minnow/admin/v1/";
/// How long a document call may take.
const DOCUMENT_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest answer document read into memory.
const MAX_REPLY: usize = 16 * 1024 * 1024;

/// Why a call to the S3 or admin API failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The endpoint is not `http://host:port`, or a URL cannot be signed.
    #[error("invalid S3 endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// The URL in question.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No connection to the S3 API.
    #[error("cannot reach the S3 API at {endpoint}: {reason}")]
    Unreachable {
        /// The S3 API's base URL.
        endpoint: String,
        /// The innermost connection error.
        reason: String,
    },
    /// The S3 API did not answer in time.
    #[error("the S3 API did not answer within {} s", .0.as_secs())]
    Timeout(Duration),
    /// The server answered with an error: its S3 code (or problem slug) and message.
    #[error("{message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// S3 error code (`AccessDenied`) or problem slug (`access-denied`).
        code: String,
        /// The server's message, on one line.
        message: String,
    },
    /// An answer the console cannot read.
    #[error("unexpected answer from the S3 API: {0}")]
    InvalidResponse(String),
}

impl UpstreamError {
    /// The S3 code or problem slug of a server-side error.
    pub fn code(&self) -> Option<&str> {
        match self {
            UpstreamError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A successful answer to a document call.
#[derive(Debug)]
pub struct Reply {
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Where the S3 API is, for the console's own calls and for share links.
#[derive(Clone)]
pub struct Upstream {
    http: hyper_util::client::legacy::Client<HttpConnector, UpBody>,
    /// `http://host:port` of the local S3 API.
    base: String,
    /// Base URL share links point at (`MINIO_SERVER_URL`).
    public_base: String,
}

/// An access key and its secret, kept only in server memory.
#[derive(Clone)]
pub struct Identity {
    pub access_key: String,
    pub secret_key: String,
}

impl Identity {
    fn keys(&self) -> Keys<'_> {
        Keys {
            access_key: &self.access_key,
            secret_key: &self.secret_key,
        }
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

impl Upstream {
    /// `s3_endpoint` is `http://host:port` of the local S3 API; `public_url`
    /// the base share links use (defaults to the endpoint).
    pub fn new(s3_endpoint: &str, public_url: Option<&str>) -> Result<Upstream, UpstreamError> {
        let base = s3_endpoint.trim_end_matches('/').to_string();
        let uri: http::Uri =
            base.parse()
                .map_err(|e: http::uri::InvalidUri| UpstreamError::InvalidEndpoint {
                    endpoint: base.clone(),
                    reason: e.to_string(),
                })?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return Err(UpstreamError::InvalidEndpoint {
                endpoint: base,
                reason: "expected http://host:port (the local S3 API)".into(),
            });
        }
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build_http();
        let public_base = public_url
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_else(|| base.clone());
        Ok(Upstream {
            http,
            base,
            public_base,
        })
    }

    fn url(&self, path: &str, query: &str) -> String {
        if query.is_empty() {
            format!("{}{}", self.base, path)
        } else {
            format!("{}{}?{}", self.base, path, query)
        }
    }

    fn unreachable(&self, error: impl std::fmt::Display) -> UpstreamError {
        UpstreamError::Unreachable {
            endpoint: self.base.clone(),
            reason: error.to_string(),
        }
    }

    /// One signed document call; `path` and `query` already percent-encoded
    /// (see [`encode_query`]). Any non-2xx answer is an [`UpstreamError::Api`].
    pub async fn send(
        &self,
        identity: &Identity,
        method: Method,
        path: &str,
        query: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<Reply, UpstreamError> {
        self.send_within(
            identity,
            method,
            path,
            query,
            headers,
            body,
            DOCUMENT_TIMEOUT,
        )
        .await
    }

    /// [`Upstream::send`] with another time limit (heal runs long).
    #[allow(clippy::too_many_arguments)]
    pub async fn send_within(
        &self,
        identity: &Identity,
        method: Method,
        path: &str,
        query: &str,
        headers: &[(&str, String)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<Reply, UpstreamError> {
        let url = self.url(path, query);
        let signed = sign_headers(
            identity.keys(),
            method.as_str(),
            &url,
            headers,
            Payload::Bytes(&body),
            SystemTime::now(),
        )?;
        let mut builder = Request::builder().method(method).uri(&url);
        for (name, value) in headers {
            builder = builder.header(*name, value.as_str());
        }
        for (name, value) in signed {
            builder = builder.header(name, value);
        }
        let request = builder
            .body(Full::new(body).map_err(|never| match never {}).boxed())
            .map_err(|e| UpstreamError::InvalidResponse(format!("building the request: {e}")))?;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| self.unreachable(e))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_REPLY)
                .collect()
                .await
                .map_err(|e| UpstreamError::InvalidResponse(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok::<_, UpstreamError>((parts.status, parts.headers, body))
        };
        let (status, headers, body) = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| UpstreamError::Timeout(timeout))??;
        if status.is_success() {
            Ok(Reply { headers, body })
        } else {
            Err(error_from(status, &headers, &body))
        }
    }

    /// A document call carrying `document` with the Content-MD5 S3 wants
    /// for bucket configurations and batch deletes.
    pub async fn send_document(
        &self,
        identity: &Identity,
        method: Method,
        path: &str,
        query: &str,
        content_type: &str,
        document: Bytes,
    ) -> Result<Reply, UpstreamError> {
        let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&document));
        let headers = [
            ("content-md5", md5),
            ("content-type", content_type.to_string()),
        ];
        self.send(identity, method, path, query, &headers, document)
            .await
    }

    /// Sends a request whose body streams (uploads) or whose answer streams
    /// (downloads). Returns the answer whatever its status; read errors with
    /// [`streamed_error`].
    pub async fn stream(
        &self,
        identity: &Identity,
        method: Method,
        path: &str,
        query: &str,
        headers: &[(&str, String)],
        body: UpBody,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let url = self.url(path, query);
        // The signer adds `x-amz-content-sha256: UNSIGNED-PAYLOAD` itself.
        let signed = sign_headers(
            identity.keys(),
            method.as_str(),
            &url,
            headers,
            Payload::Unsigned,
            SystemTime::now(),
        )?;
        let mut builder = Request::builder().method(method).uri(&url);
        for (name, value) in headers {
            builder = builder.header(*name, value.as_str());
        }
        for (name, value) in signed {
            builder = builder.header(name, value);
        }
        let request = builder
            .body(body)
            .map_err(|e| UpstreamError::InvalidResponse(format!("building the request: {e}")))?;
        self.http
            .request(request)
            .await
            .map_err(|e| self.unreachable(e))
    }

    /// A presigned GET URL for `path` (encoded) on the public S3 URL,
    /// valid for `expires` (at most [`MAX_SHARE_SECONDS`]).
    pub fn presign_get(
        &self,
        identity: &Identity,
        path: &str,
        expires: Duration,
    ) -> Result<String, UpstreamError> {
        let url = format!("{}{}", self.public_base, path);
        Ok(presigned_url(
            identity.keys(),
            "GET",
            &url,
            expires,
            SystemTime::now(),
        )?)
    }
}

/// Reads the error of a streamed answer (its body is small).
pub async fn streamed_error(response: Response<Incoming>) -> UpstreamError {
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, 64 * 1024)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    error_from(parts.status, &parts.headers, &body)
}

/// An S3 `<Error>` document, an RFC 9457 problem document, or just the status.
fn error_from(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> UpstreamError {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let document = read_error(content_type, body).unwrap_or_default();
    let code = document.code.unwrap_or_else(|| {
        match status.as_u16() {
            403 => "AccessDenied",
            404 => "NotFound",
            _ => "",
        }
        .to_string()
    });
    let message = document
        .message
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("failed").to_string());
    UpstreamError::Api {
        status: status.as_u16(),
        code,
        message: message.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

impl From<SignError> for UpstreamError {
    fn from(error: SignError) -> Self {
        UpstreamError::InvalidEndpoint {
            endpoint: error.url,
            reason: format!("signing: {}", error.reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_s3_xml_and_problem_json() {
        let xml = b"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code>\
            <Message>Access Denied.</Message></Error>";
        match error_from(StatusCode::FORBIDDEN, &HeaderMap::new(), xml) {
            UpstreamError::Api { code, message, .. } => {
                assert_eq!(
                    (code.as_str(), message.as_str()),
                    ("AccessDenied", "Access Denied.")
                );
            }
            other => panic!("{other:?}"),
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "application/problem+json".parse().unwrap(),
        );
        let problem = br#"{"type":"urn:minnow:problem:access-denied","title":"Access denied","detail":"user may not list users"}"#;
        match error_from(StatusCode::FORBIDDEN, &headers, problem) {
            UpstreamError::Api { code, message, .. } => {
                assert_eq!(code, "access-denied");
                assert_eq!(message, "user may not list users");
            }
            other => panic!("{other:?}"),
        }
        match error_from(StatusCode::NOT_FOUND, &HeaderMap::new(), b"") {
            UpstreamError::Api { code, .. } => assert_eq!(code, "NotFound"),
            other => panic!("{other:?}"),
        }
    }
}

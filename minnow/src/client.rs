//! A small SigV4-signing HTTP client for the `minnow` CLI: the S3 bucket
//! calls the CLI needs (buckets, listing, batch delete, bucket policy,
//! lifecycle, CORS, multipart aborts) and minnow's admin API
//! ([`s3_api::admin`]). HTTP or HTTPS (rustls, the system's trusted roots;
//! `insecure` accepts any certificate, for self-signed test servers) over
//! hyper's pooled client; every request is signed with the SHA-256 of its
//! (small, buffered) body.
//!
//! Failures become a [`ClientError`] whose `Display` is one line meant for a
//! terminal: S3 `<Error>` XML and RFC 9457 problem documents are both read
//! for their code and message.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use md5::{Digest, Md5};
use s3_client::sign::{sign_headers, Keys, Payload};
use s3_client::xml::{read_error, DeleteResult, ListAllMyBucketsResult, ListBucketResult};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use s3_api::admin::{
    HealSummary, PolicyList, ServerInfo, StatusBody, UserList, UserView, ADMIN_PREFIX,
};

/// Where the CLI looks for the server when nothing is configured.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:9000";
pub use s3_client::encode::{
    bucket_path, encode_path, encode_query, encode_value as encode_query_value, object_path,
};
pub use s3_client::sign::SIGNING_REGION;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a call failed. `Display` is a single line.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint { endpoint: String, reason: String },
    #[error("cannot reach the server at {endpoint}: {reason}")]
    Unreachable { endpoint: String, reason: String },
    /// The server's certificate did not verify against the trusted roots.
    #[error(
        "the TLS certificate of {endpoint} was refused: {reason} (for a self-signed \
         certificate, trust its CA via SSL_CERT_FILE or pass --insecure)"
    )]
    UntrustedCertificate { endpoint: String, reason: String },
    #[error("the server at {endpoint} did not answer within {} s", timeout.as_secs())]
    Timeout { endpoint: String, timeout: Duration },
    /// The server answered with an error: S3 code (or problem type slug),
    /// and its message.
    #[error("{}", api_line(.status, .code, .message))]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("unexpected response from the server: {0}")]
    InvalidResponse(String),
}

fn api_line(status: &u16, code: &str, message: &str) -> String {
    let message = one_line(message);
    let lead = match code {
        "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "authentication-failed" => {
            "the server refused the credentials: "
        }
        _ => "",
    };
    if code.is_empty() {
        format!("{lead}{message} (HTTP {status})")
    } else {
        format!("{lead}{message} ({code}, HTTP {status})")
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl ClientError {
    /// The S3 code or problem slug of a server-side error.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status of a server-side error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Where the server is and who we are. Secrets never appear in `Debug`.
#[derive(Clone)]
pub struct ClientConfig {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub timeout: Duration,
    /// Accept any TLS certificate (self-signed, expired, another name).
    pub insecure: bool,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("endpoint", &self.endpoint)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("insecure", &self.insecure)
            .finish()
    }
}

/// The connection flags every client subcommand of the CLI shares.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// Server URL.
    #[arg(long, global = true, env = "MINNOW_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    pub endpoint: String,
    /// Access key [default: $MINNOW_ROOT_USER, $MINIO_ROOT_USER, minioadmin].
    #[arg(long, global = true)]
    pub access_key: Option<String>,
    /// Secret key [default: $MINNOW_ROOT_PASSWORD, $MINIO_ROOT_PASSWORD, minioadmin].
    #[arg(long, global = true)]
    pub secret_key: Option<String>,
    /// Accept any TLS certificate of an https:// endpoint (self-signed ones).
    #[arg(long, global = true)]
    pub insecure: bool,
}

impl ConnectionArgs {
    /// Resolves flags and environment into a configuration (root credentials
    /// from the same variables the server reads).
    pub fn config(&self) -> ClientConfig {
        let from_env = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        };
        ClientConfig {
            endpoint: self.endpoint.clone(),
            access_key: self
                .access_key
                .clone()
                .or_else(|| from_env(&["MINNOW_ROOT_USER", "MINIO_ROOT_USER"]))
                .unwrap_or_else(|| "minioadmin".to_string()),
            secret_key: self
                .secret_key
                .clone()
                .or_else(|| from_env(&["MINNOW_ROOT_PASSWORD", "MINIO_ROOT_PASSWORD"]))
                .unwrap_or_else(|| "minioadmin".to_string()),
            timeout: DEFAULT_TIMEOUT,
            insecure: self.insecure,
        }
    }

    /// A client for the resolved configuration.
    pub fn connect(&self) -> Result<Client, ClientError> {
        Client::new(self.config())
    }
}

/// A successful response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A bucket as `ListBuckets` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BucketEntry {
    pub name: String,
    /// ISO 8601, as the server sent it.
    pub created: String,
}

/// An object as `ListObjectsV2` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObjectEntry {
    pub key: String,
    pub size: u64,
    pub last_modified: String,
}

/// A page of `ListObjectsV2`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectPage {
    pub objects: Vec<ObjectEntry>,
    /// Pass back to get the next page; `None` on the last page.
    pub continuation: Option<String>,
}

/// An upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadEntry {
    pub key: String,
    pub upload_id: String,
    /// `Initiated` as the server wrote it (ISO 8601).
    pub initiated: String,
}

/// What a `DeleteObjects` call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOutcome {
    pub deleted: usize,
    /// `(key, code, message)` of each key the server could not delete.
    pub failed: Vec<(String, String, String)>,
}

/// A per-bucket configuration the S3 API stores as a sub-resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketConfig {
    Policy,
    Lifecycle,
    Cors,
}

impl BucketConfig {
    fn query(self) -> &'static str {
        match self {
            BucketConfig::Policy => "policy",
            BucketConfig::Lifecycle => "lifecycle",
            BucketConfig::Cors => "cors",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            BucketConfig::Policy => "application/json",
            BucketConfig::Lifecycle | BucketConfig::Cors => "application/xml",
        }
    }

    /// The S3 codes that mean "this bucket has no such configuration".
    pub fn missing_code(self) -> &'static str {
        match self {
            BucketConfig::Policy => "NoSuchBucketPolicy",
            BucketConfig::Lifecycle => "NoSuchLifecycleConfiguration",
            BucketConfig::Cors => "NoSuchCORSConfiguration",
        }
    }
}

/// The signed client.
#[derive(Clone)]
pub struct Client {
    http: hyper_util::client::legacy::Client<Connector, Full<Bytes>>,
    config: ClientConfig,
    /// `scheme://authority` without a trailing slash.
    base: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .finish()
    }
}

impl Client {
    /// A client for `config.endpoint` (`http://host:port` or `https://host:port`).
    pub fn new(config: ClientConfig) -> Result<Client, ClientError> {
        let invalid = |reason: &str| ClientError::InvalidEndpoint {
            endpoint: config.endpoint.clone(),
            reason: reason.to_string(),
        };
        let uri: http::Uri = config
            .endpoint
            .parse()
            .map_err(|e: http::uri::InvalidUri| invalid(&e.to_string()))?;
        let scheme = match uri.scheme_str() {
            Some(scheme @ ("http" | "https")) => scheme,
            _ => return Err(invalid("expected http://host:port or https://host:port")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| invalid("expected http://host:port or https://host:port"))?;
        let base = format!("{scheme}://{authority}");
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(config.insecure))
            .https_or_http()
            .enable_http1()
            .build();
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Client { http, config, base })
    }

    /// The endpoint as configured.
    pub fn endpoint(&self) -> &str {
        &self.config.endpoint
    }

    /// The same server with other credentials.
    pub fn with_credentials(&self, access_key: &str, secret_key: &str) -> Client {
        let mut other = self.clone();
        other.config.access_key = access_key.to_string();
        other.config.secret_key = secret_key.to_string();
        other
    }

    /// The same client with another per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.config.timeout = timeout;
        self
    }

    /// Sends one signed request. `path` and `query` must already be
    /// percent-encoded (see [`encode_path`], [`encode_query_value`]).
    /// Any non-2xx answer becomes [`ClientError::Api`].
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        query: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<Reply, ClientError> {
        self.send(method, path, query, headers, body, true).await
    }

    /// [`Client::request`] with the body sent as `UNSIGNED-PAYLOAD`, for
    /// object bodies whose integrity a signed `Content-MD5` or
    /// `x-amz-checksum-crc32c` header carries instead, which the server
    /// checks: the body is not also SHA-256'd on both ends.
    pub async fn request_unsigned(
        &self,
        method: Method,
        path: &str,
        query: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<Reply, ClientError> {
        self.send(method, path, query, headers, body, false).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &str,
        headers: &[(&str, String)],
        body: Bytes,
        sign_body: bool,
    ) -> Result<Reply, ClientError> {
        let url = if query.is_empty() {
            format!("{}{}", self.base, path)
        } else {
            format!("{}{}?{}", self.base, path, query)
        };
        let payload = if sign_body {
            Payload::Bytes(&body)
        } else {
            Payload::Unsigned
        };
        let signed = self.sign(method.as_str(), &url, headers, payload)?;
        let carries_body = matches!(method, Method::PUT | Method::POST);
        let mut builder = http::Request::builder().method(method).uri(&url);
        for (name, value) in headers {
            builder = builder.header(*name, value.as_str());
        }
        for (name, value) in &signed {
            builder = builder.header(name.as_str(), value.as_str());
        }
        // hyper sends no Content-Length for an empty body, and S3 answers an
        // object PUT without one 411 `MissingContentLength`: an empty file
        // must still upload, so every body-carrying method states its length.
        if carries_body
            && !headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        {
            builder = builder.header(http::header::CONTENT_LENGTH, body.len());
        }
        let request = builder
            .body(Full::new(body))
            .map_err(|e| ClientError::InvalidResponse(format!("cannot build the request: {e}")))?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| {
                if let Some(reason) = certificate_refusal(&e) {
                    ClientError::UntrustedCertificate {
                        endpoint: self.config.endpoint.clone(),
                        reason,
                    }
                } else if e.is_connect() {
                    ClientError::Unreachable {
                        endpoint: self.config.endpoint.clone(),
                        reason: innermost(&e),
                    }
                } else {
                    ClientError::Unreachable {
                        endpoint: self.config.endpoint.clone(),
                        reason: format!("the connection failed: {}", innermost(&e)),
                    }
                }
            })?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| ClientError::InvalidResponse(format!("reading the body: {e}")))?
                .to_bytes();
            Ok::<_, ClientError>(Reply {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        let reply = tokio::time::timeout(self.config.timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout {
                endpoint: self.config.endpoint.clone(),
                timeout: self.config.timeout,
            })??;
        if reply.status.is_success() {
            Ok(reply)
        } else {
            Err(error_from_reply(&reply))
        }
    }

    /// The headers that sign a request (`authorization`, `x-amz-date`,
    /// `x-amz-content-sha256`).
    pub(crate) fn sign(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        payload: Payload<'_>,
    ) -> Result<Vec<(String, String)>, ClientError> {
        let keys = Keys {
            access_key: &self.config.access_key,
            secret_key: &self.config.secret_key,
        };
        sign_headers(keys, method, url, headers, payload, SystemTime::now()).map_err(|e| {
            ClientError::InvalidEndpoint {
                endpoint: e.url,
                reason: e.reason,
            }
        })
    }

    /// A request without a body.
    async fn call(&self, method: Method, path: &str, query: &str) -> Result<Reply, ClientError> {
        self.request(method, path, query, &[], Bytes::new()).await
    }

    /// A GET whose answer is an XML document.
    async fn get_xml<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &str,
    ) -> Result<T, ClientError> {
        let reply = self.call(Method::GET, path, query).await?;
        parse_xml(&reply.body)
    }

    /// A request carrying a document, with the Content-MD5 S3 wants for it.
    async fn send_document(
        &self,
        method: Method,
        path: &str,
        query: &str,
        content_type: &str,
        document: Bytes,
    ) -> Result<Reply, ClientError> {
        let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&document));
        let headers = [
            ("content-md5", md5),
            ("content-type", content_type.to_string()),
        ];
        self.request(method, path, query, &headers, document).await
    }

    /// A bucket configuration request; `None` when the bucket has no such
    /// configuration.
    async fn bucket_config_call(
        &self,
        method: Method,
        bucket: &str,
        config: BucketConfig,
    ) -> Result<Option<Reply>, ClientError> {
        let query = format!("{}=", config.query());
        match self.call(method, &bucket_path(bucket), &query).await {
            Ok(reply) => Ok(Some(reply)),
            Err(e) if e.code() == Some(config.missing_code()) => Ok(None),
            Err(e) => Err(e),
        }
    }

    // ---- S3 --------------------------------------------------------------

    /// CreateBucket.
    pub async fn create_bucket(&self, bucket: &str) -> Result<(), ClientError> {
        self.call(Method::PUT, &bucket_path(bucket), "")
            .await
            .map(drop)
    }

    /// ListBuckets.
    pub async fn list_buckets(&self) -> Result<Vec<BucketEntry>, ClientError> {
        let doc: ListAllMyBucketsResult = self.get_xml("/", "").await?;
        Ok(doc
            .into_buckets()
            .into_iter()
            .map(|b| BucketEntry {
                name: b.name,
                created: b.creation_date,
            })
            .collect())
    }

    /// HeadBucket, as "does it exist": `Ok(false)` on 404.
    pub async fn bucket_exists(&self, bucket: &str) -> Result<bool, ClientError> {
        match self.call(Method::HEAD, &bucket_path(bucket), "").await {
            Ok(_) => Ok(true),
            Err(ClientError::Api { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// DeleteBucket.
    pub async fn delete_bucket(&self, bucket: &str) -> Result<(), ClientError> {
        self.call(Method::DELETE, &bucket_path(bucket), "")
            .await
            .map(drop)
    }

    /// One page of ListObjectsV2 (no delimiter: every key under `prefix`).
    pub async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
        max_keys: usize,
    ) -> Result<ObjectPage, ClientError> {
        let mut query = vec![("list-type", "2".to_string())];
        query.push(("max-keys", max_keys.to_string()));
        if !prefix.is_empty() {
            query.push(("prefix", prefix.to_string()));
        }
        if let Some(token) = continuation {
            query.push(("continuation-token", token.to_string()));
        }
        let doc: ListBucketResult = self
            .get_xml(&bucket_path(bucket), &encode_query(&query))
            .await?;
        let continuation = if doc.is_truncated {
            doc.next_continuation_token.filter(|t| !t.is_empty())
        } else {
            None
        };
        Ok(ObjectPage {
            objects: doc
                .contents
                .into_iter()
                .map(|c| ObjectEntry {
                    key: c.key,
                    size: c.size,
                    last_modified: c.last_modified,
                })
                .collect(),
            continuation,
        })
    }

    /// DeleteObjects (quiet mode), at most 1000 keys.
    pub async fn delete_objects(
        &self,
        bucket: &str,
        keys: &[String],
    ) -> Result<DeleteOutcome, ClientError> {
        let mut xml = String::from("<Delete><Quiet>true</Quiet>");
        for key in keys {
            xml.push_str("<Object><Key>");
            xml.push_str(&quick_xml::escape::escape(key.as_str()));
            xml.push_str("</Key></Object>");
        }
        xml.push_str("</Delete>");
        let reply = self
            .send_document(
                Method::POST,
                &bucket_path(bucket),
                "delete=",
                "application/xml",
                Bytes::from(xml),
            )
            .await?;
        let doc: DeleteResult = parse_xml(&reply.body)?;
        let failed: Vec<_> = doc
            .error
            .into_iter()
            .map(|e| (e.key, e.code, e.message))
            .collect();
        Ok(DeleteOutcome {
            deleted: keys.len() - failed.len(),
            failed,
        })
    }

    /// Every multipart upload in progress in `bucket`.
    pub async fn list_uploads(&self, bucket: &str) -> Result<Vec<UploadEntry>, ClientError> {
        let mut uploads = Vec::new();
        let mut markers: Option<(String, String)> = None;
        // Bounded: a million uploads is far beyond anything a bucket holds.
        for _ in 0..1000 {
            let mut query = vec![("uploads", String::new())];
            if let Some((key, id)) = &markers {
                query.push(("key-marker", key.clone()));
                query.push(("upload-id-marker", id.clone()));
            }
            let doc: ListMultipartUploadsResult = self
                .get_xml(&bucket_path(bucket), &encode_query(&query))
                .await?;
            uploads.extend(doc.upload.into_iter().map(|u| UploadEntry {
                key: u.key,
                upload_id: u.upload_id,
                initiated: u.initiated,
            }));
            match (
                doc.is_truncated,
                doc.next_key_marker,
                doc.next_upload_id_marker,
            ) {
                (true, Some(key), Some(id)) if !key.is_empty() => markers = Some((key, id)),
                _ => break,
            }
        }
        Ok(uploads)
    }

    /// AbortMultipartUpload.
    pub async fn abort_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), ClientError> {
        self.call(
            Method::DELETE,
            &object_path(bucket, key),
            &encode_query(&[("uploadId", upload_id.to_string())]),
        )
        .await
        .map(drop)
    }

    /// Get{BucketPolicy,BucketLifecycleConfiguration,BucketCors}: `None`
    /// when the bucket has none.
    pub async fn get_bucket_config(
        &self,
        bucket: &str,
        config: BucketConfig,
    ) -> Result<Option<Bytes>, ClientError> {
        let reply = self.bucket_config_call(Method::GET, bucket, config).await?;
        Ok(reply.map(|reply| reply.body))
    }

    /// Put{BucketPolicy,BucketLifecycleConfiguration,BucketCors}.
    pub async fn put_bucket_config(
        &self,
        bucket: &str,
        config: BucketConfig,
        body: Bytes,
    ) -> Result<(), ClientError> {
        self.send_document(
            Method::PUT,
            &bucket_path(bucket),
            &format!("{}=", config.query()),
            config.content_type(),
            body,
        )
        .await
        .map(drop)
    }

    /// Delete{BucketPolicy,BucketLifecycle,BucketCors} (succeeds when there was none).
    pub async fn delete_bucket_config(
        &self,
        bucket: &str,
        config: BucketConfig,
    ) -> Result<(), ClientError> {
        self.bucket_config_call(Method::DELETE, bucket, config)
            .await
            .map(drop)
    }

    // ---- admin -----------------------------------------------------------

    async fn admin<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T, ClientError> {
        let reply = self.admin_raw(method, path, query, body).await?;
        serde_json::from_slice(&reply.body)
            .map_err(|e| ClientError::InvalidResponse(format!("admin JSON: {e}")))
    }

    async fn admin_raw(
        &self,
        method: Method,
        path: &str,
        query: &str,
        body: Option<serde_json::Value>,
    ) -> Result<Reply, ClientError> {
        let (headers, body) = match body {
            Some(json) => (
                vec![("content-type", "application/json".to_string())],
                Bytes::from(json.to_string()),
            ),
            None => (Vec::new(), Bytes::new()),
        };
        self.request(
            method,
            &format!("{ADMIN_PREFIX}{path}"),
            query,
            &headers,
            body,
        )
        .await
    }

    /// `GET info`.
    pub async fn server_info(&self) -> Result<ServerInfo, ClientError> {
        self.admin(Method::GET, "info", "", None).await
    }

    /// `GET users`.
    pub async fn list_users(&self) -> Result<Vec<UserView>, ClientError> {
        let list: UserList = self.admin(Method::GET, "users", "", None).await?;
        Ok(list.users)
    }

    /// The access keys of the server's users through MinIO's admin API
    /// (`GET /minio/admin/v3/list-users`), which MinIO and minnow both
    /// serve. The answer is madmin-encrypted with the caller's secret key.
    pub async fn list_users_madmin(&self) -> Result<Vec<String>, ClientError> {
        let reply = self
            .call(Method::GET, "/minio/admin/v3/list-users", "")
            .await?;
        let plain = s3_api::admin::minio_v3::crypto::decrypt(&self.config.secret_key, &reply.body)
            .map_err(|e| {
                ClientError::InvalidResponse(format!("the user list does not decrypt: {e}"))
            })?;
        let users: std::collections::BTreeMap<String, serde_json::Value> =
            serde_json::from_slice(&plain).map_err(|e| {
                ClientError::InvalidResponse(format!("the user list is not madmin's JSON: {e}"))
            })?;
        Ok(users.into_keys().collect())
    }

    /// `GET users/{ak}`.
    pub async fn user_info(&self, access_key: &str) -> Result<UserView, ClientError> {
        self.admin(Method::GET, &user_path(access_key), "", None)
            .await
    }

    /// `PUT users/{ak}`: adds the user or sets its secret.
    pub async fn add_user(
        &self,
        access_key: &str,
        secret_key: &str,
    ) -> Result<UserView, ClientError> {
        self.admin(
            Method::PUT,
            &user_path(access_key),
            "",
            Some(serde_json::json!({ "secretKey": secret_key })),
        )
        .await
    }

    /// `DELETE users/{ak}`.
    pub async fn remove_user(&self, access_key: &str) -> Result<(), ClientError> {
        self.admin_raw(Method::DELETE, &user_path(access_key), "", None)
            .await
            .map(drop)
    }

    /// `PUT users/{ak}/status`.
    pub async fn set_user_enabled(
        &self,
        access_key: &str,
        enabled: bool,
    ) -> Result<UserView, ClientError> {
        self.admin(
            Method::PUT,
            &format!("{}/status", user_path(access_key)),
            "",
            Some(serde_json::to_value(StatusBody { enabled }).expect("plain struct")),
        )
        .await
    }

    /// `PUT|DELETE users/{ak}/policies/{name}`.
    pub async fn set_user_policy(
        &self,
        access_key: &str,
        policy: &str,
        attach: bool,
    ) -> Result<UserView, ClientError> {
        let method = if attach { Method::PUT } else { Method::DELETE };
        self.admin(
            method,
            &format!(
                "{}/policies/{}",
                user_path(access_key),
                encode_query_value(policy)
            ),
            "",
            None,
        )
        .await
    }

    /// `GET policies`.
    pub async fn list_policies(&self) -> Result<PolicyList, ClientError> {
        self.admin(Method::GET, "policies", "", None).await
    }

    /// `GET policies/{name}`: the policy JSON.
    pub async fn get_policy(&self, name: &str) -> Result<serde_json::Value, ClientError> {
        self.admin(
            Method::GET,
            &format!("policies/{}", encode_query_value(name)),
            "",
            None,
        )
        .await
    }

    /// `PUT policies/{name}`.
    pub async fn put_policy(
        &self,
        name: &str,
        document: serde_json::Value,
    ) -> Result<(), ClientError> {
        self.admin_raw(
            Method::PUT,
            &format!("policies/{}", encode_query_value(name)),
            "",
            Some(document),
        )
        .await
        .map(drop)
    }

    /// `DELETE policies/{name}`.
    pub async fn delete_policy(&self, name: &str) -> Result<(), ClientError> {
        self.admin_raw(
            Method::DELETE,
            &format!("policies/{}", encode_query_value(name)),
            "",
            None,
        )
        .await
        .map(drop)
    }

    /// `POST heal/object`: heals one object.
    pub async fn heal_object(&self, bucket: &str, key: &str) -> Result<HealSummary, ClientError> {
        let query = encode_query(&[("bucket", bucket.to_string()), ("key", key.to_string())]);
        self.admin(Method::POST, "heal/object", &query, None).await
    }

    /// `POST heal`: heals a bucket (or a prefix of it), or everything.
    pub async fn heal(
        &self,
        bucket: Option<&str>,
        prefix: &str,
    ) -> Result<HealSummary, ClientError> {
        let mut params = Vec::new();
        if let Some(bucket) = bucket {
            params.push(("bucket", bucket.to_string()));
        }
        if !prefix.is_empty() {
            params.push(("prefix", prefix.to_string()));
        }
        self.admin(Method::POST, "heal", &encode_query(&params), None)
            .await
    }
}

fn user_path(access_key: &str) -> String {
    format!("users/{}", encode_query_value(access_key))
}

/// The connector of every client: TLS for `https://`, plain TCP for `http://`.
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// TLS settings: the system's trusted roots (`SSL_CERT_FILE` and
/// `SSL_CERT_DIR` are honoured), or with `insecure` no verification at all.
fn tls_config(insecure: bool) -> rustls::ClientConfig {
    // ring, not aws-lc-rs: it builds with a plain C compiler (no cmake) and
    // rustls deprecates it only for lacking post-quantum key exchange, which
    // a server's own admin CLI does not need yet.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions");
    if insecure {
        return builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth();
    }
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates leave fewer roots; a server signed by
    // none of them is then refused with a clear message.
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    builder.with_root_certificates(roots).with_no_client_auth()
}

/// Accepts every server certificate (`--insecure`), while still checking
/// that the handshake is signed by the certificate's key.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The reason, when a request failed because the server's certificate did
/// not verify. The rustls error sits inside nested `io::Error`s, whose
/// `source()` skips the error they wrap, so each is opened by hand.
fn certificate_refusal(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(error) = current {
        let mut inner: &(dyn std::error::Error + 'static) = error;
        loop {
            if let Some(rustls::Error::InvalidCertificate(reason)) =
                inner.downcast_ref::<rustls::Error>()
            {
                return Some(format!("{reason:?}"));
            }
            match inner
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
            {
                Some(wrapped) => inner = wrapped,
                None => break,
            }
        }
        current = error.source();
    }
    None
}

/// The deepest cause of an error: for a refused connection that is
/// "Connection refused (os error 111)" rather than hyper's wrapper text.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    one_line(&current.to_string())
}

/// Reads an error answer: S3 `<Error>` XML, a problem document, or just the status.
fn error_from_reply(reply: &Reply) -> ClientError {
    let status = reply.status.as_u16();
    let content_type = reply
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(document) = read_error(content_type, &reply.body) {
        let code = document.code.unwrap_or_default();
        let mut message = document.message.unwrap_or_else(|| reason(reply.status));
        // Name what was not found, unless the message already does.
        let subject = match (document.bucket_name, document.key) {
            (Some(bucket), Some(key)) => Some(format!("{bucket}/{key}")),
            (Some(bucket), None) => Some(bucket),
            _ => None,
        };
        if let Some(subject) = subject.filter(|s| !message.contains(s.as_str())) {
            message = format!("{}: {subject}", message.trim_end_matches('.'));
        }
        return ClientError::Api {
            status,
            code,
            message,
        };
    }
    // HEAD answers and proxies carry no document: name the status.
    let code = match status {
        403 => "AccessDenied",
        404 => "NotFound",
        _ => "",
    };
    ClientError::Api {
        status,
        code: code.to_string(),
        message: reason(reply.status),
    }
}

fn reason(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("unexpected status")
        .to_string()
}

fn parse_xml<T: DeserializeOwned>(body: &[u8]) -> Result<T, ClientError> {
    quick_xml::de::from_str(&String::from_utf8_lossy(body))
        .map_err(|e| ClientError::InvalidResponse(format!("XML: {e}")))
}

#[derive(Deserialize)]
struct ListMultipartUploadsResult {
    #[serde(rename = "Upload", default)]
    upload: Vec<UploadXml>,
    #[serde(rename = "IsTruncated", default)]
    is_truncated: bool,
    #[serde(rename = "NextKeyMarker")]
    next_key_marker: Option<String>,
    #[serde(rename = "NextUploadIdMarker")]
    next_upload_id_marker: Option<String>,
}

#[derive(Deserialize)]
struct UploadXml {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "UploadId")]
    upload_id: String,
    #[serde(rename = "Initiated", default)]
    initiated: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, content_type: &str, body: &str) -> Reply {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn s3_error_xml_becomes_one_line_with_code() {
        let error = error_from_reply(&reply(
            404,
            "application/xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchBucket</Code><Message>The specified bucket\n does not exist</Message><BucketName>photos</BucketName><Resource>/photos</Resource><RequestId>1</RequestId></Error>",
        ));
        assert_eq!(error.code(), Some("NoSuchBucket"));
        assert_eq!(
            error.to_string(),
            "The specified bucket does not exist: photos (NoSuchBucket, HTTP 404)"
        );
    }

    #[test]
    fn refused_credentials_say_so() {
        let error = error_from_reply(&reply(
            403,
            "application/xml",
            "<Error><Code>InvalidAccessKeyId</Code><Message>The Access Key Id you provided does not exist in our records.</Message></Error>",
        ));
        assert!(error
            .to_string()
            .starts_with("the server refused the credentials: "));
    }

    #[test]
    fn problem_json_becomes_one_line_with_slug() {
        let error = error_from_reply(&reply(
            404,
            "application/problem+json",
            r#"{"type":"urn:minnow:admin:no-such-user","title":"No such user","status":404,"detail":"the user does not exist: ghost"}"#,
        ));
        assert_eq!(error.code(), Some("no-such-user"));
        assert_eq!(
            error.to_string(),
            "the user does not exist: ghost (no-such-user, HTTP 404)"
        );
    }

    #[test]
    fn bodiless_errors_name_the_status() {
        let error = error_from_reply(&reply(404, "text/plain", ""));
        assert_eq!(error.to_string(), "Not Found (NotFound, HTTP 404)");
    }

    #[test]
    fn listing_xml_parses_with_namespaces_and_pages() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated><NextContinuationToken>tok</NextContinuationToken><Contents><Key>a &amp; b</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>"x"</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>c</Key><Size>0</Size></Contents></ListBucketResult>"#;
        let doc: ListBucketResult = parse_xml(xml.as_bytes()).unwrap();
        assert_eq!(doc.contents.len(), 2);
        assert_eq!(doc.contents[0].key, "a & b");
        assert_eq!(doc.contents[0].size, 3);
        assert!(doc.is_truncated);
        assert_eq!(doc.next_continuation_token.as_deref(), Some("tok"));

        let xml = r#"<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>1</ID><DisplayName>m</DisplayName></Owner><Buckets><Bucket><Name>one</Name><CreationDate>2024-01-01T00:00:00.000Z</CreationDate></Bucket><Bucket><Name>two</Name><CreationDate>2024-01-02T00:00:00.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>"#;
        let doc: ListAllMyBucketsResult = parse_xml(xml.as_bytes()).unwrap();
        assert_eq!(doc.into_buckets().len(), 2);
        let empty = r#"<ListAllMyBucketsResult><Owner><ID>1</ID></Owner><Buckets></Buckets></ListAllMyBucketsResult>"#;
        let doc: ListAllMyBucketsResult = parse_xml(empty.as_bytes()).unwrap();
        assert!(doc.into_buckets().is_empty());
    }

    #[test]
    fn paths_and_queries_are_encoded_the_sigv4_way() {
        assert_eq!(object_path("b", "a b/c+d~e"), "/b/a%20b/c%2Bd~e");
        assert_eq!(
            encode_query(&[("x", "a=b".into()), ("prefix", "temp/".into())]),
            "prefix=temp%2F&x=a%3Db"
        );
    }

    #[test]
    fn http_and_https_endpoints_are_taken_and_garbage_is_refused() {
        let config = |endpoint: &str| ClientConfig {
            endpoint: endpoint.into(),
            access_key: "a".into(),
            secret_key: "b".into(),
            timeout: DEFAULT_TIMEOUT,
            insecure: false,
        };
        assert!(Client::new(config("https://x:9000")).is_ok());
        assert!(Client::new(config("ftp://x:9000")).is_err());
        assert!(Client::new(config("not a url")).is_err());
        assert!(Client::new(config("http://127.0.0.1:9000")).is_ok());
        let debug = format!("{:?}", config("http://x"));
        assert!(!debug.contains("\"b\""));
    }

    #[tokio::test]
    async fn a_closed_port_is_reported_as_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = Client::new(ClientConfig {
            endpoint: format!("http://127.0.0.1:{port}"),
            access_key: "minioadmin".into(),
            secret_key: "minioadmin".into(),
            timeout: Duration::from_secs(5),
            insecure: false,
        })
        .unwrap();
        let error = client.list_buckets().await.unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with(&format!(
                "cannot reach the server at http://127.0.0.1:{port}"
            )),
            "{text}"
        );
    }

    #[test]
    fn signatures_verify_with_the_servers_authenticator() {
        let client = Client::new(ClientConfig {
            endpoint: "http://127.0.0.1:9000".into(),
            access_key: "svc".into(),
            secret_key: "svc-secret-1".into(),
            timeout: DEFAULT_TIMEOUT,
            insecure: false,
        })
        .unwrap();
        let body = b"<Delete><Object><Key>a b</Key></Object></Delete>";
        let url = "http://127.0.0.1:9000/bkt/a%20b?delete=&prefix=temp%2F";
        let headers = [("content-type", "application/xml".to_string())];
        let signed = client
            .sign("POST", url, &headers, Payload::Bytes(body))
            .unwrap();
        let mut builder = http::Request::builder()
            .method("POST")
            .uri(url)
            .header("host", "127.0.0.1:9000")
            .header("content-type", "application/xml");
        for (name, value) in &signed {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let (parts, ()) = builder.body(()).unwrap().into_parts();
        let secrets = s3_api::auth::StaticSecrets::with_key("svc", "svc-secret-1");
        let auth = s3_api::auth::authenticate(&parts, &secrets, SystemTime::now()).unwrap();
        assert_eq!(auth.access_key(), Some("svc"));
        let wrong = s3_api::auth::StaticSecrets::with_key("svc", "another-secret");
        assert!(s3_api::auth::authenticate(&parts, &wrong, SystemTime::now()).is_err());
    }
}

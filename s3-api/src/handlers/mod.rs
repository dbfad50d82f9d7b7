//! The S3 request pipeline: [`handle`] gives every request an id,
//! authenticates it, routes it, authorizes it, dispatches it to the handler
//! of its [`Endpoint`], and renders failures through [`crate::error`].
//!
//! Handlers talk to storage only through the `store::api` traits held in
//! [`AppState`]. Object bodies stream both ways; only small XML/JSON request
//! bodies are collected, with a size limit.

mod bucket;
pub mod conditions;
mod expiry;
pub mod headers;
mod list;
mod multipart;
mod object;

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Empty, Full};
use store::api::{ByteStream, Catalog, Maintenance, MultipartStore, ObjectStore, StoreError};

use crate::auth::{self, AuthError, Authenticated, Identity, SecretLookup, VerifiedBody};
use crate::error::{ApiError, S3Code};
use crate::router::{self, Endpoint, Query};
use crate::xml::response::Owner;
use crate::{BoxError, ResponseBody};

/// The largest single PUT (and part, and copy source) S3 accepts: 5 GiB.
pub const MAX_PUT_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// The S3 operation a response answered (`GetObject`, `NotImplemented`, or
/// `Unrouted` when the request never reached a handler), attached to every
/// response as an extension for metrics and access logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation(pub &'static str);

/// Server settings the handlers need.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The region the server reports (GetBucketLocation, `x-amz-bucket-region`).
    pub region: String,
    /// Domains for virtual-hosted addressing: `bucket.<domain>`.
    pub domains: Vec<String>,
    /// Host names served as an anonymous CDN front (not used by the S3 handlers yet).
    pub cdn_hosts: Vec<String>,
    /// The externally visible base URL (e.g. `https://s3.example.com`), used for
    /// `Location` in CompleteMultipartUpload; `None`: derived from the Host header.
    pub public_url: Option<String>,
    /// Length of a lifecycle "day" (tests shrink it to seconds).
    pub lifecycle_day: Duration,
    /// Limit on XML/JSON request bodies the handlers collect.
    pub max_xml_body: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".to_string(),
            domains: Vec::new(),
            cdn_hosts: Vec::new(),
            public_url: None,
            lifecycle_day: Duration::from_secs(24 * 60 * 60),
            max_xml_body: 2 * 1024 * 1024,
        }
    }
}

/// Everything a request handler needs, shared by all connections.
pub struct AppState<S> {
    pub store: Arc<S>,
    pub config: ApiConfig,
    pub secrets: Arc<dyn SecretLookup>,
    /// `x-amz-id-2` / `<HostId>`: identifies this server process.
    host_id: String,
    request_counter: AtomicU64,
    lifecycle: expiry::LifecycleCache,
}

impl<S> AppState<S> {
    pub fn new(store: Arc<S>, config: ApiConfig, secrets: Arc<dyn SecretLookup>) -> Self {
        let seed: [u8; 24] = rand::random();
        Self {
            store,
            config,
            secrets,
            host_id: hex::encode(seed),
            request_counter: AtomicU64::new(0),
            lifecycle: expiry::LifecycleCache::default(),
        }
    }

    /// A unique, time-ordered request id (16 upper-case hex digits, like MinIO's).
    fn next_request_id(&self) -> String {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        format!("{:016X}", nanos.wrapping_add(n & 0xFFF))
    }

    /// The owner shown in listings and ACLs (one owner: root).
    pub(crate) fn owner(&self) -> Owner {
        Owner {
            id: "02d6176db174dc93cb1b899f7c6078f08654445fe8cf1b6ce98d8855f66bdbf4".to_string(),
            display_name: "minnow".to_string(),
        }
    }
}

/// What a handler knows about the request besides its body.
pub(crate) struct RequestContext {
    pub parts: http::request::Parts,
    pub query: Query,
    pub auth: Authenticated,
}

impl RequestContext {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.parts.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Host header, falling back to the URI authority.
    pub fn host(&self) -> Option<&str> {
        self.parts
            .headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| self.parts.uri.authority().map(|a| a.as_str()))
    }
}

/// Serves one S3 request. Never fails: errors become S3 error responses.
pub async fn handle<S, B>(state: Arc<AppState<S>>, req: Request<B>) -> Response<ResponseBody>
where
    S: ObjectStore + Catalog + MultipartStore + Maintenance + 'static,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let request_id = state.next_request_id();
    let (parts, body) = req.into_parts();
    let is_head = parts.method == Method::HEAD;
    let resource = parts.uri.path().to_string();
    let method = parts.method.clone();

    let mut operation = Operation("Unrouted");
    let mut response = match serve(&state, parts, body, &mut operation).await {
        Ok(response) => response,
        Err(mut error) => {
            if error.resource.is_none() {
                error.resource = Some(resource.clone());
            }
            if error.status().is_server_error() {
                tracing::warn!(%request_id, %method, path = %resource, code = error.code.as_str(), message = %error.message, "request failed");
            } else {
                tracing::debug!(%request_id, %method, path = %resource, code = error.code.as_str(), "request refused");
            }
            error.to_response(&request_id, &state.host_id, !is_head)
        }
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amz-request-id", value);
    }
    if let Ok(value) = HeaderValue::from_str(&state.host_id) {
        headers.insert("x-amz-id-2", value);
    }
    headers.insert(http::header::SERVER, HeaderValue::from_static("minnow"));
    response.extensions_mut().insert(operation);
    response
}

async fn serve<S, B>(
    state: &AppState<S>,
    parts: http::request::Parts,
    body: B,
    operation: &mut Operation,
) -> Result<Response<ResponseBody>, ApiError>
where
    S: ObjectStore + Catalog + MultipartStore + Maintenance + 'static,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let query = Query::parse(parts.uri.query())?;
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()));
    let endpoint = router::route(
        &parts.method,
        parts.uri.path(),
        &query,
        host,
        &state.config.domains,
        parts.headers.contains_key("x-amz-copy-source"),
    )?;
    *operation = Operation(endpoint.name());

    match &endpoint {
        Endpoint::MinioHealth { path } => {
            return Err(ApiError::not_implemented(&format!("/minio/health/{path}")))
        }
        Endpoint::MinioAdmin { path } => {
            return Err(ApiError::not_implemented(&format!("/minio/admin/{path}")))
        }
        _ => {}
    }

    let auth = auth::authenticate(&parts, state.secrets.as_ref(), SystemTime::now())?;
    authorize(state, &auth.identity, &endpoint)?;

    refuse_encryption_headers(&parts.headers, &endpoint)?;

    let ctx = RequestContext { parts, query, auth };
    dispatch(state, ctx, body, endpoint).await
}

/// The access decision: may `identity` perform `endpoint`? Every signed
/// identity is the root (the only credentials there are); anonymous
/// requests are refused. A policy module extends this one function.
pub fn authorize<S>(
    _state: &AppState<S>,
    identity: &Identity,
    _endpoint: &Endpoint,
) -> Result<(), ApiError> {
    match identity {
        Identity::AccessKey(_) => Ok(()),
        Identity::Anonymous => Err(ApiError::new(S3Code::AccessDenied)),
    }
}

/// Server-side encryption needs a KMS minnow does not have: like MinIO
/// without one, asking for it is NotImplemented rather than silently ignored.
fn refuse_encryption_headers(
    headers: &http::HeaderMap,
    endpoint: &Endpoint,
) -> Result<(), ApiError> {
    use Endpoint::*;
    let applies = matches!(
        endpoint,
        PutObject { .. }
            | CopyObject { .. }
            | CreateMultipartUpload { .. }
            | UploadPart { .. }
            | UploadPartCopy { .. }
            | GetObject { .. }
            | HeadObject { .. }
    );
    if applies {
        if let Some(name) = headers.keys().find(|name| {
            name.as_str().starts_with("x-amz-server-side-encryption")
                || name
                    .as_str()
                    .starts_with("x-amz-copy-source-server-side-encryption")
        }) {
            return Err(ApiError::with_message(
                S3Code::NotImplemented,
                format!("Server side encryption specified but KMS is not configured ({name})"),
            ));
        }
    }
    Ok(())
}

async fn dispatch<S, B>(
    state: &AppState<S>,
    ctx: RequestContext,
    body: B,
    endpoint: Endpoint,
) -> Result<Response<ResponseBody>, ApiError>
where
    S: ObjectStore + Catalog + MultipartStore + Maintenance + 'static,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    use Endpoint::*;
    match endpoint {
        ListBuckets => bucket::list_buckets(state, &ctx).await,
        CreateBucket { bucket } => bucket::create_bucket(state, &ctx, body, &bucket).await,
        HeadBucket { bucket } => bucket::head_bucket(state, &bucket).await,
        DeleteBucket { bucket } => bucket::delete_bucket(state, &bucket).await,
        GetBucketLocation { bucket } => bucket::get_location(state, &bucket).await,
        GetBucketVersioning { bucket } => bucket::get_versioning(state, &bucket).await,
        GetBucketAcl { bucket } => bucket::get_bucket_acl(state, &bucket).await,
        GetBucketConfig { bucket, config } => bucket::get_config(state, &bucket, config).await,
        PutBucketConfig { bucket, config } => {
            bucket::put_config(state, &ctx, body, &bucket, config).await
        }
        DeleteBucketConfig { bucket, config } => {
            bucket::delete_config(state, &bucket, config).await
        }
        ListObjectsV1 { bucket } => list::list_objects_v1(state, &ctx, &bucket).await,
        ListObjectsV2 { bucket } => list::list_objects_v2(state, &ctx, &bucket).await,
        ListMultipartUploads { bucket } => multipart::list_uploads(state, &ctx, &bucket).await,
        DeleteObjects { bucket } => object::delete_objects(state, &ctx, body, &bucket).await,
        PutObject { bucket, key } => object::put_object(state, &ctx, body, &bucket, &key).await,
        CopyObject { bucket, key } => object::copy_object(state, &ctx, &bucket, &key).await,
        GetObject { bucket, key } => object::get_object(state, &ctx, &bucket, &key).await,
        HeadObject { bucket, key } => object::head_object(state, &ctx, &bucket, &key).await,
        DeleteObject { bucket, key } => object::delete_object(state, &bucket, &key).await,
        GetObjectAcl { bucket, key } => object::get_object_acl(state, &bucket, &key).await,
        CreateMultipartUpload { bucket, key } => {
            multipart::create(state, &ctx, &bucket, &key).await
        }
        UploadPart {
            bucket,
            key,
            upload_id,
            part_number,
        } => {
            multipart::upload_part(state, &ctx, body, &bucket, &key, &upload_id, part_number).await
        }
        UploadPartCopy {
            bucket,
            key,
            upload_id,
            part_number,
        } => multipart::upload_part_copy(state, &ctx, &bucket, &key, &upload_id, part_number).await,
        CompleteMultipartUpload {
            bucket,
            key,
            upload_id,
        } => multipart::complete(state, &ctx, body, &bucket, &key, &upload_id).await,
        AbortMultipartUpload {
            bucket,
            key,
            upload_id,
        } => multipart::abort(state, &bucket, &key, &upload_id).await,
        ListParts {
            bucket,
            key,
            upload_id,
        } => multipart::list_parts(state, &ctx, &bucket, &key, &upload_id).await,
        MinioHealth { path } => Err(ApiError::not_implemented(&format!("/minio/health/{path}"))),
        MinioAdmin { path } => Err(ApiError::not_implemented(&format!("/minio/admin/{path}"))),
        NotImplemented { operation } => Err(ApiError::not_implemented(&operation)),
    }
}

// ---------------------------------------------------------------------------
// Response helpers

pub(crate) fn empty_body() -> ResponseBody {
    Empty::new().map_err(|never| match never {}).boxed()
}

pub(crate) fn full_body(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A response with no body.
pub(crate) fn empty_response(status: StatusCode) -> Response<ResponseBody> {
    let mut response = Response::new(empty_body());
    *response.status_mut() = status;
    if status != StatusCode::NO_CONTENT && status != StatusCode::NOT_MODIFIED {
        response
            .headers_mut()
            .insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
    response
}

/// A 200 response carrying an XML document.
pub(crate) fn xml_response(xml: String) -> Response<ResponseBody> {
    bytes_response(xml.into_bytes(), "application/xml")
}

pub(crate) fn bytes_response(
    bytes: impl Into<Bytes>,
    content_type: &'static str,
) -> Response<ResponseBody> {
    let bytes = bytes.into();
    let mut response = Response::new(empty_body());
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    *response.body_mut() = full_body(bytes);
    response
}

/// A response body fed by a store `ByteStream`, without buffering.
///
/// `BoxBody` wants `Sync`; the stream is only `Send`, so it sits in a `Mutex`
/// that is never contended (`poll_frame` has `&mut self`).
pub(crate) struct StreamBody {
    stream: Mutex<ByteStream>,
    remaining: Option<u64>,
}

impl StreamBody {
    pub fn new(stream: ByteStream, length: Option<u64>) -> Self {
        Self {
            stream: Mutex::new(stream),
            remaining: length,
        }
    }

    pub fn boxed(self) -> ResponseBody {
        BodyExt::boxed(self)
    }
}

impl Body for StreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let stream = match this.stream.get_mut() {
            Ok(stream) => stream,
            Err(poisoned) => poisoned.into_inner(),
        };
        match stream.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(remaining) = this.remaining.as_mut() {
                    *remaining = remaining.saturating_sub(chunk.len() as u64);
                }
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(Box::new(error)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self.remaining {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

// ---------------------------------------------------------------------------
// Request body helpers

/// The error to answer when the store failed on a request body: the body's
/// own precise error when it recorded one.
pub(crate) fn body_error(error: StoreError, failure: &Arc<OnceLock<AuthError>>) -> ApiError {
    match (&error, failure.get()) {
        (StoreError::Body(_), Some(auth_error)) => ApiError::from(auth_error.clone()),
        _ => ApiError::from(error),
    }
}

/// Opens the verified body of a request.
pub(crate) fn open_body<B>(ctx: &RequestContext, body: B) -> Result<VerifiedBody, ApiError>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    Ok(auth::verified_body(body, &ctx.auth, &ctx.parts.headers)?)
}

/// Reads a small body (XML/JSON) fully, refusing more than `limit` bytes, and
/// verifies its Content-MD5 / x-amz-checksum-* (`required`: one must be present).
pub(crate) async fn collect_small_body<B>(
    ctx: &RequestContext,
    body: B,
    limit: usize,
    required_digest: bool,
) -> Result<Bytes, ApiError>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let md5 = headers::content_md5(&ctx.parts.headers)?;
    let verified = open_body(ctx, body)?;
    if verified.decoded_length.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::new(S3Code::MaxMessageLengthExceeded));
    }
    let VerifiedBody {
        mut stream,
        checksum,
        failure,
        ..
    } = verified;
    let mut collected = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| body_error(e, &failure))?;
        if collected.len() + chunk.len() > limit {
            return Err(ApiError::new(S3Code::MaxMessageLengthExceeded));
        }
        collected.extend_from_slice(&chunk);
    }
    let collected = collected.freeze();
    headers::verify_small_body(&collected, md5, checksum.as_ref(), required_digest)?;
    Ok(collected)
}

/// Parses a numeric query parameter like `max-keys` (absent: `default`).
pub(crate) fn query_number(query: &Query, name: &str, default: usize) -> Result<usize, ApiError> {
    match query.get(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse::<usize>().map_err(|_| {
            ApiError::invalid_argument(
                format!("Provided {name} not an integer or within integer range"),
                name,
                raw,
            )
        }),
    }
}

#[cfg(test)]
mod tests;

//! The S3 request pipeline: [`handle`] gives every request an id, puts its
//! body under the idle timeout (`idle_body`), sends CDN host names to
//! [`crate::cdn`] and the admin API to [`crate::admin`], answers health and
//! metrics (the latter to authorized scrapers, `metrics_auth`), else
//! authenticates, routes, authorizes (IAM user policies and bucket
//! policies), dispatches to the handler of its [`Endpoint`], and renders
//! failures through [`crate::error`]. Every request is counted in
//! [`Metrics`]; admin calls, authentication failures and denials are written
//! to the audit log (`audit`). Before an error answer, the part of the
//! request body no handler read is drained, within bounds (`drain`), so a
//! client still uploading sees the error rather than a reset.
//!
//! Handlers talk to storage only through the `store::api` traits held in
//! [`AppState`]. Object bodies stream both ways; only small XML/JSON request
//! bodies are collected, with a size limit.

pub mod audit;
mod bucket;
pub mod conditions;
pub mod cors;
mod drain;
mod expiry;
pub mod headers;
pub mod idle_body;
mod list;
pub mod metrics_auth;
mod multipart;
pub(crate) mod object;
mod post_object;
pub mod post_policy;
mod tagging;

#[cfg(test)]
pub(crate) use drain::{DRAIN_IDLE, DRAIN_LIMIT};

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Empty, Full};
use store::api::{ByteStream, Catalog, Maintenance, MultipartStore, ObjectStore, StoreError};

use crate::auth::{self, AuthError, Authenticated, Identity, SecretLookup, VerifiedBody};
use crate::error::{ApiError, S3Code};
use crate::health::{self, HealthCheck};
use crate::metrics::{ExternalSample, Metrics};
use crate::router::{self, Endpoint, Query};
use crate::xml::response::Owner;
use crate::{BoxError, ResponseBody};
use iam::policy::{AccessRequest, PolicyDocument};
use iam::Iam;

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
    /// Host names served as an anonymous, read-only CDN front ([`crate::cdn`]),
    /// lower-case, without port.
    pub cdn_hosts: Vec<String>,
    /// `Access-Control-Allow-Origin` of CDN responses (default `*`).
    pub cdn_allow_origin: String,
    /// The externally visible base URL (e.g. `https://s3.example.com`), used for
    /// `Location` in CompleteMultipartUpload; `None`: derived from the Host header.
    pub public_url: Option<String>,
    /// Length of a lifecycle "day" (tests shrink it to seconds).
    pub lifecycle_day: Duration,
    /// Limit on XML/JSON request bodies the handlers collect.
    pub max_xml_body: usize,
    /// Where audit records go; `None`: no audit log (in-process tests).
    pub audit: Option<Arc<audit::AuditSink>>,
    /// A request body that makes no progress for this long fails with 400
    /// `RequestTimeout`.
    pub body_idle_timeout: Duration,
    /// Who may scrape the metrics endpoints.
    pub metrics_auth: metrics_auth::MetricsAuth,
    /// The largest single PutObject or UploadPart body ([`MAX_PUT_SIZE`];
    /// in-process tests lower it to reach it).
    pub max_put_size: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".to_string(),
            domains: Vec::new(),
            cdn_hosts: Vec::new(),
            cdn_allow_origin: "*".to_string(),
            public_url: None,
            lifecycle_day: Duration::from_secs(24 * 60 * 60),
            max_xml_body: 2 * 1024 * 1024,
            audit: None,
            body_idle_timeout: idle_body::DEFAULT_BODY_IDLE_TIMEOUT,
            metrics_auth: metrics_auth::MetricsAuth::Authenticated,
            max_put_size: MAX_PUT_SIZE,
        }
    }
}

/// Metrics other components report at scrape time (lifecycle scanner...).
pub type SampleSource = Arc<dyn Fn() -> Vec<ExternalSample> + Send + Sync>;

/// Everything a request handler needs, shared by all connections.
pub struct AppState<S> {
    pub store: Arc<S>,
    pub config: ApiConfig,
    /// Signing keys: the same [`Iam`] as `iam`, as a trait object.
    pub secrets: Arc<dyn SecretLookup>,
    /// Users, policies and the access decision.
    pub iam: Arc<Iam<S>>,
    /// SigV4 signing keys of recent credential scopes.
    pub signing_keys: auth::SigningKeyCache,
    /// Request counters and latency histograms.
    pub metrics: Arc<Metrics>,
    /// Extra samples for the metrics endpoint (set by the binary).
    pub sample_source: Option<SampleSource>,
    /// The lifecycle scanner's report for `GET admin/v1/lifecycle` (set by
    /// the binary, which runs the scanner).
    pub lifecycle_source: Option<crate::admin::LifecycleSource>,
    /// When the server started (uptime in `admin info` and metrics).
    pub started: Instant,
    /// `x-amz-id-2` / `<HostId>`: identifies this server process.
    host_id: String,
    request_counter: AtomicU64,
    lifecycle: expiry::LifecycleCache,
}

impl<S: Catalog + 'static> AppState<S> {
    /// State over `store`, authorizing with `iam` (which also holds the
    /// signing secrets of root and users).
    pub fn new(store: Arc<S>, config: ApiConfig, iam: Arc<Iam<S>>) -> Self {
        let seed: [u8; 24] = rand::random();
        Self {
            store,
            config,
            secrets: iam.clone(),
            iam,
            signing_keys: auth::SigningKeyCache::default(),
            metrics: Arc::new(Metrics::default()),
            sample_source: None,
            lifecycle_source: None,
            started: Instant::now(),
            host_id: hex::encode(seed),
            request_counter: AtomicU64::new(0),
            lifecycle: expiry::LifecycleCache::default(),
        }
    }

    /// Adds a source of extra metric samples (e.g. lifecycle scanner counters).
    pub fn with_sample_source(mut self, source: SampleSource) -> Self {
        self.sample_source = Some(source);
        self
    }

    /// Adds the lifecycle scanner's report to the admin API.
    pub fn with_lifecycle_source(mut self, source: crate::admin::LifecycleSource) -> Self {
        self.lifecycle_source = Some(source);
        self
    }
}

impl<S> AppState<S> {
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
        request_host(&self.parts)
    }
}

/// Serves one S3 request. Never fails: errors become S3 error responses.
pub async fn handle<S, B>(state: Arc<AppState<S>>, req: Request<B>) -> Response<ResponseBody>
where
    S: ObjectStore + Catalog + MultipartStore + Maintenance + 'static,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let started = Instant::now();
    let request_id = state.next_request_id();
    let (parts, body) = req.into_parts();
    let remote_address = parts
        .extensions
        .get::<audit::RemoteAddr>()
        .map(|remote| remote.0.to_string());
    let mut facts = AuditFacts::default();
    let body = idle_body::IdleTimeoutBody::new(body, state.config.body_idle_timeout);
    let body = CountingBody::request(body, Arc::clone(&state.metrics));
    let expects_continue = parts
        .headers
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let (body, mut unread_body) = drain::ReturningBody::new(body);
    let is_head = parts.method == Method::HEAD;
    let resource = parts.uri.path().to_string();
    let method = parts.method.clone();

    let mut operation = Operation("Unrouted");
    let host = request_host(&parts).map(str::to_string);
    let result = if crate::cdn::is_cdn_host(host.as_deref(), &state.config.cdn_hosts) {
        drop(body);
        let served = crate::cdn::serve(&state, parts, &mut operation).await;
        if served
            .as_ref()
            .is_err_and(|error| error.code == S3Code::AccessDenied)
        {
            // A CDN read the bucket policy does not grant (or of a missing
            // object: the CDN does not tell them apart, and neither does this).
            facts.denied = true;
            let path = resource.trim_start_matches('/');
            let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            facts.bucket = (!bucket.is_empty()).then(|| decode(bucket));
            facts.key = (!key.is_empty()).then(|| decode(key));
        }
        served
    } else if crate::admin::is_admin_path(&resource) {
        operation = Operation(admin_operation(&parts));
        facts.admin = true;
        facts.access_key = audit::claimed_access_key(&parts);
        Ok(crate::admin::serve_request(
            &state.iam,
            &state.store,
            &parts,
            body,
            crate::admin::Runtime {
                started: state.started,
                audit: state
                    .config
                    .audit
                    .as_deref()
                    .map(crate::admin::AuditView::from),
                lifecycle: state.lifecycle_source.clone(),
            },
        )
        .await)
    } else if crate::admin::minio_v3::is_minio_admin_path(&resource) {
        operation = Operation(crate::admin::minio_v3::operation_name(&parts));
        facts.admin = true;
        facts.access_key = audit::claimed_access_key(&parts);
        Ok(crate::admin::minio_v3::serve_request(
            &state.iam,
            &state.store,
            &parts,
            body,
            state.started,
        )
        .await)
    } else {
        serve(&state, parts, body, &mut operation, &mut facts).await
    };
    let mut error_code = None;
    let mut response = match result {
        Ok(response) => response,
        Err(mut error) => {
            error_code = Some(error.code.as_str());
            if error.code == S3Code::RequestTimeout {
                // The rest of the body is still on its way, or never coming:
                // the connection cannot carry another request.
                error = error.header(http::header::CONNECTION, HeaderValue::from_static("close"));
            }
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
    if response.status().is_client_error() || response.status().is_server_error() {
        // The handlers are done with the body; one left unfinished is drained
        // so a client still sending it reads this answer (see `drain`).
        if let Ok(unread) = unread_body.try_recv() {
            if !drain::drain(unread, expects_continue, drain::DrainLimits::SERVER).await {
                response
                    .headers_mut()
                    .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            }
        }
    }
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amz-request-id", value);
    }
    if let Ok(value) = HeaderValue::from_str(&state.host_id) {
        headers.insert("x-amz-id-2", value);
    }
    headers.insert(http::header::SERVER, HeaderValue::from_static("minnow"));
    if let Some(sink) = &state.config.audit {
        audit_request(
            sink,
            &facts,
            &request_id,
            remote_address,
            operation.0,
            response.status().as_u16(),
            error_code,
        );
    }
    state
        .metrics
        .record(operation.0, response.status().as_u16(), started.elapsed());
    response.extensions_mut().insert(operation);
    let metrics = Arc::clone(&state.metrics);
    response.map(|body| BodyExt::boxed(CountingBody::response(body, metrics)))
}

/// What `serve` learned about a request that its audit record needs.
#[derive(Debug, Default)]
struct AuditFacts {
    /// An admin API call.
    admin: bool,
    /// The verified access key, or the claimed one when authentication failed.
    access_key: Option<String>,
    bucket: Option<String>,
    key: Option<String>,
    /// The signature or credentials did not verify.
    authentication_failed: bool,
    /// The caller was not allowed the operation.
    denied: bool,
}

/// Codes that mean a request's credentials or signature did not verify,
/// wherever that was found (a chunk signature fails in the body).
const AUTHENTICATION_CODES: &[&str] = &[
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "AuthorizationHeaderMalformed",
    "AuthorizationQueryParametersError",
    "RequestTimeTooSkewed",
];

/// Writes the audit record of a finished request, if it is one to keep:
/// admin calls, authentication failures, authorization denials, and with
/// `MINNOW_AUDIT_LOG_ALL` everything.
fn audit_request(
    sink: &audit::AuditSink,
    facts: &AuditFacts,
    request_id: &str,
    remote_address: Option<String>,
    operation: &str,
    status: u16,
    error_code: Option<&str>,
) {
    let event = if facts.admin {
        audit::AuditEvent::Admin
    } else if facts.authentication_failed
        || error_code.is_some_and(|code| AUTHENTICATION_CODES.contains(&code))
    {
        audit::AuditEvent::AuthenticationFailure
    } else if facts.denied {
        audit::AuditEvent::AuthorizationDenied
    } else if sink.records_all_requests() {
        audit::AuditEvent::Request
    } else {
        return;
    };
    sink.write(&audit::AuditRecord {
        time: audit::now_rfc3339(),
        event,
        request_id,
        remote_address,
        access_key: facts.access_key.as_deref(),
        operation,
        bucket: facts.bucket.as_deref(),
        key: facts.key.as_deref(),
        status,
        error_code,
    });
}

/// Host header, falling back to the URI authority.
fn request_host(parts: &http::request::Parts) -> Option<&str> {
    parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
}

/// The operation name of an admin request, for metrics (`AdminHeal`...).
fn admin_operation(parts: &http::request::Parts) -> &'static str {
    use crate::admin::AdminRoute::*;
    let path = parts
        .uri
        .path()
        .strip_prefix(crate::admin::ADMIN_PREFIX)
        .unwrap_or_default();
    match crate::admin::route(&parts.method, path, parts.uri.query()) {
        Ok(Info) => "AdminInfo",
        Ok(MyAccess { .. }) => "AdminMyAccess",
        Ok(Lifecycle) => "AdminLifecycle",
        Ok(ListUsers | GetUser(_)) => "AdminGetUsers",
        Ok(PutUser(_) | DeleteUser(_) | SetUserStatus(_)) => "AdminChangeUser",
        Ok(AttachPolicy { .. } | DetachPolicy { .. }) => "AdminAttachPolicy",
        Ok(ListPolicies | GetPolicy(_)) => "AdminGetPolicies",
        Ok(PutPolicy(_) | DeletePolicy(_)) => "AdminChangePolicy",
        Ok(HealObject { .. } | Heal { .. }) => "AdminHeal",
        Err(_) => "AdminUnrouted",
    }
}

async fn serve<S, B>(
    state: &AppState<S>,
    parts: http::request::Parts,
    body: B,
    operation: &mut Operation,
    facts: &mut AuditFacts,
) -> Result<Response<ResponseBody>, ApiError>
where
    S: ObjectStore + Catalog + MultipartStore + Maintenance + 'static,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let query = Query::parse(parts.uri.query())?;
    let endpoint = router::route(
        &parts.method,
        parts.uri.path(),
        &query,
        request_host(&parts),
        &state.config.domains,
        parts.headers.contains_key("x-amz-copy-source"),
    )?;
    *operation = Operation(endpoint.name());
    facts.bucket = endpoint.bucket().map(str::to_string);
    facts.key = endpoint.key().map(str::to_string);

    // A browser form carries its signature in the form, not the request
    // head: the handler authenticates and authorizes once it read the fields.
    if let Endpoint::PostObject { bucket } = &endpoint {
        let origin = parts.headers.get(http::header::ORIGIN).cloned();
        let result = post_object::post_object(state, &parts, body, bucket, facts).await;
        return match origin {
            Some(origin) => cors::annotate(state, bucket, &origin, &Method::POST, result).await,
            None => result,
        };
    }

    // Public endpoints: no signature looked at.
    match &endpoint {
        Endpoint::MinioHealth { .. } => return health_response(state, &parts).await,
        Endpoint::Metrics => {
            authorize_scrape(state, &parts, facts)?;
            return metrics_response(state, &parts).await;
        }
        Endpoint::MinioAdmin { path } => {
            return Err(ApiError::not_implemented(&format!("/minio/admin/{path}")))
        }
        Endpoint::CorsPreflight { bucket, .. } => {
            return cors::preflight(state, &parts.headers, bucket).await
        }
        _ => {}
    }

    let auth = match auth::authenticate_with_cache(
        &parts,
        state.secrets.as_ref(),
        &state.signing_keys,
        SystemTime::now(),
    ) {
        Ok(auth) => auth,
        Err(error) => {
            facts.authentication_failed = true;
            facts.access_key = audit::claimed_access_key(&parts);
            return Err(error.into());
        }
    };
    facts.access_key = auth.access_key().map(str::to_string);
    if let Err(error) = authorize(state, &auth.identity, &endpoint, &parts.headers).await {
        facts.denied = error.code == S3Code::AccessDenied;
        return Err(error);
    }

    refuse_encryption_headers(&parts.headers, &endpoint)?;

    let origin = parts.headers.get(http::header::ORIGIN).cloned();
    let method = parts.method.clone();
    let bucket = endpoint.bucket().map(str::to_string);
    let ctx = RequestContext { parts, query, auth };
    let result = dispatch(state, ctx, body, endpoint).await;
    match (origin, bucket) {
        (Some(origin), Some(bucket)) => {
            cors::annotate(state, &bucket, &origin, &method, result).await
        }
        _ => result,
    }
}

/// Whether the caller may scrape metrics (see [`metrics_auth`]): anyone when
/// they are public, else root or an `admin:Prometheus` user, by SigV4 or a
/// bearer token.
fn authorize_scrape<S: Catalog + 'static>(
    state: &AppState<S>,
    parts: &http::request::Parts,
    facts: &mut AuditFacts,
) -> Result<(), ApiError> {
    if state.config.metrics_auth == metrics_auth::MetricsAuth::Public {
        return Ok(());
    }
    let bearer = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.get(..7)
                .filter(|scheme| scheme.eq_ignore_ascii_case("bearer "))
                .map(|_| v[7..].trim())
        });
    let access_key = match bearer {
        Some(token) => {
            match metrics_auth::verify_token(token, state.secrets.as_ref(), SystemTime::now()) {
                Ok(access_key) => access_key,
                Err(error) => {
                    facts.authentication_failed = true;
                    return Err(ApiError::with_message(
                        S3Code::AccessDenied,
                        format!("The bearer token was refused: {error}"),
                    ));
                }
            }
        }
        None => match auth::authenticate_with_cache(
            parts,
            state.secrets.as_ref(),
            &state.signing_keys,
            SystemTime::now(),
        ) {
            Ok(auth) => match auth.identity {
                Identity::AccessKey(access_key) => access_key,
                Identity::Anonymous => {
                    facts.denied = true;
                    return Err(ApiError::new(S3Code::AccessDenied));
                }
            },
            Err(error) => {
                facts.authentication_failed = true;
                facts.access_key = audit::claimed_access_key(parts);
                return Err(error.into());
            }
        },
    };
    let allowed = state.iam.is_allowed(
        Some(&access_key),
        None,
        &AccessRequest {
            action: metrics_auth::PROMETHEUS_ACTION,
            bucket: None,
            key: None,
        },
    );
    facts.access_key = Some(access_key);
    if allowed {
        Ok(())
    } else {
        facts.denied = true;
        Err(ApiError::new(S3Code::AccessDenied))
    }
}

/// `/minio/health/{live,ready,cluster}`: 200 or 503 with an empty body.
async fn health_response<S: Maintenance>(
    state: &AppState<S>,
    parts: &http::request::Parts,
) -> Result<Response<ResponseBody>, ApiError> {
    if !matches!(parts.method, Method::GET | Method::HEAD) {
        return Err(ApiError::new(S3Code::MethodNotAllowed));
    }
    let Some(check) = HealthCheck::from_path(parts.uri.path()) else {
        return Err(ApiError::not_implemented(parts.uri.path()));
    };
    let status = if health::check(state.store.as_ref(), check).await {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = empty_response(status);
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    // MinIO's cluster check stays 200 while it heals and says so in this
    // header: a load balancer keeps sending traffic, an operator sees that
    // losing another drive now could lose data.
    if check == HealthCheck::Cluster && !state.store.heal_status().redundancy_full {
        response
            .headers_mut()
            .insert("x-minio-healing", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Prometheus text: request metrics plus drive state and the external
/// sources' samples, read at scrape time.
async fn metrics_response<S: Maintenance>(
    state: &AppState<S>,
    parts: &http::request::Parts,
) -> Result<Response<ResponseBody>, ApiError> {
    if !matches!(parts.method, Method::GET | Method::HEAD) {
        return Err(ApiError::new(S3Code::MethodNotAllowed));
    }
    let mut samples = drive_samples(&state.store.drive_status().await);
    samples.extend(heal_samples(&state.store.heal_status()));
    samples.push(ExternalSample {
        name: "minnow_uptime_seconds".into(),
        help: "Seconds since the server started.".into(),
        kind: "gauge",
        labels: Vec::new(),
        value: state.started.elapsed().as_secs_f64(),
    });
    if let Some(source) = &state.sample_source {
        samples.extend(source());
    }
    let text = state.metrics.render(&samples);
    Ok(bytes_response(
        text,
        "text/plain; version=0.0.4; charset=utf-8",
    ))
}

/// Heal progress gauges: what the running (or last) heal walk has done and
/// has left, what waits in the queue, and whether redundancy is full. A
/// dashboard's rate is `rate(minnow_heal_objects_done[5m])`, its time left
/// `minnow_heal_objects_left / that rate`.
pub fn heal_samples(status: &store::api::HealStatus) -> Vec<ExternalSample> {
    let gauge = |name: &str, help: &str, value: f64| ExternalSample {
        name: name.to_string(),
        help: help.to_string(),
        kind: "gauge",
        labels: Vec::new(),
        value,
    };
    vec![
        gauge(
            "minnow_heal_running",
            "1 while a heal walk runs.",
            f64::from(u8::from(status.running)),
        ),
        gauge(
            "minnow_heal_objects_done",
            "Objects the running (or last) heal walk has visited.",
            status.objects_done as f64,
        ),
        gauge(
            "minnow_heal_objects_left",
            "Objects the running heal walk has yet to visit.",
            status.objects_left as f64,
        ),
        gauge(
            "minnow_heal_bytes_done",
            "Bytes of the objects the heal walk has visited.",
            status.bytes_done as f64,
        ),
        gauge(
            "minnow_heal_bytes_left",
            "Bytes of the objects the heal walk has yet to visit.",
            status.bytes_left as f64,
        ),
        gauge(
            "minnow_heal_queued_objects",
            "Single objects waiting in the heal queue.",
            status.queued_objects as f64,
        ),
        gauge(
            "minnow_heal_drives_healing",
            "Drives that missed writes or came back fresh and are not whole yet.",
            status.drives_healing.len() as f64,
        ),
        gauge(
            "minnow_redundancy_full",
            "1 when every drive is online and whole: the loss of parity drives loses nothing.",
            f64::from(u8::from(status.redundancy_full)),
        ),
    ]
}

/// Drive gauges: online state and space per drive, online/offline counts.
pub fn drive_samples(drives: &[store::api::DriveStatus]) -> Vec<ExternalSample> {
    let mut samples = Vec::with_capacity(drives.len() * 3 + 2);
    let gauge =
        |name: &str, help: &str, labels: Vec<(String, String)>, value: f64| ExternalSample {
            name: name.to_string(),
            help: help.to_string(),
            kind: "gauge",
            labels,
            value,
        };
    for (field, help) in [
        ("online", "1 when the drive is online."),
        ("free_bytes", "Free bytes on the drive's file system."),
        ("total_bytes", "Size of the drive's file system in bytes."),
    ] {
        for drive in drives {
            let value = match field {
                "online" => f64::from(u8::from(drive.online)),
                "free_bytes" => drive.free_bytes as f64,
                _ => drive.total_bytes as f64,
            };
            samples.push(gauge(
                &format!("minnow_drive_{field}"),
                help,
                vec![("drive".to_string(), drive.path.clone())],
                value,
            ));
        }
    }
    let online = drives.iter().filter(|d| d.online).count();
    samples.push(gauge(
        "minnow_drives_online",
        "Drives online.",
        Vec::new(),
        online as f64,
    ));
    samples.push(gauge(
        "minnow_drives_offline",
        "Drives offline.",
        Vec::new(),
        (drives.len() - online) as f64,
    ));
    samples
}

/// Who may do what to one bucket: the caller, and the bucket policy looked
/// up once for all the checks of a request.
pub(crate) struct AccessCheck<'a, S> {
    iam: &'a Iam<S>,
    access_key: Option<&'a str>,
    bucket_policy: Option<Arc<PolicyDocument>>,
}

impl<'a, S: Catalog + 'static> AccessCheck<'a, S> {
    /// Loads the bucket policy unless the caller is root. A bucket that
    /// does not exist has no policy (the handler reports it, to those
    /// allowed to know).
    pub async fn new(
        iam: &'a Iam<S>,
        identity: &'a Identity,
        bucket: Option<&str>,
    ) -> Result<AccessCheck<'a, S>, ApiError> {
        let access_key = match identity {
            Identity::AccessKey(key) => Some(key.as_str()),
            Identity::Anonymous => None,
        };
        let root = access_key.is_some_and(|key| iam.is_root(key));
        let bucket_policy = match bucket {
            Some(bucket) if !root => match iam.bucket_policy(bucket).await {
                Ok(policy) => policy,
                Err(StoreError::NoSuchBucket(_)) | Err(StoreError::InvalidBucketName(_)) => None,
                Err(error) => return Err(error.into()),
            },
            _ => None,
        };
        Ok(AccessCheck {
            iam,
            access_key,
            bucket_policy,
        })
    }

    /// Whether `action` on `bucket`/`key` is allowed.
    pub fn allows(&self, action: &str, bucket: Option<&str>, key: Option<&str>) -> bool {
        self.iam.is_allowed(
            self.access_key,
            self.bucket_policy.as_deref(),
            &AccessRequest {
                action,
                bucket,
                key,
            },
        )
    }
}

/// The access decision: may `identity` perform `endpoint`? Root may do
/// everything; users per their policies and the bucket policy; anonymous
/// callers per the bucket policy only. A copy also needs `s3:GetObject` on
/// its source. DeleteObjects is decided per key by its handler.
pub async fn authorize<S: Catalog + 'static>(
    state: &AppState<S>,
    identity: &Identity,
    endpoint: &Endpoint,
    headers: &http::HeaderMap,
) -> Result<(), ApiError> {
    if let Identity::AccessKey(key) = identity {
        if state.iam.is_root(key) {
            return Ok(());
        }
    }
    let denied = || ApiError::new(S3Code::AccessDenied);
    let Some(action) = endpoint.action() else {
        // Operations minnow does not implement: a signature is enough to
        // learn that.
        return match identity {
            Identity::AccessKey(_) => Ok(()),
            Identity::Anonymous => Err(denied()),
        };
    };
    if matches!(endpoint, Endpoint::DeleteObjects { .. }) {
        return Ok(());
    }
    let bucket = endpoint.bucket();
    let check = AccessCheck::new(&state.iam, identity, bucket).await?;
    if !check.allows(action, bucket, endpoint.key()) {
        return Err(denied());
    }
    if matches!(
        endpoint,
        Endpoint::CopyObject { .. } | Endpoint::UploadPartCopy { .. }
    ) {
        if let Some(source) = headers
            .get("x-amz-copy-source")
            .and_then(|v| v.to_str().ok())
        {
            // A malformed source is the handler's InvalidArgument to report.
            if let Ok((source_bucket, source_key)) = object::parse_copy_source(source) {
                let source_check =
                    AccessCheck::new(&state.iam, identity, Some(&source_bucket)).await?;
                if !source_check.allows("s3:GetObject", Some(&source_bucket), Some(&source_key)) {
                    return Err(denied());
                }
            }
        }
    }
    Ok(())
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
        DeleteObject { bucket, key } => object::delete_object(state, &ctx, &bucket, &key).await,
        GetObjectAcl { bucket, key } => object::get_object_acl(state, &bucket, &key).await,
        GetObjectTagging { bucket, key } => tagging::get_tagging(state, &bucket, &key).await,
        PutObjectTagging { bucket, key } => {
            tagging::put_tagging(state, &ctx, body, &bucket, &key).await
        }
        DeleteObjectTagging { bucket, key } => tagging::delete_tagging(state, &bucket, &key).await,
        GetObjectAttributes { bucket, key } => {
            object::get_object_attributes(state, &ctx, &bucket, &key).await
        }
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
        // Served before authentication, in `serve`.
        PostObject { .. } => Err(ApiError::new(S3Code::MethodNotAllowed)),
        MinioHealth { path } => Err(ApiError::not_implemented(&format!("/minio/health/{path}"))),
        MinioAdmin { path } => Err(ApiError::not_implemented(&format!("/minio/admin/{path}"))),
        Metrics | CorsPreflight { .. } => Err(ApiError::new(S3Code::MethodNotAllowed)),
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

/// A body that adds the bytes passing through it to the metrics: request
/// bodies as received (`Metrics::add_bytes_in`), response bodies as sent
/// (`Metrics::add_bytes_out`).
struct CountingBody<B> {
    inner: B,
    metrics: Arc<Metrics>,
    count: fn(&Metrics, u64),
}

impl<B> CountingBody<B> {
    fn request(inner: B, metrics: Arc<Metrics>) -> Self {
        Self {
            inner,
            metrics,
            count: Metrics::add_bytes_in,
        }
    }

    fn response(inner: B, metrics: Arc<Metrics>) -> Self {
        Self {
            inner,
            metrics,
            count: Metrics::add_bytes_out,
        }
    }
}

impl<B> Body for CountingBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                (this.count)(&this.metrics, data.len() as u64);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
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
    collect_small_body_checked(ctx, body, limit, required_digest, true).await
}

/// [`collect_small_body`]; with `body_checksum` false an `x-amz-checksum-*`
/// header is not the body's (CompleteMultipartUpload: it is the object's).
pub(crate) async fn collect_small_body_checked<B>(
    ctx: &RequestContext,
    body: B,
    limit: usize,
    required_digest: bool,
    body_checksum: bool,
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
    let checksum = checksum.filter(|_| body_checksum);
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

//! minnow's admin HTTP API: JSON under `/minnow/admin/v1/` on the S3 port,
//! for server info, users, identity policies and heal. Callers sign with
//! SigV4 like any S3 request (authentication happens in `handlers`); this
//! module decides whether the verified caller may use the endpoint
//! (`Iam::is_allowed` with an `admin:<Op>` action: root, or a user whose
//! policies grant it, e.g. `consoleAdmin`) and renders every failure as an
//! RFC 9457 problem document (`application/problem+json`).
//!
//! Endpoints (paths relative to [`ADMIN_PREFIX`]):
//!
//! | method | path | action |
//! | --- | --- | --- |
//! | GET | `info` | `admin:ServerInfo` |
//! | GET | `users` | `admin:ListUsers` |
//! | GET | `users/{ak}` | `admin:GetUser` |
//! | PUT | `users/{ak}` `{"secretKey": ".."}` | `admin:CreateUser` |
//! | DELETE | `users/{ak}` | `admin:DeleteUser` |
//! | PUT | `users/{ak}/status` `{"enabled": bool}` | `admin:EnableUser` / `admin:DisableUser` |
//! | PUT, DELETE | `users/{ak}/policies/{name}` | `admin:AttachUserOrGroupPolicy` |
//! | GET | `policies` | `admin:ListUserPolicies` |
//! | GET | `policies/{name}` | `admin:GetPolicy` |
//! | PUT | `policies/{name}` (policy JSON) | `admin:CreatePolicy` |
//! | DELETE | `policies/{name}` | `admin:DeletePolicy` |
//! | POST | `heal/object?bucket=&key=` | `admin:Heal` |
//! | POST | `heal?bucket=&prefix=` | `admin:Heal` |
//! | GET | `lifecycle` | `admin:ServerInfo` |
//! | GET | `access?bucket=&prefix=` | none: any signed caller, about itself |

pub mod minio_v3;

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};
use store::api::{
    Catalog, DriveStatus, HealReport, HealStatus, ListParams, Maintenance, MultipartStore,
    ObjectStore, StoreError, WorkerInfo, WorkerState,
};

use crate::auth::AuthError;
use crate::handlers::{bytes_response, empty_response};
use crate::ResponseBody;
use iam::policy::{AccessRequest, PolicyDocument, PolicyError, CANNED_POLICIES};
use iam::{Iam, IamError, UserInfo};

/// Where the admin API lives on the S3 port.
pub const ADMIN_PREFIX: &str = "/minnow/admin/v1/";

/// `admin info` stops counting objects here and reports "at least".
pub const OBJECT_COUNT_CAP: u64 = 1_000_000;

/// The content type of error bodies (RFC 9457).
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An admin request, routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRoute {
    Info,
    /// The lifecycle scanner's last cycle and coming expiries.
    Lifecycle,
    /// The caller's own rights on a bucket (or on none: bucket creation),
    /// object writes judged for keys under `prefix`.
    MyAccess {
        bucket: Option<String>,
        prefix: String,
    },
    ListUsers,
    GetUser(String),
    PutUser(String),
    DeleteUser(String),
    SetUserStatus(String),
    AttachPolicy {
        user: String,
        policy: String,
    },
    DetachPolicy {
        user: String,
        policy: String,
    },
    ListPolicies,
    GetPolicy(String),
    PutPolicy(String),
    DeletePolicy(String),
    HealObject {
        bucket: String,
        key: String,
    },
    Heal {
        bucket: Option<String>,
        prefix: String,
    },
}

impl AdminRoute {
    /// The policy action the caller needs. `body` decides enable vs disable.
    fn action(&self, body: &Bytes) -> &'static str {
        match self {
            // A read about the server, like `info`.
            AdminRoute::Info | AdminRoute::Lifecycle => "admin:ServerInfo",
            // Checked by `authorize`: only about the caller itself.
            AdminRoute::MyAccess { .. } => "",
            AdminRoute::ListUsers => "admin:ListUsers",
            AdminRoute::GetUser(_) => "admin:GetUser",
            AdminRoute::PutUser(_) => "admin:CreateUser",
            AdminRoute::DeleteUser(_) => "admin:DeleteUser",
            AdminRoute::SetUserStatus(_) => match serde_json::from_slice::<StatusBody>(body) {
                Ok(StatusBody { enabled: true }) => "admin:EnableUser",
                _ => "admin:DisableUser",
            },
            AdminRoute::AttachPolicy { .. } | AdminRoute::DetachPolicy { .. } => {
                "admin:AttachUserOrGroupPolicy"
            }
            AdminRoute::ListPolicies => "admin:ListUserPolicies",
            AdminRoute::GetPolicy(_) => "admin:GetPolicy",
            AdminRoute::PutPolicy(_) => "admin:CreatePolicy",
            AdminRoute::DeletePolicy(_) => "admin:DeletePolicy",
            AdminRoute::HealObject { .. } | AdminRoute::Heal { .. } => "admin:Heal",
        }
    }
}

/// An RFC 9457 problem: what went wrong, for machines (`type`, `status`) and
/// people (`title`, `detail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `urn:minnow:admin:no-such-user`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Methods the path accepts (only for 405; sent as `Allow`).
    #[serde(skip)]
    pub allow: Option<&'static str>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("urn:minnow:admin:{slug}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            allow: None,
        }
    }

    fn not_found(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such admin endpoint",
            detail,
        )
    }

    fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "Invalid request",
            detail,
        )
    }

    fn method_not_allowed(method: &Method, allow: &'static str) -> Self {
        let mut problem = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            format!("{method} is not allowed here; use {allow}"),
        );
        problem.allow = Some(allow);
        problem
    }

    /// A refused signature or unknown key, for the handlers to answer admin
    /// requests that fail authentication in the admin API's own format.
    pub fn from_auth_error(error: &AuthError) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "authentication-failed",
            "Authentication failed",
            error.to_string(),
        )
    }

    /// Renders the problem as an HTTP response.
    pub fn to_response(&self) -> Response<ResponseBody> {
        let json = serde_json::to_vec(self).expect("problems always serialise");
        let mut response = bytes_response(json, PROBLEM_CONTENT_TYPE);
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(allow) = self.allow {
            response
                .headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

impl From<IamError> for Problem {
    fn from(error: IamError) -> Self {
        match error {
            IamError::NoSuchUser(_) => Problem::new(
                StatusCode::NOT_FOUND,
                "no-such-user",
                "No such user",
                error.to_string(),
            ),
            IamError::NoSuchPolicy(_) => Problem::new(
                StatusCode::NOT_FOUND,
                "no-such-policy",
                "No such policy",
                error.to_string(),
            ),
            IamError::InvalidCredentials(_) | IamError::WeakRootCredentials(_) => Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-credentials",
                "Invalid access key or secret key",
                error.to_string(),
            ),
            IamError::InvalidPolicy(_) => Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed-policy",
                "The policy is malformed or unsupported",
                error.to_string(),
            ),
            IamError::Corrupt(_) => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "identity-data-corrupt",
                "Identity data is corrupt",
                error.to_string(),
            ),
            IamError::Store(store) => store.into(),
        }
    }
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Self {
        let (status, slug, title) = match &error {
            StoreError::NoSuchBucket(_) => {
                (StatusCode::NOT_FOUND, "no-such-bucket", "No such bucket")
            }
            StoreError::NoSuchKey { .. } => {
                (StatusCode::NOT_FOUND, "no-such-object", "No such object")
            }
            StoreError::InvalidBucketName(_)
            | StoreError::InvalidKey(_)
            | StoreError::KeyTooLong
            | StoreError::InvalidArgument(_) => (
                StatusCode::BAD_REQUEST,
                "invalid-request",
                "Invalid request",
            ),
            StoreError::WriteQuorum { .. } | StoreError::ReadQuorum { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "quorum-lost",
                "Not enough drives online",
            ),
            StoreError::Corrupt(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "corrupt",
                "Data is corrupt beyond repair",
            ),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal-error",
                "Internal error",
            ),
        };
        Problem::new(status, slug, title, error.to_string())
    }
}

impl From<PolicyError> for Problem {
    fn from(error: PolicyError) -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-policy",
            "The policy is malformed or unsupported",
            error.to_string(),
        )
    }
}

/// `GET info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    /// `online` (every drive), `degraded` (quorum holds with drives
    /// missing) or `offline` (no quorum).
    pub state: String,
    pub version: String,
    pub uptime_seconds: u64,
    /// e.g. `EC 2+2`.
    pub layout: String,
    pub data_shards: usize,
    pub parity_shards: usize,
    pub drives: Vec<DriveInfo>,
    pub buckets: u64,
    pub objects: u64,
    /// True when counting stopped at [`OBJECT_COUNT_CAP`] (`objects` is a lower bound).
    pub objects_capped: bool,
    pub total_bytes: u64,
    pub free_bytes: u64,
    /// The background workers and what each is doing (absent from older
    /// servers, hence the defaults).
    #[serde(default)]
    pub workers: Vec<WorkerView>,
    #[serde(default)]
    pub heal: HealView,
    /// Where the audit log goes (absent from older servers and in-process
    /// servers without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditView>,
}

/// The audit log in `GET info`: where its lines go and which requests
/// they record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    /// `file` or `stderr`.
    pub destination: String,
    /// The file (`MINNOW_AUDIT_LOG`), when the destination is a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Every request (`MINNOW_AUDIT_LOG_ALL`), or only admin calls,
    /// authentication failures and denials.
    pub all_requests: bool,
}

impl From<&crate::handlers::audit::AuditSink> for AuditView {
    fn from(sink: &crate::handlers::audit::AuditSink) -> Self {
        use crate::handlers::audit::AuditDestination;
        let (destination, path) = match sink.destination() {
            AuditDestination::Stderr => ("stderr", None),
            AuditDestination::File(path) => ("file", Some(path.display().to_string())),
        };
        AuditView {
            destination: destination.to_string(),
            path,
            all_requests: sink.records_all_requests(),
        }
    }
}

/// What the admin API reports about the running server beyond the store:
/// when it started (uptime), where its audit log goes and what the
/// lifecycle scanner last saw.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub started: Instant,
    pub audit: Option<AuditView>,
    /// The running lifecycle scanner (`None`: no scanner in this process).
    pub lifecycle: Option<LifecycleSource>,
}

impl From<Instant> for Runtime {
    fn from(started: Instant) -> Self {
        Runtime {
            started,
            audit: None,
            lifecycle: None,
        }
    }
}

/// Reads the lifecycle scanner's report (set by the binary, which owns the
/// scanner).
#[derive(Clone)]
pub struct LifecycleSource(pub std::sync::Arc<dyn Fn() -> lifecycle::ScannerReport + Send + Sync>);

impl std::fmt::Debug for LifecycleSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LifecycleSource")
    }
}

/// `GET lifecycle`: the scanner's last completed cycle and, per bucket and
/// rule, the objects that fall due next (as of that cycle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleView {
    /// Whether this server runs a scanner at all.
    pub running: bool,
    /// `None` until a cycle finished since the server started.
    pub last_cycle: Option<CycleView>,
    pub rules: Vec<RuleForecastView>,
}

/// When a scanner cycle ran; times are RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CycleView {
    pub started: String,
    pub ended: String,
    pub duration_ms: u64,
}

/// One rule's coming expiries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleForecastView {
    pub bucket: String,
    pub rule_id: String,
    /// The soonest objects due, soonest first.
    pub soonest: Vec<ExpiryView>,
    /// Objects falling due at each of the next 8 midnights (UTC).
    pub per_day: Vec<DayCountView>,
    /// Objects due after those days.
    pub later: u64,
    /// Every object the rule will expire.
    pub objects: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpiryView {
    pub key: String,
    pub expires: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DayCountView {
    /// The midnight (RFC 3339) by which these objects expire.
    pub due_by: String,
    pub objects: u64,
}

/// Whole seconds: people read these.
fn rfc3339(at: std::time::SystemTime) -> String {
    let at = time::OffsetDateTime::from(at);
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl LifecycleView {
    fn of(source: Option<&LifecycleSource>) -> Self {
        let Some(source) = source else {
            return LifecycleView {
                running: false,
                last_cycle: None,
                rules: Vec::new(),
            };
        };
        let report = (source.0)();
        LifecycleView {
            running: true,
            last_cycle: report.last_cycle.map(|cycle| CycleView {
                started: rfc3339(cycle.started),
                ended: rfc3339(cycle.ended),
                duration_ms: u64::try_from(cycle.duration.as_millis()).unwrap_or(u64::MAX),
            }),
            rules: report
                .rules
                .into_iter()
                .map(|rule| RuleForecastView {
                    bucket: rule.bucket,
                    rule_id: rule.rule_id,
                    soonest: rule
                        .soonest
                        .into_iter()
                        .map(|e| ExpiryView {
                            key: e.key,
                            expires: rfc3339(e.at),
                        })
                        .collect(),
                    per_day: rule
                        .per_day
                        .into_iter()
                        .map(|d| DayCountView {
                            due_by: rfc3339(d.due_by),
                            objects: d.objects,
                        })
                        .collect(),
                    later: rule.later,
                    objects: rule.objects,
                })
                .collect(),
        }
    }
}

/// One background worker in `GET info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerView {
    /// e.g. `heal-walk`.
    pub name: String,
    /// `idle`, `active` or `stopped`.
    pub state: String,
    /// How it paces itself, in words.
    pub pacing: String,
}

impl From<&WorkerInfo> for WorkerView {
    fn from(worker: &WorkerInfo) -> Self {
        let state = match worker.state {
            WorkerState::Idle => "idle",
            WorkerState::Active => "active",
            WorkerState::Stopped => "stopped",
        };
        WorkerView {
            name: worker.name.clone(),
            state: state.to_string(),
            pacing: worker.pacing.clone(),
        }
    }
}

/// Heal progress in `GET info`, `minnow heal --status` and `--wait`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HealView {
    /// A heal walk is running.
    pub running: bool,
    pub objects_done: u64,
    pub objects_left: u64,
    pub bytes_done: u64,
    pub bytes_left: u64,
    /// Single objects waiting in the heal queue.
    pub queued_objects: u64,
    pub drives_offline: usize,
    /// Drive positions (from 0) not yet filled by a complete walk.
    pub drives_healing: Vec<usize>,
    /// The store survives the loss of `parity` drives again.
    pub redundancy_full: bool,
}

impl From<&HealStatus> for HealView {
    fn from(status: &HealStatus) -> Self {
        HealView {
            running: status.running,
            objects_done: status.objects_done,
            objects_left: status.objects_left,
            bytes_done: status.bytes_done,
            bytes_left: status.bytes_left,
            queued_objects: status.queued_objects,
            drives_offline: status.drives_offline,
            drives_healing: status.drives_healing.clone(),
            redundancy_full: status.redundancy_full,
        }
    }
}

/// One drive in `GET info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriveInfo {
    pub index: usize,
    pub path: String,
    /// `online`, `offline`, or `fresh` (formatted at this start: heal fills it).
    pub state: String,
    pub total_bytes: u64,
    pub free_bytes: u64,
}

impl From<&DriveStatus> for DriveInfo {
    fn from(drive: &DriveStatus) -> Self {
        let state = if !drive.online {
            "offline"
        } else if drive.fresh {
            "fresh"
        } else {
            "online"
        };
        DriveInfo {
            index: drive.index,
            path: drive.path.clone(),
            state: state.to_string(),
            total_bytes: drive.total_bytes,
            free_bytes: drive.free_bytes,
        }
    }
}

/// A user as the admin API shows it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub access_key: String,
    pub enabled: bool,
    pub policies: Vec<String>,
    /// False when the secret was sealed under other root credentials.
    pub usable: bool,
}

impl From<UserInfo> for UserView {
    fn from(user: UserInfo) -> Self {
        UserView {
            access_key: user.access_key,
            enabled: user.enabled,
            policies: user.policies,
            usable: user.usable,
        }
    }
}

/// `GET users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserList {
    pub users: Vec<UserView>,
}

/// One entry of `GET policies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyEntry {
    pub name: String,
    /// Built in (MinIO's canned policies); cannot be changed or removed.
    pub canned: bool,
}

/// `GET policies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyList {
    pub policies: Vec<PolicyEntry>,
}

/// `PUT users/{ak}` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddUserBody {
    pub secret_key: String,
}

impl std::fmt::Display for AddUserBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AddUserBody { secret_key: <redacted> }")
    }
}

/// `PUT users/{ak}/status` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusBody {
    pub enabled: bool,
}

/// What a heal request did (camelCase view of [`HealReport`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealSummary {
    pub objects_scanned: u64,
    pub objects_healed: u64,
    pub objects_failed: u64,
    pub bytes_rebuilt: u64,
}

impl From<HealReport> for HealSummary {
    fn from(report: HealReport) -> Self {
        HealSummary {
            objects_scanned: report.objects_scanned,
            objects_healed: report.objects_healed,
            objects_failed: report.objects_failed,
            bytes_rebuilt: report.bytes_rebuilt,
        }
    }
}

/// Largest admin request body (users and policy documents are small).
pub const MAX_ADMIN_BODY: usize = 1024 * 1024;

/// Whether a request path belongs to the admin API.
pub fn is_admin_path(path: &str) -> bool {
    path.starts_with(ADMIN_PREFIX) || path == ADMIN_PREFIX.trim_end_matches('/')
}

/// Serves a whole admin HTTP request: authenticates it with SigV4 against
/// `iam` (root and users), verifies and collects its body (at most
/// [`MAX_ADMIN_BODY`]), then [`handle`]s it. This is what the request
/// pipeline calls for paths where [`is_admin_path`] holds.
pub async fn serve_request<S, B>(
    iam: &Iam<S>,
    store: &S,
    parts: &http::request::Parts,
    body: B,
    runtime: impl Into<Runtime>,
) -> Response<ResponseBody>
where
    S: ObjectStore + Catalog + MultipartStore + Maintenance + 'static,
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<crate::BoxError>,
{
    let authenticated = match crate::auth::authenticate(parts, iam, std::time::SystemTime::now()) {
        Ok(authenticated) => authenticated,
        Err(error) => return Problem::from_auth_error(&error).to_response(),
    };
    let verified = match crate::auth::verified_body(body, &authenticated, &parts.headers) {
        Ok(verified) => verified,
        Err(error) => return Problem::from_auth_error(&error).to_response(),
    };
    let bytes = match collect_limited(verified.stream, MAX_ADMIN_BODY).await {
        Ok(bytes) => bytes,
        Err(problem) => {
            return match verified.failure.get() {
                Some(error) => Problem::from_auth_error(error).to_response(),
                None => problem.to_response(),
            }
        }
    };
    let path = parts
        .uri
        .path()
        .strip_prefix(ADMIN_PREFIX)
        .unwrap_or_default();
    handle(
        iam,
        store,
        authenticated.access_key(),
        &parts.method,
        path,
        parts.uri.query(),
        bytes,
        runtime,
    )
    .await
}

async fn collect_limited(
    mut stream: store::api::ByteStream,
    limit: usize,
) -> Result<Bytes, Problem> {
    use futures::StreamExt as _;
    let mut collected = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| Problem::bad_request(format!("the request body failed: {e}")))?;
        if collected.len() + chunk.len() > limit {
            return Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                "The request body is too large",
                format!("admin request bodies are limited to {limit} bytes"),
            ));
        }
        collected.extend_from_slice(&chunk);
    }
    Ok(collected.freeze())
}

/// Serves one admin request. `caller` is the verified access key (`None`
/// for anonymous requests, which are always refused), `path` the
/// percent-encoded request path after [`ADMIN_PREFIX`], `runtime` when the
/// server started (for uptime) and where its audit log goes. Never fails:
/// errors become problem documents.
#[allow(clippy::too_many_arguments)]
pub async fn handle<S>(
    iam: &Iam<S>,
    store: &S,
    caller: Option<&str>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: Bytes,
    runtime: impl Into<Runtime>,
) -> Response<ResponseBody>
where
    S: ObjectStore + Catalog + MultipartStore + Maintenance + 'static,
{
    let runtime = runtime.into();
    match serve(iam, store, caller, method, path, query, body, &runtime).await {
        Ok(response) => response,
        Err(problem) => {
            if problem.status >= 500 {
                tracing::warn!(%method, path, status = problem.status, detail = %problem.detail, "admin request failed");
            }
            problem.to_response()
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn serve<S>(
    iam: &Iam<S>,
    store: &S,
    caller: Option<&str>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: Bytes,
    runtime: &Runtime,
) -> Result<Response<ResponseBody>, Problem>
where
    S: ObjectStore + Catalog + MultipartStore + Maintenance + 'static,
{
    let route = route(method, path, query)?;
    authorize(iam, caller, &route, &body)?;
    match route {
        AdminRoute::Info => json_response(&server_info(store, runtime).await?),
        AdminRoute::Lifecycle => json_response(&LifecycleView::of(runtime.lifecycle.as_ref())),
        AdminRoute::MyAccess { bucket, prefix } => {
            let caller = caller.unwrap_or_default();
            json_response(&my_access(iam, caller, bucket.as_deref(), &prefix).await?)
        }
        AdminRoute::ListUsers => json_response(&UserList {
            users: iam.list_users().into_iter().map(UserView::from).collect(),
        }),
        AdminRoute::GetUser(user) => json_response(&user_view(iam, &user)?),
        AdminRoute::PutUser(user) => {
            let request: AddUserBody = parse_json(&body)?;
            iam.add_user(&user, &request.secret_key).await?;
            json_response(&user_view(iam, &user)?)
        }
        AdminRoute::DeleteUser(user) => {
            iam.remove_user(&user).await?;
            Ok(empty_response(StatusCode::NO_CONTENT))
        }
        AdminRoute::SetUserStatus(user) => {
            let request: StatusBody = parse_json(&body)?;
            iam.set_enabled(&user, request.enabled).await?;
            json_response(&user_view(iam, &user)?)
        }
        AdminRoute::AttachPolicy { user, policy } => {
            iam.set_policy(&user, &policy, true).await?;
            json_response(&user_view(iam, &user)?)
        }
        AdminRoute::DetachPolicy { user, policy } => {
            iam.set_policy(&user, &policy, false).await?;
            json_response(&user_view(iam, &user)?)
        }
        AdminRoute::ListPolicies => json_response(&PolicyList {
            policies: iam
                .list_policies()
                .into_iter()
                .map(|name| PolicyEntry {
                    canned: CANNED_POLICIES.contains(&name.as_str()),
                    name,
                })
                .collect(),
        }),
        AdminRoute::GetPolicy(name) => match iam.get_policy(&name) {
            Some(doc) => Ok(bytes_response(doc.to_json(), "application/json")),
            None => Err(IamError::NoSuchPolicy(name).into()),
        },
        AdminRoute::PutPolicy(name) => {
            refuse_canned(&name)?;
            validate_policy_name(&name)?;
            let doc = PolicyDocument::parse(&body)?;
            iam.put_policy(&name, doc).await?;
            Ok(empty_response(StatusCode::NO_CONTENT))
        }
        AdminRoute::DeletePolicy(name) => {
            refuse_canned(&name)?;
            iam.remove_policy(&name).await?;
            Ok(empty_response(StatusCode::NO_CONTENT))
        }
        AdminRoute::HealObject { bucket, key } => {
            let report = store.heal_object(&bucket, &key).await?;
            json_response(&HealSummary::from(report))
        }
        AdminRoute::Heal { bucket, prefix } => {
            if bucket.is_none() && !prefix.is_empty() {
                return Err(Problem::bad_request("a prefix needs a bucket"));
            }
            let report = store.heal(bucket.as_deref(), &prefix).await?;
            json_response(&HealSummary::from(report))
        }
    }
}

/// Maps method + path + query to an endpoint, or a 404/405 problem.
pub fn route(method: &Method, path: &str, query: Option<&str>) -> Result<AdminRoute, Problem> {
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(|s| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|d| d.into_owned())
                .map_err(|_| Problem::bad_request("the path is not valid UTF-8"))
        })
        .collect::<Result<_, _>>()?;
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let params = QueryParams::parse(query.unwrap_or(""));
    let is = |allowed: &Method| method == allowed;
    let route = match segments.as_slice() {
        ["info"] if is(&Method::GET) => AdminRoute::Info,
        ["info"] => return Err(Problem::method_not_allowed(method, "GET")),
        ["lifecycle"] if is(&Method::GET) => AdminRoute::Lifecycle,
        ["lifecycle"] => return Err(Problem::method_not_allowed(method, "GET")),
        ["access"] if is(&Method::GET) => AdminRoute::MyAccess {
            bucket: params
                .get("bucket")
                .filter(|b| !b.is_empty())
                .map(str::to_string),
            prefix: params.get("prefix").unwrap_or("").to_string(),
        },
        ["access"] => return Err(Problem::method_not_allowed(method, "GET")),
        ["users"] if is(&Method::GET) => AdminRoute::ListUsers,
        ["users"] => return Err(Problem::method_not_allowed(method, "GET")),
        ["users", user] if !user.is_empty() => match *method {
            Method::GET => AdminRoute::GetUser(user.to_string()),
            Method::PUT => AdminRoute::PutUser(user.to_string()),
            Method::DELETE => AdminRoute::DeleteUser(user.to_string()),
            _ => return Err(Problem::method_not_allowed(method, "GET, PUT, DELETE")),
        },
        ["users", user, "status"] if !user.is_empty() => match *method {
            Method::PUT => AdminRoute::SetUserStatus(user.to_string()),
            _ => return Err(Problem::method_not_allowed(method, "PUT")),
        },
        ["users", user, "policies", policy] if !user.is_empty() && !policy.is_empty() => {
            let (user, policy) = (user.to_string(), policy.to_string());
            match *method {
                Method::PUT => AdminRoute::AttachPolicy { user, policy },
                Method::DELETE => AdminRoute::DetachPolicy { user, policy },
                _ => return Err(Problem::method_not_allowed(method, "PUT, DELETE")),
            }
        }
        ["policies"] if is(&Method::GET) => AdminRoute::ListPolicies,
        ["policies"] => return Err(Problem::method_not_allowed(method, "GET")),
        ["policies", name] if !name.is_empty() => match *method {
            Method::GET => AdminRoute::GetPolicy(name.to_string()),
            Method::PUT => AdminRoute::PutPolicy(name.to_string()),
            Method::DELETE => AdminRoute::DeletePolicy(name.to_string()),
            _ => return Err(Problem::method_not_allowed(method, "GET, PUT, DELETE")),
        },
        ["heal", "object"] if is(&Method::POST) => {
            let bucket = params
                .get("bucket")
                .filter(|b| !b.is_empty())
                .ok_or_else(|| Problem::bad_request("the bucket parameter is required"))?;
            let key = params
                .get("key")
                .filter(|k| !k.is_empty())
                .ok_or_else(|| Problem::bad_request("the key parameter is required"))?;
            AdminRoute::HealObject {
                bucket: bucket.to_string(),
                key: key.to_string(),
            }
        }
        ["heal"] if is(&Method::POST) => AdminRoute::Heal {
            bucket: params
                .get("bucket")
                .filter(|b| !b.is_empty())
                .map(str::to_string),
            prefix: params.get("prefix").unwrap_or("").to_string(),
        },
        ["heal"] | ["heal", "object"] => return Err(Problem::method_not_allowed(method, "POST")),
        _ => {
            return Err(Problem::not_found(format!(
                "{ADMIN_PREFIX}{} is not an admin endpoint",
                path.trim_start_matches('/')
            )))
        }
    };
    Ok(route)
}

fn authorize<S: Catalog + 'static>(
    iam: &Iam<S>,
    caller: Option<&str>,
    route: &AdminRoute,
    body: &Bytes,
) -> Result<(), Problem> {
    let Some(access_key) = caller else {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "access-denied",
            "Access denied",
            "the admin API needs a request signed by root or an admin user",
        ));
    };
    if matches!(route, AdminRoute::MyAccess { .. }) {
        // Anyone signed may learn what they themselves may do.
        return Ok(());
    }
    let action = route.action(body);
    let request = AccessRequest {
        action,
        bucket: None,
        key: None,
    };
    if iam.is_allowed(Some(access_key), None, &request) {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            "access-denied",
            "Access denied",
            format!("{access_key} is not allowed to perform {action}"),
        ))
    }
}

/// The actions `GET access` reports: those behind the console's write
/// buttons.
pub const ACCESS_ACTIONS: &[&str] = &[
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:PutBucketPolicy",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketCORS",
];

/// `GET access`: what the caller may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessView {
    pub access_key: String,
    pub bucket: Option<String>,
    /// The prefix object actions were judged for (absent from older servers).
    #[serde(default)]
    pub prefix: String,
    /// Each of [`ACCESS_ACTIONS`] and whether the caller's policies and
    /// the bucket policy allow it (object actions for keys under the
    /// prefix, i.e. the resource `bucket/prefix*`).
    pub actions: std::collections::BTreeMap<String, bool>,
}

async fn my_access<S: Catalog + 'static>(
    iam: &Iam<S>,
    caller: &str,
    bucket: Option<&str>,
    prefix: &str,
) -> Result<AccessView, Problem> {
    // The key `prefix*` stands for "keys under the prefix": a statement on
    // `bucket/uploads/*` (or `bucket/*`) matches it, one on `bucket/other/*`
    // does not. A narrower statement inside the prefix is not seen here;
    // the S3 API still judges every real key.
    let key_pattern = format!("{prefix}*");
    let policy = match bucket {
        Some(bucket) if !iam.is_root(caller) => match iam.bucket_policy(bucket).await {
            Ok(policy) => policy,
            Err(StoreError::NoSuchBucket(_)) | Err(StoreError::InvalidBucketName(_)) => None,
            Err(error) => return Err(error.into()),
        },
        _ => None,
    };
    let actions = ACCESS_ACTIONS
        .iter()
        .map(|action| {
            let object = matches!(*action, "s3:PutObject" | "s3:DeleteObject");
            let request = AccessRequest {
                action,
                bucket,
                key: (object && bucket.is_some()).then_some(key_pattern.as_str()),
            };
            let allowed = iam.is_allowed(Some(caller), policy.as_deref(), &request);
            (action.to_string(), allowed)
        })
        .collect();
    Ok(AccessView {
        access_key: caller.to_string(),
        bucket: bucket.map(str::to_string),
        prefix: prefix.to_string(),
        actions,
    })
}

fn user_view<S: Catalog + 'static>(iam: &Iam<S>, user: &str) -> Result<UserView, Problem> {
    iam.user_info(user)
        .map(UserView::from)
        .ok_or_else(|| IamError::NoSuchUser(user.to_string()).into())
}

fn refuse_canned(name: &str) -> Result<(), Problem> {
    if CANNED_POLICIES.contains(&name) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "canned-policy",
            "Canned policies cannot be changed",
            format!("{name} is a built-in policy"),
        ));
    }
    Ok(())
}

fn validate_policy_name(name: &str) -> Result<(), Problem> {
    let valid = name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '@'));
    if valid {
        Ok(())
    } else {
        Err(Problem::bad_request(format!(
            "invalid policy name {name:?}: use letters, digits and - _ . + @ (at most 128)"
        )))
    }
}

async fn server_info<S>(store: &S, runtime: &Runtime) -> Result<ServerInfo, Problem>
where
    S: ObjectStore + Catalog + Maintenance,
{
    let drives = store.drive_status().await;
    let (data, parity) = store.erasure_layout();
    let online = drives.iter().filter(|d| d.online).count();
    let state = if online == drives.len() {
        "online"
    } else if crate::health::quorum_holds(&drives, data, parity) {
        "degraded"
    } else {
        "offline"
    };
    let (mut buckets, mut objects, mut objects_capped) = (0u64, 0u64, false);
    // Without quorum listing fails; info still reports the drives.
    if state != "offline" {
        let all = store.list_buckets().await?;
        buckets = all.len() as u64;
        'buckets: for bucket in &all {
            let mut start_after = None;
            loop {
                let listed = store
                    .list_objects(
                        &bucket.name,
                        ListParams {
                            start_after: start_after.take(),
                            max_keys: 1000,
                            ..Default::default()
                        },
                    )
                    .await;
                let page = match listed {
                    Ok(page) => page,
                    // Deleted since the bucket list: nothing left to count
                    // (`minnow heal` asks for info while buckets come and go).
                    Err(StoreError::NoSuchBucket(_)) => break,
                    Err(err) => return Err(err.into()),
                };
                objects += page.objects.len() as u64;
                if objects >= OBJECT_COUNT_CAP {
                    objects_capped = true;
                    break 'buckets;
                }
                if !page.is_truncated || page.next_marker.is_none() {
                    break;
                }
                start_after = page.next_marker;
            }
        }
    }
    Ok(ServerInfo {
        state: state.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime_seconds: runtime.started.elapsed().as_secs(),
        layout: format!("EC {data}+{parity}"),
        data_shards: data,
        parity_shards: parity,
        total_bytes: drives
            .iter()
            .filter(|d| d.online)
            .map(|d| d.total_bytes)
            .sum(),
        free_bytes: drives
            .iter()
            .filter(|d| d.online)
            .map(|d| d.free_bytes)
            .sum(),
        drives: drives.iter().map(DriveInfo::from).collect(),
        buckets,
        objects,
        objects_capped,
        workers: store.workers().iter().map(WorkerView::from).collect(),
        heal: HealView::from(&store.heal_status()),
        audit: runtime.audit.clone(),
    })
}

/// Decoded `name=value` pairs of a query string.
struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    fn parse(query: &str) -> Self {
        let decode = |s: &str| {
            let s = s.replace('+', " ");
            percent_decode_str(&s).decode_utf8_lossy().into_owned()
        };
        QueryParams(
            query
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) => (decode(k), decode(v)),
                    None => (decode(pair), String::new()),
                })
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Problem> {
    serde_json::from_slice(body).map_err(|e| {
        Problem::bad_request(format!("the request body is not the expected JSON: {e}"))
    })
}

fn json_response<T: Serialize>(value: &T) -> Result<Response<ResponseBody>, Problem> {
    let json = serde_json::to_vec(value).map_err(|e| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "Internal error",
            e.to_string(),
        )
    })?;
    Ok(bytes_response(json, "application/json"))
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, Full};

    use super::*;

    #[test]
    fn users_paths_route_by_method() {
        assert_eq!(
            route(&Method::GET, "users", None),
            Ok(AdminRoute::ListUsers)
        );
        assert_eq!(
            route(&Method::PUT, "users/svc", None),
            Ok(AdminRoute::PutUser("svc".into()))
        );
        assert_eq!(
            route(&Method::DELETE, "/users/svc/", None),
            Ok(AdminRoute::DeleteUser("svc".into()))
        );
        assert_eq!(
            route(&Method::PUT, "users/svc/status", None),
            Ok(AdminRoute::SetUserStatus("svc".into()))
        );
        assert_eq!(
            route(&Method::DELETE, "users/svc/policies/readwrite", None),
            Ok(AdminRoute::DetachPolicy {
                user: "svc".into(),
                policy: "readwrite".into()
            })
        );
        assert_eq!(
            route(&Method::GET, "users/a%40b", None),
            Ok(AdminRoute::GetUser("a@b".into()))
        );
    }

    #[test]
    fn heal_paths_take_bucket_key_and_prefix_from_the_query() {
        assert_eq!(
            route(
                &Method::POST,
                "heal/object",
                Some("bucket=b&key=a%2Fb%20c.png")
            ),
            Ok(AdminRoute::HealObject {
                bucket: "b".into(),
                key: "a/b c.png".into()
            })
        );
        assert_eq!(
            route(&Method::POST, "heal", Some("bucket=b&prefix=temp%2F")),
            Ok(AdminRoute::Heal {
                bucket: Some("b".into()),
                prefix: "temp/".into()
            })
        );
        assert_eq!(
            route(&Method::POST, "heal", None),
            Ok(AdminRoute::Heal {
                bucket: None,
                prefix: String::new()
            })
        );
        let missing_key = route(&Method::POST, "heal/object", Some("bucket=b")).unwrap_err();
        assert_eq!(missing_key.status, 400);
    }

    #[test]
    fn wrong_method_is_405_with_allow_and_unknown_path_is_404() {
        let problem = route(&Method::POST, "users", None).unwrap_err();
        assert_eq!(problem.status, 405);
        let response = problem.to_response();
        assert_eq!(response.headers()[http::header::ALLOW], "GET");
        let problem = route(&Method::GET, "heal", None).unwrap_err();
        assert_eq!(problem.status, 405);
        let problem = route(&Method::GET, "nothing/here", None).unwrap_err();
        assert_eq!(problem.status, 404);
        assert_eq!(problem.kind, "urn:minnow:admin:not-found");
    }

    #[tokio::test]
    async fn problems_render_as_rfc9457_json() {
        let problem: Problem = IamError::NoSuchUser("ghost".into()).into();
        let response = problem.to_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()[http::header::CONTENT_TYPE],
            PROBLEM_CONTENT_TYPE
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["type"], "urn:minnow:admin:no-such-user");
        assert_eq!(json["title"], "No such user");
        assert_eq!(json["status"], 404);
        assert!(json["detail"].as_str().unwrap().contains("ghost"));
    }

    #[test]
    fn store_and_policy_errors_map_to_statuses() {
        let p: Problem = StoreError::NoSuchBucket("b".into()).into();
        assert_eq!(p.status, 404);
        let p: Problem = StoreError::ReadQuorum {
            online: 1,
            needed: 2,
        }
        .into();
        assert_eq!(p.status, 503);
        let p: Problem = PolicyError::Malformed("x".into()).into();
        assert_eq!(p.status, 400);
        let p: Problem = IamError::InvalidCredentials("short".into()).into();
        assert_eq!(p.status, 400);
    }

    #[test]
    fn status_body_picks_enable_or_disable_action() {
        let route = AdminRoute::SetUserStatus("u".into());
        assert_eq!(
            route.action(&Bytes::from_static(br#"{"enabled":true}"#)),
            "admin:EnableUser"
        );
        assert_eq!(
            route.action(&Bytes::from_static(br#"{"enabled":false}"#)),
            "admin:DisableUser"
        );
    }

    #[test]
    fn canned_policies_cannot_be_replaced_and_names_are_checked() {
        assert_eq!(refuse_canned("readwrite").unwrap_err().status, 409);
        assert!(refuse_canned("my-policy").is_ok());
        assert!(validate_policy_name("my-policy.v2").is_ok());
        assert!(validate_policy_name("bad/name").is_err());
    }

    async fn open_store(dir: &std::path::Path) -> std::sync::Arc<store::Store> {
        let drives = (1..=4)
            .map(|i| dir.join(format!("d{i}")))
            .collect::<Vec<_>>();
        for d in &drives {
            std::fs::create_dir_all(d).unwrap();
        }
        std::sync::Arc::new(
            store::Store::open(store::StoreConfig::new(drives))
                .await
                .unwrap(),
        )
    }

    async fn call(
        iam: &Iam<store::Store>,
        store: &store::Store,
        caller: Option<&str>,
        method: Method,
        path: &str,
        body: &str,
    ) -> (u16, serde_json::Value) {
        let response = handle(
            iam,
            store,
            caller,
            &method,
            path,
            None,
            Bytes::from(body.to_string()),
            Instant::now(),
        )
        .await;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, json)
    }

    #[tokio::test]
    async fn only_root_and_admin_policy_users_may_use_the_admin_api() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path()).await;
        let root = iam::RootCredentials {
            access_key: "rootuser".into(),
            secret_key: "rootpassword".into(),
        };
        let iam = Iam::load(store.clone(), root, None).await.unwrap();
        let s = store.as_ref();

        let (status, _) = call(&iam, s, None, Method::GET, "users", "").await;
        assert_eq!(status, 403);
        let (status, user) = call(
            &iam,
            s,
            Some("rootuser"),
            Method::PUT,
            "users/svc",
            r#"{"secretKey":"svc-secret-1"}"#,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(user["accessKey"], "svc");
        assert_eq!(user["enabled"], true);
        // Adding again is fine (idempotent), attaching twice keeps one entry.
        let (status, _) = call(
            &iam,
            s,
            Some("rootuser"),
            Method::PUT,
            "users/svc",
            r#"{"secretKey":"svc-secret-1"}"#,
        )
        .await;
        assert_eq!(status, 200);
        for _ in 0..2 {
            let (status, user) = call(
                &iam,
                s,
                Some("rootuser"),
                Method::PUT,
                "users/svc/policies/readwrite",
                "",
            )
            .await;
            assert_eq!(status, 200);
            assert_eq!(user["policies"], serde_json::json!(["readwrite"]));
        }
        let (status, problem) = call(&iam, s, Some("svc"), Method::GET, "users", "").await;
        assert_eq!(status, 403);
        assert_eq!(problem["type"], "urn:minnow:admin:access-denied");

        call(
            &iam,
            s,
            Some("rootuser"),
            Method::PUT,
            "users/ops",
            r#"{"secretKey":"ops-secret-1"}"#,
        )
        .await;
        call(
            &iam,
            s,
            Some("rootuser"),
            Method::PUT,
            "users/ops/policies/consoleAdmin",
            "",
        )
        .await;
        let (status, list) = call(&iam, s, Some("ops"), Method::GET, "users", "").await;
        assert_eq!(status, 200);
        assert_eq!(list["users"].as_array().unwrap().len(), 2);

        let (status, _) = call(
            &iam,
            s,
            Some("rootuser"),
            Method::PUT,
            "users/ops/status",
            r#"{"enabled":false}"#,
        )
        .await;
        assert_eq!(status, 200);
        let (status, _) = call(&iam, s, Some("ops"), Method::GET, "users", "").await;
        assert_eq!(status, 403);

        let (status, problem) = call(
            &iam,
            s,
            Some("rootuser"),
            Method::PUT,
            "users/svc/policies/nope",
            "",
        )
        .await;
        assert_eq!(
            (status, problem["type"].as_str()),
            (404, Some("urn:minnow:admin:no-such-policy"))
        );
        let (status, _) = call(&iam, s, Some("rootuser"), Method::DELETE, "users/svc", "").await;
        assert_eq!(status, 204);
        let (status, _) = call(&iam, s, Some("rootuser"), Method::DELETE, "users/svc", "").await;
        assert_eq!(status, 404);
    }

    /// `GET access` answers any signed caller about itself only, from the
    /// same evaluation the S3 API authorizes with.
    #[tokio::test]
    async fn access_reports_the_callers_own_write_rights() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path()).await;
        let root = iam::RootCredentials {
            access_key: "rootuser".into(),
            secret_key: "rootpassword".into(),
        };
        let iam = Iam::load(store.clone(), root, None).await.unwrap();
        store.create_bucket("bkt1").await.unwrap();
        for (user, policy) in [("viewer", "readonly"), ("writer", "readwrite")] {
            iam.add_user(user, "a-long-enough-secret").await.unwrap();
            iam.set_policy(user, policy, true).await.unwrap();
        }
        let uploads_only = br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Action":["s3:PutObject"],"Resource":["arn:aws:s3:::bkt1/uploads/*"]}]}"#;
        iam.put_policy("uploads-only", PolicyDocument::parse(uploads_only).unwrap())
            .await
            .unwrap();
        iam.add_user("uploader", "a-long-enough-secret")
            .await
            .unwrap();
        iam.set_policy("uploader", "uploads-only", true)
            .await
            .unwrap();
        let access_in = |caller: Option<&'static str>, query: &'static str| {
            let (iam, store) = (&iam, &store);
            async move {
                let response = handle(
                    iam,
                    store,
                    caller,
                    &Method::GET,
                    "access",
                    Some(query),
                    Bytes::new(),
                    Instant::now(),
                )
                .await;
                let status = response.status().as_u16();
                let bytes = response.into_body().collect().await.unwrap().to_bytes();
                (
                    status,
                    serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
                )
            }
        };
        let access = |caller| access_in(caller, "bucket=bkt1");
        let (status, viewer) = access(Some("viewer")).await;
        assert_eq!(status, 200, "{viewer}");
        assert_eq!(viewer["accessKey"], "viewer");
        assert_eq!(viewer["bucket"], "bkt1");
        for action in ACCESS_ACTIONS {
            assert_eq!(viewer["actions"][action], false, "readonly {action}");
        }
        let (_, writer) = access(Some("writer")).await;
        for action in ["s3:PutObject", "s3:DeleteObject", "s3:PutBucketCORS"] {
            assert_eq!(writer["actions"][action], true, "readwrite {action}");
        }
        let (status, _) = access(None).await;
        assert_eq!(status, 403, "anonymous callers learn nothing");

        // Object writes are judged for keys under the prefix browsed: a
        // policy on `bkt1/uploads/*` allows the upload button there only.
        let put = |doc: &serde_json::Value| doc["actions"]["s3:PutObject"].clone();
        let (_, root_of_bucket) = access(Some("uploader")).await;
        assert_eq!(put(&root_of_bucket), false, "{root_of_bucket}");
        let (_, inside) = access_in(Some("uploader"), "bucket=bkt1&prefix=uploads%2F").await;
        assert_eq!(put(&inside), true, "{inside}");
        assert_eq!(inside["prefix"], "uploads/", "{inside}");
        let (_, deeper) = access_in(Some("uploader"), "bucket=bkt1&prefix=uploads%2F2026%2F").await;
        assert_eq!(put(&deeper), true, "{deeper}");
        let (_, outside) = access_in(Some("uploader"), "bucket=bkt1&prefix=docs%2F").await;
        assert_eq!(put(&outside), false, "{outside}");
        let (_, writer_anywhere) = access_in(Some("writer"), "bucket=bkt1&prefix=docs%2F").await;
        assert_eq!(put(&writer_anywhere), true, "{writer_anywhere}");
    }

    /// `GET lifecycle` is an admin read like `info`, and says so when the
    /// server runs no scanner.
    #[tokio::test]
    async fn lifecycle_report_needs_server_info_rights() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path()).await;
        let root = iam::RootCredentials {
            access_key: "rootuser".into(),
            secret_key: "rootpassword".into(),
        };
        let iam = Iam::load(store.clone(), root, None).await.unwrap();
        iam.add_user("writer", "a-long-enough-secret")
            .await
            .unwrap();
        iam.set_policy("writer", "readwrite", true).await.unwrap();
        let (status, view) =
            call(&iam, &store, Some("rootuser"), Method::GET, "lifecycle", "").await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(view["running"], false);
        let (status, _) = call(&iam, &store, Some("writer"), Method::GET, "lifecycle", "").await;
        assert_eq!(status, 403, "admin:ServerInfo is needed, as for info");
    }

    #[tokio::test]
    async fn info_reports_layout_drives_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path()).await;
        let root = iam::RootCredentials {
            access_key: "rootuser".into(),
            secret_key: "rootpassword".into(),
        };
        let iam = Iam::load(store.clone(), root, None).await.unwrap();
        store.create_bucket("bkt1").await.unwrap();
        for key in ["a", "b/c"] {
            let body: store::api::ByteStream = Box::pin(futures::stream::once(async {
                Ok(Bytes::from_static(b"hi"))
            }));
            store
                .put_object("bkt1", key, body, Default::default())
                .await
                .unwrap();
        }
        let (status, info) = call(&iam, &store, Some("rootuser"), Method::GET, "info", "").await;
        assert_eq!(status, 200);
        assert_eq!(info["layout"], "EC 2+2");
        assert_eq!(info["state"], "online");
        assert_eq!(info["buckets"], 1);
        assert_eq!(info["objects"], 2);
        assert_eq!(info["drives"].as_array().unwrap().len(), 4);

        let (status, report) = call(&iam, &store, Some("rootuser"), Method::POST, "heal", "").await;
        assert_eq!(status, 200);
        assert_eq!(report["objectsFailed"], 0);
        let response = handle(
            &iam,
            store.as_ref(),
            Some("rootuser"),
            &Method::POST,
            "heal/object",
            Some("bucket=bkt1&key=b%2Fc"),
            Bytes::new(),
            Instant::now(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        let response = handle(
            &iam,
            store.as_ref(),
            Some("rootuser"),
            &Method::POST,
            "heal/object",
            Some("bucket=nope&key=x"),
            Bytes::new(),
            Instant::now(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    fn signed_request(
        access_key: &str,
        secret_key: &str,
        method: &str,
        path: &str,
        body: &'static str,
    ) -> http::Request<Full<Bytes>> {
        let signer = conformance::signing::RequestSigner::new(
            "http://127.0.0.1:9000",
            access_key,
            secret_key,
        );
        let url = signer.url(path);
        let signed = signer.sign_headers(
            method,
            path,
            &[],
            body.as_bytes(),
            &conformance::signing::PayloadSigning::Sha256,
            std::time::SystemTime::now(),
        );
        let mut builder = http::Request::builder()
            .method(method)
            .uri(&url)
            .header("host", "127.0.0.1:9000");
        for (name, value) in &signed.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    }

    #[tokio::test]
    async fn serve_request_authenticates_and_verifies_the_body() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path()).await;
        let root = iam::RootCredentials {
            access_key: "rootuser".into(),
            secret_key: "rootpassword".into(),
        };
        let iam = Iam::load(store.clone(), root, None).await.unwrap();
        assert!(is_admin_path("/minnow/admin/v1/users"));
        assert!(!is_admin_path("/minnow/other"));

        let request = signed_request(
            "rootuser",
            "rootpassword",
            "PUT",
            "/minnow/admin/v1/users/svc",
            r#"{"secretKey":"svc-secret-1"}"#,
        );
        let (parts, body) = request.into_parts();
        let response = serve_request(&iam, store.as_ref(), &parts, body, Instant::now()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(iam.user_info("svc").is_some());

        let request = signed_request(
            "rootuser",
            "wrong-password",
            "GET",
            "/minnow/admin/v1/users",
            "",
        );
        let (parts, body) = request.into_parts();
        let response = serve_request(&iam, store.as_ref(), &parts, body, Instant::now()).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);

        // A body that is not the one signed is refused.
        let request = signed_request(
            "rootuser",
            "rootpassword",
            "PUT",
            "/minnow/admin/v1/users/other",
            r#"{"secretKey":"other-secret-1"}"#,
        );
        let (parts, _) = request.into_parts();
        let tampered = Full::new(Bytes::from_static(br#"{"secretKey":"tampered-secret"}"#));
        let response = serve_request(&iam, store.as_ref(), &parts, tampered, Instant::now()).await;
        assert_ne!(response.status(), StatusCode::OK);
        assert!(iam.user_info("other").is_none());

        // The new user signs for itself but holds no admin policy.
        let request = signed_request("svc", "svc-secret-1", "GET", "/minnow/admin/v1/info", "");
        let (parts, body) = request.into_parts();
        let response = serve_request(&iam, store.as_ref(), &parts, body, Instant::now()).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn custom_policies_can_be_stored_attached_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path()).await;
        let root = iam::RootCredentials {
            access_key: "rootuser".into(),
            secret_key: "rootpassword".into(),
        };
        let iam = Iam::load(store.clone(), root, None).await.unwrap();
        let s = store.as_ref();
        let root = Some("rootuser");
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::photos/*"]}]}"#;
        let (status, _) = call(&iam, s, root, Method::PUT, "policies/photo-reader", doc).await;
        assert_eq!(status, 204);
        let (status, got) = call(&iam, s, root, Method::GET, "policies/photo-reader", "").await;
        assert_eq!(status, 200);
        assert_eq!(got["Statement"][0]["Action"][0], "s3:GetObject");
        let (_, list) = call(&iam, s, root, Method::GET, "policies", "").await;
        let names: Vec<_> = list["policies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_string(),
                    p["canned"].as_bool().unwrap(),
                )
            })
            .collect();
        assert!(names.contains(&("readwrite".to_string(), true)));
        assert!(names.contains(&("photo-reader".to_string(), false)));

        call(
            &iam,
            s,
            root,
            Method::PUT,
            "users/viewer",
            r#"{"secretKey":"viewer-secret"}"#,
        )
        .await;
        let (status, user) = call(
            &iam,
            s,
            root,
            Method::PUT,
            "users/viewer/policies/photo-reader",
            "",
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(user["policies"], serde_json::json!(["photo-reader"]));

        let (status, problem) = call(&iam, s, root, Method::PUT, "policies/readwrite", doc).await;
        assert_eq!(
            (status, problem["type"].as_str()),
            (409, Some("urn:minnow:admin:canned-policy"))
        );
        let (status, problem) = call(
            &iam,
            s,
            root,
            Method::PUT,
            "policies/bad",
            "{\"Statement\":[]}",
        )
        .await;
        assert_eq!(
            (status, problem["type"].as_str()),
            (400, Some("urn:minnow:admin:malformed-policy"))
        );

        let (status, _) = call(&iam, s, root, Method::DELETE, "policies/photo-reader", "").await;
        assert_eq!(status, 204);
        let (_, user) = call(&iam, s, root, Method::GET, "users/viewer", "").await;
        assert_eq!(user["policies"], serde_json::json!([]));
        let (status, _) = call(&iam, s, root, Method::GET, "policies/photo-reader", "").await;
        assert_eq!(status, 404);
    }
}

//! MinIO's admin API (`/minio/admin/v3/`), the subset that `mc admin` and
//! the SDKs' admin clients (madmin-go, minio-py `MinioAdmin`) need for
//! users, canned policies, server info and heal status, over the same
//! [`Iam`] and store as minnow's own admin API. Requests are SigV4-signed;
//! every endpoint needs an `admin:*` action (root, or a `consoleAdmin`-like
//! user). Secrets and user lists travel encrypted with madmin's format
//! ([`crypto`]). Errors are MinIO's JSON `{"Code","Message",..}`; any
//! `/minio/admin/v4/` path answers 426 so newer clients fall back, every
//! other path under `/minio/admin/` 501 `NotImplemented`.
//!
//! | method | `v3/…` | action |
//! | --- | --- | --- |
//! | GET | `info` | `admin:ServerInfo` |
//! | PUT | `add-user?accessKey=` (encrypted `{"secretKey","status"}`) | `admin:CreateUser` |
//! | DELETE | `remove-user?accessKey=` | `admin:DeleteUser` |
//! | GET | `list-users` (encrypted answer) | `admin:ListUsers` |
//! | GET | `user-info?accessKey=` | `admin:GetUser` |
//! | PUT | `set-user-status?accessKey=&status=` | `admin:EnableUser` / `admin:DisableUser` |
//! | POST | `idp/builtin/policy/attach`, `/detach` (encrypted both ways) | `admin:AttachUserOrGroupPolicy` |
//! | PUT | `set-user-or-group-policy?policyName=&userOrGroup=&isGroup=false` | `admin:AttachUserOrGroupPolicy` |
//! | GET | `list-canned-policies` | `admin:ListUserPolicies` |
//! | GET | `info-canned-policy?name=` | `admin:GetPolicy` |
//! | PUT | `add-canned-policy?name=` (policy JSON) | `admin:CreatePolicy` |
//! | DELETE | `remove-canned-policy?name=` | `admin:DeletePolicy` |
//! | GET, POST | `background-heal/status` | `admin:Heal` |

pub mod crypto;

use std::collections::BTreeMap;
use std::time::Instant;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use serde::{Deserialize, Serialize};
use store::api::{Catalog, Maintenance, MultipartStore, ObjectStore, StoreError};

use super::{collect_limited, QueryParams, MAX_ADMIN_BODY};
use crate::auth::AuthError;
use crate::error::ApiError;
use crate::handlers::{bytes_response, empty_response};
use crate::ResponseBody;
use iam::policy::{AccessRequest, PolicyDocument};
use iam::{Iam, IamError};

/// Everything under this prefix is MinIO's admin API.
pub const MINIO_ADMIN_PREFIX: &str = "/minio/admin/";
const V3_PREFIX: &str = "v3/";

/// Whether a request path belongs to MinIO's admin API.
pub fn is_minio_admin_path(path: &str) -> bool {
    path.starts_with(MINIO_ADMIN_PREFIX) || path == MINIO_ADMIN_PREFIX.trim_end_matches('/')
}

/// A served `/minio/admin/v3/` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V3Route {
    Info,
    AddUser(String),
    RemoveUser(String),
    ListUsers,
    UserInfo(String),
    SetUserStatus {
        user: String,
        enabled: bool,
    },
    /// `idp/builtin/policy/attach` (true) or `/detach` (false); the user
    /// and policies come in the encrypted body.
    AttachDetach {
        attach: bool,
    },
    /// The older `set-user-or-group-policy`: replaces the user's policies.
    SetUserPolicy {
        user: String,
        policies: Vec<String>,
    },
    ListPolicies,
    PolicyInfo {
        name: String,
        v2: bool,
    },
    AddPolicy(String),
    RemovePolicy(String),
    HealStatus,
}

impl V3Route {
    /// The `admin:*` action the caller needs.
    fn action(&self) -> &'static str {
        match self {
            V3Route::Info => "admin:ServerInfo",
            V3Route::AddUser(_) => "admin:CreateUser",
            V3Route::RemoveUser(_) => "admin:DeleteUser",
            V3Route::ListUsers => "admin:ListUsers",
            V3Route::UserInfo(_) => "admin:GetUser",
            V3Route::SetUserStatus { enabled: true, .. } => "admin:EnableUser",
            V3Route::SetUserStatus { enabled: false, .. } => "admin:DisableUser",
            V3Route::AttachDetach { .. } | V3Route::SetUserPolicy { .. } => {
                "admin:AttachUserOrGroupPolicy"
            }
            V3Route::ListPolicies => "admin:ListUserPolicies",
            V3Route::PolicyInfo { .. } => "admin:GetPolicy",
            V3Route::AddPolicy(_) => "admin:CreatePolicy",
            V3Route::RemovePolicy(_) => "admin:DeletePolicy",
            V3Route::HealStatus => "admin:Heal",
        }
    }

    /// The operation name for metrics and the audit log.
    pub fn name(&self) -> &'static str {
        match self {
            V3Route::Info => "MinioAdminServerInfo",
            V3Route::AddUser(_) => "MinioAdminAddUser",
            V3Route::RemoveUser(_) => "MinioAdminRemoveUser",
            V3Route::ListUsers => "MinioAdminListUsers",
            V3Route::UserInfo(_) => "MinioAdminUserInfo",
            V3Route::SetUserStatus { .. } => "MinioAdminSetUserStatus",
            V3Route::AttachDetach { attach: true } => "MinioAdminAttachPolicy",
            V3Route::AttachDetach { attach: false } => "MinioAdminDetachPolicy",
            V3Route::SetUserPolicy { .. } => "MinioAdminSetUserPolicy",
            V3Route::ListPolicies => "MinioAdminListCannedPolicies",
            V3Route::PolicyInfo { .. } => "MinioAdminInfoCannedPolicy",
            V3Route::AddPolicy(_) => "MinioAdminAddCannedPolicy",
            V3Route::RemovePolicy(_) => "MinioAdminRemoveCannedPolicy",
            V3Route::HealStatus => "MinioAdminBackgroundHealStatus",
        }
    }
}

/// A MinIO admin error: its HTTP status, code and message, rendered as
/// MinIO's JSON error document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MadminError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

/// MinIO's admin error body (JSON, not S3's XML).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    resource: &'a str,
    request_id: &'a str,
    host_id: &'a str,
}

impl MadminError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        MadminError {
            status,
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "XMinioAdminInvalidArgument",
            message,
        )
    }

    fn not_implemented() -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
        )
    }

    fn access_denied() -> Self {
        Self::new(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied.")
    }

    /// Renders the error for `resource` (the request path).
    pub fn to_response(&self, resource: &str) -> Response<ResponseBody> {
        let body = ErrorBody {
            code: self.code,
            message: &self.message,
            resource,
            request_id: "",
            host_id: "",
        };
        let json = serde_json::to_vec(&body).expect("error bodies always serialise");
        let mut response = bytes_response(json, "application/json");
        *response.status_mut() = self.status;
        response
    }
}

impl From<ApiError> for MadminError {
    fn from(error: ApiError) -> Self {
        MadminError::new(error.status(), error.code.as_str(), error.message)
    }
}

impl From<&AuthError> for MadminError {
    fn from(error: &AuthError) -> Self {
        ApiError::from(error.clone()).into()
    }
}

impl From<StoreError> for MadminError {
    fn from(error: StoreError) -> Self {
        ApiError::from(error).into()
    }
}

impl From<IamError> for MadminError {
    fn from(error: IamError) -> Self {
        match error {
            IamError::NoSuchUser(user) => Self::new(
                StatusCode::NOT_FOUND,
                "XMinioAdminNoSuchUser",
                format!("The specified user does not exist: {user}"),
            ),
            IamError::NoSuchPolicy(name) => Self::new(
                StatusCode::NOT_FOUND,
                "XMinioAdminNoSuchPolicy",
                format!("The canned policy does not exist: {name}"),
            ),
            IamError::InvalidCredentials(detail) | IamError::WeakRootCredentials(detail) => {
                Self::new(
                    StatusCode::BAD_REQUEST,
                    "XMinioAdminInvalidAccessKey",
                    detail,
                )
            }
            IamError::InvalidPolicy(detail) => {
                Self::new(StatusCode::BAD_REQUEST, "XMinioMalformedPolicy", detail)
            }
            IamError::Corrupt(detail) => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", detail)
            }
            IamError::Store(store) => store.into(),
        }
    }
}

impl From<super::Problem> for MadminError {
    fn from(problem: super::Problem) -> Self {
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = if status.is_server_error() {
            "InternalError"
        } else {
            "XMinioAdminInvalidArgument"
        };
        MadminError::new(status, code, problem.detail)
    }
}

/// Maps method + path (after [`MINIO_ADMIN_PREFIX`]) + query to an
/// endpoint; unserved paths are 501, `v4/` paths 426.
pub fn route(method: &Method, path: &str, query: Option<&str>) -> Result<V3Route, MadminError> {
    if path.starts_with("v4/") || path == "v4" {
        return Err(MadminError::new(
            StatusCode::UPGRADE_REQUIRED,
            "XMinioAdminUpgradeRequired",
            "This server speaks the admin API v3; use /minio/admin/v3/",
        ));
    }
    let Some(endpoint) = path.strip_prefix(V3_PREFIX) else {
        return Err(MadminError::not_implemented());
    };
    let params = QueryParams::parse(query.unwrap_or(""));
    let required = |name: &str| -> Result<String, MadminError> {
        params
            .get(name)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| MadminError::invalid(format!("the {name} parameter is required")))
    };
    let m = method.clone();
    let route = match (endpoint.trim_end_matches('/'), m) {
        ("info", Method::GET) => V3Route::Info,
        ("add-user", Method::PUT) => V3Route::AddUser(required("accessKey")?),
        ("remove-user", Method::DELETE) => V3Route::RemoveUser(required("accessKey")?),
        ("list-users", Method::GET) => V3Route::ListUsers,
        ("user-info", Method::GET) => V3Route::UserInfo(required("accessKey")?),
        ("set-user-status", Method::PUT) => {
            let enabled = match required("status")?.as_str() {
                "enabled" => true,
                "disabled" => false,
                other => {
                    return Err(MadminError::invalid(format!(
                        "status must be enabled or disabled, not {other:?}"
                    )))
                }
            };
            V3Route::SetUserStatus {
                user: required("accessKey")?,
                enabled,
            }
        }
        ("idp/builtin/policy/attach", Method::POST) => V3Route::AttachDetach { attach: true },
        ("idp/builtin/policy/detach", Method::POST) => V3Route::AttachDetach { attach: false },
        ("set-user-or-group-policy", Method::PUT) => {
            if params.get("isGroup") == Some("true") {
                return Err(MadminError::not_implemented());
            }
            V3Route::SetUserPolicy {
                user: required("userOrGroup")?,
                policies: params
                    .get("policyName")
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect(),
            }
        }
        ("list-canned-policies", Method::GET) => V3Route::ListPolicies,
        ("info-canned-policy", Method::GET) => V3Route::PolicyInfo {
            name: required("name")?,
            v2: params.get("v") == Some("2"),
        },
        ("add-canned-policy", Method::PUT) => V3Route::AddPolicy(required("name")?),
        ("remove-canned-policy", Method::DELETE) => V3Route::RemovePolicy(required("name")?),
        ("background-heal/status", Method::GET | Method::POST) => V3Route::HealStatus,
        _ => return Err(MadminError::not_implemented()),
    };
    Ok(route)
}

/// The operation name of a MinIO admin request, for metrics.
pub fn operation_name(parts: &http::request::Parts) -> &'static str {
    let path = parts
        .uri
        .path()
        .strip_prefix(MINIO_ADMIN_PREFIX)
        .unwrap_or_default();
    route(&parts.method, path, parts.uri.query())
        .map(|r| r.name())
        .unwrap_or("MinioAdminUnrouted")
}

/// Serves a whole MinIO admin request: routes it (unserved paths answer
/// before any signature is looked at, as MinIO's router does), authenticates
/// it with SigV4, authorizes its `admin:*` action, collects its body (at
/// most [`MAX_ADMIN_BODY`]) and answers. Never fails: errors become MinIO
/// JSON errors.
pub async fn serve_request<S, B>(
    iam: &Iam<S>,
    store: &S,
    parts: &http::request::Parts,
    body: B,
    started: Instant,
) -> Response<ResponseBody>
where
    S: ObjectStore + Catalog + MultipartStore + Maintenance + 'static,
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<crate::BoxError>,
{
    let resource = parts.uri.path();
    match serve(iam, store, parts, body, started).await {
        Ok(response) => response,
        Err(error) => {
            if error.status.is_server_error() {
                tracing::warn!(method = %parts.method, path = resource, code = error.code, message = %error.message, "MinIO admin request failed");
            }
            error.to_response(resource)
        }
    }
}

async fn serve<S, B>(
    iam: &Iam<S>,
    store: &S,
    parts: &http::request::Parts,
    body: B,
    started: Instant,
) -> Result<Response<ResponseBody>, MadminError>
where
    S: ObjectStore + Catalog + MultipartStore + Maintenance + 'static,
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<crate::BoxError>,
{
    let path = parts
        .uri
        .path()
        .strip_prefix(MINIO_ADMIN_PREFIX)
        .unwrap_or_default();
    let route = route(&parts.method, path, parts.uri.query())?;
    let authenticated = crate::auth::authenticate(parts, iam, std::time::SystemTime::now())
        .map_err(|e| MadminError::from(&e))?;
    let Some(caller) = authenticated.access_key().map(str::to_string) else {
        return Err(MadminError::access_denied());
    };
    let request = AccessRequest {
        action: route.action(),
        bucket: None,
        key: None,
    };
    if !iam.is_allowed(Some(&caller), None, &request) {
        return Err(MadminError::access_denied());
    }
    let verified = crate::auth::verified_body(body, &authenticated, &parts.headers)
        .map_err(|e| MadminError::from(&e))?;
    let body = match collect_limited(verified.stream, MAX_ADMIN_BODY).await {
        Ok(bytes) => bytes,
        Err(problem) => {
            return Err(match verified.failure.get() {
                Some(error) => MadminError::from(error),
                None => problem.into(),
            })
        }
    };
    // The key madmin payloads are encrypted under: the caller's own secret.
    let secret = iam
        .secret_key(&caller)
        .ok_or_else(MadminError::access_denied)?;
    handle(iam, store, route, &secret, body, started).await
}

async fn handle<S>(
    iam: &Iam<S>,
    store: &S,
    route: V3Route,
    secret: &str,
    body: Bytes,
    started: Instant,
) -> Result<Response<ResponseBody>, MadminError>
where
    S: ObjectStore + Catalog + MultipartStore + Maintenance + 'static,
{
    match route {
        V3Route::Info => json(&info_message(store, started).await?),
        V3Route::AddUser(user) => {
            let request: AddUserRequest = decrypt_json(secret, &body)?;
            iam.add_user(&user, &request.secret_key).await?;
            if let Some(status) = request.status.as_deref() {
                iam.set_enabled(&user, status != "disabled").await?;
            }
            Ok(empty_response(StatusCode::OK))
        }
        V3Route::RemoveUser(user) => {
            iam.remove_user(&user).await?;
            Ok(empty_response(StatusCode::OK))
        }
        V3Route::ListUsers => {
            let users: BTreeMap<String, MadminUserInfo> = iam
                .list_users()
                .into_iter()
                .map(|u| (u.access_key.clone(), MadminUserInfo::from(u)))
                .collect();
            encrypted_json(secret, &users)
        }
        V3Route::UserInfo(user) => {
            let info = iam.user_info(&user).ok_or(IamError::NoSuchUser(user))?;
            json(&MadminUserInfo::from(info))
        }
        V3Route::SetUserStatus { user, enabled } => {
            iam.set_enabled(&user, enabled).await?;
            Ok(empty_response(StatusCode::OK))
        }
        V3Route::AttachDetach { attach } => {
            let request: PolicyAssociationRequest = decrypt_json(secret, &body)?;
            if !request.group.is_empty() {
                return Err(MadminError::not_implemented());
            }
            if request.user.is_empty() || request.policies.is_empty() {
                return Err(MadminError::invalid(
                    "a user and at least one policy are needed",
                ));
            }
            let changed = change_policies(iam, &request.user, &request.policies, attach).await?;
            let now = now_rfc3339();
            let answer = if attach {
                PolicyAssociationResponse {
                    policies_attached: changed,
                    policies_detached: Vec::new(),
                    updated_at: now,
                }
            } else {
                PolicyAssociationResponse {
                    policies_attached: Vec::new(),
                    policies_detached: changed,
                    updated_at: now,
                }
            };
            encrypted_json(secret, &answer)
        }
        V3Route::SetUserPolicy { user, policies } => {
            let current = iam
                .user_info(&user)
                .ok_or_else(|| IamError::NoSuchUser(user.clone()))?
                .policies;
            for name in &policies {
                if iam.get_policy(name).is_none() {
                    return Err(IamError::NoSuchPolicy(name.clone()).into());
                }
            }
            let stale: Vec<String> = current
                .into_iter()
                .filter(|p| !policies.contains(p))
                .collect();
            change_policies(iam, &user, &stale, false).await?;
            change_policies(iam, &user, &policies, true).await?;
            Ok(empty_response(StatusCode::OK))
        }
        V3Route::ListPolicies => {
            let all: BTreeMap<String, PolicyDocument> = iam
                .list_policies()
                .into_iter()
                .filter_map(|name| iam.get_policy(&name).map(|doc| (name, doc)))
                .collect();
            json(&all)
        }
        V3Route::PolicyInfo { name, v2 } => {
            let doc = iam
                .get_policy(&name)
                .ok_or_else(|| IamError::NoSuchPolicy(name.clone()))?;
            if v2 {
                json(&PolicyInfo {
                    policy_name: name,
                    policy: doc,
                })
            } else {
                Ok(bytes_response(doc.to_json(), "application/json"))
            }
        }
        V3Route::AddPolicy(name) => {
            super::refuse_canned(&name)?;
            super::validate_policy_name(&name)?;
            let doc =
                PolicyDocument::parse(&body).map_err(|e| IamError::InvalidPolicy(e.to_string()))?;
            iam.put_policy(&name, doc).await?;
            Ok(empty_response(StatusCode::OK))
        }
        V3Route::RemovePolicy(name) => {
            super::refuse_canned(&name)?;
            iam.remove_policy(&name).await?;
            Ok(empty_response(StatusCode::OK))
        }
        V3Route::HealStatus => json(&heal_state(store)),
    }
}

/// Attaches or detaches `policies` one by one after checking that they all
/// exist (so a bad name changes nothing); returns those that changed.
/// Attaching an attached policy is a success that changes nothing, so an
/// init container's steps can run again (MinIO answers 400 there).
async fn change_policies<S: Catalog + 'static>(
    iam: &Iam<S>,
    user: &str,
    policies: &[String],
    attach: bool,
) -> Result<Vec<String>, MadminError> {
    let current = iam
        .user_info(user)
        .ok_or_else(|| IamError::NoSuchUser(user.to_string()))?
        .policies;
    if let Some(missing) = policies.iter().find(|p| iam.get_policy(p).is_none()) {
        return Err(IamError::NoSuchPolicy(missing.clone()).into());
    }
    let mut changed = Vec::new();
    for policy in policies {
        if current.contains(policy) != attach && !changed.contains(policy) {
            iam.set_policy(user, policy, attach).await?;
            changed.push(policy.clone());
        }
    }
    Ok(changed)
}

/// `add-user`'s decrypted body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddUserRequest {
    secret_key: String,
    #[serde(default)]
    status: Option<String>,
}

/// madmin's `UserInfo` (never the secret).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MadminUserInfo {
    /// Attached policies, comma-separated (MinIO's spelling).
    #[serde(skip_serializing_if = "String::is_empty")]
    policy_name: String,
    /// `enabled` or `disabled`.
    status: &'static str,
}

impl From<iam::UserInfo> for MadminUserInfo {
    fn from(user: iam::UserInfo) -> Self {
        MadminUserInfo {
            policy_name: user.policies.join(","),
            status: if user.enabled { "enabled" } else { "disabled" },
        }
    }
}

/// The decrypted body of `idp/builtin/policy/attach` and `/detach`.
#[derive(Deserialize)]
struct PolicyAssociationRequest {
    #[serde(default)]
    policies: Vec<String>,
    #[serde(default)]
    user: String,
    #[serde(default)]
    group: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicyAssociationResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    policies_attached: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    policies_detached: Vec<String>,
    updated_at: String,
}

/// `info-canned-policy?v=2`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyInfo {
    policy_name: String,
    policy: PolicyDocument,
}

/// madmin's `InfoMessage`, as far as a single-node minnow maps onto it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InfoMessage {
    /// `online` while quorum holds, else `offline`.
    pub mode: String,
    pub buckets: Count,
    pub objects: Count,
    pub backend: Backend,
    pub servers: Vec<ServerProperties>,
}

/// `{"count": n}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Count {
    pub count: u64,
}

/// madmin's `ErasureBackend`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Backend {
    pub backend_type: String,
    pub online_disks: usize,
    pub offline_disks: usize,
    #[serde(rename = "standardSCParity")]
    pub standard_sc_parity: usize,
    pub total_sets: Vec<usize>,
    pub total_drives_per_set: Vec<usize>,
}

/// madmin's `ServerProperties` (one: minnow is a single node).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerProperties {
    pub state: String,
    pub endpoint: String,
    pub uptime: u64,
    pub version: String,
    pub drives: Vec<Disk>,
    pub pool_number: usize,
}

/// madmin's `Disk`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disk {
    pub endpoint: String,
    pub path: String,
    /// `ok` or `offline`.
    pub state: String,
    pub healing: bool,
    pub totalspace: u64,
    pub usedspace: u64,
    pub availspace: u64,
    pub pool_index: usize,
    pub set_index: usize,
    pub disk_index: usize,
}

async fn info_message<S>(store: &S, started: Instant) -> Result<InfoMessage, MadminError>
where
    S: ObjectStore + Catalog + Maintenance,
{
    let info = super::server_info(store, &super::Runtime::from(started)).await?;
    let online = info.drives.iter().filter(|d| d.state != "offline").count();
    let healing = &info.heal.drives_healing;
    let mode = if info.state == "offline" {
        "offline"
    } else {
        "online"
    };
    Ok(InfoMessage {
        mode: mode.to_string(),
        buckets: Count {
            count: info.buckets,
        },
        objects: Count {
            count: info.objects,
        },
        backend: Backend {
            backend_type: "Erasure".to_string(),
            online_disks: online,
            offline_disks: info.drives.len() - online,
            standard_sc_parity: info.parity_shards,
            total_sets: vec![1],
            total_drives_per_set: vec![info.drives.len()],
        },
        servers: vec![ServerProperties {
            state: mode.to_string(),
            endpoint: "local".to_string(),
            uptime: info.uptime_seconds,
            version: info.version.clone(),
            drives: info
                .drives
                .iter()
                .map(|d| Disk {
                    endpoint: d.path.clone(),
                    path: d.path.clone(),
                    state: if d.state == "offline" {
                        "offline"
                    } else {
                        "ok"
                    }
                    .to_string(),
                    healing: healing.contains(&d.index),
                    totalspace: d.total_bytes,
                    usedspace: d.total_bytes.saturating_sub(d.free_bytes),
                    availspace: d.free_bytes,
                    pool_index: 0,
                    set_index: 0,
                    disk_index: d.index,
                })
                .collect(),
            pool_number: 1,
        }],
    })
}

/// madmin's `BgHealState`, as far as it maps: offline drives are listed,
/// drives not yet refilled are the healing ones, and the scanned count is
/// the running (or last) heal walk's.
#[derive(Debug, Serialize, Deserialize)]
pub struct BgHealState {
    pub offline_nodes: Vec<String>,
    #[serde(rename = "ScannedItemsCount")]
    pub scanned_items_count: u64,
    #[serde(rename = "HealDisks")]
    pub heal_disks: Vec<String>,
    pub sc_parity: BTreeMap<String, usize>,
}

fn heal_state<S: Maintenance>(store: &S) -> BgHealState {
    let status = store.heal_status();
    let (_, parity) = store.erasure_layout();
    BgHealState {
        offline_nodes: Vec::new(),
        scanned_items_count: status.objects_done,
        heal_disks: status
            .drives_healing
            .iter()
            .map(|i| format!("drive {i}"))
            .collect(),
        sc_parity: BTreeMap::from([("STANDARD".to_string(), parity)]),
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn decrypt_json<T: serde::de::DeserializeOwned>(
    secret: &str,
    body: &[u8],
) -> Result<T, MadminError> {
    let plain = crypto::decrypt(secret, body).map_err(|e| {
        MadminError::new(
            StatusCode::BAD_REQUEST,
            "XMinioAdminConfigBadJSON",
            e.to_string(),
        )
    })?;
    serde_json::from_slice(&plain).map_err(|e| {
        MadminError::new(
            StatusCode::BAD_REQUEST,
            "XMinioAdminConfigBadJSON",
            format!("the decrypted body is not the expected JSON: {e}"),
        )
    })
}

fn json<T: Serialize>(value: &T) -> Result<Response<ResponseBody>, MadminError> {
    let bytes = serde_json::to_vec(value).map_err(|e| {
        MadminError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            e.to_string(),
        )
    })?;
    Ok(bytes_response(bytes, "application/json"))
}

fn encrypted_json<T: Serialize>(
    secret: &str,
    value: &T,
) -> Result<Response<ResponseBody>, MadminError> {
    let bytes = serde_json::to_vec(value).map_err(|e| {
        MadminError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            e.to_string(),
        )
    })?;
    Ok(bytes_response(
        crypto::encrypt(secret, &bytes),
        "application/octet-stream",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_paths_route_v4_is_426_and_the_rest_501() {
        let r = |m: Method, p: &str, q: Option<&str>| route(&m, p, q);
        assert_eq!(r(Method::GET, "v3/info", None), Ok(V3Route::Info));
        assert_eq!(
            r(Method::PUT, "v3/add-user", Some("accessKey=alice")),
            Ok(V3Route::AddUser("alice".into()))
        );
        assert_eq!(
            r(
                Method::PUT,
                "v3/set-user-status",
                Some("accessKey=a%2Bb&status=disabled")
            ),
            Ok(V3Route::SetUserStatus {
                user: "a+b".into(),
                enabled: false
            })
        );
        assert_eq!(
            r(Method::POST, "v3/idp/builtin/policy/detach", None),
            Ok(V3Route::AttachDetach { attach: false })
        );
        assert_eq!(
            r(
                Method::PUT,
                "v3/set-user-or-group-policy",
                Some("isGroup=false&policyName=readwrite,diagnostics&userOrGroup=bob")
            ),
            Ok(V3Route::SetUserPolicy {
                user: "bob".into(),
                policies: vec!["readwrite".into(), "diagnostics".into()]
            })
        );
        assert_eq!(
            r(
                Method::GET,
                "v3/info-canned-policy",
                Some("name=readonly&v=2")
            ),
            Ok(V3Route::PolicyInfo {
                name: "readonly".into(),
                v2: true
            })
        );
        assert_eq!(
            r(Method::POST, "v3/background-heal/status", None),
            Ok(V3Route::HealStatus)
        );
        let status = |res: Result<V3Route, MadminError>| res.unwrap_err().status;
        assert_eq!(
            status(r(Method::GET, "v4/info", None)),
            StatusCode::UPGRADE_REQUIRED
        );
        assert_eq!(
            status(r(Method::GET, "v4", None)),
            StatusCode::UPGRADE_REQUIRED
        );
        for (method, path) in [
            (Method::GET, "v3/service"),
            (Method::POST, "v3/info"),
            (Method::GET, "v3/add-user"),
            (Method::GET, "v2/info"),
            (Method::GET, ""),
            (Method::PUT, "v3/add-user/extra"),
        ] {
            assert_eq!(
                status(r(method.clone(), path, Some("accessKey=x"))),
                StatusCode::NOT_IMPLEMENTED,
                "{method} {path}"
            );
        }
        assert_eq!(
            status(r(Method::PUT, "v3/add-user", None)),
            StatusCode::BAD_REQUEST,
            "a missing accessKey"
        );
    }

    #[test]
    fn errors_render_as_minio_json() {
        let error: MadminError = IamError::NoSuchUser("ghost".into()).into();
        assert_eq!(error.status, StatusCode::NOT_FOUND);
        assert_eq!(error.code, "XMinioAdminNoSuchUser");
        let body = ErrorBody {
            code: error.code,
            message: &error.message,
            resource: "/minio/admin/v3/user-info",
            request_id: "",
            host_id: "",
        };
        let value: serde_json::Value = serde_json::to_value(&body).unwrap();
        assert_eq!(value["Code"], "XMinioAdminNoSuchUser");
        assert_eq!(value["Resource"], "/minio/admin/v3/user-info");
        assert!(value["Message"].as_str().unwrap().contains("ghost"));
    }

    #[test]
    fn every_route_needs_an_admin_action() {
        for route in [
            V3Route::Info,
            V3Route::AddUser("a".into()),
            V3Route::RemoveUser("a".into()),
            V3Route::ListUsers,
            V3Route::UserInfo("a".into()),
            V3Route::SetUserStatus {
                user: "a".into(),
                enabled: true,
            },
            V3Route::AttachDetach { attach: true },
            V3Route::ListPolicies,
            V3Route::PolicyInfo {
                name: "readonly".into(),
                v2: false,
            },
            V3Route::AddPolicy("p".into()),
            V3Route::RemovePolicy("p".into()),
            V3Route::HealStatus,
        ] {
            assert!(route.action().starts_with("admin:"), "{route:?}");
            // `readwrite` grants every s3: action and none of these.
            let readwrite = iam::policy::canned_policy("readwrite").unwrap();
            let request = AccessRequest {
                action: route.action(),
                bucket: None,
                key: None,
            };
            assert_ne!(
                readwrite.evaluate(iam::policy::Requester::User("u"), &request),
                iam::policy::Decision::Allow,
                "{route:?}"
            );
        }
    }
}

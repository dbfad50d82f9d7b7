//! The console's JSON API: each handler turns one page action into S3 or
//! admin API calls signed with the session's identity, and their answers
//! into small JSON documents the page renders. Object bodies stream
//! through without being buffered.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures::future::join_all;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Incoming;
use iam::policy::{canned_bucket_policy, PolicyDocument};
use lifecycle::{Expiration, LifecycleConfiguration, LifecycleRule, RuleFilter, RuleStatus};
use percent_encoding::percent_decode_str;
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::multipart;
use crate::routes::Endpoint;
use crate::session::Session;
use s3_client::xml::{DeleteResult, ListAllMyBucketsResult, ListBucketResult, ListedBucket};

use crate::upstream::{
    bucket_path, encode_query, encode_value, object_path, streamed_error, Identity, Reply,
    Upstream, UpstreamError, ADMIN_PREFIX, MAX_SHARE_SECONDS,
};
use crate::{json_response, ConsoleBody, ConsoleError, ConsoleState, SESSION_COOKIE};

/// Largest JSON (or lifecycle document) a page sends.
const MAX_DOCUMENT: usize = 1024 * 1024;
/// Counting a bucket's objects for the bucket list stops here.
const COUNT_CAP: u64 = 100_000;
/// Keys per page of the object browser.
const PAGE_KEYS: usize = 500;

type Result<T> = std::result::Result<T, ConsoleError>;

fn ok(value: Value) -> Result<Response<ConsoleBody>> {
    Ok(json_response(StatusCode::OK, &value))
}

async fn read_json<T: for<'de> Deserialize<'de>>(request: Request<Incoming>) -> Result<T> {
    let body = read_body(request).await?;
    serde_json::from_slice(&body)
        .map_err(|e| ConsoleError::BadRequest(format!("invalid request document: {e}")))
}

async fn read_body(request: Request<Incoming>) -> Result<Bytes> {
    Limited::new(request.into_body(), MAX_DOCUMENT)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|_| ConsoleError::BadRequest("the request document is too large".into()))
}

/// A per-bucket configuration stored as an S3 sub-resource.
#[derive(Clone, Copy)]
enum BucketConfig {
    Policy,
    Lifecycle,
    Cors,
}

impl BucketConfig {
    fn query(self) -> &'static str {
        match self {
            BucketConfig::Policy => "policy=",
            BucketConfig::Lifecycle => "lifecycle=",
            BucketConfig::Cors => "cors=",
        }
    }
    fn content_type(self) -> &'static str {
        match self {
            BucketConfig::Policy => "application/json",
            BucketConfig::Lifecycle | BucketConfig::Cors => "application/xml",
        }
    }
    /// The S3 code that means "the bucket has none".
    fn missing_code(self) -> &'static str {
        match self {
            BucketConfig::Policy => "NoSuchBucketPolicy",
            BucketConfig::Lifecycle => "NoSuchLifecycleConfiguration",
            BucketConfig::Cors => "NoSuchCORSConfiguration",
        }
    }
}

/// The S3 and admin calls the pages need, as one identity.
#[derive(Clone, Copy)]
struct S3<'a> {
    upstream: &'a Upstream,
    identity: &'a Identity,
}

impl S3<'_> {
    async fn call(&self, method: Method, path: &str, query: &str) -> Result<Reply> {
        Ok(self
            .upstream
            .send(self.identity, method, path, query, &[], Bytes::new())
            .await?)
    }

    async fn list_buckets(&self) -> Result<Vec<ListedBucket>> {
        let reply = self.call(Method::GET, "/", "").await?;
        let doc: ListAllMyBucketsResult = parse_xml(&reply.body)?;
        Ok(doc.into_buckets())
    }

    /// One page of ListObjectsV2; `delimiter` "/" folds folders.
    async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: bool,
        token: Option<&str>,
        max_keys: usize,
    ) -> Result<ListBucketResult> {
        let mut pairs = vec![
            ("list-type", "2".to_string()),
            ("max-keys", max_keys.to_string()),
        ];
        if delimiter {
            pairs.push(("delimiter", "/".to_string()));
        }
        if !prefix.is_empty() {
            pairs.push(("prefix", prefix.to_string()));
        }
        if let Some(token) = token {
            pairs.push(("continuation-token", token.to_string()));
        }
        let reply = self
            .call(Method::GET, &bucket_path(bucket), &encode_query(&pairs))
            .await?;
        parse_xml(&reply.body)
    }

    async fn delete_objects(&self, bucket: &str, keys: &[String]) -> Result<DeleteResult> {
        let mut xml = String::from("<Delete><Quiet>true</Quiet>");
        for key in keys {
            xml.push_str("<Object><Key>");
            xml.push_str(&quick_xml::escape::escape(key.as_str()));
            xml.push_str("</Key></Object>");
        }
        xml.push_str("</Delete>");
        let reply = self
            .upstream
            .send_document(
                self.identity,
                Method::POST,
                &bucket_path(bucket),
                "delete=",
                "application/xml",
                Bytes::from(xml),
            )
            .await?;
        parse_xml(&reply.body)
    }

    /// The bucket's configuration document, `None` when it has none.
    async fn get_config(&self, bucket: &str, config: BucketConfig) -> Result<Option<Bytes>> {
        match self
            .upstream
            .send(
                self.identity,
                Method::GET,
                &bucket_path(bucket),
                config.query(),
                &[],
                Bytes::new(),
            )
            .await
        {
            Ok(reply) => Ok(Some(reply.body)),
            Err(e) if e.code() == Some(config.missing_code()) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn put_config(&self, bucket: &str, config: BucketConfig, body: Bytes) -> Result<()> {
        self.upstream
            .send_document(
                self.identity,
                Method::PUT,
                &bucket_path(bucket),
                config.query(),
                config.content_type(),
                body,
            )
            .await?;
        Ok(())
    }

    async fn delete_config(&self, bucket: &str, config: BucketConfig) -> Result<()> {
        match self
            .call(Method::DELETE, &bucket_path(bucket), config.query())
            .await
        {
            Err(ConsoleError::Upstream(e)) if e.code() == Some(config.missing_code()) => Ok(()),
            other => other.map(drop),
        }
    }

    /// An admin API call; its JSON answer passes through to the page.
    async fn admin(
        &self,
        method: Method,
        path: &str,
        query: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let (headers, body) = match body {
            Some(json) => (
                vec![("content-type", "application/json".to_string())],
                Bytes::from(json.to_string()),
            ),
            None => (Vec::new(), Bytes::new()),
        };
        let reply = self
            .upstream
            .send_within(
                self.identity,
                method,
                &format!("{ADMIN_PREFIX}{path}"),
                query,
                &headers,
                body,
                Duration::from_secs(600),
            )
            .await?;
        if reply.body.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(&reply.body)
            .map_err(|e| UpstreamError::InvalidResponse(format!("admin API JSON: {e}")).into())
    }
}

fn parse_xml<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T> {
    s3_client::xml::parse(body)
        .map_err(|e| UpstreamError::InvalidResponse(format!("XML: {e}")).into())
}

/// Decoded `name=value` pairs of the request's query string.
fn query(request: &Request<Incoming>) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

fn key_param(request: &Request<Incoming>) -> Result<String> {
    param(&query(request), "key")
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ConsoleError::BadRequest("no object key given".into()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignInBody {
    access_key: String,
    secret_key: String,
}

/// `POST /api/session`: checks the credentials with a signed ListBuckets.
/// Only JSON is accepted, so a cross-site form cannot sign a browser in.
/// One audit line for a sign-in attempt. The secret never reaches it.
fn audit_sign_in(
    state: &ConsoleState,
    peer: SocketAddr,
    access_key: &str,
    status: u16,
    error_code: Option<&str>,
) {
    use s3_api::handlers::audit::{now_rfc3339, AuditEvent, AuditRecord};
    let Some(sink) = &state.config.audit else {
        return;
    };
    let request_id = hex::encode(rand::random::<[u8; 8]>()).to_ascii_uppercase();
    sink.write(&AuditRecord {
        time: now_rfc3339(),
        event: AuditEvent::ConsoleSignIn,
        request_id: &request_id,
        remote_address: Some(peer.to_string()),
        access_key: Some(access_key).filter(|k| !k.is_empty()),
        operation: "ConsoleSignIn",
        bucket: None,
        key: None,
        status,
        error_code,
    });
}

pub async fn sign_in(
    state: &ConsoleState,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<ConsoleBody>> {
    let json_body = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_body {
        return Err(ConsoleError::BadRequest(
            "sign-in takes an application/json document".into(),
        ));
    }
    let body: SignInBody = read_json(request).await?;
    if let Err(wait) = state.limiter.check(peer.ip()) {
        audit_sign_in(
            state,
            peer,
            body.access_key.trim(),
            429,
            Some("TooManyAttempts"),
        );
        return Err(ConsoleError::TooManyAttempts(wait));
    }
    let identity = Identity {
        access_key: body.access_key.trim().to_string(),
        secret_key: body.secret_key,
    };
    let s3 = S3 {
        upstream: &state.upstream,
        identity: &identity,
    };
    match s3.call(Method::GET, "/", "").await {
        Ok(_) => {}
        // Valid credentials without ListAllMyBuckets may still use the console.
        Err(ConsoleError::Upstream(UpstreamError::Api { code, .. })) if code == "AccessDenied" => {}
        Err(ConsoleError::Upstream(UpstreamError::Api {
            status: 400..=403,
            code,
            ..
        })) => {
            state.limiter.failed(peer.ip());
            tracing::warn!(
                target: "audit",
                access_key = %identity.access_key,
                remote = %peer.ip(),
                %code,
                "console sign-in refused"
            );
            audit_sign_in(state, peer, &identity.access_key, 401, Some(&code));
            return Err(ConsoleError::BadCredentials);
        }
        Err(other) => return Err(other),
    }
    state.limiter.succeeded(peer.ip());
    let admin = s3.admin(Method::GET, "users", "", None).await.is_ok();
    tracing::info!(
        target: "audit",
        access_key = %identity.access_key,
        remote = %peer.ip(),
        admin,
        "console sign-in"
    );
    audit_sign_in(state, peer, &identity.access_key, 200, None);
    let (id, session) = state.sessions.create(identity, admin);
    let mut response = json_response(StatusCode::OK, &session_json(&session));
    let secure = if state.config.secure_cookie() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        state.sessions.ttl().as_secs()
    );
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("hex and ASCII"),
    );
    Ok(response)
}

fn session_json(session: &Session) -> Value {
    json!({
        "accessKey": session.identity.access_key,
        "csrfToken": session.csrf,
        "admin": session.admin,
    })
}

/// Runs an endpoint for a signed-in session (CSRF already checked).
pub async fn dispatch(
    state: &ConsoleState,
    session_id: &str,
    session: &Session,
    endpoint: Endpoint,
    request: Request<Incoming>,
) -> Result<Response<ConsoleBody>> {
    let identity = &session.identity;
    let s3 = S3 {
        upstream: &state.upstream,
        identity,
    };
    let method = request.method().clone();
    match endpoint {
        Endpoint::Session => ok(session_json(session)),
        Endpoint::SignOut => {
            state.sessions.remove(session_id);
            tracing::info!(target: "audit", access_key = %identity.access_key, "console sign-out");
            let mut response = json_response(StatusCode::OK, &json!({ "signedOut": true }));
            response.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_str(&format!(
                    "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
                ))
                .expect("ASCII"),
            );
            Ok(response)
        }
        Endpoint::ListBuckets => list_buckets(s3).await,
        Endpoint::CreateBucket => {
            #[derive(Deserialize)]
            struct Body {
                name: String,
            }
            let body: Body = read_json(request).await?;
            s3.call(Method::PUT, &bucket_path(body.name.trim()), "")
                .await?;
            ok(json!({ "created": body.name.trim() }))
        }
        Endpoint::DeleteBucket(bucket) => {
            s3.call(Method::DELETE, &bucket_path(&bucket), "").await?;
            ok(json!({ "deleted": bucket }))
        }
        Endpoint::ListObjects(bucket) => {
            let pairs = query(&request);
            let prefix = param(&pairs, "prefix").unwrap_or_default();
            let token = param(&pairs, "token").filter(|t| !t.is_empty());
            list_objects(s3, &bucket, &prefix, token.as_deref()).await
        }
        Endpoint::PutObject(bucket) => put_object(state, identity, &bucket, request).await,
        Endpoint::GetObject(bucket) => get_object(state, identity, &bucket, request).await,
        Endpoint::ObjectInfo(bucket) => {
            let key = key_param(&request)?;
            object_info(state, identity, &bucket, &key).await
        }
        Endpoint::ShareObject(bucket) => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Body {
                key: String,
                expires_seconds: u64,
            }
            let body: Body = read_json(request).await?;
            let seconds = body.expires_seconds.clamp(1, MAX_SHARE_SECONDS);
            let url = state.upstream.presign_get(
                identity,
                &object_path(&bucket, &body.key),
                Duration::from_secs(seconds),
            )?;
            ok(json!({ "url": url, "expiresSeconds": seconds }))
        }
        Endpoint::DeleteObjects(bucket) => {
            #[derive(Deserialize)]
            struct Body {
                keys: Vec<String>,
            }
            let body: Body = read_json(request).await?;
            let (mut deleted, mut failed) = (0, Vec::new());
            for chunk in body.keys.chunks(1000) {
                let outcome = s3.delete_objects(&bucket, chunk).await?;
                deleted += chunk.len() - outcome.error.len();
                failed.extend(
                    outcome
                        .error
                        .into_iter()
                        .map(|e| json!({ "key": e.key, "code": e.code, "message": e.message })),
                );
            }
            if deleted == 0 && !failed.is_empty() {
                let message = failed[0]["message"].as_str().unwrap_or("").to_string();
                let code = failed[0]["code"].as_str().unwrap_or("").to_string();
                return Err(UpstreamError::Api {
                    status: 403,
                    code,
                    message,
                }
                .into());
            }
            ok(json!({ "deleted": deleted, "failed": failed }))
        }
        Endpoint::GetAccess(bucket) => get_access(s3, &bucket).await,
        Endpoint::SetAccess(bucket) => {
            #[derive(Deserialize)]
            struct Body {
                access: String,
                #[serde(default)]
                prefix: String,
            }
            let body: Body = read_json(request).await?;
            match body.access.as_str() {
                "private" => s3.delete_config(&bucket, BucketConfig::Policy).await?,
                kind @ ("download" | "upload" | "public") => {
                    let doc =
                        canned_bucket_policy(kind, &bucket, &body.prefix).ok_or_else(|| {
                            ConsoleError::BadRequest(format!("unknown access {kind}"))
                        })?;
                    s3.put_config(&bucket, BucketConfig::Policy, Bytes::from(doc.to_json()))
                        .await?
                }
                other => {
                    return Err(ConsoleError::BadRequest(format!(
                        "access must be private, download, upload or public, not {other:?}"
                    )))
                }
            }
            get_access(s3, &bucket).await
        }
        Endpoint::GetLifecycle(bucket) => {
            let config = lifecycle_of(s3, &bucket).await?;
            ok(lifecycle_json(config.as_ref()))
        }
        Endpoint::AddLifecycleRule(bucket) => {
            #[derive(Deserialize)]
            struct Body {
                #[serde(default)]
                id: String,
                #[serde(default)]
                prefix: String,
                days: u32,
            }
            let body: Body = read_json(request).await?;
            if body.days == 0 {
                return Err(ConsoleError::BadRequest(
                    "expiry takes at least one day".into(),
                ));
            }
            let mut config = lifecycle_of(s3, &bucket)
                .await?
                .unwrap_or(LifecycleConfiguration { rules: Vec::new() });
            let id = if body.id.trim().is_empty() {
                let base = format!("expire-{}{}d", body.prefix.replace('/', "-"), body.days);
                unique_id(&config, &base)
            } else {
                body.id.trim().to_string()
            };
            if config.rules.iter().any(|r| r.id == id) {
                return Err(ConsoleError::BadRequest(format!(
                    "a rule named {id:?} already exists"
                )));
            }
            config.rules.push(LifecycleRule {
                id,
                status: RuleStatus::Enabled,
                filter: RuleFilter::Prefix(body.prefix),
                expiration: Some(Expiration::Days(body.days)),
                abort_incomplete_multipart_upload: None,
                noncurrent_version_expiration: None,
                noncurrent_version_transitions: Vec::new(),
            });
            put_lifecycle(s3, &bucket, &config).await
        }
        Endpoint::ImportLifecycle(bucket) => {
            let document = read_body(request).await?;
            let text = String::from_utf8_lossy(&document);
            let config = if text.trim_start().starts_with('<') {
                LifecycleConfiguration::from_xml(&document)
            } else {
                LifecycleConfiguration::from_mc_json(&document)
            }
            .map_err(|e| ConsoleError::BadRequest(format!("the rules were refused: {e}")))?;
            put_lifecycle(s3, &bucket, &config).await
        }
        Endpoint::DeleteLifecycleRule { bucket, id } => {
            let Some(mut config) = lifecycle_of(s3, &bucket).await? else {
                return Err(ConsoleError::NotFound);
            };
            let before = config.rules.len();
            config.rules.retain(|r| r.id != id);
            if config.rules.len() == before {
                return Err(ConsoleError::NotFound);
            }
            if config.rules.is_empty() {
                s3.delete_config(&bucket, BucketConfig::Lifecycle).await?;
                ok(lifecycle_json(None))
            } else {
                put_lifecycle(s3, &bucket, &config).await
            }
        }
        Endpoint::GetCors(bucket) => ok(cors_json(&cors_of(s3, &bucket).await?)),
        Endpoint::AddCorsRule(bucket) => {
            let rule: CorsRule = read_json(request).await?;
            let rule = rule.checked()?;
            let mut rules = cors_of(s3, &bucket).await?;
            rules.push(rule);
            put_cors(s3, &bucket, &rules).await
        }
        Endpoint::DeleteCorsRule { bucket, index } => {
            let mut rules = cors_of(s3, &bucket).await?;
            if index >= rules.len() {
                return Err(ConsoleError::NotFound);
            }
            rules.remove(index);
            if rules.is_empty() {
                s3.delete_config(&bucket, BucketConfig::Cors).await?;
                ok(cors_json(&rules))
            } else {
                put_cors(s3, &bucket, &rules).await
            }
        }
        Endpoint::Rights => {
            let pairs = query(&request);
            // Object writes are judged for the prefix being browsed, so a
            // user allowed only `bucket/uploads/*` gets an upload button there.
            let query = match param(&pairs, "bucket").filter(|b| !b.is_empty()) {
                Some(bucket) => match param(&pairs, "prefix").filter(|p| !p.is_empty()) {
                    Some(prefix) => encode_query(&[("bucket", bucket), ("prefix", prefix)]),
                    None => encode_query(&[("bucket", bucket)]),
                },
                None => String::new(),
            };
            let doc = s3.admin(Method::GET, "access", &query, None).await?;
            let allowed = |action: &str| doc["actions"][action].as_bool().unwrap_or(false);
            ok(json!({
                "bucket": doc["bucket"],
                "prefix": doc["prefix"],
                "canCreateBucket": allowed("s3:CreateBucket"),
                "canDeleteBucket": allowed("s3:DeleteBucket"),
                "canUpload": allowed("s3:PutObject"),
                "canDeleteObjects": allowed("s3:DeleteObject"),
                "canEditAccess": allowed("s3:PutBucketPolicy"),
                "canEditLifecycle": allowed("s3:PutLifecycleConfiguration"),
                "canEditCors": allowed("s3:PutBucketCORS"),
            }))
        }
        Endpoint::ListUsers => ok(s3.admin(Method::GET, "users", "", None).await?),
        Endpoint::AddUser => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Body {
                access_key: String,
                #[serde(default)]
                policy: String,
            }
            let body: Body = read_json(request).await?;
            let secret = generated_secret();
            let access_key = body.access_key.trim();
            let user = format!("users/{}", encode_value(access_key));
            s3.admin(Method::PUT, &user, "", Some(json!({ "secretKey": secret })))
                .await?;
            if !body.policy.is_empty() {
                let attach = format!("{user}/policies/{}", encode_value(&body.policy));
                s3.admin(Method::PUT, &attach, "", None).await?;
            }
            // The only time the secret leaves the server: the page shows it once.
            ok(json!({ "accessKey": access_key, "secretKey": secret }))
        }
        Endpoint::DeleteUser(user) => {
            s3.admin(
                Method::DELETE,
                &format!("users/{}", encode_value(&user)),
                "",
                None,
            )
            .await?;
            ok(json!({ "deleted": user }))
        }
        Endpoint::SetUserStatus(user) => {
            #[derive(Deserialize)]
            struct Body {
                enabled: bool,
            }
            let body: Body = read_json(request).await?;
            let path = format!("users/{}/status", encode_value(&user));
            ok(s3
                .admin(
                    Method::PUT,
                    &path,
                    "",
                    Some(json!({ "enabled": body.enabled })),
                )
                .await?)
        }
        Endpoint::AttachPolicy { user, policy } | Endpoint::DetachPolicy { user, policy } => {
            let path = format!(
                "users/{}/policies/{}",
                encode_value(&user),
                encode_value(&policy)
            );
            ok(s3.admin(method, &path, "", None).await?)
        }
        Endpoint::ListPolicies => ok(s3.admin(Method::GET, "policies", "", None).await?),
        Endpoint::Health => ok(s3.admin(Method::GET, "info", "", None).await?),
        Endpoint::LifecycleReport => ok(s3.admin(Method::GET, "lifecycle", "", None).await?),
        Endpoint::Metrics => {
            let reply = s3
                .call(Method::GET, "/minio/v2/metrics/cluster", "")
                .await?;
            ok(metric_totals(&String::from_utf8_lossy(&reply.body)))
        }
        Endpoint::Heal => ok(s3.admin(Method::POST, "heal", "", None).await?),
        Endpoint::Asset(_) | Endpoint::NotFound | Endpoint::SignIn => Err(ConsoleError::NotFound),
    }
}

/// One CORS rule as the page shows and sends it (S3's `CORSRule`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", default)]
struct CorsRule {
    allowed_origins: Vec<String>,
    allowed_methods: Vec<String>,
    allowed_headers: Vec<String>,
    expose_headers: Vec<String>,
    max_age_seconds: Option<u32>,
}

impl CorsRule {
    /// Trims the lists and refuses what S3 would: no origin, or a method
    /// outside GET, PUT, POST, DELETE and HEAD.
    fn checked(mut self) -> Result<CorsRule> {
        let clean = |list: &mut Vec<String>| {
            *list = list
                .iter()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect();
        };
        clean(&mut self.allowed_origins);
        clean(&mut self.allowed_methods);
        clean(&mut self.allowed_headers);
        clean(&mut self.expose_headers);
        for method in &mut self.allowed_methods {
            *method = method.to_ascii_uppercase();
        }
        if self.allowed_origins.is_empty() || self.allowed_methods.is_empty() {
            return Err(ConsoleError::BadRequest(
                "a CORS rule needs at least one origin and one method".into(),
            ));
        }
        if let Some(bad) = self
            .allowed_methods
            .iter()
            .find(|m| !matches!(m.as_str(), "GET" | "PUT" | "POST" | "DELETE" | "HEAD"))
        {
            return Err(ConsoleError::BadRequest(format!(
                "{bad:?} is not a CORS method: use GET, PUT, POST, DELETE or HEAD"
            )));
        }
        Ok(self)
    }
}

/// `GetBucketCors`'s document, as far as the page uses it.
#[derive(Debug, Default, Deserialize)]
struct CorsXml {
    #[serde(rename = "CORSRule", default)]
    rules: Vec<CorsRuleXml>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CorsRuleXml {
    #[serde(rename = "AllowedOrigin")]
    allowed_origins: Vec<String>,
    #[serde(rename = "AllowedMethod")]
    allowed_methods: Vec<String>,
    #[serde(rename = "AllowedHeader")]
    allowed_headers: Vec<String>,
    #[serde(rename = "ExposeHeader")]
    expose_headers: Vec<String>,
    #[serde(rename = "MaxAgeSeconds")]
    max_age_seconds: Option<u32>,
}

async fn cors_of(s3: S3<'_>, bucket: &str) -> Result<Vec<CorsRule>> {
    let Some(xml) = s3.get_config(bucket, BucketConfig::Cors).await? else {
        return Ok(Vec::new());
    };
    let doc: CorsXml = parse_xml(&xml)?;
    Ok(doc
        .rules
        .into_iter()
        .map(|r| CorsRule {
            allowed_origins: r.allowed_origins,
            allowed_methods: r.allowed_methods,
            allowed_headers: r.allowed_headers,
            expose_headers: r.expose_headers,
            max_age_seconds: r.max_age_seconds,
        })
        .collect())
}

fn cors_xml(rules: &[CorsRule]) -> String {
    let mut xml = String::from("<CORSConfiguration>");
    let push = |xml: &mut String, tag: &str, value: &str| {
        xml.push_str(&format!(
            "<{tag}>{}</{tag}>",
            quick_xml::escape::escape(value)
        ));
    };
    for rule in rules {
        xml.push_str("<CORSRule>");
        for (tag, list) in [
            ("AllowedOrigin", &rule.allowed_origins),
            ("AllowedMethod", &rule.allowed_methods),
            ("AllowedHeader", &rule.allowed_headers),
            ("ExposeHeader", &rule.expose_headers),
        ] {
            for value in list {
                push(&mut xml, tag, value);
            }
        }
        if let Some(age) = rule.max_age_seconds {
            push(&mut xml, "MaxAgeSeconds", &age.to_string());
        }
        xml.push_str("</CORSRule>");
    }
    xml.push_str("</CORSConfiguration>");
    xml
}

fn cors_json(rules: &[CorsRule]) -> Value {
    json!({ "rules": rules })
}

async fn put_cors(s3: S3<'_>, bucket: &str, rules: &[CorsRule]) -> Result<Response<ConsoleBody>> {
    s3.put_config(bucket, BucketConfig::Cors, Bytes::from(cors_xml(rules)))
        .await?;
    ok(cors_json(rules))
}

/// A 40-character secret from an alphabet that survives copy and paste.
fn generated_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

async fn list_buckets(s3: S3<'_>) -> Result<Response<ConsoleBody>> {
    let buckets = s3.list_buckets().await?;
    let counts = join_all(buckets.iter().map(|b| async move {
        let (mut objects, mut bytes, mut token) = (0u64, 0u64, None::<String>);
        loop {
            let page = s3
                .list_objects(&b.name, "", false, token.as_deref(), 1000)
                .await
                .ok()?;
            objects += page.contents.len() as u64;
            bytes += page.contents.iter().map(|o| o.size).sum::<u64>();
            if objects >= COUNT_CAP {
                return Some((objects, bytes, true));
            }
            match page.next_continuation_token.filter(|_| page.is_truncated) {
                Some(next) => token = Some(next),
                None => return Some((objects, bytes, false)),
            }
        }
    }))
    .await;
    let list: Vec<Value> = buckets
        .iter()
        .zip(counts)
        .map(|(bucket, count)| match count {
            Some((objects, bytes, capped)) => json!({
                "name": bucket.name, "created": bucket.creation_date,
                "objects": objects, "bytes": bytes, "capped": capped,
            }),
            // Listing refused for this identity: show the bucket without counts.
            None => json!({ "name": bucket.name, "created": bucket.creation_date }),
        })
        .collect();
    ok(json!({ "buckets": list }))
}

async fn list_objects(
    s3: S3<'_>,
    bucket: &str,
    prefix: &str,
    token: Option<&str>,
) -> Result<Response<ConsoleBody>> {
    let doc = s3
        .list_objects(bucket, prefix, true, token, PAGE_KEYS)
        .await?;
    ok(json!({
        "prefix": prefix,
        "folders": doc.common_prefixes.iter().map(|p| &p.prefix).collect::<Vec<_>>(),
        "objects": doc.contents.iter().map(|c| json!({
            "key": c.key, "size": c.size, "lastModified": c.last_modified,
            "etag": c.etag.trim_matches('"'),
        })).collect::<Vec<_>>(),
        "next": if doc.is_truncated { doc.next_continuation_token } else { None },
    }))
}

async fn put_object(
    state: &ConsoleState,
    identity: &Identity,
    bucket: &str,
    request: Request<Incoming>,
) -> Result<Response<ConsoleBody>> {
    let key = key_param(&request)?;
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| ConsoleError::BadRequest("uploads need a Content-Length".into()))?;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    if length >= state.config.multipart_threshold {
        let uploaded = multipart::upload(
            &state.upstream,
            identity,
            bucket,
            &key,
            content_type,
            length,
            state.config.part_size,
            request.into_body(),
        )
        .await?;
        return ok(json!({ "key": key, "etag": uploaded.etag, "parts": uploaded.parts }));
    }
    let mut headers = vec![("content-length", length.to_string())];
    if let Some(kind) = content_type {
        headers.push(("content-type", kind));
    }
    let body = request.into_body().boxed();
    let response = state
        .upstream
        .stream(
            identity,
            Method::PUT,
            &object_path(bucket, &key),
            "",
            &headers,
            body,
        )
        .await?;
    if !response.status().is_success() {
        return Err(streamed_error(response).await.into());
    }
    let header_text = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    ok(json!({
        "key": key,
        "etag": header_text("etag").map(|e| e.trim_matches('"').to_string()),
        "expiration": header_text("x-amz-expiration"),
    }))
}

/// Image types the browser may show inline; everything else downloads, so
/// an uploaded HTML or SVG file never runs as the console's own page.
fn inline_image(content_type: &str) -> bool {
    matches!(
        content_type.split(';').next().unwrap_or("").trim(),
        "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "image/avif" | "image/bmp"
    )
}

async fn get_object(
    state: &ConsoleState,
    identity: &Identity,
    bucket: &str,
    request: Request<Incoming>,
) -> Result<Response<ConsoleBody>> {
    let pairs = query(&request);
    let key = param(&pairs, "key")
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ConsoleError::BadRequest("no object key given".into()))?;
    let download = param(&pairs, "download").is_some();
    let empty = Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed();
    let response = state
        .upstream
        .stream(
            identity,
            Method::GET,
            &object_path(bucket, &key),
            "",
            &[],
            empty,
        )
        .await?;
    if !response.status().is_success() {
        return Err(streamed_error(response).await.into());
    }
    let (parts, body) = response.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let mut out = Response::new(
        body.map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
            .boxed(),
    );
    for name in [header::CONTENT_LENGTH, header::ETAG, header::LAST_MODIFIED] {
        if let Some(value) = parts.headers.get(&name) {
            out.headers_mut().insert(name, value.clone());
        }
    }
    let file_name = key.rsplit('/').next().unwrap_or(&key);
    let disposition = if download || !inline_image(&content_type) {
        "attachment"
    } else {
        "inline"
    };
    let disposition = format!(
        "{disposition}; filename*=UTF-8''{}",
        encode_value(file_name)
    );
    let headers = out.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).expect("percent-encoded"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=60"),
    );
    Ok(out)
}

async fn object_info(
    state: &ConsoleState,
    identity: &Identity,
    bucket: &str,
    key: &str,
) -> Result<Response<ConsoleBody>> {
    let reply = state
        .upstream
        .send(
            identity,
            Method::HEAD,
            &object_path(bucket, key),
            "",
            &[],
            Bytes::new(),
        )
        .await?;
    let text = |name: &str| {
        reply
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let metadata: serde_json::Map<String, Value> = reply
        .headers
        .iter()
        .filter_map(|(name, value)| {
            let name = name.as_str().strip_prefix("x-amz-meta-")?;
            Some((
                name.to_string(),
                Value::String(value.to_str().unwrap_or("").to_string()),
            ))
        })
        .collect();
    let cdn_url = state
        .config
        .cdn_url
        .as_ref()
        .map(|base| format!("{}{}", base.trim_end_matches('/'), object_path(bucket, key)));
    ok(json!({
        "bucket": bucket,
        "key": key,
        "size": text("content-length").and_then(|v| v.parse::<u64>().ok()),
        "etag": text("etag").map(|e| e.trim_matches('"').to_string()),
        "contentType": text("content-type"),
        "lastModified": text("last-modified"),
        "expiration": text("x-amz-expiration"),
        "metadata": metadata,
        "cdnUrl": cdn_url,
    }))
}

async fn get_access(s3: S3<'_>, bucket: &str) -> Result<Response<ConsoleBody>> {
    let Some(document) = s3.get_config(bucket, BucketConfig::Policy).await? else {
        return ok(json!({ "access": "private", "prefix": "" }));
    };
    let recognised = PolicyDocument::parse(&document)
        .ok()
        .and_then(|doc| recognise(&doc, bucket));
    match recognised {
        Some((kind, prefix)) => ok(json!({ "access": kind, "prefix": prefix })),
        None => ok(json!({
            "access": "custom",
            "policy": String::from_utf8_lossy(&document),
        })),
    }
}

/// Names a stored policy when it is one of the canned ones `minnow bucket
/// policy` writes, with its prefix.
fn recognise(doc: &PolicyDocument, bucket: &str) -> Option<(&'static str, String)> {
    let arn = format!("arn:aws:s3:::{bucket}/");
    let text = doc.to_json();
    // The canned documents name their prefix in every object resource.
    let start = text.find(&arn)? + arn.len();
    let end = text[start..].find("*\"")? + start;
    let prefix = text[start..end].to_string();
    ["download", "upload", "public"]
        .into_iter()
        .find(|kind| canned_bucket_policy(kind, bucket, &prefix).as_ref() == Some(doc))
        .map(|kind| (kind, prefix))
}

async fn lifecycle_of(s3: S3<'_>, bucket: &str) -> Result<Option<LifecycleConfiguration>> {
    match s3.get_config(bucket, BucketConfig::Lifecycle).await? {
        None => Ok(None),
        Some(xml) => LifecycleConfiguration::from_xml(&xml)
            .map(Some)
            .map_err(|e| ConsoleError::BadRequest(format!("unreadable lifecycle rules: {e}"))),
    }
}

async fn put_lifecycle(
    s3: S3<'_>,
    bucket: &str,
    config: &LifecycleConfiguration,
) -> Result<Response<ConsoleBody>> {
    s3.put_config(
        bucket,
        BucketConfig::Lifecycle,
        Bytes::from(config.to_xml()),
    )
    .await?;
    ok(lifecycle_json(Some(config)))
}

fn unique_id(config: &LifecycleConfiguration, base: &str) -> String {
    let mut id = base.to_string();
    let mut n = 2;
    while config.rules.iter().any(|r| r.id == id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

fn lifecycle_json(config: Option<&LifecycleConfiguration>) -> Value {
    let rules: Vec<Value> = config
        .map(|c| c.rules.as_slice())
        .unwrap_or(&[])
        .iter()
        .map(|rule| {
            let (days, date) = match rule.expiration {
                Some(Expiration::Days(d)) => (Some(d), None),
                Some(Expiration::Date(d)) => (None, Some(d.date().to_string())),
                _ => (None, None),
            };
            json!({
                "id": rule.id,
                "status": rule.status.as_str(),
                "prefix": rule.filter.prefix(),
                "expirationDays": days,
                "expirationDate": date,
                "abortUploadDays": rule
                    .abort_incomplete_multipart_upload
                    .map(|a| a.days_after_initiation),
            })
        })
        .collect();
    json!({ "rules": rules })
}

/// Sums the counters the Health charts draw from Prometheus text: requests,
/// bytes in and out, and the latency sum and count over every operation;
/// and the lifecycle scanner's counters for its status.
fn metric_totals(text: &str) -> Value {
    let names = [
        "minnow_requests_total",
        "minnow_rx_bytes_total",
        "minnow_tx_bytes_total",
        "minnow_request_duration_seconds_sum",
        "minnow_request_duration_seconds_count",
        "minnow_lifecycle_cycles_total",
        "minnow_lifecycle_objects_scanned_total",
        "minnow_lifecycle_objects_expired_total",
        "minnow_lifecycle_uploads_aborted_total",
        "minnow_lifecycle_errors_total",
        "minnow_lifecycle_last_cycle_seconds",
    ];
    let mut totals = [0f64; 11];
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let name = series.split('{').next().unwrap_or("");
        if let (Some(i), Ok(value)) = (names.iter().position(|n| *n == name), value.parse::<f64>())
        {
            totals[i] += value;
        }
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    json!({
        "at": now_ms,
        "requests": totals[0],
        "rxBytes": totals[1],
        "txBytes": totals[2],
        "latencySeconds": totals[3],
        "latencyCount": totals[4],
        "lifecycle": {
            "cycles": totals[5],
            "objectsScanned": totals[6],
            "objectsExpired": totals[7],
            "uploadsAborted": totals[8],
            "errors": totals[9],
            "lastCycleSeconds": totals[10],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_totals_sum_every_operation() {
        let text = "# TYPE minnow_requests_total counter\n\
            minnow_requests_total{operation=\"GetObject\",status=\"200\"} 2\n\
            minnow_requests_total{operation=\"PutObject\",status=\"403\"} 1\n\
            minnow_request_duration_seconds_bucket{operation=\"GetObject\",le=\"0.1\"} 2\n\
            minnow_request_duration_seconds_sum{operation=\"GetObject\"} 0.5\n\
            minnow_request_duration_seconds_count{operation=\"GetObject\"} 2\n\
            minnow_rx_bytes_total 100\nminnow_tx_bytes_total 250\n\
            minnow_lifecycle_cycles_total 3\nminnow_lifecycle_objects_expired_total 7\n";
        let totals = metric_totals(text);
        assert_eq!(totals["requests"], 3.0);
        assert_eq!(totals["rxBytes"], 100.0);
        assert_eq!(totals["txBytes"], 250.0);
        assert_eq!(totals["latencySeconds"], 0.5);
        assert_eq!(totals["latencyCount"], 2.0);
        assert_eq!(totals["lifecycle"]["cycles"], 3.0);
        assert_eq!(totals["lifecycle"]["objectsExpired"], 7.0);
    }

    #[test]
    fn only_raster_images_are_shown_inline() {
        assert!(inline_image("image/png"));
        assert!(inline_image("image/jpeg; charset=binary"));
        assert!(!inline_image("image/svg+xml"), "SVG can carry script");
        assert!(!inline_image("text/html"));
    }

    #[test]
    fn canned_download_policy_is_recognised_with_its_prefix() {
        let doc = canned_bucket_policy("download", "photos", "public/").unwrap();
        assert_eq!(
            recognise(&doc, "photos"),
            Some(("download", "public/".to_string()))
        );
    }

    #[test]
    fn cors_rules_round_trip_through_s3_xml() {
        let rule = CorsRule {
            allowed_origins: vec!["https://app.example".into()],
            allowed_methods: vec!["GET".into(), "PUT".into()],
            allowed_headers: vec!["*".into()],
            expose_headers: vec!["ETag".into()],
            max_age_seconds: Some(600),
        };
        let doc: CorsXml = parse_xml(cors_xml(std::slice::from_ref(&rule)).as_bytes()).unwrap();
        assert_eq!(doc.rules.len(), 1);
        assert_eq!(doc.rules[0].allowed_methods, ["GET", "PUT"]);
        assert_eq!(doc.rules[0].max_age_seconds, Some(600));
        let no_origin = CorsRule {
            allowed_origins: vec![" ".into()],
            ..rule.clone()
        };
        assert!(no_origin.checked().is_err());
        let bad_method = CorsRule {
            allowed_methods: vec!["patch".into()],
            ..rule
        };
        assert!(bad_method.checked().is_err());
    }

    #[test]
    fn generated_secrets_are_long_and_differ() {
        let (a, b) = (generated_secret(), generated_secret());
        assert_eq!(a.len(), 40);
        assert_ne!(a, b);
    }
}

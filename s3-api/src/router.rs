//! Request → [`Endpoint`]: which S3 operation a method, path, query and host
//! name. Pure (no I/O, no store), so the whole table is unit-tested here.
//!
//! Path-style (`/bucket/key`) and virtual-hosted (`bucket.<domain>/key`)
//! addressing are both understood. Sub-resources minnow does not serve yet
//! route to [`Endpoint::NotImplemented`] so they answer 501, never a wrong
//! operation.

use http::Method;
use percent_encoding::percent_decode_str;

use crate::error::{ApiError, S3Code};

/// A decoded query string, in order, keeping parameters without a value
/// (`?uploads`) as an empty string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Decodes `a=1&b&c=x%20y` (`+` is a space, as in form encoding).
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let mut pairs = Vec::new();
        for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((
                decode_query_component(name)?,
                decode_query_component(value)?,
            ));
        }
        Ok(Self { pairs })
    }

    /// The first value of `name`, if present (an empty string for `?name`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

fn decode_query_component(raw: &str) -> Result<String, ApiError> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::new(S3Code::InvalidURI))
}

/// Which bucket-level configuration document a request addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketConfig {
    Policy,
    Lifecycle,
    Cors,
}

/// The operation a request asks for, with the names it addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    ListBuckets,
    CreateBucket {
        bucket: String,
    },
    HeadBucket {
        bucket: String,
    },
    DeleteBucket {
        bucket: String,
    },
    GetBucketLocation {
        bucket: String,
    },
    GetBucketVersioning {
        bucket: String,
    },
    GetBucketAcl {
        bucket: String,
    },
    GetBucketConfig {
        bucket: String,
        config: BucketConfig,
    },
    PutBucketConfig {
        bucket: String,
        config: BucketConfig,
    },
    DeleteBucketConfig {
        bucket: String,
        config: BucketConfig,
    },
    ListObjectsV1 {
        bucket: String,
    },
    ListObjectsV2 {
        bucket: String,
    },
    ListMultipartUploads {
        bucket: String,
    },
    DeleteObjects {
        bucket: String,
    },
    /// A browser-form upload (`multipart/form-data` to the bucket URL); the
    /// key and the signature are in the form.
    PostObject {
        bucket: String,
    },
    PutObject {
        bucket: String,
        key: String,
    },
    CopyObject {
        bucket: String,
        key: String,
    },
    GetObject {
        bucket: String,
        key: String,
    },
    HeadObject {
        bucket: String,
        key: String,
    },
    DeleteObject {
        bucket: String,
        key: String,
    },
    GetObjectAcl {
        bucket: String,
        key: String,
    },
    GetObjectTagging {
        bucket: String,
        key: String,
    },
    PutObjectTagging {
        bucket: String,
        key: String,
    },
    DeleteObjectTagging {
        bucket: String,
        key: String,
    },
    GetObjectAttributes {
        bucket: String,
        key: String,
    },
    CreateMultipartUpload {
        bucket: String,
        key: String,
    },
    UploadPart {
        bucket: String,
        key: String,
        upload_id: String,
        part_number: u32,
    },
    UploadPartCopy {
        bucket: String,
        key: String,
        upload_id: String,
        part_number: u32,
    },
    CompleteMultipartUpload {
        bucket: String,
        key: String,
        upload_id: String,
    },
    AbortMultipartUpload {
        bucket: String,
        key: String,
        upload_id: String,
    },
    ListParts {
        bucket: String,
        key: String,
        upload_id: String,
    },
    /// `/minio/health/<path>`: liveness and quorum probes (public).
    MinioHealth {
        path: String,
    },
    /// `/minio/admin/<path>`: the handlers hand it to `admin::minio_v3`
    /// before routing; routed here only so that it is never an S3 bucket.
    MinioAdmin {
        path: String,
    },
    /// Prometheus metrics: `/minio/v2/metrics/<path>` or `/metrics`.
    Metrics,
    /// A CORS preflight (`OPTIONS`) on a bucket or an object.
    CorsPreflight {
        bucket: String,
        key: Option<String>,
    },
    /// A recognised S3 operation minnow does not implement.
    NotImplemented {
        operation: String,
    },
}

impl Endpoint {
    /// The bucket the request addresses, if any.
    pub fn bucket(&self) -> Option<&str> {
        use Endpoint::*;
        match self {
            ListBuckets
            | MinioHealth { .. }
            | MinioAdmin { .. }
            | Metrics
            | NotImplemented { .. } => None,
            CreateBucket { bucket }
            | CorsPreflight { bucket, .. }
            | HeadBucket { bucket }
            | DeleteBucket { bucket }
            | GetBucketLocation { bucket }
            | GetBucketVersioning { bucket }
            | GetBucketAcl { bucket }
            | GetBucketConfig { bucket, .. }
            | PutBucketConfig { bucket, .. }
            | DeleteBucketConfig { bucket, .. }
            | ListObjectsV1 { bucket }
            | ListObjectsV2 { bucket }
            | ListMultipartUploads { bucket }
            | DeleteObjects { bucket }
            | PostObject { bucket }
            | PutObject { bucket, .. }
            | CopyObject { bucket, .. }
            | GetObject { bucket, .. }
            | HeadObject { bucket, .. }
            | DeleteObject { bucket, .. }
            | GetObjectAcl { bucket, .. }
            | GetObjectTagging { bucket, .. }
            | PutObjectTagging { bucket, .. }
            | DeleteObjectTagging { bucket, .. }
            | GetObjectAttributes { bucket, .. }
            | CreateMultipartUpload { bucket, .. }
            | UploadPart { bucket, .. }
            | UploadPartCopy { bucket, .. }
            | CompleteMultipartUpload { bucket, .. }
            | AbortMultipartUpload { bucket, .. }
            | ListParts { bucket, .. } => Some(bucket),
        }
    }

    /// The operation name as S3 documents it (for logs and metrics).
    pub fn name(&self) -> &'static str {
        use Endpoint::*;
        match self {
            ListBuckets => "ListBuckets",
            CreateBucket { .. } => "CreateBucket",
            HeadBucket { .. } => "HeadBucket",
            DeleteBucket { .. } => "DeleteBucket",
            GetBucketLocation { .. } => "GetBucketLocation",
            GetBucketVersioning { .. } => "GetBucketVersioning",
            GetBucketAcl { .. } => "GetBucketAcl",
            GetBucketConfig { config, .. } => match config {
                BucketConfig::Policy => "GetBucketPolicy",
                BucketConfig::Lifecycle => "GetBucketLifecycleConfiguration",
                BucketConfig::Cors => "GetBucketCors",
            },
            PutBucketConfig { config, .. } => match config {
                BucketConfig::Policy => "PutBucketPolicy",
                BucketConfig::Lifecycle => "PutBucketLifecycleConfiguration",
                BucketConfig::Cors => "PutBucketCors",
            },
            DeleteBucketConfig { config, .. } => match config {
                BucketConfig::Policy => "DeleteBucketPolicy",
                BucketConfig::Lifecycle => "DeleteBucketLifecycle",
                BucketConfig::Cors => "DeleteBucketCors",
            },
            ListObjectsV1 { .. } => "ListObjects",
            ListObjectsV2 { .. } => "ListObjectsV2",
            ListMultipartUploads { .. } => "ListMultipartUploads",
            DeleteObjects { .. } => "DeleteObjects",
            PostObject { .. } => "PostObject",
            PutObject { .. } => "PutObject",
            CopyObject { .. } => "CopyObject",
            GetObject { .. } => "GetObject",
            HeadObject { .. } => "HeadObject",
            DeleteObject { .. } => "DeleteObject",
            GetObjectAcl { .. } => "GetObjectAcl",
            GetObjectTagging { .. } => "GetObjectTagging",
            PutObjectTagging { .. } => "PutObjectTagging",
            DeleteObjectTagging { .. } => "DeleteObjectTagging",
            GetObjectAttributes { .. } => "GetObjectAttributes",
            CreateMultipartUpload { .. } => "CreateMultipartUpload",
            UploadPart { .. } => "UploadPart",
            UploadPartCopy { .. } => "UploadPartCopy",
            CompleteMultipartUpload { .. } => "CompleteMultipartUpload",
            AbortMultipartUpload { .. } => "AbortMultipartUpload",
            ListParts { .. } => "ListParts",
            MinioHealth { .. } => "MinioHealth",
            MinioAdmin { .. } => "MinioAdmin",
            Metrics => "Metrics",
            CorsPreflight { .. } => "PreflightRequest",
            NotImplemented { .. } => "NotImplemented",
        }
    }

    /// The policy action the request needs (`s3:GetObject`...), checked
    /// against identity and bucket policies. `None` for requests that are
    /// not authorized by policy: health, metrics and CORS preflights are
    /// public, operations minnow does not implement only need a signature.
    /// CopyObject/UploadPartCopy also need `s3:GetObject` on their source
    /// and DeleteObjects needs `s3:DeleteObject` per key; the pipeline and
    /// the handler check those.
    pub fn action(&self) -> Option<&'static str> {
        use Endpoint::*;
        Some(match self {
            ListBuckets => "s3:ListAllMyBuckets",
            CreateBucket { .. } => "s3:CreateBucket",
            HeadBucket { .. } | ListObjectsV1 { .. } | ListObjectsV2 { .. } => "s3:ListBucket",
            DeleteBucket { .. } => "s3:DeleteBucket",
            GetBucketLocation { .. } => "s3:GetBucketLocation",
            GetBucketVersioning { .. } => "s3:GetBucketVersioning",
            GetBucketAcl { .. } => "s3:GetBucketAcl",
            GetBucketConfig { config, .. } => match config {
                BucketConfig::Policy => "s3:GetBucketPolicy",
                BucketConfig::Lifecycle => "s3:GetLifecycleConfiguration",
                BucketConfig::Cors => "s3:GetBucketCORS",
            },
            // S3 authorizes DeleteBucketLifecycle and DeleteBucketCors with
            // the Put actions; only the policy has its own delete action.
            PutBucketConfig { config, .. } | DeleteBucketConfig { config, .. }
                if *config != BucketConfig::Policy =>
            {
                match config {
                    BucketConfig::Lifecycle => "s3:PutLifecycleConfiguration",
                    _ => "s3:PutBucketCORS",
                }
            }
            PutBucketConfig { .. } => "s3:PutBucketPolicy",
            DeleteBucketConfig { .. } => "s3:DeleteBucketPolicy",
            ListMultipartUploads { .. } => "s3:ListBucketMultipartUploads",
            DeleteObjects { .. } => "s3:DeleteObject",
            PutObject { .. }
            | PostObject { .. }
            | CopyObject { .. }
            | CreateMultipartUpload { .. }
            | UploadPart { .. }
            | UploadPartCopy { .. }
            | CompleteMultipartUpload { .. } => "s3:PutObject",
            GetObject { .. } | HeadObject { .. } => "s3:GetObject",
            DeleteObject { .. } => "s3:DeleteObject",
            GetObjectAcl { .. } => "s3:GetObjectAcl",
            GetObjectTagging { .. } => "s3:GetObjectTagging",
            PutObjectTagging { .. } => "s3:PutObjectTagging",
            DeleteObjectTagging { .. } => "s3:DeleteObjectTagging",
            GetObjectAttributes { .. } => "s3:GetObjectAttributes",
            AbortMultipartUpload { .. } => "s3:AbortMultipartUpload",
            ListParts { .. } => "s3:ListMultipartUploadParts",
            MinioHealth { .. }
            | MinioAdmin { .. }
            | Metrics
            | CorsPreflight { .. }
            | NotImplemented { .. } => return None,
        })
    }

    /// The object key the request addresses, if any.
    pub fn key(&self) -> Option<&str> {
        use Endpoint::*;
        match self {
            PutObject { key, .. }
            | CopyObject { key, .. }
            | GetObject { key, .. }
            | HeadObject { key, .. }
            | DeleteObject { key, .. }
            | GetObjectAcl { key, .. }
            | GetObjectTagging { key, .. }
            | PutObjectTagging { key, .. }
            | DeleteObjectTagging { key, .. }
            | GetObjectAttributes { key, .. }
            | CreateMultipartUpload { key, .. }
            | UploadPart { key, .. }
            | UploadPartCopy { key, .. }
            | CompleteMultipartUpload { key, .. }
            | AbortMultipartUpload { key, .. }
            | ListParts { key, .. } => Some(key),
            CorsPreflight { key, .. } => key.as_deref(),
            _ => None,
        }
    }
}

/// Bucket sub-resources S3 defines that minnow does not serve (yet).
const UNSUPPORTED_BUCKET_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "analytics",
    "encryption",
    // MinIO's ListenBucketNotification (`?events=s3:ObjectCreated:*`).
    "events",
    "intelligent-tiering",
    "inventory",
    "logging",
    "metadataConfiguration",
    "metadataTable",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    // CreateSession (S3 Express directory buckets).
    "session",
    "tagging",
    "versions",
    "website",
];

/// Bucket sub-resources minnow serves, with the methods that have an
/// operation for them. Any other method (but HEAD and OPTIONS, which read
/// nothing) answers MethodNotAllowed rather than falling through to the
/// plain bucket operation: `DELETE /b?acl` must never become DeleteBucket.
const SERVED_BUCKET_SUBRESOURCES: &[(&str, &[Method])] = &[
    ("location", &[Method::GET]),
    ("versioning", &[Method::GET, Method::PUT]),
    ("acl", &[Method::GET, Method::PUT]),
    ("uploads", &[Method::GET]),
    ("delete", &[Method::POST]),
    ("policy", &[Method::GET, Method::PUT, Method::DELETE]),
    ("lifecycle", &[Method::GET, Method::PUT, Method::DELETE]),
    ("cors", &[Method::GET, Method::PUT, Method::DELETE]),
];

/// Object sub-resources minnow serves and their methods, as for buckets:
/// `DELETE /b/k?acl` must never become DeleteObject.
const SERVED_OBJECT_SUBRESOURCES: &[(&str, &[Method])] = &[
    ("acl", &[Method::GET, Method::PUT]),
    ("uploads", &[Method::POST]),
    (
        "uploadId",
        &[Method::GET, Method::PUT, Method::POST, Method::DELETE],
    ),
    ("partNumber", &[Method::GET, Method::PUT]),
    ("tagging", &[Method::GET, Method::PUT, Method::DELETE]),
    ("attributes", &[Method::GET]),
];

/// Object sub-resources S3 defines that minnow does not serve (yet).
const UNSUPPORTED_OBJECT_SUBRESOURCES: &[&str] = &[
    "legal-hold",
    "renameObject",
    "restore",
    "retention",
    "select",
    "torrent",
    "versionId",
];

/// Routes a request. `path` is the raw (percent-encoded) URI path, `host` the
/// Host header, `domains` the configured virtual-host domains, and
/// `has_copy_source` whether `x-amz-copy-source` is present (which turns a
/// PUT into a copy).
pub fn route(
    method: &Method,
    path: &str,
    query: &Query,
    host: Option<&str>,
    domains: &[String],
    has_copy_source: bool,
) -> Result<Endpoint, ApiError> {
    let decoded = percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| ApiError::new(S3Code::InvalidURI))?;
    let decoded: &str = &decoded;
    if !decoded.starts_with('/') {
        return Err(ApiError::new(S3Code::InvalidURI));
    }

    let (bucket, key) = match virtual_host_bucket(host, domains) {
        Some(bucket) => (Some(bucket.to_string()), &decoded[1..]),
        None => {
            if let Some(rest) = decoded.strip_prefix("/minio/health/") {
                return Ok(Endpoint::MinioHealth {
                    path: rest.to_string(),
                });
            }
            if let Some(rest) = decoded.strip_prefix("/minio/admin/") {
                return Ok(Endpoint::MinioAdmin {
                    path: rest.to_string(),
                });
            }
            if decoded.starts_with("/minio/v2/metrics/") {
                return Ok(Endpoint::Metrics);
            }
            // `/metrics` shadows only the plain ListObjects of a bucket
            // named "metrics" (V2 listings carry `list-type=2`).
            if decoded == "/metrics"
                && matches!(*method, Method::GET | Method::HEAD)
                && query.iter().next().is_none()
            {
                return Ok(Endpoint::Metrics);
            }
            let rest = &decoded[1..];
            match rest.split_once('/') {
                Some((bucket, key)) => (Some(bucket.to_string()), key),
                None if rest.is_empty() => (None, ""),
                None => (Some(rest.to_string()), ""),
            }
        }
    };

    match bucket {
        None => route_service(method, query),
        Some(bucket) if key.is_empty() => route_bucket(method, query, bucket),
        Some(bucket) => route_object(method, query, bucket, key.to_string(), has_copy_source),
    }
}

/// `bucket.example.com` → `bucket` when `example.com` is a configured domain.
fn virtual_host_bucket<'h>(host: Option<&'h str>, domains: &[String]) -> Option<&'h str> {
    let host = host?;
    // Strip a port, but not from a bracketed IPv6 literal.
    let host = match host.rfind(':') {
        Some(i) if !host.ends_with(']') => &host[..i],
        _ => host,
    };
    // Host names are case-insensitive; bucket names are lower-case anyway.
    domains.iter().find_map(|domain| {
        let split = host.len().checked_sub(domain.len() + 1)?;
        let (bucket, rest) = (host.get(..split)?, host.get(split..)?);
        let suffix = rest.strip_prefix('.')?;
        (suffix.eq_ignore_ascii_case(domain) && !bucket.is_empty()).then_some(bucket)
    })
}

fn method_not_allowed() -> ApiError {
    ApiError::new(S3Code::MethodNotAllowed)
}

fn not_implemented(operation: impl Into<String>) -> Endpoint {
    Endpoint::NotImplemented {
        operation: operation.into(),
    }
}

fn route_service(method: &Method, query: &Query) -> Result<Endpoint, ApiError> {
    // MinIO's ListenNotification on every bucket; without this a minio-js
    // `listenBucketNotification('')` would get a ListBuckets body.
    if query.has("events") {
        return Ok(not_implemented(format!("{method} ?events")));
    }
    match *method {
        Method::GET => Ok(Endpoint::ListBuckets),
        _ => Err(method_not_allowed()),
    }
}

fn bucket_config(query: &Query) -> Option<BucketConfig> {
    if query.has("policy") {
        Some(BucketConfig::Policy)
    } else if query.has("lifecycle") {
        Some(BucketConfig::Lifecycle)
    } else if query.has("cors") {
        Some(BucketConfig::Cors)
    } else {
        None
    }
}

fn unsupported_subresource(query: &Query, names: &[&'static str]) -> Option<&'static str> {
    names.iter().copied().find(|name| query.has(name))
}

/// MethodNotAllowed when `query` names a served sub-resource that `method`
/// has no operation for (see [`SERVED_BUCKET_SUBRESOURCES`]).
fn check_served_subresources(
    method: &Method,
    query: &Query,
    served: &[(&str, &[Method])],
) -> Result<(), ApiError> {
    if matches!(*method, Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let misfit = served
        .iter()
        .any(|(name, methods)| query.has(name) && !methods.contains(method));
    if misfit {
        Err(method_not_allowed())
    } else {
        Ok(())
    }
}

fn route_bucket(method: &Method, query: &Query, bucket: String) -> Result<Endpoint, ApiError> {
    if let Some(name) = unsupported_subresource(query, UNSUPPORTED_BUCKET_SUBRESOURCES) {
        return Ok(not_implemented(format!("{method} bucket ?{name}")));
    }
    check_served_subresources(method, query, SERVED_BUCKET_SUBRESOURCES)?;
    let config = bucket_config(query);
    let endpoint = match *method {
        Method::GET => {
            if let Some(config) = config {
                Endpoint::GetBucketConfig { bucket, config }
            } else if query.has("location") {
                Endpoint::GetBucketLocation { bucket }
            } else if query.has("versioning") {
                Endpoint::GetBucketVersioning { bucket }
            } else if query.has("acl") {
                Endpoint::GetBucketAcl { bucket }
            } else if query.has("uploads") {
                Endpoint::ListMultipartUploads { bucket }
            } else if query.get("list-type") == Some("2") {
                Endpoint::ListObjectsV2 { bucket }
            } else {
                Endpoint::ListObjectsV1 { bucket }
            }
        }
        Method::HEAD => Endpoint::HeadBucket { bucket },
        Method::PUT => {
            if let Some(config) = config {
                Endpoint::PutBucketConfig { bucket, config }
            } else if query.has("versioning") || query.has("acl") {
                not_implemented("PUT bucket ?versioning/?acl")
            } else {
                Endpoint::CreateBucket { bucket }
            }
        }
        Method::DELETE => {
            if let Some(config) = config {
                Endpoint::DeleteBucketConfig { bucket, config }
            } else {
                Endpoint::DeleteBucket { bucket }
            }
        }
        Method::POST => {
            if query.has("delete") {
                Endpoint::DeleteObjects { bucket }
            } else {
                Endpoint::PostObject { bucket }
            }
        }
        Method::OPTIONS => Endpoint::CorsPreflight { bucket, key: None },
        _ => return Err(method_not_allowed()),
    };
    Ok(endpoint)
}

fn part_number(query: &Query) -> Result<u32, ApiError> {
    let raw = query.get("partNumber").unwrap_or("");
    match raw.parse::<u32>() {
        Ok(n) if (1..=10_000).contains(&n) => Ok(n),
        _ => Err(ApiError::invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive",
            "partNumber",
            raw,
        )),
    }
}

fn route_object(
    method: &Method,
    query: &Query,
    bucket: String,
    key: String,
    has_copy_source: bool,
) -> Result<Endpoint, ApiError> {
    if let Some(name) = unsupported_subresource(query, UNSUPPORTED_OBJECT_SUBRESOURCES) {
        // `versionId=null` names the only version an unversioned bucket has.
        if !(name == "versionId" && query.get("versionId") == Some("null")) {
            return Ok(not_implemented(format!("{method} object ?{name}")));
        }
    }
    check_served_subresources(method, query, SERVED_OBJECT_SUBRESOURCES)?;
    let upload_id = query.get("uploadId").map(str::to_string);
    let endpoint = match *method {
        Method::GET | Method::HEAD => {
            if query.has("partNumber") {
                // GET/HEAD of one part of an object: the handler reads the
                // number; a malformed one is refused here.
                part_number(query)?;
            }
            if *method == Method::HEAD {
                Endpoint::HeadObject { bucket, key }
            } else if query.has("tagging") {
                Endpoint::GetObjectTagging { bucket, key }
            } else if query.has("attributes") {
                Endpoint::GetObjectAttributes { bucket, key }
            } else if let Some(upload_id) = upload_id {
                Endpoint::ListParts {
                    bucket,
                    key,
                    upload_id,
                }
            } else if query.has("acl") {
                Endpoint::GetObjectAcl { bucket, key }
            } else {
                Endpoint::GetObject { bucket, key }
            }
        }
        Method::PUT => {
            if let Some(upload_id) = upload_id {
                let part_number = part_number(query)?;
                if has_copy_source {
                    Endpoint::UploadPartCopy {
                        bucket,
                        key,
                        upload_id,
                        part_number,
                    }
                } else {
                    Endpoint::UploadPart {
                        bucket,
                        key,
                        upload_id,
                        part_number,
                    }
                }
            } else if query.has("partNumber") {
                return Err(ApiError::invalid_argument(
                    "The uploadId parameter is required with partNumber",
                    "uploadId",
                    "",
                ));
            } else if query.has("acl") {
                not_implemented("PutObjectAcl")
            } else if query.has("tagging") {
                Endpoint::PutObjectTagging { bucket, key }
            } else if has_copy_source {
                Endpoint::CopyObject { bucket, key }
            } else {
                Endpoint::PutObject { bucket, key }
            }
        }
        Method::DELETE => match upload_id {
            Some(upload_id) => Endpoint::AbortMultipartUpload {
                bucket,
                key,
                upload_id,
            },
            None if query.has("tagging") => Endpoint::DeleteObjectTagging { bucket, key },
            None => Endpoint::DeleteObject { bucket, key },
        },
        Method::POST => {
            if query.has("uploads") {
                Endpoint::CreateMultipartUpload { bucket, key }
            } else if let Some(upload_id) = upload_id {
                Endpoint::CompleteMultipartUpload {
                    bucket,
                    key,
                    upload_id,
                }
            } else {
                return Err(method_not_allowed());
            }
        }
        Method::OPTIONS => Endpoint::CorsPreflight {
            bucket,
            key: Some(key),
        },
        _ => return Err(method_not_allowed()),
    };
    Ok(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Endpoint::*;

    fn b(s: &str) -> String {
        s.to_string()
    }

    fn route_str(
        method: &str,
        target: &str,
        host: Option<&str>,
        copy: bool,
    ) -> Result<Endpoint, ApiError> {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        let query = Query::parse(query)?;
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let domains = vec![b("s3.example.com"), b("localhost")];
        route(&method, path, &query, host, &domains, copy)
    }

    #[test]
    fn path_style_routing_table() {
        let table: Vec<(&str, &str, bool, Endpoint)> = vec![
            ("GET", "/", false, ListBuckets),
            (
                "PUT",
                "/photos",
                false,
                CreateBucket {
                    bucket: b("photos"),
                },
            ),
            (
                "PUT",
                "/photos/",
                false,
                CreateBucket {
                    bucket: b("photos"),
                },
            ),
            (
                "HEAD",
                "/photos",
                false,
                HeadBucket {
                    bucket: b("photos"),
                },
            ),
            (
                "DELETE",
                "/photos",
                false,
                DeleteBucket {
                    bucket: b("photos"),
                },
            ),
            (
                "GET",
                "/photos?location",
                false,
                GetBucketLocation {
                    bucket: b("photos"),
                },
            ),
            (
                "GET",
                "/photos?versioning",
                false,
                GetBucketVersioning {
                    bucket: b("photos"),
                },
            ),
            (
                "GET",
                "/photos?acl",
                false,
                GetBucketAcl {
                    bucket: b("photos"),
                },
            ),
            (
                "GET",
                "/photos",
                false,
                ListObjectsV1 {
                    bucket: b("photos"),
                },
            ),
            (
                "GET",
                "/photos?prefix=a&marker=b",
                false,
                ListObjectsV1 {
                    bucket: b("photos"),
                },
            ),
            (
                "GET",
                "/photos?list-type=2&prefix=",
                false,
                ListObjectsV2 {
                    bucket: b("photos"),
                },
            ),
            (
                "GET",
                "/photos?uploads",
                false,
                ListMultipartUploads {
                    bucket: b("photos"),
                },
            ),
            (
                "POST",
                "/photos?delete",
                false,
                DeleteObjects {
                    bucket: b("photos"),
                },
            ),
            (
                "POST",
                "/photos?delete=",
                false,
                DeleteObjects {
                    bucket: b("photos"),
                },
            ),
            (
                "GET",
                "/photos?policy",
                false,
                GetBucketConfig {
                    bucket: b("photos"),
                    config: BucketConfig::Policy,
                },
            ),
            (
                "PUT",
                "/photos?lifecycle",
                false,
                PutBucketConfig {
                    bucket: b("photos"),
                    config: BucketConfig::Lifecycle,
                },
            ),
            (
                "DELETE",
                "/photos?cors",
                false,
                DeleteBucketConfig {
                    bucket: b("photos"),
                    config: BucketConfig::Cors,
                },
            ),
            (
                "PUT",
                "/photos/a/b.jpg",
                false,
                PutObject {
                    bucket: b("photos"),
                    key: b("a/b.jpg"),
                },
            ),
            (
                "PUT",
                "/photos/a/b.jpg",
                true,
                CopyObject {
                    bucket: b("photos"),
                    key: b("a/b.jpg"),
                },
            ),
            (
                "GET",
                "/photos/a%20b",
                false,
                GetObject {
                    bucket: b("photos"),
                    key: b("a b"),
                },
            ),
            (
                "GET",
                "/photos/k?x-id=GetObject&response-content-type=text/plain",
                false,
                GetObject {
                    bucket: b("photos"),
                    key: b("k"),
                },
            ),
            (
                "GET",
                "/photos/k?versionId=null",
                false,
                GetObject {
                    bucket: b("photos"),
                    key: b("k"),
                },
            ),
            (
                "HEAD",
                "/photos/k",
                false,
                HeadObject {
                    bucket: b("photos"),
                    key: b("k"),
                },
            ),
            (
                "DELETE",
                "/photos/k",
                false,
                DeleteObject {
                    bucket: b("photos"),
                    key: b("k"),
                },
            ),
            (
                "GET",
                "/photos/k?acl",
                false,
                GetObjectAcl {
                    bucket: b("photos"),
                    key: b("k"),
                },
            ),
            (
                "GET",
                "/photos//double",
                false,
                GetObject {
                    bucket: b("photos"),
                    key: b("/double"),
                },
            ),
            (
                "GET",
                "/photos/dir/",
                false,
                GetObject {
                    bucket: b("photos"),
                    key: b("dir/"),
                },
            ),
            (
                "POST",
                "/photos/big?uploads",
                false,
                CreateMultipartUpload {
                    bucket: b("photos"),
                    key: b("big"),
                },
            ),
            (
                "PUT",
                "/photos/big?partNumber=3&uploadId=abc",
                false,
                UploadPart {
                    bucket: b("photos"),
                    key: b("big"),
                    upload_id: b("abc"),
                    part_number: 3,
                },
            ),
            (
                "PUT",
                "/photos/big?partNumber=10000&uploadId=abc",
                true,
                UploadPartCopy {
                    bucket: b("photos"),
                    key: b("big"),
                    upload_id: b("abc"),
                    part_number: 10000,
                },
            ),
            (
                "POST",
                "/photos/big?uploadId=abc",
                false,
                CompleteMultipartUpload {
                    bucket: b("photos"),
                    key: b("big"),
                    upload_id: b("abc"),
                },
            ),
            (
                "DELETE",
                "/photos/big?uploadId=abc",
                false,
                AbortMultipartUpload {
                    bucket: b("photos"),
                    key: b("big"),
                    upload_id: b("abc"),
                },
            ),
            (
                "GET",
                "/photos/big?uploadId=abc&max-parts=2",
                false,
                ListParts {
                    bucket: b("photos"),
                    key: b("big"),
                    upload_id: b("abc"),
                },
            ),
            (
                "GET",
                "/minio/health/live",
                false,
                MinioHealth { path: b("live") },
            ),
            (
                "GET",
                "/minio/admin/v3/info",
                false,
                MinioAdmin { path: b("v3/info") },
            ),
            ("GET", "/minio/v2/metrics/cluster", false, Metrics),
            ("GET", "/metrics", false, Metrics),
            (
                "GET",
                "/metrics?list-type=2",
                false,
                ListObjectsV2 {
                    bucket: b("metrics"),
                },
            ),
            (
                "OPTIONS",
                "/photos/k",
                false,
                CorsPreflight {
                    bucket: b("photos"),
                    key: Some(b("k")),
                },
            ),
            (
                "OPTIONS",
                "/photos",
                false,
                CorsPreflight {
                    bucket: b("photos"),
                    key: None,
                },
            ),
        ];
        for (method, target, copy, expected) in table {
            let got = route_str(method, target, Some("127.0.0.1:9000"), copy)
                .unwrap_or_else(|e| panic!("{method} {target}: {e}"));
            assert_eq!(got, expected, "{method} {target}");
        }
    }

    #[test]
    fn virtual_hosted_routing_table() {
        let table: Vec<(&str, &str, &str, Endpoint)> = vec![
            (
                "GET",
                "/",
                "photos.s3.example.com",
                ListObjectsV1 {
                    bucket: b("photos"),
                },
            ),
            (
                "PUT",
                "/",
                "photos.s3.example.com:9000",
                CreateBucket {
                    bucket: b("photos"),
                },
            ),
            (
                "GET",
                "/a/b",
                "photos.s3.example.com",
                GetObject {
                    bucket: b("photos"),
                    key: b("a/b"),
                },
            ),
            (
                "GET",
                "/a",
                "my.dotted.bucket.localhost:9000",
                GetObject {
                    bucket: b("my.dotted.bucket"),
                    key: b("a"),
                },
            ),
            (
                "GET",
                "/k",
                "photos.S3.Example.COM",
                GetObject {
                    bucket: b("photos"),
                    key: b("k"),
                },
            ),
            // The bare domain and unknown hosts are path-style.
            ("GET", "/", "s3.example.com", ListBuckets),
            (
                "GET",
                "/photos/k",
                "other.host.org",
                GetObject {
                    bucket: b("photos"),
                    key: b("k"),
                },
            ),
            // A reserved-looking path is just a key in a virtual-hosted bucket.
            (
                "GET",
                "/minio/health/live",
                "photos.localhost",
                GetObject {
                    bucket: b("photos"),
                    key: b("minio/health/live"),
                },
            ),
        ];
        for (method, target, host, expected) in table {
            let got = route_str(method, target, Some(host), false).unwrap();
            assert_eq!(got, expected, "{method} {host}{target}");
        }
    }

    #[test]
    fn unsupported_subresources_route_to_not_implemented() {
        for (method, target) in [
            ("GET", "/photos?tagging"),
            ("PUT", "/photos?tagging"),
            ("GET", "/photos?versions"),
            ("GET", "/photos?website"),
            ("PUT", "/photos?versioning"),
            ("PUT", "/photos?acl"),
            ("GET", "/photos?object-lock"),
            ("PUT", "/photos/k?acl"),
            ("POST", "/photos/k?restore"),
            ("GET", "/photos/k?versionId=abc"),
        ] {
            let got = route_str(method, target, None, false).unwrap();
            assert!(
                matches!(got, NotImplemented { .. }),
                "{method} {target}: {got:?}"
            );
        }
    }

    /// Rule: every sub-resource S3 (and MinIO's client extensions) defines
    /// either maps to the operation minnow serves for it, or answers 501
    /// NotImplemented / 405 MethodNotAllowed, and never falls through to
    /// another operation (a ListObjects body for a listen request, a
    /// DeleteBucket for `DELETE ?acl`).
    #[test]
    fn every_s3_subresource_routes_to_its_operation_or_is_refused() {
        // Bucket sub-resources from the S3 API reference, plus MinIO's `events`.
        let bucket_not_implemented = [
            "accelerate",
            "analytics",
            "encryption",
            "events=s3:ObjectCreated:*",
            "intelligent-tiering",
            "inventory",
            "logging",
            "metadataConfiguration",
            "metadataTable",
            "metrics",
            "notification",
            "object-lock",
            "ownershipControls",
            "policyStatus",
            "publicAccessBlock",
            "replication",
            "requestPayment",
            "session",
            "tagging",
            "versions",
            "website",
        ];
        for sub in bucket_not_implemented {
            for method in ["GET", "PUT", "DELETE", "POST"] {
                let target = format!("/photos?{sub}");
                let got = route_str(method, &target, None, false).unwrap();
                assert!(
                    matches!(got, NotImplemented { .. }),
                    "{method} {target}: {got:?}"
                );
            }
        }
        let object_not_implemented = [
            "legal-hold",
            "renameObject",
            "restore",
            "retention",
            "select&select-type=2",
            "torrent",
            "versionId=3HL4kqtJlcpXroDTDmJ",
        ];
        for sub in object_not_implemented {
            for method in ["GET", "PUT", "DELETE", "POST"] {
                let target = format!("/photos/k?{sub}");
                let got = route_str(method, &target, None, false).unwrap();
                assert!(
                    matches!(got, NotImplemented { .. }),
                    "{method} {target}: {got:?}"
                );
            }
        }
        // MinIO's listen on every bucket must not become ListBuckets.
        assert!(matches!(
            route_str("GET", "/?events=s3:ObjectCreated:*", None, false).unwrap(),
            NotImplemented { .. }
        ));

        // Served sub-resources: (method, target, operation name or error).
        for (method, target, expected) in [
            ("GET", "/photos?location", "GetBucketLocation"),
            ("GET", "/photos?versioning", "GetBucketVersioning"),
            ("PUT", "/photos?versioning", "NotImplemented"),
            ("GET", "/photos?acl", "GetBucketAcl"),
            ("PUT", "/photos?acl", "NotImplemented"),
            ("GET", "/photos?uploads", "ListMultipartUploads"),
            ("POST", "/photos?delete", "DeleteObjects"),
            ("POST", "/photos", "PostObject"),
            ("GET", "/photos?policy", "GetBucketPolicy"),
            (
                "PUT",
                "/photos?lifecycle",
                "PutBucketLifecycleConfiguration",
            ),
            ("DELETE", "/photos?cors", "DeleteBucketCors"),
            ("DELETE", "/photos?acl", "MethodNotAllowed"),
            ("DELETE", "/photos?versioning", "MethodNotAllowed"),
            ("DELETE", "/photos?location", "MethodNotAllowed"),
            ("DELETE", "/photos?uploads", "MethodNotAllowed"),
            ("PUT", "/photos?location", "MethodNotAllowed"),
            ("PUT", "/photos?uploads", "MethodNotAllowed"),
            ("GET", "/photos?delete", "MethodNotAllowed"),
            ("DELETE", "/photos?delete", "MethodNotAllowed"),
            ("POST", "/photos?policy", "MethodNotAllowed"),
            ("GET", "/photos/k?acl", "GetObjectAcl"),
            ("PUT", "/photos/k?acl", "NotImplemented"),
            ("DELETE", "/photos/k?acl", "MethodNotAllowed"),
            ("POST", "/photos/k?uploads", "CreateMultipartUpload"),
            ("GET", "/photos/k?uploads", "MethodNotAllowed"),
            ("PUT", "/photos/k?uploads", "MethodNotAllowed"),
            ("DELETE", "/photos/k?uploads", "MethodNotAllowed"),
            ("GET", "/photos/k?uploadId=u", "ListParts"),
            ("DELETE", "/photos/k?uploadId=u", "AbortMultipartUpload"),
            ("POST", "/photos/k?uploadId=u", "CompleteMultipartUpload"),
            ("PUT", "/photos/k?uploadId=u&partNumber=1", "UploadPart"),
            ("DELETE", "/photos/k?partNumber=1", "MethodNotAllowed"),
            ("GET", "/photos/k?partNumber=1", "GetObject"),
            ("HEAD", "/photos/k?partNumber=2", "HeadObject"),
            ("GET", "/photos/k?tagging", "GetObjectTagging"),
            ("PUT", "/photos/k?tagging", "PutObjectTagging"),
            ("DELETE", "/photos/k?tagging", "DeleteObjectTagging"),
            ("POST", "/photos/k?tagging", "MethodNotAllowed"),
            ("GET", "/photos/k?attributes", "GetObjectAttributes"),
            ("PUT", "/photos/k?attributes", "MethodNotAllowed"),
        ] {
            let got = match route_str(method, target, None, false) {
                Ok(endpoint) => endpoint.name().to_string(),
                Err(err) => err.code.as_str().to_string(),
            };
            assert_eq!(got, expected, "{method} {target}");
        }
    }

    #[test]
    fn routing_errors_table() {
        for (method, target, code) in [
            ("PUT", "/", "MethodNotAllowed"),
            ("PATCH", "/photos", "MethodNotAllowed"),
            ("POST", "/photos/k", "MethodNotAllowed"),
            (
                "PUT",
                "/photos/k?partNumber=0&uploadId=u",
                "InvalidArgument",
            ),
            (
                "PUT",
                "/photos/k?partNumber=10001&uploadId=u",
                "InvalidArgument",
            ),
            (
                "PUT",
                "/photos/k?partNumber=x&uploadId=u",
                "InvalidArgument",
            ),
            ("PUT", "/photos/k?uploadId=u", "InvalidArgument"),
            ("PUT", "/photos/k?partNumber=1", "InvalidArgument"),
            ("GET", "/photos/k?partNumber=0", "InvalidArgument"),
            ("HEAD", "/photos/k?partNumber=x", "InvalidArgument"),
            ("GET", "/photos/%ff", "InvalidURI"),
            ("GET", "/photos?prefix=%ff", "InvalidURI"),
        ] {
            let err = route_str(method, target, None, false).unwrap_err();
            assert_eq!(err.code.as_str(), code, "{method} {target}");
        }
    }

    #[test]
    fn every_endpoint_maps_to_its_policy_action() {
        let table: Vec<(&str, &str, bool, Option<&str>)> = vec![
            ("GET", "/", false, Some("s3:ListAllMyBuckets")),
            ("PUT", "/b", false, Some("s3:CreateBucket")),
            ("HEAD", "/b", false, Some("s3:ListBucket")),
            ("GET", "/b", false, Some("s3:ListBucket")),
            ("GET", "/b?list-type=2", false, Some("s3:ListBucket")),
            ("DELETE", "/b", false, Some("s3:DeleteBucket")),
            ("GET", "/b?location", false, Some("s3:GetBucketLocation")),
            (
                "GET",
                "/b?uploads",
                false,
                Some("s3:ListBucketMultipartUploads"),
            ),
            ("GET", "/b?policy", false, Some("s3:GetBucketPolicy")),
            ("PUT", "/b?policy", false, Some("s3:PutBucketPolicy")),
            ("DELETE", "/b?policy", false, Some("s3:DeleteBucketPolicy")),
            (
                "GET",
                "/b?lifecycle",
                false,
                Some("s3:GetLifecycleConfiguration"),
            ),
            (
                "PUT",
                "/b?lifecycle",
                false,
                Some("s3:PutLifecycleConfiguration"),
            ),
            (
                "DELETE",
                "/b?lifecycle",
                false,
                Some("s3:PutLifecycleConfiguration"),
            ),
            ("GET", "/b?cors", false, Some("s3:GetBucketCORS")),
            ("PUT", "/b?cors", false, Some("s3:PutBucketCORS")),
            ("DELETE", "/b?cors", false, Some("s3:PutBucketCORS")),
            ("POST", "/b?delete", false, Some("s3:DeleteObject")),
            ("GET", "/b/k", false, Some("s3:GetObject")),
            ("HEAD", "/b/k", false, Some("s3:GetObject")),
            ("PUT", "/b/k", false, Some("s3:PutObject")),
            ("PUT", "/b/k", true, Some("s3:PutObject")),
            ("DELETE", "/b/k", false, Some("s3:DeleteObject")),
            ("POST", "/b/k?uploads", false, Some("s3:PutObject")),
            (
                "PUT",
                "/b/k?uploadId=u&partNumber=1",
                false,
                Some("s3:PutObject"),
            ),
            (
                "PUT",
                "/b/k?uploadId=u&partNumber=1",
                true,
                Some("s3:PutObject"),
            ),
            ("POST", "/b/k?uploadId=u", false, Some("s3:PutObject")),
            (
                "DELETE",
                "/b/k?uploadId=u",
                false,
                Some("s3:AbortMultipartUpload"),
            ),
            (
                "GET",
                "/b/k?uploadId=u",
                false,
                Some("s3:ListMultipartUploadParts"),
            ),
            ("OPTIONS", "/b/k", false, None),
            ("GET", "/minio/health/live", false, None),
            ("GET", "/minio/v2/metrics/cluster", false, None),
            ("GET", "/b?tagging", false, None),
        ];
        for (method, target, copy, action) in table {
            let endpoint = route_str(method, target, None, copy).unwrap();
            assert_eq!(
                endpoint.action(),
                action,
                "{method} {target} (copy: {copy})"
            );
        }
    }

    #[test]
    fn query_parse_keeps_valueless_parameters_and_decodes() {
        let q = Query::parse(Some("uploads&prefix=a%2Fb+c&empty=&x=1&x=2")).unwrap();
        assert_eq!(q.get("uploads"), Some(""));
        assert_eq!(q.get("prefix"), Some("a/b c"));
        assert_eq!(q.get("empty"), Some(""));
        assert_eq!(q.get("x"), Some("1"));
        assert!(!q.has("missing"));
        assert_eq!(Query::parse(None).unwrap(), Query::default());
    }
}

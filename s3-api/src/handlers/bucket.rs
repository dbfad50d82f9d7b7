//! Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
//! GetBucketLocation, GetBucketVersioning, GetBucketAcl, and the stored
//! configuration documents (policy JSON, lifecycle XML, CORS XML).

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body::Body;
use store::api::{BucketSetting, Catalog, StoreError};

use super::{collect_small_body, empty_response, xml_response, AppState, RequestContext};
use crate::error::{ApiError, S3Code};
use crate::router::BucketConfig;
use crate::xml::request::{CorsConfiguration, CreateBucketConfiguration};
use crate::xml::response::{
    AccessControlPolicy, BucketEntry, Buckets, ListAllMyBucketsResult, LocationConstraint,
    VersioningConfiguration,
};
use crate::xml::{check_well_formed, timestamp, to_xml};
use crate::{BoxError, ResponseBody};

/// S3's largest `max-buckets`.
const MAX_BUCKETS: usize = 10_000;

/// ListBuckets with S3's paging: `prefix`, `max-buckets` (1..=10000; all
/// buckets when absent) and `continuation-token` (the opaque token of the
/// previous page; empty means none, as for ListObjectsV2).
pub(super) async fn list_buckets<S: Catalog>(
    state: &AppState<S>,
    ctx: &RequestContext,
) -> Result<Response<ResponseBody>, ApiError> {
    let query = &ctx.query;
    let max_buckets = match query.get("max-buckets") {
        None => None,
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_BUCKETS).contains(&n) => Some(n),
            _ => {
                return Err(ApiError::invalid_argument(
                    "Argument max-buckets must be an integer between 1 and 10000",
                    "max-buckets",
                    raw,
                ))
            }
        },
    };
    let after = match query.get("continuation-token").filter(|t| !t.is_empty()) {
        Some(token) => Some(super::list::decode_continuation_token(token)?),
        None => None,
    };
    let prefix = query.get("prefix").map(str::to_string);
    let mut buckets = state.store.list_buckets().await?;
    buckets.sort_by(|a, b| a.name.cmp(&b.name));
    buckets.retain(|b| {
        prefix.as_deref().is_none_or(|p| b.name.starts_with(p))
            && after.as_deref().is_none_or(|a| b.name.as_str() > a)
    });
    let continuation_token = match max_buckets {
        Some(max) if buckets.len() > max => {
            buckets.truncate(max);
            buckets
                .last()
                .map(|b| super::list::encode_continuation_token(&b.name))
        }
        _ => None,
    };
    let doc = ListAllMyBucketsResult {
        xmlns: (),
        owner: state.owner(),
        buckets: Buckets {
            bucket: buckets
                .into_iter()
                .map(|b| BucketEntry {
                    name: b.name,
                    creation_date: timestamp(b.created),
                })
                .collect(),
        },
        continuation_token,
        prefix,
    };
    Ok(xml_response(to_xml("ListAllMyBucketsResult", &doc)?))
}

pub(super) async fn create_bucket<S: Catalog, B>(
    state: &AppState<S>,
    ctx: &RequestContext,
    body: B,
    bucket: &str,
) -> Result<Response<ResponseBody>, ApiError>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    if ctx
        .header("x-amz-bucket-object-lock-enabled")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Err(ApiError::not_implemented(
            "x-amz-bucket-object-lock-enabled",
        ));
    }
    let body = collect_small_body(ctx, body, state.config.max_xml_body, false).await?;
    if !body.iter().all(u8::is_ascii_whitespace) {
        // Like MinIO without a configured region, any location is accepted.
        CreateBucketConfiguration::parse(&body)?;
    }
    state.store.create_bucket(bucket).await?;
    let mut response = empty_response(StatusCode::OK);
    if let Ok(location) = HeaderValue::from_str(&format!("/{bucket}")) {
        response
            .headers_mut()
            .insert(http::header::LOCATION, location);
    }
    Ok(response)
}

pub(super) async fn head_bucket<S: Catalog>(
    state: &AppState<S>,
    bucket: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    state.store.head_bucket(bucket).await?;
    let mut response = empty_response(StatusCode::OK);
    if let Ok(region) = HeaderValue::from_str(&state.config.region) {
        response.headers_mut().insert("x-amz-bucket-region", region);
    }
    Ok(response)
}

pub(super) async fn delete_bucket<S: Catalog>(
    state: &AppState<S>,
    bucket: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    state.store.delete_bucket(bucket).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

pub(super) async fn get_location<S: Catalog>(
    state: &AppState<S>,
    bucket: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    state.store.head_bucket(bucket).await?;
    // S3 answers an empty constraint for us-east-1.
    let region = if state.config.region == "us-east-1" {
        String::new()
    } else {
        state.config.region.clone()
    };
    Ok(xml_response(to_xml(
        "LocationConstraint",
        &LocationConstraint { xmlns: (), region },
    )?))
}

pub(super) async fn get_versioning<S: Catalog>(
    state: &AppState<S>,
    bucket: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    state.store.head_bucket(bucket).await?;
    Ok(xml_response(to_xml(
        "VersioningConfiguration",
        &VersioningConfiguration { xmlns: () },
    )?))
}

pub(super) async fn get_bucket_acl<S: Catalog>(
    state: &AppState<S>,
    bucket: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    state.store.head_bucket(bucket).await?;
    Ok(xml_response(to_xml(
        "AccessControlPolicy",
        &AccessControlPolicy::owner_full_control(state.owner()),
    )?))
}

fn setting(config: BucketConfig) -> BucketSetting {
    match config {
        BucketConfig::Policy => BucketSetting::Policy,
        BucketConfig::Lifecycle => BucketSetting::Lifecycle,
        BucketConfig::Cors => BucketSetting::Cors,
    }
}

fn missing(config: BucketConfig, bucket: &str) -> ApiError {
    let code = match config {
        BucketConfig::Policy => S3Code::NoSuchBucketPolicy,
        BucketConfig::Lifecycle => S3Code::NoSuchLifecycleConfiguration,
        BucketConfig::Cors => S3Code::NoSuchCORSConfiguration,
    };
    ApiError::new(code).field("BucketName", bucket)
}

pub(super) async fn get_config<S: Catalog>(
    state: &AppState<S>,
    bucket: &str,
    config: BucketConfig,
) -> Result<Response<ResponseBody>, ApiError> {
    let stored = state
        .store
        .get_bucket_setting(bucket, setting(config))
        .await?
        .ok_or_else(|| missing(config, bucket))?;
    let content_type = match config {
        BucketConfig::Policy => "application/json",
        BucketConfig::Lifecycle | BucketConfig::Cors => "application/xml",
    };
    Ok(super::bytes_response(stored, content_type))
}

/// Validates a configuration document before it is stored.
pub(crate) fn validate_config(
    config: BucketConfig,
    bucket: &str,
    body: &[u8],
) -> Result<(), ApiError> {
    match config {
        BucketConfig::Policy => {
            let malformed =
                |why: &str| ApiError::with_message(S3Code::MalformedPolicy, why.to_string());
            let first = body.iter().find(|b| !b.is_ascii_whitespace());
            if first != Some(&b'{') {
                return Err(malformed(
                    "Policies must be valid JSON and the first byte must be '{'",
                ));
            }
            serde_json::from_slice::<serde_json::Value>(body).map_err(|_| {
                malformed("Policies must be valid JSON and the first byte must be '{'")
            })?;
            iam::policy::PolicyDocument::parse(body)?.validate_for_bucket(bucket)?;
            Ok(())
        }
        BucketConfig::Lifecycle => {
            if check_well_formed(body)? != "LifecycleConfiguration" {
                return Err(ApiError::new(S3Code::MalformedXML));
            }
            lifecycle::LifecycleConfiguration::from_xml(body)?;
            Ok(())
        }
        BucketConfig::Cors => CorsConfiguration::parse(body).map(|_| ()),
    }
}

pub(super) async fn put_config<S: Catalog, B>(
    state: &AppState<S>,
    ctx: &RequestContext,
    body: B,
    bucket: &str,
    config: BucketConfig,
) -> Result<Response<ResponseBody>, ApiError>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    // Answer NoSuchBucket before complaining about the document.
    state.store.head_bucket(bucket).await?;
    // S3 requires Content-MD5 (or a checksum) for lifecycle and CORS, not for policy.
    let required = config != BucketConfig::Policy;
    let body = collect_small_body(ctx, body, state.config.max_xml_body, required).await?;
    if body.is_empty() {
        return Err(match config {
            BucketConfig::Policy => {
                ApiError::with_message(S3Code::MalformedPolicy, "Policy document is empty")
            }
            _ => ApiError::new(S3Code::MalformedXML),
        });
    }
    validate_config(config, bucket, &body)?;
    // Lifecycle is stored in its normalised form (generated rule IDs included),
    // which is what the scanner and GetBucketLifecycleConfiguration read.
    let stored = match config {
        BucketConfig::Lifecycle => {
            Bytes::from(lifecycle::LifecycleConfiguration::from_xml(&body)?.to_xml())
        }
        BucketConfig::Policy | BucketConfig::Cors => body,
    };
    state
        .store
        .put_bucket_setting(bucket, setting(config), Some(stored))
        .await?;
    Ok(match config {
        BucketConfig::Policy => empty_response(StatusCode::NO_CONTENT),
        BucketConfig::Lifecycle | BucketConfig::Cors => empty_response(StatusCode::OK),
    })
}

pub(super) async fn delete_config<S: Catalog>(
    state: &AppState<S>,
    bucket: &str,
    config: BucketConfig,
) -> Result<Response<ResponseBody>, ApiError> {
    match state
        .store
        .put_bucket_setting(bucket, setting(config), None)
        .await
    {
        Ok(()) => {}
        // Deleting what is not there is not an error in S3.
        Err(StoreError::NoSuchKey { .. }) => {}
        Err(error) => return Err(error.into()),
    }
    Ok(empty_response(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_validation() {
        let ok = br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        assert!(validate_config(BucketConfig::Policy, "b", ok).is_ok());
        for bad in [
            &b"[]"[..],
            b"{not json",
            b"{\"Version\":\"2012-10-17\"}",
            b"",
        ] {
            assert_eq!(
                validate_config(BucketConfig::Policy, "b", bad)
                    .unwrap_err()
                    .code,
                S3Code::MalformedPolicy
            );
        }
        let other_bucket = br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}"#;
        let err = validate_config(BucketConfig::Policy, "b", other_bucket).unwrap_err();
        assert_eq!(err.code, S3Code::MalformedPolicy);
        let condition = br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"1.2.3.4/32"}}}]}"#;
        let err = validate_config(BucketConfig::Policy, "b", condition).unwrap_err();
        assert_eq!(err.code, S3Code::NotImplemented);
    }

    #[test]
    fn sdk_serialised_lifecycle_document_is_accepted() {
        // aws-sdk-s3 writes members in model order: Expiration before ID.
        let sdk = br#"<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><Expiration><Days>1</Days></Expiration><ID>expire-logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status></Rule></LifecycleConfiguration>"#;
        assert!(validate_config(BucketConfig::Lifecycle, "b", sdk).is_ok());
    }

    #[test]
    fn lifecycle_validation_checks_the_root_and_well_formedness() {
        let ok = br#"<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ID>r</ID><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"#;
        assert!(validate_config(BucketConfig::Lifecycle, "b", ok).is_ok());
        assert!(validate_config(BucketConfig::Lifecycle, "b", b"<Other/>").is_err());
        assert!(
            validate_config(BucketConfig::Lifecycle, "b", b"<LifecycleConfiguration>").is_err()
        );
        let no_action = br#"<LifecycleConfiguration><Rule><ID>r</ID><Status>Enabled</Status><Filter/></Rule></LifecycleConfiguration>"#;
        assert!(validate_config(BucketConfig::Lifecycle, "b", no_action).is_err());
    }
}

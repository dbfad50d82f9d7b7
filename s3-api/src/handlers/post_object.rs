//! POST Object: browser-form uploads (`multipart/form-data` to the bucket
//! URL). The fields before `file` are read (bounded), the form's policy
//! signature verified (`auth::verify_post_form`), its policy checked
//! (`post_policy`), the caller authorized for `s3:PutObject` on the key,
//! then the file streams into the store with its size bounded while it
//! streams (an oversized or undersized file fails before end-of-stream, so
//! nothing is committed). Fields after the file are ignored, as S3 does.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use futures::Stream;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use store::api::{Catalog, ObjectStore, PutOptions, StoreError};

use super::headers::{attributes_from_headers, requested_checksum_algorithm};
use super::idle_body::BodyIdleTimeout;
use super::post_policy::{PostPolicy, PostPolicyError};
use super::{empty_response, xml_response, AccessCheck, AppState, AuditFacts, MAX_PUT_SIZE};
use crate::auth::{self, AuthError, Identity};
use crate::error::{ApiError, S3Code};
use crate::xml::response::PostResponse;
use crate::xml::{quote_etag, to_xml};
use crate::{BoxError, ResponseBody};

/// The fields before the file, names and values together. S3 allows
/// 20 KB; MinIO more. A policy with many `x-amz-meta-*` fields fits well.
pub const MAX_FORM_FIELDS_BYTES: usize = 64 * 1024;

/// The most fields before the file (S3 has no use for more than a few
/// dozen); more is answered as fields too large.
const MAX_FORM_FIELDS: usize = 1000;

/// What is read after the file (ignored fields, the closing boundary)
/// before the answer; a client sending more gets its connection closed.
const MAX_TRAILING_BYTES: usize = 64 * 1024;

/// Form fields that become object headers (besides `x-amz-meta-*` and the
/// checksum fields).
const HEADER_FIELDS: &[&str] = &[
    "content-type",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "expires",
];

/// Query values of the redirect: everything but unreserved characters
/// percent-encoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn malformed(error: multer::Error) -> ApiError {
    if let multer::Error::StreamReadFailed(source) = &error {
        if source.is::<BodyIdleTimeout>() {
            return ApiError::from(AuthError::RequestTimeout);
        }
        return ApiError::from(AuthError::IncompleteBody);
    }
    PostPolicyError::Malformed(error.to_string()).into()
}

/// Serves `POST /bucket` with a form body.
pub(super) async fn post_object<S, B>(
    state: &AppState<S>,
    parts: &http::request::Parts,
    body: B,
    bucket: &str,
    facts: &mut AuditFacts,
) -> Result<Response<ResponseBody>, ApiError>
where
    S: ObjectStore + Catalog + 'static,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_form = content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("multipart/form-data"));
    if !is_form {
        return Err(PostPolicyError::NotMultipart.into());
    }
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| ApiError::from(PostPolicyError::Malformed(e.to_string())))?;
    let mut form = multer::Multipart::new(body.into_data_stream(), boundary);

    let mut fields: Vec<(String, String)> = Vec::new();
    let mut fields_size = 0usize;
    let file = loop {
        let Some(mut field) = form.next_field().await.map_err(malformed)? else {
            return Err(PostPolicyError::InvalidArgument(
                "POST requires exactly one file upload per request.".into(),
            )
            .into());
        };
        let name = field.name().unwrap_or("").to_ascii_lowercase();
        if name == "file" {
            break field;
        }
        if fields.len() >= MAX_FORM_FIELDS {
            return Err(PostPolicyError::FieldsTooLarge.into());
        }
        let mut value = Vec::new();
        fields_size += name.len();
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            fields_size += chunk.len();
            if fields_size > MAX_FORM_FIELDS_BYTES {
                return Err(PostPolicyError::FieldsTooLarge.into());
            }
            value.extend_from_slice(&chunk);
        }
        let value = String::from_utf8(value).map_err(|_| {
            PostPolicyError::InvalidArgument(format!("The form field {name} is not UTF-8."))
        })?;
        // One value per field: the policy checks the same value the
        // upload uses.
        if fields.iter().any(|(existing, _)| *existing == name) {
            return Err(PostPolicyError::InvalidArgument(format!(
                "The form field {name} appears more than once."
            ))
            .into());
        }
        fields.push((name, value));
    };

    // As for a PUT: encryption needs a KMS minnow does not have, and
    // storing the object unencrypted would be a silent lie.
    if let Some((name, _)) = fields
        .iter()
        .find(|(name, _)| name.starts_with("x-amz-server-side-encryption"))
    {
        return Err(ApiError::with_message(
            S3Code::NotImplemented,
            format!("Server side encryption specified but KMS is not configured ({name})"),
        ));
    }
    let filename = file.file_name().unwrap_or("").to_string();
    let key_index = fields
        .iter()
        .position(|(name, _)| name == "key")
        .ok_or_else(|| {
            PostPolicyError::InvalidArgument(
                "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.".into(),
            )
        })?;
    let key = fields[key_index].1.replace("${filename}", &filename);
    if key.is_empty() {
        return Err(PostPolicyError::InvalidArgument(
            "Bucket POST must contain a field named 'key'.".into(),
        )
        .into());
    }
    fields[key_index].1 = key.clone();
    facts.key = Some(key.clone());
    // The URL names the bucket; conditions on `bucket` are checked against it.
    fields.retain(|(name, _)| name != "bucket");
    fields.push(("bucket".to_string(), bucket.to_string()));

    let identity =
        match auth::verify_post_form(&fields, state.secrets.as_ref(), &state.signing_keys) {
            Ok(identity) => identity,
            Err(error) => {
                facts.authentication_failed = true;
                facts.access_key = claimed_access_key(&fields);
                return Err(error.into());
            }
        };
    if let Identity::AccessKey(key) = &identity {
        facts.access_key = Some(key.clone());
    }
    let mut length_range = None;
    if let Some((_, policy)) = fields.iter().find(|(name, _)| name == "policy") {
        let policy = PostPolicy::parse(policy)?;
        if let Err(error) = policy.check(&fields, SystemTime::now()) {
            facts.denied = matches!(
                error,
                PostPolicyError::Expired
                    | PostPolicyError::ConditionFailed(_)
                    | PostPolicyError::ExtraField(_)
            );
            return Err(error.into());
        }
        length_range = policy.length_range;
    }
    let check = AccessCheck::new(&state.iam, &identity, Some(bucket)).await?;
    let is_root = identity_is_root(state, &identity);
    if !is_root && !check.allows("s3:PutObject", Some(bucket), Some(&key)) {
        facts.denied = true;
        return Err(ApiError::new(S3Code::AccessDenied));
    }

    let headers = object_headers(&fields)?;
    let attributes = attributes_from_headers(&headers)?;
    let (checksum_algorithm, expected_checksum) = match auth::checksum_header(&headers)? {
        Some((algorithm, value)) => (
            Some(algorithm),
            Some(store::api::ExpectedChecksum::Known(value)),
        ),
        None => (requested_checksum_algorithm(&headers)?, None),
    };
    let (min, max) = match length_range {
        Some((min, max)) => (min, max.min(MAX_PUT_SIZE)),
        None => (0, MAX_PUT_SIZE),
    };
    let failure = Arc::new(OnceLock::new());
    let stream = BoundedFile {
        field: file,
        received: 0,
        min,
        max,
        failure: Arc::clone(&failure),
        finished: false,
    };
    let stored = state
        .store
        .put_object(
            bucket,
            &key,
            Box::pin(stream),
            PutOptions {
                attributes,
                size: None,
                content_md5: None,
                checksum_algorithm,
                expected_checksum,
            },
        )
        .await;
    let info = match stored {
        Ok(info) => info,
        Err(error) => {
            return Err(match (&error, failure.get()) {
                (StoreError::Body(_), Some(reason)) => reason.clone(),
                _ => ApiError::from(error),
            })
        }
    };
    skip_trailing_fields(&mut form).await;

    let etag = quote_etag(&info.etag);
    let location = match &state.config.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!(
            "http://{}",
            super::request_host(parts).unwrap_or("localhost")
        ),
    };
    let location = format!(
        "{location}/{bucket}/{}",
        utf8_percent_encode(&key, QUERY_VALUE)
            .to_string()
            .replace("%2F", "/")
    );
    let field = |name: &str| {
        fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    };
    let redirect = field("success_action_redirect").or_else(|| field("redirect"));
    let mut response = match (redirect, field("success_action_status")) {
        (Some(target), _) if !target.is_empty() => {
            let separator = if target.contains('?') { '&' } else { '?' };
            let target = format!(
                "{target}{separator}bucket={}&key={}&etag={}",
                utf8_percent_encode(bucket, QUERY_VALUE),
                utf8_percent_encode(&key, QUERY_VALUE),
                utf8_percent_encode(&etag, QUERY_VALUE),
            );
            let mut response = empty_response(StatusCode::SEE_OTHER);
            let value = HeaderValue::from_str(&target).map_err(|_| {
                PostPolicyError::InvalidArgument("success_action_redirect is not a URL".into())
            })?;
            response.headers_mut().insert(http::header::LOCATION, value);
            response
        }
        (_, Some("201")) => {
            let doc = PostResponse {
                location: location.clone(),
                bucket: bucket.to_string(),
                key: key.clone(),
                etag: etag.clone(),
            };
            let mut response = xml_response(to_xml("PostResponse", &doc)?);
            *response.status_mut() = StatusCode::CREATED;
            response
        }
        (_, Some("200")) => empty_response(StatusCode::OK),
        // S3's default, and what it does with any other value.
        _ => empty_response(StatusCode::NO_CONTENT),
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(http::header::ETAG, value);
    }
    if !headers.contains_key(http::header::LOCATION) {
        if let Ok(value) = HeaderValue::from_str(&location) {
            headers.insert(http::header::LOCATION, value);
        }
    }
    super::expiry::annotate_write(state, bucket, &info, response.headers_mut()).await;
    Ok(response)
}

fn identity_is_root<S: Catalog + 'static>(state: &AppState<S>, identity: &Identity) -> bool {
    matches!(identity, Identity::AccessKey(key) if state.iam.is_root(key))
}

/// The access key a form claims, for the audit record of a failure.
fn claimed_access_key(fields: &[(String, String)]) -> Option<String> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    };
    field("x-amz-credential")
        .and_then(|credential| credential.split('/').next())
        .or_else(|| field("awsaccesskeyid"))
        .map(str::to_string)
}

/// The form fields that become object headers, as a header map for the
/// same parsing a PUT's headers get.
fn object_headers(fields: &[(String, String)]) -> Result<HeaderMap, ApiError> {
    let mut headers = HeaderMap::new();
    for (name, value) in fields {
        let wanted = HEADER_FIELDS.contains(&name.as_str())
            || name.starts_with("x-amz-meta-")
            || name.starts_with("x-amz-checksum-");
        if !wanted {
            continue;
        }
        let invalid = || {
            ApiError::from(PostPolicyError::InvalidArgument(format!(
                "The form field {name} cannot be stored as a header."
            )))
        };
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let value = HeaderValue::from_str(value).map_err(|_| invalid())?;
        headers.insert(header, value);
    }
    Ok(headers)
}

/// Reads what follows the file (ignored fields, the closing boundary), so
/// the connection can carry the next request; stops after
/// [`MAX_TRAILING_BYTES`] (the connection is then closed by the server).
async fn skip_trailing_fields<'a>(form: &mut multer::Multipart<'a>) {
    let mut read = 0usize;
    while let Ok(Some(mut field)) = form.next_field().await {
        while let Ok(Some(chunk)) = field.chunk().await {
            read += chunk.len();
            if read > MAX_TRAILING_BYTES {
                return;
            }
        }
    }
}

/// The file field as the store's body: its size bounded while it streams.
/// Going over `max` or ending under `min` fails the stream before its end,
/// so the store commits nothing; `failure` then says why.
struct BoundedFile {
    field: multer::Field<'static>,
    received: u64,
    min: u64,
    max: u64,
    failure: Arc<OnceLock<ApiError>>,
    finished: bool,
}

impl BoundedFile {
    fn fail(&mut self, error: ApiError) -> Poll<Option<Result<Bytes, StoreError>>> {
        self.finished = true;
        let message = error.message.clone();
        let _ = self.failure.set(error);
        Poll::Ready(Some(Err(StoreError::Body(message))))
    }
}

impl Stream for BoundedFile {
    type Item = Result<Bytes, StoreError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.field).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                this.received += chunk.len() as u64;
                if this.received > this.max {
                    let max = this.max;
                    return this.fail(
                        ApiError::from(PostPolicyError::TooLarge { max })
                            .field("MaxSizeAllowed", max.to_string()),
                    );
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(error))) => this.fail(malformed(error)),
            Poll::Ready(None) => {
                if this.received < this.min {
                    let (min, received) = (this.min, this.received);
                    return this.fail(
                        ApiError::from(PostPolicyError::TooSmall { min })
                            .field("ProposedSize", received.to_string())
                            .field("MinSizeAllowed", min.to_string()),
                    );
                }
                this.finished = true;
                Poll::Ready(None)
            }
        }
    }
}

//! Object operations: PutObject, GetObject, HeadObject, DeleteObject,
//! DeleteObjects, CopyObject, GetObjectAcl. Bodies stream between the client
//! and the store; nothing here holds a whole object in memory.

use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, Response, StatusCode};
use http_body::Body;
use percent_encoding::percent_decode_str;
use std::sync::{Arc, OnceLock};

use store::api::{
    ByteRange, ByteStream, Catalog, ListParams, ObjectAttributes, ObjectInfo, ObjectStore,
    PutOptions, StoreError,
};

use super::conditions::{
    invalid_range, parse_range, precondition_failed, resolve_range, Conditions, Precondition,
};
use super::headers::{
    attributes_from_headers, checksum_header, content_md5, http_date, object_headers,
    requested_checksum_algorithm, RESPONSE_OVERRIDES,
};
use super::{
    body_error, collect_small_body, empty_body, empty_response, expiry, open_body, xml_response,
    AccessCheck, AppState, RequestContext, StreamBody, MAX_PUT_SIZE,
};
use crate::auth::AuthError;
use crate::error::{ApiError, S3Code};
use crate::xml::request::Delete;
use crate::xml::response::{
    AccessControlPolicy, ChecksumFields, CopyObjectResult, DeleteErrorEntry, DeleteResult,
    DeletedEntry, GetObjectAttributesResponse, ObjectChecksum, ObjectPartEntry, ObjectParts,
};
use crate::xml::{quote_etag, timestamp, to_xml};
use crate::{BoxError, ResponseBody};

/// How many deletes of one DeleteObjects request run at once: enough to batch
/// journal commits, few enough not to starve other requests.
const DELETE_CONCURRENCY: usize = 16;

/// An upload body (PutObject or UploadPart) ready for the store.
pub(super) struct Upload {
    pub stream: ByteStream,
    pub options: PutOptions,
    /// The body's own failure, for [`body_error`].
    pub failure: Arc<OnceLock<AuthError>>,
}

/// Opens an upload body: its declared size (at most `max_size`) and the
/// checksum to compute and verify — from the body's header or trailer, else
/// the algorithm the SDK named without a value (a part may carry one even
/// when its upload declared none). A plain HTTP chunked body
/// (`Transfer-Encoding: chunked`, no Content-Length) streams in with no
/// declared size, cut off with `EntityTooLarge` once it passes `max_size`
/// (MinIO accepts such bodies; S3 answers 411). With neither a length nor
/// chunked framing the answer is 411 `MissingContentLength`.
pub(super) fn open_upload<B>(
    ctx: &RequestContext,
    body: B,
    attributes: ObjectAttributes,
    content_md5: Option<[u8; 16]>,
    max_size: u64,
) -> Result<Upload, ApiError>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let body = open_body(ctx, body)?;
    let size = match body.decoded_length {
        Some(size) => Some(size),
        None if is_plain_chunked(ctx) => None,
        None => return Err(ApiError::new(S3Code::MissingContentLength)),
    };
    if let Some(size) = size.filter(|size| *size > max_size) {
        return Err(ApiError::new(S3Code::EntityTooLarge)
            .field("ProposedSize", size.to_string())
            .field("MaxSizeAllowed", max_size.to_string()));
    }
    let (checksum_algorithm, expected_checksum) = match body.checksum {
        Some((algorithm, expected)) => (Some(algorithm), Some(expected)),
        None => (requested_checksum_algorithm(&ctx.parts.headers)?, None),
    };
    let stream = match size {
        Some(_) => body.stream,
        None => bounded(body.stream, max_size),
    };
    Ok(Upload {
        stream,
        options: PutOptions {
            attributes,
            size,
            content_md5,
            checksum_algorithm,
            expected_checksum,
        },
        failure: body.failure,
    })
}

/// `Transfer-Encoding: chunked` framing (HTTP/1.1) without a Content-Length.
fn is_plain_chunked(ctx: &RequestContext) -> bool {
    let headers = &ctx.parts.headers;
    !headers.contains_key(http::header::CONTENT_LENGTH)
        && headers
            .get_all(http::header::TRANSFER_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|coding| coding.trim().eq_ignore_ascii_case("chunked"))
}

/// Fails a body of unknown length with `EntityTooLarge` as soon as it has
/// passed `max_size` bytes, before the store sees the excess.
fn bounded(stream: ByteStream, max_size: u64) -> ByteStream {
    let mut total: u64 = 0;
    let mut failed = false;
    Box::pin(stream.map(move |chunk| {
        if failed {
            return Err(StoreError::EntityTooLarge);
        }
        let chunk = chunk?;
        total += chunk.len() as u64;
        if total > max_size {
            failed = true;
            return Err(StoreError::EntityTooLarge);
        }
        Ok(chunk)
    }))
}

/// Response headers after a write: quoted ETag and the checksum echo.
pub(super) fn write_response(
    etag: &str,
    checksum: Option<&store::api::Checksum>,
) -> Response<ResponseBody> {
    let mut response = empty_response(StatusCode::OK);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&quote_etag(etag)) {
        headers.insert(http::header::ETAG, value);
    }
    if let Some(checksum) = checksum {
        checksum_header(headers, checksum);
    }
    response
}

pub(super) async fn put_object<S: ObjectStore + Catalog, B>(
    state: &AppState<S>,
    ctx: &RequestContext,
    body: B,
    bucket: &str,
    key: &str,
) -> Result<Response<ResponseBody>, ApiError>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let attributes = attributes_from_headers(&ctx.parts.headers)?;
    let content_md5 = content_md5(&ctx.parts.headers)?;
    check_write_conditions(state, ctx, bucket, key).await?;
    let upload = open_upload(
        ctx,
        body,
        attributes,
        content_md5,
        state.config.max_put_size,
    )?;
    let info = state
        .store
        .put_object(bucket, key, upload.stream, upload.options)
        .await
        .map_err(|e| body_error(e, &upload.failure))?;
    let mut response = write_response(&info.etag, info.checksum.as_ref());
    expiry::annotate_write(state, bucket, &info, response.headers_mut()).await;
    Ok(response)
}

/// Conditional writes (`If-None-Match: *`, `If-Match: etag`) of PutObject
/// and CompleteMultipartUpload, checked against the current object before
/// the body is read (or the upload assembled): 412 `PreconditionFailed` on a
/// mismatch, 404 `NoSuchKey` for `If-Match` on an absent key. A concurrent
/// writer can still slip in between; the store has no compare-and-swap.
pub(super) async fn check_write_conditions<S: ObjectStore>(
    state: &AppState<S>,
    ctx: &RequestContext,
    bucket: &str,
    key: &str,
) -> Result<(), ApiError> {
    let if_none_match = ctx.header("if-none-match");
    let if_match = ctx.header("if-match");
    if if_none_match.is_none() && if_match.is_none() {
        return Ok(());
    }
    if if_none_match.is_some_and(|v| v.trim() != "*") {
        return Err(ApiError::not_implemented(
            "If-None-Match other than * on writes",
        ));
    }
    let current = match state.store.head_object(bucket, key).await {
        Ok(info) => Some(info),
        Err(StoreError::NoSuchKey { .. }) => None,
        Err(error) => return Err(error.into()),
    };
    if if_none_match.is_some() && current.is_some() {
        return Err(precondition_failed("If-None-Match"));
    }
    if let Some(expected) = if_match {
        let Some(current) = current else {
            return Err(ApiError::no_such_key(bucket, key));
        };
        let conditions = Conditions {
            if_match: Some(expected.to_string()),
            ..Default::default()
        };
        if conditions.evaluate(&current.etag, current.last_modified) != Precondition::Proceed {
            return Err(precondition_failed("If-Match"));
        }
    }
    Ok(())
}

/// The 304 answer: validators only.
fn not_modified(info: &ObjectInfo) -> Response<ResponseBody> {
    let mut response = empty_response(StatusCode::NOT_MODIFIED);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&quote_etag(&info.etag)) {
        headers.insert(http::header::ETAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(&http_date(info.last_modified)) {
        headers.insert(http::header::LAST_MODIFIED, value);
    }
    response
}

fn check_conditions(
    ctx: &RequestContext,
    info: &ObjectInfo,
) -> Result<Option<Response<ResponseBody>>, ApiError> {
    let conditions = Conditions::from_headers(&ctx.parts.headers, "");
    if conditions.is_empty() {
        return Ok(None);
    }
    match conditions.evaluate(&info.etag, info.last_modified) {
        Precondition::Proceed => Ok(None),
        Precondition::NotModified => Ok(Some(not_modified(info))),
        Precondition::Failed(condition) => Err(precondition_failed(condition)),
    }
}

/// Headers of a GET/HEAD answer: object headers, checksum (whole object
/// only), then the overrides a signed request asked for.
fn read_response_headers(
    ctx: &RequestContext,
    response: &mut Response<ResponseBody>,
    info: &ObjectInfo,
    range: Option<(u64, u64)>,
) {
    let headers = response.headers_mut();
    object_headers(headers, info);
    let length = match range {
        Some((first, last)) => {
            if let Ok(value) = HeaderValue::from_str(&format!("bytes {first}-{last}/{}", info.size))
            {
                headers.insert(http::header::CONTENT_RANGE, value);
            }
            last - first + 1
        }
        None => info.size,
    };
    headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(length));
    let checksum_mode = ctx
        .header("x-amz-checksum-mode")
        .is_some_and(|v| v.eq_ignore_ascii_case("enabled"));
    if checksum_mode && range.is_none() {
        if let Some(checksum) = &info.checksum {
            checksum_header(headers, checksum);
        }
    }
    // Overrides are honoured for signed (and presigned) requests only.
    if !ctx.auth.is_anonymous() {
        for (param, header) in RESPONSE_OVERRIDES.iter() {
            if let Some(value) = ctx.query.get(param) {
                if let Ok(value) = HeaderValue::from_str(value) {
                    headers.insert(header.clone(), value);
                }
            }
        }
    }
}

/// Lifecycle at read time: `Err(NoSuchKey)` once the object's expiry has
/// passed (and it is deleted in the background), else the
/// `x-amz-expiration` value when a rule will expire it.
async fn read_expiry<S: ObjectStore + Catalog + 'static>(
    state: &AppState<S>,
    bucket: &str,
    key: &str,
    info: &ObjectInfo,
) -> Result<Option<HeaderValue>, ApiError> {
    let Some(expiry) = expiry::expiry_of(state, bucket, info).await else {
        return Ok(None);
    };
    if expiry.at <= std::time::SystemTime::now() {
        expiry::delete_in_background(state, info);
        return Err(ApiError::no_such_key(bucket, key));
    }
    Ok(expiry::header_value(&expiry))
}

/// `?partNumber=N` of a GET or HEAD (the router refused malformed numbers).
fn requested_part(ctx: &RequestContext) -> Result<Option<u32>, ApiError> {
    let Some(raw) = ctx.query.get("partNumber") else {
        return Ok(None);
    };
    if ctx.header("range").is_some() {
        return Err(ApiError::with_message(
            S3Code::InvalidRequest,
            "Cannot specify both Range header and partNumber query parameter",
        ));
    }
    Ok(raw.parse().ok())
}

/// The bytes of part `number` (counted in the order the parts were
/// completed, as S3 and MinIO do): `None` for an empty object. An object
/// written by a single PUT has one part, the whole object; a number past
/// the last part is 416 `InvalidPartNumber`.
fn part_range(info: &ObjectInfo, number: u32) -> Result<Option<(u64, u64)>, ApiError> {
    let index = number as usize - 1;
    let (first, size) = if info.parts_count == 0 {
        if number != 1 {
            return Err(ApiError::new(S3Code::InvalidPartNumber));
        }
        (0, info.size)
    } else {
        let part = info
            .parts
            .get(index)
            .ok_or_else(|| ApiError::new(S3Code::InvalidPartNumber))?;
        let first: u64 = info.parts[..index].iter().map(|p| p.size).sum();
        (first, part.size)
    };
    Ok((size > 0).then(|| (first, first + size - 1)))
}

pub(crate) async fn get_object<S: ObjectStore + Catalog + 'static>(
    state: &AppState<S>,
    ctx: &RequestContext,
    bucket: &str,
    key: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    if let Some(number) = requested_part(ctx)? {
        return get_object_part(state, ctx, bucket, key, number).await;
    }
    let range_header = ctx.header("range").map(str::to_string);
    let range = range_header.as_deref().and_then(parse_range);
    let reader = match state.store.get_object(bucket, key, range).await {
        Ok(reader) => reader,
        Err(StoreError::InvalidRange) => {
            // Conditions are decided before the range (412/304 beat 416).
            let info = state.store.head_object(bucket, key).await?;
            read_expiry(state, bucket, key, &info).await?;
            if let Some(response) = check_conditions(ctx, &info)? {
                return Ok(response);
            }
            return Err(invalid_range(
                info.size,
                range_header.as_deref().unwrap_or(""),
            ));
        }
        Err(error) => return Err(error.into()),
    };
    read_answer(state, ctx, bucket, key, reader).await
}

/// The body and headers of a GET once the object is open.
async fn read_answer<S: ObjectStore + Catalog + 'static>(
    state: &AppState<S>,
    ctx: &RequestContext,
    bucket: &str,
    key: &str,
    reader: store::api::ObjectReader,
) -> Result<Response<ResponseBody>, ApiError> {
    let expiration = read_expiry(state, bucket, key, &reader.info).await?;
    if let Some(response) = check_conditions(ctx, &reader.info)? {
        return Ok(response);
    }
    let status = if reader.range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let length = match reader.range {
        Some((first, last)) => last - first + 1,
        None => reader.info.size,
    };
    let mut response = Response::new(StreamBody::new(reader.body, Some(length)).boxed());
    *response.status_mut() = status;
    read_response_headers(ctx, &mut response, &reader.info, reader.range);
    if let Some(value) = expiration {
        response.headers_mut().insert("x-amz-expiration", value);
    }
    Ok(response)
}

/// GET `?partNumber=N`: the part's bytes as a 206 with its Content-Range.
/// The parts are looked up first, then read as a range; an object replaced
/// in between (its ETag changed) is looked up again.
async fn get_object_part<S: ObjectStore + Catalog + 'static>(
    state: &AppState<S>,
    ctx: &RequestContext,
    bucket: &str,
    key: &str,
    number: u32,
) -> Result<Response<ResponseBody>, ApiError> {
    for _ in 0..3 {
        let info = state.store.head_object(bucket, key).await?;
        read_expiry(state, bucket, key, &info).await?;
        if let Some(response) = check_conditions(ctx, &info)? {
            return Ok(response);
        }
        let range = part_range(&info, number)?.map(|(first, last)| ByteRange::FromTo {
            first,
            last: Some(last),
        });
        let reader = state.store.get_object(bucket, key, range).await?;
        if reader.info.etag == info.etag {
            return read_answer(state, ctx, bucket, key, reader).await;
        }
    }
    Err(ApiError::new(S3Code::SlowDown))
}

pub(crate) async fn head_object<S: ObjectStore + Catalog + 'static>(
    state: &AppState<S>,
    ctx: &RequestContext,
    bucket: &str,
    key: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let part = requested_part(ctx)?;
    let info = state.store.head_object(bucket, key).await?;
    let expiration = read_expiry(state, bucket, key, &info).await?;
    if let Some(response) = check_conditions(ctx, &info)? {
        return Ok(response);
    }
    let range_header = ctx.header("range");
    let range = match (part, range_header.and_then(parse_range)) {
        (Some(number), _) => part_range(&info, number)?,
        (None, Some(range)) => Some(
            resolve_range(range, info.size)
                .ok_or_else(|| invalid_range(info.size, range_header.unwrap_or("")))?,
        ),
        (None, None) => None,
    };
    let mut response = Response::new(empty_body());
    *response.status_mut() = if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    read_response_headers(ctx, &mut response, &info, range);
    if let Some(value) = expiration {
        response.headers_mut().insert("x-amz-expiration", value);
    }
    Ok(response)
}

/// The attributes GetObjectAttributes knows (`x-amz-object-attributes`).
const OBJECT_ATTRIBUTES: [&str; 5] = [
    "ETag",
    "Checksum",
    "ObjectParts",
    "StorageClass",
    "ObjectSize",
];

/// GetObjectAttributes: the attributes named in `x-amz-object-attributes`
/// (at least one; an unknown name is `InvalidArgument`, as S3 and MinIO).
/// `ObjectParts` is answered for multipart objects only, `Checksum` when
/// one was stored; parts page with `x-amz-max-parts` and
/// `x-amz-part-number-marker`.
pub(crate) async fn get_object_attributes<S: ObjectStore + Catalog + 'static>(
    state: &AppState<S>,
    ctx: &RequestContext,
    bucket: &str,
    key: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    // The SDKs send one header per attribute; others join them with commas.
    let raw = ctx
        .parts
        .headers
        .get_all("x-amz-object-attributes")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let raw = raw.as_str();
    let mut wanted = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match OBJECT_ATTRIBUTES
            .iter()
            .find(|a| a.eq_ignore_ascii_case(name))
        {
            Some(known) => wanted.push(*known),
            None => {
                return Err(ApiError::invalid_argument(
                    "Invalid attribute name specified.",
                    "x-amz-object-attributes",
                    name,
                ))
            }
        }
    }
    if wanted.is_empty() {
        return Err(ApiError::invalid_argument(
            "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty",
            "x-amz-object-attributes",
            raw,
        ));
    }
    let number = |name: &str, default: usize| -> Result<usize, ApiError> {
        match ctx.header(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| ApiError::invalid_argument("Invalid value", name, v)),
        }
    };
    let max_parts = number("x-amz-max-parts", 1000)?.min(1000);
    let marker = number("x-amz-part-number-marker", 0)?;

    let info = state.store.head_object(bucket, key).await?;
    read_expiry(state, bucket, key, &info).await?;
    if let Some(response) = check_conditions(ctx, &info)? {
        return Ok(response);
    }
    let has = |name: &str| wanted.contains(&name);
    let object_parts = (has("ObjectParts") && info.parts_count > 0).then(|| {
        let rest: Vec<_> = info
            .parts
            .iter()
            .filter(|p| p.number as usize > marker)
            .collect();
        let page: Vec<ObjectPartEntry> = rest
            .iter()
            .take(max_parts)
            .map(|p| ObjectPartEntry {
                part_number: p.number,
                size: p.size,
                checksum: ChecksumFields::from_checksum(p.checksum.as_ref()),
            })
            .collect();
        ObjectParts {
            total_parts_count: info.parts_count,
            part_number_marker: marker,
            next_part_number_marker: page
                .last()
                .map(|p| p.part_number as usize)
                .unwrap_or(marker),
            max_parts,
            is_truncated: rest.len() > page.len(),
            parts: page,
        }
    });
    let doc = GetObjectAttributesResponse {
        xmlns: (),
        etag: has("ETag").then(|| info.etag.clone()),
        checksum: info
            .checksum
            .as_ref()
            .filter(|_| has("Checksum"))
            .map(|c| ObjectChecksum {
                fields: ChecksumFields::from_checksum(Some(c)),
                checksum_type: checksum_type(c),
            }),
        object_parts,
        storage_class: has("StorageClass").then_some("STANDARD"),
        object_size: has("ObjectSize").then_some(info.size),
    };
    let mut response = xml_response(to_xml("GetObjectAttributesResponse", &doc)?);
    if let Ok(value) = HeaderValue::from_str(&http_date(info.last_modified)) {
        response
            .headers_mut()
            .insert(http::header::LAST_MODIFIED, value);
    }
    Ok(response)
}

/// COMPOSITE for a checksum of part checksums (`value-N`), else FULL_OBJECT.
pub(super) fn checksum_type(checksum: &store::api::Checksum) -> &'static str {
    let composite = checksum
        .value_b64
        .rsplit_once('-')
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if composite {
        "COMPOSITE"
    } else {
        "FULL_OBJECT"
    }
}

pub(super) async fn delete_object<S: ObjectStore + Catalog + 'static>(
    state: &AppState<S>,
    ctx: &RequestContext,
    bucket: &str,
    key: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    if ctx
        .header(FORCE_DELETE_HEADER)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return force_delete_prefix(state, ctx, bucket, key).await;
    }
    state.store.delete_object(bucket, key).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

/// MinIO's extension (minio-js `removeObject(..., { forceDelete: true })`):
/// a DELETE with this header set to `true` removes every object whose key
/// starts with the request's key, not just the key itself.
const FORCE_DELETE_HEADER: &str = "x-minio-force-delete";

/// Deletes every object under `prefix`. Each key needs `s3:DeleteObject`
/// like a DeleteObject of its own; one refused key refuses the request
/// before anything is deleted, so a policy that denies part of a prefix
/// cannot be stepped around by deleting its parent.
async fn force_delete_prefix<S: ObjectStore + Catalog + 'static>(
    state: &AppState<S>,
    ctx: &RequestContext,
    bucket: &str,
    prefix: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let access = AccessCheck::new(&state.iam, &ctx.auth.identity, Some(bucket)).await?;
    let mut keys = Vec::new();
    let mut start_after = None;
    loop {
        let page = state
            .store
            .list_objects(
                bucket,
                ListParams {
                    prefix: prefix.to_string(),
                    delimiter: None,
                    start_after: start_after.take(),
                    max_keys: 1000,
                },
            )
            .await?;
        for object in page.objects {
            if !access.allows("s3:DeleteObject", Some(bucket), Some(&object.key)) {
                return Err(ApiError::new(S3Code::AccessDenied));
            }
            keys.push(object.key);
        }
        match page.next_marker {
            Some(marker) if page.is_truncated => start_after = Some(marker),
            _ => break,
        }
    }
    for key in keys {
        state.store.delete_object(bucket, &key).await?;
    }
    Ok(empty_response(StatusCode::NO_CONTENT))
}

pub(super) async fn get_object_acl<S: ObjectStore>(
    state: &AppState<S>,
    bucket: &str,
    key: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    state.store.head_object(bucket, key).await?;
    Ok(xml_response(to_xml(
        "AccessControlPolicy",
        &AccessControlPolicy::owner_full_control(state.owner()),
    )?))
}

pub(super) async fn delete_objects<S: ObjectStore + Catalog + 'static, B>(
    state: &AppState<S>,
    ctx: &RequestContext,
    body: B,
    bucket: &str,
) -> Result<Response<ResponseBody>, ApiError>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let body = collect_small_body(ctx, body, state.config.max_xml_body, true).await?;
    let request = Delete::parse(&body)?;
    // Each key needs s3:DeleteObject; refused keys are per-key AccessDenied.
    let access = AccessCheck::new(&state.iam, &ctx.auth.identity, Some(bucket)).await?;
    if !request
        .objects
        .iter()
        .any(|object| access.allows("s3:DeleteObject", Some(bucket), Some(&object.key)))
    {
        return Err(ApiError::new(S3Code::AccessDenied));
    }
    state.store.head_bucket(bucket).await?;
    let access = &access;

    let outcomes: Vec<(String, Result<(), ApiError>)> = futures::stream::iter(request.objects)
        .map(|object| async move {
            let allowed = access.allows("s3:DeleteObject", Some(bucket), Some(&object.key));
            let result = match object.version_id.as_deref() {
                _ if !allowed => Err(ApiError::new(S3Code::AccessDenied)),
                None | Some("null") | Some("") => state
                    .store
                    .delete_object(bucket, &object.key)
                    .await
                    .map_err(ApiError::from),
                Some(_) => Err(ApiError::with_message(
                    S3Code::NotImplemented,
                    "Versioned deletes are not supported",
                )),
            };
            (object.key, result)
        })
        .buffered(DELETE_CONCURRENCY)
        .collect()
        .await;

    let mut doc = DeleteResult::default();
    for (key, result) in outcomes {
        match result {
            Ok(()) => {
                if !request.quiet {
                    doc.deleted.push(DeletedEntry { key });
                }
            }
            Err(error) => doc.errors.push(DeleteErrorEntry {
                key,
                code: error.code.as_str().to_string(),
                message: error.message,
            }),
        }
    }
    Ok(xml_response(to_xml("DeleteResult", &doc)?))
}

/// `x-amz-copy-source: [/]bucket/key[?versionId=...]`, URL-encoded.
pub(super) fn parse_copy_source(value: &str) -> Result<(String, String), ApiError> {
    let invalid = || {
        ApiError::with_message(
            S3Code::InvalidArgument,
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
        )
        .field("ArgumentName", "x-amz-copy-source")
        .field("ArgumentValue", value)
    };
    let (path, version) = match value.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (value, None),
    };
    if let Some(query) = version {
        let version_id = query.strip_prefix("versionId=").unwrap_or(query);
        if version_id != "null" {
            return Err(ApiError::not_implemented("x-amz-copy-source versionId"));
        }
    }
    let decoded = percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| invalid())?;
    let decoded = decoded.strip_prefix('/').unwrap_or(&decoded);
    let (bucket, key) = decoded.split_once('/').ok_or_else(invalid)?;
    if bucket.is_empty() || key.is_empty() {
        return Err(invalid());
    }
    Ok((bucket.to_string(), key.to_string()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Directive {
    Copy,
    Replace,
}

fn directive(ctx: &RequestContext, name: &str) -> Result<Directive, ApiError> {
    match ctx.header(name) {
        None => Ok(Directive::Copy),
        Some(v) if v.eq_ignore_ascii_case("COPY") => Ok(Directive::Copy),
        Some(v) if v.eq_ignore_ascii_case("REPLACE") => Ok(Directive::Replace),
        Some(v) => Err(ApiError::invalid_argument(
            format!("Unknown {name}."),
            name,
            v,
        )),
    }
}

/// Applies `x-amz-copy-source-if-*` to the source object.
pub(super) fn check_copy_source_conditions(
    ctx: &RequestContext,
    info: &ObjectInfo,
) -> Result<(), ApiError> {
    let conditions = Conditions::from_headers(&ctx.parts.headers, "x-amz-copy-source-");
    match conditions.evaluate_copy_source(&info.etag, info.last_modified) {
        Precondition::Proceed => Ok(()),
        Precondition::NotModified | Precondition::Failed(_) => {
            Err(precondition_failed("x-amz-copy-source-If"))
        }
    }
}

fn copy_source_too_large() -> ApiError {
    ApiError::with_message(
        S3Code::InvalidRequest,
        format!("The specified copy source is larger than the maximum allowable size for a copy source: {MAX_PUT_SIZE}"),
    )
}

pub(super) async fn copy_object<S: ObjectStore + Catalog>(
    state: &AppState<S>,
    ctx: &RequestContext,
    bucket: &str,
    key: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let (src_bucket, src_key) = parse_copy_source(ctx.header("x-amz-copy-source").unwrap_or(""))?;
    let metadata = directive(ctx, "x-amz-metadata-directive")?;
    let tagging = directive(ctx, "x-amz-tagging-directive")?;
    let to_self = src_bucket == bucket && src_key == key;
    if to_self && metadata != Directive::Replace {
        return Err(ApiError::with_message(
            S3Code::InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        ));
    }
    let requested_checksum = requested_checksum_algorithm(&ctx.parts.headers)?;

    let attributes_for = |source: &ObjectAttributes| -> Result<ObjectAttributes, ApiError> {
        let mut attributes = match metadata {
            Directive::Copy => source.clone(),
            Directive::Replace => attributes_from_headers(&ctx.parts.headers)?,
        };
        attributes.tags = match tagging {
            Directive::Copy => source.tags.clone(),
            Directive::Replace => attributes_from_headers(&ctx.parts.headers)?.tags,
        };
        Ok(attributes)
    };

    let info = if to_self {
        let source = state.store.head_object(&src_bucket, &src_key).await?;
        check_copy_source_conditions(ctx, &source)?;
        let attributes = attributes_for(&source.attributes)?;
        state
            .store
            .update_attributes(bucket, key, attributes)
            .await?
    } else {
        let reader = state.store.get_object(&src_bucket, &src_key, None).await?;
        check_copy_source_conditions(ctx, &reader.info)?;
        if reader.info.size > MAX_PUT_SIZE {
            return Err(copy_source_too_large());
        }
        let attributes = attributes_for(&reader.info.attributes)?;
        let options = PutOptions {
            attributes,
            size: Some(reader.info.size),
            content_md5: None,
            checksum_algorithm: requested_checksum.or(reader
                .info
                .checksum
                .as_ref()
                .map(|c| c.algorithm)),
            expected_checksum: None,
        };
        state
            .store
            .put_object(bucket, key, reader.body, options)
            .await?
    };
    let doc = CopyObjectResult {
        xmlns: (),
        etag: quote_etag(&info.etag),
        last_modified: timestamp(info.last_modified),
        checksum: ChecksumFields::from_checksum(info.checksum.as_ref()),
    };
    let mut response = xml_response(to_xml("CopyObjectResult", &doc)?);
    expiry::annotate_write(state, bucket, &info, response.headers_mut()).await;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_forms() {
        assert_eq!(
            parse_copy_source("src/a/b.txt").unwrap(),
            ("src".into(), "a/b.txt".into())
        );
        assert_eq!(
            parse_copy_source("/src/a%20b").unwrap(),
            ("src".into(), "a b".into())
        );
        assert_eq!(
            parse_copy_source("src/k?versionId=null").unwrap(),
            ("src".into(), "k".into())
        );
        assert_eq!(
            parse_copy_source("src/k?versionId=abc").unwrap_err().code,
            S3Code::NotImplemented
        );
        for bad in ["", "src", "src/", "/k", "%ff/k"] {
            assert_eq!(
                parse_copy_source(bad).unwrap_err().code,
                S3Code::InvalidArgument,
                "{bad}"
            );
        }
    }
}

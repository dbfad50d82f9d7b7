//! Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
//! CompleteMultipartUpload, AbortMultipartUpload, ListParts,
//! ListMultipartUploads.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body::Body;
use store::api::{
    ByteRange, Catalog, Checksum, ChecksumAlgorithm, ChecksumType, CompleteChecks, CompletePart,
    ListUploadsParams, MultipartStore, ObjectInfo, ObjectStore, PutOptions, StoreError,
};

use super::conditions::parse_copy_source_range;
use super::headers::{attributes_from_headers, content_md5, requested_checksum_algorithm};
use super::list::{non_empty_param, url_encode, ListingQuery};
use super::object::{
    check_copy_source_conditions, check_write_conditions, open_upload, parse_copy_source,
    write_response,
};
use super::{
    body_error, collect_small_body_checked, empty_response, query_number, xml_response, AppState,
    RequestContext, MAX_PUT_SIZE,
};
use crate::error::{ApiError, S3Code};
use crate::xml::request::CompleteMultipartUpload;
use crate::xml::response::{
    ChecksumFields, CommonPrefix, CompleteMultipartUploadResult, CopyPartResult,
    InitiateMultipartUploadResult, ListMultipartUploadsResult, ListPartsResult, PartEntry,
    UploadEntry,
};
use crate::xml::{quote_etag, timestamp, to_xml};
use crate::{BoxError, ResponseBody};

const MAX_PARTS_PAGE: usize = 1000;
const MAX_UPLOADS_PAGE: usize = 1000;

pub(super) async fn create<S: MultipartStore>(
    state: &AppState<S>,
    ctx: &RequestContext,
    bucket: &str,
    key: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let attributes = attributes_from_headers(&ctx.parts.headers)?;
    let checksum_algorithm = requested_checksum_algorithm(&ctx.parts.headers)?;
    let checksum_type = requested_checksum_type(ctx, checksum_algorithm)?;
    let upload = state
        .store
        .create_multipart_typed(bucket, key, attributes, checksum_algorithm, checksum_type)
        .await?;
    let doc = InitiateMultipartUploadResult {
        xmlns: (),
        bucket: upload.bucket,
        key: upload.key,
        upload_id: upload.upload_id,
    };
    let mut response = xml_response(to_xml("InitiateMultipartUploadResult", &doc)?);
    if let Some(algorithm) = checksum_algorithm {
        response.headers_mut().insert(
            "x-amz-checksum-algorithm",
            HeaderValue::from_static(algorithm.name()),
        );
        response.headers_mut().insert(
            "x-amz-checksum-type",
            HeaderValue::from_static(checksum_type.name()),
        );
    }
    Ok(response)
}

/// `x-amz-checksum-type` of CreateMultipartUpload (COMPOSITE when absent),
/// refused as S3 does where AWS's table forbids it with the algorithm:
/// CRC64NVME is FULL_OBJECT only, SHA-1/SHA-256 COMPOSITE only.
fn requested_checksum_type(
    ctx: &RequestContext,
    algorithm: Option<ChecksumAlgorithm>,
) -> Result<ChecksumType, ApiError> {
    let requested = match ctx.header("x-amz-checksum-type") {
        None => None,
        Some(raw) => Some(ChecksumType::parse(raw.trim()).ok_or_else(|| {
            ApiError::with_message(
                S3Code::InvalidRequest,
                format!("Value for x-amz-checksum-type header is invalid: {raw}"),
            )
        })?),
    };
    let Some(algorithm) = algorithm else {
        return match requested {
            None => Ok(ChecksumType::Composite),
            Some(_) => Err(ApiError::with_message(
                S3Code::InvalidRequest,
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
            )),
        };
    };
    let checksum_type = requested.unwrap_or(match algorithm {
        ChecksumAlgorithm::Crc64Nvme => ChecksumType::FullObject,
        _ => ChecksumType::Composite,
    });
    if !checksum_type.allows(algorithm) {
        return Err(ApiError::with_message(
            S3Code::InvalidRequest,
            format!(
                "The {} checksum type cannot be used with the {} checksum algorithm.",
                checksum_type.name(),
                algorithm.name().to_ascii_lowercase()
            ),
        ));
    }
    Ok(checksum_type)
}

/// The checksums a CompleteMultipartUpload lists per part, and the
/// whole-object `x-amz-checksum-<alg>` header, for the store to verify.
fn complete_checks(
    ctx: &RequestContext,
    parts: &[crate::xml::request::CompletedPart],
) -> CompleteChecks {
    let part_checksums = parts
        .iter()
        .map(|p| {
            [
                (ChecksumAlgorithm::Crc32, &p.checksum_crc32),
                (ChecksumAlgorithm::Crc32c, &p.checksum_crc32c),
                (ChecksumAlgorithm::Crc64Nvme, &p.checksum_crc64nvme),
                (ChecksumAlgorithm::Sha1, &p.checksum_sha1),
                (ChecksumAlgorithm::Sha256, &p.checksum_sha256),
            ]
            .into_iter()
            .find_map(|(algorithm, value)| {
                value.as_ref().map(|v| Checksum {
                    algorithm,
                    value_b64: v.trim().to_string(),
                })
            })
        })
        .collect();
    let object_checksum = [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ]
    .into_iter()
    .find_map(|algorithm| {
        ctx.header(&format!("x-amz-checksum-{}", algorithm.header_suffix()))
            .map(|v| Checksum {
                algorithm,
                value_b64: v.trim().to_string(),
            })
    });
    CompleteChecks {
        part_checksums,
        object_checksum,
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn upload_part<S: MultipartStore, B>(
    state: &AppState<S>,
    ctx: &RequestContext,
    body: B,
    bucket: &str,
    key: &str,
    upload_id: &str,
    part_number: u32,
) -> Result<Response<ResponseBody>, ApiError>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let content_md5 = content_md5(&ctx.parts.headers)?;
    let upload = open_upload(
        ctx,
        body,
        Default::default(),
        content_md5,
        state.config.max_put_size,
    )?;
    let part = state
        .store
        .put_part(
            bucket,
            key,
            upload_id,
            part_number,
            upload.stream,
            upload.options,
        )
        .await
        .map_err(|e| body_error(e, &upload.failure))?;
    Ok(write_response(&part.etag, part.checksum.as_ref()))
}

/// A well-formed `x-amz-copy-source-range` outside the source object: 416
/// `InvalidRange`, as S3 and MinIO answer (a malformed one is
/// `InvalidArgument`).
fn invalid_source_range(size: u64) -> ApiError {
    ApiError::with_message(
        S3Code::InvalidRange,
        format!("Range specified is not valid for source object of size: {size}"),
    )
    .field("ActualObjectSize", size.to_string())
}

pub(super) async fn upload_part_copy<S: MultipartStore + ObjectStore>(
    state: &AppState<S>,
    ctx: &RequestContext,
    bucket: &str,
    key: &str,
    upload_id: &str,
    part_number: u32,
) -> Result<Response<ResponseBody>, ApiError> {
    let (src_bucket, src_key) = parse_copy_source(ctx.header("x-amz-copy-source").unwrap_or(""))?;
    let range = ctx
        .header("x-amz-copy-source-range")
        .map(parse_copy_source_range)
        .transpose()?;
    let byte_range = range.map(|(first, last)| ByteRange::FromTo {
        first,
        last: Some(last),
    });
    let reader = match state
        .store
        .get_object(&src_bucket, &src_key, byte_range)
        .await
    {
        Ok(reader) => reader,
        Err(StoreError::InvalidRange) => {
            let info = state.store.head_object(&src_bucket, &src_key).await?;
            return Err(invalid_source_range(info.size));
        }
        Err(error) => return Err(error.into()),
    };
    check_copy_source_conditions(ctx, &reader.info)?;
    let length = match reader.range {
        Some((first, last)) => last - first + 1,
        None => reader.info.size,
    };
    // A range past the end is refused, not shortened (S3 semantics for part copies).
    if let Some((_, last)) = range {
        if last >= reader.info.size {
            return Err(invalid_source_range(reader.info.size));
        }
    }
    if length > MAX_PUT_SIZE {
        return Err(ApiError::with_message(
            S3Code::InvalidRequest,
            format!("The specified copy source is larger than the maximum allowable size for a copy source: {MAX_PUT_SIZE}"),
        ));
    }
    let options = PutOptions {
        attributes: Default::default(),
        size: Some(length),
        content_md5: None,
        checksum_algorithm: requested_checksum_algorithm(&ctx.parts.headers)?,
        expected_checksum: None,
    };
    let part = state
        .store
        .put_part(bucket, key, upload_id, part_number, reader.body, options)
        .await?;
    let doc = CopyPartResult {
        xmlns: (),
        etag: quote_etag(&part.etag),
        last_modified: timestamp(part.last_modified),
        checksum: ChecksumFields::from_checksum(part.checksum.as_ref()),
    };
    Ok(xml_response(to_xml("CopyPartResult", &doc)?))
}

pub(super) async fn complete<S: MultipartStore + ObjectStore + Catalog, B>(
    state: &AppState<S>,
    ctx: &RequestContext,
    body: B,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<Response<ResponseBody>, ApiError>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let body =
        collect_small_body_checked(ctx, body, state.config.max_xml_body, false, false).await?;
    let request = CompleteMultipartUpload::parse(&body)?;
    let checks = complete_checks(ctx, &request.parts);
    let parts: Vec<CompletePart> = request
        .parts
        .into_iter()
        .map(|p| CompletePart {
            number: p.part_number,
            etag: p.etag,
        })
        .collect();
    let outcome: Result<ObjectInfo, ApiError> = async {
        check_write_conditions(state, ctx, bucket, key).await?;
        Ok(state
            .store
            .complete_multipart_checked(bucket, key, upload_id, parts.clone(), checks)
            .await?)
    }
    .await;
    let info = match outcome {
        Ok(info) => info,
        Err(error)
            if matches!(
                error.code,
                S3Code::NoSuchUpload | S3Code::PreconditionFailed
            ) =>
        {
            match already_completed(state, bucket, key, upload_id, &parts).await {
                Some(info) => info,
                None => return Err(error),
            }
        }
        Err(error) => return Err(error),
    };
    let base = match &state.config.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("http://{}", ctx.host().unwrap_or("localhost")),
    };
    let doc = CompleteMultipartUploadResult {
        xmlns: (),
        location: format!("{base}/{bucket}/{}", url_encode(key)),
        bucket: bucket.to_string(),
        key: key.to_string(),
        etag: quote_etag(&info.etag),
        checksum: ChecksumFields::from_checksum(info.checksum.as_ref()),
        checksum_type: info.checksum.as_ref().map(super::object::checksum_type),
    };
    let mut response = xml_response(to_xml("CompleteMultipartUploadResult", &doc)?);
    super::expiry::annotate_write(state, bucket, &info, response.headers_mut()).await;
    Ok(response)
}

/// A retried completion (clients retry when the first answer was lost):
/// the upload is gone and the object under the key is made of exactly the
/// requested parts (same numbers and ETags, so the same bytes). Then the
/// first completion's result is the answer, not `NoSuchUpload`, nor a 412
/// from a condition the first completion itself changed.
async fn already_completed<S: MultipartStore + ObjectStore>(
    state: &AppState<S>,
    bucket: &str,
    key: &str,
    upload_id: &str,
    parts: &[CompletePart],
) -> Option<ObjectInfo> {
    let info = state.store.head_object(bucket, key).await.ok()?;
    let same_parts = info.parts_count as usize == parts.len()
        && info.parts.len() == parts.len()
        && info.parts.iter().zip(parts).all(|(stored, asked)| {
            stored.number == asked.number && stored.etag == asked.etag.trim().trim_matches('"')
        });
    if !same_parts {
        return None;
    }
    match state
        .store
        .list_parts(bucket, key, upload_id, None, 1)
        .await
    {
        Err(StoreError::NoSuchUpload(_)) => Some(info),
        _ => None,
    }
}

pub(super) async fn abort<S: MultipartStore>(
    state: &AppState<S>,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    state.store.abort_multipart(bucket, key, upload_id).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

pub(super) async fn list_parts<S: MultipartStore>(
    state: &AppState<S>,
    ctx: &RequestContext,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let max_parts = query_number(&ctx.query, "max-parts", MAX_PARTS_PAGE)?.min(MAX_PARTS_PAGE);
    let marker = match ctx.query.get("part-number-marker") {
        None | Some("") => None,
        Some(raw) => Some(raw.trim().parse::<u32>().map_err(|_| {
            ApiError::invalid_argument(
                "Provided part-number-marker not an integer or within integer range",
                "part-number-marker",
                raw,
            )
        })?),
    };
    let page = state
        .store
        .list_parts(bucket, key, upload_id, marker, max_parts)
        .await?;
    let checksum_algorithm = page
        .upload
        .as_ref()
        .and_then(|u| u.checksum_algorithm)
        .map(|a| a.name());
    let parts: Vec<PartEntry> = page
        .parts
        .iter()
        .map(|p| PartEntry {
            part_number: p.number,
            last_modified: timestamp(p.last_modified),
            etag: quote_etag(&p.etag),
            size: p.size,
            checksum: ChecksumFields::from_checksum(p.checksum.as_ref()),
        })
        .collect();
    let next = page
        .next_part_number_marker
        .or_else(|| parts.last().map(|p| p.part_number))
        .unwrap_or(0);
    let doc = ListPartsResult {
        xmlns: (),
        bucket: bucket.to_string(),
        key: key.to_string(),
        upload_id: upload_id.to_string(),
        initiator: state.owner(),
        owner: state.owner(),
        storage_class: "STANDARD",
        part_number_marker: marker.unwrap_or(0),
        next_part_number_marker: next,
        max_parts,
        is_truncated: page.is_truncated,
        parts,
        checksum_algorithm,
    };
    Ok(xml_response(to_xml("ListPartsResult", &doc)?))
}

pub(super) async fn list_uploads<S: MultipartStore>(
    state: &AppState<S>,
    ctx: &RequestContext,
    bucket: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let query = &ctx.query;
    let listing = ListingQuery::parse(query)?;
    let max_uploads = query_number(query, "max-uploads", MAX_UPLOADS_PAGE)?.min(MAX_UPLOADS_PAGE);
    let ListingQuery {
        prefix, delimiter, ..
    } = &listing;
    let key_marker = non_empty_param(query, "key-marker");
    let upload_id_marker = non_empty_param(query, "upload-id-marker");
    let page = state
        .store
        .list_uploads(
            bucket,
            ListUploadsParams {
                prefix: prefix.clone(),
                key_marker: key_marker.clone(),
                upload_id_marker: upload_id_marker.clone(),
                max_uploads,
            },
        )
        .await?;
    let name = |s: &str| listing.name(s);

    // The store does not group by delimiter; uploads under a common prefix fold here.
    let mut uploads = Vec::new();
    let mut common_prefixes: Vec<CommonPrefix> = Vec::new();
    for upload in &page.uploads {
        if let Some(delimiter) = &delimiter {
            let rest = upload.key.strip_prefix(prefix.as_str()).unwrap_or("");
            if let Some(i) = rest.find(delimiter.as_str()) {
                let common = format!("{}{}", prefix, &rest[..i + delimiter.len()]);
                if common_prefixes.last().map(|c| &c.prefix) != Some(&name(&common)) {
                    common_prefixes.push(CommonPrefix {
                        prefix: name(&common),
                    });
                }
                continue;
            }
        }
        uploads.push(UploadEntry {
            key: name(&upload.key),
            upload_id: upload.upload_id.clone(),
            initiator: state.owner(),
            owner: state.owner(),
            storage_class: "STANDARD",
            initiated: timestamp(upload.initiated),
            checksum_algorithm: upload.checksum_algorithm.map(|a| a.name()),
        });
    }
    let doc = ListMultipartUploadsResult {
        xmlns: (),
        bucket: bucket.to_string(),
        key_marker: key_marker.as_deref().map(name).unwrap_or_default(),
        upload_id_marker: upload_id_marker.unwrap_or_default(),
        next_key_marker: page
            .next_key_marker
            .as_deref()
            .map(name)
            .unwrap_or_default(),
        next_upload_id_marker: page.next_upload_id_marker.clone().unwrap_or_default(),
        prefix: name(prefix),
        delimiter: delimiter.as_deref().map(name),
        max_uploads,
        is_truncated: page.is_truncated,
        encoding_type: listing.encoding_type(),
        uploads,
        common_prefixes,
    };
    Ok(xml_response(to_xml("ListMultipartUploadsResult", &doc)?))
}

//! Object headers in both directions: request headers → `ObjectAttributes`
//! (Content-*, `x-amz-meta-*`, `x-amz-tagging`), `Content-MD5` and checksum
//! headers, and `ObjectInfo` → response headers. Also verifies the digests of
//! small XML bodies the handlers read themselves.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use store::api::{ChecksumAlgorithm, ExpectedChecksum, ObjectAttributes, ObjectInfo};

use crate::error::{ApiError, S3Code};
use crate::xml::quote_etag;

/// What S3 answers for objects stored without a Content-Type.
pub const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// S3's limit on user metadata: keys plus values, in bytes.
pub const MAX_USER_METADATA: usize = 2 * 1024;

const META_PREFIX: &str = "x-amz-meta-";

fn text(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// The attributes a PUT, CreateMultipartUpload or REPLACE copy stores.
pub fn attributes_from_headers(headers: &HeaderMap) -> Result<ObjectAttributes, ApiError> {
    let mut user_metadata = BTreeMap::new();
    let mut metadata_size = 0usize;
    for (name, value) in headers {
        if let Some(key) = name.as_str().strip_prefix(META_PREFIX) {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            metadata_size += key.len() + value.len();
            // Repeated headers join with a comma, as HTTP does.
            user_metadata
                .entry(key.to_string())
                .and_modify(|existing: &mut String| {
                    existing.push(',');
                    existing.push_str(&value);
                })
                .or_insert(value);
        }
    }
    if metadata_size > MAX_USER_METADATA {
        return Err(ApiError::new(S3Code::MetadataTooLarge)
            .field("MaxSizeAllowed", MAX_USER_METADATA.to_string()));
    }
    let content_encoding = text(headers, header::CONTENT_ENCODING).and_then(|value| {
        // `aws-chunked` describes the transfer framing, not the object.
        let kept: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("aws-chunked"))
            .collect();
        (!kept.is_empty()).then(|| kept.join(","))
    });
    let tags = match headers.get("x-amz-tagging") {
        Some(value) => parse_tagging(&String::from_utf8_lossy(value.as_bytes()))?,
        None => BTreeMap::new(),
    };
    Ok(ObjectAttributes {
        content_type: text(headers, header::CONTENT_TYPE),
        content_encoding,
        content_disposition: text(headers, header::CONTENT_DISPOSITION),
        content_language: text(headers, header::CONTENT_LANGUAGE),
        cache_control: text(headers, header::CACHE_CONTROL),
        expires: text(headers, header::EXPIRES),
        user_metadata,
        tags,
    })
}

/// Parses `x-amz-tagging: k1=v1&k2=v2` (URL-encoded) with S3's limits.
pub fn parse_tagging(value: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let query = crate::router::Query::parse(Some(value)).map_err(|_| {
        ApiError::with_message(
            S3Code::InvalidTag,
            "The TagValue you have provided is invalid",
        )
    })?;
    check_tags(query.iter())
}

/// S3's tag limits, for `x-amz-tagging` and PutObjectTagging alike: at most
/// 10 tags (`BadRequest`), keys of 1..=128 and values of at most 256
/// characters, each key once (`InvalidTag`).
pub fn check_tags<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<BTreeMap<String, String>, ApiError> {
    let invalid = |message: &str| ApiError::with_message(S3Code::InvalidTag, message.to_string());
    let mut tags = BTreeMap::new();
    for (key, value) in pairs {
        if key.is_empty() || key.chars().count() > 128 {
            return Err(invalid("The TagKey you have provided is invalid"));
        }
        if value.chars().count() > 256 {
            return Err(invalid("The TagValue you have provided is invalid"));
        }
        if tags.insert(key.to_string(), value.to_string()).is_some() {
            return Err(invalid("Cannot provide multiple Tags with the same key"));
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(ApiError::with_message(
            S3Code::BadRequest,
            "Object tags cannot be greater than 10",
        ));
    }
    Ok(tags)
}

/// S3's limit of tags per object.
const MAX_TAGS: usize = 10;

/// `Content-MD5` as raw bytes; not base64 of 16 bytes → `InvalidDigest`.
pub fn content_md5(headers: &HeaderMap) -> Result<Option<[u8; 16]>, ApiError> {
    let Some(value) = headers.get("content-md5") else {
        return Ok(None);
    };
    let decoded = value
        .to_str()
        .ok()
        .and_then(|v| BASE64.decode(v.trim()).ok())
        .ok_or_else(|| ApiError::new(S3Code::InvalidDigest))?;
    let digest: [u8; 16] = decoded
        .try_into()
        .map_err(|_| ApiError::new(S3Code::InvalidDigest))?;
    Ok(Some(digest))
}

/// The algorithm named by `x-amz-sdk-checksum-algorithm` or
/// `x-amz-checksum-algorithm` (CreateMultipartUpload, CopyObject).
pub fn requested_checksum_algorithm(
    headers: &HeaderMap,
) -> Result<Option<ChecksumAlgorithm>, ApiError> {
    for name in ["x-amz-sdk-checksum-algorithm", "x-amz-checksum-algorithm"] {
        if let Some(value) = headers.get(name) {
            let value = value.to_str().unwrap_or("");
            return ChecksumAlgorithm::parse(value.trim())
                .map(Some)
                .ok_or_else(|| {
                    ApiError::with_message(
                        S3Code::InvalidRequest,
                        format!("Value for {name} header is invalid."),
                    )
                });
        }
    }
    Ok(None)
}

/// Base64 of the big-endian digest of `bytes`, as S3 shows checksums.
pub fn compute_checksum(algorithm: ChecksumAlgorithm, bytes: &[u8]) -> String {
    use sha1::Digest as _;
    match algorithm {
        ChecksumAlgorithm::Crc32 => BASE64.encode(crc32fast::hash(bytes).to_be_bytes()),
        ChecksumAlgorithm::Crc32c => {
            let crc = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, bytes) as u32;
            BASE64.encode(crc.to_be_bytes())
        }
        ChecksumAlgorithm::Crc64Nvme => {
            let crc = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, bytes);
            BASE64.encode(crc.to_be_bytes())
        }
        ChecksumAlgorithm::Sha1 => BASE64.encode(sha1::Sha1::digest(bytes)),
        ChecksumAlgorithm::Sha256 => BASE64.encode(sha2::Sha256::digest(bytes)),
    }
}

/// Verifies a small body the handler read itself (DeleteObjects, bucket
/// configuration PUTs). `required`: S3 insists on Content-MD5 or a checksum.
pub fn verify_small_body(
    body: &[u8],
    md5: Option<[u8; 16]>,
    checksum: Option<&(ChecksumAlgorithm, ExpectedChecksum)>,
    required: bool,
) -> Result<(), ApiError> {
    use md5::Digest as _;
    if required && md5.is_none() && checksum.is_none() {
        return Err(ApiError::with_message(
            S3Code::InvalidRequest,
            "Missing required header for this request: Content-MD5",
        ));
    }
    if let Some(expected) = md5 {
        if md5::Md5::digest(body).as_slice() != expected {
            return Err(ApiError::new(S3Code::BadDigest));
        }
    }
    if let Some((algorithm, expected)) = checksum {
        let Some(expected) = expected.value() else {
            return Err(ApiError::with_message(
                S3Code::InvalidRequest,
                format!(
                    "The x-amz-checksum-{} trailer was not received",
                    algorithm.header_suffix()
                ),
            ));
        };
        if compute_checksum(*algorithm, body) != expected.trim() {
            return Err(ApiError::with_message(
                S3Code::BadDigest,
                format!(
                    "The {} you specified did not match the calculated checksum.",
                    algorithm.name()
                ),
            ));
        }
    }
    Ok(())
}

fn insert(headers: &mut HeaderMap, name: impl header::IntoHeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// `Last-Modified` text: an HTTP date.
pub fn http_date(at: std::time::SystemTime) -> String {
    httpdate::fmt_http_date(at)
}

/// The headers GET and HEAD return for an object (not length or range).
pub fn object_headers(headers: &mut HeaderMap, info: &ObjectInfo) {
    let attributes = &info.attributes;
    insert(headers, header::ETAG, &quote_etag(&info.etag));
    insert(
        headers,
        header::LAST_MODIFIED,
        &http_date(info.last_modified),
    );
    insert(
        headers,
        header::CONTENT_TYPE,
        attributes
            .content_type
            .as_deref()
            .unwrap_or(DEFAULT_CONTENT_TYPE),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let optional = [
        (header::CONTENT_ENCODING, &attributes.content_encoding),
        (header::CONTENT_DISPOSITION, &attributes.content_disposition),
        (header::CONTENT_LANGUAGE, &attributes.content_language),
        (header::CACHE_CONTROL, &attributes.cache_control),
        (header::EXPIRES, &attributes.expires),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            insert(headers, name, value);
        }
    }
    for (key, value) in &attributes.user_metadata {
        if let Ok(name) = HeaderName::from_bytes(format!("{META_PREFIX}{key}").as_bytes()) {
            insert(headers, name, value);
        }
    }
    if info.parts_count > 0 {
        insert(
            headers,
            "x-amz-mp-parts-count",
            &info.parts_count.to_string(),
        );
    }
    if !attributes.tags.is_empty() {
        insert(
            headers,
            "x-amz-tagging-count",
            &attributes.tags.len().to_string(),
        );
    }
}

/// `x-amz-checksum-<alg>: value`, and `x-amz-checksum-type`: COMPOSITE for a
/// checksum of part checksums (`value-N`), else FULL_OBJECT, as S3 labels them.
pub fn checksum_header(headers: &mut HeaderMap, checksum: &store::api::Checksum) {
    if let Ok(name) = HeaderName::from_bytes(
        format!("x-amz-checksum-{}", checksum.algorithm.header_suffix()).as_bytes(),
    ) {
        insert(headers, name, &checksum.value_b64);
        let composite = checksum
            .value_b64
            .rsplit_once('-')
            .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        let kind = if composite {
            "COMPOSITE"
        } else {
            "FULL_OBJECT"
        };
        headers.insert("x-amz-checksum-type", HeaderValue::from_static(kind));
    }
}

/// `response-content-type` and friends: header overrides a signed GET may ask for.
pub const RESPONSE_OVERRIDES: [(&str, HeaderName); 6] = [
    ("response-content-type", header::CONTENT_TYPE),
    ("response-content-language", header::CONTENT_LANGUAGE),
    ("response-expires", header::EXPIRES),
    ("response-cache-control", header::CACHE_CONTROL),
    ("response-content-disposition", header::CONTENT_DISPOSITION),
    ("response-content-encoding", header::CONTENT_ENCODING),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn attributes_come_from_content_and_meta_headers() {
        let h = headers(&[
            ("content-type", "text/plain"),
            ("content-encoding", "aws-chunked,gzip"),
            ("cache-control", "max-age=60"),
            ("x-amz-meta-Color", "blue"),
            ("x-amz-meta-size", "10"),
            ("x-amz-tagging", "project=minnow&team=a%20b"),
        ]);
        let a = attributes_from_headers(&h).unwrap();
        assert_eq!(a.content_type.as_deref(), Some("text/plain"));
        assert_eq!(a.content_encoding.as_deref(), Some("gzip"));
        assert_eq!(a.cache_control.as_deref(), Some("max-age=60"));
        assert_eq!(
            a.user_metadata.get("color").map(String::as_str),
            Some("blue")
        );
        assert_eq!(a.user_metadata.len(), 2);
        assert_eq!(a.tags.get("team").map(String::as_str), Some("a b"));
    }

    #[test]
    fn aws_chunked_alone_is_not_stored_as_content_encoding() {
        let a = attributes_from_headers(&headers(&[("content-encoding", "aws-chunked")])).unwrap();
        assert_eq!(a.content_encoding, None);
    }

    #[test]
    fn oversized_metadata_is_refused() {
        let big = "x".repeat(MAX_USER_METADATA);
        let err = attributes_from_headers(&headers(&[("x-amz-meta-k", &big)])).unwrap_err();
        assert_eq!(err.code, S3Code::MetadataTooLarge);
    }

    #[test]
    fn tagging_limits() {
        assert_eq!(
            parse_tagging("a=1&a=2").unwrap_err().code,
            S3Code::InvalidTag
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
        assert!(parse_tagging(&eleven.join("&")).is_err());
        assert_eq!(parse_tagging("").unwrap().len(), 0);
    }

    #[test]
    fn content_md5_must_be_base64_of_16_bytes() {
        assert_eq!(content_md5(&headers(&[])).unwrap(), None);
        let ok = content_md5(&headers(&[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")])).unwrap();
        assert_eq!(hex::encode(ok.unwrap()), "d41d8cd98f00b204e9800998ecf8427e");
        for bad in ["not base64!", "AAAA"] {
            let err = content_md5(&headers(&[("content-md5", bad)])).unwrap_err();
            assert_eq!(err.code, S3Code::InvalidDigest, "{bad}");
        }
    }

    #[test]
    fn checksums_match_known_vectors() {
        // "hello world" digests as S3 reports them.
        assert_eq!(
            compute_checksum(ChecksumAlgorithm::Crc32, b"hello world"),
            "DUoRhQ=="
        );
        assert_eq!(
            compute_checksum(ChecksumAlgorithm::Crc32c, b"hello world"),
            "yZRlqg=="
        );
        assert_eq!(
            compute_checksum(ChecksumAlgorithm::Sha1, b"hello world"),
            "Kq5sNclPz7QV2+lfQIuc6R7oRu0="
        );
        assert_eq!(
            compute_checksum(ChecksumAlgorithm::Sha256, b"hello world"),
            "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="
        );
        assert_eq!(
            compute_checksum(ChecksumAlgorithm::Crc64Nvme, b"hello world").len(),
            12
        );
    }

    #[test]
    fn small_body_verification() {
        let body = b"<Delete/>";
        let crc = compute_checksum(ChecksumAlgorithm::Crc32, body);
        let good = (ChecksumAlgorithm::Crc32, ExpectedChecksum::Known(crc));
        assert!(verify_small_body(body, None, Some(&good), true).is_ok());
        let bad = (
            ChecksumAlgorithm::Crc32,
            ExpectedChecksum::Known("AAAAAA==".into()),
        );
        assert_eq!(
            verify_small_body(body, None, Some(&bad), true)
                .unwrap_err()
                .code,
            S3Code::BadDigest
        );
        assert_eq!(
            verify_small_body(body, None, None, true).unwrap_err().code,
            S3Code::InvalidRequest
        );
        assert!(verify_small_body(body, None, None, false).is_ok());
        use md5::Digest as _;
        let md5: [u8; 16] = md5::Md5::digest(body).into();
        assert!(verify_small_body(body, Some(md5), None, true).is_ok());
        assert_eq!(
            verify_small_body(b"other", Some(md5), None, true)
                .unwrap_err()
                .code,
            S3Code::BadDigest
        );
    }

    #[test]
    fn checksum_headers_label_composite_and_full_object_checksums() {
        let mut h = HeaderMap::new();
        let full = store::api::Checksum {
            algorithm: ChecksumAlgorithm::Crc32,
            value_b64: "DUoRhQ==".into(),
        };
        checksum_header(&mut h, &full);
        assert_eq!(h["x-amz-checksum-crc32"], "DUoRhQ==");
        assert_eq!(h["x-amz-checksum-type"], "FULL_OBJECT");
        let composite = store::api::Checksum {
            algorithm: ChecksumAlgorithm::Sha256,
            value_b64: "abc+/=-12".into(),
        };
        checksum_header(&mut h, &composite);
        assert_eq!(h["x-amz-checksum-sha256"], "abc+/=-12");
        assert_eq!(h["x-amz-checksum-type"], "COMPOSITE");
    }

    #[test]
    fn object_headers_render_attributes_and_defaults() {
        let mut info = ObjectInfo {
            bucket: "b".into(),
            key: "k".into(),
            size: 5,
            etag: "abc-2".into(),
            last_modified: UNIX_EPOCH + Duration::from_secs(784_111_777),
            attributes: ObjectAttributes::default(),
            checksum: None,
            parts_count: 2,
            parts: Vec::new(),
        };
        info.attributes
            .user_metadata
            .insert("color".into(), "blue".into());
        let mut h = HeaderMap::new();
        object_headers(&mut h, &info);
        assert_eq!(h["etag"], "\"abc-2\"");
        assert_eq!(h["last-modified"], "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(h["content-type"], DEFAULT_CONTENT_TYPE);
        assert_eq!(h["x-amz-meta-color"], "blue");
        assert_eq!(h["x-amz-mp-parts-count"], "2");
        assert_eq!(h["accept-ranges"], "bytes");
    }
}

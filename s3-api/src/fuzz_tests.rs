//! Robustness of every parser that reads untrusted input (without nightly
//! or cargo-fuzz): property tests feed arbitrary bytes, token soups and
//! mutations of valid inputs to the aws-chunked decoder,
//! the `Authorization` header and presigned-query parsers, the `Range`,
//! conditional and other request-header parsers, every XML request
//! document, policy JSON and the router. Each must never panic, and each
//! refusal must be the S3 error a client should see — never a 500.
//!
//! Case counts follow `PROPTEST_CASES` (`make fuzz-smoke` raises it); the
//! default keeps this file to a few seconds.

use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use conformance::signing::{PayloadSigning, RequestSigner};
use futures::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use http_body::Frame;
use http_body_util::StreamBody;
use proptest::prelude::*;
use store::api::StoreError;

use crate::auth::{self, Authenticated, StaticSecrets};
use crate::error::{ApiError, S3Code};
use crate::handlers::conditions::{self, Conditions};
use crate::handlers::headers;
use crate::router::{self, Query};
use crate::xml::request::{
    CompleteMultipartUpload, CorsConfiguration, CreateBucketConfiguration, Delete,
};
use iam::policy::{AccessRequest, PolicyDocument, Requester};

const ACCESS_KEY: &str = "fuzzaccess";
const SECRET_KEY: &str = "fuzzsecret-fuzzsecret";

/// Cases per property when `PROPTEST_CASES` is not set: enough to catch a
/// shallow panic, few enough that the file runs in seconds.
const DEFAULT_CASES: u32 = 256;

fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = DEFAULT_CASES;
    }
    // Shrunk failures are printed; files in src/ would only go stale.
    config.failure_persistence = None;
    config
}

fn test_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_790_000_000)
}

/// A refusal a client can act on: a 4xx, or 501 for what minnow lacks.
fn assert_client_error(error: &ApiError) {
    let status = error.status();
    assert!(
        status.is_client_error() || status == http::StatusCode::NOT_IMPLEMENTED,
        "{} ({status}) is not a client error: {}",
        error.code.as_str(),
        error.message
    );
}

fn assert_code_in(error: &ApiError, allowed: &[S3Code]) {
    assert_client_error(error);
    assert!(
        allowed.contains(&error.code),
        "unexpected {}: {}",
        error.code.as_str(),
        error.message
    );
}

// ---------------------------------------------------------------------------
// Input generators

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, u8),
    Remove(usize),
    Replace(usize, u8),
    /// Copies a short run of the input to another place.
    Duplicate(usize, usize, usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Insert(at, b)),
        any::<usize>().prop_map(Edit::Remove),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Replace(at, b)),
        (any::<usize>(), 1usize..16, any::<usize>())
            .prop_map(|(from, len, to)| Edit::Duplicate(from, len, to)),
    ];
    prop::collection::vec(edit, 1..8)
}

fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for edit in edits {
        let len = out.len();
        match *edit {
            Edit::Insert(at, b) => out.insert(at % (len + 1), b),
            Edit::Remove(at) if len > 0 => {
                out.remove(at % len);
            }
            Edit::Replace(at, b) if len > 0 => out[at % len] = b,
            Edit::Duplicate(from, run, to) if len > 0 => {
                let from = from % len;
                let run: Vec<u8> = out[from..(from + run).min(len)].to_vec();
                let to = to % (len + 1);
                out.splice(to..to, run);
            }
            _ => {}
        }
    }
    out
}

/// Bytes: arbitrary, or one of `seeds` with a few random edits.
fn bytes_like(seeds: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..256),
        3 => (0..seeds.len(), edits()).prop_map(move |(i, e)| apply(seeds[i].as_bytes(), &e)),
    ]
    .boxed()
}

/// Text: arbitrary, or one of `seeds` with a few random edits (lossy UTF-8).
fn text_like(seeds: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        1 => any::<String>(),
        3 => bytes_like(seeds).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
    .boxed()
}

/// An XML-ish token soup built from `names`: tags that may or may not
/// balance, text, entities, comments and stray markup.
fn xml_soup(names: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    let token = prop_oneof![
        (0..names.len()).prop_map(move |i| format!("<{}>", names[i])),
        (0..names.len()).prop_map(move |i| format!("</{}>", names[i])),
        (0..names.len()).prop_map(move |i| format!("<{}/>", names[i])),
        "[ -~]{0,12}",
        Just("&amp;".to_string()),
        Just("&bogus;".to_string()),
        Just("<!-- c -->".to_string()),
        Just("<![CDATA[x]]>".to_string()),
        Just("<?xml version=\"1.0\"?>".to_string()),
        Just(" xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"".to_string()),
        "[0-9]{1,25}",
        Just("-1".to_string()),
    ];
    prop::collection::vec(token, 0..40)
        .prop_map(|tokens| tokens.concat().into_bytes())
        .boxed()
}

/// A header value from arbitrary text; `None` when HTTP cannot carry it.
fn header_value(text: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(text).ok()
}

/// Bytes cut into frames at arbitrary points.
fn split_at_points(bytes: &[u8], points: &[usize]) -> Vec<Bytes> {
    let mut cuts: Vec<usize> = points.iter().map(|p| p % (bytes.len() + 1)).collect();
    cuts.push(0);
    cuts.push(bytes.len());
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .map(|w| Bytes::copy_from_slice(&bytes[w[0]..w[1]]))
        .collect()
}

// ---------------------------------------------------------------------------
// Request heads

/// A request head signed by the test kit's signer (`aws-sigv4` underneath)
/// with `payload` as its `x-amz-content-sha256`.
fn signed_head(payload: &str, extra: &[(&str, &str)]) -> http::request::Parts {
    let signer = RequestSigner::new("http://localhost:9000", ACCESS_KEY, SECRET_KEY);
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    let signed = signer.sign_headers(
        "PUT",
        "/bucket/key",
        &extra,
        b"",
        &PayloadSigning::Precomputed(payload.to_string()),
        test_time(),
    );
    let mut builder = http::Request::put("/bucket/key").header("host", "localhost:9000");
    for (name, value) in &signed.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder.body(()).unwrap().into_parts().0
}

fn secrets() -> StaticSecrets {
    StaticSecrets::with_key(ACCESS_KEY, SECRET_KEY)
}

fn head_with(uri: &str, headers: &[(&str, HeaderValue)]) -> Option<http::request::Parts> {
    let mut builder = http::Request::get(uri).header("host", "localhost:9000");
    for (name, value) in headers {
        builder = builder.header(*name, value.clone());
    }
    builder.body(()).ok().map(|r| r.into_parts().0)
}

const AUTH_ERRORS: &[S3Code] = &[
    S3Code::AccessDenied,
    S3Code::AuthorizationHeaderMalformed,
    S3Code::AuthorizationQueryParametersError,
    S3Code::InvalidAccessKeyId,
    S3Code::InvalidArgument,
    S3Code::NotImplemented,
    S3Code::RequestTimeTooSkewed,
    S3Code::SignatureDoesNotMatch,
];

// ---------------------------------------------------------------------------
// aws-chunked bodies

const CHUNKED_SEEDS: &[&str] = &[
    "5\r\nhello\r\n0\r\n\r\n",
    "5;chunk-signature=0000000000000000000000000000000000000000000000000000000000000000\r\nhello\r\n0;chunk-signature=0000000000000000000000000000000000000000000000000000000000000000\r\n\r\n",
    "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n",
    "3\r\nabc\r\n2\r\nde\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:00\r\n\r\n",
    "ffffffffffffffff\r\nx\r\n0\r\n\r\n",
];

/// The body modes an aws-chunked request can announce.
fn chunked_head(mode: u8, decoded_length: usize) -> (http::request::Parts, Authenticated) {
    let length = decoded_length.to_string();
    let trailer = [
        ("x-amz-decoded-content-length", length.as_str()),
        ("x-amz-trailer", "x-amz-checksum-crc32"),
        ("content-encoding", "aws-chunked"),
    ];
    let (payload, extra): (&str, &[(&str, &str)]) = match mode % 3 {
        0 => ("STREAMING-UNSIGNED-PAYLOAD-TRAILER", &trailer),
        1 => ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", &trailer[..1]),
        _ => ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", &trailer),
    };
    let parts = signed_head(payload, extra);
    let authenticated = auth::authenticate(&parts, &secrets(), test_time()).expect("signed head");
    (parts, authenticated)
}

/// Runs `frames` through the verified-body stream; returns the payload or
/// the error the handler would report.
fn decode_body(
    frames: Vec<Bytes>,
    parts: &http::request::Parts,
    authenticated: &Authenticated,
) -> Result<Vec<u8>, ApiError> {
    let body = StreamBody::new(futures::stream::iter(
        frames
            .into_iter()
            .map(|frame| Ok::<_, Infallible>(Frame::data(frame))),
    ));
    let verified = auth::verified_body(body, authenticated, &parts.headers)?;
    futures::executor::block_on(async move {
        let mut stream = verified.stream;
        let mut payload = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(chunk) => payload.extend_from_slice(&chunk),
                Err(error) => {
                    assert!(matches!(error, StoreError::Body(_)), "{error:?}");
                    let failure = verified.failure.get().cloned().expect("failure recorded");
                    return Err(ApiError::from(failure));
                }
            }
        }
        Ok(payload)
    })
}

const CHUNKED_ERRORS: &[S3Code] = &[
    S3Code::InvalidRequest,
    S3Code::IncompleteBody,
    S3Code::SignatureDoesNotMatch,
    S3Code::EntityTooLarge,
    S3Code::InvalidDigest,
    S3Code::BadDigest,
    S3Code::InvalidArgument,
];

/// Encodes `payload` as an unsigned aws-chunked body in chunks of `sizes`.
fn unsigned_chunked(payload: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = payload;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap()).clamp(1, rest.len());
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend_from_slice(&rest[..n]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[n..];
    }
    let crc = crc32fast::hash(payload).to_be_bytes();
    let crc = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, crc);
    out.extend_from_slice(format!("0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n").as_bytes());
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn chunked_decoder_survives_any_bytes_in_any_framing(
        body in bytes_like(CHUNKED_SEEDS),
        points in prop::collection::vec(any::<usize>(), 0..12),
        mode in any::<u8>(),
        declared in 0usize..64,
    ) {
        let (parts, authenticated) = chunked_head(mode, declared);
        if let Err(error) = decode_body(split_at_points(&body, &points), &parts, &authenticated) {
            assert_code_in(&error, CHUNKED_ERRORS);
        }
    }

    #[test]
    fn valid_unsigned_chunked_body_decodes_whole_under_any_framing(
        payload in prop::collection::vec(any::<u8>(), 0..3000),
        sizes in prop::collection::vec(1usize..700, 1..6),
        points in prop::collection::vec(any::<usize>(), 0..16),
    ) {
        let encoded = unsigned_chunked(&payload, &sizes);
        let (parts, authenticated) = chunked_head(0, payload.len());
        let decoded = decode_body(split_at_points(&encoded, &points), &parts, &authenticated);
        prop_assert_eq!(decoded.map_err(|e| e.to_string()), Ok(payload));
    }

    #[test]
    fn mutated_unsigned_chunked_body_is_refused_or_decoded(
        payload in prop::collection::vec(any::<u8>(), 1..600),
        sizes in prop::collection::vec(1usize..200, 1..4),
        edits in edits(),
        points in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let encoded = apply(&unsigned_chunked(&payload, &sizes), &edits);
        let (parts, authenticated) = chunked_head(0, payload.len());
        if let Err(error) = decode_body(split_at_points(&encoded, &points), &parts, &authenticated) {
            assert_code_in(&error, CHUNKED_ERRORS);
        }
    }
}

// ---------------------------------------------------------------------------
// Authorization header and presigned query

const AUTHORIZATION_SEEDS: &[&str] = &[
    "AWS4-HMAC-SHA256 Credential=fuzzaccess/20260921/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
    "AWS4-HMAC-SHA256 Credential=a/b/c/d/e,SignedHeaders=,Signature=",
    "AWS4-ECDSA-P256-SHA256 Credential=x",
    "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
    "AWS4-HMAC-SHA256 Credential=fuzzaccess//us-east-1/s3/aws4_request",
];

const PRESIGN_SEEDS: &[&str] = &[
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=fuzzaccess%2F20260921%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260921T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
    "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256&X-Amz-Credential=x",
    "AWSAccessKeyId=a&Signature=b&Expires=1",
    "X-Amz-Signature=&X-Amz-Expires=99999999999999999999999",
    "X-Amz-Credential=%FF%FE&X-Amz-Date=2026",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn authorization_header_parser_refuses_garbage_with_auth_errors(
        value in bytes_like(AUTHORIZATION_SEEDS),
        with_date in any::<bool>(),
    ) {
        let Ok(value) = HeaderValue::from_bytes(&value) else { return Ok(()); };
        let mut headers = vec![("authorization", value)];
        if with_date {
            headers.push(("x-amz-date", HeaderValue::from_static("20260921T000000Z")));
        }
        let parts = head_with("/bucket/key", &headers).unwrap();
        if let Err(error) = auth::authenticate(&parts, &secrets(), test_time()) {
            assert_code_in(&ApiError::from(error), AUTH_ERRORS);
        }
    }

    #[test]
    fn tampered_signed_header_is_never_accepted_as_another_identity(edits in edits()) {
        let mut parts = signed_head("UNSIGNED-PAYLOAD", &[]);
        let original = parts.headers["authorization"].as_bytes().to_vec();
        let tampered = apply(&original, &edits);
        let Ok(value) = HeaderValue::from_bytes(&tampered) else { return Ok(()); };
        parts.headers.insert("authorization", value);
        match auth::authenticate(&parts, &secrets(), test_time()) {
            Ok(authenticated) => prop_assert_eq!(authenticated.access_key(), Some(ACCESS_KEY)),
            Err(error) => assert_code_in(&ApiError::from(error), AUTH_ERRORS),
        }
    }

    #[test]
    fn presigned_query_parser_refuses_garbage_with_auth_errors(
        query in text_like(PRESIGN_SEEDS),
        path in "/[a-z]{0,5}(/[a-zA-Z0-9%._~-]{0,8}){0,3}",
    ) {
        let Some(parts) = head_with(&format!("{path}?{query}"), &[]) else { return Ok(()); };
        if let Err(error) = auth::authenticate(&parts, &secrets(), test_time()) {
            assert_code_in(&ApiError::from(error), AUTH_ERRORS);
        }
    }

    #[test]
    fn request_body_mode_headers_refuse_garbage_with_client_errors(
        content_sha256 in text_like(&["UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]),
        length in text_like(&["0", "18446744073709551616", "-1", "12"]),
        checksum_name in "x-amz-(checksum-(crc32|crc32c|sha1|sha256|crc64nvme|md5|bogus)|trailer|sdk-checksum-algorithm)",
        checksum in text_like(&["AAAAAA==", "x-amz-checksum-crc32", "CRC32", "=="]),
    ) {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("x-amz-content-sha256", content_sha256.as_str()),
            ("x-amz-decoded-content-length", length.as_str()),
            ("content-length", length.as_str()),
            (checksum_name.as_str(), checksum.as_str()),
        ] {
            if let (Ok(name), Some(value)) = (HeaderName::from_bytes(name.as_bytes()), header_value(value)) {
                headers.insert(name, value);
            }
        }
        let body = http_body_util::Empty::<Bytes>::new();
        if let Err(error) = auth::verified_body(body, &Authenticated::anonymous(), &headers) {
            assert_client_error(&ApiError::from(error));
        }
    }
}

// ---------------------------------------------------------------------------
// Range, conditional and object headers

const RANGE_SEEDS: &[&str] = &[
    "bytes=0-99",
    "bytes=-5",
    "bytes=10-",
    "bytes=5-1",
    "bytes=0-1,3-4",
    "bytes=99999999999999999999-",
    " bytes = 1 - 2 ",
];

const DATE_SEEDS: &[&str] = &[
    "Sun, 06 Nov 1994 08:49:37 GMT",
    "Sunday, 06-Nov-94 08:49:37 GMT",
    "Sun Nov  6 08:49:37 1994",
    "Fri, 31 Dec 9999 23:59:59 GMT",
];

const ETAG_SEEDS: &[&str] = &["\"abc\"", "*", "W/\"abc\"", "\"a\", \"b\"", ""];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn range_parser_yields_only_satisfiable_spans(
        value in text_like(RANGE_SEEDS),
        size in prop_oneof![0u64..200, any::<u64>()],
    ) {
        if let Some(range) = conditions::parse_range(&value) {
            if let Some((first, last)) = conditions::resolve_range(range, size) {
                prop_assert!(first <= last && last < size, "{first}-{last} of {size}");
            }
        }
        let _ = conditions::invalid_range(size, &value);
    }

    #[test]
    fn copy_source_range_parser_refuses_with_invalid_argument(value in text_like(RANGE_SEEDS)) {
        match conditions::parse_copy_source_range(&value) {
            Ok((first, last)) => prop_assert!(first <= last),
            Err(error) => assert_code_in(&error, &[S3Code::InvalidArgument]),
        }
    }

    #[test]
    fn conditional_headers_never_panic(
        values in prop::collection::vec(prop_oneof![text_like(ETAG_SEEDS), text_like(DATE_SEEDS)], 4),
        copy_source in any::<bool>(),
        etag in "[0-9a-f]{0,32}(-[0-9]{1,4})?",
        modified in any::<u32>(),
    ) {
        let prefix = if copy_source { "x-amz-copy-source-" } else { "" };
        let mut headers = HeaderMap::new();
        for (name, value) in ["if-match", "if-none-match", "if-modified-since", "if-unmodified-since"]
            .iter()
            .zip(&values)
        {
            if let Some(value) = header_value(value) {
                headers.insert(HeaderName::from_bytes(format!("{prefix}{name}").as_bytes()).unwrap(), value);
            }
        }
        let conditions = Conditions::from_headers(&headers, prefix);
        let at = UNIX_EPOCH + Duration::from_secs(u64::from(modified));
        let _ = conditions.evaluate(&etag, at);
        let _ = conditions.evaluate_copy_source(&etag, at);
    }

    #[test]
    fn object_headers_refuse_garbage_with_client_errors(
        names in prop::collection::vec("(x-amz-meta-[a-z0-9-]{0,12}|content-(type|md5|encoding|disposition|language)|cache-control|expires|x-amz-tagging|x-amz-storage-class|x-amz-checksum-algorithm|x-amz-sdk-checksum-algorithm)", 0..8),
        values in prop::collection::vec(text_like(&["a=b&c=d", "1B2M2Y8AsgTpgAmY7PhCfg==", "STANDARD", "CRC32", "%ZZ=1"]), 8),
    ) {
        let mut headers = HeaderMap::new();
        for (name, value) in names.iter().zip(&values) {
            if let (Ok(name), Some(value)) = (HeaderName::from_bytes(name.as_bytes()), header_value(value)) {
                headers.append(name, value);
            }
        }
        if let Err(error) = headers::attributes_from_headers(&headers) {
            assert_client_error(&error);
        }
        if let Err(error) = headers::content_md5(&headers) {
            assert_code_in(&error, &[S3Code::InvalidDigest]);
        }
        if let Err(error) = headers::requested_checksum_algorithm(&headers) {
            assert_client_error(&error);
        }
        for value in &values {
            if let Err(error) = headers::parse_tagging(value) {
                assert_client_error(&error);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// XML request documents

const XML_SEEDS: &[&str] = &[
    "<Delete><Quiet>true</Quiet><Object><Key> a b </Key></Object><Object><Key>c</Key><VersionId>null</VersionId></Object></Delete>",
    "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"abc\"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>x</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part></CompleteMultipartUpload>",
    "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>",
    "<CORSConfiguration><CORSRule><AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>",
    "<LifecycleConfiguration><Rule><ID>r</ID><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>",
    "<LifecycleConfiguration><Rule><Status>Enabled</Status><Filter><And><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule><Rule><ID>abort</ID><Status>Disabled</Status><Filter></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>",
];

const XML_NAMES: &[&str] = &[
    "Delete",
    "Quiet",
    "Object",
    "Key",
    "VersionId",
    "CompleteMultipartUpload",
    "Part",
    "PartNumber",
    "ETag",
    "ChecksumCRC32",
    "CreateBucketConfiguration",
    "LocationConstraint",
    "CORSConfiguration",
    "CORSRule",
    "AllowedOrigin",
    "AllowedMethod",
    "AllowedHeader",
    "ExposeHeader",
    "MaxAgeSeconds",
    "ID",
    "LifecycleConfiguration",
    "Rule",
    "Status",
    "Filter",
    "Prefix",
    "And",
    "Tag",
    "Value",
    "Expiration",
    "Days",
    "Date",
    "ExpiredObjectDeleteMarker",
    "NoncurrentVersionExpiration",
    "NoncurrentDays",
    "AbortIncompleteMultipartUpload",
    "DaysAfterInitiation",
    "Transition",
    "ObjectSizeGreaterThan",
];

fn xml_input() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        2 => bytes_like(XML_SEEDS),
        1 => xml_soup(XML_NAMES),
    ]
    .boxed()
}

const XML_ERRORS: &[S3Code] = &[
    S3Code::MalformedXML,
    S3Code::InvalidArgument,
    S3Code::InvalidRequest,
];

/// The mutations start from documents each parser accepts.
#[test]
fn xml_and_policy_seeds_are_accepted_documents() {
    Delete::parse(XML_SEEDS[0].as_bytes()).unwrap();
    CompleteMultipartUpload::parse(XML_SEEDS[1].as_bytes()).unwrap();
    CreateBucketConfiguration::parse(XML_SEEDS[2].as_bytes()).unwrap();
    CorsConfiguration::parse(XML_SEEDS[3].as_bytes()).unwrap();
    for seed in &XML_SEEDS[4..] {
        lifecycle::LifecycleConfiguration::from_xml(seed.as_bytes()).unwrap();
    }
    for seed in &POLICY_SEEDS[..2] {
        PolicyDocument::parse(seed.as_bytes()).unwrap();
    }
    let (parts, authenticated) = chunked_head(0, 5);
    let frames = vec![Bytes::from_static(CHUNKED_SEEDS[2].as_bytes())];
    assert_eq!(
        decode_body(frames, &parts, &authenticated).unwrap(),
        b"hello"
    );
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn delete_document_parser_refuses_with_malformed_xml(xml in xml_input()) {
        match Delete::parse(&xml) {
            Ok(doc) => prop_assert!(!doc.objects.is_empty() && doc.objects.len() <= 1000),
            Err(error) => assert_code_in(&error, &[S3Code::MalformedXML]),
        }
    }

    #[test]
    fn complete_multipart_document_parser_refuses_with_malformed_xml(xml in xml_input()) {
        match CompleteMultipartUpload::parse(&xml) {
            Ok(doc) => prop_assert!(!doc.parts.is_empty()),
            Err(error) => assert_code_in(&error, &[S3Code::MalformedXML]),
        }
    }

    #[test]
    fn create_bucket_document_parser_refuses_with_malformed_xml(xml in xml_input()) {
        if let Err(error) = CreateBucketConfiguration::parse(&xml) {
            assert_code_in(&error, &[S3Code::MalformedXML]);
        }
    }

    #[test]
    fn cors_document_parser_refuses_with_s3_errors(xml in xml_input()) {
        if let Err(error) = CorsConfiguration::parse(&xml) {
            assert_code_in(&error, XML_ERRORS);
        }
    }

    #[test]
    fn lifecycle_document_parser_refuses_with_s3_errors(xml in xml_input()) {
        match lifecycle::LifecycleConfiguration::from_xml(&xml) {
            // What was accepted renders back to a document it accepts again.
            Ok(config) => prop_assert!(lifecycle::LifecycleConfiguration::from_xml(config.to_xml().as_bytes()).is_ok()),
            Err(error) => assert_code_in(&ApiError::from(error), XML_ERRORS),
        }
    }

    #[test]
    fn well_formedness_check_refuses_with_malformed_xml(xml in xml_input()) {
        if let Err(error) = crate::xml::check_well_formed(&xml) {
            assert_code_in(&error, &[S3Code::MalformedXML]);
        }
    }
}

// ---------------------------------------------------------------------------
// Policy JSON

const POLICY_SEEDS: &[&str] = &[
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::bucket/*"]}]}"#,
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"x","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::*"}]}"#,
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringEquals":{"s3:prefix":"a"}}}]}"#,
    r#"{"Statement":[]}"#,
    r#"[1,2,{"a":null}]"#,
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn policy_parser_refuses_with_malformed_policy_or_not_implemented(
        json in bytes_like(POLICY_SEEDS),
        action in "s3:[A-Za-z*]{0,12}",
        bucket in "[a-z0-9.-]{0,12}",
        key in prop::option::of("[ -~]{0,16}"),
    ) {
        match PolicyDocument::parse(&json) {
            Ok(doc) => {
                let request = AccessRequest { action: &action, bucket: Some(&bucket), key: key.as_deref() };
                let _ = doc.evaluate(Requester::Anonymous, &request);
                let _ = doc.validate_for_bucket(&bucket);
                prop_assert!(PolicyDocument::parse(doc.to_json().as_bytes()).is_ok());
            }
            Err(error) => assert_code_in(
                &ApiError::from(error),
                &[S3Code::MalformedPolicy, S3Code::NotImplemented],
            ),
        }
    }
}

const POST_POLICY_SEEDS: &[&str] = &[
    r#"{"expiration":"2030-01-01T00:00:00.000Z","conditions":[{"bucket":"b"},["starts-with","$key","u/"],["content-length-range",1,1024],["eq","$Content-Type","text/plain"]]}"#,
    r#"{"expiration":"2001-01-01T00:00:00Z","conditions":[{"success_action_status":201},["eq","$x-amz-meta-a",""]]}"#,
    r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range","0","99999999999999999999"]]}"#,
];

proptest! {
    #![proptest_config(config())]

    /// The browser-form policy: base64 of anything, or of mutated policy
    /// documents, is a policy or 400 InvalidPolicyDocument; checking any
    /// form against an accepted policy answers, never panics.
    #[test]
    fn post_policy_parser_refuses_with_invalid_policy_document(
        json in bytes_like(POST_POLICY_SEEDS),
        raw in any::<bool>(),
        fields in prop::collection::vec(("[a-z$-]{0,12}", "[ -~]{0,12}"), 0..6),
    ) {
        use base64::Engine as _;
        use crate::handlers::post_policy::PostPolicy;
        let encoded = if raw {
            String::from_utf8_lossy(&json).into_owned()
        } else {
            base64::engine::general_purpose::STANDARD.encode(&json)
        };
        match PostPolicy::parse(&encoded) {
            Ok(policy) => {
                if let Err(error) = policy.check(&fields, test_time()) {
                    assert_code_in(&ApiError::from(error), &[S3Code::AccessDenied]);
                }
            }
            Err(error) => assert_code_in(&ApiError::from(error), &[S3Code::InvalidPolicyDocument]),
        }
    }
}

// ---------------------------------------------------------------------------
// Router

const QUERY_SEEDS: &[&str] = &[
    "uploads",
    "uploadId=abc&partNumber=1",
    "partNumber=0&uploadId=x",
    "partNumber=99999999999999999999&uploadId=x",
    "list-type=2&prefix=a%20b&delimiter=%2F&max-keys=-1",
    "delete",
    "location&versioning&acl&cors&lifecycle&policy&tagging",
    "a=%ZZ&b=%FF",
    "versionId=null&select&select-type=2",
];

fn method() -> BoxedStrategy<Method> {
    prop_oneof![
        Just(Method::GET),
        Just(Method::HEAD),
        Just(Method::PUT),
        Just(Method::POST),
        Just(Method::DELETE),
        Just(Method::OPTIONS),
        Just(Method::PATCH),
        "[A-Z]{1,8}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
    ]
    .boxed()
}

fn path() -> BoxedStrategy<String> {
    let segment = prop_oneof![
        "[a-z0-9.-]{0,12}",
        "[ -~]{0,10}",
        "(%[0-9A-Fa-f]{2}){1,4}",
        Just("%".to_string()),
        Just("%FF%FE".to_string()),
        Just("minio".to_string()),
        Just("health".to_string()),
        Just("admin".to_string()),
        Just("..".to_string()),
    ];
    prop_oneof![
        3 => prop::collection::vec(segment, 0..5).prop_map(|s| format!("/{}", s.join("/"))),
        1 => any::<String>(),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn query_parser_refuses_only_with_invalid_uri(raw in text_like(QUERY_SEEDS)) {
        if let Err(error) = Query::parse(Some(&raw)) {
            assert_code_in(&error, &[S3Code::InvalidURI]);
        }
    }

    #[test]
    fn router_routes_or_refuses_any_request(
        method in method(),
        path in path(),
        raw_query in text_like(QUERY_SEEDS),
        host in prop::option::of(prop_oneof!["[a-z0-9.-]{0,20}(:[0-9]{1,5})?", any::<String>()]),
        virtual_hosts in any::<bool>(),
        has_copy_source in any::<bool>(),
    ) {
        let Ok(query) = Query::parse(Some(&raw_query)) else { return Ok(()); };
        let domains = if virtual_hosts { vec!["s3.example.com".to_string()] } else { Vec::new() };
        match router::route(&method, &path, &query, host.as_deref(), &domains, has_copy_source) {
            Ok(endpoint) => {
                let _ = (endpoint.name(), endpoint.action(), endpoint.bucket(), endpoint.key());
            }
            Err(error) => assert_code_in(
                &error,
                &[S3Code::InvalidURI, S3Code::MethodNotAllowed, S3Code::InvalidArgument],
            ),
        }
    }
}

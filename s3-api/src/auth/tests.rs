//! Auth scenarios: requests signed by the test kit's one signer
//! (`conformance::signing::RequestSigner`, over the SDK's `aws-sigv4`) and
//! AWS documentation vectors must verify; tampering must fail with the exact
//! error; aws-chunked bodies must decode under any framing of their bytes.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use conformance::signing::{PayloadSigning, RequestSigner};
use futures::StreamExt;
use http_body_util::StreamBody;
use hyper::body::Frame;
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use store::api::{ChecksumAlgorithm, ExpectedChecksum};

use super::chunked::{ChunkDecoder, TrailerSlot};
use super::*;

const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn secrets() -> StaticSecrets {
    StaticSecrets::with_key(ACCESS_KEY, SECRET_KEY)
}

/// 2013-05-24T00:00:00Z, the time of the AWS documentation examples.
fn doc_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_369_353_600)
}

fn test_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_790_000_000)
}

/// The test kit's signer for [`ACCESS_KEY`] (region `us-east-1`).
fn signer() -> RequestSigner {
    RequestSigner::new("http://localhost:9000", ACCESS_KEY, SECRET_KEY)
}

fn get(uri: &str, host: &str) -> http::Request<()> {
    http::Request::get(uri)
        .header("host", host)
        .body(())
        .unwrap()
}

fn signed_get(uri: &str) -> http::request::Parts {
    signer()
        .sign_request(
            get(uri, "localhost:9000"),
            b"",
            &PayloadSigning::Sha256,
            test_time(),
        )
        .0
}

fn presigned(uri: &str, expires: Duration) -> http::request::Parts {
    signer().presign_request(get(uri, "localhost:9000"), expires, test_time())
}

fn auth(parts: &http::request::Parts, now: SystemTime) -> Result<Authenticated, AuthError> {
    authenticate(parts, &secrets(), now)
}

fn set_header(parts: &mut http::request::Parts, name: &'static str, value: &str) {
    parts
        .headers
        .insert(name, http::HeaderValue::from_str(value).unwrap());
}

// ---- header signatures ----

#[test]
fn sdk_signed_get_is_accepted() {
    let parts = signed_get("/bucket/key?list-type=2&prefix=a%20b&delimiter=%2F");
    let ok = auth(&parts, test_time()).unwrap();
    assert_eq!(ok.identity, Identity::AccessKey(ACCESS_KEY.into()));
    assert_eq!(ok.access_key(), Some(ACCESS_KEY));
}

#[test]
fn sdk_signed_key_with_reserved_characters_is_accepted() {
    // What the SDK puts on the wire for the key "a b/c+d!e$f(g)é~.txt".
    let parts = signed_get("/bucket/a%20b/c%2Bd%21e%24f%28g%29%C3%A9~.txt?tagging");
    assert!(auth(&parts, test_time()).is_ok());
}

#[test]
fn path_signed_as_sent_without_escaping_is_accepted() {
    // A client that leaves '!' and '=' unescaped and signs the path as sent.
    let parts = signed_get("/bucket/a!b=c");
    assert!(auth(&parts, test_time()).is_ok());
}

#[test]
fn any_region_is_accepted() {
    let (parts, _) = signer().with_region("eu-west-3").sign_request(
        get("/bucket", "localhost:9000"),
        b"",
        &PayloadSigning::Sha256,
        test_time(),
    );
    assert!(auth(&parts, test_time()).is_ok());
}

#[test]
fn virtual_host_style_request_is_accepted() {
    let (parts, _) = signer().sign_request(
        get("/photos/cat.jpg", "mybucket.localhost:9000"),
        b"",
        &PayloadSigning::Sha256,
        test_time(),
    );
    assert!(auth(&parts, test_time()).is_ok());
}

#[test]
fn aws_documentation_get_object_vector_verifies() {
    // "Example: GET Object" of the S3 SigV4 header-auth documentation.
    let mut parts = get("/test.txt", "examplebucket.s3.amazonaws.com")
        .into_parts()
        .0;
    set_header(&mut parts, "range", "bytes=0-9");
    set_header(
        &mut parts,
        "x-amz-content-sha256",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    set_header(&mut parts, "x-amz-date", "20130524T000000Z");
    set_header(
        &mut parts,
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    );
    assert!(auth(&parts, doc_time()).is_ok());
    set_header(&mut parts, "range", "bytes=0-10");
    assert_eq!(
        auth(&parts, doc_time()).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
}

#[test]
fn tampered_header_fails_with_signature_does_not_match() {
    let mut parts = signed_get("/bucket/key");
    // Another time of the same day (the scope still matches); the new time
    // is taken as now so the skew check passes too.
    set_header(&mut parts, "x-amz-date", "20260921T000000Z");
    let now = super::sigv4::parse_amz_date("20260921T000000Z").unwrap();
    assert_eq!(
        auth(&parts, now).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
}

#[test]
fn tampered_query_fails_with_signature_does_not_match() {
    let mut parts = signed_get("/bucket?prefix=a");
    parts.uri = "/bucket?prefix=b".parse().unwrap();
    assert_eq!(
        auth(&parts, test_time()).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
}

#[test]
fn tampered_path_fails_with_signature_does_not_match() {
    let mut parts = signed_get("/bucket/key");
    parts.uri = "/bucket/other".parse().unwrap();
    assert_eq!(
        auth(&parts, test_time()).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
}

#[test]
fn tampered_payload_hash_fails_with_signature_does_not_match() {
    let mut parts = signed_get("/bucket/key");
    set_header(&mut parts, "x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    assert_eq!(
        auth(&parts, test_time()).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
}

#[test]
fn wrong_secret_fails_with_signature_does_not_match() {
    let parts = signed_get("/bucket/key");
    let other = StaticSecrets::with_key(ACCESS_KEY, "not-the-secret");
    assert_eq!(
        authenticate(&parts, &other, test_time()).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
}

// ---- signing-key cache ----

fn signed_get_in(region: &str, secret_key: &str, time: SystemTime) -> http::request::Parts {
    signer()
        .with_credentials(ACCESS_KEY, secret_key)
        .with_region(region)
        .sign_request(
            get("/bucket/key", "localhost:9000"),
            b"",
            &PayloadSigning::Sha256,
            time,
        )
        .0
}

#[test]
fn requests_in_one_scope_share_one_cached_signing_key() {
    let keys = SigningKeyCache::default();
    let secrets = secrets();
    for path in ["/bucket/a", "/bucket/b", "/bucket/c"] {
        let parts = signed_get(path);
        authenticate_with_cache(&parts, &secrets, &keys, test_time()).unwrap();
    }
    let presigned = presigned("/bucket/d", Duration::from_secs(60));
    authenticate_with_cache(&presigned, &secrets, &keys, test_time()).unwrap();
    assert_eq!(keys.len(), 1);
    let other_region = signed_get_in("eu-west-3", SECRET_KEY, test_time());
    authenticate_with_cache(&other_region, &secrets, &keys, test_time()).unwrap();
    assert_eq!(keys.len(), 2);
}

#[test]
fn user_re_added_with_a_new_secret_does_not_reuse_the_stale_signing_key() {
    let keys = SigningKeyCache::default();
    let secrets = secrets();
    let old_signed = signed_get_in("us-east-1", SECRET_KEY, test_time());
    authenticate_with_cache(&old_signed, &secrets, &keys, test_time()).unwrap();

    secrets.remove(ACCESS_KEY);
    secrets.insert(ACCESS_KEY, "a-brand-new-secret");
    assert_eq!(
        authenticate_with_cache(&old_signed, &secrets, &keys, test_time()).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
    let new_signed = signed_get_in("us-east-1", "a-brand-new-secret", test_time());
    authenticate_with_cache(&new_signed, &secrets, &keys, test_time()).unwrap();
    assert_eq!(
        authenticate_with_cache(&old_signed, &secrets, &keys, test_time()).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
    assert_eq!(keys.len(), 1);
}

#[test]
fn signing_key_cache_stays_within_its_capacity() {
    let keys = SigningKeyCache::with_capacity(2);
    let secrets = secrets();
    let day = Duration::from_secs(24 * 3600);
    for (i, region) in ["r1", "r2", "r3", "r4", "r1"].iter().enumerate() {
        let at = test_time() + day * (i as u32 % 2);
        let parts = signed_get_in(region, SECRET_KEY, at);
        authenticate_with_cache(&parts, &secrets, &keys, at).unwrap();
        assert!(keys.len() <= 2, "{} keys cached", keys.len());
    }
}

#[test]
fn unknown_access_key_fails_with_invalid_access_key_id() {
    let parts = signed_get("/bucket/key");
    let other = StaticSecrets::with_key("someone-else", SECRET_KEY);
    assert_eq!(
        authenticate(&parts, &other, test_time()).unwrap_err(),
        AuthError::InvalidAccessKeyId
    );
}

#[test]
fn clock_skew_over_fifteen_minutes_fails() {
    let parts = signed_get("/bucket/key");
    let skew = Duration::from_secs(15 * 60 + 1);
    assert_eq!(
        auth(&parts, test_time() + skew).unwrap_err(),
        AuthError::RequestTimeTooSkewed
    );
    assert_eq!(
        auth(&parts, test_time() - skew).unwrap_err(),
        AuthError::RequestTimeTooSkewed
    );
    assert!(auth(&parts, test_time() + Duration::from_secs(14 * 60)).is_ok());
}

#[test]
fn malformed_authorization_headers_are_reported() {
    let cases = [
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3, SignedHeaders=host, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/2013-05-24/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=xyz",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256Credential=x",
        "Bearer abc",
    ];
    for value in cases {
        let mut parts = get("/bucket", "localhost").into_parts().0;
        set_header(&mut parts, "x-amz-date", "20130524T000000Z");
        set_header(&mut parts, "authorization", value);
        assert!(
            matches!(
                auth(&parts, doc_time()),
                Err(AuthError::AuthorizationHeaderMalformed(_))
            ),
            "{value}: {:?}",
            auth(&parts, doc_time())
        );
    }
}

#[test]
fn sigv4a_is_not_implemented() {
    let value = "AWS4-ECDSA-P256-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/s3/aws4_request, SignedHeaders=host, Signature=00";
    let mut parts = get("/bucket", "localhost").into_parts().0;
    set_header(&mut parts, "authorization", value);
    assert!(matches!(
        auth(&parts, doc_time()),
        Err(AuthError::NotImplemented(_))
    ));
}

#[test]
fn missing_date_is_access_denied() {
    let mut parts = signed_get("/bucket/key");
    parts.headers.remove("x-amz-date");
    assert!(matches!(
        auth(&parts, test_time()),
        Err(AuthError::AccessDenied(_))
    ));
}

#[test]
fn unsigned_host_is_access_denied() {
    let mut parts = get("/bucket", "localhost").into_parts().0;
    set_header(&mut parts, "x-amz-date", "20130524T000000Z");
    set_header(&mut parts, "authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    assert!(matches!(
        auth(&parts, doc_time()),
        Err(AuthError::AccessDenied(_))
    ));
}

#[test]
fn no_signature_is_anonymous() {
    let parts = get("/bucket/key?prefix=x", "localhost").into_parts().0;
    let ok = auth(&parts, test_time()).unwrap();
    assert_eq!(ok.identity, Identity::Anonymous);
    assert!(ok.is_anonymous());
}

#[test]
fn header_and_presigned_query_together_are_refused() {
    let mut parts = presigned("/bucket/key", Duration::from_secs(60));
    set_header(&mut parts, "authorization", "AWS4-HMAC-SHA256 Credential=x");
    assert!(matches!(
        auth(&parts, test_time()),
        Err(AuthError::InvalidArgument(_))
    ));
}

// ---- presigned URLs ----

#[test]
fn sdk_presigned_url_is_accepted() {
    let parts = presigned(
        "/bucket/my%20key.txt?versionId=null",
        Duration::from_secs(3600),
    );
    assert!(parts.uri.query().unwrap().contains("X-Amz-Signature="));
    let ok = auth(&parts, test_time() + Duration::from_secs(3599)).unwrap();
    assert_eq!(ok.identity, Identity::AccessKey(ACCESS_KEY.into()));
}

#[test]
fn expired_presigned_url_is_access_denied() {
    let parts = presigned("/bucket/key", Duration::from_secs(60));
    assert_eq!(
        auth(&parts, test_time() + Duration::from_secs(61)).unwrap_err(),
        AuthError::AccessDenied("Request has expired".into())
    );
}

#[test]
fn presigned_url_from_the_future_is_access_denied() {
    let parts = presigned("/bucket/key", Duration::from_secs(60));
    assert!(matches!(
        auth(&parts, test_time() - Duration::from_secs(3600)),
        Err(AuthError::AccessDenied(_))
    ));
}

#[test]
fn presigned_expiry_over_a_week_is_a_query_error() {
    let parts = presigned("/bucket/key", Duration::from_secs(3600));
    let query = parts
        .uri
        .query()
        .unwrap()
        .replace("X-Amz-Expires=3600", "X-Amz-Expires=604801");
    let mut parts = parts;
    parts.uri = format!("/bucket/key?{query}").parse().unwrap();
    assert!(matches!(
        auth(&parts, test_time()),
        Err(AuthError::AuthorizationQueryParametersError(_))
    ));
}

#[test]
fn presigned_url_with_tampered_query_fails() {
    let parts = presigned(
        "/bucket/key?response-content-type=text%2Fplain",
        Duration::from_secs(60),
    );
    let query = parts
        .uri
        .query()
        .unwrap()
        .replace("text%2Fplain", "text%2Fhtml");
    let mut parts = parts;
    parts.uri = format!("/bucket/key?{query}").parse().unwrap();
    assert_eq!(
        auth(&parts, test_time()).unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
}

#[test]
fn presigned_url_missing_parameters_is_a_query_error() {
    let mut parts = get("/bucket/key", "localhost").into_parts().0;
    parts.uri = "/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00"
        .parse()
        .unwrap();
    assert!(matches!(
        auth(&parts, test_time()),
        Err(AuthError::AuthorizationQueryParametersError(_))
    ));
}

#[test]
fn aws_documentation_presigned_vector_verifies() {
    // "Example: GET Object" of the S3 query-string (presigned) documentation.
    let mut parts = get("/test.txt", "examplebucket.s3.amazonaws.com")
        .into_parts()
        .0;
    parts.uri = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404".parse().unwrap();
    assert!(auth(&parts, doc_time() + Duration::from_secs(3600)).is_ok());
}

// ---- bodies ----

type TestBody =
    StreamBody<futures::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

fn body_of(frames: Vec<Bytes>) -> TestBody {
    StreamBody::new(futures::stream::iter(
        frames
            .into_iter()
            .map(|b| Ok(Frame::data(b)))
            .collect::<Vec<_>>(),
    ))
}

/// Drains a verified body: the payload, and the error that ended it, if any.
async fn drain(body: &mut VerifiedBody) -> (Vec<u8>, Option<String>) {
    let mut out = Vec::new();
    while let Some(item) = body.stream.next().await {
        match item {
            Ok(data) => out.extend_from_slice(&data),
            Err(e) => return (out, Some(e.to_string())),
        }
    }
    (out, None)
}

fn put_parts(content_sha256: &str, extra: &[(&'static str, &str)]) -> http::request::Parts {
    let mut request = http::Request::put("/bucket/key")
        .header("host", "localhost:9000")
        .body(())
        .unwrap();
    for (name, value) in extra {
        request
            .headers_mut()
            .insert(*name, http::HeaderValue::from_str(value).unwrap());
    }
    let payload = match content_sha256 {
        "UNSIGNED-PAYLOAD" => PayloadSigning::Unsigned,
        other => PayloadSigning::Precomputed(other.to_string()),
    };
    signer().sign_request(request, b"", &payload, test_time()).0
}

#[tokio::test]
async fn signed_sha256_body_streams_through() {
    let payload = b"hello, minnow".to_vec();
    let sha = hex::encode(Sha256::digest(&payload));
    let parts = put_parts(&sha, &[("content-length", "13")]);
    let auth = auth(&parts, test_time()).unwrap();
    let mut body = verified_body(
        body_of(vec![
            Bytes::from_static(b"hello, "),
            Bytes::from_static(b"minnow"),
        ]),
        &auth,
        &parts.headers,
    )
    .unwrap();
    assert_eq!(body.decoded_length, Some(13));
    let (out, err) = drain(&mut body).await;
    assert_eq!(out, payload);
    assert_eq!(err, None);
    assert!(body.failure.get().is_none());
}

#[tokio::test]
async fn sha256_mismatch_fails_at_end_of_body() {
    let sha = hex::encode(Sha256::digest(b"expected"));
    let parts = put_parts(&sha, &[]);
    let auth = auth(&parts, test_time()).unwrap();
    let mut body = verified_body(
        body_of(vec![Bytes::from_static(b"tampered")]),
        &auth,
        &parts.headers,
    )
    .unwrap();
    let (_, err) = drain(&mut body).await;
    assert!(err.is_some());
    assert_eq!(body.failure.get(), Some(&AuthError::ContentSha256Mismatch));
}

#[tokio::test]
async fn unsigned_payload_with_checksum_header_is_known() {
    let parts = put_parts(
        "UNSIGNED-PAYLOAD",
        &[
            ("x-amz-checksum-crc32", "DUoRhQ=="),
            ("content-length", "3"),
        ],
    );
    let auth = auth(&parts, test_time()).unwrap();
    let mut body = verified_body(
        body_of(vec![Bytes::from_static(b"abc")]),
        &auth,
        &parts.headers,
    )
    .unwrap();
    match &body.checksum {
        Some((ChecksumAlgorithm::Crc32, ExpectedChecksum::Known(v))) => assert_eq!(v, "DUoRhQ=="),
        other => panic!("unexpected checksum {other:?}"),
    }
    assert_eq!(drain(&mut body).await, (b"abc".to_vec(), None));
}

#[test]
fn checksum_header_of_wrong_length_or_bad_base64_is_invalid_checksum_value() {
    for bad in ["AAAAAAAA", "not base64!"] {
        let parts = put_parts("UNSIGNED-PAYLOAD", &[("x-amz-checksum-crc32", bad)]);
        let auth = auth(&parts, test_time()).unwrap();
        match verified_body(body_of(vec![]), &auth, &parts.headers) {
            Err(AuthError::InvalidChecksumValue(name)) => {
                assert_eq!(name, "x-amz-checksum-crc32", "{bad}")
            }
            other => panic!("{bad}: {:?}", other.err()),
        }
    }
}

#[test]
fn unknown_payload_mode_is_invalid_argument() {
    let parts = put_parts("NOT-A-HASH", &[]);
    let auth = auth(&parts, test_time()).unwrap();
    assert!(matches!(
        verified_body(body_of(vec![]), &auth, &parts.headers),
        Err(AuthError::InvalidArgument(_))
    ));
}

#[tokio::test]
async fn transport_error_is_incomplete_body() {
    let parts = put_parts("UNSIGNED-PAYLOAD", &[]);
    let auth = auth(&parts, test_time()).unwrap();
    let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = vec![
        Ok(Frame::data(Bytes::from_static(b"abc"))),
        Err(std::io::Error::other("connection reset")),
    ];
    let mut body = verified_body(
        StreamBody::new(futures::stream::iter(frames)),
        &auth,
        &parts.headers,
    )
    .unwrap();
    let (out, err) = drain(&mut body).await;
    assert_eq!(out, b"abc");
    assert!(err.is_some());
    assert_eq!(body.failure.get(), Some(&AuthError::IncompleteBody));
}

/// An aws-chunked body as the Rust SDK frames it: signed ones by the test
/// kit's signer (chunk and trailer signatures chained from the seed),
/// unsigned ones framed here.
struct ChunkedUpload {
    parts: http::request::Parts,
    encoded: Vec<u8>,
    payload: Vec<u8>,
}

const CRC32_OF_PAYLOAD: &str = "test-crc32-value==";

fn chunked_upload(payload: &[u8], chunk_size: usize, signed: bool, trailer: bool) -> ChunkedUpload {
    let mode = match (signed, trailer) {
        (true, true) => "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        (true, false) => "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        (false, _) => "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    };
    let decoded = payload.len().to_string();
    let mut extra = vec![
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", decoded.as_str()),
    ];
    if trailer {
        extra.push(("x-amz-trailer", "x-amz-checksum-crc32"));
    }
    let mut request = http::Request::put("/bucket/key")
        .header("host", "localhost:9000")
        .body(())
        .unwrap();
    for (name, value) in &extra {
        request
            .headers_mut()
            .insert(*name, http::HeaderValue::from_str(value).unwrap());
    }
    let payload_signing = if signed {
        PayloadSigning::Precomputed(mode.to_string())
    } else {
        PayloadSigning::StreamingUnsignedTrailer
    };
    let (parts, seed) = signer().sign_request(request, b"", &payload_signing, test_time());
    if signed {
        let trailer = trailer.then_some(("x-amz-checksum-crc32", CRC32_OF_PAYLOAD));
        let encoded =
            signer().aws_chunked_signed_body(payload, chunk_size, &seed, test_time(), trailer);
        return ChunkedUpload {
            parts,
            encoded,
            payload: payload.to_vec(),
        };
    }

    let mut encoded = Vec::new();
    let mut chunks: Vec<&[u8]> = payload.chunks(chunk_size).collect();
    chunks.push(b"");
    for chunk in chunks {
        encoded.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        if !chunk.is_empty() {
            encoded.extend_from_slice(chunk);
            encoded.extend_from_slice(b"\r\n");
        }
    }
    if trailer {
        encoded
            .extend_from_slice(format!("x-amz-checksum-crc32:{CRC32_OF_PAYLOAD}\r\n").as_bytes());
    }
    encoded.extend_from_slice(b"\r\n");
    ChunkedUpload {
        parts,
        encoded,
        payload: payload.to_vec(),
    }
}

fn payload_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// Splits `bytes` at the given cut points (any order, any value).
fn frames_at(bytes: &[u8], cuts: &[usize]) -> Vec<Bytes> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut frames = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([bytes.len()]) {
        if cut > start {
            frames.push(Bytes::copy_from_slice(&bytes[start..cut]));
            start = cut;
        }
    }
    frames
}

async fn decode_upload(
    upload: &ChunkedUpload,
    frames: Vec<Bytes>,
) -> (VerifiedBody, Vec<u8>, Option<String>) {
    let auth = auth(&upload.parts, test_time()).unwrap();
    let mut body = verified_body(body_of(frames), &auth, &upload.parts.headers).unwrap();
    let (out, err) = drain(&mut body).await;
    (body, out, err)
}

#[tokio::test]
async fn signed_chunked_body_with_trailer_decodes_and_fills_checksum() {
    let upload = chunked_upload(&payload_of(200_000), 65_536, true, true);
    let (body, out, err) = decode_upload(&upload, vec![Bytes::from(upload.encoded.clone())]).await;
    assert_eq!(err, None);
    assert_eq!(out, upload.payload);
    assert_eq!(body.decoded_length, Some(200_000));
    match &body.checksum {
        Some((ChecksumAlgorithm::Crc32, checksum @ ExpectedChecksum::Deferred(_))) => {
            assert_eq!(checksum.value().as_deref(), Some(CRC32_OF_PAYLOAD))
        }
        other => panic!("unexpected checksum {other:?}"),
    }
}

#[tokio::test]
async fn signed_chunked_body_without_trailer_decodes() {
    let upload = chunked_upload(&payload_of(70_000), 65_536, true, false);
    let (body, out, err) = decode_upload(&upload, vec![Bytes::from(upload.encoded.clone())]).await;
    assert_eq!(err, None);
    assert_eq!(out, upload.payload);
    assert!(body.checksum.is_none());
}

#[tokio::test]
async fn unsigned_chunked_body_with_trailer_decodes() {
    let upload = chunked_upload(&payload_of(100_000), 65_536, false, true);
    let (body, out, err) =
        decode_upload(&upload, frames_at(&upload.encoded, &[1, 7, 65_540])).await;
    assert_eq!(err, None);
    assert_eq!(out, upload.payload);
    assert_eq!(
        body.checksum.unwrap().1.value().as_deref(),
        Some(CRC32_OF_PAYLOAD)
    );
}

#[tokio::test]
async fn empty_signed_chunked_body_decodes() {
    let upload = chunked_upload(b"", 65_536, true, true);
    let (_, out, err) = decode_upload(&upload, vec![Bytes::from(upload.encoded.clone())]).await;
    assert_eq!(err, None);
    assert!(out.is_empty());
}

fn replace_bytes(encoded: &[u8], from: &str, to: &str) -> Vec<u8> {
    let at = encoded
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .expect("marker present");
    [&encoded[..at], to.as_bytes(), &encoded[at + from.len()..]].concat()
}

fn flip(encoded: &mut [u8], after: &str) {
    let at = encoded
        .windows(after.len())
        .position(|w| w == after.as_bytes())
        .expect("marker present")
        + after.len();
    encoded[at] = if encoded[at] == b'0' { b'1' } else { b'0' };
}

#[tokio::test]
async fn bad_chunk_signature_fails_before_end_of_stream() {
    let mut upload = chunked_upload(&payload_of(100_000), 65_536, true, true);
    let mut encoded = upload.encoded.clone();
    flip(&mut encoded, "chunk-signature=");
    upload.encoded = encoded;
    let (body, out, err) = decode_upload(&upload, vec![Bytes::from(upload.encoded.clone())]).await;
    assert!(err.is_some());
    assert!(
        out.len() < 65_536,
        "the forged chunk is not handed on whole"
    );
    assert_eq!(body.failure.get(), Some(&AuthError::SignatureDoesNotMatch));
}

#[tokio::test]
async fn tampered_chunk_data_fails_with_signature_does_not_match() {
    let mut upload = chunked_upload(&payload_of(100_000), 65_536, true, false);
    let header_len = upload.encoded.iter().position(|&b| b == b'\n').unwrap() + 1;
    upload.encoded[header_len + 1000] ^= 0xff;
    let (body, _, err) = decode_upload(&upload, vec![Bytes::from(upload.encoded.clone())]).await;
    assert!(err.is_some());
    assert_eq!(body.failure.get(), Some(&AuthError::SignatureDoesNotMatch));
}

#[tokio::test]
async fn bad_trailer_signature_fails() {
    let mut upload = chunked_upload(&payload_of(1000), 65_536, true, true);
    flip(&mut upload.encoded, "x-amz-trailer-signature:");
    let (body, _, err) = decode_upload(&upload, vec![Bytes::from(upload.encoded.clone())]).await;
    assert!(err.is_some());
    assert_eq!(body.failure.get(), Some(&AuthError::SignatureDoesNotMatch));
    match &body.checksum {
        Some((_, checksum)) => {
            assert_eq!(checksum.value(), None, "unverified trailer not handed on")
        }
        None => panic!("checksum slot expected"),
    }
}

#[tokio::test]
async fn tampered_trailer_value_fails() {
    let mut upload = chunked_upload(&payload_of(1000), 65_536, true, true);
    upload.encoded = replace_bytes(&upload.encoded, CRC32_OF_PAYLOAD, "AAAAAAAAAAAAAAAAAA");
    let (body, _, err) = decode_upload(&upload, vec![Bytes::from(upload.encoded.clone())]).await;
    assert!(err.is_some());
    assert_eq!(body.failure.get(), Some(&AuthError::SignatureDoesNotMatch));
}

#[tokio::test]
async fn missing_trailer_is_malformed_trailer() {
    let upload = chunked_upload(&payload_of(1000), 65_536, false, true);
    let encoded = replace_bytes(
        &upload.encoded,
        &format!("x-amz-checksum-crc32:{CRC32_OF_PAYLOAD}\r\n"),
        "",
    );
    let frames = vec![Bytes::from(encoded)];
    let (body, _, err) = decode_upload(&upload, frames).await;
    assert!(err.is_some());
    assert!(
        matches!(body.failure.get(), Some(AuthError::MalformedTrailer(_))),
        "{:?}",
        body.failure.get()
    );
}

#[tokio::test]
async fn truncated_chunked_bodies_fail_with_incomplete_body() {
    let upload = chunked_upload(&payload_of(70_000), 65_536, true, true);
    let trailer_start = upload
        .encoded
        .windows(b"x-amz-checksum".len())
        .position(|w| w == b"x-amz-checksum")
        .unwrap();
    for cut in [0, 5, 100, 65_600, 65_700, 70_100, trailer_start + 3] {
        let (body, _, err) = decode_upload(
            &upload,
            vec![Bytes::copy_from_slice(&upload.encoded[..cut])],
        )
        .await;
        assert!(err.is_some(), "cut at {cut} accepted");
        assert!(
            matches!(
                body.failure.get(),
                Some(AuthError::IncompleteBody | AuthError::MalformedTrailer(_))
            ),
            "cut at {cut}: {:?}",
            body.failure.get()
        );
    }
}

#[tokio::test]
async fn oversized_chunk_is_malformed() {
    let mut upload = chunked_upload(b"", 65_536, false, false);
    upload.encoded = b"1000001\r\nabc".to_vec();
    let (body, _, err) = decode_upload(&upload, vec![Bytes::from(upload.encoded.clone())]).await;
    assert!(err.is_some());
    assert!(matches!(
        body.failure.get(),
        Some(AuthError::MalformedChunkedEncoding(_))
    ));
}

#[tokio::test]
async fn garbage_framing_is_malformed() {
    let upload = chunked_upload(b"", 65_536, false, true);
    for garbage in [&b"zz\r\n"[..], b"3\r\nabcXY", b"3\nabc\r\n"] {
        let (body, _, err) = decode_upload(&upload, vec![Bytes::copy_from_slice(garbage)]).await;
        assert!(err.is_some());
        assert!(
            matches!(
                body.failure.get(),
                Some(AuthError::MalformedChunkedEncoding(_))
            ),
            "{:?}",
            body.failure.get()
        );
    }
}

#[test]
fn missing_decoded_length_is_missing_content_length() {
    let upload = chunked_upload(b"abc", 65_536, true, false);
    let auth = auth(&upload.parts, test_time()).unwrap();
    let mut headers = upload.parts.headers.clone();
    headers.remove("x-amz-decoded-content-length");
    assert_eq!(
        verified_body(body_of(vec![]), &auth, &headers).unwrap_err(),
        AuthError::MissingContentLength
    );
}

#[test]
fn anonymous_signed_streaming_is_access_denied() {
    let upload = chunked_upload(b"abc", 65_536, true, false);
    assert!(matches!(
        verified_body(
            body_of(vec![]),
            &Authenticated::anonymous(),
            &upload.parts.headers
        ),
        Err(AuthError::AccessDenied(_))
    ));
}

#[test]
fn aws_documentation_chunked_upload_vector_verifies() {
    // "Example: PUT Object" of the S3 chunked-upload (streaming) documentation:
    // 65536 + 1024 bytes of 'a', signed in two chunks plus the final chunk.
    let mut parts = http::Request::put("/examplebucket/chunkObject.txt")
        .header("host", "s3.amazonaws.com")
        .header("x-amz-date", "20130524T000000Z")
        .header("x-amz-storage-class", "REDUCED_REDUNDANCY")
        .header("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        .header("content-encoding", "aws-chunked")
        .header("x-amz-decoded-content-length", "66560")
        .header("content-length", "66824")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    set_header(&mut parts, "authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
    let auth = auth(&parts, doc_time()).unwrap();
    let mut encoded = Vec::new();
    encoded.extend_from_slice(b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n");
    encoded.extend_from_slice(&[b'a'; 65536]);
    encoded.extend_from_slice(b"\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n");
    encoded.extend_from_slice(&[b'a'; 1024]);
    encoded.extend_from_slice(b"\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n");
    assert_eq!(encoded.len(), 66824);
    let mut decoder = ChunkDecoder::new(auth.signing.clone(), false, None);
    let mut input = Bytes::from(encoded);
    let mut out = 0;
    while !input.is_empty() {
        if let Some(data) = decoder.decode(&mut input).unwrap() {
            out += data.len();
        }
    }
    decoder.finish().unwrap();
    assert_eq!(out, 66560);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn chunked_decoding_is_independent_of_frame_boundaries(
        len in 0usize..150_000,
        chunk_size in prop::sample::select(vec![8_192usize, 65_536]),
        signed in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..40),
    ) {
        let upload = chunked_upload(&payload_of(len), chunk_size, signed, true);
        let auth = auth(&upload.parts, test_time()).unwrap();
        let slot = Arc::new(OnceLock::new());
        let mut decoder = ChunkDecoder::new(
            if signed { auth.signing.clone() } else { None },
            true,
            Some(TrailerSlot { name: "x-amz-checksum-crc32".into(), value: slot.clone() }),
        );
        let mut out = Vec::with_capacity(len);
        for mut frame in frames_at(&upload.encoded, &cuts) {
            while !frame.is_empty() {
                if let Some(data) = decoder.decode(&mut frame).unwrap() {
                    prop_assert!(data.len() <= chunk_size);
                    out.extend_from_slice(&data);
                }
            }
        }
        decoder.finish().unwrap();
        prop_assert_eq!(out, upload.payload);
        prop_assert_eq!(slot.get().map(String::as_str), Some(CRC32_OF_PAYLOAD));
    }

    #[test]
    fn truncated_chunked_body_never_completes(
        len in 1usize..20_000,
        cut_fraction in 0.0f64..1.0,
        signed in any::<bool>(),
    ) {
        let upload = chunked_upload(&payload_of(len), 8_192, signed, true);
        // Any cut before the last trailer line's CRLF loses something.
        let cut = ((upload.encoded.len() - 2) as f64 * cut_fraction) as usize;
        let auth = auth(&upload.parts, test_time()).unwrap();
        let slot = Arc::new(OnceLock::new());
        let mut decoder = ChunkDecoder::new(
            if signed { auth.signing.clone() } else { None },
            true,
            Some(TrailerSlot { name: "x-amz-checksum-crc32".into(), value: slot.clone() }),
        );
        let mut input = Bytes::copy_from_slice(&upload.encoded[..cut]);
        let mut failed = false;
        while !input.is_empty() {
            if decoder.decode(&mut input).is_err() {
                failed = true;
                break;
            }
        }
        prop_assert!(failed || decoder.finish().is_err(), "cut {} of {}", cut, upload.encoded.len());
    }
}

// ---- every x-amz-* header must be signed ----

/// A PUT to `/bucket/key` with `signed` headers, signed in the header or
/// presigned (the SDK lists `signed` in SignedHeaders), then `unsigned`
/// headers added after signing, as someone in transit or holding the URL would.
fn put_with_headers(
    presign: bool,
    signed: &[(&str, &str)],
    unsigned: &[(&str, &str)],
) -> http::request::Parts {
    let mut request = http::Request::put("/bucket/key")
        .header("host", "localhost:9000")
        .body(())
        .unwrap();
    for (name, value) in signed {
        request.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_str(value).unwrap(),
        );
    }
    let mut parts = if presign {
        signer().presign_request(request, Duration::from_secs(600), test_time())
    } else {
        signer()
            .sign_request(request, b"", &PayloadSigning::Unsigned, test_time())
            .0
    };
    for (name, value) in unsigned {
        parts.headers.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_str(value).unwrap(),
        );
    }
    parts
}

#[test]
fn header_signed_put_with_an_unsigned_copy_source_is_refused() {
    let parts = put_with_headers(false, &[], &[("x-amz-copy-source", "bucket/private")]);
    assert_eq!(
        auth(&parts, test_time()).unwrap_err(),
        AuthError::UnsignedHeaders(vec!["x-amz-copy-source".into()])
    );
    let api = crate::error::ApiError::from(auth(&parts, test_time()).unwrap_err());
    assert_eq!(api.code.as_str(), "AccessDenied");
    assert_eq!(
        api.message,
        "There were headers present in the request which were not signed"
    );
}

#[test]
fn presigned_put_with_an_unsigned_copy_source_is_refused() {
    let parts = put_with_headers(true, &[], &[("x-amz-copy-source", "bucket/private")]);
    assert_eq!(
        auth(&parts, test_time()).unwrap_err(),
        AuthError::UnsignedHeaders(vec!["x-amz-copy-source".into()])
    );
}

#[test]
fn presigned_put_with_unsigned_metadata_and_tagging_is_refused() {
    let parts = put_with_headers(
        true,
        &[],
        &[("x-amz-meta-owner", "mallory"), ("x-amz-tagging", "a=b")],
    );
    match auth(&parts, test_time()).unwrap_err() {
        AuthError::UnsignedHeaders(mut names) => {
            names.sort();
            assert_eq!(names, ["x-amz-meta-owner", "x-amz-tagging"]);
        }
        other => panic!("expected UnsignedHeaders, got {other:?}"),
    }
}

#[test]
fn signed_amz_headers_are_accepted_in_both_modes() {
    for presign in [false, true] {
        let parts = put_with_headers(
            presign,
            &[
                ("x-amz-copy-source", "bucket/source"),
                ("x-amz-meta-a", "1"),
            ],
            &[],
        );
        assert!(auth(&parts, test_time()).is_ok(), "presign={presign}");
    }
}

#[test]
fn presigned_header_carried_as_a_signed_query_parameter_is_accepted() {
    // SDK presigners may hoist x-amz-* headers into the (signed) query.
    let request = http::Request::put("/bucket/key?x-amz-acl=public-read")
        .header("host", "localhost:9000")
        .body(())
        .unwrap();
    let parts = signer().presign_request(request, Duration::from_secs(600), test_time());
    let mut same = parts.clone();
    set_header(&mut same, "x-amz-acl", "public-read");
    assert!(auth(&same, test_time()).is_ok());
    let mut other = parts;
    set_header(&mut other, "x-amz-acl", "private");
    assert_eq!(
        auth(&other, test_time()).unwrap_err(),
        AuthError::UnsignedHeaders(vec!["x-amz-acl".into()])
    );
}

#[test]
fn headers_the_signature_covers_anyway_need_not_be_listed() {
    // A presigned URL used by a client that also sends its payload mode,
    // and unsigned non-amz headers such as Content-MD5 or Content-Type.
    let parts = put_with_headers(
        true,
        &[],
        &[
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
            ("content-type", "text/plain"),
        ],
    );
    assert!(auth(&parts, test_time()).is_ok());
}

/// Headers a request may carry in the signed-header property below.
const HEADER_POOL: &[(&str, &str)] = &[
    ("x-amz-copy-source", "bucket/private"),
    ("x-amz-meta-owner", "someone"),
    ("x-amz-tagging", "k=v"),
    ("x-amz-acl", "public-read"),
    ("x-amz-checksum-crc32", "DUoRhQ=="),
    ("x-amz-storage-class", "STANDARD"),
    ("x-amz-metadata-directive", "REPLACE"),
    ("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
    ("content-type", "text/plain"),
    ("cache-control", "no-cache"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    /// Whatever headers a request carries and whichever of them its signer
    /// covered, it authenticates exactly when every `x-amz-*` header is signed.
    #[test]
    fn request_authenticates_iff_every_amz_header_is_signed(
        presign in any::<bool>(),
        // Per pool entry: 0 absent, 1 signed, 2 added unsigned.
        states in prop::collection::vec(0u8..3, HEADER_POOL.len()),
    ) {
        let mut signed = Vec::new();
        let mut unsigned = Vec::new();
        for (header, state) in HEADER_POOL.iter().zip(&states) {
            match state {
                1 => signed.push(*header),
                2 => unsigned.push(*header),
                _ => {}
            }
        }
        let parts = put_with_headers(presign, &signed, &unsigned);
        let mut expected: Vec<String> = unsigned
            .iter()
            .filter(|(name, _)| name.starts_with("x-amz-"))
            .map(|(name, _)| name.to_string())
            .collect();
        expected.sort();
        match auth(&parts, test_time()) {
            Ok(_) => prop_assert!(expected.is_empty(), "accepted with unsigned {:?}", expected),
            Err(AuthError::UnsignedHeaders(mut names)) => {
                names.sort();
                prop_assert_eq!(names, expected);
            }
            Err(other) => prop_assert!(false, "unexpected error {:?}", other),
        }
    }
}

// ---- credential scope ----

/// The test kit's signature for `canonical` under `scope_date`/`region`,
/// string to sign dated `timestamp` (the dates may differ, as no SDK signs).
fn hand_signature(canonical: &str, timestamp: &str, scope_date: &str, region: &str) -> String {
    signer()
        .with_region(region)
        .scoped_signature(canonical, timestamp, scope_date)
}

/// A correctly signed GET whose credential scope names `scope_date` while
/// its `x-amz-date` is the test time.
fn header_signed_with_scope(scope_date: &str, region: &str) -> http::request::Parts {
    let timestamp = &format_amz_test_time();
    let canonical = format!(
        "GET\n/bucket/key\n\nhost:localhost:9000\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:{timestamp}\n\nhost;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD"
    );
    let signature = hand_signature(&canonical, timestamp, scope_date, region);
    let mut parts = get("/bucket/key", "localhost:9000").into_parts().0;
    set_header(&mut parts, "x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    set_header(&mut parts, "x-amz-date", timestamp);
    set_header(
        &mut parts,
        "authorization",
        &format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{scope_date}/{region}/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}"),
    );
    parts
}

/// The presigned form of [`header_signed_with_scope`].
fn presigned_with_scope(scope_date: &str) -> http::request::Parts {
    let timestamp = &format_amz_test_time();
    let credential = format!("{ACCESS_KEY}%2F{scope_date}%2Fus-east-1%2Fs3%2Faws4_request");
    let query = format!("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={credential}&X-Amz-Date={timestamp}&X-Amz-Expires=600&X-Amz-SignedHeaders=host");
    let canonical =
        format!("GET\n/bucket/key\n{query}\nhost:localhost:9000\n\nhost\nUNSIGNED-PAYLOAD");
    let signature = hand_signature(&canonical, timestamp, scope_date, "us-east-1");
    let mut parts = get("/bucket/key", "localhost:9000").into_parts().0;
    parts.uri = format!("/bucket/key?{query}&X-Amz-Signature={signature}")
        .parse()
        .unwrap();
    parts
}

#[test]
fn hand_signed_requests_verify_when_the_scope_is_the_request_day() {
    // Guards the two tests below: their requests differ only in the date.
    assert!(auth(
        &header_signed_with_scope("20260921", "us-east-1"),
        test_time()
    )
    .is_ok());
    assert!(auth(&presigned_with_scope("20260921"), test_time()).is_ok());
}

fn format_amz_test_time() -> String {
    let at = time::OffsetDateTime::from(test_time());
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        at.year(),
        at.month() as u8,
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[test]
fn credential_scope_of_another_day_is_authorization_header_malformed() {
    // A signing key leaked for 2020-01-01 must not sign today's requests.
    let parts = header_signed_with_scope("20200101", "us-east-1");
    assert!(matches!(
        auth(&parts, test_time()),
        Err(AuthError::AuthorizationHeaderMalformed(message)) if message.contains("X-Amz-Date")
    ));
}

#[test]
fn presigned_credential_scope_of_another_day_is_a_query_error() {
    let parts = presigned_with_scope("20200101");
    assert!(matches!(
        auth(&parts, test_time()),
        Err(AuthError::AuthorizationQueryParametersError(message)) if message.contains("X-Amz-Date")
    ));
}

#[test]
fn overlong_region_is_refused() {
    let region = "r".repeat(65);
    assert!(matches!(
        auth(&header_signed_with_scope("20260921", &region), test_time()),
        Err(AuthError::AuthorizationHeaderMalformed(_))
    ));
    let region = "r".repeat(64);
    assert!(auth(&header_signed_with_scope("20260921", &region), test_time()).is_ok());
}

#[test]
fn failed_signatures_leave_the_signing_key_cache_alone() {
    // Requests with made-up scopes and bad signatures must not evict real
    // clients' keys; only a verified signature caches its key.
    let keys = SigningKeyCache::with_capacity(4);
    let secrets = secrets();
    for region in ["r1", "r2", "r3", "r4", "r5", "r6"] {
        let mut parts = signed_get_in(region, SECRET_KEY, test_time());
        let authorization = parts.headers["authorization"].to_str().unwrap().to_string();
        let (head, signature) = authorization.rsplit_once("Signature=").unwrap();
        let flipped = if signature.starts_with('0') { "1" } else { "0" };
        set_header(
            &mut parts,
            "authorization",
            &format!("{head}Signature={flipped}{}", &signature[1..]),
        );
        assert_eq!(
            authenticate_with_cache(&parts, &secrets, &keys, test_time()).unwrap_err(),
            AuthError::SignatureDoesNotMatch
        );
    }
    assert_eq!(keys.len(), 0);
    authenticate_with_cache(&signed_get("/bucket/key"), &secrets, &keys, test_time()).unwrap();
    assert_eq!(keys.len(), 1);
}

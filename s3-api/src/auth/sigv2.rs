//! Signature Version 2 as S3 and MinIO check it: `Authorization: AWS
//! AK:signature` and presigned URLs (`AWSAccessKeyId`, `Expires`,
//! `Signature`), an HMAC-SHA1 over the string to sign. Older clients (boto3
//! with `signature_version='s3'`, AWS CLI v1 `s3 presign`) still send it.
//!
//! Every `x-amz-*` header of the request is part of the string to sign
//! (canonicalised amz headers), so, unlike SigV4, no header can ride along
//! unsigned: one added to a signed request breaks its signature. V2 carries
//! no payload hash; a body is checked only against its `Content-MD5` (which
//! is signed) or an `x-amz-content-sha256` the client chose to send.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use super::sigv4::{parse_amz_date, UNSIGNED_PAYLOAD};
use super::{AuthError, Authenticated, Identity, SecretLookup};

const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// Query parameters that name a sub-resource or a response override and
/// so are part of the canonicalised resource (S3's list, as MinIO keeps
/// it), in the sorted order the string to sign lists them.
const SIGNED_SUBRESOURCES: &[&str] = &[
    "acl",
    "cors",
    "delete",
    "encryption",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "notification",
    "partNumber",
    "policy",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "retention",
    "select",
    "select-type",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// Whether a query is a V2 presigned URL (`AWSAccessKeyId` without the V4
/// `X-Amz-Algorithm`).
pub(crate) fn is_presigned(query: &str) -> bool {
    let mut v2 = false;
    for (key, _) in query_pairs(query) {
        match key {
            "X-Amz-Algorithm" => return false,
            "AWSAccessKeyId" => v2 = true,
            _ => {}
        }
    }
    v2
}

/// Verifies `Authorization: AWS <access key>:<base64 HMAC-SHA1>`.
pub(crate) fn verify_header(
    parts: &http::request::Parts,
    authorization: &str,
    secrets: &dyn SecretLookup,
    now: SystemTime,
) -> Result<Authenticated, AuthError> {
    let malformed = |msg: &str| AuthError::AuthorizationHeaderMalformed(msg.to_string());
    let credential = authorization
        .strip_prefix("AWS ")
        .ok_or_else(|| malformed("unsupported authorization algorithm"))?;
    // From the right: the signature is base64 (no ':'), the key may hold one.
    let (access_key, signature) = credential
        .trim()
        .rsplit_once(':')
        .ok_or_else(|| malformed("expected \"AWS <AccessKeyId>:<Signature>\""))?;
    if access_key.is_empty() {
        return Err(malformed("the access key is empty"));
    }
    let secret = secrets
        .secret_key(access_key)
        .ok_or(AuthError::InvalidAccessKeyId)?;
    // `x-amz-date` wins over `Date`; when present the Date line is empty
    // and the timestamp is signed as one of the amz headers.
    let (at, date_line) = match header(parts, "x-amz-date")? {
        Some(value) => (parse_request_date(value), String::new()),
        None => {
            let value = header(parts, "date")?.unwrap_or("");
            (parse_request_date(value), value.to_string())
        }
    };
    let at = at.ok_or_else(|| {
        AuthError::AccessDenied(
            "AWS authentication requires a valid Date or x-amz-date header".into(),
        )
    })?;
    let skew = match now.duration_since(at) {
        Ok(behind) => behind,
        Err(ahead) => ahead.duration(),
    };
    if skew > MAX_CLOCK_SKEW {
        return Err(AuthError::RequestTimeTooSkewed);
    }
    check_either_bucket_form(parts, &date_line, &secret, signature)?;
    authenticated(parts, access_key)
}

/// Verifies a presigned V2 URL: `Expires` (Unix seconds) takes the Date
/// line of the string to sign and bounds the URL's life.
pub(crate) fn verify_presigned(
    parts: &http::request::Parts,
    secrets: &dyn SecretLookup,
    now: SystemTime,
) -> Result<Authenticated, AuthError> {
    let query = parts.uri.query().unwrap_or("");
    let param = |name: &str| {
        query_pairs(query)
            .find(|(key, _)| *key == name)
            .map(|(_, value)| decode(value))
    };
    let (Some(access_key), Some(expires), Some(signature)) = (
        param("AWSAccessKeyId"),
        param("Expires"),
        param("Signature"),
    ) else {
        return Err(AuthError::AccessDenied(
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters".into(),
        ));
    };
    let expires_at: u64 = expires
        .parse()
        .map_err(|_| AuthError::AccessDenied("Invalid date format of header: Expires".into()))?;
    let secret = secrets
        .secret_key(&access_key)
        .ok_or(AuthError::InvalidAccessKeyId)?;
    let now_secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if now_secs > expires_at {
        return Err(AuthError::AccessDenied("Request has expired".into()));
    }
    check_either_bucket_form(parts, &expires, &secret, &signature)?;
    authenticated(parts, &access_key)
}

fn authenticated(
    parts: &http::request::Parts,
    access_key: &str,
) -> Result<Authenticated, AuthError> {
    // A client that promises a SHA-256 gets it checked; streaming
    // (aws-chunked) modes need a V4 seed signature and are refused later.
    let payload = header(parts, "x-amz-content-sha256")?
        .unwrap_or(UNSIGNED_PAYLOAD)
        .to_string();
    Ok(Authenticated {
        identity: Identity::AccessKey(access_key.to_string()),
        signed_payload: Some(payload),
        signing: None,
    })
}

/// A bucket's resource is signed as `/bucket/` by botocore and as the path
/// sent (`/bucket`) by clients that sign the URL as written; both name the
/// same resource, so either signature is accepted.
fn check_either_bucket_form(
    parts: &http::request::Parts,
    date_line: &str,
    secret: &str,
    signature: &str,
) -> Result<(), AuthError> {
    let canonical = string_to_sign(parts, date_line)?;
    match check_signature(secret, &canonical, signature) {
        Ok(()) => Ok(()),
        Err(error) => {
            let path = parts.uri.path();
            let is_bucket = path.len() > 1 && !path[1..].contains('/');
            if !is_bucket {
                return Err(error);
            }
            let as_sent = string_to_sign_with(parts, date_line, BucketResource::AsSent)?;
            check_signature(secret, &as_sent, signature)
        }
    }
}

/// How the resource of a bucket-level request (`/bucket`) is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BucketResource {
    /// `/bucket/`, as botocore signs it.
    WithSlash,
    /// The path exactly as sent.
    AsSent,
}

fn check_signature(secret: &str, string_to_sign: &str, signature: &str) -> Result<(), AuthError> {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(string_to_sign.as_bytes());
    let expected = mac.finalize().into_bytes();
    let given = STANDARD
        .decode(signature.trim())
        .map_err(|_| AuthError::SignatureDoesNotMatch)?;
    if given.len() == expected.len() && bool::from(given.as_slice().ct_eq(expected.as_slice())) {
        Ok(())
    } else {
        Err(AuthError::SignatureDoesNotMatch)
    }
}

/// `Date` / `x-amz-date`: an HTTP date (what V2 clients send), an RFC 2822
/// date with a numeric zone (`+0000`, as in S3's own examples), or the
/// ISO 8601 basic form some send in `x-amz-date`.
fn parse_request_date(value: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(value)
        .ok()
        .or_else(|| {
            time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822)
                .ok()
                .map(SystemTime::from)
        })
        .or_else(|| parse_amz_date(value))
}

fn header<'a>(parts: &'a http::request::Parts, name: &str) -> Result<Option<&'a str>, AuthError> {
    parts
        .headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| AuthError::InvalidArgument(format!("the {name} header is not ASCII")))
        })
        .transpose()
}

/// The V2 string to sign: verb, Content-MD5, Content-Type, the date line
/// (Date, empty when `x-amz-date` is sent, or `Expires` when presigned),
/// the canonicalised `x-amz-*` headers, then the canonicalised resource.
pub(crate) fn string_to_sign(
    parts: &http::request::Parts,
    date_line: &str,
) -> Result<String, AuthError> {
    string_to_sign_with(parts, date_line, BucketResource::WithSlash)
}

fn string_to_sign_with(
    parts: &http::request::Parts,
    date_line: &str,
    bucket_resource: BucketResource,
) -> Result<String, AuthError> {
    let mut out = String::new();
    out.push_str(parts.method.as_str());
    out.push('\n');
    out.push_str(header(parts, "content-md5")?.unwrap_or(""));
    out.push('\n');
    out.push_str(header(parts, "content-type")?.unwrap_or(""));
    out.push('\n');
    out.push_str(date_line);
    out.push('\n');
    // Lower-cased names, sorted; repeated headers join with ','; values
    // trimmed, as S3 canonicalises them.
    let mut amz: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in &parts.headers {
        let name = name.as_str();
        if !name.starts_with("x-amz-") {
            continue;
        }
        let value = value
            .to_str()
            .map_err(|_| AuthError::InvalidArgument(format!("the {name} header is not ASCII")))?
            .trim()
            .to_string();
        match amz.iter_mut().find(|(n, _)| n == name) {
            Some((_, values)) => values.push(value),
            None => amz.push((name.to_string(), vec![value])),
        }
    }
    amz.sort();
    for (name, values) in amz {
        out.push_str(&name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    // The path as sent (percent-encoded, as the client signed it); a
    // bucket's resource is `/bucket/` with or without the slash in the URL.
    let path = parts.uri.path();
    out.push_str(path);
    if bucket_resource == BucketResource::WithSlash && path.len() > 1 && !path[1..].contains('/') {
        out.push('/');
    }
    let query = parts.uri.query().unwrap_or("");
    let mut first = true;
    for name in SIGNED_SUBRESOURCES {
        let Some((_, value)) = query_pairs(query).find(|(key, _)| key == name) else {
            continue;
        };
        out.push(if first { '?' } else { '&' });
        first = false;
        out.push_str(name);
        if !value.is_empty() {
            out.push('=');
            out.push_str(&decode(value));
        }
    }
    Ok(out)
}

fn query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// Percent-decoding only: a raw `+` in a base64 `Signature` is a `+`.
fn decode(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    //! Vectors from the S3 REST authentication (V2) documentation, sent
    //! path-style: the doc's virtual-hosted `johnsmith.s3.amazonaws.com`
    //! requests canonicalise to the same `/johnsmith/...` resource.

    use super::*;
    use crate::auth::{authenticate, StaticSecrets};

    const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn secrets() -> StaticSecrets {
        StaticSecrets::with_key(ACCESS_KEY, SECRET_KEY)
    }

    fn at(http_date: &str) -> SystemTime {
        httpdate::parse_http_date(http_date).unwrap()
    }

    fn request(method: &str, target: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut builder = http::Request::builder().method(method).uri(target);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn auth(parts: &http::request::Parts, now: SystemTime) -> Result<Authenticated, AuthError> {
        authenticate(parts, &secrets(), now)
    }

    #[test]
    fn documented_header_signatures_verify() {
        let get = request(
            "GET",
            "/johnsmith/photos/puppy.jpg",
            &[
                ("date", "Tue, 27 Mar 2007 19:36:42 +0000"),
                (
                    "authorization",
                    "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
                ),
            ],
        );
        let ok = auth(&get, at("Tue, 27 Mar 2007 19:40:00 GMT")).unwrap();
        assert_eq!(ok.access_key(), Some(ACCESS_KEY));

        let put = request(
            "PUT",
            "/johnsmith/photos/puppy.jpg",
            &[
                ("content-type", "image/jpeg"),
                ("content-length", "94328"),
                ("date", "Tue, 27 Mar 2007 21:15:45 +0000"),
                (
                    "authorization",
                    "AWS AKIAIOSFODNN7EXAMPLE:MyyxeRY7whkBe+bq8fHCL/2kKUg=",
                ),
            ],
        );
        assert!(auth(&put, at("Tue, 27 Mar 2007 21:15:45 GMT")).is_ok());

        // x-amz-date replaces Date: the Date line is empty and the
        // timestamp is signed as an amz header; `?acl` is a sub-resource.
        let acl = request(
            "GET",
            "/johnsmith/?acl",
            &[
                ("x-amz-date", "Tue, 27 Mar 2007 19:42:41 +0000"),
                (
                    "authorization",
                    "AWS AKIAIOSFODNN7EXAMPLE:MDA4fuzn7hl2t21+XOQfh4YepEM=",
                ),
            ],
        );
        assert!(auth(&acl, at("Tue, 27 Mar 2007 19:42:41 GMT")).is_ok());
    }

    #[test]
    fn tampered_header_requests_do_not_match() {
        let now = at("Tue, 27 Mar 2007 19:40:00 GMT");
        let good = [
            ("date", "Tue, 27 Mar 2007 19:36:42 +0000"),
            (
                "authorization",
                "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
            ),
        ];
        // Another key, another method, another sub-resource, an added
        // x-amz-* header (V2 signs them all, so none rides along unsigned),
        // a wrong signature.
        let cases: Vec<http::request::Parts> = vec![
            request("GET", "/johnsmith/photos/kitten.jpg", &good),
            request("DELETE", "/johnsmith/photos/puppy.jpg", &good),
            request("GET", "/johnsmith/photos/puppy.jpg?acl", &good),
            request(
                "GET",
                "/johnsmith/photos/puppy.jpg",
                &[good[0], good[1], ("x-amz-copy-source", "/other/secret")],
            ),
            request(
                "GET",
                "/johnsmith/photos/puppy.jpg",
                &[
                    good[0],
                    (
                        "authorization",
                        "AWS AKIAIOSFODNN7EXAMPLE:AAAAs1WEIj+Ydj0vQ697zp+IXMU=",
                    ),
                ],
            ),
        ];
        for parts in cases {
            assert_eq!(
                auth(&parts, now).unwrap_err(),
                AuthError::SignatureDoesNotMatch,
                "{} {}",
                parts.method,
                parts.uri
            );
        }
        let unknown = request(
            "GET",
            "/johnsmith/photos/puppy.jpg",
            &[
                good[0],
                (
                    "authorization",
                    "AWS NOSUCHKEY:bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
                ),
            ],
        );
        assert_eq!(
            auth(&unknown, now).unwrap_err(),
            AuthError::InvalidAccessKeyId
        );
        // Signed long ago: refused by the clock, not by the signature.
        let replayed = request("GET", "/johnsmith/photos/puppy.jpg", &good);
        assert_eq!(
            auth(&replayed, at("Wed, 28 Mar 2007 19:36:42 GMT")).unwrap_err(),
            AuthError::RequestTimeTooSkewed
        );
    }

    #[test]
    fn documented_presigned_url_verifies_until_it_expires() {
        let target = "/johnsmith/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620";
        let parts = request("GET", target, &[]);
        let before = UNIX_EPOCH + Duration::from_secs(1_175_139_000);
        assert_eq!(auth(&parts, before).unwrap().access_key(), Some(ACCESS_KEY));
        let after = UNIX_EPOCH + Duration::from_secs(1_175_139_621);
        assert_eq!(
            auth(&parts, after).unwrap_err(),
            AuthError::AccessDenied("Request has expired".into())
        );
        // Expires is signed: extending it breaks the signature.
        let extended = request("GET", &target.replace("1175139620", "1999999999"), &[]);
        assert_eq!(
            auth(&extended, before).unwrap_err(),
            AuthError::SignatureDoesNotMatch
        );
        // An x-amz-* header added by whoever holds the URL is signed too.
        let with_header = request("GET", target, &[("x-amz-copy-source", "/b/k")]);
        assert_eq!(
            auth(&with_header, before).unwrap_err(),
            AuthError::SignatureDoesNotMatch
        );
    }

    #[test]
    fn subresources_are_canonicalised_in_order_and_other_parameters_are_not() {
        let parts = request(
            "GET",
            "/b/k?versionId=v1&prefix=x&acl&response-content-type=text%2Fplain",
            &[
                ("date", "Tue, 27 Mar 2007 19:36:42 +0000"),
                ("x-amz-meta-b", " 2 "),
                ("x-amz-meta-a", "1"),
            ],
        );
        assert_eq!(
            string_to_sign(&parts, "D").unwrap(),
            "GET\n\n\nD\nx-amz-meta-a:1\nx-amz-meta-b:2\n/b/k?acl&response-content-type=text/plain&versionId=v1"
        );
        // Bucket requests canonicalise to `/bucket/` (botocore signs that).
        let bucket = request("PUT", "/b", &[]);
        assert_eq!(string_to_sign(&bucket, "D").unwrap(), "PUT\n\n\nD\n/b/");
    }
}

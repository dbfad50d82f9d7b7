//! SigV4 for minnow's tools: the headers that sign a request, and
//! presigned URLs. `aws-sigv4` does the cryptography; this module holds the
//! S3 settings (the path signed as sent, encoded once and never normalised;
//! `x-amz-content-sha256` on every header-signed request).

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
    SignatureLocation, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;

use crate::encode::encode_value;

/// The region requests are signed for (minnow accepts any).
pub const SIGNING_REGION: &str = "us-east-1";

/// What `x-amz-content-sha256` says of the body.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// The SHA-256 of these (buffered) bytes.
    Bytes(&'a [u8]),
    /// `UNSIGNED-PAYLOAD`: a body that streams and is not hashed first.
    Unsigned,
}

/// A request that cannot be signed (a URL `aws-sigv4` cannot read).
#[derive(Debug, thiserror::Error)]
#[error("cannot sign a request to {url}: {reason}")]
pub struct SignError {
    /// The URL in question.
    pub url: String,
    /// What the signer said.
    pub reason: String,
}

/// An access key and its secret.
#[derive(Clone, Copy)]
pub struct Keys<'a> {
    /// The access key id.
    pub access_key: &'a str,
    /// Its secret.
    pub secret_key: &'a str,
}

/// What signing adds: headers (header signing) or query parameters
/// (presigning).
struct Signed {
    headers: Vec<(String, String)>,
    params: Vec<(String, String)>,
}

/// Signs in the headers, or with `presign_for` in the query.
fn signed_parts(
    keys: Keys<'_>,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: SignableBody<'_>,
    presign_for: Option<Duration>,
    time: SystemTime,
) -> Result<Signed, SignError> {
    let location = match presign_for {
        Some(_) => SignatureLocation::QueryParams,
        None => SignatureLocation::Headers,
    };
    let error = |e: &dyn std::fmt::Display| SignError {
        url: url.to_string(),
        reason: e.to_string(),
    };
    let identity = Credentials::new(keys.access_key, keys.secret_key, None, None, "minnow").into();
    let mut settings = SigningSettings::default();
    // S3 signs the path as sent: encoded once, never normalised.
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.signature_location = location;
    settings.expires_in = presign_for;
    if matches!(location, SignatureLocation::Headers) {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(SIGNING_REGION)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| error(&e))?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().map(|(k, v)| (*k, v.as_str())),
        body,
    )
    .map_err(|e| error(&e))?;
    let (instructions, _) = sign(signable, &params).map_err(|e| error(&e))?.into_parts();
    let (headers, params) = instructions.into_parts();
    Ok(Signed {
        headers: headers
            .into_iter()
            .map(|h| (h.name().to_string(), h.value().to_string()))
            .collect(),
        params: params
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into_owned()))
            .collect(),
    })
}

/// The headers that sign a request to `url` (`authorization`,
/// `x-amz-date`, `x-amz-content-sha256`); `headers` are signed too and
/// must be sent as given.
pub fn sign_headers(
    keys: Keys<'_>,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    payload: Payload<'_>,
    time: SystemTime,
) -> Result<Vec<(String, String)>, SignError> {
    let body = match payload {
        Payload::Bytes(bytes) => SignableBody::Bytes(bytes),
        Payload::Unsigned => SignableBody::UnsignedPayload,
    };
    Ok(signed_parts(keys, method, url, headers, body, None, time)?.headers)
}

/// `url` (path already encoded, no query) presigned for `method`, valid
/// for `expires` from `time`.
pub fn presigned_url(
    keys: Keys<'_>,
    method: &str,
    url: &str,
    expires: Duration,
    time: SystemTime,
) -> Result<String, SignError> {
    let signed = signed_parts(
        keys,
        method,
        url,
        &[],
        SignableBody::UnsignedPayload,
        Some(expires),
        time,
    )?;
    let query = signed
        .params
        .iter()
        .map(|(k, v)| format!("{}={}", encode_value(k), encode_value(v)))
        .collect::<Vec<_>>()
        .join("&");
    Ok(format!("{url}?{query}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: Keys<'static> = Keys {
        access_key: "AKIAIOSFODNN7EXAMPLE",
        secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    };

    /// 2013-05-24T00:00:00Z, the time of the AWS documentation examples.
    fn doc_time() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600)
    }

    /// AWS's "Example: GET Object" of header-based SigV4 (range header
    /// signed, empty body), whose signature is published.
    #[test]
    fn header_signature_matches_the_aws_get_object_example() {
        let headers = [
            ("host", "examplebucket.s3.amazonaws.com".to_string()),
            ("range", "bytes=0-9".to_string()),
        ];
        let signed = sign_headers(
            KEYS,
            "GET",
            "https://examplebucket.s3.amazonaws.com/test.txt",
            &headers,
            Payload::Bytes(b""),
            doc_time(),
        )
        .unwrap();
        let authorization = &signed.iter().find(|(n, _)| n == "authorization").unwrap().1;
        assert!(
            authorization.ends_with(
                "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
            ),
            "{authorization}"
        );
    }

    /// AWS's presigned-URL example (GET test.txt, 86400 s).
    #[test]
    fn presigned_url_matches_the_aws_example() {
        let url = presigned_url(
            KEYS,
            "GET",
            "https://examplebucket.s3.amazonaws.com/test.txt",
            Duration::from_secs(86_400),
            doc_time(),
        )
        .unwrap();
        assert!(
            url.contains(
                "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
            ),
            "{url}"
        );
    }
}

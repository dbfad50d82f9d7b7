//! SigV4 signing for raw requests (aws-sigv4 does the cryptography), including aws-chunked
//! bodies with chunk and trailer signatures. Broken requests are made by tampering *after*
//! signing, so every failure test starts from a request the server would otherwise accept.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine;

use crate::TEST_REGION;

/// What goes into `x-amz-content-sha256` (and how the body is framed).
#[derive(Clone, Debug)]
pub enum PayloadSigning {
    /// The real SHA-256 of the body.
    Sha256,
    /// `UNSIGNED-PAYLOAD`.
    Unsigned,
    /// A caller-chosen value, signed as if it were right (to test hash mismatches).
    Precomputed(String),
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER` (body must be aws-chunked with signatures).
    StreamingSignedTrailer,
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`.
    StreamingUnsignedTrailer,
}

impl PayloadSigning {
    fn signable<'a>(&'a self, body: &'a [u8]) -> SignableBody<'a> {
        match self {
            PayloadSigning::Sha256 => SignableBody::Bytes(body),
            PayloadSigning::Unsigned => SignableBody::UnsignedPayload,
            PayloadSigning::Precomputed(value) => SignableBody::Precomputed(value.clone()),
            PayloadSigning::StreamingSignedTrailer => SignableBody::StreamingSignedPayloadTrailer,
            PayloadSigning::StreamingUnsignedTrailer => {
                SignableBody::StreamingUnsignedPayloadTrailer
            }
        }
    }
}

/// A signed request ready to send: the headers to add and the seed signature.
#[derive(Clone, Debug)]
pub struct SignedHeaders {
    /// Header name/value pairs to send (includes the caller's headers).
    pub headers: Vec<(String, String)>,
    /// The request signature (the seed for aws-chunked chunk signatures).
    pub signature: String,
    /// The signing time used.
    pub time: SystemTime,
}

/// Signs raw requests for one endpoint and credential pair.
#[derive(Clone, Debug)]
pub struct RequestSigner {
    endpoint: String,
    access_key: String,
    secret_key: String,
    region: String,
}

impl RequestSigner {
    /// A signer for `endpoint` (`http://host:port`).
    pub fn new(endpoint: &str, access_key: &str, secret_key: &str) -> RequestSigner {
        RequestSigner {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            region: TEST_REGION.to_string(),
        }
    }

    /// The same endpoint with other credentials.
    pub fn with_credentials(&self, access_key: &str, secret_key: &str) -> RequestSigner {
        RequestSigner {
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            ..self.clone()
        }
    }

    /// The same signer with another region in its credential scope.
    pub fn with_region(&self, region: &str) -> RequestSigner {
        RequestSigner {
            region: region.to_string(),
            ..self.clone()
        }
    }

    /// Full URL for an already percent-encoded `path_and_query`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.endpoint, path_and_query)
    }

    fn identity(&self) -> Identity {
        Credentials::new(
            &self.access_key,
            &self.secret_key,
            None,
            None,
            "conformance-raw",
        )
        .into()
    }

    fn settings(location: SignatureLocation, expires_in: Option<Duration>) -> SigningSettings {
        let mut settings = SigningSettings::default();
        // S3 signs the path as sent: single-encoded, never normalized.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
        settings.signature_location = location;
        settings.expires_in = expires_in;
        settings
    }

    /// The one place a request is signed: what to add to it, and its signature.
    fn sign_raw(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: SignableBody<'_>,
        settings: SigningSettings,
        time: SystemTime,
    ) -> (aws_sigv4::http_request::SigningInstructions, String) {
        let identity = self.identity();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(time)
            .settings(settings)
            .build()
            .expect("signing params")
            .into();
        let signable = SignableRequest::new(
            method,
            url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            body,
        )
        .expect("signable request");
        sign(signable, &params).expect("sigv4 signing").into_parts()
    }

    /// Signs a request in the Authorization header. `headers` are signed and returned with the
    /// `authorization`, `x-amz-date` and `x-amz-content-sha256` headers added.
    pub fn sign_headers(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(String, String)],
        body: &[u8],
        payload: &PayloadSigning,
        time: SystemTime,
    ) -> SignedHeaders {
        let (instructions, signature) = self.sign_raw(
            method,
            &self.url(path_and_query),
            headers,
            payload.signable(body),
            Self::settings(SignatureLocation::Headers, None),
            time,
        );
        let mut all: Vec<(String, String)> = headers.to_vec();
        for (name, value) in instructions.headers() {
            all.push((name.to_string(), value.to_string()));
        }
        SignedHeaders {
            headers: all,
            signature,
            time,
        }
    }

    /// Signs the head of `request` (method, URI as sent, its headers with
    /// `host`) in the Authorization header and adds the signing headers;
    /// returns the head and the seed signature. For tests of the server's
    /// authenticator that take an `http` request rather than a socket.
    pub fn sign_request(
        &self,
        request: http::Request<()>,
        body: &[u8],
        payload: &PayloadSigning,
        time: SystemTime,
    ) -> (http::request::Parts, String) {
        let settings = Self::settings(SignatureLocation::Headers, None);
        self.sign_http(request, payload.signable(body), settings, time)
    }

    /// Presigns the head of `request` (its headers are signed too) for
    /// `expires_in` from `time`: the signature goes into its query.
    pub fn presign_request(
        &self,
        request: http::Request<()>,
        expires_in: Duration,
        time: SystemTime,
    ) -> http::request::Parts {
        let mut settings = Self::settings(SignatureLocation::QueryParams, Some(expires_in));
        settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::NoHeader;
        self.sign_http(request, SignableBody::UnsignedPayload, settings, time)
            .0
    }

    fn sign_http(
        &self,
        mut request: http::Request<()>,
        body: SignableBody<'_>,
        settings: SigningSettings,
        time: SystemTime,
    ) -> (http::request::Parts, String) {
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(k, v)| {
                let value = v.to_str().expect("ASCII header value");
                (k.as_str().to_string(), value.to_string())
            })
            .collect();
        let (instructions, signature) = self.sign_raw(
            request.method().as_str(),
            &request.uri().to_string(),
            &headers,
            body,
            settings,
            time,
        );
        instructions.apply_to_request_http1x(&mut request);
        (request.into_parts().0, signature)
    }

    /// A presigned URL (query-string SigV4) valid for `expires_in` from `time`.
    pub fn presign_url(
        &self,
        method: &str,
        path: &str,
        expires_in: Duration,
        time: SystemTime,
    ) -> String {
        let mut settings = Self::settings(SignatureLocation::QueryParams, Some(expires_in));
        settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::NoHeader;
        let url = self.url(path);
        let (instructions, _) = self.sign_raw(
            method,
            &url,
            &[],
            SignableBody::UnsignedPayload,
            settings,
            time,
        );
        let mut out = url;
        let mut separator = if out.contains('?') { '&' } else { '?' };
        for (name, value) in instructions.params() {
            out.push(separator);
            separator = '&';
            out.push_str(&percent_encode_query(name));
            out.push('=');
            out.push_str(&percent_encode_query(value));
        }
        out
    }

    /// The signature of a hand-written `canonical_request` dated
    /// `timestamp` (`x-amz-date`) under a credential scope of `scope_date`
    /// (`YYYYMMDD`) and this signer's region. No SDK lets the two dates
    /// differ; tests of the "scope date is the request's day" rule need a
    /// request that is correct in every other way.
    pub fn scoped_signature(
        &self,
        canonical_request: &str,
        timestamp: &str,
        scope_date: &str,
    ) -> String {
        use hmac::{Hmac, Mac};
        use sha2::{Digest, Sha256};
        let hmac = |key: &[u8], data: &str| {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
            mac.update(data.as_bytes());
            mac.finalize().into_bytes().to_vec()
        };
        let key = hmac(format!("AWS4{}", self.secret_key).as_bytes(), scope_date);
        let key = hmac(&key, &self.region);
        let key = hmac(&key, "s3");
        let key = hmac(&key, "aws4_request");
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{timestamp}\n{scope_date}/{}/s3/aws4_request\n{}",
            self.region,
            hex::encode(Sha256::digest(canonical_request.as_bytes()))
        );
        hex::encode(hmac(&key, &string_to_sign))
    }

    /// Encodes `payload` as `aws-chunked` with chunk signatures chained from
    /// `seed_signature`, a zero-length final chunk, and (if given) a signed trailer line
    /// such as `x-amz-checksum-crc32`. Matches what aws-sdk-s3 sends over http://.
    pub fn aws_chunked_signed_body(
        &self,
        payload: &[u8],
        chunk_size: usize,
        seed_signature: &str,
        time: SystemTime,
        trailer: Option<(&str, &str)>,
    ) -> Vec<u8> {
        let identity = self.identity();
        let params: v4::SigningParams<'_, ()> = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(time)
            .settings(())
            .build()
            .expect("chunk signing params");
        let mut out = Vec::with_capacity(payload.len() + 256);
        let mut running = seed_signature.to_string();
        let mut chunks: Vec<&[u8]> = payload.chunks(chunk_size.max(1)).collect();
        chunks.push(&[]);
        for chunk in chunks {
            let bytes = bytes::Bytes::copy_from_slice(chunk);
            let signature = v4::sign_chunk(&bytes, &running, &params)
                .expect("chunk signature")
                .into_parts()
                .1;
            out.extend_from_slice(
                format!("{:X};chunk-signature={}\r\n", chunk.len(), signature).as_bytes(),
            );
            if !chunk.is_empty() {
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            running = signature;
        }
        match trailer {
            Some((name, value)) => {
                let mut headers = aws_smithy_runtime_api::http::Headers::new();
                headers.insert(name.to_string(), value.to_string());
                let signature = v4::sign_trailer(&headers, &running, &params)
                    .expect("trailer signature")
                    .into_parts()
                    .1;
                out.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
                out.extend_from_slice(
                    format!("x-amz-trailer-signature:{signature}\r\n").as_bytes(),
                );
                out.extend_from_slice(b"\r\n");
            }
            None => out.extend_from_slice(b"\r\n"),
        }
        out
    }
}

/// Base64 CRC32 of `data`, as in `x-amz-checksum-crc32`.
pub fn crc32_base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(data).to_be_bytes())
}

/// Base64 of raw bytes (e.g. an MD5 digest for Content-MD5).
pub fn base64_of(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn percent_encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's worked example "Signature Calculations for the Authorization Header: Transferring
    /// Payload in Multiple Chunks": 66,560 bytes of `a` in 64 KiB chunks, signed 2013-05-24.
    #[test]
    fn signer_reproduces_the_aws_streaming_example() {
        let signer = RequestSigner::new(
            "http://s3.amazonaws.com",
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600);
        let headers: Vec<(String, String)> = [
            ("content-encoding", "aws-chunked"),
            ("content-length", "66824"),
            ("x-amz-decoded-content-length", "66560"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let signed = signer.sign_headers(
            "PUT",
            "/examplebucket/chunkObject.txt",
            &headers,
            &[],
            &PayloadSigning::Precomputed("STREAMING-AWS4-HMAC-SHA256-PAYLOAD".to_string()),
            time,
        );
        assert_eq!(
            signed.signature,
            "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
        );

        let payload = vec![b'a'; 66_560];
        let body = signer.aws_chunked_signed_body(&payload, 65_536, &signed.signature, time, None);
        let mut expected = Vec::new();
        expected.extend_from_slice(
            b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n",
        );
        expected.extend_from_slice(&payload[..65_536]);
        expected.extend_from_slice(
            b"\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n",
        );
        expected.extend_from_slice(&payload[65_536..]);
        expected.extend_from_slice(
            b"\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n",
        );
        assert_eq!(body.len(), 66_824);
        assert!(
            body == expected,
            "aws-chunked encoding differs from the AWS example"
        );
    }
}

//! The console's way to the S3 and admin APIs: every call is SigV4-signed
//! with the signed-in identity's own credentials, so the server decides
//! what the identity may do. Small documents go through the CLI's
//! [`s3_api::client::Client`]; object bodies stream both ways through a
//! hyper client, signed with `UNSIGNED-PAYLOAD` (the body is not buffered
//! to hash it). Share links are presigned here for the public S3 URL.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
    SignatureLocation, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use s3_api::client::{Client, ClientConfig, ClientError, SIGNING_REGION};

use crate::ConsoleError;

/// A streamed body on its way to the S3 API.
pub type UpBody = BoxBody<Bytes, hyper::Error>;

/// Longest a share link may live: SigV4 presigned URLs allow seven days.
pub const MAX_SHARE_SECONDS: u64 = 7 * 24 * 3600;

/// Where the S3 API is, for the console's own calls and for share links.
#[derive(Clone)]
pub struct Upstream {
    /// Credential-less template; [`Upstream::client`] adds an identity.
    client: Client,
    streaming: hyper_util::client::legacy::Client<HttpConnector, UpBody>,
    /// `http://host:port` of the local S3 API.
    base: String,
    /// Base URL share links point at (`MINIO_SERVER_URL`).
    public_base: String,
}

/// An access key and its secret, kept only in server memory.
#[derive(Clone)]
pub struct Identity {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

impl Upstream {
    /// `s3_endpoint` is `http://host:port` of the local S3 API; `public_url`
    /// the base share links use (defaults to the endpoint).
    pub fn new(s3_endpoint: &str, public_url: Option<&str>) -> Result<Upstream, ConsoleError> {
        let base = s3_endpoint.trim_end_matches('/').to_string();
        let client = Client::new(ClientConfig {
            endpoint: base.clone(),
            access_key: String::new(),
            secret_key: String::new(),
            timeout: Duration::from_secs(120),
        })
        .map_err(|e| ConsoleError::Config(e.to_string()))?;
        let streaming = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build_http();
        let public_base = public_url
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_else(|| base.clone());
        Ok(Upstream {
            client,
            streaming,
            base,
            public_base,
        })
    }

    /// A document client acting as `identity`.
    pub fn client(&self, identity: &Identity) -> Client {
        self.client
            .with_credentials(&identity.access_key, &identity.secret_key)
    }

    /// Sends a request whose body streams (uploads) or whose answer streams
    /// (downloads). `path` and `query` are already percent-encoded. Returns
    /// the answer whatever its status; the caller reads errors.
    pub async fn stream(
        &self,
        identity: &Identity,
        method: Method,
        path: &str,
        query: &str,
        headers: &[(&str, String)],
        body: UpBody,
    ) -> Result<Response<Incoming>, ConsoleError> {
        let url = if query.is_empty() {
            format!("{}{}", self.base, path)
        } else {
            format!("{}{}?{}", self.base, path, query)
        };
        // The signer adds `x-amz-content-sha256: UNSIGNED-PAYLOAD` itself.
        let signed = signature(
            identity,
            method.as_str(),
            &url,
            headers,
            SignatureLocation::Headers,
            None,
        )?;
        let mut builder = Request::builder().method(method).uri(&url);
        for (name, value) in headers {
            builder = builder.header(*name, value.as_str());
        }
        for (name, value) in signed.headers {
            builder = builder.header(name, value);
        }
        let request = builder
            .body(body)
            .map_err(|e| ConsoleError::BadRequest(format!("cannot build the request: {e}")))?;
        self.streaming.request(request).await.map_err(|e| {
            ConsoleError::Upstream(ClientError::Unreachable {
                endpoint: self.base.clone(),
                reason: e.to_string(),
            })
        })
    }

    /// A presigned GET URL for `path` (encoded) on the public S3 URL,
    /// valid for `expires` (at most [`MAX_SHARE_SECONDS`]).
    pub fn presign_get(
        &self,
        identity: &Identity,
        path: &str,
        expires: Duration,
    ) -> Result<String, ConsoleError> {
        let url = format!("{}{}", self.public_base, path);
        let signed = signature(
            identity,
            "GET",
            &url,
            &[],
            SignatureLocation::QueryParams,
            Some(expires),
        )?;
        let query = signed
            .params
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    s3_api::client::encode_query_value(k),
                    s3_api::client::encode_query_value(v)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        Ok(format!("{url}?{query}"))
    }
}

struct Signed {
    headers: Vec<(String, String)>,
    params: Vec<(String, String)>,
}

fn signature(
    identity: &Identity,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    location: SignatureLocation,
    expires: Option<Duration>,
) -> Result<Signed, ConsoleError> {
    let credentials = Credentials::new(
        &identity.access_key,
        &identity.secret_key,
        None,
        None,
        "minnow-console",
    )
    .into();
    let mut settings = SigningSettings::default();
    // S3 signs the path as sent: encoded once, never normalised.
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.signature_location = location;
    settings.expires_in = expires;
    if matches!(location, SignatureLocation::Headers) {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&credentials)
        .region(SIGNING_REGION)
        .name("s3")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| ConsoleError::BadRequest(format!("signing: {e}")))?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().map(|(k, v)| (*k, v.as_str())),
        SignableBody::UnsignedPayload,
    )
    .map_err(|e| ConsoleError::BadRequest(format!("signing {url}: {e}")))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| ConsoleError::BadRequest(format!("signing: {e}")))?
        .into_parts();
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

//! Request authentication: SigV4 (and V2, for older clients) in the
//! `Authorization` header, presigned URLs of both, and the payload modes (unsigned, signed SHA-256, aws-chunked signed
//! and unsigned with trailers) that turn a request body into a verified
//! [`store::api::ByteStream`].
//!
//! `authenticate` checks the request line and headers only; the body is
//! checked while it streams (`verified_body`), so a PUT never buffers its
//! payload to verify it. A failed body check surfaces as an `Err` item before
//! end-of-stream, which makes the store commit nothing.

mod chunked;
mod payload;
mod post_form;
mod sigv2;
mod sigv4;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::SystemTime;

pub(crate) use payload::checksum_header;
pub use payload::{verified_body, VerifiedBody};
pub(crate) use post_form::verify_post_form;
pub(crate) use sigv4::UNSIGNED_HEADERS_MESSAGE;
pub use sigv4::{SigningKeyCache, MAX_CACHED_SIGNING_KEYS};

/// Finds the secret key of an access key. Implemented by the static root
/// credentials ([`StaticSecrets`]) and by the IAM module.
pub trait SecretLookup: Send + Sync {
    /// The secret key of `access_key`, or `None` if the key is unknown (or disabled).
    fn secret_key(&self, access_key: &str) -> Option<String>;
}

/// A fixed set of access keys, e.g. just the root credentials.
#[derive(Default)]
pub struct StaticSecrets {
    keys: RwLock<HashMap<String, String>>,
}

impl StaticSecrets {
    /// An empty set: every signed request fails with `InvalidAccessKeyId`.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set holding one key pair.
    pub fn with_key(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        let secrets = Self::new();
        secrets.insert(access_key, secret_key);
        secrets
    }

    /// Adds or replaces a key pair.
    pub fn insert(&self, access_key: impl Into<String>, secret_key: impl Into<String>) {
        self.keys
            .write()
            .expect("secrets lock")
            .insert(access_key.into(), secret_key.into());
    }

    /// Removes a key; returns whether it existed.
    pub fn remove(&self, access_key: &str) -> bool {
        self.keys
            .write()
            .expect("secrets lock")
            .remove(access_key)
            .is_some()
    }
}

impl std::fmt::Debug for StaticSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.keys.read().expect("secrets lock");
        f.debug_struct("StaticSecrets")
            .field("access_keys", &keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SecretLookup for StaticSecrets {
    fn secret_key(&self, access_key: &str) -> Option<String> {
        self.keys
            .read()
            .expect("secrets lock")
            .get(access_key)
            .cloned()
    }
}

/// Who sent a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// No signature at all (bucket policies may still allow the request).
    Anonymous,
    /// A request signed with this access key, signature verified.
    AccessKey(String),
}

/// The outcome of [`authenticate`]: who signed, plus what the body decoder
/// needs to continue the signature chain of an aws-chunked body.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub identity: Identity,
    /// The `x-amz-content-sha256` value the signature covers (`None` when anonymous).
    signed_payload: Option<String>,
    /// Key, scope and seed signature for chunk and trailer signatures.
    signing: Option<sigv4::SigningContext>,
}

impl Authenticated {
    /// An anonymous request (no signature).
    pub fn anonymous() -> Self {
        Self {
            identity: Identity::Anonymous,
            signed_payload: None,
            signing: None,
        }
    }

    /// The verified access key, if the request was signed.
    pub fn access_key(&self) -> Option<&str> {
        match &self.identity {
            Identity::Anonymous => None,
            Identity::AccessKey(key) => Some(key),
        }
    }

    /// Whether the request carried no signature.
    pub fn is_anonymous(&self) -> bool {
        self.identity == Identity::Anonymous
    }
}

/// Authenticates a request from its head: SigV4 or V2 in the
/// `Authorization` header, a presigned query (`X-Amz-Signature`... or V2's
/// `AWSAccessKeyId`...), or anonymous when it has neither. Both versions
/// resolve to the same [`Identity`], so policy checks do not depend on
/// how a request was signed. `now` is the server clock (tests pass a fixed time).
pub fn authenticate(
    parts: &http::request::Parts,
    secrets: &dyn SecretLookup,
    now: SystemTime,
) -> Result<Authenticated, AuthError> {
    authenticate_with_cache(parts, secrets, &SigningKeyCache::with_capacity(0), now)
}

/// [`authenticate`], taking signing keys from `keys` (and filling it), so
/// that a request costs one HMAC for its signature rather than five.
pub fn authenticate_with_cache(
    parts: &http::request::Parts,
    secrets: &dyn SecretLookup,
    keys: &SigningKeyCache,
    now: SystemTime,
) -> Result<Authenticated, AuthError> {
    let authorization = parts.headers.get(http::header::AUTHORIZATION);
    let presigned = sigv4::is_presigned(parts.uri.query().unwrap_or(""));
    match (authorization, presigned) {
        (Some(_), true) => Err(AuthError::InvalidArgument(
            "only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified".into(),
        )),
        (Some(value), false) => {
            let value = value.to_str().map_err(|_| {
                AuthError::AuthorizationHeaderMalformed("the header is not ASCII".into())
            })?;
            if value.starts_with("AWS ") {
                sigv2::verify_header(parts, value, secrets, now)
            } else {
                sigv4::verify_header(parts, value, secrets, keys, now)
            }
        }
        (None, true) if sigv2::is_presigned(parts.uri.query().unwrap_or("")) => {
            sigv2::verify_presigned(parts, secrets, now)
        }
        (None, true) => sigv4::verify_presigned(parts, secrets, keys, now),
        (None, false) => Ok(Authenticated::anonymous()),
    }
}

/// Why a request failed authentication or its body failed verification.
/// `crate::error` maps each variant to its S3 code and status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// 403 AccessDenied (message says why, e.g. "Request has expired").
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// 403 AccessDenied "There were headers present in the request which
    /// were not signed", naming the `x-amz-*` headers the signature misses.
    #[error("headers present in the request were not signed: {}", .0.join(", "))]
    UnsignedHeaders(Vec<String>),
    /// 403 InvalidAccessKeyId.
    #[error("the access key id does not exist")]
    InvalidAccessKeyId,
    /// 403 SignatureDoesNotMatch (header, presign, chunk or trailer signature).
    #[error("the request signature does not match")]
    SignatureDoesNotMatch,
    /// 403 RequestTimeTooSkewed.
    #[error("the difference between the request time and the server's time is too large")]
    RequestTimeTooSkewed,
    /// 400 AuthorizationHeaderMalformed.
    #[error("the authorization header is malformed: {0}")]
    AuthorizationHeaderMalformed(String),
    /// 400 AuthorizationQueryParametersError (bad presign query, expiry > 7 days...).
    #[error("the presigned query is malformed: {0}")]
    AuthorizationQueryParametersError(String),
    /// 400 XAmzContentSHA256Mismatch: the signed payload hash does not match the body.
    #[error("the x-amz-content-sha256 does not match the body")]
    ContentSha256Mismatch,
    /// 400 InvalidArgument (e.g. an unknown x-amz-content-sha256 value).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// 400 RequestTimeout: the body made no progress for the idle timeout.
    #[error("the request body made no progress in time")]
    RequestTimeout,
    /// 400 IncompleteBody: fewer bytes than declared.
    #[error("the body ended before its declared length")]
    IncompleteBody,
    /// 400 MalformedChunkedEncoding / InvalidChunkSizeError-ish framing errors.
    #[error("the aws-chunked body is malformed: {0}")]
    MalformedChunkedEncoding(String),
    /// 400 MalformedTrailerError: trailer missing or unparseable.
    #[error("the trailer is malformed: {0}")]
    MalformedTrailer(String),
    /// 400 BadDigest (x-amz-checksum-* header or trailer does not match).
    #[error("the {0} checksum does not match the body")]
    BadChecksum(String),
    /// 400 InvalidRequest: an `x-amz-checksum-*` value that is not base64 of
    /// the algorithm's digest length (the header's name is kept).
    #[error("the value of {0} is not valid")]
    InvalidChecksumValue(String),
    /// 411 MissingContentLength.
    #[error("content length is required")]
    MissingContentLength,
    /// 400 EntityTooLarge / request too large.
    #[error("the request body is too large")]
    EntityTooLarge,
    /// 501 NotImplemented (e.g. SigV4a, POST policy forms).
    #[error("not implemented: {0}")]
    NotImplemented(String),
}

//! SigV4 request signatures as S3 checks them: canonical request (paths are
//! URI-encoded once, never double-encoded or normalised), string to sign,
//! signing key, for the `Authorization` header and for presigned URLs. Also
//! the signing context that chunk and trailer signatures continue from.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{AuthError, Authenticated, Identity, SecretLookup};

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const SIGV4A_ALGORITHM: &str = "AWS4-ECDSA-P256-SHA256";
/// Hex SHA-256 of the empty string.
pub(crate) const EMPTY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);
/// S3 refuses presigned URLs valid for more than seven days.
const MAX_PRESIGN_EXPIRES_SECS: u64 = 7 * 24 * 3600;
const MISSING_PRESIGN_PARAMS: &str = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.";
/// S3's answer when the credential scope's date is not the request's day: a
/// signature is valid for the day it names, so an old scope (and its
/// signing key) cannot sign today's requests.
const SCOPE_DATE_MISMATCH: &str = "Invalid credential date. Date is not the same as X-Amz-Date.";
/// Longest region accepted in a credential scope. AWS's longest region names
/// are about 15 bytes; the bound keeps scope strings (and signing-key cache
/// entries) small whatever a client sends.
const MAX_REGION_LEN: usize = 64;
const AMZ_DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

type HmacSha256 = Hmac<Sha256>;

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// What a verified request's body decoder needs to check chunk and trailer
/// signatures: they chain from the request (seed) signature under the same
/// key and scope.
#[derive(Clone)]
pub(crate) struct SigningContext {
    signing_key: [u8; 32],
    /// `yyyyMMddTHHmmssZ` as it appeared in the string to sign.
    timestamp: String,
    /// `date/region/service/aws4_request`.
    scope: String,
    pub(crate) seed_signature: [u8; 32],
}

impl std::fmt::Debug for SigningContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningContext")
            .field("timestamp", &self.timestamp)
            .field("scope", &self.scope)
            .field("seed_signature", &hex::encode(self.seed_signature))
            .finish_non_exhaustive()
    }
}

/// The SigV4 signing key of `secret_key` for the credential's scope: four
/// chained HMACs over date, region, service and `aws4_request`.
pub(crate) fn derive_signing_key(secret_key: &str, credential: &Credential<'_>) -> [u8; 32] {
    let date_key = hmac_sha256(
        format!("AWS4{secret_key}").as_bytes(),
        credential.date.as_bytes(),
    );
    let region_key = hmac_sha256(&date_key, credential.region.as_bytes());
    let service_key = hmac_sha256(&region_key, credential.service.as_bytes());
    hmac_sha256(&service_key, b"aws4_request")
}

/// Most signing keys [`SigningKeyCache`] holds. A key lives for one day
/// of one scope, so this is room for that many access keys x regions.
pub const MAX_CACHED_SIGNING_KEYS: usize = 1024;

/// Signing keys by credential scope, so a request costs one HMAC for its
/// signature instead of five. Keyed by access key, date, region and
/// service; each entry also keeps the secret it was derived from, and a
/// lookup whose secret differs (the user was re-added with a new one)
/// derives afresh and replaces it. Bounded by [`MAX_CACHED_SIGNING_KEYS`]:
/// when full, entries of other dates go first, then everything.
pub struct SigningKeyCache {
    capacity: usize,
    entries: Mutex<HashMap<String, CachedSigningKey>>,
}

struct CachedSigningKey {
    secret_key: String,
    signing_key: [u8; 32],
}

impl Default for SigningKeyCache {
    fn default() -> Self {
        Self::with_capacity(MAX_CACHED_SIGNING_KEYS)
    }
}

impl std::fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl SigningKeyCache {
    /// A cache holding at most `capacity` keys (0: derive every time).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How many signing keys are cached.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no signing key is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedSigningKey>> {
        // The map holds no invariant a panicking holder could break.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The signing key of `secret_key` for `credential`'s scope, cached or
    /// derived. Nothing is cached here: [`Self::remember`] does that once a
    /// signature made with the key verified, so requests with made-up scopes
    /// and bad signatures cannot evict the keys of real clients.
    pub(crate) fn signing_key(&self, secret_key: &str, credential: &Credential<'_>) -> [u8; 32] {
        if self.capacity == 0 {
            return derive_signing_key(secret_key, credential);
        }
        if let Some(cached) = self.lock().get(&Self::scope_of(credential)) {
            if bool::from(cached.secret_key.as_bytes().ct_eq(secret_key.as_bytes())) {
                return cached.signing_key;
            }
        }
        derive_signing_key(secret_key, credential)
    }

    fn scope_of(credential: &Credential<'_>) -> String {
        // Scope fields never contain '/' (the credential is split from the
        // right), so joining them with '/' names each scope uniquely.
        format!(
            "{}/{}/{}/{}",
            credential.access_key, credential.date, credential.region, credential.service
        )
    }

    /// Caches `signing_key` for `credential`'s scope; called only after a
    /// request signed with it verified.
    pub(crate) fn remember(
        &self,
        secret_key: &str,
        credential: &Credential<'_>,
        signing_key: [u8; 32],
    ) {
        if self.capacity == 0 {
            return;
        }
        let scope = Self::scope_of(credential);
        let mut entries = self.lock();
        if entries
            .get(&scope)
            .is_some_and(|cached| cached.signing_key == signing_key)
        {
            return;
        }
        if entries.len() >= self.capacity && !entries.contains_key(&scope) {
            let today = format!("/{}/", credential.date);
            entries.retain(|scope, _| scope.contains(&today));
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(
            scope,
            CachedSigningKey {
                secret_key: secret_key.to_string(),
                signing_key,
            },
        );
    }
}

impl SigningContext {
    pub(crate) fn new(
        signing_key: [u8; 32],
        credential: &Credential<'_>,
        timestamp: String,
    ) -> Self {
        Self {
            signing_key,
            timestamp,
            scope: format!(
                "{}/{}/{}/aws4_request",
                credential.date, credential.region, credential.service
            ),
            seed_signature: [0; 32],
        }
    }

    fn request_signature(&self, canonical_request: &[u8]) -> [u8; 32] {
        let creq_hash = hex::encode(Sha256::digest(canonical_request));
        let mut mac = self.mac();
        for part in [
            ALGORITHM,
            "\n",
            &self.timestamp,
            "\n",
            &self.scope,
            "\n",
            &creq_hash,
        ] {
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    /// Signature of a chained string to sign (`AWS4-HMAC-SHA256-PAYLOAD` for
    /// chunks, `AWS4-HMAC-SHA256-TRAILER` for trailers): algorithm, timestamp,
    /// scope, previous signature, then `hashes` (already `\n`-joined).
    pub(crate) fn chained_signature(
        &self,
        algorithm: &str,
        previous: &[u8; 32],
        hashes: &str,
    ) -> [u8; 32] {
        let mut previous_hex = [0u8; 64];
        hex::encode_to_slice(previous, &mut previous_hex).expect("64 hex digits");
        let mut mac = self.mac();
        mac.update(algorithm.as_bytes());
        mac.update(b"\n");
        mac.update(self.timestamp.as_bytes());
        mac.update(b"\n");
        mac.update(self.scope.as_bytes());
        mac.update(b"\n");
        mac.update(&previous_hex);
        mac.update(b"\n");
        mac.update(hashes.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.signing_key).expect("HMAC takes any key length")
    }
}

/// Constant-time comparison of two signatures.
pub(crate) fn signatures_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

/// Decodes a 64-digit hex signature.
pub(crate) fn parse_signature(hex_digits: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if hex_digits.len() != 64 {
        return None;
    }
    hex::decode_to_slice(hex_digits, &mut out).ok()?;
    Some(out)
}

/// `AKID/20130524/us-east-1/s3/aws4_request`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credential<'a> {
    pub(crate) access_key: &'a str,
    pub(crate) date: &'a str,
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
}

pub(crate) fn parse_credential(value: &str) -> Result<Credential<'_>, String> {
    // From the right: an access key containing '/' still parses.
    let mut fields = value.rsplitn(5, '/');
    let terminator = fields.next().unwrap_or("");
    let service = fields.next();
    let region = fields.next();
    let date = fields.next();
    let access_key = fields.next();
    let (Some(service), Some(region), Some(date), Some(access_key)) =
        (service, region, date, access_key)
    else {
        return Err(format!(
            "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\": {value}"
        ));
    };
    if access_key.is_empty() {
        return Err("the Credential has an empty access key".into());
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid credential date \"{date}\""));
    }
    // An empty region is accepted, as MinIO without a configured region
    // does: minio-py's `MinioAdmin` signs with region "" by default.
    if region.len() > MAX_REGION_LEN {
        return Err(format!(
            "the Credential's region is longer than {MAX_REGION_LEN} bytes"
        ));
    }
    if service != "s3" {
        return Err(format!(
            "credential should be scoped to correct service: 's3', not '{service}'"
        ));
    }
    if terminator != "aws4_request" {
        return Err(format!(
            "credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'"
        ));
    }
    Ok(Credential {
        access_key,
        date,
        region,
        service,
    })
}

/// The parsed `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug)]
struct AuthorizationHeader<'a> {
    credential: Credential<'a>,
    signed_headers: Vec<&'a str>,
    signature: [u8; 32],
}

fn parse_authorization(value: &str) -> Result<AuthorizationHeader<'_>, AuthError> {
    let malformed = |msg: &str| AuthError::AuthorizationHeaderMalformed(msg.to_string());
    let Some(rest) = value.strip_prefix(ALGORITHM) else {
        if value.starts_with(SIGV4A_ALGORITHM) {
            return Err(AuthError::NotImplemented("SigV4a signatures".into()));
        }
        return Err(malformed("unsupported authorization algorithm"));
    };
    if !rest.starts_with([' ', '\t']) {
        return Err(malformed("unsupported authorization algorithm"));
    }
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for component in rest.split(',') {
        let component = component.trim();
        if component.is_empty() {
            continue;
        }
        let Some((key, value)) = component.split_once('=') else {
            return Err(malformed(&format!("component without '=': {component}")));
        };
        let slot = match key.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            other => return Err(malformed(&format!("unknown component {other}"))),
        };
        if slot.replace(value.trim()).is_some() {
            return Err(malformed(&format!("repeated component {key}")));
        }
    }
    let credential = credential.ok_or_else(|| malformed("missing Credential"))?;
    let credential =
        parse_credential(credential).map_err(AuthError::AuthorizationHeaderMalformed)?;
    let signed_headers =
        parse_signed_headers(signed_headers.ok_or_else(|| malformed("missing SignedHeaders"))?)
            .map_err(AuthError::AuthorizationHeaderMalformed)?;
    let signature = signature.ok_or_else(|| malformed("missing Signature"))?;
    let signature = parse_signature(signature)
        .ok_or_else(|| malformed("the Signature is not 64 hex digits"))?;
    Ok(AuthorizationHeader {
        credential,
        signed_headers,
        signature,
    })
}

fn parse_signed_headers(value: &str) -> Result<Vec<&str>, String> {
    let names: Vec<&str> = value.split(';').collect();
    if names.iter().any(|name| name.is_empty()) {
        return Err(format!("the SignedHeaders list is malformed: {value}"));
    }
    Ok(names)
}

/// S3 (like MinIO) wants `host` signed so a signature cannot be replayed
/// against another endpoint.
fn require_signed_host(signed_headers: &[&str]) -> Result<(), AuthError> {
    if signed_headers
        .iter()
        .any(|name| name.eq_ignore_ascii_case("host"))
    {
        Ok(())
    } else {
        Err(AuthError::AccessDenied(
            "there were headers present in the request which were not signed: host".into(),
        ))
    }
}

/// The message S3 (and MinIO's `ErrUnsignedHeaders`) answers for a request
/// carrying `x-amz-*` headers its signature does not cover.
pub(crate) const UNSIGNED_HEADERS_MESSAGE: &str =
    "There were headers present in the request which were not signed";

/// Which `x-amz-*` headers of a request its signature does not cover.
///
/// Rule (AWS SigV4, as S3 enforces it): a request's operation, target and
/// metadata come only from signed parts, so every `x-amz-*` header sent must
/// be listed in SignedHeaders, or, for a presigned URL, be carried as a
/// query parameter of the same name and value (the whole query is signed).
/// Otherwise a presigned PUT plus an `x-amz-copy-source` added by whoever
/// holds the URL would become a copy authorised as the URL's signer.
///
/// `x-amz-content-sha256` is exempt: its value is the payload line of the
/// canonical request (or, for a presigned URL that names its payload mode,
/// it is not read at all), so the signature covers it either way. In header
/// auth `x-amz-date` is exempt for the same reason: it is the timestamp of
/// the string to sign. `Content-MD5` is not an `x-amz-*` header and S3 does
/// not require it signed: it can only make a request fail.
pub(crate) fn unsigned_amz_headers(
    headers: &http::HeaderMap,
    signed_headers: &[&str],
    presigned_query: Option<&str>,
) -> Vec<String> {
    let mut unsigned: Vec<String> = headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            name.starts_with("x-amz-")
                && name != "x-amz-content-sha256"
                && !(presigned_query.is_none() && name == "x-amz-date")
        })
        .filter(|(name, value)| {
            let listed = signed_headers
                .iter()
                .any(|signed| signed.eq_ignore_ascii_case(name.as_str()));
            let in_query = presigned_query.is_some_and(|query| {
                raw_query_pairs(query).any(|(key, query_value)| {
                    key.eq_ignore_ascii_case(name.as_str())
                        && percent_encoding::percent_decode_str(&query_value.replace('+', " "))
                            .decode_utf8()
                            .is_ok_and(|decoded| decoded.as_bytes() == value.as_bytes())
                })
            });
            !listed && !in_query
        })
        .map(|(name, _)| name.as_str().to_string())
        .collect();
    unsigned.dedup();
    unsigned
}

fn require_signed_amz_headers(
    headers: &http::HeaderMap,
    signed_headers: &[&str],
    presigned_query: Option<&str>,
) -> Result<(), AuthError> {
    let unsigned = unsigned_amz_headers(headers, signed_headers, presigned_query);
    if unsigned.is_empty() {
        Ok(())
    } else {
        Err(AuthError::UnsignedHeaders(unsigned))
    }
}

pub(crate) fn parse_amz_date(value: &str) -> Option<SystemTime> {
    time::PrimitiveDateTime::parse(value, AMZ_DATE_FORMAT)
        .ok()
        .map(|t| t.assume_utc().into())
}

fn format_amz_date(at: SystemTime) -> String {
    time::OffsetDateTime::from(at)
        .format(AMZ_DATE_FORMAT)
        .expect("formatting a date cannot fail")
}

/// The request time from `x-amz-date`, else `Date`, and the timestamp as
/// it appears in the string to sign.
fn request_time(headers: &http::HeaderMap) -> Result<(SystemTime, String), AuthError> {
    let invalid = || {
        AuthError::AccessDenied(
            "AWS authentication requires a valid Date or x-amz-date header".into(),
        )
    };
    if let Some(value) = headers.get("x-amz-date") {
        let value = value.to_str().map_err(|_| invalid())?;
        let at = parse_amz_date(value).ok_or_else(invalid)?;
        return Ok((at, value.to_string()));
    }
    let value = headers
        .get(http::header::DATE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(invalid)?;
    let at = httpdate::parse_http_date(value).map_err(|_| invalid())?;
    Ok((at, format_amz_date(at)))
}

fn check_skew(request_time: SystemTime, now: SystemTime) -> Result<(), AuthError> {
    let skew = match now.duration_since(request_time) {
        Ok(behind) => behind,
        Err(ahead) => ahead.duration(),
    };
    if skew > MAX_CLOCK_SKEW {
        return Err(AuthError::RequestTimeTooSkewed);
    }
    Ok(())
}

fn header_str<'a>(headers: &'a http::HeaderMap, name: &str) -> Result<Option<&'a str>, AuthError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| AuthError::InvalidArgument(format!("the {name} header is not ASCII")))
        })
        .transpose()
}

/// Verifies `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
pub(crate) fn verify_header(
    parts: &http::request::Parts,
    authorization: &str,
    secrets: &dyn SecretLookup,
    keys: &SigningKeyCache,
    now: SystemTime,
) -> Result<Authenticated, AuthError> {
    let header = parse_authorization(authorization)?;
    require_signed_host(&header.signed_headers)?;
    require_signed_amz_headers(&parts.headers, &header.signed_headers, None)?;
    let secret = secrets
        .secret_key(header.credential.access_key)
        .ok_or(AuthError::InvalidAccessKeyId)?;
    let (at, timestamp) = request_time(&parts.headers)?;
    if !timestamp.starts_with(header.credential.date) {
        return Err(AuthError::AuthorizationHeaderMalformed(
            SCOPE_DATE_MISMATCH.into(),
        ));
    }
    check_skew(at, now)?;
    // S3 clients always send x-amz-content-sha256; without it the payload is
    // taken to be empty (as MinIO does), which the body check then enforces.
    let payload = header_str(&parts.headers, "x-amz-content-sha256")?
        .unwrap_or(EMPTY_SHA256)
        .to_string();
    let signing_key = keys.signing_key(&secret, &header.credential);
    let mut context = SigningContext::new(signing_key, &header.credential, timestamp);
    context.seed_signature = matching_signature(
        parts,
        &context,
        &header.signed_headers,
        QueryScope::All,
        &payload,
        &header.signature,
    )
    .ok_or(AuthError::SignatureDoesNotMatch)?;
    keys.remember(&secret, &header.credential, signing_key);
    Ok(Authenticated {
        identity: Identity::AccessKey(header.credential.access_key.to_string()),
        signed_payload: Some(payload),
        signing: Some(context),
    })
}

/// Whether the query carries presigned-URL parameters (V4, or V2's `AWSAccessKeyId`).
pub(crate) fn is_presigned(query: &str) -> bool {
    raw_query_pairs(query).any(|(key, _)| {
        matches!(
            key,
            "X-Amz-Algorithm" | "X-Amz-Signature" | "X-Amz-Credential" | "AWSAccessKeyId"
        )
    })
}

/// Verifies a presigned URL (`X-Amz-Algorithm`, `X-Amz-Credential`, ...).
pub(crate) fn verify_presigned(
    parts: &http::request::Parts,
    secrets: &dyn SecretLookup,
    keys: &SigningKeyCache,
    now: SystemTime,
) -> Result<Authenticated, AuthError> {
    let query_error = |msg: &str| AuthError::AuthorizationQueryParametersError(msg.to_string());
    let query = parts.uri.query().unwrap_or("");
    let param = |name: &str| -> Option<String> {
        raw_query_pairs(query)
            .find(|(key, _)| *key == name)
            .map(|(_, value)| {
                percent_encoding::percent_decode_str(value)
                    .decode_utf8_lossy()
                    .into_owned()
            })
    };
    let Some(algorithm) = param("X-Amz-Algorithm") else {
        return Err(query_error(MISSING_PRESIGN_PARAMS));
    };
    if algorithm == SIGV4A_ALGORITHM {
        return Err(AuthError::NotImplemented("SigV4a signatures".into()));
    }
    if algorithm != ALGORITHM {
        return Err(query_error(
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
        ));
    }
    let (Some(credential), Some(date), Some(expires), Some(signed_headers), Some(signature)) = (
        param("X-Amz-Credential"),
        param("X-Amz-Date"),
        param("X-Amz-Expires"),
        param("X-Amz-SignedHeaders"),
        param("X-Amz-Signature"),
    ) else {
        return Err(query_error(MISSING_PRESIGN_PARAMS));
    };
    let credential = parse_credential(&credential).map_err(|msg| query_error(&msg))?;
    // As S3 and MinIO: a negative or over-a-week lifetime is a malformed
    // URL (400); a lifetime of 0 is a URL that has already expired (403).
    let expires: u64 = match expires.parse::<i64>() {
        Ok(n) if n < 0 => return Err(query_error("X-Amz-Expires must be non-negative")),
        Ok(n) => n as u64,
        Err(_) => return Err(query_error("X-Amz-Expires should be a number")),
    };
    if expires > MAX_PRESIGN_EXPIRES_SECS {
        return Err(query_error(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ));
    }
    let at = parse_amz_date(&date).ok_or_else(|| {
        query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    })?;
    if !date.starts_with(credential.date) {
        return Err(query_error(SCOPE_DATE_MISMATCH));
    }
    let signed_headers = parse_signed_headers(&signed_headers).map_err(|msg| query_error(&msg))?;
    require_signed_host(&signed_headers)?;
    require_signed_amz_headers(&parts.headers, &signed_headers, Some(query))?;
    let signature = parse_signature(&signature)
        .ok_or_else(|| query_error("X-Amz-Signature is not 64 hex digits"))?;

    let secret = secrets
        .secret_key(credential.access_key)
        .ok_or(AuthError::InvalidAccessKeyId)?;
    if at > now + MAX_CLOCK_SKEW {
        return Err(AuthError::AccessDenied("Request is not valid yet".into()));
    }
    if expires == 0 || now > at + Duration::from_secs(expires) {
        return Err(AuthError::AccessDenied("Request has expired".into()));
    }
    let payload = match param("X-Amz-Content-Sha256") {
        Some(value) => value,
        None => header_str(&parts.headers, "x-amz-content-sha256")?
            .unwrap_or(UNSIGNED_PAYLOAD)
            .to_string(),
    };
    let signing_key = keys.signing_key(&secret, &credential);
    let mut context = SigningContext::new(signing_key, &credential, date);
    context.seed_signature = matching_signature(
        parts,
        &context,
        &signed_headers,
        QueryScope::Presigned,
        &payload,
        &signature,
    )
    .ok_or(AuthError::SignatureDoesNotMatch)?;
    keys.remember(&secret, &credential, signing_key);
    Ok(Authenticated {
        identity: Identity::AccessKey(credential.access_key.to_string()),
        signed_payload: Some(payload),
        signing: Some(context),
    })
}

/// Which query parameters the canonical query string covers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum QueryScope {
    All,
    /// Everything but `X-Amz-Signature`.
    Presigned,
}

fn raw_query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// How the canonical URI is derived from the request path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PathForm {
    /// Decoded and re-encoded per SigV4 (what SDKs sign).
    Normalized,
    /// Exactly as received, for clients that sign the path they sent
    /// without escaping every reserved character.
    AsSent,
}

/// Computes the request signature, trying the path exactly as sent when the
/// normalised path does not match; returns the matching signature.
fn matching_signature(
    parts: &http::request::Parts,
    context: &SigningContext,
    signed_headers: &[&str],
    scope: QueryScope,
    payload: &str,
    claimed: &[u8; 32],
) -> Option<[u8; 32]> {
    let canonical = canonical_request(parts, signed_headers, scope, payload, PathForm::Normalized);
    let expected = context.request_signature(&canonical);
    if signatures_equal(&expected, claimed) {
        return Some(expected);
    }
    let mut normalized_path = Vec::new();
    push_uri_encoded(parts.uri.path(), Component::Path, &mut normalized_path);
    if !parts.uri.path().is_empty() && normalized_path != parts.uri.path().as_bytes() {
        let as_sent = canonical_request(parts, signed_headers, scope, payload, PathForm::AsSent);
        let expected = context.request_signature(&as_sent);
        if signatures_equal(&expected, claimed) {
            return Some(expected);
        }
    }
    tracing::debug!(
        canonical_request = %String::from_utf8_lossy(&canonical),
        "signature does not match"
    );
    None
}

fn canonical_request(
    parts: &http::request::Parts,
    signed_headers: &[&str],
    scope: QueryScope,
    payload: &str,
    path_form: PathForm,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b'\n');
    let path = parts.uri.path();
    if path.is_empty() {
        out.push(b'/');
    } else if path_form == PathForm::AsSent {
        out.extend_from_slice(path.as_bytes());
    } else {
        push_uri_encoded(path, Component::Path, &mut out);
    }
    out.push(b'\n');
    push_canonical_query(parts.uri.query().unwrap_or(""), scope, &mut out);
    out.push(b'\n');
    for name in signed_headers {
        let name = name.to_ascii_lowercase();
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        push_canonical_header_value(parts, &name, &mut out);
        out.push(b'\n');
    }
    out.push(b'\n');
    for (i, name) in signed_headers.iter().enumerate() {
        if i > 0 {
            out.push(b';');
        }
        out.extend_from_slice(name.to_ascii_lowercase().as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(payload.as_bytes());
    out
}

fn push_canonical_query(query: &str, scope: QueryScope, out: &mut Vec<u8>) {
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = raw_query_pairs(query)
        .map(|(key, value)| {
            let mut k = Vec::with_capacity(key.len());
            push_uri_encoded(key, Component::Query, &mut k);
            let mut v = Vec::with_capacity(value.len());
            push_uri_encoded(value, Component::Query, &mut v);
            (k, v)
        })
        .filter(|(key, _)| !(scope == QueryScope::Presigned && key == b"X-Amz-Signature"))
        .collect();
    pairs.sort_unstable();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(key);
        out.push(b'=');
        out.extend_from_slice(value);
    }
}

/// The header's values (all occurrences joined by `,`), trimmed, with runs
/// of spaces collapsed. `host` falls back to the URI authority (HTTP/2).
fn push_canonical_header_value(parts: &http::request::Parts, name: &str, out: &mut Vec<u8>) {
    let mut first = true;
    for value in parts.headers.get_all(name) {
        if !first {
            out.push(b',');
        }
        first = false;
        push_trimmed(value.as_bytes(), out);
    }
    if first && name == "host" {
        if let Some(authority) = parts.uri.authority() {
            push_trimmed(authority.as_str().as_bytes(), out);
        }
    }
}

fn push_trimmed(value: &[u8], out: &mut Vec<u8>) {
    let mut pending_space = false;
    let mut started = false;
    for &b in value {
        if b == b' ' || b == b'\t' {
            pending_space = started;
            continue;
        }
        if pending_space {
            out.push(b' ');
            pending_space = false;
        }
        started = true;
        out.push(b);
    }
}

/// Re-encodes an already percent-encoded path (`Component::Path`) or query
/// key/value the way SigV4 wants it: unreserved characters literal,
/// everything else `%XX` upper-case. Existing escapes are decoded first, so
/// clients that escape more or less than the minimum still verify; an
/// escaped `/` stays escaped. In a query a `+` is a space (form encoding, as
/// the AWS SDKs and MinIO read it).
fn push_uri_encoded(input: &str, component: Component, out: &mut Vec<u8>) {
    let keep_slash = component == Component::Path;
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'+' && component == Component::Query {
            out.extend_from_slice(b"%20");
            i += 1;
            continue;
        }
        if b == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                push_encoded_byte(hi << 4 | lo, false, out);
                i += 3;
                continue;
            }
        }
        push_encoded_byte(b, keep_slash, out);
        i += 1;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Component {
    Path,
    Query,
}

fn push_encoded_byte(b: u8, keep_slash: bool, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    if b.is_ascii_alphanumeric()
        || matches!(b, b'-' | b'_' | b'.' | b'~')
        || (keep_slash && b == b'/')
    {
        out.push(b);
    } else {
        out.extend_from_slice(&[b'%', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

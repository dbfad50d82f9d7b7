//! Who may scrape the metrics endpoints. As MinIO: authenticated unless
//! `MINIO_PROMETHEUS_AUTH_TYPE=public` (or `MINNOW_PROMETHEUS_AUTH_TYPE`).
//! A scrape authenticates either with SigV4 like any S3 request or with a
//! bearer token: a JWT (HS512) whose `sub` is an access key, signed with
//! that key's secret, with an `exp` in the future and issuer `prometheus`,
//! which is what `mc admin prometheus generate` makes (so Prometheus
//! configurations written for MinIO keep working). Either way the caller
//! must be root or a user whose policies allow `admin:Prometheus`.
//!
//! The JWT is checked here with the `hmac`/`sha2` the crate already uses for
//! SigV4 rather than a JWT crate: one algorithm, a few lines, no new crypto
//! backend to build.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha512;

use crate::auth::SecretLookup;

/// The IAM action that grants scraping to a user that is not root.
pub const PROMETHEUS_ACTION: &str = "admin:Prometheus";
/// Issuer of the tokens `mc admin prometheus generate` makes.
const ISSUER: &str = "prometheus";
/// Longest bearer token looked at (a MinIO token is ~250 bytes).
const MAX_TOKEN_LEN: usize = 4096;

/// How the metrics endpoints are protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAuth {
    /// SigV4 or a bearer token of root or an `admin:Prometheus` user.
    Authenticated,
    /// Anyone may scrape.
    Public,
}

impl MetricsAuth {
    /// `jwt` (MinIO's name for the default) or `public`, case-insensitive.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "public" => Some(Self::Public),
            "jwt" => Some(Self::Authenticated),
            _ => None,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// Expiry, seconds since the epoch.
    exp: u64,
    /// The access key whose secret signed the token.
    sub: String,
    #[serde(default)]
    iss: Option<String>,
}

/// A bearer token for scraping as `access_key`, valid for `valid_for` from
/// `now`, in the format `mc admin prometheus generate` makes.
pub fn prometheus_token(
    access_key: &str,
    secret_key: &str,
    valid_for: Duration,
    now: SystemTime,
) -> String {
    let header = Header {
        alg: "HS512".into(),
        typ: Some("JWT".into()),
    };
    let exp = now
        .checked_add(valid_for)
        .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(u64::MAX);
    let claims = Claims {
        exp,
        sub: access_key.to_string(),
        iss: Some(ISSUER.into()),
    };
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("header serialises")),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialise"))
    );
    let signature = mac(secret_key, &signing_input).finalize().into_bytes();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn mac(secret_key: &str, signing_input: &str) -> Hmac<Sha512> {
    let mut mac =
        Hmac::<Sha512>::new_from_slice(secret_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(signing_input.as_bytes());
    mac
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a JWT")]
    Malformed,
    #[error("the token's algorithm is not HS512")]
    Algorithm,
    #[error("the token's subject is not a known access key")]
    UnknownKey,
    #[error("the token's signature does not match")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token was not issued for prometheus")]
    Issuer,
}

/// Verifies a bearer token; returns the access key it speaks for.
pub fn verify_token(
    token: &str,
    secrets: &dyn SecretLookup,
    now: SystemTime,
) -> Result<String, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let mut pieces = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (pieces.next(), pieces.next(), pieces.next(), pieces.next())
    else {
        return Err(TokenError::Malformed);
    };
    let decode = |piece: &str| {
        URL_SAFE_NO_PAD
            .decode(piece)
            .map_err(|_| TokenError::Malformed)
    };
    let parsed_header: Header =
        serde_json::from_slice(&decode(header)?).map_err(|_| TokenError::Malformed)?;
    // Only the algorithm MinIO signs with: never `none`, never another key type.
    if parsed_header.alg != "HS512" {
        return Err(TokenError::Algorithm);
    }
    let parsed: Claims =
        serde_json::from_slice(&decode(claims)?).map_err(|_| TokenError::Malformed)?;
    let secret = secrets
        .secret_key(&parsed.sub)
        .ok_or(TokenError::UnknownKey)?;
    let signature = decode(signature)?;
    mac(&secret, &format!("{header}.{claims}"))
        .verify_slice(&signature)
        .map_err(|_| TokenError::Signature)?;
    let now_secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if parsed.exp <= now_secs {
        return Err(TokenError::Expired);
    }
    if parsed.iss.as_deref().is_some_and(|iss| iss != ISSUER) {
        return Err(TokenError::Issuer);
    }
    Ok(parsed.sub)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::StaticSecrets;

    fn secrets() -> StaticSecrets {
        StaticSecrets::with_key("scraper", "scraper-secret")
    }

    #[test]
    fn a_generated_token_verifies_until_it_expires() {
        let now = SystemTime::now();
        let token = prometheus_token("scraper", "scraper-secret", Duration::from_secs(60), now);
        assert_eq!(
            verify_token(&token, &secrets(), now).as_deref(),
            Ok("scraper")
        );
        assert_eq!(
            verify_token(&token, &secrets(), now + Duration::from_secs(61)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn forged_tokens_are_refused() {
        let now = SystemTime::now();
        let valid = Duration::from_secs(60);
        let wrong_secret = prometheus_token("scraper", "guessed", valid, now);
        assert_eq!(
            verify_token(&wrong_secret, &secrets(), now),
            Err(TokenError::Signature)
        );
        let unknown = prometheus_token("nobody", "scraper-secret", valid, now);
        assert_eq!(
            verify_token(&unknown, &secrets(), now),
            Err(TokenError::UnknownKey)
        );
        // A valid token whose claims were swapped for another subject's.
        let token = prometheus_token("scraper", "scraper-secret", valid, now);
        let mut pieces: Vec<&str> = token.split('.').collect();
        let longer =
            URL_SAFE_NO_PAD.encode(br#"{"exp":99999999999,"sub":"scraper","iss":"prometheus"}"#);
        pieces[1] = &longer;
        assert_eq!(
            verify_token(&pieces.join("."), &secrets(), now),
            Err(TokenError::Signature)
        );
        // `alg: none` with no signature.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(br#"{"exp":99999999999,"sub":"scraper"}"#)
        );
        assert_eq!(
            verify_token(&none, &secrets(), now),
            Err(TokenError::Algorithm)
        );
        for garbage in ["", "a.b", "a.b.c.d", "!!.!!.!!"] {
            assert_eq!(
                verify_token(garbage, &secrets(), now),
                Err(TokenError::Malformed)
            );
        }
    }

    #[test]
    fn auth_types_parse_as_minio_names_them() {
        assert_eq!(MetricsAuth::parse("public"), Some(MetricsAuth::Public));
        assert_eq!(MetricsAuth::parse(" PUBLIC "), Some(MetricsAuth::Public));
        assert_eq!(MetricsAuth::parse("jwt"), Some(MetricsAuth::Authenticated));
        assert_eq!(MetricsAuth::parse("open"), None);
    }
}

//! The CDN read path: requests whose `Host` is a configured CDN host name
//! (`--cdn-host`) are anonymous and read-only. `GET`/`HEAD /<bucket>/<key>`
//! serve what the bucket policy lets everybody read (`s3:GetObject`);
//! everything else a CDN may ask for is refused with 403 that says nothing
//! about whether the bucket or key exists. `OPTIONS` answers 204 with the
//! CORS headers; other methods 405. Signatures are neither needed nor
//! looked at.
//!
//! Reads go through the same object handlers as the S3 API (range and
//! conditional logic live once, in `handlers::conditions` and
//! `handlers::object`); this module only decides access and adjusts the
//! answer for caches and browsers: a guessed `Content-Type` when none was
//! stored, a long immutable `Cache-Control` unless the object has its own,
//! and CORS headers.

use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use percent_encoding::percent_decode_str;
use store::api::{Catalog, ObjectStore};

use crate::auth::{Authenticated, Identity};
use crate::error::{ApiError, S3Code};
use crate::handlers::headers::DEFAULT_CONTENT_TYPE;
use crate::handlers::{empty_response, object, AccessCheck, AppState, Operation, RequestContext};
use crate::router::Query;
use crate::ResponseBody;

/// `Cache-Control` of CDN answers for objects that set none: object keys
/// are content-addressed in the deployments this path serves.
pub const DEFAULT_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";
/// Methods the CDN path answers.
pub const ALLOWED_METHODS: &str = "GET, HEAD, OPTIONS";
/// Request headers browsers may send cross-origin.
pub const ALLOWED_HEADERS: &str = "Content-Type, Authorization, Range";
/// Response headers scripts may read cross-origin.
pub const EXPOSED_HEADERS: &str = "Content-Length, Content-Range, ETag";

/// Whether `host` (a Host header, maybe with a port) is one of `cdn_hosts`.
/// Host names compare case-insensitively; `cdn_hosts` carry no port.
pub fn is_cdn_host(host: Option<&str>, cdn_hosts: &[String]) -> bool {
    if cdn_hosts.is_empty() {
        return false;
    }
    let Some(host) = host else {
        return false;
    };
    let name = if host.starts_with('[') {
        // `[::1]:9000` → `[::1]`
        match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        }
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    let name = name.trim_end_matches('.');
    cdn_hosts.iter().any(|cdn| cdn.eq_ignore_ascii_case(name))
}

/// Splits `/<bucket>/<key>` (percent-encoded) into bucket and key; `None`
/// for anything else (the root, a bare bucket, bad encoding).
pub fn object_path(path: &str) -> Option<(String, String)> {
    let decoded = percent_decode_str(path).decode_utf8().ok()?;
    let rest = decoded.strip_prefix('/')?;
    let (bucket, key) = rest.split_once('/')?;
    if bucket.is_empty() || key.is_empty() {
        return None;
    }
    Some((bucket.to_string(), key.to_string()))
}

/// Serves one CDN request.
pub(crate) async fn serve<S>(
    state: &AppState<S>,
    parts: http::request::Parts,
    operation: &mut Operation,
) -> Result<Response<ResponseBody>, ApiError>
where
    S: ObjectStore + Catalog + 'static,
{
    let allow_origin = &state.config.cdn_allow_origin;
    match serve_inner(state, parts, operation).await {
        Ok(mut response) => {
            cors_headers(response.headers_mut(), allow_origin);
            Ok(response)
        }
        Err(error) => {
            // The pipeline renders the error; CORS headers let the
            // browser's script see its status.
            let mut extra = HeaderMap::new();
            cors_headers(&mut extra, allow_origin);
            Err(extra
                .into_iter()
                .filter_map(|(name, value)| name.map(|name| (name, value)))
                .fold(error, |error, (name, value)| error.header(name, value)))
        }
    }
}

async fn serve_inner<S>(
    state: &AppState<S>,
    parts: http::request::Parts,
    operation: &mut Operation,
) -> Result<Response<ResponseBody>, ApiError>
where
    S: ObjectStore + Catalog + 'static,
{
    *operation = Operation("CdnGetObject");
    match parts.method {
        Method::GET | Method::HEAD => {}
        Method::OPTIONS => {
            *operation = Operation("CdnPreflight");
            return Ok(empty_response(StatusCode::NO_CONTENT));
        }
        _ => {
            *operation = Operation("CdnMethodNotAllowed");
            return Err(ApiError::new(S3Code::MethodNotAllowed)
                .header(header::ALLOW, HeaderValue::from_static(ALLOWED_METHODS)));
        }
    }
    let denied = || ApiError::new(S3Code::AccessDenied);
    let (bucket, key) = object_path(parts.uri.path()).ok_or_else(denied)?;
    let anonymous = Identity::Anonymous;
    let access = AccessCheck::new(&state.iam, &anonymous, Some(&bucket))
        .await
        .map_err(hide_existence)?;
    if !access.allows("s3:GetObject", Some(&bucket), Some(&key)) {
        return Err(denied());
    }
    let is_head = parts.method == Method::HEAD;
    let ctx = RequestContext {
        parts,
        // The query is not S3's here: no sub-resources, no overrides.
        query: Query::default(),
        auth: Authenticated::anonymous(),
    };
    let response = if is_head {
        object::head_object(state, &ctx, &bucket, &key).await
    } else {
        object::get_object(state, &ctx, &bucket, &key).await
    };
    let mut response = response.map_err(hide_existence)?;
    cache_headers(response.headers_mut(), &key);
    Ok(response)
}

/// Errors that could tell a missing bucket or key from a private one become
/// AccessDenied; range (416), precondition (412) and server errors stay.
fn hide_existence(error: ApiError) -> ApiError {
    match error.code {
        S3Code::InvalidRange | S3Code::PreconditionFailed => error,
        _ if error.status().is_server_error() => error,
        _ => ApiError::new(S3Code::AccessDenied),
    }
}

/// A type for objects stored without one, and the cache policy.
fn cache_headers(headers: &mut HeaderMap, key: &str) {
    let unknown_type = headers
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes() == DEFAULT_CONTENT_TYPE.as_bytes());
    if unknown_type {
        if let Some(guess) = mime_guess::from_path(key).first() {
            if let Ok(value) = HeaderValue::from_str(guess.essence_str()) {
                headers.insert(header::CONTENT_TYPE, value);
            }
        }
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(DEFAULT_CACHE_CONTROL),
        );
    }
}

fn cors_headers(headers: &mut HeaderMap, allow_origin: &str) {
    let origin = HeaderValue::from_str(allow_origin).unwrap_or(HeaderValue::from_static("*"));
    if origin != "*" {
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOWED_HEADERS),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdn_hosts_match_without_port_and_case() {
        let hosts = vec!["cdn.example.app".to_string(), "[::1]".to_string()];
        assert!(is_cdn_host(Some("cdn.example.app"), &hosts));
        assert!(is_cdn_host(Some("CDN.Example.App:443"), &hosts));
        assert!(is_cdn_host(Some("cdn.example.app."), &hosts));
        assert!(is_cdn_host(Some("[::1]:9000"), &hosts));
        assert!(!is_cdn_host(Some("s3.example.app"), &hosts));
        assert!(!is_cdn_host(Some("x.cdn.example.app"), &hosts));
        assert!(!is_cdn_host(Some("cdn.example.app.evil.org"), &hosts));
        assert!(!is_cdn_host(None, &hosts));
        assert!(!is_cdn_host(Some("cdn.example.app"), &[]));
    }

    #[test]
    fn only_bucket_and_key_paths_are_objects() {
        assert_eq!(
            object_path("/images/a%20b/c.png"),
            Some(("images".into(), "a b/c.png".into()))
        );
        assert_eq!(object_path("/"), None);
        assert_eq!(object_path("/images"), None);
        assert_eq!(object_path("/images/"), None);
        assert_eq!(object_path("/images/%ff"), None);
    }

    #[test]
    fn missing_and_private_look_the_same() {
        for code in [
            S3Code::NoSuchKey,
            S3Code::NoSuchBucket,
            S3Code::AccessDenied,
        ] {
            assert_eq!(
                hide_existence(ApiError::new(code)).code,
                S3Code::AccessDenied
            );
        }
        assert_eq!(
            hide_existence(ApiError::new(S3Code::InvalidRange)).code,
            S3Code::InvalidRange
        );
    }

    #[test]
    fn unknown_types_are_guessed_and_caching_defaults_to_immutable() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(DEFAULT_CONTENT_TYPE),
        );
        cache_headers(&mut headers, "photos/cat.webp");
        assert_eq!(headers[header::CONTENT_TYPE], "image/webp");
        assert_eq!(headers[header::CACHE_CONTROL], DEFAULT_CACHE_CONTROL);

        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        cache_headers(&mut headers, "photos/cat.webp");
        assert_eq!(headers[header::CONTENT_TYPE], "image/png");
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    }
}

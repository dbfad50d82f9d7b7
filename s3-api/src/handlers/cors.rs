//! Per-bucket CORS on the S3 API (the document PutBucketCors stored):
//! answering preflights (`OPTIONS` with `Origin` and
//! `Access-Control-Request-Method`) and adding `Access-Control-*` headers to
//! actual requests whose `Origin` a rule allows, following S3's rules: the
//! first rule whose origin, method and requested headers all match wins.

use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use store::api::{BucketSetting, Catalog};

use super::{empty_response, AppState};
use crate::error::{ApiError, S3Code};
use crate::xml::request::{CorsConfiguration, CorsRule};
use crate::ResponseBody;
use iam::policy::wildcard_match;

/// The first rule allowing `origin` to use `method` with `request_headers`.
pub fn matching_rule<'c>(
    config: &'c CorsConfiguration,
    origin: &str,
    method: &str,
    request_headers: &[String],
) -> Option<&'c CorsRule> {
    config.rules.iter().find(|rule| {
        rule.allowed_origins
            .iter()
            .any(|pattern| wildcard_match(pattern, origin))
            && rule.allowed_methods.iter().any(|m| m == method)
            && request_headers.iter().all(|header| {
                rule.allowed_headers
                    .iter()
                    .any(|pattern| wildcard_match(&pattern.to_ascii_lowercase(), header))
            })
    })
}

/// `Access-Control-Request-Headers: a, B` → `["a", "b"]`.
fn requested_headers(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(http::header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect()
}

/// The headers a matching rule grants, for preflights and actual requests.
fn grant_headers(rule: &CorsRule, origin: &str) -> Vec<(http::HeaderName, String)> {
    use http::header::*;
    let wildcard = rule.allowed_origins.iter().any(|o| o == "*");
    let mut granted = Vec::new();
    if wildcard {
        granted.push((ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_string()));
    } else {
        granted.push((ACCESS_CONTROL_ALLOW_ORIGIN, origin.to_string()));
        granted.push((ACCESS_CONTROL_ALLOW_CREDENTIALS, "true".to_string()));
    }
    granted.push((
        ACCESS_CONTROL_ALLOW_METHODS,
        rule.allowed_methods.join(", "),
    ));
    if !rule.expose_headers.is_empty() {
        granted.push((
            ACCESS_CONTROL_EXPOSE_HEADERS,
            rule.expose_headers.join(", "),
        ));
    }
    if let Some(max_age) = rule.max_age_seconds {
        granted.push((ACCESS_CONTROL_MAX_AGE, max_age.to_string()));
    }
    granted
}

async fn bucket_cors<S: Catalog>(state: &AppState<S>, bucket: &str) -> Option<CorsConfiguration> {
    let bytes = state
        .store
        .get_bucket_setting(bucket, BucketSetting::Cors)
        .await
        .ok()??;
    CorsConfiguration::parse(&bytes).ok()
}

/// Answers a preflight: 200 with the granted headers, 403 when no rule
/// allows it (or the bucket has no CORS configuration).
pub(crate) async fn preflight<S: Catalog>(
    state: &AppState<S>,
    headers: &HeaderMap,
    bucket: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let origin = headers
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::with_message(
                S3Code::BadRequest,
                "Insufficient information. Origin request header needed.",
            )
        })?;
    let method = headers
        .get(http::header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|v| v.to_str().ok())
        .filter(|m| Method::from_bytes(m.as_bytes()).is_ok())
        .ok_or_else(|| {
            ApiError::with_message(S3Code::BadRequest, "Invalid Access-Control-Request-Method")
        })?;
    let wanted_headers = requested_headers(headers);
    let config = bucket_cors(state, bucket)
        .await
        .ok_or_else(|| ApiError::new(S3Code::AccessForbidden))?;
    let rule = matching_rule(&config, origin, method, &wanted_headers)
        .ok_or_else(|| ApiError::new(S3Code::AccessForbidden))?;
    let mut response = empty_response(StatusCode::OK);
    let out = response.headers_mut();
    for (name, value) in grant_headers(rule, origin) {
        if let Ok(value) = HeaderValue::from_str(&value) {
            out.insert(name, value);
        }
    }
    if !wanted_headers.is_empty() {
        if let Ok(value) = HeaderValue::from_str(&wanted_headers.join(", ")) {
            out.insert(http::header::ACCESS_CONTROL_ALLOW_HEADERS, value);
        }
    }
    out.insert(
        http::header::VARY,
        HeaderValue::from_static(
            "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
        ),
    );
    Ok(response)
}

/// Adds the CORS headers a rule grants `origin` for `method` to the answer
/// of an actual request (successful or not), when one matches.
pub(crate) async fn annotate<S: Catalog>(
    state: &AppState<S>,
    bucket: &str,
    origin: &HeaderValue,
    method: &Method,
    result: Result<Response<ResponseBody>, ApiError>,
) -> Result<Response<ResponseBody>, ApiError> {
    let Ok(origin) = origin.to_str() else {
        return result;
    };
    let Some(config) = bucket_cors(state, bucket).await else {
        return result;
    };
    let Some(rule) = matching_rule(&config, origin, method.as_str(), &[]) else {
        return result;
    };
    let mut granted: Vec<(http::HeaderName, HeaderValue)> = grant_headers(rule, origin)
        .into_iter()
        .filter_map(|(name, value)| HeaderValue::from_str(&value).ok().map(|v| (name, v)))
        .collect();
    granted.push((http::header::VARY, HeaderValue::from_static("Origin")));
    match result {
        Ok(mut response) => {
            response.headers_mut().extend(granted);
            Ok(response)
        }
        Err(error) => Err(granted
            .into_iter()
            .fold(error, |error, (name, value)| error.header(name, value))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CorsConfiguration {
        CorsConfiguration::parse(
            br#"<CORSConfiguration>
                <CORSRule><AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedHeader>x-amz-*</AllowedHeader><AllowedHeader>Content-Type</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule>
                <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>
            </CORSConfiguration>"#,
        )
        .unwrap()
    }

    #[test]
    fn preflight_rules_match_origin_method_and_headers() {
        let config = config();
        let headers = vec!["x-amz-date".to_string(), "content-type".to_string()];
        let rule = matching_rule(&config, "https://app.example.com", "PUT", &headers).unwrap();
        assert_eq!(rule.max_age_seconds, Some(600));
        // A header the first rule does not list: nothing allows PUT then.
        let other = vec!["x-custom".to_string()];
        assert!(matching_rule(&config, "https://app.example.com", "PUT", &other).is_none());
        // Any origin may GET through the second rule, without headers.
        let rule = matching_rule(&config, "https://evil.test", "GET", &[]).unwrap();
        assert_eq!(rule.allowed_origins, vec!["*".to_string()]);
        assert!(matching_rule(&config, "https://evil.test", "PUT", &[]).is_none());
        assert!(matching_rule(&config, "https://evil.test", "DELETE", &[]).is_none());
    }

    #[test]
    fn granted_headers_echo_a_specific_origin_with_credentials() {
        let config = config();
        let rule = matching_rule(&config, "https://app.example.com", "GET", &[]).unwrap();
        let granted = grant_headers(rule, "https://app.example.com");
        let get = |name: http::HeaderName| {
            granted
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            get(http::header::ACCESS_CONTROL_ALLOW_ORIGIN),
            Some("https://app.example.com")
        );
        assert_eq!(
            get(http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
            Some("true")
        );
        assert_eq!(
            get(http::header::ACCESS_CONTROL_ALLOW_METHODS),
            Some("GET, PUT")
        );
        assert_eq!(
            get(http::header::ACCESS_CONTROL_EXPOSE_HEADERS),
            Some("ETag")
        );
        let rule = matching_rule(&config, "https://elsewhere.org", "GET", &[]).unwrap();
        let granted = grant_headers(rule, "https://elsewhere.org");
        assert_eq!(granted[0].1, "*");
    }
}

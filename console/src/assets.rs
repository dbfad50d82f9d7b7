//! The page's files, embedded in the binary at build time: one HTML page,
//! one stylesheet, one script (vanilla JS, no build step) and an icon.

use bytes::Bytes;
use http::{header, HeaderValue, Method, Response, StatusCode};

use crate::{full, ConsoleBody, ConsoleError};

/// `(path, content type, bytes)` of every embedded file.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_bytes!("../assets/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/app.js"),
    ),
    (
        "/app.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/app.css"),
    ),
    (
        "/favicon.svg",
        "image/svg+xml",
        include_bytes!("../assets/favicon.svg"),
    ),
];

/// Total size of the embedded files, in bytes (what the console adds to
/// the binary besides its code).
pub fn embedded_asset_bytes() -> usize {
    ASSETS.iter().map(|(_, _, bytes)| bytes.len()).sum()
}

/// Serves an embedded file; `/index.html` is the page too.
pub fn serve(path: &str, method: &Method) -> Result<Response<ConsoleBody>, ConsoleError> {
    let path = if path == "/index.html" { "/" } else { path };
    let (_, content_type, bytes) = ASSETS
        .iter()
        .find(|(p, _, _)| *p == path)
        .ok_or(ConsoleError::NotFound)?;
    let body = if *method == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from_static(bytes)
    };
    let mut response = Response::new(full(body));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Assets change with the binary; a reload after an upgrade must not mix versions.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

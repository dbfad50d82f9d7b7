//! S3 XML documents: serde types for every request and response body minnow
//! reads or writes, and the helpers that turn them into bytes and back.
//!
//! Responses carry the S3 namespace on their root element; requests may come
//! with or without it. Any request document that does not parse, or whose root
//! element is not the expected one, is `MalformedXML`.

pub mod request;
pub mod response;

use std::time::SystemTime;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ApiError, S3Code};

/// The S3 XML namespace.
pub const NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// Serialises a response document under `root`, with the XML declaration.
pub fn to_xml<T: Serialize>(root: &str, value: &T) -> Result<String, ApiError> {
    let body = quick_xml::se::to_string_with_root(root, value).map_err(|e| {
        tracing::error!(error = %e, root, "serialising an XML response failed");
        ApiError::new(S3Code::InternalError)
    })?;
    let mut xml = String::with_capacity(DECLARATION.len() + body.len());
    xml.push_str(DECLARATION);
    xml.push_str(&body);
    Ok(xml)
}

/// Parses a request document whose root element must be `root`.
pub fn from_xml<T: DeserializeOwned>(root: &str, bytes: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|_| malformed())?;
    if root_element(text).as_deref() != Some(root) {
        return Err(malformed());
    }
    quick_xml::de::from_str(text).map_err(|_| malformed())
}

/// Checks that `bytes` are a single well-formed XML document and returns its
/// root element's local name.
pub fn check_well_formed(bytes: &[u8]) -> Result<String, ApiError> {
    use quick_xml::events::Event;
    let text = std::str::from_utf8(bytes).map_err(|_| malformed())?;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut root = None;
    loop {
        match reader.read_event().map_err(|_| malformed())? {
            Event::Start(start) => {
                if depth == 0 {
                    if root.is_some() {
                        return Err(malformed());
                    }
                    root = Some(local_name(start.name().as_ref()));
                }
                depth += 1;
            }
            Event::Empty(start) if depth == 0 => {
                if root.is_some() {
                    return Err(malformed());
                }
                root = Some(local_name(start.name().as_ref()));
            }
            Event::End(_) => depth = depth.checked_sub(1).ok_or_else(malformed)?,
            Event::Text(text) if depth == 0 && !text.iter().all(u8::is_ascii_whitespace) => {
                return Err(malformed());
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if depth != 0 {
        return Err(malformed());
    }
    root.ok_or_else(malformed)
}

/// The local name of the first element, if the text starts like XML.
fn root_element(text: &str) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event().ok()? {
            Event::Start(start) | Event::Empty(start) => {
                return Some(local_name(start.name().as_ref()))
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

fn local_name(name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    match name.rsplit_once(':') {
        Some((_, local)) => local.to_string(),
        None => name.into_owned(),
    }
}

pub(crate) fn malformed() -> ApiError {
    ApiError::new(S3Code::MalformedXML)
}

/// `2006-02-03T16:45:09.000Z`: ISO 8601 in UTC with milliseconds, as S3 writes.
pub fn timestamp(at: SystemTime) -> String {
    let at = time::OffsetDateTime::from(at);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// An ETag as S3 shows it in XML and headers: in double quotes.
pub fn quote_etag(etag: &str) -> String {
    let bare = etag.trim_matches('"');
    format!("\"{bare}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamp_has_milliseconds_and_z() {
        let at = UNIX_EPOCH + Duration::from_millis(1_139_006_709_123);
        assert_eq!(timestamp(at), "2006-02-03T22:45:09.123Z");
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn etags_are_quoted_once() {
        assert_eq!(quote_etag("abc"), "\"abc\"");
        assert_eq!(quote_etag("\"abc-2\""), "\"abc-2\"");
    }

    #[test]
    fn well_formedness_check_accepts_documents_and_rejects_junk() {
        assert_eq!(
            check_well_formed(b"<?xml version=\"1.0\"?>\n<LifecycleConfiguration xmlns=\"x\"><Rule/></LifecycleConfiguration>\n")
                .unwrap(),
            "LifecycleConfiguration"
        );
        for junk in [
            &b""[..],
            b"not xml",
            b"<a><b></a>",
            b"<a>",
            b"<a></a><b></b>",
            b"<a></a>trailing",
            b"\xff\xfe",
        ] {
            assert!(
                check_well_formed(junk).is_err(),
                "{:?}",
                String::from_utf8_lossy(junk)
            );
        }
    }
}

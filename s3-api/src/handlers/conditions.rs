//! Pure request-header logic for reads: the `Range` header and the
//! conditional headers (`If-Match`, `If-None-Match`, `If-Modified-Since`,
//! `If-Unmodified-Since` and their `x-amz-copy-source-if-*` twins), evaluated
//! the way S3 does (RFC 7232 precedence).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use store::api::ByteRange;

use crate::error::{ApiError, S3Code};

/// Parses `Range: bytes=a-b | a- | -n`. Anything S3 would ignore (other
/// units, several ranges, syntax errors, `b < a`) yields `None`: the whole
/// object is returned with 200.
pub fn parse_range(value: &str) -> Option<ByteRange> {
    let spec = value.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        return Some(ByteRange::Suffix(parse_digits(last)?));
    }
    let first = parse_digits(first)?;
    if last.is_empty() {
        return Some(ByteRange::FromTo { first, last: None });
    }
    let last = parse_digits(last)?;
    (last >= first).then_some(ByteRange::FromTo {
        first,
        last: Some(last),
    })
}

fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Resolves a range against an object size: `Ok(None)` never happens for a
/// parsed range; `Err` when unsatisfiable (416).
pub fn resolve_range(range: ByteRange, size: u64) -> Option<(u64, u64)> {
    match range {
        ByteRange::FromTo { first, last } => {
            if first >= size {
                return None;
            }
            let last = last.map_or(size - 1, |l| l.min(size - 1));
            Some((first, last))
        }
        ByteRange::Suffix(n) => {
            if n == 0 || size == 0 {
                return None;
            }
            Some((size.saturating_sub(n), size - 1))
        }
    }
}

/// The 416 answer, with `Content-Range: bytes */size` as S3 sends.
pub fn invalid_range(size: u64, requested: &str) -> ApiError {
    ApiError::new(S3Code::InvalidRange)
        .field("RangeRequested", requested)
        .field("ActualObjectSize", size.to_string())
        .header(
            http::header::CONTENT_RANGE,
            http::HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"),
        )
}

/// Parses `x-amz-copy-source-range: bytes=a-b` (both ends required).
pub fn parse_copy_source_range(value: &str) -> Result<(u64, u64), ApiError> {
    let invalid = || {
        ApiError::invalid_argument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
            "x-amz-copy-source-range",
            value,
        )
    };
    let spec = value.trim().strip_prefix("bytes=").ok_or_else(invalid)?;
    let (first, last) = spec.split_once('-').ok_or_else(invalid)?;
    let first = parse_digits(first.trim()).ok_or_else(invalid)?;
    let last = parse_digits(last.trim()).ok_or_else(invalid)?;
    if last < first {
        return Err(invalid());
    }
    Ok((first, last))
}

/// What the conditional headers decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Serve the request.
    Proceed,
    /// 304 Not Modified (GET/HEAD only).
    NotModified,
    /// 412 PreconditionFailed, naming the header that failed.
    Failed(&'static str),
}

/// The four conditions as sent, before evaluation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<SystemTime>,
    pub if_unmodified_since: Option<SystemTime>,
}

impl Conditions {
    /// Reads `If-*` headers (`prefix` = "") or `x-amz-copy-source-if-*`
    /// (`prefix` = "x-amz-copy-source-"). Unparseable dates are ignored, as
    /// HTTP requires.
    pub fn from_headers(headers: &HeaderMap, prefix: &str) -> Self {
        let text = |name: &str| {
            let value = if prefix.is_empty() {
                headers.get(name)
            } else {
                headers.get(format!("{prefix}{name}"))
            };
            value.and_then(|v| v.to_str().ok()).map(str::to_string)
        };
        let date = |name: &str| text(name).and_then(|v| httpdate::parse_http_date(v.trim()).ok());
        Self {
            if_match: text("if-match"),
            if_none_match: text("if-none-match"),
            if_modified_since: date("if-modified-since"),
            if_unmodified_since: date("if-unmodified-since"),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Evaluates against an object's ETag (unquoted) and Last-Modified.
    /// Order as RFC 7232 §6 and S3: If-Match, else If-Unmodified-Since (412);
    /// then If-None-Match, else If-Modified-Since (304).
    pub fn evaluate(&self, etag: &str, last_modified: SystemTime) -> Precondition {
        // HTTP dates have whole seconds; compare at that granularity.
        let modified = truncate_to_seconds(last_modified);
        if let Some(list) = &self.if_match {
            if !etag_list_matches(list, etag) {
                return Precondition::Failed("If-Match");
            }
        } else if let Some(since) = self.if_unmodified_since {
            if modified > since {
                return Precondition::Failed("If-Unmodified-Since");
            }
        }
        if let Some(list) = &self.if_none_match {
            if etag_list_matches(list, etag) {
                return Precondition::NotModified;
            }
        } else if let Some(since) = self.if_modified_since {
            if modified <= since {
                return Precondition::NotModified;
            }
        }
        Precondition::Proceed
    }

    /// For copy sources every failed condition is 412 (there is no 304).
    pub fn evaluate_copy_source(&self, etag: &str, last_modified: SystemTime) -> Precondition {
        match self.evaluate(etag, last_modified) {
            Precondition::NotModified => Precondition::Failed("x-amz-copy-source-If-None-Match"),
            other => other,
        }
    }
}

fn truncate_to_seconds(at: SystemTime) -> SystemTime {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH + Duration::from_secs(d.as_secs()),
        Err(_) => at,
    }
}

/// `*`, or a comma-separated list of (possibly weak, possibly unquoted) ETags.
fn etag_list_matches(list: &str, etag: &str) -> bool {
    let etag = etag.trim_matches('"');
    list.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.trim_start_matches("W/").trim_matches('"') == etag
    })
}

/// The 412 answer.
pub fn precondition_failed(condition: &'static str) -> ApiError {
    ApiError::new(S3Code::PreconditionFailed).field("Condition", condition)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_header_parsing_table() {
        let table: Vec<(&str, Option<ByteRange>)> = vec![
            (
                "bytes=0-99",
                Some(ByteRange::FromTo {
                    first: 0,
                    last: Some(99),
                }),
            ),
            (
                "bytes=100-",
                Some(ByteRange::FromTo {
                    first: 100,
                    last: None,
                }),
            ),
            ("bytes=-500", Some(ByteRange::Suffix(500))),
            ("bytes=-0", Some(ByteRange::Suffix(0))),
            (
                " bytes=5-5 ",
                Some(ByteRange::FromTo {
                    first: 5,
                    last: Some(5),
                }),
            ),
            // Ignored: S3 answers 200 with the whole object.
            ("bytes=0-1,4-5", None),
            ("bytes=9-3", None),
            ("bytes=a-b", None),
            ("bytes=-", None),
            ("bytes=", None),
            ("items=0-1", None),
            ("bytes=+1-2", None),
            ("bytes=99999999999999999999999-", None),
        ];
        for (header, expected) in table {
            assert_eq!(parse_range(header), expected, "{header}");
        }
    }

    #[test]
    fn range_resolution_against_size() {
        let r = |first, last| ByteRange::FromTo { first, last };
        assert_eq!(resolve_range(r(0, Some(9)), 100), Some((0, 9)));
        assert_eq!(resolve_range(r(90, Some(200)), 100), Some((90, 99)));
        assert_eq!(resolve_range(r(50, None), 100), Some((50, 99)));
        assert_eq!(resolve_range(r(100, None), 100), None);
        assert_eq!(resolve_range(ByteRange::Suffix(10), 100), Some((90, 99)));
        assert_eq!(resolve_range(ByteRange::Suffix(1000), 100), Some((0, 99)));
        assert_eq!(resolve_range(ByteRange::Suffix(0), 100), None);
        assert_eq!(resolve_range(r(0, None), 0), None);
        assert_eq!(resolve_range(ByteRange::Suffix(5), 0), None);
    }

    #[test]
    fn invalid_range_carries_content_range_star() {
        let err = invalid_range(42, "bytes=50-");
        assert_eq!(err.status().as_u16(), 416);
        assert_eq!(err.headers[0].1, "bytes */42");
    }

    #[test]
    fn copy_source_range_requires_both_ends() {
        assert_eq!(
            parse_copy_source_range("bytes=0-5242879").unwrap(),
            (0, 5_242_879)
        );
        for bad in ["bytes=5-", "bytes=-5", "0-5", "bytes=5-1", "bytes=x-y"] {
            assert_eq!(
                parse_copy_source_range(bad).unwrap_err().code,
                S3Code::InvalidArgument,
                "{bad}"
            );
        }
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn conditional_evaluation_follows_s3_precedence() {
        let etag = "abc";
        let modified = at(1_000) + Duration::from_millis(400);
        let c = |m: Option<&str>, n: Option<&str>, ms: Option<u64>, us: Option<u64>| Conditions {
            if_match: m.map(String::from),
            if_none_match: n.map(String::from),
            if_modified_since: ms.map(at),
            if_unmodified_since: us.map(at),
        };
        let table = vec![
            (c(None, None, None, None), Precondition::Proceed),
            (c(Some("\"abc\""), None, None, None), Precondition::Proceed),
            (c(Some("abc"), None, None, None), Precondition::Proceed),
            (c(Some("*"), None, None, None), Precondition::Proceed),
            (
                c(Some("\"x\", \"abc\""), None, None, None),
                Precondition::Proceed,
            ),
            (
                c(Some("\"x\""), None, None, None),
                Precondition::Failed("If-Match"),
            ),
            // If-Match true wins over a failing If-Unmodified-Since.
            (
                c(Some("\"abc\""), None, None, Some(500)),
                Precondition::Proceed,
            ),
            (
                c(None, None, None, Some(500)),
                Precondition::Failed("If-Unmodified-Since"),
            ),
            // Same second as Last-Modified: not modified since.
            (c(None, None, None, Some(1_000)), Precondition::Proceed),
            (
                c(None, Some("\"abc\""), None, None),
                Precondition::NotModified,
            ),
            (
                c(None, Some("W/\"abc\""), None, None),
                Precondition::NotModified,
            ),
            (c(None, Some("*"), None, None), Precondition::NotModified),
            (c(None, Some("\"x\""), None, None), Precondition::Proceed),
            // If-None-Match false (no match) wins over If-Modified-Since.
            (
                c(None, Some("\"x\""), Some(2_000), None),
                Precondition::Proceed,
            ),
            (c(None, None, Some(1_000), None), Precondition::NotModified),
            (c(None, None, Some(2_000), None), Precondition::NotModified),
            (c(None, None, Some(999), None), Precondition::Proceed),
            // 412 is decided before 304.
            (
                c(Some("\"x\""), Some("\"abc\""), None, None),
                Precondition::Failed("If-Match"),
            ),
            (
                c(Some("\"abc\""), Some("\"abc\""), None, None),
                Precondition::NotModified,
            ),
        ];
        for (conditions, expected) in table {
            assert_eq!(
                conditions.evaluate(etag, modified),
                expected,
                "{conditions:?}"
            );
        }
    }

    #[test]
    fn copy_source_conditions_fail_with_412_instead_of_304() {
        let c = Conditions {
            if_none_match: Some("\"abc\"".into()),
            ..Default::default()
        };
        assert!(matches!(
            c.evaluate_copy_source("abc", at(1)),
            Precondition::Failed(_)
        ));
    }

    #[test]
    fn conditions_read_from_headers_with_prefix() {
        let mut headers = HeaderMap::new();
        headers.insert("if-match", "\"a\"".parse().unwrap());
        headers.insert(
            "x-amz-copy-source-if-modified-since",
            "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap(),
        );
        headers.insert("if-unmodified-since", "not a date".parse().unwrap());
        let plain = Conditions::from_headers(&headers, "");
        assert_eq!(plain.if_match.as_deref(), Some("\"a\""));
        assert_eq!(plain.if_unmodified_since, None);
        let copy = Conditions::from_headers(&headers, "x-amz-copy-source-");
        assert_eq!(copy.if_match, None);
        assert_eq!(copy.if_modified_since, Some(at(784_111_777)));
    }
}

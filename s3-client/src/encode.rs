//! Percent-encoding the SigV4 way: everything but `A-Z a-z 0-9 - _ . ~`,
//! and `/` too except inside an object key's path.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Characters SigV4 leaves unencoded: `A-Z a-z 0-9 - _ . ~`.
const AWS_QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// Same, keeping `/` for object-key paths.
const AWS_PATH: &AsciiSet = &AWS_QUERY.remove(b'/');

/// Percent-encodes a query name or value, or one path segment.
pub fn encode_value(value: &str) -> String {
    utf8_percent_encode(value, AWS_QUERY).to_string()
}

/// Percent-encodes a path whose `/` separate segments (an object key).
pub fn encode_path(path: &str) -> String {
    utf8_percent_encode(path, AWS_PATH).to_string()
}

/// `/bucket`, encoded.
pub fn bucket_path(bucket: &str) -> String {
    format!("/{}", encode_value(bucket))
}

/// `/bucket/key`, encoded (slashes in the key kept).
pub fn object_path(bucket: &str, key: &str) -> String {
    format!("/{}/{}", encode_value(bucket), encode_path(key))
}

/// `name=value&...`, encoded and sorted by name as SigV4 signs it.
pub fn encode_query(pairs: &[(&str, String)]) -> String {
    let mut pairs: Vec<_> = pairs.to_vec();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_value(k), encode_value(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_slashes_and_queries_sort() {
        assert_eq!(object_path("b", "a b/c+d~e"), "/b/a%20b/c%2Bd~e");
        assert_eq!(bucket_path("my bucket"), "/my%20bucket");
        assert_eq!(
            encode_query(&[("prefix", "x/".into()), ("delimiter", "/".into())]),
            "delimiter=%2F&prefix=x%2F"
        );
    }
}

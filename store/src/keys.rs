//! Object keys to drive paths, and bucket-name rules.
//!
//! A key is split on `/` into segments; each segment becomes one directory
//! name `_<escaped>`: the leading `_` means no encoded segment is ever empty,
//! `.`, `..`, or equal to an internal name (`obj.meta`, `d.<uuid>` never start
//! with `_`). Escaping (`%XX`) covers `%`, `\`, control bytes and DEL, so NUL
//! and backslashes are storable and every name decodes back to exactly one
//! segment. No key can therefore name a path outside its bucket folder.

use std::path::PathBuf;

use crate::api::StoreError;

/// S3's maximum key length in bytes.
pub const MAX_KEY_LEN: usize = 1024;
/// Longest file name common file systems accept.
pub const MAX_SEGMENT_LEN: usize = 255;

/// A validated key with its encoded path segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedKey {
    key: String,
    segments: Vec<String>,
}

impl EncodedKey {
    /// Validates and encodes `key`.
    pub fn new(key: &str) -> Result<Self, StoreError> {
        if key.is_empty() {
            return Err(StoreError::InvalidKey("the key is empty".into()));
        }
        if key.len() > MAX_KEY_LEN {
            return Err(StoreError::KeyTooLong);
        }
        let segments = key
            .split('/')
            .map(|segment| {
                let encoded = encode_segment(segment);
                if encoded.len() > MAX_SEGMENT_LEN {
                    Err(StoreError::InvalidKey(format!(
                        "a part of the key between slashes is {} bytes once encoded; \
                         the limit is {MAX_SEGMENT_LEN}",
                        encoded.len()
                    )))
                } else {
                    Ok(encoded)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            key: key.to_owned(),
            segments,
        })
    }

    /// The original key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The object directory relative to the bucket folder.
    pub fn relative_path(&self) -> PathBuf {
        self.segments.iter().collect()
    }
}

fn needs_escape(byte: u8) -> bool {
    byte == b'%' || byte == b'\\' || byte < 0x20 || byte == 0x7f
}

/// Encodes one key segment (the text between slashes) as a directory name.
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len() + 1);
    out.push('_');
    for (index, ch) in segment.char_indices() {
        let byte = segment.as_bytes()[index];
        if ch.is_ascii() && needs_escape(byte) {
            out.push_str(&format!("%{byte:02X}"));
        } else {
            out.push(ch);
        }
    }
    out
}

/// Decodes a directory name made by [`encode_segment`]; `None` for names
/// that are not key segments (internal files, foreign files).
pub fn decode_segment(name: &str) -> Option<String> {
    let rest = name.strip_prefix('_')?;
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%' {
            let hex = rest.get(index + 1..index + 3)?;
            let value = u8::from_str_radix(hex, 16).ok()?;
            if !needs_escape(value) {
                return None;
            }
            out.push(value);
            index += 3;
        } else {
            if needs_escape(byte) || byte == b'/' {
                return None;
            }
            out.push(byte);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Checks a bucket name against S3's rules.
pub fn validate_bucket_name(name: &str) -> Result<(), StoreError> {
    let invalid = |why: &str| Err(StoreError::InvalidBucketName(format!("{name:?}: {why}")));
    if !(3..=63).contains(&name.len()) {
        return invalid("must be 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return invalid("only lowercase letters, digits, '.' and '-' are allowed");
    }
    let first = name.as_bytes()[0];
    let last = name.as_bytes()[name.len() - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return invalid("must start and end with a letter or digit");
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return invalid("'.' must not be next to '.' or '-'");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return invalid("must not look like an IP address");
    }
    Ok(())
}

/// Checks a system blob name (`[A-Za-z0-9._-]+`, not `.` or `..`).
pub fn validate_blob_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_SEGMENT_LEN
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidArgument(format!(
            "system blob name {name:?} must match [A-Za-z0-9._-]+"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Component;

    #[test]
    fn hostile_keys_stay_inside_the_bucket_and_round_trip() {
        let keys = [
            "..",
            "../../etc/passwd",
            "/abs",
            "a\\b",
            "nul\0byte",
            "a//b",
            "folder/",
            "/",
            "//",
            ".",
            "./x",
            "%2F",
            "%",
            "100%",
            "obj.meta",
            "d.1234",
            "_x",
            "é/ü",
            "\u{7f}\t\n",
        ];
        for key in keys {
            let encoded = EncodedKey::new(key).unwrap();
            let path = encoded.relative_path();
            for component in path.components() {
                assert!(
                    matches!(component, Component::Normal(_)),
                    "{key:?} produced {path:?}"
                );
            }
            let decoded: Vec<String> = path
                .components()
                .map(|c| decode_segment(c.as_os_str().to_str().unwrap()).unwrap())
                .collect();
            assert_eq!(decoded.join("/"), key);
        }
    }

    #[test]
    fn internal_names_never_decode_as_segments() {
        for name in [
            "obj.meta",
            "d.0123",
            "part.1",
            ".minnow.sys",
            "_%zz",
            "_%41",
            "_a\\b",
        ] {
            assert_eq!(decode_segment(name), None, "{name}");
        }
    }

    #[test]
    fn encoding_is_injective_on_tricky_segments() {
        let segments = ["", "%", "%25", "_", "__", "\\", "%5C", "\0", "%00"];
        let mut seen = std::collections::HashSet::new();
        for segment in segments {
            assert!(seen.insert(encode_segment(segment)), "{segment:?}");
        }
    }

    #[test]
    fn long_keys_and_segments_are_refused_clearly() {
        assert!(matches!(
            EncodedKey::new(&"a/".repeat(600)),
            Err(StoreError::KeyTooLong)
        ));
        assert!(EncodedKey::new(&"a".repeat(254)).is_ok());
        assert!(matches!(
            EncodedKey::new(&"a".repeat(255)),
            Err(StoreError::InvalidKey(_))
        ));
        assert!(matches!(
            EncodedKey::new(""),
            Err(StoreError::InvalidKey(_))
        ));
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        for ok in ["abc", "my-bucket", "my.bucket.1", "0123", &"a".repeat(63)] {
            assert!(validate_bucket_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "ABC",
            "a_b",
            "-ab",
            "ab-",
            ".ab",
            "ab.",
            "a..b",
            "a.-b",
            "192.168.1.1",
            ".minnow.sys",
            "a b",
        ] {
            assert!(
                matches!(
                    validate_bucket_name(bad),
                    Err(StoreError::InvalidBucketName(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn blob_names_are_plain_file_names() {
        assert!(validate_blob_name("iam.users-1_x").is_ok());
        for bad in ["", ".", "..", "a/b", "a\\b", "a b"] {
            assert!(validate_blob_name(bad).is_err(), "{bad}");
        }
    }
}

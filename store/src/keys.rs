//! Object keys to drive paths, and bucket-name rules.
//!
//! A key is split on `/` into segments; each segment becomes one directory
//! name `_<escaped>`: the leading `_` means no encoded segment is ever empty,
//! `.`, `..`, or equal to an internal name (`obj.meta`, `d.<uuid>` never start
//! with `_`). Escaping (`%XX`) covers `%`, `\`, control bytes and DEL, so NUL
//! and backslashes are storable and every name decodes back to exactly one
//! segment. No key can therefore name a path outside its bucket folder.
//!
//! A segment whose name would exceed 255 bytes is stored as
//! `#<blake3-128 of the segment, hex>`, and its text is kept in a
//! `segment.name` blob inside that folder so listings can sort and return
//! it. `#` never starts a `_` name or an internal name either.

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
        Ok(Self {
            key: key.to_owned(),
            segments: key.split('/').map(encode_segment).collect(),
        })
    }

    /// Folders (relative to the bucket folder) of hashed long segments,
    /// with the segment text each must record.
    pub fn long_segments(&self) -> Vec<(PathBuf, &str)> {
        let mut path = PathBuf::new();
        let mut out = Vec::new();
        for (encoded, text) in self.segments.iter().zip(self.key.split('/')) {
            path.push(encoded);
            if encoded.starts_with(LONG_SEGMENT_MARK) {
                out.push((path.clone(), text));
            }
        }
        out
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

/// First character of the folder name of a hashed long segment.
pub const LONG_SEGMENT_MARK: char = '#';

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
    if out.len() > MAX_SEGMENT_LEN {
        let hash = blake3::hash(segment.as_bytes());
        return format!("{LONG_SEGMENT_MARK}{}", hex::encode(&hash.as_bytes()[..16]));
    }
    out
}

/// Whether a folder name is a hashed long segment (its text is in
/// `segment.name`).
pub fn is_long_segment(name: &str) -> bool {
    name.len() == 33 && name.starts_with(LONG_SEGMENT_MARK)
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
    fn long_segments_are_hashed_and_long_keys_refused() {
        assert!(matches!(
            EncodedKey::new(&"a/".repeat(600)),
            Err(StoreError::KeyTooLong)
        ));
        let short = EncodedKey::new(&"a".repeat(254)).unwrap();
        assert!(short.long_segments().is_empty());
        let long_text = "k".repeat(1024);
        let long = EncodedKey::new(&long_text).unwrap();
        let name = long.relative_path().to_str().unwrap().to_owned();
        assert!(is_long_segment(&name), "{name}");
        assert_eq!(
            long.long_segments(),
            vec![(PathBuf::from(&name), long_text.as_str())]
        );
        assert_ne!(
            encode_segment(&"k".repeat(300)),
            encode_segment(&"k".repeat(301))
        );
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

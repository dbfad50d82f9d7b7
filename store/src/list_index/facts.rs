//! What the listing index keeps per key besides its name: the listed facts
//! of the committed version (size, ETag, Last-Modified) once a writer or a
//! listing's metadata read has told it, so a page needs no metadata read
//! for keys whose facts are known.
//!
//! A slot is `Known` only while nothing can have changed the object since
//! the facts were taken: writers mark it `Unsettled` under the key's lock
//! before touching a drive and `Known` after their write reached quorum (a
//! failed write leaves it `Unsettled`, read from the drives by every page
//! until the next write or heal). A listing may fill an `Unknown` slot with
//! what it read, but only if the slot still carries the token it had when
//! the listing looked it up, so a read that raced a write is never kept.

use crate::api::ObjectSummary;
use crate::meta::{ObjectMeta, Timestamp};

/// An ETag in as few bytes as it allows: an MD5 (`<32 hex>`), a multipart
/// ETag (`<32 hex>-<parts>`), or any other text as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CompactEtag {
    Md5([u8; 16]),
    Multipart([u8; 16], u32),
    Other(Box<str>),
}

impl CompactEtag {
    fn new(etag: &str) -> Self {
        let md5 = |hex_text: &str| {
            let mut bytes = [0u8; 16];
            // Upper-case hex would not round-trip through `hex::encode`.
            let lower = !hex_text.bytes().any(|b| b.is_ascii_uppercase());
            (lower && hex::decode_to_slice(hex_text, &mut bytes).is_ok()).then_some(bytes)
        };
        if let Some(bytes) = etag.get(..32).filter(|_| etag.len() == 32).and_then(md5) {
            return Self::Md5(bytes);
        }
        if let Some((hash, parts)) = etag.split_once('-') {
            let parts_number = parts.parse::<u32>().ok().filter(|n| n.to_string() == parts);
            if let (Some(bytes), Some(n)) = (md5(hash).filter(|_| hash.len() == 32), parts_number) {
                return Self::Multipart(bytes, n);
            }
        }
        Self::Other(etag.into())
    }

    fn text(&self) -> String {
        match self {
            Self::Md5(bytes) => hex::encode(bytes),
            Self::Multipart(bytes, parts) => format!("{}-{parts}", hex::encode(bytes)),
            Self::Other(text) => text.to_string(),
        }
    }

    /// Heap bytes beyond the enum itself.
    fn heap_bytes(&self) -> usize {
        match self {
            Self::Other(text) => text.len(),
            _ => 0,
        }
    }
}

/// The facts a listing shows of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Facts {
    size: u64,
    etag: CompactEtag,
    mod_time: Timestamp,
}

impl Facts {
    /// The facts of a committed record.
    pub fn of(meta: &ObjectMeta) -> Self {
        Self {
            size: meta.size,
            etag: CompactEtag::new(&meta.etag),
            mod_time: meta.mod_time,
        }
    }

    /// The facts of a listed summary (what a listing's metadata read found).
    pub fn of_summary(summary: &ObjectSummary) -> Self {
        Self {
            size: summary.size,
            etag: CompactEtag::new(&summary.etag),
            mod_time: summary.last_modified.into(),
        }
    }

    /// The listing entry for `key`.
    pub fn summary(&self, key: String) -> ObjectSummary {
        ObjectSummary {
            key,
            size: self.size,
            etag: self.etag.text(),
            last_modified: self.mod_time.into(),
        }
    }
}

/// What the index knows of one key's object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Slot {
    /// The committed version's facts.
    Known(Facts),
    /// Not known (found by a build, or touched by a heal): a listing reads
    /// the metadata and may fill the slot if it still holds this token.
    Unknown(u64),
    /// A write is running or failed: every listing reads the metadata, and
    /// nothing it reads is kept.
    Unsettled,
}

impl Slot {
    /// Estimated bytes of a slot in the set, beyond the key's own cost.
    pub fn cost(&self) -> usize {
        std::mem::size_of::<Slot>()
            + match self {
                Slot::Known(facts) => facts.etag.heap_bytes(),
                _ => 0,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_round_trip_whatever_their_shape() {
        for etag in [
            "d41d8cd98f00b204e9800998ecf8427e",
            "d41d8cd98f00b204e9800998ecf8427e-12",
            "D41D8CD98F00B204E9800998ECF8427E",
            "d41d8cd98f00b204e9800998ecf8427e-012",
            "d41d8cd98f00b204e9800998ecf8427e-",
            "short",
            "",
            "zz1d8cd98f00b204e9800998ecf8427e",
        ] {
            assert_eq!(CompactEtag::new(etag).text(), etag);
        }
        assert!(matches!(
            CompactEtag::new("d41d8cd98f00b204e9800998ecf8427e"),
            CompactEtag::Md5(_)
        ));
        assert!(matches!(
            CompactEtag::new("d41d8cd98f00b204e9800998ecf8427e-3"),
            CompactEtag::Multipart(_, 3)
        ));
    }
}

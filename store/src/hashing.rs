//! Hashes computed once while a body streams through: MD5 (the ETag) and the
//! checksum a client asked for.

use base64::Engine as _;
use md5::{Digest as _, Md5};

use crate::api::{Checksum, ChecksumAlgorithm};

enum ChecksumState {
    Crc32(crc32fast::Hasher),
    Crc32c(crc_fast::Digest),
    Crc64Nvme(crc_fast::Digest),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

/// MD5 plus an optional S3 checksum over the same bytes.
pub struct BodyHasher {
    md5: Option<Md5>,
    checksum: Option<(ChecksumAlgorithm, ChecksumState)>,
}

impl BodyHasher {
    pub fn new(algorithm: Option<ChecksumAlgorithm>) -> Self {
        Self {
            md5: Some(Md5::new()),
            checksum: algorithm.map(|a| (a, checksum_state(a))),
        }
    }

    /// MD5 only: it is the slowest per-byte step of a write (~0.5 GiB/s), so
    /// streaming writes give it a thread of its own and compute the checksum
    /// elsewhere ([`BodyHasher::checksum_only`]).
    pub fn md5_only() -> Self {
        Self {
            md5: Some(Md5::new()),
            checksum: None,
        }
    }

    /// The requested checksum only; [`BodyHasher::finish`] then reports an
    /// all-zero MD5.
    pub fn checksum_only(algorithm: Option<ChecksumAlgorithm>) -> Self {
        Self {
            md5: None,
            checksum: algorithm.map(|a| (a, checksum_state(a))),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        if let Some(md5) = &mut self.md5 {
            md5.update(bytes);
        }
        if let Some((_, state)) = &mut self.checksum {
            match state {
                ChecksumState::Crc32(h) => h.update(bytes),
                ChecksumState::Crc32c(h) | ChecksumState::Crc64Nvme(h) => h.update(bytes),
                ChecksumState::Sha1(h) => sha1::Digest::update(h, bytes),
                ChecksumState::Sha256(h) => sha2::Digest::update(h, bytes),
            }
        }
    }

    /// The binary MD5 and the checksum in S3's base64 form.
    pub fn finish(self) -> ([u8; 16], Option<Checksum>) {
        let md5: [u8; 16] = self.md5.map(|m| m.finalize().into()).unwrap_or_default();
        let checksum = self.checksum.map(|(algorithm, state)| Checksum {
            algorithm,
            value_b64: base64::engine::general_purpose::STANDARD.encode(raw_digest(state)),
        });
        (md5, checksum)
    }
}

fn checksum_state(algorithm: ChecksumAlgorithm) -> ChecksumState {
    match algorithm {
        ChecksumAlgorithm::Crc32 => ChecksumState::Crc32(crc32fast::Hasher::new()),
        ChecksumAlgorithm::Crc32c => {
            ChecksumState::Crc32c(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi))
        }
        ChecksumAlgorithm::Crc64Nvme => {
            ChecksumState::Crc64Nvme(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Nvme))
        }
        ChecksumAlgorithm::Sha1 => ChecksumState::Sha1(sha1::Digest::new()),
        ChecksumAlgorithm::Sha256 => ChecksumState::Sha256(sha2::Digest::new()),
    }
}

fn raw_digest(state: ChecksumState) -> Vec<u8> {
    match state {
        ChecksumState::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
        ChecksumState::Crc32c(h) => (h.finalize() as u32).to_be_bytes().to_vec(),
        ChecksumState::Crc64Nvme(h) => h.finalize().to_be_bytes().to_vec(),
        ChecksumState::Sha1(h) => sha1::Digest::finalize(h).to_vec(),
        ChecksumState::Sha256(h) => sha2::Digest::finalize(h).to_vec(),
    }
}

/// Hashes `data` in one go with `algorithm` (for composite checksums).
pub fn digest(algorithm: ChecksumAlgorithm, data: &[u8]) -> Vec<u8> {
    let mut state = checksum_state(algorithm);
    match &mut state {
        ChecksumState::Crc32(h) => h.update(data),
        ChecksumState::Crc32c(h) | ChecksumState::Crc64Nvme(h) => h.update(data),
        ChecksumState::Sha1(h) => sha1::Digest::update(h, data),
        ChecksumState::Sha256(h) => sha2::Digest::update(h, data),
    }
    raw_digest(state)
}

/// The CRC of a whole object from the big-endian CRCs of its consecutive
/// pieces and their lengths (S3's FULL_OBJECT multipart checksum); `None`
/// for a non-CRC algorithm or a value of the wrong width.
pub fn combine_crcs(algorithm: ChecksumAlgorithm, pieces: &[(Vec<u8>, u64)]) -> Option<Vec<u8>> {
    let (crc_algorithm, width) = match algorithm {
        ChecksumAlgorithm::Crc32 => (crc_fast::CrcAlgorithm::Crc32IsoHdlc, 4),
        ChecksumAlgorithm::Crc32c => (crc_fast::CrcAlgorithm::Crc32Iscsi, 4),
        ChecksumAlgorithm::Crc64Nvme => (crc_fast::CrcAlgorithm::Crc64Nvme, 8),
        ChecksumAlgorithm::Sha1 | ChecksumAlgorithm::Sha256 => return None,
    };
    let mut combined: Option<u64> = None;
    for (raw, len) in pieces {
        if raw.len() != width {
            return None;
        }
        let crc = raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        combined = Some(match combined {
            None => crc,
            Some(before) => crc_fast::checksum_combine(crc_algorithm, before, crc, *len),
        });
    }
    let value = combined.unwrap_or(0);
    Some(value.to_be_bytes()[8 - width..].to_vec())
}

/// Decodes a base64 checksum value to raw bytes.
pub fn decode_b64(value: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(value).ok()
}

/// Encodes raw bytes as base64.
pub fn encode_b64(value: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checksum_of(algorithm: ChecksumAlgorithm, data: &[u8]) -> String {
        let mut hasher = BodyHasher::new(Some(algorithm));
        let (first, second) = data.split_at(data.len() / 2);
        hasher.update(first);
        hasher.update(second);
        hasher.finish().1.unwrap().value_b64
    }

    #[test]
    fn checksums_match_known_s3_values() {
        // Values for "hello world" as the AWS SDKs compute them.
        let data = b"hello world";
        assert_eq!(checksum_of(ChecksumAlgorithm::Crc32, data), "DUoRhQ==");
        assert_eq!(checksum_of(ChecksumAlgorithm::Crc32c, data), "yZRlqg==");
        assert_eq!(
            checksum_of(ChecksumAlgorithm::Sha1, data),
            "Kq5sNclPz7QV2+lfQIuc6R7oRu0="
        );
        assert_eq!(
            checksum_of(ChecksumAlgorithm::Sha256, data),
            "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="
        );
        assert_eq!(
            checksum_of(ChecksumAlgorithm::Crc64Nvme, data),
            "jSnVw/bqjr4="
        );
    }

    #[test]
    fn md5_is_the_etag_digest() {
        let mut hasher = BodyHasher::new(None);
        hasher.update(b"hello");
        assert_eq!(
            hex::encode(hasher.finish().0),
            "5d41402abc4b2a76b9719d911017c592"
        );
    }

    proptest::proptest! {
        /// S3's FULL_OBJECT multipart checksum: the part CRCs combined with
        /// their lengths equal the CRC of the whole object, for any split.
        #[test]
        fn combined_part_crcs_equal_the_whole_object_crc(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..4096),
            cuts in proptest::collection::vec(0usize..4096, 0..6),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.push(0);
            cuts.push(data.len());
            cuts.sort_unstable();
            for algorithm in [
                ChecksumAlgorithm::Crc32,
                ChecksumAlgorithm::Crc32c,
                ChecksumAlgorithm::Crc64Nvme,
            ] {
                let pieces: Vec<(Vec<u8>, u64)> = cuts
                    .windows(2)
                    .map(|w| (digest(algorithm, &data[w[0]..w[1]]), (w[1] - w[0]) as u64))
                    .collect();
                proptest::prop_assert_eq!(
                    combine_crcs(algorithm, &pieces),
                    Some(digest(algorithm, &data)),
                    "{} over {:?}", algorithm, cuts
                );
            }
        }
    }

    #[test]
    fn shas_do_not_combine() {
        let piece = (digest(ChecksumAlgorithm::Sha256, b"a"), 1);
        assert_eq!(combine_crcs(ChecksumAlgorithm::Sha256, &[piece]), None);
    }
}

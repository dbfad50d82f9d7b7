//! madmin's payload encryption, as MinIO's admin clients (madmin-go, `mc`,
//! minio-py's `MinioAdmin`) send secrets and expect user lists.
//!
//! A message is a 41-byte header — a 32-byte random salt, one AEAD id byte
//! (0 AES-256-GCM, 1 ChaCha20-Poly1305; 2, PBKDF2 for FIPS builds, is not
//! accepted) and an 8-byte random nonce — followed by the sio "DARE" stream
//! of the body. The key is Argon2id(password = the caller's secret key,
//! salt, 1 pass, 64 MiB, 4 lanes, 32 bytes). The stream cuts the body into
//! 16 KiB fragments, each sealed with nonce ‖ little-endian sequence number
//! (from 1) and associated data `flag ‖ tag`, where `tag` seals nothing
//! under sequence number 0 and `flag` is 0x80 on the final fragment (0
//! before), so fragments can be neither reordered nor cut off.

use aes_gcm::Aes256Gcm;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;

/// Salt ‖ AEAD id ‖ nonce.
pub const HEADER_LEN: usize = SALT_LEN + 1 + NONCE_LEN;
const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 8;
const TAG_LEN: usize = 16;
/// Plaintext bytes per sealed fragment (sio's default buffer size).
const FRAGMENT_LEN: usize = 16 * 1024;
const FINAL_FLAG: u8 = 0x80;

/// madmin's fixed Argon2id cost (the client chooses nothing).
const ARGON2_MEMORY_KIB: u32 = 64 * 1024;
const ARGON2_PASSES: u32 = 1;
const ARGON2_LANES: u32 = 4;

/// The AEAD a message is sealed with (its id byte in the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AeadId {
    /// 0x00, what clients on machines with AES instructions send.
    Aes256Gcm,
    /// 0x01.
    ChaCha20Poly1305,
}

impl AeadId {
    fn byte(self) -> u8 {
        match self {
            AeadId::Aes256Gcm => 0,
            AeadId::ChaCha20Poly1305 => 1,
        }
    }
}

/// Why a payload did not decrypt.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MadminCryptoError {
    /// Shorter than the 41-byte header.
    #[error("the encrypted payload is shorter than its header")]
    TooShort,
    /// An AEAD id this server does not implement (2 is PBKDF2 for FIPS).
    #[error("unsupported encryption algorithm id {0}")]
    UnsupportedAead(u8),
    /// A fragment did not authenticate: another secret key, or tampering.
    #[error("the payload does not decrypt with the caller's secret key")]
    NotAuthentic,
}

enum Cipher {
    Aes(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

impl Cipher {
    fn new(id: AeadId, password: &str, salt: &[u8]) -> Self {
        let params = argon2::Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, Some(32))
            .expect("constant Argon2 parameters are valid");
        let kdf = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut key = [0u8; 32];
        kdf.hash_password_into(password.as_bytes(), salt, &mut key)
            .expect("salt and output lengths are within Argon2's limits");
        match id {
            AeadId::Aes256Gcm => Cipher::Aes(Box::new(
                Aes256Gcm::new_from_slice(&key).expect("32-byte key"),
            )),
            AeadId::ChaCha20Poly1305 => Cipher::ChaCha(Box::new(
                ChaCha20Poly1305::new_from_slice(&key).expect("32-byte key"),
            )),
        }
    }

    fn seal(&self, nonce: &[u8; 12], aad: &[u8], msg: &[u8]) -> Vec<u8> {
        let payload = Payload { msg, aad };
        match self {
            Cipher::Aes(c) => c.encrypt(nonce.into(), payload),
            Cipher::ChaCha(c) => c.encrypt(nonce.into(), payload),
        }
        .expect("in-memory encryption cannot fail")
    }

    fn open(&self, nonce: &[u8; 12], aad: &[u8], msg: &[u8]) -> Result<Vec<u8>, MadminCryptoError> {
        let payload = Payload { msg, aad };
        match self {
            Cipher::Aes(c) => c.decrypt(nonce.into(), payload),
            Cipher::ChaCha(c) => c.decrypt(nonce.into(), payload),
        }
        .map_err(|_| MadminCryptoError::NotAuthentic)
    }
}

fn fragment_nonce(nonce: &[u8; NONCE_LEN], sequence: u32) -> [u8; 12] {
    let mut full = [0u8; 12];
    full[..NONCE_LEN].copy_from_slice(nonce);
    full[NONCE_LEN..].copy_from_slice(&sequence.to_le_bytes());
    full
}

/// The stream's associated data: flag byte (0) ‖ the tag of sealing
/// nothing under sequence number 0.
fn stream_aad(cipher: &Cipher, nonce: &[u8; NONCE_LEN]) -> Vec<u8> {
    let mut aad = vec![0u8];
    aad.extend(cipher.seal(&fragment_nonce(nonce, 0), &[], &[]));
    aad
}

/// Encrypts `plaintext` for a client holding `password` (its secret key),
/// with AES-256-GCM and a fresh random salt and nonce.
pub fn encrypt(password: &str, plaintext: &[u8]) -> Vec<u8> {
    encrypt_with(
        password,
        plaintext,
        AeadId::Aes256Gcm,
        rand::random(),
        rand::random(),
    )
}

/// [`encrypt`] with the algorithm, salt and nonce chosen by the caller
/// (tests; a real message needs fresh random ones).
pub fn encrypt_with(
    password: &str,
    plaintext: &[u8],
    id: AeadId,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
) -> Vec<u8> {
    let cipher = Cipher::new(id, password, &salt);
    let mut aad = stream_aad(&cipher, &nonce);
    let fragments = plaintext.len().div_ceil(FRAGMENT_LEN).max(1);
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + fragments * TAG_LEN);
    out.extend_from_slice(&salt);
    out.push(id.byte());
    out.extend_from_slice(&nonce);
    // An empty body is one empty final fragment, as sio writes it.
    for index in 0..fragments {
        let start = index * FRAGMENT_LEN;
        let chunk = &plaintext[start..(start + FRAGMENT_LEN).min(plaintext.len())];
        if index + 1 == fragments {
            aad[0] = FINAL_FLAG;
        }
        let sequence = u32::try_from(index + 1).expect("admin payloads are far below 64 TiB");
        out.extend(cipher.seal(&fragment_nonce(&nonce, sequence), &aad, chunk));
    }
    out
}

/// Decrypts a message sealed by a client under `password` (the secret key
/// the request was signed with). A header with no fragment at all is the
/// empty body (minio-py writes it so).
pub fn decrypt(password: &str, data: &[u8]) -> Result<Vec<u8>, MadminCryptoError> {
    if data.len() < HEADER_LEN {
        return Err(MadminCryptoError::TooShort);
    }
    let (salt, rest) = data.split_at(SALT_LEN);
    let id = match rest[0] {
        0 => AeadId::Aes256Gcm,
        1 => AeadId::ChaCha20Poly1305,
        other => return Err(MadminCryptoError::UnsupportedAead(other)),
    };
    let nonce: [u8; NONCE_LEN] = rest[1..1 + NONCE_LEN].try_into().expect("sliced to length");
    let body = &rest[1 + NONCE_LEN..];
    let cipher = Cipher::new(id, password, salt);
    let mut aad = stream_aad(&cipher, &nonce);
    let mut plain = Vec::with_capacity(body.len());
    let sealed_len = FRAGMENT_LEN + TAG_LEN;
    let mut fragments = body.chunks(sealed_len).peekable();
    let mut sequence = 0u32;
    while let Some(fragment) = fragments.next() {
        sequence = sequence
            .checked_add(1)
            .ok_or(MadminCryptoError::NotAuthentic)?;
        if fragments.peek().is_none() {
            aad[0] = FINAL_FLAG;
        }
        plain.extend(cipher.open(&fragment_nonce(&nonce, sequence), &aad, fragment)?);
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The password the fixtures were encrypted under.
    const FIXTURE_PASSWORD: &str = "minioadmin-secret";
    /// What `python-aes-small.bin` holds: an `add-user` body.
    const SMALL: &[u8] = br#"{"secretKey":"alice-secret-key-1","status":"enabled"}"#;

    /// The 40,000 bytes (three fragments, the last one short) of the large
    /// fixtures.
    fn large_plaintext() -> Vec<u8> {
        (0..40_000u32)
            .map(|i| ((i * 7 + i / 251) % 256) as u8)
            .collect()
    }

    /// Blobs written by the real client library: minio-py 7.2's
    /// `minio.crypto.encrypt` (AES-256-GCM), and for ChaCha20-Poly1305 the
    /// same module's key, nonce and associated-data helpers with AEAD id 1
    /// (minio-py itself only sends id 0; Go clients without AES
    /// instructions send 1).
    #[test]
    fn decrypts_what_the_minio_python_client_encrypted() {
        let small = include_bytes!("fixtures/python-aes-small.bin");
        assert_eq!(decrypt(FIXTURE_PASSWORD, small).unwrap(), SMALL);
        let aes = include_bytes!("fixtures/python-aes-40000.bin");
        assert_eq!(aes[SALT_LEN], 0);
        assert_eq!(decrypt(FIXTURE_PASSWORD, aes).unwrap(), large_plaintext());
        let chacha = include_bytes!("fixtures/python-chacha-40000.bin");
        assert_eq!(chacha[SALT_LEN], 1);
        assert_eq!(
            decrypt(FIXTURE_PASSWORD, chacha).unwrap(),
            large_plaintext()
        );
        assert_eq!(
            decrypt("another-secret", small),
            Err(MadminCryptoError::NotAuthentic)
        );
    }

    #[test]
    fn round_trips_with_both_algorithms_and_every_fragment_boundary() {
        for id in [AeadId::Aes256Gcm, AeadId::ChaCha20Poly1305] {
            for len in [
                0,
                1,
                FRAGMENT_LEN - 1,
                FRAGMENT_LEN,
                FRAGMENT_LEN + 1,
                40_000,
            ] {
                let plain = &large_plaintext()[..len];
                let sealed = encrypt_with("pw-12345678", plain, id, [3; 32], [9; 8]);
                let fragments = len.div_ceil(FRAGMENT_LEN).max(1);
                assert_eq!(sealed.len(), HEADER_LEN + len + fragments * TAG_LEN);
                assert_eq!(
                    decrypt("pw-12345678", &sealed).unwrap(),
                    plain,
                    "{id:?} {len}"
                );
            }
        }
        let sealed = encrypt("pw-12345678", SMALL);
        assert_eq!(sealed[SALT_LEN], 0, "AES-256-GCM by default");
        assert_ne!(
            encrypt("pw-12345678", SMALL),
            sealed,
            "fresh salt and nonce"
        );
        assert_eq!(decrypt("pw-12345678", &sealed).unwrap(), SMALL);
    }

    /// The final-fragment flag and the sequence numbers are authenticated:
    /// a stream cut after a full fragment, fragments swapped, or a flipped
    /// byte do not decrypt.
    #[test]
    fn truncated_reordered_or_altered_streams_are_refused() {
        let plain = large_plaintext();
        let sealed = encrypt_with("pw-12345678", &plain, AeadId::Aes256Gcm, [1; 32], [2; 8]);
        let sealed_len = FRAGMENT_LEN + TAG_LEN;
        let cut = &sealed[..HEADER_LEN + sealed_len];
        assert_eq!(
            decrypt("pw-12345678", cut),
            Err(MadminCryptoError::NotAuthentic)
        );
        let mut swapped = sealed[..HEADER_LEN].to_vec();
        swapped.extend_from_slice(&sealed[HEADER_LEN + sealed_len..HEADER_LEN + 2 * sealed_len]);
        swapped.extend_from_slice(&sealed[HEADER_LEN..HEADER_LEN + sealed_len]);
        swapped.extend_from_slice(&sealed[HEADER_LEN + 2 * sealed_len..]);
        assert_eq!(
            decrypt("pw-12345678", &swapped),
            Err(MadminCryptoError::NotAuthentic)
        );
        let mut flipped = sealed.clone();
        flipped[HEADER_LEN + 5] ^= 1;
        assert_eq!(
            decrypt("pw-12345678", &flipped),
            Err(MadminCryptoError::NotAuthentic)
        );
        assert_eq!(
            decrypt("pw-12345678", &sealed[..40]),
            Err(MadminCryptoError::TooShort)
        );
        let mut fips = sealed.clone();
        fips[SALT_LEN] = 2;
        assert_eq!(
            decrypt("pw-12345678", &fips),
            Err(MadminCryptoError::UnsupportedAead(2))
        );
    }
}

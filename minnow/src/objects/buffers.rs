//! Part buffers reused between the parts of local-file uploads: a fresh
//! 16 MiB buffer costs the kernel 4,096 page faults as the file read first
//! touches it, one back from a sent part is already mapped. At most
//! [`KEPT`] wait here, the number of parts mirror has in flight at once,
//! so memory stays within the bound it documents.

use std::sync::Mutex;

use bytes::Bytes;

/// Buffers kept for reuse: 8 large objects × 4 parts in flight.
const KEPT: usize = 32;

static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// An empty buffer with room for `len` bytes, reused when one is free
/// and not over twice that (a small file never holds a part's buffer).
pub(super) fn take(len: usize) -> Vec<u8> {
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let fits = |b: &Vec<u8>| b.capacity() >= len && b.capacity() / 2 <= len;
    match pool.iter().position(fits) {
        Some(at) => {
            let mut buffer = pool.swap_remove(at);
            buffer.clear();
            buffer
        }
        None => Vec::with_capacity(len),
    }
}

/// Returns a body's buffer once its request is done (when nothing else
/// still holds the bytes).
pub(super) fn give_back(bytes: Bytes) {
    if let Ok(buffer) = bytes.try_into_mut() {
        let buffer: Vec<u8> = buffer.into();
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < KEPT {
            pool.push(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_buffer_is_reused_without_a_new_allocation() {
        let mut first = take(1 << 20);
        first.extend_from_slice(&[7u8; 1000]);
        let address = first.as_ptr();
        give_back(Bytes::from(first));
        let small = take(1000);
        assert_ne!(small.as_ptr(), address, "too big for 1,000 bytes");
        let again = take(1 << 20);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), address, "the same memory");
        // Bytes still shared elsewhere are not taken back.
        let shared = Bytes::from(vec![1u8; 10]);
        let _other = shared.clone();
        give_back(shared);
    }
}

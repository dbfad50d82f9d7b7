//! How a large body is cut into multipart-upload parts.

/// S3's limit on parts per upload.
pub const MAX_PARTS: u64 = 10_000;

/// The part size for `length` bytes: at least `part_size`, grown so that
/// the upload needs at most [`MAX_PARTS`] parts.
pub fn part_size_for(length: u64, part_size: u64) -> u64 {
    part_size.max(length.div_ceil(MAX_PARTS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_grow_so_that_ten_thousand_cover_the_body() {
        let mib = 1024 * 1024;
        assert_eq!(part_size_for(100 * mib, 16 * mib), 16 * mib);
        let huge = 5 * 1024 * 1024 * mib;
        let size = part_size_for(huge, 16 * mib);
        assert!(size * MAX_PARTS >= huge && size > 16 * mib);
        assert!((size - 1) * MAX_PARTS < huge);
    }
}

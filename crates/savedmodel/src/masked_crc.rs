//! TensorFlow's masked CRC32C, used by checkpoint tables, tensor bundles and TFRecord files.
//!
//! LevelDB masks stored CRCs (rotate, then add a constant) because the CRC of a string that
//! embeds its own CRC is degenerate; TensorFlow kept the scheme for every format it writes.

const CRC_MASK_DELTA: u32 = 0xa282_ead8;

/// The CRC32C that a stored, masked checksum stands for.
pub(crate) fn unmask_crc(masked: u32) -> u32 {
    masked.wrapping_sub(CRC_MASK_DELTA).rotate_left(15)
}

/// The inverse of [`unmask_crc`]: the checksum as TensorFlow stores it.
pub(crate) fn mask_crc(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(CRC_MASK_DELTA)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_round_trips() {
        for crc in [0, 1, 0x1234_5678, u32::MAX] {
            assert_eq!(unmask_crc(mask_crc(crc)), crc);
        }
    }
}

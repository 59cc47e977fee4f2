//! HPACK prefixed integers (RFC 7541 §5.1).
//!
//! Decoding is strict: a value must fit in `u32` and take at most five continuation octets, so
//! a peer cannot make us loop over a long run of `0x80` octets or wrap an index around.

use super::DecodeError;

/// Continuation octets after the prefix: 5 × 7 bits cover every `u32`.
const MAX_CONTINUATION_OCTETS: usize = 5;

/// Decodes the integer whose `prefix_bits`-bit prefix is in `buf[*pos]` (the caller checked
/// `*pos < buf.len()`), advancing `*pos` past it.
#[inline]
pub(crate) fn decode(buf: &[u8], pos: &mut usize, prefix_bits: u32) -> Result<u32, DecodeError> {
    let mask = (1u32 << prefix_bits) - 1;
    let first = u32::from(buf[*pos]) & mask;
    *pos += 1;
    if first < mask {
        return Ok(first);
    }
    let mut value = u64::from(mask);
    for i in 0..MAX_CONTINUATION_OCTETS {
        let octet = *buf.get(*pos).ok_or(DecodeError::Truncated)?;
        *pos += 1;
        value += u64::from(octet & 0x7f) << (7 * i);
        if value > u64::from(u32::MAX) {
            return Err(DecodeError::IntegerOverflow);
        }
        if octet & 0x80 == 0 {
            return Ok(value as u32);
        }
    }
    Err(DecodeError::IntegerOverflow)
}

/// Appends `value` with a `prefix_bits`-bit prefix; `flags` holds the representation's bits
/// above the prefix.
#[inline]
pub(crate) fn encode(dst: &mut Vec<u8>, flags: u8, prefix_bits: u32, value: usize) {
    let mask = (1usize << prefix_bits) - 1;
    if value < mask {
        dst.push(flags | value as u8);
        return;
    }
    dst.push(flags | mask as u8);
    let mut rest = value - mask;
    while rest >= 0x80 {
        dst.push((rest & 0x7f) as u8 | 0x80);
        rest >>= 7;
    }
    dst.push(rest as u8);
}

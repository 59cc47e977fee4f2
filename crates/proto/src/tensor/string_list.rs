//! TensorFlow's encoding of a string tensor inside `tensor_content` (`port::EncodeStringList`):
//! the varint32 length of every element first, then all the element bytes back to back.

use tensorserve_core::Status;

/// Appends the encoding of `strings` to `out`.
pub(crate) fn encode(strings: &[Vec<u8>], out: &mut Vec<u8>) {
    let payload: usize = strings.iter().map(Vec::len).sum();
    out.reserve(strings.len() * 2 + payload);
    for s in strings {
        // TensorFlow lengths are uint32; larger strings cannot be sent in one message anyway.
        put_varint32(out, s.len() as u32);
    }
    for s in strings {
        out.extend_from_slice(s);
    }
}

/// Decodes exactly `n` strings; every byte of `bytes` must be used.
pub(crate) fn decode(bytes: &[u8], n: usize, max_bytes: usize) -> Result<Vec<Vec<u8>>, Status> {
    let bad = |why: &str| {
        Status::invalid_argument(format!(
            "tensor_content of a string tensor with {n} elements is malformed: {why}"
        ))
    };
    // Every element takes at least one length byte, which bounds `n` before allocating.
    if n > bytes.len() {
        return Err(bad("fewer bytes than elements"));
    }
    let mut rest = bytes;
    let mut sizes = Vec::with_capacity(n);
    let mut total: usize = 0;
    for _ in 0..n {
        let (len, used) = get_varint32(rest).ok_or_else(|| bad("truncated length"))?;
        rest = &rest[used..];
        let len = len as usize;
        total = total.saturating_add(len);
        sizes.push(len);
    }
    if total != rest.len() {
        return Err(bad(&format!(
            "the lengths add up to {total} bytes but {} follow them",
            rest.len()
        )));
    }
    super::check_bytes(n, total, max_bytes, true)?;
    let mut out = Vec::with_capacity(n);
    for len in sizes {
        let (head, tail) = rest.split_at(len);
        out.push(head.to_vec());
        rest = tail;
    }
    Ok(out)
}

fn put_varint32(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint32 as TensorFlow's `GetVarint32Ptr` does: at most five bytes, bits past the
/// 32nd dropped. Returns the value and the bytes used, or `None` if the input ends first.
fn get_varint32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut result: u32 = 0;
    for (i, &byte) in bytes.iter().take(5).enumerate() {
        let shift = 7 * i as u32;
        if byte & 0x80 != 0 {
            result |= u32::from(byte & 0x7f).wrapping_shl(shift);
        } else {
            result |= u32::from(byte).wrapping_shl(shift);
            return Some((result, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_including_long_and_empty_strings() {
        let strings = vec![b"".to_vec(), b"abc".to_vec(), vec![7u8; 300]];
        let mut bytes = Vec::new();
        encode(&strings, &mut bytes);
        // Lengths first: 0, 3, then 300 as the two-byte varint ac 02.
        assert_eq!(&bytes[..4], &[0, 3, 0xac, 0x02]);
        assert_eq!(decode(&bytes, 3, usize::MAX).unwrap(), strings);
    }

    #[test]
    fn malformed_lists_are_errors() {
        let mut bytes = Vec::new();
        encode(&[b"ab".to_vec()], &mut bytes);
        assert!(decode(&bytes, 2, usize::MAX).is_err()); // too few elements encoded
        assert!(decode(&bytes[..2], 1, usize::MAX).is_err()); // payload cut short
        let mut extra = bytes.clone();
        extra.push(b'!');
        assert!(decode(&extra, 1, usize::MAX).is_err()); // trailing bytes
        assert!(decode(&[0x80, 0x80], 1, usize::MAX).is_err()); // unterminated varint
        assert!(decode(&[0xff; 6], 1, usize::MAX).is_err()); // varint longer than five bytes
    }
}

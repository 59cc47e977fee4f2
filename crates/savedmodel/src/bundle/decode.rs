//! Turning the stored bytes of one tensor into [`TensorData`], and computing the checksum
//! TensorFlow records for them.
//!
//! Numbers are stored raw, in the byte order the header names (little endian in practice), and
//! their checksum is the CRC32C of those bytes.
//!
//! Strings (`DT_STRING`) are stored as, for N elements:
//! `[varint64 len_0] .. [varint64 len_N-1] [u32 masked CRC of the lengths] [bytes_0] .. [bytes_N-1]`.
//! The running CRC covers each length *as a fixed-width integer* (4 bytes when it fits in a u32 —
//! what every TF release writes for such lengths — else 8), in the writer's byte order, not the
//! varint bytes; then the 4 stored checksum bytes; then the string bytes. The lengths checksum is
//! checked on the way, as TensorFlow's `ReadStringTensor` does.

use tensorserve_core::{DType, TensorData};

use super::table::{read_varint, unmask_crc};

/// The byte order of a bundle's data files, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ByteOrder {
    /// Every TF build on x86 and ARM writes this.
    Little,
    /// Written by TF on s390x; read by swapping, as TensorFlow does.
    Big,
}

/// Decodes `bytes`, the stored form of `count` elements of `dtype`, and returns the values with
/// the (unmasked) CRC32C that TensorFlow computes over them. The error describes the problem.
pub(super) fn decode(
    dtype: DType,
    count: usize,
    bytes: &[u8],
    order: ByteOrder,
) -> Result<(TensorData, u32), String> {
    if dtype == DType::String {
        return decode_strings(count, bytes, order);
    }
    let width = dtype.size_of().expect("only strings have no fixed size");
    let expected = count.checked_mul(width);
    if expected != Some(bytes.len()) {
        return Err(format!(
            "stored size is {} bytes but {count} {dtype} values take {}",
            bytes.len(),
            expected.map_or_else(|| "too many".to_string(), |n| n.to_string())
        ));
    }
    Ok((decode_numbers(dtype, bytes, order), crc32c::crc32c(bytes)))
}

/// Decodes fixed-width values; `bytes.len()` is already a multiple of the width.
fn decode_numbers(dtype: DType, bytes: &[u8], order: ByteOrder) -> TensorData {
    macro_rules! numbers {
        ($variant:ident, $t:ty) => {
            TensorData::$variant(
                bytes
                    .chunks_exact(std::mem::size_of::<$t>())
                    .map(|c| {
                        let c = c.try_into().expect("chunks have the type's width");
                        match order {
                            ByteOrder::Little => <$t>::from_le_bytes(c),
                            ByteOrder::Big => <$t>::from_be_bytes(c),
                        }
                    })
                    .collect(),
            )
        };
    }
    match dtype {
        DType::F32 => numbers!(F32, f32),
        DType::F64 => numbers!(F64, f64),
        DType::I8 => numbers!(I8, i8),
        DType::I16 => numbers!(I16, i16),
        DType::I32 => numbers!(I32, i32),
        DType::I64 => numbers!(I64, i64),
        DType::U8 => numbers!(U8, u8),
        DType::U16 => numbers!(U16, u16),
        DType::U32 => numbers!(U32, u32),
        DType::U64 => numbers!(U64, u64),
        // Half floats stay bit patterns, which swap like any u16.
        DType::F16 => numbers!(F16, u16),
        // TF's bool is one byte holding 0 or 1; like TF, treat any non-zero byte as true.
        DType::Bool => TensorData::Bool(bytes.iter().map(|&b| b != 0).collect()),
        DType::String => unreachable!("strings are decoded by decode_strings"),
    }
}

fn decode_strings(
    count: usize,
    bytes: &[u8],
    order: ByteOrder,
) -> Result<(TensorData, u32), String> {
    // TensorFlow accepts an empty extent for an empty tensor (its reader returns early).
    if bytes.is_empty() && count == 0 {
        return Ok((TensorData::String(Vec::new()), 0));
    }
    // Each length takes at least one byte, which bounds `count` before anything is allocated.
    if count > bytes.len() {
        return Err(format!(
            "{} stored bytes cannot hold {count} string lengths",
            bytes.len()
        ));
    }
    let mut pos = 0;
    let mut crc = 0;
    let mut lengths = Vec::with_capacity(count);
    for i in 0..count {
        let len = read_varint(bytes, &mut pos)
            .ok_or_else(|| format!("string length {i} is truncated or malformed"))?;
        crc = match u32::try_from(len) {
            Ok(len) => crc32c::crc32c_append(crc, &in_order_u32(len, order)),
            Err(_) => crc32c::crc32c_append(crc, &in_order_u64(len, order)),
        };
        lengths.push(len);
    }
    let stored = bytes
        .get(pos..pos + 4)
        .ok_or("the string lengths are not followed by their checksum")?;
    let stored_crc = match order {
        ByteOrder::Little => u32::from_le_bytes(stored.try_into().expect("4 bytes")),
        ByteOrder::Big => u32::from_be_bytes(stored.try_into().expect("4 bytes")),
    };
    if unmask_crc(stored_crc) != crc {
        return Err(format!(
            "checksum of the string lengths does not match (stored {:08x}, computed {crc:08x})",
            unmask_crc(stored_crc)
        ));
    }
    crc = crc32c::crc32c_append(crc, stored);
    pos += 4;
    let strings_start = pos;
    let mut strings = Vec::with_capacity(count);
    for (i, len) in lengths.into_iter().enumerate() {
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| pos.checked_add(len))
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| format!("string {i} ({len} bytes) runs past the stored bytes"))?;
        strings.push(bytes[pos..end].to_vec());
        pos = end;
    }
    if pos != bytes.len() {
        return Err(format!(
            "{} bytes are left over after the last string",
            bytes.len() - pos
        ));
    }
    // The strings are contiguous, so one append covers them all.
    let crc = crc32c::crc32c_append(crc, &bytes[strings_start..]);
    Ok((TensorData::String(strings), crc))
}

fn in_order_u32(v: u32, order: ByteOrder) -> [u8; 4] {
    match order {
        ByteOrder::Little => v.to_le_bytes(),
        ByteOrder::Big => v.to_be_bytes(),
    }
}

fn in_order_u64(v: u64, order: ByteOrder) -> [u8; 8] {
    match order {
        ByteOrder::Little => v.to_le_bytes(),
        ByteOrder::Big => v.to_be_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::mask_crc;
    use super::*;

    /// Encodes strings the way TensorFlow's `WriteStringTensor` does, returning bytes and CRC.
    fn encode_strings(strings: &[&[u8]], order: ByteOrder) -> (Vec<u8>, u32) {
        let (mut out, mut crc) = (Vec::new(), 0);
        for s in strings {
            let mut len = s.len() as u64;
            loop {
                let more = len >= 0x80;
                out.push((len as u8 & 0x7f) | if more { 0x80 } else { 0 });
                len >>= 7;
                if !more {
                    break;
                }
            }
            crc = crc32c::crc32c_append(crc, &in_order_u32(s.len() as u32, order));
        }
        let stored = in_order_u32(mask_crc(crc), order);
        out.extend_from_slice(&stored);
        crc = crc32c::crc32c_append(crc, &stored);
        for s in strings {
            out.extend_from_slice(s);
            crc = crc32c::crc32c_append(crc, s);
        }
        (out, crc)
    }

    #[test]
    fn strings_round_trip_in_both_byte_orders() {
        let long = vec![b'x'; 300]; // a two-byte varint length
        let strings: [&[u8]; 4] = [b"", b"a", b"\x00\xff", &long];
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let (bytes, crc) = encode_strings(&strings, order);
            let (data, actual) = decode(DType::String, 4, &bytes, order).unwrap();
            let expected: Vec<Vec<u8>> = strings.iter().map(|s| s.to_vec()).collect();
            assert_eq!(data, TensorData::String(expected));
            assert_eq!(actual, crc);
        }
    }

    #[test]
    fn corrupt_strings_are_errors() {
        let (bytes, _) = encode_strings(&[b"abc", b"de"], ByteOrder::Little);
        let decode = |b: &[u8], n| decode(DType::String, n, b, ByteOrder::Little);
        let mut bad = bytes.clone();
        bad[0] = 4; // a length changes, so the lengths checksum no longer matches
        assert!(decode(&bad, 2).unwrap_err().contains("checksum"));
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], 2).is_err(), "cut at {cut}");
        }
        assert!(decode(&[bytes.as_slice(), b"!"].concat(), 2).is_err());
        assert!(decode(&bytes, 1_000_000).is_err());
        assert_eq!(decode(&[], 0).unwrap().0, TensorData::String(vec![]));
    }

    #[test]
    fn numbers_follow_the_byte_order_and_sizes_are_checked() {
        let le = decode(
            DType::I32,
            2,
            &[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
            ByteOrder::Little,
        );
        assert_eq!(le.unwrap().0, TensorData::I32(vec![1, -1]));
        let be = decode(DType::U16, 1, &[0x01, 0x02], ByteOrder::Big).unwrap();
        assert_eq!(be.0, TensorData::U16(vec![0x0102]));
        assert_eq!(be.1, crc32c::crc32c(&[0x01, 0x02]));
        let bools = decode(DType::Bool, 3, &[0, 1, 2], ByteOrder::Little)
            .unwrap()
            .0;
        assert_eq!(bools, TensorData::Bool(vec![false, true, true]));
        assert!(decode(DType::F32, 2, &[0; 7], ByteOrder::Little).is_err());
        assert!(decode(DType::F64, usize::MAX, &[0; 8], ByteOrder::Little).is_err());
    }
}

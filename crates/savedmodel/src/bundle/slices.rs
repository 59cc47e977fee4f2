//! Partitioned variables: a tensor saved as several slices (`tf.compat.v1` partitioners,
//! sharded embeddings).
//!
//! The full tensor's entry lists its slices and carries no data. Each slice is an ordinary entry
//! under a binary key, TensorFlow's `EncodeTensorNameSlice`: OrderedCode-encoded
//! `(0, name, rank, start_0, length_0, ...)`, with `length` -1 for "the whole dimension". Those
//! keys start with a 0 byte, which is how [`is_slice_key`] tells them from tensor names.
//!
//! Reading stitches the slices back together. Like TensorFlow's `TensorSliceSet`, slices must
//! not overlap and must cover the whole tensor.

use std::ops::Range;

use tensorserve_core::{DType, TensorData};

use super::entry::{TensorSliceProto, element_count};

/// Whether an index key names a slice rather than a tensor (slice keys begin with OrderedCode's
/// encoding of the number 0; tensor names never contain a 0 byte).
pub(super) fn is_slice_key(key: &[u8]) -> bool {
    key.first() == Some(&0)
}

/// One stored slice, resolved against the full shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Slice {
    /// The index range covered in each dimension.
    pub ranges: Vec<Range<usize>>,
    /// The `(start, length)` pairs as TensorFlow encodes them in the key.
    encoded: Vec<(i64, i64)>,
}

/// TensorFlow's `kFullExtent`: a length covering the whole dimension.
const FULL_EXTENT: i64 = -1;

impl Slice {
    /// Resolves `proto` against the full tensor's dimensions.
    pub(super) fn resolve(proto: &TensorSliceProto, dims: &[usize]) -> Result<Slice, String> {
        if proto.extent.len() != dims.len() {
            return Err(format!(
                "a slice has {} extents for a rank-{} tensor",
                proto.extent.len(),
                dims.len()
            ));
        }
        let mut ranges = Vec::with_capacity(dims.len());
        let mut encoded = Vec::with_capacity(dims.len());
        for (extent, &dim) in proto.extent.iter().zip(dims) {
            let (start, length) = match extent.length {
                // A full extent is written as start 0, length absent, and keyed as (0, -1).
                None | Some(FULL_EXTENT) => (0, FULL_EXTENT),
                Some(length) => (extent.start, length),
            };
            let range = if length == FULL_EXTENT {
                0..dim
            } else {
                let start_u = usize::try_from(start).ok();
                let end = start_u.zip(usize::try_from(length).ok());
                match end
                    .and_then(|(s, l)| s.checked_add(l))
                    .filter(|&e| e <= dim)
                {
                    Some(end) => start_u.unwrap_or_default()..end,
                    None => {
                        return Err(format!(
                            "slice extent {start},{length} is outside a dimension of {dim}"
                        ));
                    }
                }
            };
            ranges.push(range);
            encoded.push((start, length));
        }
        Ok(Slice { ranges, encoded })
    }

    /// The shape of the slice's own tensor.
    pub(super) fn dims(&self) -> Vec<usize> {
        self.ranges.iter().map(|r| r.len()).collect()
    }

    /// Whether the slice covers the whole tensor (then TensorFlow keeps it in the full entry).
    pub(super) fn is_full(&self) -> bool {
        self.encoded
            .iter()
            .all(|&(_, length)| length == FULL_EXTENT)
    }

    /// The slice in TensorFlow's text form, e.g. `0,2:-`, for error messages.
    pub(super) fn spec(&self) -> String {
        let parts: Vec<String> = self
            .encoded
            .iter()
            .map(|&(start, length)| match length {
                FULL_EXTENT => "-".to_string(),
                _ => format!("{start},{length}"),
            })
            .collect();
        parts.join(":")
    }

    /// The index key under which the slice of tensor `name` is stored.
    pub(super) fn key(&self, name: &str) -> Vec<u8> {
        let mut key = Vec::new();
        write_unsigned(&mut key, 0);
        write_string(&mut key, name.as_bytes());
        write_unsigned(&mut key, self.encoded.len() as u64);
        for &(start, length) in &self.encoded {
            write_signed(&mut key, start);
            write_signed(&mut key, length);
        }
        key
    }

    fn overlaps(&self, other: &Slice) -> bool {
        let intersect = |(a, b): (&Range<usize>, &Range<usize>)| a.start < b.end && b.start < a.end;
        self.ranges.iter().zip(&other.ranges).all(intersect)
    }
}

/// OrderedCode `WriteNumIncreasing`: a length byte, then the value big-endian without leading
/// zero bytes.
fn write_unsigned(out: &mut Vec<u8>, value: u64) {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    out.push((8 - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// OrderedCode `WriteString`: 0x00 and 0xff escaped as 0x00 0xff and 0xff 0x00, then the
/// separator 0x00 0x01.
fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    for &b in s {
        match b {
            0x00 => out.extend_from_slice(&[0x00, 0xff]),
            0xff => out.extend_from_slice(&[0xff, 0x00]),
            _ => out.push(b),
        }
    }
    out.extend_from_slice(&[0x00, 0x01]);
}

/// OrderedCode `WriteSignedNumIncreasing`: the two's-complement value, big-endian, in the fewest
/// bytes `n` such that it fits in `7n - 1` bits, its top bits overwritten by a unary length
/// header (n-1 ones after the sign bit, for non-negative values; inverted for negative ones).
fn write_signed(out: &mut Vec<u8>, value: i64) {
    /// The header bits that `WriteSignedNumIncreasing` XORs into the first two bytes.
    const HEADER: [[u8; 2]; 11] = [
        [0x00, 0x00],
        [0x80, 0x00],
        [0xc0, 0x00],
        [0xe0, 0x00],
        [0xf0, 0x00],
        [0xf8, 0x00],
        [0xfc, 0x00],
        [0xfe, 0x00],
        [0xff, 0x00],
        [0xff, 0x80],
        [0xff, 0xc0],
    ];
    let magnitude = if value < 0 { !value } else { value } as u64;
    let bits = 64 - magnitude.leading_zeros() as usize;
    let len = bits / 7 + 1;
    let sign = if value < 0 { 0xff } else { 0x00 };
    let mut buf = [sign; 10];
    buf[2..].copy_from_slice(&value.to_be_bytes());
    let begin = buf.len() - len;
    buf[begin] ^= HEADER[len][0];
    if len >= 2 {
        buf[begin + 1] ^= HEADER[len][1];
    }
    out.extend_from_slice(&buf[begin..]);
}

/// Checks that `slices` neither overlap nor leave a gap in a tensor of shape `dims`.
pub(super) fn check_cover(slices: &[Slice], dims: &[usize]) -> Result<(), String> {
    for (i, a) in slices.iter().enumerate() {
        if let Some(b) = slices[i + 1..].iter().find(|b| a.overlaps(b)) {
            return Err(format!("slices {} and {} overlap", a.spec(), b.spec()));
        }
    }
    let total = element_count(dims)?;
    // Without overlaps, the slices cover everything exactly when their sizes add up.
    let covered = slices
        .iter()
        .try_fold(0usize, |n, s| n.checked_add(element_count(&s.dims()).ok()?));
    if covered != Some(total) {
        return Err(format!(
            "the slices cover {} of the {total} elements",
            covered.map_or_else(|| "more than all".to_string(), |n| n.to_string())
        ));
    }
    Ok(())
}

/// Copies each slice's values into place in a tensor of shape `dims`. The slices have been
/// checked by [`check_cover`], and each `TensorData` holds its slice's elements, of `dtype`.
pub(super) fn assemble(
    dtype: DType,
    dims: &[usize],
    parts: Vec<(Slice, TensorData)>,
) -> TensorData {
    let total: usize = dims.iter().product();
    let mut out = TensorData::with_capacity(dtype, total);
    // Element offsets of each part's runs: contiguous along the last dimension.
    let mut order: Vec<(usize, usize, usize)> = Vec::new(); // (dest start, part, src start)
    for (p, (slice, _)) in parts.iter().enumerate() {
        let mut src = 0;
        for_each_run(dims, &slice.ranges, |dest, len| {
            order.push((dest, p, src));
            src += len;
        });
    }
    // Runs are disjoint and cover the tensor, so appending them in destination order builds it.
    order.sort_unstable();
    let run_len = |p: usize| parts[p].0.ranges.last().map_or(1, |r| r.len());
    for (_, p, src) in order {
        let run = parts[p].1.slice(src..src + run_len(p));
        out.extend_from(&run)
            .expect("slices have the tensor's dtype");
    }
    debug_assert_eq!(out.len(), total);
    out
}

/// Calls `f(offset, len)` for each run of consecutive elements of `ranges` in a row-major tensor
/// of shape `dims`, in the slice's own row-major order.
fn for_each_run(dims: &[usize], ranges: &[Range<usize>], mut f: impl FnMut(usize, usize)) {
    let Some((last, outer)) = ranges.split_last() else {
        return f(0, 1); // a scalar is one run of one element
    };
    if ranges.iter().any(|r| r.is_empty()) {
        return;
    }
    let strides: Vec<usize> = (0..dims.len())
        .map(|d| dims[d + 1..].iter().product())
        .collect();
    let mut index: Vec<usize> = outer.iter().map(|r| r.start).collect();
    loop {
        let base: usize = index.iter().zip(&strides).map(|(i, s)| i * s).sum();
        f(base + last.start, last.len());
        // Advance the outer index like an odometer.
        let mut d = outer.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            index[d] += 1;
            if index[d] < outer[d].end {
                break;
            }
            index[d] = outer[d].start;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::entry::Extent;
    use super::*;

    fn slice(extents: &[(i64, Option<i64>)], dims: &[usize]) -> Slice {
        let extent = extents
            .iter()
            .map(|&(start, length)| Extent { start, length })
            .collect();
        Slice::resolve(&TensorSliceProto { extent }, dims).unwrap()
    }

    #[test]
    fn keys_match_tensorflow() {
        // Key of slice "130 0,65" of "big", copied from a TF 2.21 checkpoint index.
        let key = slice(&[(0, Some(65))], &[130]).key("big");
        assert_eq!(key, b"\x00big\x00\x01\x01\x01\x80\xc0\x41");
        let mut out = Vec::new();
        for v in [-1, 63, -64, 64, -65, 8191, 8192, i64::MAX, i64::MIN] {
            write_signed(&mut out, v);
        }
        let expected: &[u8] = b"\x7f\xbf\x40\xc0\x40\x3f\xbf\xdf\xff\xe0\x20\x00\
            \xff\xc0\x7f\xff\xff\xff\xff\xff\xff\xff\
            \x00\x3f\x80\x00\x00\x00\x00\x00\x00\x00";
        assert_eq!(out, expected);
    }

    #[test]
    fn assembles_row_and_column_slices() {
        let dims = [2, 3];
        let left = slice(&[(0, None), (0, Some(1))], &dims);
        let right = slice(&[(0, None), (1, Some(2))], &dims);
        assert_eq!(left.spec(), "-:0,1");
        check_cover(&[left.clone(), right.clone()], &dims).unwrap();
        let parts = vec![
            (right, TensorData::I32(vec![1, 2, 4, 5])),
            (left, TensorData::I32(vec![0, 3])),
        ];
        let data = assemble(DType::I32, &dims, parts);
        assert_eq!(data, TensorData::I32(vec![0, 1, 2, 3, 4, 5]));
    }

    #[test]
    fn gaps_overlaps_and_bad_extents_are_errors() {
        let dims = [4];
        let a = slice(&[(0, Some(2))], &dims);
        let b = slice(&[(1, Some(2))], &dims);
        assert!(
            check_cover(&[a.clone(), b], &dims)
                .unwrap_err()
                .contains("overlap")
        );
        assert!(check_cover(&[a], &dims).unwrap_err().contains("cover"));
        let proto = |start, length| TensorSliceProto {
            extent: vec![Extent { start, length }],
        };
        assert!(Slice::resolve(&proto(3, Some(2)), &dims).is_err());
        assert!(Slice::resolve(&proto(-1, Some(2)), &dims).is_err());
        assert!(Slice::resolve(&proto(0, Some(1)), &[4, 4]).is_err());
        assert!(slice(&[(0, None)], &dims).is_full());
    }
}

//! The LevelDB table ("SSTable") format that TensorFlow uses for a checkpoint's `.index` file.
//!
//! Layout, from the end of the file backwards:
//! - a 48-byte footer: two block handles (the metaindex block, unused here, and the index block),
//!   zero padding, and the 8-byte magic number;
//! - the index block, whose values are handles of the data blocks, in key order;
//! - data blocks of key/value pairs. Keys are prefix-compressed against the previous key, with a
//!   "restart array" of offsets where a full key is stored again (for binary search; a full scan
//!   like ours only needs to bound it).
//!
//! Every block is followed by a 5-byte trailer: a compression type (0 none, 1 Snappy) and the
//! masked CRC32C of the block contents plus that type byte. Old TF releases wrote Snappy blocks
//! (both TF Serving test models have them); current ones write uncompressed blocks.
//!
//! The input is untrusted: every offset and length is checked, so corruption yields an error
//! message, never a panic or a huge allocation.

#[cfg(test)]
pub(super) use crate::masked_crc::mask_crc;
pub(super) use crate::masked_crc::unmask_crc;

/// A key and its value, both as stored.
pub(super) type Record = (Vec<u8>, Vec<u8>);

const FOOTER_LEN: usize = 48;
/// The footer's handles may use at most these bytes; the rest up to the magic is padding.
const FOOTER_HANDLES_LEN: usize = 40;
const MAGIC: u64 = 0xdb47_7524_8b80_fb57;
const TRAILER_LEN: usize = 5;
const NO_COMPRESSION: u8 = 0;
const SNAPPY: u8 = 1;
/// Snappy cannot expand data by more than about 22x (a 3-byte copy op emits at most 64 bytes), so
/// a claimed length beyond this is corruption, and refusing it avoids a huge allocation.
const MAX_SNAPPY_RATIO: usize = 32;
/// Reads a base-128 varint of at most 64 bits at `*pos`, advancing `*pos` past it.
/// `None` if the input ends inside the varint or the value does not fit in 64 bits.
pub(super) fn read_varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*pos)?;
        *pos += 1;
        // The tenth byte may only carry the single remaining bit.
        if shift == 63 && byte > 1 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Reads a varint that must fit in `usize`, naming `what` in the error.
fn read_len(data: &[u8], pos: &mut usize, what: &str) -> Result<usize, String> {
    read_varint(data, pos)
        .and_then(|v| usize::try_from(v).ok())
        .ok_or_else(|| format!("truncated or oversized {what}"))
}

/// Where a block lives in the file (offset and size of its contents, trailer excluded).
#[derive(Debug, Clone, Copy)]
struct BlockHandle {
    offset: usize,
    size: usize,
}

impl BlockHandle {
    fn decode(data: &[u8], pos: &mut usize, what: &str) -> Result<BlockHandle, String> {
        Ok(BlockHandle {
            offset: read_len(data, pos, what)?,
            size: read_len(data, pos, what)?,
        })
    }
}

/// Reads every key/value pair of the table held in `file` (the whole `.index` file), in stored
/// (sorted) order. The error is a description; the caller adds the file name.
pub(super) fn read_table(file: &[u8]) -> Result<Vec<Record>, String> {
    if file.len() < FOOTER_LEN {
        return Err(format!(
            "file is {} bytes, shorter than the {FOOTER_LEN}-byte table footer (truncated?)",
            file.len()
        ));
    }
    let footer = &file[file.len() - FOOTER_LEN..];
    let (handles, magic) = footer.split_at(FOOTER_HANDLES_LEN);
    if u64::from_le_bytes(magic.try_into().expect("footer tail is 8 bytes")) != MAGIC {
        return Err("bad table magic number (not a TensorBundle index, or truncated)".into());
    }
    let mut pos = 0;
    let _metaindex = BlockHandle::decode(handles, &mut pos, "metaindex handle")?;
    let index = BlockHandle::decode(handles, &mut pos, "index handle")?;
    let index_block = read_block(file, index, "index block")?;
    let mut records = Vec::new();
    for (_, handle) in block_records(&index_block, "index block")? {
        let mut pos = 0;
        let handle = BlockHandle::decode(&handle, &mut pos, "data block handle")?;
        let block = read_block(file, handle, "data block")?;
        records.extend(block_records(&block, "data block")?);
    }
    Ok(records)
}

/// Returns a block's contents, checked against its CRC and decompressed.
fn read_block(file: &[u8], handle: BlockHandle, what: &str) -> Result<Vec<u8>, String> {
    let at = handle.offset;
    let end = at
        .checked_add(handle.size)
        .filter(|&e| e.checked_add(TRAILER_LEN).is_some_and(|t| t <= file.len()))
        .ok_or_else(|| {
            format!(
                "{what} at offset {at} (+{} bytes) extends past the end of the {}-byte file",
                handle.size,
                file.len()
            )
        })?;
    let contents = &file[at..end];
    let kind = file[end];
    let stored = u32::from_le_bytes(
        file[end + 1..end + TRAILER_LEN]
            .try_into()
            .expect("4 bytes"),
    );
    // The CRC covers the compression type byte too.
    let actual = crc32c::crc32c_append(crc32c::crc32c(contents), &[kind]);
    if unmask_crc(stored) != actual {
        return Err(format!("{what} at offset {at}: checksum mismatch"));
    }
    match kind {
        NO_COMPRESSION => Ok(contents.to_vec()),
        SNAPPY => {
            let len = snap::raw::decompress_len(contents)
                .map_err(|e| format!("{what} at offset {at}: bad Snappy data: {e}"))?;
            if len > contents.len().saturating_mul(MAX_SNAPPY_RATIO) {
                return Err(format!(
                    "{what} at offset {at}: Snappy claims an implausible {len} bytes"
                ));
            }
            snap::raw::Decoder::new()
                .decompress_vec(contents)
                .map_err(|e| format!("{what} at offset {at}: bad Snappy data: {e}"))
        }
        other => Err(format!(
            "{what} at offset {at}: unknown compression type {other}"
        )),
    }
}

/// Decodes the prefix-compressed records of one (decompressed) block.
fn block_records(block: &[u8], what: &str) -> Result<Vec<Record>, String> {
    // The last 4 bytes count the restart points, whose u32 offsets precede that count.
    let count_at = block
        .len()
        .checked_sub(4)
        .ok_or_else(|| format!("{what} is {} bytes, too short", block.len()))?;
    let restarts = u32::from_le_bytes(block[count_at..].try_into().expect("4 bytes"));
    let records_end = usize::try_from(restarts)
        .ok()
        .and_then(|n| n.checked_mul(4))
        .and_then(|n| count_at.checked_sub(n))
        .ok_or_else(|| format!("{what}: restart array of {restarts} entries does not fit"))?;
    let data = &block[..records_end];
    let mut records = Vec::new();
    let mut key: Vec<u8> = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let shared = read_len(data, &mut pos, "record header")?;
        let unshared = read_len(data, &mut pos, "record header")?;
        let value_len = read_len(data, &mut pos, "record header")?;
        if shared > key.len() {
            return Err(format!(
                "{what}: a record shares {shared} key bytes with a {}-byte previous key",
                key.len()
            ));
        }
        let key_end = pos
            .checked_add(unshared)
            .filter(|&e| e <= data.len())
            .ok_or_else(|| format!("{what}: a key runs past the end of the block"))?;
        let value_end = key_end
            .checked_add(value_len)
            .filter(|&e| e <= data.len())
            .ok_or_else(|| format!("{what}: a value runs past the end of the block"))?;
        key.truncate(shared);
        key.extend_from_slice(&data[pos..key_end]);
        records.push((key.clone(), data[key_end..value_end].to_vec()));
        pos = value_end;
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds one block from sorted records, prefix-compressing keys with a restart every 2.
    fn block(records: &[(&[u8], &[u8])]) -> Vec<u8> {
        let (mut out, mut restarts, mut prev): (Vec<u8>, Vec<u32>, &[u8]) = (vec![], vec![], b"");
        for (i, (k, v)) in records.iter().enumerate() {
            let shared = if i % 2 == 0 {
                restarts.push(out.len() as u32);
                0
            } else {
                prev.iter()
                    .zip(k.iter())
                    .take_while(|(a, b)| a == b)
                    .count()
            };
            for n in [shared, k.len() - shared, v.len()] {
                out.push(n as u8); // all test lengths are < 128, so one varint byte
            }
            out.extend_from_slice(&k[shared..]);
            out.extend_from_slice(v);
            prev = k;
        }
        restarts
            .iter()
            .for_each(|r| out.extend_from_slice(&r.to_le_bytes()));
        out.extend_from_slice(&(restarts.len() as u32).to_le_bytes());
        out
    }

    fn push_block(file: &mut Vec<u8>, contents: &[u8], kind: u8) -> Vec<u8> {
        let handle = [file.len() as u8, contents.len() as u8]; // small test files only
        file.extend_from_slice(contents);
        let crc = crc32c::crc32c_append(crc32c::crc32c(contents), &[kind]);
        file.push(kind);
        file.extend_from_slice(&mask_crc(crc).to_le_bytes());
        handle.to_vec()
    }

    /// A whole table with one data block, optionally Snappy-compressed.
    fn table(records: &[(&[u8], &[u8])], snappy: bool) -> Vec<u8> {
        let mut file = Vec::new();
        let data = block(records);
        let data = if snappy {
            snap::raw::Encoder::new().compress_vec(&data).unwrap()
        } else {
            data
        };
        let data_handle = push_block(&mut file, &data, u8::from(snappy));
        let meta_handle = push_block(&mut file, &block(&[]), 0);
        let last_key = records.last().map_or(&b""[..], |r| r.0);
        let index_handle = push_block(&mut file, &block(&[(last_key, &data_handle)]), 0);
        let mut footer = [meta_handle, index_handle].concat();
        footer.resize(FOOTER_HANDLES_LEN, 0);
        file.extend_from_slice(&footer);
        file.extend_from_slice(&MAGIC.to_le_bytes());
        file
    }

    const RECORDS: [(&[u8], &[u8]); 3] =
        [(b"", b"hdr"), (b"layer/bias", b"1"), (b"layer/w", b"22")];

    #[test]
    fn reads_plain_and_snappy_tables_with_shared_prefixes() {
        for snappy in [false, true] {
            let records = read_table(&table(&RECORDS, snappy)).unwrap();
            let expected: Vec<Record> = RECORDS
                .iter()
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .collect();
            assert_eq!(records, expected, "snappy={snappy}");
        }
    }

    #[test]
    fn every_flipped_byte_or_truncation_is_an_error_not_a_panic() {
        let good = table(&RECORDS, true);
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x41;
            // Padding bytes in the footer are not covered by anything, so may still parse.
            let _ = read_table(&bad);
            assert!(read_table(&good[..i]).is_err(), "truncated to {i} bytes");
        }
        let mut bad = good.clone();
        bad[1] ^= 1; // inside the data block, which the table starts with
        assert!(read_table(&bad).unwrap_err().contains("checksum"));
    }

    #[test]
    fn varints_decode_and_reject_truncation_and_overflow() {
        let mut pos = 0;
        assert_eq!(read_varint(&[0xac, 0x02, 0x07], &mut pos), Some(300));
        assert_eq!(pos, 2);
        assert_eq!(read_varint(&[0xac], &mut 0), None);
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(read_varint(&max, &mut 0), Some(u64::MAX));
        let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(read_varint(&over, &mut 0), None);
    }
}

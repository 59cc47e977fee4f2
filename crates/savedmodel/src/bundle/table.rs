//! The LevelDB table format that TensorFlow uses for `variables.index`: a footer pointing at an
//! index block, whose entries point at data blocks of prefix-compressed key/value pairs.
//!
//! Every block is checked against its masked CRC32C and may be Snappy-compressed (both TF Serving
//! test checkpoints are). Corrupt input gives an error, never a panic: every offset is checked.

use super::BundleError;

const FOOTER_LEN: usize = 48;
const MAGIC: u64 = 0xdb47_7524_8b80_fb57;
const BLOCK_TRAILER_LEN: usize = 5;

/// LevelDB's CRC mask, applied so that CRCs of data containing CRCs stay well distributed.
pub fn unmask_crc(masked: u32) -> u32 {
    let rot = masked.wrapping_sub(0xa282_ead8);
    rot.rotate_left(15)
}

/// Reads a varint64 at `*pos`, advancing it.
pub fn varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn block_handle(data: &[u8], pos: &mut usize) -> Option<(usize, usize)> {
    let offset = usize::try_from(varint(data, pos)?).ok()?;
    let size = usize::try_from(varint(data, pos)?).ok()?;
    Some((offset, size))
}

/// Reads all key/value pairs of the table in `file` (the whole index file).
pub fn read_table(file: &[u8], name: &str) -> Result<Vec<(Vec<u8>, Vec<u8>)>, BundleError> {
    let corrupt = |what: &str| BundleError::Corrupt {
        file: name.to_string(),
        what: what.to_string(),
    };
    if file.len() < FOOTER_LEN {
        return Err(corrupt("file is shorter than a table footer"));
    }
    let footer = &file[file.len() - FOOTER_LEN..];
    let magic = u64::from_le_bytes(footer[40..48].try_into().expect("8 bytes"));
    if magic != MAGIC {
        return Err(corrupt("bad table magic number"));
    }
    let mut pos = 0;
    let _metaindex =
        block_handle(footer, &mut pos).ok_or_else(|| corrupt("bad metaindex handle"))?;
    let index = block_handle(footer, &mut pos).ok_or_else(|| corrupt("bad index handle"))?;
    let index_block = read_block(file, index, name)?;
    let mut entries = Vec::new();
    for (_, handle) in block_entries(&index_block, name)? {
        let mut p = 0;
        let handle =
            block_handle(&handle, &mut p).ok_or_else(|| corrupt("bad data block handle"))?;
        let block = read_block(file, handle, name)?;
        entries.extend(block_entries(&block, name)?);
    }
    Ok(entries)
}

fn read_block(
    file: &[u8],
    (offset, size): (usize, usize),
    name: &str,
) -> Result<Vec<u8>, BundleError> {
    let corrupt = |what: &str| BundleError::Corrupt {
        file: name.to_string(),
        what: what.to_string(),
    };
    let end = offset
        .checked_add(size)
        .and_then(|e| e.checked_add(BLOCK_TRAILER_LEN))
        .filter(|&e| e <= file.len())
        .ok_or_else(|| corrupt("block extends past the end of the file"))?;
    let contents = &file[offset..offset + size];
    let kind = file[offset + size];
    let stored = u32::from_le_bytes(file[offset + size + 1..end].try_into().expect("4 bytes"));
    let actual = crc32c::crc32c_append(crc32c::crc32c(contents), &[kind]);
    if unmask_crc(stored) != actual {
        return Err(corrupt("block checksum mismatch"));
    }
    match kind {
        0 => Ok(contents.to_vec()),
        1 => snap::raw::Decoder::new()
            .decompress_vec(contents)
            .map_err(|e| corrupt(&format!("bad Snappy block: {e}"))),
        other => Err(corrupt(&format!("unknown block compression type {other}"))),
    }
}

fn block_entries(block: &[u8], name: &str) -> Result<Vec<(Vec<u8>, Vec<u8>)>, BundleError> {
    let corrupt = |what: &str| BundleError::Corrupt {
        file: name.to_string(),
        what: what.to_string(),
    };
    if block.len() < 4 {
        return Err(corrupt("block too short"));
    }
    let restarts =
        u32::from_le_bytes(block[block.len() - 4..].try_into().expect("4 bytes")) as usize;
    let data_end = restarts
        .checked_mul(4)
        .and_then(|r| block.len().checked_sub(4 + r))
        .ok_or_else(|| corrupt("bad restart array"))?;
    let data = &block[..data_end];
    let mut entries = Vec::new();
    let mut key: Vec<u8> = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let shared = varint(data, &mut pos).ok_or_else(|| corrupt("bad entry"))? as usize;
        let unshared = varint(data, &mut pos).ok_or_else(|| corrupt("bad entry"))? as usize;
        let value_len = varint(data, &mut pos).ok_or_else(|| corrupt("bad entry"))? as usize;
        if shared > key.len() {
            return Err(corrupt("entry shares more key bytes than exist"));
        }
        let key_end = pos
            .checked_add(unshared)
            .filter(|&e| e <= data.len())
            .ok_or_else(|| corrupt("bad key"))?;
        let value_end = key_end
            .checked_add(value_len)
            .filter(|&e| e <= data.len())
            .ok_or_else(|| corrupt("bad value"))?;
        key.truncate(shared);
        key.extend_from_slice(&data[pos..key_end]);
        entries.push((key.clone(), data[key_end..value_end].to_vec()));
        pos = value_end;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_decode_and_reject_truncation() {
        let mut pos = 0;
        assert_eq!(varint(&[0xac, 0x02], &mut pos), Some(300));
        let mut pos = 0;
        assert_eq!(varint(&[0xac], &mut pos), None);
    }

    #[test]
    fn mask_round_trips() {
        let crc = 0x1234_5678u32;
        let masked = (crc.rotate_right(15)).wrapping_add(0xa282_ead8);
        assert_eq!(unmask_crc(masked), crc);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(read_table(&[0u8; 10], "x").is_err());
        assert!(read_table(&[0u8; 100], "x").is_err());
        let mut f = vec![0xffu8; 100];
        f[92..100].copy_from_slice(&MAGIC.to_le_bytes());
        assert!(read_table(&f, "x").is_err());
    }
}

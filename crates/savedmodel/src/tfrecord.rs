//! TFRecord files, as TensorFlow's `RecordWriter` writes them without compression: what a
//! SavedModel's `assets.extra/tf_serving_warmup_requests` holds.
//!
//! Each record is
//!
//! ```text
//! u64 length (little-endian) | u32 masked CRC32C of those 8 bytes | data | u32 masked CRC32C of data
//! ```
//!
//! The reader streams: it holds one record at a time, and a record never claims more memory
//! than the bytes left in the input (a corrupt length is reported, not allocated). Its errors
//! carry TensorFlow's wording (`truncated record at N`, `corrupted record at N`, N being the
//! record's byte offset), which TF Serving reports as `DataLoss`.

use std::io::{self, Read};

use crate::masked_crc::{mask_crc, unmask_crc};

/// Length, then the length's checksum.
const HEADER_LEN: u64 = 12;
/// The data's checksum.
const FOOTER_LEN: u64 = 4;

/// One record framed as TensorFlow's `RecordWriter` writes it (for tests and tools that make
/// warmup files; a file is its records one after another).
pub fn encode_record(data: &[u8]) -> Vec<u8> {
    let length = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + (HEADER_LEN + FOOTER_LEN) as usize);
    out.extend_from_slice(&length);
    out.extend_from_slice(&mask_crc(crc32c::crc32c(&length)).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&mask_crc(crc32c::crc32c(data)).to_le_bytes());
    out
}

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The input ends inside the record that starts at this offset.
    #[error("truncated record at {0}")]
    Truncated(u64),
    /// A checksum of the record that starts at this offset does not match.
    #[error("corrupted record at {0}")]
    Corrupted(u64),
    /// Reading the input failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Reads the records of a TFRecord input one after another.
pub struct RecordReader<R> {
    input: R,
    /// Where the next record starts.
    offset: u64,
    /// Bytes of the input not read yet.
    remaining: u64,
}

impl<R: Read> RecordReader<R> {
    /// A reader over `input`, which holds `len` bytes (a file's size): records claiming more
    /// than that are reported truncated without reading or allocating them.
    pub fn new(input: R, len: u64) -> RecordReader<R> {
        RecordReader {
            input,
            offset: 0,
            remaining: len,
        }
    }

    /// The next record's data, or `None` at the end of the input.
    pub fn next_record(&mut self) -> Result<Option<Vec<u8>>, RecordError> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let start = self.offset;
        let mut header = [0u8; HEADER_LEN as usize];
        self.read(&mut header, start)?;
        let (length, length_crc) = header.split_at(8);
        if unmask_crc(u32::from_le_bytes(length_crc.try_into().expect("4 bytes")))
            != crc32c::crc32c(length)
        {
            return Err(RecordError::Corrupted(start));
        }
        let length = u64::from_le_bytes(length.try_into().expect("8 bytes"));
        if length > self.remaining.saturating_sub(FOOTER_LEN) {
            return Err(RecordError::Truncated(start));
        }
        let length = usize::try_from(length).map_err(|_| RecordError::Truncated(start))?;
        let mut data = vec![0u8; length];
        self.read(&mut data, start)?;
        let mut footer = [0u8; FOOTER_LEN as usize];
        self.read(&mut footer, start)?;
        if unmask_crc(u32::from_le_bytes(footer)) != crc32c::crc32c(&data) {
            return Err(RecordError::Corrupted(start));
        }
        Ok(Some(data))
    }

    /// Fills `buf` from the input; running out of input is a truncated record at `start`.
    fn read(&mut self, buf: &mut [u8], start: u64) -> Result<(), RecordError> {
        let wanted = buf.len() as u64;
        if wanted > self.remaining {
            return Err(RecordError::Truncated(start));
        }
        self.input.read_exact(buf).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => RecordError::Truncated(start),
            _ => RecordError::Io(e),
        })?;
        self.remaining -= wanted;
        self.offset += wanted;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> Result<Vec<Vec<u8>>, RecordError> {
        let mut reader = RecordReader::new(bytes, bytes.len() as u64);
        let mut records = Vec::new();
        while let Some(record) = reader.next_record()? {
            records.push(record);
        }
        Ok(records)
    }

    #[test]
    fn reads_records_in_order_including_empty_ones() {
        let mut file = encode_record(b"first");
        file.extend(encode_record(b""));
        file.extend(encode_record(&[7u8; 1000]));
        let records = read_all(&file).unwrap();
        assert_eq!(records, vec![b"first".to_vec(), vec![], vec![7u8; 1000]]);
        assert!(read_all(&[]).unwrap().is_empty());
    }

    #[test]
    fn reads_and_rewrites_a_file_written_by_tensorflow() {
        // Written by tf.io.TFRecordWriter (tools/fixtures/make_warmup_requests.py).
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/warmup/all_apis.tfrecord"
        );
        let file = std::fs::read(path).unwrap();
        let records = read_all(&file).unwrap();
        assert_eq!(records.len(), 4);
        let rewritten: Vec<u8> = records.iter().flat_map(|r| encode_record(r)).collect();
        assert_eq!(rewritten, file);
    }

    #[test]
    fn a_cut_anywhere_inside_a_record_is_truncation_at_its_start() {
        let first = encode_record(b"first");
        let mut file = first.clone();
        file.extend(encode_record(b"second record"));
        for cut in first.len() + 1..file.len() {
            match read_all(&file[..cut]) {
                Err(RecordError::Truncated(at)) => assert_eq!(at, first.len() as u64, "cut {cut}"),
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn flipped_bits_are_corruption() {
        let file = encode_record(b"payload");
        for byte in 0..file.len() {
            let mut bad = file.clone();
            bad[byte] ^= 0x10;
            match read_all(&bad) {
                Err(RecordError::Corrupted(0)) => {}
                // CRC32C detects every single-bit error, so one of the two checksums catches
                // each flip before the length is trusted.
                other => panic!("bit flipped in byte {byte}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_huge_claimed_length_is_refused_without_allocating() {
        let length = u64::MAX.to_le_bytes();
        let mut file = length.to_vec();
        file.extend_from_slice(&mask_crc(crc32c::crc32c(&length)).to_le_bytes());
        file.extend_from_slice(b"tail");
        assert!(matches!(read_all(&file), Err(RecordError::Truncated(0))));
    }

    #[test]
    fn errors_use_tensorflows_wording() {
        assert_eq!(
            RecordError::Truncated(42).to_string(),
            "truncated record at 42"
        );
        assert_eq!(
            RecordError::Corrupted(0).to_string(),
            "corrupted record at 0"
        );
    }
}

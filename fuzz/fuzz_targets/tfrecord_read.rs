//! The TFRecord reader (a SavedModel's warmup requests file): the input is the whole file.
//!
//! Checks, besides not panicking: the records read, framed again by `encode_record`, are the
//! input's first bytes — all of it when the reader reached the end without an error.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tensorserve_savedmodel::tfrecord::{RecordReader, encode_record};

fuzz_target!(|data: &[u8]| {
    let mut reader = RecordReader::new(data, data.len() as u64);
    let mut framed = Vec::new();
    let complete = loop {
        match reader.next_record() {
            Ok(Some(record)) => framed.extend(encode_record(&record)),
            Ok(None) => break true,
            Err(_) => break false,
        }
    };
    assert!(data.starts_with(&framed), "records read are not the input's prefix");
    if complete {
        assert_eq!(framed.len(), data.len(), "a clean end left bytes unread");
    }
});

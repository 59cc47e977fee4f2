//! Reads a checkpoint written by TensorFlow 2.21 itself (embedded below, 2.1 KB) to cover what
//! the TF Serving test models do not: every element type we support, two data shards (as a
//! sharded saver writes), multi-element strings, an empty tensor, and partitioned variables
//! sliced by rows, by columns, and at offsets past 64 (a two-byte key encoding). It is also the
//! uncompressed-index case: current TensorFlow writes index blocks without Snappy.
//!
//! The fixture was made with `tf.raw_ops.SaveV2` into two prefixes (each also saving some slices
//! through `shape_and_slices`, e.g. `"4 3 0,2:-"`), then `tf.raw_ops.MergeV2Checkpoints`, and its
//! values checked with `tf.train.load_checkpoint`; the expectations below are those values.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use tensorserve_core::{DType, TensorData};
use tensorserve_savedmodel::bundle::{Bundle, BundleError};

const INDEX: &str = "\
    AAAGCAIaAggBAAsSAGJpZwABAQGAwEEICRIEEgIIQSBbKIgENQ9dekAIBBXAQcBBCAkSBBICCEEYASCDAiiIBDVM\
    Wu8jAQkVcAABAQKAgoB/CAESCBICCAISAggDIEMoGDXA2z0XBgQYgoKAfwgBEggSAggCEgIIAxgBIOsBKBg11IRO\
    AgEJGHEAAQECgH+AgQgDEggSAggCEgIIARgBIIsGKAg17MbqGQgCGIGCCAMSCBICCAISAggCGAEgkwYoEDWilifv\
    AAMXYmlnCAkSBRIDCIIBOgQKAhBBOgYKBAhBEEEABRRlbXB0eQgBEgYSABICCAMYASDrATXY6oKiAAMTZjMyCAES\
    CBICCAISAggDKBg1yt6TiQECETY0CAISBBICCAIgGCgQNXjjgG0BAxNsYWcIChIEEgIIAxgBIBAoAzV1WZEGAAQT\
    aGFsZggTEgQSAggCGAEgEygENVx6g50AAxFpMTYIBRIEEgIIAiArKAQ1VSVGoAECDTMyCAMSACAvKAQ1TWKdfQEC\
    ETY0CAkSBBICCAIgMygQNXUNT8sAAhFpOAgGEgQSAggDICgoAzWeUQq3AAEecAgBEggSAggEEgIIAzoGCgIQAgoA\
    OggKBAgCEAIKAAABIHEIAxIIEgIIAhICCAMYAToGCgAKAhABOggKAAoECAEQAgABFHMIBxIEEgIIBBgBIBco1AE1\
    RDfhCAADE3UxNggREgQSAggBGAEgAigCNdbqhKIBAhMzMggWEgQSAggBGAEgBCgENYPZnFABAhM2NAgXEgQSAggB\
    GAEgCCgINaZ7EToBARE4CAQSBBICCAIYASgCNRCjiesAAAAAoAEAAAIAAAAA7z2WwgAAAAABAAAAAMDyobAAAQN2\
    AP4EAAAAAAEAAAAAtX+EPYMFCJAFDwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABX+4CLJHVH2w==\
";
const SHARD_0: &str = "\
    AADAPwAAAMAAAFBAAAAAAG8SgzoAAOBAVVVVVVVV1T8AAAAAAAAEwIB/AACALAH5////AAAAAAABAAD/////////\
    /wAAAAAAAIA/AAAAQAAAQEAAAIBAAACgQAAAAAAAAAAAAQAAAAAAAAACAAAAAAAAAAMAAAAAAAAABAAAAAAAAAAF\
    AAAAAAAAAAYAAAAAAAAABwAAAAAAAAAIAAAAAAAAAAkAAAAAAAAACgAAAAAAAAALAAAAAAAAAAwAAAAAAAAADQAA\
    AAAAAAAOAAAAAAAAAA8AAAAAAAAAEAAAAAAAAAARAAAAAAAAABIAAAAAAAAAEwAAAAAAAAAUAAAAAAAAABUAAAAA\
    AAAAFgAAAAAAAAAXAAAAAAAAABgAAAAAAAAAGQAAAAAAAAAaAAAAAAAAABsAAAAAAAAAHAAAAAAAAAAdAAAAAAAA\
    AB4AAAAAAAAAHwAAAAAAAAAgAAAAAAAAACEAAAAAAAAAIgAAAAAAAAAjAAAAAAAAACQAAAAAAAAAJQAAAAAAAAAm\
    AAAAAAAAACcAAAAAAAAAKAAAAAAAAAApAAAAAAAAACoAAAAAAAAAKwAAAAAAAAAsAAAAAAAAAC0AAAAAAAAALgAA\
    AAAAAAAvAAAAAAAAADAAAAAAAAAAMQAAAAAAAAAyAAAAAAAAADMAAAAAAAAANAAAAAAAAAA1AAAAAAAAADYAAAAA\
    AAAANwAAAAAAAAA4AAAAAAAAADkAAAAAAAAAOgAAAAAAAAA7AAAAAAAAADwAAAAAAAAAPQAAAAAAAAA+AAAAAAAA\
    AD8AAAAAAAAAQAAAAAAAAAA=\
";
const SHARD_1: &str = "\
    AP///wAoa+7//////////wEAAQA8ALgAAQLIAU7H2CVhAP94eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4\
    eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4\
    eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4\
    eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eAAAwEAAAOBAAAAAQQAAEEEAACBBAAAwQUEAAAAA\
    AAAAQgAAAAAAAABDAAAAAAAAAEQAAAAAAAAARQAAAAAAAABGAAAAAAAAAEcAAAAAAAAASAAAAAAAAABJAAAAAAAA\
    AEoAAAAAAAAASwAAAAAAAABMAAAAAAAAAE0AAAAAAAAATgAAAAAAAABPAAAAAAAAAFAAAAAAAAAAUQAAAAAAAABS\
    AAAAAAAAAFMAAAAAAAAAVAAAAAAAAABVAAAAAAAAAFYAAAAAAAAAVwAAAAAAAABYAAAAAAAAAFkAAAAAAAAAWgAA\
    AAAAAABbAAAAAAAAAFwAAAAAAAAAXQAAAAAAAABeAAAAAAAAAF8AAAAAAAAAYAAAAAAAAABhAAAAAAAAAGIAAAAA\
    AAAAYwAAAAAAAABkAAAAAAAAAGUAAAAAAAAAZgAAAAAAAABnAAAAAAAAAGgAAAAAAAAAaQAAAAAAAABqAAAAAAAA\
    AGsAAAAAAAAAbAAAAAAAAABtAAAAAAAAAG4AAAAAAAAAbwAAAAAAAABwAAAAAAAAAHEAAAAAAAAAcgAAAAAAAABz\
    AAAAAAAAAHQAAAAAAAAAdQAAAAAAAAB2AAAAAAAAAHcAAAAAAAAAeAAAAAAAAAB5AAAAAAAAAHoAAAAAAAAAewAA\
    AAAAAAB8AAAAAAAAAH0AAAAAAAAAfgAAAAAAAAB/AAAAAAAAAIAAAAAAAAAAgQAAAAAAAAAAAAAAAwAAAAEAAAAC\
    AAAABAAAAAUAAAA=\
";

/// Writes the fixture into a fresh directory and returns its prefix.
fn fixture(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tensorserve-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    for (suffix, text) in [
        (".index", INDEX),
        (".data-00000-of-00002", SHARD_0),
        (".data-00001-of-00002", SHARD_1),
    ] {
        std::fs::write(file(&dir.join("ckpt"), suffix), b64.decode(text).unwrap()).unwrap();
    }
    dir.join("ckpt")
}

fn file(prefix: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", prefix.display()))
}

fn cleanup(prefix: &Path) {
    let _ = std::fs::remove_dir_all(prefix.parent().unwrap());
}

fn data(bundle: &Bundle, key: &str) -> (Vec<usize>, TensorData) {
    let tensor = bundle.read(key).unwrap_or_else(|e| panic!("{key}: {e}"));
    (tensor.shape().to_vec(), tensor.data().clone())
}

#[test]
fn lists_tensors_but_not_slices_or_the_header() {
    let prefix = fixture("bundle-keys");
    let bundle = Bundle::open(&prefix).unwrap();
    let keys: Vec<&str> = bundle.keys().collect();
    let expected = [
        "big", "empty", "f32", "f64", "flag", "half", "i16", "i32", "i64", "i8", "p", "q", "s",
        "u16", "u32", "u64", "u8",
    ];
    assert_eq!(keys, expected);
    assert_eq!(bundle.dtype_and_shape("f32"), Some((1, vec![2, 3])));
    assert_eq!(bundle.dtype_and_shape("p"), Some((1, vec![4, 3])));
    assert_eq!(bundle.dtype_and_shape("s"), Some((7, vec![4])));
    assert_eq!(bundle.dtype_and_shape("i32"), Some((3, vec![])));
    assert_eq!(bundle.dtype_and_shape("nope"), None);
    cleanup(&prefix);
}

#[test]
fn reads_every_element_type_from_both_shards() {
    let prefix = fixture("bundle-dtypes");
    let bundle = Bundle::open(&prefix).unwrap();
    let f32s = TensorData::F32(vec![1.5, -2.0, 3.25, 0.0, 1e-3, 7.0]);
    assert_eq!(data(&bundle, "f32"), (vec![2, 3], f32s));
    assert_eq!(
        data(&bundle, "f64").1,
        TensorData::F64(vec![1.0 / 3.0, -2.5])
    );
    assert_eq!(data(&bundle, "i8").1, TensorData::I8(vec![-128, 127, 0]));
    assert_eq!(data(&bundle, "i16").1, TensorData::I16(vec![-32768, 300]));
    assert_eq!(data(&bundle, "i32"), (vec![], TensorData::I32(vec![-7])));
    assert_eq!(data(&bundle, "i64").1, TensorData::I64(vec![1 << 40, -1]));
    // The rest are in the second shard.
    assert_eq!(data(&bundle, "u8").1, TensorData::U8(vec![0, 255]));
    assert_eq!(data(&bundle, "u16").1, TensorData::U16(vec![65535]));
    assert_eq!(data(&bundle, "u32").1, TensorData::U32(vec![4_000_000_000]));
    assert_eq!(data(&bundle, "u64").1, TensorData::U64(vec![u64::MAX]));
    assert_eq!(
        data(&bundle, "flag").1,
        TensorData::Bool(vec![true, false, true])
    );
    // 1.0 and -0.5 as IEEE half bit patterns.
    assert_eq!(
        data(&bundle, "half").1,
        TensorData::F16(vec![0x3c00, 0xb800])
    );
    assert_eq!(
        data(&bundle, "empty"),
        (vec![0, 3], TensorData::F32(vec![]))
    );
    let strings = vec![
        b"".to_vec(),
        b"a".to_vec(),
        b"\x00\xff".to_vec(),
        vec![b'x'; 200],
    ];
    assert_eq!(data(&bundle, "s"), (vec![4], TensorData::String(strings)));
    assert_eq!(bundle.read("s").unwrap().dtype(), DType::String);
    cleanup(&prefix);
}

#[test]
fn reassembles_partitioned_variables() {
    let prefix = fixture("bundle-slices");
    let bundle = Bundle::open(&prefix).unwrap();
    // Rows 0-1 are in shard 0, rows 2-3 in shard 1.
    let p = TensorData::F32((0..12).map(|v| v as f32).collect());
    assert_eq!(data(&bundle, "p"), (vec![4, 3], p));
    // Column slices: the copy is strided.
    assert_eq!(
        data(&bundle, "q"),
        (vec![2, 3], TensorData::I32(vec![0, 1, 2, 3, 4, 5]))
    );
    assert_eq!(
        data(&bundle, "big"),
        (vec![130], TensorData::I64((0..130).collect()))
    );
    cleanup(&prefix);
}

#[test]
fn a_missing_key_is_not_found() {
    let prefix = fixture("bundle-notfound");
    let bundle = Bundle::open(&prefix).unwrap();
    let err = bundle.read("nope").unwrap_err();
    assert!(matches!(err, BundleError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("'nope'"), "{err}");
    assert!(matches!(bundle.read(""), Err(BundleError::NotFound { .. })));
    cleanup(&prefix);
}

#[test]
fn every_flipped_data_byte_is_caught_by_a_checksum() {
    let prefix = fixture("bundle-flip-data");
    let bundle = Bundle::open(&prefix).unwrap();
    let keys: Vec<String> = bundle.keys().map(str::to_string).collect();
    for shard in [".data-00000-of-00002", ".data-00001-of-00002"] {
        let path = file(&prefix, shard);
        let good = std::fs::read(&path).unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x10;
            std::fs::write(&path, &bad).unwrap();
            let errors: Vec<BundleError> =
                keys.iter().filter_map(|k| bundle.read(k).err()).collect();
            assert_eq!(errors.len(), 1, "byte {i} of {shard}: {errors:?}");
            let message = errors[0].to_string();
            assert!(message.contains(shard), "{message}");
            assert!(
                matches!(errors[0], BundleError::CorruptTensor { .. }),
                "{message}"
            );
        }
        std::fs::write(&path, &good).unwrap();
    }
    cleanup(&prefix);
}

#[test]
fn truncated_or_missing_data_files_are_errors() {
    let prefix = fixture("bundle-truncated-data");
    let bundle = Bundle::open(&prefix).unwrap();
    let shard_1 = file(&prefix, ".data-00001-of-00002");
    let len = std::fs::metadata(&shard_1).unwrap().len();
    std::fs::write(
        &shard_1,
        &std::fs::read(&shard_1).unwrap()[..len as usize - 10],
    )
    .unwrap();
    // Data is written in save order; the last 10 bytes of shard 1 belong to the second column
    // slice of "q", so only "q" fails, and the message names the slice.
    let failures: Vec<String> = bundle
        .keys()
        .filter_map(|k| bundle.read(k).err())
        .map(|e| e.to_string())
        .collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("'q[-:1,2]'"), "{failures:?}");
    assert!(failures[0].contains("past the end"), "{failures:?}");
    assert!(bundle.read("f32").is_ok(), "shard 0 is intact");
    std::fs::remove_file(&shard_1).unwrap();
    let err = bundle.read("s").unwrap_err();
    assert!(matches!(err, BundleError::Io { .. }), "{err}");
    assert!(err.to_string().contains(".data-00001-of-00002"), "{err}");
    // A partitioned variable with a slice in the missing shard fails as a whole.
    assert!(bundle.read("p").is_err());
    cleanup(&prefix);
}

#[test]
fn a_damaged_index_never_panics() {
    let prefix = fixture("bundle-flip-index");
    let path = file(&prefix, ".index");
    let good = std::fs::read(&path).unwrap();
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x04;
        std::fs::write(&path, &bad).unwrap();
        // A flip in the footer's padding or in the unused metaindex is harmless; anything else
        // must be an error. Whatever opens must read without panicking.
        if let Ok(bundle) = Bundle::open(&prefix) {
            let keys: Vec<String> = bundle.keys().map(str::to_string).collect();
            keys.iter().for_each(|k| drop(bundle.read(k)));
        }
        std::fs::write(&path, &good[..i]).unwrap();
        let err = Bundle::open(&prefix).unwrap_err();
        assert!(
            matches!(err, BundleError::CorruptIndex { .. }),
            "cut at {i}: {err}"
        );
    }
    cleanup(&prefix);
}

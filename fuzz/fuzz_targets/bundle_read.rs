//! The TensorBundle reader (a SavedModel's `variables/`): the input is split into an index
//! (LevelDB SSTable of protobuf entries) and a data shard, written as
//! `variables.index` / `variables.data-00000-of-00001`, opened, and every tensor is read.
//!
//! Input layout: a little-endian u16 `n`, then `n` bytes of index, then the data file (a short
//! input is all index).

#![no_main]

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tensorserve_savedmodel::bundle::Bundle;

fn prefix() -> &'static PathBuf {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    PREFIX.get_or_init(|| common::scratch_dir("bundle").join("variables"))
}

fuzz_target!(|data: &[u8]| {
    let (index, shard) = match data {
        [lo, hi, rest @ ..] => {
            rest.split_at(usize::from(u16::from_le_bytes([*lo, *hi])).min(rest.len()))
        }
        _ => (data, &[][..]),
    };
    let prefix = prefix();
    let mut index_path = prefix.clone().into_os_string();
    index_path.push(".index");
    let mut shard_path = prefix.clone().into_os_string();
    shard_path.push(".data-00000-of-00001");
    std::fs::write(&index_path, index).expect("write the index");
    std::fs::write(&shard_path, shard).expect("write the data shard");
    let Ok(bundle) = Bundle::open(prefix) else {
        return;
    };
    let keys: Vec<String> = bundle.keys().map(str::to_string).collect();
    for key in keys {
        let (_dtype, dims) = bundle.dtype_and_shape(&key).expect("listed keys exist");
        if let Ok(tensor) = bundle.read(&key) {
            let shape: Vec<i64> = tensor.shape().iter().map(|&d| d as i64).collect();
            assert_eq!(
                shape, dims,
                "{key}: the tensor has the shape the index declares"
            );
        }
    }
});

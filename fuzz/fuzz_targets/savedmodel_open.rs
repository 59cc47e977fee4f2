//! `saved_model.pb` as the model loader meets it: the fuzzed bytes are written to a version
//! directory beside the valid `variables/` of the bundled half_plus_two, opened with the `serve`
//! tag, and every signature is frozen (function inlining, variable reads, constant expansion,
//! `ParseExample` lifting) — everything `tensorserve-savedmodel` does before tract sees a graph.
//!
//! Freezing runs on a thread with the server's loader stack size (`crates/server/src/loader.rs`),
//! so a graph that is merely deep is judged as the server would run it; a cycle must still end.

#![no_main]

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tensorserve_savedmodel::{SavedModelDir, freeze_signature, loader, opdefs};

/// The server's model-load thread stack (256 MiB).
const LOADER_STACK: usize = 256 << 20;

fn version_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = common::scratch_dir("savedmodel").join("1");
        let variables = dir.join("variables");
        std::fs::create_dir_all(&variables).expect("create variables/");
        let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../models/half_plus_two/00000123/variables");
        for name in ["variables.index", "variables.data-00000-of-00001"] {
            std::fs::copy(fixture.join(name), variables.join(name)).expect("copy the fixture");
        }
        dir
    })
}

/// Keeps TensorFlow's op registry alive across inputs: a load decodes it only when nobody holds
/// it (as the idle server does not), and decoding it for every input made this target ten
/// times slower. Every input still goes through the same registry lookups.
fn hold_op_registry() {
    static REGISTRY: OnceLock<std::sync::Arc<opdefs::Registry>> = OnceLock::new();
    REGISTRY.get_or_init(opdefs::registry);
}

fuzz_target!(|data: &[u8]| {
    hold_op_registry();
    let dir = version_dir();
    std::fs::write(dir.join("saved_model.pb"), data).expect("write saved_model.pb");
    assert!(loader::is_saved_model_dir(dir));
    let dir = dir.clone();
    let load = move || {
        let Ok(saved) = SavedModelDir::open(&dir, &[loader::SERVE_TAG]) else {
            return;
        };
        for name in saved.signatures.keys() {
            let _ = freeze_signature(&saved, name);
        }
    };
    let thread = std::thread::Builder::new()
        .stack_size(LOADER_STACK)
        .spawn(load)
        .expect("spawn the loader thread");
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
});

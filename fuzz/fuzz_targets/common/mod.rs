//! What the file-reading targets share: a scratch directory per fuzzing process.

use std::path::PathBuf;

/// A directory of this process's own under the system temp dir, created on first use. Parallel
/// fuzzing jobs are separate processes, so they never share one; files are overwritten per input.
pub fn scratch_dir(target: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("tensorserve-fuzz-{target}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

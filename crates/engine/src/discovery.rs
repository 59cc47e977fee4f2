//! Version discovery (reference §3.3–3.4): the numbered children of a base path, and the subset
//! a version policy aspires to serve. Blocking filesystem calls: the manager runs [`scan`] on a
//! blocking thread.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::VersionPolicy;

/// Parses a child name as TF Serving does (`safe_strto64`): optional surrounding ASCII
/// whitespace, optional sign, decimal digits; `00000123` is 123; overflow is not a number.
pub fn parse_version(name: &str) -> Option<i64> {
    let s = name.trim_matches(|c: char| c.is_ascii_whitespace());
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.strip_prefix('+').unwrap_or(s).parse().ok()
}

/// The children of `base_path` whose names are versions, by version number. Like TF Serving, any
/// child counts (a file named `3` is a version that will fail to load); when two names give the
/// same number, the one sorting last wins and a warning is logged.
pub fn list_versions(model: &str, base_path: &Path) -> std::io::Result<BTreeMap<i64, PathBuf>> {
    let mut names: Vec<String> = std::fs::read_dir(base_path)?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    let mut versions = BTreeMap::new();
    for name in names {
        let Some(version) = parse_version(&name) else {
            continue;
        };
        if let Some(previous) = versions.insert(version, base_path.join(&name)) {
            tracing::warn!(
                "Duplicate version directories detected. Version {version} of servable {model} will be loaded from {name}, {} will be ignored.",
                previous
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            );
        }
    }
    Ok(versions)
}

/// The versions the policy wants served, out of those present, with TF Serving's warnings.
pub fn aspired(
    model: &str,
    policy: &VersionPolicy,
    present: &BTreeMap<i64, PathBuf>,
) -> BTreeMap<i64, PathBuf> {
    match policy {
        VersionPolicy::All => present.clone(),
        VersionPolicy::Latest(n) => present
            .iter()
            .rev()
            .take((*n).max(1))
            .map(|(v, p)| (*v, p.clone()))
            .collect(),
        VersionPolicy::Specific(wanted) => {
            if wanted.is_empty() {
                tracing::warn!("No specific versions requested for servable {model}.");
            }
            let mut out = BTreeMap::new();
            for v in wanted {
                match present.get(v) {
                    Some(p) => {
                        out.insert(*v, p.clone());
                    }
                    None => tracing::warn!(
                        "Version {v} of servable {model}, which was requested to be served as a 'specific' version in the servable's version policy, was not found in the file system"
                    ),
                }
            }
            out
        }
    }
}

/// One poll of one model: its aspired versions, or `None` (logged) when the base path cannot be
/// read, in which case nothing should change.
pub fn scan(
    model: &str,
    base_path: &Path,
    policy: &VersionPolicy,
) -> Option<BTreeMap<i64, PathBuf>> {
    let present = match list_versions(model, base_path) {
        Ok(present) => present,
        Err(e) => {
            tracing::error!(
                "FileSystemStoragePathSource encountered a filesystem access error: Could not find base path {} for servable {model} with error {e}",
                base_path.display()
            );
            return None;
        }
    };
    let aspired = aspired(model, policy, &present);
    if aspired.is_empty() {
        tracing::warn!(
            "No versions of servable {model} found under base path {}. Did you forget to name your leaf directory as a number (eg. '/1/')?",
            base_path.display()
        );
    }
    Some(aspired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_parse_like_safe_strto64() {
        assert_eq!(parse_version("00000123"), Some(123));
        assert_eq!(parse_version("1"), Some(1));
        assert_eq!(parse_version("-1"), Some(-1));
        assert_eq!(parse_version("+7"), Some(7));
        assert_eq!(parse_version(" 8 "), Some(8));
        assert_eq!(parse_version("9223372036854775808"), None);
        for bad in ["1a", "variables", "", "-", "1.0", "0x10", "+-1"] {
            assert_eq!(parse_version(bad), None, "{bad}");
        }
    }

    #[test]
    fn policies_pick_versions() {
        let present: BTreeMap<i64, PathBuf> = [1, 2, 3]
            .into_iter()
            .map(|v| (v, PathBuf::from(v.to_string())))
            .collect();
        let keys = |p: VersionPolicy| aspired("m", &p, &present).into_keys().collect::<Vec<_>>();
        assert_eq!(keys(VersionPolicy::Latest(1)), [3]);
        assert_eq!(keys(VersionPolicy::Latest(0)), [3]);
        assert_eq!(keys(VersionPolicy::Latest(2)), [2, 3]);
        assert_eq!(keys(VersionPolicy::Latest(9)), [1, 2, 3]);
        assert_eq!(keys(VersionPolicy::All), [1, 2, 3]);
        assert_eq!(keys(VersionPolicy::Specific(vec![1, 42])), [1]);
        assert!(keys(VersionPolicy::Specific(vec![])).is_empty());
    }

    #[test]
    fn listing_a_directory() {
        let base = std::env::temp_dir().join(format!(
            "tensorserve-engine-discovery-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&base);
        for child in ["1", "001", "00000123", "variables", "7x"] {
            std::fs::create_dir_all(base.join(child)).unwrap();
        }
        std::fs::write(base.join("5"), b"").unwrap();
        let found = list_versions("m", &base).unwrap();
        assert_eq!(found.keys().copied().collect::<Vec<_>>(), [1, 5, 123]);
        // "001" and "1" collide; the name sorting last wins.
        assert_eq!(found[&1], base.join("1"));
        assert_eq!(found[&123], base.join("00000123"));
        let policy = VersionPolicy::Latest(1);
        assert_eq!(
            scan("m", &base, &policy)
                .unwrap()
                .into_keys()
                .collect::<Vec<_>>(),
            [123]
        );
        assert_eq!(scan("m", &base.join("missing"), &policy), None);
        std::fs::remove_dir_all(&base).unwrap();
    }
}

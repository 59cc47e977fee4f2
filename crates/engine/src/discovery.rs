//! Finding version directories under a base path and applying the version policy
//! (reference §3.3–3.4).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::VersionPolicy;

/// Parses a directory name as TF Serving does (`absl::SimpleAtoi`): optional sign, digits,
/// surrounding whitespace allowed; `00000123` is 123.
pub fn parse_version(name: &str) -> Option<i64> {
    let s = name.trim();
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The version directories under `base_path`, by version number.
pub fn list_versions(model: &str, base_path: &Path) -> std::io::Result<BTreeMap<i64, PathBuf>> {
    let mut versions = BTreeMap::new();
    for entry in std::fs::read_dir(base_path)? {
        let entry = entry?;
        if !entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            continue;
        }
        let name = entry.file_name();
        let Some(version) = name.to_str().and_then(parse_version) else {
            continue;
        };
        if let Some(previous) = versions.insert(version, entry.path()) {
            tracing::warn!(
                model,
                "two version directories parse to {version}: {} and {}",
                previous.display(),
                entry.path().display()
            );
        }
    }
    Ok(versions)
}

/// The versions the policy wants served, out of those present.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_parse_like_simple_atoi() {
        assert_eq!(parse_version("00000123"), Some(123));
        assert_eq!(parse_version("1"), Some(1));
        assert_eq!(parse_version("-1"), Some(-1));
        assert_eq!(parse_version("1a"), None);
        assert_eq!(parse_version("variables"), None);
        assert_eq!(parse_version(""), None);
    }

    #[test]
    fn policies_pick_versions() {
        let present: BTreeMap<i64, PathBuf> = [1, 2, 3]
            .into_iter()
            .map(|v| (v, PathBuf::from(v.to_string())))
            .collect();
        let keys = |m: BTreeMap<i64, PathBuf>| m.into_keys().collect::<Vec<_>>();
        assert_eq!(
            keys(aspired("m", &VersionPolicy::Latest(1), &present)),
            vec![3]
        );
        assert_eq!(
            keys(aspired("m", &VersionPolicy::Latest(2), &present)),
            vec![2, 3]
        );
        assert_eq!(
            keys(aspired("m", &VersionPolicy::All, &present)),
            vec![1, 2, 3]
        );
        assert_eq!(
            keys(aspired(
                "m",
                &VersionPolicy::Specific(vec![1, 42]),
                &present
            )),
            vec![1]
        );
    }
}

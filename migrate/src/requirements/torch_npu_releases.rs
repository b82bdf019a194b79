//! The torch-npu releases on PyPI, by the torch version each one goes with, so an added pin
//! always names a release `pip install` can find. Read from https://pypi.org/pypi/torch-npu/json
//! on 2026-12-06; the newest final release per torch version (release candidates left out).
//! A torch version missing here has no torch-npu build: nothing is pinned and RQ101 says so.

/// The date the table was read from PyPI.
pub const CHECKED_ON: &str = "2026-12-06";

/// (torch version, the newest torch-npu release built for it).
const RELEASES: &[(&str, &str)] = &[
    ("2.1.0", "2.1.0.post17"),
    ("2.2.0", "2.2.0.post2"),
    ("2.3.1", "2.3.1.post6"),
    ("2.4.0", "2.4.0.post4"),
    ("2.5.1", "2.5.1.post1"),
    ("2.6.0", "2.6.0.post5"),
    ("2.7.1", "2.7.1.post11"),
    ("2.8.0", "2.8.0.post5"),
    ("2.9.0", "2.9.0.post9"),
    ("2.9.1", "2.9.1"),
    ("2.10.0", "2.10.0.post7"),
    ("2.11.0", "2.11.0.post3"),
    ("2.12.0", "2.12.0.post3"),
    ("2.13.0", "2.13.0"),
    ("2.14.0", "2.14.0"),
];

/// The torch-npu release for a torch version (`2.4` is read as `2.4.0`).
pub fn release_for(torch: &str) -> Option<&'static str> {
    let full = if torch.matches('.').count() == 1 {
        format!("{torch}.0")
    } else {
        torch.to_string()
    };
    RELEASES
        .iter()
        .find(|(t, _)| *t == full)
        .map(|(_, npu)| *npu)
}

/// The torch versions that have a torch-npu release, for messages.
pub fn supported_torch_versions() -> String {
    RELEASES
        .iter()
        .map(|(t, _)| *t)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_name_published_releases_only() {
        assert_eq!(release_for("2.4.0"), Some("2.4.0.post4"));
        assert_eq!(release_for("2.1"), Some("2.1.0.post17"));
        // torch 2.7.0 and 2.2.1 never got a torch-npu build.
        assert_eq!(release_for("2.7.0"), None);
        assert_eq!(release_for("2.2.1"), None);
    }

    #[test]
    fn every_release_belongs_to_its_torch_version() {
        for (torch, npu) in RELEASES {
            assert!(
                *npu == *torch
                    || npu
                        .strip_prefix(torch)
                        .is_some_and(|p| p.starts_with(".post")),
                "{torch} -> {npu}"
            );
        }
    }
}

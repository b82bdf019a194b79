//! CANN and driver versions, read from the files the installers write.

use std::path::{Path, PathBuf};

/// The value of `key=value` in an installer's info file.
pub(crate) fn info_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

/// The version file of the runtime under a CANN root.
pub fn cann_version_file(root: &Path) -> PathBuf {
    root.join("share/info/runtime/version.info")
}

/// `Version=` from `<root>/share/info/runtime/version.info`, first root that has one.
pub fn cann_version(roots: &[PathBuf]) -> Option<String> {
    roots.iter().find_map(|root| {
        let text = std::fs::read_to_string(cann_version_file(root)).ok()?;
        info_value(&text, "Version")
    })
}

/// The driver version: /etc/ascend_install.info names the install path
/// (`Driver_Install_Path_Param`), whose `driver/version.info` holds `Version=`.
pub fn driver_version(install_info: &Path) -> Option<String> {
    let text = std::fs::read_to_string(install_info).ok()?;
    let base = info_value(&text, "Driver_Install_Path_Param")?;
    let version = std::fs::read_to_string(Path::new(&base).join("driver/version.info")).ok()?;
    info_value(&version, "Version")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_key_values_with_spaces_and_quotes() {
        let text = "Driver_Install_Path_Param= /usr/local/Ascend \nVersion=\"8.0.RC3\"\n";
        assert_eq!(info_value(text, "Version").as_deref(), Some("8.0.RC3"));
        assert_eq!(
            info_value(text, "Driver_Install_Path_Param").as_deref(),
            Some("/usr/local/Ascend")
        );
        assert_eq!(info_value(text, "Missing"), None);
        assert_eq!(info_value("Version=\n", "Version"), None);
    }
}

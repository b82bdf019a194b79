//! Where environment variables come from.
//!
//! Discovery and selection read `PREFERRED_DEVICE`, `ASCEND_HOME_PATH` and friends. They
//! take an [`EnvSource`] instead of calling `std::env::var` so tests (and embedders that
//! configure devices from a file) can hand in a map without mutating the process
//! environment, which is unsafe in Rust 2024 once threads exist.

use std::collections::BTreeMap;

/// A read-only view of environment variables.
pub trait EnvSource {
    /// The value of `name`, or `None` when it is unset or not valid Unicode.
    fn var(&self, name: &str) -> Option<String>;

    /// Like [`EnvSource::var`], but an empty or all-blank value counts as unset, which is
    /// what shells produce for `export X=`.
    fn non_empty(&self, name: &str) -> Option<String> {
        self.var(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// A fixed set of variables; everything else is unset.
#[derive(Debug, Clone, Default)]
pub struct MapEnv {
    vars: BTreeMap<String, String>,
}

impl MapEnv {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder-style insert.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for MapEnv {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

impl EnvSource for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
}

impl<T: EnvSource + ?Sized> EnvSource for &T {
    fn var(&self, name: &str) -> Option<String> {
        (**self).var(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_values_count_as_unset() {
        let env = MapEnv::new().with("A", "  ").with("B", " npu ");
        assert_eq!(env.non_empty("A"), None);
        assert_eq!(env.non_empty("B").as_deref(), Some("npu"));
        assert_eq!(env.non_empty("C"), None);
    }
}

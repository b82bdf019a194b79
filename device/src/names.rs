//! Reading back the `&'static str` names reports carry (library, symbol and call names).
//!
//! Reports keep those names static so checks can match on them; a report read from a
//! probe process maps its text onto the same tables, and any other text is an error
//! rather than a name this crate never produces.

use serde::de::{Deserialize, Deserializer, Error};

fn known() -> impl Iterator<Item = &'static str> {
    [crate::npu::LIBRARY, crate::cuda::LIBRARY]
        .into_iter()
        .chain(crate::npu::acl::REQUIRED)
        .chain(crate::npu::acl::OPTIONAL)
        .chain(crate::cuda::REQUIRED)
        .chain(crate::cuda::OPTIONAL)
}

/// The static copy of `text`, if it is one of this crate's names.
pub fn intern(text: &str) -> Option<&'static str> {
    known().find(|name| *name == text)
}

fn intern_or_error<E: Error>(text: &str) -> Result<&'static str, E> {
    intern(text)
        .ok_or_else(|| E::custom(format!("`{text}` is not a known library, symbol or call")))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    intern_or_error(&String::deserialize(d)?)
}

pub(crate) fn deserialize_all<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<&'static str>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| intern_or_error(s))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_table_name_reads_back_and_nothing_else_does() {
        for name in super::known() {
            assert_eq!(super::intern(name), Some(name));
        }
        assert_eq!(super::intern("cuInit2"), None);
        assert_eq!(super::intern(""), None);
    }
}

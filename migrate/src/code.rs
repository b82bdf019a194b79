//! The vocabulary every rule shares: the closed set of codes, and the shape of a catalog
//! entry. Each rule module declares its own entries with these types; `catalog` assembles
//! them. Rules name their entry when they emit, so a code that does not exist cannot compile.

use serde::{Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;

macro_rules! codes {
    ($($code:ident),* $(,)?) => {
        /// A rule or diagnostic code, spelled as users type it (`PY101`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($code),*
        }

        impl Code {
            /// Every code, in the order `migrate rules` lists them.
            pub const ALL: &[Code] = &[$(Code::$code),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$code => stringify!($code)),*
                }
            }
        }
    };
}

codes! {
    PY001, PY002, PY003, PY004, PY005, PY006, PY007, PY008, PY009, PY010, PY011, PY012, PY013,
    PY014, PY015, PY016, PY017,
    PY101, PY102, PY103, PY104, PY105, PY106, PY107, PY108, PY109, PY110, PY111, PY112, PY113,
    PY114, PY115, PY116, PY117, PY118, PY119,
    SH001, SH002, SH101, SH102, SH103,
    RQ001, RQ002, RQ003, RQ101, RQ102,
    MD101,
    NB101,
    CU101,
    RS001, RS002, RS003, RS101, RS102, RS103, RS104, RS105, RS106,
    CG001, CG101, CG102, CG103,
    MG001, MG002, MG003, MG004,
}

impl Code {
    /// The code a user typed, in any case (`py101`); None when there is no such code.
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reports and JSON show the code as text.
impl Serialize for Code {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Codes sort as text (CG001 before PY001), the order reports count them in; `Code::ALL`
/// keeps the listing order.
impl Ord for Code {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for Code {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Whether a code changes source or only reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Rewrite,
    Diagnostic,
}

/// How much a diagnostic matters on an NPU host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing breaks.
    Info,
    /// Runs, but slower, differently, or only on CUDA.
    Warning,
    /// Fails on an NPU host until a human changes it.
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One rule or diagnostic as `migrate rules`, `migrate explain` and MIGRATION.md show it.
#[derive(Debug, Serialize)]
pub struct Entry {
    pub code: Code,
    pub name: &'static str,
    pub kind: Kind,
    /// Default severity of a diagnostic; rewrites report as info.
    pub severity: Severity,
    /// One line for listings.
    pub summary: &'static str,
    /// What it means and why it matters on Ascend.
    pub explanation: &'static str,
    /// What the tool does (rewrites) or what a human should do (diagnostics).
    pub fix: &'static str,
    /// MIGRATION.md's cell for this code: what a rewrite matches and produces (NPU style in
    /// parentheses), or a diagnostic's manual fix. Terser than `fix`, written for a table.
    #[serde(skip)]
    pub guide: &'static str,
    /// MIGRATION.md's severity cell when findings of this code do not all carry the default
    /// severity (an import is an error, a call a warning); it starts with the default.
    #[serde(skip)]
    pub severities: Option<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_in_any_case_and_sort_as_text() {
        assert_eq!(Code::parse("py101"), Some(Code::PY101));
        assert_eq!(Code::parse("XX999"), None);
        assert!(Code::CG001 < Code::PY001);
        assert_eq!(Code::PY001.to_string(), "PY001");
    }
}

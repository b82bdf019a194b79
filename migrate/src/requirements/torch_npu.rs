//! torch-npu next to torch: its releases track torch's, so it is added with the same
//! version, or reported where the version is open or the file is a conda environment.

use super::package::{Flavor, package};
use super::torch_npu_releases::{CHECKED_ON, release_for, supported_torch_versions};
use crate::code::{Code, Entry, Kind, Severity};
use crate::diagnostic::Diagnostic;
use crate::edit::{Edit, Fix};
use crate::findings::Findings;
use crate::text::{Line, SourceText};

pub(crate) static ADD_TORCH_NPU: Entry = Entry {
    code: Code::RQ003,
    name: "add-torch-npu",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "torch-npu is added next to torch, matching its version",
    explanation: "torch_npu releases track torch releases (torch-npu 2.4.0.post4 goes with torch 2.4.0). \
The pin names a release that exists on PyPI, from a table kept with the tool and dated.",
    fix: "`torch-npu==<release>` (the newest torch-npu release for that torch, e.g. 2.4.0.post4) is \
added after a `torch==X.Y.Z` pin; a torch version without a torch-npu release, or an unpinned \
torch, gets RQ101 instead.",
    guide: "`torch-npu==<release for X.Y.Z>` after `torch==X.Y.Z`, from a dated table of PyPI \
releases (no release for that torch, or unpinned torch: RQ101)",
    severities: None,
};

pub(crate) static TORCH_NPU_PIN: Entry = Entry {
    code: Code::RQ101,
    name: "torch-npu-pin",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "torch-npu could not be added with a matching pin",
    explanation: "torch-npu must match the installed torch's major.minor.patch. An unpinned torch leaves \
the version open, and conda environments need torch-npu from pip.",
    fix: "Pin torch (e.g. torch==2.4.0) and torch-npu to the same version; in conda files add \
torch-npu under the `- pip:` list.",
    guide: "pin torch and torch-npu to the same version; conda files: add torch-npu under `- pip:`",
    severities: None,
};

/// Whether the file already asks for torch-npu (then nothing is added).
pub fn already_listed(source: &SourceText, flavor: Flavor) -> bool {
    source.body.lines().any(|l| {
        let t = l.trim_start().trim_start_matches('-').trim_start();
        !t.starts_with('#') && package(l, flavor).is_some_and(|(n, _)| n == "torch-npu")
    })
}

/// `2.4.0` from `torch==2.4.0` / `torch==2.4.0+cu121` / `pytorch=2.4.0` (conda).
pub fn torch_pin(line: &str, flavor: Flavor) -> Option<Option<String>> {
    let (name, start) = package(line, flavor)?;
    if name != "torch" && !(flavor == Flavor::Conda && name == "pytorch") {
        return None;
    }
    let rest = line[start..]
        .trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let rest = rest.split('#').next().unwrap_or_default().trim();
    let version = rest
        .strip_prefix("==")
        .or_else(|| rest.strip_prefix('=').filter(|_| flavor == Flavor::Conda));
    Some(version.map(|v| {
        let v = v.trim();
        let v = v.split(['+', ';', ' ', ',']).next().unwrap_or(v);
        v.trim_end_matches(".*").to_string()
    }))
}

/// Adds torch-npu after the torch line `line` pinned to `pin`; in a conda file, where
/// torch-npu has to come from pip, says where to add it instead.
pub fn add_beside_torch(
    line: &Line,
    pin: Option<String>,
    flavor: Flavor,
    newline: &str,
    out: &mut Findings,
) {
    let indent = line.indent();
    let trimmed = line.trimmed();
    let column = indent.len() + 1;
    if flavor == Flavor::Conda {
        let version = pin
            .as_deref()
            .and_then(release_for)
            .map_or(String::new(), |v| format!("=={v}"));
        out.diagnostics.push(
            Diagnostic::new(
                &TORCH_NPU_PIN,
                line.number,
                column,
                format!("`{trimmed}`: torch-npu must come from pip"),
            )
            .with_fix(format!(
                "Add `- torch-npu{version}` under the environment's `- pip:` list."
            )),
        );
        return;
    }
    let added = match &pin {
        Some(version) => match release_for(version) {
            Some(release) => format!("{indent}torch-npu=={release}"),
            None => {
                out.diagnostics.push(Diagnostic::new(
                    &TORCH_NPU_PIN,
                    line.number,
                    column,
                    format!(
                        "`{trimmed}`: no torch-npu release exists for torch {version} (PyPI, {CHECKED_ON}); torch-npu is not added"
                    ),
                ).with_fix(format!(
                    "Move torch to a version with a torch-npu release ({}) and add the matching torch-npu pin.",
                    supported_torch_versions()
                )));
                return;
            }
        },
        None => {
            out.diagnostics.push(Diagnostic::new(
                &TORCH_NPU_PIN,
                line.number,
                column,
                format!("`{trimmed}` is not pinned"),
            ));
            format!("{indent}torch-npu")
        }
    };
    let text = if line.ends_with_newline {
        format!("{newline}{added}")
    } else {
        format!("{newline}{added}{newline}")
    };
    out.fixes.push(Fix::new(
        ADD_TORCH_NPU.code,
        vec![Edit::insert(line.end(), text)],
    ));
}

//! Ascend reads ASCEND_RT_VISIBLE_DEVICES differently from CUDA: ids must ascend, and it
//! stops silently at the first invalid one. Checked wherever a script sets the list, in
//! shell and in Python.

use crate::code::{Code, Entry, Kind, Severity};

pub(crate) static VISIBLE_DEVICES_ORDER: Entry = Entry {
    code: Code::SH101,
    name: "visible-devices-order",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "A visible-devices list that is not strictly ascending",
    explanation: "ASCEND_RT_VISIBLE_DEVICES requires ascending ids and stops silently at the first \
invalid one, so `3,1` exposes fewer devices than on CUDA.",
    fix: "List the device ids in ascending order.",
    guide: "list visible device ids in ascending order",
    severities: None,
};

/// Calls `warn` with a message when Ascend would read `value` differently from CUDA.
pub fn lint_visible_devices(value: &str, mut warn: impl FnMut(String)) {
    let value = value.trim();
    if value.is_empty() {
        return;
    }
    let mut previous: Option<u32> = None;
    for id in value.split(',').map(str::trim) {
        match id.parse::<u32>() {
            Err(_) => {
                return warn(format!(
                    "visible-devices list `{value}`: `{id}` is not a device id; Ascend stops reading the list there"
                ));
            }
            Ok(n) if previous.is_some_and(|p| n <= p) => {
                return warn(format!(
                    "visible-devices list `{value}` is not ascending; Ascend requires ascending ids"
                ));
            }
            Ok(n) => previous = Some(n),
        }
    }
}

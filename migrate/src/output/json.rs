//! `--output-format json` (one array, pretty-printed) and `json-lines` (one compact object
//! per line, for streaming into other tools). Both hold the same records.

use super::records::Record;

pub fn array(records: &[Record]) -> String {
    serde_json::to_string_pretty(records).unwrap_or_else(|_| "[]".to_string()) + "\n"
}

pub fn lines(records: &[Record]) -> String {
    records
        .iter()
        .filter_map(|r| serde_json::to_string(r).ok())
        .map(|line| line + "\n")
        .collect()
}

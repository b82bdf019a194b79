//! `--output-format sarif`: a SARIF 2.1.0 log (the OASIS standard GitHub code scanning and
//! other tools import). One run; the driver lists every diagnostic code as a rule, each
//! finding is a result at its file and line, and files that could not be migrated are tool
//! execution notifications (they are about the run, not a rule). A test validates the
//! output against the official schema, committed as a fixture.

use super::records::Record;
use super::uri;
use crate::catalog;
use crate::code::{Kind, Severity};
use crate::run::Migration;
use serde_json::{Value, json};

/// The schema the log declares: the OASIS 2.1.0 schema (errata 01), as its `id` names it.
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The base the relative artifact URIs resolve against.
const ROOT_BASE: &str = "%SRCROOT%";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

pub fn log(migration: &Migration, records: &[Record]) -> String {
    let rules: Vec<&crate::Entry> = catalog::entries()
        .filter(|e| e.kind == Kind::Diagnostic)
        .collect();
    let rule_json: Vec<Value> = rules
        .iter()
        .map(|e| {
            json!({
                "id": e.code.as_str(),
                "name": e.name,
                "shortDescription": { "text": e.summary },
                "fullDescription": { "text": e.explanation },
                "help": { "text": e.fix },
                "defaultConfiguration": { "level": level(e.severity) },
            })
        })
        .collect();
    let location = |r: &Record| {
        let mut physical = json!({
            "artifactLocation": { "uri": uri::encode_path(&r.path), "uriBaseId": ROOT_BASE },
        });
        if let Some(line) = r.line {
            physical["region"] = json!({
                "startLine": line,
                "startColumn": r.column.unwrap_or(1),
            });
        }
        json!({ "physicalLocation": physical })
    };
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for r in records {
        let Some(code) = r.code else {
            notifications.push(json!({
                "level": level(r.severity),
                "message": { "text": r.message },
                "locations": [location(r)],
            }));
            continue;
        };
        let mut result = json!({
            "ruleId": code.as_str(),
            "level": level(r.severity),
            "message": { "text": r.message },
            "locations": [location(r)],
        });
        if let Some(index) = rules.iter().position(|e| e.code == code) {
            result["ruleIndex"] = json!(index);
        }
        if let Some(fix) = &r.suggested_fix {
            result["properties"] = json!({ "suggestedFix": fix });
        }
        results.push(result);
    }
    let failed = records
        .iter()
        .any(|r| r.code.is_none() && r.severity == Severity::Error);
    let log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "migrate",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rule_json,
            }},
            "originalUriBaseIds": {
                ROOT_BASE: { "uri": uri::directory_uri(&migration.root) },
            },
            // Columns count characters, as the text output's do.
            "columnKind": "unicodeCodePoints",
            "invocations": [{
                "executionSuccessful": !failed,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&log).unwrap_or_default() + "\n"
}

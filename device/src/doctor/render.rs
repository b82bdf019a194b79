//! The three renderings of a report: text for a terminal, Markdown for an issue, JSON for
//! tools (layout fixed by `SCHEMA_VERSION`).

use super::{Report, SCHEMA_VERSION, Status};
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write;

fn gib(bytes: Option<u64>) -> String {
    match bytes {
        Some(b) => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        None => "?".to_string(),
    }
}

fn dtypes(d: &crate::info::DeviceInfo) -> String {
    d.dtypes
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The `--json` layout. Typed structs (not `json!`) keep the field order of the schema in
/// the printed text whatever serde_json features other crates enable.
#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    selected: Option<JsonSelected>,
    devices: Vec<JsonDevice<'a>>,
    checks: &'a [super::Check],
}

#[derive(Serialize)]
struct JsonSelected {
    device: String,
    dtype: &'static str,
}

#[derive(Serialize)]
struct JsonDevice<'a> {
    id: String,
    kind: &'static str,
    name: &'a str,
    memory_total_bytes: Option<u64>,
    memory_free_bytes: Option<u64>,
    dtypes: Vec<&'static str>,
    best_dtype: &'static str,
}

impl Report {
    fn json_report(&self) -> JsonReport<'_> {
        JsonReport {
            schema_version: SCHEMA_VERSION,
            selected: self.selected.map(|s| JsonSelected {
                device: s.device.to_string(),
                dtype: s.dtype.as_str(),
            }),
            devices: self
                .devices
                .iter()
                .map(|d| JsonDevice {
                    id: d.id.to_string(),
                    kind: d.kind.as_str(),
                    name: &d.name,
                    memory_total_bytes: d.memory_total_bytes,
                    memory_free_bytes: d.memory_free_bytes,
                    dtypes: d.dtypes.iter().map(|t| t.as_str()).collect(),
                    best_dtype: d.best_dtype.as_str(),
                })
                .collect(),
            checks: &self.checks,
        }
    }

    /// The `--json` object as a value.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.json_report()).unwrap_or(Value::Null)
    }

    /// The `--json` text, fields in schema order.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string_pretty(&self.json_report()).unwrap_or_else(|_| "{}".to_string())
    }

    fn summary(&self) -> String {
        format!(
            "{} checks: {} pass, {} warn, {} fail, {} skip",
            self.checks.len(),
            self.count(Status::Pass),
            self.count(Status::Warn),
            self.count(Status::Fail),
            self.count(Status::Skip)
        )
    }

    fn selected_line(&self) -> String {
        match self.selected {
            Some(s) => format!("{} as {}", s.device, s.dtype),
            None => "none (see device.selection)".to_string(),
        }
    }

    /// Human-readable text for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "doctor: {}", self.summary());
        let _ = writeln!(out, "selected: {}", self.selected_line());
        let _ = writeln!(out, "\ndevices:");
        for d in &self.devices {
            let _ = writeln!(
                out,
                "  {:<7} {} | memory {} free of {} | dtypes {} (best {})",
                d.id.to_string(),
                d.name,
                gib(d.memory_free_bytes),
                gib(d.memory_total_bytes),
                dtypes(d),
                d.best_dtype
            );
        }
        let _ = writeln!(out, "\nchecks:");
        let width = self.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
        for c in &self.checks {
            let _ = writeln!(
                out,
                "  {:<4}  {:<width$}  {}",
                c.status.as_str().to_uppercase(),
                c.id,
                c.detail
            );
            if let Some(fix) = &c.fix {
                let _ = writeln!(out, "        {:<width$}  fix: {fix}", "");
            }
        }
        out
    }

    /// Markdown to paste into an issue.
    pub fn to_markdown(&self) -> String {
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let mut out = String::new();
        let _ = writeln!(out, "### doctor report\n");
        let _ = writeln!(out, "- {}", self.summary());
        let _ = writeln!(out, "- selected: `{}`", self.selected_line());
        for d in &self.devices {
            let _ = writeln!(
                out,
                "- `{}`: {}, memory {} free of {}, dtypes {} (best {})",
                d.id,
                cell(&d.name),
                gib(d.memory_free_bytes),
                gib(d.memory_total_bytes),
                dtypes(d),
                d.best_dtype
            );
        }
        let _ = writeln!(out, "\n| check | status | detail | fix |");
        let _ = writeln!(out, "|---|---|---|---|");
        for c in &self.checks {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                c.id,
                c.status.as_str(),
                cell(&c.detail),
                c.fix.as_deref().map(cell).unwrap_or_default()
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Check, Report, Selected};
    use crate::{DType, Device};

    fn report() -> Report {
        Report {
            selected: Some(Selected {
                device: Device::Npu(0),
                dtype: DType::BF16,
            }),
            devices: vec![crate::cpu::describe()],
            checks: vec![
                Check::pass("host", "fine"),
                Check::warn("env.x", "a | b", "do y"),
            ],
        }
    }

    #[test]
    fn json_follows_the_schema() {
        let v = report().to_json();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["selected"]["device"], "npu:0");
        assert_eq!(v["selected"]["dtype"], "bf16");
        assert_eq!(v["devices"][0]["id"], "cpu");
        assert_eq!(v["devices"][0]["kind"], "cpu");
        assert_eq!(v["checks"][0]["fix"], serde_json::Value::Null);
        assert_eq!(v["checks"][1]["status"], "warn");
        let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["checks", "devices", "schema_version", "selected"]);
        let text = report().to_json_string();
        assert!(text.find("schema_version") < text.find("checks"));
    }

    #[test]
    fn markdown_escapes_cells_and_text_shows_fixes() {
        let r = report();
        assert!(r.to_markdown().contains("a \\| b"));
        assert!(r.to_text().contains("fix: do y"));
        assert_eq!(r.exit_code(), 1);
    }
}

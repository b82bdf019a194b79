//! `--output-format github`: one workflow command per finding, which GitHub Actions shows
//! as an annotation on the file and line:
//! `::error file=a.py,line=3,col=1,title=migrate PY101 (flash-attn)::message`.
//! Escaping follows GitHub's own toolkit (`@actions/core`, command.ts): in the message `%`,
//! `\r` and `\n` become `%25`, `%0D`, `%0A`; in a property `:` and `,` also become `%3A`,
//! `%2C`, since they would end the property.

use super::records::Record;
use crate::code::Severity;
use std::fmt::Write;

pub fn annotations(records: &[Record]) -> String {
    let mut out = String::new();
    for r in records {
        let command = match r.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let title = match (r.code, r.name) {
            (Some(code), Some(name)) => format!("migrate {code} ({name})"),
            _ => "migrate".to_string(),
        };
        let mut properties = vec![format!("file={}", escape_property(&r.path))];
        if let Some(line) = r.line {
            properties.push(format!("line={line}"));
        }
        if let Some(column) = r.column {
            properties.push(format!("col={column}"));
        }
        properties.push(format!("title={}", escape_property(&title)));
        let message = match &r.suggested_fix {
            Some(fix) => format!("{}\nSuggested fix: {fix}", r.message),
            None => r.message.clone(),
        };
        let _ = writeln!(
            out,
            "::{command} {}::{}",
            properties.join(","),
            escape_data(&message)
        );
    }
    out
}

/// A command's message.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property's value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_is_githubs() {
        // Hand-written from the toolkit's rules: data escapes three characters, properties five.
        assert_eq!(escape_data("a%b\r\nc:d,e"), "a%25b%0D%0Ac:d,e");
        assert_eq!(escape_property("a%b\r\nc:d,e"), "a%25b%0D%0Ac%3Ad%2Ce");
    }

    #[test]
    fn a_finding_and_a_failed_file_are_whole_workflow_commands() {
        let finding = Record {
            path: "src/a,b:c.py".into(),
            line: Some(3),
            column: Some(7),
            code: Some(crate::Code::PY101),
            name: Some("flash-attn"),
            severity: Severity::Error,
            message: "100% on CUDA\nonly".into(),
            suggested_fix: Some("guard it, then retry".into()),
        };
        let failed = Record {
            path: "nb.ipynb".into(),
            line: None,
            column: None,
            code: None,
            name: None,
            severity: Severity::Error,
            message: "not migrated: invalid JSON".into(),
            suggested_fix: None,
        };
        let note = Record {
            severity: Severity::Info,
            ..failed.clone()
        };
        assert_eq!(
            annotations(&[finding, failed, note]),
            "::error file=src/a%2Cb%3Ac.py,line=3,col=7,title=migrate PY101 (flash-attn)::100%25 on CUDA%0Aonly%0ASuggested fix: guard it, then retry\n\
             ::error file=nb.ipynb,title=migrate::not migrated: invalid JSON\n\
             ::notice file=nb.ipynb,title=migrate::not migrated: invalid JSON\n"
        );
    }
}

//! Files with old-Mac (`\r` only) and mixed line endings: the helper import lands before
//! its first use, and lines migrate adds use the file's own line break.

use crate::common::*;
use migrate::python;
use migrate::text::SourceText;
use migrate::{RuleOptions, Style};
use std::process::Command;

/// Runs the rewritten file with a stand-in helper module, so an import placed after its
/// first use fails with NameError instead of only compiling.
fn runs_with_python(text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("移植.py");
    std::fs::write(&file, text).unwrap();
    let script = "import sys, types\n\
m = types.ModuleType('device_utils'); m.DEVICE = 'npu'; sys.modules['device_utils'] = m\n\
n = types.ModuleType('torch_npu'); sys.modules['torch_npu'] = n\n\
class Y:\n    def to(self, d): return d\n    def npu(self): return 'npu'\n\
p = sys.argv[1]\n\
exec(compile(open(p, 'rb').read(), p, 'exec'), {'y': Y(), '__name__': 'm'})\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn carriage_return_only_files_get_the_import_before_its_use_and_keep_their_breaks() {
    let cases = [
        "x = y.cuda()\rprint(x)\r",
        "\"\"\"文档\"\"\"\rimport os\rx = y.cuda()\rprint(x, '模型')\r",
        "import os\r\rdef f():\r    return y.cuda()\r\rprint(f())",
    ];
    for style in [Style::Portable, Style::Npu] {
        let options = RuleOptions {
            style,
            ..RuleOptions::default()
        };
        for case in cases {
            let input = SourceText::new(case);
            let outcome = python::migrate(&input, &options).expect("migrates");
            let output = outcome.text(&input).to_file_text();
            assert!(
                !output.contains('\n'),
                "{style:?} {case:?}: a \\n was added: {output:?}"
            );
            let module = options.required_import();
            let import = output.find(&format!("import {module}\r"));
            assert!(import.is_some(), "{style:?} {case:?}: {output:?}");
            if style == Style::Portable {
                let first_use = output.find(&format!("{module}."));
                assert!(
                    first_use.is_some() && import < first_use,
                    "{case:?}: import after first use: {output:?}"
                );
            }
            if have("python3") {
                runs_with_python(&output).unwrap_or_else(|e| panic!("{case:?}:\n{output:?}\n{e}"));
            }
        }
    }
}

#[test]
fn a_crlf_file_with_one_stray_lone_cr_stays_crlf() {
    let input = SourceText::new("import os\r\nx = y.cuda()\r\nz = 1\rprint(x)\r\n");
    let outcome = python::migrate(&input, &RuleOptions::default()).expect("migrates");
    let output = outcome.text(&input).to_file_text();
    assert!(
        output.contains("import os\r\nimport device_utils\r\n"),
        "{output:?}"
    );
}

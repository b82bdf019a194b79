//! The Python stack a diffusers user runs: versions read with `python3 -c` under a
//! timeout, so a broken interpreter or a hanging import never hangs doctor.

use device::doctor::Check;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Reads distribution metadata only: importing torch takes seconds and importing
/// torch_npu initialises the NPU, neither of which a version check should do.
const SCRIPT: &str = r#"
import json, sys
from importlib import metadata
names = {"torch": ["torch"], "torch_npu": ["torch_npu", "torch-npu"],
         "diffusers": ["diffusers"], "transformers": ["transformers"],
         "accelerate": ["accelerate"], "safetensors": ["safetensors"],
         "flash_attn": ["flash_attn", "flash-attn"]}
found = {}
for key, candidates in names.items():
    found[key] = None
    for name in candidates:
        try:
            found[key] = metadata.version(name)
            break
        except Exception:
            pass
print(json.dumps({"python": sys.version.split()[0], "executable": sys.executable,
                  "packages": found}))
"#;

/// The interpreter checked when none is named: missing, it only means no Python stack.
pub const DEFAULT_INTERPRETER: &str = "python3";

/// What the interpreter reported.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PythonStack {
    pub python: String,
    pub executable: String,
    pub packages: BTreeMap<String, Option<String>>,
}

impl PythonStack {
    fn version(&self, name: &str) -> Option<&str> {
        self.packages.get(name).and_then(|v| v.as_deref())
    }
}

/// How to run the interpreter.
#[derive(Debug, Clone)]
pub struct PythonProbe {
    pub interpreter: PathBuf,
    pub timeout: Duration,
}

/// Why the stack could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    NotFound(String),
    TimedOut(Duration),
    Failed(String),
}

impl PythonProbe {
    pub fn new(interpreter: impl Into<PathBuf>, timeout: Duration) -> Self {
        Self {
            interpreter: interpreter.into(),
            timeout,
        }
    }

    /// Runs the script; kills the interpreter when it exceeds the timeout.
    pub fn run(&self) -> Result<PythonStack, ProbeError> {
        let mut child = Command::new(&self.interpreter)
            .args(["-c", SCRIPT])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| ProbeError::NotFound(format!("{}: {e}", self.interpreter.display())))?;
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if start.elapsed() >= self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(ProbeError::TimedOut(self.timeout));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(ProbeError::Failed(e.to_string())),
            }
        };
        // The script prints one short line, well under a pipe's buffer, so reading after
        // exit cannot deadlock.
        let mut stdout = String::new();
        let mut stderr = String::new();
        if let Some(mut out) = child.stdout.take() {
            let _ = out.read_to_string(&mut stdout);
        }
        if let Some(mut err) = child.stderr.take() {
            let _ = err.read_to_string(&mut stderr);
        }
        if !status.success() {
            let last = stderr.lines().last().unwrap_or("").trim().to_string();
            return Err(ProbeError::Failed(format!("exited with {status}: {last}")));
        }
        let line = stdout.lines().last().unwrap_or("");
        serde_json::from_str(line)
            .map_err(|e| ProbeError::Failed(format!("unexpected output ({e}): {line}")))
    }
}

fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split(['.', '+', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.trim_start_matches("post").parse().ok()?;
    Some((major, minor))
}

/// Turns a probe result into checks. `npu_host` makes torch_npu required and flash-attn
/// suspicious. `given`: the user named the interpreter, so one that cannot be started is
/// a failure, not a host without Python.
pub fn checks(result: &Result<PythonStack, ProbeError>, npu_host: bool, given: bool) -> Vec<Check> {
    let stack = match result {
        Ok(stack) => stack,
        Err(ProbeError::NotFound(why)) if given => {
            return vec![Check::fail(
                "python.interpreter",
                format!("the interpreter given with --python cannot be run: {why}"),
                "pass the path of an existing, executable Python (e.g. `which python3` in \
                 the environment you run diffusers in), or leave --python out",
            )];
        }
        Err(ProbeError::NotFound(why)) => {
            return vec![Check::skip(
                "python.interpreter",
                format!("no Python interpreter ({why}): the PyTorch stack is not checked"),
            )];
        }
        Err(ProbeError::TimedOut(t)) => {
            return vec![Check::warn(
                "python.interpreter",
                format!("python did not answer within {} s", t.as_secs_f32()),
                "run `python3 -c 'import sys'` by hand: a slow site-packages scan or a broken \
                 .pth file makes every Python start slow; raise --python-timeout to wait longer",
            )];
        }
        Err(ProbeError::Failed(why)) => {
            return vec![Check::warn(
                "python.interpreter",
                format!("python failed: {why}"),
                "repair the interpreter or point doctor at the right one with --python",
            )];
        }
    };
    let mut checks = vec![Check::pass(
        "python.interpreter",
        format!("Python {} ({})", stack.python, stack.executable),
    )];
    let Some(torch) = stack.version("torch") else {
        checks.push(Check::skip(
            "python.torch",
            "torch not installed: the PyTorch path is not set up (not needed for the Rust \
             pipelines)",
        ));
        return checks;
    };
    checks.push(Check::pass("python.torch", format!("torch {torch}")));

    if npu_host {
        checks.push(match stack.version("torch_npu") {
            None => Check::warn(
                "python.torch_npu",
                format!("torch {torch} without torch_npu: PyTorch cannot use the NPU"),
                format!(
                    "pip install torch-npu=={} (its major.minor must match torch's)",
                    torch.split('+').next().unwrap_or(torch)
                ),
            ),
            Some(npu) if major_minor(npu) != major_minor(torch) => Check::warn(
                "python.torch_npu",
                format!("torch_npu {npu} does not match torch {torch}"),
                format!("install the torch-npu release built for torch {torch}"),
            ),
            Some(npu) => Check::pass("python.torch_npu", format!("torch_npu {npu}")),
        });
    } else {
        checks.push(Check::skip(
            "python.torch_npu",
            match stack.version("torch_npu") {
                Some(v) => format!("torch_npu {v} installed, but this is not an NPU host"),
                None => "not an NPU host".to_string(),
            },
        ));
    }

    let libs = ["diffusers", "transformers", "accelerate", "safetensors"];
    let present: Vec<String> = libs
        .iter()
        .filter_map(|n| stack.version(n).map(|v| format!("{n} {v}")))
        .collect();
    let missing: Vec<&str> = libs
        .iter()
        .copied()
        .filter(|n| stack.version(n).is_none())
        .collect();
    checks.push(if missing.is_empty() {
        Check::pass("python.libraries", present.join(", "))
    } else {
        Check::warn(
            "python.libraries",
            format!(
                "missing {}{}",
                missing.join(", "),
                if present.is_empty() {
                    String::new()
                } else {
                    format!("; found {}", present.join(", "))
                }
            ),
            format!("pip install {}", missing.join(" ")),
        )
    });

    checks.push(match (stack.version("flash_attn"), npu_host) {
        (Some(v), true) => Check::warn(
            "python.flash_attn",
            format!("flash-attn {v} is installed on an NPU host"),
            "pip uninstall flash-attn: it is CUDA-only, and code that finds it installed \
             takes a path that fails on NPU; NPU attention is torch_npu.npu_fusion_attention",
        ),
        (Some(v), false) => Check::pass("python.flash_attn", format!("flash-attn {v}")),
        (None, _) => Check::skip("python.flash_attn", "flash-attn not installed"),
    });
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(packages: &[(&str, &str)]) -> Result<PythonStack, ProbeError> {
        Ok(PythonStack {
            python: "3.11.9".into(),
            executable: "/usr/bin/python3".into(),
            packages: packages
                .iter()
                .map(|(k, v)| (k.to_string(), Some(v.to_string())))
                .collect(),
        })
    }

    fn status(checks: &[Check], id: &str) -> device::doctor::Status {
        checks.iter().find(|c| c.id == id).unwrap().status
    }

    #[test]
    fn npu_hosts_need_a_matching_torch_npu_and_no_flash_attn() {
        use device::doctor::Status::*;
        let c = checks(
            &stack(&[("torch", "2.5.1+cpu"), ("flash_attn", "2.6.3")]),
            true,
            false,
        );
        assert_eq!(status(&c, "python.torch_npu"), Warn);
        assert_eq!(status(&c, "python.flash_attn"), Warn);
        assert_eq!(status(&c, "python.libraries"), Warn);
        let c = checks(
            &stack(&[("torch", "2.5.1"), ("torch_npu", "2.5.1.post1")]),
            true,
            false,
        );
        assert_eq!(status(&c, "python.torch_npu"), Pass);
        let c = checks(
            &stack(&[("torch", "2.6.0"), ("torch_npu", "2.5.1")]),
            true,
            false,
        );
        assert_eq!(status(&c, "python.torch_npu"), Warn);
        let c = checks(
            &stack(&[("torch", "2.6.0"), ("flash_attn", "2.7")]),
            false,
            false,
        );
        assert_eq!(status(&c, "python.flash_attn"), Pass);
        assert_eq!(status(&c, "python.torch_npu"), Skip);
    }

    #[test]
    fn interpreter_problems_are_not_failures() {
        use device::doctor::Status::*;
        let c = checks(&Err(ProbeError::NotFound("python3".into())), true, false);
        assert_eq!(c[0].status, Skip);
        let c = checks(
            &Err(ProbeError::TimedOut(Duration::from_secs(1))),
            true,
            false,
        );
        assert_eq!(c[0].status, Warn);
        assert_eq!(checks(&stack(&[]), true, false)[1].status, Skip);
    }

    #[test]
    fn a_named_interpreter_that_cannot_run_fails() {
        let missing = Err(ProbeError::NotFound("/nonexistent/python".into()));
        let c = checks(&missing, false, true);
        assert_eq!(c[0].status, device::doctor::Status::Fail);
        assert!(
            c[0].detail.contains("/nonexistent/python"),
            "{}",
            c[0].detail
        );
        assert!(c[0].fix.is_some());
    }
}

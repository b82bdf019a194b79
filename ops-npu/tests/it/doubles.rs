//! Builds the test-double Ascend libraries (tests/doubles) through scripts/npu/build-double.sh,
//! the same recipe that produces a standalone CANN-shaped folder, one variant per set of
//! options. Variants are cached under CARGO_TARGET_TMPDIR by their options and the double's
//! sources, built into a temporary folder and renamed into place, so concurrent test
//! processes never see half a variant. The cli crate's doctor tests include this file too,
//! so paths are spelled from the workspace, not from the including crate.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// ops-npu's folder, from whichever member's tests include this file.
const MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ops-npu");

#[derive(Debug, Clone, Default)]
pub struct FakeAscend {
    args: Vec<String>,
    cann: Option<String>,
    skip_opapi: bool,
}

impl FakeAscend {
    pub fn new() -> Self {
        Self::default()
    }

    fn arg(mut self, flag: &str, value: impl std::fmt::Display) -> Self {
        self.args.push(flag.to_string());
        self.args.push(value.to_string());
        self
    }

    /// What aclrtGetSocName answers; also picks the product family whose doc rows apply.
    pub fn soc(self, name: &str) -> Self {
        self.arg("--soc", name)
    }

    /// Bytes every op's first phase asks for.
    pub fn workspace(self, bytes: u64) -> Self {
        self.arg("--workspace", bytes)
    }

    /// That op's first phase fails with 561003 (kernel binary not installed).
    pub fn fail_op(self, op: &str) -> Self {
        self.arg("--fail-op", op)
    }

    /// Leaves a symbol (for an op: both of its phases) out of its library.
    pub fn without(self, symbol: &str) -> Self {
        self.arg("--without", symbol)
    }

    /// How many devices aclrtGetDeviceCount reports.
    pub fn devices(self, n: u32) -> Self {
        self.arg("--devices", n)
    }

    /// Capacity of each device: aclrtMalloc past it fails with ACL_ERROR_RT_MEMORY_ALLOCATION
    /// and aclrtGetMemInfo reports it, less what is allocated.
    pub fn memory(self, bytes: u64) -> Self {
        self.arg("--memory", bytes)
    }

    /// Writes share/info/runtime/version.info with this CANN version.
    pub fn cann(mut self, version: &str) -> Self {
        self.cann = Some(version.to_string());
        self
    }

    /// No libopapi.so at all (a runtime without op packages).
    pub fn without_op_library(mut self) -> Self {
        self.skip_opapi = true;
        self
    }

    /// Builds (or reuses) the variant and returns its CANN-like root.
    pub fn install(&self) -> PathBuf {
        let script = Path::new(MANIFEST).join("../scripts/npu/build-double.sh");
        let mut args = self.args.clone();
        args.extend(["--cann".into(), self.cann.clone().unwrap_or("none".into())]);
        if self.skip_opapi {
            args.push("--no-opapi".into());
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        args.hash(&mut h);
        // Sources are part of the key, so an edited double is rebuilt.
        std::fs::read(&script).unwrap().hash(&mut h);
        std::fs::read(Path::new(MANIFEST).join("csrc/acl_api.h"))
            .unwrap()
            .hash(&mut h);
        let mut sources: Vec<PathBuf> = std::fs::read_dir(doubles_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("cc" | "h")))
            .collect();
        sources.sort();
        for s in &sources {
            std::fs::read(s).unwrap().hash(&mut h);
        }
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fake-ascend");
        let root = base.join(format!("{:016x}", h.finish()));
        if root.join("lib64/libascendcl.so").exists() {
            return root;
        }
        std::fs::create_dir_all(&base).unwrap();
        let tmp = base.join(format!("{:016x}.{}.tmp", h.finish(), std::process::id()));
        let out = Command::new("bash")
            .arg(&script)
            .args(&args)
            .arg(&tmp)
            .output()
            .expect("bash is needed to build the test-double Ascend libraries");
        assert!(
            out.status.success(),
            "building the test double failed ({args:?}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Another process may have won the race; its variant is the same.
        if std::fs::rename(&tmp, &root).is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        root
    }
}

/// The double's source folder.
pub fn doubles_dir() -> PathBuf {
    Path::new(MANIFEST).join("tests/doubles")
}

/// Calls a counter the doubles export (`fake_live_descriptors`, `fake_launches` and friends,
/// all defined in libascendcl.so and reachable through any of the three libraries).
pub fn counter(root: &Path, library: &str, symbol: &str) -> i64 {
    // SAFETY: the doubles are our own test libraries, already loaded by the runtime under
    // test (dlopen returns the same handle); the symbol is `int64_t (*)()`.
    unsafe {
        let lib = libloading::Library::new(root.join("lib64").join(library)).unwrap();
        let f: libloading::Symbol<unsafe extern "C" fn() -> i64> =
            lib.get(symbol.as_bytes()).unwrap();
        f()
    }
}

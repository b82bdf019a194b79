//! Builds the test-double Ascend libraries (tests/doubles/fake_ascend.cc plus ops-npu's scalar
//! reference kernels) with the system C++ compiler, the way device/tests/doubles builds
//! its fake ACL: one compilation per variant, configured by -D macros rather than the
//! environment. Variants are cached under CARGO_TARGET_TMPDIR by their flags, and written
//! to a temporary name then renamed, so concurrent test processes never see half a file.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

const CSRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/csrc");
const SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/doubles/fake_ascend.cc");

#[derive(Debug, Clone, Default)]
pub struct FakeAscend {
    defines: Vec<String>,
    cann: Option<String>,
    skip_opapi: bool,
}

impl FakeAscend {
    pub fn new() -> Self {
        Self::default()
    }

    fn define(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        self.defines.push(format!("-D{name}={value}"));
        self
    }

    pub fn soc(self, name: &str) -> Self {
        self.define("FAKE_SOC", format!("\"{name}\""))
    }

    pub fn workspace(self, bytes: u64) -> Self {
        self.define("FAKE_WORKSPACE", bytes)
    }

    pub fn fail_op(self, op: &str) -> Self {
        self.define("FAKE_FAIL_OP", format!("\"{op}\""))
    }

    pub fn without(mut self, symbol: &str) -> Self {
        self.defines.push(format!("-DFAKE_OMIT_{symbol}"));
        self
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
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&self.defines, &self.cann, self.skip_opapi).hash(&mut h);
        // Sources are part of the key, so an edited double is rebuilt.
        for source in [
            SOURCE,
            &format!("{CSRC}/reference.cc"),
            &format!("{CSRC}/acl_api.h"),
            &format!("{CSRC}/cpu_kernels.h"),
        ] {
            std::fs::read(source).unwrap().hash(&mut h);
        }
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("fake-ascend")
            .join(format!("{:016x}", h.finish()));
        let lib64 = root.join("lib64");
        std::fs::create_dir_all(&lib64).unwrap();
        let mut parts = vec![
            ("FAKE_PART_ACL", "libascendcl.so"),
            ("FAKE_PART_NNOPBASE", "libnnopbase.so"),
        ];
        if !self.skip_opapi {
            parts.push(("FAKE_PART_OPAPI", "libopapi.so"));
        }
        for (part, name) in parts {
            let target = lib64.join(name);
            if target.exists() {
                continue;
            }
            let tmp = lib64.join(format!("{name}.{}.tmp", std::process::id()));
            let mut cmd = Command::new(std::env::var("CXX").unwrap_or_else(|_| "c++".into()));
            cmd.args(["-std=c++17", "-shared", "-fPIC", "-O1", "-o"])
                .arg(&tmp)
                .arg(format!("-D{part}"))
                .arg(format!("-I{CSRC}"))
                .args(&self.defines)
                .arg(SOURCE);
            if part == "FAKE_PART_OPAPI" {
                cmd.arg(Path::new(CSRC).join("reference.cc"));
            }
            let status = cmd
                .status()
                .expect("a C++ compiler (c++) is needed to build the test-double Ascend libraries");
            assert!(status.success(), "compiling the {part} double failed");
            std::fs::rename(&tmp, &target).unwrap();
        }
        if let Some(v) = &self.cann {
            let info = root.join("share/info/runtime");
            std::fs::create_dir_all(&info).unwrap();
            std::fs::write(info.join("version.info"), format!("Version={v}\n")).unwrap();
        }
        root
    }
}

/// Calls a counter the doubles export (`fake_live_descriptors` and friends).
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

//! Builds the test-double vendor libraries (fake_acl.c, fake_cuda.c) with the system C
//! compiler. Each variant is a separate compilation with -D macros, so a test never
//! configures a double through the process environment.
//!
//! Shared with the cli crate's doctor tests through `#[path]`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

const DOUBLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../device/tests/doubles");

/// A fault injected into a double's init call (cuInit, aclInit): behaviour no real
/// runtime documents, which a caller must survive all the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Never returns.
    Hang = 1,
    /// Dereferences NULL: SIGSEGV.
    Segfault = 2,
    /// Calls abort(): SIGABRT.
    Abort = 3,
}

fn compile(source: &str, output: &Path, defines: &[String]) {
    std::fs::create_dir_all(output.parent().unwrap()).unwrap();
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(output)
        .arg(Path::new(DOUBLES).join(source))
        .args(defines)
        .status()
        .expect("a C compiler (cc) is needed to build the test-double vendor libraries");
    assert!(status.success(), "compiling {source} failed");
}

/// A fake libascendcl.so.
#[derive(Debug, Clone, Default)]
pub struct FakeAcl {
    defines: Vec<String>,
}

impl FakeAcl {
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

    pub fn devices(self, count: u32) -> Self {
        self.define("FAKE_DEVICE_COUNT", format!("{count}U"))
    }

    pub fn memory(self, total: u64, free: u64) -> Self {
        self.define("FAKE_HBM_TOTAL", format!("{total}ULL"))
            .define("FAKE_HBM_FREE", format!("{free}ULL"))
    }

    pub fn bf16_attribute(self, value: i32) -> Self {
        self.define("FAKE_BF16_ATTR", value)
    }

    pub fn init_result(self, code: i32) -> Self {
        self.define("FAKE_INIT_RESULT", code)
    }

    pub fn error_message(self, text: &str) -> Self {
        self.define("FAKE_ERR_MSG", format!("\"{text}\""))
    }

    pub fn without(mut self, symbol: &str) -> Self {
        self.defines.push(format!("-DOMIT_{symbol}"));
        self
    }

    pub fn mem_info_fails(self, code: i32) -> Self {
        self.define("FAKE_MEMINFO_FAILS", code)
    }

    pub fn init_fault(self, fault: Fault) -> Self {
        self.define("FAKE_INIT_FAULT", fault as i32)
    }

    /// Installs as `<root>/lib64/libascendcl.so`, the layout of a CANN toolkit, and
    /// returns the library path.
    pub fn install(&self, root: &Path) -> PathBuf {
        let lib = root.join("lib64").join("libascendcl.so");
        compile("fake_acl.c", &lib, &self.defines);
        lib
    }
}

/// Writes the CANN runtime version file under a toolkit root.
pub fn write_cann_version(root: &Path, version: &str) {
    let dir = root.join("share/info/runtime");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("version.info"), format!("Version={version}\n")).unwrap();
}

/// A fake libcuda.so.1.
#[derive(Debug, Clone, Default)]
pub struct FakeCuda {
    defines: Vec<String>,
}

impl FakeCuda {
    pub fn new() -> Self {
        Self::default()
    }

    fn define(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        self.defines.push(format!("-D{name}={value}"));
        self
    }

    pub fn capability(self, major: u32, minor: u32) -> Self {
        self.define("FAKE_CC_MAJOR", major)
            .define("FAKE_CC_MINOR", minor)
    }

    pub fn name(self, name: &str) -> Self {
        self.define("FAKE_NAME", format!("\"{name}\""))
    }

    pub fn devices(self, count: u32) -> Self {
        self.define("FAKE_COUNT", count)
    }

    /// What cuDeviceGetCount reports, whatever it is (negative, absurd).
    pub fn reported_count(self, count: i32) -> Self {
        self.define("FAKE_COUNT", format!("({count})"))
    }

    pub fn init_result(self, code: i32) -> Self {
        self.define("FAKE_INIT_RESULT", code)
    }

    pub fn init_fault(self, fault: Fault) -> Self {
        self.define("FAKE_INIT_FAULT", fault as i32)
    }

    pub fn without(mut self, symbol: &str) -> Self {
        self.defines.push(format!("-DOMIT_{symbol}"));
        self
    }

    /// Builds `<dir>/libcuda.so.1` and returns its path.
    pub fn install(&self, dir: &Path) -> PathBuf {
        let lib = dir.join("libcuda.so.1");
        compile("fake_cuda.c", &lib, &self.defines);
        lib
    }
}

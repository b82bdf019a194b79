//! The strict test double checked on its own (tests/doubles/selftest.cc, a C++ driver that
//! dlopens a built variant): each op's documented rejections (status and a message naming
//! the op), results hand-computed from the docs' formulas, strided views with offsets,
//! executor reuse, poisoning, device memory limits, devices bound per thread, and counters
//! back at zero afterwards. Plus: every op symbol ops-npu declares is exported, and
//! `without` really removes a symbol.

use crate::doubles::{FakeAscend, doubles_dir};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

const CSRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/csrc");

/// Compiles the driver once per source version.
fn driver() -> PathBuf {
    let dir = doubles_dir();
    let sources = [dir.join("selftest.cc"), dir.join("selftest_harness.h")];
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for s in &sources {
        std::fs::read(s).unwrap().hash(&mut h);
    }
    std::fs::read(Path::new(CSRC).join("acl_api.h"))
        .unwrap()
        .hash(&mut h);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("selftest-{:016x}", h.finish()));
    if out.exists() {
        return out;
    }
    let tmp = out.with_extension(format!("{}.tmp", std::process::id()));
    let status = Command::new(std::env::var("CXX").unwrap_or_else(|_| "c++".into()))
        .args(["-std=c++17", "-O1", "-Wall", "-o"])
        .arg(&tmp)
        .arg(format!("-I{}", dir.display()))
        .arg(format!("-I{CSRC}"))
        .arg(&sources[0])
        .args(["-ldl", "-pthread"])
        .status()
        .expect("a C++ compiler (c++) is needed for the double's self-test");
    assert!(status.success(), "compiling selftest.cc failed");
    std::fs::rename(&tmp, &out).unwrap();
    out
}

fn run_suite(root: &Path, suite: &str) {
    let out = Command::new(driver())
        .arg(root)
        .arg(suite)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "self-test suite {suite} failed:\n{text}"
    );
    assert!(text.contains(", 0 failures"), "{text}");
}

#[test]
fn a2_ops_reject_what_their_docs_reject_and_compute_the_documented_results() {
    run_suite(&FakeAscend::new().install(), "a2");
}

#[test]
fn inference_parts_refuse_bf16_undocumented_products_and_keep_dtype_fp32_matmul() {
    run_suite(&FakeAscend::new().soc("Ascend310P3").install(), "infer");
}

#[test]
fn training_parts_refuse_bf16_and_ops_their_docs_do_not_list() {
    run_suite(&FakeAscend::new().soc("Ascend910A").install(), "train");
}

#[test]
fn a3_parts_have_no_flash_attention_score() {
    run_suite(&FakeAscend::new().soc("Ascend910_9391").install(), "a3");
}

#[test]
fn device_memory_is_limited_and_reported() {
    run_suite(&FakeAscend::new().memory(1 << 20).install(), "memory");
}

#[test]
fn devices_are_bound_per_thread() {
    run_suite(&FakeAscend::new().devices(2).install(), "devices");
}

/// Every name in one of acl_api.h's X-macro lists (`X(name)` and `P(X, name)` entries).
fn declared(list: &str) -> Vec<String> {
    let header = std::fs::read_to_string(Path::new(CSRC).join("acl_api.h")).unwrap();
    let start = header
        .find(&format!("#define {list}("))
        .unwrap_or_else(|| panic!("{list} not in acl_api.h"));
    let mut names = Vec::new();
    for line in header[start..].lines() {
        for part in line.split(['(', ')', ',', ' ']) {
            if part.starts_with("acl") && !part.is_empty() {
                names.push(part.to_string());
            }
        }
        if !line.trim_end().ends_with('\\') {
            break;
        }
    }
    names
}

#[test]
fn the_double_exports_every_symbol_ops_npu_resolves() {
    let root = FakeAscend::new().install();
    let mut ops = declared("OPS_NPU_OP_SYMBOLS");
    for op in declared("OPS_NPU_GENERAL_OPS") {
        ops.push(format!("{op}GetWorkspaceSize"));
        ops.push(op);
    }
    assert!(ops.len() >= 2 * 42, "{} op symbols parsed", ops.len());
    for (library, names) in [
        ("libascendcl.so", declared("OPS_NPU_ACL_SYMBOLS")),
        ("libnnopbase.so", declared("OPS_NPU_NNOPBASE_SYMBOLS")),
        ("libopapi.so", ops),
    ] {
        // SAFETY: our own test library; only symbol presence is checked.
        let lib = unsafe { libloading::Library::new(root.join("lib64").join(library)) }.unwrap();
        for name in names {
            // SAFETY: looked up, never called.
            let found = unsafe { lib.get::<*const ()>(name.as_bytes()) }.is_ok();
            assert!(found, "{library} lacks {name}");
        }
    }
}

#[test]
fn without_removes_both_phases_of_an_op() {
    let root = FakeAscend::new().without("aclnnAdd").install();
    // SAFETY: our own test library; only symbol presence is checked.
    let lib = unsafe { libloading::Library::new(root.join("lib64/libopapi.so")) }.unwrap();
    for (name, present) in [
        ("aclnnAdd", false),
        ("aclnnAddGetWorkspaceSize", false),
        ("aclnnAdds", true),
    ] {
        // SAFETY: looked up, never called.
        let found = unsafe { lib.get::<*const ()>(name.as_bytes()) }.is_ok();
        assert_eq!(found, present, "{name}");
    }
}

//! acl_api.h's `_fn` types against the vendor's own headers. Runs when ASCEND_INCLUDE_DIR
//! names a folder with acl/acl.h (the torch-npu wheel's torch_npu/include/third_party/
//! acl/inc, or a CANN toolkit's include/; scripts/vendor_headers/run.sh fetches the
//! wheel); otherwise it says why it skipped. Every check is a static_assert, so a
//! mismatch fails the compile and names the function.

use std::path::Path;
use std::process::Command;

#[test]
fn acl_api_matches_the_vendor_headers() {
    let Some(include) = std::env::var_os("ASCEND_INCLUDE_DIR").filter(|v| !v.is_empty()) else {
        println!("skipped: set ASCEND_INCLUDE_DIR to a folder with acl/acl.h to check acl_api.h");
        return;
    };
    let include = Path::new(&include);
    assert!(
        include.join("acl/acl.h").is_file(),
        "ASCEND_INCLUDE_DIR={} has no acl/acl.h",
        include.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("conformance");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(std::env::var("CXX").unwrap_or_else(|_| "c++".into()))
        .args(["-std=c++17", "-Wall", "-DOPS_NPU_VENDOR_HEADERS"])
        .arg(format!("-I{}", manifest.join("csrc").display()))
        .arg(format!("-I{}", include.display()))
        .arg(manifest.join("tests/conformance/conformance.cc"))
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("a C++ compiler (c++) is needed for the conformance check");
    assert!(
        output.status.success(),
        "acl_api.h disagrees with the vendor headers:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The binary says which half was checked: 0 = runtime and aclnn, 3 = runtime only.
    match Command::new(&exe).status().unwrap().code() {
        Some(0) => println!("checked: ACL runtime and aclnn prototypes"),
        Some(3) => println!(
            "checked: ACL runtime prototypes; aclnn headers absent (not in the torch-npu wheel)"
        ),
        other => panic!("conformance binary exited with {other:?}"),
    }
}

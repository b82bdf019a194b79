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

/// Parameter types of a C parameter list, names dropped and spacing normalised:
/// "const aclTensor *x, double epsilon" -> ["const aclTensor*", "double"].
fn parameter_types(list: &str) -> Vec<String> {
    list.split(',')
        .map(|p| {
            let p = p.replace('*', " * ");
            let mut words: Vec<&str> = p.split_whitespace().collect();
            // The last word is the parameter's name unless the list leaves names out.
            if words.len() > 1 && words.last().is_some_and(|w| *w != "*") {
                words.pop();
            }
            words.join(" ").replace(" *", "*")
        })
        .filter(|t| !t.is_empty())
        .collect()
}

/// (function name, parameter types) of every `aclnnStatus name(...)` prototype in `text`.
fn doc_prototypes(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("aclnnStatus aclnn") {
        let after = &rest[at + "aclnnStatus ".len()..];
        let (Some(open), Some(close)) = (after.find('('), after.find(')')) else {
            break;
        };
        out.push((
            after[..open].trim().to_string(),
            parameter_types(&after[open + 1..close]),
        ));
        rest = &after[close..];
    }
    out
}

/// The parameter types acl_api.h gives `name`: its `name_fn` typedef, or for a launch
/// function the shared OPS_NPU_LAUNCH_FN shape.
fn declared_types(header: &str, name: &str) -> Option<Vec<String>> {
    let typedef = format!("(*{name}_fn)(");
    if let Some(at) = header.find(&typedef) {
        let list = &header[at + typedef.len()..];
        return Some(parameter_types(&list[..list.find(')')?]));
    }
    if header.contains(&format!("OPS_NPU_LAUNCH_FN({name});")) {
        let at = header.find("(*op##_fn)(")? + "(*op##_fn)(".len();
        let list = &header[at..];
        return Some(parameter_types(&list[..list.find(')')?].replace('\\', " ")));
    }
    None
}

#[test]
fn prototypes_of_ops_without_a_published_header_match_their_docs() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let docs =
        std::fs::read_to_string(manifest.join("tests/fixtures/aclnn-doc-prototypes.txt")).unwrap();
    let header = std::fs::read_to_string(manifest.join("csrc/acl_api.h")).unwrap();
    let protos = doc_prototypes(&docs);
    // RmsNorm, GeGluV3 and SwiGlu, both phases each.
    assert_eq!(protos.len(), 6, "{protos:?}");
    for (name, types) in protos {
        let declared = declared_types(&header, &name)
            .unwrap_or_else(|| panic!("acl_api.h does not declare {name}"));
        assert_eq!(
            declared, types,
            "{name}: acl_api.h differs from the op's doc"
        );
    }
}

#[test]
fn the_prototype_parser_sees_a_changed_parameter() {
    let doc = "aclnnStatus aclnnX(const aclTensor *x, double eps, aclTensor  *out)";
    let got = doc_prototypes(doc);
    assert_eq!(
        got,
        vec![(
            "aclnnX".to_string(),
            vec![
                "const aclTensor*".to_string(),
                "double".into(),
                "aclTensor*".into()
            ]
        )]
    );
    assert_ne!(parameter_types("float eps"), parameter_types("double eps"));
}

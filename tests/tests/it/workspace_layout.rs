//! The dependency direction the design fixes: device <- ops-npu <- pipelines <- cli <-
//! examples, migrate alone. A later change that quietly inverts it fails here.

use end_to_end_tests::module_graph::ModuleGraph;
use end_to_end_tests::workspace_root;
use std::collections::BTreeSet;
use std::path::Path;

fn manifest(member: &str) -> toml::Table {
    let path = workspace_root().join(member).join("Cargo.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("{} is not valid TOML: {e}", path.display()))
}

/// Names in `[dependencies]` and `[build-dependencies]` (what ships, not what tests use).
fn shipped_dependencies(member: &str) -> BTreeSet<String> {
    let table = manifest(member);
    ["dependencies", "build-dependencies"]
        .iter()
        .filter_map(|section| table.get(*section).and_then(|v| v.as_table()))
        .flat_map(|deps| deps.keys().cloned())
        .collect()
}

const INTERNAL: [&str; 6] = [
    "device",
    "ops-npu",
    "pipelines",
    "cli",
    "migrate",
    "examples",
];

fn internal_dependencies(member: &str) -> BTreeSet<String> {
    shipped_dependencies(member)
        .into_iter()
        .filter(|d| INTERNAL.contains(&d.as_str()))
        .collect()
}

/// Whether a dependency spec sets `key = true` (`optional`, `workspace`).
fn is_set(spec: &toml::Value, key: &str) -> bool {
    spec.get(key).and_then(|v| v.as_bool()).unwrap_or(false)
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn workspace_lists_every_member() {
    let root = manifest(".");
    let members: BTreeSet<String> = root["workspace"]["members"]
        .as_array()
        .expect("workspace.members is an array")
        .iter()
        .map(|m| m.as_str().expect("member is a string").to_string())
        .collect();
    let mut expected = set(&INTERNAL);
    expected.insert("tests".to_string());
    assert_eq!(members, expected);
}

#[test]
fn internal_dependencies_flow_one_way() {
    assert_eq!(internal_dependencies("device"), set(&[]));
    assert_eq!(internal_dependencies("ops-npu"), set(&["device"]));
    let pipelines = internal_dependencies("pipelines");
    assert!(pipelines.contains("device") && pipelines.contains("ops-npu"));
    for later in ["cli", "examples", "migrate"] {
        assert!(
            !pipelines.contains(later),
            "pipelines must not depend on {later}"
        );
    }
    let cli = internal_dependencies("cli");
    assert!(cli.contains("pipelines"));
    assert!(!cli.contains("examples") && !cli.contains("migrate"));
    let examples = internal_dependencies("examples");
    assert!(examples.contains("pipelines") && examples.contains("cli"));
    assert!(!examples.contains("migrate"));
}

#[test]
fn pipelines_is_a_library_without_command_line_dependencies() {
    // Argument parsing, progress bars and catch-all errors belong to the programs in cli.
    let deps = shipped_dependencies("pipelines");
    for cli_only in ["clap", "indicatif", "anyhow"] {
        assert!(
            !deps.contains(cli_only),
            "pipelines must not depend on {cli_only}: the programs in cli do"
        );
    }
    let table = manifest("pipelines");
    assert!(
        table.get("bin").is_none(),
        "pipelines declares no binaries: they live in cli"
    );
    let bin_dir = workspace_root().join("pipelines/src/bin");
    assert!(!bin_dir.exists(), "{} should not exist", bin_dir.display());
}

#[test]
fn migrate_stands_alone_without_tensor_libraries() {
    let deps = shipped_dependencies("migrate");
    for forbidden in INTERNAL.iter().chain(&["candle-core", "candle-nn", "cxx"]) {
        if *forbidden == "migrate" {
            continue;
        }
        assert!(
            !deps.contains(*forbidden),
            "migrate must not depend on {forbidden}"
        );
    }
}

#[test]
fn device_crate_stays_light() {
    let table = manifest("device");
    let deps = table["dependencies"]
        .as_table()
        .cloned()
        .unwrap_or_default();
    // The tensor library and the argument parser are for callers that want them.
    for heavy in ["candle-core", "clap"] {
        if let Some(spec) = deps.get(heavy) {
            assert!(
                is_set(spec, "optional"),
                "{heavy} must stay behind a feature in the device crate"
            );
        }
    }
}

#[test]
fn shared_versions_live_in_the_workspace_table() {
    // Every third-party dependency of a member points at [workspace.dependencies], so one
    // bump changes every crate at once.
    for member in INTERNAL.iter().chain(&["tests"]) {
        let table = manifest(member);
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            let Some(deps) = table.get(section).and_then(|v| v.as_table()) else {
                continue;
            };
            for (name, spec) in deps {
                assert!(
                    is_set(spec, "workspace"),
                    "{member}/Cargo.toml [{section}] {name} should use `workspace = true`"
                );
            }
        }
    }
}

/// Crates whose sources the module-graph checks read.
const SOURCE_CRATES: [&str; 7] = [
    "device",
    "ops-npu",
    "pipelines",
    "cli",
    "migrate",
    "examples",
    "tests",
];

fn module_graph(member: &str) -> ModuleGraph {
    ModuleGraph::of_crate(&workspace_root().join(member))
        .unwrap_or_else(|e| panic!("cannot read the modules of {member}: {e}"))
}

#[test]
fn no_two_files_import_each_other_round_a_circle() {
    let mut report = String::new();
    for member in SOURCE_CRATES {
        for cycle in module_graph(member).cycles() {
            report.push_str(&format!("\n{member}: files importing each other:\n"));
            for import in cycle {
                report.push_str(&format!("  {import}\n"));
            }
        }
    }
    assert!(report.is_empty(), "{report}");
}

#[test]
fn each_pipeline_is_a_room_nothing_else_imports() {
    // Shared components live in models/, encoders/ and at the top of the crate; a pipeline
    // composes them, and neither another pipeline nor a shared component reaches into it.
    // doctor/ is the one consumer inside the crate: it checks a model folder with each
    // pipeline's own loaders, so it imports them the way the binaries do.
    let graph = module_graph("pipelines");
    let consumer = Path::new("src/doctor");
    for room in ["src/sd", "src/hidream"] {
        let intruders: Vec<String> = graph
            .imports_into(Path::new(room))
            .iter()
            .filter(|i| !i.from.starts_with(consumer))
            .map(|i| i.to_string())
            .collect();
        assert!(
            intruders.is_empty(),
            "pipelines/{room} is imported from outside it:\n{}",
            intruders.join("\n")
        );
    }
}

#[test]
fn each_crate_links_one_integration_test_binary() {
    // Every file directly in `tests/` is a test binary that relinks the crate and all its
    // dependencies (candle, tokenizers, ...); modules under `tests/it/` share one link.
    for member in SOURCE_CRATES {
        let tests = workspace_root().join(member).join("tests");
        let Ok(entries) = std::fs::read_dir(&tests) else {
            continue;
        };
        let binaries: Vec<String> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .map(|p| p.display().to_string())
            .collect();
        assert!(
            binaries.is_empty(),
            "{member}: move these into tests/it/ as modules of its main.rs: {binaries:?}"
        );
        if tests.join("it").is_dir() {
            assert!(
                tests.join("it/main.rs").is_file(),
                "{member}/tests/it has no main.rs"
            );
        }
    }
}

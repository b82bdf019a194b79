//! The `doctor` binary end to end: JSON schema, verdicts and exit codes, with test-double
//! vendor libraries reached the way real ones are (ASCEND_HOME_PATH, LD_LIBRARY_PATH).

use crate::doubles::{FakeAcl, FakeCuda, Fault, write_cann_version};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Variables that would otherwise leak the test machine's setup into the run.
const SCRUBBED: [&str; 8] = [
    "ASCEND_HOME_PATH",
    "ASCEND_TOOLKIT_HOME",
    "ASCEND_OPP_PATH",
    "ASCEND_RT_VISIBLE_DEVICES",
    "CUDA_VISIBLE_DEVICES",
    "PREFERRED_DEVICE",
    "PREFERRED_DTYPE",
    "LD_LIBRARY_PATH",
];

pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    elapsed: Duration,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

pub(crate) struct Host {
    dir: tempfile::TempDir,
    envs: Vec<(String, String)>,
}

impl Host {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dev")).unwrap();
        Self {
            dir,
            envs: Vec::new(),
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    pub fn env(mut self, k: &str, v: impl AsRef<Path>) -> Self {
        self.envs
            .push((k.to_string(), v.as_ref().to_string_lossy().into_owned()));
        self
    }

    /// A toolkit as set_env.sh exports it, plus device nodes.
    fn ascend(self, fake: FakeAcl, nodes: u32) -> Self {
        let toolkit = self.path("Ascend/ascend-toolkit/latest");
        fake.install(&toolkit);
        write_cann_version(&toolkit, "8.0.RC3");
        std::fs::create_dir_all(toolkit.join("opp")).unwrap();
        for i in 0..nodes {
            std::fs::write(self.path(&format!("dev/davinci{i}")), "").unwrap();
        }
        std::fs::write(self.path("dev/davinci_manager"), "").unwrap();
        self.env("ASCEND_HOME_PATH", &toolkit)
            .env("ASCEND_OPP_PATH", toolkit.join("opp"))
    }

    /// A driver library found through LD_LIBRARY_PATH, as the loader finds the real one.
    fn cuda(self, fake: FakeCuda) -> Self {
        let dir = self.path("nvidia");
        fake.install(&dir);
        self.env("LD_LIBRARY_PATH", dir)
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_doctor"));
        for var in SCRUBBED {
            cmd.env_remove(var);
        }
        cmd.arg("--dev-dir").arg(self.path("dev")).args(args);
        cmd.envs(self.envs.iter().map(|(k, v)| (k, v)));
        let start = Instant::now();
        let out = cmd.output().expect("doctor runs");
        Run {
            code: out.status.code().expect("doctor exits normally"),
            stdout: String::from_utf8(out.stdout).unwrap(),
            elapsed: start.elapsed(),
        }
    }
}

pub(crate) fn check<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {doc:#}"))
}

/// The schema of the issue, field by field, and exit-code consistency.
pub(crate) fn assert_schema(run: &Run) -> Value {
    let doc = run.json();
    let mut keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["checks", "devices", "schema_version", "selected"]);
    assert_eq!(doc["schema_version"], 1);
    if !doc["selected"].is_null() {
        let sel = doc["selected"].as_object().unwrap();
        assert!(sel["device"].is_string() && sel["dtype"].is_string());
    }
    for d in doc["devices"].as_array().unwrap() {
        let mut k: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort();
        assert_eq!(
            k,
            [
                "best_dtype",
                "dtypes",
                "id",
                "kind",
                "memory_free_bytes",
                "memory_total_bytes",
                "name"
            ]
        );
    }
    let mut worst = 0;
    for c in doc["checks"].as_array().unwrap() {
        let status = c["status"].as_str().unwrap();
        assert!(c["id"].is_string() && c["detail"].is_string(), "{c}");
        match status {
            "pass" | "skip" => assert!(c["fix"].is_null(), "{c}"),
            "warn" => {
                assert!(c["fix"].is_string(), "{c}");
                worst = worst.max(1);
            }
            "fail" => {
                assert!(c["fix"].is_string(), "{c}");
                worst = 2;
            }
            other => panic!("unknown status {other}"),
        }
    }
    assert_eq!(
        run.code, worst,
        "exit code must follow the verdicts:\n{doc:#}"
    );
    doc
}

#[test]
fn without_vendor_libraries_doctor_answers_quickly_and_consistently() {
    // Includes the real python3 check (with its timeout) to prove nothing hangs.
    let run = Host::new().run(&["--json", "--python-timeout", "15"]);
    assert!(run.elapsed < Duration::from_secs(30), "{:?}", run.elapsed);
    let doc = assert_schema(&run);
    let devices = doc["devices"].as_array().unwrap();
    assert_eq!(devices.last().unwrap()["id"], "cpu");
    assert!(
        doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"].as_str().unwrap().starts_with("python."))
    );
}

#[test]
fn a_910b3_host_is_found_through_ascend_home_path() {
    let host = Host::new().ascend(FakeAcl::new().soc("Ascend910B3").devices(2), 2);
    let run = host.run(&["--json", "--no-python"]);
    let doc = assert_schema(&run);
    assert_eq!(doc["selected"]["device"], "npu:0");
    assert_eq!(doc["selected"]["dtype"], "bf16");
    let npu = &doc["devices"][1];
    assert_eq!(npu["id"], "npu:1");
    assert_eq!(npu["kind"], "npu");
    assert_eq!(npu["name"], "Ascend910B3");
    assert_eq!(npu["dtypes"], serde_json::json!(["f32", "f16", "bf16"]));
    assert_eq!(npu["best_dtype"], "bf16");
    assert!(npu["memory_total_bytes"].as_u64().unwrap() > 0);
    for id in [
        "npu.device_nodes",
        "npu.library",
        "npu.runtime",
        "npu.bf16",
        "env.ascend_home",
    ] {
        assert_eq!(check(&doc, id)["status"], "pass", "{id}: {doc:#}");
    }
    assert!(
        check(&doc, "npu.versions")["detail"]
            .as_str()
            .unwrap()
            .contains("CANN 8.0.RC3")
    );
    // The CPU kernels are checked on every host. This double is libascendcl.so alone, so
    // the aclnn kernels cannot run: the rest of CANN is missing, and the check says which.
    assert_eq!(check(&doc, "kernels.cpu")["status"], "pass", "{doc:#}");
    let npu = check(&doc, "kernels.npu");
    assert_eq!(npu["status"], "fail", "{doc:#}");
    let detail = npu["detail"].as_str().unwrap();
    assert!(
        detail.contains("could not be opened on npu:0") && detail.contains("libnnopbase.so"),
        "{detail}"
    );
}

#[test]
fn exit_0_on_a_healthy_ampere_host() {
    let run = Host::new()
        .cuda(FakeCuda::new().capability(8, 6))
        .run(&["--json", "--no-python"]);
    let doc = assert_schema(&run);
    assert_eq!(doc["selected"]["device"], "cuda:0");
    assert_eq!(doc["selected"]["dtype"], "bf16");
    assert_eq!(run.code, 0, "{doc:#}");
}

#[test]
fn exit_1_with_warnings_only() {
    let run = Host::new()
        .cuda(FakeCuda::new().capability(7, 5))
        .run(&["--json", "--no-python"]);
    let doc = assert_schema(&run);
    assert_eq!(check(&doc, "cuda.capability")["status"], "warn");
    assert_eq!(doc["selected"]["dtype"], "f16");
    assert_eq!(run.code, 1);

    let run = Host::new()
        .ascend(
            FakeAcl::new()
                .soc("Ascend910A")
                .without("aclGetCannAttribute"),
            1,
        )
        // On the CPU: this double is libascendcl.so alone, which no aclnn kernel runs on.
        .run(&["--no-python", "--device", "cpu"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("910A/310P: no bf16, use PREFERRED_DTYPE=f16")
    );
}

#[test]
fn exit_2_when_a_check_fails() {
    let run = Host::new()
        .ascend(
            FakeAcl::new()
                .init_result(507033)
                .error_message("EE1001: device busy"),
            1,
        )
        .run(&["--json", "--no-python"]);
    let doc = assert_schema(&run);
    assert_eq!(run.code, 2);
    let runtime = check(&doc, "npu.runtime");
    assert_eq!(runtime["status"], "fail");
    assert!(
        runtime["detail"]
            .as_str()
            .unwrap()
            .contains("EE1001: device busy")
    );

    // An override naming an absent device is a failure, not a fallback.
    let run = Host::new().run(&["--json", "--no-python", "--device", "npu:3"]);
    let doc = assert_schema(&run);
    assert!(doc["selected"].is_null());
    assert_eq!(check(&doc, "device.selection")["status"], "fail");

    let run = Host::new()
        .env("PREFERRED_DTYPE", "fp8")
        .run(&["--json", "--no-python"]);
    assert_eq!(
        check(&assert_schema(&run), "env.preferences")["status"],
        "fail"
    );
}

#[test]
fn markdown_and_text_renderings() {
    let host = Host::new()
        .cuda(FakeCuda::new().capability(7, 5))
        .env("ASCEND_RT_VISIBLE_DEVICES", "3,1");
    let md = host.run(&["--markdown", "--no-python"]);
    assert!(
        md.stdout.contains("| check | status | detail | fix |"),
        "{}",
        md.stdout
    );
    assert!(md.stdout.contains("| `env.visible_devices` | warn |"));
    let text = host.run(&["--no-python"]);
    assert!(
        text.stdout.contains("WARN  cuda.capability"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("fix: "));
    assert_eq!(md.code, 1);
    assert_eq!(text.code, 1);
}

fn fake_python(host: &Host, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = host.path("python3");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_hanging_python_is_cut_off_by_the_timeout() {
    let host = Host::new();
    let python = fake_python(&host, "exec sleep 30");
    let run = host.run(&[
        "--json",
        "--python",
        python.to_str().unwrap(),
        "--python-timeout",
        "0.5",
    ]);
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
    let doc = assert_schema(&run);
    let c = check(&doc, "python.interpreter");
    assert_eq!(c["status"], "warn");
    assert!(c["detail"].as_str().unwrap().contains("did not answer"));
}

#[test]
fn flash_attn_on_an_npu_host_warns() {
    let host = Host::new().ascend(FakeAcl::new(), 1);
    let python = fake_python(
        &host,
        r#"echo '{"python":"3.10.14","executable":"/opt/py/bin/python3","packages":{"torch":"2.5.1","torch_npu":"2.5.1","diffusers":"0.32.2","transformers":"4.47.1","accelerate":"1.2.1","safetensors":"0.4.5","flash_attn":"2.7.2"}}'"#,
    );
    let run = host.run(&["--json", "--python", python.to_str().unwrap()]);
    let doc = assert_schema(&run);
    assert_eq!(check(&doc, "python.torch_npu")["status"], "pass");
    assert_eq!(check(&doc, "python.libraries")["status"], "pass");
    let fa = check(&doc, "python.flash_attn");
    assert_eq!(fa["status"], "warn");
    assert!(
        fa["fix"]
            .as_str()
            .unwrap()
            .contains("pip uninstall flash-attn")
    );
}

#[test]
fn help_teaches_with_examples() {
    let run = Host::new().run(&["--help"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("Examples:"));
    assert!(run.stdout.contains("doctor --json"));
    assert!(run.stdout.contains("Exit status"));
}

#[test]
fn the_binary_reports_model_checks() {
    let dir = tempfile::tempdir().unwrap();
    crate::folders::sd2(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_doctor"))
        .args(["--json", "--no-python", "--device", "cpu", "--model"])
        .arg(dir.path())
        .env_remove("PREFERRED_DTYPE")
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for id in ["model.layout", "model.unet", "model.memory"] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    let memory = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "model.memory")
        .unwrap();
    // A few KiB of weights fit in any host's RAM.
    assert_eq!(memory["status"], "pass", "{memory}");
}

/// Something standing where a vendor library should be that is not a loadable library.
#[derive(Debug, Clone, Copy)]
enum Broken {
    /// The first page of a real library: its segments extend past the end of the file,
    /// so mapping them faults (SIGBUS) inside dlopen.
    Truncated,
    RandomBytes,
    Empty,
    Directory,
    LinkerScript,
}

const BROKEN: [Broken; 5] = [
    Broken::Truncated,
    Broken::RandomBytes,
    Broken::Empty,
    Broken::Directory,
    Broken::LinkerScript,
];

impl Broken {
    /// Creates it at `path`; `real` builds a working library at a given path.
    fn plant(self, path: &Path, real: impl Fn(&Path) -> PathBuf) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        match self {
            Broken::Truncated => {
                let whole = real(&path.parent().unwrap().join("whole"));
                let bytes = std::fs::read(whole).unwrap();
                std::fs::write(path, &bytes[..4096]).unwrap();
            }
            Broken::RandomBytes => {
                // Fixed noise: a failing test must fail the same way again.
                let noise: Vec<u8> = (0u32..4096)
                    .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                    .collect();
                std::fs::write(path, noise).unwrap();
            }
            Broken::Empty => std::fs::write(path, b"").unwrap(),
            Broken::Directory => std::fs::create_dir(path).unwrap(),
            Broken::LinkerScript => std::fs::write(
                path,
                "/* GNU ld script */\nGROUP ( /usr/lib64/libcuda.so.1 )\n",
            )
            .unwrap(),
        }
    }
}

/// The check that reports a broken library, and the library's file name.
const LIBRARIES: [(&str, &str); 2] = [
    ("cuda.driver", "libcuda.so.1"),
    ("npu.library", "libascendcl.so"),
];

fn real_library(name: &str, dir: &Path) -> PathBuf {
    if name == "libcuda.so.1" {
        FakeCuda::new().install(dir)
    } else {
        FakeAcl::new().install(dir)
    }
}

#[test]
fn a_broken_vendor_library_on_the_loader_path_fails_with_the_loaders_message() {
    for (id, name) in LIBRARIES {
        for broken in BROKEN {
            let host = Host::new();
            let path = host.path("libs").join(name);
            broken.plant(&path, |dir| real_library(name, dir));
            let libs = host.path("libs");
            let host = host.env("LD_LIBRARY_PATH", libs);
            let run = host.run(&["--json", "--no-python"]);
            let doc = assert_schema(&run);
            assert_eq!(run.code, 2, "{name} {broken:?}: {doc:#}");
            let c = check(&doc, id);
            assert_eq!(c["status"], "fail", "{name} {broken:?}: {c:#}");
            let detail = c["detail"].as_str().unwrap();
            let says_why =
                detail.contains(path.to_str().unwrap()) || detail.contains("crashed with SIGBUS");
            assert!(says_why, "{name} {broken:?}: {detail}");
            assert!(detail.contains(name), "{name} {broken:?}: {detail}");
        }
    }
}

#[test]
fn a_broken_libascendcl_under_ascend_home_path_fails() {
    for broken in [Broken::Truncated, Broken::RandomBytes, Broken::Directory] {
        let host = Host::new();
        let toolkit = host.path("toolkit");
        broken.plant(&toolkit.join("lib64/libascendcl.so"), |dir| {
            FakeAcl::new().install(dir)
        });
        let run = host
            .env("ASCEND_HOME_PATH", &toolkit)
            .run(&["--json", "--no-python"]);
        let doc = assert_schema(&run);
        let c = check(&doc, "npu.library");
        assert_eq!(c["status"], "fail", "{broken:?}: {c:#}");
        assert_eq!(run.code, 2);
    }
}

#[test]
fn a_hanging_driver_is_cut_off_by_the_probe_timeout() {
    let host = Host::new().cuda(FakeCuda::new().init_fault(Fault::Hang));
    let run = host.run(&["--json", "--no-python", "--probe-timeout", "1"]);
    assert!(run.elapsed < Duration::from_secs(20), "{:?}", run.elapsed);
    let doc = assert_schema(&run);
    let c = check(&doc, "cuda.driver");
    assert_eq!(c["status"], "fail", "{c:#}");
    let detail = c["detail"].as_str().unwrap();
    assert!(detail.contains("timed out after 1 s"), "{detail}");
    assert!(detail.contains("during cuInit"), "{detail}");
    // The other backend and the rest of the report are still there.
    assert_eq!(doc["selected"]["device"], "cpu");
}

#[test]
fn a_driver_that_crashes_in_init_fails_naming_the_signal() {
    let run = Host::new()
        .cuda(FakeCuda::new().init_fault(Fault::Segfault))
        .run(&["--json", "--no-python"]);
    let doc = assert_schema(&run);
    let c = check(&doc, "cuda.driver");
    assert_eq!(c["status"], "fail", "{c:#}");
    assert!(c["detail"].as_str().unwrap().contains("SIGSEGV"), "{c:#}");

    let run = Host::new()
        .ascend(FakeAcl::new().init_fault(Fault::Abort), 1)
        .run(&["--json", "--no-python"]);
    let doc = assert_schema(&run);
    let c = check(&doc, "npu.library");
    assert_eq!(c["status"], "fail", "{c:#}");
    let detail = c["detail"].as_str().unwrap();
    assert!(
        detail.contains("SIGABRT") && detail.contains("aclInit"),
        "{detail}"
    );
    assert_eq!(run.code, 2);
}

#[test]
fn an_absurd_device_count_fails_instead_of_aborting() {
    let run = Host::new()
        .cuda(FakeCuda::new().reported_count(2_000_000_000))
        .run(&["--json", "--no-python"]);
    let doc = assert_schema(&run);
    let c = check(&doc, "cuda.driver");
    assert_eq!(c["status"], "fail", "{c:#}");
    assert!(
        c["detail"].as_str().unwrap().contains("2000000000"),
        "{c:#}"
    );

    let run = Host::new()
        .ascend(FakeAcl::new().devices(2_000_000_000), 1)
        .run(&["--json", "--no-python"]);
    let doc = assert_schema(&run);
    let c = check(&doc, "npu.devices");
    assert_eq!(c["status"], "fail", "{c:#}");
    assert!(
        c["detail"].as_str().unwrap().contains("2000000000"),
        "{c:#}"
    );
}

#[test]
fn a_named_python_that_does_not_exist_fails_and_a_missing_default_skips() {
    let host = Host::new();
    let missing = host.path("no/such/python3");
    let run = host.run(&["--json", "--python", missing.to_str().unwrap()]);
    let doc = assert_schema(&run);
    let c = check(&doc, "python.interpreter");
    assert_eq!(c["status"], "fail", "{c:#}");
    assert!(
        c["detail"]
            .as_str()
            .unwrap()
            .contains(missing.to_str().unwrap())
    );
    assert_eq!(run.code, 2);

    // No python3 on PATH and none named: nothing to check, not a failure.
    let empty = host.path("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let run = Host::new().env("PATH", &empty).run(&["--json"]);
    let doc = assert_schema(&run);
    assert_eq!(check(&doc, "python.interpreter")["status"], "skip");
}

/// `--model ORG/NAME` from a hub-shaped cache (set on the child only): the snapshot is
/// checked and named in a `model.source` check; an id not in the cache fails that check
/// with the download command, and the report is still complete JSON.
#[test]
fn the_binary_resolves_a_model_id_from_the_hub_cache() {
    let hub = tempfile::tempdir().unwrap();
    let repo = hub.path().join("models--org--sd");
    let commit = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
    crate::folders::sd2(&repo.join("snapshots").join(commit));
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), commit).unwrap();
    let doctor = |id: &str| {
        Command::new(env!("CARGO_BIN_EXE_doctor"))
            .args(["--json", "--no-python", "--device", "cpu", "--model", id])
            .env("HF_HUB_CACHE", hub.path())
            .env_remove("PREFERRED_DTYPE")
            .output()
            .unwrap()
    };
    let check = |doc: &Value, id: &str| -> Value {
        doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no {id} in {doc}"))
    };
    let out = doctor("org/sd");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let source = check(&doc, "model.source");
    assert_eq!(source["status"], "pass", "{source}");
    assert!(
        source["detail"].as_str().unwrap().contains(commit),
        "{source}"
    );
    // The snapshot gets the checks its folder would.
    let folder = repo.join("snapshots").join(commit);
    let by_folder = doctor(folder.to_str().unwrap());
    let by_folder: Value = serde_json::from_slice(&by_folder.stdout).unwrap();
    assert_eq!(
        check(&doc, "model.layout"),
        check(&by_folder, "model.layout")
    );
    assert_eq!(check(&doc, "model.unet"), check(&by_folder, "model.unet"));

    let out = doctor("org/缺失的模型");
    assert_eq!(out.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(check(&doc, "model.source")["status"], "fail");
    let out = doctor("org/missing");
    assert_eq!(out.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let source = check(&doc, "model.source");
    assert_eq!(source["status"], "fail", "{source}");
    assert!(
        source["fix"]
            .as_str()
            .unwrap()
            .contains("hf download org/missing"),
        "{source}"
    );
    assert!(
        source["detail"]
            .as_str()
            .unwrap()
            .contains("models--org--missing"),
        "{source}"
    );
}

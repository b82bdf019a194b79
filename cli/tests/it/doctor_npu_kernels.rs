//! `kernels.npu` end to end: doctor runs the aclnn smoke subset on the strict Ascend double
//! (scripts/npu/build-double.sh, found through ASCEND_HOME_PATH as a real CANN is) and
//! compares it with the CPU. The double's maths come from the op docs, so this shows the
//! wiring and the verdicts, not the vendor kernels' numerics.

use crate::ascend_ops::FakeAscend;
use crate::doctor::{Host, assert_schema, check};
use serde_json::Value;

fn run_on(fake: FakeAscend) -> (i32, Value) {
    let root = fake.cann("8.0.RC3").install();
    let run = Host::new().env("ASCEND_HOME_PATH", &root).run(&[
        "--json",
        "--no-python",
        "--device",
        "npu:0",
    ]);
    let doc = assert_schema(&run);
    (run.code, doc)
}

fn detail<'a>(doc: &'a Value, id: &str) -> &'a str {
    check(doc, id)["detail"].as_str().unwrap()
}

const OPS: [&str; 8] = [
    "add",
    "mul_scalar",
    "batch_matmul",
    "softmax",
    "layer_norm",
    "group_norm_silu",
    "conv2d",
    "attention",
];

#[test]
fn every_smoke_op_matches_the_cpu_on_a_910b3_at_bf16() {
    let (_, doc) = run_on(FakeAscend::new().soc("Ascend910B3"));
    assert_eq!(doc["selected"]["dtype"], "bf16");
    assert_eq!(check(&doc, "kernels.npu")["status"], "pass", "{doc:#}");
    assert!(
        detail(&doc, "kernels.npu")
            .contains("8 of 8 ops match the CPU on npu:0 (Ascend910B3) at bf16"),
        "{doc:#}"
    );
    for op in OPS {
        let id = format!("kernels.npu.{op}");
        assert_eq!(check(&doc, &id)["status"], "pass", "{id}: {doc:#}");
    }
    assert!(detail(&doc, "kernels.npu.attention").contains("aclnnFusedInferAttentionScoreV2"));
}

#[test]
fn a_310p_reports_the_ops_its_rules_refuse_without_failing() {
    let (_, doc) = run_on(FakeAscend::new().soc("Ascend310P3"));
    assert_eq!(doc["selected"]["dtype"], "f16");
    let summary = check(&doc, "kernels.npu");
    assert_eq!(summary["status"], "pass", "{doc:#}");
    let text = summary["detail"].as_str().unwrap();
    assert!(
        text.contains("5 of 8") && text.contains("refused on this SoC"),
        "{text}"
    );
    // The rules table: no aclnnAdd or aclnnLayerNorm on Atlas inference products, and no
    // flash attention before Atlas A2.
    for op in ["add", "layer_norm", "attention"] {
        let id = format!("kernels.npu.{op}");
        assert_eq!(check(&doc, &id)["status"], "skip", "{id}: {doc:#}");
        assert!(detail(&doc, &id).contains("Ascend310P3"), "{id}: {doc:#}");
        assert!(text.contains(op), "{text}");
    }
    for op in [
        "mul_scalar",
        "batch_matmul",
        "softmax",
        "group_norm_silu",
        "conv2d",
    ] {
        let id = format!("kernels.npu.{op}");
        assert_eq!(check(&doc, &id)["status"], "pass", "{id}: {doc:#}");
    }
}

#[test]
fn a_kernel_that_fails_on_the_device_fails_the_check_naming_the_op() {
    let (code, doc) = run_on(FakeAscend::new().fail_op("aclnnSoftmax"));
    assert_eq!(code, 2);
    let summary = check(&doc, "kernels.npu");
    assert_eq!(summary["status"], "fail", "{doc:#}");
    assert!(
        summary["detail"]
            .as_str()
            .unwrap()
            .contains("softmax (aclnnSoftmax) failed"),
        "{doc:#}"
    );
    assert!(summary["fix"].as_str().unwrap().contains("kernels package"));
    let softmax = check(&doc, "kernels.npu.softmax");
    assert_eq!(softmax["status"], "fail");
    assert!(
        softmax["detail"]
            .as_str()
            .unwrap()
            .contains("aclnnSoftmaxGetWorkspaceSize failed with status 561003"),
        "{doc:#}"
    );
    // The other ops still ran and matched.
    assert_eq!(check(&doc, "kernels.npu.layer_norm")["status"], "pass");
}

#[test]
fn without_cann_the_check_skips_naming_where_it_looked() {
    let run = Host::new().run(&["--json", "--no-python"]);
    let doc = assert_schema(&run);
    let npu = check(&doc, "kernels.npu");
    assert_eq!(npu["status"], "skip", "{doc:#}");
    let text = npu["detail"].as_str().unwrap();
    assert!(
        text.contains("libascendcl.so not found")
            && text.contains("/usr/local/Ascend/ascend-toolkit/latest/lib64/libascendcl.so"),
        "{text}"
    );
}

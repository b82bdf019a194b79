//! HiDream's flow-matching schedulers against diffusers (and HiDream-I1's flash step),
//! from the traces scripts/fixtures/flow_schedulers_reference.py records: schedules after
//! set_timesteps, then whole step() trajectories on recorded velocities.

use crate::common::{Reference, load_reference, max_abs_diff};
use candle_core::Tensor;
use pipelines::schedulers::flow::{
    self, FlowConfigError, FlowScheduler, FlowSchedulerConfig, NoiseSource, QueuedNoise,
};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::OnceLock;

const SCHEDULE_TOL: f64 = 1e-6;
const STEP_TOL: f32 = 1e-5;

fn reference() -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(|| {
        load_reference(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hidream/schedulers"),
        )
    })
}

fn tensor(name: &str) -> Tensor {
    reference()
        .0
        .get(name)
        .unwrap_or_else(|| panic!("fixture tensor {name}"))
        .clone()
}

fn cases() -> Vec<(String, Value)> {
    let all = reference().1["cases"].as_object().expect("cases");
    assert!(all.len() >= 10, "fixture has {} cases", all.len());
    all.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn build(name: &str, case: &Value) -> Box<dyn FlowScheduler> {
    let text = serde_json::to_string(&case["config"]).expect("config");
    let config = FlowSchedulerConfig::from_json(&text, name).expect("config parses");
    let steps = case["steps"].as_u64().expect("steps") as usize;
    flow::build(&config, steps).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn assert_schedule(name: &str, what: &str, got: &[f32], want: &Value) {
    let want: Vec<f64> = serde_json::from_value(want.clone()).expect("numbers");
    assert_eq!(got.len(), want.len(), "{name}: {what} count");
    let worst = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (f64::from(*a) - b).abs() / b.abs().max(1.0))
        .fold(0.0f64, f64::max);
    eprintln!("{name}: {what} worst relative diff {worst:e}");
    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        assert!(
            (f64::from(*a) - b).abs() <= SCHEDULE_TOL * b.abs().max(1.0),
            "{name}: {what}[{i}] = {a}, diffusers {b}"
        );
    }
}

/// Steps through the recorded velocities from the recorded start, feeding back our own
/// outputs, and compares every step's output.
fn run_trajectory(name: &str, case: &Value, noise: &mut dyn NoiseSource) {
    let mut sched = build(name, case);
    let mut sample = tensor(&format!("{name}/sample"));
    let timesteps = sched.timesteps().to_vec();
    let mut worst = 0.0f32;
    for (i, t) in timesteps.iter().enumerate() {
        let v = tensor(&format!("{name}/velocity/{i}"));
        sample = sched
            .step(&v, *t, &sample, noise)
            .unwrap_or_else(|e| panic!("{name} step {i}: {e}"));
        let want = tensor(&format!("{name}/out/{i}"));
        let diff = max_abs_diff(&sample, &want);
        assert!(
            diff <= STEP_TOL,
            "{name} step {i}: max |diff| {diff} > {STEP_TOL}"
        );
        worst = worst.max(diff);
    }
    eprintln!("{name}: worst step max |diff| {worst:e}");
}

#[test]
fn timesteps_and_sigmas_match_diffusers() {
    for (name, case) in cases() {
        let sched = build(&name, &case);
        assert_schedule(&name, "timesteps", sched.timesteps(), &case["timesteps"]);
        assert_schedule(&name, "sigmas", sched.sigmas(), &case["sigmas"]);
    }
}

#[test]
fn trajectories_match_with_noise_from_torch_rng() {
    for (name, case) in cases() {
        // The reference seeds torch's global generator with the case's seed before stepping.
        let mut rng = device::TorchRng::new(case["seed"].as_u64().expect("seed"));
        run_trajectory(&name, &case, &mut rng);
    }
}

#[test]
fn flash_trajectories_match_with_injected_noise() {
    let mut flash_cases = 0;
    for (name, case) in cases() {
        if case["kind"] != "flash" {
            continue;
        }
        flash_cases += 1;
        let draws = case["noise_draws"].as_u64().expect("draws") as usize;
        let steps = case["steps"].as_u64().expect("steps") as usize;
        assert_eq!(draws, steps - 1, "{name}: the last step draws nothing");
        let mut noise = QueuedNoise::new((0..draws).map(|i| tensor(&format!("{name}/noise/{i}"))));
        run_trajectory(&name, &case, &mut noise);
        assert_eq!(noise.remaining(), 0, "{name}: every injected draw is used");
    }
    assert_eq!(flash_cases, 2);
}

#[test]
fn flash_refuses_short_or_misshapen_injected_noise() {
    let (name, case) = cases()
        .into_iter()
        .find(|(_, c)| c["kind"] == "flash")
        .expect("a flash case");
    let mut sched = build(&name, &case);
    let sample = tensor(&format!("{name}/sample"));
    let v = tensor(&format!("{name}/velocity/0"));
    let t = sched.timesteps()[0];
    let err = sched
        .step(&v, t, &sample, &mut QueuedNoise::default())
        .expect_err("no noise left");
    assert!(err.to_string().contains("ran out"), "{err}");
    let wrong =
        Tensor::zeros((1, 2), candle_core::DType::F32, &candle_core::Device::Cpu).expect("zeros");
    let mut sched = build(&name, &case);
    let err = sched
        .step(&v, t, &sample, &mut QueuedNoise::new([wrong]))
        .expect_err("wrong shape");
    assert!(err.to_string().contains("shape"), "{err}");
}

fn config(json: &str) -> FlowSchedulerConfig {
    FlowSchedulerConfig::from_json(json, "test config").expect("parses")
}

#[test]
fn unknown_class_is_named_in_the_error() {
    let err = flow::build(&config(r#"{"_class_name": "LCMScheduler"}"#), 4).expect_err("unknown");
    assert!(matches!(err, FlowConfigError::UnknownClass(_)));
    let text = err.to_string();
    assert!(
        text.contains("LCMScheduler") && text.contains("FlowMatchEulerDiscreteScheduler"),
        "{text}"
    );
}

#[test]
fn unported_settings_are_errors_that_name_them() {
    let cases = [
        (
            r#"{"_class_name": "FlowMatchEulerDiscreteScheduler", "use_dynamic_shifting": true}"#,
            "use_dynamic_shifting",
        ),
        (
            r#"{"_class_name": "FlowMatchEulerDiscreteScheduler", "use_karras_sigmas": true}"#,
            "use_karras_sigmas",
        ),
        (
            r#"{"_class_name": "FlowMatchEulerDiscreteScheduler", "invert_sigmas": true}"#,
            "invert_sigmas",
        ),
        (
            r#"{"_class_name": "FlowMatchEulerDiscreteScheduler", "shift_terminal": 0.1}"#,
            "shift_terminal",
        ),
        (
            r#"{"_class_name": "FlowMatchEulerDiscreteScheduler", "shift": -1.0}"#,
            "shift",
        ),
        (
            r#"{"_class_name": "UniPCMultistepScheduler"}"#,
            "use_flow_sigmas",
        ),
        (
            r#"{"_class_name": "UniPCMultistepScheduler", "use_flow_sigmas": true}"#,
            "prediction_type",
        ),
        (
            r#"{"_class_name": "UniPCMultistepScheduler", "use_flow_sigmas": true, "prediction_type": "flow_prediction", "solver_order": 4}"#,
            "solver_order",
        ),
        (
            r#"{"_class_name": "UniPCMultistepScheduler", "use_flow_sigmas": true, "prediction_type": "flow_prediction", "solver_type": "bh3"}"#,
            "solver_type",
        ),
        (
            r#"{"_class_name": "UniPCMultistepScheduler", "use_flow_sigmas": true, "prediction_type": "flow_prediction", "thresholding": true}"#,
            "thresholding",
        ),
    ];
    for (json, key) in cases {
        let err = flow::build(&config(json), 8).expect_err(json);
        assert!(err.to_string().contains(key), "{json}: {err}");
    }
    let ok = config(r#"{"_class_name": "FlowMatchEulerDiscreteScheduler"}"#);
    assert!(flow::build(&ok, 0).is_err(), "zero steps");
}

/// Every class, as the released HiDream configs set them up.
fn every_class() -> [FlowSchedulerConfig; 3] {
    [
        config(r#"{"_class_name": "FlowMatchEulerDiscreteScheduler"}"#),
        config(r#"{"_class_name": "FlashFlowMatchEulerDiscreteScheduler"}"#),
        config(
            r#"{"_class_name": "UniPCMultistepScheduler", "use_flow_sigmas": true, "prediction_type": "flow_prediction"}"#,
        ),
    ]
}

#[test]
fn step_counts_past_the_bound_are_refused_before_anything_is_sized() {
    for config in every_class() {
        let class = config.class_name.clone();
        for steps in [usize::MAX, u32::MAX as usize, flow::MAX_STEPS + 1] {
            let err = flow::build(&config, steps).expect_err(&class);
            assert!(
                matches!(err, FlowConfigError::Invalid(_))
                    && err.to_string().contains(&steps.to_string()),
                "{class} {steps}: {err}"
            );
        }
        let longest = flow::build(&config, flow::MAX_STEPS).expect(&class);
        assert_eq!(longest.timesteps().len(), flow::MAX_STEPS, "{class}");
    }
}

#[test]
fn num_train_timesteps_past_the_bound_is_refused() {
    for mut config in every_class() {
        for train in [0, flow::MAX_TRAIN_TIMESTEPS + 1, usize::MAX] {
            config.num_train_timesteps = train;
            let err = flow::build(&config, 4).expect_err("out of bounds");
            assert!(err.to_string().contains("num_train_timesteps"), "{err}");
        }
    }
}

#[test]
fn config_file_errors_name_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("scheduler_config.json");
    let err = FlowSchedulerConfig::from_file(&missing).expect_err("missing");
    assert!(err.to_string().contains("scheduler_config.json"), "{err}");
    std::fs::write(&missing, "{\"shift\": 3.0}").expect("write");
    let err = FlowSchedulerConfig::from_file(&missing).expect_err("no class");
    let text = err.to_string();
    assert!(
        text.contains("scheduler_config.json") && text.contains("_class_name"),
        "{text}"
    );
    std::fs::write(
        &missing,
        r#"{"_class_name": "FlowMatchEulerDiscreteScheduler", "shift": 6.0, "some_future_key": 1}"#,
    )
    .expect("write");
    let config = FlowSchedulerConfig::from_file(&missing).expect("unknown keys are ignored");
    assert_eq!(config.shift, 6.0);
}

#[test]
fn shift_override_reproduces_the_other_variant_schedule() {
    let all: std::collections::BTreeMap<String, Value> = cases().into_iter().collect();
    let pairs = [
        ("flash_fast_shift3_16", 6.0, "euler_shift6_28", 28),
        ("unipc_shift3_7", 2.0, "unipc_order1_shift2_5", 5),
    ];
    for (from, shift, to, steps) in pairs {
        let text = serde_json::to_string(&all[from]["config"]).expect("config");
        let config = FlowSchedulerConfig::from_json(&text, from)
            .expect("parses")
            .with_shift(shift);
        let sched = flow::build(&config, steps).expect("builds");
        assert_schedule(to, "timesteps", sched.timesteps(), &all[to]["timesteps"]);
        assert_schedule(to, "sigmas", sched.sigmas(), &all[to]["sigmas"]);
    }
}

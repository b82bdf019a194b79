//! The `sd` binary end to end on the tiny fixture model: the PNG it writes is diffusers'
//! image for the same seed, and bad input exits 2 without leaving an output file.

use crate::common::{assert_close, fixtures, load_reference, max_abs, reference_image_u8, stderr};
use std::path::Path;
use std::process::{Command, Output};

fn sd(args: &[&str], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sd"))
        .arg("--model")
        .arg(fixtures().join("tiny-sd2"))
        .args(["--prompt", "a photograph of an astronaut riding a horse"])
        .args(["--steps", "4", "--seed", "0"])
        .args(args)
        .arg("--output")
        .arg(out)
        .output()
        .expect("run sd")
}

#[test]
fn writes_the_diffusers_image_with_parameters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.png");
    let latents = dir.path().join("latents.safetensors");
    let o = sd(
        &[
            "--width",
            "32",
            "--height",
            "32",
            "--scheduler",
            "ddim",
            "--save-latents",
            latents.to_str().expect("utf8"),
        ],
        &out,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&out).expect("png"),
    ));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("frame");
    assert_eq!((info.width, info.height), (32, 32));
    let ours = &buf[..info.buffer_size()];
    let want = reference_image_u8("txt2img.ddim.image", 0);
    // f32 differences below 1e-4 can only move a value across a rounding boundary.
    let worst = ours
        .iter()
        .zip(&want)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .expect("pixels");
    assert!(worst <= 1, "pixel difference {worst}");
    let text = &reader.info().uncompressed_latin1_text;
    let params = text
        .iter()
        .find(|t| t.keyword == "parameters")
        .expect("parameters chunk");
    // A1111's infotext: the prompt, then its one line of settings (no negative prompt).
    let (prompt, settings) = params.text.split_once('\n').expect("two lines");
    assert_eq!(prompt, "a photograph of an astronaut riding a horse");
    for pair in [
        "Steps: 4",
        "Sampler: DDIM",
        "CFG scale: 7.5",
        "Seed: 0",
        "Size: 32x32",
        "Scheduler: ddim",
        "Dtype: f32",
    ] {
        assert!(
            settings.split(", ").any(|p| p == pair),
            "{pair} not in {settings}"
        );
    }
    let json = text
        .iter()
        .find(|t| t.keyword == "diffusion-npu-toolkit")
        .expect("JSON chunk");
    let json: serde_json::Value = serde_json::from_str(&json.text).expect("JSON");
    assert_eq!(json["seed"], 0);
    assert_eq!(json["sampler"], "DDIM");
    assert_eq!(json["extra"]["Scheduler"], "ddim");
    let saved =
        candle_core::safetensors::load(&latents, &candle_core::Device::Cpu).expect("latents");
    assert_eq!(saved["latents"].dims(), &[1, 4, 16, 16]);
}

fn assert_bad_input(args: &[&str], needle: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.png");
    let o = sd(args, &out);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(needle),
        "{needle:?} not in {}",
        stderr(&o)
    );
    assert!(!out.exists(), "no output on failure");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "no temporary file left"
    );
}

/// An A1111 sampler name, spelled loosely, runs diffusers' sampler for it over the model's
/// own config (scripts/fixtures/sd_samplers_reference.py) and is recorded by its A1111 name.
#[test]
fn a1111_sampler_names_run_diffusers_samplers() {
    let (tensors, _) = load_reference(&fixtures().join("samplers"));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.png");
    let latents = dir.path().join("latents.safetensors");
    let o = Command::new(env!("CARGO_BIN_EXE_sd"))
        .arg("--model")
        .arg(fixtures().join("tiny-sd2"))
        .args(["--prompt", "a photograph of an astronaut riding a horse"])
        .args([
            "--steps", "5", "--seed", "0", "--width", "32", "--height", "32",
        ])
        .args(["--sampler", "dpm++_2m_sde_karras", "--json"])
        .arg("--save-latents")
        .arg(&latents)
        .arg("--output")
        .arg(&out)
        .output()
        .expect("run sd");
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("one JSON object on stdout");
    assert_eq!(summary["scheduler"], "DPM++ 2M SDE Karras");
    assert_eq!(summary["sampler"], "DPM++ 2M SDE Karras");
    let saved =
        candle_core::safetensors::load(&latents, &candle_core::Device::Cpu).expect("latents");
    let want = &tensors["txt2img.DPM++ 2M SDE Karras.latents"];
    // The final latents reach about 100 with random weights: 5e-6 of that, as sd_parity.
    let bound = (5e-6 * max_abs(want)).max(1e-4);
    assert_close("DPM++ 2M SDE Karras", &saved["latents"], want, bound);
}

#[test]
fn sizes_must_be_multiples_of_8() {
    assert_bad_input(&["--width", "30", "--height", "32"], "multiple of 8");
}

#[test]
fn unknown_schedulers_are_rejected() {
    // clap refuses it (exit 2) and lists the names it takes.
    assert_bad_input(
        &["--scheduler", "dpm++ 2m karass"],
        "[possible values: pndm, ddim, euler, euler-a, dpm++2m, heun, lms, DDIM, PLMS, Euler, ",
    );
    assert_bad_input(&["--scheduler", "unipc"], "\"LMS Karras\"]");
}

#[test]
fn an_npu_on_a_host_without_cann_is_bad_input_naming_where_it_looked() {
    assert_bad_input(&["--device", "npu:0"], "libascendcl.so not found (tried:");
}

#[test]
fn missing_components_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.png");
    let o = Command::new(env!("CARGO_BIN_EXE_sd"))
        .arg("--model")
        .arg(dir.path())
        .args(["--prompt", "x", "--output"])
        .arg(&out)
        .output()
        .expect("run sd");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("model_index.json"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn img2img_from_a_png_matches_diffusers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tensors = candle_core::safetensors::load(
        fixtures().join("reference.safetensors"),
        &candle_core::Device::Cpu,
    )
    .expect("reference");
    // The fixture image has 8-bit values, so this PNG holds it exactly.
    let chw = tensors["img2img.init_image"]
        .get(0)
        .and_then(|t| t.permute((1, 2, 0)))
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1::<f32>())
        .expect("image");
    let rgb: Vec<u8> = chw.iter().map(|v| (v * 255.0).round() as u8).collect();
    let init = dir.path().join("init.png");
    pipelines::image::write_png(&init, 32, 32, &rgb, &[("parameters", "")]).expect("write init");
    let latents = dir.path().join("latents.safetensors");
    let out = dir.path().join("out.png");
    let o = Command::new(env!("CARGO_BIN_EXE_sd"))
        .arg("--model")
        .arg(fixtures().join("tiny-sd2"))
        .args([
            "--prompt",
            "A painting of a squirrel eating a burger, 4k, trending!!",
        ])
        .args([
            "--steps",
            "5",
            "--seed",
            "11",
            "--scheduler",
            "ddim",
            "--strength",
            "0.6",
        ])
        .arg("--init-image")
        .arg(&init)
        .arg("--save-latents")
        .arg(&latents)
        .arg("--output")
        .arg(&out)
        .output()
        .expect("run sd");
    assert!(o.status.success(), "{}", stderr(&o));
    let ours =
        candle_core::safetensors::load(&latents, &candle_core::Device::Cpu).expect("latents");
    let diff = (&ours["latents"] - &tensors["img2img.latents"])
        .and_then(|d| d.abs())
        .and_then(|d| d.flatten_all())
        .and_then(|d| d.max(0))
        .and_then(|d| d.to_scalar::<f32>())
        .expect("diff");
    assert!(diff <= 1e-4, "img2img latents differ by {diff:e}");
    assert!(out.exists());
}

/// The input-image fixtures of scripts/fixtures/input_images_reference.py.
fn input_image(name: &str) -> std::path::PathBuf {
    crate::common::fixture("input-images").join(name)
}

fn png_size(path: &Path) -> (u32, u32) {
    let file = std::fs::File::open(path).expect("output");
    png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("png")
        .info()
        .size()
}

#[test]
fn img2img_takes_a_jpeg_of_any_size_and_an_rgba_png_saying_what_it_did() {
    let dir = tempfile::tempdir().expect("tempdir");
    let photo = dir.path().join("照片.jpg");
    std::fs::copy(input_image("photo.jpg"), &photo).expect("copy");
    let out = dir.path().join("输出.png");
    let init = [
        "--init-image",
        photo.to_str().expect("utf-8"),
        "--strength",
        "0.5",
    ];
    let o = sd(&init, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "照片.jpg: resized 37x29 to 36x28 (down to multiples of 2, LANCZOS) as diffusers' \
             VaeImageProcessor does"
        ),
        "{}",
        stderr(&o)
    );
    // The tiny VAE has two blocks: diffusers' vae_scale_factor, and so the rounding, is 2.
    assert_eq!(png_size(&out), (36, 28));

    let rgba = input_image("rgba.png");
    let o = sd(&["--init-image", rgba.to_str().expect("utf-8")], &out);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("converted RGBA to RGB as PIL's convert(\"RGB\") does"),
        "{}",
        stderr(&o)
    );
    assert_eq!(png_size(&out), (32, 24));
}

#[test]
fn strength_must_be_in_range() {
    assert_bad_input(
        &["--init-image", "/nonexistent.png", "--strength", "1.5"],
        "--strength 1.5 is outside",
    );
}

#[test]
fn accelerations_run_and_report_their_deviation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.png");
    let o = sd(
        &[
            "--width",
            "32",
            "--height",
            "32",
            "--tome",
            "0.5",
            "--deepcache",
            "2:1",
            "--cfg-parallel",
            "--compare-baseline",
        ],
        &out,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.exists());
    let stdout = String::from_utf8_lossy(&o.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("deviation of tome_0.5+deepcache_2_1+cfg_parallel from baseline"))
        .unwrap_or_else(|| panic!("no deviation line in {stdout:?}"));
    let number = |key: &str| -> f64 {
        let rest = &line[line.find(key).expect(key) + key.len()..];
        rest.trim_start()
            .split(|c: char| c == ',' || c.is_whitespace())
            .next()
            .expect("value")
            .parse()
            .expect("number")
    };
    // DeepCache changes the result (tiny-sd2 has no full-resolution attention, so token
    // merging does nothing here); a finite PSNR and a nonzero difference show both ran.
    assert!(number("max_abs_latents") > 0.0, "{line}");
    assert!(number("psnr_db").is_finite(), "{line}");
}

#[test]
fn bad_acceleration_flags_exit_2_without_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.png");
    for (args, needle) in [
        (&["--tome", "0.8"][..], "--tome 0.8"),
        (&["--tome", "0"][..], "--tome 0"),
        (&["--deepcache", "0"][..], "--deepcache 0"),
        (&["--deepcache", "3:x"][..], "--deepcache 3:x"),
        (&["--deepcache", "3:6"][..], "branch 6 does not exist"),
        (
            &["--cfg-parallel", "--guidance", "1"][..],
            "--cfg-parallel needs",
        ),
    ] {
        let o = sd(args, &out);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(!out.exists(), "{args:?} left an output file");
    }
}

#[test]
fn json_summarises_the_run_on_stdout_and_short_flags_and_aliases_set_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("short.png");
    let o = Command::new(env!("CARGO_BIN_EXE_sd"))
        .arg("-m")
        .arg(fixtures().join("tiny-sd2"))
        .args([
            "-p",
            "a red bird",
            "-n",
            "blurry",
            "-s",
            "7",
            "-W",
            "32",
            "-H",
            "40",
        ])
        .args([
            "--steps",
            "2",
            "--cfg-scale",
            "3",
            "--sampler",
            "euler",
            "--batch",
            "2",
        ])
        .args(["--json", "-o"])
        .arg(&out)
        .output()
        .expect("run sd");
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8(o.stdout.clone()).expect("utf8");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(summary["program"], "sd");
    let second = dir.path().join("short-1.png");
    assert_eq!(
        summary["outputs"],
        serde_json::json!([out.to_str().unwrap(), second.to_str().unwrap()])
    );
    assert!(out.is_file() && second.is_file());
    assert_eq!(summary["size"], serde_json::json!([32, 40]));
    assert_eq!(summary["steps"], 2);
    assert_eq!(summary["scheduler"], "euler");
    assert_eq!(summary["sampler"], "Euler");
    assert_eq!(summary["guidance"], 3.0);
    assert_eq!(summary["seed"], 7);
    assert_eq!(summary["dtype"], "f32");
    assert_eq!(summary["device"], "cpu");
    assert!(
        summary["seconds"].as_f64().is_some_and(|s| s > 0.0),
        "{summary}"
    );
    assert_eq!(summary["warnings"], serde_json::json!([]));
    // The human lines stay on stderr.
    assert!(stderr(&o).contains("wrote"), "{}", stderr(&o));
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&second).expect("png"),
    ));
    let reader = decoder.read_info().expect("png header");
    let params = reader
        .info()
        .uncompressed_latin1_text
        .iter()
        .find(|t| t.keyword == "parameters")
        .expect("parameters")
        .text
        .clone();
    assert!(
        params.starts_with("a red bird\nNegative prompt: blurry\n"),
        "{params}"
    );
    assert!(params.contains("Batch size: 2, Batch pos: 1"), "{params}");
}

#[test]
fn with_json_the_deviation_is_in_the_summary_and_stdout_is_one_object() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.png");
    let o = sd(
        &[
            "-W",
            "32",
            "-H",
            "32",
            "--deepcache",
            "2:1",
            "--compare-baseline",
            "--json",
        ],
        &out,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8(o.stdout.clone()).expect("utf8");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(summary["accelerations"], "deepcache_2_1");
    let max_abs = summary["deviation"]["max_abs_latents"].as_f64();
    assert!(max_abs.is_some_and(|d| d > 0.0), "{summary}");
    assert!(
        summary["deviation"]["psnr_db"].as_f64().is_some(),
        "{summary}"
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&out).expect("png"),
    ));
    let reader = decoder.read_info().expect("png header");
    let chunks = &reader.info().uncompressed_latin1_text;
    let params = chunks
        .iter()
        .find(|t| t.keyword == "parameters")
        .expect("parameters");
    assert!(
        params.text.contains(", Accelerations: deepcache_2_1"),
        "{}",
        params.text
    );
}

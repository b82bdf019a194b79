//! The `sd` binary's --batch, --dtype and --attention flags on the tiny fixture model:
//! a batch writes one PNG per image under documented names, each diffusers' image for
//! num_images_per_prompt; bad values exit 2 naming the flag and write nothing.

use crate::common::{fixtures, png_rgb, reference_image_u8, stderr};
use std::path::Path;
use std::process::{Command, Output};

fn sd(args: &[&str], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sd"))
        .arg("--model")
        .arg(fixtures().join("tiny-sd2"))
        .args(["--prompt", "a photograph of an astronaut riding a horse"])
        .args(["--steps", "4", "--seed", "0", "--scheduler", "ddim"])
        .args(["--width", "32", "--height", "32"])
        .args(args)
        .arg("--output")
        .arg(out)
        .output()
        .expect("run sd")
}

#[test]
fn a_batch_writes_one_diffusers_image_per_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.png");
    for attention in ["fused", "naive"] {
        let o = sd(&["--batch", "2", "--attention", attention], &out);
        assert!(o.status.success(), "{}", stderr(&o));
        for (i, name) in ["out.png", "out-1.png"].iter().enumerate() {
            let ours = png_rgb(&dir.path().join(name));
            let want = reference_image_u8("txt2img.ddim-batch2.image", i);
            assert_eq!(ours.len(), want.len());
            // f32 differences below 1e-4 can only move a value across a rounding boundary.
            let worst = ours.iter().zip(&want).map(|(a, b)| a.abs_diff(*b)).max();
            assert!(worst <= Some(1), "{attention} {name}: difference {worst:?}");
        }
        assert!(!dir.path().join("out-2.png").exists());
    }
}

#[test]
fn reduced_precision_runs_write_an_image() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("half.png");
    let o = sd(&["--dtype", "f16"], &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let ours = png_rgb(&out);
    let want = reference_image_u8("txt2img.ddim.image", 0);
    let worst = ours.iter().zip(&want).map(|(a, b)| a.abs_diff(*b)).max();
    // f16 rounding moves pixels by a few levels at most on this model.
    assert!(worst <= Some(8), "f16 pixel difference {worst:?}");
}

#[test]
fn bad_option_values_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("never.png");
    for (args, flag) in [
        (&["--batch", "0"][..], "--batch"),
        (&["--dtype", "f64"][..], "--dtype"),
        (&["--attention", "flash"][..], "--attention"),
    ] {
        let o = sd(args, &out);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(flag), "{args:?}: {}", stderr(&o));
        assert!(!out.exists(), "{args:?} left an output file");
    }
}

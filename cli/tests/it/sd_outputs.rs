//! What `sd` promises about the files it writes and the numbers it is given: a path that
//! is not a regular file is refused before any work and left as it was, a batch never
//! loses a file the user had, numbers are bounded before anything is sized from them,
//! and a prompt in any script is stored in the PNG.

use crate::common::{fixtures, stderr};
use std::path::Path;
use std::process::{Command, Output};

fn sd(args: &[&str], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sd"))
        .arg("--model")
        .arg(fixtures().join("tiny-sd2"))
        .args(["--seed", "0"])
        .args(args)
        .arg("--output")
        .arg(out)
        .output()
        .expect("run sd")
}

/// A prompt and, unless the test sets its own, a short run.
fn prompt(text: &str) -> [&str; 4] {
    ["--prompt", text, "--steps", "2"]
}

/// Exit 2 with `needle` in the message and nothing written.
fn assert_refused(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "{}", stderr(o));
    assert!(
        stderr(o).contains(needle),
        "{needle:?} not in {}",
        stderr(o)
    );
    assert!(!stderr(o).contains("wrote"), "{}", stderr(o));
}

#[cfg(unix)]
#[test]
fn a_symlink_or_fifo_output_is_refused_and_left_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let precious = dir.path().join("precious.png");
    std::fs::write(&precious, b"precious").expect("write");
    let link = dir.path().join("link.png");
    std::os::unix::fs::symlink(&precious, &link).expect("symlink");
    let o = sd(&prompt("cat"), &link);
    assert_refused(&o, "symbolic link");
    assert!(std::fs::symlink_metadata(&link).expect("link").is_symlink());
    assert_eq!(std::fs::read(&precious).expect("read"), b"precious");

    let fifo = dir.path().join("fifo.png");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let o = sd(&prompt("cat"), &fifo);
        assert_refused(&o, "FIFO");
        assert!(!std::fs::symlink_metadata(&fifo).expect("fifo").is_file());
    }
}

#[test]
fn a_batch_whose_second_name_is_taken_keeps_the_users_first_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("o.png");
    std::fs::write(&out, b"precious").expect("write");
    std::fs::create_dir(dir.path().join("o-1.png")).expect("mkdir");
    let o = sd(&[&prompt("cat")[..], &["--batch", "2"]].concat(), &out);
    assert_refused(&o, "o-1.png");
    assert_eq!(std::fs::read(&out).expect("read"), b"precious");
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 2);
}

#[test]
fn save_latents_and_output_may_not_be_the_same_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("o.png");
    let o = sd(
        &[
            &prompt("cat")[..],
            &["--save-latents", out.to_str().expect("utf8")],
        ]
        .concat(),
        &out,
    );
    assert_refused(&o, "both name");
}

#[test]
fn numbers_are_bounded_before_anything_is_sized_from_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("o.png");
    for (args, needle) in [
        (
            &["--width", "100000", "--height", "100000"][..],
            "--width 100000",
        ),
        (&["--guidance", "NaN"][..], "--guidance NaN"),
        (&["--guidance", "inf"][..], "--guidance inf"),
        (&["--steps", "4294967295"][..], "got 4294967295"),
        (
            &["--steps", "18446744073709551615"][..],
            "got 18446744073709551615",
        ),
        (&["--batch", "1000000"][..], "--batch"),
    ] {
        let o = sd(&[&["--prompt", "cat"][..], args].concat(), &out);
        assert_refused(&o, needle);
        assert!(!out.exists());
    }
}

#[test]
fn latents_of_the_wrong_rank_are_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let latents = dir.path().join("l.safetensors");
    let t = candle_core::Tensor::zeros(
        (4, 4, 4),
        candle_core::DType::F32,
        &candle_core::Device::Cpu,
    )
    .expect("tensor");
    candle_core::safetensors::save(&std::collections::HashMap::from([("latents", t)]), &latents)
        .expect("save");
    let out = dir.path().join("o.png");
    let o = sd(
        &[
            &prompt("cat")[..],
            &["--latents", latents.to_str().expect("utf8")],
        ]
        .concat(),
        &out,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("[4, 4, 4]"), "{}", stderr(&o));
}

#[test]
fn a_chinese_prompt_is_stored_in_an_international_text_chunk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("一只猫.png");
    let text = "一只猫 🐈 قطة";
    let o = sd(&prompt(text), &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&out).expect("png"),
    ));
    let reader = decoder.read_info().expect("png header");
    let info = reader.info();
    assert!(info.uncompressed_latin1_text.is_empty());
    let chunk = info
        .utf8_text
        .iter()
        .find(|t| t.keyword == "parameters")
        .expect("iTXt parameters");
    assert!(chunk.get_text().expect("utf8").contains(text));
}

/// A seeded sweep of the numeric flags with hostile values: every run must end by itself
/// with 0 (and its image written), 1 or 2 and a message, never a panic (101), a signal
/// or an abort from an allocation sized by a flag.
#[test]
fn hostile_numbers_on_every_numeric_flag_end_in_0_1_or_2() {
    const VALUES: [&str; 12] = [
        "0",
        "1",
        "2",
        "-1",
        "8",
        "NaN",
        "inf",
        "-inf",
        "1e308",
        "4294967295",
        "18446744073709551615",
        "99999999999999999999999",
    ];
    const FLAGS: [&str; 7] = [
        "--steps",
        "--width",
        "--height",
        "--guidance",
        "--batch",
        "--tome",
        "--deepcache",
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let mut state: u64 = 0x5EED_0004;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut outcomes = [0usize; 3];
    for case in 0..40 {
        let out = dir.path().join(format!("{case}.png"));
        let mut args: Vec<String> =
            vec!["--prompt".into(), "猫".into(), "--steps".into(), "1".into()];
        for _ in 0..2 {
            let flag = FLAGS[next(FLAGS.len())];
            if let Some(i) = args.iter().position(|a| a == flag) {
                args.drain(i..i + 2);
            }
            args.push(flag.into());
            args.push(VALUES[next(VALUES.len())].into());
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = sd(&refs, &out);
        let code = o.status.code();
        assert!(
            matches!(code, Some(0..=2)),
            "{args:?} ended with {:?}: {}",
            o.status,
            stderr(&o)
        );
        if code == Some(1) {
            eprintln!("{args:?}: {}", stderr(&o).trim_end());
        }
        if code == Some(0) {
            assert!(out.is_file(), "{args:?} exited 0 without its image");
        } else {
            assert!(stderr(&o).contains("error"), "{args:?}: {}", stderr(&o));
            assert!(!out.exists(), "{args:?} failed but wrote {}", out.display());
        }
        outcomes[code.unwrap_or(0) as usize] += 1;
    }
    eprintln!(
        "40 runs: {} written, {} run failures, {} refused",
        outcomes[0], outcomes[1], outcomes[2]
    );
    assert!(outcomes[2] > 0);
}

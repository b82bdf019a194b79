//! `npu-check-tools`: the small pieces scripts/npu/check.sh needs and an Ascend host may not
//! have (no Python is assumed there): the tiny random HiDream model folder that `hidream
//! generate` runs on, and numeric comparisons of two runs' outputs.
//!
//!   npu-check-tools tiny-hidream DIR [--seed N]
//!   npu-check-tools compare-latents OUT.safetensors REF.safetensors [--atol A] [--rel R]
//!   npu-check-tools compare-png OUT.png REF.png [--max-diff N]
//!
//! A comparison prints one line of `key=value` figures and exits 0 when within the bound,
//! 1 when not (or when the output has a NaN or infinity), 2 on unreadable input.

use candle_core::{DType, Device};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "npu-check-tools", about, long_about = None)]
/// Helpers for scripts/npu/check.sh: a tiny HiDream model folder and output comparisons.
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes DIR/hidream-tiny and DIR/llama-tiny (random weights; the same seed gives the
    /// same bytes) and prints their paths as `model=` and `llama=` lines.
    TinyHidream {
        dir: PathBuf,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Tensor "latents" of two safetensors files: passes when the largest absolute
    /// difference is at most max(ATOL, REL * max|REF|).
    CompareLatents {
        out: PathBuf,
        reference: PathBuf,
        #[arg(long, default_value_t = 1e-4)]
        atol: f64,
        #[arg(long, default_value_t = 0.0)]
        rel: f64,
    },
    /// Two 8-bit PNGs of the same size and colour type: passes when no channel differs by
    /// more than N levels.
    ComparePng {
        out: PathBuf,
        reference: PathBuf,
        #[arg(long, default_value_t = 255)]
        max_diff: u8,
    },
}

/// A comparison's outcome, or input it could not read (exit 2).
type Outcome = Result<bool, String>;

fn latents(path: &Path) -> Result<(Vec<usize>, Vec<f32>), String> {
    let tensors = candle_core::safetensors::load(path, &Device::Cpu)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let t = tensors
        .get("latents")
        .ok_or_else(|| format!("{}: no tensor named \"latents\"", path.display()))?;
    let values = t
        .to_dtype(DType::F32)
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1::<f32>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((t.dims().to_vec(), values))
}

fn compare_latents(out: &Path, reference: &Path, atol: f64, rel: f64) -> Outcome {
    let (shape, got) = latents(out)?;
    let (want_shape, want) = latents(reference)?;
    if shape != want_shape {
        return Err(format!(
            "shape {shape:?} differs from the reference's {want_shape:?}"
        ));
    }
    let largest = want.iter().fold(0f64, |m, v| m.max(f64::from(v.abs())));
    let bound = atol.max(rel * largest);
    // A NaN compares false with everything, so non-finite outputs are checked on their own.
    let finite = got.iter().all(|v| v.is_finite());
    let diff = got
        .iter()
        .zip(&want)
        .map(|(g, w)| f64::from((g - w).abs()))
        .fold(0f64, f64::max);
    let pass = finite && diff <= bound;
    println!(
        "max_abs_diff={} bound={bound:.3e} max_abs_ref={largest:.3e} finite={finite} shape={shape:?}",
        if finite {
            format!("{diff:.3e}")
        } else {
            "inf".into()
        }
    );
    Ok(pass)
}

fn png_pixels(path: &Path) -> Result<(u32, u32, png::ColorType, Vec<u8>), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| format!("{}: image too large", path.display()))?;
    let mut buf = vec![0; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if info.bit_depth != png::BitDepth::Eight {
        return Err(format!("{}: not an 8-bit PNG", path.display()));
    }
    buf.truncate(info.buffer_size());
    Ok((info.width, info.height, info.color_type, buf))
}

fn compare_png(out: &Path, reference: &Path, max_diff: u8) -> Outcome {
    let (w, h, colour, got) = png_pixels(out)?;
    let (rw, rh, rcolour, want) = png_pixels(reference)?;
    if (w, h, colour) != (rw, rh, rcolour) {
        return Err(format!(
            "{w}x{h} {colour:?} differs from the reference's {rw}x{rh} {rcolour:?}"
        ));
    }
    let diff = got
        .iter()
        .zip(&want)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap_or(0);
    println!("max_pixel_diff={diff} bound={max_diff} size={w}x{h}");
    Ok(diff <= max_diff)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let outcome = match args.command {
        Command::TinyHidream { dir, seed } => {
            match pipelines::hidream::tiny_random::write_tiny_random_model(&dir, seed) {
                Ok(tiny) => {
                    println!("model={}", tiny.model_dir.display());
                    println!("llama={}", tiny.llama_dir.display());
                    Ok(true)
                }
                Err(e) => Err(format!("{}: {e}", dir.display())),
            }
        }
        Command::CompareLatents {
            out,
            reference,
            atol,
            rel,
        } => compare_latents(&out, &reference, atol, rel),
        Command::ComparePng {
            out,
            reference,
            max_diff,
        } => compare_png(&out, &reference, max_diff),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("npu-check-tools: {e}");
            ExitCode::from(2)
        }
    }
}

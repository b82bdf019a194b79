//! gemm-bench: times ops_npu::gemm against candle's matmul (the `gemm` crate) and, with
//! `--torch-python`, torch.matmul, at the f32 GEMM shapes of the Stable Diffusion 2.1
//! UNet step (512x512, batch 2: Linear layers, im2col and Winograd convolutions).
//!
//!     gemm-bench [--json] [--quick] [--torch-python PYTHON] [--rounds N]
//!
//! All three multiply the same operands in the same layout: row-major A [m x k] times a
//! contiguous B [k x n] (a Linear's W^T as the pipelines keep it, a conv's im2col columns,
//! Winograd's V), batched with a batch stride for Winograd's 16 products. Each time is the
//! median of several runs after a warm-up; with `--rounds N` the whole list runs N times
//! (ours, candle, torch in turn) and each ratio is the median of the per-round ratios,
//! which a shared, noisy machine moves least. Nothing here fails on speed.

use candle_core::{Device, Tensor};
use ops_npu::Implementation;
use ops_npu::gemm::{Batch, GemmOptions, MatMut, MatRef, flops, gemm_batched_with};
use serde_json::{Value, json};
use std::time::Instant;

/// One product (or a batch of `batch` products with shared sizes).
struct Shape {
    name: &'static str,
    batch: usize,
    m: usize,
    n: usize,
    k: usize,
}

const fn shape(name: &'static str, batch: usize, m: usize, n: usize, k: usize) -> Shape {
    Shape {
        name,
        batch,
        m,
        n,
        k,
    }
}

// Token rows are batch 2 x latent pixels: 8192 at 64x64, 2048 at 32x32, 512 at 16x16,
// 128 at 8x8. Winograd's tiles are batch 2 x (h/2) x (w/2).
const SHAPES: [Shape; 12] = [
    shape("linear 64x64 320->320 (attention)", 1, 8192, 320, 320),
    shape("linear 64x64 320->1280", 1, 8192, 1280, 320),
    shape("linear 64x64 320->2560 (GEGLU)", 1, 8192, 2560, 320),
    shape("linear 64x64 1280->320 (FF out)", 1, 8192, 320, 1280),
    shape("linear 32x32 640->2560", 1, 2048, 2560, 640),
    shape("linear 16x16 1280->10240 (GEGLU)", 1, 512, 10240, 1280),
    shape("linear 8x8 1280->1280", 1, 128, 1280, 1280),
    shape("im2col conv 64x64 320x2880 cols", 1, 320, 8192, 2880),
    shape("im2col conv 8x8 1280x11520 cols", 1, 1280, 128, 11520),
    shape("winograd 64x64 16x[320x320]x[320x2048]", 16, 320, 2048, 320),
    shape(
        "winograd 16x16 16x[1280x1280]x[1280x128]",
        16,
        1280,
        128,
        1280,
    ),
    shape("winograd 8x8 16x[1280x1280]x[1280x32]", 16, 1280, 32, 1280),
];

fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            ((s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Median seconds over `runs` after one warm-up.
fn median_time<R>(runs: usize, mut f: impl FnMut() -> R) -> f64 {
    drop(f());
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let out = f();
            let t = start.elapsed().as_secs_f64();
            drop(out);
            t
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct Operands {
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
    ta: Tensor,
    tb: Tensor,
}

impl Operands {
    fn new(s: &Shape) -> Self {
        let a = data(s.batch * s.m * s.k, 1);
        let b = data(s.batch * s.k * s.n, 2);
        let (ta, tb) = if s.batch == 1 {
            (
                Tensor::from_slice(&a, (s.m, s.k), &Device::Cpu),
                Tensor::from_slice(&b, (s.k, s.n), &Device::Cpu),
            )
        } else {
            (
                Tensor::from_slice(&a, (s.batch, s.m, s.k), &Device::Cpu),
                Tensor::from_slice(&b, (s.batch, s.k, s.n), &Device::Cpu),
            )
        };
        Self {
            c: vec![0.0; s.batch * s.m * s.n],
            a,
            b,
            ta: ta.expect("host tensor"),
            tb: tb.expect("host tensor"),
        }
    }

    fn ours(&mut self, s: &Shape, runs: usize) -> f64 {
        let batch = Batch {
            count: s.batch,
            stride_a: s.m * s.k,
            stride_b: s.k * s.n,
            stride_c: s.m * s.n,
        };
        let (a, b, c) = (&self.a, &self.b, &mut self.c);
        median_time(runs, || {
            gemm_batched_with(
                MatRef::new(a, s.m, s.k),
                MatRef::new(b, s.k, s.n),
                MatMut::new(c, s.m, s.n),
                batch,
                &GemmOptions::default(),
                Implementation::Optimised,
            )
            .expect("gemm")
        })
    }

    fn candle(&self, runs: usize) -> f64 {
        median_time(runs, || self.ta.matmul(&self.tb).expect("candle matmul"))
    }
}

/// torch.matmul times (seconds, in `shapes` order) from scripts/bench/torch_matmul.py.
fn torch_times(python: &str, shapes: &[&Shape], runs: &[usize]) -> Option<Vec<f64>> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/bench/torch_matmul.py"
    );
    let cases: Vec<Value> = shapes
        .iter()
        .zip(runs)
        .map(|(s, r)| json!({"batch": s.batch, "m": s.m, "n": s.n, "k": s.k, "runs": r}))
        .collect();
    let output = std::process::Command::new(python)
        .arg(script)
        .arg(Value::Array(cases).to_string())
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "torch.matmul skipped: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        return None;
    }
    let v: Vec<Value> = serde_json::from_slice(&output.stdout).ok()?;
    v.iter().map(|x| x["torch_s"].as_f64()).collect()
}

fn usage_exit(why: &str) -> ! {
    eprintln!(
        "gemm-bench: {why}\n{}",
        ops_npu::bench_args::usage("gemm-bench")
    );
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if ops_npu::bench_args::wants_help(&args) {
        print!("{}", ops_npu::bench_args::usage("gemm-bench"));
        return;
    }
    let parsed = ops_npu::bench_args::BenchArgs::parse(&args)
        .unwrap_or_else(|why| usage_exit(&why.to_string()));
    let (json_out, quick, rounds) = (parsed.json, parsed.quick, parsed.rounds);
    let python = parsed.torch_python;
    let shapes: Vec<&Shape> = SHAPES
        .iter()
        .filter(|s| !quick || s.m * s.n * s.k * s.batch <= 1 << 30)
        .collect();
    // About 0.3 s of work per figure at 100 GFLOP/s, at least 3 runs.
    let runs: Vec<usize> = shapes
        .iter()
        .map(|s| (3e10 / (flops(s.m, s.n, s.k) * s.batch as f64)).clamp(3.0, 50.0) as usize)
        .collect();
    let mut operands: Vec<Operands> = shapes.iter().map(|s| Operands::new(s)).collect();
    let n = shapes.len();
    let (mut ours, mut candle, mut torch) = (vec![vec![]; n], vec![vec![]; n], vec![vec![]; n]);
    for _ in 0..rounds {
        for i in 0..n {
            ours[i].push(operands[i].ours(shapes[i], runs[i]));
            candle[i].push(operands[i].candle(runs[i]));
        }
        if let Some(t) = python
            .as_deref()
            .and_then(|p| torch_times(p, &shapes, &runs))
        {
            for (i, t) in t.into_iter().enumerate() {
                torch[i].push(t);
            }
        }
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rows = Vec::new();
    for (i, s) in shapes.iter().enumerate() {
        let work = flops(s.m, s.n, s.k) * s.batch as f64;
        let gflops = |t: f64| work / t / 1e9;
        let ratio = |other: &[f64]| median(ours[i].iter().zip(other).map(|(o, x)| x / o).collect());
        let ours_s = median(ours[i].clone());
        let candle_s = median(candle[i].clone());
        let mut row = json!({
            "name": s.name, "batch": s.batch, "m": s.m, "n": s.n, "k": s.k,
            "ours_s": ours_s, "ours_gflops": gflops(ours_s),
            "candle_s": candle_s, "candle_gflops": gflops(candle_s),
            "speedup_vs_candle": ratio(&candle[i]),
        });
        let mut line = format!(
            "{:44} ours {:6.1} GFLOP/s  candle {:6.1} ({:.2}x)",
            s.name,
            gflops(ours_s),
            gflops(candle_s),
            ratio(&candle[i])
        );
        if !torch[i].is_empty() {
            let torch_s = median(torch[i].clone());
            row["torch_s"] = json!(torch_s);
            row["torch_gflops"] = json!(gflops(torch_s));
            row["speedup_vs_torch"] = json!(ratio(&torch[i]));
            line += &format!("  torch {:6.1} ({:.2}x)", gflops(torch_s), ratio(&torch[i]));
        }
        eprintln!("{line}");
        rows.push(row);
    }
    if json_out {
        println!(
            "{}",
            json!({"gemm": rows, "threads": threads, "rounds": rounds})
        );
    }
}

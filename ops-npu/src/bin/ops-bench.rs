//! ops-bench: times the CPU kernels against naive candle composites (and torch's SDPA when
//! a Python with torch is given) at Stable Diffusion 2.1 and HiDream-like shapes.
//!
//!     ops-bench [--json] [--quick] [--torch-python PYTHON] [--rounds N]
//!
//! Each figure is the median of several runs after a warm-up. With `--rounds N` the
//! attention cases of ours and of torch alternate N times and the ratio is the median of
//! the per-round ratios, which a shared, noisy machine moves least. Peak bytes are measured by
//! a counting global allocator (every Rust and candle allocation during the call) plus, for
//! our attention, the C++ kernel's per-thread scratch (threads x attention_scratch_bytes),
//! which the Rust allocator cannot see. Ratios, not asserts: nothing here fails on speed.

use candle_core::{Device, Tensor};
use ops_npu::TensorView;
use ops_npu::attention::{AttentionOptions, Layout, attention, attention_scratch_bytes};
use ops_npu::candle_ops::{CandleAttention, composite};
use ops_npu::glu::Gelu;
use ops_npu::rope::RopeMode;
use ops_npu::{Implementation, glu, norm, rope};
use serde_json::{Value, json};
use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Counts live heap bytes and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are
// plain atomics and never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: AllocLayout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: AllocLayout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: AllocLayout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            let now = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Median seconds over `runs` after one warm-up, and the peak extra heap bytes of a run.
fn measure<R>(runs: usize, mut f: impl FnMut() -> R) -> (f64, usize) {
    drop(f());
    let mut times = Vec::with_capacity(runs);
    let mut peak = 0;
    for _ in 0..runs {
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let start = Instant::now();
        let out = f();
        times.push(start.elapsed().as_secs_f64());
        peak = peak.max(PEAK.load(Ordering::Relaxed) - base);
        drop(out);
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], peak)
}

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

fn tensor(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(v, shape, &Device::Cpu).expect("host tensor")
}

struct AttnCase {
    name: &'static str,
    batch: usize,
    heads: usize,
    seq_q: usize,
    seq_kv: usize,
    head_dim: usize,
}

const ATTENTION: [AttnCase; 7] = [
    AttnCase {
        name: "sd21_self_4096",
        batch: 2,
        heads: 5,
        seq_q: 4096,
        seq_kv: 4096,
        head_dim: 64,
    },
    AttnCase {
        name: "sd21_self_1024",
        batch: 2,
        heads: 5,
        seq_q: 1024,
        seq_kv: 1024,
        head_dim: 64,
    },
    AttnCase {
        name: "sd21_self_256",
        batch: 2,
        heads: 5,
        seq_q: 256,
        seq_kv: 256,
        head_dim: 64,
    },
    AttnCase {
        name: "sd21_cross_4096x77",
        batch: 2,
        heads: 5,
        seq_q: 4096,
        seq_kv: 77,
        head_dim: 64,
    },
    AttnCase {
        name: "sd21_cross_1024x77",
        batch: 2,
        heads: 5,
        seq_q: 1024,
        seq_kv: 77,
        head_dim: 64,
    },
    AttnCase {
        name: "sd21_cross_256x77",
        batch: 2,
        heads: 5,
        seq_q: 256,
        seq_kv: 77,
        head_dim: 64,
    },
    // HiDream-E1 at 768x768: 48x48 image tokens + 256 text tokens, joint attention.
    AttnCase {
        name: "hidream_joint_2560",
        batch: 1,
        heads: 20,
        seq_q: 2560,
        seq_kv: 2560,
        head_dim: 128,
    },
];

struct AttnInputs {
    qs: [usize; 4],
    ks: [usize; 4],
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    runs: usize,
}

impl AttnInputs {
    fn new(c: &AttnCase) -> Self {
        let qs = [c.batch, c.heads, c.seq_q, c.head_dim];
        let ks = [c.batch, c.heads, c.seq_kv, c.head_dim];
        Self {
            q: data(qs.iter().product(), 1),
            k: data(ks.iter().product(), 2),
            v: data(ks.iter().product(), 3),
            qs,
            ks,
            runs: if c.seq_q * c.seq_kv >= 2048 * 2048 {
                3
            } else {
                7
            },
        }
    }

    /// Our kernel: (median seconds, peak heap bytes).
    fn ours(&self) -> (f64, usize) {
        measure(self.runs, || {
            attention(
                TensorView::new(&self.q, &self.qs).expect("q"),
                TensorView::new(&self.k, &self.ks).expect("k"),
                TensorView::new(&self.v, &self.ks).expect("v"),
                &AttentionOptions::default(),
            )
            .expect("attention")
        })
    }

    fn naive(&self) -> (f64, usize) {
        let (tq, tk, tv) = (
            tensor(&self.q, &self.qs),
            tensor(&self.k, &self.ks),
            tensor(&self.v, &self.ks),
        );
        measure(self.runs, || {
            composite::attention(&tq, &tk, &tv, &CandleAttention::default()).expect("composite")
        })
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Attention rows: ours and the naive composite, and with `python` torch's SDPA. With
/// several rounds, ours and torch alternate (all cases of ours, then all of torch, per
/// round) so both see the same machine load; each ratio is the median of per-round
/// ratios. The naive composite, the slowest by far, is timed in the first round only.
fn bench_attention(quick: bool, threads: usize, rounds: usize, python: Option<&str>) -> Vec<Value> {
    let cases: Vec<&AttnCase> = ATTENTION
        .iter()
        .filter(|c| !quick || c.seq_q <= 1024)
        .collect();
    let inputs: Vec<AttnInputs> = cases.iter().copied().map(AttnInputs::new).collect();
    let mut ours: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    let mut torch: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    let mut rows = Vec::new();
    for round in 0..rounds {
        for (i, (c, inp)) in cases.iter().zip(&inputs).enumerate() {
            let (ours_s, ours_heap) = inp.ours();
            ours[i].push(ours_s);
            if round > 0 {
                continue;
            }
            let tasks = c.batch * c.heads * c.seq_q.div_ceil(256);
            let ours_peak = ours_heap + threads.min(tasks) * attention_scratch_bytes(c.head_dim);
            let (naive_s, naive_peak) = inp.naive();
            eprintln!(
                "attention {:<20} ours {:8.4} s  naive {:8.4} s  ({:5.2}x)  peak {:>6.1} MiB vs {:>7.1} MiB",
                c.name,
                ours_s,
                naive_s,
                naive_s / ours_s,
                ours_peak as f64 / 1048576.0,
                naive_peak as f64 / 1048576.0
            );
            rows.push(json!({
                "name": c.name, "batch": c.batch, "heads": c.heads, "seq_q": c.seq_q,
                "seq_kv": c.seq_kv, "head_dim": c.head_dim, "dtype": "f32",
                "naive_s": naive_s,
                "ours_peak_bytes": ours_peak, "naive_peak_bytes": naive_peak,
            }));
        }
        if let Some(Value::Array(t)) = python.and_then(|p| torch_sdpa(p, &rows)) {
            for (i, row) in t.iter().enumerate().take(cases.len()) {
                if let Some(s) = row.get("torch_s").and_then(Value::as_f64) {
                    torch[i].push(s);
                }
            }
        }
    }
    for (i, row) in rows.iter_mut().enumerate() {
        let Some(obj) = row.as_object_mut() else {
            continue;
        };
        obj.insert("ours_s".into(), json!(median(ours[i].clone())));
        obj.insert("rounds".into(), json!(rounds));
        if torch[i].len() == ours[i].len() {
            let ratios: Vec<f64> = ours[i].iter().zip(&torch[i]).map(|(o, t)| o / t).collect();
            let (lo, hi) = ratios
                .iter()
                .fold((f64::INFINITY, 0.0f64), |(l, h), r| (l.min(*r), h.max(*r)));
            let ratio = median(ratios);
            obj.insert("torch_s".into(), json!(median(torch[i].clone())));
            obj.insert("ours_over_torch".into(), json!(ratio));
            eprintln!(
                "  {:<20} ours {:8.4} s  torch SDPA {:8.4} s  (ours / torch: median {ratio:5.2}, range {lo:.2}-{hi:.2} over {rounds} rounds)",
                obj["name"].as_str().unwrap_or(""),
                median(ours[i].clone()),
                median(torch[i].clone()),
            );
        }
    }
    rows
}

fn row(name: &str, shape: &[usize], ours: (f64, usize), naive: (f64, usize)) -> Value {
    eprintln!(
        "{name:<14} {shape:?}  ours {:8.4} s  naive {:8.4} s  ({:5.2}x)",
        ours.0,
        naive.0,
        naive.0 / ours.0
    );
    json!({
        "shape": shape, "dtype": "f32", "ours_s": ours.0, "naive_s": naive.0,
        "ours_peak_bytes": ours.1, "naive_peak_bytes": naive.1,
    })
}

fn bench_others(quick: bool) -> serde_json::Map<String, Value> {
    let imp = Implementation::Optimised;
    let runs = if quick { 3 } else { 7 };
    let mut out = serde_json::Map::new();

    // SD2.1's first ResNet block at 512x512: GroupNorm(32) + SiLU over [2, 320, 64, 64].
    let gs = [2, 320, 64, 64];
    let x = data(gs.iter().product(), 4);
    let w = data(320, 5);
    let (tx, tw) = (tensor(&x, &gs), tensor(&w, &[320]));
    let wv = TensorView::new(&w, &[320]).expect("w");
    let ours = measure(runs, || {
        norm::group_norm(
            TensorView::new(&x, &gs).expect("x"),
            32,
            Some(wv),
            Some(wv),
            1e-5,
            true,
            imp,
        )
        .expect("gn")
    });
    let naive = measure(runs, || {
        composite::group_norm(&tx, 32, Some(&tw), Some(&tw), 1e-5, true).expect("gn")
    });
    out.insert(
        "group_norm_silu".into(),
        json!([row("group_norm", &gs, ours, naive)]),
    );

    // Transformer block norms: LayerNorm over [2, 4096, 320]; HiDream's RMSNorm, adaLN.
    let ls = [2, 4096, 320];
    let x = data(ls.iter().product(), 6);
    let tx = tensor(&x, &ls);
    let wv = TensorView::new(&w, &[320]).expect("w");
    let ours = measure(runs, || {
        norm::layer_norm(
            TensorView::new(&x, &ls).expect("x"),
            Some(wv),
            Some(wv),
            1e-5,
            imp,
        )
        .expect("ln")
    });
    let naive = measure(runs, || {
        composite::layer_norm(&tx, Some(&tw), Some(&tw), 1e-5).expect("ln")
    });
    out.insert(
        "layer_norm".into(),
        json!([row("layer_norm", &ls, ours, naive)]),
    );
    let ours = measure(runs, || {
        norm::rms_norm(TensorView::new(&x, &ls).expect("x"), Some(wv), 1e-6, imp).expect("rms")
    });
    let naive = measure(runs, || {
        composite::rms_norm(&tx, Some(&tw), 1e-6).expect("rms")
    });
    out.insert(
        "rms_norm".into(),
        json!([row("rms_norm", &ls, ours, naive)]),
    );
    let m = data(2 * 320, 7);
    let tm = tensor(&m, &[2, 320]);
    let mv = TensorView::new(&m, &[2, 320]).expect("m");
    let ours = measure(runs, || {
        norm::ada_layer_norm(TensorView::new(&x, &ls).expect("x"), mv, mv, 1e-6, imp).expect("ada")
    });
    let naive = measure(runs, || {
        composite::ada_layer_norm(&tx, &tm, &tm, 1e-6).expect("ada")
    });
    out.insert(
        "ada_layer_norm".into(),
        json!([row("ada_layer_norm", &ls, ours, naive)]),
    );

    // SD2.1's GEGLU at the highest resolution: [2, 4096, 2 x 1280].
    let es = [2, 4096, 2560];
    let x = data(es.iter().product(), 8);
    let tx = tensor(&x, &es);
    let ours = measure(runs, || {
        glu::geglu(TensorView::new(&x, &es).expect("x"), Gelu::Erf, imp).expect("geglu")
    });
    let naive = measure(runs, || composite::geglu(&tx, Gelu::Erf).expect("geglu"));
    out.insert("geglu".into(), json!([row("geglu", &es, ours, naive)]));
    let ours = measure(runs, || {
        glu::swiglu(TensorView::new(&x, &es).expect("x"), imp).expect("swiglu")
    });
    let naive = measure(runs, || composite::swiglu(&tx).expect("swiglu"));
    out.insert("swiglu".into(), json!([row("swiglu", &es, ours, naive)]));

    // HiDream-like RoPE on q: [1, 2560, 20, 128] BSND.
    let rs = [1, 2560, 20, 128];
    let x = data(rs.iter().product(), 9);
    let cs = data(2560 * 128, 10);
    let (tx, tc) = (tensor(&x, &rs), tensor(&cs, &[2560, 128]));
    let cv = TensorView::new(&cs, &[2560, 128]).expect("cos");
    let ours = measure(runs, || {
        rope::rope(
            TensorView::new(&x, &rs).expect("x"),
            cv,
            cv,
            Layout::Bsnd,
            RopeMode::Interleaved,
            imp,
        )
        .expect("rope")
    });
    let naive = measure(runs, || {
        composite::rope(&tx, &tc, &tc, Layout::Bsnd, RopeMode::Interleaved).expect("rope")
    });
    out.insert("rope".into(), json!([row("rope", &rs, ours, naive)]));
    out
}

/// Runs scripts/bench/torch_sdpa.py with `python` at the attention shapes; None if torch
/// is not there (the figures are then simply absent).
fn torch_sdpa(python: &str, cases: &[Value]) -> Option<Value> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/bench/torch_sdpa.py"
    );
    let output = std::process::Command::new(python)
        .arg(script)
        .arg(serde_json::to_string(cases).ok()?)
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "torch SDPA skipped: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        return None;
    }
    serde_json::from_slice(&output.stdout).ok()
}

fn usage_exit(why: &str) -> ! {
    eprintln!(
        "ops-bench: {why}\n{}",
        ops_npu::bench_args::usage("ops-bench")
    );
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if ops_npu::bench_args::wants_help(&args) {
        print!("{}", ops_npu::bench_args::usage("ops-bench"));
        return;
    }
    let parsed = ops_npu::bench_args::BenchArgs::parse(&args)
        .unwrap_or_else(|why| usage_exit(&why.to_string()));
    let (json_out, quick, rounds) = (parsed.json, parsed.quick, parsed.rounds);
    let python = parsed.torch_python;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let attention_rows = bench_attention(quick, threads, rounds, python.as_deref());
    let mut doc = serde_json::Map::new();
    doc.insert("attention".into(), Value::Array(attention_rows));
    doc.extend(bench_others(quick));
    doc.insert("threads".into(), json!(threads));
    if json_out {
        println!("{}", Value::Object(doc));
    }
}

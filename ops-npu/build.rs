//! Compiles the C++ kernels (csrc/) and the cxx bridge with the system C++ compiler.
//! No vendor SDK is involved: the NPU layer opens its libraries with dlopen at run time.

fn main() {
    let sources = [
        "csrc/bridge.cc",
        "csrc/cpu_kernels.cc",
        "csrc/gemm.cc",
        "csrc/reference.cc",
        "csrc/npu_bridge.cc",
        "csrc/npu_runtime.cc",
        "csrc/npu_pool.cc",
        "csrc/npu_call.cc",
    ];
    let mut build = cxx_build::bridge("src/bridge.rs");
    build
        .files(sources)
        .include("csrc")
        .std("c++17")
        .opt_level(3)
        // ISO C++ mode turns off FMA contraction; the kernels are written for it.
        .flag_if_supported("-ffp-contract=fast")
        // Lets the vectoriser evaluate both sides of a select (the kernels never rely on
        // floating-point exceptions).
        .flag_if_supported("-fno-trapping-math")
        // `#pragma omp simd` without the OpenMP runtime.
        .flag_if_supported("-fopenmp-simd")
        // 32-byte vector types in the baseline copy of the attention kernel; nothing with
        // them crosses a non-inlined boundary, so the ABI note does not apply.
        .flag_if_supported("-Wno-psabi")
        .warnings(true)
        .compile("ops_npu_cxx");
    println!("cargo:rerun-if-changed=src/bridge.rs");
    println!("cargo:rerun-if-changed=csrc");
}

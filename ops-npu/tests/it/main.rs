//! ops-npu's integration tests, one binary: the modules share the helpers below and are
//! linked once. nextest still runs every test in a process of its own, which the NPU tests
//! rely on (the runtime is opened once per process).

mod common;
mod doubles;

mod against_reference;
mod bench_help;
mod candle_ops;
mod conv;
mod gemm;
mod npu_conformance;
mod npu_double;
mod npu_double_strict;
mod npu_ops;
mod torch_fixtures;

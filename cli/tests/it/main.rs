//! The command-line programs end to end, one test binary for all of them (each extra
//! test binary is another link of the whole tensor stack). Fixtures stay with the library
//! that regenerates them, in pipelines/tests/fixtures, and are read from there.

mod common;
#[path = "../../../device/tests/doubles/mod.rs"]
mod doubles;
// The strict Ascend double (runtime, nnopbase and the aclnn ops), as ops-npu builds it.
#[allow(dead_code)]
#[path = "../../../ops-npu/tests/it/doubles.rs"]
mod ascend_ops;
#[path = "../../../pipelines/tests/it/folders.rs"]
mod folders;

mod device_choice;
mod doctor;
mod doctor_npu_kernels;
mod help;
mod hidream;
mod hidream_failures;
mod sd;
mod sd_bench;
mod sd_hub;
mod sd_npu;
mod sd_options;
mod sd_outputs;
mod sd_runs;

//! The device crate's integration tests, as one test binary: one link instead of one per
//! file. Tests that configure a test double do it through compile-time defines and a
//! `MapEnv`, never the process environment, so they may share a process.

#[path = "../doubles/mod.rs"]
mod doubles;

mod cuda_discovery;
mod doctor_checks;
mod framework;
mod npu_discovery;
mod selection;
mod torch_rng;
mod weights;

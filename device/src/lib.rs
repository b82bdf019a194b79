//! Device discovery and selection for the diffusion toolkit.
//!
//! This crate is the bottom of the dependency chain
//! (`device` <- `ops-npu` <- `pipelines` <- `examples`) and stays light: it opens vendor
//! runtimes (libascendcl.so, libcuda.so.1) at run time, so it builds on machines without
//! any SDK. Its contents are tracked by the device issue; nothing here is functional yet.

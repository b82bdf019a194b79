//! Examples built on the toolkit.
//!
//! `cuda-project/` beside this crate is data, not code: a small CUDA-only PyTorch project
//! that the migrator, its documentation and the end-to-end tests use as their customer.
//! The `hidream-edit` example binary arrives with the HiDream issue.

//! Examples built on the toolkit.
//!
//! `cuda-project/` beside this crate is data, not code: a small CUDA-only PyTorch project
//! that the migrator, its documentation and the end-to-end tests use as their customer.
//! `edit_recipes`: the common HiDream-E1 edits (style, add, remove, colour, background) as
//! instruction sentences with the image guidance the E1 authors recommend for each; the
//! `hidream-edit` binary is their command-line front.

pub mod edit_recipes;

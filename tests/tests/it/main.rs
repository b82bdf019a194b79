//! End-to-end tests of the binaries and of the repository's own layout, in one binary.

mod gpu_scripts;
mod npu_check;
mod readme_commands;
mod sample_project;
mod workspace_layout;

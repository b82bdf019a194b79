//! The migrate crate's integration tests, in one binary so the crate links once for all of
//! them. Fixtures and snapshots stay in `tests/fixtures` and `tests/snapshots`.

mod ci_recipes;
mod ci_settings;
mod cli;
mod common;
mod corpus;
mod deep_nesting;
mod file_names;
mod fuzz_regressions;
mod helper_placement;
mod hostile;
mod line_endings;
mod migration_guide;
mod name_resolution;
mod notebooks;
mod output_files;
mod output_formats;
mod properties;
mod python_rules;
mod python_run;
mod report_counts;
mod rust_rules;
mod shim_rules;
mod wrong_edits;
